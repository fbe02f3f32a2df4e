#!/usr/bin/python3
"""tests/slurm/fake_server.py: odd HTTP peers for the hook tests.

  fake_server.py MODE PORTFILE [CAPTUREFILE]

MODE blackhole: accepts connections and never answers.
MODE status:NNN: answers every request with status NNN and a JSON error body.
MODE capture: answers 200 {"status":"created"} and appends each request's headers and body,
as one JSON object per line, to CAPTUREFILE.
Writes the port it listens on (127.0.0.1, chosen by the kernel) to PORTFILE, then serves
until killed.
"""
import http.server
import json
import socket
import sys
import time


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    capture = sys.argv[3] if len(sys.argv) > 3 else None
    if mode == "blackhole":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        with open(portfile, "w") as f:
            f.write(f"{s.getsockname()[1]}\n")
        held = []
        while True:
            c, _ = s.accept()
            held.append(c)  # never read, never answer
            time.sleep(0.01)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            if mode == "capture":
                with open(capture, "a") as f:
                    f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                        "body": body}) + "\n")
                code, out = 200, b'{"status":"created","job_id":"x","message":"ok"}'
            else:
                code = int(mode.split(":", 1)[1])
                out = b'{"error":"unavailable","message":"fake"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
