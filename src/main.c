/* Composition root: the only file that knows every command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"tenant", cmd_tenant, "create, list, delete, export or import tenants"},
    {"ingest", cmd_ingest, "index files and directories"},
    {"import", cmd_import, "import a Slack workspace export"},
    {"search", cmd_search, "search a tenant"},
    {"get", cmd_get, "print a document"},
    {"delete", cmd_delete, "delete documents"},
    {"stats", cmd_stats, "show a tenant's size and state"},
    {"config", cmd_config, "print the effective settings"},
    {"key", cmd_key, "create, list or revoke API keys"},
    {"connector", cmd_connector,
     "add, list, delete connectors and rotate their secrets (GitHub, Slack, Linear webhooks)"},
    {"serve", cmd_serve, "serve the REST API over HTTP"},
    {"worker", cmd_worker, "run queued jobs"},
    {"jobs", cmd_jobs, "list, show, retry or purge jobs"},
    {"reindex", cmd_reindex, "rebuild a tenant's index from its documents"},
    {"reembed", cmd_reembed, "move a tenant's vectors to the configured embedding model"},
    {"mcp", cmd_mcp, "serve MCP over stdio for a local AI agent"},
    {"backup", cmd_backup, "copy the whole store while it serves"},
    {"restore", cmd_restore, "restore a backup into an empty data directory"},
    {"secrets", cmd_secrets, "set, list, delete or rotate sealed secrets"},
    {"migrate", cmd_migrate, "apply or list the store's schema migrations"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: lore <command> [options]\n\n"
               "lore is a self-hosted knowledge server: it indexes documents and answers\n"
               "searches over them.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s  %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun `lore <command> --help` for a command's options.\n"
               "Settings come from LORE_* environment variables or a config file; see `lore "
               "config --help`.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("lore %s\n", LORE_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lore: unknown command '%s' (see lore --help)\n", cmd);
    return CLI_USAGE;
}
