package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/** Redis's rules for a random pick with a count (HRANDFIELD, SRANDMEMBER), and key text for errors. */
final class RandomPicks {
  /** The largest |count| one pick answers: its reply is built in memory before it is sent. */
  static final long MAX_PICK = io.distcache.protocol.ProtocolConstants.MAX_RANDOM_PICK;

  /** Most draws made under the segment's read lock (drawInPlace); a larger count copies the collection first. */
  static final int DRAWS_IN_PLACE = 4096;

  private RandomPicks() {}

  /**
   * HRANDFIELD or SRANDMEMBER (extras: command, has count, count, and for a hash with values)
   * drawn from the collection where it lies (PackedLookup.randomElements, under the segment's read
   * lock): through the offset table of a large one, O(count) and not O(size), with Redis's rules
   * (distinct elements for a positive count, independent draws for a negative one); a field whose
   * time has come ({@code nowMillis}) is never drawn. Without a count: one element or NOT_FOUND.
   * Null, having read nothing, for a |count| past DRAWS_IN_PLACE, which would hold the read lock
   * that long: the caller's decoding path answers it.
   */
  static Frame drawInPlace(Store store, Frame r, ValueType type, long nowMillis) {
    boolean hasCount = r.extra(1, 0) != 0;
    long count = hasCount ? r.extra(2, 0) : 1;
    boolean values = type == ValueType.HASH && hasCount && r.extra(3, 0) != 0;
    checkCount(count);
    if (Math.abs(count) > DRAWS_IN_PLACE) {
      return null;
    }
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    List<byte[]> picked = store.readTyped(r.key(), type,
        p -> PackedLookup.randomElements(p, type == ValueType.HASH, count, values, nowMillis, rnd));
    if (!hasCount) {
      return picked.isEmpty() ? r.reply(Status.NOT_FOUND) : r.replyValue(picked.get(0));
    }
    return r.replyValue(ListCodec.encodeValues(picked));
  }

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

  /**
   * Refuses (TOO_LARGE) a pick whose elements pass MAX_RANDOM_PICK_BYTES before its reply is built:
   * the list holds references (a negative count repeats them), the reply would hold copies.
   */
  static void checkBytes(List<byte[]> picked) {
    long bytes = 0;
    for (byte[] b : picked) {
      bytes += b.length;
      PackedLookup.checkPickBytes(bytes);
    }
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
