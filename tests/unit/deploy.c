/* See COPYING for copyright and license details. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "deploy.h"
#include "json.h"
#include "tap.h"

#define V0 "2026-01-01T00:00:00.000Z"	/* before */
#define V1 "2026-01-01T00:01:00.000Z"	/* ours */
#define V2 "2026-01-01T00:02:00.000Z"	/* someone else's, later */

static enum deploy_verdict
judge(struct deploy_watch *w, const char *app_json)
{
	char err[256];
	cJSON *app = app_json ? json_parse(app_json, strlen(app_json), "app",
	    err, sizeof(err)) : NULL;
	enum deploy_verdict v;

	if (app_json != NULL && app == NULL) {
		printf("# bad test JSON: %s\n", err);
		return DEPLOY_ERROR;
	}
	v = deploy_judge(w, app);
	cJSON_Delete(app);
	return v;
}

int
main(void)
{
	struct deploy_watch w;

	deploy_watch_init(&w, "/web", "d1", V1, 2, 1, 0);
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[{\"id\":\"d1\"}],"
	    "\"tasksRunning\":2,\"tasksHealthy\":2,\"tasksStaged\":0,"
	    "\"tasksUnhealthy\":0}"), DEPLOY_WAITING,
	    "listed: waiting, whatever the counts");
	ok(w.seen && w.deploying, "seen and deploying");
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[],"
	    "\"tasksRunning\":2,\"tasksHealthy\":1,\"tasksStaged\":0,"
	    "\"tasksUnhealthy\":1}"), DEPLOY_WAITING,
	    "gone, ours, one unhealthy: still waiting");
	ok(strstr(w.why, "waiting for 2 healthy") != NULL, "why: %s", w.why);
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[],"
	    "\"tasksRunning\":2,\"tasksHealthy\":2,\"tasksStaged\":0,"
	    "\"tasksUnhealthy\":0,\"tasks\":[{\"version\":\"" V1 "\"},"
	    "{\"version\":\"" V0 "\"}]}"), DEPLOY_DONE,
	    "gone, ours, all healthy: done");
	is_int(w.current, 1, "one task at the new version");

	deploy_watch_init(&w, "/web", "d1", V1, 3, 0, 0);
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[],"
	    "\"tasksRunning\":3,\"tasksHealthy\":0,\"tasks\":[{\"version\":\"" V0
	    "\"},{\"version\":\"" V0 "\"},{\"version\":\"" V1 "\"}]}"),
	    DEPLOY_DONE, "scale-only: old tasks count; no health checks: "
	    "healthy 0 is fine");

	deploy_watch_init(&w, "/web", "d1", V1, 2, 0, 0);
	is_int(judge(&w, "{\"version\":\"" V2 "\",\"versionInfo\":"
	    "{\"lastConfigChangeAt\":\"" V1 "\"},\"instances\":5,\"deployments\":[],"
	    "\"tasksRunning\":5}"), DEPLOY_DONE,
	    "ours, scaled since by someone: its count is wanted");

	deploy_watch_init(&w, "/web", "d1", V1, 2, 0, 0);
	is_int(judge(&w, "{\"version\":\"" V0 "\",\"deployments\":[],"
	    "\"tasksRunning\":0}"), DEPLOY_UNCHANGED,
	    "never listed, version older: unchanged (counts not needed)");

	deploy_watch_init(&w, "/web", "d1", V1, 2, 0, 0);
	judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[{\"id\":\"d1\"}]}");
	is_int(judge(&w, "{\"version\":\"" V0 "\",\"deployments\":[]}"),
	    DEPLOY_FAILED, "seen, then an older version: failed, not unchanged");

	deploy_watch_init(&w, "/web", "d1", V1, 2, 0, 0);
	is_int(judge(&w, "{\"version\":\"" V2 "\",\"versionInfo\":"
	    "{\"lastConfigChangeAt\":\"" V2 "\"},\"deployments\":[{\"id\":\"d2\"}],"
	    "\"tasksRunning\":2}"), DEPLOY_FAILED,
	    "gone while someone else's deployment runs: overridden");
	ok(strstr(w.why, "cancelled or overridden") != NULL, "why: %s", w.why);

	deploy_watch_init(&w, "/web", "d1", V1, 2, 0, 0);
	is_int(judge(&w, NULL), DEPLOY_FAILED, "the app was deleted: failed");

	deploy_watch_init(&w, "/web", "d9", V1, 0, 0, 1);
	is_int(judge(&w, NULL), DEPLOY_DONE, "a removal: gone is done");
	is_int(judge(&w, "{\"version\":\"" V0 "\",\"deployments\":[{\"id\":\"d9\"}]}"),
	    DEPLOY_WAITING, "a removal still listed: waiting");
	is_int(judge(&w, "{\"version\":\"" V0 "\",\"deployments\":[]}"),
	    DEPLOY_FAILED, "a removal that left the app: failed");

	deploy_watch_init(&w, "/web", NULL, V1, 1, 0, 0);
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[{\"id\":\"dx\"}]}"),
	    DEPLOY_WAITING, "deployment id unknown: any deployment is ours");
	is_int(judge(&w, "{\"version\":\"" V1 "\",\"deployments\":[],"
	    "\"tasksRunning\":1}"), DEPLOY_DONE, "and then done");
	return done_testing();
}
