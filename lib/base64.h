/* See COPYING for copyright and license details. */
/* base64: standard alphabet with padding (RFC 4648 §4), into the caller's buf. */
#ifndef GALLEY_BASE64_H
#define GALLEY_BASE64_H

#include <stddef.h>

#include "buf.h"

void base64_encode(const void *in, size_t n, struct buf *out);

/* Returns 0, or -1 (out may hold a partial result) on invalid input. */
int base64_decode(const char *in, size_t n, struct buf *out);

#endif
