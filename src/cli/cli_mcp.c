/* MCP pieces shared by `lore serve` and `lore mcp`; see cli_mcp.h. */
#include "cli/cli_mcp.h"

#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "cli/cli_hooks.h"
#include "util/log.h"
#include "util/timeutil.h"

static int fixtures_asked(void) {
    const char *v = getenv(CLI_MCP_FIXTURES_ENV);
    return v && *v && strcmp(v, "0");
}

/* The fixtures, from the test build's hooks, when the switch asks for them. */
static const mcp_extension *fixtures(void) {
    const cli_test_hooks *h = cli_test_hooks_installed;
    return fixtures_asked() && h && h->mcp_extension ? h->mcp_extension() : NULL;
}

int cli_mcp_fixtures_allowed(const char *cmd, const lore_config *cfg) {
    if (!fixtures_asked()) return CLI_OK;
    if (!fixtures())
        return cli_error(cmd, CLI_USAGE,
                         "%s is a switch of lore's test build (lore-test); this lore has no "
                         "conformance fixtures: unset it",
                         CLI_MCP_FIXTURES_ENV);
    if (!strcmp(cfg->mode, "production"))
        return cli_error(cmd, CLI_USAGE,
                         "%s is a test switch (conformance fixtures); production mode refuses to "
                         "start with it set",
                         CLI_MCP_FIXTURES_ENV);
    LORE_WARN("%s: MCP conformance fixture tools are registered (%s); never in production", cmd,
              CLI_MCP_FIXTURES_ENV);
    return CLI_OK;
}

lore_status cli_mcp_server_new(mcp_server **out) {
    mcp_options o = {
        "lore", LORE_VERSION,
        "lore searches your organization's knowledge (documents, messages, issues, files) and "
        "shows only what you may see. Use search to find passages, fetch to read a whole "
        "document by the id a hit gave, and list_sources to see which sources exist.",
        fixtures()};
    return mcp_server_new(&o, out);
}

static int add_principal(cli_mcp_caller *c, const char *p, size_t n) {
    char *s = strndup(p, n);
    char **grown = s ? realloc(c->principals, (c->nprincipals + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(s);
        return -1;
    }
    c->principals = grown;
    c->principals[c->nprincipals++] = s;
    return 0;
}

static int from_key(cli_env *e, cli_mcp_caller *c) {
    const char *k = e->cfg.mcp_key;
    auth_result ar = apikey_verify(e->store, k, strlen(k), lore_now_ms(), &c->key);
    /* Keys live in one data directory: name it, since the usual cause of an
     * unknown key is another directory. Only the public id part of the key
     * is echoed, never its secret. */
    if (ar == AUTH_UNKNOWN)
        return cli_error("mcp", CLI_USAGE,
                         "mcp_key (LORE_MCP_KEY): key %.*s... is not known in %s; set "
                         "LORE_DATA_DIR to the data directory the key was made in, or make one "
                         "there: lore key create --tenant NAME --scope read",
                         APIKEY_PREFIX_LEN + STORE_KEY_ID_LEN, k, e->cfg.data_dir);
    if (ar != AUTH_OK)
        return cli_error("mcp", CLI_USAGE, "mcp_key (LORE_MCP_KEY): %s (data directory %s)",
                         auth_result_message(ar), e->cfg.data_dir);
    if (!(c->key->scopes & AUTH_SCOPE_READ))
        return cli_error("mcp", CLI_USAGE, "mcp_key (LORE_MCP_KEY) lacks scope read");
    snprintf(c->tenant, sizeof c->tenant, "%s", c->key->tenant);
    snprintf(c->subject, sizeof c->subject, "lore_%s", c->key->id);
    /* As over HTTP: tenant administrators see everything of their tenant. */
    c->viewer.all_access = (c->key->scopes & (AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER)) != 0;
    c->viewer.principals = (const char *const *)c->key->principals;
    c->viewer.nprincipals = c->key->nprincipals;
    return CLI_OK;
}

int cli_mcp_caller_resolve(cli_env *e, const char *tenant, cli_mcp_caller *c) {
    memset(c, 0, sizeof *c);
    if (e->cfg.mcp_key[0]) {
        if (tenant)
            return cli_error("mcp", CLI_USAGE,
                             "--tenant conflicts with mcp_key (the "
                             "key names its tenant)");
        return from_key(e, c);
    }
    snprintf(c->tenant, sizeof c->tenant, "%s", tenant ? tenant : e->cfg.tenant);
    const char *p = e->cfg.mcp_principals;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            char one[AUTH_PRINCIPAL_MAX + 1];
            snprintf(one, sizeof one, "%.*s", (int)n, p);
            if (n > AUTH_PRINCIPAL_MAX || !auth_principal_valid(one))
                return cli_error("mcp", CLI_USAGE,
                                 "mcp_principals: '%.60s' is not user:<id> or group:<id>", one);
            if (add_principal(c, p, n)) return cli_error("mcp", CLI_FAIL, "out of memory");
        }
        p += strcspn(p, ",");
    }
    c->viewer.all_access = c->nprincipals == 0;
    c->viewer.principals = (const char *const *)c->principals;
    c->viewer.nprincipals = c->nprincipals;
    snprintf(c->subject, sizeof c->subject, "%s",
             c->nprincipals ? "mcp_principals" : "local (whole tenant)");
    return CLI_OK;
}

void cli_mcp_caller_free(cli_mcp_caller *c) {
    for (size_t i = 0; i < c->nprincipals; i++)
        free(c->principals[i]);
    free(c->principals);
    store_key_free(c->key);
    memset(c, 0, sizeof *c);
}
