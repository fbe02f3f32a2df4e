/*
 * collectord/main.c: hjo-collectord, the per-node sampler (issue 3).
 *
 *   hjo-collectord [--config FILE] [--once] [--cgroup-root DIR] [--interval 10s]
 *                  [--sink db|stdout] [--node NAME] [--check-config]
 *
 * The loop (STYLE 4.13): signals are blocked and read from a signalfd; ticks come from a
 * CLOCK_MONOTONIC timerfd armed with absolute deadlines (start + k × interval), so a slow
 * cycle skips the missed ticks (counted, complained about with a growing interval) and never
 * bursts.  SIGTERM/SIGINT: deliver what is buffered (one try), exit 0.  SIGHUP: reload the
 * configuration; only a valid one replaces the running one (node, sink and cgroup root need a
 * restart).  SIGCHLD: the GPU tools are reaped by lib/proc.c itself; the signal is drained.
 *
 * Sink "db": one unnamed statement per interval (hjo_ingest_batch, PQexecParams: works
 * behind PgBouncer transaction pooling).  When it fails the batch's parameters are kept in a
 * bounded in-memory queue (collector_buffer_batches) and delivered oldest first on later
 * cycles; when the queue is full the oldest batch is dropped and counted.  Buffered and
 * dropped counts go to the log and to collector_health.
 * Sink "stdout": one logfmt-like line per sample, for tests and for looking.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cfg.h"
#include "collect.h"
#include "db.h"
#include "log.h"
#include "num.h"
#include "rfc3339.h"
#include "strbuf.h"

struct queued {
        char *text[BATCH_N_PARAMS]; /* NULL = SQL NULL; each malloc'd */
        size_t bytes;
};

struct daemon {
        struct cfg *cfg;
        const char *node;
        const char *sink;
        struct collector *col;
        struct db *db;
        struct batch batch;
        struct strbuf pb[BATCH_N_PARAMS];
        struct queued *q; /* ring */
        size_t q_cap, q_head, q_len;
        uint64_t dropped, delivered, overruns, unknown_total;
        int64_t complain_next_usec, complain_gap_usec;
        bool sink_down;
};

static int64_t mono_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void queued_free(struct queued *q)
{
        for (size_t i = 0; i < BATCH_N_PARAMS; i++) {
                free(q->text[i]);
                q->text[i] = NULL;
        }
        q->bytes = 0;
}

static char *i64_str(char *buf, size_t size, long long v)
{
        (void)snprintf(buf, size, "%lld", v);
        return buf;
}

/* Rate-limited complaint (STYLE 4.11): the first at once, then 1 min, 2 min, … up to 1 h. */
static bool complain_now(struct daemon *d)
{
        int64_t now = mono_usec();

        if (now < d->complain_next_usec)
                return false;
        d->complain_gap_usec = d->complain_gap_usec ? d->complain_gap_usec * 2 : 60000000;
        if (d->complain_gap_usec > INT64_C(3600000000))
                d->complain_gap_usec = INT64_C(3600000000);
        d->complain_next_usec = now + d->complain_gap_usec;
        return true;
}

static int64_t parse_ts(const char *s)
{
        int64_t v;

        if (!s || !*s || rfc3339_parse(s, strlen(s), &v) < 0)
                return 0;
        return v;
}

/* Reads hjo_ingest_batch's rows: counts, rejected jobs, the node's jobs. */
static void read_result(struct daemon *d, const struct db_res *res, bool want_jobs)
{
        int n = db_res_ntuples(res);
        bool began = false;

        for (int i = 0; i < n; i++) {
                const char *kind = db_res_value(res, i, 0);
                const char *id = db_res_value(res, i, 1);

                if (strcmp(kind, "unknown") == 0) {
                        d->unknown_total++;
                        log_kv(LOG_LVL_INFO, "sample of a job hjo does not know, skipping",
                               "source", "cgroup", "job_id", id, NULL);
                } else if (strcmp(kind, "finished") == 0) {
                        log_kv(LOG_LVL_INFO, "sample after the job's end, skipping", "source",
                               "cgroup", "job_id", id, NULL);
                } else if (strcmp(kind, "job") == 0 && want_jobs) {
                        int64_t cpus = 0;
                        double last = 0;
                        bool has_last = !db_res_isnull(res, i, 8);
                        const char *c = db_res_value(res, i, 3);

                        if (!began) {
                                collector_meta_begin(d->col);
                                began = true;
                        }
                        if (!db_res_isnull(res, i, 3) &&
                            num_parse_i64(c, strlen(c), 0, INT32_MAX, &cpus) < 0)
                                cpus = 0;
                        if (has_last && num_parse_double(db_res_value(res, i, 8),
                                                         (size_t)db_res_length(res, i, 8),
                                                         &last) < 0)
                                has_last = false;
                        if (collector_meta_job(d->col, id, cpus, db_res_value(res, i, 4),
                                               db_res_value(res, i, 5),
                                               parse_ts(db_res_value(res, i, 6)),
                                               parse_ts(db_res_value(res, i, 7)), last,
                                               has_last) < 0)
                                log_kv(LOG_LVL_WARNING, "out of memory for job metadata, ignoring",
                                       "job_id", id, NULL);
                }
        }
        if (want_jobs && !began)
                collector_meta_begin(d->col); /* no running job on this node */
}

static int db_connect(struct daemon *d)
{
        int r;

        if (d->db)
                return 0;
        r = db_open(d->cfg->database_url, "hjo-collectord", d->cfg->statement_timeout_ms, &d->db);
        return r;
}

/* Sends one parameter set.  0 or -errno (the connection is dropped on -ENOTCONN). */
static int send_params(struct daemon *d, const char *const *vals, bool want_jobs)
{
        struct db_res *res = NULL;
        struct db_err err = { 0 };
        int r;

        r = db_connect(d);
        if (r < 0)
                return r;
        r = db_exec_unnamed(d->db, STMT_INGEST_BATCH, vals, &res, &err);
        if (r == -ENOTCONN) {
                db_close(d->db);
                d->db = NULL;
        }
        if (r < 0) {
                if (r != -ENOTCONN && r != -ETIMEDOUT)
                        (void)log_errno(LOG_LVL_ERR, r, "batch rejected by the database",
                                        "sqlstate", err.sqlstate, NULL);
                return r;
        }
        read_result(d, res, want_jobs);
        db_res_free(res);
        return 0;
}

static int queue_push(struct daemon *d, const char *const *vals)
{
        struct queued *slot;

        if (d->q_cap == 0) {
                d->dropped++;
                return 0;
        }
        if (d->q_len == d->q_cap) {
                queued_free(&d->q[d->q_head]); /* full: the oldest goes */
                d->q_head = (d->q_head + 1) % d->q_cap;
                d->q_len--;
                d->dropped++;
        }
        slot = &d->q[(d->q_head + d->q_len) % d->q_cap];
        for (size_t i = 0; i < BATCH_N_PARAMS; i++) {
                if (!vals[i])
                        continue;
                slot->text[i] = strdup(vals[i]);
                if (!slot->text[i]) {
                        queued_free(slot);
                        d->dropped++;
                        return -ENOMEM;
                }
                slot->bytes += strlen(vals[i]);
        }
        d->q_len++;
        return 0;
}

/* Delivers queued batches oldest first; stops at the first failure. */
static int queue_drain(struct daemon *d, size_t max)
{
        int r = 0;

        while (d->q_len > 0 && max-- > 0) {
                struct queued *q = &d->q[d->q_head];
                const char *vals[BATCH_N_PARAMS];

                for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                        vals[i] = q->text[i];
                /* a queued batch carries its health row; want_jobs is "false" in its text */
                r = send_params(d, vals, false);
                if (r < 0)
                        return r;
                queued_free(q);
                d->q_head = (d->q_head + 1) % d->q_cap;
                d->q_len--;
                d->delivered++;
        }
        return r;
}

static void print_batch(const struct batch *b)
{
        char ts[RFC3339_BUFSZ];

        (void)rfc3339_format(b->ts_usec, ts, sizeof(ts));
        for (size_t i = 0; i < b->n_jobs; i++) {
                const struct batch_job *j = &b->jobs[i];

                printf("sample ts=%s node=%s job_id=%s cpu_pct=%.3f cpu_seconds=%.6f", ts,
                       j->node[0] ? j->node : b->node, j->job_id, j->cpu_pct,
                       (double)j->cg.v[CG_CPU_USAGE] / 1e6);
                if (cg_has(&j->cg, CG_MEM_CURRENT))
                        printf(" mem_bytes=%llu", (unsigned long long)j->mem_bytes);
                if (cg_has(&j->cg, CG_MEM_PEAK))
                        printf(" mem_peak_bytes=%llu", (unsigned long long)j->cg.v[CG_MEM_PEAK]);
                if (cg_has(&j->cg, CG_OOM_KILL))
                        printf(" oom_kills=%llu", (unsigned long long)j->cg.v[CG_OOM_KILL]);
                if (j->has_gpu)
                        printf(" gpu_pct=%.3f", j->gpu_pct);
                putchar('\n');
        }
        for (size_t i = 0; i < b->n_gpus; i++)
                printf("gpu ts=%s job_id=%s gpu_id=%s util_pct=%.1f\n", ts, b->gpus[i].job_id,
                       b->gpus[i].gpu_id, b->gpus[i].dev.util_pct);
        if (b->has_node_mem)
                printf("node ts=%s node=%s mem_used_bytes=%llu mem_total_bytes=%llu jobs=%lld\n",
                       ts, b->node, (unsigned long long)b->node_mem_used,
                       (unsigned long long)b->node_mem_total, (long long)b->node_jobs);
        (void)fflush(stdout);
}

/* Asks the database for the node's jobs (an empty batch with want_jobs). */
static void fetch_meta(struct daemon *d)
{
        const char *vals[BATCH_N_PARAMS];
        int r;

        if (strcmp(d->sink, "db") != 0)
                return;
        batch_reset(&d->batch);
        (void)snprintf(d->batch.node, sizeof(d->batch.node), "%s", d->node);
        d->batch.ts_usec = rfc3339_now_usec();
        d->batch.want_jobs = true;
        r = batch_params(&d->batch, d->pb, vals);
        if (r == 0)
                r = send_params(d, vals, true);
        if (r < 0)
                (void)log_errno(LOG_LVL_WARNING, r, "cannot read the node's jobs yet, continuing",
                                "node", d->node, NULL);
}

static int cycle(struct daemon *d)
{
        struct collect_stats s;
        const char *vals[BATCH_N_PARAMS];
        char b1[24], b2[24], b3[24], b4[24], b5[24];
        int64_t t0 = mono_usec(), wall = rfc3339_now_usec();
        int r;

        batch_reset(&d->batch);
        r = collector_cycle(d->col, t0, wall, &d->batch, &s);
        if (r < 0)
                return log_errno(LOG_LVL_ERR, r, "sampling failed", "source", "cgroup", NULL);
        if (s.last_tool_error < 0 && complain_now(d))
                (void)log_errno(LOG_LVL_WARNING, s.last_tool_error, "GPU tool failed, skipping",
                                "source", s.last_tool, NULL);
        if (strcmp(d->sink, "stdout") == 0) {
                print_batch(&d->batch);
                return 0;
        }
        d->batch.has_health = true;
        d->batch.health_cycle_ms = (double)(mono_usec() - t0) / 1000.0;
        d->batch.health_jobs_seen = (int64_t)s.jobs_seen;
        d->batch.health_buffered = (int64_t)d->q_len;
        d->batch.health_dropped = (int64_t)d->dropped;
        d->batch.health_tool_failures = (int64_t)s.tool_failures;
        d->batch.want_jobs = true;
        r = batch_params(&d->batch, d->pb, vals);
        if (r < 0)
                return log_errno(LOG_LVL_ERR, r, "batch too large, dropped", NULL);
        r = queue_drain(d, 60);
        if (r == 0)
                r = send_params(d, vals, true);
        if (r < 0) {
                /* keep it for later, but never ask for the job list again from the queue */
                vals[BATCH_N_PARAMS - 1] = "false";
                if (queue_push(d, vals) < 0)
                        log_kv(LOG_LVL_WARNING, "out of memory buffering a batch, dropped", NULL);
                if (!d->sink_down || complain_now(d))
                        (void)log_errno(LOG_LVL_WARNING, r, "sink unavailable, buffering",
                                        "buffered", i64_str(b1, sizeof(b1), (long long)d->q_len),
                                        "dropped", i64_str(b2, sizeof(b2), (long long)d->dropped),
                                        NULL);
                d->sink_down = true;
                return 0;
        }
        if (d->sink_down) {
                log_kv(LOG_LVL_NOTICE, "sink recovered", "delivered",
                       i64_str(b1, sizeof(b1), (long long)d->delivered), NULL);
                d->sink_down = false;
                d->complain_gap_usec = 0;
                d->complain_next_usec = 0;
        }
        log_kv(LOG_LVL_DEBUG, "cycle done", "jobs", i64_str(b1, sizeof(b1), (long long)s.jobs_seen),
               "samples", i64_str(b2, sizeof(b2), (long long)s.samples), "gpus",
               i64_str(b3, sizeof(b3), (long long)s.gpus), "unmapped_sluid",
               i64_str(b4, sizeof(b4), (long long)s.unmapped_sluid), "first_sightings",
               i64_str(b5, sizeof(b5), (long long)s.first_sightings), NULL);
        return 0;
}

static int parse_interval(const char *s, int64_t *ret_ms)
{
        size_t n = strlen(s);
        int64_t mult = 1000, v;

        if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
                mult = 1;
                n -= 2;
        } else if (n > 1 && s[n - 1] == 's') {
                n--;
        } else if (n > 1 && s[n - 1] == 'm') {
                mult = 60000;
                n--;
        }
        if (num_parse_i64(s, n, 1, 3600000, &v) < 0 || v * mult < 100 || v * mult > 3600000)
                return -EINVAL;
        *ret_ms = v * mult;
        return 0;
}

static int arm(int tfd, int64_t start_usec, int64_t interval_ms)
{
        struct itimerspec its = { 0 };
        int64_t first = start_usec + interval_ms * 1000;

        its.it_value.tv_sec = first / 1000000;
        its.it_value.tv_nsec = (first % 1000000) * 1000;
        its.it_interval.tv_sec = interval_ms / 1000;
        its.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
        return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static void usage(FILE *f)
{
        fputs("usage: hjo-collectord [--config FILE] [--once] [--cgroup-root DIR]\n"
              "                      [--interval 10s] [--sink db|stdout] [--node NAME]\n"
              "                      [--check-config]\n",
              f);
}

static int run_loop(struct daemon *d, int64_t interval_ms, const char *config)
{
        int sfd = -1, tfd = -1, r;
        sigset_t mask;
        char buf[24];

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (sfd < 0 || tfd < 0) {
                r = -errno;
                goto out;
        }
        r = arm(tfd, mono_usec(), interval_ms);
        if (r < 0)
                goto out;
        (void)cycle(d);
        for (;;) {
                struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
                                       { .fd = tfd, .events = POLLIN } };

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                                        log_kv(LOG_LVL_NOTICE, "stopping", "buffered",
                                               i64_str(buf, sizeof(buf), (long long)d->q_len),
                                               NULL);
                                        if (strcmp(d->sink, "db") == 0)
                                                (void)queue_drain(d, d->q_len);
                                        r = 0;
                                        goto out;
                                }
                                if (si.ssi_signo == SIGHUP) {
                                        struct cfg *nc = NULL;
                                        char err[512];

                                        if (cfg_load(config, &nc, err, sizeof(err)) < 0) {
                                                log_kv(LOG_LVL_ERR,
                                                       "reload failed, keeping the old "
                                                       "configuration",
                                                       "error", err, NULL);
                                                continue;
                                        }
                                        if (nc->collector_interval_ms != interval_ms) {
                                                interval_ms = nc->collector_interval_ms;
                                                (void)arm(tfd, mono_usec(), interval_ms);
                                        }
                                        /* node, sink, cgroup root: restart needed; the
                                           collector keeps its copies */
                                        cfg_free(nc);
                                        log_kv(LOG_LVL_NOTICE, "configuration reloaded", NULL);
                                }
                                /* SIGCHLD: children are reaped by proc_capture() */
                        }
                }
                if (p[1].revents & POLLIN) {
                        uint64_t ticks = 0;

                        if (read(tfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
                                continue;
                        if (ticks > 1) {
                                d->overruns += ticks - 1;
                                if (complain_now(d))
                                        log_kv(LOG_LVL_WARNING,
                                               "cycle overran its interval, skipped ticks",
                                               "skipped",
                                               i64_str(buf, sizeof(buf), (long long)d->overruns),
                                               NULL);
                        }
                        (void)cycle(d);
                }
        }
out:
        if (sfd >= 0)
                (void)close(sfd);
        if (tfd >= 0)
                (void)close(tfd);
        return r;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "once", no_argument, NULL, '1' },
                { "cgroup-root", required_argument, NULL, 'R' },
                { "interval", required_argument, NULL, 'i' },
                { "sink", required_argument, NULL, 's' },
                { "node", required_argument, NULL, 'n' },
                { "check-config", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct daemon d = { 0 };
        struct collector_opts o = { 0 };
        const char *config = NULL, *root = NULL, *sink = NULL, *node = NULL;
        char host[256], err[512];
        bool once = false, check = false;
        int64_t interval_ms = 0;
        enum log_level lvl = LOG_LVL_INFO;
        struct sigaction sa = { 0 };
        int opt, r, rc = 1;

        while ((opt = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case '1':
                        once = true;
                        break;
                case 'R':
                        root = optarg;
                        break;
                case 'i':
                        if (parse_interval(optarg, &interval_ms) < 0) {
                                fprintf(stderr, "hjo-collectord: bad --interval '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 's':
                        if (strcmp(optarg, "db") != 0 && strcmp(optarg, "stdout") != 0) {
                                fprintf(stderr, "hjo-collectord: --sink must be db or stdout"
                                                " (api: not built yet)\n");
                                return 2;
                        }
                        sink = optarg;
                        break;
                case 'n':
                        node = optarg;
                        break;
                case 'C':
                        check = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc) {
                usage(stderr);
                return 2;
        }
        r = cfg_load(config, &d.cfg, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "hjo-collectord: %s\n", err);
                return 1;
        }
        if (check) {
                printf("configuration ok\n");
                rc = 0;
                goto out;
        }
        if (log_level_parse(d.cfg->log_level, &lvl) < 0)
                lvl = LOG_LVL_INFO;
        log_setup("hjo-collectord", lvl);
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
        if (!interval_ms)
                interval_ms = d.cfg->collector_interval_ms;
        d.sink = sink ? sink : d.cfg->collector_sink;
        if (strcmp(d.sink, "api") == 0) {
                log_kv(LOG_LVL_ERR, "sink api is not built yet; use db or stdout", NULL);
                goto out;
        }
        if (!node)
                node = d.cfg->collector_node;
        if (!*node) {
                if (gethostname(host, sizeof(host)) < 0)
                        goto out;
                host[sizeof(host) - 1] = '\0';
                host[strcspn(host, ".")] = '\0'; /* Slurm's NodeName is the short name */
                node = host;
        }
        d.node = node;
        o.node = node;
        o.cgroup_root = root ? root : d.cfg->collector_cgroup_root;
        o.id_prefix = d.cfg->collector_job_id_prefix;
        o.gpu = d.cfg->collector_gpu;
        o.tool_path = NULL;
        o.tool_timeout_ms = (int)d.cfg->collector_tool_timeout_ms;
        o.read_memstat = true;
        o.read_pressure = true;
        o.read_io = true;
        o.allow_no_memory = strcmp(d.sink, "stdout") == 0;
        {
                const char *tp = secure_getenv("HJO_COLLECTOR_TOOL_PATH"); /* tests: fake tools */

                if (tp && *tp)
                        o.tool_path = tp;
        }
        r = collector_new(&o, &d.col);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "cannot start", NULL);
                goto out;
        }
        batch_init(&d.batch);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_init(&d.pb[i], BATCH_PARAM_MAX);
        d.q_cap = (size_t)d.cfg->collector_buffer_batches;
        if (d.q_cap) {
                d.q = calloc(d.q_cap, sizeof(*d.q));
                if (!d.q)
                        goto out;
        }
        log_kv(LOG_LVL_INFO, "starting", "node", node, "sink", d.sink, NULL);
        fetch_meta(&d);
        if (once) {
                /* A CPU percentage needs an interval: unless the database gave every job a
                   baseline, take one pass now and the sample one second later. */
                struct collect_stats ps;
                struct timespec one = { .tv_sec = 1 };

                batch_reset(&d.batch);
                collector_set_priming(d.col, true);
                if (collector_cycle(d.col, mono_usec(), rfc3339_now_usec(), &d.batch, &ps) == 0 &&
                    ps.first_sightings > 0)
                        (void)clock_nanosleep(CLOCK_MONOTONIC, 0, &one, NULL);
                collector_set_priming(d.col, false);
                r = cycle(&d);
                rc = r < 0 || d.q_len > 0 ? 1 : 0;
                goto out;
        }
        r = run_loop(&d, interval_ms, config);
        rc = r < 0 ? 1 : 0;
        if (r < 0)
                (void)log_errno(LOG_LVL_ERR, r, "event loop failed", NULL);
out:
        for (size_t i = 0; i < d.q_cap && d.q; i++)
                queued_free(&d.q[i]);
        free(d.q);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_clear(&d.pb[i]);
        batch_clear(&d.batch);
        collector_free(d.col);
        db_close(d.db);
        cfg_free(d.cfg);
        return rc;
}
