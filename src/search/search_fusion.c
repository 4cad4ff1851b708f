/* Hybrid ranking: reciprocal rank fusion (Cormack, Clarke and Buettcher,
 * SIGIR 2009). Each retriever ranks documents by its own score, which the
 * other's cannot be compared with (BM25 is unbounded, cosine lies in
 * [-1, 1]); fusion uses only the ranks: a document at rank r (1-based) of a
 * retriever with weight w gets w / (k + r), summed over the retrievers
 * that found it. A large k flattens the curve so agreement between the two
 * rankings counts more than a first place in one. */
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

/* Open addressing from group to index in the fused list. */
typedef struct group_map {
    int64_t *keys;
    size_t *vals;
    size_t cap;
} group_map;

static size_t slot(const group_map *m, int64_t g) {
    uint64_t h = (uint64_t)g * 0x9E3779B97F4A7C15u;
    size_t i = (size_t)(h >> 20) & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != g)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int fused_cmp(const void *a, const void *b) {
    const search_fused *x = a, *y = b;
    if (x->fused != y->fused) return x->fused > y->fused ? -1 : 1;
    size_t bx = x->lexical_rank && (!x->semantic_rank || x->lexical_rank <= x->semantic_rank)
                    ? x->lexical_rank
                    : x->semantic_rank;
    size_t by = y->lexical_rank && (!y->semantic_rank || y->lexical_rank <= y->semantic_rank)
                    ? y->lexical_rank
                    : y->semantic_rank;
    if (bx != by) return bx < by ? -1 : 1;
    int lx = x->lexical_rank == bx, ly = y->lexical_rank == by;
    if (lx != ly) return lx ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

/* Adds one ranking into f (n entries so far). */
static void add_list(group_map *m, search_fused *f, size_t *n, const search_cand *list,
                     size_t nlist, double k, double w, int semantic) {
    size_t rank = 0;
    for (size_t i = 0; i < nlist; i++) {
        size_t s = slot(m, list[i].group);
        search_fused *x;
        if (m->vals[s]) {
            x = &f[m->vals[s] - 1];
            if (semantic ? x->semantic_rank : x->lexical_rank) continue; /* listed twice */
        } else {
            m->keys[s] = list[i].group;
            m->vals[s] = ++*n;
            x = &f[*n - 1];
            memset(x, 0, sizeof *x);
            x->group = list[i].group;
            x->chunk_id = list[i].chunk_id;
        }
        rank++;
        if (semantic) {
            x->semantic_rank = rank;
            x->semantic_score = list[i].score;
        } else {
            x->lexical_rank = rank;
            x->lexical_score = list[i].score;
            x->chunk_id = list[i].chunk_id; /* the chunk with the query's words */
        }
        x->fused += w / (k + (double)rank);
    }
}

lore_status search_fuse(const search_fusion_params *p, const search_cand *lex, size_t nlex,
                        const search_cand *sem, size_t nsem, search_fused **out, size_t *nout) {
    *out = NULL;
    *nout = 0;
    size_t total = nlex + nsem, cap = 16;
    while (cap < total * 2)
        cap *= 2;
    group_map m = {calloc(cap, sizeof *m.keys), calloc(cap, sizeof *m.vals), cap};
    search_fused *f = malloc((total ? total : 1) * sizeof *f);
    if (!m.keys || !m.vals || !f) {
        free(m.keys);
        free(m.vals);
        free(f);
        return LORE_NOMEM;
    }
    size_t n = 0;
    add_list(&m, f, &n, lex, nlex, p->k, p->w_lexical, 0);
    add_list(&m, f, &n, sem, nsem, p->k, p->w_semantic, 1);
    free(m.keys);
    free(m.vals);
    qsort(f, n, sizeof *f, fused_cmp);
    *out = f;
    *nout = n;
    return LORE_OK;
}
