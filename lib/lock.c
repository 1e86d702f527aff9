/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "lock.h"
#include "util.h"

int
lock_fd(int fd, long long timeout_ms)
{
	long long deadline = util_now_ms() + timeout_ms, wait = 5;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (timeout_ms >= 0 && util_now_ms() >= deadline) {
			errno = EWOULDBLOCK;
			return -1;
		}
		util_sleep_ms(wait);
		if (wait < 50)
			wait *= 2;
	}
}

int
lock_path(const char *path, long long timeout_ms)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), e;

	if (fd < 0)
		return -1;
	if (lock_fd(fd, timeout_ms) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
