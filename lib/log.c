/*
 * lib/log.c: logfmt lines on stderr (STYLE 4.11).  Each line is built in a bounded strbuf and
 * written with a single write(2) so that lines from concurrent threads or worker processes do
 * not interleave.  Values are quoted when they hold a space, '"', '=', '\' or a control
 * character, and escaped with ESC_LOGFMT.  The timestamp is UTC RFC 3339 with milliseconds.
 */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rfc3339.h"
#include "strbuf.h"

#define LOG_LINE_MAX 8192

static const char *log_comp = "hjo";
static enum log_level log_max = LOG_LVL_INFO;

static const char *const level_names[] = {
        [LOG_LVL_ERR] = "err",   [LOG_LVL_WARNING] = "warning", [LOG_LVL_NOTICE] = "notice",
        [LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

static const char *level_name(enum log_level level)
{
        if ((unsigned)level < ARRAY_SIZE(level_names) && level_names[level])
                return level_names[level];
        return "unknown";
}

void log_setup(const char *comp, enum log_level max_level)
{
        if (comp && *comp)
                log_comp = comp;
        log_max = max_level;
}

int log_level_parse(const char *s, enum log_level *ret)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
                if (level_names[i] && strcmp(s, level_names[i]) == 0) {
                        *ret = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *log_errname(int e, char *buf, size_t size)
{
        const char *name = NULL;
        int n;

        if (e < 0 && e != INT_MIN)
                e = -e;
#ifdef HAVE_STRERRORNAME_NP
        name = strerrorname_np(e);
#endif
        if (name)
                return name;
        n = snprintf(buf, size, "E%d", e);
        if (n < 0 && size > 0)
                buf[0] = '\0';
        return buf;
}

static bool needs_quotes(const char *v)
{
        if (*v == '\0')
                return true;
        for (; *v; v++) {
                unsigned char c = (unsigned char)*v;

                if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
                        return true;
        }
        return false;
}

static void add_value(struct strbuf *sb, const char *v, bool force_quotes)
{
        if (!v)
                v = "";
        if (force_quotes || needs_quotes(v)) {
                strbuf_addc(sb, '"');
                strbuf_add_escaped(sb, v, ESC_LOGFMT);
                strbuf_addc(sb, '"');
        } else {
                strbuf_adds(sb, v);
        }
}

/* One writev(2) for the whole line; only a short write (a full pipe) needs more calls. */
static void write_all(struct iovec *iov, int n_iov)
{
        while (n_iov > 0) {
                ssize_t w = writev(STDERR_FILENO, iov, n_iov);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                while (n_iov > 0 && (size_t)w >= iov->iov_len) {
                        w -= (ssize_t)iov->iov_len;
                        iov++;
                        n_iov--;
                }
                if (n_iov > 0) {
                        iov->iov_base = (char *)iov->iov_base + w;
                        iov->iov_len -= (size_t)w;
                }
        }
}

static void log_line(enum log_level level, const char *errname, const char *msg, va_list ap)
{
        /* not const: struct iovec wants a void *; never written */
        static char trunc[] = " truncated=true\n";
        static char nl[] = "\n";
        char ts[RFC3339_BUFSZ];
        struct strbuf sb;
        const char *k;
        int saved = errno;

        if (level > log_max)
                return;
        /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ": keep milliseconds */
        rfc3339_format(rfc3339_now_usec(), ts, sizeof(ts));
        if (strlen(ts) == 27) {
                ts[23] = 'Z';
                ts[24] = '\0';
        }
        strbuf_init(&sb, LOG_LINE_MAX - sizeof(trunc));
        strbuf_adds(&sb, "ts=");
        strbuf_adds(&sb, ts);
        strbuf_adds(&sb, " level=");
        strbuf_adds(&sb, level_name(level));
        strbuf_adds(&sb, " comp=");
        add_value(&sb, log_comp, false);
        strbuf_adds(&sb, " msg=");
        add_value(&sb, msg, true);
        if (errname) {
                strbuf_adds(&sb, " err=");
                strbuf_adds(&sb, errname);
        }
        while ((k = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);

                strbuf_addc(&sb, ' ');
                strbuf_adds(&sb, k);
                strbuf_addc(&sb, '=');
                add_value(&sb, v, false);
        }
        if (!strbuf_failed(&sb)) {
                struct iovec iov[2] = { { sb.buf, sb.len }, { nl, 1 } };

                write_all(iov, 2); /* the line and its "\n" */
        } else if (sb.buf && sb.len > 0) {
                /* over the ceiling: keep what fitted and say so, still in one call */
                struct iovec iov[2] = { { sb.buf, sb.len }, { trunc, sizeof(trunc) - 1 } };

                write_all(iov, 2);
        }
        strbuf_clear(&sb);
        errno = saved;
}

void log_kv(enum log_level level, const char *msg, ...)
{
        va_list ap;

        va_start(ap, msg);
        log_line(level, NULL, msg, ap);
        va_end(ap);
}

int log_errno(enum log_level level, int r, const char *msg, ...)
{
        char buf[16];
        va_list ap;

        va_start(ap, msg);
        log_line(level, log_errname(r, buf, sizeof(buf)), msg, ap);
        va_end(ap);
        return r;
}
