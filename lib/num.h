/*
 * lib/num.h: the one place where text becomes a number.  Every parser rejects the empty
 * string, leading or trailing whitespace, trailing junk and overflow, and never writes its
 * output on failure.  Input need not be NUL-terminated: (s, len) is the whole text.
 * Thread-safe.  Returns 0, -EINVAL (not a number of that kind) or -ERANGE (outside [min, max]).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Unsigned decimal, no sign allowed, value <= max. */
MUST_CHECK int num_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret);
/* Signed decimal (optional leading '-'), min <= value <= max. */
MUST_CHECK int num_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *ret);
/* Octal, no sign, optional leading 0 ("0660", "660"), value <= max.  For file modes. */
MUST_CHECK int num_parse_u64_oct(const char *s, size_t len, uint64_t max, uint64_t *ret);
/*
 * Decimal floating point in the C locale ("1", "1.5", "-2e3"); rejects nan/inf/hex, a leading
 * '+', a bare "." and "1." / ".5", and text over 255 bytes.  Overflow to infinity is -ERANGE;
 * underflow rounds towards zero and succeeds.
 */
MUST_CHECK int num_parse_double(const char *s, size_t len, double *ret);
