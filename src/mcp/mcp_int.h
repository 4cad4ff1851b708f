/* Internals of the MCP engine shared by its files: the server, one request
 * in flight, and the fixture hooks for the conformance suite. */
#ifndef LORE_MCP_MCP_INT_H
#define LORE_MCP_MCP_INT_H

#include "mcp/mcp.h"

struct mcp_server {
    char name[64], version[32];
    char *instructions; /* owned or NULL */
    int fixtures;
    json_t *tools; /* the definitions tools/list returns (lore's, then fixtures') */
};

/* One request being answered. */
typedef struct mcp_call {
    mcp_server *m;
    const search_scope *scope;
    int modern;       /* 2026-07-28 rules */
    json_t *id;       /* borrowed from the message */
    json_t *params;   /* borrowed; an object (empty when absent) */
    json_t *progress; /* _meta.progressToken, borrowed, or NULL */
    mcp_reply *out;
    double progress_at; /* last progress value sent */
    json_t *meta;       /* params._meta, borrowed, or NULL */
    char *structured;   /* owned: a tool's structured result, serialized */
    char hbuf[3][1024]; /* trimmed header values */
} mcp_call;

/* Queues notifications/progress for the request (no-op without a token). */
void mcp_progress(mcp_call *c, double progress, double total, const char *message);

/* ---- fixtures (mcp_fixtures.c): what the conformance suite expects a
 * server to expose. Only registered with mcp_options.fixtures. ---- */

json_t *mcp_fixture_tools(void);
/* Runs a fixture tool into a CallToolResult; 0 when name is one, -1 if not. */
int mcp_fixture_call(mcp_call *c, const char *name, json_t *args, json_t **result);
json_t *mcp_fixture_resources(void);
json_t *mcp_fixture_resource_templates(void);
/* contents array for a fixture resource URI, or NULL when unknown. */
json_t *mcp_fixture_read(const char *uri);
json_t *mcp_fixture_prompts(void);
/* A GetPromptResult, or NULL (msg says why) for an unknown prompt or bad arguments. */
json_t *mcp_fixture_prompt_get(const char *name, json_t *args, char *msg, size_t msglen);
/* A CompleteResult for completion/complete. */
json_t *mcp_fixture_complete(json_t *params);

#endif
