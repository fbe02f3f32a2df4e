/*
 * lib/cgroup.h: cgroup v2 and v1 stat files of one job: pure parsers (text in, numbers out;
 * no I/O, no logging) and readers that open each file with openat(O_CLOEXEC | O_NOFOLLOW)
 * below a job directory fd, read it into a bounded stack buffer and hand it to the parser.
 * A file that does not exist (controller off, old kernel, v1 host) is "not available": its
 * bit in `has` stays clear and nothing is invented (never a zero).  Thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define CG_UNLIMITED UINT64_MAX /* memory.max "max"; v1 limit_in_bytes >= CG_V1_UNLIMITED_MIN */
#define CG_V1_UNLIMITED_MIN (UINT64_C(1) << 62) /* v1 prints PAGE_COUNTER_MAX*PAGE_SIZE */

/* Bits of struct cg_stats.has. */
enum cg_field {
        CG_CPU_USAGE,   /* usage_usec (v2) / cpuacct.usage / 1000 (v1) */
        CG_CPU_USER,    /* user_usec / cpuacct.stat user ticks */
        CG_CPU_SYSTEM,  /* system_usec / cpuacct.stat system ticks */
        CG_MEM_CURRENT, /* memory.current / memory.usage_in_bytes */
        CG_MEM_PEAK,    /* memory.peak (kernel >= 5.19) / memory.max_usage_in_bytes */
        CG_MEM_MAX,     /* memory.max / memory.limit_in_bytes; CG_UNLIMITED when "max" */
        CG_SWAP,        /* memory.swap.current */
        CG_MEM_ANON,    /* memory.stat anon / total_rss */
        CG_MEM_FILE,    /* memory.stat file / total_cache */
        CG_OOM,         /* memory.events oom */
        CG_OOM_KILL,    /* memory.events oom_kill / memory.oom_control oom_kill */
        CG_PIDS,        /* pids.current */
        CG_IO_RBYTES,   /* io.stat rbytes summed over devices */
        CG_IO_WBYTES,   /* io.stat wbytes summed over devices */
        CG_CPU_SOME10,  /* cpu.pressure some avg10 (percent) */
        CG_CPU_FULL10,  /* cpu.pressure full avg10 */
        CG_MEM_SOME10,  /* memory.pressure some avg10 */
        CG_MEM_FULL10,  /* memory.pressure full avg10 */
        CG_NCPUS,       /* number of CPUs in cpuset.cpus.effective */
        CG__MAX,
};

/* A plain value type: callers read every field; v[f] is meaningful only when has & (1<<f).
   Pressure fields are stored in pct[] (avg10, percent), the others in v[]. */
struct cg_stats {
        uint32_t has;
        uint64_t v[CG__MAX];
        double pct[CG__MAX];
};

static inline bool cg_has(const struct cg_stats *s, enum cg_field f)
{
        return (s->has >> f) & 1u;
}

/* ---- pure parsers: (buf, len) need not be NUL-terminated --------------------------------- */

/*
 * One unsigned decimal, optionally followed by one '\n' (memory.current, pids.current).
 * With allow_max, "max" gives CG_UNLIMITED.  0, -EBADMSG (not a number), -ERANGE.
 */
MUST_CHECK int cg_parse_u64(const char *buf, size_t len, bool allow_max, uint64_t *ret);

/*
 * Flat keyed file: "key value\n" lines (cpu.stat, memory.stat, memory.events, cpuacct.stat,
 * memory.oom_control).  For each of the n keys found, vals[i] is set and bit i of *ret_found.
 * Unknown keys are skipped (kernels add keys).  0 or -EBADMSG (a line is not "key u64").
 */
MUST_CHECK int cg_parse_keyed(const char *buf, size_t len, const char *const *keys, size_t n,
                              uint64_t *vals, uint32_t *ret_found);

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device; sums rbytes and wbytes.
   An empty file is 0/0 (io controller on, no I/O yet).  0 or -EBADMSG. */
MUST_CHECK int cg_parse_io_stat(const char *buf, size_t len, uint64_t *ret_rbytes,
                                uint64_t *ret_wbytes);

/*
 * PSI ("some avg10=0.12 avg60=… avg300=… total=N\nfull avg10=…\n").  *ret_some is required;
 * *ret_has_full says whether a "full" line was present (cpu.pressure has it since 5.13).
 * 0 or -EBADMSG.
 */
MUST_CHECK int cg_parse_pressure(const char *buf, size_t len, double *ret_some, double *ret_full,
                                 bool *ret_has_full);

/* A CPU list ("0-3,8,10-11\n"): the number of CPUs.  An empty list is -ENODATA. */
MUST_CHECK int cg_parse_cpu_list(const char *buf, size_t len, uint64_t *ret_count);

/* ---- readers ------------------------------------------------------------------------------ */

/*
 * Reads file `name` below dirfd into buf (size cap, NUL-terminated), *ret_len bytes.
 * -ENODATA when it does not exist (or the directory vanished: ENOENT/ENODEV),
 * -E2BIG when larger than cap - 1, other -errno.
 */
MUST_CHECK int cg_read_file(int dirfd, const char *name, char *buf, size_t cap, size_t *ret_len);

/* Reader options. */
#define CG_READ_MEMSTAT  0x1 /* memory.stat (costlier: ~50 keys): anon/file */
#define CG_READ_PRESSURE 0x2 /* cpu.pressure and memory.pressure */
#define CG_READ_IO       0x4 /* io.stat */
#define CG_READ_FAST     0x8 /* only what changes every interval: no limits, cpuset, stat, PSI, IO */

/*
 * cgroup v2: fills *ret from the files below the job directory dirfd.  A missing file leaves
 * its fields unset.  0 even when nothing was available; -ENOENT when the directory itself is
 * gone (cgroup.procs missing too and cpu.stat missing); -EBADMSG when a file is malformed.
 */
MUST_CHECK int cg_read_v2(int dirfd, unsigned flags, struct cg_stats *ret);

/*
 * cgroup v2, the cheap cycle: cpu.stat, memory.current, memory.peak, memory.swap.current,
 * memory.events and pids.current only (what changes every interval); same answers as
 * cg_read_v2().
 */
MUST_CHECK int cg_read_v2_fast(int dirfd, struct cg_stats *ret);

/*
 * cgroup v1: the job's directories in the cpuacct, memory, pids and cpuset hierarchies (each
 * -1 when that controller is not mounted).  cpuacct.stat ticks are converted with clk_tck.
 */
MUST_CHECK int cg_read_v1(int cpuacct_fd, int memory_fd, int pids_fd, int cpuset_fd,
                          unsigned flags, long clk_tck, struct cg_stats *ret);
