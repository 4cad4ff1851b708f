/* Plain text: paragraphs, UTF-8 repair, binary rejection, line ends,
 * limits. */
#include "parse/parse_int.h"
#include "parse_test_util.h"

static void test_sample(void) {
    size_t len;
    uint8_t *data = read_sample("notes.txt", &len);
    CHECK_INT(parse_detect("notes.txt", data, len), PARSE_FMT_TEXT);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_TEXT);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(
        parse_bytes(PARSE_FMT_TEXT, "meetings/notes.txt", data, len, NULL, &r, err, sizeof err),
        LORE_OK);
    free(data);
    if (!r) return;
    CHECK_INT(r->ndocs, 1);
    parse_doc *d = &r->docs[0];
    check_doc_invariants(d);
    CHECK_STR(d->title, "notes");
    CHECK(d->metadata_json == NULL && d->author == NULL && d->external_id == NULL);
    CHECK_INT(d->nblocks, 3);
    CHECK_BLOCK(d, 0, PARSE_BLOCK_PARAGRAPH, 0, "Meeting notes");
    CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0,
                "We discussed the caf\xef\xbf\xbd budget.\nIt was \xef\xbf\xbd\xef\xbf\xbd fine.");
    CHECK_BLOCK(d, 2, PARSE_BLOCK_PARAGRAPH, 0, "Next steps: none.");
    parse_result_free(r);
}

static parse_result *text(const char *s, size_t n, lore_status want, char *err, size_t errlen) {
    parse_result *r = NULL;
    CHECK_INT(parse_bytes(PARSE_FMT_TEXT, "t.txt", (const uint8_t *)s, n, NULL, &r, err, errlen),
              want);
    if (r) check_doc_invariants(&r->docs[0]);
    return r;
}

static void test_cases(void) {
    char err[256];
    /* BOM dropped, CR LF and lone CR normalized, tabs-only lines are blank */
    const char *s = "\xef\xbb\xbf  first line\r\nsecond\r\n \t\r\nthird\rfourth\r\r";
    parse_result *r = text(s, strlen(s), LORE_OK, err, sizeof err);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 2);
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "first line\nsecond");
        CHECK_BLOCK(&r->docs[0], 1, PARSE_BLOCK_PARAGRAPH, 0, "third\nfourth");
        parse_result_free(r);
    }
    /* empty: one empty document */
    r = text("", 0, LORE_OK, err, sizeof err);
    if (r) {
        CHECK_INT(r->ndocs, 1);
        CHECK_INT(r->docs[0].nblocks, 0);
        CHECK_STR(r->docs[0].text, "");
        CHECK_STR(r->docs[0].title, "t");
        parse_result_free(r);
    }
    r = NULL;
    CHECK_INT(parse_bytes(PARSE_FMT_TEXT, NULL, NULL, 0, NULL, &r, err, sizeof err), LORE_OK);
    if (r) CHECK(r->docs[0].title == NULL);
    parse_result_free(r);
    /* binary: NUL bytes, or mostly invalid */
    r = text("abc\0def", 7, LORE_UNSUPPORTED, err, sizeof err);
    CHECK(r == NULL);
    CHECK_STR(err, "binary data, not text (1 of 7 bytes are NUL, control or invalid UTF-8)");
    unsigned char bin[400];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(0x80 + i % 100);
    r = text((const char *)bin, sizeof bin, LORE_UNSUPPORTED, err, sizeof err);
    CHECK(r == NULL);
    /* a few bad bytes in real text are repaired, not rejected */
    char latin1[] = "Gr\xfc\xdf"
                    "e aus K\xf6ln, sagt der Stra\xdf"
                    "enbahnfahrer.";
    r = text(latin1, strlen(latin1), LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].text, "Gr\xef\xbf\xbd\xef\xbf\xbd"
                                   "e aus K\xef\xbf\xbdln, sagt der Stra\xef\xbf\xbd"
                                   "enbahnfahrer.");
        parse_result_free(r);
    }
    /* a huge line */
    size_t n = 4 << 20;
    char *huge = malloc(n);
    memset(huge, 'a', n);
    r = text(huge, n, LORE_OK, err, sizeof err);
    if (r) CHECK_INT(r->docs[0].text_len, n);
    parse_result_free(r);
    /* limits */
    parse_limits lim;
    parse_limits_default(&lim);
    lim.max_text = n - 1;
    r = NULL;
    CHECK_INT(
        parse_bytes(PARSE_FMT_TEXT, "t.txt", (const uint8_t *)huge, n, &lim, &r, err, sizeof err),
        LORE_TOO_LARGE);
    CHECK(r == NULL);
    lim.max_input = 100;
    CHECK_INT(parse_text("t.txt", (const uint8_t *)huge, n, &lim, &r, err, sizeof err),
              LORE_TOO_LARGE);
    CHECK_STR(err, "input of 4194304 bytes exceeds the limit of 100 bytes");
    free(huge);
}

int main(void) {
    test_sample();
    test_cases();
    return test_summary();
}
