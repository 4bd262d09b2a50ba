"""`tether explain`: keepalive detection bounds, timeline, probe cost, warnings.

Runs the real binary; the expected numbers are computed here independently
(30:1:3 -> 33 s; tcp_retries2 from /proc with RTO 200 ms
doubling to 120 s).  Every process is bounded by a timeout.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

RUN_TIMEOUT = 10.0


def explain(*args):
    return subprocess.run([harness.tether_bin(), "explain", *args], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)


def explain_json(*args):
    r = explain(*args, "--json")
    if r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}: {r.stderr}")
    lines = r.stdout.strip().splitlines()
    if len(lines) != 1:
        raise AssertionError(f"expected one JSON line, got {len(lines)}")
    return json.loads(lines[0])


def sysctl(name):
    with open(f"/proc/sys/net/ipv4/{name}") as f:
        return int(f.read())


def retries2_model_s(retries2, rto_min=0.2, rto_max=120.0):
    """ip-sysctl's hypothetical timeout: RTO doubling from rto_min, capped at rto_max."""
    total, rto = 0.0, rto_min
    for _ in range(retries2 + 1):
        total += rto
        rto = min(rto * 2, rto_max)
    return total


def codes(report):
    return [w["code"] for w in report["warnings"]]


class ExplainTest(unittest.TestCase):

    def test_30_1_3_text(self):
        r = explain("--so-keepalive", "30:1:3")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn("detected after at most 33 s", out)
        lines = [line.strip() for line in out.splitlines()]
        timeline = [line for line in lines if line.startswith("t=")]
        self.assertEqual(len(timeline), 4, out)
        for line, (t, what) in zip(timeline, [("30 s", "probe 1"), ("31 s", "probe 2"),
                                             ("32 s", "probe 3"), ("33 s", "declared dead")]):
            self.assertTrue(line.startswith("t=" + t), line)
            self.assertIn(what, line)
        self.assertIn("short_probe_window", out)
        self.assertIn("tcp_retries2=%d" % sysctl("tcp_retries2"), out)

    def test_30_1_3_json(self):
        rep = explain_json("--so-keepalive", "30:1:3")
        self.assertEqual(rep["keepalive"], {"enabled": True, "idle_s": 30, "interval_s": 1,
                                             "count": 3})
        idle = rep["idle"]
        self.assertTrue(idle["detected"])
        self.assertEqual(idle["dead_after_s"], 33)
        self.assertEqual(idle["probes"], 3)
        self.assertEqual([(e["t_s"], e["event"]) for e in idle["timeline"]],
                         [(30, "probe"), (31, "probe"), (32, "probe"), (33, "dead")])
        flight = rep["in_flight"]
        self.assertEqual(flight["mechanism"], "tcp_retries2")
        retries2 = sysctl("tcp_retries2")
        self.assertEqual(flight["retries2"], retries2)
        self.assertAlmostEqual(flight["model_timeout_s"], retries2_model_s(retries2), places=3)
        if retries2 == 15:
            self.assertAlmostEqual(flight["dead_after_s"], 924.6, places=3)
        traffic = rep["probe_traffic_per_hour"]
        self.assertEqual(traffic["probes"], 120)
        self.assertEqual(traffic["packets"], 240)
        self.assertEqual(traffic["bytes_ipv4"], 240 * traffic["packet_bytes_ipv4"])
        self.assertEqual(codes(rep), ["short_probe_window"])

    def test_user_timeout_below_window_cuts_probes(self):
        rep = explain_json("--so-keepalive", "30:1:3", "--tcp-user-timeout", "10s")
        self.assertEqual(rep["user_timeout_ms"], 10000)
        self.assertEqual(rep["idle"]["dead_after_s"], 31)
        self.assertTrue(rep["idle"]["by_user_timeout"])
        self.assertEqual(rep["in_flight"]["mechanism"], "user_timeout")
        self.assertEqual(rep["in_flight"]["dead_after_s"], 10)
        self.assertIn("user_timeout_below_keepalive", codes(rep))

    def test_user_timeout_above_window_extends_probing(self):
        rep = explain_json("--so-keepalive", "2:1:3", "--tcp-user-timeout", "60s")
        self.assertEqual(rep["idle"]["dead_after_s"], 60)
        self.assertEqual(rep["idle"]["probes"], 58)
        self.assertGreater(rep["idle"]["timeline_elided"], 0)
        self.assertEqual(rep["idle"]["timeline"][-1], {"t_s": 60, "event": "dead"})
        self.assertIn("user_timeout_above_keepalive", codes(rep))

    def test_on_uses_system_defaults(self):
        t, i, n = (sysctl("tcp_keepalive_time"), sysctl("tcp_keepalive_intvl"),
                   sysctl("tcp_keepalive_probes"))
        rep = explain_json("--so-keepalive", "on")
        self.assertTrue(rep["system"]["from_proc"])
        self.assertEqual(rep["keepalive"], {"enabled": True, "idle_s": t, "interval_s": i,
                                             "count": n})
        self.assertEqual(rep["idle"]["dead_after_s"], t + i * n)
        if t >= 60:
            self.assertIn("idle_exceeds_middlebox", codes(rep))
        # An omitted field keeps the system value.
        rep = explain_json("--so-keepalive", "1m::4")
        self.assertEqual(rep["keepalive"]["interval_s"], i)
        self.assertEqual(rep["idle"]["dead_after_s"], 60 + i * 4)

    def test_off_detects_nothing_while_idle(self):
        rep = explain_json("--so-keepalive", "off")
        self.assertFalse(rep["idle"]["detected"])
        self.assertIsNone(rep["idle"]["dead_after_s"])
        self.assertEqual(rep["idle"]["timeline"], [])
        self.assertEqual(codes(rep), ["idle_undetected"])
        r = explain("--so-keepalive", "off")
        self.assertIn("never detected", r.stdout)

    def test_milliseconds_round_up_with_warning(self):
        rep = explain_json("--so-keepalive", "1500ms:500ms:3")
        self.assertEqual(rep["keepalive"]["idle_s"], 2)
        self.assertEqual(rep["keepalive"]["interval_s"], 1)
        self.assertEqual(codes(rep).count("rounded_to_seconds"), 2)

    def test_bad_input_exits_2_with_one_line(self):
        for args in (["--so-keepalive", "1:1:0"], ["--so-keepalive", "32768"],
                     ["--so-keepalive", "a:b"], ["--so-keepalive", "1:2:3:4"],
                     ["--tcp-user-timeout", "soon"], ["--initial-rto", "0"],
                     ["--no-such-option"]):
            with self.subTest(args=args):
                r = explain(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                err = r.stderr.strip().splitlines()
                self.assertEqual(len(err), 1, r.stderr)
                self.assertTrue(err[0].startswith("tether: "), err[0])


class ExplainPathTest(unittest.TestCase):
    """`tether explain --path`: the timeout ladder of a chain of hops (exit 1 on a problem)."""

    ISSUE_CHAIN = ["client:pool=90s", "alb:idle=60s", "nginx:keepalive=75s,upstream=60s",
                   "tether:keepalive=5s"]

    def path_json(self, *hops, code):
        r = explain("--path", *hops, "--json")
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        lines = r.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        return json.loads(lines[0])

    def test_misordered_chain_flags_each_race_with_a_fix(self):
        doc = self.path_json(*self.ISSUE_CHAIN, code=1)
        self.assertEqual([h["name"] for h in doc["path"]], ["client", "alb", "nginx", "tether"])
        self.assertEqual([h["role"] for h in doc["path"]], ["client", "proxy", "proxy", "server"])
        verdicts = [(f["from"], f["to"], f["verdict"]) for f in doc["findings"]]
        self.assertEqual(verdicts, [("client", "alb", "race"), ("alb", "nginx", "ok"),
                                    ("nginx", "tether", "race")])
        self.assertEqual(doc["problems"], 2)
        last = doc["findings"][2]
        self.assertEqual((last["reuse_until_s"], last["closed_after_s"]), (60, 6))
        self.assertEqual(last["suggest_closes_idle_after_s"], 65)
        r = explain("--path", *self.ISSUE_CHAIN)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nginx -> tether: RACE", r.stdout)
        self.assertIn("tether serve --keepalive-timeout 64s", r.stdout)
        self.assertIn("2 problems found.", r.stdout)

    def test_following_the_fix_gives_a_clean_chain(self):
        doc = self.path_json("client:pool=55s", "alb:idle=60s", "nginx:keepalive=75s,upstream=60s",
                             "tether:keepalive=64s", code=0)
        self.assertEqual([f["verdict"] for f in doc["findings"]], ["ok", "ok", "ok"])
        r = explain("--path", "client:pool=55s", "alb", "nginx", "tether:keepalive=64s")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("No problems found.", r.stdout)

    def test_nat_forgets_an_idle_flow_without_keepalive(self):
        doc = self.path_json("requests", "nat:idle=5m", "tether:keepalive=1h", code=1)
        drop = [f for f in doc["findings"] if f["verdict"] == "silent_drop"]
        self.assertEqual(len(drop), 1, doc["findings"])
        self.assertEqual((drop[0]["middlebox"], drop[0]["suggest_tcp_keepalive_idle_s"]), ("nat", 150))
        self.path_json("requests:tcpka=60s", "nat:idle=5m", "server:keepalive=none", code=0)

    def test_hint_reading_client_follows_tethers_hint(self):
        doc = self.path_json("undici", "tether:keepalive=30s", code=0)
        f = doc["findings"][0]
        self.assertTrue(f["by_hint"])
        self.assertEqual((f["reuse_until_s"], f["closed_after_s"], f["verdict"]), (28, 31, "tight"))

    def test_bad_paths_exit_2_with_one_line(self):
        for hops in (["clinet", "tether"], ["client", "tether:keepalvie=5s"], ["tether"],
                     ["nat", "client", "tether"], ["client", "tether:keepalive=soon"]):
            with self.subTest(hops=hops):
                r = explain("--path", *hops)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                err = r.stderr.strip().splitlines()
                self.assertEqual(len(err), 1, r.stderr)
                self.assertTrue(err[0].startswith("tether: --path: "), err[0])
        r = explain("--path", "client", "tether", "--so-keepalive", "30:1:3")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
