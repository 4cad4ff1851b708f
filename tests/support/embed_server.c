/* See embed_server.h. */
#include "support/embed_server.h"

#include "embed/embed_registry.h"
#include "tenant/tenant_ctx.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int embed_server_start(embed_server *s) {
    memset(s, 0, sizeof *s);
    const char *src = getenv("LORE_TEST_SOURCE_DIR"), *bin = getenv("LORE_TEST_BIN");
    if (!src || !bin) {
        fprintf(stderr, "LORE_TEST_SOURCE_DIR and LORE_TEST_BIN must be set (run under ctest)\n");
        return -1;
    }
    char dir[2048], cmd[4500];
    snprintf(dir, sizeof dir, "%s", bin);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash : dir, sizeof dir - (size_t)(slash ? slash - dir : 0), "/embed-node");
    snprintf(cmd, sizeof cmd, "bash '%s/tests/embed/setup.sh' '%s'", src, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot install the test model (tests/embed/setup.sh)\n");
        return -1;
    }
    int fd[2];
    if (pipe(fd)) return -1;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (chdir(dir)) _exit(127);
        execlp("node", "node", "server.mjs", "0", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[128] = "";
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "port %d", &s->port) != 1) {
        fprintf(stderr, "the embedding server did not start (%s)\n", line);
        if (f) fclose(f);
        embed_server_stop(s);
        return -1;
    }
    fclose(f);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/v1", s->port);
    return 0;
}

void embed_server_stop(embed_server *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud) {
    (void)p;
    (void)ud;
    return size * nmemb;
}

int embed_server_control(const embed_server *s, const char *json) {
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/control", s->port);
    CURL *h = curl_easy_init();
    if (!h) return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    long code = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return rc == CURLE_OK && code == 200 ? 0 : -1;
}

typedef struct body {
    char b[65536];
    size_t n;
} body;

static size_t keep(char *p, size_t size, size_t nmemb, void *ud) {
    body *b = ud;
    size_t n = size * nmemb, room = sizeof b->b - 1 - b->n;
    memcpy(b->b + b->n, p, n < room ? n : room);
    b->n += n < room ? n : room;
    b->b[b->n] = '\0';
    return n;
}

long long embed_server_stat(const embed_server *s, const char *name) {
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/stats", s->port);
    body *b = calloc(1, sizeof *b);
    CURL *h = curl_easy_init();
    if (!b || !h) {
        free(b);
        if (h) curl_easy_cleanup(h);
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    long long v = -1;
    if (curl_easy_perform(h) == CURLE_OK) {
        json_t *j = json_loads(b->b, 0, NULL);
        json_t *x = json_object_get(j, name);
        if (json_is_integer(x)) v = json_integer_value(x);
        json_decref(j);
    }
    curl_easy_cleanup(h);
    free(b);
    return v;
}

typedef struct chunks {
    int64_t *ids;
    char **texts;
    size_t *lens;
    size_t n, cap;
    int failed;
} chunks;

static int collect(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t tl,
                   const char *text, size_t xl) {
    (void)nterms;
    chunks *c = ctx;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        int64_t *ni = realloc(c->ids, ncap * sizeof *ni);
        if (ni) c->ids = ni;
        char **nt = realloc(c->texts, ncap * sizeof *nt);
        if (nt) c->texts = nt;
        size_t *nl = realloc(c->lens, ncap * sizeof *nl);
        if (nl) c->lens = nl;
        if (!ni || !nt || !nl) {
            c->failed = 1;
            return 1;
        }
        c->cap = ncap;
    }
    char *s = malloc(tl + xl + 3);
    if (!s) {
        c->failed = 1;
        return 1;
    }
    if (tl) memcpy(s, title, tl);
    memcpy(s + tl, "\n\n", 2);
    memcpy(s + tl + 2, text, xl);
    s[tl + 2 + xl] = '\0';
    c->ids[c->n] = id;
    c->texts[c->n] = s;
    c->lens[c->n++] = tl + 2 + xl;
    return 0;
}

static int add_all(tenant_ctx *tc, embedder *e, const chunks *c, const float *v, uint32_t dims) {
    char err[512] = "";
    tenant_index_vector *h = NULL;
    if (tenant_ctx_vector(tc, e->ops->model_key(e), dims, &h, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "embed_server_fill: %s\n", err);
        return -1;
    }
    if (store_begin(tc->store) != LORE_OK) return -1;
    lore_status st = h->ops->begin(h->state);
    for (size_t i = 0; st == LORE_OK && i < c->n; i++)
        st = h->ops->add(h->state, c->ids[i], v + (size_t)i * dims);
    if (st == LORE_OK) st = h->ops->flush(h->state);
    if (st == LORE_OK) st = store_commit(tc->store);
    if (st != LORE_OK) {
        fprintf(stderr, "embed_server_fill: %s\n", h->ops->errmsg(h->state));
        h->ops->abort(h->state);
        store_rollback(tc->store);
        return -1;
    }
    return 0;
}

int embed_server_fill(tenant_ctx *tc, embed_registry *reg, int64_t *cursor) {
    chunks c = {0};
    int rc = -1;
    float *v = NULL;
    if (store_chunk_scan(tc->store, *cursor, 1000000, collect, &c) != LORE_OK || c.failed) {
        fprintf(stderr, "embed_server_fill: cannot read the chunks\n");
        goto out;
    }
    if (!c.n) {
        rc = 0;
        goto out;
    }
    embedder *e = embed_registry_configured(reg);
    uint32_t dims = 0;
    embed_error ee = {0};
    if (e->ops->embed(e, (const char *const *)c.texts, c.lens, c.n, &v, &dims, NULL, &ee) !=
        LORE_OK) {
        fprintf(stderr, "embed_server_fill: %s\n", ee.message);
        goto out;
    }
    if ((rc = add_all(tc, e, &c, v, dims)) == 0) *cursor = c.ids[c.n - 1];
out:
    for (size_t i = 0; i < c.n; i++)
        free(c.texts[i]);
    free(c.ids);
    free(c.texts);
    free(c.lens);
    free(v);
    return rc;
}
