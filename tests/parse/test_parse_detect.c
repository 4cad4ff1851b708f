/* Format detection (content first, extension as a hint), format names, the
 * dispatcher, and the shared helpers (ISO 8601, paragraph split, title). */
#include "parse/parse_int.h"
#include "parse_test_util.h"

static void detect_case(const char *name, const char *content, size_t len, parse_format want,
                        int line) {
    parse_format got = parse_detect(name, (const uint8_t *)content, len);
    if (got != want)
        fprintf(stderr, "line %d: detect(%s) = %s, want %s\n", line, name ? name : "NULL",
                parse_format_name(got), parse_format_name(want));
    CHECK_INT(got, want);
}
#define DETECT(name, s, want) detect_case(name, s, sizeof(s) - 1, want, __LINE__)

static void test_detect(void) {
    /* magic numbers beat extensions */
    DETECT("a.txt", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", PARSE_FMT_PDF);
    DETECT(NULL, "\n\n%PDF-1.4", PARSE_FMT_PDF);
    DETECT("report.docx", "PK\x03\x04\x14\x00\x06\x00", PARSE_FMT_DOCX);
    DETECT(NULL, "PK\x03\x04\x14\x00[Content_Types].xml....word/document.xml", PARSE_FMT_DOCX);
    DETECT("a.zip", "PK\x03\x04\x14\x00\x08\x00photos/cat.jpg", PARSE_FMT_UNKNOWN);
    /* JSON shapes */
    DETECT(NULL, "{\"a\": 1}", PARSE_FMT_JSON);
    DETECT(NULL, "  [ {\"a\": 1}, {\"b\": 2} ]\n", PARSE_FMT_JSON);
    DETECT(NULL, "\xef\xbb\xbf{\"a\": 1}\n", PARSE_FMT_JSON);
    DETECT(NULL, "{\"a\": 1}\n", PARSE_FMT_JSON); /* one line, one document */
    DETECT(NULL, "{\"a\": 1}\n{\"a\": 2}\n", PARSE_FMT_JSONL);
    DETECT(NULL, "{\"a\": 1}\r\n\r\n{\"a\": 2}", PARSE_FMT_JSONL);
    DETECT("x.jsonl", "{\"a\": 1}\n", PARSE_FMT_JSONL);
    DETECT("x.ndjson", "{\"a\": 1}", PARSE_FMT_JSONL);
    DETECT(NULL, "{\n  \"a\": 1\n}\n", PARSE_FMT_JSON);
    DETECT("x.json", "{\"a\": ", PARSE_FMT_JSON); /* broken, but the name says JSON */
    DETECT(NULL, "{not json at all}", PARSE_FMT_TEXT);
    DETECT(NULL, "[link](http://x) is how Markdown starts", PARSE_FMT_MARKDOWN);
    /* HTML */
    DETECT(NULL, "<!DOCTYPE html><html><body>x</body></html>", PARSE_FMT_HTML);
    DETECT(NULL, "  <html lang=en>", PARSE_FMT_HTML);
    DETECT(NULL, "<div class=x><p>hello</p></div>", PARSE_FMT_HTML);
    DETECT("notes.md", "<!DOCTYPE html><p>x", PARSE_FMT_HTML);
    DETECT(NULL, "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\">",
           PARSE_FMT_HTML);
    DETECT(NULL, "<note><to>Tove</to></note>", PARSE_FMT_TEXT);
    DETECT("page.html", "just words", PARSE_FMT_HTML);
    /* Markdown vs text */
    DETECT(NULL, "---\ntitle: x\n---\nbody", PARSE_FMT_MARKDOWN);
    DETECT(NULL, "Intro\n\n## Section\n", PARSE_FMT_MARKDOWN);
    DETECT(NULL, "text\n```c\nint x;\n```\n", PARSE_FMT_MARKDOWN);
    DETECT(NULL, "#hashtag is not a heading\n", PARSE_FMT_TEXT);
    DETECT(NULL, "Plain words.\nMore words.\n", PARSE_FMT_TEXT);
    DETECT("README.md", "Plain words.\n", PARSE_FMT_MARKDOWN);
    DETECT("notes.markdown", "Plain words.\n", PARSE_FMT_MARKDOWN);
    DETECT("notes.txt", "# A heading in a .txt file\n", PARSE_FMT_TEXT);
    DETECT("NOTES.TXT", "words", PARSE_FMT_TEXT);
    DETECT("a.b/README", "## Install\n", PARSE_FMT_MARKDOWN);
    /* empty and binary */
    DETECT(NULL, "", PARSE_FMT_TEXT);
    DETECT("x.md", "", PARSE_FMT_MARKDOWN);
    DETECT("x.md", " \n\n ", PARSE_FMT_MARKDOWN);
    DETECT(NULL,
           "\x7f"
           "ELF\x02\x01\x01\x00\x00\x00",
           PARSE_FMT_UNKNOWN);
    DETECT("x.txt", "abc\x00\x01\x02", PARSE_FMT_UNKNOWN);
    DETECT(NULL, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PARSE_FMT_UNKNOWN);
    DETECT(NULL, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8 mostly invalid", PARSE_FMT_UNKNOWN);
    DETECT(NULL, "caf\xe9 au lait, a mostly valid line of text", PARSE_FMT_TEXT);
    CHECK_INT(parse_detect("x.md", NULL, 5), PARSE_FMT_MARKDOWN);

    /* a large JSON array is judged without a full parse */
    size_t n = 200000;
    char *big = malloc(n + 2);
    big[0] = '[';
    for (size_t i = 1; i < n; i++)
        big[i] = ' ';
    big[n] = ']';
    big[n + 1] = '\0';
    CHECK_INT(parse_detect(NULL, (const uint8_t *)big, n + 1), PARSE_FMT_JSON);
    big[n] = ' ';
    CHECK_INT(parse_detect(NULL, (const uint8_t *)big, n + 1), PARSE_FMT_TEXT);
    free(big);
}

static void test_names_and_dispatch(void) {
    CHECK_STR(parse_format_name(PARSE_FMT_UNKNOWN), "unknown");
    CHECK_STR(parse_format_name(PARSE_FMT_TEXT), "text");
    CHECK_STR(parse_format_name(PARSE_FMT_MARKDOWN), "markdown");
    CHECK_STR(parse_format_name(PARSE_FMT_HTML), "html");
    CHECK_STR(parse_format_name(PARSE_FMT_JSON), "json");
    CHECK_STR(parse_format_name(PARSE_FMT_JSONL), "jsonl");
    CHECK_STR(parse_format_name(PARSE_FMT_PDF), "pdf");
    CHECK_STR(parse_format_name(PARSE_FMT_DOCX), "docx");
    CHECK_STR(parse_format_name((parse_format)99), "unknown");

    parse_limits lim;
    parse_limits_default(&lim);
    CHECK_INT(lim.max_input, 64 << 20);
    CHECK_INT(lim.max_text, 16 << 20);
    CHECK_INT(lim.max_docs, 1000000);
    CHECK_INT(lim.pdf_timeout_s, 30);
    CHECK_INT(lim.pdf_memory_mb, 1024);

    parse_result *r = (parse_result *)1;
    char err[128];
    CHECK_INT(
        parse_bytes(PARSE_FMT_UNKNOWN, NULL, (const uint8_t *)"x", 1, NULL, &r, err, sizeof err),
        LORE_UNSUPPORTED);
    CHECK(r == NULL);
    CHECK_STR(err, "unknown or unsupported format");
    lim.max_input = 2;
    r = (parse_result *)1;
    CHECK_INT(
        parse_bytes(PARSE_FMT_TEXT, NULL, (const uint8_t *)"abc", 3, &lim, &r, err, sizeof err),
        LORE_TOO_LARGE);
    CHECK(r == NULL);
    CHECK_STR(err, "input of 3 bytes exceeds the limit of 2 bytes");
    /* NULL err is allowed */
    CHECK_INT(parse_bytes(PARSE_FMT_JSON, NULL, (const uint8_t *)"x", 1, NULL, &r, NULL, 0),
              LORE_INVALID);
    /* each format through the dispatcher */
    const struct {
        parse_format fmt;
        const char *in;
        const char *text;
    } cases[] = {
        {PARSE_FMT_TEXT, "a\n\nb", "a\n\nb"},
        {PARSE_FMT_MARKDOWN, "# a\n\n*b*", "a\n\nb"},
        {PARSE_FMT_HTML, "<h1>a</h1><p>b</p>", "a\n\nb"},
        {PARSE_FMT_JSON, "{\"text\":\"a\\n\\nb\"}", "a\n\nb"},
        {PARSE_FMT_JSONL, "{\"text\":\"a\\n\\nb\"}", "a\n\nb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = NULL;
        CHECK_INT(parse_bytes(cases[i].fmt, "n.x", (const uint8_t *)cases[i].in,
                              strlen(cases[i].in), NULL, &r, err, sizeof err),
                  LORE_OK);
        if (r) CHECK_STR(r->docs[0].text, cases[i].text);
        parse_result_free(r);
    }
    parse_result_free(NULL);
}

static void test_helpers(void) {
    char *t = parse_title_from_name("a/b.c/guide.md");
    CHECK_STR(t, "guide");
    free(t);
    t = parse_title_from_name(".bashrc");
    CHECK_STR(t, ".bashrc");
    free(t);
    CHECK(parse_title_from_name("dir/") == NULL);

    /* code blocks keep the first line's indentation */
    parse_builder b;
    pb_init(&b, 100);
    CHECK_INT(pb_add_block(&b, PARSE_BLOCK_CODE, 0, "\n \n    x = 1\n  y\n\n", 18), LORE_OK);
    CHECK_INT(pb_add_block(&b, PARSE_BLOCK_PARAGRAPH, 0, "  p  ", 5), LORE_OK);
    CHECK_INT(pb_add_block(&b, PARSE_BLOCK_CODE, 0, " \n\t\n ", 5), LORE_OK);
    parse_doc d = {0};
    CHECK_INT(pb_finish(&b, &d), LORE_OK);
    CHECK_INT(d.nblocks, 2);
    CHECK_BLOCK(&d, 0, PARSE_BLOCK_CODE, 0, "    x = 1\n  y");
    CHECK_BLOCK(&d, 1, PARSE_BLOCK_PARAGRAPH, 0, "p");
    parse_doc_clear(&d);
    pb_free(&b);
}

int main(void) {
    test_detect();
    test_names_and_dispatch();
    test_helpers();
    return test_summary();
}
