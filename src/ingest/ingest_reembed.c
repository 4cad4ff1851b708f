/* The reembed job: see ingest_reembed.h for what it does and why each step
 * is safe. The plan is re-read from the committed slot state before every
 * pass, so a job run again (after a crash, an outage or its own time limit)
 * continues from whatever the last committed step left. */
#include "ingest/ingest_reembed.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"
#include "ingest/ingest_jobs.h"
#include "util/log.h"
#include "util/timeutil.h"

void ingest_reembed_job(store_job *j, const char *tenant) {
    static char *const groups[1] = {"reembed"};
    snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    snprintf(j->kind, sizeof j->kind, "%s", INGEST_JOB_REEMBED);
    j->groups = (char **)groups;
    j->ngroups = 1;
    j->payload = (uint8_t *)"{}";
    j->payload_len = 2;
    j->weight = STORE_JOB_ALONE; /* steps of its own, never batched with writes */
}

/* ---- one run ---- */

typedef struct run {
    tenant_ctx *ctx;
    store_tenant *t;
    embed_registry *reg;
    size_t step;
    /* totals for the result */
    int64_t embedded, added, skipped_gone, unusable, steps, deleted_steps;
    int switched;
    char from_key[VEC_MODEL_KEY_MAX + 1];
    char err[768];
    /* outcome of a failed pass */
    int outage;       /* the provider could not answer now: release */
    int64_t retry_ms; /* its Retry-After, -1 none */
    int store_failed; /* a store or index failure: the handles are suspect */
} run;

static int fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int store_fail(run *r, const char *what, lore_status st, const char *detail) {
    r->store_failed = 1;
    return fail(r, "%s: %s (%s)", what, lore_status_message(st), detail);
}

/* The chunks of one step, read in a snapshot. */
typedef struct batch {
    int64_t *ids;
    char **texts;
    size_t *lens;
    size_t n, cap;
    int64_t last; /* the last chunk id looked at (to embed or already present) */
    int nomem;
} batch;

static void batch_clear(batch *b) {
    for (size_t i = 0; i < b->n; i++)
        free(b->texts[i]);
    b->n = 0;
    b->nomem = 0;
}

static void batch_free(batch *b) {
    batch_clear(b);
    free(b->ids), free(b->texts), free(b->lens);
    memset(b, 0, sizeof *b);
}

/* What gets embedded: the document title, a blank line, the chunk text
 * (docs/embeddings.md; the same text the embedding job sends). */
static int on_chunk(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t title_len,
                    const char *text, size_t text_len) {
    (void)nterms;
    batch *b = ctx;
    b->last = id;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int64_t *ids = realloc(b->ids, cap * sizeof *ids);
        if (ids) b->ids = ids;
        char **texts = realloc(b->texts, cap * sizeof *texts);
        if (texts) b->texts = texts;
        size_t *lens = realloc(b->lens, cap * sizeof *lens);
        if (lens) b->lens = lens;
        if (!ids || !texts || !lens) return b->nomem = 1;
        b->cap = cap;
    }
    size_t n = (title_len ? title_len + 2 : 0) + text_len;
    char *t = malloc(n + 1);
    if (!t) return b->nomem = 1;
    size_t o = 0;
    if (title_len) {
        memcpy(t, title, title_len);
        memcpy(t + title_len, "\n\n", 2);
        o = title_len + 2;
    }
    memcpy(t + o, text, text_len);
    t[n] = '\0';
    b->ids[b->n] = id, b->texts[b->n] = t, b->lens[b->n] = n;
    b->n++;
    return 0;
}

typedef struct present {
    const batch *b;
    uint8_t *has; /* per batch entry */
    size_t at;
} present;

/* Marks the batch's chunks that already have a vector (ids ascending on
 * both sides); a float row without its graph node is embedded again. */
static int on_vector(void *ctx, int64_t id, int in_graph) {
    present *p = ctx;
    while (p->at < p->b->n && p->b->ids[p->at] < id)
        p->at++;
    if (p->at < p->b->n && p->b->ids[p->at] == id && in_graph) p->has[p->at] = 1;
    return p->at >= p->b->n;
}

/* Reads, in one read snapshot, the chunks after cursor that have no vector
 * in key's slot: at most r->step of them, looking at up to 4 x r->step.
 * b->last is the last chunk id looked at; *exhausted when no chunk is left
 * after the ones looked at. */
static int read_step(run *r, const char *key, int64_t cursor, batch *b, int *exhausted) {
    batch_clear(b);
    b->last = cursor;
    *exhausted = 0;
    lore_status st = store_begin_read(r->t);
    if (st != LORE_OK)
        return store_fail(r, "opening a read snapshot", st, store_tenant_errmsg(r->t));
    char err[512] = "";
    size_t limit = r->step * 4;
    st = store_chunk_scan(r->t, cursor, limit, on_chunk, b);
    if (st != LORE_OK) snprintf(err, sizeof err, "%s", store_tenant_errmsg(r->t));
    *exhausted = st == LORE_OK && b->n < limit;
    uint8_t *has = b->n ? calloc(b->n, 1) : NULL;
    if (b->n && !has) b->nomem = 1;
    if (st == LORE_OK && b->n && !b->nomem) {
        tenant_index_vector *h = NULL;
        st = tenant_ctx_vector(r->ctx, key, 0, &h, err, sizeof err);
        present p = {b, has, 0};
        if (st == LORE_OK) {
            st = h->ops->scan(h->state, cursor, b->last + 1, on_vector, &p);
            if (st == LORE_NOT_FOUND) st = LORE_OK; /* no slot yet: nothing to skip */
            if (st != LORE_OK) snprintf(err, sizeof err, "%s", h->ops->errmsg(h->state));
        }
    }
    store_end_read(r->t);
    if (b->nomem) {
        free(has);
        return fail(r, "out of memory reading chunks");
    }
    if (st != LORE_OK) {
        free(has);
        return store_fail(r, "reading chunks", st, err);
    }
    /* Keep the first r->step chunks without a vector. */
    size_t k = 0, i = 0;
    for (; i < b->n; i++) {
        if (has[i]) {
            free(b->texts[i]);
            continue;
        }
        if (k == r->step) break;
        b->ids[k] = b->ids[i], b->texts[k] = b->texts[i], b->lens[k] = b->lens[i];
        k++;
    }
    if (i < b->n) { /* this chunk and the rest are the next step's */
        b->last = b->ids[i] - 1;
        *exhausted = 0;
        for (size_t j = i; j < b->n; j++)
            free(b->texts[j]);
    }
    b->n = k;
    free(has);
    return 0;
}

/* The embedder of key, or NULL (r->err says why). */
static embedder *embedder_for(run *r, const char *key) {
    char err[512] = "";
    embedder *e = embed_registry_for_key(r->reg, key, err, sizeof err);
    if (!e) fail(r, "cannot embed with model %s: %s", key, err);
    return e;
}

/* Embeds the batch with e (no lock held). */
static int embed_batch(run *r, embedder *e, const batch *b, float **vec, uint32_t *dims) {
    *vec = NULL;
    *dims = 0;
    if (!b->n) return 0;
    embed_error ee;
    memset(&ee, 0, sizeof ee);
    lore_status st =
        e->ops->embed(e, (const char *const *)b->texts, b->lens, b->n, vec, dims, NULL, &ee);
    if (st == LORE_OK) {
        r->embedded += (int64_t)b->n;
        return 0;
    }
    if (ee.kind == EMBED_RETRYABLE) {
        r->outage = 1;
        r->retry_ms = ee.retry_after_ms;
    }
    return fail(r, "%s", ee.message[0] ? ee.message : lore_status_message(st));
}

/* The vector length of e, embedding a probe text when the model's own
 * length is not known yet (a new slot needs it before any chunk). */
static int dims_of(run *r, embedder *e, uint32_t *dims) {
    *dims = e->ops->dimensions(e);
    if (*dims) return 0;
    batch b = {0};
    char *probe = strdup("lore");
    size_t len = 4;
    int64_t id = 0;
    if (!probe) return fail(r, "out of memory");
    b.ids = &id, b.texts = &probe, b.lens = &len, b.n = 1;
    float *v = NULL;
    int rc = embed_batch(r, e, &b, &v, dims);
    r->embedded -= rc == 0; /* not a chunk */
    free(v), free(probe);
    return rc;
}

/* Whether a chunk id greater than after exists (inside the transaction). */
static int has_chunk(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t title_len,
                     const char *text, size_t text_len) {
    (void)id, (void)nterms, (void)title, (void)title_len, (void)text, (void)text_len;
    *(int *)ctx = 1;
    return 1;
}

typedef enum step_kind { STEP_FILL, STEP_START, STEP_BUILD, STEP_DELETE } step_kind;

/* One write transaction: adds the batch's vectors of the
 * chunks still alive to key's slot and, for a build, records the cursor
 * (switching when nothing is left past it) or deletes old rows.
 * *finished: the build switched and the old slot is gone (or, filling,
 * nothing is left past the batch). *moved: the slot state is not what the
 * plan expected (re-plan). */
static int write_step(run *r, step_kind kind, const char *key, uint32_t dims, const batch *b,
                      const float *vec, int *finished, int *moved) {
    *finished = 0;
    *moved = 0;
    char err[512] = "";
    tenant_index_vector *h = NULL;
    lore_status st = store_begin(r->t);
    if (st != LORE_OK) {
        return store_fail(r, "starting a transaction", st, store_tenant_errmsg(r->t));
    }
    st = tenant_ctx_vector(r->ctx, key, dims, &h, err, sizeof err);
    int began = 0;
    if (st == LORE_OK && (st = h->ops->begin(h->state)) == LORE_OK) began = 1;
    if (st == LORE_OK && kind == STEP_START) st = h->ops->rebuild_start(h->state);
    vec_rebuild_status rs;
    if (st == LORE_OK) st = h->ops->rebuild_status(h->state, &rs);
    if (st == LORE_OK) {
        /* The plan still holds? (another process may have moved on) */
        if (kind == STEP_FILL && (strcmp(rs.live_key, key) || rs.phase != VEC_REBUILD_NONE))
            *moved = 1;
        if ((kind == STEP_START || kind == STEP_BUILD) &&
            (rs.phase != VEC_REBUILD_COPYING || strcmp(rs.build_key, key)))
            *moved = 1;
        if (kind == STEP_DELETE && rs.phase != VEC_REBUILD_DELETING) *moved = 1;
    }
    int64_t added = 0, gone = 0, unusable = 0;
    for (size_t i = 0; st == LORE_OK && !*moved && b && i < b->n; i++) {
        int64_t doc = 0;
        lore_status cs = store_chunk_doc(r->t, b->ids[i], &doc);
        if (cs == LORE_NOT_FOUND) { /* deleted or replaced since it was read */
            gone++;
            continue;
        }
        if ((st = cs) != LORE_OK) break;
        st = h->ops->add(h->state, b->ids[i], vec + (size_t)i * dims);
        if (st == LORE_INVALID) { /* a zero or non-finite vector: nothing to search by */
            LORE_WARN("reembed %s: chunk %lld: %s; left without a vector", store_tenant_name(r->t),
                      (long long)b->ids[i], h->ops->errmsg(h->state));
            unusable++;
            st = LORE_OK;
            continue;
        }
        if (st == LORE_OK) added++;
    }
    int tail = 0;
    if (st == LORE_OK && !*moved && kind != STEP_DELETE) {
        st = store_chunk_scan(r->t, b ? b->last : 0, 1, has_chunk, &tail);
        if (kind == STEP_FILL) *finished = !tail;
    }
    if (st == LORE_OK && !*moved && kind != STEP_FILL) {
        int copied_all = kind != STEP_DELETE && !tail;
        int64_t cursor = b ? b->last : 0;
        st = h->ops->rebuild_step(h->state, cursor, copied_all, REEMBED_DELETE_BUDGET, finished);
        if (st == LORE_OK && copied_all) {
            r->switched = 1;
            LORE_INFO("reembed %s: switched to model %s", store_tenant_name(r->t), key);
        }
    }
    if (st == LORE_OK && began) st = h->ops->flush(h->state);
    if (st == LORE_OK) st = store_commit(r->t);
    if (st != LORE_OK) {
        if (!err[0] && h) snprintf(err, sizeof err, "%s", h->ops->errmsg(h->state));
        if (began) h->ops->abort(h->state);
        store_rollback(r->t);
    }
    if (st != LORE_OK) {
        if (st == LORE_INVALID && err[0]) return fail(r, "model %s: %s", key, err);
        return store_fail(r, "writing vectors", st, err[0] ? err : store_tenant_errmsg(r->t));
    }
    r->added += added;
    r->skipped_gone += gone;
    r->unusable += unusable;
    if (kind == STEP_DELETE)
        r->deleted_steps++;
    else
        r->steps++;
    return 0;
}

/* Embeds and writes chunks after cursor into key's slot until the step
 * that finishes (or the time is up: *timeout). */
static int pass(run *r, step_kind kind, const char *key, int64_t cursor, int64_t deadline,
                int *timeout) {
    embedder *e = embedder_for(r, key);
    if (!e) return -1;
    batch b = {0};
    int rc = 0;
    for (;;) {
        if (lore_mono_ns() / 1000000 >= deadline) {
            *timeout = 1;
            break;
        }
        int exhausted = 0;
        if ((rc = read_step(r, key, cursor, &b, &exhausted)) != 0) break;
        if (kind == STEP_FILL && !b.n) {
            if (exhausted) break; /* every chunk has its vector */
            cursor = b.last;
            continue;
        }
        float *vec = NULL;
        uint32_t dims = 0; /* no vector to add: the slot's own */
        if ((rc = embed_batch(r, e, &b, &vec, &dims)) != 0) break;
        int finished = 0, moved = 0;
        rc = write_step(r, kind, key, dims, &b, vec, &finished, &moved);
        free(vec);
        if (rc || moved || finished) break;
        if (kind == STEP_BUILD && r->switched) break; /* the deletes come next */
        cursor = b.last;
    }
    batch_free(&b);
    return rc;
}

/* Runs passes until the configured model is live and complete. */
static int run_all(run *r, int64_t deadline, int *timeout) {
    embedder *target = embed_registry_configured(r->reg);
    const char *want = target->ops->model_key(target);
    for (int round = 0; round < 64; round++) {
        vec_rebuild_status rs;
        char err[512];
        lore_status st = tenant_ctx_vector_status(r->ctx, &rs, err, sizeof err);
        if (st != LORE_OK) return store_fail(r, "reading the vector slots", st, err);
        int rc = 0;
        if (rs.phase == VEC_REBUILD_DELETING) {
            int finished = 0;
            while (!finished && !rc) {
                if (lore_mono_ns() / 1000000 >= deadline) {
                    *timeout = 1;
                    return 0;
                }
                int moved = 0;
                rc = write_step(r, STEP_DELETE, rs.live_key, 0, NULL, NULL, &finished, &moved);
                if (moved) break;
            }
            if (rc) return rc;
            continue;
        }
        if (rs.phase == VEC_REBUILD_COPYING) {
            /* A build under way: finish it (with its own model), whoever
             * started it; the configured model follows if it differs. */
            if (!r->from_key[0]) snprintf(r->from_key, sizeof r->from_key, "%s", rs.live_key);
            rc = pass(r, STEP_BUILD, rs.build_key, rs.cursor, deadline, timeout);
        } else if (!rs.live_key[0] || !strcmp(rs.live_key, want)) {
            /* Fill: every chunk without a vector in the live slot. */
            rc = pass(r, STEP_FILL, want, 0, deadline, timeout);
            if (!rc && !*timeout) {
                /* done unless the state moved meanwhile */
                if ((st = tenant_ctx_vector_status(r->ctx, &rs, err, sizeof err)) != LORE_OK)
                    return store_fail(r, "reading the vector slots", st, err);
                if (rs.phase == VEC_REBUILD_NONE && (!rs.live_key[0] || !strcmp(rs.live_key, want)))
                    return 0;
            }
        } else {
            snprintf(r->from_key, sizeof r->from_key, "%s", rs.live_key);
            embedder *e = embedder_for(r, want);
            uint32_t dims = 0;
            if (!e || dims_of(r, e, &dims)) return -1;
            int finished = 0, moved = 0;
            rc = write_step(r, STEP_START, want, dims, NULL, NULL, &finished, &moved);
            LORE_INFO("reembed %s: building a vector slot for model %s beside %s",
                      store_tenant_name(r->t), want, rs.live_key);
        }
        if (rc || *timeout) return rc;
    }
    return fail(r, "the vector slots kept changing under the switch; run it again");
}

void ingest_reembed_run(tenant_ctx *ctx, embed_registry *reg, size_t step_chunks,
                        const store_job *j, queue_result *res, int *drop) {
    *drop = 0;
    if (!reg) {
        res->error = strdup("no embedder is configured in the process that ran this job: set "
                            "embed_url and embed_model (docs/embeddings.md) and retry it");
        return;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx, r.t = ctx->store, r.reg = reg;
    r.step = step_chunks ? step_chunks : REEMBED_STEP_CHUNKS;
    r.retry_ms = -1;
    int64_t t0 = lore_mono_ns(), deadline = t0 / 1000000 + REEMBED_RUN_MS;
    int timeout = 0;
    int rc = run_all(&r, deadline, &timeout);
    if (rc && r.outage) {
        int64_t d = r.retry_ms > 0 ? r.retry_ms : REEMBED_OUTAGE_DELAY_MS;
        if (d > REEMBED_OUTAGE_DELAY_MAX_MS) d = REEMBED_OUTAGE_DELAY_MAX_MS;
        LORE_WARN("reembed %s: the embedding provider is unavailable, trying again in %lld ms "
                  "(the work done so far is kept): %s",
                  j->tenant, (long long)d, r.err);
        res->release = 1;
        res->release_delay_ms = d;
        return;
    }
    if (rc) {
        res->error = strdup(r.err);
        *drop = r.store_failed;
        return;
    }
    if (timeout) { /* continue in a later run: other work goes first */
        res->release = 1;
        res->release_delay_ms = 0;
        return;
    }
    embedder *target = embed_registry_configured(reg);
    json_t *o =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:b,s:f}", "model", target->ops->model_key(target),
                  "embedded", (json_int_t)r.embedded, "added", (json_int_t)r.added, "gone",
                  (json_int_t)r.skipped_gone, "steps", (json_int_t)(r.steps + r.deleted_steps),
                  "switched", r.switched, "seconds", (double)(lore_mono_ns() - t0) / 1e9);
    if (o && r.from_key[0]) json_object_set_new(o, "previous_model", json_string(r.from_key));
    if (o && r.unusable) json_object_set_new(o, "unusable", json_integer((json_int_t)r.unusable));
    res->result = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    res->ok = 1;
}
