/* The MCP server: JSON-RPC messages in, JSON-RPC messages out, for both
 * protocol eras on one engine (docs/mcp.md).
 *
 *   2026-07-28  stateless: every request carries _meta with
 *               io.modelcontextprotocol/protocolVersion and clientCapabilities;
 *               server/discover; resultType on every result; ttlMs and
 *               cacheScope on list, read and discover results; over HTTP the
 *               MCP-Protocol-Version, Mcp-Method and Mcp-Name headers must
 *               match the body (-32020), an unsupported version is -32022.
 *   2025-11-25  initialize (with version negotiation), notifications/
 *               initialized, ping; over HTTP later requests name their
 *               version in MCP-Protocol-Version (2025-06-18 and 2025-03-26
 *               are served the same way; no header means 2025-03-26).
 *
 * A request whose _meta names a protocol version is served statelessly;
 * initialize selects the older behaviour. The engine knows no transport:
 * the caller hands it one message and the HTTP facts (headers), and gets
 * back the response, the notifications to send before it (progress), and
 * the HTTP status that goes with it. Batches (JSON arrays) are refused.
 *
 * Threads: an mcp_server is shared by every thread; an mcp_session belongs
 * to one connection (stdio) and is used by one thread at a time. */
#ifndef LORE_MCP_MCP_H
#define LORE_MCP_MCP_H

#include <jansson.h>
#include <stddef.h>
#include "search/search.h"
#include "util/status.h"

#define MCP_VERSION_MODERN "2026-07-28"
#define MCP_VERSION_LEGACY "2025-11-25"

/* JSON-RPC and MCP error codes. */
#define MCP_PARSE_ERROR -32700
#define MCP_INVALID_REQUEST -32600
#define MCP_METHOD_NOT_FOUND -32601
#define MCP_INVALID_PARAMS -32602
#define MCP_INTERNAL_ERROR -32603
#define MCP_RESOURCE_NOT_FOUND_LEGACY -32002
#define MCP_HEADER_MISMATCH -32020
#define MCP_MISSING_CAPABILITY -32021
#define MCP_UNSUPPORTED_VERSION -32022

typedef struct mcp_server mcp_server;
typedef struct mcp_call mcp_call; /* one request being answered (mcp_int.h) */

/* Tools, resources and prompts served beside lore's own, with the methods
 * only they need (prompts, completion, logging, subscriptions). The one
 * extension is the conformance suite's fixtures, which live with the tests
 * (tests/support/mcp_fixtures.c) and are linked only into test programs and
 * the test build of the binary, never into the shipped lore. */
#define MCP_EXTENSION_VERSION 1
typedef struct mcp_extension {
    int version; /* MCP_EXTENSION_VERSION */
    json_t *(*tools)(void);
    /* Runs an extension tool into a CallToolResult; 0 when name is one, -1 if not. */
    int (*call)(mcp_call *c, const char *name, json_t *args, json_t **result);
    json_t *(*resources)(void);
    json_t *(*resource_templates)(void);
    /* contents array for an extension resource URI, or NULL when unknown. */
    json_t *(*read)(const char *uri);
    json_t *(*prompts)(void);
    /* A GetPromptResult, or NULL (msg says why). */
    json_t *(*prompt_get)(const char *name, json_t *args, char *msg, size_t msglen);
    json_t *(*complete)(json_t *params);
} mcp_extension;

typedef struct mcp_options {
    const char *name;    /* serverInfo.name */
    const char *version; /* serverInfo.version */
    const char *instructions;
    /* NULL, or an extension to serve (tests only: the callers refuse one in
     * production mode). */
    const mcp_extension *extension;
} mcp_options;

/* The state a stdio connection keeps: the version initialize chose. HTTP
 * passes NULL and is stateless. */
typedef struct mcp_session {
    char version[16]; /* "" until initialize */
} mcp_session;

/* HTTP request headers the protocol checks (NULL = absent); stdio passes
 * NULL for the whole struct. */
typedef struct mcp_headers {
    const char *protocol_version; /* MCP-Protocol-Version */
    const char *method;           /* Mcp-Method */
    const char *name;             /* Mcp-Name */
    int accepts_sse;              /* Accept names text/event-stream */
} mcp_headers;

typedef struct mcp_reply {
    unsigned status;  /* HTTP status: 200, 202 (no body), 400, 404 */
    json_t *response; /* owned; NULL for a notification. A tool's result may
                         lack content and structuredContent here: they are in
                         raw (see mcp_reply_text) */
    char *raw;        /* owned: the whole response already serialized, or NULL */
    json_t **notes;   /* owned: notifications to send before the response */
    size_t nnotes;
    int stream; /* send as SSE (notes exist and the client takes SSE) */
} mcp_reply;

LORE_MUST_CHECK lore_status mcp_server_new(const mcp_options *o, mcp_server **out);
void mcp_server_free(mcp_server *m);

/* Handles one message. scope: the caller (tenant, engine, principals);
 * NULL only where no tool can run (then tools answer an internal error).
 * Fills *out; free it with mcp_reply_free. */
void mcp_handle(mcp_server *m, const search_scope *scope, mcp_session *session,
                const mcp_headers *h, const char *msg, size_t len, mcp_reply *out);
void mcp_reply_free(mcp_reply *r);
/* The response as JSON text (owned; NULL without a response or out of
 * memory). A tool's structured result is serialized once and spliced in
 * twice, as structuredContent and as the text block, rather than dumped
 * three times. */
char *mcp_reply_text(const mcp_reply *r, size_t *len);
#define MCP_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))
/* The response as JSON text (owned; NULL without a response or out of
 * memory). A tool's structured result is serialized once and spliced in
 * twice, as structuredContent and as the text block, rather than dumped
 * three times. */
char *mcp_reply_text(const mcp_reply *r, size_t *len);
#define MCP_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

#endif
