#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, the `fuzz` preset) and runs each for a bounded time
# over a scratch copy of its committed corpus (fuzz/corpus/NAME), as many at once as there
# are cores (each fuzzer is one process on one core; FUZZ_JOBS=N overrides). Exit 0 when no
# target found anything; otherwise the crashing inputs are in build/fuzz/artifacts/, and each
# one belongs in the corpus and in a regression test once fixed.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request_parser response_framer heartbeat_frame text_parsers websocket_frame)
case $seconds in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
jobs=${FUZZ_JOBS:-$(nproc)}
case $jobs in ''|0|*[!0-9]*) echo "fuzz.sh: FUZZ_JOBS must be a positive whole number" >&2; exit 2 ;; esac

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
artifacts=build/fuzz/artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d /tmp/tether-fuzz.XXXXXX)
# On any exit (a failure, ^C) the fuzzers still running go with the scratch directory.
trap 'kill $(jobs -p) 2>/dev/null || true; wait; rm -rf "$scratch"' EXIT

# `fuzz_one NAME`: one bounded run; its verdict goes to $scratch/NAME.verdict.
fuzz_one() {
  local t=$1 log=$scratch/$1.log
  mkdir -p "$scratch/$t"
  cp fuzz/corpus/"$t"/* "$scratch/$t/" 2>/dev/null || true
  # -max_len: requests and frames larger than 4 KB add nothing the splits do not;
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a leak or a bomb.
  if build/fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$scratch/$t" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s, nothing found" >"$scratch/$t.verdict"
  else
    { echo "fuzz $t: FOUND A PROBLEM (inputs in $artifacts/):"
      grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -20; } >"$scratch/$t.verdict"
  fi
}

for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
# Verdicts in the order given, problems on stderr; a fuzzer that left none failed too.
failed=0
for t in "${targets[@]}"; do
  if ! grep -qs 'nothing found' "$scratch/$t.verdict"; then
    failed=1
    cat "$scratch/$t.verdict" >&2 2>/dev/null || echo "fuzz $t: no verdict" >&2
  else
    cat "$scratch/$t.verdict"
  fi
done
exit $failed
