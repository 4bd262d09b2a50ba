#!/usr/bin/env bash
# Builds tether (release) and runs `tether serve` on 127.0.0.1:8080 with the
# embedded default site. Extra arguments go to `tether serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target tether_cli
exec build/release/apps/tether/tether serve --listen 127.0.0.1:8080 "$@"
