#!/usr/bin/env bash
# distcache side by side with Redis, on this machine, over loopback only.
#
#   bench/redis-compare.sh                 # everything: throughput/latency, memory, cluster (~6-9 min)
#   PARTS="throughput" bench/redis-compare.sh
#   ROUNDS=1 PARTS="throughput memory" bench/redis-compare.sh
#
# What it does (docs/BENCHMARKS.md, "Side by side with Redis", explains how to read the output):
#   1. throughput: one redis-server and one distcache node (bin/distcache with its defaults) on free
#      loopback ports; a discarded warm-up run against each; then ROUNDS rounds that alternate
#      Redis and distcache for each of (-c 50 -P 1), (-c 50 -P 16), (-c 1 -P 1) with
#      `redis-benchmark -t set,get -d 100 -r 1000000`; prints the medians and distcache/Redis ratios.
#   2. memory: fresh instances; 1,000,000 SETs (16-byte keys, 100-byte values) through
#      `redis-cli --pipe`; RSS growth per entry (VmRSS before/after) and INFO used_memory per entry.
#   3. cluster: three distcache nodes (the seed, then two with -join); redis-benchmark through one
#      node (so two keys in three are forwarded) and the Java LoadTool with the smart client.
#      Skipped, saying so, when the build has no cluster layer (INFO cluster: cluster_enabled:0).
#
# Environment (all optional): ROUNDS (3), PARTS ("throughput memory cluster"), CONFIGS (the
# throughput cells, "c50-P1 c50-P16 c1-P1"), N_P1 (300000),
# N_P16 (2000000), N_C1 (60000), MEM_ENTRIES (1000000), OUT (a directory for logs and raw CSV,
# default a fresh temporary one), DISTCACHE_JAVA_OPTS (passed to every node, e.g. a JFR recording).
#
# Every process it starts is stopped on exit (by PID). Nothing but 127.0.0.1 is ever contacted.
# Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
PARTS="${PARTS:-throughput memory cluster}"
CONFIGS="${CONFIGS:-c50-P1 c50-P16 c1-P1}"
N_P1="${N_P1:-300000}"
N_P16="${N_P16:-2000000}"
N_C1="${N_C1:-60000}"
MEM_ENTRIES="${MEM_ENTRIES:-1000000}"
OUT="${OUT:-$(mktemp -d /tmp/redis-compare.XXXXXX)}"
HOST=127.0.0.1
# The whole script's budget; each step also has its own timeout.
DEADLINE=$((SECONDS + ${BUDGET_SECONDS:-600}))
mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

check_budget() {
  ((SECONDS < DEADLINE)) || die "time budget exhausted after $SECONDS s (BUDGET_SECONDS)"
}

# ---- tools -----------------------------------------------------------------------------------

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
  log "installing redis-server and redis-tools with apt-get"
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y redis-server redis-tools >&2 || die "cannot install redis-server/redis-tools"
fi

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

info_field() { # port field
  timeout 10 redis-cli -h "$HOST" -p "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

start_redis() { # port -> PID in REDIS_PID
  redis-server --bind "$HOST" --port "$1" --save '' --appendonly no --protected-mode yes \
    --daemonize no --logfile "$OUT/redis-$1.log" --dir "$OUT" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_ping "$1" 20 || die "redis-server on port $1 did not answer PING"
}

start_node() { # port [extra args...] -> PID in NODE_PID
  local port="$1"
  shift
  "$ROOT/bin/distcache" -addr "$HOST:$port" "$@" >"$OUT/distcache-$port.out" 2>"$OUT/distcache-$port.err" &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  # The launcher execs the JVM, so NODE_PID is the JVM itself (its RSS is the node's).
  wait_ping "$port" 120 || die "distcache on port $port did not start; see $OUT/distcache-$port.err"
}

# Builds what is missing up front, so build time never lands inside a measurement.
prepare_builds() {
  log "building the server and benchmark jars when needed"
  local jar
  jar="$(ls -t "$ROOT"/distcache-benchmarks/target/benchmarks.jar 2>/dev/null | head -n 1 || true)"
  if [[ -z "$jar" ]] || [[ -n "$(find "$ROOT"/distcache-*/src/main -type f -newer "$jar" -print -quit)" ]]; then
    (cd "$ROOT" && ./mvnw -B -q -DskipTests -pl distcache-server,distcache-benchmarks -am package) >&2 \
      || die "build failed"
  fi
}

# ---- throughput and latency ------------------------------------------------------------------

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks

# redis-benchmark runs of SET then GET; appends "server,config,round,test,rps,p50,p99,cpu_us_per_op"
# lines to $OUT/runs.csv. The server's CPU time per request (from /proc/PID/stat around the run)
# is the steadier figure on a shared machine: it does not count the time spent waiting for a core.
bench() { # server port pid config round clients pipeline requests
  local server="$1" port="$2" pid="$3" config="$4" round="$5" c="$6" p="$7" n="$8" t t0 t1 f
  local hz
  hz="$(getconf CLK_TCK)"
  for t in set get; do
    f="$OUT/rb-$server-$config-$round-$t.csv"
    t0="$(cpu_ticks "$pid")"
    timeout 120 redis-benchmark -h "$HOST" -p "$port" -t "$t" -d 100 -r 1000000 -n "$n" -c "$c" -P "$p" --csv \
      >"$f" 2>/dev/null || die "redis-benchmark against $server ($config $t) failed or timed out"
    t1="$(cpu_ticks "$pid")"
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    tr -d '"' <"$f" | awk -F, -v s="$server" -v c="$config" -v r="$round" -v cpu="$(((t1 - t0) * 1000000 / hz))" -v n="$n" \
      'NR > 1 && ($1 == "SET" || $1 == "GET") { printf "%s,%s,%s,%s,%s,%s,%s,%.2f\n", s, c, r, $1, $2, $5, $7, cpu / n }' >>"$OUT/runs.csv"
  done
}

throughput() {
  local rport dport r order cfg c p n
  rport="$(free_port)"
  dport="$(free_port)"
  start_redis "$rport"
  start_node "$dport"
  log "Redis pid $REDIS_PID on $HOST:$rport; distcache pid $NODE_PID on $HOST:$dport ($(head -n 1 "$OUT/distcache-$dport.out"))"
  log "warm-up (discarded): JIT compilation, pools and the young generation"
  timeout 120 redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
  timeout 120 redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 1000000 -n "$N_P1" -c 50 -P 1 -q >/dev/null 2>&1 || true
  timeout 120 redis-benchmark -h "$HOST" -p "$rport" -t set,get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
  : >"$OUT/runs.csv"
  for r in $(seq "$ROUNDS"); do
    for cfg in $CONFIGS; do
      check_budget
      case "$cfg" in
        c50-P1) c=50 p=1 n="$N_P1" ;;
        c50-P16) c=50 p=16 n="$N_P16" ;;
        c1-P1) c=1 p=1 n="$N_C1" ;;
      esac
      # Alternate who goes first, so a slow minute on the machine does not always hit one side.
      if ((r % 2 == 1)); then order="redis distcache"; else order="distcache redis"; fi
      for s in $order; do
        log "round $r/$ROUNDS $cfg $s"
        if [[ "$s" == redis ]]; then
          bench redis "$rport" "$REDIS_PID" "$cfg" "$r" "$c" "$p" "$n"
        else
          bench distcache "$dport" "$NODE_PID" "$cfg" "$r" "$c" "$p" "$n"
        fi
      done
    done
  done
  log "distcache INFO after the runs: used_memory=$(info_field "$dport" used_memory) keys=$(timeout 5 redis-cli -h "$HOST" -p "$dport" DBSIZE)"
  stop "$NODE_PID"
  stop "$REDIS_PID"
  print_table "$OUT/runs.csv"
}

print_table() { # runs.csv
  echo
  echo "## redis-benchmark -t set,get -d 100 -r 1000000: medians of $ROUNDS alternating runs"
  echo
  echo "| clients x pipeline | test | Redis req/s | distcache req/s | ratio | Redis p50 ms | distcache p50 ms | Redis p99 ms | distcache p99 ms | p99 ratio | Redis CPU µs/req | distcache CPU µs/req |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F, '
    function median(key,   n, i, j, t, a) {
      n = split(vals[key], a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { for (f = 5; f <= 8; f++) { k = $1 SUBSEP $2 SUBSEP $4 SUBSEP f; vals[k] = (k in vals ? vals[k] " " : "") $f } }
    END {
      split("c50-P1 c50-P16 c1-P1", cfgs, " ")
      split("SET GET", tests, " ")
      for (ci = 1; ci <= 3; ci++) for (ti = 1; ti <= 2; ti++) {
        c = cfgs[ci]; t = tests[ti]
        if (!(("redis" SUBSEP c SUBSEP t SUBSEP 5) in vals) || !(("distcache" SUBSEP c SUBSEP t SUBSEP 5) in vals)) continue
        rr = median("redis" SUBSEP c SUBSEP t SUBSEP 5); dr = median("distcache" SUBSEP c SUBSEP t SUBSEP 5)
        r50 = median("redis" SUBSEP c SUBSEP t SUBSEP 6); d50 = median("distcache" SUBSEP c SUBSEP t SUBSEP 6)
        r99 = median("redis" SUBSEP c SUBSEP t SUBSEP 7); d99 = median("distcache" SUBSEP c SUBSEP t SUBSEP 7)
        rcpu = median("redis" SUBSEP c SUBSEP t SUBSEP 8); dcpu = median("distcache" SUBSEP c SUBSEP t SUBSEP 8)
        label = c; sub(/-P/, " x P", label); sub(/^c/, "", label)
        printf "| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n", label, t, rr, dr, dr / rr, r50, d50, r99, d99, (r99 > 0 ? d99 / r99 : 0), rcpu, dcpu
      }
    }' "$1"
  echo
  echo "(ratio: distcache/Redis requests per second, higher is better; p99 ratio: distcache/Redis, lower is better; CPU: the server process's user+system time per request. Raw runs: $1)"
}

# ---- memory per entry ------------------------------------------------------------------------

# RESP for MEM_ENTRIES SETs: 16-byte keys "mem:%012d", 100-byte values that differ per key.
resp_stream() {
  awk -v n="$MEM_ENTRIES" 'BEGIN {
    pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
    for (i = 0; i < n; i++) {
      k = sprintf("mem:%012d", i)
      v = sprintf("%012d", i) substr(pad, 1, 88)
      printf "*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$100\r\n%s\r\n", k, v
    }
  }'
}

memory_one() { # name port pid
  local name="$1" port="$2" pid="$3" rss0 rss1 used0 used1 keys
  # Request garbage first (GETs of absent keys, no entries stored): the JVM touches its young
  # generation and Netty its pools, so the growth measured next is the entries' and not start-up's.
  timeout 120 redis-benchmark -h "$HOST" -p "$port" -t get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
  sleep 1
  rss0="$(rss_kb "$pid")"
  used0="$(info_field "$port" used_memory)"
  resp_stream | timeout 180 redis-cli -h "$HOST" -p "$port" --pipe >"$OUT/pipe-$name.log" 2>&1 \
    || die "redis-cli --pipe into $name failed; see $OUT/pipe-$name.log"
  sleep 2
  rss1="$(rss_kb "$pid")"
  used1="$(info_field "$port" used_memory)"
  keys="$(timeout 10 redis-cli -h "$HOST" -p "$port" DBSIZE)"
  echo "$name,$keys,$rss0,$rss1,$used0,$used1" >>"$OUT/memory.csv"
  log "$name: $keys keys, VmRSS ${rss0} kB -> ${rss1} kB, used_memory $used0 -> $used1"
}

memory() {
  local rport dport
  : >"$OUT/memory.csv"
  rport="$(free_port)"
  start_redis "$rport"
  memory_one redis "$rport" "$REDIS_PID"
  stop "$REDIS_PID"
  check_budget
  dport="$(free_port)"
  start_node "$dport"
  memory_one distcache "$dport" "$NODE_PID"
  stop "$NODE_PID"
  check_budget
  echo
  echo "## Memory: $MEM_ENTRIES SETs, 16-byte keys, 100-byte values (redis-cli --pipe)"
  echo
  echo "| server | keys | RSS before the load MiB | RSS growth bytes/entry | used_memory bytes/entry |"
  echo "|---|---:|---:|---:|---:|"
  awk -F, '{ rss = ($4 - $3) * 1024 / $2; used = ($6 - $5) / $2; r[$1] = rss; u[$1] = used
             printf "| %s | %d | %.0f | %.1f | %.1f |\n", $1, $2, $3 / 1024, rss, used }
           END { if (r["redis"] > 0) for (k in r) if (k != "redis") printf "\n(%s/Redis: RSS growth %.2f, used_memory %.2f)", k, r[k] / r["redis"], u[k] / u["redis"]; print "" }' \
    "$OUT/memory.csv"
}

# ---- cluster ---------------------------------------------------------------------------------

cluster() {
  local p1 p2 p3 pid1 pid2 pid3 enabled alive end
  p1="$(free_port)"
  p2="$(free_port)"
  p3="$(free_port)"
  start_node "$p1"
  pid1="$NODE_PID"
  enabled="$(info_field "$p1" cluster_enabled)"
  if [[ "$enabled" != 1 ]]; then
    echo
    echo "## Cluster: skipped"
    echo
    echo "INFO cluster on a node shows cluster_enabled:${enabled:-<missing>}: this build has no cluster layer"
    echo "(it arrives with the cluster branch), so there is nothing to forward or route to."
    stop "$pid1"
    return
  fi
  start_node "$p2" -join "$HOST:$p1"
  pid2="$NODE_PID"
  start_node "$p3" -join "$HOST:$p1"
  pid3="$NODE_PID"
  end=$((SECONDS + 60))
  alive=0
  while ((SECONDS < end)); do
    alive="$(info_field "$p1" cluster_alive_nodes)"
    [[ "$alive" == 3 && "$(info_field "$p2" cluster_alive_nodes)" == 3 && "$(info_field "$p3" cluster_alive_nodes)" == 3 ]] && break
    sleep 0.5
  done
  [[ "$alive" == 3 ]] || die "the three nodes did not see each other within 60 s (cluster_alive_nodes=$alive)"
  log "cluster of 3 on ports $p1 $p2 $p3"
  timeout 120 redis-benchmark -h "$HOST" -p "$p1" -t set,get -d 100 -r 1000000 -n "$N_P1" -c 50 -P 16 -q >/dev/null 2>&1 || true
  : >"$OUT/cluster.csv"
  bench cluster-forwarding "$p1" "$pid1" c50-P1 1 50 1 "$N_P1"
  bench cluster-forwarding "$p1" "$pid1" c50-P16 1 50 16 "$N_P16"
  echo
  echo "## Cluster: 3 local nodes, redis-benchmark -t set,get -d 100 -r 1000000 through one node"
  echo
  echo "| clients x pipeline | test | req/s | p50 ms | p99 ms | CPU µs/req (the node hit) |"
  echo "|---|---|---:|---:|---:|---:|"
  awk -F, '$1 == "cluster-forwarding" { c = $2; sub(/-P/, " x P", c); sub(/^c/, "", c); printf "| %s | %s | %.0f | %.3f | %.3f | %.2f |\n", c, $4, $5, $6, $7, $8 }' "$OUT/runs.csv"
  echo
  echo "(two keys in three belong to another node and take one forwarding hop)"
  check_budget
  echo
  echo "## Cluster: Java LoadTool with the smart client (routes each key to its owner)"
  echo
  local jdk
  jdk="$(ls -d /usr/lib/jvm/temurin-25* /usr/lib/jvm/java-17* 2>/dev/null | head -n 1)/bin/java"
  [[ -x "$jdk" ]] || jdk=java
  for gr in 0.9; do
    timeout 120 "$jdk" -cp "$ROOT/distcache-benchmarks/target/benchmarks.jar" io.distcache.benchmarks.LoadTool \
      --addr "$HOST:$p1" --connections 2 --pipeline 16 --value-size 100 --get-ratio "$gr" --keys 100000 \
      --duration 10 --warmup 3 2>"$OUT/loadtool.err" | sed 's/^/    /' || log "LoadTool failed; see $OUT/loadtool.err"
  done
  stop "$pid3"
  stop "$pid2"
  stop "$pid1"
}

# ---- main ------------------------------------------------------------------------------------

prepare_builds
log "output and raw data in $OUT; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# redis-compare $(date -u +%Y-%m-%dT%H:%MZ): $(redis-server --version | cut -d' ' -f1-3), $(nproc) cores"
for part in $PARTS; do
  case "$part" in
    throughput) throughput ;;
    memory) memory ;;
    cluster) cluster ;;
    *) die "unknown part '$part' (expected throughput, memory, cluster)" ;;
  esac
done
log "done in $SECONDS s"
