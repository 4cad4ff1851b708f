/* Settings; see config.h. One table describes every key: its type, limits,
 * where it lives in lore_config, and a line of help, so parsing, validation,
 * `lore config` and the docs all read the same list. */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis/redis.h"
#include "util/log.h"

typedef enum { K_STR, K_INT, K_DBL } key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t offset, size; /* strings: buffer size */
    double min, max;
    int secret;
    const char *deflt;
    const char *help;
} key_def;

#define STR(f, sec, d, h)                                                                          \
    { #f, K_STR, offsetof(lore_config, f), sizeof(((lore_config *)0)->f), 0, 0, sec, d, h }
#define INT(f, lo, hi, d, h)                                                                       \
    { #f, K_INT, offsetof(lore_config, f), 0, lo, hi, 0, d, h }
#define DBL(f, lo, hi, d, h)                                                                       \
    { #f, K_DBL, offsetof(lore_config, f), 0, lo, hi, 0, d, h }

static const key_def keys[] = {
    STR(data_dir, 0, "",
        "directory of the embedded store (control.db, tenants/, blobs/) and of local files "
        "(master.key in dev mode, upload spools) (default: $XDG_DATA_HOME/lore, else "
        "~/.local/share/lore; a relative path is taken from the working directory, or in a "
        "config file from the file's directory)"),
    STR(store_url, 0, "",
        "the store: sqlite:DIR (the embedded store; the default is sqlite:DATA_DIR) or "
        "postgres://user@host/db?sslmode=... (a password in it is printed masked; prefer "
        "PGPASSWORD or ~/.pgpass)"),
    STR(tenant, 0, "default", "tenant used when a command gets no --tenant"),
    STR(log_level, 0, "warn", "debug, info, warn, error or off"),
    STR(mode, 0, "dev",
        "dev or production (production refuses weak settings and migrates nothing by itself: "
        "lore migrate)"),
    STR(master_key, 1, "",
        "key that seals secrets at rest, at least 32 characters (required in production; in dev "
        "mode a random one is kept in DATA_DIR/master.key)"),
    STR(master_key_previous, 1, "",
        "during a key rotation, the old master_key: secrets sealed with it still open until "
        "`lore secrets rotate` re-seals them"),
    DBL(bm25_k1, 0, 10, "1.2", "BM25 term frequency saturation"),
    DBL(bm25_b, 0, 1, "0.75", "BM25 length normalization"),
    INT(title_weight, 0, 16, "2", "times a title counts in the text field (fixed per index)"),
    DBL(hybrid_rrf_k, 1, 10000, "60",
        "hybrid search: k of reciprocal rank fusion (a hit scores weight / (k + rank) per "
        "ranking)"),
    DBL(hybrid_weight_lexical, 0, 100, "1", "hybrid search: weight of the lexical (BM25) ranking"),
    DBL(hybrid_weight_semantic, 0, 100, "1",
        "hybrid search: weight of the semantic (embedding) ranking"),
    INT(chunk_target_tokens, 32, 8192, "400", "chunk size to aim for, in tokens"),
    INT(chunk_max_tokens, 32, 16384, "500", "largest chunk, in tokens"),
    INT(chunk_overlap_tokens, 0, 4096, "50", "overlap between consecutive chunks"),
    INT(max_file_mb, 1, 4096, "64", "largest file ingest reads, in MiB"),
    INT(pdf_timeout_s, 1, 3600, "30", "time limit for extracting one PDF"),
    INT(pdf_memory_mb, 64, 65536, "1024", "memory limit for the PDF extractor"),
    STR(listen, 0, "127.0.0.1:7700", "address lore serve listens on (host:port, port 0 = any)"),
    INT(http_threads, 0, 256, "0", "HTTP worker threads (0 = one per core)"),
    INT(max_connections, 1, 100000, "1024", "open connections the server accepts"),
    INT(max_connections_per_ip, 0, 100000, "128",
        "open connections from one client address (0 = no cap beyond max_connections)"),
    INT(max_header_kb, 1, 1024, "16", "largest request line plus headers, in KiB"),
    INT(max_body_kb, 1, 65536, "1024", "largest JSON request body, in KiB"),
    INT(max_upload_mb, 1, 4096, "50", "largest multipart upload, in MiB"),
    INT(max_json_depth, 2, 1000, "32", "deepest nesting of a JSON request body"),
    INT(max_batch, 1, 10000, "100", "documents in one POST /v1/documents"),
    INT(header_timeout_s, 1, 3600, "10", "time a client has to send its request headers"),
    INT(idle_timeout_s, 1, 3600, "30", "an idle connection is closed after this many seconds"),
    INT(min_body_rate_kb, 0, 1048576, "1", "slowest body upload allowed, KiB/s over 10 s windows"),
    INT(drain_timeout_s, 0, 3600, "30", "on SIGTERM, time in-flight requests get to finish"),
    STR(cors_origins, 0, "", "origins allowed by CORS, comma-separated (empty = none)"),
    INT(access_log, 0, 1, "1", "1 = log one JSON line per request to stderr"),
    INT(metrics_public, 0, 1, "1", "1 = /metrics needs no key; 0 = a server key"),
    INT(rate_read_per_min, 0, 100000000, "6000", "requests per minute per read key (0 = no limit)"),
    INT(rate_write_per_min, 0, 100000000, "1200",
        "requests per minute per write key (0 = no limit)"),
    INT(rate_admin_per_min, 0, 100000000, "600",
        "requests per minute per admin key (0 = no limit)"),
    INT(rate_anon_per_min, 0, 100000000, "120",
        "unauthenticated requests per minute per client address (0 = no limit)"),
    STR(redis_url, 1, "",
        "Redis for rate limits shared by every lore serve: redis://[[user]:password@]host:port/db "
        "or rediss:// (TLS); empty = each process limits alone, in memory"),
    STR(redis_tls_ca_file, 0, "",
        "PEM file of the CA(s) that signed the Redis server's certificate (rediss://; empty = "
        "the system's CAs)"),
    INT(redis_timeout_ms, 10, 60000, "500",
        "time limit of one Redis call, connecting included; past it the request is decided on "
        "memory limits and Redis is retried every 2 s"),
    INT(session_ttl_minutes, 1, 525600, "720",
        "a browser session (POST /v1/session) ends this many minutes after sign-in"),
    INT(session_signins_per_min, 0, 100000, "1",
        "sign-ins (POST /v1/session) per minute per key, after a burst of ten times as many; "
        "a key's live sessions are so bounded by about this times (10 + session_ttl_minutes) "
        "(0 = no limit)"),
    INT(hook_max_body_kb, 1, 1048576, "25600",
        "largest webhook delivery (POST /v1/hooks/{id}), in KiB (GitHub sends up to 25 MB)"),
    INT(hook_inflight_mb, 0, 1048576, "512",
        "webhook bodies held in memory at once across all deliveries, in MiB (0 = no cap); past "
        "it a delivery is answered 503 with Retry-After before its body is read"),
    INT(hook_rate_per_min, 0, 100000000, "6000",
        "webhook deliveries per minute per connector (0 = no limit)"),
    STR(public_url, 0, "",
        "the server's public base URL, e.g. https://lore.example.com: lore connector add prints "
        "the full webhook URL"),
    INT(workers, -1, 256, "0",
        "job worker threads in serve and worker (0 = one per core, -1 = none in serve)"),
    INT(job_lease_s, 1, 3600, "30",
        "a job's lease; renewed while it runs, lost if its worker dies"),
    INT(job_max_attempts, 1, 100, "5", "attempts before a failing job is dead-lettered"),
    INT(job_backoff_ms, 1, 3600000, "1000", "wait before a failed job's second attempt (doubles)"),
    INT(job_backoff_max_s, 1, 86400, "300", "longest wait between two attempts of a job"),
    INT(job_retention_days, 0, 3650, "14", "days done and dead jobs (and dedup keys) are kept"),
    INT(job_poll_ms, 1, 86400000, "100",
        "idle workers look for jobs of other processes this often when the store cannot wake "
        "them (SQLite; PostgreSQL with listen=off or while its LISTEN connection is down)"),
    INT(job_wake_poll_s, 1, 86400, "5",
        "idle workers look for jobs this often when the store wakes them (PostgreSQL LISTEN): "
        "for what no notification announces, as an expired lease of a dead node"),
    INT(queue_max_per_tenant, 0, 1000000000, "10000",
        "pending jobs per tenant before writes get 429 (0 = no cap)"),
    INT(queue_max_total, 0, 1000000000, "100000",
        "pending jobs of all tenants before writes get 503 (0 = no cap)"),
    INT(max_wait_s, 0, 300, "30", "longest ?wait= a write may ask for, in seconds"),
    STR(mcp_url, 0, "",
        "public URL of the MCP endpoint, e.g. https://lore.example.com/mcp (needed for OAuth)"),
    STR(mcp_allowed_hosts, 0, "",
        "Host names /mcp accepts besides loopback ones on a loopback listener, comma-separated"),
    STR(mcp_allowed_origins, 0, "",
        "browser Origins /mcp accepts besides loopback ones and cors_origins, comma-separated"),
    INT(mcp_max_body_kb, 1, 65536, "1024", "largest MCP message, in KiB (HTTP body, stdio line)"),
    STR(mcp_key, 1, "", "lore mcp (stdio): the API key whose tenant and principals apply"),
    STR(mcp_principals, 0, "",
        "lore mcp (stdio) without mcp_key: principals to search as, comma-separated "
        "(empty = the whole tenant)"),
    STR(jwt_issuer, 0, "", "OAuth: issuer (iss) of accepted JWT access tokens; empty = keys only"),
    STR(jwt_jwks_url, 0, "", "OAuth: URL of the issuer's JWKS (signing keys)"),
    STR(jwt_tenant, 0, "", "OAuth: tenant that token holders search (empty = setting tenant)"),
    STR(jwt_groups_claim, 0, "groups", "OAuth: claim whose values become group:<value> principals"),
    STR(jwt_scope, 0, "lore:read",
        "OAuth: scope a token must carry for /mcp (empty = the scope read or lore:read)"),
    STR(embed_url, 0, "",
        "embeddings: base URL of an OpenAI-compatible provider, e.g. https://api.openai.com/v1 "
        "(requests go to URL/embeddings; empty = no embedder, lexical search only)"),
    STR(embed_model, 0, "", "embeddings: the provider's model name, e.g. text-embedding-3-small"),
    INT(embed_dimensions, 0, 65536, "0",
        "embeddings: vector length to ask for (0 = the model's own; sent as \"dimensions\")"),
    STR(embed_api_key, 1, "",
        "embeddings: API key, sent as Authorization: Bearer (empty = none, e.g. Ollama)"),
    INT(embed_batch, 1, 2048, "64", "embeddings: texts per request to the provider"),
    INT(embed_concurrency, 1, 64, "2", "embeddings: requests in flight at once"),
    INT(embed_timeout_s, 1, 3600, "60", "embeddings: time limit of one request to the provider"),
    INT(embed_max_input_tokens, 16, 1000000, "8000",
        "embeddings: longest input in estimated tokens; longer texts are cut at a sentence or "
        "word boundary"),
    INT(embed_reembed_step, 1, 100000, "256",
        "embeddings: chunks embedded per step (one transaction) of lore reembed's model switch"),
    INT(embed_backlog_degraded_s, 1, 31536000, "300",
        "embeddings: /health/ready reports degraded when a chunk has waited this many seconds "
        "for its embedding"),
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= sizeof((lore_config *)0)->origin / sizeof(config_origin),
               "lore_config.origin too small for the key table");

static const char *const origin_names[] = {"default", "file", "env", "flag"};

static const key_def *find_key(const char *name, size_t *idx) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name)) {
            if (idx) *idx = i;
            return &keys[i];
        }
    return NULL;
}

static lore_status set_value(lore_config *c, size_t idx, const char *value, config_origin origin,
                             const char *where, char *err, size_t errlen) {
    const key_def *k = &keys[idx];
    char *field = (char *)c + k->offset;
    if (k->type == K_STR) {
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s: %s is longer than %zu bytes", where, k->name, k->size - 1);
            return LORE_INVALID;
        }
        if (!strcmp(k->name, "log_level")) {
            lore_log_level lvl;
            if (lore_log_parse_level(value, &lvl)) {
                snprintf(err, errlen,
                         "%s: log_level '%s' is not one of debug, info, warn, error, off", where,
                         value);
                return LORE_INVALID;
            }
        }
        if (!strcmp(k->name, "public_url") && *value &&
            ((strncmp(value, "https://", 8) && strncmp(value, "http://", 7)) ||
             value[strlen(value) - 1] == '/' || strpbrk(value, " ?#\t\r\n"))) {
            snprintf(err, errlen,
                     "%s: public_url '%s' must be an http:// or https:// URL without a trailing "
                     "slash, query or fragment (https://lore.example.com)",
                     where, value);
            return LORE_INVALID;
        }
        if (!strcmp(k->name, "mode") && strcmp(value, "dev") && strcmp(value, "production")) {
            snprintf(err, errlen, "%s: mode '%s' is not dev or production", where, value);
            return LORE_INVALID;
        }
        /* The default is empty: config_resolve_data_dir picks the per-user
         * directory. Set explicitly, it must name something. */
        if (!strcmp(k->name, "data_dir") && !*value && origin != CONFIG_DEFAULT) {
            snprintf(err, errlen, "%s: data_dir is empty", where);
            return LORE_INVALID;
        }
        memcpy(field, value, strlen(value) + 1);
    } else {
        char *end;
        errno = 0;
        double v = k->type == K_INT ? (double)strtoll(value, &end, 10) : strtod(value, &end);
        if (!*value || *end || errno) {
            snprintf(err, errlen, "%s: %s = '%s' is not %s", where, k->name, value,
                     k->type == K_INT ? "an integer" : "a number");
            return LORE_INVALID;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: %s = %s is outside %g..%g", where, k->name, value, k->min,
                     k->max);
            return LORE_INVALID;
        }
        if (k->type == K_INT)
            *(int64_t *)(void *)field = (int64_t)v;
        else
            *(double *)(void *)field = v;
    }
    c->origin[idx] = origin;
    return LORE_OK;
}

config_origin config_origin_of(const lore_config *c, const char *key) {
    size_t idx;
    return find_key(key, &idx) ? c->origin[idx] : CONFIG_DEFAULT;
}

lore_status config_set(lore_config *c, const char *key, const char *value, config_origin origin,
                       char *err, size_t errlen) {
    size_t idx;
    if (!find_key(key, &idx)) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return LORE_INVALID;
    }
    char where[96];
    snprintf(where, sizeof where, "--%s", key);
    return set_value(c, idx, value, origin, where, err, errlen);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    *e = '\0';
    return s;
}

static lore_status load_file(lore_config *c, const char *path, int required, char *err,
                             size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!required && errno == ENOENT) return LORE_OK;
        snprintf(err, errlen, "%s: cannot read config file: %s", path, strerror(errno));
        return LORE_IO;
    }
    snprintf(c->file, sizeof c->file, "%s", path);
    char line[2048];
    int lineno = 0;
    lore_status st = LORE_OK;
    while (st == LORE_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char where[1100];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s: line longer than %zu bytes", where, sizeof line - 2);
            st = LORE_INVALID;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'key = value'", where);
            st = LORE_INVALID;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 &&
            ((val[0] == '"' && val[vl - 1] == '"') || (val[0] == '\'' && val[vl - 1] == '\''))) {
            val[vl - 1] = '\0';
            val++;
        }
        size_t idx;
        if (!find_key(key, &idx)) {
            snprintf(err, errlen, "%s: unknown setting '%s'", where, key);
            st = LORE_INVALID;
            break;
        }
        st = set_value(c, idx, val, CONFIG_FILE, where, err, errlen);
    }
    fclose(f);
    return st;
}

extern char **environ;

lore_status config_load(lore_config *c, const char *path, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    lore_status st;
    for (size_t i = 0; i < NKEYS; i++)
        if ((st = set_value(c, i, keys[i].deflt, CONFIG_DEFAULT, "default", err, errlen)) !=
            LORE_OK)
            return st;
    const char *file = path ? path : getenv("LORE_CONFIG");
    if (file && *file && (st = load_file(c, file, 1, err, errlen)) != LORE_OK) return st;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "LORE_", 5)) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char name[128];
        size_t n = (size_t)(eq - *e) - 5;
        if (n >= sizeof name) n = sizeof name - 1;
        for (size_t i = 0; i < n; i++) {
            char ch = (*e)[5 + i];
            name[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        name[n] = '\0';
        if (!strcmp(name, "config")) continue;
        /* LORE_TEST_* belong to the test suite (seeds, paths), not to lore. */
        if (!strncmp(name, "test_", 5)) continue;
        size_t idx;
        char where[160];
        snprintf(where, sizeof where, "environment LORE_%.*s", (int)(eq - *e) - 5, *e + 5);
        if (!find_key(name, &idx)) {
            snprintf(err, errlen, "%s: unknown setting (see `lore config --help`)", where);
            return LORE_INVALID;
        }
        if ((st = set_value(c, idx, eq + 1, CONFIG_ENV, where, err, errlen)) != LORE_OK) return st;
    }
    return LORE_OK;
}

lore_status config_validate(const lore_config *c, char *err, size_t errlen) {
    if (c->chunk_target_tokens > c->chunk_max_tokens) {
        snprintf(err, errlen, "chunk_target_tokens (%lld) is larger than chunk_max_tokens (%lld)",
                 (long long)c->chunk_target_tokens, (long long)c->chunk_max_tokens);
        return LORE_INVALID;
    }
    if (c->chunk_overlap_tokens * 2 > c->chunk_target_tokens) {
        snprintf(err, errlen,
                 "chunk_overlap_tokens (%lld) is more than half of chunk_target_tokens",
                 (long long)c->chunk_overlap_tokens);
        return LORE_INVALID;
    }
    if (c->redis_url[0] && strncmp(c->redis_url, "secret:", 7)) {
        redis_target t;
        char why[256];
        if (redis_url_parse(c->redis_url, &t, why, sizeof why) != LORE_OK) {
            snprintf(err, errlen, "%s", why); /* never the URL: it may hold a password */
            return LORE_INVALID;
        }
    }
    if (!strcmp(c->mode, "production") && strlen(c->master_key) < 32) {
        snprintf(err, errlen,
                 "production mode needs master_key (LORE_MASTER_KEY) of at least 32 characters");
        return LORE_INVALID;
    }
    if (!strncmp(c->master_key, "secret:", 7) || !strncmp(c->master_key_previous, "secret:", 7)) {
        snprintf(err, errlen,
                 "master_key and master_key_previous cannot be secret:NAME (they open the secret "
                 "store): give the key itself");
        return LORE_INVALID;
    }
    if (c->master_key_previous[0] && !c->master_key[0]) {
        snprintf(err, errlen,
                 "master_key_previous is set without master_key: set master_key to the new key "
                 "(see docs/secrets.md, \"Rotation\")");
        return LORE_INVALID;
    }
    if (c->master_key_previous[0] && strlen(c->master_key_previous) < 32) {
        snprintf(err, errlen, "master_key_previous must be at least 32 characters");
        return LORE_INVALID;
    }
    if (c->master_key_previous[0] && !strcmp(c->master_key_previous, c->master_key)) {
        snprintf(err, errlen,
                 "master_key_previous equals master_key: set master_key to the new key and "
                 "master_key_previous to the old one");
        return LORE_INVALID;
    }
    if (c->jwt_issuer[0] && !c->jwt_jwks_url[0]) {
        snprintf(err, errlen,
                 "jwt_issuer needs jwt_jwks_url: the URL of the issuer's signing keys (JWKS)");
        return LORE_INVALID;
    }
    if (c->jwt_issuer[0] && !c->mcp_url[0]) {
        snprintf(err, errlen,
                 "jwt_issuer needs mcp_url: the public URL of /mcp, which tokens "
                 "must name as their audience");
        return LORE_INVALID;
    }
    if (c->embed_url[0] && strncasecmp(c->embed_url, "https://", 8) &&
        strncasecmp(c->embed_url, "http://", 7)) {
        snprintf(err, errlen, "embed_url '%s' must start with https:// or http://", c->embed_url);
        return LORE_INVALID;
    }
    if (c->embed_url[0] && !c->embed_model[0]) {
        snprintf(err, errlen,
                 "embed_url needs embed_model: the provider's model name (e.g. "
                 "text-embedding-3-small, nomic-embed-text)");
        return LORE_INVALID;
    }
    if (!strcmp(c->mode, "production") && strstr(c->cors_origins, "*")) {
        snprintf(err, errlen, "production mode refuses cors_origins '*': list the origins");
        return LORE_INVALID;
    }
    return LORE_OK;
}

lore_status config_each_secret(lore_config *c, config_secret_fn fn, void *ctx) {
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type != K_STR || !keys[i].secret) continue;
        lore_status st = fn(ctx, keys[i].name, (char *)c + keys[i].offset, keys[i].size);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}

/* url with the password masked: the one after "user:" before '@', and a
 * password= parameter's value. */
static void mask_url_password(const char *url, char *out, size_t outlen) {
    snprintf(out, outlen, "%s", url);
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *auth = scheme + 3, *at = strchr(auth, '@'), *end = auth + strcspn(auth, "/?#");
        char *colon = at && at < end ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            char rest[1100];
            snprintf(rest, sizeof rest, "%s", at);
            snprintf(colon + 1, outlen - (size_t)(colon + 1 - out), "****%s", rest);
        }
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        pw += 9;
        char rest[1100];
        snprintf(rest, sizeof rest, "%s", pw + strcspn(pw, "& "));
        snprintf(pw, outlen - (size_t)(pw - out), "****%s", rest);
    }
}

void config_each(const lore_config *c, config_fn fn, void *ctx) {
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        const char *field = (const char *)c + k->offset;
        char val[1100];
        if (k->type == K_STR && k->secret)
            snprintf(val, sizeof val, "%s", *field ? "********" : "(not set)");
        else if (k->type == K_STR && !strcmp(k->name, "store_url"))
            mask_url_password(field, val, sizeof val);
        else if (k->type == K_STR)
            snprintf(val, sizeof val, "%s", field);
        else if (k->type == K_INT)
            snprintf(val, sizeof val, "%lld", (long long)*(const int64_t *)(const void *)field);
        else
            snprintf(val, sizeof val, "%g", *(const double *)(const void *)field);
        fn(ctx, k->name, val, origin_names[c->origin[i]], k->help);
    }
}
