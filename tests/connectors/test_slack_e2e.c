/* The Slack connector end to end through a real `lore serve`: a connector
 * made with POST /v1/connectors (Slack's signing secret given), the
 * url_verification challenge answered, refusals before any job (bad
 * signature, a signature over another body, a stale timestamp, absent
 * headers), then a burst of 200 signed deliveries (messages, thread
 * replies, edits, deletions, renames, a private channel) in a random order
 * with Slack's retries (same event_id, X-Slack-Retry-Num) mixed in. After
 * the queue drains, the tenant's documents are exactly what the final
 * state says: computed here from a model of the messages, independently of
 * the connector. Seed: LORE_TEST_SEED, printed. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api_test.h"
#include "ingest/ingest.h"

#define SECRET "e2e-signing-secret-0123456789abcdef"
#define PUB "C0PUBLIC1"
#define PRIV "G0PRIVATE"
#define BASE 1700000000LL /* 2023-11-14 22:13:20 UTC */
#define NPUB 60
#define NPRIV 10
#define MAXMSG 128
#define MAXEV 256
#define TOTAL 200

static test_server s;
static char hook_path[96];

/* ---- the model ---- */

typedef struct msg {
    const char *channel;
    char ts[40], thread[40]; /* thread "" unless a reply */
    int nver;                /* versions: 0 the original, then edits */
    int deleted, idx;
    const char *tag;
    char text[4][32];
} msg;

static msg msgs[MAXMSG];
static int nmsgs;

typedef struct event {
    char id[24];
    char *body;
} event;

static event evs[MAXEV];
static int nevs;

static void ts_of(char *out, long long secs, int micro) {
    snprintf(out, 40, "%010lld.%06d", secs, micro);
}

static msg *add_msg(const char *channel, long long secs, const char *thread, const char *tag) {
    msg *m = &msgs[nmsgs++];
    m->channel = channel;
    ts_of(m->ts, secs, 100);
    snprintf(m->thread, sizeof m->thread, "%s", thread ? thread : "");
    m->tag = tag;
    m->idx = nmsgs;
    snprintf(m->text[0], sizeof m->text[0], "%sq%dzv0k", tag, nmsgs);
    m->nver = 1;
    return m;
}

static void add_event(json_t *ev) {
    event *e = &evs[nevs];
    snprintf(e->id, sizeof e->id, "Ev%06d", nevs + 1);
    json_t *env = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "token", "XXYYZZ", "team_id",
                            "T123ABC456", "api_app_id", "A123ABC456", "event", ev, "type",
                            "event_callback", "event_id", e->id, "event_time", (json_int_t)BASE);
    e->body = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    nevs++;
}

static void ev_create(const msg *m) {
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "message", "channel", m->channel,
                           "user", "U0ALICE", "text", m->text[0], "ts", m->ts, "channel_type",
                           m->channel[0] == 'G' ? "group" : "channel");
    if (m->thread[0]) json_object_set_new(ev, "thread_ts", json_string(m->thread));
    add_event(ev);
}

static void ev_edit(msg *m) {
    int k = m->nver++;
    /* "pubq12zv0k" -> "pubq12zv1k": no version is a part of another */
    snprintf(m->text[k], sizeof m->text[k], "%sq%dzv%dk", m->tag, m->idx, k);
    char rank[40];
    ts_of(rank, atoll(m->ts) + 100 * k, 0);
    json_t *inner =
        json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s}}", "type", "message", "user", "U0ALICE", "text",
                  m->text[k], "ts", m->ts, "edited", "user", "U0ALICE", "ts", rank);
    if (m->thread[0]) json_object_set_new(inner, "thread_ts", json_string(m->thread));
    add_event(json_pack("{s:s,s:s,s:b,s:s,s:s,s:o}", "type", "message", "subtype",
                        "message_changed", "hidden", 1, "channel", m->channel, "ts", rank,
                        "message", inner));
}

static void ev_delete(msg *m) {
    m->deleted = 1;
    char at[40];
    ts_of(at, atoll(m->ts) + 5000, 0);
    add_event(json_pack("{s:s,s:s,s:b,s:s,s:s,s:s}", "type", "message", "subtype",
                        "message_deleted", "hidden", 1, "channel", m->channel, "ts", at,
                        "deleted_ts", m->ts));
}

static void ev_rename(const char *name, long long at) {
    char ets[40];
    ts_of(ets, at, 0);
    add_event(json_pack("{s:s,s:{s:s,s:s,s:i},s:s}", "type", "channel_rename", "channel", "id", PUB,
                        "name", name, "created", 1360782804, "event_ts", ets));
}

static void build(void) {
    msg *pub[NPUB];
    for (int i = 0; i < NPUB; i++)
        pub[i] = add_msg(PUB, BASE + i * 600, NULL, "pub");
    const int threads[] = {5, 17, 30, 44};
    msg *replies[4][3];
    for (int t = 0; t < 4; t++)
        for (int j = 0; j < 3; j++)
            replies[t][j] =
                add_msg(PUB, atoll(pub[threads[t]]->ts) + 60 * (j + 1), pub[threads[t]]->ts, "rep");
    msg *lone = add_msg(PUB, atoll(pub[50]->ts) + 60, pub[50]->ts, "rep");
    for (int i = 0; i < NPRIV; i++)
        add_msg(PRIV, BASE + i * 700 + 7, NULL, "prv");
    for (int i = 0; i < nmsgs; i++)
        ev_create(&msgs[i]);
    for (int i = 0; i < NPUB; i += 7) {
        ev_edit(pub[i]);
        ev_edit(pub[i]);
    }
    ev_edit(replies[1][1]);
    for (int i = 3; i < NPUB; i += 11)
        ev_delete(pub[i]);
    ev_delete(replies[2][0]);
    ev_delete(pub[44]); /* a parent: its replies stay, in a thread without it */
    ev_delete(lone);    /* a thread's only reply: its parent returns to its day */
    ev_rename("older-name", BASE + 40000);
    ev_rename("renamed", BASE + 50000);
}

static int live_replies(const msg *parent) {
    int n = 0;
    for (int i = 0; i < nmsgs; i++)
        if (!strcmp(msgs[i].thread, parent->ts) && msgs[i].channel == parent->channel &&
            !msgs[i].deleted)
            n++;
    return n;
}

static void date_of(const char *ts, char *out) {
    time_t t = (time_t)atoll(ts);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The document a message should be in ("" none), by the rules in
 * docs/connectors.md. */
static void expected_doc(const msg *m, char *out) {
    char d[11];
    out[0] = 0;
    if (m->deleted) return;
    if (m->thread[0]) {
        snprintf(out, 64, "%s/%s", m->channel, m->thread);
        return;
    }
    if (live_replies(m)) {
        snprintf(out, 64, "%s/%s", m->channel, m->ts);
        return;
    }
    date_of(m->ts, d);
    snprintf(out, 64, "%s/day/%s", m->channel, d);
}

/* ---- delivering ---- */

static void sign(const char *ts, const char *body, size_t len, char *out) {
    size_t n = strlen(ts) + len + 8;
    char *base = malloc(n);
    int k = snprintf(base, n, "v0:%s:", ts);
    memcpy(base + k, body, len);
    unsigned char mac[32];
    unsigned mlen = 32;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)base, (size_t)k + len, mac,
         &mlen);
    free(base);
    strcpy(out, "v0=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 3 + 2 * i, "%02x", mac[i]);
}

/* POSTs a body with the given timestamp and signature headers (NULL:
 * absent) and retry number (0: none). */
static test_resp post_hook(const char *body, const char *ts, const char *sig, int retry) {
    char h1[64], h2[96], h3[48];
    const char *extra[5] = {0};
    int n = 0;
    if (ts) snprintf(h1, sizeof h1, "X-Slack-Request-Timestamp: %s", ts), extra[n++] = h1;
    if (sig) snprintf(h2, sizeof h2, "X-Slack-Signature: %s", sig), extra[n++] = h2;
    if (retry) {
        snprintf(h3, sizeof h3, "X-Slack-Retry-Num: %d", retry);
        extra[n++] = h3;
        extra[n++] = "X-Slack-Retry-Reason: http_timeout";
    }
    return test_http(&s, "POST", hook_path, NULL, "application/json", body, strlen(body), extra);
}

static long deliver(const char *body, int retry) {
    char ts[24], sig[80];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    sign(ts, body, strlen(body), sig);
    test_resp r = post_hook(body, ts, sig, retry);
    long st = r.status;
    if (st != 200) fprintf(stderr, "delivery answered %ld: %s\n", st, r.body ? r.body : "");
    test_resp_free(&r);
    return st;
}

static void refusals(void) {
    const char *body = evs[0].body;
    char ts[24], sig[80], old[24];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    snprintf(old, sizeof old, "%lld", (long long)time(NULL) - 600);
    sign(ts, "{\"other\":\"body\"}", 16, sig);
    test_resp r = post_hook(body, ts, sig, 0); /* a signature over another body */
    CHECK_INT(r.status, 401);
    char *first = r.body ? strdup(r.body) : NULL;
    test_resp_free(&r);
    sign(old, body, strlen(body), sig); /* right, but ten minutes old */
    r = post_hook(body, old, sig, 0);
    CHECK_INT(r.status, 401);
    CHECK(first && r.body && !strcmp(first, r.body)); /* the same answer */
    test_resp_free(&r);
    r = post_hook(body, NULL, NULL, 0);
    CHECK_INT(r.status, 401);
    test_resp_free(&r);
    r = post_hook(body, ts, "v0=nothex", 0);
    CHECK_INT(r.status, 401);
    test_resp_free(&r);
    free(first);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), 0);
    /* the challenge */
    const char *ch = "{\"token\":\"Jhj5dZrVaK7ZwHHjRyZWjbDl\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV"
                     "2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\",\"type\":\"url_verification\"}";
    sign(ts, ch, strlen(ch), sig);
    r = post_hook(ch, ts, sig, 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(json_string_value(json_object_get(r.json, "challenge")),
              "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    test_resp_free(&r);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), 0);
}

static void burst(void) {
    /* every event once, then retries of random ones up to TOTAL, all shuffled */
    int order[TOTAL], retry[TOTAL];
    int n = 0;
    for (int i = 0; i < nevs; i++)
        order[n] = i, retry[n++] = 0;
    while (n < TOTAL)
        order[n] = (int)(test_rand() % (uint64_t)nevs), retry[n++] = 1 + (int)(test_rand() % 3);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(test_rand() % (uint64_t)(i + 1));
        int o = order[i], r = retry[i];
        order[i] = order[j], retry[i] = retry[j];
        order[j] = o, retry[j] = r;
    }
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (deliver(evs[order[i]].body, retry[i]) != 200) bad++;
    CHECK_INT(bad, 0);
    printf("%d deliveries of %d events\n", n, nevs);
}

/* ---- checking ---- */

typedef struct doclist {
    char ext[64][64];
    int n;
} doclist;

static int list_cb(void *ctx, int64_t rowid, const char *ext, const char *hash) {
    (void)rowid, (void)hash;
    doclist *l = ctx;
    if (l->n < 64) snprintf(l->ext[l->n], sizeof l->ext[l->n], "%s", ext);
    l->n++;
    return 0;
}

static void check_documents(void) {
    store *st = NULL;
    store_tenant *t = NULL;
    char err[256];
    CHECK_INT(store_open(s.dir, STORE_OPEN_CREATE, &st, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_open(st, "default", &t), LORE_OK);
    if (!t) {
        store_close(st);
        return;
    }
    /* the expected set of documents */
    doclist want = {.n = 0};
    for (int i = 0; i < nmsgs; i++) {
        char ext[64];
        expected_doc(&msgs[i], ext);
        int seen = !ext[0];
        for (int k = 0; !seen && k < want.n; k++)
            seen = !strcmp(want.ext[k], ext);
        if (!seen) snprintf(want.ext[want.n++], 64, "%s", ext);
    }
    doclist got = {.n = 0};
    CHECK_INT(store_doc_scan_external(t, "slack", "", NULL, 1000, list_cb, &got), LORE_OK);
    CHECK_INT(got.n, want.n);
    for (int k = 0; k < want.n; k++) {
        char id[STORE_DOC_ID_LEN + 1];
        store_doc_public_id("slack", want.ext[k], id);
        store_doc *d = NULL;
        CHECK_INT(store_doc_get(t, id, 1, &d), LORE_OK);
        if (!d) {
            fprintf(stderr, "missing %s\n", want.ext[k]);
            continue;
        }
        /* every message in its document, in ts order; no old version, no
         * deleted message, nothing of another document */
        const char *last = d->text;
        for (int i = 0; i < nmsgs; i++) {
            char ext[64];
            expected_doc(&msgs[i], ext);
            for (int v = 0; v < msgs[i].nver; v++) {
                const char *at = strstr(d->text, msgs[i].text[v]);
                int should = !strcmp(ext, want.ext[k]) && v == msgs[i].nver - 1;
                if (!!at != should)
                    fprintf(stderr, "%s: %s %s\n", want.ext[k], msgs[i].text[v],
                            should ? "missing" : "should not be there");
                CHECK(!!at == should);
                if (at && should) {
                    CHECK(at >= last); /* messages are made in ts order per document */
                    last = at;
                }
            }
        }
        int priv = !strncmp(want.ext[k], PRIV, strlen(PRIV));
        CHECK_INT(d->nacl, priv ? 1 : 0);
        if (priv && d->nacl) CHECK_STR(d->acl[0], "group:slack:" PRIV);
        if (!priv) CHECK(!strncmp(d->title, "#renamed", 8));
        store_doc_free(d);
    }
    store_tenant_close(t);
    store_close(st);
}

int main(void) {
    test_seed();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *env[] = {"LORE_HOOK_RATE_PER_MIN=100000", NULL};
    if (test_server_start(&s, NULL, env) != 0) {
        CHECK(0);
        return test_summary();
    }
    test_resp r = test_post_json(&s, "/v1/connectors", s.admin_key,
                                 "{\"kind\":\"slack\",\"secret\":\"" SECRET "\"}");
    CHECK_INT(r.status, 201);
    const char *path = json_string_value(json_object_get(r.json, "path"));
    snprintf(hook_path, sizeof hook_path, "%s", path ? path : "/v1/hooks/none");
    test_resp_free(&r);
    printf("server data in %s\n", s.dir);
    build();
    CHECK(nevs < TOTAL);
    refusals();
    burst();
    CHECK_INT(test_queue_idle(&s, s.admin_key, 120), 0);
    CHECK_INT(test_jobs_count(&s, s.admin_key, "dead"), 0);
    test_server_stop(&s, SIGTERM);
    check_documents();
    for (int i = 0; i < nevs; i++)
        free(evs[i].body);
    if (test_failed)
        fprintf(stderr, "kept %s (server.log) for a look\n", s.dir);
    else
        test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
