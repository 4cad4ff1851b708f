/* Embedded store: documents by external id range (folder syncs) and
 * renames. Statements are prepared per call: a sync makes few of these
 * calls compared with its document writes. */
#include "store/sqlite/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

lore_status sqlite_doc_scan_external(store_tenant *t_, const char *source, const char *from,
                                     const char *below, size_t limit, store_doc_ref_fn fn,
                                     void *ctx) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = NULL;
    const char *sql = below ? "SELECT rowid, external_id, content_hash FROM documents"
                              " WHERE source=?1 AND external_id>?2 AND external_id<?3"
                              " ORDER BY external_id LIMIT ?4"
                            : "SELECT rowid, external_id, content_hash FROM documents"
                              " WHERE source=?1 AND external_id>?2"
                              " ORDER BY external_id LIMIT ?4";
    int rc = sqlite3_prepare_v2(t->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) return sqlite_status(rc);
    sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, from ? from : "", -1, SQLITE_STATIC);
    if (below) sqlite3_bind_text(q, 3, below, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)limit);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *ext = (const char *)sqlite3_column_text(q, 1);
        const char *hash = (const char *)sqlite3_column_text(q, 2);
        if (fn(ctx, sqlite3_column_int64(q, 0), ext ? ext : "", hash ? hash : "")) break;
    }
    lore_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_doc_rename(store_tenant *t_, int64_t doc_rowid, const char *external_id) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 1 || !external_id || !*external_id) return LORE_INVALID;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(t->db, "UPDATE documents SET id=?1, external_id=?2 WHERE rowid=?3",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) return sqlite_status(rc);
    /* The public id hashes the source with the new external id; read the
     * source first so the id is right. */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(t->db, "SELECT source FROM documents WHERE rowid=?", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(q);
        return sqlite_status(rc);
    }
    sqlite3_bind_int64(s, 1, doc_rowid);
    lore_status st = LORE_NOT_FOUND;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        char id[STORE_DOC_ID_LEN + 1];
        store_doc_public_id((const char *)sqlite3_column_text(s, 0), external_id, id);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, external_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, doc_rowid);
        rc = sqlite3_step(q);
        st = rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    } else if (rc != SQLITE_DONE) {
        st = sqlite_status(rc);
    }
    sqlite3_finalize(s);
    sqlite3_finalize(q);
    return st;
}
