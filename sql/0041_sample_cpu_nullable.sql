-- 0041_sample_cpu_nullable.sql: a job sample without CPU figures (issue 3).
--
-- A cgroup v1 job without a cpuacct cgroup (Slurm's default JobAcctGatherType=jobacct_gather/
-- linux creates freezer, cpuset and memory job cgroups only) has memory figures but no CPU
-- ones.  "A missing file is not available, never a zero": metric_samples.cpu_usage becomes
-- nullable, so such a job gets a memory-only sample with cpu_usage NULL.
--
-- The job's CPU aggregates ignore those samples: jobs.cpu_missing_count counts the samples
-- stored without cpu_usage, avg_cpu_usage = cpu_usage_sum / (sample_count - cpu_missing_count)
-- (NULL when no sample had CPU), max_cpu_usage ignores NULLs (greatest() does).  jobs.cpu_usage
-- stays "the latest sample's value", so it is NULL while the latest sample has none, as
-- gpu_usage already is.  /metrics writes no hpc_job_cpu_usage_percent line for a NULL value
-- (fcgi/metrics.c leaves NULL columns out).
--
-- hjo_job_json, hjo_add_sample and hjo_ingest_batch are replaced with NULL-safe versions (the
-- last two keep SECURITY DEFINER and the fixed search_path 0030_roles.sql gave them: CREATE OR
-- REPLACE keeps owner and grants, not those attributes).  POST /v1/jobs/{id}/metrics still
-- requires cpu_usage (docs/openapi.yaml); POST /v1/samples accepts it absent or null.

ALTER TABLE metric_samples ALTER COLUMN cpu_usage DROP NOT NULL;

ALTER TABLE jobs ADD COLUMN cpu_missing_count bigint NOT NULL DEFAULT 0
        CHECK (cpu_missing_count >= 0);

CREATE OR REPLACE FUNCTION hjo_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT json_build_object(
                'id', j.id,
                'user', j.user_name,
                'nodes', j.nodes,
                'node_count', j.node_count,
                'state', j.state,
                'start_time', hjo_ts(j.start_time),
                'end_time', hjo_ts(j.end_time),
                'runtime_seconds', CASE
                        WHEN j.end_time IS NOT NULL THEN j.runtime_seconds
                        WHEN j.start_time IS NOT NULL
                                THEN greatest(0, extract(epoch FROM now() - j.start_time))::double precision
                        END,
                'exit_code', j.exit_code,
                'signal', j.signal,
                'slurm_state', j.slurm_state,
                'cpu_usage', j.cpu_usage,
                'memory_usage_mb', j.memory_usage_mb,
                'gpu_usage', j.gpu_usage,
                'allocated_cpus', j.allocated_cpus,
                'allocated_memory_mb', j.allocated_memory_mb,
                'allocated_gpus', j.allocated_gpus,
                'gpu_vendor', j.gpu_vendor,
                'gpu_devices', j.gpu_devices,
                'cgroup_path', j.cgroup_path,
                'partition', j.partition,
                'account', j.account,
                'cluster_name', j.cluster_name,
                'last_sample_at', hjo_ts(j.last_sample_at),
                'sample_count', j.sample_count,
                'avg_cpu_usage', CASE WHEN j.sample_count - j.cpu_missing_count > 0
                        THEN j.cpu_usage_sum / (j.sample_count - j.cpu_missing_count) END,
                'max_cpu_usage', j.max_cpu_usage,
                'max_memory_usage_mb', j.max_memory_usage_mb,
                'avg_gpu_usage', CASE WHEN j.gpu_sample_count > 0
                        THEN j.gpu_usage_sum / j.gpu_sample_count END,
                'max_gpu_usage', j.max_gpu_usage,
                'created_at', hjo_ts(j.created_at),
                'updated_at', hjo_ts(j.updated_at))
$$;

-- POST /v1/jobs/{id}/metrics (0002), NULL-safe: a sample without cpu_usage is counted in
-- cpu_missing_count and adds nothing to the CPU sums.
CREATE OR REPLACE FUNCTION hjo_add_sample(p_id text, p_node text, p_ts timestamptz,
                               p_cpu double precision, p_mem_bytes bigint,
                               p_gpu double precision,
                               OUT stored boolean, OUT node text, OUT ts text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
        j jobs;
        v_node text;
        v_ts timestamptz := coalesce(p_ts, now());
        v_mem_mb double precision := p_mem_bytes / 1048576.0;
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_id FOR UPDATE;
        IF NOT FOUND THEN
                RAISE EXCEPTION 'job not found' USING ERRCODE = 'HJ404';
        END IF;
        IF j.state IN ('completed', 'failed', 'cancelled') THEN
                RAISE EXCEPTION 'job has already finished (state %)', j.state
                        USING ERRCODE = 'HJ409';
        END IF;
        v_node := coalesce(p_node, j.nodes[1]);
        IF v_node IS NULL THEN
                RAISE EXCEPTION 'the job has no nodes; the sample must name its node'
                        USING ERRCODE = 'HJ400', COLUMN = 'node';
        END IF;
        node := v_node;
        ts := hjo_ts(v_ts);

        INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
        VALUES (p_id, v_node, v_ts, p_cpu, p_mem_bytes, p_gpu)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
                stored := false;
                RETURN;
        END IF;

        UPDATE jobs SET
                sample_count = sample_count + 1,
                cpu_missing_count = cpu_missing_count + CASE WHEN p_cpu IS NULL THEN 1 ELSE 0 END,
                cpu_usage_sum = cpu_usage_sum + coalesce(p_cpu, 0),
                max_cpu_usage = greatest(max_cpu_usage, p_cpu),
                max_memory_usage_mb = greatest(max_memory_usage_mb, v_mem_mb),
                gpu_sample_count = gpu_sample_count + CASE WHEN p_gpu IS NULL THEN 0 ELSE 1 END,
                gpu_usage_sum = gpu_usage_sum + coalesce(p_gpu, 0),
                max_gpu_usage = CASE WHEN p_gpu IS NULL THEN max_gpu_usage
                                     ELSE greatest(max_gpu_usage, p_gpu) END,
                cpu_usage = CASE WHEN last_sample_at IS NULL OR v_ts >= last_sample_at
                                 THEN p_cpu ELSE cpu_usage END,
                memory_usage_mb = CASE WHEN last_sample_at IS NULL OR v_ts >= last_sample_at
                                       THEN v_mem_mb ELSE memory_usage_mb END,
                gpu_usage = CASE WHEN last_sample_at IS NULL OR v_ts >= last_sample_at
                                 THEN p_gpu ELSE gpu_usage END,
                last_sample_at = greatest(last_sample_at, v_ts),
                updated_at = now()
        WHERE id = p_id;
        stored := true;
END
$$;

-- 0004's hjo_ingest_batch with NULL-safe CPU aggregates (the rest unchanged).
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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
                SELECT i.job_id, count(*) AS cnt, count(i.cpu_usage) AS n_cpu,
                       sum(i.cpu_usage) AS s_cpu,
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
