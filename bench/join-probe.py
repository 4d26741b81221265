#!/usr/bin/env python3
"""Per-request latency during a join (bench/join-move.sh PROBE=1; docs/BENCHMARKS.md).

  join-probe.py run PORT KEYS THREADS OUT STOPFILE   # SET/GET at random through PORT until STOPFILE exists
  join-probe.py report OUT NODES PORT4 [WINDOW_S]    # NODES: CLUSTER NODES after the join; PORT4: the joiner's
  join-probe.py phases DIR                           # DIR: a join-move.sh run's log directory

'run' writes one line per request: start time, milliseconds, S or G, slot, error text (if any).
'report' prints each WINDOW_S (0.1) window: count, p50, p99, max, and the max per class: the
request's op and where its slot went (4: to the node that joined; 1: owned by the node the
probe talks to; o: another owner). A stall that hits every class is the node or the cluster
stopping; one that hits S4 alone is the hand-over's hold. Redis-py, one connection per thread.

'phases' splits DIR/probe.txt by the nodes' log lines (DIR/n1.log .. n4.log): steady (before an
owner installs the placement with the learner), learning (until the first owner holds the moving
slots' writes), hand-over (until the joiner's "joined:" line, plus 0.3 s), the owners' drops of
the slots they gave up (until the last "SlotCleaner - dropped" line within 5 s of the join), and
after; per phase: its length, count, p50, p99 and max in milliseconds.
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


def phases(d):
    import datetime
    import glob
    import re

    def stamp(line):
        # The launcher logs in the JVM's time zone: "Z" in UTC, "+01:00" (or "+0100") elsewhere.
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)(Z|[+-]\d\d:?\d\d)", line)
        if not m:
            return None
        zone = m.group(2)
        if zone == "Z":
            zone = "+00:00"
        elif ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        return datetime.datetime.fromisoformat(m.group(1) + zone).timestamp()

    records = []
    with open(os.path.join(d, "probe.txt")) as f:
        for line in f:
            parts = line.split()
            records.append((float(parts[0]), float(parts[1])))
    if not records:
        sys.exit("no probe records in " + d)
    first, last = records[0][0], records[-1][0]
    learn, hold, drops, joined = [], [], [], None
    for path in sorted(glob.glob(os.path.join(d, "n[123].log"))):
        with open(path) as f:
            for line in f:
                t = stamp(line)
                if t is None:
                    continue
                if "1 learning" in line and "placement epoch" in line:
                    learn.append(t)
                elif "holding the writes" in line:
                    hold.append(t)
                elif "SlotCleaner - dropped" in line:
                    drops.append(t)
    with open(os.path.join(d, "n4.log")) as f:
        for line in f:
            t = stamp(line)
            if t is not None and "joined:" in line:
                joined = t
    learn = [t for t in learn if t > first]
    hold = [t for t in hold if t > first]
    if not learn or not hold or joined is None:
        sys.exit("the logs in " + d + " do not show a whole join during the probe")
    began, held = min(learn), min(hold)
    late = [t for t in drops if joined < t < joined + 5]
    dropped = max(late) if late else joined
    print(f"{d}: learning {held - began:.1f} s, hand-over {joined - held:.2f} s, drops end {dropped - joined:.1f} s after")
    for name, a, b in [("steady", first, began), ("learning", began, held), ("hand-over", held, joined + 0.3),
                       ("drops", joined + 0.3, dropped), ("after", dropped, last)]:
        v = sorted(ms for t, ms in records if a <= t < b)
        if v:
            print(f"  {name:10s} {b - a:5.1f} s n={len(v):6d} p50={v[len(v) // 2]:6.1f} "
                  f"p99={v[int(len(v) * 0.99)]:7.1f} max={v[-1]:7.1f}")


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "run":
        run(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif len(sys.argv) >= 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) if len(sys.argv) > 5 else 0.1)
    elif len(sys.argv) >= 3 and sys.argv[1] == "phases":
        phases(sys.argv[2])
    else:
        sys.exit(__doc__)
