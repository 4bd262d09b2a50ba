#!/usr/bin/env bash
# Builds tether with AddressSanitizer + UndefinedBehaviorSanitizer and runs every
# test (unit, integration, network-namespace) with ctest. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$(nproc)"
ctest --preset asan -j2 --timeout 300 "$@"
