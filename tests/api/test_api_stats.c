/* GET /v1/stats against real servers (api_stats.c): a tenant's exact
 * figures. Documents, chunks, sources and bytes on disk as stored; dead
 * jobs counted exactly and only the caller's tenant's (another tenant's
 * dead job is not in them); with no workers, 120 queued jobs counted as
 * 120 where the job listing's first page of 100 can only say "more"; no
 * embedder: embeddings null; scope admin; unknown parameters refused. */
#include "api/api_test.h"

static json_int_t num(json_t *o, const char *path) {
    /* "a.b": one level of nesting is enough here */
    char k[64];
    snprintf(k, sizeof k, "%s", path);
    char *dot = strchr(k, '.');
    if (dot) {
        *dot = '\0';
        o = json_object_get(o, k);
        return json_integer_value(json_object_get(o, dot + 1));
    }
    return json_integer_value(json_object_get(o, k));
}

/* Uploads a file that cannot be parsed; with job_max_attempts 1 its job
 * dies at once. */
static void dead_upload(const test_server *s, const char *key) {
    static const char body[] = "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"files\"; "
                               "filename=\"broken.docx\"\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "PK\003\004not a zip\r\n"
                               "--XyZ--\r\n";
    test_resp r = test_http(s, "POST", "/v1/files?wait=30", key,
                            "multipart/form-data; boundary=XyZ", body, sizeof body - 1, NULL);
    CHECK_INT(r.status, 422); /* job-failed: the job is dead */
    test_resp_free(&r);
}

static void figures(void) {
    test_server s;
    const char *env[] = {"LORE_JOB_MAX_ATTEMPTS=1", "LORE_RATE_WRITE_PER_MIN=0",
                         "LORE_RATE_READ_PER_MIN=0", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&s, NULL, env)) {
        CHECK(0);
        return;
    }
    char kread[96], other[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\", \"write\"]", NULL, kread, sizeof kread));
    CHECK(!test_make_tenant(&s, "other", other, sizeof other));

    /* an empty tenant */
    test_resp r = test_get(&s, "/v1/stats", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "tenant")), "default");
    CHECK_INT(num(r.json, "documents"), 0);
    CHECK_INT(num(r.json, "chunks"), 0);
    CHECK_INT(num(r.json, "sources"), 0);
    CHECK(json_is_null(json_object_get(r.json, "embeddings")));
    CHECK_INT(num(r.json, "jobs.ready"), 0);
    CHECK_INT(num(r.json, "jobs.dead"), 0);
    CHECK(json_is_null(json_object_get(json_object_get(r.json, "jobs"), "oldest_ready_age_s")));
    test_resp_free(&r);

    r = test_post_json(&s, "/v1/documents?wait=30", s.admin_key,
                       "{\"documents\":[{\"source\":\"wiki\",\"id\":\"a\",\"text\":\"otters\"},"
                       "{\"source\":\"wiki\",\"id\":\"b\",\"text\":\"walruses\"},"
                       "{\"source\":\"notes\",\"id\":\"c\",\"acl\":[\"user:x\"],"
                       "\"text\":\"seals\"}]}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    dead_upload(&s, s.admin_key);
    dead_upload(&s, s.admin_key);
    dead_upload(&s, other); /* another tenant's */

    r = test_get(&s, "/v1/stats", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(num(r.json, "documents"), 3);
    CHECK(num(r.json, "chunks") >= 3);
    CHECK_INT(num(r.json, "sources"), 2); /* the ACL'd one too */
    CHECK(num(r.json, "disk_bytes") > 0);
    CHECK_INT(num(r.json, "jobs.dead"), 2);
    CHECK_INT(num(r.json, "jobs.ready"), 0);
    CHECK_INT(num(r.json, "jobs.leased"), 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/stats", other);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "tenant")), "other");
    CHECK_INT(num(r.json, "documents"), 0);
    CHECK_INT(num(r.json, "jobs.dead"), 1);
    test_resp_free(&r);

    /* scope admin; no parameters */
    r = test_get(&s, "/v1/stats", kread);
    CHECK_INT(r.status, 403);
    test_resp_free(&r);
    r = test_get(&s, "/v1/stats", NULL);
    CHECK_INT(r.status, 401);
    test_resp_free(&r);
    r = test_get(&s, "/v1/stats?state=dead", s.admin_key);
    CHECK_INT(r.status, 400);
    CHECK(r.body && strstr(r.body, "unknown parameter 'state'"));
    test_resp_free(&r);
    r = test_http(&s, "POST", "/v1/stats", s.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 405);
    test_resp_free(&r);
    test_server_stop(&s, SIGTERM);
}

/* With no workers, every write waits in the queue. */
static void queued(void) {
    test_server s;
    const char *env[] = {"LORE_WORKERS=-1", "LORE_RATE_WRITE_PER_MIN=0", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&s, NULL, env)) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < 120; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"id\":\"q%d\",\"text\":\"queued %d\"}", i, i);
        test_resp r = test_post_json(&s, "/v1/documents", s.admin_key, body);
        CHECK_INT(r.status, 202);
        test_resp_free(&r);
    }
    test_resp r = test_get(&s, "/v1/stats", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(num(r.json, "jobs.ready"), 120);
    CHECK_INT(num(r.json, "jobs.leased"), 0);
    CHECK_INT(num(r.json, "documents"), 0); /* nothing ran */
    CHECK(json_is_integer(json_object_get(json_object_get(r.json, "jobs"), "oldest_ready_age_s")));
    test_resp_free(&r);
    /* what the listing can tell in one page: 100 and a next page */
    r = test_get(&s, "/v1/jobs?state=ready&limit=100", s.admin_key);
    CHECK_INT((long)json_array_size(json_object_get(r.json, "jobs")), 100);
    CHECK(json_is_string(json_object_get(r.json, "next_cursor")));
    test_resp_free(&r);
    test_server_stop(&s, SIGTERM);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    figures();
    queued();
    curl_global_cleanup();
    return test_summary();
}
