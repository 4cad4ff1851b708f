/* lore serve: the HTTP server with the REST API.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread and taken by the
 * main thread with sigwait, so no handler runs in the middle of a request.
 * The first one drains (stop accepting, let requests in flight finish for up
 * to drain_timeout_s, then stop); a second one while draining exits at once. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/apikey.h"
#include "auth/jwt.h"
#include "cli/cli.h"
#include "cli/cli_mcp.h"
#include "http/http.h"
#include "mcp/mcp_http.h"
#include "secrets/secrets.h"
#include "util/log.h"

static const cli_opt opts[] = {
    {"listen", 'l', "HOST:PORT", 0,
     "address to listen on (default: setting listen, 127.0.0.1:7700)"},
    {"threads", 0, "N", 0, "HTTP worker threads (default: one per core)"},
    {"workers", 'w', "N", 0, "job worker threads (default: one per core; -1: none)"},
};
static const cli_help help = {
    "lore serve [--listen HOST:PORT] [--threads N] [--workers N]",
    "Serve the REST API (docs/api.md) and MCP at /mcp (docs/mcp.md) over HTTP, and\n"
    "run queued jobs (docs/jobs.md).\n"
    "On first start, creates the default tenant and a server administrator key, and\n"
    "prints the key once: keep it, it is stored only as a hash.",
    "Every setting of `lore config` applies (limits, timeouts, CORS, rate limits);\n"
    "set them in the config file or as LORE_* environment variables. Request logs go\n"
    "to stderr as one JSON line each (setting access_log). Writes are queued as jobs\n"
    "and run by the server's worker threads (setting workers); `lore worker` runs more\n"
    "on the same data directory. SIGTERM or SIGINT drains in-flight requests, lets\n"
    "running jobs finish, and stops; a second signal stops at once.",
    "  lore serve\n  lore serve --listen 0.0.0.0:8080\n"
    "  LORE_CORS_ORIGINS=https://app.example.com lore serve",
};

/* Creates the default tenant and, when no key exists at all, a server
 * administrator key printed once: by one server only when several start at
 * once on an empty store (apikey_create_first). */
static int first_start(cli_env *e) {
    lore_status st = store_tenant_create(e->store, e->cfg.tenant);
    if (st != LORE_OK && st != LORE_EXISTS)
        return cli_error("serve", CLI_FAIL, "cannot create tenant '%s': %s", e->cfg.tenant,
                         lore_status_message(st));
    store_key *keys = NULL;
    size_t n = 0;
    if ((st = store_key_list(e->store, NULL, &keys, &n)) != LORE_OK)
        return cli_error("serve", CLI_FAIL, "cannot read keys: %s", lore_status_message(st));
    store_keys_free(keys, n);
    if (n) return CLI_OK;
    char secret[APIKEY_LEN + 1];
    store_key *k = NULL;
    st = apikey_create_first(
        e->store, e->cfg.tenant, "server admin (first start)",
        AUTH_SCOPE_READ | AUTH_SCOPE_WRITE | AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER, secret, &k);
    if (st == LORE_EXISTS) { /* another server started on this store at the same time */
        LORE_INFO("the first start's admin key was made by another server starting on this "
                  "store; it printed the key");
        return CLI_OK;
    }
    if (st != LORE_OK)
        return cli_error("serve", CLI_FAIL, "cannot create the admin key: %s",
                         lore_status_message(st));
    printf("admin key (shown once, keep it): %s\n", secret);
    store_key_free(k);
    return CLI_OK;
}

/* The MCP endpoint: /mcp through the API's pipeline, and in OAuth mode the
 * JWT verifier and the protected-resource metadata. */
typedef struct serve_mcp {
    mcp_server *server;
    mcp_http *http;
    jwt_verifier *jwt;
} serve_mcp;

static int mcp_mount(cli_env *e, api *ap, const http_config *hc, serve_mcp *sm) {
    char err[512] = "";
    const lore_config *c = &e->cfg;
    if (cli_mcp_server_new(&sm->server) != LORE_OK)
        return cli_error("serve", CLI_FAIL, "cannot set up MCP: out of memory");
    mcp_http_config mc = {
        hc->host,        c->mcp_url,    c->mcp_allowed_hosts, c->mcp_allowed_origins,
        c->cors_origins, c->jwt_issuer, c->jwt_scope};
    if (mcp_http_new(sm->server, &mc, &sm->http, err, sizeof err) != LORE_OK)
        return cli_error("serve", CLI_USAGE, "%s", err[0] ? err : "cannot set up MCP");
    if (c->jwt_issuer[0]) {
        jwt_config jc;
        jwt_config_default(&jc);
        jc.issuer = c->jwt_issuer;
        jc.audience = c->mcp_url;
        jc.jwks_url = c->jwt_jwks_url;
        jc.required_scope = c->jwt_scope;
        jc.groups_claim = c->jwt_groups_claim;
        if (jwt_verifier_new(&jc, &sm->jwt, err, sizeof err) != LORE_OK)
            return cli_error("serve", CLI_USAGE, "OAuth settings: %s", err);
        const char *tenant = c->jwt_tenant[0] ? c->jwt_tenant : c->tenant;
        store_tenant *t = NULL;
        if (store_tenant_open(e->store, tenant, &t) != LORE_OK)
            return cli_error("serve", CLI_USAGE,
                             "jwt_tenant: no tenant '%s' to serve token holders (create it with "
                             "lore tenant create %s)",
                             tenant, tenant);
        store_tenant_close(t);
        api_set_jwt(ap, sm->jwt, tenant, c->jwt_scope[0] != '\0');
    }
    api_mount m = {"POST",
                   MCP_HTTP_PATH,
                   0,
                   sm->jwt != NULL,
                   AUTH_SCOPE_READ,
                   (size_t)c->mcp_max_body_kb * 1024,
                   mcp_http_precheck,
                   mcp_http_handle,
                   sm->http,
                   mcp_http_challenge(sm->http)};
    lore_status st = api_mount_add(ap, &m);
    if (st == LORE_OK && sm->jwt) {
        api_mount md = {"GET", MCP_HTTP_METADATA_PATH, 1,        0,   0, 0,
                        NULL,  mcp_http_metadata,      sm->http, NULL};
        st = api_mount_add(ap, &md);
        md.path = MCP_HTTP_METADATA_PATH_MCP;
        if (st == LORE_OK) st = api_mount_add(ap, &md);
    }
    if (st != LORE_OK)
        return cli_error("serve", CLI_FAIL, "cannot mount /mcp: %s", lore_status_message(st));
    return CLI_OK;
}

static void mcp_unmount(serve_mcp *sm) {
    mcp_http_free(sm->http);
    jwt_verifier_free(sm->jwt);
    mcp_server_free(sm->server);
}

static void notify_pool(void *pool) {
    queue_pool_notify(pool);
}

static void *second_signal(void *arg) {
    sigset_t *set = arg;
    int sig;
    if (sigwait(set, &sig) == 0) {
        fprintf(stderr, "lore: second signal (%s): stopping now\n", strsignal(sig));
        _exit(1);
    }
    return NULL;
}

int cmd_serve(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    api *ap = NULL;
    http_server *srv = NULL;
    cli_pool pool = {0};
    serve_mcp sm = {0};
    seal_keyring *keyring = NULL;
    char err[512] = "";
    int rc = cli_parse("serve", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("serve", CLI_USAGE, "serve takes no arguments");
        goto out;
    }
    if ((rc = cli_env_open_create(&e, &a))) goto out;
    if ((rc = cli_env_require_migrated(&e, "serve"))) goto out;
    if ((rc = cli_mcp_fixtures_allowed("serve", &e.cfg))) goto out;
    static const char *const flag_keys[][2] = {
        {"listen", "listen"}, {"threads", "http_threads"}, {"workers", "workers"}};
    for (size_t i = 0; i < 3; i++) {
        const char *v = cli_get(&a, flag_keys[i][0]);
        if (v && config_set(&e.cfg, flag_keys[i][1], v, CONFIG_FLAG, err, sizeof err) != LORE_OK) {
            rc = cli_error("serve", CLI_USAGE, "%s", err);
            goto out;
        }
    }
    if ((rc = cli_env_secrets(&e, "serve", 1))) goto out;
    if ((rc = cli_env_embedders(&e, "serve"))) goto out;
    cli_reembed_warn(&e, "serve");
    http_config hc;
    http_config_default(&hc);
    if (http_parse_listen(e.cfg.listen, &hc, err, sizeof err) != LORE_OK) {
        rc = cli_error("serve", CLI_USAGE, "%s", err);
        goto out;
    }
    hc.threads = (unsigned)e.cfg.http_threads;
    hc.max_connections = (unsigned)e.cfg.max_connections;
    hc.max_connections_per_ip = (unsigned)e.cfg.max_connections_per_ip;
    hc.max_header_bytes = (size_t)e.cfg.max_header_kb * 1024;
    hc.header_timeout_s = (unsigned)e.cfg.header_timeout_s;
    hc.idle_timeout_s = (unsigned)e.cfg.idle_timeout_s;
    hc.min_body_rate = (size_t)e.cfg.min_body_rate_kb * 1024;
    hc.cors_origins = e.cfg.cors_origins;
    if ((rc = first_start(&e))) goto out;
    /* Block the stop signals before any thread exists (api_new starts the
     * job waiter thread), so every thread inherits the mask and only the
     * sigwait calls below see them: a thread with them unblocked takes the
     * second signal itself (its default action, or nothing where the
     * parent ignores SIGINT), and the "stop at once" never happens.
     * SIGPIPE from a client gone mid-response must not kill the server. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (api_new(&e.cfg, e.embedders, &ap, err, sizeof err) != LORE_OK) {
        rc = cli_error("serve", CLI_FAIL, "%s", err);
        goto out;
    }
    /* The keyring that opens connectors' signing secrets (webhooks). */
    if (secrets_keyring(&e.cfg, &keyring, err, sizeof err) != LORE_OK) {
        rc = cli_error("serve", CLI_USAGE, "%s", err);
        goto out;
    }
    api_set_keyring(ap, keyring);
    if ((rc = mcp_mount(&e, ap, &hc, &sm))) goto out;
    if ((rc = cli_pool_start(&e, "serve", e.cfg.workers, api_metrics(ap), api_jobs_finished, ap,
                             &pool)))
        goto out;
    if (pool.pool) api_set_queue(ap, notify_pool, pool.pool);
    http_app app;
    api_http_app(ap, &app);
    if (http_server_start(&hc, &app, &srv, err, sizeof err) != LORE_OK) {
        rc = cli_error("serve", CLI_FAIL, "%s", err);
        goto out;
    }
    int v6 = strchr(hc.host, ':') != NULL;
    printf("lore %s listening on http://%s%s%s:%u (data in %s, %u job workers)\n", LORE_VERSION,
           v6 ? "[" : "", hc.host, v6 ? "]" : "", (unsigned)http_server_port(srv), e.cfg.data_dir,
           pool.threads);
    fflush(stdout);
    int sig = 0;
    if (sigwait(&set, &sig) != 0) sig = SIGTERM;
    fprintf(stderr, "lore: %s: draining %u request(s) in flight (up to %lld s)\n", strsignal(sig),
            http_server_in_flight(srv), (long long)e.cfg.drain_timeout_s);
    pthread_t watcher;
    int watching = pthread_create(&watcher, NULL, second_signal, &set) == 0;
    if (watching) pthread_detach(watcher);
    http_server_begin_drain(srv); /* before the waits below answer: Connection: close */
    api_drain(ap);                /* requests waiting on jobs are answered now (202) */
    unsigned left = http_server_drain(srv, (unsigned)e.cfg.drain_timeout_s * 1000u);
    if (left) fprintf(stderr, "lore: %u request(s) still running after the drain timeout\n", left);
    http_server_free(srv);
    srv = NULL;
    cli_pool_stop(&pool); /* running batches finish; queued jobs wait for the next start */
    fprintf(stderr, "lore: stopped\n");
    rc = CLI_OK;
out:
    http_server_free(srv);
    cli_pool_stop(&pool);
    api_free(ap);
    seal_keyring_free(keyring);
    mcp_unmount(&sm);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc; /* -1: --help was printed */
}
