#!/usr/bin/python3
"""
tests/integration/api_test.py: drives every /v1 endpoint and /metrics of a running hjo stack
over HTTP and prints TAP.

Run by tests/integration/t_api.sh after tests/integration/lib.sh has started PostgreSQL, the
hjo-api FastCGI workers and nginx.  Environment:

    HJO_URL         base URL of nginx, e.g. http://127.0.0.1:38123
    HJO_PGHOST      PostgreSQL socket directory      HJO_PGPORT   port
    HJO_PGDATABASE  database                         HJO_PGUSER   user
    HJO_TMP         scratch directory                top_srcdir   source tree root

Only the standard library plus Debian's python3-yaml / python3-jsonschema (through
tests/integration/openapi_check.py) are used.  Every response is checked against
docs/openapi.yaml inside req(); each test group ends with a "responses conform to OpenAPI"
assertion that lists the offending responses.

Usage: api_test.py [GROUP ...]   (no argument: all groups; see GROUPS at the bottom)

The contract tested is docs/internals/api-contract.md, issue 2 and ../shared/docs/api-notes.md.
"""

import datetime as dt
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

# ---------------------------------------------------------------------------------------------
# SQL the tests run directly against PostgreSQL (schema: sql/0001_init.sql).  Keep every
# statement here so a schema change needs one edit.  {name} placeholders are filled with
# sql_lit()-quoted literals.
# ---------------------------------------------------------------------------------------------
SQL = {
    "jobs_count":        "SELECT count(*) FROM jobs",
    "job_count_by_id":   "SELECT count(*) FROM jobs WHERE id = {id}",
    "job_user_by_id":    "SELECT user_name FROM jobs WHERE id = {id}",
    "audit_count":       "SELECT count(*) FROM audit_log",
    "audit_rows":        "SELECT changed_by, source, correlation_id FROM audit_log "
                         "WHERE job_id = {id} ORDER BY id",
    "samples_count":     "SELECT count(*) FROM metric_samples WHERE job_id = {id}",
    "gpu_sample_insert": "INSERT INTO gpu_samples (job_id, node, gpu_id, ts, gpu_vendor, "
                         "utilization_percent, memory_used_bytes, power_watts, "
                         "temperature_celsius) VALUES ({job_id}, {node}, {gpu_id}, now(), "
                         "{vendor}, {util}, {mem}, {power}, {temp})",
    # event batches (g_event_batches)
    "audit_by_corr":     "SELECT count(*), count(DISTINCT principal), min(principal) "
                         "FROM audit_log WHERE correlation_id LIKE {prefix}",
    "batched_txns":      "SELECT count(*) FROM (SELECT xmin::text FROM audit_log "
                         "WHERE correlation_id LIKE {prefix} GROUP BY 1 HAVING count(*) > 1) t",
    "events_apply":      "SELECT string_agg(concat_ws(':', ord, status, err_sqlstate, err_column),"
                         " ' ' ORDER BY ord) FROM hjo_events_apply({events}::jsonb)",
    "job_brief":         "SELECT concat_ws(' ', state, array_to_string(nodes, ','), exit_code) "
                         "FROM jobs WHERE id = {id}",
    "job_summary":       "SELECT concat_ws(' ', cpu_seconds, cpu_efficiency, memory_peak_mb, "
                         "memory_peak_ratio, gpu_mean_utilization, gpu_max_utilization, "
                         "idle_gpu_hours, summary_at IS NOT NULL) FROM jobs WHERE id = {id}",
    "audit_actions":     "SELECT string_agg(action || '/' || (changes->>'status'), ' ' ORDER BY id)"
                         " FROM audit_log WHERE job_id = {id}",
    "node_sample_insert": "INSERT INTO node_samples (node, ts, cpu_usage_percent, "
                          "memory_used_bytes, job_count) VALUES ({node}, now(), {cpu}, {mem}, "
                          "{jobs})",
}

# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------
URL = os.environ.get("HJO_URL", "")
TOP = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TMP = os.environ.get("HJO_TMP") or "/tmp"
PG = {
    "host": os.environ.get("HJO_PGHOST", ""),
    "port": os.environ.get("HJO_PGPORT", ""),
    "db": os.environ.get("HJO_PGDATABASE", ""),
    "user": os.environ.get("HJO_PGUSER", ""),
}

# Unique ids per run: 1000 ids per second of wall clock.
BASE = (int(time.time()) % 10**9) * 1000
_id_lock = threading.Lock()
_id_next = [0]


def new_id(prefix="slurm-"):
    with _id_lock:
        _id_next[0] += 1
        return f"{prefix}{BASE + _id_next[0]}"


def new_name(prefix):
    """A unique host/user/account name for this run."""
    with _id_lock:
        _id_next[0] += 1
        return f"{prefix}{BASE + _id_next[0]}"


NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
HEX32_RE = re.compile(r"^[0-9a-fA-F]{32}$")
AUDIT = {"X-Changed-By": "api-tester", "X-Source": "api_test.py"}
JOB_KEYS = ("id user nodes node_count state start_time end_time runtime_seconds exit_code signal "
            "slurm_state cpu_usage memory_usage_mb gpu_usage allocated_cpus allocated_memory_mb "
            "allocated_gpus gpu_vendor gpu_devices cgroup_path partition account cluster_name "
            "last_sample_at sample_count avg_cpu_usage max_cpu_usage max_memory_usage_mb "
            "avg_gpu_usage max_gpu_usage created_at updated_at").split()
MIB = 1048576


def iso(t):
    """RFC 3339 as a client sends it: seconds precision, Z."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def norm(t):
    """The server's response form: UTC, 6 fraction digits, Z."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ago(**kw):
    return NOW - dt.timedelta(**kw)


def parse_ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def q(s):
    """A query value, percent-encoded."""
    return urllib.parse.quote(str(s), safe="")


def qp(s):
    """A path segment (job id), percent-encoded; ':' is left alone like the other job-id
    characters [A-Za-z0-9._-], so a server that does not decode the path still matches."""
    return urllib.parse.quote(str(s), safe=":")


# ---------------------------------------------------------------------------------------------
# OpenAPI checking (tests/integration/openapi_check.py)
# ---------------------------------------------------------------------------------------------
OA = {"mod": None, "spec": None, "import_error": None, "spec_error": None}
_conf_lock = threading.Lock()
_conf = {"checked": 0, "bad": []}

try:
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    import openapi_check  # noqa: E402
    OA["mod"] = openapi_check
except Exception as e:  # pragma: no cover - reported as a failing test
    OA["import_error"] = f"{type(e).__name__}: {e}"


def oa_load():
    if OA["mod"] is None:
        return
    try:
        OA["spec"] = OA["mod"].load_spec(os.path.join(TOP, "docs", "openapi.yaml"))
    except Exception as e:
        OA["spec_error"] = f"{type(e).__name__}: {e}"


def oa_check(method, path, status, headers, body):
    if OA["spec"] is None or status == 0:
        return
    try:
        errs = OA["mod"].validate_response(OA["spec"], method, path, status, headers, body)
    except Exception as e:
        errs = [f"validator raised {type(e).__name__}: {e}"]
    with _conf_lock:
        _conf["checked"] += 1
        if errs:
            _conf["bad"].append((method, path, status, list(errs)))


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------
class Resp(tuple):
    """(status, headers, body_bytes, json_or_None) plus .info, the request for diagnostics.
    headers: dict with lower-case names.  status 0 = no HTTP response (connection error)."""

    def __new__(cls, status, headers, body, js, info):
        obj = tuple.__new__(cls, (status, headers, body, js))
        obj.info = info
        return obj

    status = property(lambda s: s[0])
    headers = property(lambda s: s[1])
    body = property(lambda s: s[2])
    json = property(lambda s: s[3])

    def err(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    def field(self):
        return self.json.get("field") if isinstance(self.json, dict) else None


_u = urllib.parse.urlsplit(URL) if URL else None


# HTTPS with certificate verification on: HJO_CAFILE names the CA that signed the server's
# certificate (t_tls.sh generates one); HJO_CLIENT_CERT/HJO_CLIENT_KEY add a client certificate.
# HJO_TOKEN, when set, is sent as "Authorization: Bearer" on every request unless a test names
# its own Authorization header (None = send none).
TOKEN = os.environ.get("HJO_TOKEN", "")
_ssl_ctx = None


def _conn():
    global _ssl_ctx
    if _u.scheme == "https":
        import ssl
        if _ssl_ctx is None:
            _ssl_ctx = ssl.create_default_context(cafile=os.environ.get("HJO_CAFILE") or None)
            if os.environ.get("HJO_CLIENT_CERT"):
                _ssl_ctx.load_cert_chain(os.environ["HJO_CLIENT_CERT"],
                                         os.environ.get("HJO_CLIENT_KEY"))
        return http.client.HTTPSConnection(_u.hostname, _u.port or 443, timeout=60,
                                           context=_ssl_ctx)
    return http.client.HTTPConnection(_u.hostname, _u.port or 80, timeout=60)


def req(method, path, body=None, headers=None, raw=None, check_oa=True):
    """One HTTP request on a fresh connection.  body: a Python value sent as JSON; raw: bytes
    sent as is.  A JSON Content-Type is added when there is a body and headers name none."""
    hdrs = dict(headers or {})
    if TOKEN and not any(k.lower() == "authorization" for k in hdrs):
        hdrs["Authorization"] = f"Bearer {TOKEN}"
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    data = raw
    if data is None and body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if data is not None and not any(k.lower() == "content-type" for k in hdrs):
        hdrs["Content-Type"] = "application/json"
    full = (_u.path.rstrip("/") if _u.path else "") + path
    info = {"method": method, "path": path, "headers": hdrs, "body": data, "error": None}
    status, rh, rb = 0, {}, b""
    c = _conn()
    try:
        c.putrequest(method, full, skip_accept_encoding=True)
        for k, v in hdrs.items():
            c.putheader(k, v)
        if data is not None:
            c.putheader("Content-Length", str(len(data)))
        c.endheaders()
        if data:
            try:
                for i in range(0, len(data), 65536):
                    c.send(data[i:i + 65536])
            except (BrokenPipeError, ConnectionResetError) as e:
                info["error"] = f"while sending body: {e!r}"  # the server may have answered
        r = c.getresponse()
        status = r.status
        rh = {k.lower(): v for k, v in r.getheaders()}
        rb = r.read()
    except Exception as e:
        info["error"] = (info["error"] + "; " if info["error"] else "") + repr(e)
    finally:
        c.close()
    js = None
    if rb:
        try:
            js = json.loads(rb.decode("utf-8"))
        except Exception:
            js = None
    if check_oa:
        oa_check(method, path.split("?", 1)[0], status, rh, rb)
    return Resp(status, rh, rb, js, info)


def get_job(job_id):
    return req("GET", f"/v1/jobs/{qp(job_id)}")


def started(job_id, user="alice", nodes=None, ts=None, **extra):
    body = {"job_id": job_id, "user": user,
            "node_list": nodes if nodes is not None else ["cn001"],
            "timestamp": ts if ts is not None else iso(ago(minutes=10))}
    body.update(extra)
    return req("POST", "/v1/events/job-started", body)


def finished(job_id, ts=None, **extra):
    body = {"job_id": job_id, "timestamp": ts if ts is not None else iso(NOW)}
    body.update(extra)
    return req("POST", "/v1/events/job-finished", body)


def sample(job_id, **body):
    return req("POST", f"/v1/jobs/{qp(job_id)}/metrics", body)


def parallel(n, fn):
    """Runs fn(i) for i in 0..n-1 in n threads released together; returns results by i."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        try:
            out[i] = fn(i)
        except Exception as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
def sql_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def psql(key, **params):
    """Runs SQL[key] with params; returns stdout (stripped).  Raises on failure."""
    stmt = SQL[key].format(**{k: sql_lit(v) for k, v in params.items()})
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", stmt]
    for opt, k in (("-h", "host"), ("-p", "port"), ("-d", "db"), ("-U", "user")):
        if PG[k]:
            cmd[1:1] = [opt, PG[k]]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"psql failed ({p.returncode}): {stmt}\n"
                           f"{p.stderr.decode('utf-8', 'replace')}")
    return p.stdout.decode("utf-8").rstrip("\n")


def pg_int(key, **params):
    return int(psql(key, **params))


# ---------------------------------------------------------------------------------------------
# TAP
# ---------------------------------------------------------------------------------------------
class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.group = ""

    def _trunc(self, b, limit):
        if b is None:
            return "(none)"
        if isinstance(b, (bytes, bytearray)):
            s = b[:limit].decode("utf-8", "backslashreplace")
            more = len(b) - limit
        else:
            s = str(b)[:limit]
            more = len(str(b)) - limit
        return s + (f"... ({more} more bytes)" if more > 0 else "")

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print(f"# {line}")

    def diag_resp(self, r):
        i = r.info
        self.diag(f"request: {i['method']} {i['path']}")
        hs = {k: ("Bearer ***" if k.lower() == "authorization" else v)
              for k, v in i["headers"].items() if k.lower() != "content-type"}
        if hs:
            self.diag(f"request headers: {hs}")
        if i["body"] is not None:
            self.diag(f"request body: {self._trunc(i['body'], 400)}")
        if i["error"]:
            self.diag(f"transport: {i['error']}")
        self.diag(f"status: {r.status}")
        keep = ("content-type", "allow", "location", "x-correlation-id")
        self.diag("response headers: " + ", ".join(f"{k}: {r.headers[k]}" for k in keep
                                                   if k in r.headers))
        self.diag(f"response body: {self._trunc(r.body, 1200)}")

    def ok(self, cond, desc, *resps, why=None):
        self.n += 1
        name = f"{self.group}: {desc}" if self.group else desc
        name = name.replace("#", "\\#").replace("\n", " ")
        if cond:
            print(f"ok {self.n} - {name}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}")
            if why:
                self.diag(why)
            for r in resps:
                if isinstance(r, Resp):
                    self.diag_resp(r)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, desc, *resps, why=None):
        w = f"got:  {got!r}\nwant: {want!r}" + (f"\n{why}" if why else "")
        return self.ok(got == want, desc, *resps, why=w)


T = Tap()


def is_error(r, status, codes, field=None):
    """True when r is status with a JSON error whose code is in codes (str or set) and, when
    field is given, whose field matches (case-insensitively)."""
    if isinstance(codes, str):
        codes = {codes}
    if r.status != status or not isinstance(r.json, dict):
        return False
    if r.json.get("error") not in codes or not isinstance(r.json.get("message"), str):
        return False
    if field is not None and str(r.field() or "").lower() != field.lower():
        return False
    return True


def expect_error(r, status, codes, field, desc):
    want = f"{status} {codes}" + (f" field={field}" if field else "")
    return T.ok(is_error(r, status, codes, field), f"{desc} -> {want}", r)


def json_ct(r):
    ct = r.headers.get("content-type", "")
    return ct.split(";")[0].strip().lower() == "application/json"


def stable(job):
    """A job object without the fields that change by themselves (runtime of running jobs)."""
    if not isinstance(job, dict):
        return job
    return {k: v for k, v in job.items() if k != "runtime_seconds"}


def close(a, b, eps=1e-9):
    try:
        return abs(float(a) - float(b)) <= eps * max(1.0, abs(float(b)))
    except (TypeError, ValueError):
        return False


# =============================================================================================
# Test groups
# =============================================================================================
def g_openapi():
    T.ok(OA["import_error"] is None, "openapi_check importable", why=OA["import_error"])
    if OA["mod"] is not None:
        T.ok(OA["spec"] is not None, "docs/openapi.yaml loads", why=OA["spec_error"])


def g_basics():
    r = req("GET", "/v1/health")
    T.eq(r.status, 200, "GET /v1/health is 200", r)
    T.ok(json_ct(r), "health Content-Type is application/json", r)
    j = r.json if isinstance(r.json, dict) else {}
    T.eq(j.get("status"), "healthy", "health status is healthy", r)
    T.eq(j.get("database"), "ok", "health database is ok", r)
    T.ok(isinstance(j.get("version"), str) and j.get("version"), "health has a version", r)
    T.ok(isinstance(j.get("timestamp"), str) and TS_RE.match(j["timestamp"]),
         "health timestamp is UTC with 6 fraction digits", r)

    # unknown paths
    for p in ("/v1/nope", "/v1/jobs/x/y", "/v1/events/job-paused", "/v1/healthz"):
        r = req("GET", p)
        T.ok(is_error(r, 404, "not_found") and json_ct(r), f"GET {p} -> 404 JSON not_found", r)

    # wrong methods
    cases = [("PUT", "/v1/health", {"GET"}, None),
             ("POST", "/v1/health", {"GET"}, {}),
             ("DELETE", "/v1/jobs", {"GET", "POST"}, None),
             ("PUT", "/v1/jobs", {"GET", "POST"}, {}),
             ("GET", "/v1/events/job-started", {"POST"}, None),
             ("GET", "/v1/events/job-finished", {"POST"}, None),
             ("PUT", f"/v1/jobs/{new_id()}", {"GET", "PATCH", "DELETE"}, {}),
             ("DELETE", f"/v1/jobs/{new_id()}/metrics", {"GET", "POST"}, None)]
    for m, p, allow, body in cases:
        r = req(m, p, body, headers=AUDIT)
        got = {a.strip().upper() for a in r.headers.get("allow", "").split(",") if a.strip()}
        T.ok(is_error(r, 405, "method_not_allowed") and json_ct(r),
             f"{m} {p.split('/slurm-')[0]}... -> 405 method_not_allowed", r)
        T.ok(allow <= got, f"{m} {p.split('/slurm-')[0]}... Allow header lists {sorted(allow)}",
             r, why=f"Allow: {r.headers.get('allow')!r}")

    # correlation ids
    cid = "corr-1.A:b_c-" + str(BASE)
    r = req("GET", "/v1/health", headers={"X-Correlation-Id": cid})
    T.eq(r.headers.get("x-correlation-id"), cid, "X-Correlation-Id echoed on GET", r)
    r = req("GET", "/v1/health")
    T.ok(HEX32_RE.match(r.headers.get("x-correlation-id", "")),
         "X-Correlation-Id generated (32 hex) when absent", r)
    for bad in ("has space", "x" * 129, "semi;colon", "ü-utf8"):
        hb = bad.encode("utf-8").decode("latin-1")  # http.client sends latin-1
        r = req("GET", "/v1/health", headers={"X-Correlation-Id": hb})
        v = r.headers.get("x-correlation-id", "")
        T.ok(HEX32_RE.match(v) and v != hb,
             f"invalid X-Correlation-Id ({bad[:12]!r}...) replaced by a generated one", r)
    r = req("GET", "/v1/health", headers={"X-Correlation-Id": "y" * 128})
    T.eq(r.headers.get("x-correlation-id"), "y" * 128, "128-char X-Correlation-Id echoed", r)
    jid = new_id()
    cid = f"start-{jid}"
    r = req("POST", "/v1/events/job-started",
            {"job_id": jid, "user": "u", "node_list": ["cn1"], "timestamp": iso(ago(minutes=5))},
            headers={"X-Correlation-Id": cid})
    T.eq(r.headers.get("x-correlation-id"), cid, "X-Correlation-Id echoed on a mutation", r)
    r = req("GET", "/v1/nope", headers={"X-Correlation-Id": "err-404"})
    T.eq(r.headers.get("x-correlation-id"), "err-404", "X-Correlation-Id echoed on a 404", r)
    r = req("PUT", "/v1/health")
    T.ok(HEX32_RE.match(r.headers.get("x-correlation-id", "")),
         "X-Correlation-Id generated on a 405", r)


def g_job_started():
    # created, then the identical event is skipped and changes nothing
    jid = new_id()
    body_ts = iso(ago(minutes=30))
    r = started(jid, user="alice", nodes=["cn001", "cn002"], ts=body_ts)
    T.eq((r.status, (r.json or {}).get("status"), (r.json or {}).get("job_id")),
         (200, "created", jid), "new job -> 200 created with job_id", r)
    T.ok(isinstance((r.json or {}).get("message"), str), "event response has a message", r)
    before = get_job(jid)
    T.eq(before.status, 200, "created job readable", before)
    jb = before.json if isinstance(before.json, dict) else {}
    missing = [k for k in JOB_KEYS if k not in jb]
    T.ok(not missing, "job object has every documented key", before, why=f"missing: {missing}")
    T.eq(jb.get("state"), "running", "started job is running", before)
    T.eq(jb.get("start_time"), norm(ago(minutes=30)), "start_time normalized", before)
    T.eq(jb.get("end_time"), None, "running job has end_time null", before)
    T.ok(isinstance(jb.get("runtime_seconds"), (int, float))
         and 1700 <= jb["runtime_seconds"] <= 30 * 60 + 600,
         "running job runtime_seconds = now - start", before)
    T.eq(jb.get("sample_count"), 0, "new job sample_count 0", before)
    T.ok(all(TS_RE.match(str(jb.get(k))) for k in ("created_at", "updated_at")),
         "created_at/updated_at formatted", before)

    r = started(jid, user="alice", nodes=["cn001", "cn002"], ts=body_ts)
    T.eq((r.status, (r.json or {}).get("status")), (200, "skipped"),
         "identical start again -> skipped", r)
    after = get_job(jid)
    T.eq(stable(after.json), stable(before.json),
         "skipped start changes nothing (updated_at included)", after)

    # adds nodes -> updated; fewer nodes later -> skipped, nodes kept
    r = started(jid, user="alice", nodes=["cn001", "cn002", "cn003"], ts=body_ts)
    T.eq((r.status, (r.json or {}).get("status")), (200, "updated"),
         "start with an additional node -> updated", r)
    g = get_job(jid)
    T.eq(((g.json or {}).get("nodes"), (g.json or {}).get("node_count")),
         (["cn001", "cn002", "cn003"], 3), "node added, node_count 3", g)
    T.ok((g.json or {}).get("updated_at", "") > jb.get("updated_at", "~"),
         "updated start moves updated_at", g)
    r = started(jid, user="alice", nodes=["cn002"], ts=body_ts)
    T.eq((r.status, (r.json or {}).get("status")), (200, "skipped"),
         "start with a subset of nodes -> skipped", r)
    g = get_job(jid)
    T.eq(sorted((g.json or {}).get("nodes") or []), ["cn001", "cn002", "cn003"],
         "no node removed by a later start", g)

    # cgroup path / allocations filled when empty
    r = started(jid, user="alice", nodes=["cn001"], ts=body_ts,
                cgroup_path=f"/sys/fs/cgroup/system.slice/slurmstepd.scope/job_{jid}",
                cpu_allocation=16)
    T.eq((r.status, (r.json or {}).get("status")), (200, "updated"),
         "start adding cgroup_path and cpu_allocation -> updated", r)
    g = get_job(jid)
    T.eq(((g.json or {}).get("cgroup_path"), (g.json or {}).get("allocated_cpus")),
         (f"/sys/fs/cgroup/system.slice/slurmstepd.scope/job_{jid}", 16),
         "cgroup_path and allocated_cpus filled", g)

    # never reopens a finished job
    jid2 = new_id()
    started(jid2, nodes=["cn010"], ts=iso(ago(minutes=40)))
    r = finished(jid2, ts=iso(ago(minutes=20)), exit_code=0)
    T.eq((r.json or {}).get("status"), "updated", "finish before late start", r)
    f0 = get_job(jid2).json or {}
    r = started(jid2, nodes=["cn010", "cn011"], ts=iso(ago(minutes=40)),
                cgroup_path="/sys/fs/cgroup/job_late")
    T.ok(r.status == 200 and (r.json or {}).get("status") in ("updated", "skipped"),
         "start after finish -> 200 updated/skipped", r)
    g = get_job(jid2)
    gj = g.json or {}
    T.eq((gj.get("state"), gj.get("end_time"), gj.get("exit_code")),
         (f0.get("state"), f0.get("end_time"), f0.get("exit_code")),
         "start after finish does not reopen (state, end_time, exit_code unchanged)", g)
    T.eq(gj.get("state"), "completed", "finished job stays completed", g)
    T.eq((sorted(gj.get("nodes") or []), gj.get("cgroup_path")),
         (["cn010", "cn011"], "/sys/fs/cgroup/job_late"),
         "start after finish fills missing nodes / cgroup_path", g)

    # fields stored exactly, including hostile strings
    jid3 = new_id()
    evil_user = f"Zoë{BASE} \"quoted\" back\\slash '; DROP TABLE jobs; --"
    evil_account = "acct' OR '1'='1 \\\" %_ ünï"
    body = dict(cpu_allocation=32, memory_allocation_mb=257000, gpu_allocation=4,
                gpu_vendor="nvidia", gpu_devices=["0", "1", "2", "3"],
                cgroup_path="/sys/fs/cgroup/system.slice/slurmstepd.scope/job_42",
                partition="gpu-a100", account=evil_account, cluster="cluster'; --")
    inst = ago(hours=1)
    ts_in = inst.astimezone(dt.timezone(dt.timedelta(hours=2))).strftime(
        "%Y-%m-%dT%H:%M:%S.5+02:00")
    r = started(jid3, user=evil_user, nodes=["gpu-n01.cluster.example", "gpu_n02"], ts=ts_in,
                **body)
    T.eq((r.status, (r.json or {}).get("status")), (200, "created"),
         "start with SQL metacharacters / UTF-8 -> created", r)
    g = get_job(jid3)
    gj = g.json or {}
    want = {"id": jid3, "user": evil_user, "nodes": ["gpu-n01.cluster.example", "gpu_n02"],
            "node_count": 2, "state": "running",
            "start_time": norm(inst + dt.timedelta(microseconds=500000)),
            "allocated_cpus": 32, "allocated_memory_mb": 257000, "allocated_gpus": 4,
            "gpu_vendor": "nvidia", "gpu_devices": ["0", "1", "2", "3"],
            "cgroup_path": body["cgroup_path"], "partition": "gpu-a100",
            "account": evil_account, "cluster_name": "cluster'; --",
            "exit_code": None, "signal": None, "slurm_state": None, "end_time": None}
    for k, v in want.items():
        T.eq(gj.get(k), v, f"stored exactly: {k}", g)
    try:
        T.eq(psql("job_user_by_id", id=jid3), evil_user, "user byte-exact in PostgreSQL")
        T.ok(pg_int("jobs_count") > 0, "jobs table survived the SQL metacharacters")
    except Exception as e:
        T.ok(False, "psql read-back of hostile strings", why=str(e))
    r = req("GET", f"/v1/jobs?user={q(evil_user)}")
    ids = [x.get("id") for x in (r.json or {}).get("jobs", [])] if r.status == 200 else None
    T.eq(ids, [jid3], "filter by the hostile user finds exactly that job", r)

    # ids as the Slurm hooks send them
    r = started("slurm-99999", user="guide", nodes=["cn001"], ts=iso(ago(minutes=3)))
    T.ok(r.status == 200 and (r.json or {}).get("status") in ("created", "skipped", "updated"),
         "slurm-99999 accepted", r)
    g = get_job("slurm-99999")
    T.eq((g.status, (g.json or {}).get("id")), (200, "slurm-99999"),
         "GET /v1/jobs/slurm-99999 returns id exactly as given", g)
    long_ok = (f"j{BASE}-" + "9" * 255)[:255]
    r = started(long_ok)
    T.eq((r.status, (r.json or {}).get("status")), (200, "created"), "255-char job_id accepted", r)
    g = get_job(long_ok)
    T.eq((g.json or {}).get("id"), long_ok, "255-char job_id stored exactly", g)
    odd = f"a.b:c_d-{BASE}"
    r = started(odd)
    g = get_job(odd)
    T.eq((r.status, g.status, (g.json or {}).get("id")), (200, 200, odd),
         "job_id with . : _ - accepted and stored", r, g)
    r = req("POST", "/v1/events/job-started",
            {"job_id": new_id(), "user": "u", "node_list": ["cn1"], "timestamp": iso(ago(minutes=1))},
            headers={"Content-Type": "application/json; charset=utf-8"})
    T.eq((r.status, (r.json or {}).get("status")), (200, "created"),
         "Content-Type with charset parameter accepted", r)
    jn = new_id()
    r = started(jn, cpu_allocation=None, gpu_vendor=None, cgroup_path=None, partition=None)
    T.eq((r.status, (r.json or {}).get("status")), (200, "created"), "null optionals accepted", r)


def g_concurrent_starts():
    jid = new_id()
    ts = iso(ago(minutes=7))
    body = {"job_id": jid, "user": "bob", "node_list": ["cn100", "cn101"], "timestamp": ts,
            "cpu_allocation": 8}
    res = parallel(50, lambda i: req("POST", "/v1/events/job-started", body))
    resps = [x for x in res if isinstance(x, Resp)]
    statuses = [x.json.get("status") if isinstance(x.json, dict) else x.status for x in resps]
    T.ok(len(resps) == 50, "50 concurrent starts all answered",
         why=str([x for x in res if not isinstance(x, Resp)][:3]))
    T.ok(all(x.status == 200 for x in resps), "50 concurrent starts all 200",
         *[x for x in resps if x.status != 200][:3])
    T.eq(statuses.count("created"), 1, "exactly one 'created'")
    T.eq(statuses.count("skipped"), 49, "the 49 others 'skipped'",
         why=f"statuses: {sorted(set(map(str, statuses)))}")
    try:
        T.eq(pg_int("job_count_by_id", id=jid), 1, "exactly one job row in PostgreSQL")
    except Exception as e:
        T.ok(False, "psql count", why=str(e))
    g = get_job(jid)
    T.eq((g.json or {}).get("nodes"), ["cn100", "cn101"], "nodes not duplicated", g)


def _validation_cases():
    ok = lambda **kw: dict({"job_id": new_id(), "user": "val", "node_list": ["cn001"],
                            "timestamp": iso(ago(minutes=9))}, **kw)

    def without(k):
        b = ok()
        del b[k]
        return b

    S = "/v1/events/job-started"
    F = "/v1/events/job-finished"
    IR, VE = "invalid_request", "validation_error"
    cases = [  # (desc, path, body-or-raw-bytes, status, codes, field)
        ("malformed JSON", S, b'{"job_id": "x", "user": ', 400, IR, None),
        ("trailing garbage", S, json.dumps(ok()).encode() + b" xyz", 400, IR, None),
        ("JSON array", S, b'[{"job_id": "x"}]', 400, IR, None),
        ("JSON string", S, b'"hello"', 400, IR, None),
        ("empty body", S, b"", 400, {IR, VE}, None),
        ("job_id number", S, ok(job_id=123), 400, VE, "job_id"),
        ("user number", S, ok(user=5), 400, VE, "user"),
        ("node_list string", S, ok(node_list="a"), 400, VE, "node_list"),
        ("node_list of numbers", S, ok(node_list=[1]), 400, VE, "node_list"),
        ("timestamp number", S, ok(timestamp=1700000000), 400, VE, "timestamp"),
        ("cpu_allocation string", S, ok(cpu_allocation="4"), 400, VE, "cpu_allocation"),
        ("cpu_allocation float", S, ok(cpu_allocation=1.5), 400, VE, "cpu_allocation"),
        ("gpu_devices string", S, ok(gpu_devices="0,1"), 400, VE, "gpu_devices"),
        ("missing job_id", S, without("job_id"), 400, VE, "job_id"),
        ("missing user", S, without("user"), 400, VE, "user"),
        ("missing node_list", S, without("node_list"), 400, VE, "node_list"),
        ("missing timestamp", S, without("timestamp"), 400, VE, "timestamp"),
        ("null job_id", S, ok(job_id=None), 400, VE, "job_id"),
        ("empty node_list", S, ok(node_list=[]), 400, VE, "node_list"),
        ("host name with space", S, ok(node_list=["cn 1"]), 400, VE, "node_list"),
        ("host name with slash", S, ok(node_list=["cn/1"]), 400, VE, "node_list"),
        ("host name empty", S, ok(node_list=[""]), 400, VE, "node_list"),
        ("host name leading dot", S, ok(node_list=[".cn1"]), 400, VE, "node_list"),
        ("host name leading hyphen", S, ok(node_list=["-cn1"]), 400, VE, "node_list"),
        ("host name 64-char label", S, ok(node_list=["a" * 64]), 400, VE, "node_list"),
        ("host name with quote", S, ok(node_list=['cn"1']), 400, VE, "node_list"),
        ("4097 nodes", S, ok(node_list=[f"n{i}" for i in range(4097)]), 400, VE, "node_list"),
        ("65 gpu_devices", S, ok(gpu_devices=[str(i) for i in range(65)]), 400, VE,
         "gpu_devices"),
        ("job_id with /", S, ok(job_id=f"slurm/{BASE}"), 400, VE, "job_id"),
        ("job_id ..", S, ok(job_id=".."), 400, VE, "job_id"),
        ("job_id with ../", S, ok(job_id=f"../{BASE}"), 400, VE, "job_id"),
        ("job_id with space", S, ok(job_id=f"slurm {BASE}"), 400, VE, "job_id"),
        ("job_id empty", S, ok(job_id=""), 400, VE, "job_id"),
        ("job_id 256 chars", S, ok(job_id="k" + "7" * 255), 400, VE, "job_id"),
        ("job_id with quote", S, ok(job_id=f"x'{BASE}"), 400, VE, "job_id"),
        ("user 256 bytes", S, ok(user="u" * 256), 400, VE, "user"),
        ("user 128 x 2-byte chars (256 bytes)", S, ok(user="é" * 128), 400, VE, "user"),
        ("user empty", S, ok(user=""), 400, VE, "user"),
        ("user with newline", S, ok(user="a\nb"), 400, VE, "user"),
        ("user with NUL", S, ok(user="a\u0000b"), 400, VE, "user"),
        ("account 256 bytes", S, ok(account="a" * 256), 400, VE, "account"),
        ("timestamp without zone", S, ok(timestamp="2026-01-02T03:04:05"), 400, VE, "timestamp"),
        ("timestamp 2026-02-30", S, ok(timestamp="2026-02-30T00:00:00Z"), 400, VE, "timestamp"),
        ("timestamp hour 24", S, ok(timestamp="2026-01-02T24:00:00Z"), 400, VE, "timestamp"),
        ("timestamp month 13", S, ok(timestamp="2026-13-02T03:04:05Z"), 400, VE, "timestamp"),
        ("timestamp garbage", S, ok(timestamp="yesterday"), 400, VE, "timestamp"),
        ("timestamp empty", S, ok(timestamp=""), 400, VE, "timestamp"),
        ("unknown field", S, ok(bogus_field=1), 400, VE, "bogus_field"),
        ("gpu_vendor bogus", S, ok(gpu_vendor="intel"), 400, VE, "gpu_vendor"),
        ("cpu_allocation negative", S, ok(cpu_allocation=-1), 400, VE, "cpu_allocation"),
        ("memory_allocation_mb negative", S, ok(memory_allocation_mb=-5), 400, VE,
         "memory_allocation_mb"),
        ("gpu_allocation negative", S, ok(gpu_allocation=-2), 400, VE, "gpu_allocation"),
        ("cgroup_path relative", S, ok(cgroup_path="sys/fs/cgroup"), 400, VE, "cgroup_path"),
        # finished
        ("finish malformed JSON", F, b"{", 400, IR, None),
        ("finish missing job_id", F, {"timestamp": iso(NOW)}, 400, VE, "job_id"),
        ("finish missing timestamp", F, {"job_id": new_id()}, 400, VE, "timestamp"),
        ("finish exit_code 256", F, {"job_id": new_id(), "timestamp": iso(NOW), "exit_code": 256},
         400, VE, "exit_code"),
        ("finish exit_code -1", F, {"job_id": new_id(), "timestamp": iso(NOW), "exit_code": -1},
         400, VE, "exit_code"),
        ("finish exit_code string", F, {"job_id": new_id(), "timestamp": iso(NOW),
                                        "exit_code": "0"}, 400, VE, "exit_code"),
        ("finish signal 65", F, {"job_id": new_id(), "timestamp": iso(NOW), "signal": 65},
         400, VE, "signal"),
        ("finish final_state bogus", F, {"job_id": new_id(), "timestamp": iso(NOW),
                                         "final_state": "done"}, 400, VE, "final_state"),
        ("finish final_state running", F, {"job_id": new_id(), "timestamp": iso(NOW),
                                           "final_state": "running"}, 400, VE, "final_state"),
        ("finish slurm_state lower case", F, {"job_id": new_id(), "timestamp": iso(NOW),
                                              "slurm_state": "timeout"}, 400, VE, "slurm_state"),
        ("finish slurm_state 65 chars", F, {"job_id": new_id(), "timestamp": iso(NOW),
                                            "slurm_state": "A" * 65}, 400, VE, "slurm_state"),
        ("finish unknown field", F, {"job_id": new_id(), "timestamp": iso(NOW), "foo": 1},
         400, VE, "foo"),
        ("finish bad timestamp", F, {"job_id": new_id(), "timestamp": "2026-02-30T00:00:00Z"},
         400, VE, "timestamp"),
    ]
    return cases


def g_validation():
    try:
        jobs0, audit0 = pg_int("jobs_count"), pg_int("audit_count")
    except Exception as e:
        jobs0 = audit0 = None
        T.ok(False, "psql counts before validation", why=str(e))

    for desc, path, payload, status, codes, field in _validation_cases():
        if isinstance(payload, bytes):
            r = req("POST", path, raw=payload)
            jid = None
        else:
            r = req("POST", path, payload)
            jid = payload.get("job_id") if isinstance(payload.get("job_id"), str) else None
        expect_error(r, status, codes, field, f"{path.rsplit('/', 1)[1]}: {desc}")
        if jid:
            try:
                n = pg_int("job_count_by_id", id=jid)
            except Exception as e:
                n = str(e)
            T.eq(n, 0, f"{desc}: nothing written", r)

    # invalid UTF-8 (raw bytes inside a string), in user and in job_id
    jid = new_id()
    raw = (b'{"job_id": "' + jid.encode() + b'", "user": "bad\xff\xfeutf8", '
           b'"node_list": ["cn1"], "timestamp": "' + iso(ago(minutes=2)).encode() + b'"}')
    r = req("POST", "/v1/events/job-started", raw=raw)
    T.ok(r.status == 400 and r.err() in ("invalid_request", "validation_error"),
         "invalid UTF-8 in user -> 400", r)
    T.eq(get_job(jid).status, 404, "invalid UTF-8: nothing written", r)
    raw = (b'{"job_id": "' + jid.encode() + b'", "user": "overlong\xc0\xaf", '
           b'"node_list": ["cn1"], "timestamp": "' + iso(ago(minutes=2)).encode() + b'"}')
    r = req("POST", "/v1/events/job-started", raw=raw)
    T.ok(r.status == 400 and r.err() in ("invalid_request", "validation_error"),
         "overlong UTF-8 encoding -> 400", r)
    raw = (b'{"job_id": "' + jid.encode() + b'", "user": "surrogate\xed\xa0\x80", '
           b'"node_list": ["cn1"], "timestamp": "' + iso(ago(minutes=2)).encode() + b'"}')
    r = req("POST", "/v1/events/job-started", raw=raw)
    T.ok(r.status == 400 and r.err() in ("invalid_request", "validation_error"),
         "UTF-8-encoded surrogate -> 400", r)
    T.eq(get_job(jid).status, 404, "invalid UTF-8 variants: nothing written")

    # wrong content type
    jid = new_id()
    good = json.dumps({"job_id": jid, "user": "u", "node_list": ["cn1"],
                       "timestamp": iso(ago(minutes=2))}).encode()
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        r = req("POST", "/v1/events/job-started", raw=good, headers={"Content-Type": ct})
        expect_error(r, 415, "unsupported_media_type", None, f"Content-Type {ct}")
    r = req("POST", "/v1/jobs", raw=good, headers=dict(AUDIT, **{"Content-Type": "text/plain"}))
    expect_error(r, 415, "unsupported_media_type", None, "POST /v1/jobs text/plain")
    T.eq(get_job(jid).status, 404, "415: nothing written")

    # 2 MiB body (nginx or the app refuses it; JSON either way)
    jid = new_id()
    big = (b'{"job_id": "' + jid.encode() + b'", "user": "' + b"a" * (2 * MIB) +
           b'", "node_list": ["cn1"], "timestamp": "' + iso(ago(minutes=2)).encode() + b'"}')
    r = req("POST", "/v1/events/job-started", raw=big)
    T.ok(is_error(r, 413, "payload_too_large") and json_ct(r),
         "2 MiB body -> 413 JSON payload_too_large", r)
    T.eq(get_job(jid).status, 404, "413: nothing written")
    jid = new_id()
    big = (b'{"job_id": "' + jid.encode() + b'", "user": "u", "node_list": ["cn1"], '
           b'"timestamp": "' + iso(ago(minutes=2)).encode() + b'", "cluster": "' +
           b"c" * (MIB + 1024) + b'"}')
    r = req("POST", "/v1/events/job-started", raw=big)
    T.ok(is_error(r, 413, "payload_too_large"), "just over 1 MiB -> 413 payload_too_large", r)

    try:
        T.eq((pg_int("jobs_count"), pg_int("audit_count")), (jobs0, audit0),
             "no rejected request wrote a job or an audit row")
    except Exception as e:
        T.ok(False, "psql counts after validation", why=str(e))

    # the finish-before-start error writes nothing
    jid = new_id()
    started(jid, ts=iso(ago(minutes=30)))
    b0 = get_job(jid)
    r = finished(jid, ts=iso(ago(minutes=45)), exit_code=0)
    expect_error(r, 400, "validation_error", "timestamp", "finish earlier than start")
    b1 = get_job(jid)
    T.eq(stable(b1.json), stable(b0.json), "finish earlier than start changed nothing", b1)


def g_job_finished():
    start = ago(hours=3)
    cases = [  # (desc, finish fields, expected state)
        ("exit 0", {"exit_code": 0}, "completed"),
        ("exit 3", {"exit_code": 3}, "failed"),
        ("exit 255", {"exit_code": 255}, "failed"),
        ("signal 9", {"signal": 9}, "cancelled"),
        ("signal 15", {"signal": 15}, "cancelled"),
        ("signal 11", {"signal": 11}, "failed"),
        ("exit 0 + signal 9", {"exit_code": 0, "signal": 9}, "cancelled"),
        ("no details", {}, "completed"),
        ("null details", {"exit_code": None, "signal": None}, "completed"),
        ("slurm TIMEOUT", {"slurm_state": "TIMEOUT", "exit_code": 0}, "cancelled"),
        ("slurm PREEMPTED", {"slurm_state": "PREEMPTED"}, "cancelled"),
        ("slurm OUT_OF_MEMORY", {"slurm_state": "OUT_OF_MEMORY", "exit_code": 0}, "failed"),
        ("slurm NODE_FAIL", {"slurm_state": "NODE_FAIL"}, "failed"),
        ("slurm COMPLETED", {"slurm_state": "COMPLETED", "exit_code": 0}, "completed"),
        ("slurm FAILED", {"slurm_state": "FAILED", "exit_code": 1}, "failed"),
        ("slurm CANCELLED", {"slurm_state": "CANCELLED"}, "cancelled"),
        ("final_state cancelled, exit 0", {"final_state": "cancelled", "exit_code": 0},
         "cancelled"),
        ("final_state failed, exit 0", {"final_state": "failed", "exit_code": 0}, "failed"),
        ("final_state completed, exit 1", {"final_state": "completed", "exit_code": 1},
         "completed"),
    ]
    for i, (desc, extra, want) in enumerate(cases):
        jid = new_id()
        started(jid, ts=iso(start), nodes=["cn200"])
        end = start + dt.timedelta(seconds=1000 + i)
        r = finished(jid, ts=iso(end), **extra)
        T.eq((r.status, (r.json or {}).get("status"), (r.json or {}).get("job_id")),
             (200, "updated", jid), f"{desc}: first finish -> updated", r)
        g = get_job(jid)
        gj = g.json or {}
        T.eq(gj.get("state"), want, f"{desc}: state {want}", r, g)
        if i == 0 or desc.startswith("slurm TIMEOUT") or desc == "signal 9":
            T.eq(gj.get("end_time"), norm(end), f"{desc}: end_time set", g)
            T.ok(close(gj.get("runtime_seconds"), 1000 + i),
                 f"{desc}: runtime_seconds = end - start = {1000 + i}", g)
            T.eq((gj.get("exit_code"), gj.get("signal"), gj.get("slurm_state")),
                 (extra.get("exit_code"), extra.get("signal"), extra.get("slurm_state")),
                 f"{desc}: exit details stored", g)

    # second finish: skipped, does not overwrite
    jid = new_id()
    started(jid, ts=iso(start))
    end = start + dt.timedelta(minutes=30)
    finished(jid, ts=iso(end), exit_code=0, slurm_state="COMPLETED")
    g0 = get_job(jid)
    r = finished(jid, ts=iso(end + dt.timedelta(minutes=5)), exit_code=7, signal=9,
                 slurm_state="FAILED")
    T.eq((r.status, (r.json or {}).get("status")), (200, "skipped"), "second finish -> skipped", r)
    g1 = get_job(jid)
    keys = ("state", "end_time", "runtime_seconds", "exit_code", "slurm_state")
    T.eq({k: (g1.json or {}).get(k) for k in keys}, {k: (g0.json or {}).get(k) for k in keys},
         "second finish overwrites nothing", g1)
    T.eq((g1.json or {}).get("signal"), (g0.json or {}).get("signal") or 9,
         "second finish may only fill the empty signal", g1)

    # later finish fills empty exit details only
    jid = new_id()
    started(jid, ts=iso(start))
    finished(jid, ts=iso(end))
    g0 = get_job(jid).json or {}
    r = finished(jid, ts=iso(end + dt.timedelta(minutes=1)), exit_code=2)
    T.eq((r.status, (r.json or {}).get("status")), (200, "skipped"),
         "finish filling exit_code -> skipped", r)
    g = get_job(jid)
    gj = g.json or {}
    T.eq(gj.get("exit_code"), 2, "empty exit_code filled by a later finish", g)
    T.eq((gj.get("state"), gj.get("end_time")), (g0.get("state"), g0.get("end_time")),
         "filling exit_code keeps state and end_time", g)
    r = finished(jid, ts=iso(end + dt.timedelta(minutes=2)), exit_code=5)
    T.eq((get_job(jid).json or {}).get("exit_code"), 2, "filled exit_code not overwritten", r)

    # finish of a never-seen job
    jid = new_id()
    r = finished(jid, ts=iso(ago(minutes=15)), exit_code=1)
    T.eq((r.status, (r.json or {}).get("status")), (200, "created"),
         "finish for an unknown job -> created", r)
    g = get_job(jid)
    gj = g.json or {}
    T.eq((g.status, gj.get("state"), gj.get("end_time"), gj.get("exit_code")),
         (200, "failed", norm(ago(minutes=15)), 1), "unknown job created in its final state", g)
    r = finished(jid, ts=iso(ago(minutes=10)), exit_code=0)
    T.eq((r.json or {}).get("status"), "skipped", "finish after created-by-finish -> skipped", r)

    # concurrent finishes
    jid = new_id()
    started(jid, ts=iso(start))
    res = parallel(10, lambda i: finished(jid, ts=iso(end + dt.timedelta(seconds=i)),
                                          exit_code=i))
    resps = [x for x in res if isinstance(x, Resp)]
    st = [(x.json or {}).get("status") for x in resps]
    T.eq((len(resps), st.count("updated"), st.count("skipped")), (10, 1, 9),
         "10 concurrent finishes: one updated, nine skipped", why=f"statuses {st}")
    if st.count("updated") == 1:
        winner = st.index("updated")
        g = get_job(jid)
        gj = g.json or {}
        T.eq((gj.get("exit_code"), gj.get("end_time")),
             (winner, norm(end + dt.timedelta(seconds=winner))),
             "the winning finish's exit_code and end_time are stored", g)


def g_list():
    user = new_name("lu")
    other = new_name("lo")
    acct, part = new_name("acct"), new_name("part")
    n1, n10, n2 = new_name("h") + "x1", None, None
    n10 = n1[:-1] + "10"  # e.g. h123x10 vs h123x1
    n2 = n1[:-1] + "2"
    t = [ago(hours=h) for h in (6, 5, 4, 3)]
    a = new_id()
    b = new_id()
    c = new_id()
    d = new_id()
    e = new_id()  # same start as d, larger id -> before d
    started(a, user=user, nodes=[n10], ts=iso(t[0]), account=acct, partition=part)
    started(b, user=user, nodes=[n1, n2], ts=iso(t[1]), account=acct)
    started(c, user=user, nodes=[n2], ts=iso(t[2]), partition=part)
    started(d, user=user, nodes=[n2], ts=iso(t[3]))
    started(e, user=user, nodes=[n2], ts=iso(t[3]))
    o = new_id()
    started(o, user=other, nodes=[n1], ts=iso(t[3]), account=acct, partition=part)
    finished(a, ts=iso(t[0] + dt.timedelta(minutes=10)), exit_code=0)
    finished(b, ts=iso(t[1] + dt.timedelta(minutes=10)), exit_code=1)
    order = [e, d, c, b, a]

    def ids(r):
        return [x.get("id") for x in (r.json or {}).get("jobs", [])] if r.status == 200 else r.status

    r = req("GET", f"/v1/jobs?user={q(user)}")
    T.eq(ids(r), order, "user filter, newest first, id DESC on equal start", r)
    T.eq(((r.json or {}).get("total"), (r.json or {}).get("limit"), (r.json or {}).get("offset")),
         (5, 100, 0), "total 5, default limit 100, offset 0", r)
    T.ok(all(isinstance(x, dict) and not [k for k in JOB_KEYS if k not in x]
             for x in (r.json or {}).get("jobs", [])), "list items are full job objects", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&state=completed")
    T.eq(ids(r), [a], "state=completed", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&state=failed")
    T.eq(ids(r), [b], "state=failed", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&state=running")
    T.eq(ids(r), [e, d, c], "state=running", r)
    r = req("GET", f"/v1/jobs?node={q(n1)}")
    T.eq(ids(r), [o, b], "node=<x1> matches exactly (not <x10>), across users", r)
    r2 = req("GET", f"/v1/jobs?node={q(n1)}&user={q(user)}")
    T.eq(ids(r2), [b], "node=<x1>&user: only the job on x1", r2)
    r = req("GET", f"/v1/jobs?node={q(n10)}")
    T.eq(ids(r), [a], "node=<x10> only the job on x10", r)
    r = req("GET", f"/v1/jobs?node={q(n1[:-1])}")
    T.eq(ids(r), [], "node prefix matches nothing", r)
    r = req("GET", f"/v1/jobs?account={q(acct)}&user={q(user)}")
    T.eq(ids(r), [b, a], "account filter", r)
    r = req("GET", f"/v1/jobs?partition={q(part)}")
    T.eq(ids(r), [o, c, a], "partition filter", r)
    r = req("GET", f"/v1/jobs?partition={q(part)}&account={q(acct)}")
    T.eq((r.json or {}).get("total"), 2, "partition+account combine (AND)", r)
    since, until = iso(t[1] + dt.timedelta(minutes=30)), iso(t[3] - dt.timedelta(minutes=30))
    r = req("GET", f"/v1/jobs?user={q(user)}&since={q(since)}&until={q(until)}")
    T.eq(ids(r), [c], "since/until window", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&since={q(since)}")
    T.eq(ids(r), [e, d, c], "since only", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&until={q(until)}")
    T.eq(ids(r), [c, b, a], "until only", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&since={q(iso(t[2]))}&until={q(iso(t[2]))}")
    T.eq(ids(r), [c], "since/until inclusive", r)
    sz = t[1].astimezone(dt.timezone(dt.timedelta(hours=-5))).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    r = req("GET", f"/v1/jobs?user={q(user)}&since={q(sz)}&until={q(sz)}")
    T.eq(ids(r), [b], "since/until with a -05:00 offset", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&limit=2")
    T.eq((ids(r), (r.json or {}).get("total"), (r.json or {}).get("limit")), (order[:2], 5, 2),
         "limit=2: first two, total before limit", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&limit=2&offset=2")
    T.eq((ids(r), (r.json or {}).get("offset")), (order[2:4], 2), "offset=2", r)
    r = req("GET", f"/v1/jobs?user={q(user)}&offset=10")
    T.eq((ids(r), (r.json or {}).get("total")), ([], 5), "offset past the end: empty, total", r)
    r = req("GET", "/v1/jobs?limit=1000")
    T.eq((r.status, (r.json or {}).get("limit")), (200, 1000), "limit=1000 ok", r)
    r = req("GET", "/v1/jobs?limit=1")
    T.eq((r.status, len((r.json or {}).get("jobs", [])) if r.status == 200 else None), (200, 1),
         "limit=1 ok", r)
    r = req("GET", "/v1/jobs?offset=10000000")
    T.eq(r.status, 200, "offset=10000000 ok", r)
    for qs, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-1", "limit"),
                      ("limit=abc", "limit"), ("limit=", "limit"), ("limit=1.5", "limit"),
                      ("offset=-1", "offset"), ("offset=10000001", "offset"),
                      ("offset=x", "offset"), ("state=bogus", "state"),
                      ("since=yesterday", "since"), ("until=2026-02-30T00:00:00Z", "until"),
                      ("since=2026-01-02T03:04:05", "since"), ("foo=1", "foo")):
        r = req("GET", f"/v1/jobs?{qs}")
        expect_error(r, 400, "validation_error", field, f"GET /v1/jobs?{qs[:30]}")
    r = req("GET", f"/v1/jobs?user={q(chr(39) + ' OR 1=1 --')}")
    T.eq((r.status, ids(r), (r.json or {}).get("total")), (200, [], 0),
         "user=' OR 1=1 -- matches nothing", r)
    r = req("GET", f"/v1/jobs?user={q(chr(39) + '; DELETE FROM jobs; --')}")
    T.eq((r.status, (r.json or {}).get("total")), (200, 0), "user='; DELETE ... matches nothing", r)
    r = req("GET", f"/v1/jobs?user={q('%')}")
    T.eq((r.status, (r.json or {}).get("total")), (200, 0), "user=% is not a wildcard", r)
    # node is a host name: metacharacters are rejected up front, naming the parameter
    r = req("GET", f"/v1/jobs?node={q(chr(39) + ' OR 1=1 --')}")
    T.eq((r.status, (r.json or {}).get("field")), (400, "node"),
         "node=' OR 1=1 -- rejected as not a host name", r)
    r = req("GET", f"/v1/jobs?user={q(user)}")
    T.eq((r.json or {}).get("total"), 5, "jobs intact after injection attempts", r)


def g_crud():
    jid = new_id()
    nodes = ["cr001", "cr002"]
    body = {"id": jid, "user": "carol", "nodes": nodes, "partition": "cpu", "account": "phys",
            "allocated_cpus": 4, "allocated_memory_mb": 8192, "allocated_gpus": 0,
            "gpu_vendor": "none", "cgroup_path": "/sys/fs/cgroup/job_x",
            "start_time": iso(ago(minutes=20))}
    h = dict(AUDIT, **{"X-Correlation-Id": f"post-{jid}"})
    r = req("POST", "/v1/jobs", body, headers=h)
    T.eq(r.status, 201, "POST /v1/jobs -> 201", r)
    T.eq(r.headers.get("location"), f"/v1/jobs/{jid}", "Location header", r)
    rj = r.json or {}
    T.eq((rj.get("id"), rj.get("user"), rj.get("nodes"), rj.get("state"), rj.get("start_time"),
          rj.get("allocated_cpus"), rj.get("account")),
         (jid, "carol", nodes, "running", norm(ago(minutes=20)), 4, "phys"),
         "POST body is the created job", r)
    r = req("POST", "/v1/jobs", body, headers=AUDIT)
    expect_error(r, 409, "conflict", None, "duplicate POST /v1/jobs")
    g = get_job(jid)
    T.eq((g.status, (g.json or {}).get("user")), (200, "carol"), "GET after POST", g)

    jid_p = new_id()
    r = req("POST", "/v1/jobs", {"id": jid_p, "user": "p", "nodes": ["c1"], "state": "pending"},
            headers=AUDIT)
    T.eq((r.status, (r.json or {}).get("state")), (201, "pending"), "POST state pending", r)
    T.ok(TS_RE.match(str((r.json or {}).get("start_time"))),
         "POST without start_time: defaults to now", r)

    for desc, b in (("missing id", {"user": "x", "nodes": ["c1"]}),
                    ("missing user", {"id": new_id(), "nodes": ["c1"]}),
                    ("missing nodes", {"id": new_id(), "user": "x"}),
                    ("empty nodes", {"id": new_id(), "user": "x", "nodes": []}),
                    ("bad id", {"id": "a/b", "user": "x", "nodes": ["c1"]}),
                    ("bad state", {"id": new_id(), "user": "x", "nodes": ["c1"],
                                   "state": "paused"}),
                    ("unknown key", {"id": new_id(), "user": "x", "nodes": ["c1"], "zzz": 1})):
        r = req("POST", "/v1/jobs", b, headers=AUDIT)
        f = {"missing id": "id", "missing user": "user", "missing nodes": "nodes",
             "empty nodes": "nodes", "bad id": "id", "bad state": "state",
             "unknown key": "zzz"}[desc]
        expect_error(r, 400, "validation_error", f, f"POST /v1/jobs {desc}")

    for hdr in ("X-Changed-By", "X-Source"):
        nid = new_id()
        hh = {k: v for k, v in AUDIT.items() if k != hdr}
        r = req("POST", "/v1/jobs", {"id": nid, "user": "x", "nodes": ["c1"]}, headers=hh)
        expect_error(r, 400, "validation_error", hdr, f"POST /v1/jobs without {hdr}")
        T.eq(get_job(nid).status, 404, f"without {hdr}: nothing created", r)
        hh = dict(AUDIT, **{hdr: "   "})
        r = req("POST", "/v1/jobs", {"id": nid, "user": "x", "nodes": ["c1"]}, headers=hh)
        expect_error(r, 400, "validation_error", hdr, f"POST /v1/jobs with blank {hdr}")
        T.eq(get_job(nid).status, 404, f"blank {hdr}: nothing created", r)

    r = get_job(new_id())
    expect_error(r, 404, "not_found", None, "GET absent job")
    r = req("GET", "/v1/jobs/" + q("a/b"))
    T.ok(r.status in (400, 404) and r.err() in ("not_found", "validation_error"),
         "GET /v1/jobs/a%2Fb -> 404 or 400 JSON", r)

    # PATCH
    hp = dict(AUDIT, **{"X-Correlation-Id": f"patch-{jid}"})
    r = req("PATCH", f"/v1/jobs/{qp(jid)}", {"cpu_usage": 55.5, "memory_usage_mb": 1024.25,
                                            "gpu_usage": 12}, headers=hp)
    rj = r.json or {}
    T.eq((r.status, rj.get("cpu_usage"), rj.get("memory_usage_mb"), rj.get("gpu_usage"),
          rj.get("state")), (200, 55.5, 1024.25, 12, "running"), "PATCH usage -> 200 job", r)
    for desc, b, f in (("empty object", {}, None), ("cpu_usage 101", {"cpu_usage": 101}, "cpu_usage"),
                       ("cpu_usage -1", {"cpu_usage": -1}, "cpu_usage"),
                       ("gpu_usage 100.5", {"gpu_usage": 100.5}, "gpu_usage"),
                       ("state bogus", {"state": "bogus"}, "state"),
                       ("unknown key", {"user": "mallory"}, "user")):
        r = req("PATCH", f"/v1/jobs/{qp(jid)}", b, headers=AUDIT)
        expect_error(r, 400, "validation_error", f, f"PATCH {desc}")
    r = req("PATCH", f"/v1/jobs/{qp(jid)}", {"cpu_usage": 1}, headers={"X-Source": "t"})
    expect_error(r, 400, "validation_error", "X-Changed-By", "PATCH without X-Changed-By")
    T.eq((get_job(jid).json or {}).get("cpu_usage"), 55.5, "rejected PATCHes changed nothing")
    r = req("PATCH", f"/v1/jobs/{qp(new_id())}", {"cpu_usage": 1}, headers=AUDIT)
    expect_error(r, 404, "not_found", None, "PATCH absent job")
    r = req("PATCH", f"/v1/jobs/{qp(jid)}", {"state": "completed"}, headers=hp)
    rj = r.json or {}
    T.eq((r.status, rj.get("state")), (200, "completed"), "PATCH state completed", r)
    T.ok(TS_RE.match(str(rj.get("end_time"))) and isinstance(rj.get("runtime_seconds"), (int, float)),
         "PATCH to a final state sets end_time and runtime_seconds", r)
    r = req("PATCH", f"/v1/jobs/{qp(jid)}", {"cpu_usage": 10}, headers=AUDIT)
    expect_error(r, 409, "conflict", None, "PATCH on a finished job")
    r = req("PATCH", f"/v1/jobs/{qp(jid)}", {"state": "running"}, headers=AUDIT)
    expect_error(r, 409, "conflict", None, "PATCH reopening a finished job")

    # DELETE
    r = req("DELETE", f"/v1/jobs/{qp(jid)}", headers={"X-Changed-By": "x"})
    expect_error(r, 400, "validation_error", "X-Source", "DELETE without X-Source")
    T.eq(get_job(jid).status, 200, "rejected DELETE kept the job")
    hd = dict(AUDIT, **{"X-Correlation-Id": f"delete-{jid}"})
    r = req("DELETE", f"/v1/jobs/{qp(jid)}", headers=hd)
    T.eq((r.status, r.body), (204, b""), "DELETE -> 204 without body", r)
    T.eq(r.headers.get("x-correlation-id"), f"delete-{jid}", "DELETE echoes X-Correlation-Id", r)
    r = get_job(jid)
    expect_error(r, 404, "not_found", None, "GET after DELETE")
    r = req("DELETE", f"/v1/jobs/{qp(jid)}", headers=AUDIT)
    expect_error(r, 404, "not_found", None, "DELETE again")
    r = req("DELETE", f"/v1/jobs/{qp(new_id())}", headers=AUDIT)
    expect_error(r, 404, "not_found", None, "DELETE absent job")

    # audit log
    try:
        rows = [tuple(l.split("|")) for l in psql("audit_rows", id=jid).splitlines() if l]
        want = [("api-tester", "api_test.py", f"post-{jid}"),
                ("api-tester", "api_test.py", f"patch-{jid}"),
                ("api-tester", "api_test.py", f"delete-{jid}")]
        T.ok(all(w in rows for w in want), "audit_log has POST, PATCH and DELETE rows with "
             "changed_by, source, correlation id", why=f"rows: {rows}")
        T.eq(sum(1 for x in rows if x[2] == f"patch-{jid}"), 2, "one audit row per PATCH",
             why=f"rows: {rows}")
        n = [x for x in rows if x[2] not in (f"post-{jid}", f"patch-{jid}", f"delete-{jid}")]
        T.ok(all(HEX32_RE.match(x[2]) for x in n),
             "other audit rows carry generated correlation ids", why=f"rows: {n}")
        T.eq(psql("audit_rows", id=jid_p).count("|"), 2,
             "POST without X-Correlation-Id audited once")
    except Exception as e:
        T.ok(False, "audit_log query", why=str(e))


def g_samples():
    jid = new_id()
    st = ago(minutes=50)
    started(jid, nodes=["sm01", "sm02"], ts=iso(st))
    t1 = st + dt.timedelta(minutes=1)
    r = sample(jid, cpu_usage=50, memory_usage_mb=1024, gpu_usage=10, node="sm01",
               timestamp=iso(t1))
    T.eq((r.status, r.json), (201, {"job_id": jid, "timestamp": norm(t1), "node": "sm01",
                                    "stored": True}), "new sample -> 201 stored:true", r)
    g0 = get_job(jid)
    r = sample(jid, cpu_usage=50, memory_usage_mb=1024, gpu_usage=10, node="sm01",
               timestamp=iso(t1))
    T.eq((r.status, (r.json or {}).get("stored")), (200, False), "same sample again -> 200 "
         "stored:false", r)
    r = sample(jid, cpu_usage=99, memory_usage_mb=4096, gpu_usage=90, node="sm01",
               timestamp=norm(t1))
    T.eq((r.status, (r.json or {}).get("stored")), (200, False),
         "same (job,node,timestamp) with other values -> stored:false", r)
    g1 = get_job(jid)
    keys = ("sample_count", "avg_cpu_usage", "max_cpu_usage", "max_memory_usage_mb",
            "avg_gpu_usage", "max_gpu_usage", "cpu_usage", "memory_usage_mb", "last_sample_at")
    T.eq({k: (g1.json or {}).get(k) for k in keys}, {k: (g0.json or {}).get(k) for k in keys},
         "duplicates change no aggregate", g1)
    T.eq({k: (g1.json or {}).get(k) for k in keys[:3]}, {"sample_count": 1, "avg_cpu_usage": 50,
                                                         "max_cpu_usage": 50},
         "aggregates after one sample", g1)
    try:
        T.eq(pg_int("samples_count", id=jid), 1, "one sample row in PostgreSQL")
    except Exception as e:
        T.ok(False, "psql samples", why=str(e))
    r = sample(jid, cpu_usage=50, memory_usage_mb=1024, node="sm02", timestamp=iso(t1))
    T.eq((r.status, (r.json or {}).get("stored")), (201, True),
         "same timestamp on another node is a new sample", r)

    # defaults: node = first node, timestamp = now
    r = sample(jid, cpu_usage=5, memory_usage_bytes=0, timestamp=iso(st + dt.timedelta(minutes=2)))
    T.eq((r.status, (r.json or {}).get("node")), (201, "sm01"), "sample without node -> first node", r)
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=60)
    r = sample(jid, cpu_usage=6, memory_usage_mb=1)
    ts = (r.json or {}).get("timestamp", "")
    T.ok(r.status == 201 and TS_RE.match(ts or "") and
         before <= parse_ts(ts) <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=60),
         "sample without timestamp -> server time", r)

    # bounds
    for desc, b, f in (("cpu_usage 101", {"cpu_usage": 101, "memory_usage_mb": 1}, "cpu_usage"),
                       ("cpu_usage -1", {"cpu_usage": -1, "memory_usage_mb": 1}, "cpu_usage"),
                       ("cpu_usage string", {"cpu_usage": "5", "memory_usage_mb": 1}, "cpu_usage"),
                       ("missing cpu_usage", {"memory_usage_mb": 1}, "cpu_usage"),
                       ("gpu_usage 100.5", {"cpu_usage": 1, "memory_usage_mb": 1,
                                            "gpu_usage": 100.5}, "gpu_usage"),
                       ("memory_usage_mb -1", {"cpu_usage": 1, "memory_usage_mb": -1},
                        "memory_usage_mb"),
                       ("memory_usage_bytes -5", {"cpu_usage": 1, "memory_usage_bytes": -5},
                        "memory_usage_bytes"),
                       ("bad node", {"cpu_usage": 1, "memory_usage_mb": 1, "node": "a b"}, "node"),
                       ("bad timestamp", {"cpu_usage": 1, "memory_usage_mb": 1,
                                          "timestamp": "2026-02-30T00:00:00Z"}, "timestamp"),
                       ("unknown key", {"cpu_usage": 1, "memory_usage_mb": 1, "disk": 3}, "disk")):
        r = sample(jid, **b)
        expect_error(r, 400, "validation_error", f, f"sample {desc}")
    r = sample(jid, cpu_usage=1)
    T.ok(is_error(r, 400, "validation_error") and
         str(r.field()) in ("memory_usage_mb", "memory_usage_bytes"),
         "sample without memory -> 400 naming a memory field", r)
    r = req("POST", f"/v1/jobs/{qp(jid)}/metrics", raw=b"[1,2]")
    expect_error(r, 400, "invalid_request", None, "sample JSON array")
    r = sample(new_id(), cpu_usage=1, memory_usage_mb=1)
    expect_error(r, 404, "not_found", None, "sample for unknown job")
    r = req("GET", f"/v1/jobs/{qp(new_id())}/metrics")
    expect_error(r, 404, "not_found", None, "GET metrics of unknown job")

    # finished job -> 409, nothing stored
    jf = new_id()
    started(jf, ts=iso(ago(minutes=30)))
    finished(jf, ts=iso(ago(minutes=1)), exit_code=0)
    r = sample(jf, cpu_usage=1, memory_usage_mb=1, timestamp=iso(ago(minutes=5)))
    expect_error(r, 409, "conflict", None, "sample for a finished job")
    g = get_job(jf)
    T.eq((g.json or {}).get("sample_count"), 0, "409 sample: nothing stored (sample_count)", g)
    r = req("GET", f"/v1/jobs/{qp(jf)}/metrics")
    T.eq((r.status, (r.json or {}).get("total"), (r.json or {}).get("samples")), (200, 0, []),
         "409 sample: nothing stored (GET metrics)", r)

    # listing and filters
    jl = new_id()
    s0 = ago(minutes=40)
    started(jl, nodes=["la01", "la02"], ts=iso(s0))
    pts = [(s0 + dt.timedelta(minutes=k + 1), "la01" if k % 2 == 0 else "la02", 10.0 * k)
           for k in range(6)]
    for k, (t, n, c) in reversed(list(enumerate(pts))):  # posted newest first
        sample(jl, cpu_usage=c, memory_usage_bytes=(k + 1) * MIB + MIB // 2, node=n,
               timestamp=iso(t))
    r = req("GET", f"/v1/jobs/{qp(jl)}/metrics")
    rj = r.json or {}
    got = [(s.get("timestamp"), s.get("node"), s.get("cpu_usage")) for s in rj.get("samples", [])]
    T.eq((r.status, rj.get("job_id"), rj.get("total")), (200, jl, 6), "GET metrics, no params", r)
    T.eq(got, [(norm(t), n, c) for t, n, c in pts], "samples ascending by timestamp", r)
    smp = rj.get("samples") or [{}]
    T.ok(all(set(s) >= {"timestamp", "node", "cpu_usage", "memory_usage_bytes",
                        "memory_usage_mb", "gpu_usage"} for s in smp), "sample objects complete", r)
    T.ok(all(isinstance(s.get("memory_usage_bytes"), int) and
             close(s.get("memory_usage_mb"), s["memory_usage_bytes"] / MIB) for s in smp),
         "memory_usage_mb = memory_usage_bytes / 1048576", r)
    T.eq(smp[0].get("memory_usage_bytes"), MIB + MIB // 2, "memory_usage_bytes stored exactly", r)
    T.ok(close(smp[0].get("memory_usage_mb"), 1.5), "1.5 MiB reported as 1.5", r)
    T.eq(smp[0].get("gpu_usage"), None, "absent gpu_usage is null", r)
    r = req("GET", f"/v1/jobs/{qp(jl)}/metrics?node=la02")
    T.eq([s.get("timestamp") for s in (r.json or {}).get("samples", [])],
         [norm(t) for t, n, _ in pts if n == "la02"], "node filter", r)
    a_, b_ = pts[1][0] - dt.timedelta(seconds=30), pts[4][0] - dt.timedelta(seconds=30)
    r = req("GET", f"/v1/jobs/{qp(jl)}/metrics?start_time={q(iso(a_))}&end_time={q(iso(b_))}")
    T.eq(([s.get("timestamp") for s in (r.json or {}).get("samples", [])], (r.json or {}).get("total")),
         ([norm(t) for t, _, _ in pts[1:4]], 3), "start_time/end_time window", r)
    r = req("GET", f"/v1/jobs/{qp(jl)}/metrics?limit=2")
    T.eq(([s.get("timestamp") for s in (r.json or {}).get("samples", [])], (r.json or {}).get("total")),
         ([norm(t) for t, _, _ in pts[:2]], 6), "limit=2: two oldest, total before limit", r)
    r = req("GET", f"/v1/jobs/{qp(jl)}/metrics?limit=10000&node=la01&start_time={q(iso(s0))}")
    T.eq((r.status, (r.json or {}).get("total")), (200, 3), "limit=10000 + filters", r)
    for qs, f in (("limit=0", "limit"), ("limit=10001", "limit"), ("limit=x", "limit"),
                  ("start_time=nope", "start_time"), ("end_time=2026-01-01T00:00:00", "end_time"),
                  ("foo=bar", "foo")):
        r = req("GET", f"/v1/jobs/{qp(jl)}/metrics?{qs}")
        expect_error(r, 400, "validation_error", f, f"GET metrics?{qs}")

    # exact aggregates under concurrency
    ja = new_id()
    sa = ago(minutes=45)
    started(ja, nodes=["ag01"], ts=iso(sa))
    cpu = [1.5 * k for k in range(20)]               # 0 .. 28.5
    mem = [256 * (k + 1) for k in range(20)]         # MiB
    gpu = [(k * 7) % 100 for k in range(20)]
    res = parallel(20, lambda k: sample(ja, cpu_usage=cpu[k], memory_usage_mb=mem[k],
                                        gpu_usage=gpu[k], node="ag01",
                                        timestamp=iso(sa + dt.timedelta(seconds=10 * (k + 1)))))
    T.ok(all(isinstance(x, Resp) and x.status == 201 for x in res), "20 concurrent samples -> 201",
         *[x for x in res if isinstance(x, Resp) and x.status != 201][:3])
    g = get_job(ja)
    gj = g.json or {}
    T.eq(gj.get("sample_count"), 20, "sample_count 20", g)
    T.ok(close(gj.get("avg_cpu_usage"), sum(cpu) / 20), f"avg_cpu_usage = {sum(cpu) / 20}", g)
    T.eq(gj.get("max_cpu_usage"), max(cpu), "max_cpu_usage exact", g)
    T.ok(close(gj.get("max_memory_usage_mb"), max(mem)), "max_memory_usage_mb exact", g)
    T.ok(close(gj.get("avg_gpu_usage"), sum(gpu) / 20), "avg_gpu_usage exact", g)
    T.eq(gj.get("max_gpu_usage"), max(gpu), "max_gpu_usage exact", g)
    T.eq((gj.get("cpu_usage"), gj.get("last_sample_at")),
         (cpu[19], norm(sa + dt.timedelta(seconds=200))), "latest sample is the newest timestamp", g)
    T.ok(close(gj.get("memory_usage_mb"), mem[19]), "memory_usage_mb is the latest sample's", g)


# ---------------------------------------------------------------------------------------------
# /metrics
# ---------------------------------------------------------------------------------------------
def parse_prom(text):
    """Parses the text exposition format.  Returns (helps, types, samples, errors);
    samples: list of (name, labels dict, value string)."""
    helps, types, samples, errors = {}, {}, [], []
    name_re = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    lname_re = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
    for ln, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$", line)
            if m:
                (helps if m.group(1) == "HELP" else types)[m.group(2)] = m.group(3)
            continue
        m = name_re.match(line)
        if not m:
            errors.append(f"line {ln}: no metric name: {line[:120]!r}")
            continue
        name, i, labels = m.group(0), m.end(), {}
        if i < len(line) and line[i] == "{":
            i += 1
            while i < len(line) and line[i] != "}":
                lm = lname_re.match(line, i)
                if not lm or line[lm.end():lm.end() + 2] != '="':
                    errors.append(f"line {ln}: bad label at {i}: {line[:160]!r}")
                    break
                i = lm.end() + 2
                val = []
                while i < len(line) and line[i] != '"':
                    if line[i] == "\\" and i + 1 < len(line):
                        if line[i + 1] not in 'n\\"':
                            errors.append(f"line {ln}: invalid escape \\{line[i + 1]} in label "
                                          f"value: {line[:160]!r}")
                        val.append({"n": "\n", "\\": "\\", '"': '"'}.get(line[i + 1],
                                                                      "\\" + line[i + 1]))
                        i += 2
                    else:
                        val.append(line[i])
                        i += 1
                labels[lm.group(0)] = "".join(val)
                i += 1
                if i < len(line) and line[i] == ",":
                    i += 1
            if i >= len(line) or line[i] != "}":
                errors.append(f"line {ln}: unterminated labels: {line[:160]!r}")
                continue
            i += 1
        rest = line[i:].split()
        if not rest or len(rest) > 2:
            errors.append(f"line {ln}: bad value part: {line[:160]!r}")
            continue
        try:
            float(rest[0])
        except ValueError:
            errors.append(f"line {ln}: bad value {rest[0]!r}")
            continue
        samples.append((name, labels, rest[0]))
    return helps, types, samples, errors


GUIDE_JOB = ["hpc_job_runtime_seconds", "hpc_job_cpu_usage_percent", "hpc_job_memory_usage_bytes",
             "hpc_job_gpu_usage_percent"]
GUIDE_GPU = ["hpc_job_gpu_device_utilization_percent", "hpc_job_gpu_device_memory_used_bytes",
             "hpc_job_gpu_device_power_watts", "hpc_job_gpu_device_temperature_celsius"]
GUIDE_NODE = ["hpc_node_cpu_usage_percent", "hpc_node_memory_usage_bytes", "hpc_node_job_count"]


def family_of(name, types):
    if name in types:
        return name
    for suf in ("_bucket", "_sum", "_count", "_total", "_created", "_info"):
        if name.endswith(suf) and name[:-len(suf)] in types:
            return name[:-len(suf)]
    return None


def g_prometheus():
    # fixtures: a running job with a hostile user, a GPU sample, a node sample, a job that just
    # finished, a job that finished an hour ago
    run = new_id()
    esc_user = 'esc"quote\\back'
    started(run, user=esc_user, nodes=["pm01", "pm02"], ts=iso(ago(minutes=10)), gpu_vendor="nvidia",
            gpu_devices=["0"])
    sample(run, cpu_usage=37.5, memory_usage_mb=512, gpu_usage=64, node="pm01",
           timestamp=iso(ago(minutes=1)))
    just = new_id()
    started(just, user="justdone", nodes=["pm03"], ts=iso(ago(minutes=10)))
    sample(just, cpu_usage=12.5, memory_usage_mb=64, node="pm03", timestamp=iso(ago(minutes=2)))
    r = finished(just, ts=iso(dt.datetime.now(dt.timezone.utc).replace(microsecond=0)),
                 exit_code=0)
    T.eq((r.json or {}).get("status"), "updated", "fixture: just-finished job", r)
    old = new_id()
    started(old, user="longgone", nodes=["pm04"], ts=iso(ago(hours=2)))
    sample(old, cpu_usage=3, memory_usage_mb=1, node="pm04", timestamp=iso(ago(minutes=90)))
    finished(old, ts=iso(ago(hours=1)), exit_code=0)
    node = new_name("pmn")
    try:
        psql("gpu_sample_insert", job_id=run, node="pm01", gpu_id="0", vendor="nvidia",
             util=77.5, mem=1073741824, power=250.5, temp=65)
        psql("node_sample_insert", node=node, cpu=42.5, mem=123456789, jobs=3)
        fixtures = True
    except Exception as e:
        fixtures = False
        T.ok(False, "insert gpu/node samples with psql", why=str(e))

    r = req("GET", "/metrics")
    T.eq(r.status, 200, "GET /metrics -> 200", r)
    ct = r.headers.get("content-type", "")
    T.ok(ct.startswith("text/plain") and "version=0.0.4" in ct.replace(" ", ""),
         "Content-Type text/plain; version=0.0.4", why=f"Content-Type: {ct!r}")
    try:
        text = r.body.decode("utf-8")
    except UnicodeDecodeError as e:
        text = r.body.decode("utf-8", "replace")
        T.ok(False, "/metrics is UTF-8", why=str(e))
    helps, types, samples, errors = parse_prom(text)
    T.ok(not errors, "/metrics parses (own parser)", why="\n".join(errors[:10]))
    T.ok(text.endswith("\n"), "/metrics ends with a newline")
    for fam in GUIDE_JOB + GUIDE_GPU + GUIDE_NODE + ["hpc_jobs", "hjo_http_requests_total",
                                                      "hjo_build_info", "hjo_scrape_duration_seconds"]:
        T.ok(fam in helps and helps[fam].strip() and fam in types,
             f"HELP and TYPE lines for {fam}", why=f"help={helps.get(fam)!r} type={types.get(fam)!r}")
    T.eq(types.get("hjo_http_requests_total"), "counter", "hjo_http_requests_total is a counter")
    T.ok(all(types.get(f) == "gauge" for f in GUIDE_JOB + GUIDE_GPU + GUIDE_NODE),
         "guide families are gauges", why=str({f: types.get(f) for f in GUIDE_JOB + GUIDE_GPU + GUIDE_NODE}))
    undeclared = sorted({n for n, _, _ in samples if family_of(n, types) is None})
    T.ok(not undeclared, "every sample's family has # TYPE", why=str(undeclared[:10]))
    nohelp = sorted({family_of(n, types) for n, _, _ in samples
                     if family_of(n, types) and family_of(n, types) not in helps})
    T.ok(not nohelp, "every sample's family has # HELP", why=str(nohelp[:10]))
    seen, dups = set(), []
    for n, l, _ in samples:
        key = (n, tuple(sorted(l.items())))
        if key in seen:
            dups.append(key)
        seen.add(key)
    T.ok(not dups, "no duplicate series", why=str(dups[:5]))

    def find(name, **lbl):
        return [(l, v) for n, l, v in samples if n == name and all(l.get(k) == x for k, x in lbl.items())]

    # per-job series of the running job
    rs = find("hpc_job_runtime_seconds", job_id=run)
    T.ok(rs and all(set(l) >= {"job_id", "user", "node"} for l, _ in rs),
         "running job has hpc_job_runtime_seconds{job_id,user,node}", why=str(rs))
    T.ok(rs and all(400 <= float(v) <= 600 + 900 for _, v in rs),
         "runtime_seconds ~ now - start", why=str(rs))
    cu = find("hpc_job_cpu_usage_percent", job_id=run)
    T.ok(cu and any(float(v) == 37.5 for _, v in cu), "hpc_job_cpu_usage_percent = 37.5",
         why=str(cu))
    mu = find("hpc_job_memory_usage_bytes", job_id=run)
    T.ok(mu and any(float(v) == 512 * MIB for _, v in mu), "hpc_job_memory_usage_bytes = 512 MiB",
         why=str(mu))
    gu = find("hpc_job_gpu_usage_percent", job_id=run)
    T.ok(gu and any(float(v) == 64 for _, v in gu), "hpc_job_gpu_usage_percent = 64", why=str(gu))

    # label escaping
    T.ok(rs and all(l.get("user") == esc_user for l, _ in rs),
         "user label round-trips with \" and \\", why=str(rs))
    T.ok('user="esc\\"quote\\\\back"' in text, 'user label escaped as esc\\"quote\\\\back',
         why="\n".join(x for x in text.split("\n") if run in x)[:600])

    # grace period
    T.ok(any(l.get("job_id") == just for n, l, _ in samples if n.startswith("hpc_job_")),
         "a just-finished job still appears in per-job series")
    olds = [(n, l) for n, l, _ in samples if n.startswith("hpc_job_") and l.get("job_id") == old]
    T.ok(not olds, "a job finished an hour ago is absent from per-job series", why=str(olds[:3]))

    # per-GPU and node series
    if fixtures:
        for fam, want in zip(GUIDE_GPU, (77.5, 1073741824, 250.5, 65)):
            s = find(fam, job_id=run)
            T.ok(s and all(set(l) >= {"job_id", "node", "gpu_vendor", "gpu_id"} for l, _ in s)
                 and any(l.get("gpu_vendor") == "nvidia" and l.get("gpu_id") == "0"
                         and l.get("node") == "pm01" and float(v) == want for l, v in s),
                 f"{fam}{{job_id,node,gpu_vendor=nvidia,gpu_id=0}} = {want}", why=str(s))
        for fam, want in zip(GUIDE_NODE, (42.5, 123456789, 3)):
            s = find(fam, node=node)
            T.ok(len(s) == 1 and float(s[0][1]) == want and set(s[0][0]) == {"node"},
                 f"{fam}{{node}} = {want}", why=str(s))
    st = {l.get("state"): float(v) for n, l, v in samples if n == "hpc_jobs"}
    T.ok(st.get("running", 0) >= 1 and st.get("completed", 0) >= 1,
         "hpc_jobs{state} counts running and completed", why=str(st))
    rq = [l for n, l, _ in samples if n == "hjo_http_requests_total"]
    T.ok(rq and all(set(l) >= {"route", "method", "code"} for l in rq),
         "hjo_http_requests_total{route,method,code}", why=str(rq[:3]))
    bi = find("hjo_build_info")
    T.ok(len(bi) == 1 and "version" in bi[0][0] and float(bi[0][1]) == 1,
         "hjo_build_info{version} 1", why=str(bi))

    # promtool
    path = os.path.join(TMP, f"metrics-{BASE}.txt")
    with open(path, "wb") as f:
        f.write(r.body)
    try:
        with open(path, "rb") as f:
            p = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True,
                               timeout=60)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        lines = [x for x in out.splitlines() if x.strip()]
        bad = [x for x in lines if not ("hpc_node_job_count" in x and "_count" in x
                                        and "suffix" in x)]
        T.ok(p.returncode in (0, 3) and not bad if lines else p.returncode == 0,
             "promtool check metrics: no finding except hpc_node_job_count's _count suffix",
             why=f"rc={p.returncode} page saved as {path}\n{out[:2000]}")
    except FileNotFoundError:
        T.ok(False, "promtool available", why="promtool not found (Debian package prometheus)")

    # a second scrape counts the first one
    r2 = req("GET", "/metrics")
    _, _, s2, _ = parse_prom(r2.body.decode("utf-8", "replace"))
    tot = lambda ss: sum(float(v) for n, l, v in ss if n == "hjo_http_requests_total")
    T.ok(tot(s2) > tot(samples), "hjo_http_requests_total grows between scrapes",
         why=f"{tot(samples)} -> {tot(s2)}")


def _psql_argv(stmt):
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", stmt]
    for opt, k in (("-h", "host"), ("-p", "port"), ("-d", "db"), ("-U", "user")):
        if PG[k]:
            cmd[1:1] = [opt, PG[k]]
    return cmd


def g_isolation():
    """A slow query holds one worker only: while a sample request waits on a row lock held by
    another session, the other workers keep answering at once; the statement timeout then
    ends the waiting request with 503 and it writes nothing."""
    timeout_ms = int(os.environ.get("HJO_STATEMENT_TIMEOUT_MS", "5000"))
    hold_s = timeout_ms / 1000.0 + 1.5
    jid = new_id()
    r = started(jid, nodes=["iso001"])
    T.eq(r.status, 200, "job created", r)
    marker = f"hjo-isolation-{jid}"
    locker = subprocess.Popen(_psql_argv(
        f"BEGIN; SELECT id FROM jobs WHERE id = '{jid}' FOR UPDATE; "
        f"SELECT pg_sleep({hold_s}) /* {marker} */; COMMIT;"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        n = ""
        deadline = time.time() + 10
        while time.time() < deadline:
            n = subprocess.run(_psql_argv(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                f"AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()"),
                capture_output=True, text=True).stdout.strip()
            if n == "1":
                break
            time.sleep(0.05)
        T.eq(n, "1", "another session holds the job's row lock")

        slow = {}

        def slow_sample():
            t0 = time.time()
            slow["r"] = sample(jid, cpu_usage=10, memory_usage_mb=1, node="iso001",
                               timestamp=iso(ago(seconds=5)))
            slow["t"] = time.time() - t0

        th = threading.Thread(target=slow_sample)
        th.start()
        time.sleep(0.3)  # the sample request is now blocked in its worker
        fast = []
        for i in range(20):
            t0 = time.time()
            rr = req("GET", "/v1/health") if i % 2 == 0 else get_job(jid)
            fast.append((rr.status, round(time.time() - t0, 3)))
        th.join(timeout_ms / 1000.0 + 10)
        T.ok(all(st == 200 for st, _ in fast), "other requests answered while one worker waits",
             why=repr(fast))
        worst = max(t for _, t in fast)
        T.ok(worst < 1.0, f"other requests stay fast while one worker waits (worst {worst:.3f} s)",
             why=repr(fast))
        sr = slow.get("r")
        T.ok(sr is not None and sr.status == 503 and (sr.json or {}).get("error") == "unavailable",
             "the blocked request ends with 503 unavailable at the statement timeout",
             *([sr] if sr else []))
        T.ok(slow.get("t", 99) < timeout_ms / 1000.0 + 1.0,
             f"it ended at the statement timeout ({slow.get('t', 0):.2f} s, limit "
             f"{timeout_ms} ms)")
    finally:
        locker.wait(timeout=hold_s + 10)
    j = get_job(jid)
    T.eq((j.json or {}).get("sample_count"), 0, "the timed-out sample wrote nothing", j)
    r = sample(jid, cpu_usage=10, memory_usage_mb=1, node="iso001", timestamp=iso(ago(seconds=5)))
    T.eq((r.status, (r.json or {}).get("stored")), (201, True),
         "the same sample succeeds once the lock is gone", r)


def _raw_http(data, read_timeout=15.0):
    """Sends raw bytes to nginx and returns (status line, whole answer) — for requests no HTTP
    library would send (bad header bytes, oversized headers, CRLF tricks)."""
    import socket
    sk = socket.create_connection((_u.hostname, _u.port or 80), timeout=read_timeout)
    try:
        sk.sendall(data)
        out = b""
        while True:
            try:
                chunk = sk.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
    finally:
        sk.close()
    first = out.split(b"\r\n", 1)[0].decode("latin-1")
    return first, out


SQLI = ["' OR '1'='1", "'; DROP TABLE jobs; --", "\\'; SELECT pg_sleep(5); --",
        "1) OR (1=1", "\" OR \"\"=\"", "$$; DELETE FROM jobs; $$"]


def g_security():
    """Hostile input on every field and parameter: each answered with the right 4xx (or
    stored literally where the value is legal text), nothing else written, no SQL run."""
    jobs0, audit0 = pg_int("jobs_count"), pg_int("audit_count")
    written = 0

    # SQL injection strings in every string field of every body: legal free text (user,
    # account, partition, cluster) is stored byte-exact; identifiers reject them.
    for i, inj in enumerate(SQLI):
        jid = new_id()
        r = started(jid, user=inj, account=inj, partition=inj, cluster=inj)
        T.eq(r.status, 200, f"injection #{i} in free-text fields is accepted as data", r)
        written += 1
        j = get_job(jid).json or {}
        T.eq((j.get("user"), j.get("account"), j.get("partition"), j.get("cluster_name")),
             (inj, inj, inj, inj), f"injection #{i} stored literally")
        for field, body in (
                ("job_id", {"job_id": inj}),
                ("node_list", {"node_list": [inj]}),
                ("gpu_vendor", {"gpu_vendor": inj}),
                ("gpu_devices", {"gpu_devices": [inj]}),
                ("timestamp", {"timestamp": inj})):
            b = {"job_id": new_id(), "user": "u", "node_list": ["cn1"],
                 "timestamp": iso(ago(minutes=1))}
            b.update(body)
            r = req("POST", "/v1/events/job-started", b)
            expect_error(r, 400, "validation_error", field, f"injection #{i} in {field}")
        r = finished(new_id(), slurm_state=inj)
        expect_error(r, 400, "validation_error", "slurm_state", f"injection #{i} in slurm_state")
        for param in ("state", "node", "since", "until", "limit", "offset", "after"):
            r = req("GET", f"/v1/jobs?{param}={q(inj)}")
            expect_error(r, 400, "validation_error", param, f"injection #{i} in ?{param}")
        # as filters they match literally: exactly the job stored with those values
        r = req("GET", f"/v1/jobs?user={q(inj)}&account={q(inj)}&partition={q(inj)}")
        T.eq(((r.json or {}).get("total"), [x.get("id") for x in (r.json or {}).get("jobs", [])]),
             (1, [jid]), f"injection #{i} in ?user/account/partition matches only literally", r)

    # path traversal and odd ids in the path: never reach the database as anything else
    for path in ("/v1/jobs/..", "/v1/jobs/.", "/v1/jobs/..%2F..%2Fetc%2Fpasswd",
                 "/v1/jobs/%2e%2e", "/v1/jobs/a%00b", "/v1/jobs/" + "a" * 300,
                 "/v1/jobs/slurm-1%27%20OR%201=1", "/v1/jobs/../metrics"):
        r = req("GET", path)
        T.ok(r.status in (400, 404) and json_ct(r), f"GET {path[:40]} -> 400/404 JSON", r)
    r = req("DELETE", "/v1/jobs/..%2F..", headers={"X-Changed-By": "x", "X-Source": "y"})
    T.ok(r.status in (400, 404), "DELETE with a traversal id deletes nothing", r)

    # huge and negative numbers
    for val, why in (("1e999", "overflowing double"), ("99999999999999999999999", "huge int"),
                     ("-1", "negative"), ("1.5", "fraction"), ("\"4\"", "string")):
        raw = ('{"job_id":"%s","user":"u","node_list":["cn1"],"timestamp":"%s",'
               '"cpu_allocation":%s}' % (new_id(), iso(ago(minutes=1)), val)).encode()
        r = req("POST", "/v1/events/job-started", raw=raw)
        T.ok(r.status == 400, f"cpu_allocation {why} -> 400", r)
    for lim in ("-1", "0", "-9223372036854775808", "99999999999999999999", "1e3", "+5"):
        r = req("GET", f"/v1/jobs?limit={q(lim)}")
        expect_error(r, 400, "validation_error", "limit", f"limit={lim}")
    r = req("GET", "/v1/jobs?offset=-5")
    expect_error(r, 400, "validation_error", "offset", "negative offset")

    # JSON nesting bombs and oversize
    for depth in (20, 1000, 100000):
        raw = ("[" * depth + "]" * depth).encode()
        r = req("POST", "/v1/events/job-started", raw=raw)
        T.ok(r.status in (400, 413) and json_ct(r), f"nesting depth {depth} -> 400/413", r)
    raw = ('{"job_id":"%s","user":"u","node_list":["cn1"],"timestamp":"%s","x":%s}'
           % (new_id(), iso(ago(minutes=1)), "[" * 50 + "]" * 50)).encode()
    r = req("POST", "/v1/events/job-started", raw=raw)
    T.eq(r.status, 400, "a deep value inside a valid body -> 400", r)

    # invalid UTF-8 in a query parameter
    r = req("GET", "/v1/jobs?user=%C3%28")
    expect_error(r, 400, "validation_error", "user", "invalid UTF-8 in ?user")

    # header injection: a correlation id with CR/LF is not echoed (a fresh one is made)
    first, out = _raw_http(
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Correlation-Id: abc%0d%0aSet-Cookie: x=1\r\n"
        b"Connection: close\r\n\r\n")
    heads = out.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    T.ok(" 200 " in first + " " and "set-cookie" not in heads,
         "an encoded CRLF in X-Correlation-Id injects no header", why=heads[:600])
    cid = [h for h in heads.split("\r\n") if h.startswith("x-correlation-id:")]
    T.ok(len(cid) == 1 and re.fullmatch(r"x-correlation-id: [0-9a-f]{32}", cid[0]),
         "... and a fresh id is generated instead of echoing it", why=repr(cid))
    first, out = _raw_http(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Source: a\rb\r\n"
                           b"Connection: close\r\n\r\n")
    T.ok(first.startswith("HTTP/1.1 400"), "a bare CR inside a header -> 400 from nginx",
         why=first)

    # oversized headers: one header beyond nginx's 16k buffer, and many headers
    first, out = _raw_http(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000
                           + b"\r\nConnection: close\r\n\r\n")
    T.ok(first.startswith("HTTP/1.1 400") or first.startswith("HTTP/1.1 431")
         or first.startswith("HTTP/1.1 494"), "a 20 kB header is refused", why=first)
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(80))
    first, out = _raw_http(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + many
                           + b"Connection: close\r\n\r\n")
    T.ok(first[9:12] in ("400", "431", "494"), "80 kB of headers are refused", why=first)

    # slow loris: a client that never finishes its headers is cut off by nginx's
    # client_header_timeout (10 s) instead of holding a connection forever
    import socket
    t0 = time.time()
    sk = socket.create_connection((_u.hostname, _u.port or 80), timeout=30)
    closed_after = None
    try:
        sk.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        while time.time() - t0 < 25:
            time.sleep(1)
            try:
                sk.sendall(b"")  # nothing more: the header never ends
                sk.settimeout(0.1)
                if sk.recv(1) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                continue
            except OSError:
                closed_after = time.time() - t0
                break
    finally:
        sk.close()
    T.ok(closed_after is not None and closed_after < 15,
         f"a slow-loris client is dropped by nginx (after {closed_after or 0:.1f} s)")

    # nothing but the accepted literal-injection jobs (and their audit rows) was written
    T.eq((pg_int("jobs_count") - jobs0, pg_int("audit_count") - audit0), (written, written),
         f"only the {written} legal jobs were written")


def g_event_batches():
    """Events that reach a worker together are applied in one transaction (fcgi/evbatch.c,
    sql/0068 hjo_events_apply); each request still gets its own event's answer, an event the
    rules refuse is refused alone, and the audit rows name each request's principal."""
    t0 = ago(minutes=40)
    ids = {k: [new_id(f"eb-{k}-") for _ in range(n)] for k, n in (
        ("run", 20), ("early", 12), ("smp", 8), ("known", 12), ("done", 8), ("new", 60),
        ("unk", 16), ("dup", 10))}
    # the jobs that exist before: started one by one (no batch: nothing else is waiting)
    for k in ("run", "early", "smp", "known", "done"):
        for jid in ids[k]:
            started(jid, nodes=["eb01"], ts=iso(t0), cpu_allocation=4, memory_allocation_mb=4096)
    for jid in ids["done"]:
        finished(jid, ts=iso(t0 + dt.timedelta(minutes=5)), exit_code=0)
    # a control job like the "smp" ones, finished alone (nothing else waiting: the per-event
    # function): its summary is what each of theirs must be, whichever path applies them
    ctl = new_id("eb-ctl-")
    started(ctl, nodes=["eb01"], ts=iso(t0), cpu_allocation=4, memory_allocation_mb=4096)
    for jid in ids["smp"] + [ctl]:
        sample(jid, cpu_usage=50, memory_usage_mb=1024, node="eb01",
               timestamp=iso(t0 + dt.timedelta(minutes=1)))
    fin = iso(t0 + dt.timedelta(minutes=20))
    # a lone start and the control's finish give the per-event functions' messages, which the
    # batch's set-based path must answer too
    lone = new_id("eb-lone-")
    msg = {("job-started", "created"):
           (started(lone, nodes=["eb02"], ts=iso(t0)).json or {}).get("message"),
           ("job-finished", "updated"):
           (finished(ctl, ts=fin, exit_code=0).json or {}).get("message")}
    ops = []  # (job, path, body, expected status, expected "status" or error field)
    for jid in ids["new"]:
        ops.append((jid, "job-started", {"job_id": jid, "user": "eb", "node_list": ["eb02"],
                                         "timestamp": iso(t0)}, 200, "created"))
    for jid in ids["unk"]:
        ops.append((jid, "job-finished", {"job_id": jid, "timestamp": fin, "exit_code": 3},
                    200, "created"))
    for jid in ids["dup"]:
        for _ in range(2):
            ops.append((jid, "job-started", {"job_id": jid, "user": "eb",
                                             "node_list": ["eb03"], "timestamp": iso(t0)},
                        200, None))  # one created, one skipped: checked per job below
    for jid in ids["run"] + ids["smp"]:
        ops.append((jid, "job-finished", {"job_id": jid, "timestamp": fin, "exit_code": 0},
                    200, "updated"))
    for jid in ids["early"]:
        ops.append((jid, "job-finished", {"job_id": jid, "exit_code": 0,
                                          "timestamp": iso(t0 - dt.timedelta(hours=1))},
                    400, "timestamp"))
    for jid in ids["known"]:
        ops.append((jid, "job-started", {"job_id": jid, "user": "eb",
                                         "node_list": ["eb01", "eb04"], "timestamp": iso(t0)},
                    200, "updated"))
    for jid in ids["done"]:
        ops.append((jid, "job-finished", {"job_id": jid, "timestamp": fin, "exit_code": 0},
                    200, "skipped"))
    random.Random(6).shuffle(ops)
    prefix = f"ebt{BASE}-"

    def one(i):
        jid, path, body, _, _ = ops[i]
        return req("POST", f"/v1/events/{path}", body,
                   headers={"X-Correlation-Id": f"{prefix}{i}"})

    res = parallel(len(ops), one)
    bad = []
    dup_st = {}
    for i, (jid, path, body, want, what) in enumerate(ops):
        r = res[i]
        if not isinstance(r, Resp):
            bad.append(f"{jid} {path}: {r!r}")
            continue
        js = r.json if isinstance(r.json, dict) else {}
        if want == 400:
            if not is_error(r, 400, {"validation_error"}, what):
                bad.append(f"{jid} {path}: {r.status} {r.body[:200]!r}")
        elif r.status != 200 or js.get("job_id") != jid or (what and js.get("status") != what):
            bad.append(f"{jid} {path}: {r.status} {r.body[:200]!r} (wanted {what})")
        want_msg = msg.get((path, what))
        if want_msg is not None and js.get("message") != want_msg:
            bad.append(f"{jid} {path}: message {js.get('message')!r}, alone {want_msg!r}")
        if what is None:
            dup_st.setdefault(jid, []).append(js.get("status"))
    T.ok(not bad, f"{len(ops)} concurrent events: each answered with its own event's result "
         "(and the message a lone event gets)",
         why="\n".join(bad[:10]))
    T.ok(all(sorted(v) == ["created", "skipped"] for v in dup_st.values()),
         "a job started twice at once: one 'created', one 'skipped'", why=str(dup_st))
    try:
        brief = {jid: psql("job_brief", id=jid) for k in ids for jid in ids[k]}
        want = {}
        for jid in ids["new"]:
            want[jid] = "running eb02"
        for jid in ids["unk"]:
            want[jid] = "failed  3"
        for jid in ids["dup"]:
            want[jid] = "running eb03"
        for jid in ids["run"] + ids["smp"] + ids["done"]:
            want[jid] = "completed eb01 0"
        for jid in ids["early"]:
            want[jid] = "running eb01"
        for jid in ids["known"]:
            want[jid] = "running eb01,eb04"
        diff = {j: (brief[j], want[j]) for j in want if brief[j] != want[j]}
        T.ok(not diff, "every job row is what its events make of it", why=str(diff)[:1500])
        # each change wrote one audit row, in the transaction that made it; refused and
        # skipped events wrote none
        n_changes = len(ids["new"]) + len(ids["unk"]) + len(ids["dup"]) + len(ids["run"]) + \
            len(ids["smp"]) + len(ids["known"])
        n, n_principals, principal = psql("audit_by_corr", prefix=prefix + "%").split("|")
        T.eq((int(n), int(n_principals)), (n_changes, 1),
             "one audit row per change, all with the same principal")
        T.ok(principal.startswith("token:"), "the audit rows name the request's token",
             why=principal)
        acts = {jid: psql("audit_actions", id=jid) for jid in ids["early"] + ids["done"]}
        T.ok(all(a.count("job-finished") == (1 if jid in ids["done"] else 0)
                 for jid, a in acts.items()),
             "a refused finish and a skipped one wrote no audit row", why=str(acts)[:800])
        T.ok(pg_int("batched_txns", prefix=prefix + "%") > 0,
             "some events were applied together (audit rows of one transaction)")
    except Exception as e:
        T.ok(False, "psql checks", why=str(e))
    g = get_job(ctl)
    T.eq(((g.json or {}).get("memory_peak_mb"), (g.json or {}).get("sample_count")),
         (1024, 1), "the control job, finished alone, has its summary", g)
    try:
        want_sum = psql("job_summary", id=ctl)
        got_sum = {jid: psql("job_summary", id=jid) for jid in ids["smp"]}
        T.ok(want_sum.endswith(" t") and all(v == want_sum for v in got_sum.values()),
             "finished jobs with samples: the same summary as the one finished alone",
             why=f"alone: {want_sum}; batched: {got_sum}")
    except Exception as e:
        T.ok(False, "psql summary checks", why=str(e))

    # hjo_events_apply itself, with what the API never sends: an event its set-based path
    # refuses (id "..") undoes that path, and every event is then applied alone
    c = new_id("eb-sql-")
    started(c, nodes=["eb01"], ts=iso(t0), cpu_allocation=4, memory_allocation_mb=4096)
    sample(c, cpu_usage=50, memory_usage_mb=1024, node="eb01",
           timestamp=iso(t0 + dt.timedelta(minutes=1)))
    try:
        got = psql("events_apply", events=json.dumps([
            {"ord": 0, "kind": "finished", "job_id": c, "ts": fin, "exit": "0", "source": "t",
             "corr": "c", "principal": "sql"},
            {"ord": 1, "kind": "started", "job_id": new_id("eb-sql-"), "user": "eb",
             "nodes": "{eb05}", "ts": iso(t0), "source": "t", "corr": "c",
             "principal": "sql"}]))
        T.eq((got, psql("job_summary", id=c)), ("0:updated 1:created", want_sum),
             "hjo_events_apply: a job with samples finished in the set-based statement gets "
             "the summary the per-event finish gives")
    except Exception as e:
        T.ok(False, "hjo_events_apply summary check", why=str(e))
    a, b2 = new_id("eb-sql-"), new_id("eb-sql-")
    ev = [{"ord": 0, "kind": "started", "job_id": a, "user": "eb", "nodes": "{eb05}",
           "ts": iso(t0), "source": "t", "corr": "c", "principal": "sql"},
          {"ord": 1, "kind": "started", "job_id": "..", "user": "eb", "nodes": "{eb05}",
           "ts": iso(t0), "source": "t", "corr": "c", "principal": "sql"},
          {"ord": 2, "kind": "finished", "job_id": a, "ts": fin, "exit": "0", "source": "t",
           "corr": "c", "principal": "sql"},
          {"ord": 3, "kind": "finished", "job_id": b2, "ts": fin, "exit": "1", "source": "t",
           "corr": "c", "principal": "sql"},
          {"ord": 4, "kind": "started", "job_id": b2, "user": "eb", "nodes": "{eb06}",
           "ts": iso(t0), "source": "t", "corr": "c", "principal": "sql"},
          {"ord": 5, "kind": "paused", "job_id": b2, "source": "t", "corr": "c",
           "principal": "sql"}]
    try:
        got = psql("events_apply", events=json.dumps(ev))
        T.eq(got, "0:created 1:23514:id 2:updated 3:created 4:updated 5:HJ400:kind",
             "hjo_events_apply: results in order; a refused event alone fails")
        T.eq((psql("job_brief", id=a), psql("job_brief", id=b2)),
             ("completed eb05 0", "failed eb06 1"),
             "hjo_events_apply: events of one job applied in their order")
        T.eq(psql("audit_actions", id=b2), "job-finished/created job-started/updated",
             "hjo_events_apply: the audit rows of one job in their order")
    except Exception as e:
        T.ok(False, "hjo_events_apply checks", why=str(e))


# =============================================================================================
GROUPS = [
    ("openapi", g_openapi),
    ("basics", g_basics),
    ("job-started", g_job_started),
    ("concurrent-starts", g_concurrent_starts),
    ("event-batches", g_event_batches),
    ("validation", g_validation),
    ("job-finished", g_job_finished),
    ("list", g_list),
    ("crud", g_crud),
    ("samples", g_samples),
    ("prometheus", g_prometheus),
    ("isolation", g_isolation),
    ("security", g_security),
]


def run_group(name, fn):
    with _conf_lock:
        _conf["checked"] = 0
        _conf["bad"] = []
    T.group = name
    try:
        fn()
    except Exception:
        T.ok(False, "group ran to completion", why=traceback.format_exc())
    if OA["spec"] is not None and name != "openapi":
        with _conf_lock:
            checked, bad = _conf["checked"], list(_conf["bad"])
        why = "\n".join(f"{m} {p} {s}: " + "; ".join(map(str, e))[:600] for m, p, s, e in bad[:25])
        if len(bad) > 25:
            why += f"\n... and {len(bad) - 25} more"
        T.ok(not bad, f"responses conform to OpenAPI ({checked - len(bad)}/{checked})", why=why)
    T.group = ""


def main():
    if not URL:
        print("Bail out! HJO_URL is not set")
        return 1
    want = sys.argv[1:]
    unknown = [w for w in want if w not in dict(GROUPS)]
    if unknown:
        print(f"Bail out! unknown group(s) {unknown}; known: {[g for g, _ in GROUPS]}")
        return 1
    # the stack should be up already; give it a few seconds anyway
    deadline = time.time() + 15
    while True:
        r = req("GET", "/v1/health", check_oa=False)
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.3)
    oa_load()
    print(f"# hjo API tests against {URL}, id base {BASE}")
    for name, fn in GROUPS:
        if not want or name in want or name == "openapi":
            run_group(name, fn)
    print(f"1..{T.n}")
    if T.failed:
        print(f"# {T.failed} of {T.n} failed")
    return 1 if T.failed else 0


if __name__ == "__main__":
    sys.exit(main())
