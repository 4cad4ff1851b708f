/* lore tenant create|list|delete */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"yes", 'y', NULL, 0, "confirm deleting a tenant and all of its data"},
    {"json", 0, NULL, 0, "print the list as JSON lines"},
};
static const cli_help help = {
    "lore tenant create NAME | list | delete NAME --yes | export NAME [FILE] | import NAME [FILE]",
    "Manage tenants. A tenant is an isolated set of documents with its own index;\n"
    "deleting one removes all of its data.",
    "Names: lower-case letters, digits, '-' and '_', starting with a letter or digit,\n"
    "at most 64 characters. export and import move a tenant's documents between\n"
    "servers as JSON Lines (lore tenant export --help).",
    "  lore tenant create acme\n  lore tenant list\n  lore tenant delete acme --yes\n"
    "  lore tenant export acme > acme.jsonl\n  lore tenant import acme acme.jsonl",
};

/* The action: the first argument that is neither an option nor the value
 * of a common option. */
static const char *action_of(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--")) return i + 1 < argc ? argv[i + 1] : NULL;
        if (s[0] != '-' || !s[1]) return s;
        if (!strcmp(s, "--data-dir") || !strcmp(s, "--config") || !strcmp(s, "--log-level")) i++;
    }
    return NULL;
}

int cmd_tenant(int argc, char **argv) {
    const char *act = action_of(argc, argv);
    if (act && !strcmp(act, "export")) return cmd_tenant_export(argc, argv);
    if (act && !strcmp(act, "import")) return cmd_tenant_import(argc, argv);
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse("tenant", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 1) {
        rc = cli_error("tenant", CLI_USAGE,
                       "missing action: create, list, delete, export or import");
        goto out;
    }
    const char *action = a.pos[0];
    int needs_name = !strcmp(action, "create") || !strcmp(action, "delete");
    if (!needs_name && strcmp(action, "list")) {
        rc = cli_error("tenant", CLI_USAGE,
                       "unknown action '%s' (create, list, delete, export or import)", action);
        goto out;
    }
    if (needs_name && a.npos != 2) {
        rc = cli_error("tenant", CLI_USAGE, "%s needs exactly one tenant name", action);
        goto out;
    }
    if (!needs_name && a.npos != 1) {
        rc = cli_error("tenant", CLI_USAGE, "list takes no arguments");
        goto out;
    }
    const char *name = needs_name ? a.pos[1] : NULL;
    if (name && !store_tenant_name_valid(name)) {
        rc = cli_error("tenant", CLI_USAGE,
                       "'%s' is not a valid tenant name (lower-case letters, digits, - and _)",
                       name);
        goto out;
    }
    if (!strcmp(action, "delete") && !cli_flag(&a, "yes")) {
        rc = cli_error("tenant", CLI_USAGE,
                       "deleting tenant '%s' removes all of its documents; add --yes to confirm",
                       name);
        goto out;
    }
    if ((rc = (strcmp(action, "create") ? cli_env_open : cli_env_open_create)(&e, &a))) goto out;
    lore_status st;
    if (!strcmp(action, "create")) {
        st = store_tenant_create(e.store, name);
        if (st == LORE_EXISTS)
            rc = cli_error("tenant", CLI_FAIL, "tenant '%s' already exists", name);
        else if (st != LORE_OK)
            rc = cli_error("tenant", CLI_FAIL, "cannot create '%s': %s", name,
                           lore_status_message(st));
        else
            printf("created tenant %s\n", name);
    } else if (!strcmp(action, "delete")) {
        st = store_tenant_delete(e.store, name);
        if (st == LORE_NOT_FOUND)
            rc = cli_error("tenant", CLI_FAIL, "tenant '%s' does not exist", name);
        else if (st != LORE_OK)
            rc = cli_error("tenant", CLI_FAIL, "cannot delete '%s': %s", name,
                           lore_status_message(st));
        else
            printf("deleted tenant %s\n", name);
    } else {
        store_tenant_info *list = NULL;
        size_t n = 0;
        if ((st = store_tenant_list(e.store, &list, &n)) != LORE_OK) {
            rc = cli_error("tenant", CLI_FAIL, "cannot list tenants: %s", lore_status_message(st));
            goto out;
        }
        int json = cli_flag(&a, "json");
        if (!json && n) printf("%-24s %10s %10s  %s\n", "TENANT", "DOCUMENTS", "CHUNKS", "CREATED");
        for (size_t i = 0; i < n; i++) {
            char created[32];
            lore_format_iso8601(list[i].created_ms, created, sizeof created);
            if (json)
                printf("{\"name\":\"%s\",\"documents\":%lld,\"chunks\":%lld,\"created\":\"%s\"}\n",
                       list[i].name, (long long)list[i].documents, (long long)list[i].chunks,
                       created);
            else
                printf("%-24s %10lld %10lld  %s\n", list[i].name, (long long)list[i].documents,
                       (long long)list[i].chunks, created);
        }
        if (!json && !n) printf("no tenants (create one with: lore tenant create NAME)\n");
        free(list);
    }
out:
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
