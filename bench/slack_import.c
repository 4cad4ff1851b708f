/* Slack export import: messages/s and peak memory of `lore import slack`
 * on generated exports (tests/support/slackgen.c: 50 channels, threads,
 * edits, Slack-shaped messages, pretty-printed day files).
 *
 *   build/release/slack_import build/release/lore [MESSAGES...]
 *
 * For each size (default 100,000 and 1,000,000) it writes the export to a
 * temporary directory, creates a tenant, runs the import in a child
 * (tests/support/slackgen.c's slackgen_run) and prints the wall time, messages/s, the child's peak
 * RSS (ru_maxrss) against the export's sizes, then runs the import again
 * (nothing changes; the rate of a re-import). Seed: SLACK_BENCH_SEED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "support/slackgen.h"

static long long field(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(buf, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

static int bench(const char *lore, size_t total, const char *dir) {
    char zip[512], data[512], out[512];
    snprintf(zip, sizeof zip, "%s/export-%zu.zip", dir, total);
    snprintf(data, sizeof data, "%s/data-%zu", dir, total);
    snprintf(out, sizeof out, "%s/out", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    slackgen_cb cb = {0};
    uint64_t bytes = slackgen_write(zip, total, 0, &cb);
    if (!bytes) {
        fprintf(stderr, "cannot write %s\n", zip);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct stat sb;
    stat(zip, &sb);
    printf("export: %zu messages, %.1f MiB of day files, %.1f MiB zipped (written in %.1f s)\n",
           total, (double)bytes / 1048576.0, (double)sb.st_size / 1048576.0,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    slackgen_usage u;
    char *create[] = {(char *)lore, "tenant", "create", "bench", "--data-dir", data, NULL};
    if (slackgen_run(create, out, NULL, NULL, &u) != 0) {
        fprintf(stderr, "lore tenant create failed\n");
        return 1;
    }
    char *imp[] = {(char *)lore, "import", "slack",      zip,  "--tenant",
                   "bench",      "--json", "--data-dir", data, NULL};
    for (int pass = 0; pass < 2; pass++) {
        int rc = slackgen_run(imp, out, NULL, NULL, &u);
        long long msgs = field(out, "messages");
        if (rc != 0 || msgs <= 0) {
            fprintf(stderr, "lore import failed (exit %d)\n", rc);
            return 1;
        }
        printf("%s: %lld messages in %.1f s = %.0f messages/s; peak anonymous RSS %.1f MiB "
               "(%.0f%% of the uncompressed export), peak RSS with mapped files %.1f MiB; "
               "documents added %lld, updated %lld\n",
               pass ? "re-import" : "import", msgs, u.secs, (double)msgs / u.secs,
               (double)u.anon_kb / 1024.0, 100.0 * (double)u.anon_kb * 1024.0 / (double)bytes,
               (double)u.maxrss_kb / 1024.0, field(out, "documents_added"),
               field(out, "documents_updated"));
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: slack_import LORE_BINARY [MESSAGES...]\n");
        return 2;
    }
    const char *seed = getenv("SLACK_BENCH_SEED");
    slackgen_seed(seed ? strtoull(seed, NULL, 10) : 42);
    char dir[] = "/tmp/lore-slack-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    int rc = 0;
    if (argc == 2) {
        rc |= bench(argv[1], 100000, dir);
        rc |= bench(argv[1], 1000000, dir);
    }
    for (int i = 2; i < argc && !rc; i++)
        rc |= bench(argv[1], (size_t)strtoull(argv[i], NULL, 10), dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
