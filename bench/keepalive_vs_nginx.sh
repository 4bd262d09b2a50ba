#!/usr/bin/env bash
# keepalive_vs_nginx.sh -- tether vs Debian's nginx, side by side in ONE interleaved run.
#
# Usage: bench/keepalive_vs_nginx.sh [--reps N] [--quick] [--out DIR] [--tether PATH]
#                                    [--baseline PATH]
#   --reps N     repetitions (default 3); every rep runs every test on every server
#   --quick      smoke run: REPS=1, wrk -d2s, 5 s idle window (about 1 minute on a quiet machine)
#   --out DIR    where raw results + summary go (default /tmp/tether-bench-results-<time>, kept)
#   --tether P   tether binary (default build/release/apps/tether/tether; waited for if missing)
#   --baseline P a second tether binary (e.g. built from an older commit), run as a third server
#                "baseline" with the same flags, in the same interleaving; the summary adds
#                tether/baseline ratios (a before/after check of a change)
# Env knobs: TESTS (default "cpu pipe ab mem": which tests run, in this order)
#            DUR (s, wrk -d) CONNS PIPE_DEPTH AB_N AB_C MEM_N IDLE_S SETTLE_S TW_WAIT_MAX
#            TETHER_PORT_BASE (18190) NGINX_PORT_BASE (18180) BIN_WAIT_MAX (s, default 900)
#            QUIET_MAX_PCT (10) QUIET_WAIT_MAX (s, 600): before starting, wait until the machine
#            is at most QUIET_MAX_PCT % busy (a compiler on one of the 2 cores skews everything)
#            FOREIGN_MAX (5) MAX_ATTEMPTS (4): a wrk/ab run during which other processes used more
#            than FOREIGN_MAX % of the 2 cores (and >= 10 ticks) is recorded as discarded and redone
#            after a quiet check, up to MAX_ATTEMPTS tries; if the last try is still disturbed it is
#            recorded with disturbed=1 and left out of the medians (the summary lists it)
#
# Method (besides the installed tools, everything it runs is generated or built from this repo):
#  * Servers: tether (`serve --workers 1 --keepalive-timeout 650s --keepalive-requests 0`) and
#    nginx (1 worker, access_log off, `return 200 "Hello, World!"`, default_type text/plain,
#    keepalive_timeout 650s, keepalive_requests 1000000000, worker_connections 20480), both
#    pinned to CPU 0 with `taskset -c 0`; every client (wrk, ab, idle client) runs on CPU 1.
#    nginx runs from a generated config in a temp dir (`-p`, `-e`, `daemon off`), never the
#    system service. All traffic goes to 127.0.0.1.
#  * Each server listens on 4 ports: base+0 wrk, base+1 ab without -k, base+2 ab -k,
#    base+3 idle-connection test (a FRESH instance started for each memory measurement, so
#    allocator state from earlier tests or reps cannot hide the growth). Separate ports keep
#    the TIME_WAIT counts of one test apart from the others' leftovers.
#  * Interleaving: for rep { for test { for server } }; the server order rotates by one per
#    rep (tether first in rep 1, nginx in rep 2, baseline, if given, in rep 3, ...).
#  * Tests:
#     cpu   wrk -t1 -c64 -dDUR, non-pipelined: req/s, server CPU us/request
#           (utime+stime of all server pids from /proc/PID/stat, before/after, / requests)
#     pipe  same with 16 requests per write (keepalive/pipeline.lua)
#     ab    ab -q -n 20000 -c 16 without and with -k: req/s; TIME_WAIT sockets of that port
#           counted by side: local port = server port -> server side, remote port = server
#           port -> client side. Before each ab run the script waits (at most TW_WAIT_MAX s)
#           until the port has no TIME_WAIT sockets left; counts are taken 2 s after ab ends
#           and reported as deltas (after - before); any leftover is recorded.
#     mem   fresh server; warm-up (16 connections, closed); RSS A; keepalive/idle_conns opens
#           MEM_N connections (one request each, then idle); after SETTLE_S s RSS B;
#           (B-A)/N = user-space bytes per idle connection (VmRSS; nginx: worker only; also
#           smaps_rollup Private_Dirty). Then server CPU during IDLE_S s with all N idle.
#  * Every load run is bounded (wrk -d, ab -n, plus `timeout`). Processes are started by this
#    script, tracked by PID and stopped by PID (trap on exit); temp files are removed.
set -uo pipefail
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
AUX=$HERE/keepalive
CMDLINE="$0 $*"

REPS=${REPS:-3}
QUICK=0
OUT=""
TETHER=${TETHER:-$ROOT/build/release/apps/tether/tether}
TETHER_STAT=""
START_S=0
BASELINE=""
SERVERS=(tether nginx)
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --reps) REPS=${2:?--reps needs a number}; shift 2 ;;
    --reps=*) REPS=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --tether) TETHER=${2:?}; shift 2 ;;
    --baseline) BASELINE=${2:?--baseline needs a path}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  REPS=1; DUR=${DUR:-2}; IDLE_S=${IDLE_S:-5}
fi
case $REPS in ''|*[!0-9]*|0) echo "--reps must be a positive integer" >&2; exit 2 ;; esac
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || { echo "--baseline: $BASELINE is not an executable file" >&2; exit 2; }
  SERVERS+=(baseline)
fi
DUR=${DUR:-5}
TESTS=${TESTS:-cpu pipe ab mem}
for t in $TESTS; do
  case $t in cpu|pipe|ab|mem) ;; *) echo "TESTS: unknown test '$t' (cpu pipe ab mem)" >&2; exit 2 ;; esac
done
CONNS=${CONNS:-64}
PIPE_DEPTH=${PIPE_DEPTH:-16}
AB_N=${AB_N:-20000}
AB_C=${AB_C:-16}
MEM_N=${MEM_N:-19000}
IDLE_S=${IDLE_S:-10}
SETTLE_S=${SETTLE_S:-3}
TW_WAIT_MAX=${TW_WAIT_MAX:-65}
BIN_WAIT_MAX=${BIN_WAIT_MAX:-900}
FOREIGN_MAX=${FOREIGN_MAX:-5}     # % of the 2 cores used by other processes during a run
MAX_ATTEMPTS=${MAX_ATTEMPTS:-4}   # ... above which that run is redone (at most this many tries)
TETHER_PORT_BASE=${TETHER_PORT_BASE:-18190}
NGINX_PORT_BASE=${NGINX_PORT_BASE:-18180}
BASELINE_PORT_BASE=${BASELINE_PORT_BASE:-18200}
CLK=$(getconf CLK_TCK)
OUT=${OUT:-/tmp/tether-bench-results-$(date +%Y%m%d-%H%M%S)}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ tools
check_tools() {
  local missing="" t
  for t in nginx wrk ab taskset ss g++ python3 awk timeout; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
  done
  if [ -n "$missing" ]; then
    echo "missing tools:$missing" >&2
    echo "install with: apt-get install -y nginx wrk apache2-utils   (ab is in apache2-utils;" >&2
    echo "  taskset: util-linux, ss: iproute2, g++: g++, timeout: coreutils)" >&2
    exit 3
  fi
  [ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server on CPU 0, client on CPU 1); nproc=$(nproc)"
}

# ------------------------------------------------------------------ process bookkeeping
RT=""
declare -A SPID=()      # instance -> pid (servers we started)
CLIENT_PID=""           # idle client while it runs
RES=""

alive() { # pid -- running and not a zombie
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }; [ "${st%% *}" != Z ]
}

cleanup() {
  local inst pid i
  trap - EXIT INT TERM
  if [ -n "$CLIENT_PID" ] && alive "$CLIENT_PID"; then kill -TERM "$CLIENT_PID" 2>/dev/null; fi
  for inst in "${!SPID[@]}"; do
    pid=${SPID[$inst]}
    alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  for inst in "${!SPID[@]}"; do
    pid=${SPID[$inst]}
    for i in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "$CLIENT_PID" ] && wait "$CLIENT_PID" 2>/dev/null
  if [ -n "$RT" ] && [ -d "$RT" ]; then
    # keep server logs with the results, then drop the runtime dir
    [ -n "$OUT" ] && [ -d "$OUT" ] && cp "$RT"/*.log "$OUT/logs/" 2>/dev/null
    rm -rf "$RT"
  fi
}
on_signal() { log "interrupted"; exit 130; }

port_of() { # server test
  local base
  case $1 in tether) base=$TETHER_PORT_BASE ;; nginx) base=$NGINX_PORT_BASE ;;
             baseline) base=$BASELINE_PORT_BASE ;; esac
  case $2 in wrk) echo $((base)) ;; abnka) echo $((base + 1)) ;; abka) echo $((base + 2)) ;;
             mem) echo $((base + 3)) ;; esac
}

port_busy() { ss -tlnH "( sport = :$1 )" | grep -q .; }
wait_listen() { # pid port...
  local pid=$1 p i ok; shift
  for i in $(seq 1 100); do
    alive "$pid" || return 1
    ok=1
    for p in "$@"; do port_busy "$p" || ok=0; done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

nginx_conf() { # instance port... -> writes $RT/instance.conf
  local inst=$1 p; shift
  {
    echo "# generated by bench/keepalive_vs_nginx.sh (1 worker, settings as in docs/benchmarks.md)"
    echo "worker_processes 1;"
    echo "pid $RT/$inst.pid;"
    echo "error_log $RT/$inst.log warn;"
    echo "worker_rlimit_nofile $(ulimit -Hn);"
    echo "events {"
    echo "    use epoll;"
    echo "    # nginx reuses (closes) idle keep-alive connections once free ones drop below"
    echo "    # worker_connections/16, so 19000 idle connections need >= 20267 here."
    echo "    worker_connections 20480;"
    echo "    accept_mutex off;"
    echo "}"
    echo "http {"
    echo "    access_log off;"
    echo "    keepalive_timeout 650s;"
    echo "    keepalive_requests 1000000000;"
    for p in client_body proxy fastcgi uwsgi scgi; do echo "    ${p}_temp_path $RT/nginx-tmp/$p;"; done
    echo "    server {"
    for p in "$@"; do echo "        listen 127.0.0.1:$p backlog=4096;"; done
    echo "        location = /plaintext {"
    echo "            default_type text/plain;"
    echo "            return 200 \"Hello, World!\";"
    echo "        }"
    echo "        location / { return 404; }"
    echo "    }"
    echo "}"
  } >"$RT/$inst.conf"
}

start_instance() { # server instance port...
  local srv=$1 inst=$2 p lst=() pid; shift 2
  for p in "$@"; do port_busy "$p" && { log "port $p is already in use"; return 1; }; done
  case $srv in
    tether|baseline)
      for p in "$@"; do lst+=(--listen "127.0.0.1:$p"); done
      taskset -c 0 "$RT/$srv" serve "${lst[@]}" --workers 1 --keepalive-timeout 650s \
        --keepalive-requests 0 >>"$RT/$inst.log" 2>&1 </dev/null &
      pid=$! ;;
    nginx)
      nginx_conf "$inst" "$@"
      taskset -c 0 nginx -p "$RT/" -e "$RT/$inst.log" -c "$RT/$inst.conf" -g 'daemon off;' \
        >>"$RT/$inst.log" 2>&1 </dev/null &
      pid=$! ;;
  esac
  SPID[$inst]=$pid
  if ! wait_listen "$pid" "$@"; then
    log "$inst did not start listening on $*; log:"; tail -5 "$RT/$inst.log" >&2
    stop_instance "$inst" startfail; return 1
  fi
  echo "event=start inst=$inst pid=$pid ports=$(echo "$@" | tr ' ' ,)" >>"$RES"
}

stop_instance() { # instance [why] -- SIGTERM, wait (bounded), record the exit status
  local inst=$1 why=${2:-stop} pid i rc killed=0 t0
  pid=${SPID[$inst]:-}; [ -n "$pid" ] || return 0
  t0=$(date +%s.%N)
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 200); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; killed=1; fi
  fi
  wait "$pid" 2>/dev/null; rc=$?
  unset "SPID[$inst]"
  echo "event=$why inst=$inst pid=$pid exit=$rc sigkill=$killed stop_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')" >>"$RES"
  [ "$rc" = 0 ] || log "$inst (pid $pid) exited with status $rc on $why (sigkill=$killed)"
}

# crashed? record it and restart the load instance so the run can go on
check_alive() { # server inst context
  local srv=$1 inst=$2 pid rc
  pid=${SPID[$inst]:-}
  [ -n "$pid" ] && alive "$pid" && return 0
  wait "$pid" 2>/dev/null; rc=$?
  log "!!! $inst (pid $pid) DIED during $3 (status $rc); log tail:"; tail -5 "$RT/$inst.log" >&2
  echo "event=crash inst=$inst pid=$pid exit=$rc during=$3" >>"$RES"
  unset "SPID[$inst]"
  if [ "$inst" = "$srv-load" ]; then
    start_instance "$srv" "$inst" "$(port_of "$srv" wrk)" "$(port_of "$srv" abnka)" "$(port_of "$srv" abka)"
  fi
  return 1
}

# ------------------------------------------------------------------ /proc readings
srv_pids() { # instance -> master/main pid + children (nginx worker)
  local pid=${SPID[$1]:-}; [ -n "$pid" ] || return 0
  echo "$pid"; ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' '
}
rss_pids() { # pids whose RSS counts: tether = its process, nginx = worker(s) only
  case $1 in nginx-*) ps -o pid= --ppid "${SPID[$1]}" | tr -d ' ' ;; *) echo "${SPID[$1]}" ;; esac
}
ticks() { # instance -> utime+stime (clock ticks) summed over its pids (all threads)
  local t=0 pid st f
  for pid in $(srv_pids "$1"); do
    st=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    st=${st##*) }
    read -r -a f <<<"$st"
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}
sched_ns() { # instance -> on-CPU ns (schedstat) summed over all threads of its pids
  local pid; for pid in $(srv_pids "$1"); do cat /proc/"$pid"/task/*/schedstat 2>/dev/null; done |
    awk '{s+=$1} END{printf "%d", s}'
}
ctxsw() { # instance -> voluntary+involuntary context switches over all threads (= wake-ups)
  local pid; for pid in $(srv_pids "$1"); do cat /proc/"$pid"/task/*/status 2>/dev/null; done |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches/{s+=$2} END{printf "%d", s}'
}
mem_kb() { # instance -> "rss_kB private_dirty_kB anon_kB threads"
  local pid r=0 p=0 a=0 th=0 v
  for pid in $(rss_pids "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status"); r=$((r + v))
    v=$(awk '/^Threads:/{print $2}' "/proc/$pid/status"); th=$((th + v))
    v=$(awk '/^Private_Dirty:/{print $2}' "/proc/$pid/smaps_rollup"); p=$((p + v))
    v=$(awk '/^Anonymous:/{print $2}' "/proc/$pid/smaps_rollup"); a=$((a + v))
  done
  echo "$r $p $a $th"
}
tw_count() { ss -tanH state time-wait "( $1 = :$2 )" | wc -l; }   # sport|dport port
estab_count() { ss -tnH state established "( sport = :$1 )" | wc -l; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN{ if (b+0==0) print "NA"; else printf f, a/b }'; }

# ------------------------------------------------------------------ tests
# foreign CPU: machine busy ticks not explained by the server or the client, as % of 2 cores
foreign_pct() { # machine_busy_ticks server_ticks client_ticks wall_s
  awk -v b="$1" -v s="$2" -v c="$3" -v w="$4" -v k="$CLK" \
    'BEGIN{x=(b-s-c)/(2*w*k)*100; if(x<0)x=0; printf "%.1f", x}'
}
# run a client command under `time` with machine/server CPU accounting; sets M_* globals
measured() { # inst rawfile cmd...
  local inst=$1 raw=$2 m0 m1 w0 w1 TIMEFORMAT='CLIENTTIME %U %S'; shift 2
  read -r -a m0 <<<"$(cpu_sample)"
  M_T0=$(ticks "$inst"); M_S0=$(sched_ns "$inst"); w0=$(date +%s.%N)
  { time "$@" >"$raw" 2>&1; } 2>"$raw.time"
  M_RC=$?
  w1=$(date +%s.%N); M_T1=$(ticks "$inst"); M_S1=$(sched_ns "$inst")
  read -r -a m1 <<<"$(cpu_sample)"
  M_CLI=$(awk -v k="$CLK" '/^CLIENTTIME/{printf "%d", ($2+$3)*k + 0.5}' "$raw.time"); M_CLI=${M_CLI:-0}
  rm -f "$raw.time"
  M_WALL=$(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.3f", b-a}')
  M_BUSY=$((m1[0] - m0[0])); M_STEAL=$((m1[1] - m0[1]))
  M_FOREIGN=$(foreign_pct "$M_BUSY" "$((M_T1 - M_T0))" "$M_CLI" "$M_WALL")
  M_FTICKS=$((M_BUSY - (M_T1 - M_T0) - M_CLI))
  M_ACCT="wall_s=$M_WALL srv_ticks=$((M_T1 - M_T0)) cli_ticks=$M_CLI machine_busy_ticks=$M_BUSY machine_steal_ticks=$M_STEAL foreign_ticks=$M_FTICKS foreign_pct=$M_FOREIGN"
}
# a run disturbed by other processes (another engineer's build or test) is redone. Ticks are
# sampled (/proc/stat by the tick, per-process times from the scheduler's runtime) and the
# script's own forks fall in the window, so up to ~7 foreign ticks show up in quiet sub-second
# ab -k runs: a run counts as disturbed only with > FOREIGN_MAX % AND >= 10 foreign ticks (100 ms).
is_disturbed() { awk -v f="$M_FOREIGN" -v m="$FOREIGN_MAX" -v t="$M_FTICKS" 'BEGIN{exit !(f > m && t >= 10)}'; }
disturbed() { # attempt -> 0 if this attempt must be redone
  is_disturbed && [ "$1" -lt "$MAX_ATTEMPTS" ]
}

run_wrk() { # rep server test(cpu|pipe)
  local rep=$1 srv=$2 test=$3 inst=$2-load p url raw res req line att args=()
  p=$(port_of "$srv" wrk); url="http://127.0.0.1:$p/plaintext"
  raw="$OUT/raw/wrk-$test-$srv-rep$rep.txt"
  if [ "$test" = pipe ]; then args=(-s "$AUX/pipeline.lua" "$url" -- "$PIPE_DEPTH" /plaintext)
  else args=(-s "$AUX/report.lua" "$url"); fi
  for att in $(seq 1 "$MAX_ATTEMPTS"); do
    measured "$inst" "$raw" taskset -c 1 timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" "${args[@]}"
    res=$(sed -n 's/^RESULT //p' "$raw")
    [ -n "$res" ] || res="rps=0 requests=0 failed_run=1"
    req=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$res")
    line="rep=$rep test=$test server=$srv attempt=$att conns=$CONNS $res wrk_rc=$M_RC"
    line="$line non2xx=$(awk '/Non-2xx/{print $NF}' "$raw" | grep . || echo 0) clk_tck=$CLK"
    line="$line cpu_us_per_req=$(fdiv "$(( (M_T1 - M_T0) * 1000000 ))" "$((CLK * ${req:-0}))" %.3f)"
    line="$line sched_us_per_req=$(fdiv "$(( (M_S1 - M_S0) / 1000 ))" "${req:-0}" %.3f)"
    line="$line srv_cpu_pct=$(awk -v t=$((M_T1 - M_T0)) -v k="$CLK" -v w="$M_WALL" 'BEGIN{printf "%.1f", t/k/w*100}') $M_ACCT"
    log "  $srv $test: $(sed -n 's/.*\(rps=[0-9.]*\).*/\1/p' <<<"$res") cpu_us/req=$(fdiv "$(( (M_T1 - M_T0) * 1000000 ))" "$((CLK * ${req:-0}))" %.2f) foreign=${M_FOREIGN}% rc=$M_RC"
    check_alive "$srv" "$inst" "wrk-$test-rep$rep"
    if disturbed "$att"; then
      echo "phase=wrk_discarded $line" >>"$RES"; cp "$raw" "$raw.discarded$att"
      log "  (other processes used ${M_FOREIGN}% of the machine: redoing this run)"; wait_quiet >/dev/null
      continue
    fi
    is_disturbed && line="$line disturbed=1"   # still disturbed after the last try: excluded from the stats
    echo "phase=wrk $line" >>"$RES"; break
  done
}

wait_tw_clear() { # port -> echo seconds waited
  local p=$1 t=0
  while [ $t -lt "$TW_WAIT_MAX" ]; do
    [ "$(tw_count sport "$p")" = 0 ] && [ "$(tw_count dport "$p")" = 0 ] && break
    sleep 1; t=$((t + 1))
  done
  echo "$t"
}

run_ab() { # rep server mode(nka|ka)
  local rep=$1 srv=$2 mode=$3 inst=$2-load p k=() raw waited s0 c0 s1 c1 line att
  p=$(port_of "$srv" "ab$mode"); [ "$mode" = ka ] && k=(-k)
  raw="$OUT/raw/ab-$mode-$srv-rep$rep.txt"
  for att in $(seq 1 "$MAX_ATTEMPTS"); do
    waited=$(wait_tw_clear "$p")
    s0=$(tw_count sport "$p"); c0=$(tw_count dport "$p")
    measured "$inst" "$raw" taskset -c 1 timeout 120 ab -q "${k[@]}" -n "$AB_N" -c "$AB_C" "http://127.0.0.1:$p/plaintext"
    sleep 2
    s1=$(tw_count sport "$p"); c1=$(tw_count dport "$p")
    line="rep=$rep mode=$mode server=$srv attempt=$att ab_rc=$M_RC n=$AB_N c=$AB_C"
    line="$line rps=$(awk '/^Requests per second/{print $4}' "$raw" | grep . || echo 0)"
    line="$line complete=$(awk '/^Complete requests/{print $3}' "$raw")"
    line="$line failed=$(awk '/^Failed requests/{print $3}' "$raw")"
    line="$line non2xx=$(awk '/^Non-2xx/{print $3}' "$raw" | grep . || echo 0)"
    line="$line keepalive_reqs=$(awk '/^Keep-Alive requests/{print $3}' "$raw" | grep . || echo 0)"
    line="$line p99_ms=$(awk '$1=="99%"{print $2}' "$raw")"
    line="$line cpu_us_per_req=$(fdiv "$(( (M_T1 - M_T0) * 1000000 ))" "$((CLK * AB_N))" %.2f)"
    line="$line tw_wait_s=$waited tw_srv_before=$s0 tw_cli_before=$c0 tw_srv_after=$s1 tw_cli_after=$c1"
    line="$line tw_srv=$((s1 - s0)) tw_cli=$((c1 - c0)) tw_total_after=$(ss -tanH state time-wait | wc -l) $M_ACCT"
    log "  $srv ab $mode: rps=$(awk '/^Requests per second/{print $4}' "$raw") failed=$(awk '/^Failed requests/{print $3}' "$raw") TIME_WAIT srv/cli +$((s1 - s0))/+$((c1 - c0)) (waited ${waited}s) foreign=${M_FOREIGN}% rc=$M_RC"
    check_alive "$srv" "$inst" "ab-$mode-rep$rep"
    if disturbed "$att"; then
      echo "phase=ab_discarded $line" >>"$RES"; cp "$raw" "$raw.discarded$att"
      log "  (other processes used ${M_FOREIGN}% of the machine: redoing this run)"; wait_quiet >/dev/null
      continue
    fi
    is_disturbed && line="$line disturbed=1"   # still disturbed after the last try: excluded from the stats
    echo "phase=ab $line" >>"$RES"; break
  done
}

run_mem() { # rep server -- fresh instance, N idle connections
  local rep=$1 srv=$2 inst=$2-mem p cout a b b2 c open i ready t0 t1 s0 s1 x0 x1 est closed
  p=$(port_of "$srv" mem); cout="$OUT/raw/idle-$srv-rep$rep.txt"
  start_instance "$srv" "$inst" "$p" || { echo "phase=mem rep=$rep server=$srv ok=0 why=start" >>"$RES"; return; }
  sleep 1
  taskset -c 1 "$RT/idle_conns" "$p" 16 0 >"$OUT/raw/warmup-$srv-rep$rep.txt" 2>&1   # warm-up
  sleep 1
  read -r -a a <<<"$(mem_kb "$inst")"
  taskset -c 1 "$RT/idle_conns" "$p" "$MEM_N" $((SETTLE_S + IDLE_S + 240)) 8 /plaintext 120 >"$cout" 2>&1 &
  CLIENT_PID=$!
  ready=""
  for i in $(seq 1 1500); do                       # <= 150 s for the connect phase
    ready=$(sed -n 's/^READY \([0-9]*\).*/\1/p' "$cout")
    [ -n "$ready" ] && break
    alive "$CLIENT_PID" || break
    sleep 0.1
  done
  sleep "$SETTLE_S"
  read -r -a b <<<"$(mem_kb "$inst")"
  est=$(estab_count "$p")
  local m0 m1; read -r -a m0 <<<"$(cpu_sample)"
  t0=$(ticks "$inst"); s0=$(sched_ns "$inst"); x0=$(ctxsw "$inst")
  sleep "$IDLE_S"
  t1=$(ticks "$inst"); s1=$(sched_ns "$inst"); x1=$(ctxsw "$inst")
  read -r -a m1 <<<"$(cpu_sample)"
  read -r -a b2 <<<"$(mem_kb "$inst")"
  local est2; est2=$(estab_count "$p")
  alive "$CLIENT_PID" && kill -TERM "$CLIENT_PID"
  for i in $(seq 1 300); do alive "$CLIENT_PID" || break; sleep 0.1; done
  alive "$CLIENT_PID" && kill -KILL "$CLIENT_PID"
  wait "$CLIENT_PID" 2>/dev/null; CLIENT_PID=""
  closed=$(sed -n 's/^DONE closed_by_peer=\([0-9]*\).*/\1/p' "$cout")
  sleep 2
  read -r -a c <<<"$(mem_kb "$inst")"
  open=${ready:-0}
  echo "phase=mem rep=$rep server=$srv ok=$([ "${open}" -gt 0 ] && echo 1 || echo 0) N=$MEM_N open=$open" \
    "client='$(tr '\n' ' ' <"$cout" | head -c 300)'" \
    "srv_estab=$est srv_estab_end=$est2 closed_by_peer=${closed:-NA}" \
    "rss_before_kB=${a[0]} rss_idle_kB=${b[0]} rss_idle_end_kB=${b2[0]} rss_after_close_kB=${c[0]}" \
    "bytes_per_conn=$(fdiv "$(( (b[0] - a[0]) * 1024 ))" "$open" %.0f)" \
    "privdirty_bytes_per_conn=$(fdiv "$(( (b[1] - a[1]) * 1024 ))" "$open" %.0f)" \
    "anon_bytes_per_conn=$(fdiv "$(( (b[2] - a[2]) * 1024 ))" "$open" %.0f)" \
    "threads=${b[3]} idle_s=$IDLE_S idle_ticks=$((t1 - t0))" \
    "idle_cpu_pct=$(awk -v t=$((t1 - t0)) -v k="$CLK" -v d="$IDLE_S" 'BEGIN{printf "%.2f", t/k/d*100}')" \
    "idle_sched_ms=$(fdiv "$((s1 - s0))" 1000000 %.2f) idle_wakeups=$((x1 - x0))" \
    "idle_foreign_pct=$(foreign_pct $((m1[0] - m0[0])) $((t1 - t0)) 0 "$IDLE_S")" >>"$RES"
  log "  $srv mem: open=$open estab=$est/$est2 closed_by_peer=${closed:-NA} RSS ${a[0]}->${b[0]} kB ($(fdiv "$(( (b[0] - a[0]) * 1024 ))" "$open" %.0f) B/conn) idle ticks=$((t1 - t0)) wakeups=$((x1 - x0))"
  if alive "${SPID[$inst]}"; then stop_instance "$inst"
  else check_alive "$srv" "$inst" "mem-rep$rep"; fi
}

# ------------------------------------------------------------------ background load
cpu_sample() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $5+$6}' /proc/stat; }  # busy steal idle+iowait
busy_pct() { # seconds -> "busy% steal%" of the whole machine over that window
  local a b; read -r -a a <<<"$(cpu_sample)"; sleep "$1"; read -r -a b <<<"$(cpu_sample)"
  awk -v b1="${a[0]}" -v s1="${a[1]}" -v i1="${a[2]}" -v b2="${b[0]}" -v s2="${b[1]}" -v i2="${b[2]}" \
    'BEGIN{t=(b2-b1)+(s2-s1)+(i2-i1); if(t<=0)t=1; printf "%.0f %.0f", (b2-b1)/t*100, (s2-s1)/t*100}'
}
wait_quiet() { # the machine has 2 cores: anything else busy (e.g. a compiler) skews every number
  local waited=0 bs
  while :; do
    read -r -a bs <<<"$(busy_pct 3)"
    [ "${bs[0]}" -le "${QUIET_MAX_PCT:-10}" ] && { echo "background_busy_pct=${bs[0]} steal_pct=${bs[1]} waited_s=$waited quiet=1"; return 0; }
    if [ $waited -ge "${QUIET_WAIT_MAX:-600}" ]; then
      log "WARNING: machine still ${bs[0]}% busy after ${waited}s; measuring anyway (numbers may be skewed)"
      echo "background_busy_pct=${bs[0]} steal_pct=${bs[1]} waited_s=$waited quiet=0"; return 0
    fi
    log "machine is ${bs[0]}% busy (other processes, e.g. a build): waiting for it to calm down..."
    ps -eo pcpu=,pid=,comm= --sort=-pcpu | head -3 | sed 's/^/    /' >&2
    sleep 10; waited=$((waited + 13))
  done
}

# ------------------------------------------------------------------ setup
get_tether() { # wait for the binary (it is rebuilt from time to time), copy it (stable during the run)
  local waited=0 m1 m2
  while :; do
    if [ -x "$TETHER" ]; then
      m1=$(stat -c '%Y %s' "$TETHER" 2>/dev/null); sleep 3; m2=$(stat -c '%Y %s' "$TETHER" 2>/dev/null)
      if [ -n "$m1" ] && [ "$m1" = "$m2" ] && cp "$TETHER" "$RT/tether" && "$RT/tether" --version >/dev/null 2>&1; then
        TETHER_STAT=$m1; return 0
      fi
    fi
    [ $waited -ge "$BIN_WAIT_MAX" ] && die "tether binary $TETHER missing or changing for ${BIN_WAIT_MAX}s"
    log "waiting for $TETHER (missing or being rebuilt)..."
    sleep 10; waited=$((waited + 13))
  done
}

probe() { # server -> status line and response size of GET /plaintext
  python3 - "$(port_of "$1" wrk)" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
d = b""
while b"\r\n\r\n" not in d:
    d += s.recv(4096)
head, body = d.split(b"\r\n\r\n", 1)
cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < cl:
    body += s.recv(4096)
status = head.split(b"\r\n")[0].decode()
print(f"status='{status}' body='{body.decode()}' response_bytes={len(head) + 4 + len(body)}")
EOF
}

write_env() {
  {
    echo "command: $CMDLINE"
    echo "date: $(date -Is)"
    echo "host: nproc=$(nproc) kernel=$(uname -r) cpu='$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)' mem_total=$(awk '/MemTotal/{print $2" "$3}' /proc/meminfo)"
    echo "nginx: $(nginx -v 2>&1)"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    echo "ab: $(ab -V 2>&1 | head -1) (apache2-utils $(dpkg-query -W -f='${Version}' apache2-utils 2>/dev/null))"
    echo "tether: $("$RT/tether" --version 2>&1) binary=$TETHER sha256=$(sha256sum "$RT/tether" | cut -c1-16) mtime=$(date -d "@$(stat -c %Y "$TETHER")" -Is)"
    [ -n "$BASELINE" ] && echo "baseline: $("$RT/baseline" --version 2>&1) binary=$BASELINE sha256=$(sha256sum "$RT/baseline" | cut -c1-16) mtime=$(date -d "@$(stat -c %Y "$BASELINE")" -Is)"
    echo "tether git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) ($(git -C "$ROOT" status --porcelain 2>/dev/null | grep -vc '^??') tracked files modified)"
    echo "ulimit -n: soft $(ulimit -Sn) hard $(ulimit -Hn)"
    for k in net.core.somaxconn net.ipv4.tcp_tw_reuse net.ipv4.tcp_max_tw_buckets net.ipv4.ip_local_port_range; do
      echo "$k = $(sysctl -n $k 2>/dev/null | tr '\t' ' ')"
    done
    echo "settings: TESTS='$TESTS' REPS=$REPS QUICK=$QUICK DUR=${DUR}s CONNS=$CONNS PIPE_DEPTH=$PIPE_DEPTH AB_N=$AB_N AB_C=$AB_C MEM_N=$MEM_N SETTLE_S=$SETTLE_S IDLE_S=$IDLE_S TW_WAIT_MAX=$TW_WAIT_MAX"
    echo "ports: tether $TETHER_PORT_BASE..$((TETHER_PORT_BASE + 3)) nginx $NGINX_PORT_BASE..$((NGINX_PORT_BASE + 3))$([ -n "$BASELINE" ] && echo " baseline $BASELINE_PORT_BASE..$((BASELINE_PORT_BASE + 3))") (wrk, ab, ab -k, idle)"
    echo "tether flags: serve --workers 1 --keepalive-timeout 650s --keepalive-requests 0 (taskset -c 0)"
  } >"$OUT/env.txt"
}

# ------------------------------------------------------------------ main
# rep -> the servers in this rep's order, rotated by one per rep so each goes first as often
rotation() {
  local n=${#SERVERS[@]} i k=$(( ($1 - 1) % ${#SERVERS[@]} )) out=()
  for i in $(seq 0 $((n - 1))); do out+=("${SERVERS[$(( (i + k) % n ))]}"); done
  echo "${out[*]}"
}

main() {
  check_tools
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  mkdir -p "$OUT/raw" "$OUT/logs" || die "cannot create $OUT"
  RES=$OUT/results.txt; : >"$RES"
  START_S=$(date +%s)
  RT=$(mktemp -d /tmp/tether-bench.XXXXXX)
  mkdir -p "$RT/nginx-tmp"
  trap cleanup EXIT
  trap on_signal INT TERM
  log "results -> $OUT (runtime files in $RT)"
  get_tether
  if [ -n "$BASELINE" ]; then
    cp "$BASELINE" "$RT/baseline" && "$RT/baseline" --version >/dev/null 2>&1 ||
      die "baseline binary $BASELINE does not run"
  fi
  g++ -O2 -std=c++17 -o "$RT/idle_conns" "$AUX/idle_conns.cpp" || die "building idle_conns failed"
  write_env
  echo "quiet check before start: $(wait_quiet)" >>"$OUT/env.txt"
  sed 's/^/  /' "$OUT/env.txt" >&2

  local srv
  for srv in "${SERVERS[@]}"; do
    start_instance "$srv" "$srv-load" "$(port_of "$srv" wrk)" "$(port_of "$srv" abnka)" "$(port_of "$srv" abka)" ||
      die "could not start $srv"
  done
  sleep 1
  for srv in "${SERVERS[@]}"; do
    echo "probe server=$srv $(probe "$srv" 2>&1 | tr '\n' ' ')" | tee -a "$OUT/env.txt" >&2
  done

  local rep order test
  for rep in $(seq 1 "$REPS"); do
    order=$(rotation "$rep")
    echo "event=quiet rep=$rep $(wait_quiet)" >>"$RES"
    for test in $TESTS; do
      for srv in $order; do
        log "rep $rep/$REPS test $test server $srv"
        case $test in
          cpu|pipe) run_wrk "$rep" "$srv" "$test" ;;
          ab) run_ab "$rep" "$srv" nka; run_ab "$rep" "$srv" ka ;;
          mem) run_mem "$rep" "$srv" ;;
        esac
      done
    done
  done
  for srv in "${SERVERS[@]}"; do stop_instance "$srv-load"; done
  for srv in "${SERVERS[@]}"; do cp "$RT/$srv-load.log" "$RT/$srv-mem.log" "$OUT/logs/" 2>/dev/null; done
  if [ "$(stat -c '%Y %s' "$TETHER" 2>/dev/null)" != "$TETHER_STAT" ]; then
    echo "note: $TETHER was rebuilt during the run; the copy taken at the start was measured throughout" >>"$OUT/env.txt"
  fi
  echo "finished: $(date -Is) (wall $(( $(date +%s) - START_S )) s)" >>"$OUT/env.txt"
  python3 "$AUX/summarize.py" "$RES" "$OUT/env.txt" | tee "$OUT/summary.md"
  log "raw results: $RES ; summary: $OUT/summary.md"
}

main
