#!/bin/sh
# bench/collectord/run.sh [BUILD_DIR]: CPU time per job-sample and peak RSS of hjo-collectord's
# cgroup part, with N = 100, 1000, 5000 fake v2 job cgroups (copies of the fixture job_101:
# 13 files each, page cache warm).  One `--once --sink stdout` run does two full passes (a
# priming pass, then the sample pass one second later), so CPU per job-sample = (user + sys)
# / (2 N).  Process start-up is included (it makes the small N look worse).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
