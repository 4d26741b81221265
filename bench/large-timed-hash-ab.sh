#!/usr/bin/env bash
# A large hash with field expiry times (docs/BENCHMARKS.md, "Large hashes with field times"):
# redis-benchmark (-c 50 -P 1) of HGET, HSET, HINCRBY, HPEXPIRE, HTTL and HLEN on one hash of
# FIELDS fields (default 10,000; 20-byte values), a tenth of them with an expiry time 600 s ahead,
# on this checkout's node and on BASELINE's (an older checkout, built), alternating ROUNDS times
# (REQUESTS per row, BASE_REQUESTS for the baseline, which may be hundreds of times slower).
# Debian's Redis 7.0 has no field expiry, so Redis runs the rows it has (HGET, HSET, HINCRBY,
# HLEN) on the same hash without times, as a reference. Every process it starts is stopped on
# exit (by PID); only 127.0.0.1 is contacted. Not run by CI. Needs redis-server and redis-tools.
#   BASELINE=/tmp/base ROUNDS=3 bench/large-timed-hash-ab.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS="${REQUESTS:-50000}"
BASE_REQUESTS="${BASE_REQUESTS:-3000}" # a baseline that decodes the hash per command runs at hundreds of req/s
ROUNDS="${ROUNDS:-1}"
FIELDS="${FIELDS:-10000}"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "large-timed-hash-ab: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d /tmp/large-timed-hash-ab.XXXXXX)"


# One hash "big": fields f000000000000.. (FIELDS of them, named as redis-benchmark's
# __rand_int__ makes them) of 20 bytes, counters c000000000000..c000000000099 at 0; then (timed)
# an expiry 600 s ahead for every tenth field and counter.
awk -v n="$FIELDS" 'BEGIN { for (i = 0; i < n; i++) { f = sprintf("f%012d", i)
  printf "*4\r\n$4\r\nHSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n$20\r\nvvvvvvvvvvvvvvvvvvvv\r\n", length(f), f }
  for (i = 0; i < 100; i++) { f = sprintf("c%012d", i)
  printf "*4\r\n$4\r\nHSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n$1\r\n0\r\n", length(f), f } }' >"$OUT/load.resp"
awk -v n="$FIELDS" 'BEGIN { for (i = 0; i < n; i += 10) { f = sprintf("f%012d", i)
  printf "*6\r\n$8\r\nHPEXPIRE\r\n$3\r\nbig\r\n$6\r\n600000\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$%d\r\n%s\r\n", length(f), f }
  for (i = 0; i < 100; i += 10) { f = sprintf("c%012d", i)
  printf "*6\r\n$8\r\nHPEXPIRE\r\n$3\r\nbig\r\n$6\r\n600000\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$%d\r\n%s\r\n", length(f), f } }' \
  >"$OUT/expire.resp"

rps() { # port, requests, redis-benchmark arguments...
  local port="$1" n="$2"
  shift 2
  redis-benchmark -p "$port" -n "$n" -c 50 -q "$@" 2>&1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' \
    | tail -1 | awk '{ print $1 }'
}

rows=(
  "HGET|-r $FIELDS HGET big f__rand_int__"
  "HSET (same length)|-r $FIELDS HSET big f__rand_int__ wwwwwwwwwwwwwwwwwwww"
  "HINCRBY (a tenth timed)|-r 100 HINCRBY big c__rand_int__ 1"
  "HLEN|HLEN big"
  "HPEXPIRE|-r $FIELDS HPEXPIRE big 600000 FIELDS 1 f__rand_int__"
  "HTTL|-r $FIELDS HTTL big FIELDS 1 f__rand_int__"
)

RPORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
RPID=$!
PIDS+=("$RPID")
wait_ping "$RPORT" 20 || die "redis-server did not answer PING"
redis-cli -p "$RPORT" --pipe <"$OUT/load.resp" >/dev/null
for r in 0 1 2 3; do # the rows Redis 7.0 has, on the hash without times
  c="${rows[$r]}"
  # shellcheck disable=SC2086
  redis-benchmark -p "$RPORT" -n 20000 -c 50 -q ${c#*|} >/dev/null 2>&1
  # shellcheck disable=SC2086
  printf '%-28s redis (no field times) %s req/s\n' "${c%%|*}" "$(rps "$RPORT" "$REQUESTS" ${c#*|})"
done
stop "$RPID"

for round in $(seq "$ROUNDS"); do
  for which in this ${BASELINE:+baseline}; do
    dir="$ROOT"
    n="$REQUESTS"
    if [[ "$which" == baseline ]]; then
      dir="$BASELINE"
      n="$BASE_REQUESTS"
    fi
    port="$(free_port)"
    "$dir/bin/distcache" -addr "$HOST:$port" >"$OUT/$which-$round.out" 2>"$OUT/$which-$round.err" &
    pid=$!
    PIDS+=("$pid")
    wait_ping "$port" 180 || die "the $which node did not start; see $OUT/$which-$round.err"
    redis-cli -p "$port" --pipe <"$OUT/load.resp" >/dev/null
    redis-cli -p "$port" --pipe <"$OUT/expire.resp" >/dev/null
    for c in "${rows[@]}"; do # warm-up (JIT)
      # shellcheck disable=SC2086
      redis-benchmark -p "$port" -n "$n" -c 50 -q ${c#*|} >/dev/null 2>&1
    done
    redis-cli -p "$port" --pipe <"$OUT/expire.resp" >/dev/null # HSET dropped some times: a tenth again
    for c in "${rows[@]}"; do
      # shellcheck disable=SC2086
      printf 'round %s %-28s %-8s %s req/s\n' "$round" "${c%%|*}" "$which" "$(rps "$port" "$n" ${c#*|})"
    done
    stop "$pid"
  done
done
