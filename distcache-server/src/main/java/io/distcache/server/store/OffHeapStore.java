package io.distcache.server.store;

import io.distcache.protocol.BufferedValue;
import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import io.netty.util.internal.CleanableDirectBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: the production store. Entries live off-heap in pages owned by 2^k segments (Segment;
 * its index is SlotIndex, its pages and the CLOCK/LFU reclaim PageLog, the entry layout
 * EntryCodec); this class validates arguments, picks the segment from the top bits of the key
 * hash, takes its lock and implements each Redis-like operation on the segment's primitives,
 * every write through one template (see "writes" below). There is no global lock: a single-key operation locks
 * exactly one segment (read lock for reads, so reads of any keys run in parallel), and the few
 * multi-key operations that must be atomic lock their segments in ascending order, which cannot
 * deadlock. A segment that needs memory while the shared budget is exhausted may take a page from
 * another segment, but only with tryWriteLock, so no thread ever waits for a second lock while
 * holding one out of order.
 *
 * Reconfiguring (CONFIG SET maxmemory, maxmemory-policy, lfu-*): the configuration is one
 * volatile record that every path reads afresh, so a change applies to the next operation. A bound
 * lowered below what the store holds is reached by the expiry sweeper's thread, one page per
 * segment lock hold (Segment.shrinkStep), never by a request; meanwhile writes under noeviction are
 * refused with OUT_OF_MEMORY and writes under an evicting policy make their own room as usual.
 *
 * Sizing: pages are about 1/1024 of the bound (512 B .. 256 KiB) so the half-filled head page of
 * each segment is a negligible slack, and there are up to 64 segments, fewer for tiny bounds so
 * every segment can own at least eight pages.
 */
final class OffHeapStore implements Store {
  private static final int MAX_SEGMENTS = 64;
  private static final int MIN_PAGE_SIZE = 512;
  /** Segments one stealPage asks under volatile-* (see there). */
  private static final int MAX_VOLATILE_ASKS = 2;
  private static final long TAG_SPACE = 1L << Segment.TAG_BITS;
  private static final byte[] EMPTY = new byte[0];

  private volatile StoreConfig config;
  private final Clock clock;
  private final MemoryBudget budget;
  private final Segment[] segments;
  private final int segmentBits;
  private final int pageSize;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder expired = new LongAdder();
  private final LongAdder evicted = new LongAdder();
  private final ExpirySweeper sweeper;
  private final AtomicBoolean closed = new AtomicBoolean();
  /**
   * One freed page kept for the next segment that needs one (outside the budget: at most a page,
   * 1/1024 of the bound), so a segment that empties and refills, e.g. one key set and deleted in a
   * loop, does not allocate and zero a page each time.
   */
  private final AtomicReference<CleanableDirectBuffer> sparePage = new AtomicReference<>();

  /**
   * Keys held per cluster slot, as size() counts them: changed under the lock of the entry's
   * segment where Segment.count changes (land, removeAt; flush zeroes them holding every
   * segment), so CLUSTER COUNTKEYSINSLOT is one read, as Redis's is. Walking the store for it cost
   * O(keys on the node) per call: a tool's 16,384 calls stalled a node long enough to be declared
   * dead. 64 KiB, and a slot computed per new key and per removal (about 50 ns), not per overwrite.
   */
  private final java.util.concurrent.atomic.AtomicIntegerArray slotKeys =
      new java.util.concurrent.atomic.AtomicIntegerArray(io.distcache.protocol.cluster.KeySlot.SLOTS);

  /** A segment added an entry for {@code key}. */
  void slotKeyAdded(byte[] key) {
    slotKeys.incrementAndGet(io.distcache.protocol.cluster.KeySlot.of(key));
  }

  /** A segment removed an entry of cluster slot {@code slot}. */
  void slotKeyRemoved(int slot) {
    slotKeys.decrementAndGet(slot);
  }

  @Override
  public long keysInSlot(int slot) {
    Store.checkSlot(slot);
    return slotKeys.get(slot);
  }

  @Override
  public long keysInSlots(long[] slots) {
    Store.checkSlotBits(slots);
    long n = 0;
    for (int w = 0; w < slots.length; w++) {
      for (long bits = slots[w]; bits != 0; bits &= bits - 1) {
        n += slotKeys.get((w << 6) + Long.numberOfTrailingZeros(bits));
      }
    }
    return n;
  }

  /** 0..segments-1: lockAll's order for what holds every segment at once (flush, validate). */
  private final int[] everySegment;

  OffHeapStore(StoreConfig config) {
    this.config = config;
    this.clock = config.clock();
    this.budget = new MemoryBudget(config.maxMemoryBytes());
    long max = config.maxMemoryBytes();
    this.pageSize =
        (int) Math.max(MIN_PAGE_SIZE, Math.min(Segment.MAX_PAGE_SIZE, Long.highestOneBit(max / 1024)));
    long bySize = Long.highestOneBit(Math.max(1, max / (8L * pageSize)));
    int n = (int) Math.min(MAX_SEGMENTS, bySize);
    this.segmentBits = Integer.numberOfTrailingZeros(n);
    this.segments = new Segment[n];
    this.everySegment = java.util.stream.IntStream.range(0, n).toArray();
    for (int i = 0; i < n; i++) {
      segments[i] = new Segment(i, this, budget, pageSize);
    }
    this.sweeper = new ExpirySweeper(this, segments);
  }

  int pageSize() {
    return pageSize;
  }

  int segmentCount() {
    return segments.length;
  }

  long now() {
    return clock.millis();
  }

  CleanableDirectBuffer takeSparePage() {
    return sparePage.getAndSet(null);
  }

  void offerSparePage(CleanableDirectBuffer page) {
    if (closed.get() || !sparePage.compareAndSet(null, page)) {
      page.clean();
    }
  }

  /** Keyspace notifications of expired and evicted entries; null: none. */
  volatile RemovalListener removalListener;

  @Override
  public void removalListener(RemovalListener listener) {
    this.removalListener = listener;
  }

  void countEvicted() {
    evicted.increment();
  }

  void countExpired() {
    expired.increment();
  }

  /**
   * True when a full store may evict: the policy evicts and, under volatile-*, some entry has an
   * expiry (Redis then answers a write that needs room with its OOM error, as under noeviction).
   * Sums the segments' counts, so only the paths that are already short of memory ask.
   */
  boolean canEvict() {
    EvictionPolicy p = config.policy();
    return p.evicts() && (!p.volatileOnly() || sizeWithExpiry() > 0);
  }

  StoreException outOfMemory(long bytes) {
    EvictionPolicy policy = config.policy();
    String why =
        policy == EvictionPolicy.NOEVICTION
            ? "and the policy is noeviction"
            : policy.volatileOnly() && sizeWithExpiry() == 0
                ? "and the policy is " + policy.redisName() + " but no key has an expiry"
                : "and nothing more can be evicted";
    return new StoreException(
        StoreException.Reason.OUT_OF_MEMORY,
        "memory bound "
            + budget.max()
            + " bytes reached ("
            + budget.used()
            + " used) "
            + why
            + "; the write needs "
            + bytes
            + " bytes");
  }

  /**
   * Frees one page of another segment for requester; false when none could be taken now. Under
   * volatile-* only entries with an expiry can go: it asks the segment richest in those, then
   * others that hold some, at most MAX_VOLATILE_ASKS in all, because each ask may walk a few pages
   * there (PageLog.releaseOnePage) while the requester waits with its own lock held.
   */
  boolean stealPage(Segment requester) {
    int n = segments.length;
    boolean volatileOnly = config.policy().volatileOnly();
    Segment richest = null;
    for (Segment s : segments) {
      if (s != requester && (richest == null
          || (volatileOnly ? s.expiring() > richest.expiring() : s.count() > richest.count()))) {
        richest = s;
      }
    }
    if (richest != null && releaseFrom(richest)) {
      return true;
    }
    int asks = 1;
    int start = ThreadLocalRandom.current().nextInt(n);
    for (int i = 0; i < n; i++) {
      Segment s = segments[(start + i) & (n - 1)];
      if (s == requester || s == richest) {
        continue;
      }
      if (volatileOnly) {
        if (s.expiring() == 0) {
          continue; // nothing it may evict: it would answer false
        }
        if (++asks > MAX_VOLATILE_ASKS) {
          return false;
        }
      }
      if (releaseFrom(s)) {
        return true;
      }
    }
    return false;
  }

  private static boolean releaseFrom(Segment s) {
    long stamp = s.lock.tryWriteLock();
    if (stamp == 0) {
      return false;
    }
    try {
      return s.releaseOnePage();
    } finally {
      s.lock.unlockWrite(stamp);
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * A read met an expired entry: removes it now (counting it expired) so its memory comes back
   * and the expiry is counted once, when it is found. Returns the write stamp now held.
   */
  private long removeExpired(Segment s, byte[] key, int tag, long readStamp) {
    long stamp = s.lock.tryConvertToWriteLock(readStamp);
    if (stamp == 0) {
      s.lock.unlockRead(readStamp);
      stamp = s.lock.writeLock();
    }
    s.findLiveForWrite(key, tag, now());
    return stamp;
  }

  /** Reads what a caller wants from a key's slot while the segment lock is held. */
  @FunctionalInterface
  private interface SlotReader<T> {
    /** slot is negative when the key is missing or expired. */
    T read(Segment s, int slot);
  }

  /** SlotReader for primitive results, so a length or a time is not boxed on every call. */
  @FunctionalInterface
  private interface LongSlotReader {
    /** slot is negative when the key is missing or expired. */
    long read(Segment s, int slot);
  }

  /** A SlotReader that takes one argument from its caller, so that it too captures nothing. */
  @FunctionalInterface
  private interface SlotReaderWith<A, T> {
    /** slot is negative when the key is missing or expired. */
    T read(Segment s, int slot, A arg);
  }

  private <T> T read(byte[] key, boolean counted, SlotReader<T> reader) {
    return read(key, counted, reader, (s, slot, r) -> r.read(s, slot));
  }

  /**
   * The one read path for a single key, under the segment's read lock. A counted read (GET and
   * its kin) counts a hit or a miss, marks a hit recently used and removes an expired entry it
   * meets; an uncounted one (EXISTS, STRLEN, TTL...) only looks, leaving statistics, CLOCK bits
   * and memory as they were. Callers pass lambdas that capture nothing (the key and {@code arg}
   * are arguments), which the JVM makes once, so the hot path allocates nothing beyond its result.
   */
  private <A, T> T read(byte[] key, boolean counted, A arg, SlotReaderWith<A, T> reader) {
    StoreConfig.checkKey(key);
    long h = KeyHash.hash(key);
    Segment s = segmentFor(h);
    int tag = Segment.tag(h);
    long stamp = s.lock.readLock();
    try {
      int slot = s.find(key, tag);
      long now = now(); // once: the expiry check and the access clock
      if (slot >= 0 && s.isExpired(slot, now)) {
        if (counted) {
          stamp = removeExpired(s, key, tag, stamp);
        }
        slot = -1;
      }
      if (counted) {
        if (slot < 0) {
          misses.increment();
        } else {
          hits.increment();
          s.touch(slot, now);
        }
      }
      return reader.read(s, slot, arg);
    } finally {
      s.lock.unlock(stamp);
    }
  }

  /** An uncounted read (see read) whose result is a number. */
  private long readLong(byte[] key, LongSlotReader reader) {
    StoreConfig.checkKey(key);
    long h = KeyHash.hash(key);
    Segment s = segmentFor(h);
    long stamp = s.lock.readLock();
    try {
      return reader.read(s, s.findLive(key, Segment.tag(h), now()));
    } finally {
      s.lock.unlockRead(stamp);
    }
  }

  @Override
  public byte[] get(byte[] key) {
    return read(key, true, (s, slot) -> slot < 0 ? null : stringValue(s, slot));
  }

  @Override
  public boolean readValue(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    // Under the read lock, as every read: a write to the key (an overwrite, a delete, a page
    // compaction that moves the entry, eviction) takes the write lock, so the view stays valid
    // and whole for the whole call.
    return read(key, true, into, (s, slot, to) -> {
      if (slot < 0) {
        return false;
      }
      requireString(s, slot);
      if (to instanceof SharedValueReader sharing) {
        // A large value is handed as a reference to its own buffer, which no write frees or reuses
        // until the reader releases it (LargeMemory): the reply is written with no copy.
        io.netty.buffer.ByteBuf held = s.shareValue(slot, sharing.sharedFrom());
        if (held != null) {
          sharing.acceptShared(held);
          return true;
        }
      }
      to.accept(s.valueView(slot));
      return true;
    });
  }

  /** The value at a live slot, which must hold a string. */
  private static byte[] stringValue(Segment s, int slot) {
    requireString(s, slot);
    return s.value(slot);
  }

  /** Refuses (WRONG_TYPE) a live slot holding a collection; a missing one (-1) passes. */
  private static void requireString(Segment s, int slot) {
    if (slot >= 0 && s.type(slot) != ValueType.STRING.code()) {
      throw StoreException.wrongType();
    }
  }

  @Override
  public TypedEntry getTyped(byte[] key) {
    return read(
        key,
        true,
        (s, slot) -> slot < 0 ? null
            : new TypedEntry(ValueType.fromCode(s.type(slot)), s.value(slot), s.version(slot), s.expireAt(slot)));
  }

  @Override
  public <T> T readTyped(byte[] key, ValueType type, TypedReader<T> reader) {
    // Under the read lock, as readValue: the view stays valid and whole for the call.
    return read(key, true, reader, (s, slot, r) -> {
      if (slot >= 0 && s.type(slot) != type.code()) {
        throw StoreException.wrongType();
      }
      return slot < 0 ? r.read(null, NO_EXPIRY) : r.read(s.valueView(slot), s.expireAt(slot));
    });
  }

  @Override
  public ValueType typeOf(byte[] key) {
    return read(key, false, (s, slot) -> slot < 0 ? null : ValueType.fromCode(s.type(slot)));
  }

  @Override
  public StoredEntry getEntry(byte[] key) {
    return read(
        key,
        true,
        (s, slot) ->
            slot < 0 ? null : new StoredEntry(stringValue(s, slot), s.version(slot), s.expireAt(slot)));
  }

  @Override
  public TypedEntry peekEntry(byte[] key) {
    return read(key, false, (s, slot) -> slot < 0 ? null
        : new TypedEntry(ValueType.fromCode(s.type(slot)), s.value(slot), s.version(slot), s.expireAt(slot)));
  }

  @Override
  public <T> T peekValue(byte[] key, PeekReader<T> reader) {
    // Under the read lock, as readTyped: the view stays valid and whole for the call.
    return read(key, false, reader, (s, slot, r) -> slot < 0 ? r.read(null, null, NO_EXPIRY)
        : r.read(ValueType.fromCode(s.type(slot)), s.valueView(slot), s.expireAt(slot)));
  }

  @Override
  public <T> T peekEntry(byte[] key, EntryReader<T> reader) {
    return read(key, false, reader, (s, slot, r) -> slot < 0 ? r.read(null, null, 0, NO_EXPIRY)
        : r.read(ValueType.fromCode(s.type(slot)), s.valueView(slot), s.version(slot), s.expireAt(slot)));
  }

  @Override
  public List<byte[]> getAll(List<byte[]> keys, long maxBytes) {
    keys.forEach(StoreConfig::checkKey);
    long[] hashes = hashes(keys);
    int[] order = segmentOrder(hashes);
    long[] stamps = new long[order.length];
    for (int i = 0; i < order.length; i++) {
      stamps[i] = segments[order[i]].lock.readLock();
    }
    try {
      long now = now();
      List<byte[]> out = new ArrayList<>(keys.size());
      long bytes = 0;
      for (int i = 0; i < keys.size(); i++) {
        Segment s = segmentFor(hashes[i]);
        int slot = s.findLive(keys.get(i), Segment.tag(hashes[i]), now);
        if (slot < 0) {
          misses.increment();
          out.add(null);
        } else if (s.type(slot) != ValueType.STRING.code()) {
          hits.increment(); // Redis's MGET answers nil for a key of another type, and counts a hit
          s.touch(slot, now); // and a use
          out.add(null);
        } else {
          bytes += s.valueLength(slot);
          if (bytes > maxBytes) {
            return null;
          }
          hits.increment();
          s.touch(slot, now);
          out.add(s.value(slot));
        }
      }
      return out;
    } finally {
      for (int i = order.length - 1; i >= 0; i--) {
        segments[order[i]].lock.unlockRead(stamps[i]);
      }
    }
  }

  @Override
  public boolean exists(byte[] key) {
    return read(key, false, (s, slot) -> slot >= 0);
  }

  @Override
  public long strlen(byte[] key) {
    return readLong(key, (s, slot) -> {
      requireString(s, slot);
      return slot < 0 ? 0 : s.valueLength(slot);
    });
  }

  /**
   * The bytes of the range read where the value lies (under the read lock), not a copy of the
   * whole value first: GETRANGE k 0 0 of a 16 MiB value copied 16 MiB (8-10 ms a call), and 500
   * of them pipelined held every other connection of the event loop for 3.9 s (a tester).
   */
  @Override
  public byte[] getRange(byte[] key, long start, long end) {
    return read(key, true, (s, slot) -> { // counted as GET is (Redis's GETRANGE is): GETBIT reads through it
      requireString(s, slot);
      if (slot < 0) {
        return EMPTY;
      }
      java.nio.ByteBuffer v = s.valueView(slot);
      long[] r = range(v.remaining(), start, end);
      if (r == null) {
        return EMPTY;
      }
      byte[] out = new byte[(int) (r[1] - r[0] + 1)];
      v.get(v.position() + (int) r[0], out);
      return out;
    });
  }

  /** GETRANGE's inclusive [first, last] of a value of {@code len} bytes (Redis's rules), or null when empty. */
  private static long[] range(long len, long start, long end) {
    if (start < 0 && end < 0 && start > end) {
      return null;
    }
    if (start < 0) {
      start += len;
    }
    if (end < 0) {
      end += len;
    }
    start = Math.max(0, start);
    end = Math.max(0, end);
    if (end >= len) {
      end = len - 1;
    }
    if (len == 0 || start > end) {
      return null;
    }
    return new long[] {start, end};
  }

  // ---------------------------------------------------------------- writes

  /*
   * Every single-key write is write() with a step: the template validates the key (and the value
   * an operation carries) against the limits before anything is allocated or locked, hashes,
   * picks the segment, takes its write lock, finds the key's live entry (an expired one is removed
   * there and counted as expired) and hands the step the segment, the slot (-1: no live entry),
   * the key, its tag and the time read once under the lock. A step changes the key only through
   * store(), rewrite(), Segment.remove, Segment.setExpiry and Segment.spliceString, so whatever
   * must see every change of a key (its version for WATCH and compare-and-set, a replication
   * effect) hooks in there, once.
   * Argument errors that are not limits (a negative time or offset) are thrown before the
   * template, as the reference store throws them. The multi-key writes (setAll, setAllIfAbsent)
   * lock their segments in ascending order through writeAll, then use the same primitives.
   * editPacked's step also changes a large collection through Segment.editInPlace and
   * Segment.putRebuilt, which give a new version as put does.
   *
   * Steps capture nothing: an operation's arguments travel through the template (value, one
   * object, two longs), so each step is one constant lambda and a write allocates no step object.
   * Capturing lambdas cost 16-24 bytes of heap per write, because a step body compiled on its own
   * is too large for the JIT to inline and so its capture escapes (measured with JMH's gc
   * profiler: docs/BENCHMARKS.md, "Store write template and Segment split").
   */

  /** The part of a single-key write that differs by operation; runs under the segment's write lock. */
  @FunctionalInterface
  private interface WriteStep<A, T> {
    /**
     * @param slot the key's live entry, or -1 when it has none
     * @param now the clock, read once with the lock held
     * @param value, arg, a, b the operation's arguments, as given to write
     */
    T apply(Segment s, int slot, byte[] key, int tag, long now, byte[] value, A arg, long a, long b);
  }

  /**
   * The single-key write template (see above); {@code value} null when the operation carries none
   * (it is checked against the value limit otherwise); arg, a and b are handed to the step.
   */
  private <A, T> T write(byte[] key, byte[] value, A arg, long a, long b, WriteStep<A, T> step) {
    StoreConfig.checkKey(key);
    if (value != null) {
      config.checkValue(value);
    }
    long h = KeyHash.hash(key);
    int tag = Segment.tag(h);
    Segment s = segmentFor(h);
    long stamp = s.lock.writeLock();
    try {
      long now = now();
      return step.apply(s, s.findLiveForWrite(key, tag, now), key, tag, now, value, arg, a, b);
    } finally {
      s.lock.unlockWrite(stamp);
    }
  }

  /**
   * Lands a whole new entry for key (replacing the one at slot, if any) with this version (0: a
   * fresh one of the segment, taken only when the entry lands) and expiry; an expiry at or before
   * now removes the key instead, as Redis leaves no key behind for a write whose time is past. A
   * replaced entry counts as used (touch: an overwrite carries its LFU counter stepped as a read
   * would) unless {@code touch} is false (a replica's copy, a multi-key set).
   */
  private static void store(Segment s, int slot, byte[] key, int tag, ValueType type, byte[] value, long version,
      long expireAt, long now, boolean touch) {
    store(s, slot, key, tag, type, value, null, version, expireAt, now, touch);
  }

  /** Like store, the value {@code buffered}'s when that is not null ({@code value} unused). */
  private static void store(Segment s, int slot, byte[] key, int tag, ValueType type, byte[] value,
      BufferedValue buffered, long version, long expireAt, long now, boolean touch) {
    if (expireAt != NO_EXPIRY && expireAt <= now) {
      if (slot >= 0) {
        s.remove(slot, Segment.Cause.DELETED);
      }
      return;
    }
    if (slot >= 0 && touch) {
      s.touch(slot, now); // the write's own time: no second clock read (a SET's profile, issue 16)
    }
    s.put(key, tag, type.code(), value, buffered, version != 0 ? version : s.nextVersion(), expireAt, now);
  }

  /** Writes a new string value with a new version, keeping the entry's expiry (none when it is new). */
  private static void rewrite(Segment s, int slot, byte[] key, int tag, byte[] value) {
    rewrite(s, slot, key, tag, value, s.nextVersion(), true);
  }

  /** Like rewrite, with {@code version}, counted as a use when {@code touch}. */
  private static void rewrite(Segment s, int slot, byte[] key, int tag, byte[] value, long version, boolean touch) {
    long expireAt = NO_EXPIRY;
    if (slot >= 0) {
      expireAt = s.expireAt(slot);
      if (touch) {
        s.touch(slot);
      }
    }
    s.put(key, tag, value, version, expireAt);
  }

  /** Hashes with field expiry times; fed here, under the segment lock, by every typed write. */
  private final FieldExpiryIndex fieldIndex = new FieldExpiryIndex();

  @Override
  public FieldExpiryIndex fieldExpiryIndex() {
    return fieldIndex;
  }

  @Override
  public void putTyped(byte[] key, ValueType type, byte[] payload, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    // Read outside the lock: finding a hash's earliest field time walks its whole payload.
    putTyped(key, type, payload, expireAtMillis, FieldExpiryIndex.dueTime(type, payload, expireAtMillis));
  }

  @Override
  public void putTypedWithoutFieldTimes(byte[] key, ValueType type, byte[] payload, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    putTyped(key, type, payload, expireAtMillis, 0);
  }

  /** putTyped with the payload's field-expiry due time (FieldExpiryIndex.dueTime) already known. */
  private void putTyped(byte[] key, ValueType type, byte[] payload, long expireAtMillis, long due) {
    write(key, payload, type, expireAtMillis, due, (s, slot, k, tag, now, v, t, at, d) -> {
      store(s, slot, k, tag, t, v, 0, at, now, true);
      indexFieldTimes(k, d, at, now);
      return null;
    });
  }

  /**
   * Under the segment's write lock from the view to the write, so no reader sees a payload half
   * edited and nothing else moves the entry meanwhile. A large indexed collection is edited where
   * it lies (Segment.editInPlace) or rebuilt straight into a new buffer with room to grow
   * (Segment.putRebuilt); anything else (a plain collection, one that just fell to 128 elements,
   * a rebuild the budget has no room for without evicting) is built on the heap and put through
   * store(), as putTypedWithoutFieldTimes would. Either way the key gets a new version, keeps its
   * expiry and counts as used; the field-expiry index learns it has no field times.
   */
  @Override
  public <T> PackedChange<T> editPacked(byte[] key, ValueType type, PackedEditor<T> editor) {
    // The step counts a hit or a miss and feeds the field-expiry index, so it captures the store
    // (one small object per write, as putTyped's).
    return write(key, null, editor, 0, 0, (s, slot, k, tag, now, unused, ed, unusedA, unusedB) -> {
      if (slot >= 0 && s.type(slot) != type.code()) {
        throw StoreException.wrongType();
      }
      PackedChange<T> change;
      try {
        change = ed.edit(slot < 0 ? null : s.valueView(slot));
      } catch (RuntimeException refused) {
        (slot < 0 ? misses : hits).increment(); // a refused write read the key all the same
        throw refused;
      }
      if (change.declined()) {
        return change; // the caller's other path reads the key again and counts it: once
      }
      (slot < 0 ? misses : hits).increment();
      if (!change.wrote()) {
        EditJournal journal = slot < 0 || change.edit() == null ? null : EditJournal.current();
        if (journal != null) {
          // changed nothing: recorded so that a second edit of the key in the write is seen (the
          // replicator ships nothing for a key whose version and expiry stayed, Replicator.heads)
          long v = s.version(slot);
          PackedEdit edit = change.edit();
          journal.record(k, type, v, v, s.expireAt(slot), edit.length(), edit.indexedAfter(), edit.ops());
        }
        return change;
      }
      PackedEdit edit = change.edit();
      if (edit.size() == 0) {
        s.remove(slot, Segment.Cause.DELETED); // an edit that empties the key had elements to remove
        return change;
      }
      long base = slot < 0 ? 0 : s.version(slot);
      long expireAt = slot < 0 ? NO_EXPIRY : s.expireAt(slot);
      long version = s.nextVersion();
      applyEdit(s, slot, k, tag, type, edit, version, expireAt, now);
      EditJournal journal = EditJournal.current();
      if (journal != null) {
        journal.record(k, type, base, version, expireAt, edit.length(), edit.indexedAfter(), edit.ops());
      }
      return change;
    });
  }

  /**
   * Writes {@code edit}, made under the segment's write lock from the view of the entry at slot
   * (-1: none), with {@code version} and {@code expireAt} (the entry's own: an edit keeps it).
   */
  private void applyEdit(Segment s, int slot, byte[] k, int tag, ValueType type, PackedEdit edit, long version,
      long expireAt, long now) {
    config.checkValueLength(edit.length());
    // Last, when the compacting rebuild has no memory: in place past the dead bound rather than a
    // put that needs memory (a removal must not fail for it, see PackedEdit.applyInPlace).
    boolean large = slot >= 0 && edit.indexedAfter()
        && (s.editInPlace(slot, edit, version) || s.putRebuilt(slot, k, tag, edit, version)
            || s.editInPlace(slot, edit, version, true));
    if (!large) {
      store(s, slot, k, tag, type, edit.build(), version, expireAt, now, true);
    }
    // a hash with field times: when the sweep should look (its bound, a hint: the sweep reads the times)
    long due = edit.timedAfter() ? edit.earliestAfter() : 0;
    indexFieldTimes(k, due == Long.MAX_VALUE ? 0 : expireAt > 0 ? Math.min(due, expireAt) : due, expireAt, now);
  }

  /** The arguments of a replica's edit that the write template's two longs do not carry. */
  private record ReplicaEdit(ValueType type, long baseVersion, List<PackedEdit.Op> ops) {}

  /** Under the segment's write lock, as editPacked: a replica's copy is edited where it lies too. */
  @Override
  public ReplicatedEdit applyReplicatedEdit(byte[] key, ValueType type, long baseVersion, long version,
      long expireAtMillis, List<PackedEdit.Op> ops) {
    if (type == ValueType.STRING) {
      Store.checkRanges(ops, config.maxValueBytes()); // all of them before the first is written
    }
    return write(key, null, new ReplicaEdit(type, baseVersion, ops), expireAtMillis, version,
        (s, slot, k, tag, now, unused, re, at, ver) -> {
          ReplicatedEdit verdict = slot < 0 ? ReplicatedEdit.before(null, 0, 0, re.type(), re.baseVersion(), ver, at)
              : ReplicatedEdit.before(ValueType.fromCode(s.type(slot)), s.version(slot), s.expireAt(slot), re.type(),
                  re.baseVersion(), ver, at);
          if (verdict != null) {
            return verdict;
          }
          if (re.type() == ValueType.STRING) {
            s.observeVersion(ver);
            int where = slot;
            try {
              for (PackedEdit.Op op : re.ops()) {
                splice(s, where, k, tag, op.offset(), op.value(), null, ver, false);
                where = s.find(k, tag); // a splice may have moved the entry (a new buffer, a rewrite)
              }
            } catch (RuntimeException e) {
              // A later range refused (no memory for a new buffer) after earlier ones were written,
              // at the owner's version: a value the owner never held. A miss instead (a reviewer).
              where = s.find(k, tag);
              if (where >= 0) {
                s.remove(where, Segment.Cause.DELETED);
              }
              throw e;
            }
            return ReplicatedEdit.APPLIED;
          }
          PackedEdit edit = PackedEdit.replay(s.valueView(slot), re.type() == ValueType.HASH, re.ops());
          if (edit == null || edit.size() == 0) {
            return ReplicatedEdit.DIVERGED; // field times, or emptied: the owner ships those whole or as a delete
          }
          s.observeVersion(ver);
          applyEdit(s, slot, k, tag, re.type(), edit, ver, at, now);
          return ReplicatedEdit.APPLIED;
        });
  }

  @Override
  public EntryHead peekHead(byte[] key) {
    return read(key, false, (s, slot) -> slot < 0 ? null
        : new EntryHead(ValueType.fromCode(s.type(slot)), s.version(slot), s.expireAt(slot)));
  }

  /**
   * The entry keeps its owner's version and later versions of this store go above it (observed
   * even when the copy is already expired, so a promoted replica never reuses it).
   */
  @Override
  public void applyReplicated(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version) {
    // Read outside the lock, as putTyped does: the time depends on the arguments alone. Type and
    // time travel together because the template's two longs carry the expiry and the version.
    TypedDue td = TypedDue.of(type, FieldExpiryIndex.dueTime(type, value, expireAtMillis));
    write(key, value, td, expireAtMillis, version, (s, slot, k, tag, now, v, t, at, ver) ->
        landReplicated(s, slot, k, tag, now, t.type(), v, null, t.due(), at, ver));
  }

  /** applyReplicated's step under the segment lock: the value is {@code buffered}'s when that is not null. */
  private Void landReplicated(Segment s, int slot, byte[] k, int tag, long now, ValueType type, byte[] value,
      BufferedValue buffered, long due, long expireAt, long version) {
    if (version != 0) {
      s.observeVersion(version);
    }
    // version 0 (none shipped) takes a fresh one and counts as a local write
    store(s, slot, k, tag, type, value, buffered, version, expireAt, now, version == 0);
    indexFieldTimes(k, due, expireAt, now);
    return null;
  }

  @Override
  public void applyReplicated(byte[] key, BufferedValue value, long expireAtMillis, long version) {
    config.checkValueLength(value.length());
    // write() checks no value (null): the length is checked above, the bytes are copied in put
    write(key, null, value, expireAtMillis, version, (s, slot, k, tag, now, unused, v, at, ver) ->
        landReplicated(s, slot, k, tag, now, ValueType.STRING, null, v, 0, at, ver));
  }

  /**
   * A typed write's value type and its field-expiry due time (FieldExpiryIndex.dueTime); the
   * common case, no field times, is one constant per type, so only a hash with field times costs
   * an object.
   */
  private record TypedDue(ValueType type, long due) {
    private static final TypedDue[] NONE = Arrays.stream(ValueType.values())
        .map(t -> new TypedDue(t, 0)).toArray(TypedDue[]::new);

    static TypedDue of(ValueType type, long due) {
      return due == 0 ? NONE[type.ordinal()] : new TypedDue(type, due);
    }
  }

  /**
   * Tells the field-expiry index what a typed write left (under its segment lock): nothing when
   * the write's expiry was past, as store() then removed the key and its entry with it.
   */
  private void indexFieldTimes(byte[] key, long due, long expireAt, long now) {
    if (expireAt == NO_EXPIRY || expireAt > now) {
      fieldIndex.written(key, due);
    }
  }

  @Override
  public SetResult set(byte[] key, byte[] value, SetArgs args) {
    return write(key, value, args, 0, 0, (s, slot, k, tag, now, v, sa, unusedA, unusedB) ->
        setString(s, slot, k, tag, now, v, null, sa));
  }

  @Override
  public SetResult set(byte[] key, BufferedValue value, SetArgs args) {
    config.checkValueLength(value.length());
    // write() checks no value (null): the length is checked above, the bytes are copied in put
    return write(key, null, args, 0, 0, (s, slot, k, tag, now, unused, sa, unusedA, unusedB) ->
        setString(s, slot, k, tag, now, null, value, sa));
  }

  @Override
  public SetResult setLendingPrevious(byte[] key, byte[] value, BufferedValue buffered, SetArgs args,
      java.util.function.Consumer<java.nio.ByteBuffer> previousInto) {
    if (!args.returnPrevious()) {
      throw new IllegalArgumentException("setLendingPrevious needs SetArgs.returnPrevious()");
    }
    if (buffered != null) {
      config.checkValueLength(buffered.length());
    }
    // A capturing step (one object per call), as the buffered set's: the reader is the third argument.
    return write(key, buffered != null ? null : value, args, 0, 0, (s, slot, k, tag, now, v, sa, unusedA, unusedB) ->
        setString(s, slot, k, tag, now, v, buffered, sa, previousInto));
  }

  /** SET's step under the key's write lock; the value is {@code buffered}'s when that is not null. */
  private static SetResult setString(Segment s, int slot, byte[] k, int tag, long now, byte[] v,
      BufferedValue buffered, SetArgs sa) {
    return setString(s, slot, k, tag, now, v, buffered, sa, null);
  }

  /**
   * As above; a previous value asked for goes to {@code previousInto} when that is not null (lent
   * in place before the write, which may move or free it; the result says LENT), else into the result.
   */
  private static SetResult setString(Segment s, int slot, byte[] k, int tag, long now, byte[] v,
      BufferedValue buffered, SetArgs sa, java.util.function.Consumer<java.nio.ByteBuffer> previousInto) {
    boolean exists = slot >= 0;
    byte[] previous = null;
    if (sa.returnPrevious() && exists) {
      if (previousInto == null) {
        previous = stringValue(s, slot);
      } else {
        requireString(s, slot);
        previousInto.accept(s.valueView(slot));
        previous = SetResult.LENT;
      }
    }
    if ((sa.condition() == SetArgs.Condition.IF_ABSENT && exists)
        || (sa.condition() == SetArgs.Condition.IF_PRESENT && !exists)) {
      return new SetResult(false, previous, 0);
    }
    long expireAt = sa.keepTtl() ? (exists ? s.expireAt(slot) : NO_EXPIRY) : sa.expireAtMillis();
    long version = s.nextVersion();
    store(s, slot, k, tag, ValueType.STRING, v, buffered, version, expireAt, now, true);
    return new SetResult(true, previous, version);
  }

  @Override
  public void setAll(List<byte[]> keys, List<byte[]> values, long expireAtMillis) {
    setAll(keys, values, null, expireAtMillis);
  }

  @Override
  public void setAllBuffered(List<byte[]> keys, List<BufferedValue> values, long expireAtMillis) {
    setAll(keys, null, values, expireAtMillis);
  }

  /** setAll with the values in {@code arrays}, or when that is null copied from {@code buffers}. */
  private void setAll(List<byte[]> keys, List<byte[]> arrays, List<BufferedValue> buffers, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    writeAll(keys, arrays, buffers, (hashes, now) -> {
      for (int i = 0; i < keys.size(); i++) {
        Segment s = segmentFor(hashes[i]);
        int tag = Segment.tag(hashes[i]);
        byte[] k = keys.get(i);
        // only a past expiry needs the slot (to delete); an expired entry found there is deleted,
        // not counted as expired, and a put replaces one without a lookup of its own here
        int slot = expireAtMillis != NO_EXPIRY && expireAtMillis <= now ? s.find(k, tag) : -1;
        store(s, slot, k, tag, ValueType.STRING, arrays == null ? null : arrays.get(i),
            buffers == null ? null : buffers.get(i), 0, expireAtMillis, now, false);
      }
      return null;
    });
  }

  @Override
  public boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> values) {
    return setAllIfAbsent(keys, values, null);
  }

  @Override
  public boolean setAllIfAbsentBuffered(List<byte[]> keys, List<BufferedValue> values) {
    return setAllIfAbsent(keys, null, values);
  }

  /** setAllIfAbsent with the values in {@code arrays}, or when that is null copied from {@code buffers}. */
  private boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> arrays, List<BufferedValue> buffers) {
    return writeAll(keys, arrays, buffers, (hashes, now) -> {
      for (int i = 0; i < keys.size(); i++) {
        if (segmentFor(hashes[i]).findLiveForWrite(keys.get(i), Segment.tag(hashes[i]), now) >= 0) {
          return false;
        }
      }
      for (int i = 0; i < keys.size(); i++) {
        Segment s = segmentFor(hashes[i]);
        s.put(keys.get(i), Segment.tag(hashes[i]), ValueType.STRING.code(), arrays == null ? null : arrays.get(i),
            buffers == null ? null : buffers.get(i), s.nextVersion(), NO_EXPIRY);
      }
      return true;
    });
  }

  /** The part of a multi-key write that differs by operation; runs with every segment of its keys locked. */
  @FunctionalInterface
  private interface WriteAllStep<T> {
    /** hashes: the keys' hashes, in the keys' order; now: the clock, read once with the locks held. */
    T apply(long[] hashes, long now);
  }

  /**
   * The multi-key write template: validates every pair, then locks the keys' segments in ascending
   * order (which cannot deadlock) and runs the step.
   */
  private <T> T writeAll(List<byte[]> keys, List<byte[]> arrays, List<BufferedValue> buffers, WriteAllStep<T> step) {
    checkPairs(keys, arrays, buffers);
    long[] hashes = hashes(keys);
    int[] order = segmentOrder(hashes);
    long[] stamps = lockAll(order);
    try {
      return step.apply(hashes, now());
    } finally {
      unlockAll(order, stamps);
    }
  }

  @Override
  public boolean delete(byte[] key) {
    return remove(key, false) != null;
  }

  @Override
  public byte[] getAndDelete(byte[] key) {
    return remove(key, true);
  }

  @Override
  public boolean getAndDelete(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    return write(key, null, into, 0, 0, (s, slot, k, tag, now, unused, to, unusedA, unusedB) -> {
      if (slot < 0) {
        return false;
      }
      requireString(s, slot);
      to.accept(s.valueView(slot)); // lent before the entry dies (its large buffer may be reused at once)
      s.remove(slot, Segment.Cause.DELETED);
      return true;
    });
  }

  /**
   * Deletes a live key. Returns null when there was none, else its value when wanted, or EMPTY
   * as a mere "found" so DEL does not copy a value it throws away.
   */
  private byte[] remove(byte[] key, boolean wantValue) {
    return write(key, null, null, wantValue ? 1 : 0, 0, (s, slot, k, tag, now, unused, none, want, unusedB) -> {
      if (slot < 0) {
        return null;
      }
      byte[] v = want != 0 ? stringValue(s, slot) : EMPTY;
      s.remove(slot, Segment.Cause.DELETED); // a hash's field-expiry entry goes with it (Segment.removeAt)
      return v;
    });
  }

  @Override
  public CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    return write(key, value, null, expectedVersion, expireAtMillis, (s, slot, k, tag, now, v, none, expected, at) -> {
      if (slot < 0) {
        return new CasResult(CasResult.Outcome.NOT_FOUND, 0);
      }
      requireString(s, slot);
      long current = s.version(slot);
      if (current != expected) {
        return new CasResult(CasResult.Outcome.VERSION_MISMATCH, current);
      }
      long version = s.nextVersion();
      store(s, slot, k, tag, ValueType.STRING, v, version, at, now, true);
      return new CasResult(CasResult.Outcome.WRITTEN, version);
    });
  }

  @Override
  public long incrementBy(byte[] key, long delta) {
    return write(key, null, null, delta, 0, (s, slot, k, tag, now, unused, none, d, unusedB) -> {
      long current = slot < 0 ? 0 : RedisNumbers.parseLong(stringValue(s, slot));
      long next;
      try {
        next = Math.addExact(current, d);
      } catch (ArithmeticException e) {
        throw new StoreException(StoreException.Reason.OVERFLOW, RedisNumbers.INTEGER_OVERFLOW);
      }
      rewrite(s, slot, k, tag, RedisNumbers.formatLong(next));
      return next;
    });
  }

  @Override
  public byte[] incrementByFloat(byte[] key, double delta) {
    return write(key, null, null, Double.doubleToRawLongBits(delta), 0, (s, slot, k, tag, now, unused, none, d, unusedB) -> {
      byte[] next = RedisNumbers.addFloat(slot < 0 ? null : stringValue(s, slot), Double.longBitsToDouble(d));
      rewrite(s, slot, k, tag, next);
      return next.clone();
    });
  }

  @Override
  public long append(byte[] key, byte[] suffix) {
    return write(key, suffix, null, 0, 0, OffHeapStore::appendStep);
  }

  @Override
  public long append(byte[] key, BufferedValue suffix) {
    config.checkValueLength(suffix.length());
    return write(key, null, suffix, 0, 0, OffHeapStore::appendStep);
  }

  /** APPEND's step: the suffix is {@code buffered}'s when that is not null. */
  private static long appendStep(Segment s, int slot, byte[] k, int tag, long now, byte[] sfx, BufferedValue buffered,
      long unusedA, long unusedB) {
    requireString(s, slot);
    long old = slot < 0 ? 0 : s.valueLength(slot);
    int length = buffered != null ? buffered.length() : sfx.length;
    s.config().checkValueLength(old + length);
    return splice(s, slot, k, tag, old, sfx, buffered);
  }

  @Override
  public long setRange(byte[] key, long offset, byte[] value) {
    if (offset < 0) {
      throw new IllegalArgumentException("offset cannot be negative: " + offset);
    }
    return write(key, value, config, offset, 0, (s, slot, k, tag, now, v, c, off, unusedB) -> {
      requireString(s, slot);
      if (v.length == 0) {
        return slot < 0 ? 0L : s.valueLength(slot);
      }
      if (off > c.maxValueBytes() - v.length) {
        throw new StoreException(
            StoreException.Reason.TOO_LARGE,
            "value length "
                + (off > Long.MAX_VALUE - v.length ? "over 2^63" : String.valueOf(off + v.length))
                + " exceeds the limit "
                + c.maxValueBytes());
      }
      return splice(s, slot, k, tag, off, v, null);
    });
  }

  /**
   * APPEND's and SETRANGE's write (limits checked, the slot a string or -1): {@code src} (or
   * {@code buffered}'s bytes) at {@code offset} of the value, zeros between its end and offset, with
   * a new version and the expiry kept; returns the new length. A result stored in a large buffer is
   * written there from the store's memory and the source (Segment.spliceString: in place when the
   * buffer has room, else into a new one with room to grow); a small one, or one the budget has no
   * room for without evicting (eviction could take the very entry being copied), is built on the
   * heap and rewritten, as every write of a small value is. With a journal open (an owner shipping
   * the write to replicas) the write is recorded as a RANGE call, so a replica gets the bytes written
   * instead of the whole value.
   */
  private static long splice(Segment s, int slot, byte[] k, int tag, long offset, byte[] src, BufferedValue buffered) {
    long base = slot < 0 ? 0 : s.version(slot);
    long expireAt = slot < 0 ? NO_EXPIRY : s.expireAt(slot);
    long version = s.nextVersion();
    long newLength = splice(s, slot, k, tag, offset, src, buffered, version, true);
    // Not for a new key (no base a replica could hold: it ships whole) nor an empty write (APPEND
    // of "": a range of no bytes, which a replica refuses as malformed, found in review).
    EditJournal journal = slot < 0 || (buffered != null ? buffered.length() : src.length) == 0 ? null
        : EditJournal.current();
    if (journal != null) {
      byte[] bytes;
      if (buffered != null) {
        bytes = new byte[buffered.length()];
        buffered.copyTo(java.nio.ByteBuffer.wrap(bytes));
      } else {
        bytes = src.clone(); // the effect may be encoded after the request's arrays are gone
      }
      journal.record(k, ValueType.STRING, base, version, expireAt, newLength, true,
          List.of(PackedEdit.Op.range(offset, bytes)));
    }
    return newLength;
  }

  /**
   * The write of {@link #splice} with {@code version} given (a fresh one, or a replica's owner's),
   * counted as a use when {@code touch} (not on a replica).
   */
  private static long splice(Segment s, int slot, byte[] k, int tag, long offset, byte[] src, BufferedValue buffered,
      long version, boolean touch) {
    int length = buffered != null ? buffered.length() : src.length;
    long newLength = Math.max(slot < 0 ? 0 : s.valueLength(slot), offset + length);
    if (s.spliceString(slot, k, tag, offset, src, buffered, newLength, version, touch)) {
      return newLength;
    }
    byte[] old = slot < 0 ? EMPTY : s.value(slot);
    byte[] next = Arrays.copyOf(old, (int) newLength);
    if (buffered != null) {
      buffered.copyTo(java.nio.ByteBuffer.wrap(next, (int) offset, length));
    } else {
      System.arraycopy(src, 0, next, (int) offset, length);
    }
    rewrite(s, slot, k, tag, next, version, touch);
    return newLength;
  }

  // ---------------------------------------------------------------- expiry

  @Override
  public boolean expireAt(byte[] key, long expireAtMillis, ExpireCondition condition) {
    return write(key, null, condition, expireAtMillis, 0, (s, slot, k, tag, now, unused, cond, at, unusedB) -> {
      if (slot < 0) {
        return false;
      }
      long current = s.expireAt(slot);
      boolean hasTtl = current != NO_EXPIRY;
      boolean ok;
      switch (cond) {
        case NX:
          ok = !hasTtl;
          break;
        case XX:
          ok = hasTtl;
          break;
        case GT:
          ok = hasTtl && at > current;
          break;
        case LT:
          ok = !hasTtl || at < current;
          break;
        default:
          ok = true;
      }
      if (!ok) {
        return false;
      }
      if (at <= now) {
        s.remove(slot, Segment.Cause.DELETED);
      } else {
        s.setExpiry(slot, k, tag, at);
      }
      return true;
    });
  }

  @Override
  public boolean persist(byte[] key) {
    return write(key, null, null, 0, 0, (s, slot, k, tag, now, unused, none, unusedA, unusedB) -> {
      if (slot < 0 || s.expireAt(slot) == NO_EXPIRY) {
        return false;
      }
      s.setExpiry(slot, k, tag, NO_EXPIRY);
      return true;
    });
  }

  private static void checkExpireAt(long expireAtMillis) {
    if (expireAtMillis < 0) {
      throw new IllegalArgumentException("expireAtMillis cannot be negative: " + expireAtMillis);
    }
  }

  @Override
  public long ttlMillis(byte[] key) {
    long at = expireTimeMillis(key);
    return at < 0 ? at : Math.max(0, at - now());
  }

  @Override
  public long expireTimeMillis(byte[] key) {
    return readLong(
        key,
        (s, slot) -> {
          if (slot < 0) {
            return KEY_MISSING;
          }
          long at = s.expireAt(slot);
          return at == NO_EXPIRY ? NO_TTL : at;
        });
  }

  // ---------------------------------------------------------------- whole store

  /*
   * The cursor is (segment << 28 | tag): every key has a fixed 28-bit tag, each step returns all
   * live keys of one segment whose tag lies in the next range, and the cursor only moves forward,
   * so a key present for the whole scan is returned exactly once whatever resizes or deletions
   * happen between steps.
   */
  @Override
  public ScanResult scan(long cursor, int count) {
    if (cursor < 0) {
      throw new IllegalArgumentException("cursor cannot be negative: " + cursor);
    }
    int want = Math.max(1, count);
    List<byte[]> keys = new ArrayList<>();
    while (!scanDone(cursor) && keys.size() < want) {
      cursor = scanStep(cursor, want - keys.size(), keys, null);
    }
    return new ScanResult(scanDone(cursor) ? 0 : cursor, keys);
  }

  /** Steps of the index one scanSlots call takes at most, each of about count entries. */
  private static final int MAX_SLOT_SCAN_STEPS = 16;

  @Override
  public ScanResult scanSlots(long cursor, int count, long[] slots) {
    if (cursor < 0) {
      throw new IllegalArgumentException("cursor cannot be negative: " + cursor);
    }
    Store.checkSlotBits(slots);
    int want = Math.max(1, count);
    List<byte[]> keys = new ArrayList<>(Math.min(want, 1024));
    // Each step walks about as many entries as keys are still wanted, whatever matches, so a call
    // returns at most about `count` keys (as scan does) and is bounded by the steps, not by how
    // many keys the slots hold (none, for a slot set this node holds nothing of).
    for (int step = 0; step < MAX_SLOT_SCAN_STEPS && !scanDone(cursor) && keys.size() < want; step++) {
      cursor = scanStep(cursor, want - keys.size(), keys, null, slots);
    }
    return new ScanResult(scanDone(cursor) ? 0 : cursor, keys);
  }

  private boolean scanDone(long cursor) {
    return (cursor >>> Segment.TAG_BITS) >= segments.length;
  }

  /**
   * One step of the walk in cursor order: collects the live keys (or entries) of the cursor's
   * segment whose tags lie in a range sized to hold about want of them, and returns the cursor
   * after that range; a range that reaches the end of the tag space carries into the next
   * segment, as the cursor is (segment << 28) + tag.
   */
  private long scanStep(long cursor, int want, List<byte[]> keys, List<KeyValue> entries) {
    return scanStep(cursor, want, keys, entries, null);
  }

  private long scanStep(long cursor, int want, List<byte[]> keys, List<KeyValue> entries, long[] slots) {
    Segment s = segments[(int) (cursor >>> Segment.TAG_BITS)];
    long tag = cursor & (TAG_SPACE - 1);
    long span = Math.max(1, TAG_SPACE * want / Math.max(1, s.count()));
    long to = Math.min(TAG_SPACE, tag + span);
    long stamp = s.lock.readLock();
    try {
      s.rangeKeys((int) tag, (int) to, now(), keys, entries, slots);
    } finally {
      s.lock.unlockRead(stamp);
    }
    return cursor - tag + to;
  }

  @Override
  public Iterator<KeyValue> iterator() {
    return new Iterator<>() {
      private long cursor;
      private final List<KeyValue> batch = new ArrayList<>();
      private int pos;

      @Override
      public boolean hasNext() {
        while (pos == batch.size() && !scanDone(cursor)) {
          batch.clear();
          pos = 0;
          cursor = scanStep(cursor, 256, null, batch);
        }
        return pos < batch.size();
      }

      @Override
      public KeyValue next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return batch.get(pos++);
      }
    };
  }

  @Override
  public byte[] randomKey() {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    int n = segments.length;
    int start = rnd.nextInt(n);
    for (int i = 0; i < n; i++) {
      Segment s = segments[(start + i) & (n - 1)];
      if (s.count() == 0) {
        continue;
      }
      long stamp = s.lock.readLock();
      try {
        byte[] k = s.randomKey(rnd, now());
        if (k != null) {
          return k;
        }
      } finally {
        s.lock.unlockRead(stamp);
      }
    }
    return null;
  }

  @Override
  public void flush() {
    fieldIndex.cleared(); // first: a hash written while the segments empty keeps its entry
    // Every segment at once, in ascending order as the multi-key writes take them: the per-slot
    // counts are zeroed while no segment can add or remove a key, so a flush frees pages and
    // writes 16,384 counts. Subtracting each key's slot instead took 1.2 s for 4 million keys (a
    // reviewer), and a node declared dead empties its store under the membership engine's lock.
    long[] stamps = lockAll(everySegment);
    try {
      for (Segment s : segments) {
        s.clear(closed.get());
      }
      for (int slot = 0; slot < slotKeys.length(); slot++) {
        slotKeys.set(slot, 0);
      }
    } finally {
      unlockAll(everySegment, stamps);
    }
    budget.freePooled(); // FLUSHALL gives the memory back, the freed large buffers too
  }

  @Override
  public long size() {
    long n = 0;
    for (Segment s : segments) {
      n += s.count();
    }
    return n;
  }

  @Override
  public long sizeWithExpiry() {
    long n = 0;
    for (Segment s : segments) {
      n += s.expiring();
    }
    return n;
  }

  @Override
  public StoreStats stats() {
    return new StoreStats(
        hits.sum(),
        misses.sum(),
        expired.sum(),
        evicted.sum(),
        size(),
        budget.used(),
        budget.max());
  }

  @Override
  public StoreConfig config() {
    return config;
  }

  @Override
  public long idleSeconds(byte[] key) {
    return readLong(key, (s, slot) -> slot < 0 ? KEY_MISSING
        : config.policy().lfu() ? IDLE_NOT_TRACKED : Math.max(0, s.idleSeconds(slot)));
  }

  @Override
  public long frequency(byte[] key) {
    return readLong(key, (s, slot) -> slot < 0 ? KEY_MISSING
        : config.policy().lfu() ? s.frequency(slot) : FREQUENCY_NOT_TRACKED);
  }

  /**
   * The least bound CONFIG SET may give: two pages per segment (pages are sized from the bound the
   * store started with), so each segment can keep its head page and still make room.
   */
  @Override
  public long minMaxMemoryBytes() {
    return 2L * pageSize * segments.length;
  }

  @Override
  public synchronized void reconfigure(StoreConfig next) {
    if (next.maxValueBytes() != config.maxValueBytes() || next.clock() != config.clock()) {
      throw new IllegalArgumentException("only the memory bound, the policy and the LFU tuning can change while serving");
    }
    if (next.maxMemoryBytes() < minMaxMemoryBytes()) {
      throw new IllegalArgumentException("maxmemory " + next.maxMemoryBytes() + " is below this store's least bound "
          + minMaxMemoryBytes() + " (two pages of " + pageSize + " bytes for each of its " + segments.length + " segments)");
    }
    config = next;
    budget.max(next.maxMemoryBytes());
    if (budget.used() > budget.max()) {
      sweeper.wake();
    }
  }

  /** Bytes of dead large entries' buffers kept for reuse (LargeBufferPool), part of the memory used. */
  long pooledLargeBytes() {
    return budget.pooled();
  }

  /** Called by the sweeper's thread: frees the large buffers pooled and not reused for a while. */
  void freeIdleLargeBuffers() {
    budget.freeIdlePooled(System.nanoTime());
  }

  /**
   * Called by the sweeper's thread: while the store holds more than its bound, gives pages back,
   * one segment lock hold per page, round-robin over the segments; stops when under the bound or
   * when a whole round freed nothing.
   */
  void shrinkToBound() {
    if (budget.used() > budget.max()) {
      budget.freePooled(); // reused memory first: it holds no entry
    }
    int n = segments.length;
    int idle = 0;
    for (int i = 0; budget.used() > budget.max() && idle < n && !closed.get(); i = (i + 1) & (n - 1)) {
      Segment s = segments[i];
      long stamp = s.lock.writeLock();
      boolean progress;
      try {
        progress = s.shrinkStep();
      } finally {
        s.lock.unlockWrite(stamp);
      }
      idle = progress ? 0 : idle + 1;
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    sweeper.close();
    budget.close(); // buffers replies still hold are freed when released, not pooled
    flush();
    CleanableDirectBuffer spare = sparePage.getAndSet(null);
    if (spare != null) {
      spare.clean();
    }
  }

  /**
   * Checks every segment's bookkeeping; returns the first problem found or null. Holds every
   * segment's lock at once, so the expiry sweeper cannot free an entry between the segments being
   * summed and the budget being read.
   */
  String validate() {
    long[] stamps = lockAll(everySegment);
    try {
      long held = 0;
      for (Segment s : segments) {
        String problem = s.validate();
        if (problem != null) {
          return "segment " + s.id + ": " + problem;
        }
        held += s.heldBytes();
      }
      long used = budget.usedBesidesPooled();
      if (held != used) {
        return "budget says " + used + " bytes used besides the large-buffer pool but segments hold " + held;
      }
      int[] perSlot = new int[io.distcache.protocol.cluster.KeySlot.SLOTS];
      for (Segment s : segments) {
        s.countSlots(perSlot);
      }
      for (int slot = 0; slot < perSlot.length; slot++) {
        if (perSlot[slot] != slotKeys.get(slot)) {
          return "slot " + slot + " is counted " + slotKeys.get(slot) + " keys but holds " + perSlot[slot];
        }
      }
      return null;
    } finally {
      unlockAll(everySegment, stamps);
    }
  }

  /** Bytes of dead entries' large buffers that replies still hold (LargeMemory), counted in used memory. */
  @Override
  public long replyHeldBytes() {
    return budget.lent();
  }

  /** Bytes of freed large buffers kept for the next large write (LargeBufferPool); for tests. */
  long pooledBytes() {
    return budget.pooled();
  }

  /**
   * The reference count of the key's large buffer (1: its entry's only; LargeMemory), -1 when the
   * entry is inline, -2 when the key is absent. For tests.
   */
  int largeRefCount(byte[] key) {
    return (int) readLong(key, (s, slot) -> slot < 0 ? -2 : s.largeRefCount(slot));
  }

  /**
   * Bytes of memory the key's large buffer holds, its value's room to grow included (Segment
   * .editInPlace); -1 when the entry is inline in a page, -2 when the key is absent. For tests and
   * diagnosis.
   */
  long largeRoom(byte[] key) {
    return readLong(key, (s, slot) -> slot < 0 ? -2 : s.largeRoom(slot));
  }

  /** Sum of the bytes live entries take in pages and large buffers (no index, no dead bytes). */
  long liveBytes() {
    long b = 0;
    for (Segment s : segments) {
      long stamp = s.lock.readLock();
      try {
        b += s.liveBytes();
      } finally {
        s.lock.unlockRead(stamp);
      }
    }
    return b;
  }

  // ---------------------------------------------------------------- helpers

  private Segment segmentFor(long hash) {
    return segments[segmentBits == 0 ? 0 : (int) (hash >>> (64 - segmentBits))];
  }

  private long[] hashes(List<byte[]> keys) {
    long[] h = new long[keys.size()];
    for (int i = 0; i < h.length; i++) {
      h[i] = KeyHash.hash(keys.get(i));
    }
    return h;
  }

  /** The distinct segment indexes the hashes fall in, ascending: the lock order. */
  private int[] segmentOrder(long[] hashes) {
    boolean[] seen = new boolean[segments.length];
    int n = 0;
    for (long h : hashes) {
      int i = segmentFor(h).id;
      if (!seen[i]) {
        seen[i] = true;
        n++;
      }
    }
    int[] order = new int[n];
    for (int i = 0, j = 0; i < seen.length; i++) {
      if (seen[i]) {
        order[j++] = i;
      }
    }
    return order;
  }

  private long[] lockAll(int[] order) {
    long[] stamps = new long[order.length];
    for (int i = 0; i < order.length; i++) {
      stamps[i] = segments[order[i]].lock.writeLock();
    }
    return stamps;
  }

  private void unlockAll(int[] order, long[] stamps) {
    for (int i = order.length - 1; i >= 0; i--) {
      segments[order[i]].lock.unlockWrite(stamps[i]);
    }
  }

  /** The values are {@code arrays}, or when that is null {@code buffers}. */
  private void checkPairs(List<byte[]> keys, List<byte[]> arrays, List<BufferedValue> buffers) {
    int values = arrays != null ? arrays.size() : buffers.size();
    if (keys.size() != values) {
      throw new IllegalArgumentException(
          "keys and values differ in number: " + keys.size() + " keys, " + values + " values");
    }
    keys.forEach(StoreConfig::checkKey);
    if (arrays != null) {
      arrays.forEach(config::checkValue);
    } else {
      buffers.forEach(v -> config.checkValueLength(v.length()));
    }
  }
}
