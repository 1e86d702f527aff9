/* See COPYING for copyright and license details. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "deploy.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define POLL_MIN_MS 250
#define POLL_MAX_MS 500
/* What the diagnostics after a timeout may take, however Marathon is. */
#define DIAGNOSE_MS 3000

void
deploy_watch_init(struct deploy_watch *w, const char *app_id,
    const char *deployment_id, const char *version, long long instances,
    int health, int absent)
{
	memset(w, 0, sizeof(*w));
	w->app_id = app_id;
	w->deployment_id = deployment_id;
	w->version = version;
	w->instances = instances;
	w->health = health;
	w->absent = absent;
}

/* The deployment's id for messages; NULL when it is not known. */
#define DEP_ID(w) ((w)->deployment_id ? (w)->deployment_id : "(unknown)")

static long long
count(const cJSON *app, const char *key)
{
	long long n;

	return json_get_int(app, key, &n) == 0 ? n : 0;
}

static void
read_counts(struct deploy_watch *w, const cJSON *app)
{
	const cJSON *t;
	const char *v;

	w->staged = count(app, "tasksStaged");
	w->running = count(app, "tasksRunning");
	w->healthy = count(app, "tasksHealthy");
	w->unhealthy = count(app, "tasksUnhealthy");
	w->current = 0;
	cJSON_ArrayForEach(t, json_get_array(app, "tasks"))
		if ((v = json_get_string(t, "version")) != NULL &&
		    strcmp(v, w->version) == 0)
			w->current++;
	v = json_get_string(app, "version");
	snprintf(w->app_version, sizeof(w->app_version), "%s", v ? v : "");
}

/* Are the wanted tasks up? If not, say what is missing in w->why. */
static int
tasks_up(struct deploy_watch *w, long long n)
{
	if (w->running >= n && w->staged == 0 && (!w->health ||
	    (w->healthy >= n && w->unhealthy == 0)))
		return 1;
	if (w->health)
		snprintf(w->why, sizeof(w->why), "the deployment has ended; "
		    "waiting for %lld healthy tasks (%lld running, %lld healthy, "
		    "%lld unhealthy)", n, w->running, w->healthy, w->unhealthy);
	else
		snprintf(w->why, sizeof(w->why), "the deployment has ended; "
		    "waiting for %lld running tasks (%lld running, %lld staged)",
		    n, w->running, w->staged);
	return 0;
}

enum deploy_verdict
deploy_judge(struct deploy_watch *w, const cJSON *app)
{
	const char *cfg;
	long long n = w->instances;

	w->why[0] = '\0';
	if (app == NULL) {
		w->deploying = 0;
		w->app_version[0] = '\0';
		w->staged = w->running = w->healthy = w->unhealthy = 0;
		if (w->absent)
			return DEPLOY_DONE;
		snprintf(w->why, sizeof(w->why), "%s no longer exists: it was "
		    "deleted during the deployment", w->app_id);
		return DEPLOY_FAILED;
	}
	read_counts(w, app);
	w->deploying = marathon_app_deploying(app, w->deployment_id);
	if (w->deploying) {
		w->seen = 1;
		return DEPLOY_WAITING;
	}
	if (w->absent) {
		snprintf(w->why, sizeof(w->why), "deployment %s has ended but %s "
		    "still exists (version %s)", DEP_ID(w), w->app_id,
		    w->app_version);
		return DEPLOY_FAILED;
	}
	cfg = json_get_string(json_get_object(app, "versionInfo"),
	    "lastConfigChangeAt");
	if (strcmp(w->app_version, w->version) == 0 ||
	    (cfg != NULL && strcmp(cfg, w->version) == 0)) {
		/* Ours; or ours, scaled since: then its count is wanted. */
		if (strcmp(w->app_version, w->version) != 0)
			n = count(app, "instances");
		return tasks_up(w, n) ? DEPLOY_DONE : DEPLOY_WAITING;
	}
	/* Versions are timestamps: an older one was never replaced. */
	if (!w->seen && *w->app_version != '\0' &&
	    strcmp(w->app_version, w->version) < 0)
		return DEPLOY_UNCHANGED;
	snprintf(w->why, sizeof(w->why), "deployment %s has ended but %s is at "
	    "version %s, not %s: the deployment was cancelled or overridden",
	    DEP_ID(w), w->app_id, *w->app_version ? w->app_version : "(none)",
	    w->version);
	return DEPLOY_FAILED;
}

/* "step 1/2 StartApplication" for deployment id, from /v2/deployments. */
static void
read_step(struct marathon *m, const char *id, char *out, size_t n)
{
	struct http_resp r = HTTP_RESP_INIT;
	const cJSON *d, *a;
	long long cur, total;
	struct buf b = BUF_INIT;
	char err[512];
	cJSON *list;

	if (marathon_deployments(m, &list, &r, err, sizeof(err)) < 0) {
		http_resp_free(&r);
		return;		/* keep what was known */
	}
	d = id ? marathon_deployment_find(list, id) : NULL;
	if (d == NULL) {
		snprintf(out, n, "deployment ended");
	} else {
		if (json_get_int(d, "currentStep", &cur) < 0)
			cur = 0;
		if (json_get_int(d, "totalSteps", &total) < 0)
			total = 0;
		buf_printf(&b, "step %lld/%lld", cur, total);
		cJSON_ArrayForEach(a, json_get_array(d, "currentActions"))
			if (json_get_string(a, "action") != NULL)
				buf_printf(&b, " %s", json_get_string(a, "action"));
		snprintf(out, n, "%s", b.data);
		buf_free(&b);
	}
	cJSON_Delete(list);
	http_resp_free(&r);
}

static void
describe(const struct deploy_watch *w, char *out, size_t n)
{
	if (w->health)
		snprintf(out, n, "%s: %s: %lld running, %lld healthy, %lld "
		    "unhealthy, %lld at the new version (want %lld)", w->app_id,
		    w->step, w->running, w->healthy, w->unhealthy, w->current,
		    w->instances);
	else
		snprintf(out, n, "%s: %s: %lld running, %lld staged, %lld at the "
		    "new version (want %lld)", w->app_id, w->step, w->running,
		    w->staged, w->current, w->instances);
}

enum deploy_verdict
deploy_wait(struct marathon *m, struct deploy_watch *w, long long deadline)
{
	struct http_resp r = HTTP_RESP_INIT;
	char err[1024], last_err[1024] = "", line[1024], last[1024] = "";
	long long interval = POLL_MIN_MS, now;
	long long saved = m->deadline_ms;
	enum deploy_verdict v;
	cJSON *app;
	int rc;

	m->deadline_ms = deadline;	/* a hanging Marathon cannot hold us */
	for (;;) {
		rc = marathon_app_get(m, w->app_id, &app, &r, err, sizeof(err));
		if (rc < 0) {
			if (r.fail == HTTP_FAIL_NONE &&
			    (r.status == 401 || r.status == 403)) {
				snprintf(w->why, sizeof(w->why), "%s", err);
				v = DEPLOY_ERROR;
				break;
			}
			if (strcmp(err, last_err) != 0)
				log_warn("%s (retrying)", err);
			snprintf(last_err, sizeof(last_err), "%s", err);
			v = DEPLOY_WAITING;
		} else {
			last_err[0] = '\0';
			v = deploy_judge(w, rc == 0 ? app : NULL);
			cJSON_Delete(app);
			if (v != DEPLOY_WAITING)
				break;
			if (w->deploying)
				snprintf(line, sizeof(line), "%lld %lld %lld %lld %lld",
				    w->staged, w->running, w->healthy,
				    w->unhealthy, w->current);
			else
				snprintf(line, sizeof(line), "ended %.900s", w->why);
			if (strcmp(line, last) != 0) {
				snprintf(last, sizeof(last), "%s", line);
				if (w->deploying)
					read_step(m, w->deployment_id, w->step,
					    sizeof(w->step));
				else
					snprintf(w->step, sizeof(w->step),
					    "deployment ended");
				describe(w, line, sizeof(line));
				log_info("%s", line);
				interval = POLL_MIN_MS;
			} else if (interval < POLL_MAX_MS) {
				interval = interval * 2 > POLL_MAX_MS ? POLL_MAX_MS :
				    interval * 2;
			}
		}
		now = util_now_ms();
		if (now >= deadline)
			break;
		util_sleep_ms(interval < deadline - now ? interval : deadline - now);
	}
	m->deadline_ms = saved;
	http_resp_free(&r);
	return v;
}

/* Is any deployment of ids in list? Writes the first one listed to out. */
static int
any_listed(const cJSON *list, const cJSON *ids, char *out, size_t n)
{
	const cJSON *d;
	const char *id;

	cJSON_ArrayForEach(d, ids) {
		if ((id = json_get_string(d, "id")) != NULL &&
		    marathon_deployment_find(list, id) != NULL) {
			snprintf(out, n, "%s", id);
			return 1;
		}
	}
	return 0;
}

int
deploy_wait_unlocked(struct marathon *m, const char *app_id,
    const cJSON *ids, long long deadline, char *err, size_t errlen)
{
	struct http_resp r = HTTP_RESP_INIT;
	char why[1024], last_err[1024] = "", id[128] = "", said[128] = "";
	long long interval = POLL_MIN_MS, now, saved = m->deadline_ms;
	cJSON *list;
	int rc;

	m->deadline_ms = deadline;
	for (;;) {
		if (marathon_deployments(m, &list, &r, why, sizeof(why)) < 0) {
			if (r.fail == HTTP_FAIL_NONE &&
			    (r.status == 401 || r.status == 403)) {
				snprintf(err, errlen, "%s", why);
				rc = -1;
				break;
			}
			if (strcmp(why, last_err) != 0)
				log_warn("%s (retrying)", why);
			snprintf(last_err, sizeof(last_err), "%s", why);
		} else {
			rc = any_listed(list, ids, id, sizeof(id));
			cJSON_Delete(list);
			if (!rc) {
				rc = 0;
				break;
			}
			if (strcmp(id, said) != 0) {
				log_info("%s: locked by deployment %s: waiting for it "
				    "to end (-f overrides it)", app_id, id);
				snprintf(said, sizeof(said), "%s", id);
			}
		}
		now = util_now_ms();
		if (now >= deadline) {
			snprintf(err, errlen, "%s: still locked by deployment %s",
			    app_id, *id ? id : "(unknown)");
			rc = 1;
			break;
		}
		util_sleep_ms(interval < deadline - now ? interval : deadline - now);
		if (interval < POLL_MAX_MS)
			interval *= 2;
	}
	m->deadline_ms = saved;
	http_resp_free(&r);
	return rc;
}

void
deploy_diagnose(struct marathon *m, struct deploy_watch *w, const char *after)
{
	struct http_resp r = HTTP_RESP_INIT;
	const cJSON *f, *q, *d;
	char err[1024], line[1024];
	const char *id;
	cJSON *app = NULL, *queue = NULL;
	long long n, left, saved = m->deadline_ms;
	int overdue;

	m->deadline_ms = util_now_ms() + DIAGNOSE_MS;
	if (marathon_app_get(m, w->app_id, &app, &r, err, sizeof(err)) == 0) {
		deploy_judge(w, app);
		if (w->deploying)
			read_step(m, w->deployment_id, w->step, sizeof(w->step));
		else
			snprintf(w->step, sizeof(w->step), "deployment ended");
	} else {
		log_err("%s", err);
	}
	describe(w, line, sizeof(line));
	log_err("%s (not done after %s)", line, after);
	f = json_get_object(app, "lastTaskFailure");
	if (f != NULL)
		log_err("%s: last task failure: %s at %s (version %s): %s",
		    w->app_id, json_get_string(f, "state") ?
		    json_get_string(f, "state") : "?",
		    json_get_string(f, "timestamp") ?
		    json_get_string(f, "timestamp") : "?",
		    json_get_string(f, "version") ?
		    json_get_string(f, "version") : "?",
		    json_get_string(f, "message") ?
		    json_get_string(f, "message") : "(no message)");
	cJSON_Delete(app);

	if (marathon_request(m, "GET", "/v2/queue", NULL, &r) == 0 &&
	    r.status == 200 && (queue = json_parse(r.body.data ? r.body.data :
	    "", r.body.len, "queue", err, sizeof(err))) != NULL) {
		cJSON_ArrayForEach(q, json_get_array(queue, "queue")) {
			id = json_get_string(json_get_object(q, "app"), "id");
			if (id == NULL || strcmp(id, w->app_id) != 0)
				continue;
			if (json_get_int(q, "count", &n) < 0)
				n = 0;
			d = json_get_object(q, "delay");
			if (json_get_int(d, "timeLeftSeconds", &left) < 0)
				left = 0;
			if (json_get_bool(d, "overdue", &overdue) < 0)
				overdue = 0;
			if (left > 0)
				log_err("%s: launch queue: %lld task(s) waiting, "
				    "launch delayed %llds (backoff after failed "
				    "tasks)", w->app_id, n, left);
			else
				log_err("%s: launch queue: %lld task(s) waiting "
				    "for offers%s", w->app_id, n, overdue ?
				    " (no matching resources?)" : "");
		}
	}
	cJSON_Delete(queue);
	m->deadline_ms = saved;
	http_resp_free(&r);
}
