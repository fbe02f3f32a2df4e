/* tests/unit/test_num.c: lib/num.c parsers, table-driven. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <string.h>

#include "num.h"
#include "tap.h"

#define SENT_U 0xdeadbeefULL
#define SENT_I INT64_C(-424242)

struct u64_case {
        const char *in;
        uint64_t max;
        int want;
        uint64_t val;
};

static const struct u64_case u64_cases[] = {
        { "0", UINT64_MAX, 0, 0 },
        { "1", UINT64_MAX, 0, 1 },
        { "007", UINT64_MAX, 0, 7 },
        { "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", UINT64_MAX, -ERANGE, SENT_U },
        { "99999999999999999999999", UINT64_MAX, -ERANGE, SENT_U },
        { "255", 255, 0, 255 },
        { "256", 255, -ERANGE, SENT_U },
        { "", UINT64_MAX, -EINVAL, SENT_U },
        { "-1", UINT64_MAX, -EINVAL, SENT_U },
        { "+1", UINT64_MAX, -EINVAL, SENT_U },
        { " 1", UINT64_MAX, -EINVAL, SENT_U },
        { "1 ", UINT64_MAX, -EINVAL, SENT_U },
        { "1\n", UINT64_MAX, -EINVAL, SENT_U },
        { "4k", UINT64_MAX, -EINVAL, SENT_U },
        { "0x10", UINT64_MAX, -EINVAL, SENT_U },
        { "1.0", UINT64_MAX, -EINVAL, SENT_U },
        { "99999999999999999999x", UINT64_MAX, -EINVAL, SENT_U },
};

struct i64_case {
        const char *in;
        int64_t min, max;
        int want;
        int64_t val;
};

static const struct i64_case i64_cases[] = {
        { "0", INT64_MIN, INT64_MAX, 0, 0 },
        { "-0", INT64_MIN, INT64_MAX, 0, 0 },
        { "42", INT64_MIN, INT64_MAX, 0, 42 },
        { "-42", INT64_MIN, INT64_MAX, 0, -42 },
        { "9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX },
        { "9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, SENT_I },
        { "-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN },
        { "-9223372036854775809", INT64_MIN, INT64_MAX, -ERANGE, SENT_I },
        { "1", 1, 256, 0, 1 },
        { "0", 1, 256, -ERANGE, SENT_I },
        { "256", 1, 256, 0, 256 },
        { "257", 1, 256, -ERANGE, SENT_I },
        { "-5", -5, -1, 0, -5 },
        { "-6", -5, -1, -ERANGE, SENT_I },
        { "", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "-", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "--1", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "+1", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { " 1", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "1 ", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "1e3", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
        { "12a", INT64_MIN, INT64_MAX, -EINVAL, SENT_I },
};

struct dbl_case {
        const char *in;
        int want;
        double val;
};

static const struct dbl_case dbl_cases[] = {
        { "1", 0, 1.0 },
        { "1.5", 0, 1.5 },
        { "-2e3", 0, -2000.0 },
        { "2.5E-1", 0, 0.25 },
        { "1e+2", 0, 100.0 },
        { "0.000001", 0, 1e-6 },
        { "-0", 0, 0.0 },
        { "1e400", -ERANGE, -99.0 },
        { "", -EINVAL, -99.0 },
        { "nan", -EINVAL, -99.0 },
        { "inf", -EINVAL, -99.0 },
        { "-infinity", -EINVAL, -99.0 },
        { "0x1p3", -EINVAL, -99.0 },
        { "+1", -EINVAL, -99.0 },
        { ".5", -EINVAL, -99.0 },
        { "1.", -EINVAL, -99.0 },
        { "1e", -EINVAL, -99.0 },
        { "1,5", -EINVAL, -99.0 },
        { " 1", -EINVAL, -99.0 },
        { "1 ", -EINVAL, -99.0 },
        { "1.5x", -EINVAL, -99.0 },
};

struct oct_case {
        const char *in;
        int want;
        uint64_t val;
};

/* clang-format off */
static const struct oct_case oct_cases[] = {
        { "0660", 0, 0660 },
        { "660", 0, 0660 },
        { "0", 0, 0 },
        { "0777", 0, 0777 },
        { "01000", -ERANGE, SENT_U },
        { "0668", -EINVAL, SENT_U },
        { "", -EINVAL, SENT_U },
        { "-1", -EINVAL, SENT_U },
};

/* clang-format on */

int main(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(u64_cases); i++) {
                const struct u64_case *c = &u64_cases[i];
                uint64_t v = SENT_U;
                int r = num_parse_u64(c->in, strlen(c->in), c->max, &v);

                is_int(r, c->want, "u64 '%s' max %" PRIu64 " returns %d", c->in, c->max, c->want);
                is_u64(v, c->val, "u64 '%s' value (sentinel kept on failure)", c->in);
        }
        for (size_t i = 0; i < ARRAY_SIZE(i64_cases); i++) {
                const struct i64_case *c = &i64_cases[i];
                int64_t v = SENT_I;
                int r = num_parse_i64(c->in, strlen(c->in), c->min, c->max, &v);

                is_int(r, c->want, "i64 '%s' returns %d", c->in, c->want);
                is_i64(v, c->val, "i64 '%s' value (sentinel kept on failure)", c->in);
        }
        for (size_t i = 0; i < ARRAY_SIZE(dbl_cases); i++) {
                const struct dbl_case *c = &dbl_cases[i];
                double v = -99.0;
                int r = num_parse_double(c->in, strlen(c->in), &v);

                is_int(r, c->want, "double '%s' returns %d", c->in, c->want);
                is_double(v, c->val, 1e-12, "double '%s' value", c->in);
        }
        for (size_t i = 0; i < ARRAY_SIZE(oct_cases); i++) {
                const struct oct_case *c = &oct_cases[i];
                uint64_t v = SENT_U;
                int r = num_parse_u64_oct(c->in, strlen(c->in), 0777, &v);

                is_int(r, c->want, "oct '%s' returns %d", c->in, c->want);
                is_u64(v, c->val, "oct '%s' value", c->in);
        }

        /* (s, len) is the whole text: no NUL terminator needed, bytes after len ignored */
        {
                uint64_t u = SENT_U;
                int64_t s = SENT_I;
                double d = -99.0;

                is_int(num_parse_u64("12345", 3, UINT64_MAX, &u), 0, "u64 prefix of length 3");
                is_u64(u, 123, "u64 prefix value");
                is_int(num_parse_i64("-7xyz", 2, INT64_MIN, INT64_MAX, &s), 0, "i64 prefix");
                is_i64(s, -7, "i64 prefix value");
                is_int(num_parse_double("2.5junk", 3, &d), 0, "double prefix");
                is_double(d, 2.5, 0, "double prefix value");
                is_int(num_parse_u64("1\0002", 3, UINT64_MAX, &u), -EINVAL, "embedded NUL");
                is_int(num_parse_u64(NULL, 0, UINT64_MAX, &u), -EINVAL, "NULL input");
        }

        /* a 256-byte double is over the cap; 255 bytes of valid number are fine */
        {
                char big[300];
                double d = -99.0;

                memset(big, '0', sizeof(big));
                big[0] = '1';
                big[1] = '.';
                is_int(num_parse_double(big, 255, &d), 0, "255-byte double accepted");
                is_double(d, 1.0, 0, "255-byte double value");
                is_int(num_parse_double(big, 256, &d), -EINVAL, "256-byte double rejected");
        }

        /* LC_NUMERIC must not matter: try a comma-decimal locale when one is installed */
        if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
                double d = -99.0;

                is_int(num_parse_double("1.5", 3, &d), 0, "1.5 under a comma locale");
                is_double(d, 1.5, 0, "1.5 value under a comma locale");
                setlocale(LC_NUMERIC, "C");
        } else {
                diag("no comma-decimal locale installed, skipping the locale rows");
        }
        return done_testing();
}
