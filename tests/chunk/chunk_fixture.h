/* Helpers shared by the chunker tests: building documents by hand with the
 * parse builder, deterministic filler text, and a dump for failures. */
#ifndef LORE_TESTS_CHUNK_FIXTURE_H
#define LORE_TESTS_CHUNK_FIXTURE_H

#include "chunk/chunk.h"
#include "chunk/chunk_int.h"
#include "support/chunk_check.h"
#include "parse/parse_int.h"
#include "test.h"

#include <stdint.h>

static inline void fx_add(parse_builder *b, parse_block_kind kind, int level, const char *s,
                          size_t len) {
    lore_status st = pb_add_block(b, kind, (uint8_t)level, s, len);
    if (st != LORE_OK) {
        fprintf(stderr, "pb_add_block: %s\n", lore_status_name(st));
        exit(2);
    }
}

static inline void fx_adds(parse_builder *b, parse_block_kind kind, int level, const char *s) {
    fx_add(b, kind, level, s, strlen(s));
}

static inline void fx_finish(parse_builder *b, parse_doc *d) {
    memset(d, 0, sizeof *d);
    if (pb_finish(b, d) != LORE_OK) exit(2);
    pb_free(b);
}

static inline uint64_t fx_rand(uint64_t *s) {
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *const fx_words[] = {
    "leave",  "policy", "team",     "manager", "days",   "paid",    "request", "approval",
    "the",    "of",     "and",      "parents", "weeks",  "holiday", "sick",    "benefit",
    "salary", "office", "contract", "notice",  "period", "review",  "annual",  "form"};

/* Appends n sentences of 12 words (13 tokens each: 12 short words and a
 * full stop) to buf, which must have room for n * 120 bytes. */
static inline void fx_sentences(char *buf, size_t n, uint64_t *rng) {
    size_t nw = sizeof fx_words / sizeof fx_words[0];
    char *p = buf + strlen(buf);
    for (size_t i = 0; i < n; i++) {
        for (int w = 0; w < 12; w++) {
            const char *word = fx_words[fx_rand(rng) % nw];
            if (p != buf) *p++ = ' ';
            size_t len = strlen(word);
            memcpy(p, word, len);
            p += len;
        }
        *p++ = '.';
    }
    *p = '\0';
}

static inline void fx_dump(const parse_doc *d, const chunk_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        fprintf(stderr, "  [%zu] %u-%u tok=%u \"%s\" | %.30s ... %.30s\n", i, c->start, c->end,
                c->ntokens, c->section, d->text + c->start,
                d->text + (c->end > c->start + 30 ? c->end - 30 : c->start));
    }
}

/* Chunks d, checks every invariant and returns the list (never NULL). */
static inline chunk_list *fx_chunk(const parse_doc *d, const chunk_options *o, int strict) {
    chunk_list *l = NULL;
    lore_status st = chunk_document(d, o, &l);
    CHECK_INT(st, LORE_OK);
    if (st != LORE_OK || !l) {
        fprintf(stderr, "chunk_document failed: %s\n", lore_status_name(st));
        exit(1);
    }
    char err[256];
    int rc = chunk_check(d, o, l, strict, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "invariant: %s\n", err);
        fx_dump(d, l);
    }
    return l;
}

#endif
