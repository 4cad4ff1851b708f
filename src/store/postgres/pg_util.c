/* PostgreSQL backend: running statements and reading their results.
 *
 * Every statement goes through PQexec (no parameters) or PQexecParams
 * (unnamed: nothing is prepared on the server across transactions, which
 * PgBouncer's transaction mode needs). Parameters go as text, except bytea
 * which goes binary; results come back in binary format, so integers are
 * read from network byte order and bytea needs no unescaping. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

lore_status pg_result_status(const PGresult *r, char *err, size_t errlen) {
    if (r) {
        ExecStatusType es = PQresultStatus(r);
        if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) return LORE_OK;
    }
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (err && errlen) snprintf(err, errlen, "%s", msg ? msg : "no answer from PostgreSQL");
    const char *code = pg_sqlstate(r);
    if (!strcmp(code, "23505")) return LORE_EXISTS;         /* unique_violation */
    if (!strcmp(code, "23503")) return LORE_NOT_FOUND;      /* foreign_key_violation */
    if (!strcmp(code, "40001") || !strcmp(code, "40P01") || /* serialization, deadlock */
        !strcmp(code, "55P03") || !strcmp(code, "57014"))   /* lock_not_available, canceled */
        return LORE_BUSY;
    return LORE_IO;
}

const char *pg_sqlstate(const PGresult *r) {
    const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return code ? code : "";
}

/* err for a connection-level failure (no result at all). */
static void conn_error(PGconn *c, char *err, size_t errlen) {
    if (!err || !errlen) return;
    const char *m = c ? PQerrorMessage(c) : "no connection";
    snprintf(err, errlen, "%s", m && *m ? m : "no answer from PostgreSQL");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

lore_status pg_exec(PGconn *c, const char *sql, char *err, size_t errlen) {
    PGresult *r = PQexec(c, sql);
    if (!r) conn_error(c, err, errlen);
    lore_status st = r ? pg_result_status(r, err, errlen) : LORE_IO;
    PQclear(r);
    return st;
}

PGresult *pg_run(PGconn *c, const char *sql, const struct pg_params *p, lore_status *st, char *err,
                 size_t errlen) {
    PGresult *r = PQexecParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 1);
    if (!r) {
        conn_error(c, err, errlen);
        *st = LORE_IO;
        return NULL;
    }
    *st = pg_result_status(r, err, errlen);
    if (*st != LORE_OK) {
        PQclear(r);
        return NULL;
    }
    return r;
}

lore_status pg_run_cmd(PGconn *c, const char *sql, const struct pg_params *p, int64_t *affected,
                       char *err, size_t errlen) {
    lore_status st;
    PGresult *r = pg_run(c, sql, p, &st, err, errlen);
    if (!r) return st;
    if (affected) {
        const char *n = PQcmdTuples(r);
        *affected = n && *n ? strtoll(n, NULL, 10) : 0;
    }
    PQclear(r);
    return LORE_OK;
}

/* ---- parameters ---- */

static int param_slot(pg_params *p) {
    if (p->n >= PG_PARAMS_MAX) abort(); /* a statement with more is a programming error */
    return p->n++;
}

void pg_param_text(pg_params *p, const char *s) {
    int i = param_slot(p);
    p->v[i] = s;
    p->len[i] = 0;
    p->fmt[i] = 0;
}

void pg_param_i64(pg_params *p, int64_t v) {
    int i = param_slot(p);
    snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
    p->v[i] = p->num[i];
    p->len[i] = 0;
    p->fmt[i] = 0;
}

void pg_param_bytes(pg_params *p, const void *data, size_t len) {
    int i = param_slot(p);
    /* libpq wants a non-NULL pointer for an empty binary value. */
    p->v[i] = data ? (const char *)data : "";
    p->len[i] = (int)len;
    p->fmt[i] = 1;
}

/* ---- results (binary format) ---- */

int64_t pg_get_i64(const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    if (PQfformat(r, col) == 0) return strtoll((const char *)v, NULL, 10);
    uint64_t x = 0;
    for (int i = 0; i < len && i < 8; i++)
        x = x << 8 | v[i];
    /* sign-extend int2 and int4 */
    if (len == 2) return (int16_t)(uint16_t)x;
    if (len == 4) return (int32_t)(uint32_t)x;
    if (len == 1) return (int8_t)(uint8_t)x; /* boolean */
    return (int64_t)x;
}

const char *pg_get_bytes(const PGresult *r, int row, int col, size_t *len) {
    if (PQgetisnull(r, row, col)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = (size_t)PQgetlength(r, row, col);
    return PQgetvalue(r, row, col); /* followed by a NUL byte, text or not */
}

char *pg_get_strdup(const PGresult *r, int row, int col, int *nomem) {
    size_t len;
    const char *v = pg_get_bytes(r, row, col, &len);
    if (!v) return NULL;
    char *d = malloc(len + 1);
    if (!d) {
        if (nomem) *nomem = 1;
        return NULL;
    }
    memcpy(d, v, len);
    d[len] = '\0';
    return d;
}

/* ---- lists in one column ---- */

char *pg_list_join(const char *const *items, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(items[i]);
        if (i) *p++ = '\n';
        memcpy(p, items[i], k);
        p += k;
    }
    *p = '\0';
    return out;
}

lore_status pg_list_split(const char *joined, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!joined || !*joined) return LORE_OK;
    size_t count = 1;
    for (const char *p = joined; *p; p++)
        count += *p == '\n';
    char **items = calloc(count, sizeof *items);
    if (!items) return LORE_NOMEM;
    const char *p = joined;
    for (size_t i = 0; i < count; i++) {
        const char *e = strchr(p, '\n');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (!(items[i] = strndup(p, k))) {
            for (size_t j = 0; j < i; j++)
                free(items[j]);
            free(items);
            return LORE_NOMEM;
        }
        p = e ? e + 1 : p + k;
    }
    *out = items;
    *n = count;
    return LORE_OK;
}

/* ---- one statement on a pooled connection ---- */

PGresult *pg_store_run(pg_store *s, const char *sql, const struct pg_params *p, lore_status *st) {
    char err[256];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) {
        lore_log(LORE_LOG_WARN, "store: %s", err);
        *st = LORE_BUSY;
        return NULL;
    }
    PGresult *r = pg_run(c, sql, p, st, err, sizeof err);
    if (!r && *st == LORE_IO) lore_log(LORE_LOG_WARN, "store: postgres: %s", err);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return r;
}

lore_status pg_store_cmd(pg_store *s, const char *sql, const struct pg_params *p,
                         int64_t *affected) {
    lore_status st;
    PGresult *r = pg_store_run(s, sql, p, &st);
    if (!r) return st;
    if (affected) {
        const char *n = PQcmdTuples(r);
        *affected = n && *n ? strtoll(n, NULL, 10) : 0;
    }
    PQclear(r);
    return LORE_OK;
}
