/* Shared by the fuzz targets that search: a small real tenant (store,
 * lexical index, search engine) built once at start-up in a temporary
 * directory from JSON Lines, and removed at exit. Any failure aborts: a
 * fuzz target without its tenant would test nothing. */
#ifndef LORE_FUZZ_TENANT_H
#define LORE_FUZZ_TENANT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "search/search.h"

typedef struct fuzz_tenant {
    char dir[64];
    store *st;
    store_tenant *tenant;
    tenant_ctx *tc;
    search_engine *engine;
} fuzz_tenant;

static fuzz_tenant fuzz_t;

static void fuzz_tenant_close(void) {
    search_engine_free(fuzz_t.engine);
    tenant_ctx_close(fuzz_t.tc);
    store_tenant_close(fuzz_t.tenant);
    store_close(fuzz_t.st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_t.dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", fuzz_t.dir);
}

/* Builds fuzz_t: tenant "f" under /tmp/lore-fuzz-<name>-XXXXXX holding
 * docs (JSON Lines). */
static void fuzz_tenant_open(const char *name, const char *docs) {
    snprintf(fuzz_t.dir, sizeof fuzz_t.dir, "/tmp/lore-fuzz-%.20s-XXXXXX", name);
    char err[256];
    if (!mkdtemp(fuzz_t.dir) ||
        store_open(fuzz_t.dir, STORE_OPEN_CREATE, &fuzz_t.st, err, sizeof err) != LORE_OK ||
        store_tenant_create(fuzz_t.st, "f") != LORE_OK ||
        store_tenant_open(fuzz_t.st, "f", &fuzz_t.tenant) != LORE_OK)
        abort();
    ingest_options o;
    ingest_options_default(&o);
    ingest_session *s = NULL;
    if (tenant_ctx_attach(fuzz_t.tenant, NULL, &fuzz_t.tc) != LORE_OK ||
        ingest_session_new(fuzz_t.tc, &o, &s) != LORE_OK ||
        ingest_bytes(s, "seed.jsonl", NULL, (const uint8_t *)docs, strlen(docs)) != LORE_OK ||
        ingest_commit(s) != LORE_OK || search_engine_new(fuzz_t.tc, &fuzz_t.engine) != LORE_OK)
        abort();
    ingest_session_free(s);
    atexit(fuzz_tenant_close);
}

#endif
