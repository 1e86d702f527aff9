/* See COPYING for copyright and license details. */
/*
 * kv: Consul KV responses turned into a service's environment. A struct
 * kv_list and a struct kv_env own all their strings (start them as
 * KV_LIST_INIT / KV_ENV_INIT, end with kv_list_free / kv_env_free).
 * Nothing here prints a value: warnings name keys and variables only.
 */
#ifndef GALLEY_KV_H
#define GALLEY_KV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define KV_VALUE_MAX (128 * 1024 - 1)	/* MAX_ARG_STRLEN with "NAME=" and NUL */

struct kv_entry {
	char *key;
	char *value;		/* decoded, NUL-terminated; "" for null */
	size_t len;		/* bytes in value (it may hold a NUL) */
};

struct kv_list {
	struct kv_entry *v;
	size_t n;
};

#define KV_LIST_INIT { NULL, 0 }

struct kv_var {
	char *name;
	char *value;
	char *key;		/* the Consul key it came from */
};

struct kv_env {
	struct kv_var *v;	/* sorted by name */
	size_t n;
};

#define KV_ENV_INIT { NULL, 0 }

enum { KV_UPCASE = 1 };

/*
 * Decode the body of GET /v1/kv/<prefix>/?recurse: a JSON array of
 * entries with Key and Value (base64 or null). Returns 0, or -1 with a
 * reason in err (the body is never quoted: it holds values).
 */
int kv_decode(const char *json, size_t len, struct kv_list *out, char *err,
    size_t errlen);

/*
 * Map the entries below prefix to variables (DESIGN.md §5): the prefix
 * stripped, folder keys skipped, '/' and other characters outside
 * [A-Za-z0-9_] turned into '_', a leading digit prefixed with '_', each
 * with a warning; KV_UPCASE upper-cases names; values with a NUL or over
 * KV_VALUE_MAX skipped; names Marathon owns (HOST, PORT, PORT<n>, PORTS,
 * PORT_*, MARATHON_*, MESOS_*) dropped; of two keys mapping to one name,
 * the later in key order wins. Warnings go through log_warn.
 */
void kv_env_map(const struct kv_list *entries, const char *prefix, int flags,
    struct kv_env *out);

/* Is name one of the variables Marathon owns? */
int kv_env_protected(const char *name);

/* A hash of the names and values (FNV-1a 64), for "did it change" and logs. */
uint64_t kv_env_hash(const struct kv_env *env);

/* A hash of the keys and values as read (FNV-1a 64): did the content move? */
uint64_t kv_list_hash(const struct kv_list *l);

/*
 * The command's environment: base (NULL: environ) without the names env
 * sets, then env's variables. A malloced NULL-terminated array of
 * malloced strings: free it with kv_envp_free.
 */
char **kv_envp(const struct kv_env *env, char *const base[]);
void kv_envp_free(char **envp);

/* Append "3 variables (A, B, C)" to b: names only, never values. */
void kv_env_describe(const struct kv_env *env, struct buf *b);

/* Append "added A; changed B, C; removed D" (or "no variable") to b. */
void kv_env_diff(const struct kv_env *old, const struct kv_env *new,
    struct buf *b);

/*
 * Hand an environment to another process over a pipe: a tag byte, then
 * the variables (names and values with their lengths; env may be NULL
 * for none). kv_env_recv replaces *env (keys are empty). Both return 0,
 * or -1 when the pipe broke or ended, or the message is not one.
 */
int kv_env_send(int fd, char tag, const struct kv_env *env);
int kv_env_recv(int fd, char *tag, struct kv_env *env);

void kv_list_free(struct kv_list *l);
void kv_env_free(struct kv_env *e);

#endif
