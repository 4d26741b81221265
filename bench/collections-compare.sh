#!/usr/bin/env bash
# Hashes and sets, one distcache node against Redis (docs/BENCHMARKS.md, "Hashes and sets"):
#  1. memory per hash field and per set member, for small (10 elements) and large (10,000
#     elements) collections: 1,000,000 elements either way (100,000 x 10 or 100 x 10,000), loaded
#     with redis-cli --pipe into fresh servers; INFO used_memory and VmRSS growth per element;
#  2. throughput with redis-benchmark (-c 50 -P 1): HSET/HGET/SADD/SISMEMBER on many small
#     collections (a random key of 100,000, one element each) and on one collection of up to
#     10,000 elements (a random element of 10,000), Redis then distcache.
# Fields and members are 10 bytes (f000000042), values 10 bytes. BATCH (default 100) is the
# elements one command adds to a collection of 10,000 while loading it (1: one HSET or SADD per
# element, the growth that in-place edits serve; a collection of 10 is loaded 10 a command).
# NODE_JAR runs that server jar with JAVA (java) instead of bin/distcache. Every process it starts is
# stopped on exit (by PID); only 127.0.0.1 is contacted. Not run by CI. Needs redis-server and
# redis-tools (apt-get install -y redis-server).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS="${REQUESTS:-200000}"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "collections-compare: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d /tmp/collections-compare.XXXXXX)"

start_pair() { # sets RPORT DPORT RPID DPID
  RPORT="$(free_port)"
  DPORT="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
  RPID=$!
  PIDS+=("$RPID")
  if [[ -n "${NODE_JAR:-}" ]]; then
    "${JAVA:-java}" -XX:MaxDirectMemorySize=2g -Dio.netty.tryReflectionSetAccessible=true \
      --add-opens=java.base/java.nio=ALL-UNNAMED -jar "$NODE_JAR" -addr "127.0.0.1:$DPORT" >"$OUT/node.out" 2>"$OUT/node.err" &
  else
    "$ROOT/bin/distcache" -addr "127.0.0.1:$DPORT" >"$OUT/node.out" 2>"$OUT/node.err" &
  fi
  DPID=$!
  PIDS+=("$DPID")
  wait_ping "$RPORT" 20 || die "redis-server did not answer PING"
  wait_ping "$DPORT" 180 || die "distcache did not start; see $OUT/node.err"
}

# The node's JVM is the launcher's child: measure the process that listens.
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
node_pid() { # the java process under the launcher
  local p="$1" c
  c="$(pgrep -P "$p" java || true)"
  echo "${c:-$p}"
}
used() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ { print $2 }'; }

# RESP for: kind (hash|set), keys, elements per key, elements per command
gen() {
  awk -v kind="$1" -v keys="$2" -v per="$3" -v batch="$4" 'BEGIN {
    for (k = 0; k < keys; k++) {
      key = sprintf("%s:%09d", kind, k)
      for (e = 0; e < per; e += batch) {
        n = (per - e < batch) ? per - e : batch
        if (kind == "hash") {
          printf "*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", 2 + 2 * n, length(key), key
          for (i = e; i < e + n; i++) printf "$10\r\nf%09d\r\n$10\r\nv%09d\r\n", i, i
        } else {
          printf "*%d\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n", 2 + n, length(key), key
          for (i = e; i < e + n; i++) printf "$10\r\nm%09d\r\n", i
        }
      }
    }
  }'
}

memory() { # kind keys per
  local kind="$1" keys="$2" per="$3" batch=10 total=$(($2 * $3))
  [[ "$per" -gt 100 ]] && batch="${BATCH:-100}"
  start_pair
  local dpid
  dpid="$(node_pid "$DPID")"
  # touch the node's pools first, with nothing stored
  redis-benchmark -p "$DPORT" -t get -n 100000 -c 50 -r 1000000 -q >/dev/null 2>&1 || true
  local r0 d0 rr0 dr0
  r0="$(used "$RPORT")"; d0="$(used "$DPORT")"; rr0="$(rss_kb "$RPID")"; dr0="$(rss_kb "$dpid")"
  gen "$kind" "$keys" "$per" "$batch" >"$OUT/load.resp"
  redis-cli -p "$RPORT" --pipe <"$OUT/load.resp" >/dev/null
  redis-cli -p "$DPORT" --pipe <"$OUT/load.resp" >/dev/null
  local r1 d1 rr1 dr1
  r1="$(used "$RPORT")"; d1="$(used "$DPORT")"; rr1="$(rss_kb "$RPID")"; dr1="$(rss_kb "$dpid")"
  printf '%s x%d of %d: used_memory/element redis=%.1f distcache=%.1f; RSS/element redis=%.1f distcache=%.1f; keys redis=%s distcache=%s\n' \
    "$kind" "$keys" "$per" \
    "$(echo "($r1 - $r0) / $total" | bc -l)" "$(echo "($d1 - $d0) / $total" | bc -l)" \
    "$(echo "($rr1 - $rr0) * 1024 / $total" | bc -l)" "$(echo "($dr1 - $dr0) * 1024 / $total" | bc -l)" \
    "$(redis-cli -p "$RPORT" DBSIZE)" "$(redis-cli -p "$DPORT" DBSIZE)"
  stop "$DPID"; stop "$RPID"
}

throughput() {
  start_pair
  local cmds=(
    "small HSET|-r 100000 HSET h:__rand_int__ f v0123456789"
    "small HGET|-r 100000 HGET h:__rand_int__ f"
    "small SADD|-r 100000 SADD s:__rand_int__ m0123456789"
    "small SISMEMBER|-r 100000 SISMEMBER s:__rand_int__ m0123456789"
    "large HSET|-r 10000 HSET bigh f__rand_int__ v0123456789"
    "large HGET|-r 10000 HGET bigh f__rand_int__"
    "large SADD|-r 10000 SADD bigs m__rand_int__"
    "large SISMEMBER|-r 10000 SISMEMBER bigs m__rand_int__"
  )
  # warm-up of both (JIT), which also fills the collections
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    redis-benchmark -p "$DPORT" -n 50000 -c 50 -q ${c#*|} >/dev/null 2>&1
    # shellcheck disable=SC2086
    redis-benchmark -p "$RPORT" -n 50000 -c 50 -q ${c#*|} >/dev/null 2>&1
  done
  for c in "${cmds[@]}"; do
    for server in redis distcache; do
      local port="$RPORT"
      [[ "$server" == distcache ]] && port="$DPORT"
      # shellcheck disable=SC2086
      rps="$(redis-benchmark -p "$port" -n "$REQUESTS" -c 50 -q ${c#*|} 2>&1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | awk '{ print $1 }')"
      printf '%-16s %-9s %s req/s\n' "${c%%|*}" "$server" "$rps"
    done
  done
  stop "$DPID"; stop "$RPID"
}

log "output and server logs in $OUT"
if [[ "${PARTS:-memory,throughput}" == *memory* ]]; then
  memory hash 100000 10
  memory hash 100 10000
  memory set 100000 10
  memory set 100 10000
fi
if [[ "${PARTS:-memory,throughput}" == *throughput* ]]; then
  throughput
fi
