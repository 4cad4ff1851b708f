/* What `lore serve` and `lore mcp` share about MCP: the server's identity,
 * the test-only fixture switch, and (stdio) who is asking. */
#ifndef LORE_CLI_CLI_MCP_H
#define LORE_CLI_CLI_MCP_H

#include "cli/cli.h"
#include "mcp/mcp.h"

/* LORE_TEST_MCP_FIXTURES=1 registers the conformance suite's fixture tools
 * (an mcp_extension) in the test build, lore-test (cli_hooks.h). Returns
 * CLI_OK, or CLI_USAGE after an error when it is set in production mode,
 * which refuses to start with it, or in the shipped lore, which has none. */
#define CLI_MCP_FIXTURES_ENV "LORE_TEST_MCP_FIXTURES"
int cli_mcp_fixtures_allowed(const char *cmd, const lore_config *cfg);
/* The MCP engine with lore's identity (and the fixtures when allowed). */
LORE_MUST_CHECK lore_status cli_mcp_server_new(mcp_server **out);

/* The stdio caller: from mcp_key, or the tenant and mcp_principals. */
typedef struct cli_mcp_caller {
    char tenant[STORE_NAME_MAX + 1];
    char subject[64];
    store_viewer viewer;
    char **principals; /* owned */
    size_t nprincipals;
    store_key *key; /* owned, when from a key */
} cli_mcp_caller;
int cli_mcp_caller_resolve(cli_env *e, const char *tenant, cli_mcp_caller *out);
void cli_mcp_caller_free(cli_mcp_caller *c);

#endif
