/* Shared between metrics.c and process.c; not part of the module's API. */
#ifndef LORE_METRICS_METRICS_INT_H
#define LORE_METRICS_METRICS_INT_H

#include "metrics/metrics.h"

/* metrics_on_collect for a ctx the registry owns: free_ctx(ctx) runs in
 * metrics_registry_free. On failure free_ctx is not called; the caller still
 * owns ctx. */
LORE_MUST_CHECK lore_status metrics_on_collect_owned(metrics_registry *r, metrics_collect_fn fn,
                                                     void *ctx, void (*free_ctx)(void *));

#endif
