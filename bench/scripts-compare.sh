#!/usr/bin/env bash
# EVALSHA of a compare-and-delete lock release, one distcache node against Redis
# (docs/BENCHMARKS.md, "Scripts"): the script Redis's documentation gives for releasing a lock,
#   if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
# loaded with SCRIPT LOAD on both servers, 100,000 keys lock:000000000000..lock:000000099999 set to
# the token first; redis-benchmark then sends EVALSHA sha 1 lock:__rand_int__ token (-r 100000):
# a key's first release deletes it, later ones find it gone and answer 0, the same mix on both
# servers. -c 50 with -P 1 and -P 16, Redis then distcache, ROUNDS rounds. Every process it starts
# is stopped on exit (by PID); only 127.0.0.1 is contacted. Not run by CI. Needs redis-server and
# redis-tools (apt-get install -y redis-server).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS="${REQUESTS:-200000}"
ROUNDS="${ROUNDS:-3}"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "scripts-compare: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d /tmp/scripts-compare.XXXXXX)"
SCRIPT="if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

RPORT="$(free_port)"
DPORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
PIDS+=("$!")
"$ROOT/bin/distcache" -addr "127.0.0.1:$DPORT" >"$OUT/node.out" 2>"$OUT/node.err" &
PIDS+=("$!")
wait_ping "$RPORT" 20 || die "redis-server did not answer PING"
wait_ping "$DPORT" 180 || die "distcache did not start; see $OUT/node.err"

load() { # port
  awk 'BEGIN { for (i = 0; i < 100000; i++) { k = sprintf("lock:%012d", i); printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$5\r\ntoken\r\n", length(k), k } }' \
    | redis-cli -p "$1" --pipe >/dev/null
}

run() { # port pipeline
  local sha
  load "$1"
  sha="$(redis-cli -p "$1" SCRIPT LOAD "$SCRIPT")"
  redis-benchmark -p "$1" -n "$REQUESTS" -c 50 -P "$2" -r 100000 -q EVALSHA "$sha" 1 'lock:__rand_int__' token 2>&1 \
    | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | awk '{ print $1 }'
}

log "warm-up"
run "$DPORT" 1 >/dev/null
run "$DPORT" 16 >/dev/null
run "$RPORT" 1 >/dev/null
for round in $(seq "$ROUNDS"); do
  for p in 1 16; do
    r="$(run "$RPORT" "$p")"
    d="$(run "$DPORT" "$p")"
    printf 'round %d  -P %-2d  redis %10s req/s  distcache %10s req/s  ratio %s\n' "$round" "$p" "$r" "$d" \
      "$(awk -v a="$d" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
  done
done
