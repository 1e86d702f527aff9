/* See COPYING for copyright and license details. */
/* lib/debounce: QUIET after the last change, at most CAP after the first. */
#include "debounce.h"
#include "tap.h"

int
main(void)
{
	struct debounce d;
	long long q = 0, c = 0;
	char err[128];

	ok(debounce_parse("2s,30s", &q, &c, err, sizeof(err)) == 0 &&
	    q == 2000 && c == 30000, "parse: 2s,30s");
	ok(debounce_parse("300ms", &q, &c, err, sizeof(err)) == 0 &&
	    q == 300 && c == 30000, "parse: no cap is 30 s");
	ok(debounce_parse("1m", &q, &c, err, sizeof(err)) == 0 &&
	    q == 60000 && c == 60000, "parse: no cap, a longer quiet time");
	ok(debounce_parse("0,0", &q, &c, err, sizeof(err)) == 0 && q == 0 &&
	    c == 0, "parse: 0,0 acts at once");
	ok(debounce_parse("3s,1s", &q, &c, err, sizeof(err)) < 0 &&
	    strstr(err, "cap is shorter") != NULL, "parse: a cap below quiet");
	ok(debounce_parse("2x", &q, &c, err, sizeof(err)) < 0 &&
	    debounce_parse("2s,", &q, &c, err, sizeof(err)) < 0 &&
	    debounce_parse(",2s", &q, &c, err, sizeof(err)) < 0,
	    "parse: not durations");

	debounce_init(&d, 300, 1000);
	ok(!debounce_fire(&d, 5000), "not armed: never fires");
	debounce_touch(&d, 10000);
	ok(!debounce_fire(&d, 10299), "armed: not before QUIET");
	ok(debounce_fire(&d, 10300), "fires QUIET after the change");
	ok(!debounce_fire(&d, 10400), "fires once");

	/* A change every 200 ms: pushed back, but CAP after the first. */
	debounce_touch(&d, 20000);
	debounce_touch(&d, 20200);
	debounce_touch(&d, 20400);
	ok(!debounce_fire(&d, 20600) && d.due == 20700, "each change pushes it back");
	debounce_touch(&d, 20600);
	debounce_touch(&d, 20800);
	is_int(d.due, 21000, "... up to the cap");
	ok(!debounce_fire(&d, 20999) && debounce_fire(&d, 21000),
	    "fires at the cap");

	debounce_touch(&d, 30000);
	debounce_cancel(&d);
	ok(!debounce_fire(&d, 40000), "cancelled: does not fire");
	debounce_touch(&d, 50000);
	is_int(d.cap_at, 51000, "after a cancel the cap starts again");

	debounce_init(&d, 0, 0);
	debounce_touch(&d, 0);
	ok(debounce_fire(&d, 0), "0,0 at time 0 still fires");
	return done_testing();
}
