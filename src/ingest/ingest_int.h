/* Ingest internals shared by ingest.c, ingest_files.c (files and walks),
 * ingest_sync.c (folder syncs) and ingest_gzip.c (compressed files). Not part of the module's
 * contract. */
#ifndef LORE_INGEST_INGEST_INT_H
#define LORE_INGEST_INGEST_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ingest/ingest.h"
#include "util/strmap.h"

typedef struct ingest_sync ingest_sync;

/* The store namespaces of folder syncs (store.h's allocation gives ingest
 * 9-10, and 40-49 for more). The numbers are in stored data: never change
 * them. */
enum {
    STORE_NS_SYNC = 9,      /* what each file looked like (ingest_sync.c) */
    STORE_NS_SYNC_IDS = 10, /* records' own ids by file (ingest_sync_ids.c) */
};
_Static_assert(STORE_NS_SYNC == STORE_NS_INGEST_FIRST && STORE_NS_SYNC_IDS == STORE_NS_INGEST_LAST,
               "folder syncs' namespaces are store.h's 9-10");

/* The files of one walk, by device and inode, so a file reached twice (a
 * symlink to a file already ingested, a hard link) is read once. */
typedef struct walk_seen {
    uint64_t *keys; /* pairs (dev, ino); dev UINT64_MAX marks an empty slot */
    size_t nslots, count;
} walk_seen;

struct ingest_session {
    store_tenant *t;
    const index_lexical_ops *lex;
    void *lex_state;
    ingest_options opt;
    ingest_stats stats;
    int in_batch;
    size_t batch_docs, batch_bytes;
    store_chunk_in *chunks;
    size_t chunks_cap;
    walk_seen seen;    /* this walk's files (reset by each ingest_path) */
    ingest_sync *sync; /* non-NULL while a folder sync walks */
    /* The pending set and vector removals (ingest_embed.c), per batch. */
    tenant_ctx *ctx;
    int emb_checked;              /* the vector slots were read in this batch */
    int emb_slot;                 /* the tenant has a live or building slot */
    tenant_index_vector *emb_vec; /* a handle begun in this batch, NULL: none yet */
    int64_t emb_count;            /* pending rows (read once per batch; -1: not yet) */
    int64_t emb_added;            /* rows this batch added */
    int emb_dirty;                /* emb_count changed: write it at commit */
};

void ingest_report(ingest_session *s, int is_error, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes one parsed document (ingest.c). Document-level problems are
 * reported and return LORE_OK; store and index failures are returned. */
LORE_MUST_CHECK lore_status ingest_doc(ingest_session *s, const char *path, const parse_doc *pd,
                                       const char *source, const char *external_id,
                                       int64_t mtime_ms);
/* Opens the batch transaction if none is open. */
LORE_MUST_CHECK lore_status ingest_open_batch(ingest_session *s);
/* Deletes a document (index entries, chunks, row) in the open batch. */
LORE_MUST_CHECK lore_status ingest_remove_doc(ingest_session *s, int64_t rowid);
/* Undoes the open batch. */
void ingest_rollback(ingest_session *s);
/* Commits when the batch is full. */
LORE_MUST_CHECK lore_status ingest_maybe_commit(ingest_session *s);
/* Frees a walk's set of files seen (ingest_files.c). */
void walk_seen_free(walk_seen *w);
/* Walks a file or directory (the body of ingest_path). */
LORE_MUST_CHECK lore_status ingest_walk(ingest_session *s, const char *path);

/* ---- the pending set and vector removals (ingest_embed.c) ---- */

/* A batch starts (after store_begin): forget the last batch's view. */
void ingest_embed_batch_reset(ingest_session *s);
/* Chunks [first, first + n) were written: queue them for embedding when
 * this process embeds or the tenant has vectors. */
LORE_MUST_CHECK lore_status ingest_embed_added(ingest_session *s, int64_t first, size_t n);
/* A chunk is being deleted: its vector (both slots while a build runs) and
 * its pending row go in the same transaction. */
LORE_MUST_CHECK lore_status ingest_embed_removed(ingest_session *s, int64_t chunk_id);
/* Before store_commit: the counter, the embed job (on_embed_pending), the
 * vector batch. */
LORE_MUST_CHECK lore_status ingest_embed_before_commit(ingest_session *s);
/* Before store_rollback: forgets the vector batch. */
void ingest_embed_abort(ingest_session *s);

/* ---- folder syncs (ingest_sync.c) ---- */

/* Before a regular file of the walk is read (real is its resolved path,
 * sb its stat). 1: the sync handled it (unchanged, or renamed from a file
 * that is gone); 0: ingest it; -1: store error in *st. */
int ingest_sync_file_begin(ingest_session *s, const char *real, const struct stat *sb,
                           lore_status *st);
/* After a file was ingested: failed is whether it could not be read or
 * parsed (its old documents are kept). */
LORE_MUST_CHECK lore_status ingest_sync_file_end(ingest_session *s, const char *real,
                                                 const struct stat *sb, int failed);
/* A document the walk produced (or tried to) from the current file. */
void ingest_sync_doc_seen(ingest_session *s, const char *external_id);

/* Whether id is named after file: the path itself or "path#DIGITS". */
int ingest_sync_path_named(const char *file, const char *id);
/* Records' own ids (ingest_sync_ids.c). After file was read: forget the
 * ids it no longer produced (deleting documents no synced file produces
 * any more) and record the ones it did. */
LORE_MUST_CHECK lore_status ingest_sync_ids_reconcile(ingest_session *s, const char *source,
                                                      const char *file, const strmap *produced);
/* 1 when a synced file produces id as a record's own id (so the document is
 * not named after a path, whatever it looks like), 0 if not, -1 on a store
 * error. */
int ingest_sync_ids_known(ingest_session *s, const char *source, const char *id);
/* file is gone: forget all of its ids. */
LORE_MUST_CHECK lore_status ingest_sync_ids_forget(ingest_session *s, const char *source,
                                                   const char *file);
/* file was renamed to: its ids are to's now. */
LORE_MUST_CHECK lore_status ingest_sync_ids_move(ingest_session *s, const char *source,
                                                 const char *from, const char *to);

/* ---- gzip (ingest_gzip.c) ---- */

/* Whether the bytes start with the gzip magic (1f 8b). */
int ingest_is_gzip(const uint8_t *head, size_t n);
/* The name without a trailing ".gz", for detecting the inner format. */
void ingest_gzip_inner_name(const char *name, char *out, size_t outlen);
/* Decompresses a gzip stream read from fd into *out (owned), at most
 * max_out bytes: more is LORE_TOO_LARGE (a gzip bomb), a corrupt or cut
 * stream LORE_INVALID; err says which. */
LORE_MUST_CHECK lore_status ingest_gunzip_fd(int fd, size_t max_out, uint8_t **out, size_t *outlen,
                                             char *err, size_t errlen);

#endif
