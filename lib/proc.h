/* See COPYING for copyright and license details. */
/*
 * proc: run programs without a shell. Children start with an empty
 * signal mask and default dispositions, whatever the caller had; fds
 * other than 0-2 must be close-on-exec (ours all are). Output captured
 * by proc_run() goes into the caller's struct buf. For supervisors: the
 * set of signals to forward, reaping as PID 1 or as a subreaper, and
 * signal names.
 */
#ifndef GALLEY_PROC_H
#define GALLEY_PROC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct proc_opts {
	int new_pgrp;		/* child leads its own process group */
	int in, out, err;	/* fds to dup onto 0, 1, 2; -1: inherit */
};

#define PROC_OPTS_INIT { 0, -1, -1, -1 }

/*
 * Fork and execvp argv[0]. Returns the child's pid, or -1 with errno set
 * to why the exec failed (the child has been reaped then).
 */
pid_t proc_spawn(char *const argv[], const struct proc_opts *o);

/*
 * The same with envp as the command's whole environment (NULL: the
 * caller's). The command is looked up in the caller's PATH.
 */
pid_t proc_spawn_env(char *const argv[], char *const envp[],
    const struct proc_opts *o);

/* 127 when err says "not found", else 126 (as env(1)). */
int proc_exec_status(int err);

/* Exit status of a wait status: the code, or 128+N for signal N. */
int proc_status(int wstatus);

/*
 * Wait for pid for at most timeout_ms (< 0: forever). Returns 0 when it
 * ended (*wstatus set), 1 on timeout (still running), -1 on error.
 */
int proc_wait(pid_t pid, long long timeout_ms, int *wstatus);

/* Send TERM, wait up to grace_ms, then KILL and reap. Returns wstatus. */
int proc_stop(pid_t pid, long long grace_ms);

/*
 * Run argv to completion with stdout and stderr captured into out (up to
 * 64 KiB; the rest is drained and dropped). After timeout_ms the child
 * is stopped (TERM, then KILL a second later). Returns 0 with *wstatus
 * set, 1 on timeout (*wstatus of the killed child), -1 when it could not
 * be started (errno set).
 */
int proc_run(char *const argv[], long long timeout_ms, struct buf *out,
    int *wstatus);

/*
 * Every signal a supervisor forwards: all that can be caught except
 * SIGCHLD (and the two glibc keeps for its threads).
 */
void proc_forward_set(sigset_t *set);

/*
 * Make the caller the reaper of its orphaned descendants: PID 1 already
 * is one (returns 1); otherwise PR_SET_CHILD_SUBREAPER (returns 0, or -1
 * with errno when the kernel refuses).
 */
int proc_reaper(void);

/*
 * Reap one child that has ended, any child: returns its pid with
 * *wstatus set, 0 when none has ended, -1 when there are none (ECHILD).
 */
pid_t proc_reap(int *wstatus);

/*
 * A signal by name (TERM, SIGTERM, any case, RTMIN+N, RTMAX-N) or
 * number; 0 only as "0" or "NONE". Returns -1 for anything else.
 */
int proc_signal_parse(const char *s);

/* "SIGTERM", "SIGRTMIN+2", or "signal 99": for messages. */
const char *proc_signal_name(int sig, char *buf, size_t n);

#endif
