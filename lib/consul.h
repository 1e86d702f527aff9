/* See COPYING for copyright and license details. */
/*
 * consul: a client for Consul's KV HTTP API over lib/http: settings read
 * as Consul's own CLI reads them (CONSUL_HTTP_*), recursive reads of a
 * prefix, and blocking watches that follow Consul's index rules. struct
 * consul is caller-owned (consul_init, consul_free) and holds the secret
 * headers; struct consul_read owns its entries (consul_read_free).
 * Nothing here prints a token or a value: messages name the URL, the
 * status and where the token came from.
 */
#ifndef GALLEY_CONSUL_H
#define GALLEY_CONSUL_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "kv.h"

#define CONSUL_DEFAULT_ADDR "127.0.0.1:8500"
#define CONSUL_MIN_GAP_MS 100		/* between two requests of a watch */
#define CONSUL_BACKOFF_MIN_MS 250	/* full jitter, doubling ... */
#define CONSUL_BACKOFF_MAX_MS 60000	/* ... up to this */

struct consul {
	struct http http;
	char *base;		/* scheme://host:port[/path], no trailing '/' */
	char *token;		/* "X-Consul-Token: ..." or NULL; secret */
	char *auth;		/* "Authorization: Basic ..." or NULL; secret */
	char *secret;		/* the bare token, to keep it out of messages */
	char *token_source;	/* for messages: which variable (and file) */
};

/*
 * Set up a client for addr (host:port, http:// or https:// URL, a path
 * after the port being a reverse proxy's prefix; NULL or "-":
 * CONSUL_HTTP_ADDR, else 127.0.0.1:8500) with CONSUL_HTTP_TOKEN_FILE
 * (read once, trimmed; wins when not empty), CONSUL_HTTP_TOKEN,
 * CONSUL_HTTP_AUTH (user[:password]), CONSUL_HTTP_SSL,
 * CONSUL_HTTP_SSL_VERIFY, CONSUL_CACERT, CONSUL_CLIENT_CERT and
 * CONSUL_CLIENT_KEY. Returns 0, or -1 with why in err (a usage problem:
 * a bad address or boolean, an unreadable token file, half a key pair).
 * No request is made and no file descriptor is opened.
 */
int consul_init(struct consul *c, const char *addr, char *err, size_t errlen);
void consul_free(struct consul *c);

enum consul_rc {
	CONSUL_OK = 0,		/* Consul answered: entries and index are set */
	CONSUL_ERROR,		/* try again later: refused, reset, timeout, 5xx,
				   429, not Consul, a body that does not parse */
	CONSUL_DENIED,		/* 401 or 403: a token problem */
};

struct consul_read {
	struct kv_list entries;	/* in key order; empty for a missing prefix */
	uint64_t index;		/* X-Consul-Index, at least 1 */
	int missing;		/* 404: no key below the prefix */
	int stale;		/* not the leader's answer: X-Consul-Knownleader
				   false, or X-Consul-Lastcontact above 0 */
	long status;		/* HTTP status, 0 when none arrived */
	char error[768];	/* why, when not CONSUL_OK */
};

#define CONSUL_READ_INIT { KV_LIST_INIT, 0, 0, 0, 0, "" }

/*
 * One GET /v1/kv/<prefix>/?recurse (the trailing '/' always: "app" must
 * not match "app2/x"). With index > 0 it is a blocking query waiting up
 * to wait_ms for something newer, with a read timeout of
 * consul_timeout_ms(wait_ms). out is reset first.
 */
enum consul_rc consul_kv_read(struct consul *c, const char *prefix,
    uint64_t index, long long wait_ms, struct consul_read *out);

void consul_read_free(struct consul_read *r);

/* The read timeout for a query waiting wait_ms: wait + wait/16 + 5 s. */
long long consul_timeout_ms(long long wait_ms);

/*
 * Consul's index rules for the index to send next, given the one sent
 * and the one received: it must grow, so a smaller one resets to 0 (the
 * next read returns at once); 0 is taken as 1.
 */
uint64_t consul_index_next(uint64_t sent, uint64_t got);

/*
 * The delay after the n-th error in a row (n >= 1): full jitter, a
 * random point (u in [0, 1)) below a ceiling that starts at 250 ms and
 * doubles up to 60 s.
 */
long long consul_backoff_ms(unsigned n, double u);

/* The state of a watch: start as CONSUL_WATCH_INIT. */
struct consul_watch {
	uint64_t index;		/* to send; 0: the next read does not block */
	unsigned failures;	/* errors in a row */
	long long next_ms;	/* no request before this (util_now_ms) */
};

#define CONSUL_WATCH_INIT { 0, 0, 0 }

enum consul_watch_rc {
	CONSUL_WATCH_NEW,	/* a newer index: out holds the content */
	CONSUL_WATCH_SAME,	/* timed out, or the index went back (reset) */
	CONSUL_WATCH_ERROR,	/* out->error says why; backing off */
	CONSUL_WATCH_DENIED,	/* 401/403; backing off too */
	CONSUL_WATCH_STALE,	/* a follower's answer (out->stale): no proof
				   of anything; the index is kept, backing off */
};

/*
 * One step of a watch on prefix: waits until w->next_ms (at least 100 ms
 * after the previous request, longer after errors: consul_backoff_ms),
 * then reads, blocking up to wait_ms. Applies the index rules: only a
 * newer index is NEW (a new index is no proof of a new content: compare
 * the content). After an error or a reset the index restarts at 0, so
 * the next read returns the current state at once. We ask for the
 * leader's view (no ?stale): an answer that says it is not the leader's
 * may be older than what was seen already, so it is STALE, not NEW.
 */
enum consul_watch_rc consul_watch(struct consul *c, const char *prefix,
    struct consul_watch *w, long long wait_ms, struct consul_read *out);

/* The URL shown in messages for prefix (no index, no secrets). */
const char *consul_kv_url(const struct consul *c, const char *prefix,
    char *out, size_t n);

#endif
