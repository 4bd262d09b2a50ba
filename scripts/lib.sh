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
