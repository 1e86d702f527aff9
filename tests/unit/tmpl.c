/* See COPYING for copyright and license details. */
#include <stdlib.h>

#include "json.h"
#include "tap.h"
#include "tmpl.h"

static struct tmpl_vars vars = TMPL_VARS_INIT;

static char *
render(const char *src)
{
	struct tmpl_result r = TMPL_RESULT_INIT;
	char *out;

	tmpl_render(src, strlen(src), &vars, &r);
	out = buf_detach(&r.out);
	tmpl_result_free(&r);
	return out;
}

#define RENDERS(src, want, ...) do { \
	char *o_ = render(src); \
	is_str(o_, want, __VA_ARGS__); \
	free(o_); \
} while (0)

static void
test_render(void)
{
	tmpl_vars_set(&vars, "tag", "master-abc-56");
	tmpl_vars_set(&vars, "n", "3");
	tmpl_vars_set(&vars, "q", "say \"hi\"\\ \n\tcaf\xc3\xa9 \x01");
	tmpl_vars_set(&vars, "empty", "");

	RENDERS("\"img:$tag\"", "\"img:master-abc-56\"", "$name inside a string");
	RENDERS("\"$tagged\"", "\"$tagged\"", "longest match: $tagged is not $tag");
	RENDERS("\"${tag}ged\"", "\"master-abc-56ged\"", "${name} then letters");
	RENDERS("{\"$tag\": 1}", "{\"master-abc-56\": 1}", "a placeholder in a key");
	RENDERS("\"$q\"", "\"say \\\"hi\\\"\\\\ \\n\\tcaf\xc3\xa9 \\u0001\"",
	    "JSON-escaped inside a string");
	RENDERS("[$n, ${n}]", "[3, 3]", "raw outside strings");
	RENDERS("\"$PORT0 $HOST\"", "\"$PORT0 $HOST\"", "undefined left as written");
	RENDERS("[$environment]", "[$environment]", "undefined outside a string left");
	RENDERS("\"a $ b $$ c ${ d ${} e ${1x} f $9\"", "\"a $ b $$ c ${ d ${} e ${1x} f $9\"",
	    "a $ that starts no placeholder stays literal");
	RENDERS("\"\\\"$tag\\\\\" $n", "\"\\\"master-abc-56\\\\\" 3",
	    "escaped quotes do not end the string");
	RENDERS("\"x$empty\"", "\"x\"", "an empty value");
	RENDERS("$tag$n", "master-abc-563", "adjacent placeholders");
	RENDERS("", "", "empty template");
	RENDERS("\"$TAG\"", "\"$TAG\"", "names are case-sensitive");
}

static void
test_refs(void)
{
	const char *src = "{\n  \"image\": \"r:$tag\",\n  \"instances\": $instances,"
	    "\n  \"cmd\": \"run --port ${PORT0}\"\n}";
	struct tmpl_result r = TMPL_RESULT_INIT;

	tmpl_render(src, strlen(src), &vars, &r);
	is_int(r.nrefs, 3, "three placeholders found");
	if (r.nrefs == 3) {
		ok(strcmp(r.refs[0].name, "tag") == 0 && r.refs[0].defined &&
		    r.refs[0].in_string && r.refs[0].line == 2 &&
		    r.refs[0].col == 15, "$tag: defined, in a string, at 2:15");
		ok(strcmp(r.refs[1].name, "instances") == 0 &&
		    !r.refs[1].defined && !r.refs[1].in_string &&
		    r.refs[1].line == 3 && r.refs[1].col == 16,
		    "$instances: left, outside strings, at 3:16");
		ok(strcmp(r.refs[2].name, "PORT0") == 0 && !r.refs[2].defined &&
		    r.refs[2].in_string && r.refs[2].len == 8,
		    "${PORT0}: left, in a string, 8 bytes as written");
	}
	tmpl_result_free(&r);
}

static const char *
check(const char *src)
{
	static char err[512];
	struct tmpl_result r = TMPL_RESULT_INIT;
	int rc;

	tmpl_render(src, strlen(src), &vars, &r);
	rc = tmpl_check(src, strlen(src), &r, "service.json", err, sizeof(err));
	tmpl_result_free(&r);
	return rc == 0 ? "valid" : err;
}

static void
test_check(void)
{
	is_str(check("{\"instances\": $instances, \"id\": \"/a/$environment\"}"),
	    "valid", "placeholders left outside strings read as values");
	tmpl_vars_set(&vars, "bad", "3 4");
	is_str(check("{\n  \"instances\": $bad\n}"),
	    "service.json:2:16: expected ',' or '}' after an object member, "
	    "found '4' (in the value of $bad)",
	    "an error inside a value names the placeholder and its position");
	tmpl_vars_set(&vars, "multi", "1,\n\n\n2");
	is_str(check("{\"a\": [$multi],\n \"b\": 1,}"),
	    "service.json:2:9: trailing comma before '}'",
	    "positions after a multi-line value are the template's");
	is_str(check("{\"a\": \"$q\"}"), "valid",
	    "a value with quotes and newlines stays one valid string");
	is_str(check("{\"a\": \"x}"), "service.json:1:7: unterminated string",
	    "template errors are reported as in the template");
	tmpl_vars_set(&vars, "nothing", "");
	is_str(check("{\"a\": $nothing}"),
	    "service.json:1:7: expected a value, found '}' (in the value of $nothing)",
	    "an empty raw value is an error at the placeholder");
}

static void
test_vars(void)
{
	struct tmpl_vars v = TMPL_VARS_INIT;

	is_int(tmpl_vars_assign(&v, "a=b=c"), 0, "name=value with = in the value");
	is_str(tmpl_vars_get(&v, "a", 1), "b=c", "value keeps everything after the first =");
	is_int(tmpl_vars_assign(&v, "a="), 0, "empty value");
	is_str(tmpl_vars_get(&v, "a", 1), "", "later -s wins");
	is_int(tmpl_vars_assign(&v, "1a=x"), -1, "invalid name refused");
	is_int(tmpl_vars_assign(&v, "novalue"), -1, "missing = refused");
	is_int(tmpl_vars_assign(&v, "=x"), -1, "empty name refused");
	tmpl_vars_free(&v);
}

int
main(void)
{
	test_render();
	test_refs();
	test_check();
	test_vars();
	tmpl_vars_free(&vars);
	return done_testing();
}
