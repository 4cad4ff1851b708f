/* GitHub end to end: a real `lore serve` with two job workers, a github
 * connector made through POST /v1/connectors, and a burst of signed
 * deliveries through POST /v1/hooks/{id}: issues opened, edited, closed and
 * deleted, comments created, edited and deleted, across two repositories.
 * About a tenth of the deliveries fail their first attempt (a bad signature:
 * refused, nothing queued) and are retried later, after newer deliveries
 * about the same issue were accepted; others are redelivered (same delivery
 * id: answered "duplicate", nothing queued). Once the queue drains, the
 * tenant's GitHub documents are exactly the model's final state: the newest
 * title and body, the live comments at their newest version and nothing
 * older, no deleted issue; halfway one repository is made private, and
 * every document of it ends with the repository's group as its ACL. Seed: LORE_TEST_SEED, printed.
 */
#include <time.h>

#include "api/api_test.h"
#include "connectors/github_fixtures.h"
#include "store/store.h"

#define SECRET "e2e-github-secret-0123456789"
#define NISSUES 16
#define NCOMMENTS 24
#define UNIQUE 170
#define MAX_DELIVERIES 256

typedef struct mcomment {
    long long id;
    int created_t, updated_t, version, deleted;
} mcomment;

typedef struct missue {
    const char *repo;
    int number, opened, deleted, version, closed;
    int created_t, updated_t;
    mcomment c[NCOMMENTS];
    int nc;
} missue;

typedef struct delivery {
    char event[32];
    char id[48];
    char *body;
} delivery;

static missue issues[NISSUES];
static delivery dl[MAX_DELIVERIES];
static int ndl;
static long long next_comment = 5000;

static void iso(int t, char out[32]) {
    time_t s = 1704067200 + (time_t)t * 60; /* 2024-01-01, one minute a step */
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *issue_json(const missue *m) {
    char title[64], body[96], c[32], u[32];
    snprintf(title, sizeof title, "Issue %d version %d", m->number, m->version);
    snprintf(body, sizeof body, "The body marker bod%dx%sx%dq.", m->number,
             m->repo[5] == 'w' ? "w" : "g", m->version);
    iso(m->created_t, c);
    iso(m->updated_t, u);
    return gh_issue(m->repo, m->number, title, body, m->closed ? "closed" : "open", "bug", c, u);
}

static long long repo_id(const char *repo) {
    return repo[5] == 'w' ? 1001 : 1002;
}

static void add(const char *event, json_t *payload) {
    delivery *d = &dl[ndl];
    snprintf(d->event, sizeof d->event, "%s", event);
    snprintf(d->id, sizeof d->id, "%08x-cc78-11e3-81ab-%012d", (unsigned)test_rand(), ndl);
    d->body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    ndl++;
}

static json_t *comment_json(const missue *m, const mcomment *c) {
    char body[96], cr[32], up[32], url[160];
    snprintf(body, sizeof body, "Comment marker cm%lldx%dq here.", c->id, c->version);
    iso(c->created_t, cr);
    iso(c->updated_t, up);
    snprintf(url, sizeof url, "https://github.com/%s/issues/%d#issuecomment-%lld", m->repo,
             m->number, c->id);
    return gh_comment(c->id, "octocat", body, cr, up, url);
}

/* The deliveries, in the order GitHub sends them, and the final model. */
static void generate(void) {
    for (int i = 0; i < NISSUES; i++) {
        issues[i].repo = i % 2 ? "acme/gadgets" : "acme/widgets";
        issues[i].number = i / 2 + 1;
    }
    int t = 0, deletions = 0;
    while (ndl < UNIQUE) {
        missue *m = &issues[test_rand() % NISSUES];
        if (m->deleted) continue;
        t++;
        int r = (int)(test_rand() % 100);
        if (!m->opened) {
            m->opened = 1, m->created_t = m->updated_t = t;
            add("issues",
                gh_issues_event("opened", issue_json(m), gh_repo(m->repo, repo_id(m->repo), 0)));
        } else if (r < 35) {
            m->version++, m->updated_t = t;
            add("issues",
                gh_issues_event("edited", issue_json(m), gh_repo(m->repo, repo_id(m->repo), 0)));
        } else if (r < 40) {
            m->closed = !m->closed, m->updated_t = t;
            add("issues", gh_issues_event(m->closed ? "closed" : "reopened", issue_json(m),
                                          gh_repo(m->repo, repo_id(m->repo), 0)));
        } else if (r < 43 && deletions < 3) {
            deletions++;
            m->deleted = 1, m->updated_t = t;
            add("issues",
                gh_issues_event("deleted", issue_json(m), gh_repo(m->repo, repo_id(m->repo), 0)));
        } else if (r < 75 || !m->nc) {
            if (m->nc == NCOMMENTS) continue;
            mcomment *c = &m->c[m->nc++];
            c->id = next_comment++, c->created_t = c->updated_t = t;
            m->updated_t = t;
            add("issue_comment",
                gh_issue_comment_event("created", issue_json(m), comment_json(m, c),
                                       gh_repo(m->repo, repo_id(m->repo), 0)));
        } else {
            mcomment *c = &m->c[test_rand() % (unsigned)m->nc];
            if (c->deleted) continue;
            int del = r >= 92;
            if (del)
                c->deleted = 1;
            else
                c->version++, c->updated_t = t;
            m->updated_t = t;
            add("issue_comment",
                gh_issue_comment_event(del ? "deleted" : "edited", issue_json(m),
                                       comment_json(m, c), gh_repo(m->repo, repo_id(m->repo), 0)));
        }
    }
}

static test_resp post_hook(const test_server *s, const char *path, const delivery *d,
                           int good_sig) {
    char sig[72], h_sig[128], h_event[64], h_id[96];
    gh_sign(good_sig ? SECRET : "not the secret", d->body, strlen(d->body), sig);
    snprintf(h_sig, sizeof h_sig, "X-Hub-Signature-256: %.71s", sig);
    snprintf(h_event, sizeof h_event, "X-GitHub-Event: %.31s", d->event);
    snprintf(h_id, sizeof h_id, "X-GitHub-Delivery: %.47s", d->id);
    const char *extra[] = {h_sig, h_event, h_id, "User-Agent: GitHub-Hookshot/044aadd", NULL};
    return test_http(s, "POST", path, NULL, "application/json", d->body, strlen(d->body), extra);
}

static const char *status_of(const test_resp *r) {
    const char *st = json_string_value(json_object_get(r->json, "status"));
    return st ? st : "";
}

/* Checks one issue's document against the model. */
static void check_issue(const test_server *s, const missue *m) {
    char ext[64], id[STORE_DOC_ID_LEN + 1], path[64];
    snprintf(ext, sizeof ext, "%s#%d", m->repo, m->number);
    store_doc_public_id("github", ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_get(s, path, s->admin_key);
    if (!m->opened || m->deleted) {
        CHECK_INT(r.status, 404);
        if (r.status != 404) fprintf(stderr, "%s should be gone\n", ext);
        test_resp_free(&r);
        return;
    }
    CHECK_INT(r.status, 200);
    const char *text = json_string_value(json_object_get(r.json, "text"));
    const char *title = json_string_value(json_object_get(r.json, "title"));
    char want[160];
    snprintf(want, sizeof want, "Issue %d version %d", m->number, m->version);
    CHECK_STR(title, want);
    if (!text) {
        test_resp_free(&r);
        return;
    }
    const char *w = m->repo[5] == 'w' ? "w" : "g";
    for (int v = 0; v <= m->version; v++) {
        snprintf(want, sizeof want, "bod%dx%sx%dq", m->number, w, v);
        int found = strstr(text, want) != NULL;
        CHECK_INT(found, v == m->version);
        if (found != (v == m->version)) fprintf(stderr, "%s: body version %d\n", ext, v);
    }
    snprintf(want, sizeof want, "#%d, %s", m->number, m->closed ? "closed" : "open");
    CHECK(strstr(text, want) != NULL);
    const char *prev = text;
    for (int i = 0; i < m->nc; i++) {
        const mcomment *c = &m->c[i];
        for (int v = 0; v <= c->version; v++) {
            snprintf(want, sizeof want, "cm%lldx%dq", c->id, v);
            const char *at = strstr(text, want);
            int expect = !c->deleted && v == c->version;
            CHECK_INT(at != NULL, expect);
            if ((at != NULL) != expect) fprintf(stderr, "%s: comment %s\n", ext, want);
            if (at && expect) { /* comments in the order they were made */
                CHECK(at > prev);
                prev = at;
            }
        }
    }
    /* ACL: the private repository's group alone, the other's none. */
    const json_t *acl = json_object_get(r.json, "acl");
    if (m->repo[5] == 'g') {
        CHECK_INT(json_array_size(acl), 1);
        CHECK_STR(json_string_value(json_array_get(acl, 0)), "group:github:acme/gadgets");
    } else {
        CHECK_INT(json_array_size(acl), 0);
    }
    test_resp_free(&r);
}

int main(void) {
    test_seed();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    generate();
    const char *env[] = {"LORE_WORKERS=2", "LORE_RATE_READ_PER_MIN=0", "LORE_RATE_ADMIN_PER_MIN=0",
                         "LORE_ACCESS_LOG=0", NULL};
    test_server s;
    if (test_server_start(&s, NULL, env)) {
        CHECK(0);
        return test_summary();
    }
    test_resp r = test_post_json(&s, "/v1/connectors", s.admin_key,
                                 "{\"kind\":\"github\",\"secret\":\"" SECRET "\"}");
    CHECK_INT(r.status, 201);
    const char *p = json_string_value(json_object_get(r.json, "path"));
    char path[96];
    snprintf(path, sizeof path, "%s", p ? p : "/v1/hooks/none");
    test_resp_free(&r);

    /* GitHub's ping when the webhook is made. */
    delivery ping = {"ping", "ping-0001", "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}"};
    r = post_hook(&s, path, &ping, 1);
    CHECK_INT(r.status, 200);
    CHECK(json_is_true(json_object_get(r.json, "ok")));
    test_resp_free(&r);

    delivery privatize = {"repository", "privatize-0001", NULL};
    json_t *pj = gh_repository_event("privatized", gh_repo("acme/gadgets", 1002, 1));
    privatize.body = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);

    /* The burst: some first attempts fail and are retried 5 to 40
     * deliveries later; some accepted ones are redelivered. */
    int retry_at[MAX_DELIVERIES], queued = 0, dups = 0, refused = 0, sent = 0;
    int redeliver[MAX_DELIVERIES] = {0};
    for (int i = 0; i < ndl; i++)
        retry_at[i] = -1;
    for (int i = 0; i < ndl + 41; i++) {
        for (int j = 0; j < i && j < ndl; j++) {
            if (retry_at[j] != i) continue;
            r = post_hook(&s, path, &dl[j], 1);
            sent++;
            CHECK_INT(r.status, 200);
            queued += !strcmp(status_of(&r), "queued");
            test_resp_free(&r);
        }
        if (i >= ndl) continue;
        if (i == ndl / 2) { /* halfway: acme/gadgets turns private */
            r = post_hook(&s, path, &privatize, 1);
            sent++;
            CHECK_STR(status_of(&r), "queued");
            test_resp_free(&r);
        }
        int fail_first = test_rand() % 10 == 0;
        r = post_hook(&s, path, &dl[i], !fail_first);
        sent++;
        if (fail_first) {
            CHECK_INT(r.status, 401);
            refused++;
            retry_at[i] = i + 5 + (int)(test_rand() % 36);
        } else {
            CHECK_INT(r.status, 200);
            queued += !strcmp(status_of(&r), "queued");
            if (test_rand() % 6 == 0) redeliver[i] = 1;
        }
        test_resp_free(&r);
        if (i >= 10 && redeliver[i - 10]) {
            r = post_hook(&s, path, &dl[i - 10], 1);
            sent++;
            CHECK_INT(r.status, 200);
            CHECK_STR(status_of(&r), "duplicate");
            dups++;
            test_resp_free(&r);
        }
    }
    /* At least 200 in all: more redeliveries if the dice gave few. */
    for (int i = 0; sent < 200 && i < ndl; i++) {
        r = post_hook(&s, path, &dl[i], 1);
        sent++;
        CHECK_STR(status_of(&r), "duplicate");
        dups++;
        test_resp_free(&r);
    }
    printf("%d deliveries sent: %d queued, %d refused first, %d redelivered\n", sent, queued,
           refused, dups);
    CHECK(sent >= 200);
    CHECK_INT(queued, ndl);
    CHECK(refused > 0 && dups > 0);

    CHECK_INT(test_queue_idle(&s, s.admin_key, 120), 0);
    CHECK_INT(test_jobs_count(&s, s.admin_key, "dead"), 0);
    int live = 0;
    for (int i = 0; i < NISSUES; i++) {
        check_issue(&s, &issues[i]);
        live += issues[i].opened && !issues[i].deleted;
    }
    r = test_get(&s, "/v1/documents?source=github&limit=1000", s.admin_key);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), live);
    test_resp_free(&r);

    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    if (test_failed)
        fprintf(stderr, "kept %s (server.log)\n", s.dir);
    else
        test_rmtree(s.dir);
    for (int i = 0; i < ndl; i++)
        free(dl[i].body);
    free(privatize.body);
    curl_global_cleanup();
    return test_summary();
}
