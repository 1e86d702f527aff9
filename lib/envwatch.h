/* See COPYING for copyright and license details. */
/*
 * envwatch: a Consul KV prefix followed as a command's environment
 * (DESIGN.md §5, service-wrapper's watch and "on change"). struct
 * envwatch is the caller's (envwatch_init, envwatch_free); it borrows
 * the Consul client and the prefix, and owns the newest environment. It
 * does the first read with its deadline, the blocking watch with the
 * debounce, and the requests for a rolling restart while the command
 * runs with a stale environment. Messages name variables, keys and
 * hashes, never a value.
 */
#ifndef GALLEY_ENVWATCH_H
#define GALLEY_ENVWATCH_H

#include <stdint.h>

#include "consul.h"
#include "debounce.h"
#include "kv.h"
#include "marathon.h"

struct envwatch {
	struct consul *consul;
	const char *prefix;	/* without '/' at either end */
	int kvflags;		/* for kv_env_map: KV_UPCASE */
	long long wait_ms;	/* each blocking query: 5 m */
	struct debounce db;	/* 2 s, 30 s */
	struct consul_watch cw;
	uint64_t raw;		/* kv_list_hash of the entries last read */
	struct kv_env env;	/* the newest environment */
	uint64_t hash;		/* kv_env_hash(&env) */
	uint64_t running;	/* the hash of the command's environment */
	char error[768];	/* the watch's error, once reported */
};

void envwatch_init(struct envwatch *w, struct consul *c, const char *prefix,
    int kvflags);
void envwatch_free(struct envwatch *w);

/*
 * The first read: retried with Consul's backoff until timeout_ms has
 * passed. Returns 0 with w->env the environment to start with (and
 * w->running its hash), or -1 after saying why: the deadline passed, or
 * Consul said 401/403 (retrying cannot fix a token).
 */
int envwatch_first(struct envwatch *w, long long timeout_ms);

/*
 * Take in what a read returned. Returns 1 when the environment it maps
 * to is not the newest one known (and says how, by name), else 0.
 */
int envwatch_absorb(struct envwatch *w, const struct consul_read *rd);

/*
 * Watch until a change has settled (the debounce fired) and the newest
 * environment still differs from the command's: returns 1. Returns 0
 * once until_ms (util_now_ms; 0: never) has passed. Errors are reported
 * once each and retried with backoff for ever; a new index, an index
 * that went back or a follower's answer are no change by themselves.
 */
int envwatch_next(struct envwatch *w, long long until_ms);

/*
 * Ask Marathon to restart app_id, if the command still runs with a
 * stale environment after splay_ms (random, up to that) and a fresh
 * read. POST /v2/apps/<app_id>/restart, never forced. Returns when to
 * ask again: retry_ms after an accepted request, envwatch_retry_ms after
 * a 409 (a deployment runs) or an error; 0 when there is nothing to ask.
 */
long long envwatch_restart(struct envwatch *w, struct marathon *m,
    const char *app_id, long long splay_ms, long long retry_ms);

/*
 * The delay before asking again after a 409 or an error: 15-30 s, or
 * half to all of retry_ms when that is shorter (u in [0, 1)).
 */
long long envwatch_retry_ms(long long retry_ms, double u);

#endif
