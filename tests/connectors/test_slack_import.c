/* lore import slack, end to end with the real binary, against the live
 * connector.
 *
 * The test writes a standard workspace export (users.json, channels.json,
 * groups.json, dms.json, mpims.json, one folder of pretty-printed
 * YYYY-MM-DD.json arrays per channel, deflated by tests/support/zipwrite.c)
 * of 50 channels (10 private) and 100,000 messages (20,000 in sanitizer
 * builds): threads whose replies
 * run into later days, edited messages, bot messages, joins, no files. It
 * adds a day file of bad JSON, a message with no ts, and a direct-message
 * folder. Then:
 *
 *   - `lore import slack` (the binary under test) imports it; its peak
 *     anonymous RSS stays under a fixed cap, below two thirds of the
 *     export's uncompressed size (see MEMORY_CAP_MB for the budget);
 *   - the same messages, each wrapped as the Events API `message` event a
 *     live delivery carries, go through the Slack connector's own inspect
 *     and apply (connector_slack) into a second store: both tenants hold
 *     exactly the same documents (every external id and content hash, which
 *     covers title, url, author, dates, metadata, ACL and text; a sample
 *     compared field by field too);
 *   - the bad day file and the bad message are reported by name, the rest
 *     is imported, direct messages are not;
 *   - importing again adds and changes nothing.
 *
 * LORE_TEST_SEED repeats a run; SLACK_IMPORT_MESSAGES changes the size. */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "connectors/slack.h"
#include "ingest/ingest.h"
#include "support/slackgen.h"
#include "support/zipwrite.h"
#include "test.h"

#define CHANNELS SLACKGEN_CHANNELS
#define USERS SLACKGEN_USERS

/* Peak anonymous memory of the import (heap: RssAnon sampled every 5 ms;
 * the database pages SQLite maps read-only are file cache the kernel takes
 * back, so they are not counted). The import holds one day file (here at
 * most ~1 MiB, its JSON tree a few times that), the threads a file touched,
 * an ingest batch of at most 5,000 messages' documents with their postings,
 * and SQLite's page cache, which the store bounds at 64 MiB per connection
 * (cache_size); so 64 MiB for SQLite and 64 MiB for the rest. A release
 * build measures ~90 MiB at 100,000 messages (147 MiB of day files) and
 * ~122 MiB at 1,000,000 (1.47 GB; bench/slack_import.c). Sanitizer builds
 * carry shadow memory and their allocator's own regions (300 to 400 MiB
 * whatever the export's size, measured), so their cap only catches a gross
 * blow-up; the release run holds the budget. They run 20,000 messages by
 * default, to stay within the test timeout (SLACK_IMPORT_MESSAGES=100000
 * takes about 4 minutes under ASan). */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_CAP_MB 768
#define DEFAULT_MESSAGES 20000
#else
#define MEMORY_CAP_MB 128
#define DEFAULT_MESSAGES 100000
#endif

static const char *bin;
static char dir[256];

/* The live path: each message as the Events API delivers it. */
typedef struct live {
    store *s;
    store_tenant *t;
    tenant_ctx *tc;
    ingest_session *ss;
    connector_instance inst;
    connector_sink *sink;
    uint64_t n;
    char thread_channel[16], thread_ts[32]; /* a thread's parent, for the live event after */
    int thread_private;
} live;

static void live_message(live *l, const char *channel, int is_private, const json_t *m) {
    json_t *ev = json_deep_copy(m);
    json_object_set_new(ev, "channel", json_string(channel));
    json_object_set_new(ev, "channel_type", json_string(is_private ? "group" : "channel"));
    json_object_set_new(ev, "event_ts", json_copy(json_object_get(m, "ts")));
    char eid[32];
    snprintf(eid, sizeof eid, "Ev%010llu", (unsigned long long)++l->n);
    json_t *env =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:s}", "token", "XXYYZZ", "team_id", "T00000001",
                  "api_app_id", "A00000001", "event", ev, "type", "event_callback", "event_time",
                  (json_int_t)1577836800, "event_id", eid);
    char *body = json_dumps(env, JSON_COMPACT);
    connector_request req = {NULL, NULL, (const uint8_t *)body, strlen(body), 0};
    connector_delivery d;
    memset(&d, 0, sizeof d);
    connector_verdict v = connector_slack.inspect(&req, &d);
    if (v == CONNECTOR_QUEUE) {
        char *why = NULL;
        CHECK_INT(connector_slack.apply(l->sink, d.event, env, &why), LORE_OK);
        if (why) fprintf(stderr, "live apply: %s\n", why);
        free(why);
    } else {
        /* What inspect does not queue, the live connector never applies. */
        CHECK(v == CONNECTOR_IGNORE);
    }
    free(d.answer);
    free(body);
    json_decref(env);
}

static void live_open(live *l, const char *path) {
    char err[256];
    CHECK_INT(store_open(path, STORE_OPEN_CREATE, &l->s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(l->s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(l->s, "t", &l->t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(l->t, NULL, &l->tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    o.source = "slack";
    CHECK_INT(ingest_session_new(l->tc, &o, &l->ss), LORE_OK);
    ingest_set_source_acl(l->ss, "slack", NULL, 0);
    snprintf(l->inst.tenant, sizeof l->inst.tenant, "t");
    snprintf(l->inst.kind, sizeof l->inst.kind, "slack");
    snprintf(l->inst.source, sizeof l->inst.source, "slack");
    CHECK_INT(connector_sink_new(l->ss, &l->inst, &l->sink), LORE_OK);
}

static void live_close(live *l);

/* The sink over an existing data directory's tenant (the imported one). */
static void live_attach(live *l, const char *path) {
    char err[256];
    CHECK_INT(store_open(path, 0, &l->s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_open(l->s, "t", &l->t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(l->t, NULL, &l->tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    o.source = "slack";
    CHECK_INT(ingest_session_new(l->tc, &o, &l->ss), LORE_OK);
    ingest_set_source_acl(l->ss, "slack", NULL, 0);
    snprintf(l->inst.tenant, sizeof l->inst.tenant, "t");
    snprintf(l->inst.kind, sizeof l->inst.kind, "slack");
    snprintf(l->inst.source, sizeof l->inst.source, "slack");
    CHECK_INT(connector_sink_new(l->ss, &l->inst, &l->sink), LORE_OK);
}

static int has_zebra(void *ctx, int64_t rowid, const char *external_id, const char *hash) {
    (void)external_id;
    (void)hash;
    live *l = ctx;
    store_doc *d = NULL;
    if (store_doc_get_rowid(l->t, rowid, 1, &d) == LORE_OK && d->text &&
        strstr(d->text, "zebra-from-the-live-connector")) {
        snprintf(l->thread_ts, sizeof l->thread_ts, "found");
    }
    store_doc_free(d);
    return 0;
}

/* A live reply to an imported thread updates its document: no new one. */
static void live_after_import(const char *data, const live *from) {
    live a;
    memset(&a, 0, sizeof a);
    live_attach(&a, data);
    if (!a.sink || !from->thread_ts[0]) {
        CHECK(from->thread_ts[0] != 0);
        return;
    }
    int64_t before = 0, after = 0, chunks;
    CHECK_INT(store_counts(a.t, &before, &chunks), LORE_OK);
    char ts[40];
    snprintf(ts, sizeof ts, "%.10s", from->thread_ts);
    snprintf(ts + 10, sizeof ts - 10, ".424242");
    ts[9] = (char)(ts[9] == '9' ? '8' : ts[9] + 1); /* a second later, same day or next */
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "message", "user", "U00000003",
                          "text", "a late reply zebra-from-the-live-connector", "ts", ts,
                          "thread_ts", from->thread_ts);
    live_message(&a, from->thread_channel, from->thread_private, m);
    json_decref(m);
    CHECK_INT(connector_sink_flush(a.sink, &connector_slack), LORE_OK);
    CHECK_INT(ingest_commit(a.ss), LORE_OK);
    CHECK_INT(store_counts(a.t, &after, &chunks), LORE_OK);
    CHECK_INT(after, before);
    a.thread_ts[0] = 0;
    CHECK_INT(store_doc_scan_external(a.t, "slack", "", NULL, SIZE_MAX, has_zebra, &a), LORE_OK);
    CHECK_STR(a.thread_ts, "found");
    live_close(&a);
}

static void live_close(live *l) {
    connector_sink_free(l->sink);
    ingest_session_free(l->ss);
    tenant_ctx_close(l->tc);
    store_tenant_close(l->t);
    store_close(l->s);
}

/* Writes the export and feeds the live tenant the same; returns the
 * uncompressed bytes written. */

static void cb_users(void *ctx, const json_t *users) {
    live *l = ctx;
    CHECK_INT(slack_put_users(l->sink, users), LORE_OK);
}

static void cb_channel(void *ctx, const json_t *ch, int is_private) {
    live *l = ctx;
    CHECK_INT(slack_put_channel(l->sink, ch, is_private), LORE_OK);
}

static void cb_message(void *ctx, const char *channel, int is_private, const json_t *m) {
    live *l = ctx;
    const char *ts = json_string_value(json_object_get(m, "ts"));
    if (!l->thread_ts[0] && json_object_get(m, "replies") && ts) {
        snprintf(l->thread_channel, sizeof l->thread_channel, "%s", channel);
        snprintf(l->thread_ts, sizeof l->thread_ts, "%s", ts);
        l->thread_private = is_private;
    }
    live_message(l, channel, is_private, m);
}

static void cb_day_end(void *ctx) {
    live *l = ctx;
    CHECK_INT(connector_sink_flush(l->sink, &connector_slack), LORE_OK);
}

static void cb_channel_end(void *ctx) {
    live *l = ctx;
    CHECK_INT(ingest_commit(l->ss), LORE_OK);
}

/* Runs lore with args, stdout and stderr to files, measured. */
static int run_lore(const char *const *args, const char *out, const char *errf, slackgen_usage *u) {
    static char asan[] = "ASAN_OPTIONS=quarantine_size_mb=32:detect_leaks=1";
    char *env[] = {asan, NULL};
    return slackgen_run((char *const *)args, out, errf, env, u);
}

static char *slurp(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = calloc(1, (size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) b[0] = 0;
    fclose(f);
    return b;
}

typedef struct ref {
    char *id;
    char hash[65];
} ref;
typedef struct refs {
    ref *r;
    size_t n, cap;
} refs;

static int collect(void *ctx, int64_t rowid, const char *external_id, const char *hash) {
    (void)rowid;
    refs *rs = ctx;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 1024;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
    }
    rs->r[rs->n].id = strdup(external_id);
    snprintf(rs->r[rs->n].hash, sizeof rs->r[rs->n].hash, "%s", hash);
    rs->n++;
    return 0;
}

static void all_refs(store_tenant *t, refs *rs) {
    memset(rs, 0, sizeof *rs);
    CHECK_INT(store_doc_scan_external(t, "slack", "", NULL, SIZE_MAX, collect, rs), LORE_OK);
}

static void free_refs(refs *rs) {
    for (size_t i = 0; i < rs->n; i++)
        free(rs->r[i].id);
    free(rs->r);
}

static store_doc *doc_of(store_tenant *t, const char *ext) {
    int64_t rowid;
    store_doc *d = NULL;
    if (store_doc_lookup(t, "slack", ext, &rowid, NULL) != LORE_OK) return NULL;
    if (store_doc_get_rowid(t, rowid, 1, &d) != LORE_OK) return NULL;
    return d;
}

static int same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Both tenants hold exactly the same documents. */
static void compare(store_tenant *got, store_tenant *want) {
    refs g, w;
    all_refs(got, &g);
    all_refs(want, &w);
    printf("documents: imported %zu, live %zu\n", g.n, w.n);
    CHECK(w.n > 50);
    CHECK_INT(g.n, w.n);
    size_t diff = 0;
    for (size_t i = 0; i < g.n && i < w.n; i++)
        if (strcmp(g.r[i].id, w.r[i].id) || strcmp(g.r[i].hash, w.r[i].hash)) {
            if (diff++ < 5)
                fprintf(stderr, "differs: %s (%s) vs %s (%s)\n", g.r[i].id, g.r[i].hash, w.r[i].id,
                        w.r[i].hash);
        }
    CHECK_INT(diff, 0);
    /* A sample field by field, so a failure says what differs. */
    size_t threads = 0, privates = 0;
    for (size_t k = 0; k < 200 && w.n; k++) {
        size_t i = (size_t)(test_rand() % w.n);
        store_doc *a = doc_of(got, w.r[i].id), *b = doc_of(want, w.r[i].id);
        CHECK(a && b);
        if (a && b) {
            CHECK(same_str(a->title, b->title));
            CHECK(same_str(a->url, b->url));
            CHECK(same_str(a->author, b->author));
            CHECK(same_str(a->metadata_json, b->metadata_json));
            CHECK(a->text_len == b->text_len && !memcmp(a->text, b->text, a->text_len));
            CHECK_INT(a->nacl, b->nacl);
            for (size_t j = 0; j < a->nacl && j < b->nacl; j++)
                CHECK_STR(a->acl[j], b->acl[j]);
            CHECK_INT(a->created_ms, b->created_ms);
            CHECK_INT(a->updated_ms, b->updated_ms);
            privates += a->nacl > 0;
            threads += a->text && strstr(a->text, "fixed typo") != NULL;
        }
        store_doc_free(a);
        store_doc_free(b);
    }
    printf("sample: %zu private, %zu with an edit\n", privates, threads);
    CHECK(privates > 0);
    free_refs(&g);
    free_refs(&w);
}

static json_t *summary_of(const char *out) {
    char *s = slurp(out);
    json_t *j = json_loads(s, 0, NULL);
    if (!j) fprintf(stderr, "not a JSON summary: %s\n", s);
    free(s);
    return j;
}

static long long num(json_t *o, const char *k) {
    return (long long)json_integer_value(json_object_get(o, k));
}

int main(void) {
    test_seed();
    bin = getenv("LORE_TEST_BIN");
    if (!bin) {
        fprintf(stderr, "LORE_TEST_BIN is not set\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    const char *env_n = getenv("SLACK_IMPORT_MESSAGES");
    size_t total = env_n ? (size_t)strtoull(env_n, NULL, 10) : DEFAULT_MESSAGES;
    char zpath[512], live_dir[512], data[512], out[512], errf[512];
    snprintf(zpath, sizeof zpath, "%s/export.zip", dir);
    snprintf(live_dir, sizeof live_dir, "%s/live", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(errf, sizeof errf, "%s/err", dir);

    live l;
    memset(&l, 0, sizeof l);
    live_open(&l, live_dir);
    slackgen_seed(test_rand());
    slackgen_cb cb = {cb_users, cb_channel, cb_message, cb_day_end, cb_channel_end, &l};
    uint64_t bytes = slackgen_write(zpath, total, 1, &cb);
    CHECK(bytes > 0);
    struct stat sb;
    stat(zpath, &sb);
    printf("export: %zu messages, %.1f MiB of day files, %.1f MiB zipped\n", total,
           (double)bytes / 1048576.0, (double)sb.st_size / 1048576.0);

    slackgen_usage u;
    const char *create[] = {bin, "tenant", "create", "t", "--data-dir", data, NULL};
    CHECK_INT(run_lore(create, out, errf, &u), 0);
    const char *imp[] = {bin, "import",     "slack", zpath,    "--tenant",
                         "t", "--data-dir", data,    "--json", NULL};
    int rc = run_lore(imp, out, errf, &u);
    CHECK_INT(rc, 0);
    char *errtext = slurp(errf);
    printf("import: exit %d in %.1f s, peak anonymous RSS %.1f MiB (cap %d MiB), peak RSS with "
           "mapped files %.1f MiB\n",
           rc, u.secs, (double)u.anon_kb / 1024.0, MEMORY_CAP_MB, (double)u.maxrss_kb / 1024.0);
    CHECK(u.anon_kb > 0 && u.anon_kb < MEMORY_CAP_MB * 1024L);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK((uint64_t)u.anon_kb * 1024 * 3 / 2 < bytes); /* well below the uncompressed export */
#endif
    /* Problems by name; the rest went in. */
    CHECK(strstr(errtext, "lore import: chan-07/2019-12-31.json: bad JSON") != NULL);
    CHECK(strstr(errtext, "lore import: chan-03/") != NULL && strstr(errtext, "(ts none)") != NULL);
    CHECK(strstr(errtext, "D00000001") == NULL); /* direct messages: skipped, silently */
    /* Progress shown (not a terminal: a line at the start, then one every
     * 10 s): the day files to read, then a count that grows. */
    const char *prog = strstr(errtext, "importing: "), *lastp = prog;
    for (const char *p = prog; p && (p = strstr(p + 1, "importing: ")) != NULL;)
        lastp = p;
    unsigned long long d0 = 1, of0 = 0, d1 = 0, of1 = 0;
    CHECK(prog && sscanf(prog, "importing: %llu/%llu day files, ", &d0, &of0) == 2);
    CHECK(lastp && sscanf(lastp, "importing: %llu/%llu day files, ", &d1, &of1) == 2);
    CHECK(d0 == 0 && of0 > 0 && of1 == of0);
    if (u.secs > 12) CHECK(d1 > 0 && d1 <= of1); /* a line every 10 s */
    if (test_failed) fprintf(stderr, "stderr of the import:\n%.4000s\n", errtext);
    free(errtext);
    json_t *s1 = summary_of(out);
    CHECK(s1 != NULL);
    CHECK_INT(num(s1, "channels"), 40);
    CHECK_INT(num(s1, "private_channels"), 10);
    CHECK_INT(num(s1, "users"), USERS);
    CHECK_INT(num(s1, "files_failed"), 1);
    CHECK_INT(num(s1, "files_skipped"), 2);
    CHECK_INT(num(s1, "messages_failed"), 1);
    CHECK(num(s1, "messages") >= (long long)total - 5 && num(s1, "messages") <= (long long)total);
    CHECK(num(s1, "documents_added") > (long long)total / 100);

    /* The imported tenant against the live one. */
    store *s = NULL;
    store_tenant *t = NULL;
    char err[256];
    CHECK_INT(store_open(data, 0, &s, err, sizeof err), LORE_OK);
    if (s) CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    if (t) compare(t, l.t);
    store_tenant_close(t);
    store_close(s);

    /* Again: nothing added or changed. */
    rc = run_lore(imp, out, errf, &u);
    CHECK_INT(rc, 0);
    json_t *s2 = summary_of(out);
    CHECK_INT(num(s2, "documents_added"), 0);
    CHECK_INT(num(s2, "documents_updated"), 0);
    CHECK_INT(num(s2, "messages"), num(s1, "messages"));
    json_decref(s2);
    json_decref(s1);
    CHECK_INT(store_open(data, 0, &s, err, sizeof err), LORE_OK);
    if (s) CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    if (t) compare(t, l.t);
    store_tenant_close(t);
    store_close(s);

    /* Not an export, not a ZIP: exit 2, named. */
    char notzip_path[512];
    snprintf(notzip_path, sizeof notzip_path, "%s/notes.txt", dir);
    FILE *nf = fopen(notzip_path, "w");
    fputs("these are notes, not a Slack export, and certainly not a ZIP archive\n", nf);
    fclose(nf);
    const char *notzip[] = {bin, "import",     "slack", notzip_path, "--tenant",
                            "t", "--data-dir", data,    NULL};
    CHECK_INT(run_lore(notzip, out, errf, &u), 2);
    errtext = slurp(errf);
    CHECK(strstr(errtext, "not a ZIP archive") != NULL);
    free(errtext);

    live_after_import(data, &l);

    /* Usage and refusals. */
    const char *nokind[] = {bin, "import", "--data-dir", data, NULL};
    CHECK_INT(run_lore(nokind, out, errf, &u), 1);
    const char *github[] = {bin, "import", "github", zpath, "--data-dir", data, NULL};
    CHECK_INT(run_lore(github, out, errf, &u), 1);
    errtext = slurp(errf);
    CHECK(strstr(errtext, "unknown kind 'github'") != NULL);
    free(errtext);
    const char *missing[] = {bin,        "import", "slack",      "/nonexistent/export.zip",
                             "--tenant", "t",      "--data-dir", data,
                             NULL};
    CHECK_INT(run_lore(missing, out, errf, &u), 2);
    const char *both[] = {
        bin,        "import",     "slack", zpath,         "--tenant",
        "t",        "--data-dir", data,    "--connector", "con_00000000000000000000",
        "--source", "x",          NULL};
    CHECK_INT(run_lore(both, out, errf, &u), 1);
    const char *noconn[] = {bin, "import",     "slack", zpath,         "--tenant",
                            "t", "--data-dir", data,    "--connector", "con_00000000000000000000",
                            NULL};
    CHECK_INT(run_lore(noconn, out, errf, &u), 2);
    errtext = slurp(errf);
    CHECK(strstr(errtext, "no connector con_00000000000000000000 in tenant t") != NULL);
    free(errtext);
    /* A ZIP that is no export. */
    char other[600];
    snprintf(other, sizeof other, "%s/photos.zip", dir);
    zipw *w = zipw_open(other, 0);
    CHECK(zipw_add(w, "cat.txt", "meow", 4, 8) == 0);
    CHECK(zipw_close(w) == 0);
    const char *photos[] = {bin, "import",     "slack", other, "--tenant",
                            "t", "--data-dir", data,    NULL};
    CHECK_INT(run_lore(photos, out, errf, &u), 2);
    errtext = slurp(errf);
    CHECK(strstr(errtext, "no channels.json in the archive: not a Slack workspace export") != NULL);
    free(errtext);

    live_close(&l);
    test_rmtree(dir);
    return test_summary();
}
