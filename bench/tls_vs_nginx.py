#!/usr/bin/python3
"""tether vs Debian's nginx over TLS, side by side in ONE interleaved run.

Usage: bench/tls_vs_nginx.py [--reps N] [--duration S] [--idle N] [--tether BIN]

Both servers: one worker pinned to CPU 0 (taskset), the same EC P-256 certificate
(made by this script with openssl), TLS 1.3 only with one suite
(TLS_AES_128_GCM_SHA256), session tickets on (both servers' default), keep-alive
650 s, unlimited requests per connection, no access log, a 13-byte response.
Every client runs on CPU 1. Tests, for rep { for test { for server } } with the
server order rotating each rep:

  keepalive  wrk -t1 -c64 -dS over https: req/s and server CPU us per request
             (utime+stime of the server's processes from /proc/PID/stat / requests)
  full       tether bench --no-keepalive --no-tls-resume -c16 -dS: a full handshake
             per request; handshakes (each with its request) per second of server CPU
             (= per core, whatever the client manages)
  resumed    the same with resumption (TLS 1.3 tickets): handshakes per server CPU second
  idle       a fresh server; N connections, each makes one request and then idles;
             (RSS after - RSS before) / N (nginx: the worker; tether: the process)

Prints medians per server and the tether/nginx ratios. Loopback only; every load is
bounded (wrk -d, bench -d, timeouts); servers are ended by PID; temp files removed.
"""
import argparse
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import (  # noqa: E402
    cpu_seconds, free_port, nginx_command, print_medians, rss_bytes, serving_pids, stop_server,
    wait_port)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = "TLS_AES_128_GCM_SHA256"


class Server:
    def __init__(self, kind, tmp, tether):
        self.kind, self.tmp, self.tether = kind, tmp, tether
        self.proc = None

    def start(self):
        self.port = free_port()
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        if self.kind == "tether":
            cmd = [self.tether, "serve", "--workers", "1", "--listen", f"tls:127.0.0.1:{self.port}",
                   "--tls-cert", cert, "--tls-key", key, "--tls-ciphersuites", SUITE,
                   "--keepalive-timeout", "650s", "--keepalive-requests", "0"]
        else:
            cmd = nginx_command(self.tmp, self.port,
                                f"        ssl_certificate {cert};\n"
                                f"        ssl_certificate_key {key};\n"
                                "        ssl_protocols TLSv1.3;\n"
                                f"        ssl_conf_command Ciphersuites {SUITE};\n")
        self.proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        return self

    def pids(self):
        return serving_pids(self.proc, self.kind == "nginx")

    def stop(self):
        stop_server(self.proc, self.kind == "nginx")


def url(server):
    return f"https://127.0.0.1:{server.port}/plaintext"


def test_keepalive(server, a):
    pids = server.pids()
    before = cpu_seconds(pids)
    out = subprocess.run(["taskset", "-c", "1", "timeout", str(a.duration + 30), "wrk", "-t1",
                          "-c64", f"-d{a.duration}s", url(server)],
                         capture_output=True, text=True).stdout
    cpu = cpu_seconds(pids) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"req_per_s": rps, "cpu_us_per_req": cpu * 1e6 / requests}


def test_handshakes(server, a, resume):
    pids = server.pids()
    before = cpu_seconds(pids)
    args = [a.tether, "bench", "-k", "--json", "--no-keepalive", "-c", "16",
            "-d", f"{a.duration}s", url(server)]
    if not resume:
        args.insert(4, "--no-tls-resume")
    out = subprocess.run(["taskset", "-c", "1", "timeout", str(a.duration + 30), *args],
                         capture_output=True, text=True).stdout
    cpu = cpu_seconds(pids) - before
    doc = json.loads(out)
    t = doc["tls"]
    n = t["handshakes"]  # each with its one request; the first few of a resumed run are full
    return {"handshakes_per_s": t["handshakes_per_s"], "resumed_share": t["resumed"] / max(1, t["handshakes"]),
            "handshakes_per_cpu_s": n / cpu if cpu > 0 else 0}


def open_idle(port, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="localhost")
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while not data.endswith(b"Hello, World!"):
            data += s.recv(4096)
        conns.append(s)
    return conns


def test_idle(kind, tmp, a):
    server = Server(kind, tmp, a.tether).start()
    try:
        pid = server.pids()[0]
        for c in open_idle(server.port, 16):  # warm-up: first-handshake allocations
            c.close()
        time.sleep(1)
        before = rss_bytes(pid)
        conns = open_idle(server.port, a.idle)
        time.sleep(2)
        after = rss_bytes(pid)
        for c in conns:
            c.close()
        return {"bytes_per_idle_conn": (after - before) / a.idle}
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    a = p.parse_args()
    for tool in ("nginx", "wrk", "taskset", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/setup.sh test)")
    tmp = tempfile.mkdtemp(prefix="tether-tls-bench-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(tmp, "key.pem"),
                    "-out", os.path.join(tmp, "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    results = {}  # (test, server) -> [dict]
    kinds = ["tether", "nginx"]
    print(f"# {' '.join(sys.argv)}  (reps {a.reps}, {a.duration} s per load, {a.idle} idle)")
    try:
        for rep in range(a.reps):
            order = kinds[rep % 2:] + kinds[:rep % 2]
            for test in ("keepalive", "full", "resumed", "idle"):
                for kind in order:
                    if test == "idle":
                        r = test_idle(kind, tmp, a)
                    else:
                        server = Server(kind, tmp, a.tether).start()
                        try:
                            r = (test_keepalive(server, a) if test == "keepalive"
                                 else test_handshakes(server, a, test == "resumed"))
                        finally:
                            server.stop()
                    results.setdefault((test, kind), []).append(r)
                    print(f"rep {rep + 1} {test:9} {kind:6} "
                          + "  ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_medians(results, ("keepalive", "full", "resumed", "idle"), kinds)

if __name__ == "__main__":
    main()
