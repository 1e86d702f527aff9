/* See COPYING for copyright and license details. */
/*
 * util: allocation that cannot fail (the e* functions exit through
 * log_die), durations, whole-file reads with a cap, atomic file writes,
 * clocks, and stdio hygiene. Returned pointers are malloced; the caller
 * frees them.
 */
#ifndef GALLEY_UTIL_H
#define GALLEY_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "log.h"

#define UTIL_MAX_BODY (16u * 1024 * 1024)	/* default cap on inputs */

void *emalloc(size_t n);
void *ecalloc(size_t n, size_t size);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);
char *estrndup(const char *s, size_t n);

/*
 * Parse "150ms", "5s", "2m", "1h" or a bare number of seconds into
 * milliseconds. Returns 0, or -1 when s is not a duration.
 */
int util_duration(const char *s, long long *ms);

/*
 * Read all of path ("-" is stdin) into a NUL-terminated malloced buffer.
 * Returns 0, or an errno value: EFBIG when the file is larger than cap.
 */
int util_read_file(const char *path, size_t cap, char **data, size_t *len);

/* Read all of fd the same way (the fd is not closed). */
int util_read_fd(int fd, size_t cap, char **data, size_t *len);

/*
 * Write data to path atomically: a temporary file in the same directory,
 * fsync, rename. On failure nothing is left behind; returns -1 with errno.
 */
int util_write_atomic(const char *path, const void *data, size_t len);

/* "-" is shown as "<stdin>" in messages. */
const char *util_display_name(const char *path);

/*
 * Make sure fds 0, 1 and 2 are open (cron and Docker may close them):
 * on /dev/null, standard output read-only so that writing data to a
 * closed stdout is still an error.
 */
void util_checkfds(void);

/* Flush and check a stream; returns 0, or -1 after reporting the error. */
int util_fshut(FILE *fp, const char *name);

/*
 * Coverage builds (make coverage: GALLEY_COVERAGE) only; elsewhere these
 * do nothing. exec and _exit skip the exit handlers that write gcov's
 * counters, so util_coverage_flush() writes them first; a helper process
 * that is normally SIGKILLed calls util_coverage_child() after fork, and
 * its parent util_coverage_stop(pid) before the SIGKILL (which signals
 * it with SIGRTMIN+5 and waits up to 2 s), so that it can write them too.
 */
void util_coverage_flush(void);
void util_coverage_child(void);
void util_coverage_stop(pid_t pid);

/* Milliseconds on the monotonic clock. */
long long util_now_ms(void);

/* Sleep for ms milliseconds, resuming after signals. */
void util_sleep_ms(long long ms);

/* The value of environment variable name; NULL when unset or empty. */
const char *util_env(const char *name);

/* Is s a placeholder or variable name: [A-Za-z_][A-Za-z0-9_]* ? */
int util_is_name(const char *s, size_t n);

#endif
