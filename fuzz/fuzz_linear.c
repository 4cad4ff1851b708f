/* Fuzzes the Linear connector: the Linear-Signature header parser and
 * check, inspect() over any body, and apply + render of any JSON into a real
 * tenant (created once per process). The first byte picks what the rest is:
 *
 *   0  a signature header value, a newline, the body: verify with the header
 *      as given (never OK unless it is the body's true HMAC, which is then
 *      checked to verify too)
 *   1  a Linear-Delivery value, a newline, the body: inspect
 *   2  a body: inspect with a fixed delivery and a clock at its timestamp,
 *      then, whatever it says, apply it, render the touched objects and
 *      commit; applying it again leaves the object's document as it was
 *
 * Invariants: no crash, leak or sanitizer report; verdicts in range; a
 * queued delivery has a delivery id and one group naming an issue, project
 * or document; apply returns LORE_OK or LORE_INVALID with a message. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include "connectors/linear.h"
#include "fuzz_tenant.h"
#include "util/log.h"

#define SECRET "fuzz-secret"

static ingest_session *ing;
static connector_sink *sink;
static connector_instance inst = {
    .id = "con_00000000000000000000", .tenant = "f", .kind = "linear", .source = "linear"};

typedef struct hdrs {
    const char *sig, *delivery;
} hdrs;

static const char *get_header(void *ctx, const char *name) {
    hdrs *h = ctx;
    if (!strcasecmp(name, "Linear-Signature")) return h->sig;
    if (!strcasecmp(name, "Linear-Delivery")) return h->delivery;
    return NULL;
}

static void cleanup(void) {
    connector_sink_free(sink);
    ingest_session_free(ing);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    lore_log_set_level(LORE_LOG_OFF);
    fuzz_tenant_open("linear", "{\"id\":\"a\",\"title\":\"seed\",\"text\":\"seed\"}\n");
    ingest_options o;
    ingest_options_default(&o);
    if (ingest_session_new(fuzz_t.tc, &o, &ing) != LORE_OK ||
        connector_sink_new(ing, &inst, &sink) != LORE_OK)
        abort();
    ingest_set_source_acl(ing, "linear", NULL, 0);
    atexit(cleanup); /* before the tenant's (last in, first out) */
    return 0;
}

/* Splits data at the first newline into a NUL-terminated head and body. */
static void split(const uint8_t *data, size_t size, char **head, char **body, size_t *blen) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t h = nl ? (size_t)(nl - data) : 0;
    const uint8_t *b = nl ? nl + 1 : data;
    *blen = size - (size_t)(b - data);
    *head = malloc(h + 1);
    *body = malloc(*blen + 1);
    if (!*head || !*body) abort();
    memcpy(*head, data, h);
    (*head)[h] = 0;
    memcpy(*body, b, *blen);
    (*body)[*blen] = 0;
}

static void check_delivery(connector_verdict v, const connector_delivery *d) {
    if (v < CONNECTOR_OK || v > CONNECTOR_IGNORE || v == CONNECTOR_OK || v == CONNECTOR_ANSWER)
        abort();
    if (v != CONNECTOR_QUEUE) return;
    if (!d->delivery_id[0] || d->ngroups != 1) abort();
    const char *g = d->groups[0];
    if (strncmp(g, "issue/", 6) && strncmp(g, "project/", 8) && strncmp(g, "document/", 9)) abort();
    if (!linear_id_valid(strchr(g, '/') + 1)) abort();
}

static void run_verify(const char *sig, const char *body, size_t blen) {
    hdrs h = {*sig ? sig : NULL, "d"};
    connector_request r = {get_header, &h, (const uint8_t *)body, blen, 0};
    connector_verdict v = connector_linear.verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
    uint8_t mac[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)body, blen, mac, &n);
    char good[65];
    for (int i = 0; i < 32; i++)
        snprintf(good + 2 * i, 3, "%02x", mac[i]);
    if (v != CONNECTOR_BAD_SIGNATURE && (v != CONNECTOR_OK || strcasecmp(sig, good))) abort();
    h.sig = good;
    if (connector_linear.verify(&r, (const uint8_t *)SECRET, strlen(SECRET)) != CONNECTOR_OK)
        abort();
}

static void apply_once(const json_t *p) {
    char *error = NULL;
    lore_status st = connector_linear.apply(sink, "fuzz", p, &error);
    if (st != LORE_OK && (st != LORE_INVALID || !error)) abort();
    free(error);
    if (connector_sink_flush(sink, &connector_linear) != LORE_OK) abort();
    if (ingest_commit(ing) != LORE_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1 << 20) return 0;
    uint8_t mode = data[0] % 3;
    char *head, *body;
    size_t blen;
    if (mode == 2) {
        head = strdup("");
        body = malloc(size);
        if (!head || !body) abort();
        memcpy(body, data + 1, size - 1);
        body[size - 1] = 0;
        blen = size - 1;
    } else {
        split(data + 1, size - 1, &head, &body, &blen);
    }
    if (mode == 0) {
        run_verify(head, body, blen);
    } else {
        hdrs h = {NULL, mode == 1 ? head : "delivery-1"};
        connector_request r = {get_header, &h, (const uint8_t *)body, blen, 0};
        json_t *p = json_loadb(body, blen, 0, NULL);
        /* Mode 2: the clock at the body's own timestamp, so it is fresh. */
        if (mode == 2) r.now_ms = json_integer_value(json_object_get(p, "webhookTimestamp"));
        connector_delivery d;
        connector_verdict v = connector_linear.inspect(&r, &d);
        check_delivery(v, &d);
        free(d.answer);
        if (mode == 2 && p) {
            apply_once(p);
            /* A redelivery leaves the object's document as it was. */
            char id[STORE_DOC_ID_LEN + 1], before[65] = "";
            store_doc *doc = NULL;
            if (v == CONNECTOR_QUEUE) {
                store_doc_public_id("linear", d.groups[0], id);
                if (store_doc_get(fuzz_t.tenant, id, 0, &doc) == LORE_OK)
                    snprintf(before, sizeof before, "%s", doc->content_hash);
                store_doc_free(doc);
                doc = NULL;
            }
            apply_once(p);
            if (v == CONNECTOR_QUEUE) {
                if (store_doc_get(fuzz_t.tenant, id, 0, &doc) == LORE_OK) {
                    if (strcmp(before, doc->content_hash)) abort();
                } else if (*before) {
                    abort();
                }
                store_doc_free(doc);
            }
        }
        json_decref(p);
    }
    free(head);
    free(body);
    return 0;
}
