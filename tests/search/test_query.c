/* Query syntax: clause kinds, negation, quotes, fields, limits. */
#include "search/query.h"
#include "test.h"

static query_ast parse_ok(const char *q) {
    query_ast a;
    char err[128] = "";
    lore_status st = query_parse(q, strlen(q), &a, err, sizeof err);
    CHECK_INT(st, LORE_OK);
    return a;
}

int main(void) {
    query_ast a = parse_ok("parental leave policy");
    CHECK_INT(a.n, 1); /* adjacent plain words form one clause */
    CHECK_STR(a.clauses[0].text, "parental leave policy");
    query_ast_free(&a);

    a = parse_ok("\"parental leave\" -draft title:handbook source:wiki author:ann pay");
    CHECK_INT(a.n, 6);
    CHECK_INT(a.clauses[0].kind, QUERY_PHRASE);
    CHECK_STR(a.clauses[0].text, "parental leave");
    CHECK_INT(a.clauses[1].kind, QUERY_WORDS);
    CHECK_INT(a.clauses[1].negated, 1);
    CHECK_STR(a.clauses[1].text, "draft");
    CHECK_INT(a.clauses[2].kind, QUERY_TITLE);
    CHECK_STR(a.clauses[2].text, "handbook");
    CHECK_INT(a.clauses[3].kind, QUERY_SOURCE);
    CHECK_STR(a.clauses[3].text, "wiki");
    CHECK_INT(a.clauses[4].kind, QUERY_AUTHOR);
    CHECK_INT(a.clauses[5].kind, QUERY_WORDS);
    query_ast_free(&a);

    a = parse_ok("-\"old plan\" title:\"annual review\" -source:slack");
    CHECK_INT(a.n, 3);
    CHECK_INT(a.clauses[0].kind, QUERY_PHRASE);
    CHECK_INT(a.clauses[0].negated, 1);
    CHECK_INT(a.clauses[1].kind, QUERY_TITLE);
    CHECK_STR(a.clauses[1].text, "annual review");
    CHECK_INT(a.clauses[2].kind, QUERY_SOURCE);
    CHECK_INT(a.clauses[2].negated, 1);
    query_ast_free(&a);

    /* Unknown fields, URLs, lone dashes and an open quote are plain text. */
    a = parse_ok("https://example.com/x err:E42 - -- \"open quote");
    CHECK_INT(a.n, 2);
    CHECK_STR(a.clauses[0].text, "https://example.com/x err:E42 - --");
    CHECK_INT(a.clauses[1].kind, QUERY_PHRASE);
    CHECK_STR(a.clauses[1].text, "open quote");
    query_ast_free(&a);

    a = parse_ok("title: x");
    CHECK_INT(a.n, 1);
    CHECK_STR(a.clauses[0].text, "title: x");
    query_ast_free(&a);

    a = parse_ok("   ");
    CHECK_INT(a.n, 0);
    query_ast_free(&a);
    a = parse_ok("\"\"");
    CHECK_INT(a.n, 0);
    query_ast_free(&a);

    /* Limits. */
    char big[QUERY_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char err[128];
    query_ast b;
    CHECK_INT(query_parse(big, strlen(big), &b, err, sizeof err), LORE_TOO_LARGE);
    CHECK(strstr(err, "limit") != NULL);
    char many[QUERY_MAX_BYTES];
    size_t o = 0;
    for (int i = 0; i < 200 && o + 4 < sizeof many; i++)
        o += (size_t)sprintf(many + o, "\"a\" ");
    CHECK_INT(query_parse(many, o, &b, err, sizeof err), LORE_TOO_LARGE);
    CHECK(strstr(err, "clauses") != NULL);
    return test_summary();
}
