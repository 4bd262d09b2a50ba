"""`tether bench --html FILE` and `--latency-table FILE`, from one run that also
prints --json: the latency table is HdrHistogram's percentile format and agrees
with the JSON; the HTML report, opened in headless Chromium
(tests/integration/chromium.py), shows the JSON's numbers, and its per-second
throughput adds up to the request count. Its screenshot is kept as
bench_report.png in the artifact directory (<build>/test-artifacts under ctest).
"""

import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402
from harness import Server  # noqa: E402
from test_bench import bench  # noqa: E402

TABLE_HEAD = "       Value   Percentile   TotalCount 1/(1-Percentile)"
ROW = re.compile(r"^\s*(\d+\.\d{3})\s+(\d\.\d{6})\s+(\d+)\s+(\d+\.\d{2}|inf)$")


def parse_table(text):
    """[(value_ms, percentile, total_count)], and the #[...] footer lines."""
    lines = text.splitlines()
    assert lines[0] == TABLE_HEAD and lines[1] == "", lines[:2]
    rows, footer = [], []
    for line in lines[2:]:
        if line.startswith("#["):
            footer.append(line)
            continue
        m = ROW.match(line)
        assert m, f"not a table row: {line!r}"
        rows.append((float(m.group(1)), float(m.group(2)), int(m.group(3))))
    return rows, footer


class BenchReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="tether-bench-report-")
        cls.html = os.path.join(cls.dir.name, "report.html")
        cls.table = os.path.join(cls.dir.name, "latency.txt")
        with Server() as srv:
            out = bench(srv.url("/plaintext"), "--rate", 300, "-d", "3s", "-c", 4, "--json",
                        "--html", cls.html, "--latency-table", cls.table)
        assert out.returncode == 0, out.stderr
        cls.doc = json.loads(out.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_latency_table_is_hdrhistogram_format_and_matches_the_json(self):
        with open(self.table) as f:
            rows, footer = parse_table(f.read())
        lat = self.doc["latency_ms"]
        self.assertEqual(rows[0][1], 0.0)
        self.assertEqual(rows[-1][1], 1.0)
        self.assertEqual(rows[-1][2], lat["count"])
        self.assertEqual(rows[-1][2], self.doc["requests"])
        self.assertAlmostEqual(rows[-1][0], lat["max"], places=3)
        at = {p: v for v, p, _ in rows}
        self.assertAlmostEqual(at[0.5], lat["p50"], places=3)
        self.assertAlmostEqual(at[0.9], lat["p90"], places=3)
        for a, b in zip(rows, rows[1:]):
            self.assertLessEqual(a[0], b[0])
            self.assertLess(a[1], b[1])
            self.assertLessEqual(a[2], b[2])
        self.assertTrue(footer[1].startswith("#[Max     = "), footer)
        self.assertIn(f"Total count    = {lat['count']:12}]", footer[1])

    def test_html_report_shows_the_json_numbers(self):
        if not chromium.available():
            self.skipTest("chromium is not installed (scripts/setup.sh test)")
        d = self.doc
        with open(self.html) as f:
            page_text = f.read()
        self.assertNotRegex(page_text, r"(src|href)=\"(https?:)?//", "nothing loaded from outside")
        with chromium.Chromium(height=1100) as page:
            page.open("file://" + self.html)
            page.wait_for("document.body.dataset.rendered === 'yes'", what="the report rendered")
            seen = page.evaluate("""({
                requests: document.getElementById('requests').textContent,
                rps: document.getElementById('rps').textContent,
                p50: document.getElementById('p50').textContent,
                p99: document.querySelector('#percentiles tr[data-key=p99] td.n').textContent,
                opened: document.getElementById('connections-opened').textContent,
                perConnection: document.getElementById('requests-per-connection').textContent,
                seconds: Number(document.getElementById('throughput-chart').dataset.seconds),
                perSecondTotal: Number(document.getElementById('throughput-chart').dataset.total),
                lines: document.querySelectorAll('svg polyline').length,
            })""")
            self.assertEqual(seen["requests"], str(d["requests"]))
            self.assertEqual(seen["rps"], f"{d['requests_per_s']:.1f}")
            self.assertEqual(seen["p50"], f"{d['latency_ms']['p50']:.3f}")
            self.assertEqual(seen["p99"], f"{d['latency_ms']['p99']:.3f}")
            self.assertEqual(seen["opened"], str(d["connections_opened"]))
            # JS prints 225 where Python prints 225.0: compare the numbers.
            self.assertEqual(float(seen["perConnection"]), d["requests_per_connection"])
            # 3 s at 300/s: three whole seconds (maybe a partial fourth), adding up.
            self.assertIn(seen["seconds"], (3, 4))
            self.assertEqual(seen["perSecondTotal"], d["requests"])
            self.assertEqual(seen["lines"], 2)  # latency distribution and throughput drawn
            shot = os.path.join(chromium.artifact_dir(), "bench_report.png")
            self.assertGreater(page.screenshot(shot), 10_000)

    def test_unwritable_report_path_is_a_usage_error(self):
        for option in ("--html", "--latency-table"):
            with self.subTest(option=option):
                out = bench("http://127.0.0.1:1/", "-n", 1, option, "/nonexistent-dir/x")
                self.assertEqual(out.returncode, 2, out.stderr)
                lines = out.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, out.stderr)
                self.assertIn(option, lines[0])


if __name__ == "__main__":
    unittest.main()
