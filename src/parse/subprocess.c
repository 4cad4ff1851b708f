/* Sandboxed helper processes (see subprocess.h for the contract).
 *
 * Design notes:
 * - Every descriptor the parent creates is O_CLOEXEC, so a concurrent fork
 *   elsewhere in the server never inherits our pipes; in the child, stdio is
 *   dup2()ed into place and everything above fd 3 is closed with
 *   close_range() (or a loop when the kernel lacks it).
 * - An extra close-on-exec pipe (fd 3 in the child) carries errno back when
 *   execve() fails, so "binary missing" is told apart from "binary failed".
 * - The child leads its own process group; on timeout or overflow we kill the
 *   group, so grandchildren (a shell script's sleep) die too. After a normal
 *   exit the group is also killed before the child is reaped: while the
 *   zombie exists its pid cannot be reused, so the signal cannot hit an
 *   unrelated process.
 * - The deadline is measured on CLOCK_MONOTONIC and enforced with poll()
 *   while the pipes are open, then by polling waitid() every few ms. */
#include "parse/subprocess.h"
#include "parse/parse_int.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STDERR_KEEP 4096

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Moves fd above the stdio range so the child's dup2() calls cannot clobber
 * it (possible when the server runs with stdio closed). */
static int move_high(int *fd) {
    if (*fd > 2) return 0;
    int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0) return -1;
    close(*fd);
    *fd = nfd;
    return 0;
}

bool subproc_find_exe(const char *override, const char *name, char *out, size_t outlen) {
    if (override && *override) {
        int n = snprintf(out, outlen, "%s", override);
        return n > 0 && (size_t)n < outlen;
    }
    const char *path = getenv("PATH");
    const char *fallback = "/usr/bin:/usr/local/bin";
    for (int pass = 0; pass < 2; pass++) {
        const char *p = pass == 0 ? path : fallback;
        while (p && *p) {
            const char *colon = strchr(p, ':');
            size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
            /* Relative entries (including the empty one, meaning ".") are
             * skipped: the server's working directory is not trusted. */
            if (dlen && p[0] == '/') {
                int n = snprintf(out, outlen, "%.*s/%s", (int)dlen, p, name);
                struct stat st;
                if (n > 0 && (size_t)n < outlen && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
                    access(out, X_OK) == 0)
                    return true;
            }
            p = colon ? colon + 1 : NULL;
        }
    }
    return false;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *path, char *const argv[], char *const envp[], int devnull,
                       int out_w, int err_w, int exec_w, const struct rlimit *as, int timeout_s,
                       int maxfd) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);

    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(126);
    if (exec_w != 3) {
        if (dup2(exec_w, 3) < 0) _exit(126);
    }
    if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) _exit(126);
    if (close_range(4, ~0U, 0) < 0) {
        for (int fd = 4; fd < maxfd; fd++)
            close(fd);
    }

    struct rlimit zero = {0, 0};
    struct rlimit cpu = {(rlim_t)timeout_s, (rlim_t)timeout_s + 1};
    if ((as->rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_AS, as) < 0) ||
        setrlimit(RLIMIT_CPU, &cpu) < 0 || setrlimit(RLIMIT_FSIZE, &zero) < 0 ||
        setrlimit(RLIMIT_CORE, &zero) < 0)
        _exit(126);

    execve(path, argv, envp);
    int e = errno;
    ssize_t w = write(3, &e, sizeof e);
    (void)w; /* nothing to do if even this fails: the parent sees exit 127 */
    _exit(127);
}

/* Copies the first non-empty line of s into out, sanitized for messages. */
static void first_line(const char *s, size_t len, char *out, size_t outlen) {
    size_t i = 0;
    while (i < len && (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t j = i;
    while (j < len && s[j] != '\n' && s[j] != '\r')
        j++;
    size_t n = j - i;
    if (n >= outlen) n = outlen - 1;
    n = parse_utf8_valid_prefix(s + i, n);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[i + k];
        out[k] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
}

static void kill_group(pid_t pid) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case setpgid had not run yet */
}

static void reap(pid_t pid, int *status) {
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
}

lore_status subproc_run(const char *path, char *const argv[], const subproc_limits *lim,
                        subproc_result *res) {
    memset(res, 0, sizeof *res);
    lore_status st = LORE_IO;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, exec_p[2] = {-1, -1};
    int devnull = -1;
    lore_buf out;
    lore_buf_init(&out, lim->max_output);
    char errbuf[STDERR_KEEP];
    size_t errlen = 0;
    int timeout_s = lim->timeout_s > 0 ? lim->timeout_s : 30;
    pid_t pid = -1;

    /* Everything the child needs is prepared before fork. */
    static char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
    static char env_lc[] = "LC_ALL=C";
    char *const envp[] = {env_path, env_lc, NULL};
    struct rlimit as = {RLIM_INFINITY, RLIM_INFINITY};
    if (lim->memory_mb && lim->memory_mb < (SIZE_MAX >> 20))
        as.rlim_cur = as.rlim_max = (rlim_t)lim->memory_mb << 20;
    struct rlimit nofile;
    int maxfd = 1024;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
        nofile.rlim_cur < 65536)
        maxfd = (int)nofile.rlim_cur;

    if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 || pipe2(exec_p, O_CLOEXEC) < 0)
        goto out; /* leaves: nothing but the pipes, closed below */
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) goto out;
    if (move_high(&out_p[1]) < 0 || move_high(&err_p[1]) < 0 || move_high(&exec_p[1]) < 0 ||
        move_high(&devnull) < 0)
        goto out;

    pid = fork();
    if (pid < 0) goto out;
    if (pid == 0)
        child_exec(path, argv, envp, devnull, out_p[1], err_p[1], exec_p[1], &as, timeout_s, maxfd);
    setpgid(pid, pid); /* also done by the child; whichever runs first wins */
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&exec_p[1]);
    close_fd(&devnull);

    /* EOF here means execve succeeded (the pipe was close-on-exec). */
    int exec_errno = 0;
    ssize_t n;
    while ((n = read(exec_p[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    close_fd(&exec_p[0]);
    if (n == (ssize_t)sizeof exec_errno) {
        int status;
        reap(pid, &status);
        pid = -1;
        snprintf(res->errline, sizeof res->errline, "%s", strerror(exec_errno));
        st = LORE_NOT_FOUND;
        goto out;
    }

    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    bool killed = false;
    lore_status read_st = LORE_OK;
    char chunk[16384];
    while (!killed && (out_p[0] >= 0 || err_p[0] >= 0)) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            res->timed_out = true;
            kill_group(pid);
            killed = true;
            break;
        }
        struct pollfd fds[2];
        int nfds = 0;
        if (out_p[0] >= 0) fds[nfds++] = (struct pollfd){.fd = out_p[0], .events = POLLIN};
        if (err_p[0] >= 0) fds[nfds++] = (struct pollfd){.fd = err_p[0], .events = POLLIN};
        int pr = poll(fds, (nfds_t)nfds, left > 1000 ? 1000 : (int)left);
        if (pr < 0) {
            if (errno == EINTR) continue;
            kill_group(pid);
            killed = true;
            break;
        }
        for (int i = 0; i < nfds && !killed; i++) {
            if (!fds[i].revents) continue;
            bool is_out = fds[i].fd == out_p[0];
            ssize_t r = read(fds[i].fd, chunk, sizeof chunk);
            if (r < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                r = 0; /* treat a read error as EOF */
            }
            if (r == 0) {
                close_fd(is_out ? &out_p[0] : &err_p[0]);
                continue;
            }
            if (is_out) {
                size_t room = lim->max_output - out.len;
                if ((size_t)r > room) {
                    if (room && lore_buf_append(&out, chunk, room) != LORE_OK) {
                        /* cannot happen: room is within the cap */
                    }
                    res->out_truncated = true;
                    kill_group(pid);
                    killed = true;
                } else {
                    lore_status ast = lore_buf_append(&out, chunk, (size_t)r);
                    if (ast != LORE_OK) {
                        kill_group(pid);
                        killed = true;
                        read_st = ast;
                    }
                }
            } else if (errlen < sizeof errbuf) {
                size_t take =
                    (size_t)r < sizeof errbuf - errlen ? (size_t)r : sizeof errbuf - errlen;
                memcpy(errbuf + errlen, chunk, take);
                errlen += take;
            }
        }
    }

    /* The pipes are closed (or we gave up on them): wait for the exit,
     * still bounded by the deadline, without reaping yet. */
    while (!killed) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int wr = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (wr < 0 && errno == EINTR) continue;
        if (wr < 0 || si.si_pid == pid) break;
        if (now_ms() >= deadline) {
            res->timed_out = true;
            kill_group(pid);
            killed = true;
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!killed) kill(-pid, SIGKILL); /* stray members of its group; the zombie pins the id */
    int status = 0;
    reap(pid, &status);
    pid = -1;

    if (read_st != LORE_OK) {
        st = read_st; /* out of memory while reading */
        goto out;
    }
    if (!res->timed_out && !res->out_truncated) {
        if (WIFEXITED(status)) {
            res->exited = true;
            res->exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            res->term_signal = WTERMSIG(status);
        }
    }
    first_line(errbuf, errlen, res->errline, sizeof res->errline);
    res->out_len = out.len;
    res->out = lore_buf_take(&out);
    st = res->out ? LORE_OK : LORE_NOMEM;

out:
    if (pid > 0) {
        int ignored;
        kill_group(pid);
        reap(pid, &ignored);
    }
    close_fd(&out_p[0]);
    close_fd(&out_p[1]);
    close_fd(&err_p[0]);
    close_fd(&err_p[1]);
    close_fd(&exec_p[0]);
    close_fd(&exec_p[1]);
    close_fd(&devnull);
    lore_buf_free(&out);
    if (st != LORE_OK && st != LORE_NOT_FOUND) {
        free(res->out);
        res->out = NULL;
        res->out_len = 0;
    }
    return st;
}

void subproc_result_free(subproc_result *res) {
    if (!res) return;
    free(res->out);
    res->out = NULL;
    res->out_len = 0;
}
