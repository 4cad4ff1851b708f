/* lore reembed: switch a tenant's vectors to the configured embedding
 * model as a durable job (ingest_reembed.h), or show how far the switch is
 * and audit the tenant's vectors (--status). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "embed/embed_registry.h"
#include "ingest/ingest_reembed.h"
#include "util/log.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to switch (default: setting tenant)"},
    {"status", 's', NULL, 0, "show the switch's progress and audit the vectors; queue nothing"},
    {"json", 0, NULL, 0, "with --status: print it as JSON (as GET /v1/reembed?audit=true)"},
    {"wait", 'w', NULL, 0, "run the job here too and wait until it is done, showing progress"},
};
static const cli_help help = {
    "lore reembed [--tenant T] [--status [--json]] [--wait]",
    "Move a tenant's vectors to the configured embedding model, without downtime.",
    "Vectors belong to the model that made them (embed_url, embed_model and\n"
    "embed_dimensions: the model key). After changing any of them, run this: a job builds\n"
    "the new model's vectors beside the old ones, step by step, while searches keep\n"
    "using the old ones (queries embedded with the old model); the switch is atomic\n"
    "once every chunk is embedded, then the old vectors are deleted. The job survives\n"
    "crashes and restarts (it continues from its last step), waits out provider outages\n"
    "instead of failing, and writes keep being accepted meanwhile.\n"
    "It also embeds the documents of a tenant that got an embedder after them; when the\n"
    "configured model is live and every chunk has its vector it changes nothing.\n"
    "Without --wait the job is queued for lore serve or lore worker to run. --status\n"
    "prints the phase (idle, copying, deleting), the live, building and configured\n"
    "models, the chunks embedded so far, and an audit: every live chunk has exactly\n"
    "one vector in the live slot and no vector belongs to a deleted chunk (exit 2 when\n"
    "the audit finds damage). Every process of a data directory must be configured\n"
    "with the same model. See docs/embeddings.md.",
    "  lore reembed\n  lore reembed --tenant acme --wait\n  lore reembed --status --json",
};

static int open_tenant_ctx(cli_env *e, const char *tenant) {
    return cli_env_open_tenant(e, tenant, 0);
}

static void print_progress(const char *tenant, const reembed_progress *p) {
    printf("tenant %s: phase %s\n", tenant, p->phase);
    printf("  live model:       %s\n", p->live_key[0] ? p->live_key : "(none: nothing embedded)");
    if (p->build_key[0]) printf("  building model:   %s\n", p->build_key);
    printf("  configured model: %s\n",
           p->target_key[0] ? p->target_key : "(none: embed_url is not set)");
    printf("  chunks %lld, vectors %lld, pending %lld (%.1f%%)\n", (long long)p->chunks,
           (long long)p->vectors, (long long)p->pending, p->percent);
    if (p->switch_needed)
        printf("  the configured model is not live and complete: run lore reembed\n");
}

static int status(cli_env *e, const char *tenant, int as_json) {
    char err[768] = "";
    reembed_progress p;
    vec_audit a;
    lore_status st = ingest_reembed_progress(e->ctx, e->embedders, &p, err, sizeof err);
    if (st == LORE_OK) st = ingest_vector_audit(e->ctx, 1, &a, err, sizeof err);
    if (st != LORE_OK)
        return cli_error("reembed", CLI_FAIL, "tenant %s: %s", tenant,
                         err[0] ? err : lore_status_message(st));
    if (as_json) {
        json_t *o = ingest_reembed_json(&p, &a);
        if (o) json_object_set_new(o, "tenant", json_string(tenant));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!s) return cli_error("reembed", CLI_FAIL, "out of memory");
        printf("%s\n", s);
        free(s);
    } else {
        print_progress(tenant, &p);
        printf("  audit: %s: %lld chunks, %lld vectors in the live slot (%lld in its graph), "
               "%lld without a vector (%lld waiting for the embedding job), %lld of deleted "
               "chunks, %lld not in the graph\n",
               a.ok ? "ok" : "DAMAGED", (long long)a.chunks, (long long)a.vectors,
               (long long)a.graph_live, (long long)a.missing, (long long)a.missing_pending,
               (long long)a.orphans, (long long)a.not_in_graph);
        if (!a.ok && a.missing > a.missing_pending && !p.live_key[0])
            printf("  (no vectors yet: lore reembed embeds them)\n");
    }
    /* Chunks with no vector and no slot at all are a backfill, not damage. */
    int damaged = !a.ok && (p.live_key[0] || a.orphans);
    return damaged ? CLI_FAIL : CLI_OK;
}

static int wait_for(cli_env *e, int64_t id, const char *pub, const char *tenant) {
    int64_t last_print = 0;
    for (;;) {
        store_job *j = NULL;
        lore_status st = store_job_get(e->store, NULL, id, 0, &j);
        if (st != LORE_OK)
            return cli_error("reembed", CLI_FAIL, "cannot read job %s: %s", pub,
                             lore_status_message(st));
        int state = j->state;
        if (state == STORE_JOB_DONE) {
            printf("re-embedded tenant %s (job %s): %s\n", tenant, pub,
                   j->result ? j->result : "{}");
            store_job_free(j);
            return CLI_OK;
        }
        if (state == STORE_JOB_DEAD) {
            int rc = cli_error("reembed", CLI_FAIL, "the switch of %s failed (job %s): %s", tenant,
                               pub, j->error ? j->error : "unknown error");
            store_job_free(j);
            return rc;
        }
        store_job_free(j);
        int64_t now = lore_now_ms();
        if (now - last_print >= 1000) {
            reembed_progress p;
            char err[512];
            if (ingest_reembed_progress(e->ctx, e->embedders, &p, err, sizeof err) == LORE_OK)
                printf("%s: %s, %lld of %lld chunks (%.1f%%)\n", tenant, p.phase,
                       (long long)p.vectors, (long long)p.chunks, p.percent);
            fflush(stdout);
            last_print = now;
        }
        usleep(50000);
    }
}

int cmd_reembed(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    cli_pool pool = {0};
    int rc = cli_parse("reembed", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos) {
        rc = cli_error("reembed", CLI_USAGE, "reembed takes no arguments (use --tenant)");
        goto out;
    }
    if (cli_flag(&a, "json") && !cli_flag(&a, "status")) {
        rc = cli_error("reembed", CLI_USAGE, "--json goes with --status");
        goto out;
    }
    if (cli_flag(&a, "status") && cli_flag(&a, "wait")) {
        rc = cli_error("reembed", CLI_USAGE, "--status and --wait exclude each other");
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_embedders(&e, "reembed"))) goto out;
    const char *tenant = cli_get(&a, "tenant");
    if (!tenant) tenant = e.cfg.tenant;
    if (!cli_flag(&a, "status") && !e.embedders) {
        rc = cli_error("reembed", CLI_USAGE,
                       "no embedding model is configured: set embed_url and embed_model "
                       "(docs/embeddings.md), then run lore reembed");
        goto out;
    }
    if ((rc = open_tenant_ctx(&e, tenant))) goto out;
    if (cli_flag(&a, "status")) {
        rc = status(&e, tenant, cli_flag(&a, "json"));
        goto out;
    }
    store_job j;
    memset(&j, 0, sizeof j);
    ingest_reembed_job(&j, tenant);
    j.max_attempts = (int)e.cfg.job_max_attempts;
    store_enqueue_outcome o;
    lore_status st = store_job_enqueue(e.store, &j, 1, 0, 0, lore_now_ms(), &o);
    if (st != LORE_OK) {
        rc = cli_error("reembed", CLI_FAIL, "cannot queue the switch of %s: %s", tenant,
                       lore_status_message(st));
        goto out;
    }
    if (!cli_flag(&a, "wait")) {
        printf("queued the switch of tenant %s to model %s as job %s (lore reembed --status "
               "shows its progress; lore serve or lore worker runs it)\n",
               tenant,
               embed_registry_configured(e.embedders)
                   ->ops->model_key(embed_registry_configured(e.embedders)),
               j.pub);
        goto out;
    }
    if ((rc = cli_pool_start(&e, "reembed", e.cfg.workers < 0 ? 0 : e.cfg.workers, NULL, NULL, NULL,
                             &pool)))
        goto out;
    rc = wait_for(&e, j.id, j.pub, tenant);
out:
    cli_pool_stop(&pool);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}

/* At serve and worker start: a tenant whose vectors are of another model
 * than the configured one is searched with the old model until lore reembed
 * switches it; one with chunks and no vectors has no semantic search until
 * lore reembed embeds them. Says so once per tenant (at most
 * REEMBED_WARN_TENANTS looked at). */
#define REEMBED_WARN_TENANTS 1000

void cli_reembed_warn(cli_env *e, const char *cmd) {
    if (!e->embedders) return;
    embedder *cfgd = embed_registry_configured(e->embedders);
    const char *want = cfgd->ops->model_key(cfgd);
    store_tenant_info *ts = NULL;
    size_t n = 0;
    if (store_tenant_list(e->store, &ts, &n) != LORE_OK) return;
    for (size_t i = 0; i < n && i < REEMBED_WARN_TENANTS; i++) {
        tenant_ctx *c = NULL;
        vec_rebuild_status rs;
        char err[256];
        if (tenant_ctx_open(e->store, ts[i].name, &e->tenant_settings, &c) != LORE_OK) continue;
        if (tenant_ctx_vector_status(c, &rs, err, sizeof err) == LORE_OK) {
            if (rs.phase == VEC_REBUILD_COPYING)
                LORE_INFO("%s: tenant %s: a switch to model %s is under way (lore reembed "
                          "--status --tenant %s)",
                          cmd, ts[i].name, rs.build_key, ts[i].name);
            else if (rs.live_key[0] && strcmp(rs.live_key, want))
                LORE_WARN("%s: tenant %s: its vectors are of model %s, not the configured %s; "
                          "searches embed queries with the old model until `lore reembed "
                          "--tenant %s` switches it",
                          cmd, ts[i].name, rs.live_key, want, ts[i].name);
            else if (!rs.live_key[0] && ts[i].chunks > 0)
                LORE_WARN("%s: tenant %s: %lld chunks and no vectors (written before the "
                          "embedder was configured): `lore reembed --tenant %s` embeds them",
                          cmd, ts[i].name, (long long)ts[i].chunks, ts[i].name);
        }
        tenant_ctx_close(c);
    }
    free(ts);
}
