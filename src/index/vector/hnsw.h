/* lore's HNSW vector index (Malkov & Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small
 * World graphs"), in memory. A store layer persists it as one header record
 * plus one record per node and reloads it without rebuilding.
 * See docs/vector-index.md.
 *
 * Vectors: the graph walk uses each vector quantized to int8 with one float
 * scale per vector (x ~= scale * q, q in [-127, 127]); the final candidates
 * are re-ranked with the float32 vectors, kept either inside the index
 * (params.keep_float) or fetched from the caller (hnsw_query.fetch), so a
 * store can keep them on disk and page them.
 *
 * Metrics: HNSW_COSINE normalizes vectors (and queries) to unit length at
 * insert, then scores by dot product; HNSW_DOT scores by the raw dot product.
 * Scores are similarities: higher is closer.
 *
 * Ids: the caller's external id (a chunk id, int64) maps to an internal node
 * index (uint32), the key of the node's record. A deleted node becomes a
 * tombstone: never returned, still walked through, until hnsw_repair relinks
 * the nodes that point to it and frees its slot (slots are reused).
 *
 * Threads: any number of hnsw_search calls may run at once; insert, delete,
 * repair and the load functions need the caller's exclusive lock.
 *
 * Record formats (all integers little-endian, floats IEEE 754 binary32 LE):
 *
 *   header (HNSW_HEADER_BYTES = 40 bytes):
 *     u32 magic "LHNW" (0x574e484c)   u8 version (1)   u8 metric (1 cos, 2 dot)
 *     u16 M                            u32 dims         u32 ef_construction
 *     u32 ef_search                    u32 entry node (0xffffffff: empty graph)
 *     u8  max_level   u8 0   u16 0     u32 slots (node indexes are < slots)
 *     u64 rng state (so inserts after a reload draw the same levels)
 *
 *   node record (key: the node index), for a node of level L:
 *     u8  version (1)   u8 flags (bit 0: tombstone)   u8 L   u8 0
 *     i64 external id   f32 scale   u32 dims
 *     for each level l = 0..L: u16 count, then count x u32 neighbour node
 *       (count <= 2*M at level 0, <= M above; a neighbour must exist and
 *       reach level l when the graph is finished loading)
 *     dims x i8 quantized vector
 *   A free slot has no record. Every record decodes on its own; loading
 *   checks it fully and answers LORE_CORRUPT for anything out of range. */
#ifndef LORE_INDEX_VECTOR_HNSW_H
#define LORE_INDEX_VECTOR_HNSW_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

#define HNSW_MAX_DIMS 4096
#define HNSW_MIN_M 2
#define HNSW_MAX_M 128
#define HNSW_MAX_EF 4096
#define HNSW_MAX_K 1024
#define HNSW_MAX_LEVEL 15
#define HNSW_MAX_NODES 0x7ffffffeu
#define HNSW_NONE 0xffffffffu
#define HNSW_HEADER_BYTES 40

/* Defaults: recall@10 >= 0.95 on random and clustered data (tests) and on
 * GloVe-100 (bench/ann.sh). */
#define HNSW_DEFAULT_M 16
#define HNSW_DEFAULT_EF_CONSTRUCTION 200
#define HNSW_DEFAULT_EF_SEARCH 200

/* Below this estimated fraction of admitted nodes, a filtered search is
 * answered exactly (brute force over the admitted nodes). */
#define HNSW_EXACT_SELECTIVITY 0.02

typedef enum hnsw_metric { HNSW_COSINE = 1, HNSW_DOT = 2 } hnsw_metric;

typedef struct hnsw_params {
    uint32_t dims;
    hnsw_metric metric;
    uint32_t M;               /* links per node above level 0; 2*M at level 0 */
    uint32_t ef_construction; /* candidates kept while inserting */
    uint32_t ef_search;       /* default candidates kept while searching */
    uint64_t seed;            /* level draws; any value */
    int keep_float;           /* 1: keep float32 vectors for re-ranking inside */
} hnsw_params;

typedef struct hnsw hnsw;

/* Admission callback of a filtered search: 1 admits the external id. */
typedef int (*hnsw_admit_fn)(void *ctx, int64_t id);
/* Fetches the float32 vector of an external id (as inserted) for
 * re-ranking; returns 0 on success, anything else to score it by int8. */
typedef int (*hnsw_fetch_fn)(void *ctx, int64_t id, float *out, uint32_t dims);

typedef struct hnsw_hit {
    int64_t id;
    float score; /* similarity: dot product (of unit vectors for cosine) */
} hnsw_hit;

typedef struct hnsw_query {
    const float *vec;    /* dims floats */
    size_t k;            /* hits wanted, 1..HNSW_MAX_K */
    uint32_t ef;         /* 0: the index's ef_search; raised to k if below */
    hnsw_admit_fn admit; /* NULL: admit every live node */
    void *admit_ctx;
    /* Exact fallback: with candidates, only these ids are scored, exactly
     * (the admit callback still applies). With selectivity in (0, 1) (the
     * caller's estimate of the admitted fraction) under
     * HNSW_EXACT_SELECTIVITY, every live node is scored exactly. */
    const int64_t *candidates;
    size_t n_candidates;
    double selectivity;  /* 0: unknown */
    hnsw_fetch_fn fetch; /* re-ranking vectors when keep_float is 0 */
    void *fetch_ctx;
} hnsw_query;

typedef struct hnsw_stats {
    size_t live;                   /* searchable nodes */
    size_t tombstones;             /* deleted, not yet freed */
    size_t slots;                  /* node indexes in use or free */
    size_t graph_bytes;            /* int8 vectors, scales, links, ids, id map, overhead */
    size_t float_bytes;            /* float32 re-ranking vectors held inside */
    double bytes_per_vector;       /* graph_bytes / (live + tombstones) */
    double float_bytes_per_vector; /* float_bytes / (live + tombstones) */
} hnsw_stats;

/* Fills p with the defaults for dims and metric. */
void hnsw_params_default(hnsw_params *p, uint32_t dims, hnsw_metric metric);
/* LORE_INVALID names the bad parameter in *err (static string) if err. */
LORE_MUST_CHECK lore_status hnsw_new(const hnsw_params *p, hnsw **out, const char **err);
void hnsw_free(hnsw *h);
const hnsw_params *hnsw_get_params(const hnsw *h);

/* Inserts vec under id. LORE_EXISTS if id is live (delete it first),
 * LORE_INVALID for a non-finite vector or a zero vector under cosine,
 * LORE_TOO_LARGE past HNSW_MAX_NODES. */
LORE_MUST_CHECK lore_status hnsw_insert(hnsw *h, int64_t id, const float *vec);
/* Tombstones id. LORE_NOT_FOUND if it is not live. */
LORE_MUST_CHECK lore_status hnsw_delete(hnsw *h, int64_t id);
int hnsw_contains(const hnsw *h, int64_t id);

/* Background repair, in steps: looks at up to `budget` nodes, relinking
 * those that point to tombstones (through the tombstones' own neighbours);
 * once every node has been looked at since a pass began, the tombstones of
 * that pass are freed. *finished is 1 when no tombstone is left. *work
 * (optional) is the number of nodes looked at. */
LORE_MUST_CHECK lore_status hnsw_repair(hnsw *h, size_t budget, size_t *work, int *finished);

/* Searches; out has room for q->k hits, *n_out gets how many (fewer only
 * when fewer live nodes are admitted: then every admitted node is there).
 * Hits are sorted by score, highest first, ties by id. */
LORE_MUST_CHECK lore_status hnsw_search(const hnsw *h, const hnsw_query *q, hnsw_hit *out,
                                        size_t *n_out);

void hnsw_get_stats(const hnsw *h, hnsw_stats *st);

/* Serialization. The index remembers which node records changed since the
 * last hnsw_dirty_take (inserted, relinked, tombstoned, freed); the caller
 * writes those records (or deletes the key when hnsw_node_encode answers
 * LORE_NOT_FOUND: a free slot) and the header. */
LORE_MUST_CHECK lore_status hnsw_dirty_take(hnsw *h, uint32_t **nodes, size_t *n);
void hnsw_header_encode(const hnsw *h, uint8_t out[HNSW_HEADER_BYTES]);
/* Bytes the record of node needs (0 for a free or out-of-range slot). */
size_t hnsw_node_record_size(const hnsw *h, uint32_t node);
/* LORE_NOT_FOUND: free slot; LORE_TOO_LARGE: cap too small. */
LORE_MUST_CHECK lore_status hnsw_node_encode(const hnsw *h, uint32_t node, uint8_t *out, size_t cap,
                                             size_t *len);

/* Loading: hnsw_load_begin makes an empty graph from a header (keep_float
 * as given); hnsw_load_node sets one node from its record (again later to
 * replace a changed node); hnsw_load_free frees a slot whose record is
 * gone; hnsw_load_finish checks every link and rebuilds the id map and the
 * free list (call it after any load_* call, before searching or writing).
 * No distance is computed. With keep_float, hnsw_load_float gives a node's
 * float32 vector back. Every error is LORE_CORRUPT (or LORE_NOMEM). */
LORE_MUST_CHECK lore_status hnsw_load_begin(const uint8_t *hdr, size_t len, int keep_float,
                                            hnsw **out);
/* Applies a newer header to a loaded graph (same dims, metric, M), before
 * loading the nodes that changed with it. */
LORE_MUST_CHECK lore_status hnsw_load_header(hnsw *h, const uint8_t *hdr, size_t len);
LORE_MUST_CHECK lore_status hnsw_load_node(hnsw *h, uint32_t node, const uint8_t *rec, size_t len);
LORE_MUST_CHECK lore_status hnsw_load_free(hnsw *h, uint32_t node);
LORE_MUST_CHECK lore_status hnsw_load_float(hnsw *h, uint32_t node, const float *vec);
LORE_MUST_CHECK lore_status hnsw_load_finish(hnsw *h);
/* Node index of a live id (HNSW_NONE if absent). */
uint32_t hnsw_node_of(const hnsw *h, int64_t id);

#endif
