/* tests/unit/test_token.c: API token format, hashing and comparison (lib/token.c). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tap.h"
#include "token.h"

int main(void)
{
        char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1], id[TOKEN_ID_LEN + 1], h[TOKEN_HASH_HEX + 1];
        char bad[TOKEN_LEN + 2];
        const char *secret = NULL;

        is_int(token_generate(t1, sizeof(t1)), 0, "generate");
        is_int(token_generate(t2, sizeof(t2)), 0, "generate again");
        is_int((long long)strlen(t1), TOKEN_LEN, "token length %d", TOKEN_LEN);
        ok(strncmp(t1, "hjo_", 4) == 0, "prefix hjo_");
        ok(strcmp(t1, t2) != 0, "two tokens differ");
        is_int(token_generate(t1, TOKEN_LEN), -ENOBUFS, "too small a buffer");
        is_int(token_generate(t1, sizeof(t1)), 0, "generate a third");

        is_int(token_parse(t1, strlen(t1), id, &secret), 0, "a generated token parses");
        ok(strncmp(id, t1 + 4, TOKEN_ID_LEN) == 0 && id[TOKEN_ID_LEN] == '\0', "id extracted");
        ok(secret == t1 + 5 + TOKEN_ID_LEN, "secret points after the id");

        memcpy(bad, t1, sizeof(t1));
        bad[TOKEN_LEN - 1] = '=';
        is_int(token_parse(bad, strlen(bad), id, &secret), -EINVAL, "padding char rejected");
        memcpy(bad, t1, sizeof(t1));
        bad[5] = 'G';
        is_int(token_parse(bad, strlen(bad), id, &secret), -EINVAL, "non-hex id rejected");
        is_int(token_parse(t1, strlen(t1) - 1, id, &secret), -EINVAL, "short token rejected");
        memcpy(bad, t1, sizeof(t1));
        bad[TOKEN_LEN] = 'x';
        bad[TOKEN_LEN + 1] = '\0';
        is_int(token_parse(bad, strlen(bad), id, &secret), -EINVAL, "long token rejected");
        is_int(token_parse("Bearer x", 8, id, &secret), -EINVAL, "garbage rejected");
        is_int(token_parse("", 0, id, &secret), -EINVAL, "empty rejected");

        /* SHA-256 test vector (FIPS 180-2): "abc" */
        is_int(token_hash_hex("abc", 3, h, sizeof(h)), 0, "hash");
        is_str(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "SHA-256(abc)");
        is_int(token_hash_hex("", 0, h, sizeof(h)), 0, "hash of empty");
        is_str(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "SHA-256('')");
        is_int(token_hash_hex("abc", 3, h, TOKEN_HASH_HEX), -ENOBUFS, "hash buffer too small");

        ok(token_hash_equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
           "equal hashes compare equal");
        ok(!token_hash_equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"),
           "last digit differs");
        ok(!token_hash_equal("ba78", "ba78"), "short strings are never equal");
        ok(!token_hash_equal(NULL, h), "NULL is never equal");
        return done_testing();
}
