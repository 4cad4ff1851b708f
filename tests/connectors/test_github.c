/* The GitHub connector: signatures (GitHub's own test vector, bad, another
 * body, absent and malformed headers), what inspect makes of deliveries
 * (ping, form-encoded bodies, events read and ignored, FIFO groups), and
 * the documents apply and render make in a real store: each event kind,
 * edits replace, deletes and transfers remove, redelivery is a no-op,
 * out-of-order deliveries do not win, repository deletion and
 * privatization. Payloads: github_fixtures.h. */
#include <ctype.h>
#include <strings.h>

#include "connectors/github.h"
#include "connectors/github_fixtures.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "test.h"

/* ---- requests ---- */

typedef struct hdrs {
    const char *names[8];
    const char *values[8];
    int n;
} hdrs;

static const char *hdr_get(void *ctx, const char *name) {
    hdrs *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (!strcasecmp(h->names[i], name)) return h->values[i];
    return NULL;
}

static void hdr_set(hdrs *h, const char *name, const char *value) {
    h->names[h->n] = name;
    h->values[h->n++] = value;
}

static connector_request request(hdrs *h, const char *body) {
    connector_request r = {hdr_get, h, (const uint8_t *)body, strlen(body), 1800000000000LL};
    return r;
}

#define SECRET "It's a Secret to Everybody"

static connector_verdict verify_with(const char *sig_header, const char *body) {
    hdrs h = {0};
    if (sig_header) hdr_set(&h, "X-Hub-Signature-256", sig_header);
    connector_request r = request(&h, body);
    return connector_github.verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
}

static void test_verify(void) {
    /* GitHub's documented test vector. */
    const char *doc_sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    CHECK_INT(verify_with(doc_sig, "Hello, World!"), CONNECTOR_OK);
    char sig[72];
    gh_sign(SECRET, "Hello, World!", 13, sig);
    CHECK_STR(sig, doc_sig);
    /* Another body, another secret, a flipped digit. */
    CHECK_INT(verify_with(doc_sig, "Hello, World?"), CONNECTOR_BAD_SIGNATURE);
    gh_sign("another secret", "Hello, World!", 13, sig);
    CHECK_INT(verify_with(sig, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    char flipped[80];
    snprintf(flipped, sizeof flipped, "%s", doc_sig);
    flipped[strlen(flipped) - 1] = '8';
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    /* Absent and malformed headers. */
    CHECK_INT(verify_with(NULL, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with("", "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with("sha256=", "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with(doc_sig + 7, "Hello, World!"), CONNECTOR_BAD_SIGNATURE); /* no prefix */
    snprintf(flipped, sizeof flipped, "sha1=%s", doc_sig + 7);
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    snprintf(flipped, sizeof flipped, "%.*s", 70, doc_sig); /* short */
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    snprintf(flipped, sizeof flipped, "%s0", doc_sig); /* long */
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    snprintf(flipped, sizeof flipped, "%s", doc_sig);
    flipped[10] = 'g'; /* not hex */
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_BAD_SIGNATURE);
    /* Upper-case hex is the same bytes. */
    snprintf(flipped, sizeof flipped, "%s", doc_sig);
    for (char *p = flipped + 7; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    CHECK_INT(verify_with(flipped, "Hello, World!"), CONNECTOR_OK);
    /* An empty body and an empty secret still verify by the scheme. */
    gh_sign(SECRET, "", 0, sig);
    CHECK_INT(verify_with(sig, ""), CONNECTOR_OK);
}

static connector_verdict inspect_body(const char *event, const char *delivery, const char *body,
                                      connector_delivery *d) {
    hdrs h = {0};
    if (event) hdr_set(&h, "X-GitHub-Event", event);
    if (delivery) hdr_set(&h, "X-GitHub-Delivery", delivery);
    hdr_set(&h, "Content-Type", "application/json");
    connector_request r = request(&h, body);
    return connector_github.inspect(&r, d);
}

static connector_verdict inspect_json(const char *event, json_t *payload, connector_delivery *d) {
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    connector_verdict v = inspect_body(event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", body, d);
    free(body);
    return v;
}

static void test_inspect(void) {
    connector_delivery d;
    const char *repo = "Codertocat/Hello-World";
    /* ping: answered, no job. */
    CHECK_INT(inspect_body("ping", "d1", "{\"zen\":\"Design for failure.\",\"hook_id\":30}", &d),
              CONNECTOR_ANSWER);
    CHECK_STR(d.answer, "{\"ok\":true}");
    CHECK_STR(d.answer_type, "application/json");
    free(d.answer);
    /* A form-encoded body says how to fix the webhook. */
    CHECK_INT(inspect_body("issues", "d2", "payload=%7B%22action%22%3A%22opened%22%7D", &d),
              CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "set the webhook's content type to application/json") != NULL);
    CHECK_INT(inspect_body("ping", "d2", "payload=%7B%7D", &d), CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "application/json") != NULL);
    /* Not JSON, not an object, too deep. */
    CHECK_INT(inspect_body("issues", "d3", "{\"action\":", &d), CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "not a JSON object") != NULL);
    CHECK_INT(inspect_body("issues", "d3", "[1,2]", &d), CONNECTOR_MALFORMED);
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 199);
    deep[399] = 0;
    CHECK_INT(inspect_body("issues", "d3", deep, &d), CONNECTOR_MALFORMED);
    /* Headers missing or absurd. */
    CHECK_INT(inspect_body(NULL, "d4", "{}", &d), CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "X-GitHub-Event") != NULL);
    CHECK_INT(inspect_body("issues", NULL, "{}", &d), CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "X-GitHub-Delivery") != NULL);
    CHECK_INT(inspect_body("issues", "a b", "{}", &d), CONNECTOR_MALFORMED);
    char longid[200];
    memset(longid, 'a', 199);
    longid[199] = 0;
    CHECK_INT(inspect_body("issues", longid, "{}", &d), CONNECTOR_MALFORMED);
    /* Events lore does not read. */
    CHECK_INT(inspect_body("push", "d5", "{\"ref\":\"refs/heads/main\"}", &d), CONNECTOR_IGNORE);
    CHECK_INT(inspect_body("star", "d5", "{}", &d), CONNECTOR_IGNORE);
    CHECK_INT(inspect_json("repository", gh_repository_event("archived", gh_repo(repo, 1, 0)), &d),
              CONNECTOR_IGNORE);
    /* An issue event without its issue, or without a repository. */
    CHECK_INT(inspect_body("issues", "d6",
                           "{\"action\":\"opened\",\"repository\":{\"full_name\":\"a/b\"}}", &d),
              CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "issue.number") != NULL);
    CHECK_INT(inspect_body("issues", "d6", "{\"action\":\"opened\",\"issue\":{\"number\":1}}", &d),
              CONNECTOR_MALFORMED);
    CHECK_INT(inspect_body("issues", "d6",
                           "{\"issue\":{\"number\":1},\"repository\":{\"full_name\":\"a/b#1\"}}",
                           &d),
              CONNECTOR_MALFORMED);

    CHECK_INT(inspect_body("issue_comment", "d6",
                           "{\"action\":\"created\",\"issue\":{\"number\":1},"
                           "\"comment\":{\"body\":\"x\"},\"repository\":{\"full_name\":\"a/b\"}}",
                           &d),
              CONNECTOR_MALFORMED);
    CHECK(strstr(d.why, "comment.id") != NULL);

    /* Each event read: its dedup key and its groups (object, repository). */
    const char *t0 = "2019-05-15T15:20:18Z";
    CHECK_INT(inspect_json("issues",
                           gh_issues_event(
                               "opened",
                               gh_issue(repo, 1, "Spelling error", "body", "open", "bug", t0, t0),
                               gh_repo(repo, 186853002, 0)),
                           &d),
              CONNECTOR_QUEUE);
    CHECK_STR(d.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    CHECK_STR(d.event, "issues");
    CHECK_INT(d.ngroups, 2);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World#1");
    CHECK_STR(d.groups[1], "Codertocat/Hello-World");
    CHECK_INT(inspect_json("issue_comment",
                           gh_issue_comment_event(
                               "created", gh_issue(repo, 1, "t", "b", "open", NULL, t0, t0),
                               gh_comment(492700400, "Codertocat", "You are totally right!", t0, t0,
                                          "https://github.com/x"),
                               gh_repo(repo, 186853002, 0)),
                           &d),
              CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World#1");
    CHECK_INT(
        inspect_json("pull_request",
                     gh_pull_event("opened",
                                   gh_pull(repo, 2, "Update the README", "b", "open", 0, t0, t0),
                                   gh_repo(repo, 186853002, 0)),
                     &d),
        CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World#2");
    CHECK_INT(inspect_json(
                  "pull_request_review_comment",
                  gh_review_comment_event("created", gh_pull(repo, 2, "t", "b", "open", 0, t0, t0),
                                          284312630, "README.md", "Maybe you should use more emoji",
                                          t0, t0, gh_repo(repo, 186853002, 0)),
                  &d),
              CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World#2");
    CHECK_INT(
        inspect_json("discussion",
                     gh_discussion_event("created", gh_discussion(repo, 90, "Welcome", "b", t0, t0),
                                         NULL, gh_repo(repo, 186853002, 0)),
                     &d),
        CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World/discussions/90");
    CHECK_STR(d.groups[1], "Codertocat/Hello-World");
    CHECK_INT(inspect_json("release",
                           gh_release_event("published",
                                            gh_release(repo, 17372790, "0.0.1", "v0.0.1", "b", 0),
                                            gh_repo(repo, 186853002, 0)),
                           &d),
              CONNECTOR_QUEUE);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World/releases/17372790");
    CHECK_INT(inspect_json("repository",
                           gh_repository_event("privatized", gh_repo(repo, 186853002, 1)), &d),
              CONNECTOR_QUEUE);
    CHECK_INT(d.ngroups, 1);
    CHECK_STR(d.groups[0], "Codertocat/Hello-World");
    /* A repository name too long for a group still has one (a digest). */
    char big[200];
    snprintf(big, sizeof big, "%.39s/%.100s", "abcdefghijklmnopqrstuvwxyzabcdefghijklmn",
             "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
             "rrrrrrrrrrrrrrr");
    CHECK_INT(
        inspect_json("discussion",
                     gh_discussion_event("created", gh_discussion(big, 7, "Welcome", "b", t0, t0),
                                         NULL, gh_repo(big, 5, 0)),
                     &d),
        CONNECTOR_QUEUE);
    CHECK(!strncmp(d.groups[0], "github:", 7));
    CHECK(!strncmp(d.groups[1], "github:", 7));
    CHECK(strcmp(d.groups[0], d.groups[1]));
}

/* ---- documents in a real store ---- */

static store *st;
static store_tenant *ten;
static tenant_ctx *tc;
static ingest_session *ing;
static search_engine *se;
static connector_instance inst;
static const char *inst_acl[] = {"group:eng"};
static int delivery_seq;

static void open_store(const char *dir) {
    char err[256];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &st, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(st, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(st, "t", &ten), LORE_OK);
    CHECK_INT(tenant_ctx_attach(ten, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    ingest_set_source_acl(ing, "github", NULL, 0);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);
    snprintf(inst.id, sizeof inst.id, "con_0123456789abcdef0123");
    snprintf(inst.tenant, sizeof inst.tenant, "t");
    snprintf(inst.kind, sizeof inst.kind, "github");
    snprintf(inst.source, sizeof inst.source, "github");
    inst.acl = inst_acl;
    inst.nacl = 1;
}

static void close_store(void) {
    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(ten);
    store_close(st);
}

/* Delivers a payload as the gate and the runner would: signed, verified,
 * inspected, applied from the stored body, flushed and committed. Returns
 * apply's status; *error (if asked) gets apply's message. */
static lore_status deliver_err(const char *event, json_t *payload, char **error) {
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    char sig[72], did[64];
    gh_sign(SECRET, body, strlen(body), sig);
    snprintf(did, sizeof did, "d-%d", ++delivery_seq);
    hdrs h = {0};
    hdr_set(&h, "X-GitHub-Event", event);
    hdr_set(&h, "X-GitHub-Delivery", did);
    hdr_set(&h, "X-Hub-Signature-256", sig);
    connector_request r = request(&h, body);
    CHECK_INT(connector_github.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)), CONNECTOR_OK);
    connector_delivery d;
    connector_verdict v = connector_github.inspect(&r, &d);
    CHECK_INT(v, CONNECTOR_QUEUE);
    json_t *stored = json_loads(body, 0, NULL);
    free(body);
    connector_sink *sink = NULL;
    CHECK_INT(connector_sink_new(ing, &inst, &sink), LORE_OK);
    char *err = NULL;
    lore_status rs = connector_github.apply(sink, event, stored, &err);
    json_decref(stored);
    if (rs == LORE_OK) CHECK_INT(connector_sink_flush(sink, &connector_github), LORE_OK);
    connector_sink_free(sink);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    if (error)
        *error = err;
    else
        free(err);
    return rs;
}

static void deliver(const char *event, json_t *payload) {
    CHECK_INT(deliver_err(event, payload, NULL), LORE_OK);
}

/* The document of an object key, NULL when absent (caller frees). */
static store_doc *doc(const char *key) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("github", key, id);
    store_doc *d = NULL;
    lore_status rs = store_doc_get(ten, id, 1, &d);
    return rs == LORE_OK ? d : NULL;
}

/* 1 when the object has no document. */
static int gone(const char *key) {
    store_doc *d = doc(key);
    store_doc_free(d);
    return d == NULL;
}

static int has(const store_doc *d, const char *needle) {
    return d && d->text && strstr(d->text, needle) != NULL;
}

static size_t hits(const char *q) {
    search_request req = {.query = q, .all_access = 1, .limit = 20};
    search_response r;
    char err[256];
    if (search_run(se, &req, &r, err, sizeof err) != LORE_OK) return 999;
    size_t n = r.n;
    search_response_free(&r);
    return n;
}

#define REPO "Codertocat/Hello-World"
#define RID 186853002

static void test_issue(void) {
    const char *k = REPO "#1";
    deliver("issues",
            gh_issues_event("opened",
                            gh_issue(REPO, 1, "Spelling error in the README file",
                                     "It looks like you accidently spelled commmit.", "open", "bug",
                                     "2019-05-15T15:20:18Z", "2019-05-15T15:20:18Z"),
                            gh_repo(REPO, RID, 0)));
    store_doc *d = doc(k);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_STR(d->title, "Spelling error in the README file");
    CHECK_STR(d->url, "https://github.com/Codertocat/Hello-World/issues/1");
    CHECK_STR(d->author, "Codertocat");
    CHECK_STR(d->external_id, k);
    CHECK_INT(d->created_ms, 1557933618000LL);
    CHECK(has(d, "accidently spelled commmit"));
    CHECK(has(d, "Labels: bug"));
    CHECK(has(d, "Issue Codertocat/Hello-World#1, open"));
    CHECK_INT(d->nacl, 1);
    if (d->nacl) CHECK_STR(d->acl[0], "group:eng");
    json_t *m = json_loads(d->metadata_json, 0, NULL);
    json_t *g = json_object_get(m, "github");
    CHECK_STR(json_string_value(json_object_get(g, "repository")), REPO);
    CHECK_INT(json_integer_value(json_object_get(g, "number")), 1);
    CHECK_STR(json_string_value(json_object_get(g, "kind")), "issue");
    CHECK_INT(json_integer_value(json_object_get(g, "id")), 444500042);
    CHECK_STR(json_string_value(json_object_get(g, "state")), "open");
    CHECK_STR(json_string_value(json_array_get(json_object_get(g, "labels"), 0)), "bug");
    json_decref(m);
    store_doc_free(d);
    CHECK_INT(hits("commmit"), 1);

    /* Edited: the title and body are replaced. */
    deliver("issues",
            gh_issues_event("edited",
                            gh_issue(REPO, 1, "Spelling error, fixed title",
                                     "It looks like you misspelled it.", "open", "bug,docs",
                                     "2019-05-15T15:20:18Z", "2019-05-15T16:00:00Z"),
                            gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK_STR(d ? d->title : NULL, "Spelling error, fixed title");
    CHECK(!has(d, "commmit") && has(d, "misspelled") && has(d, "Labels: bug, docs"));
    CHECK_INT(d ? d->updated_ms : 0, 1557936000000LL);
    char hash[65];
    snprintf(hash, sizeof hash, "%s", d ? d->content_hash : "");
    store_doc_free(d);
    CHECK_INT(hits("commmit"), 0);

    /* An older edit arriving late does not win; a redelivery changes nothing. */
    deliver("issues", gh_issues_event("edited",
                                      gh_issue(REPO, 1, "Stale title", "stale body", "open", "",
                                               "2019-05-15T15:20:18Z", "2019-05-15T15:30:00Z"),
                                      gh_repo(REPO, RID, 0)));
    deliver("issues",
            gh_issues_event("edited",
                            gh_issue(REPO, 1, "Spelling error, fixed title",
                                     "It looks like you misspelled it.", "open", "bug,docs",
                                     "2019-05-15T15:20:18Z", "2019-05-15T16:00:00Z"),
                            gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK_STR(d ? d->title : NULL, "Spelling error, fixed title");
    CHECK_STR(d ? d->content_hash : NULL, hash);
    store_doc_free(d);

    /* Comments in order; an edit replaces; a delete removes; late edits of
     * a deleted or newer comment do not win. */
    const char *t1 = "2019-05-15T16:10:00Z", *t2 = "2019-05-15T16:20:00Z";
    json_t *iss =
        gh_issue(REPO, 1, "Spelling error, fixed title", "It looks like you misspelled it.", "open",
                 "bug,docs", "2019-05-15T15:20:18Z", t2);
    deliver("issue_comment",
            gh_issue_comment_event("created", json_deep_copy(iss),
                                   gh_comment(702, "hubot", "Second comment zebrafish", t2, t2,
                                              "https://github.com/x#c702"),
                                   gh_repo(REPO, RID, 0)));
    deliver("issue_comment",
            gh_issue_comment_event("created", json_deep_copy(iss),
                                   gh_comment(701, "octocat", "First comment aardvark", t1, t1,
                                              "https://github.com/x#c701"),
                                   gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(has(d, "aardvark") && has(d, "zebrafish"));
    CHECK(d && strstr(d->text, "aardvark") < strstr(d->text, "zebrafish"));
    CHECK(has(d, "\n@octocat on 2019-05-15\n"));
    store_doc_free(d);
    deliver("issue_comment",
            gh_issue_comment_event("edited", json_deep_copy(iss),
                                   gh_comment(701, "octocat", "First comment armadillo", t1,
                                              "2019-05-15T17:00:00Z", "https://github.com/x#c701"),
                                   gh_repo(REPO, RID, 0)));
    deliver("issue_comment", /* older edit, late */
            gh_issue_comment_event("edited", json_deep_copy(iss),
                                   gh_comment(701, "octocat", "First comment anteater", t1,
                                              "2019-05-15T16:30:00Z", "https://github.com/x#c701"),
                                   gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(has(d, "armadillo") && !has(d, "aardvark") && !has(d, "anteater"));
    store_doc_free(d);
    deliver("issue_comment",
            gh_issue_comment_event("deleted", json_deep_copy(iss),
                                   gh_comment(702, "hubot", "Second comment zebrafish", t2, t2,
                                              "https://github.com/x#c702"),
                                   gh_repo(REPO, RID, 0)));
    deliver("issue_comment", /* the creation, redelivered after the delete */
            gh_issue_comment_event("created", json_deep_copy(iss),
                                   gh_comment(702, "hubot", "Second comment zebrafish", t2, t2,
                                              "https://github.com/x#c702"),
                                   gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(!has(d, "zebrafish") && has(d, "armadillo"));
    store_doc_free(d);
    CHECK_INT(hits("zebrafish"), 0);
    json_decref(iss);

    /* Closed, then deleted: gone, and a late edit does not bring it back. */
    deliver("issues",
            gh_issues_event("closed",
                            gh_issue(REPO, 1, "Spelling error, fixed title", "x", "closed", "",
                                     "2019-05-15T15:20:18Z", "2019-05-15T18:00:00Z"),
                            gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(has(d, "Issue Codertocat/Hello-World#1, closed"));
    store_doc_free(d);
    deliver("issues", gh_issues_event("deleted",
                                      gh_issue(REPO, 1, "t", "x", "closed", "",
                                               "2019-05-15T15:20:18Z", "2019-05-15T18:00:00Z"),
                                      gh_repo(REPO, RID, 0)));
    CHECK(gone(k));
    deliver("issues", gh_issues_event("edited",
                                      gh_issue(REPO, 1, "t", "x", "open", "",
                                               "2019-05-15T15:20:18Z", "2019-05-15T19:00:00Z"),
                                      gh_repo(REPO, RID, 0)));
    CHECK(gone(k));

    /* Transferred away: removed here. */
    deliver("issues", gh_issues_event("opened",
                                      gh_issue(REPO, 3, "Moving", "to elsewhere", "open", "",
                                               "2019-05-15T15:20:18Z", "2019-05-15T15:20:18Z"),
                                      gh_repo(REPO, RID, 0)));
    CHECK(!gone(REPO "#3"));
    deliver("issues", gh_issues_event("transferred",
                                      gh_issue(REPO, 3, "Moving", "to elsewhere", "open", "",
                                               "2019-05-15T15:20:18Z", "2019-05-15T15:25:00Z"),
                                      gh_repo(REPO, RID, 0)));
    CHECK(gone(REPO "#3"));
}

static void test_pull_request(void) {
    const char *k = REPO "#2", *t0 = "2019-05-15T15:20:33Z";
    deliver("pull_request",
            gh_pull_event("opened",
                          gh_pull(REPO, 2, "Update the README with new information",
                                  "This is a pretty simple change.", "open", 0, t0, t0),
                          gh_repo(REPO, RID, 0)));
    deliver("pull_request_review_comment",
            gh_review_comment_event(
                "created",
                gh_pull(REPO, 2, "Update the README with new information",
                        "This is a pretty simple change.", "open", 0, t0, "2019-05-15T15:21:00Z"),
                284312630, "README.md", "Maybe you should use more emoji", "2019-05-15T15:21:00Z",
                "2019-05-15T15:21:00Z", gh_repo(REPO, RID, 0)));
    store_doc *d = doc(k);
    CHECK(has(d, "Pull request Codertocat/Hello-World#2, open"));
    CHECK(has(d, "(on README.md)") && has(d, "more emoji"));
    store_doc_free(d);
    deliver("pull_request", gh_pull_event("closed",
                                          gh_pull(REPO, 2, "Update the README with new information",
                                                  "This is a pretty simple change.", "closed", 1,
                                                  t0, "2019-05-15T15:30:00Z"),
                                          gh_repo(REPO, RID, 0)));
    /* An issue_comment on the pull request: its issue view says "closed". */
    json_t *iss =
        gh_issue(REPO, 2, "Update the README with new information",
                 "This is a pretty simple change.", "closed", NULL, t0, "2019-05-15T15:40:00Z");
    json_object_set_new(iss, "pull_request",
                        json_pack("{s:s}", "html_url", "https://github.com/" REPO "/pull/2"));
    deliver("issue_comment",
            gh_issue_comment_event("created", iss,
                                   gh_comment(900, "octocat", "Thanks for merging",
                                              "2019-05-15T15:40:00Z", "2019-05-15T15:40:00Z",
                                              "https://github.com/x#c900"),
                                   gh_repo(REPO, RID, 0)));
    /* A review comment edited, then deleted. */
    deliver("pull_request_review_comment",
            gh_review_comment_event(
                "created",
                gh_pull(REPO, 2, "Update the README with new information",
                        "This is a pretty simple change.", "closed", 1, t0, "2019-05-15T15:31:00Z"),
                284312631, "src/x.c", "A nit about tabs", "2019-05-15T15:31:00Z",
                "2019-05-15T15:31:00Z", gh_repo(REPO, RID, 0)));
    deliver("pull_request_review_comment",
            gh_review_comment_event(
                "edited",
                gh_pull(REPO, 2, "Update the README with new information",
                        "This is a pretty simple change.", "closed", 1, t0, "2019-05-15T15:32:00Z"),
                284312631, "src/x.c", "A nit about spaces", "2019-05-15T15:31:00Z",
                "2019-05-15T15:32:00Z", gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(has(d, "(on src/x.c)") && has(d, "nit about spaces") && !has(d, "nit about tabs"));
    store_doc_free(d);
    deliver("pull_request_review_comment",
            gh_review_comment_event(
                "deleted",
                gh_pull(REPO, 2, "Update the README with new information",
                        "This is a pretty simple change.", "closed", 1, t0, "2019-05-15T15:33:00Z"),
                284312631, "src/x.c", "A nit about spaces", "2019-05-15T15:31:00Z",
                "2019-05-15T15:32:00Z", gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(!has(d, "nit about") && has(d, "more emoji"));
    store_doc_free(d);
    d = doc(k);
    CHECK(has(d, "Pull request Codertocat/Hello-World#2, merged"));
    CHECK(has(d, "Thanks for merging") && has(d, "more emoji"));
    CHECK(d && strstr(d->metadata_json, "\"kind\":\"pull_request\""));
    store_doc_free(d);
}

static void test_discussion_release(void) {
    const char *k = REPO "/discussions/90", *t0 = "2021-03-22T22:59:17Z";
    deliver("discussion", gh_discussion_event("created",
                                              gh_discussion(REPO, 90, "Welcome to discussions!",
                                                            "We are glad you are here", t0, t0),
                                              NULL, gh_repo(REPO, RID, 0)));
    json_t *c = gh_comment(1000, "octocat", "I have a question about capybaras", t0, t0,
                           "https://github.com/" REPO "/discussions/90#discussioncomment-1000");
    json_object_set_new(c, "parent_id", json_null());
    deliver("discussion_comment",
            gh_discussion_event("created",
                                gh_discussion(REPO, 90, "Welcome to discussions!",
                                              "We are glad you are here", t0, t0),
                                c, gh_repo(REPO, RID, 0)));
    store_doc *d = doc(k);
    CHECK_STR(d ? d->title : NULL, "Welcome to discussions!");
    CHECK(has(d, "capybaras") && has(d, "Category: General"));
    CHECK(d && strstr(d->metadata_json, "\"kind\":\"discussion\""));
    store_doc_free(d);
    c = gh_comment(1000, "octocat", "I have a question about tapirs", t0, "2021-03-23T10:00:00Z",
                   "https://github.com/" REPO "/discussions/90#discussioncomment-1000");
    deliver("discussion_comment",
            gh_discussion_event("edited",
                                gh_discussion(REPO, 90, "Welcome to discussions!",
                                              "We are glad you are here", t0, t0),
                                c, gh_repo(REPO, RID, 0)));
    d = doc(k);
    CHECK(has(d, "tapirs") && !has(d, "capybaras"));
    store_doc_free(d);
    deliver("discussion", gh_discussion_event("deleted",
                                              gh_discussion(REPO, 90, "Welcome to discussions!",
                                                            "We are glad you are here", t0, t0),
                                              NULL, gh_repo(REPO, RID, 0)));
    CHECK(gone(k));

    const char *rk = REPO "/releases/17372790";
    deliver("release", gh_release_event("published",
                                        gh_release(REPO, 17372790, "0.0.1", "First release",
                                                   "Notes about the quokka", 0),
                                        gh_repo(REPO, RID, 0)));
    d = doc(rk);
    CHECK_STR(d ? d->title : NULL, "First release");
    CHECK(has(d, "Release 0.0.1 of Codertocat/Hello-World") && has(d, "quokka"));
    CHECK(d && strstr(d->metadata_json, "\"tag\":\"0.0.1\""));
    store_doc_free(d);
    deliver("release", gh_release_event("edited",
                                        gh_release(REPO, 17372790, "0.0.1", "First release",
                                                   "Notes about the wombat", 0),
                                        gh_repo(REPO, RID, 0)));
    d = doc(rk);
    CHECK(has(d, "wombat") && !has(d, "quokka"));
    store_doc_free(d);
    /* Unpublished: a draft again, which only maintainers see: no document. */
    deliver("release", gh_release_event("unpublished",
                                        gh_release(REPO, 17372790, "0.0.1", "First release",
                                                   "Notes about the wombat", 1),
                                        gh_repo(REPO, RID, 0)));
    CHECK(gone(rk));
    deliver("release", gh_release_event("published",
                                        gh_release(REPO, 17372790, "0.0.1", "First release",
                                                   "Notes about the wombat", 0),
                                        gh_repo(REPO, RID, 0)));
    CHECK(!gone(rk));
    deliver("release", gh_release_event("deleted",
                                        gh_release(REPO, 17372790, "0.0.1", "First release",
                                                   "Notes about the wombat", 0),
                                        gh_repo(REPO, RID, 0)));
    CHECK(gone(rk));
}

static void test_repository(void) {
    const char *other = "Codertocat/Hello-World2", *t0 = "2019-05-15T15:20:18Z";
    deliver("issues",
            gh_issues_event("opened", gh_issue(REPO, 10, "Ten", "ten", "open", "", t0, t0),
                            gh_repo(REPO, RID, 0)));
    deliver("issues",
            gh_issues_event("opened", gh_issue(other, 10, "Other ten", "other", "open", "", t0, t0),
                            gh_repo(other, 99, 0)));
    /* Privatized: every document of the repository carries its group. */
    deliver("repository", gh_repository_event("privatized", gh_repo(REPO, RID, 1)));
    store_doc *d = doc(REPO "#10"), *d2 = doc(REPO "#2"), *o = doc("Codertocat/Hello-World2#10");
    CHECK(d && d->nacl == 1 && !strcmp(d->acl[0], "group:github:Codertocat/Hello-World"));
    CHECK(d2 && d2->nacl == 1 && !strcmp(d2->acl[0], "group:github:Codertocat/Hello-World"));
    CHECK(o && o->nacl == 1 && !strcmp(o->acl[0], "group:eng"));
    store_doc_free(d), store_doc_free(d2), store_doc_free(o);
    /* New objects of a private repository too, even from a stale snapshot. */
    deliver("issues",
            gh_issues_event("opened", gh_issue(REPO, 11, "Eleven", "eleven", "open", "", t0, t0),
                            gh_repo(REPO, RID, 0)));
    d = doc(REPO "#11");
    CHECK(d && d->nacl == 1 && !strcmp(d->acl[0], "group:github:Codertocat/Hello-World"));
    store_doc_free(d);
    /* Publicized: back to the instance's ACL. */
    deliver("repository", gh_repository_event("publicized", gh_repo(REPO, RID, 0)));
    d = doc(REPO "#10");
    CHECK(d && d->nacl == 1 && !strcmp(d->acl[0], "group:eng"));
    store_doc_free(d);
    /* Deleted: every document of it goes, the other repository's stay; late
     * deliveries about it do nothing; a new repository of that name is new. */
    deliver("repository", gh_repository_event("deleted", gh_repo(REPO, RID, 0)));
    CHECK(gone(REPO "#10") && gone(REPO "#11") && gone(REPO "#2"));
    o = doc("Codertocat/Hello-World2#10");
    CHECK(o != NULL);
    store_doc_free(o);
    deliver("issues", gh_issues_event("edited",
                                      gh_issue(REPO, 10, "Ten late", "ten", "open", "", t0,
                                               "2019-05-16T00:00:00Z"),
                                      gh_repo(REPO, RID, 0)));
    CHECK(gone(REPO "#10"));
    deliver("issues",
            gh_issues_event("opened",
                            gh_issue(REPO, 1, "Fresh start", "new repo", "open", "", t0, t0),
                            gh_repo(REPO, RID + 1, 0)));
    d = doc(REPO "#1");
    CHECK_STR(d ? d->title : NULL, "Fresh start");
    store_doc_free(d);
}

static void test_bad_payloads(void) {
    char *err = NULL;
    connector_sink *sink = NULL;
    CHECK_INT(connector_sink_new(ing, &inst, &sink), LORE_OK);
    /* Payloads inspect refuses, reaching apply anyway (a job queued by an
     * older build): refused with why, so the job is dead-lettered. */
    json_t *e = gh_issue_comment_event(
        "created",
        gh_issue(REPO, 50, "t", "b", "open", NULL, "2019-05-15T15:20:18Z", "2019-05-15T15:20:18Z"),
        json_string("not a comment"), gh_repo(REPO, 7, 0));
    CHECK_INT(connector_github.apply(sink, "issue_comment", e, &err), LORE_INVALID);
    CHECK(err && strstr(err, "comment"));
    free(err);
    json_decref(e);
    json_t *p = json_pack("{s:s}", "action", "opened");
    err = NULL;
    CHECK_INT(connector_github.apply(sink, "issues", p, &err), LORE_INVALID);
    CHECK(err && strstr(err, "repository.full_name"));
    free(err);
    err = NULL;
    CHECK_INT(connector_github.apply(sink, "push", p, &err), LORE_OK); /* ignored */
    CHECK(err == NULL);
    json_decref(p);
    connector_sink_free(sink);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

int main(void) {
    test_verify();
    test_inspect();
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    open_store(dir);
    test_issue();
    test_pull_request();
    test_discussion_release();
    test_repository();
    test_bad_payloads();
    close_store();
    test_rmtree(dir);
    return test_summary();
}
