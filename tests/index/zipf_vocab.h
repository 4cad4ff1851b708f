/* A made-up vocabulary with Zipfian word frequencies, shared by the lexical
 * index tests. The including file defines VOCAB (the number of words) and
 * includes test.h first (test_rand draws the words, so a seed replays them).
 * Words end in 'x' so the stemmer leaves them whole. */
#ifndef LORE_TESTS_INDEX_ZIPF_VOCAB_H
#define LORE_TESTS_INDEX_ZIPF_VOCAB_H

#include <stdio.h>

static char words[VOCAB][16];
static double zipf_cdf[VOCAB];

static void make_vocab(void) {
    static const char *syl[] = {"ka",  "lo",  "mi",  "ret", "sun", "dor", "vel", "qua",
                                "zin", "pel", "tor", "bex", "fyn", "gar", "hul", "jot"};
    double total = 0;
    for (int i = 0; i < VOCAB; i++) {
        snprintf(words[i], sizeof words[i], "%s%s%sx", syl[i % 16], syl[(i / 16) % 16],
                 syl[(i / 7) % 16]);
        total += 1.0 / (i + 1);
        zipf_cdf[i] = total;
    }
    for (int i = 0; i < VOCAB; i++)
        zipf_cdf[i] /= total;
}

/* A word drawn with probability proportional to 1 / rank. */
static const char *zipf_word(void) {
    double u = (double)(test_rand() % 1000000) / 1e6;
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (zipf_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return words[lo];
}

#endif
