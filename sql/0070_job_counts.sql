-- 0070_job_counts.sql: the exact total of GET /v1/jobs without reading every matching job
-- (issue 6, benchmark figure 4).  total is the count of every job the filters match (the API
-- contract, api-notes.md), and counting 1,000,000 jobs reads 1,000,000 index entries: 60 ms
-- p50, 77 ms p99 on the benchmark machine, where the goal is p99 < 20 ms.
--
-- 1. job_counts holds how many jobs there are per (state, partition, which summaries are set);
--    job_range_counts how many have each summary in each value bucket (two significant digits:
--    0.01 steps below 1, 0.1 below 10, 1 below 100, ...), per the same groups.  Triggers on
--    jobs keep both in the same transaction as the change, so every snapshot sees counts that
--    agree with the jobs it sees: an insert adds its rows and a delete subtracts them
--    (statement triggers: one upsert per group however many rows), an update that changes a
--    job's group or a summary moves it (a row trigger whose WHEN skips every other update).
-- 2. Each backend adds to rows of its own (backend = pg_backend_pid()), so concurrent writers
--    never wait on each other's counter rows, and a transaction's counter rows are locked only
--    by it.  hjo_job_counts_fold (hjo-admin maintain) folds the rows of backends that are gone
--    into backend 0 and drops the empty ones, so the tables hold a few rows per group per live
--    backend.
-- 3. hjo_jobs_list counts with them when the only filters are state, partition and the range
--    filters of at most one summary (with any sort; a summary sort counts the jobs that have
--    that summary).  A range is the buckets wholly inside it, from job_range_counts, plus the
--    jobs of the one bucket the bound falls in that are on the right side of it, counted in
--    the summary's index: none to read when the bound is a bucket's edge (0.2, 5, 100).  Other
--    filters (user, node, account, since/until) use their index and count from jobs as before.
-- 4. TRUNCATE of jobs empties the counts; hjo_job_counts_rebuild() recounts from jobs (after a
--    load with the triggers disabled), keeping writers of jobs out while it does.
-- 5. Indexes in start_time order of the jobs that have each summary, for the pages of the
--    summary filters.
-- The triggers run as the role that writes jobs: hjo-api and collectord write through the
-- owner's SECURITY DEFINER functions (0030_roles.sql).

-- 1 ----------------------------------------------------------------------------------------
-- bit 1: cpu_efficiency, 2: memory_peak_ratio, 4: gpu_mean_utilization, 8: idle_gpu_hours
CREATE FUNCTION hjo_job_summaries(p_eff float8, p_mem float8, p_gpu float8, p_idle float8)
RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (CASE WHEN p_eff IS NULL THEN 0 ELSE 1 END + CASE WHEN p_mem IS NULL THEN 0 ELSE 2 END
        + CASE WHEN p_gpu IS NULL THEN 0 ELSE 4 END
        + CASE WHEN p_idle IS NULL THEN 0 ELSE 8 END)::smallint
$$;

-- A job's summaries as (key, value) rows, the key being the bit of hjo_job_summaries; NULL
-- values are left out.  Not STRICT, so PostgreSQL inlines it into the query that calls it.
CREATE FUNCTION hjo_job_summary_keys(p_eff float8, p_mem float8, p_gpu float8, p_idle float8)
RETURNS TABLE (key smallint, val float8) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT v.key, v.val
FROM (VALUES (1::smallint, p_eff), (2::smallint, p_mem), (4::smallint, p_gpu),
             (8::smallint, p_idle)) v(key, val)
WHERE v.val IS NOT NULL
$$;

-- The bucket of a summary value: its first two significant digits for values from 1 (0.01
-- steps below 1, 1000 steps from 10,000).  Non-decreasing in v (each piece is, and a piece
-- starts at or above where the one below ends), which is all the counts rely on: a value is
-- below a bound when its bucket is below the bound's, above it when its bucket is above.
CREATE FUNCTION hjo_summary_bucket(v float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN v < 1 THEN floor(v * 100) / 100
            WHEN v < 10 THEN floor(v * 10) / 10
            WHEN v < 100 THEN floor(v)
            WHEN v < 1000 THEN floor(v / 10) * 10
            WHEN v < 10000 THEN floor(v / 100) * 100
            ELSE floor(v / 1000) * 1000 END
$$;

-- A value at or below every value of v's bucket: the bucket's lower edge less a margin for
-- the rounding of v * 100 and of the division (a few units in the last place), so that an
-- index range from it finds every member of the bucket.
CREATE FUNCTION hjo_summary_floor(v float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT hjo_summary_bucket(v) - 1e-9 * greatest(1, abs(hjo_summary_bucket(v)))
$$;

CREATE TABLE job_counts (
        backend   integer NOT NULL,
        state     text NOT NULL,
        partition text,
        summaries smallint NOT NULL,
        n         bigint NOT NULL
);
CREATE UNIQUE INDEX job_counts_key ON job_counts (backend, state, partition, summaries)
        NULLS NOT DISTINCT;
COMMENT ON TABLE job_counts IS
        'jobs per (state, partition, summaries set): sum n over backend (sql/0070_job_counts.sql)';

CREATE TABLE job_range_counts (
        backend   integer NOT NULL,
        state     text NOT NULL,
        partition text,
        summaries smallint NOT NULL,
        key       smallint NOT NULL,
        bucket    double precision NOT NULL,
        n         bigint NOT NULL
);
CREATE UNIQUE INDEX job_range_counts_key
        ON job_range_counts (backend, state, partition, summaries, key, bucket) NULLS NOT DISTINCT;
CREATE INDEX job_range_counts_bucket ON job_range_counts (key, bucket);
COMMENT ON TABLE job_range_counts IS
        'jobs per group whose summary key (a bit of summaries) is in bucket (sql/0070)';

-- Statement triggers (transition tables) for INSERT and DELETE: one upsert per group however
-- many rows, so a bulk load or a mass delete costs little more than its rows; p_sign 1 for
-- the inserted rows, -1 for the deleted ones.  The bucket rows are written only for rows that
-- have a summary (a job is inserted without one, as a rule).
CREATE FUNCTION hjo_job_counts_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP = 'INSERT' THEN
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                SELECT pg_backend_pid(), state, partition,
                       hjo_job_summaries(cpu_efficiency, memory_peak_ratio, gpu_mean_utilization,
                                         idle_gpu_hours), count(*)
                FROM job_counts_new GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n;
                INSERT INTO job_range_counts AS r (backend, state, partition, summaries, key,
                                                   bucket, n)
                SELECT pg_backend_pid(), j.state, j.partition,
                       hjo_job_summaries(j.cpu_efficiency, j.memory_peak_ratio,
                                         j.gpu_mean_utilization, j.idle_gpu_hours),
                       v.key, hjo_summary_bucket(v.val), count(*)
                FROM job_counts_new j,
                     hjo_job_summary_keys(j.cpu_efficiency, j.memory_peak_ratio,
                                          j.gpu_mean_utilization, j.idle_gpu_hours) v
                GROUP BY 2, 3, 4, 5, 6 ORDER BY 2, 3, 4, 5, 6
                ON CONFLICT (backend, state, partition, summaries, key, bucket)
                DO UPDATE SET n = r.n + excluded.n;
        ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                SELECT pg_backend_pid(), state, partition,
                       hjo_job_summaries(cpu_efficiency, memory_peak_ratio, gpu_mean_utilization,
                                         idle_gpu_hours), -count(*)
                FROM job_counts_old GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n;
                INSERT INTO job_range_counts AS r (backend, state, partition, summaries, key,
                                                   bucket, n)
                SELECT pg_backend_pid(), j.state, j.partition,
                       hjo_job_summaries(j.cpu_efficiency, j.memory_peak_ratio,
                                         j.gpu_mean_utilization, j.idle_gpu_hours),
                       v.key, hjo_summary_bucket(v.val), -count(*)
                FROM job_counts_old j,
                     hjo_job_summary_keys(j.cpu_efficiency, j.memory_peak_ratio,
                                          j.gpu_mean_utilization, j.idle_gpu_hours) v
                GROUP BY 2, 3, 4, 5, 6 ORDER BY 2, 3, 4, 5, 6
                ON CONFLICT (backend, state, partition, summaries, key, bucket)
                DO UPDATE SET n = r.n + excluded.n;
        ELSE -- TRUNCATE
                DELETE FROM job_counts;
                DELETE FROM job_range_counts;
        END IF;
        RETURN NULL;
END
$$;

-- A row trigger for UPDATE, whose WHEN skips every update that changes no count (samples,
-- PATCHes of usage, exit details, the retire of live aggregates): a statement trigger would
-- capture the old and new rows of every UPDATE of jobs (measured: 3 times the cost per
-- statement).  One out of the old group and bucket rows, one into the new.  An UPDATE that
-- moves many jobs to another group in one transaction updates the same counter rows once per
-- job (a reconcile after an outage: thousands, not millions).
CREATE FUNCTION hjo_job_counts_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
        v_pid integer := pg_backend_pid();
        v_old smallint := hjo_job_summaries(OLD.cpu_efficiency, OLD.memory_peak_ratio,
                                            OLD.gpu_mean_utilization, OLD.idle_gpu_hours);
        v_new smallint := hjo_job_summaries(NEW.cpu_efficiency, NEW.memory_peak_ratio,
                                            NEW.gpu_mean_utilization, NEW.idle_gpu_hours);
BEGIN
        IF (OLD.state, OLD.partition, v_old) IS DISTINCT FROM (NEW.state, NEW.partition, v_new)
        THEN
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                VALUES (v_pid, OLD.state, OLD.partition, v_old, -1),
                       (v_pid, NEW.state, NEW.partition, v_new, 1)
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n;
        END IF;
        IF v_old <> 0 OR v_new <> 0 THEN
                INSERT INTO job_range_counts AS r (backend, state, partition, summaries, key,
                                                   bucket, n)
                SELECT v_pid, d.state, d.partition, d.summaries, d.key, d.bucket, sum(d.n)
                FROM (SELECT OLD.state, OLD.partition, v_old, k.key,
                             hjo_summary_bucket(k.val), -1
                      FROM hjo_job_summary_keys(OLD.cpu_efficiency, OLD.memory_peak_ratio,
                                                OLD.gpu_mean_utilization, OLD.idle_gpu_hours) k
                      UNION ALL
                      SELECT NEW.state, NEW.partition, v_new, k.key,
                             hjo_summary_bucket(k.val), 1
                      FROM hjo_job_summary_keys(NEW.cpu_efficiency, NEW.memory_peak_ratio,
                                                NEW.gpu_mean_utilization, NEW.idle_gpu_hours) k)
                     d(state, partition, summaries, key, bucket, n)
                GROUP BY 2, 3, 4, 5, 6 HAVING sum(d.n) <> 0 ORDER BY 2, 3, 4, 5, 6
                ON CONFLICT (backend, state, partition, summaries, key, bucket)
                DO UPDATE SET n = r.n + excluded.n;
        END IF;
        RETURN NULL;
END
$$;

CREATE TRIGGER jobs_counts_ins AFTER INSERT ON jobs REFERENCING NEW TABLE AS job_counts_new
        FOR EACH STATEMENT EXECUTE FUNCTION hjo_job_counts_stmt();
CREATE TRIGGER jobs_counts_del AFTER DELETE ON jobs REFERENCING OLD TABLE AS job_counts_old
        FOR EACH STATEMENT EXECUTE FUNCTION hjo_job_counts_stmt();
CREATE TRIGGER jobs_counts_trunc AFTER TRUNCATE ON jobs
        FOR EACH STATEMENT EXECUTE FUNCTION hjo_job_counts_stmt();
CREATE TRIGGER jobs_counts_upd AFTER UPDATE ON jobs FOR EACH ROW
        WHEN (OLD.state IS DISTINCT FROM NEW.state
              OR OLD.partition IS DISTINCT FROM NEW.partition
              OR OLD.cpu_efficiency IS DISTINCT FROM NEW.cpu_efficiency
              OR OLD.memory_peak_ratio IS DISTINCT FROM NEW.memory_peak_ratio
              OR OLD.gpu_mean_utilization IS DISTINCT FROM NEW.gpu_mean_utilization
              OR OLD.idle_gpu_hours IS DISTINCT FROM NEW.idle_gpu_hours)
        EXECUTE FUNCTION hjo_job_counts_row();

-- 4 ----------------------------------------------------------------------------------------
-- Recount from jobs.  SHARE ROW EXCLUSIVE on jobs waits for its writers and keeps new ones out
-- until commit (readers go on); the counts then agree with jobs as every later snapshot sees
-- them.  Returns the number of jobs.
CREATE FUNCTION hjo_job_counts_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
        v_n bigint;
BEGIN
        LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE;
        LOCK TABLE job_counts, job_range_counts IN EXCLUSIVE MODE;
        DELETE FROM job_counts;
        DELETE FROM job_range_counts;
        INSERT INTO job_counts (backend, state, partition, summaries, n)
        SELECT 0, state, partition,
               hjo_job_summaries(cpu_efficiency, memory_peak_ratio, gpu_mean_utilization,
                                 idle_gpu_hours), count(*)
        FROM jobs GROUP BY 2, 3, 4;
        INSERT INTO job_range_counts (backend, state, partition, summaries, key, bucket, n)
        SELECT 0, j.state, j.partition,
               hjo_job_summaries(j.cpu_efficiency, j.memory_peak_ratio, j.gpu_mean_utilization,
                                 j.idle_gpu_hours), v.key, hjo_summary_bucket(v.val), count(*)
        FROM jobs j,
             hjo_job_summary_keys(j.cpu_efficiency, j.memory_peak_ratio, j.gpu_mean_utilization,
                                  j.idle_gpu_hours) v
        GROUP BY 2, 3, 4, 5, 6;
        SELECT coalesce(sum(n), 0) INTO v_n FROM job_counts;
        RETURN v_n;
END
$$;
SELECT hjo_job_counts_rebuild();

-- 2 ----------------------------------------------------------------------------------------
-- Fold the rows of backends that have exited into backend 0 and drop empty rows; returns the
-- number of rows folded.  A live backend's rows are left alone (it may hold them locked in an
-- open transaction).  A backend that starts meanwhile with the pid of one that exited writes
-- to rows this deletes: lock_timeout makes the fold give up (to run again next time) rather
-- than wait on it.
CREATE FUNCTION hjo_job_counts_fold() RETURNS bigint LANGUAGE plpgsql
SET lock_timeout = '200ms' AS $$
DECLARE
        v_n bigint;
        v_r bigint;
        v_live integer[];
BEGIN
        SELECT array_agg(pid) INTO v_live FROM pg_stat_get_activity(NULL) WHERE pid IS NOT NULL;
        WITH gone AS (
                DELETE FROM job_counts
                WHERE backend <> 0 AND backend <> ALL (v_live)
                RETURNING state, partition, summaries, n),
        sums AS (
                SELECT state, partition, summaries, sum(n)::bigint AS n, count(*) AS k
                FROM gone GROUP BY state, partition, summaries),
        ins AS (
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                SELECT 0, state, partition, summaries, n FROM sums
                ORDER BY state, partition, summaries
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n)
        SELECT coalesce(sum(k), 0) INTO v_n FROM sums;
        WITH gone AS (
                DELETE FROM job_range_counts
                WHERE backend <> 0 AND backend <> ALL (v_live)
                RETURNING state, partition, summaries, key, bucket, n),
        sums AS (
                SELECT state, partition, summaries, key, bucket, sum(n)::bigint AS n,
                       count(*) AS k
                FROM gone GROUP BY state, partition, summaries, key, bucket),
        ins AS (
                INSERT INTO job_range_counts AS c (backend, state, partition, summaries, key,
                                                   bucket, n)
                SELECT 0, state, partition, summaries, key, bucket, n FROM sums
                ORDER BY state, partition, summaries, key, bucket
                ON CONFLICT (backend, state, partition, summaries, key, bucket)
                DO UPDATE SET n = c.n + excluded.n)
        SELECT coalesce(sum(k), 0) INTO v_r FROM sums;
        DELETE FROM job_counts WHERE backend = 0 AND n = 0;
        DELETE FROM job_range_counts WHERE backend = 0 AND n = 0;
        RETURN v_n + v_r;
END
$$;

-- 3 ----------------------------------------------------------------------------------------
-- The SQL of an exact total from the counts, for hjo_jobs_list's EXECUTE (its parameters: $1
-- state, $5 partition, $10..$17 the summary bounds, _lt then _gt for each summary in bit
-- order).  p_sort_bit: the summary the list is sorted by (its jobs only), 0 for start_time;
-- p_bit: the summary whose range is filtered, 0 for none; p_lt / p_gt: which bounds are given;
-- p_extra: hjo_jobs_list's v_extra (the sort summary IS NOT NULL).
--   v < t: the buckets below t's, plus the jobs of t's bucket below t (read in the summary's
--          index from a little under the bucket's edge up to t: none when t is an edge);
--   v > t: the buckets from t's up, less the jobs of t's bucket at or below t;
--   both:  (v < lt) + (v > gt) - (all with the summary), which is the band when gt < lt
--          (hjo_jobs_list takes this path only then).
CREATE FUNCTION hjo_jobs_count_sql(p_sort_bit integer, p_bit integer, p_lt boolean,
                                   p_gt boolean, p_extra text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
        v_groups text := format(' AND ($1 IS NULL OR state = $1) AND ($5 IS NULL OR partition = $5)'
                                ' AND summaries & %1$s = %1$s', p_sort_bit | p_bit);
        v_jobs text := ' AND ($1 IS NULL OR state = $1) AND ($5 IS NULL OR partition = $5)'
                       || p_extra;
        v_col text;
        v_plt text;
        v_pgt text;
        v_lt text;
        v_gt text;
BEGIN
        -- backend >= 0 (every row) lets the planner read job_counts through its index: after
        -- a transaction that moved many jobs (thousands of updates of the same counter rows,
        -- each a new row version) the table can be many pages of dead versions for a few live
        -- rows, and a sequential scan would read them all
        IF p_bit = 0 THEN
                RETURN 'SELECT coalesce(sum(n), 0)::bigint FROM job_counts WHERE backend >= 0'
                       || v_groups;
        END IF;
        v_col := CASE p_bit WHEN 1 THEN 'cpu_efficiency' WHEN 2 THEN 'memory_peak_ratio'
                            WHEN 4 THEN 'gpu_mean_utilization' ELSE 'idle_gpu_hours' END;
        v_plt := '$' || CASE p_bit WHEN 1 THEN 10 WHEN 2 THEN 12 WHEN 4 THEN 14 ELSE 16 END;
        v_pgt := '$' || CASE p_bit WHEN 1 THEN 11 WHEN 2 THEN 13 WHEN 4 THEN 15 ELSE 17 END;
        v_lt := format('((SELECT coalesce(sum(n), 0) FROM job_range_counts'
                       ' WHERE key = %1$s AND bucket < hjo_summary_bucket(%2$s)%3$s)'
                       ' + (SELECT count(*) FROM jobs WHERE %4$I >= hjo_summary_floor(%2$s)'
                       ' AND %4$I < %2$s AND hjo_summary_bucket(%4$I) = hjo_summary_bucket(%2$s)'
                       '%5$s))', p_bit, v_plt, v_groups, v_col, v_jobs);
        v_gt := format('((SELECT coalesce(sum(n), 0) FROM job_range_counts'
                       ' WHERE key = %1$s AND bucket >= hjo_summary_bucket(%2$s)%3$s)'
                       ' - (SELECT count(*) FROM jobs WHERE %4$I >= hjo_summary_floor(%2$s)'
                       ' AND %4$I <= %2$s AND hjo_summary_bucket(%4$I) = hjo_summary_bucket(%2$s)'
                       '%5$s))', p_bit, v_pgt, v_groups, v_col, v_jobs);
        IF p_lt AND p_gt THEN
                RETURN format('SELECT (%s + %s - (SELECT coalesce(sum(n), 0) FROM job_counts'
                              ' WHERE backend >= 0%s))::bigint', v_lt, v_gt, v_groups);
        END IF;
        RETURN format('SELECT (%s)::bigint', CASE WHEN p_lt THEN v_lt ELSE v_gt END);
END
$$;

-- GET /v1/jobs: 0069's hjo_jobs_list; the exact total of a list filtered by state, partition
-- and the range of at most one summary (or not at all) comes from the counts.
CREATE OR REPLACE FUNCTION hjo_jobs_list(p_state text, p_user text, p_node text, p_account text,
                              p_partition text, p_since timestamptz, p_until timestamptz,
                              p_limit integer, p_offset integer, p_sort text,
                              p_eff_lt float8, p_eff_gt float8, p_mem_lt float8, p_mem_gt float8,
                              p_gpu_lt float8, p_gpu_gt float8, p_idle_lt float8,
                              p_idle_gt float8, p_count text, p_after_ts timestamptz,
                              p_after_num float8, p_after_id text) RETURNS json
-- VOLATILE only because PostgreSQL allows EXPLAIN (count=estimate) in volatile functions alone;
-- it writes nothing (hjo_api may not).
LANGUAGE plpgsql AS $$
DECLARE
        v_sort text := coalesce(p_sort, '-start_time');
        v_key text := ltrim(v_sort, '-');
        v_desc boolean := left(v_sort, 1) = '-';
        v_cmp text := CASE WHEN v_desc THEN '<' ELSE '>' END;
        v_order text;
        v_extra text := '';
        v_after text := '';
        v_after2 text;
        v_page text;
        v_where text;
        v_cursor text;
        v_plan json;
        v_count_sql text;
        res json;
BEGIN
        IF v_sort IN ('start_time', '-start_time') THEN
                v_order := CASE WHEN v_desc THEN 'start_time DESC NULLS LAST, id DESC'
                                ELSE 'start_time ASC NULLS FIRST, id ASC' END;
                v_cursor := 'hjo_jobs_cursor($18, l.start_time, NULL, l.id)';
        ELSIF v_key IN ('cpu_efficiency', 'memory_peak_ratio', 'gpu_mean_utilization',
                        'idle_gpu_hours') AND v_sort IN (v_key, '-' || v_key) THEN
                v_order := format('%I %s, id %s', v_key,
                                  CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END,
                                  CASE WHEN v_desc THEN 'DESC' ELSE 'ASC' END);
                v_extra := format(' AND %I IS NOT NULL', v_key);
                v_cursor := format('hjo_jobs_cursor($18, NULL, l.%I, l.id)', v_key);
        ELSE
                RAISE EXCEPTION 'sort must be one of start_time, cpu_efficiency, '
                        'memory_peak_ratio, gpu_mean_utilization, idle_gpu_hours, optionally '
                        'prefixed with -' USING ERRCODE = 'HJ400', COLUMN = 'sort';
        END IF;
        -- the keyset predicate ($19 key as timestamptz, $20 key as float8, $21 id); v_after2,
        -- when set, is a second index range that follows the first in the order (the NULL
        -- start_times, which a row comparison never matches)
        IF p_after_id IS NOT NULL THEN
                IF coalesce(p_offset, 0) <> 0 THEN
                        RAISE EXCEPTION 'after and offset cannot be combined'
                                USING ERRCODE = 'HJ400', COLUMN = 'after';
                END IF;
                IF v_key = 'start_time' AND p_after_num IS NULL THEN
                        IF p_after_ts IS NOT NULL THEN
                                v_after := format(' AND (start_time, id) %s ($19, $21)', v_cmp);
                                IF v_desc THEN
                                        v_after2 := ' AND start_time IS NULL';
                                END IF;
                        ELSE
                                v_after := format(' AND start_time IS NULL AND id %s $21', v_cmp);
                                IF NOT v_desc THEN
                                        v_after2 := ' AND start_time IS NOT NULL';
                                END IF;
                        END IF;
                ELSIF v_key <> 'start_time' AND p_after_num IS NOT NULL AND p_after_ts IS NULL THEN
                        v_after := format(' AND (%I, id) %s ($20, $21)', v_key, v_cmp);
                ELSE
                        RAISE EXCEPTION 'after does not belong to sort %', v_sort
                                USING ERRCODE = 'HJ400', COLUMN = 'after';
                END IF;
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
        -- every matching index entry)
        IF coalesce(p_count, 'exact') = 'estimate' THEN
                EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM jobs WHERE ' || v_where
                INTO v_plan
                USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
                      p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt,
                      p_idle_lt, p_idle_gt;
                v_count_sql := format('%s::bigint', (v_plan->0->'Plan'->>'Plan Rows')::bigint);
        ELSIF coalesce(p_count, 'exact') = 'exact'
              AND num_nonnulls(p_user, p_node, p_account, p_since, p_until) = 0
              AND ((p_eff_lt IS NOT NULL OR p_eff_gt IS NOT NULL)::int
                   + (p_mem_lt IS NOT NULL OR p_mem_gt IS NOT NULL)::int
                   + (p_gpu_lt IS NOT NULL OR p_gpu_gt IS NOT NULL)::int
                   + (p_idle_lt IS NOT NULL OR p_idle_gt IS NOT NULL)::int) <= 1
              AND NOT EXISTS (SELECT FROM unnest(ARRAY[p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt,
                                                       p_gpu_lt, p_gpu_gt, p_idle_lt, p_idle_gt]) b
                              WHERE NOT (b > '-Infinity' AND b < 'Infinity'))
              AND NOT coalesce(p_eff_lt <= p_eff_gt OR p_mem_lt <= p_mem_gt
                               OR p_gpu_lt <= p_gpu_gt OR p_idle_lt <= p_idle_gt, false) THEN
                -- only state, partition and the ranges of at most one summary: from the counts
                -- the triggers on jobs keep (sql/0070 part 3); a summary sort counts the jobs
                -- that have that summary, as v_extra selects them
                v_count_sql := hjo_jobs_count_sql(
                        CASE v_key WHEN 'cpu_efficiency' THEN 1 WHEN 'memory_peak_ratio' THEN 2
                                   WHEN 'gpu_mean_utilization' THEN 4
                                   WHEN 'idle_gpu_hours' THEN 8 ELSE 0 END,
                        CASE WHEN p_eff_lt IS NOT NULL OR p_eff_gt IS NOT NULL THEN 1
                             WHEN p_mem_lt IS NOT NULL OR p_mem_gt IS NOT NULL THEN 2
                             WHEN p_gpu_lt IS NOT NULL OR p_gpu_gt IS NOT NULL THEN 4
                             WHEN p_idle_lt IS NOT NULL OR p_idle_gt IS NOT NULL THEN 8
                             ELSE 0 END,
                        coalesce(p_eff_lt, p_mem_lt, p_gpu_lt, p_idle_lt) IS NOT NULL,
                        coalesce(p_eff_gt, p_mem_gt, p_gpu_gt, p_idle_gt) IS NOT NULL,
                        v_extra);
        ELSIF coalesce(p_count, 'exact') = 'exact' THEN
                v_count_sql := 'SELECT count(*) FROM jobs WHERE ' || v_where;
        ELSE
                RAISE EXCEPTION 'count must be exact or estimate' USING ERRCODE = 'HJ400',
                        COLUMN = 'count';
        END IF;
        -- the page plus one row (is there a next page?); each range is an index scan in the
        -- order of the ORDER BY that stops after limit + 1 rows.  A deep offset first finds the
        -- page's ids in the sort key's index (an index-only scan over the rows it skips), then
        -- reads those rows: reading every skipped row whole made the planner sort the table
        -- instead (the last page of 10,000 jobs, offset=10000: 15 ms against 2 ms).  From
        -- offset 1000 on, where both take the same time.
        IF p_offset >= 1000 THEN
                v_page := format('SELECT * FROM jobs WHERE id IN (SELECT id FROM jobs WHERE %s%s'
                                 ' ORDER BY %s LIMIT $8 + 1 OFFSET $9)', v_where, v_after, v_order);
        ELSE
                v_page := format('SELECT * FROM jobs WHERE %s%s ORDER BY %s LIMIT $8 + 1 OFFSET $9',
                                 v_where, v_after, v_order);
        END IF;
        IF v_after2 IS NOT NULL THEN
                v_page := format('SELECT * FROM ((%s) UNION ALL (SELECT * FROM jobs WHERE %s%s'
                                 ' ORDER BY %s LIMIT $8 + 1)) u ORDER BY %s LIMIT $8 + 1',
                                 v_page, v_where, v_after2, v_order, v_order);
        END IF;
        -- the page (at most limit + 1 rows, read once: a CTE used three times is materialized)
        -- and the count are separate scans of jobs (a CTE shared with the count would read
        -- every matching row to return 100)
        EXECUTE format($q$
                WITH page AS (%s)
                SELECT json_build_object(
                        'jobs', coalesce((SELECT json_agg(hjo_job_json_stored(p) ORDER BY %s)
                                          FROM (SELECT l.*
                                                FROM (SELECT * FROM page ORDER BY %s
                                                      LIMIT $8) q,
                                                     LATERAL hjo_job_live(q) l) p),
                                         '[]'::json),
                        'total', (%s),
                        'limit', $8,
                        'offset', $9,
                        'next_cursor', (SELECT %s
                                        FROM (SELECT * FROM page ORDER BY %s
                                              OFFSET $8 - 1 LIMIT 1) l
                                        WHERE (SELECT count(*) FROM page) > $8))
                $q$, v_page, v_order, v_order, v_count_sql, v_cursor, v_order)
        INTO res
        USING p_state, p_user, p_node, p_account, p_partition, p_since, p_until, p_limit,
              p_offset, p_eff_lt, p_eff_gt, p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt, p_idle_lt,
              p_idle_gt, v_sort, p_after_ts, p_after_num, p_after_id;
        RETURN res;
END
$$;


-- 5 ----------------------------------------------------------------------------------------
-- The page of a summary filter (cpu_efficiency_lt, gpu_mean_utilization_lt, ...) in the
-- default order: jobs_start_idx leads with the newest jobs, which are running or have just
-- finished and have no summary or (GPU summaries) are not GPU jobs at all, so the page read
-- every one of them before the first match (gpu_mean_utilization_lt=20 over 1,000,000 jobs:
-- 40,000 rows, 27 ms).  A summary filter implies that summary IS NOT NULL, so the planner can
-- walk an index of only the jobs that have it, in the same order.  A job is inserted without
-- summaries: these indexes cost nothing until it finishes.
CREATE INDEX jobs_eff_start_idx ON jobs (start_time DESC NULLS LAST, id DESC)
        WHERE cpu_efficiency IS NOT NULL;
CREATE INDEX jobs_mem_start_idx ON jobs (start_time DESC NULLS LAST, id DESC)
        WHERE memory_peak_ratio IS NOT NULL;
CREATE INDEX jobs_gpu_start_idx ON jobs (start_time DESC NULLS LAST, id DESC)
        WHERE gpu_mean_utilization IS NOT NULL;
CREATE INDEX jobs_idle_start_idx ON jobs (start_time DESC NULLS LAST, id DESC)
        WHERE idle_gpu_hours IS NOT NULL;

-- ---- roles (as 0030_roles.sql) ---------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION hjo_job_counts_stmt(), hjo_job_counts_row(), hjo_job_counts_rebuild(),
        hjo_job_counts_fold(),
        hjo_jobs_count_sql(integer, integer, boolean, boolean, text)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_jobs_count_sql(integer, integer, boolean, boolean, text),
        hjo_job_summary_keys(float8, float8, float8, float8),
        hjo_summary_bucket(float8), hjo_summary_floor(float8), hjo_job_summaries(float8, float8,
        float8, float8)
        TO hjo_api;
GRANT SELECT ON job_counts, job_range_counts TO hjo_api;
