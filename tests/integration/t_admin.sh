#!/bin/sh
# tests/integration/t_admin.sh: hjo-admin and hjo-api as programs, against a real PostgreSQL:
# migrations (concurrent, repeated, edited file refused), configuration checks and masking,
# demo seeding (idempotent, aggregates consistent), worker supervision and SIGTERM shutdown.
# Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
itest_setup

admin=$top_builddir/admin/hjo-admin
api=$top_builddir/fcgi/hjo-api
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
        _d=$1
        shift
        n=$((n + 1))
        if "$@" >"$HJO_TMP/check.out" 2>&1; then
                echo "ok $n - $_d"
        else
                nfail=$((nfail + 1))
                echo "not ok $n - $_d"
                sed 's/^/# /' "$HJO_TMP/check.out" | head -n 20
        fi
}
sq() { # sq DB SQL: one value
        psql -X -q -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d "$1" -c "$2"
}
dsn() {
        echo "host=$HJO_PGHOST port=$HJO_PGPORT dbname=$1 user=postgres"
}

n_sql=$(find "$top_srcdir/sql" -name '[0-9][0-9][0-9][0-9]_*.sql' | wc -l)

# ---- migrations ------------------------------------------------------------------------------
sq postgres "CREATE DATABASE mig" >/dev/null
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$top_srcdir/sql" >"$HJO_TMP/m1.log" 2>&1 &
p1=$!
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$top_srcdir/sql" >"$HJO_TMP/m2.log" 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
is "$r1:$r2" "0:0" "two concurrent migrate runs both succeed"
is "$(sq mig 'SELECT count(*) FROM schema_migrations')" "$n_sql" \
        "every migration recorded once ($n_sql files)"
is "$(cat "$HJO_TMP/m1.log" "$HJO_TMP/m2.log" | grep -oE ' applied=[0-9]+' | sort | tr -d ' ' | tr '\n' ' ')" \
        "applied=0 applied=$n_sql " "one run applied them all, the other none"
check "migrate again: nothing to do" sh -c \
        "DATABASE_URL='$(dsn mig)' '$admin' migrate --sql-dir '$top_srcdir/sql' 2>&1 | grep -q 'applied=0 '"

mkdir -p "$HJO_TMP/sql-edited"
cp "$top_srcdir"/sql/*.sql "$HJO_TMP/sql-edited/"
echo "-- edited after it was applied" >>"$HJO_TMP/sql-edited/0001_init.sql"
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$HJO_TMP/sql-edited" >"$HJO_TMP/m3.log" 2>&1
is "$?" 1 "an applied migration that was edited is refused (exit 1)"
check "... naming the file" grep -q '0001_init.sql was changed' "$HJO_TMP/m3.log"

mkdir -p "$HJO_TMP/sql-bad"
cp "$top_srcdir"/sql/*.sql "$HJO_TMP/sql-bad/"
printf 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n' >"$HJO_TMP/sql-bad/9999_broken.sql"
DATABASE_URL=$(dsn mig) "$admin" migrate --sql-dir "$HJO_TMP/sql-bad" >"$HJO_TMP/m4.log" 2>&1
is "$?" 1 "a failing migration exits 1"
is "$(sq mig "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'")" 0 \
        "a failing migration leaves nothing behind (one transaction)"
is "$(sq mig 'SELECT count(*) FROM schema_migrations')" "$n_sql" "and is not recorded"

# ---- configuration ---------------------------------------------------------------------------
check "hjo-admin check-config accepts the test configuration" "$admin" check-config
check "hjo-api --check-config accepts it" "$api" --check-config
METRICS_RETENTION_DAYS=abc "$admin" check-config >"$HJO_TMP/c1.log" 2>&1
is "$?" 2 "a bad METRICS_RETENTION_DAYS is a configuration error (exit 2)"
check "... naming the variable" grep -q METRICS_RETENTION_DAYS "$HJO_TMP/c1.log"
SCHEDULER_BACKEND=pbs "$api" --check-config >"$HJO_TMP/c2.log" 2>&1
is "$?" 2 "SCHEDULER_BACKEND=pbs is refused by hjo-api (exit 2)"
printf 'workers = 3\nno_such_key = 1\n' >"$HJO_TMP/bad.conf"
"$admin" --config "$HJO_TMP/bad.conf" check-config >"$HJO_TMP/c3.log" 2>&1
is "$?" 2 "an unknown key in the config file is refused"
check "... naming file and line" grep -q 'bad.conf:2' "$HJO_TMP/c3.log"
DATABASE_URL='postgres://hjo:s3cr3t-pw@db.example:5432/hjo' "$admin" dump-config >"$HJO_TMP/d.log" 2>&1
check "dump-config shows the database URL" grep -q 'db.example' "$HJO_TMP/d.log"
check "dump-config masks its password" sh -c "! grep -q 's3cr3t-pw' '$HJO_TMP/d.log'"

# ---- demo data -------------------------------------------------------------------------------
check "seed-demo creates the demo jobs" sh -c \
        "DATABASE_URL='$(dsn mig)' '$admin' seed-demo 2>&1 | grep -q 'jobs_created=10'"
check "seed-demo again creates nothing" sh -c \
        "DATABASE_URL='$(dsn mig)' '$admin' seed-demo 2>&1 | grep -q 'jobs_created=0'"
is "$(sq mig "SELECT count(*) FROM jobs j WHERE j.sample_count <> (SELECT count(*) FROM metric_samples m WHERE m.job_id = j.id)")" \
        0 "demo aggregates agree with the demo samples"
is "$(sq mig "SELECT count(DISTINCT state) FROM jobs")" 4 \
        "demo jobs cover running, completed, failed and cancelled"

# ---- worker supervision ----------------------------------------------------------------------
workers() { pgrep -P "$HJO_API_PID" | sort; }
# wait_replaced VICTIM COUNT: until COUNT workers run and VICTIM is not one of them (10 s).
wait_replaced() {
        _wr=0
        while [ $_wr -lt 100 ]; do
                if [ "$(workers | wc -l)" -eq "$2" ] && ! workers | grep -qx "$1"; then
                        return 0
                fi
                sleep 0.1
                _wr=$((_wr + 1))
        done
        echo "# workers of $HJO_API_PID now: $(workers | tr '\n' ' ') (killed: $1)"
        ps -o pid,ppid,stat,etime,args --ppid "$HJO_API_PID" 2>&1 | sed 's/^/# /'
        grep -E 'worker exited|fork failed' "$HJO_API_LOG" | tail -n 5 | sed 's/^/# /'
        return 1
}
before=$(workers | wc -l)
is "$before" "${ITEST_WORKERS:-4}" "hjo-api runs ${ITEST_WORKERS:-4} workers"
old_list=$(workers)
victim=$(echo "$old_list" | head -n 1)
kill -KILL "$victim"
wait_replaced "$victim" "$before"
is "$?" 0 "a killed worker is replaced"
# A worker that dies young again is restarted too, after a longer delay (no fork storm).
victim2=$(workers | grep -vxF "$old_list" | head -n 1)
kill -KILL "$victim2"
wait_replaced "$victim2" "$before"
is "$?" 0 "a worker killed again right after its start is replaced too"
check "... after a doubled delay" sh -c \
        "grep 'worker exited, restarting' '$HJO_API_LOG' | tail -n 1 | grep -q 'delay_ms=400'"
check "and the service keeps answering" curl -sf -o /dev/null "$HJO_URL/v1/health"

# ---- SIGTERM ---------------------------------------------------------------------------------
sock2=$HJO_TMP/run/second.sock
HJO_SOCKET_MODE=0666 "$api" --socket "$sock2" --workers 3 >"$HJO_TMP/second.log" 2>&1 &
p=$!
i=0
while [ ! -S "$sock2" ] && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
done
check "a second hjo-api listens on its own socket" test -S "$sock2"
sleep 0.3
kids=$(pgrep -P "$p" | tr '\n' ' ')
t0=$(date +%s%N)
kill -TERM "$p"
wait "$p"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 0 "SIGTERM: hjo-api exits 0"
check "SIGTERM: it stopped within 2 s (took $ms ms)" test "$ms" -lt 2000
check "SIGTERM: its workers are gone" sh -c "for k in $kids; do ! kill -0 \$k 2>/dev/null || exit 1; done"
check "SIGTERM: the socket it created is removed" test ! -e "$sock2"

# ---- socket inherited on fd 0 (spawn-fcgi, systemd socket activation) ------------------------
if command -v spawn-fcgi >/dev/null 2>&1; then
        sock3=$HJO_TMP/run/inherited.sock
        spawn-fcgi -n -s "$sock3" -M 0600 -- "$api" --workers 2 >"$HJO_TMP/third.log" 2>&1 &
        p3=$!
        i=0
        while [ ! -S "$sock3" ] && [ $i -lt 100 ]; do
                sleep 0.05
                i=$((i + 1))
        done
        /usr/bin/python3 "$top_srcdir/tests/integration/fcgi_get.py" "$sock3" /v1/health \
                >"$HJO_TMP/fcgi.out" 2>&1
        check "hjo-api under spawn-fcgi (listener on fd 0) answers /v1/health" \
                grep -q '"status":"healthy"' "$HJO_TMP/fcgi.out"
        kill -TERM "$p3"
        wait "$p3"
        is "$?" 0 "... and exits 0 on SIGTERM"
else
        n=$((n + 1))
        echo "ok $n - hjo-api under spawn-fcgi # SKIP spawn-fcgi not installed"
fi

# ---- hjo_array_merge (sql/0060: a loop for small arrays, one hashed query for large ones) ----
is "$(sq hjo "SELECT hjo_array_merge('{a,b}', '{c,a,NULL,c,d}')")" "{a,b,c,d}" \
        "array merge: new elements appended once, in order; NULLs dropped"
is "$(sq hjo "SELECT hjo_array_merge(NULL, NULL)")" "{}" "array merge: NULL and NULL is empty"
is "$(sq hjo "WITH b AS (SELECT array_agg('n' || g ORDER BY g DESC) AS v FROM generate_series(1, 3000) g)
              SELECT hjo_array_merge('{n7,x}', b.v || '{n9,NULL,x}'::text[]) =
                     '{n7,x}'::text[] || array(SELECT 'n' || g FROM generate_series(3000, 1, -1) g WHERE g <> 7)
              FROM b")" t "array merge of a 3000-node list: same result as the small-array rule"

# ---- the finish's summary (sql/0060): skipped only for a job no sample reached ---------------
fin() { # fin ID: start ID 2 hours ago on node fn, 4 CPUs, 1 GPU
        sq hjo "SELECT status FROM hjo_job_started('$1', 'u', '{fn}', now() - interval '2 hours', 4, 1024, 1, 'nvidia', NULL, NULL, NULL, NULL, NULL, 'test', 'c')" >/dev/null
}
fin sum-none; fin sum-gpu; fin sum-raw
# samples written by plain INSERTs (no job aggregates updated), as a restore or a script would
sq hjo "INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent) VALUES ('sum-gpu', 'fn', '0', now() - interval '1 hour', 'nvidia', 40)" >/dev/null
sq hjo "INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, cpu_seconds) VALUES ('sum-raw', 'fn', now() - interval '1 hour', 50, 1048576, 3600)" >/dev/null
for id in sum-none sum-gpu sum-raw; do
        sq hjo "SELECT status FROM hjo_job_finished('$id', now(), 0, NULL, NULL, 'COMPLETED', 'u', '{fn}', NULL, NULL, NULL, 'test', 'c')" >/dev/null
done
is "$(sq hjo "SELECT id || ':' || coalesce(cpu_seconds::text, '-') || ':' || coalesce(gpu_mean_utilization::text, '-') FROM jobs WHERE id LIKE 'sum-%' ORDER BY id")" \
        "$(printf 'sum-gpu:-:40\nsum-none:-:-\nsum-raw:3600:-')" \
        "finish: summaries from GPU-only and plain-INSERT samples, none for a job without samples"
lost=$(sq hjo "SELECT status FROM hjo_job_finished('sum-lost', now(), 0, NULL, NULL, 'COMPLETED', 'u', '{fn}', NULL, NULL, NULL, 'test', 'c')")
is "$lost:$(sq hjo "SELECT (summary_at IS NOT NULL) || ':' || (cpu_efficiency IS NULL AND gpu_mean_utilization IS NULL) FROM jobs WHERE id = 'sum-lost'")" \
        "created:true:true" "finish of an unknown job: created with an empty summary, summary_at set"

# ---- the job row check (sql/0063: the 24 CHECK constraints as one PL/pgSQL rule set; 0068) ---
rowcheck() { # rowcheck SQL: the constraint named by the error of running SQL as the owner
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo \
                -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/.*violates check constraint "\([a-z0-9_]*\)".*/\1/p' | head -1
}
is "$(rowcheck "INSERT INTO jobs (id, user_name, nodes, state, start_time, cpu_usage) VALUES ('rc-1', 'u', '{n}', 'running', now(), 150)")" \
        jobs_cpu_usage_check "row check: cpu_usage 150 refused, the old constraint named"
is "$(rowcheck "INSERT INTO jobs (id, user_name, nodes, state, start_time) VALUES ('rc 2', 'u', '{n}', 'running', now())")" \
        jobs_id_check "row check: an id with a space refused"
is "$(rowcheck "INSERT INTO jobs (id, user_name, nodes, state, start_time) VALUES ('rc-3', 'u', '{n}', 'completed', now())")" \
        jobs_check1 "row check: a final state without end_time refused"
is "$(rowcheck "INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time) VALUES ('rc-4', 'u', '{n}', 'completed', now(), now() - interval '1 hour')")" \
        jobs_check "row check: end before start refused"
# the character rules (ltrim of the alphabet, where the constraints had regular expressions):
# the ids refused, by a transaction that is rolled back
idcheck() { # idcheck SQL-EXPR: jobs_id_check when the id it gives is refused, else "ok"
        r=$(rowcheck "BEGIN; INSERT INTO jobs (id, user_name, nodes, state) VALUES ($1, 'u', '{n}', 'running'); ROLLBACK")
        echo "${r:-ok}"
}
ids=""
for e in "'rc-ok.A_9:z'" "'rc-é'" "'rc-x/y'" "E'rc-nl\\n'" "'.'" "'..'" "'...'" \
        "repeat('r', 255)" "repeat('r', 256)" "''"; do
        ids="$ids $(idcheck "$e")"
done
is "$ids" " ok jobs_id_check jobs_id_check jobs_id_check jobs_id_check jobs_id_check ok ok jobs_id_check jobs_id_check" \
        "row check: ids of ASCII letters, digits and ._:- pass, 1 to 255 long, not . or .."
is "$(rowcheck "INSERT INTO jobs (id, user_name, nodes, state, start_time, slurm_state) VALUES ('rc-5', 'u', '{n}', 'running', now(), 'Completed')")" \
        jobs_slurm_state_check "row check: a slurm_state with a lower-case letter refused"
is "$(sq hjo "SELECT count(*) FROM jobs WHERE id LIKE 'rc%'")" 0 "row check: nothing refused was stored"
# sql/0068 tries the rules in a cheaper form first: it must judge every row as the rules do
# (same acceptance, same rule named), on rows that break each of the 24 rules and rows that pass
rcd=$(psql -X -q -At -v ON_ERROR_STOP=1 -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo \
        -f "$top_srcdir/tests/integration/row_check_diff.sql" 2>&1 | tail -1)
is "$(echo "$rcd" | awk '{ print $1, ($2 > 300), ($3 > 3000), $4 }')" "0 1 1 25" \
        "row check: the cheap form judges 6,000 edge-value rows as the 24 rules do ($rcd)"

# ---- least-privilege database roles (sql/0030_roles.sql) -------------------------------------
asrole() { # asrole ROLE SQL: exit status of running SQL as ROLE
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U "$1" -d hjo -c "$2" \
                >"$HJO_TMP/role.out" 2>&1
}
psql -X -q -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo \
        -c "CREATE ROLE itest_collector LOGIN IN ROLE hjo_collector" >/dev/null 2>&1
is "$(sq hjo "SELECT rolsuper FROM pg_roles WHERE rolname = 'itest_api'")" f \
        "hjo-api runs as a non-superuser login role (itest_api in hjo_api)"
check "the API role reads jobs" asrole itest_api "SELECT count(*) FROM jobs"
asrole itest_api "DELETE FROM jobs"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the API role cannot DELETE from jobs directly"
asrole itest_api "INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id) VALUES ('x','x','x','x','x')"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the API role cannot write the audit log directly"
asrole itest_api "SELECT hjo_audit('x', 'forged', 'x', 'x', 'x', '{}')"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the API role cannot call the audit writer either (sql/0060)"
asrole itest_api "SELECT kind || ':' || job_id || ':' || n FROM hjo_ingest_batch('n', now(), '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', NULL, NULL, NULL, NULL, NULL, false)"
is "$?:$(tr '\n' ' ' <"$HJO_TMP/role.out")" \
        "0:count:stored:0 count:duplicate:0 count:unknown:0 count:finished:0 count:gpu_stored:0 count:gpu_received:0 " \
        "the API role may call the batch function; an empty batch stores nothing and counts zeros"
asrole itest_api "SELECT hjo_token_create('0123456789abcdef', 'x', 'admin', NULL, repeat('0', 64), NULL, 'x')"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the API role cannot create tokens"
asrole itest_collector "SELECT secret_sha256 FROM api_tokens"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the collector role cannot read tokens"
asrole itest_collector "UPDATE jobs SET state = 'completed'"
is "$?:$(grep -c 'permission denied' "$HJO_TMP/role.out")" "1:1" "the collector role cannot change jobs directly"
is "$(sq hjo "SELECT bool_and(has_function_privilege('itest_collector', p.oid, 'EXECUTE')) FROM pg_proc p WHERE proname IN ('hjo_ingest_batch', 'hjo_slurm_reconcile')")" \
        t "the collector role may call the batch and reconcile functions"
is "$(sq hjo "SELECT bool_or(has_function_privilege('itest_collector', p.oid, 'EXECUTE')) FROM pg_proc p WHERE proname IN ('hjo_job_delete', 'hjo_token_create', 'hjo_job_patch')")" \
        f "... and nothing that deletes jobs, patches them or makes tokens"

echo "1..$n"
[ "$nfail" -eq 0 ]
