/* See COPYING for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "json.h"
#include "marathon.h"
#include "util.h"

static const char *
flag_or_env(const char *flag, const char *var)
{
	const char *v;

	if (flag != NULL)
		return flag;
	v = getenv(var);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* A secret from a file: read once, trailing newlines stripped. */
static char *
read_secret(const char *path, char *err, size_t errlen)
{
	char *data;
	size_t len;
	int e = util_read_file(path, 64 * 1024, &data, &len);

	if (e != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return NULL;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (len == 0 || memchr(data, '\0', len) != NULL ||
	    strpbrk(data, "\r\n") != NULL) {
		snprintf(err, errlen, "%s: expected one line", path);
		free(data);
		return NULL;
	}
	return data;
}

/* Remember what no message may quote (the shortest are too common). */
static void
add_secret(struct marathon *m, const char *s, size_t n)
{
	if (n < 3)
		return;
	m->secrets = erealloc(m->secrets, (m->nsecrets + 1) *
	    sizeof(*m->secrets));
	m->secrets[m->nsecrets++] = estrndup(s, n);
}

/* The password of a URL's user:password@, as a secret. */
static void
add_url_secret(struct marathon *m, const char *url)
{
	const char *host = strstr(url, "://"), *at, *colon;
	size_t hl;

	host = host ? host + 3 : url;
	hl = strcspn(host, "/?#");
	if ((at = memrchr(host, '@', hl)) == NULL)
		return;
	colon = memchr(host, ':', (size_t)(at - host));
	if (colon != NULL)
		add_secret(m, colon + 1, (size_t)(at - colon - 1));
}

static int
add_urls(struct marathon *m, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ","), skip = n;
		char *u;

		while (n > 0 && isspace((unsigned char)*p))
			p++, n--, skip--;
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0) {
			p += skip;
			p += *p == ',';
			continue;
		}
		if (strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0) {
			u = estrndup(p, n);
		} else if (memchr(p, ':', n) != NULL && memmem(p, n, "://", 3) == NULL) {
			u = emalloc(n + 8);	/* host:port */
			snprintf(u, n + 8, "http://%.*s", (int)n, p);
		} else {
			char shown[512];

			u = estrndup(p, n);
			http_display_url(u, shown, sizeof(shown));
			free(u);
			snprintf(err, errlen, "%s: not an http:// or https:// "
			    "URL or host:port", shown);
			return -1;
		}
		while (strlen(u) > 0 && u[strlen(u) - 1] == '/')
			u[strlen(u) - 1] = '\0';
		add_url_secret(m, u);
		m->urls = erealloc(m->urls, (m->nurls + 1) * sizeof(*m->urls));
		m->urls[m->nurls++] = u;
		p += skip;
		p += *p == ',';
	}
	if (m->nurls == 0) {
		snprintf(err, errlen, "no Marathon URL given");
		return -1;
	}
	return 0;
}

int
marathon_init(struct marathon *m, const struct marathon_settings *s,
    char *err, size_t errlen)
{
	struct http_opts o = { 0, 0, 0, NULL, NULL, NULL, 0 };
	const char *urls, *v;
	struct buf b = BUF_INIT;
	char *secret;

	memset(m, 0, sizeof(*m));
	urls = flag_or_env(s->urls, "MARATHON_URL");
	if (add_urls(m, urls ? urls : MARATHON_DEFAULT_URL, err, errlen) < 0)
		return -1;

	/* A token wins over basic credentials (DESIGN.md §5). */
	if (s->token_file != NULL) {
		if ((secret = read_secret(s->token_file, err, errlen)) == NULL)
			return -1;
		buf_printf(&b, "Authorization: token=%s", secret);
		add_secret(m, secret, strlen(secret));
		free(secret);
		m->auth_source = "--token-file";
	} else if ((v = getenv("DCOS_ACS_TOKEN")) != NULL && *v != '\0') {
		buf_printf(&b, "Authorization: token=%s", v);
		add_secret(m, v, strlen(v));
		m->auth_source = "DCOS_ACS_TOKEN";
	} else {
		if (s->credentials_file != NULL) {
			if ((secret = read_secret(s->credentials_file, err,
			    errlen)) == NULL)
				return -1;
			m->auth_source = "--credentials-file";
		} else if ((v = getenv("MARATHON_CREDENTIALS")) != NULL &&
		    *v != '\0') {
			secret = estrdup(v);
			m->auth_source = "MARATHON_CREDENTIALS";
		} else {
			secret = NULL;
		}
		if (secret != NULL) {
			if (strchr(secret, ':') == NULL) {
				snprintf(err, errlen, "%s: expected user:password",
				    m->auth_source);
				free(secret);
				return -1;
			}
			buf_adds(&b, "Authorization: Basic ");
			base64_encode(secret, strlen(secret), &b);
			add_secret(m, strchr(secret, ':') + 1,
			    strlen(strchr(secret, ':') + 1));
			add_secret(m, b.data + 21, b.len - 21);
			memset(secret, 0, strlen(secret));
			free(secret);
		}
	}
	if (b.len > 0)
		m->auth = buf_detach(&b);

	o.cacert = flag_or_env(s->cacert, "MARATHON_CACERT");
	o.insecure = s->insecure;
	o.timeout_ms = s->timeout_ms;
	if (http_init(&m->http, &o) < 0) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	return 0;
}

void
marathon_free(struct marathon *m)
{
	size_t i;

	http_cleanup(&m->http);
	for (i = 0; i < m->nurls; i++)
		free(m->urls[i]);
	free(m->urls);
	if (m->auth != NULL) {
		memset(m->auth, 0, strlen(m->auth));
		free(m->auth);
	}
	for (i = 0; i < m->nsecrets; i++) {
		memset(m->secrets[i], 0, strlen(m->secrets[i]));
		free(m->secrets[i]);
	}
	free(m->secrets);
	memset(m, 0, sizeof(*m));
}

/* May this outcome be retried on the next URL? */
static int
try_next(const char *method, const struct http_resp *r, int got)
{
	int idempotent = strcmp(method, "GET") == 0 ||
	    strcmp(method, "DELETE") == 0;

	if (got)
		return r->status == 502 || r->status == 503;
	if (r->fail == HTTP_FAIL_CONNECT)
		return 1;
	return idempotent && (r->fail == HTTP_FAIL_RESET ||
	    r->fail == HTTP_FAIL_TIMEOUT);
}

int
marathon_request(struct marathon *m, const char *method, const char *path,
    const char *body, struct http_resp *r)
{
	const char *hdrs[] = { "Accept: application/json", m->auth, NULL };
	struct http_req req = { method, NULL, body, body ? strlen(body) : 0,
	    NULL, hdrs, 0 };
	struct buf url = BUF_INIT;
	size_t i;
	int got = 0;

	for (i = 0; i < m->nurls; i++) {
		size_t k = (m->cur + i) % m->nurls;
		char shown[512];

		buf_reset(&url);
		buf_printf(&url, "%s%s", m->urls[k], path);
		req.url = url.data;
		req.timeout_ms = 0;
		if (m->deadline_ms > 0) {
			long long left = m->deadline_ms - util_now_ms();

			if (left < MARATHON_MIN_TIMEOUT_MS)
				left = MARATHON_MIN_TIMEOUT_MS;
			if (m->http.opts.timeout_ms <= 0 ||
			    left < m->http.opts.timeout_ms)
				req.timeout_ms = (long)left;
		}
		got = http_request(&m->http, &req, r) == 0;
		log_debug("%s %s: %s", method, http_display_url(url.data, shown,
		    sizeof(shown)), got ? "answered" : r->error);
		if (!try_next(method, r, got) || i + 1 == m->nurls) {
			if (got || r->fail != HTTP_FAIL_CONNECT)
				m->cur = k;
			break;
		}
		if (got)
			log_info("%s %s: HTTP %ld, trying the next Marathon",
			    method, http_display_url(url.data, shown,
			    sizeof(shown)), r->status);
		else
			log_info("%s %s: %s, trying the next Marathon", method,
			    http_display_url(url.data, shown, sizeof(shown)),
			    r->error);
	}
	buf_free(&url);
	return got ? 0 : -1;
}

const char *
marathon_url(const struct marathon *m, char *out, size_t n)
{
	return http_display_url(m->urls[m->cur], out, n);
}

const char *
marathon_error(const struct http_resp *r, char *out, size_t n)
{
	const cJSON *details, *d, *e, *deps;
	const char *msg;
	struct buf b = BUF_INIT;
	char perr[64];
	cJSON *root = NULL;

	if (r->body.len > 0 && !http_body_is_html(r))
		root = json_parse(r->body.data, r->body.len, "body", perr,
		    sizeof(perr));
	msg = root ? json_get_string(root, "message") : NULL;
	if (msg == NULL) {
		cJSON_Delete(root);
		return http_summary(r, out, n);
	}
	buf_printf(&b, "HTTP %ld: %s", r->status, msg);
	details = cJSON_GetObjectItemCaseSensitive(root, "details");
	if (cJSON_IsString(details)) {
		buf_printf(&b, ": %s", details->valuestring);
	} else if (cJSON_IsArray(details)) {
		cJSON_ArrayForEach(d, details) {
			const char *path = json_get_string(d, "path");

			cJSON_ArrayForEach(e, json_get_array(d, "errors"))
				if (cJSON_IsString(e))
					buf_printf(&b, "; %s: %s",
					    path && *path ? path : "/", e->valuestring);
		}
	}
	deps = json_get_array(root, "deployments");
	if (deps != NULL) {
		buf_adds(&b, " (deployments:");
		cJSON_ArrayForEach(d, deps)
			if (json_get_string(d, "id") != NULL)
				buf_printf(&b, " %s", json_get_string(d, "id"));
		buf_adds(&b, ")");
	}
	snprintf(out, n, "%s", b.data);
	log_flatten(out);	/* Jackson's messages hold line breaks */
	buf_free(&b);
	cJSON_Delete(root);
	return out;
}

const char *
marathon_reply(const struct marathon *m, const struct http_resp *r, char *out,
    size_t n)
{
	size_t i;

	marathon_error(r, out, n);
	for (i = 0; i < m->nsecrets; i++)
		if (strstr(out, m->secrets[i]) != NULL) {
			snprintf(out, n, "HTTP %ld (the answer quoted the "
			    "credentials: withheld)", r->status);
			break;
		}
	return out;
}

static int
segment_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			/* '.' separates labels: not first, last or doubled. */
			if (i == 0 || i + 1 == n || s[i + 1] == '.' ||
			    s[i - 1] == '-' || s[i + 1] == '-')
				return 0;
		} else if (c == '-') {
			if (i == 0 || i + 1 == n)
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return 0;
		}
	}
	return 1;
}

int
marathon_app_id(const char *id, char *out, size_t n, char *err, size_t errlen)
{
	const char *p = id, *last = NULL;
	size_t len;

	if (*p == '/')
		p++;
	if (*p == '\0') {
		snprintf(err, errlen, "app id '%s' is empty", id);
		return -1;
	}
	while (*p != '\0') {
		len = strcspn(p, "/");
		if (!segment_ok(p, len)) {
			snprintf(err, errlen, "app id '%s': segment '%.*s' must be "
			    "lower-case letters, digits and '-' (not first or last), "
			    "with '.' between labels", id, (int)len, p);
			return -1;
		}
		last = p;
		p += len;
		if (*p == '/' && p[1] == '\0') {
			snprintf(err, errlen, "app id '%s' ends with '/'", id);
			return -1;
		}
		p += *p == '/';
	}
	if (strcmp(last, "restart") == 0 || strcmp(last, "tasks") == 0 ||
	    strcmp(last, "versions") == 0) {
		snprintf(err, errlen, "app id '%s' may not end in '%s'", id, last);
		return -1;
	}
	if ((size_t)snprintf(out, n, "/%s", id[0] == '/' ? id + 1 : id) >= n) {
		snprintf(err, errlen, "app id '%s' is too long", id);
		return -1;
	}
	return 0;
}

/* ---- Apps and deployments ---- */

const char *
marathon_why(const struct marathon *m, const char *method, const char *path,
    const struct http_resp *r, char *out, size_t n)
{
	char base[512], why[1024];

	marathon_url(m, base, sizeof(base));
	if (r->fail == HTTP_FAIL_NONE)
		marathon_reply(m, r, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", r->error);
	snprintf(out, n, "%s %s%s: %s", method, base, path, why);
	return out;
}

/* GET path and parse a JSON body of a 200 answer; 0, or -1 with err. */
static int
get_json(struct marathon *m, const char *path, cJSON **out,
    struct http_resp *r, char *err, size_t errlen)
{
	char perr[256];

	*out = NULL;
	if (marathon_request(m, "GET", path, NULL, r) < 0 || r->status != 200) {
		marathon_why(m, "GET", path, r, err, errlen);
		return -1;
	}
	*out = json_parse(r->body.data ? r->body.data : "", r->body.len,
	    "body", perr, sizeof(perr));
	if (*out == NULL) {
		char base[512];

		snprintf(err, errlen, "GET %s%s: HTTP 200 but not JSON (%s)",
		    marathon_url(m, base, sizeof(base)), path, perr);
		return -1;
	}
	return 0;
}

int
marathon_app_get(struct marathon *m, const char *id, struct cJSON **app,
    struct http_resp *r, char *err, size_t errlen)
{
	struct buf path = BUF_INIT;
	cJSON *root, *a;
	char base[512];
	int rc;

	*app = NULL;
	buf_printf(&path, "/v2/apps%s", id);
	rc = get_json(m, path.data, &root, r, err, errlen);
	if (rc < 0) {
		rc = r->fail == HTTP_FAIL_NONE && r->status == 404 ? 1 : -1;
		buf_free(&path);
		return rc;
	}
	a = cJSON_DetachItemFromObjectCaseSensitive(root, "app");
	cJSON_Delete(root);
	if (!cJSON_IsObject(a)) {
		snprintf(err, errlen, "GET %s%s: HTTP 200 without an \"app\" "
		    "object", marathon_url(m, base, sizeof(base)), path.data);
		cJSON_Delete(a);
		buf_free(&path);
		return -1;
	}
	*app = a;
	buf_free(&path);
	return 0;
}

int
marathon_deployments(struct marathon *m, struct cJSON **list,
    struct http_resp *r, char *err, size_t errlen)
{
	char base[512];

	if (get_json(m, "/v2/deployments", list, r, err, errlen) < 0)
		return -1;
	if (!cJSON_IsArray(*list)) {
		snprintf(err, errlen, "GET %s/v2/deployments: HTTP 200 but not "
		    "an array", marathon_url(m, base, sizeof(base)));
		cJSON_Delete(*list);
		*list = NULL;
		return -1;
	}
	return 0;
}

const struct cJSON *
marathon_deployment_find(const struct cJSON *list, const char *id)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, list) {
		const char *did = json_get_string(d, "id");

		if (did != NULL && strcmp(did, id) == 0)
			return d;
	}
	return NULL;
}

int
marathon_app_deploying(const struct cJSON *app, const char *id)
{
	const cJSON *deps = json_get_array(app, "deployments");

	if (id == NULL)
		return cJSON_GetArraySize(deps) > 0;
	return marathon_deployment_find(deps, id) != NULL;
}

int
marathon_follow_leader(struct marathon *m, const struct http_resp *r)
{
	char leader[512], via[256];
	size_t i, n;

	if (http_header(r, "X-Marathon-Via", via, sizeof(via)) < 0 &&
	    http_header(r, "Via", via, sizeof(via)) < 0)
		return 0;
	if (http_header(r, "X-Marathon-Leader", leader, sizeof(leader)) < 0 ||
	    (strncmp(leader, "http://", 7) != 0 &&
	    strncmp(leader, "https://", 8) != 0))
		return 0;
	/* Credentials in the URL would not carry over: stay put. */
	if (strchr(m->urls[m->cur], '@') != NULL)
		return 0;
	n = strlen(leader);
	while (n > 0 && leader[n - 1] == '/')
		leader[--n] = '\0';
	for (i = 0; i < m->nurls; i++)
		if (strcmp(m->urls[i], leader) == 0)
			break;
	if (i == m->nurls) {
		m->urls = erealloc(m->urls, (m->nurls + 1) * sizeof(*m->urls));
		memmove(m->urls + 1, m->urls, m->nurls * sizeof(*m->urls));
		m->urls[0] = estrdup(leader);
		m->nurls++;
		m->cur++;	/* it moved up with the others */
		i = 0;
	}
	if (i == m->cur)
		return 0;
	m->cur = i;
	log_debug("following the leader at %s", leader);
	return 1;
}

/* --- for service-wrapper --- */

int
marathon_restart(struct marathon *m, const char *app_id, struct http_resp *r,
    char *deployment, size_t n)
{
	struct buf path = BUF_INIT;
	const char *id;
	char perr[64];
	cJSON *root;
	int rc;

	buf_printf(&path, "/v2/apps%s/restart", app_id);
	/* No body, but JSON: Marathon's resources consume only JSON (415). */
	rc = marathon_request(m, "POST", path.data, "", r);
	buf_free(&path);
	if (n > 0)
		deployment[0] = '\0';
	if (rc == 0 && (r->status == 200 || r->status == 201) && n > 0 &&
	    (root = json_parse(r->body.data ? r->body.data : "", r->body.len,
	    "body", perr, sizeof(perr))) != NULL) {
		if ((id = json_get_string(root, "deploymentId")) != NULL)
			snprintf(deployment, n, "%s", id);
		cJSON_Delete(root);
	}
	return rc;
}
