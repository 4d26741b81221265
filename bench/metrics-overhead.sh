#!/usr/bin/env bash
# What collecting metrics costs: one distcache node, redis-benchmark GET and SET at pipeline 1 and
# 16, each cell run without and with a scraper fetching /metrics every second, alternating (who
# goes first alternates by round), ROUNDS rounds. The figures behind docs/BENCHMARKS.md, "Metrics
# overhead".
#
#   bench/metrics-overhead.sh              # 5 rounds
#   ROUNDS=7 bench/metrics-overhead.sh
#   MODES="none scrape keepalive healthz" bench/metrics-overhead.sh   # which part of a scrape costs
#   MODES="none keepalive@10 keepalive@100" bench/metrics-overhead.sh  # N scrapes a second, to magnify the cost
#   PIN=1 bench/metrics-overhead.sh        # node on CPU 0, redis-benchmark and the scraper on CPU 1
#   REQ1=600000 REQ16=6000000 bench/metrics-overhead.sh   # requests per run at P1 and P16
#
# One line per run on stdout: round mode test pipeline rps node-CPU-us-per-request; then, per
# cell, the medians and the min..max of each mode and the median ratio. The node's CPU time comes
# from /proc/PID/stat around each run (user + system), which does not count time spent waiting for
# a core, so it is the steadier figure on a shared machine. Every process it starts is stopped on
# exit (by PID). Only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-5}"
# none: no scraper; scrape: curl started each second for /metrics; keepalive: one curl process
# scraping /metrics every second on one connection; keepalive@N: the same, N times a second;
# healthz: curl started each second for /healthz
MODES="${MODES:-none scrape}"
# PIN=1 gives the node CPU 0 and the load generator and scraper CPU 1 (taskset), so a scrape competes
# only with the node's own work, not with redis-benchmark for a core: what collecting costs the node
NODE_CPU=() LOAD_CPU=()
if [[ "${PIN:-0}" == 1 ]]; then NODE_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1); fi
for tool in redis-benchmark redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "metrics-overhead: $tool not found" >&2; exit 1; }
done
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/metrics-overhead.XXXXXX)"
port="$(free_port)"
"${NODE_CPU[@]}" "$ROOT/bin/distcache" -addr "127.0.0.1:$port" >"$OUT/node.out" 2>"$OUT/node.err" &
NODE=$!
PIDS+=("$NODE")
wait_ping "$port" 180 || die "distcache on port $port did not start; see $OUT/node.err"
# the launcher execs the JVM, so $NODE is the JVM's PID
cpu_ticks() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# requests per run at pipeline 1 and 16 (longer runs see more scrapes and average them better)
REQ1="${REQ1:-200000}" REQ16="${REQ16:-1500000}"
requests() { [[ "$1" == 1 ]] && echo "$REQ1" || echo "$REQ16"; }
bench() { # test pipeline
  "${LOAD_CPU[@]}" redis-benchmark -p "$port" -t "$1" -n "$(requests "$2")" -c 50 -P "$2" -r 1000000 -d 100 -q --csv 2>/dev/null \
    | awk -F'"' 'NR == 2 || /^"(SET|GET)"/ {print $4; exit}'
}

log "warm-up"
for p in 1 16; do bench set "$p" >/dev/null; bench get "$p" >/dev/null; done

scraper() { # mode
  case "$1" in
    keepalive) # one curl process, one kept-alive connection, a scrape a second: no process start per scrape
      exec curl -s -o /dev/null --rate 1/s "http://127.0.0.1:$port/metrics?[1-100000]" ;;
    keepalive@*) # the same at N scrapes a second: a cost too small to see at one a second, magnified
      exec curl -s -o /dev/null --rate "${1#keepalive@}/s" "http://127.0.0.1:$port/metrics?[1-10000000]" ;;
    healthz) # a process and a request a second, no rendering: what the scraper itself costs
      while true; do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || true; sleep 1; done ;;
    *)
      while true; do curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true; sleep 1; done ;;
  esac
}

run() { # round mode test pipeline
  local S=""
  if [[ "$2" != none ]]; then
    if ((${#LOAD_CPU[@]})); then "${LOAD_CPU[@]}" bash -c "$(declare -f scraper); port=$port; scraper $2" & else scraper "$2" & fi
    S=$!
    sleep 1.2 # the first scrape is in
  fi
  local c0 c1 rps
  c0=$(cpu_ticks)
  rps=$(bench "$3" "$4")
  c1=$(cpu_ticks)
  if [[ -n "$S" ]]; then
    kill "$S" 2>/dev/null || true
    wait "$S" 2>/dev/null || true
  fi
  local us
  us=$(awk -v t=$((c1 - c0)) -v n="$(requests "$4")" -v k="$TICK_US" 'BEGIN {printf "%.2f", t * k / n}')
  echo "$1 $2 $3 $4 ${rps%.*} $us" | tee -a "$OUT/runs.txt"
}

for round in $(seq "$ROUNDS"); do
  for cell in "set 1" "get 1" "set 16" "get 16"; do
    # who goes first alternates by round
    if ((round % 2)); then order="$MODES"; else order="$(echo "$MODES" | tr ' ' '\n' | tac | tr '\n' ' ')"; fi
    for mode in $order; do
      # shellcheck disable=SC2086
      run "$round" "$mode" $cell
    done
  done
done

# median (min..max) of a column of numbers on stdin
stats() { sort -g | awk '{v[NR] = $1} END {printf "%s (%s..%s)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

echo
echo "cell      mode     median rps (min..max)        median node CPU us/req (min..max)"
for cell in "set 1" "get 1" "set 16" "get 16"; do
  read -r t p <<<"$cell"
  for mode in $MODES; do
    sel() { awk -v t="$t" -v p="$p" -v m="$mode" -v col="$1" '$2 == m && $3 == t && $4 == p {print $col}' "$OUT/runs.txt"; }
    printf "%-9s %-7s  %-28s %s\n" "$t P$p" "$mode" "$(sel 5 | stats)" "$(sel 6 | stats)"
  done
done
log "raw runs in $OUT/runs.txt"
