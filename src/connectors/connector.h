/* Connectors: sources (GitHub, Slack, Linear) that push their changes into
 * lore through signed webhooks.
 *
 * A connector is one table of functions (connector_ops, versioned), one file
 * per source (github.c, slack.c, linear.c), listed in connector_registry.c.
 * It knows three things about its source and nothing about lore's plumbing:
 *
 *   1. how to check a delivery: verify() over the raw bytes and headers with
 *      the instance's signing secret, in constant time, and the replay
 *      window where the source signs a timestamp;
 *   2. what a delivery is: inspect() names its dedup key (the source's
 *      delivery id), its FIFO group (the source object it changes: an issue,
 *      a channel thread) and whether it is work at all (a ping, Slack's
 *      url_verification challenge, an event type lore does not index);
 *   3. what a delivery does: apply() changes the per-object state the
 *      connector keeps (a JSON value per source object, in the tenant's
 *      store) and marks objects touched; render() turns one object's state
 *      into the document upserts and deletes that make the tenant match.
 *
 * The gate (api/api_hooks.c, POST /v1/hooks/{connector_id}) does the order
 * of checks (body cap, instance lookup, verify, inspect, dedup, enqueue);
 * the job runner (connectors/connector_jobs.c) calls apply then render for
 * each touched object inside the batch's store transaction, so state and
 * documents commit together. The Slack export import drives the same
 * apply/render with events made from the export, so an imported thread and
 * a live one are the same document.
 *
 * Threads: the tables are immutable; every call gets what it needs. */
#ifndef LORE_CONNECTORS_CONNECTOR_H
#define LORE_CONNECTORS_CONNECTOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "ingest/ingest.h"
#include "store/store.h"
#include "util/status.h"

#define CONNECTOR_OPS_VERSION 1

/* Connector instance ids: "con_" and 20 lower-case hex digits (80 random
 * bits). They appear in webhook URLs, so they are not secrets; the signing
 * secret is. */
#define CONNECTOR_ID_PREFIX "con_"
#define CONNECTOR_ID_LEN 24
#define CONNECTOR_KIND_MAX 15
#define CONNECTOR_SOURCE_MAX 64
#define CONNECTOR_DELIVERY_MAX 128 /* bytes of a source's delivery id */
#define CONNECTOR_EVENT_MAX 63
/* Longest signing secret accepted (--secret) and generated secrets' size. */
#define CONNECTOR_SECRET_MAX 256
#define CONNECTOR_SECRET_GENERATED 32 /* random bytes, hex-encoded */

/* One connector instance: a source of one kind feeding one tenant. */
typedef struct connector_instance {
    char id[CONNECTOR_ID_LEN + 1];
    char tenant[STORE_NAME_MAX + 1];
    char kind[CONNECTOR_KIND_MAX + 1];     /* "github", "slack", "linear" */
    char source[CONNECTOR_SOURCE_MAX + 1]; /* documents' source (default: the kind) */
    const char *const *acl;                /* principals for documents the source does not */
    size_t nacl;                           /* restrict itself (none: the whole tenant) */
    int64_t created_ms;
} connector_instance;

/* A delivery as it arrived at the gate. */
typedef struct connector_request {
    /* Header value by name (case-insensitive), NULL when absent. */
    const char *(*header)(void *ctx, const char *name);
    void *header_ctx;
    const uint8_t *body; /* raw bytes, exactly as signed; NUL-terminated */
    size_t body_len;
    int64_t now_ms;
} connector_request;

typedef enum connector_verdict {
    CONNECTOR_OK = 0,        /* verify: signed by this secret, fresh */
    CONNECTOR_BAD_SIGNATURE, /* verify: missing or wrong signature (401) */
    CONNECTOR_STALE,         /* verify/inspect: signed timestamp outside the window (401) */
    CONNECTOR_MALFORMED,     /* inspect: signed, but not a payload of this source (400) */
    CONNECTOR_QUEUE,         /* inspect: work; enqueue one job */
    CONNECTOR_ANSWER,        /* inspect: answer now with delivery->answer, no job */
    CONNECTOR_IGNORE,        /* inspect: valid, nothing lore indexes (200, no job) */
} connector_verdict;

#define CONNECTOR_MAX_GROUPS 4

/* What inspect() learns about a delivery. */
typedef struct connector_delivery {
    char delivery_id[CONNECTOR_DELIVERY_MAX + 1]; /* dedup: a redelivery has the same one */
    char event[CONNECTOR_EVENT_MAX + 1];          /* the source's event name, for logs */
    /* FIFO groups: the source objects this delivery changes ("repo#12",
     * "C024BE91L/1355517523.000005"), so deliveries about one object run one
     * at a time and in order. At least one. */
    char groups[CONNECTOR_MAX_GROUPS][STORE_JOB_GROUP_MAX + 1];
    size_t ngroups;
    int64_t sent_ms; /* the source's timestamp of the delivery, 0 if none */
    /* CONNECTOR_ANSWER: the body to answer with (owned, malloc) and its type. */
    char *answer;
    const char *answer_type; /* static string, e.g. "application/json" */
    char why[160];           /* MALFORMED/STALE: a short reason for the log */
} connector_delivery;

/* What apply() and render() work through: the tenant's store inside the
 * job's transaction. Implemented once in connector_sink.c; state keys are
 * scoped by the instance's source, so an import into source "slack" and the
 * live connector of source "slack" share objects. */
typedef struct connector_sink connector_sink;

/* The object state: JSON the connector keeps per source object to render
 * its document again (an issue with its comments, a thread with its
 * messages). get: *out owned (json_decref), LORE_NOT_FOUND when absent.
 * put borrows state. Keys are at most 512 bytes, no NUL. */
LORE_MUST_CHECK lore_status connector_state_get(connector_sink *s, const char *key, json_t **out);
LORE_MUST_CHECK lore_status connector_state_put(connector_sink *s, const char *key,
                                                const json_t *state);
LORE_MUST_CHECK lore_status connector_state_delete(connector_sink *s, const char *key);
/* Calls fn for each object whose key starts with prefix, in key order; fn
 * returns non-zero to stop. State borrowed for the call; fn must not put or
 * delete state (collect keys, then change them). */
typedef int (*connector_state_fn)(void *ctx, const char *key, const json_t *state);
LORE_MUST_CHECK lore_status connector_state_scan(connector_sink *s, const char *prefix,
                                                 connector_state_fn fn, void *ctx);
/* Marks an object for render() once the current delivery (or import step)
 * is applied; marking twice renders once. */
LORE_MUST_CHECK lore_status connector_touch(connector_sink *s, const char *key);
/* Upserts a document of the instance's source. r->source is ignored; r->acl
 * empty means the instance's ACL. A record the pipeline refuses (a field
 * over its cap) is reported by the sink and is not an error. */
LORE_MUST_CHECK lore_status connector_put(connector_sink *s, const ingest_record *r);
/* Deletes the document with this external id in the instance's source;
 * absent is fine. */
LORE_MUST_CHECK lore_status connector_remove(connector_sink *s, const char *external_id);
/* The instance the sink writes for. */
const connector_instance *connector_sink_instance(const connector_sink *s);

/* The table each source fills. */
typedef struct connector_ops {
    int version; /* CONNECTOR_OPS_VERSION */
    const char *kind;
    const char *title; /* "GitHub" */
    /* Checks the signature (and a signed timestamp's window) of a delivery
     * with one secret, in time independent of where the signature differs.
     * Computes the HMAC over the body (seal_hmac_sha256*) once, before and
     * whatever the signature header is, so a missing or malformed one costs
     * what a wrong one does (the gate's unknown-id decoy costs one too).
     * Never parses the body beyond what the source's scheme signs. */
    connector_verdict (*verify)(const connector_request *req, const uint8_t *secret,
                                size_t secret_len);
    /* Reads a verified delivery: QUEUE (delivery filled), ANSWER, IGNORE,
     * STALE (a timestamp signed inside the body) or MALFORMED. QUEUE only
     * for a body that is one JSON value as json_loadb (flags 0) reads it:
     * the gate puts the raw bytes into the job's payload without parsing
     * them again. */
    connector_verdict (*inspect)(const connector_request *req, connector_delivery *out);
    /* Applies one delivery (headers as recorded by the gate: the event name
     * and delivery id; body the raw payload) to the object states, touching
     * the objects to render. An error status is a store failure (the job
     * retries); a payload that makes no sense is reported in *error (owned)
     * with LORE_INVALID and the job is dead-lettered. */
    lore_status (*apply)(connector_sink *s, const char *event, const json_t *payload, char **error);
    /* Writes the documents of one object from its state (put or remove). */
    lore_status (*render)(connector_sink *s, const char *key);
} connector_ops;

/* ---- running deliveries (connector_sink.c) ---- */

/* A sink over an ingest session (borrowed: the job's or the import's) for
 * one instance (borrowed, with its ACL). The session must add no ACL of its
 * own (ingest_set_source_acl(ss, source, NULL, 0)): the sink gives each
 * document the connector's ACL or the instance's. Returns owned. */
LORE_MUST_CHECK lore_status connector_sink_new(ingest_session *ss, const connector_instance *inst,
                                               connector_sink **out);
/* Renders every object touched since the last flush (ops->render, in the
 * order they were first touched) and forgets them. */
LORE_MUST_CHECK lore_status connector_sink_flush(connector_sink *s, const connector_ops *ops);
/* Objects touched and not yet rendered. */
size_t connector_sink_pending(const connector_sink *s);
void connector_sink_free(connector_sink *s);

#define CONNECTOR_STATE_KEY_MAX 512
#define CONNECTOR_STATE_MAX (16u << 20) /* bytes of one object's state */

/* ---- the registry (connector_registry.c) ---- */

/* The table for a kind, NULL when there is none. */
const connector_ops *connector_find(const char *kind);
/* The kinds, for help and errors ("github, slack, linear"). */
const char *connector_kinds(void);

#endif
