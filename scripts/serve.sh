#!/usr/bin/env bash
# Builds tether (release), puts it on the PATH with its man page and bash completion
# (`cmake --install build/release --component cli` into /usr/local: the binary, not the
# library), and runs `tether serve` on 127.0.0.1:8080 with the embedded default site.
# Extra arguments go to `tether serve`. Quiet: the build's output goes to build/serve.log,
# printed only if a step fails. Idempotent: a second run rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
. scripts/lib.sh
log=build/serve.log
: >"$log"
echo "serve: building tether (release; log: $log)"
# The test suite is not built here, so GoogleTest is not needed (scripts/test.sh builds it).
logged "$log" cmake --preset release -DTETHER_BUILD_TESTS=OFF
logged "$log" cmake --build --preset release -j"$(nproc)" --target tether_cli tether_docs
logged "$log" $SUDO cmake --install build/release --component cli --prefix /usr/local --strip
echo "serve: installed /usr/local/bin/tether, its man page (man tether) and bash completion"
echo "serve: try  curl http://127.0.0.1:8080/plaintext   (Ctrl-C stops the server)"
exec /usr/local/bin/tether serve --listen 127.0.0.1:8080 "$@"
