/* PostgreSQL backend: sealed secrets in the control schema (lore.secrets,
 * pg_store.c). As the SQLite backend (sqlite_secrets.c): tenant "" holds
 * the server's secrets, the store never sees a clear value, every call is
 * one statement, so each is atomic on its own (a put checks the tenant in
 * the statement that writes; a re-seal compares the old bytes in the
 * statement that replaces them). */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_COLUMNS "tenant, name, key_id, created_ms, updated_ms, sealed"

lore_status pg_secret_put(store *base, const char *tenant, const char *name, const char *key_id,
                          const uint8_t *sealed, size_t len, int64_t now_ms) {
    pg_store *s = (pg_store *)base;
    lore_status st = store_secret_check_ref(tenant, name);
    if (st == LORE_OK) st = store_secret_check_value(key_id, sealed, len);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    pg_param_text(&p, key_id);
    pg_param_bytes(&p, sealed, len);
    pg_param_i64(&p, now_ms);
    int64_t n = 0;
    /* A tenant deleted meanwhile cannot be left with a row: its delete
     * takes the rows in its own transaction, before or after this one (and
     * the row lock on the tenant, read FOR SHARE here, orders the two). */
    st = pg_store_cmd(
        s,
        "INSERT INTO lore.secrets(tenant, name, key_id, sealed, created_ms, updated_ms)"
        " SELECT $1, $2, $3, $4, $5, $5 WHERE $1 = '' OR EXISTS("
        "SELECT 1 FROM lore.tenants WHERE name = $1 FOR SHARE)"
        " ON CONFLICT(tenant, name) DO UPDATE SET key_id = excluded.key_id,"
        " sealed = excluded.sealed, updated_ms = excluded.updated_ms",
        &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}

/* Fills x from row i of SECRET_COLUMNS; the sealed bytes when asked. */
static lore_status read_row(const PGresult *r, int i, int with_sealed, store_secret *x) {
    memset(x, 0, sizeof *x);
    const char *tenant = pg_get_bytes(r, i, 0, NULL);
    const char *name = pg_get_bytes(r, i, 1, NULL);
    const char *key_id = pg_get_bytes(r, i, 2, NULL);
    if (!tenant || !name || !key_id || strlen(tenant) > STORE_NAME_MAX ||
        strlen(name) > STORE_SECRET_NAME_MAX || strlen(key_id) > STORE_SECRET_KEY_ID_MAX)
        return LORE_CORRUPT; /* not written by this code */
    snprintf(x->tenant, sizeof x->tenant, "%s", tenant);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->key_id, sizeof x->key_id, "%s", key_id);
    x->created_ms = pg_get_i64(r, i, 3);
    x->updated_ms = pg_get_i64(r, i, 4);
    if (!with_sealed) return LORE_OK;
    size_t n = 0;
    const char *b = pg_get_bytes(r, i, 5, &n);
    if (!b || n == 0 || n > STORE_SECRET_SEALED_MAX) return LORE_CORRUPT;
    if (!(x->sealed = malloc(n))) return LORE_NOMEM;
    memcpy(x->sealed, b, n);
    x->sealed_len = n;
    return LORE_OK;
}

lore_status pg_secret_get(store *base, const char *tenant, const char *name, store_secret *out) {
    pg_store *s = (pg_store *)base;
    memset(out, 0, sizeof *out);
    if (store_secret_check_ref(tenant, name) != LORE_OK) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    lore_status st;
    PGresult *r = pg_store_run(
        s, "SELECT " SECRET_COLUMNS " FROM lore.secrets WHERE tenant=$1 AND name=$2", &p, &st);
    if (!r) return st;
    st = PQntuples(r) ? read_row(r, 0, 1, out) : LORE_NOT_FOUND;
    if (st != LORE_OK) store_secret_clear(out);
    PQclear(r);
    return st;
}

lore_status pg_secret_reseal(store *base, const char *tenant, const char *name,
                             const char *old_key_id, const uint8_t *old_sealed, size_t old_len,
                             const char *key_id, const uint8_t *sealed, size_t len) {
    pg_store *s = (pg_store *)base;
    lore_status st = store_secret_check_ref(tenant, name);
    if (st == LORE_OK) st = store_secret_check_value(old_key_id, old_sealed, old_len);
    if (st == LORE_OK) st = store_secret_check_value(key_id, sealed, len);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    pg_param_text(&p, old_key_id);
    pg_param_bytes(&p, old_sealed, old_len);
    pg_param_text(&p, key_id);
    pg_param_bytes(&p, sealed, len);
    int64_t n = 0;
    st = pg_store_cmd(s,
                      "UPDATE lore.secrets SET key_id=$5, sealed=$6"
                      " WHERE tenant=$1 AND name=$2 AND key_id=$3 AND sealed=$4",
                      &p, &n);
    if (st != LORE_OK || n) return st;
    /* Nothing matched: the row changed (BUSY: the caller reads it again)
     * or went away. */
    store_secret cur;
    st = pg_secret_get(base, tenant, name, &cur);
    store_secret_clear(&cur);
    return st == LORE_OK ? LORE_BUSY : st;
}

lore_status pg_secret_delete(store *base, const char *tenant, const char *name) {
    pg_store *s = (pg_store *)base;
    if (store_secret_check_ref(tenant, name) != LORE_OK) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, name);
    int64_t n = 0;
    lore_status st =
        pg_store_cmd(s, "DELETE FROM lore.secrets WHERE tenant=$1 AND name=$2", &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}

lore_status pg_secret_list(store *base, const char *tenant, const char *after_tenant,
                           const char *after_name, size_t limit, int with_sealed,
                           store_secret **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    if (tenant && !store_secret_tenant_ok(tenant)) return LORE_OK; /* no such tenant has secrets */
    if (limit == 0) return LORE_OK;
    if (limit > 100000) limit = 100000;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, after_tenant);
    pg_param_text(&p, after_tenant ? (after_name ? after_name : "") : NULL);
    pg_param_i64(&p, (int64_t)limit);
    lore_status st;
    /* Row values compare (tenant, name) as a pair in the key's ("C")
     * order, so a page resumes exactly after the last row seen. */
    PGresult *r = pg_store_run(s,
                               with_sealed ? "SELECT " SECRET_COLUMNS " FROM lore.secrets"
                                             " WHERE ($1::text IS NULL OR tenant = $1)"
                                             " AND ($2::text IS NULL OR (tenant, name) > ($2, $3))"
                                             " ORDER BY tenant, name LIMIT $4"
                                           : "SELECT tenant, name, key_id, created_ms, updated_ms"
                                             " FROM lore.secrets"
                                             " WHERE ($1::text IS NULL OR tenant = $1)"
                                             " AND ($2::text IS NULL OR (tenant, name) > ($2, $3))"
                                             " ORDER BY tenant, name LIMIT $4",
                               &p, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r), got = 0;
    store_secret *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) st = LORE_NOMEM;
    for (; st == LORE_OK && got < count; got++)
        if ((st = read_row(r, (int)got, with_sealed, &list[got])) != LORE_OK) {
            store_secret_clear(&list[got]);
            break;
        }
    PQclear(r);
    if (st != LORE_OK) {
        store_secrets_free(list, got);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}
