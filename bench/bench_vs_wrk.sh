#!/usr/bin/env bash
# bench_vs_wrk.sh -- `tether bench -t1` vs `wrk -t1` against the same servers (nginx, `tether
# serve` and a canned-response reference), non-pipelined and pipelined, interleaved, medians and ratios.
#
# Usage: bench/bench_vs_wrk.sh [--reps N] [--dur S] [--conns C] [--depth D] [--tether PATH] [--out DIR]
#   --reps N     repetitions (default 3); every rep runs every (test, server, client)
#   --dur S      seconds per run (default 5; wrk -dS, tether bench -dSs)
#   --conns C    connections (default 64), --depth D pipeline depth (default 16)
#   --tether P   tether binary (default build/release/apps/tether/tether)
#   --out DIR    raw results and summary (default /tmp/tether-bench-vs-wrk-<time>)
#
# Method (same pinning as bench/keepalive_vs_nginx.sh):
#  * Servers: nginx 1 worker (generated config, `return 200 "Hello, World!"`, access_log off,
#    keepalive_timeout 650s, keepalive_requests 1e9) and `tether serve --workers 1
#    --keepalive-timeout 650s --keepalive-requests 0`, both under `taskset -c 0`. A third server,
#    `keepalive/canned_server.cpp` (built here; answers each "\r\n\r\n" with a fixed response,
#    no parsing), also on CPU 0, is the client-bound reference: against nginx and tether serve
#    the server core can be the limit, against it the clients' own speed decides req/s.
#  * Clients, under `taskset -c 1`, one thread each, same -c and duration:
#      wrk -t1 -cC -dS -s keepalive/report.lua URL            (non-pipelined)
#      wrk -t1 -cC -dS -s keepalive/pipeline.lua URL -- D /plaintext  (D requests per write)
#      tether bench URL -t1 -cC -dSs [--pipeline D] --json
#    Both count every response as a request (wrk also with pipeline.lua).
#  * Interleaving: for rep { for test { for server { for client } } }; the server order and the
#    client order alternate between reps.
#  * Recorded per run: req/s (the tool's own figure), client CPU (user+sys of the client
#    process, from bash `time`) per request, server CPU ticks, and "foreign" CPU: machine busy
#    ticks (/proc/stat) not explained by server or client, in % of the 2 cores. This machine is
#    shared with compilers: runs with foreign > FOREIGN_MAX % (default 5) are flagged `noisy=1`;
#    the summary gives medians over all runs and over quiet runs only.
#  * Every run is bounded (`timeout 60`); servers are started and stopped by PID.
set -uo pipefail
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REPS=3 DUR=5 CONNS=64 DEPTH=16
TETHER=$ROOT/build/release/apps/tether/tether
OUT=/tmp/tether-bench-vs-wrk-$(date +%Y%m%d-%H%M%S)
FOREIGN_MAX=${FOREIGN_MAX:-5}
NGINX_PORT=${NGINX_PORT:-18280}
TETHER_PORT=${TETHER_PORT:-18290}
CANNED_PORT=${CANNED_PORT:-18300}
CMDLINE="$0 $*"
while [ $# -gt 0 ]; do
  case $1 in
    --reps) REPS=${2:?}; shift 2 ;;
    --dur) DUR=${2:?}; shift 2 ;;
    --conns) CONNS=${2:?}; shift 2 ;;
    --depth) DEPTH=${2:?}; shift 2 ;;
    --tether) TETHER=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$REPS" "$DUR" "$CONNS" "$DEPTH"; do
  case $v in ''|*[!0-9]*|0) echo "--reps/--dur/--conns/--depth need positive integers" >&2; exit 2 ;; esac
done
for t in nginx wrk taskset python3 timeout g++; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (apt-get install -y nginx wrk)" >&2; exit 3; }
done
[ -x "$TETHER" ] || { echo "tether binary not found: $TETHER (use --tether)" >&2; exit 3; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs" >&2; exit 3; }

CLK=$(getconf CLK_TCK)
RT=$(mktemp -d /tmp/bench-vs-wrk.XXXXXX)
mkdir -p "$OUT/raw" "$RT/nginx-tmp"
RES=$OUT/results.txt; : >"$RES"
declare -A SPID=()
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

cleanup() {
  local s i
  trap - EXIT INT TERM
  for s in "${!SPID[@]}"; do kill -TERM "${SPID[$s]}" 2>/dev/null; done
  for s in "${!SPID[@]}"; do
    for i in $(seq 1 100); do kill -0 "${SPID[$s]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${SPID[$s]}" 2>/dev/null; wait "${SPID[$s]}" 2>/dev/null
  done
  rm -rf "$RT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { ss -tlnH "( sport = :$1 )" | grep -q .; }
wait_listen() { local i; for i in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done; return 1; }

start_servers() {
  cp "$TETHER" "$RT/tether"  # a rebuild during the run does not change what is measured
  cat >"$RT/nginx.conf" <<EOF
worker_processes 1;
pid $RT/nginx.pid;
error_log $RT/nginx.log warn;
events { use epoll; worker_connections 4096; accept_mutex off; }
http {
    access_log off;
    keepalive_timeout 650s;
    keepalive_requests 1000000000;
    client_body_temp_path $RT/nginx-tmp/b; proxy_temp_path $RT/nginx-tmp/p;
    fastcgi_temp_path $RT/nginx-tmp/f; uwsgi_temp_path $RT/nginx-tmp/u; scgi_temp_path $RT/nginx-tmp/s;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
        location / { return 404; }
    }
}
EOF
  listening "$NGINX_PORT" && { log "port $NGINX_PORT busy"; exit 1; }
  listening "$TETHER_PORT" && { log "port $TETHER_PORT busy"; exit 1; }
  listening "$CANNED_PORT" && { log "port $CANNED_PORT busy"; exit 1; }
  g++ -O2 -std=c++17 -o "$RT/canned_server" "$HERE/keepalive/canned_server.cpp" ||
    { log "building canned_server failed"; exit 3; }
  taskset -c 0 nginx -p "$RT/" -e "$RT/nginx.log" -c "$RT/nginx.conf" -g 'daemon off;' \
    >>"$RT/nginx.log" 2>&1 </dev/null &
  SPID[nginx]=$!
  taskset -c 0 "$RT/tether" serve --listen "127.0.0.1:$TETHER_PORT" --workers 1 \
    --keepalive-timeout 650s --keepalive-requests 0 >>"$RT/tether.log" 2>&1 </dev/null &
  SPID[tether]=$!
  taskset -c 0 "$RT/canned_server" "$CANNED_PORT" >>"$RT/canned.log" 2>&1 </dev/null &
  SPID[canned]=$!
  wait_listen "$NGINX_PORT" || { log "nginx did not start"; cat "$RT/nginx.log" >&2; exit 1; }
  wait_listen "$TETHER_PORT" || { log "tether did not start"; cat "$RT/tether.log" >&2; exit 1; }
  wait_listen "$CANNED_PORT" || { log "canned_server did not start"; cat "$RT/canned.log" >&2; exit 1; }
}

port_of() {
  case $1 in nginx) echo "$NGINX_PORT" ;; tether) echo "$TETHER_PORT" ;; *) echo "$CANNED_PORT" ;; esac
}
srv_ticks() { # main pid + children (nginx worker), utime+stime
  local pid t=0 st f
  for pid in ${SPID[$1]} $(ps -o pid= --ppid "${SPID[$1]}" 2>/dev/null); do
    st=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    st=${st##*) }; read -r -a f <<<"$st"; t=$((t + f[11] + f[12]))
  done
  echo "$t"
}
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }

run_one() { # rep test server client
  local rep=$1 test=$2 srv=$3 cli=$4 url raw cmd=() t0 t1 b0 b1 w0 w1 rps req cu cs
  url="http://127.0.0.1:$(port_of "$srv")/plaintext"
  raw=$OUT/raw/$test-$srv-$cli-$rep.txt
  if [ "$cli" = wrk ]; then
    cmd=(wrk -t1 -c"$CONNS" -d"${DUR}s")
    if [ "$test" = pipe ]; then cmd+=(-s "$HERE/keepalive/pipeline.lua" "$url" -- "$DEPTH" /plaintext)
    else cmd+=(-s "$HERE/keepalive/report.lua" "$url"); fi
  else
    cmd=("$RT/tether" bench "$url" -t1 -c"$CONNS" -d"${DUR}s" --json)
    [ "$test" = pipe ] && cmd+=(--pipeline "$DEPTH")
  fi
  t0=$(srv_ticks "$srv"); b0=$(busy_ticks); w0=$(date +%s.%N)
  local TIMEFORMAT='CLIENTTIME %U %S'
  { time taskset -c 1 timeout 60 "${cmd[@]}" >"$raw" 2>&1; } 2>"$raw.time"
  w1=$(date +%s.%N); b1=$(busy_ticks); t1=$(srv_ticks "$srv")
  read -r _ cu cs < <(grep '^CLIENTTIME' "$raw.time"); rm -f "$raw.time"
  if [ "$cli" = wrk ]; then
    rps=$(sed -n 's/^RESULT rps=\([0-9.]*\).*/\1/p' "$raw"); req=$(sed -n 's/^RESULT.* requests=\([0-9]*\).*/\1/p' "$raw")
  else
    read -r rps req < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests_per_s"], r["requests"])' "$raw" 2>/dev/null)
  fi
  awk -v rep="$rep" -v test="$test" -v srv="$srv" -v cli="$cli" -v rps="${rps:-0}" -v req="${req:-0}" \
      -v cu="${cu:-0}" -v cs="${cs:-0}" -v st=$((t1 - t0)) -v bt=$((b1 - b0)) -v k="$CLK" \
      -v w0="$w0" -v w1="$w1" -v fmax="$FOREIGN_MAX" 'BEGIN{
    w = w1 - w0; ct = (cu + cs) * k; f = (bt - st - ct) / (2 * w * k) * 100; if (f < 0) f = 0
    printf "rep=%s test=%s server=%s client=%s rps=%.1f requests=%d cli_cpu_s=%.3f cli_us_per_req=%.3f srv_ticks=%d wall_s=%.2f foreign_pct=%.1f noisy=%d\n",
      rep, test, srv, cli, rps, req, cu + cs, (req > 0 ? (cu + cs) * 1e6 / req : 0), st, w, f, (f > fmax)
  }' | tee -a "$RES" >&2
}

summarize() {
  python3 - "$RES" <<'EOF'
import collections, os, statistics, sys
runs = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if line.strip()]
def med(xs): return statistics.median(xs) if xs else float("nan")
# server CPU %: the server's share of its one core during the run; near 100 % the server,
# not the client, sets req/s. capacity: req/s per client CPU-second, bench / wrk (what one
# thread of each would reach against a server that is never the limit).
print("| test | server | runs (quiet) | wrk req/s | tether bench req/s | ratio | quiet-only ratio "
      "| client CPU µs/req wrk / bench | client capacity bench/wrk | server CPU % wrk / bench |")
print("|---|---|---|---|---|---|---|---|---|---|")
for test in ("plain", "pipe"):
    for srv in ("nginx", "tether", "canned"):
        sel = lambda cli, quiet=False: [r for r in runs if r["test"] == test and r["server"] == srv
                                        and r["client"] == cli and (not quiet or r["noisy"] == "0")]
        w, b = sel("wrk"), sel("bench")
        if not w or not b: continue
        rw, rb = med([float(r["rps"]) for r in w]), med([float(r["rps"]) for r in b])
        qw, qb = sel("wrk", True), sel("bench", True)
        q = (f'{med([float(r["rps"]) for r in qb]) / med([float(r["rps"]) for r in qw]):.2f}'
             if qw and qb else "n/a")
        cw = med([float(r["cli_us_per_req"]) for r in w]); cb = med([float(r["cli_us_per_req"]) for r in b])
        hz = os.sysconf("SC_CLK_TCK")
        busy = lambda rs: med([100 * float(r["srv_ticks"]) / hz / float(r["wall_s"]) for r in rs])
        print(f"| {test} | {srv} | {len(w)}+{len(b)} ({len(qw)}+{len(qb)}) | {rw/1e3:.1f}k | {rb/1e3:.1f}k | "
              f"{rb/rw:.2f} | {q} | {cw:.2f} / {cb:.2f} | {cw/cb:.2f} | {busy(w):.0f} / {busy(b):.0f} |")
EOF
}

{
  echo "command: $CMDLINE"; echo "date: $(date -Is)"; echo "host: nproc=$(nproc) kernel=$(uname -r)"
  echo "nginx: $(nginx -v 2>&1)"; echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "tether: $("$TETHER" --version 2>&1) $TETHER sha256=$(sha256sum "$TETHER" | cut -c1-16)"
  echo "settings: REPS=$REPS DUR=${DUR}s CONNS=$CONNS DEPTH=$DEPTH FOREIGN_MAX=$FOREIGN_MAX"
  echo "loadavg at start: $(cat /proc/loadavg)"
} | tee "$OUT/env.txt" >&2
start_servers
sleep 1
for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then servers="tether nginx canned"; clients="bench wrk"
  else servers="canned nginx tether"; clients="wrk bench"; fi
  for test in plain pipe; do
    for srv in $servers; do
      for cli in $clients; do run_one "$rep" "$test" "$srv" "$cli"; done
    done
  done
done
echo "loadavg at end: $(cat /proc/loadavg)" >>"$OUT/env.txt"
summarize | tee "$OUT/summary.md"
log "raw results: $RES ; summary: $OUT/summary.md"
