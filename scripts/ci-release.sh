#!/usr/bin/env bash
# Builds every target of the release preset (optimized; -Wall -Wextra -Werror, as in every
# preset), so warnings that only the optimizer finds fail CI. Runs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build_preset release
