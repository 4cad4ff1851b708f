/* Chunker: parse_doc blocks -> sections -> chunks (contract in chunk.h, rules
 * in docs/chunking.md).
 *
 * Pipeline, all linear in the text:
 *
 * 1. Segments. The document's blocks are normalised into segments that are
 *    clamped to the text, in order and disjoint; text between blocks that is
 *    not whitespace becomes a paragraph segment, so whatever a parser hands us,
 *    every non-whitespace byte belongs to some segment and gets covered.
 * 2. Sections. Each heading starts a section; a stack of open headings gives
 *    its path. A section that holds only its heading and is followed by a child
 *    is merged into that child, so "# Handbook / ## Leave / ### Parental ..."
 *    becomes one section titled "Handbook > Leave > Parental" whose first chunk
 *    starts with all three headings.
 * 3. Packing. A section under min_tokens absorbs the sections that follow it
 *    while they share its parent, the pack stays under target_tokens and the
 *    pack is still under min_tokens. The pack's path is the common prefix of
 *    the paths of its sections that have body text.
 * 4. Splitting. A section over max_tokens is cut into units (whitespace-
 *    delimited words; CJK characters one by one; pieces of a giant word of at
 *    most CHUNK_PIECE_BYTES bytes / CHUNK_PIECE_TOKENS tokens), each unit
 *    remembering what kind of boundary precedes it (block, sentence, word,
 *    forced). A window of units slides over the section: each chunk ends at the
 *    best boundary that keeps it within max_tokens (not right after a heading
 *    and never a forced one if any other exists; preferring chunks of at
 *    least target/2; then block over
 *    sentence over word; then closest to target), never inside a code block
 *    that fits in max_tokens. The next chunk starts about overlap_tokens
 *    before the end, at a sentence start when one is near, else a word start.
 *    The window holds at most about max_tokens units, so memory is bounded and
 *    every byte is scanned a constant number of times. */
#include "chunk/chunk.h"
#include "chunk/chunk_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- Character classes and the token estimate ---- */

enum { K_NONE = 0, K_SPACE, K_WORD, K_PUNCT, K_CJK };

/* Classes of ASCII bytes; bytes >= 0x80 are 0 and decoded as UTF-8. */
static const uint8_t ascii_class[256] = {
    /* 0x00 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 3, 3,
    /* 0x10 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x20 */ 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x30 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
    /* 0x40 */ 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 0x50 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
    /* 0x60 */ 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 0x70 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
};

static int is_space(uint8_t c) {
    return ascii_class[c] == K_SPACE;
}

/* Decodes one character; an invalid or truncated sequence is one byte
 * decoded as U+FFFD, so garbage never stalls or overruns the scan. */
static size_t utf8_decode(const uint8_t *p, const uint8_t *e, uint32_t *cp) {
    uint8_t c = p[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, v = c & 0x07;
    else
        goto bad;
    if ((size_t)(e - p) < n) goto bad;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) goto bad;
        v = (v << 6) | (p[i] & 0x3f);
    }
    *cp = v;
    return n;
bad:
    *cp = 0xfffd;
    return 1;
}

/* Class of a non-ASCII code point. Han, kana and friends are K_CJK: each is
 * about one model token and a chunk may end between two of them, since those
 * scripts do not separate words with spaces. Hangul is written with spaces,
 * so it counts as letters. */
static int cp_class(uint32_t cp) {
    if (cp < 0xc0) return K_PUNCT; /* C1 controls, NBSP, Latin-1 symbols */
    if (cp == 0xd7 || cp == 0xf7) return K_PUNCT;
    if (cp < 0x2000) return K_WORD;
    if (cp <= 0x2bff) return K_PUNCT; /* punctuation, arrows, math, box drawing */
    if (cp >= 0x2e80 && cp <= 0x2fdf) return K_CJK;
    if (cp >= 0x3000 && cp <= 0x303f) return K_PUNCT;
    if (cp >= 0x3040 && cp <= 0x31ff) return K_CJK;
    if (cp >= 0x3400 && cp <= 0x4dbf) return K_CJK;
    if (cp >= 0x4e00 && cp <= 0x9fff) return K_CJK;
    if (cp >= 0xf900 && cp <= 0xfaff) return K_CJK;
    if (cp >= 0xfe30 && cp <= 0xfe4f) return K_PUNCT;
    if (cp >= 0xff00 && cp <= 0xffef) {
        if ((cp >= 0xff10 && cp <= 0xff19) || (cp >= 0xff21 && cp <= 0xff3a) ||
            (cp >= 0xff41 && cp <= 0xff5a))
            return K_WORD;                              /* fullwidth digits and letters */
        if (cp >= 0xff66 && cp <= 0xff9f) return K_CJK; /* halfwidth katakana */
        return K_PUNCT;
    }
    if (cp == 0xfffd) return K_PUNCT;
    if (cp >= 0x1f000 && cp <= 0x1faff) return K_PUNCT; /* emoji and symbols */
    if (cp >= 0x20000 && cp <= 0x3ffff) return K_CJK;
    return K_WORD;
}

static uint32_t ceil8(uint32_t n) {
    return (n + 7) / 8;
}

/* Token estimate: each run of letters/digits and each run of punctuation is
 * one token per started 8 bytes; each CJK character is one token; whitespace
 * is free. Runs of ASCII of one class are skipped in a tight loop, which is
 * what makes this fast on ordinary text. */
uint32_t chunk_count_tokens(const char *text, size_t len) {
    if (!text) return 0;
    const uint8_t *p = (const uint8_t *)text, *e = p + len;
    uint64_t tok = 0;
    size_t run = 0;
    int cur = K_NONE;
    while (p < e) {
        uint8_t c = *p;
        int k;
        size_t n;
        if (c < 0x80) {
            k = ascii_class[c];
            if (k == K_SPACE) {
                tok += (run + 7) / 8;
                run = 0;
                cur = K_NONE;
                p++;
                while (p < e && ascii_class[*p] == K_SPACE)
                    p++;
                continue;
            }
            const uint8_t *q = p + 1;
            while (q < e && ascii_class[*q] == k)
                q++;
            n = (size_t)(q - p);
            p = q;
        } else {
            uint32_t cp;
            n = utf8_decode(p, e, &cp);
            k = cp_class(cp);
            p += n;
            if (k == K_CJK) {
                tok += (run + 7) / 8 + 1;
                run = 0;
                cur = K_NONE;
                continue;
            }
        }
        if (k != cur) {
            tok += (run + 7) / 8;
            run = 0;
            cur = k;
        }
        run += n;
    }
    tok += (run + 7) / 8;
    return tok > UINT32_MAX ? UINT32_MAX : (uint32_t)tok;
}

static int is_sentence_end(uint32_t cp) {
    return cp == '.' || cp == '?' || cp == '!' || cp == 0x3002 || cp == 0xff01 || cp == 0xff1f ||
           cp == 0xff0e || cp == 0xff61 || cp == 0x2026;
}

/* Sentence ends that need no following space (CJK full stops). */
static int is_cjk_sentence_end(uint32_t cp) {
    return cp == 0x3002 || cp == 0xff01 || cp == 0xff1f || cp == 0xff61;
}

/* Closing quotes and brackets that may follow a sentence end. */
static int is_closing(uint32_t cp) {
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x2019 || cp == 0x201d ||
           cp == 0xbb || cp == 0x300d || cp == 0x300f || cp == 0xff09 || cp == 0x3011 ||
           cp == 0x3009 || cp == 0x300b || cp == 0x3015;
}

/* ---- Options ---- */

void chunk_options_default(chunk_options *opt) {
    opt->target_tokens = 400;
    opt->min_tokens = 300;
    opt->max_tokens = 500;
    opt->overlap_tokens = 50;
}

void chunk_options_normalize(const chunk_options *in, chunk_options *o) {
    if (in)
        *o = *in;
    else
        chunk_options_default(o);
    if (o->max_tokens < 16) o->max_tokens = 16;
    if (o->target_tokens < 8) o->target_tokens = 8;
    if (o->target_tokens > o->max_tokens) o->target_tokens = o->max_tokens;
    if (o->min_tokens > o->target_tokens) o->min_tokens = o->target_tokens;
    if (o->overlap_tokens > o->target_tokens / 3) o->overlap_tokens = o->target_tokens / 3;
}

/* ---- Segments and sections ---- */

typedef struct seg {
    uint32_t start, end;
    uint8_t kind, level;
    int8_t code_fit; /* code blocks: -1 not yet known, 0 no, 1 fits in max_tokens */
} seg;

#define MAX_DEPTH 6

typedef struct section {
    size_t s0, s1;          /* segments [s0, s1) */
    uint32_t hb[MAX_DEPTH]; /* segment index of each open heading, top down */
    uint8_t depth;
    uint8_t has_body; /* holds a non-heading segment */
    uint32_t tokens;
} section;

/* Boundary kinds, in order of preference for ending a chunk. */
enum { BK_FORCED = 0, BK_WORD, BK_SENT, BK_BLOCK };

typedef struct unit {
    uint32_t start, end;
    uint32_t seg;
    uint16_t tok;
    uint8_t bk; /* kind of the boundary before this unit */
} unit;

typedef struct ctx {
    const uint8_t *t;
    size_t tlen;
    chunk_options o;
    seg *segs;
    size_t nsegs;
    section *secs;
    size_t nsecs;
    unit *win;
    uint32_t *cum;
    size_t wcap;
    chunk_list *out;
    size_t outcap;
    uint64_t work;
} ctx;

/* Moves x forward past a valid UTF-8 sequence that starts before x and
 * covers it. Parsers never cut a character with a block boundary, but a
 * malformed block list could; snapping keeps every character inside one
 * segment, so units, sections and chunk_count_tokens all read the same
 * characters (else the sum of unit counts could undercount a chunk). */
static uint32_t snap(const uint8_t *t, size_t tlen, uint32_t x) {
    if (x >= tlen || (t[x] & 0xc0) != 0x80) return x;
    for (uint32_t d = 1; d <= 3 && d <= x; d++) {
        uint32_t lead = x - d;
        if ((t[lead] & 0xc0) == 0x80) continue;
        uint32_t cp;
        size_t n = utf8_decode(t + lead, t + tlen, &cp);
        return lead + n > x ? lead + (uint32_t)n : x;
    }
    return x;
}

static lore_status build_segments(ctx *c, const parse_doc *doc) {
    /* At most one gap segment before each block plus one at the end. */
    size_t cap = doc->nblocks * 2 + 1;
    c->segs = malloc(cap * sizeof *c->segs);
    if (!c->segs) return LORE_NOMEM;
    uint32_t prev = 0;
    for (size_t i = 0; i <= doc->nblocks; i++) {
        uint64_t off, end;
        if (i < doc->nblocks) {
            off = doc->blocks[i].off;
            end = off + doc->blocks[i].len;
            if (end > c->tlen) end = c->tlen;
            if (off > end) off = end;
            off = snap(c->t, c->tlen, (uint32_t)off);
            end = snap(c->t, c->tlen, (uint32_t)end);
            if (off < prev) off = prev;
            if (off >= end) continue;
        } else {
            off = end = c->tlen;
        }
        uint32_t g = prev;
        while (g < off && is_space(c->t[g]))
            g++;
        c->work += g - prev;
        if (g < off) {
            c->segs[c->nsegs++] = (seg){prev, (uint32_t)off, PARSE_BLOCK_PARAGRAPH, 0, -1};
        }
        if (i < doc->nblocks) {
            const parse_block *b = &doc->blocks[i];
            uint8_t kind = b->kind <= PARSE_BLOCK_QUOTE ? (uint8_t)b->kind : PARSE_BLOCK_PARAGRAPH;
            uint8_t level = b->level < 1 ? 1 : b->level > 6 ? 6 : b->level;
            c->segs[c->nsegs++] = (seg){(uint32_t)off, (uint32_t)end, kind, level, -1};
            prev = (uint32_t)end;
        }
    }
    return LORE_OK;
}

static lore_status build_sections(ctx *c) {
    c->secs = malloc((c->nsegs ? c->nsegs : 1) * sizeof *c->secs);
    if (!c->secs) return LORE_NOMEM;
    uint32_t stack[MAX_DEPTH];
    uint8_t depth = 0;
    section *cur = NULL;
    for (size_t i = 0; i < c->nsegs; i++) {
        const seg *s = &c->segs[i];
        if (s->kind == PARSE_BLOCK_HEADING) {
            while (depth && c->segs[stack[depth - 1]].level >= s->level)
                depth--;
            stack[depth++] = (uint32_t)i; /* levels strictly increase: depth <= 6 */
            cur = &c->secs[c->nsecs++];
            memset(cur, 0, sizeof *cur);
            cur->s0 = i;
            memcpy(cur->hb, stack, depth * sizeof stack[0]);
            cur->depth = depth;
        } else {
            if (!cur) {
                cur = &c->secs[c->nsecs++];
                memset(cur, 0, sizeof *cur);
                cur->s0 = i;
            }
            cur->has_body = 1;
        }
        cur->s1 = i + 1;
    }
    /* A heading with nothing under it but a child section joins the child:
     * its text leads the child's first chunk under the child's path. */
    size_t n = 0;
    for (size_t i = 0; i < c->nsecs; i++) {
        section *s = &c->secs[i];
        if (!s->has_body && i + 1 < c->nsecs && c->secs[i + 1].depth > s->depth) {
            c->secs[i + 1].s0 = s->s0;
            continue;
        }
        c->secs[n++] = *s;
    }
    c->nsecs = n;
    for (size_t i = 0; i < n; i++) {
        section *s = &c->secs[i];
        uint32_t a = c->segs[s->s0].start, b = c->segs[s->s1 - 1].end;
        s->tokens = chunk_count_tokens((const char *)c->t + a, b - a);
        c->work += b - a;
    }
    return LORE_OK;
}

/* ---- Section paths ---- */

static size_t utf8_floor(const uint8_t *s, size_t n, size_t at) {
    if (at >= n) return n;
    while (at > 0 && (s[at] & 0xc0) == 0x80)
        at--;
    return at;
}

/* Appends heading text (whitespace runs collapsed, cut on a UTF-8 boundary
 * at CHUNK_HEADING_MAX bytes) to buf at *len, within CHUNK_PATH_MAX. */
static void path_append(ctx *c, char *buf, size_t *len, const seg *h) {
    uint8_t comp[CHUNK_HEADING_MAX + 4];
    size_t n = 0;
    int pend_space = 0;
    for (uint32_t i = h->start; i < h->end && n < sizeof comp; i++) {
        uint8_t ch = c->t[i];
        if (is_space(ch)) {
            pend_space = n > 0;
            continue;
        }
        if (pend_space && n < sizeof comp) comp[n++] = ' ';
        pend_space = 0;
        if (n < sizeof comp) comp[n++] = ch;
    }
    c->work += h->end - h->start;
    if (n > CHUNK_HEADING_MAX) n = utf8_floor(comp, n, CHUNK_HEADING_MAX);
    if (!n) return;
    size_t sep = *len ? 3 : 0;
    if (*len + sep >= CHUNK_PATH_MAX) return;
    size_t room = CHUNK_PATH_MAX - *len - sep;
    if (n > room) n = utf8_floor(comp, n, room);
    if (!n) return;
    memcpy(buf + *len, " > ", sep);
    memcpy(buf + *len + sep, comp, n);
    *len += sep + n;
}

static void make_path(ctx *c, const uint32_t *hb, size_t depth, char *buf) {
    size_t len = 0;
    for (size_t i = 0; i < depth; i++)
        path_append(c, buf, &len, &c->segs[hb[i]]);
    buf[len] = '\0';
}

/* ---- Output ---- */

static lore_status emit(ctx *c, uint32_t a, uint32_t b, const char *path) {
    while (a < b && is_space(c->t[a]))
        a++;
    /* A chunk that starts a line keeps that line's indentation (indented
     * code keeps its layout); a chunk that starts mid-line does not. */
    uint32_t ind = a;
    while (ind > 0 && (c->t[ind - 1] == ' ' || c->t[ind - 1] == '\t'))
        ind--;
    if (a < b && ind < a && (ind == 0 || c->t[ind - 1] == '\n')) a = ind;
    while (b > a && is_space(c->t[b - 1]))
        b--;
    if (a >= b) return LORE_OK;
    chunk_list *l = c->out;
    if (l->n == c->outcap) {
        size_t ncap = c->outcap ? c->outcap * 2 : 16;
        chunk *ni = realloc(l->items, ncap * sizeof *ni);
        if (!ni) return LORE_NOMEM;
        l->items = ni;
        c->outcap = ncap;
    }
    char *s = strdup(path);
    if (!s) return LORE_NOMEM;
    chunk *ch = &l->items[l->n++];
    ch->start = a;
    ch->end = b;
    ch->section = s;
    ch->ntokens = chunk_count_tokens((const char *)c->t + a, b - a);
    c->work += b - a;
    return LORE_OK;
}

/* ---- Units ---- */

typedef struct gen {
    ctx *c;
    size_t si, se; /* current segment, end of the range */
    uint32_t pos;
    uint8_t pend; /* boundary kind before the next unit */
} gen;

static void gen_init(gen *g, ctx *c, size_t s0, size_t s1) {
    g->c = c;
    g->si = s0;
    g->se = s1;
    g->pos = s0 < s1 ? c->segs[s0].start : 0;
    g->pend = BK_BLOCK;
}

/* Produces the next unit of the range: a whitespace-delimited run, a CJK
 * character (with the punctuation attached to it), or a piece of a run that
 * would exceed CHUNK_PIECE_BYTES / CHUNK_PIECE_TOKENS. Its tok is exactly
 * chunk_count_tokens of its bytes, so the sum over a chunk's units is never
 * below the chunk's own count. Returns 0 at the end of the range. */
static int gen_next(gen *g, unit *u) {
    ctx *c = g->c;
    const uint8_t *t = c->t;
    for (;;) {
        if (g->si >= g->se) return 0;
        const seg *s = &c->segs[g->si];
        uint32_t p = g->pos;
        while (p < s->end && is_space(t[p]))
            p++;
        c->work += p - g->pos;
        g->pos = p;
        if (p < s->end) break;
        g->si++;
        g->pend = BK_BLOCK;
        if (g->si < g->se) g->pos = c->segs[g->si].start;
    }
    const seg *s = &c->segs[g->si];
    uint32_t start = g->pos, p = start, end = s->end;
    int cur = K_NONE;
    uint32_t run = 0, tok = 0;
    int sent = 0, after_cjk = 0, after_cjk_sent = 0;
    uint8_t reason = BK_WORD;
    while (p < end) {
        uint32_t cp;
        size_t n;
        int k;
        if (t[p] < 0x80) {
            k = ascii_class[t[p]];
            if (k == K_SPACE) break;
            cp = t[p];
            n = 1;
        } else {
            n = utf8_decode(t + p, t + end, &cp);
            k = cp_class(cp);
        }
        if (p > start) {
            if (after_cjk_sent && !is_closing(cp)) break;
            if (k == K_CJK) break;
            if (after_cjk && !(k == K_PUNCT && cp >= 0x80)) break;
        }
        /* Tokens of the unit if this character joins it. */
        uint32_t ntok, nrun = 0;
        int ncur = K_NONE;
        if (k == K_CJK) {
            ntok = tok + 1;
        } else if (k != cur) {
            ntok = tok + ceil8((uint32_t)n);
            ncur = k, nrun = (uint32_t)n;
        } else {
            ntok = tok - ceil8(run) + ceil8(run + (uint32_t)n);
            ncur = k, nrun = run + (uint32_t)n;
        }
        if (p > start && (p - start + n > CHUNK_PIECE_BYTES || ntok > CHUNK_PIECE_TOKENS)) {
            reason = BK_FORCED;
            break;
        }
        tok = ntok, cur = ncur, run = nrun;
        p += (uint32_t)n;
        if (k == K_CJK) after_cjk = 1;
        if (!is_closing(cp)) sent = is_sentence_end(cp);
        if (is_cjk_sentence_end(cp)) after_cjk_sent = 1;
    }
    if (reason != BK_FORCED) reason = sent ? BK_SENT : BK_WORD;
    c->work += p - start;
    u->start = start;
    u->end = p;
    u->seg = (uint32_t)g->si;
    u->tok = (uint16_t)tok;
    u->bk = g->pend;
    g->pend = reason;
    g->pos = p;
    return 1;
}

/* Whether a code segment's units fit in max_tokens (computed once). */
static int code_fits(ctx *c, uint32_t si) {
    seg *s = &c->segs[si];
    if (s->kind != PARSE_BLOCK_CODE) return 0;
    if (s->code_fit < 0) {
        gen g;
        unit u;
        uint64_t sum = 0;
        gen_init(&g, c, si, si + 1);
        while (sum <= c->o.max_tokens && gen_next(&g, &u))
            sum += u.tok;
        s->code_fit = sum <= c->o.max_tokens;
    }
    return s->code_fit;
}

/* Whether the boundary before window unit k lies inside a code block that
 * must stay whole. */
static int inside_code(ctx *c, size_t k) {
    return k > 0 && c->win[k].seg == c->win[k - 1].seg && code_fits(c, c->win[k].seg);
}

/* Picks where a chunk made of window units [0, k) ends, k in (f, nfit], or
 * returns 0 when no boundary is allowed there. */
static size_t choose_end(ctx *c, size_t f, size_t nfit) {
    uint32_t target = c->o.target_tokens, lo = target / 2;
    size_t best = 0;
    long bkey[5] = {0, 0, 0, 0, 0};
    for (size_t k = f + 1; k <= nfit; k++) {
        if (inside_code(c, k)) continue;
        uint32_t t = c->cum[k];
        uint8_t bk = c->win[k].bk;
        /* A heading stays with the text under it: ending right after a
         * heading (in a split section, only its leading headings) is the
         * last thing to do, for headings that fill a chunk by themselves. */
        int after_heading = c->segs[c->win[k - 1].seg].kind == PARSE_BLOCK_HEADING;
        long key[5] = {!after_heading, bk != BK_FORCED, t >= lo, bk,
                       -(long)(t > target ? t - target : target - t)};
        if (best) {
            int better = 0;
            for (int i = 0; i < 5; i++) {
                if (key[i] != bkey[i]) {
                    better = key[i] > bkey[i];
                    break;
                }
            }
            if (!better) continue;
        }
        best = k;
        memcpy(bkey, key, sizeof key);
    }
    c->work += nfit - f;
    return best;
}

/* Picks the window unit j in [max(f, 1), k] where the chunk after the one
 * ending at unit k starts: about overlap_tokens back, at a sentence or block
 * start if one lies within 70-130% of it, else at the closest word start,
 * else at the closest forced cut. j == k means no overlap. j >= f keeps the
 * overlap within this chunk's own new text, so a chunk never overlaps the
 * one two before it, and j >= 1 keeps starts strictly increasing. */
static size_t choose_overlap(ctx *c, size_t f, size_t k) {
    uint32_t ov = c->o.overlap_tokens;
    if (!ov) return k;
    size_t best = k;
    long bcls = 0, bdist = 0;
    size_t jmin = f ? f : 1;
    for (size_t j = k - 1; j >= jmin; j--) {
        uint32_t ot = c->cum[k] - c->cum[j];
        if (ot > ov + ov / 2) break;
        c->work++;
        if (inside_code(c, j)) continue;
        uint8_t bk = c->win[j].bk;
        long cls = bk >= BK_SENT && ot * 10 >= ov * 7 && ot * 10 <= ov * 13 ? 3
                   : bk >= BK_WORD                                          ? 2
                                                                            : 1;
        long dist = ot > ov ? (long)(ot - ov) : (long)(ov - ot);
        if (best == k || cls > bcls || (cls == bcls && dist < bdist)) {
            best = j;
            bcls = cls;
            bdist = dist;
        }
    }
    return best;
}

static void win_shift(ctx *c, size_t *n, size_t j) {
    memmove(c->win, c->win + j, (*n - j) * sizeof *c->win);
    *n -= j;
    c->work += *n;
}

static lore_status split_section(ctx *c, const section *sec, const char *path) {
    gen g;
    gen_init(&g, c, sec->s0, sec->s1);
    size_t n = 0, f = 0;
    int done = 0;
    uint32_t max = c->o.max_tokens;
    for (;;) {
        c->cum[0] = 0;
        for (size_t i = 0; i < n; i++)
            c->cum[i + 1] = c->cum[i] + c->win[i].tok;
        c->work += n;
        /* Fill until the window holds more than max_tokens or the section
         * ends. Units carry at most CHUNK_PIECE_TOKENS <= max/2 tokens, so
         * the window never needs more than max + 1 slots. */
        while (!done && c->cum[n] <= max) {
            if (n + 1 >= c->wcap) return LORE_INTERNAL;
            if (!gen_next(&g, &c->win[n])) {
                done = 1;
                break;
            }
            c->cum[n + 1] = c->cum[n] + c->win[n].tok;
            n++;
        }
        if (n == 0) return LORE_OK;
        if (done && c->cum[n] <= max) return emit(c, c->win[0].start, c->win[n - 1].end, path);
        size_t nfit = n;
        while (nfit > 0 && c->cum[nfit] > max)
            nfit--;
        size_t k = choose_end(c, f, nfit);
        if (!k) {
            /* The overlap left no room (e.g. a code block that fits alone
             * follows it): drop the overlap and try again. */
            if (!f) return LORE_INTERNAL;
            win_shift(c, &n, f);
            f = 0;
            continue;
        }
        lore_status st = emit(c, c->win[0].start, c->win[k - 1].end, path);
        if (st != LORE_OK) return st;
        size_t j = choose_overlap(c, f, k);
        win_shift(c, &n, j);
        f = k - j;
    }
}

/* Whether section b lies under the first pd headings of section a's path. */
static int same_parent(const section *a, const section *b, size_t pd) {
    if (b->depth < pd) return 0;
    return memcmp(a->hb, b->hb, pd * sizeof a->hb[0]) == 0;
}

static lore_status chunk_sections(ctx *c) {
    char path[CHUNK_PATH_MAX + 1];
    lore_status st = LORE_OK;
    for (size_t i = 0; i < c->nsecs && st == LORE_OK;) {
        const section *s = &c->secs[i];
        uint32_t a = c->segs[s->s0].start;
        if (s->tokens > c->o.max_tokens) {
            make_path(c, s->hb, s->depth, path);
            st = split_section(c, s, path);
            i++;
            continue;
        }
        size_t j = i + 1;
        uint64_t total = s->tokens;
        if (s->tokens < c->o.min_tokens) {
            size_t pd = s->depth ? s->depth - 1u : 0;
            while (j < c->nsecs && total < c->o.min_tokens &&
                   total + c->secs[j].tokens <= c->o.target_tokens &&
                   same_parent(s, &c->secs[j], pd)) {
                total += c->secs[j].tokens;
                j++;
            }
        }
        /* Belt and braces: the pack's own count cannot exceed the sum of
         * its sections' counts as long as no character spans two sections
         * (see snap); should it ever, the first section goes alone. */
        if (j > i + 1) {
            uint32_t b = c->segs[c->secs[j - 1].s1 - 1].end;
            c->work += b - a;
            if (chunk_count_tokens((const char *)c->t + a, b - a) > c->o.max_tokens) j = i + 1;
        }
        /* Path: common prefix of the sections with body text (of all of
         * them when none has any). */
        int any_body = 0;
        for (size_t x = i; x < j; x++)
            any_body |= c->secs[x].has_body;
        const section *first = NULL;
        size_t d = 0;
        for (size_t x = i; x < j; x++) {
            const section *y = &c->secs[x];
            if (any_body && !y->has_body) continue;
            if (!first) {
                first = y;
                d = y->depth;
                continue;
            }
            size_t m = 0;
            while (m < d && m < y->depth && first->hb[m] == y->hb[m])
                m++;
            d = m;
        }
        make_path(c, first->hb, d, path);
        st = emit(c, a, c->segs[c->secs[j - 1].s1 - 1].end, path);
        i = j;
    }
    return st;
}

void chunk_list_free(chunk_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].section);
    free(l->items);
    free(l);
}

lore_status chunk_document_ex(const parse_doc *doc, const chunk_options *opt, chunk_list **out,
                              uint64_t *work) {
    lore_status st = LORE_INVALID;
    ctx c;
    memset(&c, 0, sizeof c);
    if (out) *out = NULL;
    if (!doc || !out || (!doc->text && doc->text_len) || (!doc->blocks && doc->nblocks)) goto out;
    st = LORE_TOO_LARGE;
    if (doc->text_len >= UINT32_MAX || doc->nblocks >= SIZE_MAX / 4 / sizeof(seg)) goto out;
    st = LORE_NOMEM;
    chunk_options_normalize(opt, &c.o);
    c.t = (const uint8_t *)doc->text;
    c.tlen = doc->text_len;
    c.out = calloc(1, sizeof *c.out);
    if (!c.out) goto out;
    if (!c.tlen) {
        st = LORE_OK;
        goto out;
    }
    c.wcap = (size_t)c.o.max_tokens + 2;
    c.win = malloc(c.wcap * sizeof *c.win);
    c.cum = malloc((c.wcap + 1) * sizeof *c.cum);
    if (!c.win || !c.cum) goto out;
    if ((st = build_segments(&c, doc)) != LORE_OK) goto out;
    if ((st = build_sections(&c)) != LORE_OK) goto out;
    st = chunk_sections(&c);
out:
    /* On failure the partial list is freed and *out stays NULL. */
    if (st == LORE_OK && out) {
        *out = c.out;
    } else {
        chunk_list_free(c.out);
    }
    free(c.segs);
    free(c.secs);
    free(c.win);
    free(c.cum);
    if (work) *work += c.work;
    return st;
}

lore_status chunk_document(const parse_doc *doc, const chunk_options *opt, chunk_list **out) {
    return chunk_document_ex(doc, opt, out, NULL);
}
