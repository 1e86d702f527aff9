/* See COPYING for copyright and license details. */
/*
 * marathon: a client for Marathon's REST API over lib/http — a list of
 * base URLs with failover, HTTP basic or DC/OS token auth, and Marathon's
 * error bodies turned into one line. struct marathon is caller-owned
 * (marathon_init, marathon_free) and holds the secret header: nothing
 * here ever prints it. Responses are lib/http's.
 */
#ifndef GALLEY_MARATHON_H
#define GALLEY_MARATHON_H

#include <stddef.h>

#include "http.h"

struct marathon_settings {
	const char *urls;		/* comma-separated; NULL: MARATHON_URL */
	const char *credentials_file;	/* user:password; NULL: MARATHON_CREDENTIALS */
	const char *token_file;		/* NULL: DCOS_ACS_TOKEN */
	const char *cacert;		/* NULL: MARATHON_CACERT */
	int insecure;
	long timeout_ms;		/* per request; 0: 30 s */
};

#define MARATHON_DEFAULT_URL "http://localhost:8080"
/* With a deadline, a request still gets at least this long. */
#define MARATHON_MIN_TIMEOUT_MS 1000

struct marathon {
	struct http http;
	char **urls;		/* base URLs without a trailing slash */
	size_t nurls;
	size_t cur;		/* the one that answered last */
	long long deadline_ms;	/* > 0: no request runs past it (util_now_ms) */
	char *auth;		/* "Authorization: ..." or NULL; secret */
	const char *auth_source;	/* where it came from, for messages */
	char **secrets;		/* what an answer must not quote: token, password, ... */
	size_t nsecrets;
};

/*
 * Read the settings (flags first, then the environment) and set up the
 * client. Returns 0, or -1 with why in err (a bad URL, an unreadable
 * credentials or token file): a usage problem.
 */
int marathon_init(struct marathon *m, const struct marathon_settings *s,
    char *err, size_t errlen);
void marathon_free(struct marathon *m);

/*
 * Send method path (path starts with "/v2/...") with an optional JSON
 * body to the current URL. When nothing was sent (connection refused)
 * or Marathon answered 502/503 (no leader, overloaded), the next URL is
 * tried, each at most once; a GET or DELETE is also tried elsewhere
 * after a reset or a timeout, a PUT or POST never is (it may have
 * landed: the caller must read the state first). With m->deadline_ms
 * set, each try's total timeout is cut to what is left of it (at least
 * MARATHON_MIN_TIMEOUT_MS), so that a hanging Marathon cannot hold a
 * caller past its own deadline. Returns 0 when a
 * response arrived (any status; a 502/503 from the last URL included),
 * -1 when no URL gave one (r->fail and r->error from the last).
 */
int marathon_request(struct marathon *m, const char *method, const char *path,
    const char *body, struct http_resp *r);

/* The base URL the last request went to, for messages (no userinfo). */
const char *marathon_url(const struct marathon *m, char *out, size_t n);

/*
 * One line for an error response: "HTTP 422: Object is not valid: /id:
 * must fully match ...", with Marathon's message and details (paths and
 * errors, or the string details of a 400), the deployments that lock an
 * app, or for an HTML or empty body just "HTTP 502".
 */
const char *marathon_error(const struct http_resp *r, char *out, size_t n);

/*
 * marathon_error(), unless the answer quotes one of m's secrets (the
 * token, the password or its base64, a URL's password): then only
 * "HTTP 400 (...withheld...)". What messages about answers must use.
 */
const char *marathon_reply(const struct marathon *m, const struct http_resp *r,
    char *out, size_t n);

/*
 * Check an app id (each segment [a-z0-9]([a-z0-9-]*[a-z0-9])? with '.'
 * separators; not ending in restart, tasks or versions) and write its
 * absolute form into out. Returns 0, or -1 with why in err.
 */
int marathon_app_id(const char *id, char *out, size_t n, char *err,
    size_t errlen);

/*
 * Apps and deployments: reading the state a deploy is judged by.
 * Trees returned through struct cJSON ** are the caller's (cJSON_Delete).
 */
struct cJSON;

/*
 * "METHOD URL: why" for a request that went wrong, where why is
 * marathon_reply() for a response and the transport error otherwise.
 */
const char *marathon_why(const struct marathon *m, const char *method,
    const char *path, const struct http_resp *r, char *out, size_t n);

/*
 * GET /v2/apps/<id> (id absolute). Returns 0 with *app the "app" object,
 * 1 when there is no such app (404), -1 otherwise (no answer, another
 * status, a body that is not an app) with a marathon_why() line in err.
 */
int marathon_app_get(struct marathon *m, const char *id, struct cJSON **app,
    struct http_resp *r, char *err, size_t errlen);

/* GET /v2/deployments: 0 with *list (an array), or -1 as marathon_app_get. */
int marathon_deployments(struct marathon *m, struct cJSON **list,
    struct http_resp *r, char *err, size_t errlen);

/* The deployment with this id in a /v2/deployments list, or NULL. */
const struct cJSON *marathon_deployment_find(const struct cJSON *list,
    const char *id);

/* Does the app's "deployments" name id (any deployment when id is NULL)? */
int marathon_app_deploying(const struct cJSON *app, const char *id);

/*
 * After an answer that came through a follower (X-Marathon-Via or Via),
 * send the next requests to the leader it names in X-Marathon-Leader:
 * added in front of the URL list unless there already, the others kept
 * for failover. Returns 1 when the current URL changed.
 */
int marathon_follow_leader(struct marathon *m, const struct http_resp *r);

/* --- for service-wrapper --- */

/*
 * POST /v2/apps/<app_id>/restart (app_id absolute, as marathon_app_id
 * makes it), never with force: a running deployment answers 409 and
 * stays. Returns as marathon_request; with 200 or 201 the deployment id
 * is copied into deployment (empty if the body has none).
 */
int marathon_restart(struct marathon *m, const char *app_id,
    struct http_resp *r, char *deployment, size_t n);

#endif
