/* Embedded store: sealed secrets in the control database.
 *
 * Table (control migration 5, see sqlite_store.c):
 *   secrets(tenant, name, key_id, sealed BLOB, created_ms, updated_ms)
 *           PRIMARY KEY(tenant, name) WITHOUT ROWID; index on key_id.
 * tenant '' holds the server's secrets. The store never sees a clear value:
 * secrets/secrets.c seals before it writes and opens after it reads.
 *
 * Every call is one statement (autocommit), so each is atomic on its own:
 * a put checks that the tenant exists in the same statement that writes,
 * and a re-seal compares the old bytes in the statement that replaces them.
 * Secrets are few and rarely written; the statements are prepared per call. */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_COLUMNS "tenant, name, key_id, created_ms, updated_ms, sealed"

lore_status sqlite_secret_put(store *s_, const char *tenant, const char *name, const char *key_id,
                              const uint8_t *sealed, size_t len, int64_t now_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    lore_status st = store_secret_check_ref(tenant, name);
    if (st == LORE_OK) st = store_secret_check_value(key_id, sealed, len);
    if (st != LORE_OK) return st;
    /* The tenant check and the write are one statement: a tenant deleted
     * meanwhile cannot be left with a row (its delete removes the rows in
     * its own transaction, before or after this one). "WHERE 1" lets SQLite
     * parse the upsert after a SELECT. */
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        s->control,
        "INSERT INTO secrets(tenant, name, key_id, sealed, created_ms, updated_ms)"
        " SELECT ?1, ?2, ?3, ?4, ?5, ?5 WHERE 1 AND"
        " (?1 = '' OR EXISTS(SELECT 1 FROM tenants WHERE name = ?1))"
        " ON CONFLICT(tenant, name) DO UPDATE SET key_id = excluded.key_id,"
        " sealed = excluded.sealed, updated_ms = excluded.updated_ms",
        -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, key_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, sealed, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, now_ms);
        rc = sqlite3_step(q);
    }
    st = sqlite_status(rc);
    if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
    sqlite3_finalize(q);
    return st;
}

/* Fills x from a row of SECRET_COLUMNS; the sealed bytes when asked. */
static lore_status read_row(sqlite3_stmt *q, int with_sealed, store_secret *x) {
    memset(x, 0, sizeof *x);
    const char *tenant = (const char *)sqlite3_column_text(q, 0);
    const char *name = (const char *)sqlite3_column_text(q, 1);
    const char *key_id = (const char *)sqlite3_column_text(q, 2);
    /* A row that does not fit the record was not written by this code. */
    if (!tenant || !name || !key_id || strlen(tenant) > STORE_NAME_MAX ||
        strlen(name) > STORE_SECRET_NAME_MAX || strlen(key_id) > STORE_SECRET_KEY_ID_MAX)
        return LORE_CORRUPT;
    snprintf(x->tenant, sizeof x->tenant, "%s", tenant);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->key_id, sizeof x->key_id, "%s", key_id);
    x->created_ms = sqlite3_column_int64(q, 3);
    x->updated_ms = sqlite3_column_int64(q, 4);
    if (!with_sealed) return LORE_OK;
    const void *b = sqlite3_column_blob(q, 5);
    int n = sqlite3_column_bytes(q, 5);
    if (!b || n <= 0 || n > STORE_SECRET_SEALED_MAX) return LORE_CORRUPT;
    if (!(x->sealed = malloc((size_t)n))) return LORE_NOMEM;
    memcpy(x->sealed, b, (size_t)n);
    x->sealed_len = (size_t)n;
    return LORE_OK;
}

lore_status sqlite_secret_get(store *s_, const char *tenant, const char *name, store_secret *out) {
    sqlite_store *s = (sqlite_store *)s_;
    memset(out, 0, sizeof *out);
    if (store_secret_check_ref(tenant, name) != LORE_OK) return LORE_NOT_FOUND;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control,
                                "SELECT " SECRET_COLUMNS " FROM secrets WHERE tenant=? AND name=?",
                                -1, &q, NULL);
    lore_status st;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    if (rc == SQLITE_ROW)
        st = read_row(q, 1, out);
    else
        st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    if (st != LORE_OK) store_secret_clear(out);
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_secret_reseal(store *s_, const char *tenant, const char *name,
                                 const char *old_key_id, const uint8_t *old_sealed, size_t old_len,
                                 const char *key_id, const uint8_t *sealed, size_t len) {
    sqlite_store *s = (sqlite_store *)s_;
    lore_status st = store_secret_check_ref(tenant, name);
    if (st == LORE_OK) st = store_secret_check_value(old_key_id, old_sealed, old_len);
    if (st == LORE_OK) st = store_secret_check_value(key_id, sealed, len);
    if (st != LORE_OK) return st;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control,
                                "UPDATE secrets SET key_id=?5, sealed=?6"
                                " WHERE tenant=?1 AND name=?2 AND key_id=?3 AND sealed=?4",
                                -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, old_key_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, old_sealed, (int)old_len, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, key_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 6, sealed, (int)len, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    st = sqlite_status(rc);
    int changed = st == LORE_OK ? sqlite3_changes(s->control) : 0;
    sqlite3_finalize(q);
    if (st != LORE_OK || changed) return st;
    /* Nothing matched: the row changed (BUSY: the caller reads it again) or
     * went away. */
    store_secret cur;
    st = sqlite_secret_get(&s->base, tenant, name, &cur);
    store_secret_clear(&cur);
    return st == LORE_OK ? LORE_BUSY : st;
}

lore_status sqlite_secret_delete(store *s_, const char *tenant, const char *name) {
    sqlite_store *s = (sqlite_store *)s_;
    if (store_secret_check_ref(tenant, name) != LORE_OK) return LORE_NOT_FOUND;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, "DELETE FROM secrets WHERE tenant=? AND name=?", -1, &q,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    lore_status st = sqlite_status(rc);
    if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_secret_list(store *s_, const char *tenant, const char *after_tenant,
                               const char *after_name, size_t limit, int with_sealed,
                               store_secret **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    if (tenant && !store_secret_tenant_ok(tenant)) return LORE_OK; /* no such tenant has secrets */
    if (limit == 0) return LORE_OK;
    if (limit > 100000) limit = 100000;
    sqlite3_stmt *q = NULL;
    store_secret *list = NULL;
    size_t count = 0, cap = 0;
    /* Row values compare (tenant, name) as a pair, in the primary key's
     * order, so a page resumes exactly after the last row seen. */
    int rc = sqlite3_prepare_v2(s->control,
                                "SELECT " SECRET_COLUMNS " FROM secrets"
                                " WHERE (?1 IS NULL OR tenant = ?1)"
                                " AND (?2 IS NULL OR (tenant, name) > (?2, ?3))"
                                " ORDER BY tenant, name LIMIT ?4",
                                -1, &q, NULL);
    lore_status st = sqlite_status(rc);
    if (rc != SQLITE_OK) goto out;
    if (tenant) sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    if (after_tenant) {
        sqlite3_bind_text(q, 2, after_tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, after_name ? after_name : "", -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(q, 4, (int64_t)limit);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_secret *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                st = LORE_NOMEM;
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        if ((st = read_row(q, with_sealed, &list[count])) != LORE_OK) {
            store_secret_clear(&list[count]);
            goto out;
        }
        count++;
    }
    st = rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
out:
    sqlite3_finalize(q);
    if (st != LORE_OK) { /* the caller gets nothing, not a partial list */
        store_secrets_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}
