/* PostgreSQL backend: the migrations of a tenant schema (lore_tenant_<id>),
 * applied in order, each in one transaction, with search_path set to the
 * schema (pg_tenants.c at create, pg_store.c's migrate later). Each entry
 * may hold several statements: run it with the simple protocol (PQexec).
 * A number once given out is never changed; a change is a new entry.
 *
 * The layout mirrors the SQLite tenant database (sqlite_docs.c):
 *   documents: rowid (bigserial), public id, source and external_id
 *     (COLLATE "C": the bytewise order store_doc_scan_external promises,
 *     whatever the database's locale), fields, acl (principals joined by
 *     "\n"; '' = whole tenant) and body as bytea (the exact bytes: chunk
 *     ranges are byte ranges; stored uncompressed out of line, so a chunk
 *     reads its slice without the whole text).
 *   chunks: id (given by chunk_ids, never reused), doc (cascade), ordinal,
 *     byte range, section, ntokens, nterms.
 *   chunk_ids: the next reservable chunk id (one row), advanced inside the
 *     writer's transaction, so a rollback gives the ids back and ids only
 *     grow across commits.
 *   kv: (ns, key bytea, val bytea), primary key (ns, key); bytea compares
 *     bytewise, shorter first on a common prefix, as SQLite's BLOB does.
 *   cache_gen: one row, the schema's random nonce and its generation,
 *     bumped by every transaction that writes (pg_kv.c's cache). */
#include "store/postgres/pg_int.h"

const char *const pg_tenant_migrations[] = {
    "CREATE TABLE documents("
    " rowid bigserial PRIMARY KEY,"
    " id text COLLATE \"C\" NOT NULL UNIQUE,"
    " source text COLLATE \"C\" NOT NULL,"
    " external_id text COLLATE \"C\" NOT NULL,"
    " title text, url text, author text,"
    " created_ms bigint NOT NULL DEFAULT 0,"
    " updated_ms bigint NOT NULL DEFAULT 0,"
    " indexed_ms bigint NOT NULL,"
    " content_hash text NOT NULL,"
    " metadata text,"
    " acl text NOT NULL DEFAULT '',"
    " body bytea NOT NULL,"
    " UNIQUE(source, external_id));"
    "ALTER TABLE documents ALTER COLUMN body SET STORAGE EXTERNAL;"
    "CREATE INDEX documents_source ON documents(source, rowid);"
    "CREATE TABLE chunks("
    " id bigint PRIMARY KEY,"
    " doc bigint NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,"
    " ordinal integer NOT NULL,"
    " byte_start bigint NOT NULL, byte_end bigint NOT NULL,"
    " section text NOT NULL DEFAULT '',"
    " ntokens bigint NOT NULL, nterms bigint NOT NULL);"
    "CREATE INDEX chunks_doc ON chunks(doc, ordinal);"
    "CREATE TABLE chunk_ids(next bigint NOT NULL);"
    "INSERT INTO chunk_ids VALUES (1);"
    "CREATE TABLE kv(ns integer NOT NULL, key bytea NOT NULL, val bytea NOT NULL,"
    " PRIMARY KEY(ns, key));"
    "ALTER TABLE kv ALTER COLUMN val SET STORAGE EXTERNAL;"
    "CREATE TABLE cache_gen(nonce text NOT NULL, gen bigint NOT NULL);"
    "INSERT INTO cache_gen VALUES (md5(random()::text || clock_timestamp()::text"
    " || current_schema()), 0);",
};
const size_t pg_tenant_migration_count =
    sizeof pg_tenant_migrations / sizeof pg_tenant_migrations[0];
