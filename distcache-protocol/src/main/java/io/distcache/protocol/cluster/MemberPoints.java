package io.distcache.protocol.cluster;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * Design: a member's virtual-node points depend only on its id (and the hash and the point count),
 * never on who else is in the ring, so they are computed once per member and kept. A placement
 * change builds up to 2 + learners rings of the same few members, in code too cold to be
 * compiled, where hashing 1,024 points per member was most of a ring's cost (about 1 ms per
 * member, measured). The cache is bounded (least recently used out), so members that left are
 * forgotten: at most 128 members, 1 MiB at the default 1,024 points and 4 MiB at the maximum
 * 4,096, for the life of the JVM. More members than that churning through only costs speed.
 * Hashes must be pure functions (RingHash says so).
 */

/** The sorted points of one member on the ring, memoized. Thread-safe. */
final class MemberPoints {
  static final int MAX_CACHED = 128;

  private record Key(RingHash hash, String id, int virtualNodes) {}

  private static final Map<Key, long[]> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, long[]> eldest) {
      return size() > MAX_CACHED;
    }
  };

  private MemberPoints() {}

  /** The member's {@code virtualNodes} points, ascending (signed). Shared: never modify the array. */
  static long[] of(RingHash hash, String id, int virtualNodes) {
    Key key = new Key(hash, id, virtualNodes);
    synchronized (CACHE) {
      long[] known = CACHE.get(key);
      if (known != null) {
        return known;
      }
    }
    long[] points = new long[virtualNodes];
    for (int v = 0; v < virtualNodes; v++) {
      points[v] = hash.hashPoint(id, v);
    }
    Arrays.sort(points);
    synchronized (CACHE) {
      CACHE.put(key, points);
    }
    return points;
  }
}
