/* Fuzzes the GitHub connector end to end below the gate: the signature
 * header parser, inspect over arbitrary headers and bodies, and apply and
 * render on a real sink (a temporary store made once per process). The
 * first byte picks what the rest is:
 *
 *   0  X-Hub-Signature-256 value, a newline, the body: verify
 *   1  X-GitHub-Event, newline, X-GitHub-Delivery, newline, body: inspect
 *   2  event name, a newline, the payload JSON: apply, flush, commit
 *
 * Invariants: no crash, leak or sanitizer report; only the body's right
 * signature verifies; a queued delivery has
 * a delivery id and 1..CONNECTOR_MAX_GROUPS groups; an answer has a body;
 * apply fails only with LORE_INVALID and a message, and nothing it leaves
 * makes flush or commit fail. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/github.h"
#include "fuzz_tenant.h"
#include "util/log.h"

#define SECRET "fuzz secret"

static ingest_session *ing;
static connector_instance inst = {
    .id = "con_00000000000000000000", .tenant = "f", .kind = "github", .source = "github"};

static void cleanup(void) {
    ingest_session_free(ing);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    lore_log_set_level(LORE_LOG_OFF);
    fuzz_tenant_open("github", "{\"id\":\"a\",\"title\":\"seed\",\"text\":\"seed\"}\n");
    ingest_options o;
    ingest_options_default(&o);
    if (ingest_session_new(fuzz_t.tc, &o, &ing) != LORE_OK) abort();
    ingest_set_source_acl(ing, "github", NULL, 0);
    atexit(cleanup); /* before the tenant's (last in, first out) */
    return 0;
}

typedef struct hdrs {
    const char *event, *delivery, *sig;
} hdrs;

static const char *hdr(void *ctx, const char *name) {
    hdrs *h = ctx;
    if (!strcasecmp(name, "X-GitHub-Event")) return h->event;
    if (!strcasecmp(name, "X-GitHub-Delivery")) return h->delivery;
    if (!strcasecmp(name, "X-Hub-Signature-256")) return h->sig;
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

static void run_verify(const uint8_t *p, const uint8_t *end) {
    char *sig = line(&p, end), *body = copy(p, end);
    hdrs h = {"issues", "x", sig};
    connector_request r = {hdr, &h, (const uint8_t *)body, (size_t)(end - p), 0};
    unsigned char mac[32];
    unsigned int n = 0;
    char good[72] = "sha256=";
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, r.body_len, mac,
         &n);
    for (int i = 0; i < 32; i++)
        snprintf(good + 7 + 2 * i, 3, "%02x", mac[i]);
    /* Only the right signature (hex in either case) verifies. */
    int right = !strncmp(sig, "sha256=", 7) && !strcasecmp(sig + 7, good + 7);
    connector_verdict v = connector_github.verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
    if (v != (right ? CONNECTOR_OK : CONNECTOR_BAD_SIGNATURE)) abort();
    h.sig = good;
    if (connector_github.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)) != CONNECTOR_OK)
        abort();
    free(sig);
    free(body);
}

static void run_inspect(const uint8_t *p, const uint8_t *end) {
    char *event = line(&p, end), *delivery = line(&p, end), *body = copy(p, end);
    hdrs h = {*event ? event : NULL, *delivery ? delivery : NULL, NULL};
    connector_request r = {hdr, &h, (const uint8_t *)body, (size_t)(end - p), 0};
    connector_delivery d;
    connector_verdict v = connector_github.inspect(&r, &d);
    if (v == CONNECTOR_QUEUE) {
        if (!d.delivery_id[0] || !d.ngroups || d.ngroups > CONNECTOR_MAX_GROUPS) abort();
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
    free(event);
    free(delivery);
    free(body);
}

static void run_apply(const uint8_t *p, const uint8_t *end) {
    char *event = line(&p, end);
    json_error_t jerr;
    json_t *payload = json_loadb((const char *)p, (size_t)(end - p), 0, &jerr);
    if (payload) {
        connector_sink *sink = NULL;
        if (connector_sink_new(ing, &inst, &sink) != LORE_OK) abort();
        char *error = NULL;
        lore_status rs = connector_github.apply(sink, event, payload, &error);
        if (rs != LORE_OK && (rs != LORE_INVALID || !error)) abort();
        if (rs == LORE_OK && error) abort();
        free(error);
        if (connector_sink_flush(sink, &connector_github) != LORE_OK) abort();
        connector_sink_free(sink);
        if (ingest_commit(ing) != LORE_OK) abort();
        json_decref(payload);
    }
    free(event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 256 * 1024) return 0;
    const uint8_t *p = data + 1, *end = data + size;
    switch (data[0] % 3) {
    case 0:
        run_verify(p, end);
        break;
    case 1:
        run_inspect(p, end);
        break;
    default:
        run_apply(p, end);
        break;
    }
    return 0;
}
