/* The connector tables lore knows, by kind. A new source is a new file that
 * fills a connector_ops and one line here. */
#include "connectors/connector.h"
#include "connectors/github.h"
#include "connectors/slack.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Each source's table (github.c, slack.c, linear.c). */
static const connector_ops *const registry[] = {
    &connector_github,
    &connector_slack,
    NULL, /* the end */
};

const connector_ops *connector_find(const char *kind) {
    for (size_t i = 0; kind && registry[i]; i++)
        if (!strcmp(registry[i]->kind, kind) && registry[i]->version == CONNECTOR_OPS_VERSION)
            return registry[i];
    return NULL;
}

static char kinds[128];
static pthread_once_t kinds_once = PTHREAD_ONCE_INIT;

static void kinds_init(void) {
    size_t used = 0;
    for (size_t i = 0; registry[i]; i++) {
        int n =
            snprintf(kinds + used, sizeof kinds - used, "%s%s", i ? ", " : "", registry[i]->kind);
        if (n < 0 || (size_t)n >= sizeof kinds - used) break;
        used += (size_t)n;
    }
}

const char *connector_kinds(void) {
    pthread_once(&kinds_once, kinds_init);
    return kinds;
}
