/* See COPYING for copyright and license details. */
/*
 * Fuzz the strict JSON checker against cJSON. Invariants: a document the
 * checker accepts is accepted with placeholders allowed too, cJSON parses
 * it, and printing it (pretty and compact) gives documents the checker
 * accepts and that parse back to the same compact text; an error offset
 * lies inside the input (or at its end).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "json.h"
#include "log.h"

static void
roundtrip(const cJSON *root, int pretty, const char *compact)
{
	struct json_error je;
	char *s = json_print(root, pretty), *again;
	cJSON *back;

	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(json_check(s, strlen(s), 0, &je) == 0);
	back = cJSON_Parse(s);
	FUZZ_ASSERT(back != NULL);
	again = json_print(back, 0);
	FUZZ_ASSERT(again != NULL && strcmp(again, compact) == 0);
	free(again);
	cJSON_Delete(back);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_error je = { 0, "" };
	char err[256], *compact;
	size_t line, col;
	cJSON *root;
	int plain;

	log_level = LOG_QUIET;
	plain = json_check(text, size, 0, &je) == 0;
	if (!plain) {
		FUZZ_ASSERT(je.offset <= size);
		FUZZ_ASSERT(je.msg[0] != '\0');
		json_position(text, size, je.offset, &line, &col);
		FUZZ_ASSERT(line >= 1 && col >= 1);
	}
	if (json_check(text, size, JSON_PLACEHOLDERS, &je) < 0) {
		FUZZ_ASSERT(!plain);
		return 0;
	}
	if (!plain)
		return 0;
	root = json_parse(text, size, "f", err, sizeof(err));
	FUZZ_ASSERT(root != NULL);
	compact = json_print(root, 0);
	FUZZ_ASSERT(compact != NULL);
	roundtrip(root, 1, compact);
	roundtrip(root, 0, compact);
	free(compact);
	cJSON_Delete(root);
	return 0;
}
