#!/usr/bin/env bash
# Two distcache builds side by side with Redis on large values (issue 16): the node's CPU per
# request, before and after a change, under the same load at the same moment.
#
#   BASE_ROOT=/tmp/distcache-base bench/large-values-ab.sh
#   BASE_ROOT=/tmp/distcache-base ROUNDS=4 CELLS="65536:2000:8000 1048576:300:1500" TESTS=set bench/large-values-ab.sh
#
# BASE_ROOT: another checkout (e.g. `git archive BASE | tar -x -C DIR`) whose bin/distcache runs the
# "base" node; this checkout runs the "new" one. CELLS: SIZE:KEYS:REQUESTS for redis-benchmark
# -d SIZE -r KEYS -n REQUESTS -c 50 (KEYS small against REQUESTS: mostly overwrites of live keys;
# default "65536:2000:8000 262144:500:3000 1048576:300:1500"). TESTS: redis-benchmark -t (set,get).
# PIPELINE: redis-benchmark -P (1). PIN=1: the three servers on CPU 0 and redis-benchmark on CPU 1
# (taskset), as redis-compare.sh's PIN, so the servers never share a core with the load generator.
# First one discarded pass over every cell on each server (the JIT compiles every path before
# anything is measured), then ROUNDS (4) rounds per cell, the servers' order alternating. Prints one
# line per run: throughput and p99 per test, and the server's user+system CPU (from /proc) per
# REQUESTS, i.e. per SET+GET pair when TESTS=set,get; RSS after each cell. Ports from PORT_RANGE
# (bench/lib.sh). Every process it starts is stopped on exit (by PID). Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_ROOT="${BASE_ROOT:?set BASE_ROOT to the checkout of the base build}"
CELLS="${CELLS:-65536:2000:8000 262144:500:3000 1048576:300:1500}"
TESTS="${TESTS:-set,get}"
ROUNDS="${ROUNDS:-4}"
PIPELINE="${PIPELINE:-1}"
SERVER_CPU=() LOAD_CPU=()
if [[ "${PIN:-0}" == 1 ]]; then SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1); fi
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools)"
done
OUT="$(mktemp -d /tmp/large-values-ab.XXXXXX)"
hz="$(getconf CLK_TCK)"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

declare -A PORT PID
for who in base new; do
  PORT[$who]="$(free_port)"
  tree="$ROOT"
  [[ "$who" == base ]] && tree="$BASE_ROOT"
  "${SERVER_CPU[@]}" "$tree/bin/distcache" -addr "$HOST:${PORT[$who]}" >"$OUT/$who.out" 2>"$OUT/$who.err" &
  PID[$who]=$!
  PIDS+=("${PID[$who]}")
done
PORT[redis]="$(free_port)"
"${SERVER_CPU[@]}" redis-server --bind "$HOST" --port "${PORT[redis]}" --save '' --appendonly no --daemonize no \
  --logfile "$OUT/redis.log" &
PID[redis]=$!
PIDS+=("${PID[redis]}")
for who in base new redis; do
  wait_ping "${PORT[$who]}" 120 || die "$who on port ${PORT[$who]} did not answer PING (see $OUT)"
done
log "base pid ${PID[base]} port ${PORT[base]}, new pid ${PID[new]} port ${PORT[new]}, redis pid ${PID[redis]} port ${PORT[redis]}"

bench() { # who size keys requests
  "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "${PORT[$1]}" -t "$TESTS" -d "$2" -r "$3" -n "$4" -c 50 -P "$PIPELINE" --csv 2>/dev/null
}

for cell in $CELLS; do
  IFS=: read -r size keys n <<<"$cell"
  for who in base new redis; do bench "$who" "$size" "$keys" "$n" >/dev/null; done
done
for cell in $CELLS; do
  IFS=: read -r size keys n <<<"$cell"
  for r in $(seq "$ROUNDS"); do
    order="base new redis"
    ((r % 2 == 0)) && order="redis new base"
    for who in $order; do
      t0="$(ticks "${PID[$who]}")"
      line="$(bench "$who" "$size" "$keys" "$n" | tr -d '"' | awk -F, 'NR > 1 { printf "%s %.0f/s p99 %s ms; ", $1, $2, $7 }')"
      t1="$(ticks "${PID[$who]}")"
      echo "size $size keys $keys round $r $who: ${line}cpu $(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", t * 1000000 / hz / n }') us per request (load $(cut -d' ' -f1 /proc/loadavg))"
    done
  done
  echo "size $size RSS MiB: base $(($(rss_kb "${PID[base]}") / 1024)), new $(($(rss_kb "${PID[new]}") / 1024)), redis $(($(rss_kb "${PID[redis]}") / 1024))"
done
