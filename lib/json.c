/* See COPYING for copyright and license details. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "util.h"

cJSON *
json_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct json_error je = { 0, "" };
	size_t line, col;
	cJSON *root;

	if (json_check(text, len, 0, &je) < 0) {
		json_position(text, len, je.offset, &line, &col);
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, line, col, je.msg);
		return NULL;
	}
	root = cJSON_ParseWithLength(text, len);
	if (root == NULL)
		snprintf(err, errlen, "%s: out of memory parsing JSON", name);
	return root;
}

const char *
json_get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
json_get_int(const cJSON *obj, const char *key, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0)
		return -1;
	*out = (long long)d;
	return 0;
}

int
json_get_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsBool(v))
		return -1;
	*out = cJSON_IsTrue(v);
	return 0;
}

cJSON *
json_get_object(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

cJSON *
json_get_array(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

static void
indent(struct buf *b, int pretty, int depth)
{
	if (!pretty)
		return;
	buf_addc(b, '\n');
	while (depth-- > 0)
		buf_adds(b, "  ");
}

static void
print_number(struct buf *b, double d)
{
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		buf_printf(b, "%.0f", d);
	else if (isfinite(d))
		buf_printf(b, "%.17g", d);
	else
		buf_adds(b, "null");
}

static void
print_item(struct buf *b, const cJSON *item, int pretty, int depth)
{
	const cJSON *c;
	int open, close;

	if (cJSON_IsString(item)) {
		buf_addc(b, '"');
		json_escape(b, item->valuestring, strlen(item->valuestring));
		buf_addc(b, '"');
	} else if (cJSON_IsNumber(item)) {
		print_number(b, item->valuedouble);
	} else if (cJSON_IsTrue(item)) {
		buf_adds(b, "true");
	} else if (cJSON_IsFalse(item)) {
		buf_adds(b, "false");
	} else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		open = cJSON_IsArray(item) ? '[' : '{';
		close = open == '[' ? ']' : '}';
		buf_addc(b, (char)open);
		for (c = item->child; c != NULL; c = c->next) {
			indent(b, pretty, depth + 1);
			if (open == '{') {
				buf_addc(b, '"');
				json_escape(b, c->string, strlen(c->string));
				buf_adds(b, pretty ? "\": " : "\":");
			}
			print_item(b, c, pretty, depth + 1);
			if (c->next != NULL)
				buf_addc(b, ',');
		}
		if (item->child != NULL)
			indent(b, pretty, depth);
		buf_addc(b, (char)close);
	} else {
		buf_adds(b, "null");
	}
}

char *
json_print(const cJSON *item, int pretty)
{
	struct buf b = BUF_INIT;

	print_item(&b, item, pretty, 0);
	return buf_detach(&b);
}
