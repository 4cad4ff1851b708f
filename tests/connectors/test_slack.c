/* The Slack connector: signatures (Slack's own worked example, bad, other
 * body, stale both ways, absent and malformed headers), inspect (the
 * url_verification answer, dedup ids, groups, ignored events, bodies that
 * are not Slack's), and deliveries shaped like the Events API's documented
 * examples driven through verify, inspect, apply, flush and commit into a
 * real store: messages into day documents, replies into threads (moving
 * their parent), edits (newer wins, in any order), deletions, redelivery,
 * tombstones, renames, private channels' ACL, channel deletion, user names,
 * the export entry points (slack.h) making the same documents, and a day of
 * 5,000 messages. Seed: LORE_TEST_SEED, printed. */
#include <openssl/hmac.h>
#include <stdarg.h>
#include <strings.h>

#include "connectors/slack.h"
#include "ingest/ingest.h"
#include "test.h"

#define SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define C1 "C024BE91L"
#define NOW_S 1700000000LL /* the test's clock: 2023-11-14 22:13:20 UTC */

static store_tenant *t;
static ingest_session *ss;
static connector_sink *sink;
static connector_instance inst;
static const connector_ops *ops;

/* ---- requests ---- */

typedef struct hdrs {
    const char *name[4], *value[4];
    int n;
} hdrs;

static const char *hdr_get(void *ctx, const char *name) {
    hdrs *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (!strcasecmp(h->name[i], name)) return h->value[i];
    return NULL;
}

static void sign(const char *secret, const char *ts, const char *body, char *out) {
    size_t n = strlen(ts) + strlen(body) + 8;
    char *base = malloc(n);
    snprintf(base, n, "v0:%s:%s", ts, body);
    unsigned char mac[32];
    unsigned len = 32;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)base, strlen(base), mac, &len);
    free(base);
    strcpy(out, "v0=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 3 + 2 * i, "%02x", mac[i]);
}

static connector_verdict verify_with(const char *ts, const char *sig, const char *body,
                                     int64_t now_ms) {
    hdrs h = {{0}, {0}, 0};
    if (ts) h.name[h.n] = "X-Slack-Request-Timestamp", h.value[h.n++] = ts;
    if (sig) h.name[h.n] = "x-slack-signature", h.value[h.n++] = sig;
    connector_request req = {hdr_get, &h, (const uint8_t *)body, strlen(body), now_ms};
    return ops->verify(&req, (const uint8_t *)SECRET, strlen(SECRET));
}

static connector_verdict inspect(const char *body, connector_delivery *d) {
    hdrs h = {{0}, {0}, 0};
    connector_request req = {hdr_get, &h, (const uint8_t *)body, strlen(body), NOW_S * 1000};
    return ops->inspect(&req, d);
}

/* Signs, verifies, inspects and (when queued) applies, flushes, commits:
 * what the gate and the job runner do. Returns the inspect verdict. */
static connector_verdict deliver(const char *body) {
    char ts[24], sig[80];
    snprintf(ts, sizeof ts, "%lld", NOW_S);
    sign(SECRET, ts, body, sig);
    if (verify_with(ts, sig, body, NOW_S * 1000) != CONNECTOR_OK) {
        fprintf(stderr, "verify refused %s\n", body);
        return CONNECTOR_BAD_SIGNATURE;
    }
    connector_delivery d;
    connector_verdict v = inspect(body, &d);
    free(d.answer);
    if (v != CONNECTOR_QUEUE) return v;
    json_error_t jerr;
    json_t *payload = json_loads(body, 0, &jerr);
    char *error = NULL;
    lore_status st = ops->apply(sink, d.event, payload, &error);
    if (st != LORE_OK) fprintf(stderr, "apply: %s %s\n", lore_status_name(st), error ? error : "");
    CHECK_INT(st, LORE_OK);
    free(error);
    json_decref(payload);
    CHECK_INT(connector_sink_flush(sink, ops), LORE_OK);
    CHECK_INT(ingest_commit(ss), LORE_OK);
    return v;
}

/* An event_callback envelope around an event (JSON text). */
static char *envelope(const char *event_id, const char *event) {
    size_t n = strlen(event) + 256;
    char *b = malloc(n);
    snprintf(b, n,
             "{\"token\":\"XXYYZZ\",\"team_id\":\"T123ABC456\",\"api_app_id\":\"A123ABC456\","
             "\"event\":%s,\"type\":\"event_callback\",\"event_id\":\"%s\","
             "\"event_time\":%lld}",
             event, event_id, NOW_S);
    return b;
}

static int event_seq;

/* A message event (the documented shape); thread may be NULL. */
static char *message(const char *channel, const char *ctype, const char *user, const char *text,
                     const char *ts, const char *thread) {
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "message", "channel", channel,
                           "user", user, "text", text, "ts", ts, "channel_type", ctype);
    if (thread) json_object_set_new(ev, "thread_ts", json_string(thread));
    char *e = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    char id[32];
    snprintf(id, sizeof id, "Ev%04d", ++event_seq);
    char *b = envelope(id, e);
    free(e);
    return b;
}

static char *changed(const char *channel, const char *user, const char *text, const char *ts,
                     const char *thread, const char *edited_ts, const char *event_ts) {
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s}}", "type", "message", "user", user, "text",
                          text, "ts", ts, "edited", "user", user, "ts", edited_ts);
    if (thread) json_object_set_new(m, "thread_ts", json_string(thread));
    json_t *ev =
        json_pack("{s:s,s:s,s:b,s:s,s:s,s:o}", "type", "message", "subtype", "message_changed",
                  "hidden", 1, "channel", channel, "ts", event_ts, "message", m);
    char *e = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    char id[32];
    snprintf(id, sizeof id, "Ev%04d", ++event_seq);
    char *b = envelope(id, e);
    free(e);
    return b;
}

static char *deleted(const char *channel, const char *deleted_ts, const char *event_ts) {
    char e[512], id[32];
    snprintf(e, sizeof e,
             "{\"type\":\"message\",\"subtype\":\"message_deleted\",\"hidden\":true,"
             "\"channel\":\"%s\",\"ts\":\"%s\",\"deleted_ts\":\"%s\"}",
             channel, event_ts, deleted_ts);
    snprintf(id, sizeof id, "Ev%04d", ++event_seq);
    return envelope(id, e);
}

static char *simple_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *simple_event(const char *fmt, ...) {
    char e[1024], id[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e, sizeof e, fmt, ap);
    va_end(ap);
    snprintf(id, sizeof id, "Ev%04d", ++event_seq);
    return envelope(id, e);
}

static void run(char *body) {
    CHECK_INT(deliver(body), CONNECTOR_QUEUE);
    free(body);
}

/* ---- documents ---- */

static store_doc *doc(const char *ext) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("slack", ext, id);
    store_doc *d = NULL;
    if (store_doc_get(t, id, 1, &d) != LORE_OK) return NULL;
    return d;
}

static int has(const char *ext, const char *needle) {
    store_doc *d = doc(ext);
    int ok = d && d->text && strstr(d->text, needle);
    store_doc_free(d);
    return ok;
}

static int exists(const char *ext) {
    store_doc *d = doc(ext);
    store_doc_free(d);
    return d != NULL;
}

static int count_cb(void *ctx, int64_t rowid, const char *ext, const char *hash) {
    (void)rowid, (void)ext, (void)hash;
    (*(int *)ctx)++;
    return 0;
}

static int ndocs(void) {
    int n = 0;
    CHECK_INT(store_doc_scan_external(t, "slack", "", NULL, 100000, count_cb, &n), LORE_OK);
    return n;
}

/* ---- tests ---- */

static void test_verify(void) {
    /* Slack's worked example (docs: "Verifying requests from Slack"). */
    const char *body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
        "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
        "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
        "803a0bc887a14d10d2c447fce8b6703c";
    const char *sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    int64_t at = 1531420618LL * 1000;
    CHECK_INT(verify_with("1531420618", sig, body, at + 60000), CONNECTOR_OK);
    CHECK_INT(verify_with("1531420618", sig, body, at - 299000), CONNECTOR_OK);
    const char *upper = "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503";
    CHECK_INT(verify_with("1531420618", upper, body, at), CONNECTOR_OK);
    /* one digit off, another body, another timestamp */
    CHECK_INT(verify_with("1531420618",
                          "v0=a2114d57b58eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                          body, at),
              CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with("1531420618", sig, "token=other", at), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with("1531420619", sig, body, at), CONNECTOR_BAD_SIGNATURE);
    /* stale both ways, but only once the signature is right */
    CHECK_INT(verify_with("1531420618", sig, body, at + 301000), CONNECTOR_STALE);
    CHECK_INT(verify_with("1531420618", sig, body, at - 301000), CONNECTOR_STALE);
    /* absent and malformed headers */
    CHECK_INT(verify_with(NULL, sig, body, at), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with("1531420618", NULL, body, at), CONNECTOR_BAD_SIGNATURE);
    CHECK_INT(verify_with(NULL, NULL, body, at), CONNECTOR_BAD_SIGNATURE);
    const char *bad_sigs[] = {
        "",
        "v0=",
        "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b5033",
        "v0=g2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        "v0= 2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        NULL};
    for (int i = 0; bad_sigs[i]; i++)
        CHECK_INT(verify_with("1531420618", bad_sigs[i], body, at), CONNECTOR_BAD_SIGNATURE);
    const char *bad_ts[] = {
        "", "abc", "-1531420618", " 1531420618", "1531420618.5", "99999999999999999999", NULL};
    for (int i = 0; bad_ts[i]; i++)
        CHECK_INT(verify_with(bad_ts[i], sig, body, at), CONNECTOR_BAD_SIGNATURE);
    /* our own signer agrees with Slack's example */
    char mine[80];
    sign(SECRET, "1531420618", body, mine);
    CHECK_STR(mine, sig);
}

static void test_inspect(void) {
    connector_delivery d;
    const char *challenge = "{\"token\":\"Jhj5dZrVaK7ZwHHjRyZWjbDl\",\"challenge\":"
                            "\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\","
                            "\"type\":\"url_verification\"}";
    CHECK_INT(inspect(challenge, &d), CONNECTOR_ANSWER);
    CHECK_STR(d.answer, "{\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\"}");
    CHECK_STR(d.answer_type, "application/json");
    free(d.answer);

    char *b = message(C1, "channel", "U1", "Hello world", "1355517523.000005", NULL);
    CHECK_INT(inspect(b, &d), CONNECTOR_QUEUE);
    CHECK_STR(d.event, "message");
    CHECK(!strncmp(d.delivery_id, "Ev", 2));
    CHECK_INT(d.sent_ms, NOW_S * 1000);
    CHECK_INT(d.ngroups, 2);
    CHECK_STR(d.groups[0], C1 "/1355517523.000005");
    CHECK_STR(d.groups[1], C1 "/day/2012-12-14");
    free(b);
    /* a reply: its thread, the parent's day, itself */
    b = message(C1, "channel", "U1", "re", "1355517600.000001", "1355517523.000005");
    CHECK_INT(inspect(b, &d), CONNECTOR_QUEUE);
    CHECK_INT(d.ngroups, 3);
    CHECK_STR(d.groups[0], C1 "/1355517523.000005");
    CHECK_STR(d.groups[2], C1 "/1355517600.000001");
    free(b);
    /* a retry has the same event_id, so the gate deduplicates it */
    const char *retry = "{\"type\":\"event_callback\",\"event_id\":\"Ev08MFMKH6\",\"event_time\":1,"
                        "\"event\":{\"type\":\"message\",\"channel\":\"C1\",\"user\":\"U1\","
                        "\"text\":\"x\",\"ts\":\"1355517523.000005\"}}";
    CHECK_INT(inspect(retry, &d), CONNECTOR_QUEUE);
    CHECK_STR(d.delivery_id, "Ev08MFMKH6");
    b = deleted(C1, "1355517523.000005", "1358878755.000001");
    CHECK_INT(inspect(b, &d), CONNECTOR_QUEUE);
    free(b);
    b = simple_event("{\"type\":\"channel_rename\",\"channel\":{\"id\":\"C02ELGNBH\",\"name\":"
                     "\"new_name\",\"created\":1360782804}}");
    CHECK_INT(inspect(b, &d), CONNECTOR_QUEUE);
    CHECK_STR(d.event, "channel_rename");
    CHECK_STR(d.groups[0], "C02ELGNBH");
    free(b);
    /* not content, not indexed */
    b = simple_event("{\"type\":\"message\",\"subtype\":\"channel_join\",\"channel\":\"C1\","
                     "\"user\":\"U1\",\"text\":\"<@U1> has joined\",\"ts\":\"1355517523.000005\"}");
    CHECK_INT(inspect(b, &d), CONNECTOR_IGNORE);
    free(b);
    b = simple_event("{\"type\":\"reaction_added\",\"user\":\"U1\",\"reaction\":\"thumbsup\"}");
    CHECK_INT(inspect(b, &d), CONNECTOR_IGNORE);
    free(b);
    CHECK_INT(inspect("{\"type\":\"app_rate_limited\",\"minute_rate_limited\":1}", &d),
              CONNECTOR_IGNORE);
    /* not Slack's shape */
    const char *bad[] = {"",
                         "not json",
                         "[1,2]",
                         "{}",
                         "{\"type\":\"url_verification\"}",
                         "{\"type\":\"event_callback\",\"event\":{\"type\":\"message\"}}",
                         "{\"type\":\"event_callback\",\"event_id\":\"E1\"}",
                         "{\"type\":\"event_callback\",\"event_id\":\"E1\",\"event\":{\"type\":"
                         "\"message\",\"channel\":\"C1\",\"ts\":\"12.5\"}}",
                         "{\"type\":\"event_callback\",\"event_id\":\"E1\",\"event\":{\"type\":"
                         "\"message\",\"channel\":\"C/../1\",\"ts\":\"1355517523.000005\"}}",
                         "{\"type\":\"event_callback\",\"event_id\":\"E 1\",\"event\":{}}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        CHECK_INT(inspect(bad[i], &d), CONNECTOR_MALFORMED);
        CHECK(d.why[0]);
    }
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 199);
    deep[399] = 0;
    CHECK_INT(inspect(deep, &d), CONNECTOR_MALFORMED);
}

static void test_messages(void) {
    const char *P = "1355517523.000005", *M2 = "1355517600.000001", *R1 = "1355518000.000001";
    const char *day = C1 "/day/2012-12-14", *thread = C1 "/1355517523.000005";
    json_t *users = json_loads("[{\"id\":\"U1\",\"name\":\"alice\",\"profile\":{\"display_name\":"
                               "\"Alice A\"}},{\"id\":\"U2\",\"name\":\"bob\",\"real_name\":"
                               "\"Bob B\"},{\"name\":\"no id\"}]",
                               0, NULL);
    CHECK_INT(slack_put_users(sink, users), LORE_OK);
    json_decref(users);
    json_t *chan = json_loads("{\"id\":\"" C1 "\",\"name\":\"general\"}", 0, NULL);
    CHECK_INT(slack_put_channel(sink, chan, 0), LORE_OK);
    json_decref(chan);
    CHECK_INT(ingest_commit(ss), LORE_OK);

    run(message(C1, "channel", "U1", "Hello world &amp; <@U2>", P, NULL));
    store_doc *d = doc(day);
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(d->title, "#general, 2012-12-14");
        CHECK_STR(d->url, "https://slack.com/archives/" C1 "/p1355517523000005");
        CHECK_STR(d->author, "Alice A");
        CHECK_INT(d->created_ms, 1355517523000LL);
        CHECK_INT(d->nacl, 0);
        CHECK(strstr(d->metadata_json, "\"channel\":\"" C1 "\""));
        CHECK(strstr(d->metadata_json, "\"channel_name\":\"general\""));
        CHECK(strstr(d->metadata_json, "\"date\":\"2012-12-14\""));
        CHECK(d->text && strstr(d->text, "Alice A, 2012-12-14 20:38 UTC: "
                                         "https://slack.com/archives/" C1 "/p1355517523000005"));
        CHECK(d->text && strstr(d->text, "Hello world & @Bob B"));
    }
    store_doc_free(d);
    run(message(C1, "channel", "U2", "second message", M2, NULL));
    CHECK(has(day, "Hello world"));
    CHECK(has(day, "second message"));
    CHECK(!exists(thread));

    /* a reply moves its parent from the day into the thread */
    run(message(C1, "channel", "U2", "a reply", R1, P));
    CHECK(has(thread, "Hello world"));
    CHECK(has(thread, "a reply"));
    CHECK(has(thread, "?thread_ts=1355517523.000005&cid=" C1));
    CHECK(!has(day, "Hello world") && has(day, "second message"));
    d = doc(thread);
    if (d) {
        CHECK_STR(d->title, "#general: Hello world & @Bob B");
        CHECK(strstr(d->metadata_json, "\"thread_ts\":\"1355517523.000005\""));
        CHECK(strstr(d->text, "Hello world") < strstr(d->text, "a reply"));
    }
    store_doc_free(d);

    /* edits: newer wins whatever the order; a redelivery changes nothing */
    run(changed(C1, "U2", "reply edited twice", R1, P, "1355519000.000002", "1355519000.000002"));
    run(changed(C1, "U2", "reply edited once", R1, P, "1355518500.000001", "1355518500.000001"));
    CHECK(has(thread, "reply edited twice"));
    CHECK(!has(thread, "reply edited once"));
    CHECK(has(thread, "(edited)"));
    uint64_t updated = ingest_session_stats(ss)->docs_updated;
    run(message(C1, "channel", "U2", "a reply", R1, P)); /* the original, retried late */
    CHECK(has(thread, "reply edited twice"));
    CHECK_INT(ingest_session_stats(ss)->docs_updated, updated);

    /* the last reply deleted: the thread goes, the parent returns to its day */
    run(deleted(C1, R1, "1355520000.000001"));
    CHECK(!exists(thread));
    CHECK(has(day, "Hello world"));
    run(changed(C1, "U2", "edit after delete", R1, P, "1355530000.000001", "1355530000.000001"));
    CHECK(!exists(thread));
    run(message(C1, "channel", "U2", "a reply", R1, P));
    CHECK(!exists(thread));

    /* a deletion before its message: the message never shows */
    const char *M3 = "1355517700.000001";
    run(deleted(C1, M3, "1355517800.000001"));
    run(message(C1, "channel", "U1", "deleted early", M3, NULL));
    CHECK(!has(day, "deleted early"));

    /* a reply before its parent: the thread has both once the parent comes */
    const char *P2 = "1355600000.000001", *R2 = "1355600100.000001";
    run(message(C1, "channel", "U2", "early reply", R2, P2));
    CHECK(has(C1 "/1355600000.000001", "early reply"));
    d = doc(C1 "/1355600000.000001");
    if (d) CHECK_STR(d->title, "#general thread, 2012-12-15");
    store_doc_free(d);
    run(message(C1, "channel", "U1", "late parent", P2, NULL));
    CHECK(has(C1 "/1355600000.000001", "late parent"));
    CHECK(!exists(C1 "/day/2012-12-15"));

    /* a parent deleted with replies left becomes a tombstone message */
    run(simple_event("{\"type\":\"message\",\"subtype\":\"message_changed\",\"hidden\":true,"
                     "\"channel\":\"" C1 "\",\"ts\":\"1355600200.000001\",\"message\":{\"type\":"
                     "\"message\",\"subtype\":\"tombstone\",\"text\":\"This message was "
                     "deleted.\",\"ts\":\"%s\",\"thread_ts\":\"%s\"}}",
                     P2, P2));
    CHECK(!has(C1 "/1355600000.000001", "late parent"));
    CHECK(has(C1 "/1355600000.000001", "early reply"));

    /* a rename retitles every document of the channel; an older one loses */
    run(simple_event("{\"type\":\"channel_rename\",\"channel\":{\"id\":\"" C1
                     "\",\"name\":\"watercooler\",\"created\":1360782804},"
                     "\"event_ts\":\"1400000000.000002\"}"));
    run(simple_event("{\"type\":\"channel_rename\",\"channel\":{\"id\":\"" C1
                     "\",\"name\":\"older\",\"created\":1360782804},"
                     "\"event_ts\":\"1400000000.000001\"}"));
    d = doc(day);
    if (d) CHECK_STR(d->title, "#watercooler, 2012-12-14");
    store_doc_free(d);
    d = doc(C1 "/1355600000.000001");
    if (d) CHECK_STR(d->title, "#watercooler thread, 2012-12-15");
    store_doc_free(d);

    /* user_change: the new name shows from the next render on */
    run(simple_event("{\"type\":\"user_change\",\"user\":{\"id\":\"U1\",\"name\":\"alice\","
                     "\"updated\":1500000000,\"profile\":{\"display_name\":\"Alice Renamed\"}}}"));
    run(message(C1, "channel", "U2", "third", "1355517900.000001", NULL));
    CHECK(has(day, "Alice Renamed, 2012-12-14"));

    /* not content: a join is ignored, nothing changes */
    free(simple_event("{}")); /* keep event ids unique */
    char *join = simple_event("{\"type\":\"message\",\"subtype\":\"channel_join\",\"channel\":"
                              "\"" C1 "\",\"user\":\"U9\",\"text\":\"<@U9> has joined the "
                              "channel\",\"ts\":\"1355517950.000001\"}");
    CHECK_INT(deliver(join), CONNECTOR_IGNORE);
    free(join);
    CHECK(!has(day, "has joined"));

    /* the channel deleted: all its documents go, late retries stay out */
    int before = ndocs();
    CHECK(before >= 2);
    run(simple_event("{\"type\":\"channel_deleted\",\"channel\":\"" C1 "\"}"));
    CHECK_INT(ndocs(), before - 2);
    CHECK(!exists(day));
    run(message(C1, "channel", "U2", "after the end", "1355517990.000001", NULL));
    CHECK(!exists(day));
}

static void test_private(void) {
    run(message("G024BE91L", "group", "U1", "secret plans", "1355517523.000005", NULL));
    store_doc *d = doc("G024BE91L/day/2012-12-14");
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->nacl, 1);
        if (d->nacl) CHECK_STR(d->acl[0], "group:slack:G024BE91L");
        CHECK(strstr(d->metadata_json, "\"private\":true"));
    }
    store_doc_free(d);
    /* a channel recorded private by the export: the same ACL */
    json_t *chan = json_loads("{\"id\":\"C0PRIV\",\"name\":\"hush\"}", 0, NULL);
    CHECK_INT(slack_put_channel(sink, chan, 1), LORE_OK);
    json_decref(chan);
    json_t *m = json_loads("{\"type\":\"message\",\"user\":\"U1\",\"text\":\"quiet\","
                           "\"ts\":\"1355517523.000005\"}",
                           0, NULL);
    char *err = NULL;
    CHECK_INT(slack_put_message(sink, "C0PRIV", m, &err), LORE_OK);
    json_decref(m);
    CHECK_INT(connector_sink_flush(sink, ops), LORE_OK);
    CHECK_INT(ingest_commit(ss), LORE_OK);
    d = doc("C0PRIV/day/2012-12-14");
    CHECK(d && d->nacl == 1);
    if (d && d->nacl) CHECK_STR(d->acl[0], "group:slack:C0PRIV");
    if (d) CHECK_STR(d->title, "#hush, 2012-12-14");
    store_doc_free(d);
    /* group_rename */
    run(simple_event("{\"type\":\"group_rename\",\"channel\":{\"id\":\"G024BE91L\",\"name\":"
                     "\"plans\",\"created\":1360782804}}"));
    d = doc("G024BE91L/day/2012-12-14");
    if (d) CHECK_STR(d->title, "#plans, 2012-12-14");
    store_doc_free(d);
    run(simple_event("{\"type\":\"group_deleted\",\"channel\":\"G024BE91L\"}"));
    CHECK(!exists("G024BE91L/day/2012-12-14"));
}

/* The export entry points make what live events make: the same messages
 * through slack.h into source "slack" and as live deliveries (an edit as
 * the original, then message_changed) into another instance's source
 * "slacklive" give documents with the same fields and text. */
static store_doc *doc_in(const char *source, const char *ext) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id(source, ext, id);
    store_doc *d = NULL;
    if (store_doc_get(t, id, 1, &d) != LORE_OK) return NULL;
    return d;
}

static int same_doc(const char *ext) {
    store_doc *a = doc_in("slack", ext), *b = doc_in("slacklive", ext);
    int same = a && b && !strcmp(a->title, b->title) && !strcmp(a->text, b->text) &&
               !strcmp(a->url, b->url) && !strcmp(a->author, b->author) &&
               !strcmp(a->metadata_json, b->metadata_json) && a->created_ms == b->created_ms &&
               a->updated_ms == b->updated_ms && a->nacl == b->nacl;
    if (!same)
        fprintf(stderr, "%s differs:\n%s\n---\n%s\n", ext, a ? a->text : "(none)",
                b ? b->text : "(none)");
    store_doc_free(a);
    store_doc_free(b);
    return same;
}

static void test_export_matches_live(void) {
    const char *C = "C0EXPORT";
    const char *msgs[] = {
        "{\"type\":\"message\",\"user\":\"U1\",\"text\":\"parent <https://x.org|site>\","
        "\"ts\":\"1600000000.000100\",\"thread_ts\":\"1600000000.000100\",\"reply_count\":1}",
        "{\"type\":\"message\",\"user\":\"U2\",\"text\":\"child\",\"ts\":\"1600000100.000100\","
        "\"thread_ts\":\"1600000000.000100\",\"parent_user_id\":\"U1\"}",
        "{\"type\":\"message\",\"user\":\"U2\",\"text\":\"alone (edited)\",\"ts\":"
        "\"1600000200.000100\",\"edited\":{\"user\":\"U2\",\"ts\":\"1600000300.000100\"}}",
        "{\"type\":\"message\",\"subtype\":\"channel_join\",\"user\":\"U3\",\"text\":\"joined\","
        "\"ts\":\"1600000250.000100\"}",
        "{\"type\":\"message\",\"subtype\":\"bot_message\",\"username\":\"deploybot\",\"text\":"
        "\"deployed\",\"ts\":\"1600000260.000100\",\"bot_id\":\"B1\"}",
        NULL};
    for (int i = 0; msgs[i]; i++) {
        json_t *m = json_loads(msgs[i], 0, NULL);
        char *err = NULL;
        CHECK_INT(slack_put_message(sink, C, m, &err), LORE_OK);
        free(err);
        json_decref(m);
    }
    CHECK_INT(connector_sink_flush(sink, ops), LORE_OK);
    CHECK_INT(ingest_commit(ss), LORE_OK);
    CHECK(has("C0EXPORT/1600000000.000100", "parent site (https://x.org)"));
    CHECK(has("C0EXPORT/1600000000.000100", "child"));
    CHECK(has("C0EXPORT/day/2020-09-13", "alone (edited)"));
    CHECK(has("C0EXPORT/day/2020-09-13", "deploybot, 2020-09-13"));
    CHECK(!has("C0EXPORT/day/2020-09-13", "joined"));
    CHECK(!has("C0EXPORT/day/2020-09-13", "parent"));

    /* the same, live, into the other source (users recorded there too) */
    connector_instance live = inst;
    snprintf(live.source, sizeof live.source, "slacklive");
    connector_sink *main_sink = sink, *live_sink = NULL;
    CHECK_INT(connector_sink_new(ss, &live, &live_sink), LORE_OK);
    json_t *users = json_loads("[{\"id\":\"U1\",\"name\":\"alice\",\"updated\":1500000000,"
                               "\"profile\":{\"display_name\":\"Alice Renamed\"}},"
                               "{\"id\":\"U2\",\"name\":\"bob\",\"real_name\":\"Bob B\"}]",
                               0, NULL);
    CHECK_INT(slack_put_users(live_sink, users), LORE_OK);
    json_decref(users);
    sink = live_sink;
    run(message(C, "channel", "U2", "child", "1600000100.000100", "1600000000.000100"));
    run(message(C, "channel", "U1", "parent <https://x.org|site>", "1600000000.000100", NULL));
    run(message(C, "channel", "U2", "alone", "1600000200.000100", NULL));
    run(changed(C, "U2", "alone (edited)", "1600000200.000100", NULL, "1600000300.000100",
                "1600000300.000100"));
    run(simple_event("{\"type\":\"message\",\"subtype\":\"bot_message\",\"username\":"
                     "\"deploybot\",\"text\":\"deployed\",\"ts\":\"1600000260.000100\","
                     "\"bot_id\":\"B1\",\"channel\":\"%s\",\"channel_type\":\"channel\"}",
                     C));
    sink = main_sink;
    connector_sink_free(live_sink);
    CHECK(same_doc("C0EXPORT/1600000000.000100"));
    CHECK(same_doc("C0EXPORT/day/2020-09-13"));

    /* a later live reply updates the imported thread, no duplicate */
    int before = ndocs();
    run(message(C, "channel", "U1", "live reply", "1600000400.000100", "1600000000.000100"));
    CHECK(has("C0EXPORT/1600000000.000100", "live reply"));
    CHECK(has("C0EXPORT/1600000000.000100", "child"));
    CHECK_INT(ndocs(), before);
    /* nonsense is refused with a reason */
    json_t *m = json_loads("{\"type\":\"message\",\"text\":\"no ts\"}", 0, NULL);
    char *err = NULL;
    CHECK_INT(slack_put_message(sink, C, m, &err), LORE_INVALID);
    CHECK(err && strstr(err, "ts"));
    free(err);
    err = NULL;
    CHECK_INT(slack_put_message(sink, "bad/id", m, &err), LORE_INVALID);
    free(err);
    json_decref(m);
    CHECK_INT(slack_put_users(sink, json_object_get(NULL, "x")), LORE_INVALID);
}

/* One day of 5,000 messages (and a thread of 2,000 replies) through the
 * export path, flushed once: every message is in its document, in order. */
static void test_big_day(void) {
    const char *C = "C0BIG";
    char ts[18], text[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(ts, sizeof ts, "1650000000.%06d", i);
        snprintf(text, sizeof text, "message number %d", i);
        json_t *m =
            json_pack("{s:s,s:s,s:s,s:s}", "type", "message", "user", "U1", "text", text, "ts", ts);
        char *err = NULL;
        CHECK_INT(slack_put_message(sink, C, m, &err), LORE_OK);
        json_decref(m);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(ts, sizeof ts, "1650001000.%06d", i);
        snprintf(text, sizeof text, "reply number %d", i);
        json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "message", "user", "U2", "text",
                              text, "ts", ts, "thread_ts", "1650000000.000007");
        char *err = NULL;
        CHECK_INT(slack_put_message(sink, C, m, &err), LORE_OK);
        json_decref(m);
    }
    CHECK_INT(connector_sink_flush(sink, ops), LORE_OK);
    CHECK_INT(ingest_commit(ss), LORE_OK);
    store_doc *d = doc("C0BIG/day/2022-04-15");
    CHECK(d != NULL);
    if (d && d->text) {
        CHECK(strstr(d->text, "message number 4999"));
        CHECK(!strstr(d->text, "message number 7\n"));
        CHECK(strstr(d->text, "message number 1\n") < strstr(d->text, "message number 2\n"));
    }
    store_doc_free(d);
    d = doc("C0BIG/1650000000.000007");
    CHECK(d && d->text && strstr(d->text, "message number 7\n") &&
          strstr(d->text, "reply number 1999"));
    store_doc_free(d);
}

/* A signing secret is the app's: a delivery from another workspace that
 * installed the same app is refused, and changes nothing. */
static void test_other_workspace(void) {
    char *ok =
        message("CWS0000001", "channel", "U1", "pinned workspace", "1700000100.000100", NULL);
    CHECK_INT(deliver(ok), CONNECTOR_QUEUE);
    free(ok);
    char ext[64];
    snprintf(ext, sizeof ext, "CWS0000001/day/2023-11-14");
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("slack", ext, id);
    store_doc *before = NULL;
    CHECK_INT(store_doc_get(t, id, 0, &before), LORE_OK);
    char *m = message("CWS0000001", "channel", "U9", "from elsewhere", "1700000200.000100", NULL);
    char *p = strstr(m, "T123ABC456");
    CHECK(p != NULL);
    if (p) memcpy(p, "T999ZZZ999", 10);
    json_t *payload = json_loads(m, 0, NULL);
    char *error = NULL;
    CHECK_INT(ops->apply(sink, "message", payload, &error), LORE_INVALID);
    CHECK(error && strstr(error, "T999ZZZ999") && strstr(error, "T123ABC456"));
    free(error);
    json_decref(payload);
    free(m);
    CHECK_INT(connector_sink_flush(sink, ops), LORE_OK);
    CHECK_INT(ingest_commit(ss), LORE_OK);
    store_doc *after = NULL;
    CHECK_INT(store_doc_get(t, id, 0, &after), LORE_OK);
    if (before && after) CHECK_STR(after->content_hash, before->content_hash);
    store_doc_free(before);
    store_doc_free(after);
}

int main(void) {
    test_seed();
    const char *dir = test_tmpdir();
    store *s = NULL;
    char err[256];
    tenant_ctx *tc = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ss), LORE_OK);
    ingest_set_source_acl(ss, "slack", NULL, 0);
    snprintf(inst.id, sizeof inst.id, "con_00000000000000000001");
    snprintf(inst.tenant, sizeof inst.tenant, "t");
    snprintf(inst.kind, sizeof inst.kind, "slack");
    snprintf(inst.source, sizeof inst.source, "slack");
    ops = connector_find("slack");
    CHECK(ops != NULL);
    if (!ops) return test_summary();
    CHECK_INT(connector_sink_new(ss, &inst, &sink), LORE_OK);

    test_verify();
    test_inspect();
    test_messages();
    test_private();
    test_export_matches_live();
    test_big_day();
    test_other_workspace();

    connector_sink_free(sink);
    ingest_session_free(ss);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
