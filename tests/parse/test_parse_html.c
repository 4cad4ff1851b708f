/* HTML parser: the article sample with its boilerplate, title and metadata
 * rules, encodings, and hostile inputs. */
#include "parse/parse_int.h"
#include "parse_test_util.h"

static parse_result *html(const char *name, const char *s, lore_status want) {
    parse_result *r = NULL;
    char err[256];
    lore_status st =
        parse_bytes(PARSE_FMT_HTML, name, (const uint8_t *)s, strlen(s), NULL, &r, err, sizeof err);
    CHECK_INT(st, want);
    if (st == LORE_OK) {
        CHECK(r && r->ndocs == 1);
        if (r && r->ndocs == 1) check_doc_invariants(&r->docs[0]);
    }
    return r;
}

static void test_article(void) {
    size_t len;
    uint8_t *data = read_sample("article.html", &len);
    CHECK_INT(parse_detect("article.html", data, len), PARSE_FMT_HTML);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_HTML);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(parse_bytes(PARSE_FMT_HTML, "article.html", data, len, NULL, &r, err, sizeof err),
              LORE_OK);
    free(data);
    if (!r) return;
    parse_doc *d = &r->docs[0];
    check_doc_invariants(d);
    CHECK_STR(d->title, "Caf\xc3\xa9 Brewing & Roasting Guide");
    CHECK_STR(d->author, "Lena Ostrova");
    CHECK_STR(d->url, "https://coffee.example.org/guide");
    CHECK_INT(d->created_ms, 1699171200000LL);
    CHECK_INT(d->updated_ms, 0);
    CHECK_STR(d->metadata_json,
              "{\"lang\":\"en\",\"description\":\"How to brew & roast coffee at home.\"}");
    CHECK_INT(d->nblocks, 9);
    CHECK_BLOCK(d, 0, PARSE_BLOCK_HEADING, 1, "Brewing at home");
    CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0, "by Lena");
    CHECK_BLOCK(d, 2, PARSE_BLOCK_PARAGRAPH, 0,
                "Good coffee starts with fresh beans and clean water. Grind just before "
                "brewing \xe2\x80\x94 always.");
    CHECK_BLOCK(d, 3, PARSE_BLOCK_HEADING, 2, "Equipment");
    CHECK_BLOCK(d, 4, PARSE_BLOCK_LIST, 0, "- A burr grinder\n- A scale (0.1 g)");
    CHECK_BLOCK(d, 5, PARSE_BLOCK_HEADING, 3, "Ratios");
    CHECK_BLOCK(d, 6, PARSE_BLOCK_TABLE, 0,
                "Method | Ratio\nPour-over | 1:16\nFrench press | 1:12");
    CHECK_BLOCK(d, 7, PARSE_BLOCK_CODE, 0, "  water = beans * 16\n  brew(water)");
    CHECK_BLOCK(d, 8, PARSE_BLOCK_QUOTE, 0, "Coffee is a language in itself.");
    /* nothing from the boilerplate survives */
    CHECK(strstr(d->text, "Archive") == NULL);
    CHECK(strstr(d->text, "tracking") == NULL);
    CHECK(strstr(d->text, "mugs") == NULL);
    CHECK(strstr(d->text, "Coffee Site") == NULL);
    CHECK(strstr(d->text, "Skip to") == NULL);
    CHECK(strstr(d->text, "Search") == NULL);
    parse_result_free(r);
}

static void test_rules(void) {
    /* no <title>: first h1; body without main reads everything but boilerplate */
    parse_result *r =
        html("p.html",
             "<html><body><header>Site</header><h2>Sub</h2><h1>Main &lt;Title&gt;</h1>"
             "<div>one<div>two</div>three</div><p>a<br>b</p>"
             "<ol start=\"3\"><li>x<ol><li>y</li></ol></li><li>z</li></ol>"
             "<div hidden>secret</div><div aria-hidden=\"true\">also</div>"
             "<footer>foot</footer></body></html>",
             LORE_OK);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "Main <Title>");
        CHECK(d->metadata_json == NULL);
        CHECK(d->author == NULL);
        CHECK_INT(d->nblocks, 7);
        CHECK_BLOCK(d, 0, PARSE_BLOCK_HEADING, 2, "Sub");
        CHECK_BLOCK(d, 1, PARSE_BLOCK_HEADING, 1, "Main <Title>");
        CHECK_BLOCK(d, 2, PARSE_BLOCK_PARAGRAPH, 0, "one");
        CHECK_BLOCK(d, 3, PARSE_BLOCK_PARAGRAPH, 0, "two");
        CHECK_BLOCK(d, 4, PARSE_BLOCK_PARAGRAPH, 0, "three");
        CHECK_BLOCK(d, 5, PARSE_BLOCK_PARAGRAPH, 0, "a\nb");
        CHECK_BLOCK(d, 6, PARSE_BLOCK_LIST, 0, "3. x\n  1. y\n4. z");
        parse_result_free(r);
    }
    /* two articles and no main: the whole body; no title at all: the file name */
    r = html("dir/page.htm",
             "<body><nav>menu</nav><article><p>first</p></article><article><p>second</p>"
             "</article></body>",
             LORE_OK);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "page");
        CHECK_INT(d->nblocks, 2);
        CHECK_BLOCK(d, 0, PARSE_BLOCK_PARAGRAPH, 0, "first");
        CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0, "second");
        parse_result_free(r);
    }
    /* role=main wins; an svg title is not the page title */
    r = html("x.html",
             "<body><svg><title>icon</title></svg><div>outside</div>"
             "<div role=\"main\"><p>inside</p></div></body>",
             LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].title, "x");
        CHECK_INT(r->docs[0].nblocks, 1);
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "inside");
        parse_result_free(r);
    }
    /* whitespace in cells and items; an empty first cell leaves no separator */
    r = html("t.html",
             "<table>\n <tr>\n  <td> a </td>\n  <td> b\n c </td>\n </tr><tr><td></td><td>x</td>"
             "</tr></table><ul><li> one <li> two\n</ul><dl><dt>Term</dt><dd>Def</dd></dl>",
             LORE_OK);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 3);
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_TABLE, 0, "a | b c\nx");
        CHECK_BLOCK(&r->docs[0], 1, PARSE_BLOCK_LIST, 0, "- one\n- two");
        CHECK_BLOCK(&r->docs[0], 2, PARSE_BLOCK_LIST, 0, "Term\nDef");
        parse_result_free(r);
    }
    /* UTF-8 without a declaration, and a Latin-1 page that declares itself */
    r = html("u.html", "<p>na\xc3\xafve caf\xc3\xa9</p>", LORE_OK);
    if (r) {
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "na\xc3\xafve caf\xc3\xa9");
        parse_result_free(r);
    }
    r = html("l.html",
             "<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9</p></body></html>",
             LORE_OK);
    if (r) {
        CHECK_BLOCK(&r->docs[0], 0, PARSE_BLOCK_PARAGRAPH, 0, "caf\xc3\xa9");
        parse_result_free(r);
    }
}

static void test_hostile(void) {
    parse_result *r = html("e.html", "", LORE_OK);
    if (r) {
        CHECK_INT(r->docs[0].nblocks, 0);
        CHECK_STR(r->docs[0].title, "e");
        parse_result_free(r);
    }
    r = html("e.html", "   \n ", LORE_OK);
    parse_result_free(r);
    r = html("e.html", "<<<>>></</p><p <a href=\"x\"", LORE_OK);
    parse_result_free(r);
    /* 10,000 nested elements */
    size_t n = 10000;
    char *deep = malloc(n * 11 + 64);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        memcpy(deep + o, i % 2 ? "<div>" : "<ul><li>", i % 2 ? 5 : 8), o += i % 2 ? 5 : 8;
    strcpy(deep + o, "bottom");
    r = html("d.html", deep, LORE_OK);
    if (r) {
        CHECK(r->docs[0].text_len > 0);
        parse_result_free(r);
    }
    o = 0;
    for (size_t i = 0; i < n; i++)
        memcpy(deep + o, "<b>", 3), o += 3;
    strcpy(deep + o, "bold");
    r = html("d.html", deep, LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].text, "bold");
        parse_result_free(r);
    }
    free(deep);
    /* binary garbage still parses to something, never crashes */
    unsigned char bin[512];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    char err[256];
    r = NULL;
    lore_status st =
        parse_bytes(PARSE_FMT_HTML, "b.html", bin, sizeof bin, NULL, &r, err, sizeof err);
    CHECK(st == LORE_OK || st == LORE_INVALID);
    if (r) check_doc_invariants(&r->docs[0]);
    parse_result_free(r);
    /* limits */
    parse_limits lim;
    parse_limits_default(&lim);
    lim.max_text = 8;
    const char *s = "<p>more than eight bytes</p>";
    r = NULL;
    CHECK_INT(parse_bytes(PARSE_FMT_HTML, "x.html", (const uint8_t *)s, strlen(s), &lim, &r, err,
                          sizeof err),
              LORE_TOO_LARGE);
    CHECK(r == NULL);
    CHECK_STR(err, "text exceeds the limit of 8 bytes per document");
}

int main(void) {
    test_article();
    test_rules();
    test_hostile();
    return test_summary();
}
