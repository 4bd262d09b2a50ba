#!/usr/bin/env bash
# Builds tether with AddressSanitizer + UndefinedBehaviorSanitizer and runs every test
# (unit, integration, README examples, packaging, network-namespace) with ctest. Extra
# arguments go to ctest. The build's output goes to build/test-build.log, printed only if
# the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
. scripts/lib.sh
log=build/test-build.log
: >"$log"
echo "test: building tether (asan; log: $log)"
logged "$log" cmake --preset asan
logged "$log" cmake --build --preset asan -j"$(nproc)"
ctest --preset asan -j2 --timeout 300 "$@"
