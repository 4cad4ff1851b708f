/* Parses known-hostile inputs (issue 11) and prints, for each, the CPU time
 * and the peak resident memory of the parse, measured in a forked child so
 * that one input's peak does not hide the next one's.
 *
 *   build/release/parse_hostile            # every input at its default size
 *   build/release/parse_hostile md-quote-brackets 20000   # one input, size N
 *   build/release/parse_hostile --file markdown|html|json|docx PATH
 *
 * Sizes scale the input (N repetitions of the pathological unit). The
 * figures are in bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parse/parse.h"

typedef struct hostile {
    const char *name;
    parse_format fmt;
    size_t n; /* default size */
    /* Writes the input for size n into a new buffer; returns its length. */
    size_t (*make)(size_t n, char **out);
} hostile;

static char *repeat(char *p, const char *s, size_t times) {
    size_t k = strlen(s);
    for (size_t i = 0; i < times; i++, p += k)
        memcpy(p, s, k);
    return p;
}

static size_t md_quote_brackets(size_t n, char **out) {
    char *b = malloc(2 * n + 4), *p = b;
    p = repeat(p, ">", n);
    p = repeat(p, " x\n", 1);
    p = repeat(p, "[", n);
    *out = b;
    return (size_t)(p - b);
}

static size_t md_quotes(size_t n, char **out) {
    char *b = malloc(n + 4), *p = b;
    p = repeat(p, ">", n);
    p = repeat(p, " x\n", 1);
    *out = b;
    return (size_t)(p - b);
}

static size_t md_brackets(size_t n, char **out) {
    char *b = malloc(n + 4), *p = b;
    p = repeat(p, "x ", 1);
    p = repeat(p, "[", n);
    *out = b;
    return (size_t)(p - b);
}

static size_t md_lists(size_t n, char **out) {
    char *b = malloc(2 * n + 4), *p = b;
    p = repeat(p, "- ", n);
    p = repeat(p, "x\n", 1);
    *out = b;
    return (size_t)(p - b);
}

static size_t md_table(size_t n, char **out) {
    char *b = malloc(4 * n + 16), *p = b;
    p = repeat(p, "|a", n);
    p = repeat(p, "|\n", 1);
    p = repeat(p, "|-", n);
    p = repeat(p, "|\n", 1);
    *out = b;
    return (size_t)(p - b);
}

static size_t html_divs(size_t n, char **out) {
    char *b = malloc(11 * n + 4), *p = b;
    p = repeat(p, "<div>", n);
    p = repeat(p, "x", 1);
    p = repeat(p, "</div>", n);
    *out = b;
    return (size_t)(p - b);
}

static size_t md_lines(size_t n, char **out) {
    char *b = malloc(2 * n + 1);
    *out = b;
    return (size_t)(repeat(b, "a\n", n) - b);
}

static size_t md_at_word(size_t n, char **out) {
    char *b = malloc(4 * n + 1);
    *out = b;
    return (size_t)(repeat(b, "a@b.", n) - b);
}

static size_t html_mismatched(size_t n, char **out) {
    char *b = malloc(12 * n + 1), *p = b;
    p = repeat(p, "<div>", n);
    p = repeat(p, "</span>", n);
    *out = b;
    return (size_t)(p - b);
}

static size_t html_paragraphs(size_t n, char **out) {
    char *b = malloc(4 * n + 1);
    *out = b;
    return (size_t)(repeat(b, "<p>x", n) - b);
}

static size_t html_attributes(size_t n, char **out) {
    char *b = malloc(16 * n + 32), *p = b;
    p = repeat(p, "<div", 1);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, " a%zu", i);
    p = repeat(p, ">x</div>", 1);
    *out = b;
    return (size_t)(p - b);
}

static size_t json_objects(size_t n, char **out) {
    char *b = malloc(3 * n + 2), *p = b;
    p = repeat(p, "[", 1);
    p = repeat(p, "{},", n - 1);
    p = repeat(p, "{}]", 1);
    *out = b;
    return (size_t)(p - b);
}

static const char *file_path;
static parse_format file_fmt;

static size_t from_file(size_t n, char **out) {
    (void)n;
    FILE *f = fopen(file_path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc(len > 0 ? (size_t)len : 1);
    size_t got = *out ? fread(*out, 1, (size_t)(len > 0 ? len : 0), f) : 0;
    fclose(f);
    return got;
}

static const hostile inputs[] = {
    {"md-quote-brackets", PARSE_FMT_MARKDOWN, 80000, md_quote_brackets},
    {"md-quotes", PARSE_FMT_MARKDOWN, 80000, md_quotes},
    {"md-brackets", PARSE_FMT_MARKDOWN, 80000, md_brackets},
    {"md-lists", PARSE_FMT_MARKDOWN, 80000, md_lists},
    {"md-table", PARSE_FMT_MARKDOWN, 40000, md_table},
    {"md-lines", PARSE_FMT_MARKDOWN, 1000000, md_lines},
    {"md-at-word", PARSE_FMT_MARKDOWN, 480000, md_at_word},
    {"html-divs", PARSE_FMT_HTML, 3000000, html_divs},
    {"html-mismatched", PARSE_FMT_HTML, 100000, html_mismatched},
    {"html-paragraphs", PARSE_FMT_HTML, 300000, html_paragraphs},
    {"html-attributes", PARSE_FMT_HTML, 30000, html_attributes},
    {"json-objects", PARSE_FMT_JSON, 1000000, json_objects},
};

static double tv_s(struct timeval t) {
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

/* Runs one parse in a child; prints name, size, bytes, outcome, CPU s, peak MB. */
static int run(const hostile *h, size_t n) {
    char *data = NULL;
    size_t len = h->make(n, &data);
    fflush(stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        parse_result *r = NULL;
        char err[512] = "";
        lore_status st =
            parse_bytes(h->fmt, "hostile", (const uint8_t *)data, len, NULL, &r, err, sizeof err);
        size_t text = st == LORE_OK ? r->docs[0].text_len : 0;
        parse_result_free(r);
        _exit(st == LORE_OK ? (text ? 0 : 2) : 1);
    }
    int ws = 0;
    struct rusage ru;
    if (wait4(pid, &ws, 0, &ru) < 0) return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *outcome = !WIFEXITED(ws)         ? "crashed"
                          : WEXITSTATUS(ws) == 0 ? "ok"
                          : WEXITSTATUS(ws) == 2 ? "ok-empty"
                                                 : "error";
    printf("%-18s n=%-8zu %9zu bytes  %-8s cpu %7.3f s  wall %7.3f s  peak %7.1f MB\n", h->name, n,
           len, outcome, tv_s(ru.ru_utime) + tv_s(ru.ru_stime), wall,
           (double)ru.ru_maxrss / 1024.0);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    size_t ninputs = sizeof inputs / sizeof inputs[0];
    if (argc == 4 && !strcmp(argv[1], "--file")) {
        file_path = argv[3];
        file_fmt = !strcmp(argv[2], "html")   ? PARSE_FMT_HTML
                   : !strcmp(argv[2], "json") ? PARSE_FMT_JSON
                   : !strcmp(argv[2], "docx") ? PARSE_FMT_DOCX
                                              : PARSE_FMT_MARKDOWN;
        hostile h = {file_path, file_fmt, 0, from_file};
        return run(&h, 0) ? 1 : 0;
    }
    if (argc >= 2) {
        for (size_t i = 0; i < ninputs; i++)
            if (!strcmp(argv[1], inputs[i].name))
                return run(&inputs[i], argc >= 3 ? strtoull(argv[2], NULL, 10) : inputs[i].n) ? 1
                                                                                              : 0;
        fprintf(stderr, "unknown input %s; one of:", argv[1]);
        for (size_t i = 0; i < ninputs; i++)
            fprintf(stderr, " %s", inputs[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    for (size_t i = 0; i < ninputs; i++)
        if (run(&inputs[i], inputs[i].n)) return 1;
    return 0;
}
