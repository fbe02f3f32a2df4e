-- 0065_metric_rows.sql: GET /v1/jobs/{id}/metrics and GET /v1/nodes/{node}/metrics as plain rows
-- (issue 6, benchmark figure 4).  What a client sees does not change: hjo-api writes, from the
-- rows of the functions below (fcgi/series_json.c), the same JSON document, byte for byte, that
-- hjo_samples_list (0050) and hjo_node_samples_list (0064) build.  Those two stay as they are:
-- the tests compare the new answers with theirs.
--
-- Where the time of an answer of 1,000 entries went (a 3-day job, docs/performance.md):
-- 1. json_build_object and json_agg: over half of the function for 1-minute rollups, a quarter
--    for raw samples.  A row costs the text output of its values only, which PostgreSQL's JSON
--    pays as well (json.c prints a number with its type's output function and pastes the
--    text), so the numbers come out as the same text.
-- 2. Planning: 0050 and 0064 run the page and the total through EXECUTE, planned on every call
--    over the 41 daily partitions of a table: about 3.5 ms per statement on metric_samples.
--    Here the statements are static and the functions SET plan_cache_mode =
--    force_generic_plan: a session (an hjo-api worker) plans each once.  The time bounds are
--    written so that a generic plan still prunes: ts >= v_lo with v_lo = coalesce(start,
--    '-infinity') is pruned at executor start ("Subplans Removed"), where (start IS NULL OR
--    ts >= start) only folds away in a plan made for one call's values.
-- 3. hjo_ts() (to_char) on every entry: about 1.2 ms per 1,000.  The rows carry the time as
--    microseconds since the epoch (hjo_ts_usec) and hjo-api prints it as hjo_ts() does; a
--    time outside the years 1 to 9999, which the API cannot store but SQL can, comes as
--    hjo_ts()'s own text in ts_text instead, so that it prints the same too.
--
-- Rows: the first is the header: resolution (raw, 1m or 1h: what auto picked) and total (as in
-- 0050: every entry of the range, whatever limit says), every other column NULL.  Then one row
-- per entry, resolution and total NULL, in the order of the answer (time, then node):
-- RETURN QUERY appends to the function's result in that order and a function scan returns it
-- as stored.  No row at all: an unknown job (node); the route answers 404.
-- The entry columns are the answer's keys, in the type the old JSON printed; raw entries leave
-- the rollup-only columns NULL (hjo-api knows which keys each resolution has).

-- Microseconds since 1970-01-01 UTC; NULL outside the years 1 to 9999 (and for +-infinity),
-- which hjo_ts() prints its own way.  STABLE like extract(): inlined into the queries below.
CREATE FUNCTION hjo_ts_usec(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN t >= '0001-01-01 00:00:00+00' AND t < '10000-01-01 00:00:00+00'
                    THEN (extract(epoch FROM t) * 1000000)::bigint END
$$;

-- ---- GET /v1/jobs/{id}/metrics ------------------------------------------------------------------
-- hjo_samples_list (0050 part 5) as rows: the same filters, resolution rule, total and order.
CREATE FUNCTION hjo_samples_rows(p_id text, p_start timestamptz, p_end timestamptz,
                                 p_node text, p_limit integer, p_resolution text)
RETURNS TABLE (resolution text, total bigint, ts_usec bigint, ts_text text, node text,
               sample_count bigint, cpu_usage float8, cpu_usage_min float8,
               cpu_usage_max float8, memory_usage_bytes bigint, memory_usage_mb float8,
               memory_usage_bytes_max bigint, gpu_usage float8, gpu_usage_min float8,
               gpu_usage_max float8)
LANGUAGE plpgsql STABLE SET timezone = 'UTC' SET plan_cache_mode = force_generic_plan AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_lo timestamptz := coalesce(p_start, '-infinity');
        v_hi timestamptz := coalesce(p_end, 'infinity');
        v_raw_n bigint;
        v_1m_n bigint;
BEGIN
        PERFORM 1 FROM jobs j WHERE j.id = p_id;
        IF NOT FOUND THEN
                RETURN;
        END IF;
        IF v_res = 'auto' THEN
                SELECT coalesce(sum(r.n), 0) INTO v_raw_n FROM metric_rollup_1h r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM metric_rollup_1m r
                        WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                          AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        resolution := v_res;
        IF v_res = 'raw' THEN
                -- two statements: without a node test the count needs (job_id, ts) only, an
                -- index-only scan of metric_samples_job_ts_idx (~1 ms less for 26,000 samples)
                IF p_node IS NULL THEN
                        SELECT count(*) INTO total FROM metric_samples s
                        WHERE s.job_id = p_id AND s.ts >= v_lo AND s.ts <= v_hi;
                ELSE
                        SELECT count(*) INTO total FROM metric_samples s
                        WHERE s.job_id = p_id AND s.node = p_node AND s.ts >= v_lo
                          AND s.ts <= v_hi;
                END IF;
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(s.ts),
                       CASE WHEN hjo_ts_usec(s.ts) IS NULL THEN hjo_ts(s.ts) END, s.node,
                       NULL::bigint, s.cpu_usage, NULL::float8, NULL::float8,
                       s.memory_usage_bytes, s.memory_usage_bytes::float8 / 1048576,
                       NULL::bigint, s.gpu_usage, NULL::float8, NULL::float8
                FROM (SELECT s.ts, s.node, s.cpu_usage, s.memory_usage_bytes, s.gpu_usage
                      FROM metric_samples s
                      WHERE s.job_id = p_id AND s.ts >= v_lo AND s.ts <= v_hi
                        AND (p_node IS NULL OR s.node = p_node)
                      ORDER BY s.ts, s.node LIMIT p_limit) s
                ORDER BY s.ts, s.node;
        ELSIF v_res = '1m' THEN
                SELECT count(*) INTO total FROM metric_rollup_1m r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.node, p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min,
                       p.cpu_max, round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                       (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576, p.mem_max,
                       (p.gpu_sum / nullif(p.gpu_n, 0))::float8, p.gpu_min, p.gpu_max
                FROM (SELECT * FROM metric_rollup_1m r
                      WHERE r.job_id = p_id AND r.bucket >= date_trunc('minute', v_lo)
                        AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node)
                      ORDER BY r.bucket, r.node LIMIT p_limit) p
                ORDER BY p.bucket, p.node;
        ELSIF v_res = '1h' THEN
                SELECT count(*) INTO total FROM metric_rollup_1h r
                WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node);
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.node, p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min,
                       p.cpu_max, round(p.mem_sum / nullif(p.mem_n, 0))::bigint,
                       (p.mem_sum / nullif(p.mem_n, 0))::float8 / 1048576, p.mem_max,
                       (p.gpu_sum / nullif(p.gpu_n, 0))::float8, p.gpu_min, p.gpu_max
                FROM (SELECT * FROM metric_rollup_1h r
                      WHERE r.job_id = p_id AND r.bucket >= date_trunc('hour', v_lo)
                        AND r.bucket <= v_hi AND (p_node IS NULL OR r.node = p_node)
                      ORDER BY r.bucket, r.node LIMIT p_limit) p
                ORDER BY p.bucket, p.node;
        ELSE
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
END
$$;

-- ---- GET /v1/nodes/{node}/metrics ---------------------------------------------------------------
-- hjo_node_samples_list (0064 part 5) as rows.  job_count is float8 for raw entries too: an
-- integer's float8 text is its integer text (every int4 is below 1e15, where float8 output
-- would switch to an exponent).
CREATE FUNCTION hjo_node_samples_rows(p_node text, p_start timestamptz, p_end timestamptz,
                                      p_limit integer, p_resolution text)
RETURNS TABLE (resolution text, total bigint, ts_usec bigint, ts_text text, sample_count bigint,
               cpu_usage_percent float8, cpu_usage_percent_min float8,
               cpu_usage_percent_max float8, memory_used_bytes bigint,
               memory_used_bytes_min bigint, memory_used_bytes_max bigint,
               memory_total_bytes bigint, job_count float8, job_count_min integer,
               job_count_max integer)
LANGUAGE plpgsql STABLE SET timezone = 'UTC' SET plan_cache_mode = force_generic_plan AS $$
DECLARE
        v_res text := coalesce(p_resolution, 'auto');
        v_lo timestamptz := coalesce(p_start, '-infinity');
        v_hi timestamptz := coalesce(p_end, 'infinity');
        v_raw_n bigint;
        v_1m_n bigint;
BEGIN
        PERFORM 1 FROM node_rollup_1h r WHERE r.node = p_node LIMIT 1;
        IF NOT FOUND THEN
                PERFORM 1 FROM node_samples s WHERE s.node = p_node LIMIT 1;
                IF NOT FOUND THEN
                        RETURN;
                END IF;
        END IF;
        IF v_res = 'auto' THEN
                SELECT coalesce(sum(r.n), 0) INTO v_raw_n FROM node_rollup_1h r
                WHERE r.node = p_node AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi;
                IF v_raw_n <= greatest(p_limit, 1000) THEN
                        v_res := 'raw';
                ELSE
                        SELECT count(*) INTO v_1m_n FROM node_rollup_1m r
                        WHERE r.node = p_node AND r.bucket >= date_trunc('minute', v_lo)
                          AND r.bucket <= v_hi;
                        v_res := CASE WHEN v_1m_n <= greatest(p_limit, 1000) THEN '1m'
                                      ELSE '1h' END;
                END IF;
        END IF;
        resolution := v_res;
        IF v_res = 'raw' THEN
                SELECT count(*) INTO total FROM node_samples s
                WHERE s.node = p_node AND s.ts >= v_lo AND s.ts <= v_hi;
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.ts),
                       CASE WHEN hjo_ts_usec(p.ts) IS NULL THEN hjo_ts(p.ts) END,
                       NULL::bigint, p.cpu_usage_percent, NULL::float8, NULL::float8,
                       p.memory_used_bytes, NULL::bigint, NULL::bigint, p.memory_total_bytes,
                       p.job_count::float8, NULL::integer, NULL::integer
                FROM (SELECT s.ts, s.cpu_usage_percent, s.memory_used_bytes,
                             s.memory_total_bytes, s.job_count
                      FROM node_samples s
                      WHERE s.node = p_node AND s.ts >= v_lo AND s.ts <= v_hi
                      ORDER BY s.ts LIMIT p_limit) p
                ORDER BY p.ts;
        ELSIF v_res = '1m' THEN
                SELECT count(*) INTO total FROM node_rollup_1m r
                WHERE r.node = p_node AND r.bucket >= date_trunc('minute', v_lo)
                  AND r.bucket <= v_hi;
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min, p.cpu_max,
                       round(p.mem_sum / nullif(p.mem_n, 0))::bigint, p.mem_min, p.mem_max,
                       p.mem_total_max, (p.jobs_sum::numeric / nullif(p.jobs_n, 0))::float8,
                       p.jobs_min, p.jobs_max
                FROM (SELECT * FROM node_rollup_1m r
                      WHERE r.node = p_node AND r.bucket >= date_trunc('minute', v_lo)
                        AND r.bucket <= v_hi
                      ORDER BY r.bucket LIMIT p_limit) p
                ORDER BY p.bucket;
        ELSIF v_res = '1h' THEN
                SELECT count(*) INTO total FROM node_rollup_1h r
                WHERE r.node = p_node AND r.bucket >= date_trunc('hour', v_lo)
                  AND r.bucket <= v_hi;
                RETURN NEXT;
                RETURN QUERY
                SELECT NULL::text, NULL::bigint, hjo_ts_usec(p.bucket),
                       CASE WHEN hjo_ts_usec(p.bucket) IS NULL THEN hjo_ts(p.bucket) END,
                       p.n, (p.cpu_sum / nullif(p.cpu_n, 0))::float8, p.cpu_min, p.cpu_max,
                       round(p.mem_sum / nullif(p.mem_n, 0))::bigint, p.mem_min, p.mem_max,
                       p.mem_total_max, (p.jobs_sum::numeric / nullif(p.jobs_n, 0))::float8,
                       p.jobs_min, p.jobs_max
                FROM (SELECT * FROM node_rollup_1h r
                      WHERE r.node = p_node AND r.bucket >= date_trunc('hour', v_lo)
                        AND r.bucket <= v_hi
                      ORDER BY r.bucket LIMIT p_limit) p
                ORDER BY p.bucket;
        ELSE
                RAISE EXCEPTION 'resolution must be raw, 1m, 1h or auto' USING ERRCODE = 'HJ400',
                        COLUMN = 'resolution';
        END IF;
END
$$;

-- ---- roles (as 0050 and 0064) -------------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION hjo_ts_usec(timestamptz),
        hjo_samples_rows(text, timestamptz, timestamptz, text, integer, text),
        hjo_node_samples_rows(text, timestamptz, timestamptz, integer, text)
        FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_ts_usec(timestamptz),
        hjo_samples_rows(text, timestamptz, timestamptz, text, integer, text),
        hjo_node_samples_rows(text, timestamptz, timestamptz, integer, text)
        TO hjo_api;
