/* See COPYING for copyright and license details. */
/*
 * buf: a growable byte buffer. The caller owns the struct (start it as
 * BUF_INIT) and frees its data with buf_free(). data is always
 * NUL-terminated after any append, so text can be used as a C string.
 * Allocation failure exits (log_die with log_fatal_status).
 */
#ifndef GALLEY_BUF_H
#define GALLEY_BUF_H

#include <stddef.h>

struct buf {
	char *data;	/* NULL or malloced */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
char *buf_detach(struct buf *b);

#endif
