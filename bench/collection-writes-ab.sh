#!/usr/bin/env bash
# Hash and set writes (and the point reads beside them) on collections of about 10 and 10,000
# elements: Redis and two distcache server jars, a build before a change and one after, side by
# side in alternating rounds (docs/BENCHMARKS.md, "Hashes and sets (issue 13, part 2)").
#
#   BEFORE_JAR=/tmp/before-all.jar AFTER_JAR=/tmp/after-all.jar bench/collection-writes-ab.sh
#
# Options (environment): ROUNDS (3), CLIENTS (50), N_FAST (100000: Redis's runs and every run on
# 10 elements), N_SLOW (10000: distcache on 10,000 elements), START_WAIT (60: the seconds a server
# may take to answer PING, longer on a loaded machine), ONLY (below), PORT_RANGE (as bench/lib.sh), JAVA
# (java), JAVA_OPTS (more JVM flags, split on spaces; on JDK 24+ the launcher adds
# "--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow").
# Both jars run with the launcher's memory and GC flags (bin/distcache: a 512 MiB pre-touched heap,
# G1), 1 GiB of direct memory, and their defaults otherwise. Rows (redis-benchmark -c CLIENTS -q,
# a 20-byte value):
#   HSET h10  f__rand_int__ V -r 10        one hash of 10 fields: every command rewrites a field
#   HSET h10k f__rand_int__ V -r 10000     one hash of 10,000 fields, the same
#   SADD sg:__rand_int__ m__rand_int__ -r 1000, 10,000 commands: 1,000 sets growing from 5 to about
#                                          15 members (each command adds one; reset every run)
#   SADD sg10k m__rand_int__ -r 100000000, 5,000 commands: one set growing from 7,500 to 12,500
#                                          members, each command adding one (reset every run)
#   HDEL hd10k f__rand_int__ -r 10000,     5,000 commands: one hash shrinking from 10,000 fields to
#                                          about 6,000 (about 4 in 5 commands remove one; reset every run)
#   SREM sd10k m__rand_int__ -r 10000,     the same on a set of 10,000 members
#   HSET hl10k f__rand_int__ V -r 10000,   5,000 commands on a hash of 10,000 fields whose values are
#                                          1 byte: about 4 in 5 commands change a value's length
#                                          (1 to 20 bytes; reset every run)
#   SPOP sp10k,                            5,000 commands: one set of 10,000 members popped to 5,000
#   SPOP spn10k 5,                         1,000 commands: the same, 5 a command
#   SMOVE {mv}a {mv}b m__rand_int__ -r 10000, 5,000 commands between two sets of 10,000 (about 4 in 5
#                                          move a member; the rest find it gone)
#   SREM sr10k m__rand_int__ x17 -r 10000, 500 commands of 17 names: one set shrinking from 10,000
#                                          to about 4,300
#   HDEL hr10k f__rand_int__ x17 -r 10000, the same on a hash (each of these reset every run)
#   HGET h10 / h10k, SISMEMBER s10 / s10k  the reads on the same sizes
#   HMGET h10k f__rand_int__ x20, SMISMEMBER s10k m__rand_int__ x20: 20 names a command on 10,000
#   ZMSCORE z10k m__rand_int__ x16 and x20: 16 and 20 names a command on a sorted set of 10,000
#   HRANDFIELD h10k, HRANDFIELD h10k 5 WITHVALUES, HRANDFIELD h10k -5: random fields of 10,000
# ONLY (a regular expression, default every row) picks the rows by name, e.g. ONLY='SPOP|SMOVE|17'.
# One line per run ("round server row req/s"), then the median of each row per server. Logs go to a
# fresh /tmp/collection-writes.* directory; every process started is stopped on exit (by PID).
# Only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-50}"
N_FAST="${N_FAST:-100000}"
N_SLOW="${N_SLOW:-10000}"
JAVA="${JAVA:-java}"
[[ -f "${BEFORE_JAR:-}" && -f "${AFTER_JAR:-}" ]] || { echo "set BEFORE_JAR and AFTER_JAR to two server jars" >&2; exit 2; }
for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "collection-writes-ab: $tool not found" >&2; exit 1; }
done

HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/collection-writes.XXXXXX)"
rport="$(free_port)"
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
PIDS+=("$!")
declare -A PORT=([redis]="$rport")
for server in before after; do
  jar="$BEFORE_JAR"
  if [[ "$server" == after ]]; then
    jar="$AFTER_JAR"
  fi
  port="$(free_port)"
  PORT[$server]="$port"
  # shellcheck disable=SC2086
  "$JAVA" -Xms512m -Xmx512m -XX:MaxDirectMemorySize=1g -XX:+UseG1GC -XX:MaxGCPauseMillis=50 -XX:+AlwaysPreTouch \
    -XX:+ExitOnOutOfMemoryError -Dio.netty.tryReflectionSetAccessible=true --add-opens=java.base/java.nio=ALL-UNNAMED \
    ${JAVA_OPTS:-} -jar "$jar" -addr "127.0.0.1:$port" >"$OUT/$server.out" 2>"$OUT/$server.err" &
  PIDS+=("$!")
done
for server in redis before after; do
  wait_ping "${PORT[$server]}" "${START_WAIT:-60}" || die "$server on port ${PORT[$server]} did not answer PING; see $OUT"
done
log "redis ${PORT[redis]}, before ${PORT[before]} ($BEFORE_JAR), after ${PORT[after]} ($AFTER_JAR); logs in $OUT"

# The collections, as RESP for redis-cli --pipe: names in redis-benchmark's __rand_int__ form.
python3 - "$OUT" <<'EOF'
import sys

def cmd(*args):
    out = "*%d\r\n" % len(args)
    for a in args:
        out += "$%d\r\n%s\r\n" % (len(a.encode()), a)
    return out

def chunks(key, verb, names, value=None, per=100):
    out = ""
    for i in range(0, len(names), per):
        args = [verb, key]
        for n in names[i:i + per]:
            args += [n, value] if value else [n]
        out += cmd(*args)
    return out

v = "v" * 20
with open(sys.argv[1] + "/fixed.resp", "w") as f:
    f.write(cmd("DEL", "h10", "h10k", "s10", "s10k"))
    f.write(chunks("h10", "HSET", ["f%012d" % i for i in range(10)], v))
    f.write(chunks("h10k", "HSET", ["f%012d" % i for i in range(10000)], v))
    f.write(chunks("s10", "SADD", ["m%012d" % i for i in range(10)]))
    f.write(chunks("s10k", "SADD", ["m%012d" % i for i in range(10000)]))
    f.write(cmd("DEL", "z10k"))
    for i in range(0, 10000, 100):
        f.write(cmd("ZADD", "z10k", *[a for j in range(i, i + 100) for a in (str(j), "m%012d" % j)]))
with open(sys.argv[1] + "/growth.resp", "w") as f:
    f.write(cmd("DEL", "sg10k"))
    f.write(chunks("sg10k", "SADD", ["x%012d" % i for i in range(7500)]))
    for k in range(1000):
        key = "sg:%012d" % k
        f.write(cmd("DEL", key))
        f.write(chunks(key, "SADD", ["x%d" % i for i in range(5)]))
with open(sys.argv[1] + "/shrink.resp", "w") as f:
    f.write(cmd("DEL", "hd10k", "sd10k"))
    f.write(chunks("hd10k", "HSET", ["f%012d" % i for i in range(10000)], v))
    f.write(chunks("sd10k", "SADD", ["m%012d" % i for i in range(10000)]))
with open(sys.argv[1] + "/pop.resp", "w") as f:
    f.write(cmd("DEL", "sp10k", "spn10k", "{mv}a", "{mv}b", "sr10k", "hr10k"))
    for key in ("sp10k", "spn10k", "{mv}a", "sr10k"):
        f.write(chunks(key, "SADD", ["m%012d" % i for i in range(10000)]))
    f.write(chunks("{mv}b", "SADD", ["y%012d" % i for i in range(10000)]))
    f.write(chunks("hr10k", "HSET", ["f%012d" % i for i in range(10000)], v))
with open(sys.argv[1] + "/relength.resp", "w") as f:
    f.write(cmd("DEL", "hl10k"))
    f.write(chunks("hl10k", "HSET", ["f%012d" % i for i in range(10000)], "v"))
EOF

load() { # port file
  redis-cli -h "$HOST" -p "$1" --pipe <"$OUT/$2" >>"$OUT/load.log" 2>&1 || die "loading $2 on port $1 failed; see $OUT/load.log"
}

V=vvvvvvvvvvvvvvvvvvvv
ROWS=(
  "HSET-10|HSET h10 f__rand_int__ $V|10|fast"
  "HSET-10k|HSET h10k f__rand_int__ $V|10000|slow"
  "SADD-10|SADD sg:__rand_int__ m__rand_int__|1000|10000"
  "SADD-10k|SADD sg10k m__rand_int__|100000000|5000"
  "HDEL-10k|HDEL hd10k f__rand_int__|10000|5000"
  "SREM-10k|SREM sd10k m__rand_int__|10000|5000"
  "HSETLEN-10k|HSET hl10k f__rand_int__ $V|10000|5000"
  "SPOP-10k|SPOP sp10k|10000|5000"
  "SPOP5-10k|SPOP spn10k 5|10000|1000"
  "SMOVE-10k|SMOVE {mv}a {mv}b m__rand_int__|10000|5000"
  "SREM17-10k|SREM sr10k$(printf ' m__rand_int__%.0s' {1..17})|10000|500"
  "HDEL17-10k|HDEL hr10k$(printf ' f__rand_int__%.0s' {1..17})|10000|500"
  "HGET-10|HGET h10 f__rand_int__|10|fast"
  "HGET-10k|HGET h10k f__rand_int__|10000|slow"
  "SISMEMBER-10|SISMEMBER s10 m__rand_int__|10|fast"
  "SISMEMBER-10k|SISMEMBER s10k m__rand_int__|10000|slow"
  "HMGET20-10k|HMGET h10k$(printf ' f__rand_int__%.0s' {1..20})|10000|slow"
  "SMISMEMBER20-10k|SMISMEMBER s10k$(printf ' m__rand_int__%.0s' {1..20})|10000|slow"
  "ZMSCORE16-10k|ZMSCORE z10k$(printf ' m__rand_int__%.0s' {1..16})|10000|slow"
  "ZMSCORE20-10k|ZMSCORE z10k$(printf ' m__rand_int__%.0s' {1..20})|10000|slow"
  "HRANDFIELD-10k|HRANDFIELD h10k|10000|slow"
  "HRANDFIELD5V-10k|HRANDFIELD h10k 5 WITHVALUES|10000|slow"
  "HRANDFIELDN5-10k|HRANDFIELD h10k -5|10000|slow"
)

run_row() { # server row-spec [requests] -> prints req/s
  local server="$1" spec="$2" name command r n
  IFS='|' read -r name command r n <<<"$spec"
  if [[ "$n" == fast || ("$n" == slow && "$server" == redis) ]]; then
    n="$N_FAST"
  elif [[ "$n" == slow ]]; then
    n="$N_SLOW"
  fi
  if [[ -n "${3:-}" ]]; then
    n="$3"
  fi
  if [[ "$name" == SADD-* ]]; then
    load "${PORT[$server]}" growth.resp
  elif [[ "$name" == HDEL-* || "$name" == SREM-* ]]; then
    load "${PORT[$server]}" shrink.resp
  elif [[ "$name" == SPOP* || "$name" == SMOVE-* || "$name" == *17-* ]]; then
    load "${PORT[$server]}" pop.resp
  elif [[ "$name" == HSETLEN-* ]]; then
    load "${PORT[$server]}" relength.resp
  fi
  # shellcheck disable=SC2086
  redis-benchmark -h "$HOST" -p "${PORT[$server]}" -c "$CLIENTS" -n "$n" -r "$r" -q $command 2>&1 | tr '\r' '\n' \
    | awk '/requests per second/ { for (i = 1; i <= NF; i++) if ($i == "requests") rps = $(i - 1) } END { print rps }'
}

SELECTED=()
for spec in "${ROWS[@]}"; do
  if [[ "${spec%%|*}" =~ ${ONLY:-.} ]]; then
    SELECTED+=("$spec")
  fi
done
ROWS=("${SELECTED[@]}")
for server in redis before after; do
  load "${PORT[$server]}" fixed.resp
done
log "warm-up"
for server in redis before after; do
  for spec in "${ROWS[@]}"; do
    run_row "$server" "$spec" 2000 >/dev/null
  done
done

ORDERS=("redis before after" "before after redis" "after redis before")
for round in $(seq "$ROUNDS"); do
  log "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for spec in "${ROWS[@]}"; do
    for server in ${ORDERS[$(((round - 1) % 3))]}; do
      echo "$round $server ${spec%%|*} $(run_row "$server" "$spec")" | tee -a "$OUT/runs.txt"
    done
  done
done
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT/runs.txt" <<'EOF'
import statistics, sys
rows, runs = [], {}
for line in open(sys.argv[1]):
    _, server, row, rps = line.split()
    if row not in rows:
        rows.append(row)
    runs.setdefault((server, row), []).append(float(rps))
print("%-14s %10s %10s %10s %8s %10s" % ("row", "redis", "before", "after", "a/b", "redis/a"))
for row in rows:
    m = {s: statistics.median(runs[(s, row)]) for s in ("redis", "before", "after")}
    print("%-14s %10.0f %10.0f %10.0f %8.2f %10.2f" % (row, m["redis"], m["before"], m["after"],
          m["after"] / m["before"], m["redis"] / m["after"]))
EOF
