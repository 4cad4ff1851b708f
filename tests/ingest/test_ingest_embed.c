/* The embedding pipeline against a real model over the real protocol
 * (tests/embed/server.mjs, USE-Lite, started as a child; its /control
 * injects the provider's failures):
 *   - pending rows are written with the chunks (and not at all when neither
 *     an embedder is configured nor the tenant has vectors), one embed job
 *     is queued while the last one has not started;
 *   - the embed job drains the set: every live chunk has exactly one vector
 *     in the live slot, nothing stays pending;
 *   - replaced and deleted documents lose their vectors and pending rows in
 *     the same transaction, even with no embedder in the process;
 *   - a document replaced while its chunks are being embedded: the stale
 *     embedding is dropped at commit (chunk ids are never reused);
 *   - 429 with Retry-After and 500: the job is put back with a delay (at
 *     least the Retry-After), never failed, and completes once the provider
 *     answers; a provider that is down too;
 *   - a wrong dimension fails the job with an error naming the provider,
 *     and the rows stay;
 *   - a process with no embedder puts the job back without an attempt. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embed/embed.h"
#include "embed/embed_registry.h"
#include "ingest/ingest_embed.h"
#include "ingest/ingest_jobs.h"
#include "support/embed_server.h"
#include "test.h"
#include "util/timeutil.h"

static embed_server srv; /* tests/support/embed_server.h */
static char provider_name[128];
static char dir[] = "/tmp/lore-test-embedq-XXXXXX";

/* ---- the model server ---- */

static int start_server(void) {
    if (embed_server_start(&srv) != 0) return -1;
    snprintf(provider_name, sizeof provider_name, "127.0.0.1:%d (model use-lite)", srv.port);
    return 0;
}

static void stop_server(void) {
    embed_server_stop(&srv);
}

static void control(const char *body) {
    CHECK_INT(embed_server_control(&srv, body), 0);
}

static long long stat_int(const char *name) {
    return embed_server_stat(&srv, name);
}

/* ---- the tenant ---- */

static store *st_store;
static embed_registry *reg;

static embed_registry *registry_new(void) {
    embed_settings s;
    memset(&s, 0, sizeof s);
    s.url = srv.url;
    s.model = "use-lite";
    s.dimensions = 512;
    s.batch = 8;
    s.concurrency = 2;
    s.timeout_s = 30;
    s.max_input_tokens = 8000;
    s.max_attempts = 2;
    s.max_retry_ms = 300;
    s.backoff_ms = 50;
    embedder *e = NULL;
    char err[256];
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_OK);
    embed_registry *r = NULL;
    CHECK_INT(embed_registry_wrap(e, &s, &r), LORE_OK);
    return r;
}

static tenant_ctx *open_tenant(const char *name, embed_registry *r) {
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.vec_scope = dir;
    ts.embedders = r;
    tenant_ctx *c = NULL;
    CHECK_INT(tenant_ctx_open(st_store, name, &ts, &c), LORE_OK);
    return c;
}

static ingest_embed_enqueuer enq;

/* Writes documents prefix0..prefix(n-1) (text mentioning word) in one batch. */
static void put_docs(tenant_ctx *c, int embed_configured, const char *prefix, int n,
                     const char *word) {
    ingest_options o;
    ingest_options_default(&o);
    o.embed_configured = embed_configured;
    o.on_embed_pending = ingest_embed_on_pending;
    o.embed_ctx = &enq;
    ingest_session *s = NULL;
    CHECK_INT(ingest_session_new(c, &o, &s), LORE_OK);
    for (int i = 0; i < n; i++) {
        char id[64], title[64], text[512];
        snprintf(id, sizeof id, "%s%d", prefix, i);
        snprintf(title, sizeof title, "About %s %d", prefix, i);
        snprintf(text, sizeof text,
                 "Document %d of %s is about %s. It says something about %s on day %d, in a "
                 "few plain sentences that make one chunk.",
                 i, prefix, word, word, i);
        ingest_record r;
        memset(&r, 0, sizeof r);
        r.external_id = id;
        r.title = title;
        r.text = text;
        r.text_len = strlen(text);
        ingest_outcome oc;
        CHECK_INT(ingest_record_put(s, &r, &oc), LORE_OK);
        CHECK(oc == INGEST_ADDED || oc == INGEST_UPDATED);
    }
    CHECK_INT(ingest_commit(s), LORE_OK);
    ingest_session_free(s);
}

static void delete_doc(tenant_ctx *c, const char *external_id) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("files", external_id, id);
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *s = NULL;
    CHECK_INT(ingest_session_new(c, &o, &s), LORE_OK);
    CHECK_INT(ingest_delete(s, id), LORE_OK);
    CHECK_INT(ingest_commit(s), LORE_OK);
    ingest_session_free(s);
}

/* ---- the audit: chunks against vectors and pending rows ---- */

typedef struct audit {
    int64_t chunks, vectors, matched, pending;
    int64_t ids[4096];
    size_t nids;
} audit;

static int take_chunk(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t tl,
                      const char *text, size_t xl) {
    (void)nterms, (void)title, (void)tl, (void)text, (void)xl;
    audit *a = ctx;
    if (a->nids < sizeof a->ids / sizeof a->ids[0]) a->ids[a->nids++] = id;
    a->chunks++;
    return 0;
}

static int count_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    (void)k, (void)kl, (void)v, (void)vl;
    (*(int64_t *)ctx)++;
    return 0;
}

static void vec_key(int64_t id, uint8_t key[8]) {
    uint64_t u = (uint64_t)id ^ (1ull << 63);
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(u >> (56 - 8 * i));
}

/* Vectors of chunk id in either slot (0, 1 or 2). */
static int vectors_of(store_tenant *t, int64_t id) {
    uint8_t key[8];
    vec_key(id, key);
    int n = 0;
    lore_buf b;
    lore_buf_init(&b, 1 << 16);
    for (int ns = 22; ns <= 25; ns += 3)
        n += store_kv_get(t, ns, key, 8, &b) == LORE_OK;
    lore_buf_free(&b);
    return n;
}

static void audit_run(tenant_ctx *c, audit *a) {
    memset(a, 0, sizeof *a);
    store_tenant *t = c->store;
    CHECK_INT(store_chunk_scan(t, 0, 1000000, take_chunk, a), LORE_OK);
    CHECK_INT(store_kv_scan(t, 22, "", 0, NULL, 0, count_row, &a->vectors), LORE_OK);
    CHECK_INT(store_kv_scan(t, 25, "", 0, NULL, 0, count_row, &a->vectors), LORE_OK);
    CHECK_INT(store_kv_scan(t, STORE_NS_EMBED_PENDING, "", 0, NULL, 0, count_row, &a->pending),
              LORE_OK);
    for (size_t i = 0; i < a->nids; i++)
        a->matched += vectors_of(t, a->ids[i]) == 1;
}

/* Every live chunk has exactly one vector, there are no others, nothing
 * waits, and the counter agrees. */
static void check_consistent(tenant_ctx *c, const char *when) {
    audit a;
    audit_run(c, &a);
    int64_t count = -1, oldest = -1;
    CHECK_INT(ingest_embed_pending(c->store, &count, &oldest), LORE_OK);
    int ok = a.chunks > 0 && a.vectors == a.chunks && a.matched == a.chunks && a.pending == 0 &&
             count == 0 && oldest == 0;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s: chunks %lld vectors %lld matched %lld pending %lld count %lld\n",
                when, (long long)a.chunks, (long long)a.vectors, (long long)a.matched,
                (long long)a.pending, (long long)count);
}

/* The live slot's tombstones (deleted vectors the graph still holds). */
static int64_t live_tombstones(tenant_ctx *c) {
    char err[256];
    vec_rebuild_status rs;
    CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
    tenant_index_vector *v = NULL;
    CHECK_INT(tenant_ctx_vector(c, rs.live_key, 0, &v, err, sizeof err), LORE_OK);
    vec_stats st;
    memset(&st, 0, sizeof st);
    if (v) CHECK_INT(v->ops->stats(v->state, &st), LORE_OK);
    return st.tombstones;
}

/* ---- running the job ---- */

static ingest_embed_settings job_settings(void) {
    ingest_embed_settings s;
    memset(&s, 0, sizeof s);
    s.step_chunks = 16;
    s.retry_min_ms = 200;
    s.retry_max_ms = 1000;
    s.no_embedder_ms = 1234;
    return s;
}

static void job_of(const char *tenant, store_job *j) {
    memset(j, 0, sizeof *j);
    snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    snprintf(j->kind, sizeof j->kind, "%s", INGEST_JOB_EMBED);
}

static void run_job(tenant_ctx *c, queue_result *res) {
    memset(res, 0, sizeof *res);
    ingest_embed_settings s = job_settings();
    store_job j;
    job_of(c->name, &j);
    int drop = 0;
    ingest_embed_job_run(c, &s, &j, res, &drop);
    CHECK_INT(drop, 0);
}

static void result_clear(queue_result *r) {
    free(r->error);
    free(r->result);
    memset(r, 0, sizeof *r);
}

static void run_to_done(tenant_ctx *c) {
    queue_result r;
    run_job(c, &r);
    CHECK_INT(r.ok, 1);
    if (!r.ok) fprintf(stderr, "  job: %s\n", r.error ? r.error : "(released)");
    result_clear(&r);
}

static int64_t pending_count(tenant_ctx *c) {
    int64_t n = 0, oldest = 0;
    CHECK_INT(ingest_embed_pending(c->store, &n, &oldest), LORE_OK);
    return n;
}

/* The embed jobs of tenant in state (-1: any). */
static size_t embed_jobs(const char *tenant, int state) {
    store_job *js = NULL;
    size_t n = 0, k = 0;
    CHECK_INT(store_job_list(st_store, tenant, state, 0, 100, &js, &n), LORE_OK);
    for (size_t i = 0; i < n; i++)
        k += !strcmp(js[i].kind, INGEST_JOB_EMBED);
    store_jobs_free(js, n);
    return k;
}

/* ---- tests ---- */

static void test_pending_and_drain(void) {
    CHECK_INT(store_tenant_create(st_store, "a"), LORE_OK);
    tenant_ctx *c = open_tenant("a", reg);
    put_docs(c, 1, "p", 20, "otters");
    audit a;
    audit_run(c, &a);
    CHECK_INT(a.chunks, 20);
    CHECK_INT(a.pending, 20); /* one row per chunk, committed with it */
    CHECK_INT(a.vectors, 0);
    CHECK_INT(pending_count(c), 20);
    CHECK_INT(embed_jobs("a", STORE_JOB_READY), 1);
    put_docs(c, 1, "q", 5, "badgers");
    CHECK_INT(embed_jobs("a", STORE_JOB_READY), 1); /* the queued one will see these too */
    CHECK_INT(pending_count(c), 25);
    /* claimed (started): the next batch queues another */
    store_job *js = NULL;
    size_t n = 0;
    CHECK_INT(store_job_claim(st_store, "test", lore_now_ms(), 30000, 64, INT64_MAX, &js, &n),
              LORE_OK);
    CHECK_INT(n, 1);
    if (n) CHECK_STR(js[0].kind, INGEST_JOB_EMBED);
    store_jobs_free(js, n);
    put_docs(c, 1, "r", 1, "stoats");
    CHECK_INT(embed_jobs("a", STORE_JOB_READY), 1);
    CHECK_INT(embed_jobs("a", STORE_JOB_LEASED), 1);

    control("{\"reset\": true}");
    run_to_done(c);
    check_consistent(c, "after the drain");
    CHECK_INT(stat_int("inputs"), 26); /* each chunk embedded once */
    /* again: nothing to do, nothing embedded twice */
    run_to_done(c);
    CHECK_INT(stat_int("inputs"), 26);
    check_consistent(c, "after a second run");
    tenant_ctx_close(c);
}

static void test_no_embedder_no_rows(void) {
    CHECK_INT(store_tenant_create(st_store, "b"), LORE_OK);
    tenant_ctx *c = open_tenant("b", NULL);
    put_docs(c, 0, "p", 3, "otters"); /* nothing configured, no vectors yet */
    CHECK_INT(pending_count(c), 0);
    CHECK_INT(embed_jobs("b", -1), 0);
    /* with nothing here to embed, the job waits without an attempt */
    queue_result r;
    run_job(c, &r);
    CHECK_INT(r.ok, 0);
    CHECK_INT(r.release, 1);
    CHECK_INT(r.release_delay_ms, 1234);
    CHECK(r.error == NULL);
    result_clear(&r);
    tenant_ctx_close(c);
}

static void test_replace_delete(void) {
    CHECK_INT(store_tenant_create(st_store, "c"), LORE_OK);
    tenant_ctx *c = open_tenant("c", reg);
    put_docs(c, 1, "p", 6, "otters");
    run_to_done(c);
    check_consistent(c, "before");
    audit before;
    audit_run(c, &before);
    /* A process with no embedder (lore delete, a worker without embed_url)
     * still removes the vectors; the new chunks queue since vectors exist. */
    tenant_ctx *plain = open_tenant("c", NULL);
    put_docs(plain, 0, "p", 2, "weasels"); /* p0, p1 replaced */
    delete_doc(plain, "p2");
    tenant_ctx_close(plain);
    audit a;
    audit_run(c, &a);
    CHECK_INT(a.chunks, 6 - 1);
    CHECK_INT(a.pending, 2);     /* the replacements' chunks */
    CHECK_INT(a.vectors, 6 - 3); /* p0, p1, p2's old vectors gone */
    CHECK_INT(vectors_of(c->store, before.ids[0]), 0);
    CHECK_INT(vectors_of(c->store, before.ids[2]), 0);
    CHECK_INT(vectors_of(c->store, before.ids[3]), 1);
    /* replaced or deleted before they were embedded: their rows go too */
    put_docs(c, 1, "p", 1, "martens");
    delete_doc(c, "p1");
    CHECK_INT(pending_count(c), 1); /* p0's new chunk only */
    run_to_done(c);
    check_consistent(c, "after replace and delete");
    /* the deleted vectors' tombstones are repaired away by the batches'
     * flushes (a graph this small in one step), not left for ever */
    CHECK_INT(live_tombstones(c), 0);
    tenant_ctx_close(c);
}

/* A folder sync deletes the documents of a file that is gone, and a
 * changed file's: their vectors go with them. */
static void test_sync_removes(void) {
    CHECK_INT(store_tenant_create(st_store, "g"), LORE_OK);
    tenant_ctx *c = open_tenant("g", reg);
    char folder[sizeof dir + 16], path[sizeof dir + 64];
    snprintf(folder, sizeof folder, "%s/folder", dir);
    CHECK_INT(mkdir(folder, 0700), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/f%d.md", folder, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fprintf(f, "# Note %d\n\nThe otters of note %d swim in the river every morning.\n", i,
                    i);
            fclose(f);
        }
    }
    ingest_options o;
    ingest_options_default(&o);
    o.embed_configured = 1;
    o.on_embed_pending = ingest_embed_on_pending;
    o.embed_ctx = &enq;
    ingest_session *s = NULL;
    char why[512] = "";
    CHECK_INT(ingest_session_new(c, &o, &s), LORE_OK);
    CHECK_INT(ingest_sync_path(s, folder, why, sizeof why), LORE_OK);
    CHECK_INT(ingest_commit(s), LORE_OK);
    CHECK_INT(pending_count(c), 4);
    run_to_done(c);
    check_consistent(c, "after the first sync");
    snprintf(path, sizeof path, "%s/f0.md", folder);
    CHECK_INT(unlink(path), 0);
    snprintf(path, sizeof path, "%s/f1.md", folder);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "# Note 1\n\nChanged: the badgers dig at night.\n");
        fclose(f);
    }
    CHECK_INT(ingest_sync_path(s, folder, why, sizeof why), LORE_OK);
    CHECK_INT(ingest_commit(s), LORE_OK);
    ingest_session_free(s);
    audit a;
    audit_run(c, &a);
    CHECK_INT(a.chunks, 3);
    CHECK_INT(a.vectors, 2); /* f0's and f1's old vectors gone */
    CHECK_INT(a.pending, 1); /* f1's new chunk */
    run_to_done(c);
    check_consistent(c, "after the second sync");
    tenant_ctx_close(c);
}

typedef struct bg_job {
    tenant_ctx *c;
    queue_result r;
} bg_job;

static void *bg_run(void *arg) {
    bg_job *b = arg;
    ingest_embed_settings s = job_settings();
    store_job j;
    job_of(b->c->name, &j);
    int drop = 0;
    ingest_embed_job_run(b->c, &s, &j, &b->r, &drop);
    return NULL;
}

/* The chunk is replaced while its embedding is in flight: the stale
 * embedding finds no pending row at commit and is dropped. */
static void test_replaced_while_embedding(void) {
    CHECK_INT(store_tenant_create(st_store, "d"), LORE_OK);
    tenant_ctx *c = open_tenant("d", reg);
    put_docs(c, 1, "p", 3, "otters");
    audit first;
    audit_run(c, &first);
    control("{\"reset\": true}");
    control("{\"delay_ms\": 1500}");
    bg_job b = {open_tenant("d", reg), {0}};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, bg_run, &b), 0);
    for (int i = 0; i < 200 && stat_int("in_flight") == 0; i++)
        usleep(20000);
    CHECK(stat_int("in_flight") > 0);
    put_docs(c, 1, "p", 1, "stoats"); /* p0 replaced meanwhile */
    pthread_join(th, NULL);
    CHECK_INT(b.r.ok, 1);
    result_clear(&b.r);
    tenant_ctx_close(b.c);
    /* the stale one never landed; the job went on to embed the new chunk */
    CHECK_INT(vectors_of(c->store, first.ids[0]), 0);
    CHECK_INT(vectors_of(c->store, first.ids[1]), 1);
    control("{\"reset\": true}");
    check_consistent(c, "after the replaced chunk's own embedding");
    tenant_ctx_close(c);
}

static void test_retryable(void) {
    CHECK_INT(store_tenant_create(st_store, "e"), LORE_OK);
    tenant_ctx *c = open_tenant("e", reg);
    put_docs(c, 1, "p", 4, "otters");
    queue_result r;
    /* 429 with Retry-After past what one call waits: put back for at least that */
    control("{\"reset\": true}");
    control("{\"status\": 429, \"count\": 1000, \"retry_after\": \"3\"}");
    run_job(c, &r);
    CHECK_INT(r.ok, 0);
    CHECK_INT(r.release, 1);
    CHECK(r.release_delay_ms >= 3000 && r.release_delay_ms <= 3600000);
    CHECK(r.error == NULL);
    result_clear(&r);
    CHECK_INT(pending_count(c), 4);
    /* 500: put back with a backoff */
    control("{\"reset\": true}");
    control("{\"status\": 500, \"count\": 1000}");
    run_job(c, &r);
    CHECK_INT(r.release, 1);
    CHECK(r.release_delay_ms >= 150 && r.release_delay_ms <= 1000);
    CHECK(r.error == NULL);
    result_clear(&r);
    /* the provider gone (not listening): same */
    control("{\"reset\": true}");
    control("{\"down\": true, \"for_ms\": 1500}");
    usleep(200000); /* it stops listening 10 ms after answering */
    run_job(c, &r);
    CHECK_INT(r.release, 1);
    CHECK(r.error == NULL);
    result_clear(&r);
    CHECK_INT(pending_count(c), 4);
    ingest_embed_counters k;
    ingest_embed_counters_get(&k);
    CHECK(k.errors_retryable >= 3);
    /* a 429 and a 500 the embedder's own retries absorb: done at once */
    usleep(1500000); /* listening again */
    control("{\"reset\": true}");
    control("{\"status\": 429, \"count\": 1, \"retry_after\": \"0\"}");
    run_to_done(c);
    check_consistent(c, "after the provider came back");
    tenant_ctx_close(c);
}

static void test_wrong_dimension(void) {
    CHECK_INT(store_tenant_create(st_store, "f"), LORE_OK);
    tenant_ctx *c = open_tenant("f", reg);
    put_docs(c, 1, "p", 3, "otters");
    control("{\"reset\": true}");
    control("{\"dimensions\": 300}");
    queue_result r;
    run_job(c, &r);
    CHECK_INT(r.ok, 0);
    CHECK_INT(r.release, 0); /* failed: an attempt, with the reason */
    CHECK(r.error && strstr(r.error, provider_name) && strstr(r.error, "dimension"));
    if (r.error) printf("  wrong dimension: %s\n", r.error);
    result_clear(&r);
    CHECK_INT(pending_count(c), 3); /* nothing lost */
    control("{\"reset\": true}");
    run_to_done(c);
    check_consistent(c, "after the dimension was fixed");
    tenant_ctx_close(c);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (start_server() != 0) {
        CHECK(0);
        return test_summary();
    }
    char err[512];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &st_store, err, sizeof err), LORE_OK);
    enq.control = st_store;
    enq.max_attempts = 5;
    reg = registry_new();
    test_pending_and_drain();
    test_no_embedder_no_rows();
    test_replace_delete();
    test_sync_removes();
    test_replaced_while_embedding();
    test_retryable();
    test_wrong_dimension();
    embed_registry_free(reg);
    store_close(st_store);
    stop_server();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {
    }
    curl_global_cleanup();
    return test_summary();
}
