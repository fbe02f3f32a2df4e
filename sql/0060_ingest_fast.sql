-- 0060_ingest_fast.sql: the same event and sample ingest with less work per row (issue 6,
-- benchmark figures 1 and 2).  Nothing a client sees changes; each change below names what
-- it saved, measured on a scratch database with pgbench and pg_stat_user_functions.
--
-- 1. hjo_array_merge in PL/pgSQL.  The SQL version holds a sub-SELECT, so it is never inlined;
--    called from an INSERT or UPDATE it was parsed and planned again on every call (68 us per
--    call, three calls per start+finish pair).  PL/pgSQL keeps its plan.  Small arrays (node
--    lists of most jobs, GPU lists) are merged with a loop; large ones with one hashed query,
--    so a 10,000-node job is not quadratic.
-- 2. hjo_audit in PL/pgSQL, run as the caller.  It was a SECURITY DEFINER SQL function (0030),
--    planned on every call (51 us) and, being definer, callable by hjo_api directly: a client
--    role could write audit rows of its own.  Every caller is itself a SECURITY DEFINER
--    function running as the owner with a fixed search_path, so it needs neither; EXECUTE is
--    revoked from hjo_api.
-- 3. A finish writes the job's summary into the same row version as the finish: one non-HOT
--    UPDATE of the job (12 indexes) instead of two (hjo_job_summary_calc computes the summary
--    from the rollups before the UPDATE; hjo_job_summarize uses it too).  A job without any
--    sample skips that lookup, which probes every monthly rollup partition.
-- 4. fillfactor on the rows that samples update in place (the job's aggregates, metric_latest,
--    the rollups): with free room in their pages, those updates are HOT (no index entries).
--    New rollup partitions get it from hjo_part_ensure.
-- 5. hjo_ingest_batch: the collector's job list from metric_latest, the refused jobs in one
--    pass, no INSERT for an empty GPU or job part (below).

-- 1 ----------------------------------------------------------------------------------------
-- Elements of b not in a, appended to a in b's order, each once; NULL elements are dropped
-- (the 0002 semantics).
CREATE OR REPLACE FUNCTION hjo_array_merge(a text[], b text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
        r text[] := coalesce(a, '{}');
        x text;
BEGIN
        IF b IS NULL OR cardinality(b) = 0 THEN
                RETURN r;
        END IF;
        IF cardinality(r) + cardinality(b) > 64 THEN
                RETURN r || coalesce((
                        SELECT array_agg(d.x ORDER BY d.i)
                        FROM (SELECT u.x, min(u.i) AS i FROM unnest(b) WITH ORDINALITY AS u(x, i)
                              WHERE u.x IS NOT NULL GROUP BY u.x) d
                        WHERE NOT EXISTS (SELECT 1 FROM unnest(r) AS e(y) WHERE e.y = d.x)),
                        '{}');
        END IF;
        FOREACH x IN ARRAY b LOOP
                IF x IS NOT NULL AND NOT (x = ANY (r)) THEN
                        r := r || x;
                END IF;
        END LOOP;
        RETURN r;
END
$$;

-- 2 ----------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION hjo_audit(p_job_id text, p_action text, p_changed_by text,
                                     p_source text, p_corr text, p_changes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
        INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id, changes,
                               principal)
        VALUES (p_job_id, p_action, p_changed_by, p_source, p_corr, coalesce(p_changes, '{}'),
                nullif(current_setting('hjo.principal', true), ''));
END
$$;
REVOKE EXECUTE ON FUNCTION hjo_audit(text, text, text, text, text, jsonb) FROM hjo_api;

-- 3 ----------------------------------------------------------------------------------------
-- The summary of a job ended at p_end (0050's definitions, unchanged):
--   cpu_seconds      the largest cumulative cgroup counter of each node, summed; without
--                    counters, the mean sampled CPU % x elapsed x allocated CPUs
--   cpu_efficiency   cpu_seconds / (elapsed x allocated CPUs)
--   memory_peak_mb, memory_peak_ratio, gpu_mean_utilization, gpu_max_utilization,
--   idle_gpu_hours   as in 0050_partitioning.sql
CREATE FUNCTION hjo_job_summary_calc(p_id text, p_start timestamptz, p_end timestamptz,
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
              FROM metric_rollup_1h r WHERE r.job_id = p_id GROUP BY r.node) x;

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

CREATE OR REPLACE FUNCTION hjo_job_summarize(p_id text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
        j jobs;
        s record;
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_id;
        IF NOT FOUND THEN
                RETURN;
        END IF;
        s := hjo_job_summary_calc(p_id, j.start_time, j.end_time, j.allocated_cpus,
                                  j.allocated_memory_mb, j.allocated_gpus);
        UPDATE jobs SET cpu_seconds = s.cpu_seconds, cpu_efficiency = s.cpu_efficiency,
                        memory_peak_mb = s.memory_peak_mb,
                        memory_peak_ratio = s.memory_peak_ratio,
                        gpu_mean_utilization = s.gpu_mean_utilization,
                        gpu_max_utilization = s.gpu_max_utilization,
                        idle_gpu_hours = s.idle_gpu_hours, summary_at = now()
        WHERE id = p_id;
END
$$;

-- POST /v1/events/job-finished (0050), with the summary in the finishing UPDATE.
CREATE OR REPLACE FUNCTION hjo_job_finished(p_job_id text, p_ts timestamptz, p_exit integer,
                                 p_signal integer, p_final text, p_slurm text,
                                 p_user text, p_nodes text[], p_partition text,
                                 p_account text, p_cluster text,
                                 p_source text, p_corr text,
                                 OUT status text, OUT message text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
        j jobs;
        s record;
        v_state text := hjo_final_state(p_slurm, p_final, p_exit, p_signal);
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_job_id FOR UPDATE;
        IF NOT FOUND THEN
                -- The start was lost: create the job in its final state; nothing is dropped.
                -- Its summary is empty and written with it: no sample can name a job that did
                -- not exist before this transaction (foreign key), so summarizing it would only
                -- probe the rollups and update the new row a second time.
                INSERT INTO jobs (id, user_name, nodes, state, end_time, exit_code, signal,
                                  slurm_state, partition, account, cluster_name, summary_at)
                VALUES (p_job_id, p_user, hjo_array_merge('{}', coalesce(p_nodes, '{}')),
                        v_state, p_ts, p_exit, p_signal, p_slurm, p_partition, p_account,
                        p_cluster, now())
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

        -- The summary of the finished job goes into the same row version as the finish.  A
        -- job that no sample reached (a short job, a site without collectors) has none: the
        -- lookup by job in every monthly rollup partition (61 us with two partitions, 225 us
        -- with two years of them) is skipped.  metric_latest / gpu_latest hold a row for
        -- every job with a sample (gpu_latest from 0062 on), whatever path wrote it, until
        -- maintain prunes them a day after the job ended; this job has not ended.
        SELECT * INTO s
        FROM hjo_job_summary_calc(p_job_id, j.start_time, p_ts, j.allocated_cpus,
                                  j.allocated_memory_mb, j.allocated_gpus)
        WHERE EXISTS (SELECT 1 FROM metric_latest l WHERE l.job_id = p_job_id)
           OR EXISTS (SELECT 1 FROM gpu_latest g WHERE g.job_id = p_job_id);
        UPDATE jobs SET state = v_state, end_time = p_ts, exit_code = p_exit, signal = p_signal,
                        slurm_state = p_slurm,
                        runtime_seconds = CASE WHEN start_time IS NOT NULL
                                THEN extract(epoch FROM p_ts - start_time) END,
                        user_name = coalesce(user_name, p_user),
                        nodes = hjo_array_merge(nodes, p_nodes),
                        partition = coalesce(partition, p_partition),
                        account = coalesce(account, p_account),
                        cluster_name = coalesce(cluster_name, p_cluster),
                        cpu_seconds = s.cpu_seconds, cpu_efficiency = s.cpu_efficiency,
                        memory_peak_mb = s.memory_peak_mb,
                        memory_peak_ratio = s.memory_peak_ratio,
                        gpu_mean_utilization = s.gpu_mean_utilization,
                        gpu_max_utilization = s.gpu_max_utilization,
                        idle_gpu_hours = s.idle_gpu_hours, summary_at = now(),
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
-- 4 ----------------------------------------------------------------------------------------
-- The fillfactor of the tables whose rows are updated in place by every sample: the rollups,
-- by their kind in 0050's list of partitioned tables (hjo_part_spec), so a rollup table added
-- to that list gets it too; NULL for the others (the raw sample tables are insert-only and stay
-- packed, a table not in the list is not hjo's).
CREATE FUNCTION hjo_part_fillfactor(p_parent text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE s.retention WHEN '1m' THEN 80 WHEN '1h' THEN 70 END
        FROM hjo_part_spec(p_parent) s
$$;

ALTER TABLE jobs SET (fillfactor = 70);
ALTER TABLE metric_latest SET (fillfactor = 70);
DO $$
DECLARE
        p record;
BEGIN
        FOR p IN
                SELECT c.oid::regclass AS part,
                       hjo_part_fillfactor(i.inhparent::regclass::text) AS ff
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE c.relkind = 'r'
                  AND hjo_part_fillfactor(i.inhparent::regclass::text) IS NOT NULL
        LOOP
                EXECUTE format('ALTER TABLE %s SET (fillfactor = %s)', p.part, p.ff);
        END LOOP;
END
$$;

-- Partitions made from now on get it too: 0050's hjo_part_ensure is kept as
-- hjo_part_ensure_base and wrapped (its callers call it by name).
ALTER FUNCTION hjo_part_ensure(text, timestamptz) RENAME TO hjo_part_ensure_base;
CREATE FUNCTION hjo_part_ensure(p_parent text, p_lo timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = public SET timezone = 'UTC' AS $$
DECLARE
        v_n bigint := hjo_part_ensure_base(p_parent, p_lo);
        v_ff integer := hjo_part_fillfactor(p_parent);
BEGIN
        IF v_n IS NOT NULL AND v_ff IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I SET (fillfactor = %s)',
                               hjo_part_name(p_parent,
                                             (SELECT s.step FROM hjo_part_spec(p_parent) s),
                                             p_lo), v_ff);
        END IF;
        RETURN v_n;
END
$$;

REVOKE EXECUTE ON FUNCTION hjo_part_fillfactor(text), hjo_part_ensure(text, timestamptz),
        hjo_job_summary_calc(text, timestamptz, timestamptz, integer, bigint, integer)
        FROM PUBLIC;

-- 5 ----------------------------------------------------------------------------------------
-- POST /v1/samples and collectord's database sink (0041's hjo_ingest_batch, the same answer):
-- - the running jobs a collectord asks for with its batch (p_want_jobs) come with their last
--   sample on that node from metric_latest (one index lookup) instead of metric_samples (one
--   probe per partition; the same lookup for the 10,000 running jobs of the benchmark
--   database, about 40 daily partitions, took 2.8 s against 37 ms on metric_latest:
--   docs/storage.md);
-- - the refused jobs (unknown, or finished before the batch's time) are found in one pass
--   instead of three queries, and a batch without job or GPU samples skips those INSERTs
--   (and the statement triggers they fire).
-- Measured replaying 1,920 64-sample batches one transaction each (pg_stat_statements):
-- 5.6-5.9 ms per batch before, 4.9-5.2 ms after.
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
        v_in bigint := coalesce(cardinality(p_job_ids), 0);
        v_stored bigint := 0;
        v_gpu_in bigint := coalesce(cardinality(p_gpu_job_ids), 0);
        v_gpu_stored bigint := 0;
        v_unknown bigint := 0;
        v_finished bigint := 0;
        v_rejected bigint := 0;
        r record;
BEGIN
        IF p_node IS NULL OR p_ts IS NULL THEN
                RAISE EXCEPTION 'node and timestamp are required' USING ERRCODE = 'HJ400',
                        COLUMN = CASE WHEN p_node IS NULL THEN 'node' ELSE 'timestamp' END;
        END IF;

        -- one lock order for every writer of several jobs
        PERFORM 1 FROM jobs j
        WHERE j.id = ANY (coalesce(p_job_ids, '{}') || coalesce(p_gpu_job_ids, '{}'))
        ORDER BY j.id FOR UPDATE;

        IF v_in > 0 THEN
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
        END IF;

        IF v_gpu_in > 0 THEN
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
        END IF;

        IF p_node_cpu IS NOT NULL OR p_node_mem_used IS NOT NULL OR p_node_mem_total IS NOT NULL
           OR p_node_jobs IS NOT NULL THEN
                INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                          memory_total_bytes, job_count)
                VALUES (p_node, p_ts, p_node_cpu, p_node_mem_used, p_node_mem_total, p_node_jobs)
                ON CONFLICT DO NOTHING;
        END IF;

        -- the jobs whose samples were refused, unknown or finished before p_ts: one pass
        FOR r IN
                SELECT b.job_id AS id, b.cnt, j.id IS NULL AS unknown
                FROM (SELECT x.job_id, count(*) AS cnt FROM unnest(p_job_ids) AS x(job_id)
                      WHERE v_in > 0 GROUP BY x.job_id) b
                LEFT JOIN jobs j ON j.id = b.job_id
                WHERE j.id IS NULL OR NOT (j.state IN ('pending', 'running') OR p_ts <= j.end_time)
                ORDER BY b.job_id
        LOOP
                kind := CASE WHEN r.unknown THEN 'unknown' ELSE 'finished' END;
                job_id := r.id;
                RETURN NEXT;
                IF r.unknown THEN
                        v_unknown := v_unknown + 1;
                ELSE
                        v_finished := v_finished + 1;
                END IF;
                v_rejected := v_rejected + r.cnt;
        END LOOP;

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
