/* See COPYING for copyright and license details. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"
#include "util.h"

static int
run(char *const argv[], long long timeout, struct buf *out)
{
	int st = -1, r = proc_run(argv, timeout, out, &st);

	return r < 0 ? -1000 - errno : r == 1 ? -1 : proc_status(st);
}

static void
test_supervisor_bits(void)
{
	char *envcmd[] = { "sh", "-c", "printf '%s|%s' \"$A\" \"${B-unset}\"", NULL };
	char *envp[] = { "A=x y $(id)", "PATH=/usr/bin:/bin", NULL };
	char name[32];
	sigset_t set;
	pid_t pid;
	int st, p[2];
	char got[64] = "";
	ssize_t n;

	is_int(proc_signal_parse("TERM"), SIGTERM, "signal name TERM");
	is_int(proc_signal_parse("sigquit"), SIGQUIT, "SIGQUIT in any case");
	is_int(proc_signal_parse("15"), 15, "a number");
	is_int(proc_signal_parse("0"), 0, "0");
	is_int(proc_signal_parse("none"), 0, "NONE is 0");
	is_int(proc_signal_parse("RTMIN+2"), SIGRTMIN + 2, "RTMIN+2");
	is_int(proc_signal_parse("RTMAX"), SIGRTMAX, "RTMAX");
	is_int(proc_signal_parse("TERMX"), -1, "not a signal");
	is_int(proc_signal_parse("99"), -1, "out of range");
	is_int(proc_signal_parse("RTMAX+1"), -1, "past RTMAX");
	is_str(proc_signal_name(SIGUSR1, name, sizeof(name)), "SIGUSR1", "name of 10");
	is_str(proc_signal_name(SIGRTMIN + 1, name, sizeof(name)), "SIGRTMIN+1",
	    "name of a real-time signal");

	proc_forward_set(&set);
	ok(sigismember(&set, SIGTERM) && sigismember(&set, SIGHUP) &&
	    sigismember(&set, SIGWINCH) && sigismember(&set, SIGUSR2) &&
	    sigismember(&set, SIGRTMIN) && sigismember(&set, SIGRTMAX),
	    "forward set: the catchable ones");
	ok(!sigismember(&set, SIGCHLD) && !sigismember(&set, SIGKILL) &&
	    !sigismember(&set, SIGSTOP), "forward set: not CHLD, KILL, STOP");

	if (pipe(p) == 0) {
		struct proc_opts o = PROC_OPTS_INIT;

		o.out = p[1];
		pid = proc_spawn_env(envcmd, envp, &o);
		close(p[1]);
		n = read(p[0], got, sizeof(got) - 1);
		got[n > 0 ? n : 0] = '\0';
		close(p[0]);
		proc_wait(pid, -1, &st);
		is_str(got, "x y $(id)|unset", "proc_spawn_env: exactly that environment");
	}

	ok(proc_reaper() == 0, "proc_reaper: a subreaper when not PID 1");
	{
		/* A grandchild orphaned by its parent comes back to us. */
		char *orphan[] = { "sh", "-c", "sleep 0.2 & exit 0", NULL };
		long long t0 = util_now_ms();
		int reaped = 0;

		ok(proc_spawn(orphan, NULL) > 0, "a command that leaves an orphan");
		while (reaped < 2 && util_now_ms() - t0 < 5000) {
			if (proc_reap(&st) > 0)
				reaped++;
			else
				util_sleep_ms(10);
		}
		is_int(reaped, 2, "proc_reap: the child and its orphan");
		is_int(proc_reap(&st), -1, "proc_reap: -1 when none are left");
	}
}

int
main(void)
{
	char *t[] = { "true", NULL }, *f[] = { "false", NULL };
	char *seven[] = { "sh", "-c", "exit 7", NULL };
	char *term[] = { "sh", "-c", "kill -TERM $$", NULL };
	char *both[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	char *sleepy[] = { "sleep", "10", NULL };
	char *status[] = { "grep", "^Sig[BI]", "/proc/self/status", NULL };
	char *missing[] = { "galley-no-such-command", NULL };
	char *args[] = { "printf", "[%s]", "a b", "", "-x", "$(id)", NULL };
	char noexec[] = "/tmp/galley-noexec-XXXXXX";
	struct buf out = BUF_INIT;
	sigset_t block;
	long long t0;
	pid_t pid;
	int st, fd;

	is_int(run(t, 5000, NULL), 0, "true exits 0");
	is_int(run(f, 5000, NULL), 1, "false exits 1");
	is_int(run(seven, 5000, NULL), 7, "exit code passed through");
	is_int(run(term, 5000, NULL), 128 + SIGTERM, "death by signal N is 128+N");

	run(both, 5000, &out);
	is_str(out.data, "out\nerr\n", "stdout and stderr captured");
	buf_reset(&out);
	run(args, 5000, &out);
	is_str(out.data, "[a b][][-x][$(id)]", "argv passed untouched, no shell");
	buf_reset(&out);

	t0 = util_now_ms();
	is_int(run(sleepy, 200, NULL), -1, "a command past its timeout is stopped");
	ok(util_now_ms() - t0 < 3000, "promptly");

	errno = 0;
	pid = proc_spawn(missing, NULL);
	ok(pid < 0 && errno == ENOENT, "a missing command fails with ENOENT");
	is_int(proc_exec_status(ENOENT), 127, "which is 127");
	fd = mkstemp(noexec);
	close(fd);
	chmod(noexec, 0644);
	{
		char *ne[] = { noexec, NULL };

		errno = 0;
		pid = proc_spawn(ne, NULL);
		ok(pid < 0 && errno == EACCES, "a non-executable file fails (EACCES)");
		is_int(proc_exec_status(errno), 126, "which is 126");
	}
	unlink(noexec);

	/* The caller blocks TERM and ignores INT: the child must not inherit it. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	{
		/* Also glibc's reserved signal 32, as some parents leave it. */
		struct {
			void (*h)(int);
			unsigned long f;
			void (*r)(void);
			unsigned long long m;
		} k = { SIG_IGN, 0, NULL, 0 };

		syscall(SYS_rt_sigaction, 32, &k, NULL, sizeof(k.m));
	}
	run(status, 5000, &out);
	ok(strstr(out.data, "SigBlk:\t0000000000000000\n") != NULL,
	    "child starts with an empty signal mask");
	ok(strstr(out.data, "SigIgn:\t0000000000000000\n") != NULL,
	    "child starts with no ignored signals");
	if (strstr(out.data, "SigIgn:\t0000000000000000\n") == NULL)
		printf("# %s", out.data);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);

	pid = proc_spawn(sleepy, NULL);
	is_int(proc_wait(pid, 100, &st), 1, "proc_wait times out on a live child");
	st = proc_stop(pid, 1000);
	is_int(proc_status(st), 128 + SIGTERM, "proc_stop ends it with TERM");
	{
		char *stubborn[] = { "sh", "-c", "trap '' TERM; exec sleep 10", NULL };

		pid = proc_spawn(stubborn, NULL);
		util_sleep_ms(100);	/* let the trap be set */
		t0 = util_now_ms();
		st = proc_stop(pid, 200);
		is_int(proc_status(st), 128 + SIGKILL,
		    "a child that ignores TERM gets KILL after the grace");
		ok(util_now_ms() - t0 < 2000, "right after the grace");
	}
	test_supervisor_bits();
	buf_free(&out);
	return done_testing();
}
