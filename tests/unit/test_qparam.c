/* tests/unit/test_qparam.c: query string decoding and validation (fcgi/qparam.c). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "qparam.h"
#include "tap.h"

static const char *const states[] = { "pending", "running", "completed", NULL };

enum { Q_STATE, Q_USER, Q_NODE, Q_SINCE, Q_LIMIT, Q_EFF, Q_AFTER, Q__MAX };

static const struct qparam spec[Q__MAX + 1] = {
        [Q_STATE] = { "state", QP_ENUM, 0, 0, 0, states },
        [Q_USER] = { "user", QP_NAME, 0, 0, 0, NULL },
        [Q_NODE] = { "node", QP_HOST, 0, 0, 0, NULL },
        [Q_SINCE] = { "since", QP_TIME, 0, 0, 0, NULL },
        [Q_LIMIT] = { "limit", QP_INT, 1, 1000, 100, NULL },
        [Q_EFF] = { "eff_lt", QP_NUM, 0, 100, 0, NULL },
        [Q_AFTER] = { "after", QP_TOKEN, 1, 448, 0, NULL },
        [Q__MAX] = { NULL, 0, 0, 0, 0, NULL },
};

struct qcase {
        const char *query;
        int want;
        const char *field; /* expected reterr_field on failure */
};

static const struct qcase cases[] = {
        { "", 0, NULL },
        { "&&", 0, NULL },
        { "state=running", 0, NULL },
        { "state=bogus", -EINVAL, "state" },
        { "limit=1000", 0, NULL },
        { "limit=1001", -EINVAL, "limit" },
        { "limit=0", -EINVAL, "limit" },
        { "limit=-1", -EINVAL, "limit" },
        { "limit=abc", -EINVAL, "limit" },
        { "limit=", -EINVAL, "limit" },
        { "limit", -EINVAL, "limit" },
        { "limit=5&limit=6", -EINVAL, "limit" },
        { "bogus=1", -EINVAL, "bogus" },
        { "user=%27%20OR%201%3D1%20--", 0, NULL },
        { "user=a%00b", -EINVAL, "user" },
        { "user=%zz", -EINVAL, "user" },
        { "user=%4", -EINVAL, "user" },
        { "user=%0a", -EINVAL, "user" },
        { "user=%ff", -EINVAL, "user" },
        { "user=Zo%C3%AB", 0, NULL },
        { "node=node01", 0, NULL },
        { "node=no%20de", -EINVAL, "node" },
        { "node=..%2Fetc", -EINVAL, "node" },
        { "since=2026-01-01T00:00:00Z", 0, NULL },
        { "since=2026-01-01T00:00:00", -EINVAL, "since" },
        { "since=2026-02-30T00:00:00Z", -EINVAL, "since" },
        { "since=2026-01-01T00:00:00%2B02:00", 0, NULL },
        { "eff_lt=0.25", 0, NULL },
        { "eff_lt=100", 0, NULL },
        { "eff_lt=0", 0, NULL },
        { "eff_lt=1e1", 0, NULL },
        { "eff_lt=100.001", -EINVAL, "eff_lt" },
        { "eff_lt=-0.5", -EINVAL, "eff_lt" },
        { "eff_lt=nan", -EINVAL, "eff_lt" },
        { "eff_lt=inf", -EINVAL, "eff_lt" },
        { "eff_lt=0.5x", -EINVAL, "eff_lt" },
        { "eff_lt=1e999", -EINVAL, "eff_lt" },
        { "after=MXwtc3RhcnRfdGltZXw-_09", 0, NULL },
        { "after=a+b", -EINVAL, "after" },
        { "after=a%2Bb", -EINVAL, "after" },
        { "after=a%2Fb", -EINVAL, "after" },
        { "after=ab%3D", -EINVAL, "after" },
        { "after=", -EINVAL, "after" },
        { "after=%C3%A9", -EINVAL, "after" },
};

int main(void)
{
        struct qval v[Q__MAX];
        char errbuf[64], longq[400];
        const char *field, *msg;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                field = msg = NULL;
                r = qparam_parse(cases[i].query, strlen(cases[i].query), spec, v, errbuf,
                                 sizeof(errbuf), &field, &msg);
                is_int(r, cases[i].want, "'%s' -> %d", cases[i].query, cases[i].want);
                if (cases[i].field)
                        is_str(field, cases[i].field, "'%s' names field %s", cases[i].query,
                               cases[i].field);
        }

        const char *combined = "limit=7&state=completed&user=a+b&since=1970-01-01T00:00:01Z";

        r = qparam_parse(combined, strlen(combined), spec, v, errbuf, sizeof(errbuf), &field, &msg);
        is_int(r, 0, "combined query parses");
        is_i64(v[Q_LIMIT].i, 7, "limit value");
        ok(v[Q_LIMIT].set, "limit marked set");
        is_i64(v[Q_STATE].i, 2, "enum index");
        is_str(v[Q_USER].s, "a b", "'+' decodes to a space");
        is_i64(v[Q_SINCE].i, 1000000, "time in microseconds");
        r = qparam_parse("eff_lt=0.25", 11, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        ok(r == 0 && v[Q_EFF].set && v[Q_EFF].d == 0.25, "QP_NUM value 0.25");
        ok(!v[Q_NODE].set, "absent parameter not set");

        r = qparam_parse("", 0, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        is_i64(v[Q_LIMIT].i, 100, "default applies when absent");
        ok(!v[Q_LIMIT].set, "default does not mark set");

        r = qparam_parse("user=%27%20OR%201%3D1%20--", 26, spec, v, errbuf, sizeof(errbuf), &field,
                         &msg);
        is_str(v[Q_USER].s, "' OR 1=1 --", "SQL metacharacters kept literally");

        memset(longq, 'a', sizeof(longq));
        memcpy(longq, "user=", 5);
        r = qparam_parse(longq, sizeof(longq), spec, v, errbuf, sizeof(errbuf), &field, &msg);
        is_int(r, -EINVAL, "over-long value rejected");
        is_str(field, "user", "over-long value names its field");

        /* QP_TOKEN: up to its own max (a cursor is longer than any name), then "too long" */
        char tokq[6 + 600 + 1];

        memcpy(tokq, "after=", 6);
        memset(tokq + 6, 'A', 600);
        r = qparam_parse(tokq, 6 + 448, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        ok(r == 0 && v[Q_AFTER].set && strlen(v[Q_AFTER].s) == 448, "a 448-byte token is taken");
        r = qparam_parse(tokq, 6 + 449, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        ok(r == -EINVAL && strcmp(field, "after") == 0, "449 bytes: over the token's max");
        r = qparam_parse(tokq, 6 + 600, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        ok(r == -EINVAL && strcmp(field, "after") == 0 && strstr(msg, "too long"),
           "600 bytes: too long for any value");

        /* only the first len bytes count: the parser must not read past them */
        r = qparam_parse("limit=5&bogus=1", 7, spec, v, errbuf, sizeof(errbuf), &field, &msg);
        is_int(r, 0, "length bounds the input");
        is_i64(v[Q_LIMIT].i, 5, "value within the bound");
        return done_testing();
}
