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

int main(void) {
    test_verify();
    test_inspect();
    return test_summary();
}
