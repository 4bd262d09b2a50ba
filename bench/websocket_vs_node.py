#!/usr/bin/python3
"""tether vs Node's `ws` (Debian's node-ws) as WebSocket servers, side by side in
ONE interleaved run.

Usage: bench/websocket_vs_node.py [--reps N] [--duration S] [--idle N] [--ping-window S]
                                  [--tether BIN] [--tests echo,idle,ping] [--servers tether,node]

Servers: `tether serve --workers 1` (its /ws/echo) and bench/websocket/node_ws_server.js
(ws 8.x, perMessageDeflate off, the ws README's ping/terminate heartbeat), each pinned
to CPU 0 with taskset; every client runs on CPU 1. `--servers tether,node,bare` adds
bench/websocket/bare_ping_server.cpp to the ping test (built here with g++ -O2): epoll,
one send() per ping to every connection at once every 5 s, pongs read and discarded —
the floor of the ping test on this machine. Tests, for rep { for test { for
server } } with the server order rotating each rep:

  echo   64 connections, each keeping 16 text messages of 32 bytes in flight for S
         seconds (a selectors loop: when k echoes arrive, k more go out in one send):
         messages/s and messages per server CPU second (utime+stime from
         /proc/PID/stat), which is what one server core can do whatever the client
         manages.
  idle   a fresh server; N WebSocket connections opened (handshake, 101) and left
         quiet: (VmRSS after - VmRSS before) / N.
  ping   a fresh server pinging every 5 s (tether --ws-ping-interval 5s; node: its
         setInterval heartbeat); N idle connections whose client answers every ping
         with a masked pong; server CPU over the window as a share of one core, and
         the pings answered (proof that they happened); the CPU per ping answered,
         and the share of a core that makes at exactly N pings per 5 s.

Prints medians per server and the tether/node ratios. Loopback only; every load is
bounded in time; servers are ended by PID.
"""
import argparse
import base64
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import cpu_seconds, free_port, print_medians, rss_bytes  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_SERVER = os.path.join(ROOT, "bench", "websocket", "node_ws_server.js")
BARE = os.path.join("/tmp", f"tether-bench-bare-ping-{os.getpid()}")  # built by main()
MSG = b"x" * 32
MASK = b"\x11\x22\x33\x44"
CONNS, IN_FLIGHT = 64, 16
PING_S = 5


def masked(opcode, payload):
    """A client frame (FIN, masked, payload < 126 bytes)."""
    data = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + MASK + data


ECHO_FRAME = masked(0x1, MSG)
ECHO_REPLY = 2 + len(MSG)  # the server's unmasked echo


def many_fds():
    """The soft fd limit up to the hard one (20,000 here; --idle must stay below)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    def __init__(self, kind, tether, ping):
        self.kind, self.tether, self.ping = kind, tether, ping

    def start(self):
        self.port = free_port()
        if self.kind == "bare":
            cmd = [BARE, str(self.port), str(PING_S * 1000 if self.ping else 0)]
            env = None
        elif self.kind == "tether":
            cmd = [self.tether, "serve", "--workers", "1", "--listen", f"127.0.0.1:{self.port}",
                   "--ws-ping-interval", f"{PING_S}s" if self.ping else "0"]
            env = None
        else:
            cmd = ["node", NODE_SERVER, str(self.port), str(PING_S * 1000 if self.ping else 0)]
            env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
        self.proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env, preexec_fn=many_fds)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}")
            try:
                upgrade(self.port).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind}: no WebSocket on {self.port}")

    def status(self):
        """tether's WebSocket counters (None for node)."""
        if self.kind != "tether":
            return None
        import json
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/.tether/status",
                                    timeout=5) as r:
            return json.load(r)["websocket"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def upgrade(port):
    """A connected, upgraded socket (blocking)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise OSError(f"no 101: {head[:40]!r}")
    return s


def test_echo(server, a):
    socks = [upgrade(server.port) for _ in range(CONNS)]
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        s.sendall(ECHO_FRAME * IN_FLIGHT)
        pending[s] = 0  # bytes of a partial reply
        sel.register(s, selectors.EVENT_READ)
    pid = server.proc.pid
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    end = t0 + a.duration
    messages = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError("server closed an echo connection")
            total = pending[s] + len(data)
            done, pending[s] = divmod(total, ECHO_REPLY)
            if done:
                messages += done
                s.send(ECHO_FRAME * done)  # small: the socket buffer takes it whole
    elapsed, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    for s in socks:
        s.close()
    return {"msgs_per_s": messages / elapsed,
            "msgs_per_cpu_s": messages / cpu if cpu > 0 else 0.0}


def open_quiet(port, n):
    socks = []
    for _ in range(n):
        s = upgrade(port)
        s.setblocking(False)
        socks.append(s)
    return socks


def test_idle(server, a):
    pid = server.proc.pid
    for s in open_quiet(server.port, 16):  # warm-up: first-connection allocations
        s.close()
    time.sleep(1)
    before = rss_bytes(pid)
    socks = open_quiet(server.port, a.idle)
    time.sleep(2)
    after = rss_bytes(pid)
    for s in socks:
        s.close()
    return {"bytes_per_idle_ws": (after - before) / a.idle}


class PongAnswerer:
    """Reads every server frame of its sockets; answers each ping with a masked
    pong carrying its payload."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.buf = {}
        self.answered = 0

    def add(self, s):
        self.sel.register(s, selectors.EVENT_READ)
        self.buf[s] = b""

    def run(self, seconds):
        """Answers for `seconds` (0: what is ready now). Returns pings answered."""
        before = self.answered
        end = time.monotonic() + seconds
        while True:
            for key, _ in self.sel.select(timeout=0 if seconds == 0 else 0.5):
                self.read(key.fileobj)
            if time.monotonic() >= end:
                return self.answered - before

    def read(self, s):
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return
        if not data:
            raise RuntimeError("server closed an idle connection")
        b = self.buf[s] + data
        while len(b) >= 2 and len(b) >= 2 + (b[1] & 0x7F):
            n = b[1] & 0x7F
            opcode, payload, b = b[0] & 0x0F, b[2:2 + n], b[2 + n:]
            if opcode == 0x9:
                s.send(masked(0xA, payload))
                self.answered += 1
        self.buf[s] = b


def test_ping(server, a):
    pid = server.proc.pid
    pongs = PongAnswerer()
    socks = []
    for i in range(a.idle):
        s = upgrade(server.port)
        s.setblocking(False)
        pongs.add(s)
        socks.append(s)
        if i % 200 == 199:
            pongs.run(0)  # node terminates a client that missed one ping round
    pongs.run(PING_S + 1)  # the first round, spread while connecting
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    answered = pongs.run(a.ping_window)
    elapsed, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    st = server.status()
    for s in socks:
        s.close()
    # The window holds 4 or 5 rounds of pings (tether's go out on a grid, a little later than
    # every 5 s; node's setInterval is exact), so the share of a core is also given per ping
    # and at exactly N / 5 s pings a second: what the goal names.
    per_ping = cpu / answered if answered else float("nan")
    r = {"core_share_pct": 100.0 * cpu / elapsed, "pings_answered_per_s": answered / elapsed,
         "cpu_us_per_ping": 1e6 * per_ping, "share_at_n_per_5s_pct": 100.0 * per_ping * a.idle / PING_S}
    if st is not None:
        r["server_pongs_received"] = float(st["pongs_received"])
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--idle", type=int, default=10000)
    p.add_argument("--ping-window", type=int, default=30)
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    p.add_argument("--tests", default="echo,idle,ping", help="a subset of echo,idle,ping")
    p.add_argument("--servers", default="tether,node",
                   help="a subset of tether,node,bare (bare: the ping test's floor, ping only)")
    a = p.parse_args()
    tests = a.tests.split(",")
    kinds = a.servers.split(",")
    if not set(tests) <= {"echo", "idle", "ping"} or not set(kinds) <= {"tether", "node", "bare"}:
        p.error("--tests takes echo,idle,ping; --servers takes tether,node,bare")
    for tool in ("node", "taskset") if "node" in kinds else ("taskset",):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/setup.sh test)")
    if "node" in kinds and not os.path.exists("/usr/share/nodejs/ws/package.json"):
        sys.exit("node-ws is not installed (scripts/setup.sh test)")
    if "bare" in kinds:
        subprocess.run(["g++", "-O2", "-std=c++17", "-o", BARE,
                        os.path.join(ROOT, "bench", "websocket", "bare_ping_server.cpp")], check=True)
    try:
        run(a, tests, kinds)
    finally:
        if os.path.exists(BARE):
            os.unlink(BARE)


def run(a, tests, kinds):
    """The interleaved reps, then the medians."""
    many_fds()
    os.sched_setaffinity(0, {1})
    results = {}
    print(f"# {' '.join(sys.argv)}  (reps {a.reps}, echo {a.duration} s, {a.idle} idle, "
          f"ping window {a.ping_window} s; load average {os.getloadavg()[0]:.2f})")
    for rep in range(a.reps):
        order = kinds[rep % 2:] + kinds[:rep % 2]
        for test in tests:
            for kind in order:
                if kind == "bare" and test != "ping":
                    continue
                server = Server(kind, a.tether, ping=test == "ping").start()
                try:
                    r = {"echo": test_echo, "idle": test_idle, "ping": test_ping}[test](server, a)
                finally:
                    server.stop()
                results.setdefault((test, kind), []).append(r)
                print(f"rep {rep + 1} {test:5} {kind:6} "
                      + "  ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
    print_medians(results, tests, [k for k in kinds if k != "bare"])
    if "bare" in kinds and "tether" in kinds and "ping" in tests:
        print_medians(results, ["ping"], ["tether", "bare"])


if __name__ == "__main__":
    main()
