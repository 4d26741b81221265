#!/usr/bin/env python3
"""Records a server's replies to scripts in the notation of src/test/resources/*-redis7.tsv.

    python3 record-redis-replies.py PORT < scripts.txt > replies.tsv

Each input line is one script, run as EVAL script 0 against 127.0.0.1:PORT after a FLUSHALL;
each output line is the script, a tab, and the reply: b:HEX bulk, i:N integer, nil, [a,b]
array, e:TEXT error, s:TEXT status. Run it against Debian's redis-server 7.0.15 to record
expected replies, against a distcache node to compare.
"""
import socket
import sys


def send(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)


def read(f):
    line = f.readline()[:-2]
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return "s:" + rest.decode("latin1")
    if kind == b"-":
        return "e:" + rest.decode("latin1")
    if kind == b":":
        return "i:" + rest.decode()
    if kind == b"$":
        n = int(rest)
        return "nil" if n < 0 else "b:" + f.read(n + 2)[:-2].hex()
    if kind == b"*":
        n = int(rest)
        return "nil" if n < 0 else "[" + ",".join(read(f) for _ in range(n)) + "]"
    raise ValueError(line)


def main():
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = sock.makefile("rb")
    for script in sys.stdin.read().splitlines():
        if not script.strip() or script.startswith("#"):
            continue
        send(sock, "FLUSHALL")
        read(f)
        send(sock, "EVAL", script.encode(), "0")
        print(script + "\t" + read(f))


main()
