/* Chunker, randomized: random documents (headings at random levels, prose,
 * code, lists, Cyrillic, CJK, emoji, giant words) with random options must
 * satisfy every invariant of chunk_check, and every chunk's section path must
 * be a prefix of the heading path in force somewhere inside the chunk. The
 * seed is printed; LORE_TEST_SEED=<n> replays a run.
 *
 * Then linear time: 10 MB documents of several shapes are chunked while the
 * chunker counts the bytes and window slots it touches, which must stay a
 * small multiple of the text size (a wall-clock figure is printed, not
 * asserted). */
#include "chunk_fixture.h"

#include <time.h>

static uint64_t rng;

static size_t rnd(size_t n) {
    return n ? (size_t)(fx_rand(&rng) % n) : 0;
}

static void put(char **p, const char *s) {
    size_t n = strlen(s);
    memcpy(*p, s, n);
    *p += n;
}

/* Appends a random word-like item to *p (at most 400 bytes). */
static void rand_item(char **p) {
    static const char *cyr[] = {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                                "\xd0\xbc\xd0\xb8\xd1\x80", "\xd0\xb4\xd0\xb0"};
    static const char *cjk[] = {"\xe6\x97\xa5", "\xe6\x9c\xac", "\xe3\x81\xae", "\xe8\xaa\x9e"};
    static const char *punct[] = {",", ".", "?", "!", "--", ";", "(x)", "\"", "\xe2\x80\x94"};
    size_t r = rnd(100);
    if (r < 60) {
        size_t n = 1 + rnd(12);
        for (size_t i = 0; i < n; i++)
            *(*p)++ = (char)('a' + rnd(26));
        if (rnd(6) == 0) put(p, rnd(2) ? "." : ",");
    } else if (r < 70) {
        put(p, cyr[rnd(3)]);
    } else if (r < 80) {
        size_t n = 1 + rnd(30);
        for (size_t i = 0; i < n; i++)
            put(p, cjk[rnd(4)]);
        if (rnd(3) == 0) put(p, "\xe3\x80\x82");
    } else if (r < 90) {
        put(p, punct[rnd(9)]);
    } else if (r < 93) {
        put(p, "\xf0\x9f\x98\x80");
    } else if (r < 95) {
        size_t n = 65 + rnd(300); /* a giant word: forced cuts allowed */
        for (size_t i = 0; i < n; i++)
            *(*p)++ = (char)('A' + rnd(26));
    } else {
        char num[16];
        snprintf(num, sizeof num, "%zu", rnd(100000));
        put(p, num);
    }
}

typedef struct ref_block {
    size_t off, end;
    int heading;
    char path[512]; /* heading path in force at this block (reference) */
} ref_block;

/* Whether `path` is a " > "-prefix of `full` (component-wise). */
static int path_prefix(const char *path, const char *full) {
    size_t n = strlen(path);
    if (n == 0) return 1;
    if (strncmp(path, full, n) != 0) return 0;
    return full[n] == '\0' || strncmp(full + n, " > ", 3) == 0;
}

static int one_random_doc(int idx) {
    parse_builder b;
    pb_init(&b, 1 << 24);
    size_t nblocks = rnd(4) == 0 ? rnd(4) : rnd(60);
    size_t scale = rnd(3) == 0 ? 2000 : 200;
    char *buf = malloc(scale * 2 * 400 + 1024);
    /* Reference heading stack for section paths. */
    char stack[6][64];
    int levels[6], depth = 0;
    static ref_block refs[64];
    size_t nrefs = 0;
    for (size_t i = 0; i < nblocks; i++) {
        char *p = buf;
        int kind = (int)rnd(10);
        int level = 0;
        parse_block_kind k;
        if (kind < 3) {
            k = PARSE_BLOCK_HEADING;
            level = 1 + (int)rnd(6);
            size_t nw = 1 + rnd(3);
            for (size_t w = 0; w < nw; w++) {
                if (w) *p++ = ' ';
                size_t n = 1 + rnd(8);
                for (size_t j = 0; j < n; j++)
                    *p++ = (char)('A' + rnd(26));
            }
        } else {
            k = kind == 3 ? PARSE_BLOCK_CODE : kind == 4 ? PARSE_BLOCK_LIST : PARSE_BLOCK_PARAGRAPH;
            size_t n = 1 + rnd(rnd(2) ? scale : scale / 10);
            for (size_t w = 0; w < n; w++) {
                if (w) *p++ = rnd(10) == 0 ? '\n' : ' ';
                rand_item(&p);
            }
        }
        *p = '\0';
        size_t before = b.nblocks;
        fx_add(&b, k, level, buf, (size_t)(p - buf));
        if (b.nblocks == before) continue;
        if (k == PARSE_BLOCK_HEADING) {
            while (depth && levels[depth - 1] >= level)
                depth--;
            levels[depth] = level;
            snprintf(stack[depth], sizeof stack[depth], "%s", buf);
            depth++;
        }
        ref_block *r = &refs[nrefs++];
        r->off = b.blocks[b.nblocks - 1].off;
        r->end = r->off + b.blocks[b.nblocks - 1].len;
        r->heading = k == PARSE_BLOCK_HEADING;
        r->path[0] = '\0';
        for (int j = 0; j < depth; j++) {
            if (j) strcat(r->path, " > ");
            strcat(r->path, stack[j]);
        }
    }
    free(buf);
    parse_doc d;
    fx_finish(&b, &d);

    chunk_options o;
    chunk_options_default(&o);
    if (rnd(2)) {
        o.max_tokens = (uint32_t)(8 + rnd(700));
        o.target_tokens = (uint32_t)(1 + rnd(o.max_tokens + 10));
        o.min_tokens = (uint32_t)rnd(o.target_tokens + 10);
        o.overlap_tokens = (uint32_t)rnd(o.target_tokens / 2 + 2);
    }
    int before = test_failed;
    chunk_list *l = fx_chunk(&d, &o, 1);
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        int ok = 0, body = 0;
        size_t r = 0;
        for (; r < nrefs && refs[r].off < c->end; r++) {
            if (refs[r].end <= c->start) continue;
            body |= !refs[r].heading;
            ok |= path_prefix(c->section, refs[r].path);
        }
        /* Headings that fill a chunk on their own (tiny max_tokens) carry
         * the path of the text that follows them. */
        if (!ok && !body && r < nrefs) ok = path_prefix(c->section, refs[r].path);
        CHECK(ok);
        if (!ok) fprintf(stderr, "chunk %zu: path \"%s\" not found in its blocks\n", i, c->section);
    }
    int failed = test_failed != before;
    if (failed) {
        fprintf(stderr, "doc %d failed (options %u/%u/%u/%u)\n", idx, o.target_tokens, o.min_tokens,
                o.max_tokens, o.overlap_tokens);
        fx_dump(&d, l);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
    return failed;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { SHAPE_PROSE, SHAPE_ONE_PARA, SHAPE_TINY_SECTIONS, SHAPE_WORD, SHAPE_CODE, SHAPE_CJK };

static void linear_shape(int shape, const char *name) {
    size_t target = 10u << 20;
    parse_builder b;
    pb_init(&b, 64u << 20);
    char *buf = malloc(target + (64u << 10)); /* room for the last write */
    char *p = buf;
    size_t nsec = 0;
    while ((size_t)(p - buf) < target) {
        char *start = p;
        switch (shape) {
        case SHAPE_PROSE:
            if (rnd(20) == 0) {
                fx_adds(&b, PARSE_BLOCK_HEADING, 1 + (int)rnd(3), "Section");
                nsec++;
            }
            *p = '\0';
            fx_sentences(p, 1 + rnd(30), &rng);
            p += strlen(p);
            fx_add(&b, PARSE_BLOCK_PARAGRAPH, 0, start, (size_t)(p - start));
            break;
        case SHAPE_ONE_PARA:
        case SHAPE_WORD:
        case SHAPE_CJK:
            /* Filled in one go below. */
            while ((size_t)(p - buf) < target) {
                if (shape == SHAPE_ONE_PARA) {
                    *p = '\0';
                    fx_sentences(p, 100, &rng);
                    p += strlen(p);
                    *p++ = ' ';
                } else if (shape == SHAPE_WORD) {
                    *p++ = (char)('a' + rnd(26));
                } else {
                    put(&p, rnd(20) ? "\xe6\x97\xa5" : "\xe3\x80\x82");
                }
            }
            break;
        case SHAPE_TINY_SECTIONS:
            fx_adds(&b, PARSE_BLOCK_HEADING, 1 + (int)rnd(6), "Tiny");
            p += 6;
            fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "One short line of text.");
            p += 25;
            break;
        case SHAPE_CODE:
            /* Code blocks that just fit after a short paragraph: the
             * overlap never has room, which exercises the retry path. */
            fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Intro to the next listing.");
            p += 28;
            for (int i = 0; i < 60; i++)
                p += sprintf(p, "x%d = f(%d);\n", i, i);
            fx_add(&b, PARSE_BLOCK_CODE, 0, start + 28, (size_t)(p - start - 28));
            break;
        }
    }
    if (shape == SHAPE_ONE_PARA || shape == SHAPE_WORD || shape == SHAPE_CJK)
        fx_add(&b, PARSE_BLOCK_PARAGRAPH, 0, buf, (size_t)(p - buf));
    free(buf);
    parse_doc d;
    fx_finish(&b, &d);
    uint64_t work = 0;
    chunk_list *l = NULL;
    double t0 = now();
    lore_status st = chunk_document_ex(&d, NULL, &l, &work);
    double dt = now() - t0;
    CHECK_INT(st, LORE_OK);
    double ratio = (double)work / (double)d.text_len;
    printf("linear %-15s %5.1f MB  %7zu chunks  work %.2f x text  %.0f ms\n", name,
           (double)d.text_len / 1e6, l ? l->n : 0, ratio, dt * 1000);
    CHECK(ratio < 12.0);
    if (l) {
        char err[256];
        int rc = chunk_check(&d, NULL, l, 1, err, sizeof err);
        CHECK_INT(rc, 0);
        if (rc) fprintf(stderr, "%s: %s\n", name, err);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
}

int main(void) {
    const char *env = getenv("LORE_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    printf("seed %llu (replay with LORE_TEST_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng = seed;
    int nfail = 0;
    for (int i = 0; i < 400 && nfail < 3; i++)
        nfail += one_random_doc(i);

    linear_shape(SHAPE_PROSE, "prose");
    linear_shape(SHAPE_ONE_PARA, "one-paragraph");
    linear_shape(SHAPE_TINY_SECTIONS, "tiny-sections");
    linear_shape(SHAPE_WORD, "one-word");
    linear_shape(SHAPE_CODE, "code");
    linear_shape(SHAPE_CJK, "cjk");

    /* Token estimate speed on ASCII prose (printed; asserted only loosely,
     * since sanitizer builds are slow). */
    size_t n = 8u << 20;
    char *text = malloc(n + 2048);
    text[0] = '\0';
    char *p = text;
    while ((size_t)(p - text) < n) {
        fx_sentences(p, 10, &rng);
        p += strlen(p);
    }
    uint64_t sum = 0;
    double t0 = now();
    for (int i = 0; i < 4; i++)
        sum += chunk_count_tokens(text, (size_t)(p - text));
    double dt = now() - t0;
    double mbs = 4.0 * (double)(p - text) / 1e6 / dt;
    printf("chunk_count_tokens: %.0f MB/s (%llu tokens)\n", mbs, (unsigned long long)sum);
    CHECK(mbs > 10);
    free(text);
    return test_summary();
}
