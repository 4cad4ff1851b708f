/* The Slack export generator (slackgen.h). */
#include "support/slackgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/zipwrite.h"

#define CHANNELS SLACKGEN_CHANNELS
#define USERS SLACKGEN_USERS
#define DAY_S 86400
#define START_S 1577836800 /* 2020-01-01T00:00:00Z */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

void slackgen_seed(uint64_t seed) {
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

static uint64_t sg_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct msg {
    json_t *m;  /* the exported message */
    int64_t ts; /* microseconds since the epoch */
} msg;

static const char *words[] = {"deploy",   "the",      "build",   "is",       "green",   "again",
                              "after",    "rollback", "please",  "review",   "PR",      "for",
                              "search",   "index",    "latency", "p99",      "went",    "up",
                              "on",       "staging",  "lunch",   "meeting",  "moved",   "to",
                              "Thursday", "customer", "asked",   "about",    "pricing", "and",
                              "SSO",      "support",  "thanks",  "everyone", "ship",    "it",
                              "bug",      "in",       "parser",  "fixed",    "with",    "tests"};

static void ts_str(int64_t us, char out[32]) {
    snprintf(out, 32, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

static void user_id(int u, char out[16]) {
    snprintf(out, 16, "U%08d", u + 1);
}

static void chan_id(int c, char out[16]) {
    snprintf(out, 16, "%c%08d", c % 5 == 0 ? 'G' : 'C', c + 1);
}

static char *words_text(int n) {
    char *s = malloc((size_t)n * 12 + 1);
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)sprintf(s + used, "%s%s", i ? " " : "",
                                words[sg_rand() % (sizeof words / sizeof words[0])]);
    s[used] = 0;
    return s;
}

static json_t *user_profile(int u) {
    char name[32], id[16];
    snprintf(name, sizeof name, "person%d", u + 1);
    user_id(u, id);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "avatar_hash", "g1a2b3c4d5e6",
                     "image_72",
                     "https://secure.gravatar.com/avatar/1a2b3c4d5e6f.jpg?s=72&d=https%3A%2F%2Fa."
                     "slack-edge.com%2Fdf10d%2Fimg%2Favatars%2Fava_0001-72.png",
                     "first_name", name, "real_name", name, "display_name", name, "team",
                     "T00000001", "name", name, "is_restricted", 0, "is_ultra_restricted", 0);
}

/* One exported message of user u at time us. */
static json_t *new_message(int u, int64_t us) {
    char ts[32], uid[16], cmid[40];
    ts_str(us, ts);
    user_id(u, uid);
    snprintf(cmid, sizeof cmid, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
             (unsigned long long)(sg_rand() & 0xffffffff), (unsigned long long)(sg_rand() & 0xffff),
             (unsigned long long)(sg_rand() & 0xfff), (unsigned long long)(sg_rand() & 0xfff),
             (unsigned long long)(sg_rand() & 0xffffffffffffull));
    char *text = words_text(4 + (int)(sg_rand() % 40));
    json_t *m = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:[{s:s, s:s, s:[{s:s, s:[{s:s, s:s}]}]}]}",
        "client_msg_id", cmid, "type", "message", "text", text, "user", uid, "ts", ts, "team",
        "T00000001", "user_team", "T00000001", "user_profile", user_profile(u), "blocks", "type",
        "rich_text", "block_id", "AbC1", "elements", "type", "rich_text_section", "elements",
        "type", "text", "text", text);
    free(text);
    return m;
}

/* The messages of channel c, in time order; threads get their parents'
 * reply fields. */
static size_t channel_messages(int c, size_t n, msg *out) {
    int64_t t = ((int64_t)START_S + (int64_t)(sg_rand() % DAY_S)) * 1000000;
    size_t open[16], nopen = 0;
    int left[16];
    for (size_t i = 0; i < n; i++) {
        t += (int64_t)(60 + sg_rand() % 5000) * 1000000 + (int64_t)(sg_rand() % 999999);
        int u = (int)(sg_rand() % USERS);
        json_t *m;
        uint64_t roll = sg_rand() % 100;
        if (nopen && roll < 30) { /* a reply */
            size_t k = (size_t)(sg_rand() % nopen);
            json_t *p = out[open[k]].m;
            m = new_message(u, t);
            json_object_set(m, "thread_ts", json_object_get(p, "ts"));
            json_object_set(m, "parent_user_id", json_object_get(p, "user"));
            if (!json_object_get(p, "replies")) {
                json_object_set(p, "thread_ts", json_object_get(p, "ts"));
                json_object_set_new(p, "replies", json_array());
                json_object_set_new(p, "reply_users", json_array());
                json_object_set_new(p, "subscribed", json_false());
            }
            json_array_append_new(json_object_get(p, "replies"),
                                  json_pack("{s:O, s:O}", "user", json_object_get(m, "user"), "ts",
                                            json_object_get(m, "ts")));
            json_array_append(json_object_get(p, "reply_users"), json_object_get(m, "user"));
            json_object_set_new(
                p, "reply_count",
                json_integer((json_int_t)json_array_size(json_object_get(p, "replies"))));
            json_object_set_new(
                p, "reply_users_count",
                json_integer((json_int_t)json_array_size(json_object_get(p, "reply_users"))));
            json_object_set(p, "latest_reply", json_object_get(m, "ts"));
            if (--left[k] == 0) {
                open[k] = open[nopen - 1];
                left[k] = left[nopen - 1];
                nopen--;
            }
        } else if (roll < 32) { /* a join */
            char uid[16], ts[32], text[64];
            user_id(u, uid);
            ts_str(t, ts);
            snprintf(text, sizeof text, "<@%s> has joined the channel", uid);
            m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "message", "subtype", "channel_join",
                          "ts", ts, "user", uid, "text", text);
        } else if (roll < 34) { /* a bot */
            char ts[32];
            ts_str(t, ts);
            m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "message", "subtype",
                          "bot_message", "ts", ts, "bot_id", "B00000001", "username", "deploybot",
                          "text", "Deployed build 1234 to production");
        } else {
            m = new_message(u, t);
            if (nopen < 16 && roll >= 90) { /* a thread starts */
                open[nopen] = i;
                left[nopen++] = 1 + (int)(sg_rand() % 8);
            }
        }
        if (roll >= 34 && roll < 40) { /* edited later */
            char ets[32];
            ts_str(t + 120000000, ets);
            json_object_set_new(
                m, "edited",
                json_pack("{s:O, s:s}", "user", json_object_get(m, "user"), "ts", ets));
            char *tx = NULL;
            if (asprintf(&tx, "%s (fixed typo)", json_string_value(json_object_get(m, "text"))) > 0)
                json_object_set_new(m, "text", json_string(tx));
            free(tx);
        }
        (void)c;
        out[i].m = m;
        out[i].ts = t;
    }
    return n;
}

static int64_t day_of(int64_t us) {
    return us / 1000000 / DAY_S;
}

static void day_name(const char *folder, int64_t day, char out[128]) {
    time_t tt = (time_t)(day * DAY_S);
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 128, "%s/%04d-%02d-%02d.json", folder, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

static int add_json(zipw *w, const char *name, json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(4) | JSON_ENCODE_ANY);
    int bad = zipw_add(w, name, s, strlen(s), 8);
    free(s);
    return bad;
}

uint64_t slackgen_write(const char *zpath, size_t total, int problems, const slackgen_cb *cb) {
    zipw *w = zipw_open(zpath, 0);
    if (!w) return 0;
    uint64_t bytes = 0;
    int bad = 0;
    json_t *users = json_array();
    for (int u = 0; u < USERS; u++) {
        char id[16], name[32];
        user_id(u, id);
        snprintf(name, sizeof name, "person%d", u + 1);
        json_array_append_new(users, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:I}", "id", id,
                                               "team_id", "T00000001", "name", name, "real_name",
                                               name, "deleted", 0, "profile", user_profile(u),
                                               "updated", (json_int_t)1577836800));
    }
    bad |= add_json(w, "users.json", users);
    if (cb->users) cb->users(cb->ctx, users);
    json_decref(users);
    json_t *pub = json_array(), *priv = json_array();
    for (int c = 0; c < CHANNELS; c++) {
        char id[16], name[32];
        chan_id(c, id);
        snprintf(name, sizeof name, "chan-%02d", c);
        json_t *ch = json_pack("{s:s, s:s, s:I, s:s, s:b, s:[s,s], s:{s:s, s:s, s:I}}", "id", id,
                               "name", name, "created", (json_int_t)1577836800, "creator",
                               "U00000001", "is_archived", 0, "members", "U00000001", "U00000002",
                               "topic", "value", "", "creator", "", "last_set", (json_int_t)0);
        if (c % 5 == 0) json_object_set_new(ch, "is_private", json_true());
        if (cb->channel) cb->channel(cb->ctx, ch, c % 5 == 0);
        json_array_append_new(c % 5 == 0 ? priv : pub, ch);
    }
    bad |= add_json(w, "channels.json", pub);
    bad |= add_json(w, "groups.json", priv);
    json_decref(pub);
    json_decref(priv);
    json_t *dms =
        json_pack("[{s:s, s:[s,s]}]", "id", "D00000001", "members", "U00000001", "U00000002");
    bad |= add_json(w, "dms.json", dms);
    json_decref(dms);
    json_t *mp = json_pack("[{s:s, s:s}]", "id", "G99999999", "name", "mpdm-person1--person2-1");
    bad |= add_json(w, "mpims.json", mp);
    json_decref(mp);
    json_t *dm = json_pack("[{s:s, s:s, s:s, s:s}]", "type", "message", "user", "U00000001", "text",
                           "a direct message that must not be imported", "ts", "1577900000.000100");
    if (problems) {
        bad |= add_json(w, "D00000001/2020-01-01.json", dm);
        bad |= add_json(w, "mpdm-person1--person2-1/2020-01-01.json", dm);
    }
    json_decref(dm);
    if (cb->day_end) cb->day_end(cb->ctx);
    msg *ms = calloc(total / CHANNELS + 1, sizeof *ms);
    for (int c = 0; c < CHANNELS; c++) {
        char id[16], folder[32];
        chan_id(c, id);
        snprintf(folder, sizeof folder, "chan-%02d", c);
        size_t n = channel_messages(c, total / CHANNELS, ms);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            json_t *day = json_array();
            while (j < n && day_of(ms[j].ts) == day_of(ms[i].ts)) {
                json_array_append(day, ms[j].m);
                if (cb->message) cb->message(cb->ctx, id, c % 5 == 0, ms[j].m);
                j++;
            }
            if (problems && c == 3 && i == 0) /* a message the connector cannot take: no ts */
                json_array_append_new(day, json_pack("{s:s, s:s, s:s}", "type", "message", "user",
                                                     "U00000001", "text", "no ts"));
            char name[128];
            day_name(folder, day_of(ms[i].ts), name);
            char *s = json_dumps(day, JSON_INDENT(4));
            bytes += strlen(s);
            bad |= zipw_add(w, name, s, strlen(s), 8);
            free(s);
            json_decref(day);
            if (cb->day_end) cb->day_end(cb->ctx);
            for (; i < j; i++)
                json_decref(ms[i].m);
        }
        if (cb->channel_end) cb->channel_end(cb->ctx);
    }
    free(ms);
    /* A day file of bad JSON: reported by name, nothing of it imported. */
    const char *badjson = "[{\"type\": \"message\", \"user\": \"U00000001\", \"text\": \"cut";
    if (problems) bad |= zipw_add(w, "chan-07/2019-12-31.json", badjson, strlen(badjson), 8);
    bad |= zipw_close(w);
    return bad ? 0 : bytes;
}

static long anon_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8)) kb = atol(line + 8);
    fclose(f);
    return kb;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int slackgen_run(char *const *argv, const char *out, const char *err, char *const *env,
                 slackgen_usage *u) {
    memset(u, 0, sizeof *u);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo >= 0) dup2(fo, 1);
        if (fe >= 0) dup2(fe, 2);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        long a = anon_kb(pid);
        if (a > u->anon_kb) u->anon_kb = a;
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid) break;
        if (r < 0) return -1;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    u->secs = now_s() - t0;
    u->maxrss_kb = ru.ru_maxrss;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}
