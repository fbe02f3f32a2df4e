-- 0003_demo_seed.sql: hjo_seed_demo(), the demo data behind SCHEDULER_BACKEND=mock with
-- SEED_DEMO=true (and `hjo-admin seed-demo`), so that a new user sees data at once.
--
-- It creates a small cluster's worth of jobs (ids demo-1001 …, cluster_name 'demo'): some
-- running, some finished in each outcome, one that wastes its CPUs, one that leaves a GPU idle,
-- one killed by the OOM killer.  Samples are one per minute with smooth, deterministic shapes.
-- These rows are demo data, marked as such by their ids and cluster; collectord never writes
-- anything invented.  Idempotent: it does nothing when demo-1001 exists.  Returns the number
-- of jobs created.

CREATE FUNCTION hjo_seed_demo() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
        d record;
        n integer := 0;
        t0 timestamptz := date_trunc('minute', now());
BEGIN
        IF EXISTS (SELECT 1 FROM jobs WHERE id = 'demo-1001') THEN
                RETURN 0;
        END IF;
        FOR d IN
                SELECT * FROM (VALUES
                        -- id, user, nodes, partition, account, cpus, mem_mb, gpus, vendor,
                        -- started (min ago), ran (min, NULL = running), slurm_state, exit, signal,
                        -- cpu level, cpu wave, mem fraction, gpu level
                        ('demo-1001', 'alice', ARRAY['node01','node02'], 'compute', 'physics', 64, 256000, 0, 'none',
                         180, NULL::int, NULL::text, NULL::int, NULL::int, 92.0, 4.0, 0.55, NULL::float8),
                        ('demo-1002', 'bob', ARRAY['gpu01'], 'gpu', 'chemistry', 16, 128000, 4, 'nvidia',
                         95, NULL, NULL, NULL, NULL, 35.0, 10.0, 0.40, 71.0),
                        ('demo-1003', 'carol', ARRAY['node03'], 'compute', 'biology', 32, 64000, 0, 'none',
                         240, NULL, NULL, NULL, NULL, 6.0, 2.0, 0.10, NULL),
                        ('demo-1004', 'dave', ARRAY['gpu02'], 'gpu', 'physics', 8, 64000, 2, 'amd',
                         50, NULL, NULL, NULL, NULL, 55.0, 20.0, 0.30, 48.0),
                        ('demo-1005', 'alice', ARRAY['node04'], 'compute', 'physics', 16, 32000, 0, 'none',
                         400, 120, 'COMPLETED', 0, 0, 88.0, 6.0, 0.45, NULL),
                        ('demo-1006', 'erin', ARRAY['node05'], 'compute', 'biology', 8, 16000, 0, 'none',
                         300, 45, 'OUT_OF_MEMORY', 0, 9, 70.0, 10.0, 0.98, NULL),
                        ('demo-1007', 'bob', ARRAY['node06','node07','node08'], 'compute', 'chemistry', 96, 384000, 0, 'none',
                         600, 480, 'TIMEOUT', 0, 15, 97.0, 2.0, 0.70, NULL),
                        ('demo-1008', 'carol', ARRAY['node03'], 'debug', 'biology', 4, 8000, 0, 'none',
                         30, 3, 'FAILED', 2, 0, 40.0, 30.0, 0.05, NULL),
                        ('demo-1009', 'dave', ARRAY['gpu01'], 'gpu', 'physics', 8, 64000, 2, 'nvidia',
                         200, 90, 'COMPLETED', 0, 0, 30.0, 5.0, 0.35, 93.0),
                        ('demo-1010', 'frank', ARRAY['node02'], 'compute', 'chemistry', 2, 4000, 0, 'none',
                         20, 8, 'CANCELLED', 0, 15, 50.0, 10.0, 0.20, NULL)
                ) AS v(id, usr, nodes, part, acct, cpus, mem_mb, gpus, vendor, ago, ran, slurm,
                       exit_code, sig, cpu_level, cpu_wave, mem_frac, gpu_level)
        LOOP
                INSERT INTO jobs (id, user_name, nodes, state, slurm_state, start_time, end_time,
                                  runtime_seconds, exit_code, signal, allocated_cpus,
                                  allocated_memory_mb, allocated_gpus, gpu_vendor, gpu_devices,
                                  cgroup_path, partition, account, cluster_name)
                VALUES (d.id, d.usr, d.nodes,
                        CASE WHEN d.ran IS NULL THEN 'running'
                             ELSE hjo_final_state(d.slurm, NULL, d.exit_code, d.sig) END,
                        d.slurm, t0 - make_interval(mins => d.ago),
                        CASE WHEN d.ran IS NOT NULL
                             THEN t0 - make_interval(mins => d.ago - d.ran) END,
                        CASE WHEN d.ran IS NOT NULL THEN d.ran * 60.0 END,
                        CASE WHEN d.ran IS NOT NULL THEN d.exit_code END,
                        CASE WHEN d.ran IS NOT NULL THEN d.sig END,
                        d.cpus, d.mem_mb, d.gpus, d.vendor,
                        CASE WHEN d.gpus > 0 THEN ARRAY(SELECT 'GPU-demo-' || substr(d.id, 6) || '-' || g
                                                        FROM generate_series(0, d.gpus - 1) g)
                             ELSE '{}' END,
                        '/sys/fs/cgroup/system.slice/slurmstepd.scope/job_'
                                || substr(d.id, 6),
                        d.part, d.acct, 'demo');

                -- one sample per node per minute over the job's life (at most the last 6 hours)
                INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
                SELECT d.id, nd, t0 - make_interval(mins => d.ago - m),
                       least(100, greatest(0, d.cpu_level + d.cpu_wave * sin(m / 7.0 + k))),
                       (d.mem_mb::bigint * 1048576 / cardinality(d.nodes)
                        * least(1.0, d.mem_frac * least(1.0, (m + 1) / 15.0)))::bigint,
                       CASE WHEN d.gpu_level IS NOT NULL
                            THEN least(100, greatest(0, d.gpu_level + 8 * sin(m / 5.0))) END
                FROM generate_series(greatest(0, d.ago - 360), coalesce(d.ran, d.ago)) AS m,
                     unnest(d.nodes) WITH ORDINALITY AS u(nd, k);

                -- per-GPU samples; on demo-1002 the last GPU sits idle
                INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                                         memory_used_bytes, memory_total_bytes, power_watts,
                                         temperature_celsius)
                SELECT d.id, d.nodes[1], 'GPU-demo-' || substr(d.id, 6) || '-' || g,
                       t0 - make_interval(mins => d.ago - m), d.vendor,
                       CASE WHEN d.id = 'demo-1002' AND g = d.gpus - 1 THEN 0
                            ELSE least(100, greatest(0, d.gpu_level + 8 * sin(m / 5.0 + g))) END,
                       CASE WHEN d.id = 'demo-1002' AND g = d.gpus - 1 THEN 0
                            ELSE (30.0e9 + 4.0e9 * sin(m / 9.0))::bigint END,
                       80000000000,
                       CASE WHEN d.id = 'demo-1002' AND g = d.gpus - 1 THEN 61.0
                            ELSE 180 + 120 * (d.gpu_level / 100.0) END,
                       CASE WHEN d.id = 'demo-1002' AND g = d.gpus - 1 THEN 34.0
                            ELSE 55 + 20 * (d.gpu_level / 100.0) END
                FROM generate_series(greatest(0, d.ago - 360), coalesce(d.ran, d.ago)) AS m,
                     generate_series(0, greatest(d.gpus, 1) - 1) AS g
                WHERE d.vendor IN ('nvidia', 'amd') AND d.gpus > 0;

                n := n + 1;
        END LOOP;

        -- the aggregates, exactly as hjo_add_sample would have kept them
        UPDATE jobs j SET sample_count = s.c, cpu_usage_sum = s.cpu_sum, max_cpu_usage = s.cpu_max,
                          max_memory_usage_mb = s.mem_max / 1048576.0,
                          gpu_sample_count = s.gpu_c, gpu_usage_sum = coalesce(s.gpu_sum, 0),
                          max_gpu_usage = s.gpu_max, last_sample_at = s.last,
                          cpu_usage = l.cpu_usage,
                          memory_usage_mb = l.memory_usage_bytes / 1048576.0,
                          gpu_usage = l.gpu_usage
        FROM (SELECT job_id, count(*) AS c, sum(cpu_usage) AS cpu_sum, max(cpu_usage) AS cpu_max,
                     max(memory_usage_bytes) AS mem_max, count(gpu_usage) AS gpu_c,
                     sum(gpu_usage) AS gpu_sum, max(gpu_usage) AS gpu_max, max(ts) AS last
              FROM metric_samples WHERE job_id LIKE 'demo-%' GROUP BY job_id) s,
             LATERAL (SELECT cpu_usage, memory_usage_bytes, gpu_usage FROM metric_samples m
                      WHERE m.job_id = s.job_id ORDER BY ts DESC, node LIMIT 1) l
        WHERE j.id = s.job_id;

        -- node samples for the demo nodes over the last hour
        INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                  memory_total_bytes, job_count)
        SELECT nd, t0 - make_interval(mins => m),
               least(100, greatest(0, 20 + 60 * abs(sin(k + m / 11.0)))),
               (64.0e9 + 40.0e9 * abs(sin(k * 2 + m / 13.0)))::bigint, 256000000000,
               (SELECT count(*) FROM jobs WHERE state = 'running' AND nd = ANY (nodes))
        FROM unnest(ARRAY['node01','node02','node03','node04','node05','node06','node07',
                          'node08','gpu01','gpu02']) WITH ORDINALITY AS u(nd, k),
             generate_series(0, 60) AS m
        ON CONFLICT DO NOTHING;

        RETURN n;
END
$$;
