/* lore ingest PATH...: each path becomes a durable "path" job
 * (docs/jobs.md), run by worker threads of this process (and by a server's
 * or lore worker's, when one shares the data directory); the command waits
 * for its jobs and prints what they found. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include <jansson.h>
#include <limits.h>

#include "ingest/ingest_jobs.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to write to (default: setting tenant)"},
    {"source", 's', "NAME", 0, "source recorded on every document (default: files)"},
    {"acl", 0, "PRINCIPAL", 1, "only PRINCIPAL may see the documents (user:EMAIL, group:NAME)"},
    {"sync", 0, NULL, 0, "make the source's documents from each DIR match it (deletes, renames)"},
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help help = {
    "lore ingest PATH... [--tenant T] [--source S] [--acl PRINCIPAL]... [--sync] [--quiet]",
    "Index files and directories (recursively). Formats are detected by content:\n"
    "text, Markdown, HTML, JSON, JSON Lines, PDF and DOCX, each also gzip-compressed.",
    "A document keeps its id across ingests: a file is identified by its absolute path,\n"
    "a JSON or JSON Lines record by its \"id\" or \"_id\". Unchanged documents are skipped;\n"
    "changed ones are replaced. Hidden files and directories are skipped. A file that\n"
    "cannot be read or parsed is reported and the rest goes on; the exit code is then 2.\n"
    "JSON Lines files are streamed record by record, so they may be of any size; a bad\n"
    "line (malformed, over a field cap or longer than max_file_mb) is reported with its\n"
    "number and the other lines are still ingested. Other files\n"
    "are limited to max_file_mb (64 MiB by default). Each PATH is a durable job\n"
    "(docs/jobs.md): this command runs it with `workers` threads and waits; a running\n"
    "lore serve or lore worker on the same data directory may take part.\n"
    "\n"
    "--sync DIR makes the documents of the source that came from files under DIR\n"
    "match it: documents of removed files are deleted, a renamed file with the same\n"
    "bytes takes over its documents without a parse, files whose size and mtime did\n"
    "not change since the last sync are not read. Documents of other sources or\n"
    "directories are never touched; a file that fails to read keeps its documents;\n"
    "a DIR that cannot be listed is refused and nothing is deleted. Every error is\n"
    "printed; lore jobs show ID pages through them later.",
    "  lore ingest ./handbook\n"
    "  lore ingest --source wiki --acl group:eng ./eng-docs\n"
    "  lore ingest corpus.jsonl --tenant research\n"
    "  lore ingest --sync ./handbook",
};

/* Sums the results of finished path jobs and prints their problems. */
typedef struct totals {
    uint64_t files, added, updated, unchanged, deleted, renamed, failed, skipped, chunks, bytes,
        errors;
} totals;

static uint64_t num(json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 ? (uint64_t)v : 0;
}

static void report(cli_env *e, const store_job *j, int quiet, totals *t) {
    if (j->state == STORE_JOB_DEAD) {
        fprintf(stderr, "lore ingest: job %s failed: %s\n", j->pub,
                j->error ? j->error : "unknown error");
        t->errors++;
        return;
    }
    json_t *r = j->result ? json_loads(j->result, 0, NULL) : NULL;
    if (!r) return;
    t->files += num(r, "files");
    t->added += num(r, "added");
    t->updated += num(r, "updated");
    t->unchanged += num(r, "unchanged");
    t->failed += num(r, "failed");
    t->skipped += num(r, "skipped");
    t->chunks += num(r, "chunks");
    t->bytes += num(r, "bytes");
    t->deleted += num(r, "deleted");
    t->renamed += num(r, "renamed");
    /* Every error is named: from the job's problems file when it has one
     * (notes past the first INGEST_JOB_MAX_PROBLEMS are only counted), else
     * from the first problems kept in the result. */
    uint64_t shown_notes = 0, hidden_notes = 0, listed = 0;
    FILE *f = NULL;
    char path[4096];
    int temp = 0;
    if (j->blob && json_object_get(r, "problems_recorded") &&
        store_blob_local_path(e->store, j->tenant, j->blob, NULL, path, sizeof path, &temp) ==
            LORE_OK) {
        f = fopen(path, "re");
        if (temp) unlink(path);
    }
    json_t *p = json_object_get(r, "problems");
    size_t n = f ? 0 : json_array_size(p);
    char *line = NULL;
    size_t cap = 0;
    for (size_t i = 0;; i++) {
        json_t *x = NULL;
        if (f) {
            if (getline(&line, &cap, f) < 0) break;
            x = json_loads(line, 0, NULL);
        } else if (i < n) {
            x = json_incref(json_array_get(p, i));
        } else {
            break;
        }
        if (!x) continue;
        listed++;
        int err = json_is_true(json_object_get(x, "error"));
        if (!err && (quiet || shown_notes >= INGEST_JOB_MAX_PROBLEMS)) {
            hidden_notes += !quiet;
        } else {
            shown_notes += !err;
            fprintf(stderr, "lore ingest: %s: %s\n", json_string_value(json_object_get(x, "path")),
                    json_string_value(json_object_get(x, "message")));
        }
        json_decref(x);
    }
    free(line);
    if (f) fclose(f);
    /* The count of errors is whole (a walk that skipped many binary files
     * still succeeds). */
    t->errors += num(r, "error_count");
    uint64_t more = num(r, "problem_count") > listed ? num(r, "problem_count") - listed : 0;
    if (hidden_notes)
        fprintf(stderr, "lore ingest: ... and %llu more notes (lore jobs show %s lists them)\n",
                (unsigned long long)hidden_notes, j->pub);
    if (more)
        fprintf(stderr,
                "lore ingest: ... and %llu more problems not recorded (%llu errors in all)\n",
                (unsigned long long)more, (unsigned long long)num(r, "error_count"));
    json_decref(r);
}

/* Queues one path job per argument; 0 on success. */
static int enqueue_paths(cli_env *e, const cli_args *a, const char *source, const char *const *acl,
                         size_t nacl, int sync, int64_t *ids, size_t *njobs, uint64_t *missing) {
    for (size_t i = 0; i < a->npos; i++) {
        char abs[PATH_MAX];
        struct stat sb;
        if (access(a->pos[i], F_OK) != 0 || !realpath(a->pos[i], abs)) {
            fprintf(stderr, "lore ingest: %s: no such file or directory%s\n", a->pos[i],
                    sync ? "; nothing was synced or deleted" : "");
            (*missing)++;
            continue;
        }
        /* A sync refuses what it cannot list, before anything is queued. */
        if (sync && (stat(abs, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
            fprintf(stderr, "lore ingest: %s: --sync takes a directory; nothing was synced\n",
                    a->pos[i]);
            (*missing)++;
            continue;
        }
        if (sync && access(abs, R_OK | X_OK) != 0) {
            fprintf(stderr,
                    "lore ingest: %s: cannot sync: cannot list it: %s; nothing was deleted\n",
                    a->pos[i], strerror(errno));
            (*missing)++;
            continue;
        }
        if (sync && ingest_sync_dir_empty(abs)) {
            fprintf(stderr, "lore ingest: %s: cannot sync: " INGEST_SYNC_EMPTY_HINT "\n",
                    a->pos[i]);
            (*missing)++;
            continue;
        }
        char *payload = ingest_job_path_payload(abs, source, acl, nacl, sync);
        char group[STORE_JOB_GROUP_MAX + 1];
        store_doc_public_id("path", abs, group); /* a short stable name for the path */
        char *groups[1] = {group};
        store_job j;
        memset(&j, 0, sizeof j);
        snprintf(j.tenant, sizeof j.tenant, "%s", store_tenant_name(e->tenant));
        snprintf(j.kind, sizeof j.kind, "%s", INGEST_JOB_PATH);
        j.groups = groups;
        j.ngroups = 1;
        /* The blob is where the job writes every problem it meets. */
        char blob[STORE_JOB_GROUP_MAX + 96];
        snprintf(blob, sizeof blob, "problems-%s-%lld-%ld-%zu.jsonl", group,
                 (long long)lore_now_ms(), (long)getpid(), i);
        j.blob = blob;
        j.payload = (uint8_t *)payload;
        j.payload_len = payload ? strlen(payload) : 0;
        j.weight = STORE_JOB_ALONE; /* a walk is claimed alone */
        j.max_attempts = (int)e->cfg.job_max_attempts;
        store_enqueue_outcome o;
        lore_status st =
            payload ? store_job_enqueue(e->store, &j, 1, 0, 0, lore_now_ms(), &o) : LORE_NOMEM;
        free(payload);
        if (st != LORE_OK)
            return cli_error("ingest", CLI_FAIL, "cannot queue %s: %s", abs,
                             lore_status_message(st));
        ids[(*njobs)++] = j.id;
    }
    return CLI_OK;
}

/* Waits until every job is done or dead; prints progress on a terminal. */
static int wait_jobs(cli_env *e, const int64_t *ids, size_t n, int show, totals *t, int quiet) {
    int64_t t0 = lore_mono_ns();
    store_job **done = calloc(n ? n : 1, sizeof *done);
    size_t left = n;
    if (!done) return cli_error("ingest", CLI_FAIL, "out of memory");
    while (left) {
        left = 0;
        for (size_t i = 0; i < n; i++) {
            if (done[i]) continue;
            store_job *j = NULL;
            lore_status st = store_job_get(e->store, NULL, ids[i], 0, &j);
            if (st != LORE_OK) {
                free(done);
                return cli_error("ingest", CLI_FAIL, "cannot read a queued job: %s",
                                 lore_status_message(st));
            }
            if (j->state >= STORE_JOB_DONE)
                done[i] = j;
            else {
                left++;
                store_job_free(j);
            }
        }
        if (left && show)
            fprintf(stderr, "\r\033[Kingesting: %zu of %zu paths done (%.1f s)", n - left, n,
                    (double)(lore_mono_ns() - t0) / 1e9);
        if (left) usleep(50000);
    }
    if (show) fputs("\r\033[K", stderr);
    for (size_t i = 0; i < n; i++) {
        report(e, done[i], quiet, t);
        store_job_free(done[i]);
    }
    free(done);
    return CLI_OK;
}

int cmd_ingest(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    cli_pool pool = {0};
    int64_t *ids = NULL;
    int rc = cli_parse("ingest", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (!a.npos) {
        rc = cli_error("ingest", CLI_USAGE, "no PATH given (see lore ingest --help)");
        goto out;
    }
    const char *const *acl;
    size_t nacl = cli_get_all(&a, "acl", &acl);
    for (size_t i = 0; i < nacl; i++) {
        if (strncmp(acl[i], "user:", 5) && strncmp(acl[i], "group:", 6)) {
            rc = cli_error("ingest", CLI_USAGE, "--acl %s: a principal is user:EMAIL or group:NAME",
                           acl[i]);
            goto out;
        }
    }
    const char *source = cli_get(&a, "source");
    if (source && (!*source || strlen(source) > 64)) {
        rc = cli_error("ingest", CLI_USAGE, "--source must be 1 to 64 characters");
        goto out;
    }
    /* Only the default tenant is created on the fly, so only then may the
     * data directory be. */
    if ((rc = (cli_get(&a, "tenant") ? cli_env_open : cli_env_open_create)(&e, &a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 1))) goto out;
    int quiet = cli_flag(&a, "quiet");
    int64_t t0 = lore_mono_ns();
    uint64_t missing = 0;
    size_t njobs = 0;
    if (!(ids = calloc(a.npos, sizeof *ids))) {
        rc = cli_error("ingest", CLI_FAIL, "out of memory");
        goto out;
    }
    int sync = cli_flag(&a, "sync");
    if ((rc = enqueue_paths(&e, &a, source ? source : "files", acl, nacl, sync, ids, &njobs,
                            &missing)))
        goto out;
    /* This process works its own jobs (a running server's workers may take
     * some of them too); they would also survive a crash of this command. */
    if (njobs && (rc = cli_pool_start(&e, "ingest", e.cfg.workers < 0 ? 0 : e.cfg.workers, NULL,
                                      NULL, NULL, &pool)))
        goto out;
    totals t = {0};
    if ((rc = wait_jobs(&e, ids, njobs, isatty(2) && !quiet, &t, quiet))) goto out;
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    if (!quiet) {
        uint64_t docs = t.added + t.updated;
        char sync_part[96] = "";
        if (sync)
            snprintf(sync_part, sizeof sync_part, "%llu deleted, %llu renamed, ",
                     (unsigned long long)t.deleted, (unsigned long long)t.renamed);
        fprintf(stderr,
                "ingested %llu files into tenant %s: %llu added, %llu updated, %llu unchanged, "
                "%s%llu failed, %llu skipped; %llu chunks, %.1f MB in %.2f s (%.0f docs/s)\n",
                (unsigned long long)t.files, store_tenant_name(e.tenant),
                (unsigned long long)t.added, (unsigned long long)t.updated,
                (unsigned long long)t.unchanged, sync_part, (unsigned long long)t.failed,
                (unsigned long long)t.skipped, (unsigned long long)t.chunks, (double)t.bytes / 1e6,
                secs, secs > 0 ? (double)docs / secs : 0.0);
    }
    rc = t.errors || missing ? CLI_FAIL : CLI_OK;
out:
    cli_pool_stop(&pool);
    free(ids);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
