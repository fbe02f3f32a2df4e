-- bench/queries/generate.sql: the database of benchmark figure 4 (run by bench/queries/run.sh,
-- psql -v jobs=N -v samples=M).  generate_series only, no API.  Deterministic: the same scale
-- gives the same data (values derive from the job number through a multiplicative hash).
--
-- Jobs bench-1 .. bench-N start evenly over the last 365 days (the highest numbers latest);
-- the newest 1 % are running, the others completed/failed/cancelled.  1 to 4 nodes out of
-- 2000, 1000 users, 50 accounts, 4 partitions (gpu jobs have 4 GPUs).  The jobs that started
-- in the last 30 days (METRICS_RETENTION_DAYS) carry the samples: about M / their number each,
-- 10 s apart from the start, on their first node; they are inserted through the real ingest
-- trigger, so rollups and (for finished jobs) summaries are what hjo computes.  Older finished
-- jobs get synthetic summaries (their samples would be gone by retention, their summaries not).
-- bench-3day ran 3 days on one node, a sample every 10 s; that node, cn9999, has its own
-- node samples (GET /v1/nodes/cn9999/metrics) for the same 3 days and 1 hour, every 10 s.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET client_min_messages = warning;

-- partitions for the loaded range (maintenance would have made them as the days came)
SELECT count(hjo_part_ensure(t, date_trunc('day', now(), 'UTC') - d * interval '1 day'))
FROM generate_series(0, 32) d,
     unnest(ARRAY['metric_samples', 'metric_rollup_1m', 'node_samples', 'node_rollup_1m']) t;
SELECT count(hjo_part_ensure(t, date_trunc('month', now() - d * interval '1 month', 'UTC')))
FROM generate_series(0, 2) d, unnest(ARRAY['metric_rollup_1h', 'node_rollup_1h']) t;

CREATE TEMP TABLE p AS SELECT :jobs::bigint AS jobs, :samples::bigint AS samples,
        greatest(1, :jobs::bigint * 30 / 365) AS window_jobs;
-- samples per windowed job (>= 1), and its duration accordingly
ALTER TABLE p ADD COLUMN per_job bigint;
UPDATE p SET per_job = greatest(1, samples / window_jobs);

INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, runtime_seconds, exit_code,
                  allocated_cpus, allocated_memory_mb, allocated_gpus, gpu_vendor, partition,
                  account, cluster_name, cpu_efficiency, cpu_seconds, memory_peak_mb,
                  memory_peak_ratio, gpu_mean_utilization, gpu_max_utilization, idle_gpu_hours,
                  summary_at)
SELECT 'bench-' || i, 'user' || (h % 1000),
       CASE WHEN h % 10 = 0
            THEN ARRAY['cn' || lpad((h % 2000)::text, 4, '0'), 'cn' || lpad(((h + 1) % 2000)::text, 4, '0')]
            ELSE ARRAY['cn' || lpad((h % 2000)::text, 4, '0')] END,
       st, t0, t1, extract(epoch FROM t1 - t0), CASE WHEN st = 'failed' THEN 1 WHEN t1 IS NULL THEN NULL ELSE 0 END,
       1 + h % 64, 1024 * (1 + h % 256), CASE WHEN part = 'gpu' THEN 4 ELSE 0 END,
       CASE WHEN part = 'gpu' THEN 'nvidia' ELSE 'none' END, part, 'acct' || (h % 50), 'bench',
       s_eff, s_eff * extract(epoch FROM t1 - t0) * (1 + h % 64), s_mem, s_mem / (1024 * (1 + h % 256)),
       s_gpu, CASE WHEN s_gpu IS NOT NULL THEN least(100, s_gpu * 1.5) END,
       CASE WHEN part = 'gpu' AND t1 IS NOT NULL
            THEN 4 * extract(epoch FROM t1 - t0) / 3600 * ((h >> 8) % 100) / 100.0 END,
       CASE WHEN t1 IS NOT NULL AND NOT windowed THEN t1 END
FROM (
        SELECT i, h, t0, st, part, windowed,
               CASE WHEN st = 'running' THEN NULL
                    ELSE least(now(), t0 + CASE WHEN windowed THEN (per_job * 10 + 60) * interval '1 s'
                                                ELSE (60 + h % 20000) * interval '1 s' END) END AS t1,
               CASE WHEN st <> 'running' AND NOT windowed THEN (h % 1000) / 1000.0 END AS s_eff,
               CASE WHEN st <> 'running' AND NOT windowed THEN (h % 100000)::float8 END AS s_mem,
               CASE WHEN st <> 'running' AND NOT windowed AND part = 'gpu' THEN ((h >> 4) % 100)::float8 END AS s_gpu
        FROM (
                SELECT i, h, per_job,
                       now() - interval '365 days' * (1 - i::float8 / jobs) AS t0,
                       i > jobs - window_jobs AS windowed,
                       CASE WHEN i > jobs - jobs / 100 THEN 'running'
                            ELSE (ARRAY['completed', 'completed', 'completed', 'failed', 'cancelled'])[1 + h % 5] END AS st,
                       (ARRAY['batch', 'batch', 'gpu', 'long', 'short'])[1 + (h >> 3) % 5] AS part
                FROM p, generate_series(1, p.jobs) i,
                     LATERAL (SELECT (i * 2654435761) % 4294967296 AS h) x
        ) a
) b;

-- the 3-day job
INSERT INTO jobs (id, user_name, nodes, state, start_time, allocated_cpus, allocated_memory_mb,
                  allocated_gpus, gpu_vendor, partition, account, cluster_name)
VALUES ('bench-3day', 'user3', ARRAY['cn9999'], 'running', now() - interval '3 days 1 hour', 32,
        131072, 0, 'none', 'long', 'acct3', 'bench');
INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, cpu_seconds)
SELECT 'bench-3day', 'cn9999', now() - interval '3 days 1 hour' + k * interval '10 s',
       50 + (k % 50), 1073741824 + (k % 1000) * 1048576, k * 160.0
FROM generate_series(1, 25920) k;
UPDATE jobs SET state = 'completed', end_time = now() - interval '1 hour',
                runtime_seconds = 3 * 86400, exit_code = 0
WHERE id = 'bench-3day';
SELECT hjo_job_summarize('bench-3day');
-- the node's own samples, through the node rollup trigger (sql/0064)
INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes, memory_total_bytes,
                          job_count)
SELECT 'cn9999', now() - interval '3 days 1 hour' + k * interval '10 s', 40 + (k % 60),
       2147483648 + (k % 1000) * 1048576, 274877906944, 1 + k % 3
FROM generate_series(1, 26280) k;
ANALYZE node_samples;
ANALYZE jobs;

-- samples of the windowed jobs, 2000 jobs per transaction, through the ingest trigger
DO $$
DECLARE
        v_lo bigint;
        v_hi bigint;
        q record;
BEGIN
        SELECT * INTO q FROM p;
        v_lo := q.jobs - q.window_jobs + 1;
        WHILE v_lo <= q.jobs LOOP
                v_hi := least(q.jobs, v_lo + 1999);
                INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes,
                                            gpu_usage, cpu_seconds, memory_peak_bytes)
                SELECT j.id, j.nodes[1], j.start_time + k * interval '10 s',
                       (k * 37 + i) % 1000 / 10.0, 1048576 * (100 + (k + i) % 4000),
                       CASE WHEN j.allocated_gpus > 0 THEN ((k * 13 + i) % 101)::float8 END,
                       k * 10.0 * (1 + i % 8), 1048576 * (4100 + i % 100)
                FROM generate_series(v_lo, v_hi) i
                JOIN jobs j ON j.id = 'bench-' || i,
                     generate_series(1, q.per_job) k
                WHERE j.start_time + k * interval '10 s' <= now()
                ORDER BY 1, 3;
                COMMIT;
                v_lo := v_hi + 1;
        END LOOP;
END
$$;

VACUUM ANALYZE jobs;
ANALYZE metric_samples;
ANALYZE metric_rollup_1m;
ANALYZE metric_rollup_1h;
SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM metric_samples) AS samples;
