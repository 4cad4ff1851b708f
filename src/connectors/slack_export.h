/* The Slack export import: a standard workspace export (the ZIP an admin
 * downloads from Slack) read into a tenant through the Slack connector's own
 * object states and render (slack.h), so an imported thread and the live
 * connector's are the same document and a later live event updates it.
 *
 * What is read (docs/connectors.md, "Importing an export"):
 *   users.json      workspace members, for authors' names
 *   channels.json   public channels; groups.json private channels (their
 *                   documents get the ACL group:slack:{channel id})
 *   CHANNEL/YYYY-MM-DD.json   one folder per channel (named by the
 *                   channel's name), one JSON array of messages per day
 *   dms.json, mpims.json and their folders: direct messages are not read
 *                   (they are skipped and counted, never imported)
 * A single top folder around all of it (a re-zipped export) is accepted.
 *
 * Streamed: the archive is read through zipread (central directory, then
 * one entry at a time); only one JSON file is in memory at once, and a file
 * over max_file_bytes is refused by name. Messages are applied file by file
 * in channel and date order, the touched threads rendered after each file
 * (connector_sink_flush) and the batch committed every commit_messages
 * messages. A file that cannot be read (bad JSON, not an array, over a cap,
 * damaged in the archive) or a message the connector refuses is reported by
 * name and the rest goes in. Running the import twice leaves the same
 * documents (the connector's apply is idempotent; unchanged documents are
 * no-ops in ingest). */
#ifndef LORE_CONNECTORS_SLACK_EXPORT_H
#define LORE_CONNECTORS_SLACK_EXPORT_H

#include <stdint.h>
#include "connectors/connector.h"
#include "ingest/ingest_jobs.h"
#include "store/store.h"
#include "util/zipread.h"

typedef struct slack_export_stats {
    uint64_t users, channels, private_channels;
    uint64_t files;           /* day files read */
    uint64_t files_failed;    /* day files (or users/channels files) refused */
    uint64_t files_skipped;   /* direct-message folders and entries not part of an export */
    uint64_t messages;        /* messages applied */
    uint64_t messages_failed; /* messages the connector refused */
    uint64_t bytes;           /* uncompressed bytes read */
    uint64_t bytes_total;     /* the archive's uncompressed size (for progress) */
    uint64_t files_total;     /* day files in the archive */
} slack_export_stats;

typedef struct slack_export_options {
    size_t max_file_bytes;  /* a JSON file's cap, uncompressed (default 64 MiB) */
    size_t commit_messages; /* messages per transaction (default 5,000) */
    zipread_limits zip;     /* the archive's caps (zipread_limits_default) */
    /* May be NULL. Progress after each file; problems name the file (its
     * path in the archive) and what is wrong with it. */
    void (*on_progress)(void *ctx, const slack_export_stats *s);
    void (*on_problem)(void *ctx, const char *file, const char *message);
    void *cb_ctx;
} slack_export_options;

#define SLACK_EXPORT_MAX_FILE_DEFAULT (64u << 20)
#define SLACK_EXPORT_COMMIT_DEFAULT 5000

void slack_export_options_default(slack_export_options *o);

/* Imports the export at path through a sink for inst (borrowed; its source
 * and ACL apply) on the session ss (borrowed; it must add no ACL of its own:
 * ingest_set_source_acl(ss, inst->source, NULL, 0)), committing as it goes.
 * LORE_OK when the archive was read, whatever problems individual files had
 * (stats and on_problem tell); an archive that cannot be read at all (not a
 * ZIP, no channels.json) is LORE_INVALID/LORE_IO/LORE_TOO_LARGE with err
 * saying why; other errors are the store's. */
LORE_MUST_CHECK lore_status slack_export_import(ingest_session *ss, const connector_instance *inst,
                                                const char *path, const slack_export_options *opt,
                                                slack_export_stats *stats, char *err,
                                                size_t errlen);

/* The instance an import writes for: the live connector connector_id
 * (of kind slack, in tenant), whose source and ACL then apply, or, with
 * connector_id NULL, source (NULL: "slack") with acl (borrowed). *holder
 * (store_connector_free) owns what inst borrows. LORE_NOT_FOUND / LORE_INVALID
 * with err saying what is wrong. */
LORE_MUST_CHECK lore_status slack_export_instance(store *control, const char *tenant,
                                                  const char *source, const char *connector_id,
                                                  const char *const *acl, size_t nacl,
                                                  connector_instance *inst,
                                                  store_connector **holder, char *err,
                                                  size_t errlen);

/* The "slack_export" job (an export uploaded to POST /v1/imports/slack):
 * payload {"name": the upload's file name, "source": S | "connector": ID,
 * "acl": [..]}, the export itself as the job's blob. Result: the stats
 * ({"users", "channels", "private_channels", "files", "files_failed",
 * "files_skipped", "messages", "messages_failed", "bytes"}), the documents
 * ("added", "updated", "unchanged"), "problem_count" and "problems": the
 * first SLACK_EXPORT_JOB_MAX_PROBLEMS as {"file", "message"}. An archive
 * that cannot be read at all fails the job with the reason. */
#define SLACK_EXPORT_JOB_KIND "slack_export"
#define SLACK_EXPORT_JOB_MAX_PROBLEMS 200
char *slack_export_job_payload(const char *name, const char *source, const char *connector_id,
                               const char *const *acl, size_t nacl);
int slack_export_job_run(const ingest_job_kind *self, store *control, ingest_session *ss,
                         const store_job *job, const json_t *payload, json_t *result, char **error,
                         lore_status *st);

#endif
