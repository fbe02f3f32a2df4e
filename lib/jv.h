/*
 * lib/jv.h: strict JSON input with json-c (STYLE 4.9).
 * jv_parse() caps size and depth, rejects invalid UTF-8 and trailing bytes.
 * jv_dispatch() fills a C struct from a JSON object through a static field table; on failure
 * *reterr_field names the offending field: borrowed from the table, or for an unknown key
 * borrowed from the parsed document (valid until jv_free()).
 * The json-c type never appears here: the parsed tree is `struct jv`, opaque.
 * Thread-safe (no shared state).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct jv; /* opaque: a parsed JSON document (json_object underneath) */

enum jv_type {
        JV_STR,     /* char * (malloc'd copy, NUL-terminated), len in [min, max]; check() if set */
        JV_I64,     /* int64_t in [imin, imax]; JSON integer only (no 1.0, no "1") */
        JV_DOUBLE,  /* double in [dmin, dmax]; JSON integer or number */
        JV_BOOL,    /* bool */
        JV_TIME,    /* int64_t microseconds, from an RFC 3339 string */
        JV_STRARR,  /* struct jv_strarr: array of strings, n in [min, max], each 1..maxlen + check() */
        JV_ANY,     /* any JSON value, not converted (only has_offset is set): a nested array or
                       object the caller reads with jv_member() */
};

/*
 * Bounds: JV_I64 with imin == imax == 0 and JV_DOUBLE with dmin == dmax == 0 are unbounded
 * (JV_DOUBLE still rejects non-finite values); JV_STR/JV_STRARR imax == 0 means no length cap
 * (the document size still caps it) and STRARR items are never empty; max_items == 0 means no
 * cap on the number of items.  A string never contains NUL ("\u0000" is rejected).
 * has_offset: on success the bool is set to true when present and to false when absent; the
 * table must say JV_NO_HAS (SIZE_MAX) explicitly when it is not tracked.  On success an absent
 * field's destination is left as it was (so the caller's default stays); a present JV_STR or
 * JV_STRARR overwrites the destination without freeing what was there.
 */
#define JV_NO_HAS SIZE_MAX

/* field flags */
#define JV_REQUIRED 0x1 /* absent -> error */
#define JV_NULLABLE 0x2 /* JSON null accepted and treated as absent */

struct jv_strarr {
        char **v; /* each malloc'd; v malloc'd */
        size_t n;
};

struct jv_field {
        const char *name;
        enum jv_type type;
        size_t offset;      /* destination in the target struct */
        size_t has_offset;  /* offset of a bool set true when the field was present (non-null);
                               SIZE_MAX when not tracked */
        unsigned flags;
        int64_t imin, imax; /* JV_I64 bounds; JV_STR/JV_STRARR: imin/imax = length bounds in bytes */
        double dmin, dmax;  /* JV_DOUBLE bounds */
        size_t max_items;   /* JV_STRARR: max number of items (min is 1 when JV_REQUIRED) */
        bool (*check)(const char *s, size_t len); /* JV_STR / JV_STRARR items; NULL = valid_utf8
                                                     without control chars */
};

/* dispatch flags */
#define JV_ALLOW_UNKNOWN 0x1 /* skip keys not in the table (upstream input) */

/*
 * 0, -EBADMSG (not JSON, trailing bytes, bad UTF-8, too deep, an integer outside
 * [INT64_MIN, UINT64_MAX], NaN/Infinity, single quotes, raw control characters in strings),
 * -E2BIG (len > max_len), -EINVAL (max_depth < 1), -ENOMEM.  Any JSON value may be the root
 * (the text "null" included).  Caller frees *ret with jv_free().
 */
MUST_CHECK int jv_parse(const char *buf, size_t len, size_t max_len, int max_depth, struct jv **ret);
void jv_free(struct jv *j); /* NULL-safe */
bool jv_is_object(const struct jv *j);

/*
 * Sub-documents, for arrays of objects and nested objects (POST /v1/samples).  Each result
 * shares the parsed tree (json-c reference counting) and is freed with jv_free(), before or
 * after the document it came from.
 * jv_member(): the value of member `key` of object j: 0, -ENOENT (absent or JSON null),
 * -EINVAL (j is not an object), -ENOMEM.  jv_array_get(): element i of array j: 0, -ENOENT
 * (i out of range, or the element is null), -EINVAL (j is not an array), -ENOMEM.
 * jv_array_len() is 0 for anything but an array.  *ret untouched on failure.
 */
MUST_CHECK int jv_member(const struct jv *j, const char *key, struct jv **ret);
bool jv_is_array(const struct jv *j);
size_t jv_array_len(const struct jv *j);
MUST_CHECK int jv_array_get(const struct jv *j, size_t i, struct jv **ret);

/*
 * Fills `target` from the top-level object.  0 or -EINVAL (wrong type, out of range, missing
 * required, unknown key when not allowed: *reterr_field set, *reterr_msg a short constant
 * English reason such as "must be a string"), or -ENOMEM.  A root that is not an object gives
 * -EINVAL with *reterr_field "(root)".  On failure target is not modified at all (everything
 * is converted before anything is stored); reterr_field and reterr_msg may be NULL.
 */
MUST_CHECK int jv_dispatch(const struct jv *j, const struct jv_field *fields, unsigned flags,
                           void *target, const char **reterr_field, const char **reterr_msg);

/* Frees the JV_STR and JV_STRARR members that jv_dispatch() filled in target. */
void jv_dispatch_clear(const struct jv_field *fields, void *target);
void jv_strarr_clear(struct jv_strarr *a);
