package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.random.RandomGenerator;

/*
 * Design: the point reads of a collection (HGET, HMGET, HEXISTS, HSTRLEN, HLEN, SISMEMBER,
 * SMISMEMBER, SCARD, ZSCORE, ZMSCORE, ZCARD) answered by walking the packed payload
 * (CollectionCodec's layout) where the store keeps it (Store.readTyped: a read-only view, under
 * the segment's read lock), instead of copying it to the heap and decoding it into a map. Decoding
 * allocates two arrays and a map entry per element (about 30,000 objects for a hash of 10,000
 * fields) and the copy the whole payload, to look up one; the walk allocates only what it
 * returns. On a payload in the plain layout it is a walk, O(size of the payload); a collection of
 * more than PackedIndex.INDEXED_ABOVE elements is in the indexed layout, where each name is found
 * through the offset table in O(1) probes and the count read from the header
 * (docs/BENCHMARKS.md, "Hashes and sets").
 *
 * Several names are looked up in the same pass; the callers use it for at most MAX_NAMES of them
 * (an HMGET of more decodes, so one command is never O(size x names)). A payload is read as
 * hostile, like CollectionCodec reads it: every length is checked against what is left.
 */

/** Point reads of packed hash, set and sorted-set payloads without decoding them. */
public final class PackedLookup {
  private PackedLookup() {}

  /** The most names one walk looks up; more are answered by decoding (CollectionCodec). */
  public static final int MAX_NAMES = 16;

  /**
   * The values of {@code fields} in a hash payload (null payload: an empty hash), null where a
   * field is absent or its expiry time (absolute Unix ms) is at or before {@code nowMillis}, as the
   * commands that decode hide it.
   */
  public static byte[][] hashValues(ByteBuffer payload, List<byte[]> fields, long nowMillis) {
    byte[][] out = new byte[fields.size()][];
    if (payload == null) {
      return out;
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, true);
      for (int f = 0; f < out.length; f++) {
        int slot = PackedIndex.find(opened, fields.get(f));
        if (slot >= 0) {
          out[f] = valueAt(opened, PackedIndex.elementAt(opened, slot)); // no field expiry times here
        }
      }
      return out;
    }
    int[] index = new int[fields.size()];
    Arrays.fill(index, -1);
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / 2);
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      int at = b.position();
      b.position(at + len);
      int valueLen = CollectionCodec.readVarint(b, b.remaining());
      int valueAt = b.position();
      b.position(valueAt + valueLen);
      for (int f = 0; f < out.length; f++) {
        byte[] field = fields.get(f);
        if (index[f] < 0 && field.length == len && same(b, at, field)) {
          index[f] = i;
          out[f] = new byte[valueLen];
          b.get(valueAt, out[f]);
        }
      }
    }
    if (b.hasRemaining()) {
      int m = CollectionCodec.readVarint(b, n);
      for (int j = 0; j < m; j++) {
        int i = CollectionCodec.readVarint(b, n - 1);
        long at = expiry(b);
        if (at <= nowMillis) {
          for (int f = 0; f < out.length; f++) {
            if (index[f] == i) {
              out[f] = null;
            }
          }
        }
      }
    }
    return out;
  }

  /** The fields of a hash payload (null: 0) whose expiry, if any, is after {@code nowMillis}. */
  public static int hashSize(ByteBuffer payload, long nowMillis) {
    if (payload == null) {
      return 0;
    }
    if (PackedIndex.isIndexed(payload)) {
      return PackedIndex.count(PackedIndex.open(payload, true));
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / 2);
    for (int i = 0; i < 2 * n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      b.position(b.position() + len);
    }
    int live = n;
    if (b.hasRemaining()) {
      int m = CollectionCodec.readVarint(b, n);
      for (int j = 0; j < m; j++) {
        CollectionCodec.readVarint(b, n - 1);
        if (expiry(b) <= nowMillis) {
          live--;
        }
      }
    }
    return live;
  }

  /** For each of {@code members}, whether a set payload (null: empty) holds it. */
  public static boolean[] setContains(ByteBuffer payload, List<byte[]> members) {
    boolean[] out = new boolean[members.size()];
    if (payload == null) {
      return out;
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, false);
      for (int k = 0; k < out.length; k++) {
        out[k] = PackedIndex.find(opened, members.get(k)) >= 0;
      }
      return out;
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining());
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      int at = b.position();
      b.position(at + len);
      for (int k = 0; k < out.length; k++) {
        byte[] member = members.get(k);
        if (!out[k] && member.length == len && same(b, at, member)) {
          out[k] = true;
        }
      }
    }
    return out;
  }

  /**
   * {@code count} distinct members of a set payload (null: empty) drawn at random, all of them
   * when it has no more, in the order drawn (SPOP): each draw is uniform over the members not yet
   * drawn, as a partial Fisher-Yates shuffle of the members gives. On an indexed payload, for at
   * most half of its members, each draw picks a slot of the offset table uniformly and draws again
   * on an empty or already drawn one: every member holds exactly one slot, so every member is
   * equally likely, and at least 1/8 of the slots are used (PackedIndex.fits), at least 1/16 still
   * undrawn, so a draw costs O(1) probes expected, never a walk. Otherwise (a plain payload, or
   * more than half of the members) the members are walked once and shuffled, O(size), which the
   * reply of more than half of them costs anyway.
   */
  public static List<byte[]> randomSetMembers(ByteBuffer payload, long count, RandomGenerator rnd) {
    if (count < 0) {
      throw new IllegalArgumentException("random members count " + count + " is negative");
    }
    if (payload == null || count == 0) {
      return List.of();
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, false);
      if (count <= PackedIndex.count(opened) / 2) {
        return PackedIndex.randomNames(opened, (int) count, rnd);
      }
    }
    CollectionCodec.Elements e = CollectionCodec.elements(payload, false);
    List<byte[]> all = new ArrayList<>(e.count());
    for (int i = 0; i < e.count(); i++) {
      all.add(CollectionCodec.readBytes(e.next()));
    }
    e.checkEnd();
    int n = (int) Math.min(count, all.size());
    for (int i = 0; i < n; i++) {
      Collections.swap(all, i, i + rnd.nextInt(all.size() - i));
    }
    return all.subList(0, n);
  }

  /** The members of a set or sorted-set payload (null: 0): its leading count (an indexed set's header's). */
  public static int count(ByteBuffer payload) {
    if (PackedIndex.isIndexed(payload)) {
      return PackedIndex.count(PackedIndex.open(payload, false));
    }
    return payload == null ? 0 : CollectionCodec.readVarint(payload.duplicate(), payload.remaining());
  }

  /** A copy of the value of the hash pair that starts at {@code at} (the field's length varint). */
  private static byte[] valueAt(ByteBuffer opened, int at) {
    ByteBuffer b = opened.duplicate();
    b.position(at);
    CollectionCodec.skipBytes(b);
    byte[] value = new byte[CollectionCodec.readVarint(b, b.remaining())];
    b.get(value);
    return value;
  }

  /** The scores of {@code members} in a sorted-set payload (null: empty), null where absent. */
  public static Double[] zsetScores(ByteBuffer payload, List<byte[]> members) {
    Double[] out = new Double[members.size()];
    if (payload == null) {
      return out;
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      int at = b.position();
      if (b.remaining() < len + Double.BYTES) {
        throw new IllegalStateException("sorted set payload truncated at byte " + at);
      }
      b.position(at + len);
      double score = b.getDouble();
      for (int k = 0; k < out.length; k++) {
        byte[] member = members.get(k);
        if (out[k] == null && member.length == len && same(b, at, member)) {
          out[k] = score;
        }
      }
    }
    return out;
  }

  /**
   * Whether the bytes at {@code at} in {@code b} are {@code name} (its length already compared).
   * The last byte first: names of one length often share a prefix ("f000000042", "user:17"), so it
   * refutes most of them with one read.
   */
  static boolean same(ByteBuffer b, int at, byte[] name) {
    int last = name.length - 1;
    if (last >= 0 && b.get(at + last) != name[last]) {
      return false;
    }
    for (int i = 0; i < last; i++) {
      if (b.get(at + i) != name[i]) {
        return false;
      }
    }
    return true;
  }

  private static long expiry(ByteBuffer b) {
    if (b.remaining() < Long.BYTES) {
      throw new IllegalStateException("hash field expiry truncated at byte " + b.position());
    }
    return b.getLong();
  }
}
