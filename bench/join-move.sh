#!/usr/bin/env bash
# Moving data to a joining member (docs/BENCHMARKS.md, "Rebalancing: a join under load"):
# three nodes with --replicas 1 (sync) are filled with KEYS keys of 100-byte values, then a
# fourth node joins while redis-benchmark keeps reading and writing through the first node. It
# reports how long the joiner took to learn and take over its share (its own log line "joined:
# ... in T ms"), how many keys and bytes it received (its DBSIZE and used_memory: owned keys and
# the copies it replicates), and the foreground latency (p50, p99) in the same window length
# before the join and during it.
#
#   bench/join-move.sh              # 1,000,000 keys
#   bench/join-move.sh -k 200000
#   COPY_SHARE=100 bench/join-move.sh   # every node's --copy-share (default: the node's default)
#   WARM_JOINER=1 bench/join-move.sh    # the joiner's JVM starts first, and joins 5 s later
#   REPLICATION=async bench/join-move.sh  # every node with --replication async (default: sync)
#   PROBE=1 bench/join-move.sh          # also per-request latency during the join (bench/join-probe.py,
#                                       # redis-py): every 100 ms window, by op and where its slot went
#
# WARM_JOINER=1 separates the move from the joiner's JVM start on the same cores: node 4 starts
# with -join naming a port nothing listens on yet, answers PING alone, is warmed with a round of
# its own, and only then a TCP forwarder on that port to node 1 lets it reach its seed (seeds
# are retried every 5 s); the "during" rounds start with the forwarder.
#
# Every process it starts is stopped on exit (by PID); only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS=1000000
while getopts "k:" opt; do
  case "$opt" in
    k) KEYS="$OPTARG" ;;
    *) echo "usage: $0 [-k keys]" >&2; exit 2 ;;
  esac
done
for tool in redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "join-move: $tool not found (apt-get install redis-tools)" >&2; exit 1; }
done

HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/join-move.XXXXXX)"
log "logs in $OUT"
# Nodes keep a peers file (distcache-PORT.peers) in their working directory and use it as seeds
# when started without -join: shared between runs, a node 1 on a port used before found the last
# run's node 4 by it, before the warm joiner was meant to be reachable.
cd "$OUT"
"$ROOT/bin/distcache" --version >/dev/null 2>&1 || true # builds the launcher jar on first use

start_node() { # name port [seed]
  local name="$1" port="$2" seed="${3:-}"
  local args=(-addr "$HOST:$port" --max-memory 1g --replicas 1 --replication "${REPLICATION:-sync}")
  [[ -n "${COPY_SHARE:-}" ]] && args+=(--copy-share "$COPY_SHARE")
  [[ -n "$seed" ]] && args+=(-join "$HOST:$seed")
  DISTCACHE_DIRECT_MEMORY=2g "$ROOT/bin/distcache" "${args[@]}" >"$OUT/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_ping "$port" 60 || die "$name did not answer on $port"
}

P1=$(free_port); P2=$(free_port); P3=$(free_port)
start_node n1 "$P1"
start_node n2 "$P2" "$P1"
start_node n3 "$P3" "$P1"
for _ in $(seq 100); do
  [[ "$(redis-cli -p "$P1" CLUSTER INFO | tr -d '\r' | grep -c '^cluster_size:3$')" == 1 ]] \
    && [[ "$(redis-cli -p "$P1" CLUSTER INFO | tr -d '\r' | grep -c '^cluster_learning_nodes:0$')" == 1 ]] && break
  sleep 0.3
done

log "filling $KEYS keys through node 1"
t0=$(date +%s%N)
# -r over the key space with enough requests that nearly every key is written once at least.
redis-benchmark -h "$HOST" -p "$P1" -t set -n $((KEYS * 3)) -r "$KEYS" -d 100 -c 50 -P 16 -q >/dev/null
log "filled in $(( ($(date +%s%N) - t0) / 1000000 )) ms; DBSIZE (the whole cluster's keys): $(redis-cli -p "$P1" DBSIZE)"

round() { # file: one round of 100,000 SET then 100,000 GET at -c 50 P1 through node 1
  redis-benchmark -h "$HOST" -p "$P1" -t set,get -n 100000 -r "$KEYS" -d 100 -c 50 -P 1 >>"$1" 2>&1 || true
}
summary() { # file: one line per round and test: avg p50 p95 p99 max in ms
  tr '\r' '\n' <"$1" | awk '/^====== /{t=$2} /avg +min +p50 +p95 +p99 +max/{getline; print t, "avg p50 p95 p99 max (ms):", $1, $3, $4, $5, $6}'
}

log "foreground before the join: 3 rounds"
for _ in 1 2 3; do round "$OUT/before.txt"; done

SEED=$P1
if [[ -n "${WARM_JOINER:-}" ]]; then
  SEED=$(free_port)
  P4=$(free_port)
  log "starting node 4 (seed $SEED, not listening yet) and warming it alone"
  DISTCACHE_DIRECT_MEMORY=2g "$ROOT/bin/distcache" -addr "$HOST:$P4" --max-memory 1g --replicas 1 --replication sync \
    ${COPY_SHARE:+--copy-share "$COPY_SHARE"} -join "$HOST:$SEED" >"$OUT/n4.log" 2>&1 &
  N4=$!
  PIDS+=("$N4")
  wait_ping "$P4" 60 || die "node 4 did not answer on $P4"
  # A joining node serves nothing alone (TRYAGAIN), but its RESP path, JIT and heap warm up.
  redis-benchmark -h "$HOST" -p "$P4" -t ping -n 200000 -c 50 -P 1 -q >/dev/null 2>&1 || true
  cat >"$OUT/forward.py" <<'PY'
import asyncio, sys
listen, target = int(sys.argv[1]), int(sys.argv[2])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()
async def handle(r, w):
    tr, tw = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(pipe(r, tw), pipe(tr, w), return_exceptions=True)
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
fi

log "joining node 4 while rounds run"
( while [[ ! -e "$OUT/stop" ]]; do round "$OUT/during.txt"; done ) &
FG=$!
if [[ -n "${PROBE:-}" ]]; then
  python3 "$ROOT/bench/join-probe.py" run "$P1" "$KEYS" 4 "$OUT/probe.txt" "$OUT/stop-probe" &
  PROBE_PID=$!
fi
sleep 1
j0=$(date +%s%N)
if [[ -n "${WARM_JOINER:-}" ]]; then
  python3 "$OUT/forward.py" "$SEED" "$P1" &
  PIDS+=("$!")
else
  P4=$(free_port) # chosen late: an ephemeral port of the load's connections could take an early pick
  DISTCACHE_DIRECT_MEMORY=2g "$ROOT/bin/distcache" -addr "$HOST:$P4" --max-memory 1g --replicas 1 --replication sync \
    ${COPY_SHARE:+--copy-share "$COPY_SHARE"} -join "$HOST:$P1" >"$OUT/n4.log" 2>&1 &
  N4=$!
  PIDS+=("$N4")
fi
for _ in $(seq 1200); do
  grep -q "joined:" "$OUT/n4.log" && break
  kill -0 "$N4" 2>/dev/null || break
  sleep 0.1
done
j1=$(date +%s%N)
touch "$OUT/stop"
wait "$FG" || true
if [[ -n "${PROBE:-}" ]]; then
  sleep 2 # the writes the owners held reach the new owner after its "joined"
  touch "$OUT/stop-probe"
  wait "$PROBE_PID" || true
  redis-cli -p "$P1" CLUSTER NODES >"$OUT/nodes.txt"
fi

grep "joined:" "$OUT/n4.log" || die "node 4 did not join (see $OUT/n4.log)"
keys4=$(redis-cli -p "$P4" INFO keyspace | tr -d '\r' | awk -F'[=,:]' '/^db0:/{print $3}')
mem4=$(redis-cli -p "$P4" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}')
own4=$(redis-cli -p "$P4" CLUSTER INFO | tr -d '\r' | awk -F: '/^cluster_size:/{print $2}')
ms=$(( (j1 - j0) / 1000000 ))
from="process start"
[[ -n "${WARM_JOINER:-}" ]] && from="seed reachable"
log "node 4: $from to joined ${ms} ms; entries in its store (owned and replica copies) $keys4; used_memory $mem4 bytes; cluster_size $own4"
echo "joined_ms=$ms entries=$keys4 used_memory=$mem4"
echo "before:"; summary "$OUT/before.txt"
echo "during:"; summary "$OUT/during.txt"
if [[ -n "${PROBE:-}" ]]; then
  echo "per-request probe through node 1 (bench/join-probe.py; the join window is 1 s in):"
  python3 "$ROOT/bench/join-probe.py" report "$OUT/probe.txt" "$OUT/nodes.txt" "$P4"
fi
