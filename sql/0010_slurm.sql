-- 0010_slurm.sql: slurmrestd node state and job reconciliation (issue 4).
--
-- collectord's Slurm source (collectord/slurm.c) polls slurmrestd once per cycle and calls the
-- two functions below, each in one statement (one transaction):
--   hjo_slurm_nodes_store   the current state of every node, one row per (cluster, node);
--   hjo_slurm_reconcile     compares Slurm's job list with hjo's jobs and closes, creates or
--                           completes jobs through hjo_job_started / hjo_job_finished, so every
--                           change follows the API's merge rules and lands in audit_log with
--                           source 'reconcile'.
-- Units in slurm_nodes are hjo's: bytes, load average (not x100).

CREATE TABLE slurm_nodes (
        cluster                text NOT NULL,        -- '' when collectord does not know it
        node                   text NOT NULL,
        ts                     timestamptz NOT NULL, -- when collectord last saw the node
        state                  text NOT NULL CHECK (state ~ '^[a-z_]{1,64}$'),
        state_flags            text NOT NULL DEFAULT ''
                               CHECK (state_flags ~ '^[A-Z_+]*$' AND length(state_flags) <= 1024),
        reason                 text NOT NULL DEFAULT '',
        partitions             text[] NOT NULL DEFAULT '{}',
        cpus                   integer CHECK (cpus >= 0),
        alloc_cpus             integer CHECK (alloc_cpus >= 0),
        idle_cpus              integer CHECK (idle_cpus >= 0),
        cpu_load               double precision CHECK (cpu_load >= 0),
        memory_total_bytes     bigint CHECK (memory_total_bytes >= 0),
        memory_allocated_bytes bigint CHECK (memory_allocated_bytes >= 0),
        memory_free_bytes      bigint CHECK (memory_free_bytes >= 0),
        PRIMARY KEY (cluster, node)
);
CREATE INDEX slurm_nodes_node_idx ON slurm_nodes (node, ts DESC);

-- p_nodes: [{"node","state","state_flags","reason","partitions":[],"cpus","alloc_cpus",
-- "idle_cpus","cpu_load","memory_total_bytes","memory_allocated_bytes","memory_free_bytes"}]
-- (built by lib/db_slurm.c).  Upserts every node and drops the cluster's nodes Slurm no longer
-- lists.  Returns the number of nodes stored.
CREATE FUNCTION hjo_slurm_nodes_store(p_cluster text, p_ts timestamptz, p_nodes jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
        n integer;
BEGIN
        INSERT INTO slurm_nodes AS s (cluster, node, ts, state, state_flags, reason, partitions,
                                      cpus, alloc_cpus, idle_cpus, cpu_load, memory_total_bytes,
                                      memory_allocated_bytes, memory_free_bytes)
        SELECT p_cluster, x.node, p_ts, x.state, coalesce(x.state_flags, ''),
               coalesce(x.reason, ''), coalesce(x.partitions, '{}'), x.cpus, x.alloc_cpus,
               x.idle_cpus, x.cpu_load, x.memory_total_bytes, x.memory_allocated_bytes,
               x.memory_free_bytes
        FROM jsonb_to_recordset(p_nodes) AS x(node text, state text, state_flags text,
                reason text, partitions text[], cpus integer, alloc_cpus integer,
                idle_cpus integer, cpu_load double precision, memory_total_bytes bigint,
                memory_allocated_bytes bigint, memory_free_bytes bigint)
        ON CONFLICT (cluster, node) DO UPDATE SET
                ts = excluded.ts, state = excluded.state, state_flags = excluded.state_flags,
                reason = excluded.reason, partitions = excluded.partitions,
                cpus = excluded.cpus, alloc_cpus = excluded.alloc_cpus,
                idle_cpus = excluded.idle_cpus, cpu_load = excluded.cpu_load,
                memory_total_bytes = excluded.memory_total_bytes,
                memory_allocated_bytes = excluded.memory_allocated_bytes,
                memory_free_bytes = excluded.memory_free_bytes
        WHERE s.ts <= excluded.ts;
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM slurm_nodes s
        WHERE s.cluster = p_cluster AND s.ts < p_ts
          AND s.node NOT IN (SELECT e->>'node' FROM jsonb_array_elements(p_nodes) e);
        RETURN n;
END
$$;

-- Settles one Slurm job against hjo's row; returns the action taken:
--   closed            hjo had it running, Slurm says it ended: hjo_job_finished with Slurm's
--                     state name, exit code/signal and end time
--   filled            hjo had it finished without slurm_state: hjo_job_finished fills it
--   corrected         ... and the hook had sent no exit details (exit unknown, e.g. scancel or
--                     time limit in Slurm 22.05): the state is re-derived from Slurm's state
--   created           Slurm runs it, hjo never heard of it: hjo_job_started (+ slurm_state)
--   created-finished  it ran and ended, hjo never heard of it: hjo_job_started + _finished
--   updated           hjo has it running; Slurm knew details hjo lacked (memory, account…)
--   none              nothing to do
CREATE TYPE hjo_slurm_job AS (
        id text, state text, exit_code integer, signal integer,
        start_time double precision, end_time double precision, -- Unix seconds
        user_name text, nodes text[], partition text, account text, cluster text,
        cpus integer, mem_mb bigint, gpus integer
);

CREATE FUNCTION hjo_slurm_reconcile_one(s hjo_slurm_job, p_corr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
        j jobs;
        v_final boolean := hjo_state_from_slurm(s.state) IS NOT NULL;
        v_started boolean := s.state IN ('RUNNING', 'SUSPENDED', 'COMPLETING', 'STAGE_OUT',
                                         'SIGNALING', 'RESIZING');
        v_start timestamptz := to_timestamp(s.start_time);
        v_end timestamptz := coalesce(to_timestamp(s.end_time), now());
        v_new text;
        st text;
        msg text;
BEGIN
        SELECT * INTO j FROM jobs WHERE id = s.id;
        IF NOT FOUND THEN
                IF v_started OR (v_final AND v_start IS NOT NULL
                                 AND cardinality(coalesce(s.nodes, '{}')) > 0) THEN
                        SELECT f.status INTO st FROM hjo_job_started(s.id, s.user_name,
                                coalesce(s.nodes, '{}'), v_start, s.cpus, s.mem_mb, s.gpus, NULL,
                                NULL, NULL, s.partition, s.account, s.cluster, 'reconcile',
                                p_corr) f;
                        IF v_final THEN
                                PERFORM hjo_job_finished(s.id, greatest(v_end, v_start),
                                        s.exit_code, s.signal, NULL, s.state, s.user_name,
                                        s.nodes, s.partition, s.account, s.cluster, 'reconcile',
                                        p_corr);
                                RETURN 'created-finished';
                        END IF;
                        UPDATE jobs SET slurm_state = s.state WHERE id = s.id AND slurm_state IS NULL;
                        RETURN 'created';
                END IF;
                RETURN 'none';
        END IF;

        IF j.state IN ('pending', 'running') THEN
                IF v_final THEN
                        PERFORM hjo_job_finished(s.id, greatest(v_end, j.start_time), s.exit_code,
                                s.signal, NULL, s.state, s.user_name, s.nodes, s.partition,
                                s.account, s.cluster, 'reconcile', p_corr);
                        RETURN 'closed';
                END IF;
                IF (j.allocated_memory_mb IS NULL AND s.mem_mb IS NOT NULL)
                   OR (j.allocated_cpus IS NULL AND s.cpus IS NOT NULL)
                   OR (j.allocated_gpus IS NULL AND s.gpus IS NOT NULL)
                   OR (j.start_time IS NULL AND v_start IS NOT NULL)
                   OR (j.user_name IS NULL AND s.user_name IS NOT NULL)
                   OR (j.account IS NULL AND s.account IS NOT NULL)
                   OR (j.partition IS NULL AND s.partition IS NOT NULL)
                   OR (j.cluster_name IS NULL AND s.cluster IS NOT NULL)
                   OR NOT (coalesce(s.nodes, '{}') <@ j.nodes) THEN
                        SELECT f.status INTO st FROM hjo_job_started(s.id, s.user_name,
                                coalesce(s.nodes, '{}'), coalesce(v_start, j.start_time), s.cpus,
                                s.mem_mb, s.gpus, NULL, NULL, NULL, s.partition, s.account,
                                s.cluster, 'reconcile', p_corr) f;
                        RETURN CASE WHEN st = 'updated' THEN 'updated' ELSE 'none' END;
                END IF;
                RETURN 'none';
        END IF;

        -- finished in hjo
        IF j.slurm_state IS NULL AND v_final THEN
                SELECT f.status, f.message INTO st, msg FROM hjo_job_finished(s.id,
                        greatest(v_end, j.start_time), s.exit_code, s.signal, NULL, s.state,
                        s.user_name, s.nodes, s.partition, s.account, s.cluster, 'reconcile',
                        p_corr) f;
                v_new := hjo_state_from_slurm(s.state);
                IF j.exit_code IS NULL AND j.signal IS NULL AND v_new <> j.state THEN
                        UPDATE jobs SET state = v_new, updated_at = now() WHERE id = s.id;
                        PERFORM hjo_audit(s.id, 'reconcile-state', '', 'reconcile', p_corr,
                                jsonb_build_object('before', j.state, 'after', v_new,
                                                   'slurm_state', s.state,
                                                   'reason', 'the finish event had no exit details'));
                        RETURN 'corrected';
                END IF;
                RETURN 'filled';
        END IF;
        RETURN 'none';
END
$$;

-- p_jobs: [{"id":"slurm-N","state","exit_code","signal","start_time","end_time" (Unix s),
-- "user_name","nodes":[],"partition","account","cluster","cpus","mem_mb","gpus"}]
-- (built by lib/db_slurm.c from Slurm's job list).  One row per action other than 'none';
-- with p_find_missing, also one row ('missing') per job hjo believes pending or running
-- (id slurm-<N>, of cluster p_cluster or without a cluster) that Slurm did not list: the
-- caller asks Slurm about those one by one.  A job whose reconciliation fails yields
-- ('error', SQLSTATE) and does not stop the others.
CREATE FUNCTION hjo_slurm_reconcile(p_cluster text, p_jobs jsonb, p_find_missing boolean,
                                    p_corr text)
RETURNS TABLE (job_id text, action text, detail text)
LANGUAGE plpgsql AS $$
DECLARE
        s hjo_slurm_job;
        a text;
BEGIN
        FOR s IN SELECT * FROM jsonb_populate_recordset(NULL::hjo_slurm_job, p_jobs) x
                 ORDER BY x.id
        LOOP
                BEGIN
                        a := hjo_slurm_reconcile_one(s, p_corr);
                        IF a <> 'none' THEN
                                job_id := s.id;
                                action := a;
                                detail := s.state;
                                RETURN NEXT;
                        END IF;
                EXCEPTION WHEN OTHERS THEN
                        job_id := s.id;
                        action := 'error';
                        detail := SQLSTATE;
                        RETURN NEXT;
                END;
        END LOOP;
        IF p_find_missing THEN
                RETURN QUERY
                SELECT j.id, 'missing'::text, j.state
                FROM jobs j
                WHERE j.state IN ('pending', 'running') AND j.id ~ '^slurm-[0-9]{1,10}$'
                  AND (p_cluster IS NULL OR j.cluster_name IS NULL OR j.cluster_name = p_cluster)
                  AND j.id NOT IN (SELECT e->>'id' FROM jsonb_array_elements(p_jobs) e)
                ORDER BY j.id;
        END IF;
END
$$;
