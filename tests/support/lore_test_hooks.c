/* The test build of the binary, lore-test: src/main.c linked with this file,
 * which installs the test hooks (src/cli/cli_hooks.h) before main runs.
 *
 * - LORE_TEST_MCP_FIXTURES=1 serves the MCP conformance suite's fixtures
 *   (mcp_fixtures.c) beside lore's tools; production mode still refuses it.
 * - LORE_TEST_JOB_TRACE=<file> makes workers append "start|end <job>
 *   <worker> <ns>" lines to file, so a test can check that no job ever ran
 *   on two workers at once (a released job's run is not written). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli_hooks.h"
#include "support/mcp_fixtures.h"
#include "util/timeutil.h"

static const mcp_extension *fixtures(void) {
    return &mcp_test_fixtures;
}

/* A start line (stamped t0) and an end line per job once the batch has
 * run, except for jobs the handler released (not run, or rolled back with a
 * failed neighbour): they run again, and only those runs count. */
static void trace(void *ctx, const store_job *jobs, const queue_result *res, size_t n,
                  const char *who, int64_t t0) {
    int fd = (int)(intptr_t)ctx;
    int64_t t1 = lore_mono_ns();
    for (size_t i = 0; i < n; i++) {
        if (res[i].release) continue;
        char line[320];
        int len = snprintf(line, sizeof line, "start %lld %s %lld\nend %lld %s %lld\n",
                           (long long)jobs[i].id, who, (long long)t0, (long long)jobs[i].id, who,
                           (long long)t1);
        if (len > 0 && write(fd, line, (size_t)len) < 0) return;
    }
}

static void pool_observe(queue_handler *h) {
    static int fd = -1;
    const char *path = getenv("LORE_TEST_JOB_TRACE");
    if (!path || !*path) return;
    if (fd < 0) fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "lore-test: cannot open LORE_TEST_JOB_TRACE %s\n", path);
        exit(2);
    }
    h->observe = trace;
    h->observe_ctx = (void *)(intptr_t)fd;
}

static const cli_test_hooks hooks = {CLI_TEST_HOOKS_VERSION, fixtures, pool_observe};

__attribute__((constructor)) static void install_hooks(void) {
    cli_test_hooks_installed = &hooks;
}
