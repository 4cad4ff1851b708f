/* Serving the embedded web page (web.h). */
#include "web/web.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "crypto/sha256.h"

/* Each file of src/web/assets/ is embedded by the assembler (LORE_WEB_ASSETS
 * is set by CMake, which also rebuilds this file when an asset changes);
 * tests/web/test_web_assets.c checks that this list and the folder agree. */
#define INCBIN(sym, file)                                                                          \
    __asm__(".section .rodata\n"                                                                   \
            ".global " #sym "\n" #sym ":\n"                                                        \
            ".incbin \"" LORE_WEB_ASSETS "/" file "\"\n"                                           \
            ".global " #sym "_end\n" #sym "_end:\n"                                                \
            ".byte 0\n"                                                                            \
            ".previous\n");                                                                        \
    extern const char sym[], sym##_end[]

INCBIN(web_index_html, "index.html");
INCBIN(web_app_css, "app.css");
INCBIN(web_app_js, "app.js");
INCBIN(web_api_js, "api.js");
INCBIN(web_dom_js, "dom.js");
INCBIN(web_search_js, "search.js");
INCBIN(web_doc_js, "doc.js");
INCBIN(web_upload_js, "upload.js");
INCBIN(web_admin_js, "admin.js");
INCBIN(web_icon_svg, "icon.svg");

#define JS "text/javascript; charset=utf-8"

typedef struct asset {
    const char *name, *type;
    const char *start, *end;
    /* prepared by init */
    char *body; /* index.html with its version filled in; else NULL (start..end) */
    size_t len;
    unsigned char *gz; /* NULL when gzip does not make it smaller */
    size_t gzlen;
    char etag[24], etag_gz[28];
} asset;

static asset assets[] = {
    {.name = "index.html",
     .type = "text/html; charset=utf-8",
     .start = web_index_html,
     .end = web_index_html_end},
    {.name = "app.css",
     .type = "text/css; charset=utf-8",
     .start = web_app_css,
     .end = web_app_css_end},
    {.name = "app.js", .type = JS, .start = web_app_js, .end = web_app_js_end},
    {.name = "api.js", .type = JS, .start = web_api_js, .end = web_api_js_end},
    {.name = "dom.js", .type = JS, .start = web_dom_js, .end = web_dom_js_end},
    {.name = "search.js", .type = JS, .start = web_search_js, .end = web_search_js_end},
    {.name = "doc.js", .type = JS, .start = web_doc_js, .end = web_doc_js_end},
    {.name = "upload.js", .type = JS, .start = web_upload_js, .end = web_upload_js_end},
    {.name = "admin.js", .type = JS, .start = web_admin_js, .end = web_admin_js_end},
    {.name = "icon.svg", .type = "image/svg+xml", .start = web_icon_svg, .end = web_icon_svg_end},
};
#define NASSETS (sizeof assets / sizeof assets[0])

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char version[17];
static int ready; /* 0 when init ran out of memory: answers are 503 */

static const char *data(const asset *a) {
    return a->body ? a->body : a->start;
}

/* gzip of a->body into a->gz, kept only when it saves bytes. */
static void compress_asset(asset *a) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return;
    uLong cap = deflateBound(&z, (uLong)a->len);
    unsigned char *out = malloc(cap);
    if (out) {
        z.next_in = (Bytef *)(uintptr_t)data(a);
        z.avail_in = (uInt)a->len;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < a->len) {
            a->gz = out;
            a->gzlen = z.total_out;
            out = NULL;
        }
        free(out);
    }
    deflateEnd(&z);
}

/* index.html names its assets as /assets/{{V}}/name: the version goes in. */
static int fill_version(asset *a) {
    static const char mark[] = "{{V}}";
    size_t n = 0, len = (size_t)(a->end - a->start);
    for (const char *p = a->start; (p = memmem(p, len - (size_t)(p - a->start), mark, 5)); p += 5)
        n++;
    char *out = malloc(len + n * (16 - 5) + 1), *w = out;
    if (!out) return 0;
    const char *p = a->start, *e = a->end;
    for (const char *m; (m = memmem(p, (size_t)(e - p), mark, 5)); p = m + 5) {
        memcpy(w, p, (size_t)(m - p));
        w += m - p;
        memcpy(w, version, 16);
        w += 16;
    }
    memcpy(w, p, (size_t)(e - p));
    w += e - p;
    *w = '\0';
    a->body = out;
    a->len = (size_t)(w - out);
    return 1;
}

static void init(void) {
    uint8_t d[32];
    lore_sha256_ctx *c = lore_sha256_new();
    if (!c) return;
    for (size_t i = 0; i < NASSETS; i++) {
        lore_sha256_update(c, assets[i].name, strlen(assets[i].name) + 1);
        lore_sha256_update(c, assets[i].start, (size_t)(assets[i].end - assets[i].start));
    }
    lore_sha256_final(c, d);
    lore_hex(d, 8, version);
    for (size_t i = 0; i < NASSETS; i++) {
        asset *a = &assets[i];
        a->len = (size_t)(a->end - a->start);
        if (!strcmp(a->name, "index.html") && !fill_version(a)) return;
        char hex[17];
        lore_sha256(data(a), a->len, d);
        lore_hex(d, 8, hex);
        snprintf(a->etag, sizeof a->etag, "\"%s\"", hex);
        snprintf(a->etag_gz, sizeof a->etag_gz, "\"%s-gz\"", hex);
        compress_asset(a);
    }
    ready = 1;
}

int web_owns(const char *path) {
    return !strcmp(path, "/") || !strcmp(path, "/index.html") || !strncmp(path, "/assets/", 8);
}

/* 1 when the comma-separated header value lists token (case-insensitive)
 * with a weight other than q=0. */
static int lists(const char *h, const char *token) {
    size_t tl = strlen(token);
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= tl && !strncasecmp(p, token, tl) && (n == tl || p[tl] == ';' || p[tl] == ' ')) {
            char seg[64];
            snprintf(seg, sizeof seg, "%.*s", (int)n, p);
            const char *q = strstr(seg, "q=");
            return !q || strtod(q + 2, NULL) > 0;
        }
        p = e;
    }
    return 0;
}

static void security_headers(http_request *r) {
    http_add_header(r, "Content-Security-Policy", WEB_CSP);
    http_add_header(r, "X-Frame-Options", "DENY");
    http_add_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    http_add_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

const char *web_serve(http_request *r) {
    pthread_once(&once, init);
    const char *path = http_path(r), *m = http_method(r);
    int page = !strcmp(path, "/") || !strcmp(path, "/index.html");
    const char *label = page ? "/" : "/assets";
    security_headers(r);
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        http_add_header(r, "Allow", "GET, HEAD");
        http_problem(r, 405, "method-not-allowed", "Method not allowed",
                     "the web page is read with GET", NULL);
        return label;
    }
    if (!ready) {
        http_problem(r, 503, "out-of-memory", "Server out of memory",
                     "the web page could not be prepared", NULL);
        return label;
    }
    const asset *a = NULL;
    if (page) {
        a = &assets[0];
    } else if (!strncmp(path + 8, version, 16) && path[24] == '/') {
        for (size_t i = 1; i < NASSETS && !a; i++)
            if (!strcmp(path + 25, assets[i].name)) a = &assets[i];
    }
    if (!a) {
        http_problem(r, 404, "not-found", "Not found",
                     "no such asset (asset URLs change with each lore version: reload the page)",
                     NULL);
        return label;
    }
    int gz = a->gz && lists(http_header(r, "Accept-Encoding"), "gzip");
    const char *etag = gz ? a->etag_gz : a->etag;
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Vary", "Accept-Encoding");
    http_add_header(r, "Cache-Control", page ? "no-cache" : "public, max-age=31536000, immutable");
    const char *inm = http_header(r, "If-None-Match");
    if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) {
        http_respond(r, 304, NULL, NULL, 0);
        return label;
    }
    if (gz) {
        http_add_header(r, "Content-Encoding", "gzip");
        http_respond(r, 200, a->type, a->gz, a->gzlen);
    } else {
        http_respond(r, 200, a->type, data(a), a->len);
    }
    return label;
}

size_t web_asset_count(void) {
    return NASSETS;
}

int web_asset_at(size_t i, web_asset_info *out) {
    if (i >= NASSETS) return 0;
    out->name = assets[i].name;
    out->type = assets[i].type;
    out->len = (size_t)(assets[i].end - assets[i].start);
    return 1;
}

const char *web_version(void) {
    pthread_once(&once, init);
    return version;
}
