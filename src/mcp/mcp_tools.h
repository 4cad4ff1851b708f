/* The MCP tools: lore's knowledge as calls an agent makes.
 *
 *   search        query -> ranked hits (id, title, url, source, section,
 *                 snippet, chunk text, score), with the same filters,
 *                 query syntax and ACLs as POST /v1/search
 *   fetch         document id -> its text (a window of it for long
 *                 documents: offset/length in bytes, on UTF-8 boundaries)
 *                 and metadata
 *   list_sources  the sources the caller can see, with counts and the
 *                 latest update
 *
 * Every tool is read-only and answers for the caller's scope (tenant and
 * principals): a document the caller may not see does not exist for it.
 * Definitions (name, description, input and output JSON Schemas,
 * annotations) are fixed and listed in a fixed order. */
#ifndef LORE_MCP_MCP_TOOLS_H
#define LORE_MCP_MCP_TOOLS_H

#include <jansson.h>
#include <stddef.h>
#include "search/search.h"

/* What a tool call came to. */
typedef enum mcp_tool_outcome {
    MCP_TOOL_OK,      /* *out is the structured result */
    MCP_TOOL_REFUSED, /* bad arguments or nothing to show: msg says why, for the agent */
    MCP_TOOL_FAILED,  /* the server failed: msg for the log, not the caller */
    MCP_TOOL_UNKNOWN, /* no tool of that name */
} mcp_tool_outcome;

#define MCP_SEARCH_MAX_LIMIT 50
#define MCP_FETCH_DEFAULT_LENGTH 20000
#define MCP_FETCH_MAX_LENGTH 200000
#define MCP_QUERY_MAX 4096

/* The tool definitions, in order (a new reference each call). */
json_t *mcp_tools_definitions(void);
/* Runs one tool; args is the arguments object (may be NULL: none). */
mcp_tool_outcome mcp_tool_call(const search_scope *sc, const char *name, json_t *args, json_t **out,
                               char *msg, size_t msglen);

/* A document as an MCP resource: lore://doc/{id}. Returns MCP_TOOL_OK with
 * *out = its text (a JSON string), or REFUSED when absent or not visible. */
#define MCP_DOC_URI_PREFIX "lore://doc/"
mcp_tool_outcome mcp_doc_read(const search_scope *sc, const char *id, json_t **out, char *msg,
                              size_t msglen);

/* A page of visible documents as MCP Resource objects (appended to list),
 * from rowid > after; *next is the rowid to continue from, 0 at the end. */
#define MCP_DOC_PAGE 100
mcp_tool_outcome mcp_doc_page(const search_scope *sc, int64_t after, json_t *list, int64_t *next,
                              char *msg, size_t msglen);

#endif
