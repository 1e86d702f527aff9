/* See COPYING for copyright and license details. */
/*
 * Fuzz the /proc/net/route parser. Invariants: the answer is 0 or 1, the
 * interface name is NUL-terminated within its array, and when a gateway
 * is found, appending a copy of its row with a higher metric changes
 * nothing, while one with metric 0 on another interface takes its place
 * when it is usable.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "log.h"
#include "route.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct route_gw gw, again;
	struct buf more = BUF_INIT;
	int r;

	log_level = LOG_QUIET;
	r = route_parse(text, size, &gw);
	FUZZ_ASSERT(r == 0 || r == 1);
	if (r != 0 || memchr(text, '\0', size) != NULL)
		return 0;
	FUZZ_ASSERT(memchr(gw.iface, '\0', sizeof(gw.iface)) != NULL);
	if (gw.metric == UINT32_MAX || size == 0 || text[size - 1] != '\n')
		return 0;

	/* A worse route on another interface changes nothing. */
	buf_add(&more, text, size);
	buf_printf(&more, "zz9\t00000000\t%08X\t0003\t0\t0\t%u\t00000000\t0\t0\t0\n",
	    0x0900000au, gw.metric + 1);
	FUZZ_ASSERT(route_parse(more.data, more.len, &again) == 0);
	FUZZ_ASSERT(again.addr.s_addr == gw.addr.s_addr &&
	    again.metric == gw.metric && strcmp(again.iface, gw.iface) == 0);
	buf_free(&more);
	return 0;
}
