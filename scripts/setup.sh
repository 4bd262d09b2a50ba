#!/usr/bin/env bash
# Installs what tether needs from Debian 12 packages, as root (or through sudo):
#   scripts/setup.sh run    building and running tether (scripts/serve.sh)
#   scripts/setup.sh test   that, plus the test peers and tools (scripts/test.sh)
#
# Idempotent: apt-get runs only when a package is missing.
# Quiet: apt's output goes to build/setup.log, which is printed only if a step fails.
# No system service is left enabled or running. Debian starts and enables the services of
# the packages it installs (nginx, apache2, lighttpd, haproxy, prometheus, man-db's timer): a policy-rc.d that
# answers 101 keeps them from starting, and afterwards the systemd units and init scripts
# of every package this script installed are disabled, whether this run installed it or an
# earlier one (found in apt's history log, which also records the earlier version of this
# script that left apache2 and nginx enabled). A service of a package installed any other
# way is the machine owner's business and is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-run}
# Building: llhttp's C sources come from node-llhttp (Debian 12 has no libllhttp-dev), which
# depends on nodejs.
build_packages=(
  build-essential cmake g++ pkg-config
  node-llhttp libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev liburing-dev
)
# Running: the README's examples talk to `tether serve` with curl; `man tether` needs man-db.
run_packages=(curl man-db)
# Testing: GoogleTest, peers and tools of the integration and fault tests, the .deb check
# (dpkg-shlibdeps needs `file`), formatting, the fuzzers (clang
# and its libFuzzer runtime), the CI's compiler cache (ccache), and a headless browser for
# the tests that open the live page and the bench HTML report (chromium); WebSocket peers:
# libwslay (the framing unit tests' reference), Python's websockets and Node's ws.
test_packages=(
  libgtest-dev libgmock-dev clang-format libbenchmark-dev file clang libclang-rt-14-dev ccache
  libwslay-dev python3-websockets node-ws
  wrk apache2-utils python3 python3-requests iproute2 procps nftables conntrack
  nginx apache2 lighttpd haproxy nodejs openssl prometheus chromium
)
case $profile in
  run) packages=("${build_packages[@]}" "${run_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${run_packages[@]}" "${test_packages[@]}") ;;
  *)
    echo "usage: scripts/setup.sh run|test" >&2
    exit 2
    ;;
esac

. scripts/lib.sh
mkdir -p build
log=build/setup.log
: >"$log"
quiet() { logged "$log" "$@"; }

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} (log: $log)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  quiet $SUDO apt-get update
  # Tether::Setup=1 marks the install in apt's history log (see installed_by_setup).
  quiet $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o Tether::Setup=1 install -y \
    --no-install-recommends "${missing[@]}"
fi

# Every package (with its automatic dependencies) that this script installed, now or
# earlier: apt history entries whose command line is this script's apt-get (marked with
# Tether::Setup=1), or the earlier version's: exactly `apt-get install -y -qq
# --no-install-recommends` with arguments all from its package list.
old_packages=" ${build_packages[*]} ${run_packages[*]} ${test_packages[*]} "
installed_by_setup() {
  local f
  for f in /var/log/apt/history.log*; do
    if [ -r "$f" ]; then zcat -f "$f"; fi
  done | awk -v old="$old_packages" '
    /^Start-Date:/ { ours = 0 }
    /^Commandline:/ {
      ours = /Tether::Setup=1/
      prefix = "Commandline: apt-get install -y -qq --no-install-recommends "
      if (index($0, prefix) == 1) {
        ours = 1
        n = split(substr($0, length(prefix) + 1), args, " ")
        for (i = 1; i <= n; i++) if (index(old, " " args[i] " ") == 0) ours = 0
      }
    }
    ours && /^Install:/ {
      sub(/^Install: /, "")
      n = split($0, entries, /\), /)
      for (i = 1; i <= n; i++) { split(entries[i], name, ":"); print name[1] }
    }' | sort -u
}

# Units that can be enabled (services, sockets, timers) and init scripts of one package.
units_of() {
  dpkg-query -L "$1" 2>/dev/null | grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket|timer)$' |
    xargs -r -n1 basename || true
}
initscripts_of() {
  dpkg-query -L "$1" 2>/dev/null | grep -E '^/etc/init\.d/[^/]+$' | xargs -r -n1 basename || true
}

# `systemctl is-enabled` and `systemctl disable` work on the unit files, without a running
# systemd (a container, a chroot); `disable` also runs `update-rc.d NAME disable` for a unit
# with an init script. Without systemctl: the wants/ symlinks go, then update-rc.d.
unit_enabled() {
  if command -v systemctl >/dev/null; then
    [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ]
  else
    compgen -G "/etc/systemd/system/*.wants/$1" >/dev/null
  fi
}
initscript_enabled() {
  compgen -G "/etc/rc[2-5].d/S[0-9][0-9]$1" >/dev/null
}

# With systemd running, `disable --now` also stops the unit.
now=()
[ -d /run/systemd/system ] && now=(--now)
disabled=()
for p in $(installed_by_setup); do
  installed "$p" || continue
  for u in $(units_of "$p"); do
    if unit_enabled "$u"; then
      if command -v systemctl >/dev/null; then
        quiet $SUDO systemctl disable "${now[@]}" "$u"
      fi
      $SUDO rm -f /etc/systemd/system/*.wants/"$u"
      disabled+=("$u")
    elif ((${#now[@]})) && systemctl is-active --quiet "$u"; then
      quiet $SUDO systemctl stop "$u"
    fi
    if unit_enabled "$u"; then
      echo "setup: could not disable $u" >&2
      exit 1
    fi
  done
  for s in $(initscripts_of "$p"); do
    initscript_enabled "$s" || continue
    quiet $SUDO update-rc.d "$s" disable
    disabled+=("/etc/init.d/$s")
    if initscript_enabled "$s"; then
      echo "setup: could not disable /etc/init.d/$s" >&2
      exit 1
    fi
  done
done
if ((${#disabled[@]})); then
  echo "setup: disabled at boot: ${disabled[*]}"
fi
