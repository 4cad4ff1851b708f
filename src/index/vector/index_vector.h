/* The vector index interface: nearest chunks by embedding, behind a table
 * of functions like the lexical index's (index_lexical.h). The default,
 * `index_vector_hnsw`, is lore's HNSW graph (hnsw.h) persisted per tenant
 * in the store's key-value space (namespaces STORE_NS_VECTOR_*), so its
 * writes commit or roll back with the documents they describe:
 *
 *   store_begin(t); vec->begin(s);
 *   vec->add(s, chunk, vector) / vec->remove(s, chunk) ...;
 *   vec->flush(s); store_commit(t);         (or vec->abort(s) + store_rollback(t))
 *
 * Sharing: one in-memory graph per (scope, tenant, slot) per process,
 * refcounted, behind a rwlock; every handle of that tenant uses it. Each
 * committed batch bumps the slot's generation and logs the node ids it
 * changed, so a handle that sees a newer generation (another handle's or
 * another process's commit) at search or begin reloads only those nodes.
 * Opening loads the records; no distance is computed (docs/vector-index.md).
 *
 * Slots and the model switch: vectors belong to a model key (url|model|dims).
 * A tenant has up to two slots (A, B); a control record names the live one
 * and its key, and the one being built. A handle is opened for one model
 * key and uses the slot holding that key. Switching models:
 *
 *   (handle s opened with the new key)
 *   store_begin(t); vec->begin(s); vec->rebuild_start(s); vec->flush(s); store_commit(t);
 *   do {
 *       store_begin(t); vec->begin(s);
 *       embed chunks after the cursor (rebuild_status), vec->add each;
 *       vec->rebuild_step(s, last chunk id added, copied_all, budget, &finished);
 *       vec->flush(s); store_commit(t);   (or vec->abort + store_rollback: run it again)
 *   } while (!finished);
 *
 * Until copied_all, searches on handles of the live key read the live slot;
 * the step given copied_all makes the new slot live (atomically, with the
 * transaction) and later steps delete the old slot's rows, at most `budget`
 * per step. Removes on any handle apply to both slots while a build runs.
 *
 * Threads: a handle is used by one thread at a time (like its store_tenant);
 * any number of handles may search one shared graph at once. */
#ifndef LORE_INDEX_VECTOR_H
#define LORE_INDEX_VECTOR_H

#include <stddef.h>
#include <stdint.h>
#include "index/vector/hnsw.h"
#include "store/store.h"
#include "util/status.h"

/* The store namespaces this index writes (store.h gives it 20-39): a control
 * record (live slot, slot being built), then per slot (A: 21-23, B: 24-26)
 * the HNSW node records by node id, the float32 vectors by chunk id, and the
 * head row with the change log. 27-39 are free for it. */
enum {
    STORE_NS_VECTOR_CONTROL = 20,
    STORE_NS_VECTOR_NODES_A = 21,
    STORE_NS_VECTOR_FLOATS_A = 22,
    STORE_NS_VECTOR_META_A = 23,
    STORE_NS_VECTOR_NODES_B = 24,
    STORE_NS_VECTOR_FLOATS_B = 25,
    STORE_NS_VECTOR_META_B = 26,
};
_Static_assert(STORE_NS_VECTOR_CONTROL >= STORE_NS_VECTOR_FIRST &&
                   STORE_NS_VECTOR_META_B <= STORE_NS_VECTOR_LAST,
               "the vector index's namespaces are inside its range (store.h)");

#define INDEX_VECTOR_VERSION 1
#define VEC_MODEL_KEY_MAX 512 /* bytes of a model key */
#define VEC_SCOPE_MAX 4096    /* bytes of a scope (a data directory) */
#define VEC_MAX_K 256         /* groups one search may ask for */
/* Committed generations whose change lists stay readable; a handle further
 * behind reloads its whole graph. */
#define VEC_LOG_KEEP 1024
/* A batch that changed more nodes than this logs "reload everything". */
#define VEC_LOG_MAX_NODES 65536

typedef struct vec_params {
    /* Names the store (its data directory, resolved with realpath): handles
     * with the same scope and tenant share graphs. Required. The stored
     * slot's own M and ef settings win over these once it exists. */
    const char *scope;
    /* 1..HNSW_MAX_DIMS, must match the slot's; or 0: the slot's own (read
     * when the handle first attaches; such a handle cannot create a slot). */
    uint32_t dims;
    hnsw_metric metric;
    uint32_t M, ef_construction, ef_search; /* 0: the hnsw defaults */
    /* Nodes the end of each batch (flush) looks at to repair tombstones;
     * 0: none (call repair from a background job). */
    size_t repair_budget;
} vec_params;

/* Same contract as lex_admit_fn: 1 admits the chunk and names its group
 * (its document; one hit per group), 0 rejects, -1 fails the search. */
typedef int (*vec_admit_fn)(void *ctx, int64_t chunk_id, int64_t *group);

typedef struct vec_query {
    const float *vec;   /* dims floats */
    size_t k;           /* groups wanted, 1..VEC_MAX_K */
    uint32_t ef;        /* 0: the index's ef_search */
    vec_admit_fn admit; /* NULL: every chunk is its own group */
    void *admit_ctx;
    /* Exact search over these chunk ids only (a selective filter's
     * candidates); the admit callback still applies. */
    const int64_t *candidates;
    size_t n_candidates;
    /* The caller's estimate of the admitted fraction (0: unknown); below
     * HNSW_EXACT_SELECTIVITY every live chunk is scored exactly. */
    double selectivity;
} vec_query;

typedef struct vec_hit {
    int64_t chunk_id;
    int64_t group;
    float score; /* similarity, higher is closer */
} vec_hit;

typedef struct vec_result {
    vec_hit *hits; /* owned, best first */
    size_t n;
    uint64_t admit_calls; /* chunks the admit callback was asked about */
    uint32_t rounds;      /* graph searches run (the page widens when groups repeat) */
} vec_result;

typedef struct vec_stats {
    char slot;           /* 'A' or 'B'; 0 when the handle's model has no slot */
    uint64_t generation; /* the slot's committed batches */
    int64_t live;        /* searchable vectors */
    int64_t tombstones;  /* deleted, not yet repaired away */
    double bytes_per_vector;
    /* The shared graph, this process: handles using it, whole-graph loads,
     * node records loaded (whole or partial reloads) and vectors inserted. */
    unsigned sharers;
    uint64_t full_loads, nodes_loaded, inserts;
} vec_stats;

typedef enum vec_phase {
    VEC_REBUILD_NONE = 0,
    VEC_REBUILD_COPYING = 1,  /* the new slot is being filled */
    VEC_REBUILD_DELETING = 2, /* switched; the old slot's rows are going */
} vec_phase;

typedef struct vec_rebuild_status {
    vec_phase phase;
    int64_t cursor;                        /* last chunk id the build recorded (0: none yet) */
    char live_key[VEC_MODEL_KEY_MAX + 1];  /* "" when no slot is live */
    char build_key[VEC_MODEL_KEY_MAX + 1]; /* "" unless copying */
    char live_slot, build_slot;            /* 'A', 'B' or 0 */
    int64_t build_vectors; /* vectors in the slot being built (0 unless this handle builds it) */
} vec_rebuild_status;

/* One vector of a slot, for scan: its chunk id and whether the graph
 * holds the chunk as a live node (a float row without one, or the reverse,
 * is damage the audit reports). Returns non-zero to stop. */
typedef int (*vec_scan_fn)(void *ctx, int64_t chunk_id, int in_graph);

typedef struct index_vector_ops {
    int version; /* INDEX_VECTOR_VERSION */
    const char *name;
    /* Opens the index of a tenant for one model key (the store handle is
     * borrowed and must outlive the index). Reads nothing yet: the slot is
     * found (and its graph shared or loaded) at begin or search. err (may
     * be NULL) names a bad parameter. Returns owned state. */
    LORE_MUST_CHECK lore_status (*open)(store_tenant *t, const vec_params *p, const char *model_key,
                                        void **state, const char **err);
    void (*close)(void *state);
    /* Starts a write batch inside the caller's store transaction; catches
     * up with commits made elsewhere. The first batch of a tenant with no
     * live slot makes this handle's key live (slot A). LORE_INVALID when
     * another key is live and this one is not being built (start a
     * rebuild), or the dims differ from the slot's. */
    LORE_MUST_CHECK lore_status (*begin)(void *state);
    /* Sets a chunk's vector (replacing an earlier one). LORE_INVALID for a
     * non-finite vector, or a zero one under cosine. */
    LORE_MUST_CHECK lore_status (*add)(void *state, int64_t chunk_id, const float *vec);
    /* Deletes a chunk's vector (a tombstone) from this slot and, while a
     * build runs, the other one. Absent is fine. */
    LORE_MUST_CHECK lore_status (*remove)(void *state, int64_t chunk_id);
    /* Runs the batch's repair budget and writes the batch into the
     * transaction (node rows, header, generation, change log). */
    LORE_MUST_CHECK lore_status (*flush)(void *state);
    /* Forgets the batch (before store_rollback): the nodes it touched in
     * the shared graph are reloaded from the committed rows before the next
     * search or batch, so nothing of it stays visible. */
    void (*abort)(void *state);
    /* Nearest chunks, at most one per group, best first. Reads through the
     * handle's store_tenant: inside the caller's read snapshot or batch if
     * one is open, else in one of its own. LORE_NOT_FOUND when the handle's
     * key has no slot (nothing embedded yet, or the model was switched). */
    LORE_MUST_CHECK lore_status (*search)(void *state, const vec_query *q, vec_result *out);
    LORE_MUST_CHECK lore_status (*stats)(void *state, vec_stats *out);
    /* Repairs tombstones, looking at up to budget nodes; inside a batch.
     * *finished = 1 when none is left. */
    LORE_MUST_CHECK lore_status (*repair)(void *state, size_t budget, int *finished);
    /* Starts building a slot for this handle's key beside the live one;
     * inside a batch. Nothing to do (finished at once) when the key is
     * live; LORE_BUSY while another key is being built or the previous
     * switch's old slot is still being deleted (run its steps first). */
    LORE_MUST_CHECK lore_status (*rebuild_start)(void *state);
    /* One step of the build this handle runs; inside a batch, after its
     * adds. Records cursor (the last chunk id embedded into the new slot);
     * with copied_all, switches the live slot to it; then deletes up to
     * budget rows of the old slot per step. *finished = 1 once nothing is
     * left to delete (or no rebuild runs). budget > 0. */
    LORE_MUST_CHECK lore_status (*rebuild_step)(void *state, int64_t cursor, int copied_all,
                                                size_t budget, int *finished);
    /* The committed state (or this handle's open batch). */
    LORE_MUST_CHECK lore_status (*rebuild_status)(void *state, vec_rebuild_status *out);
    /* What the last failed call of this handle found wrong (never NULL). */
    const char *(*errmsg)(void *state);
    /* The chunks with a vector in this handle's slot, ascending by chunk id,
     * those with after < id < before (before 0: no bound): fn gets each
     * float row's chunk id and whether the graph holds it live. Reads like
     * search (the caller's snapshot or batch, else one of its own);
     * LORE_NOT_FOUND when the handle's key has no slot. For audits
     * (ingest_reembed.h) and for skipping chunks that already have one.
     * Added after version 1's other members: a table that leaves it NULL
     * has no scan. */
    LORE_MUST_CHECK lore_status (*scan)(void *state, int64_t after, int64_t before, vec_scan_fn fn,
                                        void *ctx);
} index_vector_ops;

extern const index_vector_ops index_vector_hnsw;

/* Fills p with the hnsw defaults for dims and metric (scope left NULL). */
void vec_params_default(vec_params *p, uint32_t dims, hnsw_metric metric);
/* The model key "url|model|dims" into out; LORE_TOO_LARGE past
 * VEC_MODEL_KEY_MAX. */
LORE_MUST_CHECK lore_status vec_model_key(const char *url, const char *model, uint32_t dims,
                                          char *out, size_t outlen);
void vec_result_free(vec_result *r);

#endif
