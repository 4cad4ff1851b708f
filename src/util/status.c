/* Names and messages for lore_status, generated from LORE_STATUS_MAP. */
#include "util/status.h"

static const char *const status_names[] = {
#define LORE_STATUS_NAME(name, msg) #name,
    LORE_STATUS_MAP(LORE_STATUS_NAME)
#undef LORE_STATUS_NAME
};

static const char *const status_messages[] = {
#define LORE_STATUS_MSG(name, msg) msg,
    LORE_STATUS_MAP(LORE_STATUS_MSG)
#undef LORE_STATUS_MSG
};

const char *lore_status_name(lore_status st) {
    if ((unsigned)st >= LORE_STATUS_COUNT) return "UNKNOWN";
    return status_names[st];
}

const char *lore_status_message(lore_status st) {
    if ((unsigned)st >= LORE_STATUS_COUNT) return "unknown status";
    return status_messages[st];
}
