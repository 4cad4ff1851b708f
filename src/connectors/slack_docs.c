/* The Slack connector's object states and what deliveries (and the export
 * import, slack.h) do to them; slack_render.c turns them into documents.
 *
 * State layout (keys under the instance's source, values compact JSON; C a
 * channel id, U a user id, T a thread's ts, D the UTC date "YYYY-MM-DD" of
 * a message's own ts):
 *
 *   c/{C}           the channel: {"n": name, "nr": rank of the name, "p":
 *                   true when private, "x": true once deleted}. Absent: a
 *                   public channel known only by its id.
 *   u/{U}           a user: {"n": display name, "r": Slack's "updated"}.
 *   m/{C}/{D}/{ts}  every message's slot, found from (C, ts) alone:
 *                   - a top-level message: {"u": user id | "b": bot name,
 *                     "t": text, "f": [file names], "r": rank, "h": true
 *                     while it has replies (it then lives in its thread's
 *                     document, not the day's)};
 *                   - a reply's pointer: {"p": T};
 *                   - a tombstone: {"x": true} (deleted; a late retry of
 *                     the message or of an edit finds it and does nothing).
 *   r/{C}/{T}/{ts}  a reply's content, as a top-level message's.
 *
 * One key per message keeps state compact and every change O(1) keys: a day
 * or thread of thousands of messages is never rewritten whole; render
 * reads it with one prefix scan, in ts order (ts strings sort by time).
 *
 * Ranks decide out-of-order deliveries: a version's rank is its edited.ts,
 * else the message_changed event's ts, else the message's own ts; a version
 * replaces the stored one only when its rank is greater, so a retried
 * original after an edit, an older edit after a newer one and any
 * redelivery change nothing. Deletion wins over every version.
 *
 * Touched objects (rendered by slack_render.c): d/{C}/{D}, the channel's
 * document for day D, and t/{C}/{T}, the thread T's document. */
#include "connectors/slack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/slack_internal.h"

#define TEXT_MAX (256u << 10) /* bytes of one message's text kept */
#define NAME_MAX_BYTES 256    /* user, bot, channel and file names */
#define FILES_MAX 20          /* file names kept per message */
#define DELETE_BATCH 4096     /* keys removed per scan when a channel goes */
#define KEY_MAX 160           /* our keys: ids are <= 40 bytes, ts 17 */

static lore_status invalid(char **error, const char *why) {
    if (error) *error = strdup(why);
    return LORE_INVALID;
}

/* connector_state_get with absence as *out NULL. */
static lore_status state_opt(connector_sink *s, const char *key, json_t **out) {
    lore_status st = connector_state_get(s, key, out);
    if (st == LORE_NOT_FOUND) {
        *out = NULL;
        return LORE_OK;
    }
    return st;
}

static void key_channel(char *k, const char *c) {
    snprintf(k, KEY_MAX, "c/%s", c);
}

static void key_slot(char *k, const char *c, const char *ts) {
    char d[SLACK_DATE_LEN + 1];
    slack_ts_date(ts, d);
    snprintf(k, KEY_MAX, "m/%s/%s/%s", c, d, ts);
}

static void key_reply(char *k, const char *c, const char *thread, const char *ts) {
    snprintf(k, KEY_MAX, "r/%s/%s/%s", c, thread, ts);
}

static lore_status touch_day(connector_sink *s, const char *c, const char *ts) {
    char d[SLACK_DATE_LEN + 1], k[KEY_MAX];
    slack_ts_date(ts, d);
    snprintf(k, sizeof k, "d/%s/%s", c, d);
    return connector_touch(s, k);
}

static lore_status touch_thread(connector_sink *s, const char *c, const char *thread) {
    char k[KEY_MAX];
    snprintf(k, sizeof k, "t/%s/%s", c, thread);
    return connector_touch(s, k);
}

static int flag(const json_t *rec, const char *name) {
    return json_is_true(json_object_get(rec, name));
}

static const char *rank_of(const json_t *rec) {
    const char *r = slack_str(rec, "r");
    return r ? r : "";
}

/* A top-level message's record (not a pointer, not a tombstone). */
static int is_top(const json_t *rec) {
    return rec && !json_object_get(rec, "p") && !flag(rec, "x");
}

/* A string cut to at most max bytes at a UTF-8 character boundary. */
static json_t *capped_string(const char *v, size_t max) {
    size_t n = strlen(v);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)v[n] & 0xc0) == 0x80)
            n--;
    }
    return json_stringn(v, n);
}

static lore_status set_str(json_t *obj, const char *key, const char *v, size_t max) {
    json_t *j = capped_string(v, max);
    return j && !json_object_set_new(obj, key, j) ? LORE_OK : LORE_NOMEM;
}

/* The name a bot message shows. */
static const char *bot_name(const json_t *msg) {
    const char *n = slack_str(msg, "username");
    if (!n || !*n) n = slack_str(json_object_get(msg, "bot_profile"), "name");
    if (!n || !*n) n = slack_str(msg, "bot_id");
    return n && *n ? n : NULL;
}

/* The record of a message's content at a rank. */
static lore_status make_record(const json_t *msg, const char *rank, json_t **out) {
    *out = NULL;
    json_t *r = json_object();
    if (!r) return LORE_NOMEM;
    lore_status st = LORE_OK;
    const char *user = slack_str(msg, "user"), *bot = bot_name(msg);
    if (slack_id_valid(user))
        st = set_str(r, "u", user, SLACK_ID_MAX);
    else if (bot)
        st = set_str(r, "b", bot, NAME_MAX_BYTES);
    const char *text = slack_str(msg, "text");
    if (st == LORE_OK) st = set_str(r, "t", text ? text : "", TEXT_MAX);
    const json_t *files = json_object_get(msg, "files");
    if (st == LORE_OK && json_is_array(files) && json_array_size(files)) {
        json_t *f = json_array();
        for (size_t i = 0; f && i < json_array_size(files) && i < FILES_MAX; i++) {
            const json_t *e = json_array_get(files, i);
            const char *n = slack_str(e, "title");
            if (!n || !*n) n = slack_str(e, "name");
            if (n && *n) json_array_append_new(f, capped_string(n, NAME_MAX_BYTES));
        }
        if (!f || json_object_set_new(r, "f", f)) st = LORE_NOMEM;
    }
    if (st == LORE_OK) st = set_str(r, "r", rank, SLACK_TS_LEN);
    if (st != LORE_OK) {
        json_decref(r);
        return st;
    }
    *out = r;
    return LORE_OK;
}

static int stop_at_first(void *ctx, const char *key, const json_t *state) {
    (void)key, (void)state;
    *(int *)ctx = 1;
    return 1;
}

/* Whether thread T of channel c has a reply (r/ holds live replies only). */
static lore_status has_reply(connector_sink *s, const char *c, const char *thread, int *out) {
    char prefix[KEY_MAX];
    snprintf(prefix, sizeof prefix, "r/%s/%s/", c, thread);
    *out = 0;
    return connector_state_scan(s, prefix, stop_at_first, out);
}

/* ---- the channel's documents, all at once (renames, deletion) ---- */

typedef struct chan_scan {
    connector_sink *s;
    const char *channel;
    lore_status st;
    char **keys; /* collected for deletion, NULL when only touching */
    size_t nkeys;
} chan_scan;

/* Touches the documents a slot or reply key belongs to. */
static int chan_touch_one(void *ctx, const char *key, const json_t *rec) {
    chan_scan *c = ctx;
    size_t clen = strlen(c->channel);
    /* "m/C/D/ts" or "r/C/T/ts": the last 17 bytes are the ts. */
    size_t n = strlen(key);
    if (n < 2 + clen + 1 + SLACK_TS_LEN) return 0;
    const char *ts = key + n - SLACK_TS_LEN;
    if (key[0] == 'r') {
        char thread[SLACK_TS_LEN + 1];
        if (n != 2 + clen + 1 + SLACK_TS_LEN + 1 + SLACK_TS_LEN) return 0;
        memcpy(thread, key + 2 + clen + 1, SLACK_TS_LEN);
        thread[SLACK_TS_LEN] = 0;
        c->st = touch_thread(c->s, c->channel, thread);
    } else if (json_object_get(rec, "p")) {
        const char *thread = slack_str(rec, "p");
        if (slack_ts_valid(thread)) c->st = touch_thread(c->s, c->channel, thread);
    } else if (!flag(rec, "x") && slack_ts_valid(ts)) {
        c->st = touch_day(c->s, c->channel, ts);
        if (c->st == LORE_OK && flag(rec, "h")) c->st = touch_thread(c->s, c->channel, ts);
    }
    if (c->st == LORE_OK && c->keys) {
        c->keys[c->nkeys] = strdup(key);
        if (!c->keys[c->nkeys]) c->st = LORE_NOMEM;
        c->nkeys++;
    }
    return c->st != LORE_OK || (c->keys && c->nkeys == DELETE_BATCH);
}

static lore_status touch_channel_docs(connector_sink *s, const char *channel) {
    char prefix[KEY_MAX];
    snprintf(prefix, sizeof prefix, "m/%s/", channel);
    chan_scan c = {s, channel, LORE_OK, NULL, 0};
    lore_status st = connector_state_scan(s, prefix, chan_touch_one, &c);
    return st != LORE_OK ? st : c.st;
}

/* Removes every message state of the channel under one prefix, in batches
 * (so memory stays bounded), touching their documents. */
static lore_status delete_prefix(connector_sink *s, const char *channel, char kind) {
    char prefix[KEY_MAX];
    snprintf(prefix, sizeof prefix, "%c/%s/", kind, channel);
    char **keys = malloc(DELETE_BATCH * sizeof *keys);
    if (!keys) return LORE_NOMEM;
    lore_status st;
    size_t n;
    do {
        chan_scan c = {s, channel, LORE_OK, keys, 0};
        st = connector_state_scan(s, prefix, chan_touch_one, &c);
        if (st == LORE_OK) st = c.st;
        n = c.nkeys;
        for (size_t i = 0; i < n; i++) {
            if (st == LORE_OK && keys[i]) st = connector_state_delete(s, keys[i]);
            free(keys[i]);
        }
    } while (st == LORE_OK && n == DELETE_BATCH);
    free(keys);
    return st;
}

static lore_status delete_channel(connector_sink *s, const char *channel) {
    char k[KEY_MAX];
    key_channel(k, channel);
    json_t *ch;
    lore_status st = state_opt(s, k, &ch);
    if (st != LORE_OK) return st;
    if (ch && flag(ch, "x")) {
        json_decref(ch);
        return LORE_OK;
    }
    if (!ch) ch = json_object();
    if (!ch || json_object_set_new(ch, "x", json_true())) st = LORE_NOMEM;
    if (st == LORE_OK) st = connector_state_put(s, k, ch);
    json_decref(ch);
    if (st == LORE_OK) st = delete_prefix(s, channel, 'm');
    if (st == LORE_OK) st = delete_prefix(s, channel, 'r');
    return st;
}

/* Records a channel's name (when rank is not older than the stored one's)
 * and privacy (priv < 0: unknown, keep), re-rendering its documents when
 * either changes what they show. */
static lore_status update_channel(connector_sink *s, const char *channel, const char *name,
                                  const char *rank, int priv) {
    char k[KEY_MAX];
    key_channel(k, channel);
    json_t *ch;
    lore_status st = state_opt(s, k, &ch);
    if (st != LORE_OK) return st;
    if (ch && flag(ch, "x")) {
        json_decref(ch);
        return LORE_OK;
    }
    if (!ch && !(ch = json_object())) return LORE_NOMEM;
    int changed = 0, dirty = 0;
    const char *nr = slack_str(ch, "nr");
    if (name && *name && strcmp(rank, nr ? nr : "") >= 0) {
        const char *old = slack_str(ch, "n");
        if (!old || strcmp(old, name))
            changed = dirty = 1, st = set_str(ch, "n", name, NAME_MAX_BYTES);
        if (st == LORE_OK && strcmp(rank, nr ? nr : "")) {
            dirty = 1;
            st = set_str(ch, "nr", rank, SLACK_TS_LEN);
        }
    }
    if (st == LORE_OK && priv >= 0 && flag(ch, "p") != priv) {
        changed = dirty = 1;
        if (json_object_set_new(ch, "p", json_boolean(priv))) st = LORE_NOMEM;
    }
    if (st == LORE_OK && dirty) st = connector_state_put(s, k, ch);
    json_decref(ch);
    if (st == LORE_OK && changed) st = touch_channel_docs(s, channel);
    return st;
}

/* ---- messages ---- */

static lore_status delete_message(connector_sink *s, const char *c, const char *ts) {
    char k[KEY_MAX];
    key_slot(k, c, ts);
    json_t *slot, *tomb = NULL;
    lore_status st = state_opt(s, k, &slot);
    if (st != LORE_OK || (slot && flag(slot, "x"))) goto done;
    tomb = json_pack("{s:b}", "x", 1);
    st = tomb ? connector_state_put(s, k, tomb) : LORE_NOMEM;
    if (st != LORE_OK || !slot) goto done;
    const char *thread = slack_str(slot, "p");
    if (thread && slack_ts_valid(thread)) {
        char rk[KEY_MAX], pk[KEY_MAX];
        key_reply(rk, c, thread, ts);
        st = connector_state_delete(s, rk);
        int more = 0;
        if (st == LORE_OK) st = has_reply(s, c, thread, &more);
        json_t *parent = NULL;
        key_slot(pk, c, thread);
        if (st == LORE_OK && !more) st = state_opt(s, pk, &parent);
        if (st == LORE_OK && is_top(parent) && flag(parent, "h")) {
            /* its last reply is gone: the parent returns to its day */
            json_object_del(parent, "h");
            st = connector_state_put(s, pk, parent);
            if (st == LORE_OK) st = touch_day(s, c, thread);
        }
        json_decref(parent);
        if (st == LORE_OK) st = touch_thread(s, c, thread);
    } else if (is_top(slot)) {
        st = touch_day(s, c, ts);
        if (st == LORE_OK && flag(slot, "h")) st = touch_thread(s, c, ts);
    }
done:
    json_decref(slot);
    json_decref(tomb);
    return st;
}

static lore_status put_reply(connector_sink *s, const char *c, const char *thread, const char *ts,
                             const json_t *msg, const char *rank, const json_t *slot) {
    char rk[KEY_MAX], k[KEY_MAX], pk[KEY_MAX];
    key_reply(rk, c, thread, ts);
    json_t *old, *rec = NULL, *parent = NULL;
    lore_status st = state_opt(s, rk, &old);
    int changed = 0;
    if (st == LORE_OK && (!old || strcmp(rank_of(old), rank) < 0)) {
        st = make_record(msg, rank, &rec);
        if (st == LORE_OK) st = connector_state_put(s, rk, rec);
        changed = 1;
    }
    if (st == LORE_OK && !slot) {
        json_t *ptr = json_pack("{s:s}", "p", thread);
        key_slot(k, c, ts);
        st = ptr ? connector_state_put(s, k, ptr) : LORE_NOMEM;
        json_decref(ptr);
    }
    key_slot(pk, c, thread);
    if (st == LORE_OK) st = state_opt(s, pk, &parent);
    if (st == LORE_OK && is_top(parent) && !flag(parent, "h")) {
        /* the parent moves from its day into the thread */
        if (json_object_set_new(parent, "h", json_true())) st = LORE_NOMEM;
        if (st == LORE_OK) st = connector_state_put(s, pk, parent);
        if (st == LORE_OK) st = touch_day(s, c, thread);
        changed = 1;
    }
    if (st == LORE_OK && changed) st = touch_thread(s, c, thread);
    json_decref(old);
    json_decref(rec);
    json_decref(parent);
    return st;
}

static lore_status put_top(connector_sink *s, const char *c, const char *ts, const json_t *msg,
                           const char *rank, const json_t *slot) {
    if (slot && strcmp(rank_of(slot), rank) >= 0) return LORE_OK;
    int h = slot ? flag(slot, "h") : 0;
    lore_status st = slot ? LORE_OK : has_reply(s, c, ts, &h);
    json_t *rec = NULL;
    if (st == LORE_OK) st = make_record(msg, rank, &rec);
    if (st == LORE_OK && h && json_object_set_new(rec, "h", json_true())) st = LORE_NOMEM;
    char k[KEY_MAX];
    key_slot(k, c, ts);
    if (st == LORE_OK) st = connector_state_put(s, k, rec);
    json_decref(rec);
    if (st == LORE_OK) st = touch_day(s, c, ts);
    if (st == LORE_OK && h) st = touch_thread(s, c, ts);
    return st;
}

/* Applies one message (a live event's, an edit's new version or an exported
 * one) of channel c. rank NULL: the message's edited.ts, else its ts.
 * priv: what the event says of the channel (-1 nothing). */
static lore_status apply_message(connector_sink *s, const char *c, const json_t *msg,
                                 const char *rank, int priv, char **error) {
    if (!slack_id_valid(c)) return invalid(error, "message without a valid channel id");
    if (!json_is_object(msg)) return invalid(error, "message is not a JSON object");
    const char *ts = slack_str(msg, "ts");
    if (!slack_ts_valid(ts)) return invalid(error, "message without a valid ts");
    const char *thread = slack_str(msg, "thread_ts");
    if (thread && !slack_ts_valid(thread)) return invalid(error, "message with a bad thread_ts");
    if (thread && !strcmp(thread, ts)) thread = NULL;
    const char *subtype = slack_str(msg, "subtype");
    if (subtype && !strcmp(subtype, "tombstone")) /* a deleted parent with replies left */
        return delete_message(s, c, ts);
    if (!slack_subtype_indexed(subtype)) return LORE_OK;
    if (!rank) {
        rank = slack_str(json_object_get(msg, "edited"), "ts");
        if (!slack_ts_valid(rank)) rank = ts;
    }
    char k[KEY_MAX];
    key_channel(k, c);
    json_t *ch, *slot = NULL;
    lore_status st = state_opt(s, k, &ch);
    if (st != LORE_OK) return st;
    int gone = flag(ch, "x"), learned = priv >= 0 && flag(ch, "p") != priv;
    json_decref(ch);
    if (gone) return LORE_OK; /* a late retry into a deleted channel */
    if (learned) st = update_channel(s, c, NULL, "", priv);
    key_slot(k, c, ts);
    if (st == LORE_OK) st = state_opt(s, k, &slot);
    if (st != LORE_OK || (slot && flag(slot, "x"))) {
        json_decref(slot);
        return st;
    }
    /* A message's place is the one first recorded (a reply stays a reply). */
    if (slot) thread = slack_str(slot, "p");
    if (thread && slack_ts_valid(thread))
        st = put_reply(s, c, thread, ts, msg, rank, slot);
    else
        st = put_top(s, c, ts, msg, rank, slot);
    json_decref(slot);
    return st;
}

/* ---- users ---- */

static lore_status put_user(connector_sink *s, const json_t *u) {
    const char *id = slack_str(u, "id");
    if (!slack_id_valid(id)) return LORE_OK;
    const json_t *p = json_object_get(u, "profile");
    const char *cand[] = {slack_str(p, "display_name"), slack_str(p, "real_name"),
                          slack_str(u, "real_name"), slack_str(u, "name")};
    const char *name = NULL;
    for (size_t i = 0; !name && i < 4; i++)
        if (cand[i] && *cand[i]) name = cand[i];
    if (!name) return LORE_OK;
    json_int_t rank = json_integer_value(json_object_get(u, "updated"));
    char k[KEY_MAX];
    snprintf(k, sizeof k, "u/%s", id);
    json_t *old;
    lore_status st = state_opt(s, k, &old);
    if (st != LORE_OK) return st;
    int newer = !old || json_integer_value(json_object_get(old, "r")) <= rank;
    const char *oldname = slack_str(old, "n");
    if (newer && (!oldname || strcmp(oldname, name) ||
                  json_integer_value(json_object_get(old, "r")) != rank)) {
        json_t *rec = json_pack("{s:o,s:I}", "n", capped_string(name, NAME_MAX_BYTES), "r", rank);
        st = rec ? connector_state_put(s, k, rec) : LORE_NOMEM;
        json_decref(rec);
    }
    json_decref(old);
    return st;
}

lore_status slack_put_users(connector_sink *s, const json_t *users) {
    if (!json_is_array(users)) return LORE_INVALID;
    lore_status st = LORE_OK;
    for (size_t i = 0; st == LORE_OK && i < json_array_size(users); i++)
        st = put_user(s, json_array_get(users, i));
    return st;
}

lore_status slack_put_channel(connector_sink *s, const json_t *channel, int is_private) {
    const char *id = slack_str(channel, "id");
    if (!slack_id_valid(id)) return LORE_INVALID;
    int priv = is_private || json_is_true(json_object_get(channel, "is_private"));
    /* An export's name ranks below any live rename. */
    return update_channel(s, id, slack_str(channel, "name"), "", priv);
}

lore_status slack_put_message(connector_sink *s, const char *channel_id, const json_t *message,
                              char **error) {
    if (error) *error = NULL;
    return apply_message(s, channel_id, message, NULL, -1, error);
}

/* ---- live deliveries ---- */

static int channel_privacy(const json_t *ev) {
    const char *t = slack_str(ev, "channel_type");
    if (!t) return -1;
    if (!strcmp(t, "channel")) return 0;
    if (!strcmp(t, "group") || !strcmp(t, "im") || !strcmp(t, "mpim")) return 1;
    return -1;
}

/* The rank of a channel event: its event_ts, else the envelope's time. */
static void event_rank(const json_t *root, const json_t *ev, char *out) {
    const char *ets = slack_str(ev, "event_ts");
    if (slack_ts_valid(ets)) {
        memcpy(out, ets, SLACK_TS_LEN + 1);
        return;
    }
    json_int_t t = json_integer_value(json_object_get(root, "event_time"));
    if (t < 0 || t > 9999999999) t = 0;
    snprintf(out, SLACK_TS_LEN + 1, "%010lld.000000", (long long)t);
}

static lore_status apply_message_event(connector_sink *s, const json_t *ev, char **error) {
    const char *c = slack_str(ev, "channel");
    const char *subtype = slack_str(ev, "subtype");
    int priv = channel_privacy(ev);
    if (!subtype) return apply_message(s, c, ev, NULL, priv, error);
    if (!strcmp(subtype, "message_deleted")) {
        const char *ts = slack_str(ev, "deleted_ts");
        if (!slack_id_valid(c) || !slack_ts_valid(ts))
            return invalid(error, "message_deleted without a channel and deleted_ts");
        return delete_message(s, c, ts);
    }
    if (!strcmp(subtype, "message_changed")) {
        const json_t *m = json_object_get(ev, "message");
        const char *rank = slack_str(json_object_get(m, "edited"), "ts");
        if (!slack_ts_valid(rank)) rank = slack_str(ev, "ts");
        if (!slack_ts_valid(rank)) rank = NULL;
        return apply_message(s, c, m, rank, priv, error);
    }
    if (!strcmp(subtype, "channel_name")) {
        if (!slack_id_valid(c)) return invalid(error, "channel_name without a channel id");
        const char *ts = slack_str(ev, "ts");
        return update_channel(s, c, slack_str(ev, "name"), slack_ts_valid(ts) ? ts : "", priv);
    }
    return apply_message(s, c, ev, NULL, priv, error);
}

/* A Slack signing secret belongs to the app, not to a workspace: every
 * workspace that installed the app signs with it. The connector serves the
 * workspace of its first delivery ("workspace" in its state); a delivery
 * from another is refused, so one workspace can never write into another's
 * documents. (The export import carries no team id and pins nothing.) */
static lore_status pin_workspace(connector_sink *s, const json_t *payload, char **error) {
    const char *team = slack_str(payload, "team_id");
    if (!team) return LORE_OK;
    json_t *st = NULL;
    lore_status rc = state_opt(s, "workspace", &st);
    if (rc != LORE_OK) return rc;
    if (!st) {
        json_t *w = json_pack("{s:s}", "team_id", team);
        rc = w ? connector_state_put(s, "workspace", w) : LORE_NOMEM;
        json_decref(w);
        return rc;
    }
    const char *pinned = slack_str(st, "team_id");
    if (pinned && strcmp(pinned, team)) {
        char why[256];
        snprintf(why, sizeof why,
                 "a delivery from Slack workspace %.40s; this connector serves workspace %.40s "
                 "(its first delivery's): add another connector for another workspace",
                 team, pinned);
        rc = invalid(error, why);
    }
    json_decref(st);
    return rc;
}

lore_status slack_apply(connector_sink *s, const char *event, const json_t *payload, char **error) {
    (void)event; /* the payload names its event */
    if (error) *error = NULL;
    const json_t *ev = json_object_get(payload, "event");
    const char *type = slack_str(ev, "type");
    if (!json_is_object(payload) || !type)
        return invalid(error, "not an Events API event_callback payload");
    lore_status pst = pin_workspace(s, payload, error);
    if (pst != LORE_OK) return pst;
    if (!strcmp(type, "message")) return apply_message_event(s, ev, error);
    char rank[SLACK_TS_LEN + 1];
    event_rank(payload, ev, rank);
    if (!strcmp(type, "channel_rename") || !strcmp(type, "group_rename") ||
        !strcmp(type, "channel_created")) {
        const json_t *ch = json_object_get(ev, "channel");
        const char *id = slack_str(ch, "id");
        if (!slack_id_valid(id)) return invalid(error, "channel event without a channel id");
        int priv = !strcmp(type, "group_rename") ? 1 : -1;
        return update_channel(s, id, slack_str(ch, "name"),
                              !strcmp(type, "channel_created") ? "" : rank, priv);
    }
    if (!strcmp(type, "channel_deleted") || !strcmp(type, "group_deleted")) {
        const char *id = slack_str(ev, "channel");
        if (!slack_id_valid(id)) return invalid(error, "channel event without a channel id");
        return delete_channel(s, id);
    }
    if (!strcmp(type, "user_change")) return put_user(s, json_object_get(ev, "user"));
    return LORE_OK; /* not indexed (inspect ignores these) */
}
