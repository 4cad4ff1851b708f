/* A sandboxed child process for helper programs that read untrusted input
 * (pdftotext). The child runs in its own process group with stdin from
 * /dev/null, stdout and stderr piped back, every other descriptor closed, a
 * minimal environment, and resource limits: address space, CPU time, no
 * core dumps and no file writes (RLIMIT_FSIZE 0; pipes are not files). The
 * parent enforces a wall-clock deadline with poll() and kills the whole
 * group when it passes or when stdout exceeds its cap. The child is always
 * reaped before subproc_run returns.
 *
 * fork() rather than posix_spawn() because the limits must be set between
 * fork and exec; the child calls only async-signal-safe functions, so this is
 * safe in a multi-threaded server. */
#ifndef LORE_PARSE_SUBPROCESS_H
#define LORE_PARSE_SUBPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include "util/status.h"

typedef struct subproc_limits {
    int timeout_s;     /* wall-clock limit; also the CPU limit (<= 0: 30 s) */
    size_t memory_mb;  /* RLIMIT_AS in MiB (0: no limit) */
    size_t max_output; /* bytes of stdout kept; more kills the child */
} subproc_limits;

typedef struct subproc_result {
    char *out; /* owned, NUL-terminated: what the child wrote to stdout */
    size_t out_len;
    bool exited;        /* exited normally (exit_code valid) */
    int exit_code;      /* when exited */
    int term_signal;    /* when killed by a signal (and not by us) */
    bool timed_out;     /* killed by us at the deadline */
    bool out_truncated; /* killed by us because stdout exceeded max_output */
    char errline[256];  /* first non-empty line of its stderr, or "" */
} subproc_result;

/* Runs path with argv (argv[0] included, NULL-terminated). Returns LORE_OK
 * when the child ran (whatever its exit status: inspect res), LORE_NOT_FOUND
 * when path cannot be executed (res->errline holds strerror), LORE_NOMEM or
 * LORE_IO when the runner itself failed. On success res->out is owned by the
 * caller (subproc_result_free); on failure res is left freed. */
LORE_MUST_CHECK lore_status subproc_run(const char *path, char *const argv[],
                                        const subproc_limits *lim, subproc_result *res);

void subproc_result_free(subproc_result *res);

/* Finds an executable: override (when non-NULL and non-empty) as is, else
 * name in $PATH, else in /usr/bin and /usr/local/bin. Writes the path to out
 * and returns true when one exists. */
bool subproc_find_exe(const char *override, const char *name, char *out, size_t outlen);

#endif
