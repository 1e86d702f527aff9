/* See COPYING for copyright and license details. */
/*
 * hosts: a hosts(5) file edited in place so that each of a few names maps
 * to one address on exactly one line. hosts_edit() works on text and puts
 * the new text into the caller's struct buf; hosts_update() applies it to
 * a file under flock, writing in place (so a bind-mounted /etc/hosts
 * works), never truncating first, and not at all when nothing changes.
 */
#ifndef GALLEY_HOSTS_H
#define GALLEY_HOSTS_H

#include <stddef.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "buf.h"

#define HOSTS_FILE "/etc/hosts"
#define HOSTS_MAX_FILE (1024u * 1024)	/* refuse larger hosts files */
#define HOSTS_NAME_MAX 253

/*
 * The canonical text (inet_ntop's) of a numeric IPv4 or IPv6 address into
 * out. Returns 0, or -1 when s is not one.
 */
int hosts_canon_addr(const char *s, char out[INET6_ADDRSTRLEN]);

/*
 * Is name fit to write into a hosts file: 1..HOSTS_NAME_MAX characters of
 * [A-Za-z0-9._-], starting with a letter or digit (so no blank, '#' or
 * newline can get in)?
 */
int hosts_name_ok(const char *name);

/*
 * Edit text so that every name (compared without regard to case) maps to
 * addr (canonical, from hosts_canon_addr) on exactly one line: the first
 * line that already maps it is kept; the name is removed from every other
 * line, and a line left without names is dropped; the names not mapped
 * yet get one new line "addr<TAB>name ...", in place of the first dropped
 * line or else at the end. Everything else, comments included, is kept
 * byte for byte. Returns 1 with the new text in out, or 0 when text is
 * already right (out is then left empty).
 */
int hosts_edit(const char *text, size_t len, const char *addr,
    char *const names[], size_t n, struct buf *out);

/*
 * Apply hosts_edit() to the file at path: open it (never creating it),
 * flock it (waiting at most lock_ms), read it, and write the change in
 * place: what goes past the old end first (cut back again if that fails,
 * so a full disk leaves the file as it was), then the changed old bytes
 * from the start, then a truncation to the new length.
 * A file that cannot be opened for writing is still read, so one that is
 * already right is not an error. Returns 0 (unchanged, nothing written),
 * 1 (written), or -1 with errno: the open or write error, EWOULDBLOCK for
 * the lock, EFBIG past HOSTS_MAX_FILE, EINVAL for a non-regular file.
 */
int hosts_update(const char *path, const char *addr, char *const names[],
    size_t n, long long lock_ms);

#endif
