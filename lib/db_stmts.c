/*
 * lib/db_stmts.c: every SQL statement hjo's programs prepare, by id.  Values are always $n
 * parameters in text format; no SQL is ever built from input.  The data logic of the /v1 API
 * lives in the functions of sql/0002_api_functions.sql, so most statements are one call.
 */
#include "config.h"
#include "db_stmts.h"

#include <assert.h>

#include "compiler.h"
#include "db_slurm.h"

/* /metrics: one row per (job, node) of every running job and every job that ended within the
   grace period ($1 seconds), with the latest sample of that node (NULLs when none yet). */
static const char SQL_METRICS_JOBS[] =
        "SELECT j.id, coalesce(j.user_name, ''), n.node,"
        " CASE WHEN j.end_time IS NOT NULL THEN j.runtime_seconds"
        "      ELSE greatest(0, extract(epoch FROM now() - j.start_time))::double precision END,"
        " s.cpu_usage, s.memory_usage_bytes, s.gpu_usage"
        " FROM jobs j"
        " CROSS JOIN LATERAL unnest(j.nodes) AS n(node)"
        " LEFT JOIN LATERAL (SELECT m.cpu_usage, m.memory_usage_bytes, m.gpu_usage"
        "                    FROM metric_samples m WHERE m.job_id = j.id AND m.node = n.node"
        "                    ORDER BY m.ts DESC LIMIT 1) s ON true"
        " WHERE (j.state IN ('pending', 'running') AND j.start_time IS NOT NULL)"
        "    OR (j.end_time > now() - make_interval(secs => $1::int) AND j.start_time IS NOT NULL)"
        " ORDER BY j.id, n.node";

/* /metrics: the latest sample of each GPU of the same set of jobs. */
static const char SQL_METRICS_GPUS[] =
        "SELECT DISTINCT ON (g.job_id, g.node, g.gpu_id)"
        " g.job_id, g.node, g.gpu_vendor, g.gpu_id, g.utilization_percent, g.memory_used_bytes,"
        " g.power_watts, g.temperature_celsius"
        " FROM gpu_samples g JOIN jobs j ON j.id = g.job_id"
        " WHERE j.state IN ('pending', 'running')"
        "    OR j.end_time > now() - make_interval(secs => $1::int)"
        " ORDER BY g.job_id, g.node, g.gpu_id, g.ts DESC";

/* /metrics node series: db_slurm_sql_metrics_nodes_fallback in lib/db_slurm.c (the node's own
   collector sample first, then Slurm's view of the node). */

static const char SQL_METRICS_STATES[] =
        "SELECT s.state, count(j.id) FROM"
        " unnest(ARRAY['pending', 'running', 'completed', 'failed', 'cancelled']) AS s(state)"
        " LEFT JOIN jobs j ON j.state = s.state GROUP BY s.state ORDER BY s.state";

/* One interval of one node (sql/0004_collector.sql); 36 parameters, arrays in text format. */
static const char SQL_INGEST_BATCH[] =
        "SELECT kind, job_id, n, allocated_cpus, gpu_devices, cgroup_path, start_time, last_ts,"
        " last_cpu_seconds FROM hjo_ingest_batch($1, $2::timestamptz,"
        " $3::text[], $4::text[], $5::float8[], $6::bigint[], $7::float8[], $8::float8[],"
        " $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],"
        " $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::float8[],"
        " $19::float8[], $20::float8[], $21::float8[],"
        " $22::text[], $23::text[], $24::text[], $25::text[], $26::float8[], $27::bigint[],"
        " $28::bigint[], $29::float8[], $30::float8[],"
        " $31::float8, $32::bigint, $33::bigint, $34::int, $35::jsonb, $36::boolean)";

/* /metrics: the collector's counters of the same (job, node) set as SQL_METRICS_JOBS, from
   the latest sample that has them (NULLs when none). */
static const char SQL_METRICS_JOB_COUNTERS[] =
        "SELECT j.id, coalesce(j.user_name, ''), n.node, s.cpu_seconds, s.memory_peak_bytes,"
        " s.oom_kills"
        " FROM jobs j"
        " CROSS JOIN LATERAL unnest(j.nodes) AS n(node)"
        " JOIN LATERAL (SELECT m.cpu_seconds, m.memory_peak_bytes, m.oom_kills"
        "               FROM metric_samples m WHERE m.job_id = j.id AND m.node = n.node"
        "               ORDER BY m.ts DESC LIMIT 1) s ON true"
        " WHERE (j.state IN ('pending', 'running') AND j.start_time IS NOT NULL)"
        "    OR (j.end_time > now() - make_interval(secs => $1::int) AND j.start_time IS NOT NULL)"
        " ORDER BY j.id, n.node";

/* clang-format off */
static const struct db_stmt_def stmts[STMT__MAX] = {
        [STMT_PING] = { "ping", "SELECT 1", 0 },
        [STMT_JOB_STARTED] = { "job_started",
                "SELECT status, message FROM hjo_job_started($1, $2, $3::text[], $4::timestamptz,"
                " $5::int, $6::bigint, $7::int, $8, $9::text[], $10, $11, $12, $13, $14, $15)", 15 },
        [STMT_JOB_FINISHED] = { "job_finished",
                "SELECT status, message FROM hjo_job_finished($1, $2::timestamptz, $3::int,"
                " $4::int, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13)", 13 },
        [STMT_JOBS_LIST] = { "jobs_list",
                "SELECT hjo_jobs_list($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz,"
                " $8::int, $9::int)", 9 },
        [STMT_JOB_GET] = { "job_get", "SELECT hjo_job_get($1)", 1 },
        [STMT_JOB_CREATE] = { "job_create",
                "SELECT hjo_job_create($1, $2, $3::text[], $4, $5::timestamptz, $6, $7, $8::int,"
                " $9::bigint, $10::int, $11, $12::text[], $13, $14, $15, $16)", 16 },
        [STMT_JOB_PATCH] = { "job_patch",
                "SELECT hjo_job_patch($1, $2, $3::float8, $4::float8, $5::float8, $6, $7, $8)", 8 },
        [STMT_JOB_DELETE] = { "job_delete", "SELECT hjo_job_delete($1, $2, $3, $4)", 4 },
        [STMT_SAMPLE_ADD] = { "sample_add",
                "SELECT stored, node, ts FROM hjo_add_sample($1, $2, $3::timestamptz, $4::float8,"
                " $5::bigint, $6::float8)", 6 },
        [STMT_SAMPLES_LIST] = { "samples_list",
                "SELECT hjo_samples_list($1, $2::timestamptz, $3::timestamptz, $4, $5::int)", 5 },
        [STMT_METRICS_JOBS] = { "metrics_jobs", SQL_METRICS_JOBS, 1 },
        [STMT_METRICS_GPUS] = { "metrics_gpus", SQL_METRICS_GPUS, 1 },
        [STMT_METRICS_NODES] = { "metrics_nodes", db_slurm_sql_metrics_nodes_fallback, 1 },
        [STMT_METRICS_STATES] = { "metrics_states", SQL_METRICS_STATES, 0 },
        [STMT_SEED_DEMO] = { "seed_demo", "SELECT hjo_seed_demo()", 0 },
        [STMT_INGEST_BATCH] = { "ingest_batch", SQL_INGEST_BATCH, 36 },
        [STMT_METRICS_JOB_COUNTERS] = { "metrics_job_counters", SQL_METRICS_JOB_COUNTERS, 1 },
};
/* clang-format on */

const struct db_stmt_def *db_stmt_get(enum db_stmt id)
{
        assert(id < STMT__MAX);
        return &stmts[id];
}
