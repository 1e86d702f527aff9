/* See COPYING for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "envwatch.h"
#include "util.h"

static double
unit_random(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

void
envwatch_init(struct envwatch *w, struct consul *c, const char *prefix,
    int kvflags)
{
	struct consul_watch cw = CONSUL_WATCH_INIT;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	memset(w, 0, sizeof(*w));
	w->consul = c;
	w->prefix = prefix;
	w->kvflags = kvflags;
	w->wait_ms = 300000;
	w->cw = cw;
	debounce_init(&w->db, 2000, 30000);
	/* N instances started at once, all with pid 1, must splay apart. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) < 0)
		log_debug("getrandom:");
	srandom(seed);
}

void
envwatch_free(struct envwatch *w)
{
	kv_env_free(&w->env);
}

int
envwatch_absorb(struct envwatch *w, const struct consul_read *rd)
{
	struct kv_env env = KV_ENV_INIT;
	uint64_t raw = kv_list_hash(&rd->entries), hash;
	struct buf b = BUF_INIT;

	if (raw == w->raw)
		return 0;	/* the same entries: no need to map them again */
	w->raw = raw;
	kv_env_map(&rd->entries, w->prefix, w->kvflags, &env);
	hash = kv_env_hash(&env);
	if (hash == w->hash) {
		kv_env_free(&env);
		return 0;
	}
	kv_env_diff(&w->env, &env, &b);
	log_info("%s/: configuration changed (%s), hash %016llx", w->prefix,
	    b.data, (unsigned long long)hash);
	if (rd->missing)
		log_warn("%s/: no keys left under the prefix", w->prefix);
	buf_free(&b);
	kv_env_free(&w->env);
	w->env = env;
	w->hash = hash;
	return 1;
}

int
envwatch_first(struct envwatch *w, long long timeout_ms)
{
	long long deadline = util_now_ms() + timeout_ms;
	struct consul_read rd = CONSUL_READ_INIT;
	unsigned tries = 0;
	char last[768] = "";
	struct buf b = BUF_INIT;

	for (;;) {
		enum consul_watch_rc rc = consul_watch(w->consul, w->prefix,
		    &w->cw, 0, &rd);

		tries++;
		if (rc == CONSUL_WATCH_NEW)
			break;
		if (rc == CONSUL_WATCH_STALE) {
			log_warn("%s: the answer is not the leader's "
			    "(X-Consul-Knownleader, X-Consul-Lastcontact): "
			    "starting with it", consul_kv_url(w->consul, w->prefix,
			    last, sizeof(last)));
			break;
		}
		if (rc == CONSUL_WATCH_DENIED) {
			log_err("%s: retrying cannot fix a token", rd.error);
			consul_read_free(&rd);
			return -1;
		}
		if (util_now_ms() >= deadline) {
			log_err("%s; gave up after %u attempts (--consul-timeout "
			    "%lldms): the command was not started", rd.error, tries,
			    timeout_ms);
			consul_read_free(&rd);
			return -1;
		}
		if (strcmp(last, rd.error) != 0)
			log_warn("%s; retrying", rd.error);
		snprintf(last, sizeof(last), "%s", rd.error);
		if (w->cw.next_ms > deadline)
			w->cw.next_ms = deadline;	/* one last try at the deadline */
	}
	if (rd.missing)
		log_warn("%s/: no keys under the prefix (404): starting without "
		    "configuration from Consul; keys added later are a change",
		    w->prefix);
	w->raw = kv_list_hash(&rd.entries);
	kv_env_map(&rd.entries, w->prefix, w->kvflags, &w->env);
	w->hash = w->running = kv_env_hash(&w->env);
	kv_env_describe(&w->env, &b);
	log_info("%s/: %s from Consul, hash %016llx", w->prefix, b.data,
	    (unsigned long long)w->hash);
	buf_free(&b);
	consul_read_free(&rd);
	return 0;
}

/* What one step of the watch returned: say so, and arm the debounce. */
static void
observe(struct envwatch *w, enum consul_watch_rc rc,
    const struct consul_read *rd)
{
	if (rc == CONSUL_WATCH_ERROR || rc == CONSUL_WATCH_DENIED) {
		if (strcmp(w->error, rd->error) == 0) {
			log_debug("%s", rd->error);
		} else {
			snprintf(w->error, sizeof(w->error), "%s", rd->error);
			if (rc == CONSUL_WATCH_DENIED)
				log_err("%s; retrying with backoff", rd->error);
			else
				log_warn("%s; retrying with backoff, the command "
				    "keeps running", rd->error);
		}
		return;
	}
	if (w->error[0] != '\0') {
		log_info("%s/: Consul answers again: watching", w->prefix);
		w->error[0] = '\0';
	}
	if (rc == CONSUL_WATCH_STALE) {
		log_debug("%s/: index %llu is a stale answer (not the leader's): "
		    "ignored", w->prefix, (unsigned long long)rd->index);
		return;
	}
	if (rc == CONSUL_WATCH_SAME) {
		if (w->cw.index == 0)
			log_debug("%s/: the index went back to %llu: reading "
			    "afresh", w->prefix, (unsigned long long)rd->index);
		return;
	}
	if (!envwatch_absorb(w, rd)) {
		log_debug("%s/: index %llu: the environment is unchanged",
		    w->prefix, (unsigned long long)rd->index);
		return;
	}
	if (w->hash == w->running) {
		if (w->db.armed)
			log_info("%s/: back to the configuration the command "
			    "runs with: nothing to do", w->prefix);
		debounce_cancel(&w->db);
		return;
	}
	debounce_touch(&w->db, util_now_ms());
}

int
envwatch_next(struct envwatch *w, long long until_ms)
{
	struct consul_read rd = CONSUL_READ_INIT;
	int changed;

	for (;;) {
		long long now = util_now_ms(), due = until_ms, wait = w->wait_ms;
		enum consul_watch_rc rc;

		if (debounce_fire(&w->db, now) && w->hash != w->running) {
			changed = 1;
			break;
		}
		if (until_ms > 0 && now >= until_ms) {
			changed = 0;
			break;
		}
		if (w->db.armed && (due == 0 || w->db.due < due))
			due = w->db.due;
		if (due > 0 && w->cw.next_ms >= due) {
			util_sleep_ms(due - now);	/* backing off past it */
			continue;
		}
		if (due > 0 && due - now < wait)
			wait = due - now;
		rc = consul_watch(w->consul, w->prefix, &w->cw, wait, &rd);
		observe(w, rc, &rd);
	}
	consul_read_free(&rd);
	return changed;
}

long long
envwatch_retry_ms(long long retry_ms, double u)
{
	long long r = retry_ms < 30000 ? retry_ms : 30000, half = r / 2;

	return half + (long long)(u * (double)(r - half));
}

long long
envwatch_restart(struct envwatch *w, struct marathon *m, const char *app_id,
    long long splay_ms, long long retry_ms)
{
	struct consul_read rd = CONSUL_READ_INIT;
	struct http_resp r = HTTP_RESP_INIT;
	char url[512], why[768], dep[256];
	long long next;
	int rc;

	if (splay_ms > 0) {
		long long splay = (long long)(unit_random() * (double)splay_ms);

		log_info("%s/: asking Marathon to restart %s in %lldms (splay)",
		    w->prefix, app_id, splay);
		util_sleep_ms(splay);
	}
	/* The change may have been undone, or overtaken, meanwhile. */
	if (consul_kv_read(w->consul, w->prefix, 0, 0, &rd) != CONSUL_OK) {
		next = envwatch_retry_ms(retry_ms, unit_random());
		log_warn("%s: cannot check the configuration again; trying in "
		    "%lldms", rd.error, next);
		consul_read_free(&rd);
		return util_now_ms() + next;
	}
	envwatch_absorb(w, &rd);
	w->cw.index = consul_index_next(w->cw.index, rd.index);
	consul_read_free(&rd);
	if (w->hash == w->running) {
		log_info("%s/: the configuration is back to the one the command "
		    "runs with: no restart", w->prefix);
		return 0;
	}
	next = envwatch_retry_ms(retry_ms, unit_random());
	rc = marathon_restart(m, app_id, &r, dep, sizeof(dep));
	marathon_url(m, url, sizeof(url));	/* the one that answered */
	if (rc < 0) {
		log_warn("POST %s/v2/apps%s/restart: %s; asking again in %lldms",
		    url, app_id, r.error, next);
	} else if (r.status == 200 || r.status == 201) {
		log_info("asked Marathon at %s for a rolling restart of %s: "
		    "deployment %s", url, app_id, *dep ? dep : "(no id)");
		next = retry_ms;
	} else if (r.status == 409) {
		log_info("POST %s/v2/apps%s/restart: %s: a deployment is "
		    "running; asking again in %lldms while this instance is "
		    "stale", url, app_id, marathon_reply(m, &r, why, sizeof(why)),
		    next);
	} else {
		log_err("POST %s/v2/apps%s/restart: %s; asking again in %lldms",
		    url, app_id, marathon_reply(m, &r, why, sizeof(why)), next);
	}
	http_resp_free(&r);
	return util_now_ms() + next;
}
