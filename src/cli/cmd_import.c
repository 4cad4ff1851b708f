/* lore import slack EXPORT.zip: a Slack workspace export read into a
 * tenant through the Slack connector (connectors/slack_export.h), in this
 * process, committing as it goes; progress on stderr, a summary at the end.
 * The same import runs as a durable job when the export is uploaded
 * (POST /v1/imports/slack). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "connectors/slack_export.h"
#include "util/timeutil.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to write to (default: setting tenant)"},
    {"source", 's', "NAME", 0, "source of the documents (default: slack)"},
    {"connector", 'c', "ID", 0, "import for this Slack connector: its source and ACL apply"},
    {"acl", 0, "PRINCIPAL", 1, "only PRINCIPAL may see public channels' documents"},
    {"json", 0, NULL, 0, "print the summary as JSON on stdout"},
    {"quiet", 'q', NULL, 0, "print nothing but problems and errors"},
};
static const cli_help help = {
    "lore import slack EXPORT.zip [--tenant T] [--source NAME [--acl PRINCIPAL]... | --connector "
    "ID] [--json] [--quiet]",
    "Import a Slack workspace export (the ZIP from Slack's Import/Export Data page).",
    "Messages become the same documents the live Slack connector makes (one per\n"
    "thread; a message without replies joins its channel's document for that day),\n"
    "so a later live event updates an imported thread instead of duplicating it:\n"
    "name the live connector (--connector ID; lore connector list) or give its\n"
    "source (--source, default slack) to share them.\n"
    "Public channels (channels.json) and private ones (groups.json, documents\n"
    "visible to group:slack:CHANNEL_ID) are read; direct messages (dms.json,\n"
    "mpims.json) are skipped. The archive is streamed: one day file in memory at a\n"
    "time (at most 64 MiB each), so an export of any size imports in bounded memory.\n"
    "A file that cannot be read is reported by name and the rest goes in. Running\n"
    "the import again changes nothing. Exit code 2 when nothing could be read.",
    "  lore import slack ~/Downloads/Acme\\ Slack\\ export.zip --tenant acme\n"
    "  lore import slack export.zip --tenant acme --source slack-archive --json",
};

typedef struct progress {
    int tty, quiet;
    int64_t last_ms, t0_ms;
    uint64_t problems;
    const char *file_seen; /* the last file a problem named */
    uint64_t files_with_problems;
    char last_file[512];
} progress;

/* Writes s with control bytes as \xNN: entry names come from the archive,
 * and a name carrying terminal escapes must not drive the operator's
 * terminal (retitle it, clear it, fake output). */
static void put_visible(FILE *f, const char *s) {
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
}

static void on_problem(void *ctx, const char *file, const char *message) {
    progress *p = ctx;
    p->problems++;
    if (strcmp(p->last_file, file)) {
        p->files_with_problems++;
        snprintf(p->last_file, sizeof p->last_file, "%s", file);
    }
    if (p->tty && !p->quiet) fputc('\n', stderr);
    fputs("lore import: ", stderr);
    put_visible(stderr, file);
    fputs(": ", stderr);
    put_visible(stderr, message);
    fputc('\n', stderr);
}

static void on_progress(void *ctx, const slack_export_stats *s) {
    progress *p = ctx;
    if (p->quiet) return;
    int64_t now = lore_now_ms();
    /* A terminal gets one line redrawn; a log a line every 10 seconds. */
    if (now - p->last_ms < (p->tty ? 200 : 10000) && s->files < s->files_total) return;
    p->last_ms = now;
    double secs = (double)(now - p->t0_ms) / 1000.0;
    fprintf(stderr, "%simporting: %llu/%llu day files, %llu messages, %.1f/%.1f MiB, %.0f s%s",
            p->tty ? "\r" : "", (unsigned long long)s->files, (unsigned long long)s->files_total,
            (unsigned long long)s->messages, (double)s->bytes / 1048576.0,
            (double)s->bytes_total / 1048576.0, secs, p->tty ? "" : "\n");
}

static void summary(const char *path, const char *tenant, const char *source,
                    const slack_export_stats *s, const ingest_stats *is, const progress *p,
                    int64_t ms, int as_json) {
    if (as_json) {
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:I}",
            "export", path, "tenant", tenant, "source", source, "users", (json_int_t)s->users,
            "channels", (json_int_t)s->channels, "private_channels",
            (json_int_t)s->private_channels, "files", (json_int_t)s->files, "files_failed",
            (json_int_t)s->files_failed, "files_skipped", (json_int_t)s->files_skipped, "messages",
            (json_int_t)s->messages, "messages_failed", (json_int_t)s->messages_failed, "bytes",
            (json_int_t)s->bytes, "documents_added", (json_int_t)is->docs_added,
            "documents_updated", (json_int_t)is->docs_updated, "documents_unchanged",
            (json_int_t)is->docs_unchanged, "documents_failed", (json_int_t)is->docs_failed,
            "problems", (json_int_t)p->problems, "ms", (json_int_t)ms);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        }
        return;
    }
    printf("imported %s into tenant %s (source %s) in %.1f s\n", path, tenant, source,
           (double)ms / 1000.0);
    printf("  users %llu, channels %llu public and %llu private\n", (unsigned long long)s->users,
           (unsigned long long)s->channels, (unsigned long long)s->private_channels);
    printf("  day files %llu read, %llu failed, %llu skipped (direct messages, other entries)\n",
           (unsigned long long)s->files, (unsigned long long)s->files_failed,
           (unsigned long long)s->files_skipped);
    printf("  messages %llu imported, %llu refused\n", (unsigned long long)s->messages,
           (unsigned long long)s->messages_failed);
    printf("  documents %llu added, %llu updated, %llu unchanged, %llu failed\n",
           (unsigned long long)is->docs_added, (unsigned long long)is->docs_updated,
           (unsigned long long)is->docs_unchanged, (unsigned long long)is->docs_failed);
    if (p->problems)
        printf("  problems %llu in %llu files (printed above)\n", (unsigned long long)p->problems,
               (unsigned long long)p->files_with_problems);
}

static void on_doc_problem(void *ctx, const char *path, const char *message, int is_error) {
    progress *p = ctx;
    if (!is_error) return;
    p->problems++;
    fputs("lore import: document ", stderr);
    put_visible(stderr, path);
    fputs(": ", stderr);
    put_visible(stderr, message);
    fputc('\n', stderr);
}

static int import_slack(cli_args *a) {
    const char *conn = cli_get(a, "connector");
    if (conn && (cli_get(a, "source") || cli_get(a, "acl")))
        return cli_error("import", CLI_USAGE,
                         "--connector gives the source and ACL; do not add --source or --acl");
    if (a->npos != 2)
        return cli_error("import", CLI_USAGE,
                         "give one export: lore import slack EXPORT.zip (see --help)");
    const char *path = a->pos[1];
    if (access(path, R_OK) != 0)
        return cli_error("import", CLI_FAIL, "%s: cannot read it: %s", path, strerror(errno));
    const char *const *acl = NULL;
    size_t nacl = cli_get_all(a, "acl", &acl);
    cli_env e;
    memset(&e, 0, sizeof e);
    ingest_session *ss = NULL;
    store_connector *holder = NULL;
    int rc;
    if ((rc = cli_env_open(&e, a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(a, "tenant"), 0))) goto out;
    connector_instance inst;
    char err[1024];
    lore_status st =
        slack_export_instance(e.store, store_tenant_name(e.tenant), cli_get(a, "source"), conn, acl,
                              nacl, &inst, &holder, err, sizeof err);
    if (st != LORE_OK) {
        rc = cli_error("import", st == LORE_INVALID ? CLI_USAGE : CLI_FAIL, "%s", err);
        goto out;
    }
    const char *source = inst.source;
    progress p = {isatty(2), cli_flag(a, "quiet"), 0, lore_now_ms(), 0, NULL, 0, {0}};
    ingest_job_settings js;
    ingest_job_settings_from(&js, &e.cfg);
    ingest_options io = js.ingest;
    io.source = source;
    io.acl = NULL;
    io.nacl = 0;
    io.on_progress = NULL;
    io.on_problem = on_doc_problem;
    io.may_replace = NULL;
    io.cb_ctx = &p;
    ingest_embed_enqueuer enq = {e.store, (int)e.cfg.job_max_attempts};
    io.on_embed_pending = ingest_embed_on_pending; /* the server's workers embed them */
    io.embed_ctx = &enq;
    if (ingest_session_new(e.ctx, &io, &ss) != LORE_OK) {
        rc = cli_error("import", CLI_FAIL, "out of memory");
        goto out;
    }
    ingest_set_source_acl(ss, source, NULL, 0);
    slack_export_options o;
    slack_export_options_default(&o);
    o.on_progress = on_progress;
    o.on_problem = on_problem;
    o.cb_ctx = &p;
    slack_export_stats s;
    st = slack_export_import(ss, &inst, path, &o, &s, err, sizeof err);
    if (p.tty && !p.quiet && s.files) fputc('\n', stderr);
    if (st != LORE_OK) {
        rc =
            cli_error("import", CLI_FAIL, "%s: %s%s", path, err,
                      s.files ? " (what was read before is imported; run it again to finish)" : "");
        goto out;
    }
    if (!cli_flag(a, "quiet") || cli_flag(a, "json"))
        summary(path, inst.tenant, source, &s, ingest_session_stats(ss), &p,
                lore_now_ms() - p.t0_ms, cli_flag(a, "json"));
    if (!s.files && !s.channels && !s.private_channels && !s.users)
        rc = cli_error("import", CLI_FAIL, "%s: nothing could be read from the export", path);
out:
    ingest_session_free(ss);
    store_connector_free(holder);
    cli_env_close(&e);
    return rc;
}

int cmd_import(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse("import", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    if (!a.npos || strcmp(a.pos[0], "slack")) {
        rc = cli_error("import", CLI_USAGE,
                       "%s%s%s: lore import reads Slack exports: lore import slack EXPORT.zip",
                       a.npos ? "unknown kind '" : "no kind given", a.npos ? a.pos[0] : "",
                       a.npos ? "'" : "");
        goto out;
    }
    rc = import_slack(&a);
out:
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
