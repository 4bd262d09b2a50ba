#!/usr/bin/env bash
# The one test command (README, Tests; .ci/run calls it). Installs the test dependencies,
# then runs the CI stages, stops at the first failure, and prints each step's time:
#   format   scripts/ci-format.sh   clang-format check of the tracked C/C++ files
#   asan     scripts/ci-asan.sh     ASan+UBSan build; every ctest test (unit, integration,
#                                   layering, install, fuzz.smoke, then netns)
#   tsan     scripts/ci-tsan.sh     ThreadSanitizer build; unit and integration tests
#   release  scripts/ci-release.sh  release build of every target, warnings as errors
# The tsan and release builds run beside the asan tests, at nice 19: those tests mostly
# wait (timeouts, peers, fuzzers bounded in time), so the builds take the CPU they leave
# and the 2-core run fits in 30 minutes. The fault suite (netns) needs the machine to
# itself, so it runs after those builds, alone. Extra arguments go to the asan ctest runs
# (e.g. -E '^netns\.').
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
scripts/setup.sh test
. scripts/lib.sh
timed format scripts/ci-format.sh
timed "asan build" build_preset asan

side_log=build/side-builds.log
# In its own process group (setsid): if the asan tests fail, the trap stops both builds.
nice -n 19 setsid bash -c 'set -euo pipefail; . scripts/lib.sh
  timed "tsan build (beside the asan tests)" scripts/ci-tsan.sh --build-only
  timed "release build (beside the asan tests)" scripts/ci-release.sh' >"$side_log" 2>&1 &
side=$!
trap 'kill -- -"$side" 2>/dev/null || true' EXIT
timed "asan tests" ctest --preset asan -j2 --timeout 300 -E '^netns\.' "$@"
if ! wait "$side"; then
  cat "$side_log" >&2
  exit 1
fi
trap - EXIT
grep -E '^(tsan|release) build' "$side_log"
timed "asan netns tests" ctest --preset asan -j2 --timeout 300 -R '^netns\.' "$@"
timed "tsan tests" ctest --preset tsan -j2 --timeout 300
echo "test: all stages passed in $((SECONDS - start)) s"
