/*
 * fcgi/metrics.c: GET /metrics in the Prometheus text exposition format 0.0.4.
 * One scrape runs a fixed set of five queries in one read-only snapshot, however many jobs
 * there are: per-job series (running jobs, and finished ones for the grace period), per-GPU
 * series, node series and job counts by state; then the request counters of all workers.
 * Label values are escaped (\\, \", \n) by strbuf_add_escaped().  The page is built in a
 * bounded buffer (METRICS_MAX_BYTES) and sent with its length.
 */
#include "config.h"
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "db.h"
#include "db_slurm.h"
#include "http.h"
#include "log.h"
#include "route.h"
#include "strbuf.h"

#define METRICS_MAX_BYTES (256u * 1024 * 1024)

/* A row's column as a sample value: NULL stays absent (no line is written). */
static bool value(const struct db_res *res, int row, int col, const char **ret)
{
        if (db_res_isnull(res, row, col))
                return false;
        *ret = db_res_value(res, row, col);
        return true;
}

static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
        strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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
        /* PostgreSQL prints float8 "Infinity"/"NaN"; Prometheus wants "+Inf"/"NaN". */
        if (strcmp(val, "Infinity") == 0)
                strbuf_adds(sb, "+Inf");
        else if (strcmp(val, "-Infinity") == 0)
                strbuf_adds(sb, "-Inf");
        else
                strbuf_adds(sb, val);
        strbuf_addc(sb, '\n');
}

static const struct {
        const char *name, *help;
        int col;
} job_families[] = {
        { "hpc_job_runtime_seconds", "Seconds since the job started (until it ended).", 3 },
        { "hpc_job_cpu_usage_percent", "CPU usage of the job on the node, percent of its allocation.", 4 },
        { "hpc_job_memory_usage_bytes", "Memory used by the job on the node, bytes.", 5 },
        { "hpc_job_gpu_usage_percent", "Average GPU utilization of the job on the node, percent.", 6 },
};

static void render_jobs(struct strbuf *sb, const struct db_res *res)
{
        int n = db_res_ntuples(res);

        for (size_t f = 0; f < ARRAY_SIZE(job_families); f++) {
                family(sb, job_families[f].name, "gauge", job_families[f].help);
                for (int i = 0; i < n; i++) {
                        const char *labels[] = { "job_id", db_res_value(res, i, 0),
                                                 "user", db_res_value(res, i, 1),
                                                 "node", db_res_value(res, i, 2) };
                        const char *v;

                        if (value(res, i, job_families[f].col, &v))
                                series(sb, job_families[f].name, labels, ARRAY_SIZE(labels), v);
                }
        }
}

static const struct {
        const char *name, *type, *help;
        int col;
} counter_families[] = {
        { "hpc_job_cpu_seconds_total", "counter",
          "CPU time used by the job's cgroup on the node, seconds (collectord).", 3 },
        { "hpc_job_memory_peak_bytes", "gauge",
          "Peak memory of the job's cgroup on the node, bytes (memory.peak).", 4 },
        { "hpc_job_oom_kills_total", "counter",
          "Processes of the job killed by the OOM killer on the node (memory.events).", 5 },
};

/* Collectord's counters from the latest sample that carries them; no line when absent. */
static void render_counters(struct strbuf *sb, const struct db_res *res)
{
        int n = db_res_ntuples(res);

        for (size_t f = 0; f < ARRAY_SIZE(counter_families); f++) {
                family(sb, counter_families[f].name, counter_families[f].type,
                       counter_families[f].help);
                for (int i = 0; i < n; i++) {
                        const char *labels[] = { "job_id", db_res_value(res, i, 0),
                                                 "user", db_res_value(res, i, 1),
                                                 "node", db_res_value(res, i, 2) };
                        const char *v;

                        if (value(res, i, counter_families[f].col, &v))
                                series(sb, counter_families[f].name, labels, ARRAY_SIZE(labels),
                                       v);
                }
        }
}

static const struct {
        const char *name, *help;
        int col;
} gpu_families[] = {
        { "hpc_job_gpu_device_utilization_percent", "Utilization of one GPU of the job, percent.", 4 },
        { "hpc_job_gpu_device_memory_used_bytes", "Memory used on one GPU of the job, bytes.", 5 },
        { "hpc_job_gpu_device_power_watts", "Power draw of one GPU of the job, watts.", 6 },
        { "hpc_job_gpu_device_temperature_celsius", "Temperature of one GPU of the job, degrees Celsius.", 7 },
};

static void render_gpus(struct strbuf *sb, const struct db_res *res)
{
        int n = db_res_ntuples(res);

        for (size_t f = 0; f < ARRAY_SIZE(gpu_families); f++) {
                family(sb, gpu_families[f].name, "gauge", gpu_families[f].help);
                for (int i = 0; i < n; i++) {
                        const char *labels[] = { "job_id", db_res_value(res, i, 0),
                                                 "node", db_res_value(res, i, 1),
                                                 "gpu_vendor", db_res_value(res, i, 2),
                                                 "gpu_id", db_res_value(res, i, 3) };
                        const char *v;

                        if (value(res, i, gpu_families[f].col, &v))
                                series(sb, gpu_families[f].name, labels, ARRAY_SIZE(labels), v);
                }
        }
}

static const struct {
        const char *name, *help;
        int col;
} node_families[] = {
        { "hpc_node_cpu_usage_percent", "CPU usage of the node, percent.", 1 },
        { "hpc_node_memory_usage_bytes", "Memory used on the node, bytes.", 2 },
        { "hpc_node_job_count", "Running jobs on the node.", 3 },
};

static void render_nodes(struct strbuf *sb, const struct db_res *res)
{
        int n = db_res_ntuples(res);

        for (size_t f = 0; f < ARRAY_SIZE(node_families); f++) {
                family(sb, node_families[f].name, "gauge", node_families[f].help);
                for (int i = 0; i < n; i++) {
                        const char *labels[] = { "node", db_res_value(res, i, 0) };
                        const char *v;

                        if (value(res, i, node_families[f].col, &v))
                                series(sb, node_families[f].name, labels, ARRAY_SIZE(labels), v);
                }
        }
}

static void render_states(struct strbuf *sb, const struct db_res *res)
{
        family(sb, "hpc_jobs", "gauge", "Jobs known to hjo, by state.");
        for (int i = 0; i < db_res_ntuples(res); i++) {
                const char *labels[] = { "state", db_res_value(res, i, 0) };

                series(sb, "hpc_jobs", labels, ARRAY_SIZE(labels), db_res_value(res, i, 1));
        }
}

void api_metrics(struct http_req *req, const char *id)
{
        struct db_res *jobs = NULL, *gpus = NULL, *nodes = NULL, *states = NULL;
        struct db_res *slurm_nodes = NULL;
        struct db_res *counters = NULL;
        struct strbuf sb;
        struct timespec t0, t1;
        char grace[32];
        const char *params[1] = { grace };
        const char *node_params[1] = { "900" }; /* node samples older than 15 min are stale */
        bool in_tx = false;
        int r;

        (void)id;
        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        strbuf_init(&sb, METRICS_MAX_BYTES);
        (void)snprintf(grace, sizeof(grace), "%lld", (long long)req->cfg->metrics_grace_seconds);

        r = db_command(req->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        if (r < 0)
                goto fail;
        in_tx = true;
        r = db_exec(req->db, STMT_METRICS_JOBS, params, &jobs, NULL);
        if (r == 0)
                r = db_exec(req->db, STMT_METRICS_GPUS, params, &gpus, NULL);
        if (r == 0)
                r = db_exec(req->db, STMT_METRICS_NODES, node_params, &nodes, NULL);
        if (r == 0)
                r = db_slurm_metrics_nodes(req->db, 900, &slurm_nodes);
        if (r == 0)
                r = db_exec(req->db, STMT_METRICS_STATES, NULL, &states, NULL);
        if (r == 0)
                r = db_exec(req->db, STMT_METRICS_JOB_COUNTERS, params, &counters, NULL);
        if (r < 0)
                goto fail;
        r = db_command(req->db, "COMMIT");
        in_tx = false;
        if (r < 0)
                goto fail;

        render_jobs(&sb, jobs);
        render_counters(&sb, counters);
        render_gpus(&sb, gpus);
        render_nodes(&sb, nodes);
        db_slurm_metrics_render(&sb, slurm_nodes);
        render_states(&sb, states);
        http_stats_render(&sb, route_names(), route_count());
        family(&sb, "hjo_build_info", "gauge", "hjo version; always 1.");
        strbuf_addf(&sb, "hjo_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        family(&sb, "hjo_scrape_duration_seconds", "gauge",
               "Time this worker spent querying and rendering this page.");
        strbuf_addf(&sb, "hjo_scrape_duration_seconds %.6f\n",
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (strbuf_failed(&sb)) {
                r = -E2BIG;
                goto fail;
        }
        http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", sb.buf, sb.len, NULL);
        goto out;
fail:
        if (in_tx && db_command(req->db, "ROLLBACK") < 0)
                log_kv(LOG_LVL_WARNING, "rollback failed, ignoring", NULL);
        (void)log_errno(LOG_LVL_ERR, r, "metrics scrape failed", "req_id", req->corr_id, NULL);
        http_error_errno(req, r == -E2BIG ? -EIO : r, NULL, NULL);
out:
        db_res_free(jobs);
        db_res_free(gpus);
        db_res_free(nodes);
        db_res_free(slurm_nodes);
        db_res_free(states);
        db_res_free(counters);
        strbuf_clear(&sb);
}
