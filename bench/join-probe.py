#!/usr/bin/env python3
"""Per-request latency during a join (bench/join-move.sh PROBE=1; docs/BENCHMARKS.md).

  join-probe.py run PORT KEYS THREADS OUT STOPFILE   # SET/GET at random through PORT until STOPFILE exists
  join-probe.py report OUT NODES PORT4 [WINDOW_S]    # NODES: CLUSTER NODES after the join; PORT4: the joiner's

'run' writes one line per request: start time, milliseconds, S or G, slot, error text (if any).
'report' prints each WINDOW_S (0.1) window: count, p50, p99, max, and the max per class: the
request's op and where its slot went (4: to the node that joined; 1: owned by the node the
probe talks to; o: another owner). A stall that hits every class is the node or the cluster
stopping; one that hits S4 alone is the hand-over's hold. Redis-py, one connection per thread.
"""
import os
import random
import sys
import threading
import time


def run(port, keys, threads, out, stopfile):
    import redis
    from redis.crc import key_slot
    records = []
    lock = threading.Lock()

    def loop(seed):
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        rnd = random.Random(seed)
        mine = []
        value = b"x" * 100
        while not os.path.exists(stopfile):
            key = "key:%012d" % rnd.randrange(keys)  # redis-benchmark's key form, so the same keys
            op = "S" if rnd.random() < 0.5 else "G"
            error = ""
            t0 = time.time()
            try:
                if op == "S":
                    r.set(key, value)
                else:
                    r.get(key)
            except Exception as e:  # counted, not fatal: the report shows it
                error = str(e).replace(" ", "_")[:80]
            mine.append((t0, (time.time() - t0) * 1000, op, key_slot(key.encode()), error))
        with lock:
            records.extend(mine)

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    records.sort()
    with open(out, "w") as f:
        for t0, ms, op, slot, error in records:
            f.write("%.4f %.3f %s %d %s\n" % (t0, ms, op, slot, error))


def report(out, nodes, joiner_port, window):
    owner = {}
    me = None
    for line in open(nodes):
        f = line.split()
        addr = f[1].split("@")[0]
        if "myself" in f[2]:
            me = addr
        for r in f[8:]:
            a, _, b = r.partition("-")
            for s in range(int(a), int(b or a) + 1):
                owner[s] = addr
    joined = next((a for a in set(owner.values()) if a.endswith(":%d" % joiner_port)), None)
    recs = [l.split() for l in open(out)]
    if not recs:
        print("no requests recorded")
        return
    t0 = float(recs[0][0])
    windows = {}
    for r in recs:
        where = "4" if owner[int(r[3])] == joined else ("1" if owner[int(r[3])] == me else "o")
        windows.setdefault(int((float(r[0]) - t0) / window), []).append((float(r[1]), r[2] + where))
    for w in sorted(windows):
        v = windows[w]
        ms = sorted(x[0] for x in v)
        by = {}
        for d, c in v:
            by[c] = max(by.get(c, 0), d)
        print("%7.2f s n=%4d p50=%6.1f p99=%6.1f max=%7.1f | %s" % (
            w * window, len(v), ms[len(ms) // 2], ms[int(len(ms) * 0.99)], ms[-1],
            " ".join("%s=%.0f" % (c, by[c]) for c in sorted(by))))
    errors = [r for r in recs if len(r) > 4]
    print("requests %d, errors %d, over 50 ms %d" % (len(recs), len(errors), sum(float(r[1]) > 50 for r in recs)))


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "run":
        run(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif len(sys.argv) >= 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) if len(sys.argv) > 5 else 0.1)
    else:
        sys.exit(__doc__)
