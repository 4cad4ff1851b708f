/* The parsers' budgets (issue 11): inputs that made cmark-gfm, libxml2 or
 * jansson take minutes or hundreds of MB are read a cheaper way (Markdown
 * and HTML as text, with a note) or refused (JSON), and inputs just inside
 * each budget still parse as their format.
 *
 * Assertions are structural (the note, the text, the block kinds). The CPU
 * bound is coarse (10 s where the unguarded parse took 33 s in a Release
 * build and far longer under the sanitizers), and peak memory is measured
 * in a forked child as the growth of its maximum resident set, against a
 * bound well above the guarded path and well below the unguarded one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parse/parse.h"
#include "parse/parse_int.h"
#include "test.h"

static char *repeat(const char *unit, size_t times, const char *tail) {
    size_t k = strlen(unit), t = tail ? strlen(tail) : 0;
    char *s = malloc(k * times + t + 1);
    if (!s) exit(2);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * k, unit, k);
    if (t) memcpy(s + k * times, tail, t);
    s[k * times + t] = '\0';
    return s;
}

static parse_result *parse(parse_format fmt, const char *s, size_t len, lore_status want) {
    parse_result *r = NULL;
    char err[512] = "";
    lore_status st = parse_bytes(fmt, "in.md", (const uint8_t *)s, len, NULL, &r, err, sizeof err);
    CHECK_INT(st, want);
    if (st != LORE_OK && want == LORE_OK) fprintf(stderr, "  error: %s\n", err);
    return r;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The input: 80,000 nested quotes, then 80,000 '['. */
static void test_markdown_quotes_and_brackets(void) {
    size_t n = 80000;
    char *s = malloc(2 * n + 4);
    memset(s, '>', n);
    memcpy(s + n, " x\n", 3);
    memset(s + n + 3, '[', n);
    double t0 = cpu_seconds();
    parse_result *r = parse(PARSE_FMT_MARKDOWN, s, 2 * n + 3, LORE_OK);
    double secs = cpu_seconds() - t0;
    CHECK(secs < 10.0);
    if (r) {
        CHECK(r->note && strstr(r->note, "read as plain text, not Markdown"));
        CHECK(r->note && strstr(r->note, "line 1 nests"));
        CHECK_INT(r->ndocs, 1);
        CHECK(strstr(r->docs[0].text, "> x\n[[[[") != NULL);
        CHECK_INT(r->docs[0].text_len, 2 * n + 3);
        CHECK_STR(r->docs[0].title, "in");
    }
    parse_result_free(r);
    free(s);
}

/* Lone CRs end lines for cmark-gfm, so they end lines for the budget too:
 * the input behind a CR, and a file of CR-ended lines. */
static void test_markdown_cr_lines(void) {
    size_t n = 80000;
    char *s = malloc(2 * n + 8);
    memcpy(s, "x\r", 2);
    memset(s + 2, '>', n);
    memcpy(s + 2 + n, " x\r", 3);
    memset(s + n + 5, '[', n);
    double t0 = cpu_seconds();
    parse_result *r = parse(PARSE_FMT_MARKDOWN, s, 2 * n + 5, LORE_OK);
    CHECK(cpu_seconds() - t0 < 10.0);
    CHECK(r && r->note && strstr(r->note, "line 2 nests"));
    parse_result_free(r);
    free(s);
    s = repeat("a\r", 400000, NULL);
    r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    CHECK(r && r->note && strstr(r->note, "lines and markup characters"));
    parse_result_free(r);
    free(s);
    /* CRLF is one line end, not two: 250,000 lines are within budget */
    s = repeat("a\r\n", PARSE_MD_MAX_NODES / 2 - 50000, NULL);
    char why[256];
    CHECK_INT(parse_md_over_budget(s, strlen(s), why, sizeof why), 0);
    free(s);
}

/* Just inside the depth budget: Markdown; one level more: text. */
static void test_markdown_depth_edge(void) {
    char *ok = repeat(">", PARSE_MD_MAX_DEPTH, " inside\n");
    parse_result *r = parse(PARSE_FMT_MARKDOWN, ok, strlen(ok), LORE_OK);
    if (r) {
        CHECK(r->note == NULL);
        CHECK_INT(r->docs[0].blocks[0].kind, PARSE_BLOCK_QUOTE);
        CHECK_STR(r->docs[0].text, "inside");
    }
    parse_result_free(r);
    free(ok);
    char *deep = repeat("> ", PARSE_MD_MAX_DEPTH + 1, "outside\n");
    r = parse(PARSE_FMT_MARKDOWN, deep, strlen(deep), LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "levels deep"));
        CHECK_INT(r->docs[0].blocks[0].kind, PARSE_BLOCK_PARAGRAPH);
    }
    parse_result_free(r);
    free(deep);
    /* nesting by indentation counts: "- x" at 120 columns */
    char list[256];
    snprintf(list, sizeof list, "- a\n%*s- b\n", 120, "");
    r = parse(PARSE_FMT_MARKDOWN, list, strlen(list), LORE_OK);
    CHECK(r && r->note && strstr(r->note, "line 2 nests"));
    parse_result_free(r);
    /* a normal nested list is no concern */
    const char *normal = "- a\n  - b\n    - c\n      > d\n";
    r = parse(PARSE_FMT_MARKDOWN, normal, strlen(normal), LORE_OK);
    if (r) {
        CHECK(r->note == NULL);
        CHECK_INT(r->docs[0].blocks[0].kind, PARSE_BLOCK_LIST);
    }
    parse_result_free(r);
}

/* Too many nodes: 700,000 one-letter lines (378 MB in cmark-gfm for
 * 1,000,000). Front matter still applies to the text read. */
static void test_markdown_nodes(void) {
    char *s = repeat("a\n", 400000, NULL);
    char *doc = malloc(strlen(s) + 64);
    sprintf(doc, "---\ntitle: Many lines\n---\n%s", s);
    parse_result *r = parse(PARSE_FMT_MARKDOWN, doc, strlen(doc), LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "lines and markup characters"));
        CHECK_STR(r->docs[0].title, "Many lines");
        CHECK_INT(r->docs[0].text_len, 400000 * 2 - 1);
    }
    parse_result_free(r);
    free(doc);
    free(s);
    /* 20,000 lines are Markdown */
    s = repeat("a *b*\n", 20000, NULL);
    r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    CHECK(r && r->note == NULL);
    parse_result_free(r);
    free(s);
    /* a word of many '@' (the autolink extension is slow on it) */
    s = repeat("a@b.", PARSE_MD_MAX_NODES / PARSE_MD_AT_WEIGHT + 10, NULL);
    r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    CHECK(r && r->note);
    parse_result_free(r);
    free(s);
    /* addresses, one per word, are not */
    s = repeat("mail a@b.example ", 2000, NULL);
    r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    CHECK(r && r->note == NULL);
    parse_result_free(r);
    free(s);
}

/* A table row of more cells than the budget (a row costs cells^2). */
static void test_markdown_table(void) {
    char *head = repeat("|a", PARSE_MD_MAX_CELLS + 1, "|\n");
    char *delim = repeat("|-", PARSE_MD_MAX_CELLS + 1, "|\n");
    char *s = malloc(strlen(head) + strlen(delim) + 1);
    sprintf(s, "%s%s", head, delim);
    parse_result *r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    CHECK(r && r->note && strstr(r->note, "table cell separators"));
    parse_result_free(r);
    free(head), free(delim), free(s);
    s = strdup("| a | b |\n|---|---|\n| 1 | 2 |\n");
    r = parse(PARSE_FMT_MARKDOWN, s, strlen(s), LORE_OK);
    if (r) {
        CHECK(r->note == NULL);
        CHECK_INT(r->docs[0].blocks[0].kind, PARSE_BLOCK_TABLE);
    }
    parse_result_free(r);
    free(s);
}

/* Growth of the maximum resident set while parsing s in a child, in MB;
 * -1 when the child failed or the parse produced no text. */
static double peak_growth_mb(parse_format fmt, const char *s, size_t len) {
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        parse_result *r = NULL;
        char err[256];
        lore_status st = parse_bytes(fmt, "x", (const uint8_t *)s, len, NULL, &r, err, sizeof err);
        getrusage(RUSAGE_SELF, &after);
        double mb = (double)(after.ru_maxrss - before.ru_maxrss) / 1024.0;
        if (st != LORE_OK || !r->docs[0].text_len) mb = -1;
        if (write(fd[1], &mb, sizeof mb) != sizeof mb) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double mb = -1;
    if (read(fd[0], &mb, sizeof mb) != sizeof mb) mb = -1;
    close(fd[0]);
    int ws;
    waitpid(pid, &ws, 0);
    return mb;
}

/* The HTML: 1,000,000 nested <div> (11 MB; 205 MB peak before). */
static void test_html_nested_divs(void) {
    size_t n = 1000000;
    char *s = malloc(11 * n + 2);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 5 * i, "<div>", 5);
    s[5 * n] = 'x';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 5 * n + 1 + 6 * i, "</div>", 6);
    size_t len = 11 * n + 1;
    double mb = peak_growth_mb(PARSE_FMT_HTML, s, len);
    fprintf(stderr, "  nested divs: peak grew %.1f MB for %.1f MB of input\n", mb,
            (double)len / 1048576.0);
    CHECK(mb >= 0 && mb < 120.0);
    parse_result *r = parse(PARSE_FMT_HTML, s, len, LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "not as HTML"));
        CHECK_STR(r->docs[0].text, "x");
    }
    parse_result_free(r);
    free(s);
}

static void test_html_budgets(void) {
    /* depth: nested elements and then end tags that match none of them */
    char *open = repeat("<div>", PARSE_HTML_MAX_DEPTH + 1, NULL);
    char *s = malloc(strlen(open) + 64);
    sprintf(s, "%sx</span></span>", open);
    parse_result *r = parse(PARSE_FMT_HTML, s, strlen(s), LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "nest more than"));
        CHECK_STR(r->docs[0].text, "x");
    }
    parse_result_free(r);
    free(open);
    free(s);
    /* unclosed <p> and <li>, closed <div>: as deep as the page, HTML */
    char *paras = repeat("<div><p>a<ul><li>b<li>c</ul></div>", 5000, NULL);
    r = parse(PARSE_FMT_HTML, paras, strlen(paras), LORE_OK);
    CHECK(r && r->note == NULL);
    parse_result_free(r);
    free(paras);
    /* attributes in one tag */
    char *attrs = repeat(" a", PARSE_HTML_MAX_ATTRS + 1, NULL);
    s = malloc(strlen(attrs) + 64);
    sprintf(s, "<p%s>text &amp; more</p>", attrs);
    r = parse(PARSE_FMT_HTML, s, strlen(s), LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "attributes"));
        CHECK_STR(r->docs[0].text, "text & more");
    }
    parse_result_free(r);
    free(attrs);
    free(s);
    /* too many elements; script content is dropped, block ends break lines */
    char *many = repeat("<p>x", PARSE_HTML_MAX_NODES / 2, NULL);
    s = malloc(strlen(many) + 64);
    sprintf(s, "<script>if (a<b) x();</script>%s", many);
    r = parse(PARSE_FMT_HTML, s, strlen(s), LORE_OK);
    if (r) {
        CHECK(r->note && strstr(r->note, "too much memory"));
        CHECK(strncmp(r->docs[0].text, "x\nx\nx", 5) == 0);
    }
    parse_result_free(r);
    free(many);
    free(s);
}

/* JSON whose tree would be too large is refused, naming JSON Lines. */
static void test_json_budget(void) {
    size_t n = PARSE_JSON_MAX_TREE / 256 + 1000;
    char *body = repeat("{},", n, "{}]");
    char *s = malloc(strlen(body) + 2);
    sprintf(s, "[%s", body);
    free(body);
    parse_result *r = NULL;
    char err[512] = "";
    lore_status st = parse_bytes(PARSE_FMT_JSON, "a.json", (const uint8_t *)s, strlen(s), NULL, &r,
                                 err, sizeof err);
    CHECK_INT(st, LORE_TOO_LARGE);
    CHECK(strstr(err, "JSON Lines") != NULL);
    parse_result_free(r);
    free(s);
    /* a JSON Lines line of as many objects: refused, with its line */
    body = repeat("\"k\":{},", n, "\"z\":1}\n");
    s = malloc(strlen(body) + 2);
    sprintf(s, "{%s", body);
    free(body);
    st = parse_bytes(PARSE_FMT_JSONL, "a.jsonl", (const uint8_t *)s, strlen(s), NULL, &r, err,
                     sizeof err);
    CHECK_INT(st, LORE_TOO_LARGE);
    CHECK(strncmp(err, "line 1: JSON of", 15) == 0);
    free(s);
}

int main(void) {
    test_markdown_quotes_and_brackets();
    test_markdown_cr_lines();
    test_markdown_depth_edge();
    test_markdown_nodes();
    test_markdown_table();
    test_html_nested_divs();
    test_html_budgets();
    test_json_budget();
    return test_summary();
}
