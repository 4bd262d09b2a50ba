"""--io-backend: each event backend serves keep-alive, closes on time, and
says at start-up and in the status which one runs; bad values are usage
errors; TETHER_IO_BACKEND sets the default.

The default is auto (io_uring where the kernel allows it). CI runs the whole
suite on both: the asan stage on the default, the tsan stage with
TETHER_IO_BACKEND=epoll (scripts/test.sh).
"""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, assert_clean_eof  # noqa: E402

TOL = float(os.environ.get("TETHER_TEST_TOL", "0.5"))
IDLE_CLOSE = 1.0 + 0.2  # --keepalive-timeout 1s + --keepalive-grace 200ms
AUTO_LINE = re.compile(r"^tether: event loop (io_uring \(--io-backend auto\)|"
                       r"epoll \(--io-backend auto: io_uring refused: .+\))$", re.M)


def setUpModule():
    harness.tether_bin()


def env_without_backend(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TETHER_IO_BACKEND"}
    env.update(extra)
    return env


class IoBackendTest(unittest.TestCase):

    def serve(self, *args, env=None):
        env = env if env is not None else env_without_backend()
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            return self.enterContext(Server(*args))  # the child inherits os.environ
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def auto_takes_io_uring(self):
        srv = self.serve("--io-backend", "auto")
        return "event loop io_uring" in srv.stdout_text()

    def test_each_backend_keeps_alive_and_closes_idle_on_time(self):
        for backend in ("epoll", "io_uring"):
            with self.subTest(backend=backend):
                if backend == "io_uring" and not self.auto_takes_io_uring():
                    self.skipTest("this kernel refuses io_uring")
                srv = self.serve("--io-backend", backend, "--keepalive-timeout", "1s",
                                 "--keepalive-grace", "200ms")
                self.assertIn(f"tether: event loop {backend} (--io-backend {backend})\n",
                              srv.stdout_text())
                with srv.connect() as c:
                    for _ in range(20):
                        self.assertEqual(c.request("GET", "/plaintext").status, 200)
                    start = time.monotonic()
                    assert_clean_eof(self, c, timeout=IDLE_CLOSE + TOL + 2)
                    waited = time.monotonic() - start
                self.assertGreaterEqual(waited, IDLE_CLOSE - 0.05)
                self.assertLessEqual(waited, IDLE_CLOSE + TOL)
                st = srv.status()
                self.assertEqual(st["settings"]["io_backend"], backend)
                self.assertEqual(st["closes"]["idle_timeout"], 1)
                self.assertEqual(st["totals"]["reused_requests"], 19)

    def test_the_default_is_auto(self):
        srv = self.serve()
        self.assertRegex(srv.stdout_text(), AUTO_LINE)

    def test_auto_says_what_it_took(self):
        srv = self.serve("--io-backend", "auto")
        self.assertRegex(srv.stdout_text(), AUTO_LINE)
        took = "io_uring" if "event loop io_uring" in srv.stdout_text() else "epoll"
        self.assertEqual(srv.status()["settings"]["io_backend"], took)

    def test_environment_sets_the_default_and_the_option_wins(self):
        srv = self.serve(env=env_without_backend(TETHER_IO_BACKEND="auto"))
        self.assertRegex(srv.stdout_text(), AUTO_LINE)
        srv = self.serve("--io-backend", "epoll", env=env_without_backend(TETHER_IO_BACKEND="auto"))
        self.assertIn("tether: event loop epoll (--io-backend epoll)\n", srv.stdout_text())

    def test_unknown_backend_is_a_usage_error(self):
        for args, env in ((["--io-backend", "kqueue"], env_without_backend()),
                          ([], env_without_backend(TETHER_IO_BACKEND="select"))):
            with self.subTest(args=args, env=env.get("TETHER_IO_BACKEND")):
                res = subprocess.run([harness.tether_bin(), "serve", "--listen", "127.0.0.1:0",
                                      *args], capture_output=True, text=True, timeout=30, env=env)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
                self.assertIn("--io-backend", res.stderr)
                self.assertNotIn("listening on", res.stdout)


if __name__ == "__main__":
    unittest.main()
