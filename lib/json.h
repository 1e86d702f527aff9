/* See COPYING for copyright and license details. */
/*
 * json: a strict RFC 8259 checker with file:line:col errors, string
 * escaping, and helpers over cJSON. Trees from json_parse() are the
 * caller's to cJSON_Delete(); strings from json_print() are malloced;
 * getters return pointers into the tree (valid while the tree lives).
 *
 * json_check() and json_escape() do not use cJSON, so a tool that only
 * checks documents does not load libcjson.
 */
#ifndef GALLEY_JSON_H
#define GALLEY_JSON_H

#include <stddef.h>

#include "buf.h"

struct cJSON;

enum {
	JSON_PLACEHOLDERS = 1,	/* $name and ${name} outside strings are values */
};

struct json_error {
	size_t offset;		/* byte offset of the problem */
	char msg[160];		/* what is wrong there, no position */
};

#define JSON_MAX_DEPTH 512

/* Returns 0 when text is one valid JSON document, else -1 and fills err. */
int json_check(const char *text, size_t len, int flags, struct json_error *err);

/* 1-based line and column (in characters) of a byte offset. */
void json_position(const char *text, size_t len, size_t offset,
    size_t *line, size_t *col);

/* Append s as the inside of a JSON string literal (no quotes). */
void json_escape(struct buf *b, const char *s, size_t n);

/*
 * Parse one document. On error returns NULL and writes
 * "name:line:col: message" into err.
 */
struct cJSON *json_parse(const char *text, size_t len, const char *name,
    char *err, size_t errlen);

const char *json_get_string(const struct cJSON *obj, const char *key);
int json_get_int(const struct cJSON *obj, const char *key, long long *out);
int json_get_bool(const struct cJSON *obj, const char *key, int *out);
struct cJSON *json_get_object(const struct cJSON *obj, const char *key);
struct cJSON *json_get_array(const struct cJSON *obj, const char *key);

/* Print with two-space indentation (pretty) or compactly, no newline. */
char *json_print(const struct cJSON *item, int pretty);

#endif
