/* See COPYING for copyright and license details. */
#include <stdlib.h>

#include "base64.h"
#include "tap.h"

static char *
dec(const char *s)
{
	struct buf b = BUF_INIT;

	if (base64_decode(s, strlen(s), &b) < 0) {
		buf_free(&b);
		return strdup("(invalid)");
	}
	return buf_detach(&b);
}

#define DEC(in, want) do { \
	char *o_ = dec(in); \
	is_str(o_, want, "decode '%s'", in); \
	free(o_); \
} while (0)

#define ENC(in, want) do { \
	struct buf b_ = BUF_INIT; \
	base64_encode(in, strlen(in), &b_); \
	buf_addc(&b_, 0); \
	is_str(b_.data, want, "encode '%s'", in); \
	buf_free(&b_); \
} while (0)

int
main(void)
{
	struct buf b = BUF_INIT;
	unsigned char all[256];
	int i;

	DEC("", "");
	DEC("Ng==", "6");
	DEC("YWI=", "ab");
	DEC("YWJj", "abc");
	DEC("aGVsbG8gd29ybGQ=", "hello world");
	DEC("Pz8/Pw==", "????");
	DEC("-_8=", "(invalid)");
	DEC("YWJ", "(invalid)");
	DEC("Y=Jj", "(invalid)");
	DEC("YW Jj", "(invalid)");
	ENC("", "");
	ENC("6", "Ng==");
	ENC("ab", "YWI=");
	ENC("abc", "YWJj");
	ENC("user:pa ss", "dXNlcjpwYSBzcw==");
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	base64_encode(all, sizeof(all), &b);
	{
		struct buf d = BUF_INIT;

		ok(base64_decode(b.data, b.len, &d) == 0 && d.len == 256 &&
		    memcmp(d.data, all, 256) == 0, "every byte round-trips");
		buf_free(&d);
	}
	buf_free(&b);
	return done_testing();
}
