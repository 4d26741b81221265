#!/usr/bin/env bash
# Point operations on one sorted set of 10,000 members (and the small-set rows beside them): Redis
# and a distcache node, already started, side by side, Redis first in each row (docs/BENCHMARKS.md,
# "Large sorted sets without decoding").
#
#   redis-server --port 7450 --save '' &
#   bin/distcache -addr 127.0.0.1:7451 &
#   REDIS_PORT=7450 NODE_PORT=7451 bench/zset-large.sh
#
# Options (environment): ROUNDS (2; the first warms the JIT up, both are printed), CLIENTS (50),
# N (20000: requests of the large-set rows), N_SMALL (100000), N_EDIT (3000: the ZREM, new-member
# ZADD, ZREMRANGEBYRANK and ZPOP rows), ONLY (a regular expression picking rows by name).
# The set bigz is loaded before each round with members m000000000000..m000000009999 scored 0..9999
# (the names redis-benchmark's __rand_int__ gives with -r 10000), then the rows run in this order
# (redis-benchmark -c CLIENTS -P 1 -q):
#   ZADD-small    -r 100000 ZADD z:__rand_int__ 1 m0123456789    100,000 small sorted sets
#   ZSCORE-small  -r 100000 ZSCORE z:__rand_int__ m0123456789
#   ZSCORE        -r 10000 ZSCORE bigz m__rand_int__             every member present
#   ZRANK         -r 10000 ZRANK bigz m__rand_int__
#   ZREVRANGE     ZREVRANGE bigz 0 9 WITHSCORES
#   ZADD          -r 10000 ZADD bigz __rand_int__ m__rand_int__  an existing member, a new score
#                                                                anywhere in 0..9999: it moves
#   ZINCRBY       -r 10000 ZINCRBY bigz 1 m__rand_int__          an existing member moved a little
#   ZREM          -r 10000 ZREM bigz m__rand_int__, N_EDIT commands: about 26% of the set removed
#   ZADD-new      -r 100000000 ZADD bigz __rand_int__ n__rand_int__, N_EDIT commands: new members
#   (bigz loaded again: the rows from here on were added by helper 159)
#   ZCOUNT        -r 10000 ZCOUNT bigz __rand_int__ +inf
#   ZLEXCOUNT     -r 10000 ZLEXCOUNT bigz [m__rand_int__ +
#   ZRANGEBYSCORE -r 10000 ZRANGEBYSCORE bigz __rand_int__ +inf WITHSCORES LIMIT 0 10
#   ZREVRANGEBYSCORE -r 10000 ZREVRANGEBYSCORE bigz __rand_int__ -inf WITHSCORES LIMIT 0 10
#   ZRANGEBYLEX   -r 10000 ZRANGEBYLEX bigz [m__rand_int__ + LIMIT 0 10  (lex on mixed scores: the
#                 members' order is their scores' here, as a range by lex assumes)
#   ZRANGE-BYSCORE-REV -r 10000 ZRANGE bigz +inf __rand_int__ BYSCORE REV LIMIT 5 10 WITHSCORES
#   ZRANDMEMBER   ZRANDMEMBER bigz
#   ZRANDMEMBER-10 ZRANDMEMBER bigz 10 WITHSCORES
#   ZREMRANGEBYSCORE-none ZREMRANGEBYSCORE bigz (5000 (5001    every score is an integer, so it
#                 removes nothing: the walk to the middle, no write
#   (bigz loaded again before each of the rows below: each removes N_EDIT members, 30% of the set)
#   ZREMRANGEBYRANK ZREMRANGEBYRANK bigz 5000 5000, N_EDIT commands: the middle member each
#   ZPOPMIN       ZPOPMIN bigz, N_EDIT commands
#   ZPOPMAX       ZPOPMAX bigz, N_EDIT commands
# Only 127.0.0.1 is contacted; nothing is started or stopped. Not run by CI.
set -euo pipefail

ROUNDS="${ROUNDS:-2}"
CLIENTS="${CLIENTS:-50}"
N="${N:-20000}"
N_SMALL="${N_SMALL:-100000}"
N_EDIT="${N_EDIT:-3000}"
ONLY="${ONLY:-.}"
[[ -n "${REDIS_PORT:-}" && -n "${NODE_PORT:-}" ]] || { echo "set REDIS_PORT and NODE_PORT" >&2; exit 2; }

load() {
  local port="$1"
  python3 - <<'EOF' | redis-cli -h 127.0.0.1 -p "$port" --pipe >/dev/null
import sys
def cmd(*a):
    return "*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a)
out = [cmd("DEL", "bigz")]
for i in range(0, 10000, 100):
    out.append(cmd("ZADD", "bigz", *[x for j in range(i, i + 100) for x in (str(j), "m%012d" % j)]))
sys.stdout.write("".join(out))
EOF
}

ROWS=(
  "ZADD-small|$N_SMALL|-r 100000 ZADD z:__rand_int__ 1 m0123456789"
  "ZSCORE-small|$N_SMALL|-r 100000 ZSCORE z:__rand_int__ m0123456789"
  "ZSCORE|$N|-r 10000 ZSCORE bigz m__rand_int__"
  "ZRANK|$N|-r 10000 ZRANK bigz m__rand_int__"
  "ZREVRANGE|$N|ZREVRANGE bigz 0 9 WITHSCORES"
  "ZADD|$N|-r 10000 ZADD bigz __rand_int__ m__rand_int__"
  "ZINCRBY|$N|-r 10000 ZINCRBY bigz 1 m__rand_int__"
  "ZREM|$N_EDIT|-r 10000 ZREM bigz m__rand_int__"
  "ZADD-new|$N_EDIT|-r 100000000 ZADD bigz __rand_int__ n__rand_int__"
  "LOAD"
  "ZCOUNT|$N|-r 10000 ZCOUNT bigz __rand_int__ +inf"
  "ZLEXCOUNT|$N|-r 10000 ZLEXCOUNT bigz [m__rand_int__ +"
  "ZRANGEBYSCORE|$N|-r 10000 ZRANGEBYSCORE bigz __rand_int__ +inf WITHSCORES LIMIT 0 10"
  "ZREVRANGEBYSCORE|$N|-r 10000 ZREVRANGEBYSCORE bigz __rand_int__ -inf WITHSCORES LIMIT 0 10"
  "ZRANGEBYLEX|$N|-r 10000 ZRANGEBYLEX bigz [m__rand_int__ + LIMIT 0 10"
  "ZRANGE-BYSCORE-REV|$N|-r 10000 ZRANGE bigz +inf __rand_int__ BYSCORE REV LIMIT 5 10 WITHSCORES"
  "ZRANDMEMBER|$N|ZRANDMEMBER bigz"
  "ZRANDMEMBER-10|$N|ZRANDMEMBER bigz 10 WITHSCORES"
  "ZREMRANGEBYSCORE-none|$N|ZREMRANGEBYSCORE bigz (5000 (5001"
  "LOAD"
  "ZREMRANGEBYRANK|$N_EDIT|ZREMRANGEBYRANK bigz 5000 5000"
  "LOAD"
  "ZPOPMIN|$N_EDIT|ZPOPMIN bigz"
  "LOAD"
  "ZPOPMAX|$N_EDIT|ZPOPMAX bigz"
)

for round in $(seq "$ROUNDS"); do
  for server in redis node; do
    port="$REDIS_PORT"
    [[ "$server" == node ]] && port="$NODE_PORT"
    load "$port"
  done
  echo "round $round, $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), bigz: $(redis-cli -p "$REDIS_PORT" ZCARD bigz) / $(redis-cli -p "$NODE_PORT" ZCARD bigz)"
  for row in "${ROWS[@]}"; do
    if [[ "$row" == LOAD ]]; then # the removing rows start from the full set again
      load "$REDIS_PORT"
      load "$NODE_PORT"
      continue
    fi
    IFS='|' read -r name n args <<<"$row"
    [[ "$name" =~ $ONLY ]] || continue
    line="$name"
    for server in redis node; do
      port="$REDIS_PORT"
      [[ "$server" == node ]] && port="$NODE_PORT"
      # shellcheck disable=SC2086
      rps="$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -P 1 -q -n "$n" $args 2>/dev/null \
        | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)"
      line="$line $server=${rps:-?}"
    done
    echo "$line (bigz: $(redis-cli -p "$REDIS_PORT" ZCARD bigz) / $(redis-cli -p "$NODE_PORT" ZCARD bigz))"
  done
done
