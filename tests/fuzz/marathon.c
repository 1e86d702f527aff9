/* See COPYING for copyright and license details. */
/*
 * Fuzz the handling of Marathon's answers: error bodies turned into one
 * message line, and app ids. Input: one byte of flags (bit 0: the answer
 * says text/html) then the body. Invariants: the message is one line of
 * printable text with the status, fits the buffer, and an HTML body is
 * never quoted; an app id that is accepted comes out absolute and is
 * accepted again unchanged.
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "marathon.h"

static void
check_line(const char *s, size_t cap)
{
	size_t i, n = strlen(s);

	FUZZ_ASSERT(n < cap);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp r = HTTP_RESP_INIT;
	char line[512], small[16], id[256], id2[256], err[256];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char *s;

	if (size == 0)
		return 0;
	log_level = LOG_QUIET;
	r.status = 400 + data[0] % 200;
	if (data[0] & 1)
		buf_adds(&r.headers, "Content-Type: text/html;charset=utf-8\r\n");
	else
		buf_adds(&r.headers, "Content-Type: application/json\r\n");
	buf_add(&r.body, body, len);

	marathon_error(&r, line, sizeof(line));
	check_line(line, sizeof(line));
	FUZZ_ASSERT(strncmp(line, "HTTP ", 5) == 0);
	if (http_body_is_html(&r))
		FUZZ_ASSERT(strchr(line, ':') == NULL);
	marathon_error(&r, small, sizeof(small));
	FUZZ_ASSERT(strlen(small) < sizeof(small));
	http_summary(&r, line, sizeof(line));
	check_line(line, sizeof(line));

	s = strndup(body, len);
	if (marathon_app_id(s, id, sizeof(id), err, sizeof(err)) == 0) {
		FUZZ_ASSERT(id[0] == '/');
		FUZZ_ASSERT(marathon_app_id(id, id2, sizeof(id2), err,
		    sizeof(err)) == 0);
		FUZZ_ASSERT(strcmp(id, id2) == 0);
	} else {
		FUZZ_ASSERT(err[0] != '\0');
	}
	free(s);
	http_resp_free(&r);
	return 0;
}
