/* See COPYING for copyright and license details. */
/*
 * Fuzz the small parsers every tool shares: durations, base64, URLs
 * shown in messages. Invariants: a duration is never negative;
 * decode(encode(x)) is x; a URL shown in a message never keeps the
 * user:password part.
 */
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT, junk = BUF_INIT;
	char *s = strndup((const char *)data, size), shown[512];
	const char *host, *at, *end;
	long long ms;

	log_level = LOG_QUIET;
	if (util_duration(s, &ms) == 0)
		FUZZ_ASSERT(ms >= 0);

	base64_encode(data, size, &enc);
	FUZZ_ASSERT(enc.len % 4 == 0);
	FUZZ_ASSERT(base64_decode(enc.data, enc.len, &dec) == 0);
	FUZZ_ASSERT(dec.len == size && (size == 0 ||
	    memcmp(dec.data, data, size) == 0));
	(void)base64_decode(s, strlen(s), &junk);

	http_display_url(s, shown, sizeof(shown));
	FUZZ_ASSERT(strlen(shown) < sizeof(shown));
	if ((host = strstr(s, "://")) != NULL && strlen(s) < sizeof(shown)) {
		/* The authority as shown keeps no userinfo at all. */
		host = shown + (host - s) + 3;
		end = host + strcspn(host, "/?#");
		at = memchr(host, '@', (size_t)(end - host));
		FUZZ_ASSERT(at == NULL);
	}
	buf_free(&enc);
	buf_free(&dec);
	buf_free(&junk);
	free(s);
	return 0;
}
