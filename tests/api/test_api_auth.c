/* The authentication matrix against a real server: every authenticated
 * route, with no key, a malformed header, an unknown key, a revoked key, an
 * expired key, a key without the route's scope, and a key of another
 * tenant. Also: the first-start admin key, revocation taking effect on the
 * next request, keys listed without secrets, and the CLI's key commands
 * seen by the server. */
#include "api/api_int.h"
#include "api/api_test.h"

typedef struct route_case {
    const char *method, *path, *ctype, *body;
    const char *scope; /* read, write, admin, server, any (any live key) */
} route_case;

/* Every authenticated route of the table (test_openapi checks the table
 * against the OpenAPI document; main checks this list against the
 * table's size). {doc}, {key} and {job} are replaced. */
static const route_case routes[] = {
    {"POST", "/v1/documents", "application/json", "{\"id\":\"n1\",\"text\":\"new words\"}",
     "write"},
    {"GET", "/v1/documents", NULL, NULL, "read"},
    {"GET", "/v1/documents/{doc}", NULL, NULL, "read"},
    {"DELETE", "/v1/documents/{doc}", NULL, NULL, "write"},
    {"POST", "/v1/files", "multipart/form-data; boundary=XyZ",
     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello "
     "upload\r\n--XyZ--\r\n",
     "write"},
    {"GET", "/v1/search?q=alpha", NULL, NULL, "read"},
    {"POST", "/v1/search", "application/json", "{\"query\":\"alpha\"}", "read"},
    {"GET", "/v1/sources", NULL, NULL, "read"},
    {"POST", "/v1/tenants", "application/json", "{\"name\":\"t-made\"}", "server"},
    {"GET", "/v1/tenants", NULL, NULL, "server"},
    {"DELETE", "/v1/tenants/nosuch", NULL, NULL, "server"},
    {"POST", "/v1/keys", "application/json", "{\"scopes\":[\"read\"]}", "admin"},
    {"GET", "/v1/keys", NULL, NULL, "admin"},
    {"DELETE", "/v1/keys/{key}", NULL, NULL, "admin"},
    {"GET", "/v1/jobs/{job}", NULL, NULL, "write"},
    {"GET", "/v1/jobs", NULL, NULL, "admin"},
    {"POST", "/v1/jobs/{job}/retry", NULL, NULL, "admin"},
    {"POST", "/v1/reindex", NULL, NULL, "admin"},
    {"POST", "/v1/reembed", NULL, NULL, "admin"},
    {"GET", "/v1/reembed", NULL, NULL, "admin"},
    {"GET", "/v1/stats", NULL, NULL, "admin"},
    {"POST", "/v1/connectors", "application/json", "{\"kind\":\"github\"}", "admin"},
    {"GET", "/v1/connectors", NULL, NULL, "admin"},
    {"DELETE", "/v1/connectors/con_00000000000000000000", NULL, NULL, "admin"},
    {"POST", "/v1/connectors/con_00000000000000000000/rotate-secret", NULL, NULL, "admin"},
    {"POST", "/v1/imports/slack", "multipart/form-data; boundary=XyZ",
     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.zip\"\r\n\r\nnot "
     "a zip\r\n--XyZ--\r\n",
     "admin"},
    {"GET", "/v1/session", NULL, NULL, "any"},
    {"DELETE", "/v1/session", NULL, NULL, "any"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static char doc_id[32], victim_key_id[32], job_id[48];

static void expand(const char *path, char *out, size_t outlen) {
    const char *d = strstr(path, "{doc}"), *k = strstr(path, "{key}"), *j = strstr(path, "{job}");
    if (d)
        snprintf(out, outlen, "%.*s%s", (int)(d - path), path, doc_id);
    else if (k)
        snprintf(out, outlen, "%.*s%s", (int)(k - path), path, victim_key_id);
    else if (j)
        snprintf(out, outlen, "%.*s%s%s", (int)(j - path), path, job_id, j + 5);
    else
        snprintf(out, outlen, "%s", path);
}

static test_resp call(const test_server *s, const route_case *rc, const char *auth_header) {
    char path[256];
    expand(rc->path, path, sizeof path);
    const char *extra[2] = {auth_header, NULL};
    return test_http(s, rc->method, path, NULL, rc->ctype, rc->body,
                     rc->body ? strlen(rc->body) : 0, extra);
}

/* Checks one (route, credential) cell: the status and, for 401, the
 * challenge header and problem type. */
static void expect(const test_server *s, const route_case *rc, const char *auth_header, long status,
                   const char *label) {
    test_resp r = call(s, rc, auth_header);
    if (r.status != status)
        fprintf(stderr, "%s %s with %s: got %ld, want %ld: %s\n", rc->method, rc->path, label,
                r.status, status, r.body ? r.body : "");
    CHECK_INT(r.status, status);
    char h[256];
    if (status == 401) {
        CHECK(test_resp_header(&r, "WWW-Authenticate", h, sizeof h) != NULL);
        CHECK_STR(test_problem_type(&r), "unauthorized");
        CHECK(test_resp_header(&r, "Content-Type", h, sizeof h) &&
              !strcmp(h, "application/problem+json"));
    }
    if (status == 403) CHECK_STR(test_problem_type(&r), "insufficient-scope");
    test_resp_free(&r);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    test_server s;
    const char *env[] = {"LORE_RATE_ANON_PER_MIN=0", "LORE_ACCESS_LOG=1", NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    /* The list above covers every keyed route of the table. */
    size_t keyed = 0;
    for (size_t i = 0; i < api_route_count; i++)
        keyed += api_route_table[i].access >= ACCESS_READ;
    CHECK_INT(keyed, NROUTES);
    CHECK(!strncmp(s.admin_key, "lore_", 5));
    CHECK_INT(strlen(s.admin_key), 61);

    /* A document (written before the routes are tried: ?wait), its job and
     * a victim key to aim routes at. */
    test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                                 "{\"id\":\"d1\",\"title\":\"Alpha\",\"text\":\"alpha words\"}");
    CHECK_INT(r.status, 200);
    snprintf(doc_id, sizeof doc_id, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "documents"), 0), "id")));
    snprintf(job_id, sizeof job_id, "%s", test_job_id(&r).s);
    CHECK(test_job_id_shaped(job_id));
    test_resp_free(&r);
    char victim[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", NULL, victim, sizeof victim));
    snprintf(victim_key_id, sizeof victim_key_id, "%.12s", victim + 5);

    /* Keys for each scope, a revoked one, an expiring one, another tenant's. */
    char kread[96], kwrite[96], kadmin[96], krevoked[96], kexpiring[96], kother[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", NULL, kread, sizeof kread));
    CHECK(!test_make_key(&s, s.admin_key, "[\"write\"]", NULL, kwrite, sizeof kwrite));
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\",\"write\",\"admin\"]", NULL, kadmin,
                         sizeof kadmin));
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\",\"write\",\"admin\"]", NULL, krevoked,
                         sizeof krevoked));
    CHECK(!test_make_tenant(&s, "other", kother, sizeof kother));
    {
        char body[256], when[40];
        time_t t = time(NULL) + 2;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        snprintf(body, sizeof body,
                 "{\"scopes\":[\"read\",\"write\",\"admin\"],\"expires_at\":\"%s\"}", when);
        r = test_post_json(&s, "/v1/keys", s.admin_key, body);
        CHECK_INT(r.status, 201);
        snprintf(kexpiring, sizeof kexpiring, "%s",
                 json_string_value(json_object_get(r.json, "key"))
                     ? json_string_value(json_object_get(r.json, "key"))
                     : "");
        test_resp_free(&r);
    }
    /* The revoked key works, is revoked, and fails on the very next request. */
    char hdr[160], path[64];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", krevoked);
    expect(&s, &routes[1], hdr, 200, "key before revocation");
    snprintf(path, sizeof path, "/v1/keys/%.12s", krevoked + 5);
    r = test_delete(&s, path, s.admin_key);
    CHECK_INT(r.status, 204);
    test_resp_free(&r);
    sleep(3); /* the expiring key is now expired */

    for (size_t i = 0; i < NROUTES; i++) {
        const route_case *rc = &routes[i];
        expect(&s, rc, NULL, 401, "no key");
        expect(&s, rc, "Authorization: Basic dXNlcjpwYXNz", 401, "Basic auth");
        expect(&s, rc, "Authorization: Bearer", 401, "empty bearer");
        expect(&s, rc, "Authorization: Bearer not-a-lore-key", 401, "malformed key");
        /* Right shape, unknown id; then a known id with a wrong secret. */
        expect(
            &s, rc,
            "Authorization: Bearer lore_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            401, "unknown key");
        char forged[160];
        snprintf(forged, sizeof forged,
                 "Authorization: Bearer %.18sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", kread);
        expect(&s, rc, forged, 401, "wrong secret");
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", krevoked);
        expect(&s, rc, hdr, 401, "revoked key");
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", kexpiring);
        expect(&s, rc, hdr, 401, "expired key");
        /* Wrong scope: a read key on write/admin/server routes, a write key
         * on read routes. */
        const char *wrong = !strcmp(rc->scope, "read") ? kwrite : kread;
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", wrong);
        if (strcmp(rc->scope, "any")) expect(&s, rc, hdr, 403, "wrong scope");
        if (!strcmp(rc->scope, "server")) {
            snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", kadmin);
            expect(&s, rc, hdr, 403, "tenant admin on a server route");
        }
    }

    /* Another tenant's admin key: tenant A's document and key do not exist
     * for it (404, never 403), its listings and searches are empty. */
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", kother);
    expect(&s, &routes[2], hdr, 404, "other tenant: get");
    expect(&s, &routes[3], hdr, 404, "other tenant: delete doc");
    expect(&s, &routes[13], hdr, 404, "other tenant: revoke key");
    expect(&s, &routes[9], hdr, 403, "other tenant: list tenants");
    expect(&s, &routes[14], hdr, 404, "other tenant: get job");
    expect(&s, &routes[16], hdr, 404, "other tenant: retry job");
    r = test_get(&s, "/v1/jobs", kother);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "jobs")), 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=alpha", kother);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/documents", kother);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 0);
    test_resp_free(&r);
    /* The victim key still works: the other tenant's revoke did nothing. */
    r = test_get(&s, "/v1/sources", victim);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);

    /* Keys are listed without secrets or hashes. */
    r = test_get(&s, "/v1/keys", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strstr(r.body, kread + 18) && !strstr(r.body, "hash"));
    CHECK(json_array_size(json_object_get(r.json, "keys")) >= 6);
    test_resp_free(&r);
    /* An admin key cannot mint a server key. */
    r = test_post_json(&s, "/v1/keys", kadmin, "{\"scopes\":[\"server\"]}");
    CHECK_INT(r.status, 403);
    test_resp_free(&r);

    /* Probes need no key. */
    r = test_get(&s, "/health/live", NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_get(&s, "/health/ready", NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);

    /* The access log names the key by its prefix and never holds a secret. */
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    char logp[600];
    snprintf(logp, sizeof logp, "%s/server.log", s.dir);
    FILE *lf = fopen(logp, "r");
    CHECK(lf != NULL);
    size_t lines = 0, secrets = 0, prefixed = 0;
    char line[4096];
    while (lf && fgets(line, sizeof line, lf)) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o) continue;
        if (json_object_get(o, "route")) lines++;
        if (strstr(line, kread + 18) || strstr(line, s.admin_key + 18)) secrets++;
        const char *k = json_string_value(json_object_get(o, "key"));
        if (k && !strncmp(k, "lore_", 5) && strlen(k) == 17) prefixed++;
        json_decref(o);
    }
    if (lf) fclose(lf);
    CHECK(lines > NROUTES * 8);
    CHECK_INT(secrets, 0);
    CHECK(prefixed > 0);
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
