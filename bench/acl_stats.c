/* acl_stats: what BM25 statistics per principal would cost.
 *
 * lore's idf counts every chunk of the tenant, also those a key cannot see
 * (docs/auth.md). Exact statistics for one caller would need, for every
 * query term, the number of chunks containing it that the caller may see:
 * a visibility check for each posting of each term, where search itself
 * reads only the postings MaxScore cannot skip. This program measures the
 * pieces of that cost on a real corpus:
 *
 *   - search as a principal (ACL checked inside retrieval), literal BEIR
 *     queries, 10 hits, no snippets: median latency, postings scored, and
 *     postings of the query terms in all (the per-principal df walk);
 *   - the cost of one visibility check (store_chunk_owner_get and the ACL
 *     comparison search does), timed over every chunk of the tenant;
 *
 * and prints the estimate: postings in all x one check, against the search
 * latency; and what a cached visibility bitmap per principal set would take
 * (one check per chunk to build, one bit per chunk to keep).
 *
 * Every document is ingested with the ACL [group:research] and searched as
 * that principal, so every check passes and nothing is filtered away. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "store/store.h"
#include "util/timeutil.h"

#define TENANT "aclstats"
#define MAX_QUERIES 100000

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n ? v[n / 2] : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static size_t read_queries(const char *path, char ***out) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char **q = calloc(MAX_QUERIES, sizeof *q), *line = NULL;
    size_t n = 0, cap = 0;
    while (q && n < MAX_QUERIES && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *t = json_string_value(json_object_get(o, "text"));
        if (t && *t) q[n++] = strdup(t);
        json_decref(o);
    }
    free(line);
    fclose(f);
    *out = q;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        fputs("usage: acl_stats DATASET_DIR   (BEIR layout: corpus.jsonl, queries.jsonl)\n",
              stderr);
        return 2;
    }
    char corpus[4096], queries[4096], datadir[] = "/tmp/lore-aclstats-XXXXXX", err[512];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", argv[1]);
    snprintf(queries, sizeof queries, "%s/queries.jsonl", argv[1]);
    char **qs = NULL;
    size_t nq = read_queries(queries, &qs);
    if (!nq) {
        fprintf(stderr, "acl_stats: no queries in %s\n", queries);
        return 2;
    }
    if (!mkdtemp(datadir)) return 2;
    int rc = 2;
    store *st_ = NULL;
    store_tenant *t = NULL;
    tenant_ctx *tc = NULL;
    ingest_session *ses = NULL;
    search_engine *se = NULL;
    double *lat = calloc(nq, sizeof *lat), *total = calloc(nq, sizeof *total),
           *scored = calloc(nq, sizeof *scored);
    ingest_options o;
    ingest_options_default(&o);
    static const char *const acl[] = {"group:research"};
    if (!lat || !total || !scored ||
        store_open(datadir, STORE_OPEN_CREATE, &st_, err, sizeof err) != LORE_OK ||
        store_tenant_create(st_, TENANT) != LORE_OK ||
        store_tenant_open(st_, TENANT, &t) != LORE_OK ||
        tenant_ctx_attach(t, NULL, &tc) != LORE_OK || ingest_session_new(tc, &o, &ses) != LORE_OK) {
        fprintf(stderr, "acl_stats: setting up failed\n");
        goto out;
    }
    ingest_set_source_acl(ses, "beir", acl, 1);
    if (ingest_path(ses, corpus) != LORE_OK || ingest_commit(ses) != LORE_OK ||
        search_engine_new(tc, &se) != LORE_OK) {
        fprintf(stderr, "acl_stats: ingesting %s failed\n", corpus);
        goto out;
    }

    /* Searches as the principal: a warm-up pass, then the timed one. */
    size_t ok = 0;
    for (int pass = 0; pass < 2; pass++) {
        ok = 0;
        for (size_t i = 0; i < nq; i++) {
            search_request r = {
                .query = qs[i], .literal = 1, .limit = 10, .principals = acl, .nprincipals = 1};
            search_response res;
            int64_t t0 = lore_mono_ns();
            lore_status s = search_run(se, &r, &res, err, sizeof err);
            int64_t t1 = lore_mono_ns();
            if (s != LORE_OK) continue;
            lat[ok] = (double)(t1 - t0) / 1e3;
            total[ok] = (double)res.postings_total;
            scored[ok++] = (double)res.postings_scored;
            search_response_free(&res);
        }
    }

    /* One visibility check per chunk, as admission does it. */
    int64_t chunks = 0, misses = 0, spent = 0;
    if (store_begin_read(t) != LORE_OK) goto out;
    for (int pass = 0; pass < 2; pass++) { /* the first pass warms the cache */
        chunks = misses = spent = 0;
        for (int64_t id = 1; misses < 1000; id++) {
            store_chunk_owner ow;
            int64_t c0 = lore_mono_ns();
            lore_status s = store_chunk_owner_get(t, id, &ow);
            int visible = s == LORE_OK && ow.acl_joined && strstr(ow.acl_joined, acl[0]) != NULL;
            int64_t c1 = lore_mono_ns();
            if (s == LORE_NOT_FOUND) {
                misses++;
                continue;
            }
            if (s != LORE_OK) break;
            misses = 0;
            spent += c1 - c0;
            chunks += visible;
        }
    }
    store_end_read(t);
    double check_ns = chunks ? (double)spent / (double)chunks : 0;

    double lat_us = median(lat, ok), tot = median(total, ok), sc = median(scored, ok);
    double est_us = tot * check_ns / 1e3;
    printf("corpus: %s, %lld chunks, every one visible to group:research\n", corpus,
           (long long)chunks);
    printf("queries: %zu (literal, 10 hits, no snippets, as group:research)\n", ok);
    printf("search latency, median: %.0f us\n", lat_us);
    printf("postings of the query terms, median: %.0f (search scored %.0f of them)\n", tot, sc);
    printf("one visibility check (chunk owner row + ACL match): %.0f ns\n", check_ns);
    printf("exact per-principal df, per query: %.0f postings x %.0f ns = %.0f us "
           "(%.1fx the search itself)\n",
           tot, check_ns, est_us, lat_us > 0 ? est_us / lat_us : 0);
    printf("cached visibility bitmap per principal set: %.1f ms to build (%lld checks), %lld "
           "bytes per set, rebuilt or patched on every write that changes an ACL\n",
           (double)chunks * check_ns / 1e6, (long long)chunks, (long long)(chunks + 7) / 8);
    rc = 0;
out:
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(qs);
    free(lat);
    free(total);
    free(scored);
    search_engine_free(se);
    ingest_session_free(ses);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(st_);
    if (nftw(datadir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "acl_stats: cannot remove %s\n", datadir);
    return rc;
}
