/* Search end to end on a real store: documents go in through ingest (the
 * same path as the CLI), queries come back through search_run. Covers
 * ranking basics, one hit per document, phrases, exclusions, title: and
 * source: clauses, ACL filtering inside retrieval (a page is never short),
 * date filters, snippets, updates and deletes, and bad queries. */
#include <stdlib.h>

#include "ingest/ingest.h"
#include "search/long_text.h"
#include "search/search.h"
#include "test.h"

static store_tenant *t;
static tenant_ctx *tc;
static ingest_session *ing;
static search_engine *se;

static void put_json(const char *json) {
    lore_status st = ingest_bytes(ing, "docs.jsonl", NULL, (const uint8_t *)json, strlen(json));
    CHECK_INT(st, LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

/* Runs q and returns the external ids of the hits, space-joined. */
static const char *ids(const search_request *req) {
    static char out[4096];
    search_response r;
    char err[256];
    out[0] = '\0';
    lore_status st = search_run(se, req, &r, err, sizeof err);
    if (st != LORE_OK) {
        snprintf(out, sizeof out, "ERROR %s", err);
        return out;
    }
    for (size_t i = 0; i < r.n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, r.hits[i].doc->external_id);
    }
    search_response_free(&r);
    return out;
}

static const char *q(const char *query) {
    search_request req = {.query = query, .all_access = 1, .limit = 20};
    return ids(&req);
}

static int has_id(const search_response *r, const char *ext) {
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->hits[i].doc->external_id, ext)) return 1;
    return 0;
}

/* Long queries are answered: the least selective terms past the engine's
 * limit are dropped and named; like= finds similar documents, itself first. */
static void long_queries(void) {
    char line[4096];
    for (int d = 0; d < LT_DOCS; d++) {
        char *text = lt_doc_text(d);
        snprintf(line, sizeof line,
                 "{\"id\":\"lt%d\",\"title\":\"Fixture %d\",\"text\":\"%s\"%s}\n", d, d, text,
                 d == 3 ? ",\"acl\":[\"group:secret\"]" : "");
        put_json(line);
        free(text);
    }
    put_json("{\"id\":\"incident\",\"title\":\"" LT_INCIDENT_TITLE "\",\"text\":\"" LT_INCIDENT_TEXT
             "\"}\n");

    /* 600 words, 300 distinct: every document is found, and the 44 words
     * in every one of them (the least selective) are the ones dropped */
    char *q600 = lt_query600();
    search_request req = {.query = q600, .all_access = 1, .limit = 50};
    search_response r;
    char err[256];
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_INT(r.n, LT_DOCS);
    CHECK_INT(r.dropped_total, LT_COMMON);
    CHECK_INT(r.ndropped, LT_COMMON);
    CHECK_INT(r.terms_searched, SEARCH_MAX_SCORED_TERMS);
    for (size_t i = 0; i < r.ndropped; i++)
        CHECK(lt_is_common(r.dropped[i]));
    /* a dropped word is not highlighted: the snippet marks rare words only */
    for (size_t i = 0; i < r.n; i++)
        for (size_t m = 0; m < r.hits[i].nmarks; m++) {
            char w[8] = "";
            const search_span *sp = &r.hits[i].marks[m];
            if (sp->end - sp->start == 5) memcpy(w, r.hits[i].snippet + sp->start, 5);
            CHECK(w[0] && !lt_is_common(w));
        }
    search_response_free(&r);
    /* with a larger limit nothing is dropped (the limit is the only cause) */
    req.max_terms = 1000;
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_INT(r.dropped_total, 0);
    CHECK_INT(r.terms_searched, LT_WORDS);
    search_response_free(&r);
    free(q600);

    /* a pasted 4 KB paragraph finds the incident it describes */
    char *para = lt_paragraph();
    CHECK(strlen(para) > 3900 && strlen(para) < 4096);
    req = (search_request){.query = para, .all_access = 1, .limit = 5};
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK(r.n >= 1 && !strcmp(r.hits[0].doc->external_id, "incident"));
    search_response_free(&r);
    free(para);

    /* more like this: the document first, then those sharing its words */
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("files", "lt0", id);
    req = (search_request){.like = id, .all_access = 1, .limit = 5};
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_INT(r.n, 5);
    CHECK_STR(r.n ? r.hits[0].doc->external_id : "", "lt0");
    for (size_t i = 1; i < r.n; i++)
        CHECK(!strncmp(r.hits[i].doc->external_id, "lt", 2));
    CHECK(r.more);
    search_response_free(&r);
    /* the document itself comes first even when another scores higher: a
     * document holding lt0's rare words twice over */
    {
        char *t0 = lt_doc_text(0);
        snprintf(line, sizeof line,
                 "{\"id\":\"twice\",\"title\":\"Fixture 0 again\",\"text\":\"%s %s %s\"}\n", t0,
                 t0 + LT_COMMON * 6, t0 + LT_COMMON * 6);
        put_json(line);
        free(t0);
    }
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_STR(r.n ? r.hits[0].doc->external_id : "", "lt0");
    CHECK(has_id(&r, "twice"));
    search_response_free(&r);
    /* paging keeps the document on the first page only */
    req.offset = 1;
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK(!has_id(&r, "lt0"));
    search_response_free(&r);
    /* pages of one hit cut the same order as one page of six, even when
     * two documents outscore lt0 (so it ranks past a small page's window):
     * no page repeats a hit and none misses lt0 */
    {
        char *t0 = lt_doc_text(0);
        snprintf(line, sizeof line,
                 "{\"id\":\"thrice\",\"title\":\"Fixture 0 thrice\",\"text\":\"%s %s %s %s\"}\n",
                 t0, t0 + LT_COMMON * 6, t0 + LT_COMMON * 6, t0 + LT_COMMON * 6);
        put_json(line);
        free(t0);
    }
    req.offset = 0;
    req.limit = 6;
    search_response whole;
    CHECK_INT(search_run(se, &req, &whole, err, sizeof err), LORE_OK);
    CHECK_STR(whole.n ? whole.hits[0].doc->external_id : "", "lt0");
    for (size_t o = 0; o < whole.n; o++) {
        req.offset = o;
        req.limit = 1;
        CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
        CHECK_INT(r.n, 1);
        if (r.n) CHECK_STR(r.hits[0].doc->external_id, whole.hits[o].doc->external_id);
        search_response_free(&r);
    }
    search_response_free(&whole);

    /* ACLs: a hidden document is answered like a missing one */
    char hidden[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("files", "lt3", hidden);
    const char *as_bob[] = {"user:bob@example.com"};
    req = (search_request){.like = hidden, .principals = as_bob, .nprincipals = 1};
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_NOT_FOUND);
    CHECK(strstr(err, "no document with id") != NULL);
    req.like = "0123456789abcdef0123";
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_NOT_FOUND);
    CHECK(strstr(err, "no document with id") != NULL);
    /* ... and a visible one never lists the hidden one among its similars */
    req.like = id;
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_STR(r.n ? r.hits[0].doc->external_id : "", "lt0");
    CHECK(!has_id(&r, "lt3"));
    search_response_free(&r);
    const char *as_secret[] = {"group:secret"};
    req = (search_request){.like = hidden, .principals = as_secret, .nprincipals = 1};
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_OK);
    CHECK_STR(r.n ? r.hits[0].doc->external_id : "", "lt3");
    search_response_free(&r);
    /* query and like together are refused */
    req = (search_request){.like = id, .query = "x", .all_access = 1};
    CHECK_INT(search_run(se, &req, &r, err, sizeof err), LORE_INVALID);
}

/* meta.KEY: a top-level key, an array element, and a dotted path into the
 * nested object a connector keeps its source's ids in; a top-level key
 * whose name has dots wins over the path. */
static void meta_filters(void) {
    put_json("{\"id\":\"gh1\",\"text\":\"kestrel migration\",\"metadata\":{\"github\":"
             "{\"repository\":\"octo/hello\",\"number\":12,\"labels\":[\"bug\",\"p1\"]}}}\n"
             "{\"id\":\"gh2\",\"text\":\"kestrel migration\",\"metadata\":{\"github\":"
             "{\"repository\":\"octo/other\",\"number\":12}}}\n"
             "{\"id\":\"dotted\",\"text\":\"kestrel migration\",\"metadata\":"
             "{\"github.repository\":\"octo/hello\",\"github\":{\"repository\":\"x/y\"}}}\n");
    const char *k1[] = {"github.repository"}, *v1[] = {"octo/hello"};
    search_request req = {.query = "kestrel",
                          .all_access = 1,
                          .limit = 20,
                          .meta_keys = k1,
                          .meta_values = v1,
                          .nmeta = 1};
    CHECK_STR(ids(&req), "gh1 dotted");
    const char *k2[] = {"github.number", "github.labels"}, *v2[] = {"12", "p1"};
    req.meta_keys = k2;
    req.meta_values = v2;
    req.nmeta = 2;
    CHECK_STR(ids(&req), "gh1");
    const char *k3[] = {"github.repository.name"}, *v3[] = {"octo/hello"};
    req.meta_keys = k3;
    req.meta_values = v3;
    req.nmeta = 1;
    CHECK_STR(ids(&req), "");
    const char *k4[] = {"github"}, *v4[] = {"octo/hello"};
    req.meta_keys = k4;
    req.meta_values = v4;
    CHECK_STR(ids(&req), "");
}

int main(void) {
    const char *dir = test_tmpdir();
    char dirc[256];
    snprintf(dirc, sizeof dirc, "%s", dir);
    store *s = NULL;
    char err[512];
    CHECK_INT(store_open(dirc, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);

    put_json(
        "{\"id\":\"leave\",\"title\":\"Parental leave policy\",\"text\":\"Employees get sixteen "
        "weeks of parental leave. Leave starts at birth or adoption.\",\"updated\":"
        "\"2024-03-01\"}\n"
        "{\"id\":\"pto\",\"title\":\"Paid time off\",\"text\":\"Vacation days accrue monthly. "
        "Sick leave is separate from vacation.\",\"updated\":\"2023-01-10\"}\n"
        "{\"id\":\"draft\",\"title\":\"Draft: leave changes\",\"text\":\"A draft about parental "
        "benefits and leave of absence.\",\"updated\":\"2024-06-01\"}\n"
        "{\"id\":\"eng\",\"title\":\"Deploy guide\",\"text\":\"Run deploy_service with the "
        "HttpServerError handler. Error E1234 means the config file is missing.\","
        "\"acl\":[\"group:eng\"]}\n"
        "{\"id\":\"ann\",\"title\":\"Ann's notes\",\"text\":\"Private parental leave notes for "
        "Ann only.\",\"acl\":[\"user:ann@example.com\"],\"author\":\"ann\"}\n");

    /* ranking: the document about parental leave comes first */
    const char *r = q("parental leave");
    CHECK(!strncmp(r, "leave ", 6));
    /* phrases: adjacency required */
    CHECK_STR(q("\"parental leave\""), "leave ann");
    CHECK_STR(q("\"leave parental\""), "");
    CHECK_STR(q("\"leave of absence\""), "draft"); /* stop word kept in place */
    CHECK_STR(q("\"leave absence\""), "");
    /* exclusions */
    r = q("leave -draft");
    CHECK(strstr(r, "draft") == NULL && strstr(r, "leave") != NULL);
    r = q("leave -\"parental benefits\"");
    CHECK(strstr(r, "draft") == NULL);
    /* title: requires the word in the title */
    CHECK_STR(q("title:vacation"), "");
    CHECK_STR(q("title:paid vacation"), "pto");
    /* identifiers are findable whole and by their parts */
    CHECK_STR(q("deploy_service"), "eng");
    CHECK_STR(q("HttpServerError"), "eng");
    CHECK_STR(q("server error"), "eng");
    CHECK_STR(q("E1234"), "eng");

    /* ACL inside retrieval: a principal never sees documents it may not */
    const char *as_bob[] = {"user:bob@example.com"};
    search_request req = {
        .query = "parental leave notes", .principals = as_bob, .nprincipals = 1, .limit = 10};
    r = ids(&req);
    CHECK(strstr(r, "ann") == NULL);
    CHECK(strstr(r, "leave") != NULL);
    const char *as_ann[] = {"user:ann@example.com"};
    req.principals = as_ann;
    CHECK(strstr(ids(&req), "ann") != NULL);
    const char *as_eng[] = {"user:bob@example.com", "group:eng"};
    req.principals = as_eng;
    req.nprincipals = 2;
    req.query = "deploy";
    CHECK_STR(ids(&req), "eng");
    req.principals = as_bob;
    req.nprincipals = 1;
    CHECK_STR(ids(&req), "");
    /* the page is not short: limit 1 still finds the visible hit even though
     * better-scoring hidden documents exist */
    req.query = "parental leave notes ann";
    req.limit = 1;
    r = ids(&req);
    CHECK(*r && strstr(r, "ann") == NULL);

    /* filters: dates, source, author */
    search_request d = {.query = "leave", .all_access = 1, .limit = 10};
    d.since_ms = 1704067200000; /* 2024-01-01 */
    d.until_ms = 1714521600000; /* 2024-05-01 */
    CHECK_STR(ids(&d), "leave");
    CHECK_STR(q("leave source:slack"), "");
    r = q("leave source:files");
    CHECK(strstr(r, "leave") != NULL);
    CHECK_STR(q("leave author:ann"), "ann");

    /* snippets mark the query words */
    search_request sn = {.query = "sixteen weeks", .all_access = 1, .snippets = 1};
    search_response res;
    CHECK_INT(search_run(se, &sn, &res, err, sizeof err), LORE_OK);
    CHECK_INT(res.n, 1);
    if (res.n) {
        CHECK(res.hits[0].snippet != NULL);
        CHECK_INT(res.hits[0].nmarks, 2);
        if (res.hits[0].nmarks == 2) {
            const search_hit *h = &res.hits[0];
            CHECK(!strncmp(h->snippet + h->marks[0].start, "sixteen", 7));
            CHECK(!strncmp(h->snippet + h->marks[1].start, "weeks", 5));
        }
        CHECK_STR(res.hits[0].doc->title, "Parental leave policy");
    }
    search_response_free(&res);

    /* updates replace, unchanged is a no-op, deletes remove */
    uint64_t before = ingest_session_stats(ing)->docs_unchanged;
    put_json("{\"id\":\"pto\",\"title\":\"Paid time off\",\"text\":\"Vacation days accrue "
             "monthly. Sick leave is separate from vacation.\",\"updated\":\"2023-01-10\"}");
    CHECK_INT(ingest_session_stats(ing)->docs_unchanged, before + 1);
    put_json("{\"id\":\"pto\",\"title\":\"Paid time off\",\"text\":\"Holidays are listed "
             "yearly.\"}");
    CHECK_STR(q("vacation"), "");
    CHECK_STR(q("holidays"), "pto");
    store_doc *doc = NULL;
    int64_t rowid;
    CHECK_INT(store_doc_lookup(t, "files", "pto", &rowid, NULL), LORE_OK);
    CHECK_INT(store_doc_get_rowid(t, rowid, 0, &doc), LORE_OK);
    CHECK_INT(ingest_delete(ing, doc->id), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    CHECK_INT(ingest_delete(ing, doc->id), LORE_NOT_FOUND);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    store_doc_free(doc);
    CHECK_STR(q("holidays"), "");

    /* bad and odd queries: clear errors or empty results, never a crash */
    CHECK(!strncmp(q(""), "ERROR empty query", 17));
    CHECK(!strncmp(q("   "), "ERROR empty query", 17));
    CHECK(!strncmp(q("-leave"), "ERROR the query needs", 21));
    CHECK(!strncmp(q("source:files"), "ERROR the query needs", 21));
    CHECK_STR(q("the -leave"), ""); /* a stop word and an exclusion: empty, no error */
    CHECK_STR(q("the of and"), ""); /* stop words only: empty with a notice */
    /* emoji or punctuation alone: not "only stop words", and it says why */
    CHECK(!strncmp(q("\xf0\x9f\xa6\xa6"), "ERROR the query has no words to search for, only", 48));
    CHECK(!strncmp(q("?! \xe2\x80\x94"), "ERROR the query has no words to search for, only", 48));
    CHECK_STR(q("the \xf0\x9f\xa6\xa6"), ""); /* a stop word beside: the stop-word notice */
    search_request big = {.all_access = 1};
    char *huge = malloc(10000);
    memset(huge, 'x', 9999);
    huge[9999] = '\0';
    big.query = huge;
    CHECK_INT(search_run(se, &big, &res, err, sizeof err), LORE_TOO_LARGE);
    free(huge);
    big.query = "leave";
    big.limit = 5000;
    CHECK_INT(search_run(se, &big, &res, err, sizeof err), LORE_INVALID);
    /* invalid UTF-8 is refused, naming the byte; not "only stop words" */
    const char *bad_utf8[] = {"\xff\xfe", "ok \xc3", "\xc0\xafx", "\xed\xa0\x80",
                              "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        big = (search_request){.query = bad_utf8[i], .all_access = 1};
        CHECK_INT(search_run(se, &big, &res, err, sizeof err), LORE_INVALID);
        CHECK(strstr(err, "not valid UTF-8") != NULL);
    }
    CHECK_STR(q("caf\xc3\xa9 \xe2\x82\xac"), ""); /* valid multibyte text is searched */

    long_queries();
    meta_filters();

    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dirc);
    return test_summary();
}
