#!/bin/sh
# tests/integration/t_storage.sh: storage that scales (issue 6, docs/storage.md) against a real
# PostgreSQL, hjo-api and nginx.  Here: sql/0050_partitioning.sql migrating a database that
# already holds samples (every row kept, identical), partitions and grants in place, and
# `hjo-admin maintain`; then storage_test.py drives the API (rollups against raw rows,
# resolution choice, job summaries, filters and sort keys).  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
itest_setup

admin=$top_builddir/admin/hjo-admin
sqm() { # sqm SQL: one value from the database "mig"
        psql -X -q -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d mig -c "$1"
}
dsn() {
        echo "host=$HJO_PGHOST port=$HJO_PGPORT dbname=$1 user=postgres"
}

# ---- migration of a database with samples ----------------------------------------------------
mkdir -p "$HJO_TMP/sql-before"
for f in "$top_srcdir"/sql/[0-9][0-9][0-9][0-9]_*.sql; do
        case $(basename "$f") in
        0050_* | 005[1-9]_* | 00[6-9]*) ;;
        *) cp "$f" "$HJO_TMP/sql-before/" ;;
        esac
done
sq "CREATE DATABASE mig" >/dev/null
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$HJO_TMP/sql-before" >"$HJO_TMP/mig1.log" 2>&1 ||
        itest_bail "migrate (before 0050) failed: $(tail -n 3 "$HJO_TMP/mig1.log")"
DATABASE_URL=$(dsn mig) "$admin" seed-demo >>"$HJO_TMP/mig1.log" 2>&1 || itest_bail "seed-demo failed"
# older samples too: 10 days ago (a day of its own) and one far in the past
sqm "INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, cpu_seconds)
     SELECT 'demo-1005', 'node05', now() - interval '10 days' + g * interval '10 s', g % 100,
            1048576 * g, g FROM generate_series(1, 500) g;
     INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes)
     VALUES ('demo-1005', 'node05', '2001-02-03T04:05:06Z', 12.5, 4096);
     INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent)
     SELECT 'demo-1009', 'gpu02', 'GPU-x', now() - interval '3 days' + g * interval '10 s',
            'nvidia', g % 101 FROM generate_series(1, 200) g;" >/dev/null ||
        itest_bail "inserting old samples failed"
fp() { # fingerprint of every row of table $1 in the database mig
        sqm "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
             FROM $1 t"
}
before_m=$(fp metric_samples)
before_g=$(fp gpu_samples)
before_n=$(fp node_samples)
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$top_srcdir/sql" >"$HJO_TMP/mig2.log" 2>&1
is "$?" 0 "0050 migrates a database that holds samples"
is "$(fp metric_samples)" "$before_m" "metric_samples: every row kept, identical ($before_m)"
is "$(fp gpu_samples)" "$before_g" "gpu_samples: every row kept, identical"
is "$(fp node_samples)" "$before_n" "node_samples: every row kept, identical"
is "$(sqm "SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class
           WHERE relname IN ('metric_samples', 'gpu_samples', 'node_samples')")" \
        "gpu_samples:p,metric_samples:p,node_samples:p" "the three sample tables are partitioned"
is "$(sqm "SELECT count(*) FROM pg_class WHERE relname LIKE '%unpartitioned%'")" 0 \
        "the old tables are gone"
is "$(sqm "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
           WHERE conrelid = 'metric_samples'::regclass AND contype IN ('p', 'f')")" \
        "metric_samples_job_id_fkey,metric_samples_pkey" "primary key and foreign key kept by name"
is "$(sqm "SELECT count(*) FROM pg_indexes WHERE indexname IN ('metric_samples_job_ts_idx',
           'node_samples_ts_idx')")" 2 "secondary indexes kept by name"
is "$(sqm "SELECT has_table_privilege('hjo_api', 'metric_samples', 'SELECT')
              AND has_table_privilege('hjo_api', 'node_samples', 'SELECT')
              AND NOT has_table_privilege('hjo_api', 'metric_samples', 'INSERT')")" t \
        "grants carried over (hjo_api reads, cannot write)"
is "$(sqm "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'metric_samples'::regclass
           AND attname = 'cpu_usage'")" f "cpu_usage stays nullable as 0041 made it"
is "$(sqm "SELECT count(*) FROM metric_samples_p20010203")" 1 \
        "each day that had rows got its partition (2001-02-03 too)"
is "$(sqm "SELECT count(*) FROM pg_class WHERE relname = 'metric_samples_p' ||
           to_char(now() AT TIME ZONE 'UTC' - interval '10 days', 'YYYYMMDD')")" 1 \
        "a partition for the day of the old rows"
is "$(sqm "SELECT count(*) FROM generate_series(0, 7) d WHERE to_regclass('metric_samples_p' ||
           to_char(now() AT TIME ZONE 'UTC' + d * interval '1 day', 'YYYYMMDD')) IS NOT NULL")" 8 \
        "partitions for today and 7 days ahead"
is "$(sqm "SELECT (SELECT count(*) FROM metric_samples) = (SELECT sum(n) FROM metric_rollup_1m)
              AND (SELECT count(*) FROM metric_samples) = (SELECT sum(n) FROM metric_rollup_1h)
              AND (SELECT count(*) FROM gpu_samples) = (SELECT sum(n) FROM gpu_rollup_1h)")" t \
        "rollups built for the rows that were there"
is "$(sqm "SELECT count(*) FROM jobs WHERE end_time IS NOT NULL AND summary_at IS NULL")" 0 \
        "summaries computed for the jobs that had finished"
is "$(sqm "SELECT sample_count = (SELECT count(*) FROM metric_samples WHERE job_id = 'demo-1001')
           FROM jobs WHERE id = 'demo-1001'")" t "job aggregates still agree with the samples"
is "$(sqm "SELECT prosecdef AND proconfig::text LIKE '%search_path=pg_catalog, public%'
           FROM pg_proc WHERE proname = 'hjo_job_finished'")" t \
        "hjo_job_finished stays SECURITY DEFINER with the fixed search_path"

# ---- hjo-admin maintain on that database -----------------------------------------------------
old_minutes=$(sqm "SELECT count(DISTINCT date_trunc('minute', ts, 'UTC')) FROM metric_samples
                   WHERE ts < now() - interval '9 days' AND ts > '2002-01-01'")
recent_before=$(fp "(SELECT * FROM metric_samples WHERE ts >= date_trunc('day', now()) - interval '4 days') AS")
# latest-sample rows of a job ended 3 days ago (pruned), one ended an hour ago and a running one
sqm "INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time) VALUES
       ('pl-old', 'u', '{n1}', 'completed', now() - interval '4 days', now() - interval '3 days'),
       ('pl-recent', 'u', '{n1}', 'completed', now() - interval '2 hours', now() - interval '1 hour'),
       ('pl-run', 'u', '{n1}', 'running', now() - interval '1 hour', NULL);
     INSERT INTO metric_latest (job_id, node, ts) SELECT id, 'n1', now() FROM jobs WHERE id LIKE 'pl-%';
     INSERT INTO gpu_latest (job_id, node, gpu_id, ts, gpu_vendor)
            SELECT id, 'n1', 'GPU-0', now(), 'nvidia' FROM jobs WHERE id LIKE 'pl-%'" >/dev/null
DATABASE_URL=$(dsn mig) METRICS_RETENTION_DAYS=5 HJO_PARTITION_AHEAD_DAYS=12 \
        "$admin" maintain >"$HJO_TMP/maint1.log" 2>&1
is "$?" 0 "hjo-admin maintain exits 0"
is "$(sqm "SELECT to_regclass('metric_samples_p' ||
           to_char(now() AT TIME ZONE 'UTC' + interval '12 days', 'YYYYMMDD')) IS NOT NULL")" t \
        "maintain creates partitions HJO_PARTITION_AHEAD_DAYS ahead"
is "$(sqm "SELECT count(*) FROM pg_class WHERE relname = 'metric_samples_p' ||
           to_char(now() AT TIME ZONE 'UTC' - interval '10 days', 'YYYYMMDD')")" 0 \
        "retention (5 days) drops the partition of 10 days ago"
is "$(sqm "SELECT count(*) FROM metric_samples WHERE ts < now() - interval '6 days'")" 0 \
        "no raw row older than the retention is left (2001 dropped too)"
is "$(fp node_samples)" "$before_n" "nothing newer was touched (node samples of today intact)"
is "$(fp "(SELECT * FROM metric_samples WHERE ts >= date_trunc('day', now()) - interval '4 days') AS")" \
        "$recent_before" "every job sample within the retention kept, identical"
is "$(sqm "SELECT count(*) FROM gpu_samples WHERE job_id = 'demo-1009' AND gpu_id = 'GPU-x'")" 200 \
        "GPU samples of 3 days ago kept"
is "$(sqm "SELECT count(*) FROM metric_rollup_1m WHERE bucket < now() - interval '9 days'")" \
        "$old_minutes" \
        "the 1m rollups of the dropped day stay (their own retention)"
is "$(sqm "SELECT string_agg(job_id, ',' ORDER BY job_id) FROM metric_latest WHERE job_id LIKE 'pl-%'"):$(sqm "SELECT string_agg(job_id, ',' ORDER BY job_id) FROM gpu_latest WHERE job_id LIKE 'pl-%'")" \
        "pl-recent,pl-run:pl-recent,pl-run" \
        "maintain drops the latest-sample rows of jobs ended over a day ago, keeps recent and running"
check_log() { grep -q "$1" "$HJO_TMP/maint1.log"; }
if check_log 'action=pruned-latest metric_latest_rows=1 gpu_latest_rows=1'; then is 1 1 "maintain logs the pruned rows"; else is 0 1 "maintain logs the pruned rows"; fi
# the psql session that inserted the pl- jobs has exited: its job_counts rows are folded
if grep -q 'action=folded-counts job_counts_rows=[1-9]' "$HJO_TMP/maint1.log"; then
        is 1 1 "maintain folds the job counts of exited backends (and logs how many rows)"
else
        is 0 1 "maintain folds the job counts of exited backends (and logs how many rows)"
fi
is "$(sqm "SELECT count(*) FROM job_counts WHERE backend <> 0
           AND backend NOT IN (SELECT pid FROM pg_stat_activity)")" 0 \
        "no job_counts row of an exited backend is left after maintain"
if check_log 'action=dropped'; then is 1 1 "maintain logs what it dropped"; else is 0 1 "maintain logs what it dropped"; fi
# One list of partitioned tables (sql/0067): hjo_part_specs() names every partitioned table of
# the schema and no other, and maintain (which reads it) went through each.
is "$(sqm "SELECT string_agg(parent, ',' ORDER BY parent COLLATE \"C\") FROM hjo_part_specs()")" \
        "$(sqm "SELECT string_agg(c.relname, ',' ORDER BY c.relname COLLATE \"C\") FROM pg_partitioned_table p
                JOIN pg_class c ON c.oid = p.partrelid")" \
        "hjo_part_specs() lists exactly the partitioned tables"
is "$(sed -n 's/.*msg="maintenance" table=\([a-z0-9_]*\) action=.*/\1/p' "$HJO_TMP/maint1.log" |
      LC_ALL=C sort -u | tr '\n' ',' | sed 's/,$//')" \
        "$(sqm "SELECT string_agg(parent, ',' ORDER BY parent COLLATE \"C\") FROM hjo_part_specs()")" \
        "maintain visited every table of that list (each logs its DEFAULT partition's strays)"
DATABASE_URL=$(dsn mig) HJO_PARTITION_AHEAD_DAYS=0 "$admin" maintain >"$HJO_TMP/maint2.log" 2>&1
is "$?" 2 "HJO_PARTITION_AHEAD_DAYS=0 is a configuration error (exit 2)"
DATABASE_URL=$(dsn mig) HJO_ROLLUP_1H_RETENTION_DAYS=x "$admin" maintain >"$HJO_TMP/maint3.log" 2>&1
is "$?:$(grep -c HJO_ROLLUP_1H_RETENTION_DAYS "$HJO_TMP/maint3.log")" "2:1" \
        "a bad HJO_ROLLUP_1H_RETENTION_DAYS is refused, naming it"

# ---- 0064: node rollups over a database that already holds node samples --------------------------
# A database at 0063 (node_samples partitioned, no node rollups) with node samples of today, of
# 100 days ago (in the DEFAULT partition: 0050 made partitions from its own day on) and of
# 2001, some values NULL; then the rest of sql/.
sqn() { # sqn SQL: one value from the database "nodes"
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d nodes \
                -c "$1"
}
node_diff() { # node_diff UNIT TABLE: buckets where TABLE differs from the raw rows (0: exact)
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d nodes \
                -v unit="$1" -v tab="$2" -f "$top_srcdir/tests/integration/node_rollup_diff.sql"
}
day_part() { # day_part TABLE DAYS: the name of TABLE's daily partition DAYS days from today
        echo "${1}_p$(sqn "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '1 day' * ($2), 'YYYYMMDD')")"
}
month_part() { # month_part TABLE DAYS: the monthly partition of the day DAYS days from today
        echo "${1}_p$(sqn "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '1 day' * ($2), 'YYYYMM')")"
}
exists() { sqn "SELECT to_regclass('$1') IS NOT NULL"; }
mkdir -p "$HJO_TMP/sql-0063"
for f in "$top_srcdir"/sql/[0-9][0-9][0-9][0-9]_*.sql; do
        case $(basename "$f") in
        00[0-5][0-9]_* | 006[0-3]_*) cp "$f" "$HJO_TMP/sql-0063/" ;;
        esac
done
sq "CREATE DATABASE nodes" >/dev/null
t2h=$(sq "SELECT date_trunc('minute', now() - interval '2 hours')") # one anchor for both inserts
DATABASE_URL=$(dsn nodes) "$admin" migrate --sql-dir "$HJO_TMP/sql-0063" >"$HJO_TMP/mig64a.log" 2>&1 ||
        itest_bail "migrate (up to 0063) failed: $(tail -n 3 "$HJO_TMP/mig64a.log")"
sqn "INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes, memory_total_bytes,
                               job_count)
     SELECT n, '$t2h'::timestamptz + g * interval '10 s',
            CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 37 % 1000) / 10.0 END,
            CASE WHEN g % 11 = 0 THEN NULL ELSE 1000000 * g END, 64000000000 + g % 5 * 1024,
            CASE WHEN g % 13 = 0 THEN NULL ELSE g % 9 END
     FROM generate_series(1, 700) g, unnest(ARRAY['mn1', 'mn2']) n;
     INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes, memory_total_bytes,
                               job_count)
     SELECT 'mn1', date_trunc('day', now() - interval '100 days', 'UTC') + interval '1 hour'
                   + g * interval '1 min', g % 100, g, 1000000, g % 4
     FROM generate_series(1, 200) g;
     INSERT INTO node_samples VALUES ('mn3', '2001-02-03T04:05:06Z', 12.5, 4096, 8192, 1)" \
        >/dev/null || itest_bail "inserting node samples failed"
before_ns=$(sqn "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM node_samples t")
DATABASE_URL=$(dsn nodes) "$admin" migrate --sql-dir "$top_srcdir/sql" >"$HJO_TMP/mig64b.log" 2>&1
is "$?" 0 "0064 migrates a database that holds node samples"
is "$(sqn "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM node_samples t")" \
        "$before_ns" "node_samples: every row kept, identical"
is "$(sqn "SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class
           WHERE relname IN ('node_rollup_1m', 'node_rollup_1h')")" \
        "node_rollup_1h:p,node_rollup_1m:p" "node_rollup_1m/1h are partitioned tables"
is "$(sqn "SELECT (SELECT count(*) FROM node_samples) || ':' || (SELECT sum(n) FROM node_rollup_1m)
           || ':' || (SELECT sum(n) FROM node_rollup_1h)")" "1601:1601:1601" \
        "backfill: every node sample counted once in each rollup"
is "$(node_diff minute node_rollup_1m)" 0 "backfilled node_rollup_1m equals the aggregates of the raw rows, every bucket"
is "$(node_diff hour node_rollup_1h)" 0 "backfilled node_rollup_1h equals the aggregates of the raw rows, every bucket"
is "$(exists "$(day_part node_rollup_1m -100)"):$(exists node_rollup_1m_p20010203):$(exists node_rollup_1h_p200102)" \
        "t:t:t" "1m and 1h partitions for the days (months) that had node samples"
is "$(sqn "SELECT count(*) FROM generate_series(0, 7) d WHERE to_regclass('node_rollup_1m_p' ||
           to_char(now() AT TIME ZONE 'UTC' + d * interval '1 day', 'YYYYMMDD')) IS NOT NULL")" 8 \
        "1m partitions for today and 7 days ahead"
is "$(sqn "SELECT count(*) FROM node_rollup_1m_default")$(sqn "SELECT count(*) FROM node_rollup_1h_default")" \
        "00" "no backfilled rollup row in a DEFAULT partition"
is "$(sqn "SELECT string_agg(c.relname || '=' || array_to_string(c.reloptions, ','), ' ' ORDER BY c.relname)
           FROM pg_class c WHERE c.relname IN ('node_rollup_1m_p20010203', 'node_rollup_1h_p200102',
                                               'node_rollup_1m_default', 'node_rollup_1h_default')")" \
        "node_rollup_1h_default=fillfactor=70 node_rollup_1h_p200102=fillfactor=70 node_rollup_1m_default=fillfactor=80 node_rollup_1m_p20010203=fillfactor=80" \
        "fillfactor 80 (1m) and 70 (1h) on the node rollup partitions, as 0060 sets on the job rollups"
is "$(sqn "SELECT has_table_privilege('hjo_api', 'node_rollup_1m', 'SELECT')
              AND has_table_privilege('hjo_api', 'node_rollup_1h', 'SELECT')
              AND NOT has_table_privilege('hjo_api', 'node_rollup_1m', 'INSERT')
              AND NOT has_table_privilege('hjo_collector', 'node_rollup_1h', 'INSERT')
              AND has_function_privilege('hjo_api',
                      'hjo_node_samples_list(text, timestamptz, timestamptz, integer, text)', 'EXECUTE')
              AND NOT has_function_privilege('hjo_api', 'hjo_node_rollup_trg()', 'EXECUTE')
              AND NOT has_function_privilege('public', 'hjo_node_samples_list(text, timestamptz,
                      timestamptz, integer, text)', 'EXECUTE')")" t \
        "grants: hjo_api reads the node rollups and calls hjo_node_samples_list, writes nothing"
is "$(sqn "SELECT (SELECT retention FROM hjo_part_spec('node_rollup_1m')) || ','
                  || (SELECT retention FROM hjo_part_spec('node_rollup_1h')) || ','
                  || (SELECT count(*) FROM unnest(ARRAY['metric_samples', 'gpu_samples', 'node_samples',
                      'metric_rollup_1m', 'gpu_rollup_1m', 'metric_rollup_1h', 'gpu_rollup_1h']) t
                      WHERE (hjo_part_spec(t)).key IS NOT NULL)")" "1m,1h,7" \
        "hjo_part_spec lists the node rollups and still every table it listed"
# after the migration: the trigger; one statement with new rows and duplicates (ON CONFLICT DO
# NOTHING: a duplicate is not in the transition table, so it is not counted)
sqn "INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes, memory_total_bytes,
                               job_count)
     SELECT n, '$t2h'::timestamptz + g * interval '5 s', 50, 7 * g, 64000000000, 3
     FROM generate_series(1, 600) g, unnest(ARRAY['mn1', 'mn4']) n
     ON CONFLICT DO NOTHING" >/dev/null
is "$(sqn "SELECT (SELECT count(*) FROM node_samples) || ':' || (SELECT sum(n) FROM node_rollup_1m)
           || ':' || (SELECT sum(n) FROM node_rollup_1h)")" "2501:2501:2501" \
        "an insert of 1200 rows of which 300 are duplicates: 900 counted, once"
is "$(node_diff minute node_rollup_1m)" 0 "node_rollup_1m still equals the raw rows after the trigger ran"
is "$(node_diff hour node_rollup_1h)" 0 "node_rollup_1h still equals the raw rows after the trigger ran"

# maintain: partitions ahead, 1m partitions past HJO_ROLLUP_1M_RETENTION_DAYS dropped, the 1h
# rows of that day kept (HJO_ROLLUP_1H_RETENTION_DAYS, default 730 days: 2001 dropped)
old_1h=$(sqn "SELECT count(*) FROM node_rollup_1h WHERE bucket < now() - interval '99 days'
              AND bucket > '2002-01-01'")
DATABASE_URL=$(dsn nodes) HJO_ROLLUP_1M_RETENTION_DAYS=30 HJO_PARTITION_AHEAD_DAYS=12 \
        "$admin" maintain >"$HJO_TMP/maint64.log" 2>&1
is "$?" 0 "hjo-admin maintain over the node rollups exits 0"
is "$(exists "$(day_part node_rollup_1m 12)"):$(exists "$(month_part node_rollup_1h 12)")" "t:t" \
        "maintain creates node_rollup_1m partitions 12 days ahead (and the 1h partition of that month)"
is "$(exists "$(day_part node_rollup_1m -100)"):$(sqn "SELECT count(*) FROM node_rollup_1m
           WHERE bucket < now() - interval '31 days'")" "f:0" \
        "the node_rollup_1m partition of 100 days ago is dropped (1m retention 30 days)"
is "$(sqn "SELECT count(*) FROM node_rollup_1h WHERE bucket < now() - interval '99 days'
           AND bucket > '2002-01-01'")" "$old_1h" "... its 1h rollups stay (their own retention)"
is "$(exists node_rollup_1h_p200102):$(sqn "SELECT count(*) FROM node_rollup_1h WHERE node = 'mn3'")" \
        "f:0" "the 1h partition of 2001 is dropped under the 730-day 1h retention"
if grep -q "table=node_rollup_1m.*action=dropped" "$HJO_TMP/maint64.log"; then
        is 1 1 "maintain logs the node_rollup_1m partition it dropped"
else
        is 0 1 "maintain logs the node_rollup_1m partition it dropped"
fi

# ---- the API over the freshly migrated database ----------------------------------------------
/usr/bin/python3 "$top_srcdir/tests/integration/storage_test.py" "$n"
rc=$?
n=$(cat "$HJO_TMP/storage_test.n" 2>/dev/null || echo "$n")
[ $rc -eq 0 ] || nfail=$((nfail + 1))
echo "1..$n"
[ "$nfail" -eq 0 ]
