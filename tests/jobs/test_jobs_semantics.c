/* The queue's promises seen through the API of a real server, with several
 * job workers so that parallel runs could reorder writes if FIFO per
 * document did not hold:
 *   ordering  an update and a delete of one document sent back to back end
 *             deleted; 100 rapid updates of one document end at the last;
 *             once on a backlog that a `lore worker` with four threads
 *             starts on, once with the server's four workers running live;
 *   poison    an upload whose handler always fails is dead-lettered after
 *             max_attempts with its error, visible over HTTP and in
 *             `lore jobs list`; a retry (API or CLI) requeues it with its
 *             attempts reset and it dies again;
 *   dedup     the same Idempotency-Key twice is one job. */
#include "jobs/jobs_test.h"
#include "store/store.h"

static test_server srv;
static const char *const env[] = {"LORE_WORKERS=4",
                                  "LORE_JOB_BACKOFF_MS=20",
                                  "LORE_RATE_WRITE_PER_MIN=0",
                                  "LORE_RATE_ADMIN_PER_MIN=0",
                                  "LORE_RATE_READ_PER_MIN=0",
                                  NULL};

static void public_id(const char *ext, char *id) {
    store_doc_public_id("api", ext, id);
}

static long post_doc(const char *ext, const char *text, const char *query, test_job_ref *job) {
    char body[1024], path[64];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"text\":\"%s\"}", ext, text);
    snprintf(path, sizeof path, "/v1/documents%s", query ? query : "");
    test_resp r = test_post_json(&srv, path, srv.admin_key, body);
    long status = r.status;
    if (job) *job = jt_job_id(&r);
    if (status != 202 && status != 200) fprintf(stderr, "POST %s: %ld %s\n", ext, status, r.body);
    test_resp_free(&r);
    return status;
}

static long delete_doc(const char *ext, test_job_ref *job) {
    char id[STORE_DOC_ID_LEN + 1], path[64];
    public_id(ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_delete(&srv, path, srv.admin_key);
    long status = r.status;
    if (job) *job = jt_job_id(&r);
    if (status != 202) fprintf(stderr, "DELETE %s: %ld %s\n", ext, status, r.body);
    test_resp_free(&r);
    return status;
}

/* The stored text of a document, "" if it does not exist; status in *st. */
static char *doc_text(const char *ext, long *st) {
    char id[STORE_DOC_ID_LEN + 1], path[64];
    public_id(ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_get(&srv, path, srv.admin_key);
    *st = r.status;
    char *t = strdup(jt_str(r.json, "text"));
    test_resp_free(&r);
    return t;
}

#define UD_DOCS 60
#define HOT_DOCS 4
#define HOT_UPDATES 100

/* One round of writes whose order matters, on documents named by tag.
 * live: the server's own workers run the jobs as they come. Otherwise the
 * server has no workers: the jobs pile up and a `lore worker` with four
 * threads starts on the whole backlog at once, where a broken FIFO rule
 * would hand one document's jobs to several threads together. */
static void ordering(const char *tag, int live) {
    static const char *const wenv[] = {"LORE_JOB_BACKOFF_MS=20", NULL};
    pid_t w = 0;
    if (!live) w = jt_worker_start(srv.dir, 4, "worker.log", wenv);
    /* the documents exist first (a delete is checked against them at once) */
    char body[8192];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"documents\":[");
    for (int i = 0; i < UD_DOCS; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"id\":\"%s-ud-%d\",\"text\":\"v0\"}",
                              i ? "," : "", tag, i);
    for (int i = 0; i < HOT_DOCS; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",{\"id\":\"%s-hot-%d\",\"text\":\"v0\"}",
                              tag, i);
    snprintf(body + n, sizeof body - n, "]}");
    test_resp r = test_post_json(&srv, "/v1/documents?wait=30", srv.admin_key, body);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    if (w) CHECK_INT(jt_stop(w, SIGTERM), 0);

    /* update then delete, back to back, for every document in turn */
    int64_t t0 = jt_now_ms();
    for (int i = 0; i < UD_DOCS; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "%s-ud-%d", tag, i);
        CHECK_INT(post_doc(ext, "updated just before its delete", NULL, NULL), 202);
        CHECK_INT(delete_doc(ext, NULL), 202);
    }
    /* rapid updates, the documents interleaved */
    for (int v = 1; v <= HOT_UPDATES; v++)
        for (int i = 0; i < HOT_DOCS; i++) {
            char ext[32], text[64];
            snprintf(ext, sizeof ext, "%s-hot-%d", tag, i);
            snprintf(text, sizeof text, "hot document %d version %d", i, v);
            CHECK_INT(post_doc(ext, text, NULL, NULL), 202);
        }
    int64_t sent = jt_now_ms() - t0;
    if (!live) {
        CHECK_INT(jt_count_state(&srv, "ready", 1000), UD_DOCS * 2 + HOT_DOCS * HOT_UPDATES);
        w = jt_worker_start(srv.dir, 4, "worker.log", wenv);
    }
    CHECK_INT(jt_wait_idle(&srv, 60000), 0);
    if (w) CHECK_INT(jt_stop(w, SIGTERM), 0);
    printf("ordering (%s): %d update+delete pairs and %d updates sent in %lld ms, done %lld ms "
           "later\n",
           tag, UD_DOCS, HOT_DOCS * HOT_UPDATES, (long long)sent,
           (long long)(jt_now_ms() - t0 - sent));
    int deleted = 0, last = 0;
    for (int i = 0; i < UD_DOCS; i++) {
        char ext[32];
        long st;
        snprintf(ext, sizeof ext, "%s-ud-%d", tag, i);
        free(doc_text(ext, &st));
        if (st != 404) fprintf(stderr, "%s: the update ran after the delete (%ld)\n", ext, st);
        deleted += st == 404;
    }
    for (int i = 0; i < HOT_DOCS; i++) {
        char ext[32], want[64];
        long st;
        snprintf(ext, sizeof ext, "%s-hot-%d", tag, i);
        snprintf(want, sizeof want, "hot document %d version %d", i, HOT_UPDATES);
        char *t = doc_text(ext, &st);
        if (strcmp(t, want)) fprintf(stderr, "%s ends as \"%s\", not \"%s\"\n", ext, t, want);
        last += st == 200 && !strcmp(t, want);
        free(t);
    }
    printf("ordering (%s): %d of %d deleted, %d of %d at their last version\n", tag, deleted,
           UD_DOCS, last, HOT_DOCS);
    CHECK_INT(deleted, UD_DOCS);
    CHECK_INT(last, HOT_DOCS);
    CHECK_INT(jt_count_state(&srv, "dead", 10), 0);
}

/* POST /v1/files with one file; returns the job id. */
static test_job_ref upload(const char *name, const char *content, const char *query, long *status,
                           test_resp *keep) {
    char body[1024], path[64];
    int len = snprintf(body, sizeof body,
                       "--XX\r\nContent-Disposition: form-data; name=\"files\"; "
                       "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n"
                       "--XX--\r\n",
                       name, content);
    snprintf(path, sizeof path, "/v1/files%s", query ? query : "");
    test_resp r = test_http(&srv, "POST", path, srv.admin_key, "multipart/form-data; boundary=XX",
                            body, (size_t)len, NULL);
    *status = r.status;
    test_job_ref id = jt_job_id(&r);
    if (keep)
        *keep = r;
    else
        test_resp_free(&r);
    return id;
}

/* Checks a dead poison job: attempts used up, its error kept. */
static void check_dead(json_t *j, const char *when) {
    CHECK_STR(jt_str(j, "state"), "dead");
    CHECK_INT(json_integer_value(json_object_get(j, "attempts")), 5);
    CHECK_INT(json_integer_value(json_object_get(j, "max_attempts")), 5);
    const char *err = jt_str(j, "error");
    CHECK(strlen(err) > 0);
    CHECK(json_is_string(json_object_get(j, "finished_at")));
    printf("poison (%s): dead after %lld attempts: %s\n", when,
           (long long)json_integer_value(json_object_get(j, "attempts")), err);
}

/* A .docx that is not a zip archive: it starts like one (content decides
 * the format, so plain text named .docx would simply be indexed as text)
 * and the DOCX parser fails on it every time. */
#define POISON "PK\x03\x04 this is not a zip archive"

static void poison(void) {
    long status;
    test_job_ref id = upload("x.docx", POISON, NULL, &status, NULL);
    CHECK_INT(status, 202);
    CHECK(test_job_id_shaped(id.s));
    int64_t t0 = jt_now_ms();
    json_t *j = jt_wait_job(&srv, id.s, "dead", 30000);
    printf("poison: job %s dead in %lld ms\n", id.s, (long long)(jt_now_ms() - t0));
    check_dead(j, "first run");
    char err[512];
    snprintf(err, sizeof err, "%s", jt_str(j, "error"));
    json_decref(j);

    /* in the dead-letter list, over HTTP and in the CLI */
    test_resp r = test_get(&srv, "/v1/jobs?state=dead", srv.admin_key);
    CHECK_INT(r.status, 200);
    json_t *dead = json_object_get(r.json, "jobs");
    int listed = 0;
    for (size_t k = 0; k < json_array_size(dead); k++)
        listed += !strcmp(jt_str(json_array_get(dead, k), "id"), id.s);
    CHECK_INT(listed, 1);
    test_resp_free(&r);
    char out[8192], idtxt[64], errpart[41];
    snprintf(idtxt, sizeof idtxt, "%s ", id.s);
    snprintf(errpart, sizeof errpart, "%.40s", err); /* the list shows the error's start */
    CHECK_INT(jt_cli(srv.dir, out, sizeof out, "jobs list --state dead"), 0);
    CHECK(strstr(out, idtxt) == out + strcspn(out, "\n") + 1); /* the first row */
    CHECK(strstr(out, " dead ") != NULL);
    CHECK(strstr(out, " 5/5 ") != NULL);
    CHECK(strstr(out, errpart) != NULL);
    if (!strstr(out, errpart)) fprintf(stderr, "lore jobs list:\n%s", out);

    /* ?wait on a poison job answers 422 with the job and its error */
    test_resp w;
    test_job_ref id2 = upload("y.docx", POISON, "?wait=30", &status, &w);
    CHECK_INT(status, 422);
    CHECK_STR(test_problem_type(&w), "job-failed");
    CHECK_STR(jt_str(json_object_get(w.json, "job"), "state"), "dead");
    CHECK(strlen(jt_str(w.json, "detail")) > 0);
    test_resp_free(&w);

    /* retry over HTTP: back in the queue, attempts reset, dead again */
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", id.s);
    r = test_http(&srv, "POST", path, srv.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    /* a worker may have taken it already (the answer reads the job after
     * waking the workers): then it is on, or just failed, its first attempt */
    const char *st = jt_str(r.json, "state");
    long long att = json_integer_value(json_object_get(r.json, "attempts"));
    CHECK((!strcmp(st, "ready") || !strcmp(st, "leased")) && att <= 1);
    if (strcmp(st, "ready") && strcmp(st, "leased"))
        fprintf(stderr, "retry answered state %s, attempts %lld\n", st, att);
    test_resp_free(&r);
    j = jt_wait_job(&srv, id.s, "dead", 30000);
    check_dead(j, "after the API retry"); /* 5, not 10: the attempts were reset */
    json_decref(j);
    r = test_http(&srv, "POST", "/v1/jobs/999999/retry", srv.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);

    /* retry with the CLI, server stopped so nothing runs it meanwhile */
    char dir[512], args[96];
    snprintf(dir, sizeof dir, "%s", srv.dir);
    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    snprintf(args, sizeof args, "jobs retry %s", id.s);
    CHECK_INT(jt_cli(dir, out, sizeof out, args), 0);
    CHECK(strstr(out, "requeued") != NULL);
    snprintf(args, sizeof args, "jobs show %s", id.s);
    CHECK_INT(jt_cli(dir, out, sizeof out, args), 0);
    CHECK(strstr(out, "state:        ready") != NULL);
    CHECK(strstr(out, "attempts:     0 of 5") != NULL);
    CHECK(strstr(out, errpart) != NULL); /* the last error is kept until it runs */
    if (!strstr(out, "state:        ready")) fprintf(stderr, "lore jobs show:\n%s", out);
    CHECK_INT(jt_cli(dir, out, sizeof out, args), 0);
    snprintf(args, sizeof args, "jobs retry %s", id.s); /* not dead any more */
    CHECK(jt_cli(dir, out, sizeof out, args) != 0);
    CHECK(strstr(out, "not dead") != NULL);
    CHECK_INT(test_server_start(&srv, dir, env), 0);
    j = jt_wait_job(&srv, id.s, "dead", 30000);
    check_dead(j, "after the CLI retry");
    json_decref(j);

    /* a job that is not dead is not retried */
    test_job_ref okjob = {""};
    CHECK_INT(post_doc("fine", "a fine document", "?wait=30", &okjob), 200);
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", okjob.s);
    r = test_http(&srv, "POST", path, srv.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 409);
    CHECK_STR(test_problem_type(&r), "job-not-dead");
    test_resp_free(&r);
    (void)id2;
}

static void dedup(void) {
    const char *extra[] = {"Idempotency-Key: delivery-7f3a", NULL};
    const char *b1 = "{\"id\":\"dedup-doc\",\"text\":\"first delivery\"}";
    const char *b2 = "{\"id\":\"dedup-doc\",\"text\":\"second delivery, same key\"}";
    test_resp r1 = test_http(&srv, "POST", "/v1/documents", srv.admin_key, "application/json", b1,
                             strlen(b1), extra);
    test_resp r2 = test_http(&srv, "POST", "/v1/documents", srv.admin_key, "application/json", b2,
                             strlen(b2), extra);
    CHECK_INT(r1.status, 202);
    CHECK(r2.status == 202 || r2.status == 200);
    test_job_ref j1 = jt_job_id(&r1);
    CHECK(test_job_id_shaped(j1.s));
    CHECK(test_job_is(&r2, j1));
    char hv[32];
    CHECK(test_resp_header(&r1, "Idempotent-Replayed", hv, sizeof hv) == NULL);
    CHECK(test_resp_header(&r2, "Idempotent-Replayed", hv, sizeof hv) != NULL);
    test_resp_free(&r1);
    test_resp_free(&r2);
    CHECK_INT(jt_wait_idle(&srv, 30000), 0);
    /* one job with that key in the whole list */
    int with_key = 0, listed = 0;
    char cursor[40] = "";
    for (int page = 0; page < 100; page++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/jobs?limit=1000%s%s", cursor[0] ? "&cursor=" : "", cursor);
        test_resp r = test_get(&srv, path, srv.admin_key);
        CHECK_INT(r.status, 200);
        json_t *jobs = json_object_get(r.json, "jobs");
        for (size_t k = 0; k < json_array_size(jobs); k++) {
            with_key += !strcmp(jt_str(json_array_get(jobs, k), "dedup_key"), "delivery-7f3a");
            listed++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        if (!cursor[0]) break;
    }
    CHECK_INT(with_key, 1);
    CHECK(listed > 1000); /* the whole list, over pages */
    long st;
    char *t = doc_text("dedup-doc", &st);
    CHECK_INT(st, 200);
    CHECK_STR(t, "first delivery"); /* the second body was never queued */
    free(t);
    /* a delete replayed after it ran answers with its job, not with a 404 */
    const char *dk[] = {"Idempotency-Key: delete-once", NULL};
    char id[STORE_DOC_ID_LEN + 1], path[96];
    public_id("dedup-doc", id);
    snprintf(path, sizeof path, "/v1/documents/%s?wait=30", id);
    r1 = test_http(&srv, "DELETE", path, srv.admin_key, NULL, NULL, 0, dk);
    CHECK_INT(r1.status, 200);
    CHECK_STR(jt_str(json_object_get(r1.json, "job"), "state"), "done");
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    r2 = test_http(&srv, "DELETE", path, srv.admin_key, NULL, NULL, 0, dk);
    CHECK_INT(r2.status, 202);
    CHECK(test_job_id_shaped(jt_job_id(&r1).s));
    CHECK(test_job_is(&r2, jt_job_id(&r1)));
    CHECK_STR(jt_str(json_object_get(r2.json, "job"), "state"), "done");
    CHECK(test_resp_header(&r2, "Idempotent-Replayed", hv, sizeof hv) != NULL);
    test_job_ref jd = jt_job_id(&r1);
    test_resp_free(&r1);
    test_resp_free(&r2);
    /* without the key (or with a new one) the document is simply gone */
    const char *dk2[] = {"Idempotency-Key: delete-twice", NULL};
    r1 = test_http(&srv, "DELETE", path, srv.admin_key, NULL, NULL, 0, dk2);
    CHECK_INT(r1.status, 404);
    test_resp_free(&r1);
    free(doc_text("dedup-doc", &st));
    CHECK_INT(st, 404);
    printf("dedup: job %s answered twice, one job with its key among %d; delete job %s "
           "replayed after it ran\n",
           j1.s, listed, jd.s);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    /* first without workers in the server (a backlog for lore worker) */
    static const char *const env_none[] = {"LORE_WORKERS=-1", "LORE_RATE_WRITE_PER_MIN=0",
                                           "LORE_RATE_ADMIN_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                                           NULL};
    if (test_server_start(&srv, NULL, env_none)) return 1;
    ordering("backlog", 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", srv.dir);
    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    /* then with four workers of its own */
    if (test_server_start(&srv, dir, env)) return 1;
    ordering("live", 1);
    poison();
    dedup();
    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    test_rmtree(dir);
    curl_global_cleanup();
    return test_summary();
}
