/*
 * lib/log.h: logfmt lines on stderr (STYLE 4.11):
 *   ts=2026-01-01T00:00:00.000Z level=err comp=hjo-api msg="text" key=value ...
 * Values are escaped centrally (quoted when they hold spaces, quotes, '=' or controls).
 * Thread-safe (one write(2) per line).  Never log secrets, DSNs or SQL parameter values.
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARNING = 4, LOG_LVL_NOTICE = 5, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Sets the component name (borrowed, must outlive logging) and the maximum level printed. */
void log_setup(const char *comp, enum log_level max_level);
/* Parses "err|warning|notice|info|debug"; -EINVAL otherwise. */
MUST_CHECK int log_level_parse(const char *s, enum log_level *ret);

/*
 * Logs one line.  After msg come key/value string pairs, terminated by NULL:
 *   log_kv(LOG_LVL_INFO, "worker started", "pid", pidbuf, NULL);
 * A NULL value is printed as an empty string.
 */
void log_kv(enum log_level level, const char *msg, ...);

/* Like log_kv() and adds err=<ENAME> for the negative errno r; returns r. */
int log_errno(enum log_level level, int r, const char *msg, ...);

/* The symbolic name of errno e ("ENOTCONN"), or "E<number>"; buf needs 16 bytes. */
const char *log_errname(int e, char *buf, size_t size);
