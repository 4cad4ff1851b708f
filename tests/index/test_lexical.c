/* The lexical index against an exhaustive BM25 computed here from the same
 * analyzer: on a random Zipfian corpus written in many small batches (so
 * many segments and merges), every query's top k from the pruned search must
 * equal the brute-force top k. Then deletes and updates: removed chunks never
 * come back, others stay findable, statistics stay exact.
 * Seed: LORE_TEST_SEED, printed. */
#include <math.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/lexical/index_lexical.h"
#include "store/store.h"
#include "test.h"
#include "text/analyzer.h"
#include "util/strmap.h"

#define NDOCS 3000
#define VOCAB 400
#define K 10

#include "zipf_vocab.h"

typedef struct doc {
    int64_t chunk;
    char title[128];
    char text[2048];
    int live;
} doc;
static doc docs[NDOCS];

/* ---- brute force ----
 * Each document's analyzed term counts are computed once (count_doc) into
 * per-document arrays indexed by the analyzed term's id in `vocab`. */
static strmap vocab;
typedef struct doc_counts {
    uint16_t body[VOCAB * 2], title[VOCAB * 2];
    uint32_t body_len, title_len;
} doc_counts;
static doc_counts counts_of[NDOCS];

typedef struct counter {
    uint16_t *tf;
    uint32_t len;
} counter;

static int count_cb(void *ctx, const text_token *t) {
    counter *c = ctx;
    uint32_t id;
    int added;
    if (strmap_intern(&vocab, t->term, t->term_len, &id, &added) != LORE_OK || id >= VOCAB * 2)
        abort();
    c->tf[id]++;
    c->len++;
    return 0;
}

static void count_doc(text_analyzer *an, int i) {
    doc_counts *dc = &counts_of[i];
    memset(dc, 0, sizeof *dc);
    counter ct = {dc->title, 0}, cb = {dc->body, 0};
    if (text_analyze(an, docs[i].title, strlen(docs[i].title), count_cb, &ct) != LORE_OK ||
        text_analyze(an, docs[i].text, strlen(docs[i].text), count_cb, &cb) != LORE_OK)
        abort();
    dc->title_len = ct.len;
    dc->body_len = cb.len;
}

/* Weighted tf of term in doc i and its length, like the index defines them. */
static void doc_tf(int i, const char *term, uint32_t w, uint32_t *tf, uint32_t *len) {
    const doc_counts *dc = &counts_of[i];
    uint32_t id = strmap_find(&vocab, term, strlen(term));
    *tf = id == UINT32_MAX ? 0 : dc->body[id] + w * dc->title[id];
    *len = dc->body_len + w * dc->title_len;
}

typedef struct scored {
    int64_t chunk;
    double score;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

static size_t brute(const lex_params *p, char q[][64], size_t nq, scored *out) {
    double N = 0, total = 0;
    uint32_t *tf = calloc((size_t)NDOCS * nq, sizeof *tf), *len = calloc(NDOCS, sizeof *len);
    for (int i = 0; i < NDOCS; i++) {
        if (!docs[i].live) continue;
        for (size_t k = 0; k < nq; k++)
            doc_tf(i, q[k], p->title_weight, &tf[(size_t)i * nq + k], &len[i]);
        N++;
        total += len[i];
    }
    double avg = total / N;
    double idf[4];
    for (size_t k = 0; k < nq; k++) {
        double df = 0;
        for (int j = 0; j < NDOCS; j++)
            df += docs[j].live && tf[(size_t)j * nq + k] > 0;
        idf[k] = log(1.0 + (N - df + 0.5) / (df + 0.5));
    }
    size_t n = 0;
    for (int i = 0; i < NDOCS; i++) {
        if (!docs[i].live) continue;
        double s = 0;
        int any = 0;
        for (size_t k = 0; k < nq; k++) {
            double t = tf[(size_t)i * nq + k];
            if (t > 0) {
                any = 1;
                s += idf[k] * t * (p->k1 + 1) / (t + p->k1 * (1 - p->b + p->b * len[i] / avg));
            }
        }
        if (any) out[n++] = (scored){docs[i].chunk, s};
    }
    qsort(out, n, sizeof *out, cmp_scored);
    free(tf);
    free(len);
    return n;
}

/* The analyzed form of a vocabulary word (stemming may change it). */
static int first_term(void *ctx, const text_token *t) {
    snprintf(ctx, 64, "%.*s", (int)t->term_len, t->term);
    return 1;
}

static void analyzed(text_analyzer *an, const char *w, char *out) {
    out[0] = '\0';
    if (text_analyze(an, w, strlen(w), first_term, out) != LORE_OK || !out[0]) abort();
}

static void check_queries(text_analyzer *an, const index_lexical_ops *ops, void *ix,
                          const lex_params *p, int nqueries, const char *label) {
    int mismatches = 0;
    scored *expect = malloc(NDOCS * sizeof *expect);
    for (int qi = 0; qi < nqueries; qi++) {
        size_t nq = 1 + test_rand() % 4;
        char q[4][64];
        lex_qterm qt[4];
        for (size_t k = 0; k < nq; k++) {
            analyzed(an, zipf_word(), q[k]);
            for (size_t j = 0; j < k; j++)
                if (!strcmp(q[j], q[k])) snprintf(q[k], 64, "%s", q[0]), nq = k;
        }
        if (!nq) nq = 1;
        for (size_t k = 0; k < nq; k++)
            qt[k] = (lex_qterm){q[k], strlen(q[k]), LEX_FIELD_ALL, LEX_SHOULD, 1.0f};
        lex_query lq = {qt, nq, K, NULL, NULL, 0};
        lex_result r;
        CHECK_INT(ops->search(ix, &lq, &r), LORE_OK);
        size_t ne = brute(p, q, nq, expect);
        size_t want = ne < K ? ne : K;
        int ok = r.n == want;
        for (size_t i = 0; ok && i < want; i++) {
            /* float parameters promote differently in the two sums */
            if (fabs(r.hits[i].score - expect[i].score) > 1e-6 * (1 + expect[i].score)) ok = 0;
            /* Equal scores may tie-break differently after rounding. */
            if (r.hits[i].chunk_id != expect[i].chunk &&
                fabs(expect[i].score - (i + 1 < ne ? expect[i + 1].score : -1)) > 1e-6 &&
                (i == 0 || fabs(expect[i].score - expect[i - 1].score) > 1e-6))
                ok = 0;
        }
        if (!ok && mismatches++ < 3) {
            fprintf(stderr, "%s: query %d (%zu terms, first '%s'): got %zu hits, want %zu\n", label,
                    qi, nq, q[0], r.n, want);
            for (size_t i = 0; i < want || i < r.n; i++)
                fprintf(
                    stderr, "  %zu: got %lld %.9f  want %lld %.9f\n", i,
                    i < r.n ? (long long)r.hits[i].chunk_id : -1LL, i < r.n ? r.hits[i].score : 0.0,
                    i < want ? (long long)expect[i].chunk : -1LL, i < want ? expect[i].score : 0.0);
        }
        lex_result_free(&r);
    }
    CHECK_INT(mismatches, 0);
    free(expect);
}

/* A query of many common terms with max_should: the same hits, scores and
 * dropped terms as a query of the terms selected here by hand (the most
 * selective, by df), and the lists of dropped terms are never held: at
 * most the kept terms' lists plus one value being read. */
#define NMANY (VOCAB + 8)
typedef struct many_term {
    char term[64];
    lex_qterm qt;
    uint64_t df, bytes; /* from a search of the term alone */
    size_t index;
} many_term;

static int cmp_ref(const void *a, const void *b) {
    const many_term *x = *(many_term *const *)a, *y = *(many_term *const *)b;
    if (x->df != y->df) return x->df < y->df ? -1 : 1; /* lower df: higher idf */
    if (x->qt.weight != y->qt.weight) return x->qt.weight > y->qt.weight ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void check_many_terms(text_analyzer *an, const index_lexical_ops *ops, void *ix,
                             size_t max_should, const char *label) {
    static many_term mt[NMANY];
    static lex_qterm full[NMANY], hand[NMANY];
    static many_term *order[NMANY];
    size_t n = 0, nshould = 0;
    for (int i = 0; i < VOCAB; i++, n++) {
        analyzed(an, words[i], mt[n].term);
        float w = test_rand() % 4 ? 1.0f : 2.0f;
        mt[n].qt = (lex_qterm){mt[n].term, strlen(mt[n].term), LEX_FIELD_ALL, LEX_SHOULD, w};
        if (i == 7) mt[n].qt.role = LEX_MUST_NOT; /* common, and always kept */
        if (i == 150) {                           /* the same term twice: ties by position */
            n++;
            mt[n] = mt[n - 1];
            mt[n].qt.term = mt[n].term;
        }
    }
    for (int i = 0; i < 4; i++, n++) { /* absent terms are never dropped */
        snprintf(mt[n].term, sizeof mt[n].term, "zzmanyabsent%d", i);
        mt[n].qt = (lex_qterm){mt[n].term, strlen(mt[n].term), LEX_FIELD_ALL, LEX_SHOULD, 1.0f};
    }
    uint64_t sum_bytes = 0, max_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        mt[i].index = i;
        full[i] = mt[i].qt;
        lex_qterm one = mt[i].qt;
        one.role = LEX_SHOULD;
        lex_query lq = {&one, 1, 1, NULL, NULL, 0};
        lex_result r;
        CHECK_INT(ops->search(ix, &lq, &r), LORE_OK);
        mt[i].df = r.postings_total;
        mt[i].bytes = r.postings_bytes_loaded;
        CHECK(r.postings_bytes_peak == r.postings_bytes_loaded);
        sum_bytes += mt[i].bytes;
        if (mt[i].bytes > max_bytes) max_bytes = mt[i].bytes;
        if (mt[i].qt.role == LEX_SHOULD && mt[i].df > 0) order[nshould++] = &mt[i];
        lex_result_free(&r);
    }
    CHECK(nshould > max_should);
    qsort(order, nshould, sizeof *order, cmp_ref);
    /* The hand-picked query: the kept terms and the excluded one, in the
     * full query's order (so evaluation sums in the same order). */
    static int kept[NMANY];
    memset(kept, 0, sizeof kept);
    for (size_t i = 0; i < max_should; i++)
        kept[order[i]->index] = 1;
    size_t nhand = 0;
    for (size_t i = 0; i < n; i++)
        if (kept[i] || mt[i].qt.role != LEX_SHOULD) hand[nhand++] = mt[i].qt;

    lex_query lf = {full, n, 20, NULL, NULL, max_should};
    lex_query lh = {hand, nhand, 20, NULL, NULL, 0};
    lex_result rf, rh;
    CHECK_INT(ops->search(ix, &lf, &rf), LORE_OK);
    CHECK_INT(ops->search(ix, &lh, &rh), LORE_OK);
    int same = rf.n == rh.n && rf.n > 0 && rf.postings_total == rh.postings_total;
    for (size_t i = 0; same && i < rf.n; i++)
        same = rf.hits[i].chunk_id == rh.hits[i].chunk_id && rf.hits[i].score == rh.hits[i].score;
    CHECK(same);
    CHECK_INT(rf.ndropped, nshould - max_should);
    int order_ok = rf.ndropped == nshould - max_should;
    for (size_t i = 0; order_ok && i < rf.ndropped; i++) /* least selective first */
        order_ok = rf.dropped[i] == order[nshould - 1 - i]->index;
    CHECK(order_ok);
    /* Every list is read once for its df and the kept SHOULD lists (the
     * hand query's but the excluded one, index 7) once more; what is held
     * at once is bounded by the kept lists (all of the hand query's) and
     * one more value, far below every list (all of which were held at once
     * before the dropped ones were read for their df only). */
    CHECK(rf.postings_bytes_loaded == sum_bytes + rh.postings_bytes_loaded - mt[7].bytes);
    CHECK(rh.postings_bytes_peak == rh.postings_bytes_loaded);
    CHECK(rf.postings_bytes_peak <= rh.postings_bytes_loaded + max_bytes);
    CHECK(rh.postings_bytes_loaded + max_bytes < sum_bytes / 2);
    printf("%s: %zu terms, %zu kept: %llu bytes of lists read, at most %llu held (kept: %llu)\n",
           label, n, max_should, (unsigned long long)rf.postings_bytes_loaded,
           (unsigned long long)rf.postings_bytes_peak,
           (unsigned long long)rh.postings_bytes_loaded);
    lex_result_free(&rf);
    lex_result_free(&rh);
}

int main(void) {
    test_seed();
    make_vocab();
    strmap_init(&vocab);
    const char *dir = test_tmpdir();
    store *s = NULL;
    store_tenant *t = NULL;
    char err[256];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t1"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t1", &t), LORE_OK);
    const index_lexical_ops *ops = &index_lexical_bm25;
    CHECK_INT(ops->version, INDEX_LEXICAL_VERSION);
    lex_params p;
    lex_params_default(&p);
    p.flush_postings = 5000; /* many segments even within one batch */
    void *ix = NULL;
    CHECK_INT(ops->open(t, &p, &ix), LORE_OK);
    text_analyzer *an = NULL;
    CHECK_INT(text_analyzer_new(&an), LORE_OK);

    /* Write the corpus in batches of random size. */
    int64_t next = 1;
    for (int i = 0; i < NDOCS;) {
        int batch = 1 + (int)(test_rand() % 300);
        CHECK_INT(store_begin(t), LORE_OK);
        CHECK_INT(ops->begin(ix), LORE_OK);
        for (int j = 0; j < batch && i < NDOCS; j++, i++) {
            doc *d = &docs[i];
            d->chunk = next;
            next += 1 + (int64_t)(test_rand() % 3); /* ids ascend with gaps */
            int tl = 1 + (int)(test_rand() % 5), bl = 5 + (int)(test_rand() % 120);
            char *o = d->title;
            for (int w = 0; w < tl; w++)
                o += sprintf(o, "%s ", zipf_word());
            o = d->text;
            for (int w = 0; w < bl; w++)
                o += sprintf(o, "%s ", zipf_word());
            d->live = 1;
            uint32_t nterms;
            CHECK_INT(ops->add(ix, d->chunk, d->title, strlen(d->title), d->text, strlen(d->text),
                               &nterms),
                      LORE_OK);
            CHECK_INT(nterms, (uint32_t)(bl + (int)p.title_weight * tl));
            count_doc(an, i);
        }
        CHECK_INT(ops->flush(ix), LORE_OK);
        CHECK_INT(store_commit(t), LORE_OK);
    }
    lex_stats st;
    CHECK_INT(ops->stats(ix, &st), LORE_OK);
    CHECK_INT(st.chunks, NDOCS);
    CHECK(st.segments >= 1 && st.segments <= 16);
    printf("after %d docs: %u segments\n", NDOCS, st.segments);

    /* ids must ascend: an old id is refused */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
    uint32_t dummy;
    CHECK_INT(ops->add(ix, 1, "x", 1, "y", 1, &dummy), LORE_INVALID);
    ops->abort(ix);
    store_rollback(t);

    check_queries(an, ops, ix, &p, 150, "fresh");
    check_many_terms(an, ops, ix, 24, "many terms, fresh");

    /* Delete a third of the chunks (tombstones, then merges purge them). */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
    int deleted = 0;
    for (int i = 0; i < NDOCS; i++) {
        if (test_rand() % 3) continue;
        uint32_t tf, len;
        doc_tf(i, "", p.title_weight, &tf, &len);
        CHECK_INT(ops->remove(ix, docs[i].chunk, len), LORE_OK);
        docs[i].live = 0;
        deleted++;
    }
    CHECK_INT(ops->flush(ix), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    CHECK_INT(ops->stats(ix, &st), LORE_OK);
    CHECK_INT(st.chunks, NDOCS - deleted);

    /* No deleted chunk may come back, whatever the query. */
    int leaked = 0;
    for (int qi = 0; qi < 200; qi++) {
        char q[64];
        analyzed(an, zipf_word(), q);
        lex_qterm qt = {q, strlen(q), LEX_FIELD_ALL, LEX_SHOULD, 1.0f};
        lex_query lq = {&qt, 1, 50, NULL, NULL, 0};
        lex_result r;
        CHECK_INT(ops->search(ix, &lq, &r), LORE_OK);
        for (size_t i = 0; i < r.n; i++)
            for (int j = 0; j < NDOCS; j++)
                if (docs[j].chunk == r.hits[i].chunk_id && !docs[j].live) leaked++;
        lex_result_free(&r);
    }
    CHECK_INT(leaked, 0);

    /* optimize purges the tombstones; then the exact comparison holds again
     * (df no longer counts deleted chunks). */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
    CHECK_INT(ops->optimize(ix), LORE_OK);
    CHECK_INT(ops->flush(ix), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    CHECK_INT(ops->stats(ix, &st), LORE_OK);
    CHECK_INT(st.segments, 1);
    printf("after deletes: %u segments, %lld deleted pending\n", st.segments,
           (long long)st.deleted);
    CHECK_INT(st.deleted, 0);
    check_queries(an, ops, ix, &p, 100, "after deletes");

    /* Required terms and exclusions. */
    char a[64], b[64];
    analyzed(an, words[0], a);
    analyzed(an, words[1], b);
    lex_qterm qt2[2] = {{a, strlen(a), LEX_FIELD_ALL, LEX_MUST, 1.0f},
                        {b, strlen(b), LEX_FIELD_ALL, LEX_MUST_NOT, 1.0f}};
    lex_query lq2 = {qt2, 2, 1000, NULL, NULL, 0};
    lex_result r2;
    CHECK_INT(ops->search(ix, &lq2, &r2), LORE_OK);
    size_t expect_n = 0;
    for (int i = 0; i < NDOCS; i++) {
        if (!docs[i].live) continue;
        uint32_t ta, tb, len;
        doc_tf(i, a, p.title_weight, &ta, &len);
        doc_tf(i, b, p.title_weight, &tb, &len);
        expect_n += ta > 0 && tb == 0;
    }
    CHECK_INT(r2.n, expect_n < 1000 ? expect_n : 1000);
    for (size_t i = 0; i < r2.n; i++) {
        for (int j = 0; j < NDOCS; j++) {
            if (docs[j].chunk != r2.hits[i].chunk_id) continue;
            uint32_t ta, tb, len;
            doc_tf(j, a, p.title_weight, &ta, &len);
            doc_tf(j, b, p.title_weight, &tb, &len);
            CHECK(ta > 0 && tb == 0);
        }
    }
    lex_result_free(&r2);

    /* Title field: FILTER on the title list. */
    lex_qterm qt3[2] = {{a, strlen(a), LEX_FIELD_TITLE, LEX_FILTER, 1.0f},
                        {a, strlen(a), LEX_FIELD_ALL, LEX_SHOULD, 1.0f}};
    lex_query lq3 = {qt3, 2, 1000, NULL, NULL, 0};
    CHECK_INT(ops->search(ix, &lq3, &r2), LORE_OK);
    size_t in_title = 0;
    for (int i = 0; i < NDOCS; i++) {
        if (!docs[i].live) continue;
        uint32_t tf, len;
        doc_tf(i, a, 1, &tf, &len);
        uint32_t tf0, len0;
        doc_tf(i, a, 0, &tf0, &len0);
        in_title += tf > tf0;
    }
    CHECK_INT(r2.n, in_title < 1000 ? in_title : 1000);
    lex_result_free(&r2);

    /* A rolled-back batch leaves no trace. */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
    CHECK_INT(ops->add(ix, next + 100, "zzzuniq", 7, "zzzuniq", 7, &dummy), LORE_OK);
    CHECK_INT(ops->flush(ix), LORE_OK);
    ops->abort(ix);
    store_rollback(t);
    lex_qterm qz = {"zzzuniq", 7, LEX_FIELD_ALL, LEX_SHOULD, 1.0f};
    lex_query lz = {&qz, 1, 10, NULL, NULL, 0};
    CHECK_INT(ops->search(ix, &lz, &r2), LORE_OK);
    CHECK_INT(r2.n, 0);
    lex_result_free(&r2);
    CHECK_INT(ops->stats(ix, &st), LORE_OK);
    CHECK_INT(st.chunks, NDOCS - deleted);

    /* Limits. */
    lex_query bad = {&qz, 1, 0, NULL, NULL, 0};
    CHECK_INT(ops->search(ix, &bad, &r2), LORE_INVALID);
    bad = (lex_query){&qz, LEX_MAX_QUERY_TERMS + 1, 10, NULL, NULL, 0};
    CHECK_INT(ops->search(ix, &bad, &r2), LORE_INVALID);

    /* max_should keeps the most selective SHOULD terms and names the rest,
     * least selective first; absent and required terms are never dropped. */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
    CHECK_INT(ops->add(ix, next + 200, "", 0, "mscommon msmid msrare", 21, &dummy), LORE_OK);
    CHECK_INT(ops->add(ix, next + 201, "", 0, "mscommon msmid", 14, &dummy), LORE_OK);
    CHECK_INT(ops->add(ix, next + 202, "", 0, "mscommon", 8, &dummy), LORE_OK);
    CHECK_INT(ops->flush(ix), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    lex_qterm ms[] = {{"mscommon", 8, LEX_FIELD_ALL, LEX_SHOULD, 1.0f},
                      {"msabsent", 8, LEX_FIELD_ALL, LEX_SHOULD, 1.0f},
                      {"msmid", 5, LEX_FIELD_ALL, LEX_SHOULD, 1.0f},
                      {"msrare", 6, LEX_FIELD_ALL, LEX_SHOULD, 1.0f}};
    lex_query lm = {ms, 4, 10, NULL, NULL, 1};
    CHECK_INT(ops->search(ix, &lm, &r2), LORE_OK);
    CHECK_INT(r2.ndropped, 2);
    CHECK_INT(r2.ndropped > 1 ? r2.dropped[0] : 9, 0); /* mscommon, the least selective */
    CHECK_INT(r2.ndropped > 1 ? r2.dropped[1] : 9, 2); /* then msmid */
    CHECK_INT(r2.n, 1);                                /* only msrare was searched */
    CHECK(r2.n == 1 && r2.hits[0].chunk_id == next + 200);
    lex_result_free(&r2);
    lm.max_should = 0; /* no limit */
    CHECK_INT(ops->search(ix, &lm, &r2), LORE_OK);
    CHECK_INT(r2.ndropped, 0);
    CHECK_INT(r2.n, 3);
    lex_result_free(&r2);
    ms[0].role = LEX_MUST; /* required: kept; the one SHOULD slot goes to msrare */
    lm.max_should = 1;
    CHECK_INT(ops->search(ix, &lm, &r2), LORE_OK);
    CHECK_INT(r2.ndropped, 1);
    CHECK_INT(r2.ndropped ? r2.dropped[0] : 9, 2);
    CHECK_INT(r2.n, 3);
    lex_result_free(&r2);
    check_many_terms(an, ops, ix, 40, "many terms, after deletes and optimize");

    text_analyzer_free(an);
    strmap_free(&vocab);
    ops->close(ix);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
