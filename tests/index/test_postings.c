/* Posting lists: encode/decode round trips, seeks against a linear scan,
 * and corrupt input refused without reading out of bounds.
 * Seed: LORE_TEST_SEED, printed. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "index/lexical/postings.h"
#include "test.h"

int main(void) {
    test_seed();
    for (int round = 0; round < 200; round++) {
        size_t n = test_rand() % 1000;
        if (round == 0) n = 0;
        if (round == 1) n = POSTINGS_BLOCK;
        if (round == 2) n = POSTINGS_BLOCK + 1;
        posting *p = malloc((n ? n : 1) * sizeof *p);
        int64_t doc = (int64_t)(test_rand() % 100);
        for (size_t i = 0; i < n; i++) {
            doc += 1 + (int64_t)(test_rand() % (round % 2 ? 5 : 100000));
            p[i] = (posting){doc, 1 + (uint32_t)(test_rand() % 300),
                             1 + (uint32_t)(test_rand() % 70000)};
        }
        lore_buf b;
        lore_buf_init(&b, 1 << 26);
        CHECK_INT(postings_encode(p, n, &b), LORE_OK);
        postings_header h;
        CHECK_INT(postings_parse((const uint8_t *)b.data, b.len, &h), LORE_OK);
        CHECK_INT(h.df, n);
        posting *back = NULL;
        size_t nb = 0, cap = 0;
        CHECK_INT(postings_decode_all(&h, &back, &nb, &cap), LORE_OK);
        CHECK_INT(nb, n);
        int same = 1;
        for (size_t i = 0; i < n && i < nb; i++)
            same &= back[i].doc == p[i].doc && back[i].tf == p[i].tf && back[i].len == p[i].len;
        CHECK(same);
        /* seeks agree with a linear scan */
        postings_cursor *c = malloc(sizeof *c);
        postings_cursor_init(c, &h);
        int seek_ok = 1;
        size_t at = 0;
        for (int s = 0; s < 50 && n; s++) {
            int64_t target =
                p[0].doc + (int64_t)(test_rand() % (uint64_t)(p[n - 1].doc - p[0].doc + 10));
            if (target < c->doc) continue;
            postings_cursor_seek(c, target);
            while (at < n && p[at].doc < target)
                at++;
            int64_t want = at < n ? p[at].doc : POSTINGS_END;
            seek_ok &= c->doc == want;
            if (at < n) seek_ok &= c->tf == p[at].tf && c->len == p[at].len;
        }
        CHECK(seek_ok);
        /* the block bounds hold */
        int bounds = 1;
        for (uint32_t bl = 0; bl < h.nblocks; bl++) {
            for (size_t i = bl * POSTINGS_BLOCK; i < n && i < (bl + 1) * POSTINGS_BLOCK; i++) {
                uint32_t mt = p[i].tf > 65535 ? 65535 : p[i].tf;
                uint32_t ml = p[i].len > 65535 ? 65535 : p[i].len;
                bounds &=
                    postings_block_max_tf(&h, bl) >= mt && postings_block_min_len(&h, bl) <= ml;
            }
        }
        CHECK(bounds);
        /* truncations and bit flips: parse may fail or succeed, decoding
         * must not crash and must stay within the blob */
        for (int k = 0; k < 20 && b.len; k++) {
            size_t len = test_rand() % b.len;
            uint8_t *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            if (k % 2) copy[test_rand() % b.len] ^= (uint8_t)(1 + test_rand() % 255), len = b.len;
            postings_header hh;
            if (postings_parse(copy, len, &hh) == LORE_OK) {
                posting *x = NULL;
                size_t xn = 0, xc = 0;
                lore_status st = postings_decode_all(&hh, &x, &xn, &xc);
                CHECK(st == LORE_OK || st == LORE_CORRUPT);
                free(x);
            }
            free(copy);
        }
        free(c);
        free(back);
        free(p);
        lore_buf_free(&b);
    }
    return test_summary();
}
