/*
 * tests/fuzz/fuzz_cfg.c: the `key = value` configuration file parser, fed through a memfd
 * (cfg_load reads a path).  The environment is cleared of HJO_* and the guide's variables
 * first, so only the file speaks.  Invariants: a loaded config passes its own bounds.
 */
#include "config.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int cleared;
        struct cfg *c = NULL;
        char path[64], err[512];
        int fd;

        if (!cleared) {
                static const char *const vars[] = { "DATABASE_URL", "SCHEDULER_BACKEND",
                                                    "SLURM_BASE_URL", "SLURM_API_VERSION",
                                                    "METRICS_RETENTION_DAYS", "SEED_DEMO",
                                                    "HJO_CONFIG" };

                for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
                        (void)unsetenv(vars[i]);
                cleared = 1;
        }
        fd = memfd_create("hjo-fuzz-cfg", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (size > 0 && write(fd, data, size) != (ssize_t)size)
                goto out;
        (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (cfg_load(path, &c, err, sizeof(err)) == 0) {
                if (c->workers < 1 || c->workers > 256 || c->metrics_retention_days < 1 ||
                    c->socket_mode < 0 || c->socket_mode > 0777)
                        abort();
                cfg_free(c);
        }
out:
        close(fd);
        return 0;
}
