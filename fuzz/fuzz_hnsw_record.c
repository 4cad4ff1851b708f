/* Fuzzes the HNSW record loader: the input is a header (40 bytes) followed
 * by records, each a u16 node index, a u16 length and that many bytes.
 * Loading must answer LORE_OK or LORE_CORRUPT, never crash; a graph that
 * loads must search, take an insert and a delete, repair, and save and load
 * again to the same answers. */
#include "index/vector/hnsw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_hnsw_record: %s\n", what);
        abort();
    }
}

/* Saves every node of h and loads the records into a new graph. */
static hnsw *reload(const hnsw *h, size_t slots) {
    uint8_t hdr[HNSW_HEADER_BYTES];
    hnsw_header_encode(h, hdr);
    hnsw *g = NULL;
    must(hnsw_load_begin(hdr, sizeof hdr, 0, &g) == LORE_OK, "reload header");
    for (uint32_t n = 0; n < slots; n++) {
        size_t sz = hnsw_node_record_size(h, n), len = 0;
        if (!sz) continue;
        uint8_t *r = malloc(sz);
        must(hnsw_node_encode(h, n, r, sz, &len) == LORE_OK, "encode");
        must(hnsw_load_node(g, n, r, len) == LORE_OK, "reload node");
        free(r);
    }
    must(hnsw_load_finish(g) == LORE_OK, "reload finish");
    return g;
}

static void exercise(hnsw *h) {
    uint32_t dims = hnsw_get_params(h)->dims;
    float *v = calloc(dims, sizeof *v);
    v[0] = 1;
    hnsw_hit a[10], b[10];
    size_t na = 0, nb = 0;
    hnsw_query q = {.vec = v, .k = 10};
    must(hnsw_search(h, &q, a, &na) == LORE_OK, "search");
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    hnsw *g = reload(h, st.slots);
    must(hnsw_search(g, &q, b, &nb) == LORE_OK && na == nb, "search after reload");
    for (size_t i = 0; i < na; i++)
        must(a[i].id == b[i].id && a[i].score == b[i].score, "same hits");
    hnsw_free(g);
    lore_status ist = hnsw_insert(h, INT64_MIN, v);
    must(ist == LORE_OK || ist == LORE_EXISTS, "insert");
    if (na) must(hnsw_delete(h, a[0].id) == LORE_OK, "delete");
    int fin = 0;
    for (int i = 0; i < 100 && !fin; i++)
        must(hnsw_repair(h, 64, NULL, &fin) == LORE_OK, "repair");
    must(hnsw_search(h, &q, a, &na) == LORE_OK, "search after repair");
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < HNSW_HEADER_BYTES || size > 1 << 20) return 0;
    hnsw *h = NULL;
    if (hnsw_load_begin(data, HNSW_HEADER_BYTES, 0, &h) != LORE_OK) return 0;
    if (hnsw_get_params(h)->dims > 256) { /* keeps each run small */
        hnsw_free(h);
        return 0;
    }
    size_t off = HNSW_HEADER_BYTES;
    lore_status st = LORE_OK;
    while (st == LORE_OK && off + 4 <= size) {
        uint32_t node = (uint32_t)(data[off] | data[off + 1] << 8);
        size_t len = (size_t)(data[off + 2] | data[off + 3] << 8);
        off += 4;
        if (len > size - off) len = size - off;
        st = hnsw_load_node(h, node, data + off, len);
        must(st == LORE_OK || st == LORE_CORRUPT || st == LORE_NOMEM, "load status");
        off += len;
    }
    if (st == LORE_OK) st = hnsw_load_finish(h);
    must(st == LORE_OK || st == LORE_CORRUPT || st == LORE_NOMEM, "finish status");
    if (st == LORE_OK) exercise(h);
    hnsw_free(h);
    return 0;
}
