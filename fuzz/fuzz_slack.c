/* Fuzzes the Slack connector below the gate: the signature header parsers,
 * inspect over arbitrary bodies, and apply and render on a real sink (a
 * temporary store made once per process), plus the export entry point
 * slack_put_message. The first byte picks what the rest is:
 *
 *   0  X-Slack-Request-Timestamp, a newline, X-Slack-Signature, a newline,
 *      the body: verify (the clock is the timestamp's, plus the second
 *      byte's value minus 128 in seconds, when it is a number)
 *   1  the body: inspect
 *   2  the payload JSON: apply, flush, commit
 *   3  a channel id, a newline, a message JSON: slack_put_message, flush,
 *      commit
 *
 * Invariants: no crash, leak or sanitizer report; only the body's right
 * signature verifies, STALE exactly when its timestamp is more than five
 * minutes off; a queued delivery has a delivery id and 1..MAX groups; an
 * answer has a body; apply fails only with LORE_INVALID and a message, and
 * nothing it leaves makes flush or commit fail. */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/slack.h"
#include "fuzz_tenant.h"
#include "util/log.h"

#define SECRET "fuzz secret"

static ingest_session *ing;
static connector_instance inst = {
    .id = "con_00000000000000000000", .tenant = "f", .kind = "slack", .source = "slack"};

static void cleanup(void) {
    ingest_session_free(ing);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    lore_log_set_level(LORE_LOG_OFF);
    fuzz_tenant_open("slack", "{\"id\":\"a\",\"title\":\"seed\",\"text\":\"seed\"}\n");
    ingest_options o;
    ingest_options_default(&o);
    if (ingest_session_new(fuzz_t.tc, &o, &ing) != LORE_OK) abort();
    ingest_set_source_acl(ing, "slack", NULL, 0);
    atexit(cleanup); /* before the tenant's (last in, first out) */
    return 0;
}

typedef struct hdrs {
    const char *ts, *sig;
} hdrs;

static const char *hdr(void *ctx, const char *name) {
    hdrs *h = ctx;
    if (!strcasecmp(name, "X-Slack-Request-Timestamp")) return h->ts;
    if (!strcasecmp(name, "X-Slack-Signature")) return h->sig;
    return NULL;
}

/* Splits off the first line of [*p, end) as a NUL-terminated copy. */
static char *line(const uint8_t **p, const uint8_t *end) {
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, *p, n);
    s[n] = 0;
    *p += n + (nl ? 1 : 0);
    return s;
}

static char *copy(const uint8_t *p, const uint8_t *end) {
    size_t n = (size_t)(end - p);
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void run_verify(uint8_t skew, const uint8_t *p, const uint8_t *end) {
    char *ts = line(&p, end), *sig = line(&p, end), *body = copy(p, end);
    size_t blen = (size_t)(end - p), tlen = strlen(ts);
    int ts_ok = tlen >= 1 && tlen <= 15;
    long long secs = 0;
    for (size_t i = 0; ts_ok && i < tlen; i++) {
        if (!isdigit((unsigned char)ts[i])) ts_ok = 0;
        secs = secs * 10 + (ts[i] - '0');
    }
    int64_t now = ts_ok ? (secs + (int)skew - 128) * 1000 : 0;
    hdrs h = {*ts ? ts : NULL, *sig ? sig : NULL};
    connector_request r = {hdr, &h, (const uint8_t *)body, blen, now};
    /* the right signature, computed here independently */
    size_t n = tlen + blen + 8;
    char *base = malloc(n);
    if (!base) abort();
    int k = snprintf(base, n, "v0:%s:", ts);
    memcpy(base + k, body, blen);
    unsigned char mac[32];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)base, (size_t)k + blen,
         mac, &mlen);
    free(base);
    char good[72] = "v0=";
    for (int i = 0; i < 32; i++)
        snprintf(good + 3 + 2 * i, 3, "%02x", mac[i]);
    /* the clock is within 128 s of the timestamp: never stale */
    int right = ts_ok && !strncmp(sig, "v0=", 3) && !strcasecmp(sig + 3, good + 3);
    connector_verdict v = connector_slack.verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
    if (v != (right ? CONNECTOR_OK : CONNECTOR_BAD_SIGNATURE)) abort();
    if (ts_ok) {
        h.sig = good;
        if (connector_slack.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)) != CONNECTOR_OK)
            abort();
        r.now_ms = secs * 1000 + 301000 + (int64_t)skew * 1000;
        if (connector_slack.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)) != CONNECTOR_STALE)
            abort();
        r.now_ms = secs * 1000 - 301000 - (int64_t)skew * 1000;
        if (connector_slack.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)) != CONNECTOR_STALE)
            abort();
    }
    free(ts);
    free(sig);
    free(body);
}

static void run_inspect(const uint8_t *p, const uint8_t *end) {
    char *body = copy(p, end);
    hdrs h = {NULL, NULL};
    connector_request r = {hdr, &h, (const uint8_t *)body, (size_t)(end - p), 0};
    connector_delivery d;
    connector_verdict v = connector_slack.inspect(&r, &d);
    if (v == CONNECTOR_QUEUE) {
        if (!d.delivery_id[0] || !d.event[0] || !d.ngroups || d.ngroups > CONNECTOR_MAX_GROUPS)
            abort();
        for (size_t i = 0; i < d.ngroups; i++)
            if (!d.groups[i][0] || strlen(d.groups[i]) > STORE_JOB_GROUP_MAX) abort();
    } else if (v == CONNECTOR_ANSWER) {
        if (!d.answer || !d.answer_type) abort();
    } else if (v == CONNECTOR_MALFORMED) {
        if (!d.why[0]) abort();
    } else if (v != CONNECTOR_IGNORE) {
        abort();
    }
    free(d.answer);
    free(body);
}

static void finish(connector_sink *sink, lore_status rs, char *error) {
    if (rs != LORE_OK && (rs != LORE_INVALID || !error)) abort();
    if (rs == LORE_OK && error) abort();
    free(error);
    if (connector_sink_flush(sink, &connector_slack) != LORE_OK) abort();
    connector_sink_free(sink);
    if (ingest_commit(ing) != LORE_OK) abort();
}

static void run_apply(const uint8_t *p, const uint8_t *end, int export) {
    char *channel = export ? line(&p, end) : NULL;
    json_error_t jerr;
    json_t *payload = json_loadb((const char *)p, (size_t)(end - p), 0, &jerr);
    if (payload) {
        connector_sink *sink = NULL;
        if (connector_sink_new(ing, &inst, &sink) != LORE_OK) abort();
        char *error = NULL;
        lore_status rs = export ? slack_put_message(sink, channel, payload, &error)
                                : connector_slack.apply(sink, "message", payload, &error);
        finish(sink, rs, error);
        json_decref(payload);
    }
    free(channel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 256 * 1024) return 0;
    const uint8_t *p = data + 2, *end = data + size;
    switch (data[0] % 4) {
    case 0:
        run_verify(data[1], p, end);
        break;
    case 1:
        run_inspect(p, end);
        break;
    case 2:
        run_apply(p, end, 0);
        break;
    default:
        run_apply(p, end, 1);
        break;
    }
    return 0;
}
