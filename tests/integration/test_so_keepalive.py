"""`tether serve --so-keepalive / --tcp-user-timeout` on real loopback sockets.

The options are set on the listening socket; the kernel copies them to every
accepted socket.  The server side of a connection is observed with `ss`
(iproute2): its keepalive timer, and its segment counter, which grows by one
per keepalive probe while neither side sends data.  (TCP_USER_TIMEOUT itself
is not shown by ss; its inheritance is checked with getsockopt in
tests/unit/liveness/keepalive_profile_test.cpp.)  Dead-peer detection needs a
path that drops packets and lives in tests/netns/.
"""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, Conn  # noqa: E402

IDLE_S = 2  # --so-keepalive 2:1:3
RUN_TIMEOUT = 10.0


def server_socket_info(server_port, client_port):
    """`ss -tnoi` line(s) of the server's end of one connection, or ''."""
    r = subprocess.run(
        ["ss", "-tnoiH", "state", "established",
         f"( sport = :{server_port} and dport = :{client_port} )"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return " ".join(r.stdout.split())


def segs_out(info):
    m = re.search(r"\bsegs_out:(\d+)", info)
    if not m:
        raise AssertionError(f"no segs_out in ss output: {info!r}")
    return int(m.group(1))


def wait_for_probe(srv, conn, limit):
    """Seconds until the server's end sent a segment with no request pending
    (a keepalive probe), or None if none came within `limit` seconds."""
    start = time.monotonic()
    before = segs_out(server_socket_info(srv.port, conn.local_port))
    while time.monotonic() - start < limit:
        time.sleep(0.05)
        if segs_out(server_socket_info(srv.port, conn.local_port)) > before:
            return time.monotonic() - start
    return None


class SoKeepaliveTest(unittest.TestCase):

    def test_accepted_socket_probes_after_idle(self):
        srv = self.enterContext(Server("--so-keepalive", "2:1:3", "--tcp-user-timeout", "4s",
                                       "--keepalive-timeout", "30s"))
        with Conn(port=srv.port) as c:
            self.assertEqual(c.request().status, 200)
            info = server_socket_info(srv.port, c.local_port)
            self.assertIn("timer:(keepalive,", info)
            # The system default idle is hours; a probe after ~2 s proves the
            # listener's TCP_KEEPIDLE reached the accepted socket.
            waited = wait_for_probe(srv, c, IDLE_S + 1.5)
            self.assertIsNotNone(waited, "no keepalive probe within idle + 1.5 s")
            self.assertLessEqual(waited, IDLE_S + harness.TOL + 0.5)
            # The client's kernel answers each probe, so a healthy idle
            # connection outlives the user timeout (4 s) and the probe window.
            time.sleep(5.0 - waited)
            self.assertEqual(c.request().status, 200)
        st = srv.status()
        self.assertEqual(st["closes"]["keepalive_timeout"], 0)
        self.assertEqual(st["closes"]["user_timeout"], 0)

    def test_without_option_no_keepalive_timer(self):
        srv = self.enterContext(Server())
        with Conn(port=srv.port) as c:
            self.assertEqual(c.request().status, 200)
            info = server_socket_info(srv.port, c.local_port)
            self.assertTrue(info, "ss did not find the server socket")
            self.assertNotIn("keepalive", info)
            self.assertIsNone(wait_for_probe(srv, c, IDLE_S + 1.0))

    def test_status_reports_settings(self):
        srv = self.enterContext(Server("--so-keepalive", "2:1:3", "--tcp-user-timeout", "4s"))
        st = srv.status()
        s = st["settings"]
        self.assertEqual(s["so_keepalive"], "2s:1s:3")
        self.assertEqual((s["tcp_keepalive_idle_s"], s["tcp_keepalive_interval_s"],
                          s["tcp_keepalive_count"]), (2, 1, 3))
        self.assertEqual(s["tcp_user_timeout_ms"], 4000)
        self.assertIn("keepalive_timeout", st["closes"])
        self.assertIn("user_timeout", st["closes"])
        default = self.enterContext(Server()).status()["settings"]
        self.assertEqual(default["so_keepalive"], "off")
        self.assertEqual(default["tcp_user_timeout_ms"], 0)

    def test_milliseconds_round_up_with_warning(self):
        srv = self.enterContext(Server("--so-keepalive", "1500ms::3"))
        self.assertEqual(srv.status()["settings"]["tcp_keepalive_idle_s"], 2)
        self.assertIn("rounded up to 2s", srv.stderr_text())

    def test_bad_values_exit_2(self):
        for args in (["--so-keepalive", "0:1:3"], ["--so-keepalive", "1:1:128"],
                     ["--so-keepalive", "x"], ["--tcp-user-timeout", "forever"],
                     ["--tcp-user-timeout", "30d"]):
            with self.subTest(args=args):
                r = subprocess.run([harness.tether_bin(), "serve", "--listen", "127.0.0.1:0",
                                    *args], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                err = r.stderr.strip().splitlines()
                self.assertEqual(len(err), 1, r.stderr)
                self.assertTrue(err[0].startswith("tether: " + args[0] + ": "), err[0])
                self.assertNotIn("listening", r.stdout)


if __name__ == "__main__":
    unittest.main()
