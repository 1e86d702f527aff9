/* See COPYING for copyright and license details. */
/*
 * lib/envwatch: what counts as a change (the environment, not the
 * entries or the index), the retry delays, and the first read and the
 * watch against a Consul that refuses connections. The watch against a
 * working Consul is tests/cli/service-wrapper-watch.t, with the
 * emulator.
 */
#include <stdlib.h>

#include "envwatch.h"
#include "tap.h"
#include "util.h"

/* A read that returned the entries of json. */
static void
got(struct consul_read *rd, const char *json)
{
	char err[128];

	consul_read_free(rd);
	rd->index = 10;
	if (kv_decode(json, strlen(json), &rd->entries, err, sizeof(err)) < 0)
		printf("# decode: %s\n", err);
}

int
main(void)
{
	struct consul c;
	struct consul_read rd = CONSUL_READ_INIT;
	struct envwatch w;
	char err[256];
	long long t0, r;
	uint64_t first;
	int i, in_range = 1;

	log_init("t", 1);
	log_level = LOG_QUIET;
	if (consul_init(&c, "127.0.0.1:1", err, sizeof(err)) < 0)
		return 1;
	envwatch_init(&w, &c, "app/web", 0);
	ok(w.wait_ms == 300000 && w.db.quiet_ms == 2000 && w.db.cap_ms == 30000,
	    "defaults: 5m wait, 2s,30s debounce");

	got(&rd, "[{\"Key\":\"app/web/A\",\"Value\":\"MQ==\"}]");
	ok(envwatch_absorb(&w, &rd) == 1 && w.env.n == 1, "a first content");
	first = w.hash;
	w.running = first;
	ok(envwatch_absorb(&w, &rd) == 0, "the same entries: no change");
	got(&rd, "[{\"Key\":\"app/web/\",\"Value\":null},"
	    "{\"Key\":\"app/web/A\",\"Value\":\"MQ==\"}]");
	ok(envwatch_absorb(&w, &rd) == 0 && w.hash == first,
	    "a folder key added: the environment is the same");
	got(&rd, "[{\"Key\":\"app/web/A\",\"Value\":\"MQ==\"},"
	    "{\"Key\":\"app/web/PORT0\",\"Value\":\"OTk=\"}]");
	ok(envwatch_absorb(&w, &rd) == 0 && w.hash == first,
	    "a key Marathon owns: dropped, no change");
	got(&rd, "[{\"Key\":\"app/web/A\",\"Value\":\"Mg==\"}]");
	ok(envwatch_absorb(&w, &rd) == 1 && w.hash != first &&
	    strcmp(w.env.v[0].value, "2") == 0, "a value changed");
	got(&rd, "[{\"Key\":\"app/web/A\",\"Value\":\"MQ==\"}]");
	ok(envwatch_absorb(&w, &rd) == 1 && w.hash == first,
	    "changed back: the first hash again");
	rd.missing = 1;
	got(&rd, "[]");
	ok(envwatch_absorb(&w, &rd) == 1 && w.env.n == 0, "all keys gone");
	consul_read_free(&rd);

	for (i = 0; i < 100; i++) {
		r = envwatch_retry_ms(300000, (double)i / 100);
		if (r < 15000 || r >= 30000)
			in_range = 0;
	}
	ok(in_range, "retry after a 409: 15-30 s");
	is_int(envwatch_retry_ms(2000, 0), 1000, "retry: half of a short --restart-retry ...");
	is_int(envwatch_retry_ms(2000, 0.999), 1999, "... up to all of it");

	/* Consul refuses: the first read retries until its deadline. */
	envwatch_free(&w);
	envwatch_init(&w, &c, "app/web", 0);
	t0 = util_now_ms();
	ok(envwatch_first(&w, 600) < 0, "first read: gives up");
	r = util_now_ms() - t0;
	ok(r >= 600 && r < 3000, "... at the deadline (%lld ms)", r);
	ok(w.cw.failures >= 2 && w.cw.failures <= 8,
	    "... after a few tries with backoff (%u)", w.cw.failures);

	/* The watch: errors are no change; it returns at until_ms. */
	w.running = w.hash;
	w.cw.next_ms = 0;	/* no backoff left from the first read */
	t0 = util_now_ms();
	ok(envwatch_next(&w, t0 + 500) == 0, "watch: no change while refused");
	r = util_now_ms() - t0;
	ok(r >= 500 && r < 3000, "... returns at until_ms (%lld ms)", r);
	ok(strstr(w.error, "GET http://127.0.0.1:1/v1/kv/app/web/?recurse") != NULL,
	    "... remembering the error it reported");

	envwatch_free(&w);
	consul_free(&c);
	return done_testing();
}
