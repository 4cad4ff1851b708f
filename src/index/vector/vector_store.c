/* The persisted vector index (index_vector.h): handles, slots found from
 * the control record, write batches written as rows in the caller's store
 * transaction. Searching is in vector_search.c, the model switch in
 * vector_slots.c, the shared graphs in vector_shared.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/vector/vector_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vector rows store float32 in host order, which must be little-endian"
#endif

lore_status vec_fail(vec_index *x, lore_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
    return st;
}

void vec_params_default(vec_params *p, uint32_t dims, hnsw_metric metric) {
    hnsw_params h;
    hnsw_params_default(&h, dims, metric);
    memset(p, 0, sizeof *p);
    p->dims = dims, p->metric = metric;
    p->M = h.M, p->ef_construction = h.ef_construction, p->ef_search = h.ef_search;
}

lore_status vec_model_key(const char *url, const char *model, uint32_t dims, char *out,
                          size_t outlen) {
    size_t cap = outlen < VEC_MODEL_KEY_MAX + 1 ? outlen : VEC_MODEL_KEY_MAX + 1;
    int n = snprintf(out, cap, "%s|%s|%u", url ? url : "", model ? model : "", (unsigned)dims);
    return n < 0 || (size_t)n >= cap ? LORE_TOO_LARGE : LORE_OK;
}

void vec_result_free(vec_result *r) {
    free(r->hits);
    memset(r, 0, sizeof *r);
}

static void hnsw_params_of(const vec_params *vp, hnsw_params *hp) {
    hnsw_params_default(hp, vp->dims, vp->metric);
    if (vp->M) hp->M = vp->M;
    if (vp->ef_construction) hp->ef_construction = vp->ef_construction;
    if (vp->ef_search) hp->ef_search = vp->ef_search;
    hp->seed = vec_random64();
    hp->keep_float = 0;
}

static lore_status vx_open(store_tenant *t, const vec_params *p, const char *model_key,
                           void **state, const char **err) {
    const char *why = NULL;
    hnsw_params hp;
    hnsw *probe = NULL;
    if (!t || !p || !state)
        why = "no store tenant, parameters or state";
    else if (!p->scope || !*p->scope || strlen(p->scope) > VEC_SCOPE_MAX)
        why = "scope (the data directory) is missing or too long";
    else if (!model_key || !*model_key || strlen(model_key) > VEC_MODEL_KEY_MAX)
        why = "model key is missing or longer than 512 bytes";
    if (!why && p->dims) { /* dims 0: the slot's own, checked when it is read */
        hnsw_params_of(p, &hp);
        if (hnsw_new(&hp, &probe, &why) == LORE_OK)
            hnsw_free(probe);
        else if (!why)
            why = "bad hnsw parameters";
    }
    if (why) {
        if (err) *err = why;
        return LORE_INVALID;
    }
    vec_index *x = calloc(1, sizeof *x);
    char *real = realpath(p->scope, NULL); /* one graph however the directory is named */
    if (x) x->scope = strdup(real ? real : p->scope);
    free(real);
    if (!x || !x->scope) {
        free(x);
        return LORE_NOMEM;
    }
    x->t = t, x->p = *p, x->p.scope = x->scope;
    snprintf(x->key, sizeof x->key, "%s", model_key);
    x->own.slot = x->other.slot = -1;
    lore_buf_init(&x->buf, VEC_BUF_CAP);
    *state = x;
    return LORE_OK;
}

void vec_detach(vec_view *v) {
    vec_shared_put(v->sh);
    free(v->flushed);
    memset(v, 0, sizeof *v);
    v->slot = -1;
}

static void vx_close(void *state) {
    vec_index *x = state;
    if (!x) return;
    vec_detach(&x->own), vec_detach(&x->other);
    lore_buf_free(&x->buf);
    free(x->scope), free(x);
}

static const char *vx_errmsg(void *state) {
    vec_index *x = state;
    return x && x->err[0] ? x->err : "no error";
}

lore_status vec_slot_create(vec_index *x, int slot) {
    if (x->p.dims == 0)
        return vec_fail(x, LORE_INVALID,
                        "this vector handle was opened without a vector length: it cannot "
                        "create a slot");
    hnsw_params hp;
    hnsw *h = NULL;
    hnsw_params_of(&x->p, &hp);
    lore_status st = hnsw_new(&hp, &h, NULL);
    if (st != LORE_OK) return st;
    vec_head hd = {.instance = vec_random64(), .gen = 0, .log_min = 1};
    hd.dims = x->p.dims, hd.metric = x->p.metric;
    snprintf(hd.key, sizeof hd.key, "%s", x->key);
    hnsw_header_encode(h, hd.hnsw_hdr);
    hnsw_free(h);
    return vec_head_save(x->t, slot, &hd, &x->buf);
}

/* Attaches v to slot's shared graph and brings it up to the committed rows. */
lore_status vec_attach(vec_index *x, vec_view *v, int slot, int check_dims) {
    if (v->sh && v->slot != slot) vec_detach(v);
    lore_status st;
    if (!v->sh) {
        if ((st = vec_shared_get(x->scope, store_tenant_name(x->t), slot, &v->sh)) != LORE_OK)
            return st;
        v->slot = slot;
    }
    vec_head hd;
    if ((st = vec_head_load(x->t, slot, &hd, &x->buf)) != LORE_OK)
        return vec_fail(x, st == LORE_NOT_FOUND ? LORE_CORRUPT : st,
                        "vector slot %c has no readable head row", 'A' + slot);
    if (check_dims && x->p.dims == 0) { /* opened for the slot's own length */
        x->p.dims = hd.dims;
        x->p.metric = (hnsw_metric)hd.metric;
    }
    if (check_dims && (hd.dims != x->p.dims || hd.metric != (int)x->p.metric))
        return vec_fail(x, LORE_INVALID,
                        "vector slot %c holds %u-dimension vectors (metric %d); this handle has "
                        "%u (metric %d)",
                        'A' + slot, hd.dims, hd.metric, x->p.dims, (int)x->p.metric);
    pthread_rwlock_rdlock(&v->sh->lock);
    int current = v->sh->h && !v->sh->stale && v->sh->instance == hd.instance &&
                  (v->sh->gen == hd.gen || (!x->in_begin && v->sh->gen > hd.gen));
    pthread_rwlock_unlock(&v->sh->lock);
    if (current) return LORE_OK;
    pthread_rwlock_wrlock(&v->sh->lock);
    /* A writer holds the store's write lock: no batch of this process is in
     * flight, so a graph ahead of the committed head kept a batch that was
     * rolled back without abort. Reload it all. */
    if (x->in_begin && v->sh->h && v->sh->instance == hd.instance && v->sh->gen > hd.gen)
        vec_shared_mark_stale(v->sh, NULL, 0, 1);
    st = vec_shared_refresh(v->sh, x->t, slot, &hd, &x->buf);
    pthread_rwlock_unlock(&v->sh->lock);
    if (st != LORE_OK)
        return vec_fail(x, st, "loading vector slot %c failed: %s", 'A' + slot,
                        st == LORE_CORRUPT ? "a stored record is damaged" : "see the status");
    return LORE_OK;
}

lore_status vec_resolve(vec_index *x, int with_other) {
    lore_status st = vec_control_load(x->t, &x->ctl, &x->buf);
    if (st != LORE_OK) return vec_fail(x, st, "the vector control record is unreadable");
    const vec_control *c = &x->ctl;
    int own = -1, other = -1;
    if (c->live >= 0 && strcmp(c->live_key, x->key) == 0)
        own = c->live, other = c->build;
    else if (c->build >= 0 && strcmp(c->build_key, x->key) == 0)
        own = c->build, other = c->live;
    else
        other = c->live;
    if (own < 0)
        vec_detach(&x->own);
    else if ((st = vec_attach(x, &x->own, own, 1)) != LORE_OK)
        return st;
    if (!with_other) return LORE_OK; /* reading: only the handle's own slot */
    if (other < 0)
        vec_detach(&x->other);
    else if ((st = vec_attach(x, &x->other, other, 0)) != LORE_OK)
        return st;
    return LORE_OK;
}

static lore_status vx_begin(void *state) {
    vec_index *x = state;
    if (x->in_batch) return vec_fail(x, LORE_INVALID, "a vector batch is already open");
    free(x->own.flushed), free(x->other.flushed);
    x->own.flushed = x->other.flushed = NULL;
    x->own.nflushed = x->other.nflushed = 0;
    x->own.changed = x->other.changed = 0;
    x->own.flushed_any = x->other.flushed_any = 0;
    lore_status st = vec_control_load(x->t, &x->ctl, &x->buf);
    if (st != LORE_OK) return vec_fail(x, st, "the vector control record is unreadable");
    if (x->ctl.live < 0 && x->ctl.build < 0) { /* the tenant's first vectors */
        int slot = x->ctl.del == 0 ? 1 : 0;
        x->ctl.live = slot;
        snprintf(x->ctl.live_key, sizeof x->ctl.live_key, "%s", x->key);
        if ((st = vec_slot_create(x, slot)) != LORE_OK ||
            (st = vec_control_save(x->t, &x->ctl, &x->buf)) != LORE_OK)
            return vec_fail(x, st, "creating the vector slot failed");
    }
    x->in_begin = 1;
    st = vec_resolve(x, 1);
    x->in_begin = 0;
    if (st != LORE_OK) return st;
    x->in_batch = 1;
    return LORE_OK;
}

static int vec_ok(const vec_index *x, const float *v) {
    double n2 = 0;
    for (uint32_t i = 0; i < x->p.dims; i++) {
        if (!isfinite(v[i])) return 0;
        n2 += (double)v[i] * v[i];
    }
    return x->p.metric != HNSW_COSINE || n2 > 0;
}

static lore_status vx_add(void *state, int64_t chunk_id, const float *vec) {
    vec_index *x = state;
    if (!x->in_batch) return vec_fail(x, LORE_INVALID, "vector add outside a batch (begin first)");
    if (!x->own.sh)
        return vec_fail(x, LORE_INVALID,
                        "no vector slot holds model '%s' (the live one holds '%s'): start a "
                        "rebuild for it",
                        x->key, x->ctl.live_key);
    if (!vec || !vec_ok(x, vec))
        return vec_fail(x, LORE_INVALID, "chunk %lld: the vector is not finite%s",
                        (long long)chunk_id, x->p.metric == HNSW_COSINE ? " or is zero" : "");
    vec_shared *sh = x->own.sh;
    pthread_rwlock_wrlock(&sh->lock);
    lore_status st = LORE_OK;
    if (!sh->h) st = LORE_INTERNAL; /* stale and unloaded: cannot happen inside a batch */
    if (st == LORE_OK && hnsw_contains(sh->h, chunk_id)) st = hnsw_delete(sh->h, chunk_id);
    if (st == LORE_OK) st = hnsw_insert(sh->h, chunk_id, vec);
    if (st == LORE_OK) sh->inserts++;
    x->own.changed = 1;
    pthread_rwlock_unlock(&sh->lock);
    if (st != LORE_OK) return vec_fail(x, st, "inserting chunk %lld failed", (long long)chunk_id);
    uint8_t key[8];
    vec_chunk_key(chunk_id, key);
    st = store_kv_put(x->t, vec_ns_floats(x->own.slot), key, 8, vec, (size_t)x->p.dims * 4);
    return st == LORE_OK ? st : vec_fail(x, st, "writing the vector row failed");
}

static lore_status view_remove(vec_index *x, vec_view *v, int64_t chunk_id) {
    if (!v->sh) return LORE_OK;
    pthread_rwlock_wrlock(&v->sh->lock);
    lore_status st = LORE_OK;
    if (v->sh->h && hnsw_contains(v->sh->h, chunk_id)) {
        st = hnsw_delete(v->sh->h, chunk_id);
        v->changed = 1;
    }
    pthread_rwlock_unlock(&v->sh->lock);
    uint8_t key[8];
    vec_chunk_key(chunk_id, key);
    if (st == LORE_OK) st = store_kv_delete(x->t, vec_ns_floats(v->slot), key, 8);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

static lore_status vx_remove(void *state, int64_t chunk_id) {
    vec_index *x = state;
    if (!x->in_batch)
        return vec_fail(x, LORE_INVALID, "vector remove outside a batch (begin first)");
    lore_status st = view_remove(x, &x->own, chunk_id);
    if (st == LORE_OK) st = view_remove(x, &x->other, chunk_id);
    return st == LORE_OK ? st : vec_fail(x, st, "removing chunk %lld failed", (long long)chunk_id);
}

/* Writes the node records the batch changed, the change log row and the
 * head (generation + 1); trims the log. Caller holds the write lock. */
static lore_status write_batch(vec_index *x, vec_view *v, const uint32_t *nodes, size_t n) {
    vec_shared *sh = v->sh;
    vec_head hd;
    lore_status st = vec_head_load(x->t, v->slot, &hd, &x->buf);
    for (size_t i = 0; i < n && st == LORE_OK; i++) {
        uint8_t key[4];
        vec_node_key(nodes[i], key);
        size_t need = hnsw_node_record_size(sh->h, nodes[i]), len = 0;
        if (need == 0) {
            st = store_kv_delete(x->t, vec_ns_nodes(v->slot), key, 4);
            if (st == LORE_NOT_FOUND) st = LORE_OK;
            continue;
        }
        lore_buf_reset(&x->buf);
        if ((st = lore_buf_reserve(&x->buf, need)) != LORE_OK) break;
        st = hnsw_node_encode(sh->h, nodes[i], (uint8_t *)x->buf.data, need, &len);
        if (st == LORE_OK) st = store_kv_put(x->t, vec_ns_nodes(v->slot), key, 4, x->buf.data, len);
    }
    if (st != LORE_OK) return st;
    v->gen_before = hd.gen, v->flushed_any = 1;
    hd.gen++;
    uint8_t lkey[9], flag = n > VEC_LOG_MAX_NODES ? 1 : 0;
    vec_log_key(hd.gen, lkey);
    lore_buf_reset(&x->buf);
    st = lore_buf_append(&x->buf, &flag, 1);
    if (st == LORE_OK && !flag) st = lore_buf_append(&x->buf, nodes, n * 4); /* LE host */
    if (st == LORE_OK)
        st = store_kv_put(x->t, vec_ns_meta(v->slot), lkey, 9, x->buf.data, x->buf.len);
    if (st == LORE_OK && hd.gen - hd.log_min >= VEC_LOG_KEEP) {
        uint64_t keep = hd.gen - VEC_LOG_KEEP + 1;
        uint8_t lo[9], hi[9];
        vec_log_key(hd.log_min, lo), vec_log_key(keep, hi);
        st = store_kv_delete_range(x->t, vec_ns_meta(v->slot), lo, 9, hi, 9);
        hd.log_min = keep;
    }
    if (st != LORE_OK) return st;
    hnsw_header_encode(sh->h, hd.hnsw_hdr);
    if ((st = vec_head_save(x->t, v->slot, &hd, &x->buf)) == LORE_OK) sh->gen = hd.gen;
    return st;
}

lore_status vec_view_flush(vec_index *x, vec_view *v) {
    if (!v->sh || !v->changed) return LORE_OK;
    pthread_rwlock_wrlock(&v->sh->lock);
    uint32_t *nodes = NULL;
    size_t n = 0;
    lore_status st = v->sh->h ? hnsw_dirty_take(v->sh->h, &nodes, &n) : LORE_INTERNAL;
    if (st == LORE_OK) st = write_batch(x, v, nodes, n);
    if (st != LORE_OK) vec_shared_mark_stale(v->sh, nodes, n, 0);
    pthread_rwlock_unlock(&v->sh->lock);
    free(v->flushed);
    v->flushed = nodes, v->nflushed = n, v->changed = 0;
    return st;
}

static lore_status vx_flush(void *state) {
    vec_index *x = state;
    if (!x->in_batch) return vec_fail(x, LORE_INVALID, "vector flush outside a batch");
    lore_status st = LORE_OK;
    if (x->p.repair_budget && x->own.sh) {
        pthread_rwlock_wrlock(&x->own.sh->lock);
        size_t work = 0;
        int fin = 1;
        /* returns at once with no tombstone and no pass under way (not
         * hnsw_get_stats: it walks every slot) */
        st = hnsw_repair(x->own.sh->h, x->p.repair_budget, &work, &fin);
        if (work) x->own.changed = 1;
        pthread_rwlock_unlock(&x->own.sh->lock);
    }
    if (st == LORE_OK) st = vec_view_flush(x, &x->own);
    if (st == LORE_OK) st = vec_view_flush(x, &x->other);
    x->in_batch = 0;
    return st == LORE_OK ? st : vec_fail(x, st, "writing the vector batch failed");
}

void vec_view_abort(vec_view *v) {
    if (!v->sh) return;
    pthread_rwlock_wrlock(&v->sh->lock);
    uint32_t *nodes = NULL;
    size_t n = 0;
    if (v->sh->h && hnsw_dirty_take(v->sh->h, &nodes, &n) == LORE_OK &&
        (n || v->nflushed || v->flushed_any || v->changed)) {
        /* reload these nodes and the header from the committed rows */
        vec_shared_mark_stale(v->sh, nodes, n, 0);
        vec_shared_mark_stale(v->sh, v->flushed, v->nflushed, 0);
    }
    /* The flushed generation never committed: another process may commit
     * its own under that number, which the change log must then be read for. */
    if (v->flushed_any && v->sh->gen > v->gen_before) v->sh->gen = v->gen_before;
    pthread_rwlock_unlock(&v->sh->lock);
    free(nodes), free(v->flushed);
    v->flushed = NULL, v->nflushed = 0, v->changed = 0, v->flushed_any = 0;
}

static void vx_abort(void *state) {
    vec_index *x = state;
    vec_view_abort(&x->own), vec_view_abort(&x->other);
    x->in_batch = 0;
}

static lore_status vx_repair(void *state, size_t budget, int *finished) {
    vec_index *x = state;
    *finished = 1;
    if (!x->in_batch) return vec_fail(x, LORE_INVALID, "vector repair outside a batch");
    if (!x->own.sh || budget == 0) return LORE_OK;
    pthread_rwlock_wrlock(&x->own.sh->lock);
    size_t work = 0;
    lore_status st = hnsw_repair(x->own.sh->h, budget, &work, finished);
    if (work) x->own.changed = 1;
    pthread_rwlock_unlock(&x->own.sh->lock);
    return st;
}

/* Resolves for reading (search, stats): inside the caller's batch or read
 * snapshot, else in one of its own; *began says whether we opened one. */
lore_status vec_read_begin(vec_index *x, int *began) {
    *began = 0;
    if (!x->in_batch) {
        lore_status st = store_begin_read(x->t);
        if (st == LORE_OK)
            *began = 1;
        else if (st != LORE_INVALID)
            return vec_fail(x, st, "opening a read snapshot failed");
        st = vec_resolve(x, 0);
        if (st != LORE_OK && *began) store_end_read(x->t), *began = 0;
        return st;
    }
    return LORE_OK;
}

static lore_status vx_stats(void *state, vec_stats *out) {
    vec_index *x = state;
    memset(out, 0, sizeof *out);
    int began;
    lore_status st = vec_read_begin(x, &began);
    if (st != LORE_OK) return st;
    vec_shared *sh = x->own.sh;
    if (sh) {
        pthread_rwlock_rdlock(&sh->lock);
        if (sh->h) {
            hnsw_stats hs;
            hnsw_get_stats(sh->h, &hs);
            out->live = (int64_t)hs.live, out->tombstones = (int64_t)hs.tombstones;
            out->bytes_per_vector = hs.bytes_per_vector;
        }
        out->slot = (char)('A' + x->own.slot);
        out->generation = sh->gen;
        out->full_loads = sh->full_loads, out->nodes_loaded = sh->nodes_loaded;
        out->inserts = sh->inserts;
        pthread_rwlock_unlock(&sh->lock);
        out->sharers = vec_shared_refs(sh);
    }
    if (began) store_end_read(x->t);
    return LORE_OK;
}

const index_vector_ops index_vector_hnsw = {
    .version = INDEX_VECTOR_VERSION,
    .name = "hnsw",
    .open = vx_open,
    .close = vx_close,
    .begin = vx_begin,
    .add = vx_add,
    .remove = vx_remove,
    .flush = vx_flush,
    .abort = vx_abort,
    .search = vec_search,
    .stats = vx_stats,
    .repair = vx_repair,
    .rebuild_start = vec_slots_start,
    .rebuild_step = vec_slots_step,
    .rebuild_status = vec_slots_status,
    .errmsg = vx_errmsg,
    .scan = vec_scan,
};
