/* PostgreSQL backend: a tenant's transactions and the connection of each
 * tenant call.
 *
 * A write transaction (store_begin) holds one pooled connection until it
 * ends. It starts with SET LOCAL ROLE and search_path (the tenant's role
 * and schema, as pg_tenant_enter) and takes
 * a transaction-scoped advisory lock on the tenant, so writers of one tenant
 * run one at a time across every process and node, as SQLite's BEGIN
 * IMMEDIATE makes them: the indexes read their blocks and write them back
 * in the same transaction and rely on no one writing in between. The lock
 * is waited for up to lock_timeout (60 s, as SQLite's writers wait), then the
 * begin answers LORE_BUSY. Isolation is READ COMMITTED: with writers
 * serialized, a writer sees every earlier commit.
 *
 * The begin's round trip also reads the cache generation once the lock is
 * granted, and the commit's bumps it and answers the new value, so that
 * pg_kv.c's cache serves the writer's reads of what it has not written
 * and carries over to the next generation (pg_kv.c).
 *
 * A read snapshot (store_begin_read) is REPEATABLE READ READ ONLY: every
 * read in it sees one committed state, and it never waits for writers. It
 * reads the tenant's cache generation in the same round trip (pg_kv.c's
 * cache is valid for one generation; a transaction that wrote bumps it in
 * the round trip that commits).
 *
 * A call outside both borrows a connection for its own transaction
 * (pg_call_begin/pg_call_end), so statements always run as the tenant's
 * role with its search path, and no session state is relied on (what
 * PgBouncer in transaction mode needs). */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock space of tenant writers (pg_advisory_xact_lock(int,
 * int): 'lore' and the tenant id; the two-key form never collides with
 * one-key locks). */
#define PG_WRITER_LOCK_CLASS 0x6c6f7265

/* ---- errors and connections ---- */

/* What makes the rest of a transaction the tenant's, as pg_tenant_enter
 * does: its role (which reads its own schema and nothing else of lore's)
 * and its schema as the search path. Both names are [a-z0-9_]. */
static void role_sql(const pg_tenant *t, char *out, size_t n) {
    snprintf(out, n, "SET LOCAL ROLE \"%s\"", t->role);
}

static void path_sql(const pg_tenant *t, char *out, size_t n) {
    snprintf(out, n, "SET LOCAL search_path TO \"%s\"", t->schema);
}

static void enter_sql(const pg_tenant *t, char *out, size_t n) {
    char role[96], path[96];
    role_sql(t, role, sizeof role);
    path_sql(t, path, sizeof path);
    snprintf(out, n, "%s; %s", role, path);
}

static void set_err(pg_tenant *t, const char *msg) {
    snprintf(t->errmsg, sizeof t->errmsg, "%s", msg);
    size_t n = strlen(t->errmsg);
    while (n && (t->errmsg[n - 1] == '\n' || t->errmsg[n - 1] == ' '))
        t->errmsg[--n] = '\0';
}

/* The status of a failed result, noting a lost connection. */
static lore_status fail_result(pg_tenant *t, PGconn *c, PGresult *r) {
    char err[256];
    lore_status st = pg_result_status(r, err, sizeof err);
    set_err(t, err);
    if (PQstatus(c) != CONNECTION_OK) t->broken = 1;
    return st;
}

/* Runs a simple-protocol command string (several statements allowed); the
 * last statement's rows stay in *rows when asked. */
static lore_status run_simple(pg_tenant *t, PGconn *c, const char *sql, PGresult **rows) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        lore_status st = r ? fail_result(t, c, r) : LORE_NOMEM;
        if (!r) {
            set_err(t, PQerrorMessage(c));
            if (PQstatus(c) != CONNECTION_OK) t->broken = 1, st = LORE_IO;
        }
        PQclear(r);
        return st;
    }
    if (rows)
        *rows = r;
    else
        PQclear(r);
    return LORE_OK;
}

/* Takes a pooled connection for t. */
static lore_status take_conn(pg_tenant *t, PGconn **out) {
    char err[256];
    *out = pg_pool_get(t->owner->pool, err, sizeof err);
    if (!*out) {
        set_err(t, err);
        return LORE_IO;
    }
    t->broken = 0;
    return LORE_OK;
}

static void give_conn(pg_tenant *t, PGconn *c) {
    pg_pool_put(t->owner->pool, c, t->broken || PQtransactionStatus(c) != PQTRANS_IDLE);
    t->broken = 0;
}

/* Commits, bumping the cache generation first when the transaction wrote
 * (*gen: the new generation, -1 when not bumped or not known); a
 * transaction that failed answers ROLLBACK to COMMIT, which is a failure. */
static lore_status commit_on(pg_tenant *t, PGconn *c, int64_t *gen) {
    *gen = -1;
    lore_status st = LORE_OK;
    if (!PQsendQuery(c, t->dirty ? "UPDATE cache_gen SET gen = gen + 1 RETURNING gen; COMMIT"
                                 : "COMMIT")) {
        set_err(t, PQerrorMessage(c));
        if (PQstatus(c) != CONNECTION_OK) t->broken = 1;
        st = LORE_IO;
    }
    /* Every result up to the NULL: the bump's row, then COMMIT's. */
    int committed = 0;
    for (PGresult *r; st == LORE_OK && (r = PQgetResult(c));) {
        ExecStatusType es = PQresultStatus(r);
        if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
            st = fail_result(t, c, r);
        } else if (es == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            *gen = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        } else if (es == PGRES_COMMAND_OK) {
            committed = !strcmp(PQcmdStatus(r), "COMMIT");
            if (!committed) {
                set_err(t, "the transaction had failed and was rolled back");
                st = LORE_IO;
            }
        }
        PQclear(r);
    }
    for (PGresult *r; st != LORE_OK && PQstatus(c) == CONNECTION_OK && (r = PQgetResult(c));)
        PQclear(r); /* the rest, up to the NULL */
    if (st == LORE_OK && !committed) {
        set_err(t, PQstatus(c) != CONNECTION_OK ? PQerrorMessage(c) : "no answer to COMMIT");
        if (PQstatus(c) != CONNECTION_OK) t->broken = 1;
        st = LORE_IO;
    }
    if (st != LORE_OK) *gen = -1;
    if (st != LORE_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        (void)run_simple(t, c, "ROLLBACK", NULL);
    t->dirty = 0;
    return st;
}

static void rollback_on(pg_tenant *t, PGconn *c) {
    if (PQtransactionStatus(c) != PQTRANS_IDLE) (void)run_simple(t, c, "ROLLBACK", NULL);
    t->dirty = 0;
}

/* ---- a call's connection ---- */

lore_status pg_call_begin(pg_tenant *t, pg_call *k, int write) {
    memset(k, 0, sizeof *k);
    k->t = t;
    if (t->in_tx) {
        if (!t->conn) return LORE_INTERNAL;
        k->c = t->conn;
        if (write) t->dirty = 1;
        if (write && write != PG_WRITE_KV) pg_cache_tx_write_docs(t);
        return LORE_OK;
    }
    /* The transaction starts with the first statement, in its round trip. */
    lore_status st = take_conn(t, &k->c);
    if (st != LORE_OK) return st;
    k->own = 1;
    k->write = write;
    t->dirty = write;
    return LORE_OK;
}

lore_status pg_call_end(pg_call *k, lore_status st) {
    if (!k->own || !k->c) return st;
    pg_tenant *t = k->t;
    if (k->state == 1) {
        int64_t gen;
        if (st == LORE_OK)
            st = commit_on(t, k->c, &gen);
        else
            rollback_on(t, k->c);
    } else if (k->state == 2) {
        t->dirty = 0; /* ended with its last statement */
    }
    give_conn(t, k->c);
    k->c = NULL;
    k->own = 0;
    return st;
}

/* The status of a statement that did not return rows or a command's end. */
static lore_status result_failed(pg_call *k, PGresult *r) {
    if (r) return fail_result(k->t, k->c, r);
    set_err(k->t, PQerrorMessage(k->c));
    if (PQstatus(k->c) != CONNECTION_OK) {
        k->t->broken = 1;
        return LORE_IO;
    }
    return LORE_NOMEM;
}

static int result_ok(const PGresult *r) {
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK;
}

/* The first statement of a call's own transaction, sent with BEGIN and the
 * tenant's role and search path in one round trip (libpq's pipeline mode); with last,
 * the cache generation bump (a write) and COMMIT go in the same round trip,
 * so a one-statement call costs one round trip, as inside a transaction. */
static PGresult *exec_first(pg_call *k, const char *sql, const pg_params *p, int last,
                            lore_status *st) {
    pg_tenant *t = k->t;
    PGconn *c = k->c;
    char begin[64], role[96], path[96];
    snprintf(begin, sizeof begin, "BEGIN ISOLATION LEVEL %s",
             k->write ? "READ COMMITTED" : "REPEATABLE READ");
    role_sql(t, role, sizeof role);
    path_sql(t, path, sizeof path);
    const char *cmds[6] = {begin, role, path, sql, NULL, NULL};
    int n = 4, stmt = 3;
    if (last) {
        if (k->write) cmds[n++] = "UPDATE cache_gen SET gen = gen + 1";
        cmds[n++] = "COMMIT";
    }
    int sent = PQenterPipelineMode(c);
    for (int i = 0; i < n && sent; i++)
        sent = i == stmt ? PQsendQueryParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL,
                                             p ? p->len : NULL, p ? p->fmt : NULL, 1)
                         : PQsendQueryParams(c, cmds[i], 0, NULL, NULL, NULL, NULL, 1);
    if (sent) sent = PQpipelineSync(c);
    PGresult *out = NULL;
    *st = LORE_OK;
    /* One result per command (each followed by a NULL), then the sync's. */
    for (int i = 0; sent && i < n; i++) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            sent = 0;
            break;
        }
        for (PGresult *more; (more = PQgetResult(c));) /* none expected: up to the NULL */
            PQclear(more);
        if (*st == LORE_OK && !result_ok(r)) {
            *st = result_failed(k, r);
        } else if (*st == LORE_OK && i == n - 1 && last && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
            set_err(t, "the transaction had failed and was rolled back");
            *st = LORE_IO;
        }
        if (i == stmt && *st == LORE_OK)
            out = r;
        else
            PQclear(r);
    }
    if (sent) {
        PGresult *r = PQgetResult(c);
        if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC) sent = 0;
        PQclear(r);
    }
    if (!sent || !PQexitPipelineMode(c)) {
        if (*st == LORE_OK) *st = result_failed(k, NULL);
        t->broken = 1; /* out of step with the server: not pooled again */
        PQclear(out);
        k->state = 2;
        return NULL;
    }
    if (*st != LORE_OK) {
        PQclear(out);
        out = NULL;
        rollback_on(t, c);
        k->state = 2;
        return NULL;
    }
    k->state = last ? 2 : 1;
    return out;
}

static PGresult *call_exec(pg_call *k, const char *sql, const pg_params *p, int last,
                           lore_status *st) {
    if (k->own && k->state == 0) return exec_first(k, sql, p, last, st);
    if (k->own && k->state == 2) {
        *st = LORE_INTERNAL; /* a statement after the call's last */
        return NULL;
    }
    PGresult *r = PQexecParams(k->c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 1);
    if (result_ok(r)) {
        *st = LORE_OK;
        return r;
    }
    *st = result_failed(k, r);
    PQclear(r);
    return NULL;
}

PGresult *pg_call_exec(pg_call *k, const char *sql, const pg_params *p, lore_status *st) {
    return call_exec(k, sql, p, 0, st);
}

PGresult *pg_call_exec_last(pg_call *k, const char *sql, const pg_params *p, lore_status *st) {
    return call_exec(k, sql, p, 1, st);
}

/* ---- transactions ---- */

/* The cache's identity and generation, from SELECT nonce, gen FROM cache_gen. */
static lore_status read_gen(pg_tenant *t, const PGresult *r) {
    if (PQntuples(r) != 1 || PQnfields(r) != 2) {
        set_err(t, "cache_gen does not hold one row");
        return LORE_CORRUPT;
    }
    snprintf(t->nonce_id, sizeof t->nonce_id, "%s", PQgetvalue(r, 0, 0));
    t->gen = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    return LORE_OK;
}

lore_status pg_begin(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx) return LORE_INVALID;
    PGconn *c = NULL;
    lore_status st = take_conn(t, &c);
    if (st != LORE_OK) return st;
    char enter[200], sql[480];
    enter_sql(t, enter, sizeof enter);
    snprintf(sql, sizeof sql,
             "BEGIN ISOLATION LEVEL READ COMMITTED; %s;"
             " SET LOCAL lock_timeout = '60s'; SELECT pg_advisory_xact_lock(%d, %d);"
             " SELECT nonce, gen FROM cache_gen",
             enter, PG_WRITER_LOCK_CLASS, (int)(int32_t)(uint32_t)(uint64_t)t->id);
    PGresult *r = NULL;
    if ((st = run_simple(t, c, sql, &r)) == LORE_OK) st = read_gen(t, r);
    PQclear(r);
    if (st != LORE_OK) {
        rollback_on(t, c);
        give_conn(t, c);
        return st;
    }
    t->conn = c;
    t->in_tx = 1;
    t->next_chunk = 0;
    t->dirty = 0;
    pg_cache_tx_begin(t);
    return LORE_OK;
}

lore_status pg_commit(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 1) return LORE_INVALID;
    int64_t gen;
    lore_status st = commit_on(t, t->conn, &gen);
    pg_cache_tx_end(t, st == LORE_OK, gen);
    give_conn(t, t->conn);
    t->conn = NULL;
    t->in_tx = 0;
    return st;
}

void pg_rollback(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (!t->in_tx) return;
    rollback_on(t, t->conn);
    pg_cache_tx_end(t, 0, -1);
    give_conn(t, t->conn);
    t->conn = NULL;
    t->in_tx = 0;
}

lore_status pg_begin_read(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx) return LORE_INVALID;
    PGconn *c = NULL;
    lore_status st = take_conn(t, &c);
    if (st != LORE_OK) return st;
    char enter[200], sql[320];
    enter_sql(t, enter, sizeof enter);
    snprintf(sql, sizeof sql,
             "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; %s;"
             " SELECT nonce, gen FROM cache_gen",
             enter);
    PGresult *r = NULL;
    if ((st = run_simple(t, c, sql, &r)) == LORE_OK) st = read_gen(t, r);
    PQclear(r);
    if (st != LORE_OK) {
        rollback_on(t, c);
        give_conn(t, c);
        return st;
    }
    t->conn = c;
    t->in_tx = 2;
    return LORE_OK;
}

void pg_end_read(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 2) return;
    /* Read only: nothing to keep, and nothing to wait for. The ROLLBACK is
     * sent and the connection pooled at once; its next taker reads the
     * answer first (pg_pool_get), which has usually arrived by then. */
    PGconn *c = t->conn;
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (!t->broken && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) &&
        PQpipelineStatus(c) == PQ_PIPELINE_OFF && PQsendQuery(c, "ROLLBACK")) {
        pg_pool_put_pending(t->owner->pool, c);
    } else {
        rollback_on(t, c);
        give_conn(t, c);
    }
    t->dirty = 0;
    t->broken = 0;
    t->conn = NULL;
    t->in_tx = 0;
}

void pg_tenant_release(pg_tenant *t) {
    if (!t) return;
    if (t->in_tx == 1)
        pg_rollback(&t->base);
    else if (t->in_tx == 2)
        pg_end_read(&t->base);
    PQclear(t->lent);
    t->lent = NULL;
    free(t->lent_copy);
    t->lent_copy = NULL;
}

const char *pg_tenant_errmsg(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    return t->errmsg[0] ? t->errmsg : "no error";
}
