/* See COPYING for copyright and license details. */
/*
 * log: one-line messages on stderr, "tool: what: why". Nothing here is
 * owned by the caller; log_init() keeps the pointer it is given.
 *
 * A format that ends in ':' gets ": " and strerror(errno) appended, as in
 * sbase's eprintf, so call sites read log_err("open %s:", path).
 */
#ifndef GALLEY_LOG_H
#define GALLEY_LOG_H

enum { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

extern const char *log_tool;	/* prefix of every line */
extern int log_level;		/* LOG_QUIET, LOG_NORMAL or LOG_VERBOSE */
extern int log_fatal_status;	/* exit status of log_die() and the e* allocators */

void log_init(const char *tool, int fatal_status);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void log_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void log_usage(int status, const char *usage);

/* Replace control characters (line breaks, escapes) with spaces. */
void log_flatten(char *s);

#endif
