"""Descriptor exhaustion against the real binary: clients connect far beyond the process's
fd limit (the server runs under `prlimit --nofile=64:64`, with --max-connections far above
it, so accept() itself fails with EMFILE).

- Idle keep-alive connections make way, the longest waiting first, and every new client
  is served; the process never holds more descriptors than its limit.
- A connection with a request in progress is never closed for a newcomer: with every
  descriptor busy, the waiting clients stay in the listen queue and are served once the
  busy ones finish; nor is one whose request has arrived but is not read yet (a burst of
  new clients must not reset each other).  Meanwhile the server does not spin: the listening socket is
  edge-triggered and the acceptor retries every 100 ms.
- When the load stops, the descriptor count returns to its baseline, the server uses no
  CPU, and it serves new requests.
"""

import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import proc_stats  # noqa: E402
from harness import Server, build_request  # noqa: E402

NOFILE = 64
DELAY_MS = 2000
QUIET_WINDOW_S = 2.0
QUIET_MAX_SHARE = 0.02   # 2 % of a core over 2 s = 4 clock ticks; a spin shows ~100 %
# Stuck at EMFILE with nothing to evict, the acceptor wakes 10 times a second and every
# busy connection's timer runs: a few percent under ASan at most.
STUCK_MAX_SHARE = 0.10


def setUpModule():
    harness.tether_bin()
    if shutil.which("prlimit") is None:
        raise unittest.SkipTest("needs prlimit (util-linux)")


class LimitedServer(Server):
    """`tether serve` under `prlimit --nofile=NOFILE:NOFILE` (prlimit execs it: same PID)."""

    def command(self):
        return ["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"] + super().command()


class FdExhaustionTest(unittest.TestCase):

    def setUp(self):
        self.srv = self.enterContext(LimitedServer("--max-connections", "100000"))
        self.pid = self.srv.proc.pid
        self.baseline_fds = proc_stats.fd_count(self.pid)
        self.capacity = NOFILE - self.baseline_fds  # connections the server can hold
        self.conns = []
        self.addCleanup(self.close_all)

    def close_all(self):
        for c in self.conns:
            c.close()
        self.conns = []

    def open(self, target, timeout=harness.IO_TIMEOUT):
        c = self.srv.connect(timeout=timeout)
        self.conns.append(c)
        c.send(build_request("GET", target))
        return c

    def assert_recovers(self):
        """All clients gone: descriptors back at the baseline, no CPU, still serving."""
        self.close_all()
        deadline = time.monotonic() + 5
        while proc_stats.fd_count(self.pid) > self.baseline_fds and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(proc_stats.fd_count(self.pid), self.baseline_fds, "descriptors leaked")
        share = proc_stats.cpu_share(self.pid, QUIET_WINDOW_S)
        self.assertLess(share, QUIET_MAX_SHARE, f"{share:.1%} of a core with nothing to do")
        with self.srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)

    def test_idle_connections_make_way_for_new_clients(self):
        total = 3 * NOFILE
        for i in range(total):
            resp = self.open("/plaintext").read_response()
            self.assertEqual(resp.status, 200, f"client {i} was not served")
            self.assertFalse(resp.closes, f"client {i}")
            self.assertLessEqual(proc_stats.fd_count(self.pid), NOFILE)
        # The longest waiting went first: the first clients are closed, the newest served.
        harness.assert_clean_eof(self, self.conns[0], msg="the oldest idle connection:")
        survivor = self.conns[-1]
        resp = survivor.request("GET", harness.STATUS_PATH)
        self.assertEqual(resp.status, 200)
        st = json.loads(resp.body)
        self.assertGreaterEqual(st["closes"]["eviction"], total - self.capacity, st["closes"])
        self.assertEqual(st["totals"]["accepted"], total, st["totals"])
        self.assert_recovers()

    def test_busy_connections_are_never_evicted_and_the_queue_waits_without_spinning(self):
        # Half again as many slow requests as the server has room for: the first
        # `capacity` are accepted and busy, the rest wait in the listen queue until those
        # finish, go idle and make way (two rounds of DELAY_MS).
        total = self.capacity + self.capacity // 2
        started = time.monotonic()
        for _ in range(total):
            self.open(f"/delay?ms={DELAY_MS}", timeout=2 * DELAY_MS / 1000 + 5)
        time.sleep(0.3)
        self.assertEqual(proc_stats.fd_count(self.pid), NOFILE, "every descriptor in use")
        share = proc_stats.cpu_share(self.pid, 1.0)
        self.assertLess(share, STUCK_MAX_SHARE, f"{share:.1%} of a core while out of fds")
        for i, c in enumerate(self.conns):
            resp = c.read_response()
            self.assertEqual(resp.status, 200, f"client {i} was cut off")
        self.assertLess(time.monotonic() - started, 2 * DELAY_MS / 1000 + 2, "not two rounds")
        resp = self.conns[-1].request("GET", harness.STATUS_PATH)
        st = json.loads(resp.body)
        self.assertEqual(st["totals"]["accepted"], total, st["totals"])
        # Each queued client took an idle one's place; one eviction more than that has
        # been seen (which connection made the extra way is not pinned down): every
        # client was still answered, which is what matters.
        self.assertGreaterEqual(st["closes"]["eviction"], total - self.capacity, st["closes"])
        self.assertLessEqual(st["closes"]["eviction"], total, st["closes"])
        self.assertEqual(st["closes"]["error"] + st["closes"]["client_reset"], 0, st["closes"])
        self.assert_recovers()

if __name__ == "__main__":
    unittest.main()
