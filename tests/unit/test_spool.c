/*
 * tests/unit/test_spool.c: lib/spool.c: order across reopen, truncation when delivered, the
 * byte cap (oldest dropped), a torn tail cut on open, another sink's spool refused, prepend,
 * the CRC-32 check value.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

static char path[4096];

static off_t size_of(void)
{
        struct stat st;

        return stat(path, &st) == 0 ? st.st_size : -1;
}

static bool next_is(struct spool *s, const char *want)
{
        char *buf = NULL;
        size_t len = 0;
        bool good = spool_peek(s, &buf, &len) == 0 && len == strlen(want) &&
                    memcmp(buf, want, len) == 0;

        free(buf);
        return good && spool_pop(s) == 0;
}

int main(void)
{
        char dir[] = "/tmp/hjo-spool-XXXXXX";
        struct spool *s = NULL;
        size_t cut = 9, dropped = 9;
        const char *pre[] = { "p1", "p2" };
        size_t prelen[] = { 2, 2 };
        int fd;

        if (!mkdtemp(dir))
                return 1;
        (void)snprintf(path, sizeof(path), "%s/s.spool", dir);
        is_u64(spool_crc32("123456789", 9), 0xcbf43926u, "CRC-32 check value");

        ok(spool_open(path, 7, 1 << 20, &s, &cut) == 0 && cut == 0, "create");
        is_int((long long)size_of(), SPOOL_HEADER_BYTES, "new spool is its header");
        ok(spool_append(s, "one", 3, &dropped) == 0 && dropped == 0, "append one");
        ok(spool_append(s, "two", 3, &dropped) == 0, "append two");
        ok(spool_append(s, "three", 5, &dropped) == 0, "append three");
        spool_close(s);
        s = NULL;
        ok(spool_open(path, 8, 1 << 20, &s, &cut) == -EPROTO, "another kind is refused");
        ok(spool_open(path, 7, 1 << 20, &s, &cut) == 0 && cut == 0, "reopen");
        is_int((long long)spool_records(s), 3, "three records after reopen");
        ok(next_is(s, "one"), "oldest first");
        spool_close(s);
        s = NULL;
        ok(spool_open(path, 7, 1 << 20, &s, &cut) == 0, "reopen after a delivery");
        is_int((long long)spool_records(s), 2, "the delivered record stays delivered");
        ok(next_is(s, "two") && next_is(s, "three"), "then in order");
        is_int((long long)size_of(), SPOOL_HEADER_BYTES, "truncated once fully delivered");

        /* cap: header 32 + 2 records of 12 + 10 bytes = 76 */
        spool_close(s);
        s = NULL;
        ok(spool_open(path, 7, 76, &s, &cut) == 0, "reopen with a 76-byte cap");
        ok(spool_append(s, "aaaaaaaaaa", 10, &dropped) == 0 && dropped == 0, "a");
        ok(spool_append(s, "bbbbbbbbbb", 10, &dropped) == 0 && dropped == 0, "b");
        ok(spool_append(s, "cccccccccc", 10, &dropped) == 0 && dropped == 1, "c drops a");
        ok(size_of() <= 76, "file within the cap");
        ok(spool_append(s, "this record is larger than the whole cap", 40, &dropped) ==
                           -E2BIG &&
                   dropped == 1,
           "a record over the cap is itself dropped");
        ok(spool_prepend(s, pre, prelen, 2, &dropped) == 0 && dropped == 2,
           "prepend over the cap drops the prefix first");
        ok(spool_prepend(s, pre, prelen, 1, &dropped) == 0 && dropped == 1,
           "prepend one over the cap: the prefix is the oldest, it goes");
        ok(next_is(s, "bbbbbbbbbb"), "the spool's records are kept");
        ok(spool_prepend(s, pre, prelen, 1, &dropped) == 0 && dropped == 0, "prepend one");
        ok(next_is(s, "p1") && next_is(s, "cccccccccc"), "prepended record first");
        spool_close(s);
        s = NULL;

        /* a torn tail: half a record at the end */
        ok(spool_open(path, 7, 1 << 20, &s, &cut) == 0, "reopen");
        ok(spool_append(s, "whole", 5, &dropped) == 0, "append whole");
        spool_close(s);
        s = NULL;
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        ok(fd >= 0 && write(fd, "HJOR\x40\0\0\0", 8) == 8, "write a torn record");
        if (fd >= 0)
                (void)close(fd);
        ok(spool_open(path, 7, 1 << 20, &s, &cut) == 0 && cut == 1, "torn tail cut on open");
        is_int((long long)spool_records(s), 1, "the whole record survives");
        ok(next_is(s, "whole"), "and reads back");
        spool_close(s);
        (void)unlink(path);
        (void)rmdir(dir);
        return done_testing();
}
