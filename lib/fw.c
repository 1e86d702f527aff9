/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fw.h"
#include "log.h"
#include "proc.h"
#include "util.h"

void
fw_rule_argv(struct fw_rule *r, const char *tool, const char *op,
    unsigned port)
{
	const char *const words[] = { tool, "-w", op, "INPUT", "-p", "tcp",
	    "--dport", r->port, "--syn", "-m", "comment", "--comment",
	    r->comment, "-j", "DROP" };
	size_t i;

	snprintf(r->port, sizeof(r->port), "%u", port);
	snprintf(r->comment, sizeof(r->comment), FW_TAG "%u", port);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		r->argv[i] = words[i];
	r->argv[i] = NULL;
}

int
fw_ports_parse(const char *s, unsigned *ports, size_t max)
{
	size_t n = 0, i;
	const char *p = s;

	for (;;) {
		unsigned long v = 0;
		const char *start = p;

		while (*p >= '0' && *p <= '9' && v <= 65535)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == start || v == 0 || v > 65535 || (*p != ',' && *p != '\0'))
			return -1;
		for (i = 0; i < n; i++)
			if (ports[i] == v)
				return -1;
		if (n == max)
			return -1;
		ports[n++] = (unsigned)v;
		if (*p == '\0')
			return (int)n;
		p++;
	}
}

int
fw_split(const char *line, char *store, size_t storelen, char *w[], size_t max)
{
	const char *p = line;
	size_t n = 0, o = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n')
			return (int)n;
		if (n == max)
			return -1;
		w[n++] = store + o;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				if (*p == '\0' || *p == '\n' || o + 1 >= storelen)
					return -1;
				store[o++] = *p;
			}
			p++;
			if (*p != ' ' && *p != '\t' && *p != '\0' && *p != '\n')
				return -1;
		} else {
			while (*p != ' ' && *p != '\t' && *p != '\0' && *p != '\n') {
				if (o + 1 >= storelen)
					return -1;
				store[o++] = *p++;
			}
		}
		if (o + 1 >= storelen)
			return -1;
		store[o++] = '\0';
	}
}

/* A rule spec of ours: "-A INPUT ... --comment haproxy-reload:N ..." */
static int
tagged(char *const w[], int n)
{
	int i;

	if (n < 2 || strcmp(w[0], "-A") != 0 || strcmp(w[1], "INPUT") != 0)
		return 0;
	for (i = 2; i + 1 < n; i++)
		if (strcmp(w[i], "--comment") == 0 &&
		    strncmp(w[i + 1], FW_TAG, strlen(FW_TAG)) == 0)
			return 1;
	return 0;
}

int
fw_stale_next(const char **pos, const char *tool, struct fw_stale *s)
{
	const char *l = *pos, *e;
	char *w[FW_ARGV_MAX - 3];
	int n, i;

	for (; *l != '\0'; l = e) {
		size_t len;

		e = strchr(l, '\n');
		e = e != NULL ? e + 1 : l + strlen(l);
		len = (size_t)(e - l);
		if (len > 0 && l[len - 1] == '\n')
			len--;
		if (len >= sizeof(s->line))
			continue;	/* not one of ours: ours are short */
		memcpy(s->line, l, len);
		s->line[len] = '\0';
		n = fw_split(s->line, s->store, sizeof(s->store), w,
		    sizeof(w) / sizeof(w[0]) - 1);
		if (n < 0 || !tagged(w, n))
			continue;
		s->argv[0] = tool;
		s->argv[1] = "-w";
		s->argv[2] = "-D";
		for (i = 1; i < n; i++)
			s->argv[2 + i] = w[i];
		s->argv[2 + n] = NULL;
		*pos = e;
		return 1;
	}
	*pos = l;
	return 0;
}

int
fw_present(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char full[PATH_MAX];

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = e + 1) {
		int len;

		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		len = (int)(e - p);
		if (len == 0)
			snprintf(full, sizeof(full), "%s", name);
		else
			snprintf(full, sizeof(full), "%.*s/%s", len, p, name);
		if (access(full, X_OK) == 0)
			return 1;
		if (*e == '\0')
			return 0;
	}
}

/* The first line of a tool's output, for messages. */
static const char *
first_line(struct buf *b)
{
	char *nl;

	if (b->data == NULL || b->len == 0)
		return "no message";
	if ((nl = strchr(b->data, '\n')) != NULL)
		*nl = '\0';
	return b->data;
}

/*
 * Run one iptables command. Returns 0, or -1 after saying why (errno
 * ENOENT when the tool is not found).
 */
static int
run_tool(const char *const argv[], long long timeout_ms, const char *what,
    struct buf *out)
{
	struct buf b = BUF_INIT;
	int st, r, e;

	if (out == NULL)
		out = &b;
	r = proc_run((char *const *)argv, timeout_ms, out, &st);
	if (r < 0) {
		e = errno;
		log_err("%s: cannot run:", argv[0]);
		buf_free(&b);
		errno = e;
		return -1;
	}
	if (r == 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (r == 1)
			log_err("%s: %s: no answer in %lld ms", argv[0], what,
			    timeout_ms);
		else
			log_err("%s: %s: %s", argv[0], what, first_line(out));
		buf_free(&b);
		errno = EIO;
		return -1;
	}
	buf_free(&b);
	return 0;
}

int
fw_clear_stale(const char *tool, long long timeout_ms)
{
	const char *list[] = { tool, "-w", "-S", "INPUT", NULL }, *pos;
	struct buf out = BUF_INIT;
	struct fw_stale s;
	int n = 0;

	if (run_tool(list, timeout_ms, "list INPUT", &out) < 0) {
		buf_free(&out);
		return -1;
	}
	pos = out.data != NULL ? out.data : "";
	while (fw_stale_next(&pos, tool, &s)) {
		log_warn("%s: removing a rule left by an earlier run: %s", tool,
		    s.line);
		if (run_tool(s.argv, timeout_ms, "delete a stale rule", NULL) < 0) {
			buf_free(&out);
			return -1;
		}
		n++;
	}
	buf_free(&out);
	return n;
}

/* ------------------------------------------------------------ the hold -- */

struct held {
	struct fw_hold *h;
	char in[2][FW_PORTS_MAX];	/* which rules are in */
	long long since;		/* when the first went in */
	int any;
};

static int
rules_in(struct held *k)
{
	size_t t, i;

	for (t = 0; t < 2; t++)
		for (i = 0; i < k->h->nports; i++)
			if (k->in[t][i])
				return 1;
	return 0;
}

/* Take out every rule that is in; returns 0, or -1 if one stays. */
static int
remove_rules(struct held *k)
{
	struct fw_rule r;
	int rc = 0, try;
	size_t t, i;

	for (t = 0; t < 2; t++)
		for (i = 0; i < k->h->nports; i++) {
			if (!k->in[t][i])
				continue;
			fw_rule_argv(&r, k->h->tools[t], "-D", k->h->ports[i]);
			for (try = 0; try < 2; try++)
				if (run_tool(r.argv, k->h->timeout_ms, "delete",
				    NULL) == 0)
					break;
			if (try < 2) {
				k->in[t][i] = 0;
			} else {
				log_err("%s: the rule for port %u is still in: "
				    "remove it with: %s -D INPUT -p tcp --dport %u "
				    "--syn -m comment --comment %s -j DROP",
				    k->h->tools[t], k->h->ports[i], k->h->tools[t],
				    k->h->ports[i], r.comment);
				rc = -1;
			}
		}
	if (k->any)
		k->h->held_ms = util_now_ms() - k->since;
	k->any = 0;
	return rc;
}

static int
insert_rules(struct held *k)
{
	struct fw_rule r;
	size_t t, i;

	for (i = 0; i < k->h->nports; i++)
		for (t = 0; t < 2; t++) {
			if (k->h->tools[t] == NULL)
				continue;
			fw_rule_argv(&r, k->h->tools[t], "-I", k->h->ports[i]);
			if (run_tool(r.argv, k->h->timeout_ms, "insert", NULL) < 0) {
				if (t == 1) {	/* IPv6 off on this host, say */
					log_warn("%s: port %u: IPv6 SYNs are not held",
					    k->h->tools[t], k->h->ports[i]);
					continue;
				}
				return -1;
			}
			if (!k->any) {
				k->since = util_now_ms();
				k->any = 1;
			}
			k->in[t][i] = 1;
		}
	return 0;
}

/* Wait for a signal in set, at most ms. Returns it, or 0. */
static int
wait_signal(const sigset_t *set, long long ms)
{
	struct timespec ts;
	int sig;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

int
fw_hold(struct fw_hold *h)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP };
	struct held k;
	sigset_t set, old;
	long long now, cmd_deadline = 0, hold_end;
	pid_t pid = -1;
	size_t i;
	int rc = FW_OK, sig, e;

	memset(&k, 0, sizeof(k));
	k.h = h;
	h->ran = h->exec_errno = h->wstatus = h->timed_out = h->cut = 0;
	h->signal = 0;
	h->held_ms = 0;
	/* Stop signals wait until the rules are out (not those ignored). */
	sigemptyset(&set);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		struct sigaction sa;

		if (sigaction(stops[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&set, stops[i]);
	}
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);

	if (insert_rules(&k) < 0) {
		e = errno;
		rc = remove_rules(&k) < 0 ? FW_EREMOVE : FW_EINSERT;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = e;
		return rc;
	}
	hold_end = k.since + h->max_hold_ms;

	/* Settle: connections already in the handshake complete. */
	while ((now = util_now_ms()) < k.since + h->settle_ms) {
		sig = wait_signal(&set, k.since + h->settle_ms - now);
		if (sig != 0 && sig != SIGCHLD) {
			h->signal = sig;
			goto out;
		}
	}

	pid = proc_spawn(h->argv, NULL);
	if (pid < 0) {
		h->exec_errno = errno;
		goto out;
	}
	h->ran = 1;
	cmd_deadline = util_now_ms() + h->timeout_ms;
	for (;;) {
		int st;
		pid_t r;

		while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
			;
		if (r == pid) {
			h->wstatus = st;
			pid = -1;
			break;
		}
		now = util_now_ms();
		if (!h->cut && rules_in(&k) && now >= hold_end) {
			h->cut = 1;	/* once: a rule that stays is tried again at the end */
			if (remove_rules(&k) < 0)
				rc = FW_EREMOVE;
		}
		if (now >= cmd_deadline) {
			h->timed_out = 1;
			h->wstatus = proc_stop(pid, 1000);
			pid = -1;
			break;
		}
		sig = wait_signal(&set, (!h->cut && rules_in(&k) &&
		    hold_end < cmd_deadline ? hold_end : cmd_deadline) - now);
		if (sig != 0 && sig != SIGCHLD) {
			h->signal = sig;
			break;
		}
	}
out:
	if (remove_rules(&k) < 0)
		rc = FW_EREMOVE;
	if (pid > 0) {	/* stopped by a signal: the rules are out first */
		h->wstatus = proc_stop(pid, 1000);
	}
	/* Drop a SIGCHLD left pending, then let the caller see the rest. */
	{
		sigset_t chld;
		struct timespec zero = { 0, 0 };

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		while (sigtimedwait(&chld, NULL, &zero) > 0)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
