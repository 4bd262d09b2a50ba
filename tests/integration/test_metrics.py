"""GET /.tether/metrics: the Prometheus text exposition of the server's
counters, checked three ways: against a known traffic pattern and the JSON
status endpoint, with `promtool check metrics` (the format's own linter), and
by a real Prometheus that scrapes tether and answers queries on its HTTP API
(Debian's `prometheus`, run by the test as a foreground child with its
storage in a temp dir, on loopback).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_driver as cd  # noqa: E402
import harness  # noqa: E402
from harness import Server  # noqa: E402

METRICS_PATH = "/.tether/metrics"


def parse(text):
    """{"name{labels}": value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def traffic(server):
    """Three requests on one keep-alive connection, closed by the client, and
    one request with Connection: close."""
    with server.connect() as c:
        for _ in range(3):
            assert c.request("GET", "/plaintext").status == 200
    with server.connect() as c:
        r = c.request("GET", "/plaintext", headers=[("Connection", "close")])
        assert r.status == 200
        c.read_until_eof(5)


class MetricsTest(unittest.TestCase):
    def fetch(self, server, method="GET"):
        with server.connect() as c:
            return c.request(method, METRICS_PATH)

    def test_exposition_matches_the_traffic_and_the_status_document(self):
        with Server() as server:
            traffic(server)
            harness.poll_status(server.status, lambda st: st["connections"]["idle"] == 0,
                                5, 0.05, "the client connections closed")
            r = self.fetch(server)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            m = parse(r.body.decode())
            st = server.status()
        # Before the metrics request: 4 requests from traffic() plus the
        # status polls, each on its own connection (Connection: close).
        polls = m["tether_connections_accepted_total"] - 3  # traffic 2, this request 1
        self.assertGreaterEqual(polls, 1)
        self.assertEqual(m["tether_requests_total"], 4 + polls + 1)
        self.assertEqual(m["tether_requests_reused_total"], 2)
        self.assertEqual(m['tether_connections_closed_total{reason="client_closed"}'], 1)
        self.assertEqual(m['tether_connections_closed_total{reason="client_requested"}'],
                         1 + polls)
        self.assertEqual(m['tether_connections{state="writing"}'], 1)  # the metrics request
        self.assertEqual(m['tether_connections{state="idle"}'], 0)
        # The status document taken after it counts the metrics request too.
        self.assertEqual(st["totals"]["requests"], m["tether_requests_total"] + 1)
        self.assertEqual(st["totals"]["reused_requests"], m["tether_requests_reused_total"])
        self.assertEqual(m["tether_connections_max"], st["settings"]["max_connections"])

    def test_histograms_match_known_gaps_and_requests_per_connection(self):
        """Four connections of three requests each, two idling 0.3 s between
        them and two 1.2 s, at once; then the client closes them. The server
        measures each gap from its response's end, so a gap is at least the
        client's sleep and at most that plus scheduling: 0.3 s lands in
        (0.25, 0.5], 1.2 s in (1, 2]."""
        def client(server, gap):
            with server.connect() as c:
                for i in range(3):
                    if i:
                        time.sleep(gap)
                    self.assertEqual(c.request("GET", "/plaintext").status, 200)

        with Server() as server:
            threads = [threading.Thread(target=client, args=(server, g))
                       for g in (0.3, 0.3, 1.2, 1.2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            deadline = time.monotonic() + 5
            while True:  # the four closes are counted (the metrics request is not closed)
                m = parse(self.fetch(server).body.decode())
                if m["tether_connection_requests_count"] >= 4 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            advice = server.status()["keepalive_advice"]
        # The status document reads the same histogram: all 8 gaps are within
        # 2 s, half of them within 1 s.
        self.assertEqual(advice["reuses"], 8, advice)
        self.assertEqual(advice["timeout_for_99_percent_s"], 2.0, advice)
        self.assertEqual(advice["shorter"][0], {"timeout_s": 1, "kept_percent": 50.0}, advice)
        self.assertIn("a keepalive timeout of 2s would have kept 100", advice["summary"])
        gap = "tether_keepalive_idle_gap_seconds_bucket"
        self.assertEqual([m[f'{gap}{{le="{le}"}}'] for le in ("0.25", "0.5", "1", "2", "+Inf")],
                         [0, 4, 4, 8, 8], m)
        self.assertEqual(m["tether_keepalive_idle_gap_seconds_count"], 8)
        self.assertGreaterEqual(m["tether_keepalive_idle_gap_seconds_sum"], 2 * 0.3 * 2 + 2 * 1.2 * 2)
        # Requests per connection: the four closed ones had 3 each (the
        # metrics connections of the polls above were closed too: 1 each).
        rpc = "tether_connection_requests_bucket"
        polls = m["tether_connection_requests_count"] - 4
        self.assertEqual(m[f'{rpc}{{le="2"}}'], polls)
        self.assertEqual(m[f'{rpc}{{le="3"}}'] - m[f'{rpc}{{le="2"}}'], 4)
        self.assertEqual(m["tether_keepalive_idle_closed_seconds_count"], 4)
        self.assertEqual(m["tether_request_duration_seconds_count"], 12 + polls)

    def test_head_has_no_body_and_other_methods_get_405(self):
        with Server() as server:
            self.assertEqual(self.fetch(server, "HEAD").body, b"")
            r = self.fetch(server, "POST")
            self.assertEqual(r.status, 405)
            self.assertEqual(r.header("Allow"), "GET, HEAD")

    def test_promtool_accepts_the_exposition(self):
        if shutil.which("promtool") is None:
            self.skipTest("promtool is not installed (scripts/setup.sh test)")
        with Server() as server:
            traffic(server)
            body = self.fetch(server).body
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())
        self.assertEqual((r.stdout + r.stderr).strip(), b"", "no lint findings")


class PrometheusScrapeTest(unittest.TestCase):
    """A real Prometheus scrapes tether every second; its query API returns the
    values tether counted."""

    def setUp(self):
        if shutil.which("prometheus") is None:
            self.skipTest("prometheus is not installed (scripts/setup.sh test)")
        self.dir = tempfile.mkdtemp(prefix="tether-prometheus-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_prometheus(self, target):
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: tether\n"
                    f"    metrics_path: {METRICS_PATH}\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        port = cd.free_port()
        log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=harness._die_with_parent)

        def stop():
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.addCleanup(stop)
        return port

    def query(self, port, expr):
        url = (f"http://127.0.0.1:{port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.load(resp)
        return [float(r["value"][1]) for r in doc["data"]["result"]]

    def wait_value(self, port, expr, predicate, timeout=40.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.query(port, expr)
                if last and predicate(last[0]):
                    return last[0]
            except OSError:
                pass  # not up yet
            time.sleep(0.25)
        with open(os.path.join(self.dir, "prometheus.log"), errors="replace") as f:
            log = f.read()[-2000:]
        self.fail(f"{expr}: {last} within {timeout} s\n{log}")

    def test_prometheus_scrapes_and_answers_with_tethers_counts(self):
        with Server() as server:
            port = self.start_prometheus(f"127.0.0.1:{server.port}")
            self.wait_value(port, 'up{job="tether"}', lambda v: v == 1)
            traffic(server)
            # Prometheus keeps its scrape connection alive, so every scrape is
            # a request, most of them reused; the closes are traffic()'s alone.
            self.wait_value(port, 'tether_connections_closed_total{reason="client_closed"}',
                            lambda v: v == 1)
            self.wait_value(port, 'tether_connections_closed_total{reason="client_requested"}',
                            lambda v: v == 1)
            self.wait_value(port, "tether_connections_accepted_total", lambda v: v == 3)
            reused = self.wait_value(port, "tether_requests_reused_total", lambda v: v >= 3)
            total = self.wait_value(port, "tether_requests_total", lambda v: v >= reused + 3)
            self.assertLessEqual(total, server.status()["totals"]["requests"])
            self.wait_value(port, "rate(tether_requests_total[5s])", lambda v: v > 0)

if __name__ == "__main__":
    unittest.main()
