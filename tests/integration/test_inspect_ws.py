"""`tether inspect ws://…` against `tether serve` directly and behind nginx as a
WebSocket proxy with a short proxy_read_timeout: the server's ping interval, how
long a quiet connection lives and who ends it, whether client pings keep it,
and the advice. Also the refusals (a route that is not a WebSocket, options
that only apply to http://).

Timing assertions use the configured bound plus harness.TOL (nginx: plus its
timer slack), never earlier than the bound minus harness.EARLY_TOL. Every
process is started here and ended by PID; every wait is bounded.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EARLY_TOL, TOL, Server, tether_bin  # noqa: E402
from test_websocket import NginxProxy  # noqa: E402

NGINX_SLACK = 1.0  # s: nginx's timers fire up to about a second late


def inspect(url, *args, timeout=60):
    r = subprocess.run([tether_bin(), "inspect", url, *args], capture_output=True, text=True,
                       timeout=timeout)
    return r


def setUpModule():
    tether_bin()


class InspectWebSocketTest(unittest.TestCase):
    def assertAbout(self, ms, bound_s, late=TOL, what=""):
        self.assertIsNotNone(ms, what)
        self.assertGreaterEqual(ms / 1000, bound_s - EARLY_TOL, what)
        self.assertLessEqual(ms / 1000, bound_s + late, what)

    def test_a_pinging_server_keeps_browsers_and_closes_dead_clients(self):
        with Server("--ws-ping-interval", "1s", "--ws-ping-timeout", "1s") as s:
            r = inspect(f"ws://127.0.0.1:{s.port}/ws/echo", "--max-idle-wait", "5s",
                        "--ping-interval", "5s", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
        self.assertTrue(doc["server_pings"])
        self.assertAbout(doc["server_ping_interval_ms"], 1.0, what="the server's ping interval")
        browser, mute = doc["probes"]["browser"], doc["probes"]["mute"]
        self.assertEqual(browser["end"], "open", doc)
        self.assertAbout(browser["ended_ms"], 5.0, what="watched for --max-idle-wait")
        self.assertGreaterEqual(len(browser["server_pings_ms"]), 3)
        self.assertEqual(mute["end"], "close_frame", doc)
        self.assertEqual(mute["close_code"], 1001)
        self.assertEqual(mute["close_reason"], "ping timeout")
        self.assertAbout(mute["ended_ms"], 2.0, what="ping interval + ping timeout")
        self.assertIsNone(doc["quiet_limit_ms"])
        self.assertTrue(any(a.startswith("Browsers stay connected") for a in doc["advice"]),
                        doc["advice"])
        self.assertTrue(any(a.startswith("The server finds dead clients") for a in doc["advice"]))

    def test_behind_nginx_the_path_limit_is_found_and_pings_advised(self):
        limit = NginxProxy.READ_TIMEOUT
        with Server("--ws-ping-interval", "0", "--ws-min-ping-interval", "500ms") as s:
            proxy = NginxProxy(s.port)
            try:
                proxy.start()
                r = inspect(f"ws://127.0.0.1:{proxy.port}/ws/echo", "--max-idle-wait", "8s",
                            "--ping-interval", "1s")
                j = inspect(f"ws://127.0.0.1:{proxy.port}/ws/echo", "--max-idle-wait", "8s",
                            "--ping-interval", "1s", "--json")
            finally:
                proxy.cleanup()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("a quiet client that answers pings (a browser): closed after", r.stdout)
        self.assertIn("Something on this path closes quiet WebSocket connections after", r.stdout)
        self.assertIn("Pings keep it open", r.stdout)
        self.assertEqual(j.returncode, 0, j.stderr)
        doc = json.loads(j.stdout)
        self.assertFalse(doc["server_pings"])
        self.assertEqual(doc["quiet_limit_by"], "path")
        self.assertAbout(doc["quiet_limit_ms"], limit, late=TOL + NGINX_SLACK,
                         what="nginx proxy_read_timeout")
        self.assertEqual(doc["probes"]["browser"]["end"], "fin")
        self.assertEqual(doc["probes"]["mute"]["end"], "fin")
        self.assertTrue(doc["client_pings_tested"])
        self.assertTrue(doc["client_pings_keep_it_open"], doc)
        self.assertEqual(doc["probes"]["pinger"]["end"], "open", doc)
        self.assertGreater(doc["probes"]["pinger"]["pongs"], 2)
        # The pinger outlives the quiet probes by two intervals, then the run ends.
        self.assertLess(doc["elapsed_ms"] / 1000, limit + 2 * 1.0 + NGINX_SLACK + 2 * TOL + 2.5)
        ping = [a for a in doc["advice"] if a.startswith("Pings keep it open")][0]
        self.assertIn("ping every 1.5 s or less", ping, "three quarters of the 2 s limit")

    def test_pinging_too_often_is_named(self):
        with Server("--ws-ping-interval", "0") as s:  # default --ws-min-ping-interval 5s
            r = inspect(f"ws://127.0.0.1:{s.port}/ws/echo", "--max-idle-wait", "5s",
                        "--ping-interval", "1s", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["probes"]["pinger"]["close_code"], 1008)
        self.assertTrue(any("for pinging too often" in a for a in doc["advice"]), doc["advice"])
        self.assertTrue(any(a.startswith("The server never pinged") for a in doc["advice"]))

    def test_a_route_that_is_not_a_websocket_exits_1(self):
        with Server() as s:
            r = inspect(f"ws://127.0.0.1:{s.port}/plaintext", "--max-idle-wait", "5s")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("the server answered 200 OK instead of 101 Switching Protocols", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_http_only_options_and_wss_are_refused(self):
        for args, message in [
            (["ws://127.0.0.1:1/", "--against", "alb"], "--against: applies to http(s)://"),
            (["ws://127.0.0.1:1/", "-H", "X-A: b"], "--header: applies to http(s)://"),
            (["wss://127.0.0.1:1/"], "wss:// is not supported yet"),
            (["ws://127.0.0.1:1/", "--ping-interval", "0"], "--ping-interval: invalid duration"),
        ]:
            r = inspect(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(message, r.stderr)

    def test_connection_refused_exits_1(self):
        r = inspect("ws://127.0.0.1:1/", "--max-idle-wait", "2s")  # nothing listens on port 1
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Connection refused", r.stderr)


if __name__ == "__main__":
    unittest.main()
