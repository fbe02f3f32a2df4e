/*
 * tests/unit/test_cursor.c: the `after` cursors of GET /v1/jobs (fcgi/cursor.c).  The golden
 * cursors were made by the database (hjo_jobs_cursor, sql/0061_keyset.sql), so a change on
 * either side that breaks the other fails here; the hand-made ones come from a small encoder
 * below that follows fcgi/cursor.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cursor.h"
#include "rfc3339.h"
#include "tap.h"
#include "token.h"

/* SELECT hjo_jobs_cursor('-start_time', '2026-01-02T03:04:05.123456Z', NULL, 'slurm-1') */
static const char gold_time[] =
        "MXwtc3RhcnRfdGltZXwyMDI2LTAxLTAyVDAzOjA0OjA1LjEyMzQ1Nlp8c2x1cm0tMXw5NGYwNDFhOGM2YTIyNmYx";
/* SELECT hjo_jobs_cursor('start_time', NULL, NULL, 'a') */
static const char gold_null[] = "MXxzdGFydF90aW1lfHxhfDhmOTg1NTdhMWIyY2RmOWQ";
/* SELECT hjo_jobs_cursor('-cpu_efficiency', NULL, 0.3, 'job.x:1') */
static const char gold_num[] = "MXwtY3B1X2VmZmljaWVuY3l8MC4zfGpvYi54OjF8ZjAyZDc2MDMxMzAzZDM2NQ";
/* SELECT hjo_jobs_cursor('idle_gpu_hours', NULL, 1e-5, 'j') */
static const char gold_small[] = "MXxpZGxlX2dwdV9ob3Vyc3wxZS0wNXxqfGY2Y2FmYmM5YzQwYmQzNDM";
/* SELECT hjo_jobs_cursor('idle_gpu_hours', NULL, 1.5e20, 'j') */
static const char gold_big[] = "MXxpZGxlX2dwdV9ob3Vyc3wxLjVlKzIwfGp8MzdkZTJkNGFiNzUyY2YzZA";

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding of (s, len) into out */
static void b64url(const unsigned char *s, size_t len, char *out)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned)s[i] << 16;
                size_t n = len - i >= 3 ? 4 : len - i + 1;

                if (i + 1 < len)
                        v |= (unsigned)s[i + 1] << 8;
                if (i + 2 < len)
                        v |= s[i + 2];
                for (size_t k = 0; k < n; k++)
                        out[o++] = b64[(v >> (18 - 6 * k)) & 63];
        }
        out[o] = '\0';
}

/* The cursor of `text` ("1|sort|key|id") with its check, as the database makes it. */
static void make(const char *text, char *out)
{
        char hex[TOKEN_HASH_HEX + 1], full[600];
        int n;

        if (token_hash_hex(text, strlen(text), hex, sizeof(hex)) < 0)
                hex[0] = '\0';
        n = snprintf(full, sizeof(full), "%s|%.16s", text, hex);
        if (n < 0 || (size_t)n >= sizeof(full))
                full[0] = '\0';
        b64url((const unsigned char *)full, strlen(full), out);
}

static int parse(const char *s, const char *sort, struct cursor *c)
{
        const char *msg = NULL;

        return cursor_parse(s, strlen(s), sort, c, &msg);
}

static void golden(void)
{
        struct cursor c;
        const char *msg = NULL;
        char mine[800];
        int64_t want;

        is_int(parse(gold_time, "-start_time", &c), 0, "database cursor, -start_time");
        if (rfc3339_parse("2026-01-02T03:04:05.123456Z", 27, &want) < 0)
                want = 0;
        ok(c.is_time && c.has_key && c.key_usec == want, "... its start_time, to the microsecond");
        is_str(c.id, "slurm-1", "... its id");
        make("1|-start_time|2026-01-02T03:04:05.123456Z|slurm-1", mine);
        is_str(mine, gold_time, "the test's encoder makes the database's cursor");

        is_int(parse(gold_null, "start_time", &c), 0, "database cursor of a NULL start_time");
        ok(c.is_time && !c.has_key && strcmp(c.id, "a") == 0, "... has no key, id a");

        is_int(parse(gold_num, "-cpu_efficiency", &c), 0, "database cursor, -cpu_efficiency");
        ok(!c.is_time && c.has_key && c.key_num == 0.3 && strcmp(c.id, "job.x:1") == 0,
           "... 0.3 exactly, id job.x:1");
        is_int(parse(gold_small, "idle_gpu_hours", &c), 0, "1e-05 (exponent form)");
        ok(c.key_num == 1e-5, "... exactly");
        is_int(parse(gold_big, "idle_gpu_hours", &c), 0, "1.5e+20 (exponent with sign)");
        ok(c.key_num == 1.5e20, "... exactly");

        is_int(cursor_parse(gold_time, strlen(gold_time), "start_time", &c, &msg), -EINVAL,
               "a -start_time cursor with sort=start_time is refused");
        ok(msg && strstr(msg, "another sort"), "... as made for another sort order (%s)", msg);
        is_int(parse(gold_num, "cpu_efficiency", &c), -EINVAL, "-cpu_efficiency vs cpu_efficiency");
        is_int(parse(gold_num, "-memory_peak_ratio", &c), -EINVAL, "... vs another key");
}

/* Every one-character edit and every cut of a good cursor is refused. */
static void tampered(void)
{
        struct cursor c;
        const char *msg = NULL;
        char t[sizeof(gold_time)];
        size_t len = strlen(gold_time);
        int accepted = 0, n = 0;

        for (size_t i = 0; i < len; i++) {
                for (size_t k = 0; k < 64; k += 7) {
                        memcpy(t, gold_time, sizeof(t));
                        if (t[i] == b64[k])
                                continue;
                        t[i] = b64[k];
                        n++;
                        if (cursor_parse(t, len, "-start_time", &c, &msg) == 0)
                                accepted++;
                }
        }
        is_int(accepted, 0, "none of %d one-character edits is accepted", n);
        ok(msg && strstr(msg, "not a valid cursor"), "... refused as not a valid cursor (%s)", msg);
        accepted = 0;
        for (size_t l = 0; l < len; l++)
                if (cursor_parse(gold_time, l, "-start_time", &c, &msg) == 0)
                        accepted++;
        is_int(accepted, 0, "no cut of it is accepted");
}

static void malformed(void)
{
        static const char *const texts[] = {
                "2|-start_time|2026-01-02T03:04:05.123456Z|slurm-1",     /* another version */
                "1|-start_time|2026-01-02T03:04:05.123456Z",             /* no id */
                "1|-start_time|2026-01-02T03:04:05.123456Z|a|b",         /* a field too many */
                "1|-start_time|2026-01-02T03:04:05Z|slurm-1",            /* not hjo_ts()'s form */
                "1|-start_time|2026-01-02T03:04:05.123456+00:00|s",      /* idem */
                "1|-start_time|2026-02-30T03:04:05.123456Z|slurm-1",     /* impossible date */
                "1|-start_time|2026-01-02T03:04:05.1234567|slurm-1",     /* no zone */
                "1|-start_time|2026-01-02T03:04:05.123456Z|a b",         /* id with a space */
                "1|-start_time|2026-01-02T03:04:05.123456Z|..",          /* id .. */
                "1|-start_time|2026-01-02T03:04:05.123456Z|",            /* empty id */
                "1|-start_time|2026-01-02T03:04:05.123456Z|caf\xc3\xa9", /* not ASCII */
        };
        static const char *const numtexts[] = {
                "1|cpu_efficiency||j", /* a summary sort always has a value */
                "1|cpu_efficiency|nan|j",  "1|cpu_efficiency|inf|j", "1|cpu_efficiency|1e999|j",
                "1|cpu_efficiency|0x10|j", "1|cpu_efficiency|.5|j",  "1|cpu_efficiency|0.5x|j",
                "1|cpu_efficiency|+0.5|j",
        };
        struct cursor c;
        char buf[800], big[CURSOR_MAX + 2];

        for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
                make(texts[i], buf);
                is_int(parse(buf, "-start_time", &c), -EINVAL, "refused: %s", texts[i]);
        }
        for (size_t i = 0; i < ARRAY_SIZE(numtexts); i++) {
                make(numtexts[i], buf);
                is_int(parse(buf, "cpu_efficiency", &c), -EINVAL, "refused: %s", numtexts[i]);
        }
        make("1|cpu_efficiency|0|j", buf);
        is_int(parse(buf, "cpu_efficiency", &c), 0, "0 is a value");
        make("1|start_time||a|b", buf);
        is_int(parse(buf, "start_time", &c), -EINVAL, "'|' cannot hide in an id");

        snprintf(buf, sizeof(buf), "%s=", gold_null);
        is_int(parse(buf, "start_time", &c), -EINVAL, "padding is refused");
        snprintf(buf, sizeof(buf), "%s", gold_null);
        buf[3] = '+';
        is_int(parse(buf, "start_time", &c), -EINVAL, "'+' (base64, not base64url) is refused");
        /* "MXxzdGFydF90aW1lfHxhfDhmOTg1NTdhMWIyY2RmOWQ" ends in 'Q' (…01 0000): 'R' sets an unused
           bit and would decode to the same bytes */
        snprintf(buf, sizeof(buf), "%s", gold_null);
        buf[strlen(buf) - 1] = 'R';
        is_int(parse(buf, "start_time", &c), -EINVAL, "non-zero unused bits are refused");
        is_int(parse("", "start_time", &c), -EINVAL, "empty");
        is_int(parse("A", "start_time", &c), -EINVAL, "one character");
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        is_int(parse(big, "start_time", &c), -EINVAL, "over CURSOR_MAX");
}

static void longest(void)
{
        struct cursor c;
        char text[400], buf[800];
        int n;

        n = snprintf(text, sizeof(text), "1|-gpu_mean_utilization|%s|%0255d", "0", 7);
        ok(n > 0 && (size_t)n < sizeof(text), "long text built");
        make(text, buf);
        is_int(parse(buf, "-gpu_mean_utilization", &c), 0, "a 255-character id fits (%zu bytes)",
               strlen(buf));
        is_int((long long)strlen(c.id), 255, "... and comes back whole");
        n = snprintf(text, sizeof(text), "1|-start_time|9999-12-31T23:59:59.999999Z|%0255d", 7);
        ok(n > 0 && (size_t)n < sizeof(text), "longest text built");
        make(text, buf);
        ok(strlen(buf) <= CURSOR_MAX, "the longest cursor (%zu) is within CURSOR_MAX", strlen(buf));
        is_int(parse(buf, "-start_time", &c), 0, "... and is accepted");
}

int main(void)
{
        golden();
        tampered();
        malformed();
        longest();
        return done_testing();
}
