/* Background repair of deletions, in steps. A pass dooms the tombstones
 * present when it starts, then looks at every node once: a node whose list
 * at some level names a tombstone is relinked from its remaining neighbours
 * and the tombstones' neighbours (the heuristic picks the best). Nodes
 * inserted meanwhile never link to a tombstone, so when the pass reaches
 * the last slot nothing points to a doomed node and their slots are freed. */
#include "index/vector/hnsw_int.h"

#include <stdlib.h>
#include <string.h>

static int usable(const hnsw *h, uint32_t n, uint32_t self, int lc) {
    return n < h->slots && n != self && (h->flags[n] & (NODE_USED | NODE_TOMB)) == NODE_USED &&
           h->level[n] >= lc;
}

static int node_cmp(const void *a, const void *b) {
    const hnsw_cand *x = a, *y = b;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* Relinks node u at level lc around its tombstoned neighbours. */
static lore_status relink(hnsw *h, uint32_t u, int lc) {
    uint32_t *l = hnsw_links(h, u, lc), max = hnsw_max_links(h, lc);
    size_t cap = (size_t)l[0] * (hnsw_max_links(h, lc) + 1) + 1, n = 0;
    hnsw_cand *c = malloc(cap * sizeof *c);
    if (!c) return LORE_NOMEM;
    for (uint32_t i = 0; i < l[0]; i++) {
        uint32_t t = l[1 + i];
        if (usable(h, t, u, lc)) {
            c[n++].node = t;
            continue;
        }
        if (t >= h->slots || !(h->flags[t] & NODE_USED) || h->level[t] < lc) continue;
        const uint32_t *tl = hnsw_links(h, t, lc);
        for (uint32_t j = 0; j < tl[0]; j++)
            if (usable(h, tl[1 + j], u, lc)) c[n++].node = tl[1 + j];
    }
    qsort(c, n, sizeof *c, node_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || c[m - 1].node != c[i].node) c[m++] = c[i];
    for (size_t i = 0; i < m; i++)
        c[i].d = hnsw_node_dist(h, u, c[i].node);
    qsort(c, m, sizeof *c, hnsw_cand_cmp);
    size_t keep = hnsw_select(h, c, m, max);
    for (size_t i = 0; i < keep; i++)
        l[1 + i] = c[i].node;
    l[0] = (uint32_t)keep;
    free(c);
    hnsw_mark_dirty(h, u);
    return LORE_OK;
}

static lore_status look_at(hnsw *h, uint32_t u) {
    if ((h->flags[u] & (NODE_USED | NODE_DOOMED)) != NODE_USED) return LORE_OK;
    for (int lc = 0; lc <= h->level[u]; lc++) {
        const uint32_t *l = hnsw_links(h, u, lc);
        int stale = 0;
        for (uint32_t i = 0; i < l[0] && !stale; i++)
            stale = !usable(h, l[1 + i], u, lc);
        if (stale) {
            lore_status st = relink(h, u, lc);
            if (st != LORE_OK) return st;
        }
    }
    return LORE_OK;
}

/* Ends a pass: moves the entry point off a doomed node, frees the doomed. */
static void end_pass(hnsw *h) {
    if (h->entry != HNSW_NONE && (h->flags[h->entry] & NODE_DOOMED)) {
        uint32_t best = HNSW_NONE;
        for (uint32_t n = 0; n < h->slots; n++) {
            if ((h->flags[n] & (NODE_USED | NODE_DOOMED)) != NODE_USED) continue;
            if (best == HNSW_NONE || h->level[n] > h->level[best] ||
                (h->level[n] == h->level[best] && (h->flags[best] & NODE_TOMB) &&
                 !(h->flags[n] & NODE_TOMB)))
                best = n;
        }
        h->entry = best;
        h->max_level = best == HNSW_NONE ? 0 : h->level[best];
    }
    for (uint32_t n = 0; n < h->slots; n++) {
        if (!(h->flags[n] & NODE_DOOMED)) continue;
        hnsw_release_slot(h, n);
        hnsw_mark_dirty(h, n);
        h->n_tomb--;
    }
    h->pass_active = 0;
}

lore_status hnsw_repair(hnsw *h, size_t budget, size_t *work, int *finished) {
    size_t done = 0;
    lore_status st = LORE_OK;
    if (!h->pass_active && h->n_tomb) {
        for (uint32_t n = 0; n < h->slots; n++)
            if (h->flags[n] & NODE_TOMB) h->flags[n] |= NODE_DOOMED;
        h->pass_active = 1;
        h->pass_cursor = 0;
    }
    while (h->pass_active && done < budget && h->pass_cursor < h->slots && st == LORE_OK) {
        st = look_at(h, h->pass_cursor);
        if (st == LORE_OK) h->pass_cursor++, done++;
    }
    if (st == LORE_OK && h->pass_active && h->pass_cursor >= h->slots) end_pass(h);
    if (work) *work = done;
    if (finished) *finished = !h->pass_active && h->n_tomb == 0;
    return st;
}
