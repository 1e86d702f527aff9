/* See COPYING for copyright and license details. */
/*
 * A strict JSON checker (RFC 8259), written to give errors a person can
 * act on: where, and what was expected. It does not build a tree.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

struct scan {
	const char *s;
	size_t len;
	size_t pos;
	int flags;
	struct json_error *err;
};

static int value(struct scan *sc, int depth);

static void
found(struct scan *sc, char *out, size_t n)
{
	unsigned char c;

	if (sc->pos >= sc->len) {
		snprintf(out, n, "end of input");
		return;
	}
	c = (unsigned char)sc->s[sc->pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, n, "'%c'", c);
	else if (c == '\n')
		snprintf(out, n, "end of line");
	else
		snprintf(out, n, "byte 0x%02x", c);
}

static int
fail(struct scan *sc, size_t at, const char *what)
{
	sc->err->offset = at;
	snprintf(sc->err->msg, sizeof(sc->err->msg), "%s", what);
	return -1;
}

static int
expected(struct scan *sc, const char *what)
{
	char f[32], msg[128];

	found(sc, f, sizeof(f));
	snprintf(msg, sizeof(msg), "expected %s, found %s", what, f);
	return fail(sc, sc->pos, msg);
}

static void
skipws(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) &&
	    sc->s[sc->pos] != '\0')
		sc->pos++;
}

static int
peek(struct scan *sc)
{
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * At the 'u' of a \\u escape: read it, leave pos after its four hex
 * digits and return the code unit, or -1 (pos unchanged) when invalid.
 */
static long
hex4(struct scan *sc)
{
	long v = 0;
	size_t i;

	for (i = 1; i <= 4; i++) {
		int c;

		if (sc->pos + i >= sc->len)
			return -1;
		c = (unsigned char)sc->s[sc->pos + i];
		if (!ishex(c))
			return -1;
		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	sc->pos += 5;
	return v;
}

/* Length of the UTF-8 sequence at p (0 when invalid). */
static size_t
utf8len(const unsigned char *p, size_t n)
{
	size_t need, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

static int
string(struct scan *sc)
{
	size_t start = sc->pos, n;
	int c;

	sc->pos++;	/* the opening quote */
	for (;;) {
		c = peek(sc);
		if (c < 0)
			return fail(sc, start, "unterminated string");
		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if (c == '\\') {
			sc->pos++;
			c = peek(sc);
			if (c < 0)
				return fail(sc, start, "unterminated string");
			if (c == 'u') {
				size_t at = sc->pos - 1;
				long u = hex4(sc);

				if (u < 0)
					return fail(sc, at,
					    "invalid \\u escape (needs four hex digits)");
				/*
				 * UTF-16 surrogates come in pairs: what cJSON,
				 * Marathon (Jackson) and Consul (Go) read.
				 */
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(sc, at, "\\u escape is a lone "
					    "low surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					long lo = -1;

					if (peek(sc) == '\\' && sc->pos + 1 < sc->len &&
					    sc->s[sc->pos + 1] == 'u') {
						sc->pos++;
						lo = hex4(sc);
					}
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(sc, at, "\\u escape is a "
						    "high surrogate without its low half");
				}
				continue;
			}
			if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
				char msg[64];

				snprintf(msg, sizeof(msg), c >= 0x20 && c < 0x7f ?
				    "invalid escape \\%c in string" :
				    "invalid escape in string", c);
				return fail(sc, sc->pos - 1, msg);
			}
			sc->pos++;
			continue;
		}
		if (c < 0x20) {
			if (c == '\n')
				return fail(sc, start, "unterminated string "
				    "(a line break inside a string must be written \\n)");
			return fail(sc, sc->pos,
			    "control character in string (escape it as \\u00XX)");
		}
		n = utf8len((const unsigned char *)sc->s + sc->pos,
		    sc->len - sc->pos);
		if (n == 0)
			return fail(sc, sc->pos, "invalid UTF-8 in string");
		sc->pos += n;
	}
}

static int
digits(struct scan *sc)
{
	size_t start = sc->pos;

	while (peek(sc) >= '0' && peek(sc) <= '9')
		sc->pos++;
	return sc->pos > start ? 0 : -1;
}

static int
number(struct scan *sc)
{
	size_t start = sc->pos;

	if (peek(sc) == '-')
		sc->pos++;
	if (peek(sc) == '0')
		sc->pos++;
	else if (digits(sc) < 0)
		return fail(sc, start, "invalid number");
	if (peek(sc) == '.') {
		sc->pos++;
		if (digits(sc) < 0)
			return fail(sc, start, "invalid number (digits must follow '.')");
	}
	if (peek(sc) == 'e' || peek(sc) == 'E') {
		sc->pos++;
		if (peek(sc) == '+' || peek(sc) == '-')
			sc->pos++;
		if (digits(sc) < 0)
			return fail(sc, start, "invalid number (bad exponent)");
	}
	if (peek(sc) >= '0' && peek(sc) <= '9')
		return fail(sc, start, "invalid number (leading zero)");
	return 0;
}

static size_t
namelen(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && util_is_name(s, i + 1))
		i++;
	return i;
}

/* $name or ${name}, read as a value when JSON_PLACEHOLDERS is set. */
static int
placeholder(struct scan *sc)
{
	const char *p = sc->s + sc->pos + 1;
	size_t rest = sc->len - sc->pos - 1, n;

	if (rest > 0 && *p == '{') {
		n = namelen(p + 1, rest - 1);
		if (n > 0 && n + 1 < rest && p[n + 1] == '}') {
			sc->pos += n + 3;
			return 0;
		}
		return -1;
	}
	n = namelen(p, rest);
	if (n == 0)
		return -1;
	sc->pos += n + 1;
	return 0;
}

static int
literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos >= n && memcmp(sc->s + sc->pos, word, n) == 0) {
		sc->pos += n;
		return 0;
	}
	return expected(sc, "a value");
}

static int
object(struct scan *sc, int depth)
{
	sc->pos++;	/* { */
	skipws(sc);
	if (peek(sc) == '}') {
		sc->pos++;
		return 0;
	}
	for (;;) {
		if (peek(sc) != '"')
			return expected(sc, "a string key in double quotes");
		if (string(sc) < 0)
			return -1;
		skipws(sc);
		if (peek(sc) != ':')
			return expected(sc, "':' after the key");
		sc->pos++;
		skipws(sc);
		if (value(sc, depth + 1) < 0)
			return -1;
		skipws(sc);
		if (peek(sc) == '}') {
			sc->pos++;
			return 0;
		}
		if (peek(sc) != ',')
			return expected(sc, "',' or '}' after an object member");
		sc->pos++;
		skipws(sc);
		if (peek(sc) == '}')
			return fail(sc, sc->pos, "trailing comma before '}'");
	}
}

static int
array(struct scan *sc, int depth)
{
	sc->pos++;	/* [ */
	skipws(sc);
	if (peek(sc) == ']') {
		sc->pos++;
		return 0;
	}
	for (;;) {
		if (value(sc, depth + 1) < 0)
			return -1;
		skipws(sc);
		if (peek(sc) == ']') {
			sc->pos++;
			return 0;
		}
		if (peek(sc) != ',')
			return expected(sc, "',' or ']' after an array element");
		sc->pos++;
		skipws(sc);
		if (peek(sc) == ']')
			return fail(sc, sc->pos, "trailing comma before ']'");
	}
}

static int
value(struct scan *sc, int depth)
{
	int c = peek(sc);

	if (depth > JSON_MAX_DEPTH)
		return fail(sc, sc->pos, "nested too deeply");
	switch (c) {
	case '{':
		return object(sc, depth);
	case '[':
		return array(sc, depth);
	case '"':
		return string(sc);
	case 't':
		return literal(sc, "true");
	case 'f':
		return literal(sc, "false");
	case 'n':
		return literal(sc, "null");
	case '$':
		if ((sc->flags & JSON_PLACEHOLDERS) && placeholder(sc) == 0)
			return 0;
		return expected(sc, "a value");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(sc);
		return expected(sc, "a value");
	}
}

int
json_check(const char *text, size_t len, int flags, struct json_error *err)
{
	/* err is only written to. */
	/* cppcheck-suppress ctuuninitvar */
	struct scan sc = { text, len, 0, flags, err };

	skipws(&sc);
	if (sc.pos == len)
		return fail(&sc, 0, "empty document");
	if (value(&sc, 0) < 0)
		return -1;
	skipws(&sc);
	if (sc.pos < len)
		return expected(&sc, "end of input after the document");
	return 0;
}

void
json_position(const char *text, size_t len, size_t offset, size_t *line,
    size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

void
json_escape(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\u%04x", c);
			else
				buf_addc(b, (char)c);
		}
	}
}
