"""`tether bench`: request counts, connection reuse, TIME_WAIT by side, open-loop
rate, errors, and option handling, against a `tether serve` started on port 0.

TIME_WAIT counts are per port (the server's, chosen by the kernel for this test),
so tests running in parallel do not disturb each other's deltas.
"""

import json
import os
import pty
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402

RUN_TIMEOUT = 60  # seconds: bound for one bench process (the runs below take < 5 s)


def setUpModule():
    harness.tether_bin()


def bench(*args, timeout=RUN_TIMEOUT):
    """Runs `tether bench ARGS`; returns the CompletedProcess (text)."""
    cmd = [harness.tether_bin(), "bench", *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def free_closed_port():
    """A port nobody listens on: bound by us, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawServer:
    """A loopback server for what `tether serve` will not do: it records the
    bytes of every connection and either answers each request with an empty
    200 (`answer=True`) or closes after the first read without answering."""

    def __init__(self, answer):
        self.answer = answer
        self.received = []  # bytes per connection, in accept order
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + RUN_TIMEOUT  # bounded even if nobody stops us
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(2.0)
                self.received.append(b"")
                try:
                    self._serve(conn)
                except OSError:
                    pass

    def _serve(self, conn):
        while True:
            data = conn.recv(65536)
            if not data:
                return
            self.received[-1] += data
            if not self.answer:
                return  # close with the request unanswered
            if b"\r\n\r\n" in self.received[-1]:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


class BenchTest(unittest.TestCase):

    def server(self, *args):
        return self.enterContext(Server(*args))

    def run_json(self, *args, expect_rc=0):
        out = bench(*args, "--json")
        self.assertEqual(out.returncode, expect_rc, f"stdout={out.stdout!r} stderr={out.stderr!r}")
        self.assertNotIn("\r", out.stdout, "no progress line when stdout is not a terminal")
        return json.loads(out.stdout)

    def test_so_keepalive_applies_to_the_load_connections(self):
        # Two connections at 1 request/s idle well past the 1 s keepalive idle time:
        # the client sockets (remote port = the server's) must carry a keepalive timer.
        srv = self.server()
        cmd = [harness.tether_bin(), "bench", srv.url("/plaintext"), "-c", "2", "--rate", "1",
               "-d", "4s", "--so-keepalive", "1:1:3", "--tcp-user-timeout", "5s", "--json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = ""
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and "keepalive" not in seen:
                time.sleep(0.2)
                seen = subprocess.run(["ss", "-tnoH", "state", "established",
                                       f"( dport = :{srv.port} )"],
                                      capture_output=True, text=True).stdout
            self.assertIn("timer:(keepalive", seen)
        finally:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(json.loads(out)["errors"]["total"], 0)

    def test_refused_connects_are_said_in_words(self):
        with socket.socket() as s:  # a port nothing listens on once closed
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/plaintext"
        for extra in ([], ["--json"]):
            with self.subTest(json=bool(extra)):
                res = subprocess.run([harness.tether_bin(), "bench", url, "-c", "1", "-d", "300ms",
                                      *extra], capture_output=True, text=True, timeout=RUN_TIMEOUT)
                self.assertEqual(res.returncode, 1, res)
                self.assertEqual(res.stderr.strip(),
                                 f"tether: bench: no request succeeded: connecting to "
                                 f"127.0.0.1:{port} failed: Connection refused")
                if extra:
                    self.assertEqual(json.loads(res.stdout)["errors"]["connect_error"],
                                     "Connection refused")
                else:
                    self.assertIn("1 connection, 1 thread,", res.stdout)
                    self.assertRegex(res.stdout, r"errors +\d+ \(connect \d+: Connection refused,")

    def test_exact_request_count_on_reused_connections(self):
        srv = self.server()
        r = self.run_json(srv.url("/plaintext"), "-n", 2000, "-c", 8)
        self.assertEqual(r["requests"], 2000)
        self.assertEqual(r["status"]["2xx"], 2000)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertEqual(r["connections_opened"], 8)
        self.assertEqual(r["connections_used"], 8)
        self.assertEqual(r["reused_requests"], 2000 - 8)  # all but the first on each connection
        self.assertAlmostEqual(r["reused_share"], 0.996, places=3)
        self.assertEqual(r["requests_per_connection"], 250.0)
        self.assertEqual(r["latency_ms"]["count"], 2000)
        self.assertLessEqual(r["latency_ms"]["p50"], r["latency_ms"]["p99"])
        self.assertLessEqual(r["latency_ms"]["p99"], r["latency_ms"]["max"])
        # Every response is the same 13-byte /plaintext: bytes are a whole multiple.
        self.assertEqual(r["bytes_read"] % 2000, 0)
        # Keep-alive: the only closes are bench's own 8 at the end. The client closes
        # first there, so those 8 TIME_WAIT sockets are on the client side.
        tw = r["time_wait"]
        self.assertTrue(tw["available"])
        self.assertEqual(tw["client_side"]["delta"], 8, tw)
        self.assertEqual(tw["server_side"]["delta"], 0, tw)
        # The server agrees: 8 connections, 2000 requests.
        st = srv.status()["totals"]
        self.assertEqual(st["accepted"], 8 + 1)  # + the status request's own connection
        self.assertEqual(st["requests"], 2000 + 1)

    def test_no_keepalive_puts_time_wait_on_the_server(self):
        # Each request goes on a new connection with `Connection: close`. The server
        # answers and closes FIRST (its FIN), bench waits for that FIN before closing
        # its end (as ab does), so the active closer, and with it TIME_WAIT (RFC 9293
        # §3.6), is the server: one TIME_WAIT per request on the server side (local
        # port = the server's port), none on the client side.
        srv = self.server()
        r = self.run_json(srv.url("/plaintext"), "-n", 300, "-c", 4, "--no-keepalive")
        self.assertEqual(r["requests"], 300)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertEqual(r["connections_opened"], 300)
        self.assertEqual(r["reused_requests"], 0)
        self.assertEqual(r["requests_per_connection"], 1.0)
        tw = r["time_wait"]
        self.assertEqual(tw["server_side"]["delta"], 300, tw)
        self.assertEqual(tw["client_side"]["delta"], 0, tw)
        self.assertEqual(srv.status()["totals"]["accepted"], 300 + 1)

    def test_pipeline_batches(self):
        srv = self.server()
        r = self.run_json(srv.url("/plaintext"), "-n", 1600, "-c", 4, "--pipeline", 16)
        self.assertEqual(r["requests"], 1600)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertEqual(r["connections_opened"], 4)
        self.assertEqual(srv.status()["totals"]["requests"], 1600 + 1)

    def test_pipelined_requests_unanswered_before_a_close_are_sent_again(self):
        # The server answers 50 requests per connection, the 50th with
        # `Connection: close`, and processes none of the pipelined requests
        # behind it (RFC 9112 §9.6). They are neither responses nor errors:
        # bench sends them again, so -n still means 1000 responses.
        srv = self.server("--keepalive-requests", "50")
        r = self.run_json(srv.url("/plaintext"), "-n", 1000, "-c", 2, "--pipeline", 16)
        self.assertEqual(r["requests"], 1000)
        self.assertEqual(r["errors"]["total"], 0, r["errors"])
        # 20 connections serve 50 each; at the end the last requests may be
        # spread over both connections, neither of which then reaches 50.
        self.assertGreaterEqual(r["connections_opened"], 1000 // 50)
        self.assertLessEqual(r["connections_opened"], 1000 // 50 + 2)
        self.assertEqual(srv.status()["totals"]["requests"], 1000 + 1)  # none processed twice

    def test_every_unanswered_request_is_an_error(self):
        # A server that reads and closes without answering: with -n, responses
        # plus errors add up to N, pipelined or not.
        raw = RawServer(answer=False)
        self.addCleanup(raw.close)
        url = f"http://127.0.0.1:{raw.port}/"
        for extra in ([], ["--pipeline", 4]):
            r = self.run_json(url, "-n", 40, "-c", 2, *extra, expect_rc=1)
            self.assertEqual(r["requests"], 0, extra)
            self.assertEqual(r["errors"]["total"], 40, (extra, r["errors"]))
            self.assertEqual(r["errors"]["read"] + r["errors"]["reset"], 40, (extra, r["errors"]))

    def test_headers_and_body_file_on_the_wire(self):
        raw = RawServer(answer=True)
        self.addCleanup(raw.close)
        with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as f:
            f.write(b"line one\nline two\x00\xff")
        self.addCleanup(os.unlink, f.name)
        r = self.run_json(f"http://127.0.0.1:{raw.port}/p?q=1", "-n", 3, "-c", 1, "-m", "PUT",
                          "-H", "X-A: 1", "--header", "X-B: two words", "--body-file", f.name)
        self.assertEqual(r["requests"], 3)
        raw.close()
        self.assertEqual(len(raw.received), 1)  # one keep-alive connection
        one = (f"PUT /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{raw.port}\r\nX-A: 1\r\n"
               "X-B: two words\r\nContent-Length: 19\r\n\r\n").encode() + \
            b"line one\nline two\x00\xff"
        self.assertEqual(raw.received[0], one * 3)

    def test_progress_line_only_on_a_terminal(self):
        # On a terminal: one line rewritten in place (carriage return + erase to
        # end of line) while the run lasts, then the report.
        srv = self.server()
        master, slave = pty.openpty()
        proc = subprocess.Popen([harness.tether_bin(), "bench", srv.url("/plaintext"), "-c", "2",
                                 "-d", "2500ms", "--rate", "200"], stdout=slave,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        os.close(slave)
        try:
            out = harness.read_pty(master, RUN_TIMEOUT)
        finally:
            proc.wait(RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stderr.read())
        text = out.decode(errors="replace")
        progress = [p for p in text.split("\r") if "req/s" in p and "errors" in p]
        self.assertGreaterEqual(len(progress), 2, text)  # updated while running
        self.assertIn("\x1b[K", text)
        self.assertIn("latency ms", text)  # then the report
        # Off a terminal (the other tests), run_json asserts there is no "\r" at all.

    def test_rate_is_kept(self):
        srv = self.server()
        r = self.run_json(srv.url("/plaintext"), "--rate", 200, "-d", "2s", "-c", 8)
        # 200/s for 2 s = 400 intended requests; the last ones may still be in flight, or
        # due but waiting for one of the 8 connections after a scheduling stall of the
        # (sanitized, loaded) process, when the duration ends (dropped, as wrk does):
        # allow 10 %, a 200 ms stall.
        self.assertGreaterEqual(r["requests"], 360)
        self.assertLessEqual(r["requests"], 401)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertTrue(r["latency_ms"]["from_intended_send"])

    def test_rate_counts_queueing_from_the_intended_time(self):
        # One connection, 50 ms per response: at most 20 req/s get through, but 100/s are
        # intended. Coordinated omission would report ~50 ms; measured from the intended
        # send times, requests late in the run waited for the backlog and show it.
        srv = self.server()
        r = self.run_json(srv.url("/delay?ms=50"), "--rate", 100, "-d", "2s", "-c", 1,
                          "--timeout", "5s")
        self.assertGreater(r["requests"], 20)
        self.assertLess(r["requests"], 45)  # ~2 s / 50 ms, plus scheduling slack
        self.assertGreater(r["latency_ms"]["p90"], 500, r["latency_ms"])
        self.assertGreaterEqual(r["latency_ms"]["min"], 50 - 1)

    def test_warmup_is_excluded(self):
        # No per-connection request limit: with the default 1000, a fast warm-up used a
        # connection up, the server closed it and bench (rightly) counted the reconnect.
        srv = self.server("--keepalive-requests", "0")
        # A warm-up long enough that a slow (sanitized, loaded) start still connects inside it.
        r = self.run_json(srv.url("/plaintext"), "-n", 500, "-c", 2, "--warmup", "1s")
        self.assertEqual(r["requests"], 500)
        self.assertEqual(r["connections_opened"], 0)  # opened during the warm-up
        self.assertEqual(r["reused_requests"], 500)
        self.assertGreater(srv.status()["totals"]["requests"], 500 + 1)

    def test_human_report(self):
        srv = self.server()
        out = bench(srv.url("/plaintext"), "-n", 100, "-c", 2)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("\r", out.stdout)
        for word in ("requests     100 in", "req/s", "p99.9", "2xx 100", "errors       none",
                     "2 opened", "TIME_WAIT", "60 s"):
            self.assertIn(word, out.stdout)

    def test_head_responses_have_no_body(self):
        # A HEAD response carries Content-Length: 13 but no body; reading 13 more bytes
        # would take them from the next response (pipelined) or time out.
        srv = self.server()
        r = self.run_json(srv.url("/plaintext"), "-m", "HEAD", "-n", 400, "-c", 2,
                          "--pipeline", 4, "--timeout", "2s")
        self.assertEqual(r["requests"], 400)
        self.assertEqual(r["errors"]["total"], 0, r["errors"])
        self.assertEqual(r["status"]["2xx"], 400)
        self.assertEqual(r["connections_opened"], 2)

    def test_status_errors_are_counted(self):
        srv = self.server()
        r = self.run_json(srv.url("/no/such/page"), "-n", 50, "-c", 2)
        self.assertEqual(r["requests"], 50)
        self.assertEqual(r["status"]["4xx"], 50)
        self.assertEqual(r["errors"]["status_4xx"], 50)

    def test_closed_port_gives_connect_errors(self):
        port = free_closed_port()
        r = self.run_json(f"http://127.0.0.1:{port}/", "-n", 20, "-c", 2, expect_rc=1)
        self.assertEqual(r["requests"], 0)
        self.assertEqual(r["errors"]["connect"], 20)  # one per request that could not start
        self.assertEqual(r["errors"]["total"], 20)
        self.assertEqual(r["connections_opened"], 0)

    def test_server_killed_mid_run(self):
        srv = Server()
        srv.start()
        try:
            cmd = [harness.tether_bin(), "bench", srv.url("/plaintext"), "-d", "3s", "-c", "4",
                   "--json"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, text=True)
            try:
                # Killed once bench is under way (not after a fixed sleep: an ASan
                # bench on a loaded machine may not have sent a request in 1 s).
                # Reused requests only: the status polls are not (a connection each).
                srv.wait_status(lambda st: st["totals"]["reused_requests"] > 20, timeout=2.5,
                                what="bench's requests reach the server")
                srv.proc.send_signal(signal.SIGKILL)  # our server, by PID
                srv.proc.wait(10)
                out, err = proc.communicate(timeout=RUN_TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
        finally:
            srv.stop_elapsed = 0  # exited on purpose; __exit__ must not assert code 0
            srv._kill()
        self.assertEqual(proc.returncode, 0, err)
        r = json.loads(out)
        self.assertGreater(r["requests"], 0)
        e = r["errors"]
        # The 4 in-flight requests die with the process (reset or EOF), then every
        # reconnect is refused for the remaining ~2 s.
        self.assertGreaterEqual(e["reset"] + e["read"], 1, e)
        self.assertGreater(e["connect"], 10, e)
        self.assertEqual(e["parse"], 0, e)

    def interrupt(self, sig, *args):
        """Starts a 60 s run, waits until the server has answered some of its requests,
        sends `sig` to bench (by PID); returns (returncode, stdout, stderr, seconds from
        the signal to the exit)."""
        srv = self.server()
        cmd = [harness.tether_bin(), "bench", srv.url("/plaintext"), "-c", "2", "-d", "60s",
               "--rate", "200", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        try:
            # Reused requests only: the status polls are not (a connection each), so
            # they cannot satisfy this before bench is under way (signals blocked).
            srv.wait_status(lambda st: st["totals"]["reused_requests"] > 20, timeout=20,
                            what="bench's requests reach the server")
            sent = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
            return proc.returncode, out, err, time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)

    def test_ctrl_c_stops_the_run_and_reports_the_results_so_far(self):
        rc, out, err, took = self.interrupt(signal.SIGINT, "--json")
        self.assertEqual(rc, 0, err)
        r = json.loads(out)
        self.assertTrue(r["interrupted"], r)
        self.assertGreater(r["requests"], 0)
        self.assertLess(r["elapsed_s"], 30)
        self.assertLess(took, 10)  # the poll interval and the TIME_WAIT settling, not 60 s

    def test_sigterm_stops_the_run_with_the_human_report(self):
        rc, out, err, took = self.interrupt(signal.SIGTERM)
        self.assertEqual(rc, 0, err)
        self.assertIn("(interrupted: results so far)", out)
        self.assertIn("latency ms", out)
        self.assertLess(took, 10)

    def test_timeout(self):
        srv = self.server()
        r = self.run_json(srv.url("/delay?ms=3000"), "-n", 2, "-c", 2, "--timeout", "300ms",
                          expect_rc=1)  # nothing succeeded
        self.assertEqual(r["requests"], 0)
        self.assertGreaterEqual(r["elapsed_s"], 0.3 - harness.EARLY_TOL)
        self.assertLess(r["elapsed_s"], 0.3 + harness.TOL)
        self.assertEqual(r["errors"]["timeout"], 2)

    def test_bad_options_exit_2_with_one_line(self):
        srv = self.server()
        url = srv.url("/plaintext")
        cases = [
            ["ftp://127.0.0.1/"],
            ["https://127.0.0.1/", "--cacert", "/nonexistent/ca.pem"],
            [url, "-c", "0"],
            [url, "-d", "1s", "-n", "10"],
            [url, "--rate", "10", "--pipeline", "2"],
            [url, "--no-keepalive", "--pipeline", "2"],
            [url, "--timeout", "soon"],
            [url, "--body-file", "/nonexistent/body"],
            [url, "-H", "bad header"],
            [url, "--no-such-option"],
            [],
        ]
        for args in cases:
            out = bench(*args, timeout=10)
            self.assertEqual(out.returncode, 2, (args, out.stdout, out.stderr))
            self.assertEqual(len(out.stderr.strip().splitlines()), 1, (args, out.stderr))
            self.assertEqual(out.stdout, "", args)
        self.assertEqual(srv.status()["totals"]["accepted"], 1)  # nothing was sent


if __name__ == "__main__":
    unittest.main()
