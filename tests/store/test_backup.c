/* Backup and restore at the store layer (store.h, "backup and restore"):
 * a real store in a temporary directory.
 *
 * 1. What a backup does with jobs: a leased job is ready in the copy, the
 *    blobs of pending and dead jobs are copied with their SHA-256, a done
 *    job's removed blob is not missed, a blob missing from the store too is
 *    counted, a pending path job's problems file (written when it runs) is
 *    not; DEST and the restore target must be new or empty; a restore
 *    that does not match the manifest fails and leaves nothing behind.
 *    Until a restore has written and checked everything, the directory
 *    holds no control.db (a restore held at a blob is what a kill there
 *    leaves): no store opens it, and a new restore says to remove it.
 * 2. Under writers: one thread commits numbered keys, another queues jobs
 *    with blobs and finishes them (removing the blobs, as the queue does)
 *    while the backup copies one page per step. The restored keys must be
 *    exactly 1..k with k at least what was committed before the backup
 *    began (one snapshot, never torn), no job is leased, and every pending
 *    or dead job has its blob. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

#define NS 100 /* a key-value namespace of the test's own */

/* The helpers run in the writer threads too, where the (unsynchronized)
 * CHECK counters must not be touched: there a failure is counted apart. */
static _Thread_local int in_thread;
static atomic_int thread_errors;
#define HCHECK(cond)                                                                               \
    do {                                                                                           \
        if (!in_thread)                                                                            \
            CHECK(cond);                                                                           \
        else if (!(cond))                                                                          \
            atomic_fetch_add(&thread_errors, 1);                                                   \
    } while (0)

static char root[256];

static void at(char *out, size_t n, const char *rel) {
    snprintf(out, n, "%s/%s", root, rel);
}

static int exists(const char *rel) {
    char p[512];
    at(p, sizeof p, rel);
    return access(p, F_OK) == 0;
}

static int empty_or_absent(const char *rel) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/%s' 2>/dev/null)\"", root, rel);
    return system(cmd) == 0;
}

static void write_blob(store *s, const char *tenant, const char *name, size_t len) {
    char path[1024];
    HCHECK((store_blob_path(s, tenant, name, path, sizeof path)) == LORE_OK);
    FILE *f = fopen(path, "wb");
    HCHECK(f != NULL);
    for (size_t i = 0; f && i < len; i++)
        fputc((int)('a' + i % 26), f);
    if (f) fclose(f);
}

static int64_t enqueue_kind(store *s, const char *kind, const char *tenant, const char *group,
                            const char *blob, int max_attempts, int64_t now) {
    char *groups[1] = {(char *)group};
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "%s", kind);
    j.groups = groups;
    j.ngroups = 1;
    j.blob = (char *)blob;
    j.weight = 10;
    j.max_attempts = max_attempts;
    store_enqueue_outcome o;
    lore_status st = store_job_enqueue(s, &j, 1, 0, 0, now, &o);
    HCHECK((st) == LORE_OK);
    return st == LORE_OK ? j.id : 0;
}

static int64_t enqueue(store *s, const char *tenant, const char *group, const char *blob,
                       int max_attempts, int64_t now) {
    return enqueue_kind(s, "documents", tenant, group, blob, max_attempts, now);
}

/* Claims the one runnable job and ends it in state (DONE or DEAD). */
static void claim_finish(store *s, int64_t id, int state, int64_t now) {
    store_job *c = NULL;
    size_t n = 0;
    HCHECK((store_job_claim(s, "w", now, 60000, 1, INT64_MAX, &c, &n)) == LORE_OK);
    HCHECK((n) == 1);
    if (n != 1) {
        store_jobs_free(c, n);
        return;
    }
    HCHECK((c[0].id) == id);
    store_job_outcome o = {.id = c[0].id, .lease_seq = c[0].lease_seq, .state = state};
    o.error = state == STORE_JOB_DEAD ? "boom" : NULL;
    HCHECK((store_job_finish(s, &o, 1, now)) == LORE_OK);
    store_jobs_free(c, n);
}

static void put_keys(store_tenant *t, uint32_t from, uint32_t to) {
    HCHECK((store_begin(t)) == LORE_OK);
    for (uint32_t i = from; i <= to; i++) {
        uint8_t k[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        HCHECK((store_kv_put(t, NS, k, 4, "v", 1)) == LORE_OK);
    }
    HCHECK((store_commit(t)) == LORE_OK);
}

typedef struct key_scan {
    uint32_t n, max;
    int gap;
} key_scan;

static int scan_key(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    key_scan *k = ctx;
    (void)val;
    (void)vlen;
    uint32_t v =
        klen == 4 ? (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3]
                  : 0;
    k->n++;
    if (v != k->n) k->gap = 1;
    k->max = v;
    return 0;
}

static key_scan count_keys(store *s, const char *tenant) {
    key_scan k = {0};
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(s, tenant, &t), LORE_OK);
    if (t) CHECK_INT(store_kv_scan(t, NS, "", 0, NULL, 0, scan_key, &k), LORE_OK);
    store_tenant_close(t);
    return k;
}

/* ---- a restore held partway ---- */

typedef struct held_restore {
    char src[512], data[512], err[1024];
    const store_backup_report *want;
    store_backup_report got;
    lore_status st;
    atomic_int finished;
} held_restore;

static void *restore_thread(void *arg) {
    held_restore *h = arg;
    h->st = store_restore(h->src, h->data, h->want, &h->got, h->err, sizeof h->err);
    atomic_store(&h->finished, 1);
    return NULL;
}

/* Restores a copy of the backup whose blob "dead" is a FIFO: the restore
 * blocks opening it, after control.db and the tenants are copied, which is
 * where a kill leaves the directory as this test finds it. Then the FIFO
 * gives the blob's bytes and the restore completes. */
static void check_restore_held(const char *backup, const store_backup_report *want) {
    static held_restore h;
    char cmd[2048], fifo[600], err[1024];
    at(h.src, sizeof h.src, "bfifo");
    at(h.data, sizeof h.data, "r7");
    h.want = want;
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && rm '%s/blobs/acme/dead'", backup, h.src, h.src);
    CHECK(system(cmd) == 0);
    snprintf(fifo, sizeof fifo, "%s/blobs/acme/dead", h.src);
    CHECK(mkfifo(fifo, 0600) == 0);
    pthread_t th;
    pthread_create(&th, NULL, restore_thread, &h);
    int fd = -1; /* opens once the restore opens the FIFO to read it */
    for (int i = 0; i < 60000 && fd < 0 && !atomic_load(&h.finished); i++) {
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENXIO)
            usleep(1000);
        else if (fd < 0)
            break;
    }
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(!exists("r7/control.db"));
        CHECK(exists("r7/control.db.restoring") && exists("r7/tenants/acme/lore.db"));
        store *s = NULL;
        CHECK_INT(store_open(h.data, 0, &s, err, sizeof err), LORE_NOT_FOUND);
        CHECK(strstr(err, "no control.db") != NULL);
        store_close(s);
        store_backup_report other;
        CHECK_INT(store_restore(backup, h.data, want, &other, err, sizeof err), LORE_EXISTS);
        CHECK(strstr(err, "did not finish") && strstr(err, "remove the directory"));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        char buf[70000];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (char)('a' + i % 26); /* as write_blob wrote it */
        for (size_t off = 0; off < sizeof buf;) {
            ssize_t w = write(fd, buf + off, sizeof buf - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        close(fd);
    }
    pthread_join(th, NULL);
    CHECK_INT(h.st, LORE_OK);
    if (h.st != LORE_OK) fprintf(stderr, "held restore: %s\n", h.err);
    CHECK(exists("r7/control.db") && !exists("r7/control.db.restoring") &&
          !exists("r7/control.db.restoring-wal") && !exists("r7/control.db.restoring-journal"));
    store_backup_report_clear(&h.got);
    store *s = NULL;
    CHECK_INT(store_open(h.data, 0, &s, err, sizeof err), LORE_OK);
    if (s) {
        key_scan ks = count_keys(s, "acme");
        CHECK_INT(ks.n, 10);
        store_close(s);
    }
}

static void test_jobs_and_checks(void) {
    char dir[512], dest[512], err[1024];
    at(dir, sizeof dir, "d1");
    store *s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) return;
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "zoo"), LORE_OK);
    store_key k = {.id = "0123456789ab", .tenant = "acme", .scopes = 1, .created_ms = 5};
    memset(k.hash, 'f', 64);
    CHECK_INT(store_key_put(s, &k), LORE_OK);
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);
    if (t) put_keys(t, 1, 10);
    store_tenant_close(t);
    int64_t now = lore_now_ms();
    write_blob(s, "acme", "leased", 1000);
    int64_t leased = enqueue(s, "acme", "g1", "leased", 5, now);
    store_job *c = NULL;
    size_t n = 0;
    CHECK_INT(store_job_claim(s, "w", now, 600000, 1, INT64_MAX, &c, &n), LORE_OK);
    CHECK_INT(n, 1);
    store_jobs_free(c, n);
    write_blob(s, "acme", "dead", 70000);
    int64_t dead = enqueue(s, "acme", "g2", "dead", 1, now);
    claim_finish(s, dead, STORE_JOB_DEAD, now);
    write_blob(s, "acme", "done", 10);
    int64_t done = enqueue(s, "acme", "g3", "done", 5, now);
    claim_finish(s, done, STORE_JOB_DONE, now);
    store_blob_remove(s, "acme", "done"); /* as the queue does after a job is done */
    int64_t lost = enqueue(s, "acme", "g4", "never-written", 5, now);
    (void)lost;
    /* as lore ingest DIR queues it: the problems file is written when it runs */
    CHECK(enqueue_kind(s, "path", "acme", "g5", "problems-g5.jsonl", 5, now) > 0);

    /* DEST must be new or empty */
    at(dest, sizeof dest, "notempty");
    mkdir(dest, 0700);
    at(err, sizeof err, "notempty/x");
    close(open(err, O_WRONLY | O_CREAT, 0600));
    store_backup_report r;
    CHECK_INT(store_backup(s, dest, 0, &r, err, sizeof err), LORE_EXISTS);
    CHECK(strstr(err, "is not empty") != NULL);
    CHECK(exists("notempty/x") && !exists("notempty/control.db"));

    at(dest, sizeof dest, "b1");
    CHECK_INT(store_backup(s, dest, 1, &r, err, sizeof err), LORE_OK);
    CHECK_INT(r.ntenants, 2);
    CHECK_STR(r.ntenants ? r.tenants[0].name : "", "acme");
    CHECK_INT(r.keys, 1);
    CHECK_INT(r.jobs, 5);
    /* the released lease, the job without its blob and the path job */
    CHECK_INT(r.jobs_pending, 3);
    CHECK_INT(r.leases_released, 1);
    CHECK_INT(r.blobs_missing, 1); /* the documents job's, not the path job's */
    CHECK_INT(r.jobs_settled, 0);
    CHECK_INT(r.nblobs, 2);
    CHECK(r.control_schema > 0 && r.snapshot_ms >= now);
    for (size_t i = 0; i < r.nblobs; i++)
        CHECK(strlen(r.blobs[i].sha256) == 64 &&
              r.blobs[i].bytes == (strcmp(r.blobs[i].name, "dead") ? 1000 : 70000));
    CHECK(exists("b1/control.db") && exists("b1/tenants/acme/lore.db") &&
          exists("b1/tenants/zoo/lore.db") && exists("b1/blobs/acme/leased") &&
          exists("b1/blobs/acme/dead") && !exists("b1/blobs/acme/done"));
    CHECK(!exists("b1/control.db-wal") && !exists("b1/tenants/acme/lore.db-wal"));
    store_backup_report again;
    CHECK_INT(store_backup(s, dest, 0, &again, err, sizeof err), LORE_EXISTS);
    store_close(s);

    /* restore */
    char data[512];
    store_backup_report got;
    at(data, sizeof data, "r1");
    CHECK_INT(store_restore(dest, data, &r, &got, err, sizeof err), LORE_OK);
    if (err[0] && got.ntenants == 0) fprintf(stderr, "restore: %s\n", err);
    CHECK_INT(got.ntenants, 2);
    CHECK_INT(got.tenants[0].documents, r.tenants[0].documents);
    store_backup_report_clear(&got);
    CHECK(!exists("b1/control.db-wal") && !exists("b1/control.db-shm")); /* only read */
    CHECK_INT(store_restore(dest, data, &r, &got, err, sizeof err), LORE_EXISTS);
    CHECK_INT(store_open(data, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (s) {
        store_key *key = NULL;
        CHECK_INT(store_key_get(s, "0123456789ab", &key), LORE_OK);
        store_key_free(key);
        store_job *j = NULL;
        CHECK_INT(store_job_get(s, NULL, leased, 0, &j), LORE_OK);
        if (j) {
            CHECK_INT(j->state, STORE_JOB_READY);
            CHECK_INT(j->attempts, 0);
        }
        store_job_free(j);
        key_scan ks = count_keys(s, "acme");
        CHECK_INT(ks.n, 10);
        CHECK(exists("r1/blobs/acme/leased") && exists("r1/blobs/acme/dead"));
        store_close(s);
    }

    /* a restore that does not match its manifest fails and leaves nothing */
    r.keys++;
    at(data, sizeof data, "r2");
    CHECK_INT(store_restore(dest, data, &r, &got, err, sizeof err), LORE_CORRUPT);
    CHECK(strstr(err, "API keys") != NULL);
    CHECK(empty_or_absent("r2"));
    r.keys--;
    char sha0 = r.blobs[0].sha256[0];
    r.blobs[0].sha256[0] = sha0 == '0' ? '1' : '0';
    at(data, sizeof data, "r3");
    CHECK_INT(store_restore(dest, data, &r, &got, err, sizeof err), LORE_CORRUPT);
    CHECK(strstr(err, "SHA-256") != NULL);
    CHECK(empty_or_absent("r3"));
    at(data, sizeof data, "r4");
    CHECK_INT(store_restore(root, data, &r, &got, err, sizeof err), LORE_NOT_FOUND);
    r.blobs[0].sha256[0] = sha0;
    check_restore_held(dest, &r);
    store_backup_report_clear(&r);
}

/* ---- under writers ---- */

typedef struct load {
    char dir[512];
    atomic_int stop;
    atomic_uint committed; /* keys committed so far */
    atomic_uint started;   /* keys being committed (committed, or one more) */
    atomic_uint jobs_done;
} load;

static void *key_writer(void *arg) {
    load *l = arg;
    in_thread = 1;
    store *s = NULL;
    store_tenant *t = NULL;
    char err[256];
    if (store_open(l->dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK ||
        store_tenant_open(s, "acme", &t) != LORE_OK) {
        store_close(s);
        return NULL;
    }
    for (uint32_t i = 1; !atomic_load(&l->stop) && i < 200000; i++) {
        atomic_store(&l->started, i); /* the backup may see this commit before the next line */
        put_keys(t, i, i);
        atomic_store(&l->committed, i);
    }
    store_tenant_close(t);
    store_close(s);
    return NULL;
}

/* Queues jobs with blobs and finishes them in order, the next one always
 * queued before the previous one finishes, so some job is pending (its blob
 * on disk) at every moment. */
static void *job_runner(void *arg) {
    load *l = arg;
    in_thread = 1;
    store *s = NULL;
    char err[256], prev[32] = "";
    int64_t prev_id = 0;
    if (store_open(l->dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK) return NULL;
    for (unsigned i = 0; !atomic_load(&l->stop) && i < 100000; i++) {
        char name[32], group[32];
        snprintf(name, sizeof name, "b-%u", i);
        snprintf(group, sizeof group, "g%u", i);
        write_blob(s, "acme", name, 100);
        int64_t now = lore_now_ms();
        int64_t id = enqueue(s, "acme", group, name, 5, now);
        usleep(300);
        if (prev_id) {
            claim_finish(s, prev_id, STORE_JOB_DONE, now);
            store_blob_remove(s, "acme", prev); /* as the queue does */
            atomic_store(&l->jobs_done, i);
        }
        prev_id = id;
        snprintf(prev, sizeof prev, "%s", name);
    }
    store_close(s);
    return NULL;
}

static void test_under_writers(void) {
    static load l;
    char err[1024], dest[512], data[512];
    at(l.dir, sizeof l.dir, "d2");
    store *s = NULL;
    CHECK_INT(store_open(l.dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) return;
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    pthread_t a, b;
    pthread_create(&a, NULL, key_writer, &l);
    pthread_create(&b, NULL, job_runner, &l);
    for (int i = 0;
         i < 60000 && (atomic_load(&l.committed) < 300 || atomic_load(&l.jobs_done) < 50); i++)
        usleep(1000);
    CHECK(atomic_load(&l.committed) >= 300 && atomic_load(&l.jobs_done) >= 50);
    unsigned before = atomic_load(&l.committed);
    at(dest, sizeof dest, "b2");
    store_backup_report r;
    int64_t t0 = lore_mono_ns();
    lore_status st = store_backup(s, dest, 1, &r, err, sizeof err);
    double ms = (double)(lore_mono_ns() - t0) / 1e6;
    unsigned after = atomic_load(&l.started);
    atomic_store(&l.stop, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_INT(st, LORE_OK);
    CHECK_INT(atomic_load(&thread_errors), 0);
    if (st != LORE_OK) fprintf(stderr, "backup: %s\n", err);
    fprintf(stderr,
            "backup under writers: %.1f ms, keys committed %u before and %u after it; %lld jobs "
            "settled, %zu blobs copied\n",
            ms, before, after, (long long)r.jobs_settled, r.nblobs);
    CHECK(after > before); /* the writers went on during the backup */
    /* A job was pending at the snapshot: its blob was copied, or it
     * finished before that and the copy recorded so. */
    CHECK(r.nblobs + (size_t)r.jobs_settled >= 1);
    CHECK_INT(r.blobs_missing, 0);
    store_close(s);
    at(data, sizeof data, "r5");
    store_backup_report got;
    st = store_restore(dest, data, &r, &got, err, sizeof err);
    CHECK_INT(st, LORE_OK);
    if (st != LORE_OK) fprintf(stderr, "restore: %s\n", err);
    store_backup_report_clear(&got);
    store_backup_report_clear(&r);
    if (st != LORE_OK || store_open(data, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK)
        return;
    key_scan ks = count_keys(s, "acme");
    CHECK(!ks.gap);
    CHECK(ks.n >= before && ks.n <= after);
    store_job *jobs = NULL;
    size_t n = 0;
    CHECK_INT(store_job_list(s, NULL, -1, 0, 1000000, &jobs, &n), LORE_OK);
    size_t leased = 0, orphans = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].state == STORE_JOB_LEASED) leased++;
        if ((jobs[i].state == STORE_JOB_READY || jobs[i].state == STORE_JOB_DEAD) && jobs[i].blob) {
            char p[1024];
            if (store_blob_path(s, "acme", jobs[i].blob, p, sizeof p) != LORE_OK ||
                access(p, F_OK) != 0)
                orphans++;
        }
    }
    CHECK_INT(leased, 0);
    CHECK_INT(orphans, 0); /* every pending job has its payload */
    store_jobs_free(jobs, n);
    store_close(s);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/lore-test-backup-XXXXXX");
    if (!mkdtemp(root)) return 1;
    test_jobs_and_checks();
    test_under_writers();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_summary();
}
