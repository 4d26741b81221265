package io.distcache.server.cluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** Redis's rules for a random pick with a count (HRANDFIELD, SRANDMEMBER), and key text for errors. */
final class RandomPicks {
  /** The largest |count| one pick answers: its reply is built in memory before it is sent. */
  static final long MAX_PICK = io.distcache.protocol.ProtocolConstants.MAX_RANDOM_PICK;

  private RandomPicks() {}

  /**
   * A non-negative count: that many distinct elements (all of them when the count is larger),
   * in random order. A negative one: |count| elements drawn independently, so they may repeat.
   */
  static <T> List<T> pick(List<T> from, long count, RandomGenerator rnd) {
    checkCount(count);
    if (from.isEmpty() || count == 0) {
      return List.of();
    }
    if (count < 0) {
      List<T> out = new ArrayList<>((int) -count);
      for (long i = 0; i < -count; i++) {
        out.add(from.get(rnd.nextInt(from.size())));
      }
      return out;
    }
    List<T> copy = new ArrayList<>(from);
    int n = (int) Math.min(count, copy.size());
    for (int i = 0; i < n; i++) {
      int j = i + rnd.nextInt(copy.size() - i);
      T t = copy.get(i);
      copy.set(i, copy.get(j));
      copy.set(j, t);
    }
    return copy.subList(0, n);
  }

  /** Refuses a count whose reply would be too large to build (see MAX_PICK). */
  static void checkCount(long count) {
    if (count < -MAX_PICK || count > MAX_PICK) {
      throw new IllegalArgumentException("count " + count + " is out of range: at most " + MAX_PICK + " either way");
    }
  }

  /** A key for an error message: its text, cut at 64 characters. */
  static String printable(byte[] key) {
    String s = new String(key, StandardCharsets.UTF_8);
    return s.length() <= 64 ? "'" + s + "'" : "'" + s.substring(0, 64) + "...'";
  }
}
