/* tests/unit/test_hostlist.c: Slurm host list expansion, table-driven. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "hostlist.h"
#include "tap.h"

struct hl_case {
        const char *in;
        int want;
        const char *hosts; /* expected names joined by ' ' */
};

/* clang-format off */
static const struct hl_case cases[] = {
        { "node[01-03,07]", 0, "node01 node02 node03 node07" },
        { "a[1-2],b3", 0, "a1 a2 b3" },
        { "vm", 0, "vm" },
        { "", 0, "" },
        { "a,b", 0, "a b" },
        { "n[8-10]", 0, "n8 n9 n10" },
        { "n[08-10]", 0, "n08 n09 n10" },
        { "n[1,3-4]x", 0, "n1x n3x n4x" },
        { "r[1-2]-n[1-2]", 0, "r1-n1 r1-n2 r2-n1 r2-n2" },
        { "gpu-[001-002].cluster", 0, "gpu-001.cluster gpu-002.cluster" },
        { "n[5]", 0, "n5" },
        { "x[0-1],y[09-10],z", 0, "x0 x1 y09 y10 z" },
        { "n[1-", -EBADMSG, NULL },
        { "n1-2]", -EBADMSG, NULL },
        { "n[]", -EBADMSG, NULL },
        { "n[3-1]", -EBADMSG, NULL },
        { "n[[1]]", -EBADMSG, NULL },
        { "n[1-2-3]", -EBADMSG, NULL },
        { "n[a-b]", -EBADMSG, NULL },
        { "n[1,]", -EBADMSG, NULL },
        { "n[-1]", -EBADMSG, NULL },
        { "a,,b", -EBADMSG, NULL },
        { ",a", -EBADMSG, NULL },
        { "a,", -EBADMSG, NULL },
        { "bad name", -EBADMSG, NULL },
        { "n[1-2]]", -EBADMSG, NULL },
        { "-n[1-2]", -EBADMSG, NULL },
        { "n[0-9999999999]", -EBADMSG, NULL },
        { "n[0-1000]", -E2BIG, NULL },         /* 1001 names > max 1000 */
        { "a[0-500],b[0-500]", -E2BIG, NULL }, /* the cap spans items */
        { "r[0-99]-n[0-99]", -E2BIG, NULL },   /* and multiplied groups */
};
/* clang-format on */

static void join(const struct hostlist *hl, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < hl->n; i++) {
                int n = snprintf(buf + len, size - len, "%s%s", i ? " " : "", hl->v[i]);

                if (n < 0 || (size_t)n >= size - len)
                        return;
                len += (size_t)n;
        }
}

int main(void)
{
        char got[1024];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct hostlist hl = { .v = (char **)&hl, .n = 12345 }; /* sentinel */
                int r = hostlist_expand(cases[i].in, strlen(cases[i].in), 1000, &hl);

                is_int(r, cases[i].want, "expand \"%s\" returns %d", cases[i].in, cases[i].want);
                if (cases[i].want == 0) {
                        join(&hl, got, sizeof(got));
                        is_str(got, cases[i].hosts, "expand \"%s\" names", cases[i].in);
                        hostlist_clear(&hl);
                } else {
                        ok(hl.n == 12345 && hl.v == (char **)&hl, "\"%s\": ret untouched",
                           cases[i].in);
                }
        }

        /* not NUL-terminated: only len bytes count */
        {
                struct hostlist hl = { 0 };
                const char buf[] = { 'n', '[', '1', '-', '2', ']', ',', 'z', 'z' };

                is_int(hostlist_expand(buf, 6, 10, &hl), 0, "length-bounded input");
                join(&hl, got, sizeof(got));
                is_str(got, "n1 n2", "length-bounded names");
                hostlist_clear(&hl);
        }
        /* exactly at the cap */
        {
                struct hostlist hl = { 0 };

                is_int(hostlist_expand("n[1-1000]", 9, 1000, &hl), 0, "1000 names at max 1000");
                is_u64(hl.n, 1000, "count");
                is_str(hl.n ? hl.v[999] : "", "n1000", "last name");
                hostlist_clear(&hl);
                hostlist_clear(NULL);
        }
        return done_testing();
}
