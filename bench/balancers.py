#!/usr/bin/python3
"""Several `tether serve` behind nginx and HAProxy (loopback): the keep-alive
ladder under load, and N processes vs N threads.

1. Ladder: for each balancer, three backends, POSTs from the pool's
   client_driver (LANES lanes, each idling 0.5-3.5 s between requests, across
   the balancer's and the backends' idle timeouts), REQUESTS in all, twice:
     ordered     tether --keepalive-timeout 3s above the balancer's upstream
                 idle timeout (nginx keepalive_timeout 1s in the upstream;
                 HAProxy pool-purge-delay 500ms)
     misordered  tether 1s below it (nginx 30s; HAProxy without purge delay)
   and counts failed requests (a balancer never resends a POST, so every lost
   race shows). On loopback a backend's FIN is seen within microseconds: the
   misordered rows show how often the race is lost when nothing slows the FIN
   (tests/netns/test_balancers.py makes it deterministic).
2. Processes vs threads: `tether serve --workers 2` against two processes of
   `--workers 1` on one port (`--share-port`), wrk -t2 -c64 on the same
   machine, REPS interleaved runs, medians.

Usage: bench/balancers.py [--tether BIN] [--driver BIN] [--requests N] [--lanes L]
                          [--reps R] [--skip-ladder] [--skip-workers]
Loopback only; every child has a timeout and is ended by PID.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import balancers  # noqa: E402

LISTEN_RE = re.compile(r"tether: listening on \S+:(\d+)")
LADDER = {  # (tether idle, nginx upstream idle, HAProxy purge delay)
    "ordered": ("3s", "1s", "500ms"),
    "misordered": ("1s", "30s", None),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"balancers.py: nothing listens on {port}")


def start_tether(tether, port, *args):
    proc = subprocess.Popen([tether, "serve", "--listen", f"127.0.0.1:{port}", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    wait_port(port, proc)
    return proc


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def status(port):
    out = subprocess.run(["curl", "-s", "--max-time", "5",
                          f"http://127.0.0.1:{port}/.tether/status"],
                         capture_output=True, text=True, timeout=10).stdout
    return json.loads(out)


def ladder_run(a, kind, order):
    tether_idle, nginx_idle, purge = LADDER[order]
    ports = [free_port() for _ in range(3)]
    backends = [start_tether(a.tether, p, "--workers", "1", "--keepalive-timeout", tether_idle,
                             "--keepalive-grace", "0") for p in ports]
    d = tempfile.mkdtemp(prefix=f"tether-bench-{kind}-")
    lb = None
    try:
        port = free_port()
        addrs = [f"127.0.0.1:{p}" for p in ports]
        argv = (balancers.nginx(d, f"127.0.0.1:{port}", addrs, upstream_idle=nginx_idle)
                if kind == "nginx" else
                balancers.haproxy(d, f"127.0.0.1:{port}", addrs, purge_delay=purge))
        lb = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        wait_port(port, lb)
        limit = a.requests // 50 + 120
        started = time.monotonic()
        r = subprocess.run([a.driver, "--target", f"127.0.0.1:{port}", "--requests",
                            str(a.requests), "--lanes", str(a.lanes), "--gap-ms", "2000",
                            "--jitter-ms", "1500", "--ignore-hint", "--idle-timeout-ms", "30000",
                            "--method", "POST", "--path", "/echo", "--body", "payload",
                            "--max-seconds", str(limit)],
                           capture_output=True, text=True, timeout=limit + 30)
        seconds = time.monotonic() - started
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        summary = next(l for l in lines if l["event"] == "summary")
        stats = [status(p) for p in ports]
    finally:
        if lb is not None:
            stop(lb, signal.SIGQUIT if kind == "nginx" else signal.SIGUSR1)
        for b in backends:
            stop(b)
        shutil.rmtree(d, ignore_errors=True)
    return {"balancer": kind, "order": order, "tether_idle": tether_idle,
            "balancer_idle": nginx_idle if kind == "nginx" else (purge or "none"),
            "requests": summary["requests"], "completed": summary["completed"],
            "ok": summary["ok"], "failed": summary["failed"], "non2xx": summary["non2xx"],
            "seconds": round(seconds, 1),
            "backend_reused": sum(s["totals"]["reused_requests"] for s in stats),
            "backend_idle_closes": sum(s["closes"]["idle_timeout"] for s in stats)}


WRK_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
P99_RE = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/plaintext"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    p99 = P99_RE.search(out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)] if p99 else 0
    return float(WRK_RE.search(out).group(1)), float(p99.group(1)) * scale if p99 else None


def workers_run(a, mode):
    port = free_port()
    if mode == "threads":
        procs = [start_tether(a.tether, port, "--workers", "2")]
    else:
        procs = [start_tether(a.tether, port, "--workers", "1")]
        procs.append(start_tether(a.tether, port, "--workers", "1", "--share-port"))
    try:
        rps, p99 = wrk(port, a.seconds)
    finally:
        for p in procs:
            stop(p)
    return {"mode": mode, "req_s": rps, "p99_ms": p99}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    p.add_argument("--driver", default=os.path.join(ROOT, "build/release/tests/client_driver"))
    p.add_argument("--requests", type=int, default=100000)
    p.add_argument("--lanes", type=int, default=2000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--skip-ladder", action="store_true")
    p.add_argument("--skip-workers", action="store_true")
    a = p.parse_args()
    for tool in ("nginx", "haproxy", "wrk", "curl"):
        if shutil.which(tool) is None:
            print(f"balancers.py: needs {tool} (scripts/setup.sh test)", file=sys.stderr)
            return 2
    for path in (a.tether, a.driver):
        if not os.access(path, os.X_OK):
            print(f"balancers.py: not built: {path} (cmake --build --preset release "
                  "--target tether_cli client_driver)", file=sys.stderr)
            return 2
    if not a.skip_ladder:
        print("| balancer | ladder | tether idle | balancer idle | requests | failed | non-2xx "
              "| backend reuses | backend idle closes | seconds |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for kind in ("nginx", "haproxy"):
            for order in ("ordered", "misordered"):
                r = ladder_run(a, kind, order)
                print(f"| {kind} | {order} | {r['tether_idle']} | {r['balancer_idle']} | "
                      f"{r['completed']:,} | {r['failed']} | {r['non2xx']} | "
                      f"{r['backend_reused']:,} | {r['backend_idle_closes']:,} | "
                      f"{r['seconds']} |", flush=True)
    if not a.skip_workers:
        runs = {"threads": [], "processes": []}
        for rep in range(a.reps):
            order = ("threads", "processes") if rep % 2 == 0 else ("processes", "threads")
            for mode in order:
                runs[mode].append(workers_run(a, mode))
        print("\n| 2 cores, wrk -t2 -c64 | req/s (median) | p99 ms (median) | runs |")
        print("|---|---|---|---|")
        for mode, rs in runs.items():
            label = ("1 process, --workers 2" if mode == "threads"
                     else "2 processes, --workers 1, --share-port")
            each = ", ".join(f"{r['req_s']:,.0f}" for r in rs)
            print(f"| {label} | {statistics.median(r['req_s'] for r in rs):,.0f} | "
                  f"{statistics.median(r['p99_ms'] for r in rs):.2f} | {each} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
