/*
 * lib/cgroup.c: parsers and readers for a job's cgroup stat files.  The formats are those of
 * Documentation/admin-guide/cgroup-v2.rst ("cpu.stat", "memory.stat", "memory.events",
 * "io.stat", "PSI") and, for v1, Documentation/admin-guide/cgroup-v1/{cpuacct,memory}.rst.
 * Every file is read in one read(2) into a stack buffer; kernfs returns the whole (small)
 * file at once, and a file larger than the buffer is -E2BIG rather than silently cut.
 */
#include "config.h"
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "num.h"

#define CG_FILE_MAX 8192 /* memory.stat is ~1.5 KiB on 6.x kernels */

static size_t line_end(const char *buf, size_t len, size_t pos)
{
        const char *nl = memchr(buf + pos, '\n', len - pos);

        return nl ? (size_t)(nl - buf) : len;
}

int cg_parse_u64(const char *buf, size_t len, bool allow_max, uint64_t *ret)
{
        uint64_t v;

        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (allow_max && len == 3 && memcmp(buf, "max", 3) == 0) {
                *ret = CG_UNLIMITED;
                return 0;
        }
        switch (num_parse_u64(buf, len, UINT64_MAX, &v)) {
        case 0:
                break;
        case -ERANGE:
                return -ERANGE;
        default:
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

/* Splits [s, e) at the first blank: key and value. */
static bool split_kv(const char *s, const char *e, const char **ret_v, size_t *ret_klen)
{
        const char *sp = memchr(s, ' ', (size_t)(e - s));

        if (!sp || sp == s || sp + 1 >= e)
                return false;
        *ret_klen = (size_t)(sp - s);
        *ret_v = sp + 1;
        return true;
}

int cg_parse_keyed(const char *buf, size_t len, const char *const *keys, size_t n,
                   uint64_t *vals, uint32_t *ret_found)
{
        uint64_t tmp[32];
        uint32_t found = 0;
        size_t pos = 0;

        if (n > ARRAY_SIZE(tmp))
                return -EINVAL;
        while (pos < len) {
                size_t end = line_end(buf, len, pos), klen;
                const char *v;
                uint64_t x;

                if (end == pos) {
                        pos++;
                        continue; /* tolerate an empty line */
                }
                if (!split_kv(buf + pos, buf + end, &v, &klen))
                        return -EBADMSG;
                if (num_parse_u64(v, (size_t)(buf + end - v), UINT64_MAX, &x) < 0)
                        return -EBADMSG;
                for (size_t i = 0; i < n; i++) {
                        if (strlen(keys[i]) == klen && memcmp(keys[i], buf + pos, klen) == 0) {
                                tmp[i] = x;
                                found |= 1u << i;
                                break;
                        }
                }
                pos = end + 1;
        }
        for (size_t i = 0; i < n; i++) {
                if (found & (1u << i))
                        vals[i] = tmp[i];
        }
        *ret_found = found;
        return 0;
}

int cg_parse_io_stat(const char *buf, size_t len, uint64_t *ret_rbytes, uint64_t *ret_wbytes)
{
        uint64_t rb = 0, wb = 0;
        size_t pos = 0;

        while (pos < len) {
                size_t end = line_end(buf, len, pos);
                const char *s = buf + pos, *e = buf + end, *sp;

                if (end == pos) {
                        pos++;
                        continue;
                }
                sp = memchr(s, ' ', (size_t)(e - s));
                if (!sp || !memchr(s, ':', (size_t)(sp - s)))
                        return -EBADMSG; /* "MAJ:MIN" first */
                s = sp + 1;
                while (s < e) {
                        const char *tok_end = memchr(s, ' ', (size_t)(e - s));
                        const char *eq;
                        uint64_t x;

                        if (!tok_end)
                                tok_end = e;
                        eq = memchr(s, '=', (size_t)(tok_end - s));
                        if (!eq)
                                return -EBADMSG;
                        if (num_parse_u64(eq + 1, (size_t)(tok_end - eq - 1), UINT64_MAX, &x) < 0)
                                return -EBADMSG;
                        if (eq - s == 6 && memcmp(s, "rbytes", 6) == 0)
                                rb += x;
                        else if (eq - s == 6 && memcmp(s, "wbytes", 6) == 0)
                                wb += x;
                        s = tok_end + (tok_end < e);
                }
                pos = end + 1;
        }
        *ret_rbytes = rb;
        *ret_wbytes = wb;
        return 0;
}

/* "avg10=12.34 avg60=… " in [s, e): the avg10 value. */
static int psi_avg10(const char *s, const char *e, double *ret)
{
        const char *tok_end;

        if (e - s < 6 || memcmp(s, "avg10=", 6) != 0)
                return -EBADMSG;
        s += 6;
        tok_end = memchr(s, ' ', (size_t)(e - s));
        if (!tok_end)
                tok_end = e;
        /* avg10 is a share of wall time in percent (Documentation/accounting/psi.rst): a
           value above 100 is not PSI (found by fuzz_cgroup: "some avg10=12345") */
        if (num_parse_double(s, (size_t)(tok_end - s), ret) < 0 || *ret < 0 || *ret > 100)
                return -EBADMSG;
        return 0;
}

int cg_parse_pressure(const char *buf, size_t len, double *ret_some, double *ret_full,
                      bool *ret_has_full)
{
        double some = 0, full = 0;
        bool has_some = false, has_full = false;
        size_t pos = 0;

        while (pos < len) {
                size_t end = line_end(buf, len, pos);
                const char *s = buf + pos, *e = buf + end;

                if (end == pos) {
                        pos++;
                        continue;
                }
                if (e - s > 5 && memcmp(s, "some ", 5) == 0) {
                        if (psi_avg10(s + 5, e, &some) < 0)
                                return -EBADMSG;
                        has_some = true;
                } else if (e - s > 5 && memcmp(s, "full ", 5) == 0) {
                        if (psi_avg10(s + 5, e, &full) < 0)
                                return -EBADMSG;
                        has_full = true;
                } else {
                        return -EBADMSG;
                }
                pos = end + 1;
        }
        if (!has_some)
                return -EBADMSG;
        *ret_some = some;
        if (has_full)
                *ret_full = full;
        *ret_has_full = has_full;
        return 0;
}

int cg_parse_cpu_list(const char *buf, size_t len, uint64_t *ret_count)
{
        uint64_t count = 0;
        size_t pos = 0;

        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len == 0)
                return -ENODATA;
        while (pos < len) {
                const char *s = buf + pos;
                const char *comma = memchr(s, ',', len - pos);
                size_t tlen = comma ? (size_t)(comma - s) : len - pos;
                const char *dash = memchr(s, '-', tlen);
                uint64_t a, b;

                if (dash) {
                        if (num_parse_u64(s, (size_t)(dash - s), 65535, &a) < 0 ||
                            num_parse_u64(dash + 1, tlen - (size_t)(dash - s) - 1, 65535, &b) < 0 ||
                            b < a)
                                return -EBADMSG;
                } else {
                        if (num_parse_u64(s, tlen, 65535, &a) < 0)
                                return -EBADMSG;
                        b = a;
                }
                count += b - a + 1;
                pos += tlen + 1;
                if (comma && pos >= len)
                        return -EBADMSG; /* trailing comma */
        }
        *ret_count = count;
        return 0;
}

int cg_read_file(int dirfd, const char *name, char *buf, size_t cap, size_t *ret_len)
{
        ssize_t n;
        int fd, r;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                return r == -ENOENT || r == -ENODEV ? -ENODATA : r;
        }
        do {
                n = read(fd, buf, cap - 1);
        } while (n < 0 && errno == EINTR);
        r = n < 0 ? -errno : 0;
        (void)close(fd);
        if (r == -ENODEV || r == -ENOENT)
                return -ENODATA; /* the cgroup was removed between open and read */
        if (r < 0)
                return r;
        if ((size_t)n >= cap - 1)
                return -E2BIG;
        buf[n] = '\0';
        *ret_len = (size_t)n;
        return 0;
}

static void set(struct cg_stats *s, enum cg_field f, uint64_t v)
{
        s->v[f] = v;
        s->has |= 1u << f;
}

static void set_pct(struct cg_stats *s, enum cg_field f, double v)
{
        s->pct[f] = v;
        s->has |= 1u << f;
}

/* Reads a single-number file into field f; a missing file is fine. */
static int read_one(int dirfd, const char *name, bool allow_max, struct cg_stats *s,
                    enum cg_field f)
{
        char buf[64];
        size_t len;
        uint64_t v;
        int r;

        r = cg_read_file(dirfd, name, buf, sizeof(buf), &len);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        r = cg_parse_u64(buf, len, allow_max, &v);
        if (r < 0)
                return -EBADMSG;
        set(s, f, v);
        return 0;
}

/* Reads a keyed file; keys[i] go to fields[i]; v1 values may need a scale (ticks). */
static int read_keyed(int dirfd, const char *name, const char *const *keys,
                      const enum cg_field *fields, size_t n, struct cg_stats *s)
{
        char buf[CG_FILE_MAX];
        uint64_t vals[8];
        uint32_t found;
        size_t len;
        int r;

        r = cg_read_file(dirfd, name, buf, sizeof(buf), &len);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        r = cg_parse_keyed(buf, len, keys, n, vals, &found);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (found & (1u << i))
                        set(s, fields[i], vals[i]);
        }
        return 0;
}

static int read_pressure(int dirfd, const char *name, enum cg_field some_f, enum cg_field full_f,
                         struct cg_stats *s)
{
        char buf[256];
        double some, full = 0;
        bool has_full;
        size_t len;
        int r;

        r = cg_read_file(dirfd, name, buf, sizeof(buf), &len);
        if (r == -ENODATA || r == -EOPNOTSUPP)
                return 0; /* PSI off (psi=0) makes the files fail with EOPNOTSUPP */
        if (r < 0)
                return r;
        r = cg_parse_pressure(buf, len, &some, &full, &has_full);
        if (r < 0)
                return r;
        set_pct(s, some_f, some);
        if (has_full)
                set_pct(s, full_f, full);
        return 0;
}

static int read_cpus(int dirfd, const char *name, struct cg_stats *s)
{
        char buf[1024];
        uint64_t n;
        size_t len;
        int r;

        r = cg_read_file(dirfd, name, buf, sizeof(buf), &len);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        r = cg_parse_cpu_list(buf, len, &n);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        set(s, CG_NCPUS, n);
        return 0;
}

static int read_io(int dirfd, struct cg_stats *s)
{
        char buf[CG_FILE_MAX];
        uint64_t rb, wb;
        size_t len;
        int r;

        r = cg_read_file(dirfd, "io.stat", buf, sizeof(buf), &len);
        if (r == -ENODATA)
                return 0;
        if (r < 0)
                return r;
        r = cg_parse_io_stat(buf, len, &rb, &wb);
        if (r < 0)
                return r;
        set(s, CG_IO_RBYTES, rb);
        set(s, CG_IO_WBYTES, wb);
        return 0;
}

int cg_read_v2(int dirfd, unsigned flags, struct cg_stats *ret)
{
        static const char *const cpu_keys[] = { "usage_usec", "user_usec", "system_usec" };
        static const enum cg_field cpu_f[] = { CG_CPU_USAGE, CG_CPU_USER, CG_CPU_SYSTEM };
        static const char *const ev_keys[] = { "oom", "oom_kill" };
        static const enum cg_field ev_f[] = { CG_OOM, CG_OOM_KILL };
        static const char *const ms_keys[] = { "anon", "file" };
        static const enum cg_field ms_f[] = { CG_MEM_ANON, CG_MEM_FILE };
        struct cg_stats s = { 0 };
        int r;

        r = read_keyed(dirfd, "cpu.stat", cpu_keys, cpu_f, ARRAY_SIZE(cpu_keys), &s);
        if (r == 0)
                r = read_one(dirfd, "memory.current", false, &s, CG_MEM_CURRENT);
        if (r == 0)
                r = read_one(dirfd, "memory.peak", false, &s, CG_MEM_PEAK);
        if (r == 0 && !(flags & CG_READ_FAST))
                r = read_one(dirfd, "memory.max", true, &s, CG_MEM_MAX);
        if (r == 0)
                r = read_one(dirfd, "memory.swap.current", false, &s, CG_SWAP);
        if (r == 0)
                r = read_keyed(dirfd, "memory.events", ev_keys, ev_f, ARRAY_SIZE(ev_keys), &s);
        if (r == 0 && (flags & CG_READ_MEMSTAT) && !(flags & CG_READ_FAST))
                r = read_keyed(dirfd, "memory.stat", ms_keys, ms_f, ARRAY_SIZE(ms_keys), &s);
        if (r == 0)
                r = read_one(dirfd, "pids.current", false, &s, CG_PIDS);
        if (r == 0 && (flags & CG_READ_IO) && !(flags & CG_READ_FAST))
                r = read_io(dirfd, &s);
        if (r == 0 && (flags & CG_READ_PRESSURE) && !(flags & CG_READ_FAST))
                r = read_pressure(dirfd, "cpu.pressure", CG_CPU_SOME10, CG_CPU_FULL10, &s);
        if (r == 0 && (flags & CG_READ_PRESSURE) && !(flags & CG_READ_FAST))
                r = read_pressure(dirfd, "memory.pressure", CG_MEM_SOME10, CG_MEM_FULL10, &s);
        if (r == 0 && !(flags & CG_READ_FAST))
                r = read_cpus(dirfd, "cpuset.cpus.effective", &s);
        if (r < 0)
                return r;
        if (!cg_has(&s, CG_CPU_USAGE) && faccessat(dirfd, "cgroup.procs", F_OK, 0) < 0)
                return -ENOENT; /* the job's directory is gone (job ended) */
        *ret = s;
        return 0;
}

/*
 * The cheap cycle of a v2 job: only the files that change every interval (cpu.stat,
 * memory.current, memory.peak, memory.swap.current, memory.events, pids.current); the limits
 * and the slow-changing measurements are cg_read_v2()'s, every collector_slow_every cycles.
 */
int cg_read_v2_fast(int dirfd, struct cg_stats *ret)
{
        return cg_read_v2(dirfd, CG_READ_FAST, ret);
}

int cg_read_v1(int cpuacct_fd, int memory_fd, int pids_fd, int cpuset_fd, unsigned flags,
               long clk_tck, struct cg_stats *ret)
{
        static const char *const st_keys[] = { "user", "system" };
        static const enum cg_field st_f[] = { CG_CPU_USER, CG_CPU_SYSTEM };
        static const char *const oom_keys[] = { "oom_kill" };
        static const enum cg_field oom_f[] = { CG_OOM_KILL };
        static const char *const ms_keys[] = { "total_rss", "total_cache" };
        static const enum cg_field ms_f[] = { CG_MEM_ANON, CG_MEM_FILE };
        struct cg_stats s = { 0 };
        int r = 0;

        if (clk_tck <= 0)
                return -EINVAL;
        if (cpuacct_fd >= 0) {
                r = read_one(cpuacct_fd, "cpuacct.usage", false, &s, CG_CPU_USAGE);
                if (r == 0 && cg_has(&s, CG_CPU_USAGE))
                        s.v[CG_CPU_USAGE] /= 1000; /* ns -> usec */
                if (r == 0)
                        r = read_keyed(cpuacct_fd, "cpuacct.stat", st_keys, st_f, 2, &s);
                /* USER_HZ ticks -> usec */
                if (cg_has(&s, CG_CPU_USER))
                        s.v[CG_CPU_USER] = s.v[CG_CPU_USER] * 1000000u / (uint64_t)clk_tck;
                if (cg_has(&s, CG_CPU_SYSTEM))
                        s.v[CG_CPU_SYSTEM] = s.v[CG_CPU_SYSTEM] * 1000000u / (uint64_t)clk_tck;
        }
        if (r == 0 && memory_fd >= 0) {
                r = read_one(memory_fd, "memory.usage_in_bytes", false, &s, CG_MEM_CURRENT);
                if (r == 0)
                        r = read_one(memory_fd, "memory.max_usage_in_bytes", false, &s,
                                     CG_MEM_PEAK);
                if (r == 0)
                        r = read_one(memory_fd, "memory.limit_in_bytes", false, &s, CG_MEM_MAX);
                if (r == 0 && cg_has(&s, CG_MEM_MAX) && s.v[CG_MEM_MAX] >= CG_V1_UNLIMITED_MIN)
                        s.v[CG_MEM_MAX] = CG_UNLIMITED;
                if (r == 0)
                        r = read_keyed(memory_fd, "memory.oom_control", oom_keys, oom_f, 1, &s);
                if (r == 0 && (flags & CG_READ_MEMSTAT))
                        r = read_keyed(memory_fd, "memory.stat", ms_keys, ms_f, 2, &s);
        }
        if (r == 0 && pids_fd >= 0)
                r = read_one(pids_fd, "pids.current", false, &s, CG_PIDS);
        if (r == 0 && cpuset_fd >= 0)
                r = read_cpus(cpuset_fd, "cpuset.effective_cpus", &s);
        if (r < 0)
                return r;
        if (cpuacct_fd >= 0 && !cg_has(&s, CG_CPU_USAGE) &&
            faccessat(cpuacct_fd, "cgroup.procs", F_OK, 0) < 0)
                return -ENOENT;
        *ret = s;
        return 0;
}
