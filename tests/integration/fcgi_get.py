#!/usr/bin/python3
"""tests/integration/fcgi_get.py SOCKET PATH [AUTHORIZATION]: one FastCGI GET straight to a
responder's Unix socket, without nginx (FastCGI 1.0: BEGIN_REQUEST, PARAMS, empty STDIN; reads
STDOUT until END_REQUEST), with HTTP_AUTHORIZATION when given.  Writes the responder's raw
output (CGI headers, blank line, body) to standard output, bytes as received."""
import socket
import struct
import sys


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def pair(k, v):
    def ln(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(k)) + ln(len(v)) + k + v


def main():
    sock_path, path = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    params = (pair(b"REQUEST_METHOD", b"GET") + pair(b"REQUEST_URI", path.encode())
              + pair(b"QUERY_STRING", b"") + pair(b"REMOTE_ADDR", b"127.0.0.1"))
    if len(sys.argv) > 3:
        params += pair(b"HTTP_AUTHORIZATION", sys.argv[3].encode())
    s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) + record(4, b"")
              + record(5, b""))
    buf, out = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if rtype == 6:
                out += content
            elif rtype == 3:
                sys.stdout.buffer.write(out)
                return 0
    sys.stdout.buffer.write(out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
