/* lore tenant export NAME [FILE] and lore tenant import NAME [FILE]: a
 * tenant's documents as JSON Lines, to move them between servers (format:
 * docs/storage.md, "Tenant export").
 *
 * A document line is the document as POST /v1/documents takes it, plus
 * doc_id, content_hash and indexed_at, which import checks or ignores. The
 * first line is a header, the last a trailer with the count, so a cut file
 * is detected. Import validates each line with the API's own reader and
 * queues the documents as "documents" jobs, run by this process's workers
 * (and any server on the same data directory): the normal write path, so
 * the index is built as for any write, and a document whose content hash is
 * unchanged is a no-op. A bad line is reported with its number and the
 * others are still imported. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ingest/ingest_jobs.h"
#include "ingest/ingest_json.h"
#include "util/timeutil.h"

#define EXPORT_FORMAT 1
#define EXPORT_PAGE 256
#define IMPORT_BATCH_DOCS 500
#define IMPORT_BATCH_BYTES (4 << 20)
#define IMPORT_INFLIGHT 8                  /* jobs queued ahead of the workers */
#define IMPORT_INLINE_PAYLOAD (256 * 1024) /* larger payloads go to a blob, as in the API */
#define IMPORT_MAX_ERRORS_SHOWN 100

static const cli_opt export_opts[] = {
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help export_help = {
    "lore tenant export NAME [FILE]",
    "Write every document of tenant NAME as JSON Lines to FILE (default: standard\n"
    "output): fields, metadata, ACL and full text.",
    "Line 1 is a header {\"lore_export\": 1, ...}, then one document per line in the\n"
    "form POST /v1/documents takes, then a trailer {\"lore_export_end\": true,\n"
    "\"documents\": N}. The export reads one snapshot of the tenant, so it is\n"
    "consistent while a server keeps writing. See docs/storage.md, \"Tenant export\".",
    "  lore tenant export acme > acme.jsonl\n  lore tenant export acme acme.jsonl",
};

static const cli_opt import_opts[] = {
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help import_help = {
    "lore tenant import NAME [FILE]",
    "Import documents exported by lore tenant export (or written by hand, one\n"
    "document per line as POST /v1/documents takes it) into tenant NAME, created if\n"
    "missing. FILE defaults to standard input.",
    "Each document goes through the normal write path (a queued job, run by this\n"
    "command's workers); one whose content is unchanged is left alone, so importing\n"
    "twice adds nothing. A bad line is reported with its number and the rest is still\n"
    "imported; the exit code is then 2. A file with a header must end with the\n"
    "export's trailer, so a cut file is reported. Lines are limited to max_file_mb.",
    "  lore tenant import acme acme.jsonl\n  ssh old lore tenant export acme | lore tenant import "
    "acme",
};

/* ---- export ---- */

/* ISO 8601 with milliseconds when there are any, so dates survive the
 * round trip exactly (they are part of the content hash). */
static json_t *iso_ms(int64_t ms) {
    int64_t frac = ((ms % 1000) + 1000) % 1000;
    char s[48];
    lore_format_iso8601(ms - frac, s, 32);
    size_t n = strlen(s);
    if (frac && n && s[n - 1] == 'Z')
        snprintf(s + n - 1, sizeof s - (n - 1), ".%03lldZ", (long long)frac);
    return json_string(s);
}

static void set_opt(json_t *o, const char *key, const char *v) {
    if (v) json_object_set_new(o, key, json_string(v));
}

/* The line of one document; NULL with why filled when it cannot be one. */
static json_t *doc_json(const store_doc *d, const char **why) {
    json_t *o = json_object(), *acl = json_array();
    *why = NULL;
    json_object_set_new(o, "id", json_string(d->external_id));
    json_object_set_new(o, "source", json_string(d->source));
    set_opt(o, "title", d->title);
    set_opt(o, "url", d->url);
    set_opt(o, "author", d->author);
    if (d->created_ms) json_object_set_new(o, "created_at", iso_ms(d->created_ms));
    if (d->updated_ms) json_object_set_new(o, "updated_at", iso_ms(d->updated_ms));
    if (d->metadata_json) {
        json_t *m = json_loads(d->metadata_json, JSON_DECODE_ANY, NULL);
        if (!json_is_object(m)) *why = "its stored metadata is not a JSON object";
        json_object_set_new(o, "metadata", m ? m : json_null());
    }
    for (size_t i = 0; i < d->nacl; i++)
        json_array_append_new(acl, json_string(d->acl[i]));
    json_object_set_new(o, "acl", acl);
    json_t *text = json_stringn(d->text ? d->text : "", d->text ? d->text_len : 0);
    if (!text) *why = "its text is not valid UTF-8";
    json_object_set_new(o, "text", text ? text : json_null());
    json_object_set_new(o, "doc_id", json_string(d->id));
    json_object_set_new(o, "content_hash", json_string(d->content_hash));
    json_object_set_new(o, "indexed_at", iso_ms(d->indexed_ms));
    if (!*why && json_object_size(o) < 6) *why = "out of memory";
    if (*why) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int put_line(FILE *f, json_t *o) {
    int rc = json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return rc == 0 && fputc('\n', f) != EOF ? 0 : -1;
}

typedef struct page {
    int64_t rowids[EXPORT_PAGE];
    size_t n;
} page;

static int collect(void *ctx, const store_doc *d) {
    page *p = ctx;
    p->rowids[p->n++] = d->rowid;
    return 0;
}

/* Writes the documents; *count gets how many, *skipped how many could not
 * be written as JSON (reported). 0, or -1 when the output failed. */
static int export_docs(store_tenant *t, FILE *f, int64_t *count, int64_t *skipped,
                       lore_status *st) {
    page p;
    int64_t after = 0;
    for (;;) {
        p.n = 0;
        if ((*st = store_doc_list(t, NULL, NULL, after, EXPORT_PAGE, collect, &p)) != LORE_OK)
            return 0;
        if (!p.n) return 0;
        for (size_t i = 0; i < p.n; i++) {
            store_doc *d = NULL;
            if ((*st = store_doc_get_rowid(t, p.rowids[i], 1, &d)) != LORE_OK) return 0;
            const char *why;
            json_t *o = doc_json(d, &why);
            if (!o) {
                fprintf(stderr, "lore tenant: document %s (%s %s) not exported: %s\n", d->id,
                        d->source, d->external_id, why);
                (*skipped)++;
            } else if (put_line(f, o)) {
                store_doc_free(d);
                return -1;
            } else {
                (*count)++;
            }
            store_doc_free(d);
        }
        after = p.rowids[p.n - 1];
    }
}

int cmd_tenant_export(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    FILE *f = NULL;
    int rc = cli_parse("tenant", &export_help, export_opts,
                       sizeof export_opts / sizeof export_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 2 || a.npos > 3) {
        rc = cli_error("tenant", CLI_USAGE, "export needs a tenant name and at most one FILE");
        goto out;
    }
    const char *name = a.pos[1], *path = a.npos == 3 ? a.pos[2] : NULL;
    if ((rc = cli_env_open(&e, &a)) || (rc = cli_env_open_tenant(&e, name, 0))) goto out;
    if (path && strcmp(path, "-")) {
        if (!(f = fopen(path, "wbx")))
            rc = cli_error("tenant", errno == EEXIST ? CLI_USAGE : CLI_FAIL, "%s: %s%s", path,
                           strerror(errno), errno == EEXIST ? " (export never overwrites)" : "");
        if (rc) goto out;
    }
    FILE *outf = f ? f : stdout;
    lore_status st = store_begin_read(e.tenant);
    if (st != LORE_OK) {
        rc = cli_error("tenant", CLI_FAIL, "cannot read tenant '%s': %s", name,
                       lore_status_message(st));
        goto out;
    }
    int64_t t0 = lore_mono_ns(), count = 0, skipped = 0;
    json_t *h = json_object();
    json_object_set_new(h, "lore_export", json_integer(EXPORT_FORMAT));
    json_object_set_new(h, "tenant", json_string(name));
    json_object_set_new(h, "lore_version", json_string(LORE_VERSION));
    json_object_set_new(h, "exported_at", iso_ms(lore_now_ms()));
    int werr = put_line(outf, h);
    if (!werr) werr = export_docs(e.tenant, outf, &count, &skipped, &st);
    store_end_read(e.tenant);
    if (!werr && st == LORE_OK) {
        json_t *end = json_object();
        json_object_set_new(end, "lore_export_end", json_true());
        json_object_set_new(end, "documents", json_integer(count));
        werr = put_line(outf, end);
    }
    if (!werr && fflush(outf) != 0) werr = -1;
    if (werr) {
        rc = cli_error("tenant", CLI_FAIL, "cannot write %s: %s", path ? path : "standard output",
                       strerror(errno));
    } else if (st != LORE_OK) {
        rc = cli_error("tenant", CLI_FAIL, "reading tenant '%s' failed: %s (%s)", name,
                       lore_status_message(st), store_tenant_errmsg(e.tenant));
    } else {
        if (!cli_flag(&a, "quiet"))
            fprintf(stderr, "exported %lld documents of tenant %s in %.2f s\n", (long long)count,
                    name, (double)(lore_mono_ns() - t0) / 1e9);
        rc = skipped ? CLI_FAIL : CLI_OK;
    }
out:
    if (f && fclose(f) != 0 && rc == CLI_OK)
        rc = cli_error("tenant", CLI_FAIL, "cannot write %s: %s", path, strerror(errno));
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}

/* ---- import ---- */

typedef struct inflight {
    int64_t job;
    uint64_t first_line, last_line;
    size_t ndocs;
} inflight;

typedef struct importer {
    cli_env *e;
    const char *tenant;
    json_t *batch; /* documents of the next job */
    char **groups; /* their document ids */
    size_t bytes;
    uint64_t first_line, last_line;
    inflight q[IMPORT_INFLIGHT];
    size_t nq;
    uint64_t added, updated, unchanged, failed, bad_lines, errors_shown;
} importer;

static void line_error(importer *im, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void line_error(importer *im, uint64_t line, const char *fmt, ...) {
    im->bad_lines++;
    if (++im->errors_shown > IMPORT_MAX_ERRORS_SHOWN) return;
    fprintf(stderr, "lore tenant import: ");
    if (line) fprintf(stderr, "line %llu: ", (unsigned long long)line); /* 0: the whole file */
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Puts a payload into the job, inline or as a blob. */
static int job_payload(importer *im, store_job *j, const char *payload, char *blob,
                       size_t bloblen) {
    size_t len = strlen(payload);
    if (len <= IMPORT_INLINE_PAYLOAD) {
        j->payload = (uint8_t *)payload;
        j->payload_len = len;
        return CLI_OK;
    }
    /* Durable before the job that names it (store_blob_finish). */
    lore_status st = bloblen > STORE_BLOB_NAME_MAX
                         ? store_blob_put(im->e->store, im->tenant, payload, len, blob)
                         : LORE_TOO_LARGE;
    if (st != LORE_OK)
        return cli_error("tenant", CLI_FAIL, "cannot store a payload of %s: %s", im->tenant,
                         lore_status_message(st));
    j->blob = blob;
    j->weight = (int64_t)len;
    return CLI_OK;
}

/* Tallies a finished job. */
static void settle(importer *im, const store_job *j, const inflight *f) {
    if (j->state == STORE_JOB_DEAD) {
        fprintf(stderr, "lore tenant import: lines %llu-%llu (job %lld) failed: %s\n",
                (unsigned long long)f->first_line, (unsigned long long)f->last_line,
                (long long)j->id, j->error ? j->error : "unknown error");
        im->failed += f->ndocs;
        return;
    }
    json_t *r = j->result ? json_loads(j->result, 0, NULL) : NULL;
    json_t *docs = json_object_get(r, "documents");
    for (size_t i = 0; i < json_array_size(docs); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(docs, i), "status"));
        if (s && !strcmp(s, "added"))
            im->added++;
        else if (s && !strcmp(s, "updated"))
            im->updated++;
        else
            im->unchanged++;
    }
    json_decref(r);
}

/* Waits until at most keep jobs are in flight. */
static int drain(importer *im, size_t keep) {
    while (im->nq > keep) {
        store_job *j = NULL;
        lore_status st = store_job_get(im->e->store, NULL, im->q[0].job, 0, &j);
        if (st != LORE_OK)
            return cli_error("tenant", CLI_FAIL, "cannot read job %lld: %s",
                             (long long)im->q[0].job, lore_status_message(st));
        if (j->state < STORE_JOB_DONE) {
            store_job_free(j);
            usleep(20000);
            continue;
        }
        settle(im, j, &im->q[0]);
        store_job_free(j);
        memmove(im->q, im->q + 1, (im->nq - 1) * sizeof im->q[0]);
        im->nq--;
    }
    return CLI_OK;
}

static void batch_reset(importer *im) {
    for (size_t i = 0; i < json_array_size(im->batch); i++)
        free(im->groups[i]);
    json_array_clear(im->batch);
    im->bytes = 0;
}

/* Queues the batch as one documents job. */
static int flush(importer *im) {
    size_t n = json_array_size(im->batch);
    if (!n) return CLI_OK;
    int rc = drain(im, IMPORT_INFLIGHT - 1);
    if (rc) return rc;
    char *payload = ingest_job_documents_payload(NULL, im->batch);
    if (!payload) return cli_error("tenant", CLI_FAIL, "out of memory");
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", im->tenant);
    snprintf(j.kind, sizeof j.kind, "%s", INGEST_JOB_DOCUMENTS);
    j.groups = im->groups;
    j.ngroups = n;
    j.weight = (int64_t)strlen(payload);
    j.max_attempts = (int)im->e->cfg.job_max_attempts;
    char blob[STORE_BLOB_NAME_MAX + 1];
    rc = job_payload(im, &j, payload, blob, sizeof blob);
    store_enqueue_outcome o;
    lore_status st = rc ? LORE_OK : store_job_enqueue(im->e->store, &j, 1, 0, 0, lore_now_ms(), &o);
    free(payload);
    if (!rc && st != LORE_OK) {
        if (j.blob) store_blob_remove(im->e->store, im->tenant, j.blob);
        rc = cli_error("tenant", CLI_FAIL, "cannot queue lines %llu-%llu: %s",
                       (unsigned long long)im->first_line, (unsigned long long)im->last_line,
                       lore_status_message(st));
    }
    if (!rc) im->q[im->nq++] = (inflight){j.id, im->first_line, im->last_line, n};
    batch_reset(im);
    return rc;
}

/* One document line: checked as the API checks a document, then batched. */
static int add_doc(importer *im, json_t *o, uint64_t line, size_t len) {
    json_t *doc_id = json_incref(json_object_get(o, "doc_id"));
    json_object_del(o, "doc_id");
    json_object_del(o, "content_hash");
    json_object_del(o, "indexed_at");
    ingest_json_doc d;
    char ptr[96], msg[512], id[STORE_DOC_ID_LEN + 1];
    int rc = CLI_OK;
    if (ingest_json_doc_read(o, "", &d, ptr, sizeof ptr, msg, sizeof msg)) {
        line_error(im, line, "%s%s%s", ptr, ptr[0] ? ": " : "", msg);
        goto out;
    }
    store_doc_public_id(d.rec.source, d.rec.external_id, id);
    ingest_json_doc_clear(&d);
    if (doc_id && (!json_is_string(doc_id) || strcmp(json_string_value(doc_id), id))) {
        line_error(im, line,
                   "/doc_id: does not match the document's source and id (%s); was the "
                   "line edited?",
                   id);
        goto out;
    }
    if (json_array_size(im->batch) >= IMPORT_BATCH_DOCS ||
        (im->bytes && im->bytes + len > IMPORT_BATCH_BYTES))
        if ((rc = flush(im))) goto out;
    size_t n = json_array_size(im->batch);
    if (!n) im->first_line = line;
    im->last_line = line;
    if (!(im->groups[n] = strdup(id)) || json_array_append(im->batch, o)) {
        free(im->groups[n]);
        rc = cli_error("tenant", CLI_FAIL, "out of memory");
        goto out;
    }
    im->bytes += len;
out:
    json_decref(doc_id);
    return rc;
}

/* Reads one line into *buf (NUL-terminated, without the newline). Returns
 * 1 for a line, 0 at the end; *too_long when it passed max (the rest of the
 * line is skipped). */
static int read_line(FILE *f, char **buf, size_t *cap, size_t max, size_t *len, int *too_long) {
    int c;
    *len = 0;
    *too_long = 0;
    int any = 0;
    while ((c = getc_unlocked(f)) != EOF) {
        any = 1;
        if (c == '\n') break;
        if (*too_long) continue;
        if (*len + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, ncap);
            if (!nb) {
                *too_long = 1;
                continue;
            }
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[(*len)++] = (char)c;
        if (*len > max) *too_long = 1;
    }
    if (*buf) (*buf)[*len] = '\0';
    return any;
}

typedef struct import_file {
    int header, trailer;
    int64_t trailer_count;
    uint64_t docs; /* document lines read (good or bad) */
} import_file;

/* Handles one line; returns non-zero to stop the import. */
static int import_line(importer *im, import_file *st, const char *text, size_t len, uint64_t line) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
        i++;
    if (i == len) return CLI_OK; /* blank */
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = CLI_OK;
    if (!o) {
        line_error(im, line, "not JSON: %s (column %d)", je.text, je.column);
        st->docs++;
        return CLI_OK;
    }
    if (!json_is_object(o)) {
        line_error(im, line, "a document must be a JSON object");
        st->docs++;
    } else if (json_object_get(o, "lore_export")) {
        json_t *v = json_object_get(o, "lore_export");
        if (st->header || st->docs)
            line_error(im, line, "a header line may only come first");
        else if (!json_is_integer(v) || json_integer_value(v) != EXPORT_FORMAT)
            rc = cli_error("tenant", CLI_FAIL,
                           "line %llu: export format %s; this lore reads format %d (upgrade lore)",
                           (unsigned long long)line, json_is_integer(v) ? "newer" : "unknown",
                           EXPORT_FORMAT);
        else
            st->header = 1;
    } else if (json_object_get(o, "lore_export_end")) {
        json_t *n = json_object_get(o, "documents");
        if (st->trailer) line_error(im, line, "a second trailer line");
        st->trailer = 1;
        st->trailer_count = json_is_integer(n) ? (int64_t)json_integer_value(n) : -1;
    } else {
        if (st->trailer)
            line_error(im, line, "a document after the trailer line");
        else {
            st->docs++;
            rc = add_doc(im, o, line, len);
        }
    }
    json_decref(o);
    return rc;
}

static int import_stream(importer *im, FILE *f, size_t max_line, import_file *st) {
    char *buf = NULL;
    size_t cap = 0, len;
    int too_long, rc = CLI_OK;
    uint64_t line = 0;
    while (!rc && read_line(f, &buf, &cap, max_line, &len, &too_long)) {
        line++;
        if (too_long) {
            line_error(im, line, "longer than %zu bytes (setting max_file_mb)", max_line);
            st->docs++;
            continue;
        }
        rc = import_line(im, st, buf ? buf : "", len, line);
    }
    if (!rc && ferror(f)) rc = cli_error("tenant", CLI_FAIL, "reading: %s", strerror(errno));
    free(buf);
    if (!rc) rc = flush(im);
    if (!rc) rc = drain(im, 0);
    return rc;
}

/* Opens the tenant, creating it when missing. */
static int open_or_create(cli_env *e, const char *name, int quiet) {
    if (!store_tenant_name_valid(name))
        return cli_error("tenant", CLI_USAGE,
                         "'%s' is not a valid tenant name (lower-case letters, digits, - and _)",
                         name);
    int64_t created;
    lore_status st = store_tenant_created(e->store, name, &created);
    if (st == LORE_NOT_FOUND) {
        if ((st = store_tenant_create(e->store, name)) != LORE_OK && st != LORE_EXISTS)
            return cli_error("tenant", CLI_FAIL, "cannot create tenant '%s': %s", name,
                             lore_status_message(st));
        if (!quiet && st == LORE_OK) fprintf(stderr, "created tenant %s\n", name);
    }
    return cli_env_open_tenant(e, name, 0);
}

int cmd_tenant_import(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    cli_pool pool = {0};
    importer im = {0};
    FILE *f = NULL;
    int rc = cli_parse("tenant", &import_help, import_opts,
                       sizeof import_opts / sizeof import_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos < 2 || a.npos > 3) {
        rc = cli_error("tenant", CLI_USAGE, "import needs a tenant name and at most one FILE");
        goto out;
    }
    const char *name = a.pos[1], *path = a.npos == 3 ? a.pos[2] : NULL;
    int quiet = cli_flag(&a, "quiet");
    if (path && strcmp(path, "-") && !(f = fopen(path, "rb"))) {
        rc = cli_error("tenant", CLI_FAIL, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = cli_env_open_create(&e, &a)) || (rc = open_or_create(&e, name, quiet))) goto out;
    im.e = &e;
    im.tenant = name;
    im.batch = json_array();
    im.groups = calloc(IMPORT_BATCH_DOCS, sizeof *im.groups);
    if (!im.batch || !im.groups) {
        rc = cli_error("tenant", CLI_FAIL, "out of memory");
        goto out;
    }
    if ((rc = cli_pool_start(&e, "import", e.cfg.workers < 0 ? 0 : e.cfg.workers, NULL, NULL, NULL,
                             &pool)))
        goto out;
    int64_t t0 = lore_mono_ns();
    import_file st = {0};
    size_t max_line = (size_t)e.cfg.max_file_mb << 20;
    rc = import_stream(&im, f ? f : stdin, max_line, &st);
    if (rc) goto out;
    if (st.header && !st.trailer)
        line_error(&im, 0,
                   "the file ends without the export's trailer line: it was cut short (the "
                   "documents read were imported)");
    else if (st.trailer && st.trailer_count != (int64_t)st.docs)
        line_error(&im, 0, "the trailer counts %lld documents, the file has %llu lines of them",
                   (long long)st.trailer_count, (unsigned long long)st.docs);
    if (im.errors_shown > IMPORT_MAX_ERRORS_SHOWN)
        fprintf(stderr, "lore tenant import: ... %llu more bad lines not shown\n",
                (unsigned long long)(im.errors_shown - IMPORT_MAX_ERRORS_SHOWN));
    if (!quiet)
        fprintf(stderr,
                "imported into tenant %s: %llu added, %llu updated, %llu unchanged, %llu failed; "
                "%llu bad lines; %.2f s\n",
                name, (unsigned long long)im.added, (unsigned long long)im.updated,
                (unsigned long long)im.unchanged, (unsigned long long)im.failed,
                (unsigned long long)im.bad_lines, (double)(lore_mono_ns() - t0) / 1e9);
    rc = im.failed || im.bad_lines ? CLI_FAIL : CLI_OK;
out:
    cli_pool_stop(&pool);
    if (im.groups && im.batch) batch_reset(&im);
    json_decref(im.batch);
    free(im.groups);
    if (f) fclose(f);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
