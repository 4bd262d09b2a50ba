#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, the `fuzz` preset) and runs each for a bounded time
# over a scratch copy of its committed corpus (fuzz/corpus/NAME). Exit 0 when no target
# found anything; otherwise the crashing inputs are in build/fuzz/artifacts/, and each one
# belongs in the corpus and in a regression test once fixed.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request_parser response_framer heartbeat_frame text_parsers websocket_frame)
case $seconds in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
artifacts=build/fuzz/artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d /tmp/tether-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  cp fuzz/corpus/"$t"/* "$scratch/$t/" 2>/dev/null || true
  log=$scratch/$t.log
  # -max_len: requests and frames larger than 4 KB add nothing the splits do not;
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a leak or a bomb.
  if build/fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$scratch/$t" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s, nothing found"
  else
    failed=1
    echo "fuzz $t: FOUND A PROBLEM (inputs in $artifacts/):" >&2
    grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -20 >&2
  fi
done
exit $failed
