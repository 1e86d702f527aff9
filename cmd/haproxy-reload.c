/* See COPYING for copyright and license details. */
/*
 * haproxy-reload: run by consul-template on every host after it renders
 * haproxy.cfg (DESIGN.md §5). Checks the configuration, reloads HAProxy
 * by the best method there is (the master CLI, SIGUSR2 to the master, the
 * article's SYN drop made safe, or a plain command), confirms that a new
 * worker took over, and says what in the configuration will still lose
 * requests. Runs are serialised with flock.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fw.h"
#include "haproxy.h"
#include "lock.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/haproxy/haproxy.cfg"
#define DEFAULT_LOCK "/run/haproxy-reload.lock"
#define DEFAULT_SOCKET "/run/haproxy-master.sock"
#define MIGRATE_REQ "/proc/sys/net/ipv4/tcp_migrate_req"

static const char usage_line[] =
    "haproxy-reload [-qv] [-f config] [-l lockfile] [-m method] "
    "[-p port[,port...]] [-P pidfile] [-S master-socket] "
    "[--settle duration] [--max-hold duration] [--timeout duration] "
    "[-- reload-command ...]";

static const char help_text[] =
    "usage: haproxy-reload [-qv] [-f config] [-l lockfile] [-m method]\n"
    "                      [-p port[,port...]] [-P pidfile] [-S master-socket]\n"
    "                      [--settle duration] [--max-hold duration]\n"
    "                      [--timeout duration] [-- reload-command ...]\n"
    "\n"
    "Check the HAProxy configuration (haproxy -c), reload HAProxy and confirm\n"
    "that a new worker took over. Methods: master (the master CLI socket: show\n"
    "proc, reload, show proc), signal (SIGUSR2 to the master in -P, new worker\n"
    "found in /proc), syn-drop (drop new SYNs to the ports while the reload\n"
    "command runs), command (just run the reload command). The default is\n"
    "master when the master socket exists, else signal with -P, else command.\n"
    "The reload command is `systemctl reload haproxy` unless one follows --.\n"
    "\n"
    "  -f, --config=FILE         the configuration (default " DEFAULT_CONFIG ")\n"
    "  -l, --lock=FILE           the lock file (default " DEFAULT_LOCK ")\n"
    "  -m, --method=METHOD       master, signal, syn-drop or command\n"
    "  -p, --port=PORT[,PORT...] syn-drop: the ports (default 80)\n"
    "  -P, --pidfile=FILE        signal: the master's pidfile\n"
    "  -q, --quiet               no progress, no advice\n"
    "  -S, --master-socket=PATH  master: the master CLI socket\n"
    "                            (default " DEFAULT_SOCKET ")\n"
    "  -v, --verbose             more detail\n"
    "      --max-hold=DURATION   syn-drop: rules out after this at the latest (5s)\n"
    "      --settle=DURATION     syn-drop: rules in this long before the reload\n"
    "                            command (200ms)\n"
    "      --timeout=DURATION    bounds each wait: the lock, the reload command,\n"
    "                            the master socket, the confirmation (10s)\n"
    "  -h, --help                this help\n"
    "      --version             print the version\n"
    "\n"
    "Environment: HAPROXY_CONFIG (-f), HAPROXY_MASTER_SOCKET (-S),\n"
    "HAPROXY_PIDFILE (-P), HAPROXY_RELOAD_METHOD (-m).\n"
    "\n"
    "Exit status: 0 reloaded (and confirmed), 1 invalid configuration, reload\n"
    "refused or not confirmed, reload command failed or timed out, 2 usage,\n"
    "3 lock busy, master socket missing or not answering, haproxy, iptables or\n"
    "the reload command not found.\n";

enum method { M_NONE, M_MASTER, M_SIGNAL, M_SYNDROP, M_COMMAND };

static const char *const method_names[] = {
	[M_NONE] = "", [M_MASTER] = "master", [M_SIGNAL] = "signal",
	[M_SYNDROP] = "syn-drop", [M_COMMAND] = "command",
};

static char *default_command[] = { "systemctl", "reload", "haproxy", NULL };

/* Usage error: what was wrong, then the usage line (exit 2). */
static _Noreturn void
usage_error(const char *fmt, const char *arg, const char *why)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, arg);
	log_err("%s: %s", what, why);
	log_usage(2, usage_line);
}

static enum method
method_parse(const char *s)
{
	int m;

	for (m = M_MASTER; m <= M_COMMAND; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum method)m;
	return M_NONE;
}

static long long
duration(const char *opt, const char *s, int zero_ok)
{
	long long ms;

	if (util_duration(s, &ms) < 0 || ms < 0 || (ms == 0 && !zero_ok)) {
		char what[256];

		snprintf(what, sizeof(what), "%s %s", opt, s);
		usage_error("%s", what, "expected a duration such as 200ms, 5s "
		    "or 1m");
	}
	return ms;
}

/* "200ms", "5s", "1.5s": durations in messages. */
static const char *
fmt_ms(long long ms, char *b, size_t n)
{
	if (ms % 1000 == 0)
		snprintf(b, n, "%llds", ms / 1000);
	else if (ms < 1000)
		snprintf(b, n, "%lldms", ms);
	else
		snprintf(b, n, "%lld.%03llds", ms / 1000, ms % 1000);
	return b;
}

static void
say_reason(const char *line, void *arg)
{
	log_err("%s: %s", (const char *)arg, line);
}

static void
say_detail(const char *line, void *arg)
{
	log_debug("%s: haproxy -c: %s", (const char *)arg, line);
}

/* How a reload command ended, for messages. */
static const char *
how_ended(int wstatus, char *b, size_t n)
{
	char sig[32];

	if (WIFEXITED(wstatus))
		snprintf(b, n, "exited %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(b, n, "was killed by %s",
		    proc_signal_name(WTERMSIG(wstatus), sig, sizeof(sig)));
	else
		snprintf(b, n, "ended (status %d)", wstatus);
	return b;
}

/* Advice, once, for a valid configuration (-q silences it). */
static void
advise(const char *config, enum method m)
{
	struct haproxy_config c;
	char *text;
	size_t len, i;
	int e;

	if (log_level < LOG_NORMAL)
		return;
	if ((e = util_read_file(config, UTIL_MAX_BODY, &text, &len)) != 0) {
		log_debug("%s: cannot read for advice: %s", config, strerror(e));
		return;
	}
	haproxy_config_scan(text, &c);
	free(text);
	for (i = 0; i < c.nidle; i++) {
		const struct haproxy_advice *a = &c.idle[i];

		log_info("advice: %s:%d: %s%s%s: mode http without \"option "
		    "idle-close-on-response\": idle keep-alive connections are "
		    "closed at each reload and their clients lose requests",
		    config, a->line, a->kind, a->name[0] != '\0' ? " " : "",
		    a->name);
	}
	if (c.more > 0)
		log_info("advice: %s: %zu more such sections", config, c.more);
	if (!c.hard_stop_after)
		log_info("advice: %s: no \"hard-stop-after\" in global: old "
		    "workers holding long connections pile up over reloads; "
		    "bound them (say hard-stop-after 5m)", config);
	if (m == M_COMMAND && !c.master_worker && !c.expose_fd &&
	    haproxy_migrate_req(MIGRATE_REQ) == 0)
		log_info("advice: net.ipv4.tcp_migrate_req is 0: unless the reload "
		    "command passes the listening sockets (master-worker, -x), "
		    "connections queued on the old listener are reset; "
		    "sysctl -w net.ipv4.tcp_migrate_req=1 hands them on");
}

/* Run the reload command (no shell) for at most timeout_ms. */
static int
run_command(char *const argv[], long long timeout_ms)
{
	char t[32], how[64];
	int st, r;
	pid_t pid;

	fflush(stdout);
	if ((pid = proc_spawn(argv, NULL)) < 0) {
		log_err("%s: cannot run:", argv[0]);
		return 3;
	}
	r = proc_wait(pid, timeout_ms, &st);
	if (r == 1) {
		proc_stop(pid, 1000);
		log_err("%s: the reload command did not finish in %s: killed",
		    argv[0], fmt_ms(timeout_ms, t, sizeof(t)));
		return 1;
	}
	if (r < 0) {
		log_err("%s: wait:", argv[0]);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_err("%s: the reload command %s", argv[0],
		    how_ended(st, how, sizeof(how)));
		return 1;
	}
	log_info("reloaded: %s exited 0", argv[0]);
	return 0;
}

static int
reload_master(const char *sock, long long timeout_ms)
{
	struct haproxy_reload r;
	struct buf why = BUF_INIT;
	char t[32];

	if (haproxy_master_reload(sock, timeout_ms, &r, &why) < 0) {
		if (errno == EPROTO) {
			char *nl = why.data != NULL ? strchr(why.data, '\n') : NULL;

			if (nl != NULL)
				*nl = '\0';
			log_err("%s: not an HAProxy master CLI: \"show proc\" got: %s",
			    sock, why.data != NULL ? why.data : "nothing");
		} else if (errno == ETIMEDOUT) {
			log_err("%s: the master socket did not answer in %s", sock,
			    fmt_ms(timeout_ms, t, sizeof(t)));
		} else if (errno == ENOENT) {
			log_err("%s: no master socket: is HAProxy running in "
			    "master-worker mode with -S?", sock);
		} else {
			log_err("%s: the master socket does not answer:", sock);
		}
		buf_free(&why);
		return 3;
	}
	buf_free(&why);
	if (r.result == HAPROXY_REFUSED) {
		log_err("%s: master %d refused the reload (failed reloads %d, "
		    "was %d): worker %d still serves the previous configuration; "
		    "HAProxy's log says why", sock, (int)r.master, r.after.failed,
		    r.before.failed, (int)r.old);
		return 1;
	}
	if (r.result != HAPROXY_CONFIRMED) {
		log_err("%s: master %d: no new worker in %s: the reload was not "
		    "confirmed", sock, (int)r.master, fmt_ms(timeout_ms, t,
		    sizeof(t)));
		return 1;
	}
	if (r.old != 0)
		log_info("reloaded: master %d: new worker %d, was %d",
		    (int)r.master, (int)r.newpid, (int)r.old);
	else
		log_info("reloaded: master %d: new worker %d", (int)r.master,
		    (int)r.newpid);
	return 0;
}

static int
reload_signal(const char *pidfile, long long timeout_ms)
{
	struct haproxy_reload r;
	char t[32];
	pid_t master;

	if (haproxy_pidfile(pidfile, &master) < 0) {
		if (errno == EINVAL)
			log_err("%s: no PID on its first line", pidfile);
		else
			log_err("%s: cannot read the master's PID:", pidfile);
		return 3;
	}
	if (haproxy_signal_reload("/proc", master, timeout_ms, &r) < 0) {
		if (errno == ESRCH) {
			log_err("%s: no process %d: HAProxy is not running", pidfile,
			    (int)master);
			return 3;
		}
		if (errno == ECHILD) {
			log_err("%s: process %d has no worker: not an HAProxy "
			    "master (-W): not signalled", pidfile, (int)master);
			return 1;
		}
		log_err("%s: SIGUSR2 to %d:", pidfile, (int)master);
		return 3;
	}
	if (r.result == HAPROXY_REFUSED) {
		log_err("%s: master %d ended during the reload", pidfile,
		    (int)master);
		return 1;
	}
	if (r.result != HAPROXY_CONFIRMED) {
		log_err("%s: master %d: no new worker in %s after SIGUSR2: the "
		    "reload was refused or is still starting (HAProxy's log says "
		    "which); worker %d still serves", pidfile, (int)master,
		    fmt_ms(timeout_ms, t, sizeof(t)), (int)r.old);
		return 1;
	}
	log_info("reloaded: master %d: new worker %d, was %d", (int)master,
	    (int)r.newpid, (int)r.old);
	return 0;
}

static int
reload_syndrop(struct fw_hold *h, int lockfd)
{
	char t[32], how[64];
	int rc;

	fflush(stdout);
	rc = fw_hold(h);
	if (h->signal != 0) {
		/* The rules are out and the command stopped: die of it. */
		close(lockfd);
		signal(h->signal, SIG_DFL);
		raise(h->signal);
		return 128 + h->signal;
	}
	if (rc == FW_EINSERT)
		return errno == ENOENT ? 3 : 1;
	if (h->cut)
		log_warn("--max-hold: new SYNs let through again after %s while "
		    "%s still ran", fmt_ms(h->held_ms, t, sizeof(t)), h->argv[0]);
	if (!h->ran) {
		errno = h->exec_errno;
		log_err("%s: cannot run:", h->argv[0]);
		return 3;
	}
	if (h->timed_out) {
		log_err("%s: the reload command did not finish in %s: killed",
		    h->argv[0], fmt_ms(h->timeout_ms, t, sizeof(t)));
		return 1;
	}
	if (!WIFEXITED(h->wstatus) || WEXITSTATUS(h->wstatus) != 0) {
		log_err("%s: the reload command %s", h->argv[0],
		    how_ended(h->wstatus, how, sizeof(how)));
		return 1;
	}
	if (rc == FW_EREMOVE)
		return 1;
	log_info("reloaded: %s exited 0; new SYNs dropped for %s", h->argv[0],
	    fmt_ms(h->held_ms, t, sizeof(t)));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "lock", required_argument, NULL, 'l' },
		{ "master-socket", required_argument, NULL, 'S' },
		{ "max-hold", required_argument, NULL, 'H' },
		{ "method", required_argument, NULL, 'm' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "settle", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *lockfile = DEFAULT_LOCK, *mflag = NULL;
	const char *pidfile = NULL, *sock = NULL, *ports_arg = "80", *from;
	long long settle = 200, max_hold = 5000, timeout = 10000;
	unsigned ports[FW_PORTS_MAX];
	char *const *cmd = default_command;
	struct buf out = BUF_INIT;
	struct fw_hold h;
	enum method m = M_NONE;
	struct stat sb;
	char t[32];
	int c, nports, lockfd, r;

	util_checkfds();
	log_init("haproxy-reload", 1);
	signal(SIGCHLD, SIG_DFL);	/* an ignored SIGCHLD would lose our children's status */
	argv[0] = (char *)log_tool;

	/* 1. Options, up to "--" and the reload command. */
	while ((c = getopt_long(argc, argv, "+f:hl:m:p:P:qS:v", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'f':
			config = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		case 'H':
			max_hold = duration("--max-hold", optarg, 0);
			break;
		case 'l':
			lockfile = optarg;
			break;
		case 'm':
			mflag = optarg;
			break;
		case 'p':
			ports_arg = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'q':
			log_level = LOG_QUIET;
			break;
		case 'S':
			sock = optarg;
			break;
		case 't':
			timeout = duration("--timeout", optarg, 0);
			break;
		case 'T':
			settle = duration("--settle", optarg, 1);
			break;
		case 'v':
			log_level = LOG_VERBOSE;
			break;
		case 'V':
			puts("haproxy-reload (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		default:
			log_usage(2, usage_line);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			usage_error("%s", argv[optind], "a reload command goes after --");
		cmd = argv + optind;
	}

	/* 2. Settings: the flag, else its environment twin, else the default. */
	if (config == NULL && (config = util_env("HAPROXY_CONFIG")) == NULL)
		config = DEFAULT_CONFIG;
	if (sock == NULL && (sock = util_env("HAPROXY_MASTER_SOCKET")) == NULL)
		sock = DEFAULT_SOCKET;
	if (pidfile == NULL)
		pidfile = util_env("HAPROXY_PIDFILE");
	from = "-m %s";
	if (mflag == NULL && (mflag = util_env("HAPROXY_RELOAD_METHOD")) != NULL)
		from = "HAPROXY_RELOAD_METHOD=%s";
	if (mflag != NULL && (m = method_parse(mflag)) == M_NONE)
		usage_error(from, mflag, "expected master, signal, syn-drop or "
		    "command");
	if (*config == '\0' || *lockfile == '\0')
		usage_error("%s", *config == '\0' ? "-f" : "-l", "the file name is empty");
	if ((nports = fw_ports_parse(ports_arg, ports, FW_PORTS_MAX)) < 0)
		usage_error("-p %s", ports_arg, "expected ports 1-65535, comma "
		    "separated, each once");
	if (settle >= max_hold)
		usage_error("--settle %s", fmt_ms(settle, t, sizeof(t)),
		    "must be shorter than --max-hold");

	/* 3. The method: asked for, else the best one available. */
	if (m == M_NONE) {
		if (stat(sock, &sb) == 0)
			m = M_MASTER;
		else if (pidfile != NULL)
			m = M_SIGNAL;
		else
			m = M_COMMAND;
		log_debug("method %s (%s)", method_names[m], m == M_MASTER ?
		    sock : m == M_SIGNAL ? "-P given" : "no master socket, no -P");
	}
	if (m == M_SIGNAL && pidfile == NULL)
		usage_error("%s", "-m signal", "needs the master's pidfile (-P)");
	if ((m == M_MASTER || m == M_SIGNAL) && cmd != default_command) {
		char why[512];

		snprintf(why, sizeof(why), "only -m command and -m syn-drop run a "
		    "reload command, and the method is %s%s%s%s", method_names[m],
		    mflag == NULL ? " (" : "", mflag == NULL ? sock : "",
		    mflag == NULL ? " exists)" : "");
		usage_error("%s", cmd[0], why);
	}
	memset(&h, 0, sizeof(h));
	if (m == M_SYNDROP) {
		if (!fw_present("iptables"))
			log_die(3, "iptables: not found in PATH: -m syn-drop needs it");
		h.tools[0] = "iptables";
		h.tools[1] = fw_present("ip6tables") ? "ip6tables" : NULL;
		h.ports = ports;
		h.nports = (size_t)nports;
		h.settle_ms = settle;
		h.max_hold_ms = max_hold;
		h.timeout_ms = timeout;
		h.argv = cmd;
	}

	/* 4. One run at a time; the lock's fd is close-on-exec. */
	if ((lockfd = lock_path(lockfile, timeout)) < 0) {
		if (errno == EWOULDBLOCK)
			log_die(3, "%s: still locked by another run after %s",
			    lockfile, fmt_ms(timeout, t, sizeof(t)));
		log_die(3, "%s: cannot lock:", lockfile);
	}

	/* Under the lock, rules a killed run left go first, whatever follows. */
	if (m == M_SYNDROP) {
		if (fw_clear_stale(h.tools[0], timeout) < 0)
			return errno == ENOENT ? 3 : 1;
		if (h.tools[1] != NULL && fw_clear_stale(h.tools[1], timeout) < 0) {
			log_warn("%s: left out: IPv6 SYNs are not held", h.tools[1]);
			h.tools[1] = NULL;
		}
	}

	/* 5. The check: an invalid configuration changes nothing. */
	r = haproxy_check("haproxy", config, timeout, &out);
	if (r < 0)
		log_die(3, "haproxy: cannot run%s:", errno == ENOENT ?
		    " (not found in PATH)" : "");
	if (r == 2)
		log_die(3, "haproxy -c -f %s: no answer in %s", config,
		    fmt_ms(timeout, t, sizeof(t)));
	if (r == 1) {
		if (out.data == NULL ||
		    haproxy_check_reasons(out.data, say_reason, (void *)config) == 0)
			log_err("%s: haproxy -c failed without a message", config);
		log_err("%s: invalid configuration: nothing reloaded", config);
		buf_free(&out);
		return 1;
	}
	if (log_level >= LOG_VERBOSE && out.data != NULL)
		haproxy_check_reasons(out.data, say_detail, (void *)config);
	buf_free(&out);
	advise(config, m);

	/* 6. The reload, confirmed where HAProxy lets us. */
	switch (m) {
	case M_MASTER:
		r = reload_master(sock, timeout);
		break;
	case M_SIGNAL:
		r = reload_signal(pidfile, timeout);
		break;
	case M_SYNDROP:
		r = reload_syndrop(&h, lockfd);
		break;
	default:
		r = run_command(cmd, timeout);
		break;
	}
	close(lockfd);
	if (util_fshut(stdout, "<stdout>") < 0 && r == 0)
		r = 1;
	return r;
}
