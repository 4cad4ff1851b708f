/* Embedders: turn texts into float32 vectors through a provider.
 *
 * An embedder is one table of functions (embedder_ops, versioned), one file
 * per protocol. Today there is one, the OpenAI-compatible protocol
 * (embed_openai.c), which covers OpenAI, Azure-style gateways, Ollama, vLLM,
 * Hugging Face TEI, llama.cpp's server and LM Studio.
 *
 * An embedder is opened from settings (embed_settings, filled from the
 * embed_* keys of lore_config by embed_settings_from_config) without
 * contacting the provider; the first embed() call does. Its identity is the
 * model key, "url|model|dimensions", so stored vectors are keyed by the model
 * that made them: a change of any of the three is a different key (and, for
 * the index layer, a new vector slot).
 *
 * Errors are classified so the caller knows whether to wait:
 *   - EMBED_RETRYABLE: the provider could not answer now (connection
 *     refused, timeout, 429, 5xx). The embedder already retried inside the
 *     call (bounded attempts and time, backoff with jitter honouring
 *     Retry-After); retry_after_ms is the provider's last Retry-After (-1
 *     when it gave none). The caller waits longer and tries again; a
 *     retryable error must never lose or dead-letter work.
 *   - EMBED_PERMANENT: asking again will not help (a 4xx other than 429, a
 *     malformed answer, a wrong dimension, a count mismatch, bad settings).
 * Every message names the provider (its URL host and the model) and never
 * contains the API key.
 *
 * Inputs longer than max_input_tokens (estimated as the chunker counts
 * tokens, chunk_count_tokens) are cut at a unit boundary (a sentence end,
 * else a word boundary, never inside a UTF-8 sequence), never rejected.
 *
 * Threads: embed() may be called from several threads at once on one
 * embedder; each call uses its own connections. health() is safe any time. */
#ifndef LORE_EMBED_EMBED_H
#define LORE_EMBED_EMBED_H

#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "util/status.h"

#define EMBEDDER_OPS_VERSION 1

#define EMBED_MESSAGE_MAX 512 /* bytes of an error message, NUL included */
#define EMBED_MODEL_KEY_MAX 1600
#define EMBED_MAX_DIMENSIONS 65536
#define EMBED_MAX_BATCH 2048     /* inputs in one request */
#define EMBED_MAX_CONCURRENCY 64 /* requests in flight for one call */

typedef enum embed_error_kind {
    EMBED_OK = 0,
    EMBED_RETRYABLE, /* wait and try again: the work is not lost */
    EMBED_PERMANENT, /* the same request will fail again */
} embed_error_kind;

typedef struct embed_error {
    embed_error_kind kind;
    int http_status;        /* the provider's last HTTP status, 0 when none */
    int64_t retry_after_ms; /* the provider's Retry-After, -1 when none */
    int attempts;           /* HTTP requests made for the failing batch */
    char message[EMBED_MESSAGE_MAX];
} embed_error;

typedef struct embed_settings {
    const char *url;          /* base URL; the request goes to {url}/embeddings */
    const char *model;        /* "model" of the request */
    const char *api_key;      /* sent as "Authorization: Bearer ..."; NULL or "" = none */
    int64_t dimensions;       /* "dimensions" of the request; 0 = the model's own */
    int64_t batch;            /* inputs per request */
    int64_t concurrency;      /* requests in flight for one call */
    int64_t timeout_s;        /* whole-request time limit (and connect) */
    int64_t max_input_tokens; /* inputs are cut to this many estimated tokens */
    /* Retries inside one call; 0 = the defaults (4 attempts, 60 s). */
    int64_t max_attempts;
    int64_t max_retry_ms;    /* total time the retries of one call may wait */
    int64_t backoff_ms;      /* first backoff (doubles, with jitter); 0 = 500 */
    size_t max_answer_bytes; /* cap on one answer's body; 0 = derived from batch and dims */
} embed_settings;

/* Usage of one call, added to (not reset by) embed(). */
typedef struct embed_usage {
    uint64_t requests;      /* HTTP requests made, retries included */
    uint64_t retries;       /* of which retries */
    uint64_t inputs;        /* texts embedded */
    uint64_t truncated;     /* texts cut to max_input_tokens */
    uint64_t prompt_tokens; /* as the provider reported (usage.*), else 0 */
    uint64_t total_tokens;
    uint64_t est_tokens; /* lore's own estimate of the tokens sent */
} embed_usage;

/* The embedder's state since it was opened, for /health and metrics. */
typedef struct embed_health {
    int ok;                 /* 1 when the last call succeeded or none was made */
    int64_t last_ok_ms;     /* wall clock of the last success, 0 = never */
    int64_t last_error_ms;  /* of the last failed call, 0 = never */
    embed_error last_error; /* kind EMBED_OK when none */
    uint64_t calls, failures, requests, retries, inputs, prompt_tokens;
    uint64_t latency_ms_sum; /* over successful requests */
    uint64_t ok_requests;    /* requests answered 200 (what latency_ms_sum sums over) */
} embed_health;

typedef struct embedder embedder;

typedef struct embedder_ops {
    int version;      /* EMBEDDER_OPS_VERSION */
    const char *name; /* "openai" */
    /* Opens an embedder; does not contact the provider. LORE_INVALID with
     * err naming the setting when the settings are unusable. */
    lore_status (*open)(const embed_settings *s, embedder **out, char *err, size_t errlen);
    void (*close)(embedder *e);
    /* Embeds texts[0..n) (lens[i] bytes each, UTF-8, need not be
     * NUL-terminated). On success *out is n * *dims floats, text i's vector
     * at out[i * dims], owned by the caller (free()); the vectors are as the
     * provider gave them (not normalized). On failure *out is NULL and err
     * says why. usage may be NULL. n = 0 succeeds with *out NULL. */
    lore_status (*embed)(embedder *e, const char *const *texts, const size_t *lens, size_t n,
                         float **out, uint32_t *dims, embed_usage *usage, embed_error *err);
    /* The vectors' length: the setting, or learned from the first answer
     * when the setting is 0 (0 until then). */
    uint32_t (*dimensions)(const embedder *e);
    /* "url|model|dimensions" (dimensions "native" when the setting is 0),
     * the URL without credentials, query or trailing slash. */
    const char *(*model_key)(const embedder *e);
    /* "host (model m)", the name error messages use. */
    const char *(*provider)(const embedder *e);
    void (*health)(const embedder *e, embed_health *out);
} embedder_ops;

/* Every embedder starts with this, so callers reach the table. */
struct embedder {
    const embedder_ops *ops;
};

/* The OpenAI-compatible provider (embed_openai.c). */
extern const embedder_ops embed_openai_ops;

/* Fills s from the embed_* keys of c (pointers into c). */
void embed_settings_from_config(const lore_config *c, embed_settings *s);
/* Whether c configures an embedder (embed_url set). */
int embed_configured(const lore_config *c);
/* Opens the configured embedder; *out is NULL (and LORE_OK) when none is
 * configured. */
LORE_MUST_CHECK lore_status embed_open_config(const lore_config *c, embedder **out, char *err,
                                              size_t errlen);

static inline void embed_close(embedder *e) {
    if (e) e->ops->close(e);
}

/* ---- helpers shared by providers (embed.c), exposed for the tests ---- */

/* Length of the prefix of text[0, len) that holds at most max_tokens
 * estimated tokens, ending at a sentence end when one is near the limit,
 * else at a word boundary, else at a UTF-8 boundary. len when it fits. */
size_t embed_cut_length(const char *text, size_t len, uint32_t max_tokens);

/* Parses an HTTP Retry-After value (delta seconds or an HTTP date) into
 * milliseconds from now_ms; -1 when absent or unparsable. Capped at 1 h. */
int64_t embed_parse_retry_after(const char *value, int64_t now_ms);

/* "host[:port]" of url (no credentials), into out. */
void embed_url_host(const char *url, char *out, size_t outlen);

const char *embed_error_kind_name(embed_error_kind k);

#endif
