/* Helpers shared by the parser tests: reading sample files and checking a
 * block's kind, level and exact text. */
#ifndef LORE_TESTS_PARSE_UTIL_H
#define LORE_TESTS_PARSE_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse/parse.h"
#include "test.h"

/* Reads tests/parse/samples/<name>; exits on failure. Returns owned. */
static inline uint8_t *read_sample(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "tests/parse/samples/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            if (!buf) exit(2);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        if (!k) break;
        n += k;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Text of block i of d as a new string (static buffer, overwritten). */
static inline const char *block_text(const parse_doc *d, size_t i) {
    static char buf[8192];
    if (i >= d->nblocks) return "(no such block)";
    size_t n = d->blocks[i].len < sizeof buf - 1 ? d->blocks[i].len : sizeof buf - 1;
    memcpy(buf, d->text + d->blocks[i].off, n);
    buf[n] = '\0';
    return buf;
}

#define CHECK_BLOCK(d, i, kind_, level_, text_)                                                    \
    do {                                                                                           \
        CHECK((i) < (d)->nblocks);                                                                 \
        if ((i) < (d)->nblocks) {                                                                  \
            CHECK_INT((d)->blocks[i].kind, kind_);                                                 \
            CHECK_INT((d)->blocks[i].level, level_);                                               \
            CHECK_STR(block_text(d, i), text_);                                                    \
        }                                                                                          \
    } while (0)

/* Checks the invariants every parsed document keeps: text is blocks joined
 * by "\n\n", NUL-terminated, valid UTF-8 with no NUL inside. */
static inline void check_doc_invariants(const parse_doc *d) {
    CHECK(d->text != NULL);
    if (!d->text) return;
    CHECK_INT(strlen(d->text), d->text_len);
    size_t pos = 0;
    for (size_t i = 0; i < d->nblocks; i++) {
        CHECK_INT(d->blocks[i].off, pos);
        CHECK(d->blocks[i].len > 0);
        pos = d->blocks[i].off + d->blocks[i].len;
        if (i + 1 < d->nblocks) {
            CHECK(memcmp(d->text + pos, "\n\n", 2) == 0);
            pos += 2;
        }
    }
    CHECK_INT(pos, d->text_len);
}

#endif
