#!/usr/bin/env bash
# Acknowledged keys after repeated short stalls of one member (issue 11): a member SIGSTOPped just
# past the suspicion timeout is declared dead by some members and not by others, and comes back.
#
#   bench/stall-rounds.sh                        # ports 7300-7302, 6 rounds of a 3.5 s stall
#   BASE=7400 ROUNDS=10 STALL=3.5 bench/stall-rounds.sh
#
# Starts three launcher nodes (--replicas 1, sync; EXTRA adds flags), writes 20,000 keys through
# redis-py's RedisCluster and then never touches them; meanwhile one writer per unstalled node sets
# increasing values on 1,500 other keys (one writer per key) and readers on every node (plain and
# READONLY) compare each GET with the highest value acknowledged before it was sent. Each round
# stops the third node for STALL seconds, lets it run 12 s, and counts the 20,000 keys that no
# longer read back. At the end: reads that returned an older value or nil for an acknowledged key,
# and every acknowledged key read back through each node; for the first such keys, the writes of
# nearby values with their answers and times. Needs python3-redis. Stops every process it started,
# by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE=${BASE:-7300}
ROUNDS=${ROUNDS:-6}
STALL=${STALL:-3.5}
EXTRA=${EXTRA:-}
LOGS=$(mktemp -d)
PY=$(command -v /usr/bin/python3 || command -v python3)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
node() { # port [seed]
  local join=()
  [[ $# -gt 1 ]] && join=(-join "127.0.0.1:$2")
  "$ROOT/bin/distcache" -addr "127.0.0.1:$1" --peers-file none --replicas 1 $EXTRA "${join[@]}" \
    > "$LOGS/n$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -qs "listening" "$LOGS/n$1.log" && return; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}
agreed() {
  for p in "$@"; do redis-cli -p "$p" cluster info 2>/dev/null | grep -q "cluster_known_nodes:$#" || return 1; done
  ! grep -h "placement epoch" "$LOGS"/n*.log | tail -3 | grep -qv " 0 learning"
}
node "$BASE"; node $((BASE + 1)) "$BASE"; node $((BASE + 2)) "$BASE"
stalled=${pids[2]}
for _ in $(seq 1 120); do agreed "$BASE" $((BASE + 1)) $((BASE + 2)) && break; sleep 0.5; done

"$PY" - fill "$BASE" <<'PYEOF'
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host='127.0.0.1', port=int(sys.argv[2]))
for i in range(0, 20000, 100):
    rc.mset_nonatomic({'quiet:%d' % j: 'v%d' % j for j in range(i, i + 100)})
PYEOF

touch "$LOGS/run"
"$PY" - "$BASE" "$LOGS/run" > "$LOGS/readers.out" 2>&1 <<'PYEOF' &
import collections, os, random, sys, threading, time, redis
from redis.cluster import RedisCluster
base, flag = int(sys.argv[1]), sys.argv[2]
ports, n = [base, base + 1, base + 2], 1500
acked, lock, stale, counts, running = {}, threading.Lock(), [], collections.Counter(), True
history = collections.defaultdict(list)
def writer(port, wid):
    r, seq = redis.Redis(port=port, socket_timeout=10), 0
    while running:
        k = 'seq:%d' % (random.randrange(n // 2) * 2 + wid); seq += 1
        t0 = time.time()
        try:
            r.set(k, seq)
            with lock:
                acked[k] = max(acked.get(k, 0), seq)
            history[k].append((seq, 'ok', t0, time.time()))
            if len(history[k]) > 400:
                del history[k][:200]
        except Exception as e:
            counts['write error ' + str(e)[:50]] += 1
            history[k].append((seq, str(e)[:40], t0, time.time()))
def reader(port, readonly):
    r, tag = None, '%s %d' % ('READONLY' if readonly else 'plain', port)
    while running:
        try:
            if r is None:
                r = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
                if readonly:
                    r.execute_command('READONLY')
            k = 'seq:%d' % random.randrange(n)
            with lock:
                before = acked.get(k)
            v = r.get(k)
            counts['reads'] += 1
            if before is not None and (v is None or int(v) < before):
                stale.append(('nil' if v is None else 'older', time.strftime('%H:%M:%S'), tag, k, before, v))
        except redis.exceptions.ResponseError as e:
            counts['read ' + str(e).split(' ')[0]] += 1
        except Exception:
            counts['read timeout or refused'] += 1; r = None; time.sleep(0.01)
threads = [threading.Thread(target=writer, args=(p, i), daemon=True) for i, p in enumerate(ports[:2])]
threads += [threading.Thread(target=reader, args=(p, ro), daemon=True) for p in ports for ro in (True, False)]
for t in threads:
    t.start()
while os.path.exists(flag):
    time.sleep(0.2)
running = False
time.sleep(1)
kinds = [s[0] for s in stale]
print('reads of an acknowledged key that returned nil: %d, an older value: %d' % (kinds.count('nil'), kinds.count('older')))
for s in stale[:20]:
    print('  %s at %s through %s: %s acknowledged %d, read %s' % s)
for k, lo, hi in sorted(set((s[3], int(s[5]) if s[5] is not None else s[4], s[4]) for s in stale))[:3]:
    print('writes of', k, 'around the values involved:')
    for h in [h for h in history[k] if lo - 3 <= h[0] <= hi + 3]:
        print('   seq %d %s sent %s answered %s' % (h[0], h[1], time.strftime('%H:%M:%S', time.localtime(h[2])) + ('%.3f' % (h[2] % 1))[1:], time.strftime('%H:%M:%S', time.localtime(h[3])) + ('%.3f' % (h[3] % 1))[1:]))
print('counts', dict(counts))
rc = RedisCluster(host='127.0.0.1', port=base)
print('acknowledged keys %d, wrong through the cluster client: %d' % (len(acked),
      sum(1 for k, s in acked.items() if (lambda v: v is None or int(v) < s)(rc.get(k)))))
PYEOF
readers=$!
sleep 3
for i in $(seq 1 "$ROUNDS"); do
  kill -STOP "$stalled"; sleep "$STALL"; kill -CONT "$stalled"; sleep 12
  "$PY" - check "$BASE" "$i" <<'PYEOF'
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host='127.0.0.1', port=int(sys.argv[2]))
missing = [i for i in range(20000) if rc.get('quiet:%d' % i) != ('v%d' % i).encode()]
print('round %s: %d of 20000 untouched keys missing %s' % (sys.argv[3], len(missing), missing[:3]))
PYEOF
done
rm -f "$LOGS/run"
wait "$readers"
cat "$LOGS/readers.out"
echo "declared dead: $(grep -h 'declaring it dead' "$LOGS"/n*.log | wc -l) times; logs: $LOGS"
