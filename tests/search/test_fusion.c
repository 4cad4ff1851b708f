/* Reciprocal rank fusion (search_fusion.c): the arithmetic of w / (k + rank)
 * summed over the retrievers, one entry per document, the lexical chunk
 * kept when both found a document, weights (0 turns a retriever off), and
 * the order of ties. */
#include <math.h>
#include <stdlib.h>

#include "search/search_int.h"
#include "test.h"

#define NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-12)

static const search_fused *find(const search_fused *f, size_t n, int64_t group) {
    for (size_t i = 0; i < n; i++)
        if (f[i].group == group) return &f[i];
    return NULL;
}

static void arithmetic(void) {
    /* lexical: docs 10, 20, 30; semantic: docs 30, 40, 10 */
    search_cand lex[] = {{101, 10, 9.5}, {201, 20, 7.0}, {301, 30, 3.0}};
    search_cand sem[] = {{302, 30, 0.91}, {401, 40, 0.80}, {102, 10, 0.42}};
    search_fusion_params p = {60, 1, 1};
    search_fused *f = NULL;
    size_t n = 0;
    CHECK_INT(search_fuse(&p, lex, 3, sem, 3, &f, &n), LORE_OK);
    CHECK_INT(n, 4);
    const search_fused *d10 = find(f, n, 10), *d20 = find(f, n, 20), *d30 = find(f, n, 30),
                       *d40 = find(f, n, 40);
    CHECK(d10 && d20 && d30 && d40);
    if (!d10 || !d20 || !d30 || !d40) return;
    NEAR(d10->fused, 1.0 / 61 + 1.0 / 63);
    NEAR(d30->fused, 1.0 / 63 + 1.0 / 61);
    NEAR(d20->fused, 1.0 / 62);
    NEAR(d40->fused, 1.0 / 62);
    CHECK_INT(d10->lexical_rank, 1);
    CHECK_INT(d10->semantic_rank, 3);
    CHECK_INT(d40->lexical_rank, 0);
    CHECK_INT(d40->semantic_rank, 2);
    NEAR(d10->lexical_score, 9.5);
    NEAR(d10->semantic_score, 0.42);
    /* both found doc 30: the lexical hit's chunk is shown */
    CHECK_INT(d30->chunk_id, 301);
    CHECK_INT(d40->chunk_id, 401);
    /* order: 10 and 30 tie on the fused score, best rank 1 each: lexical's
     * first place wins; then 20 (lexical rank 2) before 40 (semantic 2) */
    CHECK_INT(f[0].group, 10);
    CHECK_INT(f[1].group, 30);
    CHECK_INT(f[2].group, 20);
    CHECK_INT(f[3].group, 40);
    free(f);

    /* weights and k */
    p = (search_fusion_params){10, 2, 0.5};
    CHECK_INT(search_fuse(&p, lex, 3, sem, 3, &f, &n), LORE_OK);
    d30 = find(f, n, 30);
    CHECK(d30 != NULL);
    if (d30) NEAR(d30->fused, 2.0 / 13 + 0.5 / 11);
    CHECK_INT(f[0].group, 10); /* 2/11 + 0.5/13 */
    free(f);

    /* weight 0: the semantic ranking only fills in after every lexical hit */
    p = (search_fusion_params){60, 1, 0};
    CHECK_INT(search_fuse(&p, lex, 3, sem, 3, &f, &n), LORE_OK);
    CHECK_INT(n, 4);
    CHECK_INT(f[0].group, 10);
    CHECK_INT(f[1].group, 20);
    CHECK_INT(f[2].group, 30);
    CHECK_INT(f[3].group, 40);
    free(f);
}

/* One retriever alone keeps its order; a document listed twice in one
 * ranking keeps its first place and the ranks after it close up. */
static void single_and_duplicates(void) {
    search_cand sem[] = {{1, 5, 0.9}, {2, 5, 0.8}, {3, 6, 0.7}};
    search_fusion_params p = {60, 1, 1};
    search_fused *f = NULL;
    size_t n = 0;
    CHECK_INT(search_fuse(&p, NULL, 0, sem, 3, &f, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(f[0].group, 5);
        CHECK_INT(f[0].chunk_id, 1);
        CHECK_INT(f[1].group, 6);
        CHECK_INT(f[1].semantic_rank, 2);
        NEAR(f[1].fused, 1.0 / 62);
    }
    free(f);
    CHECK_INT(search_fuse(&p, NULL, 0, NULL, 0, &f, &n), LORE_OK);
    CHECK_INT(n, 0);
    free(f);
}

/* Many documents: every one appears once, and the order is by fused score. */
static void many(void) {
    enum { N = 5000 };
    search_cand *lex = malloc(N * sizeof *lex), *sem = malloc(N * sizeof *sem);
    for (int i = 0; i < N; i++) {
        lex[i] = (search_cand){i, i, N - i};
        sem[i] = (search_cand){N + i, (i * 7919) % (2 * N), 1.0 - i / (double)N};
    }
    search_fusion_params p = {60, 1, 1};
    search_fused *f = NULL;
    size_t n = 0;
    CHECK_INT(search_fuse(&p, lex, N, sem, N, &f, &n), LORE_OK);
    int sorted = 1;
    for (size_t i = 1; i < n; i++)
        sorted &= f[i - 1].fused >= f[i].fused;
    CHECK(sorted);
    size_t both = 0;
    for (size_t i = 0; i < n; i++)
        both += f[i].lexical_rank && f[i].semantic_rank;
    CHECK_INT(n + both, 2 * N);
    free(f);
    free(lex);
    free(sem);
}

int main(void) {
    arithmetic();
    single_and_duplicates();
    many();
    return test_summary();
}
