/* lore jobs list|show|retry|purge: the durable job queue by hand. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "only this tenant's jobs (default: every tenant)"},
    {"state", 's', "STATE", 0, "ready, leased, done or dead"},
    {"limit", 'n', "N", 0, "list at most N jobs (default 50); show: N problems a page (100)"},
    {"page", 'p', "N", 0, "show: page N of the job's problems (default 1)"},
    {"older-than", 0, "DAYS", 0, "purge: finished more than DAYS ago (default 0: all)"},
};
static const cli_help help = {
    "lore jobs list [--tenant T] [--state S] [--limit N]\n"
    "       lore jobs show ID [--page N] [--limit N]\n"
    "       lore jobs retry ID... | --state dead [--tenant T]\n"
    "       lore jobs purge [--state done|dead] [--older-than DAYS] [--tenant T]",
    "Inspect and operate the job queue (docs/jobs.md).",
    "list prints the newest jobs first. show prints one job, with its last error and\n"
    "its result (JSON); for an ingest (path) job it then lists every problem the walk\n"
    "met, errors and notes, a page at a time (--page, --limit).\n"
    "retry puts dead-lettered jobs back in the queue (attempts reset); with\n"
    "--state dead it retries every dead job (of --tenant). purge deletes finished\n"
    "jobs (done and dead, or --state) and their stored payloads; workers also purge\n"
    "them on their own after job_retention_days.",
    "  lore jobs list --state dead\n  lore jobs show job_5f0c2a9e81d34b7760aa19c3\n"
    "  lore jobs show job_5f0c2a9e81d34b7760aa19c3 --page 2 --limit 500\n"
    "  lore jobs retry --state dead\n"
    "  lore jobs purge --state done --older-than 7",
};

static void fmt_time(int64_t ms, char *out, int len) {
    if (!ms)
        snprintf(out, (size_t)len, "-");
    else
        lore_format_iso8601(ms, out, len);
}

static void print_row(const store_job *j) {
    char created[40];
    fmt_time(j->created_ms, created, sizeof created);
    printf("%-28s %-16s %-9s %-6s %2d/%-2d %s  %s\n", j->pub, j->tenant, j->kind,
           queue_state_name(j->state), j->attempts, j->max_attempts, created,
           j->error ? j->error : "");
}

static int do_list(cli_env *e, const char *tenant, int state, size_t limit) {
    store_job *jobs = NULL;
    size_t n = 0;
    lore_status st = store_job_list(e->store, tenant, state, 0, limit, &jobs, &n);
    if (st != LORE_OK)
        return cli_error("jobs", CLI_FAIL, "cannot list jobs: %s", lore_status_message(st));
    printf("%-28s %-16s %-9s %-6s %-5s %-20s  %s\n", "ID", "TENANT", "KIND", "STATE", "TRIES",
           "CREATED", "LAST ERROR");
    for (size_t i = 0; i < n; i++)
        print_row(&jobs[i]);
    store_jobs_free(jobs, n);
    return CLI_OK;
}

/* A job id as printed (job_...), or the number of a job queued before
 * public ids (store_job_find). */
static int parse_id(const char *s) {
    size_t n = strlen(s);
    if (!n || n > STORE_JOB_REF_MAX) return -1;
    if (!strncmp(s, STORE_JOB_PUB_PREFIX, strlen(STORE_JOB_PUB_PREFIX))) return 0;
    return strspn(s, "0123456789") == n && s[0] != '0' ? 0 : -1;
}

/* Prints page `page` (from 1) of a path job's problems file, `per` lines a
 * page. The file is read line by line: memory stays one line. */
static int show_problems(cli_env *e, const store_job *j, size_t page, size_t per) {
    char path[4096];
    int temp = 0;
    if (!j->blob || strcmp(j->kind, "path") || !j->result ||
        store_blob_local_path(e->store, j->tenant, j->blob, NULL, path, sizeof path, &temp) !=
            LORE_OK)
        return CLI_OK;
    FILE *f = fopen(path, "re");
    if (temp) unlink(path); /* open or not, the copy is not needed past here */
    if (!f) {
        if (j->state == STORE_JOB_DONE)
            printf("problems:     none recorded (%s)\n", strerror(errno));
        return CLI_OK;
    }
    char *line = NULL;
    size_t cap = 0, n = 0, first = (page - 1) * per;
    size_t errors = 0;
    while (getline(&line, &cap, f) >= 0) {
        json_t *x = json_loads(line, 0, NULL);
        int err = json_is_true(json_object_get(x, "error"));
        errors += err;
        if (n >= first && n < first + per) {
            if (n == first) printf("problems (page %zu, %zu a page):\n", page, per);
            printf("  %5zu %-5s %s: %s\n", n + 1, err ? "error" : "note",
                   x ? json_string_value(json_object_get(x, "path")) : "?",
                   x ? json_string_value(json_object_get(x, "message")) : "(unreadable line)");
        }
        json_decref(x);
        n++;
    }
    free(line);
    fclose(f);
    size_t pages = (n + per - 1) / per;
    if (n && first >= n)
        return cli_error("jobs", CLI_USAGE, "--page %zu: the job has %zu problem(s), %zu page(s)",
                         page, n, pages);
    printf("problems:     %zu (%zu errors), page %zu of %zu\n", n, errors, n ? page : 0, pages);
    return CLI_OK;
}

static int do_show(cli_env *e, const char *tenant, const char *arg, size_t page, size_t per) {
    if (parse_id(arg))
        return cli_error("jobs", CLI_USAGE, "'%.80s' is not a job id (job_ and 24 hex digits)",
                         arg);
    store_job *j = NULL;
    lore_status st = store_job_find(e->store, tenant, arg, 0, &j);
    if (st == LORE_NOT_FOUND) return cli_error("jobs", CLI_FAIL, "no job %s", arg);
    if (st != LORE_OK)
        return cli_error("jobs", CLI_FAIL, "cannot read job: %s", lore_status_message(st));
    char c[40], s[40], f[40], v[40];
    fmt_time(j->created_ms, c, sizeof c);
    fmt_time(j->started_ms, s, sizeof s);
    fmt_time(j->finished_ms, f, sizeof f);
    fmt_time(j->visible_ms, v, sizeof v);
    printf("id:           %s\ntenant:       %s\nkind:         %s\nstate:        %s\n"
           "attempts:     %d of %d\ncreated:      %s\nlast started: %s\nfinished:     %s\n"
           "%s %s\nworker:       %s\ndedup key:    %s\ndocuments:    %zu\n",
           j->pub, j->tenant, j->kind, queue_state_name(j->state), j->attempts, j->max_attempts, c,
           s, f, j->state == STORE_JOB_LEASED ? "lease until: " : "visible from:", v,
           j->worker ? j->worker : "-", j->dedup_key ? j->dedup_key : "-", j->ngroups);
    if (j->error) printf("last error:   %s\n", j->error);
    if (j->result) printf("result:       %s\n", j->result);
    int rc = show_problems(e, j, page, per);
    store_job_free(j);
    return rc;
}

static int retry_one(cli_env *e, const char *tenant, const char *ref) {
    store_job *j = NULL;
    lore_status st = store_job_find(e->store, tenant, ref, 0, &j);
    if (st == LORE_OK) st = store_job_retry(e->store, j->tenant, j->id, lore_now_ms());
    const char *id = j ? j->pub : ref;
    int rc = CLI_OK;
    if (st == LORE_NOT_FOUND)
        rc = cli_error("jobs", CLI_FAIL, "no job %s", ref);
    else if (st == LORE_INVALID)
        rc = cli_error("jobs", CLI_FAIL, "job %s is not dead; only dead jobs are retried", id);
    else if (st != LORE_OK)
        rc = cli_error("jobs", CLI_FAIL, "cannot retry job %s: %s", id, lore_status_message(st));
    else
        printf("job %s requeued\n", id);
    store_job_free(j);
    return rc;
}

static int do_retry(cli_env *e, const char *tenant, int state, const cli_args *a) {
    if (a->npos > 1) {
        int rc = CLI_OK;
        for (size_t i = 1; i < a->npos; i++) {
            if (parse_id(a->pos[i]))
                return cli_error("jobs", CLI_USAGE,
                                 "'%.80s' is not a job id (job_ and 24 hex digits)", a->pos[i]);
            int r = retry_one(e, tenant, a->pos[i]);
            if (r) rc = r;
        }
        return rc;
    }
    if (state != STORE_JOB_DEAD)
        return cli_error("jobs", CLI_USAGE, "retry needs job ids or --state dead");
    size_t total = 0;
    for (;;) { /* page through: each retried job leaves the dead list */
        store_job *jobs = NULL;
        size_t n = 0;
        lore_status st = store_job_list(e->store, tenant, STORE_JOB_DEAD, 0, 500, &jobs, &n);
        if (st != LORE_OK)
            return cli_error("jobs", CLI_FAIL, "cannot list jobs: %s", lore_status_message(st));
        for (size_t i = 0; i < n && st == LORE_OK; i++)
            st = store_job_retry(e->store, jobs[i].tenant, jobs[i].id, lore_now_ms());
        store_jobs_free(jobs, n);
        if (st != LORE_OK)
            return cli_error("jobs", CLI_FAIL, "cannot retry: %s", lore_status_message(st));
        total += n;
        if (!n) break;
    }
    printf("%zu dead job(s) requeued\n", total);
    return CLI_OK;
}

static int do_purge(cli_env *e, const char *tenant, int state, const char *older) {
    if (state != -1 && state != STORE_JOB_DONE && state != STORE_JOB_DEAD)
        return cli_error("jobs", CLI_USAGE, "purge takes --state done or --state dead");
    double days = 0;
    if (older) {
        char *end;
        days = strtod(older, &end);
        if (!*older || *end || days < 0)
            return cli_error("jobs", CLI_USAGE, "--older-than takes a number of days");
    }
    int64_t before = lore_now_ms() - (int64_t)(days * 86400000.0) + (days > 0 ? 0 : 1);
    int64_t n = 0;
    lore_status st =
        store_job_purge(e->store, tenant, state, before, store_blob_remove, e->store, &n);
    if (st != LORE_OK)
        return cli_error("jobs", CLI_FAIL, "cannot purge: %s", lore_status_message(st));
    printf("%lld job(s) purged\n", (long long)n);
    return CLI_OK;
}

int cmd_jobs(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    int rc = cli_parse("jobs", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (!a.npos) {
        rc = cli_error("jobs", CLI_USAGE, "which: list, show, retry or purge (see --help)");
        goto out;
    }
    const char *sub = a.pos[0], *tenant = cli_get(&a, "tenant"), *sv = cli_get(&a, "state");
    int state = -1;
    if (sv && (state = queue_state_parse(sv)) < 0) {
        rc = cli_error("jobs", CLI_USAGE, "--state %s: one of ready, leased, done, dead", sv);
        goto out;
    }
    size_t limit = 50;
    const char *lv = cli_get(&a, "limit");
    if (lv) {
        char *end;
        long long v = strtoll(lv, &end, 10);
        if (!*lv || *end || v < 1 || v > 100000) {
            rc = cli_error("jobs", CLI_USAGE, "--limit takes 1 to 100000");
            goto out;
        }
        limit = (size_t)v;
    }
    size_t page = 1;
    const char *pv = cli_get(&a, "page");
    if (pv) {
        char *end;
        long long v = strtoll(pv, &end, 10);
        if (!*pv || *end || v < 1 || v > 1000000000) {
            rc = cli_error("jobs", CLI_USAGE, "--page takes a number from 1");
            goto out;
        }
        page = (size_t)v;
    }
    if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "retry") &&
        strcmp(sub, "purge")) {
        rc =
            cli_error("jobs", CLI_USAGE, "unknown subcommand '%s' (list, show, retry, purge)", sub);
        goto out;
    }
    if (!strcmp(sub, "show") && a.npos != 2) {
        rc = cli_error("jobs", CLI_USAGE, "show takes one job id");
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if (!strcmp(sub, "list"))
        rc = do_list(&e, tenant, state, limit);
    else if (!strcmp(sub, "show"))
        rc = do_show(&e, tenant, a.pos[1], page, lv ? limit : 100);
    else if (!strcmp(sub, "retry"))
        rc = do_retry(&e, tenant, state, &a);
    else
        rc = do_purge(&e, tenant, state, cli_get(&a, "older-than"));
out:
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
