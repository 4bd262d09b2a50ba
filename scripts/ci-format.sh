#!/usr/bin/env bash
# Checks that every tracked C and C++ file is formatted as .clang-format says
# (clang-format --dry-run --Werror); prints each difference and exits 1 if one is not.
# Fix with: git ls-files -z '*.c' '*.cpp' '*.h' | xargs -0 clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "ci-format.sh: not a git checkout; the check covers the files git tracks" >&2
  exit 2
fi
mapfile -d '' files < <(git ls-files -z '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
echo "format: clang-format --dry-run --Werror over ${#files[@]} files"
printf '%s\0' "${files[@]}" | xargs -0 clang-format --dry-run --Werror
