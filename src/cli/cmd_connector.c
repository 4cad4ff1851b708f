/* lore connector add|list|delete|rotate-secret: connector instances, the
 * sources (GitHub, Slack, Linear) that push changes into a tenant through
 * signed webhooks (docs/connectors.md).
 *
 * add and rotate-secret print the signing secret once: it is stored sealed
 * (secrets/secrets.h) and never shown again. Options are checked before
 * the store is opened, so a mistake costs nothing and names the option. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "cli/cli.h"
#include "connectors/connector_admin.h"
#include "secrets/secrets.h"
#include "util/timeutil.h"

#define CMD "connector"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "the connector's tenant (add: required; others: filter)"},
    {"source", 0, "NAME", 0, "add: the documents' source name (default: the kind)"},
    {"acl", 0, "P1,P2", 1, "add: principals for the documents the source does not restrict"},
    {"secret", 0, "SECRET", 0,
     "add, rotate-secret: the signing secret the source uses (default: generated)"},
    {"secret-file", 0, "FILE", 0,
     "add, rotate-secret: read the signing secret from FILE (first line)"},
    {"grace", 0, "SECONDS", 0,
     "rotate-secret: how long the old secret stays valid (default 86400; 0 = not at all)"},
    {"json", 0, NULL, 0, "print JSON (add, rotate-secret: one object; list: one line each)"},
};
static const cli_help help = {
    "lore connector add github|slack|linear --tenant T [--source NAME] [--acl P1,P2]\n"
    "                   [--secret S | --secret-file F] [--json]\n"
    "       lore connector list [--tenant T] [--json]\n"
    "       lore connector delete ID [--tenant T]\n"
    "       lore connector rotate-secret ID [--grace SECONDS] [--secret S | --secret-file F]\n"
    "                                   [--tenant T] [--json]",
    "Manage connectors: a GitHub, Slack or Linear source that pushes its changes into a\n"
    "tenant through signed webhooks (POST /v1/hooks/ID on lore serve). add creates one\n"
    "and prints its webhook path (the full URL when the setting public_url is set) and\n"
    "its signing secret, once: give both to the source's webhook settings.",
    "The secret is sealed at rest with master_key and never shown again; rotate-secret\n"
    "makes a new one (or takes the source's new one: Slack and Linear make their own) and\n"
    "keeps the old one valid for --grace seconds so the source can be updated without\n"
    "losing deliveries. delete removes the connector and its secrets;\n"
    "deliveries already queued for it finish without effect. Deleting a tenant deletes\n"
    "its connectors.",
    "  lore connector add github --tenant acme --acl group:eng\n"
    "  lore connector add slack --tenant acme --secret-file slack-signing-secret.txt\n"
    "  lore connector list --tenant acme\n"
    "  lore connector rotate-secret con_0123456789abcdef0123 --grace 3600\n"
    "  lore connector rotate-secret con_0123456789abcdef0123 --secret-file new-slack-secret.txt",
};

/* Refuses options that belong to another action. */
static int check_options(const cli_args *a, const char *action) {
    static const char *const add_only[] = {"source", "acl"};
    for (size_t i = 0; i < sizeof add_only / sizeof add_only[0]; i++)
        if (strcmp(action, "add") && cli_get(a, add_only[i]))
            return cli_error(CMD, CLI_USAGE, "--%s applies to add only", add_only[i]);
    if ((!strcmp(action, "list") || !strcmp(action, "delete")) &&
        (cli_get(a, "secret") || cli_get(a, "secret-file")))
        return cli_error(CMD, CLI_USAGE,
                         "--secret and --secret-file apply to add and rotate-secret");
    if (strcmp(action, "rotate-secret") && cli_get(a, "grace"))
        return cli_error(CMD, CLI_USAGE, "--grace applies to rotate-secret only");
    if (!strcmp(action, "delete") && cli_flag(a, "json"))
        return cli_error(CMD, CLI_USAGE, "--json does not apply to delete");
    return 0;
}

/* Reads the first line of a secret file into out. */
static int read_secret_file(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "re");
    if (!f) return cli_error(CMD, CLI_USAGE, "--secret-file %s: cannot open it", path);
    size_t n = fread(out, 1, cap - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    out[n] = 0;
    out[strcspn(out, "\r\n")] = 0;
    if (more && strlen(out) == n)
        return cli_error(CMD, CLI_USAGE, "--secret-file %s: longer than %d bytes", path,
                         CONNECTOR_SECRET_MAX);
    return 0;
}

/* The secret given with --secret or --secret-file (NULL: none) into *out.
 * A --secret value is copied into buf and wiped from the process's
 * arguments, so ps and /proc/PID/cmdline stop showing it once the command
 * has started; the shell's history still has it, which a warning says. */
static int given_secret(const cli_args *a, char *buf, size_t cap, const char **out) {
    const char *file = cli_get(a, "secret-file");
    *out = cli_get(a, "secret");
    if (*out && file) return cli_error(CMD, CLI_USAGE, "give --secret or --secret-file, not both");
    if (*out) {
        size_t n = strlen(*out);
        if (n < cap && n <= CONNECTOR_SECRET_MAX) { /* longer: refused as it is, by the check */
            memcpy(buf, *out, n + 1);
            OPENSSL_cleanse((char *)(uintptr_t)*out, n); /* argv's bytes: writable */
            *out = buf;
        }
        fprintf(stderr, "lore connector: warning: --secret leaves the secret in the shell's "
                        "history; --secret-file FILE keeps it out of both history and ps\n");
    }
    if (!file) return 0;
    int rc = read_secret_file(file, buf, cap);
    if (!rc) *out = buf;
    return rc;
}

/* Splits the --acl values (each comma-separated) into list. */
static int parse_acl(const cli_args *a, char **buf, const char **list, size_t *n) {
    const char *const *vals;
    size_t nv = cli_get_all(a, "acl", &vals), len = 1;
    *n = 0;
    for (size_t i = 0; i < nv; i++)
        len += strlen(vals[i]) + 1;
    if (!(*buf = malloc(len))) return cli_error(CMD, CLI_FAIL, "out of memory");
    char *p = *buf;
    for (size_t i = 0; i < nv; i++) {
        strcpy(p, vals[i]);
        for (char *tok = strtok(p, ","); tok; tok = strtok(NULL, ",")) {
            while (*tok == ' ')
                tok++;
            if (!*tok) continue;
            if (*n == CONNECTOR_ACL_MAX)
                return cli_error(CMD, CLI_USAGE, "--acl: at most %d principals", CONNECTOR_ACL_MAX);
            if (!auth_principal_valid(tok))
                return cli_error(CMD, CLI_USAGE,
                                 "--acl %s: a principal is user:EMAIL or group:NAME", tok);
            list[(*n)++] = tok;
        }
        p += strlen(vals[i]) + 1;
    }
    return 0;
}

static void webhook_url(const cli_env *e, const char *id, char *out, size_t cap) {
    snprintf(out, cap, "%s/v1/hooks/%s", e->cfg.public_url, id);
}

static int print_secret_json(const cli_env *e, const store_connector *c, const char *secret) {
    char url[700];
    webhook_url(e, c->id, url, sizeof url);
    json_t *o = json_pack("{s:s,s:s,s:s}", "id", c->id, "url", url, "secret", secret);
    if (o && c->previous_secret_until_ms) {
        char t[32];
        lore_format_iso8601(c->previous_secret_until_ms, t, sizeof t);
        json_object_set_new(o, "previous_secret_until", json_string(t));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) return cli_error(CMD, CLI_FAIL, "out of memory");
    puts(s);
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    return CLI_OK;
}

static int open_keyring(cli_env *e, seal_keyring **k) {
    char err[512];
    if (secrets_keyring(&e->cfg, k, err, sizeof err) != LORE_OK)
        return cli_error(CMD, CLI_USAGE, "%s", err);
    return 0;
}

static int add(cli_env *e, const cli_args *a, const char *kind) {
    char given[CONNECTOR_SECRET_MAX + 2] = "", secret[CONNECTOR_SECRET_MAX + 1] = "", err[256];
    const char *acl[CONNECTOR_ACL_MAX];
    char *aclbuf = NULL;
    seal_keyring *k = NULL;
    store_connector *c = NULL;
    connector_new req;
    memset(&req, 0, sizeof req);
    req.tenant = cli_get(a, "tenant");
    req.kind = kind;
    req.source = cli_get(a, "source");
    req.secret = cli_get(a, "secret");
    int rc = 0;
    if (!req.tenant) {
        rc = cli_error(CMD, CLI_USAGE, "add needs --tenant NAME (the tenant it feeds)");
        goto out;
    }
    if ((rc = given_secret(a, given, sizeof given, &req.secret))) goto out;
    if ((rc = parse_acl(a, &aclbuf, acl, &req.nacl))) goto out;
    req.acl = acl;
    if ((rc = open_keyring(e, &k))) goto out;
    lore_status st = connector_admin_create(k, e->store, &req, &c, secret, err, sizeof err);
    if (st == LORE_NOT_FOUND) {
        rc = cli_error(CMD, CLI_FAIL,
                       "tenant '%s' does not exist (create it with: lore tenant create %s)",
                       req.tenant, req.tenant);
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error(CMD, st == LORE_INVALID ? CLI_USAGE : CLI_FAIL, "%s",
                       err[0] ? err : lore_status_message(st));
        goto out;
    }
    if (cli_flag(a, "json")) {
        rc = print_secret_json(e, c, secret);
    } else {
        char url[700];
        webhook_url(e, c->id, url, sizeof url);
        printf("connector: %s (%s, tenant %s, source %s)\n", c->id, c->kind, c->tenant, c->source);
        printf("webhook:   %s\n", url);
        printf("secret:    %s\n", secret);
        fflush(stdout);
        fprintf(stderr,
                "lore connector: give the source the webhook %s and the secret; the secret is "
                "shown only this once.%s\n",
                e->cfg.public_url[0] ? "URL" : "path",
                e->cfg.public_url[0] ? ""
                                     : " Put the server's public address in front of the path "
                                       "(set public_url to print it whole).");
    }
out:
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(given, sizeof given);
    store_connector_free(c);
    seal_keyring_free(k);
    free(aclbuf);
    return rc;
}

static void iso_or(int64_t ms, const char *none, char *buf, size_t len) {
    if (ms)
        lore_format_iso8601(ms, buf, (int)len);
    else
        snprintf(buf, len, "%s", none);
}

static int list(cli_env *e, const cli_args *a) {
    const char *tenant = cli_get(a, "tenant");
    store_connector *cs = NULL;
    size_t n = 0;
    int json = cli_flag(a, "json");
    lore_status st = connector_admin_list(e->store, tenant, &cs, &n);
    if (st == LORE_NOT_FOUND) return cli_error(CMD, CLI_FAIL, "tenant '%s' does not exist", tenant);
    if (st != LORE_OK)
        return cli_error(CMD, CLI_FAIL, "cannot list connectors: %s", lore_status_message(st));
    if (!json && n)
        printf("%-24s  %-7s  %-16s  %-16s  %-20s  %-20s  %s\n", "ID", "KIND", "TENANT", "SOURCE",
               "CREATED", "SECRET ROTATED", "ACL");
    int64_t now = lore_now_ms();
    for (size_t i = 0; i < n; i++) {
        const store_connector *c = &cs[i];
        char created[32], rotated[32], url[700], acl[2048] = "";
        size_t used = 0;
        for (size_t j = 0; j < c->nacl && used < sizeof acl; j++)
            used +=
                (size_t)snprintf(acl + used, sizeof acl - used, "%s%s", j ? "," : "", c->acl[j]);
        iso_or(c->created_ms, "-", created, sizeof created);
        iso_or(c->secret_rotated_ms, "never", rotated, sizeof rotated);
        webhook_url(e, c->id, url, sizeof url);
        if (json) {
            json_t *o =
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", c->id, "kind", c->kind, "tenant",
                          c->tenant, "source", c->source, "url", url, "created", created);
            json_t *al = json_array();
            for (size_t j = 0; j < c->nacl; j++)
                json_array_append_new(al, json_string(c->acl[j]));
            json_object_set_new(o, "acl", al);
            json_object_set_new(o, "secret_rotated",
                                c->secret_rotated_ms ? json_string(rotated) : json_null());
            char until[32];
            iso_or(c->previous_secret_until_ms, "", until, sizeof until);
            json_object_set_new(o, "previous_secret_until",
                                c->previous_secret_until_ms > now ? json_string(until)
                                                                  : json_null());
            char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (s) puts(s);
            free(s);
            json_decref(o);
            continue;
        }
        printf("%-24s  %-7s  %-16s  %-16s  %-20s  %-20s  %s\n", c->id, c->kind, c->tenant,
               c->source, created, rotated, c->nacl ? acl : "-");
    }
    if (!json && !n)
        printf("no connectors (add one with: lore connector add github --tenant %s)\n",
               tenant ? tenant : "NAME");
    store_connectors_free(cs, n);
    return CLI_OK;
}

static int not_found(const char *id, const char *tenant) {
    if (tenant)
        return cli_error(CMD, CLI_FAIL, "no connector %s in tenant '%s' (see lore connector list)",
                         id, tenant);
    return cli_error(CMD, CLI_FAIL, "no connector %s (see lore connector list)", id);
}

static int del(cli_env *e, const cli_args *a, const char *id) {
    const char *tenant = cli_get(a, "tenant");
    lore_status st = connector_admin_delete(e->store, tenant, id);
    if (st == LORE_NOT_FOUND) return not_found(id, tenant);
    if (st != LORE_OK)
        return cli_error(CMD, CLI_FAIL, "cannot delete connector %s: %s", id,
                         lore_status_message(st));
    printf("deleted connector %s and its secrets\n", id);
    return CLI_OK;
}

static int rotate(cli_env *e, const cli_args *a, const char *id) {
    const char *tenant = cli_get(a, "tenant"), *g = cli_get(a, "grace");
    int64_t grace = CONNECTOR_GRACE_DEFAULT_S;
    if (g) {
        char *end;
        long long v = strtoll(g, &end, 10);
        if (!*g || *end || v < 0 || v > CONNECTOR_GRACE_MAX_S)
            return cli_error(CMD, CLI_USAGE, "--grace %s: a whole number of seconds, 0 to %d", g,
                             CONNECTOR_GRACE_MAX_S);
        grace = v;
    }
    seal_keyring *k = NULL;
    store_connector *c = NULL;
    char secret[CONNECTOR_SECRET_MAX + 1] = "", err[256] = "", given[CONNECTOR_SECRET_MAX + 2];
    const char *new_secret = NULL;
    int rc = given_secret(a, given, sizeof given, &new_secret);
    if (!rc) rc = open_keyring(e, &k);
    if (rc) {
        OPENSSL_cleanse(given, sizeof given);
        return rc;
    }
    lore_status st = connector_admin_rotate(k, e->store, tenant, id, grace, new_secret, &c, secret,
                                            err, sizeof err);
    if (st == LORE_NOT_FOUND) {
        rc = not_found(id, tenant);
    } else if (st != LORE_OK) {
        rc = cli_error(CMD, st == LORE_INVALID ? CLI_USAGE : CLI_FAIL,
                       "cannot rotate the secret of %s: %s", id,
                       err[0] ? err : lore_status_message(st));
    } else if (cli_flag(a, "json")) {
        rc = print_secret_json(e, c, secret);
    } else {
        printf("secret:    %s\n", secret);
        if (c->previous_secret_until_ms) {
            char until[32];
            lore_format_iso8601(c->previous_secret_until_ms, until, sizeof until);
            printf("previous:  valid until %s\n", until);
        } else {
            printf("previous:  no longer valid\n");
        }
        fflush(stdout);
        fprintf(stderr, "lore connector: give the source the new secret; it is shown only this "
                        "once.\n");
    }
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(given, sizeof given);
    store_connector_free(c);
    seal_keyring_free(k);
    return rc;
}

int cmd_connector(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse(CMD, &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 1) {
        rc = cli_error(CMD, CLI_USAGE, "missing action: add, list, delete or rotate-secret");
        goto out;
    }
    const char *action = a.pos[0];
    int has_id = !strcmp(action, "delete") || !strcmp(action, "rotate-secret");
    if (!has_id && strcmp(action, "add") && strcmp(action, "list")) {
        rc = cli_error(CMD, CLI_USAGE, "unknown action '%s' (add, list, delete, rotate-secret)",
                       action);
        goto out;
    }
    if (!strcmp(action, "add") && a.npos != 2) {
        rc = cli_error(CMD, CLI_USAGE, "add needs the kind: %s", connector_kinds());
        goto out;
    }
    if (has_id && a.npos != 2) {
        rc = cli_error(CMD, CLI_USAGE, "%s needs exactly one connector id", action);
        goto out;
    }
    if (!strcmp(action, "list") && a.npos != 1) {
        rc = cli_error(CMD, CLI_USAGE, "list takes no arguments (options only)");
        goto out;
    }
    if ((rc = check_options(&a, action))) goto out;
    const char *tenant = cli_get(&a, "tenant");
    if (tenant && !store_tenant_name_valid(tenant)) {
        rc = cli_error(CMD, CLI_USAGE,
                       "'%s' is not a valid tenant name (lower-case letters, digits, - and _)",
                       tenant);
        goto out;
    }
    if (has_id && !connector_id_valid(a.pos[1])) {
        rc = cli_error(CMD, CLI_USAGE,
                       "'%.40s' is not a connector id (con_ and 20 hex digits; see lore "
                       "connector list)",
                       a.pos[1]);
        goto out;
    }
    if (!strcmp(action, "add") && !connector_find(a.pos[1])) {
        rc = cli_error(CMD, CLI_USAGE, "unknown connector kind '%.32s' (this build knows: %s)",
                       a.pos[1], connector_kinds());
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if (!strcmp(action, "add"))
        rc = add(&e, &a, a.pos[1]);
    else if (!strcmp(action, "list"))
        rc = list(&e, &a);
    else if (!strcmp(action, "delete"))
        rc = del(&e, &a, a.pos[1]);
    else
        rc = rotate(&e, &a, a.pos[1]);
out:
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
