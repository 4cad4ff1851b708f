/* Metrics: counters, gauges and histograms rendered as Prometheus text
 * (exposition format 0.0.4) for a /metrics endpoint.
 *
 * A registry holds families; a family has a name, a help text, a type and
 * 0..METRICS_MAX_LABELS label names fixed at creation. A series is one
 * combination of label values within a family.
 *
 * Hot path. Resolve a series once with metrics_series_get and keep the
 * pointer: it stays valid, for that label combination, until the registry is
 * freed (metrics_family_clear does not free it). Updating a series is a few
 * relaxed atomic operations and takes no lock. Looking up an existing series
 * reads an append-only hash table without a lock; only the first sight of a
 * new combination takes the family's mutex. The metrics_add/set/observe
 * conveniences do both steps per call.
 *
 * Values. Every value (counter, gauge, histogram sum) is a double kept as its
 * bit pattern in an atomic 64-bit word and added to with a compare-and-swap
 * loop, so counters stay exact for integral increments up to 2^53.
 * Histogram buckets are atomic 64-bit counts; _count is rendered as the sum
 * of the buckets, so it always equals the +Inf bucket, while _sum may lag or
 * lead them by the observations in flight during a render.
 *
 * Bounded cardinality. Each family with labels takes at most max_series
 * distinct label combinations. Once it holds that many, any new combination
 * is recorded in the one overflow series whose every label value is
 * METRICS_OTHER ("_other"); a scrape shows that series when it happened. A
 * label value is cut to METRICS_LABEL_VALUE_MAX bytes (at a UTF-8 boundary)
 * and invalid UTF-8 in it becomes U+FFFD, because Prometheus rejects a whole
 * scrape over one invalid label value; the combination is identified after
 * those changes.
 *
 * Visibility. A series is rendered once it has been returned by
 * metrics_series_get or updated, until metrics_family_clear hides it again.
 * A family with no visible series renders nothing, not even # HELP.
 *
 * Misuse is ignored rather than fatal: adding a negative or NaN amount to a
 * counter, observe on a non-histogram, add on a histogram and set on a
 * histogram do nothing. NaN observations are ignored too.
 *
 * Thread safety: every function may be called from any thread at any time,
 * except metrics_registry_free, which needs all other use to have ended.
 * Renders are serialized with each other. */
#ifndef LORE_METRICS_METRICS_H
#define LORE_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/status.h"

#define METRICS_MAX_LABELS 4
/* Label value that replaces every value of a combination past max_series. */
#define METRICS_OTHER "_other"
/* Longest label value kept, in bytes; longer values are cut. */
#define METRICS_LABEL_VALUE_MAX 256
/* Largest max_series a family may ask for. */
#define METRICS_MAX_SERIES_LIMIT (1u << 20)
/* Most upper bounds a histogram may have (+Inf is implicit, not counted). */
#define METRICS_MAX_BUCKETS 64
/* Content-Type of metrics_render's output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;
typedef struct metrics_series metrics_series;

/* ---- registry ------------------------------------------------------------ */

LORE_MUST_CHECK lore_status metrics_registry_new(metrics_registry **out);
/* Frees the registry, its families and every series. No other thread may be
 * using it or any pointer obtained from it. NULL is a no-op. */
void metrics_registry_free(metrics_registry *r);

/* ---- families ------------------------------------------------------------ */

/* Creates a family owned by the registry (valid until metrics_registry_free).
 *
 * name: [a-zA-Z_:][a-zA-Z0-9_:]*. help: any UTF-8 text, escaped on output;
 * NULL or "" omits the # HELP line. label_names: nlabels names (nlabels at
 * most METRICS_MAX_LABELS; the array may be NULL when nlabels is 0), each
 * [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus),
 * distinct, and not "le" for a histogram. max_series: 1..
 * METRICS_MAX_SERIES_LIMIT for a family with labels (memory grows with the
 * series actually seen, not with this cap); ignored without labels, where
 * the single series exists and renders (as 0) from creation.
 *
 * Histograms: bounds are nbounds (0..METRICS_MAX_BUCKETS) finite upper
 * bounds in strictly ascending order; the +Inf bucket is added.
 *
 * Returns LORE_INVALID for any rule above broken, or when a sample name this
 * family would write (name; for histograms also name_bucket, name_sum,
 * name_count) is already written by another family; LORE_NOMEM. */
LORE_MUST_CHECK lore_status metrics_counter_new(metrics_registry *r, const char *name,
                                                const char *help, const char *const *label_names,
                                                size_t nlabels, size_t max_series,
                                                metrics_family **out);
LORE_MUST_CHECK lore_status metrics_gauge_new(metrics_registry *r, const char *name,
                                              const char *help, const char *const *label_names,
                                              size_t nlabels, size_t max_series,
                                              metrics_family **out);
LORE_MUST_CHECK lore_status metrics_histogram_new(metrics_registry *r, const char *name,
                                                  const char *help, const char *const *label_names,
                                                  size_t nlabels, size_t max_series,
                                                  const double *bounds, size_t nbounds,
                                                  metrics_family **out);

/* Default histogram bounds for latencies in seconds, 50 us to 10 s in a
 * 1-2.5-5 progression; *n receives their number. Static storage. */
const double *metrics_latency_buckets(size_t *n);

/* Drops every series of the family from the output, for label values that no
 * longer exist (a deleted tenant): each series is reset to zero and hidden.
 * Nothing is freed, so series pointers held by other threads stay valid and
 * keep their label values; a later update through such a pointer, or
 * metrics_series_get of the same labels, makes the series visible again,
 * counting from zero. An update racing with the clear may be lost. Hidden
 * series still count towards max_series, so a family whose label values
 * churn without end eventually records new ones under METRICS_OTHER. */
void metrics_family_clear(metrics_family *f);

/* ---- series -------------------------------------------------------------- */

/* The series for label_values (one string per label name, in the family's
 * order; NULL entries mean ""; the array may be NULL when the family has no
 * labels). The strings are copied. Never returns NULL: past max_series, or
 * if memory for a new series cannot be had, the overflow series is returned.
 * The pointer is valid until metrics_registry_free. */
metrics_series *metrics_series_get(metrics_family *f, const char *const *label_values);

/* Counter: adds v (>= 0). Gauge: adds v (any sign). */
void metrics_series_add(metrics_series *s, double v);
/* Gauge: sets v. Counter: sets v, for mirroring a count kept elsewhere (CPU
 * seconds from the kernel); the caller keeps it monotonic. */
void metrics_series_set(metrics_series *s, double v);
/* Histogram: counts v in the first bucket whose bound is >= v and adds it
 * to the sum. */
void metrics_series_observe(metrics_series *s, double v);

/* Current value of a counter or gauge, or the sum of a histogram. */
double metrics_series_value(const metrics_series *s);
/* Number of observations of a histogram; 0 for other types. */
uint64_t metrics_series_count(const metrics_series *s);

/* metrics_series_get followed by the update. */
void metrics_add(metrics_family *f, const char *const *label_values, double v);
void metrics_set(metrics_family *f, const char *const *label_values, double v);
void metrics_observe(metrics_family *f, const char *const *label_values, double v);

/* ---- collectors and rendering -------------------------------------------- */

typedef void (*metrics_collect_fn)(void *ctx);

/* Registers fn(ctx) to run at the start of every metrics_render, in
 * registration order, to refresh values kept elsewhere (documents per tenant,
 * process memory). Collectors run one at a time, under the render lock: they
 * may create families, register collectors and update series, but must not
 * call metrics_render. ctx is borrowed and must outlive the registry. */
LORE_MUST_CHECK lore_status metrics_on_collect(metrics_registry *r, metrics_collect_fn fn,
                                               void *ctx);

/* Runs the collectors, then appends the registry in Prometheus text format
 * 0.0.4 to out: families in creation order, each as # HELP, # TYPE and its
 * visible series in first-seen order. Numbers are integers when integral
 * (below 1e15), otherwise the shortest decimal that reads back to the same
 * double; +Inf, -Inf and NaN as Prometheus spells them. On failure
 * (LORE_TOO_LARGE past out's cap, LORE_NOMEM) out is left as it was. */
LORE_MUST_CHECK lore_status metrics_render(metrics_registry *r, lore_buf *out);

/* ---- process figures (Linux /proc; -1 when unavailable) ------------------- */

/* Resident set size in bytes (/proc/self/statm). */
int64_t metrics_process_rss_bytes(void);
/* User plus system CPU time of the process, in seconds (getrusage). */
double metrics_process_cpu_seconds(void);
/* Open file descriptors (entries of /proc/self/fd). */
int64_t metrics_process_open_fds(void);

/* Registers the standard process families, refreshed by a collector on each
 * render: process_resident_memory_bytes, process_cpu_seconds_total,
 * process_open_fds and process_max_fds. LORE_INVALID if they already exist. */
LORE_MUST_CHECK lore_status metrics_register_process(metrics_registry *r);

#endif
