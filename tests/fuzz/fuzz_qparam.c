/*
 * tests/fuzz/fuzz_qparam.c: query strings through the GET /v1/jobs parameter table.
 * Invariants: accepted names are valid UTF-8 without controls; integers in bounds; an accepted
 * token (after=) is base64url within its length, and a cursor it decodes to has a valid job id.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "qparam.h"
#include "valid.h"

static const char *const states[] = { "pending", "running", "completed", "failed", "cancelled",
                                      NULL };
static const struct qparam spec[] = {
        { "state", QP_ENUM, 0, 0, 0, states },   { "user", QP_NAME, 0, 0, 0, NULL },
        { "node", QP_HOST, 0, 0, 0, NULL },      { "since", QP_TIME, 0, 0, 0, NULL },
        { "limit", QP_INT, 1, 1000, 100, NULL }, { "offset", QP_INT, 0, 10000000, 0, NULL },
        { "after", QP_TOKEN, 1, 448, 0, NULL },  { NULL, 0, 0, 0, 0, NULL },
};

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct qval v[7];
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
        if (v[6].set && (strlen(v[6].s) > 448 || strspn(v[6].s, b64url) != strlen(v[6].s)))
                abort();
        /* and through the cursor decoder, for a start_time and a summary sort */
        if (v[6].set) {
                static const char *const sorts[] = { "-start_time", "start_time",
                                                     "-cpu_efficiency" };
                struct cursor c;

                for (size_t i = 0; i < ARRAY_SIZE(sorts); i++)
                        if (cursor_parse(v[6].s, strlen(v[6].s), sorts[i], &c, &msg) == 0 &&
                            !valid_job_id(c.id, strlen(c.id)))
                                abort();
        }
        return 0;
}
