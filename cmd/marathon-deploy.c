/* See COPYING for copyright and license details. */
/*
 * marathon-deploy: deploy a service's Marathon app definition at deploy
 * time and wait for the deployment's real outcome (DESIGN.md §5). Fetches
 * the template, fills $environment, $instances and each -s name, checks it
 * before sending anything, creates or updates the app with one PUT, and
 * waits until the app runs this definition with its tasks up — or times
 * out, says why, and rolls back if asked.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "deploy.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "marathon.h"
#include "tmpl.h"
#include "util.h"

static const char usage_line[] =
    "marathon-deploy [-fnqv] [-m url] [-s name=value]... [-t timeout] "
    "[--json] [--no-wait] [--rollback[=previous|revert]] [--strict] "
    "template environment [instances]";

static const char help_text[] =
    "usage: marathon-deploy [-fnqv] [-m url] [-s name=value]... [-t timeout] [--json]\n"
    "                       [--no-wait] [--rollback[=previous|revert]] [--strict]\n"
    "                       template environment [instances]\n"
    "\n"
    "Fetch TEMPLATE (an http:// https:// or file:// URL, a path, or - for stdin),\n"
    "fill $environment, $instances (default 1) and each -s name, create or update\n"
    "the Marathon app with one PUT, and wait until the deployment has really\n"
    "succeeded: the app runs this definition with its tasks running and healthy.\n"
    "\n"
    "  -f, --force                 override a deployment that locks the app\n"
    "  -m, --marathon=URL[,URL]    Marathon, repeatable (else MARATHON_URL, else\n"
    "                              http://localhost:8080)\n"
    "  -n, --dry-run               print the filled definition, send nothing\n"
    "  -q, --quiet                 no progress lines or warnings\n"
    "  -s, --set=NAME=VALUE        fill $NAME too (repeatable)\n"
    "  -t, --timeout=DURATION      how long to wait (default 10m)\n"
    "  -v, --verbose               more detail: every request\n"
    "      --cacert=FILE           CA certificates for Marathon (else MARATHON_CACERT)\n"
    "      --credentials-file=FILE user:password for HTTP basic auth (else\n"
    "                              MARATHON_CREDENTIALS)\n"
    "      --insecure              do not verify Marathon's TLS certificate\n"
    "      --json                  print one JSON line with the result\n"
    "      --no-wait               return once Marathon accepts the deployment\n"
    "      --rollback[=HOW]        on timeout, roll back: previous (default: PUT the\n"
    "                              previous version) or revert (DELETE the deployment)\n"
    "      --strict                undefined placeholders inside strings are errors\n"
    "      --token-file=FILE       DC/OS token (else DCOS_ACS_TOKEN)\n"
    "  -h, --help                  this help\n"
    "      --version               print the version\n"
    "\n"
    "Exit status: 0 deployed or unchanged, 1 failed (invalid template, rejected by\n"
    "Marathon, deployment failed), 2 usage, 3 Marathon unavailable or the app still\n"
    "locked after the timeout, 4 timed out (rolled back if asked), 5 rollback failed.\n";

enum rollback { ROLLBACK_NONE, ROLLBACK_PREVIOUS, ROLLBACK_REVERT };

/* Read-only fields of GET output that people paste into templates. */
static const char *const read_only[] = {
	"deployments", "lastTaskFailure", "readinessCheckResults", "taskStats",
	"tasks", "tasksHealthy", "tasksRunning", "tasksStaged", "tasksUnhealthy",
	"version", "versionInfo",
};

/* What stdout reports when the run ends. */
static struct {
	int json;
	const char *app;
	char *deployment;
	char *version;
	long long start;
} out;

/* The app before our PUT (none: it is created). */
struct previous {
	int exists;
	char *version;
	long long instances;
	int health;
};

static void
json_field(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", key);
	if (value == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	json_escape(b, value, strlen(value));
	buf_addc(b, '"');
}

/* Print the result (the deployment id, or --json's line) and exit. */
static _Noreturn void
finish(const char *result, int status)
{
	struct buf b = BUF_INIT;
	long long ms = util_now_ms() - out.start;

	if (out.json && result != NULL) {
		buf_addc(&b, '{');
		json_field(&b, "app", out.app);
		json_field(&b, "deploymentId", out.deployment);
		json_field(&b, "version", out.version);
		json_field(&b, "result", result);
		buf_printf(&b, ",\"seconds\":%lld.%03lld}", ms / 1000, ms % 1000);
		puts(b.data);
		buf_free(&b);
	} else if (!out.json && out.deployment != NULL) {
		puts(out.deployment);
	}
	if (util_fshut(stdout, "<stdout>") < 0 && status == 0)
		status = 1;
	exit(status);
}

/* The exit status for a request that went wrong (DESIGN.md §3). */
static int
status_of(const struct http_resp *r)
{
	if (r->fail != HTTP_FAIL_NONE)
		return r->fail == HTTP_FAIL_TOOBIG ? 1 : 3;
	if (r->status >= 500)
		return 3;
	return 1;
}

/* Report a request that went wrong, with a hint for 401/403, and exit. */
static _Noreturn void
request_failed(const struct marathon *m, const char *why,
    const struct http_resp *r, const char *result)
{
	if (r->fail == HTTP_FAIL_NONE && (r->status == 401 || r->status == 403)) {
		if (m->auth == NULL)
			log_err("%s: Marathon wants credentials: set "
			    "MARATHON_CREDENTIALS or DCOS_ACS_TOKEN, or use "
			    "--credentials-file or --token-file", why);
		else
			log_err("%s: check the credentials from %s", why,
			    m->auth_source);
	} else if (r->fail == HTTP_FAIL_TLS) {
		log_err("%s: is Marathon's certificate signed by a CA you trust? "
		    "Use --cacert FILE or MARATHON_CACERT", why);
	} else {
		log_err("%s", why);
	}
	finish(status_of(r) == 3 ? NULL : result, status_of(r));
}

/* A URL as it may be shown: no user:password@, no query (signatures). */
static char *
shown_url(const char *url)
{
	char tmp[1024];
	size_t n;

	http_display_url(url, tmp, sizeof(tmp));
	n = strcspn(tmp, "?#");
	if (tmp[n] != '\0')
		snprintf(tmp + n, sizeof(tmp) - n, "?...");
	return estrdup(tmp);
}

static void
fetch_url(const char *url, const char *name, char **text, size_t *len)
{
	struct http_opts o = { 0, 0, 0, NULL, NULL, NULL, 0 };
	struct http_req req = { "GET", url, NULL, 0, NULL, NULL, 0 };
	struct http_resp r = HTTP_RESP_INIT;
	struct http h;
	char why[512], loc[512];

	if (http_init(&h, &o) < 0)
		log_die(1, "cannot initialise libcurl");
	if (http_request(&h, &req, &r) < 0)
		log_die(r.fail == HTTP_FAIL_TOOBIG ? 1 : 3, "GET %s: %s", name,
		    r.error);
	if (r.status < 200 || r.status > 299) {
		if (r.status >= 300 && r.status < 400 &&
		    http_header(&r, "Location", loc, sizeof(loc)) == 0) {
			char *l = shown_url(loc);

			log_die(1, "GET %s: HTTP %ld: redirected to %s: give that "
			    "URL instead", name, r.status, l);
		}
		log_die(1, "GET %s: %s: not a template (nothing was deployed)",
		    name, http_summary(&r, why, sizeof(why)));
	}
	if (http_body_is_html(&r))
		log_die(1, "GET %s: HTTP %ld with an HTML page, not a template "
		    "(nothing was deployed)", name, r.status);
	*len = r.body.len;
	*text = r.body.data ? buf_detach(&r.body) : estrdup("");
	http_resp_free(&r);
	http_cleanup(&h);
}

/* Read the template from src into *text; *name is what messages call it. */
static void
fetch(const char *src, char **name, char **text, size_t *len)
{
	const char *path = src;
	int e;

	if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0) {
		*name = shown_url(src);
		fetch_url(src, *name, text, len);
		return;
	}
	if (strncmp(src, "file://", 7) == 0) {
		path = src + 7;
		if (strncmp(path, "localhost/", 10) == 0)
			path += 9;
		if (*path != '/')
			log_die(2, "%s: a file:// URL needs an absolute path "
			    "(file:///path)", src);
	} else if (strstr(src, "://") != NULL) {
		log_die(2, "%s: unsupported URL: use http://, https://, file://, "
		    "a path, or - for stdin", src);
	}
	*name = estrdup(util_display_name(path));
	e = util_read_file(path, UTIL_MAX_BODY, text, len);
	if (e != 0)
		log_die(1, "%s: %s", *name, e == EFBIG ? "larger than 16 MiB" :
		    strerror(e));
}

/*
 * Fill and check the template: valid JSON, no undefined placeholder
 * outside strings (nor inside with --strict). Returns the definition.
 */
static cJSON *
fill(const char *name, const char *text, size_t len,
    const struct tmpl_vars *vars, int strict, int instances_given)
{
	struct tmpl_result res = TMPL_RESULT_INIT;
	char err[1024];
	size_t i;
	int bad = 0, uses_instances = 0;
	cJSON *def;

	tmpl_render(text, len, vars, &res);
	if (tmpl_check(text, len, &res, name, err, sizeof(err)) < 0)
		log_die(1, "%s", err);
	for (i = 0; i < res.nrefs; i++) {
		const struct tmpl_ref *r = &res.refs[i];

		if (r->defined) {
			uses_instances |= strcmp(r->name, "instances") == 0;
			continue;
		}
		if (!r->in_string || strict) {
			log_err("%s:%zu:%zu: %.*s is not defined: use -s %s=VALUE",
			    name, r->line, r->col, (int)r->len, text + r->offset,
			    r->name);
			bad = 1;
		} else {
			log_warn("%s:%zu:%zu: %.*s is not defined: left as written "
			    "(a variable for the task's shell?)", name, r->line,
			    r->col, (int)r->len, text + r->offset);
		}
	}
	if (bad)
		exit(1);
	if (instances_given && !uses_instances)
		log_warn("%s: the template does not use $instances: the instance "
		    "count given is ignored", name);
	def = json_parse(res.out.data ? res.out.data : "", res.out.len, name,
	    err, sizeof(err));
	if (def == NULL)
		log_die(1, "%s", err);
	tmpl_result_free(&res);
	return def;
}

/* Validate the definition: an object with a valid id, made absolute. */
static char *
check_def(const char *name, cJSON *def)
{
	struct buf removed = BUF_INIT;
	char id[1024], err[1024];
	const char *given;
	size_t i;

	if (!cJSON_IsObject(def))
		log_die(1, "%s: the template is not a JSON object (an app "
		    "definition)", name);
	given = json_get_string(def, "id");
	if (given == NULL) {
		if (json_get_object(def, "app") != NULL)
			log_die(1, "%s: no \"id\": this looks like the output of GET "
			    "/v2/apps/<id>; use the object inside \"app\"", name);
		log_die(1, "%s: the app definition has no \"id\" string", name);
	}
	if (marathon_app_id(given, id, sizeof(id), err, sizeof(err)) < 0)
		log_die(1, "%s: %s", name, err);
	cJSON_ReplaceItemInObjectCaseSensitive(def, "id", cJSON_CreateString(id));
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(def, read_only[i]) == NULL)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(def, read_only[i]);
		buf_printf(&removed, "%s%s", removed.len ? ", " : "", read_only[i]);
	}
	if (removed.len > 0)
		log_warn("%s: removed read-only fields (pasted from GET output?): %s",
		    name, removed.data);
	buf_free(&removed);
	return estrdup(id);
}

static int
has_health_checks(const cJSON *app)
{
	return cJSON_GetArraySize(json_get_array(app, "healthChecks")) > 0;
}

/* The app as it is before our PUT; follows the leader when proxied. */
static void
read_previous(struct marathon *m, const char *id, int force,
    struct previous *prev)
{
	struct http_resp r = HTTP_RESP_INIT;
	char err[1024];
	cJSON *app;
	int rc;

	memset(prev, 0, sizeof(*prev));
	rc = marathon_app_get(m, id, &app, &r, err, sizeof(err));
	if (rc < 0)
		request_failed(m, err, &r, "failed");
	marathon_follow_leader(m, &r);
	if (rc == 0) {
		const char *v = json_get_string(app, "version");
		const cJSON *d, *deps;

		prev->exists = 1;
		prev->version = estrdup(v ? v : "");
		if (json_get_int(app, "instances", &prev->instances) < 0)
			prev->instances = 1;
		prev->health = has_health_checks(app);
		deps = force ? json_get_array(app, "deployments") : NULL;
		cJSON_ArrayForEach(d, deps) {
			log_warn("%s: -f: cancelling deployment %s", id,
			    json_get_string(d, "id") ? json_get_string(d, "id") :
			    "?");
		}
		cJSON_Delete(app);
	}
	http_resp_free(&r);
}

/* Take deploymentId and version from a 200/201 deployment result. */
static void
accepted(const struct http_resp *r, const char *what)
{
	char hdr[128], err[256];
	cJSON *body;
	const char *d = NULL, *v = NULL;

	body = json_parse(r->body.data ? r->body.data : "", r->body.len, "body",
	    err, sizeof(err));
	if (body != NULL) {
		d = json_get_string(body, "deploymentId");
		v = json_get_string(body, "version");
	}
	if (d == NULL && http_header(r, "Marathon-Deployment-Id", hdr,
	    sizeof(hdr)) == 0)
		d = hdr;
	if (d == NULL || v == NULL) {
		log_err("%s: HTTP %ld without a deploymentId and version", what,
		    r->status);
		finish("failed", 1);
	}
	free(out.deployment);
	free(out.version);
	out.deployment = estrdup(d);
	out.version = estrdup(v);
	cJSON_Delete(body);
}

/*
 * After a PUT whose answer was lost (reset, timeout): did it land? Read
 * the app: a version that moved since our first read is taken as ours.
 * Returns 1 when it was adopted (out.* set), 0 when it did not land.
 */
static int
adopt(struct marathon *m, const char *id, const struct previous *prev)
{
	struct http_resp r = HTTP_RESP_INIT;
	const cJSON *deps;
	char err[1024];
	const char *v;
	cJSON *app;
	int rc;

	rc = marathon_app_get(m, id, &app, &r, err, sizeof(err));
	if (rc < 0)
		request_failed(m, err, &r, "failed");
	http_resp_free(&r);
	if (rc == 1)
		return 0;
	v = json_get_string(app, "version");
	if (v == NULL || (prev->exists && strcmp(v, prev->version) <= 0)) {
		cJSON_Delete(app);
		return 0;
	}
	deps = json_get_array(app, "deployments");
	out.version = estrdup(v);
	if (cJSON_GetArraySize(deps) == 1 &&
	    json_get_string(cJSON_GetArrayItem(deps, 0), "id") != NULL)
		out.deployment = estrdup(json_get_string(cJSON_GetArrayItem(deps,
		    0), "id"));
	log_warn("%s: the app is now at version %s%s%s: taking that as our "
	    "PUT's", id, v, out.deployment ? ", deployment " : "",
	    out.deployment ? out.deployment : "");
	cJSON_Delete(app);
	return 1;
}

/*
 * Send the definition with one PUT; wait out another deployment's lock
 * unless forced. Returns the HTTP status (200 updated, 201 created).
 */
static long
put(struct marathon *m, const char *id, const char *body, int force,
    long long timeout, const struct previous *prev)
{
	struct http_resp r = HTTP_RESP_INIT;
	struct buf path = BUF_INIT;
	long long deadline = util_now_ms() + timeout;
	char why[1024], perr[256];
	long status = 0;
	int resent = 0;
	cJSON *err;

	buf_printf(&path, "/v2/apps%s?partialUpdate=false%s", id,
	    force ? "&force=true" : "");
	for (;;) {
		if (marathon_request(m, "PUT", path.data, body, &r) < 0) {
			marathon_why(m, "PUT", path.data, &r, why, sizeof(why));
			if (r.fail == HTTP_FAIL_CONNECT)
				request_failed(m, why, &r, NULL);
			/* It may have landed: read before sending it again. */
			log_warn("%s: reading the app before anything else", why);
			if (adopt(m, id, prev)) {
				status = prev->exists ? 200 : 201;
				break;
			}
			if (resent++ > 0)
				request_failed(m, why, &r, NULL);
			log_info("%s: the PUT did not land: sending it again", id);
			continue;
		}
		if (r.status == 200 || r.status == 201) {
			marathon_why(m, "PUT", path.data, &r, why, sizeof(why));
			accepted(&r, why);
			status = r.status;
			break;
		}
		err = r.status == 409 ? json_parse(r.body.data ? r.body.data : "",
		    r.body.len, "body", perr, sizeof(perr)) : NULL;
		if (cJSON_GetArraySize(json_get_array(err, "deployments")) > 0 &&
		    !force) {
			int rc = deploy_wait_unlocked(m, id, json_get_array(err,
			    "deployments"), deadline, why, sizeof(why));

			cJSON_Delete(err);
			if (rc == 0)
				continue;
			if (rc > 0) {
				log_err("%s after %llds: nothing was deployed; try "
				    "again later, or -f to override it", why,
				    timeout / 1000);
				finish("timeout", 3);
			}
			log_err("%s", why);
			finish("failed", 1);
		}
		cJSON_Delete(err);
		marathon_why(m, "PUT", path.data, &r, why, sizeof(why));
		request_failed(m, why, &r, "failed");
	}
	buf_free(&path);
	http_resp_free(&r);
	return status;
}

/*
 * Start the rollback; fills w for waiting on it. Returns 0, or -1 when
 * it could not be started (said why).
 */
static int
rollback_start(struct marathon *m, enum rollback how, const char *id,
    const struct previous *prev, struct deploy_watch *w, char **rdep,
    char **rver)
{
	struct http_resp r = HTTP_RESP_INIT;
	struct buf path = BUF_INIT, body = BUF_INIT;
	const char *method;
	char why[1024], err[256];
	cJSON *res;
	int rc = -1;

	if (how == ROLLBACK_REVERT) {
		if (out.deployment == NULL) {
			log_err("%s: cannot revert: the deployment's id is not "
			    "known; use --rollback=previous", id);
			return -1;
		}
		method = "DELETE";
		buf_printf(&path, "/v2/deployments/%s", out.deployment);
	} else if (prev->exists) {
		method = "PUT";
		buf_printf(&path, "/v2/apps%s?force=true", id);
		buf_printf(&body, "{\"id\":\"%s\",\"version\":\"", id);
		json_escape(&body, prev->version, strlen(prev->version));
		buf_adds(&body, "\"}");
	} else {
		method = "DELETE";	/* there was no app before */
		buf_printf(&path, "/v2/apps%s?force=true", id);
	}
	log_info("%s: rolling back: %s %s", id, method, path.data);
	if (marathon_request(m, method, path.data, body.data, &r) < 0 ||
	    r.status != 200) {
		marathon_why(m, method, path.data, &r, why, sizeof(why));
		log_err("%s: rollback failed: %s", id, why);
		goto done;
	}
	res = json_parse(r.body.data ? r.body.data : "", r.body.len, "body",
	    err, sizeof(err));
	if (json_get_string(res, "deploymentId") == NULL ||
	    json_get_string(res, "version") == NULL) {
		log_err("%s: rollback: %s %s: HTTP 200 without a deploymentId and "
		    "version", id, method, path.data);
		cJSON_Delete(res);
		goto done;
	}
	*rdep = estrdup(json_get_string(res, "deploymentId"));
	*rver = estrdup(json_get_string(res, "version"));
	cJSON_Delete(res);
	deploy_watch_init(w, id, *rdep, *rver, prev->instances, prev->health,
	    !prev->exists);
	rc = 0;
done:
	buf_free(&path);
	buf_free(&body);
	http_resp_free(&r);
	return rc;
}

/* Roll back after a timeout and wait for it; exits 4 or 5. */
static _Noreturn void
rollback(struct marathon *m, enum rollback how, const char *id,
    const struct previous *prev, long long timeout, const char *shown)
{
	struct deploy_watch w;
	char *rdep = NULL, *rver = NULL;
	enum deploy_verdict v;

	if (rollback_start(m, how, id, prev, &w, &rdep, &rver) < 0)
		finish("rollback-failed", 5);
	v = deploy_wait(m, &w, util_now_ms() + timeout);
	if (v == DEPLOY_DONE || v == DEPLOY_UNCHANGED) {
		if (prev->exists)
			log_err("%s: rolled back to the previous definition "
			    "(version %s, deployment %s)", id, rver, rdep);
		else
			log_err("%s: rolled back: the app is removed, as it did "
			    "not exist before", id);
		finish("rolled-back", 4);
	}
	if (v == DEPLOY_WAITING)
		deploy_diagnose(m, &w, shown);
	else
		log_err("%s", w.why);
	log_err("%s: the rollback (deployment %s) did not finish: a human must "
	    "look", id, rdep);
	finish("rollback-failed", 5);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cacert", required_argument, NULL, 'C' },
		{ "credentials-file", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "marathon", required_argument, NULL, 'm' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rollback", optional_argument, NULL, 'r' },
		{ "set", required_argument, NULL, 's' },
		{ "strict", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct marathon_settings ms = { NULL, NULL, NULL, NULL, 0, 0 };
	struct tmpl_vars vars = TMPL_VARS_INIT;
	struct buf urls = BUF_INIT;
	struct previous prev;
	struct deploy_watch w;
	struct marathon m;
	const char *timeout_arg = "10m", *result;
	char *name, *text, *id, *body, err[1024], num[32];
	long long timeout, instances = 1, want;
	int c, force = 0, dry_run = 0, no_wait = 0, strict = 0, health;
	enum rollback how = ROLLBACK_NONE;
	enum deploy_verdict v;
	size_t len;
	long status;
	cJSON *def;

	util_checkfds();
	log_init("marathon-deploy", 1);
	out.start = util_now_ms();

	/* 1. Options and operands. */
	while ((c = getopt_long(argc, argv, "fhm:nqs:t:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			ms.cacert = optarg;
			break;
		case 'c':
			ms.credentials_file = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			fputs(help_text, stdout);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		case 'j':
			out.json = 1;
			break;
		case 'k':
			ms.insecure = 1;
			break;
		case 'm':
			buf_printf(&urls, "%s%s", urls.len ? "," : "", optarg);
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'q':
			log_level = LOG_QUIET;
			break;
		case 'r':
			if (optarg == NULL || strcmp(optarg, "previous") == 0)
				how = ROLLBACK_PREVIOUS;
			else if (strcmp(optarg, "revert") == 0)
				how = ROLLBACK_REVERT;
			else
				log_die(2, "--rollback=%s: expected previous or "
				    "revert", optarg);
			break;
		case 's':
			if (tmpl_vars_assign(&vars, optarg) < 0)
				log_die(2, "-s %s: expected name=value with name "
				    "[A-Za-z_][A-Za-z0-9_]*", optarg);
			break;
		case 'S':
			strict = 1;
			break;
		case 't':
			timeout_arg = optarg;
			break;
		case 'T':
			ms.token_file = optarg;
			break;
		case 'v':
			log_level = LOG_VERBOSE;
			break;
		case 'W':
			no_wait = 1;
			break;
		case 'V':
			puts("marathon-deploy (galley) " GALLEY_VERSION);
			return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
		default:
			log_usage(2, usage_line);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3)
		log_usage(2, usage_line);
	if (util_duration(timeout_arg, &timeout) < 0 || timeout <= 0)
		log_die(2, "-t %s: expected a duration such as 90s, 10m or 1h",
		    timeout_arg);
	if (argc == 3) {
		char *end;

		errno = 0;
		instances = strtoll(argv[2], &end, 10);
		if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' ||
		    errno != 0 || instances > 1000000)
			log_die(2, "%s: the instance count must be a whole number "
			    "from 0 to 1000000", argv[2]);
	}
	if (urls.len > 0)
		ms.urls = urls.data;

	/* 2. Fetch, fill and check the template: nothing is sent before. */
	fetch(argv[0], &name, &text, &len);
	tmpl_vars_set(&vars, "environment", argv[1]);
	snprintf(num, sizeof(num), "%lld", instances);
	tmpl_vars_set(&vars, "instances", num);
	def = fill(name, text, len, &vars, strict, argc == 3);
	id = check_def(name, def);
	out.app = id;
	tmpl_vars_free(&vars);
	free(name);
	free(text);
	if (json_get_int(def, "instances", &want) < 0)
		want = 1;
	health = has_health_checks(def);
	body = json_print(def, dry_run);
	cJSON_Delete(def);
	if (dry_run) {
		puts(body);
		free(body);
		buf_free(&urls);
		return util_fshut(stdout, "<stdout>") < 0 ? 1 : 0;
	}

	/* 3. Marathon: where the app stands, then one PUT. */
	if (marathon_init(&m, &ms, err, sizeof(err)) < 0)
		log_die(2, "%s", err);
	buf_free(&urls);
	read_previous(&m, id, force, &prev);
	status = put(&m, id, body, force, timeout, &prev);
	free(body);
	log_info("%s: %s: version %s, deployment %s", id, status == 201 ?
	    "creating" : "updating", out.version, out.deployment ?
	    out.deployment : "(unknown)");
	result = status == 201 ? "created" : "updated";
	if (no_wait)
		finish("accepted", 0);

	/* 4. Wait for the real outcome. */
	deploy_watch_init(&w, id, out.deployment, out.version, want, health,
	    0);
	v = deploy_wait(&m, &w, util_now_ms() + timeout);
	switch (v) {
	case DEPLOY_DONE:
		log_info("%s: deployed version %s: %lld running%s", id,
		    out.version, w.running, w.health ? ", all healthy" : "");
		finish(result, 0);
	case DEPLOY_UNCHANGED:
		log_info("%s: unchanged: Marathon had nothing to deploy (version "
		    "%s stays)", id, w.app_version);
		if (w.running < want || (w.health && w.healthy < want))
			log_warn("%s: %lld of %lld tasks running, %lld healthy",
			    id, w.running, want, w.healthy);
		free(out.version);
		out.version = estrdup(w.app_version);
		finish("unchanged", 0);
	case DEPLOY_FAILED:
	case DEPLOY_ERROR:
		log_err("%s", w.why);
		finish("failed", 1);
	case DEPLOY_WAITING:
		break;
	}

	/* 5. Timed out: say why, roll back if asked. */
	deploy_diagnose(&m, &w, timeout_arg);
	if (how == ROLLBACK_NONE)
		finish("timeout", 4);
	rollback(&m, how, id, &prev, timeout, timeout_arg);
}
