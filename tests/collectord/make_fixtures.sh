#!/bin/sh
# tests/collectord/make_fixtures.sh DIR: writes fake Slurm cgroup trees for hjo-collectord's
# tests (the files hold what the kernel prints; see Documentation/admin-guide/cgroup-v2.rst):
#   DIR/v2      cgroup v2, Slurm 22.05-25.11 layout: system.slice/slurmstepd.scope/job_<N>,
#               plus a Slurm 26.05 SLUID directory (s5K1KKYAYG5D00) and an unmapped one
#   DIR/v2multi multiple-slurmd: system.slice/<node>_slurmstepd.scope/job_<N>
#   DIR/v1      cgroup v1: <controller>/slurm/uid_<uid>/job_<N> and slurm_<node>/...
# Job 101 has every file ("max" memory limit); job 102 lacks memory.peak, memory.stat,
# io.stat and PSI (an older kernel); job 103 has no memory.current (memory controller off).
set -eu
d=$1
rm -rf "$d"
v2job() { # v2job DIR usage_usec mem_current
        mkdir -p "$1"
        : > "$1/cgroup.procs"
        printf 'usage_usec %s\nuser_usec %s\nsystem_usec %s\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n' \
                "$2" "$(( $2 * 3 / 4 ))" "$(( $2 / 4 ))" > "$1/cpu.stat"
        [ "$3" = none ] || printf '%s\n' "$3" > "$1/memory.current"
        printf '0-3\n' > "$1/cpuset.cpus.effective"
}
s=$d/v2/system.slice/slurmstepd.scope
v2job "$s/job_101" 5000000 104857600
printf '209715200\n' > "$s/job_101/memory.peak"
printf 'max\n' > "$s/job_101/memory.max"
printf '4096\n' > "$s/job_101/memory.swap.current"
printf 'low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n' > "$s/job_101/memory.events"
printf 'anon 73400320\nfile 20971520\nkernel 1048576\nshmem 0\npgfault 12345\n' > "$s/job_101/memory.stat"
printf '7\n' > "$s/job_101/pids.current"
printf '8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=24 wbytes=48 rios=3 wios=4 dbytes=0 dios=0\n' > "$s/job_101/io.stat"
printf 'some avg10=1.50 avg60=0.50 avg300=0.10 total=12345\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=100\n' > "$s/job_101/cpu.pressure"
printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n' > "$s/job_101/memory.pressure"
v2job "$s/job_102" 1000000 52428800
printf '1073741824\n' > "$s/job_102/memory.max"
v2job "$s/job_103" 1000000 none
v2job "$s/s5K1KKYAYG5D00" 2000000 31457280
v2job "$s/sZZZZZZZZZZZZZ" 2000000 31457280
mkdir -p "$s/system" "$d/v2/system.slice/other.service/job_999"
m=$d/v2multi/system.slice
v2job "$m/nodeA_slurmstepd.scope/job_201" 3000000 10485760
v2job "$m/nodeB_slurmstepd.scope/job_202" 3000000 10485760
for top in slurm slurm_nodeC; do
        case $top in slurm) n=301 ;; *) n=302 ;; esac
        a=$d/v1/cpuacct/$top/uid_1000/job_$n
        mem=$d/v1/memory/$top/uid_1000/job_$n
        mkdir -p "$a" "$mem" "$d/v1/pids/$top/uid_1000/job_$n"
        : > "$a/cgroup.procs"
        printf '4000000000\n' > "$a/cpuacct.usage"
        printf 'user 300\nsystem 100\n' > "$a/cpuacct.stat"
        printf '62914560\n' > "$mem/memory.usage_in_bytes"
        printf '73400320\n' > "$mem/memory.max_usage_in_bytes"
        printf '9223372036854771712\n' > "$mem/memory.limit_in_bytes"
        printf 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n' > "$mem/memory.oom_control"
        printf 'cache 1\nrss 2\ntotal_cache 10485760\ntotal_rss 41943040\n' > "$mem/memory.stat"
        printf '3\n' > "$d/v1/pids/$top/uid_1000/job_$n/pids.current"
done
