/* Phrase checks. The index keeps no positions (smaller lists, faster
 * scoring), so a candidate that holds every word of a phrase is verified by
 * analyzing its text again and looking for the words at the right relative
 * positions. Stop words keep their positions, so "state of the art" needs
 * exactly two positions between "state" and "art". */
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

typedef struct ptok {
    uint32_t id; /* UINT32_MAX: not a phrase word */
    uint32_t pos;
} ptok;

typedef struct ptoks {
    const strmap *strings;
    ptok *t;
    size_t n, cap;
    int failed;
} ptoks;

static int collect(void *ctx, const text_token *tok) {
    ptoks *p = ctx;
    if (tok->flags & TEXT_TOKEN_WHOLE) return 0;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 256;
        ptok *nt = realloc(p->t, ncap * sizeof *nt);
        if (!nt) {
            p->failed = 1;
            return 1;
        }
        p->t = nt;
        p->cap = ncap;
    }
    p->t[p->n++] = (ptok){strmap_find(p->strings, tok->term, tok->term_len), tok->pos};
    return 0;
}

/* Does the token stream contain phrase ph? Tokens are in position order
 * (several may share a position: the parts of an identifier). */
static int occurs(const ptoks *p, const phrase *ph) {
    uint32_t span = 0;
    for (size_t i = 0; i < ph->n; i++)
        if (ph->rel[i] > span) span = ph->rel[i];
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].id != ph->ids[0]) continue;
        uint32_t base = p->t[i].pos;
        size_t found = 1;
        for (size_t k = 1; k < ph->n; k++) {
            int ok = 0;
            for (size_t j = i + 1; j < p->n && p->t[j].pos <= base + span; j++)
                if (p->t[j].id == ph->ids[k] && p->t[j].pos == base + ph->rel[k]) {
                    ok = 1;
                    break;
                }
            if (!ok) break;
            found++;
        }
        if (found == ph->n) return 1;
    }
    return 0;
}

static int check(const ptoks *p, const compiled *c, int *pos_ok) {
    int neg_hit = 0;
    for (size_t i = 0; i < c->nphrases; i++) {
        if (c->phrases[i].negated)
            neg_hit |= occurs(p, &c->phrases[i]);
        else if (!pos_ok[i])
            pos_ok[i] = occurs(p, &c->phrases[i]);
    }
    return neg_hit;
}

int phrases_match(text_analyzer *an, store_tenant *t, const compiled *c, int64_t chunk_id,
                  const char *title) {
    int pos_ok[SEARCH_MAX_PHRASES] = {0};
    ptoks p = {.strings = &c->strings};
    int result = -1, neg = 0;
    store_chunk ch;
    if (title) {
        if (text_analyze(an, title, strlen(title), collect, &p) != LORE_OK || p.failed) goto out;
        neg |= check(&p, c, pos_ok);
        p.n = 0;
    }
    lore_status st = store_chunk_get(t, chunk_id, &ch);
    if (st == LORE_NOT_FOUND) {
        result = 0;
        goto out;
    }
    if (st != LORE_OK) goto out;
    st = text_analyze(an, ch.text, ch.text_len, collect, &p);
    store_chunk_clear(&ch);
    if (st != LORE_OK || p.failed) goto out;
    neg |= check(&p, c, pos_ok);
    result = !neg;
    for (size_t i = 0; i < c->nphrases; i++)
        if (!c->phrases[i].negated && !pos_ok[i]) result = 0;
out:
    free(p.t);
    return result;
}
