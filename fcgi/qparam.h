/*
 * fcgi/qparam.h: typed, validated query parameters (STYLE 4.8).  Each route declares a table;
 * qparam_parse() decodes the query string (application/x-www-form-urlencoded: '+' is a space,
 * %XX escapes) and fills one struct qval per table row.  It rejects unknown and repeated
 * parameters, bad escapes, invalid UTF-8, control characters, oversized and out-of-range
 * values.  Handlers only ever see the struct qval array.  Pure and thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Longest decoded value: a cursor (QP_TOKEN, fcgi/cursor.h).  QP_NAME and QP_HOST values have
   their own, lower limits (valid_name, valid_hostname). */
#define QP_STR_MAX 511

enum qp_type {
        QP_INT,   /* decimal integer in [min, max] -> i */
        QP_ENUM,  /* one of names[] -> s (and i = its index) */
        QP_NAME,  /* free text name (valid_name: 1-255 bytes) -> s */
        QP_HOST,  /* host name (valid_hostname) -> s */
        QP_TIME,  /* RFC 3339 -> i (microseconds since the epoch) */
        QP_NUM,   /* decimal number (num_parse_double) in [min, max] -> d */
        QP_TOKEN, /* opaque token: min..max bytes of base64url [A-Za-z0-9_-] -> s */
};

struct qparam {
        const char *name;
        enum qp_type type;
        int64_t min, max;         /* QP_INT and QP_NUM bounds; QP_TOKEN length in bytes */
        int64_t def;              /* QP_INT default when absent (set stays false) */
        const char *const *names; /* QP_ENUM: NULL-terminated */
};

struct qval {
        bool set;
        int64_t i;
        double d; /* QP_NUM */
        char s[QP_STR_MAX + 1];
};

/*
 * spec is terminated by a row with name == NULL; vals has one element per row.
 * 0, or -EINVAL with *reterr_field (the parameter's name as sent, copied into errbuf when it is
 * not a known one) and *reterr_msg (constant text) set.
 */
MUST_CHECK int qparam_parse(const char *query, size_t len, const struct qparam *spec,
                            struct qval *vals, char *errbuf, size_t errsz,
                            const char **reterr_field, const char **reterr_msg);
