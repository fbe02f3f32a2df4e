-- 0050_partitioning.sql: storage that scales (issue 6).  See docs/storage.md.
--
-- 1. metric_samples, gpu_samples and node_samples become tables partitioned by RANGE (ts),
--    one partition per UTC day, plus a DEFAULT partition that takes any sample whose day has
--    no partition yet (maintenance did not run, a clock far off): an acknowledged sample is
--    never refused for lack of a partition.  The existing rows are moved: each table is
--    rebuilt from its *current* definition (columns, defaults, CHECKs and NOT NULLs as they
--    are when this file runs, e.g. after 0041 made cpu_usage nullable), its primary key,
--    foreign key, indexes and grants are recreated under their old names, the rows are copied
--    and the old table is dropped.  The primary keys all contain ts, so (job, node, ts)
--    identity, and with it idempotent re-posts, holds across partitions.
-- 2. Rollups: metric_rollup_1m/1h (job, node, bucket) and gpu_rollup_1m/1h (job, node, gpu,
--    bucket) hold count, sum, min and max per bucket.  They are maintained at ingest, in the
--    same transaction, by statement-level AFTER INSERT triggers over the rows actually
--    inserted (ON CONFLICT DO NOTHING skips duplicates, so they are never counted twice):
--    exact whatever path wrote the samples (API, batch, seed, late spool replays).  Sums are
--    numeric, so they equal sum() over the raw rows exactly.  1m partitions are daily, 1h
--    partitions monthly; retention of each is its own setting.
-- 3. hjo_maintain_table(): creates partitions ahead, moves rows out of the DEFAULT partition
--    into the day they belong to, drops partitions older than the retention (never a DELETE
--    over a big table).  Called by `hjo-admin maintain`, one table per transaction.
-- 4. Per-job summaries, computed when a job finishes (hjo_job_finished, hjo_job_patch) and
--    recomputed when samples of an already finished job arrive late: cpu_seconds,
--    cpu_efficiency, memory_peak_mb, memory_peak_ratio, gpu_mean_utilization,
--    gpu_max_utilization, idle_gpu_hours; filters and sort keys of GET /v1/jobs.
-- 5. GET /v1/jobs/{id}/metrics picks raw / 1m / 1h (hjo_samples_list with p_resolution).

-- ---- helpers -------------------------------------------------------------------------------
-- The functions that create tables run with search_path = public (pg_catalog is still
-- searched first, implicitly): with pg_catalog listed first, CREATE TABLE would aim there.

-- The partitioned tables maintenance may touch: an allow-list (identifiers never come from
-- input), with each one's partition key, step and which retention setting applies.
CREATE FUNCTION hjo_part_spec(p_parent text, OUT key text, OUT step text, OUT retention text)
LANGUAGE sql IMMUTABLE AS $$
        SELECT s.key, s.step, s.retention FROM (VALUES
                ('metric_samples', 'ts', 'day', 'raw'),
                ('gpu_samples', 'ts', 'day', 'raw'),
                ('node_samples', 'ts', 'day', 'raw'),
                ('metric_rollup_1m', 'bucket', 'day', '1m'),
                ('gpu_rollup_1m', 'bucket', 'day', '1m'),
                ('metric_rollup_1h', 'bucket', 'month', '1h'),
                ('gpu_rollup_1h', 'bucket', 'month', '1h')) AS s(parent, key, step, retention)
        WHERE s.parent = p_parent
$$;

CREATE FUNCTION hjo_part_name(p_parent text, p_step text, p_lo timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
        SELECT p_parent || '_p' || to_char(p_lo AT TIME ZONE 'UTC',
                                           CASE p_step WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END)
$$;

-- Makes sure the partition of p_parent starting at p_lo (a UTC day or month start) exists.
-- Rows of that range sitting in the DEFAULT partition are moved into it first (PostgreSQL
-- refuses a partition whose rows are in the default one): the new partition is built as a
-- plain table, filled with DELETE ... RETURNING from the default, then attached.  Returns NULL
-- when the partition existed, else the number of rows moved.
CREATE FUNCTION hjo_part_ensure(p_parent text, p_lo timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = public SET timezone = 'UTC' AS $$
DECLARE
        s record;
        v_hi timestamptz;
        v_name text;
        v_def text := p_parent || '_default';
        v_cols text;
        v_n bigint;
BEGIN
        SELECT * INTO s FROM hjo_part_spec(p_parent);
        IF s.key IS NULL THEN
                RAISE EXCEPTION 'not a partitioned hjo table: %', p_parent;
        END IF;
        v_hi := p_lo + CASE s.step WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
        v_name := hjo_part_name(p_parent, s.step, p_lo);
        IF to_regclass(v_name) IS NOT NULL THEN
                RETURN NULL;
        END IF;
        EXECUTE format('SELECT count(*) FROM %I WHERE %I >= $1 AND %I < $2', v_def, s.key, s.key)
                INTO v_n USING p_lo, v_hi;
        IF v_n = 0 THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               v_name, p_parent, p_lo, v_hi);
                RETURN 0;
        END IF;
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
        FROM pg_attribute a
        WHERE a.attrelid = p_parent::regclass AND a.attnum > 0 AND NOT a.attisdropped;
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       v_name, p_parent);
        EXECUTE format('WITH d AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING %s)'
                       ' INSERT INTO %I (%s) SELECT %s FROM d',
                       v_def, s.key, s.key, v_cols, v_name, v_cols, v_cols) USING p_lo, v_hi;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       p_parent, v_name, p_lo, v_hi);
        RETURN v_n;
END
$$;

-- One table's maintenance, in the caller's transaction (hjo-admin runs one table per
-- transaction).  A lock not had within 10 s (a long query on the table) fails this table, not
-- the whole run, and never queues the table's readers for long.  p_keep_days: whole UTC days kept before today.  Rows: (action, partition, n)
--   created     a partition ahead (or for a day found in the default partition), n rows moved
--   dropped     a partition entirely older than the retention
--   purged      n rows of the default partition older than the retention (DELETE bounded to
--               the default partition, which only holds strays)
--   default     n rows left in the default partition (beyond the created range)
CREATE FUNCTION hjo_maintain_table(p_parent text, p_ahead_days integer, p_keep_days integer)
RETURNS TABLE (action text, part text, n bigint)
LANGUAGE plpgsql SET search_path = public SET timezone = 'UTC' SET lock_timeout = '10s' AS $$
DECLARE
        s record;
        v_step interval;
        v_cutoff timestamptz;
        v_until timestamptz;
        v_hi timestamptz;
        v_lo timestamptz;
        v_moved bigint;
        c record;
BEGIN
        SELECT * INTO s FROM hjo_part_spec(p_parent);
        IF s.key IS NULL THEN
                RAISE EXCEPTION 'not a partitioned hjo table: %', p_parent USING ERRCODE = 'HJ400',
                        COLUMN = 'table';
        END IF;
        IF p_ahead_days IS NULL OR p_ahead_days < 0 OR p_keep_days IS NULL OR p_keep_days < 1 THEN
                RAISE EXCEPTION 'ahead must be >= 0 and keep >= 1 days' USING ERRCODE = 'HJ400',
                        COLUMN = 'days';
        END IF;
        v_step := CASE s.step WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
        v_cutoff := date_trunc('day', now()) - make_interval(days => p_keep_days);
        v_until := date_trunc(s.step, now() + make_interval(days => p_ahead_days)) + v_step;

        -- retention: whole partitions whose upper bound is at or before the cutoff
        FOR c IN
                SELECT k.relname, pg_get_expr(k.relpartbound, k.oid) AS bound
                FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                WHERE i.inhparent = p_parent::regclass
                ORDER BY k.relname
        LOOP
                CONTINUE WHEN c.bound = 'DEFAULT';
                v_hi := (regexp_match(c.bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz;
                IF v_hi <= v_cutoff THEN
                        EXECUTE format('DROP TABLE %I', c.relname);
                        action := 'dropped';
                        part := c.relname;
                        n := NULL;
                        RETURN NEXT;
                END IF;
        END LOOP;
        EXECUTE format('DELETE FROM %I WHERE %I < $1', p_parent || '_default', s.key)
                USING v_cutoff;
        GET DIAGNOSTICS v_moved = ROW_COUNT;
        IF v_moved > 0 THEN
                action := 'purged';
                part := p_parent || '_default';
                n := v_moved;
                RETURN NEXT;
        END IF;

        -- days (months) that have strays in the default partition, within the kept window
        FOR c IN EXECUTE format('SELECT DISTINCT date_trunc(%L, %I) AS lo FROM %I'
                                ' WHERE %I >= $1 AND %I < $2 ORDER BY 1',
                                s.step, s.key, p_parent || '_default', s.key, s.key)
                USING v_cutoff, v_until
        LOOP
                v_moved := hjo_part_ensure(p_parent, c.lo);
                IF v_moved IS NOT NULL THEN
                        action := 'created';
                        part := hjo_part_name(p_parent, s.step, c.lo);
                        n := v_moved;
                        RETURN NEXT;
                END IF;
        END LOOP;

        -- ahead: from the current day (month) to p_ahead_days ahead
        v_lo := date_trunc(s.step, now());
        WHILE v_lo < v_until LOOP
                v_moved := hjo_part_ensure(p_parent, v_lo);
                IF v_moved IS NOT NULL THEN
                        action := 'created';
                        part := hjo_part_name(p_parent, s.step, v_lo);
                        n := v_moved;
                        RETURN NEXT;
                END IF;
                v_lo := v_lo + v_step;
        END LOOP;

        EXECUTE format('SELECT count(*) FROM %I', p_parent || '_default') INTO v_moved;
        action := 'default';
        part := p_parent || '_default';
        n := v_moved;
        RETURN NEXT;
END
$$;

-- Rebuilds table p_old (renamed from p_parent by the caller) as a partitioned table named
-- p_parent: same columns as they are now, its primary key / unique / foreign keys and indexes
-- under their old names, its grants; one partition per UTC day that has rows, the next
-- p_ahead_days days, and the DEFAULT partition; then the rows are copied.  Used once, below.
CREATE FUNCTION hjo_part_rebuild(p_parent text, p_ahead_days integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = public SET timezone = 'UTC' AS $$
DECLARE
        s record;
        v_old text := p_parent || '_unpartitioned';
        v_cols text;
        v_n bigint;
        c record;
        v_cons jsonb := '[]';
        v_idx jsonb := '[]';
        e jsonb;
BEGIN
        SELECT * INTO s FROM hjo_part_spec(p_parent);
        -- what to recreate, captured while the names still point at the old table
        SELECT coalesce(jsonb_agg(jsonb_build_object('name', k.conname,
                                                     'def', pg_get_constraintdef(k.oid),
                                                     'fk', k.contype = 'f')
                                  ORDER BY k.contype DESC, k.conname), '[]')
        INTO v_cons
        FROM pg_constraint k
        WHERE k.conrelid = p_parent::regclass AND k.contype IN ('p', 'u', 'f');
        SELECT coalesce(jsonb_agg(jsonb_build_object('name', ic.relname,
                                                     'def', pg_get_indexdef(x.indexrelid))
                                  ORDER BY ic.relname), '[]')
        INTO v_idx
        FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
        WHERE x.indrelid = p_parent::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                                                          AND k.conrelid = x.indrelid);

        EXECUTE format('ALTER TABLE %I RENAME TO %I', p_parent, v_old);
        FOR c IN SELECT ic.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                 WHERE x.indrelid = v_old::regclass
        LOOP
                EXECUTE format('ALTER INDEX %I RENAME TO %I', c.relname,
                               left(c.relname, 50) || '_unpart');
        END LOOP;

        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
                       ' INCLUDING STORAGE INCLUDING COMMENTS INCLUDING STATISTICS'
                       ' INCLUDING GENERATED INCLUDING IDENTITY) PARTITION BY RANGE (%I)',
                       p_parent, v_old, s.key);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', p_parent || '_default',
                       p_parent);
        FOR c IN EXECUTE format('SELECT DISTINCT date_trunc(''day'', %I) AS lo FROM %I'
                                ' UNION SELECT g FROM generate_series(date_trunc(''day'', now()),'
                                ' date_trunc(''day'', now()) + make_interval(days => $1),'
                                ' interval ''1 day'') g ORDER BY 1', s.key, v_old)
                USING p_ahead_days
        LOOP
                PERFORM hjo_part_ensure(p_parent, c.lo);
        END LOOP;

        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
        FROM pg_attribute a
        WHERE a.attrelid = p_parent::regclass AND a.attnum > 0 AND NOT a.attisdropped;
        EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM %I', p_parent, v_cols, v_cols, v_old);
        GET DIAGNOSTICS v_n = ROW_COUNT;

        FOR e IN SELECT * FROM jsonb_array_elements(v_cons) LOOP
                EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', p_parent, e->>'name',
                               e->>'def');
        END LOOP;
        FOR e IN SELECT * FROM jsonb_array_elements(v_idx) LOOP
                -- the definition names the table as it was called, which is p_parent again
                EXECUTE e->>'def';
        END LOOP;

        -- the same grants (hjo_api's SELECT from 0030, anything added since)
        FOR c IN
                SELECT a.privilege_type, a.grantee
                FROM pg_class k, aclexplode(k.relacl) a
                WHERE k.oid = v_old::regclass AND a.grantee <> k.relowner
        LOOP
                EXECUTE format('GRANT %s ON %I TO %s', c.privilege_type, p_parent,
                               CASE WHEN c.grantee = 0 THEN 'PUBLIC'
                                    ELSE quote_ident(pg_get_userbyid(c.grantee)) END);
        END LOOP;

        EXECUTE format('DROP TABLE %I', v_old);
        RETURN v_n;
END
$$;

-- ---- 1. partition the sample tables --------------------------------------------------------

SELECT hjo_part_rebuild('metric_samples', 7);
SELECT hjo_part_rebuild('gpu_samples', 7);
SELECT hjo_part_rebuild('node_samples', 7);
-- used once: its job is done
DROP FUNCTION hjo_part_rebuild(text, integer);

-- ---- 2. rollups ----------------------------------------------------------------------------

CREATE TABLE metric_rollup_1m (
        job_id          text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node            text NOT NULL,
        bucket          timestamptz NOT NULL, -- start of the UTC minute (hour)
        n               bigint NOT NULL,      -- samples
        cpu_n           bigint NOT NULL,      -- samples with cpu_usage
        cpu_sum         numeric NOT NULL,
        cpu_min         double precision,
        cpu_max         double precision,
        mem_n           bigint NOT NULL,
        mem_sum         numeric NOT NULL,
        mem_min         bigint,
        mem_max         bigint,
        gpu_n           bigint NOT NULL,
        gpu_sum         numeric NOT NULL,
        gpu_min         double precision,
        gpu_max         double precision,
        gpu_idle_n      bigint NOT NULL,      -- samples with gpu_usage < 1 %
        cpu_seconds_max double precision,     -- the cumulative counter's largest value
        mem_peak_max    bigint,               -- largest memory_peak_bytes
        PRIMARY KEY (job_id, node, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE metric_rollup_1h (LIKE metric_rollup_1m INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE (bucket);
ALTER TABLE metric_rollup_1h ADD PRIMARY KEY (job_id, node, bucket),
        ADD FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE;

CREATE TABLE gpu_rollup_1m (
        job_id      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node        text NOT NULL,
        gpu_id      text NOT NULL,
        bucket      timestamptz NOT NULL,
        n           bigint NOT NULL,
        util_n      bigint NOT NULL,
        util_sum    numeric NOT NULL,
        util_min    double precision,
        util_max    double precision,
        util_idle_n bigint NOT NULL, -- samples with utilization_percent < 1 %
        mem_n       bigint NOT NULL,
        mem_sum     numeric NOT NULL,
        mem_min     bigint,
        mem_max     bigint,
        PRIMARY KEY (job_id, node, gpu_id, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE gpu_rollup_1h (LIKE gpu_rollup_1m INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE (bucket);
ALTER TABLE gpu_rollup_1h ADD PRIMARY KEY (job_id, node, gpu_id, bucket),
        ADD FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE;

CREATE TABLE metric_rollup_1m_default PARTITION OF metric_rollup_1m DEFAULT;
CREATE TABLE metric_rollup_1h_default PARTITION OF metric_rollup_1h DEFAULT;
CREATE TABLE gpu_rollup_1m_default PARTITION OF gpu_rollup_1m DEFAULT;
CREATE TABLE gpu_rollup_1h_default PARTITION OF gpu_rollup_1h DEFAULT;

-- The latest sample of each (job, node), kept by the same trigger: "the current value" is one
-- index lookup here, where on the partitioned table it is one probe per partition (/metrics
-- asks it for every running job and node: ~0.1 ms x 40 partitions x 10,000 jobs).
CREATE TABLE metric_latest (
        job_id             text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        node               text NOT NULL,
        ts                 timestamptz NOT NULL,
        cpu_usage          double precision,
        memory_usage_bytes bigint,
        gpu_usage          double precision,
        cpu_seconds        double precision,
        memory_peak_bytes  bigint,
        oom_kills          bigint,
        PRIMARY KEY (job_id, node)
);

-- Partitions for the rollups of the rows already there, and ahead.
DO $$
DECLARE
        c record;
BEGIN
        FOR c IN SELECT DISTINCT date_trunc('day', ts, 'UTC') AS lo FROM metric_samples
                 UNION SELECT DISTINCT date_trunc('day', ts, 'UTC') FROM gpu_samples
                 UNION SELECT g FROM generate_series(date_trunc('day', now(), 'UTC'),
                                                     date_trunc('day', now(), 'UTC') + interval '7 days',
                                                     interval '1 day') g
        LOOP
                PERFORM hjo_part_ensure('metric_rollup_1m', c.lo);
                PERFORM hjo_part_ensure('gpu_rollup_1m', c.lo);
                PERFORM hjo_part_ensure('metric_rollup_1h', date_trunc('month', c.lo, 'UTC'));
                PERFORM hjo_part_ensure('gpu_rollup_1h', date_trunc('month', c.lo, 'UTC'));
        END LOOP;
END
$$;

-- The rollup of a set of new metric rows (the trigger's transition table), for one
-- resolution: written out twice below because a transition table is visible only to the
-- trigger function's own statements.
CREATE FUNCTION hjo_metric_rollup_trg() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
        INSERT INTO metric_rollup_1m AS r (job_id, node, bucket, n, cpu_n, cpu_sum, cpu_min,
                cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum, gpu_min, gpu_max,
                gpu_idle_n, cpu_seconds_max, mem_peak_max)
        SELECT s.job_id, s.node, date_trunc('minute', s.ts, 'UTC'), count(*), count(s.cpu_usage),
               coalesce(sum(s.cpu_usage::numeric), 0), min(s.cpu_usage), max(s.cpu_usage),
               count(s.memory_usage_bytes), coalesce(sum(s.memory_usage_bytes), 0),
               min(s.memory_usage_bytes), max(s.memory_usage_bytes), count(s.gpu_usage),
               coalesce(sum(s.gpu_usage::numeric), 0), min(s.gpu_usage), max(s.gpu_usage),
               count(*) FILTER (WHERE s.gpu_usage < 1), max(s.cpu_seconds),
               max(s.memory_peak_bytes)
        FROM hjo_new s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (job_id, node, bucket) DO UPDATE SET
                n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                cpu_sum = r.cpu_sum + excluded.cpu_sum,
                cpu_min = least(r.cpu_min, excluded.cpu_min),
                cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max),
                gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                gpu_min = least(r.gpu_min, excluded.gpu_min),
                gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max);
        INSERT INTO metric_rollup_1h AS r (job_id, node, bucket, n, cpu_n, cpu_sum, cpu_min,
                cpu_max, mem_n, mem_sum, mem_min, mem_max, gpu_n, gpu_sum, gpu_min, gpu_max,
                gpu_idle_n, cpu_seconds_max, mem_peak_max)
        SELECT s.job_id, s.node, date_trunc('hour', s.ts, 'UTC'), count(*), count(s.cpu_usage),
               coalesce(sum(s.cpu_usage::numeric), 0), min(s.cpu_usage), max(s.cpu_usage),
               count(s.memory_usage_bytes), coalesce(sum(s.memory_usage_bytes), 0),
               min(s.memory_usage_bytes), max(s.memory_usage_bytes), count(s.gpu_usage),
               coalesce(sum(s.gpu_usage::numeric), 0), min(s.gpu_usage), max(s.gpu_usage),
               count(*) FILTER (WHERE s.gpu_usage < 1), max(s.cpu_seconds),
               max(s.memory_peak_bytes)
        FROM hjo_new s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (job_id, node, bucket) DO UPDATE SET
                n = r.n + excluded.n, cpu_n = r.cpu_n + excluded.cpu_n,
                cpu_sum = r.cpu_sum + excluded.cpu_sum,
                cpu_min = least(r.cpu_min, excluded.cpu_min),
                cpu_max = greatest(r.cpu_max, excluded.cpu_max),
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max),
                gpu_n = r.gpu_n + excluded.gpu_n, gpu_sum = r.gpu_sum + excluded.gpu_sum,
                gpu_min = least(r.gpu_min, excluded.gpu_min),
                gpu_max = greatest(r.gpu_max, excluded.gpu_max),
                gpu_idle_n = r.gpu_idle_n + excluded.gpu_idle_n,
                cpu_seconds_max = greatest(r.cpu_seconds_max, excluded.cpu_seconds_max),
                mem_peak_max = greatest(r.mem_peak_max, excluded.mem_peak_max);
        INSERT INTO metric_latest AS l (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage,
                                        cpu_seconds, memory_peak_bytes, oom_kills)
        SELECT DISTINCT ON (s.job_id, s.node) s.job_id, s.node, s.ts, s.cpu_usage,
               s.memory_usage_bytes, s.gpu_usage, s.cpu_seconds, s.memory_peak_bytes, s.oom_kills
        FROM hjo_new s ORDER BY s.job_id, s.node, s.ts DESC
        ON CONFLICT (job_id, node) DO UPDATE SET
                ts = excluded.ts, cpu_usage = excluded.cpu_usage,
                memory_usage_bytes = excluded.memory_usage_bytes, gpu_usage = excluded.gpu_usage,
                cpu_seconds = excluded.cpu_seconds, memory_peak_bytes = excluded.memory_peak_bytes,
                oom_kills = excluded.oom_kills
        WHERE excluded.ts > l.ts;
        -- late samples of a job that has finished already: its summary follows them
        PERFORM hjo_job_summarize(j.id)
        FROM jobs j WHERE j.id IN (SELECT DISTINCT s.job_id FROM hjo_new s)
                      AND j.end_time IS NOT NULL
        ORDER BY j.id;
        RETURN NULL;
END
$$;

CREATE FUNCTION hjo_gpu_rollup_trg() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
        INSERT INTO gpu_rollup_1m AS r (job_id, node, gpu_id, bucket, n, util_n, util_sum,
                util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min, mem_max)
        SELECT g.job_id, g.node, g.gpu_id, date_trunc('minute', g.ts, 'UTC'), count(*),
               count(g.utilization_percent), coalesce(sum(g.utilization_percent::numeric), 0),
               min(g.utilization_percent), max(g.utilization_percent),
               count(*) FILTER (WHERE g.utilization_percent < 1), count(g.memory_used_bytes),
               coalesce(sum(g.memory_used_bytes), 0), min(g.memory_used_bytes),
               max(g.memory_used_bytes)
        FROM hjo_new g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (job_id, node, gpu_id, bucket) DO UPDATE SET
                n = r.n + excluded.n, util_n = r.util_n + excluded.util_n,
                util_sum = r.util_sum + excluded.util_sum,
                util_min = least(r.util_min, excluded.util_min),
                util_max = greatest(r.util_max, excluded.util_max),
                util_idle_n = r.util_idle_n + excluded.util_idle_n,
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max);
        INSERT INTO gpu_rollup_1h AS r (job_id, node, gpu_id, bucket, n, util_n, util_sum,
                util_min, util_max, util_idle_n, mem_n, mem_sum, mem_min, mem_max)
        SELECT g.job_id, g.node, g.gpu_id, date_trunc('hour', g.ts, 'UTC'), count(*),
               count(g.utilization_percent), coalesce(sum(g.utilization_percent::numeric), 0),
               min(g.utilization_percent), max(g.utilization_percent),
               count(*) FILTER (WHERE g.utilization_percent < 1), count(g.memory_used_bytes),
               coalesce(sum(g.memory_used_bytes), 0), min(g.memory_used_bytes),
               max(g.memory_used_bytes)
        FROM hjo_new g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (job_id, node, gpu_id, bucket) DO UPDATE SET
                n = r.n + excluded.n, util_n = r.util_n + excluded.util_n,
                util_sum = r.util_sum + excluded.util_sum,
                util_min = least(r.util_min, excluded.util_min),
                util_max = greatest(r.util_max, excluded.util_max),
                util_idle_n = r.util_idle_n + excluded.util_idle_n,
                mem_n = r.mem_n + excluded.mem_n, mem_sum = r.mem_sum + excluded.mem_sum,
                mem_min = least(r.mem_min, excluded.mem_min),
                mem_max = greatest(r.mem_max, excluded.mem_max);
        PERFORM hjo_job_summarize(j.id)
        FROM jobs j WHERE j.id IN (SELECT DISTINCT g.job_id FROM hjo_new g)
                      AND j.end_time IS NOT NULL
        ORDER BY j.id;
        RETURN NULL;
END
$$;

-- the rollups of the rows moved above (the triggers start after this)
INSERT INTO metric_rollup_1m (job_id, node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max, mem_n,
        mem_sum, mem_min, mem_max, gpu_n, gpu_sum, gpu_min, gpu_max, gpu_idle_n,
        cpu_seconds_max, mem_peak_max)
SELECT s.job_id, s.node, date_trunc('minute', s.ts, 'UTC'), count(*), count(s.cpu_usage),
       coalesce(sum(s.cpu_usage::numeric), 0), min(s.cpu_usage), max(s.cpu_usage),
       count(s.memory_usage_bytes), coalesce(sum(s.memory_usage_bytes), 0),
       min(s.memory_usage_bytes), max(s.memory_usage_bytes), count(s.gpu_usage),
       coalesce(sum(s.gpu_usage::numeric), 0), min(s.gpu_usage), max(s.gpu_usage),
       count(*) FILTER (WHERE s.gpu_usage < 1), max(s.cpu_seconds), max(s.memory_peak_bytes)
FROM metric_samples s GROUP BY 1, 2, 3;
INSERT INTO metric_rollup_1h (job_id, node, bucket, n, cpu_n, cpu_sum, cpu_min, cpu_max, mem_n,
        mem_sum, mem_min, mem_max, gpu_n, gpu_sum, gpu_min, gpu_max, gpu_idle_n,
        cpu_seconds_max, mem_peak_max)
SELECT s.job_id, s.node, date_trunc('hour', s.bucket, 'UTC'), sum(s.n), sum(s.cpu_n),
       sum(s.cpu_sum), min(s.cpu_min), max(s.cpu_max), sum(s.mem_n), sum(s.mem_sum),
       min(s.mem_min), max(s.mem_max), sum(s.gpu_n), sum(s.gpu_sum), min(s.gpu_min),
       max(s.gpu_max), sum(s.gpu_idle_n), max(s.cpu_seconds_max), max(s.mem_peak_max)
FROM metric_rollup_1m s GROUP BY 1, 2, 3;
INSERT INTO gpu_rollup_1m (job_id, node, gpu_id, bucket, n, util_n, util_sum, util_min, util_max,
        util_idle_n, mem_n, mem_sum, mem_min, mem_max)
SELECT g.job_id, g.node, g.gpu_id, date_trunc('minute', g.ts, 'UTC'), count(*),
       count(g.utilization_percent), coalesce(sum(g.utilization_percent::numeric), 0),
       min(g.utilization_percent), max(g.utilization_percent),
       count(*) FILTER (WHERE g.utilization_percent < 1), count(g.memory_used_bytes),
       coalesce(sum(g.memory_used_bytes), 0), min(g.memory_used_bytes), max(g.memory_used_bytes)
FROM gpu_samples g GROUP BY 1, 2, 3, 4;
INSERT INTO gpu_rollup_1h (job_id, node, gpu_id, bucket, n, util_n, util_sum, util_min, util_max,
        util_idle_n, mem_n, mem_sum, mem_min, mem_max)
SELECT g.job_id, g.node, g.gpu_id, date_trunc('hour', g.bucket, 'UTC'), sum(g.n), sum(g.util_n),
       sum(g.util_sum), min(g.util_min), max(g.util_max), sum(g.util_idle_n), sum(g.mem_n),
       sum(g.mem_sum), min(g.mem_min), max(g.mem_max)
FROM gpu_rollup_1m g GROUP BY 1, 2, 3, 4;

INSERT INTO metric_latest (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage, cpu_seconds,
                           memory_peak_bytes, oom_kills)
SELECT DISTINCT ON (s.job_id, s.node) s.job_id, s.node, s.ts, s.cpu_usage, s.memory_usage_bytes,
       s.gpu_usage, s.cpu_seconds, s.memory_peak_bytes, s.oom_kills
FROM metric_samples s ORDER BY s.job_id, s.node, s.ts DESC;

CREATE TRIGGER metric_samples_rollup AFTER INSERT ON metric_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        EXECUTE FUNCTION hjo_metric_rollup_trg();
CREATE TRIGGER gpu_samples_rollup AFTER INSERT ON gpu_samples
        REFERENCING NEW TABLE AS hjo_new FOR EACH STATEMENT
        EXECUTE FUNCTION hjo_gpu_rollup_trg();

-- ---- 4. per-job summaries ------------------------------------------------------------------

ALTER TABLE jobs
        ADD COLUMN cpu_seconds          double precision CHECK (cpu_seconds >= 0),
        ADD COLUMN cpu_efficiency       double precision CHECK (cpu_efficiency >= 0),
        ADD COLUMN memory_peak_mb       double precision CHECK (memory_peak_mb >= 0),
        ADD COLUMN memory_peak_ratio    double precision CHECK (memory_peak_ratio >= 0),
        ADD COLUMN gpu_mean_utilization double precision
                CHECK (gpu_mean_utilization BETWEEN 0 AND 100),
        ADD COLUMN gpu_max_utilization  double precision
                CHECK (gpu_max_utilization BETWEEN 0 AND 100),
        ADD COLUMN idle_gpu_hours       double precision CHECK (idle_gpu_hours >= 0),
        ADD COLUMN summary_at           timestamptz;

-- Filters and sort keys of GET /v1/jobs: a sort by a summary lists the jobs that have one,
-- so one partial index per key serves both directions.
CREATE INDEX jobs_cpu_efficiency_idx ON jobs (cpu_efficiency, id)
        WHERE cpu_efficiency IS NOT NULL;
CREATE INDEX jobs_memory_peak_ratio_idx ON jobs (memory_peak_ratio, id)
        WHERE memory_peak_ratio IS NOT NULL;
CREATE INDEX jobs_gpu_mean_utilization_idx ON jobs (gpu_mean_utilization, id)
        WHERE gpu_mean_utilization IS NOT NULL;
CREATE INDEX jobs_idle_gpu_hours_idx ON jobs (idle_gpu_hours, id)
        WHERE idle_gpu_hours IS NOT NULL;

-- The summary of one job from its 1-hour rollups (exact: they hold every sample's figures)
-- and its allocation.  Definitions (docs/storage.md):
--   elapsed          end_time - start_time (NULL without either)
--   cpu_seconds      sum over nodes of the largest cumulative cpu_seconds counter the
--                    collector reported; without counters, mean(cpu_usage)/100 x elapsed x
--                    allocated_cpus (cpu_usage is a percentage of the allocation)
--   cpu_efficiency   cpu_seconds / (elapsed x allocated_cpus); without counters
--                    mean(cpu_usage)/100
--   memory_peak_mb   the largest memory_peak_bytes or memory_usage_bytes of any node, MiB
--   memory_peak_ratio memory_peak_mb / allocated_memory_mb
--   gpu_mean_utilization, gpu_max_utilization  over the per-device GPU samples; without
--                    them, over the job samples' gpu_usage
--   idle_gpu_hours   elapsed hours x the sum over devices of the share of that device's
--                    samples below 1 % utilisation; without per-device samples,
--                    elapsed hours x allocated_gpus x the share of gpu_usage samples below 1 %
CREATE FUNCTION hjo_job_summarize(p_id text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
        j jobs;
        v_elapsed double precision;
        m record;
        g record;
        v_cpu_s double precision;
        v_eff double precision;
        v_peak double precision;
        v_gmean double precision;
        v_gmax double precision;
        v_idle double precision;
BEGIN
        SELECT * INTO j FROM jobs WHERE id = p_id;
        IF NOT FOUND THEN
                RETURN;
        END IF;
        IF j.start_time IS NOT NULL AND j.end_time IS NOT NULL THEN
                v_elapsed := extract(epoch FROM j.end_time - j.start_time);
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
                v_cpu_s := m.counter_s;
                IF v_elapsed > 0 AND j.allocated_cpus > 0 THEN
                        v_eff := v_cpu_s / (v_elapsed * j.allocated_cpus);
                END IF;
        ELSIF m.cpu_n > 0 THEN
                v_eff := (m.cpu_sum / m.cpu_n / 100)::double precision;
                IF v_elapsed IS NOT NULL AND j.allocated_cpus IS NOT NULL THEN
                        v_cpu_s := v_eff * v_elapsed * j.allocated_cpus;
                END IF;
        END IF;
        v_peak := m.peak / 1048576.0;
        IF g.util_n > 0 THEN
                v_gmean := (g.util_sum / g.util_n)::double precision;
                v_gmax := g.util_max;
                v_idle := v_elapsed / 3600 * g.idle_share;
        ELSIF m.gpu_n > 0 THEN
                v_gmean := (m.gpu_sum / m.gpu_n)::double precision;
                v_gmax := m.gpu_max;
                v_idle := v_elapsed / 3600 * j.allocated_gpus * m.gpu_idle_n / m.gpu_n;
        END IF;

        UPDATE jobs SET cpu_seconds = v_cpu_s,
                        cpu_efficiency = v_eff,
                        memory_peak_mb = v_peak,
                        memory_peak_ratio = CASE WHEN allocated_memory_mb > 0
                                                 THEN v_peak / allocated_memory_mb END,
                        gpu_mean_utilization = v_gmean,
                        gpu_max_utilization = v_gmax,
                        idle_gpu_hours = v_idle,
                        summary_at = now()
        WHERE id = p_id;
END
$$;

-- The job's JSON gains the summary.  The current hjo_job_json (0002, or its replacement in a
-- later migration such as 0041) is kept as hjo_job_json_base and extended, so this file does
-- not freeze a copy of it; the fields are appended in order.  One expression without FROM, so
-- the planner inlines it (a subquery here made the job list 5 times slower).
ALTER FUNCTION hjo_job_json(jobs) RENAME TO hjo_job_json_base;
CREATE FUNCTION hjo_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT (left(hjo_job_json_base(j)::text, -1) || ', ' ||
                right(json_build_object('cpu_seconds', j.cpu_seconds,
                                        'cpu_efficiency', j.cpu_efficiency,
                                        'memory_peak_mb', j.memory_peak_mb,
                                        'memory_peak_ratio', j.memory_peak_ratio,
                                        'gpu_mean_utilization', j.gpu_mean_utilization,
                                        'gpu_max_utilization', j.gpu_max_utilization,
                                        'idle_gpu_hours', j.idle_gpu_hours,
                                        'summary_at', hjo_ts(j.summary_at))::text, -1))::json
$$;

-- POST /v1/events/job-finished (0002), unchanged but for the summary computed when the job
-- finishes (the 'updated' and 'created' outcomes).  SECURITY DEFINER and the fixed
-- search_path of 0030_roles.sql are restated: CREATE OR REPLACE does not keep them.
CREATE OR REPLACE FUNCTION hjo_job_finished(p_job_id text, p_ts timestamptz, p_exit integer,
                                 p_signal integer, p_final text, p_slurm text,
                                 p_user text, p_nodes text[], p_partition text,
                                 p_account text, p_cluster text,
                                 p_source text, p_corr text,
                                 OUT status text, OUT message text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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
                        PERFORM hjo_job_summarize(p_job_id);
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
        PERFORM hjo_job_summarize(p_job_id);
        PERFORM hjo_audit(p_job_id, 'job-finished', coalesce(p_user, ''), p_source, p_corr,
                          jsonb_build_object('status', 'updated', 'state', v_state,
                                             'exit_code', p_exit, 'signal', p_signal,
                                             'slurm_state', p_slurm));
        status := 'updated';
        message := 'job finished';
END
$$;

-- PATCH /v1/jobs/{id} (0002): a PATCH to a final state finishes the job too; unchanged but
-- for the summary.
CREATE OR REPLACE FUNCTION hjo_job_patch(p_id text, p_state text, p_cpu double precision,
                              p_mem_mb double precision, p_gpu double precision,
                              p_changed_by text, p_source text, p_corr text) RETURNS json
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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
        IF n.end_time IS NOT NULL THEN
                PERFORM hjo_job_summarize(p_id);
                SELECT * INTO n FROM jobs WHERE id = p_id;
        END IF;
        PERFORM hjo_audit(p_id, 'update', p_changed_by, p_source, p_corr,
                          jsonb_build_object('before', to_jsonb(j) - 'updated_at',
                                             'after', to_jsonb(n) - 'updated_at'));
        RETURN hjo_job_json(n);
END
$$;

-- Summaries of the jobs that finished before this migration.
DO $$
BEGIN
        PERFORM hjo_job_summarize(id) FROM jobs WHERE end_time IS NOT NULL ORDER BY id;
END
$$;

-- GET /v1/jobs with summary filters and a sort key.  The ORDER BY is chosen from a fixed list
-- (never from input text) and the query runs with EXECUTE so that each call is planned with its
-- own values: absent filters fold away and the index of the sort key is used.
DROP FUNCTION hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer,
                            integer);
CREATE FUNCTION hjo_jobs_list(p_state text, p_user text, p_node text, p_account text,
                              p_partition text, p_since timestamptz, p_until timestamptz,
                              p_limit integer, p_offset integer, p_sort text,
                              p_eff_lt float8, p_eff_gt float8, p_mem_lt float8, p_mem_gt float8,
                              p_gpu_lt float8, p_gpu_gt float8, p_idle_lt float8,
                              p_idle_gt float8, p_count text) RETURNS json
-- VOLATILE only because PostgreSQL allows EXPLAIN (count=estimate) in volatile functions alone;
-- it writes nothing (hjo_api may not).
LANGUAGE plpgsql AS $$
DECLARE
        v_sort text := coalesce(p_sort, '-start_time');
        v_key text := ltrim(coalesce(p_sort, '-start_time'), '-');
        v_desc boolean := left(coalesce(p_sort, '-start_time'), 1) = '-';
        v_order text;
        v_extra text := '';
        v_where text;
        v_plan json;
        v_count_sql text;
        res json;
BEGIN
        IF v_sort IN ('start_time', '-start_time') THEN
                v_order := CASE WHEN v_desc THEN 'start_time DESC NULLS LAST, id DESC'
                                ELSE 'start_time ASC NULLS FIRST, id ASC' END;
        ELSIF v_key IN ('cpu_efficiency', 'memory_peak_ratio', 'gpu_mean_utilization',
                        'idle_gpu_hours') AND v_sort IN (v_key, '-' || v_key) THEN
                v_order := format('%I %s, id %s', v_key, CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END,
                                  CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END);
                v_extra := format(' AND %I IS NOT NULL', v_key);
        ELSE
                RAISE EXCEPTION 'sort must be one of start_time, cpu_efficiency, '
                        'memory_peak_ratio, gpu_mean_utilization, idle_gpu_hours, optionally '
                        'prefixed with -' USING ERRCODE = 'HJ400', COLUMN = 'sort';
        END IF;
        v_where := $w$
                ($1 IS NULL OR state = $1)
                AND ($2 IS NULL OR user_name = $2)
                AND ($3 IS NULL OR nodes @> ARRAY[$3])
                AND ($4 IS NULL OR account = $4)
                AND ($5 IS NULL OR partition = $5)
                AND ($6 IS NULL OR start_time >= $6)
                AND ($7 IS NULL OR start_time <= $7)
                AND ($10 IS NULL OR cpu_efficiency < $10)
                AND ($11 IS NULL OR cpu_efficiency > $11)
                AND ($12 IS NULL OR memory_peak_ratio < $12)
                AND ($13 IS NULL OR memory_peak_ratio > $13)
                AND ($14 IS NULL OR gpu_mean_utilization < $14)
                AND ($15 IS NULL OR gpu_mean_utilization > $15)
                AND ($16 IS NULL OR idle_gpu_hours < $16)
                AND ($17 IS NULL OR idle_gpu_hours > $17)$w$ || v_extra;
        -- count=estimate: the planner's row estimate instead of counting (an exact count reads
        -- every matching index entry: ~150 ms for a million jobs)
        IF coalesce(p_count, 'exact') = 'estimate' THEN
                EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM jobs WHERE ' || v_where
                INTO v_plan
                USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
                      p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt,
                      p_idle_lt, p_idle_gt;
                v_count_sql := format('%s::bigint', (v_plan->0->'Plan'->>'Plan Rows')::bigint);
        ELSIF coalesce(p_count, 'exact') = 'exact' THEN
                v_count_sql := 'SELECT count(*) FROM jobs WHERE ' || v_where;
        ELSE
                RAISE EXCEPTION 'count must be exact or estimate' USING ERRCODE = 'HJ400',
                        COLUMN = 'count';
        END IF;
        -- the page and the count are separate scans of jobs (no shared CTE: a CTE used twice is
        -- materialized, which would read every matching row to return 100)
        EXECUTE format($q$
                SELECT json_build_object(
                        'jobs', coalesce((SELECT json_agg(hjo_job_json(page) ORDER BY %s)
                                          FROM (SELECT * FROM jobs WHERE %s ORDER BY %s
                                                LIMIT $8 OFFSET $9) page), '[]'::json),
                        'total', (%s),
                        'limit', $8,
                        'offset', $9)
                $q$, v_order, v_where, v_order, v_count_sql)
        INTO res
        USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
              p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt, p_idle_lt,
              p_idle_gt;
        RETURN res;
END
$$;

-- ---- 5. GET /v1/jobs/{id}/metrics at a resolution -------------------------------------------
--
-- p_resolution: 'raw', '1m', '1h' or 'auto'/NULL: the finest resolution whose entries for the
-- requested range (start_time .. end_time, node) fit in max(p_limit, 1000): raw when the
-- range holds that few samples, else 1m when it has that few minutes with samples, else 1h.
-- A long range comes back whole instead of as its first p_limit samples; a short job's
-- samples come back raw, as before rollups existed.  Rollup rows are buckets: a bucket is listed when it starts
-- at or after start_time truncated to the bucket and at or before end_time.
DROP FUNCTION hjo_samples_list(text, timestamptz, timestamptz, text, integer);
CREATE FUNCTION hjo_samples_list(p_id text, p_start timestamptz, p_end timestamptz,
                                 p_node text, p_limit integer, p_resolution text) RETURNS json
LANGUAGE plpgsql STABLE SET timezone = 'UTC' AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_raw_n bigint;
        v_1m_n bigint;
        v_tab text;
        v_where text;
        v_plan json;
        v_count_sql text;
        res json;
BEGIN
        PERFORM 1 FROM jobs WHERE id = p_id;
        IF NOT FOUND THEN
                RETURN NULL;
        END IF;
        IF v_res = 'auto' THEN
                -- the finest resolution whose entries for the range fit in one answer of
                -- max(limit, 1000): the 1-hour rollups of the range say how many raw samples
                -- and how many minutes with samples there are (a few dozen rows to read)
                SELECT coalesce(sum(r.n), 0), count(*) * 60 INTO v_raw_n, v_1m_n
                FROM metric_rollup_1h r
                WHERE r.job_id = p_id
                  AND (p_start IS NULL OR r.bucket >= date_trunc('hour', p_start))
                  AND (p_end IS NULL OR r.bucket <= p_end)
                  AND (p_node IS NULL OR r.node = p_node);
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM metric_rollup_1m r
                        WHERE r.job_id = p_id
                          AND (p_start IS NULL OR r.bucket >= date_trunc('minute', p_start))
                          AND (p_end IS NULL OR r.bucket <= p_end)
                          AND (p_node IS NULL OR r.node = p_node);
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        -- page and count are separate index scans (a CTE used twice would be materialized:
        -- every sample of the job read to return a page)
        -- EXECUTE: planned with this call's values, so absent filters fold away and the
        -- partitions outside [start_time, end_time] are pruned
        IF v_res = 'raw' THEN
                v_where := 's.job_id = $1 AND ($2 IS NULL OR s.ts >= $2)'
                           ' AND ($3 IS NULL OR s.ts <= $3) AND ($4 IS NULL OR s.node = $4)';
                EXECUTE format($q$
                        SELECT json_build_object(
                                'job_id', $1,
                                'resolution', 'raw',
                                'samples', coalesce((SELECT json_agg(json_build_object(
                                                'timestamp', hjo_ts(page.ts),
                                                'node', page.node,
                                                'cpu_usage', page.cpu_usage,
                                                'memory_usage_bytes', page.memory_usage_bytes,
                                                'memory_usage_mb', page.memory_usage_bytes::float8 / 1048576,
                                                'gpu_usage', page.gpu_usage) ORDER BY page.ts, page.node)
                                        FROM (SELECT s.ts, s.node, s.cpu_usage, s.memory_usage_bytes,
                                                     s.gpu_usage
                                              FROM metric_samples s WHERE %s
                                              ORDER BY s.ts, s.node LIMIT $5) page), '[]'::json),
                                'total', (SELECT count(*) FROM metric_samples s WHERE %s))
                        $q$, v_where, v_where)
                INTO res USING p_id, p_start, p_end, p_node, p_limit;
                RETURN res;
        END IF;
        v_tab := CASE v_res WHEN '1m' THEN 'metric_rollup_1m' WHEN '1h' THEN 'metric_rollup_1h' END;
        IF v_tab IS NULL THEN
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
        v_where := format('r.job_id = $1 AND ($2 IS NULL OR r.bucket >= date_trunc(%L, $2))'
                          ' AND ($3 IS NULL OR r.bucket <= $3) AND ($4 IS NULL OR r.node = $4)',
                          CASE v_res WHEN '1m' THEN 'minute' ELSE 'hour' END);
        EXECUTE format($q$
                SELECT json_build_object(
                        'job_id', $1,
                        'resolution', %L,
                        'samples', coalesce((SELECT json_agg(json_build_object(
                                        'timestamp', hjo_ts(p.bucket),
                                        'node', p.node,
                                        'sample_count', p.n,
                                        'cpu_usage', (p.cpu_sum / nullif(p.cpu_n, 0))::float8,
                                        'cpu_usage_min', p.cpu_min,
                                        'cpu_usage_max', p.cpu_max,
                                        'memory_usage_bytes', round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                                        'memory_usage_mb', (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576,
                                        'memory_usage_bytes_max', p.mem_max,
                                        'gpu_usage', (p.gpu_sum / nullif(p.gpu_n, 0))::float8,
                                        'gpu_usage_min', p.gpu_min,
                                        'gpu_usage_max', p.gpu_max) ORDER BY p.bucket, p.node)
                                FROM (SELECT * FROM %I r WHERE %s
                                      ORDER BY r.bucket, r.node LIMIT $5) p), '[]'::json),
                        'total', (SELECT count(*) FROM %I r WHERE %s))
                $q$, v_res, v_tab, v_where, v_tab, v_where)
        INTO res USING p_id, p_start, p_end, p_node, p_limit;
        RETURN res;
END
$$;

-- ---- roles (as 0030_roles.sql) ---------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION hjo_part_spec(text), hjo_part_name(text, text, timestamptz),
        hjo_part_ensure(text, timestamptz), hjo_maintain_table(text, integer, integer),
        hjo_metric_rollup_trg(), hjo_gpu_rollup_trg(), hjo_job_summarize(text),
        hjo_job_json(jobs),
        hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer, integer,
                      text, float8, float8, float8, float8, float8, float8, float8, float8, text),
        hjo_samples_list(text, timestamptz, timestamptz, text, integer, text)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_job_json(jobs),
        hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer, integer,
                      text, float8, float8, float8, float8, float8, float8, float8, float8, text),
        hjo_samples_list(text, timestamptz, timestamptz, text, integer, text)
        TO hjo_api;
GRANT SELECT ON metric_rollup_1m, metric_rollup_1h, gpu_rollup_1m, gpu_rollup_1h, metric_latest
        TO hjo_api;
