/*
 * lib/proc.c: posix_spawn + bounded capture.  The binary is resolved here (proc_find) and
 * started with posix_spawn (not posix_spawnp), so the caller's PATH cannot pick it.  The pipe is
 * read with poll() until EOF or the deadline; on timeout or overflow the child gets SIGKILL and
 * is reaped before returning, so no zombie survives a hung tool.
 */
#include "config.h"
#include "proc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROC_DEFAULT_PATH "/usr/bin:/bin:/usr/local/bin"

int proc_find(const char *name, const char *path, char *buf, size_t size)
{
        const char *p;

        if (strchr(name, '/')) {
                int n = snprintf(buf, size, "%s", name);

                if (n < 0 || (size_t)n >= size)
                        return -ENAMETOOLONG;
                return access(buf, X_OK) == 0 ? 0 : -ENOENT;
        }
        p = path ? path : PROC_DEFAULT_PATH;
        while (*p) {
                size_t dl = strcspn(p, ":");
                int n = snprintf(buf, size, "%.*s/%s", (int)dl, p, name);

                if (n < 0 || (size_t)n >= size)
                        return -ENAMETOOLONG;
                if (dl > 0 && access(buf, X_OK) == 0)
                        return 0;
                p += dl;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid; with kill_first, SIGKILLs it first.  Returns the encoded status. */
static int reap(pid_t pid, bool kill_first)
{
        int st = 0;
        pid_t w;

        if (kill_first)
                (void)kill(pid, SIGKILL);
        do {
                w = waitpid(pid, &st, 0);
        } while (w < 0 && errno == EINTR);
        if (w < 0)
                return -1;
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        return -1;
}

int proc_capture(const char *const *argv, const char *path, const char *const *envp,
                 int timeout_ms, size_t max_bytes, struct proc_out *ret)
{
        static const char *const empty_env[] = { NULL };
        posix_spawn_file_actions_t fa;
        bool fa_init = false;
        char exe[4096];
        char *buf = NULL;
        size_t len = 0;
        int pipefd[2] = { -1, -1 };
        int64_t deadline;
        pid_t pid = -1;
        bool killed = false;
        int r, st;

        r = proc_find(argv[0], path, exe, sizeof(exe));
        if (r < 0)
                return r;
        buf = malloc(max_bytes + 1);
        if (!buf)
                return -ENOMEM;
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                goto out;
        fa_init = true;
        r = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = -posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        if (r == 0)
                r = -posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (r < 0)
                goto out;
        /* posix_spawn's argv/envp are char *const[] for historical reasons; not modified */
        r = -posix_spawn(&pid, exe, &fa, NULL, (char *const *)(uintptr_t)argv,
                         (char *const *)(uintptr_t)(envp ? envp : empty_env));
        if (r < 0) {
                pid = -1;
                goto out;
        }
        (void)close(pipefd[1]);
        pipefd[1] = -1;
        deadline = now_ms() + timeout_ms;
        for (;;) {
                struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
                int64_t left = deadline - now_ms();
                ssize_t n;
                int pr;

                if (left <= 0) {
                        r = -ETIMEDOUT;
                        killed = true;
                        break;
                }
                pr = poll(&pfd, 1, (int)left);
                if (pr < 0 && errno == EINTR)
                        continue;
                if (pr < 0) {
                        r = -errno;
                        killed = true;
                        break;
                }
                if (pr == 0)
                        continue; /* the deadline check above ends it */
                n = read(pipefd[0], buf + len, max_bytes + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        killed = true;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max_bytes) {
                        r = -E2BIG;
                        killed = true;
                        break;
                }
        }
        st = reap(pid, killed);
        pid = -1;
        if (r < 0)
                goto out;
        buf[len] = '\0';
        ret->buf = buf;
        ret->len = len;
        ret->exit_status = st;
        buf = NULL;
        r = 0;
out:
        if (pid > 0)
                (void)reap(pid, true);
        if (fa_init)
                posix_spawn_file_actions_destroy(&fa);
        if (pipefd[0] >= 0)
                (void)close(pipefd[0]);
        if (pipefd[1] >= 0)
                (void)close(pipefd[1]);
        free(buf);
        return r;
}

void proc_out_clear(struct proc_out *o)
{
        if (!o)
                return;
        free(o->buf);
        o->buf = NULL;
        o->len = 0;
}
