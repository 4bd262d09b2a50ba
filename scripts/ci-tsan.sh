#!/usr/bin/env bash
# Builds what the unit and integration tests run, with ThreadSanitizer (the tsan preset:
# unit_tests, tether, client_driver), and runs those two suites: the tsan test preset
# selects them and sets TSAN_OPTIONS=halt_on_error=1, so a data race fails its test.
# Usage: scripts/ci-tsan.sh [--build-only | CTEST_ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build_preset tsan unit_tests tether_cli client_driver
if [ "${1:-}" = --build-only ]; then exit 0; fi
ctest --preset tsan -j2 --timeout 300 "$@"
