/* The OpenAI-compatible provider's call machinery (embed_oa_call.c), shared
 * by embed_openai.c: one embed() call as batches of requests on one curl
 * multi handle, with retries. Not part of the module's contract. */
#ifndef LORE_EMBED_OA_INT_H
#define LORE_EMBED_OA_INT_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "embed/embed.h"
#include "util/buf.h"

/* What a request needs from the embedder (all borrowed). */
typedef struct oa_request {
    const char *endpoint, *model;
    const char *auth_header; /* NULL = none */
    const char *api_key;     /* redacted from every message */
    const char *provider;    /* "host (model m)" */
    const embed_settings *s;
    /* Inputs per request now: embed_batch, halved after each request that
     * timed out (a provider too slow for a full batch within
     * embed_timeout_s would otherwise fail the same way forever), doubled
     * back after OA_GROW_AFTER calls in a row that had no timeout. Shared by
     * the embedder's calls. */
    _Atomic int *per_request;
    _Atomic int *ok_streak;
} oa_request;

#define OA_GROW_AFTER 16

typedef enum { OA_WAITING, OA_RUNNING, OA_DONE } oa_state;

typedef struct oa_batch {
    size_t first, count; /* inputs [first, first + count) */
    char *body;          /* the request's JSON */
    CURL *h;
    struct curl_slist *hdrs;
    lore_buf resp;
    oa_state state;
    int attempts;
    int64_t not_before_ms, started_ms;
    int64_t retry_after_ms; /* of the last answer, -1 = none */
    char ebuf[CURL_ERROR_SIZE];
} oa_batch;

typedef struct oa_call {
    const oa_request *r;
    size_t n, nb;
    oa_batch *b;
    uint32_t dims;  /* known, or learned from the first answer */
    float *vectors; /* n * dims once dims is known */
    embed_usage usage;
    int64_t latency_ms_sum;
    uint64_t ok_requests; /* answered 200 */
    uint64_t seed;        /* jitter */
    int timed_out;        /* a request of this call ran past embed_timeout_s */
    CURLM *m;
} oa_call;

/* Builds the batches' request bodies (inputs cut to max_input_tokens).
 * LORE_INVALID (permanent err) for an input that is not UTF-8. */
LORE_MUST_CHECK lore_status oa_call_init(oa_call *c, const oa_request *r, const char *const *texts,
                                         const size_t *lens, size_t n, uint32_t dims,
                                         embed_error *err);
/* Runs every batch to success or the first error that is not retried. */
LORE_MUST_CHECK lore_status oa_call_run(oa_call *c, embed_error *err);
void oa_call_free(oa_call *c);

#endif
