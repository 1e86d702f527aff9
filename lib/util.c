/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		log_die(log_fatal_status, "out of memory");
	return p;
}

void *
ecalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		log_die(log_fatal_status, "out of memory");
	return p;
}

void *
erealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		log_die(log_fatal_status, "out of memory");
	return p;
}

char *
estrdup(const char *s)
{
	return estrndup(s, strlen(s));
}

char *
estrndup(const char *s, size_t n)
{
	char *p = emalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
util_duration(const char *s, long long *ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 },
	};
	long long n = 0;
	const char *p = s;
	size_t i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (n > LLONG_MAX / units[i].ms)
			return -1;
		*ms = n * units[i].ms;
		return 0;
	}
	return -1;
}

int
util_read_fd(int fd, size_t cap, char **data, size_t *len)
{
	size_t n = 0, size = 8192;
	char *p = emalloc(size + 1);
	ssize_t r;

	for (;;) {
		if (n == size) {
			if (size > cap) {
				free(p);
				return EFBIG;
			}
			size *= 2;
			p = erealloc(p, size + 1);
		}
		r = read(fd, p + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(p);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > cap) {
		free(p);
		return EFBIG;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}

int
util_read_file(const char *path, size_t cap, char **data, size_t *len)
{
	int fd, e;

	if (strcmp(path, "-") == 0)
		return util_read_fd(0, cap, data, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	e = util_read_fd(fd, cap, data, len);
	close(fd);
	return e;
}

int
util_write_atomic(const char *path, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;
	mode_t mask;
	char *tmp;
	int fd, e;

	tmp = emalloc(strlen(path) + 8);
	sprintf(tmp, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	/* mkstemp makes 0600; give the file what open(2) would have. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0)
		goto fail;
	while (off < len) {
		ssize_t r = write(fd, p + off, len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		off += (size_t)r;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

const char *
util_display_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

void
util_checkfds(void)
{
	int i, fd;

	/*
	 * A closed 0, 1 or 2 is opened on /dev/null, so that no file we open
	 * later becomes one of them. Standard output is opened read-only:
	 * data written to it then fails (EBADF) and is reported, never
	 * silently thrown away.
	 */
	for (i = 0; i <= 2; i++) {
		if (fcntl(i, F_GETFD) >= 0 || errno != EBADF)
			continue;
		fd = open("/dev/null", i == 2 ? O_WRONLY : O_RDONLY);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

int
util_fshut(FILE *fp, const char *name)
{
	int bad = 0;

	if (fflush(fp) != 0 || ferror(fp))
		bad = 1;
	if (fclose(fp) != 0)
		bad = 1;
	if (bad) {
		log_err("write %s:", name);
		return -1;
	}
	return 0;
}

long long
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
util_is_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

#ifdef GALLEY_COVERAGE
/* A signal nobody else sends, so group signals in tests act as without. */
#define COVERAGE_SIGNAL (SIGRTMIN + 5)

void __gcov_dump(void);

static void
coverage_term(int sig)
{
	(void)sig;
	__gcov_dump();
	_exit(0);
}

void
util_coverage_flush(void)
{
	__gcov_dump();
}

void
util_coverage_child(void)
{
	struct sigaction sa;
	sigset_t term;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = coverage_term;
	sigaction(COVERAGE_SIGNAL, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, COVERAGE_SIGNAL);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
}

void
util_coverage_stop(pid_t pid)
{
	int i;

	kill(pid, COVERAGE_SIGNAL);
	for (i = 0; i < 200 && kill(pid, 0) == 0; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		util_sleep_ms(10);
	}
}
#else
void
util_coverage_flush(void)
{
}

void
util_coverage_child(void)
{
}

void
util_coverage_stop(pid_t pid)
{
	(void)pid;
}
#endif

const char *
util_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}
