/* lore worker: runs queued jobs, beside or instead of lore serve's own
 * workers, on the same data directory. Several workers (threads and
 * processes) never run one job at the same time: each claims jobs in a
 * store transaction under a lease (docs/jobs.md). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_opt opts[] = {
    {"workers", 'w', "N", 0, "worker threads (default: setting workers; 0 = one per core)"},
};
static const cli_help help = {
    "lore worker [--workers N]",
    "Run queued jobs (document writes, uploads, deletes, re-index) until stopped.",
    "Jobs are queued by lore serve and lore reindex in the data directory's store;\n"
    "any number of workers may run at once. SIGTERM or SIGINT lets the jobs in hand\n"
    "finish and stops; jobs still queued wait for the next worker.",
    "  lore worker\n  lore worker --workers 4 --data-dir /var/lib/lore",
};

int cmd_worker(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    cli_pool pool = {0};
    char err[512];
    int rc = cli_parse("worker", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("worker", CLI_USAGE, "worker takes no arguments");
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_require_migrated(&e, "worker"))) goto out;
    const char *w = cli_get(&a, "workers");
    if (w && config_set(&e.cfg, "workers", w, CONFIG_FLAG, err, sizeof err) != LORE_OK) {
        rc = cli_error("worker", CLI_USAGE, "%s", err);
        goto out;
    }
    if ((rc = cli_env_secrets(&e, "worker", 1))) goto out;
    if ((rc = cli_env_embedders(&e, "worker"))) goto out;
    cli_reembed_warn(&e, "worker");
    if (e.cfg.workers < 0) {
        rc = cli_error("worker", CLI_USAGE, "--workers must be 0 (one per core) or more");
        goto out;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if ((rc = cli_pool_start(&e, "worker", e.cfg.workers, NULL, NULL, NULL, &pool))) goto out;
    printf("lore worker: %u job workers on %s\n", pool.threads, e.cfg.data_dir);
    fflush(stdout);
    int sig = 0;
    if (sigwait(&set, &sig) != 0) sig = SIGTERM;
    fprintf(stderr, "lore worker: %s: finishing the jobs in hand\n", strsignal(sig));
    unsigned long long done = (unsigned long long)queue_pool_finished(pool.pool);
    cli_pool_stop(&pool);
    fprintf(stderr, "lore worker: stopped after finishing %llu jobs\n", done);
    rc = CLI_OK;
out:
    cli_pool_stop(&pool);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
