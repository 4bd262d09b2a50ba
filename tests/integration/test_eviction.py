"""Eviction under --max-connections: a new connection arriving while the
limit is reached makes the server close the OLDEST IDLE keep-alive
connection, never one with a request in progress.

The 9th connection's request is GET /.tether/status: eviction happens when
that connection arrives, so its own answer already shows the counter, and no
extra status connection (which would itself trigger an eviction) is needed.
"""

import json
import os
import resource
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof  # noqa: E402

LIMIT = 8
OPEN_GAP = 0.05  # 50 ms between connections makes "oldest" unambiguous
DELAY_MS = 2000


def setUpModule():
    harness.tether_bin()


class EvictionTest(unittest.TestCase):

    def setUp(self):
        self.srv = self.enterContext(Server("--max-connections", str(LIMIT), "--workers", "1"))
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    def open_idle(self):
        """Connect, do one request, leave the connection idle."""
        c = self.srv.connect()
        self.conns.append(c)
        resp = c.request("GET", "/plaintext")
        self.assertEqual(resp.status, 200)
        self.assertFalse(resp.closes)
        time.sleep(OPEN_GAP)
        return c

    def ninth_connection_status(self):
        c = self.srv.connect()
        self.conns.append(c)
        resp = c.request("GET", harness.STATUS_PATH)
        self.assertEqual(resp.status, 200, "the new connection must be served")
        return c, json.loads(resp.body)

    def assert_still_works(self, c, name):
        resp = c.request("GET", "/plaintext")
        self.assertEqual((resp.status, resp.body), (200, b"Hello, World!"), name)

    def test_oldest_idle_connection_evicted(self):
        idle = [self.open_idle() for _ in range(LIMIT)]
        ninth, st = self.ninth_connection_status()
        self.assertEqual(st["closes"]["eviction"], 1, st["closes"])
        self.assertEqual(st["totals"]["accepted"], LIMIT + 1)

        assert_clean_eof(self, idle[0], msg="oldest connection:")
        for i, c in enumerate(idle[1:], start=2):
            self.assert_still_works(c, f"connection {i}")

        # Using the survivors did not evict anything more.
        ninth.send(build_request("GET", harness.STATUS_PATH))
        st = json.loads(ninth.read_response().body)
        self.assertEqual(st["closes"]["eviction"], 1, st["closes"])

    def test_busy_connection_never_evicted(self):
        # The oldest connection has a request in progress: it must survive and
        # get its answer; the oldest IDLE one (opened second) goes instead.
        busy = self.srv.connect(timeout=DELAY_MS / 1000 + 5)
        self.conns.append(busy)
        busy.send(build_request("GET", f"/delay?ms={DELAY_MS}"))
        time.sleep(OPEN_GAP)
        idle = [self.open_idle() for _ in range(LIMIT - 1)]

        ninth, st = self.ninth_connection_status()
        self.assertEqual(st["closes"]["eviction"], 1, st["closes"])

        assert_clean_eof(self, idle[0], msg="oldest idle connection:")
        resp = busy.read_response()
        self.assertEqual(resp.status, 200, "the busy connection was cut off")
        for i, c in enumerate(idle[1:], start=3):
            self.assert_still_works(c, f"connection {i}")
        self.assert_still_works(busy, "busy connection after its delay")


class FdLimitTest(unittest.TestCase):
    """`tether serve` raises its soft RLIMIT_NOFILE to the hard limit (the default
    --max-connections derives from it); the library itself leaves it alone."""

    def test_serve_raises_the_soft_fd_limit_to_the_hard_one(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard <= 256:
            self.skipTest(f"hard RLIMIT_NOFILE {hard} leaves nothing to raise")
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the server
        try:
            with Server() as srv:
                limits = open(f"/proc/{srv.proc.pid}/limits").read()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
        want = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        self.assertEqual(line.split()[3], want, line)  # soft, raised from 256


if __name__ == "__main__":
    unittest.main()
