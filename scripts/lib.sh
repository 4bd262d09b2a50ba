# Shell helpers for the scripts in this directory (sourced, not run).
# shellcheck shell=bash

# `logged LOG COMMAND...` runs COMMAND with its output appended to LOG; if it fails, prints
# the log on stderr and exits 1. Keeps a step quiet unless something goes wrong.
logged() {
  local log=$1
  shift
  if ! "$@" >>"$log" 2>&1; then
    echo "${0##*/}: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

# Empty as root, else "sudo": for the steps that change the system.
# shellcheck disable=SC2034  # used by the scripts that source this file
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

# `timed NAME COMMAND...` runs COMMAND and then prints how long it took and the CPU time
# it used (user + system, all its processes), as "NAME: N s (CPU M s)": the CI run's
# per-stage figures (README, Tests). On a shared machine the CPU time is the steadier one.
timed() {
  local name=$1 start=$SECONDS cpu status=0
  shift
  cpu=$(children_cpu_ms)
  "$@" || status=$?
  cpu=$(($(children_cpu_ms) - cpu))
  local failed=""
  ((status == 0)) || failed=", failed"
  echo "$name: $((SECONDS - start)) s (CPU $((cpu / 1000)) s)$failed"
  return "$status"
}

# CPU time (ms, user + system) of the finished children of this script's shell ($$):
# cutime and cstime, fields 16 and 17 of /proc/PID/stat, in clock ticks.
children_cpu_ms() {
  local stat fields
  stat=$(</proc/$$/stat)
  read -ra fields <<<"${stat##*) }"  # after the command name: field 3 on
  echo $(((fields[13] + fields[14]) * 1000 / $(getconf CLK_TCK)))
}

# `build_preset PRESET [TARGET...]` configures and builds the CMake preset PRESET (every
# target, or only TARGETs), quietly: the output goes to build/PRESET-build.log, printed
# only if a step fails.
build_preset() {
  local preset=$1 log=build/$1-build.log targets=()
  shift
  if (($#)); then targets=(--target "$@"); fi
  mkdir -p build
  : >"$log"
  echo "$preset: building${targets:+ $*} (log: $log)"
  logged "$log" cmake --preset "$preset"
  logged "$log" cmake --build --preset "$preset" -j"$(nproc)" "${targets[@]}"
}

# `ctest_quiet LOG CTEST-ARGS...` runs ctest with every test's line in LOG and prints only
# its summary and the tests that did not run (skipped); when a test fails, also the failing
# tests' output (everything in LOG but the per-test start and pass lines).
ctest_quiet() {
  local log=$1 status=0
  shift
  local junit="$PWD/${log%.log}.junit.xml"
  ctest --output-on-failure --output-junit "$junit" "$@" >"$log" 2>&1 || status=$?
  if ((status == 0)); then
    grep -E "tests passed|tests failed" "$log" || true
    # ctest counts a skipped test as passed: name them, so a skip never reads as a pass,
    # and say why (the tests print a `SKIPPED: reason` line, kept in the JUnit file).
    sed -n '/^The following tests did not run:/,/^$/p' "$log"
    if grep -q '^The following tests did not run:' "$log"; then
      grep -o 'SKIPPED: [^<]*' "$junit" 2>/dev/null | sort -u || true
    fi
  else
    grep -vE '^ *Start +[0-9]+: |Test +#[0-9]+: .* Passed ' "$log" >&2 || true
    echo "(full ctest output: $log)" >&2
  fi
  return "$status"
}
