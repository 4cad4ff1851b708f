/* Shared by the commands that run jobs (serve, worker, and ingest, reindex
 * and tenant import, which run a pool while they wait): a worker pool with
 * lore's job handler, set up from the configuration, and the job kinds
 * other modules add to it (the connectors' "hook"). Every pool gets them:
 * a pool claims whatever job is runnable, so one that did not know a kind
 * would fail its jobs. This is where they are composed, so ingest/ never
 * includes connectors/. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_hooks.h"
#include "connectors/connector_jobs.h"
#include "util/log.h"

int cli_pool_start(cli_env *e, const char *role, int64_t workers, metrics_registry *reg,
                   void (*finished)(void *ctx, const store_job *jobs, size_t n), void *fctx,
                   cli_pool *out) {
    memset(out, 0, sizeof *out);
    if (workers < 0) return CLI_OK; /* none: an accept-only node */
    unsigned n = (unsigned)workers;
    if (!n) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (unsigned)cores : 1;
    }
    ingest_job_settings js;
    ingest_job_settings_from(&js, &e->cfg);
    js.tenant.embedders = e->embedders; /* cli_env_embedders, when the caller opened them */
    js.kinds = connector_job_kinds(&js.nkinds);
    if (ingest_job_handler(&js, &out->handler) != LORE_OK)
        return cli_error(role, CLI_FAIL, "out of memory");
    out->handler.finished = finished;
    out->handler.finished_ctx = fctx;
    const cli_test_hooks *hooks = cli_test_hooks_installed;
    if (hooks && hooks->pool_observe) hooks->pool_observe(&out->handler);
    queue_config qc;
    queue_config_from(&qc, &e->cfg);
    char name[64], err[512] = "";
    snprintf(name, sizeof name, "%s:%ld", role, (long)getpid());
    if (queue_pool_start(e->cfg.store_url, &qc, n, name, &out->handler, reg, &out->pool, err,
                         sizeof err) != LORE_OK) {
        ingest_job_handler_free(&out->handler);
        return cli_error(role, CLI_FAIL, "cannot start the job workers: %s", err);
    }
    out->threads = n;
    return CLI_OK;
}

void cli_pool_stop(cli_pool *p) {
    queue_pool_stop(p->pool);
    p->pool = NULL;
    ingest_job_handler_free(&p->handler);
}
