/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy.h"
#include "proc.h"
#include "tap.h"
#include "util.h"

/* Real answers of HAProxy 2.6.12 (Debian 12) to "show proc". */
static const char proc_start[] =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "18101           master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "18104           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";
static const char proc_reloaded[] =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "18101           master          1 [failed: 0]   0d00h00m05s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "18459           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";
static const char proc_failed[] =	/* "unknown keyword", then Loading failure! */
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "18101           master          2 [failed: 1]   0d00h00m06s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "18459           worker          1               0d00h00m02s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";
static const char proc_recovered[] =	/* the next good reload resets failed */
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "18101           master          3 [failed: 0]   0d00h00m08s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "18693           worker          0               0d00h00m02s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";
static const char proc_old[] =		/* a client kept the old worker busy */
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "18101           master          4 [failed: 0]   0d00h00m17s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "19077           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "# old workers\n"
    "18693           worker          1               0d00h00m11s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";
static const char proc_programs[] =	/* a "program" section, and 2 workers */
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "700             master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "701             worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "702             worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "703             dataplane-api   0               0d00h00m01s     -\n"
    "\n";
static const char proc_24[] =		/* before 2.5: no [failed: N] */
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "900             master          0               0d00h00m01s     2.4.22\n"
    "# workers\n"
    "901             worker          0               0d00h00m01s     2.4.22\n"
    "# programs\n"
    "\n";

static void
test_show_proc(void)
{
	struct haproxy_proc a, b;
	pid_t n = 0;

	is_int(haproxy_proc_parse(proc_start, &a), 0, "show proc: parsed");
	is_int(a.master, 18101, "the master's PID");
	is_int(a.reloads, 0, "its reload count");
	is_int(a.failed, 0, "its failed count");
	ok(a.nworkers == 1 && a.workers[0] == 18104 && a.nold == 0, "one worker");
	ok(haproxy_proc_has(&a, 18104) && !haproxy_proc_has(&a, 18101),
	    "the master is not a worker");

	haproxy_proc_parse(proc_reloaded, &b);
	is_int(haproxy_proc_confirm(&a, &a, &n), HAPROXY_PENDING,
	    "the same answer: pending");
	is_int(haproxy_proc_confirm(&a, &b, &n), HAPROXY_CONFIRMED,
	    "a new worker: confirmed");
	is_int(n, 18459, "by its PID");

	haproxy_proc_parse(proc_failed, &a);
	is_int(a.failed, 1, "after a failed reload: [failed: 1]");
	is_int(a.reloads, 2, "the master counts the failed reload too");
	is_int(haproxy_proc_confirm(&b, &a, &n), HAPROXY_REFUSED,
	    "the failed count grew: refused");
	haproxy_proc_parse(proc_recovered, &b);
	n = 0;
	is_int(haproxy_proc_confirm(&a, &b, &n), HAPROXY_CONFIRMED,
	    "failed back to 0 with a new worker: confirmed");
	is_int(n, 18693, "the new worker");

	haproxy_proc_parse(proc_old, &a);
	ok(a.nworkers == 1 && a.workers[0] == 19077, "old workers: the current one");
	ok(a.nold == 1 && a.old[0] == 18693, "and the old one apart");
	is_int(haproxy_proc_confirm(&a, &b, &n), HAPROXY_PENDING,
	    "an old worker listed again is no new worker");
	is_int(haproxy_proc_confirm(&b, &a, &n), HAPROXY_CONFIRMED,
	    "the worker that replaced it is");

	haproxy_proc_parse(proc_programs, &a);
	ok(a.nworkers == 2 && a.workers[1] == 702, "two workers");
	ok(!haproxy_proc_has(&a, 703), "a program is no worker");

	is_int(haproxy_proc_parse(proc_24, &a), 0, "2.4: parsed");
	ok(a.failed == -1 && a.reloads == 0 && a.workers[0] == 901,
	    "no failed count");
	b = a;
	b.failed = 3;
	is_int(haproxy_proc_confirm(&a, &b, &n), HAPROXY_PENDING,
	    "an unknown failed count never says refused");

	is_int(haproxy_proc_parse("", &a), -1, "empty: not show proc");
	is_int(haproxy_proc_parse("Unknown command: 'show'\n", &a), -1,
	    "an error message: not show proc");
	is_int(haproxy_proc_parse("# workers\n12 worker 0\n", &a), -1,
	    "workers without a master: not show proc");
	is_int(haproxy_proc_parse("99999999999 master 0\n", &a), -1,
	    "a PID out of range");
}

static int reasons;
static char reason0[256];

static void
collect(const char *line, void *arg)
{
	(void)arg;
	if (reasons++ == 0)
		snprintf(reason0, sizeof(reason0), "%s", line);
}

static void
test_check(const char *dir)
{
	const char *av[4];
	struct buf out = BUF_INIT;
	char good[256], bad[256];
	static const char cfg[] =
	    "global\n    maxconn 10\n"
	    "defaults\n    mode http\n    timeout connect 1s\n"
	    "    timeout client 1s\n    timeout server 1s\n"
	    "frontend fe\n    bind unix@%s/fe.sock\n    default_backend be\n"
	    "backend be\n    server s1 127.0.0.1:9\n%s";
	char text[1024];
	int n;

	haproxy_check_argv(av, "haproxy", "/etc/h.cfg");
	ok(strcmp(av[0], "haproxy") == 0 && strcmp(av[1], "-c") == 0 &&
	    strcmp(av[2], "-f") == 0 && strcmp(av[3], "/etc/h.cfg") == 0,
	    "check argv: haproxy -c -f config (no -q: it would hide the message)");

	reasons = 0;
	n = (int)haproxy_check_reasons(
	    "[NOTICE]   (1) : haproxy version is 2.6.12\n"
	    "[ALERT]    (25383) : config : parsing [bad.cfg:13] : unknown keyword 'bogus_kw' in 'backend' section\n"
	    "[ALERT]    (25383) : config : Fatal errors found in configuration.\n",
	    collect, NULL);
	is_int(n, 2, "reasons: the [ALERT] lines");
	is_str(reason0, "[ALERT]    (25383) : config : parsing [bad.cfg:13] : "
	    "unknown keyword 'bogus_kw' in 'backend' section", "the first, whole");
	reasons = 0;
	n = (int)haproxy_check_reasons("\nsomething odd  \n\n", collect, NULL);
	ok(n == 1 && strcmp(reason0, "something odd") == 0,
	    "no [ALERT]: every non-empty line, trailing space cut");

	if (access("/usr/sbin/haproxy", X_OK) != 0) {
		tap_ok(1, __FILE__, __LINE__, "haproxy -c # SKIP no /usr/sbin/haproxy");
		return;
	}
	snprintf(good, sizeof(good), "%s/good.cfg", dir);
	snprintf(bad, sizeof(bad), "%s/bad.cfg", dir);
	snprintf(text, sizeof(text), cfg, dir, "");
	util_write_atomic(good, text, strlen(text));
	snprintf(text, sizeof(text), cfg, dir, "    bogus_kw\n");
	util_write_atomic(bad, text, strlen(text));
	is_int(haproxy_check("/usr/sbin/haproxy", good, 10000, &out), 0,
	    "haproxy -c: a valid configuration");
	buf_reset(&out);
	is_int(haproxy_check("/usr/sbin/haproxy", bad, 10000, &out), 1,
	    "an invalid one");
	ok(out.data != NULL && strstr(out.data, "unknown keyword 'bogus_kw'") != NULL,
	    "with HAProxy's message");
	buf_reset(&out);
	errno = 0;
	ok(haproxy_check("/nonexistent/haproxy", good, 1000, &out) == -1 &&
	    errno == ENOENT, "no haproxy: -1, ENOENT");
	buf_free(&out);
}

/* A unix socket that listens and never answers, or nobody listens on. */
static int
listener(const char *path, int listen_too)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (listen_too && listen(fd, 4) < 0)
		return -1;
	return fd;
}

static void
test_cli_errors(const char *dir)
{
	struct buf out = BUF_INIT;
	struct haproxy_reload r;
	char path[256], longp[200];
	long long t0;
	int fd;

	snprintf(path, sizeof(path), "%s/none.sock", dir);
	errno = 0;
	ok(haproxy_cli(path, "show proc", 1000, &out) < 0 && errno == ENOENT,
	    "cli: no socket: ENOENT");
	fd = listener(path, 0);
	errno = 0;
	ok(haproxy_cli(path, "show proc", 1000, &out) < 0 &&
	    errno == ECONNREFUSED, "a socket nobody listens on: ECONNREFUSED");
	close(fd);
	fd = listener(path, 1);
	t0 = util_now_ms();
	errno = 0;
	ok(haproxy_cli(path, "show proc", 300, &out) < 0 && errno == ETIMEDOUT,
	    "a socket that never answers: ETIMEDOUT");
	ok(util_now_ms() - t0 >= 300 && util_now_ms() - t0 < 2000,
	    "after the timeout");
	errno = 0;
	ok(haproxy_master_reload(path, 200, &r, &out) < 0 && errno == ETIMEDOUT,
	    "master reload: no answer, -1 ETIMEDOUT");
	close(fd);
	unlink(path);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	errno = 0;
	ok(haproxy_cli(longp, "show proc", 100, &out) < 0 &&
	    errno == ENAMETOOLONG, "a path too long for sun_path");
	buf_free(&out);
}

static void
test_proc_files(const char *dir)
{
	char path[256], stat[256];
	pid_t pid = 0, kids[8];
	pid_t c1, c2, c3;
	int st;

	snprintf(path, sizeof(path), "%s/pid", dir);
	util_write_atomic(path, "4242\n", 5);
	ok(haproxy_pidfile(path, &pid) == 0 && pid == 4242, "pidfile: first line");
	util_write_atomic(path, "77\n78\n", 6);
	ok(haproxy_pidfile(path, &pid) == 0 && pid == 77, "several lines: the first");
	util_write_atomic(path, "x77\n", 4);
	errno = 0;
	ok(haproxy_pidfile(path, &pid) < 0 && errno == EINVAL, "garbage: EINVAL");
	util_write_atomic(path, "", 0);
	errno = 0;
	ok(haproxy_pidfile(path, &pid) < 0 && errno == EINVAL, "empty: EINVAL");
	unlink(path);
	errno = 0;
	ok(haproxy_pidfile(path, &pid) < 0 && errno == ENOENT, "missing: ENOENT");

	ok(haproxy_stat_ppid("123 (haproxy) S 45 123 123 0 -1", &pid) == 0 &&
	    pid == 45, "stat: the parent");
	ok(haproxy_stat_ppid("123 (a b) c) S 46 1 1", &pid) == 0 && pid == 46,
	    "a command name with spaces and ')'");
	ok(haproxy_stat_ppid("1 (init) S 0 1 1", &pid) == 0 && pid == 0,
	    "PID 1's parent is 0");
	ok(haproxy_stat_ppid("123 haproxy S 45", &pid) < 0, "no (comm): not a stat line");

	/* Real children: two forks (same executable) and one exec'd program. */
	c1 = fork();
	if (c1 == 0) {
		pause();
		_exit(0);
	}
	c2 = fork();
	if (c2 == 0) {
		pause();
		_exit(0);
	}
	c3 = fork();
	if (c3 == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	util_sleep_ms(100);	/* let c3 exec */
	snprintf(stat, sizeof(stat), "%d", haproxy_workers("/proc", getpid(), kids, 8));
	is_str(stat, "2", "workers: the children running our executable");
	ok((kids[0] == c1 || kids[0] == c2) && (kids[1] == c1 || kids[1] == c2) &&
	    kids[0] != kids[1], "the two forks, not the program");
	is_int(haproxy_workers("/proc", getpid(), kids, 1), 1, "at most max");
	kill(c1, SIGKILL);
	util_sleep_ms(50);	/* c1 is a zombie now: no worker */
	is_int(haproxy_workers("/proc", getpid(), kids, 8), 1, "a zombie is no worker");
	kill(c2, SIGKILL);
	kill(c3, SIGKILL);
	waitpid(c1, &st, 0);
	waitpid(c2, &st, 0);
	waitpid(c3, &st, 0);
	errno = 0;
	ok(haproxy_workers("/proc", c1, kids, 8) < 0 && errno == ESRCH,
	    "a process that is gone: ESRCH");
	errno = 0;
	{
		struct haproxy_reload r;

		ok(haproxy_signal_reload("/proc", c1, 100, &r) < 0 && errno == ESRCH,
		    "signal reload of no process: ESRCH");
		c1 = fork();
		if (c1 == 0) {
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
		util_sleep_ms(100);
		errno = 0;
		ok(haproxy_signal_reload("/proc", c1, 100, &r) < 0 && errno == ECHILD,
		    "a process without workers: ECHILD, not signalled");
		ok(kill(c1, 0) == 0, "so it is still alive");
		kill(c1, SIGKILL);
		waitpid(c1, &st, 0);
	}

	snprintf(path, sizeof(path), "%s/migrate", dir);
	util_write_atomic(path, "0\n", 2);
	is_int(haproxy_migrate_req(path), 0, "tcp_migrate_req 0");
	util_write_atomic(path, "1\n", 2);
	is_int(haproxy_migrate_req(path), 1, "tcp_migrate_req 1");
	unlink(path);
	is_int(haproxy_migrate_req(path), -1, "no such sysctl: -1");
}

static void
scan(const char *text, struct haproxy_config *c)
{
	haproxy_config_scan(text, c);
}

static void
test_advice(void)
{
	struct haproxy_config c;

	scan("global\n    maxconn 10\n"
	    "defaults\n    mode http\n    timeout client 1s\n"
	    "frontend fe\n    bind :80\n    default_backend be\n"
	    "backend be\n    server s1 127.0.0.1:8001\n", &c);
	is_int(c.nidle, 1, "advice: a mode http defaults without the option");
	ok(c.idle[0].line == 3 && strcmp(c.idle[0].kind, "defaults") == 0 &&
	    c.idle[0].name[0] == '\0', "named once, at its line; the frontend "
	    "inheriting from it is not repeated");
	ok(!c.hard_stop_after && !c.master_worker && !c.expose_fd,
	    "no hard-stop-after, no socket passing");

	scan("global\n    hard-stop-after 5m\n    master-worker\n"
	    "defaults\n    mode http\n    option idle-close-on-response\n"
	    "frontend fe\n    bind :80\n", &c);
	ok(c.nidle == 0 && c.hard_stop_after && c.master_worker,
	    "the recommended configuration: no advice");

	scan("defaults\n    mode tcp\n"
	    "frontend web  # comment\n    mode http\n"
	    "listen stats\n    bind :8404\n    mode http\n"
	    "    option idle-close-on-response\n"
	    "frontend db\n    bind :5432\n", &c);
	is_int(c.nidle, 1, "tcp defaults: only the http frontend without the option");
	ok(strcmp(c.idle[0].kind, "frontend") == 0 &&
	    strcmp(c.idle[0].name, "web") == 0 && c.idle[0].line == 3,
	    "frontend web, line 3");

	scan("defaults\n    mode http\n    option idle-close-on-response\n"
	    "frontend a\n    no option idle-close-on-response\n"
	    "frontend b\n", &c);
	ok(c.nidle == 1 && strcmp(c.idle[0].name, "a") == 0,
	    "\"no option\" in a frontend undoes its defaults");

	scan("defaults\n    mode http\n"
	    "frontend a\n    option idle-close-on-response\n"
	    "frontend b\n    no option idle-close-on-response\n", &c);
	ok(c.nidle == 2 && strcmp(c.idle[0].kind, "defaults") == 0 &&
	    strcmp(c.idle[1].name, "b") == 0,
	    "defaults named; a frontend saying \"no option\" named too");

	scan("defaults web\n    mode http\n    option idle-close-on-response\n"
	    "defaults tcp\n    mode tcp\n"
	    "frontend a from web\n    bind :80\n"
	    "frontend b\n    bind :81\n    mode http\n", &c);
	ok(c.nidle == 1 && strcmp(c.idle[0].name, "b") == 0,
	    "named defaults and \"from\": a inherits the option, b does not");

	scan("defaults base\n    mode http\n"
	    "defaults more from base\n    timeout client 1s\n"
	    "frontend x from more\n", &c);
	ok(c.nidle == 2 && strcmp(c.idle[0].name, "base") == 0 &&
	    strcmp(c.idle[1].name, "more") == 0,
	    "defaults from defaults inherit mode http");

	scan("defaults\n    mode http\n    option idle-close-on-response\n"
	    "defaults\n    timeout client 1s\n"
	    "frontend f\n    mode http\n", &c);
	ok(c.nidle == 1 && strcmp(c.idle[0].name, "f") == 0,
	    "a new defaults section resets the option");

	scan("global\n    stats socket /run/a.sock mode 600 level admin "
	    "expose-fd listeners\n"
	    "backend be\n    mode http\n", &c);
	ok(c.expose_fd && c.nidle == 0, "expose-fd listeners; backends need no advice");

	scan("", &c);
	ok(c.nidle == 0 && !c.hard_stop_after, "empty configuration");
}

/* A real HAProxy 2.6 in master-worker mode, its frontend on a unix socket. */
static void
test_real_master(const char *dir)
{
	char cfg[256], msock[256], pidf[256], text[1024];
	struct haproxy_reload r;
	struct buf out = BUF_INIT;
	struct proc_opts o = PROC_OPTS_INIT;
	pid_t master = 0, pid;
	int i, st, devnull;
	static const char conf[] =
	    "global\n    maxconn 10\n"
	    "defaults\n    mode http\n    timeout connect 1s\n"
	    "    timeout client 1s\n    timeout server 1s\n"
	    "frontend fe\n    bind unix@%s/fe.sock\n%s";

	if (access("/usr/sbin/haproxy", X_OK) != 0) {
		tap_ok(1, __FILE__, __LINE__, "real master # SKIP no /usr/sbin/haproxy");
		return;
	}
	snprintf(cfg, sizeof(cfg), "%s/h.cfg", dir);
	snprintf(msock, sizeof(msock), "%s/m.sock", dir);
	snprintf(pidf, sizeof(pidf), "%s/h.pid", dir);
	snprintf(text, sizeof(text), conf, dir, "");
	util_write_atomic(cfg, text, strlen(text));
	{
		char *av[] = { "/usr/sbin/haproxy", "-W", "-S", msock, "-f", cfg,
		    "-p", pidf, NULL };

		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		o.out = o.err = devnull;
		pid = proc_spawn(av, &o);
		close(devnull);
	}
	for (i = 0; i < 100; i++) {
		buf_reset(&out);
		if (haproxy_cli(msock, "show proc", 500, &out) == 0 &&
		    out.data != NULL && strstr(out.data, "# workers\n") != NULL &&
		    strstr(out.data, " worker ") != NULL)
			break;
		util_sleep_ms(50);
	}
	ok(pid > 0 && i < 100, "haproxy -W -S started");

	is_int(haproxy_master_reload(msock, 10000, &r, NULL), 0, "master reload");
	is_int(r.result, HAPROXY_CONFIRMED, "confirmed");
	ok(r.newpid > 0 && r.newpid != r.old && r.master == pid,
	    "a new worker PID, the master ours");
	ok(haproxy_pidfile(pidf, &master) == 0 && master == pid,
	    "the pidfile names the master");

	/* Passes -c, fails at start: a unix bind in a directory that is not. */
	snprintf(text, sizeof(text), conf, dir,
	    "frontend fe2\n    bind unix@/nonexistent/dir/fe2.sock\n");
	util_write_atomic(cfg, text, strlen(text));
	buf_reset(&out);
	is_int(haproxy_check("/usr/sbin/haproxy", cfg, 10000, &out), 0,
	    "a config that fails only at start passes -c");
	is_int(haproxy_master_reload(msock, 10000, &r, NULL), 0, "reload it");
	is_int(r.result, HAPROXY_REFUSED, "refused: the failed count grew");
	ok(r.after.failed == r.before.failed + 1, "by one");

	snprintf(text, sizeof(text), conf, dir, "");
	util_write_atomic(cfg, text, strlen(text));
	is_int(haproxy_signal_reload("/proc", pid, 10000, &r), 0, "signal reload");
	is_int(r.result, HAPROXY_CONFIRMED, "confirmed through /proc");
	ok(r.newpid > 0 && r.newpid != r.old, "a new worker");
	/* Right after a reload the master may not answer yet: ask again. */
	for (i = 0, st = -1; i < 50 && st != 0; i++) {
		struct haproxy_proc p;

		buf_reset(&out);
		if (haproxy_cli(msock, "show proc", 1000, &out) == 0 &&
		    out.data != NULL && haproxy_proc_parse(out.data, &p) == 0 &&
		    p.nworkers > 0 && p.workers[0] == r.newpid && p.failed == 0)
			st = 0;
		else
			util_sleep_ms(50);
	}
	is_int(st, 0, "show proc agrees: the new worker, failed back to 0");

	if (pid > 0) {
		kill(pid, SIGTERM);
		if (proc_wait(pid, 5000, &st) == 1) {
			kill(pid, SIGKILL);
			proc_wait(pid, -1, &st);
		}
	}
	unlink(cfg);
	unlink(msock);
	unlink(pidf);
	snprintf(text, sizeof(text), "%s/fe.sock", dir);
	unlink(text);
	buf_free(&out);
}

int
main(void)
{
	char dir[] = "/tmp/galley-haproxy-XXXXXX", p[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_show_proc();
	test_check(dir);
	test_cli_errors(dir);
	test_proc_files(dir);
	test_advice();
	test_real_master(dir);
	snprintf(p, sizeof(p), "%s/good.cfg", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bad.cfg", dir);
	unlink(p);
	rmdir(dir);
	return done_testing();
}
