/* Query evaluation: BM25 with MaxScore dynamic pruning.
 *
 * For each query term the lists of every segment are read (one key lookup
 * per segment and term); document frequencies are summed over segments for
 * the idf. When max_should drops terms, only the kept terms' lists are
 * held (see "Memory of long queries"). Segments are then evaluated one after
 * the other into one shared top-k heap, document at a time:
 *
 * - With required terms (MUST/FILTER), the rarest required list drives:
 *   each of its chunks must appear in every other required list, then the
 *   scored terms are added.
 * - Otherwise MaxScore: scored terms sorted by their score upper bound;
 *   the low-bound prefix whose bounds sum to at most the heap threshold is
 *   "non-essential" (no chunk matching only those can enter the top k), so
 *   only the essential lists are walked, and the non-essential ones are
 *   probed (skipping whole blocks through the directory) only while the
 *   candidate can still beat the threshold.
 *
 * A candidate that can enter the heap goes through the caller's admit
 * callback (filters, ACL, phrase checks, grouping by document) and then
 * tombstones; the heap keeps one entry per group. */
#include "index/lexical/lexical_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct qlist {
    const lex_qterm *qt;
    double idf;
    uint64_t df;
    uint8_t **blobs; /* per segment, NULL when the term is absent there */
    size_t *lens;
    int dropped; /* left out by max_should */
} qlist;

typedef struct heap_entry {
    double score;
    int64_t chunk, group;
} heap_entry;

typedef struct topk {
    heap_entry *h;
    size_t n, k;
} topk;

typedef struct eval {
    lex_index *x;
    const lex_query *q;
    double k1, b, avgdl;
    topk heap;
    i64set dead;
    uint64_t scored, admitted;
    int failed;
} eval;

/* a is worse than b: lower score, or equal score and a later chunk. */
static int worse(const heap_entry *a, const heap_entry *b) {
    return a->score < b->score || (a->score == b->score && a->chunk > b->chunk);
}

static void sift_down(topk *t, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && worse(&t->h[l], &t->h[m])) m = l;
        if (r < t->n && worse(&t->h[r], &t->h[m])) m = r;
        if (m == i) return;
        heap_entry tmp = t->h[i];
        t->h[i] = t->h[m];
        t->h[m] = tmp;
        i = m;
    }
}

static void sift_up(topk *t, size_t i) {
    while (i) {
        size_t p = (i - 1) / 2;
        if (!worse(&t->h[i], &t->h[p])) return;
        heap_entry tmp = t->h[i];
        t->h[i] = t->h[p];
        t->h[p] = tmp;
        i = p;
    }
}

static double threshold(const eval *e) {
    return e->heap.n < e->heap.k ? 0.0 : e->heap.h[0].score;
}

/* Offers a scored chunk to the heap. */
static void offer(eval *e, int64_t chunk, double score) {
    topk *t = &e->heap;
    heap_entry cand = {score, chunk, chunk};
    if (t->n == t->k && !worse(&t->h[0], &cand)) return;
    if (i64set_has(&e->dead, chunk)) return;
    if (e->q->admit) {
        e->admitted++;
        int r = e->q->admit(e->q->admit_ctx, chunk, &cand.group);
        if (r < 0) e->failed = 1;
        if (r <= 0) return;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->h[i].group != cand.group) continue;
        if (worse(&t->h[i], &cand)) {
            t->h[i] = cand;
            sift_down(t, i);
        }
        return;
    }
    if (t->n < t->k) {
        t->h[t->n++] = cand;
        sift_up(t, t->n - 1);
    } else {
        t->h[0] = cand;
        sift_down(t, 0);
    }
}

static inline double bm25(const eval *e, double idfw, uint32_t tf, uint32_t len) {
    double norm = e->k1 * (1.0 - e->b + e->b * (double)len / e->avgdl);
    return idfw * (double)tf * (e->k1 + 1.0) / ((double)tf + norm);
}

typedef struct cur {
    postings_cursor c;
    double idfw; /* idf x weight; 0 for unscored lists */
    double ub;   /* upper bound of the list's contribution */
    lex_role role;
} cur;

static int cmp_ub(const void *a, const void *b) {
    const cur *x = *(cur *const *)a, *y = *(cur *const *)b;
    return x->ub < y->ub ? -1 : x->ub > y->ub;
}

static int excluded(cur **neg, size_t nneg, int64_t d) {
    for (size_t i = 0; i < nneg; i++) {
        postings_cursor_seek(&neg[i]->c, d);
        if (neg[i]->c.doc == d) return 1;
    }
    return 0;
}

/* Conjunctive evaluation: the shortest required list drives. */
static void eval_required(eval *e, cur **req, size_t nreq, cur **scored, size_t nscored, cur **neg,
                          size_t nneg) {
    size_t lead = 0;
    for (size_t i = 1; i < nreq; i++)
        if (req[i]->c.h.df < req[lead]->c.h.df) lead = i;
    double ub_all = 0;
    for (size_t i = 0; i < nscored; i++)
        ub_all += scored[i]->ub;
    for (int64_t d = req[lead]->c.doc; d != POSTINGS_END && !e->failed;) {
        int ok = 1;
        for (size_t i = 0; i < nreq && ok; i++) {
            if (i == lead) continue;
            postings_cursor_seek(&req[i]->c, d);
            if (req[i]->c.doc != d) {
                ok = 0;
                /* Jump the leader to where this list continues. */
                if (req[i]->c.doc == POSTINGS_END) return;
                postings_cursor_seek(&req[lead]->c, req[i]->c.doc);
            }
        }
        if (!ok) {
            d = req[lead]->c.doc;
            continue;
        }
        if (ub_all > threshold(e) || e->heap.n < e->heap.k) {
            double s = 0;
            for (size_t i = 0; i < nscored; i++) {
                postings_cursor_seek(&scored[i]->c, d);
                if (scored[i]->c.doc == d) {
                    s += bm25(e, scored[i]->idfw, scored[i]->c.tf, scored[i]->c.len);
                    e->scored++;
                }
            }
            if (!excluded(neg, nneg, d)) offer(e, d, s);
        }
        postings_cursor_next(&req[lead]->c);
        d = req[lead]->c.doc;
    }
}

/* Disjunctive evaluation with MaxScore. prefix: scratch for n bounds. */
static void eval_maxscore(eval *e, cur **t, size_t n, cur **neg, size_t nneg, double *prefix) {
    qsort(t, n, sizeof *t, cmp_ub); /* ascending upper bound */
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        prefix[i] = (acc += t[i]->ub);
    size_t first = 0; /* t[first..n) are essential */
    for (;;) {
        double th = threshold(e);
        while (first < n && prefix[first] <= th && e->heap.n == e->heap.k)
            first++;
        if (first >= n || e->failed) return;
        if (first == n - 1 && e->heap.n == e->heap.k) {
            /* One essential list (always so for one-word queries): skip its
             * blocks whose best possible score, plus everything the other
             * lists could add, cannot beat the threshold. */
            cur *c = t[first];
            double rest = first ? prefix[first - 1] : 0;
            while (c->c.doc != POSTINGS_END) {
                uint32_t b = c->c.block;
                double ub = bm25(e, c->idfw, postings_block_max_tf(&c->c.h, b),
                                 postings_block_min_len(&c->c.h, b));
                if (ub + rest > th) break;
                postings_cursor_seek(&c->c, postings_block_last(&c->c.h, b) + 1);
            }
        }
        int64_t d = POSTINGS_END;
        for (size_t i = first; i < n; i++)
            if (t[i]->c.doc < d) d = t[i]->c.doc;
        if (d == POSTINGS_END) return;
        double s = 0;
        for (size_t i = first; i < n; i++) {
            if (t[i]->c.doc == d) {
                s += bm25(e, t[i]->idfw, t[i]->c.tf, t[i]->c.len);
                e->scored++;
                postings_cursor_next(&t[i]->c);
            }
        }
        int viable = 1;
        for (size_t i = first; i-- > 0;) {
            if (e->heap.n == e->heap.k && s + prefix[i] <= th) {
                viable = 0;
                break;
            }
            postings_cursor_seek(&t[i]->c, d);
            if (t[i]->c.doc == d) {
                s += bm25(e, t[i]->idfw, t[i]->c.tf, t[i]->c.len);
                e->scored++;
            }
        }
        if (viable && !excluded(neg, nneg, d)) offer(e, d, s);
    }
}

static lore_status eval_segment(eval *e, qlist *ql, size_t nq, size_t seg) {
    cur *curs = malloc(nq * sizeof *curs);
    cur **req = malloc(nq * sizeof *req), **scored = malloc(nq * sizeof *scored);
    cur **neg = malloc(nq * sizeof *neg), **should = malloc(nq * sizeof *should);
    double *prefix = malloc(nq * sizeof *prefix);
    lore_status st = LORE_NOMEM;
    if (!curs || !req || !scored || !neg || !should || !prefix) goto out;
    size_t nreq = 0, nscored = 0, nneg = 0, nshould = 0;
    st = LORE_OK;
    for (size_t i = 0; i < nq; i++) {
        const lex_qterm *qt = ql[i].qt;
        int required = qt->role == LEX_MUST || qt->role == LEX_FILTER;
        if (ql[i].dropped) continue;
        if (!ql[i].blobs[seg]) {
            if (required) goto out; /* nothing in this segment can match */
            continue;
        }
        cur *c = &curs[i];
        postings_header h;
        if ((st = postings_parse(ql[i].blobs[seg], ql[i].lens[seg], &h)) != LORE_OK) goto out;
        postings_cursor_init(&c->c, &h);
        c->role = qt->role;
        int is_scored = qt->role == LEX_SHOULD || qt->role == LEX_MUST;
        c->idfw = is_scored ? ql[i].idf * (double)qt->weight : 0;
        c->ub = is_scored ? bm25(e, c->idfw, h.max_tf, h.min_len) : 0;
        if (required) req[nreq++] = c;
        if (is_scored) scored[nscored++] = c;
        if (qt->role == LEX_SHOULD) should[nshould++] = c;
        if (qt->role == LEX_MUST_NOT) neg[nneg++] = c;
    }
    if (nreq)
        eval_required(e, req, nreq, scored, nscored, neg, nneg);
    else if (nshould)
        eval_maxscore(e, should, nshould, neg, nneg, prefix);
    for (size_t i = 0; i < nq; i++)
        if (!ql[i].dropped && ql[i].blobs[seg] && curs[i].c.corrupt) st = LORE_CORRUPT;
out:
    free(prefix);
    free(curs);
    free(req);
    free(scored);
    free(neg);
    free(should);
    return st;
}

/* Orders SHOULD lists most selective first: higher idf, then higher
 * weight, then the earlier term. */
static int cmp_selective(const void *a, const void *b) {
    const qlist *x = *(qlist *const *)a, *y = *(qlist *const *)b;
    if (x->idf != y->idf) return x->idf > y->idf ? -1 : 1;
    if (x->qt->weight != y->qt->weight) return x->qt->weight > y->qt->weight ? -1 : 1;
    return x->qt < y->qt ? -1 : x->qt > y->qt;
}

/* Keeps the max_should most selective SHOULD lists present in the index,
 * marks the others dropped and lists them in out, least selective first. */
static lore_status select_should(const lex_query *q, qlist *ql, lex_result *out) {
    size_t n = 0;
    for (size_t i = 0; i < q->nterms; i++)
        n += ql[i].qt->role == LEX_SHOULD && ql[i].df > 0;
    if (!q->max_should || n <= q->max_should) return LORE_OK;
    qlist **order = malloc(n * sizeof *order);
    out->dropped = malloc((n - q->max_should) * sizeof *out->dropped);
    if (!order || !out->dropped) {
        free(order);
        return LORE_NOMEM;
    }
    n = 0;
    for (size_t i = 0; i < q->nterms; i++)
        if (ql[i].qt->role == LEX_SHOULD && ql[i].df > 0) order[n++] = &ql[i];
    qsort(order, n, sizeof *order, cmp_selective);
    for (size_t i = n; i-- > q->max_should;) {
        order[i]->dropped = 1;
        out->dropped[out->ndropped++] = (uint32_t)(order[i] - ql);
    }
    free(order);
    return LORE_OK;
}

/* Memory of long queries. A query may carry LEX_MAX_QUERY_TERMS terms, and
 * the SHOULD terms max_should drops are the least selective, i.e. the
 * longest lists (a tenant's commonest words): holding every term's lists
 * until the selection would cost the sum of thousands of the longest lists,
 * growing with the corpus. The df the selection needs is in each list's
 * header, but the store's kv get returns whole values (no prefix read), and
 * keeping a df per term elsewhere would change the index format and every
 * write and merge. So when max_should may drop terms (more SHOULD terms than
 * max_should), the SHOULD lists are read twice: a first pass reads each
 * value into one scratch buffer only for its header's df (and notes which
 * segments hold the term), and once the selection is made a second pass
 * keeps the lists of the kept terms. The lists read again are the most
 * selective, i.e. the shortest, so the second pass costs far less than the
 * first; required and excluded lists are always kept and are held from the
 * first pass. Lists held at once: the kept ones, plus one value in the
 * scratch buffer. Searches run inside a read snapshot (search.c), so both
 * passes see the same lists. */

typedef enum load_mode {
    LOAD_KEEP,  /* read the lists, sum df, hold the lists */
    LOAD_DF,    /* read the lists, sum df, note which segments hold one */
    LOAD_AGAIN, /* after LOAD_DF: hold the lists of those segments */
} load_mode;

/* Reads the lists of term l in every segment (see load_mode). */
static lore_status load_term(lex_index *x, const lex_ns *ns, const lex_meta *m, qlist *l,
                             load_mode mode, lore_buf *key, lore_buf *val, uint64_t *held,
                             lex_result *out) {
    if (mode != LOAD_AGAIN) {
        l->blobs = calloc(m->nsegs, sizeof *l->blobs);
        l->lens = calloc(m->nsegs, sizeof *l->lens);
        if (!l->blobs || !l->lens) return LORE_NOMEM;
    }
    int again = mode == LOAD_AGAIN, keep = mode != LOAD_DF;
    for (size_t s = 0; s < m->nsegs; s++) {
        if (again && !l->lens[s]) continue;
        uint8_t sk[LEX_SEG_KEY];
        lex_be32(sk, m->segs[s].id);
        lore_buf_reset(key);
        lore_status st;
        if ((st = lore_buf_append(key, sk, 4)) != LORE_OK ||
            (st = lore_buf_append_byte(key, (uint8_t)l->qt->field)) != LORE_OK ||
            (st = lore_buf_append(key, l->qt->term, l->qt->len)) != LORE_OK)
            return st;
        st = store_kv_get(x->t, ns->postings, key->data, key->len, val);
        if (st == LORE_NOT_FOUND) continue;
        if (st != LORE_OK) return st;
        postings_header h;
        if ((st = postings_parse((const uint8_t *)val->data, val->len, &h)) != LORE_OK) return st;
        if (!again) l->df += h.df;
        l->lens[s] = val->len;
        out->postings_bytes_loaded += val->len;
        if (*held + val->len > out->postings_bytes_peak)
            out->postings_bytes_peak = *held + val->len;
        if (!keep) continue; /* the scratch buffer is reused for the next value */
        if (!(l->blobs[s] = (uint8_t *)lore_buf_take(val))) return LORE_NOMEM;
        *held += l->lens[s];
    }
    return LORE_OK;
}

/* Reads every term's lists and df, applies max_should, and leaves the
 * lists of every term evaluated in ql (see "Memory of long queries"). */
static lore_status load_terms(lex_index *x, const lex_ns *ns, const lex_meta *m, const lex_query *q,
                              qlist *ql, lex_result *out) {
    lore_buf key, val;
    lore_buf_init(&key, 1 << 16);
    lore_buf_init(&val, (size_t)1 << 30);
    size_t nshould = 0;
    for (size_t i = 0; i < q->nterms; i++)
        nshould += q->terms[i].role == LEX_SHOULD;
    int two_pass = q->max_should && nshould > q->max_should;
    uint64_t held = 0; /* bytes of lists held now */
    lore_status st = LORE_OK;
    for (size_t i = 0; i < q->nterms && st == LORE_OK; i++) {
        qlist *l = &ql[i];
        l->qt = &q->terms[i];
        load_mode mode = two_pass && l->qt->role == LEX_SHOULD ? LOAD_DF : LOAD_KEEP;
        st = load_term(x, ns, m, l, mode, &key, &val, &held, out);
        double N = (double)m->live_chunks, df = (double)l->df;
        if (df > N) df = N;
        l->idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
    }
    if (st == LORE_OK) st = select_should(q, ql, out);
    lore_buf_free(&val); /* its capacity fits the longest list seen */
    for (size_t i = 0; two_pass && i < q->nterms && st == LORE_OK; i++) {
        qlist *l = &ql[i];
        if (l->qt->role == LEX_SHOULD && !l->dropped && l->df > 0)
            st = load_term(x, ns, m, l, LOAD_AGAIN, &key, &val, &held, out);
    }
    lore_buf_free(&key);
    lore_buf_free(&val);
    return st;
}

static int cmp_hits(const void *a, const void *b) {
    const lex_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

lore_status lex_search(lex_index *x, const lex_query *q, lex_result *out) {
    memset(out, 0, sizeof *out);
    if (q->nterms > LEX_MAX_QUERY_TERMS || q->k == 0 || q->k > 100000) return LORE_INVALID;
    lex_meta m = {0};
    eval e = {.x = x, .q = q, .k1 = x->params.k1, .b = x->params.b};
    i64set_init(&e.dead);
    qlist *ql = calloc(q->nterms ? q->nterms : 1, sizeof *ql);
    /* The live slot is read afresh: a rebuild may have switched it, in
     * this process or another, since the index was opened. */
    lex_ns ns;
    lore_status st = ql ? lex_live_ns(x->t, &ns) : LORE_NOMEM;
    if (st == LORE_OK) st = lex_meta_load(x->t, ns.meta, &x->params, &m);
    if (st != LORE_OK || !m.nsegs || !m.live_chunks) goto out;
    e.avgdl = (double)m.total_len / (double)m.live_chunks;
    if (e.avgdl <= 0) e.avgdl = 1;
    st = lex_tombstones_load(x->t, ns.deleted, 0, INT64_MAX - 1, &e.dead);
    if (st == LORE_OK) st = load_terms(x, &ns, &m, q, ql, out);
    if (st != LORE_OK) goto out;
    for (size_t i = 0; i < q->nterms; i++)
        if (!ql[i].dropped) out->postings_total += ql[i].df;
    e.heap.k = q->k;
    if (!(e.heap.h = malloc(q->k * sizeof *e.heap.h))) {
        st = LORE_NOMEM;
        goto out;
    }
    for (size_t s = 0; s < m.nsegs && st == LORE_OK && !e.failed; s++)
        st = eval_segment(&e, ql, q->nterms, s);
    if (st == LORE_OK && e.failed) st = LORE_INTERNAL;
    if (st != LORE_OK) goto out;
    out->hits = malloc((e.heap.n ? e.heap.n : 1) * sizeof *out->hits);
    if (!out->hits) {
        st = LORE_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < e.heap.n; i++)
        out->hits[i] = (lex_hit){e.heap.h[i].chunk, e.heap.h[i].group, e.heap.h[i].score};
    out->n = e.heap.n;
    qsort(out->hits, out->n, sizeof *out->hits, cmp_hits);
out:
    out->postings_scored = e.scored;
    out->candidates_admitted = e.admitted;
    for (size_t i = 0; ql && i < q->nterms; i++) {
        for (size_t s = 0; ql[i].blobs && s < m.nsegs; s++)
            free(ql[i].blobs[s]);
        free(ql[i].blobs);
        free(ql[i].lens);
    }
    free(ql);
    free(e.heap.h);
    i64set_free(&e.dead);
    lex_meta_free(&m);
    if (st != LORE_OK) lex_result_free(out);
    return st;
}
