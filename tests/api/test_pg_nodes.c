/* Many nodes on one PostgreSQL and one Redis (issue 14, "Many nodes"):
 * two `lore serve` (A and B, no job workers of their own) and one `lore
 * worker` (W), each with a data directory of its own, on one database and
 * one redis-server started here on a free loopback port.
 *
 *   - every node has the same master_key: B reads its redis_url as a secret
 *     sealed by a CLI run on A's data directory (a node with another key
 *     does not start);
 *   - a tenant created through A is usable through B at once, and its
 *     writes through B are run by W; deleted and created again through A,
 *     B serves the new one at once;
 *   - a key revoked through B is refused by A at its next request;
 *   - one Idempotency-Key sent through A and B at once is one job; an
 *     update through A and a delete through B, back to back, end deleted;
 *   - under a write and search load (writers round-robin on A and B, each
 *     document with a token of its own; searchers on both), W and then A
 *     are killed with SIGKILL while jobs are queued and leased; writers go
 *     on through B; a fresh worker W2 takes over the expired leases and
 *     drains the queue. Then every acknowledged document is there exactly
 *     once (listed once, one chunk, read by its id, one search hit for its
 *     token), the writes A never answered are there at most once, the jobs
 *     W held ran again and nothing is dead;
 *   - two more nodes with a read limit share one key's budget in Redis (one
 *     of them on a data directory that does not exist yet: serve makes it).
 *
 * Run by tests/support/pg.sh (LORE_TEST_PG_URL). LORE_TEST_SEED replays the
 * writers' and searchers' choices. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "jobs/jobs_test.h"
#include "store/store.h"

#define MAXDOCS 6000
#define NWRITERS 3
#define KILL_AFTER 300       /* documents acknowledged before the kills */
#define WRITE_AFTER_KILL 300 /* and through B after them */

/* The same on every node: secrets sealed by one open on every other. */
#define MASTER_KEY "nodes-test-master-key-0123456789abcdef0123456789abcdef"

enum { DOC_UNSENT, DOC_ACKED, DOC_UNANSWERED };

static test_server A, B, T; /* T: B as seen with the tenant's admin key */
static char redis_env[96], redis_dir[256];
static pid_t redis_pid;
static uint64_t seed;
static _Atomic int next_doc, acked, acked_after_kill, killed, a_down, stop_load;
static _Atomic int doc_state[MAXDOCS];
static _Atomic int live_errors, searches_ok;

/* "qz" and four consonants (no s or y): kept whole and distinct by the
 * analyzer and the stemmer. */
static void token_of(int i, char *out) {
    static const char letters[] = "bcdfghjklmnpqrtvwxz"; /* 19 */
    out[0] = 'q';
    out[1] = 'z';
    for (int k = 5; k >= 2; k--) {
        out[k] = letters[i % 19];
        i /= 19;
    }
    out[6] = '\0';
}

static int ext_index(const char *ext) {
    int i = -1;
    char tail;
    if (!ext || sscanf(ext, "node-%5d%c", &i, &tail) != 1 || i < 0 || i >= MAXDOCS) return -1;
    return i;
}

/* ---- Redis and the nodes ---- */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof a);
    if (fd >= 0) close(fd);
    return ok;
}

/* redis-server on a free loopback port (another process may take the port
 * between our probe and its bind: then a new port is tried). */
static int redis_start(void) {
    snprintf(redis_dir, sizeof redis_dir, "%s", test_tmpdir());
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_port();
        char p[16], log[300];
        snprintf(p, sizeof p, "%d", port);
        snprintf(log, sizeof log, "%s/redis.log", redis_dir);
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", redis_dir, "--logfile", log, "--daemonize", "no",
                   (char *)NULL);
            _exit(127);
        }
        for (int i = 0; pid > 0 && i < 400; i++) {
            if (port_open(port)) {
                redis_pid = pid;
                snprintf(redis_env, sizeof redis_env, "LORE_REDIS_URL=redis://127.0.0.1:%d/0",
                         port);
                printf("redis-server on port %d\n", port);
                return 0;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) break; /* exited: the port, or no Redis */
            jt_sleep_ms(50);
        }
    }
    fprintf(stderr, "redis-server did not start (is it installed? see %s/redis.log)\n", redis_dir);
    return -1;
}

static char made_dirs[16][256]; /* removed at the end if all went well */
static int nmade;

/* A new data directory on the store of dir (its .test_store_url). */
static const char *dir_on_store_of(const char *dir) {
    const char *nd = test_tmpdir();
    if (nmade < 16) snprintf(made_dirs[nmade++], sizeof made_dirs[0], "%s", nd);
    char url[1200], path[600];
    if (test_store_url(dir, url, sizeof url)) return NULL;
    snprintf(path, sizeof path, "%s/.test_store_url", nd);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", url) < 0 || fclose(f)) return NULL;
    return nd;
}

/* `lore serve` on a data directory of its own on A's store, with no job
 * workers, Redis at redis_url (an env entry), and one more setting. */
static int node_start(test_server *s, const char *redis_url, const char *extra) {
    const char *dir = dir_on_store_of(A.dir);
    const char *env[] = {"LORE_WORKERS=-1", redis_url, extra, NULL};
    if (!dir || test_server_start(s, dir, env)) return -1;
    snprintf(s->admin_key, sizeof s->admin_key, "%s", A.admin_key);
    return 0;
}

/* `lore serve` as node_start, but on a data directory that does not exist
 * yet (DIR/new/data under a new DIR): lore serve makes it. */
static int node_start_new_dir(test_server *s, const char *extra) {
    char url[1200];
    if (test_store_url(A.dir, url, sizeof url)) return -1;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/new/data", test_tmpdir());
    if (nmade < 16)
        snprintf(made_dirs[nmade++], sizeof made_dirs[0], "%.*s",
                 (int)(strlen(s->dir) - strlen("/new/data")), s->dir);
    snprintf(s->admin_key, sizeof s->admin_key, "%s", A.admin_key);
    int out[2];
    if (pipe(out)) return -1;
    if ((s->pid = fork()) == 0) {
        dup2(out[1], 1);
        close(out[0]);
        setenv("LORE_STORE_URL", url, 1);
        setenv("LORE_WORKERS", "-1", 1);
        putenv(redis_env);
        putenv((char *)extra);
        execl(getenv("LORE_TEST_BIN"), "lore", "serve", "--listen", "127.0.0.1:0", "--data-dir",
              s->dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[512];
    while (f && !s->port && fgets(line, sizeof line, f)) {
        char *u = strstr(line, "listening on http://");
        if (u) s->port = atoi(strrchr(u, ':') + 1);
    }
    if (f) fclose(f);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    if (!s->port) test_server_stop(s, SIGKILL);
    return s->port ? 0 : -1;
}

static pid_t worker_start(void) {
    const char *dir = dir_on_store_of(A.dir);
    const char *env[] = {"LORE_WORKERS=2", redis_env, NULL};
    return dir ? test_worker_start(dir, env) : -1;
}

/* Whether the file at dir/name holds s. */
static int file_has(const char *dir, const char *name, const char *s) {
    char path[700], buf[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

static long status_of(const test_server *s, const char *method, const char *path, const char *key,
                      const char *json) {
    test_resp r = test_http(s, method, path, key, json ? "application/json" : NULL, json,
                            json ? strlen(json) : 0, NULL);
    long st = r.status;
    test_resp_free(&r);
    return st;
}

/* ---- a tenant, a key, a secret across nodes ---- */

/* B reads its redis_url from a secret that a CLI run on A's data directory
 * sealed: one master_key on every node. */
static int store_redis_secret(void) {
    char file[600], out[1024];
    snprintf(file, sizeof file, "%s/redis-url", A.dir);
    FILE *f = fopen(file, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", redis_env + strlen("LORE_REDIS_URL="));
    fclose(f);
    char args[800];
    snprintf(args, sizeof args, "secrets set redis.url --server --value-file '%s'", file);
    int rc = jt_cli(A.dir, out, sizeof out, args);
    if (rc) fprintf(stderr, "lore secrets set: %d %s\n", rc, out);
    return rc;
}

static void check_tenant_at_once(void) {
    CHECK_INT(test_make_tenant(&A, "acme", T.admin_key, sizeof T.admin_key), 0);
    CHECK_INT(status_of(&B, "GET", "/v1/documents", T.admin_key, NULL), 200);
    /* a write through B, run by W, found through A */
    test_resp r = test_post_json(&B, "/v1/documents?wait=30", T.admin_key,
                                 "{\"id\":\"hello\",\"text\":\"written through node b\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_get(&A, "/v1/search?q=node", T.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
    test_resp_free(&r);
    /* an upload through A: its blob, a row of the store, is read by W */
    static const char mp[] = "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; "
                             "filename=\"upload.md\"\r\nContent-Type: text/markdown\r\n\r\n"
                             "# Uploaded\n\nAn upload through node a, qzupload.\n\r\n--XyZ--\r\n";
    r = test_http(&A, "POST", "/v1/files?wait=30", T.admin_key, "multipart/form-data; boundary=XyZ",
                  mp, strlen(mp), NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_get(&B, "/v1/search?q=qzupload", T.admin_key);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
    CHECK_STR(jt_str(json_array_get(json_object_get(r.json, "hits"), 0), "external_id"),
              "upload.md");
    test_resp_free(&r);
    printf("tenant made through A: usable through B at once, its writes (a document through B, "
           "a file through A) run by W\n");
}

/* Hits of a search on s for q (-1 if it failed). */
static long hits_of(const test_server *s, const char *key, const char *q) {
    char path[128];
    snprintf(path, sizeof path, "/v1/search?q=%s", q);
    test_resp r = test_get(s, path, key);
    long n = r.status == 200 ? (long)json_array_size(json_object_get(r.json, "hits")) : -1;
    if (r.status != 200) fprintf(stderr, "search %s: %ld %s\n", q, r.status, r.body ? r.body : "");
    test_resp_free(&r);
    return n;
}

/* A tenant deleted and created again through A, which B had open: B
 * serves the new one (empty, then its own writes), not the old one. */
static void check_tenant_recreated(void) {
    char k1[128], k2[128];
    CHECK_INT(test_make_tenant(&A, "beta", k1, sizeof k1), 0);
    test_resp r = test_post_json(&B, "/v1/documents?wait=30", k1,
                                 "{\"id\":\"old\",\"text\":\"the first beta qzold\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    for (int i = 0; i < 16; i++) /* every HTTP thread of B opens beta */
        CHECK_INT(hits_of(&B, k1, "qzold"), 1);
    CHECK_INT(status_of(&A, "DELETE", "/v1/tenants/beta", A.admin_key, NULL), 204);
    CHECK_INT(test_make_tenant(&A, "beta", k2, sizeof k2), 0);
    int stale = 0;
    for (int i = 0; i < 16; i++)
        stale += hits_of(&B, k2, "qzold") != 0;
    CHECK_INT(stale, 0);
    r = test_post_json(&B, "/v1/documents?wait=30", k2,
                       "{\"id\":\"new\",\"text\":\"the second beta qznew\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    int found = 0;
    for (int i = 0; i < 16; i++)
        found += hits_of(&B, k2, "qznew") == 1;
    CHECK_INT(found, 16);
    printf("tenant deleted and created again through A: B serves the new one (%d stale answers)\n",
           stale);
}

static void check_revocation(void) {
    char key[128], path[64];
    CHECK_INT(test_make_key(&A, T.admin_key, "[\"read\"]", NULL, key, sizeof key), 0);
    CHECK_INT(status_of(&A, "GET", "/v1/sources", key, NULL), 200);
    CHECK_INT(status_of(&B, "GET", "/v1/sources", key, NULL), 200);
    snprintf(path, sizeof path, "/v1/keys/%.12s", key + 5); /* lore_<id>_... */
    CHECK_INT(status_of(&B, "DELETE", path, T.admin_key, NULL), 204);
    CHECK_INT(status_of(&A, "GET", "/v1/sources", key, NULL), 401);
    printf("key revoked through B: refused by A at its next request\n");
}

/* ---- one queue across nodes: dedup keys and FIFO ---- */

#define NDEDUP 8

static const char dedup_body[] = "{\"id\":\"dedup\",\"text\":\"sent eight times\"}";
static char dedup_job[NDEDUP][48];
static long dedup_status[NDEDUP];
static pthread_barrier_t dedup_go;

/* One of NDEDUP senders of one request with one Idempotency-Key, half
 * through A and half through B, all let go at once. */
static void *dedup_sender(void *arg) {
    int k = (int)(intptr_t)arg;
    const char *extra[] = {"Idempotency-Key: nodes-dedup-1", NULL};
    pthread_barrier_wait(&dedup_go);
    test_resp r = test_http(k % 2 ? &B : &A, "POST", "/v1/documents", T.admin_key,
                            "application/json", dedup_body, strlen(dedup_body), extra);
    dedup_status[k] = r.status;
    snprintf(dedup_job[k], sizeof dedup_job[k], "%s", test_job_id(&r).s);
    test_resp_free(&r);
    return NULL;
}

/* The same Idempotency-Key sent through both servers at once is one job;
 * an update through A and a delete through B, back to back, end deleted. */
static void check_one_queue(void) {
    pthread_t t[NDEDUP];
    pthread_barrier_init(&dedup_go, NULL, NDEDUP);
    for (intptr_t k = 0; k < NDEDUP; k++)
        pthread_create(&t[k], NULL, dedup_sender, (void *)k);
    int same = 0;
    for (int k = 0; k < NDEDUP; k++) {
        pthread_join(t[k], NULL);
        same += dedup_status[k] == 202 && dedup_job[k][0] && !strcmp(dedup_job[k], dedup_job[0]);
    }
    pthread_barrier_destroy(&dedup_go);
    CHECK_INT(same, NDEDUP);

    enum { NORDER = 20 };
    char body[160], path[64], id[STORE_DOC_ID_LEN + 1], ext[16];
    for (int i = 0; i < NORDER; i++) {
        snprintf(body, sizeof body, "{\"id\":\"order-%d\",\"text\":\"first\"}", i);
        CHECK_INT(status_of(&B, "POST", "/v1/documents?wait=30", T.admin_key, body), 200);
    }
    int queued = 0;
    for (int i = 0; i < NORDER; i++) {
        snprintf(body, sizeof body, "{\"id\":\"order-%d\",\"text\":\"second\"}", i);
        snprintf(ext, sizeof ext, "order-%d", i);
        store_doc_public_id("api", ext, id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        queued += status_of(&A, "POST", "/v1/documents", T.admin_key, body) == 202;
        queued += status_of(&B, "DELETE", path, T.admin_key, NULL) == 202;
    }
    CHECK_INT(queued, 2 * NORDER);
    CHECK_INT(jt_wait_idle(&T, 120000), 0);
    int gone = 0;
    for (int i = 0; i < NORDER; i++) {
        snprintf(ext, sizeof ext, "order-%d", i);
        store_doc_public_id("api", ext, id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        gone += status_of(&A, "GET", path, T.admin_key, NULL) == 404;
    }
    CHECK_INT(gone, NORDER);
    printf("one queue: %d of %d senders of one Idempotency-Key got one job; %d of %d documents "
           "updated through A and deleted through B end deleted\n",
           same, NDEDUP, gone, NORDER);
}

/* ---- the load ---- */

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *writer(void *arg) {
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + (uintptr_t)arg + 1;
    int use_a = (int)(xorshift(&rng) & 1);
    while (!atomic_load(&stop_load)) {
        int i = atomic_fetch_add(&next_doc, 1);
        if (i >= MAXDOCS) break;
        char body[256], tok[8];
        token_of(i, tok);
        snprintf(body, sizeof body,
                 "{\"id\":\"node-%05d\",\"text\":\"Document %d of the nodes test, token %s.\"}", i,
                 i, tok);
        use_a = !use_a && !atomic_load(&a_down);
        int was_killed = atomic_load(&killed);
        test_resp r = test_post_json(use_a ? &A : &B, "/v1/documents", T.admin_key, body);
        if (r.status / 100 == 2) {
            atomic_store(&doc_state[i], DOC_ACKED);
            atomic_fetch_add(&acked, 1);
            if (was_killed) atomic_fetch_add(&acked_after_kill, 1);
        } else {
            atomic_store(&doc_state[i], DOC_UNANSWERED);
            if (r.status || !use_a || !atomic_load(&killed)) {
                atomic_fetch_add(&live_errors, 1);
                fprintf(stderr, "POST node-%05d to %s: %ld\n", i, use_a ? "A" : "B", r.status);
            } else {
                atomic_store(&a_down, 1); /* A is gone: its requests go to B */
            }
        }
        test_resp_free(&r);
    }
    return NULL;
}

static void *searcher(void *arg) {
    uint64_t rng = seed * 0xBF58476D1CE4E5B9ull + (uintptr_t)arg + 1;
    while (!atomic_load(&stop_load)) {
        int n = atomic_load(&next_doc);
        char path[64], tok[8];
        token_of((int)(xorshift(&rng) % (uint64_t)(n ? n : 1)), tok);
        snprintf(path, sizeof path, "/v1/search?q=%s", tok);
        int on_a = (xorshift(&rng) & 1) && !atomic_load(&a_down);
        test_resp r = test_get(on_a ? &A : &B, path, T.admin_key);
        if (r.status == 200)
            atomic_fetch_add(&searches_ok, 1);
        else if (r.status || !on_a || !atomic_load(&killed)) {
            atomic_fetch_add(&live_errors, 1);
            fprintf(stderr, "search on %s: %ld\n", on_a ? "A" : "B", r.status);
        }
        test_resp_free(&r);
    }
    return NULL;
}

/* The ids of the tenant's leased jobs (up to 1000) into a new array. */
static json_t *leased_jobs(void) {
    test_resp r = test_get(&T, "/v1/jobs?state=leased&limit=1000", T.admin_key);
    json_t *ids = json_array();
    json_t *jobs = json_object_get(r.json, "jobs");
    for (size_t k = 0; k < json_array_size(jobs); k++)
        json_array_append(ids, json_object_get(json_array_get(jobs, k), "id"));
    test_resp_free(&r);
    return ids;
}

/* Kills W with SIGKILL while it holds leases: waits for a leased job, kills,
 * and returns the jobs still leased (W's, as no one else runs jobs). A
 * worker quick enough to finish its batch in between is started again and
 * the kill retried. */
static json_t *kill_worker_holding_leases(pid_t *w) {
    for (int attempt = 0; attempt < 5; attempt++) {
        long leased = 0;
        for (int64_t until = jt_now_ms() + 60000; jt_now_ms() < until && !leased;)
            leased = jt_count_state(&T, "leased", 1);
        CHECK_INT(jt_stop(*w, SIGKILL), 128 + SIGKILL);
        *w = -1;
        json_t *ids = leased_jobs();
        if (json_array_size(ids)) return ids;
        json_decref(ids);
        fprintf(stderr, "the worker held no lease when killed: again\n");
        if ((*w = worker_start()) < 0) break;
    }
    return json_array();
}

/* ---- after the drain ---- */

static int listing_check(int *unanswered_landed) {
    static int seen[MAXDOCS];
    int total = 0, dups = 0, strangers = 0, chunks_bad = 0, missing = 0;
    char cursor[40] = "";
    for (int pages = 0; pages < 100; pages++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/documents?limit=1000%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        test_resp r = test_get(&B, path, T.admin_key);
        CHECK_INT(r.status, 200);
        json_t *docs = json_object_get(r.json, "documents");
        for (size_t k = 0; k < json_array_size(docs); k++) {
            json_t *d = json_array_get(docs, k);
            int i = ext_index(jt_str(d, "external_id"));
            if (i < 0) {
                strangers += strcmp(jt_str(d, "external_id"), "hello") &&
                             strcmp(jt_str(d, "external_id"), "dedup") &&
                             strcmp(jt_str(d, "external_id"), "upload.md");
                continue;
            }
            dups += seen[i]++ > 0;
            chunks_bad += json_integer_value(json_object_get(d, "chunks")) != 1;
            strangers += atomic_load(&doc_state[i]) == DOC_UNSENT;
            *unanswered_landed += atomic_load(&doc_state[i]) == DOC_UNANSWERED;
            total++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        if (!cursor[0]) break;
    }
    for (int i = 0; i < MAXDOCS; i++)
        if (atomic_load(&doc_state[i]) == DOC_ACKED && !seen[i] && missing++ < 5)
            fprintf(stderr, "acknowledged node-%05d is missing\n", i);
    printf("listing: %d documents, %d duplicated, %d unknown, %d not of one chunk, %d "
           "acknowledged but missing\n",
           total, dups, strangers, chunks_bad, missing);
    CHECK_INT(dups, 0);
    CHECK_INT(strangers, 0);
    CHECK_INT(chunks_bad, 0);
    CHECK_INT(missing, 0);
    return total;
}

/* Each acknowledged document read by its id, and each written document
 * found once by its token. */
static void read_and_search_check(void) {
    int read = 0, found = 0, bad = 0;
    for (int i = 0; i < atomic_load(&next_doc) && i < MAXDOCS; i++) {
        int st = atomic_load(&doc_state[i]);
        if (st == DOC_UNSENT) continue;
        char ext[16], id[STORE_DOC_ID_LEN + 1], path[64], tok[8];
        snprintf(ext, sizeof ext, "node-%05d", i);
        token_of(i, tok);
        store_doc_public_id("api", ext, id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        test_resp r = test_get(&B, path, T.admin_key);
        int present = r.status == 200;
        if (st == DOC_ACKED) {
            int ok = present && !strcmp(jt_str(r.json, "external_id"), ext) &&
                     strstr(jt_str(r.json, "text"), tok);
            read += ok;
            if (!ok && bad++ < 5) fprintf(stderr, "%s: read %ld\n", ext, r.status);
        }
        test_resp_free(&r);
        snprintf(path, sizeof path, "/v1/search?q=%s&limit=10", tok);
        r = test_get(&B, path, T.admin_key);
        json_t *hits = json_object_get(r.json, "hits");
        size_t want = (size_t)present;
        int ok = r.status == 200 && json_array_size(hits) == want &&
                 (!want || !strcmp(jt_str(json_array_get(hits, 0), "external_id"), ext));
        found += ok && want;
        if (!ok && bad++ < 5)
            fprintf(stderr, "%s: search %ld, %zu hits for %zu\n", ext, r.status,
                    json_array_size(hits), want);
        test_resp_free(&r);
    }
    printf("read back %d acknowledged documents by id; %d documents found once by their token\n",
           read, found);
    CHECK_INT(read, atomic_load(&acked));
    CHECK_INT(bad, 0);
}

/* The jobs W held when it died: done, after a second attempt. */
static void rerun_check(json_t *held) {
    int rerun = 0;
    for (size_t k = 0; k < json_array_size(held); k++) {
        json_t *j = jt_job(&T, json_string_value(json_array_get(held, k)));
        int again = j && !strcmp(jt_str(j, "state"), "done") &&
                    json_integer_value(json_object_get(j, "attempts")) >= 2;
        if (!again)
            fprintf(stderr, "job %s held by the killed worker: %s, %lld attempts\n",
                    json_string_value(json_array_get(held, k)), j ? jt_str(j, "state") : "?",
                    j ? json_integer_value(json_object_get(j, "attempts")) : 0);
        rerun += again;
        json_decref(j);
    }
    printf("jobs leased by the killed worker: %zu, run again and done: %d\n", json_array_size(held),
           rerun);
    CHECK(json_array_size(held) > 0);
    CHECK_INT(rerun, json_array_size(held));
}

static void load_and_kill(pid_t *w) {
    pthread_t wt[NWRITERS], st[2];
    for (uintptr_t k = 0; k < NWRITERS; k++)
        pthread_create(&wt[k], NULL, writer, (void *)k);
    for (uintptr_t k = 0; k < 2; k++)
        pthread_create(&st[k], NULL, searcher, (void *)k);
    for (int64_t until = jt_now_ms() + 120000; jt_now_ms() < until;)
        if (atomic_load(&acked) >= KILL_AFTER)
            break;
        else
            jt_sleep_ms(5);
    json_decref(kill_worker_holding_leases(w));
    atomic_store(&killed, 1);
    CHECK_INT(test_server_stop(&A, SIGKILL), 128 + SIGKILL);
    /* read again, past any commit W had sent before it died: what is still
     * leased now, with no worker alive, is what W never finished */
    json_t *held = leased_jobs();
    long ready = jt_count_state(&T, "ready", 1000);
    printf("killed W (holding %zu leases) and A after %d acknowledged writes; %ld jobs ready\n",
           json_array_size(held), atomic_load(&acked), ready);
    for (int64_t until = jt_now_ms() + 120000; jt_now_ms() < until;)
        if (atomic_load(&acked_after_kill) >= WRITE_AFTER_KILL)
            break;
        else
            jt_sleep_ms(5);
    atomic_store(&stop_load, 1);
    for (int k = 0; k < NWRITERS; k++)
        pthread_join(wt[k], NULL);
    for (int k = 0; k < 2; k++)
        pthread_join(st[k], NULL);
    int unanswered = 0;
    for (int i = 0; i < MAXDOCS; i++)
        unanswered += atomic_load(&doc_state[i]) == DOC_UNANSWERED;
    printf("writes: %d sent, %d acknowledged (%d through B after the kills), %d unanswered; %d "
           "searches answered\n",
           atomic_load(&next_doc), atomic_load(&acked), atomic_load(&acked_after_kill), unanswered,
           atomic_load(&searches_ok));
    CHECK_INT(atomic_load(&live_errors), 0);
    CHECK(atomic_load(&acked_after_kill) >= WRITE_AFTER_KILL);
    CHECK(atomic_load(&searches_ok) > 0);

    /* a fresh worker takes the expired leases over and drains the queue */
    int64_t t0 = jt_now_ms();
    *w = worker_start();
    CHECK(*w > 0);
    int idle = jt_wait_idle(&T, 180000);
    CHECK_INT(idle, 0);
    printf("W2 %s the queue in %lld ms\n", idle ? "did not drain" : "drained",
           (long long)(jt_now_ms() - t0));
    CHECK_INT(jt_count_state(&T, "dead", 10), 0);
    rerun_check(held);
    json_decref(held);
    int landed = 0, total = listing_check(&landed);
    printf("%d unanswered writes landed anyway (each once)\n", landed);
    CHECK_INT(total, atomic_load(&acked) + landed);
    read_and_search_check();
}

/* ---- shared rate limits ---- */

static void check_shared_budget(void) {
    test_server C, D;
    CHECK_INT(node_start_new_dir(&C, "LORE_RATE_READ_PER_MIN=6"), 0);
    CHECK_INT(node_start(&D, redis_env, "LORE_RATE_READ_PER_MIN=6"), 0);
    char key[128];
    CHECK_INT(test_make_key(&C, T.admin_key, "[\"read\"]", NULL, key, sizeof key), 0);
    int ok_c = 0, ok_d = 0;
    int64_t t0 = jt_now_ms();
    for (int i = 0; i < 15; i++) {
        ok_c += status_of(&C, "GET", "/v1/sources", key, NULL) == 200;
        ok_d += status_of(&D, "GET", "/v1/sources", key, NULL) == 200;
    }
    /* 6 a minute: a burst of 10, one more every 10 s */
    int budget = 10 + (int)((jt_now_ms() - t0) / 10000) + 1;
    printf("shared budget: %d + %d reads of 30 allowed across two nodes (budget %d)\n", ok_c, ok_d,
           budget);
    CHECK(ok_c + ok_d <= budget);
    CHECK(ok_c + ok_d >= 10);
    CHECK(ok_c > 0 && ok_d > 0);
    CHECK_INT(test_server_stop(&C, SIGTERM), 0);
    CHECK_INT(test_server_stop(&D, SIGTERM), 0);
}

int main(void) {
    const char *pg = getenv("LORE_TEST_PG_URL");
    if (!pg) {
        fprintf(stderr, "LORE_TEST_PG_URL is not set (run through tests/support/pg.sh)\n");
        return 1;
    }
    setenv("LORE_TEST_STORE_URL", pg, 1);
    seed = test_seed();
    /* every process started here: lore serve, lore worker, the CLI */
    setenv("LORE_MASTER_KEY", MASTER_KEY, 1);
    setenv("LORE_JOB_LEASE_S", "2", 1); /* a dead worker's leases expire soon */
    setenv("LORE_RATE_READ_PER_MIN", "0", 1);
    setenv("LORE_RATE_WRITE_PER_MIN", "0", 1);
    setenv("LORE_RATE_ADMIN_PER_MIN", "0", 1);
    setenv("LORE_QUEUE_MAX_PER_TENANT", "0", 1);
    setenv("LORE_QUEUE_MAX_TOTAL", "0", 1);
    setenv("LORE_ACCESS_LOG", "0", 1);
    curl_global_init(CURL_GLOBAL_ALL);
    if (redis_start()) return 1;

    const char *a_env[] = {"LORE_WORKERS=-1", redis_env, NULL};
    CHECK_INT(test_server_start(&A, NULL, a_env), 0);
    CHECK(A.admin_key[0] != '\0');
    CHECK_INT(store_redis_secret(), 0);
    /* a node with another master_key cannot open the secret: it does not start */
    test_server X;
    CHECK(node_start(&X, "LORE_REDIS_URL=secret:redis.url",
                     "LORE_MASTER_KEY=another-master-key-0123456789abcdef0123") != 0);
    CHECK(file_has(X.dir, "server.log", "master_key"));
    CHECK_INT(node_start(&B, "LORE_REDIS_URL=secret:redis.url", NULL), 0);
    pid_t w = worker_start();
    CHECK(w > 0);
    if (!A.port || !B.port || w <= 0) {
        test_pid_stop(redis_pid, SIGKILL);
        return test_summary();
    }
    T = B;
    test_resp r = test_get(&B, "/health/ready", NULL);
    CHECK(r.body && strstr(r.body, "\"status\":\"ready\""));
    test_resp_free(&r);

    check_tenant_at_once();
    check_tenant_recreated();
    check_revocation();
    check_one_queue();
    load_and_kill(&w);
    check_shared_budget();

    CHECK_INT(jt_stop(w, SIGTERM), 0);
    CHECK_INT(test_server_stop(&B, SIGTERM), 0);
    test_pid_stop(redis_pid, SIGTERM);
    if (!test_failed) {
        test_rmtree(redis_dir);
        test_rmtree(A.dir);
        for (int i = 0; i < nmade; i++)
            test_rmtree(made_dirs[i]);
    } else {
        fprintf(stderr, "logs kept: %s (A), %s (B) and the other /tmp/lore-test-* named above\n",
                A.dir, B.dir);
    }
    curl_global_cleanup();
    return test_summary();
}
