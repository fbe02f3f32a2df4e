#!/bin/sh
# tests/collectord/t_collectord_api.sh: hjo-collectord --sink api against the real stack with
# authentication on (tests/integration/lib.sh, HJO_AUTH=required): the ingest token comes from
# a 0600 file (a group-readable one is refused; the token never appears in the log), samples
# arrive through POST /v1/samples with exact aggregates, a 403 is a rejection (dropped, logged),
# and with the API unreachable the batches go to the memory queue, then the spool file, and are
# delivered in order when it is back (spool truncated).  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
command -v psql >/dev/null 2>&1 || itest_skip "psql not found"
HJO_AUTH=required
export HJO_AUTH
itest_setup

cd_bin=$top_builddir/collectord/hjo-collectord
admin=$top_builddir/admin/hjo-admin
fx=$HJO_TMP/fx
sh "$top_srcdir/tests/collectord/make_fixtures.sh" "$fx" || itest_bail "fixtures"
start() { # start ID CGROUP_PATH CPUS
        curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
                -H "Authorization: Bearer $HJO_TOKEN" \
                --data "{\"job_id\":\"$1\",\"user\":\"alice\",\"node_list\":[\"n1\"],\"timestamp\":\"$(date -u -d '-100 sec' +%Y-%m-%dT%H:%M:%SZ)\",\"cpu_allocation\":$3,\"cgroup_path\":\"$2\"}" \
                "$HJO_URL/v1/events/job-started"
}
scope=/sys/fs/cgroup/system.slice/slurmstepd.scope
is "$(start slurm-101 "$scope/job_101" 4)" 200 "job slurm-101 started"
is "$(start slurm-500 "$scope/s5K1KKYAYG5D00" 2)" 200 "SLUID job slurm-500 started"

tok=$HJO_TMP/ingest.token
umask 077
"$admin" token create --name collectord-n1 --role ingest >"$tok" 2>>"$HJO_TMP/log/hjo-admin.log" ||
        itest_bail "token create failed"
secret=$(sed 's/^hjo_[0-9a-f]*_//' "$tok")
[ ${#secret} -ge 40 ] || itest_bail "unexpected token format"
reader=$HJO_TMP/reader.token
"$admin" token create --name collectord-reader --role reader >"$reader" 2>>"$HJO_TMP/log/hjo-admin.log" ||
        itest_bail "token create failed"
unset DATABASE_URL
export HJO_COLLECTOR_GPU=none HJO_COLLECTOR_API_URL="$HJO_URL" HJO_COLLECTOR_TOKEN_FILE="$tok"
run() { # run LOG [ARGS...]: one --once pass with the api sink
        _log=$1
        shift
        "$cd_bin" --once --sink api --cgroup-root "$fx/v2" --node n1 "$@" >/dev/null 2>"$_log"
}

chmod 0640 "$tok"
run "$HJO_TMP/a0.log"
is "$?" 1 "a group-readable token file is refused (exit 1)"
is "$(grep -c 'accessible by group or other' "$HJO_TMP/a0.log")" 1 "... with a clear log line"
chmod 0600 "$tok"

run "$HJO_TMP/a1.log"
is "$?" 0 "--once --sink api exits 0"
is "$(sq "SELECT count(*) FROM metric_samples WHERE job_id IN ('slurm-101','slurm-500')")" 2 "samples stored through POST /v1/samples"
is "$(sq "SELECT cpu_seconds, memory_usage_bytes, memory_peak_bytes, swap_bytes, oom_kills, pids, io_read_bytes, io_write_bytes, cpu_pressure_some FROM metric_samples WHERE job_id='slurm-101'")" \
        "5|104857600|209715200|4096|1|7|1024|2048|1.5" "every cgroup value arrives through the API"
is "$(sq "SELECT cpu_usage BETWEEN 1.1 AND 1.3 FROM metric_samples WHERE job_id='slurm-101'")" t \
        "CPU percent from the job's start and its 4 allocated CPUs (the API's job list)"
is "$(grep -c 'job_id=slurm-102' "$HJO_TMP/a1.log")" 1 "unknown job reported in the log"
is "$(sq "SELECT jobs_seen, samples_written, samples_dropped FROM collector_health WHERE node='n1'")" "4|2|0" "health row written"
is "$(sq "SELECT count(*) FROM audit_log WHERE principal LIKE 'token:collectord-n1%'") " "0 " "samples are not job mutations (no audit rows)"
is "$(cat "$HJO_TMP"/a*.log | grep -c -- "$secret")" 0 "the token never appears in the log"

# a credential without the ingest role (403) says nothing about the samples: the batch is kept
# (spooled here) and delivered once the credential is fixed, never dropped
mkdir -p "$HJO_TMP/spool"
spool403=$HJO_TMP/spool/wrong-credential.spool
n101=$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")
HJO_COLLECTOR_TOKEN_FILE=$reader HJO_COLLECTOR_SPOOL_FILE=$spool403 run "$HJO_TMP/a2.log"
is "$(grep -c 'the API cannot take the batch now, retrying.*status=403' "$HJO_TMP/a2.log")" 1 \
        "403 is logged as 'retrying', not as a rejection"
is "$(grep -c 'batch rejected by the API, dropped' "$HJO_TMP/a2.log")" 0 "... and nothing is dropped"
is "$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")" "$n101" \
        "nothing stored with the wrong credential"
HJO_COLLECTOR_SPOOL_FILE=$spool403 run "$HJO_TMP/a2b.log"
is "$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")" "$((n101 + 2))" \
        "with the right token the kept batch and the new one both arrive"

# the API is unreachable: memory queue (1 batch), then the spool file; then delivered in order
before=$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")
spool=$HJO_TMP/spool/collectord.spool
mkdir -p "$HJO_TMP/spool"
closed=$(hjo_free_port)
HJO_COLLECTOR_API_URL="http://127.0.0.1:$closed" HJO_COLLECTOR_SPOOL_FILE="$spool" \
        HJO_COLLECTOR_BUFFER_BATCHES=1 HJO_COLLECTOR_INTERVAL_MS=1000 \
        "$cd_bin" --sink api --cgroup-root "$fx/v2" --node n1 >/dev/null 2>"$HJO_TMP/a3.log" &
pid=$!
sleep 3.5
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "daemon with the API down exits 0 on SIGTERM"
is "$(grep -c 'sink unavailable, buffering' "$HJO_TMP/a3.log")" 1 "buffering reported once (rate-limited)"
spooled=$(sed -n 's/.*undelivered batches kept in the spool.*spooled=\([0-9]*\).*/\1/p' "$HJO_TMP/a3.log")
is "$([ "${spooled:-0}" -ge 4 ] && echo yes)" yes "memory queue and spool hold every interval (${spooled:-0} batches)"
is "$([ "$(stat -c %s "$spool")" -gt 32 ] && echo yes)" yes "spool file written"
is "$(stat -c %a "$spool")" 600 "spool file is 0600"

HJO_COLLECTOR_SPOOL_FILE="$spool" run "$HJO_TMP/a4.log"
is "$?" 0 "API back: --once delivers the spool and the new batch"
after=$(sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'")
is "$((after - before))" "$spooled" "every buffered interval with a sample arrived (one per cycle after the first, plus the new one)"
is "$(sq "SELECT bool_and(ok) FROM (SELECT ts >= lag(ts, 1, '-infinity') OVER (ORDER BY xmin::text::bigint) AS ok FROM metric_samples WHERE job_id='slurm-101') x")" t \
        "delivered in order (insertion order = sample time order)"
is "$(stat -c %s "$spool")" 32 "spool truncated to its header once delivered"
is "$(sq "SELECT count(*) FROM (SELECT (hjo_job_live(x)).* FROM jobs x) j WHERE j.id IN ('slurm-101','slurm-500') AND j.sample_count = (SELECT count(*) FROM metric_samples m WHERE m.job_id = j.id) AND abs(j.cpu_usage_sum - (SELECT sum(cpu_usage) FROM metric_samples m WHERE m.job_id = j.id)) < 1e-9 AND j.max_cpu_usage = (SELECT max(cpu_usage) FROM metric_samples m WHERE m.job_id = j.id) AND j.max_memory_usage_mb = (SELECT max(memory_usage_bytes) / 1048576.0 FROM metric_samples m WHERE m.job_id = j.id) AND j.last_sample_at = (SELECT max(ts) FROM metric_samples m WHERE m.job_id = j.id)")" 2 \
        "job aggregates exact after the replay"
HJO_COLLECTOR_SPOOL_FILE="$spool" run "$HJO_TMP/a5.log"
is "$(sq "SELECT samples_buffered, samples_dropped FROM collector_health WHERE node='n1'")" "0|0" "health: nothing buffered, nothing dropped"

# SIGHUP reloads the api sink's settings: URL, token file (a group-readable one is refused and
# the running settings kept), and the batches buffered meanwhile are delivered
conf=$HJO_TMP/reload.conf
conf_write() { # conf_write URL TOKEN_FILE
        printf 'collector_api_url = %s\ncollector_token_file = %s\ncollector_interval_ms = 1000\n' \
                "$1" "$2" >"$conf"
}
count101() { sq "SELECT count(*) FROM metric_samples WHERE job_id='slurm-101'"; }
wait_count_gt() { # wait_count_gt N: up to 10 s for more than N samples of slurm-101
        _w=0
        while [ "$(count101)" -le "$1" ] && [ $_w -lt 50 ]; do
                sleep 0.2
                _w=$((_w + 1))
        done
}
conf_write "http://127.0.0.1:$closed" "$tok"
before=$(count101)
n403_0=$(grep -c '"POST /v1/samples HTTP/1.1" 403' "$HJO_TMP/nginx/access.log")
env -u HJO_COLLECTOR_API_URL -u HJO_COLLECTOR_TOKEN_FILE \
        "$cd_bin" --config "$conf" --sink api --cgroup-root "$fx/v2" --node n1 >/dev/null \
        2>"$HJO_TMP/r1.log" &
pid=$!
sleep 2.5
is "$(count101)" "$before" "reload: nothing delivered while the configured API is unreachable"
conf_write "$HJO_URL" "$reader"
kill -HUP "$pid"
sleep 2.5
is "$(grep -c 'configuration reloaded.*applied=api_sink' "$HJO_TMP/r1.log")" 1 \
        "SIGHUP: new API URL and token file applied"
n403=$(($(grep -c '"POST /v1/samples HTTP/1.1" 403' "$HJO_TMP/nginx/access.log") - n403_0))
is "$([ "$n403" -ge 1 ] && echo yes)" yes \
        "... the new URL answers: 403 for the reader token in the API's access log ($n403)"
is "$(count101)" "$before" "... nothing stored with the reader token"
cp "$tok" "$HJO_TMP/open.token"
chmod 0644 "$HJO_TMP/open.token"
conf_write "$HJO_URL" "$HJO_TMP/open.token"
kill -HUP "$pid"
sleep 0.5
is "$(grep -c 'reload failed: token file is accessible by group or other' "$HJO_TMP/r1.log")" 1 \
        "SIGHUP with a group-readable token file: refused, the running settings kept"
conf_write "$HJO_URL" "$tok"
kill -HUP "$pid"
wait_count_gt "$before"
sleep 1
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "reloaded daemon exits 0 on SIGTERM"
is "$(grep -c 'configuration reloaded' "$HJO_TMP/r1.log")" 2 "two reloads applied, the refused one not"
is "$([ "$(count101)" -ge $((before + 3)) ] && echo yes)" yes \
        "with the ingest token file the buffered batches and new ones arrive ($(($(count101) - before)) samples)"
is "$(grep -c 'batch rejected by the API, dropped' "$HJO_TMP/r1.log")" 0 "nothing dropped across the reloads"
[ "$nfail" -eq 0 ] || sed 's/^/#   /' "$HJO_TMP/r1.log"
printf 'collector_interval_ms = 1000\ncollector_spool_file = %s\n' "$HJO_TMP/spool/other.spool" >"$conf"
"$cd_bin" --config "$conf" --sink api --cgroup-root "$fx/v2" --node n1 >/dev/null 2>"$HJO_TMP/r2.log" &
pid=$!
sleep 0.5
printf 'collector_interval_ms = 2000\ncollector_spool_file = %s\n' "$HJO_TMP/spool/moved.spool" >"$conf"
kill -HUP "$pid"
sleep 0.5
kill -TERM "$pid"
wait "$pid"
is "$(grep -c 'configuration reloaded.*applied=interval.*restart_needed=collector_spool_file' "$HJO_TMP/r2.log")" 1 \
        "SIGHUP: the interval applies, a new spool file is named as needing a restart" \
        || sed 's/^/#   /' "$HJO_TMP/r2.log"

# the spool is bounded: a cap of 1000 bytes holds one batch (~800 bytes); older ones are dropped
small=$HJO_TMP/spool/small.spool
for i in 1 2 3; do
        HJO_COLLECTOR_API_URL="http://127.0.0.1:$closed" HJO_COLLECTOR_SPOOL_FILE="$small" \
                HJO_COLLECTOR_SPOOL_MAX_BYTES=1000 HJO_COLLECTOR_BUFFER_BATCHES=0 \
                run "$HJO_TMP/b$i.log"
done
is "$(cat "$HJO_TMP"/b*.log | grep -c 'buffer full, oldest batches dropped')" 2 "over the spool cap: the oldest dropped, logged"
is "$([ "$(stat -c %s "$small")" -le 1000 ] && echo yes)" yes "spool stays under its cap"

echo "1..$n"
[ "$nfail" -eq 0 ]
