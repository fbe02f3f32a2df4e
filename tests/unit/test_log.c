/* tests/unit/test_log.c: lib/log.c line format, escaping, levels and errno names. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static FILE *cap_file;
static int saved_stderr = -1;

/* Redirects fd 2 into a temporary file. */
static void cap_begin(void)
{
        cap_file = tmpfile();
        saved_stderr = dup(STDERR_FILENO);
        if (!cap_file || saved_stderr < 0 || dup2(fileno(cap_file), STDERR_FILENO) < 0)
                abort();
}

/* Restores fd 2 and returns what was written (caller frees). */
static char *cap_end(void)
{
        long n;
        char *s;

        if (dup2(saved_stderr, STDERR_FILENO) < 0)
                abort();
        close(saved_stderr);
        if (fseek(cap_file, 0, SEEK_END) < 0)
                abort();
        n = ftell(cap_file);
        rewind(cap_file);
        s = calloc(1, (size_t)n + 1);
        if (!s || fread(s, 1, (size_t)n, cap_file) != (size_t)n)
                abort();
        fclose(cap_file);
        return s;
}

/* The line after "ts=<24 chars> " (fixed positions), or NULL when the timestamp is malformed. */
static const char *after_ts(const char *line)
{
        /* ts=2026-01-01T00:00:00.000Z */
        if (strncmp(line, "ts=", 3) != 0 || strlen(line) < 28)
                return NULL;
        if (line[7] != '-' || line[13] != 'T' || line[22] != '.' || line[26] != 'Z' ||
            line[27] != ' ')
                return NULL;
        return line + 28;
}

struct kv_case {
        const char *value;
        const char *want; /* as printed after "k=" */
};

static const struct kv_case kv_cases[] = {
        { "plain", "plain" },
        { "42", "42" },
        { "caf\xc3\xa9", "caf\xc3\xa9" },
        { "", "\"\"" },
        { "two words", "\"two words\"" },
        { "a=b", "\"a=b\"" },
        { "say \"hi\"", "\"say \\\"hi\\\"\"" },
        { "back\\slash", "\"back\\\\slash\"" },
        { "line1\nline2", "\"line1\\nline2\"" },
        { "cr\rtab\t", "\"cr\\rtab\\t\"" },
        { "esc\x1b[0m", "\"esc\\x1b[0m\"" },
        { "forged\nts=x level=err", "\"forged\\nts=x level=err\"" },
};

int main(void)
{
        char ebuf[16], want[256];
        const char *rest;
        enum log_level lvl = LOG_LVL_DEBUG;
        char *out;
        int r;

        /* level names */
        is_int(log_level_parse("err", &lvl), 0, "parse err");
        is_int(lvl, LOG_LVL_ERR, "err value");
        is_int(log_level_parse("warning", &lvl), 0, "parse warning");
        is_int(lvl, LOG_LVL_WARNING, "warning value");
        is_int(log_level_parse("debug", &lvl), 0, "parse debug");
        is_int(lvl, LOG_LVL_DEBUG, "debug value");
        is_int(log_level_parse("warn", &lvl), -EINVAL, "warn is not a level");
        is_int(log_level_parse("INFO", &lvl), -EINVAL, "levels are lower case");
        is_int(log_level_parse("", &lvl), -EINVAL, "empty level");
        is_int(lvl, LOG_LVL_DEBUG, "ret untouched on failure");

        /* errno names */
#ifdef HAVE_STRERRORNAME_NP
        is_str(log_errname(ENOTCONN, ebuf, sizeof(ebuf)), "ENOTCONN", "ENOTCONN name");
        is_str(log_errname(-EBADMSG, ebuf, sizeof(ebuf)), "EBADMSG", "negative errno name");
#else
        is_str(log_errname(ENOTCONN, ebuf, sizeof(ebuf)), "E107", "ENOTCONN as a number");
        is_str(log_errname(-EBADMSG, ebuf, sizeof(ebuf)), "E74", "negative errno as a number");
#endif
        is_str(log_errname(99999, ebuf, sizeof(ebuf)), "E99999", "unknown errno");

        /* one line, fixed field order */
        log_setup("test-comp", LOG_LVL_INFO);
        cap_begin();
        log_kv(LOG_LVL_INFO, "worker started", "pid", "123", "sock", NULL, NULL);
        out = cap_end();
        rest = after_ts(out);
        ok(rest != NULL, "line starts with an RFC 3339 millisecond timestamp: %s", out);
        is_str(rest, "level=info comp=test-comp msg=\"worker started\" pid=123 sock=\"\"\n",
               "fields after ts");
        free(out);

        /* every value escape */
        for (size_t i = 0; i < ARRAY_SIZE(kv_cases); i++) {
                cap_begin();
                log_kv(LOG_LVL_ERR, "m", "k", kv_cases[i].value, NULL);
                out = cap_end();
                rest = after_ts(out);
                snprintf(want, sizeof(want), "level=err comp=test-comp msg=\"m\" k=%s\n",
                         kv_cases[i].want);
                is_str(rest, want, "value case %zu", i);
                ok(strchr(out, '\n') == out + strlen(out) - 1, "case %zu is one line", i);
                free(out);
        }

        /* msg is always quoted and escaped */
        cap_begin();
        log_kv(LOG_LVL_ERR, "bad \"thing\"\n", NULL);
        out = cap_end();
        is_str(after_ts(out), "level=err comp=test-comp msg=\"bad \\\"thing\\\"\\n\"\n",
               "msg escaping");
        free(out);

        /* levels above the maximum are dropped */
        cap_begin();
        log_kv(LOG_LVL_DEBUG, "hidden", NULL);
        log_kv(LOG_LVL_NOTICE, "shown", NULL);
        out = cap_end();
        ok(strstr(out, "hidden") == NULL, "debug dropped at max info");
        ok(strstr(out, "level=notice") != NULL, "notice printed at max info");
        free(out);

        /* log_errno returns r and adds err= right after msg; errno is preserved */
        cap_begin();
        errno = EAGAIN;
        r = log_errno(LOG_LVL_WARNING, -ENOTCONN, "db down, ignoring", "try", "2", NULL);
        is_int(errno, EAGAIN, "errno preserved");
        out = cap_end();
        is_int(r, -ENOTCONN, "log_errno returns r");
        snprintf(want, sizeof(want),
                 "level=warning comp=test-comp msg=\"db down, ignoring\" err=%s try=2\n",
                 log_errname(ENOTCONN, ebuf, sizeof(ebuf)));
        is_str(after_ts(out), want, "log_errno line");
        free(out);

        /* an oversized line is cut and marked, still one line */
        {
                static char big[20000];

                memset(big, 'x', sizeof(big) - 1);
                cap_begin();
                log_kv(LOG_LVL_ERR, "big", "a", "1", "v", big, NULL);
                out = cap_end();
                ok(strlen(out) <= 8192, "oversized line capped (%zu bytes)", strlen(out));
                ok(strstr(out, " truncated=true\n") != NULL, "oversized line marked truncated");
                ok(strstr(out, " a=1") != NULL, "fields before the big one kept");
                free(out);
        }
        return done_testing();
}
