#!/usr/bin/python3
"""tether's two event backends against a bare epoll server and nginx, in ONE
interleaved run.

Usage: bench/io_backends.py [--reps N] [--duration S] [--idle N] [--idle-window S]
                            [--tests cpu,pipe,lat1,lat8,idle,close] [--servers LIST]
                            [--tether BIN]

Servers, each one worker pinned to CPU 0 (taskset), every client on CPU 1:
  epoll     tether serve --io-backend epoll   --workers 1 --keepalive-timeout 650s
            --keepalive-requests 0
  io_uring  the same with --io-backend io_uring
  uring_sys io_uring with TETHER_IO_URING_SEND=syscall: every write a send() call
            as on epoll, to measure what sends as submissions save
  uring_acc io_uring with TETHER_IO_URING_ACCEPT=syscall: every accept an accept4()
            call as on epoll, to measure what the multishot accept saves (close test)
  bare      bench/keepalive/canned_server.cpp (built here with g++ -O2): epoll,
            parses nothing, answers each request with a fixed 13-byte response; the
            floor of any epoll design (not in the latency and idle tests)
  nginx     Debian's nginx, 1 worker, access_log off, return 200 "Hello, World!",
            keepalive_timeout 650s, keepalive_requests 1000000000
Tests, for rep { for test { for server } }, the server order rotating each rep:
  cpu    wrk -t1 -c64 -dS /plaintext: req/s, server CPU us per request
         (utime+stime of the serving processes from /proc/PID/stat / requests)
  pipe   the same with 16 requests per write (keepalive/pipeline.lua): req/s
  lat1   wrk -t1 -c1 -dS --latency: p50 and p99 in us
  lat8   the same with -c8
  idle   a fresh server; keepalive/idle_conns (built here) opens N connections,
         one request each, then idle: (RSS after - RSS before) / N, and the
         server's CPU % and wake-ups per second over the idle window (from
         schedstat: nanoseconds, not clock ticks)
  close  wrk -t1 -c64 -dS -H 'Connection: close': a connection per request (an
         accept and a close each): req/s, server CPU us per request (no bare:
         it does not close)
Prints medians per server and the ratios io_uring/epoll, io_uring/bare and
io_uring/nginx. Loopback only; every load is bounded (wrk -d, timeouts, the idle
client's hold time); processes are ended by PID; temp files removed.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import (  # noqa: E402
    cpu_seconds, free_port, nginx_command, rss_bytes, run_time, serving_pids, stop_server,
    wait_port)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ("epoll", "io_uring", "uring_sys", "uring_acc", "bare", "nginx")
TESTS = ("cpu", "pipe", "lat1", "lat8", "idle", "close")
LOADED = ("epoll", "io_uring", "uring_sys", "bare", "nginx")
SERVERS_OF = {"cpu": LOADED, "pipe": LOADED, "lat1": ("epoll", "io_uring", "uring_sys", "nginx"),
              "lat8": ("epoll", "io_uring", "uring_sys", "nginx"),
              "idle": ("epoll", "io_uring", "nginx"),
              "close": ("epoll", "io_uring", "uring_acc", "nginx")}
TETHERS = {"epoll": {}, "io_uring": {}, "uring_sys": {"TETHER_IO_URING_SEND": "syscall"},
           "uring_acc": {"TETHER_IO_URING_ACCEPT": "syscall"}}


class Server:
    def __init__(self, kind, tmp, a, nginx_lines=""):
        self.kind, self.tmp, self.a, self.nginx_lines = kind, tmp, a, nginx_lines
        self.proc = None

    def start(self):
        self.port = free_port()
        env = dict(os.environ)
        if self.kind in TETHERS:
            env.update(TETHERS[self.kind])
            backend = "epoll" if self.kind == "epoll" else "io_uring"
            cmd = [self.a.tether, "serve", "--io-backend", backend, "--workers", "1",
                   "--listen", f"127.0.0.1:{self.port}", "--keepalive-timeout", "650s",
                   "--keepalive-requests", "0"]
        elif self.kind == "bare":
            cmd = [os.path.join(self.tmp, "canned_server"), str(self.port)]
        else:
            cmd = nginx_command(self.tmp, self.port, self.nginx_lines)
        self.proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
        wait_port(self.port, self.proc)
        return self


    def pids(self):
        return serving_pids(self.proc, self.kind == "nginx")

    def stop(self):
        stop_server(self.proc, self.kind == "nginx")


def wrk(server, a, *args, script_args=()):
    url = f"http://127.0.0.1:{server.port}/plaintext"
    pids = server.pids()
    before = cpu_seconds(pids)
    tail = ["--", *script_args] if script_args else []
    out = subprocess.run(["taskset", "-c", "1", "timeout", str(a.duration + 30), "wrk", "-t1",
                          f"-d{a.duration}s", *args, url, *tail],
                         capture_output=True, text=True).stdout
    return out, cpu_seconds(pids) - before


def micros(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def run_test(test, server, a):
    if test in ("cpu", "close"):
        extra = ("-H", "Connection: close") if test == "close" else ()
        out, cpu = wrk(server, a, "-c64", *extra)
        n = int(re.search(r"(\d+) requests in", out).group(1))
        return {"req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                "cpu_us_per_req": cpu * 1e6 / n}
    if test == "pipe":
        out, cpu = wrk(server, a, "-c64", "-s", os.path.join(HERE, "keepalive", "pipeline.lua"),
                       script_args=("16", "/plaintext"))
        m = re.search(r"RESULT rps=([\d.]+) requests=(\d+)", out)
        return {"req_per_s": float(m.group(1)), "cpu_us_per_req": cpu * 1e6 / int(m.group(2))}
    conns = "1" if test == "lat1" else "8"
    out, _ = wrk(server, a, f"-c{conns}", "--latency")
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return {"p50_us": micros(p50), "p99_us": micros(p99)}


def run_idle(server, a, tmp):
    pid = server.pids()[0]
    rss0 = rss_bytes(pid)
    client = subprocess.Popen(["taskset", "-c", "1", os.path.join(tmp, "idle_conns"),
                               str(server.port), str(a.idle), str(a.idle_window + 120)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = client.stdout.readline()
        if not ready.startswith("READY"):
            raise RuntimeError(f"idle client: {ready!r}")
        time.sleep(2)
        rss1 = rss_bytes(pid)
        cpu0, runs0 = run_time(pid)
        time.sleep(a.idle_window)
        cpu1, runs1 = run_time(pid)
    finally:
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=30)
    return {"bytes_per_idle_conn": (rss1 - rss0) / a.idle,
            "idle_cpu_pct": (cpu1 - cpu0) * 100 / a.idle_window,
            "idle_wakeups_per_s": (runs1 - runs0) / a.idle_window}


def build_helpers(tmp):
    for name in ("canned_server", "idle_conns"):
        subprocess.run(["g++", "-O2", "-std=c++17", "-o", os.path.join(tmp, name),
                        os.path.join(HERE, "keepalive", name + ".cpp")], check=True)


def print_summary(results, tests):
    print("\nmedians (ratios: io_uring / epoll, io_uring / bare, io_uring / nginx)")
    for test in tests:
        keys = results[(test, "io_uring")][0].keys()
        for key in keys:
            med = {k: statistics.median(r[key] for r in results[(test, k)])
                   for k in SERVERS_OF[test] if (test, k) in results}
            cells = "  ".join(f"{k} {v:11.3f}" for k, v in med.items())
            ratios = "  ".join(f"/{k} {med['io_uring'] / med[k]:.3f}" for k in med
                               if k != "io_uring" and med[k])
            print(f"  {test:5} {key:19} {cells}   {ratios}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--idle", type=int, default=10000)
    p.add_argument("--idle-window", type=int, default=10)
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--servers", default=",".join(KINDS), help="a subset of the servers")
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    a = p.parse_args()
    tests = [t for t in a.tests.split(",") if t]
    if any(t not in TESTS for t in tests):
        sys.exit(f"--tests: choose from {','.join(TESTS)}")
    servers = [k for k in a.servers.split(",") if k]
    if "io_uring" not in servers or any(k not in KINDS for k in servers):
        sys.exit(f"--servers: io_uring and any of {','.join(KINDS)}")
    for tool in ("nginx", "wrk", "taskset", "g++"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/setup.sh test)")
    tmp = tempfile.mkdtemp(prefix="tether-io-bench-")
    results = {}  # (test, server) -> [dict]
    print(f"# {' '.join(sys.argv)}  (reps {a.reps}, {a.duration} s per load, {a.idle} idle)")
    try:
        build_helpers(tmp)
        for rep in range(a.reps):
            for test in tests:
                kinds = [k for k in SERVERS_OF[test] if k in servers]
                for kind in kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]:
                    server = Server(kind, tmp, a).start()
                    try:
                        r = run_idle(server, a, tmp) if test == "idle" else run_test(test, server, a)
                    finally:
                        server.stop()
                    results.setdefault((test, kind), []).append(r)
                    print(f"rep {rep + 1} {test:5} {kind:8} "
                          + "  ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_summary(results, tests)


if __name__ == "__main__":
    main()
