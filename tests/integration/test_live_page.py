"""The live page /.tether/, opened in headless Chromium (tests/integration/chromium.py):
it renders the numbers the JSON status endpoint has, and redraws by itself
after more traffic (the same page, not a reload). A screenshot is kept as
live_page.png in the artifact directory (<build>/test-artifacts under ctest).

The page is served on a --metrics-listen admin port, so its own refreshes are
not counted in the site's numbers and the figures are exact.
"""

import json
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402
from harness import Server  # noqa: E402
from test_metrics_listen import admin_address  # noqa: E402


def connections(server, count, requests_each):
    """`count` keep-alive connections of `requests_each` requests, closed by the client."""
    for _ in range(count):
        with server.connect() as c:
            for _ in range(requests_each):
                assert c.request("GET", "/plaintext").status == 200


def status(admin):
    with urllib.request.urlopen(f"http://{admin}/.tether/status", timeout=5) as r:
        return json.loads(r.read())


def wait_closed(admin, closed):
    import harness
    return harness.poll_status(lambda: status(admin),
                               lambda st: st["totals"]["closed"] == closed, 5, 0.05,
                               f"{closed} connections closed")


class LivePageTest(unittest.TestCase):
    def setUp(self):
        if not chromium.available():
            self.skipTest("chromium is not installed (scripts/setup.sh test)")

    def page_figures(self, page):
        return page.evaluate("""({
            requests: document.getElementById('requests').textContent,
            accepted: document.getElementById('accepted').textContent,
            reused: document.getElementById('reuse').dataset.reused,
            reuse: document.getElementById('reuse').textContent,
            closed: document.querySelector('#closes tr[data-key=client_closed] td.n')?.textContent,
            perConn: Object.fromEntries([...document.querySelectorAll('#hist-requests rect')]
                .map(r => [r.dataset.le, Number(r.dataset.count)])),
            timeoutSetting: document.querySelector('#settings tr[data-key=keepalive_timeout_ms] td.n')
                ?.textContent,
            refreshes: Number(document.body.dataset.refreshes || 0),
        })""")

    def test_page_shows_the_status_numbers_and_follows_new_traffic(self):
        with Server("--metrics-listen", "127.0.0.1:0", "--keepalive-timeout", "7s") as server, \
                chromium.Chromium() as page:
            admin = admin_address(server)
            connections(server, 3, 3)
            st = wait_closed(admin, 3)
            page.open(f"http://{admin}/.tether/")
            page.wait_for("Number(document.body.dataset.refreshes) >= 1", what="first refresh")
            seen = self.page_figures(page)
            # Exactly what the endpoint says (and what the traffic was).
            self.assertEqual(seen["requests"], str(st["totals"]["requests"]))
            self.assertEqual(seen["requests"], "9")
            self.assertEqual(seen["accepted"], "3")
            self.assertEqual(seen["reused"], "6")
            self.assertEqual(seen["reuse"], "66.7 %")
            self.assertEqual(seen["closed"], str(st["closes"]["client_closed"]))
            self.assertEqual(seen["perConn"]["\u22643"], 3)
            self.assertEqual(seen["perConn"]["\u22641"], 0)
            self.assertEqual(seen["timeoutSetting"], "7000")
            page.evaluate("window.tetherMark = 'same page'")

            connections(server, 2, 1)
            st = wait_closed(admin, 5)
            page.wait_for("document.getElementById('requests').textContent === '11'",
                          timeout=5, what="the page redrew with the new traffic")
            seen2 = self.page_figures(page)
            self.assertEqual(page.evaluate("window.tetherMark"), "same page")
            self.assertGreater(seen2["refreshes"], seen["refreshes"])
            self.assertEqual(seen2["closed"], str(st["closes"]["client_closed"]))
            self.assertEqual(seen2["closed"], "5")
            self.assertEqual(seen2["perConn"]["\u22641"], 2)

            # The history chart: one polygon per state once two samples exist; two
            # idle connections held open give it something to show (sampled 1/s).
            with server.connect() as a, server.connect() as b:
                for c in (a, b):
                    self.assertEqual(c.request("GET", "/plaintext").status, 200)
                page.wait_for("document.querySelector('#states-legend b[data-state=idle]')"
                              "?.textContent === '2'", timeout=5, what="two idle connections")
                page.wait_for("document.querySelectorAll('#states-chart polygon').length === 4",
                              timeout=5, what="the connections-by-state chart")
                time.sleep(1.2)  # one more history sample with them (every 1000 ms)
                shot = os.path.join(chromium.artifact_dir(), "live_page.png")
                size = page.screenshot(shot)
            self.assertGreater(size, 10_000, shot)
            with open(shot, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
