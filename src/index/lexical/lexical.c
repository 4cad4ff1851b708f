/* lore's segmented BM25 index: the ops table, batches and segment writes.
 *
 * Adding a chunk analyzes its title and text once, counts term
 * frequencies, and appends one posting per distinct term to an in-memory
 * list per (field, term). flush (or a full buffer) writes those lists as a
 * new segment; removing a chunk writes a tombstone that searches skip and
 * merges purge. Statistics (live chunks, total length) are kept exact on
 * every add and remove; document frequencies count tombstoned chunks until
 * their segment is merged, as in Lucene. */
#include "index/lexical/lexical_int.h"

#include <stdlib.h>
#include <string.h>

void lex_params_default(lex_params *p) {
    p->k1 = 1.2f;
    p->b = 0.75f;
    p->title_weight = 2;
    p->flush_postings = 4u << 20;
}

void lex_result_free(lex_result *r) {
    free(r->hits);
    free(r->dropped);
    memset(r, 0, sizeof *r);
}

void lex_writer_clear(lex_index *x) {
    for (size_t i = 0; i < x->terms.count; i++)
        x->lists[i].n = 0;
    strmap_clear(&x->terms);
    x->buffered = 0;
    x->w_first = x->w_last = 0;
    x->w_added = 0;
    i64set_free(&x->w_deleted);
    x->ntombs = 0;
}

lore_status lex_index_new(store_tenant *t, const lex_params *p, lex_ns ns, lex_index **out) {
    *out = NULL;
    lex_index *x = calloc(1, sizeof *x);
    if (!x) return LORE_NOMEM;
    x->t = t;
    x->params = *p;
    x->ns = ns;
    strmap_init(&x->terms);
    strmap_init(&x->chunk_terms);
    i64set_init(&x->w_deleted);
    lore_buf_init(&x->key, 1 << 16);
    lore_buf_init(&x->val, (size_t)1 << 30);
    lore_status st = text_analyzer_new(&x->an);
    if (st == LORE_OK) st = lex_meta_load(t, ns.meta, p, &x->meta);
    if (st != LORE_OK) {
        lex_index_free(x);
        return st;
    }
    *out = x;
    return LORE_OK;
}

static lore_status lex_open(store_tenant *t, const lex_params *p, void **state) {
    *state = NULL;
    lex_ns ns;
    lore_status st = lex_live_ns(t, &ns);
    lex_index *x = NULL;
    if (st == LORE_OK) st = lex_index_new(t, p, ns, &x);
    if (st == LORE_OK) *state = x;
    return st;
}

void lex_index_free(lex_index *x) {
    if (!x) return;
    lex_index_free(x->build);
    for (size_t i = 0; i < x->lists_cap; i++)
        free(x->lists[i].p);
    free(x->lists);
    strmap_free(&x->terms);
    strmap_free(&x->chunk_terms);
    i64set_free(&x->w_deleted);
    free(x->tombs);
    free(x->tf_all);
    free(x->tf_title);
    lore_buf_free(&x->key);
    lore_buf_free(&x->val);
    lex_meta_free(&x->meta);
    text_analyzer_free(x->an);
    free(x);
}

static void lex_close(void *state) {
    lex_index_free(state);
}

static lore_status lex_begin(void *state) {
    lex_index *x = state;
    lex_writer_clear(x);
    x->in_batch = 0;
    /* Another process may have written (or switched slots) since we last
     * looked: the control record and meta read inside the transaction are
     * the ones this batch builds on. */
    lore_status st = lex_rebuild_begin(x);
    if (st == LORE_OK) st = lex_meta_load(x->t, x->ns.meta, &x->params, &x->meta);
    if (st == LORE_OK) x->in_batch = 1;
    return st;
}

static void lex_abort(void *state) {
    lex_index *x = state;
    lex_writer_clear(x);
    x->in_batch = 0;
    if (x->build) {
        lex_writer_clear(x->build);
        x->build->in_batch = 0;
    }
}

/* Analyzer callback: counts one term of the current chunk and field. */
static int count_term(void *ctx, const text_token *tok) {
    lex_index *x = ctx;
    uint32_t id;
    int added;
    x->cur_len++;
    if (strmap_intern(&x->chunk_terms, tok->term, tok->term_len, &id, &added) != LORE_OK) return -1;
    if (id >= x->tf_cap) {
        size_t ncap = x->tf_cap ? x->tf_cap * 2 : 256;
        uint32_t *a = realloc(x->tf_all, ncap * sizeof *a);
        if (!a) return -1;
        x->tf_all = a;
        uint32_t *b = realloc(x->tf_title, ncap * sizeof *b);
        if (!b) return -1;
        x->tf_title = b;
        x->tf_cap = ncap;
    }
    if (added) x->tf_all[id] = x->tf_title[id] = 0;
    if (x->cur_field == LEX_FIELD_TITLE)
        x->tf_title[id]++;
    else
        x->tf_all[id]++;
    return 0;
}

static lore_status append_posting(lex_index *x, uint8_t field, const char *term, uint32_t len,
                                  int64_t chunk, uint32_t tf, uint32_t dl) {
    lore_status st;
    lore_buf_reset(&x->key);
    if ((st = lore_buf_append_byte(&x->key, field)) != LORE_OK ||
        (st = lore_buf_append(&x->key, term, len)) != LORE_OK)
        return st;
    uint32_t id;
    int added;
    if ((st = strmap_intern(&x->terms, x->key.data, x->key.len, &id, &added)) != LORE_OK) return st;
    if (id >= x->lists_cap) {
        size_t ncap = x->lists_cap ? x->lists_cap * 2 : 1024;
        lex_plist *nl = realloc(x->lists, ncap * sizeof *nl);
        if (!nl) return LORE_NOMEM;
        memset(nl + x->lists_cap, 0, (ncap - x->lists_cap) * sizeof *nl);
        x->lists = nl;
        x->lists_cap = ncap;
    }
    lex_plist *pl = &x->lists[id];
    if (pl->n == pl->cap) {
        uint32_t ncap = pl->cap ? pl->cap * 2 : 4;
        posting *np = realloc(pl->p, ncap * sizeof *np);
        if (!np) return LORE_NOMEM;
        pl->p = np;
        pl->cap = ncap;
    }
    pl->p[pl->n++] = (posting){chunk, tf, dl};
    x->buffered++;
    return LORE_OK;
}

lore_status lex_add(void *state, int64_t chunk_id, const char *title, size_t title_len,
                    const char *text, size_t text_len, uint32_t *nterms) {
    lex_index *x = state;
    *nterms = 0;
    if (!x->in_batch) return LORE_INVALID;
    int64_t floor = x->w_last;
    if (x->meta.nsegs && x->meta.segs[x->meta.nsegs - 1].max_chunk > floor)
        floor = x->meta.segs[x->meta.nsegs - 1].max_chunk;
    if (chunk_id <= floor) return LORE_INVALID; /* ids must ascend */
    strmap_clear(&x->chunk_terms);
    lore_status st;
    x->cur_field = LEX_FIELD_TITLE;
    x->cur_len = 0;
    if (title && (st = text_analyze(x->an, title, title_len, count_term, x)) != LORE_OK) return st;
    uint32_t title_terms = x->cur_len;
    x->cur_field = LEX_FIELD_ALL;
    x->cur_len = 0;
    if ((st = text_analyze(x->an, text, text_len, count_term, x)) != LORE_OK) return st;
    uint32_t body_terms = x->cur_len;
    /* text_analyze stops early without an error when the callback fails. */
    uint64_t counted = 0;
    for (size_t i = 0; i < x->chunk_terms.count; i++)
        counted += x->tf_all[i] + (uint64_t)x->tf_title[i];
    if (counted != (uint64_t)title_terms + body_terms) return LORE_NOMEM;
    uint32_t w = x->meta.title_weight;
    uint32_t len = body_terms + w * title_terms;
    for (uint32_t id = 0; id < x->chunk_terms.count; id++) {
        uint32_t tl;
        const char *term = strmap_key(&x->chunk_terms, id, &tl);
        uint32_t tf = x->tf_all[id] + w * x->tf_title[id];
        if ((st = append_posting(x, LEX_FIELD_ALL, term, tl, chunk_id, tf, len)) != LORE_OK)
            return st;
        if (x->tf_title[id] && (st = append_posting(x, LEX_FIELD_TITLE, term, tl, chunk_id,
                                                    x->tf_title[id], title_terms)) != LORE_OK)
            return st;
    }
    if (!x->w_first) x->w_first = chunk_id;
    x->w_last = chunk_id;
    x->w_added++;
    x->meta.live_chunks++;
    x->meta.total_len += len;
    *nterms = len;
    if (x->buffered >= x->params.flush_postings) return lex_write_segment(x);
    return LORE_OK;
}

lore_status lex_remove_one(lex_index *x, int64_t chunk_id, uint32_t nterms) {
    if (!x->in_batch) return LORE_INVALID;
    lore_status st;
    if (x->w_first && chunk_id >= x->w_first) {
        if ((st = i64set_add(&x->w_deleted, chunk_id)) != LORE_OK) return st;
    } else {
        long s = lex_meta_find(&x->meta, chunk_id);
        if (s < 0) return LORE_NOT_FOUND;
        if (x->ntombs == x->tombs_cap) {
            size_t ncap = x->tombs_cap ? x->tombs_cap * 2 : 64;
            int64_t *nt = realloc(x->tombs, ncap * sizeof *nt);
            if (!nt) return LORE_NOMEM;
            x->tombs = nt;
            x->tombs_cap = ncap;
        }
        x->tombs[x->ntombs++] = chunk_id;
        x->meta.segs[s].deleted++;
    }
    x->meta.live_chunks--;
    x->meta.total_len -= nterms;
    if (x->meta.live_chunks < 0) x->meta.live_chunks = 0;
    if (x->meta.total_len < 0) x->meta.total_len = 0;
    return LORE_OK;
}

static lore_status lex_remove(void *state, int64_t chunk_id, uint32_t nterms) {
    lex_index *x = state;
    if (!x->in_batch) return LORE_INVALID;
    if (x->build && x->build->in_batch) return lex_rebuild_remove(x, chunk_id, nterms);
    return lex_remove_one(x, chunk_id, nterms);
}

typedef struct key_ref {
    const char *key;
    uint32_t len, id;
} key_ref;

static int cmp_key_ref(const void *a, const void *b) {
    const key_ref *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

lore_status lex_write_segment(lex_index *x) {
    if (!x->w_added) return LORE_OK;
    size_t n = x->terms.count;
    key_ref *refs = malloc((n ? n : 1) * sizeof *refs);
    if (!refs) return LORE_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        refs[i].key = strmap_key(&x->terms, i, &refs[i].len);
        refs[i].id = i;
    }
    /* Sorted keys make the B-tree inserts sequential. */
    qsort(refs, n, sizeof *refs, cmp_key_ref);
    int64_t live = x->w_added - (int64_t)x->w_deleted.count;
    lore_status st = LORE_OK;
    if (live > 0) {
        uint32_t seg = x->meta.next_segment++;
        for (size_t i = 0; i < n && st == LORE_OK; i++) {
            lex_plist *pl = &x->lists[refs[i].id];
            uint32_t keep = 0;
            for (uint32_t j = 0; j < pl->n; j++)
                if (!i64set_has(&x->w_deleted, pl->p[j].doc)) pl->p[keep++] = pl->p[j];
            if (!keep) continue;
            lore_buf_reset(&x->key);
            lore_buf_reset(&x->val);
            uint8_t sk[LEX_SEG_KEY];
            lex_be32(sk, seg);
            if ((st = lore_buf_append(&x->key, sk, sizeof sk)) != LORE_OK ||
                (st = lore_buf_append(&x->key, refs[i].key, refs[i].len)) != LORE_OK ||
                (st = postings_encode(pl->p, keep, &x->val)) != LORE_OK)
                break;
            st = store_kv_put(x->t, x->ns.postings, x->key.data, x->key.len, x->val.data,
                              x->val.len);
        }
        if (st == LORE_OK) {
            lex_meta *m = &x->meta;
            if (m->nsegs == m->cap) {
                size_t ncap = m->cap ? m->cap * 2 : 8;
                lex_segment *ns = realloc(m->segs, ncap * sizeof *ns);
                if (!ns)
                    st = LORE_NOMEM;
                else
                    m->segs = ns, m->cap = ncap;
            }
            if (st == LORE_OK)
                m->segs[m->nsegs++] = (lex_segment){seg, x->w_first, x->w_last, live, 0};
        }
    }
    free(refs);
    if (st != LORE_OK) return st;
    /* Tombstones stay pending until flush; the buffer is empty again. */
    size_t ntombs = x->ntombs;
    lex_writer_clear(x);
    x->ntombs = ntombs;
    return LORE_OK;
}

lore_status lex_write_batch(lex_index *x) {
    lore_status st = lex_write_segment(x);
    if (st == LORE_OK) st = lex_tombstones_write(x);
    if (st == LORE_OK) st = lex_merge_policy(x);
    if (st == LORE_OK) st = lex_meta_save(x->t, x->ns.meta, &x->meta);
    return st;
}

static lore_status lex_flush(void *state) {
    lex_index *x = state;
    if (!x->in_batch) return LORE_INVALID;
    lore_status st = lex_write_batch(x);
    /* The slot being built gets this batch's copied chunks and removals. */
    if (st == LORE_OK && x->build && x->build->in_batch) st = lex_write_batch(x->build);
    if (x->build) x->build->in_batch = 0;
    x->in_batch = 0;
    return st;
}

static lore_status lex_optimize(void *state) {
    lex_index *x = state;
    if (!x->in_batch) return LORE_INVALID;
    lore_status st = lex_write_segment(x);
    if (st == LORE_OK) st = lex_tombstones_write(x);
    if (st == LORE_OK && x->meta.nsegs) st = lex_merge(x, 0, x->meta.nsegs);
    return st;
}

static lore_status lex_stats_get(void *state, lex_stats *out) {
    lex_index *x = state;
    lex_meta m = {0};
    lex_ns ns;
    lore_status st = lex_live_ns(x->t, &ns);
    if (st == LORE_OK) st = lex_meta_load(x->t, ns.meta, &x->params, &m);
    if (st != LORE_OK) return st;
    out->chunks = m.live_chunks;
    out->avg_len = m.live_chunks ? (double)m.total_len / (double)m.live_chunks : 0;
    out->segments = (uint32_t)m.nsegs;
    out->deleted = 0;
    for (size_t i = 0; i < m.nsegs; i++)
        out->deleted += m.segs[i].deleted;
    lex_meta_free(&m);
    return LORE_OK;
}

static lore_status lex_search_op(void *state, const lex_query *q, lex_result *out) {
    return lex_search(state, q, out);
}

const index_lexical_ops index_lexical_bm25 = {
    .version = INDEX_LEXICAL_VERSION,
    .name = "bm25",
    .open = lex_open,
    .close = lex_close,
    .begin = lex_begin,
    .add = lex_add,
    .remove = lex_remove,
    .flush = lex_flush,
    .optimize = lex_optimize,
    .abort = lex_abort,
    .search = lex_search_op,
    .stats = lex_stats_get,
    .rebuild_start = lex_rebuild_start,
    .rebuild_step = lex_rebuild_step,
    .rebuild_status = lex_rebuild_status,
};
