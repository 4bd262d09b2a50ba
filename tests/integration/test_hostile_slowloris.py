"""Slowloris against the real binary: connections that trickle a request head one byte at a
time and never finish it.

- Each slow connection is closed at --client-header-timeout with a 408 (the head had started),
  counted as header_timeout; trickled bytes do not extend the bound.
- When slow connections outnumber --max-connections, the well-behaved keep-alive clients keep
  every request answered and keep their connections: at the limit the server closes the
  connection that has waited longest for its client (here: the slow ones), not a busy client's
  connection that is idle for the microseconds between two requests.

Latency under the attack, against nginx, is a benchmark (bench/slowloris_vs_nginx.sh), not a test.
"""

import json
import os
import select
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EARLY_TOL, TOL, Server  # noqa: E402

HEAD = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000  # never ends


def setUpModule():
    harness.tether_bin()


class SlowConn:
    """One slowloris connection: its head trickles in a byte per tick()."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.sock.setblocking(False)
        self.started = time.monotonic()
        self.sent = 0
        self.ended = None   # time the server's answer or close was seen
        self.answer = b""

    def tick(self):
        if self.ended is None and self.sent < len(HEAD):
            try:
                self.sent += self.sock.send(HEAD[self.sent:self.sent + 1])
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self.end()

    def end(self):
        try:
            while chunk := self.sock.recv(4096):
                self.answer += chunk
        except OSError:
            pass
        self.ended = time.monotonic()
        self.sock.close()


def reap(slow):
    """Marks every slow connection the server answered or closed."""
    live = [s for s in slow if s.ended is None]
    readable, _, _ = select.select([s.sock for s in live], [], [], 0) if live else ([], [], [])
    for s in live:
        if s.sock in readable:
            s.end()


class SlowlorisTest(unittest.TestCase):

    def test_each_trickled_head_gets_408_at_the_header_timeout(self):
        timeout_s, count = 2.0, 50
        srv = self.enterContext(Server("--client-header-timeout", f"{timeout_s:g}s"))
        slow = [SlowConn(srv.port) for _ in range(count)]
        self.addCleanup(lambda: [s.sock.close() for s in slow])
        deadline = time.monotonic() + timeout_s + TOL + 3
        while any(s.ended is None for s in slow) and time.monotonic() < deadline:
            for s in slow:
                s.tick()
            reap(slow)
            time.sleep(0.02)  # ~50 bytes a second per connection; each ends at its deadline
        for i, s in enumerate(slow):
            self.assertIsNotNone(s.ended, f"slow connection {i} still open after {timeout_s + TOL + 3} s")
            self.assertTrue(s.answer.startswith(b"HTTP/1.1 408 "), (i, s.answer[:60]))
            took = s.ended - s.started
            self.assertGreaterEqual(took, timeout_s - EARLY_TOL, f"connection {i} closed early")
            self.assertLessEqual(took, timeout_s + TOL, f"connection {i}: bound {timeout_s} s + {TOL} s")
        srv.wait_status(lambda st: st["closes"]["header_timeout"] == count,
                        what=f"closes.header_timeout == {count}")

    def test_busy_clients_keep_their_slots_when_slow_heads_fill_the_limit(self):
        # The well-behaved clients run in a thread, back to back like wrk's connections:
        # between two of their requests they wait for milliseconds at most, while a slow
        # head waits for as long as it lives. The attack ramps up by RAMP connections a tick
        # and keeps SLOW_COUNT open (reopening what the server closes), far beyond the limit.
        limit, slow_count, ramp, normal_count, run_s = 24, 80, 4, 4, 3.0
        srv = self.enterContext(Server("--max-connections", str(limit), "--workers", "1",
                                       "--client-header-timeout", "30s",
                                       "--keepalive-requests", "0"))
        normal = [srv.connect() for _ in range(normal_count)]
        stop, errors, served = threading.Event(), [], [0]

        def busy_clients():
            try:
                while not stop.is_set():
                    for i, c in enumerate(normal):
                        resp = c.request("GET", "/plaintext")
                        if (resp.status, resp.body, resp.closes) != (200, b"Hello, World!", False):
                            raise AssertionError(f"client {i}: {resp!r}")
                        served[0] += 1
            except Exception as e:  # noqa: BLE001 -- reported by the main thread
                errors.append(f"after {served[0]} requests: {e!r}")

        worker = threading.Thread(target=busy_clients)
        worker.start()
        slow, opened = [], 0
        self.addCleanup(lambda: [s.sock.close() for s in slow if s.ended is None])
        try:
            end = time.monotonic() + run_s
            while time.monotonic() < end and not errors:
                live = sum(1 for s in slow if s.ended is None)
                for _ in range(min(ramp, slow_count - live)):
                    slow.append(SlowConn(srv.port))
                    opened += 1
                for s in slow:
                    s.tick()
                time.sleep(0.02)
                reap(slow)
        finally:
            stop.set()
            worker.join(timeout=10)
        self.assertEqual(errors, [], "a busy client lost a request or its connection")
        self.assertGreater(served[0], 0)
        self.assertGreater(opened, limit, "the attack never went beyond the limit")
        st = json.loads(normal[0].request("GET", harness.STATUS_PATH).body)
        self.assertGreater(st["closes"]["eviction"], 0, st["closes"])
        # A new well-behaved client still gets in.
        with srv.connect() as fresh:
            self.assertEqual(fresh.request("GET", "/plaintext").status, 200)


if __name__ == "__main__":
    unittest.main()
