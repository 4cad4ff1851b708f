/* lore reindex: rebuild a tenant's search index from its stored documents,
 * as a durable job (docs/jobs.md), while searches keep using the old index
 * until the new one is complete. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to re-index (default: setting tenant)"},
    {"all", 'a', NULL, 0, "every tenant"},
    {"no-wait", 0, NULL, 0, "queue the job and return (a server or lore worker runs it)"},
};
static const cli_help help = {
    "lore reindex [--tenant T | --all] [--no-wait]",
    "Rebuild the search index of a tenant from its stored documents.",
    "Use it after changing a setting the index keeps (title_weight, bm25 settings apply at\n"
    "search time and need none). The rebuild is a job: it survives crashes, continues\n"
    "where it stopped, and writes keep being accepted meanwhile. Searches use the old\n"
    "index until the new one is complete. Without --no-wait the command runs the job\n"
    "itself (with any running server or worker helping) and waits for it.",
    "  lore reindex\n  lore reindex --tenant acme\n  lore reindex --all --no-wait",
};

/* A queued re-index: the internal id to follow it, the public one to print. */
typedef struct queued {
    int64_t id;
    char pub[STORE_JOB_PUB_LEN + 1];
} queued;

static int enqueue(cli_env *e, const char *tenant, queued *out) {
    static char *const groups[1] = {"reindex"};
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "%s", INGEST_JOB_REINDEX);
    j.groups = (char **)groups;
    j.ngroups = 1;
    j.payload = (uint8_t *)"{\"viewer\":{\"all\":true}}";
    j.payload_len = strlen((const char *)j.payload);
    j.weight = STORE_JOB_ALONE; /* steps of its own, never batched with writes */
    j.max_attempts = (int)e->cfg.job_max_attempts;
    store_enqueue_outcome o;
    lore_status st = store_job_enqueue(e->store, &j, 1, 0, 0, lore_now_ms(), &o);
    if (st == LORE_NOT_FOUND) return cli_error("reindex", CLI_FAIL, "no tenant '%s'", tenant);
    if (st != LORE_OK)
        return cli_error("reindex", CLI_FAIL, "cannot queue the re-index of %s: %s", tenant,
                         lore_status_message(st));
    out->id = j.id;
    memcpy(out->pub, j.pub, sizeof out->pub);
    return CLI_OK;
}

static int wait_for(cli_env *e, const queued *job, const char *tenant) {
    for (;;) {
        store_job *j = NULL;
        lore_status st = store_job_get(e->store, NULL, job->id, 0, &j);
        if (st != LORE_OK)
            return cli_error("reindex", CLI_FAIL, "cannot read job %s: %s", job->pub,
                             lore_status_message(st));
        if (j->state == STORE_JOB_DONE) {
            printf("re-indexed tenant %s (job %s): %s\n", tenant, job->pub,
                   j->result ? j->result : "{}");
            store_job_free(j);
            return CLI_OK;
        }
        if (j->state == STORE_JOB_DEAD) {
            int rc = cli_error("reindex", CLI_FAIL, "re-index of %s failed (job %s): %s", tenant,
                               job->pub, j->error ? j->error : "unknown error");
            store_job_free(j);
            return rc;
        }
        store_job_free(j);
        usleep(50000);
    }
}

int cmd_reindex(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    cli_pool pool = {0};
    store_tenant_info *ts = NULL;
    size_t nt = 0;
    queued *ids = NULL;
    int rc = cli_parse("reindex", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("reindex", CLI_USAGE, "reindex takes no arguments (use --tenant)");
        goto out;
    }
    if (cli_flag(&a, "all") && cli_get(&a, "tenant")) {
        rc = cli_error("reindex", CLI_USAGE, "--all and --tenant exclude each other");
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if (cli_flag(&a, "all")) {
        lore_status st = store_tenant_list(e.store, &ts, &nt);
        if (st != LORE_OK) {
            rc = cli_error("reindex", CLI_FAIL, "cannot list tenants: %s", lore_status_message(st));
            goto out;
        }
    } else {
        if (!(ts = calloc(1, sizeof *ts))) goto out;
        const char *t = cli_get(&a, "tenant");
        snprintf(ts[0].name, sizeof ts[0].name, "%s", t ? t : e.cfg.tenant);
        nt = 1;
    }
    if (!(ids = calloc(nt ? nt : 1, sizeof *ids))) goto out;
    for (size_t i = 0; i < nt; i++)
        if ((rc = enqueue(&e, ts[i].name, &ids[i]))) goto out;
    if (cli_flag(&a, "no-wait")) {
        for (size_t i = 0; i < nt; i++)
            printf("queued re-index of tenant %s as job %s\n", ts[i].name, ids[i].pub);
        goto out;
    }
    if (nt && (rc = cli_pool_start(&e, "reindex", e.cfg.workers < 0 ? 0 : e.cfg.workers, NULL, NULL,
                                   NULL, &pool)))
        goto out;
    for (size_t i = 0; i < nt; i++) {
        int r = wait_for(&e, &ids[i], ts[i].name);
        if (r) rc = r;
    }
out:
    cli_pool_stop(&pool);
    free(ids);
    free(ts);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
