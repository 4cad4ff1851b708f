/* Snippets: the passage of a chunk that best shows why it matched.
 *
 * The chunk is analyzed again and every token whose term is a positive
 * query term is a match. The snippet is the window of at most SNIPPET_BYTES
 * that holds the most distinct query terms (ties: more matches, then the
 * earlier window), widened a little to start at a word boundary, with
 * newlines and tabs turned into spaces so it prints on one line. Marks are
 * the matched words' byte ranges within the snippet, merged when they
 * overlap (an identifier and its parts). */
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

#define SNIPPET_BYTES 240
#define SNIPPET_LEAD 40 /* context kept before the first match */

typedef struct match {
    uint32_t start, end;
    uint32_t term;
} match;

typedef struct matches {
    const compiled *c;
    match *m;
    size_t n, cap;
    int failed;
} matches;

static int positive_term(const compiled *c, uint32_t id) {
    return c->positive && id < c->strings.count && c->positive[id];
}

static int on_token(void *ctx, const text_token *tok) {
    matches *ms = ctx;
    uint32_t id = strmap_find(&ms->c->strings, tok->term, tok->term_len);
    if (id == UINT32_MAX || !positive_term(ms->c, id)) return 0;
    if (ms->n == ms->cap) {
        size_t ncap = ms->cap ? ms->cap * 2 : 32;
        match *nm = realloc(ms->m, ncap * sizeof *nm);
        if (!nm) {
            ms->failed = 1;
            return 1;
        }
        ms->m = nm;
        ms->cap = ncap;
    }
    ms->m[ms->n++] = (match){tok->start, tok->end, id};
    return 0;
}

static int is_cont(unsigned char c) {
    return (c & 0xc0) == 0x80;
}

static int is_space(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Distinct terms among m[i..j]. Query terms are few, so a small scan. */
static size_t distinct(const match *m, size_t i, size_t j) {
    size_t d = 0;
    for (size_t a = i; a <= j; a++) {
        int seen = 0;
        for (size_t b = i; b < a && !seen; b++)
            seen = m[b].term == m[a].term;
        d += !seen;
    }
    return d;
}

lore_status snippet_build(text_analyzer *an, const compiled *c, const char *text, size_t len,
                          char **snippet, search_span **marks, size_t *nmarks) {
    *snippet = NULL;
    *marks = NULL;
    *nmarks = 0;
    matches ms = {.c = c};
    lore_status st = text_analyze(an, text, len, on_token, &ms);
    if (st == LORE_OK && ms.failed) st = LORE_NOMEM;
    if (st != LORE_OK) goto out;
    size_t ws = 0, we = len < SNIPPET_BYTES ? len : SNIPPET_BYTES; /* window [ws, we) */
    if (ms.n) {
        size_t best_i = 0, best_d = 0, best_n = 0;
        for (size_t i = 0; i < ms.n; i++) {
            size_t j = i;
            while (j + 1 < ms.n && ms.m[j + 1].end - ms.m[i].start <= SNIPPET_BYTES)
                j++;
            size_t d = distinct(ms.m, i, j), n = j - i + 1;
            if (d > best_d || (d == best_d && n > best_n)) best_i = i, best_d = d, best_n = n;
            if (best_d == c->nterms) break; /* cannot do better */
        }
        ws = ms.m[best_i].start;
        ws = ws > SNIPPET_LEAD ? ws - SNIPPET_LEAD : 0;
        if (len - ws < SNIPPET_BYTES) ws = len > SNIPPET_BYTES ? len - SNIPPET_BYTES : 0;
        we = ws + SNIPPET_BYTES < len ? ws + SNIPPET_BYTES : len;
    }
    /* Snap to UTF-8 boundaries, then to word boundaries when cut mid-word. */
    while (ws > 0 && ws < len && is_cont((unsigned char)text[ws]))
        ws--;
    while (we < len && we > ws && is_cont((unsigned char)text[we]))
        we--;
    if (ws > 0 && !is_space(text[ws - 1])) {
        size_t k = ws;
        while (k < we && !is_space(text[k]))
            k++;
        if (k < we) ws = k + 1;
    }
    if (we < len && !is_space(text[we])) {
        size_t k = we;
        while (k > ws && !is_space(text[k - 1]))
            k--;
        if (k > ws) we = k;
    }
    while (ws < we && is_space(text[ws]))
        ws++;
    while (we > ws && is_space(text[we - 1]))
        we--;
    size_t pre = ws > 0 ? 3 : 0, post = we < len ? 3 : 0; /* "…" is 3 bytes */
    char *s = malloc(pre + (we - ws) + post + 1);
    search_span *mk = malloc((ms.n ? ms.n : 1) * sizeof *mk);
    if (!s || !mk) {
        free(s);
        free(mk);
        st = LORE_NOMEM;
        goto out;
    }
    char *o = s;
    if (pre) memcpy(o, "\xe2\x80\xa6", 3), o += 3;
    for (size_t i = ws; i < we; i++)
        *o++ = is_space(text[i]) ? ' ' : text[i];
    if (post) memcpy(o, "\xe2\x80\xa6", 3), o += 3;
    *o = '\0';
    size_t n = 0;
    for (size_t i = 0; i < ms.n; i++) {
        if (ms.m[i].start < ws || ms.m[i].end > we) continue;
        uint32_t a = (uint32_t)(ms.m[i].start - ws + pre), b = (uint32_t)(ms.m[i].end - ws + pre);
        if (n && a <= mk[n - 1].end) {
            if (b > mk[n - 1].end) mk[n - 1].end = b;
            continue;
        }
        mk[n++] = (search_span){a, b};
    }
    *snippet = s;
    *marks = mk;
    *nmarks = n;
out:
    free(ms.m);
    return st;
}
