/* Embedded store: API key records in the control database.
 *
 * Table (control migration 2, see sqlite_store.c):
 *   api_keys(id PRIMARY KEY, tenant -> tenants ON DELETE CASCADE, name,
 *            scopes, principals, hash, created_ms, expires_ms, revoked_ms)
 *            WITHOUT ROWID; index on (tenant, created_ms) for listings.
 *   principals are joined by "\n" ('' = none), as document ACLs are.
 *
 * store_key_get runs on every authenticated request, so its statement is
 * prepared once per store and kept on it; the other calls are rare (CLI,
 * admin API) and prepare their own. Like the rest of the store, a store
 * handle is used by one thread at a time. */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_COLUMNS "id, tenant, name, scopes, principals, hash, created_ms, expires_ms, revoked_ms"

/* Fills k from the current row of a statement selecting KEY_COLUMNS. On
 * failure k holds nothing that needs freeing. */
static lore_status read_key(sqlite3_stmt *q, store_key *k) {
    memset(k, 0, sizeof *k);
    const char *id = (const char *)sqlite3_column_text(q, 0);
    const char *tenant = (const char *)sqlite3_column_text(q, 1);
    const char *name = (const char *)sqlite3_column_text(q, 2);
    const char *hash = (const char *)sqlite3_column_text(q, 5);
    /* A row that does not fit the record was not written by this code. */
    if (!id || !tenant || !hash || strlen(id) != STORE_KEY_ID_LEN ||
        strlen(tenant) > STORE_NAME_MAX || strlen(hash) != 64)
        return LORE_CORRUPT;
    memcpy(k->id, id, STORE_KEY_ID_LEN + 1);
    snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
    memcpy(k->hash, hash, 65);
    k->scopes = (unsigned)sqlite3_column_int64(q, 3);
    k->created_ms = sqlite3_column_int64(q, 6);
    k->expires_ms = sqlite3_column_int64(q, 7);
    k->revoked_ms = sqlite3_column_int64(q, 8);
    lore_status st = LORE_NOMEM;
    if (name && !(k->name = strdup(name))) goto out;
    st =
        sqlite_list_split((const char *)sqlite3_column_text(q, 4), &k->principals, &k->nprincipals);
out:
    if (st != LORE_OK) store_key_clear(k); /* nothing half-filled escapes */
    return st;
}

lore_status sqlite_key_put(store *s_, const store_key *k) {
    sqlite_store *s = (sqlite_store *)s_;
    sqlite3_stmt *q = NULL;
    char *joined = NULL;
    int rc = SQLITE_OK;
    lore_status st = store_key_check(k);
    if (st != LORE_OK) goto out;
    st = LORE_NOMEM;
    if (!(joined = sqlite_list_join((const char *const *)k->principals, k->nprincipals))) goto out;
    rc = sqlite3_prepare_v2(s->control,
                            "INSERT INTO api_keys(" KEY_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?)", -1,
                            &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, k->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, k->tenant, -1, SQLITE_STATIC);
        if (k->name)
            sqlite3_bind_text(q, 3, k->name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(q, 3);
        sqlite3_bind_int64(q, 4, (int64_t)k->scopes);
        sqlite3_bind_text(q, 5, joined, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, k->hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, k->created_ms);
        sqlite3_bind_int64(q, 8, k->expires_ms);
        sqlite3_bind_int64(q, 9, k->revoked_ms);
        rc = sqlite3_step(q);
    }
    /* The two constraints tell the caller different things: a taken id is
     * retried with a new one, a missing tenant is the caller's mistake. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        st = sqlite3_extended_errcode(s->control) == SQLITE_CONSTRAINT_FOREIGNKEY ? LORE_NOT_FOUND
                                                                                  : LORE_EXISTS;
    else
        st = sqlite_status(rc);
out:
    sqlite3_finalize(q);
    free(joined);
    return st; /* on failure nothing was written */
}

lore_status sqlite_key_get(store *s_, const char *id, store_key **out) {
    sqlite_store *s = (sqlite_store *)s_;
    store_key *k = NULL;
    lore_status st = LORE_NOT_FOUND;
    int rc;
    if (!store_is_lower_hex(id, STORE_KEY_ID_LEN)) goto out;
    if (!s->key_get) {
        rc = sqlite3_prepare_v3(s->control,
                                "SELECT " KEY_COLUMNS ", (SELECT t.created_ms FROM tenants t"
                                " WHERE t.name = api_keys.tenant) FROM api_keys WHERE id=?",
                                -1, SQLITE_PREPARE_PERSISTENT, &s->key_get, NULL);
        if (rc != SQLITE_OK) {
            st = sqlite_status(rc);
            goto out;
        }
    }
    sqlite3_bind_text(s->key_get, 1, id, STORE_KEY_ID_LEN, SQLITE_STATIC);
    rc = sqlite3_step(s->key_get);
    if (rc != SQLITE_ROW) {
        st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    } else if (!(k = malloc(sizeof *k))) {
        st = LORE_NOMEM;
    } else if ((st = read_key(s->key_get, k)) != LORE_OK) {
        free(k);
        k = NULL;
    } else {
        k->tenant_created_ms = sqlite3_column_int64(s->key_get, 9);
    }
    /* Reset at once: a statement left on a row would hold a read snapshot
     * until the next request and hide revocations committed meanwhile. */
    sqlite3_reset(s->key_get);
    sqlite3_clear_bindings(s->key_get);
out:
    *out = k; /* NULL on any failure */
    return st;
}

lore_status sqlite_key_list(store *s_, const char *tenant, store_key **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    store_key *list = NULL;
    size_t count = 0, cap = 0;
    sqlite3_stmt *q = NULL;
    lore_status st = LORE_OK;
    int rc;
    if (tenant) {
        /* An empty list would not tell a tenant without keys from a typo. */
        rc = sqlite3_prepare_v2(s->control, "SELECT 1 FROM tenants WHERE name=?", -1, &q, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
            rc = sqlite3_step(q);
        }
        sqlite3_finalize(q);
        q = NULL;
        if (rc != SQLITE_ROW) {
            st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
            goto out;
        }
    }
    rc = sqlite3_prepare_v2(s->control,
                            tenant ? "SELECT " KEY_COLUMNS " FROM api_keys WHERE tenant=?"
                                     " ORDER BY created_ms, id"
                                   : "SELECT " KEY_COLUMNS " FROM api_keys"
                                     " ORDER BY tenant, created_ms, id",
                            -1, &q, NULL);
    if (rc != SQLITE_OK) {
        st = sqlite_status(rc);
        goto out;
    }
    if (tenant) sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            store_key *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                st = LORE_NOMEM;
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        if ((st = read_key(q, &list[count])) != LORE_OK) goto out;
        count++;
    }
    if (rc != SQLITE_DONE) st = sqlite_status(rc);
out:
    sqlite3_finalize(q);
    if (st != LORE_OK) { /* the caller gets nothing, not a partial list */
        store_keys_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status sqlite_key_revoke(store *s_, const char *tenant, const char *id, int64_t now_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    sqlite3_stmt *q = NULL;
    lore_status st = LORE_NOT_FOUND;
    if (!store_is_lower_hex(id, STORE_KEY_ID_LEN)) goto out;
    /* Every matching row counts as changed, revoked already or not, so
     * sqlite3_changes() tells "no such key" apart; the CASE keeps the first
     * revocation time. */
    int rc = sqlite3_prepare_v2(s->control,
                                "UPDATE api_keys SET revoked_ms ="
                                " CASE WHEN revoked_ms = 0 THEN ?3 ELSE revoked_ms END"
                                " WHERE id=?1 AND (?2 IS NULL OR tenant=?2)",
                                -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        if (tenant)
            sqlite3_bind_text(q, 2, tenant, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(q, 2);
        sqlite3_bind_int64(q, 3, now_ms > 0 ? now_ms : 1); /* 0 would mean live */
        rc = sqlite3_step(q);
    }
    st = sqlite_status(rc);
    if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
out:
    sqlite3_finalize(q);
    return st; /* on failure nothing changed */
}
