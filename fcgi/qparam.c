/*
 * fcgi/qparam.c: query string decoding and validation.  The query string is split on '&'
 * (empty pieces are skipped), each piece on the first '='.
 */
#include "config.h"
#include "qparam.h"

#include <errno.h>
#include <string.h>

#include "num.h"
#include "rfc3339.h"
#include "valid.h"

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes s[0..len) into out (size outsz, NUL-terminated).  -EINVAL on a bad escape or NUL,
   -E2BIG when it does not fit. */
static int urldecode(const char *s, size_t len, char *out, size_t outsz, size_t *ret_len)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '+') {
                        c = ' ';
                } else if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= len)
                                return -EINVAL;
                        hi = hexval(s[i + 1]);
                        lo = hexval(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char)(hi * 16 + lo);
                        i += 2;
                }
                if (c == '\0')
                        return -EINVAL;
                if (o + 1 >= outsz)
                        return -E2BIG;
                out[o++] = c;
        }
        out[o] = '\0';
        *ret_len = o;
        return 0;
}

static int set_value(const struct qparam *p, const char *v, size_t vlen, struct qval *out,
                     const char **reterr_msg)
{
        int64_t i;
        double d;
        int r;

        switch (p->type) {
        case QP_INT:
                r = num_parse_i64(v, vlen, p->min, p->max, &i);
                if (r < 0) {
                        *reterr_msg = r == -ERANGE ? "is out of range" : "must be an integer";
                        return -EINVAL;
                }
                out->i = i;
                break;
        case QP_ENUM:
                for (i = 0; p->names[i]; i++)
                        if (strlen(p->names[i]) == vlen && memcmp(p->names[i], v, vlen) == 0)
                                break;
                if (!p->names[i]) {
                        *reterr_msg = "is not one of the allowed values";
                        return -EINVAL;
                }
                out->i = i;
                break;
        case QP_NAME:
                if (!valid_name(v, vlen)) {
                        *reterr_msg = "must be 1-255 bytes of UTF-8 without control characters";
                        return -EINVAL;
                }
                break;
        case QP_HOST:
                if (!valid_hostname(v, vlen)) {
                        *reterr_msg = "must be a host name";
                        return -EINVAL;
                }
                break;
        case QP_NUM:
                r = num_parse_double(v, vlen, &d);
                if (r == 0 && (d < (double)p->min || d > (double)p->max))
                        r = -ERANGE;
                if (r < 0) {
                        *reterr_msg = r == -ERANGE ? "is out of range" : "must be a number";
                        return -EINVAL;
                }
                out->d = d;
                break;
        case QP_TOKEN:
                if ((int64_t)vlen < p->min || (int64_t)vlen > p->max) {
                        *reterr_msg = "has the wrong length";
                        return -EINVAL;
                }
                if (!valid_b64url(v, vlen)) {
                        *reterr_msg = "must be base64url text ([A-Za-z0-9_-])";
                        return -EINVAL;
                }
                break;
        case QP_TIME:
                if (rfc3339_parse(v, vlen, &i) < 0) {
                        *reterr_msg = "must be an RFC 3339 timestamp with a time zone";
                        return -EINVAL;
                }
                out->i = i;
                break;
        }
        memcpy(out->s, v, vlen);
        out->s[vlen] = '\0';
        out->set = true;
        return 0;
}

int qparam_parse(const char *query, size_t len, const struct qparam *spec, struct qval *vals,
                 char *errbuf, size_t errsz, const char **reterr_field, const char **reterr_msg)
{
        char key[64], val[QP_STR_MAX + 1];
        size_t nspec = 0, pos = 0;

        while (spec[nspec].name)
                nspec++;
        for (size_t k = 0; k < nspec; k++) {
                memset(&vals[k], 0, sizeof(vals[k]));
                vals[k].i = spec[k].def;
        }
        while (pos < len) {
                const char *piece = query + pos;
                const char *amp = memchr(piece, '&', len - pos);
                size_t plen = amp ? (size_t)(amp - piece) : len - pos;
                const char *eq = memchr(piece, '=', plen);
                size_t klen = eq ? (size_t)(eq - piece) : plen;
                size_t kdec, vdec = 0;
                size_t k;
                int r;

                pos += plen + 1;
                if (plen == 0)
                        continue;
                r = urldecode(piece, klen, key, sizeof(key), &kdec);
                if (r < 0 || !valid_utf8(key, kdec)) {
                        *reterr_field = "query";
                        *reterr_msg = "malformed query string";
                        return -EINVAL;
                }
                for (k = 0; k < nspec; k++)
                        if (strcmp(spec[k].name, key) == 0)
                                break;
                if (k == nspec) {
                        size_t n = kdec < errsz ? kdec : errsz - 1;

                        memcpy(errbuf, key, n);
                        errbuf[n] = '\0';
                        *reterr_field = errbuf;
                        *reterr_msg = "unknown query parameter";
                        return -EINVAL;
                }
                *reterr_field = spec[k].name;
                if (vals[k].set) {
                        *reterr_msg = "given more than once";
                        return -EINVAL;
                }
                if (!eq) {
                        *reterr_msg = "needs a value";
                        return -EINVAL;
                }
                r = urldecode(eq + 1, plen - klen - 1, val, sizeof(val), &vdec);
                if (r == -E2BIG) {
                        *reterr_msg = "is too long";
                        return -EINVAL;
                }
                if (r < 0 || !valid_utf8(val, vdec)) {
                        *reterr_msg = "malformed value";
                        return -EINVAL;
                }
                if (vdec == 0) {
                        *reterr_msg = "must not be empty";
                        return -EINVAL;
                }
                r = set_value(&spec[k], val, vdec, &vals[k], reterr_msg);
                if (r < 0)
                        return r;
        }
        *reterr_field = NULL;
        *reterr_msg = NULL;
        return 0;
}
