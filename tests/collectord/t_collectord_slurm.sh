#!/bin/sh
# tests/collectord/t_collectord_slurm.sh: the Slurm instance mode of hjo-collectord
# (collector_slurm=true, SCHEDULER_BACKEND=slurm): slurm_cycle() runs inside the daemon every
# collector_slurm_every cycles against a static slurmrestd stub (recorded v0.0.38 responses of
# tests/slurmrest/fixtures served by python3's http.server), node rows are stored, jobs
# Slurm runs are created by reconciliation, and each cycle's report is one logfmt line.
# The real slurmrestd is covered by tests/slurmrest/t_slurmrest.sh.  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
command -v psql >/dev/null 2>&1 || itest_skip "psql not found"
itest_setup

cd_bin=$top_builddir/collectord/hjo-collectord
fx=$HJO_TMP/fx
sh "$top_srcdir/tests/collectord/make_fixtures.sh" "$fx" || itest_bail "fixtures"

www=$HJO_TMP/www/slurm/v0.0.38
mkdir -p "$www"
cp "$top_srcdir/tests/slurmrest/fixtures/v0.0.38_nodes.json" "$www/nodes"
cp "$top_srcdir/tests/slurmrest/fixtures/v0.0.38_jobs.json" "$www/jobs"
port=$(hjo_free_port) || itest_bail "no free port"
(cd "$HJO_TMP/www" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$port") \
        >"$HJO_TMP/stub.log" 2>&1 &
stub=$!
# shellcheck disable=SC2154 # _rc is assigned inside the trap string
trap '_rc=$?; kill "$stub" 2>/dev/null; (exit $_rc); itest_teardown' EXIT
hjo_wait_url "http://127.0.0.1:$port/slurm/v0.0.38/nodes" 10 200 2>/dev/null || itest_bail "stub did not start"
printf 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl\n' >"$HJO_TMP/jwt"
chmod 600 "$HJO_TMP/jwt"
export DATABASE_URL="$HJO_DATABASE_URL" HJO_COLLECTOR_GPU=none \
        SLURM_BASE_URL="http://127.0.0.1:$port" SLURM_API_VERSION=v0.0.38 \
        HJO_SLURM_TOKEN_FILE="$HJO_TMP/jwt" HJO_COLLECTOR_SLURM=true

SCHEDULER_BACKEND=mock "$cd_bin" --once --sink db --cgroup-root "$fx/v2" --node n1 \
        >/dev/null 2>"$HJO_TMP/s0.log"
is "$?" 1 "collector_slurm without SCHEDULER_BACKEND=slurm is refused"
is "$(grep -c 'collector_slurm needs SCHEDULER_BACKEND=slurm' "$HJO_TMP/s0.log")" 1 "... saying why"

export SCHEDULER_BACKEND=slurm
HJO_COLLECTOR_SLURM_EVERY=2 HJO_COLLECTOR_INTERVAL_MS=1000 "$cd_bin" --sink db \
        --cgroup-root "$fx/v2" --node n1 >/dev/null 2>"$HJO_TMP/s1.log" &
pid=$!
sleep 2.5
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "daemon in Slurm instance mode exits 0 on SIGTERM"
is "$(grep -c 'msg="slurm cycle done" source=slurm nodes=1 jobs=8 ' "$HJO_TMP/s1.log")" 2 \
        "3 cycles with collector_slurm_every=2: two Slurm cycles, reported in logfmt"
is "$(sq "SELECT count(*) FROM slurm_nodes")" 1 "slurmrestd's node stored"
is "$(sq "SELECT count(*) > 0 FROM jobs WHERE id LIKE 'slurm-%'")" t "jobs Slurm knows were created by reconciliation"
is "$(grep -c 'token\|eyJ' "$HJO_TMP/s1.log")" 0 "the Slurm JWT is not logged"

# slurmrestd down: the cycle is reported as failed, sampling goes on
SLURM_BASE_URL="http://127.0.0.1:$(hjo_free_port)" "$cd_bin" --once --sink db \
        --cgroup-root "$fx/v2" --node n1 >/dev/null 2>"$HJO_TMP/s2.log"
is "$?" 0 "slurmrestd unreachable: --once still exits 0"
is "$(grep -c 'msg="slurm cycle failed".*nodes_err=ENOTCONN' "$HJO_TMP/s2.log")" 1 "the failed Slurm cycle is logged with its error"

echo "1..$n"
[ "$nfail" -eq 0 ]
