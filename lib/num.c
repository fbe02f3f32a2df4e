/*
 * lib/num.c: checked text-to-number conversion (STYLE 4.7).  The integer parsers are written
 * out by hand so that they need no NUL terminator, never skip whitespace and never accept a
 * '+' sign, unlike strtoull().  Doubles are validated against a strict grammar first and then
 * converted with strtod_l() in the "C" locale, so LC_NUMERIC cannot change the result.
 */
#include "config.h"
#include "num.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NUM_DOUBLE_MAX_LEN 255

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Accumulates digits in `base` (8 or 10); -EINVAL on a non-digit, -ERANGE past `max`. */
static int parse_digits(const char *s, size_t len, unsigned base, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        bool overflow = false;

        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned d;

                if (!is_digit(s[i]))
                        return -EINVAL;
                d = (unsigned)(s[i] - '0');
                if (d >= base)
                        return -EINVAL;
                /* keep scanning after an overflow so that "99999x" is -EINVAL, not -ERANGE */
                if (overflow || v > (max - d) / base)
                        overflow = true;
                else
                        v = v * base + d;
        }
        if (overflow)
                return -ERANGE;
        *ret = v;
        return 0;
}

int num_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(s, len, 10, max, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int num_parse_u64_oct(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(s, len, 8, max, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int num_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *ret)
{
        bool neg = false;
        uint64_t mag;
        int64_t v;
        int r;

        if (!s || min > max)
                return -EINVAL;
        if (len > 0 && s[0] == '-') {
                neg = true;
                s++;
                len--;
        }
        /* magnitude limit: 2^63 for negatives, 2^63 - 1 otherwise */
        r = parse_digits(s, len, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
        if (r < 0)
                return r;
        if (neg)
                v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        else
                v = (int64_t)mag;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Grammar: -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?  (leading zeros are accepted). */
static bool double_syntax_ok(const char *s, size_t len)
{
        size_t i = 0, n;

        if (i < len && s[i] == '-')
                i++;
        for (n = 0; i < len && is_digit(s[i]); i++)
                n++;
        if (n == 0)
                return false;
        if (i < len && s[i] == '.') {
                i++;
                for (n = 0; i < len && is_digit(s[i]); i++)
                        n++;
                if (n == 0)
                        return false;
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < len && (s[i] == '-' || s[i] == '+'))
                        i++;
                for (n = 0; i < len && is_digit(s[i]); i++)
                        n++;
                if (n == 0)
                        return false;
        }
        return i == len;
}

/* The "C" locale, created once; a lost race frees the duplicate (lock-free, thread-safe). */
static locale_t c_locale(void)
{
        static locale_t cached;
        locale_t loc, expected = (locale_t)0;

        loc = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
        if (loc)
                return loc;
        loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!loc)
                return (locale_t)0;
        if (!__atomic_compare_exchange_n(&cached, &expected, loc, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
                freelocale(loc);
                return expected;
        }
        return loc;
}

int num_parse_double(const char *s, size_t len, double *ret)
{
        char tmp[NUM_DOUBLE_MAX_LEN + 1];
        char *end = NULL;
        locale_t loc;
        double v;

        if (!s || len > NUM_DOUBLE_MAX_LEN || !double_syntax_ok(s, len))
                return -EINVAL;
        loc = c_locale();
        if (!loc)
                return -ENOMEM;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        v = strtod_l(tmp, &end, loc);
        if (end != tmp + len)
                return -EINVAL;
        if (isinf(v))
                return -ERANGE;
        *ret = v;
        return 0;
}
