/* Semantic and hybrid search against a real model over the real protocol
 * (tests/embed/server.mjs, Universal Sentence Encoder Lite): documents go
 * in through ingest, every chunk is embedded (title + "\n\n" + text, as
 * the embed jobs do) and added through the tenant's vector handle in one
 * transaction, and queries come back through search_run.
 *
 * Proves: a paraphrase sharing no word with its document is found by
 * semantic and hybrid and not by lexical; filters (source:, author:,
 * dates, metadata) and ACLs apply inside the vector search, so a selective
 * filter still fills the page or returns every match and no hidden
 * document comes back; explain gives each retriever's rank and score and
 * the fused score; the errors (no embedder, provider failing in semantic
 * and in hybrid mode, nothing embedded yet). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "embed/embed.h"
#include "embed/embed_registry.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "support/embed_server.h"
#include "test.h"
#include "util/timeutil.h"

static embed_server srv;
static store *control;
static store_tenant *t;
static tenant_ctx *tc;
static ingest_session *ing;
static search_engine *se;
static embed_registry *reg;

/* JSON lines read as a file take the session's source. */
static void put_json_as(const char *source, const char *json) {
    ingest_set_source_acl(ing, source, NULL, 0);
    CHECK_INT(ingest_bytes(ing, "docs.jsonl", NULL, (const uint8_t *)json, strlen(json)), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

/* ---- searching ---- */

static search_response res;
static char err[512];

static lore_status run(search_request *r) {
    search_response_free(&res);
    return search_run(se, r, &res, err, sizeof err);
}

/* The external ids of the hits, space-joined. */
static const char *ids(void) {
    static char out[8192];
    out[0] = '\0';
    for (size_t i = 0; i < res.n && strlen(out) < sizeof out - 80; i++) {
        strcat(out, i ? " " : "");
        strcat(out, res.hits[i].doc->external_id);
    }
    return out;
}

/* bob is not in group:hr, so the "secret" documents (the nearest to the
 * paraphrase) are not his to see. */
static const char *bob[] = {"user:bob@example.com"};

static const char *query(const char *q, search_mode mode) {
    search_request r = {
        .query = q, .mode = mode, .principals = bob, .nprincipals = 1, .limit = 5, .snippets = 1};
    lore_status st = run(&r);
    if (st != LORE_OK) {
        static char e[600];
        snprintf(e, sizeof e, "ERROR %s", err);
        return e;
    }
    return ids();
}

static const char *first(const char *q, search_mode mode) {
    static char one[128];
    snprintf(one, sizeof one, "%s", query(q, mode));
    char *sp = strchr(one, ' ');
    if (sp) *sp = '\0';
    return one;
}

#define PARAPHRASE "how many days off after having a baby"

static void paraphrase(void) {
    /* lexical: no word in common, nothing found */
    CHECK_STR(query(PARAPHRASE, SEARCH_MODE_LEXICAL), "");
    CHECK_INT(res.mode, SEARCH_MODE_LEXICAL);
    CHECK_STR(first(PARAPHRASE, SEARCH_MODE_SEMANTIC), "leave");
    CHECK_INT(res.mode, SEARCH_MODE_SEMANTIC);
    CHECK_STR(first(PARAPHRASE, SEARCH_MODE_HYBRID), "leave");
    CHECK_INT(res.mode, SEARCH_MODE_HYBRID);
    /* the default with an embedder is hybrid */
    CHECK_STR(first(PARAPHRASE, SEARCH_MODE_DEFAULT), "leave");
    CHECK_INT(res.mode, SEARCH_MODE_HYBRID);
    /* a semantic-only hit still has a snippet: the chunk's passage */
    CHECK(res.n > 0 && res.hits[0].snippet && strstr(res.hits[0].snippet, "16 weeks"));
    CHECK_INT(res.n ? res.hits[0].nmarks : 99, 0);
    /* when a query word is in the passage, it is marked */
    search_request r = {.query = "newborn parent weeks",
                        .mode = SEARCH_MODE_SEMANTIC,
                        .principals = bob,
                        .nprincipals = 1,
                        .limit = 3,
                        .snippets = 1};
    CHECK_INT(run(&r), LORE_OK);
    CHECK(res.n > 0 && !strcmp(res.hits[0].doc->external_id, "leave"));
    if (res.n) {
        const search_hit *h = &res.hits[0];
        int marked = 0;
        for (size_t i = 0; i < h->nmarks; i++)
            marked |= !strncmp(h->snippet + h->marks[i].start, "weeks", 5);
        CHECK(marked);
    }
    /* query syntax is stripped before embedding; source: still filters,
     * and a quoted phrase is required as in lexical search */
    CHECK_STR(first("\"new parent\" days off after a baby source:hr", SEARCH_MODE_SEMANTIC),
              "leave");
    CHECK_STR(query("\"days off\" after having a baby", SEARCH_MODE_SEMANTIC), "");
    CHECK_STR(query(PARAPHRASE " source:eng", SEARCH_MODE_SEMANTIC), "deploy");
}

static void explain(void) {
    search_request r = {.query = "parental leave weeks",
                        .mode = SEARCH_MODE_HYBRID,
                        .principals = bob,
                        .nprincipals = 1,
                        .limit = 5,
                        .explain = 1};
    CHECK_INT(run(&r), LORE_OK);
    CHECK(res.n >= 1);
    if (!res.n) return;
    const search_hit *h = &res.hits[0];
    CHECK_STR(h->doc->external_id, "leave");
    CHECK(h->explain.has_lexical && h->explain.has_semantic);
    CHECK_INT(h->explain.lexical_rank, 1);
    CHECK_INT(h->explain.semantic_rank, 1);
    CHECK(h->explain.lexical_score > 0);
    CHECK(h->explain.semantic_score > 0.2 && h->explain.semantic_score <= 1.0001);
    CHECK(fabs(h->explain.fused - 2.0 / 61) < 1e-9);
    CHECK(fabs(h->score - h->explain.fused) < 1e-12);
    for (size_t i = 1; i < res.n; i++) {
        const search_explain *x = &res.hits[i].explain;
        double want = (x->has_lexical ? 1.0 / (60 + (double)x->lexical_rank) : 0) +
                      (x->has_semantic ? 1.0 / (60 + (double)x->semantic_rank) : 0);
        CHECK(fabs(x->fused - want) < 1e-9);
        CHECK(x->fused <= res.hits[i - 1].explain.fused);
    }
    /* semantic mode: the hit's score is its cosine similarity */
    r.mode = SEARCH_MODE_SEMANTIC;
    CHECK_INT(run(&r), LORE_OK);
    CHECK(res.n && !res.hits[0].explain.has_lexical && res.hits[0].explain.has_semantic);
    CHECK(res.n && fabs(res.hits[0].score - res.hits[0].explain.semantic_score) < 1e-6);
    /* without explain, nothing is filled */
    r.explain = 0;
    CHECK_INT(run(&r), LORE_OK);
    CHECK(res.n && !res.hits[0].explain.has_semantic);
}

/* The tenant's fusion settings (hybrid_rrf_k and the weights, from the
 * config) reach the search: "leave" is first in both rankings. */
static void fusion_settings(const tenant_settings *with) {
    tenant_settings s = *with;
    s.rrf_k = 10, s.w_lexical = 2, s.w_semantic = 0.5;
    tenant_ctx *c2 = NULL;
    CHECK_INT(tenant_ctx_open(control, "t", &s, &c2), LORE_OK);
    search_engine *s2 = NULL;
    CHECK_INT(search_engine_new(c2, &s2), LORE_OK);
    search_request r = {.query = "parental leave weeks",
                        .mode = SEARCH_MODE_HYBRID,
                        .principals = bob,
                        .nprincipals = 1,
                        .limit = 5,
                        .explain = 1};
    search_response x;
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_OK);
    CHECK(x.n >= 1);
    if (x.n) {
        CHECK_STR(x.hits[0].doc->external_id, "leave");
        CHECK_INT(x.hits[0].explain.lexical_rank, 1);
        CHECK_INT(x.hits[0].explain.semantic_rank, 1);
        CHECK(fabs(x.hits[0].explain.fused - (2.0 / 11 + 0.5 / 11)) < 1e-9);
    }
    search_response_free(&x);
    search_engine_free(s2);
    tenant_ctx_close(c2);
}

/* Filters and ACLs inside the vector search: a selective filter over a
 * corpus where the nearest chunks are all filtered out still fills the page,
 * or returns every match. */
static void filters_inside(void) {
    /* 12 "rare" documents among 300 "bulk" ones, all about cooking */
    search_request r = {.query = "recipes for dinner with vegetables",
                        .mode = SEARCH_MODE_SEMANTIC,
                        .all_access = 1,
                        .limit = 10};
    const char *rare[] = {"rare"};
    r.sources = rare;
    r.nsources = 1;
    CHECK_INT(run(&r), LORE_OK);
    CHECK_INT(res.n, 10);
    CHECK(res.more);
    for (size_t i = 0; i < res.n; i++)
        CHECK_STR(res.hits[i].doc->source, "rare");
    r.limit = 50;
    CHECK_INT(run(&r), LORE_OK);
    CHECK_INT(res.n, 12);
    CHECK(!res.more);
    CHECK(!res.truncated);
    /* A filter admitting little makes the index ask about every chunk
     * (~340 here): past the admission budget the search stops asking and
     * says it is truncated, whatever the tenant's size. */
    r.vector_admit_budget = 40;
    CHECK_INT(run(&r), LORE_OK);
    CHECK(res.truncated);
    CHECK(res.n < 12);
    for (size_t i = 0; i < res.n; i++)
        CHECK_STR(res.hits[i].doc->source, "rare");
    r.vector_admit_budget = 0;
    /* the same through the query syntax, and in hybrid mode */
    search_request q = {.query = "recipes for dinner with vegetables source:rare",
                        .mode = SEARCH_MODE_HYBRID,
                        .all_access = 1,
                        .limit = 50};
    CHECK_INT(run(&q), LORE_OK);
    CHECK_INT(res.n, 12);
    /* author, dates and metadata inside the vector search */
    r.sources = NULL;
    r.nsources = 0;
    r.author = "chef9";
    CHECK_INT(run(&r), LORE_OK);
    CHECK_STR(ids(), "bulk9");
    r.author = NULL;
    r.since_ms = 1735689600000; /* 2025-01-01: only the rare ones are that new */
    CHECK_INT(run(&r), LORE_OK);
    CHECK_INT(res.n, 12);
    r.since_ms = 0;
    const char *mk[] = {"course"}, *mv[] = {"dessert"};
    r.meta_keys = mk;
    r.meta_values = mv;
    r.nmeta = 1;
    CHECK_INT(run(&r), LORE_OK);
    CHECK_INT(res.n, 4); /* rare0, rare3, rare6, rare9 */
    for (size_t i = 0; i < res.n; i++)
        CHECK(!strncmp(res.hits[i].doc->external_id, "rare", 4));
    r.nmeta = 0;

    /* ACLs: the documents nearest to the question are hidden from bob */
    search_request a = {.query = PARAPHRASE,
                        .mode = SEARCH_MODE_SEMANTIC,
                        .principals = bob,
                        .nprincipals = 1,
                        .limit = 10};
    CHECK_INT(run(&a), LORE_OK);
    CHECK_INT(res.n, 10); /* the page is full all the same */
    for (size_t i = 0; i < res.n; i++)
        CHECK(strncmp(res.hits[i].doc->external_id, "secret", 6) != 0);
    a.mode = SEARCH_MODE_HYBRID;
    CHECK_INT(run(&a), LORE_OK);
    for (size_t i = 0; i < res.n; i++)
        CHECK(strncmp(res.hits[i].doc->external_id, "secret", 6) != 0);
    const char *hr[] = {"user:bob@example.com", "group:hr"};
    a.principals = hr;
    a.nprincipals = 2;
    a.mode = SEARCH_MODE_SEMANTIC;
    CHECK_INT(run(&a), LORE_OK);
    CHECK(strstr(ids(), "secret") != NULL);
}

/* Paging through a semantic result: pages join up without repeats. */
static void paging(void) {
    search_request r = {.query = "a hearty soup", .mode = SEARCH_MODE_HYBRID, .all_access = 1};
    r.limit = 30;
    CHECK_INT(run(&r), LORE_OK);
    char whole[8192];
    snprintf(whole, sizeof whole, "%s", ids());
    char joined[8192] = "";
    for (size_t off = 0; off < 30; off += 10) {
        r.limit = 10;
        r.offset = off;
        CHECK_INT(run(&r), LORE_OK);
        if (off) strcat(joined, " ");
        strcat(joined, ids());
    }
    CHECK_STR(joined, whole);
}

static void errors(void) {
    /* provider refusing (a permanent error): semantic fails naming it,
     * hybrid answers with the lexical ranking and says why */
    CHECK_INT(embed_server_control(&srv, "{\"require_key\":\"another-key\"}"), 0);
    search_request r = {.query = "parental leave rules for fathers",
                        .mode = SEARCH_MODE_SEMANTIC,
                        .principals = bob,
                        .nprincipals = 1,
                        .limit = 5};
    CHECK_INT(run(&r), LORE_IO);
    CHECK(strstr(err, "127.0.0.1") != NULL);
    CHECK(strstr(res.semantic_error, "127.0.0.1") != NULL);
    r.mode = SEARCH_MODE_HYBRID;
    CHECK_INT(run(&r), LORE_OK);
    CHECK_STR(ids(), "leave");
    CHECK(res.semantic_error[0] != '\0');
    CHECK(strstr(res.notice, "semantic_error") != NULL);
    CHECK_INT(res.mode, SEARCH_MODE_HYBRID);
    /* the provider back: the same query works, and is cached afterwards */
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
    r.mode = SEARCH_MODE_SEMANTIC;
    CHECK_INT(run(&r), LORE_OK);
    CHECK_STR(first("parental leave rules for fathers", SEARCH_MODE_SEMANTIC), "leave");
    CHECK_INT(embed_server_control(&srv, "{\"require_key\":\"another-key\"}"), 0);
    CHECK_INT(run(&r), LORE_OK); /* from the per-process cache */
    CHECK(res.semantic_error[0] == '\0');
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
    /* like= is lexical */
    CHECK_STR(first("parental leave", SEARCH_MODE_LEXICAL), "leave");
    char leave_id[128];
    snprintf(leave_id, sizeof leave_id, "%s", res.n ? res.hits[0].doc->id : "");
    search_request l = {.like = leave_id, .mode = SEARCH_MODE_SEMANTIC, .all_access = 1};
    CHECK_INT(run(&l), LORE_INVALID);
    l.mode = SEARCH_MODE_DEFAULT;
    CHECK_INT(run(&l), LORE_OK);
    CHECK_INT(res.mode, SEARCH_MODE_LEXICAL);
    /* stop words only: lexical has nothing, semantic still ranks */
    search_request s = {.query = "how many", .mode = SEARCH_MODE_SEMANTIC, .all_access = 1};
    CHECK_INT(run(&s), LORE_OK);
    CHECK(res.n > 0);
}

/* A provider that is down (a retryable error) does not make every query
 * wait for its retries: after a failure, queries fail at once and one at
 * most every few seconds tries the provider; once it answers, semantic
 * search is back. Timing-robust: the allowance grows with the time taken. */
static void provider_down(void) {
    CHECK_INT(embed_server_control(&srv, "{\"status\":503,\"count\":1000000}"), 0);
    search_request r = {.query = "q0 vacation for the birth of a child",
                        .mode = SEARCH_MODE_SEMANTIC,
                        .all_access = 1};
    CHECK_INT(run(&r), LORE_IO);
    CHECK(strstr(res.semantic_error, "503") != NULL);
    long long before = embed_server_stat(&srv, "requests");
    int64_t t0 = lore_mono_ns();
    char q[64];
    int fast = 0;
    for (int i = 1; i <= 20; i++) {
        snprintf(q, sizeof q, "q%d vacation for the birth of a child", i);
        r.query = q;
        CHECK_INT(run(&r), LORE_IO);
        fast += strstr(res.semantic_error, "try it again") != NULL;
        r.mode = SEARCH_MODE_HYBRID; /* the lexical hits meanwhile */
        CHECK_INT(run(&r), LORE_OK);
        CHECK(res.semantic_error[0] != '\0');
        r.mode = SEARCH_MODE_SEMANTIC;
    }
    long long made = embed_server_stat(&srv, "requests") - before;
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    /* 2 attempts per probe, one probe per 3 s window (without the gate: 80) */
    CHECK(made <= 2 * (long long)(secs / 3 + 2));
    CHECK(fast >= 1);
    fprintf(stderr, "provider down: 40 queries in %.2f s, %lld provider requests\n", secs, made);
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
    lore_status st = LORE_IO;
    for (int i = 0; i < 100 && st != LORE_OK; i++) { /* the next probe finds it back */
        st = run(&r);
        if (st != LORE_OK) usleep(100000);
    }
    CHECK_INT(st, LORE_OK);
}

/* A tenant with nothing embedded yet, and one with no embedder at all. */
static void no_vectors(const tenant_settings *with) {
    CHECK_INT(store_tenant_create(control, "empty"), LORE_OK);
    store_tenant *t2 = NULL;
    CHECK_INT(store_tenant_open(control, "empty", &t2), LORE_OK);
    tenant_ctx *c2 = NULL;
    CHECK_INT(tenant_ctx_attach(t2, with, &c2), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *i2 = NULL;
    CHECK_INT(ingest_session_new(c2, &o, &i2), LORE_OK);
    const char *doc = "{\"id\":\"x\",\"title\":\"Parental leave\",\"text\":\"Sixteen weeks.\"}\n";
    CHECK_INT(ingest_bytes(i2, "d.jsonl", NULL, (const uint8_t *)doc, strlen(doc)), LORE_OK);
    CHECK_INT(ingest_commit(i2), LORE_OK);
    search_engine *s2 = NULL;
    CHECK_INT(search_engine_new(c2, &s2), LORE_OK);
    search_request r = {.query = "parental leave", .mode = SEARCH_MODE_SEMANTIC, .all_access = 1};
    search_response x;
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_OK);
    CHECK_INT(x.n, 0);
    CHECK(strstr(x.notice, "embedded") != NULL);
    search_response_free(&x);
    r.mode = SEARCH_MODE_HYBRID; /* the lexical hits, and the notice */
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_OK);
    CHECK_INT(x.n, 1);
    CHECK(strstr(x.notice, "embedded") != NULL);
    search_response_free(&x);
    search_engine_free(s2);
    ingest_session_free(i2);
    tenant_ctx_close(c2);

    /* no embedder configured: lexical by default, semantic and hybrid refused */
    tenant_settings none = *with;
    none.embedders = NULL;
    CHECK_INT(tenant_ctx_attach(t2, &none, &c2), LORE_OK);
    CHECK_INT(search_engine_new(c2, &s2), LORE_OK);
    r.mode = SEARCH_MODE_DEFAULT;
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_OK);
    CHECK_INT(x.mode, SEARCH_MODE_LEXICAL);
    CHECK_INT(x.n, 1);
    search_response_free(&x);
    r.mode = SEARCH_MODE_SEMANTIC;
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_UNSUPPORTED);
    CHECK(strstr(err, "embed_url") != NULL);
    r.mode = SEARCH_MODE_HYBRID;
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_UNSUPPORTED);
    search_engine_free(s2);
    tenant_ctx_close(c2);
    store_tenant_close(t2);
}

/* The query cache is per tenant: a question another tenant asked lately is
 * embedded again (a shared entry would answer without the provider's round
 * trip, and the time saved tells one tenant what another asks). The
 * provider refuses the key meanwhile, so only a cache hit can succeed. */
static void cache_per_tenant(const tenant_settings *with) {
    store_tenant *t2 = NULL;
    CHECK_INT(store_tenant_open(control, "empty", &t2), LORE_OK);
    tenant_ctx *c2 = NULL;
    CHECK_INT(tenant_ctx_attach(t2, with, &c2), LORE_OK);
    int64_t cursor = 0;
    CHECK_INT(embed_server_fill(c2, reg, &cursor), 0);
    search_engine *s2 = NULL;
    CHECK_INT(search_engine_new(c2, &s2), LORE_OK);
    search_request r = {
        .query = "weeks at home with a newborn", .mode = SEARCH_MODE_SEMANTIC, .all_access = 1};
    search_response x;
    CHECK_INT(run(&r), LORE_OK); /* tenant t: embedded and cached */
    CHECK_INT(embed_server_control(&srv, "{\"require_key\":\"another-key\"}"), 0);
    CHECK_INT(run(&r), LORE_OK);                                 /* t again: from the cache */
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_IO); /* not t's entry */
    CHECK(strstr(x.semantic_error, "embedding the query failed") != NULL);
    search_response_free(&x);
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
    CHECK_INT(search_run(s2, &r, &x, err, sizeof err), LORE_OK);
    CHECK_INT(x.n, 1);
    search_response_free(&x);
    search_engine_free(s2);
    tenant_ctx_close(c2);
    store_tenant_close(t2);
}

static void seed(void) {
    put_json_as("hr", "{\"id\":\"leave\",\"title\":\"Parental leave\",\"text\":\"Parental leave "
                      "is 16 weeks for every new parent, paid in full.\",\"updated_at\":"
                      "\"2024-03-01\"}\n"
                      "{\"id\":\"expenses\",\"title\":\"Expense reports\",\"text\":\"Submit "
                      "receipts within one month through the finance portal.\",\"updated_at\":"
                      "\"2024-03-01\"}\n");
    put_json_as("eng", "{\"id\":\"deploy\",\"title\":\"Deploy guide\",\"text\":\"Run the deploy "
                       "script; a failed rollout rolls back automatically.\",\"updated_at\":"
                       "\"2024-03-01\"}\n");
    put_json_as("office", "{\"id\":\"kitchen\",\"title\":\"Kitchen etiquette\",\"text\":\"Clean "
                          "the coffee machine every Friday.\",\"updated_at\":\"2024-03-01\"}\n");
    /* hidden from bob: the nearest documents to the paraphrase */
    char line[1024];
    for (int i = 0; i < 12; i++) {
        snprintf(line, sizeof line,
                 "{\"id\":\"secret%d\",\"title\":\"Maternity and paternity leave case %d\","
                 "\"text\":\"Time off work when a baby is born: weeks of leave for the mother "
                 "and father (case %d).\",\"acl\":[\"group:hr\"],\"updated_at\":\"2024-03-01\"}\n",
                 i, i, i);
        put_json_as("hr", line);
    }
    static const char *dish[] = {"tomato soup", "lentil stew",     "roast chicken", "pasta bake",
                                 "green salad", "vegetable curry", "apple pie",     "fried rice"};
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line,
                 "{\"id\":\"bulk%d\",\"author\":\"chef%d\",\"title\":\"Recipe %d: %s\",\"text\":"
                 "\"Cook the %s for dinner; serves %d people with vegetables on the side.\","
                 "\"updated_at\":\"2023-05-01\"}\n",
                 i, i, i, dish[i % 8], dish[i % 8], 2 + i % 5);
        put_json_as("bulk", line);
    }
    for (int i = 0; i < 12; i++) {
        snprintf(line, sizeof line,
                 "{\"id\":\"rare%d\",\"title\":\"Old notebook page %d\",\"text\":\"Notes on %s, "
                 "written in the margin.\",\"updated_at\":\"2025-02-01\",\"metadata\":{"
                 "\"course\":\"%s\"}}\n",
                 i, i, dish[(i + 3) % 8], i % 3 == 0 ? "dessert" : "main");
        put_json_as("rare", line);
    }
}

int main(void) {
    if (embed_server_start(&srv) != 0) {
        CHECK(0);
        return test_summary();
    }
    const char *dir = test_tmpdir();
    char dirc[256];
    snprintf(dirc, sizeof dirc, "%s", dir);
    CHECK_INT(store_open(dirc, STORE_OPEN_CREATE, &control, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(control, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(control, "t", &t), LORE_OK);

    embed_settings es = {.url = srv.url,
                         .model = "use-lite",
                         .batch = 64,
                         .concurrency = 2,
                         .timeout_s = 30,
                         .max_input_tokens = 2000,
                         .max_attempts = 2,
                         .backoff_ms = 50};
    embedder *emb = NULL;
    CHECK_INT(embed_openai_ops.open(&es, &emb, err, sizeof err), LORE_OK);
    CHECK_INT(embed_registry_wrap(emb, &es, &reg), LORE_OK);
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.embedders = reg;
    ts.vec_scope = dirc;
    CHECK_INT(tenant_ctx_attach(t, &ts, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);

    seed();
    int64_t cursor = 0;
    CHECK_INT(embed_server_fill(tc, reg, &cursor), 0);

    paraphrase();
    explain();
    fusion_settings(&ts);
    filters_inside();
    paging();
    errors();
    provider_down();
    no_vectors(&ts);
    cache_per_tenant(&ts);

    search_response_free(&res);
    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(control);
    embed_registry_free(reg);
    embed_server_stop(&srv);
    test_rmtree(dirc);
    return test_summary();
}
