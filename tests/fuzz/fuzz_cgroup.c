/*
 * tests/fuzz/fuzz_cgroup.c: the cgroup file parsers (cpu.stat/memory.stat style keyed files,
 * single values with "max", io.stat, PSI, cpuset lists) and the /proc parsers of the node
 * sample, over arbitrary bytes.  Invariants: no crash or UB; PSI averages within 0..100.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>

#include "cgroup.h"
#include "procstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const keys[] = { "usage_usec", "user_usec", "system_usec", "anon",
                                            "file", "oom_kill" };
        const char *s = (const char *)data;
        uint64_t vals[6], a, b;
        uint32_t found;
        double some, full;
        bool has_full;
        struct ps_cpu cpu;

        if (cg_parse_keyed(s, size, keys, 6, vals, &found) == 0 && found >= (1u << 6))
                abort();
        if (cg_parse_u64(s, size, true, &a) < 0 && cg_parse_u64(s, size, false, &a) == 0)
                abort(); /* accepting "max" can only widen what parses */
        (void)!cg_parse_io_stat(s, size, &a, &b);
        if (cg_parse_pressure(s, size, &some, &full, &has_full) == 0 &&
            (!(some >= 0 && some <= 100) || (has_full && !(full >= 0 && full <= 100))))
                abort();
        (void)!cg_parse_cpu_list(s, size, &a);
        (void)!ps_parse_stat(s, size, &cpu);
        (void)!ps_parse_meminfo(s, size, &a, &b);
        return 0;
}
