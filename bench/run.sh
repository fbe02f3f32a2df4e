#!/usr/bin/env bash
# bench/run.sh: hjo's benchmarks against the ceiling of its own stack (issue 6, "Benchmarks").
#
#   bench/run.sh            build, run everything, print the table, put it in docs/performance.md
#
# What it measures, each beside its ceiling in the same run (the machine varies 10-20 % from
# one run to the next, see ../shared/docs/stack-ceilings.md, so only the ratios compare):
#   1. Event ingest: POST /v1/events/job-started + job-finished pairs through nginx -> hjo-api
#      -> PostgreSQL with synchronous_commit on (the server's default; none of the tests'
#      fsync=off options).  wrk -t2 -c64 -d10s --latency with bench/ingest.lua.  Ceiling:
#      bench/ceiling_fcgi.c, one prepared INSERT per request, the same number of prefork
#      processes, behind the same nginx (location /ceiling/ with the same limit_req, buffers and
#      no upstream keepalive).  Runs alternate hjo, ceiling, hjo, ...; medians are reported.
#   2. Sample ingest: POST /v1/samples bodies (bench/samples.lua: one per node and interval, as
#      hjo-collectord's api sink sends them) -> hjo_ingest_batch.  Ceilings: COPY and 1000-row
#      multi-row INSERTs of the same kind of rows into the same table, after each hjo run.
#   3. GET /metrics with 1,000 / 10,000 / 100,000 running jobs (generated with SQL, 1-4 nodes
#      each, one metric_samples row per job node; the GPU cases add 4 gpu_samples rows per job):
#      generation time (median of sequential curl requests), bytes, worker RSS.  Ceiling: the
#      same bytes served by the same nginx as a static file.
#   4. bench/queries/run.sh (storage) when it is there, at a small scale (10,000 jobs).
#   5. bench/collectord/run.sh (collectord), with the build's hjo-collectord.
#   6. Memory: VmRSS/VmHWM of hjo-api's and nginx's workers after each load.
#
# Everything runs in a temp dir under /tmp (PostgreSQL, hjo-api, the ceiling, nginx on a free
# loopback port) and is torn down on exit.  hjo is built out of tree in bench/.build/hjo.
#
# Knobs (environment): BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_CONNS (64), BENCH_THREADS (2),
# BENCH_WORKERS (8: hjo-api workers = ceiling processes), BENCH_SCRAPES (10),
# BENCH_METRICS_CACHE_SECONDS (10: HJO_METRICS_CACHE_SECONDS of figure 3's cached rows),
# BENCH_METRICS_CASES ("1000:0 1000:1 10000:0 10000:1 100000:1": jobs:with-GPUs),
# BENCH_SAMPLE_NODES (64), BENCH_SAMPLE_PER_NODE (64), BENCH_SAMPLE_ROWS (200000),
# BENCH_QUERIES_JOBS (10000), BENCH_QUERIES_SAMPLES (1000000), BENCH_QUERIES_REQS (200),
# BENCH_HJO_BUILD=DIR (use that build, do not build),
# BENCH_STATEMENT_TIMEOUT_MS (30000: hjo-api's HJO_STATEMENT_TIMEOUT_MS),
# BENCH_EVENT_BATCH_MAX (32: hjo-api's HJO_EVENT_BATCH_MAX; 1 applies each event alone),
# BENCH_KEEP=1 keeps the temp dir, BENCH_NO_DOCS=1 leaves docs/performance.md alone,
# BENCH_SKIP_INGEST=1, BENCH_SKIP_SAMPLES=1, BENCH_SKIP_METRICS=1, BENCH_SKIP_QUERIES=1,
# BENCH_SKIP_COLLECTORD=1, BENCH_PGSS=1.
# Exit status: 0, or 1 when a run had errors (the table flags them).

set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$SRC/bench
BUILD=${BENCH_BUILD_DIR:-$BENCH/.build}
RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-8}
SCRAPES=${BENCH_SCRAPES:-10}
METRICS_CACHE_SECONDS=${BENCH_METRICS_CACHE_SECONDS:-10}
# N:G = N running jobs, G = 1 with 4 GPUs each
METRICS_CASES=${BENCH_METRICS_CASES:-"1000:0 1000:1 10000:0 10000:1 100000:1"}

# shellcheck source-path=SCRIPTDIR
# shellcheck source=../scripts/common.sh
. "$SRC/scripts/common.sh"
HJO_SAY_PREFIX='bench: '

say() { hjo_say "$*"; }
die() {
        hjo_say "error: $*"
        exit 2
}

# ---- machine facts ----------------------------------------------------------------------

pgbin=$(hjo_pgbin) || die "PostgreSQL server binaries not found"

fact_nproc=$(nproc)
fact_cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
fact_kernel="$(uname -r) $(uname -m)"
fact_os="Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
fact_mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fact_nginx=$(nginx -v 2>&1 | sed 's|^nginx version: nginx/||')
fact_pg=$("$pgbin/postgres" --version | awk '{ print $3 }')
fact_wrk=$(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }' || true)
fact_fcgi=$(dpkg-query -W -f='${Version}' libfcgi-dev 2>/dev/null || echo '?')
fact_gcc=$(gcc -dumpfullversion 2>/dev/null || echo '?')
fact_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fact_commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        fact_commit="$fact_commit (+ uncommitted changes)"
fi

echo "== machine"
printf '  %-10s %s\n' date "$fact_date" commit "$fact_commit" nproc "$fact_nproc" cpu "$fact_cpu" \
        memory "$fact_mem" kernel "$fact_kernel" os "$fact_os" nginx "$fact_nginx" \
        postgresql "$fact_pg" wrk "$fact_wrk" libfcgi "$fact_fcgi" gcc "$fact_gcc"
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
echo "  load avg   $load_before (before the run)"

# ---- build ------------------------------------------------------------------------------

hjo_install_deps || die "missing packages"
command -v wrk >/dev/null 2>&1 || die "wrk not found"
# BENCH_HJO_BUILD=DIR: use the hjo-api and hjo-admin of an existing build instead of building.
HJO_BUILD=${BENCH_HJO_BUILD:-$BUILD/hjo}
if [ -z "${BENCH_HJO_BUILD:-}" ]; then
        say "building hjo in $HJO_BUILD"
        hjo_build "$SRC" "$HJO_BUILD" || die "hjo build failed"
fi
HJO_API_BIN=$HJO_BUILD/fcgi/hjo-api
HJO_ADMIN_BIN=$HJO_BUILD/admin/hjo-admin
[ -x "$HJO_API_BIN" ] && [ -x "$HJO_ADMIN_BIN" ] || die "no hjo-api/hjo-admin in $HJO_BUILD"
CEILING_BIN=$BUILD/ceiling_fcgi
mkdir -p "$BUILD"
if hjo_newer "$BENCH/ceiling_fcgi.c" "$CEILING_BIN"; then
        say "building $CEILING_BIN"
        # shellcheck disable=SC2046 # pkg-config prints several words
        gcc -O2 -Wall -Wextra -o "$CEILING_BIN" "$BENCH/ceiling_fcgi.c" \
                $(pkg-config --cflags --libs libpq) -lfcgi || die "ceiling_fcgi build failed"
fi

# ---- stack ------------------------------------------------------------------------------

TMP=$(mktemp -d /tmp/hjo-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/log" "$TMP/run" "$TMP/nginx/static" "$TMP/out"

# shellcheck disable=SC2317 # called by the EXIT trap
teardown() {
        local rc=$?
        trap - EXIT INT TERM HUP
        set +e
        hjo_stop_pidfile "$TMP/nginx/nginx.pid" nginx 10 >/dev/null 2>&1
        hjo_stop_pidfile "$TMP/run/hjo-api.pid" hjo-api 10 >/dev/null 2>&1
        hjo_stop_pidfile "$TMP/run/ceiling.pid" ceiling_fcgi 10 >/dev/null 2>&1
        hjo_pg_stop "$TMP/pg" >/dev/null 2>&1
        if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -eq 2 ]; then
                hjo_say "kept $TMP (logs in $TMP/log, $TMP/nginx/error.log, $TMP/pg/postgres.log)"
        else
                rm -rf "$TMP"
        fi
        exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# PostgreSQL as it ships: fsync, synchronous_commit and full_page_writes on.  BENCH_PGSS=1 loads
# pg_stat_statements and prints hjo's top statements after the ingest runs (it costs a little).
HJO_PG_OPTIONS=
if [ "${BENCH_PGSS:-0}" = 1 ]; then
        HJO_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
fi
pgport=$(hjo_free_port)
hjo_pg_start "$TMP/pg" "$pgport" 2>>"$TMP/log/setup.log" || die "PostgreSQL did not start"
PGHOST=$TMP/pg
PGPORT=$HJO_PG_PORT_ACTUAL
PGUSER=postgres
export PGHOST PGPORT PGUSER
psql_hjo() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -d hjo "$@"; }
pg_settings=$(psql_hjo -tA -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_sync_method')")
case " $pg_settings " in
*" fsync=on "*" synchronous_commit=on "*) ;;
*) die "PostgreSQL is not durable: $pg_settings" ;;
esac

unset HJO_CONFIG HJO_SQL_DIR
DATABASE_URL="host=$PGHOST port=$PGPORT dbname=hjo user=postgres"
SCHEDULER_BACKEND=mock
SEED_DEMO=false
HJO_WORKERS=$WORKERS
HJO_SOCKET_MODE=0666
# The /metrics statements of 100,000 jobs with GPUs run for seconds while the page streams
# (docs/operations.md): above the 5 s default on a busy 2-core machine.
HJO_STATEMENT_TIMEOUT_MS=${BENCH_STATEMENT_TIMEOUT_MS:-30000}
# job events applied together (fcgi/evbatch.c); 1 = each alone
HJO_EVENT_BATCH_MAX=${BENCH_EVENT_BATCH_MAX:-32}
export DATABASE_URL SCHEDULER_BACKEND SEED_DEMO HJO_WORKERS HJO_SOCKET_MODE HJO_STATEMENT_TIMEOUT_MS
export HJO_EVENT_BATCH_MAX
"$HJO_ADMIN_BIN" migrate --sql-dir "$SRC/sql" >>"$TMP/log/hjo-admin.log" 2>&1 ||
        { hjo_tail_log "$TMP/log/hjo-admin.log"; die "hjo-admin migrate failed"; }

# The benchmarks go through authentication as a site runs it (HJO_AUTH=required): an ingest
# token for the events and samples, a reader token for /metrics (cached per worker, fcgi/auth.c).
BENCH_TOKEN=$("$HJO_ADMIN_BIN" token create --name bench-ingest --role ingest 2>>"$TMP/log/hjo-admin.log") ||
        die "hjo-admin token create failed"
READ_TOKEN=$("$HJO_ADMIN_BIN" token create --name bench-reader --role reader 2>>"$TMP/log/hjo-admin.log") ||
        die "hjo-admin token create failed"
export BENCH_TOKEN
AUTH_READ="Authorization: Bearer $READ_TOKEN"

"$pgbin/createdb" ceiling
if [ "${BENCH_PGSS:-0}" = 1 ]; then
        psql_hjo -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi
"$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -d ceiling -c "CREATE TABLE bench_ceiling (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, job_id text NOT NULL,
        event text NOT NULL, ts timestamptz NOT NULL DEFAULT now(), body text NOT NULL)"

hjo_api_start "$HJO_API_BIN" "$TMP/run/hjo-api.sock" "$TMP/run/hjo-api.pid" "$TMP/log/hjo-api.log" ||
        die "hjo-api did not start"

nohup setsid "$CEILING_BIN" "$TMP/run/ceiling.sock" "$WORKERS" \
        "host=$PGHOST port=$PGPORT dbname=ceiling user=postgres" \
        >>"$TMP/log/ceiling.log" 2>&1 </dev/null &
echo $! >"$TMP/run/ceiling.pid"
hjo_wait_path "$TMP/run/ceiling.sock" 10 "$(cat "$TMP/run/ceiling.pid")" || die "ceiling_fcgi did not start"

# nginx: the dev config (nginx/dev.conf.in, via hjo_nginx_conf) plus bench/nginx-bench.conf.in
# included in its server block, before nginx/errors.conf.
nginx_prefix=$TMP/nginx
nginx_port=$(hjo_free_port)
BASE=http://127.0.0.1:$nginx_port
hjo_nginx_conf "$SRC" "$nginx_prefix" "127.0.0.1:$nginx_port" "$TMP/run/hjo-api.sock" || die "nginx config"
sed -e "s|@PREFIX@|$(hjo_sed_escape "$nginx_prefix")|g" \
        -e "s|@CEILING_SOCKET@|$(hjo_sed_escape "$TMP/run/ceiling.sock")|g" \
        "$BENCH/nginx-bench.conf.in" >"$nginx_prefix/bench.conf"
grep -q 'nginx/errors.conf;' "$nginx_prefix/nginx.conf" || die "no errors.conf include in the dev config"
sed -i "s|^\([[:space:]]*\)\(include .*nginx/errors.conf;\)|\1include $(hjo_sed_escape "$nginx_prefix")/bench.conf;\n\1\2|" \
        "$nginx_prefix/nginx.conf"
nginx -t -q -p "$nginx_prefix/" -c "$nginx_prefix/nginx.conf" 2>>"$nginx_prefix/error.log" ||
        { hjo_tail_log "$nginx_prefix/error.log"; die "nginx -t failed"; }
nginx -p "$nginx_prefix/" -c "$nginx_prefix/nginx.conf" -g 'daemon off;' \
        >>"$nginx_prefix/error.log" 2>&1 </dev/null &
hjo_wait_path "$nginx_prefix/nginx.pid" 10 $! || die "nginx did not start"
hjo_wait_url "$BASE/v1/health" 30 200 || die "hjo-api does not answer through nginx"

for ev in job-started job-finished; do
        code=$(curl -s -o "$TMP/out/probe" -w '%{http_code}' -H 'Content-Type: application/json' \
                --data '{"job_id":"probe-1","user":"bench","node_list":["cn1"],"timestamp":"2024-01-01T00:00:00Z","exit_code":0}' \
                "$BASE/ceiling/$ev")
        [ "$code" = 200 ] || die "ceiling /ceiling/$ev answered $code: $(cat "$TMP/out/probe")"
done
code=$(curl -s -o "$TMP/out/probe" -w '%{http_code}' -H "$AUTH_READ" "$BASE/metrics")
[ "$code" = 200 ] || die "hjo /metrics answered $code: $(head -c 300 "$TMP/out/probe")"
code=$(curl -s -o "$TMP/out/probe" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $BENCH_TOKEN" "$BASE/v1/events/job-started" \
        --data '{"job_id":"probe-1","user":"bench","node_list":["cn1"],"timestamp":"2024-01-01T00:00:00Z"}')
case $code in 2??) ;; *) die "hjo /v1/events/job-started answered $code: $(cat "$TMP/out/probe")" ;; esac
echo "  postgres   $pg_settings"
echo "  stack      nginx 127.0.0.1:$nginx_port, hjo-api $WORKERS workers, ceiling_fcgi $WORKERS processes, temp dir $TMP"

# ---- helpers ----------------------------------------------------------------------------

# lines LIST: the words of LIST, one a line.
lines() { tr ' ' '\n' <<<"$1" | sed '/^$/d'; }

# median: the median of the numbers on stdin (mean of the two middle ones for an even count).
median() {
        sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "nan"; exit }
                if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
                else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field KEY LINE: the value of KEY=value in a BENCH line.
field() {
        printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# CPU ticks per process name (all processes), and the machine's busy/idle ticks.
cpu_snapshot() {
        # Only this run's processes: the machine is shared, and other users' postgres, nginx
        # and hjo-api processes have the same names.  Roots: the postmaster, nginx's master,
        # hjo-api's master, the ceiling's parent; with their children.  The postmaster's
        # cutime/cstime count the backends that exited (psql sessions of this script).
        local root p pids=""
        for root in "$(head -n 1 "$TMP/pg/data/postmaster.pid" 2>/dev/null)" \
                "$(cat "$nginx_prefix/nginx.pid" 2>/dev/null)" "$(cat "$TMP/run/hjo-api.pid" 2>/dev/null)" \
                "$(cat "$TMP/run/ceiling.pid" 2>/dev/null)"; do
                [ -n "$root" ] || continue
                pids="$pids $root $(ps -o pid= --ppid "$root" | tr '\n' ' ')"
        done
        for p in $pids; do
                cat "/proc/$p/stat" 2>/dev/null || true
        done | awk -v pm="$(head -n 1 "$TMP/pg/data/postmaster.pid" 2>/dev/null)" '{
                i = index($0, " ("); j = 0
                for (k = length($0); k > i; k--) if (substr($0, k, 2) == ") ") { j = k; break }
                if (!i || !j) next
                name = substr($0, i + 2, j - i - 2)
                n = split(substr($0, j + 2), a, " ")
                t[name] += a[12] + a[13]
                if ($1 == pm) t[name] += a[14] + a[15] }
                END { for (n in t) print "proc", n, t[n] }'
        awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print "total busy", busy; print "total idle", $5 + $6 }' /proc/stat
}

# cpu_share BEFORE AFTER WRK_SECONDS SECONDS APP: "wrk nginx app postgres other idle" in % of
# one core (wrk from bash's `time`; "other" = the machine's busy time minus the named ones).
cpu_share() {
        awk -v wrk_s="$3" -v secs="$4" -v app="$5" -v hz="$(getconf CLK_TCK)" '
                FNR == NR { b[$1 " " $2] = $3; next }
                { d = $3 - b[$1 " " $2]; if (d < 0) d = 0; a[$1 " " $2] = d }
                END {
                        ng = a["proc nginx"]; ap = a["proc " app]; pg = a["proc postgres"]
                        busy = a["total busy"]; idle = a["total idle"]
                        wk = wrk_s * hz
                        other = busy - ng - ap - pg - wk; if (other < 0) other = 0
                        f = 100 / (secs * hz)
                        printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", wk * f, ng * f, ap * f, pg * f, other * f, idle * f
                }' "$1" "$2"
}

# worker_hwm: the largest VmHWM (peak RSS, kB) among hjo-api's workers so far, those of the
# hjo-api processes that api_restart stopped included.
hwm_prev=0
worker_hwm() {
        local p
        {
                echo "$hwm_prev"
                for p in $(ps -o pid= --ppid "$(cat "$TMP/run/hjo-api.pid")"); do
                        awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true
                done
        } | sort -n | tail -n 1
}

# api_restart CACHE_SECONDS: hjo-api again, with HJO_METRICS_CACHE_SECONDS=CACHE_SECONDS (0 =
# the cache off, as for every other figure).
api_restart() {
        hwm_prev=$(worker_hwm)
        hjo_stop_pidfile "$TMP/run/hjo-api.pid" hjo-api 15 || die "hjo-api did not stop"
        # the previous row's page would be served as fresh for its remaining seconds
        rm -f "$(hjo_metrics_cache_dir "$TMP/run/hjo-api.sock")/metrics.prom"
        HJO_METRICS_CACHE_SECONDS=$1 hjo_api_start "$HJO_API_BIN" "$TMP/run/hjo-api.sock" \
                "$TMP/run/hjo-api.pid" "$TMP/log/hjo-api.log" || die "hjo-api did not restart"
        hjo_wait_url "$BASE/v1/health" 30 200 || die "hjo-api does not answer after a restart"
}

# proc_mem PID...: "N processes, VmRSS max A kB (sum B kB), VmHWM max C kB" (figure 6).
proc_mem() {
        local p
        for p in "$@"; do
                awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' \
                        "/proc/$p/status" 2>/dev/null || true
        done | awk '{ n++; s += $1; if ($1 > r) r = $1; if ($2 > h) h = $2 }
                END { printf "%d processes, VmRSS max %d kB (sum %d kB), VmHWM max %d kB\n", n, r, s, h }'
}
# shellcheck disable=SC2046 # one pid a word
worker_mem() { proc_mem $(ps -o pid= --ppid "$(cat "$TMP/run/hjo-api.pid")"); }
# shellcheck disable=SC2046
nginx_mem() { proc_mem $(ps -o pid= --ppid "$(cat "$nginx_prefix/nginx.pid")"); }

# mem_note LABEL: records the memory of hjo-api's workers and nginx's workers after a load.
mem_rows=()
mem_note() {
        mem_rows+=("$1|$(worker_mem)|$(nginx_mem)")
        echo "  memory after $1: hjo-api workers: $(worker_mem); nginx workers: $(nginx_mem)"
}

# ---- 1. event ingest --------------------------------------------------------------------

ingest_errors=0
declare -A rps_runs p50_runs p99_runs cpu_runs err_runs done_runs wal_runs

# ingest_run TARGET RUNTAG DURATION: one wrk run; appends to the per-target lists.
ingest_run() {
        local target=$1 tag=$2 dur=$3 prefix app out tf line wrk_s t0 t1 secs lsn0 lsn1
        case $target in
        hjo) prefix=/v1/events app=hjo-api ;;
        ceiling) prefix=/ceiling app=ceiling_fcgi ;;
        esac
        out=$TMP/out/wrk-$target-$tag.txt
        tf=$TMP/out/time-$target-$tag.txt
        psql_hjo -c CHECKPOINT
        lsn0=$(psql_hjo -tA -c "SELECT pg_current_wal_lsn()")
        cpu_snapshot >"$TMP/out/cpu0"
        t0=$(date +%s.%N)
        TIMEFORMAT='%U %S'
        { time wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency -s "$BENCH/ingest.lua" "$BASE" -- \
                "$prefix" "$tag" >"$out" 2>&1; } 2>"$tf" || true
        t1=$(date +%s.%N)
        cpu_snapshot >"$TMP/out/cpu1"
        lsn1=$(psql_hjo -tA -c "SELECT pg_current_wal_lsn()")
        line=$(grep '^BENCH ' "$out" | head -n 1) || true
        if [ -z "$line" ]; then
                say "wrk printed no BENCH line for $target run $tag:"
                sed 's/^/    /' "$out" >&2
                ingest_errors=$((ingest_errors + 1))
                return 0
        fi
        [ "$tag" != "${tag#w}" ] && return 0 # warm-up: not recorded
        wrk_s=$(awk '{ print $1 + $2 }' "$tf")
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
        local rps p50 p99 errs cpu wal
        rps=$(field rps "$line")
        p50=$(field p50_us "$line")
        p99=$(field p99_us "$line")
        errs=$(($(field non2xx "$line") + $(field noid "$line") + $(field connect "$line") + \
                $(field read "$line") + $(field write "$line") + $(field timeout "$line")))
        wal=$(psql_hjo -tA -c "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / greatest($(field requests "$line"), 1))")
        cpu=$(cpu_share "$TMP/out/cpu0" "$TMP/out/cpu1" "$wrk_s" "$secs" "$app")
        rps_runs[$target]+="$rps "
        p50_runs[$target]+="$p50 "
        p99_runs[$target]+="$p99 "
        err_runs[$target]+="$errs "
        done_runs[$target]+="$(field pairs_done "$line") "
        cpu_runs[$target]+="$cpu;"
        wal_runs[$target]+="$wal "
        if [ "$errs" -gt 0 ]; then
                ingest_errors=$((ingest_errors + errs))
                say "ERRORS in $target run $tag: $line"
                grep '^BENCH_FIRST_ERROR' "$out" >&2 || true
        fi
        printf '  %-8s run %-3s %9.1f req/s  %9.1f pairs/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  WAL %s B/req  cpu%% wrk/nginx/app/pg/other/idle %s\n' \
                "$target" "$tag" "$rps" "$(awk -v r="$rps" 'BEGIN { print r / 2 }')" \
                "$(awk -v v="$p50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" \
                "$errs" "$wal" "$(echo "$cpu" | tr ' ' '/')"
}

if [ "${BENCH_SKIP_INGEST:-0}" != 1 ]; then
        echo
        echo "== 1. event ingest: wrk -t$THREADS -c$CONNS -d$DURATION --latency, synchronous_commit=on"
        runtag=$(date +%s)
        ingest_run hjo "w$runtag" 2s
        ingest_run ceiling "w$runtag" 2s
        for i in $(seq 1 "$RUNS"); do
                ingest_run hjo "$i" "$DURATION"
                ingest_run ceiling "$i" "$DURATION"
        done
        if [ "${BENCH_PGSS:-0}" = 1 ]; then
                echo "  pg_stat_statements, database hjo (all runs, top 12 by total time):"
                psql_hjo -P pager=off -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
                        round(mean_exec_time::numeric, 3) AS mean_ms, wal_records / greatest(calls, 1) AS wal_rec_per_call,
                        left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
                        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'hjo')
                        ORDER BY total_exec_time DESC LIMIT 12" | sed 's/^/    /'
        fi
        ceiling_rows=$("$pgbin/psql" -X -tA -d ceiling -c "SELECT count(*) FROM bench_ceiling")
        hjo_rows=$(psql_hjo -tA -c "SELECT count(*) || ' jobs (' || count(*) FILTER (WHERE state = 'completed') || ' completed)' FROM jobs")
        echo "  rows written: hjo $hjo_rows; ceiling $ceiling_rows events"
        mem_note "event ingest"
fi

# ---- 2. sample ingest -------------------------------------------------------------------

# Batches as hjo-collectord's api sink sends them (bench/samples.lua): SAMPLE_NODES nodes with
# SAMPLE_PER_NODE running jobs each, one POST /v1/samples per node and interval.  Ceilings, in
# the same run and into the same table (metric_samples, with its keys, checks and indexes): the
# same kind of rows for another SAMPLE_NODES x SAMPLE_PER_NODE jobs, by COPY and by 1000-row
# multi-row INSERTs (psql, autocommit), SAMPLE_ROWS rows each.
SAMPLE_NODES=${BENCH_SAMPLE_NODES:-64}
SAMPLE_PER_NODE=${BENCH_SAMPLE_PER_NODE:-64}
SAMPLE_ROWS=${BENCH_SAMPLE_ROWS:-200000}
declare -A srate_runs sp50_runs sp99_runs
samples_errors=0

# sample_jobs PREFIX: SAMPLE_NODES x SAMPLE_PER_NODE running jobs PREFIX<node>-<k> on bsn<node>.
sample_jobs() {
        psql_hjo -v p="$1" -v nodes="$SAMPLE_NODES" -v per="$SAMPLE_PER_NODE" <<'SQL'
INSERT INTO jobs (id, user_name, nodes, state, start_time, allocated_cpus, allocated_memory_mb,
                  partition, account, cluster_name)
SELECT :'p' || lpad(n::text, 4, '0') || '-' || k, 'user' || (k % 31),
       ARRAY['bsn' || lpad(n::text, 4, '0')], 'running', now() - interval '1 hour', 2, 8000,
       'batch', 'acct', 'bench'
FROM generate_series(0, :nodes - 1) n CROSS JOIN generate_series(1, :per) k
ON CONFLICT DO NOTHING;
SQL
}

# sample_rows_csv RUN FILE: SAMPLE_ROWS ceiling rows (jobs bcj*), timestamps distinct per run.
sample_rows_csv() {
        # (psql does not expand :variables inside \copy)
        psql_hjo -c "\\copy (SELECT 'bcj' || lpad(n::text, 4, '0') || '-' || k, 'bsn' || lpad(n::text, 4, '0'),
                        date_trunc('second', now()) - make_interval(secs => $1 * 3600 + r),
                        (n + k) % 100 + 0.5, 1048576 * (100 + k), 1000 + k + 0.25, 1048576 * (200 + k),
                        17179869184, 0, 1 + k % 7, 4096 * k, 8192 * k
                FROM generate_series(0, ($SAMPLE_ROWS - 1) / ($SAMPLE_NODES * $SAMPLE_PER_NODE)) r,
                     generate_series(0, $SAMPLE_NODES - 1) n, generate_series(1, $SAMPLE_PER_NODE) k
                LIMIT $SAMPLE_ROWS) TO '$2' WITH (FORMAT csv)"
}
SAMPLE_COLS="job_id, node, ts, cpu_usage, memory_usage_bytes, cpu_seconds, memory_peak_bytes, memory_max_bytes, oom_kills, pids, io_read_bytes, io_write_bytes"

# samples_hjo TAG DURATION: one wrk run of POST /v1/samples.
samples_hjo() {
        local tag=$1 dur=$2 out line errs rps
        out=$TMP/out/wrk-samples-$tag.txt
        psql_hjo -c CHECKPOINT
        sleep 1 # bench/samples.lua's timestamps start at the wall clock's second: none repeats
        BENCH_THREADS=$THREADS wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency -s "$BENCH/samples.lua" \
                "$BASE" -- "$SAMPLE_NODES" "$SAMPLE_PER_NODE" >"$out" 2>&1 || true
        line=$(grep '^BENCH ' "$out" | head -n 1) || true
        if [ -z "$line" ]; then
                say "wrk printed no BENCH line for samples run $tag:"
                sed 's/^/    /' "$out" >&2
                samples_errors=$((samples_errors + 1))
                return 0
        fi
        errs=$(($(field non2xx "$line") + $(field short "$line") + $(field connect "$line") + \
                $(field read "$line") + $(field write "$line") + $(field timeout "$line")))
        if [ "$errs" -gt 0 ]; then
                samples_errors=$((samples_errors + errs))
                say "ERRORS in samples run $tag: $line"
                grep '^BENCH_FIRST_ERROR' "$out" >&2 || true
        fi
        [ "$tag" != "${tag#w}" ] && return 0
        rps=$(field rps "$line")
        srate_runs[hjo]+="$(awk -v r="$rps" -v k="$SAMPLE_PER_NODE" 'BEGIN { print r * k }') "
        sp50_runs[hjo]+="$(field p50_us "$line") "
        sp99_runs[hjo]+="$(field p99_us "$line") "
        printf '  %-12s run %-3s %9.1f req/s  %10.0f samples/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n' \
                hjo "$tag" "$rps" "$(awk -v r="$rps" -v k="$SAMPLE_PER_NODE" 'BEGIN { print r * k }')" \
                "$(awk -v v="$(field p50_us "$line")" 'BEGIN { print v / 1000 }')" \
                "$(awk -v v="$(field p99_us "$line")" 'BEGIN { print v / 1000 }')" "$errs"
}

# samples_ceiling KIND RUN: COPY or 1000-row INSERTs of SAMPLE_ROWS rows; rows/s.
samples_ceiling() {
        local kind=$1 run=$2 csv t0 t1 rate
        csv=$TMP/out/samples-$run.csv
        [ -f "$csv" ] || sample_rows_csv "$run" "$csv"
        psql_hjo -c CHECKPOINT
        if [ "$kind" = copy ]; then
                t0=$(date +%s.%N)
                psql_hjo -c "\\copy metric_samples ($SAMPLE_COLS) FROM '$csv' WITH (FORMAT csv)"
                t1=$(date +%s.%N)
        else
                # the same rows, shifted by 30 minutes (no key conflict with the COPY of this run)
                awk -F, -v cols="$SAMPLE_COLS" '
                        function row() { return sprintf("('"'"'%s'"'"', '"'"'%s'"'"', '"'"'%s'"'"'::timestamptz - interval '"'"'30 min'"'"', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                                $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) }
                        (NR - 1) % 1000 == 0 { if (NR > 1) print ";"; printf "INSERT INTO metric_samples (%s) VALUES\n%s", cols, row(); next }
                        { printf ",\n%s", row() }
                        END { print ";" }' "$csv" >"$TMP/out/samples-$run.sql"
                t0=$(date +%s.%N)
                psql_hjo -f "$TMP/out/samples-$run.sql"
                t1=$(date +%s.%N)
        fi
        rate=$(awk -v a="$t0" -v b="$t1" -v n="$SAMPLE_ROWS" 'BEGIN { print n / (b - a) }')
        srate_runs[$kind]+="$rate "
        printf '  %-12s run %-3s %10.0f rows/s (%d rows in %.2f s)\n' "$kind" "$run" "$rate" "$SAMPLE_ROWS" \
                "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

if [ "${BENCH_SKIP_SAMPLES:-0}" != 1 ]; then
        echo
        echo "== 2. sample ingest: POST /v1/samples, $SAMPLE_NODES nodes x $SAMPLE_PER_NODE jobs a body, wrk -t$THREADS -c$CONNS -d$DURATION;"
        echo "     ceilings: COPY and 1000-row INSERTs of $SAMPLE_ROWS rows of the same shape into metric_samples"
        sample_jobs bsj >/dev/null
        sample_jobs bcj >/dev/null
        psql_hjo -c "VACUUM ANALYZE jobs" >/dev/null
        samples_hjo w 2s
        for i in $(seq 1 "$RUNS"); do
                samples_hjo "$i" "$DURATION"
                samples_ceiling copy "$i"
                samples_ceiling insert "$i"
        done
        mem_note "sample ingest"
fi

# ---- 3. /metrics -----------------------------------------------------------------------

# time_urls URL N: "median_seconds bytes" over N sequential requests (after one warm-up).
time_urls() {
        local url=$1 n=$2 i
        curl -s -o /dev/null -H "$AUTH_READ" "$url"
        for i in $(seq 1 "$n"); do
                curl -s -o /dev/null -H "$AUTH_READ" -w '%{time_total} %{size_download} %{http_code}\n' "$url"
        done >"$TMP/out/times"
        if awk '$3 != 200 { bad = 1 } END { exit !bad }' "$TMP/out/times"; then
                say "non-200 answers from $url"
                echo "$url" >>"$TMP/out/metrics-errors" # time_urls runs in a subshell
        fi
        printf '%s %s\n' "$(awk '{ print $1 }' "$TMP/out/times" | median)" "$(awk 'END { print $2 }' "$TMP/out/times")"
}

# load_jobs N GPU: replaces every job with N running jobs on 1-4 nodes (node pool of N nodes),
# one metric_samples row per job node, and with GPU=1 four gpu_samples rows per job.
load_jobs() {
        psql_hjo -v n="$1" -v gpu="$2" <<'EOF'
TRUNCATE jobs, metric_samples, gpu_samples, node_samples, audit_log CASCADE;
INSERT INTO jobs (id, user_name, nodes, state, start_time, allocated_cpus, allocated_memory_mb,
                  allocated_gpus, gpu_vendor, gpu_devices, partition, account, cluster_name)
SELECT 'job-' || lpad(i::text, 7, '0'), 'user' || (i % 97),
       ARRAY(SELECT 'cn' || lpad(((i * 4 + k) % :n)::text, 6, '0') FROM generate_series(0, i % 4) k),
       'running', now() - make_interval(secs => 60 + i % 86400), 32, 128000,
       CASE WHEN :gpu = 1 THEN 4 ELSE 0 END, CASE WHEN :gpu = 1 THEN 'nvidia' ELSE 'none' END,
       CASE WHEN :gpu = 1 THEN ARRAY['0', '1', '2', '3'] ELSE '{}' END,
       'batch', 'acct' || (i % 13), 'bench'
FROM generate_series(1, :n) i;
INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
SELECT j.id, n.node, now() - interval '5 s', (abs(hashtext(j.id || n.node)) % 10000) / 100.0,
       (abs(hashtext(n.node || j.id)) % 100000) * 1048576::bigint,
       CASE WHEN :gpu = 1 THEN (abs(hashtext(j.id)) % 10000) / 100.0 END
FROM jobs j CROSS JOIN LATERAL unnest(j.nodes) AS n(node);
INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                         memory_used_bytes, memory_total_bytes, power_watts, temperature_celsius)
SELECT j.id, j.nodes[1], g::text, now() - interval '5 s', 'nvidia', (abs(hashtext(j.id || g)) % 10000) / 100.0,
       (abs(hashtext(g || j.id)) % 80000) * 1048576::bigint, 80000 * 1048576::bigint, 250.5, 61.0
FROM jobs j CROSS JOIN generate_series(0, 3) g
WHERE :gpu = 1;
VACUUM ANALYZE jobs;
VACUUM ANALYZE metric_samples;
VACUUM ANALYZE gpu_samples;
EOF
}

metrics_errors=0
metrics_rows=()
if [ "${BENCH_SKIP_METRICS:-0}" != 1 ]; then
        echo
        echo "== 3. GET /metrics: median of $SCRAPES sequential curl requests (3 from 100,000 jobs); ceiling: the same bytes as a static file"
        for case in $METRICS_CASES; do
                n=${case%%:*}
                gpu=${case#*:}
                scrapes=$SCRAPES
                [ "$n" -lt 100000 ] || [ "$scrapes" -le 3 ] || scrapes=3
                load_jobs "$n" "$gpu" >/dev/null
                read -r m_t m_bytes <<<"$(time_urls "$BASE/metrics" "$scrapes")"
                curl -s -H "$AUTH_READ" -o "$nginx_prefix/static/metrics-$n-$gpu.txt" "$BASE/metrics"
                read -r s_t _ <<<"$(time_urls "$BASE/bench-static/metrics-$n-$gpu.txt" "$scrapes")"
                nseries=$(grep -vc '^#' "$nginx_prefix/static/metrics-$n-$gpu.txt" || true)
                hpc_series=$(grep -c '^hpc_' "$nginx_prefix/static/metrics-$n-$gpu.txt" || true)
                if [ "$(tail -n 1 "$nginx_prefix/static/metrics-$n-$gpu.txt" | cut -d ' ' -f 1)" != hjo_scrape_duration_seconds ]; then
                        say "the /metrics page of $n jobs is incomplete (see the hjo-api log)"
                        echo "$n" >>"$TMP/out/metrics-errors"
                fi
                rm -f "$nginx_prefix/static/metrics-$n-$gpu.txt"
                ratio=$(awk -v a="$m_t" -v b="$s_t" 'BEGIN { printf "%.1f", a / b }')
                hwm=$(worker_hwm)
                gpu_rows=$((gpu * 4 * n))
                mem_note "/metrics, $n jobs$([ "$gpu" = 1 ] && echo ' x 4 GPUs')"
                # The same page with the cache on: time_urls' warm-up scrape renders it, the
                # timed ones are served from the cache file by nginx (X-Accel-Redirect).
                api_restart "$METRICS_CACHE_SECONDS"
                read -r c_t _ <<<"$(time_urls "$BASE/metrics" "$scrapes")"
                curl -s -H "$AUTH_READ" -o "$TMP/out/cached.txt" "$BASE/metrics"
                if [ "$(tail -n 1 "$TMP/out/cached.txt" | cut -d ' ' -f 1)" != hjo_metrics_rendered_timestamp_seconds ]; then
                        say "the cached /metrics page of $n jobs is incomplete (see the hjo-api log)"
                        echo "$n cached" >>"$TMP/out/metrics-errors"
                fi
                # the same job series as the rendered page (hjo's own request counters differ:
                # the restart reset them)
                if [ "$(grep -c '^hpc_' "$TMP/out/cached.txt" || true)" != "$hpc_series" ]; then
                        say "the cached /metrics page of $n jobs is not this row's page"
                        echo "$n cached" >>"$TMP/out/metrics-errors"
                fi
                rm -f "$TMP/out/cached.txt"
                api_restart 0
                c_ratio=$(awk -v a="$c_t" -v b="$s_t" 'BEGIN { printf "%.1f", a / b }')
                metrics_rows+=("$n $gpu_rows $m_bytes $nseries $m_t $s_t $ratio $hwm $c_t $c_ratio")
                printf '  %6d jobs, %6d gpu rows: %9d bytes (%d series)  hjo %.4f s  static %.4f s  ratio %sx  cached %.4f s  ratio %sx  worker peak RSS %s kB\n' \
                        "$n" "$gpu_rows" "$m_bytes" "$nseries" "$m_t" "$s_t" "$ratio" "$c_t" "$c_ratio" "$hwm"
        done
        [ ! -f "$TMP/out/metrics-errors" ] || metrics_errors=$(wc -l <"$TMP/out/metrics-errors")
fi

# ---- 4. queries, 5. collectord: the benchmarks of the storage and collectord work ------

# Figure 4 is bench/queries/run.sh (storage, issue 6), figure 5 bench/collectord/run.sh
# (issue 3); each prints its own figures beside its ceiling.  They run here after the stack
# above is done with, and their output goes into the table as they print it.
queries_out=$TMP/out/queries.txt
collectord_out=$TMP/out/collectord.txt
queries_status="not run (BENCH_SKIP_QUERIES=1)"
collectord_status="not run (BENCH_SKIP_COLLECTORD=1)"
if [ "${BENCH_SKIP_QUERIES:-0}" != 1 ]; then
        echo
        echo "== 4. queries: bench/queries/run.sh"
        if [ -f "$BENCH/queries/run.sh" ]; then
                # a small default scale: the issue's 1,000,000 jobs / 100,000,000 samples take hours
                # here (run bench/queries/run.sh alone for them); its own database in our temp dir
                q_jobs=${BENCH_QUERIES_JOBS:-10000}
                q_samples=${BENCH_QUERIES_SAMPLES:-1000000}
                # 200 requests a query, as bench/queries/run.sh alone: of 50, the "p99" is the
                # slowest one, so a single stall of the shared machine decided a row
                if BENCH_JOBS=$q_jobs BENCH_SAMPLES=$q_samples BENCH_REQS=${BENCH_QUERIES_REQS:-200} \
                        BENCH_WARMUP=5 BENCH_DIR=$TMP/queries BENCH_KEEP_DB=0 HJO_BUILD=$HJO_BUILD \
                        bash "$BENCH/queries/run.sh" >"$queries_out" 2>&1; then
                        queries_status="ran ($q_jobs jobs, $q_samples samples)"
                else
                        queries_status="ran ($q_jobs jobs, $q_samples samples), exit $?: a goal or plan check missed, or it failed"
                fi
                sed 's/^/  /' "$queries_out"
        else
                queries_status="skipped: bench/queries/run.sh is not there"
        fi
        echo "  $queries_status"
fi
if [ "${BENCH_SKIP_COLLECTORD:-0}" != 1 ]; then
        echo
        echo "== 5. collectord: bench/collectord/run.sh $HJO_BUILD"
        if [ ! -f "$BENCH/collectord/run.sh" ]; then
                collectord_status="skipped: bench/collectord/run.sh is not there"
        elif [ ! -x "$HJO_BUILD/collectord/hjo-collectord" ]; then
                collectord_status="skipped: no $HJO_BUILD/collectord/hjo-collectord"
        elif sh "$BENCH/collectord/run.sh" "$HJO_BUILD" >"$collectord_out" 2>&1; then
                collectord_status="ran"
        else
                collectord_status="FAILED (exit $?)"
        fi
        [ ! -f "$collectord_out" ] || sed 's/^/  /' "$collectord_out"
        echo "  $collectord_status"
fi

# ---- table ------------------------------------------------------------------------------

ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }
fmt_int() { awk -v v="$1" 'BEGIN { printf "%d", v + 0.5 }'; }
runs_list() { local s=; for v in $1; do s="$s${s:+ / }$(fmt_int "$v")"; done; printf '%s' "$s"; }
cpu_mean() { printf '%s' "$1" | tr ';' '\n' | awk 'NF { for (i = 1; i <= NF; i++) s[i] += $i; n++ }
        END { if (n) printf "%.0f | %.0f | %.0f | %.0f | %.0f | %.0f", s[1]/n, s[2]/n, s[3]/n, s[4]/n, s[5]/n, s[6]/n }'; }
# cpu_per_req CPU_LIST RPS_LIST: CPU microseconds per request of wrk, nginx, app, postgres (mean
# over the runs of each run's % of a core / its req/s).
cpu_per_req() {
        paste -d ' ' <(printf '%s' "$1" | tr ';' '\n' | sed '/^$/d') <(lines "$2") | awk '
                { for (i = 1; i <= 4; i++) s[i] += $i * 1e4 / $7; n++ }
                END { if (n) printf "%.0f | %.0f | %.0f | %.0f | %.0f", s[1]/n, s[2]/n, s[3]/n, s[4]/n, (s[1]+s[2]+s[3]+s[4])/n }'
}

# verdict VALUE OP GOAL: "meets" or "**below**" the goal.
verdict() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? v >= g : v <= g; print ok ? "meets" : "**below**" }'; }
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
md=$TMP/out/bench.md
{
        echo "\`bench/run.sh\`, $fact_date, commit $fact_commit; $RUNS runs of $DURATION per figure (medians), load"
        echo "average $load_before before and $load_after after the run."
        echo
        echo "| machine | |"
        echo "| --- | --- |"
        echo "| nproc | $fact_nproc |"
        echo "| CPU | $fact_cpu |"
        echo "| memory | $fact_mem |"
        echo "| kernel | $fact_kernel |"
        echo "| OS | $fact_os |"
        echo "| versions | nginx $fact_nginx, PostgreSQL $fact_pg, wrk $fact_wrk, libfcgi $fact_fcgi, gcc $fact_gcc |"
        echo "| PostgreSQL | $pg_settings (default config, Unix socket) |"
        echo
        echo "### Summary"
        echo
        echo "| # | figure | hjo | ceiling (same run) | ratio | goal | |"
        echo "| --- | --- | ---: | ---: | ---: | --- | --- |"
        if [ "${BENCH_SKIP_INGEST:-0}" != 1 ]; then
                h_rps=$(lines "${rps_runs[hjo]-}" | median)
                c_rps=$(lines "${rps_runs[ceiling]-}" | median)
                ratio=$(awk -v a="$h_rps" -v b="$c_rps" 'BEGIN { printf "%.2f", a / b }')
                echo "| 1 | event ingest, start+finish pairs/s (64 clients) | $(fmt_int "$(awk -v r="$h_rps" 'BEGIN { print r / 2 }')") | $(fmt_int "$(awk -v r="$c_rps" 'BEGIN { print r / 2 }')") (1 INSERT/request) | $ratio | ≥ 0.7 | $(verdict "$ratio" '>=' 0.7) |"
        fi
        if [ "${BENCH_SKIP_SAMPLES:-0}" != 1 ]; then
                h_s=$(lines "${srate_runs[hjo]-}" | median)
                c_s=$(lines "${srate_runs[copy]-}" | median)
                i_s=$(lines "${srate_runs[insert]-}" | median)
                ratio=$(awk -v a="$h_s" -v b="$c_s" 'BEGIN { printf "%.2f", a / b }')
                ratio_i=$(awk -v a="$h_s" -v b="$i_s" 'BEGIN { printf "%.2f", a / b }')
                echo "| 2 | sample ingest, samples/s (POST /v1/samples, $SAMPLE_PER_NODE a body) | $(fmt_int "$h_s") | COPY $(fmt_int "$c_s"); 1000-row INSERT $(fmt_int "$i_s") | $ratio of COPY; $ratio_i of INSERT | ≥ 0.5 of COPY | $(verdict "$ratio" '>=' 0.5) |"
        fi
        if [ "${BENCH_SKIP_METRICS:-0}" != 1 ]; then
                for row in "${metrics_rows[@]}"; do
                        read -r n g b l mt st ra hw ct cr <<<"$row"
                        goal="—"
                        v=""
                        vc=""
                        if [ "$n" = 10000 ]; then
                                goal="< 0.5 s and ≤ 5×"
                                v="$(verdict "$mt" '<=' 0.5) 0.5 s; $(verdict "$ra" '<=' 5) 5×"
                                vc="$(verdict "$ct" '<=' 0.5) 0.5 s; $(verdict "$cr" '<=' 5) 5×"
                        fi
                        echo "| 3 | \`/metrics\`, $n jobs$([ "$g" -gt 0 ] && echo " × 4 GPUs"), s ($(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1e6 }') MB), rendered | $(printf '%.3f' "$mt") | $(printf '%.4f' "$st") (static file) | ${ra}× | $goal | $v |"
                        echo "| 3 | the same, cache on (${METRICS_CACHE_SECONDS} s) | $(printf '%.4f' "$ct") | $(printf '%.4f' "$st") (static file) | ${cr}× | $goal | $vc |"
                done
        fi
        echo "| 4 | queries (bench/queries) | see below | | | p99 < 20 ms | $queries_status |"
        echo "| 5 | collectord CPU per job-sample (bench/collectord) | see below | bare read loop | | ≤ 1.5× | $collectord_status |"
        echo "| 6 | memory: hjo-api worker peak RSS (VmHWM), whole run | $(worker_hwm) kB | | | bounded | |"
        if [ "${BENCH_SKIP_INGEST:-0}" != 1 ]; then
                echo
                echo "### 1. Event ingest"
                echo
                echo "\`wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/ingest.lua\`; each job = one \`POST /v1/events/job-started\`"
                echo "then, after its answer, one \`POST /v1/events/job-finished\`; synchronous_commit on; hjo-api $WORKERS workers"
                echo "(HJO_EVENT_BATCH_MAX=$HJO_EVENT_BATCH_MAX: events reaching a worker together share a transaction);"
                echo "ceiling = \`bench/ceiling_fcgi.c\` ($WORKERS processes, one prepared INSERT per request) behind the same nginx."
                echo "Runs alternate hjo / ceiling; medians of $RUNS runs (latency: median of the runs' percentiles)."
                echo
                echo "| target | req/s | pairs/s | runs (req/s) | p50 ms | p99 ms | WAL B/req | errors |"
                echo "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
                for t in hjo ceiling; do
                        r=$(lines "${rps_runs[$t]-}" | median)
                        errs=$(lines "${err_runs[$t]-}" | awk '{ s += $1 } END { print s + 0 }')
                        name=$([ "$t" = hjo ] && echo "hjo (nginx → hjo-api → PostgreSQL)" || echo "ceiling (nginx → 1 INSERT/request)")
                        echo "| $name | $(fmt_int "$r") | $(fmt_int "$(awk -v r="$r" 'BEGIN { print r / 2 }')") | $(runs_list "${rps_runs[$t]-}") | $(ms "$(lines "${p50_runs[$t]-}" | median)") | $(ms "$(lines "${p99_runs[$t]-}" | median)") | $(fmt_int "$(lines "${wal_runs[$t]-}" | median)") | $errs$([ "$errs" -gt 0 ] && echo ' **FLAGGED**') |"
                done
                echo
                echo "CPU during the runs (from /proc; wrk from bash \`time\`; \"other\" = everything else on the machine,"
                echo "including other users of the 2 cores), mean of the runs: % of one core (2 cores = 200 %), and µs per request."
                echo
                echo "| target | wrk % | nginx % | app % | postgres % | other % | idle % | wrk µs/req | nginx µs/req | app µs/req | postgres µs/req | stack µs/req |"
                echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
                echo "| hjo (app = hjo-api) | $(cpu_mean "${cpu_runs[hjo]-}") | $(cpu_per_req "${cpu_runs[hjo]-}" "${rps_runs[hjo]-}") |"
                echo "| ceiling (app = ceiling_fcgi) | $(cpu_mean "${cpu_runs[ceiling]-}") | $(cpu_per_req "${cpu_runs[ceiling]-}" "${rps_runs[ceiling]-}") |"
        fi
        if [ "${BENCH_SKIP_SAMPLES:-0}" != 1 ]; then
                echo
                echo "### 2. Sample ingest"
                echo
                echo "\`wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/samples.lua\`: \`POST /v1/samples\` bodies as hjo-collectord's api sink"
                echo "sends them, one per node and interval, $SAMPLE_PER_NODE job samples each (10 fields), $SAMPLE_NODES nodes round robin;"
                echo "stored by \`hjo_ingest_batch\`. Ceilings: the same kind of rows ($SAMPLE_ROWS, 12 columns) into the same table"
                echo "(\`metric_samples\`) by \`\\copy\` and by 1000-row \`INSERT … VALUES\` (psql, autocommit), after each hjo run."
                echo
                echo "| path | rows/s (median) | runs | p50 ms | p99 ms |"
                echo "| --- | ---: | --- | ---: | ---: |"
                echo "| hjo: POST /v1/samples → hjo_ingest_batch | $(fmt_int "$(lines "${srate_runs[hjo]-}" | median)") | $(runs_list "${srate_runs[hjo]-}") | $(ms "$(lines "${sp50_runs[hjo]-}" | median)") | $(ms "$(lines "${sp99_runs[hjo]-}" | median)") |"
                echo "| ceiling: COPY | $(fmt_int "$(lines "${srate_runs[copy]-}" | median)") | $(runs_list "${srate_runs[copy]-}") | | |"
                echo "| 1000-row multi-row INSERT | $(fmt_int "$(lines "${srate_runs[insert]-}" | median)") | $(runs_list "${srate_runs[insert]-}") | | |"
        fi
        if [ "${BENCH_SKIP_METRICS:-0}" != 1 ]; then
                echo
                echo "### 3. \`GET /metrics\` scrape"
                echo
                echo "Running jobs on 1-4 nodes each, one metric sample per job node, 4 GPU samples per job in the GPU rows;"
                echo "median of $SCRAPES sequential \`curl\` requests (\`time_total\`; 3 from 100,000 jobs); ceiling = the same bytes as a"
                echo "static file from the same nginx. Goal: 10,000 running jobs under 0.5 s and within 5× the static ceiling."
                echo "\"rendered\": every scrape queries PostgreSQL and formats the page (HJO_METRICS_CACHE_SECONDS=0, the default)."
                echo "\"cached\": hjo-api restarted with HJO_METRICS_CACHE_SECONDS=$METRICS_CACHE_SECONDS; the untimed warm-up scrape renders"
                echo "the page into the cache file, the timed ones check the token and get the file from nginx (X-Accel-Redirect)."
                echo
                echo "| running jobs | GPU rows | bytes | series | rendered s | cached s | static s | ratio rendered | ratio cached | worker peak RSS kB |"
                echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
                for row in "${metrics_rows[@]}"; do
                        read -r n g b l mt st ra hw ct cr <<<"$row"
                        echo "| $n | $g | $b | $l | $(printf '%.4f' "$mt") | $(printf '%.4f' "$ct") | $(printf '%.4f' "$st") | ${ra}× | ${cr}× | $hw |"
                done
                echo
                echo "Worker peak RSS: the largest VmHWM among hjo-api's workers after that row (a high-water mark since the start"
                echo "of the run, ingest included: it never goes down)."
        fi
        if [ -s "$queries_out" ]; then
                echo
                echo "### 4. Queries (\`bench/queries/run.sh\`, $queries_status)"
                echo
                echo '```'
                cat "$queries_out"
                echo '```'
        fi
        if [ -s "$collectord_out" ]; then
                echo
                echo "### 5. collectord (\`bench/collectord/run.sh\`, $collectord_status)"
                echo
                echo '```'
                cat "$collectord_out"
                echo '```'
        fi
        echo
        echo "### 6. Memory"
        echo
        echo "VmRSS / VmHWM from /proc/<pid>/status right after each load ($WORKERS hjo-api workers, nginx's workers; collectord's"
        echo "peak RSS is in figure 5's rss_kib columns)."
        echo
        echo "| after | hjo-api workers | nginx workers |"
        echo "| --- | --- | --- |"
        for row in "${mem_rows[@]}"; do
                IFS='|' read -r what wm nm <<<"$row"
                echo "| $what | $wm | $nm |"
        done
        if [ "$ingest_errors" -gt 0 ] || [ "$metrics_errors" -gt 0 ] || [ "$samples_errors" -gt 0 ]; then
                echo
                echo "**This run had errors** (events: $ingest_errors, samples: $samples_errors, /metrics: $metrics_errors); its figures are not valid."
        fi
} >"$md"

echo
echo "== markdown (also in docs/performance.md, between its bench/run.sh markers)"
echo
cat "$md"
# docs/performance.md keeps everything outside the markers (the analysis, the storage work's
# "Queries" section); BENCH_NO_DOCS=1 leaves it alone.
perf_md=$SRC/docs/performance.md
if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
        if [ -f "$perf_md" ] && grep -q '^<!-- bench/run.sh: begin' "$perf_md" && grep -q '^<!-- bench/run.sh: end' "$perf_md"; then
                awk -v f="$md" '
                        /^<!-- bench\/run.sh: begin/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
                        /^<!-- bench\/run.sh: end/ { skip = 0 }
                        !skip { print }' "$perf_md" >"$TMP/out/performance.md"
                cat "$TMP/out/performance.md" >"$perf_md"
        else
                say "no bench/run.sh markers in $perf_md: not updated"
        fi
fi

if [ "$ingest_errors" -gt 0 ] || [ "$metrics_errors" -gt 0 ] || [ "$samples_errors" -gt 0 ]; then
        say "the run had errors (see above)"
        exit 1
fi
exit 0
