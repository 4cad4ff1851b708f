/* Rebuilding the lexical index beside the live one (rebuild_start / _step /
 * _status), with documents written through the real ingest path:
 *
 * - an empty tenant's rebuild finishes in its first step;
 * - while a rebuild runs, every handle's results and statistics are those
 *   of the old index; after the switch they are those of a fresh index built
 *   directly with the rebuild's title_weight, for the handle that ran it, one
 *   that searched throughout and one left idle since before the start (other
 *   connections, as other processes would be);
 * - the old slot's keys are deleted in bounded pieces after the switch and
 *   are all gone when the rebuild reports finished; a rebuild started while
 *   that cleaning runs finishes it first;
 * - on a random corpus with adds, updates and deletes between steps, and
 *   steps rolled back and run again (or not), the result after optimize
 *   equals a fresh index over the final chunks: same statistics, same hits
 *   for many queries, stored lengths equal to the fresh index's, every live
 *   document found by its unique word and no removed version ever.
 * Seed: LORE_TEST_SEED, printed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "test.h"
#include "text/analyzer.h"

#define VOCAB 300
#define NQ 80
#define K 10
#define MAXDOCS 512
#include "zipf_vocab.h"

static const index_lexical_ops *ops = &index_lexical_bm25;
static store *S;
static text_analyzer *an;
static char qterms[NQ][3][64];
static size_t qlen[NQ];

static int first_term(void *ctx, const text_token *t) {
    snprintf(ctx, 64, "%.*s", (int)t->term_len, t->term);
    return 1;
}

/* Queries of one to three analyzed words. */
static void make_queries(void) {
    for (int q = 0; q < NQ; q++) {
        qlen[q] = 1 + test_rand() % 3;
        for (size_t k = 0; k < qlen[q]; k++) {
            const char *w = zipf_word();
            qterms[q][k][0] = '\0';
            if (text_analyze(an, w, strlen(w), first_term, qterms[q][k]) != LORE_OK) abort();
        }
    }
}

/* ---- results ---- */

typedef struct results {
    size_t n[NQ];
    lex_hit h[NQ][K];
} results;

static void run_queries(void *ix, results *r) {
    memset(r, 0, sizeof *r);
    for (int q = 0; q < NQ; q++) {
        lex_qterm qt[3];
        for (size_t k = 0; k < qlen[q]; k++)
            qt[k] = (lex_qterm){qterms[q][k], strlen(qterms[q][k]), LEX_FIELD_ALL, LEX_SHOULD, 1};
        lex_query lq = {qt, qlen[q], K, NULL, NULL, 0};
        lex_result res;
        CHECK_INT(ops->search(ix, &lq, &res), LORE_OK);
        r->n[q] = res.n;
        if (res.n) memcpy(r->h[q], res.hits, res.n * sizeof *res.hits);
        lex_result_free(&res);
    }
}

static int close_to(double a, double b) {
    return fabs(a - b) <= 1e-9 * (1 + fabs(b));
}

/* Queries whose hits differ. exact: same chunks and bit-identical scores
 * (the same index read twice); otherwise scores within rounding and chunks
 * equal except where scores tie (summing in another order may swap ties). */
static int diff_results(const results *a, const results *b, int exact, const char *label) {
    int bad = 0;
    for (int q = 0; q < NQ; q++) {
        int ok = a->n[q] == b->n[q];
        for (size_t i = 0; ok && i < a->n[q]; i++) {
            const lex_hit *x = &a->h[q][i], *y = &b->h[q][i];
            if (exact) {
                ok = x->chunk_id == y->chunk_id && x->score == y->score;
                continue;
            }
            int tie = (i > 0 && close_to(y->score, b->h[q][i - 1].score)) ||
                      (i + 1 < b->n[q] && close_to(y->score, b->h[q][i + 1].score));
            ok = close_to(x->score, y->score) && (x->chunk_id == y->chunk_id || tie);
        }
        if (!ok && bad++ < 2 && label) {
            fprintf(stderr, "%s: query %d '%s': %zu vs %zu hits\n", label, q, qterms[q][0], a->n[q],
                    b->n[q]);
            for (size_t i = 0; i < a->n[q] || i < b->n[q]; i++)
                fprintf(stderr, "  %zu: %lld %.12f | %lld %.12f\n", i,
                        i < a->n[q] ? (long long)a->h[q][i].chunk_id : -1LL,
                        i < a->n[q] ? a->h[q][i].score : 0.0,
                        i < b->n[q] ? (long long)b->h[q][i].chunk_id : -1LL,
                        i < b->n[q] ? b->h[q][i].score : 0.0);
        }
    }
    return bad;
}

static lex_stats stats_of(void *ix) {
    lex_stats st;
    CHECK_INT(ops->stats(ix, &st), LORE_OK);
    return st;
}

/* ---- keys ---- */

static int count_cb(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    (void)k, (void)kl, (void)v, (void)vl;
    (*(long *)ctx)++;
    return 0;
}

static long count_ns(store_tenant *t, int ns) {
    long n = 0;
    CHECK_INT(store_kv_scan(t, ns, "", 0, NULL, 0, count_cb, &n), LORE_OK);
    return n;
}

/* Keys of slot 0 (A) or 1 (B). */
static long slot_keys(store_tenant *t, int slot) {
    if (slot)
        return count_ns(t, STORE_NS_LEXICAL_B) + count_ns(t, STORE_NS_LEXICAL_META_B) +
               count_ns(t, STORE_NS_LEXICAL_DELETED_B);
    return count_ns(t, STORE_NS_LEXICAL) + count_ns(t, STORE_NS_LEXICAL_META) +
           count_ns(t, STORE_NS_LEXICAL_DELETED);
}

/* ---- batches and the rebuild job ---- */

static void batch_begin(store_tenant *t, void *ix) {
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(ops->begin(ix), LORE_OK);
}

static void batch_commit(store_tenant *t, void *ix) {
    CHECK_INT(ops->flush(ix), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
}

static void job_start(store_tenant *t, void *ix) {
    batch_begin(t, ix);
    CHECK_INT(ops->rebuild_start(ix), LORE_OK);
    batch_commit(t, ix);
}

/* One step in its own batch; returns *finished. */
static int job_step(store_tenant *t, void *ix, size_t max, uint64_t *copied) {
    int finished = 0;
    uint64_t n = 0;
    batch_begin(t, ix);
    CHECK_INT(ops->rebuild_step(ix, max, &finished, &n), LORE_OK);
    batch_commit(t, ix);
    if (copied) *copied = n;
    return finished;
}

/* A step that does all its work and is then rolled back (a crash before
 * the commit): the cursor stays where it was. */
static void job_step_lost(store_tenant *t, void *ix, size_t max) {
    int running = 0, finished = 0;
    int64_t before = -1, after = -1;
    uint64_t n = 0;
    CHECK_INT(ops->rebuild_status(ix, &running, &before), LORE_OK);
    batch_begin(t, ix);
    CHECK_INT(ops->rebuild_step(ix, max, &finished, &n), LORE_OK);
    CHECK_INT(ops->flush(ix), LORE_OK);
    ops->abort(ix);
    store_rollback(t);
    CHECK_INT(ops->rebuild_status(ix, &running, &after), LORE_OK);
    CHECK_INT(after, before);
    CHECK_INT(running, 1);
}

static int64_t job_cursor(void *ix, int *running) {
    int r = 0;
    int64_t c = -1;
    CHECK_INT(ops->rebuild_status(ix, &r, &c), LORE_OK);
    if (running) *running = r;
    return c;
}

/* ---- documents, through the real ingest path ---- */

typedef struct server {
    store_tenant *t;
    tenant_ctx *tc;
    void *ix; /* tc's lexical index */
    ingest_session *ing;
    int version[MAXDOCS]; /* live version of each document, -1 none */
    int64_t rowid[MAXDOCS];
    int top[MAXDOCS]; /* highest version written */
    int ndocs;
} server;

/* A word the analyzer keeps as it is, unique to a document version. */
static void unique_word(char *out, int id, int version) {
    sprintf(out, "uq%dz%dk", id, version);
}

static void put_doc(server *sv, int id) {
    char ext[32], title[128], text[4096];
    int version = ++sv->top[id];
    snprintf(ext, sizeof ext, "d%d", id);
    char *o = title;
    int tw = (int)(test_rand() % 5); /* some documents have no title */
    for (int w = 0; w < tw; w++)
        o += sprintf(o, "%s ", zipf_word());
    unique_word(text, id, version);
    o = text + strlen(text);
    int bw = 5 + (int)(test_rand() % 250); /* one to several chunks */
    for (int w = 0; w < bw; w++)
        o += sprintf(o, " %s", zipf_word());
    ingest_record r = {.external_id = ext, .title = tw ? title : NULL, .text = text};
    r.text_len = strlen(text);
    ingest_outcome out = INGEST_FAILED;
    CHECK_INT(ingest_record_put(sv->ing, &r, &out), LORE_OK);
    CHECK(out == INGEST_ADDED || out == INGEST_UPDATED);
    sv->version[id] = version;
    if (id >= sv->ndocs) sv->ndocs = id + 1;
}

static void del_doc(server *sv, int id) {
    char ext[32], pid[STORE_DOC_ID_LEN + 1];
    snprintf(ext, sizeof ext, "d%d", id);
    store_doc_public_id("files", ext, pid);
    CHECK_INT(ingest_delete(sv->ing, pid), LORE_OK);
    sv->version[id] = -1;
}

static void server_open(server *sv, const char *tenant, uint32_t weight) {
    memset(sv, 0, sizeof *sv);
    for (int i = 0; i < MAXDOCS; i++)
        sv->version[i] = -1;
    CHECK_INT(store_tenant_create(S, tenant), LORE_OK);
    CHECK_INT(store_tenant_open(S, tenant, &sv->t), LORE_OK);
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.lex.title_weight = weight;
    CHECK_INT(tenant_ctx_attach(sv->t, &ts, &sv->tc), LORE_OK);
    sv->ix = sv->tc->index.lexical.state;
    ingest_options o;
    ingest_options_default(&o);
    o.chunking.target_tokens = 40; /* several chunks per document */
    o.chunking.min_tokens = 30;
    o.chunking.max_tokens = 50;
    o.chunking.overlap_tokens = 5;
    CHECK_INT(ingest_session_new(sv->tc, &o, &sv->ing), LORE_OK);
}

static void server_close(server *sv) {
    ingest_session_free(sv->ing);
    tenant_ctx_close(sv->tc);
    store_tenant_close(sv->t);
}

/* A handle on its own connection, as another process would have. */
static void *other_handle(const char *tenant, uint32_t weight, store_tenant **t) {
    void *ix = NULL;
    lex_params p;
    lex_params_default(&p);
    p.title_weight = weight;
    CHECK_INT(store_tenant_open(S, tenant, t), LORE_OK);
    CHECK_INT(ops->open(*t, &p, &ix), LORE_OK);
    return ix;
}

/* ---- the reference: a fresh index over the stored chunks ---- */

typedef struct entry {
    int64_t id;
    uint32_t nterms, fresh_nterms;
    char *title, *text;
    size_t text_len;
} entry;

typedef struct chunks {
    store_tenant *t;
    entry *e;
    size_t n, cap;
} chunks;

static int collect_len(void *ctx, int64_t id, uint32_t nterms) {
    chunks *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        if (!(c->e = realloc(c->e, c->cap * sizeof *c->e))) abort();
    }
    c->e[c->n++] = (entry){.id = id, .nterms = nterms};
    return 0;
}

static int collect_doc(void *ctx, const store_doc *d) {
    chunks *c = ctx;
    size_t from = c->n;
    CHECK_INT(store_doc_chunks(c->t, d->rowid, collect_len, c), LORE_OK);
    for (size_t i = from; i < c->n; i++)
        c->e[i].title = d->title ? strdup(d->title) : NULL;
    return 0;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Every stored chunk with its title and text, read without
 * store_chunk_scan (documents, their chunks, store_chunk_get). */
static void collect_chunks(store_tenant *t, chunks *c) {
    memset(c, 0, sizeof *c);
    c->t = t;
    CHECK_INT(store_doc_list(t, NULL, NULL, 0, 1000000, collect_doc, c), LORE_OK);
    for (size_t i = 0; i < c->n; i++) {
        store_chunk sc;
        CHECK_INT(store_chunk_get(t, c->e[i].id, &sc), LORE_OK);
        c->e[i].text = sc.text;
        c->e[i].text_len = sc.text_len;
        sc.text = NULL;
        store_chunk_clear(&sc);
    }
    qsort(c->e, c->n, sizeof *c->e, cmp_entry);
}

static void chunks_free(chunks *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].title);
        free(c->e[i].text);
    }
    free(c->e);
}

/* A fresh index of the chunks (same ids) in a tenant of its own. */
static void *build_fresh(const char *tenant, chunks *c, uint32_t weight, store_tenant **t) {
    CHECK_INT(store_tenant_create(S, tenant), LORE_OK);
    void *ix = other_handle(tenant, weight, t);
    for (size_t i = 0; i < c->n; i += 100) {
        batch_begin(*t, ix);
        for (size_t j = i; j < c->n && j < i + 100; j++) {
            entry *e = &c->e[j];
            CHECK_INT(ops->add(ix, e->id, e->title, e->title ? strlen(e->title) : 0, e->text,
                               e->text_len, &e->fresh_nterms),
                      LORE_OK);
        }
        batch_commit(*t, ix);
    }
    return ix;
}

/* Stored lengths that are not those the fresh index computed. */
static int stale_lengths(store_tenant *t, const chunks *fresh) {
    chunks now;
    collect_chunks(t, &now);
    int bad = now.n != fresh->n;
    for (size_t i = 0; !bad && i < now.n; i++)
        bad += now.e[i].id != fresh->e[i].id || now.e[i].nterms != fresh->e[i].fresh_nterms;
    chunks_free(&now);
    return bad;
}

static void optimize(store_tenant *t, void *ix) {
    batch_begin(t, ix);
    CHECK_INT(ops->optimize(ix), LORE_OK);
    batch_commit(t, ix);
}

/* Every hit of the unique word of each version ever written: the live
 * version is found (in its own document, each chunk once), no other is. */
static int unique_word_errors(server *sv) {
    int bad = 0;
    for (int id = 0; id < sv->ndocs; id++) {
        char ext[32];
        int64_t rowid = 0;
        snprintf(ext, sizeof ext, "d%d", id);
        if (sv->version[id] >= 0 && store_doc_lookup(sv->t, "files", ext, &rowid, NULL) != LORE_OK)
            bad++;
        for (int v = 1; v <= sv->top[id]; v++) {
            char w[32];
            unique_word(w, id, v);
            lex_qterm qt = {w, strlen(w), LEX_FIELD_ALL, LEX_SHOULD, 1};
            lex_query lq = {&qt, 1, 20, NULL, NULL, 0};
            lex_result res;
            CHECK_INT(ops->search(sv->ix, &lq, &res), LORE_OK);
            if (v == sv->version[id] ? res.n == 0 : res.n != 0) bad++;
            for (size_t i = 0; i < res.n; i++) {
                int64_t doc = 0;
                if (store_chunk_doc(sv->t, res.hits[i].chunk_id, &doc) != LORE_OK || doc != rowid)
                    bad++;
                for (size_t j = 0; j < i; j++)
                    bad += res.hits[j].chunk_id == res.hits[i].chunk_id;
            }
            lex_result_free(&res);
        }
    }
    return bad;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every chunk holding a common word, from both indexes: the same chunks,
 * none twice. */
static int all_hits_differ(void *a, void *b) {
    int bad = 0;
    for (int w = 0; w < 3; w++) {
        char term[64] = "";
        if (text_analyze(an, words[w], strlen(words[w]), first_term, term) != LORE_OK) abort();
        lex_qterm qt = {term, strlen(term), LEX_FIELD_ALL, LEX_SHOULD, 1};
        lex_query lq = {&qt, 1, 100000, NULL, NULL, 0};
        lex_result ra, rb;
        CHECK_INT(ops->search(a, &lq, &ra), LORE_OK);
        CHECK_INT(ops->search(b, &lq, &rb), LORE_OK);
        int64_t *ia = calloc(ra.n + 1, sizeof *ia), *ib = calloc(rb.n + 1, sizeof *ib);
        for (size_t i = 0; i < ra.n; i++)
            ia[i] = ra.hits[i].chunk_id;
        for (size_t i = 0; i < rb.n; i++)
            ib[i] = rb.hits[i].chunk_id;
        qsort(ia, ra.n, sizeof *ia, cmp_i64);
        qsort(ib, rb.n, sizeof *ib, cmp_i64);
        bad += ra.n != rb.n || ra.n == 0;
        for (size_t i = 0; !bad && i < ra.n; i++)
            bad += ia[i] != ib[i] || (i && ia[i] == ia[i - 1]);
        free(ia);
        free(ib);
        lex_result_free(&ra);
        lex_result_free(&rb);
    }
    return bad;
}

/* ---- the tests ---- */

static void test_empty(void) {
    server sv;
    server_open(&sv, "empty", 2);
    int finished = 0, running = 1;
    uint64_t copied = 9;
    /* outside a batch, or asked for nothing */
    CHECK_INT(ops->rebuild_start(sv.ix), LORE_INVALID);
    CHECK_INT(ops->rebuild_step(sv.ix, 10, &finished, &copied), LORE_INVALID);
    batch_begin(sv.t, sv.ix);
    CHECK_INT(ops->rebuild_step(sv.ix, 0, &finished, &copied), LORE_INVALID);
    /* no rebuild running: done at once */
    CHECK_INT(ops->rebuild_step(sv.ix, 10, &finished, &copied), LORE_OK);
    CHECK_INT(finished, 1);
    CHECK_INT(copied, 0);
    batch_commit(sv.t, sv.ix);
    CHECK_INT(job_cursor(sv.ix, &running), 0);
    CHECK_INT(running, 0);
    CHECK(slot_keys(sv.t, 0) > 0); /* the meta written by that batch */

    job_start(sv.t, sv.ix);
    CHECK_INT(job_cursor(sv.ix, &running), 0);
    CHECK_INT(running, 1);
    CHECK_INT(job_step(sv.t, sv.ix, 10, &copied), 1);
    CHECK_INT(copied, 0);
    CHECK_INT(job_cursor(sv.ix, &running), 0);
    CHECK_INT(running, 0);
    CHECK_INT(slot_keys(sv.t, 0), 0);

    /* the new slot takes writes and serves them */
    put_doc(&sv, 0);
    CHECK_INT(ingest_commit(sv.ing), LORE_OK);
    CHECK_INT(slot_keys(sv.t, 0), 0);
    CHECK(slot_keys(sv.t, 1) > 0);
    CHECK(stats_of(sv.ix).chunks >= 1);
    CHECK_INT(unique_word_errors(&sv), 0);
    server_close(&sv);
}

/* Copies the corpus in steps; throughout, the old index serves. */
static void copy_phase(server *sv, store_tenant *tj, void *job, const results *r0,
                       const lex_stats *s0, int64_t last) {
    results *r = calloc(1, sizeof *r);
    job_start(tj, job);
    int64_t cur;
    int steps = 0, running;
    while ((cur = job_cursor(job, &running)) < last && steps < 1000) {
        uint64_t copied = 0;
        CHECK_INT(running, 1);
        CHECK_INT(job_step(tj, job, 23, &copied), 0);
        CHECK(copied > 0 && copied <= 23);
        CHECK(job_cursor(job, NULL) > cur);
        if (++steps == 2) { /* starting again keeps the running rebuild */
            cur = job_cursor(job, NULL);
            job_start(tj, job);
            CHECK_INT(job_cursor(job, NULL), cur);
        }
        run_queries(sv->ix, r);
        CHECK_INT(diff_results(r, r0, 1, "during the rebuild (server)"), 0);
        run_queries(job, r);
        CHECK_INT(diff_results(r, r0, 1, "during the rebuild (job)"), 0);
        lex_stats st = stats_of(sv->ix);
        CHECK_INT(st.chunks, s0->chunks);
        CHECK(st.avg_len == s0->avg_len);
        CHECK_INT(st.segments, s0->segments);
    }
    CHECK_INT(cur, last);
    /* titled chunks score longer with the new weight: their old lengths
     * were kept for removals before the switch */
    CHECK(count_ns(sv->t, STORE_NS_LEXICAL_REBUILD_LENGTHS) > 0);
    printf("copied in %d steps\n", steps);
    free(r);
}

/* The switch, then the old slot deleted in bounded pieces; the new index
 * serves from the switch on. */
static void switch_phase(server *sv, store_tenant *tj, void *job, const results *rf,
                         const lex_stats *sf) {
    results *r = calloc(1, sizeof *r);
    long left = slot_keys(sv->t, 0) + count_ns(sv->t, STORE_NS_LEXICAL_REBUILD_LENGTHS);
    uint64_t copied = 1;
    int finished = job_step(tj, job, 1, &copied), pieces = 0, running = 0;
    CHECK_INT(copied, 0);
    CHECK_INT(finished, 0); /* more old keys than one step deletes */
    CHECK_INT(job_cursor(job, &running), 0);
    CHECK_INT(running, 1);
    for (;;) {
        long now = slot_keys(sv->t, 0) + count_ns(sv->t, STORE_NS_LEXICAL_REBUILD_LENGTHS);
        CHECK(now < left);
        CHECK_INT(finished, now == 0); /* finished exactly when the last key goes */
        left = now;
        run_queries(sv->ix, r);
        CHECK_INT(diff_results(r, rf, 0, "after the switch"), 0);
        lex_stats st = stats_of(sv->ix);
        CHECK_INT(st.chunks, sf->chunks);
        CHECK(close_to(st.avg_len, sf->avg_len));
        if (finished || pieces > 1000) break;
        finished = job_step(tj, job, 1, &copied);
        CHECK_INT(copied, 0);
        pieces++;
    }
    CHECK_INT(left, 0);
    CHECK(pieces > 1);
    CHECK_INT(job_cursor(job, &running), 0);
    CHECK_INT(running, 0);
    printf("old slot deleted in %d more steps\n", pieces);
    free(r);
}

/* Back to the old weight (by the server's handle), and a third rebuild
 * started while the second still deletes its old slot. */
static void rebuild_again(server *sv, store_tenant *tj, void *job, const results *r0,
                          const results *rf, int64_t last) {
    results *r = calloc(1, sizeof *r);
    job_start(sv->t, sv->ix);
    for (int i = 0; i < 1000 && job_cursor(sv->ix, NULL) < last; i++)
        CHECK_INT(job_step(sv->t, sv->ix, 50, NULL), 0);
    CHECK_INT(job_step(sv->t, sv->ix, 1, NULL), 0); /* the switch back to slot A */
    CHECK(slot_keys(sv->t, 1) > 0);
    run_queries(sv->ix, r);
    CHECK_INT(diff_results(r, r0, 0, "rebuilt with the first weight"), 0);

    job_start(tj, job);
    int steps = 1;
    while (!job_step(tj, job, 50, NULL) && steps < 1000)
        steps++;
    run_queries(sv->ix, r);
    CHECK_INT(diff_results(r, rf, 0, "third rebuild"), 0);
    CHECK_INT(slot_keys(sv->t, 0), 0);
    CHECK_INT(count_ns(sv->t, STORE_NS_LEXICAL_REBUILD_LENGTHS), 0);
    CHECK(slot_keys(sv->t, 1) > 0);
    printf("third rebuild, started while cleaning: %d steps\n", steps);
    free(r);
}

static void test_switch(void) {
    server sv;
    server_open(&sv, "sw", 2);
    for (int i = 0; i < 250; i++)
        put_doc(&sv, i);
    CHECK_INT(ingest_commit(sv.ing), LORE_OK);
    store_tenant *tj, *th, *tf;
    void *job = other_handle("sw", 5, &tj);  /* rebuilds with title_weight 5 */
    void *idle = other_handle("sw", 2, &th); /* untouched until the end */
    chunks c;
    collect_chunks(sv.t, &c);
    void *fresh = build_fresh("sw-fresh", &c, 5, &tf);
    results *r0 = calloc(1, sizeof *r0), *rf = calloc(1, sizeof *rf), *r = calloc(1, sizeof *r);
    run_queries(sv.ix, r0);
    run_queries(fresh, rf);
    lex_stats s0 = stats_of(sv.ix), sf = stats_of(fresh);
    /* the weight shows: in the average length and in scores */
    CHECK(s0.avg_len < sf.avg_len);
    CHECK(diff_results(r0, rf, 0, NULL) > NQ / 2);

    copy_phase(&sv, tj, job, r0, &s0, c.e[c.n - 1].id);
    switch_phase(&sv, tj, job, rf, &sf);
    run_queries(idle, r);
    CHECK_INT(diff_results(r, rf, 0, "idle handle"), 0);
    CHECK(close_to(stats_of(idle).avg_len, sf.avg_len));
    CHECK_INT(stale_lengths(sv.t, &c), 0);
    CHECK_INT(count_ns(sv.t, STORE_NS_LEXICAL_REBUILD_LENGTHS), 0);
    CHECK(slot_keys(sv.t, 1) > 0);

    rebuild_again(&sv, tj, job, r0, rf, c.e[c.n - 1].id);
    free(r0);
    free(rf);
    free(r);
    chunks_free(&c);
    ops->close(fresh);
    store_tenant_close(tf);
    ops->close(idle);
    store_tenant_close(th);
    ops->close(job);
    store_tenant_close(tj);
    server_close(&sv);
}

static int count_terms(void *ctx, const text_token *t) {
    (void)t;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* The live index's statistics are exact: as many chunks as the store holds,
 * and the lengths they have with the live index's title_weight. */
static int live_stats_wrong(server *sv, uint32_t weight) {
    chunks c;
    collect_chunks(sv->t, &c);
    uint64_t total = 0;
    for (size_t i = 0; i < c.n; i++) {
        uint64_t title = 0, body = 0;
        if (c.e[i].title &&
            text_analyze(an, c.e[i].title, strlen(c.e[i].title), count_terms, &title) != LORE_OK)
            abort();
        if (text_analyze(an, c.e[i].text, c.e[i].text_len, count_terms, &body) != LORE_OK) abort();
        total += body + weight * title;
    }
    lex_stats st = stats_of(sv->ix);
    int bad =
        st.chunks != (int64_t)c.n || !close_to(st.avg_len, c.n ? (double)total / (double)c.n : 0);
    if (bad)
        fprintf(stderr, "live stats: %lld chunks, avg %.9f; want %zu, %.9f\n", (long long)st.chunks,
                st.avg_len, c.n, c.n ? (double)total / (double)c.n : 0);
    chunks_free(&c);
    return bad;
}

/* n random adds, updates and deletes into the open batch. */
static void writes(server *sv, int n) {
    for (int i = 0; i < n; i++) {
        int op = (int)(test_rand() % 3), id = (int)(test_rand() % (uint64_t)sv->ndocs);
        if (op == 0 && sv->ndocs < MAXDOCS)
            put_doc(sv, sv->ndocs);
        else if (op == 2 && sv->version[id] >= 0)
            del_doc(sv, id);
        else
            put_doc(sv, id);
    }
}

/* n random adds, updates and deletes in one batch. */
static void random_writes(server *sv, int n) {
    writes(sv, n);
    CHECK_INT(ingest_commit(sv->ing), LORE_OK);
}

/* A step run by the server's handle inside an ingest batch, between
 * writes (ingest opens the batch, the step joins it). */
static int step_among_writes(server *sv, size_t max, uint64_t *copied) {
    int finished = 0;
    writes(sv, 1 + (int)(test_rand() % 4));
    CHECK_INT(ops->rebuild_step(sv->ix, max, &finished, copied), LORE_OK);
    writes(sv, (int)(test_rand() % 4));
    CHECK_INT(ingest_commit(sv->ing), LORE_OK);
    return finished;
}

static void test_random(const char *name, int lose_steps) {
    server sv;
    server_open(&sv, name, 2);
    for (int i = 0; i < 300; i++)
        put_doc(&sv, i);
    CHECK_INT(ingest_commit(sv.ing), LORE_OK);
    store_tenant *tj, *tf;
    void *job = other_handle(name, 3, &tj);
    job_start(tj, job);
    int finished = 0, steps = 0, lost = 0, switched = 0, stats_wrong = 0;
    while (!finished && steps < 10000) {
        if (test_rand() % 2) random_writes(&sv, 1 + (int)(test_rand() % 6));
        size_t max = 1 + test_rand() % 40;
        if (lose_steps && test_rand() % 3 == 0) {
            job_step_lost(tj, job, max);
            lost++;
        }
        int64_t before = job_cursor(job, NULL);
        uint64_t copied = 0;
        if (test_rand() % 4 == 0)
            finished = step_among_writes(&sv, max, &copied);
        else
            finished = job_step(tj, job, max, &copied);
        switched |= before > 0 && !copied;
        if (++steps % 8 == 0 || finished) stats_wrong += live_stats_wrong(&sv, switched ? 3 : 2);
    }
    CHECK_INT(stats_wrong, 0);
    CHECK(finished);
    random_writes(&sv, 30); /* after the switch, by a handle opened before it */
    CHECK_INT(live_stats_wrong(&sv, 3), 0);

    chunks c;
    collect_chunks(sv.t, &c);
    char fname[64];
    snprintf(fname, sizeof fname, "%s-fresh", name);
    void *fresh = build_fresh(fname, &c, 3, &tf);
    CHECK_INT(stale_lengths(sv.t, &c), 0);
    optimize(sv.t, sv.ix); /* df counts deleted chunks until a merge */
    optimize(tf, fresh);
    lex_stats a = stats_of(sv.ix), b = stats_of(fresh);
    CHECK_INT(a.chunks, (int64_t)c.n);
    CHECK_INT(a.chunks, b.chunks);
    CHECK(a.avg_len == b.avg_len);
    CHECK_INT(a.deleted, 0);
    results *ra = calloc(1, sizeof *ra), *rb = calloc(1, sizeof *rb);
    run_queries(sv.ix, ra);
    run_queries(fresh, rb);
    CHECK_INT(diff_results(ra, rb, 0, name), 0);
    CHECK_INT(all_hits_differ(sv.ix, fresh), 0);
    CHECK_INT(unique_word_errors(&sv), 0);
    CHECK_INT(slot_keys(sv.t, 0), 0);
    CHECK_INT(count_ns(sv.t, STORE_NS_LEXICAL_REBUILD_LENGTHS), 0);
    printf("%s: %d steps (%d more rolled back), %zu chunks, %d documents\n", name, steps, lost, c.n,
           sv.ndocs);
    free(ra);
    free(rb);
    chunks_free(&c);
    ops->close(fresh);
    store_tenant_close(tf);
    ops->close(job);
    store_tenant_close(tj);
    server_close(&sv);
}

int main(void) {
    test_seed();
    make_vocab();
    CHECK_INT(text_analyzer_new(&an), LORE_OK);
    make_queries();
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char err[256];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &S, err, sizeof err), LORE_OK);
    test_empty();
    test_switch();
    test_random("rnd-lost", 1);
    test_random("rnd", 0);
    store_close(S);
    text_analyzer_free(an);
    test_rmtree(dir);
    return test_summary();
}
