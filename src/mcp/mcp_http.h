/* MCP over Streamable HTTP: the /mcp endpoint of `lore serve`.
 *
 * The REST API's pipeline carries it (api_mount): the same key checks,
 * read scope, rate limits, body cap, access log and metrics. This file adds
 * what is MCP's own:
 *   - Host and Origin checks against DNS rebinding, before authentication:
 *     a loopback listener accepts the loopback names; otherwise only the
 *     allow-list (mcp_allowed_hosts, mcp_allowed_origins) and the host of
 *     mcp_url. A refused request gets 403.
 *   - POST only (GET and DELETE are 405 through the router); one JSON-RPC
 *     message per body; answers application/json, or text/event-stream
 *     when progress notifications precede the result.
 *   - In OAuth resource-server mode, the RFC 9728 protected-resource
 *     metadata at /.well-known/oauth-protected-resource[/mcp] and the
 *     resource_metadata parameter of the 401 challenge. */
#ifndef LORE_MCP_MCP_HTTP_H
#define LORE_MCP_MCP_HTTP_H

#include "http/http.h"
#include "mcp/mcp.h"

typedef struct mcp_http mcp_http;

typedef struct mcp_http_config {
    const char *listen_host;     /* the listener's address ("127.0.0.1", "0.0.0.0", ...) */
    const char *url;             /* canonical URL of the endpoint, "" if not set */
    const char *allowed_hosts;   /* comma-separated Host names (port optional) */
    const char *allowed_origins; /* comma-separated origins ("https://app.example.com") */
    const char *cors_origins;    /* the server's CORS allow-list: also allowed */
    /* OAuth resource-server mode: the authorization server (issuer) and the
     * scope tokens need; NULL/"" = lore keys only. */
    const char *issuer;
    const char *scope;
} mcp_http_config;

/* m is borrowed for the life of the endpoint. */
LORE_MUST_CHECK lore_status mcp_http_new(mcp_server *m, const mcp_http_config *c, mcp_http **out,
                                         char *err, size_t errlen);
void mcp_http_free(mcp_http *h);

/* The mount callbacks (api_mount): precheck = Host/Origin, handle = the
 * endpoint, metadata = the protected-resource document (open route). */
int mcp_http_precheck(void *ctx, http_request *r);
void mcp_http_handle(void *ctx, http_request *r, const search_scope *sc);
void mcp_http_metadata(void *ctx, http_request *r, const search_scope *sc);
/* The extra auth-params of the 401 challenge, or NULL outside OAuth mode. */
const char *mcp_http_challenge(const mcp_http *h);
/* The endpoint's path ("/mcp") and the metadata paths, for mounting. */
#define MCP_HTTP_PATH "/mcp"
#define MCP_HTTP_METADATA_PATH "/.well-known/oauth-protected-resource"
#define MCP_HTTP_METADATA_PATH_MCP "/.well-known/oauth-protected-resource/mcp"

#endif
