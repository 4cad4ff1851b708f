/* lore ingest PATH... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ingest/ingest.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to write to (default: setting tenant)"},
    {"source", 's', "NAME", 0, "source recorded on every document (default: files)"},
    {"acl", 0, "PRINCIPAL", 1, "only PRINCIPAL may see the documents (user:EMAIL, group:NAME)"},
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help help = {
    "lore ingest PATH... [--tenant T] [--source S] [--acl PRINCIPAL]... [--quiet]",
    "Index files and directories (recursively). Formats are detected by content:\n"
    "text, Markdown, HTML, JSON, JSON Lines, PDF and DOCX.",
    "A document keeps its id across ingests: a file is identified by its absolute path,\n"
    "a JSON or JSON Lines record by its \"id\" or \"_id\". Unchanged documents are skipped;\n"
    "changed ones are replaced. Hidden files and directories are skipped. A file that\n"
    "cannot be read or parsed is reported and the rest goes on; the exit code is then 2.\n"
    "JSON Lines files are streamed record by record, so they may be of any size; a bad\n"
    "line (malformed, over a field cap or longer than max_file_mb) is reported with its\n"
    "number and the other lines are still ingested. Other files\n"
    "are limited to max_file_mb (64 MiB by default).",
    "  lore ingest ./handbook\n"
    "  lore ingest --source wiki --acl group:eng ./eng-docs\n"
    "  lore ingest corpus.jsonl --tenant research",
};

typedef struct progress {
    int quiet, tty;
    int64_t t0;
    uint64_t problems;
} progress;

static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    progress *p = ctx;
    p->problems += is_error;
    if (!is_error && p->quiet) return;
    if (p->tty && !p->quiet) fputs("\r\033[K", stderr);
    fprintf(stderr, "lore ingest: %s: %s\n", path, msg);
}

static void on_progress(void *ctx, const ingest_stats *s) {
    progress *p = ctx;
    if (p->quiet) return;
    double secs = (double)(lore_mono_ns() - p->t0) / 1e9;
    uint64_t docs = s->docs_added + s->docs_updated + s->docs_unchanged;
    if (p->tty)
        fprintf(stderr, "\r\033[K%llu files, %llu documents, %llu chunks (%.1f s)",
                (unsigned long long)s->files, (unsigned long long)docs,
                (unsigned long long)s->chunks, secs);
    else
        fprintf(stderr, "lore ingest: %llu files, %llu documents so far (%.1f s)\n",
                (unsigned long long)s->files, (unsigned long long)docs, secs);
}

int cmd_ingest(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    ingest_session *s = NULL;
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
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 1))) goto out;
    progress p = {cli_flag(&a, "quiet"), isatty(2), lore_mono_ns(), 0};
    ingest_options o;
    ingest_options_default(&o);
    if (source) o.source = source;
    o.acl = acl;
    o.nacl = nacl;
    o.limits.max_input = (size_t)e.cfg.max_file_mb << 20;
    o.limits.pdf_timeout_s = (int)e.cfg.pdf_timeout_s;
    o.limits.pdf_memory_mb = (size_t)e.cfg.pdf_memory_mb;
    o.chunking.target_tokens = (uint32_t)e.cfg.chunk_target_tokens;
    o.chunking.max_tokens = (uint32_t)e.cfg.chunk_max_tokens;
    o.chunking.overlap_tokens = (uint32_t)e.cfg.chunk_overlap_tokens;
    if (o.chunking.min_tokens > o.chunking.target_tokens)
        o.chunking.min_tokens = o.chunking.target_tokens;
    o.on_problem = on_problem;
    o.on_progress = on_progress;
    o.cb_ctx = &p;
    lore_status st = ingest_session_new(e.tenant, &index_lexical_bm25, e.lex, &o, &s);
    for (size_t i = 0; st == LORE_OK && i < a.npos; i++) {
        if (access(a.pos[i], F_OK) != 0) {
            on_problem(&p, a.pos[i], "no such file or directory", 1);
            continue;
        }
        st = ingest_path(s, a.pos[i]);
    }
    if (st == LORE_OK) st = ingest_commit(s);
    if (st != LORE_OK) {
        rc = cli_error("ingest", CLI_FAIL,
                       "stopped: %s (%s); documents of the last batch were not "
                       "written, earlier batches were",
                       lore_status_message(st), store_tenant_errmsg(e.tenant));
        goto out;
    }
    const ingest_stats *t = ingest_session_stats(s);
    double secs = (double)(lore_mono_ns() - p.t0) / 1e9;
    if (!p.quiet) {
        if (p.tty) fputs("\r\033[K", stderr);
        uint64_t docs = t->docs_added + t->docs_updated;
        fprintf(stderr,
                "ingested %llu files into tenant %s: %llu added, %llu updated, %llu unchanged, "
                "%llu failed, %llu skipped; %llu chunks, %.1f MB in %.2f s (%.0f docs/s)\n",
                (unsigned long long)t->files, store_tenant_name(e.tenant),
                (unsigned long long)t->docs_added, (unsigned long long)t->docs_updated,
                (unsigned long long)t->docs_unchanged,
                (unsigned long long)(t->files_failed + t->docs_failed),
                (unsigned long long)t->files_skipped, (unsigned long long)t->chunks,
                (double)t->bytes / 1e6, secs, secs > 0 ? (double)docs / secs : 0.0);
    }
    rc = p.problems ? CLI_FAIL : CLI_OK;
out:
    ingest_session_free(s);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
