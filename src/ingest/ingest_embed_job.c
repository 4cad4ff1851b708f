/* The `embed` job: drains a tenant's pending set (ingest_embed.h).
 *
 * Each step: (1) in a read snapshot, the slot state and up to step_chunks
 * pending chunks with their titles and texts; (2) with no lock and no
 * transaction, the texts ("title\n\ntext") embedded by the embedder of the
 * live model key (the configured one while nothing is live); (3) in one
 * write transaction (the tenant's writer lock, store_begin): the slot state again (a model switch
 * in between: the step is done again with the new key), then each chunk that still has its pending
 * row gets its vector and loses the row, the counter, flush, commit. Every row read in (1) is
 * consumed in (3) (embedded, or dropped because its chunk is gone), so the steps move forward. The
 * job is finished when a write transaction finds the set empty: a batch that skipped queueing a job
 * because this one was still queued commits before that transaction, so its rows are seen. */
#include "ingest/ingest_embed.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/embed.h"
#include "embed/embed_registry.h"
#include "ingest/ingest_jobs.h"
#include "util/be64.h"
#include "util/log.h"
#include "util/timeutil.h"

static _Atomic uint64_t n_err_retryable, n_err_permanent, n_embedded, n_dropped;
/* Consecutive retryable failures in this process: the next wait grows. */
static _Atomic int fail_streak;

void ingest_embed_counters_get(ingest_embed_counters *out) {
    out->errors_retryable = atomic_load(&n_err_retryable);
    out->errors_permanent = atomic_load(&n_err_permanent);
    out->chunks_embedded = atomic_load(&n_embedded);
    out->chunks_dropped = atomic_load(&n_dropped);
}

static void settings_fill(ingest_embed_settings *c) {
    if (!c->step_chunks) c->step_chunks = 256;
    if (!c->step_bytes) c->step_bytes = 4u << 20;
    if (!c->run_ms) c->run_ms = 30000;
    if (!c->retry_min_ms) c->retry_min_ms = 1000;
    if (!c->retry_max_ms) c->retry_max_ms = 120000;
    if (!c->no_embedder_ms) c->no_embedder_ms = 10000;
}

/* ---- one step's chunks ---- */

typedef struct step {
    int64_t *ids;
    char **texts; /* "title\n\ntext", owned */
    size_t *lens;
    size_t n, cap, bytes;
    char key[VEC_MODEL_KEY_MAX + 1]; /* the live key read with them ("" none) */
} step;

static void step_clear(step *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->texts[i]);
    free(s->ids), free(s->texts), free(s->lens);
    memset(s, 0, sizeof *s);
}

typedef struct ids_scan {
    int64_t *ids;
    size_t n, max;
} ids_scan;

static int take_id(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val, (void)vlen;
    ids_scan *x = ctx;
    if (klen == 8) x->ids[x->n++] = (int64_t)lore_be64_get(key);
    return x->n >= x->max;
}

/* A chunk's text as embedded: its document's title, a blank line, its text. */
static char *compose(const char *title, const char *text, size_t text_len, size_t *len) {
    size_t tl = title ? strlen(title) : 0;
    size_t n = (tl ? tl + 2 : 0) + text_len;
    char *s = malloc(n + 2);
    if (!s) return NULL;
    size_t o = 0;
    if (tl) {
        memcpy(s, title, tl);
        memcpy(s + tl, "\n\n", 2);
        o = tl + 2;
    }
    if (text_len) memcpy(s + o, text, text_len);
    o += text_len;
    if (!o) s[o++] = '.'; /* a provider refuses an empty input; such a chunk is rare */
    s[o] = 0;
    *len = o;
    return s;
}

/* Reads up to cfg->step_chunks pending chunks in one snapshot. */
static lore_status step_read(tenant_ctx *ctx, const ingest_embed_settings *cfg, step *s, char *err,
                             size_t errlen) {
    store_tenant *t = ctx->store;
    lore_status st = store_begin_read(t);
    if (st != LORE_OK) return st;
    vec_rebuild_status vs;
    st = tenant_ctx_vector_status(ctx, &vs, err, errlen);
    if (st == LORE_OK) snprintf(s->key, sizeof s->key, "%s", vs.live_key);
    ids_scan x = {NULL, 0, cfg->step_chunks};
    if (st == LORE_OK && !(x.ids = malloc(x.max * sizeof *x.ids))) st = LORE_NOMEM;
    if (st == LORE_OK) st = store_kv_scan(t, STORE_NS_EMBED_PENDING, "", 0, NULL, 0, take_id, &x);
    if (st == LORE_OK && x.n) {
        s->texts = calloc(x.n, sizeof *s->texts);
        s->lens = calloc(x.n, sizeof *s->lens);
        if (!s->texts || !s->lens) st = LORE_NOMEM;
    }
    s->ids = x.ids;
    for (size_t i = 0; i < x.n && st == LORE_OK && s->bytes < cfg->step_bytes; i++) {
        store_chunk c;
        lore_status cs = store_chunk_get(t, x.ids[i], &c);
        if (cs == LORE_NOT_FOUND) { /* gone: its row goes in the write step */
            s->ids[s->n] = x.ids[i];
            s->texts[s->n] = NULL;
            s->lens[s->n++] = 0;
            continue;
        }
        if (cs != LORE_OK) {
            st = cs;
            break;
        }
        store_chunk_owner o;
        cs = store_chunk_owner_get(t, x.ids[i], &o);
        size_t len = 0;
        char *text = cs == LORE_OK ? compose(o.title, c.text, c.text_len, &len) : NULL;
        store_chunk_clear(&c);
        if (cs != LORE_OK && cs != LORE_NOT_FOUND) {
            st = cs;
            break;
        }
        if (cs == LORE_OK && !text) {
            st = LORE_NOMEM;
            break;
        }
        s->ids[s->n] = x.ids[i];
        s->texts[s->n] = text;
        s->lens[s->n++] = len;
        s->bytes += len;
    }
    store_end_read(t);
    return st;
}

/* ---- the write step ---- */

typedef struct step_out {
    size_t added, dropped;
    int key_changed; /* the live key is not the one the step embedded with */
    int64_t left;    /* pending rows after the step */
} step_out;

/* In one write transaction: adds the vectors of the chunks still pending. */
static lore_status step_write(tenant_ctx *ctx, const step *s, const char *key, uint32_t dims,
                              const float *vecs, step_out *out, char *err, size_t errlen) {
    store_tenant *t = ctx->store;
    memset(out, 0, sizeof *out);
    lore_status st = store_begin(t);
    if (st != LORE_OK) {
        snprintf(err, errlen, "store: %s", store_tenant_errmsg(t));
        return st;
    }
    vec_rebuild_status vs;
    tenant_index_vector *v = NULL;
    int begun = 0;
    lore_buf b;
    lore_buf_init(&b, 64);
    if ((st = tenant_ctx_vector_status(ctx, &vs, err, errlen)) != LORE_OK) goto out;
    if (vs.live_key[0] ? strcmp(vs.live_key, key) != 0 : strcmp(s->key, "") != 0) {
        out->key_changed = 1;
        goto out;
    }
    /* No vectors (every chunk of the step is gone): only rows to delete. */
    if (vecs) {
        if ((st = tenant_ctx_vector(ctx, key, dims, &v, err, errlen)) != LORE_OK) goto out;
        if ((st = v->ops->begin(v->state)) != LORE_OK) {
            snprintf(err, errlen, "the vector index refused the batch: %s",
                     v->ops->errmsg(v->state));
            goto out;
        }
        begun = 1;
    }
    int64_t count = 0, oldest = 0;
    if ((st = ingest_embed_pending(t, &count, &oldest)) != LORE_OK) goto out;
    for (size_t i = 0; i < s->n && st == LORE_OK; i++) {
        uint8_t k[8];
        lore_be64_put(k, (uint64_t)s->ids[i]);
        lore_status ps = store_kv_get(t, STORE_NS_EMBED_PENDING, k, 8, &b);
        if (ps == LORE_NOT_FOUND) continue; /* deleted or replaced meanwhile: dropped */
        if (ps != LORE_OK) {
            st = ps;
            break;
        }
        int64_t doc = 0;
        ps = s->texts[i] && v ? store_chunk_doc(t, s->ids[i], &doc) : LORE_NOT_FOUND;
        if (ps == LORE_OK) {
            ps = v->ops->add(v->state, s->ids[i], vecs + (size_t)i * dims);
            if (ps == LORE_INVALID) { /* a zero or non-finite vector: nothing to search by */
                LORE_WARN("tenant %s: chunk %lld left without a vector: %s", store_tenant_name(t),
                          (long long)s->ids[i], v->ops->errmsg(v->state));
                out->dropped++;
                ps = LORE_OK;
            } else if (ps == LORE_OK) {
                out->added++;
            }
        } else if (ps == LORE_NOT_FOUND) {
            ps = LORE_OK; /* the row outlived its chunk: it goes */
        }
        if (ps == LORE_OK) ps = store_kv_delete(t, STORE_NS_EMBED_PENDING, k, 8);
        if (ps == LORE_OK) count--;
        st = ps;
    }
    if (st == LORE_OK) {
        uint8_t val[8];
        lore_be64_put(val, (uint64_t)(count < 0 ? 0 : count));
        st = store_kv_put(t, STORE_NS_EMBED_STATE, "count", 5, val, 8);
    }
    if (st == LORE_OK && (st = ingest_embed_pending(t, &out->left, &oldest)) != LORE_OK) goto out;
    if (st == LORE_OK && v && (st = v->ops->flush(v->state)) != LORE_OK)
        snprintf(err, errlen, "the vector index: %s", v->ops->errmsg(v->state));
    if (st == LORE_OK && (st = store_commit(t)) != LORE_OK)
        snprintf(err, errlen, "store: %s", store_tenant_errmsg(t));
    if (st == LORE_OK) {
        lore_buf_free(&b);
        return LORE_OK;
    }
out:
    lore_buf_free(&b);
    if (st != LORE_OK && !err[0])
        snprintf(err, errlen, "store: %s (%s)", lore_status_message(st), store_tenant_errmsg(t));
    if (begun) v->ops->abort(v->state);
    store_rollback(t);
    return st;
}

/* Whether the set is empty, decided in a write transaction (see the top). */
static lore_status confirm_empty(tenant_ctx *ctx, int *empty) {
    store_tenant *t = ctx->store;
    lore_status st = store_begin(t);
    if (st != LORE_OK) return st;
    int64_t count = 0, oldest = 0;
    st = ingest_embed_pending(t, &count, &oldest);
    store_rollback(t);
    *empty = st == LORE_OK && count == 0;
    return st;
}

/* ---- the job ---- */

static int64_t retry_delay(const ingest_embed_settings *c, const embed_error *e) {
    int k = atomic_fetch_add(&fail_streak, 1);
    int64_t d = c->retry_min_ms;
    for (int i = 0; i < k && d < c->retry_max_ms; i++)
        d *= 2;
    if (d > c->retry_max_ms) d = c->retry_max_ms;
    /* jitter: 75..100% of the bound, so tenants' jobs do not return at once */
    d -= (int64_t)((uint64_t)lore_mono_ns() % (uint64_t)(d / 4 + 1));
    if (e->retry_after_ms > d) d = e->retry_after_ms; /* the provider's word wins */
    if (d > 3600000) d = 3600000;
    return d;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static void done(queue_result *res, uint64_t chunks, uint64_t dropped, uint64_t steps, int64_t t0) {
    json_t *r = json_pack("{s:I,s:I,s:I,s:f}", "embedded", (json_int_t)chunks, "dropped",
                          (json_int_t)dropped, "steps", (json_int_t)steps, "seconds",
                          (double)(lore_mono_ns() - t0) / 1e9);
    res->result = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    res->ok = 1;
}

/* Embeds the step's texts: *vecs holds s->n vectors of *dims floats, by the
 * step's order (zeros for chunks that are gone; NULL when all are). */
static lore_status embed_step(embedder *e, const step *s, float **vecs, uint32_t *dims,
                              embed_error *ee) {
    *vecs = NULL;
    *dims = 0;
    memset(ee, 0, sizeof *ee);
    const char **texts = calloc(s->n, sizeof *texts);
    size_t *lens = calloc(s->n, sizeof *lens), *map = calloc(s->n, sizeof *map), m = 0;
    float *got = NULL;
    lore_status st = texts && lens && map ? LORE_OK : LORE_NOMEM;
    for (size_t i = 0; st == LORE_OK && i < s->n; i++)
        if (s->texts[i]) { /* rows that outlived their chunk carry no text */
            texts[m] = s->texts[i];
            lens[m] = s->lens[i];
            map[m++] = i;
        }
    if (st == LORE_OK && m) st = e->ops->embed(e, texts, lens, m, &got, dims, NULL, ee);
    if (st == LORE_OK && m && !(*vecs = calloc(s->n * (size_t)*dims, sizeof **vecs)))
        st = LORE_NOMEM;
    for (size_t i = 0; st == LORE_OK && *vecs && i < m; i++)
        memcpy(*vecs + map[i] * *dims, got + i * *dims, (size_t)*dims * sizeof **vecs);
    free(got), free(texts), free(lens), free(map);
    return st;
}

/* The embedder for the step's key; NULL with err when none can serve it. */
static embedder *pick_embedder(tenant_ctx *ctx, const step *s, char *key, size_t keylen, char *err,
                               size_t errlen) {
    embedder *e = embed_registry_configured(ctx->embedders);
    if (s->key[0] && strcmp(s->key, e->ops->model_key(e)) != 0)
        e = embed_registry_for_key(ctx->embedders, s->key, err, errlen);
    if (e) snprintf(key, keylen, "%s", s->key[0] ? s->key : e->ops->model_key(e));
    return e;
}

/* One step past the read: embed s, then write it in one transaction.
 * 0: it went through (*o says what it did); 1: the job ends here, res and
 * *drop filled (put back after a retryable error, failed otherwise). */
static int embed_and_write(tenant_ctx *ctx, const ingest_embed_settings *cfg, const store_job *j,
                           const step *s, step_out *o, queue_result *res, int *drop) {
    char key[VEC_MODEL_KEY_MAX + 1], err[768] = "";
    memset(o, 0, sizeof *o);
    embedder *e = pick_embedder(ctx, s, key, sizeof key, err, sizeof err);
    if (!e) {
        atomic_fetch_add(&n_err_permanent, 1);
        res->error = dup_printf("embed job of %s: no embedder for the live model %s: %s", j->tenant,
                                s->key, err);
        return 1;
    }
    float *vecs = NULL;
    uint32_t dims = 0;
    embed_error ee;
    lore_status st = embed_step(e, s, &vecs, &dims, &ee);
    if (st != LORE_OK && ee.kind == EMBED_RETRYABLE) {
        atomic_fetch_add(&n_err_retryable, 1);
        int64_t d = retry_delay(cfg, &ee);
        LORE_WARN("embed job of %s: %s; %zu chunks wait, trying again in %lld ms (no write is "
                  "lost; lexical search serves them meanwhile)",
                  j->tenant, ee.message, s->n, (long long)d);
        free(vecs);
        res->release = 1;
        res->release_delay_ms = d;
        return 1;
    }
    if (st != LORE_OK) {
        atomic_fetch_add(&n_err_permanent, 1);
        res->error =
            dup_printf("embed job of %s: %s; the %zu chunks stay queued for embedding "
                       "(fix the embed_* settings, then lore jobs retry)",
                       j->tenant, ee.message[0] ? ee.message : lore_status_message(st), s->n);
        free(vecs);
        return 1;
    }
    atomic_store(&fail_streak, 0);
    st = step_write(ctx, s, key, dims, vecs, o, err, sizeof err);
    free(vecs);
    if (st == LORE_INVALID) { /* the slot refused these vectors: wrong length for it */
        atomic_fetch_add(&n_err_permanent, 1);
        res->error = dup_printf("embed job of %s: embedding provider %s: %s", j->tenant,
                                e->ops->provider(e), err);
        return 1;
    }
    if (st != LORE_OK) {
        res->error = dup_printf("embed job of %s: %s", j->tenant, err);
        *drop = 1;
        return 1;
    }
    return 0;
}

void ingest_embed_job_run(tenant_ctx *ctx, const ingest_embed_settings *cfg_in, const store_job *j,
                          queue_result *res, int *drop) {
    ingest_embed_settings cfg = *cfg_in;
    settings_fill(&cfg);
    *drop = 0;
    if (!ctx->embedders) {
        /* lore ingest's own workers, or a server without embed_url: a
         * process with an embedder will take it (or this one once
         * configured). Waiting uses no attempt. */
        res->release = 1;
        res->release_delay_ms = cfg.no_embedder_ms;
        return;
    }
    int64_t t0 = lore_mono_ns();
    uint64_t total = 0, dropped = 0, steps = 0;
    char err[768] = "";
    for (;;) {
        if ((lore_mono_ns() - t0) / 1000000 >= cfg.run_ms) {
            res->release = 1; /* the others' turn; the rest in a moment */
            return;
        }
        step s = {0};
        err[0] = 0;
        lore_status st = step_read(ctx, &cfg, &s, err, sizeof err);
        if (st != LORE_OK) {
            step_clear(&s);
            res->error = dup_printf("embed job of %s: reading the pending chunks: %s", j->tenant,
                                    err[0] ? err : lore_status_message(st));
            *drop = 1;
            return;
        }
        if (!s.n) {
            step_clear(&s);
            int empty = 0;
            st = confirm_empty(ctx, &empty);
            if (st != LORE_OK) {
                res->error =
                    dup_printf("embed job of %s: store: %s", j->tenant, lore_status_message(st));
                *drop = 1;
                return;
            }
            if (empty) {
                done(res, total, dropped, steps, t0);
                return;
            }
            continue;
        }
        step_out o;
        int stop = embed_and_write(ctx, &cfg, j, &s, &o, res, drop);
        step_clear(&s);
        if (stop) return;
        if (o.key_changed) continue; /* switched models meanwhile: again with the new one */
        steps++;
        total += o.added;
        dropped += o.dropped;
        atomic_fetch_add(&n_embedded, o.added);
        atomic_fetch_add(&n_dropped, o.dropped);
    }
}
