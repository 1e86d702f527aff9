/* See COPYING for copyright and license details. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "route.h"
#include "tap.h"

#define HEAD "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t" \
	"Mask\t\tMTU\tWindow\tIRTT                                      \n"

/* The gateway route_parse() picks from text, or "none". */
static const char *
pick(const char *text, struct route_gw *gw)
{
	static char out[INET_ADDRSTRLEN];

	if (route_parse(text, strlen(text), gw) != 0)
		return "none";
	return inet_ntop(AF_INET, &gw->addr, out, sizeof(out));
}

static void
test_decode(void)
{
	static const struct {
		const char *hex, *want;
	} cases[] = {
		{ "0100A8C0", "192.168.0.1" },
		{ "010011AC", "172.17.0.1" },
		{ "010200C0", "192.0.2.1" },
		{ "090200c0", "192.0.2.9" },	/* lower case too */
		{ "FFFFFFFF", "255.255.255.255" },
	};
	struct route_gw gw;
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), HEAD "eth0\t00000000\t%s\t0003\t0\t0\t0"
		    "\t00000000\t0\t0\t0\n", cases[i].hex);
		is_str(pick(text, &gw), cases[i].want, "%s decodes to %s",
		    cases[i].hex, cases[i].want);
	}
}

static void
test_select(void)
{
	struct route_gw gw;

	is_str(pick(HEAD
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	    "eth1\t00000000\t090200C0\t0003\t0\t0\t50\t00000000\t0\t0\t0\n"
	    "eth2\t00000000\t0A0200C0\t0003\t0\t0\t70\t00000000\t0\t0\t0\n",
	    &gw), "192.0.2.9", "the lowest metric wins");
	is_str(gw.iface, "eth1", "with its interface");
	is_int(gw.metric, 50, "and its metric");
	is_str(pick(HEAD
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t5\t00000000\t0\t0\t0\n"
	    "eth1\t00000000\t090200C0\t0003\t0\t0\t5\t00000000\t0\t0\t0\n",
	    &gw), "172.17.0.1", "on a tie, the first listed");
	is_str(pick(HEAD
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t-1\t00000000\t0\t0\t0\n"
	    "eth1\t00000000\t090200C0\t0003\t0\t0\t7\t00000000\t0\t0\t0\n",
	    &gw), "192.0.2.9", "a metric printed negative is a large u32");
	is_int(gw.unusable, 0, "no unusable default counted");
	is_str(pick(HEAD
	    "ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n",
	    &gw), "none", "a default route without a gateway is none");
	is_int(gw.unusable, 1, "but is counted");
	is_str(pick(HEAD
	    "lo\t00000000\t010011AC\t0203\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t090200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t00000000\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
	    &gw), "none", "reject, down and a zero gateway are not gateways");
	is_int(gw.unusable, 3, "three unusable defaults");
	is_str(pick(HEAD
	    "lo\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t900\t00000000\t0\t0\t0\n",
	    &gw), "172.17.0.1", "a reject route beside a real one");
	is_str(pick(HEAD
	    "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n"
	    "eth0\t0000000A\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
	    &gw), "none", "only destination and mask 0 are defaults");
	is_int(gw.unusable, 0, "other routes are not counted");
	is_str(pick(HEAD, &gw), "none", "the header alone");
	is_str(pick("", &gw), "none", "an empty file");
}

static void
test_malformed(void)
{
	struct route_gw gw;

	is_str(pick(HEAD
	    "eth0   00000000  010011AC   0003  0 0  0  00000000 0 0 0      \r\n",
	    &gw), "172.17.0.1", "padded with spaces, CRLF");
	is_str(pick(HEAD
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0", &gw),
	    "172.17.0.1", "no final newline");
	is_str(pick(HEAD
	    "garbage row\n"
	    "eth0\t00000000\tXYZ00000\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t0100A8C0\t0003\t0\t0\tx\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\n"
	    "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\t0\n"
	    "eth0\t00000000\t0100A8C01\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t0100A8C0\t00003\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t0100A8C0\t0003\t0\t0\t99999999999\t00000000\t0\t0\t0\n"
	    "an-interface-name-too-long\t00000000\t0100A8C0\t0003\t0\t0\t0"
	    "\t00000000\t0\t0\t0\n",
	    &gw), "none", "malformed rows are skipped");
	is_int(gw.unusable, 0, "and not counted");
	is_str(pick(HEAD "garbage\x01\xff row\n"
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
	    &gw), "172.17.0.1", "a garbage row before a good one");
}

static void
test_file(void)
{
	char path[] = "/tmp/galley-route-XXXXXX";
	struct route_gw gw;
	const char *text = HEAD
	    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
	int fd = mkstemp(path);

	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	    "fixture written");
	close(fd);
	is_int(route_default_gw(path, &gw), 0, "a route file is read");
	is_int(gw.addr.s_addr, inet_addr("172.17.0.1"), "and decoded");
	unlink(path);
	errno = 0;
	ok(route_default_gw(path, &gw) < 0 && errno == ENOENT,
	    "a missing file: -1 with ENOENT");
	is_int(route_default_gw("/proc/net/route", &gw) >= 0, 1,
	    "the kernel's own file parses");
}

int
main(void)
{
	test_decode();
	test_select();
	test_malformed();
	test_file();
	return done_testing();
}
