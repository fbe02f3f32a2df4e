-- tests/integration/node_rollup_diff.sql: how many buckets of the rollup table :tab
-- (node_rollup_1m or node_rollup_1h, sql/0064_node_rollups.sql) differ from the aggregates of
-- the raw node_samples rows by :unit (minute or hour), either way (a bucket missing on one side
-- counts).  0 when the rollup is exact.  Used by t_storage.sh and storage_test.py:
--   psql -v unit=minute -v tab=node_rollup_1m -f node_rollup_diff.sql
SELECT count(*) FROM (
        SELECT node, date_trunc(:'unit', ts, 'UTC') AS b, count(*) AS n,
               count(cpu_usage_percent) AS cn, coalesce(sum(cpu_usage_percent::numeric), 0) AS cs,
               min(cpu_usage_percent) AS cmi, max(cpu_usage_percent) AS cma,
               count(memory_used_bytes) AS mn, coalesce(sum(memory_used_bytes), 0) AS ms,
               min(memory_used_bytes) AS mmi, max(memory_used_bytes) AS mma,
               max(memory_total_bytes) AS mt, count(job_count) AS jn,
               coalesce(sum(job_count), 0) AS js, min(job_count) AS jmi, max(job_count) AS jma
        FROM node_samples GROUP BY 1, 2) raw
FULL JOIN :"tab" r ON r.node = raw.node AND r.bucket = raw.b
WHERE (raw.n, raw.cn, raw.cs, raw.cmi, raw.cma, raw.mn, raw.ms, raw.mmi, raw.mma, raw.mt, raw.jn,
       raw.js, raw.jmi, raw.jma)
      IS DISTINCT FROM
      (r.n, r.cpu_n, r.cpu_sum, r.cpu_min, r.cpu_max, r.mem_n, r.mem_sum, r.mem_min, r.mem_max,
       r.mem_total_max, r.jobs_n, r.jobs_sum, r.jobs_min, r.jobs_max);
