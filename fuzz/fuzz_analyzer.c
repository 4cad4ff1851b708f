/* Fuzzes text_analyze: any bytes must analyze without a crash, in linear
 * time, and every token must satisfy the header's contract (a non-empty,
 * NUL-terminated, valid UTF-8 term of at most TEXT_MAX_TERM bytes; a source
 * range inside the input; positions that never go back). Analysis is also
 * deterministic
 * and an early stop returns LORE_OK. */
#include "text/analyzer.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct check {
    size_t len, n, stop_after;
    uint32_t last_pos;
    unsigned last_flags;
    unsigned long long sum;
} check;

static int check_fn(void *ctx, const text_token *t) {
    check *c = ctx;
    if (t->term_len == 0 || t->term_len > TEXT_MAX_TERM) abort();
    if (strlen(t->term) != t->term_len) abort();
    if (t->start >= t->end || t->end > c->len) abort();
    if (c->n && t->pos < c->last_pos) abort();
    /* A part never comes first, and a whole identifier's parts follow it at
     * its position or later (stop-word parts leave gaps). */
    if ((t->flags & TEXT_TOKEN_PART) && c->n == 0) abort();
    if (t->flags == (TEXT_TOKEN_WHOLE | TEXT_TOKEN_PART)) abort();
    for (size_t i = 0; i < t->term_len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t r = utf8proc_iterate((const uint8_t *)t->term + i,
                                              (utf8proc_ssize_t)(t->term_len - i), &cp);
        if (r <= 0) abort();
        i += (size_t)r;
    }
    for (size_t i = 0; i < t->term_len; i++)
        c->sum = c->sum * 131 + (uint8_t)t->term[i];
    c->sum = c->sum * 131 + t->pos + t->start * 7 + t->end * 13 + t->flags;
    c->last_pos = t->pos;
    c->last_flags = t->flags;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static text_analyzer *a;
    if (!a && text_analyzer_new(&a) != LORE_OK) abort();
    check c1 = {.len = size}, c2 = {.len = size};
    if (text_analyze(a, (const char *)data, size, check_fn, &c1) != LORE_OK) abort();
    if (text_analyze(a, (const char *)data, size, check_fn, &c2) != LORE_OK) abort();
    if (c1.n != c2.n || c1.sum != c2.sum) abort();
    if (c1.n > 1) {
        check c3 = {.len = size, .stop_after = c1.n / 2};
        if (text_analyze(a, (const char *)data, size, check_fn, &c3) != LORE_OK) abort();
        if (c3.n != c1.n / 2) abort();
    }
    return 0;
}
