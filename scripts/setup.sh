#!/usr/bin/env bash
# Installs what tether needs to build, run and test, from Debian 12 packages.
# Idempotent: only calls apt-get when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake g++ pkg-config clang-format
  node-llhttp libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  curl wrk apache2-utils python3 python3-requests nginx iproute2 procps
  nftables conntrack
  apache2 lighttpd nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # nginx, apache2 and lighttpd are test peers only: keep Debian from starting their
  # system services (invoke-rc.d and deb-systemd-invoke both obey policy-rc.d's 101).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
