#!/usr/bin/env python3
"""CLUSTER COUNTKEYSINSLOT, pipelined, against one node (docs/BENCHMARKS.md, "CLUSTER
COUNTKEYSINSLOT from a count per slot").

  count-keys-in-slot.py PORT N    # N slots evenly spaced (16384: every slot) in one pipeline

Prints the node's DBSIZE, the time the pipeline took and the sum of the counts: with N = 16384 on
a node that holds every slot, the sum equals DBSIZE. Redis-py; 127.0.0.1 only.
"""
import sys
import time


def main(port, n):
    import redis
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=3600)
    size = r.dbsize()
    slots = [s * (16384 // n) for s in range(n)]
    p = r.pipeline(transaction=False)
    for s in slots:
        p.execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
    t0 = time.time()
    counts = p.execute()
    dt = time.time() - t0
    print(f"port {port}: DBSIZE {size}; {n} pipelined COUNTKEYSINSLOT in {dt * 1000:.1f} ms "
          f"({dt / n * 1e6:.1f} us each); sum of the counts {sum(counts)}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or not 1 <= int(sys.argv[2]) <= 16384:
        sys.exit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]))
