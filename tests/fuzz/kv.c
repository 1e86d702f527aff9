/* See COPYING for copyright and license details. */
/*
 * Fuzz Consul KV decoding and the key-to-environment mapping. Input: a
 * response body for GET /v1/kv/app/?recurse. Invariants: every variable
 * is a valid name that Marathon does not own, names are sorted and
 * unique, values hold no NUL and fit the kernel's limit, each came from a
 * key below the prefix; the hash is stable and upcasing gives upper-case
 * names.
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "kv.h"
#include "log.h"
#include "util.h"

static void
check_env(const struct kv_env *env, int upcase)
{
	size_t i, j;

	for (i = 0; i < env->n; i++) {
		const struct kv_var *v = &env->v[i];

		FUZZ_ASSERT(util_is_name(v->name, strlen(v->name)));
		FUZZ_ASSERT(!kv_env_protected(v->name));
		FUZZ_ASSERT(strlen(v->value) <= KV_VALUE_MAX);
		FUZZ_ASSERT(strncmp(v->key, "app/", 4) == 0);
		if (i > 0)
			FUZZ_ASSERT(strcmp(env->v[i - 1].name, v->name) < 0);
		if (upcase)
			for (j = 0; v->name[j] != '\0'; j++)
				FUZZ_ASSERT(!islower((unsigned char)v->name[j]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_list list = KV_LIST_INIT;
	struct kv_env env = KV_ENV_INIT, up = KV_ENV_INIT, again = KV_ENV_INIT;
	char err[256];
	size_t i;

	log_level = LOG_QUIET;
	if (kv_decode((const char *)data, size, &list, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(err[0] != '\0');
		kv_list_free(&list);
		return 0;
	}
	for (i = 0; i < list.n; i++) {
		FUZZ_ASSERT(list.v[i].key != NULL && list.v[i].value != NULL);
		FUZZ_ASSERT(list.v[i].value[list.v[i].len] == '\0');
		if (i > 0)
			FUZZ_ASSERT(strcmp(list.v[i - 1].key, list.v[i].key) <= 0);
	}
	kv_env_map(&list, "app", 0, &env);
	kv_env_map(&list, "app", KV_UPCASE, &up);
	kv_env_map(&list, "app", 0, &again);
	check_env(&env, 0);
	check_env(&up, 1);
	FUZZ_ASSERT(kv_env_hash(&env) == kv_env_hash(&again));
	kv_env_free(&env);
	kv_env_free(&up);
	kv_env_free(&again);
	kv_list_free(&list);
	return 0;
}
