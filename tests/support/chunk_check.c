/* Invariant checker for chunk lists, used by the tests and the fuzz target.
 *
 * Deliberately written without the chunker's helpers (its own UTF-8 decoding
 * and its own idea of a letter), so a bug in the chunker's classification is
 * not silently shared by the check. The one rule it borrows is the forced-cut
 * exemption, which is part of the contract (CHUNK_PIECE_* in chunk_int.h). */
#include "support/chunk_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int ws(unsigned char c) {
    return c == ' ' || (c >= 9 && c <= 13);
}

/* Start of the character that contains byte i. */
static size_t char_start(const unsigned char *t, size_t i) {
    size_t k = 0;
    while (i > 0 && k < 3 && (t[i] & 0xc0) == 0x80)
        i--, k++;
    return i;
}

static unsigned long decode(const unsigned char *t, size_t len, size_t i) {
    unsigned char c = t[i];
    int n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    unsigned long v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (int k = 1; k < n && i + (size_t)k < len; k++)
        v = (v << 6) | (t[i + k] & 0x3f);
    return v;
}

/* A letter for the "not inside a word" rule: ASCII letters and digits, and
 * non-ASCII letters outside the scripts that are written without spaces
 * (Han, kana) and outside the punctuation and symbol blocks. */
static int letter(unsigned long cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7) return 0;
    if (cp >= 0x2000 && cp <= 0x2bff) return 0;
    if (cp >= 0x2e80 && cp <= 0x9fff) return 0;
    if (cp >= 0xf900 && cp <= 0xfaff) return 0;
    if (cp >= 0xfe30 && cp <= 0xffff) return 0; /* incl. U+FFFD */
    if (cp >= 0x1f000 && cp <= 0x1faff) return 0;
    if (cp >= 0x20000 && cp <= 0x3ffff) return 0;
    return 1;
}

/* Whether a cut at byte i (0 < i < len) splits a word; forced cuts in runs
 * longer than a piece are allowed. */
static int cuts_word(const unsigned char *t, size_t len, size_t i) {
    if (i == 0 || i >= len) return 0;
    if (!letter(decode(t, len, char_start(t, i - 1))) || !letter(decode(t, len, i))) return 0;
    size_t a = i, b = i;
    /* Scan no further than needed to see the run is a forced case. */
    while (a > 0 && !ws(t[a - 1]) && b - a <= CHUNK_PIECE_BYTES)
        a--;
    while (b < len && !ws(t[b]) && b - a <= CHUNK_PIECE_BYTES)
        b++;
    if (b - a > CHUNK_PIECE_BYTES) return 0;
    if (chunk_count_tokens((const char *)t + a, b - a) > CHUNK_PIECE_TOKENS) return 0;
    return 1;
}

int chunk_check(const parse_doc *doc, const chunk_options *opt, const chunk_list *l, int strict,
                char *err, size_t errlen) {
    chunk_options o;
    chunk_options_normalize(opt, &o);
    const unsigned char *t = (const unsigned char *)doc->text;
    size_t len = doc->text_len;
    if (!l) return fail(err, errlen, "no list");
    size_t covered = 0;
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        if (!(c->start < c->end && c->end <= len))
            return fail(err, errlen, "chunk %zu: bad range [%u, %u) of %zu", i, c->start, c->end,
                        len);
        if (!c->section) return fail(err, errlen, "chunk %zu: no section", i);
        if (strlen(c->section) > CHUNK_PATH_MAX)
            return fail(err, errlen, "chunk %zu: section path too long", i);
        if (i && c->start <= l->items[i - 1].start)
            return fail(err, errlen, "chunk %zu: start %u not after %u", i, c->start,
                        l->items[i - 1].start);
        uint32_t nt = chunk_count_tokens((const char *)t + c->start, c->end - c->start);
        if (nt != c->ntokens)
            return fail(err, errlen, "chunk %zu: ntokens %u, counted %u", i, c->ntokens, nt);
        if (nt > o.max_tokens)
            return fail(err, errlen, "chunk %zu: %u tokens > max %u", i, nt, o.max_tokens);
        for (size_t p = covered; p < c->start; p++)
            if (!ws(t[p])) return fail(err, errlen, "byte %zu not covered", p);
        if (c->end > covered) covered = c->end;
        if (i && c->start < l->items[i - 1].end) {
            const chunk *p = &l->items[i - 1];
            if (strcmp(p->section, c->section) != 0)
                return fail(err, errlen, "chunks %zu and %zu overlap across sections", i - 1, i);
            if (i >= 2 && c->start < l->items[i - 2].end)
                return fail(err, errlen, "chunk %zu overlaps chunk %zu", i, i - 2);
            uint32_t ot = chunk_count_tokens((const char *)t + c->start, p->end - c->start);
            if (ot > 2 * o.overlap_tokens + CHUNK_PIECE_TOKENS)
                return fail(err, errlen, "chunks %zu/%zu overlap by %u tokens", i - 1, i, ot);
            if (p->end >= c->end)
                return fail(err, errlen, "chunk %zu adds nothing after chunk %zu", i, i - 1);
        }
        if (strict) {
            if ((t[c->start] & 0xc0) == 0x80 || (c->end < len && (t[c->end] & 0xc0) == 0x80))
                return fail(err, errlen, "chunk %zu: [%u, %u) not on UTF-8 boundaries", i, c->start,
                            c->end);
            if (cuts_word(t, len, c->start) || cuts_word(t, len, c->end))
                return fail(err, errlen, "chunk %zu: [%u, %u) cuts a word", i, c->start, c->end);
        }
    }
    for (size_t p = covered; p < len; p++)
        if (!ws(t[p])) return fail(err, errlen, "byte %zu not covered", p);
    return 0;
}
