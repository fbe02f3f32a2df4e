-- 0061_keyset.sql: keyset ("cursor") pagination for GET /v1/jobs (after=, next_cursor).
--
-- An OFFSET reads and throws away every row before the page: ~90 ms at offset 100,000 of a
-- million jobs.  A cursor names the last row of a page by its sort key and id; the next page is
-- the rows that sort after it, an index range scan that starts right there, however deep.
--
-- 1. hjo_jobs_cursor(): the cursor of a row (version 1; fcgi/cursor.h decodes and checks it):
--      base64url without padding of  '1|' sort '|' key '|' id '|' check
--    sort   the sort key it belongs to, as the sort parameter spells it ('-start_time', ...)
--    key    start_time sorts: hjo_ts(start_time), '' for a NULL start_time; summary sorts: the
--           float8 in PostgreSQL's shortest exact decimal (extra_float_digits = 1 is set on the
--           function, whatever the session has)
--    check  the first 16 hex digits of SHA-256 of everything before '|check': an edited or
--           cut cursor is refused.  Not a secret: a cursor only says where a listing starts;
--           the filters and the caller's scope apply as always.
-- 2. hjo_jobs_list() gains p_after_ts / p_after_num / p_after_id (the decoded cursor: the key
--    of the last row seen, in the column type of the sort key, and its id) and answers
--    next_cursor: the cursor of the page's last row, or NULL when no row follows it (the page
--    is read with one row more than limit to know).  The keyset predicate is the row
--    comparison (key, id) < / > (cursor key, cursor id) in the direction of the ORDER BY, so it
--    is a range of the very index that gives the order:
--      -start_time  start_time DESC NULLS LAST, id DESC  (jobs_start_idx and the filter
--                   indexes (state|user_name|account|partition, start_time DESC NULLS LAST,
--                   id DESC)): after a row with a start_time, the rows before it in the
--                   index, then every NULL start_time (a second index range, UNION ALL);
--                   after a NULL one, the NULLs with a smaller id
--      start_time   start_time ASC NULLS FIRST, id ASC (the same indexes, read backward):
--                   after a NULL start_time, the NULLs with a larger id, then every row with
--                   a start_time; after a row with one, the rows after it
--      summaries    key ASC|DESC, id ASC|DESC over the partial index (key, id) WHERE key IS
--                   NOT NULL: only rows with a value are listed, so the cursor always has one
--    total is unchanged: every job that matches the filters, whatever after/offset/limit say
--    (count=exact or count=estimate as before).  after and offset are exclusive (the API
--    refuses both with 400 naming after; this function refuses too).

-- ---- 1. the cursor of a row ----------------------------------------------------------------
CREATE FUNCTION hjo_jobs_cursor(p_sort text, p_ts timestamptz, p_num float8, p_id text)
RETURNS text
LANGUAGE sql STABLE SET extra_float_digits = 1 AS $$
        SELECT rtrim(translate(encode(convert_to(c.t || '|' ||
                                                 left(encode(sha256(convert_to(c.t, 'UTF8')),
                                                             'hex'), 16), 'UTF8'), 'base64'),
                               E'+/\n', '-_'), '=')
        FROM (SELECT '1|' || p_sort || '|' || coalesce(hjo_ts(p_ts), p_num::text, '') || '|'
                     || p_id AS t) c
$$;

-- ---- 2. GET /v1/jobs -------------------------------------------------------------------------
DROP FUNCTION hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer,
                            integer, text, float8, float8, float8, float8, float8, float8,
                            float8, float8, text);
CREATE FUNCTION hjo_jobs_list(p_state text, p_user text, p_node text, p_account text,
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
                        'jobs', coalesce((SELECT json_agg(hjo_job_json(p) ORDER BY %s)
                                          FROM (SELECT * FROM page ORDER BY %s LIMIT $8) p),
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
REVOKE EXECUTE ON FUNCTION hjo_jobs_cursor(text, timestamptz, float8, text),
        hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer, integer,
                      text, float8, float8, float8, float8, float8, float8, float8, float8, text,
                      timestamptz, float8, text)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_jobs_cursor(text, timestamptz, float8, text),
        hjo_jobs_list(text, text, text, text, text, timestamptz, timestamptz, integer, integer,
                      text, float8, float8, float8, float8, float8, float8, float8, float8, text,
                      timestamptz, float8, text)
        TO hjo_api;
