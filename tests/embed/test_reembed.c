/* The model switch (ingest_reembed.h) against a real model over the real
 * protocol: tests/embed/server.mjs serves USE-Lite as "use-lite" (512
 * numbers) and as "use-lite-mrl" (shortened to the asked dimensions), so a
 * tenant can move from one model key to another.
 *
 *   - backfill: a tenant whose documents came before its embedder gets every
 *     chunk embedded, and a second run changes nothing;
 *   - the audit: a vector of no chunk and a chunk without its vector are
 *     found, and the job (its model live) embeds just the missing chunk;
 *   - switch: a job builds the new model's slot beside the live one while
 *     the test searches (answered from the old slot, with the old model,
 *     until the atomic switch, then from the new one), writes a document
 *     and deletes one; afterwards the audit finds every live chunk with
 *     exactly one vector in the new slot, none for the deleted document,
 *     and the old slot gone;
 *   - outage: the new model's provider goes down mid-build: the job is put
 *     back with a delay (no attempt used, no error) and keeps its progress;
 *     back up, it finishes;
 *   - kill -9: a process running the switch is killed mid-build; another
 *     finishes it from the committed cursor and the audit passes;
 *   - a vector of zeros: the chunk is left without one, the job finishes,
 *     a later run embeds it;
 *   - no embedder: the job fails naming embed_url. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embed/embed.h"
#include "embed/embed_registry.h"
#include "ingest/ingest.h"
#include "ingest/ingest_jobs.h"
#include "ingest/ingest_reembed.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"
#include "support/embed_server.h"
#include "test.h"
#include "util/timeutil.h"

static embed_server srv; /* tests/support/embed_server.h */
static char dir[] = "/tmp/lore_reembed_XXXXXX";

/* ---- the model server ---- */

static int start_server(void) {
    return embed_server_start(&srv);
}

static void control(const char *body) {
    CHECK_INT(embed_server_control(&srv, body), 0);
}

/* A registry whose configured model is model at dims (0: its own). */
static embed_registry *registry(const char *model, int64_t dims) {
    embed_settings s = {.url = srv.url,
                        .model = model,
                        .dimensions = dims,
                        .batch = 16,
                        .concurrency = 2,
                        .timeout_s = 60,
                        .max_input_tokens = 8000,
                        .max_attempts = 2,
                        .backoff_ms = 50};
    embedder *e = NULL;
    char err[512] = "";
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_OK);
    embed_registry *r = NULL;
    CHECK_INT(embed_registry_wrap(e, &s, &r), LORE_OK);
    return r;
}

static const char *key_of(embed_registry *r) {
    embedder *e = embed_registry_configured(r);
    return e->ops->model_key(e);
}

/* ---- the tenant ---- */

static const char *const topics[] = {
    "Parental leave is sixteen weeks for every new parent.",
    "The cafeteria serves vegetarian lunch on Fridays.",
    "Production deploys require two approvals and a green build.",
    "Expense reports are due by the fifth of each month.",
    "The VPN client must be updated before connecting from home.",
    "Our office in Lisbon opens at eight in the morning.",
    "Security badges must be worn visibly at all times.",
    "Laptops are replaced every three years by the IT team.",
    "Customer refunds over five hundred dollars need manager approval.",
    "Database backups are verified by restoring them every Sunday.",
};
#define NTOPICS (sizeof topics / sizeof topics[0])
#define NFILLER 30

static tenant_ctx *open_ctx(store **s, embed_registry *reg) {
    char err[256];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, s, err, sizeof err), LORE_OK);
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.vec_scope = dir;
    ts.embedders = reg;
    tenant_ctx *c = NULL;
    CHECK_INT(tenant_ctx_open(*s, "t", &ts, &c), LORE_OK);
    return c;
}

static void put_doc(ingest_session *ss, const char *id, const char *text) {
    ingest_record r;
    memset(&r, 0, sizeof r);
    r.source = "test";
    r.external_id = id;
    r.title = id;
    r.text = text;
    r.text_len = strlen(text);
    ingest_outcome oc;
    CHECK_INT(ingest_record_put(ss, &r, &oc), LORE_OK);
    CHECK(oc == INGEST_ADDED || oc == INGEST_UPDATED);
}

static void ingest_all(tenant_ctx *c) {
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *ss = NULL;
    CHECK_INT(ingest_session_new(c, &o, &ss), LORE_OK);
    char id[32], text[256];
    for (size_t i = 0; i < NTOPICS; i++) {
        snprintf(id, sizeof id, "topic%zu", i);
        put_doc(ss, id, topics[i]);
    }
    for (int i = 0; i < NFILLER; i++) {
        snprintf(id, sizeof id, "filler%d", i);
        snprintf(text, sizeof text, "Routine note %d: the weekly status of item %d is unchanged.",
                 i, i * 7);
        put_doc(ss, id, text);
    }
    CHECK_INT(ingest_commit(ss), LORE_OK);
    ingest_session_free(ss);
}

/* The external id of the document of the best hit for query in key's
 * slot, embedded with key's model: 0, or 1 when key has no slot (switched
 * away), -1 on failure. */
static int top_doc(tenant_ctx *c, embed_registry *reg, const char *key, const char *query,
                   char *ext, size_t extlen) {
    char err[512] = "";
    embedder *e = embed_registry_for_key(reg, key, err, sizeof err);
    if (!e) return -1;
    size_t len = strlen(query);
    float *v = NULL;
    uint32_t dims = 0;
    embed_error ee;
    if (e->ops->embed(e, &query, &len, 1, &v, &dims, NULL, &ee) != LORE_OK) return -1;
    tenant_index_vector *h = NULL;
    int rc = -1;
    vec_result res = {0};
    if (tenant_ctx_vector(c, key, 0, &h, err, sizeof err) == LORE_OK) {
        vec_query q = {.vec = v, .k = 3};
        lore_status st = h->ops->search(h->state, &q, &res);
        if (st == LORE_NOT_FOUND) rc = 1;
        if (st == LORE_OK && res.n) {
            int64_t doc = 0;
            store_doc *d = NULL;
            if (store_chunk_doc(c->store, res.hits[0].chunk_id, &doc) == LORE_OK &&
                store_doc_get_rowid(c->store, doc, 0, &d) == LORE_OK) {
                snprintf(ext, extlen, "%s", d->external_id);
                rc = 0;
            }
            store_doc_free(d);
        }
    }
    vec_result_free(&res);
    free(v);
    return rc;
}

static void check_audit(tenant_ctx *c, const char *live_key, int64_t chunks) {
    vec_audit a;
    char err[512] = "";
    CHECK_INT(ingest_vector_audit(c, 0, &a, err, sizeof err), LORE_OK);
    CHECK_STR(a.live_key, live_key);
    CHECK_INT(a.chunks, chunks);
    CHECK_INT(a.vectors, chunks);
    CHECK_INT(a.graph_live, chunks);
    CHECK_INT(a.missing, 0);
    CHECK_INT(a.orphans, 0);
    CHECK_INT(a.not_in_graph, 0);
    CHECK(a.ok);
    if (!a.ok)
        fprintf(stderr, "audit: chunks %lld vectors %lld graph %lld missing %lld orphans %lld\n",
                (long long)a.chunks, (long long)a.vectors, (long long)a.graph_live,
                (long long)a.missing, (long long)a.orphans);
}

static void run_job(tenant_ctx *c, embed_registry *reg, size_t step, queue_result *res) {
    store_job j;
    memset(&j, 0, sizeof j);
    ingest_reembed_job(&j, "t");
    memset(res, 0, sizeof *res);
    int drop = 0;
    ingest_reembed_run(c, reg, step, &j, res, &drop);
    CHECK_INT(drop, 0);
}

static void res_clear(queue_result *r) {
    free(r->error), free(r->result);
    memset(r, 0, sizeof *r);
}

/* Runs the job until it is done (it puts itself back after REEMBED_RUN_MS). */
static void run_to_end(tenant_ctx *c, embed_registry *reg, size_t step, queue_result *res) {
    for (int i = 0; i < 50; i++) {
        run_job(c, reg, step, res);
        if (!res->release || res->release_delay_ms) return;
        res_clear(res);
    }
}

/* ---- backfill ---- */

static int64_t nchunks;

static void test_backfill(embed_registry *a) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, a);
    ingest_all(c);
    int64_t docs = 0;
    CHECK_INT(store_counts(c->store, &docs, &nchunks), LORE_OK);
    CHECK_INT(docs, (int64_t)(NTOPICS + NFILLER));
    vec_audit au;
    char err[512];
    CHECK_INT(ingest_vector_audit(c, 0, &au, err, sizeof err), LORE_OK);
    CHECK_STR(au.live_key, "");
    CHECK_INT(au.missing, nchunks);
    CHECK(!au.ok);
    reembed_progress p;
    CHECK_INT(ingest_reembed_progress(c, a, &p, err, sizeof err), LORE_OK);
    CHECK(p.switch_needed);
    CHECK_INT(p.pending, nchunks);

    queue_result res;
    run_to_end(c, a, 8, &res);
    CHECK(res.ok);
    CHECK(res.error == NULL);
    json_t *r = res.result ? json_loads(res.result, 0, NULL) : NULL;
    CHECK_INT(json_integer_value(json_object_get(r, "added")), nchunks);
    json_decref(r);
    res_clear(&res);
    check_audit(c, key_of(a), nchunks);
    char ext[64] = "";
    CHECK_INT(top_doc(c, a, key_of(a), topics[3], ext, sizeof ext), 0);
    CHECK_STR(ext, "topic3");

    /* Again: nothing to do, nothing changed. */
    run_to_end(c, a, 8, &res);
    CHECK(res.ok);
    r = res.result ? json_loads(res.result, 0, NULL) : NULL;
    CHECK_INT(json_integer_value(json_object_get(r, "added")), 0);
    CHECK_INT(json_integer_value(json_object_get(r, "embedded")), 0);
    json_decref(r);
    res_clear(&res);
    CHECK_INT(ingest_reembed_progress(c, a, &p, err, sizeof err), LORE_OK);
    CHECK_STR(p.phase, "idle");
    CHECK(!p.switch_needed);
    CHECK_INT(p.vectors, nchunks);
    CHECK(p.percent > 99.99);
    tenant_ctx_close(c);
    store_close(s);
}

typedef struct doc_chunk_ids {
    int64_t ids[64];
    size_t n;
} doc_chunk_ids;

static int on_doc_chunk(void *ctx, int64_t id, uint32_t nterms) {
    (void)nterms;
    doc_chunk_ids *l = ctx;
    if (l->n < 64) l->ids[l->n++] = id;
    return 0;
}

/* ---- the audit finds damage, and the job repairs a missing vector ---- */

static int64_t first_chunk(tenant_ctx *c) {
    int64_t rowid = 0, id = 0;
    CHECK_INT(store_doc_lookup(c->store, "test", "topic0", &rowid, NULL), LORE_OK);
    doc_chunk_ids l = {{0}, 0};
    CHECK_INT(store_doc_chunks(c->store, rowid, on_doc_chunk, &l), LORE_OK);
    if (l.n) id = l.ids[0];
    return id;
}

static void test_audit_damage(embed_registry *a) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, a);
    char err[512];
    tenant_index_vector *h = NULL;
    CHECK_INT(tenant_ctx_vector(c, key_of(a), 0, &h, err, sizeof err), LORE_OK);
    float v[512];
    for (int i = 0; i < 512; i++)
        v[i] = 1.0f;
    const int64_t ghost = 1000000007; /* no chunk has this id */
    CHECK_INT(store_begin(c->store), LORE_OK);
    CHECK_INT(h->ops->begin(h->state), LORE_OK);
    CHECK_INT(h->ops->add(h->state, ghost, v), LORE_OK);
    CHECK_INT(h->ops->flush(h->state), LORE_OK);
    CHECK_INT(store_commit(c->store), LORE_OK);
    vec_audit au;
    CHECK_INT(ingest_vector_audit(c, 1, &au, err, sizeof err), LORE_OK);
    CHECK(!au.ok);
    CHECK_INT(au.orphans, 1);
    CHECK_INT(au.first_orphan, ghost);
    CHECK_INT(au.missing, 0);
    /* the ghost gone, a live chunk's vector removed */
    int64_t victim = first_chunk(c);
    CHECK(victim > 0);
    CHECK_INT(store_begin(c->store), LORE_OK);
    CHECK_INT(h->ops->begin(h->state), LORE_OK);
    CHECK_INT(h->ops->remove(h->state, ghost), LORE_OK);
    CHECK_INT(h->ops->remove(h->state, victim), LORE_OK);
    CHECK_INT(h->ops->flush(h->state), LORE_OK);
    CHECK_INT(store_commit(c->store), LORE_OK);
    CHECK_INT(ingest_vector_audit(c, 0, &au, err, sizeof err), LORE_OK);
    CHECK(!au.ok);
    CHECK_INT(au.orphans, 0);
    CHECK_INT(au.missing, 1);
    CHECK_INT(au.vectors, nchunks - 1);
    CHECK_INT(au.graph_live, nchunks - 1);
    /* the job (the configured model live) embeds just that chunk */
    queue_result res;
    run_to_end(c, a, 8, &res);
    CHECK(res.ok);
    json_t *r = res.result ? json_loads(res.result, 0, NULL) : NULL;
    CHECK_INT(json_integer_value(json_object_get(r, "added")), 1);
    CHECK_INT(json_integer_value(json_object_get(r, "embedded")), 1);
    json_decref(r);
    res_clear(&res);
    check_audit(c, key_of(a), nchunks);
    tenant_ctx_close(c);
    store_close(s);
}

/* ---- the switch, with searches, a write and a delete meanwhile ---- */

typedef struct job_arg {
    embed_registry *reg;
    size_t step;
    queue_result res;
    volatile int done;
} job_arg;

static void *job_thread(void *p) {
    job_arg *a = p;
    store *s = NULL;
    char err[256];
    if (store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK) {
        tenant_settings ts;
        tenant_settings_default(&ts);
        ts.vec_scope = dir;
        ts.embedders = a->reg;
        tenant_ctx *c = NULL;
        if (tenant_ctx_open(s, "t", &ts, &c) == LORE_OK) {
            for (int i = 0; i < 50; i++) {
                store_job j;
                memset(&j, 0, sizeof j);
                ingest_reembed_job(&j, "t");
                memset(&a->res, 0, sizeof a->res);
                int drop = 0;
                ingest_reembed_run(c, a->reg, a->step, &j, &a->res, &drop);
                if (!a->res.release || a->res.release_delay_ms) break;
            }
            tenant_ctx_close(c);
        }
        store_close(s);
    }
    a->done = 1;
    return NULL;
}

/* Deletes a document while the switch runs, as a delete job does: ingest
 * removes its chunks' vectors from both slots in the same transaction. */
static int delete_doc(ingest_session *ss, const char *ext) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("test", ext, id);
    CHECK_INT(ingest_delete(ss, id), LORE_OK);
    return 1;
}

static void test_switch(embed_registry *a, embed_registry *b) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, b);
    char err[512];
    /* The new model answers slowly, so the build spans many searches. */
    control("{\"model\":\"use-lite-mrl\",\"delay_ms\":120}");
    job_arg ja = {.reg = b, .step = 4};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, job_thread, &ja), 0);
    int old_answers = 0, new_answers = 0, wrote = 0, deleted = 0, saw_copying = 0, failures = 0;
    reembed_progress p;
    for (int i = 0; !ja.done; i++) {
        CHECK_INT(ingest_reembed_progress(c, b, &p, err, sizeof err), LORE_OK);
        if (!strcmp(p.phase, "copying")) {
            saw_copying = 1;
            CHECK(p.vectors <= p.chunks);
            CHECK(p.percent <= 100.0);
        }
        /* A search reads the live slot with the live model. */
        vec_rebuild_status rs;
        CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
        size_t t = (size_t)i % NTOPICS;
        if (t == 5) t = 6; /* topic5 is deleted below */
        char ext[64] = "", want[32];
        snprintf(want, sizeof want, "topic%zu", t);
        int rc = top_doc(c, b, rs.live_key, topics[t], ext, sizeof ext);
        if (rc == 1) { /* switched between the two reads: the new live key answers */
            CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
            rc = top_doc(c, b, rs.live_key, topics[t], ext, sizeof ext);
        }
        if (rc != 0 || strcmp(ext, want)) failures++;
        if (!strcmp(rs.live_key, key_of(a))) old_answers++;
        if (!strcmp(rs.live_key, key_of(b))) new_answers++;
        /* A write and a delete while the build runs (in one transaction,
         * checked to be during the copy). */
        if (saw_copying && (!wrote || !deleted)) {
            ingest_options o;
            ingest_options_default(&o);
            ingest_session *ss = NULL;
            store_tenant *t2 = NULL;
            CHECK_INT(ingest_session_new(c, &o, &ss), LORE_OK);
            CHECK_INT(ingest_batch_tenant(ss, &t2), LORE_OK);
            CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
            if (rs.phase == VEC_REBUILD_COPYING) {
                if (!wrote)
                    put_doc(ss, "during", "Bicycle parking is in the basement garage.");
                else
                    deleted = delete_doc(ss, "topic5");
                wrote = 1;
            }
            CHECK_INT(ingest_commit(ss), LORE_OK);
            ingest_session_free(ss);
        }
        usleep(20000);
    }
    pthread_join(th, NULL);
    CHECK(ja.res.ok);
    if (!ja.res.ok) fprintf(stderr, "switch job: %s\n", ja.res.error ? ja.res.error : "released");
    json_t *r = ja.res.result ? json_loads(ja.res.result, 0, NULL) : NULL;
    CHECK(json_is_true(json_object_get(r, "switched")));
    CHECK_STR(json_string_value(json_object_get(r, "previous_model")), key_of(a));
    json_decref(r);
    res_clear(&ja.res);
    CHECK(saw_copying);
    CHECK(old_answers > 0); /* searches were answered from the old slot during the build */
    CHECK_INT(failures, 0);
    CHECK(wrote);
    CHECK(deleted);
    printf("switch: %d searches from the old slot, %d from the new one\n", old_answers,
           new_answers);

    /* After: the new slot is live and complete, the old one is gone. */
    int64_t docs = 0, chunks = 0;
    CHECK_INT(store_counts(c->store, &docs, &chunks), LORE_OK);
    CHECK_INT(chunks, nchunks); /* one written, one deleted */
    check_audit(c, key_of(b), chunks);
    char ext[64] = "";
    CHECK_INT(
        top_doc(c, b, key_of(b), "Bicycle parking is in the basement garage.", ext, sizeof ext), 0);
    CHECK_STR(ext, "during");
    CHECK_INT(top_doc(c, b, key_of(a), topics[1], ext, sizeof ext), 1); /* old key: no slot */
    CHECK_INT(ingest_reembed_progress(c, b, &p, err, sizeof err), LORE_OK);
    CHECK_STR(p.phase, "idle");
    CHECK(!p.switch_needed);
    nchunks = chunks;
    control("{\"reset\":true}");
    tenant_ctx_close(c);
    store_close(s);
}

/* ---- the provider down mid-build ---- */

static void test_outage(embed_registry *c3) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, c3);
    char err[512];
    control("{\"model\":\"use-lite-mrl\",\"delay_ms\":100}");
    job_arg ja = {.reg = c3, .step = 4};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, job_thread, &ja), 0);
    reembed_progress p = {0};
    for (int i = 0; i < 3000 && !ja.done; i++) {
        CHECK_INT(ingest_reembed_progress(c, c3, &p, err, sizeof err), LORE_OK);
        if (!strcmp(p.phase, "copying") && p.vectors >= 8) break;
        usleep(10000);
    }
    control("{\"model\":\"use-lite-mrl\",\"down\":true}");
    pthread_join(th, NULL);
    CHECK_INT(ja.res.ok, 0);
    CHECK_INT(ja.res.release, 1); /* put back: no attempt, never dead-lettered */
    CHECK(ja.res.release_delay_ms > 0);
    CHECK(ja.res.error == NULL);
    res_clear(&ja.res);
    CHECK_INT(ingest_reembed_progress(c, c3, &p, err, sizeof err), LORE_OK);
    CHECK_STR(p.phase, "copying"); /* the build waits, its progress kept */
    CHECK(p.vectors >= 8);
    CHECK(p.vectors < p.chunks);
    int64_t kept = p.vectors;
    control("{\"reset\":true}");
    queue_result res;
    run_to_end(c, c3, 4, &res);
    CHECK(res.ok);
    json_t *r = res.result ? json_loads(res.result, 0, NULL) : NULL;
    /* the second run embedded only what the first had not committed */
    CHECK(json_integer_value(json_object_get(r, "added")) <= nchunks - kept);
    json_decref(r);
    res_clear(&res);
    check_audit(c, key_of(c3), nchunks);
    tenant_ctx_close(c);
    store_close(s);
}

/* ---- kill -9 mid-switch ---- */

static void test_kill(embed_registry *d) {
    control("{\"model\":\"use-lite-mrl\",\"delay_ms\":100}");
    pid_t pid = fork();
    if (pid == 0) { /* a process running the switch, killed below */
        store *s = NULL;
        tenant_ctx *c = open_ctx(&s, d);
        queue_result res;
        run_job(c, d, 4, &res);
        _exit(0);
    }
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, d);
    char err[512];
    reembed_progress p = {0};
    for (int i = 0; i < 3000; i++) {
        CHECK_INT(ingest_reembed_progress(c, d, &p, err, sizeof err), LORE_OK);
        if (!strcmp(p.phase, "copying") && p.vectors >= 8) break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_STR(p.phase, "copying");
    control("{\"reset\":true}");
    queue_result res;
    run_to_end(c, d, 4, &res);
    CHECK(res.ok);
    if (!res.ok) fprintf(stderr, "after kill: %s\n", res.error ? res.error : "released");
    res_clear(&res);
    check_audit(c, key_of(d), nchunks);
    char ext[64] = "";
    CHECK_INT(top_doc(c, d, key_of(d), topics[8], ext, sizeof ext), 0);
    CHECK_STR(ext, "topic8");
    tenant_ctx_close(c);
    store_close(s);
}

/* A vector of zeros cannot be searched by: the chunk is left without one
 * (the job still finishes), and a later run embeds it. */
static void test_unusable(embed_registry *d) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, d);
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *ss = NULL;
    CHECK_INT(ingest_session_new(c, &o, &ss), LORE_OK);
    put_doc(ss, "zeroed", "The library lends projectors for a week.");
    CHECK_INT(ingest_commit(ss), LORE_OK);
    ingest_session_free(ss);
    control("{\"model\":\"use-lite-mrl\",\"zero\":true}");
    queue_result res;
    run_to_end(c, d, 4, &res);
    CHECK(res.ok);
    json_t *r = res.result ? json_loads(res.result, 0, NULL) : NULL;
    CHECK_INT(json_integer_value(json_object_get(r, "unusable")), 1);
    CHECK_INT(json_integer_value(json_object_get(r, "added")), 0);
    json_decref(r);
    res_clear(&res);
    vec_audit au;
    char err[512];
    CHECK_INT(ingest_vector_audit(c, 0, &au, err, sizeof err), LORE_OK);
    CHECK_INT(au.missing, 1);
    CHECK(!au.ok);
    control("{\"reset\":true}");
    run_to_end(c, d, 4, &res);
    CHECK(res.ok);
    res_clear(&res);
    check_audit(c, key_of(d), nchunks + 1);
    tenant_ctx_close(c);
    store_close(s);
}

static void test_no_embedder(void) {
    store *s = NULL;
    tenant_ctx *c = open_ctx(&s, NULL);
    queue_result res;
    run_job(c, NULL, 0, &res);
    CHECK_INT(res.ok, 0);
    CHECK(res.error && strstr(res.error, "embed_url"));
    res_clear(&res);
    tenant_ctx_close(c);
    store_close(s);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (start_server() != 0) return 1;
    CHECK(mkdtemp(dir) != NULL);
    char err[256];
    store *s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    store_close(s);

    embed_registry *a = registry("use-lite", 0);
    embed_registry *b = registry("use-lite-mrl", 128);
    embed_registry *c3 = registry("use-lite-mrl", 96);
    embed_registry *d = registry("use-lite-mrl", 64);
    test_no_embedder();
    test_backfill(a);
    test_audit_damage(a);
    test_switch(a, b);
    test_outage(c3);
    test_kill(d);
    test_unusable(d);
    embed_registry_free(a), embed_registry_free(b), embed_registry_free(c3), embed_registry_free(d);
    embed_server_stop(&srv);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    curl_global_cleanup();
    return test_summary();
}
