/* PostgreSQL backend: reading one document or chunk (store_doc_get and
 * _rowid, store_chunk_get, store_chunk_owner_get, store_chunk_doc).
 *
 * A search asks these for every candidate chunk (admission) and every hit
 * (the hit's chunk and document): a round trip each. Inside a read
 * snapshot the answers are therefore kept in pg_kv.c's cache under
 * namespaces of their own, keyed by the chunk id or document rowid, as the
 * row read (packed: per column a big-endian length, 0xffffffff for NULL,
 * the bytes and a NUL), absences included; the cache's generation makes a
 * write anywhere invalidate them. Documents are cached without their text
 * only (with_text reads always go to the server). */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rows ---- */

void pg_row_of(pg_row *w, const PGresult *r, int i) {
    w->n = PQnfields(r) < PG_ROW_MAX ? PQnfields(r) : PG_ROW_MAX;
    for (int c = 0; c < w->n; c++)
        w->val[c] = pg_get_bytes(r, i, c, &w->len[c]);
}

int64_t pg_row_i64(const pg_row *w, int col) {
    if (col >= w->n || !w->val[col]) return 0;
    const unsigned char *v = (const unsigned char *)w->val[col];
    uint64_t u = 0;
    for (size_t i = 0; i < w->len[col] && i < 8; i++)
        u = u << 8 | v[i];
    switch (w->len[col]) {
    case 1:
        return (int8_t)u;
    case 2:
        return (int16_t)u;
    case 4:
        return (int32_t)u;
    case 8:
        return (int64_t)u;
    default:
        return 0;
    }
}

static lore_status row_pack(const pg_row *w, lore_buf *b) {
    lore_status st = lore_buf_append_byte(b, (uint8_t)w->n);
    for (int c = 0; c < w->n && st == LORE_OK; c++) {
        uint32_t len = w->val[c] ? (uint32_t)w->len[c] : UINT32_MAX;
        uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
        st = lore_buf_append(b, be, 4);
        if (st == LORE_OK && w->val[c]) st = lore_buf_append(b, w->val[c], w->len[c]);
        if (st == LORE_OK && w->val[c]) st = lore_buf_append_byte(b, 0);
    }
    return st;
}

/* Points w into p (which must outlive w's use). */
static lore_status row_unpack(pg_row *w, const char *p, size_t n) {
    const uint8_t *q = (const uint8_t *)p, *end = q + n;
    if (q == end || *q > PG_ROW_MAX) return LORE_CORRUPT;
    w->n = *q++;
    for (int c = 0; c < w->n; c++) {
        if (end - q < 4) return LORE_CORRUPT;
        uint32_t len = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
        q += 4;
        if (len == UINT32_MAX) {
            w->val[c] = NULL;
            w->len[c] = 0;
            continue;
        }
        if ((size_t)(end - q) < (size_t)len + 1 || q[len] != 0) return LORE_CORRUPT;
        w->val[c] = (const char *)q;
        w->len[c] = len;
        q += len + 1;
    }
    return q == end ? LORE_OK : LORE_CORRUPT;
}

lore_status pg_call_end_found(pg_call *k, lore_status st) {
    lore_status end = pg_call_end(k, st == LORE_NOT_FOUND ? LORE_OK : st);
    return end != LORE_OK ? end : st;
}

/* A row read by one statement, with at most one row: from the cache
 * (ns != 0, inside a transaction, pg_kv.c) or from the server, filling it.
 * w then points into *res (PQclear it) or into *held (lore_buf_free it);
 * LORE_NOT_FOUND when there is no row. */
static lore_status read_row(pg_tenant *t, int ns, int64_t id, const char *sql, const pg_params *p,
                            pg_row *w, PGresult **res, lore_buf *held) {
    *res = NULL;
    uint8_t key[8];
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)((uint64_t)id >> (56 - 8 * i));
    int slot = -1;
    lore_status st;
    if (ns && pg_cache_get(t, ns, key, sizeof key, held, &st, &slot) == 0)
        return st == LORE_OK ? row_unpack(w, held->data, held->len) : st;
    pg_call k;
    if ((st = pg_call_begin(t, &k, 0)) != LORE_OK) return st;
    PGresult *r = pg_call_exec_last(&k, sql, p, &st);
    if (r && PQntuples(r) != 1) st = LORE_NOT_FOUND;
    if ((st = pg_call_end_found(&k, st)) != LORE_OK) {
        if (st == LORE_NOT_FOUND && slot >= 0) pg_cache_put(t, slot, ns, key, sizeof key, NULL, 0);
        PQclear(r);
        return st;
    }
    pg_row_of(w, r, 0);
    if (slot >= 0) {
        lore_buf_reset(held);
        if (row_pack(w, held) == LORE_OK)
            pg_cache_put(t, slot, ns, key, sizeof key, held->data, held->len);
    }
    *res = r;
    return LORE_OK;
}

/* ---- documents ---- */

lore_status pg_doc_from_row(const pg_row *w, store_doc **out) {
    *out = NULL;
    if (w->n < 14 || !w->val[1] || !w->val[2] || !w->val[3] || !w->val[10]) return LORE_CORRUPT;
    store_doc *d = calloc(1, sizeof *d);
    if (!d) return LORE_NOMEM;
    int nomem = 0;
    char **strs[] = {&d->source, &d->external_id, &d->title, &d->url, &d->author};
    for (int i = 0; i < 5; i++)
        if (w->val[2 + i] && !(*strs[i] = strndup(w->val[2 + i], w->len[2 + i]))) nomem = 1;
    if (w->val[11] && !(d->metadata_json = strndup(w->val[11], w->len[11]))) nomem = 1;
    d->rowid = pg_row_i64(w, 0);
    snprintf(d->id, sizeof d->id, "%s", w->val[1]);
    d->created_ms = pg_row_i64(w, 7);
    d->updated_ms = pg_row_i64(w, 8);
    d->indexed_ms = pg_row_i64(w, 9);
    snprintf(d->content_hash, sizeof d->content_hash, "%s", w->val[10]);
    lore_status st = pg_list_split(w->val[12], &d->acl, &d->nacl);
    d->nchunks = pg_row_i64(w, 13);
    if (w->n > 14 && w->val[14]) {
        if ((d->text = malloc(w->len[14] + 1))) {
            memcpy(d->text, w->val[14], w->len[14]);
            d->text[w->len[14]] = '\0';
            d->text_len = w->len[14];
        } else {
            nomem = 1;
        }
    }
    if (st == LORE_OK && nomem) st = LORE_NOMEM;
    if (st != LORE_OK) {
        store_doc_free(d);
        return st;
    }
    *out = d;
    return LORE_OK;
}

static lore_status doc_get_where(pg_tenant *t, int ns, int64_t id, const char *where,
                                 const pg_params *p, store_doc **out) {
    *out = NULL;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " PG_DOC_COLS ", CASE WHEN $2::int = 1 THEN d.body END FROM documents d"
             " WHERE %s",
             where);
    pg_row w;
    PGresult *r = NULL;
    lore_buf held;
    lore_buf_init(&held, (size_t)1 << 30);
    lore_status st = read_row(t, ns, id, sql, p, &w, &r, &held);
    if (st == LORE_OK) st = pg_doc_from_row(&w, out);
    PQclear(r);
    lore_buf_free(&held);
    return st;
}

lore_status pg_doc_get(store_tenant *t, const char *id, int with_text, store_doc **out) {
    pg_params p = {0};
    pg_param_text(&p, id);
    pg_param_i64(&p, with_text ? 1 : 0);
    return doc_get_where((pg_tenant *)t, 0, 0, "d.id = $1", &p, out);
}

lore_status pg_doc_get_rowid(store_tenant *t, int64_t rowid, int with_text, store_doc **out) {
    pg_params p = {0};
    pg_param_i64(&p, rowid);
    pg_param_i64(&p, with_text ? 1 : 0);
    return doc_get_where((pg_tenant *)t, with_text ? 0 : PG_CACHE_DOC, rowid,
                         "d.rowid = $1::bigint", &p, out);
}

/* ---- chunks ---- */

lore_status pg_chunk_get(store_tenant *base, int64_t chunk_id, store_chunk *out) {
    pg_tenant *t = (pg_tenant *)base;
    memset(out, 0, sizeof *out);
    pg_params p = {0};
    pg_param_i64(&p, chunk_id);
    pg_row w;
    PGresult *r = NULL;
    lore_buf held;
    lore_buf_init(&held, (size_t)1 << 30);
    lore_status st = read_row(t, PG_CACHE_CHUNK, chunk_id,
                              "SELECT c.doc, c.ordinal, c.byte_start, c.byte_end, c.section,"
                              " substring(d.body FROM (greatest(c.byte_start, 0) + 1)::int"
                              " FOR greatest(c.byte_end - c.byte_start, 0)::int)"
                              " FROM chunks c JOIN documents d ON d.rowid = c.doc WHERE c.id = $1",
                              &p, &w, &r, &held);
    if (st == LORE_OK && (w.n != 6 || !w.val[4] || !w.val[5])) st = LORE_CORRUPT;
    if (st == LORE_OK) {
        out->id = chunk_id;
        out->doc_rowid = pg_row_i64(&w, 0);
        out->ordinal = (uint32_t)pg_row_i64(&w, 1);
        out->start = (uint32_t)pg_row_i64(&w, 2);
        out->end = (uint32_t)pg_row_i64(&w, 3);
        out->section = strndup(w.val[4], w.len[4]);
        if ((out->text = malloc(w.len[5] + 1))) {
            if (w.len[5]) memcpy(out->text, w.val[5], w.len[5]);
            out->text[w.len[5]] = '\0';
            out->text_len = w.len[5];
        }
        if (!out->text || !out->section) st = LORE_NOMEM;
    }
    PQclear(r);
    lore_buf_free(&held);
    if (st != LORE_OK) store_chunk_clear(out);
    return st;
}

lore_status pg_chunk_owner_get(store_tenant *base, int64_t chunk_id, store_chunk_owner *out) {
    pg_tenant *t = (pg_tenant *)base;
    PQclear(t->lent); /* releases the strings lent by the previous call */
    t->lent = NULL;
    free(t->lent_copy);
    t->lent_copy = NULL;
    pg_params p = {0};
    pg_param_i64(&p, chunk_id);
    pg_row w;
    PGresult *r = NULL;
    lore_buf held;
    lore_buf_init(&held, (size_t)1 << 30);
    lore_status st =
        read_row(t, PG_CACHE_CHUNK_OWNER, chunk_id,
                 "SELECT d.rowid, d.source, CASE WHEN d.updated_ms > 0 THEN d.updated_ms"
                 " ELSE d.indexed_ms END, d.author, d.acl, d.title, d.metadata"
                 " FROM chunks c JOIN documents d ON d.rowid = c.doc WHERE c.id = $1",
                 &p, &w, &r, &held);
    if (st == LORE_OK && (w.n != 7 || !w.val[1])) st = LORE_CORRUPT;
    if (st != LORE_OK) {
        PQclear(r);
        lore_buf_free(&held);
        return st;
    }
    /* The strings stay valid until the next call: the result, or the
     * cached bytes they point into. */
    if (r) {
        t->lent = r;
    } else {
        t->lent_copy = lore_buf_take(&held);
    }
    lore_buf_free(&held);
    out->doc_rowid = pg_row_i64(&w, 0);
    out->source = w.val[1];
    out->updated_ms = pg_row_i64(&w, 2);
    out->author = w.val[3];
    out->acl_joined = w.val[4] ? w.val[4] : "";
    out->title = w.val[5];
    out->metadata_json = w.val[6];
    return LORE_OK;
}

lore_status pg_chunk_doc(store_tenant *base, int64_t chunk_id, int64_t *doc_rowid) {
    pg_params p = {0};
    pg_param_i64(&p, chunk_id);
    pg_row w;
    PGresult *r = NULL;
    lore_buf held;
    lore_buf_init(&held, 1024);
    lore_status st = read_row((pg_tenant *)base, PG_CACHE_CHUNK_DOC, chunk_id,
                              "SELECT doc FROM chunks WHERE id=$1", &p, &w, &r, &held);
    if (st == LORE_OK) {
        if (w.n == 1 && w.val[0])
            *doc_rowid = pg_row_i64(&w, 0);
        else
            st = LORE_CORRUPT;
    }
    PQclear(r);
    lore_buf_free(&held);
    return st;
}
