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

/* Creates the API over the store in cfg->data_dir (which must exist). cfg is
 * copied. Returns owned. */
LORE_MUST_CHECK lore_status api_new(const lore_config *cfg, api **out, char *err, size_t errlen);
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

/* The route table, for documentation and the OpenAPI test. */
const http_route *api_route_at(size_t i);
size_t api_route_total(void);
/* The OpenAPI 3.1 document (static, NUL-terminated). */
const char *api_openapi(size_t *len);

#endif
