/* The Redis rate-limit backend against real redis-server processes started
 * here on free loopback ports (Debian's redis-server, installed by
 * scripts/deps.sh) and stopped at the end:
 *
 *   - the Lua script decides exactly as the memory backend for the same
 *     random sequence of rules, buckets and times (seed printed);
 *   - two backends (two nodes) and eight threads share one bucket: the
 *     allowed takes add up to the capacity, no more;
 *   - keys are "lore:ratelimit:" + bucket, in the URL's database, expiring
 *     at the time-to-full on Redis's clock; NOSCRIPT after SCRIPT FLUSH is
 *     handled;
 *   - Redis stopped: takes are decided in memory, one warning logged, the
 *     reason reported; Redis back: shared again by itself;
 *   - AUTH with a password and with an ACL user, wrong ones refused with a
 *     clear error; TLS with a self-signed certificate, trusted through
 *     tls_ca_file, refused without it; rediss:// against a plain port. */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/ratelimit.h"
#include "redis/redis.h"
#include "util/log.h"

static char dir[256];
static pid_t servers[8];
static int nservers;

static void stop_all(void) {
    for (int i = 0; i < nservers; i++)
        if (servers[i] > 0) {
            kill(servers[i], SIGKILL);
            waitpid(servers[i], NULL, 0);
        }
    nservers = 0;
}

static unsigned free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &sl))
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Starts redis-server with the given extra arguments (NULL-terminated) on
 * port (its TLS port when tls); returns its pid, or -1. */
static pid_t start_redis(unsigned port, int tls, const char *const *extra) {
    char portarg[16], logf[300];
    snprintf(portarg, sizeof portarg, "%u", port);
    snprintf(logf, sizeof logf, "%s/redis-%u.log", dir, port);
    const char *argv[40];
    int n = 0;
    argv[n++] = "redis-server";
    argv[n++] = tls ? "--tls-port" : "--port";
    argv[n++] = portarg;
    if (tls) {
        argv[n++] = "--port";
        argv[n++] = "0";
    }
    const char *fixed[] = {"--bind", "127.0.0.1", "--save",    "",   "--appendonly", "no",
                           "--dir",  dir,         "--logfile", logf, "--daemonize",  "no"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[n++] = fixed[i];
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (port_open(port)) {
            servers[nservers++] = pid;
            return pid;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr,
                    "redis-server exited (%d); see %s. Is it installed? (scripts/deps.sh)\n",
                    WEXITSTATUS(status), logf);
            return -1;
        }
        usleep(25000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void stop_redis(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < nservers; i++)
        if (servers[i] == pid) servers[i] = 0;
}

/* One command through a fresh client; the reply is owned. */
static redis_reply *cmd(const char *url, const redis_options *o, int argc,
                        const char *const *argv) {
    redis_client *c = NULL;
    redis_reply *r = NULL;
    char err[512];
    if (redis_client_new(url, o, &c, err, sizeof err) != LORE_OK ||
        redis_call(c, argc, argv, NULL, &r, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "%s: %s\n", url, err);
        r = NULL;
    }
    redis_client_free(c);
    return r;
}

static lore_status open_rl(const char *url, int caller_clock, const char *ca,
                           const ratelimit_backend **ops, void **state, char *err, size_t errlen) {
    ratelimit_redis_options o = {0};
    o.url = url;
    o.tls_ca_file = ca;
    o.timeout_ms = 2000;
    o.probe_ms = 300;
    o.caller_clock = caller_clock;
    o.memory_buckets = 1000;
    err[0] = '\0';
    return ratelimit_redis_new(&o, ops, state, err, errlen);
}

static int same(const ratelimit_decision *a, const ratelimit_decision *b) {
    return a->allowed == b->allowed && a->limit == b->limit && a->remaining == b->remaining &&
           a->reset_s == b->reset_s && a->retry_after_s == b->retry_after_s;
}

/* The same decisions as the memory backend, take for take. */
static void test_parity(const char *url) {
    const ratelimit_backend *mo, *ro;
    void *ms, *rs;
    char err[512];
    CHECK_INT(ratelimit_memory_new(1000, &mo, &ms), LORE_OK);
    CHECK_INT(open_rl(url, 1, NULL, &ro, &rs, err, sizeof err), LORE_OK);
    if (!ro) return;
    static const uint32_t pms[] = {1, 2, 6, 60, 61, 600, 7001, 100000, 100000000};
    static const uint32_t bursts[] = {0, 1, 3, 10, 1000, 100000000};
    char names[4][40];
    unsigned tag = (unsigned)test_rand();
    for (int i = 0; i < 4; i++)
        snprintf(names[i], sizeof names[i], "parity:%u:%d\x01\xff", tag, i);
    int64_t now = 1800000000000LL;
    int mismatches = 0, allowed = 0, refused = 0;
    for (int step = 0; step < 3000 && mismatches < 5; step++) {
        ratelimit_rule rule = {pms[test_rand() % 9], bursts[test_rand() % 6]};
        if (test_rand() % 50 == 0) rule.per_minute = 0;
        const char *b = names[test_rand() % 4];
        uint64_t dt = test_rand() % 8;
        now += dt < 4 ? 0 : dt < 6 ? (int64_t)(test_rand() % 1000) : (int64_t)(test_rand() % 90000);
        if (test_rand() % 40 == 0) now -= (int64_t)(test_rand() % 5000); /* the clock steps back */
        ratelimit_decision dm, dr;
        lore_status sm = mo->take(ms, b, strlen(b), &rule, now, &dm);
        lore_status sr = ro->take(rs, b, strlen(b), &rule, now, &dr);
        if (getenv("LORE_TEST_VERBOSE"))
            fprintf(stderr, "step %d %s rule %u/%u now %lld: memory %d %u, redis %d %u\n", step,
                    b + 7, rule.per_minute, rule.burst, (long long)now, dm.allowed, dm.remaining,
                    dr.allowed, dr.remaining);
        if (getenv("LORE_TEST_VERBOSE")) {
            char k[80];
            snprintf(k, sizeof k, "lore:ratelimit:%s", b);
            const char *hg[] = {"HGETALL", k};
            redis_reply *hr = cmd(url, NULL, 2, hg);
            const char *pt[] = {"PTTL", k};
            redis_reply *pr = cmd(url, NULL, 2, pt);
            if (hr && hr->n == 4 && pr)
                fprintf(stderr, "   u=%s l=%s pttl=%lld\n", hr->elem[1].str, hr->elem[3].str,
                        (long long)pr->integer);
            redis_reply_free(hr);
            redis_reply_free(pr);
        }
        if (sm != sr || !same(&dm, &dr)) {
            mismatches++;
            fprintf(stderr, "step %d rule %u/%u: memory %d %u %u %u %u, redis %d %u %u %u %u\n",
                    step, rule.per_minute, rule.burst, dm.allowed, dm.limit, dm.remaining,
                    dm.reset_s, dm.retry_after_s, dr.allowed, dr.limit, dr.remaining, dr.reset_s,
                    dr.retry_after_s);
        }
        dm.allowed ? allowed++ : refused++;
    }
    CHECK_INT(mismatches, 0);
    CHECK(allowed > 100 && refused > 100); /* both outcomes were exercised */
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(rs, &s);
    CHECK(s.up && s.errors == 0 && s.fallback_takes == 0 && s.redis_takes > 2900);
    printf("parity: 3000 takes, %d allowed, %d refused, same decisions\n", allowed, refused);
    mo->free(ms);
    ro->free(rs);
}

typedef struct hammer {
    const ratelimit_backend *ops;
    void *state;
    int allowed;
} hammer;

static void *hammer_run(void *arg) {
    hammer *h = arg;
    ratelimit_rule rule = {1, 50};
    for (int i = 0; i < 25; i++) {
        ratelimit_decision d;
        if (h->ops->take(h->state, "shared", 6, &rule, 1800000000000LL, &d) == LORE_OK && d.allowed)
            h->allowed++;
    }
    return NULL;
}

/* Two nodes, eight threads, one bucket of 50 at a frozen clock: 200 takes,
 * exactly 50 allowed. */
static void test_shared(const char *url) {
    const ratelimit_backend *ops[2];
    void *st[2];
    char err[512];
    for (int i = 0; i < 2; i++)
        if (open_rl(url, 1, NULL, &ops[i], &st[i], err, sizeof err) != LORE_OK) {
            fprintf(stderr, "%s\n", err);
            test_failed++;
            return;
        }
    const char *del[] = {"DEL", "lore:ratelimit:shared"};
    redis_reply_free(cmd(url, NULL, 2, del));
    hammer h[8] = {0};
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        h[i].ops = ops[i % 2];
        h[i].state = st[i % 2];
        pthread_create(&t[i], NULL, hammer_run, &h[i]);
    }
    int total = 0, per_node[2] = {0, 0};
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += h[i].allowed;
        per_node[i % 2] += h[i].allowed;
    }
    CHECK_INT(total, 50);
    CHECK(per_node[0] > 0 && per_node[1] > 0);
    printf("shared: 200 takes on two nodes, %d + %d allowed (budget 50)\n", per_node[0],
           per_node[1]);
    for (int i = 0; i < 2; i++)
        ops[i]->free(st[i]);
}

/* Redis's clock, the key name, its TTL, the database, NOSCRIPT. */
static void test_keys(unsigned port) {
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u/3", port);
    const ratelimit_backend *ops;
    void *st;
    char err[512];
    CHECK_INT(open_rl(url, 0, NULL, &ops, &st, err, sizeof err), LORE_OK);
    const char *flush[] = {"SCRIPT", "FLUSH"};
    redis_reply_free(cmd(url, NULL, 2, flush)); /* the next EVALSHA gets NOSCRIPT */
    ratelimit_rule rule = {60, 10};             /* one token a second */
    ratelimit_decision d;
    CHECK_INT(ops->take(st, "key:abc:read", 12, &rule, 0, &d), LORE_OK); /* now_ms unused */
    CHECK(d.allowed && d.limit == 10 && d.remaining == 9 && d.reset_s == 1);
    const char *pttl[] = {"PTTL", "lore:ratelimit:key:abc:read"};
    redis_reply *r = cmd(url, NULL, 2, pttl);
    CHECK(r && r->type == REDIS_INTEGER && r->integer > 0 && r->integer <= 1000);
    redis_reply_free(r);
    char url0[128];
    snprintf(url0, sizeof url0, "redis://127.0.0.1:%u", port);
    const char *exists[] = {"EXISTS", "lore:ratelimit:key:abc:read"};
    r = cmd(url0, NULL, 2, exists); /* database 0: not there */
    CHECK(r && r->type == REDIS_INTEGER && r->integer == 0);
    redis_reply_free(r);
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(st, &s);
    CHECK(s.up && s.errors == 0 && s.redis_takes == 1);
    ops->free(st);
}

static int count_in_file(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

/* Redis stops: memory decides, one warning; Redis returns: shared again. */
static void test_outage(void) {
    unsigned port = free_port();
    pid_t pid = start_redis(port, 0, NULL);
    CHECK(pid > 0);
    if (pid <= 0) return;
    char url[128], log[300];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", port);
    snprintf(log, sizeof log, "%s/lore.log", dir);
    /* lore's log goes to stderr: to a file for this part */
    fflush(stderr);
    int saved = dup(2), lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(lf, 2);
    close(lf);
    lore_log_set_level(LORE_LOG_WARN);
    const ratelimit_backend *ops;
    void *st;
    char err[512];
    CHECK_INT(open_rl(url, 1, NULL, &ops, &st, err, sizeof err), LORE_OK);
    ratelimit_rule rule = {6, 10};
    ratelimit_decision d;
    int64_t now = 1800000000000LL;
    CHECK_INT(ops->take(st, "o", 1, &rule, now, &d), LORE_OK);
    CHECK(d.allowed && d.remaining == 9); /* Redis's bucket */
    stop_redis(pid);
    for (int i = 0; i < 5; i++) { /* memory's bucket: starts full */
        CHECK_INT(ops->take(st, "o", 1, &rule, now, &d), LORE_OK);
        CHECK(d.allowed && d.remaining == (uint32_t)(9 - i));
    }
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(st, &s);
    CHECK(!s.up && s.outages == 1 && s.fallback_takes == 5);
    CHECK(s.errors >= 1 && s.errors <= 2); /* the probe window spares the others */
    CHECK(strstr(s.reason, "unavailable since") && strstr(s.reason, url + 8));
    /* probes while down fail quietly */
    usleep(400000);
    CHECK_INT(ops->take(st, "o", 1, &rule, now, &d), LORE_OK);
    ratelimit_redis_stats_get(st, &s);
    CHECK(!s.up && s.outages == 1 && s.errors >= 2);
    pid = start_redis(port, 0, NULL); /* back, empty */
    CHECK(pid > 0);
    usleep(400000);
    CHECK_INT(ops->take(st, "o", 1, &rule, now, &d), LORE_OK);
    CHECK(d.allowed && d.remaining == 9); /* a new Redis bucket */
    ratelimit_redis_stats_get(st, &s);
    CHECK(s.up && !s.reason[0] && s.outages == 1);
    ops->free(st);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_INT(count_in_file(log, "unavailable since"), 1); /* once per outage */
    CHECK_INT(count_in_file(log, "reachable again"), 1);
    /* unreachable at start: not an error, starts on memory */
    stop_redis(pid);
    lore_log_set_level(LORE_LOG_OFF);
    CHECK_INT(open_rl(url, 1, NULL, &ops, &st, err, sizeof err), LORE_OK);
    ratelimit_redis_stats_get(st, &s);
    CHECK(!s.up && strstr(s.reason, "Connection refused"));
    CHECK_INT(ops->take(st, "o", 1, &rule, now, &d), LORE_OK);
    CHECK(d.allowed);
    ops->free(st);
}

/* Redis restarts between two takes while the pool holds several idle
 * connections, all dead now: the next take still gets a Redis decision
 * (the dead ones are dropped, not tried one by one into a false outage). */
static void test_restart(void) {
    unsigned port = free_port();
    pid_t pid = start_redis(port, 0, NULL);
    CHECK(pid > 0);
    if (pid <= 0) return;
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", port);
    const ratelimit_backend *ops;
    void *st;
    char err[512];
    CHECK_INT(open_rl(url, 0, NULL, &ops, &st, err, sizeof err), LORE_OK);
    long long clients = 0;
    for (int round = 0; round < 20 && clients < 3; round++) {
        hammer h[8] = {0};
        pthread_t t[8];
        for (int i = 0; i < 8; i++) {
            h[i].ops = ops;
            h[i].state = st;
            pthread_create(&t[i], NULL, hammer_run, &h[i]);
        }
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        const char *info[] = {"INFO", "clients"};
        redis_reply *r = cmd(url, NULL, 2, info);
        const char *cc = r && r->str ? strstr(r->str, "connected_clients:") : NULL;
        clients = cc ? atoll(cc + 18) : 0; /* ours and this one */
        redis_reply_free(r);
    }
    CHECK(clients >= 3);
    stop_redis(pid);
    pid = start_redis(port, 0, NULL);
    CHECK(pid > 0);
    ratelimit_rule rule = {6, 10};
    ratelimit_decision d;
    CHECK_INT(ops->take(st, "after", 5, &rule, 0, &d), LORE_OK);
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(st, &s);
    CHECK(s.up && s.outages == 0);
    if (!s.up) fprintf(stderr, "after a restart: %s\n", s.reason);
    ops->free(st);
    stop_redis(pid);
}

static void expect_refused(const char *url, const char *ca, const char *says1, const char *says2) {
    const ratelimit_backend *ops = NULL;
    void *st = NULL;
    char err[512];
    lore_status s = open_rl(url, 1, ca, &ops, &st, err, sizeof err);
    CHECK_INT(s, LORE_INVALID);
    if (!strstr(err, says1) || (says2 && !strstr(err, says2))) {
        fprintf(stderr, "%s: \"%s\" does not say \"%s\"%s%s\n", url, err, says1,
                says2 ? " and " : "", says2 ? says2 : "");
        test_failed++;
    }
    CHECK(!ops && !st);
}

static void expect_works(const char *url, const char *ca) {
    const ratelimit_backend *ops = NULL;
    void *st = NULL;
    char err[512];
    CHECK_INT(open_rl(url, 1, ca, &ops, &st, err, sizeof err), LORE_OK);
    if (!ops) {
        fprintf(stderr, "%s: %s\n", url, err);
        return;
    }
    ratelimit_rule rule = {6, 10};
    ratelimit_decision d;
    CHECK_INT(ops->take(st, "w", 1, &rule, 1800000000000LL, &d), LORE_OK);
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(st, &s);
    CHECK(s.up && s.redis_takes == 1);
    if (!s.up) fprintf(stderr, "%s: %s\n", url, s.reason);
    ops->free(st);
}

static void test_auth(void) {
    unsigned port = free_port();
    /* the default user's password (requirepass) and an ACL user */
    char acl[300];
    snprintf(acl, sizeof acl, "%s/users.acl", dir);
    FILE *f = fopen(acl, "w");
    /* the app user has exactly what docs/configuration.md lists */
    fputs("user default on >s3cret ~* &* +@all\n"
          "user app on >apppw ~lore:ratelimit:* +evalsha +script|load +hmget +hset "
          "+pexpire +time +select\n",
          f);
    fclose(f);
    const char *extra[] = {"--aclfile", acl, NULL};
    pid_t pid = start_redis(port, 0, extra);
    CHECK(pid > 0);
    if (pid <= 0) return;
    char url[160];
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%u", port);
    expect_works(url, NULL);
    snprintf(url, sizeof url, "redis://app:apppw@127.0.0.1:%u", port);
    expect_works(url, NULL);
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%u", port);
    expect_refused(url, NULL, "WRONGPASS", "check the password in redis_url");
    snprintf(url, sizeof url, "redis://app:wrong@127.0.0.1:%u", port);
    expect_refused(url, NULL, "WRONGPASS", "check the user and password");
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", port);
    expect_refused(url, NULL, "NOAUTH", "set the password in redis_url");
    /* the password never appears in messages */
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%u", port);
    const ratelimit_backend *ops;
    void *st;
    char err[512];
    (void)open_rl(url, 1, NULL, &ops, &st, err, sizeof err);
    CHECK(!strstr(err, ":wrong"));
    stop_redis(pid);
}

static void test_tls(void) {
    char cert[300], key[300], cmdline[1200];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmdline, sizeof cmdline,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 2 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
             ">/dev/null 2>&1",
             key, cert);
    CHECK_INT(system(cmdline), 0);
    unsigned port = free_port();
    const char *extra[] = {"--tls-cert-file",
                           cert,
                           "--tls-key-file",
                           key,
                           "--tls-ca-cert-file",
                           cert,
                           "--tls-auth-clients",
                           "no",
                           "--requirepass",
                           "tlspw",
                           NULL};
    pid_t pid = start_redis(port, 1, extra);
    CHECK(pid > 0);
    if (pid <= 0) {
        fprintf(stderr, "redis-server did not start with TLS (built without it?)\n");
        return;
    }
    char url[160];
    snprintf(url, sizeof url, "rediss://:tlspw@127.0.0.1:%u", port);
    expect_works(url, cert);
    snprintf(url, sizeof url, "rediss://:tlspw@localhost:%u", port);
    expect_works(url, cert);
    snprintf(url, sizeof url, "rediss://:tlspw@127.0.0.1:%u", port);
    expect_refused(url, NULL, "not trusted", "redis_tls_ca_file"); /* the system CAs */
    snprintf(url, sizeof url, "rediss://:wrong@127.0.0.1:%u", port);
    expect_refused(url, cert, "WRONGPASS", NULL); /* AUTH inside TLS */
    snprintf(url, sizeof url, "redis://:tlspw@127.0.0.1:%u", port);
    {
        /* plain text to a TLS port: no answer that makes sense; degraded */
        const ratelimit_backend *ops;
        void *st;
        char err[512];
        lore_status s = open_rl(url, 1, NULL, &ops, &st, err, sizeof err);
        CHECK(s == LORE_OK || s == LORE_INVALID);
        if (s == LORE_OK) {
            ratelimit_redis_stats rs;
            ratelimit_redis_stats_get(st, &rs);
            CHECK(!rs.up);
            ops->free(st);
        }
    }
    stop_redis(pid);
    /* TLS to a plain port */
    port = free_port();
    pid = start_redis(port, 0, NULL);
    snprintf(url, sizeof url, "rediss://127.0.0.1:%u", port);
    const ratelimit_backend *ops;
    void *st;
    char err[512];
    CHECK_INT(open_rl(url, 1, cert, &ops, &st, err, sizeof err), LORE_OK);
    ratelimit_redis_stats rs;
    ratelimit_redis_stats_get(st, &rs);
    CHECK(!rs.up && strstr(rs.reason, "TLS handshake"));
    ops->free(st);
    stop_redis(pid);
}

static void test_bad_settings(void) {
    char err[512];
    const ratelimit_backend *ops;
    void *st;
    CHECK_INT(open_rl("http://x", 1, NULL, &ops, &st, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "redis://") != NULL);
    CHECK_INT(open_rl("rediss://127.0.0.1:1", 1, "/nonexistent.pem", &ops, &st, err, sizeof err),
              LORE_INVALID);
    CHECK(strstr(err, "redis_tls_ca_file") && strstr(err, "/nonexistent.pem"));
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    lore_log_set_level(LORE_LOG_OFF);
    test_seed();
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    atexit(stop_all);
    unsigned port = free_port();
    pid_t pid = start_redis(port, 0, NULL);
    if (pid <= 0) {
        fprintf(stderr, "cannot start redis-server: install it (scripts/deps.sh installs the "
                        "Debian package redis-server)\n");
        return 1;
    }
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", port);
    test_parity(url);
    test_shared(url);
    test_keys(port);
    stop_redis(pid);
    test_outage();
    test_restart();
    test_auth();
    test_tls();
    test_bad_settings();
    stop_all();
    if (test_failed)
        fprintf(stderr, "redis-server logs kept in %s\n", dir);
    else
        test_rmtree(dir);
    return test_summary();
}
