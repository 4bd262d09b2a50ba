"""`tether heartbeat serve` / `connect` on loopback: pongs and RTT, hung peers
(SIGSTOP) in both directions, a crashed server, a ping flood, data in flight
with TCP_USER_TIMEOUT, and bad options.

Timing assertions use the configured bound plus harness.TOL (0.3 s: loop
scheduling on a shared 2-core machine under ASan; the heartbeat timers are
millisecond precise), and never accept an event earlier than the bound minus
harness.EARLY_TOL.  Every process is started here and ended by PID; every wait
is bounded.
"""

import json
import os
import signal
import urllib.request
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import TOL, tether_bin  # noqa: E402
from test_timeouts import TimeoutTestCase  # noqa: E402  (assertWithin: bound - EARLY_TOL .. + TOL)

EXIT_TIMEOUT = 15.0


def setUpModule():
    tether_bin()


class HbServer(harness.Server):
    """One `tether heartbeat serve --listen 127.0.0.1:0 <args>`; exit 0 on SIGTERM."""

    def command(self):
        cmd = [tether_bin(), "heartbeat", "serve"]
        for addr in self.listen:
            cmd += ["--listen", addr]
        return cmd + self.args

    def events(self):
        out = []
        for line in self.stdout_lines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_event(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events():
                if predicate(ev):
                    return ev
            time.sleep(0.02)
        raise AssertionError(f"server never reported {what} within {timeout}s; events: "
                             f"{self.events()}\n--- stderr ---\n{self.stderr_text()}")


    def wait_stderr(self, text, timeout=2.0):
        """stderr is drained by its own thread: give it a bounded moment."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.stderr_text()


class Client:
    """One `tether heartbeat connect` process with --json; its events carry
    the monotonic time at which the test read them (`seen`)."""

    def __init__(self, target, *args, json_events=True):
        # `target`: a port on 127.0.0.1, or a ws:// URL.
        address = target if isinstance(target, str) else f"127.0.0.1:{target}"
        cmd = [tether_bin(), "heartbeat", "connect", address, *map(str, args)]
        if json_events:
            cmd.append("--json")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=harness._die_with_parent)
        self.lines = []
        self.stderr = b""
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))
                self.cond.notify_all()

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def events(self):
        with self.cond:
            return [dict(json.loads(line), seen=t) for t, line in self.lines if line.startswith("{")]

    def text(self):
        with self.cond:
            return "\n".join(line for _, line in self.lines)

    def wait_event(self, name, timeout=5.0, count=1):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events() if e["event"] == name]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._more_output():
                    raise AssertionError(f"client never reported {count} {name!r} event(s); "
                                         f"output:\n{self.text()}\nstderr: {self.stderr!r}")
                self.cond.wait(min(left, 0.05))

    def _more_output(self):
        return self.reader.is_alive()

    def wait(self, timeout=EXIT_TIMEOUT):
        """Exit code; kills the client (by PID) and fails when it does not exit in time."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"client did not exit within {timeout}s; output:\n{self.text()}")
        self._close_pipes()
        return code

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)
        self._close_pipes()

    def _close_pipes(self):
        self.reader.join(5)
        self.err_reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()

    def closed(self):
        return self.wait_event("closed", timeout=0)


class RawPeer:
    """A tiny protocol speaker (docs/heartbeat-protocol.md) for abusive clients."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=harness.IO_TIMEOUT)
        self.sock.sendall(b"\xb7\x01")
        self.buf = b""

    def ping(self, opaque):
        self.sock.sendall(struct.pack(">BBHQ", 1, 0, 8, opaque))

    def frames(self):
        """Decodes what has arrived: [(type, payload)], skipping the hello."""
        out = []
        data = self.buf
        if data[:2] == b"\xb7\x01":
            data = data[2:]
        while len(data) >= 4:
            ftype, _flags, length = struct.unpack(">BBH", data[:4])
            if len(data) < 4 + length:
                break
            out.append((ftype, data[4:4 + length]))
            data = data[4 + length:]
        return out

    def read_available(self, wait):
        """Reads for up to `wait` s; returns 'eof', 'reset' or 'open'."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return "open"
        except ConnectionResetError:
            return "reset"
        if not chunk:
            return "eof"
        self.buf += chunk
        return "open"

    def close(self):
        self.sock.close()


class HeartbeatTest(TimeoutTestCase):

    def server(self, *args):
        return self.enterContext(HbServer("--json", *args))

    def client(self, port, *args, **kw):
        c = Client(port, *args, **kw)
        self.addCleanup(c.kill)
        return c

    # -- normal operation -----------------------------------------------------

    def test_pongs_and_rtt(self):
        srv = self.server("--min-ping-interval", "100ms")
        c = self.client(srv.port, "--interval", "200ms", "--timeout", "1s", "--duration", "1500ms")
        self.assertEqual(c.wait(), 0, c.text())
        ev = c.events()
        names = [e["event"] for e in ev]
        self.assertEqual(names[0], "connected")
        pongs = [e for e in ev if e["event"] == "pong"]
        self.assertGreaterEqual(len(pongs), 5, names)  # 1.5 s / 0.2 s = 7, minus scheduling
        for p in pongs:
            self.assertGreaterEqual(p["rtt_ms"], 0)
            self.assertLess(p["rtt_ms"], 200, "loopback RTT")
        times = [e["t"] for e in ev]
        self.assertEqual(times, sorted(times))
        closed = [e for e in ev if e["event"] == "closed"]
        self.assertEqual(closed[0]["reason"], "local")
        summary = ev[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual(summary["pongs"], len(pongs))
        rtts = sorted(p["rtt_ms"] for p in pongs)
        self.assertAlmostEqual(summary["rtt_ms"]["min"], rtts[0], places=3)
        self.assertAlmostEqual(summary["rtt_ms"]["max"], rtts[-1], places=3)
        # The server saw a clean goodbye, not a failure.
        bye = srv.wait_event(lambda e: e["event"] == "closed", 2, "the client's close")
        self.assertEqual(bye["reason"], "peer_closed", bye)

    def test_human_output_has_timestamps_and_rtt_summary(self):
        srv = self.server("--min-ping-interval", "100ms")
        c = self.client(srv.port, "--interval", "200ms", "--duration", "700ms", json_events=False)
        self.assertEqual(c.wait(), 0, c.text())
        out = c.text()
        self.assertRegex(out, r"\[\s*\d+\.\d{3}\] connected to 127\.0\.0\.1:\d+")
        self.assertRegex(out, r"pong rtt \d+\.\d{3} ms")
        self.assertRegex(out, r"rtt min/avg/max/p50 = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms")

    def test_server_pings_its_clients(self):
        # The client never pings (--interval off); the server does, and the
        # client answers, so nobody times out.
        srv = self.server("--interval", "200ms", "--timeout", "500ms")
        c = self.client(srv.port, "--interval", "off", "--duration", "1500ms",
                        "--min-ping-interval", "100ms")  # else it would strike the server
        self.assertEqual(c.wait(), 0, c.text())
        pongs = [e for e in srv.events() if e["event"] == "pong"]
        self.assertGreaterEqual(len(pongs), 4, srv.events())
        self.assertFalse([e for e in c.events() if e["event"] == "ping"])
        # It measured no round trip of its own: null, not zeros.
        summary = c.events()[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual(summary["pongs"], 0)
        self.assertIsNone(summary["rtt_ms"])

    def test_send_rate_streams_data_without_pings(self):
        # Data from the server is not involved: the client's reads stay silent,
        # so it still pings; the server forgives nothing here because it sends
        # no data, but 600 ms pings respect its 500 ms minimum.
        srv = self.server()
        c = self.client(srv.port, "--interval", "600ms", "--send-rate", "256k",
                        "--duration", "2s")
        self.assertEqual(c.wait(), 0, c.text())
        summary = c.events()[-1]
        self.assertEqual(summary["event"], "summary")
        # 2 s at 256 KiB/s, with one 100 ms burst allowance and tick granularity.
        self.assertGreater(summary["data_bytes_sent"], 0.7 * 2 * 256 * 1024)
        self.assertLess(summary["data_bytes_sent"], 1.3 * 2 * 256 * 1024)

    # -- hung peers (SIGSTOP: their kernel still ACKs) ---------------------------

    def test_sigstopped_server_is_detected_by_the_client(self):
        srv = self.server()
        interval, timeout = 0.5, 1.0
        c = self.client(srv.port, "--interval", "500ms", "--timeout", "1s")
        c.wait_event("pong", timeout=3)
        os.kill(srv.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            code = c.wait(interval + timeout + TOL + 5)
            detected = time.monotonic() - stopped
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        self.assertEqual(code, 3, c.text())
        hb = c.wait_event("heartbeat_timeout", timeout=0)
        closed = c.wait_event("closed", timeout=0)
        self.assertEqual(closed["reason"], "heartbeat_timeout")
        # Pings go out after `interval` of silence; death `timeout` later.
        self.assertWithin(hb["since_last_read_ms"] / 1000, interval + timeout, "silence at death")
        self.assertLessEqual(detected, interval + timeout + TOL)

    def test_sigcont_before_the_deadline_is_no_false_positive(self):
        srv = self.server()
        c = self.client(srv.port, "--interval", "500ms", "--timeout", "1s", "--duration", "3s")
        c.wait_event("pong", timeout=3)
        os.kill(srv.proc.pid, signal.SIGSTOP)
        time.sleep(0.8)  # < interval + timeout (a pause like a long GC)
        os.kill(srv.proc.pid, signal.SIGCONT)
        self.assertEqual(c.wait(), 0, c.text())

    def test_sigstopped_client_is_closed_by_the_server(self):
        srv = self.server("--interval", "500ms", "--timeout", "1s")
        c = self.client(srv.port, "--interval", "off")
        connected = srv.wait_event(lambda e: e["event"] == "connected", 3, "a connection")
        srv.wait_event(lambda e: e["event"] == "pong", 3, "a pong from the client")
        os.kill(c.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            closed = srv.wait_event(lambda e: e["event"] == "closed", 1.5 + TOL + 2,
                                    "the hung client's close")
            detected = time.monotonic() - stopped
        finally:
            os.kill(c.proc.pid, signal.SIGCONT)
        self.assertEqual(closed["reason"], "heartbeat_timeout", closed)
        self.assertEqual(closed["peer"], connected["peer"])
        self.assertWithin(closed["since_last_read_ms"] / 1000, 1.5, "silence at close")
        self.assertLessEqual(detected, 1.5 + TOL + 0.1)  # + event polling period
        line = f"tether: closed {connected['peer']}: heartbeat_timeout"
        self.assertIn(line, srv.wait_stderr(line))
        # Woken up, the client finds the server's goodbye: peer closed.
        self.assertEqual(c.wait(), 5, c.text())
        self.assertIn("heartbeat_timeout", c.wait_event("closed", timeout=0)["detail"])

    def test_metrics_count_pings_pongs_rtt_and_the_hung_client(self):
        srv = self.server("--interval", "500ms", "--timeout", "1s",
                          "--metrics-listen", "127.0.0.1:0")
        line = next(ln for ln in srv.stdout_lines() if ln.startswith("tether: metrics on "))
        url = line.split()[-1]

        def scrape():
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read().decode()
            values = {}
            for ln in body.splitlines():
                if ln and not ln.startswith("#"):
                    name, _, value = ln.rpartition(" ")
                    values[name] = float(value)
            return body, values

        live = self.client(srv.port, "--interval", "off")
        hung = self.client(srv.port, "--interval", "off")
        srv.wait_event(lambda e: e["event"] == "pong", 3, "a pong")
        os.kill(hung.proc.pid, signal.SIGSTOP)
        try:
            srv.wait_event(lambda e: e["event"] == "closed" and e["reason"] == "heartbeat_timeout",
                           1.5 + TOL + 2, "the hung client's close")
        finally:
            os.kill(hung.proc.pid, signal.SIGCONT)
        body, m = scrape()
        self.assertEqual(m["tether_heartbeat_sessions_accepted_total"], 2)
        self.assertEqual(m["tether_heartbeat_sessions"], 1, "the live client is still there")
        self.assertEqual(m['tether_heartbeat_sessions_closed_total{reason="heartbeat_timeout"}'], 1,
                         body + str(srv.events()))
        pongs = sum(1 for e in srv.events() if e["event"] == "pong")
        self.assertGreaterEqual(m["tether_heartbeat_pongs_received_total"], pongs)
        self.assertGreaterEqual(m["tether_heartbeat_pings_sent_total"],
                                m["tether_heartbeat_pongs_received_total"])
        self.assertEqual(m["tether_heartbeat_rtt_seconds_count"],
                         m["tether_heartbeat_pongs_received_total"])
        self.assertEqual(m['tether_heartbeat_rtt_seconds_bucket{le="+Inf"}'],
                         m["tether_heartbeat_rtt_seconds_count"])
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        live.kill()

    # -- crashes and resets -------------------------------------------------------

    def test_killed_server_is_noticed_at_once(self):
        srv = HbServer("--json")
        srv.start()
        self.addCleanup(srv.stop)
        c = self.client(srv.port, "--interval", "10s", "--timeout", "20s")
        c.wait_event("connected", timeout=3)
        srv.proc.kill()  # SIGKILL, our own child by PID
        killed = time.monotonic()
        code = c.wait(5)
        self.assertIn(code, (5, 6), c.text())
        self.assertLess(time.monotonic() - killed, 1.0 + TOL)
        self.assertIn(c.closed()["reason"], ("peer_closed", "peer_reset"))

    def test_connect_refused_exits_1(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, not listening: refused
            c = self.client(port)
            self.assertEqual(c.wait(5), 1)
        self.assertIn(b"cannot connect", c.stderr)

    def test_data_in_flight_to_a_hung_server_ends_in_user_timeout(self):
        # The server stops reading; the client streams until both socket
        # buffers are full, then only zero-window probes go out. Without the
        # heartbeat, TCP_USER_TIMEOUT is what ends it.
        srv = self.server()
        c = self.client(srv.port, "--interval", "off", "--send-rate", "64m",
                        "--tcp-user-timeout", "1s")
        c.wait_event("connected", timeout=3)
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            code = c.wait(20)
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        self.assertEqual(code, 4, c.text())
        self.assertEqual(c.closed()["reason"], "user_timeout")

    # -- ping flood (too_many_pings, as in gRPC) ----------------------------------

    def test_ping_flood_is_closed_with_too_many_pings(self):
        srv = self.server("--interval", "off", "--min-ping-interval", "500ms",
                          "--max-ping-strikes", "2")
        good = self.client(srv.port, "--interval", "600ms", "--duration", "2500ms")
        good.wait_event("pong", timeout=3)
        flood = RawPeer(srv.port)
        self.addCleanup(flood.close)
        outcome, sent = "open", 0
        deadline = time.monotonic() + 3
        while outcome == "open" and time.monotonic() < deadline:
            try:
                flood.ping(sent + 1)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            outcome = flood.read_available(0.01)  # one ping every ~10 ms
        while outcome == "open" and time.monotonic() < deadline:
            outcome = flood.read_available(0.1)
        self.assertIn(outcome, ("eof", "reset"), "the flood was never closed")
        # First ping valid, then 3 strikes > 2: the 4th ping closes (give or
        # take pings already in flight when the goodbye left).
        self.assertLessEqual(sent, 10)
        frames = flood.frames()
        pongs = [f for f in frames if f[0] == 2]
        goodbyes = [f for f in frames if f[0] == 4]
        self.assertEqual(len(goodbyes), 1, frames)
        self.assertEqual(goodbyes[0][1][0], 3, "GOODBYE reason code too_many_pings")
        self.assertEqual(len(pongs), 3, "pings before the limit were answered")
        closed = srv.wait_event(lambda e: e["event"] == "closed", 2, "the flood's close")
        self.assertEqual(closed["reason"], "too_many_pings")
        self.assertIn(": too_many_pings after", srv.wait_stderr(": too_many_pings after"))
        # The well-behaved client on the same server is untouched.
        self.assertEqual(good.wait(), 0, good.text())
        reasons = [e["reason"] for e in srv.events() if e["event"] == "closed"]
        self.assertEqual(sorted(reasons), ["peer_closed", "too_many_pings"], reasons)

    def test_client_reports_too_many_pings_from_the_server(self):
        srv = self.server("--min-ping-interval", "1s", "--max-ping-strikes", "1")
        c = self.client(srv.port, "--interval", "100ms")
        self.assertEqual(c.wait(5), 5, c.text())
        self.assertEqual(c.closed()["reason"], "too_many_pings")

    def test_garbage_is_a_protocol_error_not_a_crash(self):
        srv = self.server()
        with socket.create_connection((srv.host, srv.port), timeout=harness.IO_TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"\xb7\x01"))
        self.assertIn(b"\x04\x00", data)  # a GOODBYE frame
        closed = srv.wait_event(lambda e: e["event"] == "closed", 2, "the close")
        self.assertEqual(closed["reason"], "error")

    # -- signals and options --------------------------------------------------------

    def test_sigterm_stops_both_with_exit_0(self):
        srv = HbServer("--json")
        srv.start()
        c = self.client(srv.port, "--interval", "1s")
        c.wait_event("connected", timeout=3)
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(c.wait(5), 5, c.text())  # the server said goodbye
        self.assertIn("shutting_down", c.closed()["detail"])
        c2_srv = self.server()
        c2 = self.client(c2_srv.port)
        c2.wait_event("connected", timeout=3)
        c2.proc.send_signal(signal.SIGTERM)
        self.assertEqual(c2.wait(5), 0, c2.text())

    def test_bad_options_exit_2_with_one_line(self):
        cases = [
            ["serve"],
            ["serve", "--listen", "nowhere"],
            ["serve", "--listen", "127.0.0.1:0", "--interval", "often"],
            ["serve", "--listen", "127.0.0.1:0", "--timeout", "0"],
            ["serve", "--listen", "127.0.0.1:0", "--so-keepalive", "1:2:3:4"],
            ["connect"],
            ["connect", "localhost:1"],
            ["connect", "127.0.0.1:1", "--jitter", "90"],
            ["connect", "127.0.0.1:1", "--send-rate", "fast"],
            ["connect", "127.0.0.1:1", "--tcp-user-timeout", "soon"],
            ["connect", "127.0.0.1:1", "--missed-pings", "-1"],
            ["connect", "127.0.0.1:1", "--duration", "1x"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = subprocess.run([tether_bin(), "heartbeat", *args], capture_output=True,
                                   timeout=10, stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 2, r)
                lines = r.stderr.decode().strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith("tether: "), lines)


if __name__ == "__main__":
    unittest.main()
