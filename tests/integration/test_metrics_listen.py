"""`tether serve --metrics-listen ADDR:PORT`: the /.tether/ endpoints (status,
metrics, history, the live page) on an admin listener of their own, as
HAProxy's stats frontend or Envoy's admin port; the site's listeners then
answer 404 for them, and the admin's own requests are not the site's counts.
Without the option they are served beside the site (the other tests).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402

ADMIN_RE = re.compile(r"^tether: metrics, status and live page on http://(\S+)/\.tether/$")


def admin_address(server, timeout=5.0):
    """host:port the server printed for its --metrics-listen listener."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.stdout_lines():
            m = ADMIN_RE.match(line)
            if m:
                return m.group(1)
        time.sleep(0.02)
    raise AssertionError(f"no admin address printed:\n{server.stdout_text()}")


def get(url):
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def serve_fails(*args):
    return subprocess.run([harness.tether_bin(), "serve", "--listen", "127.0.0.1:0", *args],
                          capture_output=True, text=True, timeout=10)


class MetricsListenTest(unittest.TestCase):
    def test_endpoints_move_to_the_admin_listener(self):
        with Server("--metrics-listen", "127.0.0.1:0") as server:
            admin = admin_address(server)
            with server.connect() as c:
                for _ in range(3):
                    self.assertEqual(c.request("GET", "/plaintext").status, 200)
                for path in ("/.tether/metrics", "/.tether/status", "/.tether/",
                             "/.tether/history"):
                    self.assertEqual(c.request("GET", path).status, 404, path)
                page = c.request("GET", "/").body.decode()
            self.assertIn(admin, page)  # the site's / names where the page is

            # The admin reports the site: 8 requests (3 + 4 answered 404 + /),
            # none of its own, however often it is asked.
            for _ in range(3):
                code, body = get(f"http://{admin}/.tether/status")
                self.assertEqual(code, 200)
                st = json.loads(body)
                self.assertEqual(st["totals"]["requests"], 8)
                self.assertEqual(st["totals"]["reused_requests"], 7)
            self.assertEqual(st["settings"]["metrics_listen"], admin)
            code, body = get(f"http://{admin}/.tether/metrics")
            self.assertEqual(code, 200)
            self.assertIn("tether_requests_total 8\n", body.decode())
            code, body = get(f"http://{admin}/.tether/")
            self.assertEqual(code, 200)
            self.assertIn(b"<title>tether live</title>", body)
            # The site's routes are not the admin's.
            self.assertEqual(get(f"http://{admin}/plaintext")[0], 404)

    def test_without_it_everything_is_beside_the_site(self):
        with Server() as server:
            self.assertEqual(get(server.url("/.tether/history"))[0], 200)
            code, body = get(server.url("/.tether/"))
            self.assertEqual(code, 200)
            self.assertIn(b"<title>tether live</title>", body)
            self.assertNotIn(b"src=\"http", body)  # nothing loaded from elsewhere
            code, body = get(server.url("/"))
            self.assertIn(b'<a href="/.tether/">', body)  # the default site links the page
            st = json.loads(get(server.url("/.tether/status"))[1])
            self.assertIsNone(st["settings"]["metrics_listen"])

    def test_history_samples_the_site_once_a_second(self):
        with Server("--metrics-listen", "127.0.0.1:0") as server:
            admin = admin_address(server)
            with server.connect() as c:
                self.assertEqual(c.request("GET", "/plaintext").status, 200)
                # Sampled every 1000 ms; 2.5 s allows two samples plus 500 ms of slack.
                time.sleep(2.5)
                doc = json.loads(get(f"http://{admin}/.tether/history")[1])
            self.assertEqual(doc["interval_ms"], 1000)
            self.assertEqual(doc["capacity"], 300)
            samples = doc["samples"]
            self.assertGreaterEqual(len(samples), 2)
            self.assertLessEqual(len(samples), 3)
            gap = samples[-1]["t"] - samples[-2]["t"]
            self.assertGreaterEqual(gap, 900)
            self.assertLessEqual(gap, 1500)
            last = samples[-1]
            self.assertEqual(last["requests"], 1)
            self.assertEqual(last["idle"], 1)  # the kept-alive connection

    def test_bad_values_are_one_line_and_exit_2(self):
        for value in ("nowhere", "127.0.0.1:99999", "127.0.0.1:8080"):
            with self.subTest(value=value):
                args = ["--metrics-listen", value]
                if value == "127.0.0.1:8080":
                    args += ["--listen", "127.0.0.1:8080"]
                r = serve_fails(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn("--metrics-listen", lines[0])

    def test_admin_port_in_use_is_named(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            r = serve_fails("--metrics-listen", f"127.0.0.1:{port}")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--metrics-listen", r.stderr)
        self.assertNotIn("--share-port", r.stderr)


if __name__ == "__main__":
    unittest.main()
