/* Markdown parser: the handbook sample block by block, front matter forms,
 * title rules, and hostile inputs (deep nesting, invalid UTF-8, limits). */
#include "parse/parse_int.h"
#include "parse_test_util.h"

static parse_result *md(const char *name, const char *s, lore_status want, char *err,
                        size_t errlen) {
    parse_result *r = NULL;
    lore_status st =
        parse_bytes(PARSE_FMT_MARKDOWN, name, (const uint8_t *)s, strlen(s), NULL, &r, err, errlen);
    CHECK_INT(st, want);
    if (st == LORE_OK) {
        CHECK(r && r->ndocs == 1);
        if (r && r->ndocs == 1) check_doc_invariants(&r->docs[0]);
    } else {
        CHECK(r == NULL);
    }
    return r;
}

static void test_handbook(void) {
    size_t len;
    uint8_t *data = read_sample("handbook.md", &len);
    CHECK_INT(parse_detect("handbook.md", data, len), PARSE_FMT_MARKDOWN);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_MARKDOWN);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(
        parse_bytes(PARSE_FMT_MARKDOWN, "docs/handbook.md", data, len, NULL, &r, err, sizeof err),
        LORE_OK);
    free(data);
    if (!r) return;
    CHECK_INT(r->ndocs, 1);
    parse_doc *d = &r->docs[0];
    check_doc_invariants(d);
    CHECK_STR(d->title, "Employee Handbook");
    CHECK_STR(d->author, "Dana Whitfield");
    CHECK_INT(d->created_ms, 1709251200000LL);
    CHECK_INT(d->updated_ms, 1718443800000LL);
    CHECK(d->url == NULL);
    CHECK(d->external_id == NULL);
    CHECK_STR(d->metadata_json, "{\"tags\":[\"policy\",\"hr\",\"leave\"],\"audience\":["
                                "\"employees\",\"contractors\"],\"version\":\"3.2\"}");
    CHECK_INT(d->nblocks, 11);
    CHECK_BLOCK(d, 0, PARSE_BLOCK_HEADING, 1, "Welcome");
    CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0,
                "This handbook explains how we work, what we expect, and where to find help. "
                "See the intranet for forms.");
    CHECK_BLOCK(d, 2, PARSE_BLOCK_HEADING, 2, "Leave");
    CHECK_BLOCK(d, 3, PARSE_BLOCK_HEADING, 3, "Parental leave");
    CHECK_BLOCK(d, 4, PARSE_BLOCK_PARAGRAPH, 0,
                "Parents get 16 weeks of paid leave. Use the leave-request form.");
    CHECK_BLOCK(d, 5, PARSE_BLOCK_QUOTE, 0,
                "Plan early: tell your manager at least 8 weeks ahead.");
    CHECK_BLOCK(d, 6, PARSE_BLOCK_LIST, 0,
                "1. Fill in the form\n2. Get approval\n  - from your manager\n  - from HR");
    CHECK_BLOCK(d, 7, PARSE_BLOCK_HEADING, 2, "Tools");
    CHECK_BLOCK(d, 8, PARSE_BLOCK_CODE, 0,
                "def approve(request):\n    if request.days > 20:\n        return False\n"
                "    return True");
    CHECK_BLOCK(d, 9, PARSE_BLOCK_TABLE, 0, "Tool | Purpose\nSlack | Chat\nJira | Tickets");
    CHECK_BLOCK(d, 10, PARSE_BLOCK_PARAGRAPH, 0, "Contact: hr@example.com");
    parse_result_free(r);
}

static void test_titles_and_front_matter(void) {
    char err[256];
    /* first heading is the title when there is no front matter */
    parse_result *r = md("a/b/notes.md", "Intro text.\n\nSetext Title\n------------\n\nBody.\n",
                         LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].title, "Setext Title");
        CHECK_BLOCK(&r->docs[0], 1, PARSE_BLOCK_HEADING, 2, "Setext Title");
        CHECK(r->docs[0].metadata_json == NULL);
        parse_result_free(r);
    }
    /* no heading: the file name */
    r = md("a/b/notes.md", "just *some* text\n", LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].title, "notes");
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "just some text");
        parse_result_free(r);
    }
    /* spaces between a key and its colon: the value is what follows the
     * colon, nothing read past the line (a fuzzer-found overflow) */
    r = md("x.md", "---\ntitle   : Spaced  \nupdated    :\n---\nbody\n", LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].title, "Spaced");
        parse_result_free(r);
    }
    /* unterminated front matter is just Markdown (a thematic break) */
    r = md("x.md", "---\ntitle: nope\n\n# Real\n", LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].title, "Real");
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "title: nope");
        parse_result_free(r);
    }
    /* CRLF, "..." terminator, quotes, created/url keys, unreadable date kept */
    r = md("x.md",
           "---\r\ntitle: 'Quoted: yes'\r\ncreated: 2020-02-29\r\nurl: https://e.x/a\r\n"
           "date: someday\r\n# comment: ignored\r\nnested:\r\n  deep: 1\r\n...\r\n"
           "# Heading\r\n\r\ntext\r\n",
           LORE_OK, err, sizeof err);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "Quoted: yes");
        CHECK_STR(d->url, "https://e.x/a");
        CHECK_INT(d->created_ms, 1582934400000LL);
        CHECK_STR(d->metadata_json, "{\"date\":\"someday\"}");
        CHECK_INT(d->nblocks, 2);
        CHECK_BLOCK(d, 0, PARSE_BLOCK_HEADING, 1, "Heading");
        CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0, "text");
        parse_result_free(r);
    }
}

static void test_blocks(void) {
    char err[256];
    parse_result *r =
        md("x.md",
           "    indented code\n      more\n\n"
           "Line one  \nline two with `code` and ![alt text](i.png) and <b>html</b>.\n\n"
           "<div>\n<p>raw <em>html</em></p>\n</div>\n\n"
           "<!-- hidden comment -->\n\n"
           "- [ ] task one\n- [x] task two\n\n"
           "***\n\n"
           "> outer\n>\n> > inner\n",
           LORE_OK, err, sizeof err);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_INT(d->nblocks, 5);
        CHECK_BLOCK(d, 0, PARSE_BLOCK_CODE, 0, "indented code\n  more");
        CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0,
                    "Line one\nline two with code and alt text and html.");
        CHECK_BLOCK(d, 2, PARSE_BLOCK_PARAGRAPH, 0, "raw html");
        CHECK_BLOCK(d, 3, PARSE_BLOCK_LIST, 0, "- task one\n- task two");
        CHECK_BLOCK(d, 4, PARSE_BLOCK_QUOTE, 0, "outer\ninner");
        parse_result_free(r);
    }
}

static void test_hostile(void) {
    char err[256];
    /* empty input: one empty document titled by the name */
    parse_result *r = md("empty.md", "", LORE_OK, err, sizeof err);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 0);
        CHECK_INT(r->docs[0].text_len, 0);
        CHECK_STR(r->docs[0].title, "empty");
        parse_result_free(r);
    }
    /* 10,000 nested blockquotes and lists: over the depth budget, read
     * as plain text with a note (test_parse_budget has the details) */
    size_t n = 10000;
    char *deep = malloc(n * 4 + 16);
    memset(deep, '>', n);
    strcpy(deep + n, " deep\n");
    r = md("d.md", deep, LORE_OK, err, sizeof err);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 1);
        CHECK(r->note && strstr(r->note, "plain text"));
        CHECK(strstr(r->docs[0].text, "> deep") != NULL);
        parse_result_free(r);
    }
    size_t o = 0;
    for (size_t i = 0; i < 2000; i++) {
        memset(deep + o, ' ', i * 2 < 3000 ? i * 2 : 0);
        o += i * 2 < 3000 ? i * 2 : 0;
        if (o > n * 3) break;
        memcpy(deep + o, "- x\n", 4);
        o += 4;
    }
    deep[o] = '\0';
    r = md("d.md", deep, LORE_OK, err, sizeof err);
    if (r) { /* indentation nests lists too: as deep, so plain text */
        CHECK(r->docs[0].nblocks >= 1);
        CHECK(r->note && strstr(r->note, "levels deep"));
        parse_result_free(r);
    }
    /* emphasis and brackets en masse */
    memset(deep, '[', n);
    memset(deep + n, '*', n);
    deep[2 * n] = '\0';
    r = md("d.md", deep, LORE_OK, err, sizeof err);
    parse_result_free(r);
    free(deep);
    /* invalid UTF-8 is repaired */
    r = md("u.md", "# caf\xe9\n\nok \xff\xfe\n", LORE_OK, err, sizeof err);
    if (r) {
        CHECK_STR(r->docs[0].title, "caf\xef\xbf\xbd");
        CHECK_BLOCK(&r->docs[0], 1, PARSE_BLOCK_PARAGRAPH, 0, "ok \xef\xbf\xbd\xef\xbf\xbd");
        parse_result_free(r);
    }
    /* limits */
    parse_limits lim;
    parse_limits_default(&lim);
    lim.max_text = 20;
    const char *s = "# Title\n\nA paragraph longer than twenty bytes.\n";
    r = NULL;
    CHECK_INT(parse_bytes(PARSE_FMT_MARKDOWN, "x.md", (const uint8_t *)s, strlen(s), &lim, &r, err,
                          sizeof err),
              LORE_TOO_LARGE);
    CHECK(r == NULL);
    CHECK_STR(err, "text exceeds the limit of 20 bytes per document");
    lim.max_text = 1000;
    lim.max_input = 10;
    CHECK_INT(parse_bytes(PARSE_FMT_MARKDOWN, "x.md", (const uint8_t *)s, strlen(s), &lim, &r, err,
                          sizeof err),
              LORE_TOO_LARGE);
    CHECK_STR(err, "input of 47 bytes exceeds the limit of 10 bytes");
    CHECK_INT(parse_markdown("x.md", (const uint8_t *)s, strlen(s), &lim, &r, err, sizeof err),
              LORE_TOO_LARGE);
}

int main(void) {
    test_handbook();
    test_titles_and_front_matter();
    test_blocks();
    test_hostile();
    return test_summary();
}
