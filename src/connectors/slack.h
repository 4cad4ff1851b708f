/* The Slack connector's entry points beyond its table, for the export
 * import (connectors/slack_export.c): an exported workspace goes through the
 * same object states and render as live Events API deliveries, so a later
 * live event updates the imported thread instead of duplicating it. */
#ifndef LORE_CONNECTORS_SLACK_H
#define LORE_CONNECTORS_SLACK_H

#include "connectors/connector.h"

extern const connector_ops connector_slack;

/* Records workspace users (users.json entries: "id", "name", "real_name",
 * "profile": {"display_name", "real_name"}) so messages render with their
 * authors' names. users is an array; entries without an id are skipped. */
LORE_MUST_CHECK lore_status slack_put_users(connector_sink *s, const json_t *users);
/* Records a channel (a channels.json or groups.json entry: "id", "name";
 * is_private for groups.json or "is_private": true), for names and ACLs. */
LORE_MUST_CHECK lore_status slack_put_channel(connector_sink *s, const json_t *channel,
                                              int is_private);
/* Applies one exported message of a channel exactly as the live `message`
 * event with that message would (touching the objects to render). A
 * message that makes no sense is LORE_INVALID with *error (owned). */
LORE_MUST_CHECK lore_status slack_put_message(connector_sink *s, const char *channel_id,
                                              const json_t *message, char **error);

#endif
