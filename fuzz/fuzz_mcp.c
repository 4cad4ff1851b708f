/* Fuzzes the MCP engine: any bytes as one JSON-RPC message, with the
 * first byte choosing the HTTP headers (none = stdio with a session, the
 * legacy era, the 2026-07-28 era with matching or garbage headers), against
 * a small real tenant so tool arguments reach the tools. Every input must
 * give a well-formed reply (a JSON-RPC object, or nothing with 202), never a
 * crash, leak or sanitizer report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "mcp/mcp.h"
#include "search/search.h"

static char dir[64];
static store *st;
static store_tenant *tenant;
static void *lex;
static search_engine *engine;
static mcp_server *srv;

static void cleanup(void) {
    mcp_server_free(srv);
    search_engine_free(engine);
    if (lex) index_lexical_bm25.close(lex);
    store_tenant_close(tenant);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/lore-fuzz-mcp-XXXXXX");
    char err[256];
    if (!mkdtemp(dir) || store_open(dir, &st, err, sizeof err) != LORE_OK ||
        store_tenant_create(st, "f") != LORE_OK || store_tenant_open(st, "f", &tenant) != LORE_OK)
        abort();
    lex_params p;
    lex_params_default(&p);
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *s = NULL;
    static const char docs[] =
        "{\"id\":\"a\",\"title\":\"Parental leave\",\"text\":\"Sixteen weeks of parental leave "
        "\\u20ac\\u20ac for every employee.\",\"acl\":[\"group:hr\"]}\n"
        "{\"id\":\"b\",\"title\":\"Deploy\",\"text\":\"Run deploy_service; E1234\"}\n";
    mcp_options mo = {"lore", "fuzz", "instructions", 1};
    if (index_lexical_bm25.open(tenant, &p, &lex) != LORE_OK ||
        ingest_session_new(tenant, &index_lexical_bm25, lex, &o, &s) != LORE_OK ||
        ingest_bytes(s, "seed.jsonl", NULL, (const uint8_t *)docs, sizeof docs - 1) != LORE_OK ||
        ingest_commit(s) != LORE_OK ||
        search_engine_new(tenant, &index_lexical_bm25, lex, &engine) != LORE_OK ||
        mcp_server_new(&mo, &srv) != LORE_OK)
        abort();
    ingest_session_free(s);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    static const char *const principals[] = {"group:hr"};
    search_scope sc = {"f", tenant, engine, {(mode >> 4) & 1, principals, 1}, "fuzz"};
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
