/* POST /v1/imports/slack against a real `lore serve`: a generated export
 * (tests/support/slackgen.c, with its bad day file, bad message and
 * direct-message folders) uploaded as multipart becomes one job whose
 * result counts channels, messages and documents and names the bad file;
 * the documents are searchable under the source; uploading it again
 * changes nothing; a connector's source and ACL apply; refusals: no file,
 * an unknown connector, connector with source, a key without scope admin,
 * and a file that is no ZIP (the job fails with the reason). */
#include "api/api_test.h"
#include "support/slackgen.h"

static char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* A multipart body: fields ("name", "value" pairs, NULL-terminated) and
 * one file part when data is non-NULL. */
static char *multipart(const char *const *fields, const char *data, size_t len, size_t *out_len) {
    size_t cap = len + 4096, used = 0;
    char *b = malloc(cap);
    for (size_t i = 0; fields && fields[i]; i += 2)
        used +=
            (size_t)snprintf(b + used, cap - used,
                             "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                             fields[i], fields[i + 1]);
    if (data) {
        used += (size_t)snprintf(b + used, cap - used,
                                 "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"Acme Slack export.zip\"\r\nContent-Type: "
                                 "application/zip\r\n\r\n");
        memcpy(b + used, data, len);
        used += len;
        used += (size_t)snprintf(b + used, cap - used, "\r\n");
    }
    used += (size_t)snprintf(b + used, cap - used, "--XyZ--\r\n");
    *out_len = used;
    return b;
}

static test_resp upload(const test_server *s, const char *key, const char *const *fields,
                        const char *data, size_t len) {
    size_t n;
    char *body = multipart(fields, data, len, &n);
    test_resp r = test_http(s, "POST", "/v1/imports/slack?wait=120", key,
                            "multipart/form-data; boundary=XyZ", body, n, NULL);
    free(body);
    return r;
}

static long long res_num(const test_resp *r, const char *k) {
    json_t *res = json_object_get(json_object_get(r->json, "job"), "result");
    return (long long)json_integer_value(json_object_get(res, k));
}

static const char *job_state(const test_resp *r) {
    const char *s = json_string_value(json_object_get(json_object_get(r->json, "job"), "state"));
    return s ? s : "";
}

int main(void) {
    test_seed();
    slackgen_seed(test_rand());
    test_server s;
    if (test_server_start(&s, NULL, NULL)) return 1;
    char admin[128], writer[128];
    CHECK(test_make_tenant(&s, "acme", admin, sizeof admin) == 0);
    CHECK(test_make_key(&s, admin, "[\"read\", \"write\"]", NULL, writer, sizeof writer) == 0);
    char zpath[600];
    snprintf(zpath, sizeof zpath, "%s/export.zip", s.dir);
    slackgen_cb cb = {0};
    CHECK(slackgen_write(zpath, 3000, 1, &cb) > 0);
    size_t zlen = 0;
    char *zip = slurp(zpath, &zlen);
    CHECK(zip && zlen > 1000);

    /* Refusals, before any job. */
    test_resp r = upload(&s, admin, NULL, NULL, 0);
    CHECK_INT(r.status, 400);
    CHECK(r.body && strstr(r.body, "no file") != NULL);
    test_resp_free(&r);
    const char *bad_conn[] = {"connector", "con_00000000000000000000", NULL};
    r = upload(&s, admin, bad_conn, zip, zlen);
    CHECK_INT(r.status, 400);
    CHECK(r.body && strstr(r.body, "no connector con_00000000000000000000") != NULL);
    test_resp_free(&r);
    const char *both[] = {"connector", "con_00000000000000000000", "source", "x", NULL};
    r = upload(&s, admin, both, zip, zlen);
    CHECK_INT(r.status, 400);
    test_resp_free(&r);
    r = upload(&s, writer, NULL, zip, zlen);
    CHECK_INT(r.status, 403);
    test_resp_free(&r);

    /* The import. */
    const char *fields[] = {"source", "slack", NULL};
    r = upload(&s, admin, fields, zip, zlen);
    CHECK_INT(r.status, 200);
    CHECK_STR(job_state(&r), "done");
    if (r.status != 200 || strcmp(job_state(&r), "done"))
        fprintf(stderr, "upload: %ld %s\n", r.status, r.body ? r.body : "");
    CHECK_INT(res_num(&r, "channels"), 40);
    CHECK_INT(res_num(&r, "private_channels"), 10);
    CHECK_INT(res_num(&r, "files_failed"), 1);
    CHECK_INT(res_num(&r, "files_skipped"), 2);
    CHECK_INT(res_num(&r, "messages_failed"), 1);
    CHECK(res_num(&r, "messages") > 2900);
    long long added = res_num(&r, "added");
    CHECK(added > 50);
    CHECK(r.body && strstr(r.body, "chan-07/2019-12-31.json") != NULL);
    CHECK(r.body && strstr(r.body, "bad JSON") != NULL);
    test_resp_free(&r);
    r = test_get(&s, "/v1/sources", admin);
    CHECK(r.body && strstr(r.body, "\"slack\"") != NULL);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=deploybot&source=slack", admin);
    CHECK_INT(r.status, 200);
    CHECK(json_array_size(json_object_get(r.json, "hits")) > 0);
    test_resp_free(&r);

    /* Again: nothing changes. */
    r = upload(&s, admin, fields, zip, zlen);
    CHECK_STR(job_state(&r), "done");
    CHECK_INT(res_num(&r, "added"), 0);
    CHECK_INT(res_num(&r, "updated"), 0);
    test_resp_free(&r);

    /* A file that is no ZIP: the job fails and says why. */
    r = upload(&s, admin, fields, "just some notes, not an archive at all", 38);
    CHECK_STR(job_state(&r), "dead");
    CHECK(r.body && strstr(r.body, "not a ZIP archive") != NULL);
    test_resp_free(&r);

    free(zip);
    test_server_stop(&s, SIGTERM);
    if (test_failed) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "tail -40 '%s/server.log' >&2", s.dir);
        if (system(cmd) != 0) fprintf(stderr, "no server log\n");
    }
    test_rmtree(s.dir);
    return test_summary();
}
