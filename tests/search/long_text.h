/* Long-query fixtures shared by the search, REST and MCP tests (the CLI
 * test, tests/cli/longquery.sh, builds the same in bash).
 *
 * Vocabulary: LT_WORDS made-up words, lt_word(j) = "q" + three consonants
 * + "x" (no vowel, so the stemmer leaves them alone). Words 0..LT_COMMON-1
 * are in every fixture document (the least selective); each of the others
 * is in exactly one. The 600-word query says every word twice: 300
 * distinct terms, past the engine's 256, so exactly the LT_COMMON common
 * words are dropped. The paragraph is ordinary prose of just under 4096
 * bytes, as someone pasting a page into a search box sends. */
#ifndef LORE_TESTS_SEARCH_LONG_TEXT_H
#define LORE_TESTS_SEARCH_LONG_TEXT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_WORDS 300
#define LT_COMMON 44
#define LT_DOCS 16 /* (LT_WORDS - LT_COMMON) / LT_DOCS rare words each */
#define LT_RARE_PER_DOC ((LT_WORDS - LT_COMMON) / LT_DOCS)

static inline void lt_word(int j, char out[6]) {
    static const char L[] = "bdfghklmnp";
    snprintf(out, 6, "q%c%c%cx", L[j / 100 % 10], L[j / 10 % 10], L[j % 10]);
}

static inline int lt_is_common(const char *term) {
    char w[6];
    for (int j = 0; j < LT_COMMON; j++) {
        lt_word(j, w);
        if (!strcmp(w, term)) return 1;
    }
    return 0;
}

/* The text of fixture document d (owned): every common word and its rare
 * words. */
static inline char *lt_doc_text(int d) {
    char *s = malloc(LT_WORDS * 6 + 1), w[6];
    size_t n = 0;
    for (int j = 0; j < LT_COMMON; j++) {
        lt_word(j, w);
        n += (size_t)sprintf(s + n, "%s%s", n ? " " : "", w);
    }
    for (int j = 0; j < LT_RARE_PER_DOC; j++) {
        lt_word(LT_COMMON + d * LT_RARE_PER_DOC + j, w);
        n += (size_t)sprintf(s + n, " %s", w);
    }
    return s;
}

/* The 600-word query (owned): every word twice, 3,599 bytes. */
static inline char *lt_query600(void) {
    char *s = malloc(2 * LT_WORDS * 6 + 1), w[6];
    size_t n = 0;
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < LT_WORDS; j++) {
            lt_word(j, w);
            n += (size_t)sprintf(s + n, "%s%s", n ? " " : "", w);
        }
    return s;
}

static const char *const lt_sentences[] = {
    "Last Tuesday the nightly deploy of the billing service failed halfway through the "
    "database migration, and customers in Europe saw timeouts on the checkout page.",
    "The on-call engineer rolled back the release, but the schema change had already "
    "renamed a column that the invoice exporter still reads every fifteen minutes.",
    "We paged the payments team, restored the column from a replica snapshot and replayed "
    "the exporter queue by hand, which took about three hours.",
    "Root cause: the migration script assumed a maintenance window that was removed from "
    "the runbook in March, and nobody updated the checklist.",
    "Follow-ups include a canary stage for schema changes, an alert on exporter lag, and a "
    "rehearsal of the rollback procedure with the support rotation.",
    "Please send me the postmortem template, the Grafana dashboards for exporter latency, "
    "and any earlier incident reports about invoice delays or duplicate charges.",
    "I also want to know who owns the replica snapshots, how long they are retained, and "
    "whether restoring one requires approval from security.",
    "Finally, list the services that depend on the invoice table so we can warn their "
    "owners before the next migration ships.",
};

/* A pasted paragraph (owned) of just under 4096 bytes: the sentences above,
 * repeated, with a counter so each round differs a little. */
static inline char *lt_paragraph(void) {
    char *s = malloc(4096);
    size_t n = 0;
    size_t ns = sizeof lt_sentences / sizeof lt_sentences[0];
    for (size_t i = 0;; i++) {
        const char *t = lt_sentences[i % ns];
        char round[48];
        snprintf(round, sizeof round, " (note %zu)", i + 1);
        size_t need = (n ? 1 : 0) + strlen(t) + strlen(round);
        if (n + need >= 4096) break;
        n += (size_t)sprintf(s + n, "%s%s%s", n ? " " : "", t, round);
    }
    return s;
}

/* The incident document the paragraph should find. */
#define LT_INCIDENT_TITLE "Billing deploy incident postmortem"
#define LT_INCIDENT_TEXT                                                                           \
    "The billing service deploy failed during the database migration; the invoice exporter "       \
    "broke because a column was renamed. We restored the replica snapshot and added a canary "     \
    "stage for schema changes."

#endif
