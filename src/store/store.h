/* The store: tenants, documents, chunks and the index's own data.
 *
 * This header is the whole contract. No SQLite type, SQL string or file path
 * crosses it, so a PostgreSQL backend can fill the same table of functions
 * (store_backend) later. The embedded backend (store/sqlite/) keeps a control
 * database (tenants) and one database per tenant (documents, chunks, index
 * data); see docs/storage.md for the layouts.
 *
 * Threads: a store and a store_tenant may be used by one thread at a time.
 * Write calls on a tenant are grouped by store_tenant_begin/commit; a
 * rollback undoes the documents, chunks and index data together.
 *
 * Ownership: strings passed in are borrowed for the duration of the call;
 * records returned are owned by the caller and freed with the matching
 * *_free function. */
#ifndef LORE_STORE_STORE_H
#define LORE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/status.h"

typedef struct store store;
typedef struct store_tenant store_tenant;

#define STORE_NAME_MAX 64   /* tenant names: [a-z0-9][a-z0-9_-]{0,63} */
#define STORE_DOC_ID_LEN 16 /* public document ids: 16 lower-case hex digits */

typedef struct store_tenant_info {
    char name[STORE_NAME_MAX + 1];
    int64_t created_ms;
    int64_t documents; /* filled by store_tenant_list */
    int64_t chunks;
} store_tenant_info;

/* A document as stored. Public id = hex of the first 8 bytes of
 * SHA-256(source "\n" external_id): the same source item keeps its id across
 * re-ingests, deletes and tenants-export. */
typedef struct store_doc {
    int64_t rowid; /* internal id, stable while the document lives */
    char id[STORE_DOC_ID_LEN + 1];
    char *source;
    char *external_id;
    char *title;
    char *url;
    char *author;
    int64_t created_ms, updated_ms, indexed_ms;
    char content_hash[65]; /* hex SHA-256 of everything that is indexed */
    char *metadata_json;   /* a JSON object or NULL */
    char **acl;            /* principals; none means the whole tenant */
    size_t nacl;
    char *text; /* NULL unless asked for */
    size_t text_len;
    int64_t nchunks;
} store_doc;

/* One chunk to write with a document. */
typedef struct store_chunk_in {
    int64_t id;          /* from store_reserve_chunk_ids */
    uint32_t start, end; /* byte range in the document text */
    const char *section;
    uint32_t ntokens; /* estimated model tokens */
    uint32_t nterms;  /* analyzer terms, the length the lexical index scored */
} store_chunk_in;

/* A chunk as read back for a search hit. */
typedef struct store_chunk {
    int64_t id;
    int64_t doc_rowid;
    uint32_t ordinal;
    uint32_t start, end;
    char *section; /* owned */
    char *text;    /* owned: the chunk's bytes of the document text */
    size_t text_len;
} store_chunk;

/* What the search needs to admit a chunk: its document and the fields that
 * filters and ACLs look at. Filled into caller-provided memory. */
typedef struct store_chunk_owner {
    int64_t doc_rowid;
    const char *source;        /* borrowed: valid until the next store call */
    int64_t updated_ms;        /* updated at the source, or indexed time if unknown */
    const char *author;        /* borrowed, may be NULL */
    const char *title;         /* borrowed, may be NULL */
    const char *acl_joined;    /* borrowed: principals joined by "\n", "" if none */
    const char *metadata_json; /* borrowed, may be NULL */
} store_chunk_owner;

typedef struct store_source_info {
    char *source;
    int64_t documents;
    int64_t last_updated_ms;
} store_source_info;

/* Document listing, optionally filtered by source, in rowid order from a
 * cursor (the last rowid seen, 0 to start). */
typedef int (*store_doc_fn)(void *ctx, const store_doc *doc);

/* Who is looking, for listings that must honour ACLs: a document is visible
 * when its ACL is empty or names one of the principals. NULL (or all_access)
 * sees everything. */
typedef struct store_viewer {
    int all_access;
    const char *const *principals;
    size_t nprincipals;
} store_viewer;

/* The public id of (source, external_id) into out (STORE_DOC_ID_LEN + 1). */
void store_doc_public_id(const char *source, const char *external_id, char *out);

/* ---- store and tenants ---- */

/* Opening a store. url (the store_url setting) picks the backend:
 * "sqlite:DIR" or a plain directory path (the embedded store, the
 * default), "postgres://..." or "postgresql://..." (libpq's URL; only
 * when lore was built with PostgreSQL). */
#define STORE_OPEN_CREATE 1u /* create the store if absent */
/* Leave an existing store's pending migrations for `lore migrate`: the
 * store opens, and so do its tenants that are up to date; a tenant with
 * migrations pending is refused (LORE_UNSUPPORTED). A store this call
 * creates is made at the current version. */
#define STORE_OPEN_NO_MIGRATE 2u
#define STORE_BLOB_NAME_MAX 64 /* bytes of a blob name */

/* Opens the store url names and, unless STORE_OPEN_NO_MIGRATE, applies its
 * pending migrations (the control store's here, a tenant's when it is
 * opened). Without STORE_OPEN_CREATE nothing is created: LORE_NOT_FOUND
 * when there is no store, with err saying why in a few words (for sqlite
 * "the directory does not exist", "the directory holds no control.db").
 * An unknown scheme is LORE_INVALID, a backend this lore was built without
 * LORE_UNSUPPORTED. Returns owned; *out is NULL on failure, with err
 * filled. */
LORE_MUST_CHECK lore_status store_open(const char *url, unsigned flags, store **out, char *err,
                                       size_t errlen);
/* "sqlite" or "postgres": which backend s is. */
const char *store_backend_name(const store *s);
void store_close(store *s);
/* Readiness: the control database answers and its schema is the one this
 * binary expects. err gets the reason otherwise. */
LORE_MUST_CHECK lore_status store_check(store *s, char *err, size_t errlen);

/* ---- migrations (lore migrate) ---- */

/* Schema versions of one database or schema: the control store's (tenant
 * "") or a tenant's. */
typedef struct store_schema_status {
    char tenant[STORE_NAME_MAX + 1]; /* "" for the control store */
    int64_t applied;                 /* migrations applied */
    int64_t known;                   /* migrations this binary has */
} store_schema_status;

/* The control store first, then every tenant by name. *out owned (free()). */
LORE_MUST_CHECK lore_status store_migration_status(store *s, store_schema_status **out, size_t *n);
/* Applies what is pending to the control store and every tenant.
 * Idempotent, and two runs at once (two processes, two nodes) end with one
 * applied set. err names the database that failed. */
LORE_MUST_CHECK lore_status store_migrate(store *s, char *err, size_t errlen);

/* Checks a tenant name: lower-case letters, digits, '-' and '_', starting
 * with a letter or digit, at most STORE_NAME_MAX bytes. */
int store_tenant_name_valid(const char *name);

LORE_MUST_CHECK lore_status store_tenant_create(store *s, const char *name);
/* Removes the tenant and all of its data. */
LORE_MUST_CHECK lore_status store_tenant_delete(store *s, const char *name);
/* Lists tenants by name. *out owned (free()); document and chunk counts
 * included. */
LORE_MUST_CHECK lore_status store_tenant_list(store *s, store_tenant_info **out, size_t *n);
/* Opens a tenant for reading and writing. LORE_NOT_FOUND if it does not
 * exist. Returns owned. */
LORE_MUST_CHECK lore_status store_tenant_open(store *s, const char *name, store_tenant **out);
void store_tenant_close(store_tenant *t);
/* When a tenant was created: a long-lived handle compares it to know the
 * tenant was not deleted and re-created under the same name meanwhile.
 * LORE_NOT_FOUND if it does not exist. */
LORE_MUST_CHECK lore_status store_tenant_created(store *s, const char *name, int64_t *created_ms);
const char *store_tenant_name(const store_tenant *t);

/* ---- transactions (one writer per tenant) ---- */

LORE_MUST_CHECK lore_status store_begin(store_tenant *t);
LORE_MUST_CHECK lore_status store_commit(store_tenant *t);
void store_rollback(store_tenant *t);
/* A read snapshot: every read between these sees one committed state, even
 * while another process writes. Not nestable with store_begin. */
LORE_MUST_CHECK lore_status store_begin_read(store_tenant *t);
void store_end_read(store_tenant *t);

/* ---- documents and chunks ---- */

/* Finds a document by source and external id. LORE_NOT_FOUND if absent.
 * Fills *rowid and hash (65 bytes) when non-NULL. */
LORE_MUST_CHECK lore_status store_doc_lookup(store_tenant *t, const char *source,
                                             const char *external_id, int64_t *rowid, char *hash);

/* Reserves n new chunk ids, ascending and never used before in this
 * tenant, valid until the transaction ends. The index scores a chunk under
 * its id before the chunk row is written, so both land in one commit. */
LORE_MUST_CHECK lore_status store_reserve_chunk_ids(store_tenant *t, size_t n, int64_t *first);

/* Inserts or replaces a document and its chunks (old chunks are removed).
 * doc->rowid, id, indexed_ms and nchunks are computed; text is required.
 * Chunk ids must come from store_reserve_chunk_ids. Must be inside a
 * transaction. */
LORE_MUST_CHECK lore_status store_doc_put(store_tenant *t, store_doc *doc,
                                          const store_chunk_in *chunks, size_t n);

/* Calls fn(ctx, chunk_id, nterms) for each chunk of a document, in order.
 * The lexical index needs the lengths to update its statistics when the
 * chunks go away. nterms is what the index last recorded for the chunk (see
 * store_chunk_set_nterms). */
typedef int (*store_chunk_len_fn)(void *ctx, int64_t chunk_id, uint32_t nterms);
LORE_MUST_CHECK lore_status store_doc_chunks(store_tenant *t, int64_t doc_rowid,
                                             store_chunk_len_fn fn, void *ctx);

/* Calls fn for each chunk with id > after_id, in ascending id order, at
 * most limit of them: its stored nterms, its document's title (NULL if the
 * document has none) and its text (the chunk's byte range of the document
 * text). The strings are borrowed for the duration of the callback; fn
 * returns non-zero to stop. Rebuilding an index reads the chunks this way:
 * ids only grow, so a scan resumed after the last id seen picks up exactly
 * the chunks written since. fn must not write chunks or documents. */
typedef int (*store_chunk_scan_fn)(void *ctx, int64_t chunk_id, uint32_t nterms, const char *title,
                                   size_t title_len, const char *text, size_t text_len);
LORE_MUST_CHECK lore_status store_chunk_scan(store_tenant *t, int64_t after_id, size_t limit,
                                             store_chunk_scan_fn fn, void *ctx);

/* Replaces the nterms stored for a chunk (a rebuilt lexical index may score
 * the chunk with another length). LORE_NOT_FOUND if the chunk is gone. Must
 * be inside a transaction. */
LORE_MUST_CHECK lore_status store_chunk_set_nterms(store_tenant *t, int64_t chunk_id,
                                                   uint32_t nterms);

/* Deletes a document and its chunks. LORE_NOT_FOUND if absent. */
LORE_MUST_CHECK lore_status store_doc_delete(store_tenant *t, int64_t doc_rowid);

/* Reads a document by public id (16 hex digits). with_text adds the text. */
LORE_MUST_CHECK lore_status store_doc_get(store_tenant *t, const char *id, int with_text,
                                          store_doc **out);
LORE_MUST_CHECK lore_status store_doc_get_rowid(store_tenant *t, int64_t rowid, int with_text,
                                                store_doc **out);
void store_doc_free(store_doc *d);

/* Lists documents the viewer may see (NULL: all), filtered by source when
 * non-NULL, with rowid > after, at most limit. */
LORE_MUST_CHECK lore_status store_doc_list(store_tenant *t, const store_viewer *who,
                                           const char *source, int64_t after, size_t limit,
                                           store_doc_fn fn, void *ctx);
/* Documents of a source whose external id is > from and < below (NULL: no
 * upper bound), in external id order (bytewise), at most limit: fn gets the
 * rowid, external id and content hash (borrowed for the call) and returns
 * non-zero to stop. A folder sync lists the ids under a path this way
 * ("/dir/" up to "/dir0"). fn must not write. */
typedef int (*store_doc_ref_fn)(void *ctx, int64_t rowid, const char *external_id,
                                const char *content_hash);
LORE_MUST_CHECK lore_status store_doc_scan_external(store_tenant *t, const char *source,
                                                    const char *from, const char *below,
                                                    size_t limit, store_doc_ref_fn fn, void *ctx);
/* Gives a document a new external id (and so a new public id) in its
 * source, keeping its fields, chunks and index entries: a renamed file.
 * LORE_EXISTS if the source already has that external id, LORE_NOT_FOUND
 * if the document is gone. Must be inside a transaction. */
LORE_MUST_CHECK lore_status store_doc_rename(store_tenant *t, int64_t doc_rowid,
                                             const char *external_id);
/* Whether the viewer may see a document with these ACL principals. */
int store_viewer_sees(const store_viewer *who, char *const *acl, size_t nacl);

LORE_MUST_CHECK lore_status store_chunk_get(store_tenant *t, int64_t chunk_id, store_chunk *out);
void store_chunk_clear(store_chunk *c);

/* Looks up the owner of a chunk for filtering; LORE_NOT_FOUND if the chunk
 * is gone. The borrowed strings stay valid until the next call on t. */
LORE_MUST_CHECK lore_status store_chunk_owner_get(store_tenant *t, int64_t chunk_id,
                                                  store_chunk_owner *out);
/* Just the document of a chunk (cheaper than the owner when nothing else is
 * needed); LORE_NOT_FOUND if the chunk is gone. */
LORE_MUST_CHECK lore_status store_chunk_doc(store_tenant *t, int64_t chunk_id, int64_t *doc_rowid);

/* Sources with the number of documents the viewer may see (NULL: all) and
 * the latest update among them; sources with none visible are left out. */
LORE_MUST_CHECK lore_status store_sources(store_tenant *t, const store_viewer *who,
                                          store_source_info **out, size_t *n);
void store_sources_free(store_source_info *s, size_t n);

/* Documents and chunks in the tenant. */
LORE_MUST_CHECK lore_status store_counts(store_tenant *t, int64_t *docs, int64_t *chunks);

/* Bytes the tenant's data occupies on disk. */
LORE_MUST_CHECK lore_status store_disk_bytes(store_tenant *t, int64_t *bytes);

/* ---- key-value space for index data ----
 *
 * Indexes keep their own structures as byte keys and values in namespaces,
 * written in the same transactions as the documents they describe. Keys are
 * compared bytewise; scans return keys in ascending order. */

/* Namespaces belong to the module that writes them, which names its own
 * in its header; the store knows none of them. The numbers are stored with
 * the data, so a number once given out is never reused or renumbered. Who
 * holds which numbers:
 *
 *   1-8    the lexical index (index/lexical/index_lexical.h, STORE_NS_LEXICAL*)
 *   9-10   folder syncs (ingest/ingest_int.h, STORE_NS_SYNC, STORE_NS_SYNC_IDS)
 *   11     connectors' object states (connectors/connector_sink.c, STORE_NS_CONNECTOR)
 *   12-19  more for the lexical index
 *   20-39  the vector index (index/vector/index_vector.h, STORE_NS_VECTOR_*; 20-26 in use)
 *   40-49  more for ingest
 *   50-59  more for connectors
 *   60-99  embedders and other modules: a new owner takes a range here and
 *          adds its line to this list
 * Namespaces are positive ints. */
#define STORE_NS_LEXICAL_FIRST 1
#define STORE_NS_LEXICAL_LAST 8
#define STORE_NS_LEXICAL_MORE_FIRST 12
#define STORE_NS_LEXICAL_MORE_LAST 19
#define STORE_NS_VECTOR_FIRST 20
#define STORE_NS_VECTOR_LAST 39
#define STORE_NS_INGEST_FIRST 9
#define STORE_NS_INGEST_LAST 10
#define STORE_NS_INGEST_MORE_FIRST 40
#define STORE_NS_INGEST_MORE_LAST 49
#define STORE_NS_CONNECTOR_FIRST 11
#define STORE_NS_CONNECTOR_LAST 11
#define STORE_NS_CONNECTOR_MORE_FIRST 50
#define STORE_NS_CONNECTOR_MORE_LAST 59

LORE_MUST_CHECK lore_status store_kv_put(store_tenant *t, int ns, const void *key, size_t klen,
                                         const void *val, size_t vlen);
/* Reads a value into val (replacing its content). LORE_NOT_FOUND if absent. */
LORE_MUST_CHECK lore_status store_kv_get(store_tenant *t, int ns, const void *key, size_t klen,
                                         lore_buf *val);
LORE_MUST_CHECK lore_status store_kv_delete(store_tenant *t, int ns, const void *key, size_t klen);
/* Deletes keys in [lo, hi) (hi NULL: to the end of the namespace). */
LORE_MUST_CHECK lore_status store_kv_delete_range(store_tenant *t, int ns, const void *lo,
                                                  size_t lolen, const void *hi, size_t hilen);
/* Calls fn for each key in [lo, hi) in order (hi NULL: to the end). key and
 * val are borrowed for the duration of the callback; fn returns non-zero to
 * stop. */
typedef int (*store_kv_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen);
LORE_MUST_CHECK lore_status store_kv_scan(store_tenant *t, int ns, const void *lo, size_t lolen,
                                          const void *hi, size_t hilen, store_kv_fn fn, void *ctx);

/* Last error message from the backend for t (never NULL). */
const char *store_tenant_errmsg(store_tenant *t);

/* ---- API keys (control database) ----
 *
 * The records behind `Authorization: Bearer` keys. The store keeps what
 * auth/apikey.c hands it and answers lookups; it knows nothing of the key
 * format beyond the id, and treats scopes as opaque bits. Only a hash of a
 * key is ever stored, never the key. A key belongs to one tenant and is
 * deleted with it, so re-creating a tenant of the same name never revives
 * old keys. */

#define STORE_KEY_ID_LEN 12 /* public key ids: 12 lower-case hex digits */

typedef struct store_key {
    char id[STORE_KEY_ID_LEN + 1]; /* public, part of the key's visible prefix */
    char tenant[STORE_NAME_MAX + 1];
    char *name;        /* a label chosen by the key's creator; may be NULL */
    unsigned scopes;   /* AUTH_SCOPE_* bits (auth/apikey.h); opaque here */
    char **principals; /* who the key acts for ("user:a@x", "group:eng") */
    size_t nprincipals;
    char hash[65]; /* lower-case hex SHA-256 of the whole key string */
    int64_t created_ms;
    int64_t expires_ms; /* 0 = never */
    int64_t revoked_ms; /* 0 = live */
    /* Filled by store_key_get only (0 elsewhere, or if unknown): the
     * creation time of the key's tenant, as store_tenant_created gives it,
     * read in the same statement, so a server can tell a tenant deleted and
     * created again by another process from the one it has open. */
    int64_t tenant_created_ms;
} store_key;

/* Stores a new key record. The id must be 12 lower-case hex digits, the hash
 * 64, and no principal may be empty or contain a newline (the stored form
 * joins them with newlines). LORE_EXISTS if the id is taken (in any
 * tenant), LORE_NOT_FOUND if the tenant does not exist, LORE_INVALID for a
 * malformed record. */
LORE_MUST_CHECK lore_status store_key_put(store *s, const store_key *k);
/* Reads a key by id, revoked or not. LORE_NOT_FOUND if there is none.
 * Every authenticated request calls this: it runs a statement prepared once
 * per store (a few microseconds). *out owned, freed with store_key_free. */
LORE_MUST_CHECK lore_status store_key_get(store *s, const char *id, store_key **out);
/* Lists the keys of a tenant (NULL: of every tenant), revoked ones
 * included, by tenant then creation time. LORE_NOT_FOUND if the tenant is
 * named and does not exist. *out owned, freed with store_keys_free. */
LORE_MUST_CHECK lore_status store_key_list(store *s, const char *tenant, store_key **out,
                                           size_t *n);
/* Marks a key revoked at now_ms; the next store_key_get sees it. tenant
 * NULL matches the key in whichever tenant holds it. LORE_NOT_FOUND if no
 * such key (in that tenant). Revoking a revoked key is LORE_OK and keeps the
 * first revocation time. */
LORE_MUST_CHECK lore_status store_key_revoke(store *s, const char *tenant, const char *id,
                                             int64_t now_ms);
void store_key_free(store_key *k);
void store_keys_free(store_key *k, size_t n);

/* ---- browser sessions (control database) ----
 *
 * A session (api/api_session.c) stands for an API key in a browser's
 * cookie. The store keeps the SHA-256 (hex) of the session id, never the id,
 * and the key it stands for; whether that key is still live is checked
 * against api_keys on every use. */

typedef struct store_session {
    char hash[65]; /* lower-case hex SHA-256 of the session id */
    char key_id[STORE_KEY_ID_LEN + 1];
    char tenant[STORE_NAME_MAX + 1];
    int64_t created_ms;
    int64_t expires_ms; /* now_ms >= expires_ms: expired */
} store_session;

/* Stores a new session and deletes every session expired at created_ms
 * (so the table holds live sessions only, plus those expired since the
 * last sign-in). LORE_INVALID for a malformed record, LORE_EXISTS for a
 * taken hash. */
LORE_MUST_CHECK lore_status store_session_put(store *s, const store_session *x);
/* Reads a session by hash into *out. LORE_NOT_FOUND if there is none. */
LORE_MUST_CHECK lore_status store_session_get(store *s, const char *hash, store_session *out);
/* Deletes one session; LORE_NOT_FOUND if there is none. */
LORE_MUST_CHECK lore_status store_session_delete(store *s, const char *hash);

/* ---- sealed secrets (control database) ----
 *
 * Rows of secrets/secrets.c: the store keeps opaque sealed bytes and the id
 * of the key that sealed them, never a clear value (it does not know how to
 * make one). A secret belongs to a tenant, or to the server when tenant is
 * "", and is deleted with its tenant. */

#define STORE_SECRET_NAME_MAX 128     /* bytes of a name (secrets.c checks the characters) */
#define STORE_SECRET_KEY_ID_MAX 32    /* bytes of a key id */
#define STORE_SECRET_SEALED_MAX 65536 /* bytes of a sealed value */

typedef struct store_secret {
    char tenant[STORE_NAME_MAX + 1]; /* "" = the server's */
    char name[STORE_SECRET_NAME_MAX + 1];
    char key_id[STORE_SECRET_KEY_ID_MAX + 1];
    uint8_t *sealed; /* owned; NULL when not asked for */
    size_t sealed_len;
    int64_t created_ms, updated_ms;
} store_secret;

/* Creates or replaces a secret (a replaced one keeps its created_ms).
 * LORE_NOT_FOUND if tenant is not "" and does not exist, LORE_INVALID for
 * an empty or overlong name, key id or sealed value. */
LORE_MUST_CHECK lore_status store_secret_put(store *s, const char *tenant, const char *name,
                                             const char *key_id, const uint8_t *sealed, size_t len,
                                             int64_t now_ms);
/* Reads one secret with its sealed bytes into *out (store_secret_clear).
 * LORE_NOT_FOUND if there is none. */
LORE_MUST_CHECK lore_status store_secret_get(store *s, const char *tenant, const char *name,
                                             store_secret *out);
/* Replaces the sealed bytes and key id of a secret only if they are still
 * old_key_id and old_sealed (a re-seal racing a `secrets set` loses, never
 * the new value). LORE_BUSY when the row changed meanwhile, LORE_NOT_FOUND
 * when it is gone. updated_ms is kept: the value did not change. */
LORE_MUST_CHECK lore_status store_secret_reseal(store *s, const char *tenant, const char *name,
                                                const char *old_key_id, const uint8_t *old_sealed,
                                                size_t old_len, const char *key_id,
                                                const uint8_t *sealed, size_t len);
/* LORE_NOT_FOUND if there was none. */
LORE_MUST_CHECK lore_status store_secret_delete(store *s, const char *tenant, const char *name);
/* Secrets of a tenant ("" the server's, NULL every tenant's and the
 * server's) in (tenant, name) order after the pair (after_tenant,
 * after_name) (after_tenant NULL: from the start), at most limit;
 * with_sealed adds the sealed bytes. *out owned (store_secrets_free). */
LORE_MUST_CHECK lore_status store_secret_list(store *s, const char *tenant,
                                              const char *after_tenant, const char *after_name,
                                              size_t limit, int with_sealed, store_secret **out,
                                              size_t *n);
void store_secret_clear(store_secret *x);
void store_secrets_free(store_secret *x, size_t n);

/* ---- connector instances (control database) ----
 *
 * A connector instance (connectors/connector.h) is a source of one kind
 * feeding one tenant through signed webhooks. The store keeps what
 * connectors/connector_admin.c hands it; the signing secrets are not here
 * but sealed in the secrets table (secrets/secrets.h) under the names
 * "connector:<id>" and "connector:<id>:previous". Instances are deleted
 * with their tenant. Ids are opaque to the store: 1 to STORE_CONNECTOR_ID_MAX
 * bytes of [a-z0-9_]. */

#define STORE_CONNECTOR_ID_MAX 32
#define STORE_CONNECTOR_KIND_MAX 15
#define STORE_CONNECTOR_SOURCE_MAX 64

typedef struct store_connector {
    char id[STORE_CONNECTOR_ID_MAX + 1];
    char tenant[STORE_NAME_MAX + 1];
    char kind[STORE_CONNECTOR_KIND_MAX + 1];
    char source[STORE_CONNECTOR_SOURCE_MAX + 1];
    char **acl; /* principals given to the documents (none: the whole tenant) */
    size_t nacl;
    int64_t created_ms;
    int64_t secret_rotated_ms;        /* last rotate-secret, 0: never */
    int64_t previous_secret_until_ms; /* the previous secret verifies until then; 0: none */
} store_connector;

/* Stores a new instance. LORE_EXISTS if the id is taken, LORE_NOT_FOUND if
 * the tenant does not exist, LORE_INVALID for a malformed record (an ACL
 * principal empty or with a newline). */
LORE_MUST_CHECK lore_status store_connector_put(store *s, const store_connector *c);
/* Reads an instance by id (any tenant). LORE_NOT_FOUND if there is none or
 * the id is malformed. The webhook gate calls this on every delivery: its
 * statement is prepared once per store. *out owned (store_connector_free). */
LORE_MUST_CHECK lore_status store_connector_get(store *s, const char *id, store_connector **out);
/* Instances of a tenant (NULL: all), by tenant then creation time.
 * LORE_NOT_FOUND if the tenant is named and does not exist. */
LORE_MUST_CHECK lore_status store_connector_list(store *s, const char *tenant,
                                                 store_connector **out, size_t *n);
/* Records a secret rotation. tenant NULL: any. LORE_NOT_FOUND if no such
 * instance (in that tenant). */
LORE_MUST_CHECK lore_status store_connector_rotated(store *s, const char *tenant, const char *id,
                                                    int64_t rotated_ms, int64_t previous_until_ms);
/* Deletes an instance (tenant NULL: in whichever tenant holds it).
 * LORE_NOT_FOUND if there is none. */
LORE_MUST_CHECK lore_status store_connector_delete(store *s, const char *tenant, const char *id);
void store_connector_free(store_connector *c);
void store_connectors_free(store_connector *c, size_t n);

/* ---- durable jobs (control database) ----
 *
 * The queue behind every write: see docs/jobs.md for the semantics (FIFO per
 * group, dedup keys, leases, retries, dead letters). The store keeps the
 * rows and makes each transition atomic; policy (backoff, attempt limits,
 * retention) belongs to queue/. Jobs of one tenant are deleted with it.
 *
 * A job's groups are the documents it touches. A pending job runs only when
 * no earlier pending job shares a group with it, so jobs of one group run
 * one at a time and in order. A lease is identified by a sequence number
 * that grows with every claim, so a worker that lost its lease can never
 * finish or renew the claim another worker took over. */

typedef enum store_job_state {
    STORE_JOB_READY = 0,  /* waiting to run once visible_ms has passed */
    STORE_JOB_LEASED = 1, /* a worker holds it until visible_ms */
    STORE_JOB_DONE = 2,
    STORE_JOB_DEAD = 3, /* gave up after max_attempts; kept with its error */
} store_job_state;

#define STORE_JOB_KIND_MAX 31
#define STORE_JOB_DEDUP_MAX 256
#define STORE_JOB_GROUP_MAX 128         /* bytes of one group key */
#define STORE_JOB_ALONE (INT64_MAX / 4) /* a weight that makes a job claimed alone */
/* The public id of a job: "job_" and 24 lower-case hex digits (96 random
 * bits). Clients only ever see this one; the integer id is internal (it
 * counts every tenant's jobs, so showing it would tell one tenant how much
 * the others write). */
#define STORE_JOB_PUB_PREFIX "job_"
#define STORE_JOB_PUB_LEN 28
/* The longest reference store_job_find looks at (a public id or a legacy
 * number); anything longer names no job. */
#define STORE_JOB_REF_MAX 64

typedef struct store_job {
    int64_t id;                      /* internal: the queue's own key, never shown */
    char pub[STORE_JOB_PUB_LEN + 1]; /* public id ("" only for a damaged row) */
    int64_t seq;                     /* position among the tenant's jobs (1, 2, ...) */
    char tenant[STORE_NAME_MAX + 1];
    char kind[STORE_JOB_KIND_MAX + 1]; /* "documents", "file", "delete", "reindex" */
    char *dedup_key;                   /* NULL: none */
    char **groups;                     /* FIFO groups (document ids) */
    size_t ngroups;
    uint8_t *payload; /* inline payload, NULL when none or not asked for */
    size_t payload_len;
    char *blob;        /* payload file name under the blob directory, NULL: none */
    int64_t weight;    /* bytes of work (payload or blob size), for claim batching */
    int state;         /* store_job_state */
    int attempts;      /* claims so far (a lost lease counts) */
    int max_attempts;  /* dead-lettered when a failure reaches this many */
    int64_t lease_seq; /* sequence of the current (or last) lease */
    int64_t created_ms, updated_ms;
    int64_t visible_ms;  /* ready: runnable from; leased: lease expiry */
    int64_t started_ms;  /* last claim */
    int64_t finished_ms; /* done or dead */
    char *worker;        /* holder of the current or last lease */
    char *error;         /* last failure */
    char *result;        /* JSON summary of a done job */
    char *owner;         /* who queued it (an API key id), NULL: the operator (CLI) */
} store_job;

/* Why an enqueue did not add a job. */
typedef enum store_enqueue_outcome {
    STORE_ENQUEUED,
    STORE_ENQUEUE_DUPLICATE,   /* *job now describes the earlier job with that dedup key */
    STORE_ENQUEUE_TENANT_FULL, /* the tenant has max_tenant pending jobs */
    STORE_ENQUEUE_QUEUE_FULL,  /* all tenants together have max_total pending jobs */
} store_enqueue_outcome;

/* Adds ready jobs, all or none (tenant, kind, dedup_key, groups, payload or
 * blob, weight, max_attempts, visible_ms, owner read from each; id, pub,
 * seq and times filled in). A job whose dedup key the tenant already used is not added:
 * its ids, state, counts and times become the earlier job's (its strings
 * stay the caller's) and the outcome is DUPLICATE.
 * Pending jobs (ready or leased) are capped per tenant and overall (0: no
 * cap); when the new jobs would pass a cap none is added. LORE_NOT_FOUND if
 * a tenant does not exist. */
LORE_MUST_CHECK lore_status store_job_enqueue(store *s, store_job *jobs, size_t n,
                                              int64_t max_tenant, int64_t max_total, int64_t now_ms,
                                              store_enqueue_outcome *outcome);

/* Claims up to max_jobs runnable jobs of one tenant (the tenant of the
 * oldest runnable job), together weighing at most max_weight (the first job
 * is taken whatever its weight), for worker until now_ms + lease_ms. A
 * job weighing STORE_JOB_ALONE or more is always claimed alone (a re-index,
 * a directory walk). Payloads are included. *out owned
 * (store_jobs_free); *n is 0 when nothing is runnable. */
LORE_MUST_CHECK lore_status store_job_claim(store *s, const char *worker, int64_t now_ms,
                                            int64_t lease_ms, size_t max_jobs, int64_t max_weight,
                                            store_job **out, size_t *n);
/* store_job_claim, passing over the tenants in avoid[0, navoid) (those
 * other workers are running, the one this worker just ran) while another
 * tenant has a runnable job; when none has, they are claimed as usual. So
 * one tenant's backlog or slow batch does not hold the others' jobs. */
LORE_MUST_CHECK lore_status store_job_claim_avoiding(store *s, const char *worker, int64_t now_ms,
                                                     int64_t lease_ms, size_t max_jobs,
                                                     int64_t max_weight, const char *const *avoid,
                                                     size_t navoid, store_job **out, size_t *n);

/* Extends the lease of a claimed job to until_ms. LORE_NOT_FOUND if the
 * lease is no longer this claim's (expired and taken over, or finished). */
LORE_MUST_CHECK lore_status store_job_renew(store *s, int64_t id, int64_t lease_seq,
                                            int64_t until_ms);

/* How a claimed job ended. */
typedef struct store_job_outcome {
    int64_t id, lease_seq;
    int state;          /* DONE; READY (retry at visible_ms, attempt counted); DEAD */
    int release;        /* READY only: not an attempt (the claim is undone) */
    int64_t visible_ms; /* READY: when to run again (with release: at once if earlier) */
    const char *error;  /* READY/DEAD: the failure */
    const char *result; /* DONE: JSON summary, may be NULL */
    int lost;           /* out: the lease was not this claim's any more; nothing changed */
} store_job_outcome;

/* Applies outcomes in one transaction. A done job drops its inline payload;
 * done and dead jobs stop blocking their groups. */
LORE_MUST_CHECK lore_status store_job_finish(store *s, store_job_outcome *o, size_t n,
                                             int64_t now_ms);

/* Reads a job by internal id (tenant NULL: any tenant). LORE_NOT_FOUND if
 * absent (or in another tenant). with_payload adds the inline payload. */
LORE_MUST_CHECK lore_status store_job_get(store *s, const char *tenant, int64_t id,
                                          int with_payload, store_job **out);
/* Reads a job by the reference a client gave (tenant NULL: any tenant): its
 * public id, or a decimal number, which names only a job queued before
 * public ids existed (a legacy id, the integer those servers handed out).
 * A malformed reference, a job of another tenant and a new job's internal
 * number are all LORE_NOT_FOUND, like a missing job. */
LORE_MUST_CHECK lore_status store_job_find(store *s, const char *tenant, const char *ref,
                                           int with_payload, store_job **out);
/* Reads the tenant's job queued with a dedup key. LORE_NOT_FOUND if none
 * (never used, or purged with its job). */
LORE_MUST_CHECK lore_status store_job_get_dedup(store *s, const char *tenant, const char *dedup_key,
                                                store_job **out);
/* Lists jobs newest first, of a tenant (NULL: all) and a state (-1: any),
 * at most limit, without payloads. before pages through one tenant's jobs:
 * only jobs with seq < before (0: from the newest; a tenant is needed
 * otherwise, LORE_INVALID). */
LORE_MUST_CHECK lore_status store_job_list(store *s, const char *tenant, int state, int64_t before,
                                           size_t limit, store_job **out, size_t *n);
/* Puts a dead job back in the queue: ready now, attempts reset, error kept
 * until it runs. LORE_NOT_FOUND if absent, LORE_INVALID if not dead. */
LORE_MUST_CHECK lore_status store_job_retry(store *s, const char *tenant, int64_t id,
                                            int64_t now_ms);
/* Deletes done and/or dead jobs (state -1: both) of a tenant (NULL: all)
 * finished before before_ms. For each deleted job with a blob, fn is
 * called with the blob name (to remove the file) after the commit. */
typedef void (*store_blob_fn)(void *ctx, const char *tenant, const char *blob);
LORE_MUST_CHECK lore_status store_job_purge(store *s, const char *tenant, int state,
                                            int64_t before_ms, store_blob_fn fn, void *ctx,
                                            int64_t *deleted);

/* Queue figures for metrics and back-pressure. */
typedef struct store_job_count {
    char tenant[STORE_NAME_MAX + 1];
    char kind[STORE_JOB_KIND_MAX + 1];
    int state; /* READY, LEASED or DEAD (done jobs are counted by workers) */
    int64_t count;
} store_job_count;
LORE_MUST_CHECK lore_status store_job_counts(store *s, store_job_count **out, size_t *n);
/* Creation time of the oldest runnable ready job (0: none) and pending jobs
 * of a tenant (NULL: all). */
LORE_MUST_CHECK lore_status store_job_pending(store *s, const char *tenant, int64_t now_ms,
                                              int64_t *oldest_ready_ms, int64_t *pending);

void store_job_free(store_job *j);
void store_jobs_free(store_job *j, size_t n);

/* Waits for a sign that a job may have become runnable anywhere (enqueued,
 * retried, released, by any process): LORE_OK when one came, LORE_TIMEOUT
 * when timeout_ms passed or cancel_fd (-1: none) became readable first (the
 * caller knows why). LORE_OK also marks the start of listening, at the first
 * wait and after a reconnect: a job enqueued while no one listened woke no
 * one, so the caller looks. LORE_IO at once when the backend cannot listen
 * now (its connection failed; logged): the caller polls and calls again
 * later, which reconnects. LORE_UNSUPPORTED when the backend cannot tell at
 * all (sqlite; postgres with listen=off, or whose LISTEN proved deaf, as
 * behind a transaction-mode PgBouncer): the caller polls. */
LORE_MUST_CHECK lore_status store_job_wait(store *s, int64_t timeout_ms, int cancel_fd);

/* ---- blobs ----
 *
 * Job payloads too big to keep inline (uploads, import archives), kept by
 * the store under a name it picks, and job outputs (a path job's problems)
 * under a name the job's creator picks; per tenant, deleted with the tenant.
 * A job names its blob (store_job.blob); the queue removes the blob when
 * the job is purged. */

typedef struct store_blob_writer store_blob_writer;

/* Starts a new blob of tenant under a fresh name (written into name_out,
 * STORE_BLOB_NAME_MAX + 1 bytes). Returns the owned writer. */
LORE_MUST_CHECK lore_status store_blob_create(store *s, const char *tenant, char *name_out,
                                              store_blob_writer **w);
/* Starts a blob of tenant under the caller's name (a job's output, named
 * when the job is queued): 1 to STORE_BLOB_NAME_MAX bytes of letters,
 * digits, '.', '_' and '-', not starting with '.' (LORE_INVALID otherwise;
 * store_blob_name_valid). store_blob_finish with keep = 1 makes it visible
 * under that name, replacing any blob of that name whole (a reader finds
 * the old one or the new one, never a part); keep = 0 discards it and
 * leaves an older blob of that name as it was. Of two writers of one name
 * the last to finish wins. Returns the owned writer. */
LORE_MUST_CHECK lore_status store_blob_create_named(store *s, const char *tenant, const char *name,
                                                    store_blob_writer **w);
/* 1 if name is a valid name for store_blob_create_named. */
int store_blob_name_valid(const char *name);
/* Appends len bytes. */
LORE_MUST_CHECK lore_status store_blob_write(store_blob_writer *w, const void *data, size_t len);
/* keep = 1: makes the blob durable and visible under its name (before the
 * job that names it is queued); keep = 0: discards it. Frees w either way. */
LORE_MUST_CHECK lore_status store_blob_finish(store_blob_writer *w, int keep);
/* Size of a blob; LORE_NOT_FOUND if there is none. */
LORE_MUST_CHECK lore_status store_blob_size(store *s, const char *tenant, const char *name,
                                            int64_t *bytes);
/* Reads up to len bytes at offset into buf; *got is less than len only at
 * the end (0 past it). LORE_NOT_FOUND if there is no such blob. */
LORE_MUST_CHECK lore_status store_blob_read(store *s, const char *tenant, const char *name,
                                            int64_t offset, void *buf, size_t len, size_t *got);
/* Removes a blob (a store_blob_fn: ctx is the store). Missing is fine. */
void store_blob_remove(void *store_ctx, const char *tenant, const char *name);
/* The path of one blob of a tenant, for backends that keep blobs as files
 * (LORE_UNSUPPORTED otherwise). Only for store_blob_local_path and the
 * store's own tests: anything that reads a blob uses store_blob_read or
 * store_blob_local_path, anything that writes one a blob writer. */
LORE_MUST_CHECK lore_status store_blob_path(store *s, const char *tenant, const char *blob,
                                            char *out, size_t outlen);

/* Helpers over the calls above (store_common.c), for every backend. */

/* A new blob of tenant holding data[0, len) (create, write, finish; the
 * name into name_out as store_blob_create). */
LORE_MUST_CHECK lore_status store_blob_put(store *s, const char *tenant, const void *data,
                                           size_t len, char *name_out);
/* A new blob of tenant holding a copy of the file at path (an upload's
 * spool file); *bytes gets its size. */
LORE_MUST_CHECK lore_status store_blob_put_file(store *s, const char *tenant, const char *path,
                                                char *name_out, int64_t *bytes);
/* The whole blob in memory (at most max bytes: LORE_TOO_LARGE past it);
 * *out owned (free()), NUL-terminated after *len bytes. */
LORE_MUST_CHECK lore_status store_blob_load(store *s, const char *tenant, const char *name,
                                            size_t max, char **out, size_t *len);
/* A local file holding the blob, for parsers that need one (pdftotext,
 * libzip): the blob itself when the backend keeps blobs as files
 * (*is_temp 0), else a copy made in tmpdir (NULL: $TMPDIR, else /tmp),
 * which the caller unlinks (*is_temp 1). LORE_NOT_FOUND if there is no
 * such blob. */
LORE_MUST_CHECK lore_status store_blob_local_path(store *s, const char *tenant, const char *name,
                                                  const char *tmpdir, char *out, size_t outlen,
                                                  int *is_temp);

/* ---- backup and restore ----
 *
 * A backup is a directory laid out like a data directory, taken while the
 * store keeps serving: each database is copied page by page from one read
 * snapshot (a reader never blocks writers), in steps of step_pages pages.
 * Copy order: the control database first (its snapshot time is the
 * backup's), then the blobs its pending and dead jobs name, then each
 * tenant listed in it. So a job done in the copy has its documents in the
 * copied tenant (they commit before the job is marked done), and a job whose
 * blob was removed before it could be copied (it finished, or was purged,
 * meanwhile) gets its later state recorded in the copy, its documents being
 * in the tenants copied after. Leases are released in the copy (their
 * workers are not part of it); a tenant deleted meanwhile is left out. See
 * docs/storage.md, "Backup and restore". Like store_open's data_dir, the
 * backup and restore directories are whole places handed to the backend;
 * which files it keeps inside them stays its own business. */

typedef struct store_backup_tenant {
    char name[STORE_NAME_MAX + 1];
    int64_t created_ms;
    int64_t schema; /* migrations applied to its database */
    int64_t documents, chunks;
    int64_t bytes; /* size of its database file */
} store_backup_tenant;

typedef struct store_backup_blob {
    char tenant[STORE_NAME_MAX + 1];
    char *name; /* owned */
    int64_t bytes;
    char sha256[65]; /* lower-case hex */
} store_backup_blob;

typedef struct store_backup_report {
    int64_t snapshot_ms;    /* when the control database was read */
    int64_t control_schema; /* migrations applied to the control database */
    int64_t keys, jobs, jobs_pending;
    store_backup_tenant *tenants; /* by name; owned */
    size_t ntenants;
    store_backup_blob *blobs; /* owned */
    size_t nblobs;
    /* What changed while store_backup ran (zero for a restore): */
    int64_t jobs_settled;     /* finished or purged before their blob was copied */
    int64_t leases_released;  /* leased jobs put back to ready in the copy */
    int64_t tenants_left_out; /* deleted (or re-created) during the backup */
    int64_t blobs_missing;    /* named by a pending or dead job, absent from the store too */
} store_backup_report;

/* The schema versions this binary writes (control, tenant). */
void store_schema_versions(int64_t *control, int64_t *tenant);

/* Backs the store up into dest_dir, which must be absent or an empty
 * directory (LORE_EXISTS otherwise). step_pages 0: 256. On failure what was
 * written is removed. *out owned (store_backup_report_clear); err filled on
 * failure. */
LORE_MUST_CHECK lore_status store_backup(store *s, const char *dest_dir, size_t step_pages,
                                         store_backup_report *out, char *err, size_t errlen);

/* Restores the backup in src_dir into data_dir, which must be absent or an
 * empty directory (LORE_EXISTS otherwise). The backup is only read. Each
 * restored database passes an integrity check, and the restored store must
 * match expect (what store_backup reported, read back from the manifest):
 * schemas, tenants with their counts, keys and jobs; every blob in expect is
 * copied and its size and SHA-256 checked. LORE_UNSUPPORTED for a backup
 * made by a newer lore. On failure data_dir is emptied again. */
LORE_MUST_CHECK lore_status store_restore(const char *src_dir, const char *data_dir,
                                          const store_backup_report *expect,
                                          store_backup_report *out, char *err, size_t errlen);
void store_backup_report_clear(store_backup_report *r);

#endif
