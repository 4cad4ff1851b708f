/* A generator of standard Slack workspace exports for the import test and
 * bench (tests/support/slackgen.c): users.json, channels.json (40 public),
 * groups.json (10 private), dms.json and mpims.json, and one folder of
 * pretty-printed YYYY-MM-DD.json arrays per channel, deflated. Messages are
 * shaped like Slack's (client_msg_id, user_profile, rich-text blocks):
 * threads whose replies run into later days, edits, bot messages, joins,
 * no files. Deterministic for a seed. With problems set it adds a day file
 * of bad JSON (chan-07/2019-12-31.json), a message without a ts in chan-03,
 * and a direct-message and a group-DM folder that an import must skip.
 * Never linked into lore. */
#ifndef LORE_TEST_SUPPORT_SLACKGEN_H
#define LORE_TEST_SUPPORT_SLACKGEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SLACKGEN_CHANNELS 50
#define SLACKGEN_USERS 40

/* What was written, for a caller that feeds the same elsewhere (the live
 * connector): every callback may be NULL. Messages come channel by
 * channel, day by day, in time order; the bad ones are not given. */
typedef struct slackgen_cb {
    void (*users)(void *ctx, const json_t *users);
    void (*channel)(void *ctx, const json_t *channel, int is_private);
    void (*message)(void *ctx, const char *channel_id, int is_private, const json_t *message);
    void (*day_end)(void *ctx);
    void (*channel_end)(void *ctx);
    void *ctx;
} slackgen_cb;

void slackgen_seed(uint64_t seed);
/* Writes an export of about total messages to zpath; returns the bytes of
 * its day files (uncompressed), 0 on a write error. */
uint64_t slackgen_write(const char *zpath, size_t total, int problems, const slackgen_cb *cb);

/* Runs argv (argv[0] the binary) with stdout and stderr to files (NULL:
 * /dev/null) and env set ("NAME=value" strings, NULL-terminated, may be
 * NULL), and measures it: wall seconds, peak RSS (wait4's ru_maxrss, which
 * counts file pages SQLite maps as well) and peak anonymous RSS (RssAnon of
 * /proc/PID/status sampled every 5 ms: the heap, SQLite's page cache
 * included). Returns the exit code, 128 + signal, or -1. */
typedef struct slackgen_usage {
    double secs;
    long maxrss_kb, anon_kb;
} slackgen_usage;
int slackgen_run(char *const *argv, const char *out, const char *err, char *const *env,
                 slackgen_usage *u);

#endif
