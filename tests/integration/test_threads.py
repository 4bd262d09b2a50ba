"""The cross-thread paths, with more than one thread on each side: `tether serve
--workers 2` loaded by `tether bench --threads 2` while another client reads the
status endpoint (which sums both workers' counters from whichever worker serves
it), then SIGTERM (the signal thread queues the shutdown into each worker's loop)
with idle and in-flight connections on the workers.

Under the tsan preset this is the suite's ThreadSanitizer workload: a data race in
either process makes it exit 66 (TSAN_OPTIONS halt_on_error=1, set by the preset)
or leaves a report on its stderr, and each of those fails the test. Under asan it
checks that the counters add up over two workers.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof, TOL  # noqa: E402

BENCH_REQUESTS = 4000
BENCH_CONNECTIONS = 8
BENCH_TIMEOUT = 120      # seconds: a TSan build is 5-15x slower than a release one
STATUS_INTERVAL = 0.02   # seconds between two status reads during the load
SHUTDOWN_TIMEOUT = 10.0  # tether serve's default --shutdown-timeout
GRACE = 1.0              # --keepalive-grace below: idle connections close by then on shutdown


def setUpModule():
    harness.tether_bin()


class StatusReader:
    """Reads the status endpoint in a loop on its own thread, each read on a new
    connection (so either worker may answer it), until stop()."""

    def __init__(self, srv):
        self.srv = srv
        self.reads = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                self.srv.status()
                self.reads += 1
                self._stop.wait(STATUS_INTERVAL)
        except Exception as e:  # reported by stop(), on the test's thread
            self.error = e

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        return self.reads


class TwoWorkersTest(unittest.TestCase):

    def bench(self, srv):
        cmd = [harness.tether_bin(), "bench", srv.url("/plaintext"), "--threads", "2",
               "-c", str(BENCH_CONNECTIONS), "-n", str(BENCH_REQUESTS), "--json"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT,
                              stdin=subprocess.DEVNULL)

    def test_status_read_during_load_then_drain(self):
        srv = self.enterContext(Server("--workers", "2", "--keepalive-grace", f"{GRACE:g}s",
                                       "--keepalive-requests", "1000000"))
        reader = StatusReader(srv)
        out = self.bench(srv)
        reads = reader.stop()
        self.assertIsNone(reader.error, f"status read failed during the load: {reader.error!r}")
        self.assertGreater(reads, 0, "no status read overlapped the load")
        self.assertEqual(out.returncode, 0, f"bench: {out.stderr}")
        self.assertIsNone(harness.sanitizer_report(out.stderr), "bench reported a sanitizer error")
        r = json.loads(out.stdout)
        self.assertEqual(r["requests"], BENCH_REQUESTS)
        self.assertEqual(r["errors"]["total"], 0)

        # Both workers' counters add up: bench's connections and requests, plus one
        # connection and one request per status read (this one included).
        totals = srv.status()["totals"]
        self.assertEqual(totals["accepted"], BENCH_CONNECTIONS + reads + 1)
        self.assertEqual(totals["requests"], BENCH_REQUESTS + reads + 1)

        # Drain: several idle keep-alive connections (spread over the workers by
        # SO_REUSEPORT) and one request in flight when SIGTERM comes.
        idle = [srv.connect() for _ in range(6)]
        for c in idle:
            self.addCleanup(c.close)
            self.assertEqual(c.request("GET", "/plaintext").status, 200)
        in_flight = srv.connect()
        self.addCleanup(in_flight.close)
        in_flight.send(build_request("GET", "/delay?ms=500"))
        time.sleep(0.2)  # the delayed request is now being processed
        term_at = time.monotonic()
        srv.send_signal(signal.SIGTERM)

        resp = in_flight.read_response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.closes, resp.headers)
        assert_clean_eof(self, in_flight, msg="in-flight connection:")
        for c in idle:
            res = c.read_until_eof(GRACE + TOL + 2)
            self.assertEqual(res.outcome, "eof", res)
            self.assertLessEqual(res.t_end - term_at, GRACE + TOL, "idle connection outlived grace")
        self.assertEqual(srv.wait_exit(SHUTDOWN_TIMEOUT), 0, srv.stderr_text())


if __name__ == "__main__":
    unittest.main()
