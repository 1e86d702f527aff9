/* See COPYING for copyright and license details. */
/*
 * service-wrapper: run a service with its environment from Consul KV,
 * supervise it as a safe PID 1, and turn a change in Consul into one
 * rolling restart through Marathon (DESIGN.md §5).
 *
 * Two processes, each plain blocking code:
 *  - the wrapper (often PID 1) never touches the network: lib/sup's loop
 *    forwards signals, reaps every child, runs the --grace timer, starts
 *    the command when the watcher says so, and exits with its status;
 *  - the watcher, forked before the command, does all the HTTP with
 *    lib/envwatch (the first read, the watch, the debounce, the splay,
 *    the requests to Marathon) and tells the wrapper over a pipe: "start
 *    with this environment", "restart with this one", "failed".
 * So a hung Consul or Marathon can never delay a signal, and the command
 * never inherits libcurl's descriptors (libcurl 7.88 keeps a socket pair
 * without close-on-exec in a handle that has made a request: the wrapper
 * sets the clients up but never makes one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "consul.h"
#include "envwatch.h"
#include "kv.h"
#include "log.h"
#include "marathon.h"
#include "proc.h"
#include "sup.h"
#include "util.h"

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

/* The environment twins of the options (the flags win: read first). */
static const struct {
	const char *var;
	int opt;
} twins[] = {
	{ "SERVICE_WRAPPER_CONSUL_TIMEOUT", 'T' },
	{ "SERVICE_WRAPPER_DEBOUNCE", 'd' },
	{ "SERVICE_WRAPPER_GRACE", 'G' },
	{ "SERVICE_WRAPPER_GROUP", 'g' },
	{ "SERVICE_WRAPPER_ON_CHANGE", 'c' },
	{ "SERVICE_WRAPPER_ONCE", 'O' },
	{ "SERVICE_WRAPPER_QUIET", 'q' },
	{ "SERVICE_WRAPPER_RESTART_RETRY", 'R' },
	{ "SERVICE_WRAPPER_REWRITE", 'W' },
	{ "SERVICE_WRAPPER_SPLAY", 'S' },
	{ "SERVICE_WRAPPER_UPCASE", 'U' },
	{ "SERVICE_WRAPPER_VERBOSE", 'v' },
	{ "SERVICE_WRAPPER_WAIT", 'w' },
};

enum mode { ON_MARATHON, ON_RESTART, ON_EXIT, ON_NONE };
static const char *const modes[] = { "marathon", "restart", "exit", "none" };

struct opts {
	enum mode mode;
	long long quiet_ms, cap_ms, splay_ms, wait_ms;
	long long consul_timeout_ms, restart_retry_ms;
	int once, kvflags;
	const char *app_flag;
	char app_id[512];
	const char *prefix;	/* without '/' at either end */
	char **argv;		/* the command, untouched */
};

/* Messages from the watcher to the wrapper, each with an environment. */
enum { MSG_READY = 'R', MSG_CHANGE = 'C', MSG_FAILED = 'F' };

/* --- options --- */

static long long
duration(const char *what, const char *s, int zero_ok)
{
	long long ms;

	if (util_duration(s, &ms) < 0 || (!zero_ok && ms == 0))
		log_die(125, "%s %s: expected a duration such as 500ms, 5s, "
		    "2m%s", what, s, zero_ok ? " or 0" : "");
	return ms;
}

/* A switch: set by its flag (s NULL), or by its twin as 1 or 0. */
static int
on(const char *what, const char *s)
{
	if (s == NULL || strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0)
		return 0;
	log_die(125, "%s=%s: expected 1 or 0", what, s);
}

/* Option opt (a flag, or its twin: what names it) with its value v. */
static void
set(struct opts *o, struct sup *s, int opt, const char *what, const char *v)
{
	char err[256];
	size_t i;

	switch (opt) {
	case 'a':
		o->app_flag = v;
		break;
	case 'c':
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (strcmp(v, modes[i]) == 0)
				break;
		if (i == sizeof(modes) / sizeof(modes[0]))
			log_die(125, "%s %s: expected marathon, restart, exit or "
			    "none", what, v);
		o->mode = (enum mode)i;
		break;
	case 'd':
		if (debounce_parse(v, &o->quiet_ms, &o->cap_ms, err,
		    sizeof(err)) < 0)
			log_die(125, "%s %s: %s", what, v, err);
		break;
	case 'g':
		s->group = on(what, v);
		break;
	case 'G':
		s->grace_ms = duration(what, v, 1);
		break;
	case 'O':
		o->once = on(what, v);
		break;
	case 'q':
		if (on(what, v))
			log_level = LOG_QUIET;
		break;
	case 'R':
		o->restart_retry_ms = duration(what, v, 0);
		break;
	case 'S':
		o->splay_ms = duration(what, v, 1);
		break;
	case 'T':
		o->consul_timeout_ms = duration(what, v, 1);
		break;
	case 'U':
		o->kvflags = on(what, v) ? KV_UPCASE : 0;
		break;
	case 'v':
		if (on(what, v))
			log_level = LOG_VERBOSE;
		break;
	case 'W':
		if (sup_rewrite_parse(s, v, err, sizeof(err)) < 0)
			log_die(125, "%s %s: %s", what, v, err);
		break;
	case 'w':
		o->wait_ms = duration(what, v, 0);
		break;
	}
}

/* "--wait" for 'w': how messages name a flag. */
static const char *
flag_name(int opt, char *buf, size_t n)
{
	size_t i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == opt)
			break;
	snprintf(buf, n, "--%s", longopts[i].name != NULL ? longopts[i].name :
	    "?");
	return buf;
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
	const char *id = o->app_flag, *from = "--app-id", *v;
	char err[512];
	struct buf b = BUF_INIT;

	if (id == NULL && (v = util_env("MARATHON_APP_ID")) != NULL) {
		id = v;
		from = "MARATHON_APP_ID";
	}
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

/* --- the watcher: Consul and Marathon --- */

static _Noreturn void
watcher(struct envwatch *w, struct marathon *m, const struct opts *o, int fd)
{
	long long retry_at = 0;

	if (envwatch_first(w, o->consul_timeout_ms) < 0) {
		kv_env_send(fd, MSG_FAILED, NULL);
		util_coverage_flush();
		_exit(125);
	}
	if (kv_env_send(fd, MSG_READY, &w->env) < 0 || o->once) {
		util_coverage_flush();
		_exit(0);
	}
	for (;;) {
		if (!envwatch_next(w, retry_at))	/* a 409, or --restart-retry */
			retry_at = envwatch_restart(w, m, o->app_id, 0,
			    o->restart_retry_ms);
		else if (o->mode == ON_MARATHON)
			retry_at = envwatch_restart(w, m, o->app_id, o->splay_ms,
			    o->restart_retry_ms);
		else if (o->mode == ON_NONE)
			log_info("%s/: the command runs with an older configuration "
			    "(--on-change none: nothing done)", o->prefix);
		else if (kv_env_send(fd, MSG_CHANGE, &w->env) < 0 ||
		    o->mode == ON_EXIT) {
			util_coverage_flush();
			_exit(0);
		}
		else
			w->running = w->hash;
	}
}

/* --- the wrapper: signals and the command --- */

static _Noreturn void
finish(pid_t watcher, int status)
{
	util_coverage_stop(watcher);
	kill(watcher, SIGKILL);
	while (waitpid(watcher, NULL, 0) < 0 && errno == EINTR)
		;
	exit(status);
}

static void
start(struct sup *s, const struct opts *o, const struct kv_env *env,
    pid_t watcher)
{
	char **envp = kv_envp(env, NULL);
	int rc = sup_start(s, o->argv, envp), e = errno;

	kv_envp_free(envp);
	if (rc < 0) {
		errno = e;
		log_err("%s:", o->argv[0]);
		finish(watcher, proc_exec_status(e));
	}
}

static _Noreturn void
wrapper(struct sup *s, const struct opts *o, int fd, pid_t watcher)
{
	struct kv_env env = KV_ENV_INIT, next = KV_ENV_INIT;
	char tag, name[32];
	int sig, restart = 0;

	for (;;) {
		switch (sup_wait(s, fd, &sig)) {
		case SUP_SIGNALLED:
			log_info("%s before the command started: exiting",
			    proc_signal_name(sig, name, sizeof(name)));
			finish(watcher, 128 + sig);
		case SUP_ENDED:
			if (!restart || s->stopping)
				finish(watcher, proc_status(s->status));
			restart = 0;
			start(s, o, &next, watcher);
			break;
		case SUP_READABLE:
			if (kv_env_recv(fd, &tag, &env) < 0) {
				close(fd);
				fd = -1;
				if (s->pid == 0) {
					log_err("the Consul watcher failed before the "
					    "first read");
					finish(watcher, 125);
				}
				if (!o->once && o->mode != ON_EXIT)
					log_err("the Consul watcher ended: configuration "
					    "changes are no longer followed");
			} else if (tag == MSG_FAILED) {
				finish(watcher, 125);
			} else if (tag == MSG_READY) {
				start(s, o, &env, watcher);
			} else if (s->running && !s->stopping) {
				log_info("%s/: configuration changed: %s %s "
				    "(--on-change %s)", o->prefix, o->mode == ON_EXIT ?
				    "stopping" : "restarting", o->argv[0],
				    modes[o->mode]);
				if (o->mode == ON_EXIT)
					s->stopping = 1;
				kv_env_free(&next);
				next = env;
				env = (struct kv_env)KV_ENV_INIT;
				restart = o->mode == ON_RESTART;
				sup_stop(s);
			}
			break;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct opts o = { ON_MARATHON, 2000, 30000, 10000, 300000, 60000, 300000,
	    0, 0, NULL, "", NULL, NULL };
	struct marathon_settings ms = { NULL, NULL, NULL, NULL, 0, 0 };
	struct marathon m;
	struct consul c;
	struct envwatch w;
	struct sup s;
	char err[512], name[32];
	const char *v;
	pid_t parent, child;
	int opt, pfd[2];
	size_t i;

	util_checkfds();
	log_init("service-wrapper", 125);
	sup_defaults(&s, NULL);

	/* 1. Options: the environment twins, then the flags over them. */
	for (i = 0; i < sizeof(twins) / sizeof(twins[0]); i++)
		if ((v = util_env(twins[i].var)) != NULL)
			set(&o, &s, twins[i].opt, twins[i].var, v);
	while ((opt = getopt_long(argc, argv, "+a:c:d:ghqv", longopts,
	    NULL)) != -1) {
		if (opt == 'h') {
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 125 : 0;
		}
		if (opt == 'V') {
			puts("service-wrapper (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 125 : 0;
		}
		if (opt == '?' || opt == ':')
			log_usage(125, usage_line);
		set(&o, &s, opt, flag_name(opt, name, sizeof(name)), optarg);
	}
	argc -= optind;
	argv += optind;
	if (argc < 4)
		log_usage(125, usage_line);
	o.prefix = clean_prefix(argv[2]);
	o.argv = argv + 3;
	s.name = o.argv[0];

	/* 2. The clients: settings checked now; the wrapper never sends. */
	if (consul_init(&c, argv[1], err, sizeof(err)) < 0)
		log_die(125, "consul: %s", err);
	memset(&m, 0, sizeof(m));
	if (o.mode == ON_MARATHON && !o.once) {
		resolve_app_id(&o);
		ms.urls = strcmp(argv[0], "-") != 0 ? argv[0] : NULL;
		if (marathon_init(&m, &ms, err, sizeof(err)) < 0)
			log_die(125, "marathon: %s", err);
	}

	/* 3. Signals, the watcher, then the command when it says. */
	if (sup_init(&s) < 0)
		log_die(125, "signals:");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		log_die(125, "pipe:");
	parent = getpid();
	fflush(stderr);
	if ((child = fork()) < 0)
		log_die(125, "fork:");
	if (child == 0) {
		close(pfd[0]);
		close(s.sfd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		util_coverage_child();
		envwatch_init(&w, &c, o.prefix, o.kvflags);
		w.wait_ms = o.wait_ms;
		debounce_init(&w.db, o.quiet_ms, o.cap_ms);
		watcher(&w, &m, &o, pfd[1]);
	}
	close(pfd[1]);
	consul_free(&c);
	if (m.urls != NULL)
		marathon_free(&m);
	wrapper(&s, &o, pfd[0], child);
}
