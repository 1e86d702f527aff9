/* See COPYING for copyright and license details. */
/*
 * Fuzz the placeholder engine and the template check. Input: a template,
 * optionally followed by a NUL and a value. Invariants: with no variables
 * the output is the template byte for byte; a template that checks out
 * still checks out when every placeholder that only occurs inside strings
 * is given the value (when the value is valid UTF-8), and the result
 * then has no such placeholder left.
 */
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "log.h"
#include "tmpl.h"

static int
only_in_strings(const struct tmpl_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nrefs; i++)
		if (strcmp(r->refs[i].name, name) == 0 && !r->refs[i].in_string)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl_result bare = TMPL_RESULT_INIT, full = TMPL_RESULT_INIT;
	struct tmpl_vars vars = TMPL_VARS_INIT;
	const char *src = (const char *)data, *nul;
	struct json_error je;
	struct buf lit = BUF_INIT;
	char err[512], *value;
	size_t len = size, i;
	int ok_bare, value_ok;

	log_level = LOG_QUIET;
	nul = memchr(src, '\0', size);
	if (nul != NULL)
		len = (size_t)(nul - src);
	value = nul != NULL ? strndup(nul + 1, size - len - 1) : strdup("v");

	tmpl_render(src, len, &vars, &bare);
	FUZZ_ASSERT(bare.out.len == len && memcmp(bare.out.data, src, len) == 0);
	FUZZ_ASSERT(bare.nsubs == 0);
	for (i = 0; i < bare.nrefs; i++) {
		FUZZ_ASSERT(bare.refs[i].offset + bare.refs[i].len <= len);
		FUZZ_ASSERT(src[bare.refs[i].offset] == '$');
		FUZZ_ASSERT(!bare.refs[i].defined);
	}
	ok_bare = tmpl_check(src, len, &bare, "t", err, sizeof(err)) == 0;
	FUZZ_ASSERT(ok_bare || strncmp(err, "t:", 2) == 0);

	buf_addc(&lit, '"');
	json_escape(&lit, value, strlen(value));
	buf_addc(&lit, '"');
	value_ok = json_check(lit.data, lit.len, 0, &je) == 0;

	for (i = 0; i < bare.nrefs; i++)
		if (only_in_strings(&bare, bare.refs[i].name))
			tmpl_vars_set(&vars, bare.refs[i].name, value);
	tmpl_render(src, len, &vars, &full);
	if (ok_bare && value_ok)
		FUZZ_ASSERT(tmpl_check(src, len, &full, "t", err,
		    sizeof(err)) == 0);
	for (i = 0; i < full.nrefs; i++)
		FUZZ_ASSERT(full.refs[i].defined ==
		    (tmpl_vars_get(&vars, full.refs[i].name,
		    strlen(full.refs[i].name)) != NULL));

	buf_free(&lit);
	free(value);
	tmpl_vars_free(&vars);
	tmpl_result_free(&bare);
	tmpl_result_free(&full);
	return 0;
}
