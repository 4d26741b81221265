#!/usr/bin/env bash
# distcache side by side with Redis, on this machine, over loopback only.
#
#   bench/redis-compare.sh                 # everything: throughput/latency, memory, cluster (~6-9 min)
#   PARTS="throughput" bench/redis-compare.sh
#   ROUNDS=1 PARTS="throughput memory" bench/redis-compare.sh
#   bench/redis-compare.sh --sizes 1024,4096,16384,65536,262144,1048576   # the value-size table only
#   PARTS="largemem" bench/redis-compare.sh   # RSS holding, then deleting, large values
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
#   4. sizes (issue 16; run by --sizes, or PARTS="sizes"): for each value size in SIZES, fresh keys
#      (FLUSHALL on both servers first) and `redis-benchmark -t set,get -c 50 -r 10000 -d SIZE`
#      at P1, and at P16 up to 16 KiB; fewer requests for larger values (SIZE_BYTES, default 512 MiB
#      a cell, between 1,000 and 60,000 requests) so each cell takes a few seconds; a discarded
#      warm-up of the node's JIT at 100 bytes (SIZE_WARMUP), then one per size; ROUNDS alternating
#      rounds; prints ratios and p99s per size.
#   5. largemem (PARTS="largemem"): fresh instances; LARGEMEM sets of N keys of SIZE bytes each
#      ("10000x65536 1000x1048576") through `redis-cli --pipe`, then every key DELeted; VmRSS before,
#      after the load, and 2 s and 10 s after the deletes, and INFO used_memory. NODES compares
#      launcher settings there: nodes named and configured in turn, one after the other against the
#      same Redis figures, e.g. NODES="before:DISTCACHE_HEAP=512m;after:" (entries separated by ';',
#      each NAME:ASSIGNMENTS, the assignments read as shell words and put in the node's environment).
#
# Environment (all optional): ROUNDS (3), PARTS ("throughput memory cluster"), CONFIGS (the
# throughput cells, "c50-P1 c50-P16 c1-P1"), N_P1 (300000),
# N_P16 (2000000), N_C1 (60000), MEM_ENTRIES (1000000), SIZES (1024,4096,16384,65536,262144,1048576),
# SIZE_BYTES (536870912), SIZE_WARMUP (1000000: 100-byte requests warming the node's JIT before the sizes), LARGEMEM ("10000x65536 1000x1048576"), NODES (largemem only, "distcache:"),
# OUT (a directory for logs and raw CSV, default a fresh temporary one), DISTCACHE_JAVA_OPTS (passed
# to every node, e.g. a JFR recording), PORT_RANGE (e.g. 7820-7839: every server's port from that
# range, see bench/lib.sh), PIN (1: every server on CPU 0 and redis-benchmark on CPU 1 with taskset,
# so the two never compete for a core: steadier figures on a 2-core machine, and Redis and distcache
# each get one core).
#
# Every process it starts is stopped on exit (by PID). Nothing but 127.0.0.1 is ever contacted.
# Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
while (($# > 0)); do
  case "$1" in
    --sizes)
      (($# >= 2)) || { echo "redis-compare: --sizes needs a list, e.g. --sizes 1024,65536" >&2; exit 2; }
      [[ "$2" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "redis-compare: --sizes takes byte counts separated by commas, got '$2'" >&2; exit 2; }
      SIZES="$2"
      PARTS="${PARTS:-sizes}"
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "redis-compare: unknown argument '$1' (expected --sizes LIST or --help)" >&2; exit 2 ;;
  esac
done
SIZES="${SIZES:-1024,4096,16384,65536,262144,1048576}"
SIZE_BYTES="${SIZE_BYTES:-536870912}"
SIZE_WARMUP="${SIZE_WARMUP:-1000000}"
LARGEMEM="${LARGEMEM:-10000x65536 1000x1048576}"
ROUNDS="${ROUNDS:-3}"
PARTS="${PARTS:-throughput memory cluster}"
CONFIGS="${CONFIGS:-c50-P1 c50-P16 c1-P1}"
N_P1="${N_P1:-300000}"
N_P16="${N_P16:-2000000}"
N_C1="${N_C1:-60000}"
MEM_ENTRIES="${MEM_ENTRIES:-1000000}"
OUT="${OUT:-$(mktemp -d /tmp/redis-compare.XXXXXX)}"
SERVER_CPU=() LOAD_CPU=()
if [[ "${PIN:-0}" == 1 ]]; then SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1); fi
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
  "${SERVER_CPU[@]}" redis-server --bind "$HOST" --port "$1" --save '' --appendonly no --protected-mode yes \
    --daemonize no --logfile "$OUT/redis-$1.log" --dir "$OUT" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_ping "$1" 20 || die "redis-server on port $1 did not answer PING"
}

NODE_ENV=() # VAR=VALUE words for the next start_node (largemem's NODES)
start_node() { # port [extra args...] -> PID in NODE_PID
  local port="$1"
  shift
  env ${NODE_ENV[@]+"${NODE_ENV[@]}"} "${SERVER_CPU[@]}" "$ROOT/bin/distcache" -addr "$HOST:$port" "$@" >"$OUT/distcache-$port.out" 2>"$OUT/distcache-$port.err" &
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
    timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$port" -t "$t" -d "${BENCH_D:-100}" -r "${BENCH_R:-1000000}" -n "$n" -c "$c" -P "$p" --csv \
      >"$f" 2>/dev/null || die "redis-benchmark against $server ($config $t) failed or timed out"
    t1="$(cpu_ticks "$pid")"
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    tr -d '"' <"$f" | awk -F, -v s="$server" -v c="$config" -v r="$round" -v cpu="$(((t1 - t0) * 1000000 / hz))" -v n="$n" \
      'NR > 1 && ($1 == "SET" || $1 == "GET") { printf "%s,%s,%s,%s,%s,%s,%s,%.2f\n", s, c, r, $1, $2, $5, $7, cpu / n }' >>"${RUNS_CSV:-$OUT/runs.csv}"
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
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 1000000 -n "$N_P1" -c 50 -P 1 -q >/dev/null 2>&1 || true
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$rport" -t set,get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
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
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$port" -t get -d 100 -r 1000000 -n "$N_P16" -c 50 -P 16 -q >/dev/null 2>&1 || true
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
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$p1" -t set,get -d 100 -r 1000000 -n "$N_P1" -c 50 -P 16 -q >/dev/null 2>&1 || true
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

# ---- value sizes (issue 16) ------------------------------------------------------------------

size_requests() { # size pipeline -> requests for one cell
  local n=$((SIZE_BYTES / $1))
  ((n > 60000)) && n=60000
  ((n < 1000)) && n=1000
  (($2 > 1)) && n=$((n * 2))
  echo "$n"
}

sizes() {
  local rport dport r order size p n cfg s
  rport="$(free_port)"
  dport="$(free_port)"
  start_redis "$rport"
  start_node "$dport"
  log "Redis pid $REDIS_PID on $HOST:$rport; distcache pid $NODE_PID on $HOST:$dport ($(head -n 1 "$OUT/distcache-$dport.out"))"
  # The node's JIT first (discarded, as the throughput part's warm-up): without it the first size's
  # cells measured compilation (a 1 KiB SET cost 15.7 µs of CPU in round 1, 8.2-8.5 in rounds 2-3).
  log "warm-up (discarded): JIT compilation, 100-byte SET and GET at P16 and P1"
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 100000 -n "$SIZE_WARMUP" -c 50 -P 16 -q >/dev/null 2>&1 || true
  timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$dport" -t set,get -d 100 -r 100000 -n "$((SIZE_WARMUP / 4))" -c 50 -P 1 -q >/dev/null 2>&1 || true
  : >"$OUT/sizes.csv"
  for size in ${SIZES//,/ }; do
    check_budget
    for port in "$rport" "$dport"; do
      timeout 30 redis-cli -h "$HOST" -p "$port" FLUSHALL >/dev/null || die "FLUSHALL on port $port failed"
    done
    # Warm-up (discarded): fills the 10,000 keys at this size, JIT and pools.
    n="$(size_requests "$size" 1)"
    for port in "$dport" "$rport"; do
      timeout 120 "${LOAD_CPU[@]}" redis-benchmark -h "$HOST" -p "$port" -t set,get -d "$size" -r 10000 -n "$((n / 2))" -c 50 -P 1 -q >/dev/null 2>&1 || true
    done
    for r in $(seq "$ROUNDS"); do
      for p in 1 16; do
        ((p == 1 || size <= 16384)) || continue
        n="$(size_requests "$size" "$p")"
        cfg="$size-c50-P$p"
        if ((r % 2 == 1)); then order="redis distcache"; else order="distcache redis"; fi
        for s in $order; do
          log "size $size round $r/$ROUNDS P$p $s ($n requests; load $(cut -d' ' -f1 /proc/loadavg))"
          if [[ "$s" == redis ]]; then
            RUNS_CSV="$OUT/sizes.csv" BENCH_D="$size" BENCH_R=10000 bench redis "$rport" "$REDIS_PID" "$cfg" "$r" 50 "$p" "$n"
          else
            RUNS_CSV="$OUT/sizes.csv" BENCH_D="$size" BENCH_R=10000 bench distcache "$dport" "$NODE_PID" "$cfg" "$r" 50 "$p" "$n"
          fi
        done
      done
    done
    log "after $size: RSS Redis $(($(rss_kb "$REDIS_PID") / 1024)) MiB, distcache $(($(rss_kb "$NODE_PID") / 1024)) MiB"
  done
  stop "$NODE_PID"
  stop "$REDIS_PID"
  print_sizes_table "$OUT/sizes.csv"
}

print_sizes_table() { # sizes.csv
  echo
  echo "## Value sizes: redis-benchmark -t set,get -c 50 -r 10000 -d SIZE, medians of $ROUNDS alternating runs (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
  echo
  echo "| value bytes | pipeline | test | requests | Redis req/s | distcache req/s | ratio | Redis p99 ms | distcache p99 ms | p99 ratio | Redis CPU µs/req | distcache CPU µs/req |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F, -v sizes="$SIZES" -v budget="$SIZE_BYTES" '
    function median(key,   n, i, j, t, a) {
      n = split(vals[key], a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { for (f = 5; f <= 8; f++) { k = $1 SUBSEP $2 SUBSEP $4 SUBSEP f; vals[k] = (k in vals ? vals[k] " " : "") $f } }
    END {
      ns = split(sizes, sz, ",")
      split("SET GET", tests, " ")
      for (si = 1; si <= ns; si++) for (p = 1; p <= 16; p += 15) for (ti = 1; ti <= 2; ti++) {
        c = sz[si] "-c50-P" p; t = tests[ti]
        if (!(("redis" SUBSEP c SUBSEP t SUBSEP 5) in vals) || !(("distcache" SUBSEP c SUBSEP t SUBSEP 5) in vals)) continue
        n = int(budget / sz[si]); if (n > 60000) n = 60000; if (n < 1000) n = 1000; if (p > 1) n *= 2
        rr = median("redis" SUBSEP c SUBSEP t SUBSEP 5); dr = median("distcache" SUBSEP c SUBSEP t SUBSEP 5)
        r99 = median("redis" SUBSEP c SUBSEP t SUBSEP 7); d99 = median("distcache" SUBSEP c SUBSEP t SUBSEP 7)
        rcpu = median("redis" SUBSEP c SUBSEP t SUBSEP 8); dcpu = median("distcache" SUBSEP c SUBSEP t SUBSEP 8)
        printf "| %d | %d | %s | %d | %.0f | %.0f | %.2f | %.3f | %.3f | %.2f | %.1f | %.1f |\n", sz[si], p, t, n, rr, dr, dr / rr, r99, d99, (r99 > 0 ? d99 / r99 : 0), rcpu, dcpu
      }
    }' "$1"
  echo
  echo "(ratio: distcache/Redis requests per second, higher is better; p99 ratio: lower is better; CPU: the server's user+system time per request. Raw runs: $OUT/sizes.csv)"
}

# ---- RSS with large values (issue 16) --------------------------------------------------------

# RESP for COUNT commands on keys "big:%012d": SET with SIZE-byte values (that differ per key), or DEL.
large_stream() { # set|del count size
  awk -v op="$1" -v n="$2" -v size="$3" 'BEGIN {
    v = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while (length(v) < size) v = v v
    v = substr(v, 13, size - 12)
    for (i = 0; i < n; i++) {
      k = sprintf("big:%012d", i)
      if (op == "set") printf "*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$%d\r\n%012d%s\r\n", k, size, i, v
      else printf "*2\r\n$3\r\nDEL\r\n$16\r\n%s\r\n", k
    }
  }'
}

largemem_one() { # name port pid count size
  local name="$1" port="$2" pid="$3" count="$4" size="$5" rss0 rss1 rss2 rss3 used1 used2 keys
  rss0="$(rss_kb "$pid")"
  large_stream set "$count" "$size" | timeout 300 redis-cli -h "$HOST" -p "$port" --pipe >"$OUT/largemem-$name.log" 2>&1 \
    || die "redis-cli --pipe into $name failed; see $OUT/largemem-$name.log"
  sleep 2
  rss1="$(rss_kb "$pid")"
  used1="$(info_field "$port" used_memory)"
  keys="$(timeout 10 redis-cli -h "$HOST" -p "$port" DBSIZE)"
  large_stream del "$count" "$size" | timeout 300 redis-cli -h "$HOST" -p "$port" --pipe >>"$OUT/largemem-$name.log" 2>&1 \
    || die "redis-cli --pipe (DEL) into $name failed; see $OUT/largemem-$name.log"
  sleep 2
  rss2="$(rss_kb "$pid")"
  used2="$(info_field "$port" used_memory)"
  sleep 8
  rss3="$(rss_kb "$pid")"
  echo "$name,$count,$size,$keys,$rss0,$rss1,$rss2,$rss3,$used1,$used2" >>"$OUT/largemem.csv"
  log "$name ${count}x$size: $keys keys, VmRSS ${rss0} -> ${rss1} kB, after DEL ${rss2} kB (2 s), ${rss3} kB (10 s); used_memory $used1 -> $used2"
}

largemem() {
  local spec count size rport dport node name
  local -a nodes
  IFS=';' read -r -a nodes <<<"${NODES:-distcache:}"
  : >"$OUT/largemem.csv"
  for spec in $LARGEMEM; do
    count="${spec%x*}"
    size="${spec#*x}"
    check_budget
    rport="$(free_port)"
    start_redis "$rport"
    largemem_one redis "$rport" "$REDIS_PID" "$count" "$size"
    stop "$REDIS_PID"
    for node in "${nodes[@]}"; do
      name="${node%%:*}"
      [[ -n "$name" && "$name" != redis && "$name" =~ ^[A-Za-z0-9_.=-]+$ ]] \
        || die "NODES entry '$node': expected NAME:ASSIGNMENTS with a NAME of letters, digits, '_.=-' other than redis"
      # The operator's own words, e.g. DISTCACHE_JAVA_OPTS='-Xms32m -Xmx128m': quoting is kept.
      eval "NODE_ENV=(${node#*:})"
      check_budget
      dport="$(free_port)"
      start_node "$dport"
      log "$name: $(head -n 1 "$OUT/distcache-$dport.out") with ${NODE_ENV[*]:-no settings of its own}"
      largemem_one "$name" "$dport" "$NODE_PID" "$count" "$size"
      stop "$NODE_PID"
      NODE_ENV=()
    done
  done
  echo
  echo "## RSS with large values: COUNT SETs of SIZE bytes (redis-cli --pipe), then every key DELeted (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "| values | server | keys | RSS at start MiB | RSS loaded MiB | used_memory MiB | RSS 2 s after DEL MiB | RSS 10 s after DEL MiB | loaded RSS / Redis | RSS growth / Redis's |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F, '{ k = $2 "x" $3; if ($1 == "redis") { red[k] = $6; redgrowth[k] = $6 - $5 } }
           { rows[NR] = $0 }
           END { for (i = 1; i <= NR; i++) { split(rows[i], f, ","); k = f[2] "x" f[3]
                 printf "| %d x %d B | %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |\n", f[2], f[3], f[1], f[4], f[5] / 1024, f[6] / 1024, f[9] / 1048576, f[7] / 1024, f[8] / 1024, (red[k] > 0 ? f[6] / red[k] : 0), (redgrowth[k] > 0 ? (f[6] - f[5]) / redgrowth[k] : 0) } }' \
    "$OUT/largemem.csv"
}

# ---- main ------------------------------------------------------------------------------------

prepare_builds
log "output and raw data in $OUT; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# redis-compare $(date -u +%Y-%m-%dT%H:%MZ): $(redis-server --version | cut -d' ' -f1-3), $(nproc) cores$([[ "${PIN:-0}" == 1 ]] && echo ", servers pinned to CPU 0, redis-benchmark to CPU 1")"
for part in $PARTS; do
  case "$part" in
    throughput) throughput ;;
    memory) memory ;;
    cluster) cluster ;;
    sizes) sizes ;;
    largemem) largemem ;;
    *) die "unknown part '$part' (expected throughput, memory, cluster, sizes, largemem)" ;;
  esac
done
log "done in $SECONDS s"
