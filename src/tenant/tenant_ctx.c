/* The tenant context and its per-thread cache; see tenant_ctx.h. */
#include "tenant/tenant_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

void tenant_settings_default(tenant_settings *s) {
    memset(s, 0, sizeof *s);
    lex_params_default(&s->lex);
    s->vec_metric = HNSW_COSINE;
    s->rrf_k = 60;
    s->w_lexical = s->w_semantic = 1;
}

void tenant_settings_from_config(tenant_settings *s, const lore_config *c) {
    tenant_settings_default(s);
    s->lex.k1 = (float)c->bm25_k1;
    s->lex.b = (float)c->bm25_b;
    s->lex.title_weight = (uint32_t)c->title_weight;
    s->vec_scope = c->data_dir[0] ? c->data_dir : NULL;
    s->rrf_k = c->hybrid_rrf_k;
    s->w_lexical = c->hybrid_weight_lexical;
    s->w_semantic = c->hybrid_weight_semantic;
}

/* Opens the index set over c->store. The one place that names the index
 * implementations. */
static lore_status open_indexes(tenant_ctx *c) {
    c->index.version = TENANT_INDEX_SET_VERSION;
    const index_lexical_ops *lex = &index_lexical_bm25;
    lore_status st = lex->open(c->store, &c->settings.lex, &c->index.lexical.state);
    if (st != LORE_OK) return st;
    c->index.lexical.ops = lex;
    c->embedders = c->settings.embedders;
    return LORE_OK;
}

static tenant_ctx *ctx_new(const tenant_settings *settings) {
    tenant_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (settings)
        c->settings = *settings;
    else
        tenant_settings_default(&c->settings);
    return c;
}

lore_status tenant_ctx_open(store *s, const char *name, const tenant_settings *settings,
                            tenant_ctx **out) {
    *out = NULL;
    if (strlen(name) > STORE_NAME_MAX) return LORE_INVALID;
    tenant_ctx *c = ctx_new(settings);
    if (!c) return LORE_NOMEM;
    snprintf(c->name, sizeof c->name, "%s", name);
    lore_status st = store_tenant_open(s, name, &c->store);
    if (st == LORE_OK) {
        c->owns_store = 1;
        st = open_indexes(c);
    }
    if (st != LORE_OK) {
        tenant_ctx_close(c);
        return st;
    }
    *out = c;
    return LORE_OK;
}

lore_status tenant_ctx_attach(store_tenant *t, const tenant_settings *settings, tenant_ctx **out) {
    *out = NULL;
    tenant_ctx *c = ctx_new(settings);
    if (!c) return LORE_NOMEM;
    c->store = t;
    lore_status st = open_indexes(c);
    if (st != LORE_OK) {
        tenant_ctx_close(c);
        return st;
    }
    *out = c;
    return LORE_OK;
}

static void vector_close(tenant_index_vector *v) {
    if (v->ops) v->ops->close(v->state);
    memset(v, 0, sizeof *v);
}

lore_status tenant_ctx_vector(tenant_ctx *c, const char *model_key, uint32_t dims,
                              tenant_index_vector **out, char *err, size_t errlen) {
    *out = NULL;
    if (!c->settings.vec_scope) {
        snprintf(err, errlen, "no vector index: the data directory is not set");
        return LORE_INVALID;
    }
    if (!model_key || !*model_key || strlen(model_key) > VEC_MODEL_KEY_MAX) {
        snprintf(err, errlen, "the embedding model key is empty or longer than %d bytes",
                 VEC_MODEL_KEY_MAX);
        return LORE_INVALID;
    }
    tenant_index_set *set = &c->index;
    tenant_index_vector *victim = &set->vector[0];
    for (size_t i = 0; i < TENANT_VECTOR_HANDLES; i++) {
        tenant_index_vector *v = &set->vector[i];
        if (v->ops && !strcmp(v->key, model_key)) {
            if (dims == 0 || v->dims == dims) {
                v->used = ++set->vector_tick;
                *out = v;
                return LORE_OK;
            }
            vector_close(v); /* asked for with other dims: reopen */
        }
        if (!v->ops || (victim->ops && v->used < victim->used)) victim = v;
    }
    vector_close(victim);
    vec_params p;
    vec_params_default(&p, dims, c->settings.vec_metric);
    p.scope = c->settings.vec_scope;
    /* Tombstones are repaired in the background of the writes: every
     * committed vector batch (an embed job step, a removal, a reembed step)
     * looks at up to this many nodes of its slot (docs/vector-index.md). */
    p.repair_budget = TENANT_VEC_REPAIR_BUDGET;
    const char *why = NULL;
    const index_vector_ops *ops = &index_vector_hnsw;
    lore_status st = ops->open(c->store, &p, model_key, &victim->state, &why);
    if (st != LORE_OK) {
        snprintf(err, errlen, "opening the vector index failed: %s",
                 why ? why : lore_status_message(st));
        return st;
    }
    victim->ops = ops;
    snprintf(victim->key, sizeof victim->key, "%s", model_key);
    victim->dims = dims;
    victim->used = ++set->vector_tick;
    *out = victim;
    return LORE_OK;
}

/* A key no model has: the handle that only reads the control record. */
#define STATUS_KEY "-status-"

lore_status tenant_ctx_vector_status(tenant_ctx *c, vec_rebuild_status *out, char *err,
                                     size_t errlen) {
    memset(out, 0, sizeof *out);
    tenant_index_vector *v;
    lore_status st = tenant_ctx_vector(c, STATUS_KEY, 0, &v, err, errlen);
    if (st != LORE_OK) return st;
    if ((st = v->ops->rebuild_status(v->state, out)) != LORE_OK)
        snprintf(err, errlen, "reading the vector slots failed: %s", v->ops->errmsg(v->state));
    return st;
}

void tenant_ctx_close(tenant_ctx *c) {
    if (!c) return;
    for (size_t i = 0; i < TENANT_VECTOR_HANDLES; i++)
        vector_close(&c->index.vector[i]);
    if (c->index.lexical.ops) c->index.lexical.ops->close(c->index.lexical.state);
    if (c->owns_store) store_tenant_close(c->store);
    free(c);
}

/* ---- cache ---- */

void tenant_cache_init(tenant_cache *c, size_t nslots, const tenant_settings *settings,
                       void (*user_free)(void *user)) {
    memset(c, 0, sizeof *c);
    c->nslots = nslots < 1 ? 1 : nslots > TENANT_CACHE_MAX ? TENANT_CACHE_MAX : nslots;
    if (settings)
        c->settings = *settings;
    else
        tenant_settings_default(&c->settings);
    c->user_free = user_free;
}

void tenant_cache_drop(tenant_cache *c, tenant_cache_entry *e) {
    if (!e || !e->ctx) return;
    if (e->user && c->user_free) c->user_free(e->user);
    tenant_ctx_close(e->ctx);
    memset(e, 0, sizeof *e);
}

lore_status tenant_cache_get(tenant_cache *c, store *control, const char *name, int64_t stamp,
                             tenant_cache_entry **out) {
    *out = NULL;
    tenant_cache_entry *victim = &c->slots[0];
    for (size_t i = 0; i < c->nslots; i++) {
        tenant_cache_entry *e = &c->slots[i];
        if (e->ctx && !strcmp(e->ctx->name, name)) {
            if (e->stamp == stamp) {
                e->used = ++c->tick;
                *out = e;
                return LORE_OK;
            }
            tenant_cache_drop(c, e); /* re-created since: its files are gone */
        }
        if (!e->ctx || (victim->ctx && e->used < victim->used)) victim = e;
    }
    tenant_cache_drop(c, victim);
    lore_status st = tenant_ctx_open(control, name, &c->settings, &victim->ctx);
    if (st != LORE_OK) return st;
    victim->stamp = stamp;
    victim->used = ++c->tick;
    *out = victim;
    return LORE_OK;
}

void tenant_cache_forget(tenant_cache *c, const char *name) {
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].ctx && !strcmp(c->slots[i].ctx->name, name))
            tenant_cache_drop(c, &c->slots[i]);
}

void tenant_cache_clear(tenant_cache *c) {
    for (size_t i = 0; i < c->nslots; i++)
        tenant_cache_drop(c, &c->slots[i]);
}
