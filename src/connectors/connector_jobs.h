/* The "hook" job: one webhook delivery the gate (api/api_hooks.c) accepted,
 * run inside the ingest job batch through ingest_jobs.h's extra kinds, so
 * the object states the connector changes and the documents it renders
 * commit with the batch.
 *
 * Payload (JSON): {"connector": "<instance id>", "event": "<source event>",
 * "delivery": "<source delivery id>", "payload": <the delivery's body>}.
 * Result: {"connector", "event", "delivery", "rendered": objects rendered},
 * or {"skipped": "connector deleted", ...} when the instance is gone (its
 * pending deliveries finish without effect). */
#ifndef LORE_CONNECTORS_CONNECTOR_JOBS_H
#define LORE_CONNECTORS_CONNECTOR_JOBS_H

#include <stddef.h>
#include "ingest/ingest_jobs.h"

#define CONNECTOR_JOB_KIND "hook"

/* The job kinds connectors add (static; *n gets their number). */
const ingest_job_kind *connector_job_kinds(size_t *n);

/* A hook job's payload (owned text, NULL when out of memory): body must be
 * one JSON value (the gate checked it), copied byte for byte. */
char *connector_job_payload(const char *connector_id, const char *event, const char *delivery,
                            const char *body, size_t len);

#endif
