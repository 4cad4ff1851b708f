/* PDF parser tests. Real PDFs are generated here (make_pdf: Helvetica text,
 * an Info dictionary, exact xref offsets) and run through the real
 * pdftotext. The sandbox paths (timeout, output cap, failure, missing
 * binary, no file writes) use the LORE_PDFTOTEXT override with small shell
 * scripts in a temporary directory. */
#include "parse/parse_int.h"
#include "test.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <ctype.h>

typedef struct pdfbuf {
    char data[65536];
    size_t len;
} pdfbuf;

static void put(pdfbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(pdfbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, sizeof b->data - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->data - b->len) {
        fprintf(stderr, "pdf buffer overflow\n");
        exit(2);
    }
    b->len += (size_t)n;
}

/* A PDF with one page per entry of pages; lines of a page are separated by
 * '\n', and an empty line leaves a paragraph-sized gap. info is the Info
 * dictionary's body (may be NULL). Lines must not contain ( ) or \. */
static void make_pdf(pdfbuf *b, const char *const *pages, int npages, const char *info) {
    size_t offs[64];
    int nobj = 0;
    b->len = 0;
    put(b, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
    offs[nobj++] = b->len;
    put(b, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    offs[nobj++] = b->len;
    put(b, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", npages);
    for (int i = 0; i < npages; i++)
        put(b, " %d 0 R", 5 + 2 * i);
    put(b, " ] >>\nendobj\n");
    offs[nobj++] = b->len;
    put(b, "3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding "
           "/WinAnsiEncoding >>\nendobj\n");
    offs[nobj++] = b->len;
    put(b, "4 0 obj\n<< %s >>\nendobj\n", info ? info : "");
    for (int i = 0; i < npages; i++) {
        char content[4096];
        size_t cl = 0;
        cl += (size_t)snprintf(content + cl, sizeof content - cl, "BT /F1 12 Tf 72 720 Td 14 TL\n");
        const char *p = pages[i];
        while (*p || p == pages[i]) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n)
                cl += (size_t)snprintf(content + cl, sizeof content - cl, "(%.*s) '\n", (int)n, p);
            else
                cl += (size_t)snprintf(content + cl, sizeof content - cl, "0 -40 Td\n");
            if (!nl) break;
            p = nl + 1;
        }
        cl += (size_t)snprintf(content + cl, sizeof content - cl, "ET\n");
        offs[nobj++] = b->len;
        put(b,
            "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
            "<< /F1 3 0 R >> >> /Contents %d 0 R >>\nendobj\n",
            5 + 2 * i, 6 + 2 * i);
        offs[nobj++] = b->len;
        put(b, "%d 0 obj\n<< /Length %zu >>\nstream\n%sendstream\nendobj\n", 6 + 2 * i, cl,
            content);
    }
    size_t xref = b->len;
    put(b, "xref\n0 %d\n0000000000 65535 f \n", nobj + 1);
    for (int i = 0; i < nobj; i++)
        put(b, "%010zu 00000 n \n", offs[i]);
    put(b, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj + 1,
        xref);
}

static parse_limits limits(void) {
    parse_limits lim = {64u << 20, 16u << 20, 1000000, 30, 1024};
    return lim;
}

static const char *block_text(const parse_doc *d, size_t i) {
    static char buf[4096];
    if (i >= d->nblocks) return "(no such block)";
    size_t n = d->blocks[i].len < sizeof buf - 1 ? d->blocks[i].len : sizeof buf - 1;
    memcpy(buf, d->text + d->blocks[i].off, n);
    buf[n] = '\0';
    return buf;
}

static const char *tmp;

static int count_temp_files(void) {
    DIR *d = opendir(tmp);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "lore-pdf-", 9)) n++;
    if (d) closedir(d);
    return n;
}

static void no_children_left(void) {
    errno = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

static void test_real_pdf(void) {
    static const char *const pages[] = {
        "Hello World\nThis is a para-\ngraph that wraps.\n\nSecond paragraph with a line\n"
        "that continues here.\n\n- first bullet\n- second bullet that\nwraps onto a line\n\n"
        "A paragraph cut by the page",
        "break continues here.\n\nLast words.",
    };
    pdfbuf *b = malloc(sizeof *b);
    make_pdf(b, pages, 2,
             "/Title (My Test Doc) /Author (Jane Roe) /CreationDate "
             "(D:20240102030405Z) /ModDate (D:20240203040506+01'00')");
    parse_limits lim = limits();
    parse_result *r = NULL;
    char err[256] = "";
    lore_status st =
        parse_pdf("dir/report.pdf", (const uint8_t *)b->data, b->len, &lim, &r, err, sizeof err);
    CHECK_INT(st, LORE_OK);
    if (st != LORE_OK) fprintf(stderr, "error: %s\n", err);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "My Test Doc");
        CHECK_STR(d->author, "Jane Roe");
        CHECK_INT(d->created_ms, 1704164645000LL);
        CHECK_INT(d->updated_ms, 1706929506000LL);
        static const struct {
            parse_block_kind kind;
            const char *text;
        } want[] = {
            {PARSE_BLOCK_PARAGRAPH, "Hello World This is a paragraph that wraps."},
            {PARSE_BLOCK_PARAGRAPH, "Second paragraph with a line that continues here."},
            {PARSE_BLOCK_LIST, "- first bullet\n- second bullet that wraps onto a line"},
            {PARSE_BLOCK_PARAGRAPH, "A paragraph cut by the page break continues here."},
            {PARSE_BLOCK_PARAGRAPH, "Last words."},
        };
        CHECK_INT(d->nblocks, 5);
        for (size_t i = 0; i < 5 && i < d->nblocks; i++) {
            CHECK_INT(d->blocks[i].kind, want[i].kind);
            CHECK_STR(block_text(d, i), want[i].text);
        }
        parse_result_free(r);
        r = NULL;
    }

    /* No Info title: the short first line. Special characters survive. */
    static const char *const one[] = {"Caf\xe9 <b> & \"q\" </pre>\n\nBody text."};
    make_pdf(b, one, 1, NULL);
    CHECK_INT(parse_pdf("x.pdf", (const uint8_t *)b->data, b->len, &lim, &r, err, sizeof err),
              LORE_OK);
    if (r) {
        CHECK_STR(r->docs[0].title, "Caf\xc3\xa9 <b> & \"q\" </pre>");
        CHECK_STR(r->docs[0].text, "Caf\xc3\xa9 <b> & \"q\" </pre>\n\nBody text.");
        CHECK(r->docs[0].author == NULL);
        parse_result_free(r);
        r = NULL;
    }

    /* Truncations: pdftotext may repair some; the rest fail cleanly. */
    size_t full = b->len;
    for (size_t cut = 8; cut < full; cut += full / 5) {
        st = parse_pdf("x.pdf", (const uint8_t *)b->data, cut, &lim, &r, err, sizeof err);
        CHECK(st == LORE_OK || (st == LORE_INVALID && r == NULL && err[0]));
        parse_result_free(r);
        r = NULL;
    }
    /* A header and garbage. */
    const char *junk = "%PDF-1.7\nthis is no pdf\n";
    CHECK_INT(parse_pdf("x.pdf", (const uint8_t *)junk, strlen(junk), &lim, &r, err, sizeof err),
              LORE_INVALID);
    CHECK(r == NULL);
    CHECK(strncmp(err, "pdftotext failed: ", 18) == 0);
    fprintf(stderr, "(garbage PDF: %s)\n", err);
    /* Not a PDF at all: refused without running anything. */
    CHECK_INT(parse_pdf("x.pdf", (const uint8_t *)"hello", 5, &lim, &r, err, sizeof err),
              LORE_INVALID);
    CHECK(strstr(err, "not a PDF") != NULL);
    lim.max_input = 4;
    CHECK_INT(parse_pdf("x.pdf", (const uint8_t *)junk, strlen(junk), &lim, &r, err, sizeof err),
              LORE_TOO_LARGE);
    free(b);
    CHECK_INT(count_temp_files(), 0);
    no_children_left();
}

/* Writes an executable script to tmp/name and points LORE_PDFTOTEXT at it. */
static void fake_pdftotext(const char *name, const char *body) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    if (!f) exit(2);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0700);
    setenv("LORE_PDFTOTEXT", path, 1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char pdf_stub[] = "%PDF-1.4\n";

static lore_status run_stub(parse_limits *lim, parse_result **r, char *err, size_t errlen) {
    *r = NULL;
    err[0] = '\0';
    return parse_pdf("stub.pdf", (const uint8_t *)pdf_stub, sizeof pdf_stub - 1, lim, r, err,
                     errlen);
}

/* True when pid is gone or a zombie (reparented to an init that has not
 * reaped it yet). */
static int process_dead(long pid) {
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *p = strrchr(stat, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Live (not zombie) processes running "sleep <arg>". */
static int live_sleepers(const char *arg) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        char path[300], cmd[256];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        cmd[len] = '\0';
        if (len > 6 && !strcmp(cmd, "sleep") && !strcmp(cmd + 6, arg) &&
            !process_dead(atol(e->d_name)))
            n++;
    }
    if (d) closedir(d);
    return n;
}

static void test_sandbox(void) {
    parse_limits lim = limits();
    parse_result *r = NULL;
    char err[256];

    /* Timeout: the script and its background sleep are both killed. */
    fake_pdftotext("slow.sh", "sleep 31.5 &\necho started\nwait");
    lim.pdf_timeout_s = 1;
    double t0 = now_s();
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_TIMEOUT);
    double elapsed = now_s() - t0;
    CHECK(elapsed >= 0.9 && elapsed < 5);
    CHECK_STR(err, "pdftotext timed out after 1 s");
    CHECK(r == NULL);
    no_children_left();
    int live = 1;
    for (int i = 0; i < 100 && (live = live_sleepers("31.5")) > 0; i++)
        usleep(10000);
    CHECK_INT(live, 0);
    /* Closing stdout early does not escape the deadline. */
    fake_pdftotext("slow2.sh", "exec 1>&- 2>&-\nsleep 31.5");
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_TIMEOUT);
    no_children_left();
    for (int i = 0; i < 100 && (live = live_sleepers("31.5")) > 0; i++)
        usleep(10000);
    CHECK_INT(live, 0);
    lim = limits();

    /* RLIMIT_FSIZE 0: writing a file kills the child (SIGXFSZ). */
    char written[512];
    snprintf(written, sizeof written, "%s/written", tmp);
    char script[1024];
    snprintf(script, sizeof script, "echo data > %s\necho survived", written);
    fake_pdftotext("writer.sh", script);
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_INVALID);
    CHECK_STR(err, "pdftotext failed: killed by signal 25");
    struct stat st;
    CHECK(stat(written, &st) != 0 || st.st_size == 0);

    /* Output over the cap: the child is stopped, the document refused. */
    fake_pdftotext("chatty.sh", "yes 'many words of text'");
    lim.max_text = 1000;
    t0 = now_s();
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_TOO_LARGE);
    CHECK(now_s() - t0 < 5);
    CHECK(strstr(err, "1000") != NULL);
    no_children_left();
    lim = limits();

    /* A failing pdftotext: its first stderr line is the message. */
    fake_pdftotext("fail.sh", "echo >&2\necho 'Syntax Error: boom' >&2\necho 'more' >&2\nexit 1");
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_INVALID);
    CHECK_STR(err, "pdftotext failed: Syntax Error: boom");
    fake_pdftotext("crash.sh", "kill -SEGV $$");
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_INVALID);
    CHECK_STR(err, "pdftotext failed: killed by signal 11");

    /* Plain output (no HTML head): taken whole; line joining rules. */
    fake_pdftotext("plain.sh",
                   "printf 'Short Title\\n\\nAn exam-\\nple of well-\\nKnown joins.\\n"
                   "\\342\\200\\242 one\\n\\342\\200\\242\\n\\ntwo wraps\\nhere\\n\\f\\n"
                   "1. Numbered heading\\n\\n3\\n\\f'");
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        parse_doc *d = &r->docs[0];
        CHECK_STR(d->title, "Short Title");
        CHECK_STR(d->text, "Short Title\n\nAn example of well- Known joins.\n\n"
                           "\xe2\x80\xa2 one\n\xe2\x80\xa2 two wraps here\n\n1. Numbered heading");
        CHECK_INT(d->nblocks, 4);
        if (d->nblocks == 4) {
            CHECK_INT(d->blocks[2].kind, PARSE_BLOCK_LIST);
            CHECK_INT(d->blocks[3].kind, PARSE_BLOCK_PARAGRAPH);
        }
        parse_result_free(r);
        r = NULL;
    }

    /* The child sees no inherited descriptors beyond stdio. */
    fake_pdftotext("fds.sh", "echo fds: $(ls /proc/self/fd | wc -l)");
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_OK);
    if (r) {
        /* 0, 1, 2, and the one ls opens for the directory listing */
        CHECK_STR(r->docs[0].text, "fds: 4");
        parse_result_free(r);
        r = NULL;
    }

    /* Missing binary. */
    setenv("LORE_PDFTOTEXT", "/nonexistent/pdftotext", 1);
    CHECK_INT(run_stub(&lim, &r, err, sizeof err), LORE_UNSUPPORTED);
    CHECK(strncmp(err, "pdftotext not found: install poppler-utils", 42) == 0);
    unsetenv("LORE_PDFTOTEXT");

    CHECK_INT(count_temp_files(), 0);
    no_children_left();
}

int main(void) {
    tmp = test_tmpdir();
    setenv("TMPDIR", tmp, 1);
    unsetenv("LORE_PDFTOTEXT");
    if (access("/usr/bin/pdftotext", X_OK) == 0) {
        test_real_pdf();
    } else {
        printf("pdftotext not installed: skipping the real-PDF tests\n");
    }
    test_sandbox();
    test_rmtree(tmp);
    return test_summary();
}
