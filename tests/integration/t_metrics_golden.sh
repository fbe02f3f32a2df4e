#!/bin/sh
# tests/integration/t_metrics_golden.sh: GET /metrics byte for byte against a golden page
# (tests/integration/metrics_golden.txt), so that work on how the page is produced (the SQL in
# lib/db_stmts.c, sql/0062's gpu_latest, the formatting in fcgi/metrics.c) cannot change a
# series, a label, a value's spelling or the order of anything (issue 6).
#
# Seeds a fixed set of jobs whose values do not depend on the time of the run: running jobs
# started in the future (runtime 0), a job that ended within the grace period (its stored
# runtime), one that ended long ago and a pending one (both without job series); nodes without
# a sample, a sample of a node outside the job's node list; floats PostgreSQL spells in
# exponent form, NaN and the infinities; hostile label values (\ " newline); GPUs with an
# older sample that arrives after a newer one.  The page is compared up to hjo's own families
# (request counters, build info, scrape duration), which vary from run to run.
#
# To regenerate the golden page after an intended change: ITEST_GOLDEN_WRITE=1 writes the
# page there instead of comparing (then review the diff).
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ITEST_WORKERS=2
HJO_METRICS_GRACE_SECONDS=900
export HJO_METRICS_GRACE_SECONDS
itest_setup
golden=$top_srcdir/tests/integration/metrics_golden.txt
out=$HJO_TMP/out
mkdir -p "$out"

sq "INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, runtime_seconds,
                      allocated_cpus, allocated_gpus, gpu_vendor, gpu_devices, cluster_name)
    VALUES
    ('gold-1', 'alice', '{gn02,gn01,gn03}', 'running', now() + interval '1 day', NULL, NULL,
     8, 2, 'nvidia', '{0,1}', 'itest'),
    ('gold-2', E'q\"uo\\\\te\\nnl', '{gn01}', 'running', now() + interval '1 day', NULL, NULL,
     4, 0, 'none', '{}', 'itest'),
    ('gold-10', 'bob', '{gn10,gn02}', 'completed', now() - interval '1 day',
     now() - interval '10 s', 86390.125, 16, 1, 'amd', '{0}', 'itest'),
    ('gold-3', 'carol', '{gn01}', 'completed', now() - interval '30 days',
     now() - interval '29 days', 86400, 4, 0, 'none', '{}', 'itest'),
    ('gold-4', 'dave', '{gn04}', 'pending', NULL, NULL, NULL, 4, 1, 'nvidia', '{0}', 'itest'),
    ('gold-5', NULL, '{gn05}', 'running', now() + interval '2 days', NULL, NULL,
     4, 0, 'none', '{}', 'itest');
    INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage,
                                cpu_seconds, memory_peak_bytes, oom_kills) VALUES
    ('gold-1', 'gn01', now() - interval '20 s', 99.5, 9223372036854775807, 0, 1e-7, 0, 0),
    ('gold-1', 'gn01', now() - interval '5 s', 12.5, 1048576, 33.33333333333333,
     1.5e300, 2097152, 3),
    ('gold-1', 'gn02', now() - interval '5 s', 0.001, 0, NULL, 'Infinity', NULL, NULL),
    ('gold-1', 'gn09', now() - interval '5 s', 50, 1, 50, 1, 1, 1),
    ('gold-2', 'gn01', now() - interval '5 s', NULL, 123456789012, NULL, 'NaN', 5e15, NULL),
    ('gold-10', 'gn02', now() - interval '15 s', 100, 4096, 99.99, 123456789012345680, 1, 0),
    ('gold-3', 'gn01', now() - interval '29 days', 1, 1, 1, 1, 1, 1),
    ('gold-5', 'gn05', now() - interval '5 s', 7.25, 2048, NULL, NULL, NULL, NULL);
    INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                             memory_used_bytes, memory_total_bytes, power_watts,
                             temperature_celsius) VALUES
    ('gold-1', 'gn02', '1', now() - interval '5 s', 'nvidia', 40, 1073741824, 85899345920,
     250.5, 61),
    ('gold-1', 'gn02', '10', now() - interval '5 s', 'nvidia', 0.1, 0, NULL, 'Infinity',
     '-Infinity'),
    ('gold-1', 'gn01', '2', now() - interval '5 s', 'nvidia', 100, NULL, NULL, NULL, 'NaN'),
    ('gold-1', 'gn01', E'GPU-\"x\\\\y\\nz', now() - interval '5 s', 'nvidia', 1e-5, 1, 1,
     1e-300, -40.5),
    ('gold-10', 'gn10', '0', now() - interval '15 s', 'amd', 12, 3, 4, 5.5, 1e20),
    ('gold-3', 'gn01', '0', now() - interval '29 days', 'nvidia', 1, 1, 1, 1, 1),
    ('gold-4', 'gn04', '0', now() - interval '5 s', 'nvidia', 2, 2, 2, 2, 2);
    INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                             memory_used_bytes, memory_total_bytes, power_watts,
                             temperature_celsius) VALUES
    ('gold-1', 'gn02', '1', now() - interval '60 s', 'nvidia', 77, 7, 7, 7, 7);
    INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                              memory_total_bytes, job_count) VALUES
    ('gn01', now() - interval '5 s', 42.5, 1073741824, 4294967296, 2)" \
        >/dev/null || itest_bail "seeding the golden jobs failed"

code=$(curl -s -o "$out/page.txt" -w '%{http_code}' "$HJO_URL/metrics")
is "$code" 200 "GET /metrics answers 200"
# the page up to hjo's own families, which vary from run to run
sed '/^# HELP hjo_/,$d' "$out/page.txt" >"$out/head.txt"
if [ "${ITEST_GOLDEN_WRITE:-0}" = 1 ]; then
        cp "$out/head.txt" "$golden"
        echo "# wrote $golden"
fi
if diff -u "$golden" "$out/head.txt" >"$out/diff"; then
        is same same "the page is byte for byte the golden page"
else
        sed 's/^/# /' "$out/diff" | head -n 60
        is differs same "the page is byte for byte the golden page"
fi
is "$(tail -n 1 "$out/page.txt" | cut -d ' ' -f 1)" hjo_scrape_duration_seconds \
        "the page ends with the last family"

echo "1..$n"
[ "$nfail" -eq 0 ]
