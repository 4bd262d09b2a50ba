"""The load and the measurements of bench/soak.sh (run it through that script).

Starts one `tether serve` (TETHER_BIN), drives it from THREADS client threads for DURATION
seconds with a mix of churn, and samples the server's descriptors, RSS and CPU from /proc.
Each client step picks one of SCENARIOS at random (seeded, so a run can be repeated):

  keepalive   a new connection, 1-8 requests, then the client closes it (FIN)
  pipeline    a new connection, 16 requests in one write, 16 answers, client close
  close       `Connection: close`: the server answers and closes
  reset       a request, its answer, then the client resets the connection (RST)
  reset_mid   half a request head, then a reset
  idle        a connection left idle past --keepalive-timeout: the server must close it
              (a watcher thread checks the FIN, so idle waits cost no client thread)
  large       a 1 MiB generated body read to the end over a keep-alive connection

Anything else a client sees (a wrong status, a reset where a FIN belongs, a timeout) is
an unexpected error.  After the load the script waits for the server to close what is
left, measures it quiet, stops it with SIGTERM (exit code 0 expected) and prints a JSON
report on stdout; progress lines go to stderr.
"""

import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
import proc_stats  # noqa: E402
from harness import Server, build_request  # noqa: E402

THREADS = int(os.environ.get("SOAK_THREADS", "8"))
KEEPALIVE_TIMEOUT_S = 2       # short, so idle closes are part of the churn
SAMPLE_EVERY_S = 10
QUIET_WINDOW_S = 5
SCENARIOS = ("keepalive", "pipeline", "close", "reset", "reset_mid", "idle", "large")
WEIGHTS = (30, 15, 15, 10, 10, 5, 5)
LARGE = 1 << 20


class Unexpected(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Unexpected(what)


def request_ok(conn, target="/plaintext", **kw):
    resp = conn.request("GET", target, **kw)
    expect(resp.status == 200, f"status {resp.status} for {target}")
    return resp


def run_keepalive(port, rng):
    with harness.connect(port) as c:
        for _ in range(rng.randint(1, 8)):
            expect(not request_ok(c).closes, "keep-alive answer with Connection: close")


def run_pipeline(port, rng):
    with harness.connect(port) as c:
        c.send(build_request("GET", "/plaintext") * 16)
        for _ in range(16):
            resp = c.read_response()
            expect(resp.status == 200 and resp.body == b"Hello, World!", f"pipelined {resp!r}")


def run_close(port, rng):
    with harness.connect(port) as c:
        resp = request_ok(c, headers=[("Connection", "close")])
        expect(resp.closes, "no Connection: close in the answer")
        res = c.read_until_eof(harness.IO_TIMEOUT)
        expect(res.outcome == "eof" and res.data == b"", f"after Connection: close: {res!r}")


def rst(conn):
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def run_reset(port, rng):
    c = harness.connect(port)
    request_ok(c)
    rst(c)


def run_reset_mid(port, rng):
    c = harness.connect(port)
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
    time.sleep(rng.random() * 0.05)
    rst(c)


def run_large(port, rng):
    with harness.connect(port, timeout=30) as c:
        resp = request_ok(c, f"/bytes?n={LARGE}")
        expect(len(resp.body) == LARGE, f"large body of {len(resp.body)} bytes")
        request_ok(c)


RUNNERS = {name: globals().get(f"run_{name}") for name in SCENARIOS}
MAX_PARKED = 200              # idle connections waiting for the server's close at once


class Load:
    def __init__(self, port, deadline, seed):
        self.port, self.deadline, self.seed = port, deadline, seed
        self.lock = threading.Lock()
        self.done = {name: 0 for name in SCENARIOS}
        self.errors = []
        self.parked = []  # (conn, parked at): idle connections the parker thread watches

    def error(self, text):
        with self.lock:
            self.errors.append(text[:300])

    def run_idle(self, port, rng):
        """Parks a served connection; the parker checks that the server closes it."""
        c = harness.connect(port)
        request_ok(c)
        with self.lock:
            if len(self.parked) < MAX_PARKED:
                self.parked.append((c, time.monotonic()))
                return
        c.close()

    def parker(self):
        """Watches parked connections: each must end with a clean EOF, nothing before it,
        at the server's idle timeout + grace (3 s) + slack."""
        while True:
            with self.lock:
                parked = list(self.parked)
            if not parked and time.monotonic() >= self.deadline:
                return
            socks = [c.sock for c, _ in parked]
            readable, _, _ = select.select(socks, [], [], 0.2) if socks else ([], [], [])
            if not socks:
                time.sleep(0.2)
            now = time.monotonic()
            for c, since in parked:
                late = now - since > KEEPALIVE_TIMEOUT_S + 6
                if c.sock not in readable and not late:
                    continue
                res = c.read_until_eof(0.5)
                c.close()
                with self.lock:
                    self.parked.remove((c, since))
                    if res.outcome == "eof" and res.data == b"":
                        self.done["idle"] += 1
                    else:
                        self.errors.append(f"idle: server's idle close: {res!r}"[:300])

    def client(self, index):
        rng = random.Random(self.seed * 1000 + index)
        while time.monotonic() < self.deadline:
            name = rng.choices(SCENARIOS, WEIGHTS)[0]
            try:
                if name == "idle":
                    self.run_idle(self.port, rng)  # counted when the server closes it
                    continue
                RUNNERS[name](self.port, rng)
                with self.lock:
                    self.done[name] += 1
            except Exception as e:  # noqa: BLE001 -- every failure is counted and reported
                self.error(f"{name}: {type(e).__name__}: {e}")

    def run(self):
        threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                   for i in range(THREADS)]
        threads.append(threading.Thread(target=self.parker, daemon=True))
        for t in threads:
            t.start()
        return threads


def sample(pid, t0):
    s = proc_stats.snapshot(pid)
    s["t"] = round(time.monotonic() - t0, 1)
    return s


def main():
    duration = float(sys.argv[1])
    seed = int(os.environ.get("SOAK_SEED", "1"))
    warmup = min(60.0, duration / 5)
    args = ["--keepalive-timeout", f"{KEEPALIVE_TIMEOUT_S}s", "--workers", "1"]
    with Server(*args) as srv:
        pid = srv.proc.pid
        t0 = time.monotonic()
        idle = sample(pid, t0)
        load = Load(srv.port, t0 + duration, seed)
        threads = load.run()
        samples = []
        warm = None
        while time.monotonic() < t0 + duration:
            time.sleep(min(SAMPLE_EVERY_S, max(0.0, t0 + duration - time.monotonic())))
            samples.append(sample(pid, t0))
            if warm is None and samples[-1]["t"] >= warmup:
                warm = samples[-1]
            print(f"soak: {samples[-1]} ops={sum(load.done.values())} errors={len(load.errors)}",
                  file=sys.stderr, flush=True)
        for t in threads:
            t.join(KEEPALIVE_TIMEOUT_S + 40)
        end = samples[-1]
        # Let the server close what the load left (idle connections at their timeout).
        settle_deadline = time.monotonic() + KEEPALIVE_TIMEOUT_S + 10
        while proc_stats.fd_count(pid) > idle["fds"] and time.monotonic() < settle_deadline:
            time.sleep(0.2)
        quiet = sample(pid, t0)
        quiet_share = proc_stats.cpu_share(pid, QUIET_WINDOW_S)
        status = srv.status()
    window = end["t"] - warm["t"]
    report = {
        "duration_s": duration, "threads": THREADS, "seed": seed,
        "server_args": args, "binary": harness.tether_bin(),
        "before_load": idle, "after_warmup": warm, "end_of_load": end, "after_settle": quiet,
        "cpu_share_warmup_to_end": round((end["cpu_s"] - warm["cpu_s"]) / window, 3)
        if window > 0 else None,
        "cpu_share_quiet": round(quiet_share, 4),
        "rss_growth_kib_after_warmup": end["rss_kib"] - warm["rss_kib"],
        "scenarios_done": load.done, "operations": sum(load.done.values()),
        "unexpected_errors": len(load.errors), "first_errors": load.errors[:10],
        "server_totals": status["totals"], "server_closes": status["closes"],
        "server_exit_code": srv.proc.returncode, "samples": samples,
    }
    print(json.dumps(report, indent=1))
    return 0 if not load.errors and srv.proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
