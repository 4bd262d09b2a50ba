#!/usr/bin/python3
"""metrics_cost.py -- what Prometheus scraping costs `tether serve`: server CPU per request
with /.tether/metrics fetched every second vs without, interleaved, medians and the ratio.

Usage: bench/metrics_cost.py [--reps N] [--dur S] [--conns C] [--tether PATH] [--port P]
  --reps N     repetitions (default 5); every rep runs both modes, the order alternating
  --dur S      seconds of load per run (default 5)
  --conns C    wrk connections (default 64)
  --tether P   tether binary (default build/release/apps/tether/tether)
  --port P     the server's port on 127.0.0.1 (default 18390)

Method:
  * Server: `tether serve --workers 1 --keepalive-timeout 650s --keepalive-requests 0` under
    `taskset -c 0`, a fresh process per run, the metrics on the site's own listener (the
    default: the scrapes are requests like any other).
  * Load: `wrk -t1 -cC -dS http://127.0.0.1:P/plaintext` under `taskset -c 1`; its request
    count is the denominator.
  * Scraper ("scraped" mode): this script, one keep-alive connection, GET /.tether/metrics
    once a second for the whole wrk run (each answer checked: 200 and tether_requests_total).
  * CPU: utime + stime of the server process from /proc/PID/stat, read just before wrk
    starts and just after it ends; per request = that CPU time / wrk's requests.
  * Result: per mode the median CPU per request over the reps, the ratio scraped / plain,
    and the median of the per-rep ratios. The target is a ratio within 1.03.
Every run is bounded (wrk's duration, `timeout`); processes are started and stopped by PID.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_server(tether, port):
    proc = subprocess.Popen(
        ["taskset", "-c", "0", tether, "serve", "--listen", f"127.0.0.1:{port}", "--workers",
         "1", "--keepalive-timeout", "650s", "--keepalive-requests", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"tether serve did not start: {line!r}")
    return proc


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Scraper(threading.Thread):
    """GET /.tether/metrics once a second on one keep-alive connection until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.scrapes = 0
        self.error = None

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            while not self.stop.is_set():
                conn.request("GET", "/.tether/metrics")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or b"tether_requests_total " not in body:
                    raise RuntimeError(f"scrape answered {r.status}")
                self.scrapes += 1
                self.stop.wait(1.0)
        except Exception as e:  # reported by the run that started it
            self.error = e
        finally:
            conn.close()


def run_once(args, scraped):
    server = start_server(args.tether, args.port)
    try:
        time.sleep(0.3)  # past the start-up's own CPU
        scraper = Scraper(args.port) if scraped else None
        before = cpu_seconds(server.pid)
        if scraper:
            scraper.start()
        wrk = subprocess.run(
            ["timeout", str(args.dur + 30), "taskset", "-c", "1", "wrk", "-t1", f"-c{args.conns}",
             f"-d{args.dur}s", f"http://127.0.0.1:{args.port}/plaintext"],
            capture_output=True, text=True)
        after = cpu_seconds(server.pid)
        if scraper:
            scraper.stop.set()
            scraper.join(10)
            if scraper.error:
                raise SystemExit(f"scraper failed: {scraper.error}")
        m = re.search(r"(\d+) requests in", wrk.stdout)
        if wrk.returncode != 0 or not m:
            raise SystemExit(f"wrk failed ({wrk.returncode}): {wrk.stdout} {wrk.stderr}")
        requests = int(m.group(1))
        return {"requests": requests, "cpu_s": after - before,
                "us_per_request": (after - before) / requests * 1e6,
                "scrapes": scraper.scrapes if scraper else 0}
    finally:
        stop_server(server)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dur", type=int, default=5)
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    p.add_argument("--port", type=int, default=18390)
    args = p.parse_args()
    if min(args.reps, args.dur, args.conns) < 1:
        p.error("--reps, --dur and --conns must be positive")
    for tool in ("wrk", "taskset", "timeout"):
        if shutil.which(tool) is None:
            raise SystemExit(f"missing tool: {tool} (scripts/setup.sh test)")
    if not os.access(args.tether, os.X_OK):
        raise SystemExit(f"tether binary not found: {args.tether} (use --tether)")

    results = {False: [], True: []}
    ratios = []
    for rep in range(args.reps):
        order = (False, True) if rep % 2 == 0 else (True, False)
        this = {}
        for scraped in order:
            r = run_once(args, scraped)
            this[scraped] = r
            results[scraped].append(r)
            print(f"rep {rep + 1} {'scraped' if scraped else 'plain  '}: "
                  f"{r['requests']} requests, {r['cpu_s']:.2f} s CPU, "
                  f"{r['us_per_request']:.3f} us/request, {r['scrapes']} scrapes", flush=True)
        ratios.append(this[True]["us_per_request"] / this[False]["us_per_request"])

    plain = statistics.median(r["us_per_request"] for r in results[False])
    scraped = statistics.median(r["us_per_request"] for r in results[True])
    print(f"median CPU per request: plain {plain:.3f} us, scraped {scraped:.3f} us, "
          f"ratio {scraped / plain:.3f}; median of the per-rep ratios {statistics.median(ratios):.3f} "
          f"(per rep: {' '.join(f'{x:.3f}' for x in ratios)})")
    print("target: within 1.03 --", "met" if scraped / plain <= 1.03 else "NOT met")


if __name__ == "__main__":
    sys.exit(main())
