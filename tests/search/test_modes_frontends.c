/* Search modes through every front end, against the real model server
 * (tests/embed/server.mjs): a data directory is seeded through the library
 * (documents through ingest, every chunk embedded into the vector index),
 * then the shipped binary answers:
 *   - REST GET and POST /v1/search with mode and explain (`lore serve`
 *     with embed_url): the paraphrase found by semantic and hybrid, not by
 *     lexical; explain's ranks and fused score; a tenant with no vectors
 *     yet (no hits, a notice); the provider failing (semantic 503 naming
 *     it, hybrid the lexical hits with semantic_error); a server without
 *     an embedder (lexical by default, 400 naming embed_url);
 *   - `lore search --mode --explain`: the same answers and errors;
 *   - the MCP search tool's mode, over stdio (`lore mcp`) and /mcp. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embed/embed.h"
#include "embed/embed_registry.h"
#include "ingest/ingest.h"
#include "support/embed_server.h"
#include "test.h"

#define PARAPHRASE "how many days off after having a baby"
#define PARAPHRASE_URL "how+many+days+off+after+having+a+baby"

static embed_server srv;
static char dir[256], bin[1024], key[256], key_empty[256], key_write[256], key_admin[256];
static int port;
static pid_t serve_pid;
static char embed_env[512];

/* ---- seeding through the library ---- */

static void put(ingest_session *ing, const char *source, const char *json) {
    ingest_set_source_acl(ing, source, NULL, 0);
    CHECK_INT(ingest_bytes(ing, "docs.jsonl", NULL, (const uint8_t *)json, strlen(json)), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

static void seed_tenant(store *control, const char *name, embed_registry *reg, int embed) {
    CHECK_INT(store_tenant_create(control, name), LORE_OK);
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(control, name, &t), LORE_OK);
    tenant_settings ts;
    tenant_settings_default(&ts);
    ts.embedders = reg;
    ts.vec_scope = dir;
    tenant_ctx *tc = NULL;
    CHECK_INT(tenant_ctx_attach(t, &ts, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *ing = NULL;
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    put(ing, "hr",
        "{\"id\":\"leave\",\"title\":\"Parental leave\",\"text\":\"Parental leave is 16 weeks "
        "for every new parent, paid in full.\"}\n"
        "{\"id\":\"expenses\",\"title\":\"Expense reports\",\"text\":\"Submit receipts within "
        "one month through the finance portal.\"}\n");
    put(ing, "eng",
        "{\"id\":\"deploy\",\"title\":\"Deploy guide\",\"text\":\"Run the deploy script; a "
        "failed rollout rolls back automatically.\"}\n"
        "{\"id\":\"oncall\",\"title\":\"On-call handbook\",\"text\":\"Page the secondary when "
        "the primary does not answer within ten minutes.\"}\n");
    put(ing, "office",
        "{\"id\":\"kitchen\",\"title\":\"Kitchen etiquette\",\"text\":\"Clean the coffee "
        "machine every Friday.\"}\n");
    int64_t cursor = 0;
    if (embed) CHECK_INT(embed_server_fill(tc, reg, &cursor), 0);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
}

static void seed(void) {
    store *control = NULL;
    char err[512];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &control, err, sizeof err), LORE_OK);
    embed_settings es = {.url = srv.url,
                         .model = "use-lite",
                         .batch = 64,
                         .concurrency = 1,
                         .timeout_s = 30,
                         .max_input_tokens = 8000};
    embedder *emb = NULL;
    CHECK_INT(embed_openai_ops.open(&es, &emb, err, sizeof err), LORE_OK);
    embed_registry *reg = NULL;
    CHECK_INT(embed_registry_wrap(emb, &es, &reg), LORE_OK);
    seed_tenant(control, "default", reg, 1);
    seed_tenant(control, "empty", reg, 0);
    store_close(control);
    embed_registry_free(reg);
}

/* ---- running the binary ---- */

/* Runs a shell command; its stdout into out, its stderr into err (both
 * NUL-terminated, cut to fit). Returns the exit status. */
static int sh(const char *cmd, char *out, size_t outlen, char *err, size_t errlen) {
    char full[4096], errfile[300];
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", dir);
    snprintf(full, sizeof full, "cd '%s' && LORE_DATA_DIR='%s' %s 2>'%s'", dir, dir, cmd, errfile);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    while (fgetc(p) != EOF) {
    }
    int status = pclose(p);
    FILE *f = fopen(errfile, "r");
    size_t m = f ? fread(err, 1, errlen - 1, f) : 0;
    err[m] = '\0';
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void make_keys(void) {
    char out[512], err[1024], cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' key create --tenant default --scope read --name t", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    sscanf(out, "%255s", key);
    snprintf(cmd, sizeof cmd, "'%s' key create --tenant empty --scope read --name t", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    sscanf(out, "%255s", key_empty);
    snprintf(cmd, sizeof cmd, "'%s' key create --tenant default --scope write --name w", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    sscanf(out, "%255s", key_write);
    snprintf(cmd, sizeof cmd, "'%s' key create --tenant default --scope admin --name a", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    sscanf(out, "%255s", key_admin);
    CHECK(!strncmp(key, "lore_", 5) && !strncmp(key_empty, "lore_", 5));
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts `lore serve` (with the embedder when with_embedder; with job
 * workers when workers, else none). */
static int serve_start(int with_embedder, int workers) {
    port = free_port();
    char listen[64], out[300];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(out, sizeof out, "%s/serve.out", dir);
    unlink(out); /* the previous server's "listening on" must not count */
    serve_pid = fork();
    if (serve_pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        setenv("LORE_DATA_DIR", dir, 1);
        setenv("LORE_WORKERS", workers ? "1" : "-1", 1);
        if (with_embedder) {
            setenv("LORE_EMBED_URL", srv.url, 1);
            setenv("LORE_EMBED_MODEL", "use-lite", 1);
        } else {
            unsetenv("LORE_EMBED_URL");
            unsetenv("LORE_EMBED_MODEL");
        }
        execl(bin, bin, "serve", "--listen", listen, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        FILE *f = fopen(out, "r");
        char line[512] = "";
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = '\0';
            fclose(f);
        }
        if (strstr(line, "listening on")) return 0;
        if (waitpid(serve_pid, NULL, WNOHANG) == serve_pid) break;
        usleep(50000);
    }
    fprintf(stderr, "lore serve did not start\n");
    return -1;
}

static void serve_stop(void) {
    if (serve_pid > 0) {
        kill(serve_pid, SIGTERM);
        waitpid(serve_pid, NULL, 0);
    }
    serve_pid = 0;
}

/* ---- HTTP ---- */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
    buf *b = ud;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

/* GET (body NULL) or POST path; the answer's JSON (owned) and status. */
static json_t *http(const char *path, const char *bearer, const char *body, long *code,
                    const char *extra_header) {
    char url[2048], auth[400];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    buf b = {0};
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Accept: application/json, text/event-stream");
    if (extra_header) hd = curl_slist_append(hd, extra_header);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    *code = 0;
    CHECK_INT(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
    if (!j) fprintf(stderr, "not JSON (HTTP %ld): %.300s\n", *code, b.p ? b.p : "");
    free(b.p);
    return j;
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_t *hit(json_t *r, size_t i) {
    return json_array_get(json_object_get(r, "hits"), i);
}

static size_t nhits(json_t *r) {
    return json_array_size(json_object_get(r, "hits"));
}

/* ---- REST ---- */

static void rest(void) {
    long code;
    json_t *r = http("/v1/search?q=" PARAPHRASE_URL "&mode=lexical", key, NULL, &code, NULL);
    CHECK_INT(code, 200);
    CHECK_INT(nhits(r), 0);
    CHECK_STR(str(r, "mode"), "lexical");
    json_decref(r);

    r = http("/v1/search?q=" PARAPHRASE_URL "&mode=semantic&explain=true&limit=3", key, NULL, &code,
             NULL);
    CHECK_INT(code, 200);
    CHECK_STR(str(r, "mode"), "semantic");
    CHECK_STR(str(hit(r, 0), "external_id"), "leave");
    CHECK(strstr(str(hit(r, 0), "snippet"), "16 weeks") != NULL);
    json_t *x = json_object_get(hit(r, 0), "explain");
    CHECK(json_is_null(json_object_get(x, "lexical")));
    CHECK_INT(json_integer_value(json_object_get(json_object_get(x, "semantic"), "rank")), 1);
    double cos = json_real_value(json_object_get(json_object_get(x, "semantic"), "score"));
    CHECK(cos > 0 && cos <= 1.0001);
    CHECK(fabs(json_real_value(json_object_get(x, "fused")) - 1.0 / 61) < 1e-7);
    CHECK(fabs(json_real_value(json_object_get(hit(r, 0), "score")) - cos) < 1e-6);
    /* JSON numbers carry about 8 significant digits */
    json_decref(r);

    /* POST, hybrid, and the default (hybrid: the server has an embedder) */
    r = http("/v1/search", key,
             "{\"query\":\"parental leave for a new baby\",\"mode\":\"hybrid\",\"explain\":true}",
             &code, NULL);
    CHECK_INT(code, 200);
    CHECK_STR(str(r, "mode"), "hybrid");
    CHECK_STR(str(hit(r, 0), "external_id"), "leave");
    x = json_object_get(hit(r, 0), "explain");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(x, "lexical"), "rank")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(x, "semantic"), "rank")), 1);
    CHECK(fabs(json_real_value(json_object_get(x, "fused")) - 2.0 / 61) < 1e-7);
    json_decref(r);
    r = http("/v1/search", key, "{\"query\":\"" PARAPHRASE "\"}", &code, NULL);
    CHECK_INT(code, 200);
    CHECK_STR(str(r, "mode"), "hybrid");
    CHECK_STR(str(hit(r, 0), "external_id"), "leave");
    CHECK(json_object_get(hit(r, 0), "explain") == NULL);
    json_decref(r);

    /* bad modes */
    r = http("/v1/search?q=x&mode=fuzzy", key, NULL, &code, NULL);
    CHECK_INT(code, 400);
    json_decref(r);
    r = http("/v1/search", key, "{\"query\":\"x\",\"mode\":3}", &code, NULL);
    CHECK_INT(code, 400);
    json_decref(r);

    /* a tenant with nothing embedded yet */
    r = http("/v1/search?q=parental+leave&mode=semantic", key_empty, NULL, &code, NULL);
    CHECK_INT(code, 200);
    CHECK_INT(nhits(r), 0);
    CHECK(strstr(str(r, "notice"), "embedded") != NULL);
    json_decref(r);
    r = http("/v1/search?q=parental+leave", key_empty, NULL, &code, NULL);
    CHECK_INT(code, 200);
    CHECK_INT(nhits(r), 1); /* hybrid: the lexical hits */
    json_decref(r);

    /* the provider failing */
    CHECK_INT(embed_server_control(&srv, "{\"require_key\":\"not-this-one\"}"), 0);
    r = http("/v1/search?q=rules+for+parental+leave&mode=semantic", key, NULL, &code, NULL);
    CHECK_INT(code, 503);
    CHECK(strstr(str(r, "detail"), "127.0.0.1") != NULL);
    json_decref(r);
    r = http("/v1/search", key, "{\"query\":\"rules for parental leave\",\"mode\":\"hybrid\"}",
             &code, NULL);
    CHECK_INT(code, 200);
    CHECK_STR(str(r, "mode"), "hybrid");
    CHECK_INT(nhits(r), 1);
    CHECK_STR(str(hit(r, 0), "external_id"), "leave");
    CHECK(strstr(str(r, "semantic_error"), "127.0.0.1") != NULL);
    CHECK(*str(r, "notice"));
    json_decref(r);
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
}

static void rest_without_embedder(void) {
    long code;
    json_t *r = http("/v1/search?q=parental+leave", key, NULL, &code, NULL);
    CHECK_INT(code, 200);
    CHECK_STR(str(r, "mode"), "lexical");
    CHECK_INT(nhits(r), 1);
    json_decref(r);
    r = http("/v1/search?q=parental+leave&mode=semantic", key, NULL, &code, NULL);
    CHECK_INT(code, 400);
    CHECK(strstr(str(r, "detail"), "embed_url") != NULL);
    json_decref(r);
    r = http("/v1/search", key, "{\"query\":\"parental leave\",\"mode\":\"hybrid\"}", &code, NULL);
    CHECK_INT(code, 400);
    CHECK(strstr(str(r, "detail"), "embed_url") != NULL);
    json_decref(r);
    /* the model switch needs a model: refused, naming the setting */
    r = http("/v1/reembed", key_admin, "", &code, NULL);
    CHECK_INT(code, 400);
    CHECK(strstr(str(r, "detail"), "embed_url") != NULL);
    json_decref(r);
    r = http("/v1/reembed?audit=yes", key_admin, NULL, &code, NULL);
    CHECK_INT(code, 400);
    json_decref(r);
    r = http("/v1/reembed", key_admin, NULL, &code, NULL);
    CHECK_INT(code, 200);
    CHECK(json_is_null(json_object_get(r, "target_model")));
    json_decref(r);
}

/* A document written through the API is embedded by the embed job and
 * found by meaning once it is. */
static void pipeline(void) {
    long code;
    json_t *r = http("/v1/documents?wait=30", key_write,
                     "{\"source\":\"wiki\",\"id\":\"bike\",\"title\":\"Cycling to work\","
                     "\"text\":\"Employees who commute by bicycle get a monthly allowance.\"}",
                     &code, NULL);
    CHECK_INT(code, 200);
    json_decref(r);
    int found = 0;
    for (int i = 0; i < 600 && !found; i++) { /* up to 60 s on a loaded machine */
        r = http("/v1/search?q=money+for+riding+a+bike+to+the+office&mode=semantic&limit=1", key,
                 NULL, &code, NULL);
        found = code == 200 && !strcmp(str(hit(r, 0), "external_id"), "bike");
        json_decref(r);
        if (!found) usleep(100000);
    }
    CHECK(found);
}

/* ---- CLI ---- */

static void cli(void) {
    static char out[65536], err[8192];
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%s' search --json --mode semantic --explain -- '%s'", embed_env,
             bin, PARAPHRASE);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    json_t *r = json_loads(out, 0, NULL);
    CHECK_STR(str(r, "mode"), "semantic");
    CHECK_STR(str(hit(r, 0), "external_id"), "leave");
    CHECK_INT(json_integer_value(json_object_get(
                  json_object_get(json_object_get(hit(r, 0), "explain"), "semantic"), "rank")),
              1);
    json_decref(r);
    snprintf(cmd, sizeof cmd, "%s '%s' search --json --mode lexical -- '%s'", embed_env, bin,
             PARAPHRASE);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    r = json_loads(out, 0, NULL);
    CHECK_INT(nhits(r), 0);
    json_decref(r);
    /* human output, hybrid by default, with explain lines */
    snprintf(cmd, sizeof cmd, "%s '%s' search --explain -- '%s'", embed_env, bin, PARAPHRASE);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    CHECK(!strncmp(out, "1. Parental leave", 17));
    CHECK(strstr(out, "explain: lexical -  semantic #1") != NULL);
    CHECK(strstr(err, "(hybrid)") != NULL);
    /* no embedder: semantic refused naming embed_url; the default is lexical */
    snprintf(cmd, sizeof cmd, "'%s' search --mode semantic parental leave", bin);
    CHECK(sh(cmd, out, sizeof out, err, sizeof err) != 0);
    CHECK(strstr(err, "embed_url") != NULL);
    snprintf(cmd, sizeof cmd, "'%s' search parental leave", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    CHECK(strstr(err, "(lexical)") != NULL);
    /* the provider failing: semantic fails naming it, hybrid falls back */
    CHECK_INT(embed_server_control(&srv, "{\"require_key\":\"not-this-one\"}"), 0);
    snprintf(cmd, sizeof cmd, "%s '%s' search --mode semantic how long is leave for parents",
             embed_env, bin);
    CHECK(sh(cmd, out, sizeof out, err, sizeof err) != 0);
    CHECK(strstr(err, "127.0.0.1") != NULL);
    snprintf(cmd, sizeof cmd, "%s '%s' search --mode hybrid how long is leave for parents",
             embed_env, bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
    CHECK(!strncmp(out, "1. Parental leave", 17));
    CHECK(strstr(err, "127.0.0.1") != NULL);
    CHECK_INT(embed_server_control(&srv, "{\"reset\":true}"), 0);
    /* a bad mode is a usage error */
    snprintf(cmd, sizeof cmd, "'%s' search --mode fuzzy leave", bin);
    CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 1);
}

/* ---- MCP ---- */

#define MCP_INIT                                                                                   \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"     \
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
#define MCP_CALL(mode)                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","     \
    "\"arguments\":{\"query\":\"" PARAPHRASE "\",\"mode\":\"" mode "\"}}}"

/* The structuredContent of the tools/call answer (id 2) in lines. */
static json_t *mcp_result(const char *lines) {
    json_t *found = NULL;
    for (const char *p = lines; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_t *m = json_loadb(p, n, 0, NULL);
        if (m && json_integer_value(json_object_get(m, "id")) == 2) {
            found = json_incref(json_object_get(json_object_get(m, "result"), "structuredContent"));
            if (!found) fprintf(stderr, "tools/call: %.*s\n", (int)n, p);
        }
        json_decref(m);
        p = nl ? nl + 1 : NULL;
    }
    return found;
}

static void mcp_stdio(void) {
    static char out[65536], err[8192];
    char in[300], cmd[2048];
    snprintf(in, sizeof in, "%s/mcp.in", dir);
    const char *modes[] = {"lexical", "semantic"};
    const char *calls[] = {MCP_INIT MCP_CALL("lexical") "\n", MCP_INIT MCP_CALL("semantic") "\n"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(in, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs(calls[i], f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "%s '%s' mcp <'%s'", embed_env, bin, in);
        CHECK_INT(sh(cmd, out, sizeof out, err, sizeof err), 0);
        json_t *r = mcp_result(out);
        CHECK(r != NULL);
        CHECK_STR(str(r, "mode"), modes[i]);
        if (i == 0)
            CHECK_INT(nhits(r), 0);
        else
            CHECK_STR(str(hit(r, 0), "title"), "Parental leave");
        json_decref(r);
    }
}

static void mcp_http(void) {
    long code;
    json_t *r = http("/mcp", key, MCP_CALL("semantic"), &code, "MCP-Protocol-Version: 2025-11-25");
    CHECK_INT(code, 200);
    json_t *sc = json_object_get(json_object_get(r, "result"), "structuredContent");
    CHECK_STR(str(sc, "mode"), "semantic");
    CHECK_STR(str(hit(sc, 0), "title"), "Parental leave");
    json_decref(r);
    r = http("/mcp", key,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"search\",\"arguments\":{\"query\":\"x\",\"mode\":\"fuzzy\"}}}",
             &code, "MCP-Protocol-Version: 2025-11-25");
    CHECK_INT(code, 200);
    CHECK(json_is_true(json_object_get(json_object_get(r, "result"), "isError")));
    json_decref(r);
}

int main(void) {
    const char *b = getenv("LORE_TEST_BIN");
    if (!b || embed_server_start(&srv) != 0) {
        CHECK(0);
        return test_summary();
    }
    snprintf(bin, sizeof bin, "%s", b);
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(embed_env, sizeof embed_env, "LORE_EMBED_URL='%s' LORE_EMBED_MODEL=use-lite", srv.url);
    unsetenv("LORE_CONFIG");
    unsetenv("LORE_EMBED_URL");
    seed();
    make_keys();
    if (serve_start(1, 0) == 0) {
        rest();
        mcp_http();
    } else {
        CHECK(0);
    }
    serve_stop();
    if (serve_start(0, 0) == 0)
        rest_without_embedder();
    else
        CHECK(0);
    serve_stop();
    if (serve_start(1, 1) == 0)
        pipeline();
    else
        CHECK(0);
    serve_stop();
    cli();
    mcp_stdio();
    embed_server_stop(&srv);
    test_rmtree(dir);
    return test_summary();
}
