/* tests/unit/test_cgroup.c: lib/cgroup.c parsers (table-driven) and readers on a temp tree. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "tap.h"

#define SENT UINT64_C(0xdeadbeef)

struct u64_case {
        const char *in;
        bool allow_max;
        int want;
        uint64_t val;
};

static const struct u64_case u64_cases[] = {
        { "104857600\n", false, 0, 104857600 },
        { "0", false, 0, 0 },
        { "max\n", true, 0, CG_UNLIMITED },
        { "max\n", false, -EBADMSG, SENT },
        { "18446744073709551615\n", false, 0, UINT64_MAX },
        { "18446744073709551616\n", false, -ERANGE, SENT },
        { "", false, -EBADMSG, SENT },
        { "\n", false, -EBADMSG, SENT },
        { "-1\n", false, -EBADMSG, SENT },
        { "12 \n", false, -EBADMSG, SENT },
        { "12\n\n", false, -EBADMSG, SENT },
};

static void test_u64(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(u64_cases); i++) {
                const struct u64_case *c = &u64_cases[i];
                uint64_t v = SENT;

                is_int(cg_parse_u64(c->in, strlen(c->in), c->allow_max, &v), c->want,
                       "u64 case %zu ret", i);
                is_u64(v, c->val, "u64 case %zu value (untouched on failure)", i);
        }
}

struct keyed_case {
        const char *in;
        int want;
        uint32_t found;
        uint64_t v0, v1, v2;
};

static const struct keyed_case keyed_cases[] = {
        { "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n", 0, 7, 1500, 1000, 500 },
        { "usage_usec 1500\nnr_periods 3\nuser_usec 1000\nsystem_usec 500\ncore_sched.force_idle_usec 0\n",
          0, 7, 1500, 1000, 500 },
        { "usage_usec 7", 0, 1, 7, SENT, SENT }, /* missing final newline */
        { "", 0, 0, SENT, SENT, SENT },
        { "usage_usec\n", -EBADMSG, 0, SENT, SENT, SENT },
        { "usage_usec x\n", -EBADMSG, 0, SENT, SENT, SENT },
        { "usage_usec 18446744073709551616\n", -EBADMSG, 0, SENT, SENT, SENT },
        { " usage_usec 1\n", -EBADMSG, 0, SENT, SENT, SENT },
};

static void test_keyed(void)
{
        static const char *const keys[] = { "usage_usec", "user_usec", "system_usec" };

        for (size_t i = 0; i < ARRAY_SIZE(keyed_cases); i++) {
                const struct keyed_case *c = &keyed_cases[i];
                uint64_t v[3] = { SENT, SENT, SENT };
                uint32_t found = 0;

                is_int(cg_parse_keyed(c->in, strlen(c->in), keys, 3, v, &found), c->want,
                       "keyed case %zu ret", i);
                is_int(found, c->found, "keyed case %zu found", i);
                ok(v[0] == c->v0 && v[1] == c->v1 && v[2] == c->v2, "keyed case %zu values", i);
        }
}

struct io_case {
        const char *in;
        int want;
        uint64_t r, w;
};

static const struct io_case io_cases[] = {
        { "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n"
          "259:0 rbytes=24 wbytes=48 rios=3 wios=4 dbytes=0 dios=0\n", 0, 1024, 2048 },
        { "", 0, 0, 0 },
        { "8:0 rbytes=5 wbytes=6", 0, 5, 6 },
        { "8:0 rbytes=x wbytes=6\n", -EBADMSG, SENT, SENT },
        { "rbytes=1\n", -EBADMSG, SENT, SENT },
        { "8:0 rbytes\n", -EBADMSG, SENT, SENT },
};

static void test_io(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(io_cases); i++) {
                const struct io_case *c = &io_cases[i];
                uint64_t r = SENT, w = SENT;

                is_int(cg_parse_io_stat(c->in, strlen(c->in), &r, &w), c->want, "io case %zu", i);
                ok(r == c->r && w == c->w, "io case %zu values", i);
        }
}

struct psi_case {
        const char *in;
        int want;
        double some, full;
        bool has_full;
};

static const struct psi_case psi_cases[] = {
        { "some avg10=1.50 avg60=0.50 avg300=0.10 total=12345\n"
          "full avg10=0.25 avg60=0.00 avg300=0.00 total=100\n", 0, 1.5, 0.25, true },
        { "some avg10=99.99 avg60=0.00 avg300=0.00 total=1\n", 0, 99.99, -1, false },
        { "full avg10=0.25 avg60=0.00 avg300=0.00 total=100\n", -EBADMSG, -1, -1, false },
        { "some avg60=1.0 total=1\n", -EBADMSG, -1, -1, false },
        { "some avg10=abc avg60=0 total=1\n", -EBADMSG, -1, -1, false },
        { "some avg10=100.00 avg60=0 total=1\n", 0, 100, -1, false },
        /* found by fuzz_cgroup: a percentage above 100 is not PSI */
        { "some avg10=12345\nfull avg10=0.00 avg60=0.00\n", -EBADMSG, -1, -1, false },
        { "some avg10=1.0\nfull avg10=100.01\n", -EBADMSG, -1, -1, false },
        { "", -EBADMSG, -1, -1, false },
};

static void test_psi(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(psi_cases); i++) {
                const struct psi_case *c = &psi_cases[i];
                double some = -1, full = -1;
                bool has_full = false;

                is_int(cg_parse_pressure(c->in, strlen(c->in), &some, &full, &has_full), c->want,
                       "psi case %zu", i);
                is_double(some, c->some, 1e-9, "psi case %zu some", i);
                is_double(full, c->full, 1e-9, "psi case %zu full", i);
        }
}

struct cpus_case {
        const char *in;
        int want;
        uint64_t n;
};

static const struct cpus_case cpus_cases[] = {
        { "0-3\n", 0, 4 },      { "0-3,8,10-11\n", 0, 7 }, { "5", 0, 1 },
        { "\n", -ENODATA, SENT }, { "3-1\n", -EBADMSG, SENT }, { "0-3,\n", -EBADMSG, SENT },
        { "a\n", -EBADMSG, SENT },
};

static void test_cpus(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(cpus_cases); i++) {
                uint64_t n = SENT;

                is_int(cg_parse_cpu_list(cpus_cases[i].in, strlen(cpus_cases[i].in), &n),
                       cpus_cases[i].want, "cpus case %zu", i);
                is_u64(n, cpus_cases[i].n, "cpus case %zu count", i);
        }
}

static void put(int dfd, const char *name, const char *text)
{
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                abort();
        close(fd);
}

static void test_readers(void)
{
        char dir[] = "/tmp/hjo-test-cg-XXXXXX";
        struct cg_stats st;
        int dfd;

        if (!mkdtemp(dir))
                abort();
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        put(dfd, "cgroup.procs", "");
        put(dfd, "cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n");
        put(dfd, "memory.current", "4096\n");
        put(dfd, "memory.max", "max\n");
        put(dfd, "memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
        is_int(cg_read_v2(dfd, CG_READ_MEMSTAT | CG_READ_PRESSURE | CG_READ_IO, &st), 0,
               "v2 read with missing files");
        ok(cg_has(&st, CG_CPU_USAGE) && st.v[CG_CPU_USAGE] == 2000000, "v2 usage_usec");
        ok(cg_has(&st, CG_MEM_MAX) && st.v[CG_MEM_MAX] == CG_UNLIMITED, "v2 memory.max max");
        ok(!cg_has(&st, CG_MEM_PEAK), "missing memory.peak is not available, not 0");
        ok(!cg_has(&st, CG_PIDS) && !cg_has(&st, CG_IO_RBYTES) && !cg_has(&st, CG_CPU_SOME10),
           "missing pids/io/psi not available");
        ok(cg_has(&st, CG_OOM_KILL) && st.v[CG_OOM_KILL] == 1, "v2 oom_kill");
        put(dfd, "memory.peak", "garbage\n");
        is_int(cg_read_v2(dfd, 0, &st), -EBADMSG, "malformed file is -EBADMSG");
        unlinkat(dfd, "memory.peak", 0);

        /* v1 files in the same dir serve as all controllers */
        put(dfd, "cpuacct.usage", "3000000000\n");
        put(dfd, "cpuacct.stat", "user 200\nsystem 100\n");
        put(dfd, "memory.usage_in_bytes", "8192\n");
        put(dfd, "memory.max_usage_in_bytes", "16384\n");
        put(dfd, "memory.limit_in_bytes", "9223372036854771712\n");
        put(dfd, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        put(dfd, "memory.stat", "cache 1\nrss 2\ntotal_cache 100\ntotal_rss 200\n");
        is_int(cg_read_v1(dfd, dfd, -1, -1, CG_READ_MEMSTAT, 100, &st), 0, "v1 read");
        is_u64(st.v[CG_CPU_USAGE], 3000000, "v1 cpuacct.usage ns -> usec");
        is_u64(st.v[CG_CPU_USER], 2000000, "v1 cpuacct.stat ticks -> usec");
        is_u64(st.v[CG_MEM_MAX], CG_UNLIMITED, "v1 huge limit is unlimited");
        is_u64(st.v[CG_MEM_ANON], 200, "v1 total_rss");
        is_u64(st.v[CG_OOM_KILL], 2, "v1 oom_kill");
        close(dfd);
        {
                char cmd[128];

                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                if (system(cmd) != 0) /* lint-ok: test cleanup */
                        diag("cleanup failed");
        }
}

int main(void)
{
        test_u64();
        test_keyed();
        test_io();
        test_psi();
        test_cpus();
        test_readers();
        return done_testing();
}
