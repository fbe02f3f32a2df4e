#!/usr/bin/python3
"""
tests/integration/storage_test.py: partitions, rollups, resolutions, job summaries, filters and
sort keys (issue 6, docs/storage.md) through nginx -> hjo-api -> PostgreSQL, on the database
itest_setup migrated.  Called by t_storage.sh with the TAP number to continue from; prints TAP
lines and writes the last number to $HJO_TMP/storage_test.n.  Every response is validated
against docs/openapi.yaml.

Environment: HJO_URL, HJO_PGHOST, HJO_PGPORT, HJO_TMP, top_srcdir.
"""

import datetime as dt
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import urllib.parse

TOP = os.environ["top_srcdir"]
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import openapi_check  # noqa: E402

SPEC = openapi_check.load_spec(os.path.join(TOP, "docs", "openapi.yaml"))
URL = urllib.parse.urlsplit(os.environ["HJO_URL"])
N = [int(sys.argv[1]) if len(sys.argv) > 1 else 0]
FAILED = [0]
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def ok(cond, desc, why=""):
    N[0] += 1
    print(("ok" if cond else "not ok") + f" {N[0]} - {desc}")
    if not cond:
        FAILED[0] += 1
        for line in str(why).splitlines():
            print(f"# {line}")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def req(method, path, body=None, raw=False, check_spec=True):
    """(status, parsed JSON), or with raw=True (status, body as text)."""
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    headers = {"X-Changed-By": "storage-test", "X-Source": "test"}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    text = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    try:
        js = json.loads(text) if text else None
    except ValueError:
        js = None
    if check_spec:
        errs = openapi_check.validate_response(SPEC, method, path.split("?")[0], r.status, hdrs,
                                               text)
        ok(not errs, f"{method} {path} -> {r.status} conforms to docs/openapi.yaml",
           "\n".join(str(e) for e in errs[:5]))
    if raw:
        return r.status, text.decode("utf-8")
    return r.status, js


def psql(*args):
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", os.environ["HJO_PGHOST"],
         "-p", os.environ["HJO_PGPORT"], "-U", "postgres", "-d", "hjo", *args],
        check=True, capture_output=True, text=True).stdout.strip()


def sql(q):
    return psql("-c", q)


def start(job_id, t, cpus=None, mem=None, gpus=None, nodes=("n1",)):
    body = {"job_id": job_id, "user": "stor", "node_list": list(nodes), "timestamp": iso(t),
            "partition": "storage"}
    if cpus is not None:
        body["cpu_allocation"] = cpus
    if mem is not None:
        body["memory_allocation_mb"] = mem
    if gpus is not None:
        body["gpu_allocation"] = gpus
    s, js = req("POST", "/v1/events/job-started", body)
    assert s == 200 and js["status"] == "created", (s, js)


def finish(job_id, t):
    s, js = req("POST", "/v1/events/job-finished",
                {"job_id": job_id, "timestamp": iso(t), "exit_code": 0})
    assert s == 200, (s, js)
    return js


def sample(job_id, t, cpu, mem_mb, gpu=None, node="n1"):
    body = {"timestamp": iso(t), "cpu_usage": cpu, "memory_usage_mb": mem_mb, "node": node}
    if gpu is not None:
        body["gpu_usage"] = gpu
    return req("POST", f"/v1/jobs/{job_id}/metrics", body)


def near(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def bad(path, field, desc):
    s, js = req("GET", path)
    got = (js or {}).get("error", {}) if isinstance((js or {}).get("error"), dict) else js or {}
    text = json.dumps(js)
    ok(s == 400 and field in text, f"{desc}: 400 naming {field}", f"{s} {text}")


# ---- a sample far outside the created partitions is accepted, not lost ----------------------
t_old = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
start("st-far", t_old, nodes=("far1",))
s, js = sample("st-far", t_old + dt.timedelta(seconds=10), 10.0, 1.0, node="far1")
ok(s == 201 and js["stored"] is True, "a sample of 2001 (no partition) is acknowledged", js)
ok(sql("SELECT count(*) FROM metric_samples_default WHERE job_id = 'st-far'") == "1",
   "... and stored in the DEFAULT partition")
s, js = sample("st-far", t_old + dt.timedelta(seconds=10), 10.0, 1.0, node="far1")
ok(s == 200 and js["stored"] is False, "re-posting it is idempotent across partitions", js)
s, js = req("GET", "/v1/jobs/st-far/metrics?resolution=raw")
ok(s == 200 and js["total"] == 1 and js["resolution"] == "raw", "... and it is read back", js)

# ---- summaries: hand-computed values ---------------------------------------------------------
# st-eff: 4 CPUs, 1000 MiB, 2 GPUs, 1 hour; API samples only (no cpu_seconds counters):
# cpu 50/25/75/50 -> mean 50 % -> efficiency 0.5, cpu_seconds 0.5 * 3600 * 4 = 7200;
# memory peak 500 MiB -> ratio 0.5; gpu_usage 0/0/80/100 -> mean 45, max 100;
# idle GPU-hours = 1 h * 2 GPUs * 2 idle samples / 4 = 1.0
T0 = NOW - dt.timedelta(hours=5)
start("st-eff", T0, cpus=4, mem=1000, gpus=2)
for i, (cpu, mem, gpu) in enumerate([(50, 100, 0), (25, 500, 0), (75, 200, 80), (50, 300, 100)]):
    s, js = sample("st-eff", T0 + dt.timedelta(minutes=10 * (i + 1)), cpu, mem, gpu)
    ok(s == 201, f"st-eff sample {i} stored", js)
js = finish("st-eff", T0 + dt.timedelta(hours=1))
ok(js["status"] == "updated", "st-eff finishes", js)
s, j = req("GET", "/v1/jobs/st-eff")
ok(s == 200 and near(j["cpu_efficiency"], 0.5), "st-eff cpu_efficiency = 0.5", j)
ok(near(j["cpu_seconds"], 7200), "st-eff cpu_seconds = 7200", j)
ok(near(j["memory_peak_mb"], 500) and near(j["memory_peak_ratio"], 0.5),
   "st-eff memory peak 500 MiB = 0.5 of the allocation", j)
ok(near(j["gpu_mean_utilization"], 45) and near(j["gpu_max_utilization"], 100),
   "st-eff GPU mean 45 %, max 100 %", j)
ok(near(j["idle_gpu_hours"], 1.0), "st-eff idle GPU-hours = 1.0", j)
ok(j["summary_at"] is not None, "st-eff summary_at set", j)

# st-cnt: 2 CPUs on two nodes, 4096 MiB, 1 hour, collector counters (cpu_seconds 1800 on a,
# 900 on b -> 2700 / (3600 * 2) = 0.375), memory_peak_bytes 2 GiB -> 2048 MiB = 0.5; per-GPU
# samples: g0 0,0,0,100 (3/4 idle), g1 50 x4 -> mean 37.5, max 100, idle 1 h * 0.75 = 0.75
start("st-cnt", T0, cpus=2, mem=4096, gpus=2, nodes=("a", "b"))
sql("""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, cpu_seconds,
                                   memory_peak_bytes)
       SELECT 'st-cnt', n, '%s'::timestamptz + g * interval '15 min', 40, 1048576,
              CASE n WHEN 'a' THEN 450 * g ELSE 225 * g END,
              CASE WHEN n = 'a' AND g = 2 THEN 2147483648 ELSE 1048576 END
       FROM generate_series(1, 4) g, unnest(ARRAY['a', 'b']) n""" % iso(T0))
sql("""INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent,
                                memory_used_bytes)
       SELECT 'st-cnt', 'a', d, '%s'::timestamptz + g * interval '15 min', 'nvidia',
              CASE WHEN d = 'g1' THEN 50 WHEN g = 4 THEN 100 ELSE 0 END, 1000 * g
       FROM generate_series(1, 4) g, unnest(ARRAY['g0', 'g1']) d""" % iso(T0))
finish("st-cnt", T0 + dt.timedelta(hours=1))
s, j = req("GET", "/v1/jobs/st-cnt")
ok(near(j["cpu_seconds"], 2700) and near(j["cpu_efficiency"], 0.375),
   "st-cnt cpu_seconds 2700 from the counters, efficiency 0.375", j)
ok(near(j["memory_peak_mb"], 2048) and near(j["memory_peak_ratio"], 0.5),
   "st-cnt memory peak 2048 MiB (memory_peak_bytes) = 0.5", j)
ok(near(j["gpu_mean_utilization"], 37.5) and near(j["gpu_max_utilization"], 100),
   "st-cnt GPU mean 37.5 %, max 100 % (per device)", j)
ok(near(j["idle_gpu_hours"], 0.75), "st-cnt idle GPU-hours 0.75", j)

# a late sample of a finished job (a collector's spool) updates its summary
sql("""INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, utilization_percent)
       VALUES ('st-cnt', 'a', 'g1', '%s'::timestamptz + interval '59 min', 'nvidia', 0)"""
    % iso(T0))
s, j = req("GET", "/v1/jobs/st-cnt")
ok(near(j["idle_gpu_hours"], 0.75 + 0.2), "a late GPU sample updates idle GPU-hours (0.95)", j)
js = finish("st-cnt", T0 + dt.timedelta(hours=2))
s, j2 = req("GET", "/v1/jobs/st-cnt")
ok(js["status"] == "skipped" and j2["end_time"] == j["end_time"]
   and near(j2["cpu_efficiency"], 0.375), "a second finish is skipped; the summary stays", j2)

# a job finished without samples has no summary values, but one was computed
start("st-none", T0, cpus=1)
finish("st-none", T0 + dt.timedelta(minutes=30))
s, j = req("GET", "/v1/jobs/st-none")
ok(j["cpu_efficiency"] is None and j["summary_at"] is not None,
   "a job without samples: summary computed, values null", j)
# a job finished by PATCH gets its summary too
start("st-patch", NOW - dt.timedelta(minutes=20), cpus=2)
sample("st-patch", NOW - dt.timedelta(minutes=10), 20, 10)
s, j = req("PATCH", "/v1/jobs/st-patch", {"state": "completed"})
ok(s == 200 and near(j["cpu_efficiency"], 0.2), "PATCH to completed computes the summary", j)

# ---- filters and sort keys -------------------------------------------------------------------
s, js = req("GET", "/v1/jobs?partition=storage&cpu_efficiency_lt=0.4")
ok(s == 200 and [x["id"] for x in js["jobs"]] == ["st-patch", "st-cnt"] and js["total"] == 2,
   "cpu_efficiency_lt=0.4", js)
s, js = req("GET", "/v1/jobs?partition=storage&sort=-cpu_efficiency")
ok([x["id"] for x in js["jobs"]] == ["st-eff", "st-cnt", "st-patch"] and js["total"] == 3,
   "sort=-cpu_efficiency: highest first, only jobs with a value", js)
s, js = req("GET", "/v1/jobs?partition=storage&sort=cpu_efficiency&limit=1&offset=1")
ok([x["id"] for x in js["jobs"]] == ["st-cnt"] and js["total"] == 3,
   "sort=cpu_efficiency with limit/offset", js)
s, js = req("GET", "/v1/jobs?partition=storage&idle_gpu_hours_gt=0.96")
ok([x["id"] for x in js["jobs"]] == ["st-eff"], "idle_gpu_hours_gt=0.96", js)
s, js = req("GET", "/v1/jobs?partition=storage&sort=-idle_gpu_hours")
ok([x["id"] for x in js["jobs"]] == ["st-eff", "st-cnt"], "sort=-idle_gpu_hours", js)
s, js = req("GET", "/v1/jobs?partition=storage&memory_peak_ratio_gt=0.4&memory_peak_ratio_lt=0.6"
                   "&sort=memory_peak_ratio")
ok(sorted(x["id"] for x in js["jobs"]) == ["st-cnt", "st-eff"], "memory_peak_ratio range", js)
s, js = req("GET", "/v1/jobs?partition=storage&gpu_mean_utilization_lt=40")
ok([x["id"] for x in js["jobs"]] == ["st-cnt"], "gpu_mean_utilization_lt=40", js)
s, js = req("GET", "/v1/jobs?partition=storage&sort=start_time&limit=1")
ok(s == 200 and [x["id"] for x in js["jobs"]] == ["st-far"] and js["total"] == 5,
   "sort=start_time: oldest first, every job (summary or not)", js)
s, js = req("GET", "/v1/jobs?partition=storage&count=estimate&sort=-cpu_efficiency")
ok(s == 200 and isinstance(js["total"], int) and js["total"] >= 0
   and [x["id"] for x in js["jobs"]] == ["st-eff", "st-cnt", "st-patch"],
   "count=estimate: same page, total from the planner's estimate", js)
s, js = req("GET", "/v1/jobs?partition=storage&count=exact")
ok(s == 200 and js["total"] == 5, "count=exact is the default's exact count", js)
before = sql("SELECT md5(string_agg(t::text, '' ORDER BY id)) FROM jobs t")
bad("/v1/jobs?sort=-user", "sort", "unknown sort key")
bad("/v1/jobs?sort=cpu_efficiency&sort=start_time", "sort", "sort given twice")
bad("/v1/jobs?cpu_efficiency_lt=abc", "cpu_efficiency_lt", "non-numeric filter")
bad("/v1/jobs?cpu_efficiency_lt=-1", "cpu_efficiency_lt", "negative filter")
bad("/v1/jobs?gpu_mean_utilization_gt=101", "gpu_mean_utilization_gt", "percentage over 100")
bad("/v1/jobs?idle_gpu_hours_gt=nan", "idle_gpu_hours_gt", "nan")
bad("/v1/jobs?cpu_efficiency_lte=1", "cpu_efficiency_lte", "unknown filter")
bad("/v1/jobs?count=approximate", "count", "count=approximate")
ok(sql("SELECT md5(string_agg(t::text, '' ORDER BY id)) FROM jobs t") == before,
   "rejected requests changed nothing")

# ---- rollups equal the raw rows; resolution choice -------------------------------------------
# (a rollup's sums are 0, not NULL, when no sample had the value: its *_n count is 0 then)
# st-roll: 3 days, two nodes, one sample a minute (rows via SQL: the rollups follow any writer)
# plus API samples (some re-posted) in the last hour.
T3 = NOW - dt.timedelta(days=3)
start("st-roll", T3, cpus=8, nodes=("r1", "r2"))
sql("""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
       SELECT 'st-roll', n, '%s'::timestamptz + g * interval '1 min' + interval '7 s',
              (g * 7 %% 1000) / 10.0, 1000000 + g * 13, CASE WHEN g %% 5 = 0 THEN NULL
              ELSE (g %% 101)::float8 / 3 END
       FROM generate_series(1, 4200) g, unnest(ARRAY['r1', 'r2']) n""" % iso(T3))
for k in range(6):
    for _ in range(2):  # the second post of each is a duplicate: never counted twice
        sample("st-roll", NOW - dt.timedelta(minutes=30, seconds=-k * 10), 33.3 + k, 5.5, node="r1")
def rollups_equal_raw(what, latest=True):
    """Every rollup and latest row, whoever wrote the samples, against the raw rows (the latest
    rows only while they are kept: latest=False after hjo_latest_retire)."""
    for res, unit in (("1m", "minute"), ("1h", "hour")):
        diff = sql(f"""
            SELECT count(*) FROM (
              SELECT job_id, node, date_trunc('{unit}', ts, 'UTC') AS b, count(*) AS n,
                     count(cpu_usage) AS cn, coalesce(sum(cpu_usage::numeric), 0) AS cs,
                     min(cpu_usage) AS cmi, max(cpu_usage) AS cma, count(memory_usage_bytes) AS mn,
                     coalesce(sum(memory_usage_bytes), 0) AS ms, min(memory_usage_bytes) AS mmi,
                     max(memory_usage_bytes) AS mma, count(gpu_usage) AS gn,
                     coalesce(sum(gpu_usage::numeric), 0) AS gs, min(gpu_usage) AS gmi,
                     max(gpu_usage) AS gma, count(*) FILTER (WHERE gpu_usage < 1) AS gi,
                     max(cpu_seconds) AS csm, max(memory_peak_bytes) AS mpm
              FROM metric_samples GROUP BY 1, 2, 3) raw
            FULL JOIN metric_rollup_{res}_all r
              ON r.job_id = raw.job_id AND r.node = raw.node AND r.bucket = raw.b
            WHERE (raw.n, raw.cn, raw.cs, raw.cmi, raw.cma, raw.mn, raw.ms, raw.mmi, raw.mma,
                   raw.gn, raw.gs, raw.gmi, raw.gma, raw.gi, raw.csm, raw.mpm)
                  IS DISTINCT FROM
                  (r.n, r.cpu_n, r.cpu_sum, r.cpu_min, r.cpu_max, r.mem_n, r.mem_sum, r.mem_min,
                   r.mem_max, r.gpu_n, r.gpu_sum, r.gpu_min, r.gpu_max, r.gpu_idle_n,
                   r.cpu_seconds_max, r.mem_peak_max)""")
        ok(diff == "0", f"{what}metric_rollup_{res}_all equals the aggregates of the raw rows, "
           "every bucket", f"{diff} buckets differ")
        diff = sql(f"""
            SELECT count(*) FROM (
              SELECT job_id, node, gpu_id, date_trunc('{unit}', ts, 'UTC') AS b, count(*) AS n,
                     count(utilization_percent) AS un,
                     coalesce(sum(utilization_percent::numeric), 0) AS us,
                     min(utilization_percent) AS umi, max(utilization_percent) AS uma,
                     count(*) FILTER (WHERE utilization_percent < 1) AS ui,
                     count(memory_used_bytes) AS mn, coalesce(sum(memory_used_bytes), 0) AS ms,
                     min(memory_used_bytes) AS mmi, max(memory_used_bytes) AS mma
              FROM gpu_samples GROUP BY 1, 2, 3, 4) raw
            FULL JOIN gpu_rollup_{res} r ON r.job_id = raw.job_id AND r.node = raw.node
                                        AND r.gpu_id = raw.gpu_id AND r.bucket = raw.b
            WHERE (raw.n, raw.un, raw.us, raw.umi, raw.uma, raw.ui, raw.mn, raw.ms, raw.mmi,
                   raw.mma)
                  IS DISTINCT FROM
                  (r.n, r.util_n, r.util_sum, r.util_min, r.util_max, r.util_idle_n, r.mem_n,
                   r.mem_sum, r.mem_min, r.mem_max)""")
        ok(diff == "0", f"{what}gpu_rollup_{res} equals the aggregates of the raw rows",
           f"{diff} differ")
    if not latest:
        return
    diff = sql("""
        SELECT count(*) FROM (SELECT DISTINCT ON (job_id, node) * FROM metric_samples
                              ORDER BY job_id, node, ts DESC) raw
        FULL JOIN metric_latest l ON l.job_id = raw.job_id AND l.node = raw.node
        WHERE (raw.ts, raw.cpu_usage, raw.memory_usage_bytes, raw.gpu_usage, raw.cpu_seconds,
               raw.memory_peak_bytes, raw.oom_kills) IS DISTINCT FROM
              (l.ts, l.cpu_usage, l.memory_usage_bytes, l.gpu_usage, l.cpu_seconds,
               l.memory_peak_bytes, l.oom_kills)""")
    ok(diff == "0", f"{what}metric_latest holds the newest raw sample of every (job, node)", diff)
    diff = sql("""
        SELECT count(*) FROM (SELECT DISTINCT ON (job_id, node, gpu_id) * FROM gpu_samples
                              ORDER BY job_id, node, gpu_id, ts DESC) raw
        FULL JOIN gpu_latest l
          ON l.job_id = raw.job_id AND l.node = raw.node AND l.gpu_id = raw.gpu_id
        WHERE (raw.ts, raw.gpu_vendor, raw.utilization_percent, raw.memory_used_bytes,
               raw.memory_total_bytes, raw.power_watts, raw.temperature_celsius)
              IS DISTINCT FROM
              (l.ts, l.gpu_vendor, l.utilization_percent, l.memory_used_bytes,
               l.memory_total_bytes, l.power_watts, l.temperature_celsius)""")
    ok(diff == "0", f"{what}gpu_latest holds the newest raw sample of every (job, node, GPU)",
       diff)


rollups_equal_raw("")
# auto: the finest resolution whose entries fit in max(limit, 1000)
s, js = req("GET", "/v1/jobs/st-roll/metrics?limit=10000")
nraw = int(sql("SELECT count(*) FROM metric_samples WHERE job_id = 'st-roll'"))
ok(s == 200 and js["resolution"] == "raw" and js["total"] == nraw,
   f"3 days x 2 nodes at 1/min ({nraw} samples), limit 10000: auto answers raw", js.get("total"))
s, js = req("GET", "/v1/jobs/st-roll/metrics")
nb = int(sql("SELECT count(*) FROM metric_rollup_1h_all WHERE job_id = 'st-roll'"))
ok(js["resolution"] == "1h" and js["total"] == nb == len(js["samples"]),
   f"the same with the default limit: 1h, the whole job in one answer ({nb})", js["total"])
s, js = req("GET", "/v1/jobs/st-roll/metrics?start_time=" + iso(NOW - dt.timedelta(hours=4))
            + "&end_time=" + iso(NOW - dt.timedelta(hours=2)))
ok(js["resolution"] == "raw", "a 2-hour range (240 samples): raw", js["resolution"])
# st-dense: one node, a sample every 10 s for 3 hours (1080): too many raw, 180 minutes
TD = NOW - dt.timedelta(hours=4)
start("st-dense", TD, nodes=("d1",))
sql("""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes)
       SELECT 'st-dense', 'd1', '%s'::timestamptz + g * interval '10 s', g %% 100, g
       FROM generate_series(1, 1080) g""" % iso(TD))
s, js = req("GET", "/v1/jobs/st-dense/metrics")
ok(js["resolution"] == "1m" and js["total"] == int(sql(
    "SELECT count(*) FROM metric_rollup_1m_all WHERE job_id = 'st-dense'")) <= 1000,
   "1080 samples in 3 hours: auto answers 1m (every minute of the job)", js["total"])
s, js = req("GET", "/v1/jobs/st-dense/metrics?limit=2000")
ok(js["resolution"] == "raw" and js["total"] == 1080, "... and raw with limit=2000", js["total"])
s, js = req("GET", "/v1/jobs/st-roll/metrics?start_time=" + iso(NOW - dt.timedelta(days=30)))
ok(js["resolution"] == "1h", "a 30-day range: auto picks 1h", js["resolution"])
s, js = req("GET", "/v1/jobs/st-roll/metrics?resolution=1h&node=r2&limit=2")
h0 = js["samples"][0]
want = sql(f"""SELECT count(*) || ' ' || avg(cpu_usage) || ' ' || min(cpu_usage) || ' ' ||
                      max(cpu_usage) || ' ' || max(memory_usage_bytes)
               FROM metric_samples WHERE job_id = 'st-roll' AND node = 'r2'
                 AND date_trunc('hour', ts, 'UTC') = '{h0["timestamp"]}'""").split()
ok(js["resolution"] == "1h" and js["total"] == int(sql(
    "SELECT count(*) FROM metric_rollup_1h_all WHERE job_id = 'st-roll' AND node = 'r2'"))
   and len(js["samples"]) == 2 and h0["node"] == "r2"
   and h0["sample_count"] == int(want[0]) and near(h0["cpu_usage"], float(want[1]))
   and near(h0["cpu_usage_min"], float(want[2])) and near(h0["cpu_usage_max"], float(want[3]))
   and h0["memory_usage_bytes_max"] == int(want[4]),
   "resolution=1h: the first hour of r2 equals count/avg/min/max of its raw rows", (h0, want))
s, js = req("GET", "/v1/jobs/st-roll/metrics?resolution=raw&limit=5")
ok(js["resolution"] == "raw" and js["total"] == int(sql(
    "SELECT count(*) FROM metric_samples WHERE job_id = 'st-roll'")) and len(js["samples"]) == 5,
   "resolution=raw on the long job", js["total"])
s, js = req("GET", "/v1/jobs/st-roll/metrics?resolution=1m&start_time="
            + iso(NOW - dt.timedelta(minutes=31)) + "&end_time=" + iso(NOW - dt.timedelta(minutes=29))
            + "&node=r1")
got = sum(x["sample_count"] for x in js["samples"])
ok(js["resolution"] == "1m" and got == 6,
   "resolution=1m with a range: the 6 API samples (each posted twice) counted once", js)
bad("/v1/jobs/st-roll/metrics?resolution=5m", "resolution", "resolution=5m")
bad("/v1/jobs/st-roll/metrics?resolution=", "resolution", "empty resolution")
s, js = req("GET", "/v1/jobs/st-nosuch/metrics?resolution=1h")
ok(s == 404, "unknown job: 404 at any resolution", js)

# ---- keyset pagination: after= / next_cursor (sql/0061_keyset.sql, fcgi/cursor.c) ----------
# partition "keyset": 40 jobs over 5 start times (ties), 5 without start_time (g % 8 == 0, one
# of them finished), summaries with ties and NULLs on the finished ones; ids of mixed case and
# punctuation so that the id tie-break is exercised.
TK = NOW - dt.timedelta(days=10)
sql("""INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, partition,
                         cpu_efficiency, memory_peak_ratio, gpu_mean_utilization, idle_gpu_hours)
       SELECT 'ks' || CASE g %% 4 WHEN 0 THEN '-' WHEN 1 THEN '.' WHEN 2 THEN '_' ELSE ':' END
              || lpad(g::text, 2, '0') || CASE WHEN g %% 5 = 0 THEN 'A' ELSE 'b' END,
              'keyset', '{k1}',
              CASE WHEN g %% 3 = 0 THEN 'completed' WHEN g %% 8 = 0 THEN 'pending'
                   ELSE 'running' END,
              CASE WHEN g %% 8 <> 0 THEN '%s'::timestamptz - (g %% 5) * interval '1 hour' END,
              CASE WHEN g %% 3 = 0 THEN '%s'::timestamptz + interval '1 day' END,
              'keyset',
              CASE WHEN g %% 3 = 0 THEN (g %% 4) * 0.25 END,
              CASE WHEN g %% 3 = 0 AND g <> 9 THEN 1.0 / (1 + g %% 2) END,
              CASE WHEN g %% 3 = 0 AND g %% 9 <> 0 THEN (g %% 5) * 12.5 END,
              CASE WHEN g %% 3 = 0 THEN (g / 7)::float8 / 3 END
       FROM generate_series(1, 40) g""" % (iso(TK), iso(TK)))
SORTS = ["-start_time", "start_time", "cpu_efficiency", "-cpu_efficiency", "memory_peak_ratio",
         "-memory_peak_ratio", "gpu_mean_utilization", "-gpu_mean_utilization", "idle_gpu_hours",
         "-idle_gpu_hours"]


def order_sql(srt):
    """The ORDER BY of a sort key (sql/0050: NULL start_times last when descending)."""
    key, d = srt.lstrip("-"), "DESC" if srt.startswith("-") else "ASC"
    if key == "start_time":
        return f"start_time {d} NULLS {'LAST' if d == 'DESC' else 'FIRST'}, id {d}"
    return f"{key} {d}, id {d}"


def ids_of(js):
    return [x["id"] for x in (js or {}).get("jobs", [])]


def walk(query, limit, between=None):
    """Every page of /v1/jobs?query through next_cursor; (ids, pages, totals, last status)."""
    got, pages, totals = [], 0, set()
    s, js = req("GET", f"/v1/jobs?{query}&limit={limit}")
    while True:
        pages += 1
        if s != 200 or pages > 200:
            return got, pages, totals, (s, js)
        got += ids_of(js)
        totals.add(js["total"])
        cur = js["next_cursor"]
        if cur is None:
            return got, pages, totals, None
        if len(js["jobs"]) != limit:
            return got, pages, totals, ("short page with a cursor", js)
        if between:
            between(pages, js)
        s, js = req("GET", f"/v1/jobs?{query}&limit={limit}&after={urllib.parse.quote(cur)}")


for srt in SORTS:
    key = srt.lstrip("-")
    s, full = req("GET", f"/v1/jobs?partition=keyset&sort={srt}&limit=1000")
    has_key = "" if key == "start_time" else f"AND {key} IS NOT NULL"
    want = sql(f"""SELECT string_agg(id, ' ' ORDER BY {order_sql(srt)}) FROM jobs
                   WHERE partition = 'keyset' {has_key}""").split()
    ok(s == 200 and ids_of(full) == want and full["next_cursor"] is None,
       f"sort={srt}: one big page is the ORDER BY of the key and id ({len(want)} jobs), "
       "next_cursor null", (ids_of(full), want, full.get("next_cursor")))
    got, pages, totals, err = walk(f"partition=keyset&sort={srt}", 3)
    ok(err is None and got == ids_of(full),
       f"sort={srt}: walking pages of 3 with after= gives the same jobs in the same order "
       f"({pages} pages)", (err, got, ids_of(full)))
    ok(totals == {len(want)}, f"sort={srt}: total is every match on every page", totals)
# the last page ends exactly at limit: next_cursor null there, not one empty page more
n_eff = int(sql("SELECT count(*) FROM jobs WHERE partition = 'keyset' AND cpu_efficiency IS NOT NULL"))
s, js = req("GET", f"/v1/jobs?partition=keyset&sort=cpu_efficiency&limit={n_eff}")
ok(len(js["jobs"]) == n_eff and js["next_cursor"] is None,
   f"a page of exactly the remaining {n_eff} jobs has next_cursor null", js["next_cursor"])
s, js = req("GET", f"/v1/jobs?partition=keyset&sort=cpu_efficiency&limit={n_eff - 1}")
s2, js2 = req("GET", f"/v1/jobs?partition=keyset&sort=cpu_efficiency&limit={n_eff - 1}"
              f"&after={js['next_cursor']}")
ok(js["next_cursor"] is not None and len(js2["jobs"]) == 1 and js2["next_cursor"] is None,
   "one job short of the end: a cursor, then a last page of one job", js2)
# with filters, and from an offset page
s, full = req("GET", "/v1/jobs?partition=keyset&state=completed&sort=start_time&limit=1000")
got, pages, totals, err = walk("partition=keyset&state=completed&sort=start_time", 2)
ok(err is None and got == ids_of(full) and len(got) > 4,
   "state=completed&sort=start_time (a NULL start_time among them): pages of 2", (err, got))
s, full = req("GET", "/v1/jobs?partition=keyset&limit=1000")
s, js = req("GET", "/v1/jobs?partition=keyset&limit=4&offset=4")
s, js = req("GET", f"/v1/jobs?partition=keyset&limit=4&after={js['next_cursor']}")
ok(s == 200 and ids_of(js) == ids_of(full)[8:12] and js["offset"] == 0,
   "the next_cursor of an offset page continues it; offset is 0 in the answer", js)
# the cursor's own row deleted before the next page: the listing goes on right after it
s, js = req("GET", "/v1/jobs?partition=keyset&limit=5")
gone = [ids_of(js)[-1], ids_of(full)[5]]
sql("DELETE FROM jobs WHERE id IN ('%s', '%s')" % tuple(gone))
s, js = req("GET", f"/v1/jobs?partition=keyset&limit=5&after={js['next_cursor']}")
ok(ids_of(js) == ids_of(full)[6:11],
   "rows deleted between pages (the cursor's own row too): no gap, nothing repeated", js)

# deep offsets (from 1000 on, sql/0061 finds the page's ids in the index first): the same
# jobs in the same order as the ORDER BY of the key, with filters and NULL keys
sql("""INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, partition,
                         cpu_efficiency)
       SELECT 'dp-' || lpad(g::text, 4, '0'), CASE WHEN g %% 10 = 0 THEN 'deep1' ELSE 'deep0' END,
              '{d1}',
              CASE WHEN g %% 5 = 0 THEN 'completed' ELSE 'running' END,
              CASE WHEN g %% 11 <> 0
                   THEN '%s'::timestamptz - ((g * 7919) %% 1300) * interval '1 s' END,
              CASE WHEN g %% 5 = 0 THEN '%s'::timestamptz END,
              'deep', CASE WHEN g %% 10 <> 3 THEN ((g * 31) %% 97) / 100.0 END
       FROM generate_series(1, 1300) g""" % (iso(TK), iso(TK)))
for srt, filt, where in [("-start_time", "", ""), ("start_time", "", ""),
                         ("-cpu_efficiency", "", "AND cpu_efficiency IS NOT NULL"),
                         ("-start_time", "&state=running", "AND state = 'running'"),
                         ("start_time", "&user=deep0", "AND user_name = 'deep0'")]:
    n = int(sql(f"SELECT count(*) FROM jobs WHERE partition = 'deep' {where}"))
    for off in (999, 1000, n - 30, n, n + 5):
        s, js = req("GET", f"/v1/jobs?partition=deep{filt}&sort={srt}&limit=50&offset={off}")
        want = (sql(f"""SELECT string_agg(id, ' ' ORDER BY {order_sql(srt)}) FROM
                        (SELECT * FROM jobs WHERE partition = 'deep' {where}
                         ORDER BY {order_sql(srt)} OFFSET {off} LIMIT 50) x""") or "").split()
        ok(s == 200 and ids_of(js) == want and js["total"] == n and js["offset"] == off,
           f"sort={srt}{filt} offset={off} of {n}: the ORDER BY's rows ({len(want)})",
           (s, ids_of(js)[:5], want[:5], js.get("total") if js else None))

# jobs added and removed while a client pages through (partition keyset2): every job that was
# there from the start is listed once, in order; an added job is listed exactly when it sorts
# after the page being read when it was added
sql("""INSERT INTO jobs (id, user_name, nodes, state, start_time, partition)
       SELECT 'kc-' || lpad(g::text, 2, '0'), 'keyset', '{k1}',
              CASE WHEN g %% 7 = 0 THEN 'pending' ELSE 'running' END,
              CASE WHEN g %% 7 <> 0 THEN '%s'::timestamptz - (g / 2) * interval '1 min' END,
              'keyset2'
       FROM generate_series(1, 24) g""" % iso(TK))
original = set(sql("SELECT string_agg(id, ' ') FROM jobs WHERE partition = 'keyset2'").split())
added, removed = [], []


def meddle(page, js):
    """After each page: a job newer than all (sorts before the page), one older than all, one
    without start_time, two with the start time of the page's last job (ids below and above
    it: one sorts after the cursor, one before); and one job of the rest of the listing
    removed."""
    last = js["jobs"][-1]
    t_last = last["start_time"] or iso(TK)
    for jid, ts in ((f"kn-{page:02d}-new", iso(NOW)),
                    (f"kn-{page:02d}-old", iso(TK - dt.timedelta(days=1, minutes=page))),
                    (f"kn-{page:02d}-null", None),
                    (f"ka-{page:02d}-tie", t_last), (f"kz-{page:02d}-tie", t_last)):
        sql("INSERT INTO jobs (id, user_name, nodes, state, start_time, partition) VALUES "
            "('%s', 'keyset', '{k1}', '%s', %s, 'keyset2')"
            % (jid, "running" if ts else "pending", f"'{ts}'" if ts else "NULL"))
        # does it sort after the page's last row (the cursor)?  (the oracle: SQL's row order)
        after = sql(f"""SELECT count(*) FROM jobs a, jobs c WHERE a.id = '{jid}' AND c.id = '{last["id"]}'
                        AND CASE WHEN c.start_time IS NULL THEN a.start_time IS NULL AND a.id < c.id
                                 ELSE a.start_time IS NULL OR (a.start_time, a.id) < (c.start_time, c.id)
                            END""")
        added.append((jid, after == "1"))
    victim = sql(f"""SELECT id FROM jobs WHERE partition = 'keyset2' AND id LIKE 'kc-%'
                     AND (start_time, id) < ('{t_last}', '{last["id"]}')
                     ORDER BY start_time DESC, id DESC OFFSET 2 LIMIT 1""")
    if victim and last["start_time"]:
        sql(f"DELETE FROM jobs WHERE id = '{victim}'")
        removed.append(victim)


got, pages, totals, err = walk("partition=keyset2", 4, meddle)
want_added = {j for j, a in added if a}
ok(err is None and len(got) == len(set(got)),
   f"jobs added/removed between {pages} pages: no job listed twice", (err, got))
ok(set(got) == (original - set(removed)) | want_added,
   f"... every job there from the start listed ({len(original)} - {len(removed)} removed), and "
   f"exactly the {len(want_added)} of {len(added)} added jobs that sort after the cursor",
   (sorted(set(got) ^ ((original - set(removed)) | want_added)), added))
final = sql("SELECT string_agg(id, ' ' ORDER BY start_time DESC NULLS LAST, id DESC) FROM jobs "
            "WHERE partition = 'keyset2'").split()
ok(got == [j for j in final if j in set(got)], "... in the order of the sort key", got)
ok(any(j.startswith("ka-") and a for j, a in added)
   and any(j.startswith("kz-") and not a for j, a in added)
   and any(j.endswith("-new") and not a for j, a in added),
   "... (ties with the cursor's start time on both sides of its id, and newer jobs, among them)",
   added)

# refused cursors: 400 naming `after`
s, js = req("GET", "/v1/jobs?partition=keyset&limit=3")
good = js["next_cursor"]
s, js = req("GET", "/v1/jobs?partition=keyset&limit=3&sort=-cpu_efficiency")
good_eff = js["next_cursor"]


def bad_after(path, desc):
    s, js = req("GET", path)
    ok(s == 400 and (js or {}).get("field") == "after" and js.get("error") == "validation_error",
       f"{desc}: 400 validation_error naming after", (s, js))


flip = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
bad_after(f"/v1/jobs?after={flip}", "a cursor with one character changed")
bad_after(f"/v1/jobs?after={good[:-4]}", "a cut cursor")
bad_after(f"/v1/jobs?after={good}A", "a cursor with a character more")
bad_after(f"/v1/jobs?after={good}%3D", "a padded cursor")
bad_after("/v1/jobs?after=abc", "garbage")
bad_after("/v1/jobs?after=a%2Bb", "a '+' (base64, not base64url)")
bad_after("/v1/jobs?after=" + "A" * 600, "an over-long cursor")
bad_after("/v1/jobs?after=", "an empty after")
bad_after(f"/v1/jobs?after={good}&sort=start_time", "a -start_time cursor with sort=start_time")
bad_after(f"/v1/jobs?after={good}&sort=cpu_efficiency", "a -start_time cursor with a summary sort")
bad_after(f"/v1/jobs?after={good_eff}", "a -cpu_efficiency cursor without sort")
bad_after(f"/v1/jobs?after={good_eff}&sort=cpu_efficiency", "... with the other direction")
bad_after(f"/v1/jobs?after={good}&offset=3", "after with offset")
bad_after(f"/v1/jobs?offset=0&after={good}", "after with offset=0")
bad_after(f"/v1/jobs?after={good}&after={good}", "after twice")
s, js = req("GET", f"/v1/jobs?partition=keyset&limit=3&after={good}")
ok(s == 200 and len(js["jobs"]) == 3, "the untouched cursor still works", js)

# ---- node samples: rollups and GET /v1/nodes/{node}/metrics (sql/0064_node_rollups.sql) -------
ok(sql("SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class "
       "WHERE relname IN ('node_rollup_1m', 'node_rollup_1h')") == "node_rollup_1h:p,node_rollup_1m:p"
   and sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'node_samples_rollup'") == "1",
   "fresh migrate: node_rollup_1m/1h partitioned, the node_samples trigger in place")
ok(sql("SELECT count(*) FROM generate_series(0, 7) d WHERE to_regclass('node_rollup_1m_p' || "
       "to_char(now() AT TIME ZONE 'UTC' + d * interval '1 day', 'YYYYMMDD')) IS NOT NULL") == "8",
   "fresh migrate: node_rollup_1m partitions for today and 7 days ahead")
# nr1: 3 days at one sample a minute (SQL: the rollups follow any writer), some values NULL;
# nr2: 3 hours at one sample every 10 s (1080); nr1 again in the last hour through POST
# /v1/samples (collectord's api sink), each interval posted twice.
TN = NOW - dt.timedelta(days=3)
sql("""INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                 memory_total_bytes, job_count)
       SELECT 'nr1', '%s'::timestamptz + g * interval '1 min' + interval '7 s',
              CASE WHEN g %% 9 = 0 THEN NULL ELSE (g * 7 %% 1000) / 10.0 END,
              CASE WHEN g %% 10 = 0 THEN NULL ELSE 2000000 + g * 17 END,
              CASE WHEN g %% 10 = 0 THEN NULL ELSE 64000000000 + (g / 1000) END,
              CASE WHEN g %% 8 = 0 THEN NULL ELSE g %% 6 END
       FROM generate_series(1, 4200) g""" % iso(TN))
TD2 = NOW - dt.timedelta(hours=4)
sql("""INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                 memory_total_bytes, job_count)
       SELECT 'nr2', '%s'::timestamptz + g * interval '10 s', g %% 100, g, 100000, g %% 3
       FROM generate_series(1, 1080) g""" % iso(TD2))
for k in range(6):
    body = {"node": "nr1", "timestamp": iso(NOW - dt.timedelta(minutes=30, seconds=-k * 10)),
            "samples": [], "node_sample": {"cpu_usage_percent": 10.5 + k,
                                           "memory_used_bytes": 1000 + k,
                                           "memory_total_bytes": 5000, "job_count": k}}
    for i in range(2):
        s, js = req("POST", "/v1/samples", body)
        ok(s == 200, f"POST /v1/samples with a node_sample (interval {k}, post {i + 1})", js)
# SQL re-posts of nr2 in one statement with new rows of nr3: only the new rows are counted
sql("""INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                 memory_total_bytes, job_count)
       SELECT n, '%s'::timestamptz + g * interval '10 s', 1, 1, 1, 1
       FROM generate_series(1, 300) g, unnest(ARRAY['nr2', 'nr3']) n
       ON CONFLICT DO NOTHING""" % iso(TD2))
ok(sql("SELECT count(*) FROM node_samples WHERE node = 'nr2'") == "1080",
   "the re-posted nr2 rows were skipped (ON CONFLICT DO NOTHING)")
for res, unit in (("1m", "minute"), ("1h", "hour")):
    diff = psql("-v", f"unit={unit}", "-v", f"tab=node_rollup_{res}", "-f",
                os.path.join(TOP, "tests", "integration", "node_rollup_diff.sql"))
    ok(diff == "0", f"node_rollup_{res} equals the aggregates of the raw node samples, every bucket",
       f"{diff} buckets differ")
ok(sql("SELECT sum(n) FROM node_rollup_1h") == sql("SELECT count(*) FROM node_samples")
   == sql("SELECT sum(n) FROM node_rollup_1m"),
   "every node sample counted exactly once in each rollup (duplicates never)")

NM = "/v1/nodes/%s/metrics"
n_nr1 = int(sql("SELECT count(*) FROM node_samples WHERE node = 'nr1'"))
s, js = req("GET", NM % "nr1" + "?limit=10000")
ok(s == 200 and js["node"] == "nr1" and js["resolution"] == "raw" and js["total"] == n_nr1
   and len(js["samples"]) == n_nr1,
   f"nr1, 3 days at 1/min ({n_nr1} samples), limit 10000: auto answers raw", js.get("total"))
ts_list = [x["timestamp"] for x in js["samples"]]
ok(ts_list == sorted(ts_list), "... oldest first")
s, js = req("GET", NM % "nr1")
nb = int(sql("SELECT count(*) FROM node_rollup_1h WHERE node = 'nr1'"))
ok(js["resolution"] == "1h" and js["total"] == nb == len(js["samples"]),
   f"the same with the default limit: 1h, the whole range in one answer ({nb})", js["total"])
s, js = req("GET", NM % "nr1" + "?start_time=" + iso(NOW - dt.timedelta(hours=4))
            + "&end_time=" + iso(NOW - dt.timedelta(hours=2)))
ok(js["resolution"] == "raw" and js["total"] == 120, "a 2-hour range (120 samples): raw", js)
s, js = req("GET", NM % "nr2")
ok(js["resolution"] == "1m" and js["total"] == int(sql(
    "SELECT count(*) FROM node_rollup_1m WHERE node = 'nr2'")) <= 1000,
   "nr2, 1080 samples in 3 hours: auto answers 1m", js["total"])
s, js = req("GET", NM % "nr2" + "?limit=2000")
ok(js["resolution"] == "raw" and js["total"] == 1080, "... and raw with limit=2000", js["total"])
s, js = req("GET", NM % "nr1" + "?resolution=1h&limit=2")
h0 = js["samples"][0]
want = sql(f"""SELECT count(*) || ' ' || avg(cpu_usage_percent) || ' ' || min(cpu_usage_percent)
                      || ' ' || max(cpu_usage_percent) || ' ' || round(avg(memory_used_bytes))
                      || ' ' || min(memory_used_bytes) || ' ' || max(memory_used_bytes)
                      || ' ' || max(memory_total_bytes) || ' ' || avg(job_count)
                      || ' ' || min(job_count) || ' ' || max(job_count)
               FROM node_samples WHERE node = 'nr1'
                 AND date_trunc('hour', ts, 'UTC') = '{h0["timestamp"]}'""").split()
ok(js["resolution"] == "1h" and js["total"] == nb and len(js["samples"]) == 2
   and h0["sample_count"] == int(want[0]) and near(h0["cpu_usage_percent"], float(want[1]))
   and near(h0["cpu_usage_percent_min"], float(want[2]))
   and near(h0["cpu_usage_percent_max"], float(want[3]))
   and h0["memory_used_bytes"] == int(want[4]) and h0["memory_used_bytes_min"] == int(want[5])
   and h0["memory_used_bytes_max"] == int(want[6]) and h0["memory_total_bytes"] == int(want[7])
   and near(h0["job_count"], float(want[8])) and h0["job_count_min"] == int(want[9])
   and h0["job_count_max"] == int(want[10]),
   "resolution=1h: nr1's first hour equals count/avg/min/max of its raw rows", (h0, want))
s, js = req("GET", NM % "nr1" + "?resolution=raw&limit=5")
first = sql("""SELECT cpu_usage_percent || ' ' || memory_used_bytes || ' ' || job_count
               FROM node_samples WHERE node = 'nr1' ORDER BY ts LIMIT 1""").split()
r0 = js["samples"][0]
ok(js["resolution"] == "raw" and js["total"] == n_nr1 and len(js["samples"]) == 5
   and near(r0["cpu_usage_percent"], float(first[0])) and r0["memory_used_bytes"] == int(first[1])
   and r0["job_count"] == int(first[2]),
   "resolution=raw&limit=5: the first 5 samples, total counts them all", js)
s, js = req("GET", NM % "nr1" + "?resolution=1m&start_time=" + iso(NOW - dt.timedelta(minutes=31))
            + "&end_time=" + iso(NOW - dt.timedelta(minutes=29)))
ok(js["resolution"] == "1m" and sum(x["sample_count"] for x in js["samples"]) == 6
   and near(sum(x["sample_count"] * x["cpu_usage_percent"] for x in js["samples"]), 78.0)
   and max(x["job_count_max"] for x in js["samples"]) == 5,
   "resolution=1m over the posted intervals: 6 samples (each posted twice) counted once", js)
s, js = req("GET", NM % "nr1" + "?start_time=" + iso(NOW + dt.timedelta(days=1)))
ok(s == 200 and js["samples"] == [] and js["total"] == 0 and js["resolution"] == "raw",
   "a known node with nothing in the range: 200, empty list", js)
s, js = req("GET", NM % "nr-nosuch")
ok(s == 404 and (js or {}).get("error") == "not_found", "an unknown node: 404 not_found", js)
s, js = req("GET", NM % "nr-nosuch" + "?resolution=1h")
ok(s == 404, "... at any resolution", js)
for path in (NM % "bad%21name", NM % "..", NM % "nr1%2F..", NM % ("a" * 300)):
    s, js = req("GET", path)
    ok(s == 404 and (js or {}).get("error") == "not_found", f"GET {path[:40]}: 404, not a node", js)
s, js = req("POST", NM % "nr1", {"cpu_usage_percent": 1})
ok(s == 405, "POST on the node route: 405", js)
before = sql("SELECT count(*) || ':' || (SELECT sum(n) FROM node_rollup_1m) FROM node_samples")
bad(NM % "nr1" + "?resolution=5m", "resolution", "node route: resolution=5m")
bad(NM % "nr1" + "?resolution=", "resolution", "node route: empty resolution")
bad(NM % "nr1" + "?resolution=raw&resolution=1h", "resolution", "node route: resolution twice")
bad(NM % "nr1" + "?start_time=yesterday", "start_time", "node route: start_time not RFC 3339")
bad(NM % "nr1" + "?end_time=2024-01-01T00:00:00", "end_time", "node route: end_time without zone")
bad(NM % "nr1" + "?limit=0", "limit", "node route: limit=0")
bad(NM % "nr1" + "?limit=10001", "limit", "node route: limit=10001")
bad(NM % "nr1" + "?node=nr2", "node", "node route: node is not one of its parameters")
bad(NM % "nr-nosuch" + "?limit=abc", "limit", "node route: a bad parameter is 400 before the node lookup")
ok(sql("SELECT count(*) || ':' || (SELECT sum(n) FROM node_rollup_1m) FROM node_samples") == before,
   "rejected node requests changed nothing")

# ---- 0065: the metrics answers are written from rows, byte for byte the SQL functions' ------
# hjo-api writes GET /v1/jobs/{id}/metrics and GET /v1/nodes/{node}/metrics from the rows of
# hjo_samples_rows / hjo_node_samples_rows (fcgi/series_json.c); hjo_samples_list (0050) and
# hjo_node_samples_list (0064) still build the documents they answered before, in SQL.  Each
# answer below must equal theirs for the same parameters, byte for byte: key order, spacing,
# number text, null, escapes, the time format, total and the resolution auto picks.
ok(sql("""SELECT has_function_privilege('hjo_api', 'hjo_samples_rows(text, timestamptz,
                  timestamptz, text, integer, text)', 'EXECUTE')
              AND has_function_privilege('hjo_api', 'hjo_node_samples_rows(text, timestamptz,
                  timestamptz, integer, text)', 'EXECUTE')
              AND has_function_privilege('hjo_api', 'hjo_ts_usec(timestamptz)', 'EXECUTE')
              AND NOT has_function_privilege('public', 'hjo_samples_rows(text, timestamptz,
                  timestamptz, text, integer, text)', 'EXECUTE')
              AND NOT has_function_privilege('public', 'hjo_node_samples_rows(text,
                  timestamptz, timestamptz, integer, text)', 'EXECUTE')""") == "t",
   "grants: hjo_api calls hjo_samples_rows, hjo_node_samples_rows and hjo_ts_usec; PUBLIC not")


def lit(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def sql_doc(q):
    out = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", os.environ["HJO_PGHOST"],
         "-p", os.environ["HJO_PGPORT"], "-U", "postgres", "-d", "hjo", "-c", q],
        check=True, capture_output=True, env={**os.environ, "PGCLIENTENCODING": "UTF8"})
    return out.stdout.decode("utf-8").rstrip("\n")


def first_diff(a, b):
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return f"at byte {i} of {len(a)}/{len(b)}:\n got  {a[max(0, i - 60):i + 60]!r}\n want " \
           f"{b[max(0, i - 60):i + 60]!r}"


def same_doc(kind, name, q, check_spec=True):
    """GET the metrics of job/node `name` with query q (dict); compare with the SQL function."""
    qs = urllib.parse.urlencode(q)
    limit = q.get("limit", 1000)
    if kind == "job":
        path = f"/v1/jobs/{name}/metrics" + ("?" + qs if qs else "")
        fn = (f"hjo_samples_list({lit(name)}, {lit(q.get('start_time'))}, "
              f"{lit(q.get('end_time'))}, {lit(q.get('node'))}, {limit}, "
              f"{lit(q.get('resolution'))})")
    else:
        path = f"/v1/nodes/{name}/metrics" + ("?" + qs if qs else "")
        fn = (f"hjo_node_samples_list({lit(name)}, {lit(q.get('start_time'))}, "
              f"{lit(q.get('end_time'))}, {limit}, {lit(q.get('resolution'))})")
    s, got = req("GET", path, raw=True, check_spec=check_spec)
    want = sql_doc(f"SELECT {fn}")
    ok(s == 200 and got == want, f"GET {path}: byte for byte {fn.split('(')[0]}'s document",
       f"{s}: {first_diff(got, want)}" if s == 200 else f"{s}: {got[:300]}")
    return got


# st-json: what the API cannot store, but SQL can: node names that need escapes (quote,
# backslash, tab, other control bytes, UTF-8), NULL cpu and gpu, times before year 1 (BC),
# after 9999 and +-infinity (hjo_ts prints those its own way, or null), and several samples
# in one minute and one hour.  The openapi check is left out for it: its times are no RFC 3339.
start("st-json", NOW - dt.timedelta(hours=2), nodes=("j1",))
sql("""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
       VALUES ('st-json', E'q"\\\\x\\x01\\tz\\u00e9\\x1f', '0005-01-01 BC', NULL, 0, NULL),
              ('st-json', 'j1', '10000-01-01T00:00:00Z', 1.5, 1, 99.75),
              ('st-json', 'j1', 'infinity', 2, 2, 2), ('st-json', 'j1', '-infinity', 3, 3, NULL),
              ('st-json', 'j1', '0001-01-01T00:00:00Z', 0, 9223372036854775807, 0),
              ('st-json', E'j\\\\2', '1969-12-31T23:59:59.999999Z', 100, 12345, 1e-3)""")
sql("""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes, gpu_usage)
       SELECT 'st-json', CASE WHEN g %% 2 = 0 THEN 'j1' ELSE E'j\\"3' END,
              '%s'::timestamptz + g * interval '7.654321 s',
              CASE WHEN g %% 3 = 0 THEN NULL ELSE g %% 700 / 7.0 END, g * 1000003,
              CASE WHEN g %% 4 = 0 THEN NULL ELSE 100.0 / g END
       FROM generate_series(1, 900) g""" % iso(NOW - dt.timedelta(hours=2)))
ok(sql("SELECT count(*) FROM metric_samples WHERE job_id = 'st-json'") == "906",
   "st-json: 906 samples stored, odd times and node names included")
for res in (None, "raw", "1m", "1h"):
    for lim in (1000, 3):
        same_doc("job", "st-json", {**({"resolution": res} if res else {}), "limit": lim},
                 check_spec=False)
same_doc("job", "st-json", {"resolution": "raw", "node": "j1"}, check_spec=False)
same_doc("job", "st-json", {"resolution": "1m", "start_time": iso(NOW - dt.timedelta(hours=1)),
                            "end_time": iso(NOW)})

# the jobs above: st-roll (two nodes, 3 days, gpu_usage NULL every 5th minute), st-dense,
# st-far (2001, the DEFAULT partition)
mid = iso(NOW - dt.timedelta(days=1, minutes=17))
for q in ({}, {"limit": 10000}, {"resolution": "raw"}, {"resolution": "1m"},
          {"resolution": "1h"}, {"resolution": "1m", "node": "r2", "limit": 7},
          {"resolution": "1h", "start_time": mid, "end_time": iso(NOW)},
          {"resolution": "raw", "start_time": mid, "limit": 50},
          {"resolution": "1m", "start_time": mid, "end_time": mid},
          {"resolution": "raw", "node": "r1", "start_time": iso(NOW + dt.timedelta(days=1))},
          {"start_time": iso(NOW - dt.timedelta(hours=2)), "node": "r1"}):
    same_doc("job", "st-roll", q)
for q in ({}, {"limit": 2000}, {"resolution": "1h"}, {"resolution": "raw", "limit": 1}):
    same_doc("job", "st-dense", q)
for res in ("raw", "1m", "1h"):
    same_doc("job", "st-far", {"resolution": res})
doc = same_doc("job", "st-roll", {"resolution": "1m", "limit": 2})
ok(doc.startswith('{"job_id" : "st-roll", "resolution" : "1m", "samples" : [{"timestamp" : "')
   and doc.endswith('}], "total" : %s}' % sql(
       "SELECT count(*) FROM metric_rollup_1m_all WHERE job_id = 'st-roll'")),
   "the document's frame: PostgreSQL's spacing, samples then total", doc[:120])

# nodes: nr1 (NULLs in every column now and then), nr2, nr3; nr-json: int4's largest job_count,
# times past 9999 and infinity
sql("""INSERT INTO node_samples (node, ts, cpu_usage_percent, memory_used_bytes,
                                 memory_total_bytes, job_count)
       VALUES ('nr-json', '10000-01-01T00:00:00Z', 0.1, 1, 2, 2147483647),
              ('nr-json', 'infinity', NULL, NULL, NULL, NULL),
              ('nr-json', '0005-01-01 BC', 100, 0, 0, 0),
              ('nr-json', '%s', 33.333, 9223372036854775807, 9223372036854775807, 1)"""
    % iso(NOW - dt.timedelta(minutes=5)))
for res in (None, "raw", "1m", "1h"):
    same_doc("node", "nr-json", {"resolution": res} if res else {}, check_spec=False)
for q in ({}, {"limit": 10000}, {"resolution": "raw"}, {"resolution": "1m"},
          {"resolution": "1h", "limit": 3}, {"resolution": "raw", "limit": 5, "start_time": mid},
          {"resolution": "1m", "start_time": iso(NOW - dt.timedelta(minutes=31)),
           "end_time": iso(NOW - dt.timedelta(minutes=29))},
          {"start_time": iso(NOW + dt.timedelta(days=1))}):
    same_doc("node", "nr1", q)
for name in ("nr2", "nr3"):
    for q in ({}, {"resolution": "raw"}, {"resolution": "1m", "limit": 10}):
        same_doc("node", name, q)
s, js = req("GET", "/v1/nodes/nr-nosuch/metrics?resolution=raw")
ok(s == 404 and js.get("message") == "node not found"
   and sql("SELECT hjo_node_samples_list('nr-nosuch', NULL, NULL, 1000, 'raw') IS NULL") == "t"
   and sql("SELECT count(*) FROM hjo_node_samples_rows('nr-nosuch', NULL, NULL, 1000, NULL)")
   == "0", "an unknown node: no row, 404 node not found (as the SQL function's NULL)", js)
s, js = req("GET", "/v1/jobs/st-nosuch/metrics?resolution=1m")
ok(s == 404 and js.get("message") == "job not found"
   and sql("SELECT count(*) FROM hjo_samples_rows('st-nosuch', NULL, NULL, NULL, 1000, NULL)")
   == "0", "an unknown job: no row, 404 job not found", js)

# ---- sample batches write their own rollups (sql/0066_ingest_cheaper.sql) -------------------
# POST /v1/samples (hjo_ingest_batch) writes the rows, rollups, latest rows and job aggregates
# in one statement, with the rollup triggers standing aside; every other writer goes through
# the triggers.  Batches over two minutes and an hour boundary, each posted twice; a job on
# two nodes in one body; a job sample without CPU; per-GPU samples; a late batch older than
# the others; a finished job's late samples (accepted before its end, refused after); an
# unknown job; the same (job, node) twice in one body.
TB = (NOW - dt.timedelta(hours=3)).replace(minute=58, second=50)
start("sb-a", TB - dt.timedelta(hours=1), cpus=4, nodes=("b1", "b2"))
start("sb-g", TB - dt.timedelta(hours=1), cpus=2, gpus=2, nodes=("b1",))
start("sb-f", TB - dt.timedelta(hours=1), cpus=1, mem=100, nodes=("b1",))
finish("sb-f", TB + dt.timedelta(seconds=30))
f_before = sql("SELECT cpu_efficiency IS NULL FROM jobs WHERE id = 'sb-f'")


def sb_body(k, t):
    return {"node": "b1", "timestamp": iso(t), "samples": [
        {"job_id": "sb-a", "cpu_usage": 10.25 * (k % 7), "memory_usage_bytes": 1048576 * (k + 1),
         "cpu_seconds": 5.5 * k, "memory_peak_bytes": 2097152 + k},
        {"job_id": "sb-a", "node": "b2", "cpu_usage": 99 - k, "memory_usage_bytes": 4096 * k,
         "gpu_usage": 0.5 * k},
        {"job_id": "sb-g", "cpu_usage": None if k % 3 == 0 else 12.5,
         "memory_usage_bytes": 100 + k, "gpu_usage": 30 + k},
        {"job_id": "sb-f", "cpu_usage": 50, "memory_usage_bytes": 1048576 * 50},
        {"job_id": "sb-nosuch", "cpu_usage": 1, "memory_usage_bytes": 1}],
        "gpu_samples": [
        {"job_id": "sb-g", "gpu_id": "g0", "gpu_vendor": "nvidia",
         "utilization_percent": 0.25 * (k % 5), "memory_used_bytes": 1000 * k},
        {"job_id": "sb-g", "gpu_id": "g1", "gpu_vendor": "amd",
         "utilization_percent": None if k == 2 else 60 + k, "power_watts": 100.5}]}


sb_ok = True
for k in range(12):
    t = TB + dt.timedelta(seconds=10 * k)
    live_f = t <= TB + dt.timedelta(seconds=30)
    for i in range(2):
        s, js = req("POST", "/v1/samples", sb_body(k, t))
        want = (4 if live_f else 3) if i == 0 else 0
        sb_ok = sb_ok and s == 200 and js["stored"] == want and js["gpu_stored"] == 2 * (i == 0) \
            and js["duplicates"] == (0 if i == 0 else (4 if live_f else 3)) \
            and sorted((r["job_id"], r["reason"]) for r in js["rejected"]) == sorted(
                [("sb-nosuch", "unknown")] + ([] if live_f else [("sb-f", "finished")]))
        if not sb_ok:
            print(f"# batch {k} post {i + 1}: {s} {js}")
ok(sb_ok, "12 batches posted twice: the first stores them (sb-f's until its end), the second "
   "finds duplicates; the unknown job and the finished one are reported")
# a late batch, older than all the others, and one naming (sb-a, b1) twice
s, js = req("POST", "/v1/samples", sb_body(20, TB - dt.timedelta(minutes=90)))
ok(s == 200 and js["stored"] == 4, "a late batch (90 minutes older) is stored", js)
body = sb_body(21, TB + dt.timedelta(minutes=5))
body["samples"].append(dict(body["samples"][0], cpu_usage=77))
s, js = req("POST", "/v1/samples", body)
ok(s == 200 and js["stored"] == 3 and js["duplicates"] == 1,
   "the same (job, node) twice in one body: stored once, once a duplicate", js)
rollups_equal_raw("after sample batches: ")
agg = sql("""
    SELECT count(*) FROM jobs j0 CROSS JOIN LATERAL hjo_job_live(j0) j JOIN (
      SELECT job_id, count(*) AS n, count(*) - count(cpu_usage) AS miss, max(cpu_usage) AS mc,
             max(memory_usage_bytes) / 1048576.0 AS mm, count(gpu_usage) AS gn,
             max(gpu_usage) AS mg, max(ts) AS last, sum(cpu_usage) AS sc, sum(gpu_usage) AS sg
      FROM metric_samples WHERE job_id LIKE 'sb-%' GROUP BY job_id) r ON r.job_id = j.id
    WHERE (j.sample_count, j.cpu_missing_count, j.max_cpu_usage, j.gpu_sample_count,
           j.max_gpu_usage, j.last_sample_at)
          IS NOT DISTINCT FROM (r.n, r.miss, r.mc, r.gn, r.mg, r.last)
      AND abs(j.max_memory_usage_mb - r.mm) < 1e-9
      AND abs(j.cpu_usage_sum - coalesce(r.sc, 0)) < 1e-6
      AND abs(j.gpu_usage_sum - coalesce(r.sg, 0)) < 1e-6""")
ok(agg == "3", "the job aggregates of sb-a, sb-g and sb-f equal those of their raw rows", agg)
cur = sql("""SELECT j.cpu_usage || ' ' || j.memory_usage_mb || ' ' || coalesce(j.gpu_usage, -1)
             FROM jobs j0, hjo_job_live(j0) j WHERE j0.id = 'sb-a'""").split()
ok(float(cur[0]) == 99 - 21 and float(cur[1]) == 4096 * 21 / 1048576 and float(cur[2]) == 10.5,
   "sb-a's current values: the newest batch's last node (b2), not the late batch's", cur)
ok(f_before == "t" and sql("""
    SELECT (j.cpu_efficiency, j.cpu_seconds, j.memory_peak_mb, j.memory_peak_ratio)
           IS NOT DISTINCT FROM (s.cpu_efficiency, s.cpu_seconds, s.memory_peak_mb,
                                 s.memory_peak_ratio)
           AND j.memory_peak_mb = 50 AND j.cpu_efficiency = 0.5
    FROM jobs j, hjo_job_summary_calc(j.id, j.start_time, j.end_time, j.allocated_cpus,
                                      j.allocated_memory_mb, j.allocated_gpus) s
    WHERE j.id = 'sb-f'""") == "t",
   "sb-f finished without samples; its summary follows its late samples (0.5, 50 MiB: as "
   "recomputed from the rollups)")
# the setting that makes the triggers stand aside ends with the function: a direct INSERT in
# the same transaction, after a batch, is rolled up by the triggers
t6, t7 = iso(TB + dt.timedelta(minutes=6)), iso(TB + dt.timedelta(minutes=7))
out = psql("-c", "BEGIN", "-c", f"""
    SELECT count(*) FROM hjo_ingest_batch('b1', '{t6}', ARRAY['sb-a'], NULL, ARRAY[1.5::float8],
        ARRAY[10::bigint], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, ARRAY['sb-g'], NULL, ARRAY['g0'], ARRAY['nvidia'], ARRAY[0::float8],
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false)""",
           "-c", "SELECT 'setting ' || coalesce(nullif(current_setting("
                 "'hjo.ingest_writes_rollups', true), ''), 'unset')",
           "-c", f"""INSERT INTO metric_samples (job_id, node, ts, cpu_usage, memory_usage_bytes)
                     VALUES ('sb-a', 'b3', '{t6}', 2.5, 20)""",
           "-c", f"""INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor,
                                              utilization_percent)
                     VALUES ('sb-g', 'b1', 'g0', '{t7}', 'nvidia', 0.5)""",
           "-c", "COMMIT").split("\n")
ok(len(out) == 2 and out[1] == "setting unset",
   "after hjo_ingest_batch the setting that sets the triggers aside is gone", out)
rollups_equal_raw("a batch then direct INSERTs in one transaction: ")

# ---- the open minute and the running aggregates in metric_latest (sql/0069) ---------------
# The batches above kept each (job, node)'s latest minute open in metric_latest; the views (and
# so every check above) include it.  No minute is both a rollup row and an open minute.
ok(int(sql("SELECT count(*) FROM metric_latest WHERE job_id LIKE 'sb-%' AND m_bucket IS NOT NULL"))
   > 0, "the sample batches left open minutes in metric_latest")
both = sql("""SELECT count(*) FROM metric_latest l JOIN metric_rollup_1m r
              ON r.job_id = l.job_id AND r.node = l.node AND r.bucket = l.m_bucket
              WHERE l.job_id LIKE 'sb-%'""")
ok(both == "0", "the batches kept no minute of sb-* both as a rollup row and as the open one",
   both)
# hjo_latest_retire (hjo-admin maintain): once sb-a and sb-g ended, their metric_latest rows go;
# what the API shows of them does not change, and the rollup tables alone equal the raw rows.
finish("sb-a", TB + dt.timedelta(minutes=10))
finish("sb-g", TB + dt.timedelta(minutes=10))
views = {}
for j in ("sb-a", "sb-g", "sb-f"):
    for path in (f"/v1/jobs/{j}", f"/v1/jobs/{j}/metrics?resolution=1m",
                 f"/v1/jobs/{j}/metrics?resolution=1h", f"/v1/jobs/{j}/metrics?resolution=raw"):
        views[path] = req("GET", path)
st_l, lst = req("GET", "/v1/jobs?limit=500")
in_list = {j["id"]: j for j in (lst or {}).get("jobs", [])}
ok(st_l == 200
   and all(in_list.get(j) == views[f"/v1/jobs/{j}"][1] for j in ("sb-a", "sb-g", "sb-f")),
   "GET /v1/jobs shows sb-a, sb-g and sb-f as GET /v1/jobs/{id} does (running aggregates included)",
   [in_list.get("sb-a"), views["/v1/jobs/sb-a"][1]])
ok(sql("SELECT sum(live_n) FROM metric_latest WHERE job_id IN ('sb-a', 'sb-g')") != "0",
   "before the retire, sb-a's and sb-g's running aggregates are in metric_latest")
got = sql("SELECT metric > 0 AND gpu > 0 FROM hjo_latest_retire(-3600)")
ok(got == "t", "hjo_latest_retire moves the rows of ended jobs (metric and GPU)", got)
ok(sql("SELECT count(*) FROM metric_latest WHERE job_id LIKE 'sb-%'") == "0",
   "no metric_latest row of sb-* is left")
same = [p for p, v in views.items() if req("GET", p) != v]
ok(not same, "after the retire every job and metrics answer of sb-* is the same as before", same)
rollups_equal_raw("after the retire (the tables alone): ", latest=False)
jrow = sql("SELECT sample_count FROM jobs WHERE id = 'sb-a'")
ok(jrow == str(views["/v1/jobs/sb-a"][1]["sample_count"]),
   "sb-a's jobs row itself now holds the sample count the API showed", jrow)

# A late batch after the retire, in a minute the retire moved to the rollups: it opens that
# minute again in a new metric_latest row, so the minute is both a row and open; the views add
# the two, and the API's answers follow the raw rows.
s, js = req("POST", "/v1/samples", sb_body(30, TB + dt.timedelta(minutes=5, seconds=3)))
ok(s == 200 and js["stored"] == 3, "a late batch for the retired sb-a and sb-g is stored", js)
both = sql(f"""SELECT count(*) FROM metric_latest l JOIN metric_rollup_1m r
               ON r.job_id = l.job_id AND r.node = l.node AND r.bucket = l.m_bucket
               WHERE l.job_id = 'sb-a'""")
ok(both == "2", "sb-a's minute is now both a rollup row and open, on b1 and b2", both)
rollups_equal_raw("a late batch after the retire: ", latest=False)
s, jb = req("GET", "/v1/jobs/sb-a")
s2, m1 = req("GET", "/v1/jobs/sb-a/metrics?resolution=1m&limit=5000")
# (the job's count leaves out the row inserted by SQL on b3 above: SQL inserts do not touch
# the job's aggregates, as before 0069)
raw_n = sql("SELECT count(*) FROM metric_samples WHERE job_id = 'sb-a'")
api_n = sql("SELECT count(*) FROM metric_samples WHERE job_id = 'sb-a' AND node <> 'b3'")
m1_n = sum(e.get("sample_count", 0) for e in (m1 or {}).get("samples", []))
ok(s == 200 and s2 == 200 and str(jb["sample_count"]) == api_n and str(m1_n) == raw_n
   and len({(e["timestamp"], e["node"]) for e in m1["samples"]}) == len(m1["samples"]),
   "sb-a's sample count and 1-minute entries (one per minute and node) follow the raw rows",
   [jb.get("sample_count"), api_n, m1_n, raw_n])

# ---- concurrent batches (sql/0069) ---------------------------------------------------------
# One job on four nodes and two on one node each; 4 minutes of 10-second intervals per node,
# shuffled (so most bodies find an open minute that is later, earlier or the same as theirs),
# posted by 8 clients at once (hjo-api has 4 workers).  Meanwhile cc-f finishes (its later
# samples are refused, those before its end arriving after it are late samples) and
# hjo_latest_retire runs in a loop, so cc-f's rows are retired while its late samples still
# arrive.  Afterwards every rollup bucket, with the open minutes, and every job aggregate equals
# the raw rows.  (Without the batch's job locks, cc-h's buckets differ.  A late sample of cc-f
# can open the minute that the retire just moved to the rollups: the views add the two.)
TC = (NOW - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
start("cc-a", TC - dt.timedelta(hours=1), cpus=8, nodes=("c1", "c2", "c3", "c4"))
start("cc-b", TC - dt.timedelta(hours=1), cpus=2, nodes=("c1",))
start("cc-f", TC - dt.timedelta(hours=1), cpus=2, nodes=("c2",))
cc_bodies = []
for ni, node in enumerate(("c1", "c2", "c3", "c4")):
    for k in range(24):
        smp = [{"job_id": "cc-a", "cpu_usage": (7 * k + 13 * ni) % 100 + 0.5,
                "memory_usage_bytes": 1048576 * (k + ni + 1), "cpu_seconds": 3.0 * k + ni,
                "memory_peak_bytes": 2097152 * (k + 1)}]
        if node == "c1":
            smp.append({"job_id": "cc-b", "cpu_usage": None if k % 5 == 0 else 40.25,
                        "memory_usage_bytes": 4096 * k})
        if node == "c2":
            smp.append({"job_id": "cc-f", "cpu_usage": 12.5 * (k % 8),
                        "memory_usage_bytes": 8192 * k, "cpu_seconds": 1.5 * k})
        cc_bodies.append({"node": node, "timestamp": iso(TC + dt.timedelta(seconds=10 * k)),
                          "samples": smp})
# and one job on one node with 10 minutes of intervals: every pair of its bodies in flight at
# once reads and writes the same open minute
start("cc-h", TC - dt.timedelta(hours=1), cpus=1, nodes=("c5",))
for k in range(60):
    cc_bodies.append({"node": "c5", "timestamp": iso(TC + dt.timedelta(seconds=10 * k)),
                      "samples": [{"job_id": "cc-h", "cpu_usage": (11 * k) % 100 + 0.25,
                                   "memory_usage_bytes": 65536 * (k % 13)}]})
random.Random(7).shuffle(cc_bodies)
cc_res = []
cc_done = threading.Event()


def cc_post(chunk):
    for b in chunk:
        st, js = req("POST", "/v1/samples", b, check_spec=False)
        cc_res.append((st, (js or {}).get("stored")))


def cc_retire():
    while not cc_done.is_set():
        sql("SELECT hjo_latest_retire(0)")


cc_threads = [threading.Thread(target=cc_post, args=(cc_bodies[i::8],)) for i in range(8)]
cc_ret = threading.Thread(target=cc_retire)
for th in cc_threads:
    th.start()
cc_ret.start()
finish("cc-f", TC + dt.timedelta(seconds=115))
for th in cc_threads:
    th.join()
cc_done.set()
cc_ret.join()
cc_raw = int(sql("SELECT count(*) FROM metric_samples WHERE job_id LIKE 'cc-%'"))
ok(len(cc_res) == 156 and all(st == 200 for st, _ in cc_res)
   and sum(n or 0 for _, n in cc_res) == cc_raw,
   "156 bodies from 8 clients at once: all 200, the stored counts add up to the raw rows",
   [len(cc_res), cc_raw, sum(n or 0 for _, n in cc_res)])
ok(sql(f"""SELECT count(*) FROM metric_samples
            WHERE job_id = 'cc-f' AND ts <= '{iso(TC + dt.timedelta(seconds=115))}'""") == "12",
   "cc-f: every sample up to its end (12 intervals) stored, before or after the finish")
rollups_equal_raw("after concurrent batches and retires: ", latest=False)
cc_agg = sql("""
    SELECT count(*) FROM jobs j0 CROSS JOIN LATERAL hjo_job_live(j0) j JOIN (
      SELECT job_id, count(*) AS n, count(*) - count(cpu_usage) AS miss, max(cpu_usage) AS mc,
             max(memory_usage_bytes) / 1048576.0 AS mm, max(ts) AS last,
             sum(cpu_usage) AS sc
      FROM metric_samples WHERE job_id LIKE 'cc-%' GROUP BY job_id) r ON r.job_id = j.id
    WHERE (j.sample_count, j.cpu_missing_count, j.max_cpu_usage, j.last_sample_at)
          IS NOT DISTINCT FROM (r.n, r.miss, r.mc, r.last)
      AND abs(j.max_memory_usage_mb - r.mm) < 1e-9
      AND abs(j.cpu_usage_sum - coalesce(r.sc, 0)) < 1e-6""")
ok(cc_agg == "4", "the job aggregates of cc-a, cc-b, cc-f and cc-h equal those of their raw rows",
   cc_agg)
ok(sql("""SELECT (j.cpu_efficiency, j.cpu_seconds, j.memory_peak_mb)
                 IS NOT DISTINCT FROM (s.cpu_efficiency, s.cpu_seconds, s.memory_peak_mb)
                 AND j.cpu_seconds IS NOT NULL
          FROM jobs j, hjo_job_summary_calc(j.id, j.start_time, j.end_time, j.allocated_cpus,
                                            j.allocated_memory_mb, j.allocated_gpus) s
          WHERE j.id = 'cc-f'""") == "t",
   "cc-f's summary is the one its stored samples give (late ones included)")
ok(sql("""SELECT count(*) FROM (SELECT 1 FROM metric_rollup_1m_all
                                GROUP BY job_id, node, bucket HAVING count(*) > 1) d""") == "0"
   and sql("""SELECT count(*) FROM (SELECT 1 FROM metric_rollup_1h_all
                                    GROUP BY job_id, node, bucket HAVING count(*) > 1) d""") == "0",
   "the views give one entry per (job, node, bucket)")

# ---- job counts: the exact total of GET /v1/jobs (sql/0070_job_counts.sql) ---------------
# job_counts, kept by triggers on jobs, must agree with jobs in every group (state, partition,
# which summaries are set) after everything above, after concurrent writers (events, which
# hjo-api applies in batches, creates, PATCHes of state, deletes) while hjo_job_counts_fold
# runs in a loop, and after a TRUNCATE.  The totals of GET /v1/jobs are compared with count(*).
JC_DIFF = """
    SELECT count(*) FROM (
      SELECT state, partition IS NULL AS pn, coalesce(partition, '') AS p, summaries,
             sum(n) AS n
      FROM job_counts GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) c
    FULL JOIN (
      SELECT state, partition IS NULL AS pn, coalesce(partition, '') AS p,
             hjo_job_summaries(cpu_efficiency, memory_peak_ratio, gpu_mean_utilization,
                               idle_gpu_hours) AS summaries, count(*) AS n
      FROM jobs GROUP BY 1, 2, 3, 4) j USING (state, pn, p, summaries)
    WHERE c.n IS DISTINCT FROM j.n"""

# and job_range_counts, per (group, summary, bucket): appended to JC_DIFF's count
JC_DIFF = JC_DIFF + """ + (
    SELECT count(*) FROM (
      SELECT state, partition IS NULL AS pn, coalesce(partition, '') AS p, summaries, key,
             bucket, sum(n) AS n
      FROM job_range_counts GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0) c
    FULL JOIN (
      SELECT j.state, j.partition IS NULL AS pn, coalesce(j.partition, '') AS p,
             hjo_job_summaries(j.cpu_efficiency, j.memory_peak_ratio, j.gpu_mean_utilization,
                               j.idle_gpu_hours) AS summaries, v.key,
             hjo_summary_bucket(v.val) AS bucket, count(*) AS n
      FROM jobs j CROSS JOIN LATERAL (VALUES (1, j.cpu_efficiency), (2, j.memory_peak_ratio),
                                             (4, j.gpu_mean_utilization),
                                             (8, j.idle_gpu_hours)) v(key, val)
      WHERE v.val IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6) j
      USING (state, pn, p, summaries, key, bucket)
    WHERE c.n IS DISTINCT FROM j.n)"""

def jc_totals(desc):
    """GET /v1/jobs totals against count(*), for each state x partition present (and none)."""
    groups = sql("SELECT DISTINCT coalesce(state, ''), coalesce(partition, '') FROM jobs "
                 "UNION SELECT '', '' UNION SELECT 'pending', 'no-such'").splitlines()
    bad_ = []
    for line in groups:
        st, part = line.split("|")
        for srt in ("-start_time", "-cpu_efficiency", "idle_gpu_hours"):
            q = {"limit": "1", "sort": srt}
            where = ["true"]
            if st:
                q["state"] = st
                where.append(f"state = '{st}'")
            if part:
                q["partition"] = part
                where.append(f"partition = '{part}'")
            if srt != "-start_time":
                where.append(f"{srt.lstrip('-')} IS NOT NULL")
            s, js = req("GET", "/v1/jobs?" + urllib.parse.urlencode(q), check_spec=False)
            want = int(sql("SELECT count(*) FROM jobs WHERE " + " AND ".join(where)))
            if s != 200 or js.get("total") != want:
                bad_.append((q, s, (js or {}).get("total"), want))
    ok(not bad_, f"{desc}: GET /v1/jobs total equals count(*) for {len(groups)} state x "
       "partition filters, three sorts each", bad_[:5])


ok(sql(JC_DIFF) == "0", "job_counts and job_range_counts agree with jobs after the sections above",
   sql("SELECT state, partition, summaries, sum(n) FROM job_counts GROUP BY 1, 2, 3"))
jc_totals("after the sections above")
# the check can fail: a job inserted with the triggers off is missed
ok(psql("-c", "BEGIN", "-c", "ALTER TABLE jobs DISABLE TRIGGER jobs_counts_ins",
        "-c", "INSERT INTO jobs (id, user_name, nodes, state) VALUES ('jc-x', 'u', '{n}', "
        "'running')", "-c", JC_DIFF, "-c", "ROLLBACK") == "1",
   "a job inserted with the count trigger disabled makes the check fail (one group differs)")

# Summary ranges (job_range_counts): jobs whose summaries sit on and next to the bucket edges
# (two significant digits: 0.01 steps below 1, 0.1 below 10, ...), in two states and
# partitions; then every bound (the same values, and values between) as _lt, _gt and a band,
# alone and with state / partition / a summary sort, against count(*).  hjo_jobs_list is
# called in SQL (thousands of cases); a few go through HTTP below.
JC_EDGES = [0, 0.0049, 0.005, 0.0099999999999, 0.01, 0.19999999999999998, 0.2,
            0.20000000000000004, 0.29, 0.99, 0.9999999999999999, 1, 1.0000000000000002, 9.99,
            9.999999999999998, 10, 99.99, 100, 999.9, 1000, 9999.99, 10000, 12345.6, 1e6]
sql("""INSERT INTO jobs (id, user_name, nodes, state, start_time, end_time, partition,
                         cpu_efficiency, memory_peak_ratio, gpu_mean_utilization, idle_gpu_hours)
       SELECT 'jr-' || i, 'jr', '{j1}', (ARRAY['completed', 'failed'])[1 + i %% 2],
              now() - interval '2 days', now() - interval '1 day',
              (ARRAY['jra', 'jrb', NULL])[1 + i %% 3],
              e[1 + i %% n], CASE WHEN i %% 5 <> 0 THEN e[1 + (i * 7) %% n] END,
              least(100, e[1 + (i * 11) %% n]), CASE WHEN i %% 4 <> 0 THEN e[1 + (i * 13) %% n] END
       FROM generate_series(1, 400) i, (SELECT ARRAY[%s]::float8[] AS e, %d AS n) x"""
    % (", ".join(repr(v) for v in JC_EDGES), len(JC_EDGES)))
jc_bounds = sorted(set(JC_EDGES + [v * 1.5 + 0.001 for v in JC_EDGES] + [0.25, 5, 50, 250]))
JC_SWEEP = """
    WITH k(bit, col) AS (VALUES (1, 'cpu_efficiency'), (2, 'memory_peak_ratio'),
                                (4, 'gpu_mean_utilization'), (8, 'idle_gpu_hours')),
    t(v, hi) AS (SELECT v, lead(v, 3) OVER (ORDER BY v) FROM unnest(ARRAY[%s]::float8[]) v),
    f(st, pt, srt) AS (VALUES (NULL, NULL, NULL), ('completed', NULL, NULL), (NULL, 'jrb', NULL),
                              ('failed', 'jra', NULL), (NULL, NULL, '-idle_gpu_hours'),
                              ('completed', NULL, 'memory_peak_ratio')),
    c AS (SELECT k.bit, k.col, f.st, f.pt, f.srt,
                 CASE WHEN w IN ('lt', 'band') THEN coalesce(t.hi, t.v + 1) END AS lt,
                 CASE WHEN w IN ('gt', 'band') THEN t.v END AS gt
          FROM k, t, f, unnest(ARRAY['lt', 'gt', 'band']) w),
    r AS (SELECT c.*,
            (hjo_jobs_list(c.st, NULL, NULL, NULL, c.pt, NULL, NULL, 1, 0, c.srt,
                           CASE c.bit WHEN 1 THEN c.lt END, CASE c.bit WHEN 1 THEN c.gt END,
                           CASE c.bit WHEN 2 THEN c.lt END, CASE c.bit WHEN 2 THEN c.gt END,
                           CASE c.bit WHEN 4 THEN c.lt END, CASE c.bit WHEN 4 THEN c.gt END,
                           CASE c.bit WHEN 8 THEN c.lt END, CASE c.bit WHEN 8 THEN c.gt END,
                           NULL, NULL, NULL, NULL)->>'total')::bigint AS got,
            (SELECT count(*) FROM jobs j
             WHERE (c.st IS NULL OR j.state = c.st) AND (c.pt IS NULL OR j.partition = c.pt)
               AND (c.srt IS NULL OR CASE ltrim(c.srt, '-')
                                     WHEN 'idle_gpu_hours' THEN j.idle_gpu_hours
                                     ELSE j.memory_peak_ratio END IS NOT NULL)
               AND (c.lt IS NULL OR CASE c.bit WHEN 1 THEN j.cpu_efficiency
                                    WHEN 2 THEN j.memory_peak_ratio
                                    WHEN 4 THEN j.gpu_mean_utilization
                                    ELSE j.idle_gpu_hours END < c.lt)
               AND (c.gt IS NULL OR CASE c.bit WHEN 1 THEN j.cpu_efficiency
                                    WHEN 2 THEN j.memory_peak_ratio
                                    WHEN 4 THEN j.gpu_mean_utilization
                                    ELSE j.idle_gpu_hours END > c.gt)) AS want
          FROM c)
    SELECT count(*) || ' ' || count(*) FILTER (WHERE got IS DISTINCT FROM want) || ' '
           || coalesce(string_agg(format('%%s/%%s/%%s/%%s lt=%%s gt=%%s: %%s != %%s', col, st,
                                         pt, srt, lt, gt, got, want), '; ')
                       FILTER (WHERE got IS DISTINCT FROM want), '')
    FROM r""" % ", ".join(repr(v) for v in jc_bounds)
jc_sw = (sql(JC_SWEEP) + " ").split(" ", 2)
ok(int(jc_sw[0]) > 2000 and jc_sw[1] == "0",
   f"summary ranges: hjo_jobs_list's total equals count(*) in all {jc_sw[0]} cases (bounds on "
   "and next to bucket edges, _lt / _gt / band, with state, partition, a summary sort)",
   jc_sw[2][:2000])
for q in ("cpu_efficiency_lt=0.2", "memory_peak_ratio_gt=0.99&state=failed",
          "gpu_mean_utilization_gt=10&gpu_mean_utilization_lt=99.99&partition=jra",
          "idle_gpu_hours_lt=1000.0001&sort=-cpu_efficiency"):
    s_, js_ = req("GET", "/v1/jobs?limit=1&" + q, check_spec=False)
    cond = " AND ".join(
        (f"{k[:-3]} < {v}" if k.endswith("_lt") else f"{k[:-3]} > {v}" if k.endswith("_gt")
         else f"{k} = '{v}'" if k in ("state", "partition") else f"{v.lstrip('-')} IS NOT NULL")
        for k, v in (kv.split("=") for kv in q.split("&")))
    ok(s_ == 200 and js_["total"] == int(sql("SELECT count(*) FROM jobs WHERE " + cond)),
       f"GET /v1/jobs?{q}: total equals count(*)", (s_, js_ and js_.get("total"), cond))
# the totals above come from the counts: counts that are off show in them
ok(psql("-c", "BEGIN", "-c", "UPDATE job_range_counts SET n = n + 1000 WHERE key = 1",
        "-c", "SELECT (hjo_jobs_list(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 0, NULL, 0.5, "
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)->>'total')::bigint"
        " - (SELECT count(*) FROM jobs WHERE cpu_efficiency < 0.5) >= 1000",
        "-c", "ROLLBACK") == "t",
   "cpu_efficiency_lt=0.5 is counted from job_range_counts (a changed count changes it)")

jc_res = []
jc_done = threading.Event()


def jc_client(k):
    rnd = random.Random(k)
    for i in range(12):
        jid = f"jc-{k}-{i}"
        part = rnd.choice(["jca", "jcb", None])
        t0 = NOW - dt.timedelta(hours=3, minutes=i)
        if i % 3 == 0:
            body = {"id": jid, "user": "jc", "nodes": ["j1"], "start_time": iso(t0)}
            if part:
                body["partition"] = part
            s, _ = req("POST", "/v1/jobs", body, check_spec=False)
        else:
            body = {"job_id": jid, "user": "jc", "node_list": ["j1"], "timestamp": iso(t0)}
            if part:
                body["partition"] = part
            s, _ = req("POST", "/v1/events/job-started", body, check_spec=False)
        jc_res.append(s)
        if i % 2 == 0:  # a sample, so that a finish computes summaries
            s, _ = req("POST", f"/v1/jobs/{jid}/metrics",
                       {"timestamp": iso(t0 + dt.timedelta(seconds=10)), "node": "j1",
                        "cpu_usage": rnd.choice([5.0, 20.0, 55.5, 100.0]),
                        "memory_usage_mb": 64}, check_spec=False)
            jc_res.append(s)
        what = rnd.choice(["finish", "patch", "delete", "keep"])
        if what == "finish":
            s, _ = req("POST", "/v1/events/job-finished",
                       {"job_id": jid, "timestamp": iso(t0 + dt.timedelta(seconds=30)),
                        "exit_code": 1}, check_spec=False)
        elif what == "patch":
            s, _ = req("PATCH", f"/v1/jobs/{jid}", {"state": "cancelled"}, check_spec=False)
        elif what == "delete":
            s, _ = req("DELETE", f"/v1/jobs/{jid}", check_spec=False)
        else:
            s = 200
        jc_res.append(s)
        # a finish for a job never started: created finished
        if i % 4 == 1:
            s, _ = req("POST", "/v1/events/job-finished",
                       {"job_id": f"jc-{k}-{i}-late", "timestamp": iso(t0),
                        "exit_code": 0}, check_spec=False)
            jc_res.append(s)


def jc_fold():
    while not jc_done.is_set():
        sql("SELECT hjo_job_counts_fold()")


jc_threads = [threading.Thread(target=jc_client, args=(k,)) for k in range(8)]
jc_f = threading.Thread(target=jc_fold)
jc_f.start()
for th in jc_threads:
    th.start()
for th in jc_threads:
    th.join()
jc_done.set()
jc_f.join()
ok(len(jc_res) >= 8 * 30 and all(s in (200, 201, 204) for s in jc_res),
   f"8 clients at once: {len(jc_res)} creates, events, PATCHes and deletes succeeded",
   [s for s in jc_res if s not in (200, 201, 204)][:10])
ok(int(sql("SELECT count(*) FROM jobs WHERE id LIKE 'jc-%' AND cpu_efficiency IS NOT NULL")) > 0,
   "some of the concurrent writers' jobs finished with summaries (range counts written)")
ok(sql(JC_DIFF) == "0", "the counts agree with jobs after the concurrent writers and folds",
   sql("SELECT * FROM job_counts ORDER BY backend, state, partition"))
jc_totals("after the concurrent writers")
# a job inserted by a psql session, which exits: its counter row is one to fold
sql("INSERT INTO jobs (id, user_name, nodes, state) VALUES ('jc-psql', 'u', '{j1}', 'pending')")
jc_rows = int(sql("SELECT count(*) FROM job_counts"))
jc_folded = int(sql("SELECT hjo_job_counts_fold()"))
ok(sql(JC_DIFF) == "0" and jc_folded > 0
   and sql("""SELECT count(*) FROM job_counts
              WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity)""") == "0"
   and sql("""SELECT count(*) FROM job_range_counts
              WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity)""") == "0"
   and sql("SELECT count(*) FROM job_counts WHERE backend = 0 AND n = 0") == "0",
   "hjo_job_counts_fold folds the rows of exited backends into backend 0; counts unchanged",
   (jc_rows, jc_folded, sql("SELECT * FROM job_counts ORDER BY backend")))
ok(psql("-c", "BEGIN", "-c", "TRUNCATE jobs CASCADE",
        "-c", "SELECT coalesce(sum(n), 0) FROM job_counts", "-c", "ROLLBACK") == "0",
   "TRUNCATE jobs empties the counts")
ok(psql("-c", "BEGIN", "-c", "UPDATE job_counts SET n = n + 7",
        "-c", "SELECT hjo_job_counts_rebuild() = (SELECT count(*) FROM jobs)",
        "-c", JC_DIFF, "-c", "ROLLBACK") == "t\n0",
   "hjo_job_counts_rebuild recounts from jobs",
   psql("-c", "BEGIN", "-c", "UPDATE job_counts SET n = n + 7",
        "-c", "SELECT hjo_job_counts_rebuild() = (SELECT count(*) FROM jobs)",
        "-c", JC_DIFF, "-c", "ROLLBACK"))

with open(os.path.join(os.environ["HJO_TMP"], "storage_test.n"), "w") as f:
    f.write(str(N[0]))
sys.exit(1 if FAILED[0] else 0)
