#!/usr/bin/env python3
"""redis-py's PubSub against one distcache node (run by PubSubScriptClientsIT).

Usage: redis_py_pubsub.py HOST PORT

Subscribes to a channel and a pattern on one connection, publishes from another, and prints one
line per message received ("message CHANNEL DATA" or "pmessage PATTERN CHANNEL DATA"), then
"unsubscribed N" after unsubscribing from everything, then "ok". Exits 1 with "fail ..." on any
surprise. Uses Debian's python3-redis.
"""
import sys
import time

import redis


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    r = redis.Redis(host=host, port=port, decode_responses=True)
    p = r.pubsub()
    p.subscribe('jobs')
    p.psubscribe('job*')
    confirmations = [p.get_message(timeout=5) for _ in range(2)]
    if [c['type'] for c in confirmations if c] != ['subscribe', 'psubscribe']:
        print('fail confirmations %r' % confirmations)
        return 1
    receivers = r.publish('jobs', 'j1')
    if receivers != 2:
        print('fail publish answered %r, expected 2' % receivers)
        return 1
    r.publish('jobless', 'j2')
    got = []
    deadline = time.time() + 10
    while len(got) < 3 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m is None:
            continue
        if m['type'] == 'message':
            got.append('message %s %s' % (m['channel'], m['data']))
        elif m['type'] == 'pmessage':
            got.append('pmessage %s %s %s' % (m['pattern'], m['channel'], m['data']))
    for line in got:
        print(line)
    p.unsubscribe()
    p.punsubscribe()
    left = []
    deadline = time.time() + 10
    while len(left) < 2 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m is not None:
            left.append(m)
    print('unsubscribed %d' % left[-1]['data'] if left else 'fail no unsubscribe confirmation')
    print('numsub %r' % (r.pubsub_numsub('jobs'),))
    p.close()
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
