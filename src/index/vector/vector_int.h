/* Internals of the persisted vector index (index_vector.h): row layouts,
 * the shared graphs and the control record. Not for other modules. */
#ifndef LORE_INDEX_VECTOR_INT_H
#define LORE_INDEX_VECTOR_INT_H

#include <pthread.h>
#include "index/vector/index_vector.h"
#include "util/buf.h"

#define VEC_ROW_VERSION 1
#define VEC_HEAD_KEY "h"
#define VEC_CTL_KEY "ctl"
/* The largest row a handle reads or writes (a node record, a change list). */
#define VEC_BUF_CAP ((size_t)1 << 26)

/* Namespaces of slot s (0: A, 1: B). */
static inline int vec_ns_nodes(int s) {
    return STORE_NS_VECTOR_NODES_A + 3 * s;
}
static inline int vec_ns_floats(int s) {
    return STORE_NS_VECTOR_FLOATS_A + 3 * s;
}
static inline int vec_ns_meta(int s) {
    return STORE_NS_VECTOR_META_A + 3 * s;
}

/* The control record: which slot is live, which is being built, which is
 * being deleted (slot numbers 0/1, -1 none). */
typedef struct vec_control {
    int live, build, del;
    int64_t cursor;
    char live_key[VEC_MODEL_KEY_MAX + 1];
    char build_key[VEC_MODEL_KEY_MAX + 1];
} vec_control;

/* A slot's head row. */
typedef struct vec_head {
    uint64_t instance; /* random, new each time the slot is created */
    uint64_t gen;      /* committed batches */
    uint64_t log_min;  /* oldest generation whose change list is kept */
    uint32_t dims;
    int metric;
    char key[VEC_MODEL_KEY_MAX + 1];
    uint8_t hnsw_hdr[HNSW_HEADER_BYTES];
} vec_head;

/* One in-memory graph shared by the handles of (scope, tenant, slot). */
typedef struct vec_shared {
    char *name; /* scope \x1f tenant \x1f slot */
    unsigned refs;
    pthread_rwlock_t lock;
    hnsw *h;           /* NULL until loaded */
    uint64_t instance; /* what h reflects */
    uint64_t gen;
    /* An aborted batch's nodes to reload from the committed rows before
     * anything else reads h (stale = 1). */
    int stale;
    uint32_t *pending;
    size_t npending, cap_pending;
    uint64_t full_loads, nodes_loaded, inserts;
    struct vec_shared *next;
} vec_shared;

/* A handle's use of one slot. */
typedef struct vec_view {
    vec_shared *sh; /* NULL: not attached */
    int slot;
    int changed;         /* the batch changed this graph */
    int flushed_any;     /* this batch's flush wrote a generation */
    uint64_t gen_before; /* the committed generation before that flush */
    uint32_t *flushed;   /* nodes written by this batch's flush (for abort) */
    size_t nflushed;
} vec_view;

typedef struct vec_index {
    store_tenant *t;
    vec_params p;
    char *scope;
    char key[VEC_MODEL_KEY_MAX + 1];
    int in_batch;
    int in_begin;    /* resolving inside begin (the store's write lock held) */
    vec_control ctl; /* read at begin / search */
    int ctl_dirty;
    vec_view own;   /* the slot of this handle's key */
    vec_view other; /* the other active slot while a build runs (removes) */
    lore_buf buf;
    char err[256];
} vec_index;

/* vector_shared.c */
LORE_MUST_CHECK lore_status vec_shared_get(const char *scope, const char *tenant, int slot,
                                           vec_shared **out);
void vec_shared_put(vec_shared *sh);
/* Handles using sh (for stats). */
unsigned vec_shared_refs(vec_shared *sh);
/* Brings sh up to the committed state of slot (read through t), or
 * creates it empty from p when the slot has no head yet and create is set.
 * Caller holds sh->lock for writing. */
LORE_MUST_CHECK lore_status vec_shared_refresh(vec_shared *sh, store_tenant *t, int slot,
                                               const vec_head *head, lore_buf *buf);
/* Marks nodes for reload after an aborted batch (caller holds the lock). */
void vec_shared_mark_stale(vec_shared *sh, const uint32_t *nodes, size_t n, int all);

/* vector_rows.c */
LORE_MUST_CHECK lore_status vec_control_load(store_tenant *t, vec_control *c, lore_buf *buf);
LORE_MUST_CHECK lore_status vec_control_save(store_tenant *t, const vec_control *c, lore_buf *buf);
/* LORE_NOT_FOUND: the slot has no head. */
LORE_MUST_CHECK lore_status vec_head_load(store_tenant *t, int slot, vec_head *hd, lore_buf *buf);
LORE_MUST_CHECK lore_status vec_head_save(store_tenant *t, int slot, const vec_head *hd,
                                          lore_buf *buf);
void vec_node_key(uint32_t node, uint8_t key[4]);
void vec_chunk_key(int64_t id, uint8_t key[8]);
void vec_log_key(uint64_t gen, uint8_t key[9]);
uint64_t vec_random64(void);
/* Deletes up to budget rows of slot; *left = 1 when rows remain. */
LORE_MUST_CHECK lore_status vec_slot_delete_some(store_tenant *t, int slot, size_t budget,
                                                 int *left);

/* vector_store.c */
LORE_MUST_CHECK lore_status vec_attach(vec_index *x, vec_view *v, int slot, int check_dims);
/* Resolves for reading (search, stats): inside the caller's batch or read
 * snapshot, else in one of its own; *began says whether one was opened. */
LORE_MUST_CHECK lore_status vec_read_begin(vec_index *x, int *began);

/* vector_search.c */
LORE_MUST_CHECK lore_status vec_search(void *state, const vec_query *q, vec_result *out);
void vec_detach(vec_view *v);
LORE_MUST_CHECK lore_status vec_view_flush(vec_index *x, vec_view *v);
void vec_view_abort(vec_view *v);

/* Reads the control record and finds the slots of x's key; attaches (and
 * refreshes) them (the other active slot too when with_other: a batch's
 * removes reach both). Inside a batch or a read snapshot. */
LORE_MUST_CHECK lore_status vec_resolve(vec_index *x, int with_other);
lore_status vec_fail(vec_index *x, lore_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Creates an empty slot (head row) for x's key and parameters. */
LORE_MUST_CHECK lore_status vec_slot_create(vec_index *x, int slot);

/* vector_scan.c */
LORE_MUST_CHECK lore_status vec_scan(void *state, int64_t after, int64_t before, vec_scan_fn fn,
                                     void *ctx);

/* vector_slots.c */
LORE_MUST_CHECK lore_status vec_slots_start(void *state);
LORE_MUST_CHECK lore_status vec_slots_step(void *state, int64_t cursor, int copied_all,
                                           size_t budget, int *finished);
LORE_MUST_CHECK lore_status vec_slots_status(void *state, vec_rebuild_status *out);

#endif
