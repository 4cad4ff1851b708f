/* Capped growable buffer; see buf.h. Growth doubles up to the cap. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lore_buf_init(lore_buf *b, size_t cap) {
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void lore_buf_free(lore_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void lore_buf_reset(lore_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

lore_status lore_buf_reserve(lore_buf *b, size_t extra) {
    if (extra > b->cap || b->len > b->cap - extra) return LORE_TOO_LARGE;
    /* The terminator needs one more byte: with cap SIZE_MAX, len + extra may
     * be SIZE_MAX, and need (and cap + 1) would wrap to 0. */
    if (b->len + extra == SIZE_MAX) return LORE_TOO_LARGE;
    size_t need = b->len + extra + 1; /* room for the terminator */
    if (need <= b->alloc) return LORE_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (b->cap < SIZE_MAX && n > b->cap + 1) n = b->cap + 1;
    char *p = realloc(b->data, n);
    if (!p) return LORE_NOMEM;
    b->data = p;
    b->alloc = n;
    return LORE_OK;
}

lore_status lore_buf_append(lore_buf *b, const void *p, size_t n) {
    lore_status st = lore_buf_reserve(b, n);
    if (st != LORE_OK) return st;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LORE_OK;
}

lore_status lore_buf_append_str(lore_buf *b, const char *s) {
    return lore_buf_append(b, s, strlen(s));
}

lore_status lore_buf_append_byte(lore_buf *b, uint8_t c) {
    return lore_buf_append(b, &c, 1);
}

lore_status lore_buf_printf(lore_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return LORE_INVALID;
    lore_status st = lore_buf_reserve(b, (size_t)n);
    if (st != LORE_OK) return st;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LORE_OK;
}

lore_status lore_buf_append_varint(lore_buf *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    return lore_buf_append(b, tmp, n);
}

char *lore_buf_take(lore_buf *b) {
    char *p = b->data;
    if (!p) {
        p = malloc(1);
        if (p) p[0] = '\0';
    }
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

int lore_varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 70; shift += 7) {
        if (q >= end) return -1;
        uint8_t byte = *q++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            *p = q;
            return 0;
        }
    }
    return -1;
}
