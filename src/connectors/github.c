/* The GitHub connector: what a delivery is (verify, inspect). What it does
 * to the documents is github_docs.c.
 *
 * GitHub signs the raw body with the webhook's secret: X-Hub-Signature-256
 * is "sha256=" and the lower-case hex HMAC-SHA256. It signs no timestamp, so
 * there is no replay window; the gate's dedup by X-GitHub-Delivery (a GUID a
 * redelivery keeps) is what stops a replay.
 *
 * FIFO groups. A delivery about an issue, pull request, discussion or
 * release lists two groups: the object ("owner/repo#12") and its repository
 * ("owner/repo"). A `repository` delivery (deleted, privatized, publicized)
 * changes every object of the repository and lists only the repository.
 * Since a job waits for every earlier pending job sharing a group with it,
 * a repository event never overtakes an object delivery queued before it,
 * and no object delivery queued after it runs first. The price: one
 * repository's deliveries run one at a time (different repositories still
 * run side by side), which is GitHub's own pace for one repository anyway. */
#include "connectors/github.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/seal.h"
#include "crypto/sha256.h"
#include "util/jsonscan.h"

#define SIG_PREFIX "sha256="
#define SIG_HEX 64
/* Nesting GitHub's payloads never come near (they reach about 6 levels). */
#define GITHUB_MAX_DEPTH 64

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static connector_verdict github_verify(const connector_request *req, const uint8_t *secret,
                                       size_t secret_len) {
    /* The HMAC first, whatever the header: a delivery without a signature
     * then costs what a wrong one (or one to an unknown connector) does,
     * so the answer's time does not tell whether the connector exists. */
    uint8_t want[32];
    seal_hmac_sha256(secret, secret_len, req->body, req->body_len, want);
    const char *h = req->header(req->header_ctx, "X-Hub-Signature-256");
    int bad = !h || strncmp(h, SIG_PREFIX, strlen(SIG_PREFIX)) ||
              strlen(h + strlen(SIG_PREFIX)) != SIG_HEX;
    /* The header's bytes, decoded; a bad digit spoils the comparison
     * without leaving early (the signature's length is public, its content
     * is what a timing must not tell). */
    uint8_t given[32] = {0};
    if (!bad) {
        h += strlen(SIG_PREFIX);
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval((unsigned char)h[2 * i]), lo = hexval((unsigned char)h[2 * i + 1]);
            bad |= (hi < 0) | (lo < 0);
            given[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15));
        }
    }
    int same = seal_equal(given, want, 32);
    return same && !bad ? CONNECTOR_OK : CONNECTOR_BAD_SIGNATURE;
}

/* ---- naming the object ---- */

static int name_char(int c) {
    return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* "owner/name" as GitHub spells repository names. */
static int repo_name_ok(const char *s) {
    size_t n = strlen(s), slash = 0, at = 0;
    if (!n || n > GITHUB_REPO_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/') {
            slash++;
            at = i;
        } else if (!name_char((unsigned char)s[i])) {
            return 0;
        }
    }
    return slash == 1 && at > 0 && at + 1 < n;
}

/* A positive integer member of obj[name]. */
static long long positive(const json_t *obj, const char *name) {
    const json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v) || json_integer_value(v) <= 0) return -1;
    return json_integer_value(v);
}

static const char *const object_events[] = {
    "issues",     "issue_comment",      "pull_request", "pull_request_review_comment",
    "discussion", "discussion_comment", "release",      "repository",
};

int github_object_key(const char *event, const json_t *payload, char *key, char *repo, char *why,
                      size_t whylen) {
    size_t e = 0, nev = sizeof object_events / sizeof *object_events;
    while (e < nev && strcmp(object_events[e], event))
        e++;
    if (e == nev) return 0;
    const json_t *r = json_object_get(payload, "repository");
    const char *full = json_string_value(json_object_get(r, "full_name"));
    if (!full || !repo_name_ok(full)) {
        snprintf(why, whylen, "a %s event without repository.full_name as owner/name", event);
        return -1;
    }
    snprintf(repo, GITHUB_REPO_MAX + 1, "%s", full);
    const char *holder = NULL, *field = "number", *sep = "#";
    if (!strcmp(event, "issues") || !strcmp(event, "issue_comment")) {
        holder = "issue";
    } else if (!strcmp(event, "pull_request") || !strcmp(event, "pull_request_review_comment")) {
        holder = "pull_request";
    } else if (!strcmp(event, "discussion") || !strcmp(event, "discussion_comment")) {
        holder = "discussion";
        sep = "/discussions/";
    } else if (!strcmp(event, "release")) {
        holder = "release";
        field = "id";
        sep = "/releases/";
    } else { /* repository: only what changes its documents */
        const char *action = json_string_value(json_object_get(payload, "action"));
        if (!action || (strcmp(action, "deleted") && strcmp(action, "privatized") &&
                        strcmp(action, "publicized")))
            return 0;
        snprintf(key, CONNECTOR_STATE_KEY_MAX + 1, "%s", full);
        return 1;
    }
    long long n = positive(json_object_get(payload, holder), field);
    if (n < 0) {
        snprintf(why, whylen, "a %s event without %s.%s", event, holder, field);
        return -1;
    }
    if (strstr(event, "_comment") && positive(json_object_get(payload, "comment"), "id") < 0) {
        snprintf(why, whylen, "a %s event without comment.id", event);
        return -1;
    }
    snprintf(key, CONNECTOR_STATE_KEY_MAX + 1, "%s%s%lld", full, sep, n);
    return 1;
}

/* A FIFO group: the key itself, or a digest of it when it passes the
 * queue's group size (a 160-byte repository name with a suffix). */
static void set_group(char *out, const char *key) {
    if (strlen(key) <= STORE_JOB_GROUP_MAX) {
        snprintf(out, STORE_JOB_GROUP_MAX + 1, "%s", key);
        return;
    }
    uint8_t d[32];
    char hex[65];
    lore_sha256(key, strlen(key), d);
    lore_hex(d, 32, hex);
    snprintf(out, STORE_JOB_GROUP_MAX + 1, "github:%s", hex);
}

static int header_token_ok(const char *s, size_t max) {
    size_t n = strlen(s);
    if (!n || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

static connector_verdict malformed(connector_delivery *out, const char *why) {
    snprintf(out->why, sizeof out->why, "%s", why);
    return CONNECTOR_MALFORMED;
}

static int form_encoded(const connector_request *req) {
    const char *ct = req->header(req->header_ctx, "Content-Type");
    if (ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33)) return 1;
    return req->body_len >= 8 && !memcmp(req->body, "payload=", 8);
}

static connector_verdict github_inspect(const connector_request *req, connector_delivery *out) {
    memset(out, 0, sizeof *out);
    const char *event = req->header(req->header_ctx, "X-GitHub-Event");
    const char *delivery = req->header(req->header_ctx, "X-GitHub-Delivery");
    if (!event || !header_token_ok(event, CONNECTOR_EVENT_MAX))
        return malformed(out, "no X-GitHub-Event header (or not an event name)");
    if (!delivery || !header_token_ok(delivery, CONNECTOR_DELIVERY_MAX))
        return malformed(out, "no X-GitHub-Delivery header (or not a delivery id)");
    snprintf(out->event, sizeof out->event, "%s", event);
    snprintf(out->delivery_id, sizeof out->delivery_id, "%s", delivery);
    if (form_encoded(req))
        return malformed(out, "the body is form-encoded: set the webhook's content type to "
                              "application/json");
    if (lore_json_depth_exceeds((const char *)req->body, req->body_len, GITHUB_MAX_DEPTH))
        return malformed(out, "the body nests deeper than a GitHub payload does");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        char why[sizeof out->why];
        snprintf(why, sizeof why, "the body is not a JSON object (%.100s)",
                 root ? "another JSON value" : jerr.text);
        return malformed(out, why);
    }
    connector_verdict v;
    if (!strcmp(event, "ping")) {
        out->answer = strdup("{\"ok\":true}");
        out->answer_type = "application/json";
        v = out->answer ? CONNECTOR_ANSWER : CONNECTOR_IGNORE;
    } else {
        char key[CONNECTOR_STATE_KEY_MAX + 1], repo[GITHUB_REPO_MAX + 1];
        int known = github_object_key(event, root, key, repo, out->why, sizeof out->why);
        if (known < 0) {
            v = CONNECTOR_MALFORMED;
        } else if (!known) {
            v = CONNECTOR_IGNORE;
        } else {
            set_group(out->groups[out->ngroups++], key);
            if (strcmp(key, repo)) set_group(out->groups[out->ngroups++], repo);
            v = CONNECTOR_QUEUE;
        }
    }
    json_decref(root);
    return v;
}

const connector_ops connector_github = {
    .version = CONNECTOR_OPS_VERSION,
    .kind = "github",
    .title = "GitHub",
    .verify = github_verify,
    .inspect = github_inspect,
    .apply = github_apply,
    .render = github_render,
};
