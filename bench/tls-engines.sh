#!/usr/bin/env bash
# TLS engines side by side (docs/BENCHMARKS.md, "TLS engines"): Debian's redis-server with TLS, one
# distcache node with --tls-engine jdk and one with --tls-engine openssl (BoringSSL), all on
# 127.0.0.1 at once, measured one after the other with redis-benchmark --tls, round by round:
#
#   bench/tls-engines.sh                 # 3 rounds of SET and GET, -c 50, P1 and P16
#   bench/tls-engines.sh -r 2
#
# Certificates (a CA and an RSA 2048 server certificate for 127.0.0.1) are made with openssl in a
# fresh /tmp/tls-engines.* directory, with the logs; clients present none (--tls-auth-clients no).
# P1 runs 50,000 requests, P16 500,000, 100-byte values over 100,000 keys; each server first gets
# the same warm-up. One line per run: round server pipeline test requests/s, and the server's CPU
# time per request in microseconds (user + system, from /proc/PID/stat around the run): on a
# shared machine the rate depends on what else runs, the CPU per request much less.
# Every process it starts is stopped on exit (by PID). Only 127.0.0.1 is contacted. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS=3
while getopts "r:" opt; do
  case "$opt" in
    r) ROUNDS="$OPTARG" ;;
    *) echo "usage: $0 [-r rounds]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark redis-cli openssl; do
  command -v "$tool" >/dev/null || { echo "tls-engines: $tool not found (apt-get install redis-server redis-tools openssl)" >&2; exit 1; }
done

HOST=127.0.0.1
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

OUT="$(mktemp -d /tmp/tls-engines.XXXXXX)"
cd "$OUT"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=bench-ca 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext 2>/dev/null

rtls="$(free_port)"
redis-server --bind 127.0.0.1 --port 0 --tls-port "$rtls" --tls-cert-file server.crt --tls-key-file server.key \
  --tls-auth-clients no --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
PIDS+=("$!")
declare -A PORT=([redis]="$rtls")
declare -A PID=([redis]="$!")
for engine in jdk openssl; do
  plain="$(free_port)"
  tls="$(free_port)"
  "$ROOT/bin/distcache" -addr "127.0.0.1:$plain" --tls-port "$tls" --tls-cert-file server.crt \
    --tls-key-file server.key --tls-auth-clients no --tls-engine "$engine" >"$OUT/$engine.out" 2>"$OUT/$engine.err" &
  PIDS+=("$!")
  PID[$engine]="$!" # the launcher execs the JVM
  wait_ping "$plain" 120 || die "distcache ($engine) on port $plain did not start; see $OUT/$engine.err"
  PORT[$engine]="$tls"
done

tping() { redis-cli -h "$HOST" -p "$1" --tls --cacert ca.crt PING 2>/dev/null; }
for s in redis jdk openssl; do
  for _ in $(seq 60); do [[ "$(tping "${PORT[$s]}")" == PONG ]] && break; sleep 0.5; done
  [[ "$(tping "${PORT[$s]}")" == PONG ]] || die "$s does not answer PING over TLS on ${PORT[$s]}"
done

bench() { # port pipeline requests tests
  redis-benchmark -h "$HOST" -p "$1" --tls --cacert ca.crt -c 50 -P "$2" -n "$3" -r 100000 -d 100 -t "$4" -q 2>&1 \
    | tr '\r' '\n' | grep -E '^(SET|GET): [0-9.]+ requests per second' || true
}
cpu_ticks() { # pid: user + system clock ticks so far (fields 14 and 15 of /proc/PID/stat)
  awk '{print $14 + $15}' "/proc/$1/stat"
}
HZ="$(getconf CLK_TCK)"
log "warm-up (SET and GET, P16 and P1) on each server; logs in $OUT"
for s in redis jdk openssl; do
  bench "${PORT[$s]}" 16 500000 set,get >/dev/null
  bench "${PORT[$s]}" 1 50000 set,get >/dev/null
done
echo "round server pipeline test requests/s cpu_us_per_request"
for round in $(seq "$ROUNDS"); do
  for p in 1 16; do
    n=$((p == 1 ? 50000 : 500000))
    for s in redis jdk openssl; do
      for t in set get; do
        before="$(cpu_ticks "${PID[$s]}")"
        line="$(bench "${PORT[$s]}" "$p" "$n" "$t")"
        after="$(cpu_ticks "${PID[$s]}")"
        read -r test rps _ <<<"$line"
        cpu_us="$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
        echo "$round $s P$p ${test%:} $rps cpu_us_per_request=$cpu_us"
      done
    done
  done
done
