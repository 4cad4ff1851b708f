/* Ingest keeps store and index in agreement through random upserts,
 * unchanged re-ingests and deletes: after every round the index counts as
 * many chunks as the store, every live document is found by its unique word
 * and no deleted or replaced version is. Also: directory walking (hidden
 * entries, symlink loops, unreadable files) and batch rollback.
 * Seed: LORE_TEST_SEED, printed. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "search/search.h"
#include "test.h"

#define NDOCS 60
#define ROUNDS 25

static store_tenant *t;
static tenant_ctx *tc;
static ingest_session *ing;
static search_engine *se;

/* Words that the analyzer keeps as they are (no stemming change). */
static void word(char *out, const char *prefix, int i, int version) {
    sprintf(out, "%sq%dz%dk", prefix, i, version);
}

static size_t hits(const char *query, char *first_ext) {
    search_request req = {.query = query, .all_access = 1, .limit = 20};
    search_response r;
    char err[256];
    if (search_run(se, &req, &r, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "search %s: %s\n", query, err);
        return 999;
    }
    size_t n = r.n;
    if (first_ext) snprintf(first_ext, 64, "%s", n ? r.hits[0].doc->external_id : "");
    search_response_free(&r);
    return n;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void) {
    test_seed();
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    store *s = NULL;
    char err[512];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    o.batch_docs = 7; /* many batches, so commits happen mid-round too */
    o.chunking.target_tokens = 40, o.chunking.min_tokens = 20, o.chunking.max_tokens = 60;
    o.chunking.overlap_tokens = 5;
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);

    int version[NDOCS] = {0}; /* 0 = absent */
    int inconsistent = 0, lost = 0, ghosts = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < 20; k++) {
            int i = (int)(test_rand() % NDOCS);
            int action = (int)(test_rand() % 4);
            if (action == 3 && version[i]) {
                char ext[32], id[STORE_DOC_ID_LEN + 1];
                int64_t rowid;
                snprintf(ext, sizeof ext, "doc%d", i);
                CHECK_INT(store_doc_lookup(t, "files", ext, &rowid, NULL), LORE_OK);
                store_doc *d = NULL;
                CHECK_INT(store_doc_get_rowid(t, rowid, 0, &d), LORE_OK);
                snprintf(id, sizeof id, "%s", d->id);
                store_doc_free(d);
                CHECK_INT(ingest_delete(ing, id), LORE_OK);
                version[i] = 0;
                continue;
            }
            /* upsert: same content (unchanged) half the time if present */
            int v = version[i] && action == 0 ? version[i] : round * 100 + k + 1;
            char json[4096], w[64];
            int n = sprintf(json, "{\"id\":\"doc%d\",\"title\":\"Doc %d\",\"text\":\"", i, i);
            word(w, "uniq", i, v);
            /* Long enough to make several chunks at these chunk sizes. */
            int words = 10 + (int)(test_rand() % 150);
            for (int x = 0; x < words; x++)
                n += sprintf(json + n, "%s ", x % 37 == 0 ? w : (x % 2 ? "filler" : "common"));
            n += sprintf(json + n, "%s\"}", w);
            CHECK_INT(ingest_bytes(ing, "r.jsonl", NULL, (const uint8_t *)json, (size_t)n),
                      LORE_OK);
            version[i] = v;
        }
        CHECK_INT(ingest_commit(ing), LORE_OK);
        int64_t docs, chunks;
        lex_stats ls;
        CHECK_INT(store_counts(t, &docs, &chunks), LORE_OK);
        CHECK_INT(tc->index.lexical.ops->stats(tc->index.lexical.state, &ls), LORE_OK);
        inconsistent += ls.chunks != chunks;
        int live = 0;
        for (int i = 0; i < NDOCS; i++)
            live += version[i] != 0;
        inconsistent += docs != live;
        for (int i = 0; i < NDOCS; i++) {
            char w[64], ext[64], want[32];
            snprintf(want, sizeof want, "doc%d", i);
            if (version[i]) {
                word(w, "uniq", i, version[i]);
                if (hits(w, ext) != 1 || strcmp(ext, want)) lost++;
            }
            /* an older version's word must be gone */
            word(w, "uniq", i, version[i] ? version[i] - 1 : 1);
            if (hits(w, NULL) != 0) ghosts++;
        }
    }
    CHECK_INT(inconsistent, 0);
    CHECK_INT(lost, 0);
    CHECK_INT(ghosts, 0);

    /* Directory walk: hidden entries skipped, symlink loops not followed,
     * binary files skipped, unreadable files reported, the rest ingested. */
    char tree[512], path[600];
    snprintf(tree, sizeof tree, "%s/tree", dir);
    mkdir(tree, 0700);
    snprintf(path, sizeof path, "%s/.secret", tree);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.secret/x.txt", tree);
    write_file(path, "hiddenwordxq");
    snprintf(path, sizeof path, "%s/a.txt", tree);
    write_file(path, "visiblewordxq");
    snprintf(path, sizeof path, "%s/loop", tree);
    CHECK_INT(symlink(tree, path), 0);
    snprintf(path, sizeof path, "%s/b.bin", tree);
    FILE *f = fopen(path, "wb");
    fwrite("\0\1\2\3\0\0\xff", 1, 7, f);
    fclose(f);
    uint64_t files_before = ingest_session_stats(ing)->files;
    uint64_t skipped_before = ingest_session_stats(ing)->files_skipped;
    CHECK_INT(ingest_path(ing, tree), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    CHECK_INT(ingest_session_stats(ing)->files - files_before, 2);
    CHECK_INT(ingest_session_stats(ing)->files_skipped - skipped_before, 1);
    CHECK_INT(hits("visiblewordxq", NULL), 1);
    CHECK_INT(hits("hiddenwordxq", NULL), 0);

    /* Caps: a JSON Lines line over max_input is skipped and the lines after
     * it still go in; a title or ACL over its cap skips that document only. */
    {
        ingest_options small;
        ingest_options_default(&small);
        small.limits.max_input = 1u << 20;
        ingest_session *cs = NULL;
        CHECK_INT(ingest_session_new(tc, &small, &cs), LORE_OK);
        char cpath[600];
        snprintf(cpath, sizeof cpath, "%s/caps.jsonl", dir);
        FILE *cf = fopen(cpath, "w");
        fputs("{\"id\":\"before\",\"text\":\"beforecapxq\"}\n{\"id\":\"huge\",\"text\":\"", cf);
        for (int i = 0; i < 3 << 20; i++)
            fputc('a' + i % 7, cf);
        fputs("\"}\n{\"id\":\"after\",\"text\":\"aftercapxq\"}\n", cf);
        fprintf(cf, "{\"id\":\"longtitle\",\"title\":\"%05000d\",\"text\":\"titlecapxq\"}\n", 0);
        fputs("{\"id\":\"bigacl\",\"text\":\"aclcapxq\",\"acl\":[", cf);
        for (int i = 0; i < 300; i++)
            fprintf(cf, "%s\"user:u%d@x\"", i ? "," : "", i);
        fputs("]}\n", cf);
        fclose(cf);
        CHECK_INT(ingest_path(cs, cpath), LORE_OK);
        CHECK_INT(ingest_commit(cs), LORE_OK);
        CHECK_INT(ingest_session_stats(cs)->docs_failed, 3);
        CHECK_INT(ingest_session_stats(cs)->docs_added, 2);
        ingest_session_free(cs);
        CHECK_INT(hits("beforecapxq", NULL), 1);
        CHECK_INT(hits("aftercapxq", NULL), 1);
        CHECK_INT(hits("titlecapxq", NULL), 0);
        CHECK_INT(hits("aclcapxq", NULL), 0);
    }

    /* A rolled-back batch leaves neither rows nor index entries. */
    int64_t docs0, chunks0, docs1, chunks1;
    CHECK_INT(store_counts(t, &docs0, &chunks0), LORE_OK);
    const char *one = "{\"id\":\"rolled\",\"text\":\"rolledbackwordxq\"}";
    CHECK_INT(ingest_bytes(ing, "x.jsonl", NULL, (const uint8_t *)one, strlen(one)), LORE_OK);
    ingest_session_free(ing); /* without commit: rolls back */
    CHECK_INT(store_counts(t, &docs1, &chunks1), LORE_OK);
    CHECK_INT(docs1, docs0);
    CHECK_INT(chunks1, chunks0);
    CHECK_INT(hits("rolledbackwordxq", NULL), 0);
    lex_stats ls;
    CHECK_INT(tc->index.lexical.ops->stats(tc->index.lexical.state, &ls), LORE_OK);
    CHECK_INT(ls.chunks, chunks1);

    search_engine_free(se);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
