"""Slow readers against the real binary: clients that ask for more than they read.

- A client that requests a large body and stops reading is closed at --send-timeout
  after the server's last successful write, counted as send_timeout; it receives a
  truncated body, then EOF.
- Memory per such connection is bounded: a client pipelining requests without reading
  their answers makes the server stop reading from it while answers wait for the full
  socket, and stop parsing the requests already read once 256 KiB of output is queued
  (the output high-water mark), so a stalled connection holds at most its read
  buffer (--max-header-size + 4 KiB), the queued output up to the high-water mark and
  the one response that crossed it.  A generated body (/bytes) or a file is written
  from its source as the socket drains and is never buffered whole.
"""

import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import proc_stats  # noqa: E402
from harness import EARLY_TOL, TOL, Server, build_request  # noqa: E402

SMALL_BUF = 4096          # the client's SO_RCVBUF/SO_SNDBUF: the window closes at once
BIG_BODY = 1 << 30        # /bytes?n= maximum: far more than any socket buffer holds
# The pipelined request: its ~1.5 KB answer is 30 times its size, so the answers
# outgrow what the kernel takes (the server's send buffer autotunes up to tcp_wmem's
# maximum, 4 MiB by default) after ~3000 requests, and the output queue has to hold the
# rest unless the server stops reading.
PIPELINED = harness.STATUS_PATH
PIPELINE_CAP = 512 << 10  # requests a pipelining slow reader sends at most (~10000)
SLOW_READERS = 4
# Per stalled pipelining connection: 256 KiB high-water + a 20 KiB read buffer + one
# status answer, doubled for allocator and ASan overhead; under ThreadSanitizer (the
# tsan stage; TETHER_SANITIZER set by ctest) times 8: its shadow memory for what the
# server touches comes on top (its documentation states 5-10x in all; a run of the
# tsan stage measured 7.0 MiB for the four).  Without the backpressure (no read while
# output waits; see the module docstring) the server would answer every request sent:
# ~7 MiB of responses per connection of which the kernel takes at most 4 MiB, the rest
# in the output queue.
OVERHEAD = 8 if os.environ.get("TETHER_SANITIZER") == "tsan" else 2
PER_CONN_BOUND_KIB = OVERHEAD * (256 + 20 + 2)
RSS_NOISE_KIB = 4 << 10


def setUpModule():
    harness.tether_bin()
    proc_stats.measurable_rss()


def slow_socket(port):
    """A client socket whose tiny buffers fill at once (set before connect, so the
    advertised window is small from the start)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUF)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUF)
    sock.settimeout(harness.IO_TIMEOUT)
    sock.connect(("127.0.0.1", port))
    return sock


def pipeline_until_blocked(sock, cap=PIPELINE_CAP):
    """Sends pipelined GET PIPELINED requests without reading, until the server stops
    taking them (the send blocks for 0.5 s) or `cap` bytes; returns the bytes sent."""
    batch = build_request("GET", PIPELINED) * 64
    sent = 0
    sock.setblocking(False)
    while sent < cap:
        _, writable, _ = select.select([], [sock], [], 0.5)
        if not writable:
            break
        try:
            sent += sock.send(batch)
        except (BlockingIOError, InterruptedError):
            pass
    return sent


def drain(sock, timeout):
    """Reads until EOF/reset/timeout; returns (bytes read, outcome)."""
    sock.setblocking(True)
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            return total, "reset"
        except (socket.timeout, TimeoutError):
            return total, "timeout"
        if not chunk:
            return total, "eof"
        total += len(chunk)
    return total, "timeout"


class SlowReaderTest(unittest.TestCase):

    def test_stalled_reader_closed_at_send_timeout(self):
        timeout_s = 1.0
        srv = self.enterContext(Server("--send-timeout", f"{timeout_s:g}s"))
        status = srv.status_client()
        self.addCleanup(status.close)
        sock = slow_socket(srv.port)
        self.addCleanup(sock.close)
        sock.sendall(build_request("GET", f"/bytes?n={BIG_BODY}"))
        sent_at = time.monotonic()
        # The loopback fills both buffers within milliseconds of the request, so the
        # server's last successful write is at sent_at (+ that fill time, inside TOL).
        st = status.wait(lambda st: st["closes"]["send_timeout"] >= 1,
                         timeout=timeout_s + TOL + 2, interval=0.02,
                         what="closes.send_timeout >= 1")
        closed_after = time.monotonic() - sent_at
        self.assertEqual(st["closes"]["send_timeout"], 1, st["closes"])
        self.assertGreaterEqual(closed_after, timeout_s - EARLY_TOL)
        self.assertLessEqual(closed_after, timeout_s + TOL + 0.05,  # + one status poll
                             "closed late")
        received, outcome = drain(sock, harness.IO_TIMEOUT)
        self.assertEqual(outcome, "eof")
        self.assertLess(received, BIG_BODY // 100, "the body should have been cut short")
        self.assertEqual(st["connections"]["writing"], 1, st["connections"])  # the status one

    def test_stalled_pipelining_readers_hold_bounded_memory(self):
        # No per-connection request limit: it would end the pipeline at 1000 requests.
        srv = self.enterContext(Server("--send-timeout", "30s", "--keepalive-requests", "0"))
        pid = srv.proc.pid
        warm = slow_socket(srv.port)  # pools and buffers at size before the baseline
        pipeline_until_blocked(warm)
        warm.close()
        srv.wait_status(lambda st: st["connections"]["total"] == 1, timeout=30,
                        what="warm-up closed")
        before = proc_stats.rss_kib(pid)
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        sent = 0
        for _ in range(SLOW_READERS):
            socks.append(slow_socket(srv.port))
            sent += pipeline_until_blocked(socks[-1])
        proc_stats.wait_quiet(pid)  # answers to what it read are queued or written
        grown = proc_stats.rss_kib(pid) - before
        bound = SLOW_READERS * PER_CONN_BOUND_KIB + RSS_NOISE_KIB
        self.assertLess(grown, bound, f"RSS grew by {grown} KiB for {SLOW_READERS} stalled "
                        f"readers that sent {sent >> 10} KiB of requests")
        st = srv.status()
        self.assertEqual(st["connections"]["writing"], SLOW_READERS + 1, st["connections"])
        for s in socks:
            s.close()
        srv.wait_status(lambda st: st["connections"]["total"] == 1,
                        what="the stalled connections closed after their clients left")


if __name__ == "__main__":
    unittest.main()
