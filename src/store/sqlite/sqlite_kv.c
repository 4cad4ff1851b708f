/* Embedded store: the key-value namespaces indexes keep their data in. */
#include "store/sqlite/sqlite_int.h"

#include <string.h>

lore_status sqlite_kv_put(store_tenant *t_, int ns, const void *key, size_t klen, const void *val,
                          size_t vlen) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (klen > 1 << 20 || vlen > (size_t)1 << 30) return LORE_TOO_LARGE;
    sqlite3_stmt *q = t->st[ST_KV_PUT];
    sqlite3_bind_int(q, 1, ns);
    sqlite3_bind_blob(q, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, vlen ? val : "", (int)vlen, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return sqlite_status(rc);
}

lore_status sqlite_kv_get(store_tenant *t_, int ns, const void *key, size_t klen, lore_buf *val) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_KV_GET];
    sqlite3_bind_int(q, 1, ns);
    sqlite3_bind_blob(q, 2, key, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    lore_status st;
    if (rc == SQLITE_ROW) {
        lore_buf_reset(val);
        st = lore_buf_append(val, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0));
    } else {
        st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
    }
    sqlite3_reset(q);
    return st;
}

lore_status sqlite_kv_delete(store_tenant *t_, int ns, const void *key, size_t klen) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[ST_KV_DELETE];
    sqlite3_bind_int(q, 1, ns);
    sqlite3_bind_blob(q, 2, key, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return sqlite_status(rc);
}

lore_status sqlite_kv_delete_range(store_tenant *t_, int ns, const void *lo, size_t lolen,
                                   const void *hi, size_t hilen) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    sqlite3_stmt *q = t->st[hi ? ST_KV_DELETE_RANGE : ST_KV_DELETE_FROM];
    sqlite3_bind_int(q, 1, ns);
    sqlite3_bind_blob(q, 2, lolen ? lo : "", (int)lolen, SQLITE_STATIC);
    if (hi) sqlite3_bind_blob(q, 3, hilen ? hi : "", (int)hilen, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return sqlite_status(rc);
}

lore_status sqlite_kv_scan(store_tenant *t_, int ns, const void *lo, size_t lolen, const void *hi,
                           size_t hilen, store_kv_fn fn, void *ctx) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    /* A scan may run while the caller writes to the same namespace (a merge
     * reads old segments and writes the new one), so it uses its own
     * statement rather than the shared prepared one. */
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(t->db,
                                hi ? "SELECT key, value FROM kv WHERE ns=? AND key>=? AND key<?"
                                     " ORDER BY key"
                                   : "SELECT key, value FROM kv WHERE ns=? AND key>=? ORDER BY key",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) return sqlite_status(rc);
    sqlite3_bind_int(q, 1, ns);
    sqlite3_bind_blob(q, 2, lolen ? lo : "", (int)lolen, SQLITE_STATIC);
    if (hi) sqlite3_bind_blob(q, 3, hilen ? hi : "", (int)hilen, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (fn(ctx, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
               sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1)))
            break;
    }
    lore_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    sqlite3_finalize(q);
    return st;
}
