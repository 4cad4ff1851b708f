/* Embedded store: browser sessions in the control database.
 *
 * Table (control migration 7, see sqlite_store.c):
 *   sessions(hash PRIMARY KEY, key_id, tenant, created_ms, expires_ms)
 *            WITHOUT ROWID; indexes on key_id (revocation) and expires_ms
 *            (the sweep at each new session).
 * The lookup runs on every request a browser makes, and prepares its
 * statement each time: a few microseconds beside the key lookup that
 * follows it. */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* Runs one statement whose only argument is the text a. */
static lore_status run1(sqlite_store *s, const char *sql, const char *a) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return sqlite_status(rc);
}

lore_status sqlite_session_put(store *s_, const store_session *x) {
    sqlite_store *s = (sqlite_store *)s_;
    if (!store_is_lower_hex(x->hash, 64) || !store_is_lower_hex(x->key_id, STORE_KEY_ID_LEN) ||
        !store_tenant_name_valid(x->tenant) || x->created_ms <= 0 || x->expires_ms <= x->created_ms)
        return LORE_INVALID;
    sqlite3_stmt *q = NULL;
    int rc =
        sqlite3_prepare_v2(s->control, "DELETE FROM sessions WHERE expires_ms <= ?", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, x->created_ms);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite_status(rc) != LORE_OK) return sqlite_status(rc);
    rc = sqlite3_prepare_v2(s->control,
                            "INSERT INTO sessions(hash, key_id, tenant, created_ms, expires_ms)"
                            " VALUES(?,?,?,?,?)",
                            -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, x->hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, x->key_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, x->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, x->created_ms);
        sqlite3_bind_int64(q, 5, x->expires_ms);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return sqlite_status(rc);
}

lore_status sqlite_session_get(store *s_, const char *hash, store_session *out) {
    sqlite_store *s = (sqlite_store *)s_;
    memset(out, 0, sizeof *out);
    if (!store_is_lower_hex(hash, 64)) return LORE_NOT_FOUND;
    sqlite3_stmt *q = NULL;
    lore_status st;
    int rc = sqlite3_prepare_v2(
        s->control, "SELECT key_id, tenant, created_ms, expires_ms FROM sessions WHERE hash=?", -1,
        &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    if (rc == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(q, 0);
        const char *tenant = (const char *)sqlite3_column_text(q, 1);
        if (!key || !tenant || strlen(key) != STORE_KEY_ID_LEN || strlen(tenant) > STORE_NAME_MAX) {
            st = LORE_CORRUPT;
        } else {
            memcpy(out->hash, hash, 65);
            memcpy(out->key_id, key, STORE_KEY_ID_LEN + 1);
            snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
            out->created_ms = sqlite3_column_int64(q, 2);
            out->expires_ms = sqlite3_column_int64(q, 3);
            st = LORE_OK;
        }
    } else {
        st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    }
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_session_delete(store *s_, const char *hash) {
    sqlite_store *s = (sqlite_store *)s_;
    if (!store_is_lower_hex(hash, 64)) return LORE_NOT_FOUND;
    lore_status st = run1(s, "DELETE FROM sessions WHERE hash=?", hash);
    if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
    return st;
}
