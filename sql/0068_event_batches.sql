-- 0068_event_batches.sql: job events applied in batches (issue 6, event ingest).
--
-- Why: hjo-api groups the job-started / job-finished events that reach one worker at the same
-- time (fcgi/evbatch.c) and applies them in one transaction with hjo_events_apply(): one
-- INSERT and one UPDATE for all of them instead of a PL/pgSQL call, its statements and a
-- commit per event.
--
-- The job row check: its rules (hjo_job_row_check, 0063) are one CASE expression that
-- PL/pgSQL prepares again in each transaction, 17 us a row when each event is its own
-- transaction.  The check is now a conjunction of the same rules in a cheaper form (LEAST /
-- GREATEST over the numeric columns); only a row it refuses goes through the old rules, which
-- name the rule it breaks.  The cheap form implies every rule (a row it accepts passes them
-- all), so the constraint accepts and refuses exactly the rows it did.
ALTER FUNCTION hjo_job_row_check(jobs) RENAME TO hjo_job_row_rules;

CREATE FUNCTION hjo_job_row_check(j jobs) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
        IF length(j.id) BETWEEN 1 AND 255
           AND ltrim(j.id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-')
               = ''
           AND j.id <> ALL (ARRAY['.', '..'])
           AND coalesce(length(j.user_name) BETWEEN 1 AND 255, true)
           AND j.state IN ('pending', 'running', 'completed', 'failed', 'cancelled')
           AND (j.state IN ('pending', 'running')) = (j.end_time IS NULL)
           AND coalesce(j.end_time >= j.start_time, true)
           AND coalesce(length(j.slurm_state) BETWEEN 1 AND 64
                        AND ltrim(j.slurm_state, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_+') = '', true)
           AND coalesce(j.gpu_vendor IN ('none', 'nvidia', 'amd', 'mixed'), true)
           -- NaN sorts above every number: LEAST ignores it as x >= 0 accepts it, GREATEST
           -- returns it and fails, as x <= 100 does
           AND coalesce(LEAST(j.runtime_seconds, j.exit_code, j.signal, j.cpu_usage,
                              j.memory_usage_mb, j.gpu_usage, j.allocated_cpus,
                              j.allocated_memory_mb, j.allocated_gpus, j.cpu_missing_count,
                              j.cpu_seconds, j.cpu_efficiency, j.memory_peak_mb,
                              j.memory_peak_ratio, j.gpu_mean_utilization,
                              j.gpu_max_utilization, j.idle_gpu_hours) >= 0, true)
           AND coalesce(GREATEST(j.cpu_usage, j.gpu_usage, j.gpu_mean_utilization,
                                 j.gpu_max_utilization) <= 100, true)
           AND coalesce(j.exit_code <= 255, true) AND coalesce(j.signal <= 64, true) THEN
                RETURN true;
        END IF;
        RETURN hjo_job_row_rules(j); -- raises naming the rule, or true
END
$$;
REVOKE EXECUTE ON FUNCTION hjo_job_row_check(jobs) FROM PUBLIC;

-- The constraint refers to its function by oid: point it at the new one.  Every row passed the
-- same rules, so VALIDATE (a scan, taking no lock that blocks writes) finds nothing.
ALTER TABLE jobs DROP CONSTRAINT jobs_row_check,
        ADD CONSTRAINT jobs_row_check CHECK (hjo_job_row_check(jobs.*)) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_row_check;

-- hjo_events_apply(events): applies a batch of job events and answers one row per event, in
-- the batch's order: (ord, status, message) as hjo_job_started / hjo_job_finished answer, or
-- (ord, NULL, NULL, sqlstate, message, column) for an event that raised an error; an error
-- undoes that event alone.  Each event is a JSON object: ord, kind ('started' / 'finished'),
-- the parameters of the function of its kind without their p_ prefix, and principal (the
-- audit principal of the request that sent it).
--
-- The common events go through one set-based statement: the start of a job no other event of
-- the batch names (a new job), and the finish of such a job while it runs (with its summary
-- when samples reached it).  It does what the per-event functions do for those cases, and
-- writes the same audit rows.  Every other event (a job named twice in the batch, a known job
-- started again, an unknown or finished job, a finish before the start, anything the set-based
-- statement refused) goes through hjo_job_started / hjo_job_finished, in the batch's order,
-- each in its own subtransaction.
CREATE TYPE hjo_event AS (
        ord integer, kind text, job_id text, "user" text, nodes text[], ts timestamptz,
        cpus integer, mem_mb bigint, gpus integer, vendor text, devices text[], cgroup text,
        partition text, account text, cluster text, exit integer, signal integer, final text,
        slurm text, source text, corr text, principal text);

CREATE FUNCTION hjo_events_apply(p_events jsonb)
RETURNS TABLE (ord integer, status text, message text, err_sqlstate text, err_message text,
               err_column text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
        -- the batch read from its JSON once (three passes over jsonb_to_recordset cost 70 us an
        -- event); a JSON field of no column is ignored, a missing one is NULL
        evs hjo_event[] := ARRAY(SELECT x FROM jsonb_populate_recordset(NULL::hjo_event,
                                                                         p_events) x);
        e hjo_event;
        done integer[] := '{}';
        v_status text;
        v_message text;
BEGIN
        BEGIN
                -- The finished jobs' rows, locked in id order as hjo_ingest_batch locks them
                -- (0066): an UPDATE over several rows would lock them in its join's order.
                PERFORM 1 FROM jobs j
                WHERE j.id IN (SELECT x.job_id FROM unnest(evs) x WHERE x.kind = 'finished')
                ORDER BY j.id FOR UPDATE;
                WITH ev AS (
                        SELECT x.*, count(*) OVER (PARTITION BY x.job_id) AS n_job
                        FROM unnest(evs) x
                ), started AS (
                        SELECT * FROM ev WHERE ev.kind = 'started' AND ev.n_job = 1
                ), finished AS (
                        -- the finish of a running job, with its summary when a sample
                        -- reached it: hjo_job_finished's rule (0060), the row read under the
                        -- lock taken above
                        SELECT ev.*, hjo_final_state(ev.slurm, ev.final, ev.exit, ev.signal)
                                        AS state,
                               j.start_time AS j_start, j.allocated_cpus AS j_cpus,
                               j.allocated_memory_mb AS j_mem_mb, j.allocated_gpus AS j_gpus,
                               EXISTS (SELECT 1 FROM metric_latest l WHERE l.job_id = j.id)
                               OR EXISTS (SELECT 1 FROM gpu_latest g WHERE g.job_id = j.id)
                                        AS has_samples
                        FROM ev JOIN jobs j ON j.id = ev.job_id
                        WHERE ev.kind = 'finished' AND ev.n_job = 1
                          AND j.state IN ('pending', 'running')
                          AND (j.start_time IS NULL OR j.start_time <= ev.ts)
                ), summary AS (
                        -- a condition on f alone, so the rollups are probed for those only
                        SELECT f.job_id, s.*
                        FROM finished f,
                             LATERAL hjo_job_summary_calc(f.job_id, f.j_start, f.ts, f.j_cpus,
                                                          f.j_mem_mb, f.j_gpus) s
                        WHERE f.has_samples
                ), ins AS (
                        INSERT INTO jobs (id, user_name, nodes, state, start_time,
                                          allocated_cpus, allocated_memory_mb, allocated_gpus,
                                          gpu_vendor, gpu_devices, cgroup_path, partition,
                                          account, cluster_name)
                        SELECT s.job_id, s."user", hjo_array_merge('{}', s.nodes), 'running',
                               s.ts, s.cpus, s.mem_mb, s.gpus, s.vendor,
                               hjo_array_merge('{}', coalesce(s.devices, '{}')), s.cgroup,
                               s.partition, s.account, s.cluster
                        FROM started s ORDER BY s.job_id
                        ON CONFLICT (id) DO NOTHING
                        RETURNING id
                ), upd AS (
                        UPDATE jobs j
                        SET state = f.state, end_time = f.ts, exit_code = f.exit,
                            signal = f.signal, slurm_state = f.slurm,
                            runtime_seconds = CASE WHEN j.start_time IS NOT NULL
                                    THEN extract(epoch FROM f.ts - j.start_time) END,
                            user_name = coalesce(j.user_name, f."user"),
                            nodes = hjo_array_merge(j.nodes, f.nodes),
                            partition = coalesce(j.partition, f.partition),
                            account = coalesce(j.account, f.account),
                            cluster_name = coalesce(j.cluster_name, f.cluster),
                            cpu_seconds = s.cpu_seconds, cpu_efficiency = s.cpu_efficiency,
                            memory_peak_mb = s.memory_peak_mb,
                            memory_peak_ratio = s.memory_peak_ratio,
                            gpu_mean_utilization = s.gpu_mean_utilization,
                            gpu_max_utilization = s.gpu_max_utilization,
                            idle_gpu_hours = s.idle_gpu_hours,
                            summary_at = now(), updated_at = now()
                        FROM finished f LEFT JOIN summary s ON s.job_id = f.job_id
                        WHERE j.id = f.job_id AND j.state IN ('pending', 'running')
                          AND (j.start_time IS NULL OR j.start_time <= f.ts)
                        RETURNING j.id
                ), aud AS (
                        INSERT INTO audit_log (job_id, action, changed_by, source,
                                               correlation_id, changes, principal)
                        SELECT s.job_id, 'job-started', coalesce(s."user", ''), s.source,
                               s.corr, '{"status": "created"}', nullif(s.principal, '')
                        FROM started s JOIN ins ON ins.id = s.job_id
                        UNION ALL
                        SELECT f.job_id, 'job-finished', coalesce(f."user", ''), f.source,
                               f.corr,
                               jsonb_build_object('status', 'updated', 'state', f.state,
                                                  'exit_code', f.exit, 'signal', f.signal,
                                                  'slurm_state', f.slurm),
                               nullif(f.principal, '')
                        FROM finished f JOIN upd ON upd.id = f.job_id
                        RETURNING 1
                )
                SELECT coalesce(array_agg(s.ord), '{}') INTO done
                FROM (SELECT st.ord FROM started st JOIN ins ON ins.id = st.job_id
                      UNION ALL
                      SELECT fi.ord FROM finished fi JOIN upd ON upd.id = fi.job_id) s;
        EXCEPTION WHEN OTHERS THEN
                -- undone as a whole: every event takes the path below (slower, so say why)
                RAISE LOG 'hjo_events_apply: set-based path undone, events applied one by one: % %',
                        SQLSTATE, SQLERRM;
                done := '{}';
        END;

        FOR e IN SELECT x.* FROM unnest(evs) x ORDER BY x.ord
        LOOP
                ord := e.ord;
                err_sqlstate := NULL;
                err_message := NULL;
                err_column := NULL;
                IF e.ord = ANY (done) THEN
                        -- what the per-event function answers for a new job / a running job
                        status := CASE e.kind WHEN 'started' THEN 'created' ELSE 'updated' END;
                        message := CASE e.kind WHEN 'started' THEN 'job created'
                                               ELSE 'job finished' END;
                        RETURN NEXT;
                        CONTINUE;
                END IF;
                status := NULL;
                message := NULL;
                BEGIN
                        PERFORM set_config('hjo.principal', coalesce(e.principal, ''), true);
                        IF e.kind = 'started' THEN
                                SELECT r.status, r.message INTO v_status, v_message
                                FROM hjo_job_started(e.job_id, e."user", e.nodes, e.ts, e.cpus,
                                                     e.mem_mb, e.gpus, e.vendor, e.devices,
                                                     e.cgroup, e.partition, e.account,
                                                     e.cluster, e.source, e.corr) r;
                        ELSIF e.kind = 'finished' THEN
                                SELECT r.status, r.message INTO v_status, v_message
                                FROM hjo_job_finished(e.job_id, e.ts, e.exit, e.signal, e.final,
                                                      e.slurm, e."user", e.nodes, e.partition,
                                                      e.account, e.cluster, e.source,
                                                      e.corr) r;
                        ELSE
                                RAISE EXCEPTION 'unknown event kind %', e.kind
                                        USING ERRCODE = 'HJ400', COLUMN = 'kind';
                        END IF;
                        status := v_status;
                        message := v_message;
                EXCEPTION WHEN OTHERS THEN
                        GET STACKED DIAGNOSTICS err_sqlstate = RETURNED_SQLSTATE,
                                                err_message = MESSAGE_TEXT,
                                                err_column = COLUMN_NAME;
                END;
                RETURN NEXT;
        END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION hjo_events_apply(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hjo_events_apply(jsonb) TO hjo_api;
