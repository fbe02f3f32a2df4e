-- 0001_init.sql: hjo's base schema.
--
-- Jobs, per-job metric samples, per-GPU-device samples, node samples and the audit log.
-- hjo-admin migrate runs this file inside one transaction and records it in
-- schema_migrations (created by hjo-admin itself, before the first migration).
--
-- Conventions: timestamptz everywhere; lists are text[] (never comma-joined); states are
-- CHECK-constrained; every filter of GET /v1/jobs has an index.

CREATE TABLE jobs (
        id                  text PRIMARY KEY
                            CHECK (id ~ '^[A-Za-z0-9._:-]{1,255}$' AND id NOT IN ('.', '..')),
        user_name           text CHECK (user_name IS NULL OR length(user_name) BETWEEN 1 AND 255),
        nodes               text[] NOT NULL DEFAULT '{}',
        node_count          integer GENERATED ALWAYS AS (cardinality(nodes)) STORED,
        state               text NOT NULL
                            CHECK (state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        slurm_state         text CHECK (slurm_state IS NULL OR slurm_state ~ '^[A-Z_+]{1,64}$'),
        start_time          timestamptz,
        end_time            timestamptz,
        runtime_seconds     double precision CHECK (runtime_seconds IS NULL OR runtime_seconds >= 0),
        exit_code           integer CHECK (exit_code IS NULL OR exit_code BETWEEN 0 AND 255),
        signal              integer CHECK (signal IS NULL OR signal BETWEEN 0 AND 64),
        cpu_usage           double precision CHECK (cpu_usage IS NULL OR cpu_usage BETWEEN 0 AND 100),
        memory_usage_mb     double precision CHECK (memory_usage_mb IS NULL OR memory_usage_mb >= 0),
        gpu_usage           double precision CHECK (gpu_usage IS NULL OR gpu_usage BETWEEN 0 AND 100),
        allocated_cpus      integer CHECK (allocated_cpus IS NULL OR allocated_cpus >= 0),
        allocated_memory_mb bigint CHECK (allocated_memory_mb IS NULL OR allocated_memory_mb >= 0),
        allocated_gpus      integer CHECK (allocated_gpus IS NULL OR allocated_gpus >= 0),
        gpu_vendor          text CHECK (gpu_vendor IS NULL OR gpu_vendor IN ('none', 'nvidia', 'amd', 'mixed')),
        gpu_devices         text[] NOT NULL DEFAULT '{}',
        cgroup_path         text,
        partition           text,
        account             text,
        cluster_name        text,
        -- aggregates, maintained in the same transaction as each sample (hjo_add_sample)
        last_sample_at      timestamptz,
        sample_count        bigint NOT NULL DEFAULT 0,
        cpu_usage_sum       double precision NOT NULL DEFAULT 0,
        max_cpu_usage       double precision,
        max_memory_usage_mb double precision,
        gpu_sample_count    bigint NOT NULL DEFAULT 0,
        gpu_usage_sum       double precision NOT NULL DEFAULT 0,
        max_gpu_usage       double precision,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        CHECK (end_time IS NULL OR start_time IS NULL OR end_time >= start_time),
        CHECK ((state IN ('pending', 'running')) = (end_time IS NULL))
);

-- GET /v1/jobs: newest first, optionally filtered
CREATE INDEX jobs_start_idx ON jobs (start_time DESC NULLS LAST, id DESC);
CREATE INDEX jobs_state_idx ON jobs (state, start_time DESC NULLS LAST, id DESC);
CREATE INDEX jobs_user_idx ON jobs (user_name, start_time DESC NULLS LAST, id DESC);
CREATE INDEX jobs_account_idx ON jobs (account, start_time DESC NULLS LAST, id DESC);
CREATE INDEX jobs_partition_idx ON jobs (partition, start_time DESC NULLS LAST, id DESC);
CREATE INDEX jobs_nodes_idx ON jobs USING gin (nodes);
-- /metrics: running jobs and jobs that ended within the grace period
CREATE INDEX jobs_active_idx ON jobs (id) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_end_idx ON jobs (end_time) WHERE end_time IS NOT NULL;

CREATE TABLE metric_samples (
        job_id             text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node               text NOT NULL,
        ts                 timestamptz NOT NULL,
        cpu_usage          double precision NOT NULL CHECK (cpu_usage BETWEEN 0 AND 100),
        memory_usage_bytes bigint NOT NULL CHECK (memory_usage_bytes >= 0),
        gpu_usage          double precision CHECK (gpu_usage IS NULL OR gpu_usage BETWEEN 0 AND 100),
        PRIMARY KEY (job_id, node, ts)
);
CREATE INDEX metric_samples_job_ts_idx ON metric_samples (job_id, ts);

CREATE TABLE gpu_samples (
        job_id              text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node                text NOT NULL,
        gpu_id              text NOT NULL,
        ts                  timestamptz NOT NULL,
        gpu_vendor          text NOT NULL CHECK (gpu_vendor IN ('nvidia', 'amd')),
        utilization_percent double precision CHECK (utilization_percent BETWEEN 0 AND 100),
        memory_used_bytes   bigint CHECK (memory_used_bytes >= 0),
        memory_total_bytes  bigint CHECK (memory_total_bytes >= 0),
        power_watts         double precision CHECK (power_watts >= 0),
        temperature_celsius double precision,
        PRIMARY KEY (job_id, node, gpu_id, ts)
);

CREATE TABLE node_samples (
        node               text NOT NULL,
        ts                 timestamptz NOT NULL,
        cpu_usage_percent  double precision CHECK (cpu_usage_percent BETWEEN 0 AND 100),
        memory_used_bytes  bigint CHECK (memory_used_bytes >= 0),
        memory_total_bytes bigint CHECK (memory_total_bytes >= 0),
        job_count          integer CHECK (job_count >= 0),
        PRIMARY KEY (node, ts)
);
CREATE INDEX node_samples_ts_idx ON node_samples (ts);

CREATE TABLE audit_log (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at             timestamptz NOT NULL DEFAULT now(),
        job_id         text NOT NULL,
        action         text NOT NULL,
        changed_by     text NOT NULL,
        source         text NOT NULL,
        correlation_id text NOT NULL,
        changes        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_job_idx ON audit_log (job_id, at);
