/* PostgreSQL backend: blobs (job payloads too big to keep inline: uploads,
 * import archives) as rows of the control schema, so every node reads what
 * any node wrote:
 *
 *   lore.blobs(id, tenant, name, state, bytes, created_ms): one per blob;
 *     state 0 while it is written (no reader sees it), 1 once kept.
 *   lore.blob_chunks(blob, seq, data bytea): its bytes in chunks of
 *     BLOB_CHUNK (the last one shorter), stored uncompressed out of line so
 *     a read takes a slice of a chunk without the whole of it.
 *
 * A writer buffers one chunk and inserts it when full, each insert its own
 * statement on a borrowed connection (an upload may be slow; it holds no
 * connection or transaction in between). blob_finish with keep flips state
 * to 1 with the size: the blob appears whole or not at all. A writer that
 * died leaves a state-0 row; blob_create removes those older than a day.
 * Names are "blob-" and 24 random hex digits, as the SQLite backend's, or
 * the caller's (blob_create_named): that blob is written under a dot name
 * (".part-" and 24 random hex digits, which no reader asks for) and
 * blob_finish deletes an older blob of the name and renames it in one
 * transaction, so readers find the old blob or the new one. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

#define BLOB_CHUNK ((size_t)1 << 20)
#define BLOB_STALE_MS (24 * 3600 * 1000LL)

const char pg_blob_migration[] = "CREATE TABLE blobs("
                                 " id bigserial PRIMARY KEY,"
                                 " tenant text NOT NULL,"
                                 " name text NOT NULL,"
                                 " state smallint NOT NULL DEFAULT 0,"
                                 " bytes bigint NOT NULL DEFAULT 0,"
                                 " created_ms bigint NOT NULL,"
                                 " UNIQUE(tenant, name));"
                                 "CREATE INDEX blobs_writing ON blobs(created_ms) WHERE state = 0;"
                                 "CREATE TABLE blob_chunks("
                                 " blob bigint NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,"
                                 " seq bigint NOT NULL,"
                                 " data bytea NOT NULL,"
                                 " PRIMARY KEY(blob, seq));"
                                 "ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;";

typedef struct pg_blob_writer {
    const store_backend *be; /* the common header of every backend's writer */
    pg_store *s;
    int64_t id;
    int64_t seq;   /* next chunk */
    int64_t bytes; /* written so far */
    lore_status failed;
    char *named; /* blob_create_named: the name it gets on finish (owned) */
    size_t fill;
    uint8_t *buf; /* BLOB_CHUNK bytes */
} pg_blob_writer;

/* Runs one statement on a borrowed connection; *out gets the rows when
 * asked (binary results). */
static lore_status blob_exec(pg_store *s, const char *sql, const pg_params *p, PGresult **out) {
    if (out) *out = NULL;
    char err[256];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) return LORE_IO;
    PGresult *r = PQexecParams(c, sql, p->n, NULL, p->v, p->len, p->fmt, 1);
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    lore_status st = LORE_OK;
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK)
        st = r ? pg_result_status(r, err, sizeof err) : LORE_IO;
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE);
    if (st == LORE_OK && out)
        *out = r;
    else
        PQclear(r);
    return st;
}

static int name_ok(const char *tenant, const char *name) {
    return store_tenant_name_valid(tenant) && name && *name && strlen(name) <= STORE_BLOB_NAME_MAX;
}

static lore_status writer_new(pg_store *s, const char *tenant, const char *named, char *name_out,
                              store_blob_writer **out) {
    *out = NULL;
    if (!store_tenant_name_valid(tenant)) return LORE_INVALID;
    pg_blob_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->buf = malloc(BLOB_CHUNK)) || (named && !(w->named = strdup(named)))) {
        if (w) free(w->buf);
        free(w);
        return LORE_NOMEM;
    }
    w->be = &store_backend_postgres;
    w->s = s;
    int64_t now = lore_now_ms();
    pg_params sweep = {0};
    pg_param_i64(&sweep, now - BLOB_STALE_MS);
    lore_status st =
        blob_exec(s, "DELETE FROM lore.blobs WHERE state = 0 AND created_ms < $1", &sweep, NULL);
    char name[STORE_BLOB_NAME_MAX + 1];
    for (int tries = 0; st == LORE_OK; tries++) {
        uint8_t rnd[12];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            st = LORE_IO;
            break;
        }
        memcpy(name, named ? ".part-" : "blob-", named ? 6 : 5);
        lore_hex(rnd, sizeof rnd, name + (named ? 6 : 5));
        pg_params p = {0};
        pg_param_text(&p, tenant);
        pg_param_text(&p, name);
        pg_param_i64(&p, now);
        PGresult *r = NULL;
        st = blob_exec(s,
                       "INSERT INTO lore.blobs(tenant, name, state, bytes, created_ms)"
                       " VALUES($1, $2, 0, 0, $3) RETURNING id",
                       &p, &r);
        if (st == LORE_OK) {
            w->id = pg_get_i64(r, 0, 0);
            PQclear(r);
            break;
        }
        if (st != LORE_EXISTS || tries >= 3) break;
        st = LORE_OK; /* 96 random bits met an old name: draw again */
    }
    if (st != LORE_OK) {
        free(w->named);
        free(w->buf);
        free(w);
        return st;
    }
    if (name_out) memcpy(name_out, name, strlen(name) + 1);
    *out = (store_blob_writer *)w;
    return LORE_OK;
}

lore_status pg_blob_create(store *base, const char *tenant, char *name_out,
                           store_blob_writer **out) {
    return writer_new((pg_store *)base, tenant, NULL, name_out, out);
}

lore_status pg_blob_create_named(store *base, const char *tenant, const char *name,
                                 store_blob_writer **out) {
    *out = NULL;
    if (!store_blob_name_valid(name)) return LORE_INVALID;
    return writer_new((pg_store *)base, tenant, name, NULL, out);
}

static lore_status flush_chunk(pg_blob_writer *w) {
    pg_params p = {0};
    pg_param_i64(&p, w->id);
    pg_param_i64(&p, w->seq);
    pg_param_bytes(&p, w->buf, w->fill);
    lore_status st = blob_exec(
        w->s, "INSERT INTO lore.blob_chunks(blob, seq, data) VALUES($1, $2, $3::bytea)", &p, NULL);
    if (st == LORE_OK) {
        w->seq++;
        w->fill = 0;
    }
    return st;
}

lore_status pg_blob_write(store_blob_writer *base, const void *data, size_t len) {
    pg_blob_writer *w = (pg_blob_writer *)base;
    if (w->failed) return w->failed;
    const uint8_t *p = data;
    while (len) {
        size_t take = BLOB_CHUNK - w->fill < len ? BLOB_CHUNK - w->fill : len;
        memcpy(w->buf + w->fill, p, take);
        w->fill += take;
        w->bytes += (int64_t)take;
        p += take;
        len -= take;
        if (w->fill == BLOB_CHUNK) {
            lore_status st = flush_chunk(w);
            if (st != LORE_OK) return w->failed = st;
        }
    }
    return LORE_OK;
}

/* Keeps a named blob: an older blob of its name goes and this one takes
 * the name, in one transaction. */
static lore_status keep_named(pg_blob_writer *w) {
    char err[256];
    PGconn *c = pg_pool_get(w->s->pool, err, sizeof err);
    if (!c) return LORE_IO;
    pg_params d = {0}, p = {0};
    pg_param_i64(&d, w->id);
    pg_param_text(&d, w->named);
    pg_param_i64(&p, w->id);
    pg_param_text(&p, w->named);
    pg_param_i64(&p, w->bytes);
    lore_status st = pg_exec(c, "BEGIN", err, sizeof err);
    if (st == LORE_OK)
        st = pg_run_cmd(c,
                        "DELETE FROM lore.blobs WHERE name = $2 AND id <> $1::bigint"
                        " AND tenant = (SELECT tenant FROM lore.blobs WHERE id = $1::bigint)",
                        &d, NULL, err, sizeof err);
    int64_t n = 0;
    if (st == LORE_OK)
        st = pg_run_cmd(c, "UPDATE lore.blobs SET state = 1, bytes = $3, name = $2 WHERE id = $1",
                        &p, &n, err, sizeof err);
    if (st == LORE_OK && n != 1) st = LORE_NOT_FOUND; /* swept meanwhile */
    if (st == LORE_OK) st = pg_exec(c, "COMMIT", err, sizeof err);
    if (st != LORE_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        (void)pg_exec(c, "ROLLBACK", err, sizeof err);
    pg_pool_put(w->s->pool, c,
                PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE);
    return st;
}

lore_status pg_blob_finish(store_blob_writer *base, int keep) {
    pg_blob_writer *w = (pg_blob_writer *)base;
    lore_status st = keep ? w->failed : LORE_OK;
    if (st == LORE_OK && keep && w->fill) st = flush_chunk(w);
    pg_params p = {0};
    pg_param_i64(&p, w->id);
    if (st == LORE_OK && keep && w->named) {
        st = keep_named(w);
    } else if (st == LORE_OK && keep) {
        pg_param_i64(&p, w->bytes);
        st = blob_exec(w->s, "UPDATE lore.blobs SET state = 1, bytes = $2 WHERE id = $1", &p, NULL);
    }
    if (!keep || st != LORE_OK) {
        pg_params d = {0};
        pg_param_i64(&d, w->id);
        (void)blob_exec(w->s, "DELETE FROM lore.blobs WHERE id = $1", &d, NULL);
    }
    free(w->named);
    free(w->buf);
    free(w);
    return st;
}

lore_status pg_blob_size(store *base, const char *tenant, const char *name, int64_t *bytes) {
    *bytes = 0;
    if (!name_ok(tenant, name)) return LORE_INVALID;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    PGresult *r = NULL;
    lore_status st = blob_exec((pg_store *)base,
                               "SELECT bytes FROM lore.blobs WHERE tenant=$1 AND name=$2"
                               " AND state = 1",
                               &p, &r);
    if (st != LORE_OK) return st;
    if (PQntuples(r) == 1)
        *bytes = pg_get_i64(r, 0, 0);
    else
        st = LORE_NOT_FOUND;
    PQclear(r);
    return st;
}

lore_status pg_blob_read(store *base, const char *tenant, const char *name, int64_t offset,
                         void *buf, size_t len, size_t *got) {
    *got = 0;
    if (!name_ok(tenant, name)) return LORE_INVALID;
    if (offset < 0) return LORE_INVALID;
    if (len > (size_t)INT32_MAX) len = (size_t)INT32_MAX;
    int64_t chunk = (int64_t)BLOB_CHUNK, end = offset + (int64_t)len;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    pg_param_i64(&p, offset);
    pg_param_i64(&p, end);
    pg_param_i64(&p, chunk);
    PGresult *r = NULL;
    /* Each chunk in [offset, end) gives its slice; a kept blob with none
     * there (offset at or past the end) gives one row of NULLs. */
    lore_status st = blob_exec(
        (pg_store *)base,
        "SELECT c.seq, substring(c.data FROM (greatest($3::bigint - c.seq * $5::bigint, 0)"
        " + 1)::int FOR (least($4::bigint - c.seq * $5::bigint, $5::bigint)"
        " - greatest($3::bigint - c.seq * $5::bigint, 0))::int)"
        " FROM lore.blobs b LEFT JOIN lore.blob_chunks c ON c.blob = b.id"
        " AND c.seq >= $3::bigint / $5::bigint AND c.seq * $5::bigint < $4::bigint"
        " WHERE b.tenant = $1 AND b.name = $2 AND b.state = 1 ORDER BY c.seq",
        &p, &r);
    if (st != LORE_OK) return st;
    int rows = PQntuples(r);
    if (!rows) st = LORE_NOT_FOUND;
    int64_t want_seq = offset / chunk;
    for (int i = 0; i < rows && st == LORE_OK; i++) {
        if (PQgetisnull(r, i, 0)) break;
        if (pg_get_i64(r, i, 0) != want_seq++) { /* a hole: chunks are written in order */
            st = LORE_CORRUPT;
            break;
        }
        size_t n;
        const char *d = pg_get_bytes(r, i, 1, &n);
        if (n > len - *got) n = len - *got;
        memcpy((uint8_t *)buf + *got, d, n);
        *got += n;
        if (*got == len) break;
    }
    PQclear(r);
    return st;
}

void pg_blob_remove(store *base, const char *tenant, const char *name) {
    if (!name_ok(tenant, name)) return;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    (void)blob_exec((pg_store *)base, "DELETE FROM lore.blobs WHERE tenant=$1 AND name=$2", &p,
                    NULL);
}
