/* See COPYING for copyright and license details. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "marathon.h"
#include "proc.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/galley-marathon-XXXXXX";

static void
test_ids(void)
{
	static const struct {
		const char *in, *want;	/* want NULL: invalid */
	} cases[] = {
		{ "web", "/web" }, { "/app/staging/test-server", "/app/staging/test-server" },
		{ "/a.b/c-d/x9", "/a.b/c-d/x9" }, { "/0", "/0" },
		{ "/Web", NULL }, { "/a_b", NULL }, { "/-a", NULL }, { "/a-", NULL },
		{ "/a..b", NULL }, { "/.a", NULL }, { "/a.", NULL }, { "/a.-b", NULL },
		{ "/a//b", NULL }, { "/a/", NULL }, { "", NULL }, { "/", NULL },
		{ "/x/restart", NULL }, { "/x/tasks", NULL }, { "/x/versions", NULL },
		{ "/restart/x", "/restart/x" }, { "/a b", NULL }, { "/$environment", NULL },
	};
	char out[256], err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = marathon_app_id(cases[i].in, out, sizeof(out), err, sizeof(err));

		if (cases[i].want == NULL)
			ok(r < 0, "app id '%s' refused: %s", cases[i].in, err);
		else
			ok(r == 0 && strcmp(out, cases[i].want) == 0,
			    "app id '%s' is %s", cases[i].in, cases[i].want);
	}
}

static const char *
err_of(long status, const char *ctype, const char *body)
{
	static char out[512];
	struct http_resp r = HTTP_RESP_INIT;

	r.status = status;
	buf_printf(&r.headers, "HTTP/1.1 %ld X\r\nContent-Type: %s\r\n", status, ctype);
	buf_adds(&r.body, body);
	marathon_error(&r, out, sizeof(out));
	http_resp_free(&r);
	return out;
}

/* marathon_reply() for a 400 with a JSON body. */
static const char *
reply_of(const struct marathon *m, const char *body)
{
	static char out[512];
	struct http_resp r = HTTP_RESP_INIT;

	r.status = 400;
	buf_adds(&r.headers, "HTTP/1.1 400 X\r\nContent-Type: application/json\r\n");
	buf_adds(&r.body, body);
	marathon_reply(m, &r, out, sizeof(out));
	http_resp_free(&r);
	return out;
}

static void
test_errors(void)
{
	is_str(err_of(422, "application/json", "{\"message\":\"Object is not valid\","
	    "\"details\":[{\"path\":\"/id\",\"errors\":[\"must fully match regular "
	    "expression 'x'\"]},{\"path\":\"/\",\"errors\":[\"a\",\"b\"]}]}"),
	    "HTTP 422: Object is not valid; /id: must fully match regular expression 'x'; /: a; /: b",
	    "422 with details paths");
	is_str(err_of(400, "application/json", "{\"message\":\"Invalid JSON\","
	    "\"details\":\"Unexpected end-of-input\"}"),
	    "HTTP 400: Invalid JSON: Unexpected end-of-input", "400 with string details");
	is_str(err_of(400, "application/json", "{\"message\":\"Invalid JSON\","
	    "\"details\":\"Unexpected character\\n at [Source: x; line: 1]\"}"),
	    "HTTP 400: Invalid JSON: Unexpected character  at [Source: x; line: 1]",
	    "Jackson's line breaks become spaces (found by tests/fuzz/marathon)");
	is_str(err_of(409, "application/json", "{\"message\":\"App is locked by one or "
	    "more deployments.\",\"deployments\":[{\"id\":\"97c1\"},{\"id\":\"ab\"}]}"),
	    "HTTP 409: App is locked by one or more deployments. (deployments: 97c1 ab)",
	    "409 locked names the deployments");
	is_str(err_of(401, "text/html;charset=iso-8859-1", "<html><body>HTTP ERROR: "
	    "401</body></html>"), "HTTP 401", "HTML: status only");
	is_str(err_of(503, "text/plain", ""), "HTTP 503", "empty body: status only");
	is_str(err_of(500, "text/plain", "not json at all"), "HTTP 500: not json at all",
	    "text: first line");
}

static void
test_init(void)
{
	struct marathon_settings s = { NULL, NULL, NULL, NULL, 0, 0 };
	struct marathon m;
	char err[256], path[300];
	FILE *fp;

	unsetenv("MARATHON_URL");
	unsetenv("MARATHON_CREDENTIALS");
	unsetenv("DCOS_ACS_TOKEN");
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0 && m.nurls == 1 &&
	    strcmp(m.urls[0], "http://localhost:8080") == 0 && m.auth == NULL,
	    "default URL, no auth");
	marathon_free(&m);

	setenv("MARATHON_URL", "m1:8080, https://m2:8443/ ,,http://u:p@m3", 1);
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0 && m.nurls == 3 &&
	    strcmp(m.urls[0], "http://m1:8080") == 0 &&
	    strcmp(m.urls[1], "https://m2:8443") == 0 &&
	    strcmp(m.urls[2], "http://u:p@m3") == 0, "MARATHON_URL list");
	marathon_free(&m);
	s.urls = "ftp://x";
	ok(marathon_init(&m, &s, err, sizeof(err)) < 0 &&
	    strstr(err, "ftp://x: not an http") != NULL, "a bad URL: %s", err);
	marathon_free(&m);
	s.urls = " , ";
	ok(marathon_init(&m, &s, err, sizeof(err)) < 0, "an empty list: %s", err);
	marathon_free(&m);
	s.urls = NULL;

	setenv("MARATHON_CREDENTIALS", "user:pa ss", 1);
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0 && m.auth != NULL &&
	    strcmp(m.auth, "Authorization: Basic dXNlcjpwYSBzcw==") == 0 &&
	    strcmp(m.auth_source, "MARATHON_CREDENTIALS") == 0, "basic credentials");
	is_str(reply_of(&m, "{\"message\":\"bad password pa ss\"}"),
	    "HTTP 400 (the answer quoted the credentials: withheld)",
	    "an answer quoting the password is withheld");
	is_str(reply_of(&m, "{\"message\":\"got Basic dXNlcjpwYSBzcw==\"}"),
	    "HTTP 400 (the answer quoted the credentials: withheld)",
	    "an answer quoting the header is withheld");
	is_str(reply_of(&m, "{\"message\":\"Invalid JSON\"}"),
	    "HTTP 400: Invalid JSON", "other answers as they are");
	marathon_free(&m);
	s.urls = "http://u:url-pw@127.0.0.1:1";
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0, "a URL with a password");
	is_str(reply_of(&m, "{\"message\":\"url-pw\"}"),
	    "HTTP 400 (the answer quoted the credentials: withheld)",
	    "an answer quoting the URL's password is withheld");
	marathon_free(&m);
	s.urls = "ftp://u:url-pw@x";
	ok(marathon_init(&m, &s, err, sizeof(err)) < 0 &&
	    strcmp(err, "ftp://x: not an http:// or https:// URL or host:port") == 0,
	    "a bad URL is shown without its password: %s", err);
	marathon_free(&m);
	s.urls = NULL;
	setenv("MARATHON_CREDENTIALS", "nocolon", 1);
	ok(marathon_init(&m, &s, err, sizeof(err)) < 0 &&
	    strcmp(err, "MARATHON_CREDENTIALS: expected user:password") == 0 &&
	    strstr(err, "nocolon") == NULL, "bad credentials named, not shown");
	marathon_free(&m);
	setenv("MARATHON_CREDENTIALS", "user:pass", 1);
	setenv("DCOS_ACS_TOKEN", "tok", 1);
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0 &&
	    strcmp(m.auth, "Authorization: token=tok") == 0,
	    "a token wins over credentials");
	marathon_free(&m);

	snprintf(path, sizeof(path), "%s/token", dir);
	fp = fopen(path, "w");
	fputs("filetoken\n", fp);
	fclose(fp);
	s.token_file = path;
	ok(marathon_init(&m, &s, err, sizeof(err)) == 0 &&
	    strcmp(m.auth, "Authorization: token=filetoken") == 0 &&
	    strcmp(m.auth_source, "--token-file") == 0,
	    "--token-file wins, trailing newline stripped");
	marathon_free(&m);
	s.token_file = "/nonexistent/token";
	ok(marathon_init(&m, &s, err, sizeof(err)) < 0 &&
	    strcmp(err, "/nonexistent/token: No such file or directory") == 0,
	    "a missing token file");
	marathon_free(&m);
	s.token_file = NULL;
	unsetenv("DCOS_ACS_TOKEN");
	unsetenv("MARATHON_CREDENTIALS");
	unsetenv("MARATHON_URL");
}

static void
test_failover(int port)
{
	struct marathon_settings s = { NULL, NULL, NULL, NULL, 0, 500 };
	struct http_resp r = HTTP_RESP_INIT;
	struct marathon m;
	char urls[512], err[256], shown[256];

	snprintf(urls, sizeof(urls), "http://127.0.0.1:1,http://127.0.0.1:%d/status/503,"
	    "http://127.0.0.1:%d", port, port);
	s.urls = urls;
	marathon_init(&m, &s, err, sizeof(err));
	ok(marathon_request(&m, "PUT", "/echo", "{\"id\":\"/x\"}", &r) == 0 &&
	    r.status == 200, "refused, then 503, then an answer: a PUT may fail over");
	ok(strstr(r.body.data, "\"content-type\": \"application/json\"") != NULL &&
	    strstr(r.body.data, "\"accept\": \"application/json\"") != NULL,
	    "JSON content type and Accept");
	snprintf(shown, sizeof(shown), "http://127.0.0.1:%d", port);
	is_str(marathon_url(&m, err, sizeof(err)), shown, "the answering URL sticks");
	ok(marathon_request(&m, "GET", "/echo", NULL, &r) == 0 && r.status == 200,
	    "the next request goes straight there");
	marathon_free(&m);

	snprintf(urls, sizeof(urls), "http://127.0.0.1:%d/slow/3000,http://127.0.0.1:%d",
	    port, port);
	s.urls = urls;
	setenv("MARATHON_CREDENTIALS", "u:secret", 1);
	marathon_init(&m, &s, err, sizeof(err));
	ok(marathon_request(&m, "PUT", "/echo", "{}", &r) < 0 &&
	    r.fail == HTTP_FAIL_TIMEOUT, "a PUT that timed out is not sent elsewhere");
	ok(marathon_request(&m, "GET", "/echo", NULL, &r) == 0 && r.status == 200 &&
	    strstr(r.body.data, "\"authorization\": \"Basic dTpzZWNyZXQ=\"") != NULL,
	    "a GET that timed out is, with the auth header");
	marathon_free(&m);
	unsetenv("MARATHON_CREDENTIALS");

	s.urls = "http://127.0.0.1:1";
	marathon_init(&m, &s, err, sizeof(err));
	ok(marathon_request(&m, "GET", "/v2/apps", NULL, &r) < 0 &&
	    r.fail == HTTP_FAIL_CONNECT, "all down: a connect failure");
	marathon_free(&m);
	http_resp_free(&r);
}

static void
test_follow_leader(void)
{
	struct marathon_settings s = { "http://f1:8080,http://m2:8080", NULL, NULL,
	    NULL, 0, 0 };
	struct http_resp r = HTTP_RESP_INIT;
	struct marathon m;
	char err[256];

	unsetenv("MARATHON_CREDENTIALS");
	unsetenv("DCOS_ACS_TOKEN");
	marathon_init(&m, &s, err, sizeof(err));
	buf_adds(&r.headers, "HTTP/1.1 200 OK\r\nX-Marathon-Leader: http://m9:8080\r\n");
	ok(marathon_follow_leader(&m, &r) == 0 && m.cur == 0 && m.nurls == 2,
	    "the leader answered itself: stay");
	buf_adds(&r.headers, "X-Marathon-Via: 1.1 f1:8080\r\n");
	ok(marathon_follow_leader(&m, &r) == 1 && m.nurls == 3 && m.cur == 0 &&
	    strcmp(m.urls[0], "http://m9:8080") == 0 &&
	    strcmp(m.urls[1], "http://f1:8080") == 0,
	    "proxied: the leader goes first, the others stay for failover");
	m.cur = 1;
	ok(marathon_follow_leader(&m, &r) == 1 && m.nurls == 3 && m.cur == 0,
	    "a leader already listed is not added twice");
	http_resp_free(&r);
	marathon_free(&m);
}

int
main(void)
{
	char portfile[300], *data;
	const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
	char *argv[] = { (char *)py, "tests/helpers/httpd.py", "--port-file",
	    portfile, NULL };
	size_t len;
	pid_t pid;
	int i, port = 0;

	log_level = LOG_QUIET;
	if (mkdtemp(dir) == NULL)
		return 1;
	test_ids();
	test_errors();
	test_init();
	test_follow_leader();
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	pid = proc_spawn(argv, NULL);
	for (i = 0; i < 1000 && port == 0; i++) {
		if (util_read_file(portfile, 64, &data, &len) == 0) {
			port = atoi(data);
			free(data);
		} else {
			util_sleep_ms(10);
		}
	}
	ok(port > 0, "test server started");
	if (port > 0)
		test_failover(port);
	proc_stop(pid, 2000);
	unlink(portfile);
	snprintf(portfile, sizeof(portfile), "%s/token", dir);
	unlink(portfile);
	rmdir(dir);
	return done_testing();
}
