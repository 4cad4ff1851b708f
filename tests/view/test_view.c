/* The shared view layer (src/view/): each noun renders REST's field names
 * and values, whichever front end asks (the REST API, MCP and the CLI's
 * --json all call these), and the search filter parser applies and refuses
 * the same way for all of them. tests/cli/view_fields.sh checks the three
 * front ends' answers against each other end to end. */
#include <string.h>

#include "test.h"
#include "view/view.h"

/* Checks that o holds exactly the keys of want (NULL-terminated). */
static void keys_are(json_t *o, const char *const *want, const char *what) {
    size_t n = 0;
    for (; want[n]; n++)
        if (!json_object_get(o, want[n])) {
            fprintf(stderr, "%s: no field %s\n", what, want[n]);
            CHECK(0);
        }
    if (json_object_size(o) != n) {
        char *s = json_dumps(o, JSON_COMPACT);
        fprintf(stderr, "%s: %zu fields, want %zu: %s\n", what, json_object_size(o), n, s);
        free(s);
        CHECK(0);
    }
}

static const char *str(json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static store_doc sample_doc(void) {
    static char *acl[] = {"user:ana@x.org", "group:eng"};
    store_doc d;
    memset(&d, 0, sizeof d);
    strcpy(d.id, "3f9a0c1d2e4b5a69");
    d.source = "wiki";
    d.external_id = "page-7";
    d.title = "Parental leave";
    d.url = NULL;
    d.author = "ana";
    d.created_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
    d.updated_ms = 1767312000000; /* 2026-01-02 */
    d.indexed_ms = 0;
    strcpy(d.content_hash, "abc123");
    d.metadata_json = "{\"team\":\"hr\"}";
    d.acl = acl;
    d.nacl = 2;
    d.nchunks = 3;
    return d;
}

static void test_doc(void) {
    store_doc d = sample_doc();
    json_t *o = view_doc(&d);
    static const char *const want[] = {
        "id",         "source",     "external_id",  "title",    "url", "author", "created_at",
        "updated_at", "indexed_at", "content_hash", "metadata", "acl", "chunks", NULL};
    keys_are(o, want, "document");
    /* The drift this layer ends: created_at, never the CLI's old created. */
    CHECK(!json_object_get(o, "created"));
    CHECK_STR(str(o, "created_at"), "2026-01-01T00:00:00Z");
    CHECK_STR(str(o, "updated_at"), "2026-01-02T00:00:00Z");
    CHECK(json_is_null(json_object_get(o, "indexed_at")));
    CHECK(json_is_null(json_object_get(o, "url")));
    CHECK_STR(str(o, "title"), "Parental leave");
    CHECK_STR(str(json_object_get(o, "metadata"), "team"), "hr");
    CHECK_INT(json_array_size(json_object_get(o, "acl")), 2);
    CHECK_INT(json_integer_value(json_object_get(o, "chunks")), 3);
    CHECK(!json_object_get(o, "text")); /* each front end decides */
    json_decref(o);

    /* Metadata that is not an object (a damaged row) is {}, everywhere. */
    d.metadata_json = "[1,2]";
    o = view_doc(&d);
    CHECK(json_is_object(json_object_get(o, "metadata")));
    CHECK_INT(json_object_size(json_object_get(o, "metadata")), 0);
    json_decref(o);
    d.metadata_json = NULL;
    o = view_doc(&d);
    CHECK_INT(json_object_size(json_object_get(o, "metadata")), 0);
    json_decref(o);
}

static void test_hit(void) {
    store_doc d = sample_doc();
    search_span marks[] = {{4, 9}};
    search_hit h;
    memset(&h, 0, sizeof h);
    h.doc = &d;
    h.chunk_id = 42;
    h.section = "Policy";
    h.score = 1.5;
    json_t *o = view_hit(&h, 0);
    static const char *const bare[] = {"id",       "source", "external_id", "title",
                                       "url",      "author", "updated_at",  "section",
                                       "chunk_id", "score",  NULL};
    keys_are(o, bare, "hit without snippet");
    /* chunk_id, never the CLI's old chunk. */
    CHECK(!json_object_get(o, "chunk"));
    CHECK_INT(json_integer_value(json_object_get(o, "chunk_id")), 42);
    CHECK_STR(str(o, "section"), "Policy");
    json_decref(o);

    h.snippet = "the leave policy";
    h.marks = marks;
    h.nmarks = 1;
    h.text = "the leave policy, in full";
    h.explain =
        (search_explain){.has_lexical = 1, .lexical_rank = 2, .lexical_score = 3.5, .fused = 0.25};
    o = view_hit(&h, 1);
    static const char *const full[] = {"id",      "source",     "external_id", "title",    "url",
                                       "author",  "updated_at", "section",     "chunk_id", "score",
                                       "snippet", "highlights", "text",        "explain",  NULL};
    keys_are(o, full, "hit with snippet, text and explain");
    json_t *hl = json_array_get(json_object_get(o, "highlights"), 0);
    CHECK_INT(json_integer_value(json_array_get(hl, 0)), 4);
    CHECK_INT(json_integer_value(json_array_get(hl, 1)), 9);
    json_t *ex = json_object_get(o, "explain");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(ex, "lexical"), "rank")), 2);
    CHECK(json_is_null(json_object_get(ex, "semantic")));
    json_decref(o);

    search_response res;
    memset(&res, 0, sizeof res);
    char *dropped[] = {"the"};
    res.hits = &h;
    res.n = 1;
    res.took_us = 1500;
    res.mode = SEARCH_MODE_LEXICAL;
    res.dropped = dropped;
    res.ndropped = 1;
    res.dropped_total = 4;
    o = view_search_answer(&res, 0);
    static const char *const answer[] = {"hits",          "mode",          "took_ms", "truncated",
                                         "dropped_terms", "dropped_total", NULL};
    keys_are(o, answer, "search answer");
    CHECK_STR(str(o, "mode"), "lexical");
    CHECK(json_real_value(json_object_get(o, "took_ms")) == 1.5);
    CHECK_INT(json_integer_value(json_object_get(o, "dropped_total")), 4);
    CHECK(!json_object_get(json_array_get(json_object_get(o, "hits"), 0), "explain"));
    json_decref(o);
    strcpy(res.notice, "only stop words");
    strcpy(res.semantic_error, "provider down");
    o = view_search_answer(&res, 0);
    CHECK_STR(str(o, "notice"), "only stop words");
    CHECK_STR(str(o, "semantic_error"), "provider down");
    json_decref(o);
}

static void test_source_and_job(void) {
    store_source_info s = {"wiki", 12, 1767225600000};
    json_t *o = view_source(&s);
    static const char *const src[] = {"source", "documents", "last_updated", NULL};
    keys_are(o, src, "source");
    CHECK_INT(json_integer_value(json_object_get(o, "documents")), 12);
    CHECK_STR(str(o, "last_updated"), "2026-01-01T00:00:00Z");
    json_decref(o);

    store_job j;
    memset(&j, 0, sizeof j);
    strcpy(j.pub, "j1");
    strcpy(j.kind, "documents");
    j.state = STORE_JOB_READY;
    j.attempts = 1;
    j.max_attempts = 5;
    j.created_ms = 1767225600000;
    j.visible_ms = 1767225660000;
    j.dedup_key = "0123456789ab:nightly";
    j.result = "{\"documents\":[]}";
    o = view_job(&j);
    static const char *const job[] = {
        "id",         "kind",       "state",      "status_url",  "attempts",        "max_attempts",
        "created_at", "updated_at", "started_at", "finished_at", "next_attempt_at", "dedup_key",
        "error",      "result",     NULL};
    keys_are(o, job, "job");
    CHECK_STR(str(o, "status_url"), "/v1/jobs/j1");
    CHECK_STR(str(o, "dedup_key"), "nightly"); /* without the key scope */
    CHECK_STR(str(o, "next_attempt_at"), "2026-01-01T00:01:00Z");
    CHECK(json_is_object(json_object_get(o, "result")));
    json_decref(o);
}

static void test_filters(void) {
    search_request r;
    view_filters f;
    char err[256];
    memset(&r, 0, sizeof r);
    view_filters_attach(&f, &r);
    CHECK_INT(view_filter_set(&f, &r, "source", NULL, "wiki", err, sizeof err), 0);
    CHECK_INT(view_filter_set(&f, &r, "source", NULL, "slack", err, sizeof err), 0);
    CHECK_INT(r.nsources, 2);
    CHECK_STR(r.sources[1], "slack");
    CHECK_INT(view_filter_set(&f, &r, "since", NULL, "2026-01-01", err, sizeof err), 0);
    CHECK(r.since_ms == 1767225600000);
    /* A bare date as until means the end of that day. */
    CHECK_INT(view_filter_set(&f, &r, "until", NULL, "2026-01-01", err, sizeof err), 0);
    CHECK(r.until_ms == 1767225600000 + 86400000 - 1);
    CHECK_INT(view_filter_set(&f, &r, "until", NULL, "2026-01-01T10:00:00Z", err, sizeof err), 0);
    CHECK(r.until_ms == 1767225600000 + 36000000);
    CHECK_INT(view_filter_set(&f, &r, "author", NULL, "ana", err, sizeof err), 0);
    CHECK_STR(r.author, "ana");
    CHECK_INT(view_filter_set(&f, &r, "meta.team", NULL, "hr", err, sizeof err), 0);
    CHECK_INT(r.nmeta, 1);
    CHECK_STR(r.meta_keys[0], "team");
    CHECK_STR(r.meta_values[0], "hr");
    /* Not a filter: the front end's own parameter. */
    CHECK_INT(view_filter_set(&f, &r, "q", NULL, "x", err, sizeof err), 1);
    CHECK_INT(view_filter_set(&f, &r, "limit", NULL, "5", err, sizeof err), 1);

    /* Errors name the parameter as the front end spells it, and the fix. */
    CHECK_INT(view_filter_set(&f, &r, "since", NULL, "last week", err, sizeof err), -1);
    CHECK(strstr(err, "since must be an ISO 8601 date or time like 2026-01-31") != NULL);
    CHECK(strstr(err, "got 'last week'") != NULL);
    CHECK_INT(view_filter_set(&f, &r, "until", "updated_before", "soon", err, sizeof err), -1);
    CHECK(strstr(err, "updated_before must be an ISO 8601") != NULL);
    CHECK_INT(view_filter_set(&f, &r, "meta.", NULL, "v", err, sizeof err), -1);
    CHECK(strstr(err, "meta.KEY=VALUE") != NULL);
    char big[VIEW_MAX_AUTHOR + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(view_filter_set(&f, &r, "author", NULL, big, err, sizeof err), -1);
    CHECK(strstr(err, "author is 1025 bytes; the limit is 1024") != NULL);
    CHECK_STR(r.author, "ana"); /* a refused value changes nothing */

    /* Every list has a cap. */
    for (int i = 2; i < VIEW_MAX_FILTERS; i++)
        CHECK_INT(view_filter_set(&f, &r, "source", NULL, "s", err, sizeof err), 0);
    CHECK_INT(view_filter_set(&f, &r, "source", "sources", "one-more", err, sizeof err), -1);
    CHECK(strstr(err, "sources: at most 32 source names") != NULL);
    CHECK_INT(r.nsources, VIEW_MAX_FILTERS);
    for (int i = 1; i < VIEW_MAX_FILTERS; i++)
        CHECK_INT(view_filter_meta(&f, &r, "k", "v", err, sizeof err), 0);
    CHECK_INT(view_filter_set(&f, &r, "meta.k", NULL, "v", err, sizeof err), -1);
    CHECK(strstr(err, "at most 32 metadata filters") != NULL);
    CHECK_INT(r.nmeta, VIEW_MAX_FILTERS);
}

int main(void) {
    test_doc();
    test_hit();
    test_source_and_job();
    test_filters();
    return test_summary();
}
