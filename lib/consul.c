/* See COPYING for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "consul.h"
#include "util.h"

/* Go's strconv.ParseBool, which Consul uses: 1 true, 0 false, -1 neither. */
static int
parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* A header value must not be able to start another header. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* addr as it may be shown: without a user:password@ (none is sent). */
static const char *
addr_shown(const char *addr, char *out, size_t n)
{
	const char *sep = strstr(addr, "://"), *host = sep ? sep + 3 : addr;
	const char *at = memrchr(host, '@', strcspn(host, "/?#"));

	if (at == NULL)
		snprintf(out, n, "%s", addr);
	else
		snprintf(out, n, "%.*s%s", (int)(host - addr), addr, at + 1);
	return out;
}

static int
set_base(struct consul *c, const char *addr, int ssl, char *err,
    size_t errlen)
{
	const char *sep = strstr(addr, "://"), *rest = addr;
	const char *scheme = ssl ? "https" : "http";
	char shown[512];
	size_t n;

	addr_shown(addr, shown, sizeof(shown));
	if (strcmp(shown, addr) != 0) {
		snprintf(err, errlen, "%s: user:password@ in the address is not "
		    "supported: use CONSUL_HTTP_AUTH", shown);
		return -1;
	}
	if (sep != NULL) {
		n = (size_t)(sep - addr);
		rest = sep + 3;
		if (n == 5 && strncmp(addr, "https", 5) == 0) {
			scheme = "https";
		} else if (n == 4 && strncmp(addr, "unix", 4) == 0) {
			snprintf(err, errlen, "%s: unix sockets are not supported: "
			    "use host:port or an http(s):// URL", addr);
			return -1;
		} else if (n != 4 || strncmp(addr, "http", 4) != 0) {
			snprintf(err, errlen, "%s: not host:port or an http:// "
			    "or https:// URL", addr);
			return -1;
		}
		/* http:// with CONSUL_HTTP_SSL=true stays https, as in Consul. */
	}
	if (*rest == '\0' || *rest == '/' || strpbrk(rest, "?#@ \t") != NULL ||
	    !header_safe(rest)) {
		snprintf(err, errlen, "%s: not host:port or an http:// or "
		    "https:// URL", addr);
		return -1;
	}
	n = strlen(scheme) + 3 + strlen(rest) + 1;
	c->base = emalloc(n);
	snprintf(c->base, n, "%s://%s", scheme, rest);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	return 0;
}

static int
set_token(struct consul *c, char *err, size_t errlen)
{
	const char *file = env("CONSUL_HTTP_TOKEN_FILE"), *v;
	struct buf b = BUF_INIT;
	char *data = NULL, *p;
	size_t len;
	int e;

	if (file != NULL) {
		if ((e = util_read_file(file, 64 * 1024, &data, &len)) != 0) {
			snprintf(err, errlen, "CONSUL_HTTP_TOKEN_FILE: %s: %s", file,
			    strerror(e));
			return -1;
		}
		if (memchr(data, '\0', len) != NULL) {
			snprintf(err, errlen, "CONSUL_HTTP_TOKEN_FILE: %s: not a "
			    "token", file);
			free(data);
			return -1;
		}
		/* strings.TrimSpace, as Consul does. */
		while (len > 0 && isspace((unsigned char)data[len - 1]))
			data[--len] = '\0';
		for (p = data; isspace((unsigned char)*p); p++)
			;
		if (*p != '\0') {
			c->secret = estrdup(p);
			buf_printf(&b, "CONSUL_HTTP_TOKEN_FILE (%s)", file);
			c->token_source = buf_detach(&b);
		}
		memset(data, 0, len);
		free(data);
	}
	if (c->secret == NULL && (v = env("CONSUL_HTTP_TOKEN")) != NULL) {
		c->secret = estrdup(v);
		c->token_source = estrdup("CONSUL_HTTP_TOKEN");
	}
	if (c->secret == NULL) {
		c->token_source = estrdup("no token (Consul's anonymous token; "
		    "set CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE)");
		return 0;
	}
	if (!header_safe(c->secret)) {
		snprintf(err, errlen, "%s: the token holds control characters",
		    c->token_source);
		return -1;
	}
	buf_printf(&b, "X-Consul-Token: %s", c->secret);
	c->token = buf_detach(&b);
	return 0;
}

int
consul_init(struct consul *c, const char *addr, char *err, size_t errlen)
{
	struct http_opts o = { 0, 0, 0, NULL, NULL, NULL, 0 };
	const char *v;
	struct buf b = BUF_INIT;
	int ssl = 0;

	memset(c, 0, sizeof(*c));
	if ((v = env("CONSUL_HTTP_SSL")) != NULL &&
	    (ssl = parse_bool(v)) < 0) {
		snprintf(err, errlen, "CONSUL_HTTP_SSL=%s: expected true or false", v);
		goto fail;
	}
	if (addr == NULL || strcmp(addr, "-") == 0)
		addr = env("CONSUL_HTTP_ADDR") ? env("CONSUL_HTTP_ADDR") :
		    CONSUL_DEFAULT_ADDR;
	if (set_base(c, addr, ssl, err, errlen) < 0)
		goto fail;
	if ((v = env("CONSUL_HTTP_SSL_VERIFY")) != NULL) {
		int verify = parse_bool(v);

		if (verify < 0) {
			snprintf(err, errlen, "CONSUL_HTTP_SSL_VERIFY=%s: expected "
			    "true or false", v);
			goto fail;
		}
		o.insecure = !verify;
	}
	o.cacert = env("CONSUL_CACERT");
	o.client_cert = env("CONSUL_CLIENT_CERT");
	o.client_key = env("CONSUL_CLIENT_KEY");
	if ((o.client_cert == NULL) != (o.client_key == NULL)) {
		snprintf(err, errlen, "CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY "
		    "go together: set both or neither");
		goto fail;
	}
	if (set_token(c, err, errlen) < 0)
		goto fail;
	if ((v = env("CONSUL_HTTP_AUTH")) != NULL) {
		if (!header_safe(v)) {
			snprintf(err, errlen, "CONSUL_HTTP_AUTH: control characters");
			goto fail;
		}
		/* user[:password]; a missing password is an empty one (Go). */
		buf_adds(&b, "Authorization: Basic ");
		if (strchr(v, ':') != NULL) {
			base64_encode(v, strlen(v), &b);
		} else {
			struct buf up = BUF_INIT;

			buf_printf(&up, "%s:", v);
			base64_encode(up.data, up.len, &b);
			memset(up.data, 0, up.len);
			buf_free(&up);
		}
		c->auth = buf_detach(&b);
	}
	if (http_init(&c->http, &o) < 0) {
		snprintf(err, errlen, "cannot initialise libcurl");
		goto fail;
	}
	return 0;
fail:
	consul_free(c);
	return -1;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void
consul_free(struct consul *c)
{
	http_cleanup(&c->http);
	free(c->base);
	wipe(c->token);
	wipe(c->auth);
	wipe(c->secret);
	free(c->token_source);
	memset(c, 0, sizeof(*c));
}

/* The prefix in a URL path: no leading or trailing '/', the rest escaped. */
static void
add_prefix(struct buf *b, const char *prefix)
{
	const char *p = prefix, *end = prefix + strlen(prefix);

	while (*p == '/')
		p++;
	while (end > p && end[-1] == '/')
		end--;
	for (; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (isalnum(ch) || strchr("-._~/", ch) != NULL)
			buf_addc(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

const char *
consul_kv_url(const struct consul *c, const char *prefix, char *out, size_t n)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/v1/kv/", c->base);
	add_prefix(&b, prefix);
	buf_adds(&b, "/?recurse");
	http_display_url(b.data, out, n);
	buf_free(&b);
	return out;
}

long long
consul_timeout_ms(long long wait_ms)
{
	if (wait_ms < 0)
		wait_ms = 0;
	return wait_ms + wait_ms / 16 + 5000;
}

uint64_t
consul_index_next(uint64_t sent, uint64_t got)
{
	if (got == 0)
		got = 1;
	return got < sent ? 0 : got;
}

long long
consul_backoff_ms(unsigned n, double u)
{
	long long ceiling = CONSUL_BACKOFF_MIN_MS;

	while (n > 1 && ceiling < CONSUL_BACKOFF_MAX_MS) {
		ceiling *= 2;
		n--;
	}
	if (ceiling > CONSUL_BACKOFF_MAX_MS)
		ceiling = CONSUL_BACKOFF_MAX_MS;
	if (u < 0)
		u = 0;
	return (long long)(u * (double)ceiling);
}

static int
parse_index(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Messages are cut to fit; a cut message still says what failed first. */
static void __attribute__((format(printf, 2, 3)))
fail(struct consul_read *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* Never let a token into a message, whatever a server echoes. */
static void
redact(const struct consul *c, char *msg, size_t n)
{
	if (c->secret != NULL && strstr(msg, c->secret) != NULL)
		snprintf(msg, n, "(message withheld: it quoted the token)");
}

enum consul_rc
consul_kv_read(struct consul *c, const char *prefix, uint64_t index,
    long long wait_ms, struct consul_read *out)
{
	const char *hdrs[3];
	struct http_resp r = HTTP_RESP_INIT;
	struct http_req req = { "GET", NULL, NULL, 0, NULL, NULL, 0 };
	struct buf url = BUF_INIT;
	char shown[512], what[512], idx[64];
	enum consul_rc rc = CONSUL_ERROR;
	int n = 0;

	consul_read_free(out);
	if (c->token != NULL)
		hdrs[n++] = c->token;
	if (c->auth != NULL)
		hdrs[n++] = c->auth;
	hdrs[n] = NULL;
	req.headers = hdrs;
	buf_printf(&url, "%s/v1/kv/", c->base);
	add_prefix(&url, prefix);
	buf_adds(&url, "/?recurse");
	if (index > 0) {
		if (wait_ms < 1)
			wait_ms = 1;
		buf_printf(&url, "&index=%llu&wait=%lldms",
		    (unsigned long long)index, wait_ms);
	}
	req.url = url.data;
	req.timeout_ms = consul_timeout_ms(index > 0 ? wait_ms : 0);
	consul_kv_url(c, prefix, shown, sizeof(shown));

	if (http_request(&c->http, &req, &r) < 0) {
		fail(out, "GET %s: %s", shown,
		    r.error);
		goto done;
	}
	out->status = r.status;
	if (r.status == 401 || r.status == 403) {
		fail(out, "GET %s: %s (token: %s)",
		    shown, http_summary(&r, what, sizeof(what)), c->token_source);
		rc = CONSUL_DENIED;
		goto done;
	}
	if (r.status != 200 && r.status != 404) {
		fail(out, "GET %s: %s", shown,
		    http_summary(&r, what, sizeof(what)));
		goto done;
	}
	/* Consul sets an index on 200 and 404; anything else is not Consul. */
	if (http_header(&r, "X-Consul-Index", idx, sizeof(idx)) < 0 ||
	    parse_index(idx, &out->index) < 0) {
		fail(out, "GET %s: HTTP %ld without "
		    "a valid X-Consul-Index: not a Consul agent (a proxy, or the "
		    "wrong address?)", shown, r.status);
		goto done;
	}
	if (out->index == 0)
		out->index = 1;
	if ((http_header(&r, "X-Consul-Knownleader", idx, sizeof(idx)) == 0 &&
	    strcasecmp(idx, "false") == 0) ||
	    (http_header(&r, "X-Consul-Lastcontact", idx, sizeof(idx)) == 0 &&
	    strtoull(idx, NULL, 10) > 0))
		out->stale = 1;
	if (r.status == 404) {
		out->missing = 1;
		rc = CONSUL_OK;
		goto done;
	}
	if (kv_decode(r.body.data ? r.body.data : "", r.body.len, &out->entries,
	    what, sizeof(what)) < 0) {
		fail(out, "GET %s: HTTP 200: %s",
		    shown, what);
		goto done;
	}
	rc = CONSUL_OK;
done:
	redact(c, out->error, sizeof(out->error));
	http_resp_free(&r);
	buf_free(&url);
	return rc;
}

void
consul_read_free(struct consul_read *r)
{
	kv_list_free(&r->entries);
	r->index = 0;
	r->missing = 0;
	r->stale = 0;
	r->status = 0;
	r->error[0] = '\0';
}

static double
unit_random(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

static void
back_off(struct consul_watch *w)
{
	long long delay = consul_backoff_ms(++w->failures, unit_random());

	w->next_ms = util_now_ms() + (delay > CONSUL_MIN_GAP_MS ? delay :
	    CONSUL_MIN_GAP_MS);
}

enum consul_watch_rc
consul_watch(struct consul *c, const char *prefix, struct consul_watch *w,
    long long wait_ms, struct consul_read *out)
{
	enum consul_rc rc;
	uint64_t next;
	long long now = util_now_ms();

	if (w->next_ms > now)
		util_sleep_ms(w->next_ms - now);
	w->next_ms = util_now_ms() + CONSUL_MIN_GAP_MS;
	rc = consul_kv_read(c, prefix, w->index, wait_ms, out);
	if (rc != CONSUL_OK) {
		back_off(w);
		w->index = 0;
		return rc == CONSUL_DENIED ? CONSUL_WATCH_DENIED :
		    CONSUL_WATCH_ERROR;
	}
	if (out->stale) {
		back_off(w);
		return CONSUL_WATCH_STALE;
	}
	w->failures = 0;
	next = consul_index_next(w->index, out->index);
	if (w->index != 0 && next == w->index)
		return CONSUL_WATCH_SAME;	/* timed out */
	if (next == 0) {
		w->index = 0;		/* went back: read again, afresh */
		return CONSUL_WATCH_SAME;
	}
	w->index = next;
	return CONSUL_WATCH_NEW;
}
