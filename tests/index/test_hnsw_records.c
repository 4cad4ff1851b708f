/* HNSW records: a graph saved as a header and node records loads back
 * without rebuilding and answers exactly as before; the changed records
 * (hnsw_dirty_take) bring a loaded copy up to date; damaged records are
 * LORE_CORRUPT, never a crash. */
#include "hnsw_fixture.h"

#define D 32
#define N 2000

typedef struct saved {
    uint8_t hdr[HNSW_HEADER_BYTES];
    uint8_t **rec;
    size_t *len;
    size_t slots;
} saved;

static void save_node(const hnsw *h, saved *s, uint32_t n) {
    free(s->rec[n]);
    s->rec[n] = NULL, s->len[n] = 0;
    size_t sz = hnsw_node_record_size(h, n), len = 0;
    if (!sz) return;
    s->rec[n] = malloc(sz);
    CHECK_INT(hnsw_node_encode(h, n, s->rec[n], sz, &len), LORE_OK);
    CHECK_INT(len, sz);
    s->len[n] = len;
}

static void save_all(const hnsw *h, saved *s) {
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    s->slots = st.slots + 400;
    s->rec = calloc(s->slots, sizeof *s->rec);
    s->len = calloc(s->slots, sizeof *s->len);
    hnsw_header_encode(h, s->hdr);
    for (uint32_t n = 0; n < st.slots; n++)
        save_node(h, s, n);
}

static void saved_free(saved *s) {
    for (size_t i = 0; i < s->slots; i++)
        free(s->rec[i]);
    free(s->rec), free(s->len);
}

static lore_status load_all(const saved *s, const float *v, hnsw **out) {
    hnsw *h = NULL;
    lore_status st = hnsw_load_begin(s->hdr, HNSW_HEADER_BYTES, 1, &h);
    for (uint32_t n = 0; st == LORE_OK && n < s->slots; n++)
        if (s->rec[n]) st = hnsw_load_node(h, n, s->rec[n], s->len[n]);
    if (st == LORE_OK) st = hnsw_load_finish(h);
    for (uint32_t n = 0; st == LORE_OK && v && n < s->slots; n++) {
        if (!s->rec[n]) continue;
        int64_t id;
        memcpy(&id, s->rec[n] + 4, 8); /* little-endian host */
        st = hnsw_load_float(h, n, v + id * D);
    }
    if (st != LORE_OK) hnsw_free(h), h = NULL;
    *out = h;
    return st;
}

static int admit_odd(void *ctx, int64_t id) {
    (void)ctx;
    return id & 1;
}

/* Searches both graphs with the same queries; 1 if every answer matches. */
static int same_answers(const hnsw *a, const hnsw *b, const float *qs, size_t nq) {
    hnsw_hit x[10], y[10];
    for (size_t i = 0; i < nq; i++) {
        for (int f = 0; f < 2; f++) {
            size_t nx = 0, ny = 0;
            hnsw_query q = {.vec = qs + i * D, .k = 10, .admit = f ? admit_odd : NULL};
            if (hnsw_search(a, &q, x, &nx) != LORE_OK || hnsw_search(b, &q, y, &ny) != LORE_OK)
                return 0;
            if (nx != ny) return 0;
            for (size_t j = 0; j < nx; j++)
                if (x[j].id != y[j].id || x[j].score != y[j].score) return 0;
        }
    }
    return 1;
}

static void test_round_trip(void) {
    float *v = fx_clustered(N + 200, D, 20), *qs = fx_near(v, N, D, 50);
    hnsw *h = fx_build(v, N, D, HNSW_COSINE);
    for (int64_t i = 0; i < N; i += 7)
        CHECK_INT(hnsw_delete(h, i), LORE_OK);
    saved s;
    save_all(h, &s);
    hnsw *g = NULL;
    CHECK_INT(load_all(&s, v, &g), LORE_OK);
    CHECK(g && same_answers(h, g, qs, 50));
    CHECK(!hnsw_contains(g, 7) && hnsw_contains(g, 8));
    /* Changes after the save reach the copy through the changed records. */
    uint32_t *dirty = NULL;
    size_t nd = 0;
    CHECK_INT(hnsw_dirty_take(h, &dirty, &nd), LORE_OK);
    free(dirty);
    for (int64_t i = N; i < N + 200; i++)
        CHECK_INT(hnsw_insert(h, i, v + i * D), LORE_OK);
    for (int64_t i = 1; i < N; i += 11) {
        lore_status st = hnsw_delete(h, i); /* some were deleted already */
        CHECK(st == LORE_OK || st == LORE_NOT_FOUND);
    }
    for (int fin = 0; !fin;)
        CHECK_INT(hnsw_repair(h, 500, NULL, &fin), LORE_OK);
    for (int64_t i = 0; i < 50; i++)
        CHECK_INT(hnsw_insert(h, i * 7, v + i * 7 * D), LORE_OK);
    CHECK_INT(hnsw_dirty_take(h, &dirty, &nd), LORE_OK);
    printf("changed records: %zu\n", nd);
    hnsw_header_encode(h, s.hdr);
    CHECK_INT(hnsw_load_header(g, s.hdr, HNSW_HEADER_BYTES), LORE_OK);
    for (size_t i = 0; i < nd; i++) {
        save_node(h, &s, dirty[i]);
        if (s.rec[dirty[i]])
            CHECK_INT(hnsw_load_node(g, dirty[i], s.rec[dirty[i]], s.len[dirty[i]]), LORE_OK);
        else
            CHECK_INT(hnsw_load_free(g, dirty[i]), LORE_OK);
    }
    CHECK_INT(hnsw_load_finish(g), LORE_OK);
    for (size_t i = 0; i < nd; i++) {
        if (!s.rec[dirty[i]]) continue;
        int64_t id;
        memcpy(&id, s.rec[dirty[i]] + 4, 8);
        CHECK_INT(hnsw_load_float(g, dirty[i], v + id * D), LORE_OK);
    }
    free(dirty);
    CHECK(same_answers(h, g, qs, 50));
    hnsw_stats a, b;
    hnsw_get_stats(h, &a), hnsw_get_stats(g, &b);
    CHECK_INT(a.live, b.live);
    CHECK_INT(a.tombstones, b.tombstones);
    /* ...and the copy goes on taking inserts like the original. */
    CHECK_INT(hnsw_insert(g, 1, v + D), LORE_OK);
    CHECK_INT(hnsw_insert(h, 1, v + D), LORE_OK);
    CHECK(same_answers(h, g, qs, 50));
    hnsw_free(g), hnsw_free(h);
    saved_free(&s);
    free(v), free(qs);
}

static void test_damage(void) {
    float *v = fx_random(300, D);
    hnsw *h = fx_build(v, 300, D, HNSW_COSINE), *g = NULL;
    saved s;
    save_all(h, &s);
    uint8_t hdr[HNSW_HEADER_BYTES];
    memcpy(hdr, s.hdr, sizeof hdr);
    hdr[0] ^= 1; /* magic */
    CHECK_INT(hnsw_load_begin(hdr, sizeof hdr, 1, &g), LORE_CORRUPT);
    CHECK_INT(hnsw_load_begin(s.hdr, sizeof hdr - 1, 1, &g), LORE_CORRUPT);
    memcpy(hdr, s.hdr, sizeof hdr);
    hdr[8] = 0, hdr[9] = 0; /* dims 0 */
    CHECK_INT(hnsw_load_begin(hdr, sizeof hdr, 1, &g), LORE_CORRUPT);
    CHECK_INT(hnsw_load_begin(s.hdr, sizeof hdr, 1, &g), LORE_OK);
    /* A truncated record, one with a byte too many, a bad level. */
    CHECK_INT(hnsw_load_node(g, 0, s.rec[0], s.len[0] - 1), LORE_CORRUPT);
    uint8_t *r = malloc(s.len[0] + 1);
    memcpy(r, s.rec[0], s.len[0]);
    r[s.len[0]] = 0;
    CHECK_INT(hnsw_load_node(g, 0, r, s.len[0] + 1), LORE_CORRUPT);
    r[2] = 99;
    CHECK_INT(hnsw_load_node(g, 0, r, s.len[0]), LORE_CORRUPT);
    CHECK_INT(hnsw_load_node(g, 1u << 30, s.rec[0], s.len[0]), LORE_CORRUPT);
    free(r);
    /* A link to a node with no record: every record loads, the graph not. */
    for (uint32_t n = 1; n < 300; n++)
        CHECK_INT(hnsw_load_node(g, n, s.rec[n], s.len[n]), LORE_OK);
    CHECK_INT(hnsw_load_finish(g), LORE_CORRUPT);
    hnsw_free(g);
    /* Random damage: never a crash, a clean answer either way. */
    int errors = 0;
    for (int t = 0; t < 2000; t++) {
        uint32_t n = (uint32_t)(test_rand() % 300);
        uint8_t *d = malloc(s.len[n]);
        memcpy(d, s.rec[n], s.len[n]);
        d[test_rand() % s.len[n]] ^= (uint8_t)(1 + test_rand() % 255);
        CHECK_INT(hnsw_load_begin(s.hdr, sizeof hdr, 0, &g), LORE_OK);
        lore_status st = LORE_OK;
        for (uint32_t m = 0; m < 300 && st == LORE_OK; m++)
            st = m == n ? hnsw_load_node(g, m, d, s.len[n])
                        : hnsw_load_node(g, m, s.rec[m], s.len[m]);
        if (st == LORE_OK) st = hnsw_load_finish(g);
        if (st == LORE_OK) {
            hnsw_hit out[10];
            size_t no = 0;
            hnsw_query q = {.vec = v, .k = 10};
            st = hnsw_search(g, &q, out, &no);
            CHECK(st == LORE_OK);
        } else {
            CHECK_INT(st, LORE_CORRUPT);
            errors++;
        }
        hnsw_free(g);
        free(d);
    }
    printf("damaged records refused: %d of 2000\n", errors);
    hnsw_free(h);
    saved_free(&s);
    free(v);
}

int main(void) {
    test_seed();
    test_round_trip();
    test_damage();
    return test_summary();
}
