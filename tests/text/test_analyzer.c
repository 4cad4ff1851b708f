/* The analyzer's exact outputs: terms, positions, offsets and flags for
 * English, other scripts, identifiers, URLs, invalid UTF-8 and big inputs. */
#include "test.h"
#include "text/analyzer.h"

#include <stdint.h>
#include <time.h>
#include <utf8proc.h>

static text_analyzer *A;

/* Collected tokens, rendered as text so a case is one string comparison. */
typedef struct collect {
    char out[8192];
    size_t len;
    int detail; /* 1: "term@pos[start,end]W/P", 0: "term" */
    int limit;  /* stop after this many tokens (0: never) */
    size_t ntok;
} collect;

static int collect_fn(void *ctx, const text_token *t) {
    collect *c = ctx;
    char one[256];
    int n;
    if (c->detail)
        n = snprintf(one, sizeof one, "%s%s@%u[%u,%u]%s", c->ntok ? " " : "", t->term,
                     (unsigned)t->pos, (unsigned)t->start, (unsigned)t->end,
                     t->flags & TEXT_TOKEN_WHOLE  ? "W"
                     : t->flags & TEXT_TOKEN_PART ? "P"
                                                  : "");
    else
        n = snprintf(one, sizeof one, "%s%s", c->ntok ? " " : "", t->term);
    if (n > 0 && c->len + (size_t)n < sizeof c->out) {
        memcpy(c->out + c->len, one, (size_t)n + 1);
        c->len += (size_t)n;
    }
    c->ntok++;
    return c->limit && (int)c->ntok >= c->limit;
}

static const char *run(const char *text, int detail) {
    static collect c;
    memset(&c, 0, sizeof c);
    c.detail = detail;
    lore_status st = text_analyze(A, text, strlen(text), collect_fn, &c);
    CHECK_INT(st, LORE_OK);
    return c.out;
}

static const char *terms(const char *text) {
    return run(text, 0);
}

typedef struct tcase {
    const char *in, *want;
} tcase;

static void check_table(const tcase *cases, size_t n, int det) {
    for (size_t i = 0; i < n; i++) {
        const char *got = run(cases[i].in, det);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "input: \"%s\"\n  got:  \"%s\"\n  want: \"%s\"\n", cases[i].in, got,
                    cases[i].want);
        CHECK_STR(got, cases[i].want);
    }
}

#define TABLE(cases, det) check_table(cases, sizeof cases / sizeof cases[0], det)

static void test_english(void) {
    static const tcase cases[] = {
        {"The running dogs don't bark at the user's cats.",
         "run@1[4,11] dog@2[12,16] dont@3[17,22] bark@4[23,27] user@7[35,41] cat@8[42,46]"},
        /* Stop words only: nothing, but positions advance past them. */
        {"the of and", ""},
        {"the of and cats", "cat@3[11,15]"},
        {"Connection connected CONNECTING", "connect@0[0,10] connect@1[11,20] connect@2[21,31]"},
        {"it's users' O\xE2\x80\x99Reilly", "user@1[5,10] oreilli@2[12,22]"},
        {"", ""},
        {"  ,;!?  ", ""},
    };
    TABLE(cases, 1);
    static const tcase plain[] = {
        {"Studies studying studied", "studi studi studi"},
        {"Hello, World! (Testing) \"quoted\"", "hello world test quot"},
        {"2024 3.14 -5 .5 1,000", "2024 3.14 5 5 1 000"},
        {"COVID-19 mp3 E1234", "covid-19 covid 19 mp3 e1234"},
    };
    TABLE(plain, 0);
}

static void test_unicode(void) {
    static const tcase cases[] = {
        /* NFKC: full-width letters, ligatures. */
        {"\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3", "abc@0[0,9]"},
        {"\xEF\xAC\x81le", "file@0[0,5]"},
        /* Case folding: ß folds to ss (then stemmed like any Latin word). */
        {"Stra\xC3\x9F"
         "e STRASSE strasse",
         "strass@0[0,7] strass@1[8,15] strass@2[16,23]"},
        {"Stra\xC3\x9F"
         "e_x",
         "strasse_x@0[0,9]W strass@0[0,7]P x@1[8,9]P"},
        {"na\xC3\xAFve caf\xC3\xA9", "na\xC3\xAFv@0[0,6] caf\xC3\xA9@1[7,12]"},
        /* Decomposed é composes to the same term as precomposed é. */
        {"cafe\xCC\x81", "caf\xC3\xA9@0[0,6]"},
        /* Greek and Cyrillic: folded, not stemmed; final sigma folds to σ. */
        {"\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1 "
         "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3",
         "\xCE\xBA\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1@0[0,16] "
         "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83@1[17,25]"},
        {"\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD0\xBC\xD0\xB8\xD1\x80",
         "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82@0[0,12] "
         "\xD0\xBC\xD0\xB8\xD1\x80@1[13,19]"},
        /* Arabic, with and without vowel marks: one word each. */
        {"\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 "
         "\xD9\x83\xD9\x90\xD8\xAA\xD9\x8E\xD8\xA7\xD8\xA8",
         "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7@0[0,10] "
         "\xD9\x83\xD9\x90\xD8\xAA\xD9\x8E\xD8\xA7\xD8\xA8@1[11,23]"},
        /* Hindi: vowel signs and virama (Mn/Mc) stay inside the word. */
        {"\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80 "
         "\xE0\xA4\xAD\xE0\xA4\xBE\xE0\xA4\xB7\xE0\xA4\xBE",
         "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80@0[0,18] "
         "\xE0\xA4\xAD\xE0\xA4\xBE\xE0\xA4\xB7\xE0\xA4\xBE@1[19,31]"},
        /* Hebrew. */
        {"\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D@0[0,8]"},
        /* Thai (no spaces): one word. */
        {"\xE0\xB8\xA0\xE0\xB8\xB2\xE0\xB8\xA9\xE0\xB8\xB2",
         "\xE0\xB8\xA0\xE0\xB8\xB2\xE0\xB8\xA9\xE0\xB8\xB2@0[0,12]"},
        /* Soft hyphen inside a word is dropped. */
        {"soft\xC2\xADhyphen", "softhyphen@0[0,12]"},
    };
    TABLE(cases, 1);
}

static void test_cjk(void) {
    static const tcase cases[] = {
        /* 東京都 -> 東京, 京都, one position each, offsets over both characters. */
        {"\xE6\x9D\xB1\xE4\xBA\xAC\xE9\x83\xBD",
         "\xE6\x9D\xB1\xE4\xBA\xAC@0[0,6] \xE4\xBA\xAC\xE9\x83\xBD@1[3,9]"},
        /* A lone character is a unigram. */
        {"\xE6\x9D\xB1", "\xE6\x9D\xB1@0[0,3]"},
        /* Hiragana ひらがな. */
        {"\xE3\x81\xB2\xE3\x82\x89\xE3\x81\x8C\xE3\x81\xAA",
         "\xE3\x81\xB2\xE3\x82\x89@0[0,6] \xE3\x82\x89\xE3\x81\x8C@1[3,9] "
         "\xE3\x81\x8C\xE3\x81\xAA@2[6,12]"},
        /* Katakana カタカナ and half-width ｶﾀｶﾅ give the same bigrams. */
        {"\xE3\x82\xAB\xE3\x82\xBF\xE3\x82\xAB\xE3\x83\x8A "
         "\xEF\xBD\xB6\xEF\xBE\x80\xEF\xBD\xB6\xEF\xBE\x85",
         "\xE3\x82\xAB\xE3\x82\xBF@0[0,6] \xE3\x82\xBF\xE3\x82\xAB@1[3,9] "
         "\xE3\x82\xAB\xE3\x83\x8A@2[6,12] \xE3\x82\xAB\xE3\x82\xBF@3[13,19] "
         "\xE3\x82\xBF\xE3\x82\xAB@4[16,22] \xE3\x82\xAB\xE3\x83\x8A@5[19,25]"},
        /* Half-width ｶﾞ composes with its sound mark into ガ. */
        {"\xEF\xBD\xB6\xEF\xBE\x9E", "\xE3\x82\xAC@0[0,6]"},
        /* Korean 한국어. */
        {"\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
         "\xED\x95\x9C\xEA\xB5\xAD@0[0,6] \xEA\xB5\xAD\xEC\x96\xB4@1[3,9]"},
        /* Script changes end a word: Tokyo東京 -> tokyo, 東京. */
        {"Tokyo\xE6\x9D\xB1\xE4\xBA\xAC 2024\xE5\xB9\xB4",
         "tokyo@0[0,5] \xE6\x9D\xB1\xE4\xBA\xAC@1[5,11] 2024@2[12,16] \xE5\xB9\xB4@3[16,19]"},
    };
    TABLE(cases, 1);
}

static void test_identifiers(void) {
    static const tcase cases[] = {
        {"parse_config_file",
         "parse_config_file@0[0,17]W pars@0[0,5]P config@1[6,12]P file@2[13,17]P"},
        {"HttpServerError",
         "httpservererror@0[0,15]W http@0[0,4]P server@1[4,10]P error@2[10,15]P"},
        {"HTTPServer", "httpserver@0[0,10]W http@0[0,4]P server@1[4,10]P"},
        {"camelCase x", "camelcase@0[0,9]W camel@0[0,5]P case@1[5,9]P x@2[10,11]"},
        {"v1.2.3", "v1.2.3@0[0,6]W v1@0[0,2]P 2@1[3,4]P 3@2[5,6]P"},
        {"E1234", "e1234@0[0,5]"},
        {"0x1F", "0x1f@0[0,4]"},
        {"ERR_CONN_RESET", "err_conn_reset@0[0,14]W err@0[0,3]P conn@1[4,8]P reset@2[9,14]P"},
        {"alice@example.com",
         "alice@example.com@0[0,17]W alic@0[0,5]P exampl@1[6,13]P com@2[14,17]P"},
        {"https://docs.example.com/guide/setup?x=1.",
         "https://docs.example.com/guide/setup?x=1@0[0,40]W doc@0[8,12]P exampl@1[13,20]P "
         "com@2[21,24]P guid@3[25,30]P setup@4[31,36]P x@5[37,38]P 1@6[39,40]P"},
        /* Hyphenated: whole plus parts; stop-word parts keep their positions. */
        {"state-of-the-art design",
         "state-of-the-art@0[0,16]W state@0[0,5]P art@3[13,16]P design@4[17,23]"},
        {"__init__", "__init__@0[0,8]W init@0[2,6]P"},
        {"std::vector", "std::vector@0[0,11]W std@0[0,3]P vector@1[5,11]P"},
        {"base64Encode", "base64encode@0[0,12]W base64@0[0,6]P encod@1[6,12]P"},
        /* Plural acronyms stay whole. */
        {"URLs IDs", "url@0[0,4] id@1[5,8]"},
        {"x86_64", "x86_64@0[0,6]W x86@0[0,3]P 64@1[4,6]P"},
        {"src/text/analyzer.c",
         "src/text/analyzer.c@0[0,19]W src@0[0,3]P text@1[4,8]P analyz@2[9,17]P c@3[18,19]P"},
        /* A URL's closing bracket that it did not open is not part of it. */
        {"[docs](https://en.wikipedia.org/wiki/Foo_(bar)).",
         "doc@0[1,5] https://en.wikipedia.org/wiki/foo_(bar)@1[7,46]W en@1[15,17]P "
         "wikipedia@2[18,27]P org@3[28,31]P wiki@4[32,36]P foo@5[37,40]P bar@6[42,45]P"},
        /* "http://" with nothing after it is just a word. */
        {"http:// end", "http@0[0,4] end@1[8,11]"},
        /* Sentence punctuation is not a connector. */
        {"end. Next", "end@0[0,3] next@1[5,9]"},
    };
    TABLE(cases, 1);
}

static void test_invalid_utf8(void) {
    static const tcase cases[] = {
        {"ab\xFF"
         "cd",
         "ab@0[0,2] cd@1[3,5]"},
        {"caf\xC3 x", "caf@0[0,3] x@1[5,6]"}, /* truncated sequence */
        {"\xED\xA0\x80x", "x@0[3,4]"},        /* surrogate */
        {"\xC0\xAF"
         "ab",
         "ab@0[2,4]"},                     /* overlong */
        {"\xF4\x90\x80\x80z", "z@0[4,5]"}, /* beyond U+10FFFF */
        {"\xE6\x9D\xB1\xFF\xE4\xBA\xAC", "\xE6\x9D\xB1@0[0,3] \xE4\xBA\xAC@1[4,7]"},
    };
    TABLE(cases, 1);
    /* Embedded NUL is a separator; the length, not the NUL, ends the input. */
    collect c;
    memset(&c, 0, sizeof c);
    c.detail = 1;
    CHECK_INT(text_analyze(A, "ab\0cd", 5, collect_fn, &c), LORE_OK);
    CHECK_STR(c.out, "ab@0[0,2] cd@1[3,5]");
}

static void test_truncation(void) {
    char buf[512];
    /* 100 ASCII letters: cut to TEXT_MAX_TERM, offsets cover the word. */
    memset(buf, 'q', 100);
    buf[100] = 0;
    collect c;
    memset(&c, 0, sizeof c);
    c.detail = 1;
    CHECK_INT(text_analyze(A, buf, 100, collect_fn, &c), LORE_OK);
    char want[256];
    memset(want, 'q', TEXT_MAX_TERM);
    snprintf(want + TEXT_MAX_TERM, sizeof want - TEXT_MAX_TERM, "@0[0,100]");
    CHECK_STR(c.out, want);
    /* "a" + 40 x "é" = 81 bytes: cut at 63, never inside the 2-byte é. */
    size_t n = 0;
    buf[n++] = 'a';
    for (int i = 0; i < 40; i++)
        buf[n++] = (char)0xC3, buf[n++] = (char)0xA9;
    buf[n] = 0;
    memset(&c, 0, sizeof c);
    c.detail = 1;
    CHECK_INT(text_analyze(A, buf, n, collect_fn, &c), LORE_OK);
    memcpy(want, buf, 63);
    snprintf(want + 63, sizeof want - 63, "@0[0,81]");
    CHECK_STR(c.out, want);
}

/* Regression (found by the fuzzer): a whole identifier whose first 256
 * bytes end inside a non-ASCII character was normalized to nothing. */
static void test_long_whole(void) {
    char buf[512], want[128];
    size_t n = 0;
    memcpy(buf, "xy_", 3);
    n = 3;
    for (int i = 0; i < 200; i++)
        buf[n++] = (char)0xC3, buf[n++] = (char)0xA9;
    buf[n] = 0;
    collect c;
    memset(&c, 0, sizeof c);
    c.limit = 1;
    c.detail = 1;
    CHECK_INT(text_analyze(A, buf, n, collect_fn, &c), LORE_OK);
    memcpy(want, buf, 63); /* "xy_" and 30 x "é": 64 would split an é */
    snprintf(want + 63, sizeof want - 63, "@0[0,403]W");
    CHECK_STR(c.out, want);
}

static void test_stopwords(void) {
    CHECK(text_is_stopword("the", 3));
    CHECK(text_is_stopword("a", 1));
    CHECK(text_is_stopword("these", 5));
    CHECK(text_is_stopword("with", 4));
    CHECK(!text_is_stopword("thes", 4));
    CHECK(!text_is_stopword("run", 3));
    CHECK(!text_is_stopword("", 0));
    CHECK(!text_is_stopword("thesaurus", 9));
    CHECK(!text_is_stopword("The", 3)); /* takes the folded word */
    /* The whole list is 33 words: count hits over them. */
    const char *all = "a an and are as at be but by for if in into is it no not of on or such "
                      "that the their then there these they this to was will with";
    CHECK_STR(terms(all), "");
    CHECK_STR(terms("is_valid"), "is_valid valid");
}

/* Early stop: the callback's non-zero return ends the call with LORE_OK. */
static void test_early_stop(void) {
    collect c;
    memset(&c, 0, sizeof c);
    c.limit = 2;
    const char *s = "alpha beta gamma delta parse_config_file";
    CHECK_INT(text_analyze(A, s, strlen(s), collect_fn, &c), LORE_OK);
    CHECK_INT(c.ntok, 2);
    CHECK_STR(c.out, "alpha beta");
    memset(&c, 0, sizeof c);
    c.limit = 2;
    s = "parse_config_file alpha";
    CHECK_INT(text_analyze(A, s, strlen(s), collect_fn, &c), LORE_OK);
    CHECK_STR(c.out, "parse_config_file pars");
    memset(&c, 0, sizeof c);
    c.limit = 1;
    s = "\xE6\x9D\xB1\xE4\xBA\xAC\xE9\x83\xBD x";
    CHECK_INT(text_analyze(A, s, strlen(s), collect_fn, &c), LORE_OK);
    CHECK_INT(c.ntok, 1);
}

static void test_arguments(void) {
    collect c;
    memset(&c, 0, sizeof c);
    CHECK_INT(text_analyze(A, NULL, 0, collect_fn, &c), LORE_OK);
    CHECK_INT(c.ntok, 0);
    /* The size check comes before the text is read. */
    CHECK_INT(text_analyze(A, "x", (size_t)UINT32_MAX + 1, collect_fn, &c), LORE_TOO_LARGE);
    CHECK_INT(text_analyze(A, "x", 1, NULL, &c), LORE_INVALID);
}

/* Offsets index the original bytes: re-analyzing each plain token's source
 * range gives the same term, even when normalization changed its length. */
static int offsets_fn(void *ctx, const text_token *t) {
    const char *text = ctx;
    if (t->flags) return 0;
    collect c;
    memset(&c, 0, sizeof c);
    lore_status st = text_analyze(A, text + t->start, t->end - t->start, collect_fn, &c);
    CHECK_INT(st, LORE_OK);
    CHECK_INT(c.ntok, 1);
    CHECK_STR(c.out, t->term);
    return 0;
}

static void test_offsets(void) {
    /* Need a second analyzer: A is busy in the outer call. */
    text_analyzer *outer = NULL;
    CHECK_INT(text_analyzer_new(&outer), LORE_OK);
    if (!outer) return;
    const char *s = "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 \xEF\xAC\x81les Stra\xC3\x9F"
                    "e, "
                    "\xE6\x9D\xB1\xE4\xBA\xAC caf\xC3\xA9s (running) \xD0\x9C\xD0\x98\xD0\xA0";
    CHECK_INT(text_analyze(outer, s, strlen(s), offsets_fn, (void *)s), LORE_OK);
    text_analyzer_free(outer);
}

/* Random inputs from fragments that exercise every path: the invariants
 * must hold and the analysis must be deterministic. */
typedef struct inv {
    size_t len, n;
    uint32_t last_pos;
    unsigned long long sum;
    int bad;
} inv;

static int inv_fn(void *ctx, const text_token *t) {
    inv *v = ctx;
    if (t->term_len == 0 || t->term_len > TEXT_MAX_TERM || strlen(t->term) != t->term_len)
        v->bad = 1;
    if (t->start >= t->end || t->end > v->len) v->bad = 1;
    if (v->n && t->pos < v->last_pos) v->bad = 1;
    utf8proc_int32_t cp;
    for (size_t i = 0; i < t->term_len;) {
        utf8proc_ssize_t r = utf8proc_iterate((const uint8_t *)t->term + i,
                                              (utf8proc_ssize_t)(t->term_len - i), &cp);
        if (r <= 0) {
            v->bad = 1;
            break;
        }
        i += (size_t)r;
    }
    v->last_pos = t->pos;
    v->n++;
    for (size_t i = 0; i < t->term_len; i++)
        v->sum = v->sum * 31 + (uint8_t)t->term[i];
    v->sum = v->sum * 31 + t->pos * 7 + t->start * 3 + t->end + t->flags;
    return 0;
}

static void test_random(void) {
    static const char *frag[] = {"a",
                                 "Z",
                                 "_",
                                 ".",
                                 "-",
                                 "'",
                                 "://",
                                 "http",
                                 "@",
                                 " ",
                                 "9",
                                 "\xC3\xA9",
                                 "\xE6\x9D\xB1",
                                 "\xCC\x81",
                                 "\xFF",
                                 "\xC3",
                                 "\xEF\xBD\xB6",
                                 "\xEF\xBE\x9E",
                                 "\xE2\x80\x99",
                                 "s",
                                 "%2",
                                 "(",
                                 ")",
                                 "::",
                                 "\xE0\xA4\xBF",
                                 "\xC2\xAD",
                                 "the",
                                 "Http",
                                 "\xEF\xAC\x81",
                                 "/"};
    unsigned seed = (unsigned)time(NULL);
    printf("random seed %u\n", seed);
    srand(seed);
    char buf[4096];
    int bad = 0;
    for (int round = 0; round < 3000 && !bad; round++) {
        size_t n = 0;
        int parts = rand() % 60;
        for (int i = 0; i < parts; i++) {
            const char *f = frag[rand() % (int)(sizeof frag / sizeof *frag)];
            size_t fl = strlen(f);
            if (n + fl >= sizeof buf) break;
            memcpy(buf + n, f, fl);
            n += fl;
        }
        inv v1 = {.len = n}, v2 = {.len = n};
        CHECK_INT(text_analyze(A, buf, n, inv_fn, &v1), LORE_OK);
        CHECK_INT(text_analyze(A, buf, n, inv_fn, &v2), LORE_OK);
        if (v1.bad || v1.n != v2.n || v1.sum != v2.sum) {
            bad = 1;
            fprintf(stderr, "random round %d failed (seed %u)\n", round, seed);
        }
    }
    CHECK(!bad);
}

/* Big pathological inputs finish in linear time. */
static size_t count_tokens(const char *s, size_t n, double *secs, char *last, size_t lastcap) {
    collect c;
    memset(&c, 0, sizeof c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(text_analyze(A, s, n, collect_fn, &c), LORE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (last) snprintf(last, lastcap, "%s", c.out);
    return c.ntok;
}

static void fill(char *buf, size_t n, const char *pat) {
    size_t pl = strlen(pat);
    for (size_t i = 0; i < n; i++)
        buf[i] = pat[i % pl];
}

static void test_linear(void) {
    const size_t N = 1u << 20;
    char *buf = malloc(N + 1);
    if (!buf) return;
    char first[8192];
    double secs, total = 0;
    struct {
        const char *pat;
        size_t want; /* tokens */
    } cases[] = {
        {"a", 1},  /* one word, cut to 64 bytes */
        {"_", 0},  /* no parts: nothing */
        {"a_", 1}, /* whole only: every part is the stop word "a" */
        {"ab_", 1 + N / 3},
        {"aB", 1 + N / 2},           /* camel humps */
        {"a.", 1},                   /* whole; parts are stop words */
        {"1.", 1 + N / 2},           /* version-like number */
        {"a'", 1},                   /* apostrophes inside one word */
        {"\xC3\xA9", 1},             /* one long non-ASCII word */
        {"e\xCC\x81\xCC\x81", 1},    /* a flood of combining marks */
        {"\xE6\x9D\xB1", N / 3 - 1}, /* CJK bigrams */
        {"http://a/", N / 9},        /* URLs back to back: one URL; the later "http"s are parts */
        {"\xFF", 0},                 /* invalid bytes only */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fill(buf, N, cases[i].pat);
        size_t n = N - N % strlen(cases[i].pat);
        size_t got = count_tokens(buf, n, &secs, first, sizeof first);
        if (got != cases[i].want)
            fprintf(stderr, "pattern \"%s\": %zu tokens, want %zu\n", cases[i].pat, got,
                    cases[i].want);
        CHECK_INT(got, cases[i].want);
        CHECK(secs < 5.0);
        total += secs;
    }
    /* The single long words are cut at TEXT_MAX_TERM on a UTF-8 boundary. */
    fill(buf, N, "\xC3\xA9");
    count_tokens(buf, N, &secs, first, sizeof first);
    CHECK_INT(strlen(first), TEXT_MAX_TERM);
    fill(buf, N, "a");
    count_tokens(buf, N, &secs, first, sizeof first);
    CHECK_INT(strlen(first), TEXT_MAX_TERM);
    printf("linear-time inputs: %.3f s total\n", total);
    free(buf);
}

int main(void) {
    CHECK_INT(text_analyzer_new(&A), LORE_OK);
    if (!A) return test_summary();
    test_english();
    test_unicode();
    test_cjk();
    test_identifiers();
    test_invalid_utf8();
    test_truncation();
    test_long_whole();
    test_stopwords();
    test_early_stop();
    test_arguments();
    test_offsets();
    test_random();
    test_linear();
    text_analyzer_free(A);
    return test_summary();
}
