/*
 * lib/strbuf.c: growable byte buffer with a hard ceiling and a sticky error (STYLE 4.6), in
 * the spirit of curl's dynbuf and pgbouncer's PktBuf.  An append that would pass the ceiling
 * appends nothing at all and marks the buffer failed; so does an allocation failure.
 */
#include "config.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRBUF_MIN_CAP 64

void strbuf_init(struct strbuf *sb, size_t max)
{
        sb->buf = NULL;
        sb->len = 0;
        sb->cap = 0;
        sb->max = max;
        sb->failed = false;
}

void strbuf_clear(struct strbuf *sb)
{
        free(sb->buf);
        sb->buf = NULL;
        sb->len = 0;
        sb->cap = 0;
        sb->max = 0;
        sb->failed = false;
}

void strbuf_reset(struct strbuf *sb)
{
        sb->len = 0;
        if (sb->buf)
                sb->buf[0] = '\0';
        sb->failed = false;
}

bool strbuf_failed(const struct strbuf *sb)
{
        return sb->failed;
}

/* Makes room for n more bytes plus the NUL; false (and failed set) when that is impossible. */
static bool strbuf_grow(struct strbuf *sb, size_t n)
{
        size_t need, cap;
        char *p;

        if (sb->failed)
                return false;
        if (n > sb->max - sb->len) {
                sb->failed = true;
                return false;
        }
        need = sb->len + n + 1; /* cannot wrap: len + n <= max < SIZE_MAX unless max is */
        if (need == 0) {
                sb->failed = true;
                return false;
        }
        if (need <= sb->cap)
                return true;
        cap = sb->cap ? sb->cap : STRBUF_MIN_CAP;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (sb->max < SIZE_MAX && cap > sb->max + 1)
                cap = sb->max + 1;
        p = realloc(sb->buf, cap);
        if (!p) {
                sb->failed = true;
                return false;
        }
        sb->buf = p;
        sb->cap = cap;
        return true;
}

void strbuf_addn(struct strbuf *sb, const char *s, size_t n)
{
        if (!strbuf_grow(sb, n))
                return;
        if (n > 0)
                memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
}

void strbuf_adds(struct strbuf *sb, const char *s)
{
        strbuf_addn(sb, s, strlen(s));
}

void strbuf_addc(struct strbuf *sb, char c)
{
        strbuf_addn(sb, &c, 1);
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;
        size_t avail;
        int n;

        if (sb->failed)
                return;
        avail = sb->cap > sb->len ? sb->cap - sb->len : 0;
        va_start(ap, fmt);
        n = vsnprintf(avail ? sb->buf + sb->len : NULL, avail, fmt, ap);
        va_end(ap);
        if (n < 0) {
                sb->failed = true;
                if (sb->buf)
                        sb->buf[sb->len] = '\0';
                return;
        }
        if ((size_t)n < avail) {
                /* fitted, but the ceiling still applies */
                if ((size_t)n > sb->max - sb->len) {
                        sb->failed = true;
                        sb->buf[sb->len] = '\0';
                        return;
                }
                sb->len += (size_t)n;
                return;
        }
        if (avail)
                sb->buf[sb->len] = '\0'; /* undo the truncated partial output */
        if (!strbuf_grow(sb, (size_t)n))
                return;
        va_start(ap, fmt);
        n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sb->cap - sb->len) {
                sb->failed = true;
                sb->buf[sb->len] = '\0';
                return;
        }
        sb->len += (size_t)n;
}

void strbuf_add_escaped(struct strbuf *sb, const char *s, enum strbuf_esc esc)
{
        static const char hex[] = "0123456789abcdef";
        const char *run = s;

        if (esc == ESC_PROM_LABEL) {
                /* one implementation of the label escape: the in-place writer's, with room
                   for exactly the escaped length (so the ceiling is met as before) */
                size_t n = strlen(s), out = n;
                char *p;

                for (size_t i = 0; i < n; i++)
                        out += s[i] == '\\' || s[i] == '"' || s[i] == '\n';
                p = strbuf_reserve(sb, out);
                if (p)
                        strbuf_commit(sb, (size_t)(strbuf_put_prom_label(p, s, n) - p));
                return;
        }
        /* copy unescaped runs in one go; escape the rest byte by byte */
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                char e = 0;

                if (c == '\\')
                        e = '\\';
                else if (c == '"')
                        e = '"';
                else if (c == '\n')
                        e = 'n';
                else if (esc == ESC_LOGFMT && c == '\r')
                        e = 'r';
                else if (esc == ESC_LOGFMT && c == '\t')
                        e = 't';
                else if (esc == ESC_LOGFMT && (c < 0x20 || c == 0x7f))
                        e = 'x';
                else
                        continue;
                strbuf_addn(sb, run, (size_t)(s - run));
                run = s + 1;
                if (e == 'x') {
                        char x[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

                        strbuf_addn(sb, x, sizeof(x));
                } else {
                        char x[2] = { '\\', e };

                        strbuf_addn(sb, x, sizeof(x));
                }
        }
        strbuf_addn(sb, run, (size_t)(s - run));
}

char *strbuf_reserve(struct strbuf *sb, size_t n)
{
        if (!strbuf_grow(sb, n))
                return NULL;
        return sb->buf + sb->len;
}

void strbuf_commit(struct strbuf *sb, size_t n)
{
        if (sb->failed)
                return;
        /* More than strbuf_reserve() made room for is a caller's bug; mark the buffer failed
           rather than count bytes that were never written. */
        if (!sb->buf || n > sb->cap - sb->len - 1 || n > sb->max - sb->len) {
                sb->failed = true;
                return;
        }
        sb->len += n;
        sb->buf[sb->len] = '\0';
}

char *strbuf_put_prom_label(char *dst, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '\\' || c == '"') {
                        *dst++ = '\\';
                        *dst++ = c;
                } else if (c == '\n') {
                        *dst++ = '\\';
                        *dst++ = 'n';
                } else {
                        *dst++ = c;
                }
        }
        return dst;
}

char *strbuf_take(struct strbuf *sb)
{
        char *p;

        if (sb->failed) {
                free(sb->buf);
                p = NULL;
        } else if (sb->buf) {
                p = sb->buf;
        } else {
                p = strdup("");
        }
        sb->buf = NULL;
        sb->len = 0;
        sb->cap = 0;
        sb->failed = false;
        return p;
}
