-- 0040_reconcile_state.sql: Slurm's final state settles hjo's state (issue 4).
--
-- Until now reconciliation corrected the state of a finished job only when its finish event had
-- no exit details.  Slurm 22.05's epilogs can send exit details that do not tell what happened:
-- a scancel'ed batch shell that exits 143 after its child died of SIGTERM looks like `exit 143`
-- (failed), `kill -9 $$` looks like a cancellation (signal 9) where Slurm says FAILED.  Slurm's
-- final JobState is the authority: when hjo has no slurm_state yet and Slurm's final state maps
-- to another state than the one hjo derived, the state is corrected (exit details are kept as
-- they came: the first finish's exit details are never overwritten).  Audited as
-- 'reconcile-state' with the reason.
CREATE OR REPLACE FUNCTION hjo_slurm_reconcile_one(s hjo_slurm_job, p_corr text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

        -- finished in hjo, without Slurm's final state: fill it, and let it settle the state
        IF j.slurm_state IS NULL AND v_final THEN
                SELECT f.status, f.message INTO st, msg FROM hjo_job_finished(s.id,
                        greatest(v_end, j.start_time), s.exit_code, s.signal, NULL, s.state,
                        s.user_name, s.nodes, s.partition, s.account, s.cluster, 'reconcile',
                        p_corr) f;
                v_new := hjo_state_from_slurm(s.state);
                IF v_new <> j.state THEN
                        UPDATE jobs SET state = v_new, updated_at = now() WHERE id = s.id;
                        PERFORM hjo_audit(s.id, 'reconcile-state', '', 'reconcile', p_corr,
                                jsonb_build_object('before', j.state, 'after', v_new,
                                                   'slurm_state', s.state,
                                                   'reason', CASE
                                        WHEN j.exit_code IS NULL AND j.signal IS NULL
                                        THEN 'the finish event had no exit details'
                                        ELSE 'Slurm''s final state differs from the state the exit details suggested'
                                        END));
                        RETURN 'corrected';
                END IF;
                RETURN 'filled';
        END IF;
        RETURN 'none';
END
$$;
