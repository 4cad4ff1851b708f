/* Long queries, more like this and query encoding through the real server:
 * a 600-word query and a pasted 4 KB paragraph answer 200 with hits by GET
 * and POST, naming the dropped (least selective) terms; like= returns the
 * document first and answers a hidden document like a missing one; q that
 * is not UTF-8 is a 400 problem naming /q. */
#include "api/api_test.h"
#include "search/long_text.h"
#include "store/store.h"

static test_server s;

/* The query string form of text: every byte outside [A-Za-z0-9] escaped. */
static char *urlenc(const char *text) {
    char *o = malloc(strlen(text) * 3 + 1), *p = o;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    *p = '\0';
    return o;
}

static void put(const char *ext, const char *title, const char *text, const char *acl) {
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:s}", "id", ext, "source", "lt", "title", title, "text", text);
    if (acl) json_object_set_new(d, "acl", json_pack("[s]", acl));
    char *body = json_dumps(d, JSON_COMPACT);
    test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key, body);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    free(body);
    json_decref(d);
}

static void check_dropped(const test_resp *r, size_t want) {
    json_t *d = json_object_get(r->json, "dropped_terms");
    CHECK(json_is_array(d));
    CHECK_INT(json_array_size(d), want);
    CHECK_INT(json_integer_value(json_object_get(r->json, "dropped_total")), want);
    for (size_t i = 0; i < json_array_size(d); i++)
        CHECK(lt_is_common(json_string_value(json_array_get(d, i))));
}

static const char *hit_ext(const test_resp *r, size_t i) {
    json_t *h = json_array_get(json_object_get(r->json, "hits"), i);
    const char *e = json_string_value(json_object_get(h, "external_id"));
    return e ? e : "";
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *env[] = {"LORE_RATE_ANON_PER_MIN=0", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    char ext[16], title[32];
    for (int d = 0; d < LT_DOCS; d++) {
        char *text = lt_doc_text(d);
        snprintf(ext, sizeof ext, "lt%d", d);
        snprintf(title, sizeof title, "Fixture %d", d);
        put(ext, title, text, d == 3 ? "group:secret" : NULL);
        free(text);
    }
    put("incident", LT_INCIDENT_TITLE, LT_INCIDENT_TEXT, NULL);

    /* 600 words by GET and POST: every document, the 44 common words dropped */
    char *q600 = lt_query600(), *enc = urlenc(q600);
    char *path = malloc(strlen(enc) + 64);
    sprintf(path, "/v1/search?limit=50&q=%s", enc);
    test_resp r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), LT_DOCS);
    check_dropped(&r, LT_COMMON);
    test_resp_free(&r);
    json_t *body = json_pack("{s:s,s:i}", "query", q600, "limit", 50);
    char *b = json_dumps(body, JSON_COMPACT);
    r = test_post_json(&s, "/v1/search", s.admin_key, b);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), LT_DOCS);
    check_dropped(&r, LT_COMMON);
    test_resp_free(&r);
    free(b);
    json_decref(body);
    free(path);
    free(enc);
    free(q600);

    /* a pasted 4 KB paragraph finds its incident; nothing dropped is listed
     * as an empty array */
    char *para = lt_paragraph();
    enc = urlenc(para);
    path = malloc(strlen(enc) + 64);
    sprintf(path, "/v1/search?q=%s", enc);
    r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_STR(hit_ext(&r, 0), "incident");
    CHECK(json_is_array(json_object_get(r.json, "dropped_terms")));
    test_resp_free(&r);
    body = json_pack("{s:s}", "query", para);
    b = json_dumps(body, JSON_COMPACT);
    r = test_post_json(&s, "/v1/search", s.admin_key, b);
    CHECK_INT(r.status, 200);
    CHECK_STR(hit_ext(&r, 0), "incident");
    test_resp_free(&r);
    free(b);
    json_decref(body);
    free(path);
    free(enc);
    free(para);

    /* like: the document first, by GET and POST */
    char id0[STORE_DOC_ID_LEN + 1], id3[STORE_DOC_ID_LEN + 1], p[256];
    store_doc_public_id("lt", "lt0", id0);
    store_doc_public_id("lt", "lt3", id3);
    snprintf(p, sizeof p, "/v1/search?like=%s&limit=5", id0);
    r = test_get(&s, p, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 5);
    CHECK_STR(hit_ext(&r, 0), "lt0");
    CHECK(!strncmp(hit_ext(&r, 1), "lt", 2));
    test_resp_free(&r);
    snprintf(p, sizeof p, "{\"like\":\"%s\",\"limit\":3}", id0);
    r = test_post_json(&s, "/v1/search", s.admin_key, p);
    CHECK_INT(r.status, 200);
    CHECK_STR(hit_ext(&r, 0), "lt0");
    test_resp_free(&r);
    /* a key that cannot see lt3 gets the same 404 as for a missing id */
    char kx[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", "[\"user:x@example.com\"]", kx, sizeof kx));
    snprintf(p, sizeof p, "/v1/search?like=%s", id3);
    r = test_get(&s, p, kx);
    CHECK_INT(r.status, 404);
    CHECK_STR(test_problem_type(&r), "not-found");
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?like=0123456789abcdef0123", kx);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_get(&s, p, s.admin_key); /* the admin sees it */
    CHECK_INT(r.status, 200);
    CHECK_STR(hit_ext(&r, 0), "lt3");
    test_resp_free(&r);
    snprintf(p, sizeof p, "/v1/search?like=%s&q=x", id0);
    r = test_get(&s, p, s.admin_key);
    CHECK_INT(r.status, 400);
    CHECK_STR(json_string_value(json_object_get(r.json, "pointer")), "/like");
    test_resp_free(&r);

    /* q that is not UTF-8: 400 naming the parameter */
    r = test_get(&s, "/v1/search?q=%ff%fe", s.admin_key);
    CHECK_INT(r.status, 400);
    CHECK_STR(test_problem_type(&r), "invalid-field");
    char h[128];
    CHECK(test_resp_header(&r, "Content-Type", h, sizeof h) &&
          !strcmp(h, "application/problem+json"));
    CHECK_STR(json_string_value(json_object_get(r.json, "pointer")), "/q");
    CHECK(strstr(json_string_value(json_object_get(r.json, "detail")), "UTF-8") != NULL);
    test_resp_free(&r);
    r = test_get(&s, "/v1/search?q=caf%C3%A9+deploy", s.admin_key);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);

    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    curl_global_cleanup();
    return test_summary();
}
