/* See COPYING for copyright and license details. */
/*
 * lib/sup: this test process is the supervisor. Real commands (sh,
 * sleep), signals sent to us by a helper process (a signal we send
 * ourselves is not forwarded, by design), the grace timer, reaping.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "sup.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/galley-sup-XXXXXX";

/* A helper process sends sig to us after ms. */
static void
send_later(int sig, long long ms)
{
	pid_t parent = getpid();

	if (fork() == 0) {
		util_sleep_ms(ms);
		kill(parent, sig);
		_exit(0);
	}
}

/* Run argv under s and wait for it; the exit status, or -1. */
static int
run(struct sup *s, char *const argv[])
{
	int sig;

	if (sup_start(s, argv, NULL) < 0)
		return -1;
	while (sup_wait(s, -1, &sig) != SUP_ENDED)
		;
	return proc_status(s->status);
}

/* Is signal sig ignored by pid (SigIgn in /proc/pid/status)? */
static int
ignores(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "SigIgn: %llx", &mask) == 1)
			break;
	fclose(f);
	return (mask >> (sig - 1)) & 1;
}

/* The pid a command wrote to file, or -1. */
static pid_t
read_pid(const char *file)
{
	long long deadline = util_now_ms() + 5000;
	long pid = -1;
	FILE *f;

	while (util_now_ms() < deadline) {
		if ((f = fopen(file, "re")) != NULL) {
			int n = fscanf(f, "%ld", &pid);

			fclose(f);
			if (n == 1)
				return (pid_t)pid;
		}
		util_sleep_ms(20);
	}
	return -1;
}

/* Go on reaping (orphans) for ms: sup_wait until a helper's pipe is
 * readable. */
static void
keep_reaping(struct sup *s, long long ms)
{
	int p[2], sig;

	if (pipe(p) < 0)
		return;
	if (fork() == 0) {
		util_sleep_ms(ms);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	while (sup_wait(s, p[0], &sig) != SUP_READABLE)
		;
	close(p[0]);
	close(p[1]);
}

/* Gone for good: not running, not a zombie (reaped). */
static int
gone(pid_t pid)
{
	char path[64];
	struct stat st;
	long long deadline = util_now_ms() + 5000;

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	while (stat(path, &st) == 0 && util_now_ms() < deadline)
		util_sleep_ms(20);
	return stat(path, &st) < 0;
}

int
main(void)
{
	char *exit7[] = { "sh", "-c", "exit 7", NULL };
	char *selfkill[] = { "sh", "-c", "kill -SEGV $$", NULL };
	char *sleeper[] = { "sleep", "30", NULL };
	char *missing[] = { "galley-no-such-command", NULL };
	char *stubborn[] = { "sh", "-c", "trap '' TERM; exec sleep 30", NULL };
	char orphan_file[64], group_file[64];
	char *orphan[] = { "sh", "-c",
	    "sleep 0.3 & echo $! >\"$1.tmp\"; mv \"$1.tmp\" \"$1\"", "sh",
	    orphan_file, NULL };
	char *group[] = { "sh", "-c",
	    "sleep 30 & echo $! >\"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait", "sh",
	    group_file, NULL };
	char err[256];
	struct sup s;
	sigset_t mask;
	long long t0;
	pid_t pid;
	int sig = 0, p[2];

	if (mkdtemp(dir) == NULL)
		return 1;
	sup_defaults(&s, "cmd");
	ok(sup_rewrite_parse(&s, "TERM:QUIT,SIGUSR1:0", err, sizeof(err)) == 0 &&
	    s.rewrite[SIGTERM] == SIGQUIT && s.rewrite[SIGUSR1] == 0 &&
	    s.rewrite[SIGHUP] == SIGHUP, "rewrite: pairs, 0 drops");
	ok(sup_rewrite_parse(&s, "RTMIN+1:2", err, sizeof(err)) == 0 &&
	    s.rewrite[SIGRTMIN + 1] == SIGINT, "rewrite: real-time and numbers");
	ok(sup_rewrite_parse(&s, "TERM", err, sizeof(err)) < 0 &&
	    strstr(err, "expected FROM:TO") != NULL, "rewrite: not a pair");
	ok(sup_rewrite_parse(&s, "KILL:TERM", err, sizeof(err)) < 0 &&
	    sup_rewrite_parse(&s, "CHLD:TERM", err, sizeof(err)) < 0 &&
	    sup_rewrite_parse(&s, "TERM:NOPE", err, sizeof(err)) < 0,
	    "rewrite: KILL, CHLD and unknown signals refused");

	sup_defaults(&s, "cmd");
	signal(SIGINT, SIG_IGN);
	ok(sup_init(&s) == 0 && s.sfd > 2, "init");
	sigprocmask(SIG_BLOCK, NULL, &mask);
	ok(sigismember(&mask, SIGTERM) && sigismember(&mask, SIGCHLD) &&
	    sigismember(&mask, SIGRTMAX), "init: signals blocked");
	ok(signal(SIGINT, SIG_DFL) == SIG_DFL, "init: dispositions reset");

	is_int(run(&s, exit7), 7, "the exit status of the command");
	is_int(run(&s, selfkill), 128 + SIGSEGV, "killed by a signal: 128+N");
	ok(sup_start(&s, missing, NULL) < 0 && errno == ENOENT &&
	    proc_exec_status(errno) == 127, "not found: ENOENT, 127");

	send_later(SIGTERM, 100);
	is_int(run(&s, sleeper), 128 + SIGTERM, "TERM from outside is forwarded");
	ok(s.stopping, "... and marks it stopping");

	s.stopping = 0;
	sup_rewrite_parse(&s, "TERM:0,INT:TERM", err, sizeof(err));
	send_later(SIGTERM, 100);
	send_later(SIGINT, 400);
	t0 = util_now_ms();
	is_int(run(&s, sleeper), 128 + SIGTERM, "rewrite: TERM dropped, INT as TERM");
	ok(util_now_ms() - t0 >= 350, "... it was the INT that ended it");

	/* --grace: TERM ignored, SIGKILL after it. */
	s.stopping = 0;
	s.grace_ms = 200;
	if (sup_start(&s, stubborn, NULL) == 0) {
		t0 = util_now_ms();
		while (!ignores(s.pid, SIGTERM) && util_now_ms() - t0 < 5000)
			util_sleep_ms(10);
		t0 = util_now_ms();
		sup_stop(&s);
		while (sup_wait(&s, -1, &sig) != SUP_ENDED)
			;
	}
	is_int(proc_status(s.status), 128 + SIGKILL, "grace: killed");
	ok(util_now_ms() - t0 >= 190 && util_now_ms() - t0 < 5000,
	    "grace: after the grace time");
	ok(!s.stopping, "sup_stop is ours, not a stop from outside");
	s.grace_ms = 0;

	/* No command running: a stop signal is the caller's. */
	send_later(SIGHUP, 50);
	ok(sup_wait(&s, -1, &sig) == SUP_SIGNALLED && sig == SIGHUP,
	    "a stop signal without a command: SIGNALLED");

	if (pipe(p) == 0) {
		if (write(p[1], "x", 1) != 1)
			return 1;
		ok(sup_wait(&s, p[0], &sig) == SUP_READABLE, "the caller's fd");
		close(p[0]);
		close(p[1]);
	}

	/* An orphan of the command is reaped by us (the subreaper). */
	snprintf(orphan_file, sizeof(orphan_file), "%s/orphan", dir);
	is_int(run(&s, orphan), 0, "a command that leaves an orphan");
	pid = read_pid(orphan_file);
	keep_reaping(&s, 800);
	ok(pid > 0 && gone(pid), "the orphan was reaped, no zombie");

	/* -g: the whole group gets the signal. */
	s.group = 1;
	snprintf(group_file, sizeof(group_file), "%s/group", dir);
	if (sup_start(&s, group, NULL) == 0) {
		pid = read_pid(group_file);
		sup_stop(&s);
		while (sup_wait(&s, -1, &sig) != SUP_ENDED)
			;
		/* The sleep may die after sh, as our orphan: reap it too. */
		keep_reaping(&s, 500);
	}
	is_int(proc_status(s.status), 128 + SIGTERM, "group: the command got TERM");
	ok(pid > 0 && gone(pid), "group: its child too");

	unlink(orphan_file);
	unlink(group_file);
	rmdir(dir);
	return done_testing();
}
