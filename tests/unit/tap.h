/*
 * tests/unit/tap.h: a header-only TAP producer for the unit tests (STYLE 4.15).  It is not a
 * framework: no fixtures, no forking.  Each test program is one translation unit, so the
 * state below is static.  Usage:
 *   plan(3);                     (optional: without it "1..N" is printed by done_testing())
 *   ok(r == 0, "parse %s", in);
 *   is_int(r, -EINVAL, "bad input");
 *   return done_testing();       (0 when every test passed and the plan was met, else 1)
 * Comparisons print what they got and what they wanted as TAP diagnostics ("# ...").
 */
#pragma once
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static inline void plan(int n)
{
        tap_planned = n;
        printf("1..%d\n", n);
        fflush(stdout);
}

static inline void diag(const char *fmt, ...) PRINTF_LIKE(1, 2);
static inline void diag(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
                msg[0] = '\0';
        va_end(ap);
        /* every output line of a diagnostic starts with "# " */
        fputs("# ", stdout);
        for (const char *p = msg; *p; p++) {
                if (*p == '\n')
                        fputs("\\n", stdout);
                else
                        fputc(*p, stdout);
        }
        fputc('\n', stdout);
        fflush(stdout);
}

static inline bool tap_vok(bool cond, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
static inline bool tap_vok(bool cond, const char *fmt, va_list ap)
{
        char desc[512];

        tap_run++;
        if (!cond)
                tap_failed++;
        if (vsnprintf(desc, sizeof(desc), fmt, ap) < 0)
                desc[0] = '\0';
        /* one line per result: control characters from test inputs become '?' */
        for (char *p = desc; *p; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        }
        printf("%sok %d - %s\n", cond ? "" : "not ", tap_run, desc);
        fflush(stdout);
        return cond;
}

static inline bool ok(bool cond, const char *fmt, ...) PRINTF_LIKE(2, 3);
static inline bool ok(bool cond, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cond = tap_vok(cond, fmt, ap);
        va_end(ap);
        return cond;
}

#define TAP_IS(cond, fmtgot, got, want, fmt)                             \
        do {                                                             \
                va_list ap;                                              \
                bool c_ = (cond);                                        \
                va_start(ap, fmt);                                       \
                tap_vok(c_, fmt, ap);                                    \
                va_end(ap);                                              \
                if (!c_)                                                 \
                        diag("got " fmtgot ", want " fmtgot, got, want); \
                return c_;                                               \
        } while (0)

static inline bool is_int(long long got, long long want, const char *fmt, ...) PRINTF_LIKE(3, 4);
static inline bool is_int(long long got, long long want, const char *fmt, ...)
{
        TAP_IS(got == want, "%lld", got, want, fmt);
}

static inline bool is_i64(int64_t got, int64_t want, const char *fmt, ...) PRINTF_LIKE(3, 4);
static inline bool is_i64(int64_t got, int64_t want, const char *fmt, ...)
{
        TAP_IS(got == want, "%" PRId64, got, want, fmt);
}

static inline bool is_u64(uint64_t got, uint64_t want, const char *fmt, ...) PRINTF_LIKE(3, 4);
static inline bool is_u64(uint64_t got, uint64_t want, const char *fmt, ...)
{
        TAP_IS(got == want, "%" PRIu64, got, want, fmt);
}

static inline bool is_double(double got, double want, double tol, const char *fmt, ...)
        PRINTF_LIKE(4, 5);
static inline bool is_double(double got, double want, double tol, const char *fmt, ...)
{
        TAP_IS(fabs(got - want) <= tol, "%.17g", got, want, fmt);
}

/* NULL equals only NULL. */
static inline bool is_str(const char *got, const char *want, const char *fmt, ...)
        PRINTF_LIKE(3, 4);
static inline bool is_str(const char *got, const char *want, const char *fmt, ...)
{
        bool same = (got == NULL && want == NULL) ||
                    (got != NULL && want != NULL && strcmp(got, want) == 0);

        TAP_IS(same, "'%s'", got ? got : "(null)", want ? want : "(null)", fmt);
}

static inline int done_testing(void)
{
        if (tap_planned < 0) {
                printf("1..%d\n", tap_run);
        } else if (tap_planned != tap_run) {
                diag("planned %d tests but ran %d", tap_planned, tap_run);
                tap_failed++;
        }
        if (tap_failed > 0)
                diag("failed %d of %d tests", tap_failed, tap_run);
        fflush(stdout);
        return tap_failed > 0 ? 1 : 0;
}
