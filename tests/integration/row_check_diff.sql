-- tests/integration/row_check_diff.sql: the job row check (sql/0068: a cheap form first) against
-- the rules it stands for (hjo_job_row_rules, sql/0063) on 6,000 rows of edge values.  Prints
-- "<rows judged differently> <rows both accept> <rows both refuse> <distinct outcomes>", an
-- outcome being "ok" or the error naming the rule.
SELECT setseed(0.68);
CREATE FUNCTION pg_temp.rc(j jobs, rules boolean) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
        IF rules THEN
                PERFORM hjo_job_row_rules(j);
        ELSE
                PERFORM hjo_job_row_check(j);
        END IF;
        RETURN 'ok';
EXCEPTION WHEN check_violation THEN
        RETURN SQLERRM;
END
$f$;
WITH v AS (
        SELECT ARRAY['-1', '0', '50', '64', '65', '100', '101', '255', '256', 'NaN', 'Infinity',
                     '-Infinity', '-0', '1e-300'] AS f,
               ARRAY['-1', '0', '50', '64', '65', '100', '101', '255', '256'] AS i,
               ARRAY['a b', '..', '.', '', repeat('r', 256), 'x/y', 'ok:._-'] AS ids,
               ARRAY['pending', 'running', 'completed', 'failed', 'cancelled', 'bogus'] AS st,
               ARRAY['COMPLETED', 'Completed', '', 'CANCELLED+', repeat('A', 65)] AS sst,
               ARRAY['none', 'nvidia', 'amd', 'mixed', 'intel'] AS gv
), r AS (
        SELECT jsonb_populate_record(NULL::jobs, jsonb_build_object(
                'id', CASE WHEN random() < 0.9 THEN 'rc-' || g
                           ELSE v.ids[1 + floor(random() * 7)::int] END,
                'user_name', CASE WHEN random() < 0.9 THEN 'u'
                                  ELSE (ARRAY[NULL, '', repeat('u', 256)])[1 + floor(random() * 3)::int]
                             END,
                'nodes', '{n}',
                'state', v.st[1 + floor(random() * 6)::int],
                'start_time', CASE WHEN random() < 0.9 THEN '2026-12-07T00:00:00Z' END,
                'end_time', (ARRAY[NULL, '2026-12-07T01:00:00Z', '2026-12-06T23:00:00Z'])
                                [1 + floor(random() * 3)::int],
                'slurm_state', CASE WHEN random() >= 0.8 THEN v.sst[1 + floor(random() * 5)::int]
                               END,
                'gpu_vendor', CASE WHEN random() >= 0.8 THEN v.gv[1 + floor(random() * 5)::int] END)
                || (SELECT jsonb_object_agg(c, CASE WHEN random() >= 0.75
                                                   THEN v.f[1 + floor(random() * 14)::int] END)
                    FROM unnest(ARRAY['runtime_seconds', 'cpu_usage', 'memory_usage_mb',
                                      'gpu_usage', 'cpu_seconds', 'cpu_efficiency',
                                      'memory_peak_mb', 'memory_peak_ratio',
                                      'gpu_mean_utilization', 'gpu_max_utilization',
                                      'idle_gpu_hours']) c
                    WHERE g > 0)
                || (SELECT jsonb_object_agg(c, CASE WHEN random() >= 0.75
                                                   THEN v.i[1 + floor(random() * 9)::int] END)
                    FROM unnest(ARRAY['exit_code', 'signal', 'allocated_cpus',
                                      'allocated_memory_mb', 'allocated_gpus',
                                      'cpu_missing_count']) c
                    WHERE g > 0)) AS j
        FROM v, generate_series(1, 6000) g
), t AS (
        SELECT pg_temp.rc(j, true) AS a, pg_temp.rc(j, false) AS b FROM r
)
SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) || ' ' || count(*) FILTER (WHERE a = 'ok')
       || ' ' || count(*) FILTER (WHERE a <> 'ok') || ' ' || count(DISTINCT a)
FROM t;
