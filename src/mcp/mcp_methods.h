/* The MCP methods lore serves, one function each (mcp_methods.c), and the
 * helpers mcp.c shares with them. */
#ifndef LORE_MCP_MCP_METHODS_H
#define LORE_MCP_MCP_METHODS_H

#include "mcp/mcp_int.h"

/* Runs method for the call. Returns 0 with *result set (a result object,
 * owned) or with the error already in the reply (*result NULL). */
int mcp_dispatch(mcp_call *c, mcp_session *s, const char *method, json_t **result);

/* Answers the call with a JSON-RPC error (the status follows the era). */
void mcp_call_error(mcp_call *c, int code, json_t *data, const char *msg);

/* Every version the server speaks, newest first (owned array). */
json_t *mcp_supported_versions(void);
/* 1 when v is served the 2025-11-25 way. */
int mcp_legacy_version(const char *v);

#endif
