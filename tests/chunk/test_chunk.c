/* Chunker: token estimate, section paths and packing on a handbook-like
 * document, long-section splitting with overlap, code blocks kept whole,
 * non-Latin text, a giant word, empty and headings-only documents, broken
 * block lists, and a check that the invariant checker itself can fail. */
#include "chunk_fixture.h"

static size_t off_of(const parse_doc *d, const char *needle) {
    const char *p = strstr(d->text, needle);
    if (!p) {
        fprintf(stderr, "needle not found: %s\n", needle);
        exit(2);
    }
    return (size_t)(p - d->text);
}

static void test_tokens(void) {
    CHECK_INT(chunk_count_tokens("", 0), 0);
    CHECK_INT(chunk_count_tokens(NULL, 5), 0);
    CHECK_INT(chunk_count_tokens(" \n\t ", 4), 0);
    CHECK_INT(chunk_count_tokens("Hello, world!", 13), 4);
    CHECK_INT(chunk_count_tokens("word", 4), 1);
    CHECK_INT(chunk_count_tokens("abcdefgh", 8), 1);
    CHECK_INT(chunk_count_tokens("abcdefghi", 9), 2);
    CHECK_INT(chunk_count_tokens("internationalization", 20), 3);
    CHECK_INT(chunk_count_tokens("a -- b", 6), 3);
    CHECK_INT(chunk_count_tokens("caf\xc3\xa9 ok", 8), 2);
    /* Cyrillic: 12 and 6 bytes. */
    const char *ru = "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80";
    CHECK_INT(chunk_count_tokens(ru, strlen(ru)), 3);
    /* CJK: one token per character, the full stop is punctuation. */
    const char *ja = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x80\x82";
    CHECK_INT(chunk_count_tokens(ja, strlen(ja)), 4);
    /* A truncated sequence is one replacement character, not a crash. */
    CHECK_INT(chunk_count_tokens("ab\xe6\x97", 4), 2);
}

static void test_handbook(void) {
    uint64_t rng = 42;
    static char welcome[4096], parental[3][8192], sick[4096], vac[4096], ben[16384], app[4096];
    fx_sentences(welcome, 2, &rng); /* 26 tokens */
    for (int i = 0; i < 3; i++)
        fx_sentences(parental[i], 23, &rng); /* 299 each */
    fx_sentences(sick, 3, &rng);             /* 39 */
    fx_sentences(vac, 4, &rng);              /* 52 */
    fx_sentences(ben, 27, &rng);             /* 351 */
    fx_sentences(app, 2, &rng);              /* 26 */

    parse_builder b;
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Handbook");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, welcome);
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Leave");
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "Parental");
    for (int i = 0; i < 3; i++)
        fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, parental[i]);
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "Sick");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, sick);
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "Vacation");
    fx_adds(&b, PARSE_BLOCK_LIST, 0, vac);
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "  Benefits\n and   pay ");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, ben);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Appendix");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, app);
    parse_doc d;
    fx_finish(&b, &d);

    chunk_list *l = fx_chunk(&d, NULL, 1);
    /* Handbook alone (the next section is too big to pack with), Parental in
     * three overlapping chunks starting at the "Leave" heading, Sick and
     * Vacation packed under their parent, Benefits, Appendix. */
    CHECK_INT(l->n, 7);
    if (l->n == 7) {
        size_t leave = off_of(&d, "Leave\n\nParental");
        CHECK_INT(l->items[0].start, 0);
        CHECK_INT(l->items[0].end, leave - 2);
        CHECK_STR(l->items[0].section, "Handbook");
        CHECK_INT(l->items[0].ntokens, 27);

        CHECK_INT(l->items[1].start, leave);
        CHECK_STR(l->items[1].section, "Handbook > Leave > Parental");
        /* Ends at the first paragraph's end: a block boundary near target. */
        CHECK_INT(l->items[1].end, off_of(&d, parental[0]) + strlen(parental[0]));
        CHECK_STR(l->items[2].section, "Handbook > Leave > Parental");
        CHECK_STR(l->items[3].section, "Handbook > Leave > Parental");
        CHECK(l->items[2].start < l->items[1].end); /* overlap */
        CHECK(l->items[3].start < l->items[2].end);
        CHECK_INT(l->items[3].end, off_of(&d, parental[2]) + strlen(parental[2]));
        for (int i = 2; i <= 3; i++) {
            uint32_t ot = chunk_count_tokens(d.text + l->items[i].start,
                                             l->items[i - 1].end - l->items[i].start);
            CHECK(ot >= 35 && ot <= 65);
            /* The overlap starts at a sentence start. */
            CHECK(d.text[l->items[i].start - 2] == '.');
        }

        CHECK_INT(l->items[4].start, off_of(&d, "Sick"));
        CHECK_INT(l->items[4].end, off_of(&d, vac) + strlen(vac));
        CHECK_STR(l->items[4].section, "Handbook > Leave");

        CHECK_INT(l->items[5].start, off_of(&d, "Benefits\n and"));
        CHECK_STR(l->items[5].section, "Handbook > Benefits and pay");
        CHECK_INT(l->items[6].start, off_of(&d, "Appendix"));
        CHECK_INT(l->items[6].end, d.text_len);
        CHECK_STR(l->items[6].section, "Appendix");
    } else {
        fx_dump(&d, l);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* Packing: small siblings under one parent share the parent's path, and
     * a preamble without headings has the empty path. */
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Preamble text before any heading.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Guide");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Install");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Run the installer.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "Linux");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Use the package.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Usage");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Start it.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 5, "Deep"); /* skipped levels nest too */
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Deep text.");
    fx_finish(&b, &d);
    chunk_options o;
    chunk_options_default(&o);
    l = fx_chunk(&d, &o, 1);
    /* Everything is small and under the document root: one pack whose
     * path is the common prefix of its sections, "" here because of the
     * preamble. */
    CHECK_INT(l->n, 1);
    if (l->n >= 1) CHECK_STR(l->items[0].section, "");
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* Without the preamble the pack's path is the common parent "Guide";
     * with a small min_tokens nothing packs and paths are exact. */
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Guide");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Install");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Run the installer.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "Linux");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Use the package.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Usage");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Start it.");
    fx_adds(&b, PARSE_BLOCK_HEADING, 5, "Deep");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "Deep text.");
    fx_finish(&b, &d);
    l = fx_chunk(&d, &o, 1);
    CHECK_INT(l->n, 1);
    if (l->n >= 1) {
        CHECK_STR(l->items[0].section, "Guide");
        CHECK_INT(l->items[0].start, 0);
        CHECK_INT(l->items[0].end, d.text_len);
    }
    chunk_list_free(l);
    o.min_tokens = 1;
    l = fx_chunk(&d, &o, 1);
    CHECK_INT(l->n, 4);
    if (l->n == 4) {
        CHECK_STR(l->items[0].section, "Guide > Install");
        CHECK_INT(l->items[0].start, 0); /* starts with the "Guide" heading */
        CHECK_STR(l->items[1].section, "Guide > Install > Linux");
        CHECK_STR(l->items[2].section, "Guide > Usage");
        CHECK_STR(l->items[3].section, "Guide > Usage > Deep");
        CHECK_INT(l->items[3].start, off_of(&d, "Deep"));
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
}

static void test_long_section_overlap(void) {
    static char para[200000];
    uint64_t rng = 7;
    fx_sentences(para, 1000, &rng); /* 13,000 tokens in one paragraph */
    parse_builder b;
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Long");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, para);
    parse_doc d;
    fx_finish(&b, &d);
    chunk_list *l = fx_chunk(&d, NULL, 1);
    CHECK(l->n >= 30 && l->n <= 40);
    double sum_ratio = 0;
    size_t npairs = 0;
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        CHECK_STR(c->section, "Long");
        if (i + 1 < l->n) {
            /* Chunks end at sentence ends near target. */
            CHECK(d.text[c->end - 1] == '.');
            CHECK(c->ntokens >= 350 && c->ntokens <= 450);
            const chunk *n = &l->items[i + 1];
            CHECK(n->start < c->end);
            uint32_t ot = chunk_count_tokens(d.text + n->start, c->end - n->start);
            double r = (double)ot / c->ntokens;
            CHECK(r >= 0.08 && r <= 0.17);
            sum_ratio += r;
            npairs++;
        }
    }
    double avg = npairs ? sum_ratio / (double)npairs : 0;
    printf("long section: %zu chunks, mean overlap %.1f%%\n", l->n, avg * 100);
    CHECK(avg >= 0.10 && avg <= 0.15);
    chunk_list_free(l);
    parse_doc_clear(&d);
}

static int inside(uint32_t x, size_t a, size_t b) {
    return x > a && x < b;
}

static void test_code_blocks(void) {
    static char p1[8192], p2[8192], code[16384], big[65536];
    uint64_t rng = 3;
    fx_sentences(p1, 25, &rng); /* 325 tokens */
    fx_sentences(p2, 25, &rng);
    char *q = code;
    for (int i = 0; i < 30; i++)
        q += sprintf(q, "    x%d = call(y, %d);\n", i, i); /* ~240 tok */
    q = big;
    for (int i = 0; i < 300; i++)
        q += sprintf(q, "    y%d = call(z, %d);\n", i, i); /* ~2400 */

    parse_builder b;
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "Code");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, p1);
    fx_adds(&b, PARSE_BLOCK_CODE, 0, code);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, p2);
    fx_adds(&b, PARSE_BLOCK_CODE, 0, big);
    parse_doc d;
    fx_finish(&b, &d);
    uint32_t code_tok = chunk_count_tokens(d.text + d.blocks[2].off, d.blocks[2].len);
    CHECK(code_tok > 150 && code_tok < 500);
    chunk_list *l = fx_chunk(&d, NULL, 1);
    size_t ca = d.blocks[2].off, cb = ca + d.blocks[2].len;
    int whole = 0;
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        CHECK(!inside(c->start, ca, cb));
        CHECK(!inside(c->end, ca, cb));
        if (c->start <= ca && c->end >= cb) whole++;
    }
    CHECK(whole >= 1);
    /* The big block does not fit and is split like prose, within max. */
    size_t ba = d.blocks[4].off, bb = ba + d.blocks[4].len;
    int split = 0;
    for (size_t i = 0; i < l->n; i++)
        if (inside(l->items[i].end, ba, bb)) split++;
    CHECK(split >= 4);
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* A short paragraph before a code block of 400+ tokens: cutting inside
     * the code near target would be the natural choice for prose; instead
     * the chunk ends before the code and the code gets a chunk of its own
     * (the overlap is dropped, since it would not fit with the code). */
    char intro[1024] = "";
    fx_sentences(intro, 6, &rng); /* 78 tokens */
    q = code;
    for (int i = 0; i < 57; i++)
        q += sprintf(q, "    x%d = call(y, %d);\n", i, i);
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, intro);
    fx_adds(&b, PARSE_BLOCK_CODE, 0, code);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, intro);
    fx_finish(&b, &d);
    code_tok = chunk_count_tokens(d.text + d.blocks[1].off, d.blocks[1].len);
    CHECK(code_tok > 430 && code_tok <= 500);
    l = fx_chunk(&d, NULL, 1);
    CHECK_INT(l->n, 3);
    if (l->n == 3) {
        CHECK_INT(l->items[0].end, d.blocks[0].len);
        CHECK_INT(l->items[1].start, d.blocks[1].off);
        CHECK_INT(l->items[1].end, d.blocks[1].off + d.blocks[1].len);
    } else {
        fx_dump(&d, l);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
}

static void test_non_latin(void) {
    static char ja[200000], ru[200000], mix[4096];
    /* 400 sentences of 19 kanji/kana and a full stop, no spaces at all. */
    char *p = ja;
    const char *cj[] = {"\xe6\x97\xa5", "\xe6\x9c\xac", "\xe8\xaa\x9e",
                        "\xe3\x81\xae", "\xe6\x96\x87", "\xe7\xab\xa0"};
    for (int s = 0; s < 400; s++) {
        for (int i = 0; i < 19; i++)
            p += sprintf(p, "%s", cj[(s + i) % 6]);
        p += sprintf(p, "\xe3\x80\x82");
    }
    /* Cyrillic words with spaces. */
    p = ru;
    const char *rw[] = {"\xd0\xbe\xd1\x82\xd0\xbf\xd1\x83\xd1\x81\xd0\xba", "\xd0\xb8",
                        "\xd0\xb7\xd0\xb0\xd1\x8f\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5",
                        "\xd1\x81\xd0\xbe\xd1\x82\xd1\x80\xd1\x83\xd0\xb4\xd0\xbd\xd0\xb8\xd0\xba"};
    for (int i = 0; i < 6000; i++)
        p += sprintf(p, "%s%s", i ? " " : "", rw[i % 4]);
    /* Mixed scripts in a heading, cut at 200 bytes on a UTF-8 boundary. */
    p = mix;
    for (int i = 0; i < 150; i++)
        p += sprintf(p, "\xd0\xb6"); /* 300 bytes of "ж" */

    parse_builder b;
    pb_init(&b, 1 << 22);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "\xe6\x97\xa5\xe6\x9c\xac");
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, ja);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, mix);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, ru);
    parse_doc d;
    fx_finish(&b, &d);
    chunk_list *l = fx_chunk(&d, NULL, 1);
    size_t nja = 0, nru = 0;
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->items[i];
        if (strcmp(c->section, "\xe6\x97\xa5\xe6\x9c\xac") == 0) {
            nja++;
            /* Every chunk of the Japanese section but the last ends at a full stop. */
            if (i + 1 < l->n && strcmp(l->items[i + 1].section, c->section) == 0)
                CHECK(c->end >= 3 && memcmp(d.text + c->end - 3, "\xe3\x80\x82", 3) == 0);
        } else {
            nru++;
            CHECK_INT(strlen(c->section), 200);
            CHECK(memcmp(c->section, mix, 200) == 0);
        }
    }
    CHECK(nja >= 15);
    CHECK(nru >= 10);
    CHECK_INT(nja + nru, l->n);
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* CJK without full stops next to one space: chunks still reach the
     * target by ending between two CJK characters rather than at the only
     * space. */
    p = ja;
    p += sprintf(p, "abc ");
    for (int i = 0; i < 1500; i++)
        p += sprintf(p, "%s", cj[i % 6]);
    pb_init(&b, 1 << 22);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, ja);
    fx_finish(&b, &d);
    l = fx_chunk(&d, NULL, 1);
    CHECK(l->n >= 3);
    if (l->n) CHECK(l->items[0].ntokens >= 350);
    if (l->n > 1) CHECK(l->items[1].ntokens >= 350);
    chunk_list_free(l);
    parse_doc_clear(&d);
}

static void test_giant_word(void) {
    size_t n = 1 << 20;
    char *w = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        w[i] = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo+/"[i % 37];
    w[n] = '\0';
    parse_builder b;
    pb_init(&b, 4u << 20);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, w);
    parse_doc d;
    fx_finish(&b, &d);
    chunk_list *l = fx_chunk(&d, NULL, 1);
    CHECK(l->n > 100);
    for (size_t i = 0; i < l->n; i++)
        CHECK(l->items[i].ntokens <= 500);
    if (l->n) CHECK_INT(l->items[l->n - 1].end, n);
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* One giant word of two-byte letters: forced cuts stay on boundaries
     * (checked by fx_chunk in strict mode). */
    for (size_t i = 0; i + 1 < n; i += 2)
        w[i] = '\xc3', w[i + 1] = '\xa9';
    w[n] = '\0';
    pb_init(&b, 4u << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "Word");
    fx_add(&b, PARSE_BLOCK_CODE, 0, w, n);
    fx_finish(&b, &d);
    l = fx_chunk(&d, NULL, 1);
    CHECK(l->n > 100);
    chunk_list_free(l);
    parse_doc_clear(&d);

    /* A short word followed by a giant one: the whitespace cut is used
     * first, then the giant word is cut by force. */
    memcpy(w, "short ", 6);
    for (size_t i = 6; i < 20000; i++)
        w[i] = 'z';
    pb_init(&b, 4u << 20);
    fx_add(&b, PARSE_BLOCK_PARAGRAPH, 0, w, 20000);
    fx_finish(&b, &d);
    l = fx_chunk(&d, NULL, 1);
    CHECK(l->n >= 5);
    if (l->n) CHECK_INT(l->items[0].end, 5);
    chunk_list_free(l);
    parse_doc_clear(&d);
    free(w);
}

static void test_empty_and_headings_only(void) {
    parse_doc d;
    memset(&d, 0, sizeof d);
    chunk_list *l = NULL;
    CHECK_INT(chunk_document(&d, NULL, &l), LORE_OK);
    CHECK(l != NULL);
    if (l) CHECK_INT(l->n, 0);
    chunk_list_free(l);

    CHECK_INT(chunk_document(NULL, NULL, &l), LORE_INVALID);
    CHECK(l == NULL);
    CHECK_INT(chunk_document(&d, NULL, NULL), LORE_INVALID);

    /* Whitespace only, no blocks. */
    char ws[] = " \n\n\t ";
    d.text = ws;
    d.text_len = strlen(ws);
    CHECK_INT(chunk_document(&d, NULL, &l), LORE_OK);
    if (l) CHECK_INT(l->n, 0);
    chunk_list_free(l);

    parse_builder b;
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "A");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "B");
    fx_adds(&b, PARSE_BLOCK_HEADING, 1, "C");
    fx_adds(&b, PARSE_BLOCK_HEADING, 2, "D");
    fx_adds(&b, PARSE_BLOCK_HEADING, 3, "E");
    fx_finish(&b, &d);
    l = fx_chunk(&d, NULL, 1);
    CHECK_INT(l->n, 2);
    if (l->n == 2) {
        CHECK_STR(l->items[0].section, "A > B");
        CHECK_INT(l->items[0].start, 0);
        CHECK_INT(l->items[0].end, 4); /* "A\n\nB" */
        CHECK_STR(l->items[1].section, "C > D > E");
        CHECK_INT(l->items[1].end, d.text_len);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
}

static void test_broken_blocks(void) {
    /* Blocks out of order, overlapping, out of range, with unknown kinds and
     * levels, and text between them that no block covers. */
    char text[] = "# Title\n\nsome text not in a block\n\nmore words here and there";
    parse_block blocks[] = {
        {PARSE_BLOCK_HEADING, 0, 2, 5},
        {(parse_block_kind)99, 9, 40, 100},
        {PARSE_BLOCK_PARAGRAPH, 0, 10, 5},
        {PARSE_BLOCK_HEADING, 200, 45, 3},
        {PARSE_BLOCK_CODE, 0, 4000000000u, 4000000000u},
    };
    parse_doc d;
    memset(&d, 0, sizeof d);
    d.text = text;
    d.text_len = strlen(text);
    d.blocks = blocks;
    d.nblocks = sizeof blocks / sizeof blocks[0];
    chunk_options o = {0, 0, 0, 0}; /* clamped, not rejected */
    chunk_list *l = fx_chunk(&d, &o, 0);
    CHECK(l->n >= 1);
    chunk_list_free(l);

    /* Invalid UTF-8 text (the contract says valid, but never crash). */
    char bad[] = "\xff\xfe abc \xe6\x97 \xc3 de\x80\x80\x80 f";
    d.text = bad;
    d.text_len = strlen(bad);
    d.blocks = NULL;
    d.nblocks = 0;
    l = fx_chunk(&d, &o, 0);
    chunk_list_free(l);
}

static void test_checker_fails(void) {
    parse_builder b;
    pb_init(&b, 1 << 20);
    fx_adds(&b, PARSE_BLOCK_PARAGRAPH, 0, "alpha beta gamma");
    parse_doc d;
    fx_finish(&b, &d);
    chunk_list *l = fx_chunk(&d, NULL, 1);
    char err[256];
    if (l->n == 1) {
        chunk *c = &l->items[0];
        c->end = 10; /* "alpha beta" leaves "gamma" uncovered */
        c->ntokens = 2;
        CHECK_INT(chunk_check(&d, NULL, l, 1, err, sizeof err), -1);
        c->end = 8; /* inside "beta" */
        c->ntokens = 2;
        CHECK_INT(chunk_check(&d, NULL, l, 1, err, sizeof err), -1);
        c->end = 16;
        c->ntokens = 7; /* wrong count */
        CHECK_INT(chunk_check(&d, NULL, l, 1, err, sizeof err), -1);
        c->ntokens = 3;
        CHECK_INT(chunk_check(&d, NULL, l, 1, err, sizeof err), 0);
    }
    chunk_list_free(l);
    parse_doc_clear(&d);
}

int main(void) {
    test_tokens();
    test_handbook();
    test_long_section_overlap();
    test_code_blocks();
    test_non_latin();
    test_giant_word();
    test_empty_and_headings_only();
    test_broken_blocks();
    test_checker_fails();
    return test_summary();
}
