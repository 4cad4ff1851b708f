/* Embedded store: connector instances in the control database.
 *
 * Table (control migration 6, see sqlite_store.c):
 *   connectors(id PRIMARY KEY, tenant -> tenants ON DELETE CASCADE, kind,
 *              source, acl, created_ms, secret_rotated_ms,
 *              previous_secret_until_ms) WITHOUT ROWID; index on
 *              (tenant, created_ms) for listings.
 *   acl principals are joined by "\n" ('' = none), as document ACLs are.
 *
 * store_connector_get runs on every webhook delivery, so its statement is
 * prepared once per store and kept on it, like the key lookup. */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECTOR_COLUMNS                                                                          \
    "id, tenant, kind, source, acl, created_ms, secret_rotated_ms, previous_secret_until_ms"

/* Copies a text column into a fixed field; 0 when it does not fit. */
static int copy_col(sqlite3_stmt *q, int col, char *out, size_t cap) {
    const char *v = (const char *)sqlite3_column_text(q, col);
    if (!v || strlen(v) >= cap) return 0;
    memcpy(out, v, strlen(v) + 1);
    return 1;
}

/* Fills c from the current row of a statement selecting CONNECTOR_COLUMNS. */
static lore_status read_connector(sqlite3_stmt *q, store_connector *c) {
    memset(c, 0, sizeof *c);
    if (!copy_col(q, 0, c->id, sizeof c->id) || !copy_col(q, 1, c->tenant, sizeof c->tenant) ||
        !copy_col(q, 2, c->kind, sizeof c->kind) || !copy_col(q, 3, c->source, sizeof c->source))
        return LORE_CORRUPT; /* not written by this code */
    c->created_ms = sqlite3_column_int64(q, 5);
    c->secret_rotated_ms = sqlite3_column_int64(q, 6);
    c->previous_secret_until_ms = sqlite3_column_int64(q, 7);
    lore_status st = sqlite_list_split((const char *)sqlite3_column_text(q, 4), &c->acl, &c->nacl);
    if (st != LORE_OK) store_connector_clear(c);
    return st;
}

lore_status sqlite_connector_put(store *s_, const store_connector *c) {
    sqlite_store *s = (sqlite_store *)s_;
    sqlite3_stmt *q = NULL;
    char *joined = NULL;
    lore_status st = store_connector_check(c);
    if (st != LORE_OK) return st;
    if (!(joined = sqlite_list_join((const char *const *)c->acl, c->nacl))) return LORE_NOMEM;
    int rc = sqlite3_prepare_v2(
        s->control, "INSERT INTO connectors(" CONNECTOR_COLUMNS ") VALUES(?,?,?,?,?,?,?,?)", -1, &q,
        NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, c->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, c->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, joined, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, c->created_ms);
        sqlite3_bind_int64(q, 7, c->secret_rotated_ms);
        sqlite3_bind_int64(q, 8, c->previous_secret_until_ms);
        rc = sqlite3_step(q);
    }
    /* A missing tenant (the foreign key) is the caller's mistake; a taken
     * id is retried with a new one. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        st = sqlite3_extended_errcode(s->control) == SQLITE_CONSTRAINT_FOREIGNKEY ? LORE_NOT_FOUND
                                                                                  : LORE_EXISTS;
    else
        st = sqlite_status(rc);
    sqlite3_finalize(q);
    free(joined);
    return st;
}

lore_status sqlite_connector_get(store *s_, const char *id, store_connector **out) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    if (!store_connector_id_valid(id)) return LORE_NOT_FOUND;
    int rc;
    if (!s->connector_get) {
        rc = sqlite3_prepare_v3(s->control,
                                "SELECT " CONNECTOR_COLUMNS " FROM connectors WHERE id=?", -1,
                                SQLITE_PREPARE_PERSISTENT, &s->connector_get, NULL);
        if (rc != SQLITE_OK) return sqlite_status(rc);
    }
    lore_status st;
    store_connector *c = NULL;
    sqlite3_bind_text(s->connector_get, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s->connector_get);
    if (rc != SQLITE_ROW) {
        st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    } else if (!(c = malloc(sizeof *c))) {
        st = LORE_NOMEM;
    } else if ((st = read_connector(s->connector_get, c)) != LORE_OK) {
        free(c);
        c = NULL;
    }
    /* Reset at once: a statement left on a row holds a read snapshot and
     * would hide a deletion or rotation committed meanwhile. */
    sqlite3_reset(s->connector_get);
    sqlite3_clear_bindings(s->connector_get);
    *out = c;
    return st;
}

static lore_status tenant_exists(sqlite_store *s, const char *tenant) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, "SELECT 1 FROM tenants WHERE name=?", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? LORE_OK : rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
}

lore_status sqlite_connector_list(store *s_, const char *tenant, store_connector **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    store_connector *list = NULL;
    size_t count = 0, cap = 0;
    sqlite3_stmt *q = NULL;
    lore_status st = tenant ? tenant_exists(s, tenant) : LORE_OK;
    if (st != LORE_OK) return st;
    int rc = sqlite3_prepare_v2(s->control,
                                tenant ? "SELECT " CONNECTOR_COLUMNS
                                         " FROM connectors WHERE tenant=? ORDER BY created_ms, id"
                                       : "SELECT " CONNECTOR_COLUMNS
                                         " FROM connectors ORDER BY tenant, created_ms, id",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) return sqlite_status(rc);
    if (tenant) sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            store_connector *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                st = LORE_NOMEM;
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        if ((st = read_connector(q, &list[count])) != LORE_OK) goto out;
        count++;
    }
    if (rc != SQLITE_DONE) st = sqlite_status(rc);
out:
    sqlite3_finalize(q);
    if (st != LORE_OK) {
        store_connectors_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

/* Runs an UPDATE or DELETE on one instance; LORE_NOT_FOUND when no row
 * matched. ?1 is the id, ?2 the tenant (NULL: any), ?3 and ?4 the times. */
static lore_status change_one(sqlite_store *s, const char *sql, const char *tenant, const char *id,
                              int64_t a, int64_t b) {
    if (!store_connector_id_valid(id)) return LORE_NOT_FOUND;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        if (tenant)
            sqlite3_bind_text(q, 2, tenant, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(q, 2);
        if (sqlite3_bind_parameter_count(q) >= 4) {
            sqlite3_bind_int64(q, 3, a);
            sqlite3_bind_int64(q, 4, b);
        }
        rc = sqlite3_step(q);
    }
    lore_status st = sqlite_status(rc);
    if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_connector_rotated(store *s_, const char *tenant, const char *id,
                                     int64_t rotated_ms, int64_t previous_until_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    return change_one(s,
                      "UPDATE connectors SET secret_rotated_ms=?3, previous_secret_until_ms=?4"
                      " WHERE id=?1 AND (?2 IS NULL OR tenant=?2)",
                      tenant, id, rotated_ms, previous_until_ms);
}

lore_status sqlite_connector_delete(store *s_, const char *tenant, const char *id) {
    sqlite_store *s = (sqlite_store *)s_;
    return change_one(s, "DELETE FROM connectors WHERE id=?1 AND (?2 IS NULL OR tenant=?2)", tenant,
                      id, 0, 0);
}
