/* The RESP parser (RESP2 and the RESP3 types it tolerates, replies cut
 * anywhere, caps, garbage), command encoding, and redis:// URLs. No server:
 * tests/auth/test_ratelimit_redis.c talks to a real one. */
#include "test.h"

#include "redis/redis.h"
#include "redis/redis_int.h"

static redis_reply *parse_all(const char *s, lore_status *st) {
    size_t used = 0;
    redis_reply *r = NULL;
    *st = redis_parse(s, strlen(s), &used, &r);
    if (r && used != strlen(s)) {
        fprintf(stderr, "parse of %s used %zu bytes\n", s, used);
        test_failed++;
    }
    return r;
}

/* Every strict prefix of a complete reply is incomplete (OK, no reply). */
static void check_prefixes(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        size_t used = 7;
        redis_reply *r = (redis_reply *)1;
        lore_status st = redis_parse(s, i, &used, &r);
        if (st != LORE_OK || r || used) {
            fprintf(stderr, "prefix %zu of %s: status %d\n", i, s, (int)st);
            test_failed++;
            if (st == LORE_OK) redis_reply_free(r);
            return;
        }
    }
    test_passed++;
}

static void test_resp2(void) {
    lore_status st;
    redis_reply *r = parse_all("+OK\r\n", &st);
    CHECK(r && r->type == REDIS_STATUS && !strcmp(r->str, "OK"));
    redis_reply_free(r);
    r = parse_all("-ERR bad thing\r\n", &st);
    CHECK(r && r->type == REDIS_ERROR && !strcmp(r->str, "ERR bad thing"));
    redis_reply_free(r);
    r = parse_all(":-9223372036854775808\r\n", &st);
    CHECK(r && r->type == REDIS_INTEGER && r->integer == INT64_MIN);
    redis_reply_free(r);
    r = parse_all("$5\r\na\r\nb\0\r\n", &st); /* strlen stops at the NUL: incomplete */
    CHECK(st == LORE_OK && !r);
    size_t used = 0;
    static const char bin[] = "$5\r\na\r\nb\0\r\n";
    CHECK_INT(redis_parse(bin, sizeof bin - 1, &used, &r), LORE_OK);
    CHECK(r && r->type == REDIS_STRING && r->len == 5 && !memcmp(r->str, "a\r\nb\0", 5));
    CHECK_INT(used, sizeof bin - 1);
    redis_reply_free(r);
    r = parse_all("$-1\r\n", &st);
    CHECK(r && r->type == REDIS_NIL);
    redis_reply_free(r);
    r = parse_all("*3\r\n:1\r\n$3\r\nabc\r\n*1\r\n+x\r\n", &st);
    CHECK(r && r->type == REDIS_ARRAY && r->n == 3 && r->elem[0].integer == 1 &&
          !strcmp(r->elem[1].str, "abc") && r->elem[2].n == 1 &&
          r->elem[2].elem[0].type == REDIS_STATUS);
    redis_reply_free(r);
    r = parse_all("*0\r\n", &st);
    CHECK(r && r->type == REDIS_ARRAY && r->n == 0);
    redis_reply_free(r);
    r = parse_all("*-1\r\n", &st);
    CHECK(r && r->type == REDIS_NIL);
    redis_reply_free(r);
    /* two replies back to back: one at a time */
    static const char two[] = "+A\r\n+B\r\n";
    CHECK_INT(redis_parse(two, sizeof two - 1, &used, &r), LORE_OK);
    CHECK(r && used == 4 && !strcmp(r->str, "A"));
    redis_reply_free(r);
    check_prefixes("*3\r\n:1\r\n$3\r\nabc\r\n*1\r\n+x\r\n");
    check_prefixes("$10\r\n0123456789\r\n");
}

static void test_resp3(void) {
    lore_status st;
    redis_reply *r = parse_all("_\r\n", &st);
    CHECK(r && r->type == REDIS_NIL);
    redis_reply_free(r);
    r = parse_all("#t\r\n", &st);
    CHECK(r && r->type == REDIS_INTEGER && r->integer == 1);
    redis_reply_free(r);
    r = parse_all(",3.25\r\n", &st);
    CHECK(r && r->type == REDIS_STRING && !strcmp(r->str, "3.25"));
    redis_reply_free(r);
    r = parse_all("(3492890328409238509324850943850943825024385\r\n", &st);
    CHECK(r && r->type == REDIS_STRING && r->len == 43);
    redis_reply_free(r);
    r = parse_all("!21\r\nSYNTAX invalid syntax\r\n", &st);
    CHECK(r && r->type == REDIS_ERROR && !strcmp(r->str, "SYNTAX invalid syntax"));
    redis_reply_free(r);
    r = parse_all("=15\r\ntxt:Some string\r\n", &st);
    CHECK(r && r->type == REDIS_STRING && !strcmp(r->str, "Some string"));
    redis_reply_free(r);
    r = parse_all("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", &st);
    CHECK(r && r->type == REDIS_ARRAY && r->n == 4 && r->elem[3].integer == 2);
    redis_reply_free(r);
    r = parse_all("~2\r\n+a\r\n+b\r\n", &st);
    CHECK(r && r->type == REDIS_ARRAY && r->n == 2);
    redis_reply_free(r);
    r = parse_all("|1\r\n+ttl\r\n:3600\r\n:42\r\n", &st); /* attributes, then the value */
    CHECK(r && r->type == REDIS_INTEGER && r->integer == 42);
    redis_reply_free(r);
    check_prefixes("|1\r\n+ttl\r\n:3600\r\n%1\r\n+k\r\n=7\r\ntxt:abc\r\n");
}

static void expect_bad(const char *s, size_t n, lore_status want) {
    size_t used = 0;
    redis_reply *r = NULL;
    lore_status st = redis_parse(s, n, &used, &r);
    if (st != want || r) {
        fprintf(stderr, "expected status %d, got %d for %.40s\n", (int)want, (int)st, s);
        test_failed++;
        redis_reply_free(r);
        return;
    }
    test_passed++;
}

static void test_garbage_and_caps(void) {
    expect_bad("?what\r\n", 7, LORE_INVALID);
    expect_bad(":12a\r\n", 6, LORE_INVALID);
    expect_bad(":\r\n", 3, LORE_INVALID);
    expect_bad(":99999999999999999999\r\n", 23, LORE_INVALID); /* overflow */
    expect_bad(":9223372036854775808\r\n", 22, LORE_INVALID);
    expect_bad("+a\rb\r\n", 6, LORE_INVALID); /* bare CR */
    expect_bad("+a\nb\r\n", 6, LORE_INVALID); /* bare LF */
    expect_bad("$-2\r\n", 5, LORE_INVALID);
    expect_bad("$3\r\nabcd\r\n", 10, LORE_INVALID); /* wrong length */
    expect_bad("*-2\r\n", 5, LORE_INVALID);
    expect_bad("#x\r\n", 4, LORE_INVALID);
    expect_bad("=3\r\nabc\r\n", 9, LORE_INVALID); /* verbatim without a format */
    expect_bad("$?\r\n", 4, LORE_INVALID);        /* streamed strings: not spoken */
    char big[64];
    snprintf(big, sizeof big, "$%u\r\n", REDIS_MAX_BULK + 1);
    expect_bad(big, strlen(big), LORE_TOO_LARGE);
    snprintf(big, sizeof big, "*%u\r\n", REDIS_MAX_ELEMENTS + 1);
    expect_bad(big, strlen(big), LORE_TOO_LARGE);
    snprintf(big, sizeof big, "%%%u\r\n", REDIS_MAX_ELEMENTS / 2 + 1);
    expect_bad(big, strlen(big), LORE_TOO_LARGE);
    /* a huge count with no elements yet: incomplete, nothing allocated */
    size_t used;
    redis_reply *r = NULL;
    CHECK_INT(redis_parse("*1000\r\n", 7, &used, &r), LORE_OK);
    CHECK(!r);
    /* nesting past the cap */
    char deep[256] = "";
    for (unsigned i = 0; i <= REDIS_MAX_DEPTH; i++)
        strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    expect_bad(deep, strlen(deep), LORE_TOO_LARGE);
    /* attribute chains count as nesting too */
    deep[0] = '\0';
    for (unsigned i = 0; i <= REDIS_MAX_DEPTH + 1; i++)
        strcat(deep, "|0\r\n");
    strcat(deep, ":1\r\n");
    expect_bad(deep, strlen(deep), LORE_TOO_LARGE);
    /* a line past REDIS_MAX_LINE without CRLF: refused, not waited for */
    char *line = malloc(REDIS_MAX_LINE + 10);
    line[0] = '+';
    memset(line + 1, 'a', REDIS_MAX_LINE + 8);
    expect_bad(line, REDIS_MAX_LINE + 9, LORE_INVALID);
    free(line);
    /* total values past REDIS_MAX_NODES across arrays */
    size_t cap = 8 * 1024 * 1024, o = 0;
    char *many = malloc(cap);
    unsigned arrays = REDIS_MAX_NODES / REDIS_MAX_ELEMENTS + 1;
    o += (size_t)snprintf(many + o, cap - o, "*%u\r\n", arrays);
    for (unsigned a = 0; a < arrays; a++) {
        o += (size_t)snprintf(many + o, cap - o, "*%u\r\n", REDIS_MAX_ELEMENTS);
        for (unsigned i = 0; i < REDIS_MAX_ELEMENTS; i++)
            o += (size_t)snprintf(many + o, cap - o, ":%u\r\n", i);
    }
    expect_bad(many, o, LORE_TOO_LARGE);
    free(many);
}

static void test_encode(void) {
    const char *argv[] = {"SET", "k", "a\r\nb"};
    char *out = NULL;
    size_t n = 0;
    CHECK_INT(redis_encode(3, argv, NULL, &out, &n), LORE_OK);
    static const char want[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n";
    CHECK(n == sizeof want - 1 && !memcmp(out, want, n));
    free(out);
    CHECK_INT(redis_encode(0, argv, NULL, &out, &n), LORE_INVALID);
    size_t huge[] = {3, REDIS_MAX_COMMAND + 1};
    CHECK_INT(redis_encode(2, argv, huge, &out, &n), LORE_TOO_LARGE);
}

static void url_ok(const char *url, int tls, const char *host, unsigned port, const char *user,
                   const char *pass, int64_t db) {
    redis_target t;
    char err[256] = "";
    lore_status st = redis_url_parse(url, &t, err, sizeof err);
    if (st != LORE_OK) {
        fprintf(stderr, "%s: %s\n", url, err);
        test_failed++;
        return;
    }
    CHECK_INT(t.tls, tls);
    CHECK_STR(t.host, host);
    CHECK_INT(t.port, port);
    CHECK_STR(t.user, user);
    CHECK_STR(t.password, pass);
    CHECK_INT(t.db, db);
}

static void url_bad(const char *url, const char *says) {
    redis_target t;
    char err[256] = "";
    CHECK_INT(redis_url_parse(url, &t, err, sizeof err), LORE_INVALID);
    if (!strstr(err, says)) {
        fprintf(stderr, "%s: error \"%s\" does not say \"%s\"\n", url, err, says);
        test_failed++;
    }
}

static void test_urls(void) {
    url_ok("redis://localhost", 0, "localhost", 6379, "", "", 0);
    url_ok("redis://127.0.0.1:6380/3", 0, "127.0.0.1", 6380, "", "", 3);
    url_ok("rediss://:s3cret@cache.example.com:6380", 1, "cache.example.com", 6380, "", "s3cret",
           0);
    url_ok("redis://app:p%40ss%3Aw@[::1]:7000/0", 0, "::1", 7000, "app", "p@ss:w", 0);
    url_ok("redis://h/", 0, "h", 6379, "", "", 0);
    url_bad("http://h", "must start with redis://");
    url_bad("redis://pw@h", "redis://:PASSWORD@host");
    url_bad("redis://u:@h", "password after ':' is empty");
    url_bad("redis://h:0", "port must be");
    url_bad("redis://h:65536", "port must be");
    url_bad("redis://h:80x", "port must be");
    url_bad("redis://h/x", "database");
    url_bad("redis://h?db=1", "no query string");
    url_bad("redis://", "no host");
    url_bad("redis://[::1", "without ']'");
    url_bad("redis://:p%4@h", "percent-escape");
    url_bad("redis://:p%00@h", "percent-escape");
    redis_target t;
    char err[256], d[300];
    CHECK_INT(redis_url_parse("rediss://app:pw@[::1]:7000/2", &t, err, sizeof err), LORE_OK);
    redis_url_describe(&t, d, sizeof d);
    CHECK_STR(d, "rediss://app@[::1]:7000/2"); /* never the password */
}

int main(void) {
    test_resp2();
    test_resp3();
    test_garbage_and_caps();
    test_encode();
    test_urls();
    return test_summary();
}
