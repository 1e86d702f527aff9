/* See COPYING for copyright and license details. */
/*
 * sup: one command supervised by a wrapper that may be PID 1. struct sup
 * is the caller's: its settings are set before sup_init, which blocks
 * every catchable signal and reads them from a signalfd; sup_wait is the
 * event loop that forwards them to the command (rewritten, to its process
 * group with group), runs the grace timer, and reaps every child, ours
 * or orphaned. Nothing here exits; messages name signals and pids only.
 */
#ifndef GALLEY_SUP_H
#define GALLEY_SUP_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct sup {
	/* Settings (sup_defaults, then the caller's). */
	int group;		/* the command leads its own process group,
				   and signals go to the group */
	long long grace_ms;	/* SIGKILL the command this long after a stop
				   signal (INT, QUIT, TERM, as received or as
				   rewritten) went to it; 0: never */
	int rewrite[NSIG];	/* the signal to forward for each one
				   received; 0 drops it */
	const char *name;	/* the command, for messages */

	/* State. */
	int sfd;		/* the signalfd */
	pid_t pid;		/* the command; 0 when none was started */
	int running;		/* started and not yet reaped */
	int ended;		/* reaped, not yet reported by sup_wait */
	int status;		/* its wait status, once reaped */
	int stopping;		/* a stop signal from outside went to it */
	long long kill_at;	/* --grace: SIGKILL then; 0: not armed */
};

/* Settings to start from: no group, no grace, every signal as itself. */
void sup_defaults(struct sup *s, const char *name);

/*
 * Parse rewrites "FROM:TO[,FROM:TO...]" (names or numbers as
 * proc_signal_parse; TO 0 drops FROM) into s->rewrite. Returns 0, or -1
 * with why in err. KILL, STOP and CHLD cannot be rewritten: they are
 * never forwarded.
 */
int sup_rewrite_parse(struct sup *s, const char *spec, char *err,
    size_t errlen);

/*
 * Block every signal of proc_forward_set and SIGCHLD, give them their
 * default dispositions (an inherited SIG_IGN of SIGCHLD would reap for
 * us), open the signalfd (close-on-exec), and become the reaper of
 * orphans (proc_reaper; a refusal is only warned about). Returns 0, or
 * -1 with errno.
 */
int sup_init(struct sup *s);

/*
 * Start argv with envp (NULL: ours) as the command, with a clean signal
 * state (proc_spawn_env). Returns 0, or -1 with errno as the exec
 * failed (proc_exec_status gives the exit status for it).
 */
int sup_start(struct sup *s, char *const argv[], char *const envp[]);

/*
 * Ask the command to stop as SIGTERM from outside would (TERM as
 * rewritten, TERM when dropped), arming the grace timer. It does not set
 * stopping: that is for requests from outside.
 */
void sup_stop(struct sup *s);

enum sup_event {
	SUP_ENDED,	/* the command ended: s->status */
	SUP_READABLE,	/* the caller's fd is readable (or at its end) */
	SUP_SIGNALLED,	/* a stop signal (HUP, INT, QUIT, TERM) came while
			   no command runs: *sig */
};

/*
 * Wait for the next event that is the caller's, doing meanwhile what is
 * sup's: forward each signal received, SIGKILL at the grace deadline,
 * reap. fd may be -1. Signals the wrapper raised on itself (SIGPIPE of
 * a write to a closed stderr) are not forwarded.
 */
enum sup_event sup_wait(struct sup *s, int fd, int *sig);

#endif
