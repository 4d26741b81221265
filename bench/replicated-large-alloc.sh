#!/usr/bin/env bash
# Heap allocated per replicated large SET, by the site that allocates it (issue 16): a 2-node
# launcher cluster (--replicas 1 sync, the defaults) of this tree and, with BASE_ROOT, of a base
# tree, each node with a JFR recording (settings=profile: jdk.ObjectAllocationSample, whose
# weights add up to about the bytes allocated). After a 100-byte P16 warm-up, N SETs of SIZE bytes
# over 100 keys (`redis-benchmark --cluster -t set -c 50 -r 100`: overwrites, so the store reuses
# its memory and what is left is the copies); then the recordings are read with `jfr print` and the
# weights summed per allocating site (the first io.distcache frame of the sample's stack) over both
# nodes. Also prints the run's requests/s and both nodes' CPU per SET (/proc, 10 ms ticks), which
# count the JIT's work too at these counts: read them as a check, not a figure.
#
#   bench/replicated-large-alloc.sh                             # SIZE 1048576, N 3000
#   BASE_ROOT=/tmp/rls-base SIZE=65536 N=20000 bench/replicated-large-alloc.sh
#
# Needs redis-cli, redis-benchmark, python3 and a JDK's jfr (JFR, or the newest under
# /usr/lib/jvm). Ports from PORT_RANGE (bench/lib.sh); every process it starts is stopped on exit
# (by PID). Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${SIZE:-1048576}"
N="${N:-3000}"
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
for tool in redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
JFR="${JFR:-$(ls -d /usr/lib/jvm/*/bin/jfr 2>/dev/null | sort -V | tail -1)}"
[[ -x "$JFR" ]] || JFR="$(command -v jfr || true)"
[[ -x "$JFR" ]] || die "no jfr found (set JFR)"
OUT="$(mktemp -d /tmp/replicated-large-alloc.XXXXXX)"
WHO=(new)
[[ -n "${BASE_ROOT:-}" ]] && WHO=(base new)

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

for who in "${WHO[@]}"; do
  tree="$ROOT"
  [[ "$who" == base ]] && tree="$BASE_ROOT"
  Q0="$(free_port)"
  Q1="$(free_port)"
  rec="-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=$OUT/$who"
  DISTCACHE_JAVA_OPTS="$rec-0.jfr" "$tree/bin/distcache" -addr "$HOST:$Q0" --peers-file none >"$OUT/$who-0.log" 2>&1 &
  P0=$!
  PIDS+=("$P0")
  wait_ping "$Q0" 120 || die "$who on $Q0 did not answer PING"
  DISTCACHE_JAVA_OPTS="$rec-1.jfr" "$tree/bin/distcache" -addr "$HOST:$Q1" -join "$HOST:$Q0" --peers-file none \
    >"$OUT/$who-1.log" 2>&1 &
  P1=$!
  PIDS+=("$P1")
  wait_pair "$Q0" "$Q1" || die "the 2-node cluster did not form"
  redis-benchmark --cluster -h "$HOST" -p "$Q0" -t set -n 100000 -c 50 -P 16 -d 100 -r 100000 -q >/dev/null 2>&1
  c=$(($(cpu "$P0") + $(cpu "$P1")))
  line=$(redis-benchmark --cluster -h "$HOST" -p "$Q0" -t set -n "$N" -c 50 -d "$SIZE" -r 100 --csv 2>/dev/null \
    | tail -1 | tr -d '"')
  echo "$who | SET $SIZE x $N | $(echo "$line" | cut -d, -f2) req/s | CPU $(( ($(cpu "$P0") + $(cpu "$P1") - c) * 10000 / N )) us/SET" \
    | tee -a "$OUT/results.txt"
  stop "$P0"
  stop "$P1"
  python3 - "$JFR" "$N" "$OUT/$who-0.jfr" "$OUT/$who-1.jfr" <<'EOF' | tee -a "$OUT/results.txt"
import collections, re, subprocess, sys
jfr, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
scale = {'bytes': 1, 'byte': 1, 'kB': 1e3, 'MB': 1e6, 'GB': 1e9}
by, total = collections.Counter(), 0.0
for f in files:
    out = subprocess.run([jfr, 'print', '--events', 'jdk.ObjectAllocationSample', '--stack-depth', '8', f],
                         capture_output=True, text=True, check=True).stdout
    for ev in out.split('jdk.ObjectAllocationSample {')[1:]:
        num, unit = re.search(r'weight = (\S+) (\S+)', ev).groups()
        w = float(num) * scale[unit]
        total += w
        cls = re.search(r'objectClass = (\S+)', ev).group(1)
        frames = re.findall(r'^\s+(\S.*?)(?: line: \d+)?$', ev.split('stackTrace = [')[-1], re.M)
        site = next((fr for fr in frames if 'io.distcache' in fr), frames[0] if frames else '?')
        by[(cls, site)] += w
print('  both nodes, whole run (warm-up included): %.0f MB allocated' % (total / 1e6))
for (cls, site), w in by.most_common(8):
    print('  %8.0f MB  %6.2f MB per SET  %-8s %s' % (w / 1e6, w / 1e6 / n, cls, site[:110]))
EOF
done
log "results in $OUT/results.txt"
