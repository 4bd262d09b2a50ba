"""Server-Sent Events on `tether serve`: curl and Python's http.client read
/sse; Last-Event-ID resumes; nginx in front with a short proxy_read_timeout
keeps a quiet stream open only while heartbeat comments flow.

Timing bounds are the configured values plus a stated tolerance (TOL).
"""
import http.client
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402
from test_websocket import NginxProxy, TOL  # noqa: E402


def setUpModule():
    harness.tether_bin()


def open_stream(port, path, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    return conn, conn.getresponse()


def read_events(resp, n):
    """The first n events (dicts of their fields), skipping comments."""
    events, fields = [], {}
    while len(events) < n:
        line = resp.readline().decode()
        if line == "":
            break
        line = line.rstrip("\n")
        if line == "":
            if fields:
                events.append(fields)
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


class EventStreamTest(unittest.TestCase):
    def test_curl_reads_a_stream_the_server_ends(self):
        with Server() as s:
            out = subprocess.run(
                ["curl", "-sS", "-N", "--max-time", "10", s.url("/sse?ms=100&count=3")],
                capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)  # the last chunk arrived
            self.assertTrue(out.stdout.startswith("retry: 1000\n\n"), out.stdout)
            ids = [ln[4:] for ln in out.stdout.splitlines() if ln.startswith("id: ")]
            self.assertEqual(ids, ["1", "2", "3"])
            st = s.wait_status(lambda d: d["closes"]["sse_ended"] == 1, what="ended stream")
            self.assertEqual(st["event_streams"]["events_sent"], 3)

    def test_last_event_id_resumes_after_it(self):
        with Server() as s:
            conn, resp = open_stream(s.port, "/sse?ms=50", {"Last-Event-ID": "41"})
            try:
                self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
                events = read_events(resp, 3)
            finally:
                resp.close()  # the response holds the socket's file too
                conn.close()
            self.assertEqual(events[0], {"retry": "1000"})
            self.assertEqual([e["id"] for e in events[1:]], ["42", "43"])
            self.assertEqual(events[1]["event"], "tick")
            s.wait_status(lambda d: d["connections"]["event_stream"] == 0, what="client left")

    def test_heartbeats_every_interval_while_no_event_is_due(self):
        with Server("--sse-heartbeat", "200ms") as s:
            conn, resp = open_stream(s.port, "/sse?ms=3600000")
            try:
                resp.readline()  # retry
                resp.readline()
                t0 = time.monotonic()
                self.assertEqual(resp.readline(), b": heartbeat\n")
                resp.readline()
                self.assertEqual(resp.readline(), b": heartbeat\n")
                took = time.monotonic() - t0
            finally:
                resp.close()  # the response holds the socket's file too
                conn.close()
            self.assertGreater(took, 0.4 - 0.1)
            self.assertLess(took, 0.4 + TOL)


class BehindNginxTest(unittest.TestCase):
    def test_heartbeats_outlive_proxy_read_timeout_and_silence_does_not(self):
        quiet = 3.5 * NginxProxy.READ_TIMEOUT
        with Server("--sse-heartbeat", "500ms") as beating, \
                Server("--sse-heartbeat", "0") as silent:
            proxies = [NginxProxy(beating.port), NginxProxy(silent.port)]
            results = {}
            try:
                for p in proxies:
                    p.start()

                def watch(name, port):
                    conn, resp = open_stream(port, "/sse?ms=3600000", timeout=quiet + 5)
                    t0 = time.monotonic()
                    comments = 0
                    try:
                        while time.monotonic() - t0 < quiet:
                            line = resp.readline()
                            if line == b"":
                                break
                            comments += line == b": heartbeat\n"
                    except (OSError, http.client.HTTPException):
                        pass
                    finally:
                        resp.close()
                        conn.close()
                    results[name] = (time.monotonic() - t0, comments)
                threads = [threading.Thread(target=watch, args=("beating", proxies[0].port)),
                           threading.Thread(target=watch, args=("silent", proxies[1].port))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(quiet + 10)
            finally:
                for p in proxies:
                    p.cleanup()
            lasted, comments = results["beating"]
            self.assertGreaterEqual(lasted, quiet - 0.1, "the stream with heartbeats stayed")
            self.assertGreaterEqual(comments, 5)
            cut, _ = results["silent"]
            self.assertGreater(cut, NginxProxy.READ_TIMEOUT - TOL)
            self.assertLess(cut, NginxProxy.READ_TIMEOUT + TOL + 1.0,
                            "the control without heartbeats is cut at proxy_read_timeout")


if __name__ == "__main__":
    unittest.main()
