#!/usr/bin/env bash
# soak.sh -- churn against one tether server for DURATION; reports its descriptors, RSS and
# CPU at the start and the end, and every unexpected client error.
#
# Usage: bench/soak.sh DURATION [--tether PATH] [--out FILE]
#   DURATION     seconds, or with a unit: 90s, 10m
#   --tether P   tether binary (default build/release/apps/tether/tether)
#   --out FILE   where the JSON report goes (default /tmp/tether-soak-<time>.json)
# Env knobs: SOAK_THREADS (client threads, 8), SOAK_SEED (1).
#
# Method: bench/soak_load.py starts `tether serve --workers 1 --keepalive-timeout 2s` on
# 127.0.0.1 and runs SOAK_THREADS client threads, each looping over a random (seeded) mix
# of new keep-alive connections, pipelining, `Connection: close`, resets (after an answer
# and in the middle of a head), connections left idle until the server closes them, and
# 1 MiB bodies. /proc/PID/{stat,status,fd} are sampled every 10 s; the first fifth of the
# run (at most 60 s) is warm-up. After the load the server gets time to close what is
# left, is measured quiet for 5 s and stopped with SIGTERM.
# Pass: 0 unexpected errors, exit code 0, descriptors back at their count before the load,
# RSS at the end within 5 % (or 2 MiB) of RSS after warm-up, and under 2 % of a core quiet.
# All traffic goes to 127.0.0.1; the load stops at DURATION; the server is stopped by PID.
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TETHER=$ROOT/build/release/apps/tether/tether OUT=""
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in -h|--help) usage; exit 0 ;; esac
DURATION=$1; shift
while [ $# -gt 0 ]; do
  case $1 in
    --tether) TETHER=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $DURATION in
  *m) SECONDS_=$(( ${DURATION%m} * 60 )) ;;
  *s) SECONDS_=${DURATION%s} ;;
  *) SECONDS_=$DURATION ;;
esac
case $SECONDS_ in ''|*[!0-9]*|0) echo "soak.sh: DURATION must be a positive number of seconds or minutes (90, 90s, 10m): $DURATION" >&2; exit 2 ;; esac
[ -x "$TETHER" ] || { echo "soak.sh: no tether binary at $TETHER (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
OUT=${OUT:-/tmp/tether-soak-$(date +%Y%m%d-%H%M%S).json}

echo "soak.sh: $SECONDS_ s against $TETHER; report: $OUT" >&2
TETHER_BIN=$TETHER PYTHONDONTWRITEBYTECODE=1 \
  timeout $(( SECONDS_ + 180 )) /usr/bin/python3 "$HERE/soak_load.py" "$SECONDS_" > "$OUT"
rc=$?
[ -s "$OUT" ] || { echo "soak.sh: no report (exit $rc)" >&2; exit 1; }

/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b, w, e, q = r["before_load"], r["after_warmup"], r["end_of_load"], r["after_settle"]
print(f"{'':14}{'fds':>6}{'RSS KiB':>10}{'CPU s':>9}")
for name, s in (("before load", b), ("after warm-up", w), ("end of load", e), ("after settle", q)):
    print(f"{name:14}{s['fds']:>6}{s['rss_kib']:>10}{s['cpu_s']:>9.2f}")
print(f"operations {r['operations']} {r['scenarios_done']}")
print(f"CPU during load {r['cpu_share_warmup_to_end']:.1%} of a core, quiet {r['cpu_share_quiet']:.2%}")
print(f"RSS growth after warm-up {r['rss_growth_kib_after_warmup']} KiB; "
      f"unexpected errors {r['unexpected_errors']}; server exit {r['server_exit_code']}")
for err in r["first_errors"]:
    print("  error:", err)
ok = (r["unexpected_errors"] == 0 and r["server_exit_code"] == 0 and q["fds"] == b["fds"]
      and r["rss_growth_kib_after_warmup"] <= max(2048, w["rss_kib"] // 20)
      and r["cpu_share_quiet"] < 0.02)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
verdict=$?
[ $rc -eq 0 ] || verdict=1
exit $verdict
