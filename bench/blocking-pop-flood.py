#!/usr/bin/env python3
"""Blocking pops on many keys, from many connections: does the node stay up?

    bench/blocking-pop-flood.py PORT [CONNECTIONS] [KEYS_PER_POP]    # defaults 10, 300000

Against a node already running on 127.0.0.1:PORT (e.g. DISTCACHE_HEAP=128m bin/distcache -addr
127.0.0.1:PORT). One connection after another sends `BZPOPMIN k0 ... kN 0` on keys that hold
nothing (it parks for ever; a parked key costs the node about 300 bytes of heap), then a fresh
connection sends PING. Two seconds after the last pop it prints what each connection got (a
parked pop: nothing yet; a refused one: its -ERR), and PINGs once more. The figures of
docs/BENCHMARKS.md, "Blocking pops on many keys". Not run by CI.
"""
import socket
import sys
import time


def pop(connection, keys):
    parts = [b"*%d\r\n$8\r\nBZPOPMIN\r\n" % (keys + 2)]
    for i in range(keys):
        k = b"%d:%d" % (connection, i)
        parts.append(b"$%d\r\n%s\r\n" % (len(k), k))
    parts.append(b"$1\r\n0\r\n")
    return b"".join(parts)


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as p:
            p.sendall(b"PING\r\n")
            return p.recv(100).decode(errors="replace").strip()
    except OSError as e:
        return type(e).__name__


def main():
    port = int(sys.argv[1])
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    keys = int(sys.argv[3]) if len(sys.argv) > 3 else 300_000
    socks = []
    for c in range(connections):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(pop(c, keys))
        except OSError as e:
            print(f"connection {c}: {type(e).__name__}")
            break
        socks.append(s)
        print(f"connection {c} sent its pop; a new connection's PING: {ping(port)}", flush=True)
    time.sleep(2)
    for c, s in enumerate(socks):
        s.setblocking(False)
        try:
            got = s.recv(400).decode(errors="replace").strip()
        except BlockingIOError:
            got = "(nothing: parked)"
        except OSError as e:
            got = type(e).__name__
        print(f"connection {c}: {got[:200]}")
    print(f"PING after: {ping(port)}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
