-- 0062_metrics_fast.sql: the latest sample of each GPU of a job, kept like metric_latest (0050),
-- for GET /metrics (issue 6, benchmark figure 3).  Nothing a client sees changes.
--
-- The per-GPU series of /metrics (STMT_METRICS_GPUS in lib/db_stmts.c) took "the latest sample
-- of each GPU" from the partitioned gpu_samples with a DISTINCT ON over every sample of every
-- running job, in every partition: the benchmark's one sample per GPU cost a sort of 40,000 rows
-- (10,000 jobs x 4 GPUs); a real day of 30-second samples is 2,880 rows per GPU to sort for the
-- one that is shown.  gpu_latest holds that one row, kept by a gpu_samples trigger in the same
-- statement as the rollups (gpu_samples_latest, below), so /metrics reads each job's GPUs with
-- one index scan (gpu_latest_pkey, job_id first).  The ingest pays one more upsert per batch of GPU rows, HOT
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

-- Kept by a trigger of its own beside 0050's rollup trigger (statement-level, the same
-- transition table), so 0050's function is not restated here.
CREATE FUNCTION hjo_gpu_latest_trg() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
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
        RETURN NULL;
END
$$;
CREATE TRIGGER gpu_samples_latest AFTER INSERT ON gpu_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        EXECUTE FUNCTION hjo_gpu_latest_trg();
REVOKE EXECUTE ON FUNCTION hjo_gpu_latest_trg() FROM PUBLIC;

-- ---- roles (as 0050) -------------------------------------------------------------------------
GRANT SELECT ON gpu_latest TO hjo_api;
