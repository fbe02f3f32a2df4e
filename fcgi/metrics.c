/*
 * fcgi/metrics.c: GET /metrics in the Prometheus text exposition format 0.0.4, streamed.
 * One scrape runs a fixed set of five queries in one read-only snapshot, however many jobs
 * there are: per-job series (running jobs, and finished ones for the grace period), per-GPU
 * series, node series (hjo's own and Slurm's) and job counts by state; then the request
 * counters of all workers.  Label values are escaped (\\, \", \n) by strbuf_add_escaped(), or
 * on the per-series path by strbuf_put_prom_label(), which writes the same bytes.
 *
 * Memory does not grow with the number of jobs: the per-job and per-GPU queries are read row by
 * row (db_stream(), libpq single-row mode) and formatted into one buffer that is written to the
 * FastCGI stream whenever it holds METRICS_FLUSH_BYTES.  The node queries are read whole: their
 * size follows the number of nodes, not of jobs.
 *
 * Errors.  A page that fits in the buffer is sent at the end with a Content-Length, so any
 * failure still answers 500/503/504 as before.  Once the first part of a larger page is out
 * (status 200, no Content-Length), a failure cannot change the status any more: the worker
 * logs it ("metrics scrape failed after the page started"), rolls back, and ends the page with
 * a comment and a line that is invalid on purpose, so that Prometheus rejects the scrape
 * (up = 0) instead of storing a page with series silently missing.  A client that went away
 * only stops the queries.
 *
 * The page cache (HJO_METRICS_CACHE_SECONDS > 0, issue 6).  A page of 10,000 jobs takes about
 * 0.1 s of queries and formatting, 30 times what nginx needs to send the same bytes from a
 * file; samples arrive every 10 s and several Prometheus servers may scrape the same page.
 * With the cache on, a scrape is answered from a file rendered at most that many seconds ago
 * (fcgi/pagecache.c: one worker of the host renders, into a temporary file renamed into place,
 * the others serve the previous page meanwhile).  Credentials are checked on every scrape as
 * before.  When nginx tells the worker (FastCGI parameter HJO_METRICS_CACHE_DIR, the directory
 * its internal location /_hjo/metrics-cache/ serves) that it can read the same directory, and
 * the worker listens on a Unix socket (so nginx is on the same host), the answer is an empty
 * 200 with X-Accel-Redirect and nginx sends the file itself; otherwise the worker streams the
 * file.  A render that fails answers its error status: the page is complete on disk before
 * anything is sent, so a cached scrape never ends with an invalid line.
 */
#include "config.h"
#include "api.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "db_slurm.h"
#include "http.h"
#include "log.h"
#include "pagecache.h"
#include "route.h"
#include "strbuf.h"

#define METRICS_FLUSH_BYTES (64u * 1024)
/* Ceiling of the buffer: one flush unit plus the largest single piece appended between two
   flush checks (a row's line, or the node sections, which grow with the number of nodes). */
#define METRICS_MAX_BYTES   (64u * 1024 * 1024)
#define METRICS_CTYPE       "text/plain; version=0.0.4; charset=utf-8"
#define MAX_LABELS          4 /* of a streamed statement's series (the GPU ones) */
#define METRICS_WORK_MEM    "SET LOCAL work_mem = '64MB'" /* see query_all() */
#define CACHE_NAME          "metrics.prom"
#define CACHE_URI           "/_hjo/metrics-cache/" /* nginx's internal location of the cache */
#define CACHE_PARAM         "HJO_METRICS_CACHE_DIR" /* the directory that location serves */
#define COPY_CHUNK          (64u * 1024)

struct page {
        struct http_req *req;
        int fd; /* >= 0: the page goes to this file (the cache), not to the client */
        int file_err; /* writing to that file failed (the cache's fault, not the database's) */
        struct strbuf sb;
        bool started; /* headers are out: errors can no longer change the status */
        int io_err;   /* writing to the client failed: stop, nothing more to say */
        /* the family table of the query being streamed, and where it is in it */
        const struct fam *fams;
        size_t n_fams;
        size_t next_fam; /* families before this one have their HELP/TYPE lines out */
        const struct labelset *labels;
        size_t open_len[MAX_LABELS]; /* strlen() of labels->open[i] */
};

struct fam {
        const char *name, *type, *help;
        size_t name_len;
};

/*
 * The label names of a streamed statement's series as the fixed text around the values:
 * open[i] goes before value i (`{job_id="`, then `",user="`, ...); `"} ` follows the last.
 * Written out whole so that a line is a few memcpy()s (issue 6).
 */
struct labelset {
        size_t n;
        const char *open[MAX_LABELS];
};

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Writes what the buffer holds (the headers first, on the first call to the client). */
static int page_flush(struct page *pg)
{
        int r;

        if (pg->io_err)
                return pg->io_err;
        if (strbuf_failed(&pg->sb))
                return -E2BIG;
        if (pg->fd >= 0) {
                r = write_all(pg->fd, pg->sb.buf ? pg->sb.buf : "", pg->sb.len);
                if (r < 0)
                        pg->file_err = r;
                else
                        strbuf_reset(&pg->sb);
                return r;
        }
        if (!pg->started) {
                r = http_reply_start(pg->req, 200, METRICS_CTYPE);
                if (r < 0)
                        goto io;
                pg->started = true;
        }
        r = http_write(pg->req, pg->sb.buf ? pg->sb.buf : "", pg->sb.len);
        if (r < 0)
                goto io;
        strbuf_reset(&pg->sb);
        return 0;
io:
        pg->io_err = -EPIPE;
        return pg->io_err;
}

static int page_maybe_flush(struct page *pg)
{
        return pg->sb.len >= METRICS_FLUSH_BYTES ? page_flush(pg) : 0;
}

static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
        strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The Prometheus spelling of a sample value (val, *n bytes): PostgreSQL prints float8
   infinities "Infinity"/"-Infinity", Prometheus wants "+Inf"/"-Inf" (NaN is the same in both).
   *n becomes the length of what is returned. */
static const char *prom_value(const char *val, size_t *n)
{
        if (*n == 8 && memcmp(val, "Infinity", 8) == 0) {
                *n = 4;
                return "+Inf";
        }
        if (*n == 9 && memcmp(val, "-Infinity", 9) == 0) {
                *n = 4;
                return "-Inf";
        }
        return val;
}

static void sample_value(struct strbuf *sb, const char *val)
{
        size_t n = strlen(val);
        const char *s = prom_value(val, &n);

        strbuf_addn(sb, s, n);
}

/* name{k1="v1",k2="v2",...} value\n; labels are (key, value) pairs. */
static void series(struct strbuf *sb, const char *name, const char *const *labels, size_t n,
                   const char *val)
{
        strbuf_adds(sb, name);
        strbuf_addc(sb, '{');
        for (size_t i = 0; i + 1 < n; i += 2) {
                if (i)
                        strbuf_addc(sb, ',');
                strbuf_adds(sb, labels[i]);
                strbuf_adds(sb, "=\"");
                strbuf_add_escaped(sb, labels[i + 1], ESC_PROM_LABEL);
                strbuf_addc(sb, '"');
        }
        strbuf_adds(sb, "} ");
        sample_value(sb, val);
        strbuf_addc(sb, '\n');
}

/* clang-format off */
#define FAM(name, type, help) { name, type, help, sizeof(name) - 1 }
static const struct fam job_fams[] = {
        FAM("hpc_job_runtime_seconds", "gauge", "Seconds since the job started (until it ended)."),
        FAM("hpc_job_cpu_usage_percent", "gauge", "CPU usage of the job on the node, percent of its allocation."),
        FAM("hpc_job_memory_usage_bytes", "gauge", "Memory used by the job on the node, bytes."),
        FAM("hpc_job_gpu_usage_percent", "gauge", "Average GPU utilization of the job on the node, percent."),
        FAM("hpc_job_cpu_seconds_total", "counter",
            "CPU time used by the job's cgroup on the node, seconds (collectord)."),
        FAM("hpc_job_memory_peak_bytes", "gauge",
            "Peak memory of the job's cgroup on the node, bytes (memory.peak)."),
        FAM("hpc_job_oom_kills_total", "counter",
            "Processes of the job killed by the OOM killer on the node (memory.events)."),
};
static const struct fam gpu_fams[] = {
        FAM("hpc_job_gpu_device_utilization_percent", "gauge", "Utilization of one GPU of the job, percent."),
        FAM("hpc_job_gpu_device_memory_used_bytes", "gauge", "Memory used on one GPU of the job, bytes."),
        FAM("hpc_job_gpu_device_power_watts", "gauge", "Power draw of one GPU of the job, watts."),
        FAM("hpc_job_gpu_device_temperature_celsius", "gauge", "Temperature of one GPU of the job, degrees Celsius."),
};
#undef FAM

static const struct labelset job_labels = {
        3,
        { "{job_id=\"", "\",user=\"", "\",node=\"" },
};
static const struct labelset gpu_labels = {
        4,
        { "{job_id=\"", "\",node=\"", "\",gpu_vendor=\"", "\",gpu_id=\"" },
};
#define LABELS_CLOSE "\"} "
/* clang-format on */

/* HELP/TYPE lines of the families up to and including `upto` that have none yet. */
static void families_upto(struct page *pg, size_t upto)
{
        for (; pg->next_fam <= upto && pg->next_fam < pg->n_fams; pg->next_fam++)
                family(&pg->sb, pg->fams[pg->next_fam].name, pg->fams[pg->next_fam].type,
                       pg->fams[pg->next_fam].help);
}

/* sample_value() into dst, which has room for n (no spelling is longer than its input). */
static char *put_value(char *dst, const char *val, size_t n)
{
        const char *s = prom_value(val, &n);

        memcpy(dst, s, n);
        return dst + n;
}

/*
 * One row of SQL_METRICS_JOBS or SQL_METRICS_GPUS (lib/db_stmts.c): column 0 is the family
 * index, then the label values in the order of pg->labels, then the value as text.  The rows
 * come grouped by family in table order; a family index that goes backwards or out of the
 * table, or a row of another shape, is an error (-EPROTO), not a page with a family split in
 * two.
 *
 * This runs once per series (266,000 times for 10,000 jobs with 4 GPUs each), so the line is
 * written in place: one reservation for its longest possible form (every label byte escaped),
 * then memcpy()s of the fixed parts and the values, whose lengths libpq already knows.  The
 * bytes are those of series().
 */
static int stream_row(void *ctx, const struct db_res *row)
{
        struct page *pg = ctx;
        const struct labelset *ls = pg->labels;
        const char *fs = db_res_value(row, 0, 0);
        const char *v[MAX_LABELS + 1];
        size_t len[MAX_LABELS + 1], need, f;
        const struct fam *fam;
        char *p, *start;

        if (db_res_nfields(row) != (int)ls->n + 2)
                return -EPROTO;
        if (fs[0] < '0' || fs[0] > '9' || fs[1] != '\0')
                return -EPROTO;
        f = (size_t)(fs[0] - '0');
        if (f >= pg->n_fams || f + 1 < pg->next_fam)
                return -EPROTO;
        families_upto(pg, f);
        fam = &pg->fams[f];
        need = fam->name_len + strlen(LABELS_CLOSE) + 1;
        for (size_t i = 0; i <= ls->n; i++) {
                v[i] = db_res_value(row, 0, (int)i + 1);
                len[i] = (size_t)db_res_length(row, 0, (int)i + 1);
                need += i < ls->n ? pg->open_len[i] + 2 * len[i] : len[i];
        }
        start = strbuf_reserve(&pg->sb, need);
        if (!start)
                return -E2BIG;
        memcpy(start, fam->name, fam->name_len);
        p = start + fam->name_len;
        for (size_t i = 0; i < ls->n; i++) {
                memcpy(p, ls->open[i], pg->open_len[i]);
                p = strbuf_put_prom_label(p + pg->open_len[i], v[i], len[i]);
        }
        memcpy(p, LABELS_CLOSE, strlen(LABELS_CLOSE));
        p = put_value(p + strlen(LABELS_CLOSE), v[ls->n], len[ls->n]);
        *p++ = '\n';
        strbuf_commit(&pg->sb, (size_t)(p - start));
        return page_maybe_flush(pg);
}

static int stream_families(struct page *pg, enum db_stmt id, const char *const *params,
                           const struct fam *fams, size_t n_fams, const struct labelset *labels)
{
        int r;

        pg->fams = fams;
        pg->n_fams = n_fams;
        pg->next_fam = 0;
        pg->labels = labels;
        for (size_t i = 0; i < labels->n; i++)
                pg->open_len[i] = strlen(labels->open[i]);
        r = db_stream(pg->req->db, id, params, stream_row, pg, NULL);
        if (r == 0)
                families_upto(pg, n_fams - 1); /* the families without any series */
        return r;
}

/* clang-format off */
static const struct {
        const char *name, *help;
        int col;
} node_families[] = {
        { "hpc_node_cpu_usage_percent", "CPU usage of the node, percent.", 1 },
        { "hpc_node_memory_usage_bytes", "Memory used on the node, bytes.", 2 },
        { "hpc_node_job_count", "Running jobs on the node.", 3 },
};
/* clang-format on */

static int render_nodes(struct page *pg, const struct db_res *res)
{
        int n = db_res_ntuples(res), r;

        for (size_t f = 0; f < ARRAY_SIZE(node_families); f++) {
                family(&pg->sb, node_families[f].name, "gauge", node_families[f].help);
                for (int i = 0; i < n; i++) {
                        const char *labels[] = { "node", db_res_value(res, i, 0) };
                        int col = node_families[f].col;

                        if (db_res_isnull(res, i, col))
                                continue;
                        series(&pg->sb, node_families[f].name, labels, ARRAY_SIZE(labels),
                               db_res_value(res, i, col));
                        r = page_maybe_flush(pg);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static void render_states(struct strbuf *sb, const struct db_res *res)
{
        family(sb, "hpc_jobs", "gauge", "Jobs known to hjo, by state.");
        for (int i = 0; i < db_res_ntuples(res); i++) {
                const char *labels[] = { "state", db_res_value(res, i, 0) };

                series(sb, "hpc_jobs", labels, ARRAY_SIZE(labels), db_res_value(res, i, 1));
        }
}

/*
 * The queries, in one REPEATABLE READ READ ONLY transaction (one snapshot for the page).  The
 * streamed statements keep their (job, node) and GPU rows in a materialized CTE that each
 * family scans again; past work_mem (4 MB by default: 10,000 jobs with 4 GPUs each already need
 * more) that store goes to a temporary file and is read back once per family.  A larger limit
 * for this transaction only keeps it in memory: 4 to 13 ms less for the GPU statement of that
 * benchmark.  It bounds each sort or store of these statements on the server, not the worker.
 */
static int query_all(struct page *pg, const char *grace)
{
        struct db_res *nodes = NULL, *slurm_nodes = NULL, *states = NULL;
        const char *params[1] = { grace };
        const char *node_params[1] = { "900" }; /* node samples older than 15 min are stale */
        struct db *db = pg->req->db;
        int r;

        r = db_command(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " METRICS_WORK_MEM);
        if (r < 0)
                return r;
        r = stream_families(pg, STMT_METRICS_JOBS, params, job_fams, ARRAY_SIZE(job_fams),
                            &job_labels);
        if (r == 0)
                r = stream_families(pg, STMT_METRICS_GPUS, params, gpu_fams, ARRAY_SIZE(gpu_fams),
                                    &gpu_labels);
        if (r == 0)
                r = db_exec(db, STMT_METRICS_NODES, node_params, &nodes, NULL);
        if (r == 0)
                r = db_slurm_metrics_nodes(db, 900, &slurm_nodes);
        if (r == 0)
                r = db_exec(db, STMT_METRICS_STATES, NULL, &states, NULL);
        if (r == 0)
                r = db_command(db, "COMMIT");
        else if (db_command(db, "ROLLBACK") < 0)
                log_kv(LOG_LVL_WARNING, "rollback failed, ignoring", NULL);
        if (r == 0)
                r = render_nodes(pg, nodes);
        if (r == 0) {
                db_slurm_metrics_render(&pg->sb, slurm_nodes);
                r = page_maybe_flush(pg);
        }
        if (r == 0)
                render_states(&pg->sb, states);
        db_res_free(nodes);
        db_res_free(slurm_nodes);
        db_res_free(states);
        return r;
}

/* The whole page into pg->sb (flushed on the way when it grows): the queries, then the request
   counters, the build info and the time all this took. */
static int render_all(struct page *pg)
{
        const struct cfg *cfg = pg->req->cfg;
        struct timespec t0, t1;
        char grace[32];
        int r;

        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        (void)snprintf(grace, sizeof(grace), "%lld", (long long)cfg->metrics_grace_seconds);
        r = query_all(pg, grace);
        if (r < 0)
                return r;
        http_stats_render(&pg->sb, route_names(), route_count());
        family(&pg->sb, "hjo_build_info", "gauge", "hjo version; always 1.");
        strbuf_addf(&pg->sb, "hjo_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        family(&pg->sb, "hjo_scrape_duration_seconds", "gauge",
               "Time this worker spent querying and rendering this page.");
        strbuf_addf(&pg->sb, "hjo_scrape_duration_seconds %.6f\n",
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (pg->fd >= 0) {
                struct timespec now;

                (void)clock_gettime(CLOCK_REALTIME, &now);
                family(&pg->sb, "hjo_metrics_rendered_timestamp_seconds", "gauge",
                       "When this page was rendered (Unix time); pages are served from the "
                       "cache for HJO_METRICS_CACHE_SECONDS.");
                strbuf_addf(&pg->sb, "hjo_metrics_rendered_timestamp_seconds %lld.%03ld\n",
                            (long long)now.tv_sec, now.tv_nsec / 1000000);
        }
        return strbuf_failed(&pg->sb) ? -E2BIG : 0;
}

struct cache_ctx {
        struct http_req *req;
        int render_err; /* the render's own error (a database one), 0 when it was the file */
        size_t bytes;
};

/* pagecache_render_fn: the page into the cache file fd. */
static int render_to_file(int fd, void *arg)
{
        struct cache_ctx *cc = arg;
        struct page pg = { .req = cc->req, .fd = fd };
        int r;

        strbuf_init(&pg.sb, METRICS_MAX_BYTES);
        r = render_all(&pg);
        if (r < 0) {
                cc->render_err = pg.file_err ? 0 : r;
                goto out;
        }
        cc->bytes = 0;
        r = page_flush(&pg);
        if (r == 0) {
                off_t end = lseek(fd, 0, SEEK_CUR);

                cc->bytes = end > 0 ? (size_t)end : 0;
        }
out:
        strbuf_clear(&pg.sb);
        return r;
}

/* Whether nginx can send the cache file itself: it serves the same directory, and it is on this
   host (the worker listens on a Unix socket; over TCP nginx may be on another machine). */
static bool accel_ok(const struct http_req *req)
{
        static int is_unix = -1;
        const char *dir = FCGX_GetParam(CACHE_PARAM, req->fcgx->envp);
        const char *mine = req->cfg->metrics_cache_dir;
        size_t n = strlen(mine), m;

        if (!dir)
                return false;
        if (is_unix < 0) {
                struct sockaddr_storage sa;
                socklen_t len = sizeof(sa);

                is_unix = getsockname(req->fcgx->listen_sock, (struct sockaddr *)&sa, &len) == 0 &&
                          sa.ss_family == AF_UNIX;
        }
        if (!is_unix)
                return false;
        while (n > 1 && mine[n - 1] == '/')
                n--;
        m = strlen(dir);
        while (m > 1 && dir[m - 1] == '/')
                m--;
        return n == m && memcmp(dir, mine, n) == 0;
}

/* Sends the cache file through the FastCGI stream (nginx cannot read it). */
static void stream_file(struct http_req *req, int fd)
{
        char *buf = malloc(COPY_CHUNK);
        ssize_t n;
        int r;

        if (!buf) {
                http_error_errno(req, -ENOMEM, NULL, NULL);
                return;
        }
        r = http_reply_start(req, 200, METRICS_CTYPE);
        while (r == 0) {
                n = read(fd, buf, COPY_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n < 0)
                                (void)log_errno(LOG_LVL_ERR, -errno,
                                                "metrics cache file read failed mid-page",
                                                "req_id", req->corr_id, NULL);
                        break;
                }
                r = http_write(req, buf, (size_t)n);
        }
        free(buf);
}

static void api_metrics_cached(struct http_req *req)
{
        const struct cfg *cfg = req->cfg;
        const struct pagecache pc = { cfg->metrics_cache_dir, CACHE_NAME,
                                      cfg->metrics_cache_seconds * 1000 };
        struct cache_ctx cc = { .req = req };
        struct timespec t0, t1;
        bool rendered = false;
        char ms[32], bytes[32];
        int fd = -1, r;

        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        r = pagecache_get(&pc, render_to_file, &cc, &fd, &rendered);
        if (r < 0 && cc.render_err) {
                (void)log_errno(LOG_LVL_ERR, r, "metrics scrape failed", "req_id", req->corr_id,
                                NULL);
                http_error_errno(req, r == -E2BIG || r == -EPROTO ? -EIO : r, NULL, NULL);
                return;
        }
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "metrics cache unusable", "dir",
                                cfg->metrics_cache_dir, "req_id", req->corr_id, NULL);
                http_error(req, 500, "internal", "the metrics cache directory is not usable",
                           NULL);
                return;
        }
        if (rendered) {
                (void)clock_gettime(CLOCK_MONOTONIC, &t1);
                (void)snprintf(ms, sizeof(ms), "%.1f",
                               (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
                (void)snprintf(bytes, sizeof(bytes), "%zu", cc.bytes);
                log_kv(LOG_LVL_INFO, "metrics page rendered", "bytes", bytes, "ms", ms, "req_id",
                       req->corr_id, NULL);
        }
        if (accel_ok(req))
                http_reply(req, 200, METRICS_CTYPE, "", 0,
                           "X-Accel-Redirect: " CACHE_URI CACHE_NAME "\r\n");
        else
                stream_file(req, fd);
        (void)close(fd);
}

void api_metrics(struct http_req *req, const char *id)
{
        struct page pg = { .req = req, .fd = -1 };
        int r;

        (void)id;
        if (req->cfg->metrics_cache_seconds > 0) {
                api_metrics_cached(req);
                return;
        }
        strbuf_init(&pg.sb, METRICS_MAX_BYTES);
        r = render_all(&pg);
        if (r < 0)
                goto fail;
        if (!pg.started) {
                /* the whole page fitted: one answer with its length */
                http_reply(req, 200, METRICS_CTYPE, pg.sb.buf ? pg.sb.buf : "", pg.sb.len, NULL);
                goto out;
        }
        r = page_flush(&pg);
        if (r < 0)
                goto fail;
        goto out;
fail:
        if (pg.io_err) {
                (void)log_errno(LOG_LVL_WARNING, r, "metrics client went away mid-page", "req_id",
                                req->corr_id, NULL);
                goto out;
        }
        if (!pg.started) {
                (void)log_errno(LOG_LVL_ERR, r, "metrics scrape failed", "req_id", req->corr_id,
                                NULL);
                http_error_errno(req, r == -E2BIG || r == -EPROTO ? -EIO : r, NULL, NULL);
                goto out;
        }
        (void)log_errno(LOG_LVL_ERR, r, "metrics scrape failed after the page started", "req_id",
                        req->corr_id, NULL);
        /* What was formatted but not written is dropped; the page ends on a fresh line with a
           sample line that no exposition-format parser accepts (no value), so the scrape fails
           as a whole. */
        strbuf_reset(&pg.sb);
        strbuf_addf(&pg.sb,
                    "\n# hjo: this page is incomplete: the scrape failed after it started "
                    "(req_id %s, see the hjo-api log)\nhjo_scrape_incomplete\n",
                    req->corr_id);
        (void)page_flush(&pg);
out:
        strbuf_clear(&pg.sb);
}
