/*
 * fcgi/series_json.c: the metrics answers of jobs and nodes from rows (see series_json.h and
 * sql/0065_metric_rows.sql).  PostgreSQL built these documents with json_build_object and
 * json_agg; at 1,000 entries that was most of the answer's time (docs/performance.md).  Here
 * the rows' text is pasted between constant pieces: the only work per value is the check that
 * a number is a JSON number, the escape of a string, the digits of a time (its date is
 * computed once a day).  Each entry is written in one go into room reserved for the most its
 * values can take (about 0.2 ms for 1,000 rollup entries, 320 KB).
 *
 * What PostgreSQL's JSON functions write, and so what this writes:
 *   json_build_object  {"k1" : v1, "k2" : v2}         (src/backend/utils/adt/json.c)
 *   json_agg           [e1, e2], and the functions coalesce an empty one to []
 *   numbers            the type's output text when IsValidJsonNumber() accepts it, else that
 *                      text as a string ("NaN", "Infinity", "-Infinity")
 *   text               escape_json(): \" \\ \b \f \n \r \t, other bytes < 0x20 as \u00xx
 *   NULL               null
 */
#include "config.h"
#include "series_json.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "num.h"
#include "rfc3339.h"
#include "strbuf.h"

/* One member of an entry: the text that precedes its value, the column, how it prints. */
struct series_key {
        const char *prefix; /* ", \"name\" : " */
        size_t prefix_len;
        int col;
        bool is_string; /* text (node); else a number */
        bool rollup_only;
};

#define KEY(name, col, str, rollup) \
        { ", \"" name "\" : ", sizeof(", \"" name "\" : ") - 1, col, str, rollup }

/* clang-format off */
/* hjo_samples_list's entries (0050): after "timestamp", in this order. */
static const struct series_key job_keys[] = {
        KEY("node", 4, true, false),
        KEY("sample_count", 5, false, true),
        KEY("cpu_usage", 6, false, false),
        KEY("cpu_usage_min", 7, false, true),
        KEY("cpu_usage_max", 8, false, true),
        KEY("memory_usage_bytes", 9, false, false),
        KEY("memory_usage_mb", 10, false, false),
        KEY("memory_usage_bytes_max", 11, false, true),
        KEY("gpu_usage", 12, false, false),
        KEY("gpu_usage_min", 13, false, true),
        KEY("gpu_usage_max", 14, false, true),
};

/* hjo_node_samples_list's entries (0064): after "timestamp", in this order. */
static const struct series_key node_keys[] = {
        KEY("sample_count", 4, false, true),
        KEY("cpu_usage_percent", 5, false, false),
        KEY("cpu_usage_percent_min", 6, false, true),
        KEY("cpu_usage_percent_max", 7, false, true),
        KEY("memory_used_bytes", 8, false, false),
        KEY("memory_used_bytes_min", 9, false, true),
        KEY("memory_used_bytes_max", 10, false, true),
        KEY("memory_total_bytes", 11, false, false),
        KEY("job_count", 12, false, false),
        KEY("job_count_min", 13, false, true),
        KEY("job_count_max", 14, false, true),
};
/* clang-format on */
#undef KEY
_Static_assert(ARRAY_SIZE(job_keys) <= SERIES_N_COLS && ARRAY_SIZE(node_keys) <= SERIES_N_COLS,
               "add_entry's arrays hold one value per key");

/* The most a value of n bytes can take once written: escaped (\u00xx: 6 a byte) and quoted, as
   a string or as a number that is none (NaN); at least the 4 of null. */
#define VALUE_ROOM(n) (6 * (n) + 4)
/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" with its quotes */
#define TIME_ROOM 29
#define USEC_PER_DAY INT64_C(86400000000)

/* The date part of the last time written: the entries of an answer share a few days. */
struct day_cache {
        int64_t day; /* days since 1970-01-01 */
        bool is_set;
        char date[11]; /* "YYYY-MM-DDT" */
};

/* escape_json()'s two-byte escapes: the letter after the backslash, 0 for \u00xx. */
static char short_escape(unsigned char c)
{
        switch (c) {
        case '"':
        case '\\':
                return (char)c;
        case '\b':
                return 'b';
        case '\f':
                return 'f';
        case '\n':
                return 'n';
        case '\r':
                return 'r';
        case '\t':
                return 't';
        default:
                return 0;
        }
}

static char *put_string(char *p, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";

        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char e;

                if (c >= 0x20 && c != '"' && c != '\\') {
                        *p++ = (char)c;
                        continue;
                }
                *p++ = '\\';
                e = short_escape(c);
                if (e) {
                        *p++ = e;
                } else {
                        memcpy(p, "u00", 3);
                        p[3] = hex[c >> 4];
                        p[4] = hex[c & 0xf];
                        p += 5;
                }
        }
        *p++ = '"';
        return p;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* PostgreSQL's IsValidJsonNumber(): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, whole. */
static bool is_json_number(const char *s, size_t n)
{
        const char *e = s + n;

        if (s < e && *s == '-')
                s++;
        if (s < e && *s == '0') {
                s++;
        } else if (s < e && *s >= '1' && *s <= '9') {
                while (s < e && is_digit(*s))
                        s++;
        } else {
                return false;
        }
        if (s < e && *s == '.') {
                s++;
                if (s == e || !is_digit(*s))
                        return false;
                while (s < e && is_digit(*s))
                        s++;
        }
        if (s < e && (*s == 'e' || *s == 'E')) {
                s++;
                if (s < e && (*s == '+' || *s == '-'))
                        s++;
                if (s == e || !is_digit(*s))
                        return false;
                while (s < e && is_digit(*s))
                        s++;
        }
        return s == e;
}

static char *put_number(char *p, const char *s, size_t n)
{
        if (!is_json_number(s, n))
                return put_string(p, s, n);
        memcpy(p, s, n);
        return p + n;
}

static char *put_digits(char *p, unsigned v, int width)
{
        for (int i = width - 1; i >= 0; i--) {
                p[i] = (char)('0' + v % 10);
                v /= 10;
        }
        return p + width;
}

/* usec (years 1 to 9999) as hjo_ts() prints it, quoted: the date from rfc3339_format once a
   day, the time of day by hand. */
static char *put_time(char *p, int64_t usec, struct day_cache *dc)
{
        int64_t day = usec / USEC_PER_DAY, rem;
        unsigned sec, us;

        if (usec % USEC_PER_DAY < 0)
                day--; /* floor: times before 1970 */
        if (!dc->is_set || dc->day != day) {
                char buf[RFC3339_BUFSZ];

                memcpy(dc->date, rfc3339_format(day * USEC_PER_DAY, buf, sizeof(buf)),
                       sizeof(dc->date));
                dc->day = day;
                dc->is_set = true;
        }
        rem = usec - day * USEC_PER_DAY; /* 0 .. USEC_PER_DAY - 1 */
        sec = (unsigned)(rem / 1000000);
        us = (unsigned)(rem % 1000000);
        *p++ = '"';
        memcpy(p, dc->date, sizeof(dc->date));
        p += sizeof(dc->date);
        p = put_digits(p, sec / 3600, 2);
        *p++ = ':';
        p = put_digits(p, sec / 60 % 60, 2);
        *p++ = ':';
        p = put_digits(p, sec % 60, 2);
        *p++ = '.';
        p = put_digits(p, us, 6);
        *p++ = 'Z';
        *p++ = '"';
        return p;
}

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

void series_json_add_string(struct strbuf *sb, const char *s)
{
        size_t n = strlen(s);
        char *p = strbuf_reserve(sb, VALUE_ROOM(n)), *start = p;

        if (p)
                strbuf_commit(sb, (size_t)(put_string(p, s, n) - start));
}

void series_json_add_number(struct strbuf *sb, const char *s)
{
        size_t n = strlen(s);
        char *p = strbuf_reserve(sb, VALUE_ROOM(n)), *start = p;

        if (p)
                strbuf_commit(sb, (size_t)(put_number(p, s, n) - start));
}

/*
 * One entry: its values are read and measured first, then written in one go into room
 * reserved for the most they can take.  -EBADMSG for a time that is not 0065's; sb's failure
 * (ceiling, memory) is left for the caller to see.
 */
static int add_entry(struct strbuf *sb, const struct series_key *keys, size_t n_keys,
                     bool is_raw, int row, series_value_fn value, const void *ctx,
                     struct day_cache *dc)
{
        static const char open[] = "{\"timestamp\" : ";
        const char *v[SERIES_N_COLS], *usec_text, *ts_text;
        size_t len[SERIES_N_COLS], ts_len = 0;
        size_t need = sizeof(open) - 1 + TIME_ROOM + 1;
        int64_t usec = 0;
        char *p, *start;

        usec_text = value(ctx, row, SERIES_COL_TS_USEC);
        ts_text = value(ctx, row, SERIES_COL_TS_TEXT);
        /* 0065 sends microseconds for the years 1 to 9999 only: put_time's range */
        if (usec_text && num_parse_i64(usec_text, strlen(usec_text),
                                       INT64_C(-62135596800000000),
                                       INT64_C(253402300799999999), &usec) < 0)
                return -EBADMSG;
        if (!usec_text && ts_text) {
                ts_len = strlen(ts_text);
                need += VALUE_ROOM(ts_len);
        }
        for (size_t i = 0; i < n_keys; i++) {
                v[i] = is_raw && keys[i].rollup_only ? NULL : value(ctx, row, keys[i].col);
                len[i] = v[i] ? strlen(v[i]) : 0;
                need += keys[i].prefix_len + VALUE_ROOM(len[i]);
        }
        p = start = strbuf_reserve(sb, need);
        if (!p)
                return 0;
        p = PUT_LIT(p, open);
        if (usec_text)
                p = put_time(p, usec, dc);
        else if (ts_text)
                p = put_string(p, ts_text, ts_len);
        else
                p = PUT_LIT(p, "null");
        for (size_t i = 0; i < n_keys; i++) {
                if (is_raw && keys[i].rollup_only)
                        continue;
                memcpy(p, keys[i].prefix, keys[i].prefix_len);
                p += keys[i].prefix_len;
                if (!v[i])
                        p = PUT_LIT(p, "null");
                else if (keys[i].is_string)
                        p = put_string(p, v[i], len[i]);
                else
                        p = put_number(p, v[i], len[i]);
        }
        *p++ = '}';
        assert((size_t)(p - start) <= need);
        strbuf_commit(sb, (size_t)(p - start));
        return 0;
}

#define ADD_LIT(sb, lit) strbuf_addn((sb), (lit), sizeof(lit) - 1)

int series_json_format(struct strbuf *sb, enum series_kind kind, const char *id, int n_rows,
                       series_value_fn value, const void *ctx)
{
        const struct series_key *keys = kind == SERIES_NODE ? node_keys : job_keys;
        size_t n_keys = kind == SERIES_NODE ? ARRAY_SIZE(node_keys) : ARRAY_SIZE(job_keys);
        struct day_cache dc = { 0, false, { 0 } };
        const char *res, *total;
        bool is_raw;
        int r;

        if (n_rows < 1)
                return -EBADMSG;
        res = value(ctx, 0, SERIES_COL_RESOLUTION);
        total = value(ctx, 0, SERIES_COL_TOTAL);
        if (!res || !total)
                return -EBADMSG;
        is_raw = strcmp(res, "raw") == 0;
        if (!is_raw && strcmp(res, "1m") != 0 && strcmp(res, "1h") != 0)
                return -EBADMSG;
        if (kind == SERIES_NODE)
                ADD_LIT(sb, "{\"node\" : ");
        else
                ADD_LIT(sb, "{\"job_id\" : ");
        series_json_add_string(sb, id);
        ADD_LIT(sb, ", \"resolution\" : ");
        series_json_add_string(sb, res);
        ADD_LIT(sb, ", \"samples\" : [");
        for (int row = 1; row < n_rows && !strbuf_failed(sb); row++) {
                if (row > 1)
                        ADD_LIT(sb, ", ");
                r = add_entry(sb, keys, n_keys, is_raw, row, value, ctx, &dc);
                if (r < 0)
                        return r;
        }
        ADD_LIT(sb, "], \"total\" : ");
        series_json_add_number(sb, total);
        strbuf_addc(sb, '}');
        return strbuf_failed(sb) ? -E2BIG : 0; /* its ceiling, or memory: as fcgi/metrics.c */
}
