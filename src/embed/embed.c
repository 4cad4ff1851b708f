/* What every embedder shares: settings from the config, cutting long inputs,
 * Retry-After, the provider's host for messages. See embed.h. */
#include "embed/embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chunk/chunk.h"

void embed_settings_from_config(const lore_config *c, embed_settings *s) {
    memset(s, 0, sizeof *s);
    s->url = c->embed_url;
    s->model = c->embed_model;
    s->api_key = c->embed_api_key;
    s->dimensions = c->embed_dimensions;
    s->batch = c->embed_batch;
    s->concurrency = c->embed_concurrency;
    s->timeout_s = c->embed_timeout_s;
    s->max_input_tokens = c->embed_max_input_tokens;
}

int embed_configured(const lore_config *c) {
    return c->embed_url[0] != '\0';
}

lore_status embed_open_config(const lore_config *c, embedder **out, char *err, size_t errlen) {
    *out = NULL;
    if (!embed_configured(c)) return LORE_OK;
    embed_settings s;
    embed_settings_from_config(c, &s);
    return embed_openai_ops.open(&s, out, err, errlen);
}

const char *embed_error_kind_name(embed_error_kind k) {
    switch (k) {
    case EMBED_OK:
        return "ok";
    case EMBED_RETRYABLE:
        return "retryable";
    case EMBED_PERMANENT:
        return "permanent";
    }
    return "unknown";
}

/* ---- cutting long inputs ---- */

static int is_space(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int is_sentence_end(const char *t, size_t q) {
    char ch = t[q - 1];
    return ch == '.' || ch == '!' || ch == '?' || ch == '\n' || ch == ';';
}

size_t embed_cut_length(const char *text, size_t len, uint32_t max_tokens) {
    if (chunk_count_tokens(text, len) <= max_tokens) return len;
    /* The estimate grows with the prefix: the longest prefix that fits. */
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (chunk_count_tokens(text, mid) <= max_tokens)
            lo = mid;
        else
            hi = mid - 1;
    }
    size_t p = lo;
    while (p > 0 && ((unsigned char)text[p] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
        p--;
    /* A sentence end in the last quarter, followed by whitespace. */
    for (size_t q = p; q > p - p / 4 && q > 1; q--)
        if (is_space((unsigned char)text[q]) && is_sentence_end(text, q)) return q;
    /* Else the last word boundary in the second half. */
    for (size_t q = p; q > p / 2; q--)
        if (is_space((unsigned char)text[q])) return q;
    return p ? p : len; /* a giant first word with max_tokens >= 16 leaves p > 0 */
}

/* ---- Retry-After ---- */

int64_t embed_parse_retry_after(const char *value, int64_t now_ms) {
    if (!value) return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    const int64_t cap = 3600 * 1000;
    if (*value >= '0' && *value <= '9') {
        char *end;
        double secs = strtod(value, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end) return -1;
        return secs * 1000 > (double)cap ? cap : (int64_t)(secs * 1000);
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) return -1;
    int64_t at = (int64_t)timegm(&tm) * 1000, d = at - now_ms;
    return d < 0 ? 0 : d > cap ? cap : d;
}

/* ---- the provider's name ---- */

void embed_url_host(const char *url, char *out, size_t outlen) {
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n); /* drop user:password@ */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    snprintf(out, outlen, "%.*s", (int)n, h);
}
