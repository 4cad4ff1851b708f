/* The permission matrix and tenant isolation against a real server.
 *
 * Documents with a user ACL, a group ACL and no ACL (whole tenant) are
 * searched, fetched, listed, counted in sources and deleted by keys acting
 * for different principals; every answer must show exactly the documents the
 * principal may see, totals included, and a hidden document must look
 * exactly like a missing one. Then tenant A and tenant B: nothing of B is
 * reachable with A's keys, and deleting A leaves B whole. */
#include "jobs/jobs_test.h"

/* The documents, each with the word "matrix" so one query finds them all. */
static const struct {
    const char *ext, *acl;
} docs[] = {
    {"alice-only", "[\"user:alice@example.com\"]"},
    {"bob-only", "[\"user:bob@example.com\"]"},
    {"eng-group", "[\"group:eng\"]"},
    {"everyone", "[]"},
    {"alice-or-sales", "[\"user:alice@example.com\",\"group:sales\"]"},
};
#define NDOCS (sizeof docs / sizeof docs[0])
static char ids[NDOCS][32];

/* Which documents each principal set may see (bit i = docs[i]). */
static const struct {
    const char *principals;
    unsigned visible;
} viewers[] = {
    {"[\"user:alice@example.com\"]", 1u << 0 | 1u << 3 | 1u << 4},
    {"[\"user:bob@example.com\",\"group:eng\"]", 1u << 1 | 1u << 2 | 1u << 3},
    {"[\"user:carol@example.com\",\"group:sales\"]", 1u << 3 | 1u << 4},
    {"[]", 1u << 3},
};
#define NVIEWERS (sizeof viewers / sizeof viewers[0])

static unsigned ids_in(json_t *arr, const char *field) {
    unsigned seen = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(arr, i), field));
        for (size_t d = 0; id && d < NDOCS; d++)
            if (!strcmp(id, ids[d])) seen |= 1u << d;
    }
    return seen;
}

static int popcount(unsigned v) {
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void check_viewer(const test_server *s, const char *key, unsigned visible) {
    /* search: both forms */
    test_resp r = test_get(s, "/v1/search?q=matrix&limit=50", key);
    CHECK_INT(r.status, 200);
    CHECK_INT(ids_in(json_object_get(r.json, "hits"), "id"), visible);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), popcount(visible));
    test_resp_free(&r);
    r = test_post_json(s, "/v1/search", key, "{\"query\":\"matrix\",\"limit\":50}");
    CHECK_INT(ids_in(json_object_get(r.json, "hits"), "id"), visible);
    test_resp_free(&r);
    /* phrase and filter paths go through the same admission */
    r = test_post_json(s, "/v1/search", key,
                       "{\"query\":\"\\\"matrix document\\\"\",\"sources\":[\"perm\"]}");
    CHECK_INT(ids_in(json_object_get(r.json, "hits"), "id"), visible);
    test_resp_free(&r);
    /* listing, page by page of one, so the cursor path is covered too */
    unsigned listed = 0;
    size_t pages = 0;
    char path[256] = "/v1/documents?limit=1";
    for (;;) {
        r = test_get(s, path, key);
        CHECK_INT(r.status, 200);
        listed |= ids_in(json_object_get(r.json, "documents"), "id");
        pages += json_array_size(json_object_get(r.json, "documents"));
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        if (!next || pages > NDOCS) {
            test_resp_free(&r);
            break;
        }
        snprintf(path, sizeof path, "/v1/documents?limit=1&cursor=%s", next);
        test_resp_free(&r);
    }
    CHECK_INT(listed, visible);
    CHECK_INT(pages, popcount(visible));
    /* sources count only what the key may see */
    r = test_get(s, "/v1/sources", key);
    json_t *src = json_array_get(json_object_get(r.json, "sources"), 0);
    CHECK_INT(json_integer_value(json_object_get(src, "documents")), popcount(visible));
    test_resp_free(&r);
    /* fetch: visible -> 200 with text; hidden -> the same 404 as a missing id */
    for (size_t d = 0; d < NDOCS; d++) {
        snprintf(path, sizeof path, "/v1/documents/%s", ids[d]);
        r = test_get(s, path, key);
        CHECK_INT(r.status, (visible >> d) & 1 ? 200 : 404);
        if (r.status == 404) CHECK_STR(test_problem_type(&r), "not-found");
        test_resp_free(&r);
    }
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    test_server s;
    const char *env[] = {"LORE_RATE_ANON_PER_MIN=0", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&s, NULL, env)) return 1;

    char body[1024];
    for (size_t d = 0; d < NDOCS; d++) {
        snprintf(body, sizeof body,
                 "{\"id\":\"%s\",\"source\":\"perm\",\"title\":\"%s\",\"text\":\"a matrix "
                 "document for %s\",\"acl\":%s}",
                 docs[d].ext, docs[d].ext, docs[d].ext, docs[d].acl);
        test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key, body);
        CHECK_INT(r.status, 200);
        const char *id = json_string_value(
            json_object_get(json_array_get(json_object_get(r.json, "documents"), 0), "id"));
        snprintf(ids[d], sizeof ids[d], "%s", id ? id : "");
        test_resp_free(&r);
    }
    char missing[] = "0123456789abcdef";
    char keys[NVIEWERS][96];
    for (size_t v = 0; v < NVIEWERS; v++) {
        CHECK(!test_make_key(&s, s.admin_key, "[\"read\",\"write\"]", viewers[v].principals,
                             keys[v], sizeof keys[v]));
        check_viewer(&s, keys[v], viewers[v].visible);
    }
    /* A hidden document and a missing one answer with the same body shape. */
    char path[128];
    snprintf(path, sizeof path, "/v1/documents/%s", ids[0]);
    test_resp hidden = test_get(&s, path, keys[1]);
    snprintf(path, sizeof path, "/v1/documents/%s", missing);
    test_resp absent = test_get(&s, path, keys[1]);
    CHECK_INT(hidden.status, 404);
    CHECK_INT(absent.status, 404);
    CHECK_STR(json_string_value(json_object_get(hidden.json, "detail")),
              json_string_value(json_object_get(absent.json, "detail")));
    test_resp_free(&hidden);
    test_resp_free(&absent);

    /* A write key cannot replace a document hidden from it (403), in a
     * batch or through an upload, and the document stays as it was. */
    test_resp w = test_post_json(&s, "/v1/documents", keys[1],
                                 "{\"id\":\"alice-only\",\"source\":\"perm\",\"text\":\"bob "
                                 "was here\",\"acl\":[]}");
    CHECK_INT(w.status, 403);
    CHECK_STR(test_problem_type(&w), "forbidden");
    test_resp_free(&w);
    static const char up[] =
        "--U\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nperm\r\n"
        "--U\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nalice-only\r\n"
        "--U\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\""
        "\r\n\r\nbob was here\r\n--U--\r\n";
    w = test_http(&s, "POST", "/v1/files?wait=10", keys[1], "multipart/form-data; boundary=U", up,
                  sizeof up - 1, NULL);
    CHECK_INT(w.status, 403);
    CHECK_STR(test_problem_type(&w), "forbidden");
    CHECK(!json_object_get(w.json, "jobs") && !json_object_get(w.json, "job"));
    test_resp_free(&w);
    /* refused at the door: nothing was queued for either */
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), NDOCS);
    /* a document bob can see he may replace */
    w = test_post_json(
        &s, "/v1/documents?wait=10", keys[1],
        "{\"id\":\"eng-group\",\"source\":\"perm\",\"title\":\"eng-group\","
        "\"text\":\"a matrix document for eng-group, edited\",\"acl\":[\"group:eng\"]}");
    CHECK_INT(w.status, 200);
    CHECK_STR(json_string_value(json_object_get(
                  json_array_get(json_object_get(w.json, "documents"), 0), "status")),
              "updated");
    test_resp_free(&w);

    /* Deletes honour the ACL: bob cannot delete alice's document (404, and it
     * stays), alice can. */
    snprintf(path, sizeof path, "/v1/documents/%s", ids[0]);
    test_resp r = test_delete(&s, path, keys[1]);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_get(&s, path, keys[0]);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "a matrix document for alice-only"));
    test_resp_free(&r);
    char wpath[160];
    snprintf(wpath, sizeof wpath, "%s?wait=10", path);
    r = test_delete(&s, wpath, keys[0]);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "id")), ids[0]);
    CHECK_STR(json_string_value(json_object_get(json_object_get(r.json, "job"), "state")), "done");
    test_resp_free(&r);
    r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=alice", keys[0]);
    CHECK(r.json && !(ids_in(json_object_get(r.json, "hits"), "id") & 1u));
    test_resp_free(&r);

    /* ---- tenant isolation ---- */
    char ka[96], kb[96];
    CHECK(!test_make_tenant(&s, "tenant-a", ka, sizeof ka));
    CHECK(!test_make_tenant(&s, "tenant-b", kb, sizeof kb));
    r = test_post_json(&s, "/v1/documents?wait=10", kb,
                       "{\"id\":\"secret-plan\",\"title\":\"Zebra plan\",\"text\":\"zebra "
                       "quarterly plan of tenant b\"}");
    CHECK_INT(r.status, 200);
    char bdoc[32];
    snprintf(bdoc, sizeof bdoc, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "documents"), 0), "id")));
    test_resp_free(&r);
    snprintf(path, sizeof path, "/v1/documents/%s", bdoc);
    r = test_get(&s, path, ka);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_delete(&s, path, ka);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=zebra", ka);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/documents", ka);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/sources", ka);
    CHECK_INT(json_array_size(json_object_get(r.json, "sources")), 0);
    test_resp_free(&r);
    /* Writing the same external id in A makes A's own document, not B's. */
    r = test_post_json(&s, "/v1/documents?wait=10", ka,
                       "{\"id\":\"secret-plan\",\"text\":\"tenant a text\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_get(&s, path, kb);
    CHECK(r.body && strstr(r.body, "zebra quarterly plan"));
    test_resp_free(&r);
    /* Deleting A leaves B whole; A's key stops working. */
    r = test_delete(&s, "/v1/tenants/tenant-a", s.admin_key);
    CHECK_INT(r.status, 204);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=zebra", kb);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
    test_resp_free(&r);
    r = test_get(&s, "/v1/sources", ka);
    CHECK_INT(r.status, 401);
    test_resp_free(&r);
    r = test_get(&s, "/v1/tenants", s.admin_key);
    CHECK(r.body && !strstr(r.body, "tenant-a") && strstr(r.body, "tenant-b"));
    test_resp_free(&r);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/tenants/tenant-a", s.dir);
    CHECK(access(dir, F_OK) != 0);
    /* A tenant of the same name starts empty. */
    CHECK(!test_make_tenant(&s, "tenant-a", ka, sizeof ka));
    r = test_get(&s, "/v1/documents", ka);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 0);
    test_resp_free(&r);
    /* ... also when another process (the CLI here, another node on a shared
     * store) deleted and created it again while the server had it open. */
    for (int i = 0; i < 16; i++) { /* every HTTP thread opens tenant-b */
        r = test_get(&s, "/v1/search?q=zebra", kb);
        CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
        test_resp_free(&r);
    }
    char out[512];
    CHECK_INT(jt_cli(s.dir, out, sizeof out, "tenant delete tenant-b --yes"), 0);
    CHECK_INT(jt_cli(s.dir, out, sizeof out, "tenant create tenant-b"), 0);
    CHECK_INT(jt_cli(s.dir, out, sizeof out, "key create --tenant tenant-b --scope read"), 0);
    char kb2[128];
    snprintf(kb2, sizeof kb2, "%.*s", (int)strcspn(out, "\r\n"), out); /* the key's line */
    int fresh = 0;
    for (int i = 0; i < 16; i++) {
        r = test_get(&s, "/v1/search?q=zebra", kb2);
        fresh += r.status == 200 && json_array_size(json_object_get(r.json, "hits")) == 0;
        test_resp_free(&r);
    }
    CHECK_INT(fresh, 16);

    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
