/* See COPYING for copyright and license details. */
/*
 * http: a thin layer over libcurl's easy API. struct http (one reusable
 * connection cache) and struct http_resp are caller-owned: start a
 * response as HTTP_RESP_INIT and end it with http_resp_free(). Requests
 * only borrow their strings. Header values may carry secrets: they are
 * never logged, and URLs are logged without their userinfo. A POST, PUT
 * or PATCH always goes on a new connection, so that libcurl never sends
 * one again by itself.
 */
#ifndef GALLEY_HTTP_H
#define GALLEY_HTTP_H

#include <stddef.h>

#include "buf.h"

struct http_opts {
	long connect_timeout_ms;	/* 0: 5 s */
	long timeout_ms;		/* total per request; 0: 30 s */
	size_t max_body;		/* 0: 16 MiB */
	const char *cacert;		/* NULL: the system's CA store */
	const char *client_cert;	/* PEM, with client_key */
	const char *client_key;
	int insecure;			/* skip TLS verification */
};

struct http_req {
	const char *method;		/* NULL: GET */
	const char *url;
	const char *body;		/* NULL: no body */
	size_t body_len;
	const char *content_type;	/* with body; NULL: application/json */
	const char *const *headers;	/* NULL-terminated "Name: value" list */
	long timeout_ms;		/* 0: the handle's timeout */
};

enum http_fail {
	HTTP_FAIL_NONE = 0,	/* a response arrived (any status) */
	HTTP_FAIL_CONNECT,	/* refused or unresolvable: nothing was sent */
	HTTP_FAIL_RESET,	/* the connection broke: the request may have arrived */
	HTTP_FAIL_TIMEOUT,
	HTTP_FAIL_TLS,
	HTTP_FAIL_TOOBIG,	/* body over max_body */
	HTTP_FAIL_OTHER,
};

struct http_resp {
	long status;
	struct buf body;
	struct buf headers;	/* header lines of the final response */
	enum http_fail fail;
	char error[256];	/* why, when fail != HTTP_FAIL_NONE */
};

#define HTTP_RESP_INIT { 0, BUF_INIT, BUF_INIT, HTTP_FAIL_NONE, "" }

struct http {
	void *curl;
	struct http_opts opts;
};

int http_init(struct http *h, const struct http_opts *opts);
void http_cleanup(struct http *h);

/*
 * Perform one request. Returns 0 when a response arrived (whatever its
 * status), -1 otherwise with resp->fail and resp->error set. resp is
 * reset first, so one struct can serve many requests.
 */
int http_request(struct http *h, const struct http_req *req,
    struct http_resp *resp);

/* Copy the value of response header name (any case) into out; 0 if found. */
int http_header(const struct http_resp *resp, const char *name, char *out,
    size_t n);

/* Does the body look like HTML (Jetty, proxies, S3 error pages)? */
int http_body_is_html(const struct http_resp *resp);

/*
 * A one-line summary of a response for messages: "HTTP 503" and, for a
 * non-HTML body, ": " and its first line (cut at 200 characters).
 */
const char *http_summary(const struct http_resp *resp, char *out, size_t n);

/* The URL as it may be shown: without user:password@. */
const char *http_display_url(const char *url, char *out, size_t n);

void http_resp_free(struct http_resp *resp);

#endif
