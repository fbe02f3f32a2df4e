/*
 * lib/proc.h: running a vendor tool (nvidia-smi, rocm-smi) and capturing its stdout
 * (STYLE 4.14): posix_spawnp with a fixed argv (no shell), a minimal environment, stdin from
 * /dev/null, stderr discarded, a deadline (SIGKILL and reap when it passes) and a byte cap.
 * Not thread-safe with respect to other SIGCHLD consumers: the child is reaped here with
 * waitpid() on its own pid, so a caller's SIGCHLD handling must not reap arbitrary children.
 */
#pragma once
#include <stddef.h>

#include "compiler.h"

struct proc_out {
        char *buf; /* malloc'd, NUL-terminated; caller frees with free() */
        size_t len;
        int exit_status; /* 0..255 when exited; 128 + signal when killed by a signal */
};

/*
 * Runs argv[0] (searched in `path`, a PATH-style list; NULL = "/usr/bin:/bin:/usr/local/bin")
 * with environment envp (NULL = empty) and returns its stdout.  0 (even for a non-zero exit:
 * look at exit_status), -ENOENT (not found), -ETIMEDOUT (deadline hit: killed), -E2BIG (more
 * than max_bytes: killed), -ENOMEM, other -errno.  ret untouched on failure.
 */
MUST_CHECK int proc_capture(const char *const *argv, const char *path, const char *const *envp,
                            int timeout_ms, size_t max_bytes, struct proc_out *ret);
void proc_out_clear(struct proc_out *o); /* frees buf; NULL-safe */

/* Searches name in a PATH-style list; writes the full path.  0 or -ENOENT/-ENAMETOOLONG. */
MUST_CHECK int proc_find(const char *name, const char *path, char *buf, size_t size);
