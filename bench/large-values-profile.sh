#!/usr/bin/env bash
# JFR profile of one distcache node under redis-benchmark SET/GET at a few value sizes (issue 16).
#
#   bench/large-values-profile.sh                    # 1024,16384,65536,524288
#   SIZES=65536 bench/large-values-profile.sh
#
# For each size: a fresh node (bin/distcache with its defaults, plus a JFR recording with the
# "profile" settings: CPU samples every 10-20 ms, allocation samples, GC and I/O events), a
# discarded warm-up, then `redis-benchmark -t set,get -c 50 -r 10000 -d SIZE` (SIZE_BYTES, default
# 512 MiB, of values per test), then JFR.dump and the node stopped by PID. Prints, per size, the
# top frames of CPU samples (jdk.ExecutionSample), the allocation sampled per class and top frame
# (jdk.ObjectAllocationSample weights) and the GC causes with their pauses.
# Recordings stay in OUT (default a fresh temporary directory) for `jfr print` / JMC.
# Every process it starts is stopped on exit (by PID). Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${SIZES:-1024,16384,65536,524288}"
SIZE_BYTES="${SIZE_BYTES:-536870912}"
OUT="${OUT:-$(mktemp -d /tmp/large-profile.XXXXXX)}"
HOST=127.0.0.1
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v jfr >/dev/null || die "jfr (from a JDK) is not on PATH"
command -v redis-benchmark >/dev/null || die "redis-benchmark is missing: apt-get install -y redis-tools"

# Top-frame histogram of a jfr print --json-less text dump: "<count> <frame>".
top_frames() { # file event limit
  jfr print --events "$2" --stack-depth 1 "$1" | awk '
    /stackTrace = \[/ { getline; sub(/^[ \t]+/, ""); sub(/line:.*/, ""); n[$0]++ ; total++ }
    END { for (f in n) printf "%6d %5.1f%% %s\n", n[f], 100 * n[f] / total, f }' | sort -rn | head -n "$3"
}

# Sampled allocation weight per object class and top frame: "<MiB> <class> <frame>".
alloc_weights() { # file limit
  jfr print --events jdk.ObjectAllocationSample --stack-depth 1 "$1" | awk '
    /objectClass = / { cls = $3 }
    /weight = / { w = $3; u = $4; if (u ~ /kB/) w /= 1024; else if (u ~ /MB/) w *= 1; else if (u ~ /GB/) w *= 1024; else w /= 1048576 }
    /stackTrace = \[/ { getline; sub(/^[ \t]+/, ""); sub(/line:.*/, ""); a[cls " <- " $0] += w; total += w }
    END { for (k in a) printf "%9.1f MiB %5.1f%% %s\n", a[k], 100 * a[k] / total, k }' | sort -rn | head -n "$2"
}

for size in ${SIZES//,/ }; do
  n=$((SIZE_BYTES / size))
  ((n > 200000)) && n=200000
  ((n < 1000)) && n=1000
  port="$(free_port)"
  jfrfile="$OUT/node-$size.jfr"
  DISTCACHE_JAVA_OPTS="${DISTCACHE_JAVA_OPTS:-} -XX:StartFlightRecording=settings=profile,filename=$jfrfile,dumponexit=true" \
    "$ROOT/bin/distcache" -addr "$HOST:$port" >"$OUT/node-$size.out" 2>"$OUT/node-$size.err" &
  pid=$!
  PIDS+=("$pid")
  wait_ping "$port" 120 || die "distcache did not start; see $OUT/node-$size.err"
  timeout 300 redis-benchmark -h "$HOST" -p "$port" -t set,get -d "$size" -r 10000 -n "$((n / 2))" -c 50 -q >/dev/null 2>&1 || true
  # The recording so far holds start-up and warm-up: restart it so only the measured runs count.
  jcmd "$pid" JFR.stop name=1 >/dev/null 2>&1 || true
  jcmd "$pid" JFR.start name=measured settings=profile >/dev/null
  log "size $size: $n requests per test; load $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout 300 redis-benchmark -h "$HOST" -p "$port" -t set,get -d "$size" -r 10000 -n "$n" -c 50 --csv | tee "$OUT/rb-$size.csv" >&2
  jcmd "$pid" JFR.dump name=measured filename="$jfrfile" >/dev/null
  stop "$pid"
  echo
  echo "## $size-byte values ($n SETs then $n GETs, -c 50 -P 1)"
  echo
  echo "CPU samples, top frames:"
  top_frames "$jfrfile" jdk.ExecutionSample 25 | sed 's/^/    /'
  echo
  echo "Allocation (sampled weight) by class <- top frame:"
  alloc_weights "$jfrfile" 15 | sed 's/^/    /'
  echo
  echo "GC:"
  jfr print --events jdk.GarbageCollection "$jfrfile" | awk '
    /name = / { name = $3 } /cause = / { $1 = $2 = ""; cause = $0 }
    /sumOfPauses = / { p = $3; if ($4 ~ /^s/) p *= 1000; if ($4 ~ /us/) p /= 1000; k = name cause; c[k]++; s[k] += p }
    END { for (k in c) printf "    %5d collections, %8.1f ms paused: %s\n", c[k], s[k], k }'
done
log "recordings in $OUT"
