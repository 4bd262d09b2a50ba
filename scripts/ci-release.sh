#!/usr/bin/env bash
# Builds what ships with the release preset (optimized; -Wall -Wextra -Werror, as in every
# preset): the libraries, the CLI, its docs and the example, so warnings that only the
# optimizer finds fail CI. Runs nothing. The unit tests are left out: the tsan stage already
# builds them at -O2 with the same warnings, and they are the longest part of this build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
# client_driver is a test target: switch the suite on, as scripts/serve.sh may have left it off
# in this build directory.
mkdir -p build
logged build/release-configure.log cmake --preset release -DTETHER_BUILD_TESTS=ON
build_preset release tether_cli tether_docs hello_server client_driver
