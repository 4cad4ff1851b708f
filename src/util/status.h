/* Status codes shared by every module.
 *
 * One X-macro list yields the enum, the names and the messages, so the three
 * can never drift (the pattern of libuv's UV_ERRNO_MAP). Functions that can
 * fail return lore_status and are marked LORE_MUST_CHECK. */
#ifndef LORE_UTIL_STATUS_H
#define LORE_UTIL_STATUS_H

#define LORE_MUST_CHECK __attribute__((warn_unused_result))

#define LORE_STATUS_MAP(X)                                                                         \
    X(OK, "success")                                                                               \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID, "invalid argument or input")                                                        \
    X(NOT_FOUND, "not found")                                                                      \
    X(EXISTS, "already exists")                                                                    \
    X(IO, "input/output error")                                                                    \
    X(CORRUPT, "stored data is corrupt")                                                           \
    X(TOO_LARGE, "input exceeds a size limit")                                                     \
    X(UNSUPPORTED, "unsupported format or operation")                                              \
    X(BUSY, "resource busy")                                                                       \
    X(TIMEOUT, "timed out")                                                                        \
    X(INTERNAL, "internal error")

typedef enum lore_status {
#define LORE_STATUS_ENUM(name, msg) LORE_##name,
    LORE_STATUS_MAP(LORE_STATUS_ENUM)
#undef LORE_STATUS_ENUM
        LORE_STATUS_COUNT
} lore_status;

/* Short upper-case name of a status ("NOT_FOUND"); never NULL. */
const char *lore_status_name(lore_status st);
/* Human sentence fragment for a status ("not found"); never NULL. */
const char *lore_status_message(lore_status st);

#endif
