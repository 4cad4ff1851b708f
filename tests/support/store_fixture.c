/* See store_fixture.h. */
#include "support/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef LORE_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

static const char *env_url(void) {
    const char *u = getenv("LORE_TEST_STORE_URL");
    return u && *u ? u : NULL;
}

static int is_postgres(const char *url) {
    return url && (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13));
}

int store_fixture_sqlite(void) {
    return !is_postgres(env_url());
}

const char *store_fixture_backend(void) {
    return store_fixture_sqlite() ? "sqlite" : "postgres";
}

#ifdef LORE_HAVE_POSTGRES
/* url with its database (the path after host[:port]) replaced by db. */
static int with_db(const char *url, const char *db, char *out, size_t outlen) {
    const char *host = strstr(url, "://") + 3;
    size_t hostlen = strcspn(host, "/?");
    const char *rest = host + hostlen;
    if (*rest == '/') rest += 1 + strcspn(rest + 1, "?");
    int n = snprintf(out, outlen, "%.*s/%s%s", (int)(host - url + hostlen), url, db, rest);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static void quiet(void *arg, const char *message) {
    (void)arg, (void)message; /* "database ... does not exist, skipping" */
}

static int pg_run(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) fprintf(stderr, "store_fixture: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "store_fixture: cannot connect to LORE_TEST_STORE_URL: %s",
                PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}
#endif

int store_fixture_init(store_fixture *f) {
    static unsigned counter;
    memset(f, 0, sizeof *f);
    const char *url = env_url();
    if (!is_postgres(url)) {
        snprintf(f->dir, sizeof f->dir, "/tmp/lore-store-XXXXXX");
        if (!mkdtemp(f->dir)) {
            perror("store_fixture: mkdtemp");
            return -1;
        }
        snprintf(f->url, sizeof f->url, "sqlite:%s/data", f->dir);
        return 0;
    }
#ifdef LORE_HAVE_POSTGRES
    snprintf(f->admin, sizeof f->admin, "%s", url);
    snprintf(f->db, sizeof f->db, "lore_t%ld_%u", (long)getpid(), counter++);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->db);
    if (pg_run(url, sql)) return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->db);
    if (pg_run(url, sql) || with_db(url, f->db, f->url, sizeof f->url)) return -1;
    return 0;
#else
    (void)counter;
    fprintf(stderr, "store_fixture: LORE_TEST_STORE_URL names PostgreSQL and this build has "
                    "no PostgreSQL backend\n");
    return -1;
#endif
}

lore_status store_fixture_open(store_fixture *f, unsigned flags, store **out) {
    char err[1024] = "";
    lore_status st = store_open(f->url, flags, out, err, sizeof err);
    if (st != LORE_OK && flags & STORE_OPEN_CREATE)
        fprintf(stderr, "store_fixture: store_open(%s): %s\n", f->url, err);
    return st;
}

void store_fixture_done(store_fixture *f) {
    if (f->dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0) fprintf(stderr, "store_fixture: cannot remove %s\n", f->dir);
    }
#ifdef LORE_HAVE_POSTGRES
    if (f->db[0]) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->db);
        (void)pg_run(f->admin, sql);
    }
#endif
    memset(f, 0, sizeof *f);
}
