#!/usr/bin/python3
"""
tests/collectord/samples_api_test.py: POST /v1/samples (fcgi/api_samples.c) against a running
stack (t_samples_api.sh).  Prints TAP.  Every response is validated against docs/openapi.yaml.

Environment: HJO_URL, HJO_TOKEN (admin), HJO_INGEST_TOKEN, HJO_READER_TOKEN, HJO_PGHOST,
HJO_PGPORT, top_srcdir.
"""

import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

TOP = os.environ["top_srcdir"]
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import openapi_check  # noqa: E402

SPEC = openapi_check.load_spec(os.path.join(TOP, "docs", "openapi.yaml"))
URL = urllib.parse.urlsplit(os.environ["HJO_URL"])
ADMIN = os.environ["HJO_TOKEN"]
INGEST = os.environ["HJO_INGEST_TOKEN"]
READER = os.environ["HJO_READER_TOKEN"]
N = [0]
FAILED = [0]
NONCONFORMING = []


def ok(cond, desc, why=""):
    N[0] += 1
    print(("ok" if cond else "not ok") + f" {N[0]} - {desc}")
    if not cond:
        FAILED[0] += 1
        for line in str(why).splitlines():
            print(f"# {line}")


def req(method, path, body=None, token=INGEST, raw=None, ctype="application/json"):
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    text = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    try:
        js = json.loads(text) if text else None
    except ValueError:
        js = None
    errs = openapi_check.validate_response(SPEC, method, path.split("?")[0], r.status, hdrs, text)
    if errs:
        NONCONFORMING.append((method, path, r.status, errs))
    return r.status, js


def metrics_text():
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return text if r.status == 200 else ""


def sql(q):
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-h", os.environ["HJO_PGHOST"], "-p", os.environ["HJO_PGPORT"],
         "-U", "postgres", "-d", "hjo", "-c", q],
        check=True, capture_output=True, text=True).stdout.strip()


def ts(sec_ago):
    t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=sec_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def start(job, node, cpus):
    return req("POST", "/v1/events/job-started", {
        "job_id": job, "user": "alice", "node_list": [node], "timestamp": ts(600),
        "cpu_allocation": cpus, "gpu_devices": ["GPU-aaaa"],
        "cgroup_path": f"/sys/fs/cgroup/system.slice/slurmstepd.scope/job_{job[6:]}"})


def sample(job, cpu, mem, **kw):
    s = {"job_id": job, "cpu_usage": cpu, "memory_usage_bytes": mem}
    s.update(kw)
    return s


def batch(node, when, samples, **kw):
    b = {"node": node, "timestamp": when, "samples": samples}
    b.update(kw)
    return b


def main():
    base = int(time.time()) % 100000
    j1, j2, unknown = f"slurm-{base}1", f"slurm-{base}2", f"slurm-{base}9"
    node = "sn1"
    for j, c in ((j1, 4), (j2, 2)):
        st, _ = start(j, node, c)
        ok(st == 200, f"job {j} started")

    b1 = batch(node, ts(20), [
        sample(j1, 25.5, 1048576, cpu_seconds=12.5, memory_peak_bytes=2097152, oom_kills=0,
               pids=3, io_read_bytes=10, io_write_bytes=20, cpu_pressure_some=1.5,
               memory_max_bytes=None, swap_bytes=0, memory_anon_bytes=100, memory_file_bytes=200,
               cpu_pressure_full=0.25, memory_pressure_some=0, memory_pressure_full=0),
        sample(j2, 50, 2097152, gpu_usage=75),
        sample(unknown, 10, 1),
    ], gpu_samples=[{"job_id": j2, "gpu_id": "GPU-aaaa", "gpu_vendor": "nvidia",
                     "utilization_percent": 75, "memory_used_bytes": 1024,
                     "memory_total_bytes": 4096, "power_watts": 120.5,
                     "temperature_celsius": 61}],
        node_sample={"cpu_usage_percent": 40, "memory_used_bytes": 1000,
                     "memory_total_bytes": 2000, "job_count": 2},
        health={"cycle_ms": 3.5, "jobs_seen": 3, "buffered": 0, "dropped": 0,
                "tool_failures": 0, "version": "test"})

    # authentication and roles
    st, _ = req("POST", "/v1/samples", b1, token=None)
    ok(st == 401, "no token: 401", st)
    st, _ = req("POST", "/v1/samples", b1, token=READER)
    ok(st == 403, "reader token: 403", st)
    ok(sql(f"SELECT count(*) FROM metric_samples WHERE job_id IN ('{j1}','{j2}')") == "0",
       "nothing stored by refused requests")

    st, js = req("POST", "/v1/samples", b1)
    ok(st == 200, "ingest token: 200", (st, js))
    ok(js and (js["stored"], js["duplicates"], js["unknown_jobs"], js["gpu_stored"]) == (2, 0, 1, 1),
       "counts: stored 2, duplicates 0, unknown_jobs 1, gpu_stored 1", js)
    ok(js and js["rejected"] == [{"job_id": unknown, "reason": "unknown"}],
       "the unknown job is named", js)
    ok(js and "jobs" not in js, "no job list without want_jobs", js)
    ok(sql(f"SELECT cpu_seconds, memory_peak_bytes, memory_max_bytes IS NULL, pids, io_read_bytes,"
           f" io_write_bytes, cpu_pressure_some, cpu_pressure_full, memory_anon_bytes,"
           f" memory_file_bytes, swap_bytes, oom_kills FROM metric_samples WHERE job_id='{j1}'")
       == "12.5|2097152|t|3|10|20|1.5|0.25|100|200|0|0", "every sample column stored")
    ok(sql(f"SELECT gpu_usage FROM metric_samples WHERE job_id='{j2}'") == "75", "gpu_usage stored")
    ok(sql(f"SELECT count(*) FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id='{unknown}'") == "0", "unknown job not created")
    ok(sql(f"SELECT utilization_percent, memory_used_bytes, power_watts, temperature_celsius"
           f" FROM gpu_samples WHERE job_id='{j2}'") == "75|1024|120.5|61", "GPU sample stored")
    ok(sql(f"SELECT cpu_usage_percent, memory_used_bytes, memory_total_bytes, job_count"
           f" FROM node_samples WHERE node='{node}'") == "40|1000|2000|2", "node sample stored")
    ok(sql(f"SELECT jobs_seen, samples_written, version FROM collector_health WHERE node='{node}'")
       == "3|2|test", "collector health stored")

    # idempotent replay
    before = sql(f"SELECT id, sample_count, cpu_usage_sum, max_cpu_usage, max_memory_usage_mb,"
                 f" last_sample_at, gpu_sample_count FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id IN ('{j1}','{j2}') ORDER BY id")
    st, js = req("POST", "/v1/samples", b1)
    ok(st == 200 and js and (js["stored"], js["duplicates"], js["unknown_jobs"]) == (0, 2, 1),
       "replay: stored 0, duplicates 2, unknown_jobs 1", js)
    after = sql(f"SELECT id, sample_count, cpu_usage_sum, max_cpu_usage, max_memory_usage_mb,"
                f" last_sample_at, gpu_sample_count FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id IN ('{j1}','{j2}') ORDER BY id")
    ok(before == after, "replay changes no aggregate", f"{before}\n{after}")
    ok(sql("SELECT count(*) FROM gpu_samples WHERE job_id = '%s'" % j2) == "1", "replay: one GPU row")

    # a second interval, with want_jobs; aggregates exact
    b2 = batch(node, ts(10), [sample(j1, 75.25, 3145728, cpu_seconds=20), sample(j2, 10, 1024)],
               want_jobs=True)
    st, js = req("POST", "/v1/samples", b2)
    ok(st == 200 and js and js["stored"] == 2, "second interval stored", js)
    jobs = {j["job_id"]: j for j in (js or {}).get("jobs", [])}
    ok(set(jobs) == {j1, j2}, "want_jobs: the node's running jobs", js)
    if j1 in jobs:
        ok(jobs[j1]["allocated_cpus"] == 4 and jobs[j1]["gpu_devices"] == ["GPU-aaaa"]
           and jobs[j1]["last_cpu_seconds"] == 20 and jobs[j1]["start_time"]
           and jobs[j1]["cgroup_path"].endswith(f"job_{j1[6:]}"),
           "want_jobs: allocated CPUs, GPU devices, cgroup path, last cpu_seconds", jobs[j1])
    else:
        ok(False, "want_jobs: job metadata", js)
    ok(sql(f"SELECT sample_count, cpu_usage_sum, max_cpu_usage, max_memory_usage_mb, cpu_usage"
           f" FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id='{j1}'") == "2|100.75|75.25|3|75.25",
       "aggregates exact: count, sum, max, max memory, latest")
    st, js = req("GET", f"/v1/jobs/{j1}/metrics", token=ADMIN)
    ok(st == 200 and js and js["total"] == 2, "GET /v1/jobs/{id}/metrics shows both samples", js)

    # memory-only samples (cgroup v1 without cpuacct): cpu_usage null or absent, stored NULL and
    # left out of the CPU aggregates (sql/0041_sample_cpu_nullable.sql)
    j3 = f"slurm-{base}3"
    st, _ = start(j3, node, 1)
    ok(st == 200, f"job {j3} started")
    m1 = sample(j1, None, 4194304)
    m3 = {"job_id": j3, "memory_usage_bytes": 5242880, "cpu_seconds": None}
    b3 = batch(node, ts(7), [m1, m3])
    st, js = req("POST", "/v1/samples", b3)
    ok(st == 200 and js and js["stored"] == 2, "memory-only samples (cpu_usage null / absent) stored", (st, js))
    ok(sql(f"SELECT count(*) FROM metric_samples WHERE job_id IN ('{j1}','{j3}') AND ts > now() - interval '8 s'"
           f" AND cpu_usage IS NULL AND memory_usage_bytes > 0") == "2", "stored with cpu_usage NULL")
    ok(sql(f"SELECT sample_count, cpu_missing_count, cpu_usage_sum, max_cpu_usage, max_memory_usage_mb,"
           f" coalesce(cpu_usage::text, 'null') FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id='{j1}'") == "3|1|100.75|75.25|4|null",
       "aggregates: sample counted, CPU sum and max unchanged, latest cpu_usage null")
    st, js = req("GET", f"/v1/jobs/{j1}", token=ADMIN)
    ok(st == 200 and js and js["sample_count"] == 3 and js["avg_cpu_usage"] == 50.375
       and js["max_cpu_usage"] == 75.25 and js["cpu_usage"] is None,
       "job JSON: avg_cpu_usage over the 2 samples with CPU (50.375), max 75.25, cpu_usage null", js)
    st, js = req("GET", f"/v1/jobs/{j3}", token=ADMIN)
    ok(st == 200 and js and js["sample_count"] == 1 and js["avg_cpu_usage"] is None
       and js["max_cpu_usage"] is None and js["max_memory_usage_mb"] == 5,
       "job with only memory-only samples: avg/max cpu null, max memory 5 MiB", js)
    st, js = req("GET", f"/v1/jobs/{j1}/metrics", token=ADMIN)
    cpus = [x["cpu_usage"] for x in (js or {}).get("samples", [])]
    ok(st == 200 and cpus == [25.5, 75.25, None], "GET /v1/jobs/{id}/metrics: cpu_usage null in the memory-only sample", js)
    before = sql(f"SELECT sample_count, cpu_missing_count, cpu_usage_sum FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id IN ('{j1}','{j3}') ORDER BY id")
    st, js = req("POST", "/v1/samples", b3)
    ok(st == 200 and js and js["duplicates"] == 2 and before == sql(
        f"SELECT sample_count, cpu_missing_count, cpu_usage_sum FROM (SELECT (hjo_job_live(x)).* FROM jobs x) jobs WHERE id IN ('{j1}','{j3}') ORDER BY id"),
       "memory-only replay: duplicates 2, no aggregate changed", js)
    text = metrics_text()
    ok(f'hpc_job_memory_usage_bytes{{job_id="{j3}"' in text and f'hpc_job_memory_usage_bytes{{job_id="{j1}"' in text,
       "/metrics: memory series of both jobs", text[:2000])
    ok(f'hpc_job_cpu_usage_percent{{job_id="{j3}"' not in text
       and f'hpc_job_cpu_usage_percent{{job_id="{j1}"' not in text,
       "/metrics: no hpc_job_cpu_usage_percent series for a NULL cpu_usage (no invented 0)",
       "\n".join(x for x in text.splitlines() if x.startswith("hpc_job_cpu_usage_percent")))
    ok(f'hpc_job_cpu_usage_percent{{job_id="{j2}"' in text, "/metrics: the CPU series of a job with CPU stays")
    st, js = req("POST", f"/v1/jobs/{j1}/metrics", {"memory_usage_mb": 1, "node": node}, token=ADMIN)
    ok(st == 400 and js and js.get("field") == "cpu_usage",
       "POST /v1/jobs/{id}/metrics (one sample) still requires cpu_usage", (st, js))

    # validation: every error names its field
    bad = [
        ("samples[1].cpu_usage", batch(node, ts(5), [sample(j1, 1, 1), sample(j2, 101, 1)])),
        ("samples[0].cpu_usage", batch(node, ts(5), [sample(j1, "high", 1)])),
        ("samples[0].bogus", batch(node, ts(5), [sample(j1, 1, 1, bogus=1)])),
        ("samples[0].memory_usage_bytes", batch(node, ts(5), [{"job_id": j1, "cpu_usage": 1}])),
        ("samples[0].memory_usage_bytes", batch(node, ts(5), [sample(j1, 1, -1)])),
        ("samples[0].job_id", batch(node, ts(5), [sample("bad id", 1, 1)])),
        ("samples[2]", batch(node, ts(5), [sample(j1, 1, 1), sample(j2, 1, 1), 5])),
        ("samples[0].cpu_pressure_some", batch(node, ts(5), [sample(j1, 1, 1, cpu_pressure_some=101)])),
        ("samples[0].pids", batch(node, ts(5), [sample(j1, 1, 1, pids=1.5)])),
        ("samples", batch(node, ts(5), {"job_id": j1})),
        ("samples", {"node": node, "timestamp": ts(5)}),
        ("node", {"timestamp": ts(5), "samples": []}),
        ("node", batch("bad node!", ts(5), [])),
        ("timestamp", batch(node, "yesterday", [])),
        ("extra", batch(node, ts(5), [], extra=1)),
        ("gpu_samples[0].gpu_vendor", batch(node, ts(5), [], gpu_samples=[
            {"job_id": j1, "gpu_id": "0", "gpu_vendor": "intel"}])),
        ("gpu_samples[0].gpu_id", batch(node, ts(5), [], gpu_samples=[
            {"job_id": j1, "gpu_id": "a b", "gpu_vendor": "amd"}])),
        ("node_sample.memory_total_bytes", batch(node, ts(5), [], node_sample={
            "memory_used_bytes": 1})),
        ("node_sample.cpu_usage_percent", batch(node, ts(5), [], node_sample={
            "cpu_usage_percent": "high"})),
        ("node_sample", batch(node, ts(5), [], node_sample=[1])),
        ("health.jobs_seen", batch(node, ts(5), [], health={
            "cycle_ms": 1, "jobs_seen": -1, "buffered": 0, "dropped": 0, "tool_failures": 0})),
        ("want_jobs", batch(node, ts(5), [], want_jobs="yes")),
    ]
    count_before = sql("SELECT count(*) FROM metric_samples")
    for field, body in bad:
        st, js = req("POST", "/v1/samples", body)
        ok(st == 400 and js and js.get("error") == "validation_error" and js.get("field") == field,
           f"400 validation_error naming {field}", (st, js))
    ok(sql("SELECT count(*) FROM metric_samples") == count_before, "no invalid batch stored anything")
    st, js = req("POST", "/v1/samples", raw=b'{"node": "x", ')
    ok(st == 400 and js and js.get("error") == "invalid_request", "truncated JSON: 400 invalid_request", (st, js))
    st, js = req("POST", "/v1/samples", raw=b'[]')
    ok(st == 400 and js and js.get("error") == "invalid_request", "array body: 400 invalid_request", (st, js))
    st, js = req("POST", "/v1/samples", b1, ctype="text/plain")
    ok(st == 415, "wrong content type: 415", (st, js))
    big = batch(node, ts(5), [sample(j1, 1, 1)] * 20000)
    st, js = req("POST", "/v1/samples", big)
    ok(st == 413, "body over 1 MiB: 413", (st, len(json.dumps(big))))
    # a finished job takes no late sample taken after its end
    st, _ = req("POST", "/v1/events/job-finished", {"job_id": j2, "timestamp": ts(8), "exit_code": 0})
    ok(st == 200, "job finished")
    st, js = req("POST", "/v1/samples", batch(node, ts(1), [sample(j2, 1, 1)]))
    ok(st == 200 and js and js["finished_jobs"] == 1 and js["stored"] == 0
       and js["rejected"] == [{"job_id": j2, "reason": "finished"}],
       "sample after the job's end: finished_jobs 1, nothing stored", js)
    st, js = req("POST", "/v1/samples", batch(node, ts(9), [sample(j2, 1, 1)]))
    ok(st == 200 and js and js["stored"] == 1, "late sample taken before the end is stored", js)

    ok(not NONCONFORMING, "responses conform to docs/openapi.yaml",
       "\n".join(f"{m} {p} {s}: {e}" for m, p, s, e in NONCONFORMING))
    print(f"1..{N[0]}")
    return 1 if FAILED[0] else 0


if __name__ == "__main__":
    sys.exit(main())
