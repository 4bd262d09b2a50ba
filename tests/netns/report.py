#!/usr/bin/python3
"""Print the netns suite's measurements as a markdown table for docs/liveness.md.

Usage: tests/netns/report.py [RESULTS_DIR]   (default: $TETHER_NETNS_RESULTS)
Reads every <group>.json the suite wrote there (see suite.Recorder).
"""

import glob
import json
import os
import sys


def fmt(x):
    return "—" if x is None else f"{x:.2f}"


def rows(results_dir):
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            yield from json.load(f)["rows"]


def main():
    results_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TETHER_NETNS_RESULTS")
    if not results_dir or not os.path.isdir(results_dir):
        sys.exit("usage: report.py RESULTS_DIR (or set TETHER_NETNS_RESULTS)")
    print("| group | scenario | what | n | fault → detection: min / median / max s | "
          "last byte read → detection: min / median / max s | bound s (+tol) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows(results_dir):
        n = len(r["samples_s"])
        if r.get("requirement"):
            bound = r["requirement"]
        elif r["detected"]:
            bound = f"{r['bound_s']:g} (+{r['tolerance_s']:g})"
        else:
            bound = "control: not detected (time: how long it stayed connected)"
        idle = r.get("idle")
        since = " / ".join(fmt(idle[k]) for k in ("min_s", "median_s", "max_s")) if idle else "—"
        times = " / ".join(fmt(r[k]) for k in ("min_s", "median_s", "max_s"))
        print(f"| {r['group']} | {r['scenario']} | {r['what']} | {n} | {times} | {since} | {bound} |")


if __name__ == "__main__":
    main()
