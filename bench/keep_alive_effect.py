#!/usr/bin/python3
"""What HTTP keep-alive is said to save, measured: with and without keep-alive,
against `tether serve` and nginx, the same load from `tether bench`.

For every (server, mode) pair and every repetition this starts a fresh server on
a fresh loopback port (so TIME_WAIT sockets of earlier runs never count), pinned
to CPU 0, counts the server's accept4()/close() system calls with `perf stat`
tracepoints, runs `tether bench --json` pinned to CPU 1, and reads from its
report: req/s, connections opened and TIME_WAIT sockets created per side.
Prints the medians as a markdown table (and every run as JSON lines with --raw).

With --tls both servers speak TLS 1.3 (the same EC P-256 certificate, made with
openssl; session tickets on, both servers' default), the load goes to https:// and
the table adds the server's CPU time per request (utime+stime from /proc) and the
handshakes, full and resumed, that tether bench made.

Usage: bench/keep_alive_effect.py [--tether BIN] [--requests N] [--connections C]
                                  [--reps R] [--raw FILE] [--tls]
Needs root (perf tracepoints), nginx, perf, taskset. Loopback only; every child
runs under a timeout and is ended by PID.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTED = ["syscalls:sys_enter_accept4", "syscalls:sys_enter_accept", "syscalls:sys_enter_close"]

NGINX_CONF = """worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx.log warn;
events {{ use epoll; worker_connections 4096; accept_mutex off; }}
http {{
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096{ssl};{tls_lines}
        location = /plaintext {{ default_type text/plain; return 200 "Hello, World!"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, deadline_s=10):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {deadline_s}s")


def server_pids(proc):
    """The server and its children (nginx's worker does the accept/close calls)."""
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True,
                          text=True).stdout.split()
    return [proc.pid] + [int(k) for k in kids]


def make_certificate(workdir):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(workdir, "key.pem"),
                    "-out", os.path.join(workdir, "cert.pem"), "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def start_server(kind, tether, port, workdir, tls):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    if tls:
        make_certificate(workdir)
    if kind == "tether":
        # The probe connection made by wait_listening is counted too (1 accept).
        cmd = [tether, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1"]
        if tls:
            cmd += ["--tls-cert", cert, "--tls-key", key]
    else:
        tls_lines = (f"\n        ssl_certificate {cert};\n        ssl_certificate_key {key};"
                     "\n        ssl_protocols TLSv1.2 TLSv1.3;") if tls else ""
        with open(os.path.join(workdir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=workdir, port=port, ssl=" ssl" if tls else "",
                                      tls_lines=tls_lines))
        cmd = ["nginx", "-p", workdir + "/", "-e", os.path.join(workdir, "nginx.log"), "-c",
               os.path.join(workdir, "nginx.conf"), "-g", "daemon off;"]
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "server.log"), "a"))
    wait_listening(port, proc)
    time.sleep(0.2)  # nginx forks its worker after the master listens
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def perf_counts(text):
    counts = {}
    for line in text.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[2] in COUNTED:
            counts[parts[2]] = int(parts[0]) if parts[0].isdigit() else 0
    return counts


def one_run(kind, keepalive, args):
    workdir = tempfile.mkdtemp(prefix="tether-kae-")
    port = free_port()
    server = perf = None
    try:
        server = start_server(kind, args.tether, port, workdir, args.tls)
        pid_list = server_pids(server)
        pids = ",".join(str(p) for p in pid_list)
        cpu_before = cpu_seconds(pid_list)
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(COUNTED), "-p", pids],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # let perf attach before the load starts
        scheme = "https" if args.tls else "http"
        cmd = ["taskset", "-c", "1", args.tether, "bench", f"{scheme}://127.0.0.1:{port}/plaintext",
               "-n", str(args.requests), "-c", str(args.connections), "--json"]
        if args.tls:
            cmd.append("-k")
        if not keepalive:
            cmd.append("--no-keepalive")
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"tether bench failed: {out.stderr.strip()}")
        report = json.loads(out.stdout)
        cpu = cpu_seconds(pid_list) - cpu_before
        time.sleep(0.3)  # closes that follow the last response
        perf.send_signal(signal.SIGINT)
        counts = perf_counts(perf.communicate(timeout=30)[1])
        perf = None
        accepts = counts.get(COUNTED[0], 0) + counts.get(COUNTED[1], 0)
        return {
            "server": kind, "keepalive": keepalive, "requests": report["requests"],
            "errors": report["errors"]["total"], "rps": report["requests_per_s"],
            "connections": report["connections_opened"],
            "accepts": accepts, "closes": counts.get(COUNTED[2], 0),
            "tw_server": report["time_wait"]["server_side"]["delta"],
            "tw_client": report["time_wait"]["client_side"]["delta"],
            "cpu_us_per_req": cpu * 1e6 / max(1, report["requests"]),
            "full": (report["tls"] or {}).get("full", 0),
            "resumed": (report["tls"] or {}).get("resumed", 0),
        }
    finally:
        if perf is not None and perf.poll() is None:
            perf.send_signal(signal.SIGINT)
            perf.communicate(timeout=30)
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--raw", help="also write every run as JSON lines to this file")
    ap.add_argument("--tls", action="store_true", help="https, with CPU and handshake columns")
    args = ap.parse_args()
    for tool in ("nginx", "perf", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"keep_alive_effect: {tool} not found")
    runs = []
    for rep in range(args.reps):  # interleaved, so drift hits every cell alike
        for kind in ("tether", "nginx"):
            for keepalive in (True, False):
                r = one_run(kind, keepalive, args)
                r["rep"] = rep
                runs.append(r)
                print(json.dumps(r), file=sys.stderr)
    if args.raw:
        with open(args.raw, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in runs)
    print(f"{args.requests} requests, {args.connections} connections, median of {args.reps}; "
          "server on CPU 0, tether bench on CPU 1")
    extra = " | server CPU µs/request | handshakes full | resumed" if args.tls else ""
    print("| server | keep-alive | req/s | errors | connections | accept() | close() "
          f"| TIME_WAIT server side | TIME_WAIT client side{extra} |")
    print("|---" * (9 + (3 if args.tls else 0)) + "|")
    for kind in ("tether", "nginx"):
        for keepalive in (True, False):
            cell = [r for r in runs if r["server"] == kind and r["keepalive"] == keepalive]
            med = {k: statistics.median(r[k] for r in cell)
                   for k in ("rps", "errors", "connections", "accepts", "closes", "tw_server",
                             "tw_client", "cpu_us_per_req", "full", "resumed")}
            tail = (f" | {med['cpu_us_per_req']:.1f} | {med['full']:.0f} | {med['resumed']:.0f}"
                    if args.tls else "")
            print(f"| {kind} | {'on' if keepalive else 'off'} | {med['rps']:.0f} | "
                  f"{med['errors']:.0f} | {med['connections']:.0f} | {med['accepts']:.0f} | "
                  f"{med['closes']:.0f} | {med['tw_server']:.0f} | {med['tw_client']:.0f}{tail} |")


if __name__ == "__main__":
    main()
