#!/usr/bin/python3
"""Self-test of openapi_check.py: known-good responses must pass, known-bad ones must fail,
and broken copies of the spec must be rejected. TAP on stdout; exit 1 on any failure.

usage: openapi_check_selftest.py [SPEC]   (default: ../../docs/openapi.yaml from this file)
"""

import copy
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check as oc  # noqa: E402  pylint: disable=wrong-import-position

CID = {"X-Correlation-Id": "0123456789abcdef0123456789abcdef", "Content-Type": "application/json"}


def job(**over):
    j = {
        "id": "slurm-1", "user": "alice", "nodes": ["node01", "node02"], "node_count": 2,
        "state": "running", "start_time": "2024-05-01T12:00:00.000000Z", "end_time": None,
        "runtime_seconds": 12.5, "exit_code": None, "signal": None, "slurm_state": None,
        "cpu_usage": 50.0, "memory_usage_mb": 1024, "gpu_usage": None, "allocated_cpus": 4,
        "allocated_memory_mb": 8192, "allocated_gpus": None, "gpu_vendor": None,
        "gpu_devices": [], "cgroup_path": None, "partition": "batch", "account": None,
        "cluster_name": None, "last_sample_at": None, "sample_count": 0,
        "avg_cpu_usage": None, "max_cpu_usage": None, "max_memory_usage_mb": None,
        "avg_gpu_usage": None, "max_gpu_usage": None,
        "created_at": "2024-05-01T12:00:00.123456Z", "updated_at": "2024-05-01T12:00:01.000000Z",
        "cpu_seconds": None, "cpu_efficiency": None, "memory_peak_mb": None,
        "memory_peak_ratio": None, "gpu_mean_utilization": None, "gpu_max_utilization": None,
        "idle_gpu_hours": None, "summary_at": None,
    }
    j.update(over)
    return j


def without(d, key):
    d = dict(d)
    del d[key]
    return d


def enc(obj):
    return json.dumps(obj).encode("utf-8")


def hdr(**over):
    h = dict(CID)
    for k, v in over.items():
        k = k.replace("_", "-")
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    return h


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    spec_path = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..", "docs", "openapi.yaml")
    spec = oc.load_spec(spec_path)
    tests = []  # (description, expect_ok, thunk returning error list)

    def resp(desc, ok, method, path, status, headers, body):
        tests.append((desc, ok, lambda: oc.validate_response(spec, method, path, status, headers, body)))

    def spec_case(desc, ok, mutate):
        def run():
            s = copy.deepcopy(spec)
            mutate(s)
            return oc.validate_spec(s)
        tests.append((desc, ok, run))

    def fmt(desc, ok, value):
        tests.append((desc, ok, lambda: [] if oc.is_rfc3339(value) else ["not RFC 3339: %r" % value]))

    # ---- the real spec is valid
    tests.append(("the spec itself validates", True, lambda: oc.validate_spec(spec)))

    # ---- date-time format checker
    fmt("date-time: UTC with 6 fraction digits", True, "2024-05-01T12:00:00.000000Z")
    fmt("date-time: offset +02:00, no fraction", True, "2024-05-01T14:00:00+02:00")
    fmt("date-time: leap day 2024-02-29", True, "2024-02-29T00:00:00Z")
    fmt("date-time: no zone rejected", False, "2024-05-01T12:00:00")
    fmt("date-time: space separator rejected", False, "2024-05-01 12:00:00Z")
    fmt("date-time: impossible date 2023-02-29 rejected", False, "2023-02-29T00:00:00Z")
    fmt("date-time: hour 24 rejected", False, "2024-05-01T24:00:00Z")
    fmt("date-time: offset +24:00 rejected", False, "2024-05-01T12:00:00+24:00")
    fmt("date-time: date only rejected", False, "2024-05-01")

    # ---- jobs
    resp("GET job: good job accepted", True, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job()))
    resp("GET job: finished job with all fields set accepted", True, "GET", "/v1/jobs/slurm-1", 200, CID,
         enc(job(state="failed", end_time="2024-05-01T13:00:00.000000Z", exit_code=1, signal=9,
                 slurm_state="OUT_OF_MEMORY", gpu_vendor="nvidia", gpu_devices=["0", "1"],
                 avg_gpu_usage=10.5, max_gpu_usage=99.9, last_sample_at="2024-05-01T12:59:00.000000Z",
                 sample_count=3)))
    resp("GET job: query string is ignored for matching", True, "GET", "/v1/jobs/slurm-1?x=1", 200, CID, enc(job()))
    resp("GET job: header names are case-insensitive", True, "GET", "/v1/jobs/slurm-1", 200,
         [("x-correlation-id", "abc"), ("content-type", "application/json; charset=utf-8")], enc(job()))
    resp("GET job: missing state rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(without(job(), "state")))
    resp("GET job: missing nullable field (end_time) rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID,
         enc(without(job(), "end_time")))
    resp("GET job: state 'bogus' rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(state="bogus")))
    resp("GET job: timestamp without zone rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID,
         enc(job(start_time="2024-05-01T12:00:00")))
    resp("GET job: impossible date rejected (format check, pattern matches)", False, "GET", "/v1/jobs/slurm-1", 200,
         CID, enc(job(created_at="2024-02-30T00:00:00.000000Z")))
    resp("GET job: 3 fraction digits rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID,
         enc(job(updated_at="2024-05-01T12:00:00.000Z")))
    resp("GET job: unknown field rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(extra=1)))
    resp("GET job: null nodes rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(nodes=None)))
    resp("GET job: string node_count rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(node_count="2")))
    resp("GET job: cpu_usage 150 rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(cpu_usage=150)))
    resp("GET job: gpu_vendor 'intel' rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, enc(job(gpu_vendor="intel")))
    resp("GET job: undocumented status 418 rejected", False, "GET", "/v1/jobs/slurm-1", 418, CID, enc(job()))
    resp("GET job: 201 (not documented for GET) rejected", False, "GET", "/v1/jobs/slurm-1", 201, CID, enc(job()))
    resp("GET job: missing X-Correlation-Id rejected", False, "GET", "/v1/jobs/slurm-1", 200,
         hdr(X_Correlation_Id=None), enc(job()))
    resp("GET job: bad X-Correlation-Id rejected", False, "GET", "/v1/jobs/slurm-1", 200,
         hdr(X_Correlation_Id="has space"), enc(job()))
    resp("GET job: text/html rejected", False, "GET", "/v1/jobs/slurm-1", 200, hdr(Content_Type="text/html"), enc(job()))
    resp("GET job: missing Content-Type rejected", False, "GET", "/v1/jobs/slurm-1", 200, hdr(Content_Type=None), enc(job()))
    resp("GET job: invalid JSON rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, b'{"id": "slurm-1",')
    resp("GET job: NaN rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID,
         enc(job()).replace(b'"cpu_usage": 50.0', b'"cpu_usage": NaN'))
    resp("GET job: invalid UTF-8 rejected", False, "GET", "/v1/jobs/slurm-1", 200, CID, b'{"user": "\xff"}')
    resp("GET job: 404 not_found accepted", True, "GET", "/v1/jobs/nope", 404, CID,
         enc({"error": "not_found", "message": "job not found"}))
    resp("GET job: 404 with error 'conflict' rejected", False, "GET", "/v1/jobs/nope", 404, CID,
         enc({"error": "conflict", "message": "x"}))
    resp("GET job: 404 without message rejected", False, "GET", "/v1/jobs/nope", 404, CID, enc({"error": "not_found"}))
    resp("GET job: error with unknown key rejected", False, "GET", "/v1/jobs/nope", 404, CID,
         enc({"error": "not_found", "message": "x", "detail": "SELECT ..."}))
    resp("GET jobs: 400 validation_error with field accepted", True, "GET", "/v1/jobs?limit=0", 400, CID,
         enc({"error": "validation_error", "message": "limit out of range", "field": "limit"}))
    resp("GET jobs: 400 with unknown error code rejected", False, "GET", "/v1/jobs?limit=0", 400, CID,
         enc({"error": "bad_limit", "message": "x"}))

    page = {"jobs": [job(), job(id="slurm-2")], "total": 2, "limit": 100, "offset": 0,
            "next_cursor": "MXxzdGFydF90aW1lfHxhfDhmOTg1NTdhMWIyY2RmOWQ"}
    resp("GET jobs: good page accepted", True, "GET", "/v1/jobs", 200, CID, enc(page))
    resp("GET jobs: empty page accepted", True, "GET", "/v1/jobs", 200, CID,
         enc({"jobs": [], "total": 0, "limit": 1, "offset": 0, "next_cursor": None}))
    resp("GET jobs: missing next_cursor rejected", False, "GET", "/v1/jobs", 200, CID,
         enc(without(page, "next_cursor")))
    resp("GET jobs: numeric next_cursor rejected", False, "GET", "/v1/jobs", 200, CID,
         enc(dict(page, next_cursor=7)))
    resp("GET jobs: limit 0 rejected", False, "GET", "/v1/jobs", 200, CID, enc(dict(page, limit=0)))
    resp("GET jobs: missing total rejected", False, "GET", "/v1/jobs", 200, CID, enc(without(page, "total")))
    resp("GET jobs: extra envelope key rejected", False, "GET", "/v1/jobs", 200, CID, enc(dict(page, next=None)))
    resp("GET jobs: bad item rejected", False, "GET", "/v1/jobs", 200, CID, enc(dict(page, jobs=[job(state="done")])))

    resp("POST jobs: 201 with Location accepted", True, "POST", "/v1/jobs", 201,
         hdr(Location="/v1/jobs/slurm-1"), enc(job()))
    resp("POST jobs: 201 without Location rejected", False, "POST", "/v1/jobs", 201, CID, enc(job()))
    resp("POST jobs: 409 conflict accepted", True, "POST", "/v1/jobs", 409, CID,
         enc({"error": "conflict", "message": "job exists"}))
    resp("POST jobs: 400 naming a header accepted", True, "POST", "/v1/jobs", 400, CID,
         enc({"error": "validation_error", "message": "missing header", "field": "X-Changed-By"}))
    resp("POST jobs: 415 accepted", True, "POST", "/v1/jobs", 415, CID,
         enc({"error": "unsupported_media_type", "message": "use application/json"}))
    resp("POST jobs: 413 accepted", True, "POST", "/v1/jobs", 413, CID,
         enc({"error": "payload_too_large", "message": "body over 1 MiB"}))
    resp("PATCH job: 200 accepted", True, "PATCH", "/v1/jobs/slurm-1", 200, CID, enc(job(state="completed")))
    resp("DELETE job: 204 empty accepted", True, "DELETE", "/v1/jobs/slurm-1", 204,
         {"X-Correlation-Id": "abc"}, b"")
    resp("DELETE job: 204 with a body rejected", False, "DELETE", "/v1/jobs/slurm-1", 204, CID, enc(job()))
    resp("DELETE job: 200 rejected", False, "DELETE", "/v1/jobs/slurm-1", 200, CID, enc(job()))

    # ---- 405 / unknown paths
    resp("PUT job: 405 with Allow accepted", True, "PUT", "/v1/jobs/slurm-1", 405,
         hdr(Allow="GET, PATCH, DELETE"), enc({"error": "method_not_allowed", "message": "x"}))
    resp("PUT job: 405 without Allow rejected", False, "PUT", "/v1/jobs/slurm-1", 405, CID,
         enc({"error": "method_not_allowed", "message": "x"}))
    resp("PUT job: 405 with incomplete Allow rejected", False, "PUT", "/v1/jobs/slurm-1", 405,
         hdr(Allow="GET"), enc({"error": "method_not_allowed", "message": "x"}))
    resp("PUT job: 200 rejected (method not documented)", False, "PUT", "/v1/jobs/slurm-1", 200, CID, enc(job()))
    resp("unknown path: 404 accepted", True, "GET", "/v1/nothing", 404, CID,
         enc({"error": "not_found", "message": "no such path"}))
    resp("unknown path: 200 rejected", False, "GET", "/v1/nothing", 200, CID, enc({}))

    # ---- health
    resp("health: 200 accepted", True, "GET", "/v1/health", 200, CID,
         enc({"status": "healthy", "timestamp": "2024-05-01T12:00:00.000000Z", "version": "1.0.0", "database": "ok"}))
    resp("health: 503 accepted", True, "GET", "/v1/health", 503, CID,
         enc({"status": "unhealthy", "timestamp": "2024-05-01T12:00:00.000000Z", "version": "1.0.0",
              "database": "unavailable"}))
    resp("health: 200 saying unhealthy rejected", False, "GET", "/v1/health", 200, CID,
         enc({"status": "unhealthy", "timestamp": "2024-05-01T12:00:00.000000Z", "version": "1.0.0",
              "database": "unavailable"}))
    resp("health: missing version rejected", False, "GET", "/v1/health", 200, CID,
         enc({"status": "healthy", "timestamp": "2024-05-01T12:00:00.000000Z", "database": "ok"}))

    # ---- events
    resp("job-started: created accepted", True, "POST", "/v1/events/job-started", 200, CID,
         enc({"status": "created", "job_id": "slurm-1", "message": "job created"}))
    resp("job-finished: status 'done' rejected", False, "POST", "/v1/events/job-finished", 200, CID,
         enc({"status": "done", "job_id": "slurm-1", "message": "x"}))
    resp("job-finished: 201 rejected", False, "POST", "/v1/events/job-finished", 201, CID,
         enc({"status": "created", "job_id": "slurm-1", "message": "x"}))

    # ---- samples
    sample = {"timestamp": "2024-05-01T12:01:00.000000Z", "node": "node01", "cpu_usage": 12.5,
              "memory_usage_bytes": 1048576, "memory_usage_mb": 1.0, "gpu_usage": None}
    resp("GET samples: good list accepted", True, "GET", "/v1/jobs/slurm-1/metrics?limit=5", 200, CID,
         enc({"job_id": "slurm-1", "resolution": "raw", "samples": [sample], "total": 1}))
    resp("GET samples: sample without node rejected", False, "GET", "/v1/jobs/slurm-1/metrics", 200, CID,
         enc({"job_id": "slurm-1", "resolution": "raw", "samples": [without(sample, "node")], "total": 1}))
    resp("GET samples: fractional bytes rejected", False, "GET", "/v1/jobs/slurm-1/metrics", 200, CID,
         enc({"job_id": "slurm-1", "resolution": "raw", "samples": [dict(sample, memory_usage_bytes=1.5)], "total": 1}))
    rollup = {"timestamp": "2024-05-01T12:00:00.000000Z", "node": "node01", "sample_count": 6,
              "cpu_usage": 12.5, "cpu_usage_min": 10, "cpu_usage_max": 15,
              "memory_usage_bytes": 1048576, "memory_usage_mb": 1.0,
              "memory_usage_bytes_max": 2097152, "gpu_usage": None, "gpu_usage_min": None,
              "gpu_usage_max": None}
    resp("GET samples: 1m rollup list accepted", True, "GET", "/v1/jobs/slurm-1/metrics", 200, CID,
         enc({"job_id": "slurm-1", "resolution": "1m", "samples": [rollup], "total": 1}))
    resp("GET samples: missing resolution rejected", False, "GET", "/v1/jobs/slurm-1/metrics", 200,
         CID, enc({"job_id": "slurm-1", "samples": [sample], "total": 1}))
    resp("GET samples: rollup without sample_count rejected", False, "GET",
         "/v1/jobs/slurm-1/metrics", 200, CID,
         enc({"job_id": "slurm-1", "resolution": "1h", "samples": [without(rollup, "sample_count")],
              "total": 1}))
    ack = {"job_id": "slurm-1", "timestamp": "2024-05-01T12:01:00.000000Z", "node": "node01"}
    resp("POST sample: 201 stored=true accepted", True, "POST", "/v1/jobs/slurm-1/metrics", 201, CID,
         enc(dict(ack, stored=True)))
    resp("POST sample: 200 stored=false accepted", True, "POST", "/v1/jobs/slurm-1/metrics", 200, CID,
         enc(dict(ack, stored=False)))
    resp("POST sample: 201 stored=false rejected", False, "POST", "/v1/jobs/slurm-1/metrics", 201, CID,
         enc(dict(ack, stored=False)))
    resp("POST sample: 409 accepted", True, "POST", "/v1/jobs/slurm-1/metrics", 409, CID,
         enc({"error": "conflict", "message": "job is finished"}))

    # ---- /metrics
    text = b"# HELP hjo_build_info Build.\n# TYPE hjo_build_info gauge\nhjo_build_info{version=\"1\"} 1\n"
    resp("/metrics: text/plain 0.0.4 accepted", True, "GET", "/metrics", 200,
         hdr(Content_Type="text/plain; version=0.0.4; charset=utf-8"), text)
    resp("/metrics: application/json rejected", False, "GET", "/metrics", 200, CID, text)
    resp("/metrics: text/plain without version rejected", False, "GET", "/metrics", 200,
         hdr(Content_Type="text/plain"), text)

    # ---- broken copies of the spec are rejected
    def set_in(path, value):
        def mut(s):
            cur = s
            for k in path[:-1]:
                cur = cur[k]
            cur[path[-1]] = value
        return mut

    def drop(path):
        def mut(s):
            cur = s
            for k in path[:-1]:
                cur = cur[k]
            del cur[path[-1]]
        return mut

    spec_case("spec: openapi 3.0.3 rejected", False, set_in(["openapi"], "3.0.3"))
    spec_case("spec: unknown top-level key rejected", False, set_in(["servers2"], []))
    spec_case("spec: dangling $ref rejected", False,
              set_in(["paths", "/v1/jobs", "get", "responses", "200", "content", "application/json", "schema"],
                     {"$ref": "#/components/schemas/NoSuchSchema"}))
    spec_case("spec: undeclared path parameter rejected", False,
              set_in(["paths", "/v1/jobs/{id}/samples/{sample}"],
                     {"get": {"operationId": "getSample", "parameters": [{"$ref": "#/components/parameters/JobIdPath"}],
                              "responses": {"200": {"description": "x"}}}}))
    spec_case("spec: duplicate operationId rejected", False, set_in(["paths", "/v1/jobs", "post", "operationId"], "listJobs"))
    spec_case("spec: operation without responses rejected", False, drop(["paths", "/v1/jobs", "get", "responses"]))
    spec_case("spec: invalid schema (type: bogus) rejected", False,
              set_in(["components", "schemas", "Job", "properties", "user", "type"], "bogus"))
    spec_case("spec: invalid example rejected", False,
              set_in(["components", "schemas", "Job", "examples"], [{"id": "slurm-1"}]))

    print("1..%d" % len(tests))
    failed = 0
    for i, (desc, expect_ok, thunk) in enumerate(tests, 1):
        try:
            errs = thunk()
        except Exception as exc:  # pylint: disable=broad-except
            errs = None
            crash = "%s: %s" % (type(exc).__name__, exc)
        if errs is None:
            good = False
            detail = ["crashed: " + crash]
        elif expect_ok:
            good = not errs
            detail = errs
        else:
            good = bool(errs)
            detail = ["expected errors, got none"] if not errs else []
        if good:
            print("ok %d - %s" % (i, desc))
            if not expect_ok and errs and os.environ.get("OPENAPI_SELFTEST_VERBOSE"):
                for e in errs[:3]:
                    print("#   rejected: " + e)
        else:
            failed += 1
            print("not ok %d - %s" % (i, desc))
            for e in detail[:10]:
                print("#   " + str(e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
