#!/usr/bin/env bash
# Two members stopped with SIGTERM at once under write load (issue 11): lost, stale and resurrected
# keys, and the writer's errors.
#
#   bench/two-sigterms.sh                    # ports 7450-7454, 20,000 keys
#   BASE=7450 KEYS=20000 GAP=0 bench/two-sigterms.sh
#   REVERSE=1 GAP=0.3 bench/two-sigterms.sh   # the 5th (higher id) first
#
# Starts five launcher nodes (--replicas 1; EXTRA adds flags), waits until they agree, writes KEYS
# keys through the first node, then a redis-py writer keeps rewriting them there (each key set to
# a new value, every third deleted, each write retried until acknowledged, so the last
# acknowledged state of every key is known). SIGTERM goes to the 4th and 5th nodes GAP seconds
# apart; once both have exited and the writer made one more pass, every key is read through each
# of the three nodes left: "lost" (acknowledged value, read nil), "stale" (an older value),
# "resurrected" (deleted, read a value). Stops every process it started, by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE=${BASE:-7450}
KEYS=${KEYS:-20000}
GAP=${GAP:-0}
EXTRA=${EXTRA:-}
LOGS=$(mktemp -d)
PY=$(command -v /usr/bin/python3 || command -v python3)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
node() { # port [seed]
  local join=()
  [[ $# -gt 1 ]] && join=(-join "127.0.0.1:$2")
  "$ROOT/bin/distcache" -addr "127.0.0.1:$1" --replicas 1 --peers-file none $EXTRA "${join[@]}" > "$LOGS/n$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q "listening" "$LOGS/n$1.log" && return; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}
agreed() { # every node's last placement has all N as owners, none learning
  local p
  for p in "$@"; do
    grep -h "placement epoch" "$LOGS/n$p.log" | tail -1 | grep -q "$# owners, 0 learning" || return 1
  done
}
node "$BASE"
for i in 1 2 3 4; do node $((BASE + i)) "$BASE"; done
ports=("$BASE" $((BASE + 1)) $((BASE + 2)) $((BASE + 3)) $((BASE + 4)))
for _ in $(seq 1 240); do agreed "${ports[@]}" && break; sleep 0.5; done
agreed "${ports[@]}" || { echo "the five nodes did not agree" >&2; exit 1; }
"$PY" - "$BASE" "$KEYS" "$LOGS/stop" "$LOGS/passes" > "$LOGS/load.out" 2>&1 <<'PYEOF' &
import os, redis, sys, time, json
from collections import Counter
port, keys, stopfile, passes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = redis.Redis(port=port, socket_timeout=10)
expected, errs, rnd, at = {}, Counter(), 0, []
def until_acked(f):
    while True:
        try:
            return f()
        except redis.RedisError as e:
            errs[str(e)[:90]] += 1
            at.append(time.time())
for i in range(keys):
    until_acked(lambda: r.set(f"k{i}", "v0"))
    expected[f"k{i}"] = "v0"
while not os.path.exists(stopfile):
    rnd += 1
    for i in range(keys):
        k = f"k{i}"
        if (i + rnd) % 3 == 0:
            until_acked(lambda: r.delete(k)); expected[k] = None
        else:
            v = f"v{rnd}"; until_acked(lambda: r.set(k, v)); expected[k] = v
    open(passes, "w").write(str(rnd))
json.dump(expected, open(stopfile + ".expected", "w"))
sigterm = float(open(stopfile.replace("stop", "sigterm")).read())
print("passes", rnd, "writer errors", sum(errs.values()), "of which after the first SIGTERM",
      sum(1 for t in at if t >= sigterm), errs.most_common(4))
PYEOF
writer=$!
for _ in $(seq 1 600); do [[ -s "$LOGS/passes" ]] && break; sleep 0.2; done
log_at() { date +%H:%M:%S.%N | cut -c1-12; }
first=3 second=4
[[ -n "${REVERSE:-}" ]] && first=4 second=3
echo "$(log_at) SIGTERM ${ports[$first]}, then ${ports[$second]} ${GAP}s later"
date +%s.%N > "$LOGS/sigterm"
kill -TERM "${pids[$first]}"; sleep "$GAP"; kill -TERM "${pids[$second]}"
t0=$SECONDS
wait "${pids[3]}" || true; wait "${pids[4]}" || true
echo "$(log_at) both exited after $((SECONDS - t0)) s"
p0=$(cat "$LOGS/passes"); for _ in $(seq 1 600); do (( $(cat "$LOGS/passes") >= p0 + 2 )) && break; sleep 0.2; done
touch "$LOGS/stop"; wait "$writer" || true
cat "$LOGS/load.out"
"$PY" - "$LOGS/stop.expected" "${ports[0]}" "${ports[1]}" "${ports[2]}" <<'PYEOF'
import json, redis, sys
expected = json.load(open(sys.argv[1]))
for port in map(int, sys.argv[2:]):
    r = redis.Redis(port=port, socket_timeout=10)
    lost = stale = resurrected = errors = 0
    ks = list(expected)
    for n in range(0, len(ks), 500):
        batch = ks[n:n + 500]
        p = r.pipeline(transaction=False)
        for k in batch:
            p.get(k)
        for k, got in zip(batch, p.execute(raise_on_error=False)):
            want = expected[k]
            if isinstance(got, Exception):
                errors += 1
            elif got is None and want is not None:
                lost += 1
            elif got is not None and want is None:
                resurrected += 1
            elif got is not None and got.decode() != want:
                stale += 1
    print(f"through {port}: {len(ks)} keys, lost {lost}, stale {stale}, resurrected {resurrected}, read errors {errors}")
PYEOF
for p in "${ports[3]}" "${ports[4]}"; do
  echo "$p: $(grep -E 'handing off|left the cluster|WARN' "$LOGS/n$p.log" | sed -E 's/^[^ ]+ //' | cut -c1-160 | tail -6)"
done
echo "logs: $LOGS"
