#!/bin/sh
# tests/slurm/t_hooks_env.sh: scripts/slurm/prolog.sh and epilog.sh run exactly as Slurm runs
# them (env -i: no PATH, only the variables of a hook environment recorded on a real Slurm 22.05,
# tests/slurm/fixtures/*.env) against a real hjo stack (tests/integration/lib.sh), then checked
# through GET /v1/jobs/slurm-N.  Also: hostlist and CPU-count parsing, JSON escaping, spooling
# and ordered delivery, 4xx/5xx handling, time bounds against a server that never answers, the
# token and config files, cgroup discovery, and the integration guide's manual check.  TAP.
#
# Manual run: cd /work/main && (test -d build || scripts/test.sh)
#             top_srcdir=$PWD top_builddir=$PWD/build sh tests/slurm/t_hooks_env.sh
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
set -u

HOOK=$top_srcdir/scripts/slurm/prolog.sh
EPILOG=$top_srcdir/scripts/slurm/epilog.sh
FIX=$top_srcdir/tests/slurm/fixtures
PY=/usr/bin/python3
[ -r "$HOOK" ] || itest_bail "$HOOK missing"

itest_setup
T=$HJO_TMP/slurm
mkdir -p "$T"
SPOOL=$T/spool
LOG=$T/hooks.log
: >"$LOG"

n=0
failed=0
ok() { # ok COND-RESULT(0/1) DESCRIPTION [DIAG]
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2"
                [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
        fi
}
is() { # is GOT WANT DESCRIPTION
        if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got:  $1
want: $2"; fi
}

# ---- running a hook -------------------------------------------------------------------------

hook_rcs=''   # exit statuses of every hook run (all must be 0)
# run_env SCRIPT FIXTURE|- JOBID [VAR=VALUE...]: runs SCRIPT under env -i with the fixture's
# variables (job id replaced by JOBID), the test's defaults, then the extra assignments.
run_env() {
        _re_script=$1 _re_fix=$2 _re_id=$3
        shift 3
        _re_args=$T/args.$$
        : >"$_re_args"
        if [ "$_re_fix" != - ]; then
                while IFS= read -r _re_l; do
                        case $_re_l in
                        SLURM_JOB_ID=* | SLURM_JOBID=*) _re_l="${_re_l%%=*}=$_re_id" ;;
                        PWD=*) continue ;;
                        esac
                        # shellcheck disable=SC2016 # a literal ${SLURM_LAB_DIR} in the recorded files
                        printf '%s\n' "$_re_l" | sed 's#\${SLURM_LAB_DIR}#/tmp/slurm-lab#g' >>"$_re_args"
                done <"$FIX/$_re_fix.env"
        fi
        set -- "OBSERVABILITY_URL=$HJO_URL" "HJO_SPOOL_DIR=$SPOOL" HJO_LOG=stderr \
                "HJO_HOOKS_CONF=$T/no-such.conf" HJO_ASK_SLURMCTLD=no \
                HJO_NVIDIA_SMI=/nonexistent HJO_ROCM_SMI=/nonexistent \
                "HJO_CGROUP_ROOT=$T/no-cgroup" "$@"
        # The fixture's variables first, the overrides last (env keeps the last assignment).
        _re_n=$#
        while IFS= read -r _re_l; do set -- "$@" "$_re_l"; done <"$_re_args"
        # rotate: move the first _re_n arguments (defaults and overrides) to the end
        while [ "$_re_n" -gt 0 ]; do
                set -- "$@" "$1"
                shift
                _re_n=$((_re_n - 1))
        done
        rm -f "$_re_args"
        _re_rc=0
        env -i "$@" /bin/sh "$_re_script" >"$T/last.out" 2>"$T/last.log" </dev/null || _re_rc=$?
        cat "$T/last.log" >>"$LOG"
        hook_rcs="$hook_rcs $_re_rc"
        return 0
}

# pair SAMPLE CONTEXT-KIND JOBID [VAR=VALUE...]: prolog then epilog of one recorded job.
pair() {
        _p_s=$1 _p_k=$2 _p_id=$3
        shift 3
        run_env "$HOOK" "$_p_s.prolog_$_p_k" "$_p_id" "$@"
        run_env "$EPILOG" "$_p_s.epilog_$_p_k" "$_p_id" "$@"
}

# job ID: fetches /v1/jobs/slurm-ID into $T/job.json, prints the HTTP status.
job() {
        curl -s -o "$T/job.json" -w '%{http_code}' --max-time 5 "$HJO_URL/v1/jobs/slurm-$1"
}
# jf FIELD: the field of $T/job.json as compact JSON (strings quoted).
jf() {
        "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(d.get(sys.argv[2], "<absent>"), ensure_ascii=False, separators=(",", ":")))' \
                "$T/job.json" "$1" 2>/dev/null || echo '<no json>'
}
# check ID FIELD=JSON...: one assertion per field of GET /v1/jobs/slurm-ID.
check() {
        _c_id=$1
        shift
        _c_code=$(job "$_c_id")
        is "$_c_code" 200 "slurm-$_c_id exists"
        for _c_kv in "$@"; do
                is "$(jf "${_c_kv%%=*}")" "${_c_kv#*=}" "slurm-$_c_id ${_c_kv%%=*} = ${_c_kv#*=}"
        done
}
spool_count() {
        find "$SPOOL" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null | wc -l | tr -d ' '
}
now_ms() { "$PY" -c 'import time; print(int(time.time() * 1000))'; }

server_pid=''
start_server() { # MODE [CAPTURE]: starts fake_server.py, sets $server_port
        rm -f "$T/port"
        "$PY" "$top_srcdir/tests/slurm/fake_server.py" "$1" "$T/port" "${2:-}" &
        server_pid=$!
        _ss_i=0
        while [ ! -s "$T/port" ] && [ $_ss_i -lt 50 ]; do
                sleep 0.1
                _ss_i=$((_ss_i + 1))
        done
        server_port=$(cat "$T/port" 2>/dev/null)
}
stop_server() {
        [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null
        [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null
        server_pid=''
}

# fakes for scontrol, nvidia-smi and rocm-smi (absolute paths: hooks run without PATH)
mkdir -p "$T/bin"
cat >"$T/bin/scontrol" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"${FAKE_SCONTROL_ARGS:-/dev/null}"
[ "${FAKE_SCONTROL_SLEEP:-0}" = 0 ] || sleep "$FAKE_SCONTROL_SLEEP"
[ -n "${FAKE_SCONTROL_OUT:-}" ] || exit 1
cat "$FAKE_SCONTROL_OUT"
EOF
cat >"$T/bin/nvidia-smi" <<'EOF'
#!/bin/sh
[ "$*" = "--query-gpu=index,uuid --format=csv,noheader" ] || exit 2
printf '0, GPU-11111111-2222-3333-4444-555555555555\n1, GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n'
EOF
cat >"$T/bin/rocm-smi" <<'EOF'
#!/bin/sh
[ "$*" = "--showuniqueid --csv" ] || exit 2
printf 'device,Unique ID\ncard0,0x18f68e602b8a790f\ncard1,0x2a3b4c5d6e7f8091\n'
EOF
chmod 755 "$T/bin/"*
SC="HJO_SCONTROL=$T/bin/scontrol"
ASK=HJO_ASK_SLURMCTLD=yes

t0=$(date +%s)

# ---- 1. parsing units -----------------------------------------------------------------------
hl() { "$HOOK" --expand-hostlist "$1" | tr '\n' ' ' | sed 's/ $//'; }
is "$(hl 'node[01-03,07]')" "node01 node02 node03 node07" "hostlist node[01-03,07]"
is "$(hl 'a[1-2],b3')" "a1 a2 b3" "hostlist a[1-2],b3"
is "$(hl 'r[1-2]n[01-02]')" "r1n01 r1n02 r2n01 r2n02" "hostlist with two bracket groups"
is "$(hl 'gpu-[8-11]')" "gpu-8 gpu-9 gpu-10 gpu-11" "hostlist without padding crosses a digit count"
is "$(hl 'x[098-101],y,z[1]')" "x098 x099 x100 x101 y z1" "hostlist zero padding kept past 99, plain names, single-element group"
is "$(hl 'vm')" "vm" "hostlist of one plain name"
is "$("$HOOK" --expand-hostlist 'n[1-100000]' | wc -l | tr -d ' ')" 4096 "hostlist expansion capped at 4096 hosts"
is "$("$HOOK" --cpus-total 4)" 4 "cpus-per-node 4"
is "$("$HOOK" --cpus-total '2(x3)')" 6 "cpus-per-node 2(x3) = 6"
is "$("$HOOK" --cpus-total '4,2(x2)')" 8 "cpus-per-node 4,2(x2) = 8"
is "$("$HOOK" --cpus-total '16(x2),8,1(x3)')" 43 "cpus-per-node 16(x2),8,1(x3) = 43"
is "$("$HOOK" --cpus-total 'garbage')" "" "cpus-per-node garbage gives nothing"
js() { "$HOOK" --json-string "$1" | head -n 1; }  # a JSON string
jn() { "$HOOK" --json-string "$1" | tail -n 1; }  # a name (user, account, ...)
is "$(js "$(printf 'q"b\\s\tt\001c é ✓')")" \
        '{"v":"q\"b\\s\tt\u0001c é ✓"}' "JSON string escaping (quote, backslash, tab, control, UTF-8 kept)"
is "$(js "$(printf 'bad\377\300\200x\355\240\200y\360\237\230\200')")" \
        '{"v":"bad\ufffd\ufffd\ufffdx\ufffd\ufffd\ufffdy😀"}' "invalid UTF-8 (stray, overlong, surrogate) becomes U+FFFD; 4-byte UTF-8 kept"
is "$(jn "$(printf 'a"\\b\tc\001')")" '{"v":"a\"\\b�c�"}' "names: control characters become U+FFFD (the service refuses them)"
long=$(printf '%0253d' 0)
is "$(jn "${long}é✓" | "$PY" -c 'import json, sys; v = json.loads(sys.stdin.read())["v"]; print(len(v.encode()), v[-2:])')" \
        "255 0é" "names: cut to 255 bytes at a character boundary"
if cmp -s "$HOOK" "$EPILOG"; then ok 0 "epilog.sh is the same script as prolog.sh"; else ok 1 "epilog.sh is the same script as prolog.sh"; fi

# ---- 2. recorded environments, controller hooks (PrologSlurmctld/EpilogSlurmctld) -----------
pair batch-exit3 slurmctld 1001
check 1001 state='"failed"' exit_code=3 signal=0 user='"root"' nodes='["vm"]' partition='"lab"' \
        account=null cluster_name='"lab"' allocated_cpus=1 slurm_state=null gpu_vendor=null
pair batch-kill9 slurmctld 1002
check 1002 exit_code=0 signal=9 state='"cancelled"'
: >"$T/sc.args"
pair batch-scancel slurmctld 1003 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-scancel.txt" \
        "FAKE_SCONTROL_ARGS=$T/sc.args"
check 1003 state='"cancelled"' exit_code=0 signal=15 slurm_state=null
is "$(cat "$T/sc.args")" "show job -o 1003" "EpilogSlurmctld asked scontrol show job -o <id> once (0:0 in the environment)"
pair batch-timelimit slurmctld 1004 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-timelimit.txt"
check 1004 state='"cancelled"' slurm_state='"TIMEOUT"' exit_code=0 signal=15
b=$(now_ms)
pair batch-scancel slurmctld 1011 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-scancel-during-prolog.txt"
e=$(now_ms)
# (ambiguous: a job cancelled during its prolog, or a short job with a stale reason): exit
# unknown, no guessed state -- the service's default stands until reconciliation corrects it
check 1011 state='"completed"' exit_code=null signal=null slurm_state=null
ok $(($((e - b)) >= 2000 && $((e - b)) < 6000 ? 0 : 1)) "0:0 with Reason=Prolog: scontrol asked again for about 2 s ($((e - b)) ms)"
pair srun-exit5 slurmctld 1005
check 1005 state='"failed"' exit_code=5 signal=0 partition='"lab"'
pair batch-gpu-account-comment slurmctld 1006 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-completed.txt"
check 1006 state='"completed"' exit_code=0 signal=0 account='"acme"' allocated_gpus=null gpu_devices='[]'
pair batch-2tasks-srun slurmctld 1007 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-completed.txt"
check 1007 state='"completed"' allocated_cpus=2 exit_code=0
: >"$T/sc.args"
pair batch-scancel slurmctld 1008 "FAKE_SCONTROL_ARGS=$T/sc.args" "$SC"
check 1008 exit_code=null signal=null slurm_state=null
is "$(cat "$T/sc.args")" "" "HJO_ASK_SLURMCTLD=no: scontrol not run, exit unknown (null) for reconciliation"
pair batch-scancel slurmctld 1009 "$SC" "$ASK"
check 1009 exit_code=null signal=null
b=$(now_ms)
pair batch-timelimit slurmctld 1010 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-timelimit.txt" \
        FAKE_SCONTROL_SLEEP=30 HJO_SCONTROL_TIMEOUT=1
e=$(now_ms)
check 1010 exit_code=null signal=null slurm_state=null
ok $(($((e - b)) < 5000 ? 0 : 1)) "a hanging scontrol is cut off by HJO_SCONTROL_TIMEOUT ($((e - b)) ms for both hooks)"

# ---- 3. recorded environments, compute-node hooks (Prolog/Epilog) ---------------------------
pair batch-exit3 slurmd 1101
check 1101 state='"failed"' exit_code=3 signal=0 nodes='["vm"]' user='"root"' cluster_name='"lab"' \
        account=null allocated_gpus=0 gpu_vendor='"none"' cgroup_path=null
pair batch-kill9 slurmd 1102
check 1102 signal=9 exit_code=0
pair batch-scancel slurmd 1103 "$SC" "$ASK" "FAKE_SCONTROL_OUT=$FIX/scontrol-scancel.txt" \
        "FAKE_SCONTROL_ARGS=$T/sc.args"
check 1103 exit_code=null signal=null slurm_state=null
is "$(grep -c 1103 "$T/sc.args")" 0 "a slurmd Epilog never calls scontrol"
pair batch-timelimit slurmd 1104
check 1104 exit_code=null signal=null
pair srun-exit5 slurmd 1105
check 1105 state='"failed"' exit_code=5
pair batch-gpu-account-comment slurmd 1106
if [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; then v='"nvidia"'; elif [ -e /dev/kfd ]; then v='"amd"'; else v=null; fi
check 1106 account='"acme"' allocated_gpus=1 gpu_devices='["0"]' gpu_vendor="$v" exit_code=null
pair batch-gpu-account-comment slurmd 1116 "HJO_NVIDIA_SMI=$T/bin/nvidia-smi"
check 1116 allocated_gpus=1 gpu_vendor='"nvidia"' gpu_devices='["GPU-11111111-2222-3333-4444-555555555555"]'
run_env "$HOOK" batch-gpu-account-comment.prolog_slurmd 1117 "HJO_NVIDIA_SMI=$T/bin/nvidia-smi" \
        SLURM_JOB_GPUS=1,0 CUDA_VISIBLE_DEVICES=1,0
check 1117 allocated_gpus=2 gpu_devices='["GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","GPU-11111111-2222-3333-4444-555555555555"]'
run_env "$HOOK" batch-gpu-account-comment.prolog_slurmd 1118 "HJO_ROCM_SMI=$T/bin/rocm-smi"
check 1118 gpu_vendor='"amd"' gpu_devices='["0x18f68e602b8a790f"]'
pair batch-2tasks-srun slurmd 1107
check 1107 allocated_cpus=2 nodes='["vm"]'

# head node only; several nodes
run_env "$HOOK" batch-exit3.prolog_slurmd 1201 'SLURM_NODELIST=vm[1-2],other' SLURMD_NODENAME=vm2
is "$(job 1201)" 404 "a compute node that is not the head node sends nothing"
run_env "$HOOK" batch-exit3.prolog_slurmd 1202 'SLURM_NODELIST=vm[1-2],other' SLURMD_NODENAME=vm1 \
        'SLURM_JOB_CPUS_PER_NODE=4,2(x2)' SLURM_JOB_NUM_NODES=3
check 1202 nodes='["vm1","vm2","other"]' node_count=3 allocated_cpus=8
run_env "$HOOK" batch-exit3.prolog_slurmctld 1203 'SLURM_JOB_NODELIST=node[01-03,07]' \
        'SLURM_JOB_CPUS_PER_NODE=2(x4)'
check 1203 nodes='["node01","node02","node03","node07"]' allocated_cpus=8

# the switch between slurmd and slurmctld hooks
run_env "$HOOK" batch-exit3.prolog_slurmctld 1301 HJO_HOOK_MODE=slurmd
is "$(job 1301)" 404 "HJO_HOOK_MODE=slurmd: PrologSlurmctld sends nothing"
pair batch-exit3 slurmctld 1302 HJO_HOOK_MODE=slurmctld
run_env "$EPILOG" batch-scancel.epilog_slurmd 1302 HJO_HOOK_MODE=slurmctld
check 1302 state='"failed"' exit_code=3
run_env "$HOOK" batch-exit3.prolog_slurmd 1303 HJO_HOOK_MODE=slurmctld
is "$(job 1303)" 404 "HJO_HOOK_MODE=slurmctld: a slurmd Prolog with nothing node-local to add sends nothing"
run_env "$HOOK" batch-gpu-account-comment.prolog_slurmd 1304 HJO_HOOK_MODE=slurmctld
check 1304 gpu_devices='["0"]'
run_env "$EPILOG" batch-exit3.epilog_slurmd 1304 HJO_HOOK_MODE=slurmctld
check 1304 state='"running"'
run_env "$HOOK" batch-exit3.prolog_slurmctld 1305 HJO_HOOK_MODE=off
is "$(job 1305)" 404 "HJO_HOOK_MODE=off sends nothing"

# ---- 4. JSON escaping end to end ------------------------------------------------------------
acct=$(printf 'we"ird\\acct\tünï ✓')
run_env "$HOOK" batch-exit3.prolog_slurmctld 1401 "SLURM_JOB_ACCOUNT=$acct" 'SLURM_JOB_PARTITION=pärt "x"'
check 1401 account='"we\"ird\\acct�ünï ✓"' partition='"pärt \"x\""'
run_env "$HOOK" batch-exit3.prolog_slurmctld 1402 "SLURM_JOB_ACCOUNT=$(printf 'l\351gacy\nline')" \
        'SLURM_JOB_USER=al"ice'
check 1402 account='"l�gacy�line"' user='"al\"ice"'
run_env "$HOOK" batch-exit3.prolog_slurmctld 1403 'SLURM_JOB_NODELIST=good,bad_name!,a..b,ok[1-2]'
check 1403 nodes='["good","ok1","ok2"]'
run_env "$HOOK" batch-gpu-account-comment.prolog_slurmd 1404 'SLURM_JOB_GPUS=0,1' "HJO_NVIDIA_SMI=$T/bin/nvidia-smi" \
        "SLURM_JOB_ACCOUNT=$(printf '%0300d' 0)"
check 1404 account="\"$(printf '%0255d' 0)\"" allocated_gpus=2

# ---- 5. the manual check of the integration guide ------------------------------------------
mkdir -p "$T/etc/slurm/prolog.d" "$T/etc/slurm/epilog.d"
cp "$HOOK" "$T/etc/slurm/prolog.d/50-observability.sh"
cp "$EPILOG" "$T/etc/slurm/epilog.d/50-observability.sh"
chmod +x "$T/etc/slurm/prolog.d/50-observability.sh" "$T/etc/slurm/epilog.d/50-observability.sh"
me=$(id -un)
host=$(hostname)
guide_env() {
        env -i "PATH=$PATH" "OBSERVABILITY_URL=$HJO_URL" "HJO_SPOOL_DIR=$SPOOL" HJO_LOG=stderr \
                "HJO_HOOKS_CONF=$T/no-such.conf" SLURM_JOB_ID=99999 "SLURM_JOB_USER=$me" \
                "SLURM_NODELIST=$host" SLURM_JOB_NUM_NODES=1 SLURM_NODEID=0 "$@"
}
guide_env "$T/etc/slurm/prolog.d/50-observability.sh" 2>>"$LOG"
hook_rcs="$hook_rcs $?"
is "$(curl -s -o "$T/job.json" -w '%{http_code}' "$HJO_URL/v1/jobs/slurm-99999")" 200 \
        "guide: prolog run by hand, then curl /v1/jobs/slurm-99999 answers 200"
check 99999 state='"running"' user="\"$me\"" nodes="[\"$host\"]"
guide_env SLURM_JOB_EXIT_CODE=0 "$T/etc/slurm/epilog.d/50-observability.sh" 2>>"$LOG"
hook_rcs="$hook_rcs $?"
check 99999 state='"completed"' exit_code=0 signal=0

# ---- 6. spooling: service unreachable, then delivery in order --------------------------------
closed=$(hjo_free_port)
rm -rf "$SPOOL"
run_env "$HOOK" batch-exit3.prolog_slurmctld 1501 "OBSERVABILITY_URL=http://127.0.0.1:$closed"
run_env "$EPILOG" batch-exit3.epilog_slurmctld 1501 "OBSERVABILITY_URL=http://127.0.0.1:$closed/"
is "$(spool_count)" 2 "service down: both events spooled"
is "$(job 1501)" 404 "service down: nothing delivered"
is "$(stat -c %a "$SPOOL")" 700 "spool directory created with mode 0700"
is "$(find "$SPOOL" -maxdepth 1 -type f | sed 's#.*/##' | grep -c '^[0-9]*\.[0-9]*-[12]-job-\(started\|finished\)-slurm-1501-\(prolog\|epilog\)_slurmctld\.json$')" 2 \
        "spool files named <epoch.ns>-<rank>-<type>-<job>-<context>.json"
is "$(find "$SPOOL" -maxdepth 1 -name '[0-9]*.json' | LC_ALL=C sort | sed 's/.*-\(job-[a-z]*\)-.*/\1/' | tr '\n' ' ')" \
        "job-started job-finished " "spool order: started before finished"
grep -q 'spooled job-started slurm-1501' "$T/last.log" 2>/dev/null ||
        grep -q 'spooled job-started slurm-1501' "$LOG"
ok $? "the failure is logged, naming the event"
: >"$T/flush.log"
run_env "$HOOK" batch-2tasks-srun.prolog_slurmctld 1502
cp "$T/last.log" "$T/flush.log"
is "$(spool_count)" 0 "service back: the next hook run empties the spool"
check 1501 state='"failed"' exit_code=3
is "$(jf start_time | grep -c 'T')" 1 "slurm-1501 got its start time from the spooled job-started"
is "$(grep -o 'delivered job-[a-z]* slurm-150[12]: [a-z]*' "$T/flush.log" | tr '\n' '|')" \
        "delivered job-started slurm-1501: created|delivered job-finished slurm-1501: updated|delivered job-started slurm-1502: created|" \
        "delivered oldest first: start (created), finish (updated), then the new event"

# 5xx keeps the event; 4xx other than 408/429 drops it into rejected/ and is never retried
start_server status:503
run_env "$HOOK" batch-exit3.prolog_slurmctld 1601 "OBSERVABILITY_URL=http://127.0.0.1:$server_port"
stop_server
is "$(spool_count)" 1 "HTTP 503: event kept in the spool"
grep -q 'spooled job-started slurm-1601.*HTTP 503' "$T/last.log"
ok $? "HTTP 503 logged as not delivered"
start_server status:429
run_env "$HOOK" - 0 "OBSERVABILITY_URL=http://127.0.0.1:$server_port"
stop_server
is "$(spool_count)" 1 "HTTP 429: event kept in the spool (retried later)"
printf '{"job_id":"slurm-1602","bogus":1}\n' >"$SPOOL/0000000001.000000000-1-job-started-slurm-1602-prolog_slurmctld.json"
run_env "$HOOK" - 0
is "$(spool_count)" 0 "4xx event removed from the spool, the next one still delivered"
is "$(find "$SPOOL/rejected" -name '*slurm-1602*' 2>/dev/null | wc -l | tr -d ' ')" 1 "4xx event kept in rejected/"
grep -q 'rejected job-started slurm-1602: HTTP 400' "$T/last.log"
ok $? "4xx logged as rejected with its status"
check 1601 state='"running"'
run_env "$HOOK" - 0
is "$(grep -c 1602 "$T/last.log")" 0 "a rejected event is not retried"

# lock: another hook delivering -> this one spools and leaves
flock "$SPOOL/.lock" sleep 1.5 &
lockpid=$!
sleep 0.3
b=$(now_ms)
run_env "$HOOK" batch-exit3.prolog_slurmctld 1701
e=$(now_ms)
is "$(spool_count)" 1 "lock held by another hook: event left in the spool"
ok $(($((e - b)) < 2000 ? 0 : 1)) "lock held: the hook does not wait for it ($((e - b)) ms)"
wait "$lockpid"
run_env "$HOOK" - 0
is "$(spool_count)" 0 "lock released: delivered by the next run"
check 1701 state='"running"'

# flush budget
for i in 1 2 3; do
        run_env "$HOOK" batch-exit3.prolog_slurmctld "180$i" "OBSERVABILITY_URL=http://127.0.0.1:$closed"
done
run_env "$HOOK" - 0 HJO_FLUSH_MAX=2
is "$(spool_count)" 1 "HJO_FLUSH_MAX=2: two delivered, one left"
is "$(job 1801)$(job 1802)$(job 1803)" 200200404 "the oldest two were delivered"
run_env "$HOOK" - 0

# ---- 7. time bounds -------------------------------------------------------------------------
start_server blackhole
b=$(now_ms)
run_env "$HOOK" batch-exit3.prolog_slurmctld 1901 "OBSERVABILITY_URL=http://127.0.0.1:$server_port"
e=$(now_ms)
ok $(($((e - b)) <= 7000 ? 0 : 1)) "server that never answers: prolog returns within ~6 s (limit 7 s for a loaded machine; $((e - b)) ms)"
ok $(($((e - b)) >= 4000 ? 0 : 1)) "... after waiting for the 5 s --max-time, not failing early"
is "$(spool_count)" 1 "... and the event is spooled"
b=$(now_ms)
run_env "$EPILOG" batch-exit3.epilog_slurmctld 1901 "OBSERVABILITY_URL=http://127.0.0.1:$server_port" HJO_MAX_TIME=1
e=$(now_ms)
ok $(($((e - b)) <= 2500 ? 0 : 1)) "HJO_MAX_TIME=1 bounds the run to about 1 s with a spool backlog ($((e - b)) ms)"
stop_server
run_env "$HOOK" - 0
check 1901 state='"failed"' exit_code=3

# ---- 8. token, CA, configuration file -------------------------------------------------------
start_server capture "$T/capture.jsonl"
printf 's3cr3t-T0ken.x\n' >"$T/token"
chmod 600 "$T/token"
run_env "$HOOK" batch-exit3.prolog_slurmctld 2001 "OBSERVABILITY_URL=http://127.0.0.1:$server_port" \
        "HJO_TOKEN_FILE=$T/token"
chmod 644 "$T/token"
run_env "$HOOK" batch-exit3.prolog_slurmctld 2002 "OBSERVABILITY_URL=http://127.0.0.1:$server_port" \
        "HJO_TOKEN_FILE=$T/token"
stop_server
hdr() { # LINE HEADER
        sed -n "${1}p" "$T/capture.jsonl" | "$PY" -c 'import json, sys
r = json.loads(sys.stdin.read()); h = {k.lower(): v for k, v in r["headers"].items()}
print(h.get(sys.argv[1].lower(), "<none>") if sys.argv[1] != "path" else r["path"])' "$2"
}
is "$(hdr 1 Authorization)" "Bearer s3cr3t-T0ken.x" "token file 0600: Authorization: Bearer sent"
is "$(hdr 2 Authorization)" "<none>" "token file readable by others: not used"
is "$(hdr 1 X-Source)" "slurm-prolog-slurmctld" "X-Source names the hook context"
is "$(hdr 1 path)" "/v1/events/job-started" "posted to /v1/events/job-started"
is "$(grep -c s3cr3t "$LOG")" 0 "the token never appears in the log"
is "$(sed -n 1p "$T/capture.jsonl" | "$PY" -c 'import json, sys; b = json.loads(json.loads(sys.stdin.read())["body"]); print(sorted(b))')" \
        "['account', 'cgroup_path', 'cluster', 'cpu_allocation', 'gpu_allocation', 'gpu_devices', 'gpu_vendor', 'job_id', 'memory_allocation_mb', 'node_list', 'partition', 'timestamp', 'user']" \
        "job-started body has exactly the API's fields"

# shellcheck disable=SC2016 # the $(touch) must reach the file unexpanded
printf '# hjo hooks\nOBSERVABILITY_URL="%s"\nHJO_CONNECT_TIMEOUT=2\nNOT_A_KEY=$(touch %s)\n' \
        "$HJO_URL" "$T/pwned" >"$T/hooks.conf"
chmod 600 "$T/hooks.conf"
env -i "HJO_SPOOL_DIR=$SPOOL" HJO_LOG=stderr "HJO_HOOKS_CONF=$T/hooks.conf" SLURM_SCRIPT_CONTEXT=prolog_slurmctld \
        SLURM_JOB_ID=2102 SLURM_JOB_USER=u SLURM_JOB_NODELIST=vm /bin/sh "$HOOK" 2>>"$LOG"
hook_rcs="$hook_rcs $?"
check 2102 user='"u"'
is "$(test -e "$T/pwned" && echo yes || echo no)" no "config file values are never executed"
chmod 666 "$T/hooks.conf"
env -i "HJO_SPOOL_DIR=$SPOOL" HJO_LOG=stderr "HJO_HOOKS_CONF=$T/hooks.conf" SLURM_SCRIPT_CONTEXT=prolog_slurmctld \
        SLURM_JOB_ID=2103 SLURM_JOB_USER=u SLURM_JOB_NODELIST=vm HJO_CONNECT_TIMEOUT=1 HJO_MAX_TIME=1 \
        /bin/sh "$HOOK" 2>"$T/last.log"
hook_rcs="$hook_rcs $?"
is "$(job 2103)" 404 "a world-writable config file is ignored"
grep -q 'ignoring .*hooks.conf' "$T/last.log"
ok $? "... and that is logged"
find "$SPOOL" -maxdepth 1 -name '*slurm-2103*' -delete
run_env "$HOOK" batch-exit3.prolog_slurmctld 2104 "HJO_HOOKS_CONF=$T/hooks.conf" 'HJO_CA_FILE=/nonexistent/ca.pem'
is "$(job 2104)" 200 "HJO_CA_FILE is passed to curl only for https (plain http unaffected)"

# ---- 9. cgroups (fake trees) -------------------------------------------------------------------
cg2=$T/cg2
mkdir -p "$cg2/system.slice/slurmstepd.scope/job_2201" "$cg2/system.slice/vm_slurmstepd.scope/job_2202"
: >"$cg2/cgroup.controllers"
echo 1073741824 >"$cg2/system.slice/slurmstepd.scope/job_2201/memory.max"
echo max >"$cg2/system.slice/vm_slurmstepd.scope/job_2202/memory.max"
run_env "$HOOK" batch-exit3.prolog_slurmd 2201 "HJO_CGROUP_ROOT=$cg2"
check 2201 cgroup_path="\"$cg2/system.slice/slurmstepd.scope/job_2201\"" allocated_memory_mb=1024
run_env "$HOOK" batch-exit3.prolog_slurmd 2202 "HJO_CGROUP_ROOT=$cg2"
check 2202 cgroup_path="\"$cg2/system.slice/vm_slurmstepd.scope/job_2202\"" allocated_memory_mb=null
cg1=$T/cg1
mkdir -p "$cg1/memory/slurm_vm/uid_0/job_2203"
echo 536870912 >"$cg1/memory/slurm_vm/uid_0/job_2203/memory.limit_in_bytes"
run_env "$HOOK" batch-exit3.prolog_slurmd 2203 "HJO_CGROUP_ROOT=$cg1"
check 2203 cgroup_path="\"$cg1/memory/slurm_vm/uid_0/job_2203\"" allocated_memory_mb=512
run_env "$HOOK" batch-exit3.prolog_slurmd 2204 "HJO_CGROUP_ROOT=$cg2"
check 2204 cgroup_path=null

# ---- 10. robustness ---------------------------------------------------------------------------
run_env "$HOOK" - 0 SLURM_SCRIPT_CONTEXT=prolog_slurmctld SLURM_JOB_ID=abc
is "$(spool_count)" 0 "invalid job id: nothing queued"
run_env "$HOOK" - 0 SLURM_SCRIPT_CONTEXT=bogus SLURM_JOB_ID=2301
is "$(job 2301)" 404 "unknown SLURM_SCRIPT_CONTEXT: nothing sent"
run_env "$EPILOG" batch-exit3.epilog_slurmctld 2302 SLURM_JOB_EXIT_CODE2=99999999999999999999:1 SLURM_JOB_EXIT_CODE=x
check 2302 exit_code=null signal=null
run_env "$EPILOG" batch-exit3.epilog_slurmctld 2303 SLURM_JOB_EXIT_CODE2= SLURM_JOB_EXIT_CODE=253
check 2303 slurm_state='"OUT_OF_MEMORY"' state='"failed"' signal=null exit_code=0
run_env "$EPILOG" batch-exit3.epilog_slurmctld 2304 SLURM_JOB_EXIT_CODE2= SLURM_JOB_EXIT_CODE=33280
check 2304 exit_code=130 signal=0
run_env "$HOOK" batch-exit3.prolog_slurmctld 2305 HJO_SPOOL_DIR=/proc/no/spool
check 2305 state='"running"'
run_env "$HOOK" batch-exit3.prolog_slurmctld 2306 HJO_SPOOL_DIR=/proc/no/spool "OBSERVABILITY_URL=http://127.0.0.1:$closed"
grep -q 'LOST job-started slurm-2306' "$T/last.log"
ok $? "no usable spool and no service: the loss is logged"
is "$(grep -cv '^hjo-hook: ' "$LOG")" 0 "every log line comes from the hook's logger (prefix hjo-hook:)"

bad=$(printf '%s\n' "$hook_rcs" | tr ' ' '\n' | grep -v '^$' | grep -cv '^0$')
is "$bad" 0 "every hook run exited 0 ($(printf '%s\n' "$hook_rcs" | wc -w | tr -d ' ') runs)"
echo "# runtime $(($(date +%s) - t0)) s"
echo "1..$n"
[ "$failed" -eq 0 ]
