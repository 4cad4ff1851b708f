/* Ingest: documents in, searchable chunks out.
 *
 * One path for every writer (today the CLI; later the HTTP API and job
 * workers): parse -> chunk -> index -> store. Documents are written in
 * batches, one store transaction per batch, holding the document rows, the
 * chunk rows and the lexical index segment together, so a crash leaves each
 * batch either fully visible or absent.
 *
 * Field caps (a document over one is reported and skipped, never cut):
 * external id 4096 bytes, title 4 KiB, url 8 KiB, author 1 KiB, metadata
 * JSON 64 KiB, at most 256 ACL principals of at most 256 bytes each.
 *
 * A document is identified by (source, external id). Ingesting it again
 * with the same content hash is a no-op; with a different hash its chunks are
 * replaced in the same transaction. */
#ifndef LORE_INGEST_INGEST_H
#define LORE_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "index/lexical/index_lexical.h"
#include "parse/parse.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"

/* The field caps above, for callers that validate before ingesting (the
 * REST API answers a bad field with its JSON Pointer). */
#define INGEST_MAX_EXTERNAL_ID 4096
#define INGEST_MAX_TITLE 4096
#define INGEST_MAX_URL 8192
#define INGEST_MAX_AUTHOR 1024
#define INGEST_MAX_METADATA 65536
#define INGEST_MAX_PRINCIPALS 256
#define INGEST_MAX_PRINCIPAL 256

typedef struct ingest_stats {
    uint64_t files, files_failed, files_skipped;
    uint64_t docs_added, docs_updated, docs_unchanged, docs_failed, docs_deleted;
    uint64_t docs_renamed; /* moved to a renamed file's path without a parse (syncs) */
    uint64_t chunks, bytes;
} ingest_stats;

typedef struct ingest_options {
    const char *source;     /* default "files" */
    const char *const *acl; /* principals added to every document */
    size_t nacl;
    parse_limits limits;
    chunk_options chunking;
    size_t batch_docs;  /* documents per transaction (default 20,000) */
    size_t batch_bytes; /* text bytes per transaction (default 64 MiB) */
    /* Progress and per-file problems; may be NULL. is_error is 0 for notes
     * (a file skipped as binary), 1 for failures. */
    void (*on_progress)(void *ctx, const ingest_stats *s);
    void (*on_problem)(void *ctx, const char *path, const char *message, int is_error);
    /* Whether a document that already exists may be replaced (NULL: always).
     * The API uses it so a key cannot overwrite a document its principals
     * cannot see; a refused document is reported and counted as failed. */
    int (*may_replace)(void *ctx, const store_doc *existing);
    void *cb_ctx;
    /* This process embeds new chunks (embed_url is set): chunks are queued
     * for embedding even before the tenant has vectors. Either way they are
     * queued once the tenant has a vector slot (ingest_embed.h). */
    int embed_configured;
    /* Called inside a batch's transaction before it commits, when the batch
     * queued chunks for embedding (NULL: nobody is told; the rows wait for
     * the next embed job): queues the job that embeds them, so a crash
     * after the commit cannot leave them without one. An error rolls the
     * batch back. ingest_embed_on_pending is the one every writer uses. */
    lore_status (*on_embed_pending)(void *ctx, store_tenant *t);
    void *embed_ctx;
} ingest_options;

typedef struct ingest_session ingest_session;

void ingest_options_default(ingest_options *o);

/* Starts a session on an open tenant context (borrowed: its store handle
 * and indexes, and its vector handles, which the session opens to remove
 * the vectors of chunks it deletes; it must outlive the session). */
LORE_MUST_CHECK lore_status ingest_session_new(tenant_ctx *ctx, const ingest_options *opt,
                                               ingest_session **out);

/* Ingests a file or, recursively, a directory (hidden entries and symlinked
 * directories skipped). A file that cannot be read or parsed is reported
 * through on_problem and counted; the rest goes on. Returns an error only
 * when the store fails (then the current batch is rolled back). */
LORE_MUST_CHECK lore_status ingest_path(ingest_session *s, const char *path);

/* 1 when dir holds no entry at all. A sync refuses an empty directory: an
 * unmounted disk or a folder emptied by mistake looks like this, and syncing
 * it would delete every document synced from it. */
int ingest_sync_dir_empty(const char *dir);
#define INGEST_SYNC_EMPTY_HINT                                                                     \
    "it is empty, and a sync of it would delete every document synced from it (an unmounted "      \
    "disk looks like this); nothing was deleted. To remove them all, leave one file in it and "    \
    "sync again"

/* Ingests a directory as ingest_path does, then makes the documents of the
 * session's source that came from files under it match it: the documents
 * of files that are gone are deleted, those a changed file no longer holds
 * too, a renamed file with unchanged bytes takes over its documents
 * without a parse, and a file whose size and mtime are as the last sync
 * recorded is not read. Only documents whose external ids are the paths of
 * files under dir ("/dir/a.md", "/dir/a.jsonl#7"), or ids of records that
 * a synced file under dir produced and none produces any more, are ever
 * deleted; a file
 * that fails to read or parse keeps its documents. A dir that cannot be
 * resolved or listed is refused: LORE_INVALID with err filled, nothing
 * done. Other errors are the store's (the open batch rolled back). See
 * ingest_sync.c for the manifest it keeps. */
LORE_MUST_CHECK lore_status ingest_sync_path(ingest_session *s, const char *dir, char *err,
                                             size_t errlen);

/* Ingests bytes of a given name (format detected from content and name).
 * external_id: the id for a single-document input (NULL: name). */
LORE_MUST_CHECK lore_status ingest_bytes(ingest_session *s, const char *name,
                                         const char *external_id, const uint8_t *data, size_t len);

/* Ingests the file at path under another name: name picks the format and
 * appears in messages, external_id (NULL: name) identifies the document
 * (JSON Lines records without an id become external_id#LINE). For uploads
 * spooled to a temporary file. */
LORE_MUST_CHECK lore_status ingest_named_file(ingest_session *s, const char *path, const char *name,
                                              const char *external_id);

/* One document given field by field (the REST API's JSON documents). The
 * text is parsed as format (text, Markdown or HTML; 0 = text) for its
 * structure; the record's fields win over anything found in the content.
 * All strings borrowed. */
typedef struct ingest_record {
    const char *source; /* NULL: the session's */
    const char *external_id;
    const char *title, *url, *author; /* NULL: none (or, for title, the content's) */
    int64_t created_ms, updated_ms;   /* 0: unknown */
    const char *metadata_json;        /* a JSON object or NULL */
    const char *const *acl;
    size_t nacl;
    parse_format format;
    const char *text;
    size_t text_len;
} ingest_record;

typedef enum ingest_outcome {
    INGEST_FAILED,
    INGEST_ADDED,
    INGEST_UPDATED,
    INGEST_UNCHANGED
} ingest_outcome;

/* Writes one record into the open batch. A record the pipeline refuses (a
 * field over its cap, text that does not parse) is reported through
 * on_problem, *outcome is INGEST_FAILED and LORE_OK is returned; an error
 * return means the store failed and the batch was rolled back. */
LORE_MUST_CHECK lore_status ingest_record_put(ingest_session *s, const ingest_record *r,
                                              ingest_outcome *outcome);

/* Deletes a document by public id; LORE_NOT_FOUND if absent. */
LORE_MUST_CHECK lore_status ingest_delete(ingest_session *s, const char *doc_id);

/* The session's tenant with the batch's transaction open (opening it if
 * needed), for data that must commit with the documents written in the
 * same batch (a connector's object state). Borrowed. */
LORE_MUST_CHECK lore_status ingest_batch_tenant(ingest_session *s, store_tenant **out);

/* Commits the open batch. The session can go on afterwards. */
LORE_MUST_CHECK lore_status ingest_commit(ingest_session *s);

/* Changes the source and the principals added to every document for what
 * follows (a job worker runs jobs with different options in one session).
 * Borrowed until changed again or the session ends. */
void ingest_set_source_acl(ingest_session *s, const char *source, const char *const *acl,
                           size_t nacl);

const ingest_stats *ingest_session_stats(const ingest_session *s);
/* Rolls back anything uncommitted and frees the session. */
void ingest_session_free(ingest_session *s);

#endif
