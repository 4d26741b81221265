# Shared by the bench/ scripts (sourced, not run): logging, the processes a script started (all
# stopped by PID on exit), free loopback ports, and waiting for a server to answer PING.
# The sourcing script sets HOST (127.0.0.1) before using free_port or wait_ping.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

PIDS=()
cleanup() {
  local pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "/tmp/free-port.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# A free loopback port: nothing answers on it now. PORT_RANGE=LOW-HIGH (e.g. 7820-7839) keeps every
# pick inside a range, for a machine where others' processes own the rest: there the ports are
# handed out in turn (the last one is kept in a file named after this script's PID), because two
# picks made before either server starts would otherwise often be the same in a small range.
free_port() {
  local p
  if [[ "${PORT_RANGE:-}" =~ ^([0-9]+)-([0-9]+)$ ]]; then
    local low="${BASH_REMATCH[1]}" high="${BASH_REMATCH[2]}" turn="/tmp/free-port.$$" last
    last="$(cat "$turn" 2>/dev/null || echo $((low - 1)))"
    for _ in $(seq $((high - low + 1))); do
      p=$((last + 1))
      ((p > high)) && p="$low"
      last="$p"
      if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
        echo "$p" >"$turn"
        echo "$p"
        return
      fi
    done
    die "no free port in PORT_RANGE $PORT_RANGE"
  fi
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

wait_ping() { # port seconds
  local end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    if [[ "$(timeout 2 redis-cli -h "$HOST" -p "$1" PING 2>/dev/null)" == PONG ]]; then
      return 0
    fi
    sleep 0.3
  done
  return 1
}

wait_pair() { # port0 port1: until both nodes of a 2-node cluster report cluster_size:2 (at most 120 s)
  local _
  for _ in $(seq 240); do
    redis-cli -h "$HOST" -p "$2" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_size:2' \
      && redis-cli -h "$HOST" -p "$1" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_size:2' && return 0
    sleep 0.5
  done
  return 1
}
