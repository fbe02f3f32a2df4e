/* tests/unit/test_valid.c: lib/valid.c identifier validators. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "valid.h"

struct vcase {
        const char *in;
        size_t len; /* 0: strlen(in) */
        bool want;
};

/* clang-format off */
static const struct vcase job_ids[] = {
        { "12345", 0, true },
        { "12345.batch", 0, true },
        { "cluster:1234_5", 0, true },
        { "a-b.c_d:e", 0, true },
        { "Z", 0, true },
        { "", 0, false },
        { "../etc", 0, false }, /* '/' is not allowed */
        { ".", 0, false },      /* a directory name, not a job */
        { "..", 0, false },
        { "...", 0, true },
        { "a/b", 0, false },
        { "a b", 0, false },
        { "a\nb", 0, false },
        { "a;b", 0, false },
        { "job%20", 0, false },
        { "caf\xc3\xa9", 0, false },
        { "a\0b", 3, false },
};

static const struct vcase hosts[] = {
        { "node001", 0, true },
        { "gpu-017.cluster.example", 0, true },
        { "a", 0, true },
        { "n_1", 0, true },
        { "1.2.3.4", 0, true },
        { "", 0, false },
        { ".", 0, false },
        { ".node", 0, false },
        { "node.", 0, false },
        { "a..b", 0, false },
        { "-node", 0, false },
        { "node-", 0, false },
        { "a.-b", 0, false },
        { "a-.b", 0, false },
        { "no de", 0, false },
        { "node/1", 0, false },
        { "n\xc3\xb6" "de", 0, false },
};

static const struct vcase utf8[] = {
        { "", 0, true },
        { "ascii", 0, true },
        { "caf\xc3\xa9", 0, true },                 /* U+00E9 */
        { "\xe2\x82\xac", 0, true },                /* U+20AC */
        { "\xef\xbf\xbf", 0, true },                /* U+FFFF */
        { "\xf0\x9f\x98\x80", 0, true },            /* U+1F600 */
        { "\xf4\x8f\xbf\xbf", 0, true },            /* U+10FFFF, the last one */
        { "\xed\x9f\xbf", 0, true },                /* U+D7FF, just below the surrogates */
        { "a\0b", 3, true },                        /* NUL is valid UTF-8 */
        { "\xc0\x80", 0, false },                   /* overlong NUL */
        { "\xc1\xbf", 0, false },                   /* overlong */
        { "\xe0\x80\xaf", 0, false },               /* overlong '/' */
        { "\xf0\x80\x80\xaf", 0, false },           /* overlong '/' */
        { "\xed\xa0\x80", 0, false },               /* U+D800 surrogate */
        { "\xed\xbf\xbf", 0, false },               /* U+DFFF surrogate */
        { "\xf4\x90\x80\x80", 0, false },           /* U+110000 */
        { "\xf5\x80\x80\x80", 0, false },
        { "\xff", 0, false },
        { "\x80", 0, false },                       /* lone continuation */
        { "\xc3", 0, false },                       /* truncated 2-byte */
        { "\xe2\x82", 0, false },                   /* truncated 3-byte */
        { "\xf0\x9f\x98", 0, false },               /* truncated 4-byte */
        { "\xe2\x28\xa1", 0, false },               /* bad continuation */
        { "ok\xc3\xa9\xc3", 0, false },             /* truncated at the end */
};

static const struct vcase names[] = {
        { "alice", 0, true },
        { "Jos\xc3\xa9 Garc\xc3\xad" "a", 0, true },
        { "gpu partition", 0, true },
        { "", 0, false },
        { "tab\there", 0, false },
        { "new\nline", 0, false },
        { "del\x7f", 0, false },
        { "a\0b", 3, false },
        { "\xed\xa0\x80", 0, false },
        { "\xc0\xaf", 0, false },
};

static const struct vcase paths[] = {
        { "/", 0, true },
        { "/run/hjo/api.sock", 0, true },
        { "/with space/x", 0, true },
        { "", 0, false },
        { "relative/path", 0, false },
        { "/a\nb", 0, false },
        { "/a\0b", 4, false },
};

/* clang-format on */

static void run(const char *what, bool (*fn)(const char *, size_t), const struct vcase *c, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                size_t len = c[i].len ? c[i].len : strlen(c[i].in);

                is_int(fn(c[i].in, len), c[i].want, "%s case %zu '%s' -> %s", what, i, c[i].in,
                       c[i].want ? "valid" : "invalid");
        }
}

int main(void)
{
        char buf[5000];

        run("job_id", valid_job_id, job_ids, ARRAY_SIZE(job_ids));
        run("hostname", valid_hostname, hosts, ARRAY_SIZE(hosts));
        run("utf8", valid_utf8, utf8, ARRAY_SIZE(utf8));
        run("name", valid_name, names, ARRAY_SIZE(names));
        run("path", valid_path, paths, ARRAY_SIZE(paths));

        /* length limits: max accepted, max + 1 rejected */
        memset(buf, '7', sizeof(buf));
        ok(valid_job_id(buf, 255), "job id of 255 chars");
        ok(!valid_job_id(buf, 256), "job id of 256 chars rejected");
        ok(valid_name(buf, 255), "name of 255 bytes");
        ok(!valid_name(buf, 256), "name of 256 bytes rejected");

        memset(buf, 'a', sizeof(buf));
        ok(valid_hostname(buf, 63), "label of 63");
        ok(!valid_hostname(buf, 64), "label of 64 rejected");
        /* 63.63.63.61 = 253 chars */
        buf[63] = buf[127] = buf[191] = '.';
        ok(valid_hostname(buf, 253), "hostname of 253 chars");
        buf[253] = '.';
        buf[254] = 'b';
        ok(!valid_hostname(buf, 255), "hostname of 255 chars rejected");

        buf[0] = '/';
        memset(buf + 1, 'p', sizeof(buf) - 1);
        ok(valid_path(buf, 4096), "path of 4096 bytes");
        ok(!valid_path(buf, 4097), "path of 4097 bytes rejected");

        /* length is the whole input: a valid prefix does not make the rest valid */
        ok(valid_job_id("abc/def", 3), "job id prefix of length 3");
        ok(!valid_utf8("\xe2\x82\xac", 2), "UTF-8 cut mid-sequence");
        ok(valid_text("", 0), "empty text is valid text");
        ok(!valid_text("a\rb", 3), "CR is not valid text");

        /* base64url (RFC 4648 section 5): the 64 values in alphabet order, nothing else */
        {
                static const char alpha[] =
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                int bad = 0, others = 0;

                for (int i = 0; i < 64; i++)
                        bad += valid_b64url_value(alpha[i]) != i;
                for (int c = 0; c < 256; c++)
                        others += strchr(alpha, c) == NULL && c != 0 &&
                                  valid_b64url_value((char)c) != -1;
                ok(bad == 0, "base64url: each of the 64 characters has its value");
                ok(others == 0 && valid_b64url_value('\0') == -1,
                   "base64url: every other byte is -1 (+, /, =, space, 0x80-0xff)");
                ok(valid_b64url(alpha, 64) && valid_b64url("", 0), "base64url text, and empty");
                ok(!valid_b64url("ab+c", 4) && !valid_b64url("ab/c", 4) && !valid_b64url("ab=", 3),
                   "standard base64 and padding are not base64url");
        }
        return done_testing();
}
