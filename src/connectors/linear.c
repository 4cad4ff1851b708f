/* The Linear connector's gate side: the signature and what a delivery is.
 *
 * Linear signs each webhook POST with the webhook's signing secret:
 * Linear-Signature is the lower-case hex HMAC-SHA256 of the raw body. The
 * body carries its own send time, webhookTimestamp (Unix ms), so the replay
 * window is checked by inspect() once the body is parsed (a retry is sent
 * again with a fresh timestamp; Linear-Delivery stays, and is the dedup
 * key). A body is
 *
 *   {"action": "create" | "update" | "remove", "type": "Issue" | "Comment" |
 *    "Project" | "Document" | ..., "data": {"id": ..., ...},
 *    "updatedFrom": {...}, "url": ..., "createdAt": ..., "actor": {...},
 *    "organizationId": ..., "webhookTimestamp": 1676056940508,
 *    "webhookId": ...}
 *
 * Issues, comments on issues, projects and documents are queued, grouped
 * on the object they change (a comment on its issue); every other type
 * (labels, cycles, reactions, project updates, comments on documents) is
 * valid and ignored. */
#include "connectors/linear.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/seal.h"
#include "util/jsonscan.h"

#define SIG_HEX 64
#define MAX_DEPTH 64 /* Linear's payloads nest a few levels */

int linear_id_valid(const char *id) {
    size_t n = 0;
    for (; id[n]; n++)
        if (n >= 100 || !(isalnum((unsigned char)id[n]) || id[n] == '-' || id[n] == '_')) return 0;
    return n > 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static connector_verdict linear_verify(const connector_request *req, const uint8_t *secret,
                                       size_t secret_len) {
    if (!secret || !secret_len || secret_len > CONNECTOR_SECRET_MAX) return CONNECTOR_BAD_SIGNATURE;
    /* The HMAC first, whatever the header: a delivery without a signature
     * costs what a wrong one (or one to an unknown connector) does. */
    uint8_t want[32];
    seal_hmac_sha256(secret, secret_len, req->body, req->body_len, want);
    const char *sig = req->header(req->header_ctx, "Linear-Signature");
    /* Exactly 64 hex digits; the decode runs over the whole string either
     * way, the compare takes the same time wherever the digests differ. */
    int bad = !sig || strlen(sig) != SIG_HEX;
    uint8_t given[32] = {0};
    for (size_t i = 0; !bad && i < 32; i++) {
        int hi = hexval(sig[2 * i]), lo = hexval(sig[2 * i + 1]);
        bad |= (hi < 0) | (lo < 0);
        given[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15));
    }
    int same = CRYPTO_memcmp(given, want, 32) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return same && !bad ? CONNECTOR_OK : CONNECTOR_BAD_SIGNATURE;
}

static connector_verdict malformed(connector_delivery *out, const char *why) {
    snprintf(out->why, sizeof out->why, "%s", why);
    return CONNECTOR_MALFORMED;
}

/* The delivery id as Linear sends it: a UUID; anything printable without
 * spaces or quotes up to the cap is accepted. */
static int delivery_valid(const char *d) {
    size_t n = strlen(d);
    if (!n || n > CONNECTOR_DELIVERY_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] <= ' ' || d[i] > '~' || d[i] == '"' || d[i] == '\\') return 0;
    return 1;
}

/* The handled type's group prefix, NULL for types lore does not index. */
static const char *type_prefix(const char *type) {
    if (!strcmp(type, "Issue")) return "issue/";
    if (!strcmp(type, "Comment")) return "issue/"; /* a comment joins its issue */
    if (!strcmp(type, "Project")) return "project/";
    if (!strcmp(type, "Document")) return "document/";
    return NULL;
}

static connector_verdict read_body(const connector_request *req, json_t *root,
                                   connector_delivery *out) {
    json_t *jts = json_object_get(root, "webhookTimestamp");
    const char *type = json_string_value(json_object_get(root, "type"));
    const char *action = json_string_value(json_object_get(root, "action"));
    json_t *data = json_object_get(root, "data");
    if (!json_is_integer(jts))
        return malformed(out, "webhookTimestamp is missing or not an integer (Unix ms)");
    if (!type || !*type || !action || !*action)
        return malformed(out, "type or action is missing or not a string");
    int64_t ts = json_integer_value(jts);
    int64_t skew;
    if (__builtin_sub_overflow(req->now_ms, ts, &skew) || skew < -LINEAR_WINDOW_MS ||
        skew > LINEAR_WINDOW_MS) {
        snprintf(out->why, sizeof out->why,
                 "webhookTimestamp %lld is more than %d s from now (%lld)", (long long)ts,
                 LINEAR_WINDOW_MS / 1000, (long long)req->now_ms);
        return CONNECTOR_STALE;
    }
    out->sent_ms = ts;
    int n = snprintf(out->event, sizeof out->event, "%s.%s", type, action);
    if (n < 0 || (size_t)n >= sizeof out->event) return malformed(out, "type or action too long");

    const char *prefix = type_prefix(type);
    if (!prefix ||
        (strcmp(action, "create") && strcmp(action, "update") && strcmp(action, "remove")))
        return CONNECTOR_IGNORE;
    if (!json_is_object(data)) return malformed(out, "data is missing or not an object");
    const char *id = json_string_value(json_object_get(data, "id"));
    if (!id || !linear_id_valid(id)) return malformed(out, "data.id is missing or not a Linear id");
    if (!strcmp(type, "Comment")) {
        /* Comments on documents and project updates have no issue. */
        id = json_string_value(json_object_get(data, "issueId"));
        if (!id) id = json_string_value(json_object_get(json_object_get(data, "issue"), "id"));
        if (!id) return CONNECTOR_IGNORE;
        if (!linear_id_valid(id)) return malformed(out, "data.issueId is not a Linear id");
    }
    snprintf(out->groups[0], sizeof out->groups[0], "%s%s", prefix, id);
    out->ngroups = 1;
    return CONNECTOR_QUEUE;
}

static connector_verdict linear_inspect(const connector_request *req, connector_delivery *out) {
    memset(out, 0, sizeof *out);
    if (lore_json_depth_exceeds((const char *)req->body, req->body_len, MAX_DEPTH))
        return malformed(out, "the body nests deeper than 64 levels");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
    if (!root) {
        snprintf(out->why, sizeof out->why, "the body is not JSON: %.100s (offset %d)", jerr.text,
                 jerr.position);
        return CONNECTOR_MALFORMED;
    }
    connector_verdict v;
    if (!json_is_object(root)) {
        v = malformed(out, "the body is not a JSON object");
    } else {
        v = read_body(req, root, out);
    }
    json_decref(root);
    if (v != CONNECTOR_QUEUE) return v;
    /* Dedup needs the delivery id; a retry has the same one. */
    const char *d = req->header(req->header_ctx, "Linear-Delivery");
    if (!d) return malformed(out, "the Linear-Delivery header is missing");
    if (!delivery_valid(d))
        return malformed(out, "the Linear-Delivery header is empty, too long or not printable");
    snprintf(out->delivery_id, sizeof out->delivery_id, "%s", d);
    return CONNECTOR_QUEUE;
}

const connector_ops connector_linear = {
    .version = CONNECTOR_OPS_VERSION,
    .kind = "linear",
    .title = "Linear",
    .verify = linear_verify,
    .inspect = linear_inspect,
    .apply = linear_apply,
    .render = linear_render,
};
