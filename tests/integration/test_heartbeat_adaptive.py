"""`tether heartbeat connect --discover` and `--adaptive` on loopback: smoke
tests only (loopback has no idle timeout to find; the firewall scenarios are
tests/netns/test_adaptive.py): bad options, discovery that finds no timeout
up to a small --discover-max, a refused probe, and the adaptive interval
stepping up to its cap and settling there.

Timing: discovery must end within --discover-max + harness.TOL after start
(its round is one set of parallel probes; the longest idles for max); process
start-up under ASan is not counted (measured from the first event).
"""

import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TOL, tether_bin  # noqa: E402
from test_heartbeat import Client, HbServer  # noqa: E402


def setUpModule():
    tether_bin()


def run(*args, timeout=15):
    return subprocess.run([tether_bin(), "heartbeat", "connect", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class BadOptionsTest(unittest.TestCase):
    CASES = [
        ["--adaptive", "--discover"],
        ["--adaptive", "--interval", "off"],
        ["--adaptive", "--adaptive-min", "0"],
        ["--adaptive", "--adaptive-min", "abc"],
        ["--adaptive", "--adaptive-min", "10s", "--adaptive-max", "5s"],
        ["--adaptive", "--adaptive-step", "0"],
        ["--adaptive", "--adaptive-margin", "-1s"],
        ["--adaptive", "--adaptive-successes", "0"],
        ["--adaptive", "--adaptive-failures", "0"],
        ["--discover", "--discover-max", "100ms"],
        ["--discover", "--discover-probes", "0"],
        ["--discover", "--discover-probes", "65"],
        ["--discover", "--so-keepalive", "1:1:3"],
        ["--discover", "--send-rate", "1k"],
    ]

    def test_each_bad_option_exits_2_with_one_line(self):
        for extra in self.CASES:
            with self.subTest(extra=extra):
                r = run("127.0.0.1:9", *extra)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertEqual(r.stdout, "")


class DiscoverTest(unittest.TestCase):
    def test_no_timeout_found_up_to_a_small_max(self):
        with HbServer("--interval", "off", "--json") as srv:
            c = Client(srv.port, "--discover", "--discover-max", "2s", "--discover-probes", "4",
                       "--timeout", "1s")
            code = c.wait()
            self.assertEqual(code, 0, c.text())
            events = c.events()
            rounds = [e for e in events if e["event"] == "round"]
            self.assertEqual(len(rounds), 1, c.text())
            self.assertEqual(rounds[0]["idle_ms"], [500, 1000, 1500, 2000])
            probes = [e for e in events if e["event"] == "probe"]
            self.assertEqual(sorted(p["idle_ms"] for p in probes), [500, 1000, 1500, 2000])
            self.assertTrue(all(p["result"] == "survived" for p in probes), c.text())
            done = events[-1]
            self.assertEqual(done["event"], "discovered", c.text())
            self.assertEqual(done["outcome"], "no_timeout")
            self.assertIsNone(done["idle_timeout_ms"])
            self.assertEqual(done["survived_ms"], 2000)
            # Each probe pinged after its idle time, not before (the engine's
            # timer), and the whole run took one round: max + tolerance.
            for p in probes:
                self.assertGreaterEqual(p["t"], p["idle_ms"] / 1000.0 - 0.05, c.text())
            self.assertLessEqual(done["t"], 2.0 + TOL, c.text())

    def test_human_output_names_the_max(self):
        with HbServer("--interval", "off") as srv:
            r = run(f"127.0.0.1:{srv.port}", "--discover", "--discover-max", "1s",
                    "--discover-probes", "1", "--timeout", "1s")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("no timeout found up to --discover-max 1s", r.stdout)

    def test_refused_probe_exits_1(self):
        with socket.socket() as s:  # a port with nobody listening
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = run(f"127.0.0.1:{port}", "--discover", "--discover-max", "1s")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot connect", r.stderr)


class AdaptiveTest(unittest.TestCase):
    def test_steps_up_to_the_cap_and_settles(self):
        # min 200 ms, step 300 ms, margin 100 ms, max 1 s (cap 900 ms); one
        # success per step, warm-up of 3 pings at min.
        with HbServer("--interval", "off", "--min-ping-interval", "50ms") as srv:
            c = Client(srv.port, "--adaptive", "--adaptive-min", "200ms", "--adaptive-max", "1s",
                       "--adaptive-step", "300ms", "--adaptive-margin", "100ms",
                       "--adaptive-successes", "1", "--timeout", "1s", "--duration", "6s")
            code = c.wait()
            self.assertEqual(code, 0, c.text())
            changes = [(e["change"], e["interval_ms"], e["state"])
                       for e in c.events() if e["event"] == "interval"]
            self.assertEqual(changes, [("step_up", 500, "searching"),
                                       ("step_up", 800, "searching"),
                                       ("step_up", 900, "searching"),
                                       ("settled", 900, "stable")], c.text())
            pongs = [e for e in c.events() if e["event"] == "pong"]
            self.assertEqual([p["interval_ms"] for p in pongs[:4]], [200, 200, 200, 200])
            self.assertEqual(pongs[-1]["interval_ms"], 900, c.text())
            closes = [e["reason"] for e in c.events() if e["event"] == "closed"]
            self.assertEqual(closes, ["local"], c.text())


if __name__ == "__main__":
    unittest.main()
