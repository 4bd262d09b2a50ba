"""Scenario 8: discovery and adaptive heartbeat against a firewall timeout.

The router is the conntrack firewall of scenario 5 (test_firewall.py) with an
established timeout of FW_TIMEOUT seconds; the server never pings
(`--interval off`), so only the client's heartbeats keep a flow alive.

  - `connect --discover`: rounds of parallel probe connections, each idle for
    a different time and then pinging once, find the firewall's timeout within
    +-1 s (the bracket is at most 2 s wide), with the ping blackholed (drop
    variant: the probe's heartbeat times out) or reset (RST variant); the
    recommended interval is below the timeout.  Control: without a firewall
    nothing dies and discovery reports no timeout up to --discover-max.
  - `connect --adaptive` (Mars' state machine with bounds in seconds instead
    of minutes): it steps up 1.5 -> 3.5 -> 5.5 s, the ping after 5.5 s idle is
    lost (heartbeat timeout), it reconnects, settles at 5.5 - 2 - 0.5 = 3 s
    (one step plus the margin below the failing interval), and the connection
    then stays up, idle between heartbeats, for more than 3 x FW_TIMEOUT
    without another failure.  (--adaptive-failures 1 and --adaptive-successes 2
    keep the run short; Mars' 2 and 5 are unit-tested.)
"""

import statistics

import netbed
import peers
import suite
from procs import Proc, tether_bin

FW_TIMEOUT = 5
HB_TIMEOUT = 2.0
DISCOVER = ["--discover-probes", "3", "--timeout", f"{HB_TIMEOUT:g}s"]
ADAPTIVE = ["--adaptive", "--adaptive-min", "1500ms", "--adaptive-max", "12s",
            "--adaptive-step", "2s", "--adaptive-margin", "500ms", "--adaptive-successes", "2",
            "--adaptive-failures", "1", "--timeout", f"{HB_TIMEOUT:g}s"]
ADAPTIVE_DURATION = 48  # settles at ~22 s; leaves > 3 x FW_TIMEOUT to survive
SURVIVE = 3 * FW_TIMEOUT


def start_server(bed):
    return peers.heartbeat_server(bed, "--interval", "off", "--min-ping-interval", "100ms")


def discover(firewall, reset=False, max_s=14):
    def scenario(bed):
        if firewall:
            bed.firewall(FW_TIMEOUT, reset=reset)
        _, port = start_server(bed)
        client = Proc(bed, "cli", [tether_bin(), "heartbeat", "connect",
                                   f"{netbed.SRV_ADDR}:{port}", "--json", "--discover",
                                   "--discover-max", f"{max_s}s", *DISCOVER], 90)
        code = client.wait_exit(80)
        found = client.wait_event("discovered", 0)
        return {"code": code, "discovered": found[1] if found else None,
                "seconds": (found[0] - client.start_t) if found else None,
                "probes": [ev for _, ev in client.events() if ev.get("event") == "probe"],
                "invalid": bed.dropped("invalid") if firewall else 0,
                "out": client.output()}
    return scenario


def adaptive(bed):
    bed.firewall(FW_TIMEOUT)
    _, port = start_server(bed)
    client, _ = peers.heartbeat_client(bed, port, *ADAPTIVE, "--duration",
                                       f"{ADAPTIVE_DURATION}s", deadline=ADAPTIVE_DURATION + 30)
    code = client.wait_exit(ADAPTIVE_DURATION + 20)
    if code is None:
        code = client.stop()
    events = client.events()
    return {"code": code, "events": events, "end_t": client.exit_t,
            "invalid": bed.dropped("invalid"), "out": client.output()}


class AdaptiveTest(suite.GroupCase):
    group = "adaptive"

    @staticmethod
    def scenarios():
        return {
            "discover_drop": discover(True),
            "discover_reset": discover(True, True),
            "discover_no_firewall": discover(False, max_s=4),
            "adaptive": adaptive,
        }

    def check_found(self, name, what):
        rs = suite.outcomes(self, self.results[name])
        estimates = []
        for r in rs:
            self.assertEqual(r["code"], 0, r["out"])
            d = r["discovered"]
            self.assertIsNotNone(d, r["out"])
            self.assertEqual(d["outcome"], "found", r["out"])
            self.assertLessEqual(d["high_ms"] - d["low_ms"], 2000, r["out"])
            self.assertLessEqual(abs(d["idle_timeout_ms"] - FW_TIMEOUT * 1000), 1000, r["out"])
            self.assertLess(d["recommended_interval_ms"], FW_TIMEOUT * 1000, r["out"])
            self.assertGreater(r["invalid"], 0, "the firewall saw no expired-flow packet")
            estimates.append(d["idle_timeout_ms"] / 1000.0)
        self.rec.add(name, estimates, FW_TIMEOUT, 1.0, what + " (samples: timeout found, s)",
                     requirement=f"{FW_TIMEOUT} ± 1 (firewall timeout)")
        self.rec.add(name + "_duration", [r["seconds"] for r in rs], None, None,
                     what + " (samples: discovery run time, s)", detected=False,
                     requirement="run time, no bound")
        return rs

    def test_8_discovery_finds_the_firewall_timeout_drop(self):
        rs = self.check_found("discover_drop", f"--discover vs conntrack {FW_TIMEOUT}s, drop")
        for r in rs:
            died = [p for p in r["probes"] if p["result"] == "died"]
            self.assertTrue(died and all(p["reason"] == "heartbeat_timeout" for p in died),
                            r["out"])

    def test_8_discovery_finds_the_firewall_timeout_reset(self):
        rs = self.check_found("discover_reset", f"--discover vs conntrack {FW_TIMEOUT}s, RST")
        for r in rs:
            died = [p for p in r["probes"] if p["result"] == "died"]
            self.assertTrue(died and all(p["reason"] == "peer_reset" for p in died), r["out"])

    def test_8_discovery_control_without_firewall(self):
        rs = suite.outcomes(self, self.results["discover_no_firewall"])
        for r in rs:
            self.assertEqual(r["code"], 0, r["out"])
            d = r["discovered"]
            self.assertIsNotNone(d, r["out"])
            self.assertEqual(d["outcome"], "no_timeout", r["out"])
            self.assertEqual(d["survived_ms"], 4000, r["out"])
        self.rec.add("discover_no_firewall", [r["seconds"] for r in rs], None, None,
                     "--discover without a firewall: no timeout up to 4 s", detected=False,
                     requirement="control: outcome no_timeout (time: run time)")

    def test_8_adaptive_settles_below_the_timeout_and_survives(self):
        rs = suite.outcomes(self, self.results["adaptive"])
        settled, survived = [], []
        for r in rs:
            self.assertEqual(r["code"], peers.EXIT_OK, r["out"])
            evs = r["events"]
            closes = [(t, e) for t, e in evs if e["event"] == "closed"]
            failures = [(t, e) for t, e in closes if e["reason"] != "local"]
            self.assertTrue(failures, f"the firewall never cut a heartbeat\n{r['out']}")
            self.assertTrue(all(e["reason"] == "heartbeat_timeout" for _, e in failures),
                            r["out"])
            self.assertEqual(closes[-1][1]["reason"], "local", r["out"])  # --duration
            changes = [e for _, e in evs if e["event"] == "interval"]
            last = changes[-1]
            self.assertEqual(last["state"], "stable", r["out"])
            self.assertLess(last["adaptive_ms"], FW_TIMEOUT * 1000, r["out"])
            # The interval that failed was above the timeout, the settled one is
            # one step plus the margin below it.
            failed_at = max(e["interval_ms"] for e in changes if e["change"] == "step_up")
            self.assertGreater(failed_at, FW_TIMEOUT * 1000, r["out"])
            self.assertEqual(last["adaptive_ms"], failed_at - 2000 - 500, r["out"])
            # After the last failure: heartbeats at the settled interval keep the
            # flow alive, no further failure for > 3 x FW_TIMEOUT.
            t_fail = failures[-1][0]
            pongs = [e for t, e in evs if e["event"] == "pong" and t > t_fail
                     and e["interval_ms"] == last["adaptive_ms"]]
            self.assertGreaterEqual(len(pongs), 3, r["out"])
            alive = closes[-1][0] - t_fail
            self.assertGreater(alive, SURVIVE, r["out"])
            settled.append(last["adaptive_ms"] / 1000.0)
            survived.append(alive)
        self.rec.add("adaptive_settled", settled, FW_TIMEOUT, 0.0,
                     f"--adaptive vs conntrack {FW_TIMEOUT}s: settled interval, s",
                     detected=False, requirement=f"< {FW_TIMEOUT} (firewall timeout)")
        self.rec.add("adaptive_survived", survived, None, None,
                     "--adaptive: alive after settling, s", detected=False,
                     requirement=f"> {SURVIVE} (3 × firewall timeout)")
        print(f"adaptive: settled {statistics.median(settled):.1f} s, survived "
              f"{min(survived):.1f}-{max(survived):.1f} s", flush=True)


if __name__ == "__main__":
    suite.main()
