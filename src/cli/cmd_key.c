/* lore key create|list|revoke: API keys for lore serve.
 *
 * create prints the key alone on stdout (so `KEY=$(lore key create ...)`
 * works) and says on stderr that it is shown once: only its hash is stored.
 * Options are checked before the store is opened, so a mistake costs
 * nothing and names the option at fault. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "cli/cli.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "the key's tenant (create: required; list, revoke: filter)"},
    {"scope", 0, "SCOPES", 1, "create: read, write, admin, server (comma-separated)"},
    {"principal", 0, "PRINCIPAL", 1, "create: who the key acts for (user:EMAIL, group:NAME)"},
    {"name", 0, "LABEL", 0, "create: a label for the key (at most 128 bytes)"},
    {"expires", 0, "WHEN", 0, "create: 12h, 30d, 8w or an ISO 8601 date/time (default never)"},
    {"json", 0, NULL, 0, "list: print JSON lines"},
};
static const cli_help help = {
    "lore key create --tenant T --scope SCOPES [--principal P]... [--name LABEL] [--expires WHEN]\n"
    "       lore key list [--tenant T] [--json]\n"
    "       lore key revoke ID [--tenant T]",
    "Manage the API keys lore serve accepts (Authorization: Bearer KEY). A key belongs to\n"
    "one tenant, carries scopes and the principals it acts for, and may expire. Only a\n"
    "hash of a key is stored: create prints the key once, and it cannot be shown again.",
    "Scopes: read (search, get), write (ingest, delete), admin (the tenant's keys and\n"
    "settings), server (tenants; server-wide). Scopes do not imply one another.\n"
    "Principals: user:EMAIL or group:NAME; document ACLs are checked against them.\n"
    "A revoked key is refused from the next request on. Deleting a tenant deletes its keys.",
    "  lore key create --tenant acme --scope read --principal group:eng --expires 90d\n"
    "  lore key create --tenant acme --scope read,write,admin --name deploy-bot\n"
    "  lore key list --tenant acme\n"
    "  lore key revoke 3f9a0c1b2d4e",
};

#define CMD "key"
#define DAY_MS 86400000LL
#define MAX_DAYS 36525 /* a century: anything longer is a typo */

/* Parses --expires: a count of hours, days or weeks from now, or an ISO 8601
 * date or date-time (UTC unless it names a zone). Returns 0, or the exit
 * code after printing the error. */
static int parse_expiry(const char *v, int64_t now, int64_t *out) {
    size_t len = strlen(v);
    char unit = len ? v[len - 1] : '\0';
    if (len >= 2 && len <= 7 && (unit == 'h' || unit == 'd' || unit == 'w') &&
        strspn(v, "0123456789") == len - 1) {
        long long count = strtoll(v, NULL, 10);
        int64_t ms = unit == 'h' ? count * 3600000LL : count * DAY_MS * (unit == 'w' ? 7 : 1);
        if (count <= 0 || ms > MAX_DAYS * DAY_MS)
            return cli_error(CMD, CLI_USAGE,
                             "--expires %s: must be more than 0 and at most %d days", v, MAX_DAYS);
        *out = now + ms;
        return 0;
    }
    if (lore_parse_iso8601(v, out))
        return cli_error(CMD, CLI_USAGE,
                         "--expires %s: expected a duration (12h, 30d, 8w) or an ISO 8601 date "
                         "like 2026-12-31 or 2026-12-31T18:00:00Z",
                         v);
    if (*out <= now) return cli_error(CMD, CLI_USAGE, "--expires %s: that is in the past", v);
    if (*out - now > MAX_DAYS * DAY_MS)
        return cli_error(CMD, CLI_USAGE, "--expires %s: more than %d days away", v, MAX_DAYS);
    return 0;
}

/* Refuses options that belong to another action, so a misplaced --scope on
 * list is reported instead of silently ignored. */
static int check_options(const cli_args *a, const char *action) {
    static const char *const create_only[] = {"scope", "principal", "name", "expires"};
    for (size_t i = 0; i < sizeof create_only / sizeof create_only[0]; i++)
        if (strcmp(action, "create") && cli_get(a, create_only[i]))
            return cli_error(CMD, CLI_USAGE, "--%s applies to create only", create_only[i]);
    if (strcmp(action, "list") && cli_flag(a, "json"))
        return cli_error(CMD, CLI_USAGE, "--json applies to list only");
    return 0;
}

/* A checked create request. */
typedef struct create_req {
    const char *tenant, *name;
    unsigned scopes;
    const char *const *principals;
    size_t np;
    int64_t expires_ms;
} create_req;

/* Checks the options of create before anything is opened. Returns 0, or the
 * exit code after printing the error. */
static int create_check(const cli_args *a, create_req *r) {
    const char *const *scope_args;
    size_t nscope = cli_get_all(a, "scope", &scope_args);
    const char *expires = cli_get(a, "expires");
    char err[160];
    memset(r, 0, sizeof *r);
    r->tenant = cli_get(a, "tenant");
    r->name = cli_get(a, "name");
    r->np = cli_get_all(a, "principal", &r->principals);
    if (!r->tenant)
        return cli_error(CMD, CLI_USAGE, "create needs --tenant NAME (the tenant the key is for)");
    if (!nscope)
        return cli_error(CMD, CLI_USAGE,
                         "create needs --scope (read, write, admin, server; comma-separated)");
    for (size_t i = 0; i < nscope; i++) {
        unsigned bits;
        if (auth_scopes_parse(scope_args[i], &bits, err, sizeof err) != LORE_OK)
            return cli_error(CMD, CLI_USAGE, "--scope %s: %s", scope_args[i], err);
        r->scopes |= bits;
    }
    if (r->np > APIKEY_MAX_PRINCIPALS)
        return cli_error(CMD, CLI_USAGE, "at most %d --principal options", APIKEY_MAX_PRINCIPALS);
    for (size_t i = 0; i < r->np; i++)
        if (!auth_principal_valid(r->principals[i]))
            return cli_error(CMD, CLI_USAGE,
                             "--principal %s: a principal is user:EMAIL or group:NAME "
                             "(printable, no control characters, at most %d bytes)",
                             r->principals[i], AUTH_PRINCIPAL_MAX);
    if (r->name && !apikey_name_valid(r->name))
        return cli_error(CMD, CLI_USAGE,
                         "--name: 1 to %d bytes of printable text, no control characters",
                         APIKEY_NAME_MAX);
    return expires ? parse_expiry(expires, lore_now_ms(), &r->expires_ms) : 0;
}

static int create(cli_env *e, const create_req *r) {
    char key[APIKEY_LEN + 1], scope_text[AUTH_SCOPES_BUFLEN];
    store_key *rec = NULL;
    int rc = CLI_OK;
    lore_status st = apikey_create(e->store, r->tenant, r->name, r->scopes, r->principals, r->np,
                                   r->expires_ms, key, &rec);
    if (st == LORE_NOT_FOUND) {
        rc = cli_error(CMD, CLI_FAIL,
                       "tenant '%s' does not exist (create it with: lore tenant create %s)",
                       r->tenant, r->tenant);
        goto out;
    }
    if (st == LORE_INVALID && r->expires_ms && r->expires_ms <= lore_now_ms()) {
        rc = cli_error(CMD, CLI_USAGE, "--expires: that is in the past");
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error(CMD, CLI_FAIL, "cannot create the key: %s", lore_status_message(st));
        goto out;
    }
    printf("%s\n", key);
    fflush(stdout);
    auth_scopes_format(rec->scopes, scope_text, sizeof scope_text);
    fprintf(stderr,
            "lore key: created key %s for tenant %s (%s). This is the only time the key is "
            "shown; store it now.\n",
            rec->id, rec->tenant, scope_text);
out:
    OPENSSL_cleanse(key, sizeof key); /* no copy of the secret outlives the printing */
    store_key_free(rec);
    return rc;
}

static void iso_or(int64_t ms, const char *none, char *buf, int len) {
    if (ms)
        lore_format_iso8601(ms, buf, len);
    else
        snprintf(buf, (size_t)len, "%s", none);
}

/* The principals of k joined by commas into an owned string. */
static char *join_principals(const store_key *k) {
    size_t len = 2;
    for (size_t i = 0; i < k->nprincipals; i++)
        len += strlen(k->principals[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < k->nprincipals; i++) {
        if (i) strcat(s, ",");
        strcat(s, k->principals[i]);
    }
    if (!k->nprincipals) strcpy(s, "-");
    return s;
}

static int print_json_line(const store_key *k) {
    json_t *o = json_object(), *scopes = json_array(), *pr = json_array();
    char t[32];
    int ok = o && scopes && pr;
    for (unsigned bit = 1; ok && bit <= AUTH_SCOPE_ALL; bit <<= 1) {
        char one[AUTH_SCOPES_BUFLEN];
        if (!(k->scopes & bit)) continue;
        auth_scopes_format(bit, one, sizeof one);
        json_array_append_new(scopes, json_string(one));
    }
    for (size_t i = 0; ok && i < k->nprincipals; i++)
        json_array_append_new(pr, json_string(k->principals[i]));
    if (ok) {
        json_object_set_new(o, "id", json_string(k->id));
        json_object_set_new(o, "tenant", json_string(k->tenant));
        json_object_set_new(o, "name", k->name ? json_string(k->name) : json_null());
        json_object_set_new(o, "scopes", scopes);
        json_object_set_new(o, "principals", pr);
        scopes = pr = NULL; /* owned by o now */
        lore_format_iso8601(k->created_ms, t, sizeof t);
        json_object_set_new(o, "created", json_string(t));
        lore_format_iso8601(k->expires_ms, t, sizeof t);
        json_object_set_new(o, "expires", k->expires_ms ? json_string(t) : json_null());
        lore_format_iso8601(k->revoked_ms, t, sizeof t);
        json_object_set_new(o, "revoked", k->revoked_ms ? json_string(t) : json_null());
    }
    char *s = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s) puts(s);
    free(s);
    json_decref(scopes);
    json_decref(pr);
    json_decref(o);
    return s ? 0 : -1;
}

static int list(cli_env *e, const cli_args *a) {
    const char *tenant = cli_get(a, "tenant");
    store_key *keys = NULL;
    size_t n = 0;
    char **pr = NULL;
    int rc = CLI_OK, json = cli_flag(a, "json");
    lore_status st = store_key_list(e->store, tenant, &keys, &n);
    if (st == LORE_NOT_FOUND) {
        rc = cli_error(CMD, CLI_FAIL, "tenant '%s' does not exist", tenant);
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error(CMD, CLI_FAIL, "cannot list keys: %s", lore_status_message(st));
        goto out;
    }
    if (!(pr = calloc(n + 1, sizeof *pr))) {
        rc = cli_error(CMD, CLI_FAIL, "out of memory");
        goto out;
    }
    /* Column widths from the data: names and principals vary a lot. */
    int wt = 6, wn = 4, ws = 6, wp = 10;
    for (size_t i = 0; i < n; i++) {
        char sc[AUTH_SCOPES_BUFLEN];
        if (!(pr[i] = join_principals(&keys[i]))) {
            rc = cli_error(CMD, CLI_FAIL, "out of memory");
            goto out;
        }
        int l = (int)strlen(keys[i].tenant);
        wt = l > wt ? l : wt;
        l = keys[i].name ? (int)strlen(keys[i].name) : 1;
        wn = l > wn ? l : wn;
        l = (int)auth_scopes_format(keys[i].scopes, sc, sizeof sc);
        ws = l > ws ? l : ws;
        l = (int)strlen(pr[i]);
        wp = l > wp ? l : wp;
    }
    if (!json && n)
        printf("%-12s  %-*s  %-*s  %-*s  %-*s  %-20s  %-20s  %s\n", "ID", wt, "TENANT", wn, "NAME",
               ws, "SCOPES", wp, "PRINCIPALS", "CREATED", "EXPIRES", "REVOKED");
    for (size_t i = 0; i < n; i++) {
        const store_key *k = &keys[i];
        if (json) {
            if (print_json_line(k)) {
                rc = cli_error(CMD, CLI_FAIL, "cannot format key %s as JSON", k->id);
                goto out;
            }
            continue;
        }
        char sc[AUTH_SCOPES_BUFLEN], created[32], expires[32], revoked[32];
        auth_scopes_format(k->scopes, sc, sizeof sc);
        lore_format_iso8601(k->created_ms, created, sizeof created);
        iso_or(k->expires_ms, "never", expires, sizeof expires);
        iso_or(k->revoked_ms, "-", revoked, sizeof revoked);
        printf("%-12s  %-*s  %-*s  %-*s  %-*s  %-20s  %-20s  %s\n", k->id, wt, k->tenant, wn,
               k->name ? k->name : "-", ws, sc, wp, pr[i], created, expires, revoked);
    }
    if (!json && !n)
        printf("no keys (create one with: lore key create --tenant %s --scope read)\n",
               tenant ? tenant : "NAME");
out:
    for (size_t i = 0; pr && i < n; i++)
        free(pr[i]);
    free(pr);
    store_keys_free(keys, n);
    return rc;
}

static int revoke(cli_env *e, const cli_args *a, const char *id) {
    const char *tenant = cli_get(a, "tenant");
    store_key *k = NULL;
    int rc = CLI_OK;
    char when[32];
    /* Read first: only to tell "revoked now" from "was already revoked". */
    lore_status st = store_key_get(e->store, id, &k);
    if (st == LORE_OK && tenant && strcmp(k->tenant, tenant)) st = LORE_NOT_FOUND;
    if (st == LORE_OK) st = store_key_revoke(e->store, tenant, id, lore_now_ms());
    if (st == LORE_NOT_FOUND) {
        if (tenant)
            rc = cli_error(CMD, CLI_FAIL, "no key %s in tenant '%s' (see lore key list)", id,
                           tenant);
        else
            rc = cli_error(CMD, CLI_FAIL, "no key %s (see lore key list)", id);
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error(CMD, CLI_FAIL, "cannot revoke key %s: %s", id, lore_status_message(st));
        goto out;
    }
    if (k->revoked_ms) {
        lore_format_iso8601(k->revoked_ms, when, sizeof when);
        printf("key %s (tenant %s) was already revoked at %s\n", id, k->tenant, when);
    } else {
        printf("revoked key %s (tenant %s)\n", id, k->tenant);
    }
out:
    store_key_free(k);
    return rc;
}

static int valid_id(const char *s) {
    return strlen(s) == STORE_KEY_ID_LEN && strspn(s, "0123456789abcdef") == STORE_KEY_ID_LEN;
}

int cmd_key(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse(CMD, &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 1) {
        rc = cli_error(CMD, CLI_USAGE, "missing action: create, list or revoke");
        goto out;
    }
    const char *action = a.pos[0];
    int is_revoke = !strcmp(action, "revoke");
    if (!is_revoke && strcmp(action, "create") && strcmp(action, "list")) {
        rc = cli_error(CMD, CLI_USAGE, "unknown action '%s' (create, list or revoke)", action);
        goto out;
    }
    if (is_revoke && a.npos != 2) {
        rc = cli_error(CMD, CLI_USAGE, "revoke needs exactly one key id");
        goto out;
    }
    if (!is_revoke && a.npos != 1) {
        rc = cli_error(CMD, CLI_USAGE, "%s takes no arguments (options only)", action);
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
    if (is_revoke && !valid_id(a.pos[1])) {
        /* A whole key pasted here is not echoed: the terminal, the shell
         * history and this message would all keep the secret. */
        if (!strncmp(a.pos[1], APIKEY_PREFIX, APIKEY_PREFIX_LEN))
            rc = cli_error(CMD, CLI_USAGE,
                           "that looks like a whole key; pass its id (the 12 hex digits after "
                           "lore_), and treat the key as exposed");
        else
            rc = cli_error(CMD, CLI_USAGE,
                           "'%s' is not a key id (12 lower-case hex digits; see lore key list)",
                           a.pos[1]);
        goto out;
    }
    create_req req;
    if (!strcmp(action, "create") && (rc = create_check(&a, &req))) goto out;
    if ((rc = cli_env_open(&e, &a))) goto out;
    if (!strcmp(action, "create"))
        rc = create(&e, &req);
    else if (!strcmp(action, "list"))
        rc = list(&e, &a);
    else
        rc = revoke(&e, &a, a.pos[1]);
out:
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
