/* One embed() call of the OpenAI-compatible provider: batches, requests in
 * flight on a curl multi handle, classification of each answer, bounded
 * retries of 429 and 5xx with backoff and jitter honouring Retry-After.
 * See embed_oa_int.h. */
#include "embed/embed_oa_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chunk/chunk.h"
#include "embed/embed_int.h"
#include "util/log.h"
#include "util/timeutil.h"

static int64_t mono_ms(void) {
    return lore_mono_ns() / 1000000;
}

/* Sets err: kind, status, and "embedding provider P: <fmt>" with the key
 * redacted. */
__attribute__((format(printf, 5, 6))) static void
fail(const oa_call *c, embed_error *err, embed_error_kind kind, int status, const char *fmt, ...) {
    err->kind = kind;
    err->http_status = status;
    int o =
        snprintf(err->message, sizeof err->message, "embedding provider %.300s: ", c->r->provider);
    if (o < 0 || (size_t)o >= sizeof err->message) o = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + o, sizeof err->message - (size_t)o, fmt, ap);
    va_end(ap);
    embed_redact(err->message, sizeof err->message, c->r->api_key);
}

/* ---- request bodies ---- */

static lore_status batch_body(oa_call *c, oa_batch *b, const char *const *texts, const size_t *lens,
                              embed_error *err) {
    const embed_settings *s = c->r->s;
    json_t *root = json_object(), *input = json_array();
    int ok = root && input && !json_object_set_new(root, "model", json_string(c->r->model)) &&
             !json_object_set(root, "input", input) &&
             !json_object_set_new(root, "encoding_format", json_string("float"));
    if (ok && s->dimensions > 0)
        ok = !json_object_set_new(root, "dimensions", json_integer(s->dimensions));
    lore_status st = ok ? LORE_OK : LORE_NOMEM;
    for (size_t i = b->first; st == LORE_OK && i < b->first + b->count; i++) {
        size_t cut = embed_cut_length(texts[i], lens[i], (uint32_t)s->max_input_tokens);
        if (cut < lens[i]) c->usage.truncated++;
        c->usage.est_tokens += chunk_count_tokens(texts[i], cut);
        /* Providers refuse "" (OpenAI: 400); a space embeds as nothing much. */
        json_t *str = cut ? json_stringn(texts[i], cut) : json_string(" ");
        if (!str) {
            fail(c, err, EMBED_PERMANENT, 0, "input %zu is not valid UTF-8", i);
            st = LORE_INVALID;
        } else if (json_array_append_new(input, str)) {
            st = LORE_NOMEM;
        }
    }
    if (st == LORE_OK && !(b->body = json_dumps(root, JSON_COMPACT))) st = LORE_NOMEM;
    if (st == LORE_NOMEM) fail(c, err, EMBED_PERMANENT, 0, "out of memory");
    json_decref(input);
    json_decref(root);
    return st;
}

static size_t answer_cap(const embed_settings *s) {
    if (s->max_answer_bytes) return s->max_answer_bytes;
    size_t dims = s->dimensions > 0 ? (size_t)s->dimensions : 8192;
    size_t cap = (size_t)s->batch * dims * 28 + (1u << 20); /* "-0.012345678901234567," */
    return cap > ((size_t)1 << 30) ? (size_t)1 << 30 : cap;
}

lore_status oa_call_init(oa_call *c, const oa_request *r, const char *const *texts,
                         const size_t *lens, size_t n, uint32_t dims, embed_error *err) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->n = n;
    c->dims = dims;
    c->seed = (uint64_t)lore_mono_ns() ^ ((uint64_t)(uintptr_t)c << 16) ^ 0x9e3779b97f4a7c15u;
    int now_per = r->per_request ? atomic_load(r->per_request) : r->s->batch;
    size_t per = (size_t)(now_per >= 1 && now_per <= r->s->batch ? now_per : r->s->batch);
    c->nb = (n + per - 1) / per;
    c->b = calloc(c->nb, sizeof *c->b);
    if (!c->b || (dims && !(c->vectors = malloc(n * dims * sizeof(float))))) {
        fail(c, err, EMBED_PERMANENT, 0, "out of memory");
        return LORE_NOMEM;
    }
    for (size_t k = 0; k < c->nb; k++) {
        oa_batch *b = &c->b[k];
        b->first = k * per;
        b->count = n - b->first < per ? n - b->first : per;
        b->retry_after_ms = -1;
        lore_buf_init(&b->resp, answer_cap(r->s));
        lore_status st = batch_body(c, b, texts, lens, err);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}

void oa_call_free(oa_call *c) {
    for (size_t k = 0; c->b && k < c->nb; k++) {
        oa_batch *b = &c->b[k];
        if (b->h) {
            if (c->m) curl_multi_remove_handle(c->m, b->h);
            curl_easy_cleanup(b->h);
        }
        curl_slist_free_all(b->hdrs);
        free(b->body);
        lore_buf_free(&b->resp);
    }
    if (c->m) curl_multi_cleanup(c->m);
    free(c->b);
    free(c->vectors);
    memset(c, 0, sizeof *c);
}

/* ---- one request ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    size_t n = size * nmemb;
    return lore_buf_append(ud, p, n) == LORE_OK ? n : 0; /* 0 aborts the transfer */
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
    oa_batch *b = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && n < 200 && !strncasecmp(p, name, sizeof name - 1)) {
        char v[200];
        snprintf(v, sizeof v, "%.*s", (int)(n - (sizeof name - 1)), p + sizeof name - 1);
        v[strcspn(v, "\r\n")] = '\0';
        b->retry_after_ms = embed_parse_retry_after(v, lore_now_ms());
    }
    return n;
}

static lore_status start_batch(oa_call *c, oa_batch *b) {
    const embed_settings *s = c->r->s;
    lore_buf_reset(&b->resp);
    b->retry_after_ms = -1;
    b->ebuf[0] = '\0';
    if (!b->hdrs) {
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        if (h && c->r->auth_header) {
            struct curl_slist *h2 = curl_slist_append(h, c->r->auth_header);
            if (!h2) curl_slist_free_all(h);
            h = h2;
        }
        if (!h) return LORE_NOMEM;
        b->hdrs = h;
    }
    CURL *h = curl_easy_init();
    if (!h) return LORE_NOMEM;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, c->r->endpoint);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)s->timeout_s * 1000);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout_s < 10 ? s->timeout_s : 10) * 1000);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b->resp.cap);
    SET(CURLOPT_POSTFIELDS, b->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b->body));
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &b->resp);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, b);
    SET(CURLOPT_HTTPHEADER, b->hdrs);
    SET(CURLOPT_USERAGENT, "lore/" LORE_VERSION);
    SET(CURLOPT_ERRORBUFFER, b->ebuf);
    SET(CURLOPT_PRIVATE, (void *)b);
#undef SET
    if (rc != CURLE_OK || curl_multi_add_handle(c->m, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        return LORE_INTERNAL;
    }
    b->h = h;
    b->state = OA_RUNNING;
    b->attempts++;
    b->started_ms = mono_ms();
    c->usage.requests++;
    if (b->attempts > 1) c->usage.retries++;
    return LORE_OK;
}

/* Stores a 200 answer's vectors. */
static lore_status take_answer(oa_call *c, oa_batch *b, embed_error *err) {
    char why[300];
    uint32_t d = c->dims;
    float *vec = NULL;
    embed_answer_usage u = {0, 0};
    lore_status st = embed_parse_answer(b->resp.data ? b->resp.data : "", b->resp.len, b->count, &d,
                                        &vec, &u, why, sizeof why);
    if (st != LORE_OK) {
        fail(c, err, EMBED_PERMANENT, 200, "malformed answer: %s", why);
        return st;
    }
    if (!c->dims && !(c->vectors = malloc(c->n * d * sizeof(float)))) {
        free(vec);
        fail(c, err, EMBED_PERMANENT, 200, "out of memory");
        return LORE_NOMEM;
    }
    c->dims = d;
    memcpy(c->vectors + b->first * d, vec, b->count * d * sizeof(float));
    free(vec);
    c->usage.inputs += b->count;
    c->usage.prompt_tokens += u.prompt_tokens;
    c->usage.total_tokens += u.total_tokens;
    return LORE_OK;
}

static int retryable_curl(CURLcode rc) {
    switch (rc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_OUT_OF_MEMORY:
        return 0;
    default:
        return 1;
    }
}

/* The wait before the next attempt: exponential with jitter, at least the
 * provider's Retry-After. */
static int64_t backoff_ms(oa_call *c, const oa_batch *b) {
    int64_t base = c->r->s->backoff_ms;
    for (int i = 1; i < b->attempts && base < 3600000; i++)
        base *= 2;
    c->seed ^= c->seed << 13; /* xorshift64 */
    c->seed ^= c->seed >> 7;
    c->seed ^= c->seed << 17;
    int64_t wait = base / 2 + (int64_t)(c->seed % (uint64_t)(base / 2 + 1));
    return b->retry_after_ms > wait ? b->retry_after_ms : wait;
}

/* A request ran past embed_timeout_s: later calls send at most half as many
 * inputs per request (the job retries this call's inputs after its delay). */
static void shrink_requests(oa_call *c, const oa_batch *b) {
    c->timed_out = 1;
    if (!c->r->per_request) return;
    int want = b->count / 2 >= 1 ? (int)(b->count / 2) : 1;
    int cur = atomic_load(c->r->per_request);
    while (want < cur && !atomic_compare_exchange_weak(c->r->per_request, &cur, want)) {
    }
    if (want < cur)
        lore_log(LORE_LOG_WARN,
                 "embedding provider %s: a request of %zu inputs took longer than "
                 "embed_timeout_s (%lld s); sending at most %d per request from now on",
                 c->r->provider, b->count, (long long)c->r->s->timeout_s, want);
}

/* After a call: OA_GROW_AFTER calls in a row without a timeout double the
 * inputs per request again, up to embed_batch. */
static void settle_requests(oa_call *c) {
    if (!c->r->per_request) return;
    if (c->timed_out) {
        atomic_store(c->r->ok_streak, 0);
        return;
    }
    int cur = atomic_load(c->r->per_request);
    if (cur >= c->r->s->batch) return;
    if (atomic_fetch_add(c->r->ok_streak, 1) + 1 < OA_GROW_AFTER) return;
    atomic_store(c->r->ok_streak, 0);
    int grown = cur * 2 < c->r->s->batch ? cur * 2 : c->r->s->batch;
    atomic_compare_exchange_strong(c->r->per_request, &cur, grown);
}

/* A request ended: 1 = done, 0 = scheduled again, -1 = the call fails. */
static int finish_batch(oa_call *c, oa_batch *b, CURLcode rc, int64_t t0, embed_error *err) {
    long status = 0;
    curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(c->m, b->h);
    curl_easy_cleanup(b->h);
    b->h = NULL;
    int64_t now = mono_ms();
    err->attempts = b->attempts;
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
        fail(c, err, EMBED_PERMANENT, (int)status, "answer over %zu bytes", b->resp.cap);
        return -1;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) shrink_requests(c, b);
    if (rc != CURLE_OK) { /* not retried here: the caller waits longer */
        fail(c, err, retryable_curl(rc) ? EMBED_RETRYABLE : EMBED_PERMANENT, 0, "%s",
             b->ebuf[0] ? b->ebuf : curl_easy_strerror(rc));
        return -1;
    }
    if (status == 200) {
        c->latency_ms_sum += now - b->started_ms;
        c->ok_requests++;
        b->state = OA_DONE;
        return take_answer(c, b, err) == LORE_OK ? 1 : -1;
    }
    char said[220];
    embed_error_body(b->resp.data, b->resp.len, said, sizeof said);
    if (status != 429 && status != 408 && status < 500) {
        fail(c, err, EMBED_PERMANENT, (int)status, "HTTP %ld: %s", status, said);
        return -1;
    }
    int64_t wait = backoff_ms(c, b);
    err->retry_after_ms = b->retry_after_ms;
    if (b->attempts >= c->r->s->max_attempts || now + wait - t0 > c->r->s->max_retry_ms) {
        fail(c, err, EMBED_RETRYABLE, (int)status, "HTTP %ld after %d attempts: %s", status,
             b->attempts, said);
        err->retry_after_ms = b->retry_after_ms;
        return -1;
    }
    b->state = OA_WAITING;
    b->not_before_ms = now + wait;
    return 0;
}

/* Starts what may start; returns the ms until the next batch may. */
static int64_t start_ready(oa_call *c, int *running, embed_error *err, lore_status *st) {
    int64_t now = mono_ms(), next = 1000;
    for (size_t k = 0; k < c->nb && *st == LORE_OK; k++) {
        oa_batch *b = &c->b[k];
        if (b->state != OA_WAITING) continue;
        if (b->not_before_ms > now) {
            if (b->not_before_ms - now < next) next = b->not_before_ms - now;
            continue;
        }
        if (*running >= c->r->s->concurrency) continue;
        if ((*st = start_batch(c, b)) != LORE_OK)
            fail(c, err, EMBED_PERMANENT, 0, "cannot set up the request");
        else
            (*running)++;
    }
    return next;
}

lore_status oa_call_run(oa_call *c, embed_error *err) {
    if (!(c->m = curl_multi_init())) {
        fail(c, err, EMBED_PERMANENT, 0, "out of memory");
        return LORE_NOMEM;
    }
    int64_t t0 = mono_ms();
    size_t done = 0;
    int running = 0;
    lore_status st = LORE_OK;
    while (st == LORE_OK && done < c->nb) {
        int64_t next = start_ready(c, &running, err, &st);
        if (st != LORE_OK) break;
        int still = 0;
        curl_multi_perform(c->m, &still);
        CURLMsg *msg;
        int q;
        while (st == LORE_OK && (msg = curl_multi_info_read(c->m, &q))) {
            if (msg->msg != CURLMSG_DONE) continue;
            oa_batch *b = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&b);
            running--;
            int r = finish_batch(c, b, msg->data.result, t0, err);
            if (r > 0) done++;
            if (r < 0) st = err->kind == EMBED_RETRYABLE ? LORE_IO : LORE_CORRUPT;
        }
        if (st != LORE_OK || done == c->nb) break;
        int wait = running ? (int)(next < 100 ? next : 100) : (int)next;
        curl_multi_poll(c->m, NULL, 0, wait > 0 ? wait : 0, NULL);
    }
    if (st == LORE_OK) err->kind = EMBED_OK;
    settle_requests(c);
    return st;
}
