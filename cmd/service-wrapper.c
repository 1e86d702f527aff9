/* See COPYING for copyright and license details. */
/*
 * service-wrapper: run a service with its environment from Consul KV,
 * supervise it as a safe PID 1, and turn a change in Consul into one
 * rolling restart through Marathon (DESIGN.md §5).
 *
 * Two processes, each plain blocking code:
 *
 *  - the wrapper (often PID 1) never touches the network. It blocks every
 *    catchable signal and reads them from a signalfd in one poll() loop
 *    with the watcher's pipe: it forwards signals, reaps every child, runs
 *    the --grace timer, starts the command and exits with its status.
 *  - the watcher, forked before the command, does all the HTTP: the first
 *    read, the blocking watch, debounce, splay and the Marathon restart,
 *    and tells the wrapper over a pipe ("start with this environment",
 *    "restart with this one", "failed").
 *
 * So a blocking query or a hung Marathon can never delay a signal; no
 * thread shares the wrapper's memory when it forks the command; and the
 * command never inherits libcurl's descriptors (libcurl 7.88 keeps a
 * socket pair without close-on-exec in every handle that has performed a
 * request: the wrapper sets its handles up but never performs one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "consul.h"
#include "kv.h"
#include "log.h"
#include "marathon.h"
#include "proc.h"
#include "util.h"

extern char **environ;

static const char usage_line[] =
    "service-wrapper [-gqv] [-a app-id] [-c mode] [-d quiet[,cap]] "
    "[--consul-timeout duration] [--grace duration] [--once] "
    "[--restart-retry duration] [--rewrite sig:sig]... [--splay duration] "
    "[--upcase] [--wait duration] marathon consul prefix command [arg ...]";

static const char help_text[] =
    "usage: service-wrapper [-gqv] [-a app-id] [-c mode] [-d quiet[,cap]]\n"
    "                       [--consul-timeout duration] [--grace duration] [--once]\n"
    "                       [--restart-retry duration] [--rewrite sig:sig]...\n"
    "                       [--splay duration] [--upcase] [--wait duration]\n"
    "                       marathon consul prefix command [arg ...]\n"
    "\n"
    "Read Consul KV under PREFIX/ into the environment, run COMMAND with it,\n"
    "forward signals, reap orphans, exit with its status. When the configuration\n"
    "changes, ask Marathon for one rolling restart of the app (or see -c).\n"
    "MARATHON and CONSUL are host:port or URLs; - takes MARATHON_URL and\n"
    "CONSUL_HTTP_ADDR.\n"
    "\n"
    "  -a, --app-id=ID           Marathon app to restart (else MARATHON_APP_ID,\n"
    "                            else /PREFIX)\n"
    "  -c, --on-change=MODE      marathon (default), restart, exit or none\n"
    "      --consul-timeout=DUR  give up at start after DUR (default 60s)\n"
    "  -d, --debounce=Q[,CAP]    act after Q quiet, at most CAP after the first\n"
    "                            change (default 2s,30s)\n"
    "  -g, --group               signal the command's process group\n"
    "      --grace=DUR           SIGKILL the command DUR after a forwarded\n"
    "                            INT, QUIT or TERM (default: never)\n"
    "  -h, --help                this help\n"
    "      --once                read the configuration once, never watch\n"
    "  -q, --quiet               errors only\n"
    "      --restart-retry=DUR   ask Marathon again after DUR if still stale\n"
    "                            (default 5m)\n"
    "      --rewrite=SIG:SIG     forward the first as the second (repeatable;\n"
    "                            :0 drops it)\n"
    "      --splay=DUR           random delay before asking Marathon (default 10s)\n"
    "      --upcase              upper-case variable names\n"
    "  -v, --verbose             more detail\n"
    "      --version             print the version\n"
    "      --wait=DUR            blocking query wait (default 5m)\n"
    "\n"
    "Each option has an environment twin SERVICE_WRAPPER_NAME (-a: MARATHON_APP_ID).\n"
    "Exit status: the command's, 128+N when it died of signal N; 125 usage or\n"
    "the wrapper's own failure (Consul unreachable at start); 126 COMMAND could\n"
    "not run, 127 not found.\n";

enum mode { ON_MARATHON, ON_RESTART, ON_EXIT, ON_NONE };

struct opts {
	const char *app_flag;
	enum mode mode;
	long long quiet_ms, cap_ms, splay_ms, wait_ms, grace_ms;
	long long consul_timeout_ms, restart_retry_ms;
	int group, once, kvflags;
	int rewrite[NSIG];	/* signal to send for each received one */
	const char *prefix;	/* without leading or trailing '/' */
	char app_id[512];
	char **argv;		/* the command, untouched */
};

/* Messages from the watcher to the wrapper. */
enum { MSG_READY = 'R', MSG_CHANGE = 'C', MSG_FAILED = 'F' };

/* What the watcher knows of one configuration. */
struct view {
	uint64_t raw;		/* kv_list_hash of the entries */
	struct kv_env env;
	uint64_t hash;		/* kv_env_hash(&env) */
};

/* --- options --- */

static const char *
twin(const char *var)
{
	const char *v = getenv(var);

	return v != NULL && *v != '\0' ? v : NULL;
}

static long long
duration(const char *what, const char *s, int zero_ok)
{
	long long ms;

	if (util_duration(s, &ms) < 0 || (!zero_ok && ms == 0))
		log_die(125, "%s %s: expected a duration such as 500ms, 5s, "
		    "2m%s", what, s, zero_ok ? " or 0" : "");
	return ms;
}

static int
boolean(const char *what, const char *s)
{
	if (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "yes") == 0)
		return 1;
	if (strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "no") == 0)
		return 0;
	log_die(125, "%s=%s: expected 1 or 0", what, s);
}

static void
set_mode(struct opts *o, const char *what, const char *s)
{
	if (strcmp(s, "marathon") == 0)
		o->mode = ON_MARATHON;
	else if (strcmp(s, "restart") == 0)
		o->mode = ON_RESTART;
	else if (strcmp(s, "exit") == 0)
		o->mode = ON_EXIT;
	else if (strcmp(s, "none") == 0)
		o->mode = ON_NONE;
	else
		log_die(125, "%s %s: expected marathon, restart, exit or none",
		    what, s);
}

static void
set_debounce(struct opts *o, const char *what, const char *s)
{
	char *q = estrdup(s), *comma = strchr(q, ',');

	if (comma != NULL)
		*comma = '\0';
	o->quiet_ms = duration(what, q, 1);
	o->cap_ms = comma != NULL ? duration(what, comma + 1, 1) :
	    (o->quiet_ms > 30000 ? o->quiet_ms : 30000);
	if (o->cap_ms < o->quiet_ms)
		log_die(125, "%s %s: the cap is shorter than the quiet time",
		    what, s);
	free(q);
}

/* "TERM:QUIT[,INT:TERM...]": forward the first as the second. */
static void
set_rewrite(struct opts *o, const char *what, const char *s)
{
	char *list = estrdup(s), *item, *save = NULL;

	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		int from, to;

		if (colon == NULL)
			log_die(125, "%s %s: expected FROM:TO, as TERM:QUIT", what, s);
		*colon = '\0';
		from = proc_signal_parse(item);
		to = proc_signal_parse(colon + 1);
		if (from <= 0 || to < 0 || from == SIGKILL || from == SIGSTOP ||
		    from == SIGCHLD)
			log_die(125, "%s %s: %s:%s is not a pair of signals that "
			    "can be forwarded", what, s, item, colon + 1);
		o->rewrite[from] = to;
	}
	free(list);
}

/* Environment twins first, so that the flags parsed next override them. */
static void
read_twins(struct opts *o)
{
	const char *v;

	if ((v = twin("SERVICE_WRAPPER_ON_CHANGE")) != NULL)
		set_mode(o, "SERVICE_WRAPPER_ON_CHANGE", v);
	if ((v = twin("SERVICE_WRAPPER_CONSUL_TIMEOUT")) != NULL)
		o->consul_timeout_ms = duration("SERVICE_WRAPPER_CONSUL_TIMEOUT", v, 1);
	if ((v = twin("SERVICE_WRAPPER_DEBOUNCE")) != NULL)
		set_debounce(o, "SERVICE_WRAPPER_DEBOUNCE", v);
	if ((v = twin("SERVICE_WRAPPER_GROUP")) != NULL)
		o->group = boolean("SERVICE_WRAPPER_GROUP", v);
	if ((v = twin("SERVICE_WRAPPER_GRACE")) != NULL)
		o->grace_ms = duration("SERVICE_WRAPPER_GRACE", v, 1);
	if ((v = twin("SERVICE_WRAPPER_ONCE")) != NULL)
		o->once = boolean("SERVICE_WRAPPER_ONCE", v);
	if ((v = twin("SERVICE_WRAPPER_RESTART_RETRY")) != NULL)
		o->restart_retry_ms = duration("SERVICE_WRAPPER_RESTART_RETRY", v, 0);
	if ((v = twin("SERVICE_WRAPPER_REWRITE")) != NULL)
		set_rewrite(o, "SERVICE_WRAPPER_REWRITE", v);
	if ((v = twin("SERVICE_WRAPPER_SPLAY")) != NULL)
		o->splay_ms = duration("SERVICE_WRAPPER_SPLAY", v, 1);
	if ((v = twin("SERVICE_WRAPPER_UPCASE")) != NULL)
		o->kvflags = boolean("SERVICE_WRAPPER_UPCASE", v) ? KV_UPCASE : 0;
	if ((v = twin("SERVICE_WRAPPER_WAIT")) != NULL)
		o->wait_ms = duration("SERVICE_WRAPPER_WAIT", v, 0);
	if ((v = twin("SERVICE_WRAPPER_QUIET")) != NULL &&
	    boolean("SERVICE_WRAPPER_QUIET", v))
		log_level = LOG_QUIET;
	if ((v = twin("SERVICE_WRAPPER_VERBOSE")) != NULL &&
	    boolean("SERVICE_WRAPPER_VERBOSE", v))
		log_level = LOG_VERBOSE;
}

/* The prefix without leading or trailing slashes; never empty. */
static const char *
clean_prefix(char *p)
{
	size_t n;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		p[--n] = '\0';
	if (*p == '\0')
		log_die(125, "the Consul prefix is empty: name the service's "
		    "folder, as app/staging/web");
	return p;
}

static void
resolve_app_id(struct opts *o)
{
	const char *id = o->app_flag, *from = "--app-id";
	char err[512];
	struct buf b = BUF_INIT;

	if (id == NULL && (id = twin("MARATHON_APP_ID")) != NULL)
		from = "MARATHON_APP_ID";
	if (id == NULL) {
		buf_printf(&b, "/%s", o->prefix);
		id = b.data;
		from = "the prefix";
	}
	if (marathon_app_id(id, o->app_id, sizeof(o->app_id), err,
	    sizeof(err)) < 0)
		log_die(125, "%s (from %s): give the Marathon app with --app-id",
		    err, from);
	buf_free(&b);
}

/* --- the environment --- */

static int
cmp_name(const struct kv_env *kv, const char *entry)
{
	size_t i, n = strcspn(entry, "=");

	for (i = 0; i < kv->n; i++)
		if (strlen(kv->v[i].name) == n &&
		    strncmp(kv->v[i].name, entry, n) == 0)
			return 1;
	return 0;
}

/* The inherited environment with the KV variables set over it. */
static char **
make_envp(const struct kv_env *kv)
{
	size_t n = 0, i, k = 0;
	char **envp;

	while (environ[n] != NULL)
		n++;
	envp = ecalloc(n + kv->n + 1, sizeof(*envp));
	for (i = 0; i < n; i++)
		if (!cmp_name(kv, environ[i]))
			envp[k++] = estrdup(environ[i]);
	for (i = 0; i < kv->n; i++) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s=", kv->v[i].name);
		buf_adds(&b, kv->v[i].value);
		envp[k++] = buf_detach(&b);
	}
	envp[k] = NULL;
	return envp;
}

static void
free_envp(char **envp)
{
	size_t i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

/* "3 variables (A, B, C)": names only, never values. */
static void
describe(const struct kv_env *env, struct buf *b)
{
	size_t i;

	buf_printf(b, "%zu variable%s", env->n, env->n == 1 ? "" : "s");
	for (i = 0; i < env->n && i < 20; i++)
		buf_printf(b, "%s%s", i ? ", " : " (", env->v[i].name);
	if (env->n > 20)
		buf_adds(b, ", ...");
	if (env->n > 0)
		buf_adds(b, ")");
}

/* "added A; changed B, C; removed D": names only. */
static void
describe_change(const struct kv_env *old, const struct kv_env *new,
    struct buf *b)
{
	static const char *const label[] = { "added", "changed", "removed" };
	struct buf part[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	size_t i = 0, j = 0, k;
	int first = 1;

	while (i < old->n || j < new->n) {
		int c = i == old->n ? 1 : j == new->n ? -1 :
		    strcmp(old->v[i].name, new->v[j].name);

		if (c < 0) {
			buf_printf(&part[2], "%s%s", part[2].len ? ", " : "",
			    old->v[i++].name);
		} else if (c > 0) {
			buf_printf(&part[0], "%s%s", part[0].len ? ", " : "",
			    new->v[j++].name);
		} else {
			if (strcmp(old->v[i].value, new->v[j].value) != 0)
				buf_printf(&part[1], "%s%s", part[1].len ? ", " : "",
				    new->v[j].name);
			i++, j++;
		}
	}
	for (k = 0; k < 3; k++) {
		if (part[k].len > 0) {
			buf_printf(b, "%s%s %s", first ? "" : "; ", label[k],
			    part[k].data);
			first = 0;
		}
		buf_free(&part[k]);
	}
	if (first)
		buf_adds(b, "no variable");
}

/* --- messages between the watcher and the wrapper --- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
add_u32(struct buf *b, size_t v)
{
	uint32_t u = (uint32_t)v;

	buf_add(b, &u, sizeof(u));
}

/* type, count, then each name and value with its length. */
static int
send_msg(int fd, char type, const struct kv_env *env)
{
	struct buf b = BUF_INIT;
	size_t i, n = env != NULL ? env->n : 0;
	int r;

	buf_addc(&b, type);
	add_u32(&b, n);
	for (i = 0; i < n; i++) {
		add_u32(&b, strlen(env->v[i].name));
		add_u32(&b, strlen(env->v[i].value));
		buf_adds(&b, env->v[i].name);
		buf_adds(&b, env->v[i].value);
	}
	r = write_all(fd, b.data, b.len);
	buf_free(&b);
	return r;
}

static char *
read_str(int fd, uint32_t n)
{
	char *s;

	if (n > UTIL_MAX_BODY)
		return NULL;
	s = emalloc((size_t)n + 1);
	if (read_all(fd, s, n) < 0) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

static int
recv_msg(int fd, char *type, struct kv_env *env)
{
	uint32_t n, i, len[2];

	if (read_all(fd, type, 1) < 0 || read_all(fd, &n, sizeof(n)) < 0 ||
	    n > 1u << 20)
		return -1;
	kv_env_free(env);
	env->v = ecalloc(n, sizeof(*env->v));
	for (i = 0; i < n; i++) {
		if (read_all(fd, len, sizeof(len)) < 0)
			return -1;
		env->v[i].name = read_str(fd, len[0]);
		env->v[i].value = read_str(fd, len[1]);
		env->v[i].key = estrdup("");
		env->n = i + 1;
		if (env->v[i].name == NULL || env->v[i].value == NULL)
			return -1;
	}
	return 0;
}

/* --- the watcher --- */

static double
unit_random(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* Asking Marathon again after a 409: 15-30 s, within --restart-retry. */
static long long
conflict_delay(const struct opts *o)
{
	long long r = o->restart_retry_ms < 30000 ? o->restart_retry_ms : 30000;

	return r / 2 + (long long)(unit_random() * (double)(r - r / 2));
}

/*
 * Take in what a read returned. Returns 1 when the environment it maps
 * to differs from the one seen before (and says how), else 0.
 */
static int
absorb(struct view *v, const struct consul_read *rd, const struct opts *o,
    int quiet)
{
	struct kv_env env = KV_ENV_INIT;
	uint64_t raw = kv_list_hash(&rd->entries), hash;
	struct buf b = BUF_INIT;

	if (raw == v->raw)
		return 0;
	v->raw = raw;
	kv_env_map(&rd->entries, o->prefix, o->kvflags, &env);
	hash = kv_env_hash(&env);
	if (hash == v->hash) {
		kv_env_free(&env);
		return 0;
	}
	if (!quiet) {
		describe_change(&v->env, &env, &b);
		log_info("%s/: configuration changed (%s), hash %016llx",
		    o->prefix, b.data, (unsigned long long)hash);
		if (rd->missing)
			log_warn("%s/: no keys left under the prefix", o->prefix);
		buf_free(&b);
	}
	kv_env_free(&v->env);
	v->env = env;
	v->hash = hash;
	return 1;
}

/* Report an error of the watch once, and again only when it changes. */
static void
report(char *last, size_t n, const char *error, int denied)
{
	if (strcmp(last, error) == 0) {
		log_debug("%s", error);
		return;
	}
	snprintf(last, n, "%s", error);
	if (denied)
		log_err("%s; retrying with backoff", error);
	else
		log_warn("%s; retrying with backoff, the command keeps running",
		    error);
}

/* The first read: retry until --consul-timeout, then give up. */
static int
first_read(struct consul *c, const struct opts *o, struct consul_watch *w,
    struct view *v)
{
	long long deadline = util_now_ms() + o->consul_timeout_ms;
	struct consul_read rd = CONSUL_READ_INIT;
	unsigned tries = 0;
	char last[768] = "";
	struct buf b = BUF_INIT;

	for (;;) {
		enum consul_watch_rc rc = consul_watch(c, o->prefix, w, 0, &rd);

		tries++;
		if (rc == CONSUL_WATCH_NEW)
			break;
		if (rc == CONSUL_WATCH_STALE) {
			log_warn("%s: the answer is not the leader's "
			    "(X-Consul-Knownleader/Lastcontact): starting with it",
			    consul_kv_url(c, o->prefix, last, sizeof(last)));
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
			    o->consul_timeout_ms);
			consul_read_free(&rd);
			return -1;
		}
		if (strcmp(last, rd.error) != 0)
			log_warn("%s; retrying", rd.error);
		snprintf(last, sizeof(last), "%s", rd.error);
		if (w->next_ms > deadline)
			w->next_ms = deadline;	/* one last try at the deadline */
	}
	if (rd.missing)
		log_warn("%s/: no keys under the prefix (404): starting without "
		    "configuration from Consul; keys added later are a change",
		    o->prefix);
	v->raw = kv_list_hash(&rd.entries);
	kv_env_map(&rd.entries, o->prefix, o->kvflags, &v->env);
	v->hash = kv_env_hash(&v->env);
	describe(&v->env, &b);
	log_info("%s/: %s from Consul, hash %016llx", o->prefix, b.data,
	    (unsigned long long)v->hash);
	buf_free(&b);
	consul_read_free(&rd);
	return 0;
}

/*
 * Ask Marathon for a rolling restart if this instance still runs with a
 * stale environment, after a fresh read. Returns when to look again: the
 * time of the next attempt, or 0 when there is nothing left to do.
 */
static long long
ask_marathon(struct consul *c, struct marathon *m, const struct opts *o,
    struct consul_watch *w, struct view *v, uint64_t running)
{
	struct consul_read rd = CONSUL_READ_INIT;
	struct http_resp r = HTTP_RESP_INIT;
	char url[512], why[768], dep[256];
	long long next;

	if (consul_kv_read(c, o->prefix, 0, 0, &rd) != CONSUL_OK) {
		next = conflict_delay(o);
		log_warn("%s: cannot check the configuration again; trying in "
		    "%lldms", rd.error, next);
		consul_read_free(&rd);
		return util_now_ms() + next;
	}
	absorb(v, &rd, o, 0);
	w->index = consul_index_next(w->index, rd.index);
	consul_read_free(&rd);
	if (v->hash == running) {
		log_info("%s/: the configuration is back to the one the command "
		    "runs with: no restart", o->prefix);
		return 0;
	}
	if (marathon_restart(m, o->app_id, &r, dep, sizeof(dep)) < 0) {
		next = conflict_delay(o);
		log_warn("POST %s/v2/apps%s/restart: %s; asking again in %lldms",
		    marathon_url(m, url, sizeof(url)), o->app_id, r.error, next);
		next += util_now_ms();
	} else if (r.status == 200 || r.status == 201) {
		log_info("asked Marathon at %s for a rolling restart of %s: "
		    "deployment %s", marathon_url(m, url, sizeof(url)), o->app_id,
		    *dep ? dep : "(no id)");
		next = util_now_ms() + o->restart_retry_ms;
	} else {
		next = conflict_delay(o);
		marathon_error(&r, why, sizeof(why));
		if (r.status == 409)
			log_info("POST %s/v2/apps%s/restart: %s: a deployment is "
			    "running; asking again in %lldms while this instance is "
			    "stale", marathon_url(m, url, sizeof(url)), o->app_id,
			    why, next);
		else
			log_err("POST %s/v2/apps%s/restart: %s; asking again in "
			    "%lldms", marathon_url(m, url, sizeof(url)), o->app_id,
			    why, next);
		next += util_now_ms();
	}
	http_resp_free(&r);
	return next;
}

/* After the debounce: do what --on-change says. Returns a retry time. */
static long long
act(struct consul *c, struct marathon *m, const struct opts *o,
    struct consul_watch *w, struct view *v, uint64_t *running, int fd)
{
	long long splay;

	switch (o->mode) {
	case ON_NONE:
		log_info("%s/: the command runs with an older configuration "
		    "(--on-change none: nothing done)", o->prefix);
		return 0;
	case ON_RESTART:
	case ON_EXIT:
		if (send_msg(fd, MSG_CHANGE, &v->env) < 0)
			_exit(0);	/* the wrapper is gone */
		*running = v->hash;
		return 0;
	case ON_MARATHON:
		break;
	}
	splay = (long long)(unit_random() * (double)o->splay_ms);
	log_info("%s/: asking Marathon to restart %s in %lldms (splay)",
	    o->prefix, o->app_id, splay);
	util_sleep_ms(splay);
	return ask_marathon(c, m, o, w, v, *running);
}

static _Noreturn void
watcher(struct consul *c, struct marathon *m, const struct opts *o, int fd)
{
	struct consul_watch w = CONSUL_WATCH_INIT;
	struct consul_read rd = CONSUL_READ_INIT;
	struct view v = { 0, KV_ENV_INIT, 0 };
	long long quiet_at = 0, cap_at = 0, retry_at = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	char last[768] = "";
	uint64_t running;

	if (getrandom(&seed, sizeof(seed), 0) < 0)
		log_debug("getrandom:");
	srandom(seed);
	if (first_read(c, o, &w, &v) < 0) {
		send_msg(fd, MSG_FAILED, NULL);
		_exit(125);
	}
	if (send_msg(fd, MSG_READY, &v.env) < 0 || o->once)
		_exit(0);
	running = v.hash;

	for (;;) {
		long long now = util_now_ms(), due = retry_at, wait = o->wait_ms;
		enum consul_watch_rc rc;

		if (quiet_at > 0 && (due == 0 || quiet_at < due))
			due = quiet_at;
		if (due > 0 && now >= due) {
			if (due == quiet_at) {
				quiet_at = cap_at = 0;
				retry_at = act(c, m, o, &w, &v, &running, fd);
				if (o->mode == ON_EXIT)
					_exit(0);
			} else {
				retry_at = v.hash == running ? 0 :
				    ask_marathon(c, m, o, &w, &v, running);
			}
			continue;
		}
		if (due > 0 && w.next_ms >= due) {
			util_sleep_ms(due - now);	/* backing off past it */
			continue;
		}
		if (due > 0 && due - now < wait)
			wait = due - now;
		rc = consul_watch(c, o->prefix, &w, wait, &rd);
		if (rc == CONSUL_WATCH_ERROR || rc == CONSUL_WATCH_DENIED) {
			report(last, sizeof(last), rd.error, rc == CONSUL_WATCH_DENIED);
			continue;
		}
		if (last[0] != '\0') {
			log_info("%s/: Consul answers again: watching", o->prefix);
			last[0] = '\0';
		}
		if (rc == CONSUL_WATCH_STALE)
			log_debug("%s/: index %llu is a stale answer (not the "
			    "leader's): ignored", o->prefix,
			    (unsigned long long)rd.index);
		if (rc == CONSUL_WATCH_SAME && w.index == 0)
			log_debug("%s/: the index went back to %llu: reading afresh",
			    o->prefix, (unsigned long long)rd.index);
		if (rc != CONSUL_WATCH_NEW)
			continue;
		if (!absorb(&v, &rd, o, 0)) {
			log_debug("%s/: index %llu: the environment is unchanged",
			    o->prefix, (unsigned long long)rd.index);
			continue;
		}
		now = util_now_ms();
		if (v.hash == running) {
			if (quiet_at > 0)
				log_info("%s/: back to the configuration the command "
				    "runs with: nothing to do", o->prefix);
			quiet_at = cap_at = 0;
			continue;
		}
		if (cap_at == 0)
			cap_at = now + o->cap_ms;
		quiet_at = now + o->quiet_ms < cap_at ? now + o->quiet_ms : cap_at;
	}
}

/* --- the wrapper --- */

struct sup {
	const struct opts *o;
	pid_t child, watcher;
	int status;		/* the command's wait status, once it ended */
	int ended;
	int stopping;		/* a terminating signal went out: no restart */
	int restart;		/* restart in place once the command has ended */
	long long grace_at;	/* SIGKILL then; 0: not armed */
	struct kv_env next;	/* the environment to restart with */
};

static void
finish(struct sup *s, int status)
{
	int st;

	if (s->watcher > 0) {
		kill(s->watcher, SIGKILL);
		while (waitpid(s->watcher, &st, 0) < 0 && errno == EINTR)
			;
	}
	kv_env_free(&s->next);
	exit(status);
}

static void
spawn(struct sup *s, const struct kv_env *env)
{
	struct proc_opts po = PROC_OPTS_INIT;
	char **envp = make_envp(env);
	int e;

	po.new_pgrp = s->o->group;
	s->child = proc_spawn_env(s->o->argv, envp, &po);
	e = errno;
	free_envp(envp);
	if (s->child < 0) {
		errno = e;
		log_err("%s:", s->o->argv[0]);
		finish(s, proc_exec_status(e));
	}
	s->ended = 0;
	log_debug("started %s (pid %ld)", s->o->argv[0], (long)s->child);
}

/* Send sig (already rewritten) to the command; arm --grace for a stop. */
static void
deliver(struct sup *s, int sig)
{
	char name[32];

	if (s->child <= 0 || s->ended || sig == 0)
		return;
	if (kill(s->o->group ? -s->child : s->child, sig) < 0)
		log_debug("forward %s:", proc_signal_name(sig, name, sizeof(name)));
	if (sig == SIGINT || sig == SIGQUIT || sig == SIGTERM) {
		if (s->o->grace_ms > 0 && s->grace_at == 0)
			s->grace_at = util_now_ms() + s->o->grace_ms;
	}
}

static void
on_signal(struct sup *s, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo, to = s->o->rewrite[sig];
	char a[32], b[32];

	/* Signals the kernel raised for our own doing (SIGPIPE on stderr). */
	if ((si->ssi_code == SI_USER || si->ssi_code == SI_TKILL) &&
	    (pid_t)si->ssi_pid == getpid())
		return;
	if (s->child <= 0) {
		/* Before the command runs: a stop request ends the wait. */
		if (sig == SIGINT || sig == SIGQUIT || sig == SIGTERM ||
		    sig == SIGHUP) {
			log_info("%s before the command started: exiting",
			    proc_signal_name(sig, a, sizeof(a)));
			finish(s, 128 + sig);
		}
		return;
	}
	if (to != sig)
		log_debug("forwarding %s as %s", proc_signal_name(sig, a, sizeof(a)),
		    to ? proc_signal_name(to, b, sizeof(b)) : "nothing");
	if (to == SIGINT || to == SIGQUIT || to == SIGTERM)
		s->stopping = 1;
	deliver(s, to);
}

static void
on_children(struct sup *s)
{
	char name[32];
	pid_t pid;
	int st;

	while ((pid = proc_reap(&st)) > 0) {
		if (pid == s->child) {
			s->status = st;
			s->ended = 1;
			if (WIFSIGNALED(st))
				log_info("%s was killed by %s%s", s->o->argv[0],
				    proc_signal_name(WTERMSIG(st), name, sizeof(name)),
				    WCOREDUMP(st) ? " (core dumped)" : "");
			else
				log_debug("%s exited with status %d", s->o->argv[0],
				    proc_status(st));
		} else if (pid == s->watcher) {
			s->watcher = 0;
			if (!s->o->once && s->o->mode != ON_EXIT && s->child > 0)
				log_err("the Consul watcher ended (status %d): "
				    "configuration changes are no longer followed",
				    proc_status(st));
		}
	}
}

/* Stop the command for --on-change restart or exit: TERM, as rewritten. */
static void
stop_child(struct sup *s)
{
	int sig = s->o->rewrite[SIGTERM] ? s->o->rewrite[SIGTERM] : SIGTERM;

	deliver(s, sig);
}

static void
on_message(struct sup *s, int *fd, int *ready)
{
	struct kv_env env = KV_ENV_INIT;
	char type;

	if (recv_msg(*fd, &type, &env) < 0) {
		kv_env_free(&env);
		close(*fd);
		*fd = -1;
		if (!*ready) {
			log_err("the Consul watcher failed before the first read");
			finish(s, 125);
		}
		return;
	}
	switch (type) {
	case MSG_READY:
		*ready = 1;
		spawn(s, &env);
		break;
	case MSG_FAILED:
		kv_env_free(&env);
		finish(s, 125);
		break;
	case MSG_CHANGE:
		if (s->stopping)
			break;
		if (s->o->mode == ON_EXIT) {
			log_info("%s/: configuration changed: stopping %s "
			    "(--on-change exit)", s->o->prefix, s->o->argv[0]);
			s->stopping = 1;
		} else {
			log_info("%s/: configuration changed: restarting %s "
			    "(--on-change restart)", s->o->prefix, s->o->argv[0]);
			kv_env_free(&s->next);
			s->next = env;
			env = (struct kv_env)KV_ENV_INIT;
			s->restart = 1;
		}
		stop_child(s);
		break;
	}
	kv_env_free(&env);
}

static _Noreturn void
supervise(struct sup *s, int sfd, int fd)
{
	int ready = 0;

	for (;;) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { fd, POLLIN, 0 } };
		long long now = util_now_ms(), left = -1;
		struct signalfd_siginfo si;

		if (s->grace_at > 0)
			left = s->grace_at > now ? s->grace_at - now : 0;
		if (poll(p, fd >= 0 ? 2 : 1, left > INT32_MAX ? INT32_MAX :
		    (int)left) < 0 && errno != EINTR)
			log_die(125, "poll:");
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				on_children(s);
			else
				on_signal(s, &si);
		}
		if (fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
			on_message(s, &fd, &ready);
		if (s->grace_at > 0 && util_now_ms() >= s->grace_at) {
			log_info("%s outlived --grace %lldms: SIGKILL",
			    s->o->argv[0], s->o->grace_ms);
			s->grace_at = 0;
			if (s->child > 0 && !s->ended)
				kill(s->o->group ? -s->child : s->child, SIGKILL);
		}
		if (s->child > 0 && s->ended) {
			if (!s->restart || s->stopping)
				finish(s, proc_status(s->status));
			s->restart = 0;
			s->grace_at = 0;
			spawn(s, &s->next);
		}
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "app-id", required_argument, NULL, 'a' },
		{ "consul-timeout", required_argument, NULL, 'T' },
		{ "debounce", required_argument, NULL, 'd' },
		{ "grace", required_argument, NULL, 'G' },
		{ "group", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "on-change", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "restart-retry", required_argument, NULL, 'R' },
		{ "rewrite", required_argument, NULL, 'W' },
		{ "splay", required_argument, NULL, 'S' },
		{ "upcase", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct consul c;
	struct marathon m;
	struct marathon_settings ms = { NULL, NULL, NULL, NULL, 0, 0 };
	struct sup s;
	sigset_t sigs;
	char err[512];
	int ch, sfd, pfd[2], i;

	util_checkfds();
	log_init("service-wrapper", 125);
	memset(&o, 0, sizeof(o));
	o.mode = ON_MARATHON;
	o.quiet_ms = 2000;
	o.cap_ms = 30000;
	o.splay_ms = 10000;
	o.wait_ms = 300000;
	o.consul_timeout_ms = 60000;
	o.restart_retry_ms = 300000;
	for (i = 0; i < NSIG; i++)
		o.rewrite[i] = i;

	/* 1. Options: the environment twins, then the flags over them. */
	read_twins(&o);
	while ((ch = getopt_long(argc, argv, "+a:c:d:ghqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			o.app_flag = optarg;
			break;
		case 'c':
			set_mode(&o, "--on-change", optarg);
			break;
		case 'd':
			set_debounce(&o, "--debounce", optarg);
			break;
		case 'g':
			o.group = 1;
			break;
		case 'G':
			o.grace_ms = duration("--grace", optarg, 1);
			break;
		case 'h':
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 125 : 0;
		case 'O':
			o.once = 1;
			break;
		case 'q':
			log_level = LOG_QUIET;
			break;
		case 'R':
			o.restart_retry_ms = duration("--restart-retry", optarg, 0);
			break;
		case 'S':
			o.splay_ms = duration("--splay", optarg, 1);
			break;
		case 'T':
			o.consul_timeout_ms = duration("--consul-timeout", optarg, 1);
			break;
		case 'U':
			o.kvflags = KV_UPCASE;
			break;
		case 'v':
			log_level = LOG_VERBOSE;
			break;
		case 'V':
			puts("service-wrapper (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 125 : 0;
		case 'W':
			set_rewrite(&o, "--rewrite", optarg);
			break;
		case 'w':
			o.wait_ms = duration("--wait", optarg, 0);
			break;
		default:
			log_usage(125, usage_line);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4)
		log_usage(125, usage_line);
	o.prefix = clean_prefix(argv[2]);
	o.argv = argv + 3;

	/* 2. Clients: settings checked now, no request made here, ever. */
	if (consul_init(&c, argv[1], err, sizeof(err)) < 0)
		log_die(125, "consul: %s", err);
	memset(&m, 0, sizeof(m));
	if (o.mode == ON_MARATHON && !o.once) {
		resolve_app_id(&o);
		if (strcmp(argv[0], "-") != 0)
			ms.urls = argv[0];
		if (marathon_init(&m, &ms, err, sizeof(err)) < 0)
			log_die(125, "marathon: %s", err);
	}

	/* 3. Signals: all blocked, read from a signalfd; orphans are ours. */
	proc_forward_set(&sigs);
	sigaddset(&sigs, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0)
		log_die(125, "sigprocmask:");
	signal(SIGCHLD, SIG_DFL);	/* an inherited SIG_IGN would reap for us */
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		log_die(125, "signalfd:");
	if (proc_reaper() < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s: orphans of the command "
		    "will not be reaped here", strerror(errno));

	/* 4. The watcher, then the loop that starts and supervises the command. */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		log_die(125, "pipe:");
	memset(&s, 0, sizeof(s));
	s.o = &o;
	fflush(stderr);
	s.watcher = fork();
	if (s.watcher < 0)
		log_die(125, "fork:");
	if (s.watcher == 0) {
		pid_t parent = getppid();

		close(pfd[0]);
		close(sfd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		watcher(&c, &m, &o, pfd[1]);
	}
	close(pfd[1]);
	consul_free(&c);
	if (m.urls != NULL)
		marathon_free(&m);
	supervise(&s, sfd, pfd[0]);
}
