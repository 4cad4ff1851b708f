/* The search filters parsed once for REST (GET and POST), MCP and the CLI;
 * see view.h. */
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "util/timeutil.h"
#include "view/view.h"

_Static_assert(VIEW_MAX_AUTHOR == INGEST_MAX_AUTHOR,
               "an author filter must reach every stored author");

void view_filters_attach(view_filters *f, search_request *r) {
    r->sources = f->sources;
    r->meta_keys = f->meta_keys;
    r->meta_values = f->meta_values;
}

int view_filter_meta(view_filters *f, search_request *r, const char *key, const char *value,
                     char *err, size_t errlen) {
    if (!key || !*key) {
        snprintf(err, errlen, "a metadata filter needs a key: meta.KEY=VALUE");
        return -1;
    }
    if (r->nmeta == VIEW_MAX_FILTERS) {
        snprintf(err, errlen, "at most %d metadata filters", VIEW_MAX_FILTERS);
        return -1;
    }
    f->meta_keys[r->nmeta] = key;
    f->meta_values[r->nmeta++] = value;
    return 0;
}

/* since (the start of a bare date) or until (its end). */
static int time_filter(const char *label, const char *v, int end_of_day, int64_t *out, char *err,
                       size_t errlen) {
    if (lore_parse_iso8601(v, out)) {
        snprintf(err, errlen,
                 "%s must be an ISO 8601 date or time like 2026-01-31 or "
                 "2026-01-31T09:00:00Z; got '%.40s'",
                 label, v);
        return -1;
    }
    if (end_of_day && strlen(v) == 10) *out += 86400000 - 1;
    return 0;
}

int view_filter_set(view_filters *f, search_request *r, const char *name, const char *label,
                    const char *value, char *err, size_t errlen) {
    if (!label) label = name;
    if (!strcmp(name, "source")) {
        if (r->nsources == VIEW_MAX_FILTERS) {
            snprintf(err, errlen, "%s: at most %d source names", label, VIEW_MAX_FILTERS);
            return -1;
        }
        f->sources[r->nsources++] = value;
        return 0;
    }
    if (!strcmp(name, "since")) return time_filter(label, value, 0, &r->since_ms, err, errlen);
    if (!strcmp(name, "until")) return time_filter(label, value, 1, &r->until_ms, err, errlen);
    if (!strcmp(name, "author")) {
        if (strlen(value) > VIEW_MAX_AUTHOR) {
            snprintf(err, errlen, "%s is %zu bytes; the limit is %d", label, strlen(value),
                     VIEW_MAX_AUTHOR);
            return -1;
        }
        r->author = value;
        return 0;
    }
    if (!strncmp(name, "meta.", 5)) return view_filter_meta(f, r, name + 5, value, err, errlen);
    return 1;
}
