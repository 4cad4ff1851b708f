/* Linear end to end: a real `lore serve` with two workers, a tenant, a
 * Linear connector made through POST /v1/connectors, and a burst of about
 * 200 signed deliveries (issues created, edited and removed, comments
 * written, edited and removed, projects and documents likewise, some types
 * lore ignores) sent in a shuffled order, with about 50 redeliveries
 * (Linear's retries: the same Linear-Delivery, a fresh webhookTimestamp, so
 * other bytes and another signature) mixed in. After the queue drains the
 * tenant's documents are exactly what the final history says, and no job
 * is dead. Also at the gate: a stale webhookTimestamp and a bad signature
 * are refused with no job, a body without Linear-Delivery is a 400.
 * Seed: LORE_TEST_SEED, printed. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api_test.h"
#include "store/store.h"
#include "util/timeutil.h"

#define NISSUES 12
#define NCOMMENTS 4
#define NPROJECTS 4
#define NDOCS 5
#define MAXD 320
#define BASE 1767225600000LL /* 2026-01-01: the objects' updatedAt clock */

static test_server srv;
static char tenant_key[128], hook_path[96], secret[160];

typedef struct delivery {
    char id[48];
    json_t *body; /* without webhookTimestamp */
} delivery;

static delivery ds[MAXD];
static size_t nd;

static char *iso(int64_t ms) {
    static char bufs[16][40];
    static int next;
    char *b = bufs[next++ % 16];
    lore_format_iso8601(ms, b, 40);
    snprintf(b + 19, 8, ".%03dZ", (int)(((ms % 1000) + 1000) % 1000));
    return b;
}

static void add(const char *action, const char *type, json_t *data, int64_t at) {
    if (nd >= MAXD) abort();
    delivery *d = &ds[nd];
    snprintf(d->id, sizeof d->id, "5d0e%04zx-1c2b-4a3d-8e4f-%012zx", nd, nd * 7919);
    d->body =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:o, s:s, s:s, s:s}", "action", action,
                  "type", type, "actor", "id", "user-jane", "type", "user", "name", "Jane Doe",
                  "createdAt", iso(at), "data", data, "url", "https://linear.app/acme/issue/x",
                  "organizationId", "8b2e7c15-0a3d-4e4f-9c6b-1d2e3f405162", "webhookId",
                  "000042e3-d123-4980-b49f-8e140eef9329");
    nd++;
}

static void add_issue(const char *action, int i, int v, int64_t at) {
    char id[32], title[64], desc[64], ident[16];
    snprintf(id, sizeof id, "issue-%02d", i);
    snprintf(title, sizeof title, "Issue %d title v%d", i, v);
    snprintf(desc, sizeof desc, "desc%dz%dk body text", i, v);
    snprintf(ident, sizeof ident, "ENG-%d", 100 + i);
    add(action, "Issue",
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:i}", "id", id,
                  "createdAt", iso(BASE), "updatedAt", iso(at), "identifier", ident, "title", title,
                  "description", desc, "team", "id", "team-eng", "key", "ENG", "name",
                  "Engineering", "state", "id", "st", "name", v ? "In Progress" : "Todo",
                  "priority", 3),
        at);
}

static void add_comment(const char *action, int i, int c, const char *what, int64_t at) {
    char id[32], issue[32], body[64];
    snprintf(id, sizeof id, "comment-%02d-%d", i, c);
    snprintf(issue, sizeof issue, "issue-%02d", i);
    snprintf(body, sizeof body, "cmt%dx%dy%s", i, c, what);
    add(action, "Comment",
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "createdAt",
                  iso(BASE + 1000 * c + 500), "updatedAt", iso(at), "body", body, "issueId", issue,
                  "user", "id", "user-bob", "name", "Bob Smith"),
        at);
}

static void add_project(const char *action, int p, int v, int64_t at) {
    char id[32], name[64], desc[64];
    snprintf(id, sizeof id, "project-%d", p);
    snprintf(name, sizeof name, "Project %d v%d", p, v);
    snprintf(desc, sizeof desc, "proj%dq%dw", p, v);
    add(action, "Project",
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "createdAt", iso(BASE), "updatedAt",
                  iso(at), "name", name, "description", desc, "state", "started"),
        at);
}

static void add_doc(const char *action, int p, int v, int64_t at) {
    char id[32], title[64], content[64];
    snprintf(id, sizeof id, "document-%d", p);
    snprintf(title, sizeof title, "Doc %d v%d", p, v);
    snprintf(content, sizeof content, "doc%dr%dt", p, v);
    add(action, "Document",
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "createdAt", iso(BASE), "updatedAt",
                  iso(at), "title", title, "content", content),
        at);
}

/* The history; what it leaves is checked in check_documents. */
static void build(void) {
    for (int i = 0; i < NISSUES; i++) {
        int64_t t = BASE + i * 100000;
        add_issue("create", i, 0, t);
        for (int v = 1; v <= 3; v++)
            add_issue("update", i, v, t + v * 10000);
        for (int c = 0; c < NCOMMENTS; c++) {
            add_comment("create", i, c, "first", t + 1000 * c + 500);
            add_comment("update", i, c, "edited", t + 50000 + c);
        }
        add_comment("remove", i, 1, "edited", t + 60000);
        if (i % 5 == 0) add_issue("remove", i, 3, t + 70000);
    }
    for (int p = 0; p < NPROJECTS; p++) {
        for (int v = 0; v <= 3; v++)
            add_project(v ? "update" : "create", p, v, BASE + p * 1000 + v * 100);
        if (p == 1) add_project("remove", p, 3, BASE + p * 1000 + 900);
    }
    for (int p = 0; p < NDOCS; p++) {
        for (int v = 0; v <= 3; v++)
            add_doc(v ? "update" : "create", p, v, BASE + p * 1000 + v * 100);
        if (p == 2) add_doc("remove", p, 3, BASE + p * 1000 + 900);
    }
    while (nd < 200) /* types lore does not index */
        add(nd % 2 ? "create" : "update", nd % 2 ? "IssueLabel" : "Cycle",
            json_pack("{s:s, s:s}", "id", "label-or-cycle", "name", "Bug"), BASE);
}

static void sign(const char *body, size_t len, const char *key, char out[65]) {
    uint8_t mac[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const uint8_t *)body, len, mac, &n);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

/* Posts a delivery as Linear does, stamped now + skew_ms. */
static long post(const delivery *d, int64_t skew_ms, const char *key, int with_delivery) {
    json_t *b = json_deep_copy(d->body);
    json_object_set_new(b, "webhookTimestamp", json_integer(lore_now_ms() + skew_ms));
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char sig[65], h1[128], h2[128];
    sign(text, strlen(text), key, sig);
    snprintf(h1, sizeof h1, "Linear-Signature: %s", sig);
    snprintf(h2, sizeof h2, "Linear-Delivery: %s", d->id);
    const char *extra[] = {h1, "Linear-Event: x", with_delivery ? h2 : NULL, NULL};
    test_resp r = test_http(&srv, "POST", hook_path, NULL, "application/json; charset=utf-8", text,
                            strlen(text), extra);
    long status = r.status;
    if (status != 200 && with_delivery && !skew_ms && key == secret)
        fprintf(stderr, "delivery %s: %ld %s\n", d->id, status, r.body ? r.body : "");
    test_resp_free(&r);
    free(text);
    return status;
}

static json_t *get_doc(const char *external_id, long *status) {
    char id[STORE_DOC_ID_LEN + 1], path[64];
    store_doc_public_id("linear", external_id, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_get(&srv, path, tenant_key);
    *status = r.status;
    json_t *j = r.json ? json_incref(r.json) : NULL;
    test_resp_free(&r);
    return j;
}

static int text_has(const json_t *doc, const char *needle) {
    const char *t = json_string_value(json_object_get(doc, "text"));
    return t && strstr(t, needle);
}

static void check_documents(void) {
    size_t live = 0;
    for (int i = 0; i < NISSUES; i++) {
        char key[32], want[64];
        snprintf(key, sizeof key, "issue/issue-%02d", i);
        long status;
        json_t *doc = get_doc(key, &status);
        if (i % 5 == 0) {
            CHECK_INT(status, 404);
            json_decref(doc);
            continue;
        }
        live++;
        CHECK_INT(status, 200);
        snprintf(want, sizeof want, "ENG-%d: Issue %d title v3", 100 + i, i);
        CHECK_STR(json_string_value(json_object_get(doc, "title")), want);
        snprintf(want, sizeof want, "desc%dz3k", i);
        CHECK(text_has(doc, want));
        CHECK(text_has(doc, "In Progress"));
        for (int v = 0; v < 3; v++) {
            snprintf(want, sizeof want, "desc%dz%dk", i, v);
            CHECK(!text_has(doc, want));
        }
        for (int c = 0; c < NCOMMENTS; c++) {
            snprintf(want, sizeof want, "cmt%dx%dyedited", i, c);
            CHECK(c == 1 ? !text_has(doc, want) : !!text_has(doc, want));
            snprintf(want, sizeof want, "cmt%dx%dyfirst", i, c);
            CHECK(!text_has(doc, want));
        }
        json_decref(doc);
    }
    for (int p = 0; p < NPROJECTS + NDOCS; p++) {
        int isdoc = p >= NPROJECTS, n = isdoc ? p - NPROJECTS : p;
        char key[32], want[64];
        snprintf(key, sizeof key, isdoc ? "document/document-%d" : "project/project-%d", n);
        long status;
        json_t *doc = get_doc(key, &status);
        if ((!isdoc && n == 1) || (isdoc && n == 2)) {
            CHECK_INT(status, 404);
        } else {
            live++;
            CHECK_INT(status, 200);
            snprintf(want, sizeof want, isdoc ? "Doc %d v3" : "Project %d v3", n);
            CHECK_STR(json_string_value(json_object_get(doc, "title")), want);
            snprintf(want, sizeof want, isdoc ? "doc%dr2t" : "proj%dq2w", n);
            CHECK(!text_has(doc, want));
        }
        json_decref(doc);
    }
    /* Nothing else: the list holds exactly the live objects. */
    test_resp r = test_get(&srv, "/v1/documents?source=linear&limit=1000", tenant_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), live);
    test_resp_free(&r);
}

int main(void) {
    test_seed();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *env[] = {"LORE_WORKERS=2", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&srv, NULL, env)) {
        CHECK(0);
        return test_summary();
    }
    CHECK_INT(test_make_tenant(&srv, "acme", tenant_key, sizeof tenant_key), 0);
    test_resp r = test_post_json(&srv, "/v1/connectors", tenant_key, "{\"kind\": \"linear\"}");
    CHECK_INT(r.status, 201);
    const char *id = json_string_value(json_object_get(r.json, "id"));
    const char *sec = json_string_value(json_object_get(r.json, "secret"));
    snprintf(hook_path, sizeof hook_path, "/v1/hooks/%s", id ? id : "none");
    snprintf(secret, sizeof secret, "%s", sec ? sec : "");
    test_resp_free(&r);

    build();
    /* Refused at the gate, before any job. */
    CHECK_INT(post(&ds[0], -61000, secret, 1), 401);      /* stale */
    CHECK_INT(post(&ds[0], 61000, secret, 1), 401);       /* from the future */
    CHECK_INT(post(&ds[0], 0, "not-the-secret", 1), 401); /* another secret */
    CHECK_INT(post(&ds[0], 0, secret, 0), 400);           /* no Linear-Delivery */
    CHECK_INT(test_jobs_count(&srv, tenant_key, NULL), 0);

    /* The burst: every delivery once, about a quarter again later with the
     * same delivery id, all in a shuffled order. */
    size_t order[2 * MAXD], n = 0;
    for (size_t i = 0; i < nd; i++) {
        order[n++] = i;
        if (test_rand() % 4 == 0) order[n++] = i;
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(test_rand() % (i + 1)), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    size_t bad = 0;
    int64_t t0 = lore_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += post(&ds[order[i]], 0, secret, 1) != 200;
    printf("%zu deliveries (%zu distinct) posted in %.2f s\n", n, nd,
           (double)(lore_mono_ns() - t0) / 1e9);
    CHECK_INT(bad, 0);
    CHECK_INT(test_queue_idle(&srv, tenant_key, 120), 0);
    CHECK_INT(test_jobs_count(&srv, tenant_key, "dead"), 0);
    /* One job per distinct delivery lore indexes: the redeliveries and the
     * ignored types queued nothing. */
    long done = test_jobs_count(&srv, tenant_key, "done");
    size_t indexed = 0;
    for (size_t i = 0; i < nd; i++) {
        const char *type = json_string_value(json_object_get(ds[i].body, "type"));
        indexed += strcmp(type, "IssueLabel") && strcmp(type, "Cycle");
    }
    CHECK_INT(done, (long)indexed);
    check_documents();

    for (size_t i = 0; i < nd; i++)
        json_decref(ds[i].body);
    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    if (test_failed)
        fprintf(stderr, "kept %s (server.log)\n", srv.dir);
    else
        test_rmtree(srv.dir);
    curl_global_cleanup();
    return test_summary();
}
