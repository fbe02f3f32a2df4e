/* lib/compiler.h: annotations that let the warning flags check every caller, and tiny helpers. */
#pragma once

#define PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))
#define MUST_CHECK              __attribute__((warn_unused_result))
#define NORETURN                __attribute__((noreturn))
#define UNUSED                  __attribute__((unused))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
