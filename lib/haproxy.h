/* See COPYING for copyright and license details. */
/*
 * haproxy: what haproxy-reload needs to know about a running HAProxy: the
 * configuration check, the master CLI (a client, the parser of "show proc"),
 * a master's workers through /proc, the two reloads it confirms (master CLI,
 * SIGUSR2), and the advice read from a configuration. Every struct is the
 * caller's; text goes into the caller's struct buf.
 */
#ifndef GALLEY_HAPROXY_H
#define GALLEY_HAPROXY_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define HAPROXY_PROCS_MAX 256	/* workers kept from one "show proc" */
#define HAPROXY_CLI_MAX (1024 * 1024)	/* cap on one master CLI answer */

/* One answer to "show proc" (HAProxy 2.5 and later print [failed: N]). */
struct haproxy_proc {
	pid_t master;		/* 0: none listed */
	int reloads;		/* the master's reload count, -1: not shown */
	int failed;		/* failed reloads since the last success, -1: not shown */
	size_t nworkers;	/* under "# workers": the current ones */
	pid_t workers[HAPROXY_PROCS_MAX];
	size_t nold;		/* under "# old workers": still finishing */
	pid_t old[HAPROXY_PROCS_MAX];
};

/*
 * Parse the master CLI's answer to "show proc". Returns 0, or -1 when text
 * is not one (no master line).
 */
int haproxy_proc_parse(const char *text, struct haproxy_proc *p);

/* Is pid listed as a current or an old worker? */
int haproxy_proc_has(const struct haproxy_proc *p, pid_t pid);

enum { HAPROXY_PENDING, HAPROXY_CONFIRMED, HAPROXY_REFUSED };

/*
 * Compare "show proc" after a reload with before: HAPROXY_REFUSED when the
 * failed count grew, HAPROXY_CONFIRMED (*newpid set) when a current worker
 * was not there before, else HAPROXY_PENDING.
 */
int haproxy_proc_confirm(const struct haproxy_proc *before,
    const struct haproxy_proc *now, pid_t *newpid);

/*
 * Send one command line to the master CLI at sock and read the answer to
 * its end (we half-close; the master closes), at most HAPROXY_CLI_MAX bytes,
 * within timeout_ms. Returns 0, or -1 with errno: ETIMEDOUT no answer in
 * time, ECONNRESET closed by a reset (as a reload that fails at bind does),
 * EFBIG too long, else connect's or read's.
 */
int haproxy_cli(const char *sock, const char *cmd, long long timeout_ms,
    struct buf *out);

/*
 * argv for the configuration check, "haproxy -c -f config", in argv[4];
 * the strings stay the caller's.
 */
void haproxy_check_argv(const char *argv[4], const char *haproxy,
    const char *config);

/*
 * Run the check with its output (stdout and stderr) in out. Returns 0 valid,
 * 1 invalid, 2 timed out (it was killed), -1 it could not be run (errno:
 * ENOENT not found).
 */
int haproxy_check(const char *haproxy, const char *config,
    long long timeout_ms, struct buf *out);

/*
 * The lines of HAProxy's output that say why: [ALERT] lines, or every
 * non-empty line when there are none. Calls fn once per line (without its
 * newline) and returns how many.
 */
size_t haproxy_check_reasons(const char *out,
    void (*fn)(const char *line, void *arg), void *arg);

/* The outcome of a confirmed reload, for messages. */
struct haproxy_reload {
	int result;		/* HAPROXY_CONFIRMED, _REFUSED or _PENDING (timed out) */
	pid_t master;
	pid_t newpid;		/* the new worker when confirmed */
	struct haproxy_proc before, after;	/* master: the two answers */
	size_t nbefore;		/* signal: workers before */
	pid_t old;		/* a worker from before (0: none) */
};

/*
 * The "master" method: "show proc", "reload", then "show proc" until the
 * reload is confirmed or refused, each wait at most timeout_ms. Returns 0
 * with r filled (r->result), or -1 when the socket did not answer the
 * first "show proc" or "reload" (errno; EPROTO: not a master CLI), with
 * the answer in why when there was one.
 */
int haproxy_master_reload(const char *sock, long long timeout_ms,
    struct haproxy_reload *r, struct buf *why);

/* The PID on the first line of a pidfile. Returns 0, or -1 with errno. */
int haproxy_pidfile(const char *path, pid_t *pid);

/*
 * The parent in a /proc/PID/stat line. Returns 0, or -1 when the line is
 * not one.
 */
int haproxy_stat_ppid(const char *stat, pid_t *ppid);

/*
 * The children of parent running the same executable (HAProxy workers,
 * not programs), from procdir (normally "/proc"), at most max of them.
 * Returns how many, or -1 with errno (ESRCH: parent does not exist).
 */
int haproxy_workers(const char *procdir, pid_t parent, pid_t *pids, size_t max);

/*
 * The "signal" method: SIGUSR2 to master, then its workers until a new one
 * shows and is still there a look later, at most timeout_ms (REFUSED: the
 * master ended). Returns 0 with r->result HAPROXY_CONFIRMED or
 * HAPROXY_PENDING (none in time), or -1 with errno: ESRCH no such process,
 * ECHILD it has no worker (not a master), else kill's.
 */
int haproxy_signal_reload(const char *procdir, pid_t master,
    long long timeout_ms, struct haproxy_reload *r);

/* What the configuration says about losing requests at a reload. */
#define HAPROXY_ADVICE_MAX 32
struct haproxy_advice {
	int line;		/* where the section starts */
	char kind[16];		/* "defaults", "frontend" or "listen" */
	char name[64];		/* "" for an unnamed defaults section */
};

struct haproxy_config {
	int hard_stop_after;	/* set in global */
	int master_worker;	/* "master-worker" in global */
	int expose_fd;		/* a "stats socket ... expose-fd listeners" */
	size_t nidle;		/* mode http sections closing idle keep-alive */
	struct haproxy_advice idle[HAPROXY_ADVICE_MAX];
	size_t more;		/* such sections beyond HAPROXY_ADVICE_MAX */
};

/*
 * Read a configuration's text for the advice: the defaults, frontend and
 * listen sections in mode http without "option idle-close-on-response"
 * (a defaults section is named, not every section inheriting from it), and
 * the global settings above.
 */
void haproxy_config_scan(const char *text, struct haproxy_config *c);

/*
 * net.ipv4.tcp_migrate_req from path (normally
 * /proc/sys/net/ipv4/tcp_migrate_req): 0 or 1, -1 when there is none
 * (a kernel older than 5.14).
 */
int haproxy_migrate_req(const char *path);

#endif
