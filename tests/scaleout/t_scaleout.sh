#!/bin/sh
# tests/scaleout/t_scaleout.sh: the scale-out deployment of docs/scale-out.md on loopback, every
# part from Debian packages: a PostgreSQL primary and a streaming replica (pg_basebackup -R with a
# replication slot), PgBouncer in transaction mode in front of the primary, two hjo-api instances
# on TCP (HJO_LISTEN) reading from the replica (DATABASE_READ_URL), nginx with hjo's dev config
# whose upstream block is replaced by nginx/scaleout.conf.  Then:
#   - event load through nginx; one hjo-api instance is SIGKILLed (its whole process group)
#     mid-load: every response is 200 and every acknowledged job is on the primary, completed,
#     and on the replica once it has caught up; restarted, the backend gets traffic again;
#   - reads come from the replica: with its replay paused, a job just written is 404 there while
#     the primary has it; with the replica stopped, reads fall back to the primary (logged);
#     after its restart the workers reconnect to it;
#   - hjo-collectord writes through PgBouncer in transaction mode: 20 concurrent collectors share
#     at most 2 server connections.
# Prints TAP.  Runtime 24-28 s on 2 cores.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

itest_require_tools
PGB=$(command -v pgbouncer 2>/dev/null || true)
[ -n "$PGB" ] || [ ! -x /usr/sbin/pgbouncer ] || PGB=/usr/sbin/pgbouncer
[ -n "$PGB" ] || itest_skip "pgbouncer not installed (Debian package pgbouncer; scripts/common.sh hjo_install_deps installs it)"
PGBIN=$(hjo_pgbin)
[ -x "$PGBIN/pg_basebackup" ] || itest_skip "pg_basebackup not found (Debian package postgresql-client)"
command -v psql >/dev/null 2>&1 || itest_skip "psql not found"
[ -x "$top_builddir/collectord/hjo-collectord" ] || itest_bail "hjo-collectord not built"
# pgbouncer refuses to run as root; as root it runs as postgres, like the servers
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

T=$(mktemp -d "${TMPDIR:-/tmp}/hjo-so.XXXXXX") || itest_bail "mktemp failed"
chmod 755 "$T"
mkdir -p "$T/log" "$T/pgb" "$T/nginx" "$T/load"
[ "$(id -u)" -ne 0 ] || chown postgres: "$T/pgb"
API_A=''
API_B=''
NGINX=''
stop_api() { # stop_api PID: SIGTERM to the process group, SIGKILL after 10 s
        [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
        kill -TERM "-$1" 2>/dev/null
        i=0
        while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "-$1" 2>/dev/null || true
}
teardown() {
        rc=$?
        trap - EXIT HUP INT TERM
        [ -z "$NGINX" ] || kill "$NGINX" 2>/dev/null
        stop_api "$API_A"
        stop_api "$API_B"
        [ ! -f "$T/pgb/pgbouncer.pid" ] || kill "$(cat "$T/pgb/pgbouncer.pid")" 2>/dev/null
        hjo_pg_stop "$T/pg2" 2>/dev/null || true
        hjo_pg_stop "$T/pg1" 2>/dev/null || true
        [ -z "$NGINX" ] || wait "$NGINX" 2>/dev/null
        if [ "$rc" -ne 0 ]; then
                hjo_say "test exited with status $rc; logs of this run:"
                for f in "$T"/log/*.log "$T/nginx/error.log" "$T/pgb/pgbouncer.log" \
                        "$T/pg1/postgres.log" "$T/pg2/postgres.log"; do
                        [ -s "$f" ] && hjo_tail_log "$f" 25
                done
        fi
        if [ "${ITEST_KEEP:-0}" = 1 ]; then hjo_say "kept $T"; else rm -rf "$T"; fi
        exit "$rc"
}
trap teardown EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
ts() { date +%s.%N; }
positive() { # positive NUMBER DESCRIPTION: ok when NUMBER > 0
        if [ "${1:-0}" -gt 0 ] 2>/dev/null; then is yes yes "$2"; else is "${1:-none}" "> 0" "$2"; fi
}

# ---- PostgreSQL primary + streaming replica ---------------------------------------------------
unset HJO_CONFIG HJO_SQL_DIR HJO_SOCKET DATABASE_READ_URL
# shellcheck disable=SC2034 # read by hjo_pg_start
HJO_PG_OPTIONS="-c fsync=off -c full_page_writes=off -c max_connections=100 -c wal_level=replica -c max_wal_senders=4 -c max_replication_slots=4 -c hot_standby=on"
p1=$(hjo_free_port) && hjo_pg_start "$T/pg1" "$p1" 2>>"$T/log/setup.log" || itest_bail "primary did not start"
p1=$HJO_PG_PORT_ACTUAL
HJO_PGHOST=$T/pg1 HJO_PGPORT=$p1
export HJO_PGHOST HJO_PGPORT
OWNER="host=$T/pg1 port=$p1 dbname=hjo user=postgres"
DATABASE_URL=$OWNER "$top_builddir/admin/hjo-admin" migrate --sql-dir "$top_srcdir/sql" \
        >>"$T/log/setup.log" 2>&1 || itest_bail "hjo-admin migrate failed"
# least-privilege login roles (docs/security.md); the collector's session settings live on its
# role because PgBouncer cannot pass libpq's `options` (docs/scale-out.md)
sq "CREATE ROLE so_api LOGIN IN ROLE hjo_api;
    CREATE ROLE so_collector LOGIN IN ROLE hjo_collector;
    ALTER ROLE so_collector SET statement_timeout = '5s';
    ALTER ROLE so_collector SET TimeZone = 'UTC';
    ALTER ROLE so_collector SET jit = off;
    SELECT pg_create_physical_replication_slot('so_replica')" >>"$T/log/setup.log" 2>&1 ||
        itest_bail "roles or replication slot"
mkdir -p "$T/pg2"
[ "$(id -u)" -ne 0 ] || chown postgres: "$T/pg2"
as_pg "$PGBIN/pg_basebackup" -h "$T/pg1" -p "$p1" -U postgres -D "$T/pg2/data" -R -S so_replica \
        -X stream -c fast --no-sync >>"$T/log/setup.log" 2>&1 || itest_bail "pg_basebackup failed"
p2=$(hjo_free_port) && hjo_pg_start "$T/pg2" "$p2" 2>>"$T/log/setup.log" || itest_bail "replica did not start"
p2=$HJO_PG_PORT_ACTUAL
rq() { psql -X -q -At -h "$T/pg2" -p "$p2" -U postgres -d hjo -c "$1"; }
i=0
while [ "$(sq "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" != 1 ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
done
is "$(rq "SELECT pg_is_in_recovery()")" t "replica: a hot standby (pg_is_in_recovery)"
is "$(sq "SELECT slot_name, active FROM pg_replication_slots")" "so_replica|t" \
        "replica streams from the primary through its replication slot"
# waits until the replica has replayed everything the primary has written so far
catch_up() {
        lsn=$(sq "SELECT pg_current_wal_lsn()")
        i=0
        while [ "$(rq "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" != t ] && [ $i -lt 100 ]; do
                sleep 0.1
                i=$((i + 1))
        done
}

# ---- PgBouncer, transaction mode, in front of the primary ---------------------------------------
pb=$(hjo_free_port)
sed -e "s|^listen_port = .*|listen_port = $pb|" -e "s|^listen_addr = .*|listen_addr = 127.0.0.1|" \
    -e "s|^hjo = host=.*|hjo = host=$T/pg1 port=$p1 dbname=hjo|" \
    -e "s|^auth_type = .*|auth_type = trust|" -e "s|^auth_file = .*|auth_file = $T/pgb/userlist.txt|" \
    -e "s|^logfile = .*|logfile = $T/pgb/pgbouncer.log|" -e "s|^pidfile = .*|pidfile = $T/pgb/pgbouncer.pid|" \
    -e "s|^unix_socket_dir = .*|unix_socket_dir =|" \
    -e "s|^default_pool_size = .*|default_pool_size = 2|" -e "s|^reserve_pool_size = .*|reserve_pool_size = 0|" \
    -e "s|^max_client_conn = .*|max_client_conn = 200|" -e "s|^stats_users = .*|stats_users =|" \
    "$top_srcdir/deploy/pgbouncer.ini" >"$T/pgb/pgbouncer.ini"
printf '"so_collector" ""\n"postgres" ""\n' >"$T/pgb/userlist.txt"
[ "$(id -u)" -ne 0 ] || chown postgres: "$T/pgb/pgbouncer.ini" "$T/pgb/userlist.txt"
as_pg "$PGB" -d "$T/pgb/pgbouncer.ini" >>"$T/log/setup.log" 2>&1 || itest_bail "pgbouncer did not start"
pgb() { psql -X -q -At -h 127.0.0.1 -p "$pb" -U "$1" -d "$2" -c "$3"; }
i=0
until pgb postgres pgbouncer "SHOW VERSION" >/dev/null 2>&1 || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(pgb postgres pgbouncer "SHOW CONFIG" | awk -F'|' '$1 == "pool_mode" { print $2 }')" transaction \
        "PgBouncer runs in transaction mode (deploy/pgbouncer.ini)"
is "$(pgb so_collector hjo "SHOW statement_timeout; SHOW TimeZone" | tr '\n' ' ')" "5s UTC " \
        "through PgBouncer the collector's role settings apply (statement_timeout, TimeZone)"

# ---- two hjo-api instances on TCP, reads from the replica ---------------------------------------
ING=$(DATABASE_URL=$OWNER "$top_builddir/admin/hjo-admin" token create --name so-ingest --role ingest 2>>"$T/log/setup.log") ||
        itest_bail "token create"
RD=$(DATABASE_URL=$OWNER "$top_builddir/admin/hjo-admin" token create --name so-reader --role reader 2>>"$T/log/setup.log") ||
        itest_bail "token create"
start_api() { # start_api NAME PORT: prints the pid (= process group)
        DATABASE_URL="host=$T/pg1 port=$p1 dbname=hjo user=so_api" \
        DATABASE_READ_URL="host=$T/pg2 port=$p2 dbname=hjo user=so_api" \
        HJO_LISTEN=127.0.0.1:$2 HJO_WORKERS=3 HJO_AUTH=required FCGI_WEB_SERVER_ADDRS=127.0.0.1 \
        SCHEDULER_BACKEND=mock SEED_DEMO=false \
                setsid "$top_builddir/fcgi/hjo-api" >>"$T/log/api-$1.log" 2>&1 </dev/null &
        echo $!
}
pa=$(hjo_free_port)
pbk=$(hjo_free_port)
[ "$pbk" != "$pa" ] || pbk=$(hjo_free_port)
API_A=$(start_api a "$pa")
API_B=$(start_api b "$pbk")
for x in a b; do
        i=0
        until grep -q 'msg="hjo-api started"' "$T/log/api-$x.log" 2>/dev/null || [ $i -ge 100 ]; do
                sleep 0.1
                i=$((i + 1))
        done
done
is "$(grep -c "msg=\"hjo-api started\".*socket=127.0.0.1:$pa read_db=replica" "$T/log/api-a.log")" 1 \
        "hjo-api a listens on TCP 127.0.0.1:$pa (HJO_LISTEN), reads from the replica"
HJO_SOCKET=/x HJO_LISTEN=127.0.0.1:1 "$top_builddir/fcgi/hjo-api" --check-config >/dev/null 2>"$T/log/both.log"
is "$?:$(grep -c 'exclusive' "$T/log/both.log")" 2:1 "HJO_SOCKET and HJO_LISTEN together: configuration error"

# ---- nginx: dev config + nginx/scaleout.conf ----------------------------------------------------
pn=$(hjo_free_port)
hjo_nginx_conf "$top_srcdir" "$T/nginx" "127.0.0.1:$pn" /nonexistent.sock || itest_bail "nginx config"
sed -e "s|192.0.2.11:9000|127.0.0.1:$pa|" -e "s|192.0.2.12:9000|127.0.0.1:$pbk|" \
        "$top_srcdir/nginx/scaleout.conf" >"$T/nginx/upstream.conf"
awk -v inc="$T/nginx/upstream.conf" '
        /^[[:space:]]*upstream hjo_api[[:space:]]*\{/ { skip = 1; print "include " inc ";"; next }
        skip && /^[[:space:]]*\}/ { skip = 0; next }
        !skip { print }' "$T/nginx/nginx.conf" >"$T/nginx/nginx.conf.new" &&
        mv "$T/nginx/nginx.conf.new" "$T/nginx/nginx.conf"
nginx -t -q -p "$T/nginx/" -c "$T/nginx/nginx.conf" 2>>"$T/nginx/error.log"
is "$?" 0 "nginx -t accepts the dev config with nginx/scaleout.conf as its upstream"
nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -g 'daemon off;' >>"$T/nginx/error.log" 2>&1 </dev/null &
NGINX=$!
URL=http://127.0.0.1:$pn
hjo_wait_url "$URL/v1/health" 20 200 2>>"$T/log/setup.log" || itest_bail "nginx -> hjo-api: no 200 on /v1/health"
# both backends answer: round robin reaches each (their health checks ping the primary)
for i in 1 2 3 4; do curl -s -o /dev/null "$URL/v1/health"; done
positive "$(grep -c "ua=\"127.0.0.1:$pa\"" "$T/nginx/access.log")" "round robin reaches backend a"
positive "$(grep -c "ua=\"127.0.0.1:$pbk\"" "$T/nginx/access.log")" "round robin reaches backend b"

# ---- load; hjo-api a is SIGKILLed (process group) mid-load -------------------------------------
/usr/bin/python3 "$top_srcdir/tests/scaleout/scaleout_load.py" "$URL" "$ING" "$RD" 8 6 so "$T/load" \
        >"$T/load/summary" 2>"$T/log/load.log" &
load=$!
sleep 2.5
kill_at=$(ts)
kill -KILL "-$API_A"
wait "$load"
is "$?" 0 "load client ran"
summary=$(cat "$T/load/summary")
hjo_say "load: $summary"
val() { printf '%s\n' "$summary" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
sleep 0.2
is "$(ps -eo pgid= | tr -d ' ' | grep -cx "$API_A")" 0 "hjo-api a: master and every worker are gone"
# hjo-api a comes back on the same port; nginx tries it again once fail_timeout (10 s) has
# passed since its last failure there, and the steps below take longer than that
API_A=$(start_api a2 "$pa")
i=0
until grep -q 'msg="hjo-api started"' "$T/log/api-a2.log" 2>/dev/null || [ $i -ge 100 ]; do
        sleep 0.1
        i=$((i + 1))
done
is "$(val failed)" 0 "no failed request: every one of $(val requests) events answered 200"
is "$(val reads_failed)" 0 "no failed read among $(val reads) (GET /v1/jobs, /v1/jobs/{id}, /metrics)"
before=$(awk -F'\t' -v k="$kill_at" '$1 < k' "$T/load/requests.tsv" | grep -c .)
after=$(awk -F'\t' -v k="$kill_at" '$1 > k + 1' "$T/load/requests.tsv" | grep -c .)
hjo_say "requests answered before the kill: $before, from 1 s after it to the end: $after"
positive "$before" "load before the kill"
positive "$after" "load went on for more than 1 s after the kill"
retried=$(grep -c "ua=\"127.0.0.1:$pa, 127.0.0.1:$pbk\"" "$T/nginx/access.log")
hjo_say "requests nginx retried from a to b: $retried"
# of those, POSTs that were inside a killed worker (a retry needs non_idempotent); timing
# decides how many, so this is reported, not asserted
hjo_say "POSTs in flight in the killed backend, retried: $(grep -E '(prematurely closed|reset by peer).* while reading response header.*request: "POST' "$T/nginx/error.log" | grep -c "127.0.0.1:$pa")"
positive "$retried" "nginx retried requests of the dead backend on the live one (access log: two upstreams)"
# every acknowledged job is on the primary, finished, exactly once
printf 'CREATE TEMP TABLE acked (id text PRIMARY KEY);\n\\copy acked FROM %s\n' "'$T/load/acked.txt'" >"$T/load/check.sql"
printf '%s\n' "SELECT count(*), count(j.id), count(*) FILTER (WHERE j.state = 'completed' AND j.end_time IS NOT NULL AND j.exit_code = 0) FROM acked a LEFT JOIN jobs j ON j.id = a.id;" >>"$T/load/check.sql"
acked=$(val acked)
is "$(psql -X -q -At -h "$T/pg1" -p "$p1" -U postgres -d hjo -f "$T/load/check.sql")" "$acked|$acked|$acked" \
        "no lost event: all $acked acknowledged jobs are on the primary, completed"
is "$(sq "SELECT count(*) FROM jobs WHERE id LIKE 'so-%' AND state <> 'completed'")" 0 \
        "no job left half-done (started acknowledged, finish lost)"
catch_up
is "$(rq "SELECT count(*) FROM jobs WHERE id LIKE 'so-%' AND state = 'completed'")" \
        "$(sq "SELECT count(*) FROM jobs WHERE id LIKE 'so-%' AND state = 'completed'")" \
        "the replica has them all once it has caught up"
is "$(sq "SELECT count(*) > 0 FROM audit_log WHERE principal = 'token:so-ingest'")" t \
        "writes went to the primary under the ingest token's principal"

# ---- reads come from the replica ---------------------------------------------------------------
is "$(rq "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'hjo-api-read' AND usename = 'so_api'")" t \
        "the replica serves hjo-api-read connections"
post_start() { # post_start ID -> status
        curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ING" -H 'Content-Type: application/json' \
                --data "{\"job_id\":\"$1\",\"user\":\"bob\",\"node_list\":[\"n9\"],\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" \
                "$URL/v1/events/job-started"
}
get() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RD" "$URL$1"; }
rq "SELECT pg_wal_replay_pause()" >/dev/null
is "$(post_start so-lag-1)" 200 "replay paused on the replica: a write still succeeds (primary)"
is "$(sq "SELECT state FROM jobs WHERE id = 'so-lag-1'")" running "the primary has the new job"
is "$(get /v1/jobs/so-lag-1):$(get /v1/jobs/so-lag-1):$(get /v1/jobs/so-lag-1)" 404:404:404 \
        "GET /v1/jobs/{id} answers from the replica: the job is not there yet (replica lag)"
is "$(get '/v1/jobs?limit=1'):$(get /metrics)" 200:200 "lists and /metrics work on the paused replica"
rq "SELECT pg_wal_replay_resume()" >/dev/null
catch_up
is "$(get /v1/jobs/so-lag-1)" 200 "after replay resumes the replica has it"

# ---- fallback to the primary while the replica is down -------------------------------------------
hjo_pg_stop "$T/pg2" || itest_bail "cannot stop the replica"
is "$(post_start so-lag-2)" 200 "replica down: writes unaffected"
codes=
for i in 1 2 3 4 5 6; do codes="$codes$(get /v1/jobs/so-lag-2)"; done
is "$codes" 200200200200200200 "replica down: reads fall back to the primary (6 GETs, all 200)"
positive "$(cat "$T/log/api-b.log" "$T/log/api-a2.log" | grep -c 'level=warning .*msg="read replica unavailable, reading from the primary"')" \
        "the fallback is logged (logfmt warning)"
hjo_pg_start "$T/pg2" "$p2" 2>>"$T/log/setup.log" || itest_bail "replica did not restart"
sleep 5.2 # READ_RETRY_MS in fcgi/main.c
for i in 1 2 3 4 5 6 7 8 9; do get /v1/jobs/so-lag-2 >/dev/null; done
is "$(rq "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'hjo-api-read'")" t \
        "replica back: workers reconnect to it"
positive "$(cat "$T/log/api-b.log" "$T/log/api-a2.log" | grep -c 'msg="read replica reachable again, reading from it"')" \
        "the return is logged"

# ---- hjo-collectord through PgBouncer (transaction mode) ---------------------------------------
fx=$T/fx
sh "$top_srcdir/tests/collectord/make_fixtures.sh" "$fx" || itest_bail "fixtures"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ING" -H 'Content-Type: application/json' \
        --data "{\"job_id\":\"slurm-101\",\"user\":\"alice\",\"node_list\":[\"n1\"],\"timestamp\":\"$(date -u -d '-100 sec' +%Y-%m-%dT%H:%M:%SZ)\",\"cpu_allocation\":4,\"cgroup_path\":\"/sys/fs/cgroup/system.slice/slurmstepd.scope/job_101\"}" \
        "$URL/v1/events/job-started")" 200 "job slurm-101 started (collector fixture)"
COLL="host=127.0.0.1 port=$pb dbname=hjo user=so_collector"
DATABASE_URL=$COLL HJO_COLLECTOR_GPU=none "$top_builddir/collectord/hjo-collectord" --once --sink db \
        --cgroup-root "$fx/v2" --node n1 >/dev/null 2>"$T/log/collectord.log"
is "$?" 0 "hjo-collectord --once through PgBouncer exits 0"
is "$(sq "SELECT count(*) FROM metric_samples WHERE job_id = 'slurm-101' AND node = 'n1'")" 1 \
        "its sample is on the primary (hjo_ingest_batch through PgBouncer)"
pids=
for i in $(seq 1 20); do
        DATABASE_URL=$COLL HJO_COLLECTOR_GPU=none "$top_builddir/collectord/hjo-collectord" --once \
                --sink db --cgroup-root "$fx/v2" --node "so-c$i" >/dev/null 2>>"$T/log/collectord.log" &
        pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
is "$bad" 0 "20 concurrent collectors through PgBouncer all exit 0"
is "$(sq "SELECT count(DISTINCT node) FROM node_samples WHERE node LIKE 'so-c%'")" 20 \
        "20 node samples stored"
is "$(sq "SELECT count(*) BETWEEN 1 AND 2 FROM pg_stat_activity WHERE usename = 'so_collector'")" t \
        "they shared at most default_pool_size = 2 server connections"

mark=$(wc -l <"$T/nginx/access.log")
for i in 1 2 3 4 5 6; do curl -s -o /dev/null "$URL/v1/health"; done
positive "$(tail -n +"$((mark + 1))" "$T/nginx/access.log" | grep -c "ua=\"127.0.0.1:$pa\" us=\"200\"")" \
        "the restarted backend a gets traffic again after fail_timeout"

echo "1..$n"
[ "$nfail" -eq 0 ]
