/* The Linear connector on a real store: the signature (good, bad, over
 * another body, absent, malformed), the replay window on webhookTimestamp,
 * what inspect makes of each type, and the documents Issue, Comment,
 * Project and Document deliveries leave: edits replace, removes delete (a
 * removed comment leaves its issue), redeliveries change nothing, an older
 * delivery arriving after a newer one does not win, a comment before its
 * issue. Payloads are shaped like Linear's webhook docs' examples, signed
 * here as Linear signs them. Ends with a random shuffle of a history's
 * deliveries (seed printed) that must render what the ordered history does. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include "connectors/connector.h"
#include "connectors/linear.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "test.h"
#include "util/timeutil.h"

#define NOW 1772884800000LL /* 2026-03-07T12:00:00Z */
#define SECRET "lin_wh_5f1a2b3c4d5e6f708192a3b4c5d6e7f8"

static store_tenant *t;
static ingest_session *ing;
static connector_sink *sink;
static search_engine *se;

/* ---- requests ---- */

typedef struct hdrs {
    const char *sig, *delivery;
} hdrs;

static const char *get_header(void *ctx, const char *name) {
    hdrs *h = ctx;
    if (!strcasecmp(name, "Linear-Signature")) return h->sig;
    if (!strcasecmp(name, "Linear-Delivery")) return h->delivery;
    return NULL;
}

static void sign(const char *body, char out[65]) {
    uint8_t mac[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)body, strlen(body), mac, &n);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

static connector_request request(const char *body, hdrs *h) {
    connector_request r = {get_header, h, (const uint8_t *)body, strlen(body), NOW};
    return r;
}

static connector_verdict verify(const char *body, const char *sig) {
    hdrs h = {sig, "d"};
    connector_request r = request(body, &h);
    return connector_linear.verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
}

static connector_verdict inspect(const char *body, const char *delivery, connector_delivery *d) {
    hdrs h = {NULL, delivery};
    connector_request r = request(body, &h);
    connector_verdict v = connector_linear.inspect(&r, d);
    free(d->answer);
    d->answer = NULL;
    return v;
}

/* ---- payloads, as in Linear's docs ---- */

static char *iso(int64_t ms) {
    static char bufs[8][32];
    static int next;
    char *b = bufs[next++ % 8];
    lore_format_iso8601(ms, b, 32);
    /* Linear writes milliseconds: 2026-03-07T12:00:00.000Z */
    snprintf(b + 19, 8, ".%03dZ", (int)(((ms % 1000) + 1000) % 1000));
    return b;
}

/* An envelope around data (stolen). */
static char *envelope(const char *action, const char *type, json_t *data, int64_t at) {
    json_t *root = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:o, s:s, s:{}, s:s, s:I, s:s}", "action", action,
        "type", type, "actor", "id", "aacdca22-6266-4c0a-ab3c-8fa70a26765c", "type", "user", "name",
        "Jane Doe", "email", "jane@acme.example", "createdAt", iso(at), "data", data, "url",
        "https://linear.app/acme/issue/ENG-123/fix-login-redirect", "updatedFrom", "organizationId",
        "8b2e7c15-0a3d-4e4f-9c6b-1d2e3f405162", "webhookTimestamp", (json_int_t)NOW, "webhookId",
        "000042e3-d123-4980-b49f-8e140eef9329");
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static char *issue(const char *action, const char *id, const char *title, const char *desc,
                   const char *state, int64_t updated) {
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:[s], s:s, s:s,"
                  " s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:[{s:s, s:s, s:s}], s:s}",
                  "id", id, "createdAt", iso(NOW - 86400000), "updatedAt", iso(updated), "number",
                  123, "title", title, "description", desc, "priority", 2, "priorityLabel", "High",
                  "identifier", "ENG-123", "teamId", "team-eng", "stateId", "state-1", "labelIds",
                  "label-bug", "assigneeId", "user-bob", "creatorId", "user-jane", "team", "id",
                  "team-eng", "key", "ENG", "name", "Engineering", "state", "id", "state-1", "name",
                  state, "type", "started", "assignee", "id", "user-bob", "name", "Bob Smith",
                  "labels", "id", "label-bug", "name", "Bug", "color", "#eb5757", "url",
                  "https://linear.app/acme/issue/ENG-123/fix-login-redirect");
    return envelope(action, "Issue", data, updated);
}

static char *comment(const char *action, const char *id, const char *issue_id, const char *body,
                     int64_t created, int64_t updated) {
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "id", id,
                  "createdAt", iso(created), "updatedAt", iso(updated), "body", body, "issueId",
                  issue_id, "userId", "user-bob", "user", "id", "user-bob", "name", "Bob Smith",
                  "issue", "id", issue_id, "title", "Fix login redirect", "identifier", "ENG-123");
    return envelope(action, "Comment", data, updated);
}

static char *project(const char *action, const char *id, const char *name, const char *desc,
                     int64_t updated) {
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s}", "id", id, "createdAt",
                  iso(NOW - 86400000), "updatedAt", iso(updated), "name", name, "description", desc,
                  "state", "started", "status", "name", "In Progress", "targetDate", "2026-06-30",
                  "url", "https://linear.app/acme/project/mobile-login-5c3b7f1e");
    return envelope(action, "Project", data, updated);
}

static char *document(const char *action, const char *id, const char *title, const char *content,
                      int64_t updated) {
    json_t *data = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s}", "id", id, "createdAt",
        iso(NOW - 86400000), "updatedAt", iso(updated), "title", title, "content", content,
        "projectId", "proj-1", "project", "id", "proj-1", "name", "Mobile login", "creator", "id",
        "user-jane", "name", "Jane Doe", "url", "https://linear.app/acme/document/login-spec-1a2b");
    return envelope(action, "Document", data, updated);
}

/* ---- applying ---- */

static lore_status deliver(char *body) {
    json_error_t jerr;
    json_t *p = json_loads(body, 0, &jerr);
    char *error = NULL;
    lore_status st = connector_linear.apply(sink, "x", p, &error);
    if (st == LORE_OK) st = connector_sink_flush(sink, &connector_linear);
    if (st == LORE_OK) st = ingest_commit(ing);
    if (error) fprintf(stderr, "apply: %s\n", error);
    free(error);
    json_decref(p);
    free(body);
    return st;
}

static store_doc *doc(const char *external_id) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("linear", external_id, id);
    store_doc *d = NULL;
    if (store_doc_get(t, id, 1, &d) != LORE_OK) return NULL;
    return d;
}

static int has(const store_doc *d, const char *needle) {
    return d && d->text && strstr(d->text, needle) != NULL;
}

static size_t hits(const char *query) {
    search_request req = {.query = query, .all_access = 1, .limit = 20};
    search_response r;
    char err[256];
    if (search_run(se, &req, &r, err, sizeof err) != LORE_OK) return 999;
    size_t n = r.n;
    search_response_free(&r);
    return n;
}

static void test_verify(void) {
    const char *body = "{\"action\":\"create\",\"type\":\"Issue\"}";
    char sig[65], other[65];
    sign(body, sig);
    sign("{\"action\":\"remove\",\"type\":\"Issue\"}", other);
    CHECK_INT(verify(body, sig), CONNECTOR_OK);
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    CHECK_INT(verify(body, upper), CONNECTOR_OK);
    CHECK_INT(verify(body, other), CONNECTOR_BAD_SIGNATURE); /* over another body */
    CHECK_INT(verify(body, NULL), CONNECTOR_BAD_SIGNATURE);  /* absent */
    CHECK_INT(verify(body, ""), CONNECTOR_BAD_SIGNATURE);    /* empty */
    char bad[80];
    snprintf(bad, sizeof bad, "%s", sig);
    bad[10] = bad[10] == '0' ? '1' : '0';
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE); /* one digit off */
    snprintf(bad, sizeof bad, "sha256=%s", sig);
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE); /* a prefix Linear does not send */
    snprintf(bad, sizeof bad, "%.62s", sig);
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE); /* short */
    snprintf(bad, sizeof bad, "%sab", sig);
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE); /* long */
    snprintf(bad, sizeof bad, "%s", sig);
    bad[0] = 'g';
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE); /* not hex */
    /* A digest whose non-hex digits would decode to the right bytes if
     * bad digits were masked: still refused. */
    snprintf(bad, sizeof bad, "%s", sig);
    bad[0] = (char)(bad[0] + 0x40);
    CHECK_INT(verify(body, bad), CONNECTOR_BAD_SIGNATURE);
    /* Another secret. */
    hdrs h = {sig, "d"};
    connector_request r = request(body, &h);
    CHECK_INT(connector_linear.verify(&r, (const uint8_t *)"other", 5), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(connector_linear.verify(&r, (const uint8_t *)"", 0), CONNECTOR_BAD_SIGNATURE);
}

static void test_inspect(void) {
    connector_delivery d;
    char *b = issue("create", "iss-1", "Fix login redirect", "d", "Todo", NOW - 1000);
    CHECK_INT(inspect(b, "7a5b2a4e-3f6f-4f57-9a4e-0d6a1c2b3d4e", &d), CONNECTOR_QUEUE);
    CHECK_STR(d.delivery_id, "7a5b2a4e-3f6f-4f57-9a4e-0d6a1c2b3d4e");
    CHECK_STR(d.event, "Issue.create");
    CHECK_INT(d.ngroups, 1);
    CHECK_STR(d.groups[0], "issue/iss-1");
    CHECK_INT(d.sent_ms, NOW);
    CHECK_INT(inspect(b, NULL, &d), CONNECTOR_MALFORMED); /* no Linear-Delivery: no dedup */
    CHECK(strstr(d.why, "Linear-Delivery") != NULL);
    CHECK_INT(inspect(b, "has space", &d), CONNECTOR_MALFORMED);
    free(b);

    b = comment("update", "com-1", "iss-1", "hi", NOW - 5000, NOW - 1000);
    CHECK_INT(inspect(b, "d1", &d), CONNECTOR_QUEUE);
    CHECK_STR(d.event, "Comment.update");
    CHECK_STR(d.groups[0], "issue/iss-1"); /* a comment groups on its issue */
    free(b);
    b = project("remove", "proj-1", "P", "", NOW - 1000);
    CHECK_INT(inspect(b, "d2", &d), CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "project/proj-1");
    free(b);
    b = document("create", "doc-1", "Spec", "", NOW - 1000);
    CHECK_INT(inspect(b, "d3", &d), CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "document/doc-1");
    free(b);

    /* Types and actions lore does not index. */
    b = envelope("create", "IssueLabel", json_pack("{s:s, s:s}", "id", "label-1", "name", "Bug"),
                 NOW);
    CHECK_INT(inspect(b, "d4", &d), CONNECTOR_IGNORE);
    free(b);
    b = envelope("create", "Comment",
                 json_pack("{s:s, s:s, s:s}", "id", "c9", "body", "x", "documentContentId", "dc"),
                 NOW);
    CHECK_INT(inspect(b, "d5", &d), CONNECTOR_IGNORE); /* a comment on a document */
    free(b);
    b = envelope("archive", "Issue", json_pack("{s:s}", "id", "iss-1"), NOW);
    CHECK_INT(inspect(b, "d6", &d), CONNECTOR_IGNORE);
    free(b);

    /* The replay window: 60 s either way. */
#define fmt                                                                                        \
    "{\"action\":\"create\",\"type\":\"Issue\",\"data\":{\"id\":\"x\"},\"webhookTimestamp\":%lld}"
    char buf[256];
    snprintf(buf, sizeof buf, fmt, (long long)(NOW - 60000));
    CHECK_INT(inspect(buf, "d7", &d), CONNECTOR_QUEUE);
    snprintf(buf, sizeof buf, fmt, (long long)(NOW - 60001));
    CHECK_INT(inspect(buf, "d7", &d), CONNECTOR_STALE);
    CHECK(strstr(d.why, "webhookTimestamp") != NULL);
    snprintf(buf, sizeof buf, fmt, (long long)(NOW + 60001));
    CHECK_INT(inspect(buf, "d7", &d), CONNECTOR_STALE);
    /* A stale ignored type is stale too: the window holds for every body. */
    CHECK_INT(inspect("{\"action\":\"create\",\"type\":\"Cycle\",\"data\":{},"
                      "\"webhookTimestamp\":1}",
                      "d8", &d),
              CONNECTOR_STALE);

    /* Not Linear's shape. */
    CHECK_INT(
        inspect("{\"action\":\"create\",\"type\":\"Issue\",\"data\":{\"id\":\"x\"}}", "d", &d),
        CONNECTOR_MALFORMED); /* no timestamp */
    CHECK_INT(
        inspect("{\"action\":\"create\",\"type\":\"Issue\",\"webhookTimestamp\":\"1\"}", "d", &d),
        CONNECTOR_MALFORMED);
#undef fmt
    CHECK_INT(inspect("not json", "d", &d), CONNECTOR_MALFORMED);
    CHECK_INT(inspect("[1,2]", "d", &d), CONNECTOR_MALFORMED);
    CHECK_INT(inspect("", "d", &d), CONNECTOR_MALFORMED);
    char *deep = malloc(100000);
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ']';
    deep[n] = 0;
    CHECK_INT(inspect(deep, "d", &d), CONNECTOR_MALFORMED);
    free(deep);
    snprintf(buf, sizeof buf,
             "{\"action\":\"update\",\"type\":\"Issue\",\"data\":{\"id\":\"../x\"},"
             "\"webhookTimestamp\":%lld}",
             (long long)NOW);
    CHECK_INT(inspect(buf, "d", &d), CONNECTOR_MALFORMED); /* not a Linear id */
    snprintf(buf, sizeof buf,
             "{\"action\":\"update\",\"type\":\"Issue\",\"data\":[],\"webhookTimestamp\":%lld}",
             (long long)NOW);
    CHECK_INT(inspect(buf, "d", &d), CONNECTOR_MALFORMED);
}

static void test_issue(void) {
    const char *iid = "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9";
    char key[64];
    snprintf(key, sizeof key, "issue/%s", iid);
    CHECK_INT(
        deliver(issue("create", iid, "Fix login redirect",
                      "Users on iOS Safari are not redirected after login.", "Todo", NOW - 10000)),
        LORE_OK);
    store_doc *d = doc(key);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(d->title, "ENG-123: Fix login redirect");
    CHECK_STR(d->url, "https://linear.app/acme/issue/ENG-123/fix-login-redirect");
    CHECK_STR(d->author, "Jane Doe"); /* the actor of the create */
    CHECK_INT(d->created_ms, NOW - 86400000);
    CHECK_INT(d->updated_ms, NOW - 10000);
    CHECK(has(d, "iOS Safari"));
    CHECK(has(d, "Team: Engineering (ENG)"));
    CHECK(has(d, "State: Todo"));
    CHECK(has(d, "Assignee: Bob Smith"));
    CHECK(has(d, "Priority: High"));
    CHECK(has(d, "Labels: Bug"));
    json_t *m = json_loads(d->metadata_json, 0, NULL);
    json_t *l = json_object_get(m, "linear");
    CHECK_STR(json_string_value(json_object_get(l, "id")), iid);
    CHECK_STR(json_string_value(json_object_get(l, "identifier")), "ENG-123");
    CHECK_STR(json_string_value(json_object_get(l, "team")), "ENG");
    CHECK_STR(json_string_value(json_object_get(l, "state")), "Todo");
    CHECK_STR(json_string_value(json_object_get(l, "type")), "Issue");
    json_decref(m);
    char hash[65];
    snprintf(hash, sizeof hash, "%s", d->content_hash);
    store_doc_free(d);
    CHECK_INT(hits("safari"), 1);

    /* Comments join the issue, in the order they were written. */
    CHECK_INT(deliver(comment("create", "com-b", iid, "Second: reproduced on iPad too.", NOW - 7000,
                              NOW - 7000)),
              LORE_OK);
    CHECK_INT(deliver(comment("create", "com-a", iid, "First: looking into the redirect.",
                              NOW - 8000, NOW - 8000)),
              LORE_OK);
    d = doc(key);
    CHECK(has(d, "Bob Smith, 2026-03-07T11:59:52Z"));
    const char *a = d ? strstr(d->text, "First:") : NULL,
               *b = d ? strstr(d->text, "Second:") : NULL;
    CHECK(a && b && a < b);
    CHECK_INT(d ? d->updated_ms : 0, NOW - 7000); /* the latest of issue and comments */
    snprintf(hash, sizeof hash, "%s", d ? d->content_hash : "");
    store_doc_free(d);
    CHECK_INT(hits("ipad"), 1);

    /* A redelivery leaves the document as it was. */
    CHECK_INT(deliver(comment("create", "com-b", iid, "Second: reproduced on iPad too.", NOW - 7000,
                              NOW - 7000)),
              LORE_OK);
    d = doc(key);
    CHECK_STR(d ? d->content_hash : "", hash);
    store_doc_free(d);

    /* An edit replaces; the older version arriving late does not win. */
    CHECK_INT(deliver(issue("update", iid, "Fix login redirect on mobile", "Now on Android too.",
                            "In Progress", NOW - 5000)),
              LORE_OK);
    CHECK_INT(deliver(issue("update", iid, "Stale title", "stale words", "Backlog", NOW - 6000)),
              LORE_OK);
    CHECK_INT(deliver(comment("update", "com-a", iid, "First: the redirect drops the cookie.",
                              NOW - 8000, NOW - 4000)),
              LORE_OK);
    CHECK_INT(
        deliver(comment("update", "com-a", iid, "First: an older edit.", NOW - 8000, NOW - 4500)),
        LORE_OK);
    d = doc(key);
    CHECK_STR(d ? d->title : "", "ENG-123: Fix login redirect on mobile");
    CHECK(has(d, "State: In Progress"));
    CHECK(has(d, "Android"));
    CHECK(!has(d, "iOS Safari") && !has(d, "stale words") && !has(d, "Backlog"));
    CHECK(has(d, "drops the cookie") && !has(d, "older edit"));
    CHECK(has(d, "Second:")); /* comments survive the issue's edit */
    store_doc_free(d);
    CHECK_INT(hits("safari"), 0);
    CHECK_INT(hits("stale"), 0);

    /* A removed comment leaves its issue; a late edit of it stays removed. */
    CHECK_INT(deliver(comment("remove", "com-b", iid, "Second: reproduced on iPad too.", NOW - 7000,
                              NOW - 3000)),
              LORE_OK);
    CHECK_INT(
        deliver(comment("update", "com-b", iid, "Second: edited late.", NOW - 7000, NOW - 3500)),
        LORE_OK);
    d = doc(key);
    CHECK(d != NULL);
    CHECK(!has(d, "Second:") && has(d, "drops the cookie"));
    store_doc_free(d);
    CHECK_INT(hits("ipad"), 0);

    /* The issue removed: its document goes, and stays gone when an older
     * edit or the create is delivered again afterwards. */
    CHECK_INT(
        deliver(issue("remove", iid, "Fix login redirect on mobile", "", "Canceled", NOW - 2000)),
        LORE_OK);
    CHECK(doc(key) == NULL);
    CHECK_INT(deliver(issue("update", iid, "Zombie", "zombie", "Todo", NOW - 2500)), LORE_OK);
    CHECK_INT(deliver(issue("create", iid, "Zombie", "zombie", "Todo", NOW - 10000)), LORE_OK);
    CHECK_INT(deliver(comment("create", "com-c", iid, "zombie comment", NOW - 2600, NOW - 2600)),
              LORE_OK);
    CHECK(doc(key) == NULL);
    CHECK_INT(hits("zombie"), 0);
    CHECK_INT(hits("cookie"), 0);
    /* A newer update (the issue restored) brings it back with its comments. */
    CHECK_INT(deliver(issue("update", iid, "Restored", "back again", "Todo", NOW - 1000)), LORE_OK);
    d = doc(key);
    CHECK(has(d, "back again") && has(d, "drops the cookie"));
    store_doc_free(d);
}

static void test_comment_first(void) {
    /* A comment before its issue: a document from the comment's data.issue,
     * replaced by the issue's own fields when they come. */
    CHECK_INT(deliver(comment("create", "com-x", "iss-late", "Early bird comment.", NOW - 9000,
                              NOW - 9000)),
              LORE_OK);
    store_doc *d = doc("issue/iss-late");
    CHECK_STR(d ? d->title : "", "ENG-123: Fix login redirect");
    CHECK(has(d, "Early bird"));
    store_doc_free(d);
    CHECK_INT(deliver(issue("create", "iss-late", "Late issue", "The body.", "Todo", NOW - 9500)),
              LORE_OK);
    d = doc("issue/iss-late");
    CHECK_STR(d ? d->title : "", "ENG-123: Late issue");
    CHECK(has(d, "Early bird") && has(d, "The body."));
    store_doc_free(d);
}

static void test_project_document(void) {
    CHECK_INT(deliver(project("create", "proj-9", "Mobile login", "Make login work on phones.",
                              NOW - 9000)),
              LORE_OK);
    CHECK_INT(
        deliver(project("update", "proj-9", "Mobile login v2", "Phones and tablets.", NOW - 8000)),
        LORE_OK);
    CHECK_INT(deliver(project("update", "proj-9", "Old name", "old words", NOW - 8500)), LORE_OK);
    store_doc *d = doc("project/proj-9");
    CHECK_STR(d ? d->title : "", "Mobile login v2");
    CHECK(has(d, "tablets") && has(d, "State: In Progress") && has(d, "Target date: 2026-06-30"));
    CHECK(!has(d, "old words"));
    CHECK(!has(d, "Lead:")); /* the actor who made it is not its lead */
    CHECK(d && strstr(d->metadata_json, "\"type\":\"Project\""));
    store_doc_free(d);
    CHECK_INT(deliver(project("remove", "proj-9", "Mobile login v2", "", NOW - 7000)), LORE_OK);
    CHECK(doc("project/proj-9") == NULL);

    CHECK_INT(deliver(document("create", "doc-9", "Login spec", "## Flow\n\nThe redirect flow.",
                               NOW - 9000)),
              LORE_OK);
    d = doc("document/doc-9");
    CHECK_STR(d ? d->title : "", "Login spec");
    CHECK_STR(d ? d->author : "", "Jane Doe");
    CHECK_STR(d ? d->url : "", "https://linear.app/acme/document/login-spec-1a2b");
    CHECK(has(d, "The redirect flow.") && has(d, "Project: Mobile login"));
    CHECK(d && strstr(d->metadata_json, "\"type\":\"Document\""));
    store_doc_free(d);
    CHECK_INT(deliver(document("update", "doc-9", "Login spec", "Rewritten.", NOW - 8000)),
              LORE_OK);
    d = doc("document/doc-9");
    CHECK(has(d, "Rewritten.") && !has(d, "redirect flow"));
    store_doc_free(d);
    CHECK_INT(deliver(document("remove", "doc-9", "Login spec", "", NOW - 7000)), LORE_OK);
    CHECK(doc("document/doc-9") == NULL);
}

static void test_bad_payloads(void) {
    const char *bad[] = {
        "[]",
        "{\"type\":\"Issue\",\"action\":\"create\"}",
        "{\"type\":\"Issue\",\"action\":\"create\",\"data\":{}}",
        "{\"type\":\"Issue\",\"action\":\"create\",\"data\":{\"id\":\"a/b\"}}",
        "{\"type\":\"Comment\",\"action\":\"create\",\"data\":{\"id\":\"c\",\"issueId\":\"a b\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *p = json_loads(bad[i], 0, NULL);
        char *error = NULL;
        CHECK_INT(connector_linear.apply(sink, "x", p, &error), LORE_INVALID);
        CHECK(error != NULL);
        free(error);
        json_decref(p);
    }
    /* A title past the cap is refused by name, not cut. */
    char *big = malloc(LINEAR_MAX_FIELD + 2);
    memset(big, 'a', LINEAR_MAX_FIELD + 1);
    big[LINEAR_MAX_FIELD + 1] = 0;
    char *body = issue("create", "iss-big", big, "", "Todo", NOW);
    json_t *p = json_loads(body, 0, NULL);
    char *error = NULL;
    CHECK_INT(connector_linear.apply(sink, "x", p, &error), LORE_INVALID);
    CHECK(error && strstr(error, "title"));
    free(error);
    json_decref(p);
    free(body);
    free(big);
    CHECK_INT(connector_sink_flush(sink, &connector_linear), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    CHECK(doc("issue/iss-big") == NULL);
    /* A title under the connector's cap whose "ENG-123: " prefix takes it past
     * the document's (4 KiB) is cut at a character, not refused. */
    char *lt = malloc(LINEAR_MAX_FIELD + 1);
    size_t k = INGEST_MAX_TITLE - 1 - strlen("ENG-123: "); /* "é" across the cap */
    memset(lt, 'b', k + 7);
    memcpy(lt + k, "\xc3\xa9", 2);
    lt[k + 7] = 0;
    CHECK_INT(deliver(issue("create", "iss-long", lt, "long title body", "Todo", NOW)), LORE_OK);
    store_doc *d = doc("issue/iss-long");
    CHECK(d != NULL);
    CHECK_INT(d ? strlen(d->title) : 0, INGEST_MAX_TITLE - 1); /* the cut "é" is dropped */
    CHECK(has(d, "long title body"));
    store_doc_free(d);
    free(lt);
}

/* A history of deliveries about a few objects, applied in a random order
 * with duplicates, renders as the ordered history does. */
static void test_shuffle(void) {
    enum { N = 60 };
    char *bodies[N];
    size_t n = 0;
    for (int v = 0; v < 12; v++) {
        char title[64];
        snprintf(title, sizeof title, "Shuffle title v%d", v);
        bodies[n++] = issue(v ? "update" : "create", "iss-sh", title, "shuffled", "Todo",
                            NOW - 50000 + v * 1000);
    }
    for (int c = 0; c < 8; c++) {
        char id[16], text[64];
        snprintf(id, sizeof id, "sh-c%d", c);
        snprintf(text, sizeof text, "comment number %d first", c);
        bodies[n++] = comment("create", id, "iss-sh", text, NOW - 40000 + c, NOW - 40000 + c);
        snprintf(text, sizeof text, "comment number %d edited", c);
        bodies[n++] = comment("update", id, "iss-sh", text, NOW - 40000 + c, NOW - 30000 + c);
        if (c % 3 == 0)
            bodies[n++] = comment("remove", id, "iss-sh", text, NOW - 40000 + c, NOW - 20000 + c);
    }
    bodies[n++] = project("create", "proj-sh", "Shuffle project", "p1", NOW - 9000);
    bodies[n++] = project("remove", "proj-sh", "Shuffle project", "p1", NOW - 8000);
    /* Apply twice over, shuffled. */
    size_t order[2 * N];
    for (size_t i = 0; i < 2 * n; i++)
        order[i] = i % n;
    for (size_t i = 2 * n - 1; i > 0; i--) {
        size_t j = (size_t)(test_rand() % (i + 1)), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    for (size_t i = 0; i < 2 * n; i++)
        CHECK_INT(deliver(strdup(bodies[order[i]])), LORE_OK);
    store_doc *d = doc("issue/iss-sh");
    CHECK_STR(d ? d->title : "", "ENG-123: Shuffle title v11");
    for (int c = 0; c < 8; c++) {
        char text[64];
        snprintf(text, sizeof text, "comment number %d edited", c);
        CHECK(c % 3 == 0 ? !has(d, text) : has(d, text));
        snprintf(text, sizeof text, "comment number %d first", c);
        CHECK(!has(d, text));
    }
    store_doc_free(d);
    CHECK(doc("project/proj-sh") == NULL);
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
}

int main(void) {
    test_seed();
    const char *dir = test_tmpdir();
    store *s = NULL;
    char err[512];
    tenant_ctx *tc = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    ingest_set_source_acl(ing, "linear", NULL, 0);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);
    connector_instance inst = {
        .id = "con_0123456789abcdef0123", .tenant = "t", .kind = "linear", .source = "linear"};
    CHECK_INT(connector_sink_new(ing, &inst, &sink), LORE_OK);
    CHECK(connector_find("linear") == &connector_linear);

    test_verify();
    test_inspect();
    test_issue();
    test_comment_first();
    test_project_document();
    test_bad_payloads();
    test_shuffle();

    connector_sink_free(sink);
    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
