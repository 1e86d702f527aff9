/* See COPYING for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define PROC_OUT_MAX (64 * 1024)

/*
 * In the child: what a freshly exec'd program expects to inherit. glibc
 * refuses sigaction() on the two signals it reserves (32 and 33), which
 * an ignoring parent can still pass on, so those go to the kernel
 * directly: its struct is handler, flags, restorer, 64-bit mask.
 */
static void
reset_signals(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long long mask;
	} ksa = { SIG_DFL, 0, NULL, 0 };
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, &sa, NULL) < 0 && sig != SIGKILL &&
		    sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
retry_dup2(int from, int to)
{
	int r;

	if (from < 0 || from == to)
		return 0;
	while ((r = dup2(from, to)) < 0 && errno == EINTR)
		;
	return r;
}

pid_t
proc_spawn(char *const argv[], const struct proc_opts *o)
{
	return proc_spawn_env(argv, NULL, o);
}

pid_t
proc_spawn_env(char *const argv[], char *const envp[],
    const struct proc_opts *o)
{
	struct proc_opts def = PROC_OPTS_INIT;
	int pfd[2], err = 0, st;
	ssize_t r;
	pid_t pid;

	if (o == NULL)
		o = &def;
	/* The child reports an exec failure through a close-on-exec pipe. */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(pfd[0]);
		close(pfd[1]);
		errno = err;
		return -1;
	}
	if (pid == 0) {
		if (o->new_pgrp)
			setpgid(0, 0);
		if (retry_dup2(o->in, 0) < 0 || retry_dup2(o->out, 1) < 0 ||
		    retry_dup2(o->err, 2) < 0) {
			err = errno;
		} else {
			reset_signals();
			util_coverage_flush();
			if (envp != NULL)
				execvpe(argv[0], argv, envp);
			else
				execvp(argv[0], argv);
			err = errno;
		}
		while (write(pfd[1], &err, sizeof(err)) < 0 && errno == EINTR)
			;
		_exit(proc_exec_status(err));
	}
	close(pfd[1]);
	while ((r = read(pfd[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (r == (ssize_t)sizeof(err)) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		errno = err;
		return -1;
	}
	return pid;
}

int
proc_exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

int
proc_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

static int
pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

int
proc_wait(pid_t pid, long long timeout_ms, int *wstatus)
{
	long long deadline = util_now_ms() + timeout_ms;
	int fd = -1;
	pid_t r;

	for (;;) {
		r = waitpid(pid, wstatus, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (timeout_ms >= 0 && util_now_ms() >= deadline) {
			if (fd >= 0)
				close(fd);
			return 1;
		}
		if (fd < 0)
			fd = pidfd_open_(pid);
		if (fd >= 0) {
			struct pollfd p = { fd, POLLIN, 0 };
			long long left = timeout_ms < 0 ? -1 :
			    deadline - util_now_ms();

			poll(&p, 1, left < 0 ? -1 : (int)(left > 1000 ? 1000 : left));
		} else {
			util_sleep_ms(10);	/* no pidfd: poll */
		}
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int
proc_stop(pid_t pid, long long grace_ms)
{
	int st = 0;

	kill(pid, SIGTERM);
	if (proc_wait(pid, grace_ms, &st) == 1) {
		kill(pid, SIGKILL);
		proc_wait(pid, -1, &st);
	}
	return st;
}

int
proc_run(char *const argv[], long long timeout_ms, struct buf *out,
    int *wstatus)
{
	struct proc_opts o = PROC_OPTS_INIT;
	long long deadline = util_now_ms() + timeout_ms;
	int pfd[2], timed_out = 0, e;
	char chunk[4096];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	o.out = o.err = pfd[1];
	o.in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid = proc_spawn(argv, &o);
	e = errno;
	close(pfd[1]);
	if (o.in >= 0)
		close(o.in);
	if (pid < 0) {
		close(pfd[0]);
		errno = e;
		return -1;
	}
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		long long left = deadline - util_now_ms();
		ssize_t r;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		r = read(pfd[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out != NULL && out->len < PROC_OUT_MAX)
			buf_add(out, chunk, (size_t)r > PROC_OUT_MAX - out->len ?
			    PROC_OUT_MAX - out->len : (size_t)r);
	}
	close(pfd[0]);
	if (timed_out) {
		*wstatus = proc_stop(pid, 1000);
		return 1;
	}
	/* Output closed; the child may still linger (a daemon that kept no fd). */
	if (proc_wait(pid, deadline - util_now_ms(), wstatus) == 1) {
		*wstatus = proc_stop(pid, 1000);
		return 1;
	}
	return 0;
}

void
proc_forward_set(sigset_t *set)
{
	sigfillset(set);	/* glibc leaves out its own two */
	sigdelset(set, SIGKILL);
	sigdelset(set, SIGSTOP);
	sigdelset(set, SIGCHLD);
}

int
proc_reaper(void)
{
	if (getpid() == 1)
		return 1;
	return prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == 0 ? 0 : -1;
}

pid_t
proc_reap(int *wstatus)
{
	pid_t pid;

	while ((pid = waitpid(-1, wstatus, WNOHANG)) < 0 && errno == EINTR)
		;
	return pid;
}

static const char *const signames[] = {
	[SIGHUP] = "HUP", [SIGINT] = "INT", [SIGQUIT] = "QUIT",
	[SIGILL] = "ILL", [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",
	[SIGBUS] = "BUS", [SIGFPE] = "FPE", [SIGKILL] = "KILL",
	[SIGUSR1] = "USR1", [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE", [SIGALRM] = "ALRM", [SIGTERM] = "TERM",
#ifdef SIGSTKFLT
	[SIGSTKFLT] = "STKFLT",
#endif
	[SIGCHLD] = "CHLD", [SIGCONT] = "CONT", [SIGSTOP] = "STOP",
	[SIGTSTP] = "TSTP", [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",
	[SIGURG] = "URG", [SIGXCPU] = "XCPU", [SIGXFSZ] = "XFSZ",
	[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
	[SIGIO] = "IO", [SIGPWR] = "PWR", [SIGSYS] = "SYS",
};

int
proc_signal_parse(const char *s)
{
	const char *p = s;
	char *end;
	long n;
	size_t i;

	if (strcasecmp(s, "NONE") == 0)
		return 0;
	if (*p >= '0' && *p <= '9') {
		n = strtol(p, &end, 10);
		return *end == '\0' && n >= 0 && n < NSIG ? (int)n : -1;
	}
	if (strncasecmp(p, "SIG", 3) == 0)
		p += 3;
	for (i = 1; i < sizeof(signames) / sizeof(signames[0]); i++)
		if (signames[i] != NULL && strcasecmp(p, signames[i]) == 0)
			return (int)i;
	if (strcasecmp(p, "IOT") == 0)
		return SIGABRT;
	if (strcasecmp(p, "POLL") == 0)
		return SIGIO;
	if (strncasecmp(p, "RTMIN", 5) == 0 || strncasecmp(p, "RTMAX", 5) == 0) {
		int base = strncasecmp(p, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;

		if (p[5] == '\0')
			return base;
		if ((p[5] != '+' && p[5] != '-') || p[6] < '0' || p[6] > '9')
			return -1;
		n = strtol(p + 5, &end, 10);
		if (*end != '\0')
			return -1;
		n += base;
		return n >= SIGRTMIN && n <= SIGRTMAX ? (int)n : -1;
	}
	return -1;
}

const char *
proc_signal_name(int sig, char *buf, size_t n)
{
	if (sig > 0 && (size_t)sig < sizeof(signames) / sizeof(signames[0]) &&
	    signames[sig] != NULL)
		snprintf(buf, n, "SIG%s", signames[sig]);
	else if (sig == SIGRTMIN)
		snprintf(buf, n, "SIGRTMIN");
	else if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, n, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, n, "signal %d", sig);
	return buf;
}
