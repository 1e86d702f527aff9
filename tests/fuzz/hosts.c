/* See COPYING for copyright and license details. */
/*
 * Fuzz the hosts-file editor. Input: one byte choosing the address (IPv4
 * or IPv6) then the file's text. Invariants: after an edit, editing again
 * changes nothing (idempotent), and each name sits on exactly one
 * non-comment line, whose address is ours; text that needed no edit
 * leaves the output empty.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz.h"
#include "hosts.h"
#include "log.h"

/*
 * How many lines map name, and whether each of them starts with addr;
 * fields are split on isspace(), as glibc's hosts parser does.
 */
static size_t
lines_with(const char *text, size_t len, const char *addr, const char *name,
    int *right)
{
	const char *p = text, *end = text + len;
	size_t count = 0, nl = strlen(name), al = strlen(addr);

	*right = 1;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *hash, *f;
		size_t field = 0;
		int addr_ok = 0, has = 0;

		if (eol == NULL)
			eol = end;
		hash = memchr(p, '#', (size_t)(eol - p));
		if (hash != NULL)
			eol = hash;
		for (f = p; f < eol; ) {
			const char *g;

			while (f < eol && isspace((unsigned char)*f))
				f++;
			for (g = f; g < eol && !isspace((unsigned char)*g); g++)
				;
			if (g == f)
				break;
			if (field == 0)
				addr_ok = (size_t)(g - f) == al && memcmp(f, addr, al) == 0;
			else if ((size_t)(g - f) == nl && strncasecmp(f, name, nl) == 0)
				has = 1;
			field++;
			f = g;
		}
		if (has) {
			count++;
			if (!addr_ok)
				*right = 0;
		}
		eol = memchr(p, '\n', (size_t)(end - p));
		p = eol != NULL ? eol + 1 : end;
	}
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *names[] = { "dockerhost", "Registry.local" };
	const char *addr;
	struct buf out = BUF_INIT, again = BUF_INIT;
	const char *text;
	size_t len, i;
	int r, right;

	if (size == 0)
		return 0;
	log_level = LOG_QUIET;
	addr = data[0] & 1 ? "2001:db8::1" : "192.0.2.1";
	text = (const char *)data + 1;
	len = size - 1;
	if (memchr(text, '\0', len) != NULL)
		return 0;
	r = hosts_edit(text, len, addr, names, 2, &out);
	FUZZ_ASSERT(r == 0 || r == 1);
	if (r == 0) {
		FUZZ_ASSERT(out.len == 0);
		buf_add(&out, text, len);
	}
	for (i = 0; i < 2; i++) {
		FUZZ_ASSERT(lines_with(out.data, out.len, addr, names[i],
		    &right) == 1);
		FUZZ_ASSERT(right);
	}
	FUZZ_ASSERT(hosts_edit(out.data, out.len, addr, names, 2, &again) == 0);
	buf_free(&out);
	buf_free(&again);
	return 0;
}
