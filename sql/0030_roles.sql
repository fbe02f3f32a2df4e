-- 0030_roles.sql: least-privilege database roles (issue 5).
--
--   hjo_api        what hjo-api needs: read the tables, call the API's functions, record a
--                  token's last use.  It cannot INSERT, UPDATE or DELETE any table directly:
--                  every write goes through a function below, which runs as the owner
--                  (SECURITY DEFINER, fixed search_path) and writes the audit log itself.
--   hjo_collector  what hjo-collectord needs: submit sample batches and Slurm node data and
--                  reconciliation, read jobs.  No access to tokens or the audit log.
-- Both are NOLOGIN groups: a site creates its own login roles in them, e.g.
--   CREATE ROLE hjo_api_login LOGIN PASSWORD '…' IN ROLE hjo_api;
-- Roles are cluster-wide, so they are created only when missing.  Running this migration
-- needs CREATEROLE (or a superuser); running hjo-api and collectord afterwards needs neither.

DO $$
BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hjo_api') THEN
                CREATE ROLE hjo_api NOLOGIN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hjo_collector') THEN
                CREATE ROLE hjo_collector NOLOGIN;
        END IF;
END
$$;

-- Functions that write run as their owner, with a search_path nobody can hijack.
DO $$
DECLARE
        f regprocedure;
BEGIN
        FOR f IN
                SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND p.proname IN (
                        'hjo_job_started', 'hjo_job_finished', 'hjo_job_create', 'hjo_job_patch',
                        'hjo_job_delete', 'hjo_add_sample', 'hjo_seed_demo', 'hjo_ingest_batch',
                        'hjo_slurm_nodes_store', 'hjo_slurm_reconcile_one', 'hjo_slurm_reconcile',
                        'hjo_token_create', 'hjo_token_revoke', 'hjo_audit')
        LOOP
                EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, public',
                               f);
        END LOOP;
END
$$;

-- Nothing is callable by PUBLIC by default; each role gets what it uses.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO hjo_api, hjo_collector;

GRANT SELECT ON jobs, metric_samples, gpu_samples, node_samples, audit_log TO hjo_api;
GRANT SELECT (id, name, role, user_name, secret_sha256, expires_at, revoked_at) ON api_tokens
        TO hjo_api;
GRANT UPDATE (last_used_at) ON api_tokens TO hjo_api;
DO $$
DECLARE
        t text;
BEGIN
        -- tables of later features, present when their migrations ran first
        FOREACH t IN ARRAY ARRAY['slurm_nodes', 'collector_health'] LOOP
                IF to_regclass('public.' || t) IS NOT NULL THEN
                        EXECUTE format('GRANT SELECT ON %I TO hjo_api', t);
                END IF;
        END LOOP;
END
$$;
DO $$
DECLARE
        f regprocedure;
BEGIN
        FOR f IN
                SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND p.proname LIKE 'hjo\_%'
                  AND p.proname NOT IN ('hjo_token_create', 'hjo_token_revoke',
                                        'hjo_slurm_nodes_store', 'hjo_slurm_reconcile_one',
                                        'hjo_slurm_reconcile')
        LOOP
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO hjo_api', f);
        END LOOP;
        FOR f IN
                SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND p.proname IN (
                        'hjo_ingest_batch', 'hjo_slurm_nodes_store', 'hjo_slurm_reconcile_one',
                        'hjo_slurm_reconcile', 'hjo_ts', 'hjo_final_state', 'hjo_state_from_slurm',
                        'hjo_array_merge')
        LOOP
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO hjo_collector', f);
        END LOOP;
END
$$;
GRANT SELECT ON jobs TO hjo_collector;
DO $$
BEGIN
        IF to_regclass('public.slurm_nodes') IS NOT NULL THEN
                GRANT SELECT ON slurm_nodes TO hjo_collector;
        END IF;
END
$$;
