/* lore mcp: the MCP server over stdio, for local agents (docs/mcp.md).
 *
 * One JSON-RPC message per line on stdin; responses (and progress
 * notifications before them) one per line on stdout, which carries nothing
 * else; logs go to stderr. Who is asking comes from the environment:
 * mcp_key (LORE_MCP_KEY), a lore API key with scope read, gives its tenant
 * and principals, exactly as over HTTP; without a key, the tenant setting
 * and mcp_principals (empty: the whole tenant, like `lore search`). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/apikey.h"
#include "cli/cli.h"
#include "cli/cli_mcp.h"
#include "mcp/mcp.h"
#include "search/search.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to serve without a key (default: setting tenant)"},
};
static const cli_help help = {
    "lore mcp [--tenant T]",
    "Serve MCP (Model Context Protocol) over stdin/stdout for a local AI agent:\n"
    "the tools search, fetch and list_sources over one tenant.",
    "stdout carries only JSON-RPC, one message per line; logs go to stderr.\n"
    "Who is asking: LORE_MCP_KEY=lore_... (a key with scope read) applies that key's\n"
    "tenant and principals, as over HTTP. Without a key, the tenant is --tenant or\n"
    "the tenant setting and LORE_MCP_PRINCIPALS=user:a@x.com,group:eng (optional)\n"
    "limits what is visible; without either, the whole tenant is (like `lore\n"
    "search`). Both protocol eras are served: 2025-11-25 after initialize, and\n"
    "2026-07-28 for requests that carry _meta. docs/mcp.md has client configs.",
    "  lore mcp\n  LORE_MCP_KEY=lore_3f9a... lore mcp --data-dir /srv/lore\n"
    "  claude mcp add lore -- lore mcp --data-dir /srv/lore",
};

/* Reads one line of at most cap bytes into b (without the newline).
 * Returns 1 for a line, 0 at end of input, -1 for a line over the cap
 * (consumed and dropped). */
static int read_line(lore_buf *b, size_t cap) {
    lore_buf_reset(b);
    int over = 0, any = 0;
    for (;;) {
        int ch = getchar_unlocked();
        if (ch == EOF) return any ? (over ? -1 : 1) : 0;
        any = 1;
        if (ch == '\n') return over ? -1 : 1;
        if (over) continue;
        if (b->len >= cap || lore_buf_append_byte(b, (uint8_t)ch) != LORE_OK) over = 1;
    }
}

static void write_text(char *s) {
    if (!s) return;
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
}

static int serve(mcp_server *m, const search_scope *sc, size_t cap) {
    mcp_session session = {{0}};
    lore_buf line;
    lore_buf_init(&line, cap + 1);
    int r;
    while ((r = read_line(&line, cap)) != 0) {
        if (r < 0) {
            printf("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
                   "\"message larger than %zu bytes (setting mcp_max_body_kb)\"}}\n",
                   cap);
            fflush(stdout);
            continue;
        }
        if (line.len == 0 || (line.len == 1 && line.data[0] == '\r')) continue;
        mcp_reply rep;
        mcp_handle(m, sc, &session, NULL, line.data, line.len, &rep);
        for (size_t i = 0; i < rep.nnotes; i++)
            write_text(json_dumps(rep.notes[i], MCP_JSON_FLAGS));
        write_text(mcp_reply_text(&rep, NULL));
        mcp_reply_free(&rep);
        if (fflush(stdout) != 0) break; /* the client went away */
    }
    lore_buf_free(&line);
    return CLI_OK;
}

int cmd_mcp(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    mcp_server *m = NULL;
    cli_mcp_caller who = {0};
    int rc = cli_parse("mcp", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("mcp", CLI_USAGE, "mcp takes no arguments");
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_mcp_fixtures_allowed("mcp", &e.cfg))) goto out;
    if ((rc = cli_env_secrets(&e, "mcp", 0))) goto out;
    if ((rc = cli_mcp_caller_resolve(&e, cli_get(&a, "tenant"), &who))) goto out;
    /* The embedders first: the tenant's context borrows them (semantic and
     * hybrid modes of the search tool). */
    if ((rc = cli_env_embedders(&e, "mcp"))) goto out;
    if ((rc = cli_env_open_tenant(&e, who.tenant, 0))) goto out;
    search_engine *engine = NULL;
    if (search_engine_new(e.ctx, &engine) != LORE_OK) {
        rc = cli_error("mcp", CLI_FAIL, "cannot open the search engine");
        goto out;
    }
    if (cli_mcp_server_new(&m) != LORE_OK) {
        search_engine_free(engine);
        rc = cli_error("mcp", CLI_FAIL, "out of memory");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    search_scope sc = {who.tenant, e.tenant, engine, who.viewer, who.subject};
    LORE_INFO("mcp: serving tenant %s over stdio as %s", who.tenant, who.subject);
    rc = serve(m, &sc, (size_t)e.cfg.mcp_max_body_kb * 1024);
    search_engine_free(engine);
out:
    mcp_server_free(m);
    cli_mcp_caller_free(&who);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc; /* -1: --help was printed */
}
