package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/*
 * Design: a write of a few named elements of a hash or set (HSET, HSETNX, HDEL, HINCRBY,
 * HINCRBYFLOAT, SADD, SREM) that builds the new payload from the old one where the store keeps it
 * (Store.readTyped's read-only view), instead of decoding it into an insertion-ordered map (three
 * objects per element), changing the map and encoding it again.
 *
 * One walk over the payload (CollectionCodec's layout, read as hostile as PackedLookup reads it)
 * finds where each named element starts and ends. The command then says what happens to each name
 * (put a value, add, remove) and build() writes the new payload in one pass: the new count varint,
 * the unchanged runs between edited elements in bulk copies from the view, a replaced element
 * where it was (an updated field keeps its place, as LinkedHashMap.put keeps it), nothing for a
 * removed one, and the new elements at the end in the order they were put (a new field or member
 * is appended, as the map appends it; one removed and then put again moves last, as in the map).
 * The result is byte for byte what decoding, changing and encoding gives (PackedEditTest checks it
 * on random payloads and sequences of edits). A name given twice is one element: its last put wins
 * and it is added once, as the map has it.
 *
 * A plain hash whose fields carry expiry times (CollectionCodec's trailer after the pairs) is not
 * edited here: the trailer's indices name field positions, which a removal or a new field would
 * shift (HashRequests decodes it; at most INDEXED_ABOVE fields). hasTrailer() tells the caller so.
 * An indexed hash keeps its times beside its table (PackedIndex.VERSION_TIMED) and is edited here
 * like any other: the edit knows each named field's time before (from its slot) and after (put()
 * drops it, as HSET does; putKeepingTime() keeps it, as HINCRBY does; expire() sets or clears it,
 * as HEXPIRE and HPERSIST do; ops() carries those calls for a replica's replay), edits the elements
 * and the table as below (a slot's time moves with the slot), and then writes the named fields'
 * times into their slots and the earliest bound: O(names) more. An edit that would leave a timed
 * hash plain (at most INDEXED_ABOVE fields), or give a plain one a time, needsDecode() and is made
 * by decoding; giving an untimed indexed hash its first time is a rebuild (the times need room
 * before the elements), later ones are in place. When a field's time may have come
 * (mayHoldExpiredFields), the caller removes the expired fields first, in the same edit (their
 * names after the command's, then reaped() with the others' earliest time) or by decoding.
 *
 * On the plain layout the cost is O(size of the payload) per write: one walk comparing lengths,
 * then a copy of the whole payload (the store keeps a value whole, so a new version is a new
 * value). What goes is the per-element allocation and hashing. The walk compares each element with
 * every name, so the callers edit a plain payload this way for at most PackedLookup.MAX_NAMES
 * names and decode it for more. An indexed payload (below) they edit so for any number of names
 * (issue 13: a 17-name SREM on 10,000 members decoded and rewrote all of them): each name is one
 * lookup, a name given twice is found by a hash map past MAX_NAMES names, the edited names are
 * ordered by a sort and the table's offsets moved by a binary search of the edits
 * (PackedIndex.shift), so a write of k names costs O(k log k) besides the bytes it writes, and
 * in place nothing of the payload's size. Nothing is allocated in proportion to the payload
 * before the caller checked length() against the value limit.
 *
 * On the indexed layout (PackedIndex, more than INDEXED_ABOVE elements) the names are found
 * through the offset table, and a put that changes the length of a present field's element (its
 * value's) is a removal and an append: the field moves last, as if removed and set again (Redis
 * promises no order for a hash this large; docs/PROTOCOL.md). That is what lets the store edit
 * such a payload without moving anything (below). build() writes the live elements in the same
 * order after a new header and table, leaving out the old payload's dead runs: with no dead run
 * and the same capacity, the table is copied whole, the slots of removed elements emptied (their
 * clusters shifted back), the offsets after an element that went moved by one pass over the table
 * and the appended elements' slots filled, with no walk of the elements; with dead runs (a
 * compaction), the crossing of INDEXED_ABOVE upwards, or a count that leaves the table's 1/8-3/4
 * load (PackedIndex.fits), the table is rebuilt by one walk of the new elements: amortised O(1)
 * per element added. A result of at most INDEXED_ABOVE elements is written in the plain layout
 * (the table dropped), so the layout always follows the count, as CollectionCodec's encoders
 * choose it. PackedIndexTest checks the elements, their order and that the table finds each one.
 *
 * In place (issue 13): build() copies the whole payload, O(size) per write. The store instead
 * keeps a large indexed collection in a buffer with room after the payload (Segment.editInPlace)
 * and calls applyInPlace(), which makes the same edit where the payload lies, under the segment's
 * write lock, without moving a byte of any other element: the slots of the elements that go are
 * emptied first (while every element is still where the table says), a value replaced by one of
 * the same length is overwritten where it is, an element removed or moved last leaves its bytes
 * as a dead run (PackedIndex: a 1- or 2-to-6-byte header, counted in the payload's header) or, when
 * it ends the payload, is cut off, and the new and moved elements are written after the last one
 * with their slots. So every write of a few names costs O(their elements) bytes and O(1) probes,
 * removals and changes of length included, with no allocation. The cost is memory: dead bytes
 * stay until a write would leave more than 1/COMPACT_ABOVE (a quarter) of the elements' bytes
 * dead; that write is refused in place, and the store rebuilds the payload with build(), which
 * leaves the dead runs out, into a new buffer: O(payload) paid for by the elements/4 bytes that
 * went since the last compaction, amortised O(1) per byte removed. applyInPlace() also refuses,
 * writing nothing, what needs a new table (the count crossing INDEXED_ABOVE or leaving the
 * table's load) or more bytes than the room (lengthInPlace(), which counts the dead runs; length()
 * is build()'s); the store then builds the new payload with build(ByteBuffer) straight into a new
 * buffer of its own memory, so no write allocates a heap array of the payload's size unless the
 * store has no room without evicting (then build() and a put, as before).
 */

/** The in-place edit of a packed hash or set payload: one walk to find the names, one pass to build. */
public final class PackedEdit {
  private static final byte KEEP = 0;
  private static final byte PUT = 1;
  private static final byte REMOVE = 2;
  /**
   * New at the end: a name not in the payload, one removed and then given again (the map moves it
   * last), or in the indexed layout a field whose value changed length.
   */
  private static final byte APPEND = 3;

  /** The old payload's view (null: the key is absent, an empty collection). */
  private final ByteBuffer payload;
  private final boolean pairs;
  private final List<byte[]> names;
  /** For each name, the index of the first name with the same bytes: the one that carries the state. */
  private final int[] first;
  private final int count;
  /** Where the elements start (after the count) and end (where a hash's expiry trailer would start). */
  private final int elementsAt;
  private final int elementsEnd;
  private final boolean trailer;
  /** The old payload opened in the indexed layout (PackedIndex), else null. */
  private final ByteBuffer indexed;
  /**
   * The old indexed payload's table capacity and (timed) earliest bound, read once here: the store
   * asks length() and earliestAfter() after it wrote the edit, when a rebuild has already freed
   * the old buffer (a reviewer: reading the bound there crashed a node with SIGSEGV).
   */
  private final int oldCapacity;
  private final long oldBound;
  /** Whether the old payload is an indexed hash with field times beside its table (PackedIndex.VERSION_TIMED). */
  private final boolean oldTimed;
  /**
   * A hash's edit: each name's field time before the edit (0: none, or absent) and as the edit
   * leaves it (put() drops it, putKeepingTime() keeps it, expire() sets it), and whether expire()
   * was called for it. Null for a set.
   */
  private final long[] oldTime;
  private final long[] newTime;
  private final boolean[] timeSet;
  /** What reaped() said the bound may rise to (Long.MIN_VALUE: nothing reaped). */
  private long reapedBound = Long.MIN_VALUE;
  /** The old indexed payload's dead bytes, and where its element with the empty name starts (when it has dead runs). */
  private final int oldDead;
  private final int emptyAt;
  /** The bytes applyInPlace() wrote among the elements (package-private, for tests). */
  private long writtenInPlace;
  /** Each name's element in the old payload: [start, end), start -1 when absent; a hash's value too. */
  private final int[] start;
  private final int[] end;
  private final int[] valueAt;
  private final byte[] state;
  private final byte[][] values;
  /** The order of the APPEND names: the map appends in the order the names were put. */
  private final int[] appendSeq;
  private int nextSeq;
  /**
   * The calls that made this edit, in order (ops()): replication ships them to a replica whose copy
   * is the same payload, which replays them (replay) and gets the same elements in the same order.
   */
  private final List<Op> ops = new java.util.ArrayList<>(2);

  private PackedEdit(ByteBuffer payload, List<byte[]> names, boolean pairs) {
    this.payload = payload;
    this.pairs = pairs;
    this.names = names;
    int k = names.size();
    first = new int[k];
    start = new int[k];
    end = new int[k];
    valueAt = new int[k];
    state = new byte[k];
    values = pairs ? new byte[k][] : null;
    oldTime = pairs ? new long[k] : null;
    newTime = pairs ? new long[k] : null;
    timeSet = pairs ? new boolean[k] : null;
    appendSeq = new int[k];
    Arrays.fill(start, -1);
    firstOfEach(names, first);
    if (payload == null) {
      count = 0;
      elementsAt = 0;
      elementsEnd = 0;
      trailer = false;
      indexed = null;
      oldTimed = false;
      oldCapacity = 0;
      oldBound = Long.MAX_VALUE;
      oldDead = 0;
      emptyAt = -1;
      return;
    }
    CollectionCodec.Elements elements = CollectionCodec.elements(payload, pairs);
    count = elements.count();
    elementsAt = elements.b().position();
    if (elements.indexed()) {
      indexed = elements.b();
      elementsEnd = indexed.limit();
      trailer = false;
      oldTimed = PackedIndex.timed(indexed);
      oldCapacity = PackedIndex.capacity(indexed);
      oldBound = oldTimed ? PackedIndex.earliest(indexed) : Long.MAX_VALUE;
      oldDead = PackedIndex.dead(indexed);
      emptyAt = oldDead > 0 ? PackedIndex.emptyAt(indexed) : -1;
      for (int i = 0; i < k; i++) {
        int slot = first[i] == i ? PackedIndex.find(indexed, names.get(i)) : -1;
        if (slot >= 0) {
          locate(i, PackedIndex.elementAt(indexed, slot));
          if (oldTimed) {
            oldTime[i] = PackedIndex.timeAt(indexed, slot);
            newTime[i] = oldTime[i];
          }
        }
      }
      return;
    }
    indexed = null;
    oldTimed = false;
    oldCapacity = 0;
    oldBound = Long.MAX_VALUE;
    oldDead = 0;
    emptyAt = -1;
    ByteBuffer b = elements.b();
    for (int e = 0; e < count; e++) {
      int at = b.position();
      int len = CollectionCodec.readVarint(b, b.remaining());
      int nameAt = b.position();
      b.position(nameAt + len);
      int vAt = -1;
      if (pairs) {
        int vLen = CollectionCodec.readVarint(b, b.remaining());
        vAt = b.position();
        b.position(vAt + vLen);
      }
      for (int i = 0; i < k; i++) {
        byte[] name = names.get(i);
        if (first[i] == i && start[i] < 0 && name.length == len && PackedLookup.same(b, nameAt, name)) {
          start[i] = at;
          end[i] = b.position();
          valueAt[i] = vAt;
        }
      }
    }
    elementsEnd = b.position();
    trailer = pairs && b.hasRemaining();
  }

  /**
   * Fills {@code first} (see the field): by pairs for a few names, through a hash map for more, so
   * a write of many names costs O(names), not O(names^2). PackedLookup.Names uses it too.
   */
  static void firstOfEach(List<byte[]> names, int[] first) {
    int k = names.size();
    if (k <= PackedLookup.MAX_NAMES) {
      for (int i = 0; i < k; i++) {
        first[i] = i;
        for (int j = 0; j < i; j++) {
          if (Arrays.equals(names.get(i), names.get(j))) {
            first[i] = j;
            break;
          }
        }
      }
      return;
    }
    HashMap<CollectionCodec.Bytes, Integer> seen = new HashMap<>(k * 4 / 3 + 1);
    for (int i = 0; i < k; i++) {
      Integer j = seen.putIfAbsent(new CollectionCodec.Bytes(names.get(i)), i);
      first[i] = j == null ? i : j;
    }
  }

  /** Records name {@code i}'s element, which starts at {@code at} in the indexed payload. */
  private void locate(int i, int at) {
    ByteBuffer b = indexed.duplicate();
    b.position(at);
    CollectionCodec.skipBytes(b);
    if (pairs) {
      int vLen = CollectionCodec.readVarint(b, b.remaining());
      valueAt[i] = b.position();
      b.position(b.position() + vLen);
    }
    start[i] = at;
    end[i] = b.position();
  }

  /** An edit of a hash payload (null: absent) naming {@code fields}. */
  public static PackedEdit hash(ByteBuffer payload, List<byte[]> fields) {
    return new PackedEdit(payload, fields, true);
  }

  /** An edit of a set payload (null: absent) naming {@code members}. */
  public static PackedEdit set(ByteBuffer payload, List<byte[]> members) {
    return new PackedEdit(payload, members, false);
  }

  /**
   * One call that made an edit: a put of a field's {@code value} (a hash), an add of a member (a
   * set), a removal of a field or member ({@code value} null but for PUT), or bytes written into a
   * string (RANGE: strings have no PackedEdit, but their edits travel in the same journal and
   * effects).
   */
  public record Op(byte kind, byte[] name, byte[] value) {
    /** A hash field's value put; the field's time dropped (HSET). */
    public static final byte PUT = 1;
    public static final byte ADD = 2;
    public static final byte REMOVE = 3;
    /** A hash field's value put; its time kept (HINCRBY). */
    public static final byte PUT_KEEPING_TIME = 4;
    /** A hash field's time set: the value is its 8 bytes, big-endian (0: none, HPERSIST). */
    public static final byte TIME = 5;
    /**
     * The bound a reaping edit raises the hash's earliest time to (reaped()): no name (empty), the
     * value its 8 bytes; so a replica's copy gets the owner's bound, byte for byte.
     */
    public static final byte BOUND = 6;
    /**
     * A string's bytes written at an offset (APPEND, SETRANGE, SETBIT, BITFIELD; OffHeapStore.splice):
     * the name is the offset, 8 bytes big-endian, the value the bytes (at least one); a value shorter
     * than the offset is zero-padded to it first, as SETRANGE does.
     */
    public static final byte RANGE = 7;

    /** A RANGE call of {@code bytes} at {@code offset}. */
    public static Op range(long offset, byte[] bytes) {
      return new Op(RANGE, ByteBuffer.allocate(Long.BYTES).putLong(offset).array(), bytes);
    }

    /** The offset of a RANGE call. */
    public long offset() {
      return ByteBuffer.wrap(name).getLong();
    }

    /** The time of a TIME call. */
    public long time() {
      return ByteBuffer.wrap(value).getLong();
    }
  }

  /** The calls that made this edit so far, in order. */
  public List<Op> ops() {
    return ops;
  }

  /**
   * The edit that {@code ops} (another edit's ops(), made on a payload with the same elements in
   * the same order) make on {@code payload}: the same elements in the same order as that edit left
   * (the calls are the same on the same elements; their place in a payload with dead runs or
   * without changes nothing). Null when the edit is one the owner would have made by decoding
   * (needsDecode()): the owner ships no calls for those.
   *
   * @throws IllegalArgumentException on a hash's call in a set's edit, a put without a value, a
   *     TIME without its 8 bytes or with a negative time
   */
  public static PackedEdit replay(ByteBuffer payload, boolean hash, List<Op> ops) {
    List<byte[]> names = new java.util.ArrayList<>(ops.size());
    for (Op op : ops) {
      names.add(op.name());
    }
    PackedEdit e = new PackedEdit(payload, names, hash);
    if (e.hasTrailer()) {
      return null;
    }
    for (int i = 0; i < ops.size(); i++) {
      Op op = ops.get(i);
      switch (op.kind()) {
        case Op.PUT, Op.PUT_KEEPING_TIME -> {
          if (!hash || op.value() == null) {
            throw new IllegalArgumentException("a PUT of " + (hash ? "a hash field without a value" : "a set member"));
          }
          if (op.kind() == Op.PUT) {
            e.put(i, op.value());
          } else {
            e.putKeepingTime(i, op.value());
          }
        }
        case Op.BOUND -> {
          if (!hash || op.value() == null || op.value().length != Long.BYTES || op.time() < 0) {
            throw new IllegalArgumentException("a BOUND call needs a hash and 8 bytes of a time at or after 0");
          }
          e.reaped(op.time());
        }
        case Op.TIME -> {
          if (!hash || op.value() == null || op.value().length != Long.BYTES || op.time() < 0) {
            throw new IllegalArgumentException("a TIME call needs a hash field and 8 bytes of a time at or after 0");
          }
          if (!e.present(i)) {
            throw new IllegalArgumentException("a TIME call for a field the hash does not hold");
          }
          e.expire(i, op.time());
        }
        case Op.ADD -> {
          if (hash) {
            throw new IllegalArgumentException("an ADD of a hash field");
          }
          e.add(i);
        }
        case Op.REMOVE -> e.remove(i);
        default -> throw new IllegalArgumentException("unknown edit call " + op.kind());
      }
    }
    return e.needsDecode() ? null : e;
  }

  /**
   * Whether the hash is in the plain layout with field expiry times (the trailer): the caller must
   * decode it instead (see above).
   */
  public boolean hasTrailer() {
    return trailer;
  }

  /**
   * Whether this edit, as made so far, must be made by decoding instead: a plain hash with field
   * times (the trailer), or a result with field times that is not indexed (it would need the
   * trailer: at most INDEXED_ABOVE fields, or a plain payload given a time). build() and
   * applyInPlace() refuse such an edit.
   */
  public boolean needsDecode() {
    return trailer || timedAfter() && (indexed == null || size() <= PackedIndex.INDEXED_ABOVE);
  }

  /**
   * Whether the payload after the edit carries field times beside its table: it did before (a
   * timed payload stays so, also when its last time goes: the decoding path drops the times), or
   * the edit gives a present or new field one.
   */
  public boolean timedAfter() {
    if (oldTimed) {
      return true;
    }
    if (pairs) {
      for (int i = 0; i < state.length; i++) {
        if (newTime[i] != 0 && first[i] == i && live(i)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A bound on the payload's field times after the edit: no field's time is before it
   * (Long.MAX_VALUE: none has one). The old payload's bound, lowered by the times this edit sets;
   * a field whose time went leaves it where it was (a bound need not be a field's time).
   */
  public long earliestAfter() {
    long earliest = oldTimed ? Math.max(oldBound, reapedBound) : Long.MAX_VALUE;
    if (pairs) {
      for (int i = 0; i < state.length; i++) {
        if (newTime[i] != 0 && first[i] == i && live(i)) {
          earliest = Math.min(earliest, newTime[i]);
        }
      }
    }
    return earliest;
  }

  /**
   * The old payload's fields whose time has come were all removed by this edit, and the others'
   * earliest time is {@code restEarliest} (PackedLookup.expiredFields): the bound the edit writes
   * may rise to it (from the old bound, which was at or before now). It is a call too (BOUND), so
   * a replica's replay writes the same bound: left at the old one, the replica's field-expiry
   * index put the hash due again after every replayed edit (a reviewer).
   */
  public void reaped(long restEarliest) {
    ops.add(new Op(Op.BOUND, new byte[0], ByteBuffer.allocate(Long.BYTES).putLong(0, restEarliest).array()));
    reapedBound = restEarliest;
  }

  /** Whether name {@code f} (a first) is in the payload after the edit. */
  private boolean live(int f) {
    return state[f] == PUT || state[f] == APPEND || state[f] == KEEP && start[f] >= 0;
  }

  /**
   * The time field {@code i} has as the edit leaves it so far (absolute Unix ms; 0: none, or the
   * field is absent).
   */
  public long time(int i) {
    int f = first[i];
    return live(f) ? newTime[f] : 0;
  }

  /** Whether name {@code i} is in the payload as the edit leaves it so far. */
  public boolean present(int i) {
    return live(first[i]);
  }

  /**
   * Whether a field of the old payload may have an expiry time at or before {@code nowMillis}
   * (its bound says so: PackedIndex.earliest): the caller removes those first, by decoding.
   */
  public boolean mayHoldExpiredFields(long nowMillis) {
    return oldTimed && oldBound <= nowMillis;
  }

  /** The elements before the edit. */
  public int count() {
    return count;
  }

  /** Whether name {@code i} was in the payload before the edit. */
  public boolean found(int i) {
    return start[first[i]] >= 0;
  }

  /** Field {@code i}'s value as the edit leaves it so far (a copy), null when it has none. */
  public byte[] value(int i) {
    int f = first[i];
    if (state[f] != KEEP) {
      return state[f] == REMOVE ? null : values[f];
    }
    if (start[f] < 0) {
      return null;
    }
    int vAt = valueAt[f];
    byte[] out = new byte[end[f] - vAt];
    payload.get(vAt, out);
    return out;
  }

  /**
   * Sets field {@code i} to {@code value}: in place when present, appended when new. In the
   * indexed layout a present field whose element changes length (its value's) is appended instead,
   * as a removal and a put (see above): it moves last.
   */
  public void put(int i, byte[] value) {
    ops.add(new Op(Op.PUT, names.get(i), value));
    set(i, value);
    if (pairs) {
      newTime[first[i]] = 0; // a new value is a new field: Redis drops its time
    }
  }

  /**
   * As {@link #put}, keeping the field's time (HINCRBY and HINCRBYFLOAT, as in Redis); a new
   * field has none.
   */
  public void putKeepingTime(int i, byte[] value) {
    int f = first[i];
    ops.add(new Op(oldTimed || newTime[f] != 0 ? Op.PUT_KEEPING_TIME : Op.PUT, names.get(i), value));
    boolean present = live(f);
    set(i, value);
    if (!present) {
      newTime[f] = 0;
    }
  }

  /**
   * Sets the time of field {@code i}, which must be in the hash as the edit leaves it so far
   * ({@code at}: absolute Unix ms, 0: none, HPERSIST). A hash with field times is indexed with them
   * (PackedIndex.VERSION_TIMED); one that would not be indexed after the edit needsDecode().
   */
  public void expire(int i, long at) {
    int f = first[i];
    if (!live(f)) {
      throw new IllegalStateException("a time for a field the hash does not hold");
    }
    ops.add(new Op(Op.TIME, names.get(i), ByteBuffer.allocate(Long.BYTES).putLong(0, at).array()));
    newTime[f] = at;
    timeSet[f] = true;
  }

  private void set(int i, byte[] value) {
    int f = first[i];
    long before = currentLength(f);
    values[f] = value;
    if (before < 0 || indexed != null && elementLength(f) != before) {
      append(f);
    } else if (state[f] == KEEP) {
      state[f] = PUT;
    }
  }

  /** The length of name {@code f}'s element as the edit leaves it so far, -1 when it has none. */
  private long currentLength(int f) {
    return switch (state[f]) {
      case KEEP -> start[f] < 0 ? -1 : end[f] - start[f];
      case REMOVE -> -1;
      default -> elementLength(f);
    };
  }

  /** Adds member {@code i} (appended when new, nothing when present). */
  public void add(int i) {
    ops.add(new Op(Op.ADD, names.get(i), null));
    int f = first[i];
    if (state[f] == REMOVE || state[f] == KEEP && start[f] < 0) {
      append(f);
    }
  }

  private void append(int f) {
    state[f] = APPEND;
    appendSeq[f] = nextSeq++;
  }

  /** Removes element {@code i} (nothing when absent). */
  public void remove(int i) {
    ops.add(new Op(Op.REMOVE, names.get(i), null));
    int f = first[i];
    state[f] = start[f] >= 0 ? REMOVE : KEEP;
    if (pairs) {
      values[f] = null;
      newTime[f] = 0;
      timeSet[f] = false;
    }
  }

  /**
   * Whether the edit changes the payload: a put always does (the decoding path writes then too),
   * an add of a member present or a removal of a name absent does not.
   */
  public boolean changed() {
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP || pairs && timeSet[i] && live(i)) {
        return true;
      }
    }
    return false;
  }

  /** The elements after the edit (0: the key goes). */
  public int size() {
    int n = count;
    for (int i = 0; i < state.length; i++) {
      if (start[i] >= 0 && (state[i] == REMOVE || state[i] == APPEND)) {
        n--;
      }
      if (state[i] == APPEND) {
        n++;
      }
    }
    return n;
  }

  /** The new payload's length in bytes, to check against the value limit before build(). */
  public long length() {
    return header() + body();
  }

  /** The new elements' bytes (build() leaves no dead run). */
  private long body() {
    long body = elementsEnd - elementsAt - oldDead;
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP && start[i] >= 0) {
        body -= end[i] - start[i];
      }
      if (state[i] == PUT || state[i] == APPEND) {
        body += elementLength(i);
      }
    }
    return body;
  }

  /**
   * The new payload's bytes before its elements: the count varint, or in the indexed layout (more
   * than INDEXED_ABOVE elements) the header and the table.
   */
  private long header() {
    int size = size();
    return size > PackedIndex.INDEXED_ABOVE ? PackedIndex.elementsAt(newCapacity(size), timedAfter())
        : CollectionCodec.varintSize(size);
  }

  /** The new table's capacity: the old one while it fits the new count, else the count's own. */
  private int newCapacity(int size) {
    if (indexed != null && PackedIndex.fits(oldCapacity, size)) {
      return oldCapacity;
    }
    return PackedIndex.capacityFor(size);
  }

  /** The new payload (see above) in a heap array; for a hash without an expiry trailer. */
  public byte[] build() {
    long length = length();
    if (length > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "collection of " + length + " bytes exceeds 2^31");
    }
    byte[] out = new byte[(int) length];
    build(ByteBuffer.wrap(out));
    return out;
  }

  /**
   * Writes the new payload into {@code out} from its index 0 ({@code out}'s limit is exactly
   * {@link #length()}, big-endian; the store's off-heap memory or a heap array), reading the old
   * payload, which must stay where it is and unchanged meanwhile.
   */
  public void build(ByteBuffer out) {
    if (needsDecode()) {
      throw new IllegalStateException("a plain hash with field expiry times is edited by decoding it, not here");
    }
    if (out.limit() != length()) {
      throw new IllegalStateException("packed edit of " + length() + " bytes given " + out.limit() + " to write");
    }
    ByteBuffer w = out.duplicate().order(ByteOrder.BIG_ENDIAN).position(0);
    int size = size();
    boolean index = size > PackedIndex.INDEXED_ABOVE;
    int capacity = index ? newCapacity(size) : 0;
    boolean timed = index && timedAfter();
    if (index) {
      PackedIndex.writeHeader(w, size, capacity, 0, timed);
      w.position(PackedIndex.elementsAt(capacity, timed));
    } else {
      CollectionCodec.writeVarint(w, size);
    }
    int newElementsAt = w.position();
    int[] edited = editedInPayloadOrder();
    int from = elementsAt;
    for (int i : edited) {
      if (start[i] < from) { // only an indexed payload's corrupt offsets can make two elements overlap
        throw new IllegalStateException("collection elements at " + start[i] + " and before " + from + " overlap");
      }
      from = copy(w, from, start[i]);
      if (state[i] == PUT) {
        writeElement(w, i);
      }
      from = end[i];
    }
    copy(w, from, elementsEnd);
    int[] appendedAt = new int[state.length];
    for (int i : appendedInOrder()) {
      appendedAt[i] = w.position() - newElementsAt;
      writeElement(w, i);
    }
    if (w.hasRemaining()) {
      throw new IllegalStateException("packed edit wrote " + w.position() + " of " + w.limit() + " bytes");
    }
    if (index && indexed != null && capacity == oldCapacity && oldDead == 0) {
      editTable(w, capacity, edited, appendedAt, timed);
    } else if (index) {
      PackedIndex.clearTable(w, capacity, timed); // off-heap memory comes unzeroed
      PackedIndex.build(w.clear(), size, pairs); // crossed the threshold, resized or compacted: one walk
      if (oldTimed) {
        carryTimes(w, capacity);
      }
    }
    if (timed) {
      writeTimes(w, capacity);
    }
  }

  /**
   * Puts the old payload's field times into the slots of a rebuilt table (one pass over the old
   * table, one lookup per timed field; a field that went is not found). writeTimes() then sets
   * the named fields' own.
   */
  private void carryTimes(ByteBuffer w, int capacity) {
    ByteBuffer walker = indexed.duplicate();
    for (int s = 0, old = oldCapacity; s < old; s++) {
      long at = PackedIndex.timeAt(indexed, s);
      if (at != 0) {
        walker.position(PackedIndex.elementAt(indexed, s));
        int slot = PackedIndex.find(w, CollectionCodec.readBytes(walker));
        if (slot >= 0) {
          PackedIndex.timeAt(w, capacity, slot, at);
        }
      }
    }
  }

  /**
   * Writes the named fields' times into their slots of {@code w} (an indexed timed payload, its
   * header and table complete), and the earliest bound: O(names) lookups.
   */
  private void writeTimes(ByteBuffer w, int capacity) {
    for (int i = 0; i < state.length; i++) {
      if (first[i] == i && live(i)) {
        int slot = PackedIndex.find(w, names.get(i));
        if (slot < 0) {
          throw new IllegalStateException("packed edit lost field " + i + " from its table");
        }
        PackedIndex.timeAt(w, capacity, slot, newTime[i]);
      }
    }
    PackedIndex.earliest(w, capacity, earliestAfter());
  }

  /**
   * The APPEND names in the order they were put (they are numbered so; a name appended and then
   * removed leaves its number unused): one pass, O(names).
   */
  private int[] appendedInOrder() {
    int[] bySeq = new int[nextSeq];
    Arrays.fill(bySeq, -1);
    int n = 0;
    for (int i = 0; i < state.length; i++) {
      if (state[i] == APPEND) {
        bySeq[appendSeq[i]] = i;
        n++;
      }
    }
    int[] out = new int[n];
    for (int seq = 0, j = 0; seq < nextSeq; seq++) {
      if (bySeq[seq] >= 0) {
        out[j++] = bySeq[seq];
      }
    }
    return out;
  }

  /** Whether the new payload is in the indexed layout (more than INDEXED_ABOVE elements). */
  public boolean indexedAfter() {
    return size() > PackedIndex.INDEXED_ABOVE;
  }

  /**
   * A payload in place is compacted (rebuilt by build(), without its dead runs) when more than
   * 1/COMPACT_ABOVE of its elements' bytes (live and dead, the part a walk such as HGETALL's
   * covers; the offset table is not counted, as no walk reads it) would be dead after a write: a
   * walk covers at most 4/3 of the live bytes.
   */
  static final int COMPACT_ABOVE = 4;

  /**
   * The new payload's length as applyInPlace() leaves it (its dead runs kept: at least length()),
   * for the store to check against the room before it calls applyInPlace(); length() where the
   * edit cannot be made in place.
   */
  public long lengthInPlace() {
    InPlace plan = planInPlace();
    return plan == null ? length() : plan.length();
  }

  /** What applyInPlace() would leave: the elements' new end before the appended ones, the length and the dead bytes. */
  private record InPlace(int[] edited, int tail, long length, long dead) {}

  /**
   * The in-place edit's shape, or null when it cannot be made so: the payload is not indexed, or
   * the write needs another table (the count crossing INDEXED_ABOVE, or leaving the table's load).
   * Elements that go from the very end of the payload (removed, or moved last) are cut off rather
   * than left dead; every other one that goes leaves its bytes dead.
   */
  private InPlace planInPlace() {
    int size = size();
    if (indexed == null || size <= PackedIndex.INDEXED_ABOVE || newCapacity(size) != oldCapacity
        || timedAfter() != oldTimed) { // times given to an untimed payload need room before its elements
      return null;
    }
    int[] edited = editedInPayloadOrder();
    for (int k = 1; k < edited.length; k++) {
      if (start[edited[k]] < end[edited[k - 1]]) { // only corrupt offsets can make two elements overlap
        throw new IllegalStateException("collection elements at " + start[edited[k - 1]] + " and "
            + start[edited[k]] + " overlap");
      }
    }
    int tail = elementsEnd;
    for (int k = edited.length - 1; k >= 0 && state[edited[k]] != PUT && end[edited[k]] == tail; k--) {
      tail = start[edited[k]];
    }
    long dead = oldDead;
    long length = tail;
    for (int i = 0; i < state.length; i++) {
      if (start[i] >= 0 && state[i] != KEEP && state[i] != PUT && start[i] < tail) {
        dead += end[i] - start[i];
      }
      if (state[i] == APPEND) {
        length += elementLength(i);
      }
    }
    return new InPlace(edited, tail, length, dead);
  }

  /**
   * Applies the edit to the payload where it lies: {@code room} (big-endian, writable) holds the
   * old payload from index 0 (the bytes the view this edit was made from shows) and has
   * {@code room.capacity()} bytes for the new one. Only an indexed payload that stays indexed with
   * the same table capacity, whose new length (lengthInPlace()) fits the room and which would be
   * at most 1/COMPACT_ABOVE dead among its elements, is edited so; false, with nothing written, otherwise (the caller
   * builds a new payload instead, which compacts it). The edit is spent after either.
   *
   * In order: the slots of the elements that go are emptied while every element is still where
   * the table says (a removal reads its cluster's names); a value replaced by one of the same
   * length is overwritten where it is; an element that goes (removed, or moved last because its
   * length changed: put()) becomes a dead run where it is, or is cut off when it ends the payload;
   * the new and moved elements are written after the last one, with their slots. Nothing after an
   * edited element moves and no other offset changes: each edit writes O(element) bytes
   * (writtenInPlace() counts them) and probes the table O(1) times, with no allocation.
   */
  public boolean applyInPlace(ByteBuffer room) {
    return applyInPlace(room, false);
  }

  /**
   * As {@link #applyInPlace(ByteBuffer)}; {@code pastDeadBound}: made in place even when more than
   * 1/COMPACT_ABOVE would be dead. For the store when the compacting rebuild has no memory: a
   * removal must not need memory (an SMOVE whose source removal failed for it left the member in
   * both sets, and under noeviction an SREM on a full node answered OOM); the next write with room
   * compacts.
   */
  public boolean applyInPlace(ByteBuffer room, boolean pastDeadBound) {
    InPlace plan = planInPlace();
    if (plan == null || plan.length() > room.capacity()
        || !pastDeadBound && plan.dead() * COMPACT_ABOVE > plan.length() - elementsAt) {
      return false;
    }
    ByteBuffer w = room.duplicate().order(ByteOrder.BIG_ENDIAN).clear();
    int capacity = oldCapacity;
    for (int i : plan.edited()) {
      if (state[i] != PUT) { // REMOVE, or APPEND of an element that was here: it goes from its place
        PackedIndex.remove(w, capacity, hashOf(i), start[i] - elementsAt, indexed);
      }
    }
    for (int i : plan.edited()) {
      if (state[i] == PUT) {
        if (elementLength(i) != end[i] - start[i]) {
          throw new IllegalStateException("a value of another length is put last, not in place"); // put() sees to it
        }
        writeElement(w.position(start[i]), i);
        writtenInPlace += end[i] - start[i];
      } else if (start[i] < plan.tail()) {
        PackedIndex.writeDead(w, start[i], end[i] - start[i]);
        writtenInPlace += Math.min(end[i] - start[i], CollectionCodec.varintSize(end[i] - start[i]) + 1);
      }
    }
    w.position(plan.tail());
    for (int i : appendedInOrder()) {
      int at = w.position() - elementsAt;
      writeElement(w, i);
      writtenInPlace += w.position() - elementsAt - at;
      PackedIndex.insert(w, capacity, hashOf(i), at);
    }
    if (w.position() != plan.length()) {
      throw new IllegalStateException("packed edit in place wrote " + w.position() + " of " + plan.length() + " bytes");
    }
    PackedIndex.writeHeader(w, size(), capacity, (int) plan.dead(), oldTimed);
    if (oldTimed) {
      writeTimes(w, capacity);
    }
    return true;
  }

  /** The bytes among the elements the last applyInPlace() wrote: element bytes and dead runs' headers. */
  long writtenInPlace() {
    return writtenInPlace;
  }

  /**
   * The new table from the old one (same capacity), without a walk: a bulk copy, the slots of the
   * elements that went emptied, the offsets after an element that changed its length or went moved
   * (one pass over the table, only when one did), the appended elements' slots filled.
   */
  private void editTable(ByteBuffer w, int capacity, int[] edited, int[] appendedAt, boolean timed) {
    // the slots, and a timed payload's times with them (they follow the slots); an untimed one
    // given times starts with none
    int tableBytes = PackedIndex.elementsAt(capacity, oldTimed) - PackedIndex.HEADER;
    w.put(PackedIndex.HEADER, indexed, PackedIndex.HEADER, tableBytes);
    if (timed && !oldTimed) {
      PackedIndex.clearTimes(w, capacity);
    }
    int[] editedAt = new int[edited.length];
    int[] delta = new int[edited.length];
    boolean moved = false;
    for (int k = 0; k < edited.length; k++) {
      int i = edited[k];
      editedAt[k] = start[i] - elementsAt;
      if (state[i] == PUT) {
        delta[k] = (int) (elementLength(i) - (end[i] - start[i]));
      } else { // REMOVE, or APPEND of an element that was here: it goes from its place
        delta[k] = start[i] - end[i];
        PackedIndex.remove(w, capacity, hashOf(i), editedAt[k], indexed);
      }
      moved |= delta[k] != 0;
    }
    if (moved) {
      PackedIndex.shift(w, capacity, editedAt, delta, edited.length);
    }
    for (int i = 0; i < state.length; i++) {
      if (state[i] == APPEND) {
        PackedIndex.insert(w, capacity, hashOf(i), appendedAt[i]);
      }
    }
  }

  private int hashOf(int i) {
    byte[] name = names.get(i);
    return PackedIndex.hash(ByteBuffer.wrap(name), 0, name.length);
  }

  /**
   * The names edited where they are in the payload, by where they start: each one's start and
   * index packed in a long and sorted, O(names log names) however many a write names.
   */
  private int[] editedInPayloadOrder() {
    long[] keys = new long[state.length];
    int n = 0;
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP && start[i] >= 0) {
        keys[n++] = (long) start[i] << 32 | i;
      }
    }
    Arrays.sort(keys, 0, n);
    int[] order = new int[n];
    for (int j = 0; j < n; j++) {
      order[j] = (int) keys[j];
    }
    return order;
  }

  /**
   * Copies the old payload's elements in [from, to) into {@code w}, leaving out the dead runs
   * (an indexed payload with dead bytes: a walk finds them; else one bulk copy); returns
   * {@code to}.
   */
  private int copy(ByteBuffer w, int from, int to) {
    if (oldDead == 0) {
      copyBytes(w, from, to);
      return to;
    }
    ByteBuffer b = indexed.duplicate();
    b.position(from);
    int live = from;
    while (b.position() < to) {
      int at = b.position();
      int run = PackedIndex.deadRunAt(b, at, emptyAt);
      if (run > 0) {
        copyBytes(w, live, at);
        live = at + run;
        b.position(live);
      } else {
        CollectionCodec.skipBytes(b);
        if (pairs) {
          CollectionCodec.skipBytes(b);
        }
      }
    }
    if (b.position() != to) {
      throw new IllegalStateException("collection element or dead run at " + live + " runs past " + to);
    }
    copyBytes(w, live, to);
    return to;
  }

  private void copyBytes(ByteBuffer w, int from, int to) {
    if (to - from > w.remaining()) { // only a header whose dead bytes are short of the runs' makes it
      throw new IllegalStateException("packed edit has " + w.remaining() + " bytes left for " + (to - from)
          + " bytes of elements");
    }
    if (to > from) {
      w.put(w.position(), payload, from, to - from);
      w.position(w.position() + to - from);
    }
  }

  private long elementLength(int i) {
    byte[] name = names.get(i);
    long n = CollectionCodec.varintSize(name.length) + (long) name.length;
    if (pairs) {
      n += CollectionCodec.varintSize(values[i].length) + (long) values[i].length;
    }
    return n;
  }

  private void writeElement(ByteBuffer w, int i) {
    if (elementLength(i) > w.remaining()) { // only a header whose dead bytes are short of the runs' makes it
      throw new IllegalStateException("packed edit has " + w.remaining() + " bytes left for an element of "
          + elementLength(i));
    }
    CollectionCodec.writeBytes(w, names.get(i));
    if (pairs) {
      CollectionCodec.writeBytes(w, values[i]);
    }
  }
}
