-- 0070_job_counts.sql: the exact total of GET /v1/jobs without reading every matching job
-- (issue 6, benchmark figure 4).  total is the count of every job the filters match (the API
-- contract, api-notes.md), and counting 1,000,000 jobs reads 1,000,000 index entries: 60 ms
-- p50, 77 ms p99 on the benchmark machine, where the goal is p99 < 20 ms.
--
-- 1. job_counts holds how many jobs there are per (state, partition, which summaries are set).
--    Triggers on jobs keep it in the same transaction as the change, so every snapshot sees
--    counts that agree with the jobs it sees: an insert or delete adds its rows' counts
--    (statement triggers, one upsert per group however many rows), an update that moves a job
--    to another group moves one (a row trigger whose WHEN skips every other update: samples,
--    PATCHes of usage, exit details).
-- 2. Each backend adds to rows of its own (backend = pg_backend_pid()), so concurrent writers
--    never wait on each other's counter rows, and a transaction's counter rows are locked only
--    by it.  hjo_job_counts_fold (hjo-admin maintain) folds the rows of backends that are gone
--    into backend 0 and drops the groups that are empty, so the table holds a few rows per
--    group per live backend.
-- 3. hjo_jobs_list counts with job_counts when the only filters are state and partition (with
--    any sort; a summary sort counts the jobs that have that summary): every other filter is
--    selective enough for its index, or is a range of a summary (counted as before).
-- 4. TRUNCATE of jobs empties job_counts; hjo_job_counts_rebuild() recounts from jobs (after a
--    load with the triggers disabled), locking out writers of jobs while it does.

-- 1 ----------------------------------------------------------------------------------------
-- bit 1: cpu_efficiency, 2: memory_peak_ratio, 4: gpu_mean_utilization, 8: idle_gpu_hours
CREATE FUNCTION hjo_job_summaries(p_eff float8, p_mem float8, p_gpu float8, p_idle float8)
RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (CASE WHEN p_eff IS NULL THEN 0 ELSE 1 END + CASE WHEN p_mem IS NULL THEN 0 ELSE 2 END
        + CASE WHEN p_gpu IS NULL THEN 0 ELSE 4 END
        + CASE WHEN p_idle IS NULL THEN 0 ELSE 8 END)::smallint
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

-- statement triggers: p_sign 1 for the inserted rows, -1 for the deleted ones
CREATE FUNCTION hjo_job_counts_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF TG_OP = 'INSERT' THEN
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                SELECT pg_backend_pid(), r.state, r.partition, r.summaries, count(*)
                FROM (SELECT state, partition,
                             hjo_job_summaries(cpu_efficiency, memory_peak_ratio,
                                               gpu_mean_utilization, idle_gpu_hours) AS summaries
                      FROM job_counts_new) r
                GROUP BY r.state, r.partition, r.summaries
                ORDER BY r.state, r.partition, r.summaries
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n;
        ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
                SELECT pg_backend_pid(), r.state, r.partition, r.summaries, -count(*)
                FROM (SELECT state, partition,
                             hjo_job_summaries(cpu_efficiency, memory_peak_ratio,
                                               gpu_mean_utilization, idle_gpu_hours) AS summaries
                      FROM job_counts_old) r
                GROUP BY r.state, r.partition, r.summaries
                ORDER BY r.state, r.partition, r.summaries
                ON CONFLICT (backend, state, partition, summaries)
                DO UPDATE SET n = c.n + excluded.n;
        ELSE -- TRUNCATE
                DELETE FROM job_counts;
        END IF;
        RETURN NULL;
END
$$;

-- row trigger of an update that changes a job's group: one out of the old, one into the new
CREATE FUNCTION hjo_job_counts_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        INSERT INTO job_counts AS c (backend, state, partition, summaries, n)
        VALUES (pg_backend_pid(), OLD.state, OLD.partition,
                hjo_job_summaries(OLD.cpu_efficiency, OLD.memory_peak_ratio,
                                  OLD.gpu_mean_utilization, OLD.idle_gpu_hours), -1),
               (pg_backend_pid(), NEW.state, NEW.partition,
                hjo_job_summaries(NEW.cpu_efficiency, NEW.memory_peak_ratio,
                                  NEW.gpu_mean_utilization, NEW.idle_gpu_hours), 1)
        ON CONFLICT (backend, state, partition, summaries) DO UPDATE SET n = c.n + excluded.n;
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
              OR (OLD.cpu_efficiency IS NULL) <> (NEW.cpu_efficiency IS NULL)
              OR (OLD.memory_peak_ratio IS NULL) <> (NEW.memory_peak_ratio IS NULL)
              OR (OLD.gpu_mean_utilization IS NULL) <> (NEW.gpu_mean_utilization IS NULL)
              OR (OLD.idle_gpu_hours IS NULL) <> (NEW.idle_gpu_hours IS NULL))
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
        LOCK TABLE job_counts IN EXCLUSIVE MODE;
        DELETE FROM job_counts;
        INSERT INTO job_counts (backend, state, partition, summaries, n)
        SELECT 0, state, partition,
               hjo_job_summaries(cpu_efficiency, memory_peak_ratio, gpu_mean_utilization,
                                 idle_gpu_hours), count(*)
        FROM jobs GROUP BY 2, 3, 4;
        SELECT coalesce(sum(n), 0) INTO v_n FROM job_counts;
        RETURN v_n;
END
$$;
SELECT hjo_job_counts_rebuild();

-- 2 ----------------------------------------------------------------------------------------
-- Fold the rows of backends that have exited into backend 0 and drop empty groups; returns
-- the number of rows folded.  A live backend's rows are left alone (it may hold them locked
-- in an open transaction).  A backend that starts meanwhile with the pid of one that exited
-- writes to rows this deletes: lock_timeout makes the fold give up (to run again next time)
-- rather than wait on it.
CREATE FUNCTION hjo_job_counts_fold() RETURNS bigint LANGUAGE plpgsql
SET lock_timeout = '200ms' AS $$
DECLARE
        v_n bigint;
BEGIN
        WITH gone AS (
                DELETE FROM job_counts
                WHERE backend <> 0
                  AND backend NOT IN (SELECT pid FROM pg_stat_get_activity(NULL)
                                      WHERE pid IS NOT NULL)
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
        DELETE FROM job_counts WHERE backend = 0 AND n = 0;
        RETURN v_n;
END
$$;

-- 3 ----------------------------------------------------------------------------------------
-- GET /v1/jobs: 0069's hjo_jobs_list; the exact total of a list filtered by state and
-- partition alone (or not at all) is the sum of job_counts.
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
              AND num_nonnulls(p_user, p_node, p_account, p_since, p_until, p_eff_lt, p_eff_gt,
                               p_mem_lt, p_mem_gt, p_gpu_lt, p_gpu_gt, p_idle_lt,
                               p_idle_gt) = 0 THEN
                -- only state / partition: the counts kept by the triggers on jobs (a summary
                -- sort counts the jobs that have that summary, as v_extra selects them)
                v_count_sql := format('SELECT coalesce(sum(n), 0)::bigint FROM job_counts'
                                      ' WHERE ($1 IS NULL OR state = $1)'
                                      ' AND ($5 IS NULL OR partition = $5)'
                                      ' AND summaries & %1$s = %1$s',
                                      CASE v_key WHEN 'cpu_efficiency' THEN 1
                                                 WHEN 'memory_peak_ratio' THEN 2
                                                 WHEN 'gpu_mean_utilization' THEN 4
                                                 WHEN 'idle_gpu_hours' THEN 8 ELSE 0 END);
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

-- ---- roles (as 0030_roles.sql) ---------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION hjo_job_counts_stmt(), hjo_job_counts_row(), hjo_job_counts_rebuild(),
        hjo_job_counts_fold()
        FROM PUBLIC;
GRANT SELECT ON job_counts TO hjo_api;
