/* lore stats and lore config */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/timeutil.h"

static const cli_opt stats_opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to describe (default: setting tenant)"},
};
static const cli_help stats_help = {
    "lore stats [--tenant T]",
    "Show a tenant's documents, chunks, sources, index state and size on disk.",
    NULL,
    NULL,
};

int cmd_stats(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    store_source_info *src = NULL;
    size_t nsrc = 0;
    int rc = cli_parse("stats", &stats_help, stats_opts, sizeof stats_opts / sizeof stats_opts[0],
                       argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("stats", CLI_USAGE, "unexpected argument '%s'", a.pos[0]);
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 0))) goto out;
    int64_t docs = 0, chunks = 0, bytes = 0;
    lex_stats ls;
    if (store_counts(e.tenant, &docs, &chunks) != LORE_OK ||
        store_disk_bytes(e.tenant, &bytes) != LORE_OK ||
        e.ctx->index.lexical.ops->stats(e.ctx->index.lexical.state, &ls) != LORE_OK ||
        store_sources(e.tenant, NULL, &src, &nsrc) != LORE_OK) {
        rc = cli_error("stats", CLI_FAIL, "cannot read tenant statistics: %s",
                       store_tenant_errmsg(e.tenant));
        goto out;
    }
    printf("tenant:          %s\n", store_tenant_name(e.tenant));
    printf("documents:       %lld\n", (long long)docs);
    printf("chunks:          %lld\n", (long long)chunks);
    printf("index:           %lld chunks, %u segments, %lld deleted awaiting merge, "
           "average length %.1f terms\n",
           (long long)ls.chunks, ls.segments, (long long)ls.deleted, ls.avg_len);
    printf("disk:            %.1f MB\n", (double)bytes / 1e6);
    printf("sources:\n");
    for (size_t i = 0; i < nsrc; i++) {
        char when[32];
        lore_format_iso8601(src[i].last_updated_ms, when, sizeof when);
        printf("  %-16s %8lld documents, last updated %s\n", src[i].source,
               (long long)src[i].documents, when);
    }
    if (ls.chunks != chunks)
        fprintf(stderr,
                "lore stats: warning: the index counts %lld chunks but the store has %lld\n",
                (long long)ls.chunks, (long long)chunks);
out:
    store_sources_free(src, nsrc);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}

static const cli_help config_help = {
    "lore config",
    "Print the effective settings, where each comes from (default, file, env, flag),\n"
    "and what it does. Secrets are masked.",
    "Settings are read from defaults, then the config file (--config FILE or\n"
    "$LORE_CONFIG; lines of `key = value`), then LORE_<KEY> environment variables,\n"
    "then flags. Unknown keys and bad values are errors. data_dir shows the absolute\n"
    "path every command uses (default: ~/.local/share/lore; docs/configuration.md).",
    "  LORE_DATA_DIR=/var/lib/lore lore config",
};

static void print_setting(void *ctx, const char *key, const char *value, const char *origin,
                          const char *help) {
    (void)ctx;
    printf("%-22s = %-20s  # %s; %s\n", key, value, origin, help);
}

int cmd_config(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse("config", &config_help, NULL, 0, argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("config", CLI_USAGE, "unexpected argument '%s'", a.pos[0]);
        goto out;
    }
    /* The data directory as every other command resolves it (absolute). */
    if ((rc = cli_env_load(&e, &a))) goto out;
    if (e.cfg.file[0]) printf("# config file: %s\n", e.cfg.file);
    config_each(&e.cfg, print_setting, NULL);
out:
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
