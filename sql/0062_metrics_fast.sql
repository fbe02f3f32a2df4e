-- 0062_metrics_fast.sql: the latest sample of each GPU of a job, kept like metric_latest (0050),
-- for GET /metrics (issue 6, benchmark figure 3).  Nothing a client sees changes.
--
-- The per-GPU series of /metrics (STMT_METRICS_GPUS in lib/db_stmts.c) took "the latest sample
-- of each GPU" from the partitioned gpu_samples with a DISTINCT ON over every sample of every
-- running job, in every partition: the benchmark's one sample per GPU cost a sort of 40,000 rows
-- (10,000 jobs x 4 GPUs); a real day of 30-second samples is 2,880 rows per GPU to sort for the
-- one that is shown.  gpu_latest holds that one row, kept by the gpu_samples trigger in the same
-- statement as the rollups, so /metrics reads each job's GPUs with one index scan
-- (gpu_latest_pkey, job_id first).  The ingest pays one more upsert per batch of GPU rows, HOT
-- like metric_latest's (no indexed column changes, fillfactor 70).
--
-- As for metric_latest: a later sample replaces the row, an older one arriving late does not
-- (ON CONFLICT ... WHERE excluded.ts > l.ts); rows go with their job (ON DELETE CASCADE), not
-- with the partitions that retention drops.

CREATE TABLE gpu_latest (
        job_id              text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node                text NOT NULL,
        gpu_id              text NOT NULL,
        ts                  timestamptz NOT NULL,
        gpu_vendor          text NOT NULL,
        utilization_percent double precision,
        memory_used_bytes   bigint,
        memory_total_bytes  bigint,
        power_watts         double precision,
        temperature_celsius double precision,
        PRIMARY KEY (job_id, node, gpu_id)
) WITH (fillfactor = 70);

INSERT INTO gpu_latest (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                        memory_used_bytes, memory_total_bytes, power_watts, temperature_celsius)
SELECT DISTINCT ON (g.job_id, g.node, g.gpu_id) g.job_id, g.node, g.gpu_id, g.ts, g.gpu_vendor,
       g.utilization_percent, g.memory_used_bytes, g.memory_total_bytes, g.power_watts,
       g.temperature_celsius
FROM gpu_samples g ORDER BY g.job_id, g.node, g.gpu_id, g.ts DESC;

-- 0050's function with the gpu_latest upsert added (before the late-sample summaries, as the
-- metric trigger keeps metric_latest).
CREATE OR REPLACE FUNCTION hjo_gpu_rollup_trg() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
        INSERT INTO gpu_rollup_1m AS r (job_id, node, gpu_id, bucket, n, util_n, util_sum,
                util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min, mem_max)
        SELECT g.job_id, g.node, g.gpu_id, date_trunc('minute', g.ts, 'UTC'), count(*),
               count(g.utilization_percent), coalesce(sum(g.utilization_percent::numeric), 0),
               min(g.utilization_percent), max(g.utilization_percent),
               count(*) FILTER (WHERE g.utilization_percent < 1), count(g.memory_used_bytes),
               coalesce(sum(g.memory_used_bytes), 0), min(g.memory_used_bytes),
               max(g.memory_used_bytes)
        FROM hjo_new g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (job_id, node, gpu_id, bucket) DO UPDATE SET
                n = r.n + excluded.n, util_n = r.util_n + excluded.util_n,
                util_sum = r.util_sum + excluded.util_sum,
                util_min = least(r.util_min, excluded.util_min),
                util_max = greatest(r.util_max, excluded.util_max),
                util_idle_n = r.util_idle_n + excluded.util_idle_n,
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max);
        INSERT INTO gpu_rollup_1h AS r (job_id, node, gpu_id, bucket, n, util_n, util_sum,
                util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min, mem_max)
        SELECT g.job_id, g.node, g.gpu_id, date_trunc('hour', g.ts, 'UTC'), count(*),
               count(g.utilization_percent), coalesce(sum(g.utilization_percent::numeric), 0),
               min(g.utilization_percent), max(g.utilization_percent),
               count(*) FILTER (WHERE g.utilization_percent < 1), count(g.memory_used_bytes),
               coalesce(sum(g.memory_used_bytes), 0), min(g.memory_used_bytes),
               max(g.memory_used_bytes)
        FROM hjo_new g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (job_id, node, gpu_id, bucket) DO UPDATE SET
                n = r.n + excluded.n, util_n = r.util_n + excluded.util_n,
                util_sum = r.util_sum + excluded.util_sum,
                util_min = least(r.util_min, excluded.util_min),
                util_max = greatest(r.util_max, excluded.util_max),
                util_idle_n = r.util_idle_n + excluded.util_idle_n,
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max);
        INSERT INTO gpu_latest AS l (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                                     memory_used_bytes, memory_total_bytes, power_watts,
                                     temperature_celsius)
        SELECT DISTINCT ON (g.job_id, g.node, g.gpu_id) g.job_id, g.node, g.gpu_id, g.ts,
               g.gpu_vendor, g.utilization_percent, g.memory_used_bytes, g.memory_total_bytes,
               g.power_watts, g.temperature_celsius
        FROM hjo_new g ORDER BY g.job_id, g.node, g.gpu_id, g.ts DESC
        ON CONFLICT (job_id, node, gpu_id) DO UPDATE SET
                ts = excluded.ts, gpu_vendor = excluded.gpu_vendor,
                utilization_percent = excluded.utilization_percent,
                memory_used_bytes = excluded.memory_used_bytes,
                memory_total_bytes = excluded.memory_total_bytes,
                power_watts = excluded.power_watts,
                temperature_celsius = excluded.temperature_celsius
        WHERE excluded.ts > l.ts;
        PERFORM hjo_job_summarize(j.id)
        FROM jobs j WHERE j.id IN (SELECT DISTINCT g.job_id FROM hjo_new g)
                      AND j.end_time IS NOT NULL
        ORDER BY j.id;
        RETURN NULL;
END
$$;

-- ---- roles (as 0050) -------------------------------------------------------------------------
GRANT SELECT ON gpu_latest TO hjo_api;
