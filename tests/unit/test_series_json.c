/*
 * tests/unit/test_series_json.c: the metrics documents hjo-api writes from rows
 * (fcgi/series_json.c).  Every expected document below was printed by PostgreSQL 15 with the
 * json_build_object / json_agg calls of hjo_samples_list (sql/0050) and hjo_node_samples_list
 * (sql/0064) over the same values, e.g. for `golden_job_1m`:
 *   SELECT json_build_object('job_id', E'j"1\\', 'resolution', '1m', 'samples', coalesce((
 *     SELECT json_agg(json_build_object('timestamp', hjo_ts(v.ts), 'node', v.node, ...)
 *     ORDER BY v.ord) FROM (VALUES (...), ...) v(...)), '[]'::json), 'total', 4321::bigint)
 * and the rows are what hjo_samples_rows / hjo_node_samples_rows (sql/0065) return for those
 * values, as text (each value's output function; hjo_ts_usec() for the time).  So a change
 * in the separators, the key order, the escapes, null, NaN or the time format fails here.
 * tests/integration/storage_test.py compares whole answers with the SQL functions' too.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "series_json.h"
#include "strbuf.h"
#include "tap.h"

#define NCOL SERIES_N_COLS

/* Rows as 0065 returns them: [row][column], NULL for SQL NULL.  A header row names its first
   two columns only; C leaves the rest NULL. */
struct rows {
        int n;
        const char *const (*v)[NCOL];
};

static const char *value(const void *ctx, int row, int col)
{
        const struct rows *r = ctx;

        if (row < 0 || row >= r->n || col < 0 || col >= NCOL) {
                (void)ok(false, "value(%d, %d) out of range", row, col);
                return NULL;
        }
        return r->v[row][col];
}

/* ---- jobs, 1-minute rollups: escapes, NULL, NaN and infinities, an infinite time ------------- */
/* clang-format off */
static const char *const job_1m_rows[][NCOL] = {
        { "1m", "4321" },
        { NULL, NULL, "1767323045123456", NULL, "cn\"1\\\n\t\x01\xc3\xa9\x1f/", "6", "54.5", "52",
          "57", "1078460416", "1028.5", "1081081856", NULL, NULL, NULL },
        /* 'infinity': hjo_ts_usec and hjo_ts are both NULL */
        { NULL, NULL, NULL, NULL, "n2", "1", "NaN", "-Infinity", "Infinity", "0", "1e-05",
          "9223372036854775807", "1.5e+20", "0", "33.333333333333336" },
        { NULL, NULL, "-62135596800000000", NULL, "", "0", NULL, NULL, NULL, NULL, NULL, NULL,
          "0.1", "100", "1e+15" },
};
/* clang-format on */
static const char golden_job_1m[] =
        "{\"job_id\" : \"j\\\"1\\\\\", \"resolution\" : \"1m\", \"samples\" : [{\"timestamp\" : "
        "\"2026-01-02T03:04:05.123456Z\", \"node\" : \"cn\\\"1\\\\\\n\\t\\u0001\xc3\xa9\\u001f/\", "
        "\"sample_count\" : 6, \"cpu_usage\" : 54.5, \"cpu_usage_min\" : 52, "
        "\"cpu_usage_max\" : 57, "
        "\"memory_usage_bytes\" : 1078460416, \"memory_usage_mb\" : 1028.5, "
        "\"memory_usage_bytes_max\" : 1081081856, \"gpu_usage\" : null, \"gpu_usage_min\" : null, "
        "\"gpu_usage_max\" : null}, {\"timestamp\" : null, \"node\" : \"n2\", "
        "\"sample_count\" : 1, "
        "\"cpu_usage\" : \"NaN\", \"cpu_usage_min\" : \"-Infinity\", \"cpu_usage_max\" : "
        "\"Infinity\", \"memory_usage_bytes\" : 0, \"memory_usage_mb\" : 1e-05, "
        "\"memory_usage_bytes_max\" : 9223372036854775807, \"gpu_usage\" : 1.5e+20, "
        "\"gpu_usage_min\" : 0, \"gpu_usage_max\" : 33.333333333333336}, {\"timestamp\" : "
        "\"0001-01-01T00:00:00.000000Z\", \"node\" : \"\", \"sample_count\" : 0, \"cpu_usage\" : "
        "null, \"cpu_usage_min\" : null, \"cpu_usage_max\" : null, \"memory_usage_bytes\" : null, "
        "\"memory_usage_mb\" : null, \"memory_usage_bytes_max\" : null, \"gpu_usage\" : 0.1, "
        "\"gpu_usage_min\" : 100, \"gpu_usage_max\" : 1e+15}], \"total\" : 4321}";

/* ---- jobs, raw: before 1970, a time past 9999 (hjo_ts's text), rollup columns unused --------- */
/* clang-format off */
static const char *const job_raw_rows[][NCOL] = {
        { "raw", "2" },
        { NULL, NULL, "-500000", NULL, "a", NULL, NULL, NULL, NULL, "123",
          "0.00011730194091796875", NULL, "7.25", NULL, NULL },
        { NULL, NULL, NULL, "10000-01-01T00:00:00.000000Z", "b", NULL, "100", NULL, NULL,
          "1048576", "1", NULL, NULL, NULL, NULL },
};
/* clang-format on */
static const char golden_job_raw[] =
        "{\"job_id\" : \"j-2\", \"resolution\" : \"raw\", \"samples\" : [{\"timestamp\" : "
        "\"1969-12-31T23:59:59.500000Z\", \"node\" : \"a\", \"cpu_usage\" : null, "
        "\"memory_usage_bytes\" : 123, \"memory_usage_mb\" : 0.00011730194091796875, "
        "\"gpu_usage\" : 7.25}, {\"timestamp\" : \"10000-01-01T00:00:00.000000Z\", \"node\" : "
        "\"b\", \"cpu_usage\" : 100, \"memory_usage_bytes\" : 1048576, \"memory_usage_mb\" : 1, "
        "\"gpu_usage\" : null}], \"total\" : 2}";

/* ---- times: midnight both ways, back to an earlier day, before 1970 (the date is cached) ---- */
/* clang-format off */
static const char *const job_days_rows[][NCOL] = {
        { "raw", "5" },
        { NULL, NULL, "1767398399999999", NULL, "a", NULL, "1", NULL, NULL, "0", "0" },
        { NULL, NULL, "1767398400000000", NULL, "a", NULL, "1", NULL, NULL, "0", "0" },
        { NULL, NULL, "1767323045123456", NULL, "a", NULL, "1", NULL, NULL, "0", "0" },
        { NULL, NULL, "-86400000000", NULL, "a", NULL, "1", NULL, NULL, "0", "0" },
        { NULL, NULL, "-1", NULL, "a", NULL, "1", NULL, NULL, "0", "0" },
};
/* clang-format on */
#define DAYS_ENTRY(t) \
        "{\"timestamp\" : \"" t "\", \"node\" : \"a\", \"cpu_usage\" : 1, " \
        "\"memory_usage_bytes\" : 0, \"memory_usage_mb\" : 0, \"gpu_usage\" : null}"
/* SELECT hjo_ts(to_timestamp(0) + x * interval '1 microsecond') for each x above */
static const char golden_job_days[] =
        "{\"job_id\" : \"j\", \"resolution\" : \"raw\", \"samples\" : ["
        DAYS_ENTRY("2026-01-02T23:59:59.999999Z") ", " DAYS_ENTRY("2026-01-03T00:00:00.000000Z")
        ", " DAYS_ENTRY("2026-01-02T03:04:05.123456Z") ", "
        DAYS_ENTRY("1969-12-31T00:00:00.000000Z") ", " DAYS_ENTRY("1969-12-31T23:59:59.999999Z")
        "], \"total\" : 5}";

/* ---- a rollup entry of nulls only: the most room null takes against its text -------------- */
/* clang-format off */
static const char *const job_nulls_rows[][NCOL] = {
        { "1h", "1" },
        { NULL, NULL, "0" },
};
/* clang-format on */
static const char golden_job_nulls[] =
        "{\"job_id\" : \"j\", \"resolution\" : \"1h\", \"samples\" : [{\"timestamp\" : "
        "\"1970-01-01T00:00:00.000000Z\", \"node\" : null, \"sample_count\" : null, "
        "\"cpu_usage\" : null, \"cpu_usage_min\" : null, \"cpu_usage_max\" : null, "
        "\"memory_usage_bytes\" : null, \"memory_usage_mb\" : null, "
        "\"memory_usage_bytes_max\" : null, \"gpu_usage\" : null, \"gpu_usage_min\" : null, "
        "\"gpu_usage_max\" : null}], \"total\" : 1}";

/* ---- nodes, raw and 1h; an empty answer ------------------------------------------------------ */
/* clang-format off */
static const char *const node_raw_rows[][NCOL] = {
        { "raw", "2" },
        { NULL, NULL, "1767323045000000", NULL, NULL, "12.5", NULL, NULL, "1", NULL, NULL, "2",
          "2147483647", NULL, NULL },
        { NULL, NULL, "1767323055000000", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL },
};
static const char *const node_1h_rows[][NCOL] = {
        { "1h", "74" },
        { NULL, NULL, "1767322800000000", NULL, "360", "69.5", "40", "99", "2708996096",
          "2520776704", "2897215488", "274877906944", "2.0027777777777778", "1", "3" },
};
static const char *const node_empty_rows[][NCOL] = {
        { "1m", "0" },
};
/* clang-format on */
static const char golden_node_raw[] =
        "{\"node\" : \"cn-1\", \"resolution\" : \"raw\", \"samples\" : [{\"timestamp\" : "
        "\"2026-01-02T03:04:05.000000Z\", \"cpu_usage_percent\" : 12.5, \"memory_used_bytes\" : 1, "
        "\"memory_total_bytes\" : 2, \"job_count\" : 2147483647}, {\"timestamp\" : "
        "\"2026-01-02T03:04:15.000000Z\", \"cpu_usage_percent\" : null, \"memory_used_bytes\" : "
        "null, \"memory_total_bytes\" : null, \"job_count\" : null}], \"total\" : 2}";
static const char golden_node_1h[] =
        "{\"node\" : \"cn-1\", \"resolution\" : \"1h\", \"samples\" : [{\"timestamp\" : "
        "\"2026-01-02T03:00:00.000000Z\", \"sample_count\" : 360, \"cpu_usage_percent\" : 69.5, "
        "\"cpu_usage_percent_min\" : 40, \"cpu_usage_percent_max\" : 99, \"memory_used_bytes\" : "
        "2708996096, \"memory_used_bytes_min\" : 2520776704, \"memory_used_bytes_max\" : "
        "2897215488, \"memory_total_bytes\" : 274877906944, \"job_count\" : 2.0027777777777778, "
        "\"job_count_min\" : 1, \"job_count_max\" : 3}], \"total\" : 74}";
static const char golden_node_empty[] =
        "{\"node\" : \"cn-1\", \"resolution\" : \"1m\", \"samples\" : [], \"total\" : 0}";

/* ---- rows that are not 0065's ---------------------------------------------------------------- */
/* clang-format off */
static const char *const bad_res_rows[][NCOL] = {
        { "auto", "0" },
};
static const char *const no_total_rows[][NCOL] = {
        { "raw", NULL },
};
static const char *const bad_ts_rows[][NCOL] = {
        { "raw", "1" },
        { NULL, NULL, "12x", NULL, "n", NULL, NULL, NULL, NULL, "1", "1", NULL, NULL, NULL, NULL },
};
static const char *const far_ts_rows[][NCOL] = {
        { "raw", "1" },
        /* 10000-01-01: 0065 sends it as ts_text, never as microseconds */
        { NULL, NULL, "253402300800000000", NULL, "n", NULL, NULL, NULL, NULL, "1", "1", NULL,
          NULL, NULL, NULL },
};
/* clang-format on */

#define ROWS(a) { (int)ARRAY_SIZE(a), (a) }

struct fmt_case {
        const char *name;
        enum series_kind kind;
        const char *id;
        struct rows rows;
        int want;
        const char *doc; /* when want == 0 */
};

static const struct fmt_case cases[] = {
        { "job 1m: escapes, null, NaN, infinities", SERIES_JOB, "j\"1\\", ROWS(job_1m_rows), 0,
          golden_job_1m },
        { "job raw: 1969, year 10000 as text", SERIES_JOB, "j-2", ROWS(job_raw_rows), 0,
          golden_job_raw },
        { "job raw: days and midnights", SERIES_JOB, "j", ROWS(job_days_rows), 0, golden_job_days },
        { "job 1h: every value null", SERIES_JOB, "j", ROWS(job_nulls_rows), 0, golden_job_nulls },
        { "node raw: int4 max as job_count", SERIES_NODE, "cn-1", ROWS(node_raw_rows), 0,
          golden_node_raw },
        { "node 1h", SERIES_NODE, "cn-1", ROWS(node_1h_rows), 0, golden_node_1h },
        { "node, no entries", SERIES_NODE, "cn-1", ROWS(node_empty_rows), 0, golden_node_empty },
        { "no header row", SERIES_JOB, "j", { 0, job_raw_rows }, -EBADMSG, NULL },
        { "resolution auto is no answer", SERIES_JOB, "j", ROWS(bad_res_rows), -EBADMSG, NULL },
        { "header without total", SERIES_NODE, "n", ROWS(no_total_rows), -EBADMSG, NULL },
        { "time that is no integer", SERIES_JOB, "j", ROWS(bad_ts_rows), -EBADMSG, NULL },
        { "time past 9999 as microseconds", SERIES_JOB, "j", ROWS(far_ts_rows), -EBADMSG, NULL },
};

static void test_cases(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct fmt_case *c = &cases[i];
                struct strbuf sb;
                int r;

                strbuf_init(&sb, SERIES_JSON_MAX_BYTES);
                r = series_json_format(&sb, c->kind, c->id, c->rows.n, value, &c->rows);
                is_int(r, c->want, "%s: return", c->name);
                if (c->want == 0)
                        is_str(sb.buf ? sb.buf : "", c->doc, "%s: document", c->name);
                strbuf_clear(&sb);
        }
}

/* The numbers: what PostgreSQL's IsValidJsonNumber() accepts is pasted, the rest quoted. */
static void test_numbers(void)
{
        static const struct {
                const char *in, *out;
        } nums[] = {
                { "0", "0" },       { "-0", "-0" },         { "12", "12" },
                { "1.5", "1.5" },   { "-1.5e-07", "-1.5e-07" }, { "1E+5", "1E+5" },
                { "NaN", "\"NaN\"" }, { "Infinity", "\"Infinity\"" },
                { "-Infinity", "\"-Infinity\"" }, { "", "\"\"" }, { "-", "\"-\"" },
                { "01", "\"01\"" }, { "1.", "\"1.\"" },     { ".5", "\".5\"" },
                { "1e", "\"1e\"" }, { "1e+", "\"1e+\"" },   { "+1", "\"+1\"" },
                { "1 ", "\"1 \"" }, { "0x10", "\"0x10\"" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
                struct strbuf sb;

                strbuf_init(&sb, 64);
                series_json_add_number(&sb, nums[i].in);
                is_str(sb.buf ? sb.buf : "", nums[i].out, "number \"%s\"", nums[i].in);
                strbuf_clear(&sb);
        }
}

/* escape_json(): every byte below 0x20, quote, backslash; 0x7f and UTF-8 pass as they are. */
static void test_strings(void)
{
        char in[40], want[256];
        size_t n = 0, w = 0;
        struct strbuf sb;

        for (int c = 1; c < 0x20; c++)
                in[n++] = (char)c;
        in[n++] = '"';
        in[n++] = '\\';
        in[n++] = 0x7f;
        in[n++] = '/';
        in[n] = '\0';
        want[w++] = '"';
        for (int c = 1; c < 0x20; c++) {
                static const char *const short_esc[] = { [8] = "\\b", [9] = "\\t", [10] = "\\n",
                                                         [12] = "\\f", [13] = "\\r" };
                const char *e = c < 14 ? short_esc[c] : NULL;
                char u[8];

                if (!e) {
                        (void)snprintf(u, sizeof(u), "\\u%04x", c);
                        e = u;
                }
                memcpy(want + w, e, strlen(e));
                w += strlen(e);
        }
        memcpy(want + w, "\\\"\\\\\x7f/\"", 7);
        w += 7;
        want[w] = '\0';
        strbuf_init(&sb, 1024);
        series_json_add_string(&sb, in);
        is_str(sb.buf ? sb.buf : "", want, "escape_json of bytes 0x01-0x1f, quote, backslash");
        strbuf_clear(&sb);
}

/* A ceiling too small for the document: -E2BIG, not a cut document. */
static void test_ceiling(void)
{
        struct rows r = ROWS(job_1m_rows);
        struct strbuf sb;

        strbuf_init(&sb, 100);
        is_int(series_json_format(&sb, SERIES_JOB, "j", r.n, value, &r), -E2BIG,
               "over the ceiling");
        strbuf_clear(&sb);
}

int main(void)
{
        test_cases();
        test_numbers();
        test_strings();
        test_ceiling();
        return done_testing();
}
