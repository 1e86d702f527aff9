/* See COPYING for copyright and license details. */
/*
 * lib/http against a real local server (tests/helpers/httpd.py) on
 * 127.0.0.1 and an ephemeral port, plain and with a self-signed
 * certificate made here.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "proc.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/galley-http-XXXXXX";

/* Start the test server; returns its pid and writes its base URL. */
static pid_t
server(const char *scheme, char *url, size_t n, int tls)
{
	char portfile[256], cert[256], key[256], *data = NULL;
	const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
	char *argv[] = { (char *)py, "tests/helpers/httpd.py", "--port-file",
	    portfile, tls ? "--tls" : NULL, cert, key, NULL };
	size_t len;
	pid_t pid;
	int i;

	snprintf(portfile, sizeof(portfile), "%s/port-%s", dir, scheme);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	pid = proc_spawn(argv, NULL);
	if (pid < 0)
		return -1;
	for (i = 0; i < 1000; i++) {
		if (util_read_file(portfile, 64, &data, &len) == 0) {
			snprintf(url, n, "%s://127.0.0.1:%d", scheme, atoi(data));
			free(data);
			return pid;
		}
		util_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	return -1;
}

static int
get(struct http *h, const char *method, const char *url, const char *body,
    const char *const *headers, struct http_resp *r)
{
	struct http_req req = { method, url, body, body ? strlen(body) : 0,
	    NULL, headers, 0 };

	return http_request(h, &req, r);
}

static void
test_plain(const char *base)
{
	struct http_opts o = { 0, 0, 0, NULL, NULL, NULL, 0 };
	const char *const hdrs[] = { "X-Consul-Token: s3cret", NULL };
	struct http_resp r = HTTP_RESP_INIT;
	struct http h;
	char url[256], v[128], sum[256];
	int i;

	ok(http_init(&h, &o) == 0, "http_init");

	snprintf(url, sizeof(url), "%s/echo", base);
	ok(get(&h, NULL, url, NULL, NULL, &r) == 0 && r.status == 200, "GET 200");
	ok(strstr(r.body.data, "\"method\": \"GET\"") != NULL, "sent as GET");
	ok(strstr(r.body.data, "\"user-agent\": \"galley/" GALLEY_VERSION "\"")
	    != NULL, "User-Agent is galley/VERSION");

	ok(get(&h, "PUT", url, "{\"id\": \"/web\"}", hdrs, &r) == 0 &&
	    r.status == 200, "PUT with a body and an extra header");
	ok(strstr(r.body.data, "\"method\": \"PUT\"") != NULL &&
	    strstr(r.body.data, "\"body\": \"{\\\"id\\\": \\\"/web\\\"}\"") != NULL,
	    "PUT carries the body");
	ok(strstr(r.body.data, "\"content-type\": \"application/json\"") != NULL,
	    "body is application/json by default");
	ok(strstr(r.body.data, "\"x-consul-token\": \"s3cret\"") != NULL,
	    "extra header sent");
	ok(strstr(r.body.data, "\"expect\"") == NULL, "no Expect: 100-continue");

	ok(get(&h, "POST", url, NULL, NULL, &r) == 0 &&
	    strstr(r.body.data, "\"method\": \"POST\"") != NULL &&
	    strstr(r.body.data, "\"content-length\": \"0\"") != NULL,
	    "POST without a body sends Content-Length: 0");
	ok(get(&h, "DELETE", url, NULL, NULL, &r) == 0 &&
	    strstr(r.body.data, "\"method\": \"DELETE\"") != NULL, "DELETE");
	ok(get(&h, "GET", url, NULL, NULL, &r) == 0 &&
	    strstr(r.body.data, "\"method\": \"GET\"") != NULL &&
	    strstr(r.body.data, "s3cret") == NULL,
	    "a reused handle forgets the previous request's method and headers");

	snprintf(url, sizeof(url), "%s/status/409", base);
	ok(get(&h, "PUT", url, "{}", NULL, &r) == 0 && r.status == 409,
	    "a 409 is a response, not a failure");
	is_str(http_summary(&r, sum, sizeof(sum)), "HTTP 409: status 409",
	    "summary: status and the first line of a text body");
	ok(!http_body_is_html(&r), "a text body is not HTML");

	snprintf(url, sizeof(url), "%s/html/503", base);
	ok(get(&h, NULL, url, NULL, NULL, &r) == 0 && r.status == 503, "503 HTML");
	ok(http_body_is_html(&r), "HTML body recognised");
	is_str(http_summary(&r, sum, sizeof(sum)), "HTTP 503",
	    "an HTML body is reported by its status only");

	snprintf(url, sizeof(url), "%s/header", base);
	get(&h, NULL, url, NULL, NULL, &r);
	ok(http_header(&r, "x-galley-test", v, sizeof(v)) == 0 &&
	    strcmp(v, "a value") == 0, "response header, any case, trimmed");
	ok(http_header(&r, "X-Missing", v, sizeof(v)) < 0, "missing header");
	ok(http_header(&r, "X-Galley", v, sizeof(v)) < 0, "no prefix matches");

	for (i = 0; i < 20; i++) {
		snprintf(url, sizeof(url), "%s/status/%d", base, 400 + i);
		if (get(&h, NULL, url, NULL, NULL, &r) != 0 || r.status != 400 + i)
			break;
	}
	is_int(i, 20, "twenty requests on one handle");

	http_cleanup(&h);
	http_resp_free(&r);
}

static void
test_limits(const char *base)
{
	struct http_opts o = { 0, 300, 50, NULL, NULL, NULL, 0 };
	struct http_resp r = HTTP_RESP_INIT;
	struct http_req req = { NULL, NULL, NULL, 0, NULL, NULL, 0 };
	struct http h;
	char url[256];
	long long t0;

	http_init(&h, &o);
	snprintf(url, sizeof(url), "%s/big/50", base);
	ok(get(&h, NULL, url, NULL, NULL, &r) == 0 && r.body.len == 50,
	    "a body at the cap is read");
	snprintf(url, sizeof(url), "%s/big/51", base);
	ok(get(&h, NULL, url, NULL, NULL, &r) < 0 && r.fail == HTTP_FAIL_TOOBIG,
	    "a body over the cap fails");
	is_str(r.error, "response body larger than 50 bytes", "and says why");

	snprintf(url, sizeof(url), "%s/slow/3000", base);
	t0 = util_now_ms();
	ok(get(&h, NULL, url, NULL, NULL, &r) < 0 && r.fail == HTTP_FAIL_TIMEOUT,
	    "total timeout");
	ok(util_now_ms() - t0 < 2000, "a 300 ms timeout ends the request early");

	snprintf(url, sizeof(url), "%s/slow/500", base);
	req.url = url;
	req.timeout_ms = 2000;
	ok(http_request(&h, &req, &r) == 0 && r.status == 200,
	    "a per-request timeout overrides the handle's");

	/* Port 1 (tcpmux) has no listener here. */
	snprintf(url, sizeof(url), "http://127.0.0.1:1/");
	ok(get(&h, NULL, url, NULL, NULL, &r) < 0 && r.fail == HTTP_FAIL_CONNECT,
	    "connection refused is a connect failure");
	ok(strstr(r.error, "onnect") != NULL, "error says so: %s", r.error);

	snprintf(url, sizeof(url), "file:///etc/passwd");
	ok(get(&h, NULL, url, NULL, NULL, &r) < 0, "only http and https");
	http_cleanup(&h);
	http_resp_free(&r);
}

static void
test_tls(const char *base)
{
	char cert[256], url[256];
	struct http_opts o = { 0, 0, 0, NULL, NULL, NULL, 0 };
	struct http_resp r = HTTP_RESP_INIT;
	struct http h;

	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(url, sizeof(url), "%s/echo", base);

	http_init(&h, &o);
	ok(get(&h, NULL, url, NULL, NULL, &r) < 0 && r.fail == HTTP_FAIL_TLS,
	    "verification is on by default: a self-signed certificate is refused");
	http_cleanup(&h);

	o.cacert = cert;
	http_init(&h, &o);
	ok(get(&h, NULL, url, NULL, NULL, &r) == 0 && r.status == 200,
	    "with the CA file it is accepted");
	http_cleanup(&h);

	o.cacert = NULL;
	o.insecure = 1;
	http_init(&h, &o);
	ok(get(&h, NULL, url, NULL, NULL, &r) == 0 && r.status == 200,
	    "insecure skips verification");
	http_cleanup(&h);
	http_resp_free(&r);
}

static void
test_display(void)
{
	char out[256];

	is_str(http_display_url("https://u:p@m.example:8443/v2/apps", out,
	    sizeof(out)), "https://m.example:8443/v2/apps", "userinfo is hidden");
	is_str(http_display_url("http://m:8080/a@b", out, sizeof(out)),
	    "http://m:8080/a@b", "an @ in the path is not userinfo");
	is_str(http_display_url("m:8080", out, sizeof(out)), "m:8080",
	    "no scheme: unchanged");
	is_str(http_display_url("https://u:p@ss@m:8443/x", out, sizeof(out)),
	    "https://m:8443/x", "a password holding an @ is hidden whole "
	    "(found by tests/fuzz/util)");
}

int
main(void)
{
	char base[128], tbase[128], cert[256], key[256];
	struct buf out = BUF_INIT;
	pid_t plain, tls;
	int st;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	{
		char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048",
		    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
		    "-subj", "/CN=127.0.0.1", "-addext",
		    "subjectAltName=IP:127.0.0.1", NULL };

		ok(proc_run(argv, 30000, &out, &st) == 0 && st == 0,
		    "made a self-signed certificate");
	}
	plain = server("http", base, sizeof(base), 0);
	tls = server("https", tbase, sizeof(tbase), 1);
	ok(plain > 0 && tls > 0, "test servers started");
	if (plain > 0 && tls > 0) {
		test_plain(base);
		test_limits(base);
		test_tls(tbase);
	}
	test_display();
	if (plain > 0)
		proc_stop(plain, 2000);
	if (tls > 0)
		proc_stop(tls, 2000);
	buf_free(&out);
	{
		char *rm[] = { "rm", "-rf", dir, NULL };

		proc_run(rm, 10000, NULL, &st);
	}
	return done_testing();
}
