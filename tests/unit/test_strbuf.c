/* tests/unit/test_strbuf.c: lib/strbuf.c ceiling, sticky error, printf and escaping. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "tap.h"

struct esc_case {
        const char *in;
        enum strbuf_esc esc;
        const char *want;
};

static const struct esc_case esc_cases[] = {
        { "plain", ESC_PROM_LABEL, "plain" },
        { "", ESC_PROM_LABEL, "" },
        { "a\\b", ESC_PROM_LABEL, "a\\\\b" },
        { "say \"hi\"", ESC_PROM_LABEL, "say \\\"hi\\\"" },
        { "l1\nl2", ESC_PROM_LABEL, "l1\\nl2" },
        { "tab\there", ESC_PROM_LABEL, "tab\there" }, /* exposition format escapes only 3 */
        { "caf\xc3\xa9", ESC_PROM_LABEL, "caf\xc3\xa9" },
        { "plain", ESC_LOGFMT, "plain" },
        { "a\\b\"c", ESC_LOGFMT, "a\\\\b\\\"c" },
        { "l1\nl2\r\t", ESC_LOGFMT, "l1\\nl2\\r\\t" },
        { "bell\x07", ESC_LOGFMT, "bell\\x07" },
        { "\x1b[31mred", ESC_LOGFMT, "\\x1b[31mred" },
        { "del\x7f", ESC_LOGFMT, "del\\x7f" },
        { "caf\xc3\xa9", ESC_LOGFMT, "caf\xc3\xa9" },
};

int main(void)
{
        struct strbuf sb;
        char *p;

        /* basic appends */
        strbuf_init(&sb, 64);
        ok(sb.buf == NULL && sb.len == 0, "fresh buffer is empty");
        strbuf_adds(&sb, "abc");
        strbuf_addc(&sb, '-');
        strbuf_addn(&sb, "xyz123", 3);
        strbuf_addf(&sb, "/%d/%s", 42, "q");
        is_str(sb.buf, "abc-xyz/42/q", "mixed appends");
        is_int((long long)sb.len, 12, "len counts bytes");
        ok(!strbuf_failed(&sb), "not failed");
        strbuf_clear(&sb);
        ok(sb.buf == NULL && sb.len == 0, "clear frees");

        /* the ceiling: exactly max fits, one more byte fails and sticks */
        strbuf_init(&sb, 8);
        strbuf_adds(&sb, "12345678");
        ok(!strbuf_failed(&sb), "exactly max bytes fit");
        is_str(sb.buf, "12345678", "content at max");
        strbuf_addc(&sb, '9');
        ok(strbuf_failed(&sb), "max + 1 fails");
        is_str(sb.buf, "12345678", "failed append adds nothing");
        strbuf_reset(&sb);
        ok(!strbuf_failed(&sb) && sb.len == 0, "reset clears len and failed");
        strbuf_adds(&sb, "1234");
        strbuf_adds(&sb, "56789"); /* would pass the ceiling */
        strbuf_adds(&sb, "x");     /* fits, but the error is sticky */
        ok(strbuf_failed(&sb), "sticky failure");
        is_str(sb.buf, "1234", "appends after failure do nothing");
        p = strbuf_take(&sb);
        ok(p == NULL, "take on a failed buffer returns NULL");
        ok(sb.buf == NULL && sb.len == 0 && !strbuf_failed(&sb), "take leaves sb empty");
        strbuf_clear(&sb);

        /* addf: growth past the first allocation, and the ceiling */
        strbuf_init(&sb, 1000);
        strbuf_adds(&sb, "x");
        strbuf_addf(&sb, "%0200d", 7);
        is_int((long long)sb.len, 201, "addf grows the buffer");
        ok(sb.buf[200] == '7' && sb.buf[1] == '0', "addf content");
        strbuf_addf(&sb, "%0800d", 1);
        ok(strbuf_failed(&sb), "addf over the ceiling fails");
        is_int((long long)sb.len, 201, "failed addf keeps len");
        is_int((long long)strlen(sb.buf), 201, "failed addf leaves the NUL in place");
        strbuf_clear(&sb);

        strbuf_init(&sb, 5);
        strbuf_addf(&sb, "%s", "123456");
        ok(strbuf_failed(&sb), "addf into an empty buffer over the ceiling");
        strbuf_clear(&sb);

        /* take moves ownership */
        strbuf_init(&sb, 100);
        strbuf_adds(&sb, "owned");
        p = strbuf_take(&sb);
        is_str(p, "owned", "take returns the content");
        ok(sb.buf == NULL, "take empties sb");
        free(p);
        p = strbuf_take(&sb);
        is_str(p, "", "take of a never-used buffer gives an empty string");
        free(p);
        strbuf_adds(&sb, "again");
        is_str(sb.buf, "again", "buffer reusable after take");
        strbuf_clear(&sb);

        /* a larger build across many reallocations */
        strbuf_init(&sb, 100000);
        for (int i = 0; i < 10000; i++)
                strbuf_addc(&sb, (char)('a' + i % 26));
        is_int((long long)sb.len, 10000, "10000 single-byte appends");
        ok(sb.buf[9999] == 'a' + 9999 % 26 && sb.buf[10000] == '\0', "content and NUL");
        strbuf_clear(&sb);

        /* escaping */
        for (size_t i = 0; i < ARRAY_SIZE(esc_cases); i++) {
                strbuf_init(&sb, 256);
                strbuf_add_escaped(&sb, esc_cases[i].in, esc_cases[i].esc);
                is_str(sb.buf, esc_cases[i].want, "escape case %zu (%s)", i,
                       esc_cases[i].esc == ESC_LOGFMT ? "logfmt" : "prom");
                strbuf_clear(&sb);
        }
        /* the hand-append escaper gives the same bytes (it takes a length, not a NUL) */
        for (size_t i = 0; i < ARRAY_SIZE(esc_cases); i++) {
                char out[64];
                size_t n = strlen(esc_cases[i].in);
                char *end;

                if (esc_cases[i].esc != ESC_PROM_LABEL || 2 * n > sizeof(out))
                        continue;
                end = strbuf_put_prom_label(out, esc_cases[i].in, n);
                ok((size_t)(end - out) == strlen(esc_cases[i].want) &&
                           memcmp(out, esc_cases[i].want, (size_t)(end - out)) == 0,
                   "strbuf_put_prom_label case %zu", i);
        }
        /* reserve and commit: room, the ceiling, a commit over the reservation */
        strbuf_init(&sb, 10);
        strbuf_adds(&sb, "ab");
        p = strbuf_reserve(&sb, 8);
        ok(p == sb.buf + 2, "reserve 8 of the 10 returns the end");
        memcpy(p, "cdef", 4);
        strbuf_commit(&sb, 4);
        is_str(sb.buf, "abcdef", "commit 4 appends them, NUL-terminated");
        ok(strbuf_reserve(&sb, 5) == NULL && strbuf_failed(&sb),
           "reserve past the ceiling fails (sticky)");
        strbuf_reset(&sb);
        p = strbuf_reserve(&sb, 3);
        ok(p != NULL, "reserve after reset");
        strbuf_commit(&sb, 1000);
        ok(strbuf_failed(&sb) && sb.len == 0, "a commit over the room fails, counts nothing");
        strbuf_clear(&sb);
        /* escaping respects the ceiling too */
        strbuf_init(&sb, 3);
        strbuf_add_escaped(&sb, "a\nb", ESC_PROM_LABEL); /* 4 bytes escaped */
        ok(strbuf_failed(&sb), "escaped output over the ceiling fails");
        strbuf_clear(&sb);
        return done_testing();
}
