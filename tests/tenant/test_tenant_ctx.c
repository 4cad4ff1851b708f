/* The tenant context and its per-thread cache: settings from the
 * configuration, what a context holds, a missing tenant, attach leaving the
 * caller's handle open, and the cache's hits, LRU eviction, stamps (a tenant
 * created again is reopened), forget and clear, with the caller's user data
 * freed exactly once per entry. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "tenant/tenant_ctx.h"
#include "test.h"

static int freed;

static void user_free(void *user) {
    freed++;
    free(user);
}

static void settings_from_config(void) {
    lore_config cfg;
    char err[512];
    CHECK_INT(config_load(&cfg, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&cfg, "bm25_k1", "0.9", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&cfg, "bm25_b", "0.5", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&cfg, "title_weight", "5", CONFIG_FLAG, err, sizeof err), LORE_OK);
    tenant_settings s;
    tenant_settings_from_config(&s, &cfg);
    CHECK(s.rrf_k == 60 && s.w_lexical == 1 && s.w_semantic == 1); /* the defaults */
    CHECK_INT(config_set(&cfg, "hybrid_rrf_k", "10", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&cfg, "hybrid_weight_lexical", "2", CONFIG_FLAG, err, sizeof err),
              LORE_OK);
    CHECK_INT(config_set(&cfg, "hybrid_weight_semantic", "0.5", CONFIG_FLAG, err, sizeof err),
              LORE_OK);
    tenant_settings_from_config(&s, &cfg);
    CHECK(s.rrf_k == 10 && s.w_lexical == 2 && s.w_semantic == 0.5);
    CHECK(s.lex.k1 > 0.89f && s.lex.k1 < 0.91f);
    CHECK(s.lex.b > 0.49f && s.lex.b < 0.51f);
    CHECK_INT(s.lex.title_weight, 5);
    lex_params d;
    lex_params_default(&d);
    CHECK_INT(s.lex.flush_postings, d.flush_postings);
    CHECK(s.embedders == NULL);
    CHECK(s.vec_scope == cfg.data_dir || (!cfg.data_dir[0] && !s.vec_scope));
    CHECK_INT(s.vec_metric, HNSW_COSINE);
}

static void open_close(store *s) {
    tenant_ctx *c = (tenant_ctx *)1;
    CHECK_INT(tenant_ctx_open(s, "missing", NULL, &c), LORE_NOT_FOUND);
    CHECK(c == NULL);

    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.lex.title_weight = 3;
    CHECK_INT(tenant_ctx_open(s, "a", &ts, &c), LORE_OK);
    CHECK_STR(c->name, "a");
    CHECK(c->store != NULL);
    CHECK_INT(c->owns_store, 1);
    CHECK_INT(c->index.version, TENANT_INDEX_SET_VERSION);
    CHECK(c->index.lexical.ops != NULL && c->index.lexical.state != NULL);
    for (size_t i = 0; i < TENANT_VECTOR_HANDLES; i++)
        CHECK(c->index.vector[i].ops == NULL); /* opened on first use only */
    CHECK(c->embedders == NULL);
    CHECK_INT(c->settings.lex.title_weight, 3);

    /* Write and read back through the context: ingest and search take it. */
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *ing = NULL;
    CHECK_INT(ingest_session_new(c, &o, &ing), LORE_OK);
    const char *doc = "{\"id\":\"d1\",\"title\":\"Otters\",\"text\":\"otters hold hands\"}\n";
    CHECK_INT(ingest_bytes(ing, "d.jsonl", NULL, (const uint8_t *)doc, strlen(doc)), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    ingest_session_free(ing);
    search_engine *se = NULL;
    CHECK_INT(search_engine_new(c, &se), LORE_OK);
    search_request req;
    memset(&req, 0, sizeof req);
    req.query = "otters";
    req.limit = 10;
    req.all_access = 1;
    search_response r;
    char err[256];
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_INT(r.n, 1);
    search_response_free(&r);
    search_engine_free(se);
    tenant_ctx_close(c);
    tenant_ctx_close(NULL);

    /* attach borrows the handle: it is still usable after the close. */
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(s, "a", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &c), LORE_OK);
    CHECK_INT(c->owns_store, 0);
    CHECK(c->store == t);
    tenant_ctx_close(c);
    int64_t docs = 0, chunks = 0;
    CHECK_INT(store_counts(t, &docs, &chunks), LORE_OK);
    CHECK_INT(docs, 1);
    store_tenant_close(t);
}

/* Marks an entry's first open with user data, so a reopen shows as NULL. */
static tenant_cache_entry *get(tenant_cache *tc, store *s, const char *name, int64_t stamp,
                               int *opened) {
    tenant_cache_entry *e = NULL;
    CHECK_INT(tenant_cache_get(tc, s, name, stamp, &e), LORE_OK);
    if (!e) return NULL;
    *opened = !e->user;
    if (!e->user) e->user = malloc(1);
    return e;
}

static void cache(store *s) {
    tenant_cache tc;
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.lex.title_weight = 4;
    tenant_cache_init(&tc, 2, &ts, user_free);
    freed = 0;
    int opened = 0;
    tenant_cache_entry *a = get(&tc, s, "a", 1, &opened);
    CHECK(opened);
    CHECK_INT(a->ctx->settings.lex.title_weight, 4);
    tenant_ctx *actx = a->ctx;
    tenant_cache_entry *b = get(&tc, s, "b", 1, &opened);
    CHECK(opened);
    /* A hit: the same context, nothing reopened. */
    a = get(&tc, s, "a", 1, &opened);
    CHECK(!opened);
    CHECK(a->ctx == actx);
    CHECK_INT(freed, 0);
    /* Two slots: c takes b's (the least recently used). */
    tenant_cache_entry *c = get(&tc, s, "c", 1, &opened);
    CHECK(opened);
    CHECK(c == b);
    CHECK_INT(freed, 1);
    a = get(&tc, s, "a", 1, &opened);
    CHECK(!opened);
    /* Another stamp (the tenant was created again): reopened. */
    a = get(&tc, s, "a", 2, &opened);
    CHECK(opened);
    CHECK_INT(freed, 2);
    /* A tenant that does not exist: an error, and nothing cached or lost. */
    tenant_cache_entry *e = (tenant_cache_entry *)1;
    CHECK_INT(tenant_cache_get(&tc, s, "missing", 0, &e), LORE_NOT_FOUND);
    CHECK(e == NULL);
    /* It had to make room: the LRU entry (c) went. */
    CHECK_INT(freed, 3);
    a = get(&tc, s, "a", 2, &opened);
    CHECK(!opened);
    tenant_cache_forget(&tc, "a");
    CHECK_INT(freed, 4);
    a = get(&tc, s, "a", 2, &opened);
    CHECK(opened);
    b = get(&tc, s, "b", 1, &opened);
    CHECK(opened);
    tenant_cache_drop(&tc, b);
    CHECK_INT(freed, 5);
    CHECK(b->ctx == NULL);
    tenant_cache_clear(&tc);
    CHECK_INT(freed, 6);
    tenant_cache_clear(&tc);
    CHECK_INT(freed, 6);
    /* Still usable after a clear. */
    a = get(&tc, s, "a", 2, &opened);
    CHECK(opened);
    tenant_cache_clear(&tc);
    CHECK_INT(freed, 7);
}

/* Vector handles: none without a scope; one per key, kept and reused;
 * dims 0 reads the slot's own length and cannot create a slot; the status
 * handle sees the live key; the least recently used of more keys closes. */
static void vectors(store *s, const char *dir) {
    char err[256];
    tenant_ctx *c = NULL;
    tenant_index_vector *v = NULL, *again = NULL;
    CHECK_INT(tenant_ctx_open(s, "b", NULL, &c), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 4, &v, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "data directory") != NULL);
    tenant_ctx_close(c);

    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.vec_scope = dir;
    CHECK_INT(tenant_ctx_open(s, "b", &ts, &c), LORE_OK);
    char longkey[VEC_MODEL_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CHECK_INT(tenant_ctx_vector(c, longkey, 4, &v, err, sizeof err), LORE_INVALID);
    vec_rebuild_status rs;
    CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
    CHECK_STR(rs.live_key, "");

    /* A reader (dims 0) cannot make the tenant's first slot. */
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 0, &v, err, sizeof err), LORE_OK);
    CHECK_INT(store_begin(c->store), LORE_OK);
    CHECK_INT(v->ops->begin(v->state), LORE_INVALID);
    store_rollback(c->store);

    /* The writer, with the length. */
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 4, &v, err, sizeof err), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 4, &again, err, sizeof err), LORE_OK);
    CHECK(again == v);
    const float a[4] = {1, 0, 0, 0}, b[4] = {0, 1, 0, 0};
    CHECK_INT(store_begin(c->store), LORE_OK);
    CHECK_INT(v->ops->begin(v->state), LORE_OK);
    CHECK_INT(v->ops->add(v->state, 1, a), LORE_OK);
    CHECK_INT(v->ops->add(v->state, 2, b), LORE_OK);
    CHECK_INT(v->ops->flush(v->state), LORE_OK);
    CHECK_INT(store_commit(c->store), LORE_OK);
    CHECK_INT(tenant_ctx_vector_status(c, &rs, err, sizeof err), LORE_OK);
    CHECK_STR(rs.live_key, "http://e|m|4");

    /* dims 0 on the same key: the cached handle. Searching through it. */
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 0, &again, err, sizeof err), LORE_OK);
    CHECK(again == v);
    vec_query q = {.vec = b, .k = 1};
    vec_result r;
    CHECK_INT(v->ops->search(v->state, &q, &r), LORE_OK);
    CHECK_INT(r.n, 1);
    if (r.n) CHECK_INT(r.hits[0].chunk_id, 2);
    vec_result_free(&r);
    tenant_ctx_close(c);

    /* A fresh context reading with dims 0 learns the length from the slot. */
    CHECK_INT(tenant_ctx_open(s, "b", &ts, &c), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 0, &v, err, sizeof err), LORE_OK);
    CHECK_INT(v->ops->search(v->state, &q, &r), LORE_OK);
    CHECK_INT(r.n, 1);
    vec_result_free(&r);
    /* More keys than handles: the least recently used closes, the rest stay. */
    tenant_index_vector *k2, *k3, *k4;
    CHECK_INT(tenant_ctx_vector(c, "http://e|m2|4", 4, &k2, err, sizeof err), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m3|4", 4, &k3, err, sizeof err), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m|4", 0, &v, err, sizeof err), LORE_OK);
    CHECK_INT(tenant_ctx_vector(c, "http://e|m4|4", 4, &k4, err, sizeof err), LORE_OK);
    CHECK(k4 == k2); /* m2 was the least recently used */
    CHECK_STR(k3->key, "http://e|m3|4");
    CHECK_STR(v->key, "http://e|m|4");
    tenant_ctx_close(c);
}

int main(void) {
    const char *dir = test_tmpdir();
    char dirc[256];
    snprintf(dirc, sizeof dirc, "%s", dir);
    store *s = NULL;
    char err[512];
    CHECK_INT(store_open(dirc, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "a"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "b"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "c"), LORE_OK);
    settings_from_config();
    open_close(s);
    cache(s);
    vectors(s, dirc);
    store_close(s);
    return test_summary();
}
