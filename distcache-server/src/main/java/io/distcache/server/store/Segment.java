package io.distcache.server.store;

import io.distcache.protocol.ValueType;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.StampedLock;

/*
 * Design: one shard of the store, owning a slice of the key space (chosen by the top bits of the
 * key hash), its own lock, its own index (SlotIndex) and its own log of off-heap pages (PageLog),
 * whose entries EntryCodec lays out. Nothing here is a Java object per entry, so the GC sees a few
 * arrays and buffers whatever the entry count.
 *
 * This class is what ties the three together and what OffHeapStore calls: lookups (find a key's
 * slot, read an entry's fields), the mutations every write lands through (put, remove, setExpiry,
 * and for a large hash or set editInPlace and putRebuilt, below), versions, and the whole-segment walks over the index (sweep, rangeKeys, randomKey).
 * It keeps the counts (entries, entries with an expiry) that the store reads without the lock.
 * put makes room before it looks the key up again: the index may grow and the log may compact,
 * evict or move entries while room is made, so slots found before a put are stale after it.
 *
 * Locking: every method expects the caller to hold this segment's lock (read for the reads, write
 * for anything else). Readers set ACCESSED (or step an LFU counter) under the read lock: racing
 * readers write the same byte and no writer can run, so the race is benign.
 */
final class Segment {
  /** Bits of a key hash's tag (SlotIndex): scan cursors are (segment << TAG_BITS) | tag. */
  static final int TAG_BITS = SlotIndex.TAG_BITS;
  static final int MAX_PAGE_SIZE = SlotIndex.MAX_PAGE_SIZE;
  private static final int HASH = ValueType.HASH.code();

  enum Cause {
    DELETED,
    EXPIRED,
    EVICTED
  }

  final StampedLock lock = new StampedLock();
  final int id;
  private final OffHeapStore store;
  private final MemoryBudget budget;
  private final SlotIndex index;
  private final PageLog log;

  // ---- guarded by lock ----
  private long versionSeq;
  private int sweepCursor;
  private boolean closed;

  // written under the write lock, read without it by size() and the sweeper
  private volatile int count;
  private volatile int expiring;

  Segment(int id, OffHeapStore store, MemoryBudget budget, int pageSize) {
    this.id = id;
    this.store = store;
    this.budget = budget;
    this.index = new SlotIndex(store, budget);
    this.log = new PageLog(this, index, store, budget, pageSize);
  }

  static int tag(long hash) {
    return SlotIndex.tag(hash);
  }

  int count() {
    return count;
  }

  int expiring() {
    return expiring;
  }

  long liveBytes() {
    return log.liveBytes();
  }

  int capacity() {
    return index.capacity();
  }

  // ---------------------------------------------------------------- lookups

  /** The slot holding key, or -(insertion slot + 1). Expired entries are still found. */
  int find(byte[] key, int tag) {
    return index.find(key, tag, log);
  }

  /** The slot of a live, unexpired entry, or -1. */
  int findLive(byte[] key, int tag, long now) {
    int slot = find(key, tag);
    if (slot < 0) {
      return -1;
    }
    return isExpired(slot, now) ? -1 : slot;
  }

  /** Like findLive, but removes an expired entry it meets (write lock only). */
  int findLiveForWrite(byte[] key, int tag, long now) {
    int slot = find(key, tag);
    if (slot < 0) {
      return -1;
    }
    if (isExpired(slot, now)) {
      remove(slot, Cause.EXPIRED);
      return -1;
    }
    return slot;
  }

  boolean isExpired(int slot, long now) {
    long e = index.get(slot);
    if (!SlotIndex.expires(e)) {
      return false;
    }
    long at = expireAt(slot);
    return at != Store.NO_EXPIRY && at <= now;
  }

  long expireAt(int slot) {
    long e = index.get(slot);
    return EntryCodec.expireAt(log.page(SlotIndex.page(e)), SlotIndex.offset(e));
  }

  long version(int slot) {
    long e = index.get(slot);
    return EntryCodec.version(log.page(SlotIndex.page(e)), SlotIndex.offset(e));
  }

  /** The ValueType code of the entry at slot. */
  int type(int slot) {
    long e = index.get(slot);
    return EntryCodec.type(EntryCodec.flags(log.page(SlotIndex.page(e)), SlotIndex.offset(e)));
  }

  /**
   * Marks the entry used: under an LFU policy steps its counter (entries with one), otherwise sets
   * ACCESSED for the CLOCK hand and restamps its access clock; safe under the read lock (racing
   * readers write the same bytes, and may lose a counter step).
   */
  void touch(int slot) {
    touch(slot, store.now());
  }

  /** {@link #touch(int)} with the time the caller already read. */
  void touch(int slot, long now) {
    long e = index.get(slot);
    ByteBuffer pg = log.page(SlotIndex.page(e));
    int off = SlotIndex.offset(e);
    int flags = EntryCodec.flags(pg, off);
    StoreConfig c = store.config();
    if (EntryCodec.countsUses(flags, c)) {
      EntryCodec.stepCounter(pg, off, flags, c, now);
    } else {
      EntryCodec.markAccessed(pg, off, flags);
      if ((flags & EntryCodec.FLAG_CLOCK) != 0) {
        EntryCodec.stampClock(pg, off, flags, now);
      }
    }
  }

  /** Seconds since the entry's last use, without counting one (OBJECT IDLETIME). */
  long idleSeconds(int slot) {
    long e = index.get(slot);
    return EntryCodec.idleSeconds(log.page(SlotIndex.page(e)), SlotIndex.offset(e), store.now());
  }

  /** The entry's LFU counter after decay, without counting an access (OBJECT FREQ). */
  int frequency(int slot) {
    long e = index.get(slot);
    return EntryCodec.frequencyAt(log.page(SlotIndex.page(e)), SlotIndex.offset(e),
        LfuCounter.minutes(store.now()), store.config().lfuDecayMinutes());
  }

  byte[] value(int slot) {
    long e = index.get(slot);
    return EntryCodec.copyOut(log.page(SlotIndex.page(e)), SlotIndex.offset(e), log.larges(), false);
  }

  /** The value in place, read-only; valid only while the caller holds the lock. */
  java.nio.ByteBuffer valueView(int slot) {
    long e = index.get(slot);
    return EntryCodec.valueView(log.page(SlotIndex.page(e)), SlotIndex.offset(e), log.larges());
  }

  /**
   * The string value of the entry at slot as a read-only ByteBuf over the store's memory, holding
   * it until released (LargeMemory): when the entry is large and its value at least {@code
   * minBytes} long; else null (read {@link #valueView} under the lock instead).
   */
  io.netty.buffer.ByteBuf shareValue(int slot, int minBytes) {
    int h = largeHandle(slot);
    if (h < 0) {
      return null;
    }
    ByteBuffer lb = log.larges()[h];
    int valueAt = EntryCodec.largeValueAt(lb);
    return lb.capacity() - valueAt < minBytes ? null : log.shareLarge(h, valueAt);
  }

  /** The reference count of the large buffer of the entry at slot (1: its entry's only), -1 when inline; for tests. */
  int largeRefCount(int slot) {
    int h = largeHandle(slot);
    return h < 0 ? -1 : log.largeRefCount(h);
  }

  /** The handle of the large buffer of the entry at slot, -1 when the entry is inline. */
  private int largeHandle(int slot) {
    long e = index.get(slot);
    ByteBuffer pg = log.page(SlotIndex.page(e));
    int off = SlotIndex.offset(e);
    int flags = EntryCodec.flags(pg, off);
    return (flags & EntryCodec.FLAG_LARGE) == 0 ? -1 : EntryCodec.largeHandle(pg, off, flags);
  }

  int valueLength(int slot) {
    long e = index.get(slot);
    return EntryCodec.valueLength(log.page(SlotIndex.page(e)), SlotIndex.offset(e), log.larges());
  }

  /** The cluster slot of the key of index entry {@code e}, computed where the key lies. */
  private int clusterSlot(long e) {
    return EntryCodec.keySlot(log.page(SlotIndex.page(e)), SlotIndex.offset(e), log.larges());
  }

  private boolean inSlots(long[] slots, int i) {
    long e = index.get(i);
    int s = clusterSlot(e);
    return (slots[s >>> 6] & (1L << s)) != 0;
  }

  byte[] key(int slot) {
    long e = index.get(slot);
    return EntryCodec.copyOut(log.page(SlotIndex.page(e)), SlotIndex.offset(e), log.larges(), true);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores key to value (replacing any entry) with the given version and expiry; the caller has
   * checked the limits and holds the write lock. Makes room first (which may evict or move other
   * entries), so slots found before this call are stale after it.
   */
  void put(byte[] key, int tag, byte[] value, long version, long expireAt) {
    put(key, tag, 0, value, version, expireAt);
  }

  /** Like put, for a value of the given ValueType code (its payload is the encoded collection). */
  void put(byte[] key, int tag, int type, byte[] value, long version, long expireAt) {
    put(key, tag, type, value, null, version, expireAt);
  }

  /** Like put, with the value copied from {@code buffered} when it is not null ({@code value} unused). */
  void put(byte[] key, int tag, int type, byte[] value, io.distcache.protocol.BufferedValue buffered, long version,
      long expireAt) {
    put(key, tag, type, value, buffered, version, expireAt, store.now());
  }

  /**
   * Like put, the entry's access clock taken from {@code now}, the write's own time (store.now()),
   * so a write reads the clock once (a 1 KiB SET's profile, issue 16: four clock reads a request).
   */
  void put(byte[] key, int tag, int type, byte[] value, io.distcache.protocol.BufferedValue buffered, long version,
      long expireAt, long now) {
    roomForNewKey();
    boolean expires = expireAt != Store.NO_EXPIRY;
    int handle = log.prepare(key, value, buffered, EntryCodec.headerSize(expires, true));
    land(key, tag, type, value, buffered, handle, version, expireAt, now);
  }

  /**
   * Before a write that may add a key: refuses when the store is closed or over a lowered bound it
   * cannot evict down from, and grows the index when one more key would pass its load (which may
   * evict or move entries: slots found before are stale after).
   */
  private void roomForNewKey() {
    if (closed) {
      throw new IllegalStateException("store is closed");
    }
    if (budget.used() > budget.max() && !store.canEvict()) {
      // maxmemory was lowered below what the store holds: under noeviction (or volatile-* with no
      // key to evict) writes wait for room
      throw store.outOfMemory(0);
    }
    long indexBytes = index.bytesToGrow(count);
    if (indexBytes > 0) {
      log.reserve(indexBytes);
      index.grow();
    }
  }

  /**
   * The rest of a put once the log has room for the entry (and a large one's buffer, {@code
   * handle} >= 0, is filled): finds the key again, appends the entry and points the index at it,
   * killing the entry it replaces. Nothing in here throws between the append and the index update.
   */
  private void land(byte[] key, int tag, int type, byte[] value, io.distcache.protocol.BufferedValue buffered,
      int handle, long version, long expireAt, long now) {
    boolean expires = expireAt != Store.NO_EXPIRY;
    StoreConfig c = store.config();
    boolean lfu = c.policy().lfu();
    int slot = find(key, tag);
    int counter = LfuCounter.INIT;
    int nowMinutes = 0;
    int clock = 0;
    if (!lfu) {
      clock = EntryCodec.accessClock(now); // a write is a use: IDLETIME 0
    } else {
      nowMinutes = LfuCounter.minutes(now);
      if (slot >= 0) {
        // an overwrite keeps the key's counter (the write's lookup already stepped it, as in Redis)
        long old = index.get(slot);
        counter = EntryCodec.frequencyAt(log.page(SlotIndex.page(old)), SlotIndex.offset(old), nowMinutes,
            c.lfuDecayMinutes());
      }
    }
    int flags = (expires ? EntryCodec.FLAG_EXPIRES : 0) | (type << EntryCodec.TYPE_SHIFT)
        | (lfu ? EntryCodec.FLAG_LFU : EntryCodec.FLAG_CLOCK);
    // A hash overwritten by another type (SET over it) leaves the field-expiry index, once the new
    // entry is in place: nothing may throw between the append and the index update.
    boolean overwritesHash = slot >= 0 && type != HASH && type(slot) == HASH;
    long address = log.append(flags, version, expireAt, counter, nowMinutes, clock, key, value, buffered, handle);
    long packed = SlotIndex.pack(tag, address, expires);
    if (slot >= 0) {
      long old = index.get(slot);
      log.kill(old);
      if (SlotIndex.expires(old)) {
        expiring--;
      }
      index.set(slot, packed);
      log.freeIfEmpty(SlotIndex.page(old), true);
      if (overwritesHash) {
        store.fieldExpiryIndex().removed(key);
      }
    } else {
      index.set(-(slot + 1), packed);
      count++;
      store.slotKeyAdded(key);
    }
    if (expires) {
      expiring++;
    }
  }

  // ---------------------------------------------------------------- collections edited in place

  /*
   * A large hash or set (PackedIndex's layout) keeps spare room at the end of its large buffer
   * (the buffer's memory is longer than the entry's view of it: PageLog.largeRoom), so that a
   * write which adds, replaces or removes an element writes that element (or a dead run where it
   * was) where the payload lies (PackedEdit.applyInPlace) instead of a whole new value. When the
   * room runs out, the table must grow, the payload would be more than a quarter dead or the entry
   * is inline in a page, the edit builds the new payload (without dead runs) straight into a new
   * large buffer with room for 1/ROOM_GROWTH of it again (putRebuilt), so a collection growing one
   * element a write copies its payload O(1) times per element, amortised. A buffer whose payload fills less
   * than 1/ROOM_SHRINK of it is rebuilt smaller on the next write. The room is memory the store
   * holds: reserved in the budget like any buffer (so --max-memory counts it, and INFO's
   * used_memory shows it), never more than the value limit (--max-value) lets the payload grow to.
   */

  /** A rebuilt buffer has room for its payload and half of it again (1.5x). */
  private static final int ROOM_GROWTH = 2;
  /** A payload that fills less than a quarter of its buffer is rebuilt smaller. */
  private static final int ROOM_SHRINK = 4;

  /**
   * Applies {@code edit}, made under this write lock from the view of the entry at slot, to the
   * entry's large buffer where it lies: the entry keeps its place, gets {@code version} (nextVersion(),
   * or a replica's copy of its owner's edit: the owner's; WATCH and
   * compare-and-set see the change as they see a put's) and counts as used, as a put's overwrite
   * does; its expiry stays. False, with nothing changed, when the entry is inline, its buffer's
   * room is too small or mostly unused, or the edit cannot be made in place (PackedEdit).
   */
  boolean editInPlace(int slot, PackedEdit edit, long version) {
    return editInPlace(slot, edit, version, false);
  }

  /** As above; {@code pastDeadBound}: see PackedEdit.applyInPlace(ByteBuffer, boolean). */
  boolean editInPlace(int slot, PackedEdit edit, long version, boolean pastDeadBound) {
    long e = index.get(slot);
    ByteBuffer pg = log.page(SlotIndex.page(e));
    int off = SlotIndex.offset(e);
    int flags = EntryCodec.flags(pg, off);
    if ((flags & EntryCodec.FLAG_LARGE) == 0) {
      return false;
    }
    int h = EntryCodec.largeHandle(pg, off, flags);
    if (log.largeShared(h)) {
      return false; // a reply is being written from it: the edit builds a new buffer (LargeMemory)
    }
    int valueAt = EntryCodec.largeValueAt(log.larges()[h]);
    int room = log.largeRoom(h);
    long length = valueAt + edit.lengthInPlace();
    if (length > room || !pastDeadBound && length * ROOM_SHRINK < room) {
      return false;
    }
    if (!edit.applyInPlace(log.largeMemory(h).slice(valueAt, room - valueAt), pastDeadBound)) {
      return false;
    }
    touch(slot);
    log.resizeLarge(h, (int) length);
    EntryCodec.putVersion(pg, off, version);
    return true;
  }

  /**
   * Replaces the entry at slot (its type and expiry kept) with {@code edit}'s payload built
   * straight into a new large buffer with room to grow (see above), with {@code version}; false,
   * with nothing changed, when the budget has no room for the buffer without evicting, which
   * might take the entry the edit reads (the caller then builds the payload on the heap and puts
   * it, evicting as any put). Makes room for the new stub, which may move or evict other entries.
   */
  boolean putRebuilt(int slot, byte[] key, int tag, PackedEdit edit, long version) {
    long length = edit.length();
    long bytes = EntryCodec.largeSize(key, 0) + length;
    long room = roomToGrow(key, length);
    if (closed || bytes > room) {
      return false;
    }
    int type = type(slot);
    long expireAt = expireAt(slot);
    int handle = newLargeFilled(key, bytes, room, edit::build);
    if (handle < 0) {
      return false;
    }
    touch(slot);
    log.prepareStub(handle, EntryCodec.headerSize(expireAt != Store.NO_EXPIRY, true));
    land(key, tag, type, null, null, handle, version, expireAt, store.now());
    return true;
  }

  /*
   * APPEND and SETRANGE on a large string (issue 16) write the changed bytes where the value lies,
   * as Redis writes into its string's spare room (sds): a large string's buffer may have room after
   * the value (given when an APPEND or SETRANGE outgrew the old buffer, 1/ROOM_GROWTH of the value
   * again, as for a collection), so a string grown by appends copies its bytes O(1) times, amortised,
   * and never through a heap array. The room is counted in the budget as a collection's is; a SET
   * over the key replaces the buffer with one of the value's exact size.
   */

  /**
   * Writes {@code src} (or {@code buffered}'s bytes) at {@code offset} of the string at slot (-1:
   * none, an empty one), zeros between the value's end and offset, the result {@code newLength}
   * long (the caller checked it against the limit), with {@code version} (a fresh one of this
   * segment, or the owner's on a replica), the expiry kept, counted as a use when {@code touch} (not
   * a replica's copy, which a replicated write leaves unused as a whole value's does). In the entry's large buffer when its room holds the result; else into a new large buffer
   * with room to grow (only an existing string gets room: a new one is written at its exact size),
   * the old value copied from where it lies. False, with nothing changed, when the result would be
   * inline (small: the caller builds it on the heap) or the budget has no room for the new buffer
   * without evicting (which might take the entry being copied). Makes room for a new stub, which
   * may move or evict other entries.
   */
  boolean spliceString(int slot, byte[] key, int tag, long offset, byte[] src,
      io.distcache.protocol.BufferedValue buffered, long newLength, long version, boolean touch) {
    long expireAt = slot < 0 ? Store.NO_EXPIRY : expireAt(slot);
    int header = EntryCodec.headerSize(expireAt != Store.NO_EXPIRY, true);
    if (closed || newLength > Integer.MAX_VALUE - 16 - EntryCodec.largeSize(key, 0)
        || !log.isLarge(EntryCodec.inlineSize(header, key, (int) newLength))) {
      return false;
    }
    if (slot < 0) {
      roomForNewKey(); // nothing to copy yet, so it may evict
    }
    int oldLength = slot < 0 ? 0 : valueLength(slot);
    if (slot >= 0) {
      long e = index.get(slot);
      ByteBuffer pg = log.page(SlotIndex.page(e));
      int off = SlotIndex.offset(e);
      int flags = EntryCodec.flags(pg, off);
      if ((flags & EntryCodec.FLAG_LARGE) != 0) {
        int h = EntryCodec.largeHandle(pg, off, flags);
        int valueAt = EntryCodec.largeValueAt(log.larges()[h]);
        // not where a reply is being written from (LargeMemory): then a new buffer, as when it is full
        if (valueAt + newLength <= log.largeRoom(h) && !log.largeShared(h)) {
          writeSplice(log.largeMemory(h), valueAt, oldLength, offset, src, buffered);
          if (touch) {
            touch(slot);
          }
          log.resizeLarge(h, (int) (valueAt + newLength));
          EntryCodec.putVersion(pg, off, version);
          return true;
        }
      }
    }
    long bytes = EntryCodec.largeSize(key, 0) + newLength;
    long room = slot >= 0 ? roomToGrow(key, newLength) : bytes;
    if (bytes > room) {
      return false;
    }
    int handle = newLargeFilled(key, bytes, room, value -> {
      if (oldLength > 0) {
        value.put(0, valueView(slot), 0, oldLength); // store memory to store memory
      }
      writeSplice(value, 0, oldLength, offset, src, buffered);
    });
    if (handle < 0) {
      return false;
    }
    if (slot >= 0 && touch) {
      touch(slot);
    }
    log.prepareStub(handle, header);
    land(key, tag, ValueType.STRING.code(), null, null, handle, version, expireAt, store.now());
    return true;
  }

  private static final byte[] ZEROS = new byte[4096];

  /**
   * Writes the source at {@code offset} of the value at {@code valueAt} in {@code to}, zeros from the
   * value's old end to offset.
   */
  private static void writeSplice(ByteBuffer to, int valueAt, int oldLength, long offset, byte[] src,
      io.distcache.protocol.BufferedValue buffered) {
    for (long at = oldLength; at < offset; at += ZEROS.length) {
      to.put(valueAt + (int) at, ZEROS, 0, (int) Math.min(ZEROS.length, offset - at));
    }
    int from = valueAt + (int) offset;
    if (buffered != null) {
      buffered.copyTo(to, from);
    } else {
      to.put(from, src);
    }
  }

  StoreConfig config() {
    return store.config();
  }

  /**
   * A new large buffer of {@code bytes} (the key's part and the value) with memory for {@code room},
   * reserved without evicting (PageLog.newLargeWithoutEvicting: the entry being read stays), the key
   * written and the value written by {@code fill} into a view of the value's place; its handle, or
   * -1 when the budget has no such room. What {@code fill} throws gives the buffer back.
   */
  private int newLargeFilled(byte[] key, long bytes, long room, java.util.function.Consumer<ByteBuffer> fill) {
    int handle = log.newLargeWithoutEvicting((int) bytes, (int) room);
    if (handle < 0) {
      return -1;
    }
    try {
      ByteBuffer lb = log.larges()[handle];
      EntryCodec.writeLargeKey(lb, key);
      int valueAt = EntryCodec.largeValueAt(lb);
      fill.accept(lb.slice(valueAt, lb.capacity() - valueAt));
    } catch (RuntimeException ex) {
      log.freeLarge(handle);
      throw ex;
    }
    return handle;
  }

  /**
   * The memory of a large buffer for {@code key} and a value of {@code length} with room to grow:
   * 1/ROOM_GROWTH of the value again, no more than the value limit lets it grow to (nor than a
   * buffer may hold).
   */
  private long roomToGrow(byte[] key, long length) {
    long bytes = EntryCodec.largeSize(key, 0) + length;
    long limit = EntryCodec.largeSize(key, 0) + store.config().maxValueBytes();
    return Math.min(Math.min(bytes + length / ROOM_GROWTH, limit), Integer.MAX_VALUE - 16);
  }

  /** Bytes of memory the large buffer of the entry at slot holds (its room), or -1 when it is inline. */
  int largeRoom(int slot) {
    int h = largeHandle(slot);
    return h < 0 ? -1 : log.largeRoom(h);
  }

  /** Replication: versions given after this are above {@code version} (whatever segment gave it). */
  void observeVersion(long version) {
    versionSeq = Math.max(versionSeq, version >>> 6);
  }

  /** A fresh version for this segment: unique across segments because the low bits are the id. */
  long nextVersion() {
    return (++versionSeq << 6) | id;
  }

  /**
   * Changes the expiry of the entry at slot; rewrites the entry when it has no room for one.
   * Keeps the version (the value did not change). Counts as a use of the entry either way (Redis's
   * EXPIRE and PERSIST look the key up for writing, which touches it).
   */
  void setExpiry(int slot, byte[] key, int tag, long expireAt) {
    touch(slot);
    long e = index.get(slot);
    ByteBuffer pg = log.page(SlotIndex.page(e));
    int off = SlotIndex.offset(e);
    if ((EntryCodec.flags(pg, off) & EntryCodec.FLAG_EXPIRES) != 0) {
      EntryCodec.putExpireAt(pg, off, expireAt);
      boolean had = SlotIndex.expires(e);
      boolean has = expireAt != Store.NO_EXPIRY;
      index.set(slot, SlotIndex.withExpiry(e, has));
      expiring += (has ? 1 : 0) - (had ? 1 : 0);
      return;
    }
    if (expireAt == Store.NO_EXPIRY) {
      return;
    }
    put(key, tag, type(slot), value(slot), version(slot), expireAt);
  }

  void remove(int slot, Cause cause) {
    removeAt(slot, cause, true);
  }

  /**
   * Removes the entry at slot, telling the removal listener of an expiry or eviction. The log's
   * walks pass mayFreePage false: they free or reuse the page they walk themselves.
   */
  void removeAt(int slot, Cause cause, boolean mayFreePage) {
    if (cause != Cause.DELETED) {
      Store.RemovalListener listener = store.removalListener;
      if (listener != null) {
        listener.removed(key(slot), cause == Cause.EXPIRED);
      }
    }
    if (type(slot) == HASH) {
      forgetFieldTimes(slot);
    }
    long e = index.get(slot);
    store.slotKeyRemoved(clusterSlot(e));
    log.kill(e);
    if (SlotIndex.expires(e)) {
      expiring--;
    }
    count--;
    index.delete(slot);
    if (cause == Cause.EVICTED) {
      store.countEvicted();
    } else if (cause == Cause.EXPIRED) {
      store.countExpired();
    }
    if (mayFreePage) {
      log.freeIfEmpty(SlotIndex.page(e), false);
      dropIndexIfEmpty();
    }
  }

  /**
   * A hash leaving the store (deleted, expired, evicted) takes its entry in the field-expiry index
   * with it, here under the lock as every change of the index, so no stale entry holds the index's
   * bound while the hash is gone (FieldExpiryIndex).
   */
  private void forgetFieldTimes(int slot) {
    FieldExpiryIndex fields = store.fieldExpiryIndex();
    if (!fields.isEmpty()) {
      fields.removed(key(slot));
    }
  }

  /** An empty segment gives its index table back, so an empty store holds no memory. */
  void dropIndexIfEmpty() {
    if (count == 0 && index.drop()) {
      sweepCursor = 0;
    }
  }

  // ---------------------------------------------------------------- memory

  /** See PageLog.shrinkStep. */
  boolean shrinkStep() {
    return log.shrinkStep();
  }

  /** See PageLog.releaseOnePage. */
  boolean releaseOnePage() {
    return log.releaseOnePage();
  }

  // ---------------------------------------------------------------- whole segment

  /**
   * Removes expired entries among the next maxSlots index slots; returns {slots examined with an
   * expiry, entries removed}.
   */
  long sweep(long now, int maxSlots) {
    int i = sweepCursor;
    int withExpiry = 0;
    int removed = 0;
    for (int n = 0; n < maxSlots && expiring > 0; n++) {
      // read the capacity each time: removing the last entry drops the table
      if (i >= index.capacity()) {
        i = 0;
      }
      long e = index.get(i);
      if (e != 0 && SlotIndex.expires(e)) {
        withExpiry++;
        if (isExpired(i, now)) {
          removeAt(i, Cause.EXPIRED, true);
          removed++;
          continue; // a backward shift may have moved another entry into slot i
        }
      }
      i++;
    }
    sweepCursor = i;
    return ((long) withExpiry << 32) | removed;
  }

  /**
   * Keys (and optionally values) of live entries whose tag is in [fromTag, toTag). Because the
   * home slot is the tag's top bits and linear probing keeps every entry between its home and the
   * next empty slot, those entries sit from home(fromTag) up to the first empty slot at or after
   * home(toTag - 1).
   */
  void rangeKeys(int fromTag, int toTag, long now, List<byte[]> keys, List<KeyValue> entries) {
    rangeKeys(fromTag, toTag, now, keys, entries, null);
  }

  /**
   * Like rangeKeys, keeping only the keys of the cluster slots set in {@code slots} (a bit per
   * KeySlot slot; null keeps every key). A key of another slot is passed over where it lies, not
   * copied out: a copy or drop of a quarter of the slots walks the whole index, and copying out
   * every key made the copier's walk its largest cost (docs/BENCHMARKS.md, "Rebalancing").
   */
  void rangeKeys(int fromTag, int toTag, long now, List<byte[]> keys, List<KeyValue> entries, long[] slots) {
    if (count == 0) {
      return;
    }
    int capacity = index.capacity();
    int mask = capacity - 1;
    int i = index.home(fromTag);
    int last = index.home(toTag - 1);
    boolean pastLast = false;
    for (int n = 0; n < capacity; n++) {
      long e = index.get(i);
      if (e == 0) {
        if (pastLast || i == last) {
          return;
        }
      } else {
        int tg = SlotIndex.tagOf(e);
        if (tg >= fromTag && tg < toTag && !isExpired(i, now) && (slots == null || inSlots(slots, i))) {
          if (entries != null) {
            entries.add(new KeyValue(key(i), value(i), expireAt(i)));
          } else {
            keys.add(key(i));
          }
        }
      }
      if (i == last) {
        pastLast = true;
      }
      i = (i + 1) & mask;
    }
  }

  /** A live key from a random slot, or null after a few misses. */
  byte[] randomKey(java.util.Random rnd, long now) {
    if (count == 0) {
      return null;
    }
    int capacity = index.capacity();
    int mask = capacity - 1;
    int start = rnd.nextInt(capacity);
    for (int n = 0; n < capacity; n++) {
      int i = (start + n) & mask;
      if (index.get(i) != 0 && !isExpired(i, now)) {
        return key(i);
      }
    }
    return null;
  }

  /** Frees every page and large buffer and starts again empty (close: stays closed). */
  /** The caller zeroes the store's per-slot counts while it holds every segment (OffHeapStore.flush). */
  void clear(boolean close) {
    log.clear();
    index.drop();
    count = 0;
    expiring = 0;
    sweepCursor = 0;
    closed = close;
  }

  /** Adds one to {@code perSlot}'s count of each entry's cluster slot (OffHeapStore.validate). */
  void countSlots(int[] perSlot) {
    for (int i = 0, n = count == 0 ? 0 : index.capacity(); i < n; i++) {
      long e = index.get(i);
      if (e != 0) {
        perSlot[clusterSlot(e)]++;
      }
    }
  }

  /** Checks the bookkeeping against the data; returns a description of the first mismatch or null. */
  String validate() {
    int n = 0;
    int exp = 0;
    long bytes = 0;
    int[] pageLive = new int[log.pageSlots()];
    for (int i = 0; i < index.capacity(); i++) {
      long e = index.get(i);
      if (e == 0) {
        continue;
      }
      n++;
      if (SlotIndex.expires(e)) {
        exp++;
      }
      int p = SlotIndex.page(e);
      ByteBuffer pg = log.page(p);
      if (pg == null) {
        return "slot " + i + " points at freed page " + p;
      }
      if ((EntryCodec.flags(pg, SlotIndex.offset(e)) & EntryCodec.FLAG_DEAD) != 0) {
        return "slot " + i + " points at a dead entry";
      }
      pageLive[p] += EntryCodec.entrySize(pg, SlotIndex.offset(e));
      bytes += log.entryCost(e);
    }
    if (n != count) {
      return "count " + count + " but " + n + " slots are present";
    }
    if (exp != expiring) {
      return "expiring " + expiring + " but " + exp + " slots carry an expiry";
    }
    if (bytes != log.liveBytes()) {
      return "liveBytes " + log.liveBytes() + " but live entries sum to " + bytes;
    }
    return log.validate(pageLive);
  }

  /** Bytes this segment holds from the budget (pages, large buffers, index). */
  long heldBytes() {
    return log.heldBytes() + index.heldBytes();
  }
}
