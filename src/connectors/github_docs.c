/* Interim: apply and render land in the next commit. */
#include "connectors/github.h"

lore_status github_apply(connector_sink *s, const char *event, const json_t *payload,
                         char **error) {
    (void)s, (void)event, (void)payload;
    *error = NULL;
    return LORE_UNSUPPORTED;
}

lore_status github_render(connector_sink *s, const char *key) {
    (void)s, (void)key;
    return LORE_UNSUPPORTED;
}
