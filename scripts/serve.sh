#!/usr/bin/env bash
# Builds tether (release) and runs `tether serve` on 127.0.0.1:8080 with the
# embedded default site. Extra arguments go to `tether serve`. Quiet: the build's
# output goes to build/serve.log, printed only if a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
. scripts/lib.sh
log=build/serve.log
: >"$log"
echo "serve: building tether (release; log: $log)"
logged "$log" cmake --preset release
logged "$log" cmake --build --preset release -j"$(nproc)" --target tether_cli
exec build/release/apps/tether/tether serve --listen 127.0.0.1:8080 "$@"
