/*
 * fcgi/cursor.h: the `after` cursor of GET /v1/jobs (keyset pagination).  A cursor names the
 * last row of a page by its sort key value and its id; the next page is the rows that sort
 * after that one.  The database makes cursors (hjo_jobs_cursor, sql/0061_keyset.sql); this
 * module only decodes and checks them.  Version 1 is, as base64url without padding:
 *
 *   "1|" sort "|" key "|" id "|" check
 *
 *   sort   the sort order it was made for, as the sort parameter spells it ("-start_time")
 *   key    start_time sorts: the row's start_time as hjo_ts() prints it
 *          ("2026-01-02T03:04:05.123456Z"), empty for a NULL start_time; summary sorts: the
 *          row's value in PostgreSQL's shortest exact decimal ("0.375", "1e-05")
 *   id     the row's job id
 *   check  the first 16 lower-case hex digits of SHA-256 of everything before "|check"
 *
 * The check refuses edited and truncated cursors.  It is not a secret: a cursor only says where
 * a listing starts, the filters and the caller's scope apply as always.  Pure, thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "valid.h"

/* The longest cursor: "1|" + 21 (sort) + "|" + 27 (key) + "|" + 255 (id) + "|" + 16 = 324
   bytes, 432 in base64url. */
#define CURSOR_MAX 448

struct cursor {
        bool has_key;     /* false: the row's start_time was NULL (start_time sorts only) */
        bool is_time;     /* key_usec (start_time sorts) or key_num (summary sorts) */
        int64_t key_usec; /* microseconds since the epoch */
        double key_num;
        char id[VALID_JOB_ID_MAX + 1];
};

/*
 * Decodes the cursor (s, len) and checks that it was made for the sort order `sort`
 * (NUL-terminated: "-start_time", "cpu_efficiency", ...).  0, or -EINVAL with *reterr_msg set
 * (constant text: malformed or edited, or made for another sort order).  *ret is written only
 * on success.
 */
MUST_CHECK int cursor_parse(const char *s, size_t len, const char *sort, struct cursor *ret,
                            const char **reterr_msg);
