/* Fuzzes the MCP engine: any bytes as one JSON-RPC message, with the
 * first byte choosing the HTTP headers (none = stdio with a session, the
 * legacy era, the 2026-07-28 era with matching or garbage headers), against
 * a small real tenant so tool arguments reach the tools. Every input must
 * give a well-formed reply (a JSON-RPC object, or nothing with 202), never a
 * crash, leak or sanitizer report. */
#include "fuzz_tenant.h"
#include "mcp/mcp.h"
#include "support/mcp_fixtures.h"

static mcp_server *srv;

static void cleanup(void) {
    mcp_server_free(srv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_tenant_open(
        "mcp", "{\"id\":\"a\",\"title\":\"Parental leave\",\"text\":\"Sixteen weeks of "
               "parental leave \\u20ac\\u20ac for every employee.\",\"acl\":[\"group:hr\"]}\n"
               "{\"id\":\"b\",\"title\":\"Deploy\",\"text\":\"Run deploy_service; E1234\"}\n");
    mcp_options mo = {"lore", "fuzz", "instructions", &mcp_test_fixtures};
    if (mcp_server_new(&mo, &srv) != LORE_OK) abort();
    atexit(cleanup); /* runs before the tenant's (atexit is last in, first out) */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    static const char *const principals[] = {"group:hr"};
    search_scope sc = {"f", fuzz_t.tenant, fuzz_t.engine, {(mode >> 4) & 1, principals, 1}, "fuzz"};
    static const char *const versions[] = {NULL, "2025-11-25", "2026-07-28", "x\x01y"};
    static const char *const methods[] = {NULL, "tools/call", "tools/list", "server/discover"};
    static const char *const names[] = {NULL, "search", "=?base64?ZmV0Y2g=?=", "=?base64?"};
    mcp_headers h = {versions[mode & 3], methods[(mode >> 2) & 3], names[(mode >> 5) & 3],
                     (mode >> 7) & 1};
    mcp_session session = {{0}};
    mcp_reply r;
    mcp_handle(srv, &sc, &session, (mode & 3) == 0 && (mode >> 2) == 0 ? NULL : &h,
               (const char *)data + 1, size - 1, &r);
    if (r.response ? !json_is_object(r.response) : r.status != 202) abort();
    if (r.status < 200 || r.status > 404) abort();
    for (size_t i = 0; i < r.nnotes; i++)
        if (!json_is_object(r.notes[i])) abort();
    mcp_reply_free(&r);
    return 0;
}
