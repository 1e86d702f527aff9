/* See COPYING for copyright and license details. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "sup.h"
#include "util.h"

static int
is_stop(int sig)
{
	return sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
}

void
sup_defaults(struct sup *s, const char *name)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NSIG; i++)
		s->rewrite[i] = i;
	s->name = name;
	s->sfd = -1;
}

int
sup_rewrite_parse(struct sup *s, const char *spec, char *err, size_t errlen)
{
	char *list = estrdup(spec), *item, *save = NULL;
	int rc = 0;

	for (item = strtok_r(list, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		int from, to;

		if (colon == NULL) {
			snprintf(err, errlen, "%s: expected FROM:TO, as TERM:QUIT",
			    item);
			rc = -1;
			break;
		}
		*colon = '\0';
		from = proc_signal_parse(item);
		to = proc_signal_parse(colon + 1);
		if (from <= 0 || to < 0 || from == SIGKILL || from == SIGSTOP ||
		    from == SIGCHLD) {
			snprintf(err, errlen, "%s:%s is not a pair of signals that "
			    "can be forwarded", item, colon + 1);
			rc = -1;
			break;
		}
		s->rewrite[from] = to;
	}
	free(list);
	return rc;
}

int
sup_init(struct sup *s)
{
	sigset_t set;
	int sig;

	proc_forward_set(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			signal(sig, SIG_DFL);
	if ((s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return -1;
	if (proc_reaper() < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s: orphans of %s will not be "
		    "reaped here", strerror(errno), s->name);
	return 0;
}

int
sup_start(struct sup *s, char *const argv[], char *const envp[])
{
	struct proc_opts po = PROC_OPTS_INIT;
	pid_t pid;

	po.new_pgrp = s->group;
	fflush(stderr);
	if ((pid = proc_spawn_env(argv, envp, &po)) < 0)
		return -1;
	s->pid = pid;
	s->running = 1;
	s->ended = 0;
	s->kill_at = 0;
	log_debug("started %s (pid %ld)", s->name, (long)pid);
	return 0;
}

/* Send sig to the command; stop: it asks the command to stop (--grace). */
static void
deliver(struct sup *s, int sig, int stop)
{
	char name[32];

	if (!s->running || sig == 0)
		return;
	if (kill(s->group ? -s->pid : s->pid, sig) < 0)
		log_debug("forward %s to %ld:", proc_signal_name(sig, name,
		    sizeof(name)), (long)s->pid);
	if (stop && s->grace_ms > 0 && s->kill_at == 0)
		s->kill_at = util_now_ms() + s->grace_ms;
}

void
sup_stop(struct sup *s)
{
	deliver(s, s->rewrite[SIGTERM] ? s->rewrite[SIGTERM] : SIGTERM, 1);
}

static void
reap(struct sup *s)
{
	char name[32];
	pid_t pid;
	int st;

	while ((pid = proc_reap(&st)) > 0) {
		if (pid != s->pid || !s->running)
			continue;	/* an orphan, or a helper of the caller's */
		s->running = 0;
		s->ended = 1;
		s->status = st;
		s->kill_at = 0;
		if (WIFSIGNALED(st))
			log_info("%s was killed by %s%s", s->name,
			    proc_signal_name(WTERMSIG(st), name, sizeof(name)),
			    WCOREDUMP(st) ? " (core dumped)" : "");
		else
			log_debug("%s exited with status %d", s->name,
			    proc_status(st));
	}
}

/* One signal received: forward it; 1 when it is the caller's (*sig). */
static int
received(struct sup *s, const struct signalfd_siginfo *si, int *sig)
{
	int got = (int)si->ssi_signo, to = s->rewrite[got];
	char a[32], b[32];

	if ((si->ssi_code == SI_USER || si->ssi_code == SI_TKILL) &&
	    (pid_t)si->ssi_pid == getpid())
		return 0;	/* our own doing: SIGPIPE on stderr */
	if (!s->running) {
		if (is_stop(got) || got == SIGHUP) {
			*sig = got;
			return 1;
		}
		return 0;
	}
	if (to != got)
		log_debug("forwarding %s as %s", proc_signal_name(got, a, sizeof(a)),
		    to ? proc_signal_name(to, b, sizeof(b)) : "nothing");
	/* TERM rewritten to QUIT or USR1 is still a request to stop. */
	if (to != 0 && (is_stop(got) || is_stop(to))) {
		s->stopping = 1;
		deliver(s, to, 1);
	} else {
		deliver(s, to, 0);
	}
	return 0;
}

enum sup_event
sup_wait(struct sup *s, int fd, int *sig)
{
	for (;;) {
		struct pollfd p[2] = { { s->sfd, POLLIN, 0 }, { fd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		long long now, left = -1;

		if (s->ended) {
			s->ended = 0;
			return SUP_ENDED;
		}
		now = util_now_ms();
		if (s->kill_at > 0 && now >= s->kill_at) {
			log_info("%s outlived --grace %lldms: SIGKILL", s->name,
			    s->grace_ms);
			s->kill_at = 0;
			if (s->running)
				kill(s->group ? -s->pid : s->pid, SIGKILL);
		}
		if (s->kill_at > 0)
			left = s->kill_at - now;
		if (poll(p, fd >= 0 ? 2 : 1, left > INT32_MAX ? INT32_MAX :
		    (int)left) < 0 && errno != EINTR)
			util_sleep_ms(10);	/* ENOMEM: try again */
		while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap(s);
			else if (received(s, &si, sig))
				return SUP_SIGNALLED;
		}
		if (s->ended)
			continue;
		if (fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			return SUP_READABLE;
	}
}
