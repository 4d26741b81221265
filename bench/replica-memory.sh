#!/usr/bin/env bash
# Memory per entry with one replica (docs/BENCHMARKS.md, "Memory per entry with a replica"): the
# same KEYS keys of 100-byte values written once each into
#   distcache, two nodes, --replicas 0          (one copy of each entry)
#   distcache, two nodes, --replicas 1 (sync)   (two copies)
#   Redis, a master and a replica (replicaof)   (two copies)
# Each setup's growth of VmRSS and of INFO used_memory, summed over its two processes, is divided
# by KEYS. The keys are written with redis-cli --pipe through the first process (distcache
# forwards the other node's keys), and a setup is measured once both processes hold every copy.
#
#   bench/replica-memory.sh             # 500,000 keys
#   bench/replica-memory.sh -k 200000
#
# Every process it starts is stopped on exit (by PID); only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS=500000
while getopts "k:" opt; do
  case "$opt" in
    k) KEYS="$OPTARG" ;;
    *) echo "usage: $0 [-k keys]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "replica-memory: $tool not found (apt-get install redis-server)" >&2; exit 1; }
done

HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/replica-memory.XXXXXX)"
log "logs in $OUT"
"$ROOT/bin/distcache" --version >/dev/null 2>&1 || true # builds the launcher jar on first use

# The SET commands, generated once: key:<i> -> 100 bytes.
VALUE=$(printf 'v%.0s' $(seq 100))
awk -v n="$KEYS" -v v="$VALUE" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d %s\r\n", i, v }' >"$OUT/load.txt"
split -l 1000 -d -a 5 "$OUT/load.txt" "$OUT/load.part."

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
used() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ { print $2 }'; }
keys_held() { # port: entries in its store (owned and replica copies; Redis: DBSIZE)
  local info
  info=$(redis-cli -p "$1" INFO keyspace | tr -d '\r')
  echo "$info" | sed -n 's/^db0:keys=\([0-9]*\).*/\1/p' | head -n 1
}

measure() { # label port1 pid1 port2 pid2 copies
  local label="$1" a="$2" pa="$3" b="$4" pb="$5" copies="$6"
  local r0=$(( $(rss_kb "$pa") + $(rss_kb "$pb") )) u0=$(( $(used "$a") + $(used "$b") ))
  # In chunks of 1,000 commands: one unbounded pipe makes the first node forward tens of thousands
  # of writes at once, and on a loaded machine some wait past the 2 s forward timeout (BUSY).
  local chunk
  for chunk in "$OUT"/load.part.*; do
    redis-cli -p "$a" --pipe <"$chunk" >"$OUT/$label.pipe" 2>&1 || die "$label: load failed ($(tail -n 2 "$OUT/$label.pipe"))"
  done
  local want=$((KEYS * copies)) held=0
  for _ in $(seq 600); do
    held=$(( $(keys_held "$a") + $(keys_held "$b") ))
    ((held >= want)) && break
    sleep 0.5
  done
  ((held >= want)) || die "$label: $held entries held, expected $want"
  sleep 2 # let the last replication batches and allocations settle
  local r1=$(( $(rss_kb "$pa") + $(rss_kb "$pb") )) u1=$(( $(used "$a") + $(used "$b") ))
  printf '%-28s entries %8d  RSS +%7.1f MiB  %6.1f B/key  used_memory +%7.1f MiB  %6.1f B/key\n' \
    "$label" "$held" "$(echo "($r1 - $r0) / 1024" | bc -l)" "$(echo "($r1 - $r0) * 1024 / $KEYS" | bc -l)" \
    "$(echo "($u1 - $u0) / 1048576" | bc -l)" "$(echo "($u1 - $u0) / $KEYS" | bc -l)"
}

distcache_pair() { # label replicas
  local label="$1" replicas="$2"
  local p1 p2 pid1 pid2
  p1=$(free_port); p2=$(free_port)
  DISTCACHE_DIRECT_MEMORY=2g "$ROOT/bin/distcache" -addr "$HOST:$p1" --max-memory 1g --replicas "$replicas" \
    >"$OUT/$label-1.log" 2>&1 &
  pid1=$!; PIDS+=("$pid1")
  wait_ping "$p1" 60 || die "$label: node 1 did not answer"
  DISTCACHE_DIRECT_MEMORY=2g "$ROOT/bin/distcache" -addr "$HOST:$p2" --max-memory 1g --replicas "$replicas" \
    -join "$HOST:$p1" >"$OUT/$label-2.log" 2>&1 &
  pid2=$!; PIDS+=("$pid2")
  wait_ping "$p2" 60 || die "$label: node 2 did not answer"
  for _ in $(seq 200); do
    [[ "$(redis-cli -p "$p1" CLUSTER INFO | tr -d '\r' | grep -c -e '^cluster_size:2$' -e '^cluster_learning_nodes:0$')" == 2 ]] && break
    sleep 0.3
  done
  # The JIT and the pre-touched heap settle before the baseline: a small warm-up, then deleted.
  redis-cli -p "$p1" FLUSHALL >/dev/null
  measure "$label" "$p1" "$pid1" "$p2" "$pid2" $((replicas + 1))
  stop "$pid1"; stop "$pid2"
}

redis_pair() {
  local p1 p2 pid1 pid2
  p1=$(free_port); p2=$(free_port)
  # --dir: the full sync to the replica writes an RDB file, which belongs with the logs, not in the
  # current directory.
  redis-server --port "$p1" --bind "$HOST" --save '' --appendonly no --dir "$OUT" >"$OUT/redis-1.log" 2>&1 &
  pid1=$!; PIDS+=("$pid1")
  redis-server --port "$p2" --bind "$HOST" --save '' --appendonly no --dir "$OUT" --replicaof "$HOST" "$p1" \
    >"$OUT/redis-2.log" 2>&1 &
  pid2=$!; PIDS+=("$pid2")
  wait_ping "$p1" 30 && wait_ping "$p2" 30 || die "redis did not answer"
  for _ in $(seq 100); do
    redis-cli -p "$p2" INFO replication | tr -d '\r' | grep -q '^master_link_status:up$' && break
    sleep 0.3
  done
  measure "redis master+replica" "$p1" "$pid1" "$p2" "$pid2" 2
  stop "$pid1"; stop "$pid2"
}

log "$KEYS keys of 100 bytes, written once each"
distcache_pair "distcache --replicas 0" 0
distcache_pair "distcache --replicas 1 sync" 1
redis_pair
