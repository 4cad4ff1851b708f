/* Growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * Every buffer that grows with input carries the largest size it may reach;
 * an append past it fails with LORE_TOO_LARGE and leaves the buffer as it was,
 * so input that exceeds a cap is an error, never a crash or an OOM. The data
 * is always NUL-terminated (the terminator is not counted in len). */
#ifndef LORE_UTIL_BUF_H
#define LORE_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef struct lore_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* maximum len; appends beyond it fail */
} lore_buf;

/* Initializes an empty buffer that may hold at most cap bytes. */
void lore_buf_init(lore_buf *b, size_t cap);
/* Frees the data and leaves an empty buffer with the same cap. */
void lore_buf_free(lore_buf *b);
/* Empties the buffer but keeps its allocation. */
void lore_buf_reset(lore_buf *b);
LORE_MUST_CHECK lore_status lore_buf_reserve(lore_buf *b, size_t extra);
LORE_MUST_CHECK lore_status lore_buf_append(lore_buf *b, const void *p, size_t n);
LORE_MUST_CHECK lore_status lore_buf_append_str(lore_buf *b, const char *s);
LORE_MUST_CHECK lore_status lore_buf_append_byte(lore_buf *b, uint8_t c);
LORE_MUST_CHECK lore_status lore_buf_printf(lore_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends v as an unsigned LEB128 varint. */
LORE_MUST_CHECK lore_status lore_buf_append_varint(lore_buf *b, uint64_t v);
/* Gives the caller the data (owned, NUL-terminated, never NULL on success)
 * and leaves the buffer empty. */
char *lore_buf_take(lore_buf *b);

/* Decodes an unsigned LEB128 varint from [*p, end). Returns 0 and advances *p
 * on success, -1 when the input is truncated or longer than 10 bytes. */
int lore_varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *out);

#endif
