#!/usr/bin/python3
"""Bytes per idle TLS keep-alive connection of `tether serve`, and of a plain one.

Starts `tether serve --workers 1` (TLS listener with --tls-self-signed, plus a
plain one), opens N connections to one of them, makes one request on each (so
each finished its handshake and sits idle in keep-alive, OpenSSL's buffers
released), and reports the server's VmRSS delta / N, measured after the first
connection (so one-off allocations of the first handshake are not spread over
N). Loopback only; bounded in count and time; the server is ended by PID.

Usage: bench/tls_idle_memory.py [--tether BIN] [--connections N]
"""
import argparse
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n"


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


def start_server(binary):
    proc = subprocess.Popen(
        [binary, "serve", "--workers", "1", "--tls-self-signed", "--listen", "tls:127.0.0.1:0",
         "--listen", "127.0.0.1:0", "--keepalive-timeout", "10m", "--client-header-timeout",
         "10m"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ports = []
    deadline = time.monotonic() + 15
    while len(ports) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.match(r"tether: listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            ports.append(int(m.group(1)))
    if len(ports) < 2:
        proc.kill()
        sys.exit("tether did not start")
    return proc, ports[0], ports[1]


def open_idle(port, tls, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(REQUEST)
        data = b""
        while not data.endswith(b"Hello, World!"):
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("server closed a connection")
            data += chunk
        conns.append(s)
    return conns


def measure(binary, tls, n):
    proc, tls_port, plain_port = start_server(binary)
    try:
        port = tls_port if tls else plain_port
        first = open_idle(port, tls, 1)
        time.sleep(0.5)
        before = vm_rss(proc.pid)
        conns = open_idle(port, tls, n)
        time.sleep(1.0)
        after = vm_rss(proc.pid)
        for c in conns + first:
            c.close()
        return (after - before) / n
    finally:
        proc.terminate()
        proc.wait(20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    ap.add_argument("--connections", type=int, default=2000)
    args = ap.parse_args()
    n = min(args.connections, 20000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    tls = measure(args.tether, True, n)
    plain = measure(args.tether, False, n)
    print(f"N={n} idle keep-alive connections, tether serve --workers 1 ({args.tether})")
    print(f"TLS 1.3:   {tls:8.0f} bytes/connection (VmRSS delta / N)")
    print(f"plain:     {plain:8.0f} bytes/connection")


if __name__ == "__main__":
    main()
