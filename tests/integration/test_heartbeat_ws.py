"""`tether heartbeat connect ws://…`: WebSocket ping/pong as the heartbeat,
against `tether serve`, a Python `websockets` server and nginx as a WebSocket
proxy; the same events and exit codes as the tether protocol (0 done, 1 error,
3 heartbeat timeout, 5 peer closed).

Timing assertions use the configured bound plus harness.TOL (and never accept
an event before the bound minus harness.EARLY_TOL). Every process is started
here and ended by PID; every wait is bounded.
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import TOL, Server, tether_bin  # noqa: E402
from test_heartbeat import Client  # noqa: E402
from test_timeouts import TimeoutTestCase  # noqa: E402
from test_websocket import NginxProxy  # noqa: E402

# A websockets server (python3-websockets) on a free port that answers pings
# (the library does) and closes every connection with 4000 after 0.8 s.
PY_SERVER = r"""
import asyncio, websockets
async def handler(ws, *_):
    await asyncio.sleep(0.8)
    await ws.close(4000, "done here")
async def main():
    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
"""


def setUpModule():
    tether_bin()


class WebSocketHeartbeatTest(TimeoutTestCase):
    def client(self, url, *args, **kw):
        c = Client(url, *args, **kw)
        self.addCleanup(c.kill)
        return c

    def test_pings_to_tether_serve_measure_rtt_and_its_pings_are_answered(self):
        with Server("--ws-ping-interval", "0", "--ws-min-ping-interval", "100ms") as s:
            url = f"ws://127.0.0.1:{s.port}/ws/echo"
            c = self.client(url, "--interval", "200ms", "--timeout", "1s", "--duration", "1500ms")
            self.assertEqual(c.wait(), 0, c.text())
            ev = c.events()
            pongs = [e for e in ev if e["event"] == "pong"]
            self.assertGreaterEqual(len(pongs), 5, c.text())  # 1.5 s / 0.2 s = 7, minus scheduling
            for p in pongs:
                self.assertLess(p["rtt_ms"], 200, "loopback RTT")
            self.assertEqual([e for e in ev if e["event"] == "closed"][0]["reason"], "local")
            self.assertEqual(ev[-1]["pongs"], len(pongs))
            # DATA goes out as masked binary messages, which the echo returns.
            d = self.client(url, "--send-rate", "2k", "--duration", "1s")
            self.assertEqual(d.wait(), 0, d.text())
            self.assertGreater(d.events()[-1]["data_bytes_sent"], 1000)
            st = s.wait_status(lambda d: d["websocket"]["closes_by_code"]["1000"] == 2,
                               what="the clients' 1000 closes")
            self.assertGreaterEqual(st["websocket"]["messages_received"], 2, "DATA as messages")
            self.assertEqual(st["closes"]["ws_protocol_error"], 0, "masked, valid frames")

        with Server("--ws-ping-interval", "200ms") as s:
            # Quiet client (--interval off): the server's pings are answered (and
            # are no strikes: they come slower than --min-ping-interval).
            c = self.client(f"ws://127.0.0.1:{s.port}/ws/echo", "--interval", "off",
                            "--min-ping-interval", "100ms", "--duration", "1200ms")
            self.assertEqual(c.wait(), 0, c.text())
            st = s.wait_status(lambda d: d["websocket"]["pongs_received"] >= 3, what="pongs")
            self.assertEqual(st["closes"]["ws_ping_timeout"], 0)

    def test_a_stopped_server_is_a_heartbeat_timeout(self):
        interval, timeout = 0.5, 1.0
        with Server("--ws-ping-interval", "0", "--ws-min-ping-interval", "100ms") as s:
            c = self.client(f"ws://127.0.0.1:{s.port}/ws/echo", "--interval", "500ms",
                            "--timeout", "1s")
            c.wait_event("pong", timeout=5)
            os.kill(s.proc.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            try:
                code = c.wait(interval + timeout + TOL + 5)
                detected = time.monotonic() - stopped
            finally:
                os.kill(s.proc.pid, signal.SIGCONT)
            self.assertEqual(code, 3, c.text())
            closed = c.wait_event("closed", timeout=0)
            self.assertEqual(closed["reason"], "heartbeat_timeout")
            self.assertWithin(closed["since_last_read_ms"] / 1000, interval + timeout,
                              "silence at death")
            self.assertLessEqual(detected, interval + timeout + TOL)

    def test_a_python_websockets_server_answers_and_its_close_code_is_reported(self):
        srv = subprocess.Popen([sys.executable, "-c", PY_SERVER], stdout=subprocess.PIPE,
                               preexec_fn=harness._die_with_parent)
        try:
            port = int(srv.stdout.readline())
            c = self.client(f"ws://127.0.0.1:{port}/", "--interval", "200ms", "--timeout", "1s")
            self.assertEqual(c.wait(), 5, c.text())
        finally:
            srv.kill()
            srv.wait()
            srv.stdout.close()
        ev = c.events()
        self.assertGreaterEqual(len([e for e in ev if e["event"] == "pong"]), 2, c.text())
        closed = [e for e in ev if e["event"] == "closed"][0]
        self.assertEqual(closed["reason"], "peer_closed")
        self.assertEqual(closed["detail"], "the server closed the WebSocket: 4000 application "
                                           "code (done here)")

    def test_a_refused_upgrade_exits_1_naming_the_status(self):
        with Server() as s:
            # A route that is not a WebSocket answers as usual, and that is no 101.
            c = self.client(f"ws://localhost:{s.port}/plaintext", json_events=False)
            self.assertEqual(c.wait(), 1, c.text())
            self.assertIn("closed: error", c.text())
            self.assertIn("the server answered 200 OK instead of 101 Switching Protocols",
                          c.text())

    def test_behind_nginx_pings_outlive_proxy_read_timeout_and_silence_is_cut(self):
        with Server("--ws-ping-interval", "0", "--ws-min-ping-interval", "500ms") as s:
            proxy = NginxProxy(s.port)
            try:
                proxy.start()
                url = f"ws://127.0.0.1:{proxy.port}/ws/echo"
                quiet = 2.5 * NginxProxy.READ_TIMEOUT
                alive = self.client(url, "--interval", "1s", "--duration", f"{quiet}s")
                silent = self.client(url, "--interval", "off")
                self.assertEqual(alive.wait(), 0, alive.text())
                self.assertEqual(silent.wait(), 5, silent.text())
            finally:
                proxy.cleanup()
        closed = silent.wait_event("closed", timeout=0)
        self.assertEqual(closed["reason"], "peer_closed")
        cut = closed["since_last_read_ms"] / 1000
        self.assertGreaterEqual(cut, NginxProxy.READ_TIMEOUT - harness.EARLY_TOL)
        self.assertLessEqual(cut, NginxProxy.READ_TIMEOUT + TOL + 1.0,  # nginx's timer slack
                             "nginx cuts a silent WebSocket at proxy_read_timeout")

    def test_pinging_faster_than_the_server_allows_is_too_many_pings(self):
        # tether serve's default --ws-min-ping-interval is 5 s, 2 strikes.
        with Server("--ws-ping-interval", "0") as s:
            c = self.client(f"ws://127.0.0.1:{s.port}/ws/echo", "--interval", "300ms")
            self.assertEqual(c.wait(), 5, c.text())
            closed = c.wait_event("closed", timeout=0)
            self.assertEqual(closed["reason"], "too_many_pings")
            self.assertIn("1008", closed["detail"])

    def test_bad_urls_and_roles_are_refused_with_exit_2(self):
        cases = [
            (["heartbeat", "connect", "wss://127.0.0.1:1/"], "wss:// is not supported yet"),
            (["heartbeat", "connect", "ws://[::1/"], "invalid URL"),
            (["heartbeat", "connect", "ws://no-such-host.invalid/"], "no-such-host.invalid"),
            (["heartbeat", "serve", "--listen", "ws://127.0.0.1:0/"], "--listen: a numeric"),
        ]
        for args, message in cases:
            r = subprocess.run([tether_bin(), *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(message, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
