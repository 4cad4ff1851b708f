/* The store's dispatch: store_open picks a backend by the URL's scheme, and
 * every other store.h call goes through the table (store_backend.h) of the
 * store, tenant or blob writer it is given. This file is the one place
 * that knows which backends exist. */
#include "store/store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- picking the backend ---- */

typedef struct scheme {
    const char *prefix;      /* what store_url starts with */
    int keep_prefix;         /* location = the whole URL (libpq parses it) */
    const store_backend *be; /* NULL: a backend this lore was built without */
    const char *name;
} scheme;

static const scheme schemes[] = {
    {"sqlite:", 0, &store_backend_sqlite, "sqlite"},
#ifdef LORE_HAVE_POSTGRES
    {"postgres://", 1, &store_backend_postgres, "postgres"},
    {"postgresql://", 1, &store_backend_postgres, "postgres"},
#else
    {"postgres://", 1, NULL, "postgres"},
    {"postgresql://", 1, NULL, "postgres"},
#endif
};

lore_status store_backend_for_url(const char *url, const store_backend **be, const char **location,
                                  char *err, size_t errlen) {
    *be = NULL;
    *location = NULL;
    if (!url || !*url) {
        snprintf(err, errlen,
                 "store_url is empty: give sqlite:DIR (or a directory), or "
                 "postgres://user@host/db");
        return LORE_INVALID;
    }
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(url, schemes[i].prefix, n)) continue;
        if (!schemes[i].be) {
            snprintf(err, errlen,
                     "store_url names a %s store, and this lore was built without %s support "
                     "(build it with libpq installed: scripts/deps.sh, then cmake)",
                     schemes[i].name, "PostgreSQL");
            return LORE_UNSUPPORTED;
        }
        *be = schemes[i].be;
        *location = schemes[i].keep_prefix ? url : url + n;
        return LORE_OK;
    }
    /* A plain path is a data directory; anything else that looks like a
     * URL (a scheme and "://", or a word and ':' before any '/') is not
     * one we know. */
    const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
    if (colon && (!slash || colon < slash) && colon > url) {
        snprintf(err, errlen,
                 "store_url '%.*s...' has a scheme lore does not know: give sqlite:DIR (or a "
                 "directory), or postgres://user@host/db (postgresql:// too)",
                 (int)(colon - url + 1), url);
        return LORE_INVALID;
    }
    *be = &store_backend_sqlite;
    *location = url;
    return LORE_OK;
}

lore_status store_open(const char *url, unsigned flags, store **out, char *err, size_t errlen) {
    *out = NULL;
    if (errlen) err[0] = '\0';
    const store_backend *be;
    const char *location;
    lore_status st = store_backend_for_url(url, &be, &location, err, errlen);
    if (st != LORE_OK) return st;
    if (be->version != STORE_BACKEND_VERSION) {
        snprintf(err, errlen, "the %s store backend is of version %d, this lore expects %d",
                 be->name, be->version, STORE_BACKEND_VERSION);
        return LORE_UNSUPPORTED;
    }
    st = be->open(location, flags, out, err, errlen);
    if (st != LORE_OK) *out = NULL;
    return st;
}

const char *store_backend_name(const store *s) {
    return s->be->name;
}

void store_close(store *s) {
    if (s) s->be->close(s);
}

lore_status store_check(store *s, char *err, size_t errlen) {
    return s->be->check(s, err, errlen);
}

lore_status store_migration_status(store *s, store_schema_status **out, size_t *n) {
    return s->be->schema_status(s, out, n);
}

lore_status store_migrate(store *s, char *err, size_t errlen) {
    return s->be->migrate(s, err, errlen);
}

lore_status store_tenant_create(store *s, const char *name) {
    return s->be->tenant_create(s, name);
}

lore_status store_tenant_delete(store *s, const char *name) {
    return s->be->tenant_delete(s, name);
}

lore_status store_tenant_list(store *s, store_tenant_info **out, size_t *n) {
    return s->be->tenant_list(s, out, n);
}

lore_status store_tenant_open(store *s, const char *name, store_tenant **out) {
    return s->be->tenant_open(s, name, out);
}

void store_tenant_close(store_tenant *t) {
    if (t) t->be->tenant_close(t);
}

lore_status store_tenant_created(store *s, const char *name, int64_t *created_ms) {
    return s->be->tenant_created(s, name, created_ms);
}

const char *store_tenant_name(const store_tenant *t) {
    return t->be->tenant_name(t);
}

lore_status store_begin(store_tenant *t) {
    return t->be->begin(t);
}

lore_status store_commit(store_tenant *t) {
    return t->be->commit(t);
}

void store_rollback(store_tenant *t) {
    t->be->rollback(t);
}

lore_status store_begin_read(store_tenant *t) {
    return t->be->begin_read(t);
}

void store_end_read(store_tenant *t) {
    t->be->end_read(t);
}

lore_status store_doc_lookup(store_tenant *t, const char *source, const char *external_id,
                             int64_t *rowid, char *hash) {
    return t->be->doc_lookup(t, source, external_id, rowid, hash);
}

lore_status store_reserve_chunk_ids(store_tenant *t, size_t n, int64_t *first) {
    return t->be->reserve_chunk_ids(t, n, first);
}

lore_status store_doc_put(store_tenant *t, store_doc *doc, const store_chunk_in *chunks, size_t n) {
    return t->be->doc_put(t, doc, chunks, n);
}

lore_status store_doc_chunks(store_tenant *t, int64_t doc_rowid, store_chunk_len_fn fn, void *ctx) {
    return t->be->doc_chunks(t, doc_rowid, fn, ctx);
}

lore_status store_chunk_scan(store_tenant *t, int64_t after_id, size_t limit,
                             store_chunk_scan_fn fn, void *ctx) {
    return t->be->chunk_scan(t, after_id, limit, fn, ctx);
}

lore_status store_chunk_set_nterms(store_tenant *t, int64_t chunk_id, uint32_t nterms) {
    return t->be->chunk_set_nterms(t, chunk_id, nterms);
}

lore_status store_doc_delete(store_tenant *t, int64_t doc_rowid) {
    return t->be->doc_delete(t, doc_rowid);
}

lore_status store_doc_get(store_tenant *t, const char *id, int with_text, store_doc **out) {
    return t->be->doc_get(t, id, with_text, out);
}

lore_status store_doc_get_rowid(store_tenant *t, int64_t rowid, int with_text, store_doc **out) {
    return t->be->doc_get_rowid(t, rowid, with_text, out);
}

lore_status store_doc_list(store_tenant *t, const store_viewer *who, const char *source,
                           int64_t after, size_t limit, store_doc_fn fn, void *ctx) {
    return t->be->doc_list(t, who, source, after, limit, fn, ctx);
}

lore_status store_doc_scan_external(store_tenant *t, const char *source, const char *from,
                                    const char *below, size_t limit, store_doc_ref_fn fn,
                                    void *ctx) {
    return t->be->doc_scan_external(t, source, from, below, limit, fn, ctx);
}

lore_status store_doc_rename(store_tenant *t, int64_t doc_rowid, const char *external_id) {
    return t->be->doc_rename(t, doc_rowid, external_id);
}

lore_status store_chunk_get(store_tenant *t, int64_t chunk_id, store_chunk *out) {
    return t->be->chunk_get(t, chunk_id, out);
}

lore_status store_chunk_owner_get(store_tenant *t, int64_t chunk_id, store_chunk_owner *out) {
    return t->be->chunk_owner_get(t, chunk_id, out);
}

lore_status store_chunk_doc(store_tenant *t, int64_t chunk_id, int64_t *doc_rowid) {
    return t->be->chunk_doc(t, chunk_id, doc_rowid);
}

lore_status store_sources(store_tenant *t, const store_viewer *who, store_source_info **out,
                          size_t *n) {
    return t->be->sources(t, who, out, n);
}

lore_status store_counts(store_tenant *t, int64_t *docs, int64_t *chunks) {
    return t->be->counts(t, docs, chunks);
}

lore_status store_disk_bytes(store_tenant *t, int64_t *bytes) {
    return t->be->disk_bytes(t, bytes);
}

lore_status store_kv_put(store_tenant *t, int ns, const void *key, size_t klen, const void *val,
                         size_t vlen) {
    return t->be->kv_put(t, ns, key, klen, val, vlen);
}

lore_status store_kv_get(store_tenant *t, int ns, const void *key, size_t klen, lore_buf *val) {
    return t->be->kv_get(t, ns, key, klen, val);
}

lore_status store_kv_delete(store_tenant *t, int ns, const void *key, size_t klen) {
    return t->be->kv_delete(t, ns, key, klen);
}

lore_status store_kv_delete_range(store_tenant *t, int ns, const void *lo, size_t lolen,
                                  const void *hi, size_t hilen) {
    return t->be->kv_delete_range(t, ns, lo, lolen, hi, hilen);
}

lore_status store_kv_scan(store_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                          size_t hilen, store_kv_fn fn, void *ctx) {
    return t->be->kv_scan(t, ns, lo, lolen, hi, hilen, fn, ctx);
}

const char *store_tenant_errmsg(store_tenant *t) {
    return t->be->tenant_errmsg(t);
}

lore_status store_key_put(store *s, const store_key *k) {
    return s->be->key_put(s, k);
}

lore_status store_key_get(store *s, const char *id, store_key **out) {
    return s->be->key_get(s, id, out);
}

lore_status store_key_list(store *s, const char *tenant, store_key **out, size_t *n) {
    return s->be->key_list(s, tenant, out, n);
}

lore_status store_key_revoke(store *s, const char *tenant, const char *id, int64_t now_ms) {
    return s->be->key_revoke(s, tenant, id, now_ms);
}

lore_status store_session_put(store *s, const store_session *x) {
    return s->be->session_put(s, x);
}

lore_status store_session_get(store *s, const char *hash, store_session *out) {
    return s->be->session_get(s, hash, out);
}

lore_status store_session_delete(store *s, const char *hash) {
    return s->be->session_delete(s, hash);
}

lore_status store_secret_put(store *s, const char *tenant, const char *name, const char *key_id,
                             const uint8_t *sealed, size_t len, int64_t now_ms) {
    return s->be->secret_put(s, tenant, name, key_id, sealed, len, now_ms);
}

lore_status store_secret_get(store *s, const char *tenant, const char *name, store_secret *out) {
    return s->be->secret_get(s, tenant, name, out);
}

lore_status store_secret_reseal(store *s, const char *tenant, const char *name,
                                const char *old_key_id, const uint8_t *old_sealed, size_t old_len,
                                const char *key_id, const uint8_t *sealed, size_t len) {
    return s->be->secret_reseal(s, tenant, name, old_key_id, old_sealed, old_len, key_id, sealed,
                                len);
}

lore_status store_secret_delete(store *s, const char *tenant, const char *name) {
    return s->be->secret_delete(s, tenant, name);
}

lore_status store_secret_list(store *s, const char *tenant, const char *after_tenant,
                              const char *after_name, size_t limit, int with_sealed,
                              store_secret **out, size_t *n) {
    return s->be->secret_list(s, tenant, after_tenant, after_name, limit, with_sealed, out, n);
}

lore_status store_connector_put(store *s, const store_connector *c) {
    return s->be->connector_put(s, c);
}

lore_status store_connector_get(store *s, const char *id, store_connector **out) {
    return s->be->connector_get(s, id, out);
}

lore_status store_connector_list(store *s, const char *tenant, store_connector **out, size_t *n) {
    return s->be->connector_list(s, tenant, out, n);
}

lore_status store_connector_rotated(store *s, const char *tenant, const char *id,
                                    int64_t rotated_ms, int64_t previous_until_ms) {
    return s->be->connector_rotated(s, tenant, id, rotated_ms, previous_until_ms);
}

lore_status store_connector_delete(store *s, const char *tenant, const char *id) {
    return s->be->connector_delete(s, tenant, id);
}

lore_status store_job_enqueue(store *s, store_job *jobs, size_t n, int64_t max_tenant,
                              int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome) {
    return s->be->job_enqueue(s, jobs, n, max_tenant, max_total, now_ms, outcome);
}

lore_status store_job_claim(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                            size_t max_jobs, int64_t max_weight, store_job **out, size_t *n) {
    return s->be->job_claim(s, worker, now_ms, lease_ms, max_jobs, max_weight, out, n);
}

lore_status store_job_claim_avoiding(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                                     size_t max_jobs, int64_t max_weight, const char *const *avoid,
                                     size_t navoid, store_job **out, size_t *n) {
    return s->be->job_claim_avoiding(s, worker, now_ms, lease_ms, max_jobs, max_weight, avoid,
                                     navoid, out, n);
}

lore_status store_job_renew(store *s, int64_t id, int64_t lease_seq, int64_t until_ms) {
    return s->be->job_renew(s, id, lease_seq, until_ms);
}

lore_status store_job_finish(store *s, store_job_outcome *o, size_t n, int64_t now_ms) {
    return s->be->job_finish(s, o, n, now_ms);
}

lore_status store_job_get(store *s, const char *tenant, int64_t id, int with_payload,
                          store_job **out) {
    return s->be->job_get(s, tenant, id, with_payload, out);
}

lore_status store_job_find(store *s, const char *tenant, const char *ref, int with_payload,
                           store_job **out) {
    return s->be->job_find(s, tenant, ref, with_payload, out);
}

lore_status store_job_get_dedup(store *s, const char *tenant, const char *dedup_key,
                                store_job **out) {
    return s->be->job_get_dedup(s, tenant, dedup_key, out);
}

lore_status store_job_list(store *s, const char *tenant, int state, int64_t before, size_t limit,
                           store_job **out, size_t *n) {
    return s->be->job_list(s, tenant, state, before, limit, out, n);
}

lore_status store_job_retry(store *s, const char *tenant, int64_t id, int64_t now_ms) {
    return s->be->job_retry(s, tenant, id, now_ms);
}

lore_status store_job_purge(store *s, const char *tenant, int state, int64_t before_ms,
                            store_blob_fn fn, void *ctx, int64_t *deleted) {
    return s->be->job_purge(s, tenant, state, before_ms, fn, ctx, deleted);
}

lore_status store_job_counts(store *s, store_job_count **out, size_t *n) {
    return s->be->job_counts(s, out, n);
}

lore_status store_job_pending(store *s, const char *tenant, int64_t now_ms,
                              int64_t *oldest_ready_ms, int64_t *pending) {
    return s->be->job_pending(s, tenant, now_ms, oldest_ready_ms, pending);
}

lore_status store_job_wait(store *s, int64_t timeout_ms, int cancel_fd) {
    if (!s->be->job_wait) return LORE_UNSUPPORTED;
    return s->be->job_wait(s, timeout_ms, cancel_fd);
}

lore_status store_blob_create(store *s, const char *tenant, char *name_out, store_blob_writer **w) {
    return s->be->blob_create(s, tenant, name_out, w);
}

int store_blob_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (!n || n > STORE_BLOB_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

lore_status store_blob_create_named(store *s, const char *tenant, const char *name,
                                    store_blob_writer **w) {
    *w = NULL;
    if (!store_blob_name_valid(name) || !store_tenant_name_valid(tenant)) return LORE_INVALID;
    return s->be->blob_create_named(s, tenant, name, w);
}

lore_status store_blob_write(store_blob_writer *w, const void *data, size_t len) {
    return w->be->blob_write(w, data, len);
}

lore_status store_blob_finish(store_blob_writer *w, int keep) {
    return w->be->blob_finish(w, keep);
}

lore_status store_blob_size(store *s, const char *tenant, const char *name, int64_t *bytes) {
    return s->be->blob_size(s, tenant, name, bytes);
}

lore_status store_blob_read(store *s, const char *tenant, const char *name, int64_t offset,
                            void *buf, size_t len, size_t *got) {
    return s->be->blob_read(s, tenant, name, offset, buf, len, got);
}

lore_status store_backup(store *s, const char *dest_dir, size_t step_pages,
                         store_backup_report *out, char *err, size_t errlen) {
    if (!s->be->backup) {
        memset(out, 0, sizeof *out);
        snprintf(err, errlen, "the %s store has no backup of its own (use its own tools)",
                 s->be->name);
        return LORE_UNSUPPORTED;
    }
    return s->be->backup(s, dest_dir, step_pages, out, err, errlen);
}

/* ---- blobs ---- */

lore_status store_blob_path(store *s, const char *tenant, const char *name, char *out,
                            size_t outlen) {
    if (!s->be->blob_path) return LORE_UNSUPPORTED;
    return s->be->blob_path(s, tenant, name, out, outlen);
}

void store_blob_remove(void *store_ctx, const char *tenant, const char *name) {
    store *s = store_ctx;
    s->be->blob_remove(s, tenant, name);
}

/* ---- backup and restore ---- */

lore_status store_restore(const char *src_dir, const char *url, const store_backup_report *expect,
                          store_backup_report *out, char *err, size_t errlen) {
    const store_backend *be;
    const char *location;
    memset(out, 0, sizeof *out);
    lore_status st = store_backend_for_url(url, &be, &location, err, errlen);
    if (st != LORE_OK) return st;
    if (!be->restore) {
        snprintf(err, errlen, "the %s store has no restore of its own (use its own tools)",
                 be->name);
        return LORE_UNSUPPORTED;
    }
    return be->restore(src_dir, location, expect, out, err, errlen);
}
