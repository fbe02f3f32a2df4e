#!/usr/bin/python3
"""tests/scaleout/scaleout_load.py: event load for tests/scaleout/t_scaleout.sh.

  scaleout_load.py URL INGEST_TOKEN READER_TOKEN SECONDS WRITERS PREFIX OUTDIR

WRITERS threads each send, over one keep-alive connection to nginx, job-started then
job-finished for jobs with unique ids (PREFIX-<thread>-<n>); one more thread reads
(GET /v1/jobs, GET /v1/jobs/{id} of an acknowledged job, GET /metrics) at the same time.
Every response is recorded, nothing is retried by the client: a failed request (any status
but 200, or a transport error, recorded as status 0) stays failed.

Writes OUTDIR/requests.tsv (one line per request: unix time, route, job id, status),
OUTDIR/acked.txt (jobs whose two events were both answered 200) and prints one summary line:
  requests=N failed=N acked=N reads=N reads_failed=N reads_lagged=N first=T last=T
(reads_lagged: GET /v1/jobs/{id} of a just-acknowledged job answered 404 by a lagging replica;
not a failure, counted apart)
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def main():
    url, ingest, reader, seconds, writers, prefix, outdir = sys.argv[1:8]
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port
    end = time.monotonic() + float(seconds)
    lock = threading.Lock()
    records = []
    acked = []

    def request(conn, method, path, token, body=None):
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
            headers["X-Source"] = "t_scaleout"
        try:
            if conn[0] is None:
                conn[0] = http.client.HTTPConnection(host, port, timeout=30)
            conn[0].request(method, path, body=body, headers=headers)
            r = conn[0].getresponse()
            r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn[0].close()
                conn[0] = None
            return r.status
        except (OSError, http.client.HTTPException):
            if conn[0] is not None:
                conn[0].close()
            conn[0] = None
            return 0

    def writer(tid):
        conn = [None]
        k = 0
        while time.monotonic() < end:
            jid = "%s-%d-%d" % (prefix, tid, k)
            k += 1
            now = time.time()
            start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
            fin = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            ok = True
            for ev, body in (
                ("job-started", {"job_id": jid, "user": "alice", "node_list": ["n%d" % tid],
                                 "timestamp": start, "cpu_allocation": 2}),
                ("job-finished", {"job_id": jid, "timestamp": fin, "exit_code": 0}),
            ):
                st = request(conn, "POST", "/v1/events/" + ev, ingest, json.dumps(body))
                with lock:
                    records.append((time.time(), ev, jid, st))
                if st != 200:
                    ok = False
                    break
            if ok:
                with lock:
                    acked.append(jid)

    def read_loop():
        conn = [None]
        i = 0
        while time.monotonic() < end:
            with lock:
                last = acked[-1] if acked else None
            if i % 3 == 0 or last is None:
                path, jid = "/v1/jobs?limit=5", ""
            elif i % 3 == 1:
                path, jid = "/v1/jobs/" + last, last
            else:
                path, jid = "/metrics", ""
            i += 1
            st = request(conn, "GET", path, reader)
            # a job acknowledged a moment ago may not be on the replica yet: 404 is a valid
            # answer there (replica lag, docs/scale-out.md); only errors count as failures
            with lock:
                records.append((time.time(), "GET " + path.split("?")[0].replace(jid, "{id}"),
                                jid, st))
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(int(writers))]
    threads.append(threading.Thread(target=read_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with open(os.path.join(outdir, "requests.tsv"), "w") as f:
        for r in sorted(records):
            f.write("%.6f\t%s\t%s\t%d\n" % r)
    with open(os.path.join(outdir, "acked.txt"), "w") as f:
        for j in acked:
            f.write(j + "\n")
    writes = [r for r in records if not r[1].startswith("GET")]
    reads = [r for r in records if r[1].startswith("GET")]
    lagged = [r for r in reads if r[1] == "GET /v1/jobs/{id}" and r[3] == 404]
    print("requests=%d failed=%d acked=%d reads=%d reads_failed=%d reads_lagged=%d "
          "first=%.6f last=%.6f" % (
        len(writes), sum(1 for r in writes if r[3] != 200), len(acked), len(reads),
        sum(1 for r in reads if r[3] != 200) - len(lagged), len(lagged),
        min(r[0] for r in records) if records else 0,
        max(r[0] for r in records) if records else 0))


if __name__ == "__main__":
    main()
