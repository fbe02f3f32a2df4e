-- 0002_api_functions.sql: the API's data logic, one function per operation.
--
-- Each /v1 request is one call of one of these functions, so each request is one round trip
-- and one transaction.  Errors the client must see are raised with hjo's own SQLSTATEs, which
-- the C side (lib/db.c) maps to HTTP; the message text is ours (never SQL internals):
--   HJ400 validation_error (COLUMN = the offending field), HJ404 not_found, HJ409 conflict.
-- The job's JSON is built here (hjo_job_json) so that every route returns the same shape.

CREATE FUNCTION hjo_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION hjo_job_json(j jobs) RETURNS json
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
                'avg_cpu_usage', CASE WHEN j.sample_count > 0
                        THEN j.cpu_usage_sum / j.sample_count END,
                'max_cpu_usage', j.max_cpu_usage,
                'max_memory_usage_mb', j.max_memory_usage_mb,
                'avg_gpu_usage', CASE WHEN j.gpu_sample_count > 0
                        THEN j.gpu_usage_sum / j.gpu_sample_count END,
                'max_gpu_usage', j.max_gpu_usage,
                'created_at', hjo_ts(j.created_at),
                'updated_at', hjo_ts(j.updated_at))
$$;

CREATE FUNCTION hjo_audit(p_job_id text, p_action text, p_changed_by text, p_source text,
                          p_corr text, p_changes jsonb) RETURNS void
LANGUAGE sql AS $$
        INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id, changes)
        VALUES (p_job_id, p_action, p_changed_by, p_source, p_corr, coalesce(p_changes, '{}'))
$$;

-- Slurm's job state name to the reference API's five states (NULL when unknown).
CREATE FUNCTION hjo_state_from_slurm(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE p
                WHEN 'COMPLETED' THEN 'completed'
                WHEN 'FAILED' THEN 'failed'
                WHEN 'OUT_OF_MEMORY' THEN 'failed'
                WHEN 'NODE_FAIL' THEN 'failed'
                WHEN 'BOOT_FAIL' THEN 'failed'
                WHEN 'CANCELLED' THEN 'cancelled'
                WHEN 'TIMEOUT' THEN 'cancelled'
                WHEN 'PREEMPTED' THEN 'cancelled'
                WHEN 'DEADLINE' THEN 'cancelled'
                WHEN 'REVOKED' THEN 'cancelled'
                END
$$;

-- The final state of a job, decided by the service: Slurm's own state name first, then an
-- explicit final_state, then the exit details (signal 9/15 cancelled, other signal failed,
-- non-zero exit failed, else completed).
CREATE FUNCTION hjo_final_state(p_slurm text, p_final text, p_exit integer, p_signal integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(hjo_state_from_slurm(p_slurm), p_final,
                CASE WHEN coalesce(p_signal, 0) IN (9, 15) THEN 'cancelled'
                     WHEN coalesce(p_signal, 0) <> 0 THEN 'failed'
                     WHEN coalesce(p_exit, 0) <> 0 THEN 'failed'
                     ELSE 'completed' END)
$$;

-- Elements of b not in a, appended to a in b's order (node lists, GPU devices).
CREATE FUNCTION hjo_array_merge(a text[], b text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(a, '{}') || coalesce((
                SELECT array_agg(x ORDER BY i)
                FROM (SELECT DISTINCT ON (x) x, i FROM unnest(b) WITH ORDINALITY AS u(x, i)
                      ORDER BY x, i) d
                WHERE NOT (x = ANY (coalesce(a, '{}')))), '{}')
$$;

-- POST /v1/events/job-started
CREATE FUNCTION hjo_job_started(p_job_id text, p_user text, p_nodes text[], p_ts timestamptz,
                                p_cpus integer, p_mem_mb bigint, p_gpus integer,
                                p_vendor text, p_devices text[], p_cgroup text,
                                p_partition text, p_account text, p_cluster text,
                                p_source text, p_corr text,
                                OUT status text, OUT message text)
LANGUAGE plpgsql AS $$
DECLARE
        j jobs;
        n jobs;
BEGIN
        INSERT INTO jobs (id, user_name, nodes, state, start_time, allocated_cpus,
                          allocated_memory_mb, allocated_gpus, gpu_vendor, gpu_devices,
                          cgroup_path, partition, account, cluster_name)
        VALUES (p_job_id, p_user, hjo_array_merge('{}', p_nodes), 'running', p_ts, p_cpus,
                p_mem_mb, p_gpus, p_vendor, hjo_array_merge('{}', coalesce(p_devices, '{}')),
                p_cgroup, p_partition, p_account, p_cluster)
        ON CONFLICT (id) DO NOTHING;
        IF FOUND THEN
                PERFORM hjo_audit(p_job_id, 'job-started', coalesce(p_user, ''), p_source, p_corr,
                                  jsonb_build_object('status', 'created'));
                status := 'created';
                message := 'job created';
                RETURN;
        END IF;

        -- Known job: add only what is new; never reopen a finished job.
        SELECT * INTO j FROM jobs WHERE id = p_job_id FOR UPDATE;
        n := j;
        n.nodes := hjo_array_merge(j.nodes, p_nodes);
        n.gpu_devices := hjo_array_merge(j.gpu_devices, p_devices);
        n.user_name := coalesce(j.user_name, p_user);
        n.allocated_cpus := coalesce(j.allocated_cpus, p_cpus);
        n.allocated_memory_mb := coalesce(j.allocated_memory_mb, p_mem_mb);
        n.allocated_gpus := coalesce(j.allocated_gpus, p_gpus);
        n.gpu_vendor := CASE WHEN j.gpu_vendor IS NULL OR j.gpu_vendor = 'none'
                             THEN coalesce(p_vendor, j.gpu_vendor) ELSE j.gpu_vendor END;
        n.cgroup_path := coalesce(nullif(j.cgroup_path, ''), p_cgroup);
        n.partition := coalesce(j.partition, p_partition);
        n.account := coalesce(j.account, p_account);
        n.cluster_name := coalesce(j.cluster_name, p_cluster);
        IF j.start_time IS NULL AND (j.end_time IS NULL OR p_ts <= j.end_time) THEN
                n.start_time := p_ts;
                IF j.end_time IS NOT NULL THEN
                        n.runtime_seconds := extract(epoch FROM j.end_time - p_ts);
                END IF;
        END IF;

        IF n IS NOT DISTINCT FROM j THEN
                status := 'skipped';
                message := 'job already known; nothing new';
                RETURN;
        END IF;

        UPDATE jobs SET nodes = n.nodes, gpu_devices = n.gpu_devices, user_name = n.user_name,
                        allocated_cpus = n.allocated_cpus,
                        allocated_memory_mb = n.allocated_memory_mb,
                        allocated_gpus = n.allocated_gpus, gpu_vendor = n.gpu_vendor,
                        cgroup_path = n.cgroup_path, partition = n.partition,
                        account = n.account, cluster_name = n.cluster_name,
                        start_time = n.start_time, runtime_seconds = n.runtime_seconds,
                        updated_at = now()
        WHERE id = p_job_id;
        PERFORM hjo_audit(p_job_id, 'job-started', coalesce(p_user, ''), p_source, p_corr,
                          jsonb_build_object('status', 'updated',
                                             'before', to_jsonb(j) - 'updated_at',
                                             'after', to_jsonb(n) - 'updated_at'));
        status := 'updated';
        message := 'job updated with new details';
END
$$;

-- POST /v1/events/job-finished
CREATE FUNCTION hjo_job_finished(p_job_id text, p_ts timestamptz, p_exit integer,
                                 p_signal integer, p_final text, p_slurm text,
                                 p_user text, p_nodes text[], p_partition text,
                                 p_account text, p_cluster text,
                                 p_source text, p_corr text,
                                 OUT status text, OUT message text)
LANGUAGE plpgsql AS $$
DECLARE
        j jobs;
        v_state text := hjo_final_state(p_slurm, p_final, p_exit, p_signal);
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_job_id FOR UPDATE;
        IF NOT FOUND THEN
                -- The start was lost: create the job in its final state; nothing is dropped.
                INSERT INTO jobs (id, user_name, nodes, state, end_time, exit_code, signal,
                                  slurm_state, partition, account, cluster_name)
                VALUES (p_job_id, p_user, hjo_array_merge('{}', coalesce(p_nodes, '{}')),
                        v_state, p_ts, p_exit, p_signal, p_slurm, p_partition, p_account,
                        p_cluster)
                ON CONFLICT (id) DO NOTHING;
                IF FOUND THEN
                        PERFORM hjo_audit(p_job_id, 'job-finished', coalesce(p_user, ''),
                                          p_source, p_corr,
                                          jsonb_build_object('status', 'created',
                                                             'state', v_state));
                        status := 'created';
                        message := 'job was unknown; created in its final state';
                        RETURN;
                END IF;
                -- A concurrent event created it first: handle as a known job.
                SELECT * INTO j FROM jobs WHERE id = p_job_id FOR UPDATE;
        END IF;

        IF j.start_time IS NOT NULL AND p_ts < j.start_time THEN
                RAISE EXCEPTION 'finish timestamp is earlier than the job''s start time'
                        USING ERRCODE = 'HJ400', COLUMN = 'timestamp';
        END IF;

        IF j.state IN ('completed', 'failed', 'cancelled') THEN
                -- The first finish wins; a later one may only fill empty exit details.
                IF (j.exit_code IS NULL AND p_exit IS NOT NULL)
                   OR (j.signal IS NULL AND p_signal IS NOT NULL)
                   OR (j.slurm_state IS NULL AND p_slurm IS NOT NULL) THEN
                        UPDATE jobs SET exit_code = coalesce(exit_code, p_exit),
                                        signal = coalesce(signal, p_signal),
                                        slurm_state = coalesce(slurm_state, p_slurm),
                                        updated_at = now()
                        WHERE id = p_job_id;
                        PERFORM hjo_audit(p_job_id, 'job-finished', coalesce(p_user, ''),
                                          p_source, p_corr,
                                          jsonb_build_object('status', 'skipped',
                                                             'filled', jsonb_build_object(
                                                                     'exit_code', p_exit,
                                                                     'signal', p_signal,
                                                                     'slurm_state', p_slurm)));
                        status := 'skipped';
                        message := 'job already finished; filled empty exit details';
                        RETURN;
                END IF;
                status := 'skipped';
                message := 'job already finished';
                RETURN;
        END IF;

        UPDATE jobs SET state = v_state, end_time = p_ts, exit_code = p_exit, signal = p_signal,
                        slurm_state = p_slurm,
                        runtime_seconds = CASE WHEN start_time IS NOT NULL
                                THEN extract(epoch FROM p_ts - start_time) END,
                        user_name = coalesce(user_name, p_user),
                        nodes = hjo_array_merge(nodes, p_nodes),
                        partition = coalesce(partition, p_partition),
                        account = coalesce(account, p_account),
                        cluster_name = coalesce(cluster_name, p_cluster),
                        updated_at = now()
        WHERE id = p_job_id;
        PERFORM hjo_audit(p_job_id, 'job-finished', coalesce(p_user, ''), p_source, p_corr,
                          jsonb_build_object('status', 'updated', 'state', v_state,
                                             'exit_code', p_exit, 'signal', p_signal,
                                             'slurm_state', p_slurm));
        status := 'updated';
        message := 'job finished';
END
$$;

-- GET /v1/jobs
CREATE FUNCTION hjo_jobs_list(p_state text, p_user text, p_node text, p_account text,
                              p_partition text, p_since timestamptz, p_until timestamptz,
                              p_limit integer, p_offset integer) RETURNS json
LANGUAGE sql STABLE AS $$
        WITH m AS (
                SELECT * FROM jobs
                WHERE (p_state IS NULL OR state = p_state)
                  AND (p_user IS NULL OR user_name = p_user)
                  AND (p_node IS NULL OR nodes @> ARRAY[p_node])
                  AND (p_account IS NULL OR account = p_account)
                  AND (p_partition IS NULL OR partition = p_partition)
                  AND (p_since IS NULL OR start_time >= p_since)
                  AND (p_until IS NULL OR start_time <= p_until)
        ), page AS (
                SELECT * FROM m ORDER BY start_time DESC NULLS LAST, id DESC
                LIMIT p_limit OFFSET p_offset
        )
        SELECT json_build_object(
                'jobs', coalesce((SELECT json_agg(hjo_job_json(page)
                                                  ORDER BY start_time DESC NULLS LAST, id DESC)
                                  FROM page), '[]'::json),
                'total', (SELECT count(*) FROM m),
                'limit', p_limit,
                'offset', p_offset)
$$;

-- GET /v1/jobs/{id}: NULL when absent
CREATE FUNCTION hjo_job_get(p_id text) RETURNS json
LANGUAGE sql STABLE AS $$
        SELECT hjo_job_json(j) FROM jobs j WHERE j.id = p_id
$$;

-- POST /v1/jobs (unique violation 23505 -> 409)
CREATE FUNCTION hjo_job_create(p_id text, p_user text, p_nodes text[], p_state text,
                               p_start timestamptz, p_partition text, p_account text,
                               p_cpus integer, p_mem_mb bigint, p_gpus integer,
                               p_vendor text, p_devices text[], p_cgroup text,
                               p_changed_by text, p_source text, p_corr text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
        j jobs;
        v_start timestamptz := coalesce(p_start, now());
        v_state text := coalesce(p_state, 'running');
BEGIN
        INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, runtime_seconds,
                          partition, account, allocated_cpus, allocated_memory_mb,
                          allocated_gpus, gpu_vendor, gpu_devices, cgroup_path)
        VALUES (p_id, p_user, hjo_array_merge('{}', p_nodes), v_state, v_start,
                CASE WHEN v_state IN ('pending', 'running') THEN NULL
                     ELSE greatest(v_start, now()) END,
                CASE WHEN v_state IN ('pending', 'running') THEN NULL
                     ELSE extract(epoch FROM greatest(v_start, now()) - v_start) END,
                p_partition, p_account, p_cpus, p_mem_mb, p_gpus, p_vendor,
                hjo_array_merge('{}', coalesce(p_devices, '{}')), p_cgroup)
        RETURNING * INTO j;
        PERFORM hjo_audit(p_id, 'create', p_changed_by, p_source, p_corr,
                          jsonb_build_object('after', to_jsonb(j)));
        RETURN hjo_job_json(j);
END
$$;

-- PATCH /v1/jobs/{id}
CREATE FUNCTION hjo_job_patch(p_id text, p_state text, p_cpu double precision,
                              p_mem_mb double precision, p_gpu double precision,
                              p_changed_by text, p_source text, p_corr text) RETURNS json
LANGUAGE plpgsql AS $$
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
                        updated_at = now()
        WHERE id = p_id
        RETURNING * INTO n;
        PERFORM hjo_audit(p_id, 'update', p_changed_by, p_source, p_corr,
                          jsonb_build_object('before', to_jsonb(j) - 'updated_at',
                                             'after', to_jsonb(n) - 'updated_at'));
        RETURN hjo_job_json(n);
END
$$;

-- DELETE /v1/jobs/{id}
CREATE FUNCTION hjo_job_delete(p_id text, p_changed_by text, p_source text, p_corr text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
        j jobs;
BEGIN
        DELETE FROM jobs WHERE id = p_id RETURNING * INTO j;
        IF NOT FOUND THEN
                RAISE EXCEPTION 'job not found' USING ERRCODE = 'HJ404';
        END IF;
        PERFORM hjo_audit(p_id, 'delete', p_changed_by, p_source, p_corr,
                          jsonb_build_object('before', to_jsonb(j)));
END
$$;

-- POST /v1/jobs/{id}/metrics.  The job row is locked, so concurrent samples of one job
-- update the aggregates one after the other and none is lost; a sample already stored
-- (same job, node, timestamp) changes nothing.
CREATE FUNCTION hjo_add_sample(p_id text, p_node text, p_ts timestamptz,
                               p_cpu double precision, p_mem_bytes bigint,
                               p_gpu double precision,
                               OUT stored boolean, OUT node text, OUT ts text)
LANGUAGE plpgsql AS $$
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
                cpu_usage_sum = cpu_usage_sum + p_cpu,
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

-- GET /v1/jobs/{id}/metrics: NULL when the job is absent
CREATE FUNCTION hjo_samples_list(p_id text, p_start timestamptz, p_end timestamptz,
                                 p_node text, p_limit integer) RETURNS json
LANGUAGE sql STABLE AS $$
        WITH m AS (
                SELECT * FROM metric_samples s
                WHERE s.job_id = p_id
                  AND (p_start IS NULL OR s.ts >= p_start)
                  AND (p_end IS NULL OR s.ts <= p_end)
                  AND (p_node IS NULL OR s.node = p_node)
        ), page AS (
                SELECT * FROM m ORDER BY ts, node LIMIT p_limit
        )
        SELECT json_build_object(
                'job_id', p_id,
                'samples', coalesce((SELECT json_agg(json_build_object(
                                'timestamp', hjo_ts(page.ts),
                                'node', page.node,
                                'cpu_usage', page.cpu_usage,
                                'memory_usage_bytes', page.memory_usage_bytes,
                                'memory_usage_mb', page.memory_usage_bytes::float8 / 1048576,
                                'gpu_usage', page.gpu_usage) ORDER BY page.ts, page.node)
                        FROM page), '[]'::json),
                'total', (SELECT count(*) FROM m))
        WHERE EXISTS (SELECT 1 FROM jobs WHERE id = p_id)
$$;
