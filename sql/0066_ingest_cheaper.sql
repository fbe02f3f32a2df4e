-- 0066_ingest_cheaper.sql: sample ingest with fewer statements (issue 6, benchmark figure 2).
-- Nothing a client sees changes: the same raw rows, 1-minute and 1-hour rollups, latest rows
-- and job aggregates, written in the same transaction.  See docs/performance.md.
--
-- 1. The rollup triggers of metric_samples and gpu_samples (0050, 0062) stand aside where the
--    writer keeps the rollups itself: hjo.ingest_writes_rollups = 'on', which only
--    hjo_ingest_batch sets, for its own statements.  Every other writer (hjo_add_sample, the
--    demo seed, SQL) is served by the triggers as before.
-- 2. hjo_ingest_batch locks the batch's jobs, writes its job samples, their 1-minute and 1-hour
--    rollup rows, metric_latest and the job aggregates, and counts the live jobs in one
--    statement (data-modifying CTEs over the rows the INSERT returns): one statement where
--    0060 ran seven (lock, insert + aggregates, three trigger upserts, the late-summary check,
--    the refused jobs).  The refused jobs are looked up only when some sample found no live
--    job; GPU samples likewise, in a second statement when there are any.
-- Measured replaying 1,920 64-sample batches: 11-14 % fewer instructions per batch in
-- PostgreSQL (callgrind; docs/performance.md).

-- 1 ----------------------------------------------------------------------------------------
-- The triggers stand aside for a writer that keeps the rollups itself.  A statement-level
-- WHEN is evaluated once per statement, before the trigger function is called.
DROP TRIGGER metric_samples_rollup ON metric_samples;
DROP TRIGGER gpu_samples_rollup ON gpu_samples;
DROP TRIGGER gpu_samples_latest ON gpu_samples;
CREATE TRIGGER metric_samples_rollup AFTER INSERT ON metric_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        WHEN (current_setting('hjo.ingest_writes_rollups', true) IS DISTINCT FROM 'on')
        EXECUTE FUNCTION hjo_metric_rollup_trg();
CREATE TRIGGER gpu_samples_rollup AFTER INSERT ON gpu_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        WHEN (current_setting('hjo.ingest_writes_rollups', true) IS DISTINCT FROM 'on')
        EXECUTE FUNCTION hjo_gpu_rollup_trg();
CREATE TRIGGER gpu_samples_latest AFTER INSERT ON gpu_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        WHEN (current_setting('hjo.ingest_writes_rollups', true) IS DISTINCT FROM 'on')
        EXECUTE FUNCTION hjo_gpu_latest_trg();

-- 2 ----------------------------------------------------------------------------------------
-- POST /v1/samples and collectord's database sink: 0060's hjo_ingest_batch, the same answer.
-- Every sample of a batch has the batch's timestamp, and (job, node, ts) is the primary key, so
-- the rows the INSERT returns are one per (job, node): each is one 1-minute row, one 1-hour
-- row and one latest row, upserted straight from the RETURNING list, without grouping.  The
-- function runs with hjo.ingest_writes_rollups = 'on' (its SET clause, undone when it returns),
-- so the triggers stand aside for its INSERTs.  Every row a batch writes belongs to a job it
-- has locked (lk), so batches touching the same job are serialised on that lock; rollup and
-- latest rows need no order of their own.
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
BEGIN
        IF p_node IS NULL OR p_ts IS NULL THEN
                RAISE EXCEPTION 'node and timestamp are required' USING ERRCODE = 'HJ400',
                        COLUMN = CASE WHEN p_node IS NULL THEN 'node' ELSE 'timestamp' END;
        END IF;

        IF v_in > 0 OR v_gpu_in > 0 THEN
        WITH lk AS (
                -- one lock order for every writer of several jobs
                SELECT j.id, j.state IN ('pending', 'running') OR p_ts <= j.end_time AS live,
                       j.end_time IS NOT NULL AS ended
                FROM jobs j
                WHERE j.id = ANY (coalesce(p_job_ids, '{}') || coalesce(p_gpu_job_ids, '{}'))
                ORDER BY j.id FOR UPDATE
        ), ins AS (
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
                JOIN lk ON lk.id = b.job_id AND lk.live
                ORDER BY 1, 2
                ON CONFLICT DO NOTHING
                -- one sample's contribution to a rollup row, computed once for all three
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
        ), r1m AS (
                INSERT INTO metric_rollup_1m AS r (job_id, node, bucket, n, cpu_n, cpu_sum,
                        cpu_min, cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum,
                        gpu_min, gpu_max, gpu_idle_n, cpu_seconds_max, mem_peak_max)
                SELECT i.job_id, i.node, v_minute, 1, i.cpu_n, i.cpu_sum, i.cpu_usage,
                       i.cpu_usage, i.mem_n, i.mem_sum, i.memory_usage_bytes,
                       i.memory_usage_bytes, i.gpu_n, i.gpu_sum, i.gpu_usage, i.gpu_usage,
                       i.gpu_idle_n, i.cpu_seconds, i.memory_peak_bytes
                FROM ins i
                ON CONFLICT ON CONSTRAINT metric_rollup_1m_pkey DO UPDATE SET
                        n = r.n + 1, cpu_n = r.cpu_n + excluded.cpu_n,
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
                SELECT i.job_id, i.node, v_hour, 1, i.cpu_n, i.cpu_sum, i.cpu_usage,
                       i.cpu_usage, i.mem_n, i.mem_sum, i.memory_usage_bytes,
                       i.memory_usage_bytes, i.gpu_n, i.gpu_sum, i.gpu_usage, i.gpu_usage,
                       i.gpu_idle_n, i.cpu_seconds, i.memory_peak_bytes
                FROM ins i
                ON CONFLICT ON CONSTRAINT metric_rollup_1h_pkey DO UPDATE SET
                        n = r.n + 1, cpu_n = r.cpu_n + excluded.cpu_n,
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
                INSERT INTO metric_latest AS l (job_id, node, ts, cpu_usage, memory_usage_bytes,
                        gpu_usage, cpu_seconds, memory_peak_bytes, oom_kills)
                SELECT i.job_id, i.node, p_ts, i.cpu_usage, i.memory_usage_bytes, i.gpu_usage,
                       i.cpu_seconds, i.memory_peak_bytes, i.oom_kills
                FROM ins i
                ON CONFLICT ON CONSTRAINT metric_latest_pkey DO UPDATE SET
                        ts = excluded.ts, cpu_usage = excluded.cpu_usage,
                        memory_usage_bytes = excluded.memory_usage_bytes,
                        gpu_usage = excluded.gpu_usage, cpu_seconds = excluded.cpu_seconds,
                        memory_peak_bytes = excluded.memory_peak_bytes,
                        oom_kills = excluded.oom_kills
                WHERE excluded.ts > l.ts
        ), agg AS (
                -- per job; the last values are those of the highest node name
                SELECT DISTINCT ON (i.job_id) i.job_id, count(*) OVER w AS cnt,
                       sum(i.cpu_n) OVER w AS n_cpu, sum(i.cpu_usage) OVER w AS s_cpu,
                       max(i.cpu_usage) OVER w AS m_cpu, max(i.memory_usage_bytes) OVER w AS m_mem,
                       sum(i.gpu_n) OVER w AS n_gpu, sum(i.gpu_usage) OVER w AS s_gpu,
                       max(i.gpu_usage) OVER w AS m_gpu, i.cpu_usage AS l_cpu,
                       i.memory_usage_bytes AS l_mem, i.gpu_usage AS l_gpu
                FROM ins i WINDOW w AS (PARTITION BY i.job_id)
                ORDER BY i.job_id, i.node DESC
        ), upd AS (
                UPDATE jobs j SET
                        sample_count = j.sample_count + a.cnt,
                        cpu_missing_count = j.cpu_missing_count + (a.cnt - a.n_cpu),
                        cpu_usage_sum = j.cpu_usage_sum + coalesce(a.s_cpu, 0),
                        max_cpu_usage = greatest(j.max_cpu_usage, a.m_cpu),
                        max_memory_usage_mb = greatest(j.max_memory_usage_mb,
                                                       (a.m_mem / 1048576.0)::float8),
                        gpu_sample_count = j.gpu_sample_count + a.n_gpu,
                        gpu_usage_sum = j.gpu_usage_sum + coalesce(a.s_gpu, 0),
                        max_gpu_usage = CASE WHEN a.n_gpu = 0 THEN j.max_gpu_usage
                                             ELSE greatest(j.max_gpu_usage, a.m_gpu) END,
                        cpu_usage = CASE WHEN j.last_sample_at IS NULL OR p_ts >= j.last_sample_at
                                         THEN a.l_cpu ELSE j.cpu_usage END,
                        memory_usage_mb = CASE WHEN j.last_sample_at IS NULL
                                                    OR p_ts >= j.last_sample_at
                                               THEN (a.l_mem / 1048576.0)::float8
                                               ELSE j.memory_usage_mb END,
                        gpu_usage = CASE WHEN j.last_sample_at IS NULL OR p_ts >= j.last_sample_at
                                         THEN a.l_gpu ELSE j.gpu_usage END,
                        last_sample_at = greatest(j.last_sample_at, p_ts),
                        updated_at = now()
                FROM agg a WHERE j.id = a.job_id
                RETURNING a.cnt
        )
        SELECT (SELECT coalesce(sum(u.cnt), 0) FROM upd u),
               (SELECT count(*) FROM lk WHERE lk.live),
               -- late samples of a finished job: its summary follows them (below)
               (SELECT array_agg(DISTINCT i.job_id) FROM ins i JOIN lk ON lk.id = i.job_id
                WHERE lk.ended)
        INTO v_stored, v_live, v_late;
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
REVOKE EXECUTE ON FUNCTION hjo_ingest_batch(text, timestamptz, text[], text[], float8[],
        bigint[], float8[], float8[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[],
        bigint[], bigint[], bigint[], float8[], float8[], float8[], float8[], text[], text[],
        text[], text[], float8[], bigint[], bigint[], float8[], float8[], float8, bigint, bigint,
        integer, jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_ingest_batch(text, timestamptz, text[], text[], float8[],
        bigint[], float8[], float8[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[],
        bigint[], bigint[], bigint[], float8[], float8[], float8[], float8[], text[], text[],
        text[], text[], float8[], bigint[], bigint[], float8[], float8[], float8, bigint, bigint,
        integer, jsonb, boolean) TO hjo_api, hjo_collector;

