/*
 * tests/fuzz/fuzz_rfc3339.c: timestamps.  Invariant: whatever parses formats back to a string
 * that parses to the same instant (round trip through the UTC form the API answers with).
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char buf[RFC3339_BUFSZ];
        int64_t t, t2;

        if (rfc3339_parse((const char *)data, size, &t) < 0)
                return 0;
        (void)rfc3339_format(t, buf, sizeof(buf));
        if (rfc3339_parse(buf, strlen(buf), &t2) < 0 || t2 != t)
                abort();
        return 0;
}
