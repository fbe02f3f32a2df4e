#!/bin/sh
# bench/collectord/run.sh [BUILD_DIR]: CPU time per job-sample and peak RSS of hjo-collectord's
# cgroup part, with N = 100, 1000, 5000 fake v2 job cgroups (copies of the fixture job_101:
# 13 files each, page cache warm).  One `--once --sink stdout` run does two full passes (a
# priming pass, then the sample pass one second later), so CPU per job-sample = (user + sys)
# / (2 N).  Process start-up is included (it makes the small N look worse).
# Then the steady state: the daemon (--sink stdout, --interval 100ms) for about 3 s, CPU time
# / job-samples written, with every file read every cycle (HJO_COLLECTOR_SLOW_EVERY=1) and with
# the slow-changing files every 6th cycle (the default).  Start-up, the first (baseline) pass
# and printing the samples are included, so these are upper bounds of the cgroup part.
# Last, the cgroup part alone (bench/collectord/cgbench.c): CPU time of opening and reading one
# job's files and parsing them, measured with CLOCK_PROCESS_CPUTIME_ID around that part only,
# beside a bare loop that opens and reads the same files (the ceiling); as root on a host with
# a writable cgroup2 mount, also on 1000 real (empty) cgroups there.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
tmp=$(mktemp -d)
real=''
cleanup() {
        rm -rf "$tmp"
        [ -z "$real" ] || [ ! -d "$real" ] || find "$real" -depth -type d -exec rmdir {} + 2>/dev/null || true
}
trap cleanup EXIT
sh "$top/tests/collectord/make_fixtures.sh" "$tmp/fx"
src=$tmp/fx/v2/system.slice/slurmstepd.scope/job_101
printf '%6s %14s %12s %10s\n' N cpu_us/sample rss_kib wall_s
for n in 100 1000 5000; do
        root=$tmp/n$n
        scope=$root/system.slice/slurmstepd.scope
        mkdir -p "$scope"
        i=1
        while [ $i -le $n ]; do
                cp -r "$src" "$scope/job_$i"
                i=$((i + 1))
        done
        find "$scope" -type f -exec cat {} + >/dev/null # warm the page cache
        /usr/bin/time -f '%U %S %M %e' -o "$tmp/time" env HJO_COLLECTOR_GPU=none \
                "$build/collectord/hjo-collectord" --once --sink stdout --cgroup-root "$root" \
                --node bench >/dev/null 2>&1
        read -r u s rss wall <"$tmp/time"
        awk -v n="$n" -v u="$u" -v s="$s" -v rss="$rss" -v w="$wall" \
                'BEGIN { printf "%6d %14.1f %12d %10.2f\n", n, (u + s) * 1e6 / (2 * n), rss, w }'
done

printf '\nsteady state (daemon, 100 ms interval, ~3 s)\n'
printf '%6s %10s %14s %10s %12s\n' N slow_every cpu_us/sample samples rss_kib
tck=$(getconf CLK_TCK)
for n in 100 1000 5000; do
        for k in 1 6; do
                HJO_COLLECTOR_GPU=none HJO_COLLECTOR_SLOW_EVERY=$k \
                        "$build/collectord/hjo-collectord" --sink stdout --interval 100ms \
                        --cgroup-root "$tmp/n$n" --node bench >"$tmp/out" 2>/dev/null &
                pid=$!
                sleep 3.2
                # utime + stime (fields 14, 15 of /proc/PID/stat) and the peak RSS, then stop
                ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
                rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
                kill -TERM "$pid"
                wait "$pid" || true
                samples=$(grep -c '^sample ' "$tmp/out" || true)
                awk -v n="$n" -v k="$k" -v t="$ticks" -v hz="$tck" -v c="$samples" -v rss="$rss" \
                        'BEGIN { printf "%6d %10d %14.1f %10d %12d\n", n, k, c ? t / hz * 1e6 / c : 0, c, rss }'
        done
done

printf '\ncgroup part only (bench/collectord/cgbench, CPU us per job-sample, CLOCK_PROCESS_CPUTIME_ID)\n'
printf '  fast: the cheap cycle (6 files), full: every file, mix/6: the default slow_every 6;\n'
printf '  ceil_*: a bare open+read loop over the same files (no parsing); scan: discovery per job\n'
make -s -C "$build" bench/collectord/cgbench >/dev/null 2>&1
hdr() {
        printf '%6s %8s %8s %8s %10s %10s %9s %6s %6s %8s\n' N fast full mix/6 ceil_fast ceil_full \
                ceil_mix f/ceil F/ceil scan
}
hdr
for n in 100 1000 5000; do
        "$build/bench/collectord/cgbench" "$tmp/n$n" $((200000 / n))
done
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ "$(id -u)" -eq 0 ] && [ -n "$cg2" ] && [ -w "$cg2" ]; then
        real=$cg2/hjo-cgbench.$$
        printf '\nthe same on 1000 real cgroups below %s (files the mount does not have are skipped:\n' "$cg2"
        printf '  on a hybrid host only cpu.stat and the PSI files exist there)\n'
        mkdir -p "$real/system.slice/slurmstepd.scope"
        i=1
        while [ $i -le 1000 ]; do
                mkdir "$real/system.slice/slurmstepd.scope/job_$i"
                i=$((i + 1))
        done
        hdr
        "$build/bench/collectord/cgbench" "$real" 20 || true
fi
