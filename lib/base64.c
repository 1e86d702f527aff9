/* See COPYING for copyright and license details. */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		buf_addc(out, alphabet[p[i] >> 2]);
		buf_addc(out, alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4]);
		buf_addc(out, alphabet[(p[i + 1] & 15) << 2 | p[i + 2] >> 6]);
		buf_addc(out, alphabet[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		buf_addc(out, alphabet[p[i] >> 2]);
		buf_addc(out, alphabet[(p[i] & 3) << 4]);
		buf_adds(out, "==");
	} else if (n - i == 2) {
		buf_addc(out, alphabet[p[i] >> 2]);
		buf_addc(out, alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4]);
		buf_addc(out, alphabet[(p[i + 1] & 15) << 2]);
		buf_addc(out, '=');
	}
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t n, struct buf *out)
{
	size_t i, pad = 0;
	int v[4], j;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	for (i = 0; i < n; i += 4) {
		int last = i + 4 == n;

		for (j = 0; j < 4; j++) {
			if (last && j >= 4 - (int)pad) {
				v[j] = 0;
				continue;
			}
			v[j] = b64val((unsigned char)in[i + j]);
			if (v[j] < 0)
				return -1;
		}
		buf_addc(out, (char)(v[0] << 2 | v[1] >> 4));
		if (!last || pad < 2)
			buf_addc(out, (char)((v[1] & 15) << 4 | v[2] >> 2));
		if (!last || pad < 1)
			buf_addc(out, (char)((v[2] & 3) << 6 | v[3]));
	}
	return 0;
}
