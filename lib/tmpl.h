/* See COPYING for copyright and license details. */
/*
 * tmpl: the placeholder engine of DESIGN.md §4. A struct tmpl_vars owns
 * copies of its names and values (start it as TMPL_VARS_INIT, end with
 * tmpl_vars_free); a struct tmpl_result owns its output, placeholder list
 * and offset map (start as TMPL_RESULT_INIT, end with tmpl_result_free).
 *
 * $name and ${name}, name = [A-Za-z_][A-Za-z0-9_]*, $name taking the
 * longest run. A defined placeholder inside a JSON string literal is
 * replaced by its JSON-escaped value, outside strings by the value as is.
 * An undefined one is left exactly as written. There is no escape syntax.
 */
#ifndef GALLEY_TMPL_H
#define GALLEY_TMPL_H

#include <stddef.h>

#include "buf.h"

struct tmpl_var {
	char *name;	/* malloced */
	char *value;	/* malloced */
};

struct tmpl_vars {
	struct tmpl_var *v;
	size_t n;
};

#define TMPL_VARS_INIT { NULL, 0 }

/* One placeholder as written in the template. */
struct tmpl_ref {
	char *name;		/* malloced */
	size_t offset;		/* byte offset of the '$' in the template */
	size_t len;		/* length as written ($x or ${x}) */
	size_t line, col;	/* 1-based position in the template */
	int in_string;		/* inside a JSON string literal */
	int defined;		/* replaced (1) or left as written (0) */
};

/* A replacement: template bytes [src_off, +src_len) became output [out_off, +out_len). */
struct tmpl_sub {
	size_t src_off, src_len;
	size_t out_off, out_len;
	size_t ref;		/* index into refs */
};

struct tmpl_result {
	struct buf out;
	struct tmpl_ref *refs;
	size_t nrefs;
	struct tmpl_sub *subs;
	size_t nsubs;
};

#define TMPL_RESULT_INIT { BUF_INIT, NULL, 0, NULL, 0 }

/* Set name to value (replacing an earlier value). */
void tmpl_vars_set(struct tmpl_vars *vars, const char *name, const char *value);

/* Parse "name=value" as given to -s; returns -1 when name is not valid. */
int tmpl_vars_assign(struct tmpl_vars *vars, const char *assignment);

const char *tmpl_vars_get(const struct tmpl_vars *vars, const char *name, size_t n);
void tmpl_vars_free(struct tmpl_vars *vars);

void tmpl_render(const char *src, size_t len, const struct tmpl_vars *vars,
    struct tmpl_result *res);

/*
 * Check that the rendered output is one valid JSON document once the
 * placeholders left outside strings are read as values. Returns 0, or -1
 * with "name:line:col: message" in err, the position being in the
 * template (src), not in the output.
 */
int tmpl_check(const char *src, size_t len, const struct tmpl_result *res,
    const char *name, char *err, size_t errlen);

void tmpl_result_free(struct tmpl_result *res);

#endif
