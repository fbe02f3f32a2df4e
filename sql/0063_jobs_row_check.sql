-- 0063_jobs_row_check.sql: the job row's 24 CHECK constraints (0001, 0041, 0050) as one, whose
-- rules live in a PL/pgSQL function (issue 6, event ingest).
--
-- Why: PostgreSQL prepares every CHECK expression of a table again for each INSERT or UPDATE
-- statement (stringToNode + expression_planner per constraint, in ExecRelCheck), and each
-- event is one statement on jobs.  Measured on a scratch database (5,000 statements in a
-- PL/pgSQL loop, one transaction): INSERT 130 us and UPDATE 119 us per statement with the 24
-- constraints, 52 and 61 us with this one; a plain table without checks takes 10 us.  The
-- function's plans are kept for the session, so the rules cost one function call per row.
--
-- The rules are the same, each NULL-tolerant as a CHECK is; a violation raises check_violation
-- (23514, a 400 for the API as before) naming the old constraint and its column.
CREATE FUNCTION hjo_job_row_check(j jobs) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
        c text;
        col text;
BEGIN
        IF NOT (j.id ~ '^[A-Za-z0-9._:-]{1,255}$' AND j.id <> ALL (ARRAY['.', '..'])) THEN
                c := 'jobs_id_check'; col := 'id';
        ELSIF NOT coalesce(length(j.user_name) BETWEEN 1 AND 255, true) THEN
                c := 'jobs_user_name_check'; col := 'user_name';
        ELSIF NOT coalesce(j.state IN ('pending', 'running', 'completed', 'failed', 'cancelled'), true) THEN
                c := 'jobs_state_check'; col := 'state';
        ELSIF NOT coalesce(j.slurm_state ~ '^[A-Z_+]{1,64}$', true) THEN
                c := 'jobs_slurm_state_check'; col := 'slurm_state';
        ELSIF NOT coalesce(j.runtime_seconds >= 0, true) THEN
                c := 'jobs_runtime_seconds_check'; col := 'runtime_seconds';
        ELSIF NOT coalesce(j.exit_code BETWEEN 0 AND 255, true) THEN
                c := 'jobs_exit_code_check'; col := 'exit_code';
        ELSIF NOT coalesce(j.signal BETWEEN 0 AND 64, true) THEN
                c := 'jobs_signal_check'; col := 'signal';
        ELSIF NOT coalesce(j.cpu_usage BETWEEN 0 AND 100, true) THEN
                c := 'jobs_cpu_usage_check'; col := 'cpu_usage';
        ELSIF NOT coalesce(j.memory_usage_mb >= 0, true) THEN
                c := 'jobs_memory_usage_mb_check'; col := 'memory_usage_mb';
        ELSIF NOT coalesce(j.gpu_usage BETWEEN 0 AND 100, true) THEN
                c := 'jobs_gpu_usage_check'; col := 'gpu_usage';
        ELSIF NOT coalesce(j.allocated_cpus >= 0, true) THEN
                c := 'jobs_allocated_cpus_check'; col := 'allocated_cpus';
        ELSIF NOT coalesce(j.allocated_memory_mb >= 0, true) THEN
                c := 'jobs_allocated_memory_mb_check'; col := 'allocated_memory_mb';
        ELSIF NOT coalesce(j.allocated_gpus >= 0, true) THEN
                c := 'jobs_allocated_gpus_check'; col := 'allocated_gpus';
        ELSIF NOT coalesce(j.gpu_vendor IN ('none', 'nvidia', 'amd', 'mixed'), true) THEN
                c := 'jobs_gpu_vendor_check'; col := 'gpu_vendor';
        ELSIF NOT coalesce(j.end_time >= j.start_time, true) THEN
                c := 'jobs_check'; col := 'end_time';
        ELSIF NOT coalesce((j.state IN ('pending', 'running')) = (j.end_time IS NULL), true) THEN
                c := 'jobs_check1'; col := 'end_time';
        ELSIF NOT coalesce(j.cpu_missing_count >= 0, true) THEN
                c := 'jobs_cpu_missing_count_check'; col := 'cpu_missing_count';
        ELSIF NOT coalesce(j.cpu_seconds >= 0, true) THEN
                c := 'jobs_cpu_seconds_check'; col := 'cpu_seconds';
        ELSIF NOT coalesce(j.cpu_efficiency >= 0, true) THEN
                c := 'jobs_cpu_efficiency_check'; col := 'cpu_efficiency';
        ELSIF NOT coalesce(j.memory_peak_mb >= 0, true) THEN
                c := 'jobs_memory_peak_mb_check'; col := 'memory_peak_mb';
        ELSIF NOT coalesce(j.memory_peak_ratio >= 0, true) THEN
                c := 'jobs_memory_peak_ratio_check'; col := 'memory_peak_ratio';
        ELSIF NOT coalesce(j.gpu_mean_utilization BETWEEN 0 AND 100, true) THEN
                c := 'jobs_gpu_mean_utilization_check'; col := 'gpu_mean_utilization';
        ELSIF NOT coalesce(j.gpu_max_utilization BETWEEN 0 AND 100, true) THEN
                c := 'jobs_gpu_max_utilization_check'; col := 'gpu_max_utilization';
        ELSIF NOT coalesce(j.idle_gpu_hours >= 0, true) THEN
                c := 'jobs_idle_gpu_hours_check'; col := 'idle_gpu_hours';
        ELSE
                RETURN true;
        END IF;
        RAISE EXCEPTION 'new row for relation "jobs" violates check constraint "%"', c
                USING ERRCODE = 'check_violation', CONSTRAINT = c, COLUMN = col,
                      TABLE = 'jobs', SCHEMA = 'public';
END
$$;
REVOKE EXECUTE ON FUNCTION hjo_job_row_check(jobs) FROM PUBLIC;

ALTER TABLE jobs
        DROP CONSTRAINT jobs_id_check, DROP CONSTRAINT jobs_user_name_check,
        DROP CONSTRAINT jobs_state_check, DROP CONSTRAINT jobs_slurm_state_check,
        DROP CONSTRAINT jobs_runtime_seconds_check, DROP CONSTRAINT jobs_exit_code_check,
        DROP CONSTRAINT jobs_signal_check, DROP CONSTRAINT jobs_cpu_usage_check,
        DROP CONSTRAINT jobs_memory_usage_mb_check, DROP CONSTRAINT jobs_gpu_usage_check,
        DROP CONSTRAINT jobs_allocated_cpus_check, DROP CONSTRAINT jobs_allocated_memory_mb_check,
        DROP CONSTRAINT jobs_allocated_gpus_check, DROP CONSTRAINT jobs_gpu_vendor_check,
        DROP CONSTRAINT jobs_check, DROP CONSTRAINT jobs_check1,
        DROP CONSTRAINT jobs_cpu_missing_count_check, DROP CONSTRAINT jobs_cpu_seconds_check,
        DROP CONSTRAINT jobs_cpu_efficiency_check, DROP CONSTRAINT jobs_memory_peak_mb_check,
        DROP CONSTRAINT jobs_memory_peak_ratio_check,
        DROP CONSTRAINT jobs_gpu_mean_utilization_check,
        DROP CONSTRAINT jobs_gpu_max_utilization_check, DROP CONSTRAINT jobs_idle_gpu_hours_check,
        ADD CONSTRAINT jobs_row_check CHECK (hjo_job_row_check(jobs)) NOT VALID;
-- The rows there satisfied the old constraints; checked anyway (a full scan, no write lock on
-- the rows' readers).
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_row_check;
