/*
 * lib/rfc3339.c: strict RFC 3339 section 5.6 "date-time" parsing and UTC formatting.
 * Grammar accepted: YYYY-MM-DD ('T' | 't' | ' ') hh:mm:ss [ '.' 1*DIGIT ] ( 'Z' | 'z' | ('+' |
 * '-') hh:mm ).  Calendar arithmetic uses the proleptic Gregorian days-from-civil algorithm
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"), so no timegm()/TZ state.
 */
#include "config.h"
#include "rfc3339.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define USEC_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY  INT64_C(86400)

static bool is_leap(int64_t y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
        static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
        int64_t era, doe, yoe, y, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *ret_m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *ret_y = y + (*ret_m <= 2);
}

/* Reads exactly n digits at s[*pos]; false on a non-digit or end of input. */
static bool digits(const char *s, size_t len, size_t *pos, size_t n, int *ret)
{
        int v = 0;

        if (len - *pos < n)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[*pos + i];

                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (c - '0');
        }
        *pos += n;
        *ret = v;
        return true;
}

static bool expect(const char *s, size_t len, size_t *pos, char c)
{
        if (*pos >= len || s[*pos] != c)
                return false;
        (*pos)++;
        return true;
}

int rfc3339_parse(const char *s, size_t len, int64_t *ret_usec)
{
        int year, mon, day, hour, min, sec, oh = 0, om = 0, frac = 0;
        int64_t off_sec = 0, t;
        size_t pos = 0;

        if (!s)
                return -EINVAL;
        if (!digits(s, len, &pos, 4, &year) || !expect(s, len, &pos, '-') ||
            !digits(s, len, &pos, 2, &mon) || !expect(s, len, &pos, '-') ||
            !digits(s, len, &pos, 2, &day))
                return -EINVAL;
        if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
                return -EINVAL;
        pos++;
        if (!digits(s, len, &pos, 2, &hour) || !expect(s, len, &pos, ':') ||
            !digits(s, len, &pos, 2, &min) || !expect(s, len, &pos, ':') ||
            !digits(s, len, &pos, 2, &sec))
                return -EINVAL;
        if (pos < len && s[pos] == '.') {
                int scale = 100000;
                size_t n = 0;

                pos++;
                /* keep microseconds, truncate further digits */
                for (; pos < len && s[pos] >= '0' && s[pos] <= '9'; pos++, n++) {
                        if (scale > 0) {
                                frac += (s[pos] - '0') * scale;
                                scale /= 10;
                        }
                }
                if (n == 0)
                        return -EINVAL;
        }
        if (pos >= len)
                return -EINVAL; /* the zone is mandatory */
        if (s[pos] == 'Z' || s[pos] == 'z') {
                pos++;
        } else if (s[pos] == '+' || s[pos] == '-') {
                int sign = s[pos] == '-' ? -1 : 1;

                pos++;
                if (!digits(s, len, &pos, 2, &oh) || !expect(s, len, &pos, ':') ||
                    !digits(s, len, &pos, 2, &om))
                        return -EINVAL;
                if (oh > 23 || om > 59)
                        return -EINVAL;
                off_sec = sign * (oh * 3600 + om * 60);
        } else {
                return -EINVAL;
        }
        if (pos != len)
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
                return -EINVAL;
        if (hour > 23 || min > 59 || sec > 59)
                return -EINVAL;
        t = days_from_civil(year, mon, day) * SEC_PER_DAY + hour * 3600 + min * 60 + sec;
        t -= off_sec;
        /* The instant itself, in UTC, must lie in years 0001..9999: "0000-01-01T00:01+14:00"
           is in year -1 and could not be printed back as RFC 3339 (found by fuzz_rfc3339). */
        if (t < days_from_civil(1, 1, 1) * SEC_PER_DAY ||
            t >= days_from_civil(10000, 1, 1) * SEC_PER_DAY)
                return -ERANGE;
        *ret_usec = t * USEC_PER_SEC + frac;
        return 0;
}

const char *rfc3339_format(int64_t usec, char *buf, size_t size)
{
        int64_t sec, days, rem, y;
        int64_t us;
        int m, d, n;

        /* floor division so that times before 1970 come out right */
        sec = usec / USEC_PER_SEC;
        us = usec % USEC_PER_SEC;
        if (us < 0) {
                us += USEC_PER_SEC;
                sec--;
        }
        days = sec / SEC_PER_DAY;
        rem = sec % SEC_PER_DAY;
        if (rem < 0) {
                rem += SEC_PER_DAY;
                days--;
        }
        civil_from_days(days, &y, &m, &d);
        n = snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)us);
        if (n < 0 && size > 0)
                buf[0] = '\0';
        return buf;
}

int64_t rfc3339_now_usec(void)
{
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}
