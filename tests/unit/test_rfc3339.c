/* tests/unit/test_rfc3339.c: lib/rfc3339.c parsing, calendar checks and formatting. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "rfc3339.h"
#include "tap.h"

#define SENT INT64_C(-777)

struct parse_case {
        const char *in;
        int want;
        int64_t usec;
};

static const struct parse_case cases[] = {
        /* happy rows */
        { "1970-01-01T00:00:00Z", 0, 0 },
        { "2026-01-02T03:04:05Z", 0, INT64_C(1767323045000000) },
        { "2026-01-02T03:04:05z", 0, INT64_C(1767323045000000) },
        { "2026-01-02t03:04:05Z", 0, INT64_C(1767323045000000) },
        { "2026-01-02 03:04:05Z", 0, INT64_C(1767323045000000) },
        { "2026-01-02T05:04:05+02:00", 0, INT64_C(1767323045000000) },
        { "2026-01-01T21:34:05-05:30", 0, INT64_C(1767323045000000) },
        { "2026-01-02T03:04:05.5Z", 0, INT64_C(1767323045500000) },
        { "2026-01-02T03:04:05.123456Z", 0, INT64_C(1767323045123456) },
        { "2026-01-02T03:04:05.1234569Z", 0, INT64_C(1767323045123456) }, /* truncated */
        { "2026-01-02T03:04:05.000001+00:00", 0, INT64_C(1767323045000001) },
        { "1969-12-31T23:59:59Z", 0, INT64_C(-1000000) },
        { "1969-12-31T23:59:59.5Z", 0, INT64_C(-500000) },
        { "0001-01-01T00:00:00Z", 0, INT64_C(-62135596800000000) },
        { "9999-12-31T23:59:59Z", 0, INT64_C(253402300799000000) },
        /* the UTC instant must be within years 0001..9999 (PostgreSQL has no year 0) */
        { "0000-01-01T00:00:00Z", -ERANGE, SENT },
        { "0000-01-01T00:01:05.6+14:00", -ERANGE, SENT }, /* found by fuzz_rfc3339 */
        { "0001-01-01T00:30:00+01:00", -ERANGE, SENT },
        { "9999-12-31T23:59:59-00:01", -ERANGE, SENT },
        /* leap years */
        { "2024-02-29T00:00:00Z", 0, INT64_C(1709164800000000) },
        { "2000-02-29T00:00:00Z", 0, INT64_C(951782400000000) },
        { "2100-02-29T00:00:00Z", -EINVAL, SENT },
        { "2026-02-29T00:00:00Z", -EINVAL, SENT },
        /* impossible dates and times */
        { "2026-02-30T00:00:00Z", -EINVAL, SENT },
        { "2026-04-31T00:00:00Z", -EINVAL, SENT },
        { "2026-13-01T00:00:00Z", -EINVAL, SENT },
        { "2026-00-01T00:00:00Z", -EINVAL, SENT },
        { "2026-01-00T00:00:00Z", -EINVAL, SENT },
        { "2026-01-01T24:00:00Z", -EINVAL, SENT },
        { "2026-01-01T23:60:00Z", -EINVAL, SENT },
        { "2026-12-31T23:59:60Z", -EINVAL, SENT }, /* leap second */
        { "2026-01-01T00:00:00+24:00", -EINVAL, SENT },
        { "2026-01-01T00:00:00+01:60", -EINVAL, SENT },
        /* syntax */
        { "", -EINVAL, SENT },
        { "2026-01-01T00:00:00", -EINVAL, SENT }, /* no zone */
        { "2026-01-01", -EINVAL, SENT },
        { "2026-01-01T00:00:00ZX", -EINVAL, SENT },
        { "2026-01-01T00:00:00Z ", -EINVAL, SENT },
        { " 2026-01-01T00:00:00Z", -EINVAL, SENT },
        { "2026-01-01T00:00:00.Z", -EINVAL, SENT },
        { "2026-01-01T00:00:00+0200", -EINVAL, SENT },
        { "2026-01-01T00:00:00+02", -EINVAL, SENT },
        { "2026-1-01T00:00:00Z", -EINVAL, SENT },
        { "2026-01-01T0:00:00Z", -EINVAL, SENT },
        { "2026-01-01X00:00:00Z", -EINVAL, SENT },
        { "2026/01/01T00:00:00Z", -EINVAL, SENT },
        { "+2026-01-01T00:00:00Z", -EINVAL, SENT },
        { "2026-01-01T00:00:00UTC", -EINVAL, SENT },
        { "1767323045", -EINVAL, SENT },
};

struct fmt_case {
        int64_t usec;
        const char *want;
};

static const struct fmt_case fmt_cases[] = {
        { 0, "1970-01-01T00:00:00.000000Z" },
        { INT64_C(1767323045123456), "2026-01-02T03:04:05.123456Z" },
        { INT64_C(1709164800000000), "2024-02-29T00:00:00.000000Z" },
        { INT64_C(-1), "1969-12-31T23:59:59.999999Z" },
        { INT64_C(-500000), "1969-12-31T23:59:59.500000Z" },
        { INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z" },
};

int main(void)
{
        char buf[RFC3339_BUFSZ];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int64_t v = SENT;
                int r = rfc3339_parse(cases[i].in, strlen(cases[i].in), &v);

                is_int(r, cases[i].want, "parse '%s' returns %d", cases[i].in, cases[i].want);
                is_i64(v, cases[i].usec, "parse '%s' value", cases[i].in);
        }

        /* (s, len) need not be NUL-terminated, bytes past len are ignored */
        {
                const char *s = "2026-01-02T03:04:05Zjunk";
                int64_t v = SENT;

                is_int(rfc3339_parse(s, 20, &v), 0, "length-bounded input");
                is_i64(v, INT64_C(1767323045000000), "length-bounded value");
                v = SENT;
                is_int(rfc3339_parse(s, 19, &v), -EINVAL, "cut before the zone");
                is_i64(v, SENT, "ret untouched");
                is_int(rfc3339_parse(NULL, 0, &v), -EINVAL, "NULL input");
        }

        for (size_t i = 0; i < ARRAY_SIZE(fmt_cases); i++) {
                const char *s = rfc3339_format(fmt_cases[i].usec, buf, sizeof(buf));

                ok(s == buf, "format returns buf");
                is_str(buf, fmt_cases[i].want, "format %" PRId64, fmt_cases[i].usec);
        }

        /* round trips: format then parse gives the same instant, over a spread of values */
        {
                int n = 0, bad = 0;

                for (int64_t t = INT64_C(-2208988800000000); t < INT64_C(4102444800000000);
                     t += INT64_C(86399123457) * 97) {
                        int64_t back = SENT;

                        n++;
                        rfc3339_format(t, buf, sizeof(buf));
                        if (rfc3339_parse(buf, strlen(buf), &back) != 0 || back != t) {
                                if (bad++ == 0)
                                        diag("first mismatch: %" PRId64 " via %s", t, buf);
                        }
                }
                is_int(bad, 0, "round trips 1900..2100 (%d values)", n);
        }
        {
                int64_t now = rfc3339_now_usec(), back = SENT;

                ok(now > INT64_C(1704067200000000), "now is after 2024");
                rfc3339_format(now, buf, sizeof(buf));
                is_int(rfc3339_parse(buf, strlen(buf), &back), 0, "now round trip parses");
                is_i64(back, now, "now round trip value");
        }
        return done_testing();
}
