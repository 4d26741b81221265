"""redis-py's RedisCluster driven line by line from stdin by PythonAndNodeClusterClientsIT.

Usage: redis_py_cluster.py HOST PORT KEY_PREFIX [cluster|replicas|plain]

cluster (the default) is RedisCluster; replicas is RedisCluster with read_from_replicas=True (it
sends READONLY and spreads reads over each slot's primary and replicas); plain is a plain
redis.Redis on the one node HOST:PORT, which a node must serve by forwarding, never by a redirect
(a MOVED would surface as an error).

Commands on stdin, one per line; one reply line per command on stdout:
  load N        write N keys PREFIX:0..N-1, then read each back
  traffic SECS  random GET/SET over the loaded keys for SECS seconds
  tx N          (plain only) N rounds of: a default pipeline() (MULTI/EXEC) that must answer in
                order; one with a register_script() script called inside it (EVALSHA inside
                MULTI, the script loaded on the connection's node) that must answer in order;
                one with an unknown command, which must fail and apply nothing; one whose
                WATCHed key another connection changes, which must raise WatchError and apply
                nothing. Counts: aborted (failed as they must), applied (writes of a failed
                transaction that were applied: must be 0)
  quit          close the client and exit 0
A reply is "ok key=value ..." (or "fail ..."), with error=<first error> last when there was one.
A GET may miss (a node drops the keys of slots it loses) but must never return another value than
the last one this script wrote: that is counted in mismatches.
The script uses Debian's python3-redis (bookworm: 4.3.4) and nothing else.
"""
import logging
import random
import sys
import time

import redis
from redis.cluster import RedisCluster

# redis-py logs every redirect it follows with log.exception("MovedError") etc. on the
# "redis.cluster" logger: count them instead of printing tracebacks.
EVENTS = {}


class _Counter(logging.Handler):
    def emit(self, record):
        name = str(record.msg).split(":")[0]
        EVENTS[name] = EVENTS.get(name, 0) + 1


_log = logging.getLogger("redis.cluster")
_log.addHandler(_Counter())
_log.setLevel(logging.ERROR)
_log.propagate = False


def reply(words, error=None):
    line = " ".join(words)
    if error is not None:
        line += " error=" + " ".join(str(error).split())[:300]
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mode = sys.argv[4] if len(sys.argv) > 4 else "cluster"
    name = "client=redis-py-%s-%s" % (redis.__version__, mode)
    try:
        if mode == "plain":
            rc = redis.Redis(host=host, port=port, decode_responses=True,
                             socket_timeout=5, socket_connect_timeout=5)
            rc.ping()
        else:
            rc = RedisCluster(host=host, port=port, decode_responses=True,
                              socket_timeout=5, socket_connect_timeout=5,
                              read_from_replicas=(mode == "replicas"))
    except Exception as e:  # the harness shows this line when the server is not ready for us
        reply(["fail", name], e)
        return 2

    def nodes():
        return len(rc.get_nodes()) if mode != "plain" else 1

    def primaries():  # redis-py sends FLUSHALL, DBSIZE, SCAN and KEYS to these
        return len(rc.get_primaries()) if mode != "plain" else 1

    reply(["ready", name, "nodes=%d" % nodes()])
    expected = {}  # key -> last value written
    gen = 0
    rnd = random.Random(7)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        if cmd == "quit":
            rc.close()
            reply(["bye"])
            return 0
        ops = misses = mismatches = errors = 0
        first_error = None
        if cmd == "load":
            n = int(parts[1])
            gen += 1
            keys = ["%s:%d" % (prefix, i) for i in range(n)]
            for k in keys:
                try:
                    rc.set(k, "%s:%d" % (k, gen))
                    expected[k] = "%s:%d" % (k, gen)
                except Exception as e:
                    errors += 1
                    first_error = first_error or e
                ops += 1
            for k in keys:
                try:
                    got = rc.get(k)
                    if got is None:
                        misses += 1
                    elif got != expected.get(k):
                        mismatches += 1
                except Exception as e:
                    errors += 1
                    first_error = first_error or e
                ops += 1
        elif cmd == "traffic":
            deadline = time.monotonic() + float(parts[1])
            keys = list(expected.keys())
            while time.monotonic() < deadline:
                k = rnd.choice(keys)
                try:
                    if rnd.random() < 0.5:
                        gen += 1
                        v = "%s:%d" % (k, gen)
                        rc.set(k, v)
                        expected[k] = v
                    else:
                        got = rc.get(k)
                        if got is None:
                            misses += 1
                        elif got != expected[k]:
                            mismatches += 1
                except Exception as e:
                    errors += 1
                    first_error = first_error or e
                ops += 1
        elif cmd == "tx" and mode == "plain":
            aborted = applied = 0
            other = redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=5)
            base = "{%s:tx}" % prefix
            # Adds ARGV[1] to KEYS[1] and copies the sum to KEYS[2]: a script writing two keys of one slot.
            add_and_copy = rc.register_script(
                "local v = redis.call('incrby', KEYS[1], ARGV[1]); redis.call('set', KEYS[2], v); return v")
            for i in range(int(parts[1])):
                v = "v%d" % i
                try:
                    p = rc.pipeline()  # transaction=True: MULTI ... EXEC
                    p.set(base + ":a", v)
                    p.incr(base + ":n")
                    p.get(base + ":a")
                    if p.execute() != [True, i + 1, v]:
                        mismatches += 1
                except Exception as e:
                    errors += 1
                    first_error = first_error or e
                ops += 1
                try:
                    p = rc.pipeline()  # MULTI, SET, EVALSHA, GET, EXEC (SCRIPT LOAD before, if needed)
                    p.set(base + ":s", "1")
                    add_and_copy(keys=[base + ":s", base + ":copy"], args=[i], client=p)
                    p.get(base + ":copy")
                    if p.execute() != [True, i + 1, str(i + 1)]:
                        mismatches += 1
                except Exception as e:
                    errors += 1
                    first_error = first_error or e
                ops += 1
                try:
                    p = rc.pipeline()
                    p.set(base + ":bad", v)
                    p.execute_command("NOSUCHCOMMAND", "x")
                    p.execute()
                    errors += 1
                    first_error = first_error or "a transaction with an unknown command succeeded"
                except redis.exceptions.ResponseError:
                    aborted += 1
                ops += 1
                if rc.get(base + ":bad") is not None:
                    applied += 1
                with rc.pipeline() as p:
                    p.watch(base + ":w")
                    other.set(base + ":w", v)
                    p.multi()
                    p.set(base + ":w", "mine")
                    p.set(base + ":bad", "watched")
                    try:
                        p.execute()
                        errors += 1
                        first_error = first_error or "EXEC ran although a watched key changed"
                    except redis.exceptions.WatchError:
                        aborted += 1
                ops += 1
                if rc.get(base + ":w") != v or rc.get(base + ":bad") is not None:
                    applied += 1
            other.close()
            reply(["ok", "ops=%d" % ops, "mismatches=%d" % mismatches, "errors=%d" % errors,
                   "aborted=%d" % aborted, "applied=%d" % applied], first_error)
            continue
        else:
            reply(["fail"], "unknown command " + cmd)
            continue
        reply(["ok", "ops=%d" % ops, "misses=%d" % misses, "mismatches=%d" % mismatches,
               "errors=%d" % errors, "nodes=%d" % nodes(), "primaries=%d" % primaries(),
               "moved=%d" % EVENTS.get("MovedError", 0), "ask=%d" % EVENTS.get("AskError", 0),
               "clusterdown=%d" % EVENTS.get("ClusterDownError", 0)], first_error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
