/* See COPYING for copyright and license details. */
/*
 * route: the IPv4 default gateway, read from /proc/net/route (the
 * kernel's fixed text format; no ip(8), no netlink). Results go into the
 * caller's struct route_gw; nothing is allocated.
 */
#ifndef GALLEY_ROUTE_H
#define GALLEY_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define ROUTE_FILE "/proc/net/route"
#define ROUTE_MAX_FILE (1024u * 1024)	/* refuse larger route files */

struct route_gw {
	struct in_addr addr;	/* the gateway, network byte order */
	char iface[16];		/* IFNAMSIZ, NUL-terminated */
	uint32_t metric;
	int unusable;		/* default routes seen without a gateway, down
				   or rejecting (set whether found or not) */
};

/*
 * Pick the default gateway from the text of /proc/net/route: rows with
 * destination and mask 0, flags UP and GATEWAY, not REJECT, and a gateway;
 * the lowest metric wins, the first listed on a tie. Malformed rows are
 * skipped. Returns 0 with *gw set, or 1 when there is none.
 */
int route_parse(const char *text, size_t len, struct route_gw *gw);

/*
 * The same from a file (ROUTE_FILE in real use). Returns 0 or 1 as
 * route_parse(), or -1 with errno when the file cannot be read (EFBIG
 * past ROUTE_MAX_FILE).
 */
int route_default_gw(const char *path, struct route_gw *gw);

#endif
