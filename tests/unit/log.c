/* See COPYING for copyright and license details. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "util.h"

/* Run fn with stderr captured to a file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	char path[] = "/tmp/galley-log-XXXXXX", *data = NULL;
	int fd = mkstemp(path), saved = dup(2);
	size_t len;

	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	if (util_read_file(path, 65536, &data, &len) != 0)
		data = NULL;
	unlink(path);
	return data;
}

static void
all_levels(void)
{
	log_err("PUT %s: HTTP %d", "http://m/v2/apps/web", 409);
	log_warn("tag %s", "x");
	log_info("progress");
	log_debug("detail");
}

static void
with_errno(void)
{
	errno = ENOENT;
	log_err("open %s:", "service.json");
}

static void
long_line(void)
{
	char big[10000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_err("%s", big);
}

static void
server_text(void)
{
	log_err("GET %s: %s", "http://c/v1/kv/x", "line one\nline two\r\033[31m");
}

int
main(void)
{
	char *s;

	log_init("tool", 1);
	log_level = LOG_NORMAL;
	s = capture(all_levels);
	is_str(s, "tool: PUT http://m/v2/apps/web: HTTP 409\n"
	    "tool: warning: tag x\ntool: progress\n",
	    "normal: errors, warnings and progress, no detail");
	free(s);

	log_level = LOG_QUIET;
	s = capture(all_levels);
	is_str(s, "tool: PUT http://m/v2/apps/web: HTTP 409\n",
	    "-q silences warnings and progress, never errors");
	free(s);

	log_level = LOG_VERBOSE;
	s = capture(all_levels);
	ok(s != NULL && strstr(s, "tool: detail\n") != NULL, "-v adds detail");
	free(s);

	s = capture(with_errno);
	is_str(s, "tool: open service.json: No such file or directory\n",
	    "a trailing ':' appends strerror(errno)");
	free(s);

	s = capture(long_line);
	ok(s != NULL && strlen(s) < 4100 && s[strlen(s) - 1] == '\n' &&
	    strchr(s, '\n') == s + strlen(s) - 1,
	    "an overlong message is cut to one line");
	free(s);

	s = capture(server_text);
	is_str(s, "tool: GET http://c/v1/kv/x: line one line two  [31m\n",
	    "line breaks and escapes from servers become spaces: one line");
	free(s);
	return done_testing();
}
