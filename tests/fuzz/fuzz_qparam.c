/*
 * tests/fuzz/fuzz_qparam.c: query strings through the GET /v1/jobs parameter table.
 * Invariants: accepted names are valid UTF-8 without controls; integers in bounds.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "qparam.h"
#include "valid.h"

static const char *const states[] = { "pending", "running", "completed", "failed", "cancelled",
                                      NULL };
static const struct qparam spec[] = {
        { "state", QP_ENUM, 0, 0, 0, states },   { "user", QP_NAME, 0, 0, 0, NULL },
        { "node", QP_HOST, 0, 0, 0, NULL },      { "since", QP_TIME, 0, 0, 0, NULL },
        { "limit", QP_INT, 1, 1000, 100, NULL }, { "offset", QP_INT, 0, 10000000, 0, NULL },
        { NULL, 0, 0, 0, 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct qval v[6];
        char errbuf[64];
        const char *field, *msg;

        if (qparam_parse((const char *)data, size, spec, v, errbuf, sizeof(errbuf), &field,
                         &msg) != 0)
                return 0;
        if (v[1].set && !valid_name(v[1].s, strlen(v[1].s)))
                abort();
        if (v[2].set && !valid_hostname(v[2].s, strlen(v[2].s)))
                abort();
        if (v[4].i < 1 || v[4].i > 1000 || v[5].i < 0 || v[5].i > 10000000)
                abort();
        return 0;
}
