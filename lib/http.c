/* See COPYING for copyright and license details. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "util.h"

#ifndef GALLEY_VERSION
#define GALLEY_VERSION "0"
#endif

struct sink {
	struct buf *b;
	size_t max;
	int toobig;
};

int
http_init(struct http *h, const struct http_opts *opts)
{
	static int global_done;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		global_done = 1;
	}
	memset(h, 0, sizeof(*h));
	if (opts != NULL)
		h->opts = *opts;
	if (h->opts.connect_timeout_ms <= 0)
		h->opts.connect_timeout_ms = 5000;
	if (h->opts.timeout_ms <= 0)
		h->opts.timeout_ms = 30000;
	if (h->opts.max_body == 0)
		h->opts.max_body = UTIL_MAX_BODY;
	h->curl = curl_easy_init();
	return h->curl != NULL ? 0 : -1;
}

void
http_cleanup(struct http *h)
{
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	n *= size;
	if (s->b->len + n > s->max) {
		s->toobig = 1;
		return 0;
	}
	buf_add(s->b, p, n);
	return n;
}

/* Keep the header lines of the last response only (after 1xx, say). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	n *= size;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		buf_reset(s->b);
	if (s->b->len + n > 65536) {
		s->toobig = 1;
		return 0;
	}
	buf_add(s->b, p, n);
	return n;
}

static enum http_fail
classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_FAIL_CONNECT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
		return HTTP_FAIL_RESET;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_FAIL_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return HTTP_FAIL_TLS;
	default:
		return HTTP_FAIL_OTHER;
	}
}

int
http_request(struct http *h, const struct http_req *req,
    struct http_resp *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "", ua[64], ct[256];
	struct sink body = { &resp->body, h->opts.max_body, 0 };
	struct sink hdrs = { &resp->headers, 0, 0 };
	const char *method = req->method ? req->method : "GET";
	struct curl_slist *list = NULL, *l;
	const char *const *hp;
	CURL *c = h->curl;
	CURLcode rc;

	buf_reset(&resp->body);
	buf_reset(&resp->headers);
	resp->status = 0;
	resp->fail = HTTP_FAIL_NONE;
	resp->error[0] = '\0';

	/* Keeps the connection cache, forgets the previous request. */
	curl_easy_reset(c);
	snprintf(ua, sizeof(ua), "galley/%s", GALLEY_VERSION);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    req->timeout_ms > 0 ? req->timeout_ms : h->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
	if (h->opts.cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.cacert);
	if (h->opts.client_cert != NULL)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->opts.client_cert);
	if (h->opts.client_key != NULL)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->opts.client_key);
	if (h->opts.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	/*
	 * libcurl sends a request again by itself when a reused connection
	 * dies before the answer starts. A POST, PUT or PATCH may have landed
	 * then: it goes on a new connection, so that never happens and the
	 * caller decides.
	 */
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
		snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type ?
		    req->content_type : "application/json");
		list = curl_slist_append(list, ct);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	list = curl_slist_append(list, "Expect:");
	for (hp = req->headers; hp != NULL && *hp != NULL; hp++) {
		l = curl_slist_append(list, *hp);
		if (l == NULL)
			break;
		list = l;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(list);

	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		return 0;
	}
	if (body.toobig) {
		resp->fail = HTTP_FAIL_TOOBIG;
		snprintf(resp->error, sizeof(resp->error),
		    "response body larger than %zu bytes", h->opts.max_body);
	} else {
		resp->fail = classify(rc);
		snprintf(resp->error, sizeof(resp->error), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	return -1;
}

int
http_header(const struct http_resp *resp, const char *name, char *out,
    size_t n)
{
	size_t nl = strlen(name);
	const char *p = resp->headers.data, *end, *v;

	if (p == NULL)
		return -1;
	for (; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) <= nl || p[nl] != ':' ||
		    strncasecmp(p, name, nl) != 0)
			continue;
		for (v = p + nl + 1; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		snprintf(out, n, "%.*s", (int)(end - v), v);
		return 0;
	}
	return -1;
}

int
http_body_is_html(const struct http_resp *resp)
{
	char ct[128];
	const char *p = resp->body.data;

	if (http_header(resp, "Content-Type", ct, sizeof(ct)) == 0 &&
	    strncasecmp(ct, "text/html", 9) == 0)
		return 1;
	if (p == NULL)
		return 0;
	while (isspace((unsigned char)*p))
		p++;
	return strncasecmp(p, "<!doctype html", 14) == 0 ||
	    strncasecmp(p, "<html", 5) == 0;
}

const char *
http_summary(const struct http_resp *resp, char *out, size_t n)
{
	const char *p = resp->body.data;
	size_t len = 0;

	if (p != NULL && !http_body_is_html(resp)) {
		while (isspace((unsigned char)*p))
			p++;
		while (p[len] != '\0' && p[len] != '\n' && p[len] != '\r' &&
		    len < 200)
			len++;
	}
	if (len > 0)
		snprintf(out, n, "HTTP %ld: %.*s", resp->status, (int)len, p);
	else
		snprintf(out, n, "HTTP %ld", resp->status);
	log_flatten(out);
	return out;
}

const char *
http_display_url(const char *url, char *out, size_t n)
{
	const char *scheme = strstr(url, "://"), *at, *slash;

	if (scheme == NULL) {
		snprintf(out, n, "%s", url);
		return out;
	}
	scheme += 3;
	slash = scheme + strcspn(scheme, "/?#");
	/* The last '@': a password may hold one, as curl reads it. */
	at = memrchr(scheme, '@', (size_t)(slash - scheme));
	if (at == NULL)
		snprintf(out, n, "%s", url);
	else
		snprintf(out, n, "%.*s%s", (int)(scheme - url), url, at + 1);
	return out;
}

void
http_resp_free(struct http_resp *resp)
{
	buf_free(&resp->body);
	buf_free(&resp->headers);
}
