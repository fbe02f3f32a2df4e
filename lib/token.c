/*
 * lib/token.c: generation, parsing and hashing of API tokens (OpenSSL libcrypto for SHA-256
 * and the constant-time compare).
 */
#include "config.h"
#include "token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "valid.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hexd[] = "0123456789abcdef";

static bool is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int token_generate(char *out, size_t size)
{
        unsigned char rnd[8 + 33]; /* 8 bytes of id, 33 bytes → 44 base64url chars, 43 kept */
        size_t o = 0;

        if (size < TOKEN_LEN + 1)
                return -ENOBUFS;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -errno ? -errno : -EIO;
        memcpy(out, "hjo_", 4);
        o = 4;
        for (size_t i = 0; i < 8; i++) {
                out[o++] = hexd[rnd[i] >> 4];
                out[o++] = hexd[rnd[i] & 15];
        }
        out[o++] = '_';
        for (size_t i = 8; i + 2 < sizeof(rnd) && o < TOKEN_LEN; i += 3) {
                unsigned v = (unsigned)rnd[i] << 16 | (unsigned)rnd[i + 1] << 8 | rnd[i + 2];

                for (int k = 3; k >= 0 && o < TOKEN_LEN; k--)
                        out[o++] = b64url[(v >> (6 * k)) & 63];
        }
        out[o] = '\0';
        explicit_bzero(rnd, sizeof(rnd));
        return o == TOKEN_LEN ? 0 : -EIO;
}

int token_parse(const char *s, size_t len, char *ret_id, const char **ret_secret)
{
        if (len != TOKEN_LEN || memcmp(s, "hjo_", 4) != 0 || s[4 + TOKEN_ID_LEN] != '_')
                return -EINVAL;
        for (size_t i = 4; i < 4 + TOKEN_ID_LEN; i++)
                if (!is_hex(s[i]))
                        return -EINVAL;
        if (!valid_b64url(s + 5 + TOKEN_ID_LEN, TOKEN_LEN - 5 - TOKEN_ID_LEN))
                return -EINVAL;
        memcpy(ret_id, s + 4, TOKEN_ID_LEN);
        ret_id[TOKEN_ID_LEN] = '\0';
        *ret_secret = s + 5 + TOKEN_ID_LEN;
        return 0;
}

int token_hash_hex(const char *secret, size_t len, char *out, size_t size)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        if (size < TOKEN_HASH_HEX + 1)
                return -ENOBUFS;
        if (EVP_Digest(secret, len, md, &n, EVP_sha256(), NULL) != 1 || n != TOKEN_HASH_LEN)
                return -EIO;
        for (unsigned i = 0; i < n; i++) {
                out[2 * i] = hexd[md[i] >> 4];
                out[2 * i + 1] = hexd[md[i] & 15];
        }
        out[TOKEN_HASH_HEX] = '\0';
        return 0;
}

bool token_hash_equal(const char *a, const char *b)
{
        if (!a || !b || strlen(a) != TOKEN_HASH_HEX || strlen(b) != TOKEN_HASH_HEX)
                return false;
        return CRYPTO_memcmp(a, b, TOKEN_HASH_HEX) == 0;
}
