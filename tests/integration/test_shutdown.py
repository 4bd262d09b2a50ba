"""Graceful shutdown on SIGTERM (and SIGINT): stop accepting, finish what is
in flight with Connection: close, serve requests that arrive on idle
connections within the grace period, close idle connections, exit 0 within
--shutdown-timeout.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof, NoResponse, TOL  # noqa: E402

WRK_DURATION = 4        # seconds of load
SIGTERM_AFTER = 1.5     # seconds into the load
SIGNAL_SETTLE = 0.3     # time for the server to receive and act on a signal
DEFAULT_SHUTDOWN_TIMEOUT = 10.0


def setUpModule():
    harness.tether_bin()


def parse_wrk(output):
    """The numbers wrk prints: completed requests, socket errors, non-2xx/3xx."""
    m = re.search(r"(\d+) requests in", output)
    result = {"requests": int(m.group(1)) if m else 0,
              "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        result.update(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if m:
        result["non2xx"] = int(m.group(1))
    return result


class ShutdownUnderLoadTest(unittest.TestCase):

    def test_wrk_sigterm_mid_run(self):
        srv = self.enterContext(Server("--keepalive-requests", "1000000"))
        cmd = ["wrk", "-t1", "-c32", f"-d{WRK_DURATION}s", "--timeout", "2s",
               srv.url("/plaintext")]
        wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=harness.clean_env())
        self.addCleanup(lambda: wrk.poll() is None and wrk.kill())  # only our wrk, by PID
        time.sleep(SIGTERM_AFTER)
        srv.send_signal(signal.SIGTERM)
        code = srv.wait_exit(DEFAULT_SHUTDOWN_TIMEOUT + TOL)
        out, _ = wrk.communicate(timeout=WRK_DURATION + 10)
        self.assertEqual(code, 0, srv.stderr_text())
        self.assertLessEqual(srv.stop_elapsed, DEFAULT_SHUTDOWN_TIMEOUT + TOL)

        res = parse_wrk(out)
        self.assertGreater(res["requests"], 0, out)
        self.assertEqual(res["non2xx"], 0, out)
        self.assertEqual(res["timeout"], 0, out)
        # After SIGTERM the listener is closed.  Each wrk connection that gets
        # its final `Connection: close` response reconnects, and keeps
        # reconnecting until the 4 s are over.  Those refused reconnects are
        # expected, but wrk 4.1 does NOT count them as "connect" errors: on
        # Linux a non-blocking connect() to 127.0.0.1 returns EINPROGRESS, wrk
        # then writes the request and counts the ECONNREFUSED as a *write*
        # (occasionally *read*) error.  (Verified with a stub server that
        # answers `Connection: close` and closes its listener: wrk reported
        # "connect 0, read 2, write 152832".)  So wrk's read/write counts
        # cannot tell a lost response from a refused reconnect, and are not
        # asserted here; test_python_load_sigterm_mid_run makes that exact
        # distinction for the same scenario.
        print(f"\nwrk: {res}", file=sys.stderr)

    def test_python_load_sigterm_mid_run(self):
        """The wrk scenario with a client that classifies every failure:
        a refused connect after SIGTERM is fine; a request sent on an open
        connection that gets no complete 200 is a lost response."""
        srv = self.enterContext(Server("--keepalive-requests", "1000000"))
        clients, deadline = 16, time.monotonic() + WRK_DURATION
        lock = threading.Lock()
        stats = {"ok": 0, "closes": 0, "refused": 0}
        errors = []

        def worker(n):
            conn = None
            try:
                while time.monotonic() < deadline:
                    if conn is None:
                        try:
                            conn = srv.connect()
                        except ConnectionRefusedError:
                            with lock:
                                stats["refused"] += 1
                            return  # the listener is gone: this client is done
                    try:
                        conn.send(build_request("GET", "/plaintext"))
                        resp = conn.read_response()
                    except (NoResponse, OSError) as e:
                        with lock:
                            errors.append(f"client {n}: request lost: {e!r}")
                        return
                    if resp.status != 200 or resp.body != b"Hello, World!":
                        with lock:
                            errors.append(f"client {n}: bad response {resp!r}")
                        return
                    with lock:
                        stats["ok"] += 1
                    if resp.closes:
                        res = conn.read_until_eof(2)
                        if res.outcome != "eof" or res.data:
                            with lock:
                                errors.append(f"client {n}: unclean close {res!r}")
                        with lock:
                            stats["closes"] += 1
                        conn.close()
                        conn = None
            finally:
                if conn is not None:
                    conn.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(SIGTERM_AFTER)
        srv.send_signal(signal.SIGTERM)
        code = srv.wait_exit(DEFAULT_SHUTDOWN_TIMEOUT + TOL)
        for t in threads:
            t.join(WRK_DURATION + 10)
        self.assertEqual(errors, [])
        self.assertEqual(code, 0, srv.stderr_text())
        self.assertGreater(stats["ok"], 0)
        # Every client was busy at SIGTERM: each must have been told to close
        # (a final response with Connection: close), and its reconnect then
        # found the listener closed.
        self.assertGreaterEqual(stats["closes"], clients, stats)
        self.assertEqual(stats["refused"], clients, stats)


class ShutdownConnectionsTest(unittest.TestCase):
    GRACE = 2.0  # --keepalive-grace: long enough to act within it reliably

    def test_in_flight_idle_and_late_requests(self):
        srv = self.enterContext(Server("--keepalive-grace", "2s"))
        idle_silent = srv.connect()   # will send nothing more
        idle_late = srv.connect()     # will send a request after SIGTERM
        for c in (idle_silent, idle_late):
            self.addCleanup(c.close)
            self.assertEqual(c.request("GET", "/plaintext").status, 200)
        in_flight = srv.connect()
        self.addCleanup(in_flight.close)
        in_flight.send(build_request("GET", "/delay?ms=1000"))
        time.sleep(0.2)  # the delayed request is now being processed

        term_at = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        time.sleep(SIGNAL_SETTLE)

        # It stops accepting: the listening socket is closed.
        with self.assertRaises(ConnectionRefusedError, msg="still accepting after SIGTERM"):
            socket.create_connection((srv.host, srv.port), timeout=2).close()

        # A request arriving on an idle connection within the grace period is
        # served, with Connection: close.
        resp = idle_late.request("GET", "/plaintext")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.closes, resp.headers)
        assert_clean_eof(self, idle_late, msg="late idle connection:")

        # The in-flight request completes normally but closes the connection.
        resp = in_flight.read_response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.closes, resp.headers)
        assert_clean_eof(self, in_flight, msg="in-flight connection:")

        # The silent idle connection is closed by the end of the grace period.
        res = idle_silent.read_until_eof(self.GRACE + TOL + 2)
        self.assertEqual(res.outcome, "eof", res)
        self.assertEqual(res.data, b"", res)
        self.assertLessEqual(res.t_end - term_at, self.GRACE + TOL, "idle connection outlived grace")

        self.assertEqual(srv.wait_exit(DEFAULT_SHUTDOWN_TIMEOUT), 0, srv.stderr_text())
        self.assertLessEqual(srv.stop_elapsed, DEFAULT_SHUTDOWN_TIMEOUT + TOL)

    def test_shutdown_timeout_bounds_exit(self):
        # A request that would take 5 s cannot hold the exit past --shutdown-timeout 1s.
        srv = self.enterContext(Server("--shutdown-timeout", "1s"))
        c = srv.connect(timeout=8)
        self.addCleanup(c.close)
        c.send(build_request("GET", "/delay?ms=5000"))
        time.sleep(0.2)
        srv.send_signal(signal.SIGTERM)
        self.assertEqual(srv.wait_exit(5), 0, srv.stderr_text())
        self.assertLessEqual(srv.stop_elapsed, 1.0 + TOL)
        res = c.read_until_eof(2)
        self.assertNotEqual(res.outcome, "timeout", "connection left open after exit?")
        self.assertNotIn(b"200 OK", res.data[:64], "the 5 s request cannot have completed")

    def test_sigint_exits_zero(self):
        srv = self.enterContext(Server())
        with srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)
        self.assertEqual(srv.stop(signal.SIGINT), 0, srv.stderr_text())

    def test_says_what_it_drains_and_when_it_stopped(self):
        srv = self.enterContext(Server("--shutdown-timeout", "2s"))
        idle = srv.connect()
        self.addCleanup(idle.close)
        self.assertEqual(idle.request("GET", "/plaintext").status, 200)
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.stderr_text())
        err = srv.stderr_text()
        self.assertIn("tether: SIGTERM: draining 1 connection (up to 2 s)\n", err)
        self.assertIn("tether: stopped (1 connection, 1 request served)\n", err)
        self.assertLess(err.index("draining"), err.index("stopped"), err)

    def test_idle_server_exits_promptly(self):
        # With nothing in flight and no connections, no reason to wait.
        srv = self.enterContext(Server())
        self.assertEqual(srv.stop(), 0)
        self.assertLessEqual(srv.stop_elapsed, 1.0 + TOL)


if __name__ == "__main__":
    unittest.main()
