/* See COPYING for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tmpl.h"
#include "util.h"

void
tmpl_vars_set(struct tmpl_vars *vars, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < vars->n; i++) {
		if (strcmp(vars->v[i].name, name) == 0) {
			free(vars->v[i].value);
			vars->v[i].value = estrdup(value);
			return;
		}
	}
	vars->v = erealloc(vars->v, (vars->n + 1) * sizeof(*vars->v));
	vars->v[vars->n].name = estrdup(name);
	vars->v[vars->n].value = estrdup(value);
	vars->n++;
}

int
tmpl_vars_assign(struct tmpl_vars *vars, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char *name;

	if (eq == NULL || !util_is_name(assignment, (size_t)(eq - assignment)))
		return -1;
	name = estrndup(assignment, (size_t)(eq - assignment));
	tmpl_vars_set(vars, name, eq + 1);
	free(name);
	return 0;
}

const char *
tmpl_vars_get(const struct tmpl_vars *vars, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < vars->n; i++)
		if (strlen(vars->v[i].name) == n &&
		    memcmp(vars->v[i].name, name, n) == 0)
			return vars->v[i].value;
	return NULL;
}

void
tmpl_vars_free(struct tmpl_vars *vars)
{
	size_t i;

	for (i = 0; i < vars->n; i++) {
		free(vars->v[i].name);
		free(vars->v[i].value);
	}
	free(vars->v);
	vars->v = NULL;
	vars->n = 0;
}

/*
 * If a placeholder starts at s[0] == '$', return its length as written
 * and set *name, *namelen; else return 0.
 */
static size_t
scan_placeholder(const char *s, size_t n, const char **name, size_t *namelen)
{
	size_t i;

	if (n >= 2 && s[1] == '{') {
		for (i = 2; i < n && s[i] != '}'; i++)
			;
		if (i == n || !util_is_name(s + 2, i - 2))
			return 0;
		*name = s + 2;
		*namelen = i - 2;
		return i + 1;
	}
	for (i = 1; i < n && util_is_name(s + 1, i); i++)
		;
	if (i == 1)
		return 0;
	*name = s + 1;
	*namelen = i - 1;
	return i;
}

/* Where the scan is in the template, for placeholder positions. */
struct pos {
	size_t off, line, col;
};

/* Move p forward to offset off, counting as json_position() does. */
static void
pos_advance(const char *src, struct pos *p, size_t off)
{
	for (; p->off < off; p->off++) {
		if (src[p->off] == '\n') {
			p->line++;
			p->col = 1;
		} else if (((unsigned char)src[p->off] & 0xc0) != 0x80) {
			p->col++;
		}
	}
}

/* Room for one more of n items: grown to the next power of two. */
static void *
grow(void *v, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		v = erealloc(v, (n ? 2 * n : 1) * size);
	return v;
}

static void
add_ref(struct tmpl_result *res, const char *src, struct pos *p, size_t off,
    size_t wlen, const char *name, size_t namelen, int in_string, int defined)
{
	struct tmpl_ref *r;

	res->refs = grow(res->refs, res->nrefs, sizeof(*res->refs));
	r = &res->refs[res->nrefs++];
	r->name = estrndup(name, namelen);
	r->offset = off;
	r->len = wlen;
	pos_advance(src, p, off);
	r->line = p->line;
	r->col = p->col;
	r->in_string = in_string;
	r->defined = defined;
}

void
tmpl_render(const char *src, size_t len, const struct tmpl_vars *vars,
    struct tmpl_result *res)
{
	struct pos p = { 0, 1, 1 };
	int in_string = 0;
	size_t i = 0;

	buf_grow(&res->out, len);
	while (i < len) {
		const char *name, *value;
		size_t wlen, namelen, out_off;
		struct tmpl_sub *sub;
		char c = src[i];

		if (c != '$') {
			/* Track JSON string literals in the template itself. */
			if (in_string && c == '\\' && i + 1 < len) {
				buf_add(&res->out, src + i, 2);
				i += 2;
				continue;
			}
			if (c == '"')
				in_string = !in_string;
			buf_addc(&res->out, c);
			i++;
			continue;
		}
		wlen = scan_placeholder(src + i, len - i, &name, &namelen);
		if (wlen == 0) {
			buf_addc(&res->out, c);
			i++;
			continue;
		}
		value = tmpl_vars_get(vars, name, namelen);
		add_ref(res, src, &p, i, wlen, name, namelen, in_string,
		    value != NULL);
		if (value == NULL) {
			buf_add(&res->out, src + i, wlen);
			i += wlen;
			continue;
		}
		out_off = res->out.len;
		if (in_string)
			json_escape(&res->out, value, strlen(value));
		else
			buf_adds(&res->out, value);
		res->subs = grow(res->subs, res->nsubs, sizeof(*res->subs));
		sub = &res->subs[res->nsubs++];
		sub->src_off = i;
		sub->src_len = wlen;
		sub->out_off = out_off;
		sub->out_len = res->out.len - out_off;
		sub->ref = res->nrefs - 1;
		i += wlen;
	}
	buf_grow(&res->out, 0);	/* data is non-NULL even when empty */
}

/* Map an output offset back to the template; *sub is the replacement it falls in, or NULL. */
static size_t
src_offset(const struct tmpl_result *res, size_t off, const struct tmpl_sub **in)
{
	size_t i, delta_src = 0, delta_out = 0;

	*in = NULL;
	for (i = 0; i < res->nsubs; i++) {
		const struct tmpl_sub *s = &res->subs[i];

		if (s->out_off > off)
			break;
		if (off < s->out_off + s->out_len ||
		    (s->out_len == 0 && off == s->out_off)) {
			*in = s;
			return s->src_off;
		}
		delta_src = s->src_off + s->src_len;
		delta_out = s->out_off + s->out_len;
	}
	return delta_src + (off - delta_out);
}

int
tmpl_check(const char *src, size_t len, const struct tmpl_result *res,
    const char *name, char *err, size_t errlen)
{
	const struct tmpl_sub *in;
	struct json_error je = { 0, "" };
	size_t off, line, col;

	if (json_check(res->out.data, res->out.len, JSON_PLACEHOLDERS, &je) == 0)
		return 0;
	off = src_offset(res, je.offset, &in);
	json_position(src, len, off, &line, &col);
	if (in != NULL)
		snprintf(err, errlen, "%s:%zu:%zu: %s (in the value of $%s)",
		    name, line, col, je.msg, res->refs[in->ref].name);
	else
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, line, col, je.msg);
	return -1;
}

void
tmpl_result_free(struct tmpl_result *res)
{
	size_t i;

	buf_free(&res->out);
	for (i = 0; i < res->nrefs; i++)
		free(res->refs[i].name);
	free(res->refs);
	free(res->subs);
	res->refs = NULL;
	res->subs = NULL;
	res->nrefs = res->nsubs = 0;
}
