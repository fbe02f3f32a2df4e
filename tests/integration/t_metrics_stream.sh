#!/bin/sh
# tests/integration/t_metrics_stream.sh: GET /metrics pages larger than hjo-api's flush buffer
# (fcgi/metrics.c, METRICS_FLUSH_BYTES = 64 KiB) are streamed complete and well-formed, and a
# failure after the page started ends it with a line no parser accepts (issue 6).
#
# Seeds ITEST_JOBS (2000) running jobs with SQL (1-4 nodes each, one metric sample per job node,
# 4 GPU samples for every third job), then checks the page against the database: the number of
# series of every hpc_job_* family, no duplicate series, each family's lines in one group under
# one HELP/TYPE pair, promtool check metrics, and that the page was not sent with a length
# (streamed); clients that go away mid-page leave the workers able to serve complete pages.
# Then, with SELECT on gpu_latest (the per-GPU statement's table, sql/0062) revoked from
# hjo-api's role, a large page ends with `hjo_scrape_incomplete` (promtool fails) and a small
# page answers 500.  No timing checks; tests/integration/t_metrics_golden.sh checks the bytes.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
command -v promtool >/dev/null 2>&1 || itest_skip "promtool not found (Debian package prometheus)"
ITEST_WORKERS=2
itest_setup
jobs_n=${ITEST_JOBS:-2000}
out=$HJO_TMP/out
mkdir -p "$out"

sq "INSERT INTO jobs (id, user_name, nodes, state, start_time, allocated_cpus, allocated_memory_mb,
                      allocated_gpus, gpu_vendor, gpu_devices, partition, account, cluster_name)
    SELECT 'st-' || lpad(i::text, 6, '0'), CASE WHEN i = 7 THEN 'q\"uo\\te' ELSE 'user' || (i % 37) END,
           ARRAY(SELECT 'sn' || lpad(((i * 4 + k) % $jobs_n)::text, 5, '0') FROM generate_series(0, i % 4) k),
           'running', now() - make_interval(secs => 60 + i), 8, 16000,
           CASE WHEN i % 3 = 0 THEN 4 ELSE 0 END, CASE WHEN i % 3 = 0 THEN 'nvidia' ELSE 'none' END,
           CASE WHEN i % 3 = 0 THEN ARRAY['0', '1', '2', '3'] ELSE '{}' END, 'batch', 'acct', 'itest'
    FROM generate_series(1, $jobs_n) i;
    INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage,
                                cpu_seconds, memory_peak_bytes, oom_kills)
    SELECT j.id, n.node, now() - interval '5 s', 12.5, 1048576,
           CASE WHEN j.allocated_gpus > 0 THEN 50 END,
           CASE WHEN right(j.id, 1)::int % 2 = 0 THEN 1234.5 END,
           CASE WHEN right(j.id, 1)::int % 2 = 0 THEN 2097152 END,
           CASE WHEN right(j.id, 1)::int % 2 = 0 THEN 0 END
    FROM jobs j CROSS JOIN LATERAL unnest(j.nodes) AS n(node) WHERE j.id LIKE 'st-%';
    INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                             memory_used_bytes, memory_total_bytes, power_watts, temperature_celsius)
    SELECT j.id, j.nodes[1], g::text, now() - interval '5 s', 'nvidia', 40, 1073741824,
           85899345920, 250.5, 61
    FROM jobs j CROSS JOIN generate_series(0, 3) g WHERE j.id LIKE 'st-%' AND j.allocated_gpus > 0" \
        >/dev/null || itest_bail "seeding $jobs_n jobs failed"

# scrape NAME: GET /metrics into $out/NAME.txt, headers into $out/NAME.hdr; prints the status.
scrape() {
        curl -s -D "$out/$1.hdr" -o "$out/$1.txt" -w '%{http_code}' "$HJO_URL/metrics"
}

# promtool_findings FILE: promtool's findings, except the known one (hpc_node_job_count's _count
# suffix, a name fixed by the integration guide); "rc=N" first.
promtool_findings() {
        promtool check metrics <"$1" >"$1.promtool" 2>&1
        echo "rc=$?"
        grep -v 'hpc_node_job_count.*_count' "$1.promtool" | sed '/^[[:space:]]*$/d'
}

code=$(scrape big)
is "$code" 200 "GET /metrics with $jobs_n jobs answers 200"
size=$(wc -c <"$out/big.txt")
is "$([ "$size" -gt 65536 ] && echo yes)" yes "the page ($size bytes) is larger than the 64 KiB flush buffer"
is "$(grep -ci '^content-length:' "$out/big.hdr")" 0 "it is streamed (no Content-Length)"
is "$(tail -n 1 "$out/big.txt" | cut -d ' ' -f 1)" hjo_scrape_duration_seconds "it ends with the last family"
is "$(promtool_findings "$out/big.txt" | sed 's/^rc=[03]$/rc=ok/' | tr '\n' ' ')" "rc=ok " \
        "promtool check metrics finds nothing (but hpc_node_job_count's name)"

# series per family on the page, and what the database holds for the same jobs
awk '!/^#/ && NF { sub(/[{ ].*/, "", $1); c[$1]++ } END { for (f in c) print f, c[f] }' \
        "$out/big.txt" | sort >"$out/page-counts"
sq "WITH p AS (SELECT j.id, n.node, m.* FROM jobs j CROSS JOIN LATERAL unnest(j.nodes) AS n(node)
               LEFT JOIN metric_samples m ON m.job_id = j.id AND m.node = n.node
               WHERE j.state = 'running'),
         g AS (SELECT DISTINCT job_id, node, gpu_id FROM gpu_samples)
    SELECT f || ' ' || c FROM (
      SELECT 'hpc_job_runtime_seconds' f, count(*) c FROM p
      UNION ALL SELECT 'hpc_job_cpu_usage_percent', count(cpu_usage) FROM p
      UNION ALL SELECT 'hpc_job_memory_usage_bytes', count(memory_usage_bytes) FROM p
      UNION ALL SELECT 'hpc_job_gpu_usage_percent', count(gpu_usage) FROM p
      UNION ALL SELECT 'hpc_job_cpu_seconds_total', count(cpu_seconds) FROM p
      UNION ALL SELECT 'hpc_job_memory_peak_bytes', count(memory_peak_bytes) FROM p
      UNION ALL SELECT 'hpc_job_oom_kills_total', count(oom_kills) FROM p
      UNION ALL SELECT 'hpc_job_gpu_device_utilization_percent', count(*) FROM g
      UNION ALL SELECT 'hpc_job_gpu_device_memory_used_bytes', count(*) FROM g
      UNION ALL SELECT 'hpc_job_gpu_device_power_watts', count(*) FROM g
      UNION ALL SELECT 'hpc_job_gpu_device_temperature_celsius', count(*) FROM g) x
    WHERE c > 0 ORDER BY f" >"$out/db-counts"
is "$(grep '^hpc_job_' "$out/page-counts" | tr '\n' ' ')" "$(tr '\n' ' ' <"$out/db-counts")" \
        "series per hpc_job_* family = the database's (job, node) and GPU rows"
is "$(awk '{ s += $2 } END { print s }' "$out/db-counts")" \
        "$(grep -c '^hpc_job_' "$out/big.txt")" "hpc_job_* series in all = the database's"
is "$(grep -v '^#' "$out/big.txt" | sed 's/ [^ ]*$//' | sort | uniq -d | head -n 3)" "" \
        "no duplicate series"
# a family's samples form one group right after its own HELP and TYPE lines
is "$(awk '/^# HELP / { if (help[$3]++) print "second HELP for " $3; cur = $3; next }
           /^#/ || !NF { next }
           { n = $1; sub(/[{ ].*/, "", n); if (n != cur && n != cur "_total") print "line " NR ": " n " outside its group" }' \
        "$out/big.txt" | head -n 3)" "" "each family's series follow its HELP/TYPE lines, in one group"
is "$(grep -c 'user="q\\"uo\\\\te"' "$out/big.txt")" 12 \
        "a hostile user label is escaped (job st-000007: 4 nodes x runtime, cpu, memory)"

# a client that goes away mid-page (the worker stops its queries when nginx drops the
# connection, or nginx has already buffered the page): the next pages are complete
for _ in 1 2 3; do
        curl -s "$HJO_URL/metrics" 2>/dev/null | head -c 1000 >/dev/null
done
ok_pages=0
for i in 1 2 3 4; do
        if [ "$(scrape "after-abort-$i")" = 200 ] &&
                [ "$(tail -n 1 "$out/after-abort-$i.txt" | cut -d ' ' -f 1)" = hjo_scrape_duration_seconds ]; then
                ok_pages=$((ok_pages + 1))
        fi
done
is "$ok_pages" 4 "after clients that went away mid-page, every worker serves complete pages"

# a failure after the page started: the page ends invalid, the status was already 200
sq "REVOKE SELECT ON gpu_latest FROM hjo_api" >/dev/null
code=$(scrape broken)
is "$code" 200 "a query failing after the page started: status 200 was already sent"
is "$(tail -n 1 "$out/broken.txt")" hjo_scrape_incomplete "the page ends with the invalid hjo_scrape_incomplete line"
is "$(promtool_findings "$out/broken.txt" | head -n 1)" rc=1 "promtool rejects the incomplete page"
is "$(grep -c 'metrics scrape failed after the page started' "$HJO_API_LOG")" 1 "hjo-api logs the failure once"

# the same failure on a page that fits the buffer: a proper error status
sq "DELETE FROM metric_samples; DELETE FROM gpu_samples; DELETE FROM jobs" >/dev/null
code=$(scrape small-broken)
is "$code" 500 "the same failure on a small page answers 500"
sq "GRANT SELECT ON gpu_latest TO hjo_api" >/dev/null
code=$(scrape small)
is "$code" 200 "small page after the grant is restored: 200"
is "$(grep -ci '^content-length:' "$out/small.hdr")" 1 "a page that fits the buffer is sent with Content-Length"
is "$(promtool_findings "$out/small.txt" | sed 's/^rc=[03]$/rc=ok/' | tr '\n' ' ')" "rc=ok " \
        "promtool check metrics on the small page"

echo "1..$n"
[ "$nfail" -eq 0 ]
