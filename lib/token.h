/*
 * lib/token.h: hjo API tokens.  A token is "hjo_<id>_<secret>": id = 16 hex digits (public,
 * names the row), secret = 43 base64url characters (256 random bits).  Only SHA-256(secret) is
 * stored; verification compares hashes in constant time.  The token is shown once, at
 * creation.  Pure functions except token_generate (getrandom).  Thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

#define TOKEN_ID_LEN     16
#define TOKEN_SECRET_LEN 43
#define TOKEN_LEN        (4 + TOKEN_ID_LEN + 1 + TOKEN_SECRET_LEN)
#define TOKEN_HASH_LEN   32
#define TOKEN_HASH_HEX   (2 * TOKEN_HASH_LEN)

/* A fresh token into out (TOKEN_LEN + 1 bytes).  0 or -errno from getrandom. */
MUST_CHECK int token_generate(char *out, size_t size);

/* Splits "hjo_<id>_<secret>" (exactly, no whitespace): id copied into ret_id
   (TOKEN_ID_LEN + 1), *ret_secret points into s.  0 or -EINVAL. */
MUST_CHECK int token_parse(const char *s, size_t len, char *ret_id, const char **ret_secret);

/* SHA-256 of the secret, as lower-case hex (TOKEN_HASH_HEX + 1 bytes). 0 or -EIO. */
MUST_CHECK int token_hash_hex(const char *secret, size_t len, char *out, size_t size);

/* Constant-time equality of two hex hashes of TOKEN_HASH_HEX characters. */
bool token_hash_equal(const char *a, const char *b);
