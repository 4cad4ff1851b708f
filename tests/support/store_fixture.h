/* A fresh, empty store for the tests of the store contract (tests/store/),
 * on the backend the environment names, so one test runs against every
 * backend:
 *
 *   LORE_TEST_STORE_URL unset      a new SQLite data directory under /tmp
 *   LORE_TEST_STORE_URL=sqlite:... the same (the path is ignored: each
 *                                  fixture makes its own directory)
 *   LORE_TEST_STORE_URL=postgres://user:pw@host:port/db
 *                                  a new database lore_t<pid>_<n> made next
 *                                  to db (the role needs CREATEDB) and
 *                                  dropped by store_fixture_done
 *
 * CMake registers each contract test twice: as itself (SQLite) and as
 * <name>_pg, run by tests/support/pg.sh (a throwaway PostgreSQL) with
 * LORE_TEST_STORE_URL set to it; the _pg variants exist only when lore is
 * built with PostgreSQL (LORE_HAVE_POSTGRES). */
#ifndef LORE_TESTS_STORE_FIXTURE_H
#define LORE_TESTS_STORE_FIXTURE_H

#include "store/store.h"

typedef struct store_fixture {
    char url[1200];   /* what store_open gets */
    char dir[256];    /* sqlite: the directory made for it; "" otherwise */
    char admin[1200]; /* postgres: the URL the database was made from */
    char db[64];      /* postgres: the database made for it */
} store_fixture;

/* Makes the empty store's place (a directory, a database). 0, or -1 with
 * the reason printed. */
int store_fixture_init(store_fixture *f);
/* store_open(f->url, flags, ...). */
lore_status store_fixture_open(store_fixture *f, unsigned flags, store **out);
/* Removes what init made (the store must be closed). */
void store_fixture_done(store_fixture *f);
/* 1 when the tests run on SQLite (the default), 0 on another backend: the
 * SQLite-only checks (files, layout) are skipped there. */
int store_fixture_sqlite(void);
/* "sqlite" or "postgres", for the test's first line. */
const char *store_fixture_backend(void);

#endif
