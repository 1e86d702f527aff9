/* See COPYING for copyright and license details. */
#include <stdlib.h>
#include <unistd.h>

#include "kv.h"
#include "log.h"
#include "tap.h"
#include "util.h"

/* Run kv_env_map with stderr captured; returns the warnings. */
static char *
map(const char *json, const char *prefix, int flags, struct kv_env *env)
{
	char path[] = "/tmp/galley-kv-XXXXXX", err[256], *data = NULL;
	struct kv_list l = KV_LIST_INIT;
	int fd = mkstemp(path), saved = dup(2);
	size_t len;

	fflush(stderr);
	dup2(fd, 2);
	if (kv_decode(json, strlen(json), &l, err, sizeof(err)) == 0)
		kv_env_map(&l, prefix, flags, env);
	else
		fprintf(stderr, "decode: %s\n", err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	util_read_file(path, 65536, &data, &len);
	unlink(path);
	kv_list_free(&l);
	return data;
}

static const char *
val(const struct kv_env *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0)
			return e->v[i].value;
	return NULL;
}

static void
test_map(void)
{
	struct kv_env e = KV_ENV_INIT, e2 = KV_ENV_INIT;
	char *w;
	/* Keys out of order on purpose; values: "6", "x y", null, "$(id)". */
	const char *doc = "[{\"LockIndex\":0,\"Key\":\"app/s/\",\"Flags\":0,"
	    "\"Value\":null,\"CreateIndex\":1,\"ModifyIndex\":1},"
	    "{\"Key\":\"app/s/db/host\",\"Value\":\"eCB5\"},"
	    "{\"Key\":\"app/s/BUFFER\",\"Value\":\"Ng==\"},"
	    "{\"Key\":\"app/s/empty\",\"Value\":null},"
	    "{\"Key\":\"app/s/folder/\",\"Value\":null},"
	    "{\"Key\":\"app/s/9lives\",\"Value\":\"Ng==\"},"
	    "{\"Key\":\"app/s/a-b.c\",\"Value\":\"JChpZCk=\"},"
	    "{\"Key\":\"app/s/PORT0\",\"Value\":\"Ng==\"},"
	    "{\"Key\":\"app/s/MARATHON_APP_ID\",\"Value\":\"Ng==\"},"
	    "{\"Key\":\"app/s/nul\",\"Value\":\"YQBi\"},"
	    "{\"Key\":\"app/other\",\"Value\":\"Ng==\"},"
	    "{\"Key\":\"app/s2/x\",\"Value\":\"Ng==\"}]";

	w = map(doc, "app/s", 0, &e);
	is_int(e.n, 5, "five variables");
	is_str(val(&e, "BUFFER"), "6", "a plain key");
	is_str(val(&e, "db_host"), "x y", "a nested key: / becomes _");
	is_str(val(&e, "empty"), "", "null is the empty string");
	is_str(val(&e, "_9lives"), "6", "a leading digit gets a _");
	is_str(val(&e, "a_b_c"), "$(id)", "other characters become _, the value untouched");
	ok(val(&e, "folder_") == NULL && val(&e, "") == NULL, "folders skipped");
	ok(val(&e, "PORT0") == NULL && val(&e, "MARATHON_APP_ID") == NULL,
	    "Marathon's variables protected");
	ok(val(&e, "nul") == NULL, "a value with NUL skipped");
	ok(val(&e, "other") == NULL && val(&e, "x") == NULL,
	    "keys outside the prefix (app/s2 is not app/s) ignored");
	ok(strcmp(e.v[0].name, "BUFFER") == 0 && strcmp(e.v[4].name, "empty") == 0,
	    "sorted by name");
	ok(w != NULL && strstr(w, "key app/s/db/host: not a valid variable name, "
	    "using db_host\n") != NULL, "warned about db/host");
	ok(strstr(w, "key app/s/9lives: not a valid variable name, using _9lives\n")
	    != NULL, "warned about 9lives");
	ok(strstr(w, "key app/s/PORT0: PORT0 is set by Marathon: dropped\n") != NULL,
	    "warned about PORT0");
	ok(strstr(w, "key app/s/nul: value holds a NUL byte") != NULL, "warned about NUL");
	ok(strstr(w, "$(id)") == NULL && strstr(w, "x y") == NULL,
	    "no value in any warning");
	free(w);

	w = map(doc, "app/s/", KV_UPCASE, &e2);
	ok(val(&e2, "DB_HOST") != NULL && val(&e2, "EMPTY") != NULL,
	    "--upcase; a trailing / on the prefix is the same prefix");
	ok(kv_env_hash(&e) != kv_env_hash(&e2), "different names, different hash");
	free(w);
	kv_env_free(&e2);

	w = map("[{\"Key\":\"p/a\",\"Value\":\"MQ==\"},{\"Key\":\"p/A\",\"Value\":\"Mg==\"}]",
	    "p", KV_UPCASE, &e2);
	is_int(e2.n, 1, "a collision leaves one variable");
	is_str(val(&e2, "A"), "1", "the later key in key order wins (p/a after p/A)");
	ok(w != NULL && strstr(w, "keys p/A and p/a both map to A: using p/a") != NULL,
	    "collision warned");
	free(w);
	kv_env_free(&e2);

	w = map("[{\"Key\":\"p/b\",\"Value\":\"eCB5\"},{\"Key\":\"p/a\",\"Value\":\"Ng==\"}]",
	    "p", 0, &e2);
	{
		struct kv_env e3 = KV_ENV_INIT;
		char *w3 = map("[{\"Key\":\"p/a\",\"Value\":\"Ng==\"},{\"Key\":\"p/b\","
		    "\"Value\":\"eCB5\"}]", "p", 0, &e3);

		ok(kv_env_hash(&e2) == kv_env_hash(&e3),
		    "the hash ignores the order of the response");
		kv_env_free(&e3);
		free(w3);
	}
	free(w);
	kv_env_free(&e2);
	kv_env_free(&e);
}

static void
test_big(void)
{
	size_t n = 200 * 1024, enc = (n + 2) / 3 * 4, i;
	char *doc = malloc(enc + 64), *w;
	struct kv_env e = KV_ENV_INIT;

	strcpy(doc, "[{\"Key\":\"p/big\",\"Value\":\"");
	for (i = 0; i < enc; i += 4)
		memcpy(doc + strlen("[{\"Key\":\"p/big\",\"Value\":\"") + i, "YWFh", 4);
	strcpy(doc + strlen("[{\"Key\":\"p/big\",\"Value\":\"") + enc, "\"}]");
	w = map(doc, "p", 0, &e);
	is_int(e.n, 0, "a 200 KiB value is skipped");
	ok(w != NULL && strstr(w, "over the kernel's 128 KiB limit") != NULL,
	    "with a warning");
	free(w);
	free(doc);
	kv_env_free(&e);
}

static void
test_decode_errors(void)
{
	static const char *bad[] = {
		"", "{}", "[{\"Value\":\"Ng==\"}]", "[{\"Key\":\"a\",\"Value\":\"***\"}]",
		"[{\"Key\":\"a\",\"Value\":5}]", "<html>",
	};
	struct kv_list l = KV_LIST_INIT;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(kv_decode(bad[i], strlen(bad[i]), &l, err, sizeof(err)) < 0,
		    "garbage refused: %s (%s)", bad[i], err);
	ok(kv_decode("[]", 2, &l, err, sizeof(err)) == 0 && l.n == 0, "[] is empty");
	kv_list_free(&l);
}

#define J(s) s, strlen(s)

static void
test_list_hash(void)
{
	struct kv_list a = KV_LIST_INIT, b = KV_LIST_INIT;
	char err[256];

	kv_decode(J("[{\"Key\":\"p/a\",\"Value\":\"MQ==\"}]"), &a, err,
	    sizeof(err));
	kv_decode(J("[{\"Key\":\"p/a\",\"Value\":\"MQ==\"}]"), &b, err,
	    sizeof(err));
	ok(a.n == 1 && kv_list_hash(&a) == kv_list_hash(&b),
	    "list hash: same content, same hash");
	kv_list_free(&b);
	kv_decode(J("[{\"Key\":\"p/a\",\"Value\":\"Mg==\"}]"), &b, err,
	    sizeof(err));
	ok(kv_list_hash(&a) != kv_list_hash(&b), "list hash: a value counts");
	kv_list_free(&b);
	kv_decode(J("[{\"Key\":\"p/a/\",\"Value\":null},"
	    "{\"Key\":\"p/a\",\"Value\":\"MQ==\"}]"), &b, err, sizeof(err));
	ok(b.n == 2 && kv_list_hash(&a) != kv_list_hash(&b),
	    "list hash: a folder key counts (the environment hash decides)");
	kv_list_free(&a);
	kv_list_free(&b);
}

/* The command's environment, what messages say, and the pipe format. */
static void
test_envp_and_messages(void)
{
	struct kv_env a = KV_ENV_INIT, b = KV_ENV_INIT, got = KV_ENV_INIT;
	char *base[] = { "PATH=/bin", "A=inherited", "AB=x", "EMPTY", NULL };
	struct buf d = BUF_INIT;
	char **envp, tag = 0;
	int p[2];

	free(map("[{\"Key\":\"p/A\",\"Value\":\"a2V5IHZhbHVl\"},"
	    "{\"Key\":\"p/B\",\"Value\":null},{\"Key\":\"p/C\",\"Value\":\"Yw==\"}]",
	    "p", 0, &a));
	free(map("[{\"Key\":\"p/A\",\"Value\":\"Y2hhbmdlZA==\"},"
	    "{\"Key\":\"p/B\",\"Value\":null},{\"Key\":\"p/D\",\"Value\":\"ZA==\"}]",
	    "p", 0, &b));
	envp = kv_envp(&a, base);
	ok(envp[0] != NULL && strcmp(envp[0], "PATH=/bin") == 0 &&
	    strcmp(envp[1], "AB=x") == 0 && strcmp(envp[2], "EMPTY") == 0 &&
	    strcmp(envp[3], "A=key value") == 0 && strcmp(envp[4], "B=") == 0 &&
	    strcmp(envp[5], "C=c") == 0 && envp[6] == NULL,
	    "envp: inherited ones kept, KV ones over them, once each");
	kv_envp_free(envp);

	kv_env_describe(&a, &d);
	is_str(d.data, "3 variables (A, B, C)", "describe: names only");
	buf_reset(&d);
	kv_env_describe(&got, &d);
	is_str(d.data, "0 variables", "describe: none");
	buf_reset(&d);
	kv_env_diff(&a, &b, &d);
	is_str(d.data, "added D; changed A; removed C", "diff: by name");
	buf_reset(&d);
	kv_env_diff(&a, &a, &d);
	is_str(d.data, "no variable", "diff: nothing");
	buf_free(&d);

	if (pipe(p) == 0) {
		ok(kv_env_send(p[1], 'R', &a) == 0 &&
		    kv_env_recv(p[0], &tag, &got) == 0 && tag == 'R' &&
		    got.n == 3 && kv_env_hash(&got) == kv_env_hash(&a),
		    "send, recv: the same environment");
		ok(kv_env_send(p[1], 'F', NULL) == 0 &&
		    kv_env_recv(p[0], &tag, &got) == 0 && tag == 'F' && got.n == 0,
		    "send, recv: a message without one");
		if (write(p[1], "C\377\377\377\377", 5) != 5)
			return;
		ok(kv_env_recv(p[0], &tag, &got) < 0, "recv: not a message");
		close(p[1]);
		ok(kv_env_recv(p[0], &tag, &got) < 0, "recv: the end of the pipe");
		close(p[0]);
	}
	kv_env_free(&a);
	kv_env_free(&b);
	kv_env_free(&got);
}

int
main(void)
{
	log_init("t", 1);
	test_map();
	test_list_hash();
	test_big();
	test_decode_errors();
	test_envp_and_messages();
	ok(kv_env_protected("PORT") && kv_env_protected("PORT10") &&
	    kv_env_protected("PORTS") && kv_env_protected("PORT_HTTP") &&
	    kv_env_protected("MESOS_TASK_ID") && kv_env_protected("HOST"),
	    "protected names");
	ok(!kv_env_protected("PORTAL") && !kv_env_protected("HOSTNAME") &&
	    !kv_env_protected("port0") && !kv_env_protected("PORT1X"),
	    "names that only look alike are not protected");
	return done_testing();
}
