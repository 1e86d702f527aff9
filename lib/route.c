/* See COPYING for copyright and license details. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "util.h"

/* From linux/route.h, the flags fib_flag_trans() prints. */
#define RTF_UP_		0x0001
#define RTF_GATEWAY_	0x0002
#define RTF_REJECT_	0x0200

#define FIELDS 11	/* Iface Destination Gateway Flags RefCnt Use Metric
			   Mask MTU Window IRTT */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split one line into at most max fields; returns how many there were. */
static int
split(const char *p, const char *end, const char *f[], size_t flen[], int max)
{
	int n = 0;

	for (;;) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			return n;
		if (n == max)
			return max + 1;
		f[n] = p;
		while (p < end && !is_blank(*p))
			p++;
		flen[n] = (size_t)(p - f[n]);
		n++;
	}
}

/* A whole field of 1..max hex digits as the kernel's %X printed it. */
static int
hex32(const char *s, size_t n, size_t max, uint32_t *v)
{
	uint32_t x = 0;
	size_t i;

	if (n == 0 || n > max)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
}

/*
 * The metric is a u32 the kernel prints with %d, so values past INT_MAX
 * appear negative; read it back as the u32 it is.
 */
static int
metric32(const char *s, size_t n, uint32_t *v)
{
	char tmp[16], *end;
	long long x;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
		return -1;
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || x < -2147483648LL || x > 4294967295LL)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int
route_parse(const char *text, size_t len, struct route_gw *gw)
{
	const char *p = text, *end = text + len, *eol, *f[FIELDS];
	size_t flen[FIELDS];
	int found = 0;

	gw->unusable = 0;
	for (; p < end; p = eol + (eol < end)) {
		uint32_t dest, via, flags, metric, mask;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (split(p, eol, f, flen, FIELDS) != FIELDS)
			continue;	/* the header, a blank or a garbage row */
		if (flen[0] >= sizeof(gw->iface) ||
		    hex32(f[1], flen[1], 8, &dest) < 0 ||
		    hex32(f[2], flen[2], 8, &via) < 0 ||
		    hex32(f[3], flen[3], 4, &flags) < 0 ||
		    metric32(f[6], flen[6], &metric) < 0 ||
		    hex32(f[7], flen[7], 8, &mask) < 0)
			continue;
		if (dest != 0 || mask != 0)
			continue;
		if (!(flags & RTF_UP_) || !(flags & RTF_GATEWAY_) ||
		    (flags & RTF_REJECT_) || via == 0) {
			gw->unusable++;
			continue;
		}
		if (found && metric >= gw->metric)
			continue;
		/*
		 * %08X printed the in-memory __be32 as a host integer, so
		 * storing the value back gives the address on any endianness.
		 */
		gw->addr.s_addr = via;
		gw->metric = metric;
		memcpy(gw->iface, f[0], flen[0]);
		gw->iface[flen[0]] = '\0';
		found = 1;
	}
	return found ? 0 : 1;
}

int
route_default_gw(const char *path, struct route_gw *gw)
{
	char *text;
	size_t len;
	int e, r;

	if ((e = util_read_file(path, ROUTE_MAX_FILE, &text, &len)) != 0) {
		errno = e;
		return -1;
	}
	r = route_parse(text, len, gw);
	free(text);
	return r;
}
