/* mcp_latency: the latency MCP adds to a search, measured against REST.
 *
 *   mcp_latency BASE_URL KEY QUERIES_JSONL [ROUNDS]
 *
 * For every query of a BEIR queries.jsonl ({"_id":..,"text":..}), in
 * ROUNDS passes (default 3), sends the same search twice on one keep-alive
 * connection each: POST /v1/search {"query": q, "limit": 10, "text": true}
 * and an MCP tools/call of `search` {"query": q, "limit": 10} in the
 * 2026-07-28 form (per-request _meta and the MCP-Protocol-Version,
 * Mcp-Method and Mcp-Name headers). Both do the same engine work: ten hits
 * with snippets and passage text. The order alternates per query so
 * neither side always runs on a warmer cache. Every answer must be 200 (and
 * the MCP one not an error), else the program exits 1.
 *
 * Prints per side: requests, p50, p90, p99 and mean client-side latency
 * (curl's total time), response bytes, and the MCP/REST ratios. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

typedef struct side {
    CURL *h;
    struct curl_slist *hdr;
    double *ms;
    size_t n, cap;
    double bytes;
} side;

static size_t sink(char *p, size_t sz, size_t n, void *ctx) {
    lore_buf *b = ctx;
    if (lore_buf_append(b, p, sz * n) != LORE_OK) return 0;
    return sz * n;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* One request on s; returns 0 and records its time, or -1. */
static int timed(side *s, const char *url, const char *body, struct curl_slist *extra,
                 lore_buf *out) {
    lore_buf_reset(out);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, extra ? extra : s->hdr);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(s->h) != CURLE_OK) return -1;
    long code = 0;
    double t = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->h, CURLINFO_TOTAL_TIME, &t);
    if (code != 200) return -1;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->ms = realloc(s->ms, s->cap * sizeof *s->ms);
        if (!s->ms) return -1;
    }
    s->ms[s->n++] = t * 1000.0;
    s->bytes += (double)out->len;
    return 0;
}

static void report(const char *name, side *s) {
    qsort(s->ms, s->n, sizeof *s->ms, cmp);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->ms[i];
    printf("%-22s %8zu %9.3f %9.3f %9.3f %9.3f %10.0f\n", name, s->n, pct(s->ms, s->n, 0.5),
           pct(s->ms, s->n, 0.9), pct(s->ms, s->n, 0.99), sum / (double)s->n,
           s->bytes / (double)s->n);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: mcp_latency BASE_URL KEY QUERIES_JSONL [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 4 ? atoi(argv[4]) : 3;
    FILE *f = fopen(argv[3], "r");
    if (!f) {
        perror(argv[3]);
        return 2;
    }
    json_t *queries = json_array();
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        json_t *q = json_loads(line, 0, NULL);
        json_t *t = json_object_get(q, "text");
        if (json_is_string(t)) json_array_append(queries, t);
        json_decref(q);
    }
    fclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char auth[256], rest_url[512], mcp_url[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    snprintf(rest_url, sizeof rest_url, "%s/v1/search", argv[1]);
    snprintf(mcp_url, sizeof mcp_url, "%s/mcp", argv[1]);
    side rest = {0}, mcp = {0};
    rest.h = curl_easy_init();
    mcp.h = curl_easy_init();
    rest.hdr = curl_slist_append(curl_slist_append(NULL, auth), "Content-Type: application/json");
    mcp.hdr = curl_slist_append(curl_slist_append(NULL, auth), "Content-Type: application/json");
    mcp.hdr = curl_slist_append(mcp.hdr, "Accept: application/json, text/event-stream");
    mcp.hdr = curl_slist_append(mcp.hdr, "MCP-Protocol-Version: 2026-07-28");
    mcp.hdr = curl_slist_append(mcp.hdr, "Mcp-Method: tools/call");
    mcp.hdr = curl_slist_append(mcp.hdr, "Mcp-Name: search");
    lore_buf out;
    lore_buf_init(&out, 1 << 24);
    size_t nq = json_array_size(queries);
    int bad = 0;
    for (int r = 0; r < rounds && !bad; r++) {
        for (size_t i = 0; i < nq && !bad; i++) {
            json_t *q = json_array_get(queries, i);
            json_t *rb = json_pack("{s:O,s:i,s:b}", "query", q, "limit", 10, "text", 1);
            json_t *mb = json_pack("{s:s,s:I,s:s,s:{s:s,s:{s:O,s:i},s:{s:s,s:{}}}}", "jsonrpc",
                                   "2.0", "id", (json_int_t)i, "method", "tools/call", "params",
                                   "name", "search", "arguments", "query", q, "limit", 10, "_meta",
                                   "io.modelcontextprotocol/protocolVersion", "2026-07-28",
                                   "io.modelcontextprotocol/clientCapabilities");
            char *rs = json_dumps(rb, JSON_COMPACT), *ms = json_dumps(mb, JSON_COMPACT);
            for (int k = 0; k < 2 && !bad; k++) {
                int do_mcp = (k == 0) == ((i + (size_t)r) % 2 == 0);
                if (do_mcp) {
                    if (timed(&mcp, mcp_url, ms, NULL, &out) ||
                        strstr(out.data, "\"isError\":true"))
                        bad = 1;
                } else if (timed(&rest, rest_url, rs, NULL, &out)) {
                    bad = 1;
                }
                if (bad)
                    fprintf(stderr, "query %zu (%s) failed: %.300s\n", i, do_mcp ? "mcp" : "rest",
                            out.data ? out.data : "(no answer)");
            }
            free(rs);
            free(ms);
            json_decref(rb);
            json_decref(mb);
        }
    }
    if (!bad) {
        printf("%-22s %8s %9s %9s %9s %9s %10s\n", "latency (ms)", "requests", "p50", "p90", "p99",
               "mean", "bytes");
        report("POST /v1/search", &rest);
        report("MCP tools/call search", &mcp);
        printf("ratio MCP/REST: p50 %.3f, p90 %.3f, p99 %.3f\n",
               pct(mcp.ms, mcp.n, 0.5) / pct(rest.ms, rest.n, 0.5),
               pct(mcp.ms, mcp.n, 0.9) / pct(rest.ms, rest.n, 0.9),
               pct(mcp.ms, mcp.n, 0.99) / pct(rest.ms, rest.n, 0.99));
    }
    lore_buf_free(&out);
    curl_slist_free_all(rest.hdr);
    curl_slist_free_all(mcp.hdr);
    curl_easy_cleanup(rest.h);
    curl_easy_cleanup(mcp.h);
    free(rest.ms);
    free(mcp.ms);
    json_decref(queries);
    curl_global_cleanup();
    return bad;
}
