/* Fuzz target for the chunker.
 *
 * Input layout: byte 0 picks the mode, bytes 1-3 the options, the rest the
 * document. Mode "built" (even byte 0) reads a list of blocks, each a control
 * byte (kind, heading level, whether to repeat the content to make long
 * blocks), a length byte and that many content bytes, and builds the document
 * with the parse builder, as the parsers do (valid UTF-8, trimmed blocks);
 * every invariant of chunk_check, UTF-8 and word boundaries included, must
 * hold. Mode "raw" (odd byte 0) uses the bytes as the text as-is (invalid
 * UTF-8 allowed) with arbitrary, possibly overlapping or out-of-range blocks
 * taken from the input's tail: the chunker must not crash and the
 * structural invariants (ranges, order, coverage, counts) must hold. */
#include "chunk/chunk.h"
#include "chunk/chunk_int.h"
#include "support/chunk_check.h"
#include "parse/parse_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const parse_doc *d, const chunk_options *o, int strict) {
    chunk_list *l = NULL;
    lore_status st = chunk_document(d, o, &l);
    if (st != LORE_OK || !l) {
        fprintf(stderr, "chunk_document: %s\n", lore_status_name(st));
        abort();
    }
    char err[256];
    if (chunk_check(d, o, l, strict, err, sizeof err) != 0) {
        fprintf(stderr, "invariant (%s): %s\n", strict ? "built" : "raw", err);
        abort();
    }
    chunk_list_free(l);
}

static void built(const uint8_t *p, size_t n, const chunk_options *o) {
    parse_builder b;
    pb_init(&b, 1 << 22);
    char *rep = malloc(16 * 256);
    if (!rep) return;
    size_t i = 0;
    while (i + 2 <= n) {
        uint8_t ctl = p[i], len = p[i + 1];
        i += 2;
        size_t take = len < n - i ? len : n - i;
        const char *s = (const char *)p + i;
        size_t slen = take;
        i += take;
        if (ctl & 0x80) {
            /* Repeat the content up to 16 times to make blocks longer than
             * a chunk without needing huge inputs. */
            size_t times = 1 + ((ctl >> 4) & 7) * 2;
            for (size_t r = 0; r < times; r++)
                memcpy(rep + r * take, s, take);
            s = rep;
            slen = take * times;
        }
        parse_block_kind kind = (parse_block_kind)((ctl & 7) % 6);
        uint8_t level = (uint8_t)(1 + ((ctl >> 3) & 7) % 6);
        if (pb_add_block(&b, kind, level, s, slen) != LORE_OK) break;
    }
    free(rep);
    parse_doc d;
    memset(&d, 0, sizeof d);
    if (pb_finish(&b, &d) == LORE_OK) check(&d, o, 1);
    pb_free(&b);
    parse_doc_clear(&d);
}

static void raw(const uint8_t *p, size_t n, const chunk_options *o) {
    /* The last quarter of the input describes blocks, 4 bytes each. */
    size_t nb = n / 16, tlen = n - nb * 4;
    char *text = malloc(tlen + 1);
    parse_block *blocks = malloc((nb ? nb : 1) * sizeof *blocks);
    if (!text || !blocks) goto out;
    memcpy(text, p, tlen);
    text[tlen] = '\0';
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *q = p + tlen + i * 4;
        blocks[i].kind = (parse_block_kind)(q[0] % 8); /* includes invalid kinds */
        blocks[i].level = (uint8_t)(q[0] >> 5);
        blocks[i].off = (uint32_t)q[1] * (uint32_t)(tlen / 64 + 1) / 4;
        blocks[i].len = q[2] == 255 ? UINT32_MAX : (uint32_t)q[2] * (q[3] % 16 + 1);
    }
    parse_doc d;
    memset(&d, 0, sizeof d);
    d.text = text;
    d.text_len = tlen;
    d.blocks = blocks;
    d.nblocks = nb;
    check(&d, o, 0);
out:
    free(text);
    free(blocks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    chunk_options o;
    chunk_options_default(&o);
    if (data[1] || data[2] || data[3]) {
        /* Small limits make short inputs exercise splitting and overlap. */
        o.max_tokens = 8u + data[1];
        o.target_tokens = 1u + (uint32_t)data[2] % (o.max_tokens + 8);
        o.min_tokens = (uint32_t)(data[3] & 0x0f) * o.target_tokens / 12;
        o.overlap_tokens = (uint32_t)(data[3] >> 4) * o.target_tokens / 24;
    }
    if (data[0] & 1)
        raw(data + 4, size - 4, &o);
    else
        built(data + 4, size - 4, &o);
    return 0;
}
