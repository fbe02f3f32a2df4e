#!/bin/sh
# tests/collectord/t_slurm_cgroup_v1.sh: hjo-collectord on real Slurm job cgroups (cgroup v1).
# Starts a private ../shared/slurm-lab with SLURM_LAB_CGROUP=v1 (proctrack/cgroup + task/cgroup:
# slurmd creates /sys/fs/cgroup/<ctrl>/slurm[_<node>]/uid_<uid>/job_<id>), a real hjo stack
# (tests/integration/lib.sh), and a batch job that holds ~100 MB and burns one CPU.  The job is
# made known to hjo with POST /v1/events/job-started (no hooks).  Two `hjo-collectord --once
# --sink db` runs ~2 s apart on the real cgroup tree; checks in PostgreSQL and
# GET /v1/jobs/{id}/metrics: samples for the job and the lab's node, cpu_seconds grows and lies
# within 0.5 s of the cgroup's own cpuacct.usage read around the run, cpu_usage > 50 % of the 1
# allocated CPU while burning, memory_usage_bytes >= 90 MB and within 20 % of
# memory.usage_in_bytes.  Before that, with the lab's default JobAcctGatherType=jobacct_gather/linux
# (memory, cpuset and freezer job cgroups but no cpuacct one), a check that collectord still
# sees the job.  TAP.  Skips (1..0 # SKIP, exit 0) with HJO_SKIP_SLURM=1, when not
# root, without the lab, or when the lab cannot start with cgroup v1.
#
# Knobs: SLURM_LAB_SRC (default $top_srcdir/../shared/slurm-lab), HJO_SLURM_LAB_DIR (default
# /tmp/hjo-lab1.PID, removed at the end), HJO_SLURM_LAB_PORT_BASE (default: the first of 7300,
# 7400, ... 8000 whose +17 and +18 ports are free).
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
: "${top_builddir:?top_builddir must be set (automake exports it)}"
[ "${HJO_SKIP_SLURM:-0}" != 1 ] || { echo "1..0 # SKIP HJO_SKIP_SLURM=1"; exit 0; }
LAB_SRC=${SLURM_LAB_SRC:-$top_srcdir/../shared/slurm-lab}
[ -x "$LAB_SRC/start.sh" ] || { echo "1..0 # SKIP no Slurm lab at $LAB_SRC (set SLURM_LAB_SRC)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP the Slurm lab must be started as root"; exit 0; }
if [ ! -d /sys/fs/cgroup/cpuacct ] || [ ! -d /sys/fs/cgroup/memory ]; then
        echo "1..0 # SKIP no cgroup v1 cpuacct and memory hierarchies under /sys/fs/cgroup"
        exit 0
fi

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
command -v psql >/dev/null 2>&1 || itest_skip "psql not found"
set -u

PY=/usr/bin/python3
cd_bin=$top_builddir/collectord/hjo-collectord
[ -x "$cd_bin" ] || itest_bail "$cd_bin not built"

SLURM_LAB_DIR=${HJO_SLURM_LAB_DIR:-/tmp/hjo-lab1.$$}
lab_purge=${HJO_SLURM_LAB_DIR:+0}
port_free() {
        "$PY" -c 'import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(p))); s.close()' "$@" 2>/dev/null
}
_base=${HJO_SLURM_LAB_PORT_BASE:-}
if [ -z "$_base" ]; then
        for _b in 7300 7400 7500 7600 7700 7800 7900 8000; do
                if port_free $((_b + 17)) $((_b + 18)); then
                        _base=$_b
                        break
                fi
        done
        [ -n "$_base" ] || { echo "1..0 # SKIP no free port pair for the Slurm lab"; exit 0; }
fi
SLURM_LAB_CTLD_PORT=$((_base + 17))
SLURM_LAB_SLURMD_PORT=$((_base + 18))
SLURM_LAB_RESTD_PORT=$((_base + 20))
SLURM_LAB_RESTD=0
SLURM_LAB_CGROUP=v1
# a node name of its own: other labs on this machine (default node = hostname) use slurm_<node>
# cgroups with the same job ids
SLURM_LAB_NODE=${HJO_SLURM_LAB_NODE:-hjocg$$}
export SLURM_LAB_DIR SLURM_LAB_CTLD_PORT SLURM_LAB_SLURMD_PORT SLURM_LAB_RESTD_PORT SLURM_LAB_RESTD \
        SLURM_LAB_CGROUP SLURM_LAB_NODE

itest_setup
T=$HJO_TMP/lab
mkdir -p "$T"
chmod 755 "$T"

lab_up=0
job_id=''
lab_stop() {
        [ "$lab_up" = 1 ] || return 0
        lab_up=0
        [ -z "$job_id" ] || scancel "$job_id" >/dev/null 2>&1
        "$LAB_SRC/stop.sh" "PURGE=${lab_purge:-1}" >"$T/stop.log" 2>&1 || true
}
# shellcheck disable=SC2154 # _rc is assigned in the trap itself
trap '_rc=$?; lab_stop; (exit $_rc); itest_teardown' EXIT

t0=$(date +%s)
if ! "$LAB_SRC/start.sh" SLURM_LAB_FRESH=1 >"$T/start.log" 2>&1; then
        lab_up=1
        tail -n 15 "$T/start.log" | sed 's/^/# /' >&2
        lab_stop
        echo "1..0 # SKIP the Slurm lab did not start with SLURM_LAB_CGROUP=v1 (see the log above)"
        exit 0
fi
lab_up=1
# shellcheck source=/dev/null
. "$SLURM_LAB_DIR/env.sh"
node=$SLURM_LAB_NODE
echo "# lab up in $(($(date +%s) - t0)) s: $SLURM_LAB_VERSION, node $node, cgroup v1"

n=0
failed=0
ok() { # ok STATUS DESCRIPTION [DIAGNOSTIC]
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                case $2 in *"# TODO"*) ;; *) failed=$((failed + 1)) ;; esac
                echo "not ok $n - $2"
                [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
        fi
}
is() {
        if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got:  $1
want: $2"; fi
}
# check PY-EXPR DESCRIPTION: ok when the python expression is true
check() {
        "$PY" -c "import sys; sys.exit(0 if ($1) else 1)" 2>/dev/null
        ok $? "$2"
}
sq() {
        psql -X -q -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c "$1"
}

export DATABASE_URL="$HJO_DATABASE_URL" HJO_COLLECTOR_GPU=none
# find_job CONTROLLER ID: the job's directory under /sys/fs/cgroup/CONTROLLER, waiting up to 20 s
find_job() {
        _fj_i=0
        while [ $_fj_i -lt 100 ]; do
                for _fj_d in "/sys/fs/cgroup/$1/slurm_$node/uid_0/job_$2" "/sys/fs/cgroup/$1/slurm/uid_0/job_$2"; do
                        [ -d "$_fj_d" ] && { echo "$_fj_d"; return 0; }
                done
                sleep 0.2
                _fj_i=$((_fj_i + 1))
        done
        return 1
}

# ---- A: the lab's default v1 setup (JobAcctGatherType=jobacct_gather/linux) ------------------
# task/cgroup + proctrack/cgroup create freezer, cpuset and memory job cgroups, but no cpuacct one
ja=$(sbatch --parsable -c1 -J hjo-cg1a -o /dev/null -e /dev/null --wrap 'sleep 60' 2>/dev/null | cut -d';' -f1)
cga=$(find_job memory "$ja")
ok $? "default v1 setup: job $ja has a memory cgroup (${cga:-none})"
if [ -n "$cga" ] && [ ! -d "/sys/fs/cgroup/cpuacct/${cga#/sys/fs/cgroup/memory/}" ]; then
        echo "# default v1 setup: no cpuacct cgroup for job $ja (jobacct_gather/linux)"
        "$cd_bin" --once --sink stdout --cgroup-root /sys/fs/cgroup --node "$node" >"$T/ca.out" 2>"$T/ca.log"
        _got=$(grep -c "^sample .* job_id=slurm-$ja " "$T/ca.out")
        # Found by this test: discovery read only cpuacct/ when it existed; it now takes the
        # union of cpuacct/ and memory/ (the node sample counts the job), and such a job gets a
        # memory-only sample: cpu_usage NULL (sql/0041_sample_cpu_nullable.sql), never a 0.
        _jobs=$(grep -o 'jobs=[0-9]*' "$T/ca.out" | head -n 1)
        ok "$([ "$_jobs" = jobs=1 ] && echo 0 || echo 1)" \
                "default v1 setup: collectord discovers a job that has a memory cgroup but no cpuacct one ($_jobs)" \
                "$(cat "$T/ca.out" "$T/ca.log")"
        _line=$(grep "^sample .* job_id=slurm-$ja " "$T/ca.out" | head -n 1)
        ok "$([ "$_got" -ge 1 ] && case $_line in *cpu_pct=*|*cpu_seconds=*) false ;; *mem_bytes=[1-9]*) true ;; *) false ;; esac && echo 0 || echo 1)" \
                "default v1 setup: ... and samples it memory-only (mem_bytes, no cpu_pct/cpu_seconds)" \
                "$(cat "$T/ca.out" "$T/ca.log")"
        # stored: hjo learns the job as the prolog would, then one pass of the db sink
        _st=$(scontrol show job -o "$ja" | sed -n 's/.* StartTime=\([0-9T:-]*\) .*/\1/p')
        _st=$(date -u -d "${_st:-now}" +%Y-%m-%dT%H:%M:%SZ)
        is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
                -H 'X-Source: t_slurm_cgroup_v1' -H 'X-Changed-By: test' \
                --data "{\"job_id\":\"slurm-$ja\",\"user\":\"root\",\"node_list\":[\"$node\"],\"timestamp\":\"$_st\",\"cpu_allocation\":1}" \
                "$HJO_URL/v1/events/job-started")" 200 "default v1 setup: slurm-$ja started in hjo"
        _mem=$(cat "$cga/memory.usage_in_bytes")
        "$cd_bin" --once --sink db --cgroup-root /sys/fs/cgroup --node "$node" >"$T/cad.out" 2>"$T/cad.log"
        is "$?" 0 "default v1 setup: collectord --once --sink db exits 0"
        _row=$(sq "SELECT count(*), bool_and(cpu_usage IS NULL AND cpu_seconds IS NULL), min(memory_usage_bytes) FROM metric_samples WHERE job_id='slurm-$ja' AND node='$node'")
        echo "# memory-only sample (count|cpu NULL|memory_usage_bytes): $_row; memory.usage_in_bytes before: $_mem"
        ok "$(case $_row in "1|t|"[1-9]*) echo 0 ;; *) echo 1 ;; esac)" \
                "default v1 setup: ... and stores a memory-only sample for it (cpu_usage and cpu_seconds NULL, memory > 0)" \
                "$_row $(cat "$T/cad.log")"
        is "$(sq "SELECT sample_count, cpu_missing_count, coalesce(max_cpu_usage::text, 'null'), max_memory_usage_mb > 0 FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id='slurm-$ja'")" \
                "1|1|null|t" "default v1 setup: job aggregates count the sample, no CPU figure invented"
fi
scancel "$ja" >/dev/null 2>&1

# ---- B: with JobAcctGatherType=jobacct_gather/cgroup Slurm also creates cpuacct job cgroups ---
if ! "$LAB_SRC/start.sh" SLURM_LAB_EXTRA_CONF=JobAcctGatherType=jobacct_gather/cgroup >>"$T/start.log" 2>&1; then
        tail -n 15 "$T/start.log" | sed 's/^/# /'
        ok 1 "lab restarted with JobAcctGatherType=jobacct_gather/cgroup"
        echo "1..$n"
        exit 1
fi
ok 0 "lab restarted with JobAcctGatherType=jobacct_gather/cgroup"

# ---- the job: ~100 MB touched, then one CPU busy for 12 s -----------------------------------
cat >"$T/burn.py" <<'EOF'
import sys, time
b = bytearray(b"x") * (100 * 1024 * 1024)   # written, so resident (a zeroed calloc is not)
open(sys.argv[1], "w").close()
t = time.time()
while time.time() - t < 12:
    pass
print(len(b))
EOF
ready=$T/allocated
job_id=$(sbatch --parsable -c1 --mem=400M -J hjo-cg1 -o "$T/job.out" -e "$T/job.err" \
        --wrap "exec $PY $T/burn.py $ready" 2>"$T/sbatch.err" | cut -d';' -f1)
ok "$([ -n "$job_id" ] && echo 0 || echo 1)" "job submitted (sbatch -c1 --mem=400M: ${job_id:-none})" \
        "$(cat "$T/sbatch.err")"
[ -n "$job_id" ] || exit 1

# where does the lab put it? (slurm_<node> or slurm, uid_0)
cg_cpu=$(find_job cpuacct "$job_id")
_i=0
while [ ! -e "$ready" ] && [ $_i -lt 100 ]; do
        sleep 0.2
        _i=$((_i + 1))
done
ok "$([ -n "$cg_cpu" ] && echo 0 || echo 1)" "job cgroup exists: ${cg_cpu:-none}"
ok "$([ -e "$ready" ] && echo 0 || echo 1)" "job allocated its memory and is burning"
if [ -z "$cg_cpu" ] || [ ! -e "$ready" ]; then
        scontrol show job "$job_id" 2>&1 | sed 's/^/# /'
        exit 1
fi
rel=${cg_cpu#/sys/fs/cgroup/cpuacct/}
cg_mem=/sys/fs/cgroup/memory/$rel
is "$([ -r "$cg_mem/memory.usage_in_bytes" ] && echo yes)" yes "memory cgroup of the job exists ($cg_mem)"

# hjo learns the job (as the prolog would): node, 1 CPU, start = Slurm's StartTime
start=$(scontrol show job -o "$job_id" | sed -n 's/.* StartTime=\([0-9T:-]*\) .*/\1/p')
start_utc=$(date -u -d "${start:-now}" +%Y-%m-%dT%H:%M:%SZ)
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H 'X-Source: t_slurm_cgroup_v1' -H 'X-Changed-By: test' \
        --data "{\"job_id\":\"slurm-$job_id\",\"user\":\"root\",\"node_list\":[\"$node\"],\"timestamp\":\"$start_utc\",\"cpu_allocation\":1,\"cgroup_path\":\"/$rel\"}" \
        "$HJO_URL/v1/events/job-started")" 200 "slurm-$job_id started in hjo (start $start_utc)"

cpu_now() { awk '{ printf "%.6f\n", $1 / 1e9 }' "$cg_cpu/cpuacct.usage"; }
mem_now() { cat "$cg_mem/memory.usage_in_bytes"; }
# collect K: one --once run, with the cgroup's own counters read just before and just after
collect() {
        eval "c_before_$1=\$(cpu_now) m_before_$1=\$(mem_now)"
        "$cd_bin" --once --sink db --cgroup-root /sys/fs/cgroup --node "$node" \
                >"$T/c$1.out" 2>"$T/c$1.log"
        eval "rc_$1=\$? c_after_$1=\$(cpu_now) m_after_$1=\$(mem_now)"
}
collect 1
sleep 2
collect 2
# shellcheck disable=SC2154 # assigned through eval in collect
{
        is "$rc_1" 0 "collectord --once (1) exits 0 on the real v1 tree"
        is "$rc_2" 0 "collectord --once (2) exits 0"
}
[ "$rc_1$rc_2" = 00 ] || sed 's/^/#   /' "$T/c1.log" "$T/c2.log"

rows=$(sq "SELECT cpu_seconds, coalesce(cpu_usage::text, 'null'), memory_usage_bytes FROM metric_samples WHERE job_id='slurm-$job_id' AND node='$node' ORDER BY ts")
echo "# samples (cpu_seconds|cpu_usage|memory_usage_bytes):"
printf '%s\n' "$rows" | sed 's/^/#   /'
dt=$(sq "SELECT extract(epoch FROM max(ts) - min(ts)) FROM metric_samples WHERE job_id='slurm-$job_id' AND node='$node'")
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
is "$(printf '%s\n' "$rows" | grep -c .)" 2 "two samples of slurm-$job_id on node $node"
s1=$(printf '%s\n' "$rows" | sed -n 1p)
s2=$(printf '%s\n' "$rows" | sed -n 2p)
cs1=${s1%%|*}
cs2=${s2%%|*}
_r=${s2#*|}
cu2=${_r%%|*}
mu2=${s2##*|}
_r=${s1#*|}
cu1=${_r%%|*}
mu1=${s1##*|}
# shellcheck disable=SC2154 # assigned through eval in collect
{
        echo "# cpuacct.usage around run 1: $c_before_1 .. $c_after_1 s, run 2: $c_before_2 .. $c_after_2 s"
        echo "# memory.usage_in_bytes around run 1: $m_before_1 .. $m_after_1, run 2: $m_before_2 .. $m_after_2"
        check "${cs2:-0} - ${cs1:-0} > 1.0" "cpu_seconds grows between the samples (${cs1:-none} -> ${cs2:-none})"
        check "$c_before_1 - 0.5 <= ${cs1:--1} <= $c_after_1 + 0.5" \
                "sample 1 cpu_seconds ${cs1:-none} within 0.5 s of cpuacct.usage ($c_before_1 .. $c_after_1)"
        check "$c_before_2 - 0.5 <= ${cs2:--1} <= $c_after_2 + 0.5" \
                "sample 2 cpu_seconds ${cs2:-none} within 0.5 s of cpuacct.usage ($c_before_2 .. $c_after_2)"
        check "'${cu2:-null}' != 'null' and float('${cu2:-0}') > 50" "cpu_usage of sample 2 > 50 % of 1 CPU while burning (${cu2:-none})"
        # sample 1 is measured from the job's start (python start-up and the allocation included)
        check "'${cu1:-null}' == 'null' or 0 < float('${cu1:-0}') <= 100" "cpu_usage of sample 1 in (0, 100] or absent (${cu1:-none})"
        check "abs(${cu2:-0} - (${cs2:-0} - ${cs1:-0}) * 100 / max(${dt:-0}, 1e-9)) < 2" \
                "cpu_usage of sample 2 = delta cpu_seconds / delta ts of the samples (${dt:-none} s apart)"
        check "${mu2:-0} >= 90 * 1048576" "memory_usage_bytes >= 90 MB (${mu2:-none})"
        check "abs(${mu1:-0} - $m_after_1) <= 0.2 * $m_after_1" \
                "sample 1 memory_usage_bytes ${mu1:-none} within 20 % of memory.usage_in_bytes $m_after_1"
        check "abs(${mu2:-0} - $m_after_2) <= 0.2 * $m_after_2" \
                "sample 2 memory_usage_bytes ${mu2:-none} within 20 % of memory.usage_in_bytes $m_after_2"
}
is "$(curl -s "$HJO_URL/v1/jobs/slurm-$job_id/metrics" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(d["total"], d["samples"][-1]["memory_usage_bytes"] == '"${mu2:-0}"')' 2>/dev/null)" "2 True" \
        "samples visible in GET /v1/jobs/slurm-$job_id/metrics"
is "$(sq "SELECT jobs_seen >= 1 FROM collector_health WHERE node='$node'")" t "collector_health row for $node"
is "$(grep -c "job_id=slurm-$job_id" "$T/c1.log" "$T/c2.log" | awk -F: '{ s += $2 } END { print s + 0 }')" 0 \
        "the job is not reported unknown"

scancel "$job_id" >/dev/null 2>&1
job_id=''
echo "# runtime $(($(date +%s) - t0)) s"
echo "1..$n"
[ "$failed" -eq 0 ]
