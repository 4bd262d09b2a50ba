#!/usr/bin/env bash
# The one test command (README, Tests; .ci/run calls it). Installs the test dependencies,
# then runs the CI stages, stops at the first failure, and prints each step's time:
#   format   scripts/ci-format.sh   clang-format check of the tracked C/C++ files
#   asan     scripts/ci-asan.sh     ASan+UBSan build; every ctest test (unit, integration,
#                                   layering, install, fuzz.smoke; netns last, alone)
#   tsan     scripts/ci-tsan.sh     ThreadSanitizer build; unit and integration tests
# Event backends: `tether serve` defaults to --io-backend auto (io_uring here), so the asan
# and netns stages run every integration test on io_uring; the tsan stage runs them on epoll
# (TETHER_IO_BACKEND=epoll). The unit tests of the connection layer run on both everywhere.
#   release  scripts/ci-release.sh  release build of every target, warnings as errors
# Test suites mostly wait (timeouts, peers, time-bounded fuzzers), so a build runs beside
# each one at nice 19, taking only the CPU the tests leave: the tsan build beside the asan
# tests, the release build beside the tsan tests. What is left of a build when its suite
# ends runs at this script's priority. The fault suite (netns) needs the machine to itself
# and runs last. Extra arguments go to the asan ctest runs (e.g. -E '^netns\.').
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# The timing tolerance of the integration tests (harness.TOL, 0.3 s by default): a build runs
# beside the asan and tsan suites here, and on 2 cores its share of the CPU delays the servers
# under test by tenths of a second (seen: 1.30 s against a 1.0 s + 0.3 s bound). 0.5 s covers it.
export TETHER_TEST_TOL=${TETHER_TEST_TOL:-0.5}
scripts/setup.sh test
# Compiler cache: CI builds a fresh clone every time, and most of the tree is unchanged since
# the last run; ccache (installed above) serves those objects from ~/.cache/ccache. BASEDIR and
# NOHASHDIR let clones at different paths share its entries. A first run fills it.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
fi
. scripts/lib.sh

# `beside NAME COMMAND...` starts COMMAND at nice 19 in its own process group (so that
# a failure elsewhere stops all of it), its output in build/side.log.
side_log=build/side.log
beside() {
  nice -n 19 setsid bash -c '. scripts/lib.sh; timed "$@"' bash "$@" >"$side_log" 2>&1 &
  side=$!
  trap 'kill -- -"$side" 2>/dev/null || true' EXIT
}
# `finish_beside`: back to this script's priority (root may raise it again; otherwise it
# stays at 19), then waits for the side command and prints its time.
finish_beside() {
  renice -n "$(nice)" -g "$side" >/dev/null 2>&1 || true
  if ! wait "$side"; then
    cat "$side_log" >&2
    exit 1
  fi
  trap - EXIT
  tail -n 1 "$side_log"
}

timed format scripts/ci-format.sh
timed "asan build" build_preset asan
beside "tsan build (beside the asan tests)" scripts/ci-tsan.sh --build-only
timed "asan tests" ctest_quiet build/asan-tests.log --preset asan -j2 --timeout 300 -E '^netns\.' "$@"
finish_beside
beside "release build (beside the tsan tests)" scripts/ci-release.sh
TETHER_IO_BACKEND=epoll timed "tsan tests" ctest_quiet build/tsan-tests.log --preset tsan -j2 \
  --timeout 300
finish_beside
timed "asan netns tests" ctest_quiet build/netns-tests.log --preset asan -j2 --timeout 300 -R '^netns\.' "$@"
echo "test: all stages passed in $((SECONDS - start)) s"
