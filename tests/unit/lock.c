/* See COPYING for copyright and license details. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"
#include "tap.h"
#include "util.h"

int
main(void)
{
	char dir[] = "/tmp/galley-lock-XXXXXX", path[256];
	long long t0;
	int fd, fd2, st;
	pid_t pid;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = lock_path(path, 0);
	ok(fd >= 0, "a free lock is taken at once");
	ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "its fd is close-on-exec");

	/* flock locks belong to the open file: another open contends. */
	t0 = util_now_ms();
	errno = 0;
	fd2 = lock_path(path, 150);
	ok(fd2 < 0 && errno == EWOULDBLOCK, "a held lock times out with EWOULDBLOCK");
	ok(util_now_ms() - t0 >= 150 && util_now_ms() - t0 < 1500,
	    "after about the timeout");

	close(fd);
	fd2 = lock_path(path, 0);
	ok(fd2 >= 0, "closing the fd releases the lock");
	close(fd2);

	fd = lock_path(path, 0);
	pid = fork();
	if (pid == 0) {
		int f;

		close(fd);	/* the inherited copy shares the parent's lock */
		f = lock_path(path, 5000);

		_exit(f >= 0 ? 0 : 1);
	}
	util_sleep_ms(100);
	close(fd);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a waiter gets the lock once released");

	errno = 0;
	ok(lock_path("/nonexistent/dir/lock", 0) < 0 && errno == ENOENT,
	    "an impossible path fails with errno");
	unlink(path);
	rmdir(dir);
	return done_testing();
}
