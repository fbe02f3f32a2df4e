/* tests/unit/test_jv.c: lib/jv.c strict parsing and table-driven dispatch. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "tap.h"
#include "valid.h"

#define MAX_LEN   4096
#define MAX_DEPTH 4

struct parse_case {
        const char *in;
        size_t len; /* 0: strlen(in) */
        int want;
};

static const struct parse_case parse_cases[] = {
        /* happy rows: any JSON value may be the root */
        { "{}", 0, 0 },
        { " {\"a\": [1, 2.5, \"x\", true, false, null]} \n", 0, 0 },
        { "[1]", 0, 0 },
        { "123", 0, 0 },
        { "-0.5e3", 0, 0 },
        { "\"str\"", 0, 0 },
        { "true", 0, 0 },
        { "null", 0, 0 },
        { "{\"k\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\"}", 0, 0 },
        { "[18446744073709551615]", 0, 0 },
        { "[-9223372036854775808]", 0, 0 },
        { "[1e999]", 0, 0 },  /* a valid JSON number; dispatch rejects the infinity */
        { "[[[1]]]", 0, 0 },  /* depth 3 of 4 */
        { "[[[[]]]]", 0, 0 }, /* depth 4 of 4 */
        /* trailing bytes */
        { "{}x", 0, -EBADMSG },
        { "{} {}", 0, -EBADMSG },
        { "{}\0", 3, -EBADMSG },
        { "{\"a\":1}}", 0, -EBADMSG },
        { "12 3", 0, -EBADMSG },
        /* empty and truncated */
        { "", 0, -EBADMSG },
        { "   ", 0, -EBADMSG },
        { "{", 0, -EBADMSG },
        { "{\"a\":", 0, -EBADMSG },
        { "[\"abc", 0, -EBADMSG },
        { "nul", 0, -EBADMSG },
        /* not strict JSON, although json-c 0.16 accepts some of these */
        { "{'a':1}", 0, -EBADMSG },
        { "{\"a\":1,}", 0, -EBADMSG },
        { "[NaN]", 0, -EBADMSG },
        { "[Infinity]", 0, -EBADMSG },
        { "[-Infinity]", 0, -EBADMSG },
        { "[nan]", 0, -EBADMSG },
        { "[01]", 0, -EBADMSG },
        { "[1.]", 0, -EBADMSG },
        { "[.5]", 0, -EBADMSG },
        { "[+1]", 0, -EBADMSG },
        { "[0x10]", 0, -EBADMSG },
        { "[True]", 0, -EBADMSG },
        { "[\"a\tb\"]", 0, -EBADMSG },  /* raw control character in a string */
        { "[\"a\\qb\"]", 0, -EBADMSG }, /* unknown escape */
        { "[\"\\u12\"]", 0, -EBADMSG }, /* short \u escape */
        { "/*c*/{}", 0, -EBADMSG },
        { "{a:1}", 0, -EBADMSG },
        /* integers json-c would saturate */
        { "[18446744073709551616]", 0, -EBADMSG },
        { "[-9223372036854775809]", 0, -EBADMSG },
        { "[99999999999999999999999]", 0, -EBADMSG },
        /* invalid UTF-8 (json-c's own check lets the first three through) */
        { "[\"\xc0\x80\"]", 0, -EBADMSG },
        { "[\"\xed\xa0\x80\"]", 0, -EBADMSG },
        { "[\"\xf4\x90\x80\x80\"]", 0, -EBADMSG },
        { "[\"\xc3\"]", 0, -EBADMSG },
        { "[\"\xff\"]", 0, -EBADMSG },
        /* depth */
        { "[[[[1]]]]", 0, -EBADMSG },
        { "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", 0, -EBADMSG },
};

struct req {
        char *name;
        bool has_name;
        int64_t count;
        bool has_count;
        double ratio;
        bool flag;
        int64_t ts;
        struct jv_strarr tags;
        char *job;
        int64_t byte;
        char *note;
};

#define O(f) offsetof(struct req, f)

/* clang-format off */
static const struct jv_field req_fields[] = {
        { .name = "name", .type = JV_STR, .offset = O(name), .has_offset = O(has_name),
          .flags = JV_REQUIRED, .imin = 1, .imax = 16 },
        { .name = "count", .type = JV_I64, .offset = O(count), .has_offset = O(has_count),
          .flags = JV_NULLABLE, .imin = -10, .imax = 1000 },
        { .name = "ratio", .type = JV_DOUBLE, .offset = O(ratio), .has_offset = JV_NO_HAS,
          .dmin = 0.0, .dmax = 1.0 },
        { .name = "flag", .type = JV_BOOL, .offset = O(flag), .has_offset = JV_NO_HAS },
        { .name = "ts", .type = JV_TIME, .offset = O(ts), .has_offset = JV_NO_HAS },
        { .name = "tags", .type = JV_STRARR, .offset = O(tags), .has_offset = JV_NO_HAS,
          .imax = 8, .max_items = 3 },
        { .name = "job", .type = JV_STR, .offset = O(job), .has_offset = JV_NO_HAS,
          .imax = VALID_JOB_ID_MAX, .check = valid_job_id },
        { .name = "byte", .type = JV_I64, .offset = O(byte), .has_offset = JV_NO_HAS,
          .imin = 0, .imax = 255 },
        { .name = "note", .type = JV_STR, .offset = O(note), .has_offset = JV_NO_HAS,
          .flags = JV_NULLABLE },
        { 0 },
};
/* clang-format on */

struct disp_case {
        const char *in;
        unsigned flags;
        int want;
        const char *field;
        const char *msg;
};

static const struct disp_case disp_cases[] = {
        /* happy rows */
        { "{\"name\":\"a\"}", 0, 0, NULL, NULL },
        { "{\"name\":\"sixteen-chars-xx\",\"count\":-10,\"ratio\":1,\"flag\":false}", 0, 0, NULL,
          NULL },
        { "{\"name\":\"a\",\"count\":null,\"note\":null}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"tags\":[]}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"byte\":255,\"job\":\"1234.batch\"}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"extra\":{\"x\":[1]}}", JV_ALLOW_UNKNOWN, 0, NULL, NULL },
        /* required */
        { "{}", 0, -EINVAL, "name", "is required" },
        { "{\"name\":null}", 0, -EINVAL, "name", "is required" },
        { "{\"count\":1}", 0, -EINVAL, "name", "is required" },
        /* null only where nullable */
        { "{\"name\":\"a\",\"ratio\":null}", 0, -EINVAL, "ratio", "must not be null" },
        /* unknown keys */
        { "{\"name\":\"a\",\"extra\":1}", 0, -EINVAL, "extra", "unknown field" },
        { "{\"name\":\"a\",\"Name\":\"b\"}", 0, -EINVAL, "Name", "unknown field" },
        /* JV_STR */
        { "{\"name\":1}", 0, -EINVAL, "name", "must be a string" },
        { "{\"name\":[\"a\"]}", 0, -EINVAL, "name", "must be a string" },
        { "{\"name\":\"\"}", 0, -EINVAL, "name", "has an invalid length" },
        { "{\"name\":\"seventeen-chars-x\"}", 0, -EINVAL, "name", "has an invalid length" },
        { "{\"name\":\"a\\nb\"}", 0, -EINVAL, "name", "has invalid characters" },
        { "{\"name\":\"a\\u0000b\"}", 0, -EINVAL, "name", "has invalid characters" },
        { "{\"name\":\"\\ud800\"}", 0, 0, NULL, NULL }, /* json-c turns it into U+FFFD */
        { "{\"name\":\"a\",\"job\":\"../etc\"}", 0, -EINVAL, "job", "has invalid characters" },
        /* JV_I64 */
        { "{\"name\":\"a\",\"count\":1000}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"count\":1001}", 0, -EINVAL, "count", "is out of range" },
        { "{\"name\":\"a\",\"count\":-11}", 0, -EINVAL, "count", "is out of range" },
        { "{\"name\":\"a\",\"count\":1.5}", 0, -EINVAL, "count", "must be an integer" },
        { "{\"name\":\"a\",\"count\":1.0}", 0, -EINVAL, "count", "must be an integer" },
        { "{\"name\":\"a\",\"count\":1e2}", 0, -EINVAL, "count", "must be an integer" },
        { "{\"name\":\"a\",\"count\":\"1\"}", 0, -EINVAL, "count", "must be an integer" },
        { "{\"name\":\"a\",\"count\":true}", 0, -EINVAL, "count", "must be an integer" },
        { "{\"name\":\"a\",\"byte\":256}", 0, -EINVAL, "byte", "is out of range" },
        { "{\"name\":\"a\",\"byte\":-1}", 0, -EINVAL, "byte", "is out of range" },
        { "{\"name\":\"a\",\"byte\":9223372036854775808}", 0, -EINVAL, "byte", "is out of range" },
        { "{\"name\":\"a\",\"byte\":-9223372036854775808}", 0, -EINVAL, "byte", "is out of range" },
        /* JV_DOUBLE */
        { "{\"name\":\"a\",\"ratio\":0}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"ratio\":1.0001}", 0, -EINVAL, "ratio", "is out of range" },
        { "{\"name\":\"a\",\"ratio\":-0.1}", 0, -EINVAL, "ratio", "is out of range" },
        { "{\"name\":\"a\",\"ratio\":1e999}", 0, -EINVAL, "ratio", "is out of range" },
        { "{\"name\":\"a\",\"ratio\":\"0.5\"}", 0, -EINVAL, "ratio", "must be a number" },
        /* JV_BOOL */
        { "{\"name\":\"a\",\"flag\":1}", 0, -EINVAL, "flag", "must be a boolean" },
        { "{\"name\":\"a\",\"flag\":\"true\"}", 0, -EINVAL, "flag", "must be a boolean" },
        /* JV_TIME */
        { "{\"name\":\"a\",\"ts\":\"2026-01-02T03:04:05+02:00\"}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"ts\":\"2026-02-30T00:00:00Z\"}", 0, -EINVAL, "ts",
          "must be an RFC 3339 timestamp" },
        { "{\"name\":\"a\",\"ts\":\"2026-01-02T03:04:05\"}", 0, -EINVAL, "ts",
          "must be an RFC 3339 timestamp" },
        { "{\"name\":\"a\",\"ts\":1767323045}", 0, -EINVAL, "ts", "must be a string" },
        /* JV_STRARR */
        { "{\"name\":\"a\",\"tags\":[\"x\",\"y\",\"z\"]}", 0, 0, NULL, NULL },
        { "{\"name\":\"a\",\"tags\":[\"w\",\"x\",\"y\",\"z\"]}", 0, -EINVAL, "tags",
          "has an invalid number of items" },
        { "{\"name\":\"a\",\"tags\":[\"x\",1]}", 0, -EINVAL, "tags",
          "must be an array of strings" },
        { "{\"name\":\"a\",\"tags\":\"x\"}", 0, -EINVAL, "tags", "must be an array of strings" },
        { "{\"name\":\"a\",\"tags\":[\"\"]}", 0, -EINVAL, "tags", "has an invalid length" },
        { "{\"name\":\"a\",\"tags\":[\"123456789\"]}", 0, -EINVAL, "tags",
          "has an invalid length" },
        { "{\"name\":\"a\",\"tags\":[\"a\\tb\"]}", 0, -EINVAL, "tags", "has invalid characters" },
        { "{\"name\":\"a\",\"tags\":null}", 0, -EINVAL, "tags", "must not be null" },
        /* the root must be an object */
        { "[]", 0, -EINVAL, "(root)", "must be an object" },
        { "null", 0, -EINVAL, "(root)", "must be an object" },
        { "\"x\"", 0, -EINVAL, "(root)", "must be an object" },
};

static const struct jv_field required_arr_fields[] = {
        { .name = "v",
          .type = JV_STRARR,
          .offset = 0,
          .has_offset = JV_NO_HAS,
          .flags = JV_REQUIRED },
        { 0 },
};

struct wide {
        int64_t i;
        double d;
};

/* bounds 0/0: unbounded */
static const struct jv_field wide_fields[] = {
        { .name = "i",
          .type = JV_I64,
          .offset = offsetof(struct wide, i),
          .has_offset = JV_NO_HAS },
        { .name = "d",
          .type = JV_DOUBLE,
          .offset = offsetof(struct wide, d),
          .has_offset = JV_NO_HAS },
        { 0 },
};

struct wide_case {
        const char *in;
        int want;
        int64_t i;
        double d;
};

static const struct wide_case wide_cases[] = {
        { "{\"i\":9223372036854775807}", 0, INT64_MAX, 0 },
        { "{\"i\":-9223372036854775808}", 0, INT64_MIN, 0 },
        { "{\"i\":9223372036854775808}", -EINVAL, 1, 0 }, /* json-c: uint64, get_int64 saturates */
        { "{\"i\":18446744073709551615}", -EINVAL, 1, 0 },
        { "{\"d\":18446744073709551615}", 0, 1, 18446744073709551615.0 },
        { "{\"d\":-1e308}", 0, 1, -1e308 },
        { "{\"d\":-1e309}", -EINVAL, 1, 0 },
};

static int parse(const char *s, struct jv **ret)
{
        return jv_parse(s, strlen(s), MAX_LEN, MAX_DEPTH, ret);
}

static void test_parse(void)
{
        struct jv *j, *const sentinel = (struct jv *)&j;
        char *bomb;

        for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
                const struct parse_case *c = &parse_cases[i];
                size_t len = c->len ? c->len : strlen(c->in);
                int r;

                j = sentinel;
                r = jv_parse(c->in, len, MAX_LEN, MAX_DEPTH, &j);
                is_int(r, c->want, "parse case %zu '%s'", i, c->in);
                if (r == 0)
                        jv_free(j);
                else
                        ok(j == sentinel, "parse case %zu leaves ret untouched", i);
        }

        /* size: exactly max_len is fine, one more byte is -E2BIG before any parsing */
        j = sentinel;
        is_int(jv_parse("[1, 2]", 6, 6, MAX_DEPTH, &j), 0, "len == max_len accepted");
        jv_free(j);
        j = sentinel;
        is_int(jv_parse("[1, 2] ", 7, 6, MAX_DEPTH, &j), -E2BIG, "len > max_len is -E2BIG");
        ok(j == sentinel, "-E2BIG leaves ret untouched");
        is_int(jv_parse("{}", 2, 1024, 0, &j), -EINVAL, "max_depth 0 is -EINVAL");

        /* a depth bomb: 100000 '[' must fail cleanly, not recurse */
        bomb = malloc(200001);
        if (bomb) {
                memset(bomb, '[', 100000);
                memset(bomb + 100000, ']', 100000);
                j = sentinel;
                is_int(jv_parse(bomb, 200000, 1 << 20, 64, &j), -EBADMSG, "depth bomb");
                ok(j == sentinel, "depth bomb leaves ret untouched");
                free(bomb);
        }

        /* jv_is_object */
        ok(parse("{\"a\":1}", &j) == 0 && jv_is_object(j), "object root is an object");
        jv_free(j);
        ok(parse("[1]", &j) == 0 && !jv_is_object(j), "array root is not an object");
        jv_free(j);
        ok(parse("null", &j) == 0 && !jv_is_object(j), "null root is not an object");
        jv_free(j);
        ok(!jv_is_object(NULL), "NULL is not an object");
        jv_free(NULL);
}

static void test_dispatch_table(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(disp_cases); i++) {
                const struct disp_case *c = &disp_cases[i];
                const char *field = "untouched", *msg = "untouched";
                struct req q = { 0 };
                struct jv *j = NULL;
                int r;

                r = parse(c->in, &j);
                if (!is_int(r, 0, "dispatch case %zu parses", i))
                        continue;
                r = jv_dispatch(j, req_fields, c->flags, &q, &field, &msg);
                is_int(r, c->want, "dispatch case %zu '%s'", i, c->in);
                if (c->want < 0) {
                        is_str(field, c->field, "dispatch case %zu field", i);
                        is_str(msg, c->msg, "dispatch case %zu message", i);
                } else {
                        ok(strcmp(field, "untouched") == 0 && strcmp(msg, "untouched") == 0,
                           "dispatch case %zu leaves reterr alone on success", i);
                }
                jv_dispatch_clear(req_fields, &q);
                jv_free(j);
        }
}

static void test_dispatch_values(void)
{
        static const char doc[] = "{\"name\":\"caf\xc3\xa9\",\"count\":-7,\"ratio\":0.25,"
                                  "\"flag\":true,\"ts\":\"2026-01-02T03:04:05.5Z\","
                                  "\"tags\":[\"gpu\",\"a100\"],\"job\":\"42.0\",\"byte\":0}";
        const char *field = NULL, *msg = NULL;
        struct req q = { 0 }, before;
        struct jv *j = NULL;

        if (!is_int(parse(doc, &j), 0, "values document parses"))
                return;
        q.note = NULL;
        q.count = 99;
        is_int(jv_dispatch(j, req_fields, 0, &q, &field, &msg), 0, "values dispatch");
        is_str(q.name, "caf\xc3\xa9", "JV_STR value");
        ok(q.has_name, "has_name set");
        is_i64(q.count, -7, "JV_I64 value");
        ok(q.has_count, "has_count set");
        is_double(q.ratio, 0.25, 0, "JV_DOUBLE value");
        ok(q.flag, "JV_BOOL value");
        is_i64(q.ts, INT64_C(1767323045500000), "JV_TIME value");
        is_int((long long)q.tags.n, 2, "JV_STRARR count");
        if (q.tags.n == 2) {
                is_str(q.tags.v[0], "gpu", "JV_STRARR item 0");
                is_str(q.tags.v[1], "a100", "JV_STRARR item 1");
        }
        is_str(q.job, "42.0", "JV_STR with check()");
        is_i64(q.byte, 0, "JV_I64 lower bound");
        ok(q.note == NULL, "absent optional string stays NULL");
        jv_dispatch_clear(req_fields, &q);
        ok(q.name == NULL && q.tags.v == NULL && q.tags.n == 0, "dispatch_clear resets");
        jv_free(j);

        /* absent and null optional fields keep the caller's defaults; has_ flags go false */
        j = NULL;
        if (is_int(parse("{\"name\":\"n\",\"count\":null}", &j), 0, "defaults doc parses")) {
                memset(&q, 0, sizeof(q));
                q.count = 55;
                q.has_count = true;
                q.ratio = 0.5;
                is_int(jv_dispatch(j, req_fields, 0, &q, NULL, NULL), 0, "defaults dispatch");
                is_i64(q.count, 55, "null nullable leaves the default");
                ok(!q.has_count, "null nullable field is not 'present'");
                is_double(q.ratio, 0.5, 0, "absent field leaves the default");
                jv_dispatch_clear(req_fields, &q);
        }
        jv_free(j);

        /* failure late in the table: target must be byte-for-byte unchanged */
        j = NULL;
        if (is_int(parse("{\"name\":\"ok\",\"count\":5,\"tags\":[\"a\"],\"note\":\"n\","
                         "\"byte\":300}",
                         &j),
                   0, "late failure doc parses")) {
                memset(&q, 0x5a, sizeof(q));
                memcpy(&before, &q, sizeof(q));
                is_int(jv_dispatch(j, req_fields, 0, &q, &field, &msg), -EINVAL,
                       "late failure rejected");
                is_str(field, "byte", "late failure field");
                ok(memcmp(&q, &before, sizeof(q)) == 0, "target untouched on failure");
        }
        jv_free(j);

        /* a required array must not be empty */
        j = NULL;
        if (is_int(parse("{\"v\":[]}", &j), 0, "required array doc parses")) {
                struct jv_strarr a = { NULL, 0 };

                is_int(jv_dispatch(j, required_arr_fields, 0, &a, &field, &msg), -EINVAL,
                       "required empty array rejected");
                is_str(msg, "has an invalid number of items", "required empty array message");
        }
        jv_free(j);

        /* unknown key name is borrowed from the document */
        j = NULL;
        if (is_int(parse("{\"name\":\"a\",\"zz\\u0041\":1}", &j), 0, "unknown doc parses")) {
                memset(&q, 0, sizeof(q));
                is_int(jv_dispatch(j, req_fields, 0, &q, &field, &msg), -EINVAL, "unknown key");
                is_str(field, "zzA", "unknown key name, unescaped");
        }
        jv_free(j);

        /* unbounded I64/DOUBLE fields and json-c's uint64 representation */
        for (size_t i = 0; i < ARRAY_SIZE(wide_cases); i++) {
                struct wide w = { 1, 0 };

                j = NULL;
                if (!is_int(parse(wide_cases[i].in, &j), 0, "wide case %zu parses", i))
                        continue;
                is_int(jv_dispatch(j, wide_fields, 0, &w, &field, &msg), wide_cases[i].want,
                       "wide case %zu %s", i, wide_cases[i].in);
                is_i64(w.i, wide_cases[i].i, "wide case %zu integer", i);
                is_double(w.d, wide_cases[i].d, 0, "wide case %zu double", i);
                jv_free(j);
        }

        /* NULL document */
        memset(&q, 0, sizeof(q));
        is_int(jv_dispatch(NULL, req_fields, 0, &q, &field, &msg), -EINVAL, "NULL document");
}

int main(void)
{
        test_parse();
        test_dispatch_table();
        test_dispatch_values();
        return done_testing();
}
