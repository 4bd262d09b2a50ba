"""Running the netns scenarios: skip detection, concurrency, measurements.

Each test file calls main(): when namespaces cannot be used here (not root,
`ip netns add` fails, nft missing) it prints one line and exits SKIP_CODE,
which ctest's SKIP_RETURN_CODE turns into "skipped", never "passed".

A group runs all its scenarios and their repetitions concurrently, each in its
own thread with its own Bed (three fresh namespaces), so a group takes as long
as its slowest scenario.  Measured detection times are written to
$TETHER_NETNS_RESULTS/<group>.json for tests/netns/report.py.
"""

import json
import math
import os
import statistics
import sys
import threading
import time
import unittest

import netbed
import procs

# Slack on every "detected within the bound" assertion.  The bounds themselves
# come from kernel timers (keepalive, RTO) or tether's timer wheel; what is
# added is scheduling: several ASan-built processes per bed, many beds at once,
# on 2 cores shared with the rest of ctest.  Override with TETHER_NETNS_TOL.
TOL = float(os.environ.get("TETHER_NETNS_TOL", "1.0"))
# A timer must not fire early: detection earlier than bound - EARLY_TOL fails.
EARLY_TOL = 0.3
REPS = int(os.environ.get("TETHER_NETNS_REPS", "3"))
GROUP_TIMEOUT = 120.0  # no scenario thread may run longer


def kernel_hz():
    """CONFIG_HZ of the running kernel; Debian's 250 when the config is not
    readable."""
    try:
        with open(f"/boot/config-{os.uname().release}") as f:
            for line in f:
                if line.startswith("CONFIG_HZ="):
                    return int(line.split("=")[1])
    except OSError:
        pass
    return 250


def timer_slack(seconds, hz=None):
    """How late the kernel's timer wheel may fire a timer of `seconds`
    (kernel/time/timer.c: a timer lands in the level whose granularity is
    8**level jiffies and is rounded up to it; LVL_START(n) = 63 << 3(n-1)).
    A 30 s keepalive timer at HZ=250 may fire up to 2.048 s late: measured
    34.4 s for keepalive 30:1:3 on this bed."""
    hz = hz or kernel_hz()
    delta = math.ceil(seconds * hz)
    level = 0
    while level < 8 and delta >= 63 << (3 * level):
        level += 1
    return (1 << (3 * level)) / hz


def keepalive_bound(idle, intvl, cnt):
    """(bound, kernel slack): an idle connection dies IDLE + CNT*INTVL after
    the last segment received (tcp_keepalive_timer), each timer possibly late by
    its timer-wheel granularity."""
    return idle + cnt * intvl, timer_slack(idle) + cnt * timer_slack(intvl)


def run_concurrently(scenarios, reps=REPS, timeout=GROUP_TIMEOUT):
    """scenarios: {name: fn(bed) -> result}.  Runs `reps` copies of each, all at
    once, each in its own Bed.  Returns {name: [result or exception]}."""
    results = {name: [None] * reps for name in scenarios}
    threads = []

    def one(name, fn, i):
        try:
            with netbed.Bed() as bed:
                results[name][i] = fn(bed)
        except BaseException as e:  # reported by the test that reads it
            results[name][i] = e

    for name, fn in scenarios.items():
        for i in range(reps):
            t = threading.Thread(target=one, args=(name, fn, i), daemon=True,
                                 name=f"{name}#{i}")
            t.start()
            threads.append(t)
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    for name, values in results.items():
        for i, v in enumerate(values):
            if v is None:
                values[i] = TimeoutError(f"{name}#{i} did not finish within {timeout}s")
    return results


def outcomes(case, results):
    """The results of one scenario; fails the test on any exception."""
    for r in results:
        if isinstance(r, BaseException):
            case.fail(f"scenario raised {type(r).__name__}: {r}")
    return results


class Recorder:
    """Collects measurements of one group and writes them as JSON."""

    def __init__(self, group):
        self.group = group
        self.rows = []

    def add(self, scenario, samples, bound_s, tol_s, what, detected=True, idle=None,
            requirement=None):
        """samples: seconds per repetition.  detected=False for negative
        controls, where a sample is how long the failure went unnoticed.
        idle: seconds from the last byte read to detection, where known.
        requirement: what the test asserted, for rows that measure something
        other than a detection time (an interval found, a run time)."""
        if idle:
            idle = {"min_s": round(min(idle), 3), "median_s": round(statistics.median(idle), 3),
                    "max_s": round(max(idle), 3)}
        self.rows.append({"idle": idle or None,
            "group": self.group, "scenario": scenario, "what": what,
            "detected": detected, "bound_s": bound_s, "tolerance_s": tol_s,
            "requirement": requirement,
            "samples_s": [round(s, 3) for s in samples],
            "min_s": round(min(samples), 3), "median_s": round(statistics.median(samples), 3),
            "max_s": round(max(samples), 3)})
        self.write()

    def write(self):
        out_dir = os.environ.get("TETHER_NETNS_RESULTS")
        if not out_dir:
            return
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, f"{self.group}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"group": self.group, "rows": self.rows,
                       "reps": REPS, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime())}, f, indent=1)
        os.replace(path + ".tmp", path)


def assert_within(case, samples, bound, what, tol=TOL, early=EARLY_TOL):
    """Every sample in [bound - early, bound + tol]."""
    for s in samples:
        case.assertLessEqual(s, bound + tol, f"{what}: {s:.3f} s > bound {bound} s + {tol} s")
        case.assertGreaterEqual(s, bound - early,
                                f"{what}: {s:.3f} s is earlier than the bound {bound} s")


class GroupCase(unittest.TestCase):
    """A group: scenarios() runs once, concurrently, in setUpClass; each test
    method then asserts on one scenario's repetitions.  A scenario returns a
    dict with at least "detected", "seconds" (fault to detection, or how long
    a control stayed undetected) and "out" (the processes' output, shown on
    failure); "code" is checked when the caller passes exit codes; "idle_s"
    (optional) is the time from the last byte received to detection."""

    group = None

    @staticmethod
    def scenarios():
        return {}

    @classmethod
    def setUpClass(cls):
        cls.rec = Recorder(cls.group)
        cls.results = run_concurrently(cls.scenarios())

    def detected(self, name, bound, codes, what, tol=TOL, early=EARLY_TOL):
        """Every repetition detected within [bound - early, bound + tol]."""
        rs = outcomes(self, self.results[name])
        for r in rs:
            self.assertTrue(r["detected"], f"{what}: not detected\n{r['out']}")
            if codes is not None:
                self.assertIn(r["code"], codes, f"{what}: exit code\n{r['out']}")
        samples = [r["seconds"] for r in rs]
        known = [r["idle_s"] for r in rs if r.get("idle_s") is not None]
        self.rec.add(name, samples, bound, tol, what, idle=known)
        assert_within(self, samples, bound, what, tol, early=math.inf)
        # "Not early" is judged from the last byte received where the bound
        # counts from there (r["idle_s"]): the fault itself may come later.
        idle = [r["idle_s"] if r.get("idle_s") is not None else r["seconds"] for r in rs]
        assert_within(self, idle, bound, what + " (not early)", math.inf, early)
        return rs

    def undetected(self, name, what):
        """Negative control: no repetition detected the failure."""
        rs = outcomes(self, self.results[name])
        for r in rs:
            self.assertFalse(r["detected"], f"{what}: detected without the mechanism\n{r['out']}")
        self.rec.add(name, [r["seconds"] for r in rs], None, None, what, detected=False)
        return rs


def main():
    """Entry point of every netns test file."""
    netbed.install_cleanup()
    reason = netbed.unavailable_reason()
    if reason:
        print(f"SKIPPED: network namespaces not available here: {reason}", flush=True)
        sys.exit(netbed.SKIP_CODE)
    procs.tether_bin()
    netbed.remove_stale()
    try:
        unittest.main(verbosity=2)
    finally:
        procs.cleanup_all()
        netbed.cleanup_all()
