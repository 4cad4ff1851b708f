/* Settings: defaults, then an optional config file, then LORE_* environment
 * variables, then command-line flags (each later source wins).
 *
 * The file is `key = value` lines (# comments, blank lines, optional quotes
 * around values); keys are the names below, the environment variable is
 * LORE_ + the key in upper case (data_dir -> LORE_DATA_DIR). An unknown key,
 * in the file or as a LORE_ variable, and a value of the wrong type or out of
 * range are errors at start, naming the key and where it came from. */
#ifndef LORE_CONFIG_CONFIG_H
#define LORE_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef enum config_origin { CONFIG_DEFAULT, CONFIG_FILE, CONFIG_ENV, CONFIG_FLAG } config_origin;

typedef struct lore_config {
    char data_dir[1024];
    char store_url[1100]; /* "" until resolved: sqlite:DATA_DIR (config_resolve_data_dir) */
    char tenant[65];      /* default tenant for commands */
    char log_level[16];   /* debug, info, warn, error, off */
    char mode[16];        /* dev or production */
    char master_key[256]; /* secret; printed masked */
    char master_key_previous[256]; /* secret: the key being rotated away from */
    double bm25_k1, bm25_b;
    int64_t title_weight;
    double hybrid_rrf_k, hybrid_weight_lexical, hybrid_weight_semantic;
    int64_t chunk_target_tokens, chunk_max_tokens, chunk_overlap_tokens;
    int64_t max_file_mb;
    int64_t pdf_timeout_s, pdf_memory_mb;
    /* lore serve */
    char listen[128];               /* host:port; port 0 picks a free one */
    int64_t http_threads;           /* 0 = one per core */
    int64_t max_connections;        /* open connections, all clients */
    int64_t max_connections_per_ip; /* from one client address, 0 = no cap */
    int64_t max_header_kb, max_body_kb, max_upload_mb, max_json_depth, max_batch;
    int64_t header_timeout_s, idle_timeout_s, min_body_rate_kb, drain_timeout_s;
    char cors_origins[1024]; /* comma-separated allow-list, "" = no CORS */
    int64_t access_log;      /* 1 = one JSON line per request on stderr */
    int64_t metrics_public;  /* 1 = /metrics needs no key */
    int64_t rate_read_per_min, rate_write_per_min, rate_admin_per_min, rate_anon_per_min;
    /* shared rate limits (src/auth/ratelimit_redis.c); redis_url "" = per process */
    char redis_url[1024]; /* secret; printed masked */
    char redis_tls_ca_file[1024];
    int64_t redis_timeout_ms;
    int64_t session_ttl_minutes;     /* browser sessions (api_session.c) */
    int64_t session_signins_per_min; /* per key: bounds a key's live sessions */
    /* webhooks (connectors) */
    int64_t hook_max_body_kb, hook_rate_per_min, hook_inflight_mb;
    char public_url[512]; /* https://lore.example.com: webhook URLs printed in full */
    /* jobs */
    int64_t workers; /* -1 = none, 0 = one per core */
    int64_t job_lease_s, job_max_attempts, job_backoff_ms, job_backoff_max_s, job_retention_days;
    int64_t job_poll_ms, job_wake_poll_s; /* idle workers' look for other processes' jobs */
    int64_t queue_max_per_tenant, queue_max_total, max_wait_s;
    /* MCP */
    char mcp_url[512], mcp_allowed_hosts[1024], mcp_allowed_origins[1024];
    int64_t mcp_max_body_kb;
    char mcp_key[128], mcp_principals[1024];
    char jwt_issuer[512], jwt_jwks_url[1024], jwt_tenant[65], jwt_groups_claim[64], jwt_scope[64];
    /* embeddings (src/embed/); embed_url "" = no embedder */
    char embed_url[1024], embed_model[256];
    char embed_api_key[1024]; /* secret; printed masked */
    int64_t embed_dimensions, embed_batch, embed_concurrency, embed_timeout_s;
    int64_t embed_max_input_tokens;
    int64_t embed_backlog_degraded_s; /* /health/ready degraded past this backlog age */
    int64_t embed_reembed_step;       /* chunks per step of the model switch (lore reembed) */
    config_origin origin[96];         /* per key, indexed like the key table */
    char file[1024];                  /* the config file read, "" if none */
} lore_config;

/* Loads defaults, the file (path, or LORE_CONFIG when path is NULL; absent
 * is fine unless a path was named) and the environment. */
LORE_MUST_CHECK lore_status config_load(lore_config *c, const char *path, char *err, size_t errlen);
/* Sets one key from a command-line flag, validating it. */
LORE_MUST_CHECK lore_status config_set(lore_config *c, const char *key, const char *value,
                                       config_origin origin, char *err, size_t errlen);
/* Checks cross-key rules (chunk sizes consistent, production needs a strong
 * master key). */
LORE_MUST_CHECK lore_status config_validate(const lore_config *c, char *err, size_t errlen);

/* Where a key's value came from (CONFIG_DEFAULT for an unknown key). */
config_origin config_origin_of(const lore_config *c, const char *key);

/* ---- the data directory (config_datadir.c) ----
 *
 * Resolved once, by every command, before anything is opened, into an
 * absolute path, so messages name it and no later chdir changes it:
 *   - set by a flag or the environment: relative to the working directory;
 *   - set in a config file: relative to the file's directory;
 *   - not set: the per-user directory $XDG_DATA_HOME/lore (when that is an
 *     absolute path), else $HOME/.local/share/lore. The same data from every
 *     directory, so `LORE_MCP_KEY=... lore mcp` works wherever an agent
 *     starts it.
 * The path is cleaned ("//", "/./", a trailing "/"); a leading ".." climbs
 * the working directory (a physical path, so that is exact), any later one
 * is kept. Idempotent. LORE_INVALID (err says what to set) when no HOME is
 * known, LORE_TOO_LARGE past the field's size. */
LORE_MUST_CHECK lore_status config_resolve_data_dir(lore_config *c, char *err, size_t errlen);
/* store_url is resolved with it: empty (the default) becomes
 * "sqlite:" + data_dir; a sqlite store_url ("sqlite:DIR" or a plain path)
 * names the data directory (data_dir takes DIR, resolved by the rules
 * above from where store_url was set; setting data_dir to another
 * directory too is LORE_INVALID) and is rewritten "sqlite:" + the absolute
 * path; a postgres:// URL is kept as given (data_dir still holds the
 * process's local files: master.key in dev mode, upload spools). */
/* The directory a sqlite store_url names (after "sqlite:", or the whole
 * plain path), NULL for a URL of another scheme. */
const char *config_store_url_dir(const char *url);
/* Where data_dir came from, for messages: "the default data directory",
 * "set by LORE_DATA_DIR", "set by --data-dir", "set by data_dir in FILE". */
void config_data_dir_source(const lore_config *c, char *out, size_t outlen);

/* Calls fn for each setting marked secret (master_key, mcp_key, ...) with
 * its value's buffer and size, which fn may rewrite (secrets_resolve_config
 * replaces `secret:NAME` values); stops at the first status not LORE_OK and
 * returns it. */
typedef lore_status (*config_secret_fn)(void *ctx, const char *key, char *value, size_t size);
LORE_MUST_CHECK lore_status config_each_secret(lore_config *c, config_secret_fn fn, void *ctx);

/* Calls fn for each key with its value as text (secrets masked) and origin. */
typedef void (*config_fn)(void *ctx, const char *key, const char *value, const char *origin,
                          const char *help);
void config_each(const lore_config *c, config_fn fn, void *ctx);

#endif
