/* The pending set: ingest's side of "embedding is a job" (ingest_embed.h).
 *
 * Per batch, the first chunk written or removed reads the tenant's vector
 * slots once (tenant_ctx_vector_status, inside the batch's transaction, so
 * a slot another process creates is either seen or created after this batch
 * commits). New chunks get a pending row when this process embeds
 * (ingest_options.embed_configured) or a slot exists. Removed chunks lose
 * their vector through a handle on the live key (else the build key) opened
 * with dims 0, begun on the first removal of the batch and flushed before
 * the commit, and their pending row if they have one. The counter row is
 * read once per batch and written before the commit. */
#include "ingest/ingest_embed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char COUNT_KEY[] = "count";
static const char JOB_KEY[] = "job";

static void be64_put(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t be64_get(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* An int64 row of namespace 41; *v = 0 when absent. */
static lore_status state_get(store_tenant *t, const char *key, int64_t *v) {
    lore_buf b;
    lore_buf_init(&b, 64);
    lore_status st = store_kv_get(t, STORE_NS_EMBED_STATE, key, strlen(key), &b);
    *v = 0;
    if (st == LORE_OK && b.len == 8) *v = (int64_t)be64_get((const uint8_t *)b.data);
    lore_buf_free(&b);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

static lore_status state_put(store_tenant *t, const char *key, int64_t v) {
    uint8_t val[8];
    be64_put(val, (uint64_t)v);
    return store_kv_put(t, STORE_NS_EMBED_STATE, key, strlen(key), val, 8);
}

/* ---- the batch's view ---- */

void ingest_embed_batch_reset(ingest_session *s) {
    s->emb_checked = s->emb_slot = 0;
    s->emb_vec = NULL;
    s->emb_count = -1;
    s->emb_added = 0;
    s->emb_dirty = 0;
}

/* Reads the slots once per batch. */
static lore_status check_slots(ingest_session *s, vec_rebuild_status *vs) {
    memset(vs, 0, sizeof *vs);
    s->emb_checked = 1;
    s->emb_slot = 0;
    if (!s->ctx || !s->ctx->settings.vec_scope) return LORE_OK; /* no vector index here */
    char err[256];
    lore_status st = tenant_ctx_vector_status(s->ctx, vs, err, sizeof err);
    if (st != LORE_OK) {
        ingest_report(s, 1, store_tenant_name(s->t), "%s", err);
        return st;
    }
    s->emb_slot = vs->live_key[0] || vs->build_key[0];
    return LORE_OK;
}

static lore_status count_load(ingest_session *s) {
    if (s->emb_count >= 0) return LORE_OK;
    return state_get(s->t, COUNT_KEY, &s->emb_count);
}

lore_status ingest_embed_added(ingest_session *s, int64_t first, size_t n) {
    if (!n) return LORE_OK;
    vec_rebuild_status vs;
    lore_status st = LORE_OK;
    if (!s->emb_checked && (st = check_slots(s, &vs)) != LORE_OK) return st;
    if (!s->opt.embed_configured && !s->emb_slot) return LORE_OK;
    if ((st = count_load(s)) != LORE_OK) return st;
    uint8_t key[8], val[8];
    be64_put(val, (uint64_t)lore_now_ms());
    for (size_t i = 0; i < n && st == LORE_OK; i++) {
        be64_put(key, (uint64_t)(first + (int64_t)i));
        st = store_kv_put(s->t, STORE_NS_EMBED_PENDING, key, 8, val, 8);
    }
    if (st != LORE_OK) return st;
    s->emb_count += (int64_t)n;
    s->emb_added += (int64_t)n;
    s->emb_dirty = 1;
    return LORE_OK;
}

/* The handle removals go through, begun in this batch. */
static lore_status removal_handle(ingest_session *s, tenant_index_vector **out) {
    *out = s->emb_vec;
    if (s->emb_vec || (s->emb_checked && !s->emb_slot)) return LORE_OK;
    vec_rebuild_status vs;
    lore_status st = check_slots(s, &vs);
    if (st != LORE_OK || !s->emb_slot) return st;
    const char *key = vs.live_key[0] ? vs.live_key : vs.build_key;
    char err[256];
    tenant_index_vector *v = NULL;
    if ((st = tenant_ctx_vector(s->ctx, key, 0, &v, err, sizeof err)) != LORE_OK) {
        ingest_report(s, 1, store_tenant_name(s->t), "%s", err);
        return st;
    }
    if ((st = v->ops->begin(v->state)) != LORE_OK) {
        ingest_report(s, 1, store_tenant_name(s->t), "vector index: %s", v->ops->errmsg(v->state));
        return st;
    }
    *out = s->emb_vec = v;
    return LORE_OK;
}

lore_status ingest_embed_removed(ingest_session *s, int64_t chunk_id) {
    tenant_index_vector *v = NULL;
    lore_status st = removal_handle(s, &v);
    if (st == LORE_OK && v && (st = v->ops->remove(v->state, chunk_id)) != LORE_OK)
        ingest_report(s, 1, store_tenant_name(s->t), "vector index: %s", v->ops->errmsg(v->state));
    if (st == LORE_OK) st = count_load(s);
    if (st != LORE_OK || s->emb_count <= 0) return st;
    uint8_t key[8];
    be64_put(key, (uint64_t)chunk_id);
    lore_buf b;
    lore_buf_init(&b, 64);
    st = store_kv_get(s->t, STORE_NS_EMBED_PENDING, key, 8, &b);
    lore_buf_free(&b);
    if (st == LORE_NOT_FOUND) return LORE_OK;
    if (st == LORE_OK) st = store_kv_delete(s->t, STORE_NS_EMBED_PENDING, key, 8);
    if (st == LORE_OK) {
        s->emb_count--;
        s->emb_dirty = 1;
    }
    return st;
}

lore_status ingest_embed_before_commit(ingest_session *s) {
    lore_status st = LORE_OK;
    if (s->emb_dirty) st = state_put(s->t, COUNT_KEY, s->emb_count < 0 ? 0 : s->emb_count);
    if (st == LORE_OK && s->emb_added && s->opt.on_embed_pending)
        st = s->opt.on_embed_pending(s->opt.embed_ctx, s->t);
    if (st == LORE_OK && s->emb_vec) {
        tenant_index_vector *v = s->emb_vec;
        if ((st = v->ops->flush(v->state)) != LORE_OK)
            ingest_report(s, 1, store_tenant_name(s->t), "vector index: %s",
                          v->ops->errmsg(v->state));
    }
    /* The batch is about to end either way: a failed commit rolls back,
     * and the abort below must still reach the flushed handle. */
    s->emb_dirty = 0;
    s->emb_added = 0;
    return st;
}

void ingest_embed_abort(ingest_session *s) {
    if (s->emb_vec) s->emb_vec->ops->abort(s->emb_vec->state);
    ingest_embed_batch_reset(s);
}

/* ---- queueing the job ---- */

lore_status ingest_embed_on_pending(void *ctx, store_tenant *t) {
    const ingest_embed_enqueuer *q = ctx;
    const char *tenant = store_tenant_name(t);
    int64_t last = 0;
    lore_status st = state_get(t, JOB_KEY, &last);
    if (st != LORE_OK) return st;
    if (last > 0) {
        store_job *j = NULL;
        st = store_job_get(q->control, tenant, last, 0, &j);
        /* Queued and not started: it runs after this batch commits and
         * decides it is finished only in a write transaction, so it sees
         * these rows. */
        int waiting = st == LORE_OK && j->state == STORE_JOB_READY &&
                      !strcmp(j->kind, INGEST_JOB_EMBED); /* (a restored control store) */
        store_job_free(j);
        if (st != LORE_OK && st != LORE_NOT_FOUND) return st;
        if (waiting) return LORE_OK;
    }
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "%s", INGEST_JOB_EMBED);
    char group[] = INGEST_EMBED_GROUP, *groups[1] = {group};
    j.groups = groups;
    j.ngroups = 1;
    j.payload = (uint8_t *)"{}";
    j.payload_len = 2;
    j.weight = STORE_JOB_ALONE; /* runs its own transactions, like reindex */
    j.max_attempts = q->max_attempts > 0 ? q->max_attempts : 5;
    int64_t now = lore_now_ms();
    j.visible_ms = now;
    store_enqueue_outcome o;
    /* No back-pressure cap: at most two embed jobs per tenant are pending
     * (one running, one queued), and refusing one would strand the rows. */
    st = store_job_enqueue(q->control, &j, 1, 0, 0, now, &o);
    if (st != LORE_OK) {
        LORE_ERROR("tenant %s: cannot queue the embed job: %s", tenant, lore_status_message(st));
        return st;
    }
    return state_put(t, JOB_KEY, j.id);
}

/* ---- reading the pending set ---- */

typedef struct first_row {
    int64_t ms;
    int seen;
} first_row;

static int take_first(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)key, (void)klen;
    first_row *f = ctx;
    f->seen = 1;
    if (vlen == 8) f->ms = (int64_t)be64_get(val);
    return 1;
}

lore_status ingest_embed_pending(store_tenant *t, int64_t *count, int64_t *oldest_ms) {
    *count = *oldest_ms = 0;
    lore_status st = state_get(t, COUNT_KEY, count);
    if (st != LORE_OK) return st;
    first_row f = {0, 0};
    st = store_kv_scan(t, STORE_NS_EMBED_PENDING, "", 0, NULL, 0, take_first, &f);
    if (st == LORE_OK && f.seen && *count <= 0) *count = 1; /* a row, whatever the counter says */
    if (st == LORE_OK && f.seen) *oldest_ms = f.ms ? f.ms : 1;
    if (st == LORE_OK && !f.seen) *count = 0;
    return st;
}

/* ---- process-wide figures ---- */

static pthread_mutex_t backlog_mu = PTHREAD_MUTEX_INITIALIZER;
static ingest_embed_backlog *backlog_cache;
static size_t backlog_n;
static int64_t backlog_at; /* monotonic ms of the last read, 0: never */

#define BACKLOG_MAX_TENANTS 100000

static lore_status backlog_read(store *control, ingest_embed_backlog **out, size_t *n) {
    *out = NULL;
    *n = 0;
    store_tenant_info *ts = NULL;
    size_t nt = 0;
    lore_status st = store_tenant_list(control, &ts, &nt);
    if (st != LORE_OK) return st;
    ingest_embed_backlog *b = NULL;
    size_t nb = 0;
    for (size_t i = 0; i < nt && i < BACKLOG_MAX_TENANTS && st == LORE_OK; i++) {
        store_tenant *t = NULL;
        if (store_tenant_open(control, ts[i].name, &t) != LORE_OK) continue; /* deleted since */
        int64_t count = 0, oldest = 0;
        lore_status ps = ingest_embed_pending(t, &count, &oldest);
        store_tenant_close(t);
        if (ps != LORE_OK || count <= 0) continue;
        ingest_embed_backlog *nbk = realloc(b, (nb + 1) * sizeof *b);
        if (!nbk) {
            st = LORE_NOMEM;
            break;
        }
        b = nbk;
        snprintf(b[nb].tenant, sizeof b[nb].tenant, "%s", ts[i].name);
        b[nb].count = count;
        b[nb].oldest_ms = oldest;
        nb++;
    }
    free(ts);
    if (st != LORE_OK) {
        free(b);
        return st;
    }
    *out = b;
    *n = nb;
    return LORE_OK;
}

lore_status ingest_embed_backlog_all(store *control, int64_t max_age_ms, ingest_embed_backlog **out,
                                     size_t *n) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&backlog_mu);
    int64_t now = lore_mono_ns() / 1000000;
    lore_status st = LORE_OK;
    if (!backlog_at || now - backlog_at >= max_age_ms) {
        ingest_embed_backlog *b = NULL;
        size_t nb = 0;
        if ((st = backlog_read(control, &b, &nb)) == LORE_OK) {
            free(backlog_cache);
            backlog_cache = b;
            backlog_n = nb;
            backlog_at = now ? now : 1;
        }
    }
    if (st == LORE_OK && backlog_n) {
        if ((*out = malloc(backlog_n * sizeof **out))) {
            memcpy(*out, backlog_cache, backlog_n * sizeof **out);
            *n = backlog_n;
        } else {
            st = LORE_NOMEM;
        }
    }
    pthread_mutex_unlock(&backlog_mu);
    return st;
}
