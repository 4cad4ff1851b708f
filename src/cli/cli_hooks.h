/* Test hooks: a versioned table that only the test build of the binary
 * (lore-test: src/main.c plus tests/support/lore_test_hooks.c) installs. The
 * shipped lore leaves it NULL and so carries no test-only code: no MCP
 * conformance fixtures, no job trace. */
#ifndef LORE_CLI_CLI_HOOKS_H
#define LORE_CLI_CLI_HOOKS_H

#include "mcp/mcp.h"
#include "queue/queue.h"

#define CLI_TEST_HOOKS_VERSION 1
typedef struct cli_test_hooks {
    int version; /* CLI_TEST_HOOKS_VERSION */
    /* The MCP extension to serve when the test switch asks for it, or NULL. */
    const mcp_extension *(*mcp_extension)(void);
    /* Sets h->observe (and its context) on a worker pool's handler, or not. */
    void (*pool_observe)(queue_handler *h);
} cli_test_hooks;

/* NULL in lore; set before main by lore-test. */
extern const cli_test_hooks *cli_test_hooks_installed;

#endif
