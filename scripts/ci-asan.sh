#!/usr/bin/env bash
# Builds tether with AddressSanitizer + UndefinedBehaviorSanitizer (the asan preset) and
# runs every test with ctest: unit, integration, README examples, layering, packaging, the
# fuzz smoke run (fuzz.smoke) and the network-namespace fault suite (root only). Extra
# arguments go to ctest (e.g. -E '^netns\.').
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build_preset asan
ctest --preset asan -j2 --timeout 300 "$@"
