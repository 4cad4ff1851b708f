/* Internals of the MCP engine shared by its files (and by the test
 * fixtures, an mcp_extension): the server and one request in flight. */
#ifndef LORE_MCP_MCP_INT_H
#define LORE_MCP_MCP_INT_H

#include "mcp/mcp.h"

struct mcp_server {
    char name[64], version[32];
    char *instructions;       /* owned or NULL */
    const mcp_extension *ext; /* NULL, or the test fixtures (mcp.h) */
    json_t *tools; /* the definitions tools/list returns (lore's, then the extension's) */
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

#endif
