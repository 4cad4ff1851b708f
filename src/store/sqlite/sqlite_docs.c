/* Embedded store: the tenant database (documents, chunks, index key-values).
 *
 * Tenant schema (migration 1):
 *   documents(rowid, id UNIQUE, source, external_id, title, url, author,
 *             created_ms, updated_ms, indexed_ms, content_hash, metadata,
 *             acl, body)           UNIQUE(source, external_id)
 *     acl is the principals joined by "\n" ('' = whole tenant); body is the
 *     document text and is the last column so reading the other fields never
 *     touches its overflow pages.
 *   chunks(id AUTOINCREMENT, doc -> documents ON DELETE CASCADE, ordinal,
 *          start, end, section, ntokens, nterms)
 *     Chunk ids only grow (AUTOINCREMENT never reuses one); the lexical
 *     index relies on that to keep its segments in id order.
 *   kv(ns, key, value) WITHOUT ROWID: index structures (see store.h). */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

const char *const sqlite_tenant_migrations[] = {
    "CREATE TABLE documents("
    " rowid INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " source TEXT NOT NULL,"
    " external_id TEXT NOT NULL,"
    " title TEXT, url TEXT, author TEXT,"
    " created_ms INTEGER NOT NULL DEFAULT 0,"
    " updated_ms INTEGER NOT NULL DEFAULT 0,"
    " indexed_ms INTEGER NOT NULL,"
    " content_hash TEXT NOT NULL,"
    " metadata TEXT,"
    " acl TEXT NOT NULL DEFAULT '',"
    " body TEXT NOT NULL,"
    " UNIQUE(source, external_id));"
    "CREATE INDEX documents_source ON documents(source, rowid);"
    "CREATE TABLE chunks("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " doc INTEGER NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,"
    " ordinal INTEGER NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL,"
    " section TEXT NOT NULL DEFAULT '',"
    " ntokens INTEGER NOT NULL, nterms INTEGER NOT NULL);"
    "CREATE INDEX chunks_doc ON chunks(doc, ordinal);"
    "CREATE TABLE kv(ns INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY(ns, key)) WITHOUT ROWID;",
};
const size_t sqlite_tenant_migration_count =
    sizeof sqlite_tenant_migrations / sizeof sqlite_tenant_migrations[0];

static const char *const statement_sql[ST_COUNT] = {
    [ST_DOC_LOOKUP] = "SELECT rowid, content_hash FROM documents WHERE source=? AND external_id=?",
    [ST_DOC_INSERT] = "INSERT INTO documents(id, source, external_id, title, url, author,"
                      " created_ms, updated_ms, indexed_ms, content_hash, metadata, acl, body)"
                      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_DOC_UPDATE] = "UPDATE documents SET id=?, source=?, external_id=?, title=?, url=?,"
                      " author=?, created_ms=?, updated_ms=?, indexed_ms=?, content_hash=?,"
                      " metadata=?, acl=?, body=? WHERE rowid=?",
    [ST_DOC_CHUNKS_DELETE] = "DELETE FROM chunks WHERE doc=?",
    [ST_CHUNK_INSERT] = "INSERT INTO chunks(doc, ordinal, start, end, section, ntokens, nterms,"
                        " id) VALUES(?,?,?,?,?,?,?,?)",
    [ST_DOC_CHUNK_LENS] = "SELECT id, nterms FROM chunks WHERE doc=? ORDER BY ordinal",
    [ST_DOC_DELETE] = "DELETE FROM documents WHERE rowid=?",
    [ST_DOC_GET_ID] = "SELECT rowid, id, source, external_id, title, url, author, created_ms,"
                      " updated_ms, indexed_ms, content_hash, metadata, acl,"
                      " (SELECT count(*) FROM chunks WHERE doc=documents.rowid),"
                      " CASE WHEN ?2 THEN body END FROM documents WHERE id=?1",
    [ST_DOC_GET_ROWID] = "SELECT rowid, id, source, external_id, title, url, author, created_ms,"
                         " updated_ms, indexed_ms, content_hash, metadata, acl,"
                         " (SELECT count(*) FROM chunks WHERE doc=documents.rowid),"
                         " CASE WHEN ?2 THEN body END FROM documents WHERE rowid=?1",
    [ST_CHUNK_GET] = "SELECT c.doc, c.ordinal, c.start, c.end, c.section,"
                     " substr(CAST(d.body AS BLOB), c.start + 1, c.end - c.start)"
                     " FROM chunks c JOIN documents d ON d.rowid = c.doc WHERE c.id=?",
    [ST_CHUNK_OWNER] = "SELECT d.rowid, d.source, CASE WHEN d.updated_ms > 0 THEN d.updated_ms"
                       " ELSE d.indexed_ms END, d.author, d.acl, d.title, d.metadata"
                       " FROM chunks c JOIN documents d ON d.rowid = c.doc WHERE c.id=?",
    [ST_CHUNK_DOC] = "SELECT doc FROM chunks WHERE id=?",
    [ST_CHUNK_SCAN] =
        "SELECT id, nterms, doc, start, end FROM chunks WHERE id>? ORDER BY id LIMIT ?",
    [ST_CHUNK_SCAN_DOC] = "SELECT title, body FROM documents WHERE rowid=?",
    [ST_CHUNK_SET_NTERMS] = "UPDATE chunks SET nterms=? WHERE id=?",
    [ST_KV_PUT] = "INSERT OR REPLACE INTO kv(ns, key, value) VALUES(?,?,?)",
    [ST_KV_GET] = "SELECT value FROM kv WHERE ns=? AND key=?",
    [ST_KV_DELETE] = "DELETE FROM kv WHERE ns=? AND key=?",
    [ST_KV_DELETE_RANGE] = "DELETE FROM kv WHERE ns=? AND key>=? AND key<?",
    [ST_KV_DELETE_FROM] = "DELETE FROM kv WHERE ns=? AND key>=?",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

lore_status sqlite_tenant_prepare(sqlite_tenant *t) {
    lore_status fst = sqlite_register_functions(t->db);
    if (fst != LORE_OK) return fst;
    for (int i = 0; i < ST_COUNT; i++) {
        int rc = sqlite3_prepare_v3(t->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &t->st[i], NULL);
        if (rc != SQLITE_OK) return sqlite_status(rc);
    }
    return LORE_OK;
}

/* Runs a statement that returns no rows and resets it. */
static lore_status run(sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? LORE_OK : sqlite_status(rc);
}

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *s) {
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static char *col_strdup(sqlite3_stmt *q, int i) {
    const unsigned char *s = sqlite3_column_text(q, i);
    return s ? strdup((const char *)s) : NULL;
}

lore_status sqlite_doc_lookup(store_tenant *t_, const char *source, const char *external_id,
                              int64_t *rowid, char *hash) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_DOC_LOOKUP];
    sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, external_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    lore_status st = LORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        if (rowid) *rowid = sqlite3_column_int64(q, 0);
        if (hash) {
            const unsigned char *h = sqlite3_column_text(q, 1);
            snprintf(hash, 65, "%s", h ? (const char *)h : "");
        }
        st = LORE_OK;
    } else if (rc != SQLITE_DONE) {
        st = sqlite_status(rc);
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return st;
}

char *sqlite_list_join(const char *const *items, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = '\n';
        size_t l = strlen(items[i]);
        memcpy(p, items[i], l);
        p += l;
    }
    *p = '\0';
    return s;
}

lore_status sqlite_reserve_chunk_ids(store_tenant *t_, size_t n, int64_t *first) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 1) return LORE_INVALID;
    if (!t->next_chunk) {
        /* AUTOINCREMENT's high-water mark covers deleted rows too. */
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(t->db,
                                    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE"
                                    " name='chunks'), 0), coalesce((SELECT max(id) FROM chunks),"
                                    " 0))",
                                    -1, &q, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            t->next_chunk = sqlite3_column_int64(q, 0) + 1;
            rc = SQLITE_OK;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_OK) return sqlite_status(rc);
    }
    *first = t->next_chunk;
    t->next_chunk += (int64_t)n;
    return LORE_OK;
}

lore_status sqlite_doc_put(store_tenant *t_, store_doc *doc, const store_chunk_in *chunks,
                           size_t n) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 1 || !doc->source || !doc->external_id || !doc->text) return LORE_INVALID;
    int64_t rowid = 0;
    lore_status st = sqlite_doc_lookup(&t->base, doc->source, doc->external_id, &rowid, NULL);
    if (st != LORE_OK && st != LORE_NOT_FOUND) return st;
    int exists = st == LORE_OK;
    char *acl = sqlite_list_join((const char *const *)doc->acl, doc->nacl);
    if (!acl) return LORE_NOMEM;
    store_doc_public_id(doc->source, doc->external_id, doc->id);
    doc->indexed_ms = lore_now_ms();
    sqlite3_stmt *q = t->st[exists ? ST_DOC_UPDATE : ST_DOC_INSERT];
    sqlite3_bind_text(q, 1, doc->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, doc->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, doc->external_id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, doc->title);
    bind_text_or_null(q, 5, doc->url);
    bind_text_or_null(q, 6, doc->author);
    sqlite3_bind_int64(q, 7, doc->created_ms);
    sqlite3_bind_int64(q, 8, doc->updated_ms);
    sqlite3_bind_int64(q, 9, doc->indexed_ms);
    sqlite3_bind_text(q, 10, doc->content_hash, -1, SQLITE_STATIC);
    bind_text_or_null(q, 11, doc->metadata_json);
    sqlite3_bind_text(q, 12, acl, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 13, doc->text, (int)doc->text_len, SQLITE_STATIC);
    if (exists) sqlite3_bind_int64(q, 14, rowid);
    st = run(q);
    free(acl);
    if (st != LORE_OK) return st;
    if (exists) {
        sqlite3_stmt *d = t->st[ST_DOC_CHUNKS_DELETE];
        sqlite3_bind_int64(d, 1, rowid);
        if ((st = run(d)) != LORE_OK) return st;
    } else {
        rowid = sqlite3_last_insert_rowid(t->db);
    }
    doc->rowid = rowid;
    sqlite3_stmt *ci = t->st[ST_CHUNK_INSERT];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(ci, 1, rowid);
        sqlite3_bind_int64(ci, 2, (int64_t)i);
        sqlite3_bind_int64(ci, 3, chunks[i].start);
        sqlite3_bind_int64(ci, 4, chunks[i].end);
        sqlite3_bind_text(ci, 5, chunks[i].section ? chunks[i].section : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ci, 6, chunks[i].ntokens);
        sqlite3_bind_int64(ci, 7, chunks[i].nterms);
        sqlite3_bind_int64(ci, 8, chunks[i].id);
        if ((st = run(ci)) != LORE_OK) return st;
    }
    doc->nchunks = (int64_t)n;
    return LORE_OK;
}

lore_status sqlite_doc_chunks(store_tenant *t_, int64_t doc_rowid, store_chunk_len_fn fn,
                              void *ctx) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_DOC_CHUNK_LENS];
    sqlite3_bind_int64(q, 1, doc_rowid);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (fn(ctx, sqlite3_column_int64(q, 0), (uint32_t)sqlite3_column_int64(q, 1))) break;
    }
    lore_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    sqlite3_reset(q);
    return st;
}

lore_status sqlite_doc_delete(store_tenant *t_, int64_t doc_rowid) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_DOC_DELETE];
    sqlite3_bind_int64(q, 1, doc_rowid);
    lore_status st = run(q);
    if (st == LORE_OK && sqlite3_changes(t->db) == 0) st = LORE_NOT_FOUND;
    return st;
}

lore_status sqlite_list_split(const char *joined, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!joined || !*joined) return LORE_OK;
    size_t count = 1;
    for (const char *p = joined; *p; p++)
        count += *p == '\n';
    char **list = calloc(count, sizeof *list);
    if (!list) return LORE_NOMEM;
    const char *start = joined;
    for (size_t i = 0; i < count; i++) {
        const char *nl = strchr(start, '\n');
        size_t len = nl ? (size_t)(nl - start) : strlen(start);
        list[i] = strndup(start, len);
        if (!list[i]) {
            for (size_t j = 0; j < i; j++)
                free(list[j]);
            free(list);
            return LORE_NOMEM;
        }
        start = nl ? nl + 1 : start + len;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

static lore_status read_doc(sqlite3_stmt *q, store_doc **out) {
    int rc = sqlite3_step(q);
    lore_status st = LORE_NOT_FOUND;
    store_doc *d = NULL;
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE) st = sqlite_status(rc);
        goto out;
    }
    st = LORE_NOMEM;
    if (!(d = calloc(1, sizeof *d))) goto out;
    d->rowid = sqlite3_column_int64(q, 0);
    snprintf(d->id, sizeof d->id, "%s", (const char *)sqlite3_column_text(q, 1));
    d->source = col_strdup(q, 2);
    d->external_id = col_strdup(q, 3);
    d->title = col_strdup(q, 4);
    d->url = col_strdup(q, 5);
    d->author = col_strdup(q, 6);
    d->created_ms = sqlite3_column_int64(q, 7);
    d->updated_ms = sqlite3_column_int64(q, 8);
    d->indexed_ms = sqlite3_column_int64(q, 9);
    snprintf(d->content_hash, sizeof d->content_hash, "%s",
             (const char *)sqlite3_column_text(q, 10));
    d->metadata_json = col_strdup(q, 11);
    if (sqlite_list_split((const char *)sqlite3_column_text(q, 12), &d->acl, &d->nacl) != LORE_OK)
        goto out;
    d->nchunks = sqlite3_column_int64(q, 13);
    if (sqlite3_column_type(q, 14) != SQLITE_NULL) {
        d->text_len = (size_t)sqlite3_column_bytes(q, 14);
        if (!(d->text = col_strdup(q, 14))) goto out;
    }
    if (!d->source || !d->external_id) goto out;
    st = LORE_OK;
out:
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (st != LORE_OK) {
        store_doc_free(d);
        d = NULL;
    }
    *out = d;
    return st;
}

lore_status sqlite_doc_get(store_tenant *t_, const char *id, int with_text, store_doc **out) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_DOC_GET_ID];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, with_text);
    return read_doc(q, out);
}

lore_status sqlite_doc_get_rowid(store_tenant *t_, int64_t rowid, int with_text, store_doc **out) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_DOC_GET_ROWID];
    sqlite3_bind_int64(q, 1, rowid);
    sqlite3_bind_int(q, 2, with_text);
    return read_doc(q, out);
}

/* SQL function lore_visible(acl, principals): 1 when acl (principals joined
 * by "\n", '' = whole tenant) shares a principal with the second argument
 * (joined the same way). Lets listings and counts filter inside SQLite, so
 * totals never include what the viewer may not see. */
static void sql_visible(sqlite3_context *cx, int argc, sqlite3_value **argv) {
    (void)argc;
    const char *acl = (const char *)sqlite3_value_text(argv[0]);
    const char *who = (const char *)sqlite3_value_text(argv[1]);
    if (!acl || !*acl) {
        sqlite3_result_int(cx, 1);
        return;
    }
    if (!who) who = "";
    for (const char *p = acl; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        for (const char *w = who; *w;) {
            const char *wn = strchr(w, '\n');
            size_t wl = wn ? (size_t)(wn - w) : strlen(w);
            if (wl == len && !memcmp(w, p, len)) {
                sqlite3_result_int(cx, 1);
                return;
            }
            if (!wn) break;
            w = wn + 1;
        }
        if (!nl) break;
        p = nl + 1;
    }
    sqlite3_result_int(cx, 0);
}

lore_status sqlite_register_functions(sqlite3 *db) {
    return sqlite_status(sqlite3_create_function(
        db, "lore_visible", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_visible, NULL, NULL));
}

/* Principals joined by "\n" for lore_visible; NULL when the viewer sees all. */
static lore_status viewer_join(const store_viewer *who, char **out) {
    *out = NULL;
    if (!who || who->all_access) return LORE_OK;
    *out = sqlite_list_join(who->principals, who->nprincipals);
    return *out ? LORE_OK : LORE_NOMEM;
}

lore_status sqlite_doc_list(store_tenant *t_, const store_viewer *who, const char *source,
                            int64_t after, size_t limit, store_doc_fn fn, void *ctx) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = NULL;
    char *joined = NULL;
    lore_status st = viewer_join(who, &joined);
    if (st != LORE_OK) return st;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT rowid FROM documents WHERE rowid>?1%s%s ORDER BY rowid LIMIT ?3",
             source ? " AND source=?2" : "", joined ? " AND lore_visible(acl, ?4)" : "");
    int rc = sqlite3_prepare_v2(t->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        free(joined);
        return sqlite_status(rc);
    }
    sqlite3_bind_int64(q, 1, after);
    if (source) sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)limit);
    if (joined) sqlite3_bind_text(q, 4, joined, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        store_doc *d = NULL;
        st = sqlite_doc_get_rowid(&t->base, sqlite3_column_int64(q, 0), 0, &d);
        if (st != LORE_OK) break;
        int stop = fn(ctx, d);
        store_doc_free(d);
        if (stop) break;
    }
    if (st == LORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) st = sqlite_status(rc);
    sqlite3_finalize(q);
    free(joined);
    return st;
}

lore_status sqlite_chunk_get(store_tenant *t_, int64_t chunk_id, store_chunk *out) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q = t->st[ST_CHUNK_GET];
    sqlite3_bind_int64(q, 1, chunk_id);
    int rc = sqlite3_step(q);
    lore_status st = LORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        out->id = chunk_id;
        out->doc_rowid = sqlite3_column_int64(q, 0);
        out->ordinal = (uint32_t)sqlite3_column_int64(q, 1);
        out->start = (uint32_t)sqlite3_column_int64(q, 2);
        out->end = (uint32_t)sqlite3_column_int64(q, 3);
        out->section = col_strdup(q, 4);
        const void *b = sqlite3_column_blob(q, 5);
        out->text_len = (size_t)sqlite3_column_bytes(q, 5);
        out->text = malloc(out->text_len + 1);
        if (out->text && out->section) {
            if (out->text_len) memcpy(out->text, b, out->text_len);
            out->text[out->text_len] = '\0';
            st = LORE_OK;
        } else {
            st = LORE_NOMEM;
        }
    } else if (rc != SQLITE_DONE) {
        st = sqlite_status(rc);
    }
    sqlite3_reset(q);
    if (st != LORE_OK) store_chunk_clear(out);
    return st;
}

lore_status sqlite_chunk_owner_get(store_tenant *t_, int64_t chunk_id, store_chunk_owner *out) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_CHUNK_OWNER];
    sqlite3_reset(q); /* releases the strings lent by the previous call */
    sqlite3_bind_int64(q, 1, chunk_id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    }
    out->doc_rowid = sqlite3_column_int64(q, 0);
    out->source = (const char *)sqlite3_column_text(q, 1);
    out->updated_ms = sqlite3_column_int64(q, 2);
    out->author = (const char *)sqlite3_column_text(q, 3);
    out->acl_joined = (const char *)sqlite3_column_text(q, 4);
    if (!out->acl_joined) out->acl_joined = "";
    out->title = (const char *)sqlite3_column_text(q, 5);
    out->metadata_json = (const char *)sqlite3_column_text(q, 6);
    return LORE_OK;
}

lore_status sqlite_chunk_doc(store_tenant *t_, int64_t chunk_id, int64_t *doc_rowid) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_CHUNK_DOC];
    sqlite3_bind_int64(q, 1, chunk_id);
    int rc = sqlite3_step(q);
    lore_status st = rc == SQLITE_ROW    ? LORE_OK
                     : rc == SQLITE_DONE ? LORE_NOT_FOUND
                                         : sqlite_status(rc);
    if (rc == SQLITE_ROW) *doc_rowid = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return st;
}

/* Positions q (ST_CHUNK_SCAN_DOC) on a document's row; its title and body
 * stay readable until the next reset, so a document's chunks, which come
 * one after the other in id order, read its text once. */
static lore_status scan_doc(sqlite3_stmt *q, int64_t doc, const char **title, size_t *title_len,
                            const char **body, size_t *body_len) {
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, doc);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? LORE_CORRUPT : sqlite_status(rc);
    *title = (const char *)sqlite3_column_text(q, 0);
    *title_len = (size_t)sqlite3_column_bytes(q, 0);
    *body = sqlite3_column_blob(q, 1);
    *body_len = (size_t)sqlite3_column_bytes(q, 1);
    if (!*body) *body = "";
    return LORE_OK;
}

lore_status sqlite_chunk_scan(store_tenant *t_, int64_t after_id, size_t limit,
                              store_chunk_scan_fn fn, void *ctx) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_CHUNK_SCAN], *dq = t->st[ST_CHUNK_SCAN_DOC];
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    const char *title = NULL, *body = NULL;
    size_t title_len = 0, body_len = 0;
    int64_t cur_doc = 0;
    lore_status st = LORE_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t doc = sqlite3_column_int64(q, 2);
        int64_t start = sqlite3_column_int64(q, 3), end = sqlite3_column_int64(q, 4);
        if (doc != cur_doc || !body) {
            st = scan_doc(dq, doc, &title, &title_len, &body, &body_len);
            if (st != LORE_OK) break;
            cur_doc = doc;
        }
        if (start < 0 || end < start || (uint64_t)end > body_len) {
            st = LORE_CORRUPT;
            break;
        }
        if (fn(ctx, sqlite3_column_int64(q, 0), (uint32_t)sqlite3_column_int64(q, 1), title,
               title ? title_len : 0, body + start, (size_t)(end - start)))
            break;
    }
    if (st == LORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) st = sqlite_status(rc);
    sqlite3_reset(q);
    sqlite3_reset(dq);
    return st;
}

lore_status sqlite_chunk_set_nterms(store_tenant *t_, int64_t chunk_id, uint32_t nterms) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 1) return LORE_INVALID;
    sqlite3_stmt *q = t->st[ST_CHUNK_SET_NTERMS];
    sqlite3_bind_int64(q, 1, nterms);
    sqlite3_bind_int64(q, 2, chunk_id);
    lore_status st = run(q);
    if (st == LORE_OK && sqlite3_changes(t->db) == 0) st = LORE_NOT_FOUND;
    return st;
}

lore_status sqlite_sources(store_tenant *t_, const store_viewer *who, store_source_info **out,
                           size_t *n) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    char *joined = NULL;
    lore_status vst = viewer_join(who, &joined);
    if (vst != LORE_OK) return vst;
    int rc =
        sqlite3_prepare_v2(t->db,
                           joined ? "SELECT source, count(*), max(CASE WHEN updated_ms > 0 THEN"
                                    " updated_ms ELSE indexed_ms END) FROM documents"
                                    " WHERE lore_visible(acl, ?1) GROUP BY source"
                                    " ORDER BY source"
                                  : "SELECT source, count(*), max(CASE WHEN updated_ms > 0 THEN"
                                    " updated_ms ELSE indexed_ms END) FROM documents"
                                    " GROUP BY source ORDER BY source",
                           -1, &q, NULL);
    if (rc != SQLITE_OK) {
        free(joined);
        return sqlite_status(rc);
    }
    if (joined) sqlite3_bind_text(q, 1, joined, -1, SQLITE_STATIC);
    store_source_info *list = NULL;
    size_t cap = 0;
    lore_status st = LORE_OK;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            store_source_info *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                st = LORE_NOMEM;
                break;
            }
            list = nl;
        }
        store_source_info *si = &list[*n];
        si->source = col_strdup(q, 0);
        si->documents = sqlite3_column_int64(q, 1);
        si->last_updated_ms = sqlite3_column_int64(q, 2);
        (*n)++;
        if (!si->source) {
            st = LORE_NOMEM;
            break;
        }
    }
    if (st == LORE_OK && rc != SQLITE_DONE) st = sqlite_status(rc);
    sqlite3_finalize(q);
    free(joined);
    if (st != LORE_OK) {
        store_sources_free(list, *n);
        *n = 0;
        return st;
    }
    *out = list;
    return LORE_OK;
}

lore_status sqlite_counts(store_tenant *t_, int64_t *docs, int64_t *chunks) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        t->db, "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)", -1, &q,
        NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        *docs = sqlite3_column_int64(q, 0);
        *chunks = sqlite3_column_int64(q, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return sqlite_status(rc);
}
