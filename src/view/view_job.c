/* Jobs as JSON; see view.h. */
#include <stdio.h>
#include <string.h>

#include "queue/queue.h"
#include "view/view.h"

/* The dedup key as the client sent it (without the API key scope). */
static const char *client_dedup_key(const char *k) {
    const char *colon = k ? strchr(k, ':') : NULL;
    return colon && colon - k <= STORE_KEY_ID_LEN ? colon + 1 : k;
}

json_t *view_job(const store_job *j) {
    json_t *o = json_object();
    char url[64];
    snprintf(url, sizeof url, "/v1/jobs/%s", j->pub);
    json_object_set_new(o, "id", json_string(j->pub));
    json_object_set_new(o, "kind", json_string(j->kind));
    json_object_set_new(o, "state", json_string(queue_state_name(j->state)));
    json_object_set_new(o, "status_url", json_string(url));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    json_object_set_new(o, "max_attempts", json_integer(j->max_attempts));
    json_object_set_new(o, "created_at", view_time(j->created_ms));
    json_object_set_new(o, "updated_at", view_time(j->updated_ms));
    json_object_set_new(o, "started_at", view_time(j->started_ms));
    json_object_set_new(o, "finished_at", view_time(j->finished_ms));
    json_object_set_new(o, "next_attempt_at",
                        j->state == STORE_JOB_READY && j->attempts ? view_time(j->visible_ms)
                                                                   : json_null());
    json_object_set_new(o, "dedup_key",
                        j->dedup_key ? json_string(client_dedup_key(j->dedup_key)) : json_null());
    json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
    json_t *res = j->result ? json_loads(j->result, 0, NULL) : NULL;
    json_object_set_new(o, "result", res ? res : json_null());
    return o;
}
