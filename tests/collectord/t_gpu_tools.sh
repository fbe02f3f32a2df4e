#!/bin/sh
# tests/collectord/t_gpu_tools.sh: fake nvidia-smi / rocm-smi placed first in the tool search
# path (HJO_COLLECTOR_TOOL_PATH) that hang, crash (exit 1, SIGSEGV), print garbage or too much:
# each time the tool is killed or rejected, the failure is logged and counted in
# collector_health.tool_failures, and the cycle still stores the job's cgroup sample.
# Real PostgreSQL + hjo-api (tests/integration/lib.sh).  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
command -v psql >/dev/null 2>&1 || itest_skip "psql not found"
itest_setup

cd_bin=$top_builddir/collectord/hjo-collectord
fx=$HJO_TMP/fx
sh "$top_srcdir/tests/collectord/make_fixtures.sh" "$fx" || itest_bail "fixtures"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data "{\"job_id\":\"slurm-101\",\"user\":\"alice\",\"node_list\":[\"n1\"],\"timestamp\":\"$(date -u -d '-100 sec' +%Y-%m-%dT%H:%M:%SZ)\",\"cpu_allocation\":4,\"gpu_devices\":[\"0\"]}" \
        "$HJO_URL/v1/events/job-started"

tools=$HJO_TMP/tools
mkdir -p "$tools"
fake() { # fake NAME BODY: a tool script
        printf '#!/bin/sh\n%s\n' "$2" >"$tools/$1"
        chmod 755 "$tools/$1"
}
export DATABASE_URL="$HJO_DATABASE_URL" HJO_COLLECTOR_TOOL_PATH="$tools" \
        HJO_COLLECTOR_TOOL_TIMEOUT_MS=500
# case NAME VENDOR TOOL BODY ERRNAME
case_() {
        rm -f "$tools"/*
        fake "$3" "$4"
        before=$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")
        t0=$(date +%s)
        HJO_COLLECTOR_GPU=$2 "$cd_bin" --once --sink db --cgroup-root "$fx/v2" --node n1 \
                >/dev/null 2>"$HJO_TMP/$1.log"
        rc=$?
        t1=$(date +%s)
        is "$rc" 0 "$1: the cycle completes (exit 0)"
        is "$([ $((t1 - t0)) -le 6 ] && echo yes)" yes "$1: within the deadline ($((t1 - t0)) s)"
        is "$(grep -c "GPU tool failed, skipping.*err=$5.*source=$3" "$HJO_TMP/$1.log")" 1 "$1: reported as $5"
        is "$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")" "$((before + 1))" "$1: the job's cgroup sample is stored"
        is "$(sq "SELECT tool_failures >= 1 FROM collector_health WHERE node='n1'")" t "$1: counted in collector_health.tool_failures"
        is "$(sq "SELECT count(*) FROM gpu_samples")" 0 "$1: no GPU value invented"
}
case_ hang nvidia nvidia-smi 'exec sleep 30' ETIMEDOUT
case_ exit1 nvidia nvidia-smi 'echo "NVIDIA-SMI has failed" ; exit 1' EPROTO
case_ segv nvidia nvidia-smi 'kill -SEGV $$' EPROTO
case_ garbage nvidia nvidia-smi 'echo "this is not, csv"' EPROTO
# a real nvidia-smi capture of another --query-gpu field list (fixtures/README.md): refused as
# EPROTO (19 columns where 8 were asked for), never misread into GPU values
real=$(cd "$top_srcdir/tests/collectord/fixtures" && pwd)/nvidia-smi-gpu-utils83-nounits.csv
case_ real_other_fields nvidia nvidia-smi "cat '$real'" EPROTO
case_ flood nvidia nvidia-smi 'exec yes "0, GPU-0, A100, 50, 1, 2, 3, 4"' E2BIG
case_ rocm_garbage amd rocm-smi 'echo "{\"card0\": [1, 2"' EPROTO
case_ rocm_hang amd rocm-smi 'exec sleep 30' ETIMEDOUT
is "$(pgrep -f "$tools/" | wc -l)" 0 "no fake tool left running"

echo "1..$n"
[ "$nfail" -eq 0 ]
