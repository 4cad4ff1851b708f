/* The web page: HTML, CSS and ES modules compiled into the binary (the
 * files of src/web/assets/, embedded by the assembler like openapi.json)
 * and served by `lore serve` at `/` and `/assets/<version>/<name>`.
 *
 * `<version>` is a hash of every asset, so an asset URL never changes
 * meaning: assets are cached for a year (immutable); the page itself is
 * revalidated (no-cache) by its ETag. Each asset is also kept gzipped when
 * that is smaller and sent so to clients that accept it. Every answer
 * carries a strict Content-Security-Policy (scripts, styles, images and
 * connections from this origin only; no inline script or style; no
 * framing), X-Frame-Options DENY and Cross-Origin-Opener-Policy; the server
 * adds X-Content-Type-Options nosniff and Referrer-Policy no-referrer to
 * every response (http_server.c). The page talks to the REST API only,
 * signed in through a session cookie (api/api_session.c).
 *
 * Threads: the assets are prepared once (pthread_once) and read-only
 * after; web_serve may run on any server thread. */
#ifndef LORE_WEB_WEB_H
#define LORE_WEB_WEB_H

#include <stddef.h>
#include "http/http.h"

#define WEB_CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/* 1 when path belongs to the page (`/`, `/index.html`, `/assets/...`). */
int web_owns(const char *path);
/* Answers a request for such a path (200, 304, 404, 405 or 503) and
 * returns the route label for metrics and the access log. */
const char *web_serve(http_request *r);

/* The embedded assets, for tests: the i-th of web_asset_count(). */
typedef struct web_asset_info {
    const char *name; /* "app.js" */
    const char *type; /* Content-Type */
    size_t len;       /* bytes as embedded */
} web_asset_info;
size_t web_asset_count(void);
int web_asset_at(size_t i, web_asset_info *out);
/* The version segment of asset URLs (16 hex digits). */
const char *web_version(void);

#endif
