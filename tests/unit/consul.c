/* See COPYING for copyright and license details. */
/*
 * lib/consul: the settings Consul's CLI reads, the index and backoff
 * rules, and reads and watches against a scripted HTTP server on
 * 127.0.0.1 (a child process serving canned responses in order and
 * handing each request head back over a pipe).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consul.h"
#include "tap.h"
#include "util.h"

#define TOKEN "5ecret-70ken-0000"

/* Status line and headers, then the body (Content-Length is added). */
static const char *const responses[][2] = {
	/* 0: a listing */
	{ "200 OK\r\nContent-Type: application/json\r\n"
	  "X-Consul-Index: 10\r\nX-Consul-Knownleader: true",
	  "[{\"LockIndex\":0,\"Key\":\"app/web/\",\"Flags\":0,\"Value\":null,"
	  "\"CreateIndex\":5,\"ModifyIndex\":5},{\"LockIndex\":0,\"Key\":\"app/web/A\","
	  "\"Flags\":0,\"Value\":\"YQ==\",\"CreateIndex\":9,\"ModifyIndex\":10}]" },
	/* 1: a blocking read that timed out: same index */
	{ "200 OK\r\nX-Consul-Index: 10", "[]" },
	/* 2: missing prefix */
	{ "404 Not Found\r\nX-Consul-Index: 74726", "" },
	/* 3: a 404 that is not Consul's */
	{ "404 Not Found\r\nContent-Type: text/plain", "not found" },
	/* 4: denied, quoting the token (Consul does not; a proxy might) */
	{ "403 Forbidden", "Permission denied: " TOKEN },
	/* 5: denied, as Consul says it */
	{ "403 Forbidden", "Permission denied" },
	/* 6: no leader */
	{ "500 Internal Server Error", "No cluster leader" },
	/* 7: garbage with an index */
	{ "200 OK\r\nX-Consul-Index: 11", "<html" },
	/* 8: the index went back */
	{ "200 OK\r\nX-Consul-Index: 7", "[]" },
	/* 9: index 0 from the server: taken as 1 */
	{ "200 OK\r\nx-consul-index: 0", "[]" },
	/* 10-12: for the watch after the reset */
	{ "200 OK\r\nX-Consul-Index: 12", "[]" },
	{ "429 Too Many Requests", "RPC rate limit exceeded" },
	{ "200 OK\r\nX-Consul-Index: abc", "[]" },
	/* 13: a follower lagging behind */
	{ "200 OK\r\nX-Consul-Index: 9\r\nX-Consul-Knownleader: true\r\n"
	  "X-Consul-Lastcontact: 100", "[]" },
	/* 14: no leader known */
	{ "200 OK\r\nX-Consul-Index: 30\r\nX-Consul-Knownleader: false", "[]" },
};
#define NRESP (sizeof(responses) / sizeof(responses[0]))

static int port, reqfd;
static pid_t server_pid;

static void
serve(int ls, int out)
{
	size_t i;

	for (i = 0; i < NRESP; i++) {
		char head[8192];
		size_t n = 0;
		int fd = accept(ls, NULL, NULL);
		uint32_t len;

		if (fd < 0)
			_exit(1);
		while (n < sizeof(head) - 1) {
			ssize_t r = read(fd, head + n, sizeof(head) - 1 - n);

			if (r <= 0)
				break;
			n += (size_t)r;
			head[n] = '\0';
			if (strstr(head, "\r\n\r\n") != NULL)
				break;
		}
		len = (uint32_t)n;
		if (write(out, &len, sizeof(len)) < 0 || write(out, head, n) < 0)
			_exit(1);
		n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    responses[i][0], strlen(responses[i][1]), responses[i][1]);
		if (write(fd, head, n) < 0)
			_exit(1);
		shutdown(fd, SHUT_WR);
		while (read(fd, head, sizeof(head)) > 0)
			;
		close(fd);
	}
	_exit(0);
}

static void
start_server(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int ls, p[2];

	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(ls, (struct sockaddr *)&a, sizeof(a));
	listen(ls, 8);
	getsockname(ls, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	if (pipe(p) < 0)
		exit(1);
	server_pid = fork();
	if (server_pid == 0) {
		close(p[0]);
		serve(ls, p[1]);
	}
	close(p[1]);
	close(ls);
	reqfd = p[0];
}

/* The head of the request the server saw last. */
static char *
last_request(void)
{
	static char head[8192];
	uint32_t len = 0;

	if (read(reqfd, &len, sizeof(len)) != (ssize_t)sizeof(len) ||
	    len >= sizeof(head) || read(reqfd, head, len) != (ssize_t)len)
		return strcpy(head, "");
	head[len] = '\0';
	return head;
}

static void
clear_env(void)
{
	unsetenv("CONSUL_HTTP_ADDR");
	unsetenv("CONSUL_HTTP_TOKEN");
	unsetenv("CONSUL_HTTP_TOKEN_FILE");
	unsetenv("CONSUL_HTTP_AUTH");
	unsetenv("CONSUL_HTTP_SSL");
	unsetenv("CONSUL_HTTP_SSL_VERIFY");
	unsetenv("CONSUL_CACERT");
	unsetenv("CONSUL_CLIENT_CERT");
	unsetenv("CONSUL_CLIENT_KEY");
}

static void
test_rules(void)
{
	long long b;
	unsigned n;
	int grows = 1;

	is_int(consul_index_next(0, 10), 10, "index: the first one is taken");
	is_int(consul_index_next(10, 12), 12, "index: a larger one is taken");
	is_int(consul_index_next(10, 10), 10, "index: the same one stays");
	is_int(consul_index_next(10, 7), 0, "index: a smaller one resets to 0");
	is_int(consul_index_next(0, 0), 1, "index: 0 is taken as 1");
	is_int(consul_index_next(5, 0), 0, "index: 0 after 5 went back");

	is_int(consul_timeout_ms(300000), 300000 + 18750 + 5000,
	    "read timeout: wait + wait/16 + 5 s");
	is_int(consul_timeout_ms(0), 5000, "read timeout of a plain read: 5 s");

	is_int(consul_backoff_ms(1, 0.0), 0, "backoff: full jitter starts at 0");
	ok(consul_backoff_ms(1, 0.999) < 250 && consul_backoff_ms(1, 0.999) >= 249,
	    "backoff: first ceiling 250 ms");
	ok(consul_backoff_ms(2, 0.999) >= 499 && consul_backoff_ms(2, 0.999) < 500,
	    "backoff: doubles");
	for (n = 1; n < 12; n++)
		if (consul_backoff_ms(n + 1, 0.999) < consul_backoff_ms(n, 0.999))
			grows = 0;
	ok(grows, "backoff: never shrinks as errors go on");
	b = consul_backoff_ms(9, 0.999);
	ok(b >= 59000 && b < 60000, "backoff: capped at 60 s (9th: %lld)", b);
	ok(consul_backoff_ms(1000, 0.999) < 60000, "backoff: capped at 60 s for ever");
	is_int(consul_backoff_ms(4, 0.5), 1000, "backoff: a point below the ceiling");
}

static void
test_settings(void)
{
	char err[512], tf[] = "/tmp/galley-consul-token-XXXXXX";
	struct consul c;
	int fd;

	clear_env();
	ok(consul_init(&c, NULL, err, sizeof(err)) == 0, "init with nothing set");
	is_str(c.base, "http://127.0.0.1:8500", "default address");
	ok(c.token == NULL && strstr(c.token_source, "anonymous") != NULL,
	    "no token: the source says anonymous");
	consul_free(&c);

	setenv("CONSUL_HTTP_ADDR", "consul.local:8501", 1);
	ok(consul_init(&c, "-", err, sizeof(err)) == 0, "- reads CONSUL_HTTP_ADDR");
	is_str(c.base, "http://consul.local:8501", "host:port from the environment");
	consul_free(&c);
	ok(consul_init(&c, "dockerhost:18500", err, sizeof(err)) == 0 &&
	    strcmp(c.base, "http://dockerhost:18500") == 0,
	    "the argument wins over CONSUL_HTTP_ADDR");
	consul_free(&c);
	ok(consul_init(&c, "https://c.example:8501/proxy/", err, sizeof(err)) == 0 &&
	    strcmp(c.base, "https://c.example:8501/proxy") == 0,
	    "an https URL with a path prefix");
	consul_free(&c);
	setenv("CONSUL_HTTP_SSL", "true", 1);
	ok(consul_init(&c, "c:8501", err, sizeof(err)) == 0 &&
	    strcmp(c.base, "https://c:8501") == 0, "CONSUL_HTTP_SSL=true: https");
	consul_free(&c);
	ok(consul_init(&c, "http://c:8501", err, sizeof(err)) == 0 &&
	    strcmp(c.base, "https://c:8501") == 0,
	    "CONSUL_HTTP_SSL=true never reverts to http");
	consul_free(&c);
	setenv("CONSUL_HTTP_SSL", "yes", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) < 0 &&
	    strstr(err, "CONSUL_HTTP_SSL=yes") != NULL,
	    "CONSUL_HTTP_SSL is a Go boolean: yes is an error");
	unsetenv("CONSUL_HTTP_SSL");
	setenv("CONSUL_HTTP_SSL_VERIFY", "0", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 && c.http.opts.insecure,
	    "CONSUL_HTTP_SSL_VERIFY=0 skips verification");
	consul_free(&c);
	unsetenv("CONSUL_HTTP_SSL_VERIFY");
	ok(consul_init(&c, "unix:///run/consul.sock", err, sizeof(err)) < 0 &&
	    strstr(err, "unix sockets") != NULL, "unix:// is refused, clearly");
	ok(consul_init(&c, "ftp://c:1", err, sizeof(err)) < 0, "ftp:// is refused");
	ok(consul_init(&c, "http://u:pw-s3cr3t@c:1", err, sizeof(err)) < 0 &&
	    strcmp(err, "http://c:1: user:password@ in the address is not "
	    "supported: use CONSUL_HTTP_AUTH") == 0, "user:password@ refused, "
	    "not shown: %s", err);
	ok(consul_init(&c, "u:pw-s3cr3t@c:1", err, sizeof(err)) < 0 &&
	    strstr(err, "pw-s3cr3t") == NULL, "also without a scheme");
	ok(consul_init(&c, "", err, sizeof(err)) < 0, "an empty address is refused");
	setenv("CONSUL_CLIENT_CERT", "/c.pem", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) < 0 &&
	    strstr(err, "CONSUL_CLIENT_KEY") != NULL, "half a client key pair");
	setenv("CONSUL_CLIENT_KEY", "/k.pem", 1);
	setenv("CONSUL_CACERT", "/ca.pem", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.http.opts.client_key, "/k.pem") == 0 &&
	    strcmp(c.http.opts.cacert, "/ca.pem") == 0, "CA and client pair");
	consul_free(&c);
	clear_env();

	setenv("CONSUL_HTTP_TOKEN", "from-env", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.token, "X-Consul-Token: from-env") == 0 &&
	    strcmp(c.token_source, "CONSUL_HTTP_TOKEN") == 0,
	    "CONSUL_HTTP_TOKEN goes in X-Consul-Token");
	consul_free(&c);
	fd = mkstemp(tf);
	ok(write(fd, "  from-file\n\n", 13) == 13, "token file written");
	close(fd);
	setenv("CONSUL_HTTP_TOKEN_FILE", tf, 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.token, "X-Consul-Token: from-file") == 0 &&
	    strncmp(c.token_source, "CONSUL_HTTP_TOKEN_FILE (", 24) == 0,
	    "the token file wins, trimmed, and the source names it");
	consul_free(&c);
	fd = open(tf, O_WRONLY | O_TRUNC);
	ok(write(fd, " \n", 2) == 2, "token file emptied");
	close(fd);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.token, "X-Consul-Token: from-env") == 0,
	    "an empty token file falls back to CONSUL_HTTP_TOKEN");
	consul_free(&c);
	unlink(tf);
	ok(consul_init(&c, "c:1", err, sizeof(err)) < 0 &&
	    strstr(err, "CONSUL_HTTP_TOKEN_FILE") != NULL &&
	    strstr(err, "from-env") == NULL, "an unreadable token file is an error");
	unsetenv("CONSUL_HTTP_TOKEN_FILE");
	setenv("CONSUL_HTTP_TOKEN", "bad\r\nX-Evil: 1", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) < 0 && strstr(err, "Evil") == NULL,
	    "a token with a line break is refused, without quoting it");
	unsetenv("CONSUL_HTTP_TOKEN");
	setenv("CONSUL_HTTP_AUTH", "user:pw", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.auth, "Authorization: Basic dXNlcjpwdw==") == 0,
	    "CONSUL_HTTP_AUTH is HTTP basic auth");
	consul_free(&c);
	setenv("CONSUL_HTTP_AUTH", "user", 1);
	ok(consul_init(&c, "c:1", err, sizeof(err)) == 0 &&
	    strcmp(c.auth, "Authorization: Basic dXNlcjo=") == 0,
	    "CONSUL_HTTP_AUTH without a password");
	consul_free(&c);
	clear_env();
}

static void
test_reads(void)
{
	struct consul_read rd = CONSUL_READ_INIT;
	struct consul_watch w = CONSUL_WATCH_INIT;
	struct consul c;
	char addr[64], err[512], *req;
	enum consul_watch_rc wr;
	long long t0;

	start_server();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	setenv("CONSUL_HTTP_TOKEN", TOKEN, 1);
	ok(consul_init(&c, addr, err, sizeof(err)) == 0, "init for the server");

	/* 0 */
	ok(consul_kv_read(&c, "/app/web/", 0, 0, &rd) == CONSUL_OK, "read: 200");
	req = last_request();
	ok(strncmp(req, "GET /v1/kv/app/web/?recurse HTTP/1.1\r\n", 38) == 0,
	    "read: GET prefix/ with recurse, the slashes normalised");
	ok(strstr(req, "X-Consul-Token: " TOKEN "\r\n") != NULL,
	    "read: the token in X-Consul-Token");
	ok(strstr(req, "token=") == NULL, "read: never ?token=");
	is_int(rd.index, 10, "read: X-Consul-Index");
	is_int(rd.entries.n, 2, "read: both entries (the folder is kv's to skip)");
	ok(rd.entries.n == 2 && strcmp(rd.entries.v[1].key, "app/web/A") == 0 &&
	    strcmp(rd.entries.v[1].value, "a") == 0, "read: decoded");

	/* 1: blocking */
	ok(consul_kv_read(&c, "app/web", 10, 1500, &rd) == CONSUL_OK &&
	    rd.index == 10, "blocking read answered");
	req = last_request();
	ok(strncmp(req, "GET /v1/kv/app/web/?recurse&index=10&wait=1500ms ", 49) == 0,
	    "blocking read: index and wait in ms");

	/* 2, 3 */
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_OK && rd.missing &&
	    rd.entries.n == 0 && rd.index == 74726, "404 with an index: empty");
	last_request();
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_ERROR &&
	    strstr(rd.error, "not a Consul agent") != NULL,
	    "404 without an index: not Consul, an error");
	last_request();

	/* 4, 5 */
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_DENIED &&
	    strstr(rd.error, TOKEN) == NULL, "403 quoting the token: withheld");
	last_request();
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_DENIED &&
	    strstr(rd.error, "HTTP 403: Permission denied") != NULL &&
	    strstr(rd.error, "token: CONSUL_HTTP_TOKEN") != NULL &&
	    strstr(rd.error, TOKEN) == NULL,
	    "403: the message names the token's source, not the token");
	printf("#   %s\n", rd.error);
	last_request();

	/* 6, 7 */
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_ERROR &&
	    strstr(rd.error, "HTTP 500: No cluster leader") != NULL, "500: an error");
	last_request();
	ok(consul_kv_read(&c, "app/web", 0, 0, &rd) == CONSUL_ERROR &&
	    strstr(rd.error, "not JSON") != NULL, "a body that does not parse");
	last_request();

	/* 8-12: the watch */
	w.index = 10;
	t0 = util_now_ms();
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	ok(wr == CONSUL_WATCH_SAME && w.index == 0,
	    "watch: an index that went back resets to 0");
	last_request();
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	ok(util_now_ms() - t0 >= CONSUL_MIN_GAP_MS, "watch: 100 ms between requests");
	req = last_request();
	ok(wr == CONSUL_WATCH_NEW && w.index == 1 && strstr(req, "index=") == NULL,
	    "watch: after a reset, a plain read; index 0 is taken as 1");
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	req = last_request();
	ok(wr == CONSUL_WATCH_NEW && w.index == 12 &&
	    strstr(req, "index=1&wait=1000ms") != NULL, "watch: a newer index is NEW");
	t0 = util_now_ms();
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	last_request();
	ok(wr == CONSUL_WATCH_ERROR && w.failures == 1 && w.index == 0 &&
	    w.next_ms >= t0 + CONSUL_MIN_GAP_MS, "watch: 429 is an error; backing off");
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	last_request();
	ok(wr == CONSUL_WATCH_ERROR && w.failures == 2 &&
	    strstr(rd.error, "X-Consul-Index") != NULL,
	    "watch: an index that is not a number is an error");

	w.index = 12;
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	last_request();
	ok(wr == CONSUL_WATCH_STALE && rd.stale && w.index == 12 && w.failures == 3,
	    "watch: a follower's older answer is STALE; the index is kept");
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	last_request();
	ok(wr == CONSUL_WATCH_STALE && w.index == 12,
	    "watch: X-Consul-Knownleader: false is STALE too");

	/* The server is done: refused. */
	waitpid(server_pid, NULL, 0);
	wr = consul_watch(&c, "app/web", &w, 1000, &rd);
	ok(wr == CONSUL_WATCH_ERROR && w.failures == 5 &&
	    strstr(rd.error, "GET http://127.0.0.1:") != NULL,
	    "watch: refused is an error naming the URL");
	consul_kv_url(&c, "a b/ü", addr, sizeof(addr));
	ok(strstr(addr, "/v1/kv/a%20b/%C3%BC/?recurse") != NULL,
	    "the prefix is percent-encoded");
	consul_read_free(&rd);
	consul_free(&c);
	close(reqfd);
	clear_env();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_rules();
	test_settings();
	test_reads();
	return done_testing();
}
