/* DOCX parser tests on the samples in tests/parse/samples (built from
 * docx_src/ by make_docx.sh): metadata, heading levels, lists, tables, text
 * boxes, tracked changes, and the failure modes (garbage, truncation, no
 * main part, DOCTYPE, text limit). */
#include "parse/parse_int.h"
#include "test.h"

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf) exit(2);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (!r) break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

static parse_limits limits(void) {
    parse_limits lim = {64u << 20, 16u << 20, 1000000, 30, 1024};
    return lim;
}

static lore_status parse_file(const char *name, const parse_limits *lim, parse_result **out,
                              char *err, size_t errlen) {
    char path[256];
    snprintf(path, sizeof path, "tests/parse/samples/%s", name);
    size_t len;
    uint8_t *data = slurp(path, &len);
    err[0] = '\0';
    lore_status st = parse_docx(name, data, len, lim, out, err, errlen);
    free(data);
    return st;
}

/* Text of block i, as a NUL-terminated copy in a static buffer. */
static const char *block_text(const parse_doc *d, size_t i) {
    static char buf[4096];
    if (i >= d->nblocks) return "(no such block)";
    size_t n = d->blocks[i].len < sizeof buf - 1 ? d->blocks[i].len : sizeof buf - 1;
    memcpy(buf, d->text + d->blocks[i].off, n);
    buf[n] = '\0';
    return buf;
}

static void test_basic(void) {
    parse_limits lim = limits();
    parse_result *r = NULL;
    char err[256];
    lore_status st = parse_file("docx_basic.docx", &lim, &r, err, sizeof err);
    CHECK_INT(st, LORE_OK);
    if (st != LORE_OK) {
        fprintf(stderr, "error: %s\n", err);
        return;
    }
    CHECK_INT(r->ndocs, 1);
    parse_doc *d = &r->docs[0];
    CHECK_STR(d->title, "Quarterly Report 2024");
    CHECK_STR(d->author, "Ada Lovelace");
    CHECK_INT(d->created_ms, 1704164645000LL);
    CHECK_INT(d->updated_ms, 1706929506000LL);

    static const struct {
        parse_block_kind kind;
        int level;
        const char *text;
    } want[] = {
        {PARSE_BLOCK_HEADING, 1, "The Styled Title"},
        {PARSE_BLOCK_HEADING, 1, "Introduction"},
        {PARSE_BLOCK_PARAGRAPH, 0, "Hello world\ttabbed\nnext line & more"},
        {PARSE_BLOCK_HEADING, 2, "Details"},
        {PARSE_BLOCK_LIST, 0,
         "- First item\n  - Nested item\n- Second item\n- Styled item\n- Localized item"},
        {PARSE_BLOCK_PARAGRAPH, 0, "After the list. Inserted."},
        {PARSE_BLOCK_TABLE, 0, "Name | Value\nalpha beta |  | 1"},
        {PARSE_BLOCK_HEADING, 1,
         "Lokalisierte \xc3\x9c"
         "berschrift"},
        {PARSE_BLOCK_HEADING, 3, "Outline three"},
        {PARSE_BLOCK_PARAGRAPH, 0, "Was a heading once."},
        {PARSE_BLOCK_PARAGRAPH, 0, "Box text\nOuter text."},
    };
    size_t nwant = sizeof want / sizeof want[0];
    CHECK_INT(d->nblocks, nwant);
    for (size_t i = 0; i < nwant && i < d->nblocks; i++) {
        CHECK_INT(d->blocks[i].kind, want[i].kind);
        CHECK_INT(d->blocks[i].level, want[i].level);
        CHECK_STR(block_text(d, i), want[i].text);
    }
    CHECK(strstr(d->text, "deleted") == NULL);
    CHECK(strlen(d->text) == d->text_len);
    parse_result_free(r);
}

static void test_title_fallbacks(void) {
    parse_limits lim = limits();
    parse_result *r = NULL;
    char err[256];
    /* No core.xml, no Title style: the first heading; levels beyond 6 clamp. */
    CHECK_INT(parse_file("docx_notitle.docx", &lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "First Heading");
        CHECK(d->author == NULL);
        CHECK_INT(d->created_ms, 0);
        CHECK_INT(d->nblocks, 4);
        if (d->nblocks == 4) {
            CHECK_INT(d->blocks[1].level, 2);
            CHECK_INT(d->blocks[2].kind, PARSE_BLOCK_HEADING);
            CHECK_INT(d->blocks[2].level, 6);
            CHECK_INT(d->blocks[3].kind, PARSE_BLOCK_PARAGRAPH); /* numId 0 */
        }
        parse_result_free(r);
        r = NULL;
    }
    /* Nothing at all: the file name. */
    CHECK_INT(parse_file("docx_nameonly.docx", &lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].title, "docx_nameonly");
        CHECK_STR(r->docs[0].text,
                  "Just a paragraph with invalid UTF-8 nowhere.\n\nSecond paragraph.");
        parse_result_free(r);
        r = NULL;
    }
    /* Main part named by _rels/.rels, strict OOXML namespace. */
    CHECK_INT(parse_file("docx_altmain.docx", &lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].title, "Strict Heading");
        CHECK_STR(r->docs[0].text, "Strict Heading\n\nStrict body.");
        parse_result_free(r);
    }
}

static void test_errors(void) {
    parse_limits lim = limits();
    parse_result *r = (parse_result *)&lim; /* must be reset to NULL */
    char err[256];

    CHECK_INT(parse_file("docx_nodoc.docx", &lim, &r, err, sizeof err), LORE_INVALID);
    CHECK(r == NULL);
    CHECK(strstr(err, "word/document.xml is missing") != NULL);

    CHECK_INT(parse_file("docx_doctype.docx", &lim, &r, err, sizeof err), LORE_INVALID);
    CHECK(r == NULL);
    CHECK(strstr(err, "DOCTYPE") != NULL);

    lim.max_text = 10000;
    CHECK_INT(parse_file("docx_big.docx", &lim, &r, err, sizeof err), LORE_TOO_LARGE);
    CHECK(r == NULL);
    CHECK(strstr(err, "10000") != NULL);
    lim = limits();
    CHECK_INT(parse_file("docx_big.docx", &lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 20000);
        parse_result_free(r);
        r = NULL;
    }

    const char *garbage = "this is not a zip file at all";
    CHECK_INT(
        parse_docx("x.docx", (const uint8_t *)garbage, strlen(garbage), &lim, &r, err, sizeof err),
        LORE_INVALID);
    CHECK(r == NULL);
    CHECK(strncmp(err, "not a DOCX file:", 16) == 0);
    CHECK_INT(parse_docx("x.docx", (const uint8_t *)"", 0, &lim, &r, err, sizeof err),
              LORE_INVALID);
    static const uint8_t ole[16] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
    CHECK_INT(parse_docx("x.doc", ole, sizeof ole, &lim, &r, err, sizeof err), LORE_UNSUPPORTED);

    /* Every truncation and a byte flip at every position of a real file:
     * an error or a document, never a crash (ASan watches). */
    size_t len;
    uint8_t *data = slurp("tests/parse/samples/docx_basic.docx", &len);
    int ok = 0, failed = 0;
    for (size_t cut = 0; cut < len; cut += 7) {
        lore_status st = parse_docx("t.docx", data, cut, &lim, &r, err, sizeof err);
        if (st == LORE_OK) {
            ok++;
            parse_result_free(r);
        } else {
            failed++;
            CHECK(r == NULL && err[0]);
        }
        r = NULL;
    }
    for (size_t i = 0; i < len; i += 3) {
        data[i] ^= 0x5a;
        lore_status st = parse_docx("t.docx", data, len, &lim, &r, err, sizeof err);
        if (st == LORE_OK) parse_result_free(r);
        r = NULL;
        data[i] ^= 0x5a;
    }
    CHECK(failed > 0);
    lim.max_input = len - 1;
    CHECK_INT(parse_docx("t.docx", data, len, &lim, &r, err, sizeof err), LORE_TOO_LARGE);
    free(data);
    (void)ok;
}

int main(void) {
    test_basic();
    test_title_fallbacks();
    test_errors();
    return test_summary();
}
