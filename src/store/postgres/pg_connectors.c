/* PostgreSQL backend: connector instances in the control schema
 * (lore.connectors, pg_store.c), with the SQLite backend's semantics
 * (sqlite_connectors.c): acl principals joined by "\n", a missing tenant
 * (the foreign key) NOT_FOUND, a taken id EXISTS. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECTOR_COLUMNS                                                                          \
    "id, tenant, kind, source, acl, created_ms, secret_rotated_ms, previous_secret_until_ms"

/* Copies a text column into a fixed field; 0 when it does not fit. */
static int copy_col(const PGresult *r, int i, int col, char *out, size_t cap) {
    size_t n = 0;
    const char *v = pg_get_bytes(r, i, col, &n);
    if (!v || n >= cap || strlen(v) != n) return 0;
    memcpy(out, v, n + 1);
    return 1;
}

static lore_status read_connector(const PGresult *r, int i, store_connector *c) {
    memset(c, 0, sizeof *c);
    if (!copy_col(r, i, 0, c->id, sizeof c->id) ||
        !copy_col(r, i, 1, c->tenant, sizeof c->tenant) ||
        !copy_col(r, i, 2, c->kind, sizeof c->kind) ||
        !copy_col(r, i, 3, c->source, sizeof c->source))
        return LORE_CORRUPT; /* not written by this code */
    c->created_ms = pg_get_i64(r, i, 5);
    c->secret_rotated_ms = pg_get_i64(r, i, 6);
    c->previous_secret_until_ms = pg_get_i64(r, i, 7);
    lore_status st = pg_list_split(pg_get_bytes(r, i, 4, NULL), &c->acl, &c->nacl);
    if (st != LORE_OK) memset(c, 0, sizeof *c);
    return st;
}

lore_status pg_connector_put(store *base, const store_connector *c) {
    pg_store *s = (pg_store *)base;
    lore_status st = store_connector_check(c);
    if (st != LORE_OK) return st;
    char *joined = pg_list_join((const char *const *)c->acl, c->nacl);
    if (!joined) return LORE_NOMEM;
    pg_params p = {0};
    pg_param_text(&p, c->id);
    pg_param_text(&p, c->tenant);
    pg_param_text(&p, c->kind);
    pg_param_text(&p, c->source);
    pg_param_text(&p, joined);
    pg_param_i64(&p, c->created_ms);
    pg_param_i64(&p, c->secret_rotated_ms);
    pg_param_i64(&p, c->previous_secret_until_ms);
    int64_t n = 0;
    /* The EXISTS tells a missing tenant (nothing inserted) from a taken id
     * (unique violation); a tenant deleted in between meets the foreign key
     * (also NOT_FOUND, pg_result_status). */
    st = pg_store_cmd(s,
                      "INSERT INTO lore.connectors(" CONNECTOR_COLUMNS ")"
                      " SELECT $1,$2,$3,$4,$5,$6,$7,$8"
                      " WHERE EXISTS(SELECT 1 FROM lore.tenants WHERE name=$2)",
                      &p, &n);
    free(joined);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}

lore_status pg_connector_get(store *base, const char *id, store_connector **out) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    if (!store_connector_id_valid(id)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, id);
    lore_status st;
    PGresult *r =
        pg_store_run(s, "SELECT " CONNECTOR_COLUMNS " FROM lore.connectors WHERE id=$1", &p, &st);
    if (!r) return st;
    store_connector *c = NULL;
    if (!PQntuples(r))
        st = LORE_NOT_FOUND;
    else if (!(c = malloc(sizeof *c)))
        st = LORE_NOMEM;
    else if ((st = read_connector(r, 0, c)) != LORE_OK) {
        free(c);
        c = NULL;
    }
    PQclear(r);
    *out = c;
    return st;
}

lore_status pg_connector_list(store *base, const char *tenant, store_connector **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    lore_status st;
    PGresult *r;
    if (tenant) {
        pg_params t = {0};
        pg_param_text(&t, tenant);
        if (!(r = pg_store_run(s, "SELECT 1 FROM lore.tenants WHERE name=$1", &t, &st))) return st;
        st = PQntuples(r) ? LORE_OK : LORE_NOT_FOUND;
        PQclear(r);
        if (st != LORE_OK) return st;
    }
    pg_params p = {0};
    if (tenant) pg_param_text(&p, tenant);
    r = pg_store_run(s,
                     tenant ? "SELECT " CONNECTOR_COLUMNS
                              " FROM lore.connectors WHERE tenant=$1 ORDER BY created_ms, id"
                            : "SELECT " CONNECTOR_COLUMNS
                              " FROM lore.connectors ORDER BY tenant, created_ms, id",
                     &p, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r), got = 0;
    store_connector *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) st = LORE_NOMEM;
    for (; st == LORE_OK && got < count; got++)
        if ((st = read_connector(r, (int)got, &list[got])) != LORE_OK) break;
    PQclear(r);
    if (st != LORE_OK) {
        store_connectors_free(list, got);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_connector_rotated(store *base, const char *tenant, const char *id,
                                 int64_t rotated_ms, int64_t previous_until_ms) {
    pg_store *s = (pg_store *)base;
    if (!store_connector_id_valid(id)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, id);
    pg_param_text(&p, tenant);
    pg_param_i64(&p, rotated_ms);
    pg_param_i64(&p, previous_until_ms);
    int64_t n = 0;
    lore_status st = pg_store_cmd(s,
                                  "UPDATE lore.connectors SET secret_rotated_ms=$3,"
                                  " previous_secret_until_ms=$4"
                                  " WHERE id=$1 AND ($2::text IS NULL OR tenant=$2)",
                                  &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}

lore_status pg_connector_delete(store *base, const char *tenant, const char *id) {
    pg_store *s = (pg_store *)base;
    if (!store_connector_id_valid(id)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, id);
    pg_param_text(&p, tenant);
    int64_t n = 0;
    lore_status st = pg_store_cmd(
        s, "DELETE FROM lore.connectors WHERE id=$1 AND ($2::text IS NULL OR tenant=$2)", &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}
