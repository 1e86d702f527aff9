/* See COPYING for copyright and license details. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "tap.h"

static void
check_errors(void)
{
	static const struct {
		const char *doc;
		const char *want;	/* "line:col: message", or NULL: valid */
	} cases[] = {
		{ "{}", NULL },
		{ " [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"] ", NULL },
		{ "{\"a\": {\"b\": []}}", NULL },
		{ "\"caf\xc3\xa9\"", NULL },
		{ "", "1:1: empty document" },
		{ "  \n ", "1:1: empty document" },
		{ "{\"a\": 1,}", "1:9: trailing comma before '}'" },
		{ "[1,\n 2,\n]", "3:1: trailing comma before ']'" },
		{ "{\n  \"id\": \"web\n}", "2:9: unterminated string (a line break "
		    "inside a string must be written \\n)" },
		{ "{\"a\": \"b", "1:7: unterminated string" },
		{ "{\"a\" 1}", "1:6: expected ':' after the key, found '1'" },
		{ "{a: 1}", "1:2: expected a string key in double quotes, found 'a'" },
		{ "{\"a\": 1 \"b\": 2}", "1:9: expected ',' or '}' after an object "
		    "member, found '\"'" },
		{ "[1 2]", "1:4: expected ',' or ']' after an array element, found '2'" },
		{ "{\"a\": }", "1:7: expected a value, found '}'" },
		{ "{\"a\": tru}", "1:7: expected a value, found 't'" },
		{ "[01]", "1:2: invalid number (leading zero)" },
		{ "[1.]", "1:2: invalid number (digits must follow '.')" },
		{ "[1e]", "1:2: invalid number (bad exponent)" },
		{ "[-]", "1:2: invalid number" },
		{ "\"\\x\"", "1:2: invalid escape \\x in string" },
		{ "\"\\u12g4\"", "1:2: invalid \\u escape (needs four hex digits)" },
		{ "\"\\ud83d\\ude00\"", NULL },
		/* found by tests/fuzz/json: cJSON refuses these */
		{ "[\"\\ud83d]ude00\"]", "1:3: \\u escape is a high surrogate without its low half" },
		{ "\"\\ud83d\\u0041\"", "1:2: \\u escape is a high surrogate without its low half" },
		{ "\"\\ude00\"", "1:2: \\u escape is a lone low surrogate" },
		{ "\"a\tb\"", "1:3: control character in string (escape it as \\u00XX)" },
		{ "\"\xff\"", "1:2: invalid UTF-8 in string" },
		{ "\"\xc3\"", "1:2: invalid UTF-8 in string" },
		{ "\"\xed\xa0\x80\"", "1:2: invalid UTF-8 in string" },
		{ "{} {}", "1:4: expected end of input after the document, found '{'" },
		{ "[$instances]", "1:2: expected a value, found '$'" },
		{ "\"caf\xc3\xa9\" x", "1:8: expected end of input after the document, "
		    "found 'x'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_error e;
		char got[256];
		size_t line, col;
		const char *doc = cases[i].doc;

		if (json_check(doc, strlen(doc), 0, &e) == 0) {
			snprintf(got, sizeof(got), "valid");
		} else {
			json_position(doc, strlen(doc), e.offset, &line, &col);
			snprintf(got, sizeof(got), "%zu:%zu: %s", line, col, e.msg);
		}
		is_str(got, cases[i].want ? cases[i].want : "valid",
		    "check case %zu", i);
	}
}

static void
check_placeholders(void)
{
	static const char *valid[] = {
		"{\"instances\": $instances}", "[${n}, $m]", "{\"a\": \"$x\"}",
	};
	static const char *invalid[] = {
		"{$key: 1}", "[$]", "[${}]", "[${a-b}]", "[$9]", "[${a]",
	};
	struct json_error e;
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		is_int(json_check(valid[i], strlen(valid[i]), JSON_PLACEHOLDERS, &e),
		    0, "placeholder as a value: %s", valid[i]);
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		is_int(json_check(invalid[i], strlen(invalid[i]), JSON_PLACEHOLDERS,
		    &e), -1, "not a placeholder value: %s", invalid[i]);
}

static void
check_depth(void)
{
	char *deep = malloc(2 * (JSON_MAX_DEPTH + 10) + 1);
	struct json_error e;
	size_t n = JSON_MAX_DEPTH + 10, i;

	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[n + i] = ']';
	}
	deep[2 * n] = '\0';
	ok(json_check(deep, 2 * n, 0, &e) < 0 && strcmp(e.msg,
	    "nested too deeply") == 0, "nesting is bounded");
	free(deep);
}

static void
check_escape(void)
{
	struct buf b = BUF_INIT;

	json_escape(&b, "q\"b\\n\n t\t c\x01 d\x7f \xc3\xa9", 18);
	is_str(b.data, "q\\\"b\\\\n\\n t\\t c\\u0001 d\\u007f \xc3\xa9",
	    "json_escape escapes quotes, backslashes, controls; keeps UTF-8");
	buf_free(&b);
}

static void
check_tree(void)
{
	const char *doc = "{\"id\": \"/web\", \"instances\": 3, \"cpus\": 0.5,"
	    " \"big\": 9007199254740993, \"ok\": true, \"env\": {\"A\": \"1\"},"
	    " \"args\": [\"a\", \"b\"], \"s\": \"\\u00e9\\\"\", \"e\": {}, \"z\": []}";
	char err[256];
	long long n;
	int b;
	cJSON *root = json_parse(doc, strlen(doc), "t.json", err, sizeof(err));
	char *s;

	ok(root != NULL, "json_parse parses");
	is_str(json_get_string(root, "id"), "/web", "string getter");
	ok(json_get_string(root, "instances") == NULL, "string getter: wrong type is NULL");
	ok(json_get_int(root, "instances", &n) == 0 && n == 3, "int getter");
	is_int(json_get_int(root, "cpus", &n), -1, "int getter refuses 0.5");
	is_int(json_get_int(root, "missing", &n), -1, "int getter: missing");
	ok(json_get_bool(root, "ok", &b) == 0 && b == 1, "bool getter");
	ok(json_get_object(root, "env") != NULL, "object getter");
	ok(json_get_object(root, "args") == NULL, "object getter: array is not an object");
	ok(json_get_array(root, "args") != NULL, "array getter");
	s = json_print(root, 0);
	is_str(s, "{\"id\":\"/web\",\"instances\":3,\"cpus\":0.5,"
	    "\"big\":9007199254740992,\"ok\":true,\"env\":{\"A\":\"1\"},"
	    "\"args\":[\"a\",\"b\"],\"s\":\"\xc3\xa9\\\"\",\"e\":{},\"z\":[]}",
	    "compact print");
	free(s);
	cJSON_Delete(root);

	root = json_parse("{\"a\":[1,{\"b\":null}]}", 20, "t.json", err, sizeof(err));
	s = json_print(root, 1);
	is_str(s, "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}",
	    "pretty print with two spaces");
	free(s);
	cJSON_Delete(root);

	root = json_parse("{\n \"a\": 1,\n}", 12, "app.json", err, sizeof(err));
	ok(root == NULL, "json_parse refuses invalid JSON");
	is_str(err, "app.json:3:1: trailing comma before '}'",
	    "with file:line:col");
}

int
main(void)
{
	check_errors();
	check_placeholders();
	check_depth();
	check_escape();
	check_tree();
	return done_testing();
}
