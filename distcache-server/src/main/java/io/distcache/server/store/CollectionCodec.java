package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * Design: the payload of a collection entry, one packed array in the spirit of Redis's listpack:
 * a varint count, then per element a varint length and its bytes (a hash: field then value; a set:
 * the member). It is what the store keeps and what copies an entry whole (type, payload, version,
 * expiry). The point reads look into it where the store keeps it (PackedLookup) and the common
 * writes of a few named elements build the new payload from it by splicing (PackedEdit); every
 * other command decodes it into an insertion-ordered map, changes it and encodes it again, O(size).
 * A write copies the whole payload, which is why the number of elements per collection has a
 * limit (see CollectionLimits), checked before anything is decoded or allocated.
 *
 * A hash or set of more than PackedIndex.INDEXED_ABOVE (128) elements is kept in the indexed
 * layout instead (PackedIndex: a header that starts with a 0 byte, which no
 * stored count is, an offset table, then the same elements), so that the point reads and writes
 * find their elements in O(1) probes instead of a walk; encodeHash and encodeSet choose it by the
 * count, whatever wrote the payload before, and every decoder here reads both (elements()). An
 * indexed payload edited in place may hold dead runs between its elements (where removed ones
 * were: PackedIndex); every walk here skips them (Elements.next) and checks that they add up to
 * the header's count.
 *
 * A payload comes only from this class, but it is checked as if hostile: a count or length that
 * runs past the end is reported, never trusted for an allocation.
 *
 * Field expiry (HEXPIRE): a plain hash whose fields carry expiry times has a trailer after its
 * pairs: a varint count m, then m times (varint index of the field in the pairs, 8-byte big-endian
 * absolute Unix ms). The times live in the value, so everything that copies an entry whole
 * (replication effects, migration, RENAME, COPY, MEMORY USAGE) carries them without knowing of
 * them, and a hash without expiring fields is byte for byte what it was before the trailer
 * existed; a reader that ignores the trailer (decodeHash(payload)) still sees every field. A hash
 * of more than INDEXED_ABOVE fields with times is indexed with its times in the table instead
 * (PackedIndex.VERSION_TIMED: the trailer names fields by position, which the index's edits would
 * shift, so the times are kept per slot there).
 *
 * A sorted set (ZSET): a varint count, then per member a varint length, its bytes and its score
 * as an 8-byte big-endian IEEE 754 double, in ascending (score, member) order, which is the order
 * every range command walks (ScoredMembers keeps it while a command changes the set). A NaN score,
 * a member twice or members out of order are reported as a corrupt payload.
 */

/** Encodes and decodes hash, set and sorted-set payloads. */
public final class CollectionCodec {
  private CollectionCodec() {}

  /** A byte array compared by content, for map keys. */
  public record Bytes(byte[] b) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Bytes other && Arrays.equals(b, other.b);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(b);
    }
  }

  /** Decodes a hash payload (null: empty) in its stored order. */
  public static LinkedHashMap<Bytes, byte[]> decodeHash(byte[] payload) {
    if (payload == null) {
      return new LinkedHashMap<>();
    }
    Elements e = elements(ByteBuffer.wrap(payload), true);
    ByteBuffer b = e.b();
    int n = e.count();
    LinkedHashMap<Bytes, byte[]> out = new LinkedHashMap<>(Math.max(16, n * 4 / 3 + 1));
    for (int i = 0; i < n; i++) {
      byte[] field = readBytes(e.next());
      out.put(new Bytes(field), readBytes(b));
    }
    e.checkEnd(); // a plain hash's field expiry trailer is left to the other decodeHash
    return out;
  }

  /**
   * Decodes a hash payload (null: empty) in its stored order, putting the expiry of each field that
   * has one into {@code expiries} (absolute Unix ms).
   */
  public static LinkedHashMap<Bytes, byte[]> decodeHash(byte[] payload, Map<Bytes, Long> expiries) {
    if (payload == null) {
      return new LinkedHashMap<>();
    }
    Elements e = elements(ByteBuffer.wrap(payload), true);
    ByteBuffer b = e.b();
    int n = e.count();
    LinkedHashMap<Bytes, byte[]> out = new LinkedHashMap<>(Math.max(16, n * 4 / 3 + 1));
    boolean timed = e.indexed() && PackedIndex.timed(b);
    Bytes[] fields = timed ? null : new Bytes[n];
    for (int i = 0; i < n; i++) {
      Bytes field = new Bytes(readBytes(e.next()));
      if (!timed) {
        fields[i] = field;
      }
      out.put(field, readBytes(b));
    }
    e.checkEnd();
    if (timed) { // the times are the table's: one per slot, found through the slot's element
      ByteBuffer walker = b.duplicate();
      for (int s = 0, capacity = PackedIndex.capacity(b); s < capacity; s++) {
        long at = PackedIndex.timeAt(b, s);
        if (at != 0) {
          walker.position(PackedIndex.elementAt(b, s));
          expiries.put(new Bytes(readBytes(walker)), at);
        }
      }
      return out;
    }
    if (b.hasRemaining()) {
      int m = readVarint(b, n);
      for (int j = 0; j < m; j++) {
        int index = readVarint(b, n - 1);
        if (b.remaining() < 8) {
          throw new IllegalStateException("hash field expiry truncated at byte " + b.position());
        }
        long at = b.getLong();
        if (at <= 0) {
          throw new IllegalStateException("hash field expiry " + at + " at byte " + (b.position() - 8) + " is not a time");
        }
        expiries.put(fields[index], at);
      }
      if (b.hasRemaining()) {
        throw new IllegalStateException(b.remaining() + " bytes after the hash field expiries");
      }
    }
    return out;
  }

  /**
   * The earliest field expiry of a hash payload (absolute Unix ms), or 0 when no field has one.
   * Walks the payload without copying a field, for the active sweep.
   */
  public static long earliestFieldExpiry(byte[] payload) {
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(payload), true);
      return PackedIndex.timed(opened) ? PackedIndex.earliestTime(opened) : 0;
    }
    ByteBuffer b = ByteBuffer.wrap(payload);
    int n = readVarint(b, payload.length / 2);
    for (int i = 0; i < 2 * n; i++) {
      int len = readVarint(b, b.remaining());
      b.position(b.position() + len);
    }
    if (!b.hasRemaining()) {
      return 0;
    }
    int m = readVarint(b, n);
    long earliest = 0;
    for (int j = 0; j < m; j++) {
      readVarint(b, n - 1);
      if (b.remaining() < 8) {
        throw new IllegalStateException("hash field expiry truncated at byte " + b.position());
      }
      long at = b.getLong();
      earliest = earliest == 0 ? at : Math.min(earliest, at);
    }
    return earliest;
  }

  /**
   * {@link #earliestFieldExpiry(byte[])} of a payload read where it lies (a view from position 0):
   * a large hash's times are read from its table, a small hash is copied (at most INDEXED_ABOVE
   * fields).
   */
  public static long earliestFieldExpiry(ByteBuffer payload) {
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, true);
      return PackedIndex.timed(opened) ? PackedIndex.earliestTime(opened) : 0;
    }
    byte[] copy = new byte[payload.limit()];
    payload.get(0, copy);
    return earliestFieldExpiry(copy);
  }

  /** Decodes a set payload (null: empty) in its stored order; the map's values are unused. */
  public static LinkedHashMap<Bytes, Boolean> decodeSet(byte[] payload) {
    if (payload == null) {
      return new LinkedHashMap<>();
    }
    Elements e = elements(ByteBuffer.wrap(payload), false);
    ByteBuffer b = e.b();
    int n = e.count();
    LinkedHashMap<Bytes, Boolean> out = new LinkedHashMap<>(Math.max(16, n * 4 / 3 + 1));
    for (int i = 0; i < n; i++) {
      out.put(new Bytes(readBytes(e.next())), Boolean.TRUE);
    }
    e.checkEnd();
    return out;
  }

  /** The element count of a payload without decoding it. */
  public static int count(byte[] payload) {
    return PackedIndex.isIndexed(payload) // a timed one is a hash's: opened as pairs
        ? PackedIndex.count(PackedIndex.open(ByteBuffer.wrap(payload), payload[1] == PackedIndex.VERSION_TIMED))
        : readVarint(ByteBuffer.wrap(payload), payload.length);
  }

  /**
   * Where a hash's or set's elements are: {@code b} positioned at the first of {@code count}
   * elements, in either layout (plain, or indexed: PackedIndex). A walk calls next() before each
   * element, which skips the indexed layout's dead runs; there the elements run to the end of the
   * payload and the dead bytes add up to the header's, which checkEnd() checks after the walk.
   */
  static final class Elements {
    private final ByteBuffer b;
    private final int count;
    private final boolean indexed;
    /** The header's dead bytes (0: no run to look for) and the walk's so far. */
    private final int dead;
    private int skipped;
    /** Where the element with the empty name starts (PackedIndex.emptyAt), looked up when there are dead runs. */
    private final int emptyAt;

    private Elements(ByteBuffer b, int count, boolean indexed, int dead, int emptyAt) {
      this.b = b;
      this.count = count;
      this.indexed = indexed;
      this.dead = dead;
      this.emptyAt = emptyAt;
    }

    ByteBuffer b() {
      return b;
    }

    int count() {
      return count;
    }

    boolean indexed() {
      return indexed;
    }

    /** Positions b at the next element: past the dead runs before it (the indexed layout only). */
    ByteBuffer next() {
      if (dead > 0) {
        skipped += PackedIndex.skipDead(b, emptyAt);
      }
      return b;
    }

    void checkEnd() {
      if (!indexed) {
        return;
      }
      next();
      if (b.hasRemaining()) {
        throw new IllegalStateException(b.remaining() + " bytes after the indexed collection's " + count + " elements");
      }
      if (skipped != dead) {
        throw new IllegalStateException("indexed collection has " + skipped + " dead bytes where its header says "
            + dead);
      }
    }
  }

  /** The elements of a hash ({@code pairs}) or set payload view (from position 0), read as hostile. */
  static Elements elements(ByteBuffer payload, boolean pairs) {
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer b = PackedIndex.open(payload, pairs);
      int dead = PackedIndex.dead(b);
      int emptyAt = dead > 0 ? PackedIndex.emptyAt(b) : -1;
      b.position(PackedIndex.elementsAt(b));
      return new Elements(b, PackedIndex.count(b), true, dead, emptyAt);
    }
    ByteBuffer b = payload.duplicate();
    b.position(0);
    int n = readVarint(b, pairs ? b.remaining() / 2 : b.remaining());
    return new Elements(b, n, false, 0, -1);
  }

  public static byte[] encodeHash(Map<Bytes, byte[]> hash) {
    return encodeHash(hash, Map.of());
  }

  /** A hash payload with the expiries of its fields (those of fields not in {@code hash} are ignored). */
  public static byte[] encodeHash(Map<Bytes, byte[]> hash, Map<Bytes, Long> expiries) {
    int timed = 0;
    if (!expiries.isEmpty()) {
      for (Bytes f : hash.keySet()) {
        if (expiries.containsKey(f)) {
          timed++;
        }
      }
    }
    long size = varintSize(hash.size());
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      size += varintSize(e.getKey().b().length) + e.getKey().b().length + varintSize(e.getValue().length)
          + e.getValue().length;
    }
    if (hash.size() > PackedIndex.INDEXED_ABOVE) {
      ByteBuffer b = startIndexed(size - varintSize(hash.size()), hash.size(), timed > 0);
      for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
        writeBytes(b, e.getKey().b());
        writeBytes(b, e.getValue());
      }
      PackedIndex.build(b, hash.size(), true);
      if (timed > 0) { // each time in its field's slot, one lookup per timed field
        int capacity = PackedIndex.capacity(b);
        long earliest = Long.MAX_VALUE;
        for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
          Long at = expiries.get(e.getKey());
          if (at != null) {
            PackedIndex.timeAt(b, capacity, PackedIndex.find(b, e.getKey().b()), at);
            earliest = Math.min(earliest, at);
          }
        }
        PackedIndex.earliest(b, capacity, earliest);
      }
      return b.array();
    }
    if (timed > 0) {
      size += varintSize(timed) + (long) timed * (5 + 8);
    }
    ByteBuffer b = allocate(size);
    writeVarint(b, hash.size());
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      writeBytes(b, e.getKey().b());
      writeBytes(b, e.getValue());
    }
    if (timed > 0) {
      writeVarint(b, timed);
      int index = 0;
      for (Bytes f : hash.keySet()) {
        Long at = expiries.get(f);
        if (at != null) {
          writeVarint(b, index);
          b.putLong(at);
        }
        index++;
      }
      return Arrays.copyOf(b.array(), b.position()); // the index varints were counted at their widest
    }
    return b.array();
  }

  public static byte[] encodeSet(Iterable<Bytes> members, int count) {
    long size = varintSize(count);
    for (Bytes m : members) {
      size += varintSize(m.b().length) + m.b().length;
    }
    if (count > PackedIndex.INDEXED_ABOVE) {
      ByteBuffer b = startIndexed(size - varintSize(count), count, false);
      for (Bytes m : members) {
        writeBytes(b, m.b());
      }
      PackedIndex.build(b, count, false);
      return b.array();
    }
    ByteBuffer b = allocate(size);
    writeVarint(b, count);
    for (Bytes m : members) {
      writeBytes(b, m.b());
    }
    return b.array();
  }

  /**
   * A buffer for an indexed payload (PackedIndex) of {@code count} elements in
   * {@code elementBytes}: its header written, its table empty, positioned at the elements.
   */
  static ByteBuffer startIndexed(long elementBytes, int count, boolean timed) {
    int capacity = PackedIndex.capacityFor(count);
    int elementsAt = PackedIndex.elementsAt(capacity, timed);
    ByteBuffer b = allocate(elementsAt + elementBytes);
    PackedIndex.writeHeader(b, count, capacity, 0, timed);
    b.position(elementsAt);
    return b;
  }

  /**
   * Decodes a sorted-set payload (null: empty) into its members in stored order, checking that the
   * order is ascending by (score, member) with no member twice and no NaN.
   */
  public static java.util.ArrayList<ScoredMembers.Scored> decodeZset(byte[] payload) {
    if (payload == null) {
      return new java.util.ArrayList<>();
    }
    ByteBuffer b = ByteBuffer.wrap(payload);
    int n = readVarint(b, payload.length / (1 + Double.BYTES));
    java.util.ArrayList<ScoredMembers.Scored> out = new java.util.ArrayList<>(n);
    ScoredMembers.Scored previous = null;
    for (int i = 0; i < n; i++) {
      byte[] member = readBytes(b);
      if (b.remaining() < Double.BYTES) {
        throw new IllegalStateException("sorted set payload truncated at byte " + b.position());
      }
      double score = b.getDouble();
      ScoredMembers.Scored s = new ScoredMembers.Scored(member, score);
      if (Double.isNaN(score) || previous != null && ScoredMembers.ORDER.compare(previous, s) >= 0) {
        throw new IllegalStateException("sorted set payload is out of order (or has a NaN score) at member " + i);
      }
      out.add(s);
      previous = s;
    }
    if (b.hasRemaining()) {
      throw new IllegalStateException(b.remaining() + " bytes after the sorted set's members");
    }
    return out;
  }

  /**
   * Reads the length of the sorted-set element at {@code b}'s position and checks that its member
   * and score are there: returns the member's length, {@code b} positioned at the member.
   */
  static int zsetMemberLength(ByteBuffer b) {
    int len = readVarint(b, b.remaining());
    if (b.remaining() < len + Double.BYTES) {
      throw new IllegalStateException("sorted set payload truncated at byte " + b.position());
    }
    return len;
  }

  /** A sorted-set payload of members already in ascending (score, member) order. */
  public static byte[] encodeZset(java.util.List<ScoredMembers.Scored> members) {
    long size = varintSize(members.size());
    for (ScoredMembers.Scored m : members) {
      size += varintSize(m.member().length) + m.member().length + Double.BYTES;
    }
    ByteBuffer b = allocate(size);
    writeVarint(b, members.size());
    for (ScoredMembers.Scored m : members) {
      writeBytes(b, m.member());
      b.putDouble(m.score());
    }
    return b.array();
  }

  private static ByteBuffer allocate(long size) {
    if (size > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "collection of " + size + " bytes exceeds 2^31");
    }
    return ByteBuffer.allocate((int) size);
  }

  static byte[] readBytes(ByteBuffer b) {
    byte[] out = new byte[elementLength(b)];
    b.get(out);
    return out;
  }

  /** Skips one length-prefixed element at {@code b}'s position (its length checked against what is left). */
  static void skipBytes(ByteBuffer b) {
    int len = elementLength(b);
    b.position(b.position() + len);
  }

  /**
   * Reads an element's length prefix and checks it against the bytes left after the prefix (the
   * varint's own bytes are no longer left: a corrupt length up to them once passed the end with a
   * buffer exception instead of the codec's error, found by PackedEditInPlaceTest's property).
   */
  private static int elementLength(ByteBuffer b) {
    int len = readVarint(b, b.remaining());
    if (len > b.remaining()) {
      throw new IllegalStateException("collection payload length " + len + " exceeds the " + b.remaining()
          + " bytes left");
    }
    return len;
  }

  static void writeBytes(ByteBuffer b, byte[] bytes) {
    writeVarint(b, bytes.length);
    b.put(bytes);
  }

  /** A varint no larger than {@code max} (what the rest of the payload could hold). */
  static int readVarint(ByteBuffer b, int max) {
    int v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (!b.hasRemaining()) {
        throw new IllegalStateException("collection payload truncated at byte " + b.position());
      }
      int x = b.get() & 0xFF;
      v |= (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        if (v < 0 || v > max) {
          throw new IllegalStateException("collection payload length " + v + " exceeds the " + max + " bytes left");
        }
        return v;
      }
    }
    throw new IllegalStateException("collection payload varint longer than 5 bytes at " + b.position());
  }

  static void writeVarint(ByteBuffer b, int v) {
    while ((v & ~0x7F) != 0) {
      b.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    b.put((byte) v);
  }

  static int varintSize(int v) {
    int n = 1;
    while ((v >>>= 7) != 0) {
      n++;
    }
    return n;
  }
}
