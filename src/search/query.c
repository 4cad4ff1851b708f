/* Query parser; the syntax is documented in query.h and docs/search.md.
 * A single left-to-right pass over the bytes: no recursion, no backtracking. */
#include "search/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static lore_status add_clause(query_ast *a, query_kind kind, int negated, const char *s, size_t n,
                              char *err, size_t errlen) {
    if (!n) return LORE_OK;
    if (a->n == QUERY_MAX_CLAUSES) {
        snprintf(err, errlen, "query has more than %d clauses", QUERY_MAX_CLAUSES);
        return LORE_TOO_LARGE;
    }
    /* Merge consecutive plain words into one clause: they are analyzed
     * together, which keeps identifier handling the same as in documents. */
    if (kind == QUERY_WORDS && !negated && a->n && a->clauses[a->n - 1].kind == QUERY_WORDS &&
        !a->clauses[a->n - 1].negated) {
        query_clause *c = &a->clauses[a->n - 1];
        size_t old = strlen(c->text);
        char *t = realloc(c->text, old + n + 2);
        if (!t) return LORE_NOMEM;
        t[old] = ' ';
        memcpy(t + old + 1, s, n);
        t[old + n + 1] = '\0';
        c->text = t;
        return LORE_OK;
    }
    if ((a->n & (a->n - 1)) == 0) {
        query_clause *nc = realloc(a->clauses, (a->n ? a->n * 2 : 1) * sizeof *nc);
        if (!nc) return LORE_NOMEM;
        a->clauses = nc;
    }
    char *t = strndup(s, n);
    if (!t) return LORE_NOMEM;
    a->clauses[a->n++] = (query_clause){kind, negated, t};
    return LORE_OK;
}

static int field_prefix(const char *p, const char *end, const char *name, size_t *skip) {
    size_t n = strlen(name);
    if ((size_t)(end - p) > n && !strncmp(p, name, n) && p[n] == ':') {
        *skip = n + 1;
        return 1;
    }
    return 0;
}

lore_status query_parse(const char *q, size_t len, query_ast *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (len > QUERY_MAX_BYTES) {
        snprintf(err, errlen, "query is %zu bytes; the limit is %d", len, QUERY_MAX_BYTES);
        return LORE_TOO_LARGE;
    }
    const char *p = q, *end = q + len;
    lore_status st = LORE_OK;
    while (p < end && st == LORE_OK) {
        while (p < end && is_space(*p))
            p++;
        if (p >= end) break;
        int negated = 0;
        if (*p == '-' && p + 1 < end && !is_space(p[1]) && p[1] != '-') {
            negated = 1;
            p++;
        }
        query_kind kind = QUERY_WORDS;
        size_t skip = 0;
        if (field_prefix(p, end, "title", &skip))
            kind = QUERY_TITLE;
        else if (field_prefix(p, end, "source", &skip))
            kind = QUERY_SOURCE;
        else if (field_prefix(p, end, "author", &skip))
            kind = QUERY_AUTHOR;
        p += skip;
        const char *s, *e;
        if (p < end && *p == '"') {
            s = ++p;
            while (p < end && *p != '"')
                p++;
            e = p;
            if (p < end) p++; /* closing quote */
            if (kind == QUERY_WORDS) kind = QUERY_PHRASE;
        } else {
            s = p;
            while (p < end && !is_space(*p))
                p++;
            e = p;
            if (skip && s == e) {
                /* "title:" with nothing after it: keep it as plain text. */
                kind = QUERY_WORDS;
                s -= skip;
            }
        }
        st = add_clause(out, kind, negated, s, (size_t)(e - s), err, errlen);
        if (st == LORE_NOMEM) snprintf(err, errlen, "out of memory");
    }
    if (st != LORE_OK) query_ast_free(out);
    return st;
}

void query_ast_free(query_ast *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->clauses[i].text);
    free(a->clauses);
    memset(a, 0, sizeof *a);
}

size_t query_utf8_check(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            if (c == 0xE0) lo = 0xA0; /* overlong */
            if (c == 0xED) hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            if (c == 0xF0) lo = 0x90; /* overlong */
            if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
        } else {
            return i;
        }
        if (len - i < n || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80) return i;
        i += n;
    }
    return len;
}
