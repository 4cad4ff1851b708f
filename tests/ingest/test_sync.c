/* Folder syncs against a model: random rounds add, change (same size too),
 * rename, delete and symlink files of three kinds (text: title from the
 * name; Markdown with a heading: renamed in place; JSON Lines: one
 * document per line) in a folder and a subfolder, then sync. After every
 * round the source's documents under the folder are exactly the model's
 * (a change that keeps size and mtime, as within one mtime tick, too),
 * each found by its own word and no stale word is found; a sibling folder
 * with the same prefix, another source and a record with its own id are
 * never touched. Also: gzip decoding (members, bombs, cut streams) and a
 * sync refused for a missing folder. Seed: LORE_TEST_SEED, printed. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "search/search.h"
#include "test.h"

#define NFILES 12
#define ROUNDS 30

static store_tenant *t;
static tenant_ctx *tc;
static ingest_session *ing;
static search_engine *se;
static char root[PATH_MAX / 2], dir[PATH_MAX / 2 + 8];

typedef struct mfile {
    int live;
    int kind;      /* 0 text, 1 markdown, 2 jsonl */
    char rel[64];  /* path under dir */
    int version;   /* bumped on every change */
    int prev_kind; /* the kind of version - 1 (a file deleted and added again may change) */
    int lines;     /* jsonl */
    char link[64]; /* a symlink to it, "" if none */
} mfile;
static mfile files[NFILES];

static const char *const ext[] = {".txt", ".md", ".jsonl", ".json"};
#define KINDS 4 /* 3: a JSON array of records with their own ids x1, x2, ..., shared by files */

/* Analyzer-stable words: no stemming changes them. */
static void word(char *out, size_t n, int file, int version, int line) {
    snprintf(out, n, "w%dq%dz%dk", file, version, line);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void write_model(int i) {
    mfile *m = &files[i];
    char path[PATH_MAX + 64], text[2048] = "", w[64];
    snprintf(path, sizeof path, "%s/%s", dir, m->rel);
    if (m->kind == 0) {
        word(w, sizeof w, i, m->version, 0);
        snprintf(text, sizeof text, "plain %s\n", w);
    } else if (m->kind == 1) {
        word(w, sizeof w, i, m->version, 0);
        snprintf(text, sizeof text, "# Heading %d\n\nbody %s\n", i, w);
    } else if (m->kind == 3) {
        strcpy(text, "[");
        for (int l = 1; l <= m->lines; l++) {
            word(w, sizeof w, i, m->version, l);
            size_t len = strlen(text);
            snprintf(text + len, sizeof text - len, "%s{\"id\":\"x%d\",\"text\":\"rec %s\"}",
                     l > 1 ? "," : "", l, w);
        }
        strcat(text, "]\n");
    } else {
        for (int l = 1; l <= m->lines; l++) {
            word(w, sizeof w, i, m->version, l);
            size_t len = strlen(text);
            snprintf(text + len, sizeof text - len, "{\"text\":\"line %s\"}\n", w);
        }
    }
    write_file(path, text);
}

static void new_name(int i, int round) {
    snprintf(files[i].rel, sizeof files[i].rel, "%sf%d_%d%s", test_rand() % 2 ? "sub/" : "", i,
             round, ext[files[i].kind]);
}

/* The ids the model expects under dir, sorted, one per line. */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *expected(void) {
    char *ids[NFILES * 8];
    size_t n = 0;
    for (int i = 0; i < NFILES; i++) {
        if (!files[i].live || files[i].kind == 3) continue;
        char buf[PATH_MAX + 96];
        if (files[i].kind == 2) {
            for (int l = 1; l <= files[i].lines; l++) {
                snprintf(buf, sizeof buf, "%s/%s#%d", dir, files[i].rel, l);
                ids[n++] = strdup(buf);
            }
        } else {
            snprintf(buf, sizeof buf, "%s/%s", dir, files[i].rel);
            ids[n++] = strdup(buf);
        }
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(ids[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < n; i++) {
        strcat(out, ids[i]);
        strcat(out, "\n");
        free(ids[i]);
    }
    return out;
}

typedef struct listing {
    char *text;
    size_t len, cap;
    char last[PATH_MAX + 32];
    size_t n;
} listing;

static int add_id(void *ctx, int64_t rowid, const char *ext_id, const char *hash) {
    (void)rowid, (void)hash;
    listing *l = ctx;
    size_t n = strlen(ext_id);
    if (l->len + n + 2 > l->cap) {
        l->cap = (l->len + n + 2) * 2;
        l->text = realloc(l->text, l->cap);
    }
    memcpy(l->text + l->len, ext_id, n);
    l->len += n;
    l->text[l->len++] = '\n';
    l->text[l->len] = 0;
    snprintf(l->last, sizeof l->last, "%s", ext_id);
    l->n++;
    return 0;
}

/* The source's ids in [from, below), one per line. */
static char *stored(const char *source, const char *from, const char *below) {
    listing l = {0};
    l.text = calloc(1, 1);
    char cur[PATH_MAX + 32];
    snprintf(cur, sizeof cur, "%s", from);
    for (;;) {
        l.n = 0;
        if (store_doc_scan_external(t, source, cur, below, 7, add_id, &l) != LORE_OK) break;
        if (l.n < 7) break;
        snprintf(cur, sizeof cur, "%s", l.last);
    }
    return l.text;
}

static size_t hits(const char *query) {
    search_request req = {.query = query, .all_access = 1, .limit = 20};
    search_response r;
    char err[256];
    if (search_run(se, &req, &r, err, sizeof err) != LORE_OK) return 999;
    size_t n = r.n;
    search_response_free(&r);
    return n;
}

static void check_model(int round) {
    char prefix[PATH_MAX + 2], below[PATH_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    snprintf(below, sizeof below, "%s0", dir);
    char *want = expected(), *got = stored("files", prefix, below);
    if (strcmp(want, got)) {
        fprintf(stderr, "round %d: documents differ\n--- want\n%s--- got\n%s", round, want, got);
        CHECK(0);
    } else {
        CHECK(1);
    }
    free(want);
    free(got);
    /* Records with their own ids: those some live file holds. */
    int maxline = 0;
    for (int i = 0; i < NFILES; i++)
        if (files[i].live && files[i].kind == 3 && files[i].lines > maxline)
            maxline = files[i].lines;
    char own_want[64] = "", *own_got = stored("files", "x", "y");
    for (int l = 1; l <= maxline; l++)
        snprintf(own_want + strlen(own_want), sizeof own_want - strlen(own_want), "x%d\n", l);
    if (strcmp(own_want, own_got)) {
        fprintf(stderr, "round %d: own ids differ\n--- want\n%s--- got\n%s", round, own_want,
                own_got);
        CHECK(0);
    }
    free(own_got);
    /* Each live document by its word; the previous version's word gone. */
    for (int i = 0; i < NFILES; i++) {
        if (files[i].kind == 3) continue; /* shared ids: the last file read wins */
        char w[64];
        int lines = files[i].kind == 2 ? files[i].lines : 1;
        for (int l = files[i].kind == 2 ? 1 : 0; l <= (files[i].kind == 2 ? lines : 0); l++) {
            word(w, sizeof w, i, files[i].version, l);
            size_t h = hits(w);
            if (h != (size_t)files[i].live) {
                fprintf(stderr, "round %d: %s (file %d, live %d) has %zu hits\n", round, w, i,
                        files[i].live, h);
                CHECK(0);
            }
            /* The previous version's words are gone, unless it was records
             * with shared ids (kind 3): those stay while another file holds
             * the ids, with the last text read (see above). */
            if (files[i].version > 0 && files[i].prev_kind != 3) {
                word(w, sizeof w, i, files[i].version - 1, l);
                if (hits(w)) {
                    fprintf(stderr, "round %d: stale %s found\n", round, w);
                    CHECK(0);
                }
            }
        }
    }
}

static void run_sync(int round) {
    char err[512] = "";
    lore_status st = ingest_sync_path(ing, dir, err, sizeof err);
    if (st != LORE_OK)
        fprintf(stderr, "round %d: sync: %s %s\n", round, lore_status_message(st), err);
    CHECK_INT(st, LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

static void one_change(int round) {
    int i = (int)(test_rand() % NFILES);
    mfile *m = &files[i];
    char path[PATH_MAX + 64], to[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, m->rel);
    int action = (int)(test_rand() % 6);
    if (!m->live) { /* add */
        m->live = 1;
        m->prev_kind = m->kind;
        m->kind = (int)(test_rand() % KINDS);
        m->lines = 1 + (int)(test_rand() % 4);
        m->version++;
        new_name(i, round);
        write_model(i);
    } else if (action <= 1) { /* change, often to the same size */
        m->prev_kind = m->kind;
        m->version++;
        if (m->kind >= 2 && action == 1) m->lines = 1 + (int)(test_rand() % 4);
        write_model(i);
    } else if (action == 2) { /* rename, same bytes */
        new_name(i, round);
        snprintf(to, sizeof to, "%s/%s", dir, m->rel);
        CHECK_INT(rename(path, to), 0);
        if (m->link[0]) { /* the link now dangles: drop it */
            snprintf(to, sizeof to, "%s/%s", dir, m->link);
            unlink(to);
            m->link[0] = 0;
        }
    } else if (action == 3) { /* delete */
        unlink(path);
        if (m->link[0]) {
            snprintf(to, sizeof to, "%s/%s", dir, m->link);
            unlink(to);
            m->link[0] = 0;
        }
        m->live = 0;
    } else if (action == 5) { /* a change within one mtime tick: same size and mtime */
        struct stat sb;
        CHECK_INT(stat(path, &sb), 0);
        m->prev_kind = m->kind;
        m->version++;
        write_model(i);
        struct stat nb;
        CHECK_INT(stat(path, &nb), 0);
        /* Only as a real race can be: the file was last written within the
         * last second, so the sync that recorded it did so within 2 s of
         * its mtime (an mtime set back by hand further than that is not
         * seen, as with rsync or git). */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (nb.st_size == sb.st_size && now.tv_sec - sb.st_mtim.tv_sec < 1) {
            struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
            CHECK_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
        }
    } else if (action == 4 && !m->link[0]) { /* a symlink to it: no new document */
        snprintf(m->link, sizeof m->link, "link%d%s", i, ext[m->kind]);
        snprintf(to, sizeof to, "%s/%s", dir, m->link);
        CHECK_INT(symlink(path, to), 0);
    }
}

static void test_gzip(void) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/g.gz", root);
    /* Two members concatenated read as one. */
    gzFile g = gzopen(path, "wb");
    gzputs(g, "first ");
    gzclose(g);
    g = gzopen(path, "ab");
    gzputs(g, "second");
    gzclose(g);
    int fd = open(path, O_RDONLY);
    uint8_t *out = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(ingest_gunzip_fd(fd, 1 << 20, &out, &n, err, sizeof err), LORE_OK);
    CHECK(n == 12 && !memcmp(out, "first second", 12));
    free(out);
    close(fd);
    /* A bomb: 4 MiB of zeros against a 1 MiB cap. */
    g = gzopen(path, "wb9");
    static char zeros[65536];
    for (int i = 0; i < 64; i++)
        gzwrite(g, zeros, sizeof zeros);
    gzclose(g);
    fd = open(path, O_RDONLY);
    CHECK_INT(ingest_gunzip_fd(fd, 1 << 20, &out, &n, err, sizeof err), LORE_TOO_LARGE);
    CHECK(strstr(err, "more than 1 MiB") != NULL);
    close(fd);
    /* Exactly the cap is fine. */
    fd = open(path, O_RDONLY);
    CHECK_INT(ingest_gunzip_fd(fd, 4 << 20, &out, &n, err, sizeof err), LORE_OK);
    CHECK(n == 4u << 20);
    free(out);
    close(fd);
    /* Cut short, and garbage after the stream. */
    int cut = open(path, O_RDWR);
    CHECK_INT(ftruncate(cut, 100), 0);
    close(cut);
    fd = open(path, O_RDONLY);
    CHECK_INT(ingest_gunzip_fd(fd, 4 << 20, &out, &n, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "truncated") != NULL);
    close(fd);
    g = gzopen(path, "wb");
    gzputs(g, "x");
    gzclose(g);
    FILE *f = fopen(path, "ab");
    fputs("trailing junk", f);
    fclose(f);
    fd = open(path, O_RDONLY);
    CHECK_INT(ingest_gunzip_fd(fd, 1 << 20, &out, &n, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "garbage") != NULL);
    close(fd);
    /* Empty members decompress to nothing; a file of them larger than the
     * cap (and its margin) is refused unread, however little it holds. */
    g = gzopen(path, "wb");
    gzclose(g);
    struct stat one;
    CHECK_INT(stat(path, &one), 0);
    FILE *empty = fopen(path, "rb");
    char member[64];
    size_t mlen = empty ? fread(member, 1, sizeof member, empty) : 0;
    if (empty) fclose(empty);
    CHECK_INT(mlen, (size_t)one.st_size);
    f = fopen(path, "wb");
    for (size_t w = 0; f && w < (100u << 10) / mlen; w++)
        fwrite(member, 1, mlen, f);
    if (f) fclose(f);
    fd = open(path, O_RDONLY);
    CHECK_INT(ingest_gunzip_fd(fd, 16 << 10, &out, &n, err, sizeof err), LORE_TOO_LARGE);
    CHECK(strstr(err, "compressed file is larger") != NULL);
    close(fd);
    char inner[64];
    ingest_gzip_inner_name("/x/notes.md.gz", inner, sizeof inner);
    CHECK_STR(inner, "/x/notes.md");
}

/* Outside the sync's reach: a sibling folder whose name shares the
 * prefix, another source, and a record with its own id whose file goes. */
static void add_outsiders(const char *sib) {
    char p[PATH_MAX + 32];
    CHECK_INT(ingest_path(ing, sib), LORE_OK);
    snprintf(p, sizeof p, "%s/own.json", dir);
    write_file(p, "{\"id\": \"own-1\", \"text\": \"ownword\"}\n");
    CHECK_INT(ingest_path(ing, p), LORE_OK);
    unlink(p);
    ingest_set_source_acl(ing, "other", NULL, 0);
    snprintf(p, sizeof p, "%s/other.txt", dir);
    write_file(p, "another source otherword\n");
    CHECK_INT(ingest_path(ing, p), LORE_OK);
    unlink(p);
    ingest_set_source_acl(ing, "files", NULL, 0);
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

/* A folder that is gone is refused and nothing is deleted. */
static void test_refused(void) {
    char err[512] = "";
    char moved[PATH_MAX + 8];
    snprintf(moved, sizeof moved, "%s/moved", root);
    CHECK_INT(rename(dir, moved), 0);
    uint64_t deleted = ingest_session_stats(ing)->docs_deleted;
    CHECK_INT(ingest_sync_path(ing, dir, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "nothing was deleted") != NULL);
    CHECK_INT(ingest_session_stats(ing)->docs_deleted, deleted);
    CHECK_INT(rename(moved, dir), 0);
    check_model(ROUNDS + 1);
}

/* A folder that a sync recorded files in and that is now empty (an
 * unmounted disk looks like this) is refused and nothing is deleted; the
 * CLI refuses it before queueing, and this is the worker's own check. */
static void test_empty_refused(void) {
    char e[PATH_MAX + 8], p[PATH_MAX + 32], err[512] = "";
    snprintf(e, sizeof e, "%s/e", root);
    CHECK_INT(mkdir(e, 0700), 0);
    snprintf(p, sizeof p, "%s/only.txt", e);
    write_file(p, "emptyword\n");
    CHECK_INT(ingest_sync_path(ing, e, err, sizeof err), LORE_OK);
    CHECK_INT(ingest_commit(ing), LORE_OK);
    CHECK_INT(hits("emptyword"), 1);
    unlink(p);
    CHECK(ingest_sync_dir_empty(e));
    uint64_t deleted = ingest_session_stats(ing)->docs_deleted;
    CHECK_INT(ingest_sync_path(ing, e, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "it is empty") != NULL);
    CHECK_INT(ingest_session_stats(ing)->docs_deleted, deleted);
    CHECK_INT(hits("emptyword"), 1);
}

int main(void) {
    test_seed();
    char real[PATH_MAX];
    CHECK(realpath(test_tmpdir(), real) != NULL && strlen(real) < sizeof root);
    memcpy(root, real, strlen(real) + 1);
    snprintf(dir, sizeof dir, "%s/d", root);
    char sub[PATH_MAX + 8], sib[PATH_MAX + 8], p[PATH_MAX + 32];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(sib, sizeof sib, "%s/d0", root);
    CHECK_INT(mkdir(dir, 0700), 0);
    CHECK_INT(mkdir(sub, 0700), 0);
    CHECK_INT(mkdir(sib, 0700), 0);
    snprintf(p, sizeof p, "%s/keep.txt", sib);
    write_file(p, "sibling folder keepword\n");

    store *s = NULL;
    char err[512];
    CHECK_INT(store_open(root, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    o.batch_docs = 3; /* commits in the middle of a sync too */
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);

    add_outsiders(sib);

    for (int round = 0; round < ROUNDS; round++) {
        int changes = 1 + (int)(test_rand() % 4);
        for (int k = 0; k < changes; k++)
            one_change(round);
        run_sync(round);
        check_model(round);
        CHECK_INT(hits("keepword"), 1);
        CHECK_INT(hits("ownword"), 1);
        CHECK_INT(hits("otherword"), 1);
    }
    /* A second sync with nothing changed reads nothing new. */
    const ingest_stats before = *ingest_session_stats(ing);
    run_sync(ROUNDS);
    const ingest_stats *after = ingest_session_stats(ing);
    CHECK_INT(after->docs_added - before.docs_added, 0);
    CHECK_INT(after->docs_updated - before.docs_updated, 0);
    CHECK_INT(after->docs_deleted - before.docs_deleted, 0);
    check_model(ROUNDS);

    test_refused();
    test_empty_refused();
    test_gzip();

    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    return test_summary();
}
