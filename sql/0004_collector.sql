-- 0004_collector.sql: what hjo-collectord stores (issue 3).
--
-- New per-sample columns (all nullable: NULL = not available on that host, never 0), the
-- collectors' own health (one row per node), and hjo_ingest_batch(): one interval's samples
-- of one node in one call, so a collector needs one round trip per interval (behind PgBouncer
-- in transaction pooling too: it is a plain function call, no prepared statement needed).
-- POST /v1/samples calls the same function.

ALTER TABLE metric_samples
        ADD COLUMN cpu_seconds        double precision CHECK (cpu_seconds >= 0),
        ADD COLUMN memory_peak_bytes  bigint CHECK (memory_peak_bytes >= 0),
        ADD COLUMN memory_max_bytes   bigint CHECK (memory_max_bytes >= 0),
        ADD COLUMN swap_bytes         bigint CHECK (swap_bytes >= 0),
        ADD COLUMN memory_anon_bytes  bigint CHECK (memory_anon_bytes >= 0),
        ADD COLUMN memory_file_bytes  bigint CHECK (memory_file_bytes >= 0),
        ADD COLUMN oom_kills          bigint CHECK (oom_kills >= 0),
        ADD COLUMN pids               bigint CHECK (pids >= 0),
        ADD COLUMN io_read_bytes      bigint CHECK (io_read_bytes >= 0),
        ADD COLUMN io_write_bytes     bigint CHECK (io_write_bytes >= 0),
        ADD COLUMN cpu_pressure_some  double precision CHECK (cpu_pressure_some BETWEEN 0 AND 100),
        ADD COLUMN cpu_pressure_full  double precision CHECK (cpu_pressure_full BETWEEN 0 AND 100),
        ADD COLUMN memory_pressure_some double precision
                CHECK (memory_pressure_some BETWEEN 0 AND 100),
        ADD COLUMN memory_pressure_full double precision
                CHECK (memory_pressure_full BETWEEN 0 AND 100);

-- memory_max_bytes NULL also stands for "max" (no limit): a limit that does not exist is not
-- a number.

CREATE TABLE collector_health (
        node              text PRIMARY KEY,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        last_cycle_at     timestamptz,
        cycle_duration_ms double precision CHECK (cycle_duration_ms >= 0),
        jobs_seen         integer CHECK (jobs_seen >= 0),
        samples_written   bigint NOT NULL DEFAULT 0,
        samples_buffered  bigint CHECK (samples_buffered >= 0),
        samples_dropped   bigint CHECK (samples_dropped >= 0),
        tool_failures     bigint CHECK (tool_failures >= 0),
        unknown_jobs      integer CHECK (unknown_jobs >= 0),
        version           text
);

-- One interval of one node.  Arrays of one sample per element (all of one length per group;
-- NULL elements = not available).  Samples of jobs hjo does not know are not stored and are
-- reported back (kind 'unknown'); samples of finished jobs are stored only when taken before
-- the job's end (late delivery from a collector's spool), otherwise reported ('finished').
-- Job rows are locked in id order (no deadlock between concurrent batches), and the job
-- aggregates are updated exactly as hjo_add_sample does, only for rows actually inserted
-- (a repeated batch changes nothing).
-- Returns rows: ('count', name, n) for stored/duplicate/unknown/finished/gpu_stored/
-- gpu_received, ('unknown'|'finished', job_id) for each rejected job, and with p_want_jobs
-- ('job', id, …) for each pending/running job on p_node: what the collector needs to compute
-- CPU percentages (allocated_cpus, start_time, the last stored cumulative cpu_seconds), to
-- attribute GPUs (gpu_devices, comma-separated) and to map Slurm 26.05 SLUID directories
-- (cgroup_path).
CREATE FUNCTION hjo_ingest_batch(
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
LANGUAGE plpgsql AS $$
DECLARE
        v_in bigint := 0;
        v_stored bigint := 0;
        v_gpu_in bigint := 0;
        v_gpu_stored bigint := 0;
        v_unknown bigint := 0;
        v_finished bigint := 0;
        v_rejected bigint := 0;
BEGIN
        IF p_node IS NULL OR p_ts IS NULL THEN
                RAISE EXCEPTION 'node and timestamp are required' USING ERRCODE = 'HJ400',
                        COLUMN = CASE WHEN p_node IS NULL THEN 'node' ELSE 'timestamp' END;
        END IF;

        -- one lock order for every writer of several jobs
        PERFORM 1 FROM jobs j
        WHERE j.id = ANY (coalesce(p_job_ids, '{}') || coalesce(p_gpu_job_ids, '{}'))
        ORDER BY j.id FOR UPDATE;

        v_in := coalesce(cardinality(p_job_ids), 0);

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
                JOIN jobs j ON j.id = b.job_id
                WHERE j.state IN ('pending', 'running') OR p_ts <= j.end_time
                ORDER BY 1, 2
                ON CONFLICT DO NOTHING
                RETURNING metric_samples.job_id, metric_samples.node, cpu_usage,
                          memory_usage_bytes, gpu_usage
        ), agg AS (
                SELECT i.job_id, count(*) AS cnt, sum(i.cpu_usage) AS s_cpu,
                       max(i.cpu_usage) AS m_cpu, max(i.memory_usage_bytes) AS m_mem,
                       count(i.gpu_usage) AS n_gpu, sum(i.gpu_usage) AS s_gpu,
                       max(i.gpu_usage) AS m_gpu,
                       (array_agg(i.cpu_usage ORDER BY i.node DESC))[1] AS l_cpu,
                       (array_agg(i.memory_usage_bytes ORDER BY i.node DESC))[1] AS l_mem,
                       (array_agg(i.gpu_usage ORDER BY i.node DESC))[1] AS l_gpu
                FROM ins i GROUP BY i.job_id
        ), upd AS (
                UPDATE jobs j SET
                        sample_count = j.sample_count + a.cnt,
                        cpu_usage_sum = j.cpu_usage_sum + a.s_cpu,
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
        SELECT coalesce(sum(cnt), 0) INTO v_stored FROM upd;

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
                RETURNING 1
        )
        SELECT count(*) INTO v_gpu_stored FROM g;
        v_gpu_in := coalesce(cardinality(p_gpu_job_ids), 0);

        IF p_node_cpu IS NOT NULL OR p_node_mem_used IS NOT NULL OR p_node_mem_total IS NOT NULL
           OR p_node_jobs IS NOT NULL THEN
                INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                          memory_total_bytes, job_count)
                VALUES (p_node, p_ts, p_node_cpu, p_node_mem_used, p_node_mem_total, p_node_jobs)
                ON CONFLICT DO NOTHING;
        END IF;

        RETURN QUERY
        SELECT CASE WHEN j.id IS NULL THEN 'unknown' ELSE 'finished' END, b.job_id,
               NULL::bigint, NULL::integer, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::float8
        FROM (SELECT DISTINCT x.job_id FROM unnest(p_job_ids) AS x(job_id)) b
        LEFT JOIN jobs j ON j.id = b.job_id
        WHERE j.id IS NULL OR NOT (j.state IN ('pending', 'running') OR p_ts <= j.end_time)
        ORDER BY 2;
        SELECT count(*) FILTER (WHERE j.id IS NULL),
               count(*) FILTER (WHERE j.id IS NOT NULL)
        INTO v_unknown, v_finished
        FROM (SELECT DISTINCT x.job_id FROM unnest(p_job_ids) AS x(job_id)) b
        LEFT JOIN jobs j ON j.id = b.job_id
        WHERE j.id IS NULL OR NOT (j.state IN ('pending', 'running') OR p_ts <= j.end_time);

        SELECT count(*) INTO v_rejected
        FROM unnest(p_job_ids) AS x(job_id) LEFT JOIN jobs j ON j.id = x.job_id
        WHERE j.id IS NULL OR NOT (j.state IN ('pending', 'running') OR p_ts <= j.end_time);

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
                LEFT JOIN LATERAL (SELECT m.ts, m.cpu_seconds FROM metric_samples m
                                   WHERE m.job_id = j.id AND m.node = p_node
                                   ORDER BY m.ts DESC LIMIT 1) l ON true
                WHERE j.state IN ('pending', 'running') AND j.nodes @> ARRAY[p_node]
                ORDER BY j.id;
        END IF;
END
$$;
