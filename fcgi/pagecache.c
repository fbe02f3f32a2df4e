/*
 * fcgi/pagecache.c: see pagecache.h.  The page's age is its file's mtime against the wall clock
 * (the file is written in one go and renamed into place, so its mtime is the end of the render);
 * a page dated in the future by more than the TTL (the clock stepped back) counts as stale.
 */
#include "config.h"
#include "pagecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_SZ 4200 /* HJO_METRICS_CACHE_DIR is at most 4096 bytes (lib/cfg.c) */

int pagecache_path(const struct pagecache *pc, char *buf, size_t n)
{
        int w = snprintf(buf, n, "%s/%s", pc->dir, pc->name);

        return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* Opens the page when it exists: 1 and *fd when it is fresh, 0 and *fd when it is stale, 0 and
   *fd = -1 when there is none; or a negative errno. */
static int open_page(const char *path, int64_t ttl_ms, int *fd)
{
        struct timespec now;
        struct stat st;
        int64_t age_ms;

        *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (*fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(*fd, &st) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0) {
                int r = -errno;

                (void)close(*fd);
                *fd = -1;
                return r;
        }
        age_ms = ((int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec) * 1000 +
                 ((int64_t)now.tv_nsec - (int64_t)st.st_mtim.tv_nsec) / 1000000;
        return age_ms < ttl_ms && age_ms > -ttl_ms ? 1 : 0;
}

/* Writes a new page under a temporary name and renames it over path. */
static int render_page(const struct pagecache *pc, const char *path, pagecache_render_fn render,
                       void *ctx)
{
        char tmp[PATH_SZ];
        int fd = -1, r, w;

        w = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", pc->dir, pc->name);
        if (w < 0 || (size_t)w >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* nginx reads it (X-Accel-Redirect); the directory's mode is what keeps others out */
        if (fchmod(fd, 0644) < 0) {
                r = -errno;
                goto out;
        }
        r = render(fd, ctx);
        if (r < 0)
                goto out;
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto out;
        }
        fd = -1;
        if (rename(tmp, path) < 0)
                r = -errno;
out:
        if (fd >= 0)
                (void)close(fd);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int pagecache_get(const struct pagecache *pc, pagecache_render_fn render, void *ctx, int *fd,
                  bool *rendered)
{
        char path[PATH_SZ], lock[PATH_SZ];
        int lfd = -1, r, w;

        *fd = -1;
        *rendered = false;
        r = pagecache_path(pc, path, sizeof(path));
        if (r < 0)
                return r;
        r = open_page(path, pc->ttl_ms, fd);
        if (r != 0)
                return r < 0 ? r : 0; /* fresh, or an error */

        w = snprintf(lock, sizeof(lock), "%s/.%s.lock", pc->dir, pc->name);
        if (w < 0 || (size_t)w >= sizeof(lock)) {
                r = -ENAMETOOLONG;
                goto out;
        }
        if (mkdir(pc->dir, 0750) < 0 && errno != EEXIST) {
                r = -errno;
                goto out;
        }
        lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (lfd < 0) {
                r = -errno;
                goto out;
        }
        if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK) {
                        r = -errno;
                        goto out;
                }
                if (*fd >= 0) {
                        r = 0; /* another worker renders the next page: serve this one */
                        goto out;
                }
                if (flock(lfd, LOCK_EX) < 0) { /* no page yet: wait for the first */
                        r = -errno;
                        goto out;
                }
        }
        /* Under the lock: another worker may have renamed a new page in meanwhile. */
        if (*fd >= 0) {
                (void)close(*fd);
                *fd = -1;
        }
        r = open_page(path, pc->ttl_ms, fd);
        if (r != 0)
                goto out;
        if (*fd >= 0) {
                (void)close(*fd);
                *fd = -1;
        }
        r = render_page(pc, path, render, ctx);
        if (r < 0)
                goto out;
        *rendered = true;
        *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (*fd < 0)
                r = -errno;
out:
        if (r < 0 && *fd >= 0) {
                (void)close(*fd);
                *fd = -1;
        }
        if (r > 0)
                r = 0;
        if (lfd >= 0)
                (void)close(lfd); /* releases the lock */
        return r;
}
