/* The Slack connector (Events API): verify and inspect; the documents are
 * slack_docs.c's.
 *
 * verify: X-Slack-Signature is "v0=" and the lower-case hex HMAC-SHA256,
 * keyed with the app's signing secret, of "v0:" X-Slack-Request-Timestamp
 * ":" and the raw body. A header that is absent or not of that shape is a
 * bad signature; a correct signature over a timestamp more than five
 * minutes from now (either way) is STALE, so a captured delivery cannot be
 * replayed later.
 *
 * inspect: url_verification is answered with {"challenge": ...};
 * event_callback envelopes are queued when their inner event is one lore
 * indexes (message and its content subtypes, message_changed,
 * message_deleted; channel_rename, channel_deleted, group_rename,
 * group_deleted, channel_created; user_change), with the envelope's
 * event_id as the dedup key (a retry carrying X-Slack-Retry-Num has the
 * same one) and the thread or channel day as FIFO groups. Anything else is
 * ignored. */
#include "connectors/slack.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "connectors/slack_internal.h"
#include "crypto/seal.h"
#include "util/jsonscan.h"

#define SLACK_WINDOW_MS (5 * 60 * 1000)
#define SLACK_MAX_DEPTH 64
#define SLACK_CHALLENGE_MAX 1024

/* ---- shapes shared with slack_docs.c ---- */

int slack_ts_valid(const char *ts) {
    if (!ts || strlen(ts) != SLACK_TS_LEN) return 0;
    for (int i = 0; i < SLACK_TS_LEN; i++)
        if (i == 10 ? ts[i] != '.' : !isdigit((unsigned char)ts[i])) return 0;
    return 1;
}

int slack_id_valid(const char *id) {
    size_t n = id ? strlen(id) : 0;
    if (!n || n > SLACK_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i])) return 0;
    return 1;
}

static int64_t ts_seconds(const char *ts) {
    int64_t s = 0;
    for (int i = 0; i < 10; i++)
        s = s * 10 + (ts[i] - '0');
    return s;
}

void slack_ts_date(const char *ts, char *out) {
    time_t t = (time_t)ts_seconds(ts);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* ten digits of seconds end in 2286: four-digit years */
    snprintf(out, SLACK_DATE_LEN + 1, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

int64_t slack_ts_ms(const char *ts) {
    int64_t ms = 0;
    for (int i = 11; i < 14; i++)
        ms = ms * 10 + (ts[i] - '0');
    return ts_seconds(ts) * 1000 + ms;
}

const char *slack_str(const json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

int slack_subtype_indexed(const char *subtype) {
    static const char *const kept[] = {"thread_broadcast", "bot_message", "me_message",
                                       "file_share", NULL};
    if (!subtype) return 1;
    for (size_t i = 0; kept[i]; i++)
        if (!strcmp(subtype, kept[i])) return 1;
    return 0;
}

/* ---- verify ---- */

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static connector_verdict slack_verify(const connector_request *req, const uint8_t *secret,
                                      size_t secret_len) {
    const char *ts = req->header(req->header_ctx, "X-Slack-Request-Timestamp");
    const char *sig = req->header(req->header_ctx, "X-Slack-Signature");
    /* The HMAC of "v0:" ts ":" body first (streamed, the body is not
     * copied), whatever the headers: a delivery without a signature costs
     * what a wrong one (or one to an unknown connector) does. */
    const char *t = ts ? ts : "";
    seal_part parts[] = {{"v0:", 3}, {t, strlen(t)}, {":", 1}, {req->body, req->body_len}};
    uint8_t given[32] = {0}, want[32];
    seal_hmac_sha256_parts(secret, secret_len, parts, 4, want);
    if (!ts || !sig) return CONNECTOR_BAD_SIGNATURE;
    size_t tlen = strlen(ts);
    if (!tlen || tlen > 15) return CONNECTOR_BAD_SIGNATURE;
    int64_t secs = 0;
    for (size_t i = 0; i < tlen; i++) {
        if (!isdigit((unsigned char)ts[i])) return CONNECTOR_BAD_SIGNATURE;
        secs = secs * 10 + (ts[i] - '0');
    }
    if (strlen(sig) != 3 + 64 || memcmp(sig, "v0=", 3)) return CONNECTOR_BAD_SIGNATURE;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_val(sig[3 + 2 * i]), lo = hex_val(sig[4 + 2 * i]);
        if (hi < 0 || lo < 0) return CONNECTOR_BAD_SIGNATURE;
        given[i] = (uint8_t)(hi << 4 | lo);
    }
    if (CRYPTO_memcmp(given, want, 32)) return CONNECTOR_BAD_SIGNATURE;
    int64_t ms = secs * 1000, d = req->now_ms - ms;
    if (d > SLACK_WINDOW_MS || d < -SLACK_WINDOW_MS) return CONNECTOR_STALE;
    return CONNECTOR_OK;
}

/* ---- inspect ---- */

static connector_verdict malformed(connector_delivery *out, const char *why) {
    snprintf(out->why, sizeof out->why, "%s", why);
    return CONNECTOR_MALFORMED;
}

static void add_group(connector_delivery *out, const char *channel, const char *what,
                      const char *ts) {
    if (out->ngroups >= CONNECTOR_MAX_GROUPS) return;
    char g[STORE_JOB_GROUP_MAX + 1];
    if (ts)
        snprintf(g, sizeof g, "%s/%s%s", channel, what, ts);
    else
        snprintf(g, sizeof g, "%s", channel);
    for (size_t i = 0; i < out->ngroups; i++)
        if (!strcmp(out->groups[i], g)) return;
    memcpy(out->groups[out->ngroups++], g, strlen(g) + 1);
}

/* The groups of a message (ts) in channel, a reply when thread is another
 * ts: its thread and the day document its thread's parent (or itself)
 * belongs to, since a reply moves its parent out of the day. */
static void message_groups(connector_delivery *out, const char *channel, const char *ts,
                           const char *thread) {
    const char *top = thread ? thread : ts;
    char date[SLACK_DATE_LEN + 1];
    slack_ts_date(top, date);
    add_group(out, channel, "", top);
    add_group(out, channel, "day/", date);
}

static connector_verdict inspect_message(const json_t *ev, connector_delivery *out) {
    const char *channel = slack_str(ev, "channel");
    const char *subtype = slack_str(ev, "subtype");
    if (!slack_id_valid(channel)) return malformed(out, "message without a valid channel id");
    const json_t *m = ev;
    const char *ts;
    if (subtype && !strcmp(subtype, "message_deleted")) {
        ts = slack_str(ev, "deleted_ts");
        m = json_object_get(ev, "previous_message");
    } else if (subtype && !strcmp(subtype, "message_changed")) {
        m = json_object_get(ev, "message");
        if (!json_is_object(m)) return malformed(out, "message_changed without a message");
        ts = slack_str(m, "ts");
    } else if (subtype && !strcmp(subtype, "channel_name")) {
        add_group(out, channel, "", NULL);
        return CONNECTOR_QUEUE;
    } else if (!slack_subtype_indexed(subtype)) {
        return CONNECTOR_IGNORE; /* joins, topics, pins: not content */
    } else {
        ts = slack_str(ev, "ts");
    }
    if (!slack_ts_valid(ts)) return malformed(out, "message without a valid ts");
    const char *thread = slack_str(m, "thread_ts");
    if (thread && !slack_ts_valid(thread)) return malformed(out, "message with a bad thread_ts");
    if (thread && !strcmp(thread, ts)) thread = NULL;
    message_groups(out, channel, ts, thread);
    if (thread) add_group(out, channel, "", ts);
    return CONNECTOR_QUEUE;
}

static connector_verdict inspect_event(const json_t *ev, connector_delivery *out) {
    const char *type = slack_str(ev, "type");
    if (!type) return malformed(out, "event without a type");
    snprintf(out->event, sizeof out->event, "%s", type);
    if (!strcmp(type, "message")) return inspect_message(ev, out);
    if (!strcmp(type, "channel_rename") || !strcmp(type, "group_rename") ||
        !strcmp(type, "channel_created")) {
        const char *id = slack_str(json_object_get(ev, "channel"), "id");
        if (!slack_id_valid(id)) return malformed(out, "channel event without a channel id");
        add_group(out, id, "", NULL);
        return CONNECTOR_QUEUE;
    }
    if (!strcmp(type, "channel_deleted") || !strcmp(type, "group_deleted")) {
        const char *id = slack_str(ev, "channel");
        if (!slack_id_valid(id)) return malformed(out, "channel event without a channel id");
        add_group(out, id, "", NULL);
        return CONNECTOR_QUEUE;
    }
    if (!strcmp(type, "user_change")) {
        const char *id = slack_str(json_object_get(ev, "user"), "id");
        if (!slack_id_valid(id)) return malformed(out, "user_change without a user id");
        add_group(out, id, "", NULL);
        return CONNECTOR_QUEUE;
    }
    return CONNECTOR_IGNORE;
}

static connector_verdict inspect_root(const json_t *root, connector_delivery *out) {
    const char *type = slack_str(root, "type");
    if (!type) return malformed(out, "not a Slack Events API payload (no type)");
    if (!strcmp(type, "url_verification")) {
        const char *challenge = slack_str(root, "challenge");
        if (!challenge || strlen(challenge) > SLACK_CHALLENGE_MAX)
            return malformed(out, "url_verification without a challenge");
        json_t *a = json_pack("{s:s}", "challenge", challenge);
        out->answer = a ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        if (!out->answer) return malformed(out, "out of memory answering the challenge");
        out->answer_type = "application/json";
        snprintf(out->event, sizeof out->event, "url_verification");
        return CONNECTOR_ANSWER;
    }
    if (strcmp(type, "event_callback")) {
        snprintf(out->event, sizeof out->event, "%.*s", CONNECTOR_EVENT_MAX, type);
        return CONNECTOR_IGNORE; /* app_rate_limited and the like */
    }
    const char *id = slack_str(root, "event_id");
    size_t idlen = id ? strlen(id) : 0;
    if (!idlen || idlen > CONNECTOR_DELIVERY_MAX) return malformed(out, "event without event_id");
    for (size_t i = 0; i < idlen; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return malformed(out, "event_id with bytes outside printable ASCII");
    memcpy(out->delivery_id, id, idlen + 1);
    const json_t *t = json_object_get(root, "event_time");
    if (json_is_integer(t) && json_integer_value(t) > 0 && json_integer_value(t) < INT64_MAX / 1000)
        out->sent_ms = json_integer_value(t) * 1000;
    const json_t *ev = json_object_get(root, "event");
    if (!json_is_object(ev)) return malformed(out, "event_callback without an event");
    return inspect_event(ev, out);
}

static connector_verdict slack_inspect(const connector_request *req, connector_delivery *out) {
    memset(out, 0, sizeof *out);
    const char *body = (const char *)req->body;
    if (lore_json_depth_exceeds(body, req->body_len, SLACK_MAX_DEPTH))
        return malformed(out, "JSON nested too deeply");
    json_error_t jerr;
    json_t *root = json_loadb(body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return malformed(out, "body is not a JSON object");
    }
    connector_verdict v = inspect_root(root, out);
    json_decref(root);
    if (v != CONNECTOR_QUEUE) out->ngroups = 0;
    return v;
}

const connector_ops connector_slack = {
    .version = CONNECTOR_OPS_VERSION,
    .kind = "slack",
    .title = "Slack",
    .verify = slack_verify,
    .inspect = slack_inspect,
    .apply = slack_apply,
    .render = slack_render,
};
