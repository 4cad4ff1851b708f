/* Command-line interface: shared pieces of the commands.
 *
 * Each command lives in its own cmd_*.c and exposes one entry point
 * `int cmd_NAME(int argc, char **argv)` returning the process exit code:
 * 0 success, 1 usage error, 2 runtime error (CLI_OK, CLI_USAGE, CLI_FAIL).
 * Errors are one line on stderr naming the argument or file at fault. */
#ifndef LORE_CLI_CLI_H
#define LORE_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>
#include "config/config.h"
#include "crypto/seal.h"
#include "index/lexical/index_lexical.h"
#include "ingest/ingest_jobs.h"
#include "metrics/metrics.h"
#include "queue/queue.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"

enum { CLI_OK = 0, CLI_USAGE = 1, CLI_FAIL = 2 };

#define CLI_MAX_VALUES 64

typedef struct cli_opt {
    const char *name;    /* long name without dashes */
    char short_name;     /* 0 if none */
    const char *metavar; /* NULL for a flag */
    int repeat;          /* may be given several times */
    const char *help;
} cli_opt;

typedef struct cli_args {
    const char *cmd; /* the command, for messages */
    const cli_opt *opts;
    size_t nopts;
    const char *values[32][CLI_MAX_VALUES]; /* per option */
    size_t nvalues[32];
    char **pos; /* positional arguments (point into argv) */
    size_t npos;
} cli_args;

/* The help of a command: usage line, description, option table, examples. */
typedef struct cli_help {
    const char *usage;
    const char *summary;
    const char *details;  /* may be NULL */
    const char *examples; /* may be NULL */
} cli_help;

/* Parses argv[1..] of a command (argv[0] is the command name). Options may
 * come before or after positionals; `--` ends options. Returns CLI_OK, or
 * CLI_USAGE after printing the error, or -1 when --help was printed. Common
 * options (--data-dir, --config, --log-level, --help) are added by the
 * parser itself. */
int cli_parse(const char *cmd, const cli_help *help, const cli_opt *opts, size_t nopts, int argc,
              char **argv, cli_args *out);
void cli_args_free(cli_args *a);
/* The last value of option name, or NULL. */
const char *cli_get(const cli_args *a, const char *name);
size_t cli_get_all(const cli_args *a, const char *name, const char *const **values);
int cli_flag(const cli_args *a, const char *name);
void cli_print_help(FILE *f, const char *cmd, const cli_help *help, const cli_opt *opts,
                    size_t nopts);

/* Everything a command needs to reach a tenant. */
typedef struct cli_env {
    lore_config cfg;
    store *store;
    store_tenant *tenant;            /* ctx->store once cli_env_open_tenant has run */
    tenant_ctx *ctx;                 /* the tenant's context: store handle and indexes */
    tenant_settings tenant_settings; /* from cfg (tenant_settings_from_config) */
    seal_keyring *keyring; /* made by cli_env_keyring / cli_env_secrets; NULL until then */
    /* The embedders (cli_env_embedders); NULL until then, or when none is
     * configured. Also in tenant_settings.embedders. */
    struct embed_registry *embedders;
} cli_env;

/* Loads the configuration (file, environment, then the common flags),
 * validates it and resolves the data directory to one absolute path
 * (config_resolve_data_dir), which every later message names. Prints the
 * error and returns CLI_USAGE or CLI_FAIL. */
int cli_env_load(cli_env *e, const cli_args *a);
/* cli_env_load, then opens the store that is in the data directory; creates
 * nothing. No store there is CLI_FAIL with a message naming the absolute
 * path, where it came from, and what to do. For every command that only
 * reads or changes existing data. */
int cli_env_open(cli_env *e, const cli_args *a);
/* cli_env_load, then opens the store, creating the data directory and
 * control.db if missing: only for commands that create data (tenant create,
 * ingest, serve). */
int cli_env_open_create(cli_env *e, const cli_args *a);
/* cli_env_load, then opens the store with exactly these STORE_OPEN_* flags
 * (lore migrate: STORE_OPEN_NO_MIGRATE). The other two open with
 * STORE_OPEN_NO_MIGRATE in production mode and refuse a control store with
 * migrations pending (the message names `lore migrate`); in dev mode they
 * apply pending migrations on the way in. */
int cli_env_open_flags(cli_env *e, const cli_args *a, unsigned flags);
/* Production mode only: CLI_FAIL (printed) unless every database of the
 * store is migrated, naming `lore migrate` (serve and worker call it at
 * start). CLI_OK in dev mode. */
int cli_env_require_migrated(cli_env *e, const char *cmd);
/* Opens a tenant (the --tenant value, else the configured default) and its
 * index. create_default: create the configured default tenant if missing.
 * A missing tenant is CLI_FAIL naming the data directory. */
int cli_env_open_tenant(cli_env *e, const char *tenant, int create_default);
/* The keyring that seals secrets (secrets/secrets.h), once the store is
 * open: master_key and master_key_previous, or in dev mode without
 * master_key DATA_DIR/master.key (made on first use). Kept in e->keyring.
 * Prints the error naming the setting and returns CLI_FAIL/CLI_USAGE. */
int cli_env_keyring(cli_env *e, const char *cmd);
/* What a long-running command does with secrets at start, after the store
 * is open: settings given as `secret:NAME` are replaced by the server's
 * secret NAME. check (serve, worker): every stored secret is opened; in
 * production one that does not open refuses the start (CLI_FAIL, naming
 * master_key and master_key_previous), in dev mode it is a warning. The
 * keyring is made (e->keyring) only when there is something to open; code
 * that seals later calls cli_env_keyring. */
int cli_env_secrets(cli_env *e, const char *cmd, int check);
void cli_env_close(cli_env *e);
/* Opens the configured embedders (embed_url; NULL when it is empty) into
 * e->embedders and e->tenant_settings, resolving a `secret:NAME`
 * embed_api_key first when the store is open. Call before
 * cli_env_open_tenant and before starting workers or the API. Prints the
 * error (naming the setting) and returns CLI_USAGE/CLI_FAIL. */
int cli_env_embedders(cli_env *e, const char *cmd);
/* Warns (log) about tenants whose vectors are not of the configured model,
 * or that have chunks and no vectors, naming `lore reembed` (cmd_reembed.c;
 * serve and worker call it at start). */
void cli_reembed_warn(cli_env *e, const char *cmd);

/* A pool of job workers (cli_jobs.c). */
typedef struct cli_pool {
    queue_pool *pool; /* NULL when workers is -1 */
    queue_handler handler;
    unsigned threads;
} cli_pool;
/* Starts `workers` threads (0: one per core; -1: none) running lore's jobs
 * from the store of e. role names the process in job records. */
int cli_pool_start(cli_env *e, const char *role, int64_t workers, metrics_registry *reg,
                   void (*finished)(void *ctx, const store_job *jobs, size_t n), void *fctx,
                   cli_pool *out);
void cli_pool_stop(cli_pool *p);

int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int cmd_tenant(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_connector(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_reembed(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_secrets(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_import(int argc, char **argv);
/* lore tenant export|import (cmd_tenant_io.c): argv as cmd_tenant's. */
int cmd_tenant_export(int argc, char **argv);
int cmd_tenant_import(int argc, char **argv);

#endif
