/*
 * fcgi/cursor.c: decoding and checking `after` cursors (the format is in cursor.h).  Strict: one
 * spelling per cursor is accepted (base64url without padding and with zero unused bits, the
 * fields as the database writes them), so a cursor edited anywhere fails its check or its
 * syntax.  SHA-256 from OpenSSL libcrypto.
 */
#include "config.h"
#include "cursor.h"

#include <errno.h>
#include <string.h>

#include "compiler.h"
#include "num.h"
#include "rfc3339.h"
#include "token.h"
#include "valid.h"

#define CURSOR_VERSION   "1"
#define CURSOR_CHECK_HEX 16
#define CURSOR_TEXT_MAX  (CURSOR_MAX / 4 * 3 + 2)

/* RFC 4648 section 5 without padding.  The bits below the last whole byte must be zero (RFC 4648
   section 3.5 allows a decoder to refuse them otherwise): one text per byte string. */
static int b64url_decode(const char *s, size_t len, char *out, size_t size, size_t *ret_len)
{
        unsigned acc = 0, bits = 0;
        size_t o = 0;

        if (len % 4 == 1)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                int v = valid_b64url_value(s[i]);

                if (v < 0)
                        return -EINVAL;
                acc = ((acc << 6) | (unsigned)v) & 0xfff;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (o >= size)
                                return -E2BIG;
                        out[o++] = (char)((acc >> bits) & 0xff);
                }
        }
        if ((acc & ((1u << bits) - 1)) != 0)
                return -EINVAL;
        *ret_len = o;
        return 0;
}

/* The first CURSOR_CHECK_HEX hex digits of SHA-256(s, len) (token_hash_hex()) equal hex? */
static bool check_ok(const char *s, size_t len, const char *hex, size_t hexlen)
{
        char full[TOKEN_HASH_HEX + 1];

        if (hexlen != CURSOR_CHECK_HEX || token_hash_hex(s, len, full, sizeof(full)) < 0)
                return false;
        return memcmp(full, hex, CURSOR_CHECK_HEX) == 0;
}

static bool is_time_sort(const char *sort)
{
        return strcmp(sort, "start_time") == 0 || strcmp(sort, "-start_time") == 0;
}

/* The key field into c (is_time already set).  -EINVAL when it is not one the database
   writes for that kind of sort key. */
static int parse_key(const char *k, size_t len, struct cursor *c)
{
        if (c->is_time) {
                c->has_key = len > 0;
                if (len == 0)
                        return 0;
                /* hjo_ts() always writes "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
                if (len != 27 || k[len - 1] != 'Z')
                        return -EINVAL;
                return rfc3339_parse(k, len, &c->key_usec) < 0 ? -EINVAL : 0;
        }
        /* a summary sort lists only rows with a value: a cursor always has one */
        c->has_key = true;
        return num_parse_double(k, len, &c->key_num) < 0 ? -EINVAL : 0;
}

/* 0, -EBADMSG (malformed or edited) or -EINVAL (made for another sort order). */
static int decode(const char *s, size_t len, const char *sort, struct cursor *ret)
{
        char text[CURSOR_TEXT_MAX];
        const char *f[5] = { NULL };
        size_t flen[5] = { 0 }, tlen = 0, nf = 0, start = 0;
        struct cursor c = { 0 };

        if (len == 0 || len > CURSOR_MAX || b64url_decode(s, len, text, sizeof(text), &tlen) < 0)
                return -EBADMSG;
        /* printable ASCII only: every field is */
        for (size_t i = 0; i < tlen; i++)
                if (text[i] < 0x21 || text[i] > 0x7e)
                        return -EBADMSG;
        for (size_t i = 0; i <= tlen; i++) {
                if (i < tlen && text[i] != '|')
                        continue;
                if (nf == ARRAY_SIZE(f))
                        return -EBADMSG;
                f[nf] = text + start;
                flen[nf++] = i - start;
                start = i + 1;
        }
        if (nf != ARRAY_SIZE(f) || flen[0] != strlen(CURSOR_VERSION) ||
            memcmp(f[0], CURSOR_VERSION, flen[0]) != 0)
                return -EBADMSG;
        /* the check covers "1|sort|key|id", without the '|' before it */
        if (!check_ok(text, (size_t)(f[4] - text) - 1, f[4], flen[4]))
                return -EBADMSG;
        if (flen[1] != strlen(sort) || memcmp(f[1], sort, flen[1]) != 0)
                return -EINVAL;
        c.is_time = is_time_sort(sort);
        if (parse_key(f[2], flen[2], &c) < 0 || !valid_job_id(f[3], flen[3]))
                return -EBADMSG;
        memcpy(c.id, f[3], flen[3]);
        c.id[flen[3]] = '\0';
        *ret = c;
        return 0;
}

int cursor_parse(const char *s, size_t len, const char *sort, struct cursor *ret,
                 const char **reterr_msg)
{
        int r = decode(s, len, sort, ret);

        if (r == -EINVAL)
                *reterr_msg = "was made for another sort order";
        else if (r < 0)
                *reterr_msg = "is not a valid cursor (malformed or edited)";
        return r < 0 ? -EINVAL : 0;
}
