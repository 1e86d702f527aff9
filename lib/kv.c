/* See COPYING for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "json.h"
#include "kv.h"
#include "util.h"

extern char **environ;

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct kv_entry *)a)->key,
	    ((const struct kv_entry *)b)->key);
}

int
kv_decode(const char *json, size_t len, struct kv_list *out, char *err,
    size_t errlen)
{
	const cJSON *item;
	char perr[256];
	cJSON *root;
	size_t i = 0;

	root = json_parse(json, len, "response", perr, sizeof(perr));
	if (root == NULL) {
		snprintf(err, errlen, "not JSON (%s)", perr + strlen("response:"));
		return -1;
	}
	if (!cJSON_IsArray(root)) {
		snprintf(err, errlen, "not a JSON array of KV entries");
		cJSON_Delete(root);
		return -1;
	}
	out->n = (size_t)cJSON_GetArraySize(root);
	out->v = ecalloc(out->n, sizeof(*out->v));
	cJSON_ArrayForEach(item, root) {
		const char *key = json_get_string(item, "Key");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(item, "Value");
		struct buf b = BUF_INIT;

		if (key == NULL) {
			snprintf(err, errlen, "entry %zu has no Key", i);
			goto fail;
		}
		if (cJSON_IsString(val)) {
			if (base64_decode(val->valuestring,
			    strlen(val->valuestring), &b) < 0) {
				snprintf(err, errlen, "key %s: Value is not base64", key);
				buf_free(&b);
				goto fail;
			}
		} else if (val != NULL && !cJSON_IsNull(val)) {
			snprintf(err, errlen, "key %s: Value is neither base64 nor null", key);
			goto fail;
		}
		out->v[i].key = estrdup(key);
		out->v[i].len = b.len;
		out->v[i].value = buf_detach(&b);
		i++;
	}
	cJSON_Delete(root);
	qsort(out->v, out->n, sizeof(*out->v), cmp_entry);
	return 0;
fail:
	out->n = i;
	kv_list_free(out);
	cJSON_Delete(root);
	return -1;
}

int
kv_env_protected(const char *name)
{
	const char *p;

	if (strcmp(name, "HOST") == 0 || strcmp(name, "PORT") == 0 ||
	    strcmp(name, "PORTS") == 0 || strncmp(name, "PORT_", 5) == 0 ||
	    strncmp(name, "MARATHON_", 9) == 0 || strncmp(name, "MESOS_", 6) == 0)
		return 1;
	if (strncmp(name, "PORT", 4) != 0 || name[4] == '\0')
		return 0;
	for (p = name + 4; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

/* The variable name for a key below the prefix; NULL when skipped. */
static char *
env_name(const char *key, const char *rest, int flags)
{
	struct buf b = BUF_INIT;
	const char *p;
	int changed = 0;

	if (rest[0] >= '0' && rest[0] <= '9') {
		buf_addc(&b, '_');
		changed = 1;
	}
	for (p = rest; *p != '\0'; p++) {
		char c = *p;

		if (!(isalnum((unsigned char)c) || c == '_') || (c & 0x80)) {
			c = '_';
			changed = 1;
		}
		if (flags & KV_UPCASE)
			c = (char)toupper((unsigned char)c);
		buf_addc(&b, c);
	}
	if (changed)
		log_warn("key %s: not a valid variable name, using %s", key, b.data);
	return buf_detach(&b);
}

static int
cmp_var(const void *a, const void *b)
{
	return strcmp(((const struct kv_var *)a)->name,
	    ((const struct kv_var *)b)->name);
}

void
kv_env_map(const struct kv_list *entries, const char *prefix, int flags,
    struct kv_env *out)
{
	size_t plen = strlen(prefix), i, j;

	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	out->v = ecalloc(entries->n, sizeof(*out->v));
	out->n = 0;
	for (i = 0; i < entries->n; i++) {
		const struct kv_entry *e = &entries->v[i];
		const char *rest = e->key;
		char *name;

		if (plen > 0) {
			if (strncmp(e->key, prefix, plen) != 0 || e->key[plen] != '/')
				continue;
			rest = e->key + plen + 1;
		}
		if (*rest == '\0' || e->key[strlen(e->key) - 1] == '/')
			continue;	/* the prefix itself, or a folder */
		if (memchr(e->value, '\0', e->len) != NULL) {
			log_warn("key %s: value holds a NUL byte, which an "
			    "environment cannot carry: skipped", e->key);
			continue;
		}
		name = env_name(e->key, rest, flags);
		if (e->len + strlen(name) + 1 > KV_VALUE_MAX) {
			log_warn("key %s: value of %zu bytes is over the kernel's "
			    "128 KiB limit for one variable: skipped", e->key, e->len);
			free(name);
			continue;
		}
		if (kv_env_protected(name)) {
			log_warn("key %s: %s is set by Marathon: dropped", e->key, name);
			free(name);
			continue;
		}
		/* Entries come in key order: a later key replaces an earlier one. */
		for (j = 0; j < out->n; j++)
			if (strcmp(out->v[j].name, name) == 0)
				break;
		if (j < out->n) {
			log_warn("keys %s and %s both map to %s: using %s",
			    out->v[j].key, e->key, name, e->key);
			free(out->v[j].name);
			free(out->v[j].value);
			free(out->v[j].key);
		} else {
			out->n++;
		}
		out->v[j].name = name;
		out->v[j].value = estrndup(e->value, e->len);
		out->v[j].key = estrdup(e->key);
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_var);
}

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
kv_env_hash(const struct kv_env *env)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < env->n; i++) {
		h = fnv(h, env->v[i].name, strlen(env->v[i].name) + 1);
		h = fnv(h, env->v[i].value, strlen(env->v[i].value) + 1);
	}
	return h;
}

uint64_t
kv_list_hash(const struct kv_list *l)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < l->n; i++) {
		char len[32];

		h = fnv(h, l->v[i].key, strlen(l->v[i].key) + 1);
		snprintf(len, sizeof(len), "%zu:", l->v[i].len);
		h = fnv(h, len, strlen(len));
		h = fnv(h, l->v[i].value, l->v[i].len);
	}
	return h;
}

/* Does env set the variable of entry "NAME=value"? */
static int
env_sets(const struct kv_env *env, const char *entry)
{
	size_t i, n = strcspn(entry, "=");

	for (i = 0; i < env->n; i++)
		if (strlen(env->v[i].name) == n &&
		    strncmp(env->v[i].name, entry, n) == 0)
			return 1;
	return 0;
}

char **
kv_envp(const struct kv_env *env, char *const base[])
{
	size_t n = 0, i, k = 0;
	char **envp;

	if (base == NULL)
		base = environ;
	while (base[n] != NULL)
		n++;
	envp = ecalloc(n + env->n + 1, sizeof(*envp));
	for (i = 0; i < n; i++)
		if (!env_sets(env, base[i]))
			envp[k++] = estrdup(base[i]);
	for (i = 0; i < env->n; i++) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s=", env->v[i].name);
		buf_adds(&b, env->v[i].value);
		envp[k++] = buf_detach(&b);
	}
	envp[k] = NULL;
	return envp;
}

void
kv_envp_free(char **envp)
{
	size_t i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

void
kv_env_describe(const struct kv_env *env, struct buf *b)
{
	size_t i;

	buf_printf(b, "%zu variable%s", env->n, env->n == 1 ? "" : "s");
	for (i = 0; i < env->n && i < 20; i++)
		buf_printf(b, "%s%s", i ? ", " : " (", env->v[i].name);
	if (env->n > 20)
		buf_adds(b, ", ...");
	if (env->n > 0)
		buf_adds(b, ")");
}

void
kv_env_diff(const struct kv_env *old, const struct kv_env *new, struct buf *b)
{
	static const char *const label[] = { "added", "changed", "removed" };
	struct buf part[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	size_t i = 0, j = 0, k;
	int first = 1;

	/* Both are sorted by name: one merge. */
	while (i < old->n || j < new->n) {
		int c = i == old->n ? 1 : j == new->n ? -1 :
		    strcmp(old->v[i].name, new->v[j].name);
		struct buf *p;
		const char *name;

		if (c < 0) {
			p = &part[2];
			name = old->v[i++].name;
		} else if (c > 0) {
			p = &part[0];
			name = new->v[j++].name;
		} else {
			p = strcmp(old->v[i].value, new->v[j].value) != 0 ?
			    &part[1] : NULL;
			name = new->v[j].name;
			i++, j++;
		}
		if (p != NULL)
			buf_printf(p, "%s%s", p->len ? ", " : "", name);
	}
	for (k = 0; k < 3; k++) {
		if (part[k].len > 0) {
			buf_printf(b, "%s%s %s", first ? "" : "; ", label[k],
			    part[k].data);
			first = 0;
		}
		buf_free(&part[k]);
	}
	if (first)
		buf_adds(b, "no variable");
}

static void
add_u32(struct buf *b, size_t v)
{
	uint32_t u = (uint32_t)v;

	buf_add(b, &u, sizeof(u));
}

int
kv_env_send(int fd, char tag, const struct kv_env *env)
{
	struct buf b = BUF_INIT;
	size_t i, n = env != NULL ? env->n : 0, off = 0;
	int rc = 0;

	buf_addc(&b, tag);
	add_u32(&b, n);
	for (i = 0; i < n; i++) {
		add_u32(&b, strlen(env->v[i].name));
		add_u32(&b, strlen(env->v[i].value));
		buf_adds(&b, env->v[i].name);
		buf_adds(&b, env->v[i].value);
	}
	while (off < b.len) {
		ssize_t w = write(fd, b.data + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	buf_free(&b);
	return rc;
}

static int
read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static char *
read_str(int fd, uint32_t n)
{
	char *s;

	if (n > KV_VALUE_MAX)
		return NULL;
	s = emalloc((size_t)n + 1);
	if (read_all(fd, s, n) < 0) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

int
kv_env_recv(int fd, char *tag, struct kv_env *env)
{
	uint32_t n, i, len[2];

	kv_env_free(env);
	if (read_all(fd, tag, 1) < 0 || read_all(fd, &n, sizeof(n)) < 0 ||
	    n > 1u << 20)
		return -1;
	env->v = ecalloc(n, sizeof(*env->v));
	for (i = 0; i < n; i++) {
		if (read_all(fd, len, sizeof(len)) < 0)
			return -1;
		env->v[i].name = read_str(fd, len[0]);
		env->v[i].value = read_str(fd, len[1]);
		env->v[i].key = estrdup("");
		env->n = i + 1;
		if (env->v[i].name == NULL || env->v[i].value == NULL ||
		    memchr(env->v[i].name, '\0', len[0]) != NULL ||
		    memchr(env->v[i].value, '\0', len[1]) != NULL)
			return -1;
	}
	return 0;
}

void
kv_list_free(struct kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
kv_env_free(struct kv_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
		free(e->v[i].key);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}
