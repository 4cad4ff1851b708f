/* The analyzer: segmentation, normalization, identifier splitting, stop words
 * and stemming (contract in analyzer.h).
 *
 * Design:
 * - One left-to-right scan over the original bytes finds "raw words": runs of
 *   letters, digits, marks and underscores, joined across single connectors
 *   (. - @ / : \ "::" and apostrophes between letters) when a word character
 *   follows. URLs (scheme "://" ...) are taken whole up to whitespace. Runs of
 *   Han/kana/Hangul become overlapping bigrams. Anything else, including every
 *   byte of invalid UTF-8, is a separator.
 * - ASCII is classified by a 128-entry table; utf8proc is only consulted for
 *   non-ASCII code points. The common English word (ASCII letters, at most a
 *   leading capital) takes a fast path: lower-case copy, stop-word check,
 *   stem through a direct-mapped cache, callback. No allocation per token.
 * - Any other raw word is split into parts (at connectors, underscores,
 *   camel-case humps); a word with a split emits its whole normalized form
 *   (TEXT_TOKEN_WHOLE) and then the parts (TEXT_TOKEN_PART). Splitting runs
 *   twice over the word (once to see whether there are two parts, once to
 *   emit), so the cost stays linear in the input.
 * - Normalization (NFKC + case folding, default-ignorables dropped) reads at
 *   most NORM_IN_MAX bytes of a word, then the result is cut to TEXT_MAX_TERM
 *   on a UTF-8 boundary; a huge word therefore costs one scan, not one
 *   normalization of its whole length. */
#include "text/analyzer.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Bytes of one word fed to utf8proc; enough to fill TEXT_MAX_TERM. */
#define NORM_IN_MAX 256
/* Code points utf8proc may produce from NORM_IN_MAX bytes (worst case is an
 * 18-code-point compatibility decomposition per input code point). */
#define NORM_CP_MAX (NORM_IN_MAX * 18 + 16)
#define NORM_OPTS                                                                                  \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* The stem cache: direct-mapped, keyed by the folded word. Frequent words hit,
 * which makes the Snowball stemmer nearly free on running text. A slot is 32
 * bytes (two per cache line): the stem is stored as the length of its prefix
 * shared with the word plus a short suffix, which covers every English stem
 * ("studies" -> 4 + "i"); a stem that does not fit is simply not cached.
 * 16384 slots (512 KiB) keep misses rare on a scientific vocabulary. */
#define STEM_SLOTS 16384
#define STEM_KEY_MAX 23
#define STEM_SUFFIX_MAX 6

typedef struct stem_slot {
    uint8_t klen; /* 0: empty */
    uint8_t plen; /* bytes of key that start the stem */
    uint8_t xlen; /* bytes of suffix that end it */
    char key[STEM_KEY_MAX];
    char suffix[STEM_SUFFIX_MAX];
} stem_slot;

struct text_analyzer {
    struct sb_stemmer *stemmer;
    stem_slot *cache;
    utf8proc_int32_t *cp;             /* NORM_CP_MAX code points of scratch */
    uint8_t raw[NORM_IN_MAX + 8];     /* a word's bytes without apostrophes */
    char term[TEXT_MAX_TERM + 1];     /* the term handed to the callback */
    char cjk_prev[TEXT_MAX_TERM + 1]; /* previous character of a CJK run */
    char cjk_cur[TEXT_MAX_TERM + 1];  /* current character of a CJK run */
};

/* Character classes. */
enum {
    C_SEP,    /* separator: space, punctuation, symbol, control, invalid byte */
    C_LOWER,  /* cased lower-case letter */
    C_UPPER,  /* upper-case or title-case letter */
    C_LETTER, /* letter without case (Lo, Lm) */
    C_DIGIT,  /* number (Nd, Nl, No) */
    C_MARK,   /* combining mark: stays inside the word */
    C_IGN,    /* soft hyphen, ZWJ, ZWNJ: inside the word, dropped by NFKC+ignore */
    C_UNDER,  /* underscore and other connector punctuation (Pc) */
    C_JOIN,   /* . - @ / : \ between word characters */
    C_APOS,   /* ' and U+2019 between letters */
    C_CJK,    /* Han, Hiragana, Katakana, Hangul: bigrams */
};

#define IS_ALNUM(c) ((c) >= C_LOWER && (c) <= C_DIGIT)
#define IS_ALPHA(c) ((c) >= C_LOWER && (c) <= C_LETTER)

static const uint8_t ascii_cls[128] = {
    ['a'] = C_LOWER, ['b'] = C_LOWER, ['c'] = C_LOWER, ['d'] = C_LOWER, ['e'] = C_LOWER,
    ['f'] = C_LOWER, ['g'] = C_LOWER, ['h'] = C_LOWER, ['i'] = C_LOWER, ['j'] = C_LOWER,
    ['k'] = C_LOWER, ['l'] = C_LOWER, ['m'] = C_LOWER, ['n'] = C_LOWER, ['o'] = C_LOWER,
    ['p'] = C_LOWER, ['q'] = C_LOWER, ['r'] = C_LOWER, ['s'] = C_LOWER, ['t'] = C_LOWER,
    ['u'] = C_LOWER, ['v'] = C_LOWER, ['w'] = C_LOWER, ['x'] = C_LOWER, ['y'] = C_LOWER,
    ['z'] = C_LOWER, ['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER,
    ['E'] = C_UPPER, ['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER, ['I'] = C_UPPER,
    ['J'] = C_UPPER, ['K'] = C_UPPER, ['L'] = C_UPPER, ['M'] = C_UPPER, ['N'] = C_UPPER,
    ['O'] = C_UPPER, ['P'] = C_UPPER, ['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER,
    ['T'] = C_UPPER, ['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER,
    ['Y'] = C_UPPER, ['Z'] = C_UPPER, ['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT,
    ['3'] = C_DIGIT, ['4'] = C_DIGIT, ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
    ['8'] = C_DIGIT, ['9'] = C_DIGIT, ['_'] = C_UNDER, ['.'] = C_JOIN,  ['-'] = C_JOIN,
    ['@'] = C_JOIN,  ['/'] = C_JOIN,  [':'] = C_JOIN,  ['\\'] = C_JOIN, ['\''] = C_APOS,
};

static int is_cjk(utf8proc_int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* extension A */
           (cp >= 0x20000 && cp <= 0x3134F) || /* extensions B-G, compatibility supplement */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* compatibility ideographs */
           (cp >= 0x3005 && cp <= 0x3007) ||   /* 々 〆 〇 */
           (cp >= 0x3041 && cp <= 0x309F) ||   /* Hiragana */
           (cp >= 0x30A0 && cp <= 0x30FF && cp != 0x30FB) || /* Katakana, not the middle dot */
           (cp >= 0x31F0 && cp <= 0x31FF) ||                 /* Katakana extensions */
           (cp >= 0xFF66 && cp <= 0xFF9D) ||                 /* half-width Katakana */
           (cp >= 0xAC00 && cp <= 0xD7A3) ||                 /* Hangul syllables */
           (cp >= 0x1100 && cp <= 0x11FF) ||                 /* Hangul Jamo */
           (cp >= 0x3131 && cp <= 0x318E) ||                 /* Hangul compatibility Jamo */
           (cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF) ||
           (cp >= 0xFFA0 && cp <= 0xFFDC); /* half-width Hangul */
}

static unsigned classify_cp(utf8proc_int32_t cp) {
    if (cp == 0x2019) return C_APOS;
    if (cp == 0xAD || cp == 0x200C || cp == 0x200D) return C_IGN;
    if (is_cjk(cp)) return C_CJK;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
        return C_UPPER;
    case UTF8PROC_CATEGORY_LL:
        return C_LOWER;
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_DIGIT;
    case UTF8PROC_CATEGORY_PC:
        return C_UNDER;
    default:
        return C_SEP;
    }
}

/* Class of the character at t[k] (k < end); *n gets its length in bytes and
 * *cp the code point (-1 for an invalid byte, which is a one-byte separator). */
static unsigned cls_at(const uint8_t *t, size_t end, size_t k, utf8proc_int32_t *cp, size_t *n) {
    uint8_t b = t[k];
    if (b < 0x80) {
        *n = 1;
        *cp = b;
        return ascii_cls[b];
    }
    utf8proc_ssize_t r = utf8proc_iterate(t + k, (utf8proc_ssize_t)(end - k), cp);
    if (r <= 0) {
        *n = 1;
        *cp = -1;
        return C_SEP;
    }
    *n = (size_t)r;
    return classify_cp(*cp);
}

/* Class of the character at k, or C_SEP past the end. */
static unsigned cls_next(const uint8_t *t, size_t end, size_t k) {
    utf8proc_int32_t cp;
    size_t n;
    return k < end ? cls_at(t, end, k, &cp, &n) : C_SEP;
}

/* ---- stop words ---------------------------------------------------------- */

/* Lucene's EnglishAnalyzer default set (33 words): small on purpose, since
 * BM25's idf already discounts common words and a long list loses phrases. */
static const char *const stop1[] = {"a"};
static const char *const stop2[] = {"an", "as", "at", "be", "by", "if", "in",
                                    "is", "it", "no", "of", "on", "or", "to"};
static const char *const stop3[] = {"and", "are", "but", "for", "not", "the", "was"};
static const char *const stop4[] = {"into", "such", "that", "then", "they", "this", "will", "with"};
static const char *const stop5[] = {"their", "there", "these"};

int text_is_stopword(const char *word, size_t len) {
    const char *const *list;
    size_t n;
    switch (len) {
    case 1:
        list = stop1, n = sizeof stop1 / sizeof *stop1;
        break;
    case 2:
        list = stop2, n = sizeof stop2 / sizeof *stop2;
        break;
    case 3:
        list = stop3, n = sizeof stop3 / sizeof *stop3;
        break;
    case 4:
        list = stop4, n = sizeof stop4 / sizeof *stop4;
        break;
    case 5:
        list = stop5, n = sizeof stop5 / sizeof *stop5;
        break;
    default:
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (list[i][0] == word[0] && memcmp(list[i], word, len) == 0) return 1;
    return 0;
}

/* ---- life cycle ---------------------------------------------------------- */

lore_status text_analyzer_new(text_analyzer **out) {
    lore_status st = LORE_NOMEM;
    text_analyzer *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a) goto out;
    a->cache = calloc(STEM_SLOTS, sizeof *a->cache);
    a->cp = malloc(NORM_CP_MAX * sizeof *a->cp);
    a->stemmer = sb_stemmer_new("english", NULL);
    if (!a->cache || !a->cp || !a->stemmer) goto out;
    *out = a;
    a = NULL;
    st = LORE_OK;
out: /* on failure the partial analyzer is freed; *out stays NULL */
    text_analyzer_free(a);
    return st;
}

void text_analyzer_free(text_analyzer *a) {
    if (!a) return;
    if (a->stemmer) sb_stemmer_delete(a->stemmer);
    free(a->cache);
    free(a->cp);
    free(a);
}

/* ---- normalization and stemming ------------------------------------------ */

/* Length of s[0, n) cut to at most max bytes without splitting a UTF-8
 * sequence. */
static size_t utf8_cut(const uint8_t *s, size_t n, size_t max) {
    if (n <= max) return n;
    while (max > 0 && (s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* NFKC + case folding of the valid UTF-8 src[0, n) into out (at most
 * TEXT_MAX_TERM bytes, NUL-terminated); returns the length. Reads at most
 * NORM_IN_MAX bytes of src. */
static size_t normalize(text_analyzer *a, const uint8_t *src, size_t n, char *out) {
    n = utf8_cut(src, n, NORM_IN_MAX);
    utf8proc_ssize_t r = utf8proc_decompose(src, (utf8proc_ssize_t)n, a->cp, NORM_CP_MAX,
                                            (utf8proc_option_t)NORM_OPTS);
    if (r < 0 || r > NORM_CP_MAX) r = 0; /* cannot happen on valid, bounded input */
    r = utf8proc_reencode(a->cp, r, (utf8proc_option_t)NORM_OPTS);
    if (r < 0) r = 0;
    size_t len = utf8_cut((const uint8_t *)a->cp, (size_t)r, TEXT_MAX_TERM);
    memcpy(out, a->cp, len);
    out[len] = '\0';
    return len;
}

/* Builds the normalized term of src[s, e) into out, leaving out apostrophes
 * (so "don't" and "dont" meet); returns its length. ASCII is lower-cased in
 * place of calling utf8proc. */
static size_t build_term(text_analyzer *a, const uint8_t *t, size_t s, size_t e, char *out) {
    size_t o = 0, k = s;
    for (; k < e && o < TEXT_MAX_TERM; k++) {
        uint8_t b = t[k];
        if (b >= 0x80) goto slow;
        if (b == '\'') continue;
        out[o++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
    }
    out[o] = '\0';
    return o;
slow:
    /* Restart from s: copy the raw bytes minus apostrophes, then normalize. */
    o = 0;
    for (k = s; k < e && o < NORM_IN_MAX;) {
        if (t[k] == '\'') {
            k++;
            continue;
        }
        if (e - k >= 3 && t[k] == 0xE2 && t[k + 1] == 0x80 && t[k + 2] == 0x99) {
            k += 3;
            continue;
        }
        a->raw[o++] = t[k++];
    }
    /* At the cap, drop a character that did not fit whole. */
    if (k < e && (t[k] & 0xC0) == 0x80) {
        while (o > 0 && (a->raw[o - 1] & 0xC0) == 0x80)
            o--;
        if (o > 0) o--;
    }
    return normalize(a, a->raw, o, out);
}

enum { K_ALPHA = 1, K_DIGIT = 2, K_FOREIGN = 4 };

/* What a normalized term is made of: K_FOREIGN when it holds anything but
 * Latin letters, digits and combining accents (so the English stemmer must
 * leave it alone). */
static unsigned term_kind(const char *term, size_t n) {
    unsigned k = 0;
    const uint8_t *s = (const uint8_t *)term;
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        if (b < 0x80) {
            if (b >= 'a' && b <= 'z')
                k |= K_ALPHA;
            else if (b >= '0' && b <= '9')
                k |= K_DIGIT;
            else
                k |= K_FOREIGN;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t r = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (r <= 0) return k | K_FOREIGN;
        i += (size_t)r;
        unsigned c = classify_cp(cp);
        if (c == C_DIGIT)
            k |= K_DIGIT;
        else if (IS_ALPHA(c) && ((cp >= 0xC0 && cp <= 0x24F) || (cp >= 0x1E00 && cp <= 0x1EFF)))
            k |= K_ALPHA;
        else if (!(c == C_MARK && cp >= 0x300 && cp <= 0x36F))
            k |= K_FOREIGN;
    }
    return k;
}

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

/* Replaces term[0, *len) by its English Snowball stem. */
static lore_status stem_term(text_analyzer *a, char *term, size_t *len) {
    size_t n = *len;
    if (n <= 2) return LORE_OK; /* Snowball English leaves such words alone */
    stem_slot *sl = NULL;
    if (n <= STEM_KEY_MAX) {
        sl = &a->cache[hash_bytes(term, n) & (STEM_SLOTS - 1)];
        if (sl->klen == n && memcmp(sl->key, term, n) == 0) {
            memcpy(term + sl->plen, sl->suffix, sl->xlen);
            *len = (size_t)sl->plen + sl->xlen;
            term[*len] = '\0';
            return LORE_OK;
        }
    }
    const sb_symbol *st = sb_stemmer_stem(a->stemmer, (const sb_symbol *)term, (int)n);
    if (!st) return LORE_NOMEM;
    int sl_len = sb_stemmer_length(a->stemmer);
    size_t m = sl_len < 0 ? 0 : utf8_cut(st, (size_t)sl_len, TEXT_MAX_TERM);
    if (m == 0) return LORE_OK; /* keep the word rather than emit nothing */
    if (sl) {
        size_t p = 0;
        while (p < m && p < n && (char)st[p] == term[p])
            p++;
        if (m - p <= STEM_SUFFIX_MAX) {
            sl->klen = (uint8_t)n;
            sl->plen = (uint8_t)p;
            sl->xlen = (uint8_t)(m - p);
            memcpy(sl->key, term, n);
            memcpy(sl->suffix, st + p, m - p);
        }
    }
    memcpy(term, st, m);
    term[m] = '\0';
    *len = m;
    return LORE_OK;
}

/* ---- one call ------------------------------------------------------------ */

typedef struct run {
    text_analyzer *a;
    const uint8_t *t;
    size_t len;
    text_token_fn fn;
    void *ctx;
    uint32_t pos;
    int stop;       /* the callback asked to stop */
    lore_status st; /* first error */
} run;

static void emit(run *r, const char *term, size_t n, uint32_t pos, size_t s, size_t e,
                 unsigned flags) {
    text_token tok = {term, n, pos, (uint32_t)s, (uint32_t)e, flags};
    if (r->fn(r->ctx, &tok) != 0) r->stop = 1;
}

/* Emits a plain word or a part whose normalized term (n bytes) is in a->term,
 * unless it is a stop word, stemmed when it is a Latin word.
 * Advances the position either way. */
static void emit_word(run *r, size_t s, size_t e, size_t n, unsigned flags) {
    text_analyzer *a = r->a;
    uint32_t pos = r->pos++;
    if (n == 0) return;
    unsigned kind = term_kind(a->term, n);
    if (!(kind & K_DIGIT) && text_is_stopword(a->term, n)) return;
    if (kind == K_ALPHA) {
        lore_status st = stem_term(a, a->term, &n);
        if (st != LORE_OK) {
            r->st = st;
            return;
        }
    }
    emit(r, a->term, n, pos, s, e, flags);
}

/* Finds the next part of t[*k, e): a run of letters and digits that ends at a
 * separator, underscore, connector or camel-case hump. Apostrophes between a
 * letter or digit and a letter stay inside ("don't"). In a URL a %XX escape is
 * a separator. Returns 0 when there is none. */
static int next_part(const uint8_t *t, size_t *k, size_t e, int url, size_t *ps, size_t *pe) {
    size_t i = *k, n;
    utf8proc_int32_t cp;
    while (i < e) {
        unsigned c = cls_at(t, e, i, &cp, &n);
        if (IS_ALNUM(c)) break;
        if (url && t[i] == '%' && e - i >= 3) {
            i += 3;
            continue;
        }
        i += n;
    }
    if (i >= e) {
        *k = e;
        return 0;
    }
    *ps = i;
    unsigned prev = C_SEP; /* class of the last letter or digit, for humps */
    while (i < e) {
        unsigned c = cls_at(t, e, i, &cp, &n);
        if (c == C_MARK || c == C_IGN) {
            i += n;
            continue;
        }
        if (c == C_APOS) {
            if (prev != C_SEP && IS_ALPHA(cls_next(t, e, i + n))) {
                i += n;
                prev = C_SEP; /* "O'Reilly" is one word, not O + Reilly */
                continue;
            }
            break;
        }
        if (!IS_ALNUM(c)) break;
        if (c == C_UPPER && prev != C_SEP) {
            if (prev == C_LOWER) break; /* camel|Case */
            unsigned nx = cls_next(t, e, i + n);
            if (nx == C_LOWER) {
                if (prev == C_DIGIT) break; /* base64|Encode */
                /* HTTP|Server, but URLs and IDs stay whole (plural s). */
                if (prev == C_UPPER) {
                    size_t j = i + n;
                    int plural_s = t[j] == 's' && cls_next(t, e, j + 1) != C_LOWER;
                    if (!plural_s) break;
                }
            }
        }
        prev = c;
        i += n;
    }
    *pe = i;
    *k = i;
    return 1;
}

/* "3.14": digits, one dot, digits (ASCII). Such a number stays one token. */
static int is_decimal(const uint8_t *t, size_t s, size_t e) {
    size_t dots = 0;
    if (t[s] < '0' || t[s] > '9' || t[e - 1] < '0' || t[e - 1] > '9') return 0;
    for (size_t i = s; i < e; i++) {
        if (t[i] == '.')
            dots++;
        else if (t[i] < '0' || t[i] > '9')
            return 0;
    }
    return dots == 1;
}

/* Emits one part, dropping a possessive "'s" from its end. */
static void emit_part(run *r, size_t ps, size_t pe, unsigned flags) {
    const uint8_t *t = r->t;
    size_t te = pe;
    if (pe - ps >= 3 && (t[pe - 1] == 's' || t[pe - 1] == 'S')) {
        if (t[pe - 2] == '\'')
            te = pe - 2;
        else if (pe - ps >= 5 && t[pe - 2] == 0x99 && t[pe - 3] == 0x80 && t[pe - 4] == 0xE2)
            te = pe - 4;
    }
    size_t n = build_term(r->a, t, ps, te, r->a->term);
    emit_word(r, ps, pe, n, flags);
}

/* Handles the raw word t[s, e); parts are looked for from `from` (after the
 * scheme of a URL). */
static void process_word(run *r, size_t s, size_t e, int url, size_t from) {
    const uint8_t *t = r->t;
    if (!url && is_decimal(t, s, e)) {
        size_t n = build_term(r->a, t, s, e, r->a->term);
        emit(r, r->a->term, n, r->pos++, s, e, 0);
        return;
    }
    size_t k = from, ps, pe, first_s = 0, first_e = 0;
    int nparts = 0;
    while (nparts < 2 && next_part(t, &k, e, url, &ps, &pe)) {
        if (nparts == 0) first_s = ps, first_e = pe;
        nparts++;
    }
    if (nparts == 0) return;
    if (nparts == 1 && first_s == s && first_e == e) {
        emit_part(r, s, e, 0);
        return;
    }
    /* The whole identifier: normalized, not stemmed, at the first part's
     * position. */
    size_t n = build_term(r->a, t, s, e, r->a->term);
    if (n > 0) emit(r, r->a->term, n, r->pos, s, e, TEXT_TOKEN_WHOLE);
    k = from;
    while (!r->stop && r->st == LORE_OK && next_part(t, &k, e, url, &ps, &pe))
        emit_part(r, ps, pe, TEXT_TOKEN_PART);
}

/* End of a URL whose body starts at k: up to whitespace, non-ASCII or a
 * character that cannot stand in a URL, minus trailing punctuation and
 * unbalanced closing brackets. */
static size_t scan_url(const uint8_t *t, size_t len, size_t k) {
    size_t j = k;
    long paren = 0, brack = 0;
    for (; j < len; j++) {
        uint8_t b = t[j];
        if (b <= 0x20 || b >= 0x7F || b == '<' || b == '>' || b == '"' || b == '\'' || b == '`' ||
            b == '{' || b == '}' || b == '|' || b == '\\' || b == '^')
            break;
        paren += b == '(' ? 1 : b == ')' ? -1 : 0;
        brack += b == '[' ? 1 : b == ']' ? -1 : 0;
    }
    while (j > k) {
        uint8_t b = t[j - 1];
        if (b == '.' || b == ',' || b == ';' || b == ':' || b == '!' || b == '?' || b == '*') {
            j--;
        } else if (b == ')' && paren < 0) {
            paren++, j--;
        } else if (b == ']' && brack < 0) {
            brack++, j--;
        } else {
            break;
        }
    }
    for (size_t i = k; i < j; i++)
        if (ascii_cls[t[i]] >= C_LOWER && ascii_cls[t[i]] <= C_DIGIT) return j;
    return k; /* no letter or digit: not a URL */
}

/* Emits overlapping bigrams for the run of CJK characters starting at i;
 * returns where the run ends. */
static size_t process_cjk(run *r, size_t i) {
    text_analyzer *a = r->a;
    const uint8_t *t = r->t;
    size_t len = r->len, prev_s = 0, prev_e = 0, prev_n = 0, count = 0, n;
    utf8proc_int32_t cp;
    while (i < len && !r->stop) {
        if (cls_at(t, len, i, &cp, &n) != C_CJK) break;
        size_t cs = i;
        i += n;
        /* Marks, half-width sound marks and trailing Hangul jamo belong to
         * the character before them (NFKC composes them). */
        while (i < len) {
            unsigned c = cls_at(t, len, i, &cp, &n);
            if (c == C_MARK || c == C_IGN || cp == 0xFF9E || cp == 0xFF9F ||
                (cp >= 0x1160 && cp <= 0x11FF) || (cp >= 0xD7B0 && cp <= 0xD7FF))
                i += n;
            else
                break;
        }
        size_t cn = normalize(a, t + cs, i - cs, a->cjk_cur);
        if (cn == 0) continue;
        if (count > 0) {
            size_t m = prev_n;
            memcpy(a->term, a->cjk_prev, m);
            size_t add = cn;
            if (m + add > TEXT_MAX_TERM)
                add = utf8_cut((const uint8_t *)a->cjk_cur, cn, TEXT_MAX_TERM - m);
            memcpy(a->term + m, a->cjk_cur, add);
            a->term[m + add] = '\0';
            emit(r, a->term, m + add, r->pos++, prev_s, i, 0);
        }
        memcpy(a->cjk_prev, a->cjk_cur, cn + 1);
        prev_n = cn, prev_s = cs, prev_e = i;
        count++;
    }
    if (count == 1 && !r->stop) {
        memcpy(a->term, a->cjk_prev, prev_n + 1);
        emit(r, a->term, prev_n, r->pos++, prev_s, prev_e, 0);
    }
    return i;
}

lore_status text_analyze(text_analyzer *a, const char *text, size_t len, text_token_fn fn,
                         void *ctx) {
    if (len > UINT32_MAX) return LORE_TOO_LARGE;
    if (!a || (!text && len > 0) || !fn) return LORE_INVALID;
    run r = {a, (const uint8_t *)text, len, fn, ctx, 0, 0, LORE_OK};
    const uint8_t *t = r.t;
    size_t i = 0, n;
    utf8proc_int32_t cp;
    while (i < len && !r.stop && r.st == LORE_OK) {
        unsigned c = cls_at(t, len, i, &cp, &n);
        if (c == C_CJK) {
            i = process_cjk(&r, i);
            continue;
        }
        if (!IS_ALNUM(c) && c != C_UNDER) {
            i += n;
            continue;
        }
        /* Scan one raw word. `simple` stays set while it is ASCII letters and
         * digits with at most a leading capital: the fast path. */
        size_t s = i, j = i;
        int simple = 1, digits = 0;
        unsigned prev = C_SEP;
        while (j < len) {
            uint8_t b = t[j];
            if (b < 0x80) {
                c = ascii_cls[b];
                n = 1;
                if (c == C_LOWER) {
                    prev = c, j++;
                    continue;
                }
            } else {
                c = cls_at(t, len, j, &cp, &n);
                simple = 0;
            }
            if (IS_ALNUM(c) || c == C_UNDER || c == C_MARK || c == C_IGN) {
                if (c == C_UPPER && j > s) simple = 0;
                if (c == C_DIGIT) digits = 1;
                if (c == C_UNDER || c == C_LETTER) simple = 0;
                if (c != C_MARK && c != C_IGN) prev = c;
                j += n;
                continue;
            }
            if (c == C_APOS) {
                if (IS_ALNUM(prev) && IS_ALPHA(cls_next(t, len, j + n))) {
                    simple = 0, prev = c, j += n;
                    continue;
                }
                break;
            }
            if (c != C_JOIN) break;
            if (b == ':' && len - j > 3 && t[j + 1] == '/' && t[j + 2] == '/' && t[s] < 0x80 &&
                IS_ALPHA(ascii_cls[t[s]])) {
                int scheme = 1;
                for (size_t q = s; q < j; q++)
                    if (t[q] >= 0x80 || !IS_ALNUM(ascii_cls[t[q]])) scheme = 0;
                size_t ue = scheme ? scan_url(t, len, j + 3) : j;
                if (ue > j + 3) {
                    process_word(&r, s, ue, 1, j + 3);
                    i = ue;
                    goto next;
                }
            }
            size_t jl = (b == ':' && len - j > 1 && t[j + 1] == ':') ? 2 : 1;
            unsigned nc = cls_next(t, len, j + jl);
            if (!IS_ALNUM(nc) && nc != C_UNDER) break;
            simple = 0, prev = c, j += jl;
        }
        if (simple) {
            /* Fast path: ASCII word. */
            size_t m = j - s < TEXT_MAX_TERM ? j - s : TEXT_MAX_TERM;
            for (size_t q = 0; q < m; q++) {
                uint8_t b = t[s + q];
                a->term[q] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            }
            a->term[m] = '\0';
            if (digits)
                emit(&r, a->term, m, r.pos++, s, j, 0);
            else
                emit_word(&r, s, j, m, 0);
        } else {
            process_word(&r, s, j, 0, s);
        }
        i = j;
    next:;
    }
    return r.st;
}
