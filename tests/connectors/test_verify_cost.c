/* Every connector's verify() computes its HMAC over the body whatever the
 * signature headers look like (absent, of the wrong shape, of the wrong
 * length, not hex, wrong, right): exactly one HMAC each time. The gate
 * answers an unknown connector id after one decoy HMAC of the body, so a
 * known id with a missing signature must cost the same; before this, a
 * delivery without a signature to a known id skipped the HMAC, and with a
 * large body the answer's time told whether the id exists. Counted with
 * seal_hmac_count(), not timed, so the test holds on a loaded machine. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/github.h"
#include "connectors/linear.h"
#include "connectors/slack.h"
#include "crypto/seal.h"
#include "test.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define NOW 1772884800000LL

typedef struct hdrs {
    const char *names[4];
    const char *values[4];
} hdrs;

static const char *get_header(void *ctx, const char *name) {
    hdrs *h = ctx;
    for (int i = 0; i < 4 && h->names[i]; i++)
        if (!strcasecmp(h->names[i], name)) return h->values[i];
    return NULL;
}

static const char body[] = "{\"action\":\"opened\",\"x\":\"a body\"}";

static void hex(const uint8_t *b, char *out) {
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* One verify: its verdict, and that it cost exactly one HMAC. */
static connector_verdict run(const connector_ops *ops, hdrs *h) {
    connector_request r = {get_header, h, (const uint8_t *)body, sizeof body - 1, NOW};
    uint64_t before = seal_hmac_count();
    connector_verdict v = ops->verify(&r, (const uint8_t *)SECRET, strlen(SECRET));
    uint64_t spent = seal_hmac_count() - before;
    if (spent != 1) fprintf(stderr, "  %s: %llu HMACs\n", ops->kind, (unsigned long long)spent);
    CHECK_INT(spent, 1);
    return v;
}

static void test_github(void) {
    uint8_t mac[32];
    char good[80] = "sha256=";
    seal_hmac_sha256((const uint8_t *)SECRET, strlen(SECRET), (const uint8_t *)body,
                     sizeof body - 1, mac);
    hex(mac, good + 7);
    const char *sigs[] = {NULL,
                          "",
                          "sha1=abc",
                          "sha256=",
                          "sha256=zz",
                          "sha256="
                          "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                          "sha256="
                          "0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        hdrs h = {{"X-Hub-Signature-256"}, {sigs[i]}};
        CHECK_INT(run(&connector_github, &h), CONNECTOR_BAD_SIGNATURE);
    }
    hdrs h = {{"X-Hub-Signature-256"}, {good}};
    CHECK_INT(run(&connector_github, &h), CONNECTOR_OK);
}

static void test_linear(void) {
    uint8_t mac[32];
    char good[65];
    seal_hmac_sha256((const uint8_t *)SECRET, strlen(SECRET), (const uint8_t *)body,
                     sizeof body - 1, mac);
    hex(mac, good);
    const char *sigs[] = {NULL, "", "abc",
                          "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                          "0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        hdrs h = {{"Linear-Signature"}, {sigs[i]}};
        CHECK_INT(run(&connector_linear, &h), CONNECTOR_BAD_SIGNATURE);
    }
    hdrs h = {{"Linear-Signature"}, {good}};
    CHECK_INT(run(&connector_linear, &h), CONNECTOR_OK);
}

static void test_slack(void) {
    char ts[32], base[512], good[80] = "v0=";
    snprintf(ts, sizeof ts, "%lld", NOW / 1000);
    snprintf(base, sizeof base, "v0:%s:%s", ts, body);
    uint8_t mac[32];
    seal_hmac_sha256((const uint8_t *)SECRET, strlen(SECRET), (const uint8_t *)base, strlen(base),
                     mac);
    hex(mac, good + 3);
    const char *zero = "v0=0000000000000000000000000000000000000000000000000000000000000000";
    struct {
        const char *ts, *sig;
    } cases[] = {
        {NULL, NULL},
        {ts, NULL},
        {NULL, good},
        {"", good},
        {"12x4", good},
        {"1234567890123456", good},
        {ts, "v0="},
        {ts, "v1=00"},
        {ts, "v0=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},
        {ts, zero},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hdrs h = {{"X-Slack-Request-Timestamp", "X-Slack-Signature"}, {cases[i].ts, cases[i].sig}};
        CHECK_INT(run(&connector_slack, &h), CONNECTOR_BAD_SIGNATURE);
    }
    hdrs h = {{"X-Slack-Request-Timestamp", "X-Slack-Signature"}, {ts, good}};
    CHECK_INT(run(&connector_slack, &h), CONNECTOR_OK);
}

int main(void) {
    test_github();
    test_linear();
    test_slack();
    return test_summary();
}
