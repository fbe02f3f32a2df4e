/*
 * tests/fuzz/fuzz_prom_escape.c: Prometheus label escaping as a round trip.  The escaped text
 * holds no raw newline or unescaped quote, and unescaping it (\\ \" \n) gives the input back.
 * strbuf_add_escaped(ESC_PROM_LABEL) is strbuf_put_prom_label (the hand-append escaper of
 * fcgi/metrics.c) behind an exact reservation: called directly on the same text, by length,
 * it gives the same bytes within its 2 * n.  Also runs the logfmt escaper (no raw control
 * characters may survive).
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct strbuf sb;
        char *in, *out;
        size_t o = 0;

        in = malloc(size + 1);
        if (!in)
                return 0;
        memcpy(in, data, size);
        in[size] = '\0'; /* labels are C strings: the escaper sees up to the first NUL */
        strbuf_init(&sb, 1 << 20);
        strbuf_add_escaped(&sb, in, ESC_PROM_LABEL);
        if (strbuf_failed(&sb) || !sb.buf)
                goto out;
        out = malloc(sb.len + 1);
        if (!out)
                goto out;
        for (size_t i = 0; i < sb.len; i++) {
                char c = sb.buf[i];

                if (c == '\n' || c == '"')
                        abort();
                if (c == '\\') {
                        char e = sb.buf[++i];

                        c = e == 'n' ? '\n' : e;
                        if (e != 'n' && e != '\\' && e != '"')
                                abort();
                }
                out[o++] = c;
        }
        out[o] = '\0';
        if (strcmp(out, in) != 0)
                abort();
        free(out);
        /* the same bytes from the hand-append escaper, which sees lengths, not NULs */
        out = malloc(2 * strlen(in) + 1);
        if (!out)
                goto out;
        if ((size_t)(strbuf_put_prom_label(out, in, strlen(in)) - out) != sb.len ||
            memcmp(out, sb.buf, sb.len) != 0)
                abort();
        free(out);
        strbuf_reset(&sb);
        strbuf_add_escaped(&sb, in, ESC_LOGFMT);
        for (size_t i = 0; !strbuf_failed(&sb) && sb.buf && i < sb.len; i++)
                if ((unsigned char)sb.buf[i] < 0x20)
                        abort();
out:
        strbuf_clear(&sb);
        free(in);
        return 0;
}
