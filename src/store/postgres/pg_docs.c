/* PostgreSQL backend: a tenant's documents and chunks (the schema is in
 * pg_tenant_schema.c). Semantics are store.h's, the same as the SQLite
 * backend's (sqlite_docs.c, sqlite_docs_range.c).
 *
 * Round trips are what costs here, so: a document is written with one
 * upsert and one statement for all of its chunks (arrays unnested); a
 * listing reads whole rows a page at a time rather than one document per
 * row; a chunk scan reads each chunk's slice of the text in the same query.
 * Scans page with a cursor (the last id seen) so the callback may call the
 * store between pages, and a call outside a transaction reads all its pages
 * in one snapshot (pg_call_begin). */
#include "store/postgres/pg_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

#define PAGE_ROWS 256 /* rows a listing or scan reads per statement */

/* Visible to the principals joined by "\n" in a parameter ($%d). */
#define VISIBLE_SQL "(d.acl = '' OR string_to_array(d.acl, E'\\n') && string_to_array($%d, E'\\n'))"

static size_t page_of(size_t left) {
    return left < PAGE_ROWS ? left : PAGE_ROWS;
}

/* Principals joined for VISIBLE_SQL; NULL when the viewer sees all. */
static lore_status viewer_join(const store_viewer *who, char **out) {
    *out = NULL;
    if (!who || who->all_access) return LORE_OK;
    *out = pg_list_join(who->principals, who->nprincipals);
    return *out ? LORE_OK : LORE_NOMEM;
}

/* Rows of a statement that changed rows (UPDATE, DELETE). */
static int64_t changed(const PGresult *r) {
    return strtoll(PQcmdTuples((PGresult *)r), NULL, 10);
}

lore_status pg_doc_lookup(store_tenant *base, const char *source, const char *external_id,
                          int64_t *rowid, char *hash) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_text(&p, source);
    pg_param_text(&p, external_id);
    PGresult *r = pg_call_exec_last(
        &k, "SELECT rowid, content_hash FROM documents WHERE source=$1 AND external_id=$2", &p,
        &st);
    if (r) {
        if (PQntuples(r) == 1) {
            if (rowid) *rowid = pg_get_i64(r, 0, 0);
            if (hash) snprintf(hash, 65, "%s", PQgetvalue(r, 0, 1));
        } else {
            st = LORE_NOT_FOUND;
        }
        PQclear(r);
    }
    return pg_call_end_found(&k, st);
}

lore_status pg_reserve_chunk_ids(store_tenant *base, size_t n, int64_t *first) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 1 || n > (size_t)INT32_MAX) return LORE_INVALID;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 1);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, (int64_t)n);
    PGresult *r = pg_call_exec_last(
        &k, "UPDATE chunk_ids SET next = next + $1::bigint RETURNING next - $1::bigint", &p, &st);
    if (r) {
        if (PQntuples(r) == 1)
            *first = pg_get_i64(r, 0, 0);
        else
            st = LORE_CORRUPT;
        PQclear(r);
    }
    return pg_call_end(&k, st);
}

/* Appends an array literal element: a number, or a quoted string. */
static lore_status arr_i64(lore_buf *b, int64_t v) {
    return lore_buf_printf(b, "%s%lld", b->len > 1 ? "," : "", (long long)v);
}

static lore_status arr_text(lore_buf *b, const char *s) {
    lore_status st = lore_buf_append_str(b, b->len > 1 ? ",\"" : "\"");
    for (; *s && st == LORE_OK; s++) {
        if (*s == '"' || *s == '\\') st = lore_buf_append_byte(b, '\\');
        if (st == LORE_OK) st = lore_buf_append_byte(b, (uint8_t)*s);
    }
    return st == LORE_OK ? lore_buf_append_byte(b, '"') : st;
}

/* Inserts the chunks of document rowid with one statement. */
static lore_status put_chunks(pg_call *k, int64_t rowid, const store_chunk_in *chunks, size_t n) {
    enum { ID, START, END, SECTION, NTOKENS, NTERMS, NARR };
    lore_buf a[NARR];
    lore_status st = LORE_OK;
    for (int j = 0; j < NARR; j++) {
        lore_buf_init(&a[j], (size_t)1 << 30);
        if (st == LORE_OK) st = lore_buf_append_byte(&a[j], '{');
    }
    for (size_t i = 0; i < n && st == LORE_OK; i++) {
        const store_chunk_in *c = &chunks[i];
        if ((st = arr_i64(&a[ID], c->id)) != LORE_OK ||
            (st = arr_i64(&a[START], c->start)) != LORE_OK ||
            (st = arr_i64(&a[END], c->end)) != LORE_OK ||
            (st = arr_text(&a[SECTION], c->section ? c->section : "")) != LORE_OK ||
            (st = arr_i64(&a[NTOKENS], c->ntokens)) != LORE_OK)
            break;
        st = arr_i64(&a[NTERMS], c->nterms);
    }
    for (int j = 0; j < NARR && st == LORE_OK; j++)
        st = lore_buf_append_byte(&a[j], '}');
    if (st == LORE_OK) {
        pg_params p = {0};
        pg_param_i64(&p, rowid);
        for (int j = 0; j < NARR; j++)
            pg_param_text(&p, a[j].data);
        PGresult *r = pg_call_exec(
            k,
            "INSERT INTO chunks(id, doc, ordinal, byte_start, byte_end, section, ntokens, nterms)"
            " SELECT u.id, $1::bigint, u.o - 1, u.s, u.e, u.sec, u.nt, u.nm"
            " FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[],"
            " $7::bigint[]) WITH ORDINALITY AS u(id, s, e, sec, nt, nm, o)",
            &p, &st);
        PQclear(r);
    }
    for (int j = 0; j < NARR; j++)
        lore_buf_free(&a[j]);
    return st;
}

lore_status pg_doc_put(store_tenant *base, store_doc *doc, const store_chunk_in *chunks, size_t n) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 1 || !doc->source || !doc->external_id || !doc->text) return LORE_INVALID;
    if (doc->text_len > (size_t)INT_MAX) return LORE_TOO_LARGE;
    char *acl = pg_list_join((const char *const *)doc->acl, doc->nacl);
    if (!acl) return LORE_NOMEM;
    store_doc_public_id(doc->source, doc->external_id, doc->id);
    doc->indexed_ms = lore_now_ms();
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 1);
    if (st != LORE_OK) {
        free(acl);
        return st;
    }
    pg_params p = {0};
    pg_param_text(&p, doc->id);
    pg_param_text(&p, doc->source);
    pg_param_text(&p, doc->external_id);
    pg_param_text(&p, doc->title);
    pg_param_text(&p, doc->url);
    pg_param_text(&p, doc->author);
    pg_param_i64(&p, doc->created_ms);
    pg_param_i64(&p, doc->updated_ms);
    pg_param_i64(&p, doc->indexed_ms);
    pg_param_text(&p, doc->content_hash);
    pg_param_text(&p, doc->metadata_json);
    pg_param_text(&p, acl);
    pg_param_bytes(&p, doc->text, doc->text_len);
    /* xmax is set on a row the upsert updated and 0 on one it inserted. */
    PGresult *r = pg_call_exec(
        &k,
        "INSERT INTO documents(id, source, external_id, title, url, author, created_ms,"
        " updated_ms, indexed_ms, content_hash, metadata, acl, body)"
        " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::bytea)"
        " ON CONFLICT (source, external_id) DO UPDATE SET id=excluded.id, title=excluded.title,"
        " url=excluded.url, author=excluded.author, created_ms=excluded.created_ms,"
        " updated_ms=excluded.updated_ms, indexed_ms=excluded.indexed_ms,"
        " content_hash=excluded.content_hash, metadata=excluded.metadata, acl=excluded.acl,"
        " body=excluded.body RETURNING rowid, xmax::text <> '0'",
        &p, &st);
    free(acl);
    int64_t rowid = 0;
    int existed = 0;
    if (r) {
        if (PQntuples(r) == 1) {
            rowid = pg_get_i64(r, 0, 0);
            existed = pg_get_i64(r, 0, 1) != 0;
        } else {
            st = LORE_INTERNAL;
        }
        PQclear(r);
    }
    if (st == LORE_OK && existed) {
        pg_params d = {0};
        pg_param_i64(&d, rowid);
        PQclear(pg_call_exec(&k, "DELETE FROM chunks WHERE doc=$1", &d, &st));
    }
    if (st == LORE_OK && n) st = put_chunks(&k, rowid, chunks, n);
    st = pg_call_end(&k, st);
    if (st == LORE_OK) {
        doc->rowid = rowid;
        doc->nchunks = (int64_t)n;
    }
    return st;
}

lore_status pg_doc_chunks(store_tenant *base, int64_t doc_rowid, store_chunk_len_fn fn, void *ctx) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, doc_rowid);
    PGresult *r = pg_call_exec_last(
        &k, "SELECT id, nterms FROM chunks WHERE doc=$1 ORDER BY ordinal", &p, &st);
    for (int i = 0; r && i < PQntuples(r); i++)
        if (fn(ctx, pg_get_i64(r, i, 0), (uint32_t)pg_get_i64(r, i, 1))) break;
    PQclear(r);
    return pg_call_end(&k, st);
}

lore_status pg_chunk_scan(store_tenant *base, int64_t after_id, size_t limit,
                          store_chunk_scan_fn fn, void *ctx) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    int stop = 0;
    while (st == LORE_OK && !stop && limit) {
        size_t want = page_of(limit);
        pg_params p = {0};
        pg_param_i64(&p, after_id);
        pg_param_i64(&p, (int64_t)want);
        PGresult *r = pg_call_exec(
            &k,
            "SELECT c.id, c.nterms, d.title, c.byte_start, c.byte_end, octet_length(d.body),"
            " CASE WHEN c.byte_start >= 0 AND c.byte_end >= c.byte_start THEN"
            " substring(d.body FROM (c.byte_start + 1)::int FOR (c.byte_end - c.byte_start)::int)"
            " END FROM chunks c JOIN documents d ON d.rowid = c.doc"
            " WHERE c.id > $1 ORDER BY c.id LIMIT $2",
            &p, &st);
        if (!r) break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !stop; i++) {
            int64_t start = pg_get_i64(r, i, 3), end = pg_get_i64(r, i, 4);
            if (start < 0 || end < start || end > pg_get_i64(r, i, 5)) {
                st = LORE_CORRUPT;
                break;
            }
            size_t tlen = 0, xlen = 0;
            const char *title = pg_get_bytes(r, i, 2, &tlen);
            const char *text = pg_get_bytes(r, i, 6, &xlen);
            after_id = pg_get_i64(r, i, 0);
            stop = fn(ctx, after_id, (uint32_t)pg_get_i64(r, i, 1), title, tlen, text ? text : "",
                      xlen);
        }
        PQclear(r);
        limit -= (size_t)rows;
        if ((size_t)rows < want) break;
    }
    return pg_call_end(&k, st);
}

lore_status pg_chunk_set_nterms(store_tenant *base, int64_t chunk_id, uint32_t nterms) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 1) return LORE_INVALID;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 1);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, nterms);
    pg_param_i64(&p, chunk_id);
    PGresult *r = pg_call_exec_last(&k, "UPDATE chunks SET nterms=$1 WHERE id=$2", &p, &st);
    if (r && changed(r) == 0) st = LORE_NOT_FOUND;
    PQclear(r);
    return pg_call_end_found(&k, st);
}

lore_status pg_doc_delete(store_tenant *base, int64_t doc_rowid) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 1);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, doc_rowid);
    PGresult *r = pg_call_exec_last(&k, "DELETE FROM documents WHERE rowid=$1", &p, &st);
    if (r && changed(r) == 0) st = LORE_NOT_FOUND;
    PQclear(r);
    return pg_call_end_found(&k, st);
}

lore_status pg_doc_list(store_tenant *base, const store_viewer *who, const char *source,
                        int64_t after, size_t limit, store_doc_fn fn, void *ctx) {
    pg_tenant *t = (pg_tenant *)base;
    char *joined = NULL;
    lore_status st = viewer_join(who, &joined);
    if (st != LORE_OK) return st;
    /* $1 after, $2 page size, then the source and the principals. */
    char sql[768], vis[160] = "";
    int next = 3, src_arg = source ? next++ : 0;
    if (joined) snprintf(vis, sizeof vis, " AND " VISIBLE_SQL, next++);
    char srcw[48] = "";
    if (source) snprintf(srcw, sizeof srcw, " AND d.source = $%d", src_arg);
    snprintf(sql, sizeof sql,
             "SELECT " PG_DOC_COLS
             " FROM documents d WHERE d.rowid > $1%s%s ORDER BY d.rowid LIMIT $2",
             srcw, vis);
    pg_call k;
    if ((st = pg_call_begin(t, &k, 0)) != LORE_OK) {
        free(joined);
        return st;
    }
    int stop = 0;
    while (st == LORE_OK && !stop && limit) {
        size_t want = page_of(limit);
        pg_params p = {0};
        pg_param_i64(&p, after);
        pg_param_i64(&p, (int64_t)want);
        if (source) pg_param_text(&p, source);
        if (joined) pg_param_text(&p, joined);
        PGresult *r = pg_call_exec(&k, sql, &p, &st);
        if (!r) break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !stop && st == LORE_OK; i++) {
            store_doc *d = NULL;
            pg_row w;
            pg_row_of(&w, r, i);
            if ((st = pg_doc_from_row(&w, &d)) != LORE_OK) break;
            after = d->rowid;
            stop = fn(ctx, d);
            store_doc_free(d);
        }
        PQclear(r);
        limit -= (size_t)rows;
        if ((size_t)rows < want) break;
    }
    free(joined);
    return pg_call_end(&k, st);
}

lore_status pg_doc_scan_external(store_tenant *base, const char *source, const char *from,
                                 const char *below, size_t limit, store_doc_ref_fn fn, void *ctx) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    char *cursor = strdup(from ? from : "");
    if (!cursor) st = LORE_NOMEM;
    int stop = 0;
    while (st == LORE_OK && !stop && limit) {
        size_t want = page_of(limit);
        pg_params p = {0};
        pg_param_text(&p, source);
        pg_param_text(&p, cursor);
        pg_param_i64(&p, (int64_t)want);
        if (below) pg_param_text(&p, below);
        PGresult *r = pg_call_exec(
            &k,
            below ? "SELECT rowid, external_id, content_hash FROM documents WHERE source=$1"
                    " AND external_id > $2 AND external_id < $4 ORDER BY external_id LIMIT $3"
                  : "SELECT rowid, external_id, content_hash FROM documents WHERE source=$1"
                    " AND external_id > $2 ORDER BY external_id LIMIT $3",
            &p, &st);
        if (!r) break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !stop; i++)
            stop = fn(ctx, pg_get_i64(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        if (rows && !stop) {
            free(cursor);
            if (!(cursor = strdup(PQgetvalue(r, rows - 1, 1)))) st = LORE_NOMEM;
        }
        PQclear(r);
        limit -= (size_t)rows;
        if ((size_t)rows < want) break;
    }
    free(cursor);
    return pg_call_end(&k, st);
}

lore_status pg_doc_rename(store_tenant *base, int64_t doc_rowid, const char *external_id) {
    pg_tenant *t = (pg_tenant *)base;
    if (t->in_tx != 1 || !external_id || !*external_id) return LORE_INVALID;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 1);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, doc_rowid);
    pg_param_text(&p, external_id);
    /* The source first (the public id hashes it with the new external id),
     * and whether another document of it has that external id: a failed
     * statement would abort the caller's whole transaction, which SQLite's
     * LORE_EXISTS does not. */
    PGresult *r = pg_call_exec(&k,
                               "SELECT d.source, EXISTS (SELECT 1 FROM documents o WHERE"
                               " o.source = d.source AND o.external_id = $2 AND o.rowid <> $1)"
                               " FROM documents d WHERE d.rowid = $1",
                               &p, &st);
    char id[STORE_DOC_ID_LEN + 1];
    if (r) {
        if (PQntuples(r) != 1)
            st = LORE_NOT_FOUND;
        else if (pg_get_i64(r, 0, 1))
            st = LORE_EXISTS;
        else
            store_doc_public_id(PQgetvalue(r, 0, 0), external_id, id);
        PQclear(r);
    }
    if (st == LORE_OK) {
        pg_params u = {0};
        pg_param_text(&u, id);
        pg_param_text(&u, external_id);
        pg_param_i64(&u, doc_rowid);
        PQclear(
            pg_call_exec(&k, "UPDATE documents SET id=$1, external_id=$2 WHERE rowid=$3", &u, &st));
    }
    return pg_call_end(&k, st);
}

lore_status pg_sources(store_tenant *base, const store_viewer *who, store_source_info **out,
                       size_t *n) {
    pg_tenant *t = (pg_tenant *)base;
    *out = NULL;
    *n = 0;
    char *joined = NULL;
    lore_status st = viewer_join(who, &joined);
    if (st != LORE_OK) return st;
    char sql[512], where[160] = "";
    if (joined) snprintf(where, sizeof where, " WHERE " VISIBLE_SQL, 1);
    snprintf(sql, sizeof sql,
             "SELECT d.source, count(*), max(CASE WHEN d.updated_ms > 0 THEN d.updated_ms"
             " ELSE d.indexed_ms END) FROM documents d%s GROUP BY d.source ORDER BY d.source",
             where);
    pg_call k;
    if ((st = pg_call_begin(t, &k, 0)) != LORE_OK) {
        free(joined);
        return st;
    }
    pg_params p = {0};
    if (joined) pg_param_text(&p, joined);
    PGresult *r = pg_call_exec_last(&k, sql, &p, &st);
    free(joined);
    st = pg_call_end(&k, st);
    if (st != LORE_OK) {
        PQclear(r);
        return st;
    }
    int rows = PQntuples(r);
    store_source_info *list = rows ? calloc((size_t)rows, sizeof *list) : NULL;
    if (rows && !list) st = LORE_NOMEM;
    for (int i = 0; i < rows && st == LORE_OK; i++) {
        int nomem = 0;
        list[i].source = pg_get_strdup(r, i, 0, &nomem);
        list[i].documents = pg_get_i64(r, i, 1);
        list[i].last_updated_ms = pg_get_i64(r, i, 2);
        if (nomem || !list[i].source) st = LORE_NOMEM;
    }
    PQclear(r);
    if (st != LORE_OK) {
        store_sources_free(list, (size_t)rows);
        return st;
    }
    *out = list;
    *n = (size_t)rows;
    return LORE_OK;
}

lore_status pg_counts(store_tenant *base, int64_t *docs, int64_t *chunks) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    PGresult *r = pg_call_exec_last(
        &k, "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)", NULL, &st);
    if (r) {
        *docs = pg_get_i64(r, 0, 0);
        *chunks = pg_get_i64(r, 0, 1);
        PQclear(r);
    }
    return pg_call_end(&k, st);
}

lore_status pg_disk_bytes(store_tenant *base, int64_t *bytes) {
    pg_tenant *t = (pg_tenant *)base;
    *bytes = 0;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_text(&p, t->schema);
    /* Tables with their indexes and out-of-line (TOAST) data. */
    PGresult *r = pg_call_exec_last(&k,
                                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint"
                                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                                    " WHERE n.nspname = $1 AND c.relkind = 'r'",
                                    &p, &st);
    if (r) {
        *bytes = pg_get_i64(r, 0, 0);
        PQclear(r);
    }
    return pg_call_end(&k, st);
}
