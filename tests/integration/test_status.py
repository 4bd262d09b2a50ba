"""GET /.tether/status counters, checked exactly after a known sequence.

Status snapshots are taken over ONE persistent connection (StatusClient),
opened after the sequence, so their own effect on the counters is exact:
+1 accepted, +calls requests, +(calls - 1) reused requests, and that
connection is the one `writing` while the snapshot is built.
"""

import numbers
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, assert_clean_eof  # noqa: E402

CLOSE_REASONS = ["client_closed", "client_requested", "idle_timeout", "max_requests",
                 "lifetime", "header_timeout", "body_timeout", "send_timeout",
                 "bad_request", "error", "eviction", "shutdown", "keepalive_disabled",
                 "keepalive_timeout", "user_timeout", "client_reset",
                 "tls_handshake_timeout", "tls_plain_http", "tls_alert", "tls_protocol_error"]
STATES = ["idle", "reading", "writing", "lingering", "total"]
IDLE_CLOSE = 1.0 + 0.2  # --keepalive-timeout 1s + --keepalive-grace 200ms


def setUpModule():
    harness.tether_bin()


class StatusTest(unittest.TestCase):

    def test_schema(self):
        srv = self.enterContext(Server())
        st = srv.status()
        # Every documented key must be there; extra keys are allowed (additive).
        self.assertLessEqual({"connections", "totals", "closes", "settings"}, set(st))
        self.assertLessEqual(set(STATES), set(st["connections"]))
        self.assertLessEqual(set(CLOSE_REASONS), set(st["closes"]))
        self.assertLessEqual({"accepted", "requests", "reused_requests", "requests_per_connection"},
                             set(st["totals"]))
        self.assertIsInstance(st["settings"], dict)
        for value in list(st["connections"].values()) + list(st["closes"].values()):
            self.assertIsInstance(value, int)
        self.assertIsInstance(st["totals"]["requests_per_connection"], numbers.Real)

    def test_counters_after_known_sequence(self):
        # Cleanups run in reverse: connections close before the server stops.
        srv = self.enterContext(Server("--keepalive-timeout", "1s", "--keepalive-grace", "200ms"))
        # A: 3 requests, then the client closes the idle connection.
        with srv.connect() as a:
            for _ in range(3):
                self.assertEqual(a.request("GET", "/plaintext").status, 200)
        # B: 2 requests, the second asks to close.
        with srv.connect() as b:
            self.assertEqual(b.request("GET", "/plaintext").status, 200)
            resp = b.request("GET", "/plaintext", headers=[("Connection", "close")])
            self.assertTrue(resp.closes)
            assert_clean_eof(self, b)
        # C: one bad request.  Its request line is invalid and its header
        # never ends, so under any reading of "header completely received"
        # it does not count in `requests` (a complete-but-invalid header,
        # e.g. one without Host, would leave that open to interpretation).
        with srv.connect() as c:
            c.send(b"BAD REQUEST LINE\r\nHost: 127.0.0.1\r\n")
            self.assertEqual(c.read_response().status, 400)
            assert_clean_eof(self, c)
        # D: one request, then idle until the server times it out.
        with srv.connect() as d:
            self.assertEqual(d.request("GET", "/plaintext").status, 200)
            res = d.read_until_eof(IDLE_CLOSE + harness.TOL + 2)
            self.assertEqual(res.outcome, "eof", res)

        # E: one request, then the client resets the idle connection.
        e = srv.connect()
        self.assertEqual(e.request("GET", "/plaintext").status, 200)
        e.reset()

        expected_closes = dict.fromkeys(CLOSE_REASONS, 0)
        expected_closes.update(client_closed=1, client_requested=1, bad_request=1,
                               idle_timeout=1, client_reset=1)
        s = srv.status_client()
        self.addCleanup(s.close)
        # Wait until the server has noticed every close (client-initiated
        # ones are seen asynchronously); only the status connection remains.
        s.wait(lambda st: st["connections"]["total"] == 1
               and sum(st["closes"].values()) >= 5,
               what="5 closes counted and 1 open connection")
        st = s.get()

        self.assertEqual({k: st["closes"][k] for k in CLOSE_REASONS}, expected_closes)
        self.assertEqual(st["totals"]["accepted"], 5 + 1)
        self.assertEqual(st["totals"]["requests"], (3 + 2 + 1 + 1) + s.calls)
        # A's 2nd and 3rd, B's 2nd, and all status requests but the first
        # (the status connection is new, so its first request is not reused).
        self.assertEqual(st["totals"]["reused_requests"], (2 + 1) + (s.calls - 1))
        self.assertEqual({k: st["connections"][k] for k in STATES},
                         {"idle": 0, "reading": 0, "writing": 1, "lingering": 0, "total": 1})
        self.assertGreater(st["totals"]["requests_per_connection"], 0)

    def test_connection_states(self):
        srv = self.enterContext(Server())
        idle = srv.connect()
        self.addCleanup(idle.close)
        self.assertEqual(idle.request("GET", "/plaintext").status, 200)
        reading = srv.connect()
        self.addCleanup(reading.close)
        reading.send(b"GET /plaintext HTTP/1.1\r\nHo")  # header started, not complete
        s = srv.status_client()
        self.addCleanup(s.close)
        # The partial header may be read after the status request: poll.
        st = s.wait(lambda st: st["connections"]["reading"] == 1, what="reading == 1")
        self.assertEqual({k: st["connections"][k] for k in STATES},
                         {"idle": 1, "reading": 1, "writing": 1, "lingering": 0, "total": 3})
        # Completing the header turns `reading` into a served, idle connection.
        reading.send(b"st: 127.0.0.1\r\n\r\n")
        self.assertEqual(reading.read_response().status, 200)
        st = s.get()
        self.assertEqual(st["connections"]["idle"], 2)
        self.assertEqual(st["connections"]["reading"], 0)


if __name__ == "__main__":
    unittest.main()
