/* Registry, families, series and the Prometheus text renderer; see
 * metrics.h for the contract.
 *
 * Concurrency. Series are never freed before the registry, which is what
 * lets every reader go without locks:
 * - a family's series sit in an open-addressing hash table of atomic
 *   pointers. A slot goes from NULL to a series once and never changes, so a
 *   lookup probes with acquire loads and no lock. Inserts take the family
 *   mutex; when the table passes half full the writer builds a table twice
 *   the size, publishes it, and keeps the old one (freed with the family):
 *   a reader still probing the old table may miss a new series, and then
 *   finds it on the locked slow path. Old tables add up to less than the
 *   current one.
 * - series (in first-seen order), families and collectors are singly linked
 *   lists that only grow at the tail, under a mutex, and are walked with
 *   acquire loads.
 * - values are relaxed atomics: each figure is independent, and a scrape is
 *   a snapshot of them only up to the updates in flight. */
#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series are allocated on their own cache lines and keep their update
 * counters off the line their lookup reads, so the two HTTP workers
 * updating different series, or one looking a series up while another
 * updates it, do not bounce a line between cores. */
#define CACHE_LINE 64
#define TABLE_MIN_SLOTS 16

typedef enum family_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } family_kind;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

struct metrics_series {
    /* Written once before the series is published; read by lookups. */
    metrics_family *f;
    uint64_t hash;
    _Atomic(metrics_series *) next;         /* first-seen order within the family */
    const char *values[METRICS_MAX_LABELS]; /* NUL-terminated, in this block */
    uint16_t lens[METRICS_MAX_LABELS];
    uint8_t kind;
    /* Written by updates. */
    _Alignas(CACHE_LINE) _Atomic uint64_t value; /* bits of a double */
    atomic_uint hidden;                          /* 1 after clear, until used again */
    _Atomic uint64_t buckets[];                  /* histograms: one per bound, then +Inf */
};

typedef struct series_table {
    struct series_table *older; /* tables this one replaced */
    size_t mask;                /* slots - 1; slots is a power of two */
    _Atomic(metrics_series *) slots[];
} series_table;

struct metrics_family {
    metrics_registry *r;
    family_kind kind;
    char *name, *help; /* help NULL when none */
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    double *bounds;
    size_t nbounds;
    size_t max_series;
    pthread_mutex_t mu; /* inserts: table, list tail, counts, overflow link */
    _Atomic(series_table *) table;
    size_t nentries;          /* series in the table (under mu) */
    size_t nseries;           /* of those, the ones counted against max_series */
    metrics_series *overflow; /* labels all METRICS_OTHER; allocated up front */
    int overflow_linked;      /* under mu */
    atomic_int overflowing;   /* set once max_series has been reached */
    metrics_series *single;   /* the series of a family without labels */
    _Atomic(metrics_series *) head;
    metrics_series *tail; /* under mu */
    _Atomic(metrics_family *) next;
};

typedef struct collector {
    metrics_collect_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    _Atomic(struct collector *) next;
} collector;

struct metrics_registry {
    pthread_mutex_t lock;        /* family creation, collector registration */
    pthread_mutex_t render_lock; /* one render, with its collectors, at a time */
    _Atomic(metrics_family *) families;
    metrics_family *families_tail; /* under lock */
    _Atomic(collector *) collectors;
    collector *collectors_tail; /* under lock */
};

/* ---- small helpers ------------------------------------------------------- */

static uint64_t dbits(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bitsd(uint64_t u) {
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double v) {
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if the bytes
 * there are not one (overlong forms, surrogates and code points past
 * U+10FFFF included). s is NUL-terminated: a NUL fails the continuation
 * test, so this never reads past the terminator. */
static size_t utf8_seq(const unsigned char *s) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c == 0xE0)
        len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        len = 3;
    else if (c == 0xED)
        len = 3, hi = 0x9F;
    else if (c == 0xF0)
        len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4;
    else if (c == 0xF4)
        len = 4, hi = 0x8F;
    else
        return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

static int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

/* ---- label values -------------------------------------------------------- */

/* Label values of one lookup after canonicalization (see label_canon). */
typedef struct labelset {
    const char *v[METRICS_MAX_LABELS];
    size_t len[METRICS_MAX_LABELS];
    char scratch[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX];
} labelset;

/* The value a series stores for s: s itself when it is valid UTF-8 of at
 * most METRICS_LABEL_VALUE_MAX bytes (the common case, no copy), otherwise a
 * copy in scratch with each invalid byte replaced by U+FFFD and cut at the
 * last whole character that fits. Canonicalizing before the lookup means
 * two raw values that would render alike are the same series, so a scrape
 * never holds duplicate lines. Sets *out (not NUL-terminated when it is
 * scratch) and returns its length. */
static size_t label_canon(const char *s, char *scratch, const char **out) {
    static const unsigned char replacement[3] = {0xEF, 0xBF, 0xBD};
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t i = 0, o = 0;
    while (p[i] && i <= METRICS_LABEL_VALUE_MAX) {
        size_t n = utf8_seq(p + i);
        if (!n) break;
        i += n;
    }
    if (!p[i] && i <= METRICS_LABEL_VALUE_MAX) {
        *out = (const char *)p;
        return i;
    }
    for (i = 0; p[i];) {
        size_t n = utf8_seq(p + i), take = n ? n : sizeof replacement;
        const unsigned char *src = n ? p + i : replacement;
        if (o + take > METRICS_LABEL_VALUE_MAX) break;
        memcpy(scratch + o, src, take);
        o += take;
        i += n ? n : 1;
    }
    *out = scratch;
    return o;
}

static void labelset_fill(labelset *ls, const char *const *values, size_t n) {
    for (size_t i = 0; i < n; i++)
        ls->len[i] = label_canon(values ? values[i] : NULL, ls->scratch[i], &ls->v[i]);
}

/* FNV-1a over the values, each followed by 0xFF (a byte UTF-8 never holds,
 * so ("a","bc") and ("ab","c") differ), then a final mix so the low bits
 * that pick the slot depend on every byte. */
static uint64_t labelset_hash(const labelset *ls, size_t n) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < ls->len[i]; j++) {
            h ^= (unsigned char)ls->v[i][j];
            h *= 1099511628211ull;
        }
        h ^= 0xFF;
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static int series_matches(const metrics_series *s, uint64_t h, const labelset *ls, size_t n) {
    if (s->hash != h) return 0;
    for (size_t i = 0; i < n; i++)
        if (s->lens[i] != ls->len[i] || memcmp(s->values[i], ls->v[i], ls->len[i]) != 0) return 0;
    return 1;
}

static int labelset_is_other(const labelset *ls, size_t n) {
    size_t k = strlen(METRICS_OTHER);
    for (size_t i = 0; i < n; i++)
        if (ls->len[i] != k || memcmp(ls->v[i], METRICS_OTHER, k) != 0) return 0;
    return 1;
}

/* ---- series -------------------------------------------------------------- */

/* A zeroed, unpublished series of f with the values of ls; NULL when out of
 * memory. Visible unless created hidden (the overflow series is, until it is
 * first used). */
static metrics_series *series_alloc(metrics_family *f, uint64_t h, const labelset *ls, int hidden) {
    size_t nb = f->kind == KIND_HISTOGRAM ? f->nbounds + 1 : 0;
    size_t head = offsetof(metrics_series, buckets) + nb * sizeof(_Atomic uint64_t), text = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        text += ls->len[i] + 1;
    size_t size = (head + text + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    metrics_series *s = aligned_alloc(CACHE_LINE, size);
    if (!s) return NULL;
    memset(s, 0, size);
    s->f = f;
    s->hash = h;
    s->kind = (uint8_t)f->kind;
    atomic_init(&s->next, NULL);
    atomic_init(&s->value, dbits(0.0));
    atomic_init(&s->hidden, hidden ? 1u : 0u);
    for (size_t i = 0; i < nb; i++)
        atomic_init(&s->buckets[i], 0);
    char *p = (char *)s + head;
    for (size_t i = 0; i < f->nlabels; i++) {
        memcpy(p, ls->v[i], ls->len[i]);
        p[ls->len[i]] = '\0';
        s->values[i] = p;
        s->lens[i] = (uint16_t)ls->len[i];
        p += ls->len[i] + 1;
    }
    return s;
}

/* A series used after a clear shows again. The load keeps the common case
 * (never cleared) to a read of a line the update touches anyway. */
static void series_reveal(metrics_series *s) {
    if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
        atomic_store_explicit(&s->hidden, 0, memory_order_relaxed);
}

/* ---- the family's lookup table ------------------------------------------- */

static series_table *table_alloc(size_t nslots) {
    series_table *t = malloc(sizeof *t + nslots * sizeof t->slots[0]);
    if (!t) return NULL;
    t->older = NULL;
    t->mask = nslots - 1;
    for (size_t i = 0; i < nslots; i++)
        atomic_init(&t->slots[i], NULL);
    return t;
}

static metrics_series *table_find(series_table *t, uint64_t h, const labelset *ls, size_t n) {
    /* Load factor stays at most 1/2, so an empty slot ends every probe. */
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        metrics_series *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (!s) return NULL;
        if (series_matches(s, h, ls, n)) return s;
    }
}

static void table_place(series_table *t, metrics_series *s, memory_order mo) {
    size_t i = s->hash & t->mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slots[i], s, mo);
}

/* Adds s to f's table, growing it first when needed. Caller holds f->mu. */
static lore_status table_put(metrics_family *f, metrics_series *s) {
    lore_status st = LORE_OK;
    series_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((f->nentries + 1) * 2 > t->mask + 1) {
        series_table *nt = table_alloc((t->mask + 1) * 2);
        if (!nt) {
            st = LORE_NOMEM;
            goto out;
        }
        /* Filled before it is published, so relaxed stores suffice here;
         * the release store of the table pointer orders them. */
        for (size_t i = 0; i <= t->mask; i++) {
            metrics_series *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (e) table_place(nt, e, memory_order_relaxed);
        }
        nt->older = t;
        atomic_store_explicit(&f->table, nt, memory_order_release);
        t = nt;
    }
    table_place(t, s, memory_order_release);
    f->nentries++;
out:
    return st;
}

/* Appends s to the render order. Caller holds f->mu. */
static void list_append(metrics_family *f, metrics_series *s) {
    if (f->tail)
        atomic_store_explicit(&f->tail->next, s, memory_order_release);
    else
        atomic_store_explicit(&f->head, s, memory_order_release);
    f->tail = s;
}

/* The overflow series, put in the render order (and, when memory allows,
 * the table) the first time it is needed. Caller holds f->mu. */
static metrics_series *overflow_use(metrics_family *f) {
    if (!f->overflow_linked) {
        list_append(f, f->overflow);
        /* The table entry only speeds up lookups of literal METRICS_OTHER
         * values; without it (no memory to grow) the slow path still routes
         * them here, so a failure is of no consequence. */
        (void)table_put(f, f->overflow);
        f->overflow_linked = 1;
    }
    return f->overflow;
}

/* The series for ls when the lock-free probe missed it. */
static metrics_series *series_insert(metrics_family *f, uint64_t h, const labelset *ls) {
    metrics_series *s;
    /* Past max_series nothing new is ever added, so a full family sends new
     * values straight to the overflow series: a flood of distinct values
     * then costs no lock per call. The caller's probe may have raced with
     * the insert of this very series (or read a table since replaced); the
     * acquire load makes every insert before the cap visible, so probing the
     * current table once more settles it. */
    if (atomic_load_explicit(&f->overflowing, memory_order_acquire)) {
        s = table_find(atomic_load_explicit(&f->table, memory_order_acquire), h, ls, f->nlabels);
        return s ? s : f->overflow;
    }
    pthread_mutex_lock(&f->mu);
    s = table_find(atomic_load_explicit(&f->table, memory_order_relaxed), h, ls, f->nlabels);
    if (s) goto out;
    if (labelset_is_other(ls, f->nlabels)) {
        s = overflow_use(f);
        goto out;
    }
    if (f->nseries >= f->max_series) {
        s = overflow_use(f);
        atomic_store_explicit(&f->overflowing, 1, memory_order_release);
        goto out;
    }
    s = series_alloc(f, h, ls, 0);
    if (s && table_put(f, s) != LORE_OK) {
        free(s);
        s = NULL;
    }
    if (!s) {
        /* Out of memory: the figure still counts, under METRICS_OTHER. */
        s = overflow_use(f);
        goto out;
    }
    list_append(f, s);
    f->nseries++;
out:
    pthread_mutex_unlock(&f->mu);
    return s;
}

metrics_series *metrics_series_get(metrics_family *f, const char *const *label_values) {
    metrics_series *s = f->single;
    if (!s) {
        labelset ls;
        labelset_fill(&ls, label_values, f->nlabels);
        uint64_t h = labelset_hash(&ls, f->nlabels);
        s = table_find(atomic_load_explicit(&f->table, memory_order_acquire), h, &ls, f->nlabels);
        if (!s) s = series_insert(f, h, &ls);
    }
    series_reveal(s);
    return s;
}

/* ---- updates ------------------------------------------------------------- */

void metrics_series_add(metrics_series *s, double v) {
    if (s->kind == KIND_HISTOGRAM) return;
    if (s->kind == KIND_COUNTER && !(v >= 0)) return; /* also refuses NaN */
    atomic_add_double(&s->value, v);
    series_reveal(s);
}

void metrics_series_set(metrics_series *s, double v) {
    if (s->kind == KIND_HISTOGRAM) return;
    atomic_store_explicit(&s->value, dbits(v), memory_order_relaxed);
    series_reveal(s);
}

void metrics_series_observe(metrics_series *s, double v) {
    if (s->kind != KIND_HISTOGRAM || isnan(v)) return;
    /* First bound >= v; past them all, the +Inf bucket at index nbounds. */
    const double *b = s->f->bounds;
    size_t lo = 0, hi = s->f->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&s->value, v);
    series_reveal(s);
}

double metrics_series_value(const metrics_series *s) {
    return bitsd(atomic_load_explicit(&((metrics_series *)s)->value, memory_order_relaxed));
}

uint64_t metrics_series_count(const metrics_series *s) {
    uint64_t n = 0;
    if (s->kind == KIND_HISTOGRAM)
        for (size_t i = 0; i <= s->f->nbounds; i++)
            n += atomic_load_explicit(&((metrics_series *)s)->buckets[i], memory_order_relaxed);
    return n;
}

void metrics_add(metrics_family *f, const char *const *label_values, double v) {
    metrics_series_add(metrics_series_get(f, label_values), v);
}

void metrics_set(metrics_family *f, const char *const *label_values, double v) {
    metrics_series_set(metrics_series_get(f, label_values), v);
}

void metrics_observe(metrics_family *f, const char *const *label_values, double v) {
    metrics_series_observe(metrics_series_get(f, label_values), v);
}

void metrics_family_clear(metrics_family *f) {
    size_t nb = f->kind == KIND_HISTOGRAM ? f->nbounds + 1 : 0;
    /* Hidden before zeroed: an update landing in between shows the series
     * again, at zero or with that update, rather than leaving it hidden
     * with a stale value. */
    for (metrics_series *s = atomic_load_explicit(&f->head, memory_order_acquire); s;
         s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        atomic_store_explicit(&s->hidden, 1, memory_order_relaxed);
        atomic_store_explicit(&s->value, dbits(0.0), memory_order_relaxed);
        for (size_t i = 0; i < nb; i++)
            atomic_store_explicit(&s->buckets[i], 0, memory_order_relaxed);
    }
}

/* ---- families ------------------------------------------------------------ */

static const double latency_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                         0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                         0.5,     1,      2.5,     5,      10};

const double *metrics_latency_buckets(size_t *n) {
    *n = sizeof latency_buckets / sizeof latency_buckets[0];
    return latency_buckets;
}

static int is_name_char(char c, int first, int colon) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return 1;
    if (c == ':') return colon;
    return !first && c >= '0' && c <= '9';
}

/* Metric names may hold colons (recording rules use them); label names may
 * not, and those starting with "__" are Prometheus's own. */
static int valid_name(const char *s, int label) {
    if (!s || !*s) return 0;
    if (label && s[0] == '_' && s[1] == '_') return 0;
    for (size_t i = 0; s[i]; i++)
        if (!is_name_char(s[i], i == 0, !label)) return 0;
    return 1;
}

static void family_free(metrics_family *f) {
    if (!f) return;
    metrics_series *s = atomic_load_explicit(&f->head, memory_order_relaxed);
    while (s) {
        metrics_series *next = atomic_load_explicit(&s->next, memory_order_relaxed);
        free(s);
        s = next;
    }
    if (!f->overflow_linked) free(f->overflow);
    series_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    while (t) {
        series_table *older = t->older;
        free(t);
        t = older;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* The sample names family f writes: its name and, for a histogram, the
 * three suffixed ones. Returns how many were written to out. */
static size_t sample_names(family_kind kind, const char *name, char out[4][256]) {
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n = 0;
    snprintf(out[n++], 256, "%s", name);
    if (kind == KIND_HISTOGRAM)
        for (size_t i = 0; i < 3; i++)
            snprintf(out[n++], 256, "%s%s", name, suffixes[i]);
    return n;
}

/* Whether a family of this kind and name would write a line that an
 * existing family writes too. Caller holds r->lock. */
static int name_taken(metrics_registry *r, family_kind kind, const char *name) {
    char mine[4][256], theirs[4][256];
    size_t nm = sample_names(kind, name, mine);
    for (metrics_family *g = atomic_load_explicit(&r->families, memory_order_relaxed); g;
         g = atomic_load_explicit(&g->next, memory_order_relaxed)) {
        size_t nt = sample_names(g->kind, g->name, theirs);
        for (size_t i = 0; i < nm; i++)
            for (size_t j = 0; j < nt; j++)
                if (strcmp(mine[i], theirs[j]) == 0) return 1;
    }
    return 0;
}

static lore_status check_args(family_kind kind, const char *name, const char *help,
                              const char *const *label_names, size_t nlabels, size_t max_series,
                              const double *bounds, size_t nbounds) {
    /* Longer names would be cut in name_taken; 200 bytes is plenty. */
    if (!valid_name(name, 0) || strlen(name) > 200) return LORE_INVALID;
    if (help && !utf8_valid(help)) return LORE_INVALID;
    if (nlabels > METRICS_MAX_LABELS || (nlabels && !label_names)) return LORE_INVALID;
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_name(label_names[i], 1)) return LORE_INVALID;
        if (kind == KIND_HISTOGRAM && strcmp(label_names[i], "le") == 0) return LORE_INVALID;
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[i], label_names[j]) == 0) return LORE_INVALID;
    }
    if (nlabels && (max_series < 1 || max_series > METRICS_MAX_SERIES_LIMIT)) return LORE_INVALID;
    if (kind == KIND_HISTOGRAM) {
        if (nbounds > METRICS_MAX_BUCKETS || (nbounds && !bounds)) return LORE_INVALID;
        for (size_t i = 0; i < nbounds; i++) {
            if (!isfinite(bounds[i])) return LORE_INVALID;
            if (i && !(bounds[i] > bounds[i - 1])) return LORE_INVALID;
        }
    }
    return LORE_OK;
}

static lore_status family_new(metrics_registry *r, family_kind kind, const char *name,
                              const char *help, const char *const *label_names, size_t nlabels,
                              size_t max_series, const double *bounds, size_t nbounds,
                              metrics_family **out) {
    metrics_family *f = NULL;
    int locked = 0;
    *out = NULL;
    lore_status st =
        check_args(kind, name, help, label_names, nlabels, max_series, bounds, nbounds);
    if (st != LORE_OK) goto out;
    st = LORE_NOMEM;
    f = calloc(1, sizeof *f);
    if (!f) goto out;
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        f = NULL;
        goto out;
    }
    f->r = r;
    f->kind = kind;
    f->nlabels = nlabels;
    f->max_series = nlabels ? max_series : 1;
    f->nbounds = kind == KIND_HISTOGRAM ? nbounds : 0;
    atomic_init(&f->table, NULL);
    atomic_init(&f->head, NULL);
    atomic_init(&f->next, NULL);
    atomic_init(&f->overflowing, 0);
    f->name = dup_str(name);
    f->help = help && *help ? dup_str(help) : NULL;
    if (!f->name || (help && *help && !f->help)) goto out;
    for (size_t i = 0; i < nlabels; i++)
        if (!(f->labels[i] = dup_str(label_names[i]))) goto out;
    if (f->nbounds) {
        f->bounds = malloc(f->nbounds * sizeof *f->bounds);
        if (!f->bounds) goto out;
        memcpy(f->bounds, bounds, f->nbounds * sizeof *f->bounds);
    }
    labelset ls;
    if (nlabels) {
        series_table *t = table_alloc(TABLE_MIN_SLOTS);
        if (!t) goto out;
        atomic_init(&f->table, t);
        for (size_t i = 0; i < nlabels; i++)
            ls.len[i] = label_canon(METRICS_OTHER, ls.scratch[i], &ls.v[i]);
        f->overflow = series_alloc(f, labelset_hash(&ls, nlabels), &ls, 1);
        if (!f->overflow) goto out;
    } else {
        /* Without labels there is one series, shown (at zero) from the start. */
        f->single = series_alloc(f, labelset_hash(&ls, 0), &ls, 0);
        if (!f->single) goto out;
        list_append(f, f->single);
    }
    pthread_mutex_lock(&r->lock);
    locked = 1;
    if (name_taken(r, kind, name)) {
        st = LORE_INVALID;
        goto out;
    }
    if (r->families_tail)
        atomic_store_explicit(&r->families_tail->next, f, memory_order_release);
    else
        atomic_store_explicit(&r->families, f, memory_order_release);
    r->families_tail = f;
    *out = f;
    f = NULL;
    st = LORE_OK;
out: /* on failure the partial family is freed and *out stays NULL */
    if (locked) pthread_mutex_unlock(&r->lock);
    family_free(f);
    return st;
}

lore_status metrics_counter_new(metrics_registry *r, const char *name, const char *help,
                                const char *const *label_names, size_t nlabels, size_t max_series,
                                metrics_family **out) {
    return family_new(r, KIND_COUNTER, name, help, label_names, nlabels, max_series, NULL, 0, out);
}

lore_status metrics_gauge_new(metrics_registry *r, const char *name, const char *help,
                              const char *const *label_names, size_t nlabels, size_t max_series,
                              metrics_family **out) {
    return family_new(r, KIND_GAUGE, name, help, label_names, nlabels, max_series, NULL, 0, out);
}

lore_status metrics_histogram_new(metrics_registry *r, const char *name, const char *help,
                                  const char *const *label_names, size_t nlabels, size_t max_series,
                                  const double *bounds, size_t nbounds, metrics_family **out) {
    return family_new(r, KIND_HISTOGRAM, name, help, label_names, nlabels, max_series, bounds,
                      nbounds, out);
}

/* ---- registry and collectors --------------------------------------------- */

lore_status metrics_registry_new(metrics_registry **out) {
    lore_status st = LORE_NOMEM;
    metrics_registry *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) goto out;
    if (pthread_mutex_init(&r->lock, NULL) != 0) goto out;
    if (pthread_mutex_init(&r->render_lock, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        goto out;
    }
    atomic_init(&r->families, NULL);
    atomic_init(&r->collectors, NULL);
    *out = r;
    r = NULL;
    st = LORE_OK;
out:
    free(r);
    return st;
}

void metrics_registry_free(metrics_registry *r) {
    if (!r) return;
    metrics_family *f = atomic_load_explicit(&r->families, memory_order_relaxed);
    while (f) {
        metrics_family *next = atomic_load_explicit(&f->next, memory_order_relaxed);
        family_free(f);
        f = next;
    }
    collector *c = atomic_load_explicit(&r->collectors, memory_order_relaxed);
    while (c) {
        collector *next = atomic_load_explicit(&c->next, memory_order_relaxed);
        if (c->free_ctx) c->free_ctx(c->ctx);
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->render_lock);
    free(r);
}

lore_status metrics_on_collect_owned(metrics_registry *r, metrics_collect_fn fn, void *ctx,
                                     void (*free_ctx)(void *)) {
    lore_status st = LORE_INVALID;
    if (!fn) goto out;
    st = LORE_NOMEM;
    collector *c = malloc(sizeof *c);
    if (!c) goto out;
    c->fn = fn;
    c->ctx = ctx;
    c->free_ctx = free_ctx;
    atomic_init(&c->next, NULL);
    pthread_mutex_lock(&r->lock);
    if (r->collectors_tail)
        atomic_store_explicit(&r->collectors_tail->next, c, memory_order_release);
    else
        atomic_store_explicit(&r->collectors, c, memory_order_release);
    r->collectors_tail = c;
    pthread_mutex_unlock(&r->lock);
    st = LORE_OK;
out:
    return st;
}

lore_status metrics_on_collect(metrics_registry *r, metrics_collect_fn fn, void *ctx) {
    return metrics_on_collect_owned(r, fn, ctx, NULL);
}

/* ---- rendering ----------------------------------------------------------- */

/* Appends to a buffer and keeps the first error, so the renderer reads as a
 * straight sequence of writes checked once at the end. */
typedef struct writer {
    lore_buf *b;
    lore_status st;
} writer;

static void put(writer *w, const char *p, size_t n) {
    if (w->st == LORE_OK) w->st = lore_buf_append(w->b, p, n);
}

static void put_str(writer *w, const char *s) {
    put(w, s, strlen(s));
}

/* Appends s with backslash and line feed escaped, and the double quote too
 * when quote is set (label values; HELP text leaves quotes alone). */
static void put_escaped(writer *w, const char *s, size_t n, int quote) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        if (s[i] == '\\')
            esc = "\\\\";
        else if (s[i] == '\n')
            esc = "\\n";
        else if (s[i] == '"' && quote)
            esc = "\\\"";
        if (!esc) continue;
        put(w, s + run, i - run);
        put_str(w, esc);
        run = i + 1;
    }
    put(w, s + run, n - run);
}

/* Writes v as Prometheus (Go's ParseFloat) reads it: integral values below
 * 1e15 as plain integers, others as the shortest %g form that reads back to
 * the same double, and the special values as +Inf, -Inf and NaN. */
static void format_number(char *buf, size_t size, double v) {
    if (isnan(v))
        snprintf(buf, size, "NaN");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        snprintf(buf, size, "0"); /* also -0 */
    else if (fabs(v) < 1e15 && v == trunc(v))
        snprintf(buf, size, "%.0f", v);
    else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
        /* A decimal-comma locale set by someone else must not leak into
         * the exposition format; %g never writes a comma otherwise. */
        for (char *p = buf; *p; p++)
            if (*p == ',') *p = '.';
    }
}

static void put_number(writer *w, double v) {
    char num[40];
    format_number(num, sizeof num, v);
    put_str(w, num);
}

/* name+suffix{labels[,le="le"]} */
static void put_sample_name(writer *w, const metrics_family *f, const metrics_series *s,
                            const char *suffix, const char *le) {
    put_str(w, f->name);
    put_str(w, suffix);
    if (!f->nlabels && !le) return;
    put_str(w, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i) put_str(w, ",");
        put_str(w, f->labels[i]);
        put_str(w, "=\"");
        put_escaped(w, s->values[i], s->lens[i], 1);
        put_str(w, "\"");
    }
    if (le) {
        put_str(w, f->nlabels ? ",le=\"" : "le=\"");
        put_str(w, le);
        put_str(w, "\"");
    }
    put_str(w, "}");
}

static void render_series(writer *w, const metrics_family *f, metrics_series *s) {
    if (f->kind != KIND_HISTOGRAM) {
        put_sample_name(w, f, s, "", NULL);
        put_str(w, " ");
        put_number(w, bitsd(atomic_load_explicit(&s->value, memory_order_relaxed)));
        put_str(w, "\n");
        return;
    }
    /* Each bucket is read once and summed as we go, so the cumulative counts
     * never decrease and _count equals the +Inf bucket even while
     * observations land during the render. */
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i <= f->nbounds; i++) {
        cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            format_number(le, sizeof le, f->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        put_sample_name(w, f, s, "_bucket", le);
        put_str(w, " ");
        put_number(w, (double)cum);
        put_str(w, "\n");
    }
    put_sample_name(w, f, s, "_sum", NULL);
    put_str(w, " ");
    put_number(w, bitsd(atomic_load_explicit(&s->value, memory_order_relaxed)));
    put_str(w, "\n");
    put_sample_name(w, f, s, "_count", NULL);
    put_str(w, " ");
    put_number(w, (double)cum);
    put_str(w, "\n");
}

static void render_family(writer *w, metrics_family *f) {
    metrics_series *first = atomic_load_explicit(&f->head, memory_order_acquire), *s;
    for (s = first; s; s = atomic_load_explicit(&s->next, memory_order_acquire))
        if (!atomic_load_explicit(&s->hidden, memory_order_relaxed)) break;
    if (!s) return; /* nothing visible: the family is left out entirely */
    if (f->help) {
        put_str(w, "# HELP ");
        put_str(w, f->name);
        put_str(w, " ");
        put_escaped(w, f->help, strlen(f->help), 0);
        put_str(w, "\n");
    }
    put_str(w, "# TYPE ");
    put_str(w, f->name);
    put_str(w, " ");
    put_str(w, kind_names[f->kind]);
    put_str(w, "\n");
    for (s = first; s; s = atomic_load_explicit(&s->next, memory_order_acquire))
        if (!atomic_load_explicit(&s->hidden, memory_order_relaxed)) render_series(w, f, s);
}

lore_status metrics_render(metrics_registry *r, lore_buf *out) {
    writer w = {.b = out, .st = LORE_OK};
    size_t mark = out->len;
    pthread_mutex_lock(&r->render_lock);
    for (collector *c = atomic_load_explicit(&r->collectors, memory_order_acquire); c;
         c = atomic_load_explicit(&c->next, memory_order_acquire))
        c->fn(c->ctx);
    for (metrics_family *f = atomic_load_explicit(&r->families, memory_order_acquire);
         f && w.st == LORE_OK; f = atomic_load_explicit(&f->next, memory_order_acquire))
        render_family(&w, f);
    pthread_mutex_unlock(&r->render_lock);
    if (w.st != LORE_OK) {
        /* Back to what the caller had, as a failed lore_buf append leaves it. */
        out->len = mark;
        if (out->data) out->data[mark] = '\0';
    }
    return w.st;
}
