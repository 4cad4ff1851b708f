/* lore's job handlers; see ingest_jobs.h for the kinds and payloads.
 *
 * A claimed batch (jobs of one tenant) runs in one ingest session, so a
 * burst of small writes costs one store transaction rather than one each.
 * If any job of the batch fails, the whole transaction is rolled back: the
 * failed jobs are reported (they retry after a backoff) and the others are
 * released to run again at once without counting an attempt, so one bad
 * payload never takes its neighbours' writes down with it. A batch stops
 * starting jobs once it has run for batch_time_ms: those that ran commit,
 * the rest are released the same way, so a slow job (a large file) delays
 * its neighbours by its own time only.
 *
 * Workers take turns on a tenant inside the store: a write transaction
 * (store_begin) waits for the tenant's writer lock, which on SQLite queues
 * the threads of the process (sqlite_writers.c) and on PostgreSQL is an
 * advisory lock (pg_tx.c). Left to SQLite's busy handler, which sleeps in
 * steps of up to 100 ms, the worker that just committed took the lock again
 * and again while the others slept, and one that waited out the busy
 * timeout (10 s) failed its whole batch with "database is locked": an
 * attempt counted against valid writes, up to dead-lettering them
 * (bench/ingest.sh: 283 of 2,000 jobs retried with 8 workers on one tenant;
 * waits up to 8 s with 4). */
#include "ingest/ingest_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <utf8proc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ingest/ingest_embed.h"
#include "ingest/ingest_json.h"
#include "ingest/ingest_reembed.h"
#include "util/log.h"
#include "util/timeutil.h"

#define TENANT_CACHE 4

typedef struct job_ctx {
    ingest_job_settings cfg;
} job_ctx;

typedef struct job_thread {
    job_ctx *ctx;
    store *s;
    ingest_embed_enqueuer enq; /* queues embed jobs from this thread's batches */
    /* TENANT_CACHE open tenants, each stamped with its created_ms */
    tenant_cache cache;
} job_thread;

/* Who a job acts for, read from its payload. */
typedef struct job_viewer {
    store_viewer v;
    const char **principals; /* borrowed from the payload's JSON */
} job_viewer;

/* ---- payloads ---- */

static json_t *viewer_json(const store_viewer *who) {
    json_t *o = json_object();
    if (!who || who->all_access) {
        json_object_set_new(o, "all", json_true());
        return o;
    }
    json_t *p = json_array();
    for (size_t i = 0; i < who->nprincipals; i++)
        json_array_append_new(p, json_string(who->principals[i]));
    json_object_set_new(o, "principals", p);
    return o;
}

static char *dump(json_t *o) {
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *ingest_job_documents_payload(const store_viewer *who, json_t *documents) {
    json_t *o = json_object();
    json_object_set_new(o, "viewer", viewer_json(who));
    json_object_set(o, "documents", documents);
    return dump(o);
}

char *ingest_job_file_payload(const store_viewer *who, const char *name, const char *source,
                              const char *external_id, const char *const *acl, size_t nacl) {
    json_t *o = json_object();
    json_object_set_new(o, "viewer", viewer_json(who));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "id", external_id ? json_string(external_id) : json_null());
    json_t *a = json_array();
    for (size_t i = 0; i < nacl; i++)
        json_array_append_new(a, json_string(acl[i]));
    json_object_set_new(o, "acl", a);
    return dump(o);
}

char *ingest_job_delete_payload(const store_viewer *who, const char *doc_id) {
    json_t *o = json_object();
    json_object_set_new(o, "viewer", viewer_json(who));
    json_object_set_new(o, "id", json_string(doc_id));
    return dump(o);
}

char *ingest_job_path_payload(const char *path, const char *source, const char *const *acl,
                              size_t nacl, int sync) {
    json_t *o = json_object();
    json_object_set_new(o, "viewer", viewer_json(NULL));
    json_object_set_new(o, "path", json_string(path));
    if (sync) json_object_set_new(o, "sync", json_true());
    json_object_set_new(o, "source", json_string(source ? source : "files"));
    json_t *a = json_array();
    for (size_t i = 0; i < nacl; i++)
        json_array_append_new(a, json_string(acl[i]));
    json_object_set_new(o, "acl", a);
    return dump(o);
}

static int read_viewer(json_t *payload, job_viewer *jv) {
    memset(jv, 0, sizeof *jv);
    json_t *v = json_object_get(payload, "viewer");
    if (!json_is_object(v)) return -1;
    if (json_is_true(json_object_get(v, "all"))) {
        jv->v.all_access = 1;
        return 0;
    }
    json_t *p = json_object_get(v, "principals");
    if (!json_is_array(p)) return -1;
    size_t n = json_array_size(p);
    if (n && !(jv->principals = calloc(n, sizeof *jv->principals))) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(p, i))) return -1;
        jv->principals[i] = json_string_value(json_array_get(p, i));
    }
    jv->v.principals = jv->principals;
    jv->v.nprincipals = n;
    return 0;
}

/* ---- tenants ---- */

/* The tenant's handles, reopened if the tenant was re-created since. */
static tenant_cache_entry *tenant_get(job_thread *th, const char *name, char *err, size_t errlen) {
    int64_t created = 0;
    lore_status st = store_tenant_created(th->s, name, &created);
    if (st != LORE_OK) {
        snprintf(err, errlen, "tenant %s: %s", name,
                 st == LORE_NOT_FOUND ? "does not exist (deleted?)" : lore_status_message(st));
        return NULL;
    }
    tenant_cache_entry *e = NULL;
    if ((st = tenant_cache_get(&th->cache, th->s, name, created, &e)) != LORE_OK) {
        snprintf(err, errlen, "tenant %s: cannot open: %s", name, lore_status_message(st));
        return NULL;
    }
    return e;
}

static void *thread_new(void *ctx, store *s) {
    job_thread *th = calloc(1, sizeof *th);
    if (th) {
        th->ctx = ctx;
        th->s = s;
        th->enq.control = s;
        th->enq.max_attempts = th->ctx->cfg.embed.max_attempts;
        tenant_cache_init(&th->cache, TENANT_CACHE, &th->ctx->cfg.tenant, NULL);
    }
    return th;
}

static void thread_free(void *state) {
    job_thread *th = state;
    if (!th) return;
    tenant_cache_clear(&th->cache);
    free(th);
}

/* ---- running a batch ---- */

/* What the session's callbacks need to know about the job being run. */
typedef struct run_state {
    const store_viewer *viewer;
    int denied;
    char problem[512];
    int problems;  /* record-level problems in this job */
    json_t *notes; /* path jobs: the first problems and notes, for the CLI to print */
    int64_t nnotes;
    FILE *all;          /* path jobs: every problem and note, one JSON line each */
    uint64_t all_bytes; /* written to it */
    int64_t nall;       /* lines written to it */
} run_state;

/* s as a JSON string; bytes that are not UTF-8 (a file name may hold
 * any) become U+FFFD, so the problem is still recorded. */
static json_t *json_text(const char *s) {
    json_t *j = json_string(s);
    if (j) return j;
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) {
            memcpy(o, s + i, (size_t)k);
            o += k;
            i += (size_t)k;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    *o = 0;
    j = json_string(out);
    free(out);
    return j;
}

static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    run_state *r = ctx;
    if (r->notes) {
        json_t *x = json_pack("{s:o,s:o,s:b}", "path", json_text(path), "message", json_text(msg),
                              "error", is_error);
        if (r->all && x && r->all_bytes < INGEST_JOB_PROBLEMS_FILE_MAX) {
            char *line = json_dumps(x, JSON_COMPACT);
            if (line && fprintf(r->all, "%s\n", line) > 0) {
                r->all_bytes += strlen(line) + 1;
                r->nall++;
            }
            free(line);
        }
        if (r->nnotes++ < INGEST_JOB_MAX_PROBLEMS && x) json_array_append(r->notes, x);
        json_decref(x);
    }
    if (!is_error) return;
    r->problems++;
    if (!r->problem[0]) snprintf(r->problem, sizeof r->problem, "%s: %s", path, msg);
}

static int may_replace(void *ctx, const store_doc *existing) {
    run_state *r = ctx;
    r->denied = !store_viewer_sees(r->viewer, existing->acl, existing->nacl);
    return !r->denied;
}

static char *fmt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_error(const char *fmt, ...) {
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static const char *outcome_name(ingest_outcome o) {
    return o == INGEST_ADDED       ? "added"
           : o == INGEST_UPDATED   ? "updated"
           : o == INGEST_UNCHANGED ? "unchanged"
                                   : "failed";
}

/* Applies a "documents" job; returns 0 or -1 with *error set. */
static int run_documents(ingest_session *ss, run_state *rs, json_t *payload, json_t *result,
                         char **error, lore_status *st) {
    json_t *docs = json_object_get(payload, "documents");
    if (!json_is_array(docs)) {
        *error = strdup("payload has no documents array");
        return -1;
    }
    json_t *out = json_array();
    json_object_set_new(result, "documents", out);
    ingest_set_source_acl(ss, "api", NULL, 0);
    for (size_t i = 0; i < json_array_size(docs); i++) {
        ingest_json_doc d;
        char ptr[64], msg[512];
        if (ingest_json_doc_read(json_array_get(docs, i), "", &d, ptr, sizeof ptr, msg,
                                 sizeof msg)) {
            *error = fmt_error("document %s: %s", ptr, msg);
            return -1;
        }
        ingest_outcome oc;
        rs->denied = 0;
        rs->problem[0] = 0;
        *st = ingest_record_put(ss, &d.rec, &oc);
        char id[STORE_DOC_ID_LEN + 1];
        store_doc_public_id(d.rec.source, d.rec.external_id, id);
        if (*st == LORE_OK && oc == INGEST_FAILED)
            *error = rs->denied ? fmt_error("document %s (%s): forbidden: the key may not replace "
                                            "a document hidden from it",
                                            id, d.rec.external_id)
                                : fmt_error("document %s: %s", id, rs->problem);
        if (*st == LORE_OK && oc != INGEST_FAILED) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_string(id));
            json_object_set_new(o, "source", json_string(d.rec.source));
            json_object_set_new(o, "external_id", json_string(d.rec.external_id));
            json_object_set_new(o, "status", json_string(outcome_name(oc)));
            json_array_append_new(out, o);
        }
        ingest_json_doc_clear(&d);
        if (*st != LORE_OK || *error) return -1;
    }
    return 0;
}

static int run_file(job_thread *th, const store_job *j, ingest_session *ss, run_state *rs,
                    json_t *payload, json_t *result, char **error, lore_status *st) {
    const char *name = json_string_value(json_object_get(payload, "name"));
    const char *source = json_string_value(json_object_get(payload, "source"));
    const char *ext = json_string_value(json_object_get(payload, "id"));
    json_t *acl = json_object_get(payload, "acl");
    if (!name || !source || !j->blob || !json_is_array(acl)) {
        *error = strdup("file job without name, source, acl or blob");
        return -1;
    }
    size_t nacl = json_array_size(acl);
    const char **list = nacl ? calloc(nacl, sizeof *list) : NULL;
    if (nacl && !list) {
        *error = strdup("out of memory");
        return -1;
    }
    for (size_t i = 0; i < nacl; i++)
        list[i] = json_string_value(json_array_get(acl, i));
    char path[4096];
    int temp = 0;
    *st = store_blob_local_path(th->s, j->tenant, j->blob, NULL, path, sizeof path, &temp);
    const ingest_stats before = *ingest_session_stats(ss);
    ingest_set_source_acl(ss, source, list, nacl);
    rs->problem[0] = 0;
    rs->problems = 0;
    if (*st == LORE_OK) *st = ingest_named_file(ss, path, name, ext);
    if (temp) unlink(path);
    ingest_set_source_acl(ss, "files", NULL, 0);
    free(list);
    if (*st != LORE_OK) return -1;
    const ingest_stats *after = ingest_session_stats(ss);
    uint64_t ok = (after->docs_added - before.docs_added) +
                  (after->docs_updated - before.docs_updated) +
                  (after->docs_unchanged - before.docs_unchanged);
    /* A file that yields nothing but problems failed; a JSON Lines file
     * with some bad lines is indexed and its problems reported. */
    if (!ok && rs->problems) {
        *error = strdup(rs->problem);
        return -1;
    }
    json_object_set_new(result, "added",
                        json_integer((json_int_t)(after->docs_added - before.docs_added)));
    json_object_set_new(result, "updated",
                        json_integer((json_int_t)(after->docs_updated - before.docs_updated)));
    json_object_set_new(result, "unchanged",
                        json_integer((json_int_t)(after->docs_unchanged - before.docs_unchanged)));
    json_object_set_new(result, "problems", json_integer(rs->problems));
    if (rs->problems) json_object_set_new(result, "first_problem", json_string(rs->problem));
    return 0;
}

/* Opens the file a path job records every problem in while it walks, or
 * NULL: an unlinked temporary file in $TMPDIR (else /tmp), copied into the
 * job's blob when the walk ends (problems_keep). */
static FILE *problems_open(const store_job *j) {
    if (!j->blob) return NULL;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/lore-problems-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = n > 0 && (size_t)n < sizeof path ? mkostemp(path, O_CLOEXEC) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
    if (fd >= 0) unlink(path);
    if (!f) {
        LORE_WARN("job %lld: cannot make a file for its problems in %s: %s", (long long)j->id, path,
                  strerror(errno));
        if (fd >= 0) close(fd);
    }
    return f;
}

/* Stores the problems written to f as the job's blob, through the store
 * (on PostgreSQL too: any node's lore jobs show reads it), replacing what
 * an earlier attempt left; closes f. 0: kept. */
static int problems_keep(job_thread *th, const store_job *j, FILE *f) {
    store_blob_writer *w = NULL;
    lore_status st = fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0 ? LORE_OK : LORE_IO;
    if (st == LORE_OK) st = store_blob_create_named(th->s, j->tenant, j->blob, &w);
    char buf[65536];
    size_t n;
    while (st == LORE_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
        st = store_blob_write(w, buf, n);
    if (st == LORE_OK && ferror(f)) st = LORE_IO;
    if (w) {
        lore_status fin = store_blob_finish(w, st == LORE_OK);
        if (st == LORE_OK) st = fin;
    }
    fclose(f);
    if (st != LORE_OK)
        LORE_WARN("job %lld: cannot keep its problems as blob %s: %s", (long long)j->id, j->blob,
                  lore_status_message(st));
    return st == LORE_OK ? 0 : -1;
}

static int run_path(job_thread *th, const store_job *j, ingest_session *ss, run_state *rs,
                    json_t *payload, json_t *result, char **error, lore_status *st) {
    const char *path = json_string_value(json_object_get(payload, "path"));
    int sync = json_is_true(json_object_get(payload, "sync"));
    const char *source = json_string_value(json_object_get(payload, "source"));
    json_t *acl = json_object_get(payload, "acl");
    if (!path || !source || !json_is_array(acl)) {
        *error = strdup("path job without path, source or acl");
        return -1;
    }
    size_t nacl = json_array_size(acl);
    const char **list = nacl ? calloc(nacl, sizeof *list) : NULL;
    for (size_t i = 0; list && i < nacl; i++)
        list[i] = json_string_value(json_array_get(acl, i));
    const ingest_stats b = *ingest_session_stats(ss);
    ingest_set_source_acl(ss, source, list, list ? nacl : 0);
    rs->notes = json_array();
    rs->nnotes = 0;
    rs->problems = 0;
    rs->all = problems_open(j);
    rs->all_bytes = 0;
    rs->nall = 0;
    char why[PATH_MAX + 256] = "";
    if (sync)
        *st = ingest_sync_path(ss, path, why, sizeof why);
    else
        *st = ingest_path(ss, path);
    if (*st == LORE_OK) *st = ingest_commit(ss); /* a walk may be large: its own commit */
    ingest_set_source_acl(ss, "files", NULL, 0);
    free(list);
    /* Every problem went to the job's blob (lore jobs show pages through
     * it); without one the result keeps the first INGEST_JOB_MAX_PROBLEMS. */
    int recorded = 0;
    if (rs->all && *st == LORE_OK)
        recorded = problems_keep(th, j, rs->all) == 0; /* closes it */
    else if (rs->all)
        fclose(rs->all); /* the job failed: its result is an error */
    rs->all = NULL;
    if (*st == LORE_INVALID && why[0]) { /* a sync refused: nothing was done */
        json_decref(rs->notes);
        rs->notes = NULL;
        *st = LORE_OK;
        *error = strdup(why);
        return -1;
    }
    const ingest_stats *a = ingest_session_stats(ss);
    json_object_set_new(result, "files", json_integer((json_int_t)(a->files - b.files)));
    json_object_set_new(result, "added", json_integer((json_int_t)(a->docs_added - b.docs_added)));
    json_object_set_new(result, "updated",
                        json_integer((json_int_t)(a->docs_updated - b.docs_updated)));
    json_object_set_new(result, "unchanged",
                        json_integer((json_int_t)(a->docs_unchanged - b.docs_unchanged)));
    if (sync) {
        json_object_set_new(result, "deleted",
                            json_integer((json_int_t)(a->docs_deleted - b.docs_deleted)));
        json_object_set_new(result, "renamed",
                            json_integer((json_int_t)(a->docs_renamed - b.docs_renamed)));
    }
    json_object_set_new(result, "failed",
                        json_integer((json_int_t)(a->files_failed - b.files_failed +
                                                  a->docs_failed - b.docs_failed)));
    json_object_set_new(result, "skipped",
                        json_integer((json_int_t)(a->files_skipped - b.files_skipped)));
    json_object_set_new(result, "chunks", json_integer((json_int_t)(a->chunks - b.chunks)));
    json_object_set_new(result, "bytes", json_integer((json_int_t)(a->bytes - b.bytes)));
    json_object_set_new(result, "problem_count", json_integer(rs->nnotes));
    json_object_set_new(result, "error_count", json_integer(rs->problems));
    if (recorded) {
        json_object_set_new(result, "problems_recorded", json_integer(rs->nall));
        json_decref(rs->notes);
    } else {
        json_object_set_new(result, "problems", rs->notes);
    }
    rs->notes = NULL;
    return *st == LORE_OK ? 0 : -1;
}

static int run_delete(tenant_cache_entry *ct, ingest_session *ss, const job_viewer *jv,
                      json_t *payload, json_t *result, char **error, lore_status *st) {
    const char *id = json_string_value(json_object_get(payload, "id"));
    if (!id || strlen(id) != STORE_DOC_ID_LEN) {
        *error = strdup("delete job without a document id");
        return -1;
    }
    store_doc *d = NULL;
    lore_status gs = store_doc_get(ct->ctx->store, id, 0, &d);
    int visible = gs == LORE_OK && store_viewer_sees(&jv->v, d->acl, d->nacl);
    store_doc_free(d);
    if (gs != LORE_OK && gs != LORE_NOT_FOUND) {
        *st = gs;
        return -1;
    }
    /* Missing, or hidden from the caller: nothing to do, as for the API. */
    if (!visible) {
        json_object_set_new(result, "deleted", json_false());
        return 0;
    }
    *st = ingest_delete(ss, id);
    if (*st == LORE_NOT_FOUND) *st = LORE_OK;
    json_object_set_new(result, "deleted", json_boolean(*st == LORE_OK));
    return *st == LORE_OK ? 0 : -1;
}

/* A job's payload kept as a blob: at most INGEST_BLOB_JSON_MAX bytes. */
#define INGEST_BLOB_JSON_MAX ((size_t)1 << 30)
static json_t *load_blob_json(job_thread *th, const store_job *j) {
    char *text = NULL;
    size_t len = 0;
    if (store_blob_load(th->s, j->tenant, j->blob, INGEST_BLOB_JSON_MAX, &text, &len) != LORE_OK)
        return NULL;
    json_error_t jerr;
    json_t *v = json_loadb(text, len, 0, &jerr);
    free(text);
    return v;
}

/* The registered extra kind named kind, or NULL. lore's own kinds are
 * never taken over. */
static const ingest_job_kind *extra_kind(const job_ctx *c, const char *kind) {
    static const char *const own[] = {INGEST_JOB_DOCUMENTS, INGEST_JOB_FILE, INGEST_JOB_DELETE,
                                      INGEST_JOB_REINDEX,   INGEST_JOB_PATH, INGEST_JOB_EMBED,
                                      INGEST_JOB_REEMBED};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (!strcmp(own[i], kind)) return NULL;
    for (size_t i = 0; i < c->cfg.nkinds; i++) {
        const ingest_job_kind *k = &c->cfg.kinds[i];
        if (k->version == INGEST_JOB_KIND_VERSION && k->kind && k->run && !strcmp(k->kind, kind))
            return k;
    }
    return NULL;
}

/* Runs one job inside the batch's session. 0: done (result filled). */
static int run_one(job_thread *th, tenant_cache_entry *ct, ingest_session *ss, run_state *rs,
                   const store_job *j, queue_result *res, lore_status *st) {
    json_error_t jerr;
    json_t *payload = NULL;
    if (j->payload)
        payload = json_loadb((const char *)j->payload, j->payload_len, 0, &jerr);
    else if (j->blob && strcmp(j->kind, INGEST_JOB_FILE))
        payload = load_blob_json(th, j); /* a large payload kept as a file */
    job_viewer jv = {0};
    json_t *result = json_object();
    int rc = -1;
    const ingest_job_kind *extra = extra_kind(th->ctx, j->kind);
    if (extra) {
        if (!payload)
            res->error = strdup("the job's payload is not valid JSON");
        else
            rc = extra->run(extra, th->s, ss, j, payload, result, &res->error, st);
        goto out;
    }
    if (!payload || read_viewer(payload, &jv)) {
        res->error = strdup("the job's payload is not valid JSON of its kind");
        goto out;
    }
    rs->viewer = &jv.v;
    if (!strcmp(j->kind, INGEST_JOB_DOCUMENTS))
        rc = run_documents(ss, rs, payload, result, &res->error, st);
    else if (!strcmp(j->kind, INGEST_JOB_FILE))
        rc = run_file(th, j, ss, rs, payload, result, &res->error, st);
    else if (!strcmp(j->kind, INGEST_JOB_PATH)) {
        res->keep_blob = 1; /* the blob is where the walk's problems are written */
        rc = run_path(th, j, ss, rs, payload, result, &res->error, st);
    } else if (!strcmp(j->kind, INGEST_JOB_DELETE))
        rc = run_delete(ct, ss, &jv, payload, result, &res->error, st);
    else
        res->error = fmt_error("unknown job kind '%s'", j->kind);
out:
    if (rc == 0) res->result = json_dumps(result, JSON_COMPACT);
    if (rc != 0 && !res->error && *st != LORE_OK)
        res->error = fmt_error("store: %s", lore_status_message(*st));
    json_decref(result);
    json_decref(payload);
    free(jv.principals);
    return rc;
}

static void fail_all(size_t n, queue_result *res, const char *why) {
    for (size_t i = 0; i < n; i++) {
        free(res[i].error);
        free(res[i].result);
        res[i].result = NULL;
        res[i].ok = 0;
        res[i].release = 0;
        res[i].error = strdup(why);
    }
}

static void run_reindex(job_thread *th, tenant_cache_entry *ct, const store_job *j,
                        queue_result *res);

static void run_batch(void *state, store *s, const store_job *jobs, size_t n, queue_result *res) {
    (void)s;
    job_thread *th = state;
    char err[512];
    tenant_cache_entry *ct = tenant_get(th, jobs[0].tenant, err, sizeof err);
    if (!ct) {
        fail_all(n, res, err);
        return;
    }
    if (n == 1 && !strcmp(jobs[0].kind, INGEST_JOB_REINDEX)) {
        run_reindex(th, ct, &jobs[0], &res[0]);
        return;
    }
    if (n == 1 && !strcmp(jobs[0].kind, INGEST_JOB_EMBED)) { /* its own transactions */
        int drop = 0;
        ingest_embed_job_run(ct->ctx, &th->ctx->cfg.embed, &jobs[0], &res[0], &drop);
        if (drop) tenant_cache_drop(&th->cache, ct);
        return;
    }
    if (n == 1 && !strcmp(jobs[0].kind, INGEST_JOB_REEMBED)) { /* ingest_reembed.c */
        int drop = 0;
        ingest_reembed_run(ct->ctx, th->ctx->cfg.tenant.embedders, th->ctx->cfg.reembed_step_chunks,
                           &jobs[0], &res[0], &drop);
        if (drop) tenant_cache_drop(&th->cache, ct);
        return;
    }
    ingest_options opt = th->ctx->cfg.ingest;
    run_state rs = {0};
    opt.on_problem = on_problem;
    opt.may_replace = may_replace;
    opt.cb_ctx = &rs;
    opt.on_progress = NULL;
    opt.on_embed_pending = ingest_embed_on_pending; /* queued before the batch commits */
    opt.embed_ctx = &th->enq;
    ingest_session *ss = NULL;
    lore_status st = ingest_session_new(ct->ctx, &opt, &ss);
    size_t failed = 0, ran = 0;
    int64_t budget_ms = th->ctx->cfg.batch_time_ms, t0 = lore_mono_ns();
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        /* Past the batch's time, the jobs not yet run go back to the queue
         * (no attempt counted): one slow job holds the tenant's write lock
         * and the batch's transaction, not 63 others behind it. */
        if (i && (budget_ms < 0 || (lore_mono_ns() - t0) / 1000000 >= budget_ms)) break;
        if (run_one(th, ct, ss, &rs, &jobs[i], &res[i], &st) != 0) failed++;
        ran = i + 1;
        if (st != LORE_OK) break;
    }
    if (st == LORE_OK && !failed) st = ingest_commit(ss);
    ingest_session_free(ss); /* rolls back whatever was not committed */
    if (st != LORE_OK) {
        snprintf(err, sizeof err, "store: %s (%s)", lore_status_message(st),
                 store_tenant_errmsg(ct->ctx->store));
        fail_all(n, res, err);
        tenant_cache_drop(&th->cache, ct); /* a handle that failed is not trusted again */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i >= ran) {
            res[i].release = 1; /* not run: over the batch's time */
        } else if (failed && !res[i].error) {
            free(res[i].result);
            res[i].result = NULL;
            res[i].release = 1; /* rolled back with the failed job: run again, no attempt */
        } else if (!failed) {
            res[i].ok = 1;
        }
    }
}

/* Rebuilds the tenant's index in steps of reindex_step_chunks, one store
 * transaction each. Each step commits its cursor with its chunks, so a job
 * run again after a crash continues where the last step left off. Writes
 * from other workers interleave between steps; searches read the old index
 * until the step that switches. The lease is renewed by the pool's keeper
 * however long this takes. */
static void run_reindex(job_thread *th, tenant_cache_entry *ct, const store_job *j,
                        queue_result *res) {
    const index_lexical_ops *lex = ct->ctx->index.lexical.ops;
    void *ls = ct->ctx->index.lexical.state;
    store_tenant *t = ct->ctx->store;
    int finished = 0, first = 1;
    uint64_t total = 0, steps = 0;
    int64_t t0 = lore_mono_ns();
    lore_status st = LORE_OK;
    while (!finished && st == LORE_OK) {
        uint64_t copied = 0;
        /* One step per transaction: the tenant's other writers (queued on
         * its writer lock, see docs/storage.md) run between steps. */
        if ((st = store_begin(t)) != LORE_OK) break;
        if ((st = lex->begin(ls)) == LORE_OK && first) st = lex->rebuild_start(ls);
        if (st == LORE_OK)
            st = lex->rebuild_step(ls, th->ctx->cfg.reindex_step_chunks, &finished, &copied);
        if (st == LORE_OK) st = lex->flush(ls);
        if (st == LORE_OK) st = store_commit(t);
        if (st != LORE_OK) {
            lex->abort(ls);
            store_rollback(t);
        }
        if (st != LORE_OK) break;
        first = 0;
        total += copied;
        steps++;
    }
    if (st != LORE_OK) {
        res->error = fmt_error("re-index of %s: %s (%s)", j->tenant, lore_status_message(st),
                               store_tenant_errmsg(t));
        tenant_cache_drop(&th->cache, ct);
        return;
    }
    json_t *r = json_pack("{s:I,s:I,s:f}", "chunks", (json_int_t)total, "steps", (json_int_t)steps,
                          "seconds", (double)(lore_mono_ns() - t0) / 1e9);
    res->result = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    res->ok = 1;
}

void ingest_job_settings_from(ingest_job_settings *s, const lore_config *c) {
    memset(s, 0, sizeof *s);
    ingest_options *o = &s->ingest;
    ingest_options_default(o);
    o->chunking.target_tokens = (uint32_t)c->chunk_target_tokens;
    o->chunking.max_tokens = (uint32_t)c->chunk_max_tokens;
    o->chunking.overlap_tokens = (uint32_t)c->chunk_overlap_tokens;
    if (o->chunking.min_tokens > o->chunking.target_tokens)
        o->chunking.min_tokens = o->chunking.target_tokens;
    o->limits.max_input = (size_t)c->max_file_mb << 20;
    o->limits.pdf_timeout_s = (int)c->pdf_timeout_s;
    o->limits.pdf_memory_mb = (size_t)c->pdf_memory_mb;
    o->embed_configured = c->embed_url[0] != '\0';
    tenant_settings_from_config(&s->tenant, c);
    s->embed.max_attempts = (int)c->job_max_attempts;
    s->reindex_step_chunks = 20000;
    s->reembed_step_chunks = (size_t)c->embed_reembed_step;
    s->batch_time_ms = INGEST_JOB_BATCH_TIME_MS;
}

lore_status ingest_job_handler(const ingest_job_settings *settings, queue_handler *out) {
    memset(out, 0, sizeof *out);
    job_ctx *c = calloc(1, sizeof *c);
    if (!c) return LORE_NOMEM;
    c->cfg = *settings;
    if (!c->cfg.reindex_step_chunks) c->cfg.reindex_step_chunks = 20000;
    if (!c->cfg.batch_time_ms) c->cfg.batch_time_ms = INGEST_JOB_BATCH_TIME_MS;
    out->ctx = c;
    out->thread_new = thread_new;
    out->thread_free = thread_free;
    out->run = run_batch;
    return LORE_OK;
}

void ingest_job_handler_free(queue_handler *h) {
    if (!h) return;
    free(h->ctx);
    h->ctx = NULL;
}
