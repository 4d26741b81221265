#!/usr/bin/env bash
# Replicated edits of large hashes and sets (docs/BENCHMARKS.md, "Replicated edits"): a 2-node cluster
# from the launcher, or Redis alone (ROOT=redis); keys in a slot the node on 7500 owns (hash tag).
# Figures per command: rate, owner and replica CPU (clock ticks of 10 ms), bytes each wrote (/proc/PID/io wchar).
# usage: bench/replicated-edits.sh ROOT REPLICAS LABEL   (ROOT holds bin/distcache and its jar); ports 7500/7501
set -u
ROOT=$1; REPL=$2; LABEL=$3
OUT=${OUT_DIR:-/tmp}/$LABEL.txt; : > $OUT
cd "${OUT_DIR:-/tmp}"
if [[ $ROOT == redis ]]; then
redis-server --port 7500 --save "" --appendonly no > n0.log 2>&1 & P0=$!; P1=$P0
trap 'kill $P0 2>/dev/null; wait $P0 2>/dev/null' EXIT
sleep 1; TAG="{t4}"
else
$ROOT/bin/distcache -addr 127.0.0.1:7500 --replicas $REPL --peers-file none > n0.log 2>&1 & P0=$!
$ROOT/bin/distcache -addr 127.0.0.1:7501 -join 127.0.0.1:7500 --replicas $REPL --peers-file none > n1.log 2>&1 & P1=$!
trap 'kill $P0 $P1 2>/dev/null; wait $P0 $P1 2>/dev/null' EXIT
for i in $(seq 1 120); do
  s0=$(redis-cli -p 7500 cluster info 2>/dev/null | grep -c "cluster_state:ok"); s1=$(redis-cli -p 7501 cluster info 2>/dev/null | grep -c "cluster_state:ok")
  n=$(redis-cli -p 7500 cluster info 2>/dev/null | grep cluster_known_nodes | tr -d '\r' | cut -d: -f2)
  [[ "$s0" == 1 && "$s1" == 1 && "$n" == 2 ]] && break; sleep 0.5
done
redis-cli -p 7500 cluster info | tr -d '\r' | grep -E "state|known|size" >> $OUT
# a tag owned by node 7500
TAG=$(python3 - <<'PY'
import subprocess,json
slots=json.loads(subprocess.check_output(["redis-cli","-p","7500","--json","cluster","slots"]))
own={}
for r in slots:
    for s in range(r[0], r[1]+1): own[s]=r[2][1]
for t in range(500):
    s=int(subprocess.check_output(["redis-cli","-p","7500","cluster","keyslot","{t%d}x"%t]))
    if own[s]==7500: print("{t%d}"%t); break
PY
)
fi
echo "tag $TAG" >> $OUT
# the launcher execs java, so its pid is the JVM
JAVA0=$P0; JAVA1=$P1
fill() { # key kind n
  python3 - "$1" "$2" "$3" <<'PY' | redis-cli -p 7500 --pipe > /dev/null
import sys
key, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cmd(*a):
    s = "*%d\r\n" % len(a)
    for x in a:
        x = x.encode() if isinstance(x, str) else x
        s += "$%d\r\n" % len(x) + x.decode() + "\r\n"
    return s
out = []
for base in range(0, n, 100):
    args = []
    for i in range(base, min(n, base + 100)):
        if kind == "hash": args += ["field:%012d" % i, "%020d" % i]
        else: args += ["m:%012d" % i]
    out.append(cmd("HSET" if kind == "hash" else "SADD", key, *args))
sys.stdout.write("".join(out))
PY
}
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
wch() { awk '/^wchar/{print $2}' /proc/$1/io; }
bench() { # label, args...
  local l=$1; shift
  local c0=$(cpu $JAVA0) c1=$(cpu $JAVA1) w0=$(wch $JAVA0) w1=$(wch $JAVA1) t0=$(date +%s.%N)
  local rps=$(redis-benchmark -p 7500 -c 50 -q "$@" 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  local t1=$(date +%s.%N)
  local c0b=$(cpu $JAVA0) c1b=$(cpu $JAVA1) w0b=$(wch $JAVA0) w1b=$(wch $JAVA1)
  echo "$l | $rps | owner cpu $(( c0b - c0 )) ticks, replica cpu $(( c1b - c1 )) ticks | owner wrote $(( (w0b - w0) / 1024 )) KiB, replica wrote $(( (w1b - w1) / 1024 )) KiB | $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f s", b-a}') | load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
}
fill "${TAG}bighash" hash 10000; fill "${TAG}bigset" set 10000; fill "${TAG}smallhash" hash 10
echo "sizes: $(redis-cli -p 7500 hlen ${TAG}bighash) $(redis-cli -p 7500 scard ${TAG}bigset) $(redis-cli -p 7500 hlen ${TAG}smallhash) bytes $(redis-cli -p 7500 memory usage ${TAG}bighash)" >> $OUT
bench "HSET 10k-field hash" -n 3000 -r 10000 hset "${TAG}bighash" field:__rand_int__ v
bench "HSET 10-field hash " -n 50000 -r 10 hset "${TAG}smallhash" field:__rand_int__ v
bench "SREM 10k-member set" -n 2000 -r 10000 srem "${TAG}bigset" m:__rand_int__
bench "SADD 10k-member set" -n 2000 -r 10000 sadd "${TAG}bigset" m:__rand_int__
bench "HDEL 10k-field hash" -n 2000 -r 10000 hdel "${TAG}bighash" field:__rand_int__
echo "replica check: owner $(redis-cli -p 7500 hlen ${TAG}bighash) $(redis-cli -p 7500 scard ${TAG}bigset)" >> $OUT
cat $OUT
