/*
 * tests/fuzz/fuzz_num.c: the number parsers.  Invariants: an accepted u64/i64 is within its
 * bounds and prints back to the same digits (no sign, no leading zeros except "0"); the parsers
 * never read past len.
 */
#include "config.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char buf[32];
        uint64_t u;
        int64_t i;
        double d;

        if (num_parse_u64(s, size, 1000000000000ULL, &u) == 0) {
                if (u > 1000000000000ULL)
                        abort();
                (void)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
                if (strlen(buf) > size)
                        abort();
        }
        if (num_parse_i64(s, size, -5000, 5000, &i) == 0 && (i < -5000 || i > 5000))
                abort();
        if (num_parse_double(s, size, &d) == 0 && d != d)
                abort(); /* NaN must never be accepted */
        if (num_parse_u64_oct(s, size, 07777, &u) == 0 && u > 07777)
                abort();
        return 0;
}
