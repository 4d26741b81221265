package io.distcache.server.store;

import java.util.Arrays;
import java.util.List;

/**
 * A node-local key-value store: binary keys and values, per-key expiry, a memory bound.
 *
 * <p>Every method is thread-safe and atomic for the keys it names. An entry whose expiry time is
 * at or before {@link io.distcache.server.Clock#millis()} is absent to every method. Methods that
 * create or grow an entry may throw {@link StoreException} with {@link StoreException.Reason#OUT_OF_MEMORY}
 * when the bound is reached and the eviction policy is {@code noeviction}; every method that takes a
 * key or value checks its size first ({@link StoreException.Reason#TOO_LARGE}).
 *
 * <p>Types: every entry has a {@link io.distcache.protocol.ValueType}. The methods about string
 * values (get, getEntry, strlen, getRange, set with returnPrevious, getAndDelete, compareAndSet,
 * the increments, append, setRange) throw {@link StoreException.Reason#WRONG_TYPE} on a key of
 * another type; getAll answers null for it (Redis's MGET); set without returnPrevious and setAll
 * replace an entry of any type (Redis's SET); the key, expiry and whole-store methods take any.
 *
 * <p>Times: {@code expireAtMillis} is an absolute Unix time in milliseconds;
 * {@link #NO_EXPIRY} (0) means the entry never expires.
 */
public interface Store extends AutoCloseable {

  /** An expireAtMillis meaning "no expiry". */
  long NO_EXPIRY = 0L;
  /** {@link #ttlMillis} and {@link #expireTimeMillis} answer this for a missing key. */
  long KEY_MISSING = -2L;
  /** {@link #ttlMillis} and {@link #expireTimeMillis} answer this for a key without expiry. */
  long NO_TTL = -1L;

  // ---- reads ----

  /** The value, or null when the key is absent. Counts a hit or a miss. */
  byte[] get(byte[] key);

  /**
   * Like {@link #get}, without copying the value into a heap array: when the key holds a string,
   * calls {@code into} once with a read-only view of the value (position 0, limit its length) and
   * returns true; returns false, calling nothing, when the key is absent. The view is lent for the
   * call only: {@code into} runs under the key's lock, must copy what it needs, must not keep the
   * view and must not call the store. Counts a hit or a miss.
   *
   * @throws StoreException WRONG_TYPE on a key of another type (before {@code into} is called)
   */
  boolean readValue(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into);

  /**
   * Bytes of values gone from the store (overwritten, deleted, expired, evicted) that replies not
   * yet written still hold (SharedValueReader): counted in the store's used memory until released.
   */
  default long replyHeldBytes() {
    return 0;
  }

  /** The value with its version and expiry, or null when absent. Counts a hit or a miss. */
  StoredEntry getEntry(byte[] key);

  /**
   * Replication: the entry as it is, whatever its type, or null when absent or expired, without
   * counting a hit or a miss or marking it used (the owner reads what a write left behind, to ship
   * it to replicas).
   */
  TypedEntry peekEntry(byte[] key);

  /**
   * An entry read in place as {@link #peekEntry} finds it (not counted, not marked used): {@code
   * reader} gets its type, a read-only view of its value (position 0, limit its length) and its
   * expiry, or (null, null, NO_EXPIRY) when absent, under the key's lock; it must copy what it
   * needs and must not call the store. For the commands that describe a value (OBJECT ENCODING,
   * MEMORY USAGE), which read a few bytes of it or only its length. This default reads a copy; the
   * off-heap store lends its memory, and a store that wraps another must forward it.
   */
  default <T> T peekValue(byte[] key, PeekReader<T> reader) {
    TypedEntry e = peekEntry(key);
    return e == null ? reader.read(null, null, NO_EXPIRY)
        : reader.read(e.type(), java.nio.ByteBuffer.wrap(e.value()).asReadOnlyBuffer(), e.expireAtMillis());
  }

  /**
   * {@link #peekValue} with the entry's version: {@code reader} gets (null, null, 0, NO_EXPIRY)
   * when the key is absent. Replication reads what a write left so, and copies a large value
   * straight from the store's memory into the chunks it ships (no array of its size).
   */
  default <T> T peekEntry(byte[] key, EntryReader<T> reader) {
    TypedEntry e = peekEntry(key);
    return e == null ? reader.read(null, null, 0, NO_EXPIRY)
        : reader.read(e.type(), java.nio.ByteBuffer.wrap(e.value()).asReadOnlyBuffer(), e.version(), e.expireAtMillis());
  }

  /** A reader of a whole entry in place (see {@link #peekEntry(byte[], EntryReader)}). */
  @FunctionalInterface
  interface EntryReader<T> {
    T read(io.distcache.protocol.ValueType type, java.nio.ByteBuffer value, long version, long expireAtMillis);
  }

  /** A reader of an entry in place (see {@link #peekValue}). */
  @FunctionalInterface
  interface PeekReader<T> {
    T read(io.distcache.protocol.ValueType type, java.nio.ByteBuffer value, long expireAtMillis);
  }

  /**
   * The whole entry whatever its type: type, payload (a collection's encoding), version, expiry;
   * null when absent. Counts a hit or a miss. This is what copies an entry (RENAME, COPY) and
   * what collection commands read.
   */
  TypedEntry getTyped(byte[] key);

  /**
   * A collection's payload read in place: {@code reader} gets a read-only view of it (position 0,
   * limit its length), or null when the key is absent, and its result is returned. The view is
   * lent for the call only, as in {@link #readValue}: the reader runs under the key's lock, must
   * copy what it needs and must not call the store. Counts a hit or a miss, as getTyped.
   *
   * @throws StoreException WRONG_TYPE when the key holds another type than {@code type}
   */
  default <T> T readTyped(byte[] key, io.distcache.protocol.ValueType type,
      java.util.function.Function<java.nio.ByteBuffer, T> reader) {
    return readTyped(key, type, (payload, expireAtMillis) -> reader.apply(payload));
  }

  /** A reader of a collection's payload in place and of its key's expiry. */
  @FunctionalInterface
  interface TypedReader<T> {
    /**
     * @param payload the read-only view, or null when the key is absent
     * @param expireAtMillis the key's expiry, {@link #NO_EXPIRY} for none (and when absent)
     */
    T read(java.nio.ByteBuffer payload, long expireAtMillis);
  }

  /**
   * Like {@link #readTyped(byte[], io.distcache.protocol.ValueType, java.util.function.Function)},
   * the reader also given the key's expiry, read with the payload under the same lock: a write that
   * builds its new payload from the view (PackedEdit) writes it back with the expiry it was read
   * with, as a write that decodes a {@link #getTyped} copy does. This default reads such a copy;
   * the off-heap store lends its own memory, and a store that wraps another must forward this
   * method (TrackingStore does) or every caller pays for a heap copy of the whole collection.
   */
  default <T> T readTyped(byte[] key, io.distcache.protocol.ValueType type, TypedReader<T> reader) {
    TypedEntry e = getTyped(key);
    if (e != null && e.type() != type) {
      throw StoreException.wrongType();
    }
    return e == null ? reader.read(null, NO_EXPIRY)
        : reader.read(java.nio.ByteBuffer.wrap(e.value()).asReadOnlyBuffer(), e.expireAtMillis());
  }

  /** Decides an edit of a hash or set payload (Store.editPacked) under the key's lock. */
  @FunctionalInterface
  interface PackedEditor<T> {
    /**
     * @param payload the read-only view of the payload (position 0, limit its length), null when
     *     the key is absent; lent for the call only, as {@link TypedReader}'s
     * @return the result and the edit made from {@code payload} (PackedEdit.hash or .set) to apply
     */
    PackedChange<T> edit(java.nio.ByteBuffer payload);
  }

  /**
   * A write of a few elements of a hash or set (HSET, HDEL, SADD...): {@code editor} decides the
   * edit from the payload's view, under the key's lock, and the store applies it before the lock
   * is released: nothing when it changes nothing, a delete when no element is left, else the new
   * payload with a new version and the key's expiry kept, as {@link #putTypedWithoutFieldTimes}
   * would write it (the edit writes no field expiry times). The new payload is checked against the
   * value limit first (TOO_LARGE). The editor must not call the store; what it throws leaves the
   * key as it was. Counts a hit or a miss, as {@link #readTyped}, unless the editor declines
   * ({@link PackedChange#decline}: its caller reads the key again on another path, which counts).
   *
   * <p>The off-heap store edits a large collection where it lies (PackedEdit.applyInPlace,
   * Segment.editInPlace); this default reads a copy and puts the built payload, which is atomic
   * only for callers that serialise the key's writes (the collection commands hold its gate
   * stripe). It counts its read before the editor decides, so a declined edit too: a store that
   * counts must override it (ReferenceStore does). A store that wraps another must forward it
   * (TrackingStore does) or lose the in-place edit.
   *
   * @throws StoreException WRONG_TYPE when the key holds another type than {@code type}
   */
  default <T> PackedChange<T> editPacked(byte[] key, io.distcache.protocol.ValueType type, PackedEditor<T> editor) {
    TypedEntry e = getTyped(key);
    if (e != null && e.type() != type) {
      throw StoreException.wrongType();
    }
    PackedChange<T> change = editor.edit(e == null ? null : java.nio.ByteBuffer.wrap(e.value()).asReadOnlyBuffer());
    PackedChange.putBuilt(this, key, type, change, e == null ? NO_EXPIRY : e.expireAtMillis());
    return change;
  }

  /**
   * The hashes with field expiry times that the active sweep visits (see {@link FieldExpiryIndex});
   * null when this store keeps no such index, and the sweep walks the keys instead.
   */
  default FieldExpiryIndex fieldExpiryIndex() {
    return null;
  }

  /** The type of a live key, or null when absent. Counts nothing. */
  io.distcache.protocol.ValueType typeOf(byte[] key);

  /**
   * Replaces any entry of the key with a value of {@code type} (payload as {@link #getTyped}
   * returns it) with a new version and the given expiry; an expiry at or before now removes the
   * key instead.
   */
  void putTyped(byte[] key, io.distcache.protocol.ValueType type, byte[] payload, long expireAtMillis);

  /**
   * {@link #putTyped} of a payload the caller knows carries no hash field expiry times (PackedEdit
   * builds none): the store skips the walk of the whole payload that looks for them (the
   * field-expiry index learns the key has none). A store that wraps another must forward it.
   */
  default void putTypedWithoutFieldTimes(byte[] key, io.distcache.protocol.ValueType type, byte[] payload,
      long expireAtMillis) {
    putTyped(key, type, payload, expireAtMillis);
  }

  /** Many keys at once; the result has the same order and size, null where absent. */
  default List<byte[]> getAll(List<byte[]> keys) {
    return getAll(keys, Long.MAX_VALUE);
  }

  /**
   * As {@link #getAll(List)}, or null, having copied no more, as soon as the values found pass
   * {@code maxBytes} together: an MGET's reply is bounded before it is built (sixty values of 16
   * MiB copied onto a 512 MiB heap killed a node).
   */
  List<byte[]> getAll(List<byte[]> keys, long maxBytes);

  boolean exists(byte[] key);

  /** Value length, 0 when absent. */
  long strlen(byte[] key);

  /** Redis GETRANGE: inclusive offsets, negative from the end; empty when absent or out of range. */
  byte[] getRange(byte[] key, long start, long end);

  // ---- writes ----

  /** Writes when {@code args.condition()} holds. See {@link SetArgs}. */
  SetResult set(byte[] key, byte[] value, SetArgs args);

  /**
   * Like {@link #set(byte[], byte[], SetArgs)} with the value copied from {@code value}'s buffer
   * straight into the store's memory (no heap array of its size; see BufferedValue). The buffer
   * must stay held for the call; the store keeps nothing of it after.
   */
  default SetResult set(byte[] key, io.distcache.protocol.BufferedValue value, SetArgs args) {
    return set(key, value.array(), args);
  }

  /**
   * Like {@link #set(byte[], byte[], SetArgs)} (or, when {@code buffered} is not null, the buffered
   * form with its value) with {@code args.returnPrevious()}, without a heap copy of the previous
   * value: when the key held a string, {@code previousInto} is called once with a read-only view of
   * it, lent as {@link #readValue}'s (under the key's lock, before the write), and the result's
   * previous is {@link SetResult#LENT}; null when the key held none. What {@code previousInto}
   * throws leaves the key unwritten. This default copies, as a store without memory to lend does;
   * a store that wraps another must forward it.
   */
  default SetResult setLendingPrevious(byte[] key, byte[] value, io.distcache.protocol.BufferedValue buffered,
      SetArgs args, java.util.function.Consumer<java.nio.ByteBuffer> previousInto) {
    SetResult r = buffered != null ? set(key, buffered, args) : set(key, value, args);
    if (r.previous() == null) {
      return r;
    }
    previousInto.accept(java.nio.ByteBuffer.wrap(r.previous()).asReadOnlyBuffer());
    return new SetResult(r.written(), SetResult.LENT, r.version());
  }

  /** Plain set without expiry: shorthand for {@code set(key, value, SetArgs.ALWAYS)}. */
  default void put(byte[] key, byte[] value) {
    set(key, value, SetArgs.ALWAYS);
  }

  /** Sets every pair (each with the same expiry, {@link #NO_EXPIRY} for none). */
  void setAll(List<byte[]> keys, List<byte[]> values, long expireAtMillis);

  /** Redis MSETNX: sets every pair only if none of the keys exists; atomic across the keys. */
  boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> values);

  /**
   * Like {@link #setAll} with each value copied from its buffer straight into the store's memory
   * (no heap array of its size; see BufferedValue). The buffers must stay held for the call.
   */
  default void setAllBuffered(List<byte[]> keys, List<io.distcache.protocol.BufferedValue> values,
      long expireAtMillis) {
    setAll(keys, arrays(values), expireAtMillis);
  }

  /** Like {@link #setAllIfAbsent} with the values in buffers, as {@link #setAllBuffered}. */
  default boolean setAllIfAbsentBuffered(List<byte[]> keys, List<io.distcache.protocol.BufferedValue> values) {
    return setAllIfAbsent(keys, arrays(values));
  }

  /** The values as heap arrays, for a store that does not copy from buffers. */
  private static List<byte[]> arrays(List<io.distcache.protocol.BufferedValue> values) {
    return values.stream().map(io.distcache.protocol.BufferedValue::array).toList();
  }

  /** True when the key existed and was removed. */
  boolean delete(byte[] key);

  /** Removes and returns the value, or null when absent. */
  byte[] getAndDelete(byte[] key);

  /**
   * Like {@link #getAndDelete(byte[])} without a heap copy: when the key holds a string, calls
   * {@code into} once with a read-only view of it (lent as {@link #readValue}'s, before the delete)
   * and returns true; false when absent. What {@code into} throws leaves the key in place. A store
   * that wraps another must forward it.
   */
  default boolean getAndDelete(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    byte[] v = getAndDelete(key);
    if (v == null) {
      return false;
    }
    into.accept(java.nio.ByteBuffer.wrap(v).asReadOnlyBuffer());
    return true;
  }

  /**
   * Compare-and-set against the entry's version (from {@link #getEntry}). Writes the value with
   * {@code expireAtMillis} only when the current version equals {@code expectedVersion}.
   */
  CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value, long expireAtMillis);

  /**
   * Adds {@code delta} to a decimal integer value (absent counts as 0), keeping the TTL.
   *
   * @throws StoreException NOT_A_NUMBER when the value is not a decimal 64-bit integer, OVERFLOW
   *     when the result does not fit in 64 bits
   */
  long incrementBy(byte[] key, long delta);

  /**
   * Adds {@code delta} to a decimal floating-point value (absent counts as 0), keeping the TTL;
   * returns the new value as stored (Redis INCRBYFLOAT formatting).
   *
   * @throws StoreException NOT_A_NUMBER when the value is not a number, OVERFLOW when the result
   *     would be NaN or infinite
   */
  byte[] incrementByFloat(byte[] key, double delta);

  /** Appends to the value (creating it when absent), keeping the TTL; returns the new length. */
  long append(byte[] key, byte[] suffix);

  /**
   * Like {@link #append(byte[], byte[])} with the suffix copied from its buffer straight into the
   * store's memory (see BufferedValue); the buffer must stay held for the call.
   */
  default long append(byte[] key, io.distcache.protocol.BufferedValue suffix) {
    return append(key, suffix.array());
  }

  /**
   * Redis SETRANGE: overwrites from {@code offset}, zero-padding when the value is shorter;
   * returns the new length. An empty {@code value} with an absent key creates nothing and returns 0.
   */
  long setRange(byte[] key, long offset, byte[] value);

  // ---- expiry ----

  /**
   * Sets the absolute expiry of an existing key when {@code condition} holds (Redis EXPIRE's NX,
   * XX, GT, LT; a key without expiry counts as infinite TTL for GT and LT). A time at or before
   * now deletes the key. Returns true when the expiry was set (or the key deleted).
   */
  boolean expireAt(byte[] key, long expireAtMillis, ExpireCondition condition);

  /** Removes the expiry; true when the key existed and had one. */
  boolean persist(byte[] key);

  /** Remaining milliseconds, or {@link #NO_TTL} or {@link #KEY_MISSING}. */
  long ttlMillis(byte[] key);

  /** Absolute expiry in Unix milliseconds, or {@link #NO_TTL} or {@link #KEY_MISSING}. */
  long expireTimeMillis(byte[] key);

  // ---- whole store ----

  /**
   * One step of a weakly consistent cursor scan (Redis SCAN): start with cursor 0; the scan is
   * over when the returned cursor is 0. Every key present for the whole scan is returned at least
   * once; keys added or removed meanwhile may or may not be. {@code count} is a hint.
   */
  ScanResult scan(long cursor, int count);

  /**
   * A step of {@link #scan} that returns only the keys of the cluster slots set in {@code slots}
   * (a bit per KeySlot slot, {@code KeySlot.SLOTS / 64} words), with the same cursor and the same
   * guarantees; a step may return fewer than {@code count} keys, or none, before the end. For the
   * walks that want some slots' keys (a copy to a replica, a drop, a slot's count): a store may
   * pass over other slots' keys without copying them out.
   */
  default ScanResult scanSlots(long cursor, int count, long[] slots) {
    checkSlotBits(slots);
    ScanResult all = scan(cursor, count);
    java.util.List<byte[]> keys = new java.util.ArrayList<>();
    for (byte[] k : all.keys()) {
      int s = io.distcache.protocol.cluster.KeySlot.of(k);
      if ((slots[s >>> 6] & (1L << s)) != 0) {
        keys.add(k);
      }
    }
    return new ScanResult(all.nextCursor(), keys);
  }

  /**
   * How many keys of cluster slot {@code slot} this store holds. CLUSTER COUNTKEYSINSLOT. A store
   * that keeps a count per slot answers at once and counts a key expired and not removed yet, as
   * {@link #size} and Redis's count do (OffHeapStore); this default walks {@link #scanSlots},
   * which passes over such a key.
   *
   * @throws IllegalArgumentException for a slot outside 0..16383
   */
  default long keysInSlot(int slot) {
    checkSlot(slot);
    long[] only = new long[io.distcache.protocol.cluster.KeySlot.SLOTS / 64];
    only[slot >>> 6] = 1L << slot;
    return keysInSlots(only);
  }

  /**
   * How many keys of the cluster slots set in {@code slots} (bits as in {@link #scanSlots}) this
   * store holds: DBSIZE of a node that also holds other owners' copies. The same count as
   * {@link #keysInSlot} summed, in one walk for a store without counts per slot.
   */
  default long keysInSlots(long[] slots) {
    checkSlotBits(slots);
    long n = 0;
    long cursor = 0;
    do {
      ScanResult step = scanSlots(cursor, 1024, slots);
      n += step.keys().size();
      cursor = step.nextCursor();
    } while (cursor != 0);
    return n;
  }

  /** Checks that {@code slot} is a cluster slot, 0..16383. */
  static void checkSlot(int slot) {
    if (slot < 0 || slot >= io.distcache.protocol.cluster.KeySlot.SLOTS) {
      throw new IllegalArgumentException("slot " + slot + " is outside 0.." + (io.distcache.protocol.cluster.KeySlot.SLOTS - 1));
    }
  }

  /** Checks that {@code slots} has a bit for every cluster slot. */
  static void checkSlotBits(long[] slots) {
    int words = io.distcache.protocol.cluster.KeySlot.SLOTS / 64;
    if (slots.length != words) {
      throw new IllegalArgumentException("slot set of " + slots.length + " words; a bit per slot takes " + words);
    }
  }

  /** A weakly consistent iteration over live entries (for migration and KEYS). */
  java.util.Iterator<KeyValue> iterator();

  /** A random live key, or null when empty. */
  byte[] randomKey();

  /**
   * Replication: stores {@code key} exactly as its owner holds it: this type and value (a
   * collection's encoding for a hash or set), this absolute expiry
   * ({@link #NO_EXPIRY} for none; one already past removes the key) and this version, replacing
   * any entry. Versions this store gives later writes of the key are above {@code version}, so a
   * replica promoted to owner keeps versions growing.
   */
  void applyReplicated(byte[] key, io.distcache.protocol.ValueType type, byte[] value, long expireAtMillis,
      long version);

  /**
   * {@link #applyReplicated} of a string whose value is in {@code value}'s buffer (a replicated
   * large value: BufferedValue.onHeap), copied from there into the store's memory with no array of
   * its size. This default copies it into one.
   */
  default void applyReplicated(byte[] key, io.distcache.protocol.BufferedValue value, long expireAtMillis,
      long version) {
    applyReplicated(key, io.distcache.protocol.ValueType.STRING, value.array(), expireAtMillis, version);
  }

  /** What {@link #applyReplicatedEdit} did. */
  enum ReplicatedEdit {
    /** The copy had the base version: edited, it now has the owner's version. */
    APPLIED,
    /**
     * A write that changed nothing (base and version equal) found the copy at that version: nothing
     * to do. A real edit that finds the copy at its own version is DIVERGED: versions are unique per
     * node, not across nodes, so a replica that kept an owner's last unacknowledged edit can meet the
     * promoted owner's first edit under the same number (a reviewer).
     */
    ALREADY_APPLIED,
    /** The copy is absent, of another type, at another version or expiry: nothing changed. */
    DIVERGED;

    /**
     * The verdict every store gives a replicated edit before replaying it (one rule, so a store
     * that wraps another and the off-heap store cannot drift apart): ALREADY_APPLIED when a write
     * that changed nothing ({@code baseVersion == version}) finds the copy at that version;
     * DIVERGED when the copy is absent ({@code held} null), of another type, or at another
     * version or expiry than the owner edited; null when it is the copy the owner edited, to
     * replay.
     *
     * @param held the copy's type, null when the key is absent
     * @param heldVersion the copy's version (ignored when absent)
     * @param heldExpireAt the copy's expiry (ignored when absent)
     */
    public static ReplicatedEdit before(io.distcache.protocol.ValueType held, long heldVersion, long heldExpireAt,
        io.distcache.protocol.ValueType type, long baseVersion, long version, long expireAtMillis) {
      if (held != null && heldVersion == version && baseVersion == version) {
        return ALREADY_APPLIED; // a write that changed nothing: a check of the version
      }
      if (held == null || held != type || heldVersion != baseVersion || heldExpireAt != expireAtMillis) {
        return DIVERGED;
      }
      return null;
    }
  }

  /**
   * Replication of an edit of a large hash or set, or of a string's ranges (EditJournal, EffectCodec's
   * EDIT kinds): when the key holds {@code type} at exactly {@code baseVersion} and expiry {@code
   * expireAtMillis}, replays {@code ops} (PackedEdit.replay; a string's RANGE calls in order) on it, in place where the store can, and gives the result the
   * owner's {@code version} (later versions of this store go above it, as {@link #applyReplicated}).
   * Otherwise changes nothing: the copy is not the one the owner edited, and guessing would make it
   * differ for good.
   *
   * <p>This default reads a copy and puts the rebuilt payload, atomic only for a caller that
   * serialises the key's writes (the replica's applier applies a stream in order). A store that
   * wraps another must forward it.
   *
   * @throws IllegalArgumentException when {@code ops} are malformed for {@code type}
   */
  default ReplicatedEdit applyReplicatedEdit(byte[] key, io.distcache.protocol.ValueType type, long baseVersion,
      long version, long expireAtMillis, List<PackedEdit.Op> ops) {
    if (type == io.distcache.protocol.ValueType.STRING) {
      checkRanges(ops, config().maxValueBytes());
    }
    TypedEntry e = peekEntry(key);
    ReplicatedEdit verdict = e == null ? ReplicatedEdit.before(null, 0, 0, type, baseVersion, version, expireAtMillis)
        : ReplicatedEdit.before(e.type(), e.version(), e.expireAtMillis(), type, baseVersion, version, expireAtMillis);
    if (verdict != null) {
      return verdict;
    }
    if (type == io.distcache.protocol.ValueType.STRING) {
      byte[] value = e.value();
      for (PackedEdit.Op op : ops) {
        int at = (int) op.offset();
        value = Arrays.copyOf(value, Math.max(value.length, at + op.value().length)); // zero-padded, as SETRANGE
        System.arraycopy(op.value(), 0, value, at, op.value().length);
      }
      applyReplicated(key, type, value, expireAtMillis, version);
      return ReplicatedEdit.APPLIED;
    }
    PackedEdit edit = PackedEdit.replay(java.nio.ByteBuffer.wrap(e.value()).asReadOnlyBuffer(),
        type == io.distcache.protocol.ValueType.HASH, ops);
    if (edit == null || edit.size() == 0) {
      return ReplicatedEdit.DIVERGED; // field times, or emptied: the owner ships those whole or as a delete
    }
    config().checkValueLength(edit.length());
    applyReplicated(key, type, edit.build(), expireAtMillis, version);
    return ReplicatedEdit.APPLIED;
  }

  /**
   * Checks a string edit's calls (PackedEdit.Op.RANGE, from a peer's bytes) before any is applied:
   * each writes at least one byte, at an offset from 0, ending within {@code maxValueBytes}.
   *
   * @throws IllegalArgumentException naming the first call that is not so
   */
  static void checkRanges(List<PackedEdit.Op> ops, long maxValueBytes) {
    for (int i = 0; i < ops.size(); i++) {
      PackedEdit.Op op = ops.get(i);
      if (op.kind() != PackedEdit.Op.RANGE || op.name().length != Long.BYTES || op.value() == null
          || op.value().length == 0) {
        throw new IllegalArgumentException("call " + i + " of a string's edit is not a range of at least one byte at an"
            + " 8-byte offset (kind " + op.kind() + ", name of " + op.name().length + " bytes)");
      }
      long offset = op.offset();
      if (offset < 0 || offset > maxValueBytes - op.value().length) {
        throw new IllegalArgumentException("call " + i + " of a string's edit writes " + op.value().length
            + " bytes at offset " + offset + ": outside a value of at most " + maxValueBytes + " bytes");
      }
    }
  }

  /** The type, version and expiry of a live key without copying its value, or null; counts nothing. */
  default EntryHead peekHead(byte[] key) {
    TypedEntry e = peekEntry(key);
    return e == null ? null : new EntryHead(e.type(), e.version(), e.expireAtMillis());
  }

  /** A live key's type, version and absolute expiry ({@link #NO_EXPIRY} for none). */
  record EntryHead(io.distcache.protocol.ValueType type, long version, long expireAtMillis) {}

  /** Removes every entry. */
  void flush();

  /** Number of live entries (may include expired entries not yet removed). */
  long size();

  /** Number of entries that carry an expiry. */
  long sizeWithExpiry();

  StoreStats stats();

  /** The limits this store enforces (the latest, after {@link #reconfigure}). */
  StoreConfig config();

  /** {@link #frequency} answers this for a present key when the policy keeps no counters. */
  long FREQUENCY_NOT_TRACKED = -1L;

  /**
   * The key's access-frequency counter (Redis's OBJECT FREQ: 0..255, logarithmic, decayed by the
   * time since it was last used) without counting an access; {@link #KEY_MISSING} when absent,
   * {@link #FREQUENCY_NOT_TRACKED} when the policy is not an LFU one.
   */
  long frequency(byte[] key);

  /** {@link #idleSeconds} answers this for a present key under an LFU policy (Redis refuses then). */
  long IDLE_NOT_TRACKED = -1L;

  /**
   * Seconds since the key was last used (Redis's OBJECT IDLETIME: read or written; asking is not a
   * use), from a coarse 1-second access clock; {@link #KEY_MISSING} when absent, {@link
   * #IDLE_NOT_TRACKED} under an LFU policy.
   */
  long idleSeconds(byte[] key);

  /**
   * Changes the memory bound, the eviction policy and the LFU tuning while serving (CONFIG SET);
   * the value-size limit and the clock cannot change. A bound below what the store holds is
   * reached in the background (evicting, or under noeviction refusing writes until deletes make
   * room).
   *
   * @throws IllegalArgumentException when the bound is below {@link #minMaxMemoryBytes()} or another
   *     field changed
   */
  void reconfigure(StoreConfig next);

  /** The least memory bound {@link #reconfigure} accepts. */
  long minMaxMemoryBytes();

  /** Told of entries the store removes by itself: expired (found by a read or the sweeper) or evicted. */
  @FunctionalInterface
  interface RemovalListener {
    /**
     * Called with the store's lock for the key held, on the thread that removed it: must be quick,
     * must not block and must not call the store.
     */
    void removed(byte[] key, boolean expired);
  }

  /**
   * Sets who is told of expirations and evictions (keyspace notifications); null for nobody, the
   * default, which costs the removal paths one volatile read.
   */
  void removalListener(RemovalListener listener);

  /** Stops background work and releases memory. */
  @Override
  void close();
}
