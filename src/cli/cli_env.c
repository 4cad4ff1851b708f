/* Opening configuration, store and tenant for a command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "embed/embed_registry.h"
#include "secrets/secrets.h"
#include "util/log.h"

int cli_env_load(cli_env *e, const cli_args *a) {
    memset(e, 0, sizeof *e);
    char err[1024];
    const char *cmd = "config";
    if (config_load(&e->cfg, cli_get(a, "config"), err, sizeof err) != LORE_OK)
        return cli_error(cmd, CLI_USAGE, "%s", err);
    static const char *const flag_keys[][2] = {{"data-dir", "data_dir"},
                                               {"log-level", "log_level"}};
    for (size_t i = 0; i < 2; i++) {
        const char *v = cli_get(a, flag_keys[i][0]);
        if (v && config_set(&e->cfg, flag_keys[i][1], v, CONFIG_FLAG, err, sizeof err) != LORE_OK)
            return cli_error(cmd, CLI_USAGE, "%s", err);
    }
    if (config_validate(&e->cfg, err, sizeof err) != LORE_OK)
        return cli_error(cmd, CLI_USAGE, "%s", err);
    lore_status st = config_resolve_data_dir(&e->cfg, err, sizeof err);
    if (st != LORE_OK) return cli_error(cmd, st == LORE_IO ? CLI_FAIL : CLI_USAGE, "%s", err);
    lore_log_level lvl;
    if (!lore_log_parse_level(e->cfg.log_level, &lvl)) lore_log_set_level(lvl);
    tenant_settings_from_config(&e->tenant_settings, &e->cfg);
    return CLI_OK;
}

/* The message for a data directory without a store: where it is, why it
 * is that one, and the two ways out. */
static int no_data(const cli_env *e, const char *cmd, const char *why) {
    if (!config_store_url_dir(e->cfg.store_url)) /* another backend: no directory to name */
        return cli_error(cmd, CLI_FAIL,
                         "no lore store where store_url points: %s; check store_url, or start "
                         "one there with: lore tenant create NAME",
                         why);
    char source[1200], hint[1200] = "";
    config_data_dir_source(&e->cfg, source, sizeof source);
    /* Before the per-user default, lore used ./lore-data; say so when one
     * is right here rather than let it look lost. */
    char cwd[1024];
    struct stat sb;
    if (config_origin_of(&e->cfg, "data_dir") == CONFIG_DEFAULT &&
        stat("lore-data/control.db", &sb) == 0 && getcwd(cwd, sizeof cwd))
        snprintf(hint, sizeof hint,
                 " (./lore-data here is used only when named: LORE_DATA_DIR=%s/lore-data)", cwd);
    return cli_error(cmd, CLI_FAIL,
                     "no lore data at %s: %s (%s); set LORE_DATA_DIR or --data-dir to the "
                     "directory that holds control.db, or start one there with: lore tenant "
                     "create NAME%s",
                     e->cfg.data_dir, why, source, hint);
}

static int production(const cli_env *e) {
    return !strcmp(e->cfg.mode, "production");
}

/* explicit: the caller chose the flags (lore migrate), nothing is checked. */
static int open_store(cli_env *e, const cli_args *a, unsigned flags, int explicit) {
    int rc = cli_env_load(e, a);
    if (rc) return rc;
    const char *cmd = a->cmd ? a->cmd : "store";
    char err[1024];
    /* Production never migrates on the way in: `lore migrate` does. */
    if (production(e)) flags |= STORE_OPEN_NO_MIGRATE;
    lore_status st = store_open(e->cfg.store_url, flags, &e->store, err, sizeof err);
    if (st == LORE_NOT_FOUND && !(flags & STORE_OPEN_CREATE)) return no_data(e, cmd, err);
    if (st != LORE_OK) return cli_error(cmd, CLI_FAIL, "%s", err); /* err names the path */
    if (!explicit && production(e) && (st = store_check(e->store, err, sizeof err)) != LORE_OK)
        return cli_error(cmd, CLI_FAIL, "production mode migrates nothing by itself: %s",
                         err); /* pending: err names lore migrate */
    LORE_DEBUG("store %s (data directory %s)", store_backend_name(e->store), e->cfg.data_dir);
    return CLI_OK;
}

int cli_env_open(cli_env *e, const cli_args *a) {
    return open_store(e, a, 0, 0);
}

int cli_env_open_create(cli_env *e, const cli_args *a) {
    return open_store(e, a, STORE_OPEN_CREATE, 0);
}

int cli_env_open_flags(cli_env *e, const cli_args *a, unsigned flags) {
    return open_store(e, a, flags, 1);
}

int cli_env_require_migrated(cli_env *e, const char *cmd) {
    if (!production(e)) return CLI_OK;
    store_schema_status *list = NULL;
    size_t n = 0;
    lore_status st = store_migration_status(e->store, &list, &n);
    if (st != LORE_OK)
        return cli_error(cmd, CLI_FAIL, "cannot read the store's schema versions: %s",
                         lore_status_message(st));
    int64_t pending = 0;
    size_t dbs = 0;
    char first[STORE_NAME_MAX + 16] = "";
    for (size_t i = 0; i < n; i++) {
        if (list[i].applied >= list[i].known) continue;
        pending += list[i].known - list[i].applied;
        if (!dbs++)
            snprintf(first, sizeof first, "%s%s", list[i].tenant[0] ? "tenant " : "control",
                     list[i].tenant);
    }
    free(list);
    if (!pending) return CLI_OK;
    return cli_error(cmd, CLI_FAIL,
                     "refusing to start in production mode: the store has %lld schema "
                     "migration(s) pending in %zu database(s) (%s%s); run `lore migrate` "
                     "(lore migrate --status lists them), then start again",
                     (long long)pending, dbs, first, dbs > 1 ? ", ..." : "");
}

int cli_env_open_tenant(cli_env *e, const char *tenant, int create_default) {
    const char *name = tenant ? tenant : e->cfg.tenant;
    if (!store_tenant_name_valid(name))
        return cli_error("tenant", CLI_USAGE,
                         "'%s' is not a valid tenant name (lower-case letters, digits, - and _; "
                         "at most %d)",
                         name, STORE_NAME_MAX);
    lore_status st = tenant_ctx_open(e->store, name, &e->tenant_settings, &e->ctx);
    if (st == LORE_NOT_FOUND && create_default && !tenant) {
        if ((st = store_tenant_create(e->store, name)) == LORE_OK) {
            LORE_INFO("created tenant %s", name);
            st = tenant_ctx_open(e->store, name, &e->tenant_settings, &e->ctx);
        }
    }
    if (st == LORE_NOT_FOUND)
        return cli_error("tenant", CLI_FAIL,
                         "tenant '%s' does not exist in %s (create it with: lore tenant create %s)",
                         name, e->cfg.data_dir, name);
    if (st != LORE_OK)
        return cli_error("tenant", CLI_FAIL, "cannot open tenant '%s' or its indexes: %s", name,
                         lore_status_message(st));
    e->tenant = e->ctx->store;
    return CLI_OK;
}

int cli_env_keyring(cli_env *e, const char *cmd) {
    if (e->keyring) return CLI_OK;
    char err[1024];
    lore_status st = secrets_keyring(&e->cfg, &e->keyring, err, sizeof err);
    if (st != LORE_OK) return cli_error(cmd, st == LORE_INVALID ? CLI_USAGE : CLI_FAIL, "%s", err);
    return CLI_OK;
}

int cli_env_secrets(cli_env *e, const char *cmd, int check) {
    int need = secrets_config_needs_store(&e->cfg);
    if (!need && !check) return CLI_OK;
    if (!need) {
        /* Nothing to check without secrets: no keyring, so dev mode makes
         * no master.key until a secret is first set. */
        store_secret *one = NULL;
        size_t n = 0;
        lore_status st = store_secret_list(e->store, NULL, NULL, NULL, 1, 0, &one, &n);
        store_secrets_free(one, n);
        if (st != LORE_OK)
            return cli_error(cmd, CLI_FAIL, "cannot read the secrets: %s", lore_status_message(st));
        if (!n) return CLI_OK;
    }
    int rc = cli_env_keyring(e, cmd);
    if (rc) return rc;
    char err[1024];
    if (need && secrets_resolve_config(e->keyring, e->store, &e->cfg, err, sizeof err) != LORE_OK)
        return cli_error(cmd, CLI_FAIL, "%s", err);
    if (!check) return CLI_OK;
    int64_t checked = 0;
    lore_status st = secrets_check_all(e->keyring, e->store, &checked, err, sizeof err);
    if (st == LORE_OK) {
        LORE_DEBUG("%s: %lld secrets open with key id %s", cmd, (long long)checked,
                   seal_current_id(e->keyring));
        return CLI_OK;
    }
    if (!strcmp(e->cfg.mode, "production"))
        return cli_error(cmd, CLI_FAIL,
                         "refusing to start in production mode: %s. Set master_key to the key "
                         "these secrets were sealed with, or during a rotation master_key to the "
                         "new key and master_key_previous to the old one (docs/secrets.md)",
                         err);
    LORE_WARN("%s: %s; connectors and settings that need them will fail (dev mode starts "
              "anyway; production would refuse; docs/secrets.md)",
              cmd, err);
    return CLI_OK;
}

int cli_env_embedders(cli_env *e, const char *cmd) {
    if (e->embedders || !embed_configured(&e->cfg)) return CLI_OK;
    int rc;
    if (e->store && (rc = cli_env_secrets(e, cmd, 0))) return rc;
    char err[1024];
    lore_status st = embed_registry_open(&e->cfg, &e->embedders, err, sizeof err);
    if (st != LORE_OK)
        return cli_error(cmd, st == LORE_INVALID ? CLI_USAGE : CLI_FAIL, "embedder: %s", err);
    e->tenant_settings.embedders = e->embedders;
    return CLI_OK;
}

void cli_env_close(cli_env *e) {
    seal_keyring_free(e->keyring);
    tenant_ctx_close(e->ctx);          /* and e->tenant, its store handle */
    embed_registry_free(e->embedders); /* after every context that borrows it */
    store_close(e->store);
    memset(e, 0, sizeof *e);
}
