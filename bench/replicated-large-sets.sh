#!/usr/bin/env bash
# SETs of 64 KiB and 1 MiB with one replica (issues 11 and 16): a 2-node cluster from the launcher
# (--replicas 1 --replication sync, the defaults) of this tree and, with BASE_ROOT, of a base tree,
# then Redis with one replica (replicaof), ROUNDS times in that order. redis-benchmark --cluster
# -t set -c 50 -r 100000 (keys go to their owners; each node owns half the slots and replicates the
# other half), after a 100-byte P16 warm-up and WARM_SECONDS (default 20) of discarded SETs at each
# size: the JIT compiles the replication path for several seconds after the first large SETs, and a
# cell measured right after a short warm-up counted that (CPU per 64 KiB SET 700-860 us in the first
# window, 220-300 us from the fourth on, 2026-12-04). Per cell:
# requests per second, p50 and p99 (ms), and the two servers' CPU per request (both processes,
# /proc/PID/stat, 10 ms ticks).
#
#   PORT_RANGE=7300-7349 bench/replicated-large-sets.sh
#   BASE_ROOT=/tmp/stredit-base ROUNDS=2 bench/replicated-large-sets.sh
#   KEYSPACE=100 bench/replicated-large-sets.sh   # overwrites of 100 keys (-r 100): no new memory per SET
#
# KEYSPACE (default 100000, -r) decides what a cell measures: at 100000 nearly every SET makes a new
# key, so both servers take fresh memory per SET and the kernel's zeroing of its pages weighs on both;
# at 100 every SET overwrites a key the warm-up wrote, so memory is reused and the cell measures the
# copies and the replication path.
#
# Every process it starts is stopped on exit (by PID). Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-1}"
HOST=127.0.0.1
KEYSPACE="${KEYSPACE:-100000}"
WARM_SECONDS="${WARM_SECONDS:-20}"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
OUT="$(mktemp -d /tmp/replicated-large-sets.XXXXXX)"
WHO=(new)
[[ -n "${BASE_ROOT:-}" ]] && WHO=(base new)
WHO+=(redis)

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

cells() { # who port cluster-flag
  local who=$1 port=$2 cl=$3 d n c line
  for d in 65536 1048576; do
    n=$((d == 65536 ? 6000 : 600))
    local until=$((SECONDS + WARM_SECONDS))
    while ((SECONDS < until)); do
      redis-benchmark $cl -h "$HOST" -p "$port" -t set -n $((n / 3)) -c 50 -d "$d" -r "$KEYSPACE" -q >/dev/null 2>&1
    done
    c=$(($(cpu "$P0") + $(cpu "$P1")))
    line=$(redis-benchmark $cl -h "$HOST" -p "$port" -t set -n "$n" -c 50 -d "$d" -r "$KEYSPACE" --csv 2>/dev/null \
      | tail -1 | tr -d '"')
    echo "$who | SET $d -r $KEYSPACE | $(echo "$line" | cut -d, -f2) req/s | p50 $(echo "$line" | cut -d, -f5) ms | p99 $(echo "$line" | cut -d, -f7) ms | CPU $(( ($(cpu "$P0") + $(cpu "$P1") - c) * 10000 / n )) us/req | load $(cut -d' ' -f1 /proc/loadavg)" \
      | tee -a "$OUT/results.txt"
  done
}

for round in $(seq "$ROUNDS"); do
  for who in "${WHO[@]}"; do
    Q0="$(free_port)"
    Q1="$(free_port)"
    if [[ "$who" == redis ]]; then
      redis-server --bind "$HOST" --port "$Q0" --save '' --appendonly no --logfile "$OUT/redis0.log" &
      P0=$!
      PIDS+=("$P0")
      wait_ping "$Q0" 30 || die "redis did not answer PING"
      redis-server --bind "$HOST" --port "$Q1" --save '' --appendonly no --replicaof "$HOST" "$Q0" \
        --logfile "$OUT/redis1.log" &
      P1=$!
      PIDS+=("$P1")
      wait_ping "$Q1" 30 || die "the redis replica did not answer PING"
      for _ in $(seq 100); do
        redis-cli -p "$Q1" info replication | grep -q 'master_link_status:up' && break
        sleep 0.2
      done
      cells redis "$Q0" ""
    else
      tree="$ROOT"
      [[ "$who" == base ]] && tree="$BASE_ROOT"
      "$tree/bin/distcache" -addr "$HOST:$Q0" --peers-file none >"$OUT/$who-0.log" 2>&1 &
      P0=$!
      PIDS+=("$P0")
      wait_ping "$Q0" 120 || die "$who on $Q0 did not answer PING"
      "$tree/bin/distcache" -addr "$HOST:$Q1" -join "$HOST:$Q0" --peers-file none >"$OUT/$who-1.log" 2>&1 &
      P1=$!
      PIDS+=("$P1")
      wait_pair "$Q0" "$Q1" || die "the 2-node cluster did not form"
      redis-benchmark --cluster -h "$HOST" -p "$Q0" -t set -n 100000 -c 50 -P 16 -d 100 -r 100000 -q >/dev/null 2>&1
      cells "$who" "$Q0" --cluster
    fi
    stop "$P0"
    stop "$P1"
  done
done
log "results in $OUT/results.txt"
