-- 0067_part_list.sql: one list of the partitioned tables (issue 6, storage maintenance).
--
-- Until now the tables `hjo-admin maintain` visits were listed twice: in hjo_part_spec (0050,
-- restated whole by 0064), the allow-list that says each table's key, step and retention, and
-- again in lib/db_maint.c with the retention each follows.  A table added to one and not the
-- other would be either refused or never maintained.  The list now lives in hjo_part_specs(),
-- one row per table in the order maintenance visits them; hjo_part_spec() reads its row from
-- there, and hjo-admin reads the whole list (lib/db_maint.c, db_maint_tables()).  A later
-- migration that adds a partitioned table restates hjo_part_specs() alone.

CREATE FUNCTION hjo_part_specs(OUT parent text, OUT key text, OUT step text,
                               OUT retention text, OUT ord integer)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE AS $$
        SELECT s.parent, s.key, s.step, s.retention, s.ord FROM (VALUES
                ('metric_samples', 'ts', 'day', 'raw', 1),
                ('gpu_samples', 'ts', 'day', 'raw', 2),
                ('node_samples', 'ts', 'day', 'raw', 3),
                ('metric_rollup_1m', 'bucket', 'day', '1m', 4),
                ('gpu_rollup_1m', 'bucket', 'day', '1m', 5),
                ('node_rollup_1m', 'bucket', 'day', '1m', 6),
                ('metric_rollup_1h', 'bucket', 'month', '1h', 7),
                ('gpu_rollup_1h', 'bucket', 'month', '1h', 8),
                ('node_rollup_1h', 'bucket', 'month', '1h', 9))
                AS s(parent, key, step, retention, ord)
$$;

CREATE OR REPLACE FUNCTION hjo_part_spec(p_parent text, OUT key text, OUT step text,
                                         OUT retention text)
LANGUAGE sql IMMUTABLE AS $$
        SELECT s.key, s.step, s.retention FROM hjo_part_specs() s WHERE s.parent = p_parent
$$;

-- Maintenance runs as the owner (hjo-admin); the API and collector roles need neither.
REVOKE EXECUTE ON FUNCTION hjo_part_specs() FROM PUBLIC;
