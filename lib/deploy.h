/* See COPYING for copyright and license details. */
/*
 * deploy: following one Marathon deployment to its real outcome
 * (DESIGN.md §5, marathon.md §1.6): the verdict from the app's state,
 * waiting for another deployment's lock to clear, progress lines, and why
 * a deployment is not done. struct deploy_watch is the caller's; it only
 * borrows its strings and holds no allocations.
 */
#ifndef GALLEY_DEPLOY_H
#define GALLEY_DEPLOY_H

#include <stddef.h>

#include "marathon.h"

struct cJSON;

enum deploy_verdict {
	DEPLOY_WAITING,		/* not done (yet) */
	DEPLOY_DONE,		/* gone from /v2/deployments, ours, tasks up */
	DEPLOY_UNCHANGED,	/* nothing to do: the app's version stayed */
	DEPLOY_FAILED,		/* ended, but the app is someone else's or gone */
	DEPLOY_ERROR,		/* the state cannot be read (401, 403) */
};

struct deploy_watch {
	/* What to wait for. */
	const char *app_id;		/* absolute */
	const char *deployment_id;
	const char *version;		/* the deployment's, as Marathon answered */
	long long instances;		/* tasks wanted */
	int health;			/* the definition has health checks */
	int absent;			/* done means the app is gone */
	/* What the last reading showed. */
	int seen;			/* the deployment was listed at least once */
	int deploying;			/* it is listed now */
	long long staged, running, healthy, unhealthy;
	long long current;		/* tasks launched at .version */
	char app_version[64];
	char step[160];			/* "step 1/1 RestartApplication" */
	char why[1024];			/* why FAILED, ERROR or still WAITING */
};

void deploy_watch_init(struct deploy_watch *w, const char *app_id,
    const char *deployment_id, const char *version, long long instances,
    int health, int absent);

/*
 * Judge one reading of GET /v2/apps/<id> (app: its "app" object, or NULL
 * when there is no such app). Done when the deployment has left the app's
 * deployments, the app's definition is ours (its version, or a later
 * scale of ours) and it has its tasks running, and healthy with health
 * checks (counts of every version: after a scale-only change the old
 * tasks count). Unchanged when the deployment was never listed and the
 * app's version is older than the deployment's. Failed when it ended
 * while the app is someone else's. Fills the reading fields of w.
 */
enum deploy_verdict deploy_judge(struct deploy_watch *w,
    const struct cJSON *app);

/*
 * Read the app until deploy_judge() gives a verdict or the deadline
 * (util_now_ms()) passes: then DEPLOY_WAITING. Polls every 250 ms while
 * things change, backing off to 500 ms; a progress line on stderr (log_info)
 * when they change. Read failures other than 401/403 are retried. No
 * request runs past the deadline (m->deadline_ms, for the call).
 */
enum deploy_verdict deploy_wait(struct marathon *m, struct deploy_watch *w,
    long long deadline);

/*
 * Wait until none of the deployments in ids (the "deployments" array of
 * a 409 "App is locked") is listed in /v2/deployments. Returns 0 when
 * clear, 1 at the deadline, -1 when the list cannot be read (401, 403),
 * with why in err.
 */
int deploy_wait_unlocked(struct marathon *m, const char *app_id,
    const struct cJSON *ids, long long deadline, char *err, size_t errlen);

/*
 * Say (log_err) why w is not done after `after`: counts and the current
 * step, the app's lastTaskFailure, and its entry in the launch queue
 * (tasks waiting, backoff delay). Takes at most about 3 s, even when
 * Marathon does not answer.
 */
void deploy_diagnose(struct marathon *m, struct deploy_watch *w,
    const char *after);

#endif
