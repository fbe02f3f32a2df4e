/*
 * lib/procstat.c: /proc/stat "cpu  user nice system idle iowait irq softirq steal guest
 * guest_nice" (guest time is already included in user/nice, so it is not added again) and
 * /proc/meminfo "Key:   N kB" lines.
 */
#include "config.h"
#include "procstat.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "num.h"

int ps_parse_stat(const char *buf, size_t len, struct ps_cpu *ret)
{
        struct ps_cpu c = { 0 };
        const char *s, *e, *nl;
        int field = 0;

        if (len < 4 || memcmp(buf, "cpu ", 4) != 0)
                return -EBADMSG;
        nl = memchr(buf, '\n', len);
        e = nl ? nl : buf + len;
        s = buf + 4;
        while (s < e) {
                const char *t;
                uint64_t v;

                while (s < e && *s == ' ')
                        s++;
                if (s == e)
                        break;
                t = memchr(s, ' ', (size_t)(e - s));
                if (!t)
                        t = e;
                if (num_parse_u64(s, (size_t)(t - s), UINT64_MAX / 16, &v) < 0)
                        return -EBADMSG;
                if (field < 8) /* user..steal; guest and guest_nice are inside user/nice */
                        c.total += v;
                if (field == 3 || field == 4) /* idle, iowait */
                        c.idle += v;
                field++;
                s = t;
        }
        if (field < 4)
                return -EBADMSG;
        *ret = c;
        return 0;
}

/* "Key:     123 kB" -> bytes */
static int meminfo_value(const char *s, const char *e, uint64_t *ret)
{
        const char *t;
        uint64_t v;

        while (s < e && *s == ' ')
                s++;
        t = memchr(s, ' ', (size_t)(e - s));
        if (!t || e - t != 3 || memcmp(t, " kB", 3) != 0)
                return -EBADMSG;
        if (num_parse_u64(s, (size_t)(t - s), UINT64_MAX / 1024, &v) < 0)
                return -EBADMSG;
        *ret = v * 1024;
        return 0;
}

int ps_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total_bytes,
                     uint64_t *ret_avail_bytes)
{
        uint64_t total = 0, avail = 0;
        bool has_total = false, has_avail = false;
        size_t pos = 0;

        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                const char *s = buf + pos, *e = nl ? nl : buf + len;

                if (e - s > 9 && memcmp(s, "MemTotal:", 9) == 0) {
                        if (meminfo_value(s + 9, e, &total) < 0)
                                return -EBADMSG;
                        has_total = true;
                } else if (e - s > 13 && memcmp(s, "MemAvailable:", 13) == 0) {
                        if (meminfo_value(s + 13, e, &avail) < 0)
                                return -EBADMSG;
                        has_avail = true;
                }
                pos = (size_t)(e - buf) + 1;
        }
        if (!has_total)
                return -EBADMSG;
        if (!has_avail)
                return -ENODATA;
        if (avail > total)
                return -EBADMSG;
        *ret_total_bytes = total;
        *ret_avail_bytes = avail;
        return 0;
}

int ps_cpu_percent(const struct ps_cpu *prev, const struct ps_cpu *cur, double *ret_pct)
{
        uint64_t dt, di;
        double pct;

        if (cur->total <= prev->total || cur->idle < prev->idle)
                return -ENODATA;
        dt = cur->total - prev->total;
        di = cur->idle - prev->idle;
        if (di > dt)
                di = dt;
        pct = 100.0 * (double)(dt - di) / (double)dt;
        *ret_pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
        return 0;
}

static int read_all(const char *path, char *buf, size_t cap, size_t *ret_len)
{
        size_t len = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf + len, cap - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len >= cap - 1) {
                        r = -E2BIG;
                        break;
                }
        }
        (void)close(fd);
        if (r < 0)
                return r;
        buf[len] = '\0';
        *ret_len = len;
        return 0;
}

int ps_read_stat(const char *path, struct ps_cpu *ret)
{
        char first[1024]; /* only the first ("cpu ") line is needed: one short read */
        ssize_t n;
        int fd, r;

        fd = open(path ? path : "/proc/stat", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        do {
                n = read(fd, first, sizeof(first) - 1);
        } while (n < 0 && errno == EINTR);
        r = n < 0 ? -errno : 0;
        (void)close(fd);
        if (r < 0)
                return r;
        return ps_parse_stat(first, (size_t)n, ret);
}

int ps_read_meminfo(const char *path, uint64_t *ret_total_bytes, uint64_t *ret_avail_bytes)
{
        char buf[8192];
        size_t len = 0;
        int r;

        r = read_all(path ? path : "/proc/meminfo", buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        return ps_parse_meminfo(buf, len, ret_total_bytes, ret_avail_bytes);
}
