/* See COPYING for copyright and license details. */
/*
 * A minimal TAP producer for the lib unit tests, run by prove. Each
 * check prints one "ok"/"not ok" line; done_testing() prints the plan
 * and returns the exit status. A failure's diagnostics go to standard
 * error, as Test::More's diag does, so that prove shows them without -v.
 */
#ifndef GALLEY_TAP_H
#define GALLEY_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static void __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!pass) {
		tap_failed++;
		fprintf(stderr, "#   failed at %s:%d\n", file, line);
	}
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int p_ = (g_ == NULL && w_ == NULL) || \
	    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0); \
	tap_ok(p_, __FILE__, __LINE__, __VA_ARGS__); \
	if (!p_) \
		fprintf(stderr, "#   got:  '%s'\n#   want: '%s'\n", \
		    g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)"); \
} while (0)

#define is_int(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__); \
	if (g_ != w_) \
		fprintf(stderr, "#   got:  %lld\n#   want: %lld\n", g_, w_); \
} while (0)

static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
