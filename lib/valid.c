/*
 * lib/valid.c: validators for client-supplied identifiers.  UTF-8 is checked against the
 * well-formed byte sequences of Unicode 15, table 3-7 (no overlongs, no surrogates, nothing
 * above U+10FFFF).  These functions only answer yes or no; they never normalise.
 */
#include "config.h"
#include "valid.h"

#define VALID_PATH_MAX 4096

static bool is_alnum(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_ctrl(unsigned char c)
{
        return c < 0x20 || c == 0x7f;
}

bool valid_job_id(const char *s, size_t len)
{
        if (!s || len == 0 || len > VALID_JOB_ID_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
                        return false;
        }
        /* "." and ".." would name a directory, not a job, in a URL path or a spool file name */
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        return true;
}

bool valid_hostname(const char *s, size_t len)
{
        size_t label = 0; /* length of the current label */

        if (!s || len == 0 || len > VALID_HOSTNAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!is_alnum(c) && c != '_' && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        /* no trailing dot, no trailing hyphen */
        return label > 0 && s[len - 1] != '-';
}

bool valid_utf8(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        if (!s)
                return len == 0;
        while (i < len) {
                unsigned char c = p[i];
                unsigned char lo = 0x80, hi = 0xbf;
                size_t n;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        if (c == 0xe0)
                                lo = 0xa0; /* overlong */
                        else if (c == 0xed)
                                hi = 0x9f; /* surrogates U+D800..U+DFFF */
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        if (c == 0xf0)
                                lo = 0x90; /* overlong */
                        else if (c == 0xf4)
                                hi = 0x8f; /* above U+10FFFF */
                } else {
                        return false; /* 0x80..0xc1 (continuation, overlong lead), 0xf5.. */
                }
                if (len - i - 1 < n)
                        return false; /* truncated */
                if (p[i + 1] < lo || p[i + 1] > hi)
                        return false;
                for (size_t k = 2; k <= n; k++) {
                        if (p[i + k] < 0x80 || p[i + k] > 0xbf)
                                return false;
                }
                i += n + 1;
        }
        return true;
}

bool valid_text(const char *s, size_t len)
{
        if (!s)
                return len == 0;
        for (size_t i = 0; i < len; i++) {
                if (is_ctrl((unsigned char)s[i]))
                        return false;
        }
        return valid_utf8(s, len);
}

bool valid_name(const char *s, size_t len)
{
        if (!s || len == 0 || len > VALID_NAME_MAX)
                return false;
        return valid_text(s, len);
}

bool valid_path(const char *s, size_t len)
{
        if (!s || len == 0 || len > VALID_PATH_MAX || s[0] != '/')
                return false;
        for (size_t i = 0; i < len; i++) {
                if (is_ctrl((unsigned char)s[i]))
                        return false;
        }
        return true;
}

int valid_b64url_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

bool valid_b64url(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (valid_b64url_value(s[i]) < 0)
                        return false;
        return true;
}
