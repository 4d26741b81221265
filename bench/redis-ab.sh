#!/usr/bin/env bash
# A quick A/B of one distcache node against Redis on one redis-benchmark cell, with the latency
# distribution: the tool behind the before/after figures in docs/BENCHMARKS.md ("Changes").
#
#   bench/redis-ab.sh                                   # GET, -c 50 -P 16, 1,000,000 requests, 2 rounds
#   bench/redis-ab.sh -t set,get -P 1 -n 300000 -r 3
#   DISTCACHE_JAVA_OPTS=-Ddistcache.ioThreads=2 bench/redis-ab.sh
#
# Options: -t tests (get), -c clients (50), -P pipeline (16), -n requests (1000000), -r rounds (2).
# The node is bin/distcache with its defaults plus DISTCACHE_JAVA_OPTS / DISTCACHE_HEAP if set.
# Both servers get the same warm-up (SET and GET, which also fills the keyspace); then each round
# runs Redis, then distcache. Logs go to a fresh /tmp/redis-ab.* directory. One line per run:
#   server test rps p50 p90 p99 p99.9 (ms, from redis-benchmark's percentile table)
# Every process it starts is stopped on exit (by PID). Only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTS=get CLIENTS=50 PIPELINE=16 REQUESTS=1000000 ROUNDS=2
while getopts "t:c:P:n:r:" opt; do
  case "$opt" in
    t) TESTS="$OPTARG" ;;
    c) CLIENTS="$OPTARG" ;;
    P) PIPELINE="$OPTARG" ;;
    n) REQUESTS="$OPTARG" ;;
    r) ROUNDS="$OPTARG" ;;
    *) echo "usage: $0 [-t tests] [-c clients] [-P pipeline] [-n requests] [-r rounds]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "redis-ab: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/redis-ab.XXXXXX)"
rport="$(free_port)"
dport="$(free_port)"
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
PIDS+=("$!")
"$ROOT/bin/distcache" -addr "127.0.0.1:$dport" >"$OUT/node.out" 2>"$OUT/node.err" &
PIDS+=("$!")
wait_ping "$rport" 20 || die "redis-server on port $rport did not answer PING"
wait_ping "$dport" 120 || die "distcache on port $dport did not start; see $OUT/node.err"

bench() { # port tests
  redis-benchmark -p "$1" -t "$2" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r 1000000 -d 100 2>&1 | tr '\r' '\n'
}
# warm-up: JIT, pools, and a keyspace for the GETs to hit (about 63% of the 1,000,000 keys)
for port in "$dport" "$dport" "$rport"; do
  bench "$port" set,get >/dev/null
done
for r in $(seq "$ROUNDS"); do
  for server in redis distcache; do
    port="$rport"
    [[ "$server" == distcache ]] && port="$dport"
    # redis-benchmark prints, per test, "====== NAME ======", its percentile table and a summary
    bench "$port" "$TESTS" | awk -v s="$server" '
      /^====== / { test = $2; delete got }
      # the percentile table comes first; the cumulative table after it repeats the format
      /^[0-9.]+% <= / {
        split($1, a, "%"); pc = a[1] + 0
        split("50 90 99 99.9", want, " ")
        for (i = 1; i <= 4; i++) if (!(i in got) && pc >= want[i]) got[i] = $3
      }
      /throughput summary:/ {
        printf "%-9s %-4s rps=%-10s p50=%s p90=%s p99=%s p99.9=%s\n", s, test, $3, got[1], got[2], got[3], got[4]
      }'
  done
done
