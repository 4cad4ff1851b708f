/* Bad input, limits and web hygiene against a real server: malformed JSON,
 * wrong types, deep nesting, oversized bodies and uploads, truncated
 * multipart, invalid UTF-8, headers over the cap, slow clients; 404/405/415;
 * CORS, security headers, request ids; rate limits; metrics. After each
 * abuse the server must still answer everyone else. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "api/api_test.h"
#include "util/timeutil.h"

static test_server s;

static void expect_problem(test_resp *r, long status, const char *type, const char *pointer) {
    if (r->status != status || strcmp(test_problem_type(r), type))
        fprintf(stderr, "want %ld %s, got %ld: %s\n", status, type, r->status,
                r->body ? r->body : "");
    CHECK_INT(r->status, status);
    CHECK_STR(test_problem_type(r), type);
    char h[128];
    CHECK(test_resp_header(r, "Content-Type", h, sizeof h) &&
          !strcmp(h, "application/problem+json"));
    CHECK(json_integer_value(json_object_get(r->json, "status")) == status);
    CHECK(json_is_string(json_object_get(r->json, "detail")));
    if (pointer) CHECK_STR(json_string_value(json_object_get(r->json, "pointer")), pointer);
    test_resp_free(r);
}

static void still_serving(void) {
    test_resp r = test_get(&s, "/v1/search?q=sentinel", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
    test_resp_free(&r);
}

static int connect_raw(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s.port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void bad_json(void) {
    test_resp r = test_post_json(&s, "/v1/documents", s.admin_key, "{\"id\": \"x\", ");
    expect_problem(&r, 400, "invalid-json", NULL);
    r = test_post_json(&s, "/v1/documents", s.admin_key, "");
    expect_problem(&r, 400, "invalid-json", NULL);
    r = test_post_json(&s, "/v1/documents", s.admin_key, "{\"id\": 7, \"text\": \"x\"}");
    expect_problem(&r, 400, "invalid-field", "/id");
    r = test_post_json(&s, "/v1/documents", s.admin_key, "{\"id\": \"x\"}");
    expect_problem(&r, 400, "invalid-field", "/text");
    r = test_post_json(&s, "/v1/documents", s.admin_key,
                       "{\"documents\": [{\"id\": \"a\", \"text\": \"ok\"}, {\"id\": \"b\", "
                       "\"text\": \"ok\", \"acl\": [\"nobody\"]}]}");
    expect_problem(&r, 400, "invalid-field", "/documents/1/acl/0");
    /* the batch is all or nothing: "a" was not written */
    r = test_get(&s, "/v1/search?q=ok", s.admin_key);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 0);
    test_resp_free(&r);
    r = test_post_json(&s, "/v1/documents", s.admin_key,
                       "{\"id\": \"x\", \"text\": \"t\", \"tilte\": \"typo\"}");
    expect_problem(&r, 400, "invalid-field", "/tilte");
    r = test_post_json(&s, "/v1/documents", s.admin_key,
                       "{\"id\": \"x\", \"text\": \"t\", \"updated_at\": \"yesterday\"}");
    expect_problem(&r, 400, "invalid-field", "/updated_at");
    r = test_post_json(&s, "/v1/documents", s.admin_key, "{\"id\": \"x\", \"id\": \"y\"}");
    expect_problem(&r, 400, "invalid-json", NULL);
    r = test_post_json(&s, "/v1/search", s.admin_key, "{\"query\": \"a\", \"limit\": 5000}");
    expect_problem(&r, 400, "invalid-field", "/limit");
    r = test_post_json(&s, "/v1/search", s.admin_key, "[\"query\"]");
    expect_problem(&r, 400, "invalid-field", "");
    r = test_post_json(&s, "/v1/search", s.admin_key, "{\"query\": \"a\", \"cursor\": \"zz\"}");
    expect_problem(&r, 400, "invalid-field", "/cursor");
    r = test_get(&s, "/v1/search?q=a&limit=0", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/limit");
    r = test_get(&s, "/v1/search?q=a&bogus=1", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/bogus");
    r = test_get(&s, "/v1/search", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/q");
    /* an engine limit (16 phrases) is a 400 naming it, not a 500 */
    {
        char q17[512] = "{\"query\": \"";
        for (int i = 0; i < 17; i++)
            snprintf(q17 + strlen(q17), sizeof q17 - strlen(q17), "\\\"w%d x%d\\\" ", i, i);
        strcat(q17, "\"}");
        r = test_post_json(&s, "/v1/search", s.admin_key, q17);
        expect_problem(&r, 400, "invalid-field", "/query");
    }
    /* a field over its cap names the field */
    {
        char *t = malloc(6000);
        int k = snprintf(t, 6000, "{\"id\":\"x\",\"text\":\"t\",\"title\":\"");
        memset(t + k, 'T', 5000);
        snprintf(t + k + 5000, 6000 - (size_t)k - 5000, "\"}");
        r = test_post_json(&s, "/v1/documents", s.admin_key, t);
        expect_problem(&r, 400, "invalid-field", "/title");
        free(t);
    }
    r = test_get(&s, "/v1/documents?sourse=x", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/sourse");
    r = test_get(&s, "/v1/documents?limit=+2", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/limit");
    r = test_post_json(&s, "/v1/keys", s.admin_key, "{\"scopes\": [\"read\"], \"name\": \"\"}");
    expect_problem(&r, 400, "invalid-field", "/name");
    /* query length cap */
    char *longq = malloc(6000);
    memset(longq, 'a', 5999);
    longq[5999] = '\0';
    char *body = malloc(6100);
    snprintf(body, 6100, "{\"query\": \"%s\"}", longq);
    r = test_post_json(&s, "/v1/search", s.admin_key, body);
    expect_problem(&r, 400, "invalid-field", "/query");
    free(longq);
    free(body);
    /* invalid UTF-8 inside a JSON string */
    static const char bad_utf8[] = "{\"id\": \"x\", \"text\": \"\xff\xfe bad\"}";
    r = test_http(&s, "POST", "/v1/documents", s.admin_key, "application/json", bad_utf8,
                  sizeof bad_utf8 - 1, NULL);
    expect_problem(&r, 400, "invalid-json", NULL);
    /* deep nesting */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"id\":\"x\",\"text\":\"t\",\"metadata\":");
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    r = test_post_json(&s, "/v1/documents", s.admin_key, deep);
    expect_problem(&r, 400, "json-too-deep", NULL);
    /* refused writes are answered before anything is queued: the only job
     * is the sentinel's */
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), 1);
    still_serving();
}

static void wrong_routes_and_types(void) {
    /* the OpenAPI document is served without a key, and is the embedded one */
    test_resp r = test_get(&s, "/v1/openapi.json", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    test_resp_free(&r);
    r = test_get(&s, "/v1/nothing", s.admin_key);
    expect_problem(&r, 404, "not-found", NULL);
    r = test_http(&s, "PUT", "/v1/documents", s.admin_key, NULL, NULL, 0, NULL);
    char allow[64];
    CHECK(test_resp_header(&r, "Allow", allow, sizeof allow) && strstr(allow, "GET") &&
          strstr(allow, "POST"));
    expect_problem(&r, 405, "method-not-allowed", NULL);
    r = test_http(&s, "POST", "/v1/documents", s.admin_key, "text/plain", "hello", 5, NULL);
    expect_problem(&r, 415, "unsupported-media-type", NULL);
    r = test_http(&s, "POST", "/v1/files", s.admin_key, "application/json", "{}", 2, NULL);
    expect_problem(&r, 415, "unsupported-media-type", NULL);
    r = test_http(&s, "POST", "/v1/files", s.admin_key, "multipart/form-data", "x", 1, NULL);
    expect_problem(&r, 400, "invalid-multipart", NULL);
    /* batch cap */
    size_t cap = 120 * 40 + 64;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"documents\":[");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s{\"id\":\"b%d\",\"text\":\"t\"}", i ? "," : "", i);
    snprintf(b + n, cap - n, "]}");
    r = test_post_json(&s, "/v1/documents", s.admin_key, b);
    expect_problem(&r, 413, "batch-too-large", NULL);
    free(b);
    still_serving();
}

static void oversized(void) {
    /* JSON body over max_body_kb (set to 64 KiB for this test): by
     * Content-Length, and again without one (chunked). */
    size_t n = 100 * 1024;
    char *big = malloc(n + 64);
    int k = snprintf(big, n + 64, "{\"id\":\"big\",\"text\":\"");
    memset(big + k, 'x', n);
    snprintf(big + k + n, 64, "\"}");
    test_resp r = test_post_json(&s, "/v1/documents", s.admin_key, big);
    expect_problem(&r, 413, "body-too-large", NULL);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = test_http(&s, "POST", "/v1/documents", s.admin_key, "application/json", big, strlen(big),
                  chunked);
    expect_problem(&r, 413, "body-too-large", NULL);
    free(big);
    /* upload over max_upload_mb (1 MiB here) */
    size_t un = 2u << 20;
    char *up = malloc(un + 512);
    int h = snprintf(up, 512,
                     "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; "
                     "filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n");
    memset(up + h, 'y', un);
    int t = snprintf(up + h + un, 64, "\r\n--B0undary--\r\n");
    r = test_http(&s, "POST", "/v1/files", s.admin_key, "multipart/form-data; boundary=B0undary",
                  up, (size_t)h + un + (size_t)t, NULL);
    expect_problem(&r, 413, "body-too-large", NULL);
    /* truncated multipart: no closing boundary */
    r = test_http(&s, "POST", "/v1/files", s.admin_key, "multipart/form-data; boundary=B0undary",
                  up, (size_t)h + 1000, NULL);
    expect_problem(&r, 400, "invalid-multipart", NULL);
    free(up);
    /* headers over max_header_kb (16 KiB) */
    char *hdr = malloc(20000);
    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'h', 19000);
    hdr[19007] = '\0';
    const char *extra[] = {hdr, NULL};
    r = test_http(&s, "GET", "/v1/sources", s.admin_key, NULL, NULL, 0, extra);
    expect_problem(&r, 431, "headers-too-large", NULL);
    free(hdr);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), 1); /* nothing refused was queued */
    still_serving();
}

static void uploads(void) {
    static const char mp[] =
        "--XX\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nwiki\r\n"
        "--XX\r\nContent-Disposition: form-data; name=\"acl\"\r\n\r\ngroup:eng\r\n"
        "--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"../../notes.md\"\r\n"
        "Content-Type: text/markdown\r\n\r\n# Upload heading\n\nA kumquat paragraph.\n\r\n"
        "--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"b.html\"\r\n\r\n"
        "<html><head><title>Page</title></head><body><p>kumquat html</p></body></html>\r\n"
        "--XX--\r\n";
    /* ?wait: the files are searched right after. One job per file, each
     * reporting what it did. */
    test_resp r = test_http(&s, "POST", "/v1/files?wait=10", s.admin_key,
                            "multipart/form-data; boundary=XX", mp, sizeof mp - 1, NULL);
    CHECK_INT(r.status, 200);
    json_t *files = json_object_get(r.json, "files");
    CHECK_INT(json_array_size(files), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(files, 0), "name")), "notes.md");
    json_t *jobs = json_object_get(r.json, "jobs");
    CHECK_INT(json_array_size(jobs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *j = json_array_get(jobs, i);
        CHECK_STR(json_string_value(json_object_get(j, "state")), "done");
        CHECK_STR(json_string_value(json_object_get(j, "kind")), "file");
        CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "result"), "added")), 1);
    }
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=kumquat&source=wiki", s.admin_key);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 2);
    test_resp_free(&r);
    /* The uploads carry the acl field: a key without group:eng sees neither. */
    char kx[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", "[\"user:x@example.com\"]", kx, sizeof kx));
    r = test_get(&s, "/v1/search?q=kumquat", kx);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 0);
    test_resp_free(&r);
    /* No temporary file is left behind. */
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s/tmp", s.dir);
    DIR *d = opendir(tmp);
    int left = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') left++;
    if (d) closedir(d);
    CHECK_INT(left, 0);
    /* The uploads waited in the tenant's blob directory for their jobs; a
     * done job's blob is removed (just after the job is marked done). */
    snprintf(tmp, sizeof tmp, "%s/blobs/default", s.dir);
    for (int i = 0; i < 40; i++) {
        left = 0;
        d = opendir(tmp);
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.') left++;
        if (d) closedir(d);
        if (!left) break;
        test_sleep_ms(50);
    }
    CHECK_INT(left, 0);
}

static void slow_clients(void) {
    /* slowloris: a request line, then a header byte per 500 ms; the server
     * must cut it after header_timeout_s (2 s here) while serving others. */
    int fd = connect_raw();
    CHECK(fd >= 0);
    const char *line = "GET /v1/sources HTTP/1.1\r\nHost: x\r\n";
    CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
    int64_t t0 = lore_mono_ns();
    int closed = 0;
    for (int i = 0; i < 20 && !closed; i++) {
        if (write(fd, "X", 1) != 1) closed = 1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 500) > 0) {
            char buf[256];
            if (read(fd, buf, sizeof buf) <= 0) closed = 1;
        }
        if (i == 2) still_serving();
    }
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    CHECK(closed);
    CHECK(secs < 6.0);
    close(fd);
    /* an idle connection that never sends anything is closed after
     * idle_timeout_s (3 s here) */
    fd = connect_raw();
    char buf[256];
    CHECK(test_read_until_close(fd, buf, sizeof buf, 8000) >= 0);
    close(fd);
    /* a body that stops arriving */
    fd = connect_raw();
    const char *req = "POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\nAuthorization: Bearer ";
    CHECK(write(fd, req, strlen(req)) > 0);
    CHECK(write(fd, s.admin_key, strlen(s.admin_key)) > 0);
    CHECK(write(fd, "\r\n\r\n{\"qu", 9) == 9);
    CHECK(test_read_until_close(fd, buf, sizeof buf, 15000) >= 0);
    close(fd);
    still_serving();
}

static void hygiene(void) {
    test_resp r = test_get(&s, "/v1/sources", s.admin_key);
    char h[256];
    CHECK(test_resp_header(&r, "X-Content-Type-Options", h, sizeof h) && !strcmp(h, "nosniff"));
    CHECK(test_resp_header(&r, "Referrer-Policy", h, sizeof h) != NULL);
    CHECK(test_resp_header(&r, "Cache-Control", h, sizeof h) && !strcmp(h, "no-store"));
    CHECK(test_resp_header(&r, "X-Request-Id", h, sizeof h) && strlen(h) > 8);
    CHECK(test_resp_header(&r, "Access-Control-Allow-Origin", h, sizeof h) == NULL);
    test_resp_free(&r);
    /* a client's request id is echoed, in the header and in problems */
    const char *rid[] = {"X-Request-Id: trace-abc.123", NULL};
    r = test_http(&s, "GET", "/v1/missing", s.admin_key, NULL, NULL, 0, rid);
    CHECK(test_resp_header(&r, "X-Request-Id", h, sizeof h) && !strcmp(h, "trace-abc.123"));
    CHECK_STR(json_string_value(json_object_get(r.json, "request_id")), "trace-abc.123");
    test_resp_free(&r);
    /* a hostile one is replaced */
    const char *bad[] = {"X-Request-Id: <script>", NULL};
    r = test_http(&s, "GET", "/health/live", NULL, NULL, NULL, 0, bad);
    CHECK(test_resp_header(&r, "X-Request-Id", h, sizeof h) && !strchr(h, '<'));
    test_resp_free(&r);
    /* CORS: the allowed origin gets headers and a preflight, others not */
    const char *ok[] = {"Origin: https://app.example.com", NULL};
    r = test_http(&s, "GET", "/v1/sources", s.admin_key, NULL, NULL, 0, ok);
    CHECK(test_resp_header(&r, "Access-Control-Allow-Origin", h, sizeof h) &&
          !strcmp(h, "https://app.example.com"));
    test_resp_free(&r);
    const char *evil[] = {"Origin: https://evil.example.com", NULL};
    r = test_http(&s, "GET", "/v1/sources", s.admin_key, NULL, NULL, 0, evil);
    CHECK(test_resp_header(&r, "Access-Control-Allow-Origin", h, sizeof h) == NULL);
    test_resp_free(&r);
    const char *pre[] = {"Origin: https://app.example.com", "Access-Control-Request-Method: POST",
                         NULL};
    r = test_http(&s, "OPTIONS", "/v1/search", NULL, NULL, NULL, 0, pre);
    CHECK_INT(r.status, 204);
    CHECK(test_resp_header(&r, "Access-Control-Allow-Methods", h, sizeof h) && strstr(h, "POST"));
    test_resp_free(&r);
    const char *pre_evil[] = {"Origin: https://evil.example.com",
                              "Access-Control-Request-Method: POST", NULL};
    r = test_http(&s, "OPTIONS", "/v1/search", NULL, NULL, NULL, 0, pre_evil);
    expect_problem(&r, 403, "cors-origin-denied", NULL);
}

static void metrics(void) {
    test_resp r = test_get(&s, "/metrics", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "lore_http_requests_total{route=\"/v1/search\""));
    CHECK(r.body && strstr(r.body, "lore_http_request_duration_seconds_bucket"));
    CHECK(r.body && strstr(r.body, "lore_search_duration_seconds_count"));
    CHECK(r.body && strstr(r.body, "lore_tenant_documents{tenant=\"default\"}"));
    CHECK(r.body && strstr(r.body, "lore_build_info{version="));
    CHECK(r.body && strstr(r.body, "process_resident_memory_bytes"));
    CHECK(r.body && strstr(r.body, "status=\"413\""));
    test_resp_free(&r);
}

static void rate_limits(void) {
    /* A server of its own with tight budgets: rate_read_per_min 60 (a burst
     * of 10, then 429 with Retry-After), rate_anon_per_min 30. */
    test_server main_server = s;
    const char *env[] = {"LORE_RATE_READ_PER_MIN=60", "LORE_RATE_ANON_PER_MIN=30",
                         "LORE_METRICS_PUBLIC=0", NULL};
    if (test_server_start(&s, NULL, env)) {
        CHECK(0);
        s = main_server;
        return;
    }
    /* metrics_public = 0: /metrics wants a server key */
    test_resp m = test_get(&s, "/metrics", NULL);
    CHECK_INT(m.status, 401);
    test_resp_free(&m);
    m = test_get(&s, "/metrics", s.admin_key);
    CHECK_INT(m.status, 200);
    test_resp_free(&m);
    char key[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\",\"write\"]", NULL, key, sizeof key));
    int limited = 0, ok = 0;
    char h[64];
    for (int i = 0; i < 30 && !limited; i++) {
        test_resp r = test_get(&s, "/v1/sources", key);
        if (r.status == 200) {
            ok++;
            CHECK(test_resp_header(&r, "RateLimit-Remaining", h, sizeof h) != NULL);
        } else {
            limited = 1;
            CHECK(test_resp_header(&r, "Retry-After", h, sizeof h) && atoi(h) >= 1);
            CHECK(test_resp_header(&r, "RateLimit-Limit", h, sizeof h) != NULL);
            expect_problem(&r, 429, "rate-limited", NULL);
            continue;
        }
        test_resp_free(&r);
    }
    CHECK(limited);
    CHECK(ok >= 10 && ok <= 12);
    /* the same key's write budget is its own */
    test_resp wr =
        test_post_json(&s, "/v1/documents?wait=10", key, "{\"id\":\"rl\",\"text\":\"t\"}");
    CHECK_INT(wr.status, 200);
    test_resp_free(&wr);
    /* another key is not affected */
    test_resp other = test_get(&s, "/v1/sources", s.admin_key);
    CHECK_INT(other.status, 200);
    test_resp_free(&other);
    /* unauthenticated: failed keys spend the address's budget (rate_anon 30) */
    int anon_limited = 0;
    for (int i = 0; i < 40 && !anon_limited; i++) {
        test_resp r = test_get(&s, "/v1/sources",
                               "lore_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        if (r.status == 429) anon_limited = 1;
        test_resp_free(&r);
    }
    CHECK(anon_limited);
    /* probes are never limited */
    for (int i = 0; i < 50; i++) {
        test_resp r = test_get(&s, "/health/live", NULL);
        CHECK_INT(r.status, 200);
        test_resp_free(&r);
    }
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(s.dir);
    s = main_server;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *env[] = {"LORE_MAX_BODY_KB=64",
                         "LORE_MAX_UPLOAD_MB=1",
                         "LORE_HEADER_TIMEOUT_S=2",
                         "LORE_IDLE_TIMEOUT_S=3",
                         "LORE_MIN_BODY_RATE_KB=1",
                         "LORE_CORS_ORIGINS=https://app.example.com, https://other.example.com",
                         "LORE_RATE_READ_PER_MIN=0",
                         "LORE_RATE_ANON_PER_MIN=0",
                         "LORE_RATE_ADMIN_PER_MIN=0",
                         "LORE_RATE_WRITE_PER_MIN=0",
                         NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                                 "{\"id\":\"sentinel\",\"text\":\"the sentinel document\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    bad_json();
    wrong_routes_and_types();
    oversized();
    uploads();
    hygiene();
    slow_clients();
    metrics();
    rate_limits();
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
