/*
 * fcgi/pagecache.h: one generated page kept as a file for a few seconds, shared by every worker
 * process of the host (GET /metrics with HJO_METRICS_CACHE_SECONDS).  The file is replaced by
 * rename(), so a reader sees a whole page, old or new, never a part; one worker renders at a
 * time (flock on a lock file beside it), the others meanwhile serve the previous page or, when
 * there is none yet, wait for the first.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct pagecache {
        const char *dir;  /* absolute directory; created (mode 0750) when missing */
        const char *name; /* file name inside it, e.g. "metrics.prom" */
        int64_t ttl_ms;   /* a page this old or older is rendered again */
};

/* Writes the whole page to fd (a new file in the cache directory); 0 or a negative errno. */
typedef int (*pagecache_render_fn)(int fd, void *ctx);

/*
 * Returns in *fd an open, read-only descriptor of a page at most ttl_ms old (or, while another
 * worker renders the next one, of the previous page), rendering it with render() under the lock
 * when needed; *rendered says whether this call did.  The caller closes *fd.  Errors: render()'s
 * own, or -errno of the file operations (the page being unwritable is -EACCES, -ENOSPC, ...).
 */
MUST_CHECK int pagecache_get(const struct pagecache *pc, pagecache_render_fn render, void *ctx,
                             int *fd, bool *rendered);

/* The page's path, dir/name, into buf (size n): 0, or -ENAMETOOLONG. */
MUST_CHECK int pagecache_path(const struct pagecache *pc, char *buf, size_t n);
