/* See COPYING for copyright and license details. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *log_tool = "galley";
int log_level = LOG_NORMAL;
int log_fatal_status = 1;

void
log_init(const char *tool, int fatal_status)
{
	log_tool = tool;
	log_fatal_status = fatal_status;
}

void
log_flatten(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/*
 * Build the whole line first and write it with one call, so that lines
 * from processes sharing stderr do not interleave.
 */
static void
vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	int saved = errno;
	size_t n, len = strlen(fmt);
	int r;

	r = snprintf(line, sizeof(line), "%s: %s", log_tool, prefix);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (len > 0 && fmt[len - 1] == ':' && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, " %s", strerror(saved));
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n] = '\0';
	log_flatten(line);	/* text from servers and files stays one line */
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
	errno = saved;
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
	exit(status);
}

/* The usage line carries no tool prefix: it starts with "usage: tool". */
void
log_usage(int status, const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(status);
}
