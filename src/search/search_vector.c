/* The semantic retriever: the query's plain words embedded with the model
 * whose vectors the tenant's live slot holds (during a model switch that
 * is the old model: embed_registry_for_key), then the nearest chunks asked
 * of the vector index with the search's admit callback, so filters and
 * ACLs apply inside the graph walk (and its exact fallback) and a page is
 * never short because of them.
 *
 * Query vectors are cached per process (by tenant, model key and text,
 * least recently used out), so paging through a result or repeating a
 * question costs no provider call. The tenant is part of the key although
 * the vector does not depend on it: a hit answers without the provider's
 * round trip, and a shared entry would let one tenant time whether another
 * asked the same question lately.
 *
 * A provider that is down must not make every search wait for it (its
 * retries take seconds; a hanging one up to embed_timeout_s per attempt):
 * while the embedder's last call (a query's or an embed job's) failed with
 * a retryable error, queries fail at once, and one query at most every
 * SEARCH_PROVIDER_PROBE_MS tries the provider again. A success anywhere
 * (a probe, an embed job) ends it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_registry.h"
#include "search/search_int.h"
#include "util/timeutil.h"

#define QCACHE_SLOTS 128
#define SEARCH_PROVIDER_PROBE_MS 3000

typedef struct qcache_entry {
    char *key; /* tenant "\n" model key "\n" text; NULL: free */
    float *vec;
    uint32_t dims;
    uint64_t used;
} qcache_entry;

static pthread_mutex_t qcache_mu = PTHREAD_MUTEX_INITIALIZER;
static qcache_entry qcache[QCACHE_SLOTS];
static uint64_t qcache_tick;

/* Copies the cached vector of key into q (1), or 0 when absent. */
static int qcache_get(const char *key, sem_query *q) {
    int found = 0;
    pthread_mutex_lock(&qcache_mu);
    for (size_t i = 0; i < QCACHE_SLOTS; i++) {
        qcache_entry *c = &qcache[i];
        if (!c->key || strcmp(c->key, key)) continue;
        if ((q->vec = malloc((size_t)c->dims * sizeof *q->vec))) {
            memcpy(q->vec, c->vec, (size_t)c->dims * sizeof *q->vec);
            q->dims = c->dims;
            c->used = ++qcache_tick;
            found = 1;
        }
        break;
    }
    pthread_mutex_unlock(&qcache_mu);
    return found;
}

static void qcache_put(const char *key, const float *vec, uint32_t dims) {
    char *k = strdup(key);
    float *v = malloc((size_t)dims * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return; /* only a cache */
    }
    memcpy(v, vec, (size_t)dims * sizeof *v);
    pthread_mutex_lock(&qcache_mu);
    qcache_entry *victim = &qcache[0];
    for (size_t i = 0; i < QCACHE_SLOTS; i++) {
        qcache_entry *c = &qcache[i];
        if (c->key && !strcmp(c->key, key)) { /* another thread was first */
            victim = c;
            break;
        }
        if (!c->key || c->used < victim->used) victim = c;
    }
    free(victim->key);
    free(victim->vec);
    *victim = (qcache_entry){k, v, dims, ++qcache_tick};
    pthread_mutex_unlock(&qcache_mu);
}

/* When the first probe may go (wall clock ms); shared by the process's
 * embedders (a probe for one only delays the other's a little). */
static _Atomic int64_t next_probe_ms;

/* 1 when emb is failing and this query should not wait for it; fills why. */
static int provider_down(embedder *emb, char *why, size_t whylen) {
    embed_health h;
    emb->ops->health(emb, &h);
    if (h.ok || h.last_error.kind != EMBED_RETRYABLE) return 0;
    int64_t now = lore_now_ms(), at = atomic_load(&next_probe_ms);
    if (now >= at &&
        atomic_compare_exchange_strong(&next_probe_ms, &at, now + SEARCH_PROVIDER_PROBE_MS))
        return 0; /* this query probes */
    snprintf(why, whylen,
             "the embedding provider is failing (%.0f s ago: %s); queries try it "
             "again every %d s",
             (double)(now - h.last_error_ms) / 1000.0, h.last_error.message,
             SEARCH_PROVIDER_PROBE_MS / 1000);
    return 1;
}

void sem_query_clear(sem_query *q) {
    free(q->vec);
    memset(q, 0, sizeof *q);
}

static void no_vectors_notice(char *notice, size_t noticelen) {
    snprintf(notice, noticelen,
             "nothing in this tenant is embedded yet, so semantic search finds nothing; "
             "the embed jobs fill it after ingest");
}

lore_status sem_prepare(search_engine *e, const char *text, sem_query *q, char *notice,
                        size_t noticelen, char *semantic_error, size_t selen, char *err,
                        size_t errlen) {
    memset(q, 0, sizeof *q);
    embed_registry *reg = e->ctx->embedders;
    if (!reg) {
        snprintf(err, errlen,
                 "semantic search needs an embedder: set embed_url and embed_model (or search "
                 "with mode lexical)");
        return LORE_UNSUPPORTED;
    }
    vec_rebuild_status vs;
    lore_status st = tenant_ctx_vector_status(e->ctx, &vs, err, errlen);
    if (st != LORE_OK) return st;
    if (!vs.live_key[0]) {
        no_vectors_notice(notice, noticelen);
        return LORE_OK;
    }
    snprintf(q->key, sizeof q->key, "%s", vs.live_key);
    const char *tenant = store_tenant_name(e->t);
    size_t tlen = strlen(text), klen = strlen(q->key), nlen = strlen(tenant);
    char *ckey = malloc(nlen + klen + tlen + 3);
    if (!ckey) return LORE_NOMEM;
    memcpy(ckey, tenant, nlen);
    ckey[nlen] = '\n';
    memcpy(ckey + nlen + 1, q->key, klen);
    ckey[nlen + 1 + klen] = '\n';
    memcpy(ckey + nlen + klen + 2, text, tlen + 1);
    if (qcache_get(ckey, q)) {
        free(ckey);
        q->ready = 1;
        return LORE_OK;
    }
    char rerr[EMBED_MESSAGE_MAX];
    embedder *emb = embed_registry_for_key(reg, q->key, rerr, sizeof rerr);
    if (!emb) {
        free(ckey);
        snprintf(semantic_error, selen, "no embedder for the tenant's model: %s", rerr);
        snprintf(err, errlen, "%s", semantic_error);
        return LORE_IO;
    }
    if (provider_down(emb, semantic_error, selen)) {
        free(ckey);
        snprintf(err, errlen, "%s", semantic_error);
        return LORE_IO;
    }
    embed_error ee = {0};
    st = emb->ops->embed(emb, &text, &tlen, 1, &q->vec, &q->dims, NULL, &ee);
    if (st != LORE_OK || !q->vec || !q->dims) {
        free(ckey);
        sem_query_clear(q);
        snprintf(semantic_error, selen, "embedding the query failed: %s",
                 ee.message[0] ? ee.message : lore_status_message(st));
        snprintf(err, errlen, "%s", semantic_error);
        return st == LORE_NOMEM ? LORE_NOMEM : LORE_IO;
    }
    qcache_put(ckey, q->vec, q->dims);
    free(ckey);
    q->ready = 1;
    return LORE_OK;
}

lore_status sem_search(search_engine *e, const sem_query *q, size_t k, admit_ctx *a,
                       search_cand **out, size_t *n, char *notice, size_t noticelen, char *err,
                       size_t errlen) {
    *out = NULL;
    *n = 0;
    if (!q->ready) return LORE_OK;
    tenant_index_vector *h;
    lore_status st = tenant_ctx_vector(e->ctx, q->key, q->dims, &h, err, errlen);
    if (st != LORE_OK) return st;
    vec_query vq = {
        .vec = q->vec, .k = k < VEC_MAX_K ? k : VEC_MAX_K, .admit = search_admit, .admit_ctx = a};
    vec_result vr = {0};
    st = h->ops->search(h->state, &vq, &vr);
    if (st == LORE_NOT_FOUND) { /* switched to another model since sem_prepare */
        no_vectors_notice(notice, noticelen);
        return LORE_OK;
    }
    if (st != LORE_OK) {
        snprintf(err, errlen, "vector search failed: %s", h->ops->errmsg(h->state));
        return st;
    }
    if (vr.n && !(*out = malloc(vr.n * sizeof **out))) {
        vec_result_free(&vr);
        return LORE_NOMEM;
    }
    for (size_t i = 0; i < vr.n; i++)
        (*out)[i] = (search_cand){vr.hits[i].chunk_id, vr.hits[i].group, vr.hits[i].score};
    *n = vr.n;
    vec_result_free(&vr);
    return LORE_OK;
}
