#!/usr/bin/env bash
# Bytes per idle keep-alive connection counting the kernel's share: tether on epoll and on
# io_uring side by side, in ONE interleaved run (the order rotates each rep).
#
# The RSS figures elsewhere (bench/io_backends.py, idle) see only user memory; epoll keeps its
# per-socket item in the kernel and io_uring its requests, and both are charged to the
# server's memory cgroup (slab with SLAB_ACCOUNT). So each server runs in a fresh cgroup-v1
# memory group, and the script reads, before and after N idle connections (one request each,
# bench/keepalive/idle_conns.cpp, on CPU 1): memory.usage_in_bytes (user + kernel),
# memory.kmem.usage_in_bytes (kernel) and the server's VmRSS; each delta / N.
#
# Usage (root, cgroup v1 memory controller at /sys/fs/cgroup/memory):
#   bench/idle_kernel_memory.sh [N=10000] [REPS=3] [TETHER=build/release/apps/tether/tether]
# Loopback only; servers and clients are ended by PID; the cgroups are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
reps=${2:-3}
tether=${3:-build/release/apps/tether/tether}
root=/sys/fs/cgroup/memory
[ -w "$root" ] && [ -e "$root/memory.kmem.usage_in_bytes" ] || {
  echo "idle_kernel_memory.sh: needs root and the cgroup-v1 memory controller at $root" >&2
  exit 2
}
tmp=$(mktemp -d /tmp/tether-kmem.XXXXXX)
server='' client='' group=''
cleanup() {
  [ -n "$client" ] && kill "$client" 2>/dev/null && wait "$client" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$group" ] && [ -d "$group" ] && { sleep 0.5; rmdir "$group" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
g++ -O2 -std=c++17 -o "$tmp/idle_conns" bench/keepalive/idle_conns.cpp

rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# `measure BACKEND`: one fresh server; sets `m` to "usage kmem rss" bytes per connection.
# Runs in this shell (not a subshell), so that the EXIT trap sees what it started.
measure() {
  local b=$1 port u0 k0 r0 u1 k1 r1 line
  group=$root/tether-kmem-$b-$$
  mkdir "$group"
  port=$(free_port)
  # The shell joins the group, then becomes the server: every allocation is charged there.
  bash -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$group" taskset -c 0 "$tether" \
    serve --io-backend "$b" --workers 1 --listen "127.0.0.1:$port" --keepalive-timeout 650s \
    --keepalive-requests 0 >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fso /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.1; done
  for _ in $(seq 16); do curl -fso /dev/null "http://127.0.0.1:$port/plaintext"; done  # warm-up
  sleep 1
  u0=$(cat "$group/memory.usage_in_bytes") k0=$(cat "$group/memory.kmem.usage_in_bytes") r0=$(rss "$server")
  exec {out}< <(exec taskset -c 1 "$tmp/idle_conns" "$port" "$n" 120)
  client=$!
  read -r line <&"$out"
  case $line in READY*) ;; *) echo "idle client: $line" >&2; exit 1 ;; esac
  sleep 2
  u1=$(cat "$group/memory.usage_in_bytes") k1=$(cat "$group/memory.kmem.usage_in_bytes") r1=$(rss "$server")
  kill "$client"; wait "$client" 2>/dev/null || true; client=''
  exec {out}<&-
  kill "$server"; wait "$server" 2>/dev/null || true; server=''
  sleep 0.5; rmdir "$group"; group=''
  m="$(( (u1 - u0) / n )) $(( (k1 - k0) / n )) $(( (r1 - r0) / n ))"
}

echo "# bench/idle_kernel_memory.sh $n $reps $tether"
declare -A results
backends=(epoll io_uring)
for ((rep = 1; rep <= reps; rep++)); do
  order=("${backends[@]}")
  ((rep % 2 == 0)) && order=(io_uring epoll)
  for b in "${order[@]}"; do
    measure "$b"
    read -r u k r <<<"$m"
    echo "rep $rep $b: total $u kernel $k rss $r bytes per idle connection"
    results[$b]+="$u $k $r;"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
col() { tr ';' '\n' | awk -v c="$1" 'NF {print $c}' | median; }
echo "medians (bytes per idle connection)"
for b in "${backends[@]}"; do
  echo "  $b: total $(col 1 <<<"${results[$b]}") kernel $(col 2 <<<"${results[$b]}") rss $(col 3 <<<"${results[$b]}")"
done
for c in 1 2 3; do
  e=$(col $c <<<"${results[epoll]}") i=$(col $c <<<"${results[io_uring]}")
  name=$(cut -d' ' -f$c <<<"total kernel rss")
  awk -v n="$name" -v e="$e" -v i="$i" 'BEGIN {printf "  io_uring / epoll %s: %.2f\n", n, i / e}'
done
