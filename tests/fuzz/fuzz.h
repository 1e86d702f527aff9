/* See COPYING for copyright and license details. */
/*
 * fuzz: shared pieces of the libFuzzer targets. Each target defines
 * LLVMFuzzerTestOneInput; `make fuzz` links it with libFuzzer, and
 * `make check` links it with replay.c to run the committed corpus and
 * every crash ever found as regression tests. FUZZ_ASSERT aborts, so a
 * broken invariant is a crash that libFuzzer records.
 */
#ifndef GALLEY_FUZZ_H
#define GALLEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
		    __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
