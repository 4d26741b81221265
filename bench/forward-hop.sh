#!/usr/bin/env bash
# What a forwarding hop costs: three launcher nodes (`--replicas 1`, the default), the Java
# LoadTool on one plain connection with one request in flight (90% GET, 100-byte values) pointed
# at node 1, alternately on keys node 1 owns (served where they arrive) and on keys node 2 owns
# (each forwarded over the cluster bus). Issue 10's target: the hop at most 1.5x the owner's
# latency. The figures behind docs/ARCHITECTURE.md, "Forwarding hop, measured".
#
#   bench/forward-hop.sh                  # 3 rounds of (owner, hop), 8 s each after a 3 s warm-up
#   ROUNDS=5 WARMUP=10 bench/forward-hop.sh
#   PIN=1 bench/forward-hop.sh            # the nodes on CPU 0, LoadTool on CPU 1 (taskset)
#
# One line per run: round, whose keys, ops/s, p50, p99, p999; then the p50 and p99 ratios per
# round (hop / owner). Every process it starts is stopped on exit (by PID); only 127.0.0.1 is
# contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-3}"
DURATION="${DURATION:-8}"
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install -y redis-tools)"
NODE_CPU=() TOOL_CPU=()
if [[ "${PIN:-0}" == 1 ]]; then NODE_CPU=(taskset -c 0) TOOL_CPU=(taskset -c 1); fi

J="$ROOT/distcache-benchmarks/target/benchmarks.jar"
if [[ ! -f "$J" ]]; then
  log "building the benchmark jar"
  (cd "$ROOT" && ./mvnw -B -q package -pl distcache-benchmarks -am -DskipTests -Djacoco.skip=true) >&2
fi
OUT="$(mktemp -d /tmp/forward-hop.XXXXXX)"

ports=()
for i in 0 1 2; do
  p="$(free_port)"
  ports+=("$p")
  if ((i == 0)); then
    "${NODE_CPU[@]}" "$ROOT/bin/distcache" -addr "$HOST:$p" >"$OUT/node$i.log" 2>&1 &
    PIDS+=("$!")
    wait_ping "$p" 180 || die "node $i on port $p did not start; see $OUT/node$i.log"
  else
    "${NODE_CPU[@]}" "$ROOT/bin/distcache" -addr "$HOST:$p" -join "$HOST:${ports[0]}" >"$OUT/node$i.log" 2>&1 &
    PIDS+=("$!")
  fi
done
cluster_field() { # port field
  timeout 5 redis-cli -h "$HOST" -p "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'
}
for _ in $(seq 120); do
  [[ "$(cluster_field "${ports[0]}" cluster_known_nodes)" == 3 && "$(cluster_field "${ports[0]}" cluster_state)" == ok ]] && break
  sleep 1
done
[[ "$(cluster_field "${ports[0]}" cluster_known_nodes)" == 3 ]] || die "the three nodes did not form a cluster; see $OUT"

run() { # round owner-port label
  local line
  line="$("${TOOL_CPU[@]}" java -cp "$J" io.distcache.benchmarks.LoadTool --addr "$HOST:${ports[0]}" --plain \
    --owned-by "$HOST:$2" --connections 1 --pipeline 1 --keys 30000 --duration "$DURATION" --warmup "$WARMUP" 2>&1 \
    | grep -E '^ops/s=' | tail -1)" || die "LoadTool failed (round $1, $3)"
  echo "$1 $3 $line" | tee -a "$OUT/runs.txt"
}
for round in $(seq "$ROUNDS"); do
  run "$round" "${ports[0]}" owner
  run "$round" "${ports[1]}" hop
done
echo
echo "round  p50 hop/owner  p99 hop/owner"
awk '{
  for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$1, $2, kv[1]] = kv[2] + 0 }
  r[$1] = 1
} END {
  for (k in r) printf "%-6s %-14.2f %.2f\n", k, v[k, "hop", "p50"] / v[k, "owner", "p50"], v[k, "hop", "p99"] / v[k, "owner", "p99"]
}' "$OUT/runs.txt" | sort -n
log "forwarded_requests on node 1: $(timeout 5 redis-cli -h "$HOST" -p "${ports[0]}" INFO stats | tr -d '\r' | awk -F: '$1 == "forwarded_requests" {print $2}'); logs in $OUT"
