/* JSON and JSON Lines: field mapping on the samples, dates, metadata, error
 * messages naming the line or index, limits and hostile inputs. */
#include "parse/parse_int.h"
#include "parse_test_util.h"

static lore_status run(parse_format fmt, const char *s, parse_result **r, char *err,
                       size_t errlen) {
    *r = NULL;
    lore_status st =
        parse_bytes(fmt, "in.json", (const uint8_t *)s, strlen(s), NULL, r, err, errlen);
    if (st == LORE_OK)
        for (size_t i = 0; i < (*r)->ndocs; i++)
            check_doc_invariants(&(*r)->docs[i]);
    else
        CHECK(*r == NULL);
    return st;
}

#define CHECK_ERR(fmt, input, want_st, want_msg)                                                   \
    do {                                                                                           \
        parse_result *r_;                                                                          \
        char e_[256] = "";                                                                         \
        CHECK_INT(run(fmt, input, &r_, e_, sizeof e_), want_st);                                   \
        CHECK_STR(e_, want_msg);                                                                   \
        parse_result_free(r_);                                                                     \
    } while (0)

static void test_object(void) {
    size_t len;
    uint8_t *data = read_sample("record.json", &len);
    CHECK_INT(parse_detect("record.json", data, len), PARSE_FMT_JSON);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_JSON);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(parse_bytes(PARSE_FMT_JSON, "record.json", data, len, NULL, &r, err, sizeof err),
              LORE_OK);
    free(data);
    if (!r) return;
    CHECK_INT(r->ndocs, 1);
    parse_doc *d = &r->docs[0];
    check_doc_invariants(d);
    CHECK_STR(d->external_id, "42");
    CHECK_STR(d->title, "Quarterly report");
    CHECK_STR(d->url, "https://reports.example.com/q3");
    CHECK_STR(d->author, "Ann Lee, Bo Chen");
    CHECK_INT(d->created_ms, 1705309200000LL);
    CHECK_INT(d->updated_ms, 1718000000000LL);
    CHECK_STR(
        d->metadata_json,
        "{\"quarter\":\"Q3\",\"year\":2024,\"department\":\"Finance\",\"confidential\":true}");
    CHECK_INT(d->nacl, 2);
    if (d->nacl == 2) {
        CHECK_STR(d->acl[0], "group:finance");
        CHECK_STR(d->acl[1], "user:ann");
    }
    CHECK_INT(d->nblocks, 2);
    CHECK_BLOCK(d, 0, PARSE_BLOCK_PARAGRAPH, 0, "Revenue grew 12%.");
    CHECK_BLOCK(d, 1, PARSE_BLOCK_PARAGRAPH, 0, "Costs were flat.");
    CHECK_STR(d->text, "Revenue grew 12%.\n\nCosts were flat.");
    parse_result_free(r);
}

static void test_array(void) {
    size_t len;
    uint8_t *data = read_sample("records.json", &len);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_JSON);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(parse_bytes(PARSE_FMT_JSON, "records.json", data, len, NULL, &r, err, sizeof err),
              LORE_OK);
    free(data);
    if (!r) return;
    CHECK_INT(r->ndocs, 3);
    CHECK_STR(r->docs[0].external_id, "a-1");
    CHECK_STR(r->docs[0].title, "First");
    CHECK_STR(r->docs[0].text, "Alpha paragraph.");
    CHECK_STR(r->docs[1].external_id, "a-2");
    CHECK(r->docs[1].title == NULL); /* no file-name title inside an array */
    CHECK_INT(r->docs[1].created_ms, 1700000000123LL);
    CHECK_INT(r->docs[1].nblocks, 2);
    CHECK_BLOCK(&r->docs[1], 1, PARSE_BLOCK_PARAGRAPH, 0, "Beta two.");
    CHECK_STR(r->docs[2].title, "Only a title");
    CHECK_INT(r->docs[2].nblocks, 0);
    CHECK_STR(r->docs[2].text, "");
    parse_result_free(r);
}

static void test_jsonl(void) {
    size_t len;
    uint8_t *data = read_sample("corpus.jsonl", &len);
    CHECK_INT(parse_detect("corpus.jsonl", data, len), PARSE_FMT_JSONL);
    CHECK_INT(parse_detect(NULL, data, len), PARSE_FMT_JSONL);
    parse_result *r = NULL;
    char err[256];
    CHECK_INT(parse_bytes(PARSE_FMT_JSONL, "corpus.jsonl", data, len, NULL, &r, err, sizeof err),
              LORE_OK);
    free(data);
    if (!r) return;
    CHECK_INT(r->ndocs, 3);
    parse_doc *d = r->docs;
    CHECK_STR(d[0].external_id, "4983");
    CHECK_STR(d[0].title, "Microstructural development");
    CHECK_STR(d[0].text, "Alterations of the architecture.");
    CHECK(d[0].metadata_json == NULL); /* empty metadata object */
    CHECK_STR(d[1].external_id, "5836");
    CHECK_STR(d[1].metadata_json, "{\"source\":\"pubmed\"}");
    CHECK_INT(d[1].nblocks, 2);
    CHECK_BLOCK(&d[1], 0, PARSE_BLOCK_PARAGRAPH, 0, "Myelodysplastic syndromes (MDS).");
    CHECK_STR(d[2].external_id, "x7");
    CHECK(d[2].title == NULL);
    CHECK_STR(d[2].text, "Third doc.");
    CHECK_STR(d[2].metadata_json, "{\"lang\":\"en\",\"tags\":[\"a\",\"b\"]}");
    CHECK_INT(d[2].nacl, 1);
    parse_result_free(r);
}

static void test_fields(void) {
    parse_result *r;
    char err[256];
    /* ids kept exactly; dates in every accepted form */
    CHECK_INT(run(PARSE_FMT_JSONL,
                  "{\"_id\":\" 007 \",\"text\":\"a\",\"created\":\"2024-02-29\","
                  "\"updated_at\":1.5}\r\n"
                  "{\"id\":-12,\"_id\":\"ignored\",\"title\":\"t\",\"created_at\":\"2024-02-29T"
                  "23:59:59.999-01:30\",\"updated\":\"not a date\"}\n"
                  "{\"id\":null,\"_id\":9007199254740993,\"title\":\"u\",\"text\":null,\"body\":"
                  "\"from body\",\"content\":\"ignored\",\"metadata\":\"plain\",\"x\":null}\n",
                  &r, err, sizeof err),
              LORE_OK);
    if (r) {
        CHECK_INT(r->ndocs, 3);
        CHECK_STR(r->docs[0].external_id, " 007 ");
        CHECK_INT(r->docs[0].created_ms, 1709164800000LL);
        CHECK_INT(r->docs[0].updated_ms, 1500);
        CHECK_STR(r->docs[1].external_id, "-12");
        CHECK_INT(r->docs[1].created_ms, 1709256599999LL);
        CHECK_INT(r->docs[1].updated_ms, 0);
        CHECK_STR(r->docs[1].metadata_json, "{\"updated\":\"not a date\"}");
        CHECK_STR(r->docs[2].external_id, "9007199254740993");
        CHECK_STR(r->docs[2].text, "from body");
        CHECK_STR(r->docs[2].metadata_json, "{\"metadata\":\"plain\"}");
        parse_result_free(r);
    }
    /* NUL in a string is dropped, not a truncation */
    CHECK_INT(run(PARSE_FMT_JSON, "{\"text\":\"a\\u0000b\"}", &r, err, sizeof err), LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].text, "ab");
        CHECK_STR(r->docs[0].title, "in"); /* single object: file-name title */
        parse_result_free(r);
    }
}

static void test_errors(void) {
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\": \"abc\"", LORE_INVALID,
              "line 1 column 14: invalid JSON: '}' expected near end of file");
    CHECK_ERR(PARSE_FMT_JSON, "", LORE_INVALID,
              "line 1 column 0: invalid JSON: unexpected token near end of file");
    CHECK_ERR(PARSE_FMT_JSON, "42", LORE_INVALID,
              "JSON input must be an object or an array of objects");
    CHECK_ERR(PARSE_FMT_JSON, "[]", LORE_INVALID, "JSON array holds no documents");
    CHECK_ERR(PARSE_FMT_JSON, "[{\"text\":\"a\"}, 3]", LORE_INVALID, "[1]: not a JSON object");
    CHECK_ERR(PARSE_FMT_JSON, "[{\"text\":\"a\"}, {\"id\":\"b\"}]", LORE_INVALID,
              "[1]: document has neither text nor title");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\": \" \\n\\n \", \"title\": null}", LORE_INVALID,
              "document has neither text nor title");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\": 5}", LORE_INVALID, "\"text\" must be a string");
    CHECK_ERR(PARSE_FMT_JSON, "{\"body\": [\"a\"]}", LORE_INVALID, "\"body\" must be a string");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\":\"a\",\"id\":1.5}", LORE_INVALID,
              "id must be a string or an integer");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\":\"a\",\"title\":{}}", LORE_INVALID,
              "title must be a string");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\":\"a\",\"acl\":\"user:x\"}", LORE_INVALID,
              "acl must be an array of strings");
    CHECK_ERR(PARSE_FMT_JSON, "{\"text\":\"a\",\"acl\":[\"user:x\", 7]}", LORE_INVALID,
              "acl must be an array of non-empty strings");
    CHECK_ERR(PARSE_FMT_JSONL, "{\"text\":\"a\"}\n\n{\"text\":\"b\"\n", LORE_INVALID,
              "line 3: invalid JSON: '}' expected near end of file");
    CHECK_ERR(PARSE_FMT_JSONL, "{\"text\":\"a\"}\n[1]\n", LORE_INVALID,
              "line 2: not a JSON object");
    CHECK_ERR(PARSE_FMT_JSONL, "{\"text\":\"a\"}\n{\"title\":\"\"}\n", LORE_INVALID,
              "line 2: document has neither text nor title");
    CHECK_ERR(PARSE_FMT_JSONL, "\n  \n", LORE_INVALID, "JSON Lines input holds no documents");
    CHECK_ERR(PARSE_FMT_JSONL, "{\"text\":\"caf\xe9\"}", LORE_INVALID,
              "line 1: invalid JSON: unable to decode byte 0xe9 near '\"caf'");
    /* deep nesting: refused before jansson recurses */
    size_t n = 10000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    CHECK_ERR(PARSE_FMT_JSON, deep, LORE_INVALID, "invalid JSON: nesting deeper than 64 levels");
    CHECK_ERR(PARSE_FMT_JSONL, deep, LORE_INVALID,
              "line 1: invalid JSON: nesting deeper than 64 levels");
    deep[n] = '\0'; /* truncated too */
    CHECK_ERR(PARSE_FMT_JSON, deep, LORE_INVALID, "invalid JSON: nesting deeper than 64 levels");
    free(deep);
    /* brackets inside strings do not count as nesting */
    char *s = malloc(3 * n);
    strcpy(s, "{\"text\":\"");
    memset(s + 9, '[', n);
    strcpy(s + 9 + n, "\"}");
    parse_result *r;
    char err[256];
    CHECK_INT(run(PARSE_FMT_JSON, s, &r, err, sizeof err), LORE_OK);
    if (r) CHECK_INT(r->docs[0].text_len, n);
    parse_result_free(r);
    free(s);
}

static void test_limits(void) {
    parse_limits lim;
    parse_limits_default(&lim);
    lim.max_docs = 2;
    parse_result *r = NULL;
    char err[256];
    const char *three = "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\n";
    CHECK_INT(parse_bytes(PARSE_FMT_JSONL, NULL, (const uint8_t *)three, strlen(three), &lim, &r,
                          err, sizeof err),
              LORE_TOO_LARGE);
    CHECK_STR(err, "more than 2 documents in one input");
    const char *arr = "[{\"text\":\"a\"},{\"text\":\"b\"},{\"text\":\"c\"}]";
    CHECK_INT(parse_bytes(PARSE_FMT_JSON, NULL, (const uint8_t *)arr, strlen(arr), &lim, &r, err,
                          sizeof err),
              LORE_TOO_LARGE);
    CHECK_STR(err, "more than 2 documents in one input");
    lim.max_docs = 10;
    lim.max_text = 4;
    CHECK_INT(parse_bytes(PARSE_FMT_JSONL, NULL, (const uint8_t *)three, strlen(three), &lim, &r,
                          err, sizeof err),
              LORE_OK);
    parse_result_free(r);
    const char *big = "{\"text\":\"a\"}\n{\"text\":\"12345\"}\n";
    CHECK_INT(parse_bytes(PARSE_FMT_JSONL, NULL, (const uint8_t *)big, strlen(big), &lim, &r, err,
                          sizeof err),
              LORE_TOO_LARGE);
    CHECK_STR(err, "line 2: text exceeds the limit of 4 bytes per document");
    lim.max_input = 3;
    CHECK_INT(parse_json(NULL, (const uint8_t *)big, strlen(big), &lim, &r, err, sizeof err),
              LORE_TOO_LARGE);
    CHECK(r == NULL);
    /* a huge single line */
    size_t n = 8 << 20;
    char *huge = malloc(n + 32);
    strcpy(huge, "{\"text\":\"");
    memset(huge + 9, 'x', n);
    strcpy(huge + 9 + n, "\"}\n");
    CHECK_INT(parse_bytes(PARSE_FMT_JSONL, NULL, (const uint8_t *)huge, strlen(huge), NULL, &r, err,
                          sizeof err),
              LORE_OK);
    if (r) CHECK_INT(r->docs[0].text_len, n);
    parse_result_free(r);
    free(huge);
}

int main(void) {
    test_object();
    test_array();
    test_jsonl();
    test_fields();
    test_errors();
    test_limits();
    return test_summary();
}
