/*
 * tests/fuzz/replay_main.c: replays tests/fuzz/corpus/<FUZZ_TARGET>/ through the target and
 * prints TAP, one test point per file.  The corpus directory is $top_srcdir/tests/fuzz/corpus/
 * <target> (automake exports top_srcdir) or the first argument.  A crash fails the program,
 * which the TAP driver reports; a corpus that cannot be read is a failed test point.
 */
#include "config.h"
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the corpus directory"
#endif

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_file(const char *path)
{
        struct stat st;
        uint8_t *buf = NULL;
        ssize_t k;
        size_t got = 0;
        int fd, r = -1;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0 || st.st_size > 16 * 1024 * 1024)
                goto out;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                goto out;
        while (got < (size_t)st.st_size && (k = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
                got += (size_t)k;
        if (got != (size_t)st.st_size)
                goto out;
        /* a copy of exactly `got` bytes, so ASan catches reads past the input */
        (void)LLVMFuzzerTestOneInput(buf, got);
        r = 0;
out:
        free(buf);
        close(fd);
        return r;
}

int main(int argc, char **argv)
{
        char dir[4096], path[8192];
        const char *top = getenv("top_srcdir"); /* lint-ok: test program */
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int failed = 0;

        if (argc > 1)
                (void)snprintf(dir, sizeof(dir), "%s", argv[1]);
        else
                (void)snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".",
                               FUZZ_TARGET);
        d = opendir(dir);
        if (!d) {
                printf("1..1\nnot ok 1 - corpus directory %s readable\n", dir);
                return 1;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == cap) {
                        char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

                        if (!nn)
                                return 1;
                        names = nn;
                }
                names[n] = strdup(de->d_name);
                if (!names[n])
                        return 1;
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp);
        printf("1..%zu\n", n + 1);
        printf("%s 1 - %s corpus has seeds (%zu files)\n", n > 0 ? "ok" : "not ok", FUZZ_TARGET, n);
        failed += n == 0;
        for (size_t i = 0; i < n; i++) {
                int r;

                (void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                r = replay_file(path);
                printf("%s %zu - %s/%s\n", r == 0 ? "ok" : "not ok", i + 2, FUZZ_TARGET, names[i]);
                failed += r != 0;
                free(names[i]);
        }
        free(names);
        return failed ? 1 : 0;
}
