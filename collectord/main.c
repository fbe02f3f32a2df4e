/*
 * collectord/main.c: hjo-collectord, the per-node sampler (issue 3), and on one node per
 * cluster the Slurm instance (issue 4).
 *
 *   hjo-collectord [--config FILE] [--once] [--cgroup-root DIR] [--interval 10s]
 *                  [--sink db|api|stdout] [--node NAME] [--check-config]
 *
 * The loop (STYLE 4.13): signals are blocked and read from a signalfd; ticks come from a
 * CLOCK_MONOTONIC timerfd armed with absolute deadlines (start + k × interval), so a slow
 * cycle skips the missed ticks (counted, complained about with a growing interval) and never
 * bursts.  SIGTERM/SIGINT: deliver what is buffered (one try), move what is left to the spool
 * file when there is one, exit 0.  SIGHUP: reload the configuration; only a valid one replaces
 * the running one (reload(): interval, log level, api sink, database; the rest needs a
 * restart and is named in the log).  SIGCHLD: the GPU tools are
 * reaped by lib/proc.c itself; the signal is drained.
 *
 * Sinks.  "db": one unnamed statement per interval (hjo_ingest_batch through PQexecParams:
 * works behind PgBouncer in transaction pooling).  "api": POST /v1/samples (lib/sink_api.c),
 * the same batch as JSON, split into bodies of at most BODY_MAX_JOBS samples; a 2xx answer is
 * delivered, a 4xx other than 408/429 is a rejection (logged, counted as dropped, never
 * retried), anything else is retried later.  "stdout": one logfmt-like line per sample.
 * Undelivered batches wait in collectord/outbox.c: a bounded memory queue
 * (collector_buffer_batches), then a bounded spool file (collector_spool_file,
 * collector_spool_max_bytes), delivered oldest first on later cycles.  Buffered and dropped
 * counts go to the log and to collector_health.
 *
 * Slurm instance (collector_slurm=true with SCHEDULER_BACKEND=slurm): every
 * collector_slurm_every cycles, slurm_cycle() (collectord/slurm.c) stores slurmrestd's node
 * data and reconciles jobs, through its own database connection; its report is logged.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cfg.h"
#include "collect.h"
#include "db.h"
#include "jv.h"
#include "log.h"
#include "num.h"
#include "outbox.h"
#include "rfc3339.h"
#include "sink_api.h"
#include "slurm.h"
#include "strbuf.h"

#define BODY_MAX_JOBS 1000        /* samples per POST body: ~500 KiB, under the 1 MiB cap */
#define DRAIN_PER_CYCLE 60        /* queued batches delivered per cycle at most */
#define SPOOL_KIND_DB 0x62640001u /* "db" parameter sets */
#define SPOOL_KIND_API 0x61700001u /* POST /v1/samples bodies */
#define DELIVER_REJECTED 1        /* deliver(): the sink refused this batch for good */

enum sink_kind { SINK_DB, SINK_API, SINK_STDOUT };

struct daemon {
        struct cfg *cfg;       /* the running configuration (replaced by a SIGHUP reload) */
        struct cfg *cfg_start; /* the one at start: the node, sink name and collector options
                                  point into it, so it lives until exit */
        const char *node;
        enum sink_kind sink;
        const char *sink_name;
        struct collector *col;
        struct db *db;        /* sink db */
        struct db *slurm_db;  /* Slurm instance */
        struct sink_api *api; /* sink api */
        struct batch batch;
        struct strbuf pb[BATCH_N_PARAMS];
        struct outbox *ob;
        uint64_t rejected, delivered, overruns, unknown_total, cycles;
        int64_t complain_next_usec, complain_gap_usec;
        int64_t slurm_complain_next_usec, slurm_complain_gap_usec;
        bool sink_down;
};

static int64_t mono_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *i64_str(char *buf, size_t size, long long v)
{
        (void)snprintf(buf, size, "%lld", v);
        return buf;
}

/* Rate-limited complaint (STYLE 4.11): the first at once, then 1 min, 2 min, … up to 1 h. */
static bool complain_gen(int64_t *next, int64_t *gap)
{
        int64_t now = mono_usec();

        if (now < *next)
                return false;
        *gap = *gap ? *gap * 2 : 60000000;
        if (*gap > INT64_C(3600000000))
                *gap = INT64_C(3600000000);
        *next = now + *gap;
        return true;
}

static bool complain_now(struct daemon *d)
{
        return complain_gen(&d->complain_next_usec, &d->complain_gap_usec);
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

/* ---- encoding one batch for the outbox -------------------------------------------------- */

/*
 * A db parameter set as one record: for each of the BATCH_N_PARAMS values a byte 0 (SQL NULL)
 * or 1 followed by the text and its NUL.  Decoded in place: vals[] point into the record.
 */
static int params_encode(const char *const *vals, struct strbuf *sb)
{
        strbuf_reset(sb);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++) {
                strbuf_addc(sb, vals[i] ? '\1' : '\0');
                if (vals[i]) {
                        strbuf_adds(sb, vals[i]);
                        strbuf_addc(sb, '\0');
                }
        }
        return strbuf_failed(sb) ? -E2BIG : 0;
}

static int params_decode(const char *buf, size_t len, const char **vals)
{
        size_t off = 0;

        for (size_t i = 0; i < BATCH_N_PARAMS; i++) {
                const char *nul;

                if (off >= len)
                        return -EBADMSG;
                if (buf[off++] == '\0') {
                        vals[i] = NULL;
                        continue;
                }
                nul = memchr(buf + off, '\0', len - off);
                if (!nul)
                        return -EBADMSG;
                vals[i] = buf + off;
                off = (size_t)(nul - buf) + 1;
        }
        return off == len ? 0 : -EBADMSG;
}

/* ---- the api sink's answers ---------------------------------------------------------------- */

struct ans_job {
        char *job_id, *cgroup, *start, *last;
        struct jv_strarr devs;
        int64_t cpus;
        double last_cpu;
        bool has_cpus, has_last_cpu;
};

/* clang-format off */
#define AF(m) offsetof(struct ans_job, m)
static const struct jv_field ans_job_fields[] = {
        { "job_id", JV_STR, AF(job_id), JV_NO_HAS, JV_REQUIRED, 1, 272, 0, 0, 0, NULL },
        { "allocated_cpus", JV_I64, AF(cpus), AF(has_cpus), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { "gpu_devices", JV_STRARR, AF(devs), JV_NO_HAS, JV_NULLABLE, 1, 128, 0, 0, 64, NULL },
        { "cgroup_path", JV_STR, AF(cgroup), JV_NO_HAS, JV_NULLABLE, 1, 4096, 0, 0, 0, NULL },
        { "start_time", JV_STR, AF(start), JV_NO_HAS, JV_NULLABLE, 1, 64, 0, 0, 0, NULL },
        { "last_sample_at", JV_STR, AF(last), JV_NO_HAS, JV_NULLABLE, 1, 64, 0, 0, 0, NULL },
        { "last_cpu_seconds", JV_DOUBLE, AF(last_cpu), AF(has_last_cpu), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { 0 },
};
#undef AF
/* clang-format on */

struct ans_rej {
        char *job_id, *reason;
};

/* clang-format off */
static const struct jv_field ans_rej_fields[] = {
        { "job_id", JV_STR, offsetof(struct ans_rej, job_id), JV_NO_HAS, JV_REQUIRED, 1, 272, 0, 0, 0, NULL },
        { "reason", JV_STR, offsetof(struct ans_rej, reason), JV_NO_HAS, JV_REQUIRED, 1, 32, 0, 0, 0, NULL },
        { 0 },
};
/* clang-format on */

static void meta_from_answer(struct daemon *d, const struct jv *el)
{
        struct ans_job j = { 0 };
        struct strbuf devs;

        strbuf_init(&devs, 64 * 130);
        if (jv_dispatch(el, ans_job_fields, JV_ALLOW_UNKNOWN, &j, NULL, NULL) < 0)
                goto out;
        for (size_t i = 0; i < j.devs.n; i++) {
                if (i)
                        strbuf_addc(&devs, ',');
                strbuf_adds(&devs, j.devs.v[i]);
        }
        if (collector_meta_job(d->col, j.job_id, j.has_cpus ? j.cpus : 0,
                               devs.len ? devs.buf : NULL, j.cgroup, parse_ts(j.start),
                               parse_ts(j.last), j.has_last_cpu ? j.last_cpu : 0,
                               j.has_last_cpu && j.last) < 0)
                log_kv(LOG_LVL_WARNING, "out of memory for job metadata, ignoring", "job_id",
                       j.job_id, NULL);
out:
        strbuf_clear(&devs);
        jv_dispatch_clear(ans_job_fields, &j);
}

/* Reads a 2xx answer of POST /v1/samples: rejected jobs are logged, job metadata kept. */
static void read_answer(struct daemon *d, const char *body, size_t len, bool want_jobs)
{
        struct jv *root = NULL, *arr = NULL;
        int r;

        r = jv_parse(body, len, SINK_API_RESP_MAX, 8, &root);
        if (r < 0 || !jv_is_object(root)) {
                log_kv(LOG_LVL_WARNING, "unreadable answer from the API, ignoring", "source",
                       "api", NULL);
                goto out;
        }
        if (jv_member(root, "rejected", &arr) == 0) {
                for (size_t i = 0; i < jv_array_len(arr); i++) {
                        struct ans_rej x = { 0 };
                        struct jv *el = NULL;

                        if (jv_array_get(arr, i, &el) == 0 &&
                            jv_dispatch(el, ans_rej_fields, JV_ALLOW_UNKNOWN, &x, NULL, NULL) ==
                                    0) {
                                if (strcmp(x.reason, "unknown") == 0)
                                        d->unknown_total++;
                                log_kv(LOG_LVL_INFO,
                                       strcmp(x.reason, "unknown") == 0
                                               ? "sample of a job hjo does not know, skipping"
                                               : "sample after the job's end, skipping",
                                       "source", "cgroup", "job_id", x.job_id, NULL);
                        }
                        jv_dispatch_clear(ans_rej_fields, &x);
                        jv_free(el);
                }
                jv_free(arr);
                arr = NULL;
        }
        if (want_jobs && jv_member(root, "jobs", &arr) == 0 && jv_is_array(arr)) {
                collector_meta_begin(d->col);
                for (size_t i = 0; i < jv_array_len(arr); i++) {
                        struct jv *el = NULL;

                        if (jv_array_get(arr, i, &el) == 0)
                                meta_from_answer(d, el);
                        jv_free(el);
                }
        }
out:
        jv_free(arr);
        jv_free(root);
}

/* ---- delivery -------------------------------------------------------------------------------- */

/* Whether a db parameter set / api body asks for the node's jobs. */
static bool params_want_jobs(const char *const *vals)
{
        return vals[BATCH_N_PARAMS - 1] && strcmp(vals[BATCH_N_PARAMS - 1], "true") == 0;
}

static bool body_wants_jobs(const char *body)
{
        return strstr(body, "\"want_jobs\":true") != NULL; /* our own PLAIN serialization */
}

/*
 * Delivers one record.  0 delivered, DELIVER_REJECTED (the sink refused it for good: logged),
 * or -errno (try again later; the database connection is dropped on -ENOTCONN).
 */
static int deliver(struct daemon *d, const char *buf, size_t len)
{
        const char *vals[BATCH_N_PARAMS];
        struct sink_api_resp resp = { 0 };
        char st[16];
        int r;

        if (d->sink == SINK_DB) {
                r = params_decode(buf, len, vals);
                if (r < 0)
                        return log_errno(LOG_LVL_ERR, r, "corrupt buffered batch, dropped", NULL),
                               DELIVER_REJECTED;
                r = send_params(d, vals, params_want_jobs(vals));
                return r == -EINVAL ? DELIVER_REJECTED : r; /* HJ400, 22xxx: never accepted */
        }
        r = sink_api_post(d->api, buf, len, &resp);
        if (r == -EPERM || r == -EACCES || r == -ENOENT || r == -EINVAL) {
                if (complain_now(d))
                        (void)log_errno(LOG_LVL_ERR, r,
                                        "token file unusable (it must exist, hold one token and "
                                        "not be accessible by group or other)",
                                        "file", d->cfg->collector_token_file, NULL);
                return -EACCES;
        }
        if (r < 0)
                return r;
        (void)snprintf(st, sizeof(st), "%ld", resp.status);
        switch (sink_api_classify(resp.status)) {
        case SINK_API_DELIVERED:
                read_answer(d, resp.body, resp.len, body_wants_jobs(buf));
                r = 0;
                break;
        case SINK_API_REJECTED:
                log_kv(LOG_LVL_ERR, "batch rejected by the API, dropped", "source", "api",
                       "status", st, "answer", resp.len < 512 ? resp.body : "(long)", NULL);
                r = DELIVER_REJECTED;
                break;
        case SINK_API_RETRY:
                r = -EAGAIN;
                if (complain_now(d))
                        log_kv(LOG_LVL_WARNING, "the API cannot take the batch now, retrying",
                               "source", "api", "status", st, NULL);
                break;
        }
        sink_api_resp_clear(&resp);
        return r;
}

static void count_drops(struct daemon *d, size_t n, const char *why)
{
        char b1[24], b2[24];

        if (n == 0)
                return;
        log_kv(LOG_LVL_WARNING, "buffer full, oldest batches dropped", "dropped_now",
               i64_str(b1, sizeof(b1), (long long)n), "dropped",
               i64_str(b2, sizeof(b2), (long long)(outbox_dropped(d->ob) + d->rejected)),
               "where", why, NULL);
}

/* Delivers queued records oldest first; stops at the first that must wait. */
static int drain(struct daemon *d, size_t max)
{
        const char *buf;
        size_t len;
        int r = 0;

        while (max-- > 0) {
                r = outbox_peek(d->ob, &buf, &len);
                if (r == -ENOENT)
                        return 0;
                if (r == -EBADMSG) {
                        log_kv(LOG_LVL_ERR, "corrupt spool record, dropped", NULL);
                        r = outbox_pop(d->ob, true);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return log_errno(LOG_LVL_ERR, r, "cannot read the spool", NULL);
                r = deliver(d, buf, len);
                if (r < 0)
                        return r;
                r = outbox_pop(d->ob, r == DELIVER_REJECTED);
                if (r < 0)
                        return log_errno(LOG_LVL_ERR, r, "cannot update the spool", NULL);
                d->delivered++;
        }
        return 0;
}

/*
 * The records of the current batch: one db parameter set, or api bodies of at most
 * BODY_MAX_JOBS samples (the first carries GPUs, node sample and health).  `live`: the last
 * record asks for the node's jobs (a queued record never does: its answer would be stale).
 */
struct records {
        char **v;
        size_t *len, n;
};

static void records_clear(struct records *rs)
{
        for (size_t i = 0; i < rs->n; i++)
                free(rs->v[i]);
        free(rs->v);
        free(rs->len);
        memset(rs, 0, sizeof(*rs));
}

static int records_build(struct daemon *d, bool live, struct records *rs)
{
        size_t n = d->sink == SINK_DB ? 1
                                      : (d->batch.n_jobs + BODY_MAX_JOBS - 1) / BODY_MAX_JOBS;
        int r = 0;

        if (n == 0)
                n = 1;
        rs->v = calloc(n, sizeof(*rs->v));
        rs->len = calloc(n, sizeof(*rs->len));
        if (!rs->v || !rs->len)
                return -ENOMEM;
        if (d->sink == SINK_DB) {
                const char *vals[BATCH_N_PARAMS];
                struct strbuf sb;

                d->batch.want_jobs = live;
                r = batch_params(&d->batch, d->pb, vals);
                strbuf_init(&sb, (size_t)BATCH_N_PARAMS * BATCH_PARAM_MAX);
                if (r == 0)
                        r = params_encode(vals, &sb);
                rs->len[0] = sb.len;
                rs->v[0] = r == 0 ? strbuf_take(&sb) : NULL;
                strbuf_clear(&sb);
                if (r == 0 && !rs->v[0])
                        r = -ENOMEM;
                if (r == 0)
                        rs->n = 1;
                return r;
        }
        for (size_t i = 0; i < n && r == 0; i++) {
                r = batch_json(&d->batch, i * BODY_MAX_JOBS, BODY_MAX_JOBS, i == 0,
                               live && i == n - 1, &rs->v[i], &rs->len[i]);
                if (r == 0)
                        rs->n = i + 1;
        }
        return r;
}

/* Queues records [from, n) of the current batch, rebuilt without the job request. */
static void queue_rest(struct daemon *d, size_t from)
{
        struct records rs = { 0 };
        size_t dropped;
        int r;

        r = records_build(d, /* live= */ false, &rs);
        if (r < 0) {
                d->rejected++;
                (void)log_errno(LOG_LVL_ERR, r, "cannot buffer a batch, dropped", NULL);
                goto out;
        }
        for (size_t i = from; i < rs.n; i++) {
                r = outbox_push(d->ob, rs.v[i], rs.len[i], &dropped);
                count_drops(d, dropped, r < 0 ? "spool write failed" : "queue");
                if (r < 0 && r != -E2BIG)
                        (void)log_errno(LOG_LVL_ERR, r, "cannot write the spool file", "file",
                                        d->cfg->collector_spool_file, NULL);
        }
out:
        records_clear(&rs);
}

/* Delivers the current batch after the queue, or queues it.  0 delivered, or -errno. */
static int submit(struct daemon *d)
{
        struct records rs = { 0 };
        size_t i = 0;
        int r;

        r = drain(d, DRAIN_PER_CYCLE);
        if (r == 0 && outbox_len(d->ob) > 0)
                r = -EAGAIN; /* more queued than one cycle delivers: keep the order */
        if (r == 0) {
                r = records_build(d, /* live= */ true, &rs);
                if (r < 0) {
                        d->rejected++;
                        records_clear(&rs);
                        return log_errno(LOG_LVL_ERR, r, "batch too large, dropped", NULL), 0;
                }
                for (; i < rs.n; i++) {
                        r = deliver(d, rs.v[i], rs.len[i]);
                        if (r < 0)
                                break;
                        if (r == DELIVER_REJECTED)
                                d->rejected++;
                        r = 0;
                }
        }
        if (r < 0)
                queue_rest(d, i);
        records_clear(&rs);
        return r;
}

static void print_batch(const struct batch *b)
{
        char ts[RFC3339_BUFSZ];

        (void)rfc3339_format(b->ts_usec, ts, sizeof(ts));
        for (size_t i = 0; i < b->n_jobs; i++) {
                const struct batch_job *j = &b->jobs[i];

                printf("sample ts=%s node=%s job_id=%s", ts, j->node[0] ? j->node : b->node,
                       j->job_id);
                if (j->has_cpu)
                        printf(" cpu_pct=%.3f", j->cpu_pct);
                if (cg_has(&j->cg, CG_CPU_USAGE))
                        printf(" cpu_seconds=%.6f", (double)j->cg.v[CG_CPU_USAGE] / 1e6);
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

/* Asks the sink for the node's jobs (an empty batch with want_jobs). */
static void fetch_meta(struct daemon *d)
{
        struct records rs = { 0 };
        int r;

        if (d->sink == SINK_STDOUT)
                return;
        batch_reset(&d->batch);
        (void)snprintf(d->batch.node, sizeof(d->batch.node), "%s", d->node);
        d->batch.ts_usec = rfc3339_now_usec();
        r = records_build(d, /* live= */ true, &rs);
        if (r == 0)
                r = deliver(d, rs.v[0], rs.len[0]);
        if (r != 0)
                (void)log_errno(LOG_LVL_WARNING, r < 0 ? r : -EPROTO,
                                "cannot read the node's jobs yet, continuing", "node", d->node,
                                NULL);
        records_clear(&rs);
}

/* The Slurm instance: one slurm_cycle() with its own connection, its report logged. */
static void slurm_part(struct daemon *d)
{
        struct slurm_ctx ctx = { 0 };
        struct slurm_report rep;
        char v[10][24];
        int r;

        if (!d->slurm_db) {
                r = db_open(d->cfg->database_url, "hjo-collectord-slurm",
                            d->cfg->statement_timeout_ms, &d->slurm_db);
                if (r < 0) {
                        if (complain_gen(&d->slurm_complain_next_usec,
                                         &d->slurm_complain_gap_usec))
                                (void)log_errno(LOG_LVL_WARNING, r,
                                                "slurm: database unavailable, skipping",
                                                "source", "slurm", NULL);
                        return;
                }
        }
        ctx.base_url = d->cfg->slurm_base_url;
        ctx.api_version = d->cfg->slurm_api_version;
        ctx.user_name = d->cfg->slurm_user;
        ctx.token_file = d->cfg->slurm_token_file;
        ctx.cluster = *d->cfg->cluster_name ? d->cfg->cluster_name : NULL;
        r = slurm_cycle(&ctx, d->slurm_db, &rep);
        if (r == -ENOTCONN && (rep.nodes_err == -ENOTCONN || rep.jobs_err == -ENOTCONN)) {
                /* slurmrestd or the database: a fresh connection next time costs little */
                db_close(d->slurm_db);
                d->slurm_db = NULL;
        }
        log_kv(r < 0 ? LOG_LVL_WARNING : LOG_LVL_INFO,
               r < 0 ? "slurm cycle failed" : "slurm cycle done", "source", "slurm", "nodes",
               i64_str(v[0], sizeof(v[0]), (long long)rep.n_nodes), "jobs",
               i64_str(v[1], sizeof(v[1]), (long long)rep.n_jobs), "closed",
               i64_str(v[2], sizeof(v[2]), (long long)rep.n_closed), "created",
               i64_str(v[3], sizeof(v[3]), (long long)rep.n_created), "updated",
               i64_str(v[4], sizeof(v[4]), (long long)rep.n_updated), "corrected",
               i64_str(v[5], sizeof(v[5]), (long long)rep.n_corrected), "missing",
               i64_str(v[6], sizeof(v[6]), (long long)rep.n_missing), "unresolved",
               i64_str(v[7], sizeof(v[7]), (long long)rep.n_unresolved), "errors",
               i64_str(v[8], sizeof(v[8]), (long long)rep.n_errors), "http_status",
               i64_str(v[9], sizeof(v[9]), (long long)rep.http_status), "nodes_err",
               rep.nodes_err < 0 ? strerrorname_np(-rep.nodes_err) : "0", "jobs_err",
               rep.jobs_err < 0 ? strerrorname_np(-rep.jobs_err) : "0", "field",
               rep.err_field ? rep.err_field : "", NULL);
}

static int cycle(struct daemon *d)
{
        struct collect_stats s;
        char b1[24], b2[24], b3[24], b4[24], b5[24];
        int64_t t0 = mono_usec(), wall = rfc3339_now_usec();
        bool slurm_turn = d->cfg->collector_slurm &&
                          d->cycles % (uint64_t)d->cfg->collector_slurm_every == 0;
        int r;

        d->cycles++;
        if (slurm_turn)
                slurm_part(d);
        batch_reset(&d->batch);
        r = collector_cycle(d->col, t0, wall, &d->batch, &s);
        if (r < 0) {
                if (!d->cfg->collector_slurm || complain_now(d))
                        (void)log_errno(LOG_LVL_ERR, r, "sampling failed", "source", "cgroup",
                                        NULL);
                return r;
        }
        if (s.last_tool_error < 0 && complain_now(d))
                (void)log_errno(LOG_LVL_WARNING, s.last_tool_error, "GPU tool failed, skipping",
                                "source", s.last_tool, "tool_failures",
                                i64_str(b1, sizeof(b1), (long long)s.tool_failures), NULL);
        if (d->sink == SINK_STDOUT) {
                print_batch(&d->batch);
                return 0;
        }
        d->batch.has_health = true;
        d->batch.health_cycle_ms = (double)(mono_usec() - t0) / 1000.0;
        d->batch.health_jobs_seen = (int64_t)s.jobs_seen;
        d->batch.health_buffered = (int64_t)outbox_len(d->ob);
        d->batch.health_dropped = (int64_t)(outbox_dropped(d->ob) + d->rejected);
        d->batch.health_tool_failures = (int64_t)s.tool_failures;
        r = submit(d);
        if (r < 0) {
                bool first = !d->sink_down;

                if (complain_now(d) || first) /* at once, then at growing intervals */
                        (void)log_errno(LOG_LVL_WARNING, r, "sink unavailable, buffering",
                                        "sink", d->sink_name, "buffered",
                                        i64_str(b1, sizeof(b1), (long long)outbox_len(d->ob)),
                                        "spooled",
                                        i64_str(b3, sizeof(b3),
                                                (long long)outbox_spool_len(d->ob)),
                                        "dropped",
                                        i64_str(b2, sizeof(b2),
                                                (long long)(outbox_dropped(d->ob) + d->rejected)),
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

/* Stopping: one more delivery try, then what is left in memory goes to the spool. */
static void flush_on_stop(struct daemon *d)
{
        char b1[24], b2[24];
        size_t dropped = 0;
        int r = 0;

        if (d->sink == SINK_STDOUT || outbox_len(d->ob) == 0)
                return;
        r = drain(d, outbox_len(d->ob));
        if (r < 0 && outbox_mem_len(d->ob) > 0) {
                r = outbox_save(d->ob, &dropped);
                count_drops(d, dropped, "spool");
                if (r < 0 && r != -ENOENT)
                        (void)log_errno(LOG_LVL_ERR, r, "cannot save the queue to the spool",
                                        NULL);
        }
        if (outbox_len(d->ob) > 0)
                log_kv(LOG_LVL_WARNING,
                       outbox_mem_len(d->ob) > 0 ? "undelivered batches lost at exit"
                                                 : "undelivered batches kept in the spool",
                       "in_memory", i64_str(b1, sizeof(b1), (long long)outbox_mem_len(d->ob)),
                       "spooled", i64_str(b2, sizeof(b2), (long long)outbox_spool_len(d->ob)),
                       NULL);
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

static bool str_changed(const char *a, const char *b)
{
        return strcmp(a ? a : "", b ? b : "") != 0;
}

/* The settings only a restart applies: named in the log when a reload changes them. */
static void restart_only(const struct cfg *o, const struct cfg *n, struct strbuf *sb)
{
#define STR_KEY(f) { #f, str_changed(o->f, n->f) }
#define NUM_KEY(f) { #f, o->f != n->f }
        const struct {
                const char *name;
                bool changed;
        } k[] = {
                STR_KEY(collector_node),          STR_KEY(collector_sink),
                STR_KEY(collector_cgroup_root),   STR_KEY(collector_job_id_prefix),
                STR_KEY(collector_gpu),           STR_KEY(collector_spool_file),
                NUM_KEY(collector_spool_max_bytes), NUM_KEY(collector_buffer_batches),
                NUM_KEY(collector_slow_every),    NUM_KEY(collector_tool_timeout_ms),
        };
#undef STR_KEY
#undef NUM_KEY

        for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
                if (!k[i].changed)
                        continue;
                if (sb->len)
                        strbuf_addc(sb, ',');
                strbuf_adds(sb, k[i].name);
        }
}

/*
 * SIGHUP.  A configuration that loads and validates replaces the running one, and these take
 * effect at once: the interval (the timer is re-armed), the log level, the api sink's URL,
 * token file, CA file and timeout (a new client; a token file others can read is refused as at
 * start, and then nothing of the new configuration is applied), the database URL and statement
 * timeout of the db sink (the connection is closed; the next delivery opens the new one), and
 * the Slurm instance's settings (read each Slurm cycle).  The node, the sink, the cgroup root,
 * the job id prefix, the GPU mode and tool timeout, slow_every, and the spool file and buffer
 * sizes need a restart: changing them is logged (restart_needed=…) and ignored.
 * 0 or -errno (the old configuration is kept, the error logged).
 */
static int reload(struct daemon *d, const char *config, int64_t *interval_ms, int tfd)
{
        struct cfg *nc = NULL;
        struct sink_api *api = NULL;
        struct strbuf changed, later;
        enum log_level lvl;
        char err[512];
        int r;

        strbuf_init(&changed, 1024);
        strbuf_init(&later, 1024);
        r = cfg_load(config, &nc, err, sizeof(err));
        if (r < 0) {
                log_kv(LOG_LVL_ERR, "reload failed, keeping the old configuration", "error", err,
                       NULL);
                goto out;
        }
        if (d->sink == SINK_API &&
            (str_changed(d->cfg->collector_api_url, nc->collector_api_url) ||
             str_changed(d->cfg->collector_token_file, nc->collector_token_file) ||
             str_changed(d->cfg->collector_ca_file, nc->collector_ca_file) ||
             d->cfg->collector_api_timeout_ms != nc->collector_api_timeout_ms)) {
                struct sink_api_opts ao = {
                        .base_url = nc->collector_api_url,
                        .token_file = nc->collector_token_file,
                        .ca_file = nc->collector_ca_file,
                        .timeout_ms = nc->collector_api_timeout_ms,
                };
                char tok[SINK_API_TOKEN_MAX];

                r = *ao.token_file ? sink_api_read_token(ao.token_file, tok, sizeof(tok)) : 0;
                explicit_bzero(tok, sizeof(tok));
                if (r == 0)
                        r = sink_api_new(&ao, &api);
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r,
                                        r == -EPERM ? "reload failed: token file is accessible "
                                                      "by group or other (chmod 0600), keeping "
                                                      "the old configuration"
                                                    : "reload failed: the API sink settings are "
                                                      "unusable, keeping the old configuration",
                                        "file", nc->collector_token_file, NULL);
                        goto out;
                }
                strbuf_adds(&changed, "api_sink");
        }
        restart_only(d->cfg, nc, &later);
        if (api) {
                sink_api_free(d->api);
                d->api = api;
                api = NULL;
        }
        if (str_changed(d->cfg->database_url, nc->database_url) ||
            d->cfg->statement_timeout_ms != nc->statement_timeout_ms) {
                db_close(d->db); /* reconnects with the new settings at the next delivery */
                d->db = NULL;
                db_close(d->slurm_db);
                d->slurm_db = NULL;
                strbuf_adds(&changed, changed.len ? ",database" : "database");
        }
        if (nc->collector_interval_ms != *interval_ms) {
                *interval_ms = nc->collector_interval_ms;
                (void)arm(tfd, mono_usec(), *interval_ms);
                strbuf_adds(&changed, changed.len ? ",interval" : "interval");
        }
        if (str_changed(d->cfg->log_level, nc->log_level) &&
            log_level_parse(nc->log_level, &lvl) == 0) {
                log_setup("hjo-collectord", lvl);
                strbuf_adds(&changed, changed.len ? ",log_level" : "log_level");
        }
        if (d->cfg != d->cfg_start)
                cfg_free(d->cfg);
        d->cfg = nc;
        nc = NULL;
        log_kv(LOG_LVL_NOTICE, "configuration reloaded", "applied",
               changed.len ? changed.buf : "none", "restart_needed",
               later.len ? later.buf : "none", NULL);
        r = 0;
out:
        sink_api_free(api);
        cfg_free(nc);
        strbuf_clear(&changed);
        strbuf_clear(&later);
        return r;
}

static void usage(FILE *f)
{
        fputs("usage: hjo-collectord [--config FILE] [--once] [--cgroup-root DIR]\n"
              "                      [--interval 10s] [--sink db|api|stdout] [--node NAME]\n"
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
                                               i64_str(buf, sizeof(buf),
                                                       (long long)outbox_len(d->ob)),
                                               NULL);
                                        flush_on_stop(d);
                                        r = 0;
                                        goto out;
                                }
                                if (si.ssi_signo == SIGHUP)
                                        (void)reload(d, config, &interval_ms, tfd);
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
                        if (strcmp(optarg, "db") != 0 && strcmp(optarg, "api") != 0 &&
                            strcmp(optarg, "stdout") != 0) {
                                fprintf(stderr, "hjo-collectord: --sink must be db, api or"
                                                " stdout\n");
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
        d.cfg_start = d.cfg;
        if (check) {
                printf("configuration ok\n");
                rc = 0;
                goto out;
        }
        if (log_level_parse(d.cfg->log_level, &lvl) < 0)
                lvl = LOG_LVL_INFO;
        log_setup("hjo-collectord", lvl);
        /* No core dumps: memory holds the DSN, the API token and the Slurm JWT. */
        {
                const struct rlimit no_core = { 0, 0 };

                if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
                        log_kv(LOG_LVL_WARNING, "cannot disable core dumps, ignoring", NULL);
        }
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
        if (!interval_ms)
                interval_ms = d.cfg->collector_interval_ms;
        d.sink_name = sink ? sink : d.cfg->collector_sink;
        d.sink = strcmp(d.sink_name, "db") == 0    ? SINK_DB
                 : strcmp(d.sink_name, "api") == 0 ? SINK_API
                                                   : SINK_STDOUT;
        if (d.cfg->collector_slurm && strcmp(d.cfg->scheduler_backend, "slurm") != 0) {
                log_kv(LOG_LVL_ERR, "collector_slurm needs SCHEDULER_BACKEND=slurm", NULL);
                goto out;
        }
        if (d.sink == SINK_API) {
                struct sink_api_opts ao = {
                        .base_url = d.cfg->collector_api_url,
                        .token_file = d.cfg->collector_token_file,
                        .ca_file = d.cfg->collector_ca_file,
                        .timeout_ms = d.cfg->collector_api_timeout_ms,
                };
                char tok[SINK_API_TOKEN_MAX];

                /* refuse a token file others can read now, not at the first delivery */
                r = *ao.token_file ? sink_api_read_token(ao.token_file, tok, sizeof(tok)) : 0;
                explicit_bzero(tok, sizeof(tok));
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r,
                                        r == -EPERM ? "token file is accessible by group or "
                                                      "other, refusing it (chmod 0600)"
                                                    : "cannot read the token file",
                                        "file", ao.token_file, NULL);
                        goto out;
                }
                r = sink_api_new(&ao, &d.api);
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r, "cannot set up the API sink", NULL);
                        goto out;
                }
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
        o.allow_no_memory = d.sink == SINK_STDOUT;
        o.slow_every = (unsigned)d.cfg->collector_slow_every;
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
        {
                size_t cut = 0;

                r = outbox_new((size_t)d.cfg->collector_buffer_batches,
                               d.sink == SINK_STDOUT ? NULL : d.cfg->collector_spool_file,
                               d.sink == SINK_API ? SPOOL_KIND_API : SPOOL_KIND_DB,
                               (uint64_t)d.cfg->collector_spool_max_bytes, &d.ob, &cut);
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r,
                                        r == -EPROTO ? "spool file was written by another sink"
                                                     : "cannot open the spool file",
                                        "file", d.cfg->collector_spool_file, NULL);
                        goto out;
                }
                if (cut > 0)
                        log_kv(LOG_LVL_WARNING, "corrupt spool tail cut, dropped", "file",
                               d.cfg->collector_spool_file, NULL);
        }
        {
                char b1[24];

                log_kv(LOG_LVL_INFO, "starting", "node", node, "sink", d.sink_name, "spooled",
                       i64_str(b1, sizeof(b1), (long long)outbox_spool_len(d.ob)), NULL);
        }
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
                rc = r < 0 || outbox_len(d.ob) > 0 ? 1 : 0;
                flush_on_stop(&d);
                goto out;
        }
        r = run_loop(&d, interval_ms, config);
        rc = r < 0 ? 1 : 0;
        if (r < 0)
                (void)log_errno(LOG_LVL_ERR, r, "event loop failed", NULL);
out:
        outbox_free(d.ob);
        sink_api_free(d.api);
        db_close(d.slurm_db);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_clear(&d.pb[i]);
        batch_clear(&d.batch);
        collector_free(d.col);
        db_close(d.db);
        if (d.cfg != d.cfg_start)
                cfg_free(d.cfg);
        cfg_free(d.cfg_start);
        return rc;
}
