/*
 * lib/procstat.h: node-level figures from /proc: the aggregate "cpu" line of /proc/stat and
 * MemTotal/MemAvailable of /proc/meminfo (proc(5)).  Pure parsers plus readers.  Thread-safe.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Jiffies of the aggregate "cpu" line: busy = total - idle - iowait. */
struct ps_cpu {
        uint64_t total, idle;
};

/* 0 or -EBADMSG (no "cpu " line or a bad number). */
MUST_CHECK int ps_parse_stat(const char *buf, size_t len, struct ps_cpu *ret);
/* Bytes.  0, -EBADMSG, -ENODATA (MemAvailable missing: kernel < 3.14). */
MUST_CHECK int ps_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total_bytes,
                                uint64_t *ret_avail_bytes);
/* Busy percent between two readings, clamped to [0, 100]; -ENODATA when no time passed or
   the counters went backwards. */
MUST_CHECK int ps_cpu_percent(const struct ps_cpu *prev, const struct ps_cpu *cur,
                              double *ret_pct);

/* Readers of /proc/stat and /proc/meminfo (path arguments for tests; NULL = the real file). */
MUST_CHECK int ps_read_stat(const char *path, struct ps_cpu *ret);
MUST_CHECK int ps_read_meminfo(const char *path, uint64_t *ret_total_bytes,
                               uint64_t *ret_avail_bytes);
