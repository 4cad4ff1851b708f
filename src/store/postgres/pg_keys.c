/* PostgreSQL backend: API key records and browser sessions in the control
 * schema (tables lore.api_keys and lore.sessions, pg_store.c).
 *
 * The semantics are the SQLite backend's (sqlite_keys.c, sqlite_sessions.c)
 * line for line: the same checks of a record before it is written, the
 * same answers for a missing tenant (the foreign key) and a taken id, the
 * first revocation time kept. Every call is one statement in autocommit. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_COLUMNS "id, tenant, name, scopes, principals, hash, created_ms, expires_ms, revoked_ms"

/* Fills k from row i of a result of KEY_COLUMNS; on failure k holds
 * nothing to free. */
static lore_status read_key(const PGresult *r, int i, store_key *k) {
    memset(k, 0, sizeof *k);
    const char *id = pg_get_bytes(r, i, 0, NULL);
    const char *tenant = pg_get_bytes(r, i, 1, NULL);
    const char *hash = pg_get_bytes(r, i, 5, NULL);
    if (!id || !tenant || !hash || strlen(id) != STORE_KEY_ID_LEN ||
        strlen(tenant) > STORE_NAME_MAX || strlen(hash) != 64)
        return LORE_CORRUPT; /* not written by this code */
    memcpy(k->id, id, STORE_KEY_ID_LEN + 1);
    snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
    memcpy(k->hash, hash, 65);
    k->scopes = (unsigned)pg_get_i64(r, i, 3);
    k->created_ms = pg_get_i64(r, i, 6);
    k->expires_ms = pg_get_i64(r, i, 7);
    k->revoked_ms = pg_get_i64(r, i, 8);
    int nomem = 0;
    k->name = pg_get_strdup(r, i, 2, &nomem);
    lore_status st =
        nomem ? LORE_NOMEM
              : pg_list_split(pg_get_bytes(r, i, 4, NULL), &k->principals, &k->nprincipals);
    if (st != LORE_OK) {
        free(k->name);
        memset(k, 0, sizeof *k);
    }
    return st;
}

lore_status pg_key_put(store *base, const store_key *k) {
    pg_store *s = (pg_store *)base;
    lore_status st = store_key_check(k);
    if (st != LORE_OK) return st;
    char *joined = pg_list_join((const char *const *)k->principals, k->nprincipals);
    if (!joined) return LORE_NOMEM;
    pg_params p = {0};
    pg_param_text(&p, k->id);
    pg_param_text(&p, k->tenant);
    pg_param_text(&p, k->name);
    pg_param_i64(&p, (int64_t)k->scopes);
    pg_param_text(&p, joined);
    pg_param_text(&p, k->hash);
    pg_param_i64(&p, k->created_ms);
    pg_param_i64(&p, k->expires_ms);
    pg_param_i64(&p, k->revoked_ms);
    /* The tenant check rides in the statement so the two failures stay
     * apart: a taken id (unique violation, EXISTS) is retried with a new
     * one, a missing tenant (no row inserted) is the caller's mistake. A
     * tenant deleted between the check and the insert meets the foreign
     * key, reported the same way. */
    PGconn *c;
    char err[256];
    if (!(c = pg_pool_get(s->pool, err, sizeof err))) {
        free(joined);
        return LORE_BUSY;
    }
    int64_t n = 0;
    st = pg_run_cmd(c,
                    "INSERT INTO lore.api_keys(" KEY_COLUMNS ")"
                    " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9"
                    " WHERE EXISTS(SELECT 1 FROM lore.tenants WHERE name=$2)",
                    &p, &n, err, sizeof err);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    free(joined);
    if (st == LORE_OK && n == 0) return LORE_NOT_FOUND;
    return st;
}

lore_status pg_key_get(store *base, const char *id, store_key **out) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    if (!store_is_lower_hex(id, STORE_KEY_ID_LEN)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, id);
    lore_status st;
    PGresult *r = pg_store_run(s,
                               "SELECT " KEY_COLUMNS ", (SELECT t.created_ms FROM lore.tenants t"
                               " WHERE t.name = api_keys.tenant) FROM lore.api_keys WHERE id=$1",
                               &p, &st);
    if (!r) return st;
    store_key *k = NULL;
    if (!PQntuples(r))
        st = LORE_NOT_FOUND;
    else if (!(k = malloc(sizeof *k)))
        st = LORE_NOMEM;
    else if ((st = read_key(r, 0, k)) != LORE_OK) {
        free(k);
        k = NULL;
    } else {
        k->tenant_created_ms = pg_get_i64(r, 0, 9);
    }
    PQclear(r);
    *out = k;
    return st;
}

static lore_status tenant_exists(pg_store *s, const char *tenant) {
    pg_params p = {0};
    pg_param_text(&p, tenant);
    lore_status st;
    PGresult *r = pg_store_run(s, "SELECT 1 FROM lore.tenants WHERE name=$1", &p, &st);
    if (!r) return st;
    st = PQntuples(r) ? LORE_OK : LORE_NOT_FOUND;
    PQclear(r);
    return st;
}

lore_status pg_key_list(store *base, const char *tenant, store_key **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    /* An empty list would not tell a tenant without keys from a typo. */
    lore_status st = tenant ? tenant_exists(s, tenant) : LORE_OK;
    if (st != LORE_OK) return st;
    pg_params p = {0};
    if (tenant) pg_param_text(&p, tenant);
    PGresult *r = pg_store_run(s,
                               tenant ? "SELECT " KEY_COLUMNS " FROM lore.api_keys WHERE tenant=$1"
                                        " ORDER BY created_ms, id"
                                      : "SELECT " KEY_COLUMNS " FROM lore.api_keys"
                                        " ORDER BY tenant, created_ms, id",
                               &p, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r), got = 0;
    store_key *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) st = LORE_NOMEM;
    for (; st == LORE_OK && got < count; got++)
        if ((st = read_key(r, (int)got, &list[got])) != LORE_OK) break;
    PQclear(r);
    if (st != LORE_OK) { /* the caller gets nothing, not a partial list */
        store_keys_free(list, got);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_key_revoke(store *base, const char *tenant, const char *id, int64_t now_ms) {
    pg_store *s = (pg_store *)base;
    if (!store_is_lower_hex(id, STORE_KEY_ID_LEN)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, id);
    pg_param_text(&p, tenant);
    pg_param_i64(&p, now_ms > 0 ? now_ms : 1); /* 0 would mean live */
    int64_t n = 0;
    /* Every matching row counts as changed, revoked already or not; the
     * CASE keeps the first revocation time. */
    lore_status st = pg_store_cmd(s,
                                  "UPDATE lore.api_keys SET revoked_ms ="
                                  " CASE WHEN revoked_ms = 0 THEN $3 ELSE revoked_ms END"
                                  " WHERE id=$1 AND ($2::text IS NULL OR tenant=$2)",
                                  &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}

/* ---- browser sessions ---- */

lore_status pg_session_put(store *base, const store_session *x) {
    pg_store *s = (pg_store *)base;
    if (!store_is_lower_hex(x->hash, 64) || !store_is_lower_hex(x->key_id, STORE_KEY_ID_LEN) ||
        !store_tenant_name_valid(x->tenant) || x->created_ms <= 0 || x->expires_ms <= x->created_ms)
        return LORE_INVALID;
    pg_params p = {0};
    pg_param_i64(&p, x->created_ms);
    lore_status st = pg_store_cmd(s, "DELETE FROM lore.sessions WHERE expires_ms <= $1", &p, NULL);
    if (st != LORE_OK) return st;
    pg_params q = {0};
    pg_param_text(&q, x->hash);
    pg_param_text(&q, x->key_id);
    pg_param_text(&q, x->tenant);
    pg_param_i64(&q, x->created_ms);
    pg_param_i64(&q, x->expires_ms);
    return pg_store_cmd(s,
                        "INSERT INTO lore.sessions(hash, key_id, tenant, created_ms, expires_ms)"
                        " VALUES($1, $2, $3, $4, $5)",
                        &q, NULL);
}

lore_status pg_session_get(store *base, const char *hash, store_session *out) {
    pg_store *s = (pg_store *)base;
    memset(out, 0, sizeof *out);
    if (!store_is_lower_hex(hash, 64)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, hash);
    lore_status st;
    PGresult *r = pg_store_run(
        s, "SELECT key_id, tenant, created_ms, expires_ms FROM lore.sessions WHERE hash=$1", &p,
        &st);
    if (!r) return st;
    if (!PQntuples(r)) {
        st = LORE_NOT_FOUND;
    } else {
        const char *key = pg_get_bytes(r, 0, 0, NULL), *tenant = pg_get_bytes(r, 0, 1, NULL);
        if (!key || !tenant || strlen(key) != STORE_KEY_ID_LEN || strlen(tenant) > STORE_NAME_MAX) {
            st = LORE_CORRUPT;
        } else {
            memcpy(out->hash, hash, 65);
            memcpy(out->key_id, key, STORE_KEY_ID_LEN + 1);
            snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
            out->created_ms = pg_get_i64(r, 0, 2);
            out->expires_ms = pg_get_i64(r, 0, 3);
        }
    }
    PQclear(r);
    return st;
}

lore_status pg_session_delete(store *base, const char *hash) {
    pg_store *s = (pg_store *)base;
    if (!store_is_lower_hex(hash, 64)) return LORE_NOT_FOUND;
    pg_params p = {0};
    pg_param_text(&p, hash);
    int64_t n = 0;
    lore_status st = pg_store_cmd(s, "DELETE FROM lore.sessions WHERE hash=$1", &p, &n);
    return st == LORE_OK && n == 0 ? LORE_NOT_FOUND : st;
}
