/* The store of a test's data directory, on the backend the environment
 * names. The tests run on SQLite (the data directory is the store) unless
 * LORE_TEST_STORE_URL names a PostgreSQL (CMake's <test>_pg runs,
 * tests/support/store_pg.sh): then each new data directory gets a database
 * of its own, made by support/store_fixture.c, whose URL is kept in
 * DIR/.test_store_url so that every process started on DIR (servers,
 * workers, the CLI, the test's own store_open) uses the same store. The
 * databases are not dropped: the throwaway PostgreSQL goes with the test. */
#ifndef LORE_TESTS_SUPPORT_TEST_STORE_H
#define LORE_TESTS_SUPPORT_TEST_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/store_fixture.h"

/* The URL of dir's store into out: its PostgreSQL database, or dir itself.
 * Makes the database on first use. 0, or -1 with the reason printed. */
static inline int test_store_url(const char *dir, char *out, size_t outlen) {
    if (store_fixture_sqlite()) {
        snprintf(out, outlen, "%s", dir);
        return 0;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/.test_store_url", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fgets(out, (int)outlen, f) != NULL;
        fclose(f);
        out[strcspn(out, "\n")] = '\0';
        if (ok && out[0]) return 0;
    }
    store_fixture fx;
    if (store_fixture_init(&fx)) return -1;
    f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", fx.url) < 0 || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        return -1;
    }
    snprintf(out, outlen, "%s", fx.url);
    return 0;
}

/* In a child about to run lore on dir: points it at dir's store
 * (LORE_STORE_URL) when that is not dir itself. */
static inline void test_store_env(const char *dir) {
    char url[1200];
    if (!store_fixture_sqlite() && test_store_url(dir, url, sizeof url) == 0)
        setenv("LORE_STORE_URL", url, 1);
}

/* store_open on the store of a test server's data directory. */
static inline lore_status test_store_open(const char *dir, unsigned flags, store **out, char *err,
                                          size_t errlen) {
    char url[1200];
    if (test_store_url(dir, url, sizeof url)) {
        snprintf(err, errlen, "no test store for %.200s", dir);
        return LORE_IO;
    }
    return store_open(url, flags, out, err, errlen);
}

#endif
