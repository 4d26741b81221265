#!/usr/bin/env bash
# Writes into a large string with a replica (issues 11 and 16): APPEND, SETRANGE, SETBIT and
# BITFIELD of a SIZE-byte value, and reads whose opcode also carries writes (GETBIT, BITCOUNT, HGET
# of a 10,000-field hash), on a 2-node cluster from the launcher (--replicas 1, sync, the
# defaults), on this tree and, with BASE_ROOT, a base tree, beside Redis with one replica
# (replicaof). Per command: requests per second and p50 (redis-benchmark -c 10), the owner's and
# the replica's CPU (clock ticks of 10 ms, /proc/PID/stat) and the bytes each wrote to sockets
# and files (/proc/PID/io wchar; for the owner that is mostly the effects it ships).
#
#   PORT_RANGE=7300-7349 bench/replicated-string-edits.sh
#   BASE_ROOT=/tmp/stredit-base SIZE=16777216 N=2000 ROUNDS=2 bench/replicated-string-edits.sh
#
# Keys carry a hash tag whose slot the first node owns, so every request is served there. Every
# process it starts is stopped on exit (by PID). Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${SIZE:-1048576}"
N="${N:-2000}"
ROUNDS="${ROUNDS:-1}"
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
for tool in redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
OUT="$(mktemp -d /tmp/replicated-string-edits.XXXXXX)"
WHO=(new)
[[ -n "${BASE_ROOT:-}" ]] && WHO=(base new)
WHO+=(redis)

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
wch() { awk '/^wchar/{print $2}' "/proc/$1/io"; }

# start WHO: sets P0 P1 (pids) and Q0 Q1 (ports), the first the primary or owner
start() {
  Q0="$(free_port)"
  Q1="$(free_port)"
  if [[ "$1" == redis ]]; then
    redis-server --bind "$HOST" --port "$Q0" --save '' --appendonly no --logfile "$OUT/redis0.log" &
    P0=$!
    redis-server --bind "$HOST" --port "$Q1" --save '' --appendonly no --replicaof "$HOST" "$Q0" \
      --logfile "$OUT/redis1.log" &
    P1=$!
    PIDS+=("$P0" "$P1")
    wait_ping "$Q0" 30 && wait_ping "$Q1" 30 || die "redis did not answer PING"
    for _ in $(seq 100); do
      redis-cli -p "$Q1" info replication | grep -q 'master_link_status:up' && return 0
      sleep 0.2
    done
    die "the redis replica did not connect"
  fi
  local tree="$ROOT"
  [[ "$1" == base ]] && tree="$BASE_ROOT"
  "$tree/bin/distcache" -addr "$HOST:$Q0" --peers-file none >"$OUT/$1-0.log" 2>&1 &
  P0=$!
  PIDS+=("$P0")
  wait_ping "$Q0" 120 || die "$1 on $Q0 did not answer PING"
  "$tree/bin/distcache" -addr "$HOST:$Q1" -join "$HOST:$Q0" --peers-file none >"$OUT/$1-1.log" 2>&1 &
  P1=$!
  PIDS+=("$P1")
  for _ in $(seq 240); do
    local ok=0
    for q in "$Q0" "$Q1"; do
      # both members known, and both owning slots (the joiner has taken its share over)
      redis-cli -p "$q" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_known_nodes:2' \
        && redis-cli -p "$q" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_size:2' \
        && redis-cli -p "$q" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
    done
    [[ $ok == 2 ]] && return 0
    sleep 0.5
  done
  die "$1's two nodes did not form a cluster (see $OUT)"
}

# a hash tag whose slot the node on Q0 owns ({t0} for Redis)
tag() {
  [[ "$1" == redis ]] && { echo "{t0}"; return; }
  python3 - "$Q0" <<'PY'
import json, subprocess, sys
port = sys.argv[1]
slots = json.loads(subprocess.check_output(["redis-cli", "-p", port, "--json", "cluster", "slots"]))
own = {}
for r in slots:
    for s in range(r[0], r[1] + 1):
        own[s] = r[2][1]
for t in range(1000):
    s = int(subprocess.check_output(["redis-cli", "-p", port, "cluster", "keyslot", "{t%d}x" % t]))
    if own.get(s) == int(port):
        print("{t%d}" % t)
        break
PY
}

bench() { # who label args...
  local who=$1 label=$2
  shift 2
  local c0 c1 w0 w1 line
  c0=$(cpu "$P0"); c1=$(cpu "$P1"); w0=$(wch "$P0"); w1=$(wch "$P1")
  line=$(redis-benchmark -p "$Q0" -c 10 -n "$N" --csv "$@" 2>/dev/null | tail -1 | tr -d '"')
  local rps p50
  rps=$(echo "$line" | cut -d, -f2)
  p50=$(echo "$line" | cut -d, -f5)
  echo "$who | $label | $rps req/s | p50 $p50 ms | owner $(( $(cpu "$P0") - c0 )) ticks, replica $(( $(cpu "$P1") - c1 )) ticks | owner wrote $(( ($(wch "$P0") - w0) / 1024 )) KiB, replica $(( ($(wch "$P1") - w1) / 1024 )) KiB | load $(cut -d' ' -f1 /proc/loadavg)" \
    | tee -a "$OUT/results.txt"
}

for round in $(seq "$ROUNDS"); do
  for who in "${WHO[@]}"; do
    start "$who"
    t="$(tag "$who")"
    head -c "$SIZE" /dev/zero | redis-cli -p "$Q0" -x SET "${t}s" >/dev/null
    redis-cli -p "$Q0" SET "${t}warm" x >/dev/null
    bench "$who" "warm-up APPEND small" APPEND "${t}warm" x >/dev/null
    python3 - "${t}h" <<'PY' | redis-cli -p "$Q0" --pipe >/dev/null
import sys
key = sys.argv[1].encode()
out = []
for i in range(10000):
    f, v = b"f%06d" % i, b"v" * 100
    out.append(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(f), f, len(v), v))
sys.stdout.buffer.write(b"".join(out))
PY
    bench "$who" "SET 10 bytes (control)" SET "${t}c" 0123456789
    bench "$who" "GETBIT" GETBIT "${t}s" 100
    bench "$who" "BITCOUNT 0 10" BITCOUNT "${t}s" 0 10
    bench "$who" "HGET, 10,000-field hash" HGET "${t}h" f000007
    bench "$who" "APPEND 1 byte" APPEND "${t}s" x
    bench "$who" "SETRANGE 4 bytes" SETRANGE "${t}s" 100 abcd
    bench "$who" "SETBIT" SETBIT "${t}s" 12345 1
    bench "$who" "BITFIELD SET u8" BITFIELD "${t}s" SET u8 800 7
    bench "$who" "BITFIELD INCRBY u8" BITFIELD "${t}s" INCRBY u8 800 1
    echo "$who | strlen owner $(redis-cli -p "$Q0" STRLEN "${t}s") | round $round" | tee -a "$OUT/results.txt"
    stop "$P0"
    stop "$P1"
  done
done
log "results in $OUT/results.txt"
