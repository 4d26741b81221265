#!/usr/bin/env bash
# Client errors and per-second latency while a 4th node joins a loaded 3-node cluster (issue 11).
#
#   bench/join-under-load.sh            # ports 7300-7303, 25 s of load, the 4th node after 5 s
#   BASE=7400 SECS=40 bench/join-under-load.sh
#
# Starts three launcher nodes (--replicas 1; EXTRA adds flags), waits until they agree, runs a
# redis-py writer (pipelines of 10 SETs over 200,000 keys) through the first node, starts a 4th
# node 5 s in, and prints per second: batches, p50, p99 and max batch latency (ms), then the
# errors by text and how many full copies each owner made to the joiner. Needs python3-redis.
# Stops every process it started, by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE=${BASE:-7300}
SECS=${SECS:-25}
EXTRA=${EXTRA:-}
LOGS=$(mktemp -d)
PY=$(command -v /usr/bin/python3 || command -v python3)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
node() { # port [seed]
  local join=()
  [[ $# -gt 1 ]] && join=(-join "127.0.0.1:$2")
  "$ROOT/bin/distcache" -addr "127.0.0.1:$1" --replicas 1 $EXTRA "${join[@]}" > "$LOGS/n$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q "listening" "$LOGS/n$1.log" && return; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}
agreed() { # every node knows N members and the last placements have no learner
  for p in "$@"; do redis-cli -p "$p" cluster info 2>/dev/null | grep -q "cluster_known_nodes:$#" || return 1; done
  ! grep -h "placement epoch" "$LOGS"/n*.log | tail -3 | grep -qv " 0 learning"
}
node "$BASE"; node $((BASE + 1)) "$BASE"; node $((BASE + 2)) "$BASE"
for _ in $(seq 1 120); do agreed "$BASE" $((BASE + 1)) $((BASE + 2)) && break; sleep 0.5; done
"$PY" - "$BASE" "$SECS" > "$LOGS/load.out" 2>&1 <<'PYEOF' &
import redis, sys, time
from collections import defaultdict, Counter
port, secs = int(sys.argv[1]), float(sys.argv[2])
r = redis.Redis(port=port)
errs, i, start, per = [], 0, time.time(), defaultdict(list)
while time.time() < start + secs:
    p = r.pipeline(transaction=False)
    for j in range(10):
        p.set(f"k{(i + j) % 200000}", f"v{i + j}")
    t0 = time.time(); res = p.execute(raise_on_error=False); per[int(t0 - start)].append(time.time() - t0)
    errs += [str(x)[:100] for x in res if isinstance(x, Exception)]
    i += 10
for s in sorted(per):
    l = sorted(per[s])
    print(f"second {s:3d}: batches {len(l):5d} p50 {l[len(l)//2]*1000:6.1f} p99 {l[int(len(l)*.99)]*1000:6.1f} max {l[-1]*1000:7.1f} ms")
print("errors", len(errs), Counter(errs).most_common(3))
PYEOF
loader=$!
sleep 5
node $((BASE + 3)) "$BASE"
wait "$loader"
cat "$LOGS/load.out"
echo "full copies to the joiner, per owner:"
for p in "$BASE" $((BASE + 1)) $((BASE + 2)); do
  echo "  $p: $(grep -c "copied .* to .*127.0.0.1:$((BASE + 3))" "$LOGS/n$p.log" || true)"
done
echo "logs: $LOGS"
