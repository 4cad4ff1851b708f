/* The Slack connector's own cost, below the gate and the export reader:
 * messages/s through slack_put_message (state) and flush (render, ingest)
 * with one flush and commit per channel day, as the export import does per
 * file, and the process's peak memory. Then the live worst case: one more
 * message delivered into a day that already holds N messages, which
 * rewrites that day's document (linear in N).
 *
 *   build/release/slack_apply [MESSAGES [CHANNELS]]   (default 100000 50)
 *
 * A fifth of the messages are replies to an earlier message of their day. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "connectors/slack.h"
#include "ingest/ingest.h"
#include "util/timeutil.h"

#define PER_DAY 500

static void die(const char *what) {
    fprintf(stderr, "slack_apply: %s failed\n", what);
    exit(1);
}

static void put(connector_sink *sink, const char *c, const char *ts, const char *thread,
                const char *text) {
    json_t *m = json_pack("{s:s,s:s,s:s,s:s}", "type", "message", "user", "U0BENCH", "text", text,
                          "ts", ts);
    if (thread) json_object_set_new(m, "thread_ts", json_string(thread));
    char *err = NULL;
    if (slack_put_message(sink, c, m, &err) != LORE_OK) die(err ? err : "slack_put_message");
    json_decref(m);
}

int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 100000, nchan = argc > 2 ? atol(argv[2]) : 50;
    if (total < 1 || nchan < 1) die("arguments");
    char dir[] = "/tmp/lore-bench-slack-XXXXXX", err[256];
    store *st = NULL;
    store_tenant *t = NULL;
    tenant_ctx *tc = NULL;
    ingest_session *ss = NULL;
    ingest_options o;
    ingest_options_default(&o);
    if (!mkdtemp(dir) || store_open(dir, STORE_OPEN_CREATE, &st, err, sizeof err) != LORE_OK ||
        store_tenant_create(st, "b") != LORE_OK || store_tenant_open(st, "b", &t) != LORE_OK ||
        tenant_ctx_attach(t, NULL, &tc) != LORE_OK || ingest_session_new(tc, &o, &ss) != LORE_OK)
        die("opening a store");
    ingest_set_source_acl(ss, "slack", NULL, 0);
    connector_instance inst = {
        .id = "con_00000000000000000000", .tenant = "b", .kind = "slack", .source = "slack"};
    connector_sink *sink = NULL;
    if (connector_sink_new(ss, &inst, &sink) != LORE_OK) die("connector_sink_new");
    const connector_ops *ops = connector_find("slack");

    int64_t t0 = lore_mono_ns();
    long done = 0, per_chan = (total + nchan - 1) / nchan;
    char c[32], ts[48], thread[48], text[96];
    for (long ch = 0; ch < nchan && done < total; ch++) {
        snprintf(c, sizeof c, "C%08ld", ch);
        for (long i = 0; i < per_chan && done < total; i++, done++) {
            long day = i / PER_DAY, k = i % PER_DAY;
            long long secs = 1600000000LL + day * 86400 + k * 60;
            snprintf(ts, sizeof ts, "%010lld.%06ld", secs, ch);
            snprintf(text, sizeof text, "message %ld of channel %ld about deploys and rollbacks", i,
                     ch);
            if (k % 5 == 4) { /* a reply to an earlier message of the day */
                snprintf(thread, sizeof thread, "%010lld.%06ld", secs - 60 * (k % 7 + 1), ch);
                put(sink, c, ts, thread, text);
            } else {
                put(sink, c, ts, NULL, text);
            }
            if (k == PER_DAY - 1 || i == per_chan - 1) { /* a day file done */
                if (connector_sink_flush(sink, ops) != LORE_OK || ingest_commit(ss) != LORE_OK)
                    die("flush");
            }
        }
    }
    if (connector_sink_flush(sink, ops) != LORE_OK || ingest_commit(ss) != LORE_OK) die("flush");
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld messages, %ld channels: %.2f s, %.0f messages/s, peak RSS %ld MiB\n", done, nchan,
           secs, (double)done / secs, ru.ru_maxrss / 1024);

    /* live: one message into a day of N, each delivery rendering the day */
    long sizes[] = {100, 1000, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        snprintf(c, sizeof c, "CLIVE%ld", sizes[s]);
        for (long i = 0; i < sizes[s]; i++) {
            snprintf(ts, sizeof ts, "1700000000.%06ld", i);
            put(sink, c, ts, NULL, "a message of a busy day in the incident channel");
        }
        if (connector_sink_flush(sink, ops) != LORE_OK || ingest_commit(ss) != LORE_OK)
            die("flush");
        int64_t l0 = lore_mono_ns();
        int rounds = 20;
        for (int r = 0; r < rounds; r++) {
            snprintf(ts, sizeof ts, "1700000001.%06d", r);
            put(sink, c, ts, NULL, "one more message");
            if (connector_sink_flush(sink, ops) != LORE_OK || ingest_commit(ss) != LORE_OK)
                die("flush");
        }
        printf("one more message into a day of %ld: %.2f ms\n", sizes[s],
               (double)(lore_mono_ns() - l0) / 1e6 / rounds);
    }
    connector_sink_free(sink);
    ingest_session_free(ss);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
