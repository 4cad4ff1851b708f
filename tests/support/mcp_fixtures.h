/* The MCP conformance suite's fixtures as an mcp_extension (mcp.h): test
 * programs and lore-test only. */
#ifndef LORE_TEST_SUPPORT_MCP_FIXTURES_H
#define LORE_TEST_SUPPORT_MCP_FIXTURES_H

#include "mcp/mcp.h"

extern const mcp_extension mcp_test_fixtures;

#endif
