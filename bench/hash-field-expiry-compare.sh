#!/usr/bin/env bash
# Hash field expiry (docs/BENCHMARKS.md, "Hash field expiry"): redis-benchmark (-c 50 -P 1) of
# HSET and HGET on 100,000 small hashes, Redis then distcache, before any field has an expiry
# time (no regression from the new trailer code); then, on distcache alone (Debian's Redis 7.0
# has no HEXPIRE), the same after every hash's field f got an expiry time (HEXPIRE h:N 100000
# FIELDS 1 f, loaded with redis-cli --pipe), and HEXPIRE, HTTL, HPERSIST themselves. Every process
# it starts is stopped on exit (by PID); only 127.0.0.1 is contacted. Not run by CI. Needs
# redis-server and redis-tools (apt-get install -y redis-server).
# BASELINE=/path/to/an/older/checkout (built: its distcache-server -all jar present) adds a node
# of that version to the plain HSET/HGET rows, and ROUNDS=n repeats those rows n times
# (alternating the servers), for a shared machine where one run is noise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS="${REQUESTS:-200000}"
ROUNDS="${ROUNDS:-1}"
KEYS=100000
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "hash-field-expiry-compare: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d /tmp/hash-field-expiry-compare.XXXXXX)"

RPORT="$(free_port)"
DPORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
RPID=$!
PIDS+=("$RPID")
"$ROOT/bin/distcache" -addr "127.0.0.1:$DPORT" >"$OUT/node.out" 2>"$OUT/node.err" &
DPID=$!
PIDS+=("$DPID")
wait_ping "$RPORT" 20 || die "redis-server did not answer PING"
wait_ping "$DPORT" 180 || die "distcache did not start; see $OUT/node.err"
BPORT=""
if [[ -n "${BASELINE:-}" ]]; then
  BPORT="$(free_port)"
  "$BASELINE/bin/distcache" -addr "127.0.0.1:$BPORT" >"$OUT/base.out" 2>"$OUT/base.err" &
  BPID=$!
  PIDS+=("$BPID")
  wait_ping "$BPORT" 180 || die "the baseline distcache did not start; see $OUT/base.err"
fi

rps() { # port, redis-benchmark arguments...
  local port="$1"
  shift
  redis-benchmark -p "$port" -n "$REQUESTS" -c 50 -q "$@" 2>&1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' \
    | tail -1 | awk '{ print $1 }'
}

# Every hash gets fields f and g first, so HSET below overwrites and HGET hits.
awk -v keys="$KEYS" 'BEGIN { for (k = 0; k < keys; k++) { key = "h:" k
  printf "*6\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$1\r\nf\r\n$11\r\nv0123456789\r\n$1\r\ng\r\n$11\r\nv0123456789\r\n", length(key), key } }' \
  >"$OUT/load.resp"
redis-cli -p "$RPORT" --pipe <"$OUT/load.resp" >/dev/null
redis-cli -p "$DPORT" --pipe <"$OUT/load.resp" >/dev/null
[[ -n "$BPORT" ]] && redis-cli -p "$BPORT" --pipe <"$OUT/load.resp" >/dev/null

plain=(
  "HSET g, no field times|-r $KEYS HSET h:__rand_int__ g v0123456789"
  "HGET f, no field times|-r $KEYS HGET h:__rand_int__ f"
)
for c in "${plain[@]}"; do # warm-up (JIT)
  # shellcheck disable=SC2086
  redis-benchmark -p "$DPORT" -n 50000 -c 50 -q ${c#*|} >/dev/null 2>&1
  # shellcheck disable=SC2086
  redis-benchmark -p "$RPORT" -n 50000 -c 50 -q ${c#*|} >/dev/null 2>&1
  if [[ -n "$BPORT" ]]; then
    # shellcheck disable=SC2086
    redis-benchmark -p "$BPORT" -n 50000 -c 50 -q ${c#*|} >/dev/null 2>&1
  fi
done
for _ in $(seq "$ROUNDS"); do
  for c in "${plain[@]}"; do
    # shellcheck disable=SC2086
    line="$(printf '%-32s redis %s req/s, distcache %s req/s' "${c%%|*}" "$(rps "$RPORT" ${c#*|})" "$(rps "$DPORT" ${c#*|})")"
    if [[ -n "$BPORT" ]]; then
      # shellcheck disable=SC2086
      line="$line, baseline $(rps "$BPORT" ${c#*|}) req/s"
    fi
    echo "$line"
  done
done
[[ -n "$BPORT" ]] && stop "$BPID"

awk -v keys="$KEYS" 'BEGIN { for (k = 0; k < keys; k++) { key = "h:" k
  printf "*6\r\n$7\r\nHEXPIRE\r\n$%d\r\n%s\r\n$6\r\n100000\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\nf\r\n", length(key), key } }' \
  >"$OUT/expire.resp"
redis-cli -p "$DPORT" --pipe <"$OUT/expire.resp" >/dev/null
timed=(
  "HSET g, f has a time|-r $KEYS HSET h:__rand_int__ g v0123456789"
  "HGET f, f has a time|-r $KEYS HGET h:__rand_int__ f"
  "HEXPIRE f|-r $KEYS HEXPIRE h:__rand_int__ 100000 FIELDS 1 f"
  "HTTL f|-r $KEYS HTTL h:__rand_int__ FIELDS 1 f"
  "HPERSIST g (no time)|-r $KEYS HPERSIST h:__rand_int__ FIELDS 1 g"
)
for c in "${timed[@]}"; do
  # shellcheck disable=SC2086
  printf '%-32s distcache %s req/s\n' "${c%%|*}" "$(rps "$DPORT" ${c#*|})"
done
stop "$DPID"
stop "$RPID"
