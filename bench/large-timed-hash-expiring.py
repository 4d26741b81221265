#!/usr/bin/env python3
# A large hash whose fields expire all the time (docs/BENCHMARKS.md, "Large hashes with field
# times"): against a node already running on 127.0.0.1:PORT (redis-py), one hash of 10,000 fields;
# each pipeline of 10 pairs gives 10 fields a time 1-2000 ms ahead (HPEXPIRE) and sets 10 others
# (HSET), for 6 s after a 2 s warm-up. Prints commands/s, the hash's size and INFO's
# expired_subkeys. Usage: bench/large-timed-hash-expiring.py PORT
import redis, random, sys, time
# Fields expire all the time: each pipeline of 10 pairs gives 10 fields a time 1-2000 ms ahead
# and sets 10 others, for 6 s (after a 2 s warm-up); expiries then come between almost every two
# pipelines, so most writes find a field whose time came since the last write.
port = int(sys.argv[1]); n = 10000
r = redis.Redis(port=port)
r.delete("big")
p = r.pipeline(transaction=False)
for i in range(n):
    p.hset("big", f"f{i}", "v" * 20)
p.execute()
rnd = random.Random(7)
def run(seconds):
    done = 0; end = time.perf_counter() + seconds; t0 = time.perf_counter()
    while time.perf_counter() < end:
        p = r.pipeline(transaction=False)
        for _ in range(10):
            p.execute_command("HPEXPIRE", "big", rnd.randint(1, 2000), "FIELDS", 1, f"f{rnd.randrange(n)}")
            p.hset("big", f"f{rnd.randrange(n)}", "w" * 20)
        p.execute(); done += 20
    return done / (time.perf_counter() - t0)
run(2)
print(f"port {port}: {run(6):.0f} commands/s, hlen {r.hlen('big')}, expired_subkeys {r.info('stats').get('expired_subkeys')}")
