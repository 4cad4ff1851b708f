/* The REST API v1: routes, authentication, permissions, limits, logs and
 * metrics, as an application of the HTTP server (http/http.h).
 *
 * Every route is listed once, in api_routes.c, with what it needs (a key and
 * which scope, a JSON or multipart body) and its handler; the OpenAPI
 * document (api/openapi.json, served at /v1/openapi.json) describes the same
 * table and a test holds the two together. docs/api.md is the user's guide.
 *
 * Threads: one api serves all of the server's threads; each thread opens its
 * own store handles on first use and keeps them for its life. */
#ifndef LORE_API_API_H
#define LORE_API_API_H

#include <stddef.h>
#include "config/config.h"
#include "http/http.h"
#include "http/router.h"
#include "util/status.h"

typedef struct api api;

struct embed_registry;
/* Creates the API over the store in cfg->data_dir (which must exist). cfg is
 * copied. embedders (borrowed, may be NULL: no semantic search) must outlive
 * the API. Returns owned. */
LORE_MUST_CHECK lore_status api_new(const lore_config *cfg, struct embed_registry *embedders,
                                    api **out, char *err, size_t errlen);
/* The callbacks to hand to http_server_start (ctx is a). */
void api_http_app(api *a, http_app *out);
void api_free(api *a);

/* Jobs: notify(ctx) is called after every enqueue (the worker pool wakes);
 * api_jobs_finished is the pool's finished callback (ctx = a) and wakes
 * requests waiting with ?wait=; api_drain answers every waiting request at
 * once (202) before the server drains. */
struct store_job;
void api_set_queue(api *a, void (*notify)(void *ctx), void *ctx);
void api_jobs_finished(void *ctx, const struct store_job *jobs, size_t n);
void api_drain(api *a);
/* The registry /metrics serves, for other parts of the server (the pool). */
struct metrics_registry;
struct metrics_registry *api_metrics(api *a);

/* Mounts: routes served by another part of the server (the MCP endpoint)
 * through the API's pipeline, so they get the same key checks, scopes, rate
 * limits, body caps, access log and metrics as REST routes without the API
 * knowing what they do. The handler gets the caller's scope (NULL on an open
 * route) with the tenant already open on the calling thread. */
struct search_scope;
typedef struct api_mount {
    const char *method; /* "POST" */
    const char *path;   /* exact path or router pattern */
    int open;           /* 1: no key needed (rate-limited per address) */
    int jwt;            /* 1: also accepts JWT access tokens (api_set_jwt) */
    unsigned scope;     /* AUTH_SCOPE_* the key needs (open = 0) */
    size_t body_cap;    /* buffer a JSON body of at most this many bytes; 0: none */
    /* Runs before authentication; answers and returns 0 to stop the request
     * (Host and Origin checks). May be NULL. */
    int (*precheck)(void *ctx, http_request *r);
    void (*handle)(void *ctx, http_request *r, const struct search_scope *s);
    void *ctx;
    /* Extra auth-params for the 401 challenge (resource_metadata="..."),
     * copied; NULL for none. */
    const char *challenge;
} api_mount;
#define API_MAX_MOUNTS 8
/* Adds a mount (copied; its strings must outlive the api). Before serving. */
LORE_MUST_CHECK lore_status api_mount_add(api *a, const api_mount *m);

/* OAuth resource-server mode: mounts with jwt = 1 also accept JWT access
 * tokens verified by v (borrowed, shared by all threads); their holders act
 * in tenant with the token's principals and scopes (plus read when
 * grants_read: the verifier requires a configured scope that stands for it). */
struct jwt_verifier;
void api_set_jwt(api *a, struct jwt_verifier *v, const char *tenant, int grants_read);

/* The keyring that opens connectors' signing secrets (borrowed, shared by
 * all threads; outlives the api). Without one, webhook deliveries and the
 * connector routes answer 503. Before serving. */
struct seal_keyring;
void api_set_keyring(api *a, const struct seal_keyring *k);

/* The route table, for documentation and the OpenAPI test: entry i of
 * api_route_total(), NULL for an id the table leaves unused. */
const http_route *api_route_at(size_t i);
size_t api_route_total(void);
/* The OpenAPI 3.1 document (static, NUL-terminated). */
const char *api_openapi(size_t *len);

#endif
