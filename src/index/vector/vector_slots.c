/* The model switch: a second slot built beside the live one, made live in
 * one transaction, then the old slot's rows deleted in bounded steps. The
 * control record (STORE_NS_VECTOR_CONTROL) says which slot is which; every
 * step is a batch of the caller's, so a crash or rollback leaves the last
 * committed step's state. */
#include <stdio.h>
#include <string.h>

#include "index/vector/vector_int.h"

lore_status vec_slots_start(void *state) {
    vec_index *x = state;
    if (!x->in_batch) return vec_fail(x, LORE_INVALID, "vector rebuild_start outside a batch");
    vec_control *c = &x->ctl;
    if (c->live >= 0 && strcmp(c->live_key, x->key) == 0) return LORE_OK; /* already live */
    if (c->build >= 0) {
        if (strcmp(c->build_key, x->key) == 0) return LORE_OK; /* running */
        return vec_fail(x, LORE_BUSY,
                        "a vector slot for model '%s' is being built; finish it first",
                        c->build_key);
    }
    if (c->del >= 0)
        return vec_fail(x, LORE_BUSY,
                        "the previous switch's old vector slot is still being deleted: run its "
                        "rebuild steps first");
    int slot = c->live == 0 ? 1 : 0;
    c->build = slot, c->cursor = 0;
    snprintf(c->build_key, sizeof c->build_key, "%s", x->key);
    lore_status st = vec_slot_create(x, slot);
    if (st == LORE_OK) st = vec_control_save(x->t, c, &x->buf);
    if (st == LORE_OK) st = vec_resolve(x, 1);
    return st == LORE_OK ? st : vec_fail(x, st, "starting the vector slot build failed");
}

lore_status vec_slots_step(void *state, int64_t cursor, int copied_all, size_t budget,
                           int *finished) {
    vec_index *x = state;
    *finished = 0;
    if (!x->in_batch) return vec_fail(x, LORE_INVALID, "vector rebuild_step outside a batch");
    if (budget == 0) return vec_fail(x, LORE_INVALID, "vector rebuild_step needs a budget > 0");
    vec_control *c = &x->ctl;
    lore_status st = LORE_OK;
    if (c->build >= 0) {
        if (strcmp(c->build_key, x->key) != 0)
            return vec_fail(x, LORE_BUSY, "the vector slot being built is for model '%s'",
                            c->build_key);
        if (cursor > c->cursor) c->cursor = cursor;
        if (copied_all) {
            /* The switch. The old slot's changes in this batch go with it. */
            vec_view_abort(&x->other);
            vec_detach(&x->other);
            c->del = c->live;
            c->live = c->build, c->build = -1, c->cursor = 0;
            snprintf(c->live_key, sizeof c->live_key, "%s", c->build_key);
            c->build_key[0] = '\0';
        }
        if ((st = vec_control_save(x->t, c, &x->buf)) != LORE_OK)
            return vec_fail(x, st, "saving the vector control record failed");
        if (!copied_all) return LORE_OK;
    }
    if (c->del >= 0) {
        int left = 0;
        if (x->other.sh && x->other.slot == c->del) {
            vec_view_abort(&x->other);
            vec_detach(&x->other);
        }
        st = vec_slot_delete_some(x->t, c->del, budget, &left);
        if (st == LORE_OK && !left) {
            c->del = -1;
            st = vec_control_save(x->t, c, &x->buf);
        }
        if (st != LORE_OK) return vec_fail(x, st, "deleting the old vector slot failed");
        if (left) return LORE_OK;
    }
    *finished = 1;
    return LORE_OK;
}

lore_status vec_slots_status(void *state, vec_rebuild_status *out) {
    vec_index *x = state;
    memset(out, 0, sizeof *out);
    int began;
    lore_status st = vec_read_begin(x, &began);
    if (st != LORE_OK) return st;
    const vec_control *c = &x->ctl;
    out->phase = c->build >= 0 ? VEC_REBUILD_COPYING
                 : c->del >= 0 ? VEC_REBUILD_DELETING
                               : VEC_REBUILD_NONE;
    out->cursor = c->build >= 0 ? c->cursor : 0;
    snprintf(out->live_key, sizeof out->live_key, "%s", c->live >= 0 ? c->live_key : "");
    snprintf(out->build_key, sizeof out->build_key, "%s", c->build >= 0 ? c->build_key : "");
    out->live_slot = c->live >= 0 ? (char)('A' + c->live) : 0;
    out->build_slot = c->build >= 0 ? (char)('A' + c->build) : 0;
    const vec_view *bv = x->own.sh && x->own.slot == c->build       ? &x->own
                         : x->other.sh && x->other.slot == c->build ? &x->other
                                                                    : NULL;
    if (c->build >= 0 && bv) {
        pthread_rwlock_rdlock(&bv->sh->lock);
        if (bv->sh->h) {
            hnsw_stats hs;
            hnsw_get_stats(bv->sh->h, &hs);
            out->build_vectors = (int64_t)hs.live;
        }
        pthread_rwlock_unlock(&bv->sh->lock);
    }
    if (began) store_end_read(x->t);
    return LORE_OK;
}
