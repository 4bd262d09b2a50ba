"""The client pool against `tether serve --keepalive-timeout 1s`.

- The keep-alive reuse race: with --keepalive-grace 0 the server closes an idle
  connection 1 s after its last response. 640 lanes, one connection each, idle
  1 s +/- 100 ms between requests; the pool ignores the server's hint and keeps
  connections up to 10 s, so it meets every close head-on. 20,000 GETs: 0
  failures. POSTs without Idempotency-Key under the same load: every one the
  server processed (access log) was a success or a failure reported as "maybe
  processed", none twice.
- Hint honouring: with the pool's defaults (Keep-Alive: timeout=2 minus
  a 1 s margin), gaps around the pool's own 1 s expiry never meet a server close.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_driver as cd  # noqa: E402
import harness  # noqa: E402
from harness import Server  # noqa: E402

SERVER_IDLE_MS = 1000


def setUpModule():
    harness.tether_bin()
    cd.driver_bin()


class ClientAgainstTether(unittest.TestCase):
    def test_gets_across_the_idle_timeout_never_fail(self):
        with Server("--keepalive-timeout", "1s", "--keepalive-grace", "0",
                    "--keepalive-requests", "0") as srv:
            summary, requests = cd.run_driver(
                srv.port, *cd.race_args(SERVER_IDLE_MS, cd.GET_REQUESTS, "--path", "/plaintext"))
        print("tether GET summary:", summary)
        cd.check_gets(self, summary, requests, cd.GET_REQUESTS)

    def test_posts_are_never_duplicated_and_every_failure_is_reported(self):
        with tempfile.TemporaryDirectory(prefix="tether-client-") as tmp:
            log = os.path.join(tmp, "access.log")
            with Server("--keepalive-timeout", "1s", "--keepalive-grace", "0",
                        "--keepalive-requests", "0", "--access-log", log) as srv:
                summary, requests = cd.run_driver(
                    srv.port, *cd.race_args(SERVER_IDLE_MS, cd.POST_REQUESTS, "--method", "POST",
                                            "--path", "/echo", "--body", "payload",
                                            "--per-request"))
            server_ids = cd.ids_in_log(log, "POST")  # complete: the server has exited
        print("tether POST summary:", summary, "server saw", len(server_ids))
        self.assertEqual(len(requests), cd.POST_REQUESTS)
        cd.check_posts(self, summary, requests, server_ids)
        cd.assert_race_exercised(self, summary, cd.POST_REQUESTS)

    def test_pool_honouring_the_hint_never_meets_a_server_close(self):
        # Server: Keep-Alive: timeout=2, closes at exactly 2 s. Pool: 2 s - 1 s
        # margin = 1 s. Gaps 1 s +/- 100 ms: about half reuse, half expire first.
        with Server("--keepalive-timeout", "2s", "--keepalive-grace", "0",
                    "--keepalive-requests", "0") as srv:
            summary, _ = cd.run_driver(
                srv.port, "--requests", 2000, "--lanes", cd.LANES, "--gap-ms", 1000,
                "--jitter-ms", cd.JITTER_MS)
        print("tether hint summary:", summary)
        self.assertEqual(summary["failed"], 0)
        self.assertEqual(summary["retried"], 0)
        self.assertEqual(summary["stale_before_reuse"], 0)
        self.assertEqual(summary["peer_closed_while_idle"], 0)
        self.assertGreater(summary["idle_expired"], 0)
        self.assertGreater(summary["reused"], 0)


if __name__ == "__main__":
    unittest.main()
