/*
 * lib/rfc3339.h: strict RFC 3339 timestamps ("2026-01-02T03:04:05Z", "…05.123456+02:00").
 * A zone (Z or ±hh:mm) is required; 'T' or 't' or ' ' separates date and time; fractional
 * seconds are kept to microseconds (extra digits are truncated); impossible dates (Feb 30,
 * hour 24, month 13) are rejected.  Leap second 60 is rejected.  Pure, thread-safe.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define RFC3339_BUFSZ 32

/* Microseconds since the Unix epoch.  0, -EINVAL (malformed), or -ERANGE (the instant is
   outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z); *ret untouched on failure. */
MUST_CHECK int rfc3339_parse(const char *s, size_t len, int64_t *ret_usec);
/* Formats UTC "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into buf (>= RFC3339_BUFSZ).  Returns buf. */
const char *rfc3339_format(int64_t usec, char *buf, size_t size);
/* Current wall-clock time in microseconds since the epoch. */
int64_t rfc3339_now_usec(void);
