/* The route table of the REST API: every route once, with what it needs
 * and its handler. The OpenAPI document (openapi.json next to this file,
 * embedded into the binary at build time) must describe exactly these
 * routes; tests/api/test_openapi.c holds the two together. */
#include "api/api_int.h"

#include <string.h>

#define R(i, m, p, acc, body, fn)                                                                  \
    { {m, p, i}, acc, body, fn, NULL, NULL }

const api_route_def api_route_table[] = {
    R(0, "GET", "/health/live", ACCESS_PROBE, BODY_NO, api_health_live),
    R(1, "GET", "/health/ready", ACCESS_PROBE, BODY_NO, api_health_ready),
    R(2, "GET", "/metrics", ACCESS_PROBE, BODY_NO, api_metrics_get),
    R(3, "GET", "/v1/openapi.json", ACCESS_PUBLIC, BODY_NO, api_openapi_get),
    R(4, "POST", "/v1/documents", ACCESS_WRITE, BODY_JSON, api_documents_post),
    R(5, "GET", "/v1/documents", ACCESS_READ, BODY_NO, api_documents_list),
    R(6, "GET", "/v1/documents/{id}", ACCESS_READ, BODY_NO, api_document_get),
    R(7, "DELETE", "/v1/documents/{id}", ACCESS_WRITE, BODY_NO, api_document_delete),
    {{"POST", "/v1/files", 8},
     ACCESS_WRITE,
     BODY_MULTIPART,
     api_files_post,
     api_files_begin,
     api_upload_cleanup},
    R(9, "GET", "/v1/search", ACCESS_READ, BODY_NO, api_search_get),
    R(10, "POST", "/v1/search", ACCESS_READ, BODY_JSON, api_search_post),
    R(11, "GET", "/v1/sources", ACCESS_READ, BODY_NO, api_sources_get),
    R(12, "POST", "/v1/tenants", ACCESS_SERVER, BODY_JSON, api_tenants_post),
    R(13, "GET", "/v1/tenants", ACCESS_SERVER, BODY_NO, api_tenants_get),
    R(14, "DELETE", "/v1/tenants/{name}", ACCESS_SERVER, BODY_NO, api_tenant_delete),
    R(15, "POST", "/v1/keys", ACCESS_ADMIN, BODY_JSON, api_keys_post),
    R(16, "GET", "/v1/keys", ACCESS_ADMIN, BODY_NO, api_keys_get),
    R(17, "DELETE", "/v1/keys/{id}", ACCESS_ADMIN, BODY_NO, api_key_delete),
    R(18, "GET", "/v1/jobs/{id}", ACCESS_WRITE, BODY_NO, api_job_get),
    R(19, "GET", "/v1/jobs", ACCESS_ADMIN, BODY_NO, api_jobs_list),
    R(20, "POST", "/v1/jobs/{id}/retry", ACCESS_ADMIN, BODY_NO, api_job_retry),
    R(21, "POST", "/v1/reindex", ACCESS_ADMIN, BODY_NO, api_reindex_post),
    R(22, "POST", "/v1/hooks/{connector_id}", ACCESS_HOOK, BODY_RAW, api_hook_post),
    R(23, "POST", "/v1/connectors", ACCESS_ADMIN, BODY_JSON, api_connectors_post),
    R(24, "GET", "/v1/connectors", ACCESS_ADMIN, BODY_NO, api_connectors_get),
    R(25, "DELETE", "/v1/connectors/{id}", ACCESS_ADMIN, BODY_NO, api_connector_delete),
    R(26, "POST", "/v1/connectors/{id}/rotate-secret", ACCESS_ADMIN, BODY_JSON_OPTIONAL,
      api_connector_rotate),
    {{"POST", "/v1/imports/slack", 27},
     ACCESS_ADMIN,
     BODY_MULTIPART,
     api_imports_post,
     api_imports_begin,
     api_upload_cleanup},
    /* Ids 28 to 39 are kept for issue 13's routes; entries left out of the
     * table have no method and are never routed. */
    [30] = R(30, "POST", "/v1/reembed", ACCESS_ADMIN, BODY_NO, api_reembed_post),
    [31] = R(31, "GET", "/v1/reembed", ACCESS_ADMIN, BODY_NO, api_reembed_get),
    [40] = R(40, "POST", "/v1/session", ACCESS_PUBLIC, BODY_JSON, api_session_post),
    [41] = R(41, "GET", "/v1/session", ACCESS_ANY, BODY_NO, api_session_get),
    [42] = R(42, "DELETE", "/v1/session", ACCESS_ANY, BODY_NO, api_session_delete),
    [43] = R(43, "GET", "/v1/stats", ACCESS_ADMIN, BODY_NO, api_stats_get),
};
const size_t api_route_count = sizeof api_route_table / sizeof api_route_table[0];
_Static_assert(sizeof api_route_table / sizeof api_route_table[0] <= API_MAX_ROUTES,
               "raise API_MAX_ROUTES");

const http_route *api_route_at(size_t i) {
    return i < api_route_count && api_route_table[i].route.method ? &api_route_table[i].route
                                                                  : NULL;
}

size_t api_route_total(void) {
    return api_route_count;
}

/* The OpenAPI document, embedded by the assembler (LORE_OPENAPI_PATH is set
 * by CMake) so the JSON stays a JSON file that editors and linters read. */
__asm__(".section .rodata\n"
        ".global lore_openapi_json\n"
        "lore_openapi_json:\n"
        ".incbin \"" LORE_OPENAPI_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char lore_openapi_json[];

const char *api_openapi(size_t *len) {
    if (len) *len = strlen(lore_openapi_json);
    return lore_openapi_json;
}

void api_openapi_get(api_req *q) {
    size_t n;
    const char *doc = api_openapi(&n);
    http_respond(q->r, 200, "application/json", doc, n);
}
