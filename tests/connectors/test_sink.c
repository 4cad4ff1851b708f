/* The connector sink (connector_sink.c) with a tiny connector defined here
 * ("notes": one object per note, a document per object): object state get,
 * put, delete and scan by prefix (a prefix ending in 0xff bytes included),
 * touch and flush (an object touched twice renders once, in first-touch
 * order), documents put with the instance's ACL or their own and removed,
 * and instances of two sources never sharing objects while two instances
 * of one source do (the Slack export import and the live connector). */
#include "connectors/connector.h"
#include "ingest/ingest.h"
#include "test.h"

/* ---- the "notes" connector ---- */

static int renders;          /* render calls */
static char render_log[256]; /* keys rendered, joined by ',' */

/* Payload {"id": "...", "title": "...", "text": "..."} or {"id", "delete": true}. */
static lore_status notes_apply(connector_sink *s, const char *event, const json_t *payload,
                               char **error) {
    (void)event;
    const char *id = json_string_value(json_object_get(payload, "id"));
    if (!id) {
        *error = strdup("a note without an id");
        return LORE_INVALID;
    }
    json_t *state = json_deep_copy(payload);
    lore_status st = connector_state_put(s, id, state);
    json_decref(state);
    if (st == LORE_OK) st = connector_touch(s, id);
    return st;
}

static lore_status notes_render(connector_sink *s, const char *key) {
    renders++;
    size_t n = strlen(render_log);
    snprintf(render_log + n, sizeof render_log - n, "%s%s", n ? "," : "", key);
    json_t *state = NULL;
    lore_status st = connector_state_get(s, key, &state);
    if (st == LORE_NOT_FOUND || json_is_true(json_object_get(state, "delete"))) {
        json_decref(state);
        return connector_remove(s, key);
    }
    if (st != LORE_OK) return st;
    const char *text = json_string_value(json_object_get(state, "text"));
    const char *acl_one = json_string_value(json_object_get(state, "acl"));
    const char *acl[1] = {acl_one};
    ingest_record r;
    memset(&r, 0, sizeof r);
    r.external_id = key;
    r.title = json_string_value(json_object_get(state, "title"));
    r.text = text ? text : "";
    r.text_len = strlen(r.text);
    r.format = PARSE_FMT_TEXT;
    r.acl = acl_one ? acl : NULL;
    r.nacl = acl_one ? 1 : 0;
    st = connector_put(s, &r);
    json_decref(state);
    return st;
}

static const connector_ops notes = {
    CONNECTOR_OPS_VERSION, "notes", "Notes", NULL, NULL, notes_apply, notes_render,
};

/* ---- fixtures ---- */

static store *st_;
static store_tenant *ten;
static tenant_ctx *tc;
static ingest_session *ing;

static void open_all(void) {
    char err[256];
    const char *dir = test_tmpdir();
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &st_, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(st_, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(st_, "t", &ten), LORE_OK);
    CHECK_INT(tenant_ctx_attach(ten, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
}

static void instance(connector_instance *in, const char *id, const char *source,
                     const char *const *acl, size_t nacl) {
    memset(in, 0, sizeof *in);
    snprintf(in->id, sizeof in->id, "%s", id);
    snprintf(in->tenant, sizeof in->tenant, "t");
    snprintf(in->kind, sizeof in->kind, "notes");
    snprintf(in->source, sizeof in->source, "%s", source);
    in->acl = acl;
    in->nacl = nacl;
}

static lore_status apply_json(connector_sink *s, const char *json) {
    json_t *p = json_loads(json, 0, NULL);
    char *error = NULL;
    lore_status st = notes.apply(s, "note", p, &error);
    free(error);
    json_decref(p);
    return st;
}

/* ---- state ---- */

static int collect(void *ctx, const char *key, const json_t *state) {
    char *out = ctx;
    size_t n = strlen(out);
    const char *v = json_string_value(json_object_get(state, "v"));
    snprintf(out + n, 512 - n, "%s%s=%s", n ? "|" : "", key, v ? v : "?");
    return 0;
}

static int stop_after_one(void *ctx, const char *key, const json_t *state) {
    (void)key;
    (void)state;
    (*(int *)ctx)++;
    return 1;
}

static void put_v(connector_sink *s, const char *key, const char *v) {
    json_t *o = json_pack("{s:s}", "v", v);
    CHECK_INT(connector_state_put(s, key, o), LORE_OK);
    json_decref(o);
}

static void test_state(void) {
    connector_instance in;
    instance(&in, "con_00000000000000000001", "notes", NULL, 0);
    connector_sink *s = NULL;
    CHECK_INT(connector_sink_new(ing, &in, &s), LORE_OK);
    CHECK(connector_sink_instance(s) == &in);
    json_t *got = NULL;
    CHECK_INT(connector_state_get(s, "missing", &got), LORE_NOT_FOUND);
    CHECK(got == NULL);
    put_v(s, "a/1", "1");
    put_v(s, "a/2", "2");
    put_v(s, "a/3", "3");
    put_v(s, "b/1", "b1");
    put_v(s, "a\xff", "ff");
    put_v(s, "a\xff\x01", "ff01");
    put_v(s, "a\xff\xff", "ffff");
    put_v(s, "b", "b");
    CHECK_INT(connector_state_get(s, "a/2", &got), LORE_OK);
    CHECK_STR(json_string_value(json_object_get(got, "v")), "2");
    json_decref(got);
    put_v(s, "a/2", "two"); /* replaced */
    CHECK_INT(connector_state_get(s, "a/2", &got), LORE_OK);
    CHECK_STR(json_string_value(json_object_get(got, "v")), "two");
    json_decref(got);

    char out[512] = "";
    CHECK_INT(connector_state_scan(s, "a/", collect, out), LORE_OK);
    CHECK_STR(out, "a/1=1|a/2=two|a/3=3");
    out[0] = 0;
    CHECK_INT(connector_state_scan(s, "a\xff", collect, out), LORE_OK);
    CHECK_STR(out, "a\xff=ff|a\xff\x01=ff01|a\xff\xff=ffff");
    out[0] = 0;
    CHECK_INT(connector_state_scan(s, "a\xff\xff", collect, out), LORE_OK);
    CHECK_STR(out, "a\xff\xff=ffff");
    out[0] = 0;
    CHECK_INT(connector_state_scan(s, "b", collect, out), LORE_OK);
    CHECK_STR(out, "b=b|b/1=b1");
    out[0] = 0;
    CHECK_INT(connector_state_scan(s, "c", collect, out), LORE_OK);
    CHECK_STR(out, "");
    int seen = 0;
    CHECK_INT(connector_state_scan(s, "", stop_after_one, &seen), LORE_OK);
    CHECK_INT(seen, 1);

    CHECK_INT(connector_state_delete(s, "a/2"), LORE_OK);
    CHECK_INT(connector_state_delete(s, "a/2"), LORE_OK); /* absent is fine */
    CHECK_INT(connector_state_get(s, "a/2", &got), LORE_NOT_FOUND);
    out[0] = 0;
    CHECK_INT(connector_state_scan(s, "a/", collect, out), LORE_OK);
    CHECK_STR(out, "a/1=1|a/3=3");

    /* keys: empty or past CONNECTOR_STATE_KEY_MAX are refused */
    char longkey[CONNECTOR_STATE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    json_t *o = json_object();
    CHECK_INT(connector_state_put(s, "", o), LORE_INVALID);
    CHECK_INT(connector_state_put(s, longkey, o), LORE_INVALID);
    CHECK_INT(connector_touch(s, longkey), LORE_INVALID);
    longkey[CONNECTOR_STATE_KEY_MAX] = 0; /* exactly the cap */
    CHECK_INT(connector_state_put(s, longkey, o), LORE_OK);
    json_decref(o);
    connector_sink_free(s);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

/* ---- touch, flush, documents ---- */

static store_doc *doc_of(const char *source, const char *ext) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id(source, ext, id);
    store_doc *d = NULL;
    return store_doc_get(ten, id, 1, &d) == LORE_OK ? d : NULL;
}

static void test_flush_and_documents(void) {
    static const char *const acl[] = {"group:eng"};
    connector_instance in;
    instance(&in, "con_00000000000000000002", "notes-docs", acl, 1);
    connector_sink *s = NULL;
    CHECK_INT(connector_sink_new(ing, &in, &s), LORE_OK);
    renders = 0;
    render_log[0] = 0;
    CHECK_INT(apply_json(s, "{\"id\":\"n2\",\"title\":\"Second\",\"text\":\"beta words\"}"),
              LORE_OK);
    CHECK_INT(apply_json(s, "{\"id\":\"n1\",\"title\":\"First\",\"text\":\"alpha words\"}"),
              LORE_OK);
    CHECK_INT(apply_json(s, "{\"id\":\"n2\",\"title\":\"Second\",\"text\":\"beta, edited\"}"),
              LORE_OK);
    CHECK_INT(apply_json(s, "{\"id\":\"n3\",\"title\":\"Own ACL\",\"text\":\"gamma\","
                            "\"acl\":\"user:ana@example.com\"}"),
              LORE_OK);
    CHECK_INT(apply_json(s, "{\"title\":\"no id\"}"), LORE_INVALID);
    CHECK_INT(connector_sink_pending(s), 3);
    CHECK_INT(connector_sink_flush(s, &notes), LORE_OK);
    CHECK_INT(renders, 3); /* n2 touched twice, rendered once */
    CHECK_STR(render_log, "n2,n1,n3");
    CHECK_INT(connector_sink_pending(s), 0);
    CHECK_INT(connector_sink_flush(s, &notes), LORE_OK);
    CHECK_INT(renders, 3); /* nothing left to render */
    CHECK_INT(ingest_commit(ing), LORE_OK);

    store_doc *d = doc_of("notes-docs", "n2");
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(d->source, "notes-docs");
        CHECK_STR(d->title, "Second");
        CHECK(d->text && strstr(d->text, "beta, edited"));
        CHECK_INT(d->nacl, 1); /* the instance's ACL */
        if (d->nacl) CHECK_STR(d->acl[0], "group:eng");
        store_doc_free(d);
    }
    d = doc_of("notes-docs", "n3");
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->nacl, 1); /* its own */
        if (d->nacl) CHECK_STR(d->acl[0], "user:ana@example.com");
        store_doc_free(d);
    }

    /* deleting: the document goes; removing an absent one is fine */
    CHECK_INT(apply_json(s, "{\"id\":\"n1\",\"delete\":true}"), LORE_OK);
    CHECK_INT(connector_sink_flush(s, &notes), LORE_OK);
    CHECK_INT(connector_remove(s, "never-was"), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    d = doc_of("notes-docs", "n1");
    CHECK(d == NULL);
    store_doc_free(d);
    d = doc_of("notes-docs", "n2");
    CHECK(d != NULL);
    store_doc_free(d);
    connector_sink_free(s);
}

/* ---- sources ---- */

static void test_sources(void) {
    connector_instance a, b, a2;
    instance(&a, "con_0000000000000000000a", "src-one", NULL, 0);
    instance(&b, "con_0000000000000000000b", "src-two", NULL, 0);
    instance(&a2, "con_0000000000000000000c", "src-one", NULL, 0); /* same source as a */
    connector_sink *sa = NULL, *sb = NULL, *sa2 = NULL;
    CHECK_INT(connector_sink_new(ing, &a, &sa), LORE_OK);
    CHECK_INT(connector_sink_new(ing, &b, &sb), LORE_OK);
    CHECK_INT(connector_sink_new(ing, &a2, &sa2), LORE_OK);
    put_v(sa, "obj", "from-one");
    put_v(sb, "obj", "from-two");
    put_v(sb, "only-two", "x");
    json_t *got = NULL;
    CHECK_INT(connector_state_get(sa, "obj", &got), LORE_OK);
    CHECK_STR(json_string_value(json_object_get(got, "v")), "from-one");
    json_decref(got);
    CHECK_INT(connector_state_get(sb, "obj", &got), LORE_OK);
    CHECK_STR(json_string_value(json_object_get(got, "v")), "from-two");
    json_decref(got);
    CHECK_INT(connector_state_get(sa, "only-two", &got), LORE_NOT_FOUND);
    CHECK_INT(connector_state_get(sa2, "obj", &got), LORE_OK); /* shared by source */
    CHECK_STR(json_string_value(json_object_get(got, "v")), "from-one");
    json_decref(got);
    char out[512] = "";
    CHECK_INT(connector_state_scan(sa, "", collect, out), LORE_OK);
    CHECK_STR(out, "obj=from-one");
    CHECK_INT(connector_state_delete(sb, "obj"), LORE_OK);
    CHECK_INT(connector_state_get(sa, "obj", &got), LORE_OK); /* untouched */
    json_decref(got);
    /* documents too: same external id, two sources, two documents */
    renders = 0;
    CHECK_INT(apply_json(sa, "{\"id\":\"same\",\"title\":\"One\",\"text\":\"one\"}"), LORE_OK);
    CHECK_INT(apply_json(sb, "{\"id\":\"same\",\"title\":\"Two\",\"text\":\"two\"}"), LORE_OK);
    CHECK_INT(connector_sink_flush(sa, &notes), LORE_OK);
    CHECK_INT(connector_sink_flush(sb, &notes), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    store_doc *d1 = doc_of("src-one", "same"), *d2 = doc_of("src-two", "same");
    CHECK(d1 && d2 && strcmp(d1->id, d2->id));
    if (d1) CHECK_STR(d1->title, "One");
    if (d2) CHECK_STR(d2->title, "Two");
    store_doc_free(d1);
    store_doc_free(d2);
    connector_sink_free(sa);
    connector_sink_free(sb);
    connector_sink_free(sa2);
}

int main(void) {
    open_all();
    test_state();
    test_flush_and_documents();
    test_sources();
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(ten);
    store_close(st_);
    return test_summary();
}
