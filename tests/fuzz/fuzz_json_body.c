/*
 * tests/fuzz/fuzz_json_body.c: request bodies as hjo-api parses them: jv_parse() (size and
 * depth caps, strict tokens, UTF-8) then jv_dispatch() through a field table with every field
 * type the API uses.  Invariants checked: a dispatched string field is valid UTF-8 within its
 * bounds; integers and doubles are within their bounds; on failure the target is untouched.
 */
#include "config.h"
#include "fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "valid.h"

struct body {
        char *job_id, *user, *vendor;
        struct jv_strarr nodes;
        int64_t ts, cpus;
        double cpu;
        bool flag, has_cpus, has_cpu;
};

#define F(m) offsetof(struct body, m)

/* clang-format off */
static const struct jv_field fields[] = {
        { "job_id", JV_STR, F(job_id), JV_NO_HAS, JV_REQUIRED, 1, 255, 0, 0, 0, valid_job_id },
        { "user", JV_STR, F(user), JV_NO_HAS, JV_NULLABLE, 1, 255, 0, 0, 0, valid_name },
        { "vendor", JV_STR, F(vendor), JV_NO_HAS, JV_NULLABLE, 1, 16, 0, 0, 0, NULL },
        { "node_list", JV_STRARR, F(nodes), JV_NO_HAS, JV_NULLABLE, 1, 253, 0, 0, 64, valid_hostname },
        { "timestamp", JV_TIME, F(ts), JV_NO_HAS, JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { "cpus", JV_I64, F(cpus), F(has_cpus), JV_NULLABLE, 0, 4096, 0, 0, 0, NULL },
        { "cpu", JV_DOUBLE, F(cpu), F(has_cpu), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        { "flag", JV_BOOL, F(flag), JV_NO_HAS, JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { 0 },
};
/* clang-format on */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jv *j = NULL;
        struct body b, zero;
        const char *field, *msg;

        if (jv_parse((const char *)data, size, 1024 * 1024, 16, &j) < 0)
                return 0;
        memset(&b, 0, sizeof(b));
        memset(&zero, 0, sizeof(zero));
        if (jv_dispatch(j, fields, 0, &b, &field, &msg) == 0) {
                if (!b.job_id || !valid_job_id(b.job_id, strlen(b.job_id)))
                        abort();
                if (b.user && !valid_name(b.user, strlen(b.user)))
                        abort();
                for (size_t i = 0; i < b.nodes.n; i++)
                        if (!valid_hostname(b.nodes.v[i], strlen(b.nodes.v[i])))
                                abort();
                if (b.has_cpus && (b.cpus < 0 || b.cpus > 4096))
                        abort();
                if (b.has_cpu && !(b.cpu >= 0 && b.cpu <= 100))
                        abort();
                jv_dispatch_clear(fields, &b);
        } else if (memcmp(&b, &zero, sizeof(b)) != 0) {
                abort(); /* ret_ untouched on failure */
        }
        memset(&b, 0, sizeof(b));
        if (jv_dispatch(j, fields, JV_ALLOW_UNKNOWN, &b, &field, &msg) == 0)
                jv_dispatch_clear(fields, &b);
        jv_free(j);
        return 0;
}
