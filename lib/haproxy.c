/* See COPYING for copyright and license details. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy.h"
#include "proc.h"
#include "util.h"

#define POLL_MS 50		/* between two looks at a reload in progress */
#define QUERY_MS 1500		/* one "show proc" while confirming (then again) */

/* ---------------------------------------------------------- show proc -- */

/* A decimal PID at s, its end in *end; 0 when there is none (or "0"). */
static pid_t
parse_pid(const char *s, const char **end)
{
	long long v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && v <= INT_MAX)
		v = v * 10 + (*p++ - '0');
	*end = p;
	if (p == s || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The word at s (up to a space or the end of the line) equals w? */
static int
word_is(const char *s, const char *w)
{
	size_t n = strlen(w);

	return strncmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == '\t' ||
	    s[n] == '\n' || s[n] == '\r' || s[n] == '\0');
}

/* A count at s, -1 when there is none. */
static int
parse_count(const char *s)
{
	const char *end;
	pid_t v = parse_pid(s, &end);

	return end == s ? -1 : (int)v;
}

int
haproxy_proc_parse(const char *text, struct haproxy_proc *p)
{
	enum { NONE, WORKERS, OLD, OTHER } sect = NONE;
	const char *l, *s, *e;

	memset(p, 0, sizeof(*p));
	p->reloads = p->failed = -1;
	for (l = text; l != NULL && *l != '\0'; l = e != NULL ? e + 1 : NULL) {
		pid_t pid;

		e = strchr(l, '\n');
		if (*l == '#') {
			s = skip_space(l + 1);
			if (word_is(s, "workers"))
				sect = WORKERS;
			else if (strncmp(s, "old workers", 11) == 0)
				sect = OLD;
			else if (*s != '<')	/* the header "#<PID> <type> ..." */
				sect = OTHER;
			continue;
		}
		pid = parse_pid(l, &s);
		if (pid == 0 || (*s != ' ' && *s != '\t'))
			continue;
		s = skip_space(s);
		if (word_is(s, "master") && p->master == 0) {
			p->master = pid;
			s = skip_space(s + 6);
			p->reloads = parse_count(s);
			while (*s >= '0' && *s <= '9')
				s++;
			s = skip_space(s);
			if (strncmp(s, "[failed:", 8) == 0)
				p->failed = parse_count(skip_space(s + 8));
		} else if (word_is(s, "worker") && sect == WORKERS) {
			if (p->nworkers < HAPROXY_PROCS_MAX)
				p->workers[p->nworkers++] = pid;
		} else if (word_is(s, "worker") && sect == OLD) {
			if (p->nold < HAPROXY_PROCS_MAX)
				p->old[p->nold++] = pid;
		}
	}
	return p->master != 0 ? 0 : -1;
}

int
haproxy_proc_has(const struct haproxy_proc *p, pid_t pid)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++)
		if (p->workers[i] == pid)
			return 1;
	for (i = 0; i < p->nold; i++)
		if (p->old[i] == pid)
			return 1;
	return 0;
}

int
haproxy_proc_confirm(const struct haproxy_proc *before,
    const struct haproxy_proc *now, pid_t *newpid)
{
	size_t i;

	if (before->failed >= 0 && now->failed > before->failed)
		return HAPROXY_REFUSED;
	for (i = 0; i < now->nworkers; i++)
		if (!haproxy_proc_has(before, now->workers[i])) {
			*newpid = now->workers[i];
			return HAPROXY_CONFIRMED;
		}
	return HAPROXY_PENDING;
}

/* --------------------------------------------------------- master CLI -- */

static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = { fd, ev, 0 };
	long long left;
	int r;

	for (;;) {
		left = deadline - util_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
cli_connect(const char *sock, long long deadline)
{
	struct sockaddr_un sa;
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A full backlog (a master busy re-executing) says EAGAIN: retry. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (util_now_ms() >= deadline) {
			close(fd);
			errno = ETIMEDOUT;
			return -1;
		}
		util_sleep_ms(10);
	}
	return fd;
}

int
haproxy_cli(const char *sock, const char *cmd, long long timeout_ms,
    struct buf *out)
{
	long long deadline = util_now_ms() + timeout_ms;
	char line[256], chunk[4096];
	size_t len, off = 0;
	ssize_t r;
	int fd, e = 0;

	len = (size_t)snprintf(line, sizeof(line), "%s\n", cmd);
	if (len >= sizeof(line)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = cli_connect(sock, deadline)) < 0)
		return -1;
	while (off < len) {
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			goto fail;
		r = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			goto fail;
		off += (size_t)r;
	}
	shutdown(fd, SHUT_WR);	/* the master answers, then closes */
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto fail;
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		if (out->len + (size_t)r > HAPROXY_CLI_MAX) {
			errno = EFBIG;
			goto fail;
		}
		buf_add(out, chunk, (size_t)r);
	}
	close(fd);
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* -------------------------------------------------------------- check -- */

void
haproxy_check_argv(const char *argv[4], const char *haproxy,
    const char *config)
{
	argv[0] = haproxy;
	argv[1] = "-c";
	argv[2] = "-f";
	argv[3] = config;
}

int
haproxy_check(const char *haproxy, const char *config,
    long long timeout_ms, struct buf *out)
{
	const char *av[5];
	int st, r;

	haproxy_check_argv(av, haproxy, config);
	av[4] = NULL;
	r = proc_run((char *const *)av, timeout_ms, out, &st);
	if (r < 0)
		return -1;
	if (r == 1)
		return 2;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

size_t
haproxy_check_reasons(const char *out, void (*fn)(const char *line, void *arg),
    void *arg)
{
	int alerts = strstr(out, "[ALERT]") != NULL;
	const char *l, *e;
	size_t n = 0;

	for (l = out; *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		char line[1024];
		size_t len;

		e = strchr(l, '\n');
		if (e == NULL)
			e = l + strlen(l);
		len = (size_t)(e - l);
		while (len > 0 && isspace((unsigned char)l[len - 1]))
			len--;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		if (len == 0 || (alerts && strstr(line, "[ALERT]") == NULL))
			continue;
		fn(line, arg);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ reloads -- */

int
haproxy_master_reload(const char *sock, long long timeout_ms,
    struct haproxy_reload *r, struct buf *why)
{
	struct buf out = BUF_INIT;
	long long deadline;
	int st;

	memset(r, 0, sizeof(*r));
	r->result = HAPROXY_PENDING;
	if (haproxy_cli(sock, "show proc", timeout_ms, &out) < 0) {
		buf_free(&out);
		return -1;
	}
	if (haproxy_proc_parse(out.data != NULL ? out.data : "", &r->before) < 0) {
		if (why != NULL && out.data != NULL)
			buf_adds(why, out.data);
		buf_free(&out);
		errno = EPROTO;
		return -1;
	}
	r->master = r->before.master;
	r->old = r->before.nworkers > 0 ? r->before.workers[0] : 0;
	buf_reset(&out);
	/* The master closes this connection when it re-executes itself. */
	if (haproxy_cli(sock, "reload", timeout_ms, &out) < 0 &&
	    errno != ECONNRESET) {
		buf_free(&out);
		return -1;
	}
	deadline = util_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - util_now_ms();

		if (left <= 0)
			break;
		util_sleep_ms(left < POLL_MS ? left : POLL_MS);
		left = deadline - util_now_ms();
		buf_reset(&out);
		/* Right after a reload one query can go unanswered: ask again. */
		if (left <= 0 || haproxy_cli(sock, "show proc", left < QUERY_MS ?
		    left : QUERY_MS, &out) < 0 || out.data == NULL ||
		    haproxy_proc_parse(out.data, &r->after) < 0)
			continue;
		st = haproxy_proc_confirm(&r->before, &r->after, &r->newpid);
		if (st != HAPROXY_PENDING) {
			r->result = st;
			break;
		}
	}
	buf_free(&out);
	return 0;
}

int
haproxy_pidfile(const char *path, pid_t *pid)
{
	const char *end;
	char *data;
	size_t len;
	int e;

	if ((e = util_read_file(path, 4096, &data, &len)) != 0) {
		errno = e;
		return -1;
	}
	*pid = parse_pid(skip_space(data), &end);
	e = *pid == 0 || (*end != '\0' && *end != '\n' && *end != '\r' &&
	    *end != ' ');
	free(data);
	if (e) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
haproxy_stat_ppid(const char *stat, pid_t *ppid)
{
	const char *p = strrchr(stat, ')'), *end;

	/* "pid (comm) state ppid ...": comm may hold spaces and ')' */
	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	if (p[4] == '0' && p[5] == ' ') {
		*ppid = 0;
		return 0;
	}
	*ppid = parse_pid(p + 4, &end);
	return *ppid != 0 && *end == ' ' ? 0 : -1;
}

/* The state letter of a /proc/PID/stat line ('?' when unreadable). */
static char
stat_state(const char *stat)
{
	const char *p = strrchr(stat, ')');

	return p != NULL && p[1] == ' ' && p[2] != '\0' ? p[2] : '?';
}

static int
read_stat(const char *procdir, pid_t pid, char *s, size_t n)
{
	char path[PATH_MAX];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/stat", procdir, (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((r = read(fd, s, n - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (r <= 0)
		return -1;
	s[r] = '\0';
	return 0;
}

static int
read_exe(const char *procdir, pid_t pid, char *exe, size_t n)
{
	char path[PATH_MAX];
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%d/exe", procdir, (int)pid);
	if ((r = readlink(path, exe, n - 1)) < 0)
		return -1;
	exe[r] = '\0';
	return 0;
}

int
haproxy_workers(const char *procdir, pid_t parent, pid_t *pids, size_t max)
{
	char stat[1024], pexe[PATH_MAX], exe[PATH_MAX];
	struct dirent *d;
	int have_exe, n = 0;
	DIR *dir;

	if (read_stat(procdir, parent, stat, sizeof(stat)) < 0) {
		errno = ESRCH;
		return -1;
	}
	have_exe = read_exe(procdir, parent, pexe, sizeof(pexe)) == 0;
	if ((dir = opendir(procdir)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		const char *end;
		pid_t pid = parse_pid(d->d_name, &end), pp;

		if (pid == 0 || *end != '\0' ||
		    read_stat(procdir, pid, stat, sizeof(stat)) < 0 ||
		    haproxy_stat_ppid(stat, &pp) < 0 || pp != parent ||
		    stat_state(stat) == 'Z')
			continue;
		/* Workers are forks of the master; programs exec others. */
		if (have_exe && (read_exe(procdir, pid, exe, sizeof(exe)) < 0 ||
		    strcmp(exe, pexe) != 0))
			continue;
		if ((size_t)n < max)
			pids[n++] = pid;
	}
	closedir(dir);
	return n;
}

static int
in_set(const pid_t *set, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == pid)
			return 1;
	return 0;
}

int
haproxy_signal_reload(const char *procdir, pid_t master,
    long long timeout_ms, struct haproxy_reload *r)
{
	pid_t before[HAPROXY_PROCS_MAX], now[HAPROXY_PROCS_MAX];
	long long deadline;
	int nb, nn, i;

	memset(r, 0, sizeof(*r));
	r->result = HAPROXY_PENDING;
	r->master = master;
	if ((nb = haproxy_workers(procdir, master, before, HAPROXY_PROCS_MAX)) < 0)
		return -1;
	if (nb == 0) {
		errno = ECHILD;
		return -1;
	}
	r->nbefore = (size_t)nb;
	r->old = before[0];
	if (kill(master, SIGUSR2) < 0)
		return -1;
	deadline = util_now_ms() + timeout_ms;
	while (util_now_ms() < deadline) {
		pid_t seen = 0;

		util_sleep_ms(POLL_MS);
		nn = haproxy_workers(procdir, master, now, HAPROXY_PROCS_MAX);
		if (nn < 0) {
			r->result = HAPROXY_REFUSED;	/* the master is gone */
			return 0;
		}
		for (i = 0; i < nn && seen == 0; i++)
			if (!in_set(before, (size_t)nb, now[i]))
				seen = now[i];
		/* A new worker that is still there a look later took over. */
		if (seen != 0 && seen == r->newpid) {
			r->result = HAPROXY_CONFIRMED;
			return 0;
		}
		r->newpid = seen;
	}
	r->newpid = 0;
	return 0;
}

/* ------------------------------------------------------------- advice -- */

#define DEFAULTS_MAX 64

struct settings {
	char name[64];
	int http;		/* mode http */
	int idle_close;		/* option idle-close-on-response */
	int advised;		/* a defaults section named in the advice */
};

struct section {
	int kind;		/* S_* */
	int line;
	char name[64];
	struct settings set;	/* inherited, then its own */
	int own_idle;		/* it says [no] option idle-close-on-response */
	const struct settings *from;
};

enum { S_NONE, S_GLOBAL, S_DEFAULTS, S_FRONTEND, S_BACKEND, S_LISTEN, S_OTHER };

static const char *const section_words[] = {
	"global", "defaults", "frontend", "backend", "listen",
	"peers", "resolvers", "userlist", "program", "cache", "mailers",
	"http-errors", "ring", "log-forward", "namespace_list", "traces",
	"crt-store", "acme",
};

/* Split a configuration line into at most max words (comments dropped). */
static size_t
split_words(char *l, char *w[], size_t max)
{
	size_t n = 0;
	char *p = l;

	while (n < max) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return n;
}

static void
copy_name(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src != NULL ? src : "");
}

/* A section ends: record the advice it needs. */
static void
section_end(struct section *s, struct haproxy_config *c,
    struct settings *defaults, size_t *ndefaults, struct settings *last)
{
	const char *kind = s->kind == S_DEFAULTS ? "defaults" :
	    s->kind == S_FRONTEND ? "frontend" : "listen";
	int advise = 0;

	if (s->kind == S_DEFAULTS) {
		s->set.advised = s->set.http && !s->set.idle_close;
		advise = s->set.advised;
		*last = s->set;
		if (s->name[0] != '\0' && *ndefaults < DEFAULTS_MAX)
			defaults[(*ndefaults)++] = s->set;
	} else if (s->kind == S_FRONTEND || s->kind == S_LISTEN) {
		/* Covered by its defaults' advice unless it says "no option". */
		advise = s->set.http && !s->set.idle_close &&
		    !(s->from != NULL && s->from->advised && !s->own_idle);
	}
	if (!advise)
		return;
	if (c->nidle < HAPROXY_ADVICE_MAX) {
		struct haproxy_advice *a = &c->idle[c->nidle++];

		a->line = s->line;
		copy_name(a->kind, sizeof(a->kind), kind);
		copy_name(a->name, sizeof(a->name), s->name);
	} else {
		c->more++;
	}
}

static const struct settings *
find_defaults(const struct settings *d, size_t n, const char *name)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (strcmp(d[i - 1].name, name) == 0)
			return &d[i - 1];
	return NULL;
}

void
haproxy_config_scan(const char *text, struct haproxy_config *c)
{
	struct settings defaults[DEFAULTS_MAX];
	struct settings last;
	struct section s;
	size_t ndefaults = 0, nw, i;
	const char *l, *e;
	int lineno = 0;

	memset(c, 0, sizeof(*c));
	memset(&last, 0, sizeof(last));
	memset(&s, 0, sizeof(s));
	for (l = text; *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		char line[4096], *w[32];
		size_t len;
		int kind = S_NONE, off = 0;

		lineno++;
		e = strchr(l, '\n');
		if (e == NULL)
			e = l + strlen(l);
		len = (size_t)(e - l);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		if ((nw = split_words(line, w, 32)) == 0)
			continue;
		for (i = 0; i < sizeof(section_words) / sizeof(section_words[0]); i++)
			if (strcmp(w[0], section_words[i]) == 0)
				kind = i < 5 ? (int)i + S_GLOBAL : S_OTHER;
		if (kind != S_NONE) {
			const struct settings *from = &last;

			section_end(&s, c, defaults, &ndefaults, &last);
			memset(&s, 0, sizeof(s));
			s.kind = kind;
			s.line = lineno;
			if (nw > 1 && strcmp(w[1], "from") != 0)
				copy_name(s.name, sizeof(s.name), w[1]);
			for (i = 1; i + 1 < nw; i++)
				if (strcmp(w[i], "from") == 0)
					from = find_defaults(defaults, ndefaults,
					    w[i + 1]);
			if (kind == S_DEFAULTS) {
				/* A defaults section starts afresh, or "from" one. */
				if (from != &last && from != NULL)
					s.set = *from;
				s.set.advised = 0;
				copy_name(s.set.name, sizeof(s.set.name), s.name);
			} else if (kind == S_FRONTEND || kind == S_LISTEN ||
			    kind == S_BACKEND) {
				s.from = from;
				if (from != NULL)
					s.set = *from;
			}
			continue;
		}
		if (strcmp(w[0], "no") == 0 && nw > 1)
			off = 1;
		if (s.kind == S_GLOBAL) {
			if (strcmp(w[0], "hard-stop-after") == 0)
				c->hard_stop_after = 1;
			else if (strcmp(w[0], "master-worker") == 0)
				c->master_worker = 1;
			else if (strcmp(w[0], "stats") == 0 && nw > 1 &&
			    strcmp(w[1], "socket") == 0)
				for (i = 2; i + 1 < nw; i++)
					if (strcmp(w[i], "expose-fd") == 0 &&
					    strcmp(w[i + 1], "listeners") == 0)
						c->expose_fd = 1;
			continue;
		}
		if (s.kind != S_DEFAULTS && s.kind != S_FRONTEND &&
		    s.kind != S_LISTEN && s.kind != S_BACKEND)
			continue;
		if (strcmp(w[0], "mode") == 0 && nw > 1) {
			s.set.http = strcmp(w[1], "http") == 0;
		} else if (nw > (size_t)off + 1 && strcmp(w[off], "option") == 0 &&
		    strcmp(w[off + 1], "idle-close-on-response") == 0) {
			s.set.idle_close = !off;
			s.own_idle = 1;
		}
	}
	section_end(&s, c, defaults, &ndefaults, &last);
}

int
haproxy_migrate_req(const char *path)
{
	char *data;
	size_t len;
	int v;

	if (util_read_file(path, 64, &data, &len) != 0)
		return -1;
	v = data[0] == '0' ? 0 : data[0] >= '1' && data[0] <= '9' ? 1 : -1;
	free(data);
	return v;
}
