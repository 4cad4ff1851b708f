/* GitHub webhook payloads for the tests, shaped like the examples in
 * GitHub's "Webhook events and payloads" documentation (the Codertocat /
 * Hello-World examples): the same members at the same places, trimmed of
 * the URL members lore does not read. Each returns an owned JSON value. */
#ifndef LORE_TESTS_GITHUB_FIXTURES_H
#define LORE_TESTS_GITHUB_FIXTURES_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static inline json_t *gh_user(const char *login) {
    return json_pack("{s:s, s:i, s:s, s:s, s:s, s:b}", "login", login, "id", 21031067, "node_id",
                     "MDQ6VXNlcjIxMDMxMDY3", "html_url", "https://github.com/Codertocat", "type",
                     "User", "site_admin", 0);
}

/* repository: "owner/name", with its id and whether it is private. */
static inline json_t *gh_repo(const char *full, long long id, int private_) {
    char owner[64], name[128], url[256];
    const char *slash = strchr(full, '/');
    snprintf(owner, sizeof owner, "%.*s", (int)(slash - full), full);
    snprintf(name, sizeof name, "%s", slash + 1);
    snprintf(url, sizeof url, "https://github.com/%s", full);
    return json_pack("{s:I, s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:b, s:s, s:s, s:s}", "id",
                     (json_int_t)id, "node_id", "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name", name,
                     "full_name", full, "private", private_, "owner", gh_user(owner), "html_url",
                     url, "description", "", "fork", 0, "created_at", "2019-05-15T15:19:25Z",
                     "updated_at", "2019-05-15T15:19:27Z", "default_branch", "master");
}

static inline json_t *gh_labels(const char *csv) {
    json_t *a = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", csv ? csv : "");
    for (char *save = NULL, *l = strtok_r(buf, ",", &save); l; l = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s, s:b}", "id", 1362934389, "node_id",
                                           "MDU6TGFiZWwxMzYyOTM0Mzg5", "name", l, "color", "d73a4a",
                                           "default", 0));
    return a;
}

/* An issue as the `issues` and `issue_comment` payloads carry it. */
static inline json_t *gh_issue(const char *full, int number, const char *title, const char *body,
                               const char *state, const char *labels, const char *created,
                               const char *updated) {
    char url[256];
    snprintf(url, sizeof url, "https://github.com/%s/issues/%d", full, number);
    return json_pack("{s:s, s:I, s:s, s:i, s:s, s:o, s:o, s:s, s:b, s:n, s:o, s:i, s:s, s:s, "
                     "s:n, s:s, s:s}",
                     "html_url", url, "id", (json_int_t)444500041 + number, "node_id",
                     "MDU6SXNzdWU0NDQ1MDAwNDE=", "number", number, "title", title, "user",
                     gh_user("Codertocat"), "labels", gh_labels(labels), "state", state, "locked",
                     0, "assignee", "assignees", json_array(), "comments", 0, "created_at", created,
                     "updated_at", updated, "closed_at", "author_association", "OWNER", "body",
                     body);
}

static inline json_t *gh_issues_event(const char *action, json_t *issue, json_t *repo) {
    return json_pack("{s:s, s:o, s:o, s:o}", "action", action, "issue", issue, "repository", repo,
                     "sender", gh_user("Codertocat"));
}

static inline json_t *gh_comment(long long id, const char *login, const char *body,
                                 const char *created, const char *updated, const char *url) {
    return json_pack("{s:s, s:I, s:s, s:o, s:s, s:s, s:s, s:s}", "html_url", url, "id",
                     (json_int_t)id, "node_id", "MDEyOklzc3VlQ29tbWVudDQ5MjcwMDQwMA==", "user",
                     gh_user(login), "created_at", created, "updated_at", updated,
                     "author_association", "OWNER", "body", body);
}

static inline json_t *gh_issue_comment_event(const char *action, json_t *issue, json_t *comment,
                                             json_t *repo) {
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "action", action, "issue", issue, "comment",
                     comment, "repository", repo, "sender", gh_user("Codertocat"));
}

/* A pull request as `pull_request` payloads carry it. */
static inline json_t *gh_pull(const char *full, int number, const char *title, const char *body,
                              const char *state, int merged, const char *created,
                              const char *updated) {
    char url[256];
    snprintf(url, sizeof url, "https://github.com/%s/pull/%d", full, number);
    json_t *pr = json_pack(
        "{s:s, s:I, s:s, s:i, s:s, s:b, s:s, s:o, s:s, s:s, s:s, s:o, s:b, s:o, s:s}", "html_url",
        url, "id", (json_int_t)279147437 + number, "node_id", "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3",
        "number", number, "state", state, "locked", 0, "title", title, "user",
        gh_user("Codertocat"), "body", body, "created_at", created, "updated_at", updated, "labels",
        gh_labels(NULL), "merged", merged, "merged_at", merged ? json_string(updated) : json_null(),
        "author_association", "OWNER");
    return pr;
}

static inline json_t *gh_pull_event(const char *action, json_t *pr, json_t *repo) {
    int number = (int)json_integer_value(json_object_get(pr, "number"));
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "action", action, "number", number,
                     "pull_request", pr, "repository", repo, "sender", gh_user("Codertocat"));
}

static inline json_t *gh_review_comment_event(const char *action, json_t *pr, long long id,
                                              const char *path, const char *body,
                                              const char *created, const char *updated,
                                              json_t *repo) {
    json_t *c =
        gh_comment(id, "Codertocat", body, created, updated,
                   "https://github.com/Codertocat/Hello-World/pull/2#discussion_r284312630");
    json_object_set_new(c, "path", json_string(path));
    json_object_set_new(c, "diff_hunk", json_string("@@ -1 +1 @@\n-# Hello-World"));
    json_object_set_new(c, "commit_id", json_string("ec26c3e57ca3a959ca5aad62de7213c562f8c821"));
    json_object_set_new(c, "pull_request_review_id", json_integer(237895671));
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "action", action, "comment", c, "pull_request",
                     pr, "repository", repo, "sender", gh_user("Codertocat"));
}

static inline json_t *gh_discussion(const char *full, int number, const char *title,
                                    const char *body, const char *created, const char *updated) {
    char url[256];
    snprintf(url, sizeof url, "https://github.com/%s/discussions/%d", full, number);
    return json_pack("{s:s, s:i, s:s, s:i, s:s, s:o, s:s, s:b, s:i, s:s, s:s, s:s, s:s, s:o}",
                     "html_url", url, "id", 3584 + number, "node_id", "MDEwOkRpc2N1c3Npb24zNTg0",
                     "number", number, "title", title, "user", gh_user("Codertocat"), "state",
                     "open", "locked", 0, "comments", 0, "created_at", created, "updated_at",
                     updated, "author_association", "OWNER", "body", body, "category",
                     json_pack("{s:i, s:s, s:s}", "id", 55, "name", "General", "slug", "general"));
}

static inline json_t *gh_discussion_event(const char *action, json_t *d, json_t *comment,
                                          json_t *repo) {
    json_t *e = json_pack("{s:s, s:o, s:o, s:o}", "action", action, "discussion", d, "repository",
                          repo, "sender", gh_user("Codertocat"));
    if (comment) json_object_set_new(e, "comment", comment);
    return e;
}

static inline json_t *gh_release(const char *full, long long id, const char *tag, const char *name,
                                 const char *body, int draft) {
    char url[256];
    snprintf(url, sizeof url, "https://github.com/%s/releases/tag/%s", full, tag);
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:b, s:s, s:s, s:s}", "html_url",
                     url, "id", (json_int_t)id, "node_id", "MDc6UmVsZWFzZTE3MzcyNzkw", "tag_name",
                     tag, "target_commitish", "master", "name", name, "draft", draft, "author",
                     gh_user("Codertocat"), "prerelease", 0, "created_at", "2019-05-15T15:19:25Z",
                     "published_at", "2019-05-15T15:20:53Z", "body", body);
}

static inline json_t *gh_release_event(const char *action, json_t *rel, json_t *repo) {
    return json_pack("{s:s, s:o, s:o, s:o}", "action", action, "release", rel, "repository", repo,
                     "sender", gh_user("Codertocat"));
}

static inline json_t *gh_repository_event(const char *action, json_t *repo) {
    return json_pack("{s:s, s:o, s:o}", "action", action, "repository", repo, "sender",
                     gh_user("Codertocat"));
}

/* "sha256=" and the hex HMAC-SHA256 of body with secret (72 bytes + NUL). */
static inline void gh_sign(const char *secret, const char *body, size_t len, char out[72]) {
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

#endif
