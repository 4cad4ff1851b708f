/* lore secrets list|set|delete|rotate: sealed secrets in the control store
 * (secrets/secrets.h, docs/secrets.md).
 *
 * A value is read from stdin or --value-file, never from the command line
 * (argv stays in shell history and is visible to every user in ps), and is
 * never printed back: list shows names, key ids and times. */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "secrets/secrets.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "the secret's tenant (list: filter)"},
    {"server", 0, NULL, 0, "the server's own secrets (settings such as embed_api_key)"},
    {"value-file", 0, "FILE", 0, "set: read the value from FILE instead of stdin"},
    {"json", 0, NULL, 0, "list: print JSON lines"},
};
static const cli_help help = {
    "lore secrets list [--tenant T | --server] [--json]\n"
    "       lore secrets set NAME (--tenant T | --server) [--value-file FILE]\n"
    "       lore secrets delete NAME (--tenant T | --server)\n"
    "       lore secrets rotate",
    "Manage secrets sealed at rest (AES-256-GCM under a key derived from master_key):\n"
    "connector signing secrets and credentials such as embed_api_key. Values are never\n"
    "printed: list shows names, the id of the key that sealed each, and times.",
    "set reads the value from stdin (up to end of input; one trailing newline is\n"
    "dropped; typed at a terminal, it is not echoed) or from --value-file; never from\n"
    "the command line. An empty value is refused. A setting marked secret (mcp_key)\n"
    "may be given as secret:NAME to use the server's secret NAME.\n"
    "rotate: with master_key set to the new key and master_key_previous to the old\n"
    "one, re-seals every secret under the new key and prints how many were resealed,\n"
    "already current, and unreadable; it exits 2 if any is unreadable. Then remove\n"
    "master_key_previous. Steps: docs/secrets.md.",
    "  printf %s \"$GITHUB_WEBHOOK_SECRET\" | lore secrets set github --tenant acme\n"
    "  lore secrets set embed_api_key --server --value-file /run/keys/embed\n"
    "  lore secrets list --tenant acme\n"
    "  LORE_MASTER_KEY=$NEW LORE_MASTER_KEY_PREVIOUS=$OLD lore secrets rotate",
};

#define CMD "secrets"

/* The owner named by --tenant or --server into *tenant ("" for the
 * server; NULL when neither and not required). */
static int owner(const cli_args *a, int required, const char **tenant) {
    const char *t = cli_get(a, "tenant");
    int server = cli_flag(a, "server");
    *tenant = NULL;
    if (t && server) return cli_error(CMD, CLI_USAGE, "--tenant and --server exclude each other");
    if (t && !store_tenant_name_valid(t))
        return cli_error(CMD, CLI_USAGE,
                         "'%s' is not a valid tenant name (lower-case letters, digits, - and _)",
                         t);
    if (!t && !server && required)
        return cli_error(CMD, CLI_USAGE,
                         "name the secret's owner: --tenant NAME, or --server for the server's "
                         "own secrets");
    *tenant = server ? "" : t;
    return CLI_OK;
}

static const char *owner_text(const char *tenant) {
    return tenant[0] ? tenant : "(server)";
}

static int list(cli_env *e, const char *tenant, int json) {
    int64_t created;
    if (tenant && tenant[0] && store_tenant_created(e->store, tenant, &created) == LORE_NOT_FOUND)
        return cli_error(CMD, CLI_FAIL, "tenant '%s' does not exist", tenant);
    secret_info *l = NULL;
    size_t n = 0;
    lore_status st = secrets_list(e->store, tenant, &l, &n);
    if (st != LORE_OK)
        return cli_error(CMD, CLI_FAIL, "cannot list secrets: %s", lore_status_message(st));
    int wt = 8, wn = 4;
    for (size_t i = 0; i < n; i++) {
        int lt = (int)strlen(owner_text(l[i].tenant)), ln = (int)strlen(l[i].name);
        wt = lt > wt ? lt : wt;
        wn = ln > wn ? ln : wn;
    }
    if (!json && n)
        printf("%-*s  %-*s  %-16s  %-20s  %s\n", wt, "TENANT", wn, "NAME", "KEY ID", "CREATED",
               "UPDATED");
    for (size_t i = 0; i < n; i++) {
        char c[32], u[32];
        lore_format_iso8601(l[i].created_ms, c, sizeof c);
        lore_format_iso8601(l[i].updated_ms, u, sizeof u);
        if (!json) {
            printf("%-*s  %-*s  %-16s  %-20s  %s\n", wt, owner_text(l[i].tenant), wn, l[i].name,
                   l[i].key_id, c, u);
            continue;
        }
        json_t *o = json_pack("{s:o s:s s:s s:s s:s}", "tenant",
                              l[i].tenant[0] ? json_string(l[i].tenant) : json_null(), "name",
                              l[i].name, "key_id", l[i].key_id, "created", c, "updated", u);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    }
    if (!json && !n)
        printf("no secrets (set one with: lore secrets set NAME --tenant %s)\n",
               tenant && tenant[0] ? tenant : "T");
    free(l);
    return CLI_OK;
}

/* Reads at most cap + 1 bytes of f into b (so a value over cap shows).
 * With echo_off, f is a terminal: the value is typed without echo. */
static int read_value(FILE *f, const char *from, int echo_off, lore_buf *b) {
    struct termios old, quiet;
    int restore = 0;
    if (echo_off && tcgetattr(fileno(f), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fileno(f), TCSAFLUSH, &quiet) == 0;
        fprintf(stderr, "value (not echoed; end with Enter): ");
    }
    char piece[4096];
    int rc = CLI_OK;
    for (;;) {
        size_t want = b->cap - b->len < sizeof piece ? b->cap - b->len : sizeof piece;
        if (echo_off) want = 1; /* a line at a terminal: stop at its newline */
        size_t got = want ? fread(piece, 1, want, f) : 0;
        if (got && lore_buf_append(b, piece, got) != LORE_OK) break;
        if (echo_off && got && piece[0] == '\n') break;
        if (got < want || !want) break;
    }
    if (ferror(f)) rc = cli_error(CMD, CLI_FAIL, "cannot read %s: %s", from, strerror(errno));
    if (restore) {
        tcsetattr(fileno(f), TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    OPENSSL_cleanse(piece, sizeof piece);
    return rc;
}

static int set(cli_env *e, const char *tenant, const char *name, const char *file) {
    FILE *f = file ? fopen(file, "rb") : stdin;
    if (!f) return cli_error(CMD, CLI_USAGE, "--value-file %s: %s", file, strerror(errno));
    lore_buf v;
    /* Room for a trailing "\r\n" dropped below, and one byte more: a full
     * buffer means the input went on past any value that could fit. */
    lore_buf_init(&v, SECRET_VALUE_MAX + 3);
    const char *from = file ? file : "stdin";
    int rc = read_value(f, from, !file && isatty(fileno(f)), &v);
    if (file) fclose(f);
    if (rc) goto out;
    int full = v.len == v.cap;
    if (v.len && v.data[v.len - 1] == '\n') v.len--;
    if (v.len && v.data[v.len - 1] == '\r') v.len--;
    if (!v.len) {
        rc = cli_error(CMD, CLI_USAGE, "the value from %s is empty; nothing stored", from);
        goto out;
    }
    if (full || v.len > SECRET_VALUE_MAX) {
        rc = cli_error(CMD, CLI_USAGE, "the value from %s is longer than %d bytes", from,
                       SECRET_VALUE_MAX);
        goto out;
    }
    if ((rc = cli_env_keyring(e, CMD))) goto out;
    lore_status st = secrets_set(e->keyring, e->store, tenant, name, (uint8_t *)v.data, v.len);
    if (st == LORE_NOT_FOUND)
        rc = cli_error(CMD, CLI_FAIL,
                       "tenant '%s' does not exist (create it with: lore tenant create %s)", tenant,
                       tenant);
    else if (st != LORE_OK)
        rc = cli_error(CMD, CLI_FAIL, "cannot store secret %s: %s", name, lore_status_message(st));
    else
        printf("stored secret %s/%s (%zu bytes, sealed with key id %s)\n", owner_text(tenant), name,
               v.len, seal_current_id(e->keyring));
out:
    if (v.data) OPENSSL_cleanse(v.data, v.alloc);
    lore_buf_free(&v);
    return rc;
}

static int remove_secret(cli_env *e, const char *tenant, const char *name) {
    lore_status st = secrets_delete(e->store, tenant, name);
    if (st == LORE_NOT_FOUND)
        return cli_error(CMD, CLI_FAIL, "no secret %s/%s (see lore secrets list)",
                         owner_text(tenant), name);
    if (st != LORE_OK)
        return cli_error(CMD, CLI_FAIL, "cannot delete secret %s: %s", name,
                         lore_status_message(st));
    printf("deleted secret %s/%s\n", owner_text(tenant), name);
    return CLI_OK;
}

static int rotate(cli_env *e) {
    int rc = cli_env_keyring(e, CMD);
    if (rc) return rc;
    secrets_rotate_report r;
    lore_status st = secrets_rotate(e->keyring, e->store, &r);
    if (st != LORE_OK)
        return cli_error(CMD, CLI_FAIL, "rotation stopped: %s (run it again: it resumes)",
                         lore_status_message(st));
    const char *prev = seal_previous_id(e->keyring);
    printf("resealed %lld, current %lld, unreadable %lld (key id %s%s%s)\n", (long long)r.resealed,
           (long long)r.current, (long long)r.unreadable, seal_current_id(e->keyring),
           prev[0] ? ", previous " : "", prev);
    if (r.unreadable)
        return cli_error(CMD, CLI_FAIL,
                         "%lld secrets open with neither master_key nor master_key_previous; "
                         "they were left as they are (lore secrets list shows their key ids; "
                         "set them again, or find the key they were sealed with)",
                         (long long)r.unreadable);
    if (prev[0] && !r.resealed && !r.unreadable)
        fprintf(stderr, "lore secrets: every secret is under the current key: "
                        "master_key_previous can be removed now\n");
    return CLI_OK;
}

/* Checks the action's arguments and options before anything is opened. */
static int check_args(const cli_args *a, const char *action, const char **tenant) {
    int named = !strcmp(action, "set") || !strcmp(action, "delete");
    if (!named && strcmp(action, "list") && strcmp(action, "rotate"))
        return cli_error(CMD, CLI_USAGE, "unknown action '%s' (list, set, delete or rotate)",
                         action);
    if (!strcmp(action, "set") && a->npos > 2)
        return cli_error(CMD, CLI_USAGE,
                         "set takes the value from stdin or --value-file, never from the command "
                         "line (it would stay in shell history and show in ps)");
    if (named && a->npos != 2) return cli_error(CMD, CLI_USAGE, "%s needs one NAME", action);
    if (!named && a->npos != 1) return cli_error(CMD, CLI_USAGE, "%s takes no arguments", action);
    if (strcmp(action, "list") && cli_flag(a, "json"))
        return cli_error(CMD, CLI_USAGE, "--json applies to list only");
    if (strcmp(action, "set") && cli_get(a, "value-file"))
        return cli_error(CMD, CLI_USAGE, "--value-file applies to set only");
    if (!strcmp(action, "rotate") && (cli_get(a, "tenant") || cli_flag(a, "server")))
        return cli_error(CMD, CLI_USAGE, "rotate re-seals every secret; it takes no --tenant");
    int rc = owner(a, named, tenant);
    if (rc) return rc;
    if (named && (strlen(a->pos[1]) > SECRET_NAME_MAX ||
                  strspn(a->pos[1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_.:-") != strlen(a->pos[1])))
        return cli_error(CMD, CLI_USAGE,
                         "'%.*s' is not a secret name (letters, digits, _ . : -; at most %d)",
                         SECRET_NAME_MAX, a->pos[1], SECRET_NAME_MAX);
    return CLI_OK;
}

int cmd_secrets(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse(CMD, &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 1) {
        rc = cli_error(CMD, CLI_USAGE, "missing action: list, set, delete or rotate");
        goto out;
    }
    const char *action = a.pos[0], *tenant = NULL;
    if ((rc = check_args(&a, action, &tenant))) goto out;
    /* set may be the first thing a new server gets (embed_api_key before
     * the first start): it creates the store; the others need one. */
    if ((rc = !strcmp(action, "set") ? cli_env_open_create(&e, &a) : cli_env_open(&e, &a)))
        goto out;
    if (!strcmp(action, "list"))
        rc = list(&e, tenant, cli_flag(&a, "json"));
    else if (!strcmp(action, "set"))
        rc = set(&e, tenant, a.pos[1], cli_get(&a, "value-file"));
    else if (!strcmp(action, "delete"))
        rc = remove_secret(&e, tenant, a.pos[1]);
    else
        rc = rotate(&e);
out:
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
