/* tests/unit/test_procstat.c: lib/procstat.c /proc/stat and /proc/meminfo parsers. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "procstat.h"
#include "tap.h"

int main(void)
{
        static const char stat1[] = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n";
        static const char stat2[] = "cpu  200 0 200 1500 100 0 0 0 0 0\n";
        static const char mem[] = "MemTotal:       16384 kB\nMemFree:  1 kB\nMemAvailable:    4096 kB\n";
        struct ps_cpu a = { 0 }, b = { 0 };
        uint64_t t = 7, av = 7;
        double pct = -1;

        is_int(ps_parse_stat(stat1, strlen(stat1), &a), 0, "stat parses");
        is_u64(a.total, 1000, "total jiffies");
        is_u64(a.idle, 800, "idle + iowait");
        is_int(ps_parse_stat(stat2, strlen(stat2), &b), 0, "stat 2 parses");
        is_int(ps_cpu_percent(&a, &b, &pct), 0, "percent");
        is_double(pct, 20.0, 1e-9, "busy 200 of 1000 jiffies = 20 %%");
        is_int(ps_cpu_percent(&b, &a, &pct), -ENODATA, "counters backwards: not available");
        is_int(ps_parse_stat("intr 1 2\n", 9, &a), -EBADMSG, "no cpu line");
        is_int(ps_parse_stat("cpu  1 x 3 4\n", 13, &a), -EBADMSG, "bad number");
        is_int(ps_parse_meminfo(mem, strlen(mem), &t, &av), 0, "meminfo parses");
        is_u64(t, 16384 * 1024, "MemTotal bytes");
        is_u64(av, 4096 * 1024, "MemAvailable bytes");
        t = 7;
        is_int(ps_parse_meminfo("MemTotal: 5 kB\n", 15, &t, &av), -ENODATA, "no MemAvailable");
        is_u64(t, 7, "untouched on failure");
        is_int(ps_parse_meminfo("MemTotal: 5 MB\n", 15, &t, &av), -EBADMSG, "bad unit");
        return done_testing();
}
