/* The embedded web page (src/web/): every file of src/web/assets/ is
 * embedded and served; the page's security headers (a strict CSP without
 * inline script or style, no framing); caching (ETag, 304, immutable
 * versioned assets, a stale version refused); gzip when accepted; no
 * asset that could turn server text into HTML (innerHTML and friends); and
 * elements made only by dom.js's h() (its allow-lists are tested in the
 * browser, tests/web/e2e.mjs). */
#include <dirent.h>

#include "api/api_test.h"
#include "web/web.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static const web_asset_info *find(const char *name, web_asset_info *out) {
    for (size_t i = 0; i < web_asset_count(); i++)
        if (web_asset_at(i, out) && !strcmp(out->name, name)) return out;
    return NULL;
}

/* The folder and the embedded list agree, and no asset holds a way to put
 * text into the page as HTML, or inline script or style. */
static void check_assets(void) {
    const char *src = getenv("LORE_TEST_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/src/web/assets", src ? src : ".");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    size_t files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        files++;
        web_asset_info a;
        if (!find(e->d_name, &a))
            fprintf(stderr, "%s is not embedded (add it to web.c)\n", e->d_name);
        CHECK(find(e->d_name, &a) != NULL);
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t n = 0;
        char *b = slurp(p, &n);
        CHECK(b != NULL);
        if (!b) continue;
        CHECK_INT(n, a.len);
        static const char *const banned[] = {"innerHTML",      "outerHTML", "insertAdjacentHTML",
                                             "document.write", "eval(",     "new Function",
                                             "localStorage",   "style="};
        for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
            if (strstr(b, banned[i])) {
                fprintf(stderr, "%s uses %s\n", e->d_name, banned[i]);
                CHECK(0);
            }
        /* Elements and attributes go through dom.js's h() and its
         * allow-lists; elsewhere only fixed aria-* attributes are set. */
        size_t nl = strlen(e->d_name);
        if (nl > 3 && !strcmp(e->d_name + nl - 3, ".js") && strcmp(e->d_name, "dom.js")) {
            static const char *const outside[] = {"createElement", ".src", "srcdoc",
                                                  ".href =", ".setAttributeNS"};
            for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
                if (strstr(b, outside[i])) {
                    fprintf(stderr, "%s uses %s (make elements with h())\n", e->d_name, outside[i]);
                    CHECK(0);
                }
            for (const char *s = b; (s = strstr(s, "setAttribute(")); s++)
                if (strncmp(s + 13, "'aria-", 6)) {
                    fprintf(stderr, "%s sets an attribute other than aria-* (%.40s)\n", e->d_name,
                            s);
                    CHECK(0);
                }
        }
        if (!strcmp(e->d_name, "index.html")) {
            CHECK(!strstr(b, "<style"));
            /* every script is loaded from a file */
            for (const char *s = b; (s = strstr(s, "<script")); s++)
                CHECK(!strncmp(s, "<script type=\"module\" src=\"/assets/{{V}}/", 41));
        }
        free(b);
    }
    if (d) closedir(d);
    CHECK_INT(files, web_asset_count());
    CHECK_INT(strlen(web_version()), 16);
}

static void check_security(const test_resp *r) {
    char v[512];
    CHECK(test_resp_header(r, "Content-Security-Policy", v, sizeof v) && !strcmp(v, WEB_CSP));
    CHECK(strstr(v, "frame-ancestors 'none'") && strstr(v, "script-src 'self';") &&
          !strstr(v, "unsafe"));
    CHECK(test_resp_header(r, "X-Frame-Options", v, sizeof v) && !strcmp(v, "DENY"));
    CHECK(test_resp_header(r, "X-Content-Type-Options", v, sizeof v) && !strcmp(v, "nosniff"));
    CHECK(test_resp_header(r, "Referrer-Policy", v, sizeof v) && !strcmp(v, "no-referrer"));
}

/* Any other answer of lore (the API's JSON, its errors) is data: a browser
 * opening it may load nothing from it and frame it nowhere. */
static void check_data_policy(const test_resp *r) {
    char v[512];
    CHECK(test_resp_header(r, "Content-Security-Policy", v, sizeof v) &&
          !strcmp(v, "default-src 'none'; frame-ancestors 'none'"));
    CHECK(test_resp_header(r, "X-Content-Type-Options", v, sizeof v) && !strcmp(v, "nosniff"));
}

int main(void) {
    check_assets();
    curl_global_init(CURL_GLOBAL_ALL);
    test_server s;
    if (test_server_start(&s, NULL, NULL)) return 1;
    char v[512], etag[64], path[256];

    /* The page: no key needed, revalidated, its asset URLs versioned. */
    test_resp r = test_get(&s, "/", NULL);
    CHECK_INT(r.status, 200);
    check_security(&r);
    CHECK(test_resp_header(&r, "Content-Type", v, sizeof v) && !strncmp(v, "text/html", 9));
    CHECK(test_resp_header(&r, "Cache-Control", v, sizeof v) && !strcmp(v, "no-cache"));
    CHECK(test_resp_header(&r, "ETag", etag, sizeof etag) != NULL);
    snprintf(path, sizeof path, "/assets/%s/app.js", web_version());
    CHECK(r.body && strstr(r.body, path) && !strstr(r.body, "{{V}}"));
    test_resp_free(&r);
    r = test_get(&s, "/index.html", NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    char inm[96];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *cond[] = {inm, NULL};
    r = test_http(&s, "GET", "/", NULL, NULL, NULL, 0, cond);
    CHECK_INT(r.status, 304);
    CHECK_INT(r.len, 0);
    check_security(&r);
    test_resp_free(&r);

    /* An asset: a year of cache, gzip when asked for, 304 by ETag. */
    r = test_get(&s, path, NULL);
    CHECK_INT(r.status, 200);
    check_security(&r);
    CHECK(test_resp_header(&r, "Content-Type", v, sizeof v) && !strncmp(v, "text/javascript", 15));
    CHECK(test_resp_header(&r, "Cache-Control", v, sizeof v) &&
          !strcmp(v, "public, max-age=31536000, immutable"));
    CHECK(!test_resp_header(&r, "Content-Encoding", v, sizeof v));
    web_asset_info a;
    CHECK(find("app.js", &a) && r.len == a.len);
    test_resp_free(&r);
    const char *gz[] = {"Accept-Encoding: br, gzip;q=0.8", NULL};
    r = test_http(&s, "GET", path, NULL, NULL, NULL, 0, gz);
    CHECK_INT(r.status, 200);
    CHECK(test_resp_header(&r, "Content-Encoding", v, sizeof v) && !strcmp(v, "gzip"));
    CHECK(r.len > 0 && r.len < a.len && (unsigned char)r.body[0] == 0x1f);
    CHECK(test_resp_header(&r, "ETag", etag, sizeof etag) && strstr(etag, "-gz"));
    test_resp_free(&r);
    const char *nogz[] = {"Accept-Encoding: gzip;q=0", NULL};
    r = test_http(&s, "GET", path, NULL, NULL, NULL, 0, nogz);
    CHECK(!test_resp_header(&r, "Content-Encoding", v, sizeof v) && r.len == a.len);
    test_resp_free(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *cond2[] = {inm, "Accept-Encoding: gzip", NULL};
    r = test_http(&s, "GET", path, NULL, NULL, NULL, 0, cond2);
    CHECK_INT(r.status, 304);
    test_resp_free(&r);
    r = test_http(&s, "HEAD", path, NULL, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);

    /* Every embedded asset is served with its type. */
    for (size_t i = 1; i < web_asset_count(); i++) {
        CHECK(web_asset_at(i, &a));
        snprintf(path, sizeof path, "/assets/%s/%s", web_version(), a.name);
        r = test_get(&s, path, NULL);
        CHECK_INT(r.status, 200);
        CHECK(test_resp_header(&r, "Content-Type", v, sizeof v) && !strcmp(v, a.type));
        test_resp_free(&r);
    }

    /* Stale versions, unknown names, the page by its asset path, other
     * methods, and paths that try to climb out are refused. */
    static const char *const missing[] = {"/assets/0000000000000000/app.js", "/assets/app.js",
                                          "/assets/", "/assets/x/../../../etc/passwd"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        r = test_get(&s, missing[i], NULL);
        CHECK_INT(r.status, 404);
        /* error answers too: a browser shows them. "/x/../../../etc/passwd"
         * is sent as /etc/passwd, an API path: data, with a policy of its own */
        if (strstr(missing[i], ".."))
            check_data_policy(&r);
        else
            check_security(&r);
        test_resp_free(&r);
    }
    snprintf(path, sizeof path, "/assets/%s/index.html", web_version());
    r = test_get(&s, path, NULL);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    snprintf(path, sizeof path, "/assets/%s/nosuch.js", web_version());
    r = test_get(&s, path, NULL);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
    r = test_http(&s, "POST", "/", NULL, "application/x-www-form-urlencoded", "a=b", 3, NULL);
    CHECK_INT(r.status, 405);
    check_security(&r);
    CHECK(test_resp_header(&r, "Allow", v, sizeof v) && !strcmp(v, "GET, HEAD"));
    test_resp_free(&r);

    r = test_get(&s, "/v1/openapi.json", NULL);
    CHECK_INT(r.status, 200);
    check_data_policy(&r);
    test_resp_free(&r);
    r = test_get(&s, "/v1/documents", NULL);
    CHECK_INT(r.status, 401);
    check_data_policy(&r);
    test_resp_free(&r);

    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
