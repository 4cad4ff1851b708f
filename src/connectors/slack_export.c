/* The Slack export import (slack_export.h): the archive's central
 * directory is read once; users.json, channels.json and groups.json go in
 * first (names and ACLs), dms.json and mpims.json only name the folders to
 * skip; then the day files, sorted by path (channel folder, then date), are
 * read one at a time and their messages applied through slack_put_message
 * exactly as live `message` events would be. */
#include "connectors/slack_export.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/slack.h"
#include "util/jsonscan.h"
#include "util/strmap.h"

#define JSON_MAX_DEPTH 64 /* Slack's messages nest blocks a few levels deep */
#define CHANNEL_ID_MAX 64

/* What a channel folder is: a channel to import, or a conversation to
 * skip (a direct message). */
typedef struct folder {
    char id[CHANNEL_ID_MAX + 1];
    int skip;
} folder;

typedef struct run {
    ingest_session *ss;
    connector_sink *sink;
    const slack_export_options *opt;
    slack_export_stats *stats;
    zipread *z;
    char prefix[256]; /* the top folder around the export, "" or "name/" */
    strmap names;     /* folder name -> index in folders */
    folder *folders;
    size_t nfolders, cap_folders;
    size_t since_commit; /* messages applied since the last commit */
    char err[512];
} run;

__attribute__((format(printf, 3, 4))) static void problem(run *r, const char *file, const char *fmt,
                                                          ...) {
    if (!r->opt->on_problem) return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->opt->on_problem(r->opt->cb_ctx, file, msg);
}

void slack_export_options_default(slack_export_options *o) {
    memset(o, 0, sizeof *o);
    o->max_file_bytes = SLACK_EXPORT_MAX_FILE_DEFAULT;
    o->commit_messages = SLACK_EXPORT_COMMIT_DEFAULT;
    zipread_limits_default(&o->zip);
}

/* The entry named prefix + name, or SIZE_MAX. */
static size_t find_entry(const run *r, const char *name) {
    size_t plen = strlen(r->prefix);
    for (size_t i = 0; i < zipread_count(r->z); i++) {
        const zipread_entry *e = zipread_entry_at(r->z, i);
        if (e->name_len > plen && !strncmp(e->name, r->prefix, plen) &&
            !strcmp(e->name + plen, name))
            return i;
    }
    return SIZE_MAX;
}

/* Finds channels.json at the root or inside one top folder. */
static int find_prefix(run *r) {
    r->prefix[0] = 0;
    if (find_entry(r, "channels.json") != SIZE_MAX) return 0;
    for (size_t i = 0; i < zipread_count(r->z); i++) {
        const zipread_entry *e = zipread_entry_at(r->z, i);
        const char *slash = strchr(e->name, '/');
        if (!slash || strcmp(slash + 1, "channels.json") ||
            (size_t)(slash - e->name) + 2 > sizeof r->prefix)
            continue;
        memcpy(r->prefix, e->name, (size_t)(slash - e->name) + 1);
        r->prefix[slash - e->name + 1] = 0;
        return 0;
    }
    return -1;
}

/* Reads and parses one JSON file of the archive; NULL after reporting why
 * (or when absent and optional). *fatal is set on a store-independent
 * failure that is not the file's (out of memory). */
static json_t *load_json(run *r, size_t i, lore_status *fatal) {
    const zipread_entry *e = zipread_entry_at(r->z, i);
    char *data;
    size_t len;
    lore_status st =
        zipread_read_all(r->z, i, r->opt->max_file_bytes, &data, &len, r->err, sizeof r->err);
    if (st == LORE_NOMEM) {
        *fatal = st;
        return NULL;
    }
    if (st != LORE_OK) {
        /* zipread's messages start with the entry's name. */
        size_t n = strlen(e->name);
        const char *why =
            !strncmp(r->err, e->name, n) && r->err[n] == ':' ? r->err + n + 2 : r->err;
        problem(r, e->name, "%s", why);
        return NULL;
    }
    r->stats->bytes += len;
    json_t *j = NULL;
    if (lore_json_depth_exceeds(data, len, JSON_MAX_DEPTH)) {
        problem(r, e->name, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
    } else {
        json_error_t jerr;
        j = json_loadb(data, len, 0, &jerr);
        if (!j) problem(r, e->name, "bad JSON at line %d: %s", jerr.line, jerr.text);
    }
    free(data);
    if (j && !json_is_array(j)) {
        problem(r, e->name, "not a JSON array");
        json_decref(j);
        j = NULL;
    }
    return j;
}

static lore_status add_folder(run *r, const char *name, const char *id, int skip) {
    size_t n = strlen(name);
    if (!n || n > 255 || strchr(name, '/')) return LORE_OK;
    uint32_t at;
    int added;
    lore_status st = strmap_intern(&r->names, name, n, &at, &added);
    if (st != LORE_OK || !added) return st;
    if (r->nfolders == r->cap_folders) {
        size_t nc = r->cap_folders ? r->cap_folders * 2 : 64;
        folder *nf = realloc(r->folders, nc * sizeof *nf);
        if (!nf) return LORE_NOMEM;
        r->folders = nf;
        r->cap_folders = nc;
    }
    folder *f = &r->folders[r->nfolders++];
    snprintf(f->id, sizeof f->id, "%s", id);
    f->skip = skip;
    return LORE_OK;
}

/* channels.json (is_private 0) or groups.json (1). */
static lore_status read_channels(run *r, const char *file, int is_private) {
    size_t i = find_entry(r, file);
    if (i == SIZE_MAX) return LORE_OK;
    lore_status st = LORE_OK;
    json_t *a = load_json(r, i, &st);
    if (!a) {
        if (st == LORE_OK) r->stats->files_failed++;
        return st;
    }
    const char *path = zipread_entry_at(r->z, i)->name;
    size_t k;
    json_t *c;
    json_array_foreach(a, k, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!id || !name || !id[0] || strlen(id) > CHANNEL_ID_MAX) {
            problem(r, path, "entry %zu has no usable \"id\" and \"name\"; skipped", k);
            continue;
        }
        st = slack_put_channel(r->sink, c, is_private);
        if (st == LORE_INVALID) {
            problem(r, path, "entry %zu (%s): refused by the Slack connector", k, name);
            st = LORE_OK;
            continue;
        }
        if (st != LORE_OK) break;
        if (is_private)
            r->stats->private_channels++;
        else
            r->stats->channels++;
        st = add_folder(r, name, id, 0);
        if (st != LORE_OK) break;
    }
    json_decref(a);
    return st;
}

/* dms.json (folders named by id) and mpims.json (by name): skipped. */
static lore_status read_skipped(run *r, const char *file, const char *field) {
    size_t i = find_entry(r, file);
    if (i == SIZE_MAX) return LORE_OK;
    lore_status st = LORE_OK;
    json_t *a = load_json(r, i, &st);
    if (!a) return st;
    size_t k;
    json_t *c;
    json_array_foreach(a, k, c) {
        const char *name = json_string_value(json_object_get(c, field));
        if (name && (st = add_folder(r, name, "", 1)) != LORE_OK) break;
    }
    json_decref(a);
    return st;
}

static lore_status read_users(run *r) {
    size_t i = find_entry(r, "users.json");
    if (i == SIZE_MAX) {
        problem(r, "users.json", "absent: messages show user ids instead of names");
        return LORE_OK;
    }
    lore_status st = LORE_OK;
    json_t *a = load_json(r, i, &st);
    if (!a) {
        if (st == LORE_OK) r->stats->files_failed++;
        return st;
    }
    st = slack_put_users(r->sink, a);
    if (st == LORE_INVALID) {
        problem(r, zipread_entry_at(r->z, i)->name, "refused by the Slack connector");
        r->stats->files_failed++;
        st = LORE_OK;
    } else if (st == LORE_OK) {
        r->stats->users += json_array_size(a);
    }
    json_decref(a);
    return st;
}

/* 1 when s is "YYYY-MM-DD.json". */
static int is_day_name(const char *s) {
    static const char pat[] = "dddd-dd-dd.json";
    if (strlen(s) != sizeof pat - 1) return 0;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return 0;
    return 1;
}

static int by_name(const void *a, const void *b, void *ctx) {
    const zipread *z = ctx;
    return strcmp(zipread_entry_at(z, *(const size_t *)a)->name,
                  zipread_entry_at(z, *(const size_t *)b)->name);
}

static lore_status maybe_commit(run *r, int force) {
    if (!force && r->since_commit < r->opt->commit_messages) return LORE_OK;
    r->since_commit = 0;
    return ingest_commit(r->ss);
}

/* One day file of a channel: every message applied, then the touched
 * threads rendered. */
static lore_status read_day(run *r, size_t i, const folder *f) {
    const char *path = zipread_entry_at(r->z, i)->name;
    lore_status st = LORE_OK;
    json_t *a = load_json(r, i, &st);
    if (!a) {
        if (st == LORE_OK) r->stats->files_failed++;
        return st;
    }
    size_t k;
    json_t *m;
    json_array_foreach(a, k, m) {
        char *why = NULL;
        if (!json_is_object(m)) {
            problem(r, path, "message %zu is not a JSON object; skipped", k);
            r->stats->messages_failed++;
            continue;
        }
        st = slack_put_message(r->sink, f->id, m, &why);
        if (st == LORE_INVALID) {
            const char *ts = json_string_value(json_object_get(m, "ts"));
            problem(r, path, "message %zu (ts %s): %s; skipped", k, ts ? ts : "none",
                    why ? why : "refused by the Slack connector");
            r->stats->messages_failed++;
            st = LORE_OK;
        } else if (st == LORE_OK) {
            r->stats->messages++;
            r->since_commit++;
        }
        free(why);
        if (st != LORE_OK) break;
    }
    json_decref(a);
    if (st == LORE_OK) st = connector_sink_flush(r->sink, &connector_slack);
    if (st == LORE_OK) r->stats->files++;
    return st;
}

/* The day files, sorted by path; other entries are counted as skipped
 * (and reported when they are not direct messages or the known files). */
static lore_status read_days(run *r) {
    size_t n = zipread_count(r->z), nd = 0, plen = strlen(r->prefix);
    size_t *days = malloc((n ? n : 1) * sizeof *days);
    if (!days) return LORE_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const zipread_entry *e = zipread_entry_at(r->z, i);
        if (e->is_dir) continue;
        const char *rel = e->name + plen;
        if (e->name_len <= plen || strncmp(e->name, r->prefix, plen)) {
            r->stats->files_skipped++;
            continue;
        }
        const char *slash = strchr(rel, '/');
        if (!slash) continue; /* a top-level file: read above, or not ours */
        uint32_t fi = strmap_find(&r->names, rel, (size_t)(slash - rel));
        if (fi != UINT32_MAX && r->folders[fi].skip) {
            r->stats->files_skipped++;
            continue;
        }
        if (fi == UINT32_MAX || !is_day_name(slash + 1)) {
            r->stats->files_skipped++;
            problem(r, e->name,
                    fi == UINT32_MAX ? "its folder is no channel of channels.json or "
                                       "groups.json; skipped"
                                     : "not a day file (YYYY-MM-DD.json); skipped");
            continue;
        }
        days[nd++] = i;
    }
    qsort_r(days, nd, sizeof *days, by_name, r->z);
    r->stats->files_total = nd;
    if (r->opt->on_progress) r->opt->on_progress(r->opt->cb_ctx, r->stats);
    lore_status st = LORE_OK;
    for (size_t k = 0; k < nd && st == LORE_OK; k++) {
        const zipread_entry *e = zipread_entry_at(r->z, days[k]);
        const char *rel = e->name + plen;
        uint32_t fi = strmap_find(&r->names, rel, (size_t)(strchr(rel, '/') - rel));
        st = read_day(r, days[k], &r->folders[fi]);
        if (st == LORE_OK) st = maybe_commit(r, 0);
        if (st == LORE_OK && r->opt->on_progress) r->opt->on_progress(r->opt->cb_ctx, r->stats);
    }
    free(days);
    return st;
}

lore_status slack_export_import(ingest_session *ss, const connector_instance *inst,
                                const char *path, const slack_export_options *opt,
                                slack_export_stats *stats, char *err, size_t errlen) {
    memset(stats, 0, sizeof *stats);
    if (err && errlen) err[0] = 0;
    slack_export_options defaults;
    if (!opt) {
        slack_export_options_default(&defaults);
        opt = &defaults;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.ss = ss;
    r.opt = opt;
    r.stats = stats;
    strmap_init(&r.names);
    lore_status st = zipread_open(path, &opt->zip, &r.z, r.err, sizeof r.err);
    if (st != LORE_OK) {
        snprintf(err, errlen, "%s", r.err);
        strmap_free(&r.names);
        return st;
    }
    stats->bytes_total = zipread_total(r.z);
    if (find_prefix(&r)) {
        snprintf(err, errlen,
                 "no channels.json in the archive: not a Slack workspace export (export one "
                 "from Slack's workspace settings, Import/Export Data)");
        st = LORE_INVALID;
    }
    if (st == LORE_OK) st = connector_sink_new(ss, inst, &r.sink);
    if (st == LORE_OK) st = read_users(&r);
    if (st == LORE_OK) st = read_channels(&r, "channels.json", 0);
    if (st == LORE_OK) st = read_channels(&r, "groups.json", 1);
    if (st == LORE_OK) st = read_skipped(&r, "dms.json", "id");
    if (st == LORE_OK) st = read_skipped(&r, "mpims.json", "name");
    if (st == LORE_OK) st = connector_sink_flush(r.sink, &connector_slack);
    if (st == LORE_OK) st = maybe_commit(&r, 1);
    if (st == LORE_OK) st = read_days(&r);
    if (st == LORE_OK) st = connector_sink_flush(r.sink, &connector_slack);
    if (st == LORE_OK) st = maybe_commit(&r, 1);
    if (st != LORE_OK && err && !err[0])
        snprintf(err, errlen, "the import stopped: %s", lore_status_message(st));
    connector_sink_free(r.sink);
    zipread_close(r.z);
    strmap_free(&r.names);
    free(r.folders);
    return st;
}
