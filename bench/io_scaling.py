#!/usr/bin/python3
"""How the cost of serving grows with the number of connections: tether on
epoll and on io_uring, and nginx, in ONE interleaved run.

Usage: bench/io_scaling.py [--reps N] [--duration S] [--ramp RAMP] [--conns 100,1000,10000,19000]
                           [--json FILE] [--plot FILE.svg] [--tether BIN]

For each rep { for each connection count N { for each server } } (the server
order rotating each rep), a fresh server, one worker pinned to CPU 0, every
client on CPU 1 (the servers are started as in bench/io_backends.py):
  idle     bench/keepalive/idle_conns opens N keep-alive connections, one
           request each, and holds them: (server RSS after - before) / N
  busy64   with those N still open, wrk -t1 -c64 -dS: server CPU us per
           request when 64 of N+64 connections are busy
  busyN    the idle ones closed, wrk -t1 -cN for RAMP + S + 2 seconds; after
           RAMP (wrk connects all N at its start: a SYN storm that overflows the
           listen queue at 19,000, some connects wait for SYN retransmissions),
           S seconds of server CPU and of requests the server counted itself
           (tether's status, nginx's stub_status): CPU us per request and req/s
           with N connections busy
RSS is the server's user-space memory; the kernel's share (socket buffers,
epoll's epitems, io_uring's requests) is not in it. Prints medians per N and
server with the ratios io_uring/epoll and io_uring/nginx; --json writes the
medians, --plot draws them (python3-matplotlib). Loopback only; every load is
bounded (wrk -d, the idle client's hold time and connect budget); processes
are ended by PID; temp files removed.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import urllib.request
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from io_backends import Server, build_helpers  # noqa: E402
from procstat import cpu_seconds, rss_bytes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ("epoll", "io_uring", "nginx")
NGINX_STATUS = "        location = /nginx_status { stub_status; }\n"
METRICS = ("bytes_per_conn", "busy64_cpu_us", "busyN_cpu_us", "busyN_req_per_s")


def wrk(server, a, conns):
    """(requests, server CPU seconds) of one wrk run with `conns` connections."""
    pids = server.pids()
    before = cpu_seconds(pids)
    out = subprocess.run(["taskset", "-c", "1", "timeout", str(a.duration + 60), "wrk", "-t1",
                          f"-c{conns}", f"-d{a.duration}s", "--timeout", "10s",
                          f"http://127.0.0.1:{server.port}/plaintext"],
                         capture_output=True, text=True).stdout
    m = re.search(r"(\d+) requests in", out)
    if m is None or int(m.group(1)) == 0:
        raise RuntimeError(f"wrk -c{conns}: no result\n{out}")
    return int(m.group(1)), cpu_seconds(pids) - before


def served(server):
    """Requests the server has answered so far, by its own count."""
    path = "/nginx_status" if server.kind == "nginx" else "/.tether/status"
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=20) as r:
        body = r.read().decode()
    if server.kind == "nginx":  # "server accepts handled requests" then the three numbers
        return int(body.splitlines()[2].split()[2])
    return json.loads(body)["totals"]["requests"]


def busy_window(server, a, conns):
    """(requests, server CPU seconds) over --duration seconds of wrk -c`conns`,
    after --ramp seconds for its connects."""
    pids = server.pids()
    total = a.ramp + a.duration + 2
    wrk_proc = subprocess.Popen(["taskset", "-c", "1", "timeout", str(total + 60), "wrk", "-t1",
                                 f"-c{conns}", f"-d{total}s", "--timeout", "10s",
                                 f"http://127.0.0.1:{server.port}/plaintext"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(a.ramp)
        n0, cpu0 = served(server), cpu_seconds(pids)
        time.sleep(a.duration)
        n1, cpu1 = served(server), cpu_seconds(pids)
    finally:
        wrk_proc.wait(timeout=total + 90)
    if n1 - n0 <= 1:
        raise RuntimeError(f"wrk -c{conns}: the server answered nothing in the window")
    return n1 - n0 - 1, cpu1 - cpu0  # less the first status request


def hold_idle(server, n, tmp):
    """Starts idle_conns with `n` connections; returns it once all are open."""
    client = subprocess.Popen(["taskset", "-c", "1", os.path.join(tmp, "idle_conns"),
                               str(server.port), str(n), "600", "8", "/plaintext", "120"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = client.stdout.readline()
    m = re.match(r"READY (\d+) failed=(\d+)", ready)
    if m is None or int(m.group(1)) != n:
        client.kill()
        client.wait()
        raise RuntimeError(f"idle client opened {ready!r}, wanted {n}")
    return client


def run_cell(server, n, a, tmp):
    pid = server.pids()[0]
    rss0 = rss_bytes(pid)
    client = hold_idle(server, n, tmp)
    try:
        time.sleep(2)
        rss1 = rss_bytes(pid)
        requests, cpu = wrk(server, a, 64)
        busy64 = cpu * 1e6 / requests
    finally:
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=60)
    time.sleep(1)  # the server closes the idle ones
    requests, cpu = busy_window(server, a, n)
    return {"bytes_per_conn": (rss1 - rss0) / n, "busy64_cpu_us": busy64,
            "busyN_cpu_us": cpu * 1e6 / requests, "busyN_req_per_s": requests / a.duration}


def medians(results, conns):
    return {str(n): {k: {m: statistics.median(r[m] for r in results[(n, k)]) for m in METRICS}
                     for k in KINDS} for n in conns}


def print_summary(med, conns):
    print("\nmedians (ratios: io_uring / epoll, io_uring / nginx)")
    for metric in METRICS:
        for n in conns:
            row = med[str(n)]
            cells = "  ".join(f"{k} {row[k][metric]:11.2f}" for k in KINDS)
            u = row["io_uring"][metric]
            ratios = "  ".join(f"/{k} {u / row[k][metric]:.3f}" for k in ("epoll", "nginx")
                               if row[k][metric])
            print(f"  {metric:16} {n:>6}  {cells}   {ratios}")


def plot(med, conns, path):
    try:
        import matplotlib
    except ImportError:
        sys.exit("--plot needs matplotlib: apt-get install python3-matplotlib")
    matplotlib.use("svg")
    import matplotlib.pyplot as plt
    panels = (("bytes_per_conn", "server RSS bytes per idle connection"),
              ("busy64_cpu_us", "CPU µs per request, 64 busy + N idle"),
              ("busyN_cpu_us", "CPU µs per request, N busy"))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4))
    for ax, (metric, title) in zip(axes, panels):
        for kind, style in zip(KINDS, ("o-", "s-", "^--")):
            ax.plot(conns, [med[str(n)][kind][metric] for n in conns], style, label=kind)
        ax.set_xscale("log")
        ax.set_xlabel("connections (N)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--ramp", type=int, default=6)
    p.add_argument("--conns", default="100,1000,10000,19000")
    p.add_argument("--json")
    p.add_argument("--plot")
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    a = p.parse_args()
    conns = [int(c) for c in a.conns.split(",") if c]
    for tool in ("nginx", "wrk", "taskset", "g++"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/setup.sh test)")
    # wrk -c19000 and the servers need the descriptors: the soft limit up to the hard one.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if max(conns) + 200 > hard:
        sys.exit(f"--conns: {max(conns)} connections need a descriptor limit above {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="tether-io-scaling-")
    results = {}  # (N, server) -> [dict]
    print(f"# {' '.join(sys.argv)}  (reps {a.reps}, {a.duration} s per load)")
    try:
        build_helpers(tmp)
        for rep in range(a.reps):
            for n in conns:
                for kind in KINDS[rep % len(KINDS):] + KINDS[:rep % len(KINDS)]:
                    server = Server(kind, tmp, a, NGINX_STATUS).start()
                    try:
                        r = run_cell(server, n, a, tmp)
                    finally:
                        server.stop()
                    results.setdefault((n, kind), []).append(r)
                    print(f"rep {rep + 1} {n:>6} {kind:8} "
                          + "  ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = medians(results, conns)
    print_summary(med, conns)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "medians": med}, f, indent=1)
    if a.plot:
        plot(med, conns, a.plot)


if __name__ == "__main__":
    main()
