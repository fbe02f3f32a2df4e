#!/bin/sh
# tests/slurmrest/t_slurmrest.sh: collectord's Slurm source against a real Slurm 22.05
# (../shared/slurm-lab, private directory and ports) and a real hjo stack
# (tests/integration/lib.sh).  One slurm_cycle() per step, run by slurm_once; checks rows in
# PostgreSQL and jobs through the /v1 API.  Prints TAP.  Skips (1..0 # SKIP) when the lab is
# absent, we are not root, or Slurm cannot start.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
: "${top_builddir:?top_builddir must be set (automake exports it)}"
top_srcdir=$(cd "$top_srcdir" && pwd)

skip() {
        printf '1..0 # SKIP %s\n' "$*"
        exit 0
}

[ "${SLURMREST_SKIP:-0}" = 1 ] && skip "SLURMREST_SKIP=1"
lab=${SLURMREST_LAB:-$top_srcdir/../shared/slurm-lab}
[ -x "$lab/start.sh" ] || skip "no slurm-lab at $lab (set SLURMREST_LAB)"
[ "$(id -u)" -eq 0 ] || skip "the slurm-lab needs root"
once=$top_builddir/tests/slurmrest/slurm_once
[ -x "$once" ] || { echo "Bail out! $once not built"; exit 1; }

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

# A private lab: its own directory (short: unix socket paths) and free ports, so that another
# lab on this machine (another test suite's) keeps running undisturbed.
SLURM_LAB_DIR=${TMPDIR:-/tmp}/slrt.$$
SLURM_LAB_CTLD_PORT=$(hjo_free_port) || skip "no free port"
SLURM_LAB_SLURMD_PORT=$(hjo_free_port) || skip "no free port"
SLURM_LAB_RESTD_PORT=$(hjo_free_port) || skip "no free port"
SLURM_LAB_CLUSTER=slrt
SLURM_LAB_FRESH=1
export SLURM_LAB_DIR SLURM_LAB_CTLD_PORT SLURM_LAB_SLURMD_PORT SLURM_LAB_RESTD_PORT \
        SLURM_LAB_CLUSTER SLURM_LAB_FRESH
lab_log=${TMPDIR:-/tmp}/slrt.$$.start.log

lab_stop() {
        SLURM_LAB_PURGE=1 SLURM_LAB_DIR=$SLURM_LAB_DIR "$lab/stop.sh" >/dev/null 2>&1 || true
        rm -f "$lab_log"
}

if ! "$lab/start.sh" >"$lab_log" 2>&1; then
        tail -n 5 "$lab_log" | sed 's/^/# /'
        lab_stop
        skip "Slurm did not start (slurm-lab start.sh failed)"
fi
# shellcheck source=/dev/null
. "$SLURM_LAB_DIR/env.sh"

itest_setup
# itest_setup's EXIT trap tears hjo down; stop the lab first, keeping the exit status.
trap '_rc=$?; lab_stop; (exit $_rc); itest_teardown' EXIT

n=0
failed=0
check() { # check DESCRIPTION COMMAND...
        _d=$1
        shift
        n=$((n + 1))
        if "$@"; then
                echo "ok $n - $_d"
        else
                failed=$((failed + 1))
                echo "not ok $n - $_d"
        fi
}
eq() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
sql() { psql -X -q -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d "$HJO_PGDATABASE" -c "$1"; }
job_field() { # job_field ID FIELD: a field of GET /v1/jobs/ID as text ('None' for null)
        curl -s "$HJO_URL/v1/jobs/$1" | /usr/bin/python3 -c \
                'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print(",".join(v) if isinstance(v,list) else v)' "$2"
}
slurm_state() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_state() { # wait_state JOBID SECONDS STATE...
        _j=$1
        _t=$2
        shift 2
        while [ "$_t" -gt 0 ]; do
                _s=$(slurm_state "$_j")
                for _w in "$@"; do [ "$_s" = "$_w" ] && return 0; done
                sleep 1
                _t=$((_t - 1))
        done
        echo "#   job $_j is '$_s', waited for $*"
        return 1
}
post() { # post PATH JSON
        curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -X POST --data "$2" "$HJO_URL$1"
}
now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }

token=$HJO_TMP/slurm.jwt
(umask 077 && printf '%s\n' "$SLURM_LAB_JWT" >"$token")
node=$SLURM_LAB_NODE
cycle() {
        "$once" --dsn "$HJO_DATABASE_URL" --base-url "$SLURM_LAB_RESTD_URL" \
                --api-version "${1:-v0.0.38}" --user "$SLURM_LAB_RESTD_USER" --token-file "$token" \
                ${2:+"$2"} >"$HJO_TMP/once.out" 2>"$HJO_TMP/once.err"
        _rc=$?
        sed 's/^/# /' "$HJO_TMP/once.out" "$HJO_TMP/once.err"
        return $_rc
}
report() { tr ' ' '\n' <"$HJO_TMP/once.out" | sed -n "s/^$1=//p" | head -n 1; }

# ---- jobs -----------------------------------------------------------------------------------
sb() { sbatch --parsable -o /dev/null "$@" | cut -d';' -f1; }
ja=$(sb --wrap 'sleep 300')                   # Slurm runs it; hjo never heard of it
jb=$(sb --time=1 --wrap 'sleep 300')          # hjo has it running; it will hit its time limit
jc=$(sb --wrap 'exit 3')                      # hjo has it running; it fails (lost epilog)
jd=$(sb --wrap 'sleep 300')                   # hjo closed it with exit unknown; scancel'd
check "sbatch gave four job ids" [ -n "$ja" ] && [ -n "$jb" ] && [ -n "$jc" ] && [ -n "$jd" ]
check "jobs running" wait_state "$ja" 30 RUNNING
check "job B running" wait_state "$jb" 30 RUNNING
check "job D running" wait_state "$jd" 30 RUNNING
for j in "$jb" "$jc" "$jd" 999999; do
        code=$(post /v1/events/job-started "{\"job_id\":\"slurm-$j\",\"user\":\"root\",\"node_list\":[\"$node\"],\"timestamp\":\"$(now)\",\"cluster\":\"slrt\"}")
        check "hjo told job slurm-$j started" eq "$code" 200
done
check "job C failed in Slurm" wait_state "$jc" 30 FAILED
scancel "$jd"
check "job D cancelled in Slurm" wait_state "$jd" 30 CANCELLED
code=$(post /v1/events/job-finished "{\"job_id\":\"slurm-$jd\",\"timestamp\":\"$(now)\",\"exit_code\":null}")
check "hjo told job D finished, exit unknown" eq "$code" 200
check "job D is 'completed' before reconciliation" eq "$(job_field "slurm-$jd" state)" completed

# ---- cycle 1 --------------------------------------------------------------------------------
check "cycle 1 succeeds" cycle v0.0.38 --metrics
check "cycle 1 saw the node" eq "$(report nodes)" 1
check "node row: state, CPUs, load, memory in bytes" eq \
        "$(sql "SELECT cluster, node, cpus, memory_total_bytes, cpu_load >= 0, memory_free_bytes > 0, alloc_cpus >= 2, memory_allocated_bytes % 1048576 FROM slurm_nodes")" \
        "slrt|$node|4|4194304000|t|t|t|0"
check "node state is Slurm's (allocated or mixed)" \
        sh -c "[ \"\$1\" = mixed ] || [ \"\$1\" = allocated ]" - "$(sql "SELECT state FROM slurm_nodes")"
check "job A created: running, Slurm state, node, CPUs, memory" eq \
        "$(job_field "slurm-$ja" state) $(job_field "slurm-$ja" slurm_state) $(job_field "slurm-$ja" nodes) $(job_field "slurm-$ja" allocated_cpus) $(job_field "slurm-$ja" allocated_memory_mb) $(job_field "slurm-$ja" cluster_name)" \
        "running RUNNING $node 1 100 slrt"
check "job A has Slurm's start time" eq "$(sql "SELECT start_time IS NOT NULL FROM jobs WHERE id = 'slurm-$ja'")" t
check "job C closed with Slurm's state and exit code" eq \
        "$(job_field "slurm-$jc" state) $(job_field "slurm-$jc" slurm_state) $(job_field "slurm-$jc" exit_code) $(job_field "slurm-$jc" signal)" \
        "failed FAILED 3 0"
# Slurm records scancel as signal 15, or as 0:0 when the job's step had not reported its exit
# yet (seen once under heavy load): hjo takes what Slurm says, the state is corrected either way
_jd="$(job_field "slurm-$jd" state) $(job_field "slurm-$jd" slurm_state) $(job_field "slurm-$jd" signal)"
check "job D corrected: cancelled, CANCELLED, signal 15 (or 0, Slurm's race)" eq \
        "$(case "$_jd" in "cancelled CANCELLED 15" | "cancelled CANCELLED 0") echo ok ;; *) echo "$_jd" ;; esac)" ok
check "job B still running (memory filled in from Slurm)" eq \
        "$(job_field "slurm-$jb" state) $(job_field "slurm-$jb" allocated_memory_mb)" "running 100"
check "slurm-999999 unknown to Slurm: missing, unresolved, left running" eq \
        "$(report missing) $(report unresolved) $(job_field slurm-999999 state)" "1 1 running"
check "report counts" eq "$(report created) $(report closed) $(report corrected) $(report errors)" "1 1 1 0"
check "every action audited with source reconcile" eq \
        "$(sql "SELECT count(DISTINCT job_id) FROM audit_log WHERE source = 'reconcile'")" 4
check "metrics: hpc_node_cpus_total" grep -q "^hpc_node_cpus_total{cluster=\"slrt\",node=\"$node\"} 4\$" "$HJO_TMP/once.out"
check "metrics: hpc_node_memory_total_bytes" grep -q "^hpc_node_memory_total_bytes{cluster=\"slrt\",node=\"$node\"} 4194304000\$" "$HJO_TMP/once.out"
check "metrics: hpc_node_state" grep -Eq "^hpc_node_state\{cluster=\"slrt\",node=\"$node\",state=\"(mixed|allocated)\"\} 1\$" "$HJO_TMP/once.out"
check "metrics: hpc_node_cpus_allocated" grep -Eq "^hpc_node_cpus_allocated\{cluster=\"slrt\",node=\"$node\"\} [0-9]+\$" "$HJO_TMP/once.out"
check "metrics fallback: node CPU usage from load/CPUs, job count" \
        grep -Eq "^fallback node=$node cpu_usage_percent=[0-9.e+-]+ memory_used_bytes=[0-9]* job_count=3\$" "$HJO_TMP/once.out" # A, B, slurm-999999

# ---- cycle 2: idempotent; v0.0.37 gives the same -------------------------------------------
check "cycle 2 (v0.0.37) succeeds" cycle v0.0.37
check "cycle 2 changes nothing" eq "$(report created) $(report closed) $(report corrected) $(report filled) $(report updated)" "0 0 0 0 0"
fails() { ! "$@"; }
check "v0.0.36 is refused" fails cycle v0.0.36
check "v0.0.36 refused as an invalid setting" eq "$(report rc)" EINVAL
printf 'bad.token.x\n' >"$token"
check "a bad token is refused" fails cycle
# slurmrestd 22.05 answers 401 without a token, 500 for a token it cannot verify
check "... with an HTTP error" sh -c '[ "$1" = "EACCES 401" ] || [ "$1" = "EPROTO 500" ]' - \
        "$(report rc) $(report http_status)"
(umask 077 && printf '%s\n' "$SLURM_LAB_JWT" >"$token")

# ---- time limit -----------------------------------------------------------------------------
if [ "${SLURMREST_TIMEOUT_TEST:-1}" = 1 ]; then
        check "job B hit its time limit in Slurm" wait_state "$jb" 180 TIMEOUT
        check "cycle 3 succeeds" cycle
        check "job B closed: cancelled with Slurm state TIMEOUT" eq \
                "$(job_field "slurm-$jb" state) $(job_field "slurm-$jb" slurm_state)" "cancelled TIMEOUT"
        # Slurm's exit_code for a time-limit kill is 15 (SIGTERM) or 36608 (the batch shell's
        # exit 143), depending on which process the signal ended first
        check "job B exit details are Slurm's" sh -c '[ "$1" = "0 15" ] || [ "$1" = "143 0" ]' - \
                "$(job_field "slurm-$jb" exit_code) $(job_field "slurm-$jb" signal)"
        check "job B's end time is Slurm's" eq \
                "$(sql "SELECT extract(epoch FROM end_time)::bigint FROM jobs WHERE id = 'slurm-$jb'")" \
                "$(scontrol show job -o "$jb" | sed -n 's/.*EndTime=\([^ ]*\).*/\1/p' | xargs -I{} date -d {} +%s)"
else
        n=$((n + 1))
        echo "ok $n - time limit # SKIP SLURMREST_TIMEOUT_TEST=0"
fi

scancel "$ja" "$jb" 2>/dev/null
check "job A cancelled in Slurm" wait_state "$ja" 30 CANCELLED
check "cycle 4 succeeds" cycle
check "job A closed: cancelled, CANCELLED" eq \
        "$(job_field "slurm-$ja" state) $(job_field "slurm-$ja" slurm_state)" "cancelled CANCELLED"

echo "1..$n"
[ "$failed" -eq 0 ]
