/* The layer search (paper, algorithm 2) as a template: hnsw_walk.c includes
 * this file twice, once with the portable int8 kernel and once compiled for
 * AVX2 with the AVX2 kernel inlined, and picks one at run time. Defines
 * LAYER_NAME (function name), LAYER_DOT (int8 dot product), LAYER_ATTR
 * (function attributes) before each inclusion. Every link of a finished
 * graph names a used slot (repair and hnsw_load_finish see to it), so the
 * hot loop reads no flags. */
LAYER_ATTR static lore_status LAYER_NAME(hnsw_walk *w, uint32_t ep, uint32_t ef, int lc) {
    const hnsw *h = w->h;
    const size_t dims = h->d8, stride = h->vstride; /* rows and query zero-padded */
    const uint8_t *vd = h->vdata;
    const int8_t *q = w->q;
    const float qs = w->qscale;
    uint8_t *tag = w->vis->tag;
    if (++w->vis->gen == 0) { /* a fresh generation per layer */
        memset(tag, 0, w->vis->cap * sizeof *tag);
        w->vis->gen = 1;
    }
    const uint8_t gen = w->vis->gen;
    w->cand.n = w->res.n = 0;
    w->plain = !w->admit && !h->n_tomb; /* every node enters the results */
    float scale;
    memcpy(&scale, vd + ep * stride + dims, 4);
    float d0 = -(qs * scale * (float)LAYER_DOT(q, (const int8_t *)(vd + ep * stride), dims));
    tag[ep] = gen;
    lore_status st = heap_push(&w->cand, d0, ep); /* min-heap: closest first */
    if (st == LORE_OK) st = offer(w, ep, d0, ef);
    const size_t l0_stride = h->l0_stride;
    const uint32_t *link0 = h->link0;
    uint32_t todo[2 * HNSW_MAX_M];
    while (st == LORE_OK && w->cand.n) {
        hnsw_cand c = heap_pop(&w->cand);
        if (w->res.n >= ef && c.d > w->res.v[0].d) break;
        /* The next candidate is most often the heap's new top: fetch its
         * links while this one's neighbours are scored. */
        if (lc == 0 && w->cand.n) __builtin_prefetch(link0 + (size_t)w->cand.v[0].node * l0_stride);
        const uint32_t *l = hnsw_links(h, c.node, lc);
        uint32_t cnt = l[0], nt = 0;
        /* First the unvisited neighbours, their rows requested all at once
         * (the walk waits on memory, not on arithmetic), then the scores. */
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t n = l[1 + i];
            if (n >= h->slots || tag[n] == gen) continue;
            tag[n] = gen;
            todo[nt++] = n;
            __builtin_prefetch(vd + (size_t)n * stride);
            if (stride > 64) __builtin_prefetch(vd + (size_t)n * stride + 64);
        }
        for (uint32_t i = 0; i < nt; i++) {
            uint32_t n = todo[i];
            const uint8_t *nd = vd + (size_t)n * stride;
            memcpy(&scale, nd + dims, 4);
            float d = -(qs * scale * (float)LAYER_DOT(q, (const int8_t *)nd, dims));
            if (w->res.n >= ef && d >= w->res.v[0].d) continue;
            st = heap_push(&w->cand, d, n);
            if (st == LORE_OK) st = offer(w, n, d, ef);
            if (st != LORE_OK) break;
        }
    }
    return st;
}

#undef LAYER_NAME
#undef LAYER_DOT
#undef LAYER_ATTR
