#!/usr/bin/env bash
# slowloris_vs_nginx.sh -- a normal client's latency while a slowloris attack runs, tether vs
# Debian's nginx, side by side in ONE interleaved run.
#
# Usage: bench/slowloris_vs_nginx.sh [--reps N] [--slow N] [--quick] [--out DIR] [--tether PATH]
#   --reps N     repetitions (default 3); every rep runs every scenario on both servers
#   --slow N     slowloris connections (default 1500)
#   --quick      smoke run: 1 rep, wrk -d3s
#   --out DIR    where raw results and the summary go (default /tmp/tether-slowloris-<time>)
#   --tether P   tether binary (default build/release/apps/tether/tether)
# Env knobs: DUR (wrk -d seconds, 10) WARM (s between attack start and wrk, 3) CONNS (wrk -c, 16)
#            LOW_NOFILE (1024) QUIET_MAX_PCT (15) QUIET_WAIT_MAX (s, 300)
#
# Method:
#  * Servers: `tether serve --workers 1` and nginx (1 worker, access_log off, `return 200
#    "Hello, World!"`, worker_connections 20480), both with their default header timeouts (60 s)
#    and keep-alive limits, pinned to CPU 0 with taskset; wrk and the attacker run on CPU 1. A
#    fresh server instance per measurement, so no leftovers of one attack meet the next.
#  * Attacker: bench/hostile/slowloris.cpp (built with g++ into a temp dir): N connections, each
#    sending one header byte per second in one burst per second, never finishing the header;
#    closed ones are reopened at once.
#  * Scenarios, each measured with `wrk -t1 -cCONNS -dDUR --latency` on GET /plaintext:
#      quiet     no attack (the baseline)
#      attack    N slow connections, within the server's fd limit (the shell's hard limit)
#      overflow  N slow connections with the server under `prlimit --nofile=LOW_NOFILE`, so the
#                attack alone fills every descriptor the server has
#  * Interleaving: for rep { for scenario { for server } }, the server order alternating per
#    rep. Medians over reps; ratios tether/nginx. Before each measurement the script waits until
#    the machine is at most QUIET_MAX_PCT % busy (a compiler on one of the 2 cores skews
#    everything) and records how busy it was during the run.
#  * All traffic goes to 127.0.0.1; every load is bounded (wrk -d, the attacker's duration, plus
#    `timeout`); processes are started by this script and stopped by PID.
set -uo pipefail
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REPS=3 SLOW=1500 OUT="" TETHER=$ROOT/build/release/apps/tether/tether
DUR=${DUR:-10} WARM=${WARM:-3} CONNS=${CONNS:-16} LOW_NOFILE=${LOW_NOFILE:-1024}
QUIET_MAX_PCT=${QUIET_MAX_PCT:-15} QUIET_WAIT_MAX=${QUIET_WAIT_MAX:-300}
CMDLINE="$0 $*"
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --reps) REPS=${2:?}; shift 2 ;;
    --slow) SLOW=${2:?}; shift 2 ;;
    --quick) REPS=1; DUR=3; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --tether) TETHER=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "slowloris_vs_nginx.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$REPS$SLOW$DUR" in *[!0-9]*) echo "slowloris_vs_nginx.sh: --reps, --slow, DUR are numbers" >&2; exit 2 ;; esac
for t in wrk nginx g++ taskset prlimit curl; do
  command -v "$t" >/dev/null || { echo "slowloris_vs_nginx.sh: needs $t" >&2; exit 2; }
done
[ -x "$TETHER" ] || { echo "slowloris_vs_nginx.sh: no tether binary at $TETHER (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
OUT=${OUT:-/tmp/tether-slowloris-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/raw"
RT=$(mktemp -d /tmp/tether-slowloris-rt.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$RT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

TPORT=18401 NPORT=18402
g++ -O2 -std=c++17 -o "$RT/slowloris" "$HERE/hostile/slowloris.cpp" || { log "building the attacker failed"; exit 1; }
cp "$TETHER" "$RT/tether"
mkdir -p "$RT/nginx/logs"
cat >"$RT/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $RT/nginx/logs/error.log;
pid $RT/nginx/nginx.pid;
events { worker_connections 20480; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NPORT;
    location / { default_type text/plain; return 200 "Hello, World!"; }
  }
}
EOF

cpu_sample() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
busy_pct() { # seconds -> % of the machine busy over that window
  local a b
  a=$(cpu_sample); sleep "$1"; b=$(cpu_sample)
  echo "$a $b" | awk '{d = $4 - $2; printf "%d", (d > 0 ? 100 * ($3 - $1) / d : 0)}'
}
wait_quiet() {
  local waited=0 pct
  while pct=$(busy_pct 1); [ "$pct" -gt "$QUIET_MAX_PCT" ]; do
    waited=$((waited + 1))
    [ "$waited" -ge "$QUIET_WAIT_MAX" ] && { log "machine still ${pct}% busy; measuring anyway"; return; }
  done
}

start_server() { # server scenario -> sets SPID
  local limit=()
  [ "$2" = overflow ] && limit=(prlimit --nofile="$LOW_NOFILE:$LOW_NOFILE")
  if [ "$1" = tether ]; then
    "${limit[@]}" taskset -c 0 "$RT/tether" serve --listen "127.0.0.1:$TPORT" --workers 1 \
      >"$OUT/raw/tether-serve.log" 2>&1 &
  else
    "${limit[@]}" taskset -c 0 nginx -p "$RT/nginx" -c "$RT/nginx/nginx.conf" \
      >>"$OUT/raw/nginx.log" 2>&1 &
  fi
  SPID=$!
}
wait_up() { # port
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/plaintext" && return 0; sleep 0.05; done
  return 1
}
to_us() { awk '{v=$1; if (v ~ /us$/) v+=0; else if (v ~ /ms$/) v*=1000; else if (v ~ /s$/) v*=1000000; printf "%.0f", v}'; }

measure() { # rep scenario server
  local rep=$1 sc=$2 srv=$3 port=$TPORT apid="" raw
  [ "$srv" = nginx ] && port=$NPORT
  raw=$OUT/raw/$sc-$srv-rep$rep
  wait_quiet
  start_server "$srv" "$sc"; PIDS+=("$SPID")
  wait_up "$port" || { log "$srv did not come up"; return 1; }
  if [ "$sc" != quiet ]; then
    timeout $((WARM + DUR + 10)) taskset -c 1 "$RT/slowloris" "$port" "$SLOW" $((WARM + DUR + 1)) \
      >"$raw.attack.json" 2>&1 &
    apid=$!; PIDS+=("$apid")
    sleep "$WARM"
  fi
  local a b
  a=$(cpu_sample)
  timeout $((DUR + 20)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency \
    "http://127.0.0.1:$port/plaintext" >"$raw.wrk" 2>&1
  b=$(cpu_sample)
  [ "$srv" = tether ] && curl -s "http://127.0.0.1:$port/.tether/status" >"$raw.status.json"
  [ -n "$apid" ] && wait "$apid"
  kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
  local p50=NA p99=NA rps reqs errs
  reqs=$(awk '/requests in/{print $1}' "$raw.wrk")
  if [ "${reqs:-0}" -gt 0 ]; then  # wrk prints 0.00us percentiles when nothing was served
    p50=$(awk '$1=="50%"{print $2}' "$raw.wrk" | to_us)
    p99=$(awk '$1=="99%"{print $2}' "$raw.wrk" | to_us)
  fi
  rps=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$raw.wrk")
  errs=$(awk '/Socket errors/{gsub(",",""); s=$4+$6+$8+$10} /Non-2xx/{s+=$NF} END{print s+0}' "$raw.wrk")
  echo "$rep $sc $srv $p50 $p99 ${rps:-0} $errs ${reqs:-0} $(echo "$a $b" | awk '{d = $4 - $2; printf "%d", (d > 0 ? 100 * ($3 - $1) / d : 0)}')" \
    >>"$OUT/results.txt"
  log "rep $rep $sc $srv: ${reqs:-0} requests, p50 ${p50}us p99 ${p99}us, ${rps} req/s, errors $errs"
}

{
  echo "command: $CMDLINE"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel: $(uname -r)  nproc: $(nproc)"
  echo "tether: $("$RT/tether" --version)  nginx: $(nginx -v 2>&1 | sed 's/.*: //')  wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "slow connections: $SLOW  wrk: -t1 -c$CONNS -d${DUR}s  overflow nofile: $LOW_NOFILE  hard nofile here: $(ulimit -Hn)"
} >"$OUT/env.txt"
echo "# rep scenario server p50_us p99_us req_s errors requests machine_busy_pct" >"$OUT/results.txt"
for rep in $(seq "$REPS"); do
  order=(tether nginx); [ $((rep % 2)) -eq 0 ] && order=(nginx tether)
  for sc in quiet attack overflow; do
    for srv in "${order[@]}"; do measure "$rep" "$sc" "$srv"; done
  done
done
awk '
  # Median of the values v[1..n] that are numbers ("NA": that rep served nothing).
  function median(v, n,   i, j, t, m, w) {
    m = 0
    for (i = 1; i <= n; i++) if (v[i] != "NA") w[++m] = v[i] + 0
    if (m == 0) return "NA"
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
    return (m % 2) ? w[(m + 1) / 2] : (w[m / 2] + w[m / 2 + 1]) / 2
  }
  function ratio(a, b) { return (a == "NA" || b == "NA" || b == 0) ? "NA" : sprintf("%.2f", a / b) }
  /^#/ { next }
  { k = $2 " " $3; n[k]++; p50[k, n[k]] = $4; p99[k, n[k]] = $5; rps[k, n[k]] = $6
    err[k] += $7; if ($8 == 0) empty[k]++ }
  END {
    printf "%-9s %-7s %9s %9s %9s %7s %s\n", "scenario", "server", "p50_us", "p99_us", "req/s", "errors", "reps_served_nothing"
    split("quiet attack overflow", scs, " ")
    for (s = 1; s <= 3; s++) for (v = 1; v <= 2; v++) {
      srv = (v == 1) ? "tether" : "nginx"; k = scs[s] " " srv; m = n[k]
      for (i = 1; i <= m; i++) { a[i] = p50[k, i]; b[i] = p99[k, i]; c[i] = rps[k, i] }
      M50[k] = median(a, m); M99[k] = median(b, m); MR[k] = median(c, m)
      printf "%-9s %-7s %9s %9s %9s %7d %d of %d\n", scs[s], srv, M50[k], M99[k], MR[k], err[k], empty[k], m
    }
    print ""
    printf "%-9s %17s %19s\n", "scenario", "p99 tether/nginx", "req/s tether/nginx"
    for (s = 1; s <= 3; s++) {
      t = scs[s] " tether"; g = scs[s] " nginx"
      printf "%-9s %17s %19s\n", scs[s], ratio(M99[t], M99[g]), ratio(MR[t], MR[g])
    }
  }' "$OUT/results.txt" | tee "$OUT/summary.txt"
cp "$RT/nginx/logs/error.log" "$OUT/raw/nginx-error.log" 2>/dev/null
echo "raw results: $OUT" >&2
