/*
 * fcgi/series_json.h: the JSON answers of GET /v1/jobs/{id}/metrics and GET
 * /v1/nodes/{node}/metrics, written from the rows of hjo_samples_rows / hjo_node_samples_rows
 * (sql/0065_metric_rows.sql).  The document is byte for byte the one hjo_samples_list (0050) /
 * hjo_node_samples_list (0064) build with json_build_object and json_agg: the same keys in the
 * same order, PostgreSQL's separators ("key" : value, ", " between members and elements), each
 * number as the text PostgreSQL printed it (a text that is no JSON number, "NaN" or
 * "Infinity", becomes a string, as PostgreSQL's JSON does), strings escaped as escape_json()
 * does, SQL NULL as null, times as hjo_ts() prints them.
 * Pure: no I/O, no logging; the caller runs the statement and answers (fcgi/api_util.c).
 */
#pragma once
#include <stddef.h>

#include "compiler.h"

struct strbuf;

enum series_kind {
        SERIES_JOB,  /* hjo_samples_rows: {"job_id", "resolution", "samples", "total"} */
        SERIES_NODE, /* hjo_node_samples_rows: {"node", "resolution", "samples", "total"} */
};

/* Columns of both row functions (see 0065): the header's and the time's; the entry columns
   follow, SERIES_N_COLS in all. */
enum {
        SERIES_COL_RESOLUTION,
        SERIES_COL_TOTAL,
        SERIES_COL_TS_USEC,
        SERIES_COL_TS_TEXT,
        SERIES_N_COLS = 15,
};

/* The most bytes of a document: 10,000 entries (limit's maximum) of about 400 bytes, with room
   for long node names. */
#define SERIES_JSON_MAX_BYTES (64u * 1024 * 1024)

/* The value of (row, col) as text, NULL for SQL NULL; borrowed until the format call returns. */
typedef const char *(*series_value_fn)(const void *ctx, int row, int col);

/*
 * Appends the document of `kind` for `id` (the job id or node name of the request) to sb, from
 * n_rows rows (row 0 the header, then the entries in answer order) read through value(ctx,
 * row, col).  0; -EBADMSG when the rows are not what 0065 returns (no header, a resolution
 * other than raw/1m/1h, no total, a time that is no integer of the years 1 to 9999); -E2BIG
 * when sb failed (its ceiling, or memory; an entry needs room for the most its values could
 * take, up to 6 times its size, below the ceiling).  On failure sb holds a partial document.
 */
MUST_CHECK int series_json_format(struct strbuf *sb, enum series_kind kind, const char *id,
                                  int n_rows, series_value_fn value, const void *ctx);

/* Appends s as a JSON string, escaped as PostgreSQL's escape_json() does: \" \\ \b \f \n \r \t,
   other bytes below 0x20 as \u00xx, everything else as it is. */
void series_json_add_string(struct strbuf *sb, const char *s);
/* Appends the text of a number as PostgreSQL's JSON does: as it is when it is a JSON number,
   else as a string (NaN, Infinity, -Infinity). */
void series_json_add_number(struct strbuf *sb, const char *s);
