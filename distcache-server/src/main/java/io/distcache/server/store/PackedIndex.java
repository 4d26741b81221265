package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;

/*
 * Design: the index of a large hash or set payload, an open-addressing hash table of element
 * offsets, so that a point read or write finds its element in O(1) probes instead of walking the
 * payload (docs/ARCHITECTURE.md, "Collections"). A collection of more than INDEXED_ABOVE elements
 * (128, Redis's hash-max-listpack-entries and set-max-listpack-entries) is kept in this layout, a
 * hash with field expiry times too (VERSION_TIMED, below); a smaller one stays in the plain packed
 * layout (CollectionCodec), its field times in a trailer. Which of the two a payload is, is a
 * function of its count, whichever path wrote it.
 *
 *   byte 0      0x00: the marker. A plain payload starts with its varint count, and an empty
 *               collection is never stored (its key is removed), so a payload that starts with 0
 *               and has more bytes can be nothing else; a lone 0 is still the empty collection.
 *   byte 1      VERSION (2: this layout, linear probing, hash() below, dead runs; 1 had no dead
 *               bytes field and is not read: nothing persists across a restart), or
 *               VERSION_TIMED (3: a hash with field expiry times, with the times below)
 *   bytes 2-5   the element count, big-endian
 *   bytes 6-9   the table's capacity, a power of two, big-endian
 *   bytes 10-13 the dead bytes among the elements (below), big-endian
 *   table       capacity slots of 4 bytes, big-endian: 0 for an empty slot, else 1 + the offset
 *               of an element (its length varint) from the start of the elements
 *   times       VERSION_TIMED only: 8 bytes, the earliest (a bound: no field's time is before
 *               it; Long.MAX_VALUE when none has one), then capacity times of 8 bytes, slot by
 *               slot: the absolute expiry (Unix ms) of the field in that slot, 0 for none and
 *               for an empty slot
 *   elements    the plain layout's elements (a hash: field then value), to the end of the
 *               payload, with dead runs between them; no field expiry trailer
 *
 * Field times beside the table (issue 13: a large hash with field times was kept plain, with the
 * trailer, and every command on it walked or decoded it): a field's time lives in its slot's time,
 * so a read finds both with one lookup and hides a field whose time has come, and HTTL, HEXPIRE
 * and HPERSIST touch 8 bytes. Every move of a slot (remove()'s shift of a cluster) moves its time
 * with it, and offsets never name times, so the edits in place (PackedEdit) keep working: they
 * write the named fields' times after the table is edited. The earliest bound lets a command know
 * in O(1) that no field has expired (a read then needs no check past its own fields' times, a
 * write no reaping first); a write that removes the earliest field leaves the bound where it was,
 * so a bound at or before now only sends the command to the exact answer (a pass over the times,
 * or the decoding path, which writes the exact bound). A timed payload stays timed when its last
 * time goes (until a decoding write encodes it anew); a set is never timed.
 *
 * Dead runs (issue 13) are where removed elements were: an element removed where it lies, or one
 * whose length changed (written again after the last one), leaves its bytes as a dead run that
 * every walk skips, so neither moves the bytes after it nor any offset in the table: O(element).
 * A run of n >= 2 bytes starts with n as a varint whose last byte carries the continuation bit,
 * followed by a 0 byte (varint(n) | 0x80 on its last byte, then 0x00; the rest of the run is not
 * read): writeVarint never writes a length so (its last byte is never 0 after a continuation), so
 * no element starts that way. A run of 1 byte (only the empty member of a set is 1 byte long) is a
 * 0 byte, which is also how the element with the empty name starts: a walk tells the two apart by
 * the table, which finds the empty name at one offset only (emptyAt, looked up once per walk). The
 * header counts the dead bytes; PackedEdit compacts (rebuilds the payload without them) when a
 * write would leave more than a quarter of the elements' bytes dead (the table not counted: a
 * walk such as HGETALL's covers the elements only, so it covers at most 4/3 of the live bytes),
 * so the waste is bounded and the compaction's O(payload) is paid for by the at least
 * elements/4 bytes removed since the last one (the table is at most 32 bytes per live element,
 * PackedIndex.fits): amortised O(1) per byte removed. The order of the live elements is the order of
 * their bytes: insertion order, except that an element written again after the last one (a value
 * whose length changed) moves there.
 *
 * Offsets count from the start of the elements, so a count that changes, or a table copied
 * whole, moves none of them. The table is sized so at most 3/4 of its slots are used
 * (capacityFor: at most 2/3 when built), which keeps linear probing short (about 2 probes for a
 * hit, 5 for a miss at 2/3) and leaves an empty slot that ends every probe. A removal empties its
 * slot by shifting the rest of its cluster back (the table has no tombstones; the elements' dead
 * runs are another thing), so the count of used slots is the count of elements. The table costs 4 x capacity bytes: 6-13 bytes per element.
 *
 * The layout is the same wherever a payload is: built on the heap, or edited where the store
 * keeps it (PackedEdit.applyInPlace: a large collection's buffer has room after the payload,
 * which is not part of it). So a copy of the payload (replication, migration, RENAME, COPY) is a
 * payload like any other, and every reader decodes it unchanged. Slots hold offsets, never
 * addresses, so the payload can be copied or moved anywhere.
 *
 * The hash is fixed (a seedless 64-bit multiply-xorshift mix of the element's bytes), because the
 * payload is copied whole to replicas and migration targets, which read the same table. A client
 * that picks fields which collide makes one lookup as long as the walk it replaces (every probe
 * ends at an empty slot or after capacity slots), but a build of the whole table would be
 * quadratic (a reviewer: 16,384 colliding fields took 208 ms per build, 65,536 took 3 s): a build
 * that passes BUILD_PROBES_PER_ELEMENT probes per element is refused (TOO_LARGE), so such a
 * collection stops growing where its next build would be (a per-payload seed in the header would
 * remove the cause; not done).
 *
 * The payload is read as hostile, as CollectionCodec reads it: the header is checked against the
 * payload's size, every slot's offset against the elements' bounds, every length read at an
 * offset (an element's or a dead run's) against what is left, and a walk's dead bytes against the
 * header's; a table with no empty slot is reported, and open() refuses a count outside the 1/8-3/4
 * load this code keeps (fits). A payload from a peer is checked whole before it is stored
 * (checkArrived: every slot, called by the replication codec), so a table that would make draws
 * slow is refused where it arrives, and so are times that could make a read show an expired field
 * (one before the earliest bound, or one on an empty slot). What is reported is the codec's IllegalStateException. The reads check bounds, not that each slot points at the
 * start of an element (that would be a walk); verify() checks that, for tests.
 */

/** The offset table of an indexed hash or set payload (the layout above). */
public final class PackedIndex {
  private PackedIndex() {}

  /** A collection of more elements than this is indexed (a hash with field expiry times too, VERSION_TIMED). */
  public static final int INDEXED_ABOVE = 128;

  static final byte VERSION = 2;
  /** The layout of a hash with field expiry times: VERSION's, with the times' table (see above). */
  static final byte VERSION_TIMED = 3;
  static final int HEADER = 14;
  private static final int COUNT_AT = 2;
  private static final int CAPACITY_AT = 6;
  private static final int DEAD_AT = 10;
  private static final byte[] EMPTY_NAME = {};
  private static final int SLOT = Integer.BYTES;

  /** Whether {@code payload} (a view from position 0; null: absent) is in the indexed layout. */
  public static boolean isIndexed(ByteBuffer payload) {
    return payload != null && payload.limit() > 1 && payload.get(0) == 0;
  }

  /** Whether {@code payload} (null: absent) is in the indexed layout. */
  public static boolean isIndexed(byte[] payload) {
    return payload != null && payload.length > 1 && payload[0] == 0;
  }

  /** A big-endian view of {@code payload} from position 0, its header checked (see above). */
  static ByteBuffer open(ByteBuffer payload, boolean pairs) {
    ByteBuffer b = payload.duplicate().order(ByteOrder.BIG_ENDIAN);
    b.position(0);
    if (b.limit() < HEADER) {
      throw new IllegalStateException("indexed collection payload of " + b.limit() + " bytes is shorter than its "
          + HEADER + "-byte header");
    }
    byte version = b.get(1);
    if (version != VERSION && (version != VERSION_TIMED || !pairs)) {
      throw new IllegalStateException("indexed " + (pairs ? "hash" : "set") + " payload version " + version
          + " is not " + (pairs ? VERSION + " or " + VERSION_TIMED : VERSION));
    }
    boolean timed = version == VERSION_TIMED;
    int capacity = b.getInt(CAPACITY_AT);
    if (capacity <= 0 || Integer.bitCount(capacity) != 1 || capacity > MAX_CAPACITY
        || capacity > (b.limit() - HEADER - (timed ? Long.BYTES : 0)) / (timed ? SLOT + Long.BYTES : SLOT)) {
      throw new IllegalStateException("indexed collection capacity " + capacity + " is not a power of two that fits "
          + "the payload's " + b.limit() + " bytes");
    }
    int elements = b.limit() - elementsAt(capacity, timed);
    int dead = b.getInt(DEAD_AT);
    if (dead < 0 || dead > elements) {
      throw new IllegalStateException("indexed collection dead bytes " + dead + " do not fit its " + elements
          + " bytes of elements");
    }
    int count = b.getInt(COUNT_AT);
    int live = elements - dead;
    if (!fits(capacity, count) || count > (pairs ? live / 2 : live)) { // fits: a count from 1/8 to 3/4 of the slots
      throw new IllegalStateException("indexed collection count " + count + " does not fit its capacity " + capacity
          + " (from 1/8 to 3/4 of it) and " + live + " live bytes of elements");
    }
    return b;
  }

  /**
   * Checks an indexed payload that came from outside this node (a peer's replication, full copy or
   * migration: hostile bytes) before the store takes it: the header as {@link #open} checks it
   * (the count from 1/8 to 3/4 of the capacity), and one pass over the
   * table: as many used slots as the count says, each offset within the elements. A table with
   * fewer used slots than its count would make every random draw miss RANDOM_MISSES times and then
   * scan the table (slow, not wrong); one with more, lookups long. O(capacity), no allocation; it
   * does not check that each offset is an element's start (verify() does, one lookup per element):
   * a slot pointing elsewhere answers wrongly for its name, within the value's bounds.
   *
   * @throws IllegalStateException naming what is malformed
   */
  public static void checkArrived(ByteBuffer payload, boolean pairs) {
    ByteBuffer opened = open(payload, pairs);
    int capacity = capacity(opened);
    int elementsAt = elementsAt(opened);
    boolean timed = timed(opened);
    long earliest = timed ? earliest(opened) : 0;
    int used = 0;
    for (int s = 0; s < capacity; s++) {
      int v = opened.getInt(HEADER + s * SLOT);
      if (v != 0) {
        checkedStart(opened, elementsAt, v);
        used++;
      }
      if (timed) {
        checkTime(opened, s, v != 0, earliest);
      }
    }
    if (used != count(opened)) {
      throw new IllegalStateException("indexed collection table holds " + used + " offsets for its count "
          + count(opened) + " of elements");
    }
  }

  /**
   * A slot's time in a timed payload that came from outside: none (0) for an empty slot, else none
   * or a positive time no earlier than the header's earliest. A header that claimed a later
   * earliest than a field's time would let a read skip hiding that field once its time came.
   */
  private static void checkTime(ByteBuffer opened, int slot, boolean used, long earliest) {
    long at = timeAt(opened, slot);
    if (at < 0 || at != 0 && (!used || at < earliest)) {
      throw new IllegalStateException("indexed hash slot " + slot + (used ? "" : " (empty)") + " has field time " + at
          + (used ? " before the header's earliest " + earliest : ""));
    }
  }

  /** Whether {@code slot} of an opened payload's table holds an element. */
  static boolean used(ByteBuffer opened, int slot) {
    return opened.getInt(HEADER + slot * SLOT) != 0;
  }

  /** Whether an opened payload is a hash with field expiry times (VERSION_TIMED, see above). */
  static boolean timed(ByteBuffer opened) {
    return opened.get(1) == VERSION_TIMED;
  }

  /**
   * The time of the field in {@code slot} of an opened timed payload (absolute Unix ms), 0 when it
   * has none (or the slot is empty).
   */
  static long timeAt(ByteBuffer opened, int slot) {
    return opened.getLong(timesAt(capacity(opened)) + slot * Long.BYTES); // open() checked that the times fit
  }

  /** Sets the time of the field in {@code slot} of a timed payload (0: none). */
  static void timeAt(ByteBuffer out, int capacity, int slot, long at) {
    out.putLong(timesAt(capacity) + slot * Long.BYTES, at);
  }

  /**
   * A timed payload's earliest field time: no field's time is before it (Long.MAX_VALUE: no field
   * has one). A bound, not always a field's time: a write that removes the earliest field leaves
   * it, so a reader that finds it at or before now looks at the times themselves.
   */
  static long earliest(ByteBuffer opened) {
    return opened.getLong(HEADER + capacity(opened) * SLOT);
  }

  static void earliest(ByteBuffer out, int capacity, long at) {
    out.putLong(HEADER + capacity * SLOT, at);
  }

  /** Where a timed payload's per-slot times start: after the table and the earliest time. */
  private static int timesAt(int capacity) {
    return HEADER + capacity * SLOT + Long.BYTES;
  }

  /**
   * The exact earliest field time of an opened timed payload (one pass over the times, no
   * allocation), or 0 when no field has one.
   */
  static long earliestTime(ByteBuffer opened) {
    int capacity = capacity(opened);
    long earliest = 0;
    for (int s = 0, at = timesAt(capacity); s < capacity; s++, at += Long.BYTES) {
      long t = opened.getLong(at);
      if (t > 0 && (earliest == 0 || t < earliest)) {
        earliest = t;
      }
    }
    return earliest;
  }

  /** An opened payload's dead bytes (see above). */
  static int dead(ByteBuffer opened) {
    return opened.getInt(DEAD_AT);
  }

  /**
   * The position of the live element with the empty name in an opened payload, or -1: the one
   * place where a 0 byte starts an element rather than a 1-byte dead run.
   */
  static int emptyAt(ByteBuffer opened) {
    int slot = find(opened, EMPTY_NAME);
    return slot < 0 ? -1 : elementAt(opened, slot);
  }

  /**
   * The length of the dead run at {@code at} in an opened payload ({@code at} below its limit),
   * or 0 when an element starts there; {@code emptyAt} is emptyAt()'s answer. A run's length is
   * checked against what is left; an element's bytes are left to the element's reader.
   */
  static int deadRunAt(ByteBuffer opened, int at, int emptyAt) {
    int x = opened.get(at) & 0xFF;
    if (x == 0) {
      return at == emptyAt ? 0 : 1;
    }
    int run = 0;
    for (int i = 0; (x & 0x80) != 0 && i < 5; i++) {
      run |= (x & 0x7F) << (7 * i);
      if (at + i + 1 >= opened.limit()) {
        return 0; // a length varint that runs past the end: its element's reader reports it
      }
      x = opened.get(at + i + 1) & 0xFF;
      if (x == 0) {
        if (run < i + 2 || run > opened.limit() - at) {
          throw new IllegalStateException("indexed collection dead run of " + run + " bytes at " + at
              + " does not fit the " + (opened.limit() - at) + " bytes left");
        }
        return run;
      }
    }
    return 0;
  }

  /**
   * Moves {@code b} (a view of an opened payload) past the dead runs at its position, up to its
   * limit; returns the bytes skipped.
   */
  static int skipDead(ByteBuffer b, int emptyAt) {
    int skipped = 0;
    while (b.hasRemaining()) {
      int run = deadRunAt(b, b.position(), emptyAt);
      if (run == 0) {
        break;
      }
      b.position(b.position() + run);
      skipped += run;
    }
    return skipped;
  }

  /** Writes a dead run of {@code length} >= 1 bytes at {@code at} in {@code out} (see above). */
  static void writeDead(ByteBuffer out, int at, int length) {
    if (length == 1) {
      out.put(at, (byte) 0);
      return;
    }
    int v = length;
    while ((v & ~0x7F) != 0) {
      out.put(at++, (byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put(at, (byte) (v | 0x80)).put(at + 1, (byte) 0);
  }

  /** An opened payload's element count. */
  static int count(ByteBuffer opened) {
    return opened.getInt(COUNT_AT);
  }

  /** An opened payload's table capacity. */
  static int capacity(ByteBuffer opened) {
    return opened.getInt(CAPACITY_AT);
  }

  /** Where the elements start in a payload (without field times) whose table has {@code capacity} slots. */
  static int elementsAt(int capacity) {
    return HEADER + capacity * SLOT;
  }

  /**
   * Where the elements start in a payload whose table has {@code capacity} slots, {@code timed}:
   * after the times too (the earliest, then one per slot).
   */
  static int elementsAt(int capacity, boolean timed) {
    if (!timed) {
      return elementsAt(capacity);
    }
    long at = HEADER + (long) capacity * (SLOT + Long.BYTES) + Long.BYTES;
    if (at > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "an index of " + capacity
          + " slots with field times passes 2^31 bytes");
    }
    return (int) at;
  }

  /** Where the elements start in an opened payload. */
  static int elementsAt(ByteBuffer opened) {
    return elementsAt(capacity(opened), timed(opened));
  }

  /** The most slots a table may have: 1 GiB of offsets, twice the largest value the store accepts. */
  static final int MAX_CAPACITY = 1 << 28;

  /**
   * The table's capacity for {@code count} elements: a power of two at least 3/2 of it. Past
   * MAX_CAPACITY (which also keeps elementsAt() within an int) the value is refused as too large,
   * as the store would refuse it.
   */
  static int capacityFor(int count) {
    long wanted = Math.max(4L, (long) count + (count + 1) / 2);
    if (wanted > MAX_CAPACITY) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "an index for " + count + " elements needs more than "
          + MAX_CAPACITY + " slots");
    }
    return Integer.highestOneBit((int) wanted - 1) << 1;
  }

  /** Whether a table of {@code capacity} slots can keep {@code count} elements without a rebuild. */
  static boolean fits(int capacity, int count) {
    return count <= capacity - capacity / 4 && (long) count * 8 >= capacity;
  }

  /** Writes the header of an indexed payload into {@code out} at 0. */
  static void writeHeader(ByteBuffer out, int count, int capacity, int dead) {
    writeHeader(out, count, capacity, dead, false);
  }

  /** Writes the header of an indexed payload, {@code timed}: a hash with field times (VERSION_TIMED). */
  static void writeHeader(ByteBuffer out, int count, int capacity, int dead, boolean timed) {
    out.put(0, (byte) 0).put(1, timed ? VERSION_TIMED : VERSION).putInt(COUNT_AT, count).putInt(CAPACITY_AT, capacity).putInt(DEAD_AT, dead);
  }

  /** Zeroes the {@code capacity} slots of {@code out}'s table (a build needs them empty). */
  static void clearTable(ByteBuffer out, int capacity) {
    clearTable(out, capacity, false);
  }

  /** Zeroes {@code out}'s table, and {@code timed}: its times, the earliest set to none. */
  static void clearTable(ByteBuffer out, int capacity, boolean timed) {
    for (int at = HEADER, end = elementsAt(capacity); at < end; at += Long.BYTES) { // capacity >= 4: 16-byte steps
      out.putLong(at, 0L);
    }
    if (timed) {
      clearTimes(out, capacity);
    }
  }

  /** Zeroes the times of {@code out}, a timed payload's (no field has one), and sets the earliest to none. */
  static void clearTimes(ByteBuffer out, int capacity) {
    for (int at = timesAt(capacity), end = elementsAt(capacity, true); at < end; at += Long.BYTES) {
      out.putLong(at, 0L);
    }
    earliest(out, capacity, Long.MAX_VALUE);
  }

  /**
   * The slot of the element named {@code name} in an opened payload, or -1 when absent. The
   * element's start is {@link #elementAt}.
   */
  static int find(ByteBuffer opened, byte[] name) {
    int capacity = capacity(opened);
    int mask = capacity - 1;
    int elementsAt = elementsAt(opened);
    ByteBuffer walker = opened.duplicate();
    for (int probe = 0, s = hash(ByteBuffer.wrap(name), 0, name.length) & mask; probe < capacity;
        probe++, s = (s + 1) & mask) {
      int v = opened.getInt(HEADER + s * SLOT);
      if (v == 0) {
        return -1;
      }
      walker.position(checkedStart(opened, elementsAt, v));
      int len = CollectionCodec.readVarint(walker, walker.remaining());
      if (len == name.length && PackedLookup.same(walker, walker.position(), name)) {
        return s;
      }
    }
    throw new IllegalStateException("indexed collection table of " + capacity + " slots has no empty slot");
  }

  /**
   * Where {@code count} elements of an opened payload drawn at random start (their name's length
   * varint), each uniform: a uniform slot, drawn again when empty (or, {@code distinct}, drawn
   * before), so every element, holding exactly one slot, is equally likely whatever the dead runs
   * and the clusters. {@code distinct} draws (PackedLookup.randomElements; {@code count} at most
   * half the elements) are uniform over the elements not drawn yet; the others are independent
   * (HRANDFIELD's and SRANDMEMBER's negative counts). At least 1/8 of the slots are used
   * (PackedIndex.fits), at least 1/16 still undrawn, so a draw costs O(1) probes expected. After
   * RANDOM_MISSES misses in a row ((15/16)^1024, about 1e-29, for a table this code wrote) the draw
   * takes the next qualifying slot from a random one, so a corrupt table (a count above its used
   * slots) ends in the codec's error, not a loop.
   */
  static int[] randomElements(ByteBuffer opened, int count, boolean distinct, java.util.random.RandomGenerator rnd) {
    int capacity = capacity(opened);
    int mask = capacity - 1;
    int[] out = new int[count];
    java.util.HashSet<Integer> drawn = distinct ? new java.util.HashSet<>(count * 4 / 3 + 1) : null;
    for (int k = 0; k < count; k++) {
      int slot = -1;
      for (int miss = 0; slot < 0 && miss < RANDOM_MISSES; miss++) {
        int s = rnd.nextInt(capacity);
        if (opened.getInt(HEADER + s * SLOT) != 0 && (drawn == null || !drawn.contains(s))) {
          slot = s;
        }
      }
      for (int probe = 0, s = rnd.nextInt(capacity); slot < 0 && probe < capacity; probe++, s = (s + 1) & mask) {
        if (opened.getInt(HEADER + s * SLOT) != 0 && (drawn == null || !drawn.contains(s))) {
          slot = s;
        }
      }
      if (slot < 0) {
        throw new IllegalStateException("indexed collection table of " + capacity + " slots holds fewer than its count "
            + count(opened) + " of elements");
      }
      if (drawn != null) {
        drawn.add(slot);
      }
      out[k] = elementAt(opened, slot);
    }
    return out;
  }

  /** Misses in a row after which randomElements() stops drawing slots for one name (see there). */
  static final int RANDOM_MISSES = 1024;

  /** The absolute position of the element in slot {@code slot} of an opened payload. */
  static int elementAt(ByteBuffer opened, int slot) {
    return checkedStart(opened, elementsAt(opened), opened.getInt(HEADER + slot * SLOT));
  }

  private static int checkedStart(ByteBuffer opened, int elementsAt, int slotValue) {
    long at = (long) elementsAt + (slotValue - 1L);
    if (slotValue <= 0 || at >= opened.limit()) {
      throw new IllegalStateException("indexed collection slot value " + slotValue + " is outside the "
          + (opened.limit() - elementsAt) + " bytes of elements");
    }
    return (int) at;
  }

  /**
   * Fills the table of {@code out} (header written, capacity slots zero) from its {@code count}
   * elements, which run from the table's end to {@code out}'s limit with no dead runs (a payload
   * just written whole): one walk.
   */
  static void build(ByteBuffer out, int count, boolean pairs) {
    int capacity = capacity(out);
    int elementsAt = elementsAt(out);
    ByteBuffer b = out.duplicate();
    b.position(elementsAt);
    long probesLeft = BUILD_PROBES_PER_ELEMENT * count + BUILD_PROBES_SLACK;
    for (int i = 0; i < count; i++) {
      int at = b.position();
      int len = CollectionCodec.readVarint(b, b.remaining());
      int h = hash(b, b.position(), len);
      b.position(b.position() + len);
      if (pairs) {
        int valueLen = CollectionCodec.readVarint(b, b.remaining());
        b.position(b.position() + valueLen);
      }
      probesLeft -= insert(out, capacity, h, at - elementsAt);
      if (probesLeft < 0) {
        // Names chosen to collide (the hash is fixed and, for short names, invertible: a reviewer
        // built 16,384 fields of one slot, and one write's build took 208 ms instead of 6.5):
        // refused before the build turns quadratic. Random names average under 3 probes each.
        throw new StoreException(StoreException.Reason.TOO_LARGE, "the " + count + " names of this collection"
            + " collide in its index (more than " + BUILD_PROBES_PER_ELEMENT + " probes per name); refused");
      }
    }
    if (b.hasRemaining()) {
      throw new IllegalStateException(b.remaining() + " bytes after the indexed collection's " + count + " elements");
    }
  }

  /** The probes one build may make per element, and beyond them in all (see build). */
  static final long BUILD_PROBES_PER_ELEMENT = 32;
  static final long BUILD_PROBES_SLACK = 4096;

  /**
   * Puts the element at {@code offset} (from the elements' start) whose name hashes to {@code h};
   * returns the probes it took.
   */
  static int insert(ByteBuffer out, int capacity, int h, int offset) {
    int mask = capacity - 1;
    for (int probe = 0, s = h & mask; probe < capacity; probe++, s = (s + 1) & mask) {
      if (out.getInt(HEADER + s * SLOT) == 0) {
        out.putInt(HEADER + s * SLOT, offset + 1);
        return probe + 1;
      }
    }
    throw new IllegalStateException("indexed collection table of " + capacity + " slots is full");
  }

  /**
   * Empties the slot of {@code out}'s table that holds {@code offset} for the name hashing to
   * {@code h}, shifting the rest of its cluster back; the names of the slots' elements are read
   * from {@code elements} (the payload the offsets point into, opened).
   */
  static void remove(ByteBuffer out, int capacity, int h, int offset, ByteBuffer elements) {
    int mask = capacity - 1;
    boolean timed = timed(out);
    int elementsAt = elementsAt(elements); // where the names are read: the old payload's layout, not out's
    int hole = -1;
    for (int probe = 0, s = h & mask; probe < capacity; probe++, s = (s + 1) & mask) {
      int v = out.getInt(HEADER + s * SLOT);
      if (v == 0) {
        break;
      }
      if (v == offset + 1) {
        hole = s;
        break;
      }
    }
    if (hole < 0) {
      throw new IllegalStateException("indexed collection table has no slot for offset " + offset);
    }
    ByteBuffer walker = elements.duplicate();
    out.putInt(HEADER + hole * SLOT, 0);
    if (timed) {
      timeAt(out, capacity, hole, 0);
    }
    for (int j = (hole + 1) & mask, probe = 0; probe < capacity; j = (j + 1) & mask, probe++) {
      int v = out.getInt(HEADER + j * SLOT);
      if (v == 0) {
        return;
      }
      walker.position(checkedStart(elements, elementsAt, v));
      int len = CollectionCodec.readVarint(walker, walker.remaining());
      int home = hash(walker, walker.position(), len) & mask;
      // The entry at j may move back into the hole unless its home lies cyclically in (hole, j].
      boolean stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        out.putInt(HEADER + hole * SLOT, v);
        out.putInt(HEADER + j * SLOT, 0);
        if (timed) { // a field's time moves with its slot
          timeAt(out, capacity, hole, out.getLong(timesAt(capacity) + j * Long.BYTES));
          timeAt(out, capacity, j, 0);
        }
        hole = j;
      }
    }
    throw new IllegalStateException("indexed collection table of " + capacity + " slots has no empty slot");
  }

  /**
   * Moves every offset of {@code out}'s table past an edit: an offset greater than
   * {@code editedAt[k]} (ascending, offsets from the elements' start) moves by the sum of
   * {@code delta[0..k]}. One pass over the table; each offset's sum is added up edit by edit for
   * a few edits, found by a binary search of their running sums for more (a write of many names),
   * so the pass is O(capacity x log edits), not O(capacity x edits).
   */
  static void shift(ByteBuffer out, int capacity, int[] editedAt, int[] delta, int edits) {
    // Through an int view of the table: one call site type per kind of memory, so the JIT inlines
    // the reads (ByteBuffer.getInt on the store's direct memory, seen beside heap and read-only
    // buffers, cost about 25 ns a slot: 90% of an HDEL on 10,000 fields).
    IntBuffer table = out.duplicate().order(ByteOrder.BIG_ENDIAN).position(HEADER).limit(elementsAt(capacity))
        .slice().order(ByteOrder.BIG_ENDIAN).asIntBuffer();
    int first = editedAt[0];
    int[] sums = null;
    if (edits > SHIFT_LINEAR_EDITS) {
      sums = new int[edits];
      for (int k = 0, d = 0; k < edits; k++) {
        d += delta[k];
        sums[k] = d;
      }
    }
    for (int s = 0; s < capacity; s++) {
      int v = table.get(s);
      if (v - 1 <= first) { // also an empty slot (0)
        continue;
      }
      int d = 0;
      if (sums == null) {
        for (int k = 0; k < edits && editedAt[k] < v - 1; k++) {
          d += delta[k];
        }
      } else {
        d = sums[lastBelow(editedAt, edits, v - 1)];
      }
      if (d != 0) {
        table.put(s, v + d);
      }
    }
  }

  /** Edits shift() adds up one by one for each offset; past them it searches their running sums. */
  private static final int SHIFT_LINEAR_EDITS = 8;

  /** The last k < n with {@code sorted[k] < x}, given that {@code sorted[0] < x}. */
  private static int lastBelow(int[] sorted, int n, int x) {
    int lo = 0;
    int hi = n - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (sorted[mid] < x) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /**
   * The hash of {@code len} bytes at {@code at} in {@code b}: 8 bytes at a time through a
   * multiply-xorshift mix, the tail packed into one long, then a final avalanche.
   */
  static int hash(ByteBuffer b, int at, int len) {
    return hash(b, at, len, 0x9E3779B97F4A7C15L);
  }

  /**
   * {@link #hash(ByteBuffer, int, int)} from another starting state: with a seed drawn at random
   * (PackedLookup's table of the names one request looks for) a client cannot choose names that
   * collide, as it can in the payload's own table, whose hash must be fixed.
   */
  static int hash(ByteBuffer b, int at, int len, long seed) {
    long h = seed ^ len;
    int i = 0;
    for (; i + Long.BYTES <= len; i += Long.BYTES) {
      h = (h ^ b.getLong(at + i)) * 0xBF58476D1CE4E5B9L;
      h ^= h >>> 31;
    }
    long tail = 0;
    for (; i < len; i++) {
      tail = (tail << 8) | (b.get(at + i) & 0xFF);
    }
    h = (h ^ tail) * 0x94D049BB133111EBL;
    h ^= h >>> 29;
    h *= 0xBF58476D1CE4E5B9L;
    h ^= h >>> 32;
    return (int) h;
  }

  /**
   * Checks that every element of an indexed payload is found at its own offset and that the table
   * holds nothing else: one walk and one lookup per element (for tests and diagnosis).
   */
  static void verify(ByteBuffer payload, boolean pairs) {
    ByteBuffer opened = open(payload, pairs);
    int count = count(opened);
    int capacity = capacity(opened);
    int used = 0;
    boolean timed = timed(opened);
    long earliest = timed ? earliest(opened) : 0;
    for (int s = 0; s < capacity; s++) {
      boolean inUse = opened.getInt(HEADER + s * SLOT) != 0;
      used += inUse ? 1 : 0;
      if (timed) {
        checkTime(opened, s, inUse, earliest);
      }
    }
    if (used != count) {
      throw new IllegalStateException("indexed collection table holds " + used + " offsets for " + count + " elements");
    }
    ByteBuffer b = opened.duplicate();
    b.position(elementsAt(opened));
    int emptyAt = emptyAt(opened);
    int dead = 0;
    for (int i = 0; i < count; i++) {
      dead += skipDead(b, emptyAt);
      int at = b.position();
      int len = CollectionCodec.readVarint(b, b.remaining());
      byte[] name = new byte[len];
      b.get(name);
      if (pairs) {
        CollectionCodec.skipBytes(b);
      }
      int slot = find(opened, name);
      if (slot < 0 || elementAt(opened, slot) != at) {
        throw new IllegalStateException("indexed collection element " + i + " at " + at + " is not found by its slot");
      }
    }
    dead += skipDead(b, emptyAt);
    if (b.hasRemaining() || dead != dead(opened)) {
      throw new IllegalStateException("indexed collection has " + b.remaining() + " bytes after its " + count
          + " elements and " + dead + " dead bytes where its header says " + dead(opened));
    }
  }
}
