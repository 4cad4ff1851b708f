/* Process figures from Linux /proc and getrusage, and the collector that
 * publishes them under the names Prometheus client libraries use, so
 * standard dashboards work unchanged; see metrics.h. */
#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int64_t metrics_process_rss_bytes(void) {
    int64_t rss = -1;
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto out;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) goto out;
    text[n] = '\0';
    /* "size resident shared text lib data dt", in pages. */
    char *size_end, *rss_end;
    strtoll(text, &size_end, 10);
    long long pages = strtoll(size_end, &rss_end, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (size_end == text || rss_end == size_end || pages < 0 || page <= 0) goto out;
    rss = (int64_t)pages * page;
out:
    return rss;
}

double metrics_process_cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int64_t metrics_process_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory stream's own descriptor */
}

typedef struct process_families {
    metrics_family *rss, *cpu, *fds, *max_fds;
} process_families;

/* A figure that cannot be read leaves its series as it was rather than
 * publishing -1. */
static void collect_process(void *ctx) {
    process_families *p = ctx;
    int64_t rss = metrics_process_rss_bytes(), fds = metrics_process_open_fds();
    double cpu = metrics_process_cpu_seconds();
    struct rlimit rl;
    if (rss >= 0) metrics_set(p->rss, NULL, (double)rss);
    if (cpu >= 0) metrics_set(p->cpu, NULL, cpu);
    if (fds >= 0) metrics_set(p->fds, NULL, (double)fds);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        metrics_set(p->max_fds, NULL, (double)rl.rlim_cur);
}

lore_status metrics_register_process(metrics_registry *r) {
    lore_status st = LORE_NOMEM;
    process_families *p = calloc(1, sizeof *p);
    if (!p) goto out;
    st = metrics_gauge_new(r, "process_resident_memory_bytes", "Resident memory size in bytes.",
                           NULL, 0, 0, &p->rss);
    if (st != LORE_OK) goto out;
    st = metrics_counter_new(r, "process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.", NULL, 0, 0,
                             &p->cpu);
    if (st != LORE_OK) goto out;
    st = metrics_gauge_new(r, "process_open_fds", "Number of open file descriptors.", NULL, 0, 0,
                           &p->fds);
    if (st != LORE_OK) goto out;
    st = metrics_gauge_new(r, "process_max_fds", "Maximum number of open file descriptors.", NULL,
                           0, 0, &p->max_fds);
    if (st != LORE_OK) goto out;
    st = metrics_on_collect_owned(r, collect_process, p, free);
    if (st != LORE_OK) goto out;
    p = NULL;
out: /* families created before a failure stay, at zero; p is ours until handed over */
    free(p);
    return st;
}
