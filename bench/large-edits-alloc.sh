#!/usr/bin/env bash
# Heap allocated and CPU spent per request by the commands that edit or give up a large string
# (issue 16): SET GET, GETSET, GETEX, GETDEL (with the SET that refills the key), APPEND and
# SETRANGE, with GET as the control, on distcache (and, with BASE_ROOT, a base build) and Redis.
#
#   bench/large-edits-alloc.sh                                  # SIZE 262144, N 300
#   BASE_ROOT=/tmp/bigval-base SIZE=1048576 N=100 bench/large-edits-alloc.sh
#
# One client (python3, one connection, one request at a time) runs each phase's N requests on a
# value of SIZE bytes (APPEND and SETRANGE write PIECE bytes, 4096 by default, into it: APPEND grows
# one string from SIZE by N pieces), with a pause of 2.5 s between phases. Each distcache node runs
# with a JFR recording of jdk.ThreadAllocationStatistics every second (each thread's allocated
# bytes so far); the bytes allocated in a phase are the sum over the node's threads of the last
# sample before the phase's end pause minus the last before it started (background threads add a
# few KB a second). CPU: user+system ticks from /proc around each phase (10 ms resolution: read it
# per request only for N large enough). Ports from PORT_RANGE (bench/lib.sh); every process it
# starts is stopped on exit (by PID). Not run by the tests or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${SIZE:-262144}"
N="${N:-300}"
PIECE="${PIECE:-4096}"
HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
for tool in redis-server redis-cli python3 jfr jcmd; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
OUT="$(mktemp -d /tmp/large-edits-alloc.XXXXXX)"

declare -A PORT PID
WHO=(new)
[[ -n "${BASE_ROOT:-}" ]] && WHO=(base new)
for who in "${WHO[@]}"; do
  PORT[$who]="$(free_port)"
  tree="$ROOT"
  [[ "$who" == base ]] && tree="$BASE_ROOT"
  DISTCACHE_JAVA_OPTS="-XX:StartFlightRecording=filename=$OUT/$who.jfr,jdk.ThreadAllocationStatistics#period=1s" \
    "$tree/bin/distcache" -addr "$HOST:${PORT[$who]}" >"$OUT/$who.out" 2>"$OUT/$who.err" &
  PID[$who]=$!
  PIDS+=("${PID[$who]}")
done
PORT[redis]="$(free_port)"
redis-server --bind "$HOST" --port "${PORT[redis]}" --save '' --appendonly no --daemonize no \
  --logfile "$OUT/redis.log" &
PID[redis]=$!
PIDS+=("${PID[redis]}")
for who in "${WHO[@]}" redis; do
  wait_ping "${PORT[$who]}" 120 || die "$who on port ${PORT[$who]} did not answer PING (see $OUT)"
done

cat >"$OUT/client.py" <<'EOF'
import os, socket, sys, time
port, size, n, piece, pid = (int(a) for a in sys.argv[1:6])
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    s.sendall(b"".join(out))
    line = f.readline()
    if line[:1] == b"$" and int(line[1:]) >= 0:
        body = f.read(int(line[1:]) + 2)
        return body[:-2]
    if line[:1] == b"-":
        raise SystemExit("error from server: %r" % line)
    return line
def ticks():
    st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(st[11]) + int(st[12])
v1 = bytes((i * 31) & 0xFF for i in range(size))
v2 = bytes((i * 17 + 1) & 0xFF for i in range(size))
p = bytes((i * 7) & 0xFF for i in range(piece))
hz = os.sysconf("SC_CLK_TCK")
def phase(name, setup, step):
    setup()
    time.sleep(2.5)
    t0, c0, w0 = time.time(), ticks(), time.perf_counter()
    for i in range(n):
        step(i)
    w1, c1 = time.perf_counter(), ticks()
    print("%s %d %.3f %.3f %.1f" % (name, n, t0, time.time(), (c1 - c0) * 1e6 / hz / n), flush=True)
    print("#wall %s %.1f us/op" % (name, (w1 - w0) * 1e6 / n), file=sys.stderr)
cmd("FLUSHALL")
cmd("SET", "k", v1)
for _ in range(20):  # warm-up of every path (the JIT)
    cmd("GET", "k"); cmd("SET", "k", v2, "GET"); cmd("GETSET", "k", v1); cmd("GETEX", "k", "EX", 100)
    cmd("GETDEL", "k"); cmd("SET", "k", v1); cmd("APPEND", "k", p); cmd("SETRANGE", "k", 7, p)
phase("get", lambda: cmd("SET", "k", v1), lambda i: cmd("GET", "k"))
phase("set-get", lambda: cmd("SET", "k", v1), lambda i: cmd("SET", "k", v2 if i % 2 == 0 else v1, "GET"))
phase("getset", lambda: cmd("SET", "k", v1), lambda i: cmd("GETSET", "k", v2 if i % 2 == 0 else v1))
phase("getex", lambda: cmd("SET", "k", v1), lambda i: cmd("GETEX", "k", "EX", 100 + i))
phase("set+getdel", lambda: None, lambda i: (cmd("SET", "k", v1), cmd("GETDEL", "k")))
phase("set", lambda: None, lambda i: cmd("SET", "k", v2 if i % 2 == 0 else v1))
phase("append", lambda: cmd("SET", "k", v1), lambda i: cmd("APPEND", "k", p))
phase("setrange", lambda: cmd("SET", "k", v1), lambda i: cmd("SETRANGE", "k", (i * 997) % size, p))
time.sleep(2.5)
EOF

for who in "${WHO[@]}" redis; do
  log "$who: SIZE $SIZE, N $N, PIECE $PIECE ($(uptime | sed 's/.*load/load/'))"
  python3 "$OUT/client.py" "${PORT[$who]}" "$SIZE" "$N" "$PIECE" "${PID[$who]}" >"$OUT/$who.phases" 2>"$OUT/$who.wall"
done
for who in "${WHO[@]}"; do
  jcmd "${PID[$who]}" JFR.dump name=1 filename="$OUT/$who.jfr" >/dev/null
  jfr print --json --events jdk.ThreadAllocationStatistics "$OUT/$who.jfr" >"$OUT/$who.alloc.json"
done

python3 - "$OUT" "${WHO[@]}" <<'EOF'
import json, sys, datetime
out, who = sys.argv[1], sys.argv[2:]
def when(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
def phases(name):
    rows = []
    for line in open("%s/%s.phases" % (out, name)):
        p, n, t0, t1, cpu = line.split()
        rows.append((p, int(n), float(t0), float(t1), float(cpu)))
    return rows
def wall(name):
    return {l.split()[1]: l.split()[2] for l in open("%s/%s.wall" % (out, name)) if l.startswith("#wall")}
redis = {p: (cpu, wall("redis")[p]) for p, _, _, _, cpu in phases("redis")}
print("%-11s %-5s %14s %12s %12s %14s %14s" % ("phase", "node", "heap B/op", "CPU us/op", "wall us/op",
                                                "Redis CPU", "Redis wall"))
for name in who:
    events = json.load(open("%s/%s.alloc.json" % (out, name)))["recording"]["events"]
    samples = sorted((when(e["values"]["startTime"]), e["values"]["thread"]["javaThreadId"], e["values"]["allocated"])
                     for e in events)
    def total_before(t):
        last = {}
        for ts, tid, alloc in samples:
            if ts > t:
                break
            last[tid] = alloc
        return sum(last.values())
    w = wall(name)
    for p, n, t0, t1, cpu in phases(name):
        # the samples in the pauses bracket the phase: the last before t0, the last before t1 + 2 s
        delta = total_before(t1 + 2.0) - total_before(t0)
        print("%-11s %-5s %14.0f %12.1f %12s %14.1f %14s" % (p, name, delta / n, cpu, w[p], redis[p][0], redis[p][1]))
EOF
log "logs and recordings in $OUT"
