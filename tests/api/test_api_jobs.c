/* The HTTP side of jobs against real servers (queue/queue.h, api_jobs.c).
 *
 * With workers: a write answers 202 with its job and a Location that
 * reaches done; ?wait answers 200 with what the job did (added, updated,
 * unchanged, deleted) or 422 job-failed with the dead job; a bad wait is a
 * 400 and queues nothing. Idempotency-Key: a repeat returns the original
 * job (Idempotent-Replayed) and writes once, also for a delete that already
 * ran; a malformed key is a 400. The job listing filters by state and pages
 * with its cursor; retry puts a dead job back and refuses any other (409).
 * Another tenant's job is a 404; scopes are the route table's.
 *
 * Back-pressure, with no workers (nothing drains): past
 * queue_max_per_tenant 429 queue-full, past queue_max_total 503
 * server-busy, both with Retry-After, and a refused request queues nothing
 * (a batch is refused whole). Then `lore worker` on the same data
 * directory runs every accepted job: each accepted document is searchable,
 * no refused one exists (nothing accepted is lost, nothing refused is
 * written). */
#include "api/api_test.h"
#include "store/store.h"
#include "util/timeutil.h"

static test_server s;
static char kread[96], kwrite[96], kother[96];

static const char *jstr(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static json_t *job_of(const test_resp *r) {
    return json_object_get(r->json, "job");
}

static const char *doc_status(const test_resp *r, size_t i) {
    return jstr(json_array_get(json_object_get(r->json, "documents"), i), "status");
}

/* A search token unique to an external id, letters only ("bp-3" ->
 * "zqbpxd"), so the analyzer keeps it whole. */
static void token_of(const char *ext, char *out, size_t outlen) {
    size_t n = 0;
    out[n++] = 'z';
    out[n++] = 'q';
    for (const char *p = ext; *p && n + 2 < outlen; p++)
        if (*p >= '0' && *p <= '9')
            out[n++] = (char)('a' + (*p - '0'));
        else if (*p >= 'a' && *p <= 'z')
            out[n++] = *p;
        else
            out[n++] = 'x';
    out[n] = '\0';
}

/* POST /v1/documents of one document whose text holds its token. */
static test_resp post_doc(const test_server *srv, const char *path, const char *key,
                          const char *ext, const char *words, const char *const *extra) {
    char body[512], tok[64];
    token_of(ext, tok, sizeof tok);
    int len = snprintf(body, sizeof body, "{\"id\":\"%s\",\"text\":\"%s %s\"}", ext, words, tok);
    return test_http(srv, "POST", path, key, "application/json", body, (size_t)len, extra);
}

/* POST /v1/files of files (name, content) pairs, NULL-terminated; each
 * file's text is its content and its name's token. */
static test_resp upload(const test_server *srv, const char *path, const char *key,
                        const char *const *files, const char *const *extra) {
    char body[4096];
    size_t len = 0;
    for (const char *const *f = files; f[0]; f += 2) {
        char tok[64];
        token_of(f[0], tok, sizeof tok);
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "--QQ\r\nContent-Disposition: form-data; name=\"f\"; "
                                "filename=\"%s\"\r\n\r\n%s %s\r\n",
                                f[0], f[1], tok);
    }
    len += (size_t)snprintf(body + len, sizeof body - len, "--QQ--\r\n");
    return test_http(srv, "POST", path, key, "multipart/form-data; boundary=QQ", body, len, extra);
}

static test_resp get_job(const test_server *srv, const char *key, const char *id) {
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    return test_get(srv, path, key);
}

static long hits_for(const test_server *srv, const char *key, const char *ext) {
    char tok[64], path[128];
    token_of(ext, tok, sizeof tok);
    snprintf(path, sizeof path, "/v1/search?q=%s", tok);
    test_resp r = test_get(srv, path, key);
    long n = r.status == 200 ? (long)json_array_size(json_object_get(r.json, "hits")) : -1;
    test_resp_free(&r);
    return n;
}

static long doc_status_code(const test_server *srv, const char *key, const char *source,
                            const char *ext) {
    char id[STORE_DOC_ID_LEN + 1], path[64];
    store_doc_public_id(source, ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_get(srv, path, key);
    long st = r.status;
    test_resp_free(&r);
    return st;
}

static void expect_problem(const test_resp *r, long status, const char *type, const char *pointer) {
    if (r->status != status || strcmp(test_problem_type(r), type))
        fprintf(stderr, "want %ld %s, got %ld: %s\n", status, type, r->status,
                r->body ? r->body : "");
    CHECK_INT(r->status, status);
    CHECK_STR(test_problem_type(r), type);
    char h[128];
    CHECK(test_resp_header(r, "Content-Type", h, sizeof h) &&
          !strcmp(h, "application/problem+json"));
    if (pointer) CHECK_STR(jstr(r->json, "pointer"), pointer);
}

static void check_retry_after(const test_resp *r) {
    char h[32];
    CHECK(test_resp_header(r, "Retry-After", h, sizeof h) != NULL);
    char *end;
    long v = strtol(h, &end, 10);
    CHECK(h[0] >= '0' && h[0] <= '9' && !*end && v >= 1);
}

static int has_location_of(const test_resp *r, test_job_ref id) {
    char h[96], want[96];
    snprintf(want, sizeof want, "/v1/jobs/%s", id.s);
    return test_job_id_shaped(id.s) && test_resp_header(r, "Location", h, sizeof h) &&
           !strcmp(h, want) && !strcmp(jstr(job_of(r), "status_url"), want);
}

static int replayed(const test_resp *r) {
    char h[16];
    return test_resp_header(r, "Idempotent-Replayed", h, sizeof h) && !strcmp(h, "true");
}

/* ---- with workers ---- */

static void accepted_then_done(void) {
    long before = test_jobs_count(&s, s.admin_key, NULL);
    test_resp r = post_doc(&s, "/v1/documents", s.admin_key, "j-accepted", "accepted words", NULL);
    CHECK_INT(r.status, 202);
    json_t *job = job_of(&r);
    test_job_ref id = test_job_id(&r);
    CHECK(test_job_id_shaped(id.s));
    CHECK(has_location_of(&r, id));
    CHECK(!replayed(&r));
    CHECK_STR(jstr(job, "kind"), "documents");
    const char *state = jstr(job, "state");
    CHECK(!strcmp(state, "ready") || !strcmp(state, "leased") || !strcmp(state, "done"));
    /* queued until the job is done; a job done before the answer was read
     * already says what it did */
    CHECK_STR(doc_status(&r, 0), strcmp(state, "done") ? "queued" : "added");
    CHECK_INT(json_integer_value(json_object_get(job, "max_attempts")), 2);
    CHECK(json_is_string(json_object_get(job, "created_at")));
    CHECK(json_is_null(json_object_get(job, "dedup_key")));
    CHECK(json_is_null(json_object_get(job, "error")));
    char doc_id[32];
    snprintf(doc_id, sizeof doc_id, "%s",
             jstr(json_array_get(json_object_get(r.json, "documents"), 0), "id"));
    test_resp_free(&r);

    char st[16];
    CHECK_INT(test_job_wait(&s, s.admin_key, id, 30, st, sizeof st), 0);
    CHECK_STR(st, "done");
    r = get_job(&s, s.admin_key, id.s);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(r.json, "id"), id.s);
    CHECK_STR(jstr(r.json, "state"), "done");
    CHECK_INT(json_integer_value(json_object_get(r.json, "attempts")), 1);
    CHECK(json_is_string(json_object_get(r.json, "started_at")));
    CHECK(json_is_string(json_object_get(r.json, "finished_at")));
    CHECK(json_is_null(json_object_get(r.json, "next_attempt_at")));
    CHECK(json_is_null(json_object_get(r.json, "error")));
    json_t *res0 =
        json_array_get(json_object_get(json_object_get(r.json, "result"), "documents"), 0);
    CHECK_STR(jstr(res0, "status"), "added");
    CHECK_STR(jstr(res0, "id"), doc_id);
    test_resp_free(&r);
    CHECK_INT(hits_for(&s, s.admin_key, "j-accepted"), 1);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), before + 1);
    /* ?wait=0 does not wait */
    r = post_doc(&s, "/v1/documents?wait=0", s.admin_key, "j-nowait", "no wait", NULL);
    CHECK_INT(r.status, 202);
    char st2[16];
    CHECK_INT(test_job_wait(&s, s.admin_key, test_job_id(&r), 30, st2, sizeof st2), 0);
    test_resp_free(&r);
}

static void wait_answers(void) {
    test_resp r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-wait", "first", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(doc_status(&r, 0), "added");
    CHECK_STR(jstr(job_of(&r), "state"), "done");
    CHECK(has_location_of(&r, test_job_id(&r)));
    char doc_id[32];
    snprintf(doc_id, sizeof doc_id, "%s",
             jstr(json_array_get(json_object_get(r.json, "documents"), 0), "id"));
    test_resp_free(&r);
    CHECK_INT(hits_for(&s, s.admin_key, "j-wait"), 1); /* searchable at once */
    r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-wait", "first", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(doc_status(&r, 0), "unchanged");
    test_resp_free(&r);
    r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-wait", "second", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(doc_status(&r, 0), "updated");
    test_resp_free(&r);
    /* a batch: one status per document, in order */
    r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                       "{\"documents\":[{\"id\":\"j-wait\",\"text\":\"third\"},"
                       "{\"id\":\"j-wait-2\",\"text\":\"batch words\"}]}");
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 2);
    CHECK_STR(doc_status(&r, 0), "updated");
    CHECK_STR(doc_status(&r, 1), "added");
    char doc2[32];
    snprintf(doc2, sizeof doc2, "%s",
             jstr(json_array_get(json_object_get(r.json, "documents"), 1), "id"));
    test_resp_free(&r);
    /* an upload */
    const char *one[] = {"j-file.txt", "uploaded words", NULL};
    r = upload(&s, "/v1/files?wait=10", s.admin_key, one, NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "files"), 0), "name"), "j-file.txt");
    CHECK_STR(jstr(job_of(&r), "kind"), "file");
    CHECK_STR(jstr(job_of(&r), "state"), "done");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(job_of(&r), "result"), "added")),
              1);
    test_resp_free(&r);
    /* a delete */
    char path[96];
    snprintf(path, sizeof path, "/v1/documents/%s?wait=10", doc2);
    r = test_delete(&s, path, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(r.json, "id"), doc2);
    CHECK_STR(jstr(job_of(&r), "kind"), "delete");
    CHECK_STR(jstr(job_of(&r), "state"), "done");
    CHECK(json_is_true(json_object_get(json_object_get(job_of(&r), "result"), "deleted")));
    test_resp_free(&r);
    snprintf(path, sizeof path, "/v1/documents/%s", doc2);
    r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 404);
    test_resp_free(&r);
}

/* A job that fails every time (a .json upload that is not JSON) is
 * dead-lettered after job_max_attempts (2 here): ?wait answers 422. A
 * retry queues it again; it dies again. Only a dead job can be retried. */
static void dead_and_retry(void) {
    const char *bad[] = {"bad.json", "{not", NULL}; /* "{not zq...": not JSON */
    test_resp r = upload(&s, "/v1/files?wait=10", s.admin_key, bad, NULL);
    expect_problem(&r, 422, "job-failed", NULL);
    json_t *job = job_of(&r);
    test_job_ref id = test_job_id(&r);
    CHECK(test_job_id_shaped(id.s));
    CHECK(has_location_of(&r, id));
    CHECK_INT(json_integer_value(json_object_get(r.json, "status")), 422);
    CHECK_STR(jstr(job, "state"), "dead");
    CHECK_INT(json_integer_value(json_object_get(job, "attempts")), 2);
    CHECK(strstr(jstr(job, "error"), "bad.json") != NULL);
    CHECK_STR(jstr(r.json, "detail"), jstr(job, "error"));
    CHECK(json_is_string(json_object_get(r.json, "request_id")));
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "files"), 0), "name"), "bad.json");
    test_resp_free(&r);
    CHECK_INT(doc_status_code(&s, s.admin_key, "upload", "bad.json"), 404);

    /* listed among the dead */
    r = test_get(&s, "/v1/jobs?state=dead", s.admin_key);
    CHECK_INT(r.status, 200);
    int listed = 0;
    json_t *jobs = json_object_get(r.json, "jobs");
    for (size_t i = 0; i < json_array_size(jobs); i++) {
        CHECK_STR(jstr(json_array_get(jobs, i), "state"), "dead");
        listed |= !strcmp(jstr(json_array_get(jobs, i), "id"), id.s);
    }
    CHECK(listed);
    test_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", id.s);
    r = test_http(&s, "POST", path, s.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(r.json, "id"), id.s);
    CHECK(strcmp(jstr(r.json, "state"), "dead") != 0);
    CHECK(json_integer_value(json_object_get(r.json, "attempts")) <= 1); /* reset */
    test_resp_free(&r);
    char st[16];
    CHECK_INT(test_job_wait(&s, s.admin_key, id, 30, st, sizeof st), 0);
    CHECK_STR(st, "dead");
    r = get_job(&s, s.admin_key, id.s);
    CHECK_INT(json_integer_value(json_object_get(r.json, "attempts")), 2);
    test_resp_free(&r);

    /* a done job is not dead: 409; a missing one 404 */
    r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-done", "done words", NULL);
    CHECK_INT(r.status, 200);
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", test_job_id(&r).s);
    test_resp_free(&r);
    r = test_http(&s, "POST", path, s.admin_key, NULL, NULL, 0, NULL);
    expect_problem(&r, 409, "job-not-dead", NULL);
    test_resp_free(&r);
    r = test_http(&s, "POST", "/v1/jobs/987654/retry", s.admin_key, NULL, NULL, 0, NULL);
    expect_problem(&r, 404, "not-found", NULL);
    test_resp_free(&r);

    /* the queue's metrics: the dead job counted by queue and state and in
     * the dead-letter gauge, its failed attempts as retries, the runs timed */
    r = test_get(&s, "/metrics", NULL);
    CHECK_INT(r.status, 200);
    const char *m = r.body ? r.body : "";
    CHECK(strstr(m, "lore_jobs{queue=\"file\",state=\"dead\"} 1\n") != NULL);
    CHECK(strstr(m, "lore_jobs_dead_letter 1\n") != NULL);
    CHECK(strstr(m, "lore_jobs{queue=\"documents\",state=\"ready\"} 0\n") != NULL);
    CHECK(strstr(m, "lore_job_retries_total{queue=\"file\"} 2\n") != NULL); /* 1 per life */
    CHECK(strstr(m, "lore_jobs_finished_total{queue=\"file\",outcome=\"dead\"} 2\n") != NULL);
    CHECK(strstr(m, "lore_job_duration_seconds_count{queue=\"documents\"}") != NULL);
    CHECK(strstr(m, "lore_jobs_oldest_ready_age_seconds 0\n") != NULL);
    if (!strstr(m, "lore_jobs_dead_letter 1\n")) fprintf(stderr, "%s", m);
    test_resp_free(&r);
}

static void bad_wait(void) {
    long before = test_jobs_count(&s, s.admin_key, NULL);
    static const char *const values[] = {"abc", "-1", "", "nan", "1e999", "5s", "0x"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/documents?wait=%s", values[i]);
        test_resp r = post_doc(&s, path, s.admin_key, "j-badwait", "never", NULL);
        if (r.status != 400) fprintf(stderr, "wait=%s: %ld\n", values[i], r.status);
        expect_problem(&r, 400, "invalid-field", "/wait");
        test_resp_free(&r);
    }
    const char *one[] = {"j-badwait.txt", "never", NULL};
    test_resp r = upload(&s, "/v1/files?wait=soon", s.admin_key, one, NULL);
    expect_problem(&r, 400, "invalid-field", "/wait");
    test_resp_free(&r);
    /* the document to delete exists and stays */
    r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-keep", "kept words", NULL);
    CHECK_INT(r.status, 200);
    char path[96];
    snprintf(path, sizeof path, "/v1/documents/%s?wait=x",
             jstr(json_array_get(json_object_get(r.json, "documents"), 0), "id"));
    test_resp_free(&r);
    r = test_delete(&s, path, s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/wait");
    test_resp_free(&r);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), before + 1); /* only j-keep's */
    CHECK_INT(doc_status_code(&s, s.admin_key, "api", "j-badwait"), 404);
    CHECK_INT(doc_status_code(&s, s.admin_key, "upload", "j-badwait.txt"), 404);
    CHECK_INT(doc_status_code(&s, s.admin_key, "api", "j-keep"), 200);
}

/* The jobs with a dedup key among the tenant's (up to 1000). */
static int jobs_with_key(const test_server *srv, const char *key, const char *dedup) {
    test_resp r = test_get(srv, "/v1/jobs?limit=1000", key);
    int n = 0;
    json_t *jobs = json_object_get(r.json, "jobs");
    for (size_t i = 0; i < json_array_size(jobs); i++)
        n += !strcmp(jstr(json_array_get(jobs, i), "dedup_key"), dedup);
    test_resp_free(&r);
    return n;
}

/* Dedup keys belong to the API key that sent them: another key reusing
 * the value gets its own job (and never sees the first key's job). */
static void idempotency_per_key(void) {
    const char *k[] = {"Idempotency-Key: shared-value-7", NULL};
    test_resp a = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-idem-a", "first", k);
    test_resp b = post_doc(&s, "/v1/documents?wait=10", kwrite, "j-idem-b", "second", k);
    CHECK_INT(a.status, 200);
    CHECK_INT(b.status, 200);
    CHECK(test_job_id_shaped(test_job_id(&a).s) && !test_job_is(&b, test_job_id(&a)));
    char h[16];
    CHECK(!test_resp_header(&b, "Idempotent-Replayed", h, sizeof h));
    CHECK_STR(jstr(job_of(&b), "dedup_key"), "shared-value-7"); /* shown as sent */
    CHECK_INT(doc_status_code(&s, s.admin_key, "api", "j-idem-b"), 200);
    test_resp_free(&a);
    test_resp_free(&b);
}

static void idempotency(void) {
    long before = test_jobs_count(&s, s.admin_key, NULL);
    const char *k1[] = {"Idempotency-Key: delivery-0001", NULL};
    test_resp r = post_doc(&s, "/v1/documents", s.admin_key, "j-idem", "original words", k1);
    CHECK_INT(r.status, 202);
    CHECK(!replayed(&r));
    test_job_ref id = test_job_id(&r);
    CHECK_STR(jstr(job_of(&r), "dedup_key"), "delivery-0001");
    test_resp_free(&r);
    /* the repeat (even with another body) is the original job, waited for */
    r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-idem", "replacement words", k1);
    CHECK_INT(r.status, 200);
    CHECK(replayed(&r));
    CHECK(test_job_is(&r, id));
    CHECK(has_location_of(&r, id));
    CHECK_STR(jstr(job_of(&r), "state"), "done");
    test_resp_free(&r);
    r = post_doc(&s, "/v1/documents", s.admin_key, "j-idem", "replacement words", k1);
    CHECK_INT(r.status, 202);
    CHECK(replayed(&r));
    CHECK(test_job_is(&r, id));
    test_resp_free(&r);
    /* one job, one write: the original text */
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), before + 1);
    CHECK_INT(jobs_with_key(&s, s.admin_key, "delivery-0001"), 1);
    char did[STORE_DOC_ID_LEN + 1], path[96];
    store_doc_public_id("api", "j-idem", did);
    snprintf(path, sizeof path, "/v1/documents/%s", did);
    r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK(strstr(jstr(r.json, "text"), "original words") != NULL);
    test_resp_free(&r);
    /* keys are per tenant: the same key in another tenant is its own job */
    r = post_doc(&s, "/v1/documents", kother, "j-idem", "other tenant words", k1);
    CHECK_INT(r.status, 202);
    CHECK(!replayed(&r));
    CHECK(!test_job_is(&r, id));
    test_resp_free(&r);

    /* an upload of two files: one job each (key#0, key#1), replayed together */
    const char *two[] = {"j-idem-a.txt", "file a", "j-idem-b.txt", "file b", NULL};
    const char *k2[] = {"Idempotency-Key: upload-7", NULL};
    r = upload(&s, "/v1/files?wait=10", s.admin_key, two, k2);
    CHECK_INT(r.status, 200);
    json_t *jobs = json_object_get(r.json, "jobs");
    CHECK_INT(json_array_size(jobs), 2);
    test_job_ref fa = test_job_ref_of(json_array_get(jobs, 0));
    test_job_ref fb = test_job_ref_of(json_array_get(jobs, 1));
    CHECK(test_job_id_shaped(fa.s) && test_job_id_shaped(fb.s) && strcmp(fa.s, fb.s));
    CHECK_STR(jstr(json_array_get(jobs, 0), "dedup_key"), "upload-7#0");
    test_resp_free(&r);
    r = upload(&s, "/v1/files", s.admin_key, two, k2);
    CHECK_INT(r.status, 202);
    CHECK(replayed(&r));
    jobs = json_object_get(r.json, "jobs");
    CHECK_STR(jstr(json_array_get(jobs, 0), "id"), fa.s);
    CHECK_STR(jstr(json_array_get(jobs, 1), "id"), fb.s);
    test_resp_free(&r);

    /* a delete repeated, also after it ran (the document is gone by then) */
    const char *kd[] = {"Idempotency-Key: delete-0001", NULL};
    snprintf(path, sizeof path, "/v1/documents/%s?wait=10", did);
    r = test_http(&s, "DELETE", path, s.admin_key, NULL, NULL, 0, kd);
    CHECK_INT(r.status, 200);
    test_job_ref del = test_job_id(&r);
    CHECK(!replayed(&r));
    test_resp_free(&r);
    r = test_http(&s, "DELETE", path, s.admin_key, NULL, NULL, 0, kd);
    CHECK_INT(r.status, 200);
    CHECK(replayed(&r));
    CHECK(test_job_is(&r, del));
    CHECK_STR(jstr(r.json, "id"), did);
    test_resp_free(&r);
    CHECK_INT(jobs_with_key(&s, s.admin_key, "delete-0001"), 1);

    /* malformed keys: 400, nothing queued */
    long n = test_jobs_count(&s, s.admin_key, NULL);
    char longkey[300];
    snprintf(longkey, sizeof longkey, "Idempotency-Key: ");
    memset(longkey + 17, 'k', 201);
    longkey[218] = '\0';
    const char *bad[][2] = {{"Idempotency-Key: two words", NULL},
                            {"Idempotency-Key;", NULL}, /* curl: the header, empty */
                            {longkey, NULL},
                            {"Idempotency-Key: caf\xc3\xa9", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = post_doc(&s, "/v1/documents", s.admin_key, "j-badkey", "never", bad[i]);
        expect_problem(&r, 400, "invalid-field", "/Idempotency-Key");
        test_resp_free(&r);
    }
    r = test_http(&s, "DELETE", "/v1/documents/0123456789abcdef", s.admin_key, NULL, NULL, 0,
                  bad[0]);
    expect_problem(&r, 400, "invalid-field", "/Idempotency-Key");
    test_resp_free(&r);
    CHECK_INT(test_jobs_count(&s, s.admin_key, NULL), n);
}

/* Ids of a listing, page by page of `limit`, newest first. */
static size_t list_ids(const char *state, int limit, test_job_ref *ids, size_t cap) {
    size_t n = 0;
    char cursor[32] = "";
    for (int pages = 0; pages < 1000; pages++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs?limit=%d%s%s%s%s", limit, state ? "&state=" : "",
                 state ? state : "", cursor[0] ? "&cursor=" : "", cursor);
        test_resp r = test_get(&s, path, s.admin_key);
        CHECK_INT(r.status, 200);
        json_t *jobs = json_object_get(r.json, "jobs");
        CHECK(json_array_size(jobs) <= (size_t)limit);
        for (size_t i = 0; i < json_array_size(jobs) && n < cap; i++) {
            json_t *j = json_array_get(jobs, i);
            if (state) CHECK_STR(jstr(j, "state"), state);
            ids[n++] = test_job_ref_of(j);
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        if (!cursor[0]) break;
    }
    return n;
}

static void listing(void) {
    static test_job_ref all[1000], paged[1000];
    CHECK_INT(test_queue_idle(&s, s.admin_key, 30), 0); /* the pages hold still */
    const char *states[] = {NULL, "done", "dead"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = list_ids(states[k], 1000, all, 1000);
        size_t m = list_ids(states[k], 2, paged, 1000);
        CHECK(n >= 1);
        CHECK_INT(m, n);
        int same = 1, repeats = 0;
        for (size_t i = 0; i < n && i < m; i++) {
            same &= !strcmp(paged[i].s, all[i].s) && test_job_id_shaped(all[i].s);
            for (size_t e = 0; e < i; e++)
                repeats += !strcmp(all[e].s, all[i].s);
        }
        CHECK(same); /* page by page as in one piece */
        CHECK_INT(repeats, 0);
    }
    CHECK(list_ids("done", 1000, all, 1000) >= 8);
    CHECK_INT(test_jobs_count(&s, s.admin_key, "ready"), 0);
    CHECK_INT(test_jobs_count(&s, s.admin_key, "leased"), 0);
    test_resp r = test_get(&s, "/v1/jobs?state=bogus", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/state");
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs?limit=0", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/limit");
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs?cursor=abc", s.admin_key);
    expect_problem(&r, 400, "invalid-field", "/cursor");
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs?kind=file", s.admin_key);
    expect_problem(&r, 400, "invalid-field", NULL);
    test_resp_free(&r);
}

static void scopes_and_tenants(void) {
    test_resp r = post_doc(&s, "/v1/documents?wait=10", s.admin_key, "j-access", "words", NULL);
    CHECK_INT(r.status, 200);
    test_job_ref id = test_job_id(&r);
    test_resp_free(&r);
    char path[96];
    /* a read key may not follow jobs: 403 insufficient-scope, as api.c
     * answers any route the key's scopes do not cover */
    r = get_job(&s, kread, id.s);
    expect_problem(&r, 403, "insufficient-scope", NULL);
    char h[160];
    CHECK(test_resp_header(&r, "WWW-Authenticate", h, sizeof h) &&
          strstr(h, "error=\"insufficient_scope\"") && strstr(h, "scope=\"write\""));
    test_resp_free(&r);
    /* a write key follows the jobs it queued, and no other key's (a job
     * names the documents it wrote): the admin's job is a 404 for it */
    r = get_job(&s, kwrite, id.s);
    expect_problem(&r, 404, "not-found", NULL);
    test_resp_free(&r);
    r = post_doc(&s, "/v1/documents?wait=10", kwrite, "j-access-own", "words", NULL);
    CHECK_INT(r.status, 200);
    test_job_ref own = test_job_id(&r);
    test_resp_free(&r);
    r = get_job(&s, kwrite, own.s);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(r.json, "state"), "done");
    test_resp_free(&r);
    r = get_job(&s, s.admin_key, own.s); /* the tenant's admin sees every job */
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs", kwrite);
    expect_problem(&r, 403, "insufficient-scope", NULL);
    test_resp_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", id.s);
    r = test_http(&s, "POST", path, kwrite, NULL, NULL, 0, NULL);
    expect_problem(&r, 403, "insufficient-scope", NULL);
    test_resp_free(&r);
    r = test_http(&s, "POST", "/v1/reindex", kwrite, NULL, NULL, 0, NULL);
    expect_problem(&r, 403, "insufficient-scope", NULL);
    test_resp_free(&r);
    /* another tenant: the job does not exist for it, exactly like a missing one */
    r = get_job(&s, kother, id.s);
    expect_problem(&r, 404, "not-found", NULL);
    test_resp missing = get_job(&s, kother, "job_0123456789abcdef01234567");
    CHECK_INT(missing.status, 404);
    CHECK_STR(jstr(r.json, "detail"), jstr(missing.json, "detail"));
    test_resp_free(&missing);
    test_resp_free(&r);
    r = test_http(&s, "POST", path, kother, NULL, NULL, 0, NULL);
    expect_problem(&r, 404, "not-found", NULL);
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs?limit=1000", kother);
    CHECK_INT(r.status, 200);
    json_t *jobs = json_object_get(r.json, "jobs");
    for (size_t i = 0; i < json_array_size(jobs); i++)
        CHECK(strcmp(jstr(json_array_get(jobs, i), "id"), id.s) != 0);
    test_resp_free(&r);
    r = test_get(&s, "/v1/jobs/not-a-number", s.admin_key);
    expect_problem(&r, 404, "not-found", NULL);
    test_resp_free(&r);
}

static void reindex(void) {
    /* queued like any write; with ?wait the rebuild's outcome (every chunk
     * copied) comes back, and search answers the same before and after */
    test_resp before = test_get(&s, "/v1/search?q=words&limit=50", s.admin_key);
    CHECK_INT(before.status, 200);
    test_resp r = test_http(&s, "POST", "/v1/reindex", s.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 202);
    CHECK_STR(jstr(job_of(&r), "kind"), "reindex");
    CHECK(has_location_of(&r, test_job_id(&r)));
    test_resp_free(&r);
    r = test_http(&s, "POST", "/v1/reindex?wait=30", s.admin_key, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    json_t *res = json_object_get(job_of(&r), "result");
    CHECK(json_integer_value(json_object_get(res, "chunks")) > 0);
    test_resp_free(&r);
    test_resp after = test_get(&s, "/v1/search?q=words&limit=50", s.admin_key);
    CHECK_INT(after.status, 200);
    json_t *hb = json_object_get(before.json, "hits"), *ha = json_object_get(after.json, "hits");
    CHECK(json_array_size(hb) > 0);
    CHECK_INT(json_array_size(ha), json_array_size(hb));
    for (size_t i = 0; i < json_array_size(ha) && i < json_array_size(hb); i++)
        CHECK_STR(jstr(json_array_get(ha, i), "id"), jstr(json_array_get(hb, i), "id"));
    test_resp_free(&before);
    test_resp_free(&after);
    r = test_http(&s, "POST", "/v1/reindex?wait=later", s.admin_key, NULL, NULL, 0, NULL);
    expect_problem(&r, 400, "invalid-field", "/wait");
    test_resp_free(&r);
}

/* ---- back-pressure, no workers; then a `lore worker` drains ---- */

#define MAX_EXT 32
typedef struct ext_list {
    char ext[MAX_EXT][32];
    const char *key[MAX_EXT]; /* whose tenant */
    size_t n;
} ext_list;

static void note(ext_list *l, const char *ext, const char *key) {
    if (l->n < MAX_EXT) {
        snprintf(l->ext[l->n], sizeof l->ext[0], "%s", ext);
        l->key[l->n++] = key;
    }
}

/* The blobs a test server keeps for tenant "default": the files of its
 * blob directory on SQLite, the rows of lore.blobs on PostgreSQL (read with
 * psql, not through lore). */
static size_t blobs_of(const test_server *ts) {
    char cmd[2000], url[1200];
    if (store_fixture_sqlite())
        snprintf(cmd, sizeof cmd, "ls -A '%s/blobs/default' 2>/dev/null | wc -l", ts->dir);
    else if (test_store_url(ts->dir, url, sizeof url) == 0)
        snprintf(cmd, sizeof cmd,
                 "psql -AtX '%s' -c \"SELECT count(*) FROM lore.blobs WHERE tenant = 'default'\"",
                 url);
    else
        return (size_t)-1;
    FILE *p = popen(cmd, "r");
    size_t n = (size_t)-1;
    if (p) {
        if (fscanf(p, "%zu", &n) != 1) n = (size_t)-1;
        pclose(p);
    }
    return n;
}

/* A payload over API_INLINE_PAYLOAD (256 KiB) is kept as a blob file until
 * its job is done; a small one stays in the job row. No workers at first,
 * so the queued state can be looked at, then a lore worker applies both. */
static void large_payload(void) {
    test_server lp;
    const char *env[] = {"LORE_WORKERS=-1", "LORE_RATE_WRITE_PER_MIN=0", "LORE_ACCESS_LOG=0", NULL};
    if (test_server_start(&lp, NULL, env)) {
        CHECK(0);
        return;
    }
    test_resp r = post_doc(&lp, "/v1/documents", lp.admin_key, "lp-small", "small one", NULL);
    CHECK_INT(r.status, 202);
    test_resp_free(&r);
    CHECK_INT(blobs_of(&lp), 0); /* inline */
    size_t filler = 150000, cap = 2 * filler + 1024, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len, "{\"documents\":[");
    for (int d = 0; d < 2; d++) {
        char ext[16], tok[64];
        snprintf(ext, sizeof ext, "lp-big-%d", d);
        token_of(ext, tok, sizeof tok);
        len += (size_t)snprintf(body + len, cap - len, "%s{\"id\":\"%s\",\"text\":\"%s",
                                d ? "," : "", ext, tok);
        for (size_t i = 0; i + 6 <= filler; i += 6)
            len += (size_t)snprintf(body + len, cap - len, " lorem");
        len += (size_t)snprintf(body + len, cap - len, "\"}");
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    CHECK(len > 256 * 1024);
    r = test_http(&lp, "POST", "/v1/documents", lp.admin_key, "application/json", body, len, NULL);
    free(body);
    CHECK_INT(r.status, 202);
    test_resp_free(&r);
    CHECK_INT(blobs_of(&lp), 1); /* the big one waits as a file */
    pid_t worker = test_worker_start(lp.dir, NULL);
    CHECK(worker > 0);
    CHECK_INT(test_queue_idle(&lp, lp.admin_key, 60), 0);
    CHECK_INT(test_jobs_count(&lp, lp.admin_key, "done"), 2);
    CHECK_INT(hits_for(&lp, lp.admin_key, "lp-big-0"), 1);
    CHECK_INT(hits_for(&lp, lp.admin_key, "lp-big-1"), 1);
    CHECK_INT(hits_for(&lp, lp.admin_key, "lp-small"), 1);
    CHECK_INT(blobs_of(&lp), 0); /* removed with its done job */
    CHECK_INT(test_pid_stop(worker, SIGTERM), 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", lp.dir);
    CHECK_INT(test_server_stop(&lp, SIGTERM), 0);
    test_rmtree(dir);
}

static void back_pressure(void) {
    test_server bp;
    ext_list accepted = {0}, refused = {0};
    size_t jobs_accepted = 0;
    const char *env1[] = {
        "LORE_WORKERS=-1",           "LORE_QUEUE_MAX_PER_TENANT=5", "LORE_MAX_WAIT_S=1",
        "LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",    "LORE_RATE_ADMIN_PER_MIN=0",
        "LORE_RATE_ANON_PER_MIN=0",  "LORE_ACCESS_LOG=0",           NULL};
    if (test_server_start(&bp, NULL, env1)) {
        CHECK(0);
        return;
    }
    /* ?wait is capped by max_wait_s (1 s): still queued then, 202 */
    int64_t t0 = lore_mono_ns();
    test_resp r = post_doc(&bp, "/v1/documents?wait=30", bp.admin_key, "bp-0", "pressure", NULL);
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    CHECK_INT(r.status, 202);
    CHECK(secs >= 0.9 && secs < 10);
    CHECK_STR(jstr(job_of(&r), "state"), "ready");
    CHECK_INT(json_integer_value(json_object_get(job_of(&r), "attempts")), 0);
    CHECK(json_is_null(json_object_get(job_of(&r), "next_attempt_at")));
    CHECK_STR(doc_status(&r, 0), "queued");
    test_resp_free(&r);
    note(&accepted, "bp-0", bp.admin_key);
    const char *kidem[] = {"Idempotency-Key: bp-key-2", NULL};
    test_job_ref idem_job = {""};
    for (int i = 1; i <= 3; i++) {
        char ext[16];
        snprintf(ext, sizeof ext, "bp-%d", i);
        r = post_doc(&bp, "/v1/documents", bp.admin_key, ext, "pressure", i == 2 ? kidem : NULL);
        CHECK_INT(r.status, 202);
        CHECK_STR(doc_status(&r, 0), "queued");
        if (i == 2) idem_job = test_job_id(&r);
        test_resp_free(&r);
        note(&accepted, ext, bp.admin_key);
    }
    /* 4 pending: two files would make 6, so neither is queued */
    const char *two[] = {"bp-f1.txt", "pressure file", "bp-f2.txt", "pressure file", NULL};
    r = upload(&bp, "/v1/files", bp.admin_key, two, NULL);
    expect_problem(&r, 429, "queue-full", NULL);
    check_retry_after(&r);
    test_resp_free(&r);
    note(&refused, "bp-f1.txt", bp.admin_key);
    note(&refused, "bp-f2.txt", bp.admin_key);
    CHECK_INT(test_jobs_count(&bp, bp.admin_key, "ready"), 4);
    CHECK_INT(blobs_of(&bp), 0); /* the refused uploads are not kept */
    r = post_doc(&bp, "/v1/documents", bp.admin_key, "bp-4", "pressure", NULL);
    CHECK_INT(r.status, 202);
    test_resp_free(&r);
    note(&accepted, "bp-4", bp.admin_key);
    /* the sixth: 429 with Retry-After, with or without ?wait */
    r = post_doc(&bp, "/v1/documents", bp.admin_key, "bp-5", "pressure", NULL);
    expect_problem(&r, 429, "queue-full", NULL);
    check_retry_after(&r);
    CHECK(strstr(jstr(r.json, "detail"), "queue_max_per_tenant") != NULL);
    test_resp_free(&r);
    note(&refused, "bp-5", bp.admin_key);
    t0 = lore_mono_ns();
    r = post_doc(&bp, "/v1/documents?wait=30", bp.admin_key, "bp-6", "pressure", NULL);
    expect_problem(&r, 429, "queue-full", NULL);
    CHECK((double)(lore_mono_ns() - t0) / 1e9 < 0.9); /* refused at once */
    test_resp_free(&r);
    note(&refused, "bp-6", bp.admin_key);
    /* a repeated key is the job already queued, not a new one: 202 */
    r = post_doc(&bp, "/v1/documents", bp.admin_key, "bp-2", "pressure", kidem);
    CHECK_INT(r.status, 202);
    CHECK(replayed(&r));
    CHECK(test_job_is(&r, idem_job));
    test_resp_free(&r);
    CHECK_INT(test_jobs_count(&bp, bp.admin_key, "ready"), 5);
    CHECK_INT(test_jobs_count(&bp, bp.admin_key, NULL), 5);
    jobs_accepted += 5;
    CHECK_INT(test_server_stop(&bp, SIGTERM), 0);

    /* The same data directory, a server-wide cap of 8 pending jobs. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", bp.dir);
    const char *env2[] = {"LORE_WORKERS=-1",           "LORE_QUEUE_MAX_PER_TENANT=100",
                          "LORE_QUEUE_MAX_TOTAL=8",    "LORE_MAX_WAIT_S=10",
                          "LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                          "LORE_RATE_ADMIN_PER_MIN=0", "LORE_RATE_ANON_PER_MIN=0",
                          "LORE_ACCESS_LOG=0",         NULL};
    if (test_server_start(&bp, dir, env2)) {
        CHECK(0);
        return;
    }
    char kt2[96];
    CHECK(!test_make_tenant(&bp, "t2", kt2, sizeof kt2));
    for (int i = 0; i < 3; i++) {
        char ext[16];
        snprintf(ext, sizeof ext, "tt-%d", i);
        r = post_doc(&bp, "/v1/documents", kt2, ext, "second tenant", NULL);
        CHECK_INT(r.status, 202);
        test_resp_free(&r);
        note(&accepted, ext, kt2);
    }
    jobs_accepted += 3;
    /* 8 pending in all: every tenant is refused, 503 with Retry-After */
    r = post_doc(&bp, "/v1/documents", kt2, "tt-3", "second tenant", NULL);
    expect_problem(&r, 503, "server-busy", NULL);
    check_retry_after(&r);
    CHECK(strstr(jstr(r.json, "detail"), "queue_max_total") != NULL);
    test_resp_free(&r);
    note(&refused, "tt-3", kt2);
    r = post_doc(&bp, "/v1/documents", bp.admin_key, "bp-7", "pressure", NULL);
    expect_problem(&r, 503, "server-busy", NULL);
    check_retry_after(&r);
    test_resp_free(&r);
    note(&refused, "bp-7", bp.admin_key);
    const char *one[] = {"bp-f3.txt", "pressure file", NULL};
    r = upload(&bp, "/v1/files", bp.admin_key, one, NULL);
    expect_problem(&r, 503, "server-busy", NULL);
    test_resp_free(&r);
    note(&refused, "bp-f3.txt", bp.admin_key);
    CHECK_INT(blobs_of(&bp), 0);
    /* nothing ran: no accepted document exists yet */
    CHECK_INT(doc_status_code(&bp, bp.admin_key, "api", "bp-0"), 404);

    /* A worker process on the same data directory drains the queue. */
    const char *wenv[] = {"LORE_WORKERS=2", NULL};
    pid_t worker = test_worker_start(dir, wenv);
    CHECK(worker > 0);
    CHECK_INT(test_queue_idle(&bp, bp.admin_key, 60), 0);
    CHECK_INT(test_queue_idle(&bp, kt2, 60), 0);
    /* the server (no workers of its own) answers ?wait from the worker's work */
    r = post_doc(&bp, "/v1/documents?wait=10", bp.admin_key, "bp-8", "pressure", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(doc_status(&r, 0), "added");
    test_resp_free(&r);
    note(&accepted, "bp-8", bp.admin_key);
    jobs_accepted += 1;
    CHECK_INT(test_jobs_count(&bp, bp.admin_key, "done") + test_jobs_count(&bp, kt2, "done"),
              (long)jobs_accepted);
    /* nothing accepted is lost, nothing refused was written */
    for (size_t i = 0; i < accepted.n; i++) {
        long hits = hits_for(&bp, accepted.key[i], accepted.ext[i]);
        if (hits != 1) fprintf(stderr, "accepted %s: %ld hits\n", accepted.ext[i], hits);
        CHECK_INT(hits, 1);
        CHECK_INT(doc_status_code(&bp, accepted.key[i], "api", accepted.ext[i]), 200);
    }
    for (size_t i = 0; i < refused.n; i++) {
        const char *source = strstr(refused.ext[i], ".txt") ? "upload" : "api";
        long hits = hits_for(&bp, refused.key[i], refused.ext[i]);
        if (hits != 0) fprintf(stderr, "refused %s: %ld hits\n", refused.ext[i], hits);
        CHECK_INT(hits, 0);
        CHECK_INT(doc_status_code(&bp, refused.key[i], source, refused.ext[i]), 404);
    }
    r = test_get(&bp, "/v1/tenants", bp.admin_key);
    json_t *ts = json_object_get(r.json, "tenants");
    long total = 0;
    for (size_t i = 0; i < json_array_size(ts); i++)
        total += json_integer_value(json_object_get(json_array_get(ts, i), "documents"));
    CHECK_INT(total, (long)accepted.n);
    test_resp_free(&r);
    /* the worker stops cleanly and says how many jobs it ran */
    CHECK_INT(test_pid_stop(worker, SIGTERM), 0);
    char logp[700], line[512];
    snprintf(logp, sizeof logp, "%s/worker.log", dir);
    FILE *f = fopen(logp, "r");
    long finished = -1;
    int reports = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "stopped after finishing ");
        if (p) finished = strtol(p + 24, NULL, 10);
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) reports++;
    }
    if (f) fclose(f);
    CHECK_INT(finished, (long)jobs_accepted);
    CHECK_INT(reports, 0);
    CHECK_INT(test_server_stop(&bp, SIGTERM), 0);
    test_rmtree(dir);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *env[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                         "LORE_RATE_ADMIN_PER_MIN=0", "LORE_RATE_ANON_PER_MIN=0",
                         "LORE_ACCESS_LOG=0",         "LORE_JOB_MAX_ATTEMPTS=2",
                         "LORE_JOB_BACKOFF_MS=20",    NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", NULL, kread, sizeof kread));
    CHECK(!test_make_key(&s, s.admin_key, "[\"write\"]", NULL, kwrite, sizeof kwrite));
    CHECK(!test_make_tenant(&s, "other", kother, sizeof kother));

    accepted_then_done();
    wait_answers();
    dead_and_retry();
    idempotency_per_key();
    bad_wait();
    idempotency();
    listing();
    scopes_and_tenants();
    reindex();
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    char logp[600], line[1024];
    snprintf(logp, sizeof logp, "%s/server.log", s.dir);
    FILE *f = fopen(logp, "r");
    int reports = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) reports++;
    if (f) fclose(f);
    CHECK_INT(reports, 0);
    test_rmtree(s.dir);

    back_pressure();
    large_payload();
    curl_global_cleanup();
    return test_summary();
}
