/* The OpenAI-compatible embedder: POST {embed_url}/embeddings with
 * {"model", "input": [...], "dimensions"?, "encoding_format": "float"} on
 * libcurl. One call splits its inputs into batches of embed_batch, keeps up
 * to embed_concurrency requests in flight on one curl multi handle, retries
 * a batch that got 429 or 5xx with exponential backoff and jitter that
 * honours Retry-After (bounded in attempts and total wait), and fails the
 * whole call on the first error it cannot retry. See embed.h. */
#include "embed/embed.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "embed/embed_int.h"
#include "embed/embed_oa_int.h"
#include "util/timeutil.h"

typedef struct oa_embedder {
    embedder base;
    char *endpoint; /* {url}/embeddings */
    char *model;
    char *auth_header; /* "Authorization: Bearer KEY", NULL when no key */
    char *api_key;     /* for redaction */
    embed_settings s;  /* ints only; the strings above are our copies */
    _Atomic uint32_t dims;
    _Atomic int per_request; /* inputs per request now (embed_oa_int.h) */
    _Atomic int ok_streak;
    char provider[512];
    char key[EMBED_MODEL_KEY_MAX];
    pthread_mutex_t mu;
    embed_health h;
} oa_embedder;

/* {url}/embeddings, the path inserted before a query ("?api-version=..."). */
static char *endpoint_of(const char *url) {
    size_t n = strcspn(url, "?#");
    while (n > 0 && url[n - 1] == '/')
        n--;
    const char *q = url + strcspn(url, "?#");
    size_t len = n + sizeof "/embeddings" + strlen(q);
    char *e = malloc(len);
    if (e) snprintf(e, len, "%.*s/embeddings%s", (int)n, url, q);
    return e;
}

static void model_key_of(oa_embedder *e, const char *url) {
    const char *h = strstr(url, "://");
    size_t scheme = h ? (size_t)(h + 3 - url) : 0;
    char host[256];
    embed_url_host(url, host, sizeof host);
    const char *path = url + scheme + strcspn(url + scheme, "/?#");
    size_t pn = strcspn(path, "?#");
    while (pn > 0 && path[pn - 1] == '/')
        pn--;
    char dims[24];
    if (e->s.dimensions)
        snprintf(dims, sizeof dims, "%lld", (long long)e->s.dimensions);
    else
        snprintf(dims, sizeof dims, "native");
    snprintf(e->key, sizeof e->key, "%.*s%s%.*s|%.256s|%s", (int)scheme, url, host, (int)pn, path,
             e->model, dims);
}

static lore_status check_settings(const embed_settings *s, char *err, size_t errlen) {
    const char *bad = NULL;
    if (!s->url || (strncasecmp(s->url, "https://", 8) && strncasecmp(s->url, "http://", 7)))
        bad = "embed_url must start with https:// or http://";
    else if (strlen(s->url) > 1000)
        bad = "embed_url is longer than 1000 bytes";
    else if (!s->model || !*s->model)
        bad = "embed_model is empty: name the provider's model (e.g. text-embedding-3-small)";
    else if (strlen(s->model) > 255)
        bad = "embed_model is longer than 255 bytes";
    else if (s->dimensions < 0 || s->dimensions > EMBED_MAX_DIMENSIONS)
        bad = "embed_dimensions is outside 0..65536";
    else if (s->batch < 1 || s->batch > EMBED_MAX_BATCH)
        bad = "embed_batch is outside 1..2048";
    else if (s->concurrency < 1 || s->concurrency > EMBED_MAX_CONCURRENCY)
        bad = "embed_concurrency is outside 1..64";
    else if (s->timeout_s < 1 || s->max_input_tokens < 16)
        bad = "embed_timeout_s must be >= 1 and embed_max_input_tokens >= 16";
    else if (s->api_key && strpbrk(s->api_key, "\r\n"))
        bad = "embed_api_key holds a line break";
    if (bad) snprintf(err, errlen, "%s", bad);
    return bad ? LORE_INVALID : LORE_OK;
}

static void oa_close(embedder *base) {
    oa_embedder *e = (oa_embedder *)base;
    if (!e) return;
    free(e->endpoint);
    free(e->model);
    if (e->auth_header) memset(e->auth_header, 0, strlen(e->auth_header));
    if (e->api_key) memset(e->api_key, 0, strlen(e->api_key));
    free(e->auth_header);
    free(e->api_key);
    pthread_mutex_destroy(&e->mu);
    free(e);
    curl_global_cleanup();
}

static lore_status oa_open(const embed_settings *s, embedder **out, char *err, size_t errlen) {
    *out = NULL;
    lore_status st = check_settings(s, err, errlen);
    if (st != LORE_OK) return st;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl initialization failed");
        return LORE_INTERNAL;
    }
    oa_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    e->base.ops = &embed_openai_ops;
    pthread_mutex_init(&e->mu, NULL);
    e->s = *s;
    e->s.url = e->s.model = e->s.api_key = NULL;
    if (!e->s.max_attempts) e->s.max_attempts = 4;
    if (!e->s.max_retry_ms) e->s.max_retry_ms = 60000;
    if (!e->s.backoff_ms) e->s.backoff_ms = 500;
    e->endpoint = endpoint_of(s->url);
    e->model = strdup(s->model);
    int ok = e->endpoint && e->model;
    if (s->api_key && *s->api_key) {
        e->api_key = strdup(s->api_key);
        size_t n = strlen(s->api_key) + sizeof "Authorization: Bearer ";
        if ((e->auth_header = malloc(n)))
            snprintf(e->auth_header, n, "Authorization: Bearer %s", s->api_key);
        ok = ok && e->api_key && e->auth_header;
    }
    if (!ok) {
        oa_close(&e->base);
        snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    atomic_store(&e->dims, (uint32_t)s->dimensions);
    atomic_store(&e->per_request, s->batch);
    atomic_store(&e->ok_streak, 0);
    char host[256];
    embed_url_host(s->url, host, sizeof host);
    snprintf(e->provider, sizeof e->provider, "%.255s (model %.200s)", host, e->model);
    model_key_of(e, s->url);
    e->h.ok = 1;
    *out = &e->base;
    return LORE_OK;
}

static uint32_t oa_dimensions(const embedder *base) {
    return atomic_load(&((const oa_embedder *)base)->dims);
}

static const char *oa_model_key(const embedder *base) {
    return ((const oa_embedder *)base)->key;
}

static const char *oa_provider(const embedder *base) {
    return ((const oa_embedder *)base)->provider;
}

static void oa_health(const embedder *base, embed_health *out) {
    oa_embedder *e = (oa_embedder *)base;
    pthread_mutex_lock(&e->mu);
    *out = e->h;
    pthread_mutex_unlock(&e->mu);
}

/* ---- one call ---- */

/* Records the outcome of a call in the health and the caller's usage. */
static void account(oa_embedder *e, const oa_call *c, const embed_error *err, embed_usage *usage) {
    pthread_mutex_lock(&e->mu);
    e->h.calls++;
    e->h.requests += c->usage.requests;
    e->h.retries += c->usage.retries;
    e->h.latency_ms_sum += (uint64_t)c->latency_ms_sum;
    e->h.ok_requests += c->ok_requests;
    if (err->kind == EMBED_OK) {
        e->h.ok = 1;
        e->h.last_ok_ms = lore_now_ms();
        e->h.inputs += c->usage.inputs;
        e->h.prompt_tokens += c->usage.prompt_tokens;
    } else {
        e->h.ok = 0;
        e->h.failures++;
        e->h.last_error_ms = lore_now_ms();
        e->h.last_error = *err;
    }
    pthread_mutex_unlock(&e->mu);
    if (usage) {
        usage->requests += c->usage.requests;
        usage->retries += c->usage.retries;
        usage->truncated += c->usage.truncated;
        usage->est_tokens += c->usage.est_tokens;
        if (err->kind == EMBED_OK) {
            usage->inputs += c->usage.inputs;
            usage->prompt_tokens += c->usage.prompt_tokens;
            usage->total_tokens += c->usage.total_tokens;
        }
    }
}

static lore_status oa_embed(embedder *base, const char *const *texts, const size_t *lens, size_t n,
                            float **out, uint32_t *dims, embed_usage *usage, embed_error *err) {
    oa_embedder *e = (oa_embedder *)base;
    memset(err, 0, sizeof *err);
    err->retry_after_ms = -1;
    *out = NULL;
    *dims = atomic_load(&e->dims);
    if (n == 0) return LORE_OK;
    oa_call c;
    oa_request req = {e->endpoint, e->model, e->auth_header,  e->api_key,
                      e->provider, &e->s,    &e->per_request, &e->ok_streak};
    lore_status st = oa_call_init(&c, &req, texts, lens, n, atomic_load(&e->dims), err);
    if (st == LORE_OK) st = oa_call_run(&c, err);
    if (st == LORE_OK) {
        uint32_t want = 0;
        /* The first answer fixes the model's own dimension for good. */
        atomic_compare_exchange_strong(&e->dims, &want, c.dims);
        if (atomic_load(&e->dims) != c.dims) {
            err->kind = EMBED_PERMANENT;
            snprintf(
                err->message, sizeof err->message,
                "embedding provider %.300s: wrong dimension: answer has %u numbers per vector, "
                "earlier answers had %u",
                e->provider, c.dims, atomic_load(&e->dims));
            st = LORE_CORRUPT;
        }
    }
    account(e, &c, err, usage);
    if (st == LORE_OK) {
        *out = c.vectors;
        *dims = c.dims;
        c.vectors = NULL;
    }
    oa_call_free(&c);
    return st;
}

const embedder_ops embed_openai_ops = {
    .version = EMBEDDER_OPS_VERSION,
    .name = "openai",
    .open = oa_open,
    .close = oa_close,
    .embed = oa_embed,
    .dimensions = oa_dimensions,
    .model_key = oa_model_key,
    .provider = oa_provider,
    .health = oa_health,
};
