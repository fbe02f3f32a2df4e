/*
 * lib/valid.h: validators for identifiers that come from clients.  Pure, thread-safe.
 * Each returns true when (s, len) is acceptable.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define VALID_JOB_ID_MAX   255
#define VALID_HOSTNAME_MAX 253
#define VALID_NAME_MAX     255

/* 1-255 chars of [A-Za-z0-9._:-], except "." and "..". */
bool valid_job_id(const char *s, size_t len);
/* DNS-ish host name: 1-253 chars, labels of [A-Za-z0-9_-] (1-63) separated by dots,
   no leading/trailing dot or hyphen in a label. */
bool valid_hostname(const char *s, size_t len);
/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool valid_utf8(const char *s, size_t len);
/* Any length (0 included) of valid UTF-8 with no control characters (< 0x20, 0x7f). */
bool valid_text(const char *s, size_t len);
/* Free text names (user, account, partition, cluster): 1-255 bytes of valid UTF-8 with no
   control characters (< 0x20, 0x7f). */
bool valid_name(const char *s, size_t len);
/* Absolute path without control characters, 1-4096 bytes. */
bool valid_path(const char *s, size_t len);
/* The 6-bit value of a base64url character (RFC 4648 section 5: A-Z a-z 0-9 - _), or -1. */
int valid_b64url_value(char c);
/* Only base64url characters (any length, 0 included; no padding). */
bool valid_b64url(const char *s, size_t len);
