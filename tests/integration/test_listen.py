"""Listening addresses: a port another process listens on is refused, unless
`--share-port` asks to join it (a restart handing the port over).

With SO_REUSEPORT on every listener (each worker binds its own), a second,
unrelated server on the same port would otherwise start, say "listening" and
silently take half of the connections.
"""

import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402


def run_serve(*args, timeout=10):
    """`tether serve ARGS` that is expected to exit by itself (it fails to start)."""
    return subprocess.run([harness.tether_bin(), "serve", *args], capture_output=True, text=True,
                          timeout=timeout)


class PortInUseTest(unittest.TestCase):
    def test_second_server_on_same_port_is_refused(self):
        first = self.enterContext(Server("--workers", "2"))
        res = run_serve("--listen", f"127.0.0.1:{first.port}", "--workers", "1")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertNotIn("listening on", res.stdout)
        self.assertIn(f"listen 127.0.0.1:{first.port}: Address already in use", res.stderr)
        self.assertIn("--share-port", res.stderr)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
        # The first server still serves.
        with first.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)

    def test_wildcard_over_a_loopback_listener_is_refused(self):
        first = self.enterContext(Server())
        res = run_serve("--listen", f"*:{first.port}")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("Address already in use", res.stderr)

    def test_port_held_by_another_program_is_refused(self):
        # A plain listener without SO_REUSEPORT (as most programs open one).
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            other.listen()
            res = run_serve("--listen", f"127.0.0.1:{other.getsockname()[1]}")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("Address already in use", res.stderr)

    def test_share_port_joins_on_purpose(self):
        first = self.enterContext(Server())
        second = self.enterContext(Server("--share-port", listen=(f"127.0.0.1:{first.port}",)))
        self.assertEqual(second.port, first.port)
        # Both accept: the kernel spreads new connections over the two processes.
        accepted = set()
        for _ in range(64):
            with first.connect() as c:
                self.assertEqual(c.request("GET", "/plaintext").status, 200)
            accepted = {srv.status()["totals"]["accepted"] > 0 for srv in (first, second)}
            if accepted == {True}:
                break
        self.assertEqual(accepted, {True}, "with --share-port both processes take connections")

    def test_handover_under_load_loses_no_connection_attempt(self):
        """The restart procedure: start the new server with --share-port, then
        SIGTERM the old one, while four clients open a new connection for
        every request. The old server accepts what its queue already holds
        before it closes its listener (a listener closed with connections in
        its queue resets them), so no attempt fails."""
        old = Server()
        old.start()
        port = old.port
        counts = {"ok": 0, "failed": []}
        lock = threading.Lock()
        stop = threading.Event()

        def client():
            for _ in range(20000):  # bounded; stopped by the event long before
                if stop.is_set():
                    return
                try:
                    with harness.connect(port) as c:
                        status = c.request("GET", "/plaintext",
                                           headers=[("Connection", "close")]).status
                    outcome = "ok" if status == 200 else f"status {status}"
                except (OSError, AssertionError) as e:
                    outcome = repr(e)
                with lock:
                    if outcome == "ok":
                        counts["ok"] += 1
                    else:
                        counts["failed"].append(outcome)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            new = self.enterContext(Server("--share-port", listen=(f"127.0.0.1:{port}",)))
            time.sleep(0.3)
            before = counts["ok"]
            self.assertEqual(old.stop(), 0)
            time.sleep(0.5)
            after_stop = counts["ok"] - before
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(counts["failed"], [], f"{counts['ok']} ok")
        self.assertGreater(after_stop, 50, "the load went on through the handover")
        self.assertGreater(new.status()["totals"]["accepted"], 50)

    def test_a_port_in_time_wait_is_not_in_use(self):
        # SO_REUSEADDR: a restart right after the old server closed connections binds.
        first = Server()
        first.start()
        port = first.port
        with first.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext", headers=[("Connection", "close")]).status,
                             200)
            c.read_until_eof(2)
        self.assertEqual(first.stop(), 0)
        again = self.enterContext(Server(listen=(f"127.0.0.1:{port}",)))
        self.assertEqual(again.port, port)


if __name__ == "__main__":
    unittest.main()
