/* Shared by the parser fuzz targets: run one parser and abort when a result
 * breaks the module's promises (text is the blocks joined by "\n\n", valid
 * UTF-8 without NUL; failures leave *out NULL and a message in err). */
#ifndef LORE_FUZZ_PARSE_CHECK_H
#define LORE_FUZZ_PARSE_CHECK_H

#include <stdlib.h>
#include <string.h>
#include "parse/parse_int.h"

static void fuzz_check_doc(const parse_doc *d) {
    if (!d->text || strlen(d->text) != d->text_len) abort();
    if (parse_utf8_valid_prefix(d->text, d->text_len) != d->text_len) abort();
    size_t pos = 0;
    for (size_t i = 0; i < d->nblocks; i++) {
        const parse_block *b = &d->blocks[i];
        if (b->off != pos || b->len == 0 || b->kind > PARSE_BLOCK_QUOTE) abort();
        if ((b->kind == PARSE_BLOCK_HEADING) != (b->level != 0) || b->level > 6) abort();
        pos = b->off + b->len;
        if (i + 1 < d->nblocks) {
            if (pos + 2 > d->text_len || memcmp(d->text + pos, "\n\n", 2) != 0) abort();
            pos += 2;
        }
    }
    if (pos != d->text_len) abort();
    const char *strs[] = {d->external_id, d->title, d->url, d->author, d->metadata_json};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i] && parse_utf8_valid_prefix(strs[i], strlen(strs[i])) != strlen(strs[i]))
            abort();
    for (size_t i = 0; i < d->nacl; i++)
        if (!d->acl[i]) abort();
}

static void fuzz_run(parse_format fmt, const uint8_t *data, size_t size) {
    parse_limits lim;
    parse_limits_default(&lim);
    lim.max_text = 1 << 20;
    lim.max_docs = 10000;
    parse_result *r = NULL;
    char err[256];
    err[0] = 'x';
    lore_status st = parse_bytes(fmt, "fuzz/input.dat", data, size, &lim, &r, err, sizeof err);
    if (st == LORE_OK) {
        if (!r) abort();
        for (size_t i = 0; i < r->ndocs; i++)
            fuzz_check_doc(&r->docs[i]);
        parse_result_free(r);
    } else if (r || !err[0] || err[0] == 'x') {
        abort(); /* a failure must leave no result and say why */
    }
}

#endif
