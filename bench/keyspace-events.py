#!/usr/bin/env python3
# The keyspace events of a list of scenarios, on one server (Redis or distcache), for comparing
# the two (issue 13: the "new" events and their order were captured from redis-server 7.0.15 so).
#
#   bench/keyspace-events.py PORT CLASSES SCENARIOS > out.txt     e.g. 7450 KEAn bench/keyspace-events.txt
#   diff redis.txt distcache.txt
#
# A scenario line is "setup|commands": setup commands (';'-separated, run with notifications off)
# then the commands whose events are printed (';'-separated, shell-quoted words). Before each line
# the server is flushed (FLUSHALL). Events are read with PSUBSCRIBE __keyevent*__:* (so CLASSES
# needs E), up to a PUBLISH of a marker sent after the commands, so no sleep decides the end.
# Output: "commands => event=key ...   [replies]". Only 127.0.0.1 is contacted. Not run by CI.
import socket, sys, shlex, time
def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
class Conn:
    def __init__(s, port):
        s.s = socket.create_connection(("127.0.0.1", port)); s.f = s.s.makefile("rb")
    def read(s):
        l = s.f.readline()
        t = l[:1]; body = l[1:-2]
        if t in b"+-:": return body.decode()
        if t == b"$":
            n = int(body); 
            if n < 0: return None
            d = s.f.read(n + 2)[:-2]; return d.decode(errors="replace")
        if t in b"*>":
            n = int(body); return [s.read() for _ in range(max(n, 0))]
        return l
    def cmd(s, *args):
        s.s.sendall(enc(args)); return s.read()
port = int(sys.argv[1])
flags = sys.argv[2]
c = Conn(port)
for line in open(sys.argv[3]):
    line = line.rstrip("\n")
    if not line: continue
    setup, cmd = line.split("|", 1)
    c.cmd("FLUSHALL")
    c.cmd("CONFIG", "SET", "notify-keyspace-events", "")
    for p in filter(None, setup.split(";")): c.cmd(*shlex.split(p))
    c.cmd("CONFIG", "SET", "notify-keyspace-events", flags)
    sub = Conn(port); sub.cmd("PSUBSCRIBE", "__keyevent*__:*")
    replies = [c.cmd(*shlex.split(p)) for p in cmd.split(";")]
    c.cmd("PUBLISH", "__keyevent@0__:zzend", "x")
    ev = []
    sub.s.settimeout(5)
    while True:
        m = sub.read()
        ch = m[2]
        if ch.endswith("zzend"): break
        ev.append(ch.split(":", 1)[1] + "=" + m[3])
    sub.s.close()
    print(f"{cmd} => {' '.join(ev)}   [{replies}]")
