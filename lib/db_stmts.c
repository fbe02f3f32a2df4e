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

/*
 * /metrics per-job series, streamed (fcgi/metrics.c): the (job, node) pairs of every running
 * job and every job that ended within the grace period ($1 seconds), with the latest sample of
 * that node (metric_latest, sql/0050: one index lookup, where "ORDER BY ts DESC LIMIT 1" on the
 * partitioned metric_samples probes every partition), unpivoted into one row per series:
 * (family, job_id, user, node, value as text).
 * The rows come grouped by family (0 runtime, 1 cpu, 2 memory, 3 gpu, 4 cpu seconds, 5 memory
 * peak, 6 OOM kills; absent values give no row) and, within a family, ordered by job and node:
 * the CTE is computed once, in that order, and each UNION ALL branch scans it in turn.  The
 * exposition format wants each family's lines together, and this way the worker can write
 * them as they come without holding the page.  fcgi/metrics.c checks the family order.
 * The runtime is computed once per job (the OFFSET 0 keeps it below the join with the nodes)
 * and every value is converted to text once, in the CTE: 59 against 64 ms for 10,000 jobs.
 *
 * The join with metric_latest is the planner's: with the running jobs' rows only, as in the
 * benchmark, a hash join reads it faster than one index scan per job (64 against 95 ms before
 * the table has statistics, 60 against 69 after).  metric_latest keeps the rows of finished
 * jobs until they are deleted, though, so that join grows with every job there ever was (0.29
 * s with 300,000 finished jobs, where one index scan per job takes 0.08 s); see
 * docs/performance.md.
 */
static const char SQL_METRICS_JOBS[] =
        "WITH s AS MATERIALIZED ("
        " SELECT j.id, j.u, n.node, j.runtime,"
        "  m.cpu_usage::text AS cpu, m.memory_usage_bytes::text AS mem, m.gpu_usage::text AS gpu,"
        "  m.cpu_seconds::text AS cpu_s, m.memory_peak_bytes::text AS mem_peak,"
        "  m.oom_kills::text AS oom"
        " FROM (SELECT id, coalesce(user_name, '') AS u, nodes,"
        "        (CASE WHEN end_time IS NOT NULL THEN runtime_seconds"
        "              ELSE greatest(0, extract(epoch FROM now() - start_time))::double precision"
        "         END)::text AS runtime"
        "       FROM jobs"
        "       WHERE (state IN ('pending', 'running') AND start_time IS NOT NULL)"
        "          OR (end_time > now() - make_interval(secs => $1::int)"
        "              AND start_time IS NOT NULL)"
        "       OFFSET 0) j"
        " CROSS JOIN LATERAL unnest(j.nodes) AS n(node)"
        " LEFT JOIN metric_latest m ON m.job_id = j.id AND m.node = n.node"
        " ORDER BY j.id, n.node)"
        " SELECT 0 AS f, id, u, node, runtime FROM s WHERE runtime IS NOT NULL"
        " UNION ALL SELECT 1, id, u, node, cpu FROM s WHERE cpu IS NOT NULL"
        " UNION ALL SELECT 2, id, u, node, mem FROM s WHERE mem IS NOT NULL"
        " UNION ALL SELECT 3, id, u, node, gpu FROM s WHERE gpu IS NOT NULL"
        " UNION ALL SELECT 4, id, u, node, cpu_s FROM s WHERE cpu_s IS NOT NULL"
        " UNION ALL SELECT 5, id, u, node, mem_peak FROM s WHERE mem_peak IS NOT NULL"
        " UNION ALL SELECT 6, id, u, node, oom FROM s WHERE oom IS NOT NULL";

/* /metrics per-GPU series, streamed the same way: the latest sample of each GPU of the same
   set of jobs, from gpu_latest (sql/0062), where a DISTINCT ON over gpu_samples sorted every
   sample of every running job in every partition (77 against 91 ms for the benchmark's one
   sample per GPU; a day of 30-second samples is 2,880 per GPU); one row per series (family 0
   utilization, 1 memory used, 2 power, 3 temperature; job_id, node, gpu_vendor, gpu_id, value
   as text).  The join is the planner's, as above. */
static const char SQL_METRICS_GPUS[] =
        "WITH g AS MATERIALIZED ("
        " SELECT g.job_id, g.node, g.gpu_vendor, g.gpu_id, g.utilization_percent::text AS util,"
        "  g.memory_used_bytes::text AS mem, g.power_watts::text AS power,"
        "  g.temperature_celsius::text AS temp"
        " FROM gpu_latest g JOIN jobs j ON j.id = g.job_id"
        " WHERE j.state IN ('pending', 'running')"
        "    OR j.end_time > now() - make_interval(secs => $1::int)"
        " ORDER BY g.job_id, g.node, g.gpu_id)"
        " SELECT 0 AS f, job_id, node, gpu_vendor, gpu_id, util FROM g WHERE util IS NOT NULL"
        " UNION ALL SELECT 1, job_id, node, gpu_vendor, gpu_id, mem FROM g WHERE mem IS NOT NULL"
        " UNION ALL SELECT 2, job_id, node, gpu_vendor, gpu_id, power FROM g"
        "  WHERE power IS NOT NULL"
        " UNION ALL SELECT 3, job_id, node, gpu_vendor, gpu_id, temp FROM g WHERE temp IS NOT NULL";

/* /metrics node series: db_slurm_sql_metrics_nodes_fallback in lib/db_slurm.c (the node's own
   collector sample first, then Slurm's view of the node). */

/* /metrics job counts by state: one count per state on jobs_state_idx (an index-only scan
   once VACUUM has marked the finished jobs' pages all-visible), where a join read the whole
   table: 25 against 105 ms with 300,000 finished jobs.  It still grows with them. */
static const char SQL_METRICS_STATES[] =
        "SELECT s.state, (SELECT count(*) FROM jobs j WHERE j.state = s.state) FROM"
        " unnest(ARRAY['pending', 'running', 'completed', 'failed', 'cancelled']) AS s(state)"
        " ORDER BY s.state";

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

/* clang-format off */
static const struct db_stmt_def stmts[STMT__MAX] = {
        [STMT_PING] = { "ping", "SELECT 1", 0 },
        [STMT_JOB_STARTED] = { "job_started",
                "SELECT status, message FROM hjo_job_started($1, $2, $3::text[], $4::timestamptz,"
                " $5::int, $6::bigint, $7::int, $8, $9::text[], $10, $11, $12, $13, $14, $15)", 15 },
        [STMT_JOB_FINISHED] = { "job_finished",
                "SELECT status, message FROM hjo_job_finished($1, $2::timestamptz, $3::int,"
                " $4::int, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13)", 13 },
        [STMT_EVENTS_APPLY] = { "events_apply",
                "SELECT ord, status, message, err_sqlstate, err_message, err_column"
                " FROM hjo_events_apply($1::jsonb)", 1 },
        [STMT_JOBS_LIST] = { "jobs_list",
                "SELECT hjo_jobs_list($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz,"
                " $8::int, $9::int, $10, $11::float8, $12::float8, $13::float8, $14::float8,"
                " $15::float8, $16::float8, $17::float8, $18::float8, $19, $20::timestamptz,"
                " $21::float8, $22)", 22 },
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
        /* rows, which fcgi/series_json.c writes as JSON: the columns in the order of
           fcgi/series_json.h and the keys tables there (sql/0065_metric_rows.sql) */
        [STMT_SAMPLES_ROWS] = { "samples_rows",
                "SELECT resolution, total, ts_usec, ts_text, node, sample_count, cpu_usage,"
                " cpu_usage_min, cpu_usage_max, memory_usage_bytes, memory_usage_mb,"
                " memory_usage_bytes_max, gpu_usage, gpu_usage_min, gpu_usage_max"
                " FROM hjo_samples_rows($1, $2::timestamptz, $3::timestamptz, $4, $5::int, $6)",
                6 },
        [STMT_NODE_SAMPLES_ROWS] = { "node_samples_rows",
                "SELECT resolution, total, ts_usec, ts_text, sample_count, cpu_usage_percent,"
                " cpu_usage_percent_min, cpu_usage_percent_max, memory_used_bytes,"
                " memory_used_bytes_min, memory_used_bytes_max, memory_total_bytes, job_count,"
                " job_count_min, job_count_max"
                " FROM hjo_node_samples_rows($1, $2::timestamptz, $3::timestamptz, $4::int, $5)",
                5 },
        [STMT_METRICS_JOBS] = { "metrics_jobs", SQL_METRICS_JOBS, 1 },
        [STMT_METRICS_GPUS] = { "metrics_gpus", SQL_METRICS_GPUS, 1 },
        [STMT_METRICS_NODES] = { "metrics_nodes", db_slurm_sql_metrics_nodes_fallback, 1 },
        [STMT_METRICS_STATES] = { "metrics_states", SQL_METRICS_STATES, 0 },
        [STMT_SEED_DEMO] = { "seed_demo", "SELECT hjo_seed_demo()", 0 },
        [STMT_INGEST_BATCH] = { "ingest_batch", SQL_INGEST_BATCH, 36 },
};
/* clang-format on */

const struct db_stmt_def *db_stmt_get(enum db_stmt id)
{
        assert(id < STMT__MAX);
        return &stmts[id];
}
