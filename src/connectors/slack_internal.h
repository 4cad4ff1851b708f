/* What slack.c (verify, inspect) and slack_docs.c (apply, render, the
 * export entry points) share: the shapes of Slack's ids and timestamps. */
#ifndef LORE_CONNECTORS_SLACK_INTERNAL_H
#define LORE_CONNECTORS_SLACK_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

/* A message ts is exactly "SSSSSSSSSS.UUUUUU" (seconds since the epoch in
 * ten digits, microseconds in six), the only shape Slack sends; so byte
 * order is time order and ts strings sort in state keys. */
#define SLACK_TS_LEN 17
/* Channel, user and team ids: 1 to 40 ASCII letters and digits. */
#define SLACK_ID_MAX 40
/* The UTC date of a ts, "YYYY-MM-DD". */
#define SLACK_DATE_LEN 10

int slack_ts_valid(const char *ts);
int slack_id_valid(const char *id);
/* The UTC date of a valid ts into out (SLACK_DATE_LEN + 1 bytes). */
void slack_ts_date(const char *ts, char *out);
/* Milliseconds since the epoch of a valid ts. */
int64_t slack_ts_ms(const char *ts);

/* A string member of a JSON object, NULL when absent or not a string. */
const char *slack_str(const json_t *obj, const char *key);

/* Whether a message subtype is content lore indexes (none, thread_broadcast,
 * bot_message, me_message, file_share) or, for tombstone/changed/deleted,
 * handled specially; everything else (joins, topics, pins...) is not. */
int slack_subtype_indexed(const char *subtype);

/* Applies a live Events API payload (the event_callback envelope). */
lore_status slack_apply(connector_sink *s, const char *event, const json_t *payload, char **error);
lore_status slack_render(connector_sink *s, const char *key);

#endif
