#!/usr/bin/env python3
"""Requests read whole that wait to run, from many connections: does the node stay up?

    bench/waiting-requests-flood.py PORT [CONNECTIONS] [POP_TIMEOUT_SECONDS]    # defaults 40, 10

Against a node already running on 127.0.0.1:PORT (e.g. DISTCACHE_HEAP=128m bin/distcache -addr
127.0.0.1:PORT). One connection after another sends `BZPOPMIN z TIMEOUT` (it parks, so what the
connection sends next waits to run) and then a DEL of a million empty keys (6 MB on the wire, a
million references on the heap). Once the pops have timed out it counts what each connection got
after its pop's nil (`:0`: the DEL ran; `-ERR`: refused by --max-input-buffer) and sends PING.
The figures of docs/BENCHMARKS.md, "Requests waiting to run, node-wide". Not run by CI.
"""
import socket
import sys
import time

ARGS = 1_000_000


def request(pop_timeout):
    t = str(pop_timeout).encode()
    pop = b"*3\r\n$8\r\nBZPOPMIN\r\n$1\r\nz\r\n$%d\r\n%s\r\n" % (len(t), t)
    return pop + b"*%d\r\n$3\r\nDEL\r\n" % (ARGS + 1) + b"$0\r\n\r\n" * ARGS


def reply_after_nil(s):
    """The line after the pop's nil (*-1), or what the connection ended with."""
    s.settimeout(1)
    got = b""
    try:
        while got.count(b"\r\n") < 2:
            part = s.recv(4096)
            if not part:
                break
            got += part
    except socket.timeout:
        return "no reply yet"
    except OSError as e:
        return type(e).__name__
    if not got.startswith(b"*-1\r\n"):
        return "unexpected: %r" % got[:60]
    return got[5:].split(b"\r\n", 1)[0].decode(errors="replace")


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    pop_timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    req = request(pop_timeout)
    conns = []
    start = time.time()
    for i in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(req)
            conns.append(s)
        except OSError as e:
            print(f"connection {i}: {e}")
            break
    print(f"sent {len(conns)} of {n} in {time.time() - start:.1f} s")
    time.sleep(pop_timeout + 2)  # every pop has timed out by then, and what waited behind it ran
    outcome = {}
    for s in conns:
        line = reply_after_nil(s)
        outcome[line] = outcome.get(line, 0) + 1
    for line, count in outcome.items():
        print(f"{count:4d} x {line}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as p:
            p.sendall(b"PING\r\n")
            alive = p.recv(100)
    except OSError as e:
        alive = repr(e)
    print(f"PING: {alive!r}")


if __name__ == "__main__":
    main()
