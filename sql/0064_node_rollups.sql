-- 0064_node_rollups.sql: 1-minute and 1-hour rollups of node_samples and the node history route
-- GET /v1/nodes/{node}/metrics (issue 6, storage that scales).  See docs/storage.md.
--
-- The same design as 0050's job rollups (metric_rollup_1m/1h):
-- 1. node_rollup_1m / node_rollup_1h, one row per (node, UTC minute / hour): n samples, and
--    count, sum, min and max of cpu_usage_percent, memory_used_bytes and job_count; plus the
--    largest memory_total_bytes of the bucket (max, not "last": max does not depend on the order
--    in which late samples arrive, so the rollup stays exact whatever the order; the total of a
--    node changes only when its hardware does).  Sums are numeric (bigint for job_count), so
--    they equal sum() over the raw rows exactly.  Partitioned by bucket: 1m daily, 1h monthly,
--    each with a DEFAULT partition, fillfactor as 0060 sets on the job rollups (their rows are
--    updated in place by every sample of the bucket).
-- 2. Maintained at ingest, in the same transaction, by a statement-level AFTER INSERT trigger
--    on node_samples over its transition table: only the rows actually inserted (a duplicate
--    skipped by ON CONFLICT DO NOTHING is never counted), whatever wrote them.
-- 3. Backfilled here from the node samples already stored.  node_samples is locked against
--    writers for the rest of this migration's transaction first, so that no sample committed
--    between the backfill and the trigger's creation is left out.
-- 4. hjo_part_spec lists the two tables (0060's hjo_part_fillfactor follows it), so
--    `hjo-admin maintain` creates their partitions ahead and drops them past HJO_ROLLUP_1M_RETENTION_DAYS /
--    HJO_ROLLUP_1H_RETENTION_DAYS, like the job rollups.
-- 5. hjo_node_samples_list(): raw samples or rollups of one node, the resolution picked like
--    hjo_samples_list's (0050 part 5).
-- Below in the order 1, 4, 2, 3, 5: the partitions exist before the backfill fills them, and
-- the trigger starts after it.

LOCK TABLE node_samples IN SHARE ROW EXCLUSIVE MODE;

-- ---- 1. tables --------------------------------------------------------------------------------

CREATE TABLE node_rollup_1m (
        node          text NOT NULL,
        bucket        timestamptz NOT NULL, -- start of the UTC minute (hour)
        n             bigint NOT NULL,      -- samples
        cpu_n         bigint NOT NULL,      -- samples with cpu_usage_percent
        cpu_sum       numeric NOT NULL,
        cpu_min       double precision,
        cpu_max       double precision,
        mem_n         bigint NOT NULL,      -- samples with memory_used_bytes
        mem_sum       numeric NOT NULL,
        mem_min       bigint,
        mem_max       bigint,
        mem_total_max bigint,               -- largest memory_total_bytes
        jobs_n        bigint NOT NULL,      -- samples with job_count
        jobs_sum      bigint NOT NULL,
        jobs_min      integer,
        jobs_max      integer,
        PRIMARY KEY (node, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE node_rollup_1h (LIKE node_rollup_1m INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE (bucket);
ALTER TABLE node_rollup_1h ADD PRIMARY KEY (node, bucket);

-- ---- 4. maintenance: the allow-list, restated whole -------------------------------------------
-- 0060's hjo_part_fillfactor reads the kind of table from it: 80 for 1m rollups, 70 for 1h.

CREATE OR REPLACE FUNCTION hjo_part_spec(p_parent text, OUT key text, OUT step text,
                                         OUT retention text)
LANGUAGE sql IMMUTABLE AS $$
        SELECT s.key, s.step, s.retention FROM (VALUES
                ('metric_samples', 'ts', 'day', 'raw'),
                ('gpu_samples', 'ts', 'day', 'raw'),
                ('node_samples', 'ts', 'day', 'raw'),
                ('metric_rollup_1m', 'bucket', 'day', '1m'),
                ('gpu_rollup_1m', 'bucket', 'day', '1m'),
                ('node_rollup_1m', 'bucket', 'day', '1m'),
                ('metric_rollup_1h', 'bucket', 'month', '1h'),
                ('gpu_rollup_1h', 'bucket', 'month', '1h'),
                ('node_rollup_1h', 'bucket', 'month', '1h')) AS s(parent, key, step, retention)
        WHERE s.parent = p_parent
$$;

DO $$
BEGIN
        EXECUTE format('CREATE TABLE node_rollup_1m_default PARTITION OF node_rollup_1m DEFAULT '
                       'WITH (fillfactor = %s)', hjo_part_fillfactor('node_rollup_1m'));
        EXECUTE format('CREATE TABLE node_rollup_1h_default PARTITION OF node_rollup_1h DEFAULT '
                       'WITH (fillfactor = %s)', hjo_part_fillfactor('node_rollup_1h'));
END
$$;

-- Partitions for the rollups of the rows already there, and 7 days ahead (as 0050); 0060's
-- hjo_part_ensure gives each its fillfactor.
DO $$
DECLARE
        c record;
BEGIN
        FOR c IN SELECT DISTINCT date_trunc('day', ts, 'UTC') AS lo FROM node_samples
                 UNION SELECT g FROM generate_series(date_trunc('day', now(), 'UTC'),
                                                     date_trunc('day', now() + interval '7 days',
                                                                'UTC'),
                                                     interval '1 day') g
        LOOP
                PERFORM hjo_part_ensure('node_rollup_1m', c.lo);
                PERFORM hjo_part_ensure('node_rollup_1h', date_trunc('month', c.lo, 'UTC'));
        END LOOP;
END
$$;

-- ---- 2. the trigger -----------------------------------------------------------------------------
-- One statement: the new rows' minute aggregates (m) go into node_rollup_1m, and the same
-- aggregates grouped by hour into node_rollup_1h (sums of sums, min of mins: exact).  Rows are
-- upserted in key order.  Collectors insert one row per node and interval, so m is small.
CREATE FUNCTION hjo_node_rollup_trg() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
        WITH m AS (
                SELECT s.node, date_trunc('minute', s.ts, 'UTC') AS bucket, count(*) AS n,
                       count(s.cpu_usage_percent) AS cpu_n,
                       coalesce(sum(s.cpu_usage_percent::numeric), 0) AS cpu_sum,
                       min(s.cpu_usage_percent) AS cpu_min, max(s.cpu_usage_percent) AS cpu_max,
                       count(s.memory_used_bytes) AS mem_n,
                       coalesce(sum(s.memory_used_bytes), 0) AS mem_sum,
                       min(s.memory_used_bytes) AS mem_min, max(s.memory_used_bytes) AS mem_max,
                       max(s.memory_total_bytes) AS mem_total_max, count(s.job_count) AS jobs_n,
                       coalesce(sum(s.job_count), 0) AS jobs_sum, min(s.job_count) AS jobs_min,
                       max(s.job_count) AS jobs_max
                FROM hjo_new s GROUP BY 1, 2
        ), w AS (
                INSERT INTO node_rollup_1m AS r (node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max,
                        mem_n, mem_sum, mem_min, mem_max, mem_total_max, jobs_n, jobs_sum,
                        jobs_min, jobs_max)
                SELECT * FROM m ORDER BY node, bucket
                ON CONFLICT (node, bucket) DO UPDATE SET
                        n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                        cpu_sum = r.cpu_sum + excluded.cpu_sum,
                        cpu_min = least(r.cpu_min, excluded.cpu_min),
                        cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                        mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                        mem_min = least(r.mem_min, excluded.mem_min),
                        mem_max = greatest(r.mem_max, excluded.mem_max),
                        mem_total_max = greatest(r.mem_total_max, excluded.mem_total_max),
                        jobs_n = r.jobs_n + excluded.jobs_n,
                        jobs_sum = r.jobs_sum + excluded.jobs_sum,
                        jobs_min = least(r.jobs_min, excluded.jobs_min),
                        jobs_max = greatest(r.jobs_max, excluded.jobs_max)
        )
        INSERT INTO node_rollup_1h AS r (node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max, mem_n,
                mem_sum, mem_min, mem_max, mem_total_max, jobs_n, jobs_sum, jobs_min, jobs_max)
        SELECT m.node, date_trunc('hour', m.bucket, 'UTC'), sum(m.n), sum(m.cpu_n), sum(m.cpu_sum),
               min(m.cpu_min), max(m.cpu_max), sum(m.mem_n), sum(m.mem_sum), min(m.mem_min),
               max(m.mem_max), max(m.mem_total_max), sum(m.jobs_n), sum(m.jobs_sum),
               min(m.jobs_min), max(m.jobs_max)
        FROM m GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (node, bucket) DO UPDATE SET
                n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                cpu_sum = r.cpu_sum + excluded.cpu_sum,
                cpu_min = least(r.cpu_min, excluded.cpu_min),
                cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max),
                mem_total_max = greatest(r.mem_total_max, excluded.mem_total_max),
                jobs_n = r.jobs_n + excluded.jobs_n, jobs_sum = r.jobs_sum + excluded.jobs_sum,
                jobs_min = least(r.jobs_min, excluded.jobs_min),
                jobs_max = greatest(r.jobs_max, excluded.jobs_max);
        RETURN NULL;
END
$$;

-- ---- 3. backfill (the trigger starts after this) ------------------------------------------------
INSERT INTO node_rollup_1m (node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max, mem_n, mem_sum,
        mem_min, mem_max, mem_total_max, jobs_n, jobs_sum, jobs_min, jobs_max)
SELECT s.node, date_trunc('minute', s.ts, 'UTC'), count(*), count(s.cpu_usage_percent),
       coalesce(sum(s.cpu_usage_percent::numeric), 0), min(s.cpu_usage_percent),
       max(s.cpu_usage_percent), count(s.memory_used_bytes), coalesce(sum(s.memory_used_bytes), 0),
       min(s.memory_used_bytes), max(s.memory_used_bytes), max(s.memory_total_bytes),
       count(s.job_count), coalesce(sum(s.job_count), 0), min(s.job_count), max(s.job_count)
FROM node_samples s GROUP BY 1, 2;
INSERT INTO node_rollup_1h (node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max, mem_n, mem_sum,
        mem_min, mem_max, mem_total_max, jobs_n, jobs_sum, jobs_min, jobs_max)
SELECT r.node, date_trunc('hour', r.bucket, 'UTC'), sum(r.n), sum(r.cpu_n), sum(r.cpu_sum),
       min(r.cpu_min), max(r.cpu_max), sum(r.mem_n), sum(r.mem_sum), min(r.mem_min),
       max(r.mem_max), max(r.mem_total_max), sum(r.jobs_n), sum(r.jobs_sum), min(r.jobs_min),
       max(r.jobs_max)
FROM node_rollup_1m r GROUP BY 1, 2;

CREATE TRIGGER node_samples_rollup AFTER INSERT ON node_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        EXECUTE FUNCTION hjo_node_rollup_trg();

-- ---- 5. GET /v1/nodes/{node}/metrics ----------------------------------------------------------
--
-- As hjo_samples_list (0050 part 5), for one node: p_resolution 'raw', '1m', '1h' or
-- 'auto'/NULL, auto being the finest resolution whose entries for the range (p_start ..
-- p_end) fit in max(p_limit, 1000), judged from the range's 1-hour rollups (sum(n) samples,
-- then the count of minutes with samples).  A rollup bucket is listed when it starts at or after
-- p_start truncated to the bucket and at or before p_end.  NULL (the route answers 404) for a
-- node with no node samples kept at any resolution: there is no table of nodes, a node is known
-- by its samples (the 1-hour rollups, kept longest, then the raw rows).  A known node with
-- nothing in the range answers an empty list, like a job with no samples.
CREATE FUNCTION hjo_node_samples_list(p_node text, p_start timestamptz, p_end timestamptz,
                                      p_limit integer, p_resolution text) RETURNS json
LANGUAGE plpgsql STABLE SET timezone = 'UTC' AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_raw_n bigint;
        v_1m_n bigint;
        v_tab text;
        v_where text;
        res json;
BEGIN
        PERFORM 1 FROM node_rollup_1h r WHERE r.node = p_node LIMIT 1;
        IF NOT FOUND THEN
                PERFORM 1 FROM node_samples s WHERE s.node = p_node LIMIT 1;
                IF NOT FOUND THEN
                        RETURN NULL;
                END IF;
        END IF;
        IF v_res = 'auto' THEN
                SELECT coalesce(sum(r.n), 0) INTO v_raw_n
                FROM node_rollup_1h r
                WHERE r.node = p_node
                  AND (p_start IS NULL OR r.bucket >= date_trunc('hour', p_start))
                  AND (p_end IS NULL OR r.bucket <= p_end);
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM node_rollup_1m r
                        WHERE r.node = p_node
                          AND (p_start IS NULL OR r.bucket >= date_trunc('minute', p_start))
                          AND (p_end IS NULL OR r.bucket <= p_end);
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        -- page and total are separate index scans; EXECUTE plans each call with its values, so
        -- absent bounds fold away and partitions outside the range are pruned
        IF v_res = 'raw' THEN
                v_where := 's.node = $1 AND ($2 IS NULL OR s.ts >= $2)'
                           ' AND ($3 IS NULL OR s.ts <= $3)';
                EXECUTE format($q$
                        SELECT json_build_object(
                                'node', $1,
                                'resolution', 'raw',
                                'samples', coalesce((SELECT json_agg(json_build_object(
                                                'timestamp', hjo_ts(p.ts),
                                                'cpu_usage_percent', p.cpu_usage_percent,
                                                'memory_used_bytes', p.memory_used_bytes,
                                                'memory_total_bytes', p.memory_total_bytes,
                                                'job_count', p.job_count) ORDER BY p.ts)
                                        FROM (SELECT s.ts, s.cpu_usage_percent, s.memory_used_bytes,
                                                     s.memory_total_bytes, s.job_count
                                              FROM node_samples s WHERE %s
                                              ORDER BY s.ts LIMIT $4) p), '[]'::json),
                                'total', (SELECT count(*) FROM node_samples s WHERE %s))
                        $q$, v_where, v_where)
                INTO res USING p_node, p_start, p_end, p_limit;
                RETURN res;
        END IF;
        v_tab := CASE v_res WHEN '1m' THEN 'node_rollup_1m' WHEN '1h' THEN 'node_rollup_1h' END;
        IF v_tab IS NULL THEN
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
        v_where := format('r.node = $1 AND ($2 IS NULL OR r.bucket >= date_trunc(%L, $2))'
                          ' AND ($3 IS NULL OR r.bucket <= $3)',
                          CASE v_res WHEN '1m' THEN 'minute' ELSE 'hour' END);
        EXECUTE format($q$
                SELECT json_build_object(
                        'node', $1,
                        'resolution', %L,
                        'samples', coalesce((SELECT json_agg(json_build_object(
                                        'timestamp', hjo_ts(p.bucket),
                                        'sample_count', p.n,
                                        'cpu_usage_percent',
                                                (p.cpu_sum / nullif(p.cpu_n, 0))::float8,
                                        'cpu_usage_percent_min', p.cpu_min,
                                        'cpu_usage_percent_max', p.cpu_max,
                                        'memory_used_bytes',
                                                round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                                        'memory_used_bytes_min', p.mem_min,
                                        'memory_used_bytes_max', p.mem_max,
                                        'memory_total_bytes', p.mem_total_max,
                                        'job_count',
                                                (p.jobs_sum::numeric / nullif(p.jobs_n, 0))::float8,
                                        'job_count_min', p.jobs_min,
                                        'job_count_max', p.jobs_max) ORDER BY p.bucket)
                                FROM (SELECT * FROM %I r WHERE %s
                                      ORDER BY r.bucket LIMIT $4) p), '[]'::json),
                        'total', (SELECT count(*) FROM %I r WHERE %s))
                $q$, v_res, v_tab, v_where, v_tab, v_where)
        INTO res USING p_node, p_start, p_end, p_limit;
        RETURN res;
END
$$;

-- ---- roles (as 0050) ----------------------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION hjo_node_rollup_trg(),
        hjo_node_samples_list(text, timestamptz, timestamptz, integer, text)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_node_samples_list(text, timestamptz, timestamptz, integer, text)
        TO hjo_api;
GRANT SELECT ON node_rollup_1m, node_rollup_1h TO hjo_api;
