/* lore migrate [--status]: the schema versions of the control store and of
 * every tenant, and applying what is pending (docs/storage.md,
 * "Migrations"). The store is opened without migrating, so --status shows
 * what is pending rather than applying it on the way in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const cli_opt opts[] = {
    {"status", 's', NULL, 0, "list the versions, apply nothing"},
};
static const cli_help help = {
    "lore migrate [--status]",
    "Apply pending schema migrations to the store, or list them.",
    "Every database of the store (the control store and each tenant's) records the\n"
    "migrations applied to it. `lore migrate` applies what a newer lore brings, to all of\n"
    "them; it is idempotent, and two runs at once (from two nodes too) take turns and end\n"
    "with one applied set. --status lists, per database, the migrations applied and the\n"
    "ones this lore knows, marking those with migrations pending, and applies nothing.\n"
    "In production mode (mode = production) no other command migrates: lore serve and\n"
    "lore worker refuse to start on a store with pending migrations and name this command.",
    "  lore migrate --status\n  lore migrate",
};

/* Prints one line per database; returns the migrations pending in all. */
static int64_t print_status(const store_schema_status *st, size_t n) {
    int64_t pending = 0;
    printf("%-40s %8s %6s  %s\n", "DATABASE", "APPLIED", "KNOWN", "STATE");
    for (size_t i = 0; i < n; i++) {
        char name[STORE_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s%s", st[i].tenant[0] ? "tenant " : "control", st[i].tenant);
        int64_t p = st[i].known - st[i].applied;
        const char *state = p > 0 ? "pending" : p < 0 ? "newer than this lore" : "up to date";
        if (p > 0) pending += p;
        printf("%-40s %8lld %6lld  %s\n", name, (long long)st[i].applied, (long long)st[i].known,
               state);
    }
    return pending;
}

static int read_status(cli_env *e, store_schema_status **out, size_t *n) {
    lore_status st = store_migration_status(e->store, out, n);
    if (st != LORE_OK)
        return cli_error("migrate", CLI_FAIL, "cannot read the schema versions: %s",
                         lore_status_message(st));
    return CLI_OK;
}

int cmd_migrate(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    store_schema_status *before = NULL, *after = NULL;
    size_t nbefore = 0, nafter = 0;
    int rc = cli_parse("migrate", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("migrate", CLI_USAGE, "migrate takes no arguments");
        goto out;
    }
    if ((rc = cli_env_open_flags(&e, &a, STORE_OPEN_NO_MIGRATE))) goto out;
    if ((rc = read_status(&e, &before, &nbefore))) goto out;
    if (cli_flag(&a, "status")) {
        printf("store: %s\n", store_backend_name(e.store));
        int64_t pending = print_status(before, nbefore);
        if (pending)
            printf("%lld migration(s) pending: run lore migrate\n", (long long)pending);
        else
            printf("up to date\n");
        rc = CLI_OK;
        goto out;
    }
    char err[1024] = "";
    lore_status st = store_migrate(e.store, err, sizeof err);
    if (st != LORE_OK) {
        rc = cli_error("migrate", CLI_FAIL, "%s", err[0] ? err : lore_status_message(st));
        goto out;
    }
    if ((rc = read_status(&e, &after, &nafter))) goto out;
    int64_t pending = print_status(after, nafter);
    /* Another run may have applied some of them meanwhile: what was
     * pending when this one began, not what this one applied. */
    int64_t was = 0;
    for (size_t i = 0; i < nbefore; i++)
        if (before[i].known > before[i].applied) was += before[i].known - before[i].applied;
    if (pending) { /* a tenant created meanwhile by an older lore, or unreadable */
        rc = cli_error("migrate", CLI_FAIL, "%lld migration(s) still pending", (long long)pending);
        goto out;
    }
    printf("up to date: %zu database(s) (%lld migration(s) were pending)\n", nafter,
           (long long)was);
    rc = CLI_OK;
out:
    free(before);
    free(after);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
