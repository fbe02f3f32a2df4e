/*
 * bench/collectord/cgbench.c: the CPU cost of hjo-collectord's cgroup part, per job-sample,
 * beside a bare ceiling loop (issue 3 "< 50 us of CPU per job-sample for the cgroup part";
 * issue 6 item 5 "a bare C loop that opens and reads the same cgroup files", goal <= 1.5x).
 *
 *   cgbench ROOT [ROUNDS]
 *
 * ROOT is a cgroup v2 tree with job directories (bench/collectord/run.sh makes N copies of the
 * fixture job).  Job discovery (cgd_scan) is done once, outside the measurement.  Each figure is
 * CLOCK_PROCESS_CPUTIME_ID (user + system CPU of this process) around ROUNDS passes over every
 * job, divided by ROUNDS x N:
 *   fast     the collector's cheap cycle: cgd_open_dir + cg_read_v2_fast + close (6 files)
 *   full     the collector's full read: cgd_open_dir + cg_read_v2 (all options) + close
 *   mix/6    the default collector_slow_every = 6: (5 fast + 1 full) / 6
 *   ceiling  the same opens and reads with nothing else: open the job directory by path,
 *            openat + read into a stack buffer + close for each of the same files, no parsing
 *   scan     job discovery (cgd_scan of the whole tree) per job, for scale: it runs once per
 *            cycle, beside the reads
 * It is not the collector's whole cycle (no GPU tools, CPU percentages, batching or sink).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgdiscover.h"
#include "cgroup.h"
#include "num.h"

static const char *const fast_files[] = { "cpu.stat",     "memory.current",
                                          "memory.peak",  "memory.swap.current",
                                          "memory.events", "pids.current" };
static const char *const full_files[] = {
        "cpu.stat",      "memory.current", "memory.peak",  "memory.max",
        "memory.swap.current", "memory.events", "memory.stat", "pids.current",
        "io.stat",       "cpu.pressure",   "memory.pressure", "cpuset.cpus.effective",
};

static double cpu_now_us(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The collector's read of one job (collectord/collect.c read_job, v2). */
static int collector_read(const struct cgd_root *root, const struct cgd_job *j, int full)
{
        struct cg_stats st;
        int fd, r;

        fd = cgd_open_dir(root, NULL, j->rel);
        if (fd < 0)
                return fd;
        if (full)
                r = cg_read_v2(fd, CG_READ_MEMSTAT | CG_READ_PRESSURE | CG_READ_IO, &st);
        else
                r = cg_read_v2_fast(fd, &st);
        (void)close(fd);
        return r;
}

/* The ceiling: the same opens and reads, nothing else. */
static int bare_read(const struct cgd_root *root, const struct cgd_job *j,
                     const char *const *files, size_t n)
{
        char path[CGD_PATH_MAX * 2 + 8];
        char buf[8192];
        int dfd, fd, k;

        k = snprintf(path, sizeof(path), "%s/%s", root->path, j->rel);
        if (k < 0 || (size_t)k >= sizeof(path))
                return -ENAMETOOLONG;
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        for (size_t i = 0; i < n; i++) {
                fd = openat(dfd, files[i], O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (read(fd, buf, sizeof(buf)) < 0) {
                        (void)close(fd);
                        (void)close(dfd);
                        return -EIO;
                }
                (void)close(fd);
        }
        (void)close(dfd);
        return 0;
}

enum mode { M_FAST, M_FULL, M_CEIL_FAST, M_CEIL_FULL, M_N };

static double run(const struct cgd_root *root, const struct cgd_list *l, enum mode m,
                  uint64_t rounds, int *err)
{
        double t0 = cpu_now_us();

        for (uint64_t k = 0; k < rounds; k++) {
                for (size_t i = 0; i < l->n; i++) {
                        int r;

                        switch (m) {
                        case M_FAST:
                                r = collector_read(root, &l->v[i], 0);
                                break;
                        case M_FULL:
                                r = collector_read(root, &l->v[i], 1);
                                break;
                        case M_CEIL_FAST:
                                r = bare_read(root, &l->v[i], fast_files,
                                              sizeof(fast_files) / sizeof(fast_files[0]));
                                break;
                        default:
                                r = bare_read(root, &l->v[i], full_files,
                                              sizeof(full_files) / sizeof(full_files[0]));
                                break;
                        }
                        if (r < 0 && !*err)
                                *err = r;
                }
        }
        return (cpu_now_us() - t0) / (double)(rounds * l->n);
}

int main(int argc, char **argv)
{
        struct cgd_root root;
        struct cgd_list list = { 0 };
        uint64_t rounds = 20;
        double us[M_N], scan_us;
        int err = 0, r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s ROOT [ROUNDS]\n", argv[0]);
                return 2;
        }
        if (argc == 3 && num_parse_u64(argv[2], strlen(argv[2]), 1000000, &rounds) < 0) {
                fprintf(stderr, "cgbench: ROUNDS: not a number 1..1000000: %s\n", argv[2]);
                return 2;
        }
        if (rounds == 0)
                rounds = 1;
        r = cgd_detect(argv[1], &root);
        if (r == 0)
                r = cgd_scan(&root, "slurm-", &list);
        if (r < 0 || list.n == 0) {
                fprintf(stderr, "cgbench: no job cgroups under %s (%s)\n", argv[1],
                        r < 0 ? strerror(-r) : "none found");
                return 1;
        }
        {
                double t0 = cpu_now_us();

                for (uint64_t k = 0; k < rounds && r >= 0; k++)
                        r = cgd_scan(&root, "slurm-", &list); /* the job count or -errno */
                scan_us = (cpu_now_us() - t0) / (double)(rounds * list.n);
        }
        if (r < 0) {
                fprintf(stderr, "cgbench: discovery failed: %s\n", strerror(-r));
                return 1;
        }
        /* one warm-up pass of each (dentries and page cache) */
        for (int m = 0; m < M_N; m++)
                (void)run(&root, &list, (enum mode)m, 1, &err);
        for (int m = 0; m < M_N; m++)
                us[m] = run(&root, &list, (enum mode)m, rounds, &err);
        if (err) {
                fprintf(stderr, "cgbench: a read failed: %s\n", strerror(-err));
                return 1;
        }
        /* N fast full mix/6 ceil_fast ceil_full ceil_mix fast/ceil full/ceil scan */
        {
                double mix = (5 * us[M_FAST] + us[M_FULL]) / 6;
                double ceil_mix = (5 * us[M_CEIL_FAST] + us[M_CEIL_FULL]) / 6;

                printf("%6zu %8.2f %8.2f %8.2f %10.2f %10.2f %9.2f %6.2f %6.2f %8.2f\n",
                       list.n, us[M_FAST], us[M_FULL], mix, us[M_CEIL_FAST], us[M_CEIL_FULL],
                       ceil_mix, us[M_FAST] / us[M_CEIL_FAST], us[M_FULL] / us[M_CEIL_FULL],
                       scan_us);
        }
        cgd_list_clear(&list);
        return 0;
}
