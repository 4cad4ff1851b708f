/* What the model switch looks like from outside (ingest_reembed.h): its
 * progress, and an audit proving every live chunk has exactly one vector in
 * the live slot and no vector outlives its chunk. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"
#include "ingest/ingest_embed.h"
#include "ingest/ingest_reembed.h"

#define AUDIT_PAGE 4096

static int64_t slot_live(tenant_ctx *ctx, const char *key, char *err, size_t errlen,
                         lore_status *st) {
    tenant_index_vector *h = NULL;
    vec_stats vs;
    *st = tenant_ctx_vector(ctx, key, 0, &h, err, errlen);
    if (*st == LORE_OK && (*st = h->ops->stats(h->state, &vs)) != LORE_OK)
        snprintf(err, errlen, "reading the vector slot failed: %s", h->ops->errmsg(h->state));
    return *st == LORE_OK ? vs.live : 0;
}

lore_status ingest_reembed_progress(tenant_ctx *ctx, embed_registry *reg, reembed_progress *out,
                                    char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    vec_rebuild_status rs;
    lore_status st = tenant_ctx_vector_status(ctx, &rs, err, errlen);
    if (st != LORE_OK) return st;
    int64_t docs = 0;
    if ((st = store_counts(ctx->store, &docs, &out->chunks)) != LORE_OK) {
        snprintf(err, errlen, "counting chunks failed: %s", store_tenant_errmsg(ctx->store));
        return st;
    }
    snprintf(out->live_key, sizeof out->live_key, "%s", rs.live_key);
    snprintf(out->build_key, sizeof out->build_key, "%s", rs.build_key);
    if (reg) {
        embedder *e = embed_registry_configured(reg);
        snprintf(out->target_key, sizeof out->target_key, "%s", e->ops->model_key(e));
    }
    out->phase = rs.phase == VEC_REBUILD_COPYING    ? "copying"
                 : rs.phase == VEC_REBUILD_DELETING ? "deleting"
                                                    : "idle";
    const char *slot = rs.phase == VEC_REBUILD_COPYING ? rs.build_key : rs.live_key;
    if (slot[0]) {
        out->vectors = slot_live(ctx, slot, err, errlen, &st);
        if (st != LORE_OK) return st;
    }
    out->pending = out->chunks > out->vectors ? out->chunks - out->vectors : 0;
    /* tenths, rounded down: 100 only when complete */
    out->percent =
        out->chunks ? (double)((out->chunks - out->pending) * 1000 / out->chunks) / 10.0 : 100.0;
    out->switch_needed = out->target_key[0] && (strcmp(out->target_key, out->live_key) != 0 ||
                                                rs.phase == VEC_REBUILD_COPYING);
    if (out->target_key[0] && !out->live_key[0] && !out->chunks) out->switch_needed = 0;
    return LORE_OK;
}

/* ---- the audit ---- */

typedef struct vecs {
    int64_t *id;
    uint8_t *in_graph;
    size_t n, cap;
    int nomem;
} vecs;

static int on_vec(void *ctx, int64_t id, int in_graph) {
    vecs *v = ctx;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        int64_t *a = realloc(v->id, cap * sizeof *a);
        if (a) v->id = a;
        uint8_t *g = realloc(v->in_graph, cap);
        if (g) v->in_graph = g;
        if (!a || !g) return v->nomem = 1;
        v->cap = cap;
    }
    v->id[v->n] = id, v->in_graph[v->n] = (uint8_t)in_graph;
    v->n++;
    return 0;
}

typedef struct page {
    int64_t ids[AUDIT_PAGE];
    size_t n;
} page;

static int on_chunk_id(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t tl,
                       const char *text, size_t xl) {
    (void)nterms, (void)title, (void)tl, (void)text, (void)xl;
    page *p = ctx;
    p->ids[p->n++] = id;
    return p->n == AUDIT_PAGE;
}

/* A pending row's key (ingest_embed.h): the chunk id, 8 bytes big-endian. */
static void be64(int64_t id, uint8_t k[8]) {
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)((uint64_t)id >> (56 - 8 * i));
}

static void missing(tenant_ctx *ctx, vec_audit *a, int64_t id, lore_buf *buf) {
    uint8_t k[8];
    be64(id, k);
    a->missing++;
    if (store_kv_get(ctx->store, STORE_NS_EMBED_PENDING, k, 8, buf) == LORE_OK)
        a->missing_pending++;
    else if (!a->first_missing)
        a->first_missing = id;
}

/* Merges the chunk ids (ascending, in pages) with the vector ids. */
static lore_status merge(tenant_ctx *ctx, const vecs *v, vec_audit *a, char *err, size_t errlen) {
    page *p = malloc(sizeof *p);
    lore_buf buf;
    lore_buf_init(&buf, 1 << 16);
    if (!p) return LORE_NOMEM;
    size_t vi = 0;
    int64_t after = 0;
    lore_status st = LORE_OK;
    for (;;) {
        p->n = 0;
        if ((st = store_chunk_scan(ctx->store, after, AUDIT_PAGE, on_chunk_id, p)) != LORE_OK) {
            snprintf(err, errlen, "reading chunks failed: %s", store_tenant_errmsg(ctx->store));
            break;
        }
        for (size_t i = 0; i < p->n; i++) {
            int64_t c = p->ids[i];
            a->chunks++;
            while (vi < v->n && v->id[vi] < c) { /* vectors of chunks that are gone */
                a->orphans++;
                if (!a->first_orphan) a->first_orphan = v->id[vi];
                vi++;
            }
            if (vi < v->n && v->id[vi] == c)
                vi++;
            else
                missing(ctx, a, c, &buf);
        }
        if (p->n < AUDIT_PAGE) break;
        after = p->ids[p->n - 1];
    }
    for (; st == LORE_OK && vi < v->n; vi++) {
        a->orphans++;
        if (!a->first_orphan) a->first_orphan = v->id[vi];
    }
    lore_buf_free(&buf);
    free(p);
    return st;
}

lore_status ingest_vector_audit(tenant_ctx *ctx, int allow_pending, vec_audit *a, char *err,
                                size_t errlen) {
    memset(a, 0, sizeof *a);
    lore_status st = store_begin_read(ctx->store);
    if (st != LORE_OK) {
        snprintf(err, errlen, "opening a read snapshot failed: %s",
                 store_tenant_errmsg(ctx->store));
        return st;
    }
    vec_rebuild_status rs;
    vecs v = {0};
    st = tenant_ctx_vector_status(ctx, &rs, err, errlen);
    if (st == LORE_OK && rs.live_key[0]) {
        snprintf(a->live_key, sizeof a->live_key, "%s", rs.live_key);
        tenant_index_vector *h = NULL;
        vec_stats vs;
        st = tenant_ctx_vector(ctx, rs.live_key, 0, &h, err, errlen);
        if (st == LORE_OK && (st = h->ops->scan(h->state, 0, 0, on_vec, &v)) == LORE_OK &&
            (st = h->ops->stats(h->state, &vs)) == LORE_OK)
            a->graph_live = vs.live;
        else if (h)
            snprintf(err, errlen, "reading the live vector slot failed: %s",
                     h->ops->errmsg(h->state));
        if (v.nomem) st = LORE_NOMEM;
    }
    for (size_t i = 0; st == LORE_OK && i < v.n; i++)
        a->not_in_graph += !v.in_graph[i];
    a->vectors = (int64_t)v.n;
    if (st == LORE_OK) st = merge(ctx, &v, a, err, errlen);
    store_end_read(ctx->store);
    free(v.id), free(v.in_graph);
    if (st != LORE_OK) return st;
    int64_t lacking = a->missing - (allow_pending ? a->missing_pending : 0);
    a->ok = lacking == 0 && a->orphans == 0 && a->not_in_graph == 0 && a->graph_live == a->vectors;
    return LORE_OK;
}

static json_t *key_or_null(const char *k) {
    return k[0] ? json_string(k) : json_null();
}

json_t *ingest_reembed_json(const reembed_progress *p, const vec_audit *a) {
    json_t *o =
        json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I,s:f,s:b}", "phase", p->phase, "live_model",
                  key_or_null(p->live_key), "build_model", key_or_null(p->build_key),
                  "target_model", key_or_null(p->target_key), "chunks", (json_int_t)p->chunks,
                  "vectors", (json_int_t)p->vectors, "pending", (json_int_t)p->pending, "percent",
                  p->percent, "switch_needed", p->switch_needed);
    if (o && a) {
        json_t *x = json_pack(
            "{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", a->ok, "chunks", (json_int_t)a->chunks,
            "vectors", (json_int_t)a->vectors, "graph_live", (json_int_t)a->graph_live, "missing",
            (json_int_t)a->missing, "missing_pending", (json_int_t)a->missing_pending, "orphans",
            (json_int_t)a->orphans, "not_in_graph", (json_int_t)a->not_in_graph);
        if (!x || json_object_set_new(o, "audit", x)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
