#!/bin/sh
# tests/collectord/t_cgroup_real.sh: hjo-collectord on this machine's real cgroup v2 mount.
# Creates <cgroup2>/hjo-test.PID/system.slice/slurmstepd.scope/job_42, burns about 0.5 s of CPU
# in a process moved into it, and checks that the cpu_seconds collectord reports match the
# CPU time that process used (its own os.times()), within 50 ms + 10 %.  Skips (TAP "1..0 #
# SKIP") where there is no writable cgroup2 mount or no python3.  Prints TAP.
: "${top_builddir:?top_builddir must be set (automake exports it)}"
skip() { printf '1..0 # SKIP %s\n' "$*"; exit 0; }
mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$mnt" ] || skip "no cgroup2 mount on this machine"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not found"
base=$mnt/hjo-test.$$
job=$base/system.slice/slurmstepd.scope/job_42
mkdir -p "$job" 2>/dev/null || skip "cannot create a child cgroup under $mnt (not root?)"
[ -r "$job/cpu.stat" ] || { rmdir -p "$job" 2>/dev/null; skip "no cpu.stat in a cgroup2 child"; }
cleanup() {
        rmdir "$job" "$base/system.slice/slurmstepd.scope" "$base/system.slice" "$base" 2>/dev/null
}
trap cleanup EXIT
own=$(sh -c "echo \$\$ > '$job/cgroup.procs' && exec /usr/bin/python3 -c '
import os, time
t = time.process_time()
while time.process_time() - t < 0.5:
    pass
u = os.times()
print(\"%.6f\" % (u.user + u.system))
'")
out=$(HJO_COLLECTOR_GPU=none "$top_builddir/collectord/hjo-collectord" --once --sink stdout \
        --cgroup-root "$base" --node realtest 2>/dev/null)
got=$(printf '%s\n' "$out" | sed -n 's/.*job_id=slurm-42 .*cpu_seconds=\([0-9.]*\).*/\1/p')
echo "1..2"
if [ -n "$got" ]; then echo "ok 1 - collectord sampled the real cgroup (cpu_seconds=$got)"; else echo "not ok 1 - no sample for slurm-42"; printf '%s\n' "$out" | sed 's/^/# /'; fi
if /usr/bin/python3 -c "import sys; g=float('${got:-0}'); o=float('$own'); sys.exit(0 if abs(g-o) <= 0.05 + 0.1*o else 1)"; then
        echo "ok 2 - cpu_seconds $got matches the process's own CPU time $own"
else
        echo "not ok 2 - cpu_seconds ${got:-none} vs the process's own CPU time $own"
        exit 1
fi
