/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts.h"
#include "lock.h"
#include "util.h"

/* A numeric address as the resolver would compare it. */
struct addr {
	int family;	/* AF_INET, AF_INET6, or 0: not an address */
	unsigned char bytes[16];
};

/*
 * One line of the file. Its fields are the blank-separated words before
 * the first '#' (hosts(5): the rest is a comment): the address, then
 * the names.
 */
struct line {
	const char *start, *end;	/* content, without the '\n' */
	const char *eol;		/* "\n", or "" on a last line without one */
	const char *stop;		/* where the fields end */
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void
parse_addr(const char *s, size_t n, struct addr *a)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	a->family = 0;
	if (n == 0 || n >= sizeof(tmp))
		return;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, a->bytes) == 1)
		a->family = AF_INET6;
}

static int
same_addr(const struct addr *a, const struct addr *b)
{
	return a->family != 0 && a->family == b->family &&
	    memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

int
hosts_canon_addr(const char *s, char out[INET6_ADDRSTRLEN])
{
	struct addr a;

	parse_addr(s, strlen(s), &a);
	if (a.family == 0)
		return -1;
	return inet_ntop(a.family, a.bytes, out, INET6_ADDRSTRLEN) ? 0 : -1;
}

int
hosts_name_ok(const char *name)
{
	size_t n = strlen(name);
	char c = name[0];

	if (n == 0 || n > HOSTS_NAME_MAX)
		return 0;
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9')))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The line starting at p; returns where the next one starts. */
static const char *
next_line(const char *p, const char *end, struct line *l)
{
	const char *q;

	l->start = p;
	if ((q = memchr(p, '\n', (size_t)(end - p))) == NULL) {
		l->end = end;
		l->eol = "";
	} else {
		l->end = q;
		l->eol = "\n";
	}
	if ((l->stop = memchr(p, '#', (size_t)(l->end - p))) == NULL)
		l->stop = l->end;
	return l->end + (*l->eol != '\0');
}

/* The next field of l at or after *q: 1 with *f, *n set, or 0 at the end. */
static int
next_field(const struct line *l, const char **q, const char **f, size_t *n)
{
	const char *p = *q;

	while (p < l->stop && is_blank(*p))
		p++;
	if (p == l->stop)
		return 0;
	*f = p;
	while (p < l->stop && !is_blank(*p))
		p++;
	*n = (size_t)(p - *f);
	*q = p;
	return 1;
}

/* Which of names (its index) the word f is, or -1. */
static int
which_name(const char *f, size_t flen, char *const names[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == flen && strncasecmp(f, names[i], flen) == 0)
			return (int)i;
	return -1;
}

static void
add_new_line(struct buf *out, const char *addr, char *const names[],
    const long *keeper, size_t n, const char *eol)
{
	size_t i;
	int first = 1;

	buf_adds(out, addr);
	for (i = 0; i < n; i++) {
		if (keeper[i] >= 0 || which_name(names[i], strlen(names[i]),
		    names, i) >= 0)
			continue;	/* mapped already, or named twice */
		buf_addc(out, first ? '\t' : ' ');
		buf_adds(out, names[i]);
		first = 0;
	}
	buf_adds(out, eol);
}

int
hosts_edit(const char *text, size_t len, const char *addr,
    char *const names[], size_t n, struct buf *out)
{
	const char *p, *q, *f, *end = text + len;
	struct line l;
	struct addr ours, theirs;
	long *keeper, lineno;
	int missing = 0, placed = 0, k;
	size_t i, flen;

	parse_addr(addr, strlen(addr), &ours);
	keeper = ecalloc(n, sizeof(*keeper));
	for (i = 0; i < n; i++)
		keeper[i] = -1;

	/* 1. The first line that already maps a name keeps it. */
	for (p = text, lineno = 0; p < end; lineno++) {
		p = next_line(p, end, &l);
		q = l.start;
		if (!next_field(&l, &q, &f, &flen))
			continue;
		parse_addr(f, flen, &theirs);
		if (!same_addr(&ours, &theirs))
			continue;
		while (next_field(&l, &q, &f, &flen))
			if ((k = which_name(f, flen, names, n)) >= 0 &&
			    keeper[k] < 0)
				keeper[k] = lineno;
	}
	for (i = 0; i < n; i++) {
		if ((k = which_name(names[i], strlen(names[i]), names, i)) >= 0)
			keeper[i] = keeper[k];	/* named twice */
		if (keeper[i] < 0)
			missing = 1;
	}

	/* 2. Take the names off every other line. */
	buf_reset(out);
	for (p = text, lineno = 0; p < end; lineno++) {
		const char *from;
		int names_left = 0, cut = 0;

		p = next_line(p, end, &l);
		q = l.start;
		if (next_field(&l, &q, &f, &flen)) {
			while (next_field(&l, &q, &f, &flen)) {
				k = which_name(f, flen, names, n);
				if (k >= 0 && keeper[k] != lineno)
					cut++;
				else
					names_left++;
			}
		}
		if (cut == 0) {
			buf_add(out, l.start, (size_t)(p - l.start));
			continue;
		}
		if (names_left == 0) {	/* nothing is left of the line */
			if (missing && !placed) {
				add_new_line(out, addr, names, keeper, n,
				    l.end > l.start && l.end[-1] == '\r' ?
				    "\r\n" : "\n");
				placed = 1;
			}
			continue;
		}
		/* Cut each of those names with the blanks before it. */
		q = from = l.start;
		next_field(&l, &q, &f, &flen);
		while (next_field(&l, &q, &f, &flen)) {
			const char *c = f;

			k = which_name(f, flen, names, n);
			if (k < 0 || keeper[k] == lineno)
				continue;
			while (c > l.start && is_blank(c[-1]))
				c--;
			buf_add(out, from, (size_t)(c - from));
			from = f + flen;
		}
		buf_add(out, from, (size_t)(p - from));
	}

	/* 3. The names still missing get their line at the end. */
	if (missing && !placed) {
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			buf_addc(out, '\n');
		add_new_line(out, addr, names, keeper, n, "\n");
	}
	free(keeper);
	if (out->len == len && (len == 0 || memcmp(out->data, text, len) == 0)) {
		buf_reset(out);
		return 0;
	}
	return 1;
}

static int
pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/*
 * Readers (glibc reads the file on every lookup) must never see it empty,
 * so it is never truncated first. The file grows before any old byte is
 * overwritten: the bytes past the old end go in first, and when that
 * fails (a full disk) the file is cut back to its old length, unchanged.
 * Overwriting bytes that exist then needs no new space. No fsync: the
 * runtime writes the file afresh for every container start anyway.
 */
static int
write_in_place(int fd, const char *old, size_t oldlen, const char *new,
    size_t newlen)
{
	size_t head = newlen < oldlen ? newlen : oldlen;
	int e;

	if (newlen > oldlen && pwrite_all(fd, new + oldlen, newlen - oldlen,
	    (off_t)oldlen) < 0) {
		e = errno;
		if (ftruncate(fd, (off_t)oldlen) < 0) {
			/* nothing better to do: report the write error */
		}
		errno = e;
		return -1;
	}
	if (memcmp(new, old, head) != 0 && pwrite_all(fd, new, head, 0) < 0)
		return -1;
	if (newlen < oldlen && ftruncate(fd, (off_t)newlen) < 0)
		return -1;
	return 0;
}

int
hosts_update(const char *path, const char *addr, char *const names[],
    size_t n, long long lock_ms)
{
	struct buf out = BUF_INIT;
	struct stat st;
	char *text = NULL;
	size_t len;
	int fd, e, r = -1, write_err = 0;

	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		write_err = errno;
		fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (lock_fd(fd, lock_ms) < 0)
		goto out;
	if ((e = util_read_fd(fd, HOSTS_MAX_FILE, &text, &len)) != 0) {
		errno = e;
		goto out;
	}
	if (hosts_edit(text, len, addr, names, n, &out) == 0) {
		r = 0;
	} else if (write_err != 0) {
		errno = write_err;
	} else if (write_in_place(fd, text, len, out.data, out.len) == 0) {
		r = 1;
	}
out:
	e = errno;
	close(fd);	/* releases the lock */
	free(text);
	buf_free(&out);
	errno = e;
	return r;
}
