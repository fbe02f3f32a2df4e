#!/usr/bin/env bash
# bench/queries/run.sh: benchmark figure 4 (issue 6), query latency on a big database.
#
#   bench/queries/run.sh        generate (or reuse) the database, measure, print a table
#
# Builds a PostgreSQL database of BENCH_JOBS jobs (default 1,000,000) and about BENCH_SAMPLES
# metric samples (default 100,000,000) with generate_series, not through the API, with the
# real schema (hjo-admin migrate: partitioned sample tables, rollups, summaries).  Jobs started
# over the last 365 days; the jobs of the last 30 days (retention) carry the samples, 10 s
# apart from their start; finished jobs carry summaries; one job, bench-3day, ran 3 days on one
# node with a sample every 10 s.  Rollups are built from the raw rows with one GROUP BY per
# resolution (the ingest triggers are off during the load and back on after it).
#
# Then, through nginx -> hjo-api -> PostgreSQL on loopback (HJO_AUTH=disabled: an isolated
# setup), each query runs BENCH_REQS times sequentially over one keep-alive connection (curl),
# after BENCH_WARMUP unmeasured runs; p50 / p99 of curl's time_total are printed.  Goal: p99 <
# 20 ms.  Then the SQL each query runs is executed under auto_explain (nested statements), and
# the plans are checked: index use, no sequential scan of jobs, samples or rollups.
# The deep pages are measured both ways: offset= (rows read and skipped) and after= with the
# cursor hjo-api would hand out for the row before the page (keyset pagination, sql/0061), at
# row 10000 and at the middle of the jobs (BENCH_JOBS / 2), with count=exact (the default) and
# count=estimate (an exact count of a million jobs alone costs ~60 ms).
#
# Knobs: BENCH_JOBS, BENCH_SAMPLES, BENCH_REQS (200), BENCH_WARMUP (20),
#   BENCH_DIR (/var/tmp/hjo-bench-queries: the PostgreSQL cluster, kept between runs; a run
#   with the same scale reuses it, BENCH_REGEN=1 rebuilds), HJO_BUILD (the build directory with
#   fcgi/hjo-api and admin/hjo-admin; default ./build), BENCH_KEEP_DB=0 removes it at the end.
# The load runs under nice -n 19 (the machine is shared).  Exit status 0, or 1 when a query
# missed the goal or a plan showed a sequential scan of a big table.

set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
JOBS=${BENCH_JOBS:-1000000}
SAMPLES=${BENCH_SAMPLES:-100000000}
REQS=${BENCH_REQS:-200}
WARMUP=${BENCH_WARMUP:-20}
DIR=${BENCH_DIR:-/var/tmp/hjo-bench-queries}
BUILD=${HJO_BUILD:-$SRC/build}
GOAL_MS=20

# shellcheck source=scripts/common.sh
. "$SRC/scripts/common.sh"
# shellcheck disable=SC2034 # read by common.sh
HJO_SAY_PREFIX='bench-queries: '
say() { hjo_say "$*"; }
die() {
        hjo_say "error: $*"
        exit 2
}

if [ ! -x "$BUILD/fcgi/hjo-api" ] || [ ! -x "$BUILD/admin/hjo-admin" ]; then
        die "build first: HJO_BUILD=$BUILD has no fcgi/hjo-api or admin/hjo-admin"
fi
command -v curl >/dev/null || die "curl not found"
pgbin=$(hjo_pgbin) || die "PostgreSQL server binaries not found"

mkdir -p "$DIR"
chmod 755 "$DIR"
PORT=$(hjo_free_port)
# A big-enough cluster for the load; reads then run with these settings too.
HJO_PG_OPTIONS="-c shared_buffers=2GB -c work_mem=64MB -c maintenance_work_mem=1GB"
HJO_PG_OPTIONS="$HJO_PG_OPTIONS -c max_wal_size=4GB -c checkpoint_timeout=30min -c fsync=off"
HJO_PG_OPTIONS="$HJO_PG_OPTIONS -c synchronous_commit=off -c full_page_writes=off -c jit=off"
export HJO_PG_OPTIONS
hjo_pg_start "$DIR/pg" "$PORT" >/dev/null || die "PostgreSQL did not start"
PSQL=("$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR/pg" -p "$PORT" -U postgres)
RUN=$(mktemp -d /tmp/hjo-bq.XXXXXX)
chmod 755 "$RUN"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
        [ -f "$RUN/nginx/nginx.pid" ] && hjo_stop_pidfile "$RUN/nginx/nginx.pid" nginx 10 TERM
        [ -f "$RUN/hjo-api.pid" ] && hjo_stop_pidfile "$RUN/hjo-api.pid" hjo-api 10 TERM
        hjo_pg_stop "$DIR/pg" 2>/dev/null || true
        [ "${BENCH_KEEP_DB:-1}" = 1 ] || rm -rf "$DIR"
        rm -rf "$RUN"
}
trap cleanup EXIT

sql() { "${PSQL[@]}" -d hjo -c "$1"; }

# ---- generation ----------------------------------------------------------------------------
# (with the migrations' checksum: a database generated before a schema change is generated again)
scale="$JOBS jobs, $SAMPLES samples, schema $(cat "$SRC"/sql/0*.sql "$SRC/bench/queries/generate.sql" |
        sha256sum | cut -c1-12)"
if [ "${BENCH_REGEN:-0}" = 1 ] || [ "$(cat "$DIR/scale" 2>/dev/null)" != "$scale" ]; then
        say "generating $scale (nice -n 19)"
        "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS hjo" -c "CREATE DATABASE hjo" >/dev/null
        DATABASE_URL="host=$DIR/pg port=$PORT dbname=hjo user=postgres" \
                "$BUILD/admin/hjo-admin" migrate --sql-dir "$SRC/sql" >"$RUN/migrate.log" 2>&1 ||
                die "migrate failed: $(tail -n 3 "$RUN/migrate.log")"
        t0=$(date +%s)
        nice -n 19 "${PSQL[@]}" -d hjo -v jobs="$JOBS" -v samples="$SAMPLES" \
                -f "$SRC/bench/queries/generate.sql" >"$RUN/generate.log" 2>&1 ||
                die "generation failed: $(tail -n 5 "$RUN/generate.log")"
        echo "$scale" >"$DIR/scale"
        say "generated in $(($(date +%s) - t0)) s"
else
        say "reusing the database in $DIR ($scale)"
fi
facts=$(sql "SELECT (SELECT count(*) FROM jobs) || ' jobs, ' ||
                    (SELECT count(*) FROM metric_samples) || ' samples, ' ||
                    (SELECT count(*) FROM metric_rollup_1m) || ' 1m rollups, ' ||
                    pg_size_pretty(pg_database_size('hjo'))")
say "database: $facts"

# ---- the stack -----------------------------------------------------------------------------
unset HJO_CONFIG
DATABASE_URL="host=$DIR/pg port=$PORT dbname=hjo user=postgres" HJO_AUTH=disabled \
        HJO_WORKERS=4 HJO_LOG_LEVEL=warning \
        hjo_api_start "$BUILD/fcgi/hjo-api" "$RUN/hjo-api.sock" "$RUN/hjo-api.pid" \
        "$RUN/hjo-api.log" || die "hjo-api did not start"
NPORT=$(hjo_free_port)
mkdir -p "$RUN/nginx"
hjo_nginx_start "$SRC" "$RUN/nginx" "127.0.0.1:$NPORT" "$RUN/hjo-api.sock" >/dev/null ||
        die "nginx did not start"
URL=http://127.0.0.1:$NPORT
hjo_wait_url "$URL/v1/health" 30 200 || die "no /v1/health"

# Parameters taken from the data, so that each filter matches something.
user=$(sql "SELECT user_name FROM jobs WHERE id = 'bench-500'")
node=$(sql "SELECT nodes[1] FROM jobs WHERE id = 'bench-500'")
account=$(sql "SELECT account FROM jobs WHERE id = 'bench-500'")
since=$(sql "SELECT to_char(now() - interval '7 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
until=$(sql "SELECT to_char(now() - interval '6 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
deep=$((JOBS / 10))
[ "$deep" -le 10000000 ] || deep=10000000
half=$((JOBS / 2))

# name|path|SQL run by hjo-api for it (for EXPLAIN)
queries=(
        "list, no filter|/v1/jobs|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "state=running|/v1/jobs?state=running|SELECT hjo_jobs_list('running',NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "user=|/v1/jobs?user=$user|SELECT hjo_jobs_list(NULL,'$user',NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "node=|/v1/jobs?node=$node|SELECT hjo_jobs_list(NULL,NULL,'$node',NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "account=|/v1/jobs?account=$account|SELECT hjo_jobs_list(NULL,NULL,NULL,'$account',NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "partition=gpu|/v1/jobs?partition=gpu|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,'gpu',NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "since+until (1 day)|/v1/jobs?since=$since&until=$until|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,'$since','$until',100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "cpu_efficiency_lt=0.2|/v1/jobs?cpu_efficiency_lt=0.2|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,0.2,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "cpu_efficiency_gt=0.9|/v1/jobs?cpu_efficiency_gt=0.9|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,0.9,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "memory_peak_ratio_gt=1|/v1/jobs?memory_peak_ratio_gt=1|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "gpu_mean_utilization_lt=20|/v1/jobs?gpu_mean_utilization_lt=20|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,20,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "idle_gpu_hours_lt=1|/v1/jobs?idle_gpu_hours_lt=1|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,1,NULL,NULL,NULL,NULL,NULL)"
        "state=completed&partition=gpu|/v1/jobs?state=completed&partition=gpu|SELECT hjo_jobs_list('completed',NULL,NULL,NULL,'gpu',NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "memory_peak_ratio 0.5-0.9|/v1/jobs?memory_peak_ratio_gt=0.5&memory_peak_ratio_lt=0.9|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,0.9,0.5,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "cpu_eff_lt=0.2053 (off edge), state|/v1/jobs?cpu_efficiency_lt=0.2053&state=completed|SELECT hjo_jobs_list('completed',NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,0.2053,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "sort=-cpu_efficiency|/v1/jobs?sort=-cpu_efficiency|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,'-cpu_efficiency',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "idle_gpu_hours_gt=10, sort|/v1/jobs?idle_gpu_hours_gt=10&sort=-idle_gpu_hours|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,'-idle_gpu_hours',NULL,NULL,NULL,NULL,NULL,NULL,NULL,10,NULL,NULL,NULL,NULL)"
        "deep page offset=10000|/v1/jobs?offset=10000|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,10000,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "deep page offset=$deep|/v1/jobs?offset=$deep|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,$deep,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "user= deep page offset=500|/v1/jobs?user=$user&offset=500|SELECT hjo_jobs_list(NULL,'$user',NULL,NULL,NULL,NULL,NULL,100,500,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        "3-day job metrics (auto)|/v1/jobs/bench-3day/metrics|SELECT * FROM hjo_samples_rows('bench-3day',NULL,NULL,NULL,1000,NULL)"
        "3-day job metrics resolution=1m|/v1/jobs/bench-3day/metrics?resolution=1m|SELECT * FROM hjo_samples_rows('bench-3day',NULL,NULL,NULL,1000,'1m')"
        "3-day job metrics resolution=1h|/v1/jobs/bench-3day/metrics?resolution=1h|SELECT * FROM hjo_samples_rows('bench-3day',NULL,NULL,NULL,1000,'1h')"
        "3-day job metrics resolution=raw|/v1/jobs/bench-3day/metrics?resolution=raw|SELECT * FROM hjo_samples_rows('bench-3day',NULL,NULL,NULL,1000,'raw')"
        "3-day job, last hour raw|/v1/jobs/bench-3day/metrics?start_time=$(sql "SELECT to_char(end_time - interval '1 hour', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM jobs WHERE id = 'bench-3day'")|SELECT * FROM hjo_samples_rows('bench-3day',(SELECT end_time - interval '1 hour' FROM jobs WHERE id = 'bench-3day'),NULL,NULL,1000,NULL)"
        "3-day node metrics (auto)|/v1/nodes/cn9999/metrics|SELECT * FROM hjo_node_samples_rows('cn9999',NULL,NULL,1000,NULL)"
        "3-day node metrics resolution=1m|/v1/nodes/cn9999/metrics?resolution=1m|SELECT * FROM hjo_node_samples_rows('cn9999',NULL,NULL,1000,'1m')"
        "3-day node metrics resolution=raw|/v1/nodes/cn9999/metrics?resolution=raw|SELECT * FROM hjo_node_samples_rows('cn9999',NULL,NULL,1000,'raw')"
        "one job|/v1/jobs/bench-500|SELECT hjo_job_get('bench-500')"
        "list, count=estimate|/v1/jobs?count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "partition=gpu, count=estimate|/v1/jobs?partition=gpu&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,'gpu',NULL,NULL,100,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "cpu_efficiency_lt=0.2, estimate|/v1/jobs?cpu_efficiency_lt=0.2&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,NULL,0.2,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "sort=-cpu_efficiency, estimate|/v1/jobs?sort=-cpu_efficiency&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,0,'-cpu_efficiency',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "offset=10000, count=estimate|/v1/jobs?offset=10000&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,10000,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "offset=$half, count=estimate|/v1/jobs?offset=$half&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,$half,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
        "offset=$deep, count=estimate|/v1/jobs?offset=$deep&count=estimate|SELECT hjo_jobs_list(NULL,NULL,NULL,NULL,NULL,NULL,NULL,100,$deep,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'estimate',NULL,NULL,NULL)"
)

# Keyset pagination (after=, sql/0061_keyset.sql): the page after row N through the cursor of
# row N, as hjo-api hands it out in next_cursor.  at_row SORT N [WHERE]: "cursor|key|id" of
# row N (1-based) of the listing (key: the sort key value as an SQL literal, id).
at_row() {
        local key=${1#-} order
        case $1 in
        -start_time) order="start_time DESC NULLS LAST, id DESC" ;;
        start_time) order="start_time ASC NULLS FIRST, id ASC" ;;
        -*) order="$key DESC, id DESC" ;;
        *) order="$key ASC, id ASC" ;;
        esac
        if [ "$key" = start_time ]; then
                sql "SELECT hjo_jobs_cursor('$1', start_time, NULL, id) || '|' ||
                            coalesce(quote_literal(start_time), 'NULL') || '|' || id
                     FROM jobs WHERE ${3:-true} ORDER BY $order OFFSET $(($2 - 1)) LIMIT 1"
        else
                sql "SELECT hjo_jobs_cursor('$1', NULL, $key, id) || '|' || $key || '|' || id
                     FROM jobs WHERE $key IS NOT NULL AND ${3:-true} ORDER BY $order
                     OFFSET $(($2 - 1)) LIMIT 1"
        fi
}
# cursor_query NAME SORT N COUNT [USER]: a row of the table for the page after row N
cursor_query() {
        local c cur key id sortp="" sorts=NULL userp="" users=NULL where=true
        if [ "$2" != -start_time ]; then
                sortp="&sort=$2"
                sorts="'$2'"
        fi
        if [ -n "${5:-}" ]; then
                userp="&user=$5"
                users="'$5'"
                where="user_name = '$5'"
        fi
        [ "$3" -ge 1 ] || return 0
        c=$(at_row "$2" "$3" "$where")
        [ -n "$c" ] || return 0 # fewer rows than that at this scale
        IFS='|' read -r cur key id <<<"$c"
        if [ "${2#-}" = start_time ]; then
                key="$key,NULL"
        else
                key="NULL,$key"
        fi
        queries+=("$1|/v1/jobs?after=$cur$sortp$userp&count=$4|SELECT hjo_jobs_list(NULL,$users,NULL,NULL,NULL,NULL,NULL,100,0,$sorts,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'$4',$key,'$id')")
}
n_eff=$(sql "SELECT count(*) FROM jobs WHERE cpu_efficiency IS NOT NULL")
n_user=$(sql "SELECT least(500, count(*) / 2) FROM jobs WHERE user_name = '$user'")
cursor_query "cursor after row 10000" -start_time 10000 exact
cursor_query "cursor after row $half" -start_time "$half" exact
cursor_query "cursor after row 10000, estimate" -start_time 10000 estimate
cursor_query "cursor after row $half, estimate" -start_time "$half" estimate
cursor_query "sort=start_time cursor $half, est." start_time "$half" estimate
cursor_query "-cpu_efficiency cursor $((n_eff / 2)), est." -cpu_efficiency $((n_eff / 2)) estimate
cursor_query "user= cursor after row $n_user" -start_time "$n_user" exact "$user"

pct() { # pct P: the P-th percentile (nearest rank) of the sorted numbers on stdin
        awk -v p="$1" '{ a[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i] }'
}

fail=0
printf '\n%-36s %8s %8s %8s %6s  %s\n' "query" "p50 ms" "p99 ms" "max ms" "status" "plan"
printf '%s\n' "------------------------------------------------------------------------------------------------"
for q in "${queries[@]}"; do
        IFS='|' read -r name path qsql <<<"$q"
        args=()
        for _ in $(seq "$WARMUP"); do args+=(-o /dev/null "$URL$path"); done
        curl -s "${args[@]}"
        args=()
        for _ in $(seq "$REQS"); do args+=(-o /dev/null -w '%{http_code} %{time_total}\n' "$URL$path"); done
        curl -s "${args[@]}" >"$RUN/t.txt"
        codes=$(awk '{ print $1 }' "$RUN/t.txt" | sort -u | tr '\n' ' ')
        awk '{ printf "%.3f\n", $2 * 1000 }' "$RUN/t.txt" | sort -n >"$RUN/ms.txt"
        p50=$(pct 50 <"$RUN/ms.txt")
        p99=$(pct 99 <"$RUN/ms.txt")
        max=$(tail -n 1 "$RUN/ms.txt")
        # the plans of every statement the function runs (auto_explain, nested statements)
        "${PSQL[@]}" -d hjo -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
                -c "SET auto_explain.log_nested_statements = on" -c "SET client_min_messages = log" \
                -c "SET auto_explain.log_format = text" -c "$qsql" >/dev/null 2>"$RUN/plan.txt" || true
        # count=estimate's EXPLAIN is planned, never executed: its plan is not the query's
        awk '/Query Text: EXPLAIN/ { skip = 1; next } /Query Text:/ { skip = 0 } !skip' \
                "$RUN/plan.txt" >"$RUN/plan2.txt"
        mv "$RUN/plan2.txt" "$RUN/plan.txt"
        # a sequential scan of a big table (over 1000 pages: jobs, a sample or rollup partition)
        seqs=""
        for rel in $(grep -oE 'Seq Scan on [a-z0-9_]+' "$RUN/plan.txt" | awk '{ print $4 }' | sort -u); do
                [ "$(sql "SELECT relpages > 1000 FROM pg_class WHERE relname = '$rel'")" = t ] &&
                        seqs="$seqs$rel "
        done
        idx=$(grep -oE '(Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)? (using|on) [a-z0-9_]+' \
                "$RUN/plan.txt" | sed -E 's/.* (using|on) //' | sort -u | head -n 4 | tr '\n' ',' || true)
        plan="index: ${idx%,}"
        [ -z "$seqs" ] || plan="SEQ SCAN: $seqs"
        status=ok
        if [ "$codes" != "200 " ]; then
                status="HTTP $codes"
                fail=1
        elif awk -v a="$p99" -v g="$GOAL_MS" 'BEGIN { exit !(a >= g) }'; then
                status=SLOW
                fail=1
        fi
        [ -z "$seqs" ] || fail=1
        printf '%-36s %8s %8s %8s %6s  %s\n' "$name" "$p50" "$p99" "$max" "$status" "$plan"
        {
                echo "== $name: $path"
                grep -vE '^\s*$' "$RUN/plan.txt" | sed -n '1,60p'
        } >>"$DIR/plans.txt"
done
echo
say "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), PostgreSQL $("$pgbin/postgres" --version | awk '{ print $3 }')"
say "scale: $facts; $REQS sequential requests per query over one connection after $WARMUP warm-up; goal p99 < $GOAL_MS ms"
say "plans: $DIR/plans.txt"
exit $fail
