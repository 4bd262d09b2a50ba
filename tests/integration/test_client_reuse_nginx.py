"""The client pool against nginx with a short keepalive_timeout (1 s): 20,000
GETs whose idle gaps straddle nginx's idle close (1 s +/- 100 ms, 640 lanes
with one connection each), then POSTs without Idempotency-Key under the same
load, counted in nginx's access log.

The pool ignores nginx's timing here (nginx sends no Keep-Alive header; the
pool's own idle timeout is set to 10 s), so it meets the keep-alive reuse race
head-on and must get through on its pre-reuse check, idle watch and retry rule.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_driver as cd  # noqa: E402

NGINX_IDLE_MS = 1000


class ClientAgainstNginx(unittest.TestCase):
    def test_gets_across_the_idle_timeout_never_fail(self):
        with cd.Nginx(keepalive_timeout="1s") as ngx:
            summary, requests = cd.run_driver(
                ngx.port, *cd.race_args(NGINX_IDLE_MS, cd.GET_REQUESTS, "--path", "/plaintext"))
        print("nginx GET summary:", summary)
        cd.check_gets(self, summary, requests, cd.GET_REQUESTS)

    def test_without_the_checks_the_race_is_hit_and_only_the_retry_saves_gets(self):
        # Control: pre-reuse check and idle watch off. Requests now meet nginx's
        # closed sockets; GETs survive only through the one permitted retry.
        with cd.Nginx(keepalive_timeout="1s") as ngx:
            summary, requests = cd.run_driver(
                ngx.port, *cd.race_args(NGINX_IDLE_MS, 1500, "--no-reuse-check",
                                        "--no-idle-watch"))
        print("nginx control summary:", summary)
        self.assertEqual(summary["failed"], 0, requests[:5])
        self.assertGreater(summary["retried"], 100)
        self.assertEqual(summary["stale_before_reuse"] + summary["peer_closed_while_idle"], 0)

    def test_posts_are_never_duplicated_and_every_failure_is_reported(self):
        with cd.Nginx(keepalive_timeout="1s") as ngx:
            summary, requests = cd.run_driver(
                ngx.port, *cd.race_args(NGINX_IDLE_MS, cd.POST_REQUESTS, "--method", "POST",
                                        "--path", "/post", "--body", "payload",
                                        "--per-request"))
            ngx.stop()  # graceful: the access log is complete
            server_ids = cd.ids_in_log(ngx.access_log, "POST")
        print("nginx POST summary:", summary, "server saw", len(server_ids))
        self.assertEqual(len(requests), cd.POST_REQUESTS)
        cd.check_posts(self, summary, requests, server_ids)
        cd.assert_race_exercised(self, summary, cd.POST_REQUESTS)


if __name__ == "__main__":
    unittest.main()
