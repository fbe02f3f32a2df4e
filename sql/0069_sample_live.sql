-- 0069_sample_live.sql: sample ingest without a jobs row update or rollup upserts per sample
-- (issue 6, benchmark figure 2).  What a client reads does not change: the job's aggregates,
-- the 1-minute and 1-hour rollups and the summaries stay exact, and are written in the same
-- transaction as the samples.  What changes is where a sample's share is kept first:
--
-- 1. metric_latest, the row of each (job, node) that every sample already updates, also keeps
--    a. the job's running aggregates (live_*): sample count, CPU sums and maxima, memory and
--       GPU maxima.  A job's aggregates are its jobs row's columns plus the live_* of its
--       metric_latest rows (hjo_job_live); hjo_job_json shows that sum.
--    b. the open minute (m_*): count, sums, minima and maxima of the samples of the latest
--       minute of that (job, node).  A sample of a later minute moves the open minute into
--       metric_rollup_1m and metric_rollup_1h and opens its own; a sample of an earlier minute
--       goes straight to the rollups.  The rollups as readers see them are the rollup rows plus
--       the open minutes (metric_rollup_1m_all, metric_rollup_1h_all).
--    The sample ingest (hjo_ingest_batch) writes the raw row and one metric_latest row per
--    sample, where 0066 also wrote a 1-minute row, a 1-hour row and the (wide, 13-index) jobs
--    row.  Measured: docs/performance.md, figure 2.
-- 2. The jobs of a batch are locked first, in a statement of their own, so the next
--    statement reads the open minutes as the previous writer of those jobs left them.  Every
--    writer of m_* (hjo_ingest_batch, hjo_latest_retire) holds the locks of the jobs it writes.
-- 3. The other writers (hjo_add_sample, the rollup triggers of 0050/0062, GPU samples) write
--    the jobs row and the rollup tables directly, as before; that is consistent with 1, which
--    only adds to what the tables hold.
-- 4. hjo_latest_retire (hjo-admin maintain) moves the live aggregates into the jobs row and the
--    open minutes into the rollups before it deletes the metric_latest rows of jobs that ended
--    a day ago (it replaces the DELETE in lib/db_maint.c).
-- 5. hjo_job_patch: a PATCH of cpu_usage / memory_usage_mb / gpu_usage stays the job's current
--    value until a later sample arrives, as before (last_sample_at moves to the newest sample).

-- 1 ----------------------------------------------------------------------------------------
ALTER TABLE metric_latest
        ADD COLUMN live_n bigint NOT NULL DEFAULT 0,
        ADD COLUMN live_cpu_missing bigint NOT NULL DEFAULT 0,
        ADD COLUMN live_cpu_sum double precision NOT NULL DEFAULT 0,
        ADD COLUMN live_cpu_max double precision,
        ADD COLUMN live_mem_max bigint,
        ADD COLUMN live_gpu_n bigint NOT NULL DEFAULT 0,
        ADD COLUMN live_gpu_sum double precision NOT NULL DEFAULT 0,
        ADD COLUMN live_gpu_max double precision,
        ADD COLUMN m_bucket timestamptz,
        ADD COLUMN m_n bigint,
        ADD COLUMN m_cpu_n bigint,
        ADD COLUMN m_cpu_sum numeric,
        ADD COLUMN m_cpu_min double precision,
        ADD COLUMN m_cpu_max double precision,
        ADD COLUMN m_mem_n bigint,
        ADD COLUMN m_mem_sum numeric,
        ADD COLUMN m_mem_min bigint,
        ADD COLUMN m_mem_max bigint,
        ADD COLUMN m_gpu_n bigint,
        ADD COLUMN m_gpu_sum numeric,
        ADD COLUMN m_gpu_min double precision,
        ADD COLUMN m_gpu_max double precision,
        ADD COLUMN m_gpu_idle_n bigint,
        ADD COLUMN m_cpu_seconds_max double precision,
        ADD COLUMN m_mem_peak_max bigint;


-- The rollups as every reader sees them: the rows plus the open minutes, one entry per (job,
-- node, bucket).  A batch keeps a (job, node, minute) either as a rollup row or as the open
-- minute, but a minute can be in both: a late sample of a job whose rows hjo_latest_retire just
-- moved opens the minute that retire wrote to the rollups, and POST /v1/jobs/{id}/metrics or SQL
-- inserts write rollup rows for a minute a batch keeps open.  metric_rollup_1m_all adds an open
-- minute to its row (a join with the few metric_latest rows of the job: grouping 4,320 rows of a
-- 3-day job cost 12 ms more per answer); the 1-hour rows hold the closed minutes of the hour, so
-- the hour of an open minute is always in both and metric_rollup_1h_all groups.
CREATE VIEW metric_rollup_1m_all AS
        SELECT r.job_id, r.node, r.bucket, r.n + coalesce(l.m_n, 0) AS n,
               r.cpu_n + coalesce(l.m_cpu_n, 0) AS cpu_n,
               r.cpu_sum + coalesce(l.m_cpu_sum, 0) AS cpu_sum,
               least(r.cpu_min, l.m_cpu_min) AS cpu_min,
               greatest(r.cpu_max, l.m_cpu_max) AS cpu_max,
               r.mem_n + coalesce(l.m_mem_n, 0) AS mem_n,
               r.mem_sum + coalesce(l.m_mem_sum, 0) AS mem_sum,
               least(r.mem_min, l.m_mem_min) AS mem_min,
               greatest(r.mem_max, l.m_mem_max) AS mem_max,
               r.gpu_n + coalesce(l.m_gpu_n, 0) AS gpu_n,
               r.gpu_sum + coalesce(l.m_gpu_sum, 0) AS gpu_sum,
               least(r.gpu_min, l.m_gpu_min) AS gpu_min,
               greatest(r.gpu_max, l.m_gpu_max) AS gpu_max,
               r.gpu_idle_n + coalesce(l.m_gpu_idle_n, 0) AS gpu_idle_n,
               greatest(r.cpu_seconds_max, l.m_cpu_seconds_max) AS cpu_seconds_max,
               greatest(r.mem_peak_max, l.m_mem_peak_max) AS mem_peak_max
        FROM metric_rollup_1m r
        LEFT JOIN metric_latest l
               ON l.job_id = r.job_id AND l.node = r.node AND l.m_bucket = r.bucket
        UNION ALL
        SELECT l.job_id, l.node, l.m_bucket, l.m_n, l.m_cpu_n, l.m_cpu_sum, l.m_cpu_min,
               l.m_cpu_max, l.m_mem_n, l.m_mem_sum, l.m_mem_min, l.m_mem_max, l.m_gpu_n,
               l.m_gpu_sum, l.m_gpu_min, l.m_gpu_max, l.m_gpu_idle_n, l.m_cpu_seconds_max,
               l.m_mem_peak_max
        FROM metric_latest l
        WHERE l.m_bucket IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM metric_rollup_1m r
                          WHERE r.job_id = l.job_id AND r.node = l.node
                            AND r.bucket = l.m_bucket);

CREATE VIEW metric_rollup_1h_all AS
        SELECT x.job_id, x.node, x.bucket, sum(x.n)::bigint AS n, sum(x.cpu_n)::bigint AS cpu_n,
               sum(x.cpu_sum) AS cpu_sum, min(x.cpu_min) AS cpu_min, max(x.cpu_max) AS cpu_max,
               sum(x.mem_n)::bigint AS mem_n, sum(x.mem_sum) AS mem_sum,
               min(x.mem_min) AS mem_min, max(x.mem_max) AS mem_max,
               sum(x.gpu_n)::bigint AS gpu_n, sum(x.gpu_sum) AS gpu_sum,
               min(x.gpu_min) AS gpu_min, max(x.gpu_max) AS gpu_max,
               sum(x.gpu_idle_n)::bigint AS gpu_idle_n, max(x.cpu_seconds_max) AS cpu_seconds_max,
               max(x.mem_peak_max) AS mem_peak_max
        FROM (SELECT r.job_id, r.node, r.bucket, r.n, r.cpu_n, r.cpu_sum, r.cpu_min, r.cpu_max,
                     r.mem_n, r.mem_sum, r.mem_min, r.mem_max, r.gpu_n, r.gpu_sum, r.gpu_min,
                     r.gpu_max, r.gpu_idle_n, r.cpu_seconds_max, r.mem_peak_max
              FROM metric_rollup_1h r
              UNION ALL
              SELECT l.job_id, l.node, date_trunc('hour', l.m_bucket, 'UTC'), l.m_n, l.m_cpu_n,
                     l.m_cpu_sum, l.m_cpu_min, l.m_cpu_max, l.m_mem_n, l.m_mem_sum, l.m_mem_min,
                     l.m_mem_max, l.m_gpu_n, l.m_gpu_sum, l.m_gpu_min, l.m_gpu_max,
                     l.m_gpu_idle_n, l.m_cpu_seconds_max, l.m_mem_peak_max
              FROM metric_latest l WHERE l.m_bucket IS NOT NULL) x
        GROUP BY x.job_id, x.node, x.bucket;

GRANT SELECT ON metric_rollup_1m_all, metric_rollup_1h_all TO hjo_api;

-- 2 ----------------------------------------------------------------------------------------
-- POST /v1/samples and collectord's database sink: 0066's hjo_ingest_batch, the same answer.
CREATE OR REPLACE FUNCTION hjo_ingest_batch(
        p_node text, p_ts timestamptz,
        p_job_ids text[], p_nodes text[], p_cpu float8[], p_mem bigint[], p_gpu float8[],
        p_cpu_sec float8[], p_mem_peak bigint[], p_mem_max bigint[], p_swap bigint[],
        p_anon bigint[], p_file bigint[], p_oom bigint[], p_pids bigint[],
        p_io_r bigint[], p_io_w bigint[], p_psi_cs float8[], p_psi_cf float8[],
        p_psi_ms float8[], p_psi_mf float8[],
        p_gpu_job_ids text[], p_gpu_nodes text[], p_gpu_ids text[], p_gpu_vendor text[],
        p_gpu_util float8[], p_gpu_mem_used bigint[], p_gpu_mem_total bigint[],
        p_gpu_power float8[], p_gpu_temp float8[],
        p_node_cpu float8, p_node_mem_used bigint, p_node_mem_total bigint, p_node_jobs integer,
        p_health jsonb, p_want_jobs boolean)
RETURNS TABLE (kind text, job_id text, n bigint, allocated_cpus integer, gpu_devices text,
               cgroup_path text, start_time text, last_ts text, last_cpu_seconds float8)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public SET hjo.ingest_writes_rollups = 'on' AS $$
DECLARE
        v_in bigint := coalesce(cardinality(p_job_ids), 0);
        v_stored bigint := 0;
        v_gpu_in bigint := coalesce(cardinality(p_gpu_job_ids), 0);
        v_gpu_stored bigint := 0;
        v_unknown bigint := 0;
        v_finished bigint := 0;
        v_rejected bigint := 0;
        v_minute timestamptz := date_trunc('minute', p_ts, 'UTC');
        v_hour timestamptz := date_trunc('hour', p_ts, 'UTC');
        v_live bigint := 0;
        v_late text[];
        v_gpu_late text[];
        v_ref record;
        v_live_ids text[];
        v_ended_ids text[];
        v_moved bigint;
BEGIN
        IF p_node IS NULL OR p_ts IS NULL THEN
                RAISE EXCEPTION 'node and timestamp are required' USING ERRCODE = 'HJ400',
                        COLUMN = CASE WHEN p_node IS NULL THEN 'node' ELSE 'timestamp' END;
        END IF;

        IF v_in > 0 OR v_gpu_in > 0 THEN
                -- 1. the batch's jobs, locked in id order (one lock order for every writer of
                --    several jobs).  The next statement's snapshot is taken after the locks, so
                --    it reads the metric_latest rows as the last writer of these jobs left them.
                SELECT coalesce(array_agg(k.id) FILTER (WHERE k.live), '{}'),
                       count(*) FILTER (WHERE k.live),
                       array_agg(k.id) FILTER (WHERE k.live AND k.ended)
                INTO v_live_ids, v_live, v_ended_ids
                FROM (SELECT j.id, j.state IN ('pending', 'running') OR p_ts <= j.end_time AS live,
                             j.end_time IS NOT NULL AS ended
                      FROM jobs j
                      WHERE j.id = ANY (coalesce(p_job_ids, '{}') || coalesce(p_gpu_job_ids, '{}'))
                      ORDER BY j.id FOR UPDATE) k;
        END IF;

        IF v_in > 0 AND v_live > 0 THEN
        WITH ins AS (
                INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes,
                        gpu_usage, cpu_seconds, memory_peak_bytes, memory_max_bytes, swap_bytes,
                        memory_anon_bytes, memory_file_bytes, oom_kills, pids, io_read_bytes,
                        io_write_bytes, cpu_pressure_some, cpu_pressure_full,
                        memory_pressure_some, memory_pressure_full)
                SELECT b.job_id, coalesce(b.node, p_node), p_ts, b.cpu, b.mem, b.gpu, b.cpu_sec,
                       b.mem_peak, b.mem_max, b.swap, b.anon, b.file, b.oom, b.pids, b.io_r,
                       b.io_w, b.psi_cs, b.psi_cf, b.psi_ms, b.psi_mf
                FROM unnest(p_job_ids, p_nodes, p_cpu, p_mem, p_gpu, p_cpu_sec, p_mem_peak,
                            p_mem_max, p_swap, p_anon, p_file, p_oom, p_pids, p_io_r, p_io_w,
                            p_psi_cs, p_psi_cf, p_psi_ms, p_psi_mf)
                     AS b(job_id, node, cpu, mem, gpu, cpu_sec, mem_peak, mem_max, swap, anon,
                          file, oom, pids, io_r, io_w, psi_cs, psi_cf, psi_ms, psi_mf)
                WHERE b.job_id = ANY (v_live_ids)
                ORDER BY 1, 2
                ON CONFLICT DO NOTHING
                -- one sample's contribution to a rollup row
                RETURNING metric_samples.job_id, metric_samples.node, cpu_usage,
                          memory_usage_bytes, gpu_usage, cpu_seconds, memory_peak_bytes,
                          oom_kills,
                          (cpu_usage IS NOT NULL)::integer AS cpu_n,
                          coalesce(cpu_usage::numeric, 0) AS cpu_sum,
                          (memory_usage_bytes IS NOT NULL)::integer AS mem_n,
                          coalesce(memory_usage_bytes, 0)::numeric AS mem_sum,
                          (gpu_usage IS NOT NULL)::integer AS gpu_n,
                          coalesce(gpu_usage::numeric, 0) AS gpu_sum,
                          (coalesce(gpu_usage < 1, false))::integer AS gpu_idle_n
        ), old AS (
                -- the open minute of each (job, node), as the last writer left it
                SELECT l.job_id, l.node, l.m_bucket, l.m_n, l.m_cpu_n, l.m_cpu_sum, l.m_cpu_min,
                       l.m_cpu_max, l.m_mem_n, l.m_mem_sum, l.m_mem_min, l.m_mem_max, l.m_gpu_n,
                       l.m_gpu_sum, l.m_gpu_min, l.m_gpu_max, l.m_gpu_idle_n,
                       l.m_cpu_seconds_max, l.m_mem_peak_max
                FROM ins i JOIN metric_latest l ON l.job_id = i.job_id AND l.node = i.node
                WHERE l.m_bucket IS NOT NULL
        ), rm AS (
                -- to the rollups: a closed minute (its sample opens the next one), and a sample
                -- of a minute older than the open one
                SELECT o.job_id, o.node, o.m_bucket AS bucket, o.m_n AS n, o.m_cpu_n AS cpu_n,
                       o.m_cpu_sum AS cpu_sum, o.m_cpu_min AS cpu_min, o.m_cpu_max AS cpu_max,
                       o.m_mem_n AS mem_n, o.m_mem_sum AS mem_sum, o.m_mem_min AS mem_min,
                       o.m_mem_max AS mem_max, o.m_gpu_n AS gpu_n, o.m_gpu_sum AS gpu_sum,
                       o.m_gpu_min AS gpu_min, o.m_gpu_max AS gpu_max,
                       o.m_gpu_idle_n AS gpu_idle_n, o.m_cpu_seconds_max AS cpu_seconds_max,
                       o.m_mem_peak_max AS mem_peak_max
                FROM old o WHERE o.m_bucket < v_minute
                UNION ALL
                SELECT i.job_id, i.node, v_minute, 1, i.cpu_n, i.cpu_sum, i.cpu_usage,
                       i.cpu_usage, i.mem_n, i.mem_sum, i.memory_usage_bytes,
                       i.memory_usage_bytes, i.gpu_n, i.gpu_sum, i.gpu_usage, i.gpu_usage,
                       i.gpu_idle_n, i.cpu_seconds, i.memory_peak_bytes
                FROM ins i JOIN old o ON o.job_id = i.job_id AND o.node = i.node
                WHERE o.m_bucket > v_minute
        ), r1m AS (
                INSERT INTO metric_rollup_1m AS r (job_id, node, bucket, n, cpu_n, cpu_sum,
                        cpu_min, cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum,
                        gpu_min, gpu_max, gpu_idle_n, cpu_seconds_max, mem_peak_max)
                SELECT * FROM rm
                ON CONFLICT ON CONSTRAINT metric_rollup_1m_pkey DO UPDATE SET
                        n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                        cpu_sum = r.cpu_sum + excluded.cpu_sum,
                        cpu_min = least(r.cpu_min, excluded.cpu_min),
                        cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                        mem_n = r.mem_n + excluded.mem_n,
                        mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max),
                        gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                        gpu_min = least(r.gpu_min, excluded.gpu_min),
                        gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                        gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                        cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                        mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max)
        ), r1h AS (
                INSERT INTO metric_rollup_1h AS r (job_id, node, bucket, n, cpu_n, cpu_sum,
                        cpu_min, cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum,
                        gpu_min, gpu_max, gpu_idle_n, cpu_seconds_max, mem_peak_max)
                SELECT rm.job_id, rm.node, date_trunc('hour', rm.bucket, 'UTC'), rm.n, rm.cpu_n,
                       rm.cpu_sum, rm.cpu_min, rm.cpu_max, rm.mem_n, rm.mem_sum, rm.mem_min,
                       rm.mem_max, rm.gpu_n, rm.gpu_sum, rm.gpu_min, rm.gpu_max, rm.gpu_idle_n,
                       rm.cpu_seconds_max, rm.mem_peak_max
                FROM rm
                ON CONFLICT ON CONSTRAINT metric_rollup_1h_pkey DO UPDATE SET
                        n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                        cpu_sum = r.cpu_sum + excluded.cpu_sum,
                        cpu_min = least(r.cpu_min, excluded.cpu_min),
                        cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                        mem_n = r.mem_n + excluded.mem_n,
                        mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max),
                        gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                        gpu_min = least(r.gpu_min, excluded.gpu_min),
                        gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                        gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                        cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                        mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max)
        ), lat AS (
                -- the latest values, the job's running aggregates and the open minute
                INSERT INTO metric_latest AS l (job_id, node, ts, cpu_usage, memory_usage_bytes,
                        gpu_usage, cpu_seconds, memory_peak_bytes, oom_kills, live_n,
                        live_cpu_missing, live_cpu_sum, live_cpu_max, live_mem_max, live_gpu_n,
                        live_gpu_sum, live_gpu_max, m_bucket, m_n, m_cpu_n, m_cpu_sum, m_cpu_min,
                        m_cpu_max, m_mem_n, m_mem_sum, m_mem_min, m_mem_max, m_gpu_n, m_gpu_sum,
                        m_gpu_min, m_gpu_max, m_gpu_idle_n, m_cpu_seconds_max, m_mem_peak_max)
                SELECT i.job_id, i.node, p_ts, i.cpu_usage, i.memory_usage_bytes, i.gpu_usage,
                       i.cpu_seconds, i.memory_peak_bytes, i.oom_kills, 1, 1 - i.cpu_n,
                       coalesce(i.cpu_usage, 0), i.cpu_usage, i.memory_usage_bytes, i.gpu_n,
                       coalesce(i.gpu_usage, 0), i.gpu_usage, v_minute, 1, i.cpu_n, i.cpu_sum,
                       i.cpu_usage, i.cpu_usage, i.mem_n, i.mem_sum, i.memory_usage_bytes,
                       i.memory_usage_bytes, i.gpu_n, i.gpu_sum, i.gpu_usage, i.gpu_usage,
                       i.gpu_idle_n, i.cpu_seconds, i.memory_peak_bytes
                FROM ins i
                ON CONFLICT ON CONSTRAINT metric_latest_pkey DO UPDATE SET
                        ts = greatest(l.ts, excluded.ts),
                        cpu_usage = CASE WHEN excluded.ts > l.ts THEN excluded.cpu_usage
                                         ELSE l.cpu_usage END,
                        memory_usage_bytes = CASE WHEN excluded.ts > l.ts
                                                  THEN excluded.memory_usage_bytes
                                                  ELSE l.memory_usage_bytes END,
                        gpu_usage = CASE WHEN excluded.ts > l.ts THEN excluded.gpu_usage
                                         ELSE l.gpu_usage END,
                        cpu_seconds = CASE WHEN excluded.ts > l.ts THEN excluded.cpu_seconds
                                           ELSE l.cpu_seconds END,
                        memory_peak_bytes = CASE WHEN excluded.ts > l.ts
                                                 THEN excluded.memory_peak_bytes
                                                 ELSE l.memory_peak_bytes END,
                        oom_kills = CASE WHEN excluded.ts > l.ts THEN excluded.oom_kills
                                         ELSE l.oom_kills END,
                        live_n = l.live_n + 1,
                        live_cpu_missing = l.live_cpu_missing + excluded.live_cpu_missing,
                        live_cpu_sum = l.live_cpu_sum + excluded.live_cpu_sum,
                        live_cpu_max = greatest(l.live_cpu_max, excluded.live_cpu_max),
                        live_mem_max = greatest(l.live_mem_max, excluded.live_mem_max),
                        live_gpu_n = l.live_gpu_n + excluded.live_gpu_n,
                        live_gpu_sum = l.live_gpu_sum + excluded.live_gpu_sum,
                        live_gpu_max = greatest(l.live_gpu_max, excluded.live_gpu_max),
                        -- the open minute: the same one gains the sample, a later one replaces
                        -- it (closed above, in rm), an earlier one is left (the sample is in rm)
                        m_bucket = greatest(l.m_bucket, excluded.m_bucket),
                        m_n = CASE WHEN excluded.m_bucket = l.m_bucket THEN l.m_n + 1
                                   WHEN excluded.m_bucket < l.m_bucket THEN l.m_n
                                   ELSE excluded.m_n END,
                        m_cpu_n = CASE WHEN excluded.m_bucket = l.m_bucket
                                       THEN l.m_cpu_n + excluded.m_cpu_n
                                       WHEN excluded.m_bucket < l.m_bucket THEN l.m_cpu_n
                                       ELSE excluded.m_cpu_n END,
                        m_cpu_sum = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN l.m_cpu_sum + excluded.m_cpu_sum
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_cpu_sum
                                         ELSE excluded.m_cpu_sum END,
                        m_cpu_min = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN least(l.m_cpu_min, excluded.m_cpu_min)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_cpu_min
                                         ELSE excluded.m_cpu_min END,
                        m_cpu_max = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN greatest(l.m_cpu_max, excluded.m_cpu_max)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_cpu_max
                                         ELSE excluded.m_cpu_max END,
                        m_mem_n = CASE WHEN excluded.m_bucket = l.m_bucket
                                       THEN l.m_mem_n + excluded.m_mem_n
                                       WHEN excluded.m_bucket < l.m_bucket THEN l.m_mem_n
                                       ELSE excluded.m_mem_n END,
                        m_mem_sum = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN l.m_mem_sum + excluded.m_mem_sum
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_mem_sum
                                         ELSE excluded.m_mem_sum END,
                        m_mem_min = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN least(l.m_mem_min, excluded.m_mem_min)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_mem_min
                                         ELSE excluded.m_mem_min END,
                        m_mem_max = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN greatest(l.m_mem_max, excluded.m_mem_max)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_mem_max
                                         ELSE excluded.m_mem_max END,
                        m_gpu_n = CASE WHEN excluded.m_bucket = l.m_bucket
                                       THEN l.m_gpu_n + excluded.m_gpu_n
                                       WHEN excluded.m_bucket < l.m_bucket THEN l.m_gpu_n
                                       ELSE excluded.m_gpu_n END,
                        m_gpu_sum = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN l.m_gpu_sum + excluded.m_gpu_sum
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_gpu_sum
                                         ELSE excluded.m_gpu_sum END,
                        m_gpu_min = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN least(l.m_gpu_min, excluded.m_gpu_min)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_gpu_min
                                         ELSE excluded.m_gpu_min END,
                        m_gpu_max = CASE WHEN excluded.m_bucket = l.m_bucket
                                         THEN greatest(l.m_gpu_max, excluded.m_gpu_max)
                                         WHEN excluded.m_bucket < l.m_bucket THEN l.m_gpu_max
                                         ELSE excluded.m_gpu_max END,
                        m_gpu_idle_n = CASE WHEN excluded.m_bucket = l.m_bucket
                                            THEN l.m_gpu_idle_n + excluded.m_gpu_idle_n
                                            WHEN excluded.m_bucket < l.m_bucket
                                            THEN l.m_gpu_idle_n
                                            ELSE excluded.m_gpu_idle_n END,
                        m_cpu_seconds_max = CASE WHEN excluded.m_bucket = l.m_bucket
                                                 THEN greatest(l.m_cpu_seconds_max,
                                                               excluded.m_cpu_seconds_max)
                                                 WHEN excluded.m_bucket < l.m_bucket
                                                 THEN l.m_cpu_seconds_max
                                                 ELSE excluded.m_cpu_seconds_max END,
                        m_mem_peak_max = CASE WHEN excluded.m_bucket = l.m_bucket
                                              THEN greatest(l.m_mem_peak_max,
                                                            excluded.m_mem_peak_max)
                                              WHEN excluded.m_bucket < l.m_bucket
                                              THEN l.m_mem_peak_max
                                              ELSE excluded.m_mem_peak_max END
        )
        -- rm is counted here so that the open minutes are read (old) before lat writes their
        -- rows: the same snapshot either way, but one pass less over the updated rows
        SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM rm),
               -- late samples of a finished job: its summary follows them (below)
               (SELECT array_agg(DISTINCT i.job_id) FROM ins i WHERE i.job_id = ANY (v_ended_ids))
        INTO v_stored, v_moved, v_late;
        END IF;


        IF v_gpu_in > 0 THEN
        -- the jobs are locked above; one row per (job, node, GPU), as for the job samples
        WITH g AS (
                INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                                         memory_used_bytes, memory_total_bytes, power_watts,
                                         temperature_celsius)
                SELECT u.job_id, coalesce(u.node, p_node), u.gpu_id, p_ts, u.vendor, u.util,
                       u.mem_used, u.mem_total, u.power, u.temp
                FROM unnest(p_gpu_job_ids, p_gpu_nodes, p_gpu_ids, p_gpu_vendor, p_gpu_util,
                            p_gpu_mem_used, p_gpu_mem_total, p_gpu_power, p_gpu_temp)
                     AS u(job_id, node, gpu_id, vendor, util, mem_used, mem_total, power, temp)
                JOIN jobs j ON j.id = u.job_id
                WHERE j.state IN ('pending', 'running') OR p_ts <= j.end_time
                ORDER BY u.job_id, u.node, u.gpu_id
                ON CONFLICT DO NOTHING
                RETURNING gpu_samples.job_id, gpu_samples.node, gpu_samples.gpu_id, gpu_vendor,
                          utilization_percent, memory_used_bytes, memory_total_bytes,
                          power_watts, temperature_celsius,
                          (utilization_percent IS NOT NULL)::integer AS util_n,
                          coalesce(utilization_percent::numeric, 0) AS util_sum,
                          (coalesce(utilization_percent < 1, false))::integer AS util_idle_n,
                          (memory_used_bytes IS NOT NULL)::integer AS mem_n,
                          coalesce(memory_used_bytes, 0)::numeric AS mem_sum
        ), r1m AS (
                INSERT INTO gpu_rollup_1m AS r (job_id, node, gpu_id, bucket, n, util_n,
                        util_sum, util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min,
                        mem_max)
                SELECT g.job_id, g.node, g.gpu_id, v_minute, 1, g.util_n, g.util_sum,
                       g.utilization_percent, g.utilization_percent, g.util_idle_n, g.mem_n,
                       g.mem_sum, g.memory_used_bytes, g.memory_used_bytes
                FROM g
                ON CONFLICT ON CONSTRAINT gpu_rollup_1m_pkey DO UPDATE SET
                        n = r.n + 1, util_n = r.util_n + excluded.util_n,
                        util_sum = r.util_sum + excluded.util_sum,
                        util_min = least(r.util_min, excluded.util_min),
                        util_max = greatest(r.util_max, excluded.util_max),
                        util_idle_n = r.util_idle_n + excluded.util_idle_n,
                        mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max)
        ), r1h AS (
                INSERT INTO gpu_rollup_1h AS r (job_id, node, gpu_id, bucket, n, util_n,
                        util_sum, util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min,
                        mem_max)
                SELECT g.job_id, g.node, g.gpu_id, v_hour, 1, g.util_n, g.util_sum,
                       g.utilization_percent, g.utilization_percent, g.util_idle_n, g.mem_n,
                       g.mem_sum, g.memory_used_bytes, g.memory_used_bytes
                FROM g
                ON CONFLICT ON CONSTRAINT gpu_rollup_1h_pkey DO UPDATE SET
                        n = r.n + 1, util_n = r.util_n + excluded.util_n,
                        util_sum = r.util_sum + excluded.util_sum,
                        util_min = least(r.util_min, excluded.util_min),
                        util_max = greatest(r.util_max, excluded.util_max),
                        util_idle_n = r.util_idle_n + excluded.util_idle_n,
                        mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max)
        ), lat AS (
                INSERT INTO gpu_latest AS l (job_id, node, gpu_id, ts, gpu_vendor,
                        utilization_percent, memory_used_bytes, memory_total_bytes, power_watts,
                        temperature_celsius)
                SELECT g.job_id, g.node, g.gpu_id, p_ts, g.gpu_vendor, g.utilization_percent,
                       g.memory_used_bytes, g.memory_total_bytes, g.power_watts,
                       g.temperature_celsius
                FROM g
                ON CONFLICT ON CONSTRAINT gpu_latest_pkey DO UPDATE SET
                        ts = excluded.ts, gpu_vendor = excluded.gpu_vendor,
                        utilization_percent = excluded.utilization_percent,
                        memory_used_bytes = excluded.memory_used_bytes,
                        memory_total_bytes = excluded.memory_total_bytes,
                        power_watts = excluded.power_watts,
                        temperature_celsius = excluded.temperature_celsius
                WHERE excluded.ts > l.ts
        )
        SELECT (SELECT count(*) FROM g),
               (SELECT array_agg(DISTINCT g.job_id) FROM g JOIN jobs j ON j.id = g.job_id
                WHERE j.end_time IS NOT NULL)
        INTO v_gpu_stored, v_gpu_late;
        END IF;

        -- late samples of finished jobs: their summaries, from the rollups just written
        IF v_late IS NOT NULL OR v_gpu_late IS NOT NULL THEN
                PERFORM hjo_job_summarize(x.id)
                FROM (SELECT DISTINCT u.id FROM unnest(v_late || v_gpu_late) AS u(id)) x
                ORDER BY x.id;
        END IF;

        IF p_node_cpu IS NOT NULL OR p_node_mem_used IS NOT NULL OR p_node_mem_total IS NOT NULL
           OR p_node_jobs IS NOT NULL THEN
                INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                          memory_total_bytes, job_count)
                VALUES (p_node, p_ts, p_node_cpu, p_node_mem_used, p_node_mem_total, p_node_jobs)
                ON CONFLICT DO NOTHING;
        END IF;

        -- the jobs whose samples were refused, unknown or finished before p_ts: none when every
        -- job sample found a live job of its own (the usual batch)
        IF v_in > 0 AND (v_gpu_in > 0 OR v_live < v_in) THEN
        FOR v_ref IN
                SELECT b.job_id AS id, b.cnt, j.id IS NULL AS unknown
                FROM (SELECT x.job_id, count(*) AS cnt FROM unnest(p_job_ids) AS x(job_id)
                      GROUP BY x.job_id) b
                LEFT JOIN jobs j ON j.id = b.job_id
                WHERE j.id IS NULL OR NOT (j.state IN ('pending', 'running') OR p_ts <= j.end_time)
                ORDER BY b.job_id
        LOOP
                kind := CASE WHEN v_ref.unknown THEN 'unknown' ELSE 'finished' END;
                job_id := v_ref.id;
                RETURN NEXT;
                IF v_ref.unknown THEN
                        v_unknown := v_unknown + 1;
                ELSE
                        v_finished := v_finished + 1;
                END IF;
                v_rejected := v_rejected + v_ref.cnt;
        END LOOP;
        END IF;

        IF p_health IS NOT NULL THEN
                INSERT INTO collector_health AS h (node, updated_at, last_cycle_at,
                        cycle_duration_ms, jobs_seen, samples_written, samples_buffered,
                        samples_dropped, tool_failures, unknown_jobs, version)
                VALUES (p_node, now(), p_ts, (p_health->>'cycle_ms')::float8,
                        (p_health->>'jobs_seen')::integer, v_stored,
                        (p_health->>'buffered')::bigint, (p_health->>'dropped')::bigint,
                        (p_health->>'tool_failures')::bigint, v_unknown::integer,
                        p_health->>'version')
                ON CONFLICT (node) DO UPDATE SET
                        updated_at = now(),
                        last_cycle_at = greatest(h.last_cycle_at, excluded.last_cycle_at),
                        cycle_duration_ms = excluded.cycle_duration_ms,
                        jobs_seen = excluded.jobs_seen,
                        samples_written = h.samples_written + v_stored,
                        samples_buffered = excluded.samples_buffered,
                        samples_dropped = excluded.samples_dropped,
                        tool_failures = excluded.tool_failures,
                        unknown_jobs = excluded.unknown_jobs,
                        version = excluded.version;
        ELSIF v_stored > 0 THEN
                UPDATE collector_health h SET samples_written = h.samples_written + v_stored,
                                              updated_at = now()
                WHERE h.node = p_node;
        END IF;

        RETURN QUERY
        SELECT 'count'::text, c.name, c.val, NULL::integer, NULL::text, NULL::text, NULL::text,
               NULL::text, NULL::float8
        FROM (VALUES ('stored', v_stored), ('duplicate', v_in - v_stored - v_rejected),
                     ('unknown', v_unknown), ('finished', v_finished),
                     ('gpu_stored', v_gpu_stored), ('gpu_received', v_gpu_in)) AS c(name, val);

        IF p_want_jobs THEN
                RETURN QUERY
                SELECT 'job', j.id, NULL::bigint, j.allocated_cpus,
                       array_to_string(j.gpu_devices, ','), j.cgroup_path, hjo_ts(j.start_time),
                       hjo_ts(l.ts), l.cpu_seconds
                FROM jobs j
                LEFT JOIN metric_latest l ON l.job_id = j.id AND l.node = p_node
                WHERE j.state IN ('pending', 'running') AND j.nodes @> ARRAY[p_node]
                ORDER BY j.id;
        END IF;
END
$$;
-- 3 ----------------------------------------------------------------------------------------
-- The readers of the rollups read them with the open minutes: 0065's hjo_samples_rows, 0050's
-- hjo_samples_list and 0060's hjo_job_summary_calc, with metric_rollup_1m/1h replaced by the
-- views above and nothing else changed.

-- from 0065 hjo_samples_rows
CREATE OR REPLACE FUNCTION hjo_samples_rows(p_id text, p_start timestamptz, p_end timestamptz,
                                 p_node text, p_limit integer, p_resolution text)
RETURNS TABLE (resolution text, total bigint, ts_usec bigint, ts_text text, node text,
               sample_count bigint, cpu_usage float8, cpu_usage_min float8,
               cpu_usage_max float8, memory_usage_bytes bigint, memory_usage_mb float8,
               memory_usage_bytes_max bigint, gpu_usage float8, gpu_usage_min float8,
               gpu_usage_max float8)
LANGUAGE plpgsql STABLE SET timezone = 'UTC' SET plan_cache_mode = force_generic_plan AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_lo timestamptz := coalesce(p_start, '-infinity');
        v_hi timestamptz := coalesce(p_end, 'infinity');
        v_raw_n bigint;
        v_1m_n bigint;
BEGIN
        PERFORM 1 FROM jobs j WHERE j.id = p_id;
        IF NOT FOUND THEN
                RETURN;
        END IF;
        IF v_res = 'auto' THEN
                SELECT coalesce(sum(r.n), 0) INTO v_raw_n FROM metric_rollup_1h_all r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM metric_rollup_1m_all r
                        WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                          AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        resolution := v_res;
        IF v_res = 'raw' THEN
                -- two statements: without a node test the count needs (job_id, ts) only, an
                -- index-only scan of metric_samples_job_ts_idx (~1 ms less for 26,000 samples)
                IF p_node IS NULL THEN
                        SELECT count(*) INTO total FROM metric_samples s
                        WHERE s.job_id = p_id AND s.ts >= v_lo AND s.ts <= v_hi;
                ELSE
                        SELECT count(*) INTO total FROM metric_samples s
                        WHERE s.job_id = p_id AND s.node = p_node AND s.ts >= v_lo
                          AND s.ts <= v_hi;
                END IF;
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(s.ts),
                       CASE WHEN hjo_ts_usec(s.ts) IS NULL THEN hjo_ts(s.ts) END, s.node,
                       NULL::bigint, s.cpu_usage, NULL::float8, NULL::float8,
                       s.memory_usage_bytes, s.memory_usage_bytes::float8 / 1048576,
                       NULL::bigint, s.gpu_usage, NULL::float8, NULL::float8
                FROM (SELECT s.ts, s.node, s.cpu_usage, s.memory_usage_bytes, s.gpu_usage
                      FROM metric_samples s
                      WHERE s.job_id = p_id AND s.ts >= v_lo AND s.ts <= v_hi
                        AND (p_node IS NULL OR s.node = p_node)
                      ORDER BY s.ts, s.node LIMIT p_limit) s
                ORDER BY s.ts, s.node;
        ELSIF v_res = '1m' THEN
                SELECT count(*) INTO total FROM metric_rollup_1m_all r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.node, p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min,
                       p.cpu_max, round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                       (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576, p.mem_max,
                       (p.gpu_sum / nullif(p.gpu_n, 0))::float8, p.gpu_min, p.gpu_max
                FROM (SELECT * FROM metric_rollup_1m_all r
                      WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                        AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node)
                      ORDER BY r.bucket, r.node LIMIT p_limit) p
                ORDER BY p.bucket, p.node;
        ELSIF v_res = '1h' THEN
                SELECT count(*) INTO total FROM metric_rollup_1h_all r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.node, p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min,
                       p.cpu_max, round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                       (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576, p.mem_max,
                       (p.gpu_sum / nullif(p.gpu_n, 0))::float8, p.gpu_min, p.gpu_max
                FROM (SELECT * FROM metric_rollup_1h_all r
                      WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                        AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node)
                      ORDER BY r.bucket, r.node LIMIT p_limit) p
                ORDER BY p.bucket, p.node;
        ELSE
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
END
$$;

-- from 0050 hjo_samples_list
CREATE OR REPLACE FUNCTION hjo_samples_list(p_id text, p_start timestamptz, p_end timestamptz,
                                 p_node text, p_limit integer, p_resolution text) RETURNS json
LANGUAGE plpgsql STABLE SET timezone = 'UTC' AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_raw_n bigint;
        v_1m_n bigint;
        v_tab text;
        v_where text;
        v_plan json;
        v_count_sql text;
        res json;
BEGIN
        PERFORM 1 FROM jobs WHERE id = p_id;
        IF NOT FOUND THEN
                RETURN NULL;
        END IF;
        IF v_res = 'auto' THEN
                -- the finest resolution whose entries for the range fit in one answer of
                -- max(limit, 1000): the 1-hour rollups of the range say how many raw samples
                -- and how many minutes with samples there are (a few dozen rows to read)
                SELECT coalesce(sum(r.n), 0), count(*) * 60 INTO v_raw_n, v_1m_n
                FROM metric_rollup_1h_all r
                WHERE r.job_id = p_id
                  AND (p_start IS NULL OR r.bucket >= date_trunc('hour', p_start))
                  AND (p_end IS NULL OR r.bucket <= p_end)
                  AND (p_node IS NULL OR r.node = p_node);
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM metric_rollup_1m_all r
                        WHERE r.job_id = p_id
                          AND (p_start IS NULL OR r.bucket >= date_trunc('minute', p_start))
                          AND (p_end IS NULL OR r.bucket <= p_end)
                          AND (p_node IS NULL OR r.node = p_node);
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        -- page and count are separate index scans (a CTE used twice would be materialized:
        -- every sample of the job read to return a page)
        -- EXECUTE: planned with this call's values, so absent filters fold away and the
        -- partitions outside [start_time, end_time] are pruned
        IF v_res = 'raw' THEN
                v_where := 's.job_id = $1 AND ($2 IS NULL OR s.ts >= $2)'
                           ' AND ($3 IS NULL OR s.ts <= $3) AND ($4 IS NULL OR s.node = $4)';
                EXECUTE format($q$
                        SELECT json_build_object(
                                'job_id', $1,
                                'resolution', 'raw',
                                'samples', coalesce((SELECT json_agg(json_build_object(
                                                'timestamp', hjo_ts(page.ts),
                                                'node', page.node,
                                                'cpu_usage', page.cpu_usage,
                                                'memory_usage_bytes', page.memory_usage_bytes,
                                                'memory_usage_mb', page.memory_usage_bytes::float8 / 1048576,
                                                'gpu_usage', page.gpu_usage) ORDER BY page.ts, page.node)
                                        FROM (SELECT s.ts, s.node, s.cpu_usage, s.memory_usage_bytes,
                                                     s.gpu_usage
                                              FROM metric_samples s WHERE %s
                                              ORDER BY s.ts, s.node LIMIT $5) page), '[]'::json),
                                'total', (SELECT count(*) FROM metric_samples s WHERE %s))
                        $q$, v_where, v_where)
                INTO res USING p_id, p_start, p_end, p_node, p_limit;
                RETURN res;
        END IF;
        v_tab := CASE v_res WHEN '1m' THEN 'metric_rollup_1m_all'
                            WHEN '1h' THEN 'metric_rollup_1h_all' END;
        IF v_tab IS NULL THEN
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
        v_where := format('r.job_id = $1 AND ($2 IS NULL OR r.bucket >= date_trunc(%L, $2))'
                          ' AND ($3 IS NULL OR r.bucket <= $3) AND ($4 IS NULL OR r.node = $4)',
                          CASE v_res WHEN '1m' THEN 'minute' ELSE 'hour' END);
        EXECUTE format($q$
                SELECT json_build_object(
                        'job_id', $1,
                        'resolution', %L,
                        'samples', coalesce((SELECT json_agg(json_build_object(
                                        'timestamp', hjo_ts(p.bucket),
                                        'node', p.node,
                                        'sample_count', p.n,
                                        'cpu_usage', (p.cpu_sum / nullif(p.cpu_n, 0))::float8,
                                        'cpu_usage_min', p.cpu_min,
                                        'cpu_usage_max', p.cpu_max,
                                        'memory_usage_bytes', round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                                        'memory_usage_mb', (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576,
                                        'memory_usage_bytes_max', p.mem_max,
                                        'gpu_usage', (p.gpu_sum / nullif(p.gpu_n, 0))::float8,
                                        'gpu_usage_min', p.gpu_min,
                                        'gpu_usage_max', p.gpu_max) ORDER BY p.bucket, p.node)
                                FROM (SELECT * FROM %I r WHERE %s
                                      ORDER BY r.bucket, r.node LIMIT $5) p), '[]'::json),
                        'total', (SELECT count(*) FROM %I r WHERE %s))
                $q$, v_res, v_tab, v_where, v_tab, v_where)
        INTO res USING p_id, p_start, p_end, p_node, p_limit;
        RETURN res;
END
$$;

-- from 0060 hjo_job_summary_calc
CREATE OR REPLACE FUNCTION hjo_job_summary_calc(p_id text, p_start timestamptz, p_end timestamptz,
                                     p_cpus integer, p_mem_mb bigint, p_gpus integer,
                                     OUT cpu_seconds double precision,
                                     OUT cpu_efficiency double precision,
                                     OUT memory_peak_mb double precision,
                                     OUT memory_peak_ratio double precision,
                                     OUT gpu_mean_utilization double precision,
                                     OUT gpu_max_utilization double precision,
                                     OUT idle_gpu_hours double precision)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
DECLARE
        v_elapsed double precision;
        m record;
        g record;
BEGIN
        IF p_start IS NOT NULL AND p_end IS NOT NULL THEN
                v_elapsed := extract(epoch FROM p_end - p_start);
        END IF;

        SELECT sum(x.cpu_s) AS counter_s, sum(x.cpu_n) AS cpu_n, sum(x.cpu_sum) AS cpu_sum,
               max(x.peak) AS peak, sum(x.gpu_n) AS gpu_n, sum(x.gpu_sum) AS gpu_sum,
               max(x.gpu_max) AS gpu_max, sum(x.gpu_idle_n) AS gpu_idle_n
        INTO m
        FROM (SELECT r.node, max(r.cpu_seconds_max) AS cpu_s, sum(r.cpu_n) AS cpu_n,
                     sum(r.cpu_sum) AS cpu_sum,
                     greatest(max(r.mem_peak_max), max(r.mem_max)) AS peak,
                     sum(r.gpu_n) AS gpu_n, sum(r.gpu_sum) AS gpu_sum, max(r.gpu_max) AS gpu_max,
                     sum(r.gpu_idle_n) AS gpu_idle_n
              FROM metric_rollup_1h_all r WHERE r.job_id = p_id GROUP BY r.node) x;

        SELECT sum(y.util_n) AS util_n, sum(y.util_sum) AS util_sum, max(y.util_max) AS util_max,
               sum(y.idle_share) AS idle_share
        INTO g
        FROM (SELECT sum(r.util_n) AS util_n, sum(r.util_sum) AS util_sum,
                     max(r.util_max) AS util_max,
                     sum(r.util_idle_n)::double precision / nullif(sum(r.util_n), 0) AS idle_share
              FROM gpu_rollup_1h r WHERE r.job_id = p_id GROUP BY r.node, r.gpu_id) y;

        IF m.counter_s IS NOT NULL THEN
                cpu_seconds := m.counter_s;
                IF v_elapsed > 0 AND p_cpus > 0 THEN
                        cpu_efficiency := cpu_seconds / (v_elapsed * p_cpus);
                END IF;
        ELSIF m.cpu_n > 0 THEN
                cpu_efficiency := (m.cpu_sum / m.cpu_n / 100)::double precision;
                IF v_elapsed IS NOT NULL AND p_cpus IS NOT NULL THEN
                        cpu_seconds := cpu_efficiency * v_elapsed * p_cpus;
                END IF;
        END IF;
        memory_peak_mb := m.peak / 1048576.0;
        IF p_mem_mb > 0 THEN
                memory_peak_ratio := memory_peak_mb / p_mem_mb;
        END IF;
        IF g.util_n > 0 THEN
                gpu_mean_utilization := (g.util_sum / g.util_n)::double precision;
                gpu_max_utilization := g.util_max;
                idle_gpu_hours := v_elapsed / 3600 * g.idle_share;
        ELSIF m.gpu_n > 0 THEN
                gpu_mean_utilization := (m.gpu_sum / m.gpu_n)::double precision;
                gpu_max_utilization := m.gpu_max;
                idle_gpu_hours := v_elapsed / 3600 * p_gpus * m.gpu_idle_n / m.gpu_n;
        END IF;
END
$$;

-- from 0050 hjo_job_patch
CREATE OR REPLACE FUNCTION hjo_job_patch(p_id text, p_state text, p_cpu double precision,
                              p_mem_mb double precision, p_gpu double precision,
                              p_changed_by text, p_source text, p_corr text) RETURNS json
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
        j jobs;
        n jobs;
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_id FOR UPDATE;
        IF NOT FOUND THEN
                RAISE EXCEPTION 'job not found' USING ERRCODE = 'HJ404';
        END IF;
        IF j.state IN ('completed', 'failed', 'cancelled') THEN
                RAISE EXCEPTION 'job has already finished (state %)', j.state
                        USING ERRCODE = 'HJ409';
        END IF;
        UPDATE jobs SET state = coalesce(p_state, state),
                        end_time = CASE WHEN coalesce(p_state, state) IN ('pending', 'running')
                                        THEN NULL ELSE greatest(now(), start_time) END,
                        runtime_seconds = CASE WHEN coalesce(p_state, state) IN ('pending', 'running')
                                        THEN NULL
                                        ELSE extract(epoch FROM greatest(now(), start_time) - start_time) END,
                        cpu_usage = coalesce(p_cpu, cpu_usage),
                        memory_usage_mb = coalesce(p_mem_mb, memory_usage_mb),
                        gpu_usage = coalesce(p_gpu, gpu_usage),
                        -- a value given here stays the current one until a later sample
                        last_sample_at = CASE WHEN coalesce(p_cpu, p_mem_mb, p_gpu) IS NULL
                                              THEN last_sample_at
                                              ELSE greatest(last_sample_at,
                                                            (SELECT max(l.ts) FROM metric_latest l
                                                             WHERE l.job_id = p_id)) END,
                        updated_at = now()
        WHERE id = p_id
        RETURNING * INTO n;
        IF n.end_time IS NOT NULL THEN
                PERFORM hjo_job_summarize(p_id);
                SELECT * INTO n FROM jobs WHERE id = p_id;
        END IF;
        PERFORM hjo_audit(p_id, 'update', p_changed_by, p_source, p_corr,
                          jsonb_build_object('before', to_jsonb(j) - 'updated_at',
                                             'after', to_jsonb(n) - 'updated_at'));
        RETURN hjo_job_json(n);
END
$$;

-- 4 ----------------------------------------------------------------------------------------
-- A job row with its running aggregates: the columns plus the live_* of its metric_latest
-- rows, and the current values of its newest sample (the highest node name among the newest)
-- when that is newer than what the row holds (a PATCH or hjo_add_sample).
CREATE FUNCTION hjo_job_live(j jobs) RETURNS jobs
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
DECLARE
        s record;
BEGIN
        -- one index scan; rows with live_n = 0 were written by other writers (the triggers of
        -- hjo_add_sample or SQL), which kept the jobs row themselves
        SELECT sum(l.live_n) AS n, sum(l.live_cpu_missing) AS cpu_missing,
               sum(l.live_cpu_sum) AS cpu_sum, max(l.live_cpu_max) AS cpu_max,
               max(l.live_mem_max) AS mem_max, sum(l.live_gpu_n) AS gpu_n,
               sum(l.live_gpu_sum) AS gpu_sum, max(l.live_gpu_max) AS gpu_max, max(l.ts) AS last,
               (array_agg(l.cpu_usage ORDER BY l.ts DESC, l.node DESC))[1] AS cpu,
               (array_agg(l.memory_usage_bytes ORDER BY l.ts DESC, l.node DESC))[1] AS mem,
               (array_agg(l.gpu_usage ORDER BY l.ts DESC, l.node DESC))[1] AS gpu
        INTO s
        FROM metric_latest l WHERE l.job_id = j.id AND l.live_n > 0;
        IF s.last IS NULL THEN
                RETURN j;
        END IF;
        j.sample_count := j.sample_count + s.n;
        j.cpu_missing_count := j.cpu_missing_count + s.cpu_missing;
        j.cpu_usage_sum := j.cpu_usage_sum + s.cpu_sum;
        j.max_cpu_usage := greatest(j.max_cpu_usage, s.cpu_max);
        j.max_memory_usage_mb := greatest(j.max_memory_usage_mb, (s.mem_max / 1048576.0)::float8);
        j.gpu_sample_count := j.gpu_sample_count + s.gpu_n;
        j.gpu_usage_sum := j.gpu_usage_sum + s.gpu_sum;
        j.max_gpu_usage := greatest(j.max_gpu_usage, s.gpu_max);
        IF j.last_sample_at IS NULL OR s.last > j.last_sample_at THEN
                j.cpu_usage := s.cpu;
                j.memory_usage_mb := (s.mem / 1048576.0)::float8;
                j.gpu_usage := s.gpu;
                j.last_sample_at := s.last;
        END IF;
        RETURN j;
END
$$;

-- The job's JSON (0050's, kept as hjo_job_json_stored) of the row with its running aggregates.
-- PL/pgSQL, not SQL: an SQL function would be inlined with hjo_job_live(j) in place of every
-- field the JSON reads (40 calls a job, measured: 100 jobs in 55 ms instead of 9 ms).
ALTER FUNCTION hjo_job_json(jobs) RENAME TO hjo_job_json_stored;
CREATE FUNCTION hjo_job_json(j jobs) RETURNS json
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
BEGIN
        RETURN hjo_job_json_stored(hjo_job_live(j));
END
$$;

-- hjo-admin maintain: the metric_latest and gpu_latest rows of the jobs that ended more than
-- p_secs ago go, after their live aggregates moved into the jobs row (hjo_job_live, so the
-- job's JSON is the same before and after) and their open minutes into the rollups.  The jobs
-- are locked in id order, as every writer of their samples locks them.
CREATE FUNCTION hjo_latest_retire(p_secs float8, OUT metric bigint, OUT gpu bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
        v_ids text[];
BEGIN
        SELECT array_agg(k.id) INTO v_ids
        FROM (SELECT j.id FROM jobs j
              WHERE j.id IN (SELECT l.job_id FROM metric_latest l
                             UNION SELECT g.job_id FROM gpu_latest g)
                AND j.end_time < now() - make_interval(secs => p_secs)
              ORDER BY j.id FOR UPDATE OF j) k;
        metric := 0;
        gpu := 0;
        IF v_ids IS NULL THEN
                RETURN;
        END IF;

        UPDATE jobs j SET sample_count = x.sample_count,
                          cpu_missing_count = x.cpu_missing_count,
                          cpu_usage_sum = x.cpu_usage_sum, max_cpu_usage = x.max_cpu_usage,
                          max_memory_usage_mb = x.max_memory_usage_mb,
                          gpu_sample_count = x.gpu_sample_count, gpu_usage_sum = x.gpu_usage_sum,
                          max_gpu_usage = x.max_gpu_usage, cpu_usage = x.cpu_usage,
                          memory_usage_mb = x.memory_usage_mb, gpu_usage = x.gpu_usage,
                          last_sample_at = x.last_sample_at
        FROM (SELECT l.* FROM jobs j2, LATERAL hjo_job_live(j2) l
              WHERE j2.id = ANY (v_ids)) x
        WHERE j.id = x.id;

        WITH d AS (
                DELETE FROM metric_latest l WHERE l.job_id = ANY (v_ids)
                RETURNING l.job_id, l.node, l.m_bucket, l.m_n, l.m_cpu_n, l.m_cpu_sum,
                          l.m_cpu_min, l.m_cpu_max, l.m_mem_n, l.m_mem_sum, l.m_mem_min,
                          l.m_mem_max, l.m_gpu_n, l.m_gpu_sum, l.m_gpu_min, l.m_gpu_max,
                          l.m_gpu_idle_n, l.m_cpu_seconds_max, l.m_mem_peak_max
        ), o AS (
                SELECT * FROM d WHERE d.m_bucket IS NOT NULL
        ), r1m AS (
                INSERT INTO metric_rollup_1m AS r (job_id, node, bucket, n, cpu_n, cpu_sum,
                        cpu_min, cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum,
                        gpu_min, gpu_max, gpu_idle_n, cpu_seconds_max, mem_peak_max)
                SELECT o.job_id, o.node, o.m_bucket, o.m_n, o.m_cpu_n, o.m_cpu_sum, o.m_cpu_min,
                       o.m_cpu_max, o.m_mem_n, o.m_mem_sum, o.m_mem_min, o.m_mem_max, o.m_gpu_n,
                       o.m_gpu_sum, o.m_gpu_min, o.m_gpu_max, o.m_gpu_idle_n,
                       o.m_cpu_seconds_max, o.m_mem_peak_max
                FROM o
                ON CONFLICT ON CONSTRAINT metric_rollup_1m_pkey DO UPDATE SET
                        n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                        cpu_sum = r.cpu_sum + excluded.cpu_sum,
                        cpu_min = least(r.cpu_min, excluded.cpu_min),
                        cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                        mem_n = r.mem_n + excluded.mem_n,
                        mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max),
                        gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                        gpu_min = least(r.gpu_min, excluded.gpu_min),
                        gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                        gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                        cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                        mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max)
        ), r1h AS (
                INSERT INTO metric_rollup_1h AS r (job_id, node, bucket, n, cpu_n, cpu_sum,
                        cpu_min, cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum,
                        gpu_min, gpu_max, gpu_idle_n, cpu_seconds_max, mem_peak_max)
                SELECT o.job_id, o.node, date_trunc('hour', o.m_bucket, 'UTC'), o.m_n, o.m_cpu_n,
                       o.m_cpu_sum, o.m_cpu_min, o.m_cpu_max, o.m_mem_n, o.m_mem_sum, o.m_mem_min,
                       o.m_mem_max, o.m_gpu_n, o.m_gpu_sum, o.m_gpu_min, o.m_gpu_max,
                       o.m_gpu_idle_n, o.m_cpu_seconds_max, o.m_mem_peak_max
                FROM o
                ON CONFLICT ON CONSTRAINT metric_rollup_1h_pkey DO UPDATE SET
                        n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                        cpu_sum = r.cpu_sum + excluded.cpu_sum,
                        cpu_min = least(r.cpu_min, excluded.cpu_min),
                        cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                        mem_n = r.mem_n + excluded.mem_n,
                        mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max),
                        gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                        gpu_min = least(r.gpu_min, excluded.gpu_min),
                        gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                        gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                        cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                        mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max)
        )
        SELECT count(*) INTO metric FROM d;

        DELETE FROM gpu_latest g WHERE g.job_id = ANY (v_ids);
        GET DIAGNOSTICS gpu = ROW_COUNT;
END
$$;

-- GET /v1/jobs: 0061's hjo_jobs_list, with the page's rows given their running aggregates once
-- each (LATERAL) and their JSON built inline (hjo_job_json_stored), as hjo_job_json does for one
-- job.
CREATE OR REPLACE FUNCTION hjo_jobs_list(p_state text, p_user text, p_node text, p_account text,
                              p_partition text, p_since timestamptz, p_until timestamptz,
                              p_limit integer, p_offset integer, p_sort text,
                              p_eff_lt float8, p_eff_gt float8, p_mem_lt float8, p_mem_gt float8,
                              p_gpu_lt float8, p_gpu_gt float8, p_idle_lt float8,
                              p_idle_gt float8, p_count text, p_after_ts timestamptz,
                              p_after_num float8, p_after_id text) RETURNS json
-- VOLATILE only because PostgreSQL allows EXPLAIN (count=estimate) in volatile functions alone;
-- it writes nothing (hjo_api may not).
LANGUAGE plpgsql AS $$
DECLARE
        v_sort text := coalesce(p_sort, '-start_time');
        v_key text := ltrim(v_sort, '-');
        v_desc boolean := left(v_sort, 1) = '-';
        v_cmp text := CASE WHEN v_desc THEN '<' ELSE '>' END;
        v_order text;
        v_extra text := '';
        v_after text := '';
        v_after2 text;
        v_page text;
        v_where text;
        v_cursor text;
        v_plan json;
        v_count_sql text;
        res json;
BEGIN
        IF v_sort IN ('start_time', '-start_time') THEN
                v_order := CASE WHEN v_desc THEN 'start_time DESC NULLS LAST, id DESC'
                                ELSE 'start_time ASC NULLS FIRST, id ASC' END;
                v_cursor := 'hjo_jobs_cursor($18, l.start_time, NULL, l.id)';
        ELSIF v_key IN ('cpu_efficiency', 'memory_peak_ratio', 'gpu_mean_utilization',
                        'idle_gpu_hours') AND v_sort IN (v_key, '-' || v_key) THEN
                v_order := format('%I %s, id %s', v_key,
                                  CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END,
                                  CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END);
                v_extra := format(' AND %I IS NOT NULL', v_key);
                v_cursor := format('hjo_jobs_cursor($18, NULL, l.%I, l.id)', v_key);
        ELSE
                RAISE EXCEPTION 'sort must be one of start_time, cpu_efficiency, '
                        'memory_peak_ratio, gpu_mean_utilization, idle_gpu_hours, optionally '
                        'prefixed with -' USING ERRCODE = 'HJ400', COLUMN = 'sort';
        END IF;
        -- the keyset predicate ($19 key as timestamptz, $20 key as float8, $21 id); v_after2,
        -- when set, is a second index range that follows the first in the order (the NULL
        -- start_times, which a row comparison never matches)
        IF p_after_id IS NOT NULL THEN
                IF coalesce(p_offset, 0) <> 0 THEN
                        RAISE EXCEPTION 'after and offset cannot be combined'
                                USING ERRCODE = 'HJ400', COLUMN = 'after';
                END IF;
                IF v_key = 'start_time' AND p_after_num IS NULL THEN
                        IF p_after_ts IS NOT NULL THEN
                                v_after := format(' AND (start_time, id) %s ($19, $21)', v_cmp);
                                IF v_desc THEN
                                        v_after2 := ' AND start_time IS NULL';
                                END IF;
                        ELSE
                                v_after := format(' AND start_time IS NULL AND id %s $21', v_cmp);
                                IF NOT v_desc THEN
                                        v_after2 := ' AND start_time IS NOT NULL';
                                END IF;
                        END IF;
                ELSIF v_key <> 'start_time' AND p_after_num IS NOT NULL AND p_after_ts IS NULL THEN
                        v_after := format(' AND (%I, id) %s ($20, $21)', v_key, v_cmp);
                ELSE
                        RAISE EXCEPTION 'after does not belong to sort %', v_sort
                                USING ERRCODE = 'HJ400', COLUMN = 'after';
                END IF;
        END IF;
        v_where := $w$
                ($1 IS NULL OR state = $1)
                AND ($2 IS NULL OR user_name = $2)
                AND ($3 IS NULL OR nodes @> ARRAY[$3])
                AND ($4 IS NULL OR account = $4)
                AND ($5 IS NULL OR partition = $5)
                AND ($6 IS NULL OR start_time >= $6)
                AND ($7 IS NULL OR start_time <= $7)
                AND ($10 IS NULL OR cpu_efficiency < $10)
                AND ($11 IS NULL OR cpu_efficiency > $11)
                AND ($12 IS NULL OR memory_peak_ratio < $12)
                AND ($13 IS NULL OR memory_peak_ratio > $13)
                AND ($14 IS NULL OR gpu_mean_utilization < $14)
                AND ($15 IS NULL OR gpu_mean_utilization > $15)
                AND ($16 IS NULL OR idle_gpu_hours < $16)
                AND ($17 IS NULL OR idle_gpu_hours > $17)$w$ || v_extra;
        -- count=estimate: the planner's row estimate instead of counting (an exact count reads
        -- every matching index entry: ~150 ms for a million jobs)
        IF coalesce(p_count, 'exact') = 'estimate' THEN
                EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM jobs WHERE ' || v_where
                INTO v_plan
                USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
                      p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt,
                      p_idle_lt, p_idle_gt;
                v_count_sql := format('%s::bigint', (v_plan->0->'Plan'->>'Plan Rows')::bigint);
        ELSIF coalesce(p_count, 'exact') = 'exact' THEN
                v_count_sql := 'SELECT count(*) FROM jobs WHERE ' || v_where;
        ELSE
                RAISE EXCEPTION 'count must be exact or estimate' USING ERRCODE = 'HJ400',
                        COLUMN = 'count';
        END IF;
        -- the page plus one row (is there a next page?); each range is an index scan in the
        -- order of the ORDER BY that stops after limit + 1 rows.  A deep offset first finds the
        -- page's ids in the sort key's index (an index-only scan over the rows it skips), then
        -- reads those rows: reading every skipped row whole made the planner sort the table
        -- instead (the last page of 10,000 jobs, offset=10000: 15 ms against 2 ms).  From
        -- offset 1000 on, where both take the same time.
        IF p_offset >= 1000 THEN
                v_page := format('SELECT * FROM jobs WHERE id IN (SELECT id FROM jobs WHERE %s%s'
                                 ' ORDER BY %s LIMIT $8 + 1 OFFSET $9)', v_where, v_after, v_order);
        ELSE
                v_page := format('SELECT * FROM jobs WHERE %s%s ORDER BY %s LIMIT $8 + 1 OFFSET $9',
                                 v_where, v_after, v_order);
        END IF;
        IF v_after2 IS NOT NULL THEN
                v_page := format('SELECT * FROM ((%s) UNION ALL (SELECT * FROM jobs WHERE %s%s'
                                 ' ORDER BY %s LIMIT $8 + 1)) u ORDER BY %s LIMIT $8 + 1',
                                 v_page, v_where, v_after2, v_order, v_order);
        END IF;
        -- the page (at most limit + 1 rows, read once: a CTE used three times is materialized)
        -- and the count are separate scans of jobs (a CTE shared with the count would read
        -- every matching row to return 100)
        EXECUTE format($q$
                WITH page AS (%s)
                SELECT json_build_object(
                        'jobs', coalesce((SELECT json_agg(hjo_job_json_stored(p) ORDER BY %s)
                                          FROM (SELECT l.*
                                                FROM (SELECT * FROM page ORDER BY %s
                                                      LIMIT $8) q,
                                                     LATERAL hjo_job_live(q) l) p),
                                         '[]'::json),
                        'total', (%s),
                        'limit', $8,
                        'offset', $9,
                        'next_cursor', (SELECT %s
                                        FROM (SELECT * FROM page ORDER BY %s
                                              OFFSET $8 - 1 LIMIT 1) l
                                        WHERE (SELECT count(*) FROM page) > $8))
                $q$, v_page, v_order, v_order, v_count_sql, v_cursor, v_order)
        INTO res
        USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
              p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt, p_idle_lt,
              p_idle_gt, v_sort, p_after_ts, p_after_num, p_after_id;
        RETURN res;
END
$$;

REVOKE EXECUTE ON FUNCTION hjo_job_live(jobs), hjo_job_json(jobs), hjo_latest_retire(float8)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_job_live(jobs), hjo_job_json(jobs) TO hjo_api;
