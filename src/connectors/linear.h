/* The Linear connector: Issue, Comment, Project and Document webhooks.
 *
 * linear.c checks and reads deliveries (verify, inspect); linear_docs.c
 * keeps the object states and renders the documents (apply, render). The
 * two functions below are the table's entries that linear_docs.c fills. */
#ifndef LORE_CONNECTORS_LINEAR_H
#define LORE_CONNECTORS_LINEAR_H

#include "connectors/connector.h"

extern const connector_ops connector_linear;

/* The replay window: webhookTimestamp (ms, in the signed body) may be at
 * most this far from the gate's clock, either way. */
#define LINEAR_WINDOW_MS 60000

/* Caps on what one object's state may hold; a delivery past one is
 * refused (dead-lettered) with a message naming the cap. */
#define LINEAR_MAX_COMMENTS 5000   /* comments (with removed ones) per issue */
#define LINEAR_MAX_TEXT (1u << 20) /* bytes of a description, body or content */
#define LINEAR_MAX_FIELD 4096      /* bytes of a title, name, identifier, URL */
#define LINEAR_MAX_LABELS 100      /* labels per issue */

/* The object an id belongs to: 1 when id is a Linear id ([A-Za-z0-9_-],
 * 1 to 100 bytes), the only ids used in state keys and groups. */
int linear_id_valid(const char *id);

/* connector_ops.apply and .render (linear_docs.c). */
lore_status linear_apply(connector_sink *s, const char *event, const json_t *payload, char **error);
lore_status linear_render(connector_sink *s, const char *key);

#endif
