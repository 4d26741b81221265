package io.distcache.server.store;

import io.netty.util.internal.CleanableDirectBuffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.StampedLock;

/*
 * Design: one shard of the store, owning a slice of the key space (chosen by the top bits of the
 * key hash), its own lock, its own index and its own log of off-heap pages. Nothing here is a Java
 * object per entry, so the GC sees a few arrays and buffers whatever the entry count.
 *
 * Index: an off-heap table of longs (a direct buffer, so a resize frees the old one at once and
 * the heap stays small whatever the entry count) with open addressing, linear probing and
 * backward-shift deletion (no tombstones). A slot packs
 *   bit 63 present | bit 62 has expiry | bits 34..61 a 28-bit tag | bits 18..33 page | bits 0..17 offset.
 * The tag is 28 bits of the key hash; the home slot is the tag's top bits, so a probe skips
 * foreign keys without touching their pages, a resize or a backward shift can recompute any home
 * from the slot alone, and the table is ordered by tag, which gives scan a cursor that survives
 * resizes and deletions (see rangeKeys). The expiry bit lets the sweeper skip immortal entries
 * without dereferencing them.
 *
 * Log: entries are appended to the head page; a delete or overwrite only sets the DEAD flag and
 * leaves its bytes behind. Entry layout in a page:
 *   flags(1: EXPIRES, ACCESSED, LARGE, DEAD, bits 4-5 the ValueType code, LFU) version(8)
 *   [expireAt(8) when EXPIRES] [counter(1) minuteStamp(2) when LFU] then either
 *   varint keyLength, varint valueLength, key, value            (inline)
 *   int handle of an out-of-line buffer [int keyLength][key][value]   (LARGE)
 * Large entries (more than a quarter page) live in their own direct buffer, freed the moment the
 * entry dies, so a page never has to hold more than a small entry and big values cost no slack.
 *
 * Reclaim: when the head is full and the memory budget has no page to spare, the oldest page is
 * compacted in place: live entries slide to its front, dead bytes vanish and the page becomes the
 * head with free room after them. Under allkeys-lru the same walk is a CLOCK hand: an entry read
 * since its last pass (ACCESSED, set by get) gets a second chance and the flag cleared, any other
 * is evicted. A budget shortfall (a large value, an index resize, another segment starving) is met
 * by draining the oldest page whole: accessed entries move to the head while it has room, the rest
 * are evicted and the page is freed. Under noeviction only dead and expired bytes are reclaimed.
 *
 * LFU: under allkeys-lfu every entry written carries Redis's 24 bits (LfuCounter: an 8-bit
 * logarithmic counter and a 16-bit minute stamp) after its expiry, flagged by FLAG_LFU; under the
 * other policies entries are written without them, so LRU and noeviction pay nothing. A use (touch)
 * steps the counter (the same benign racy write as ACCESSED) and an overwrite carries the old
 * counter over, as Redis does. The walks that evict (compact with evict, drainTail) then
 * treat the oldest page as Redis treats its sample: they evict its least frequently used entries,
 * those at or below the counter value under which lie a quarter of the bytes of a sample made of
 * this page and, fading, the pages walked before (lfuCutoff), and keep the rest, counters untouched. Entries written before a switch to LFU have no counter:
 * they count as INIT when read since the hand's last pass and 0 otherwise, until rewritten.
 * After a switch back to LRU the counters ride along unused until the entry is rewritten.
 *
 * Locking: every method expects the caller to hold this segment's lock (read for the reads, write
 * for anything else). Readers set ACCESSED under the read lock: racing readers write the same byte
 * and no writer can run, so the race is benign.
 */
final class Segment {
  static final int FLAG_EXPIRES = 1;
  static final int FLAG_ACCESSED = 2;
  static final int FLAG_LARGE = 4;
  static final int FLAG_DEAD = 8;
  /** The entry carries an LFU counter and minute stamp (3 bytes) after its expiry. */
  static final int FLAG_LFU = 0x40;
  private static final int LFU_BYTES = 3;
  /** The least share of a page's live bytes an LFU eviction walk frees (one in four). */
  private static final int LFU_EVICT_SHARE = 4;
  /** Pages one reservation may drain while the store is over a just-lowered bound (see reserve). */
  private static final int MAX_DRAINS_OVER_BOUND = 8;
  /** Bits 4-5 of the flags: the value's ValueType code (0 string, 1 hash, 2 set). */
  static final int TYPE_SHIFT = 4;
  static final int TYPE_MASK = 3 << TYPE_SHIFT;

  private static final long PRESENT = 1L << 63;
  private static final long EXPIRY_BIT = 1L << 62;
  static final int TAG_BITS = 28;
  private static final int TAG_SHIFT = 34;
  private static final long TAG_MASK = (1L << TAG_BITS) - 1;
  private static final int OFFSET_BITS = 18;
  static final int MAX_PAGE_SIZE = 1 << OFFSET_BITS;
  private static final long ADDRESS_MASK = (1L << TAG_SHIFT) - 1;
  private static final int MAX_PAGES = 1 << 16;
  /** The table of a segment holding nothing: one empty slot, so an empty segment costs no memory. */
  private static final ByteBuffer NO_TABLE = ByteBuffer.allocate(8).asReadOnlyBuffer();
  private static final int INITIAL_CAPACITY = 16;
  // 2^27 slots is the largest table a ByteBuffer can hold
  private static final int MAX_CAPACITY_BITS = 27;

  enum Cause {
    DELETED,
    EXPIRED,
    EVICTED
  }

  final StampedLock lock = new StampedLock();
  final int id;
  private final OffHeapStore store;
  private final MemoryBudget budget;
  private final int pageSize;

  // ---- guarded by lock ----
  private ByteBuffer table;
  private CleanableDirectBuffer tableMemory;
  private int capacityBits;
  private long liveBytes;
  private long versionSeq;
  private int sweepCursor;
  private boolean closed;
  /** The LFU walks' decaying sample of counters, by bytes (see lfuCutoff); null until one runs. */
  private long[] lfuSeen;

  private ByteBuffer[] pages = new ByteBuffer[4];
  private CleanableDirectBuffer[] pageMemory = new CleanableDirectBuffer[4];
  private int[] live = new int[4];
  private int[] end = new int[4];
  private int[] older = new int[4];
  private int[] newer = new int[4];
  private int[] freePages = new int[4];
  private int freePageCount;
  private int pageSlots;
  private int pageCount;
  private int head = -1;
  private int tail = -1;

  private ByteBuffer[] larges = new ByteBuffer[4];
  private CleanableDirectBuffer[] largeMemory = new CleanableDirectBuffer[4];
  private int[] freeLarges = new int[4];
  private int freeLargeCount;
  private int largeSlots;

  // written under the write lock, read without it by size() and the sweeper
  private volatile int count;
  private volatile int expiring;

  Segment(int id, OffHeapStore store, MemoryBudget budget, int pageSize) {
    this.id = id;
    this.store = store;
    this.budget = budget;
    this.pageSize = pageSize;
    this.table = NO_TABLE;
    this.capacityBits = 0;
  }

  static int tag(long hash) {
    return (int) ((hash >>> 30) & TAG_MASK);
  }

  int count() {
    return count;
  }

  int expiring() {
    return expiring;
  }

  long liveBytes() {
    return liveBytes;
  }

  int capacity() {
    return (table.capacity() >>> 3);
  }

  // ---------------------------------------------------------------- lookups

  /** The slot holding key, or -(insertion slot + 1). Expired entries are still found. */
  int find(byte[] key, int tag) {
    ByteBuffer t = table;
    int mask = (t.capacity() >>> 3) - 1;
    int i = home(tag);
    while (true) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        return -(i + 1);
      }
      if (tagOf(e) == tag && keyMatches(e, key)) {
        return i;
      }
      i = (i + 1) & mask;
    }
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
    long e = table.getLong(slot << 3);
    if ((e & EXPIRY_BIT) == 0) {
      return false;
    }
    long at = expireAt(slot);
    return at != Store.NO_EXPIRY && at <= now;
  }

  long expireAt(int slot) {
    long e = table.getLong(slot << 3);
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    return (pg.get(off) & FLAG_EXPIRES) != 0 ? pg.getLong(off + 9) : Store.NO_EXPIRY;
  }

  long version(int slot) {
    long e = table.getLong(slot << 3);
    return pages[page(e)].getLong(offset(e) + 1);
  }

  /**
   * Marks the entry used: under an LFU policy steps its counter (entries with one), otherwise sets
   * ACCESSED for the CLOCK hand; safe under the read lock (racing readers may lose a step).
   */
  void touch(int slot) {
    long e = table.getLong(slot << 3);
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    byte flags = pg.get(off);
    StoreConfig c = store.config();
    if ((flags & FLAG_LFU) != 0 && c.policy().lfu()) {
      int at = lfuAt(off, flags);
      int now = LfuCounter.minutes(store.now());
      int counter = LfuCounter.decayed(pg.get(at) & 0xFF, pg.getShort(at + 1) & 0xFFFF, now, c.lfuDecayMinutes());
      counter = LfuCounter.increment(counter, c.lfuLogFactor(), java.util.concurrent.ThreadLocalRandom.current().nextDouble());
      pg.put(at, (byte) counter);
      pg.putShort(at + 1, (short) now);
      return;
    }
    if ((flags & FLAG_ACCESSED) == 0) {
      pg.put(off, (byte) (flags | FLAG_ACCESSED));
    }
  }

  /** The entry's LFU counter after decay, without counting an access (OBJECT FREQ). */
  int frequency(int slot) {
    long e = table.getLong(slot << 3);
    return frequencyAt(pages[page(e)], offset(e), LfuCounter.minutes(store.now()), store.config().lfuDecayMinutes());
  }

  /**
   * The counter of the entry at off: decayed when it has one; an entry written without one (before
   * a switch to LFU) counts as INIT when read since the hand's last pass, else 0.
   */
  private static int frequencyAt(ByteBuffer pg, int off, int nowMinutes, int decayMinutes) {
    int flags = pg.get(off);
    if ((flags & FLAG_LFU) == 0) {
      return (flags & FLAG_ACCESSED) != 0 ? LfuCounter.INIT : 0;
    }
    int at = lfuAt(off, flags);
    return LfuCounter.decayed(pg.get(at) & 0xFF, pg.getShort(at + 1) & 0xFFFF, nowMinutes, decayMinutes);
  }

  byte[] value(int slot) {
    return copyOut(slot, false);
  }

  int valueLength(int slot) {
    long e = table.getLong(slot << 3);
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(p)];
      return lb.capacity() - 4 - lb.getInt(0);
    }
    int klen = readVarint(pg, p);
    return readVarint(pg, p + varintSize(klen));
  }

  byte[] key(int slot) {
    return copyOut(slot, true);
  }

  /**
   * Copies the entry's key or value onto the heap. A large entry's buffer holds the key length,
   * the key and the value; an inline entry has both lengths as varints, then the key, the value.
   */
  private byte[] copyOut(int slot, boolean wantKey) {
    long e = table.getLong(slot << 3);
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    ByteBuffer from;
    int klen;
    int vlen;
    if ((flags & FLAG_LARGE) != 0) {
      from = larges[pg.getInt(p)];
      klen = from.getInt(0);
      vlen = from.capacity() - 4 - klen;
      p = 4;
    } else {
      from = pg;
      klen = readVarint(pg, p);
      p += varintSize(klen);
      vlen = readVarint(pg, p);
      p += varintSize(vlen);
    }
    byte[] out = new byte[wantKey ? klen : vlen];
    from.get(wantKey ? p : p + klen, out, 0, out.length);
    return out;
  }

  /** Bytes the entry costs in the budget's terms: its log bytes plus its large buffer. */
  private int entryCost(long e) {
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    int size = entrySize(pg, off);
    int flags = pg.get(off);
    if ((flags & FLAG_LARGE) != 0) {
      size += larges[pg.getInt(lengthsAt(off, flags))].capacity();
    }
    return size;
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
    if (closed) {
      throw new IllegalStateException("store is closed");
    }
    if (!store.config().policy().evicts() && budget.used() > budget.max()) {
      // maxmemory was lowered below what the store holds: under noeviction writes wait for room
      throw store.outOfMemory(0);
    }
    ensureIndexRoom();
    boolean expires = expireAt != Store.NO_EXPIRY;
    StoreConfig c = store.config();
    boolean lfu = c.policy().lfu();
    int header = 9 + (expires ? 8 : 0) + (lfu ? LFU_BYTES : 0);
    long inline =
        (long) header
            + varintSize(key.length)
            + varintSize(value.length)
            + key.length
            + value.length;
    int flags = (expires ? FLAG_EXPIRES : 0) | (type << TYPE_SHIFT) | (lfu ? FLAG_LFU : 0);
    int handle = -1;
    int size;
    if (inline <= pageSize / 4) {
      size = (int) inline;
    } else {
      handle = storeLarge(key, value);
      flags |= FLAG_LARGE;
      size = header + 4;
    }
    try {
      ensureLogRoom(size);
    } catch (RuntimeException e) {
      if (handle >= 0) {
        freeLarge(handle);
      }
      throw e;
    }
    int slot = find(key, tag);
    int counter = LfuCounter.INIT;
    int nowMinutes = 0;
    if (lfu) {
      nowMinutes = LfuCounter.minutes(store.now());
      if (slot >= 0) {
        // an overwrite keeps the key's counter (the write's lookup already stepped it, as in Redis)
        long old = table.getLong(slot << 3);
        counter = frequencyAt(pages[page(old)], offset(old), nowMinutes, c.lfuDecayMinutes());
      }
    }
    ByteBuffer pg = pages[head];
    int off = end[head];
    pg.put(off, (byte) flags);
    pg.putLong(off + 1, version);
    int p = off + 9;
    if (expires) {
      pg.putLong(p, expireAt);
      p += 8;
    }
    if (lfu) {
      pg.put(p, (byte) counter);
      pg.putShort(p + 1, (short) nowMinutes);
      p += LFU_BYTES;
    }
    if (handle >= 0) {
      pg.putInt(p, handle);
      liveBytes += larges[handle].capacity();
    } else {
      p = writeVarint(pg, p, key.length);
      p = writeVarint(pg, p, value.length);
      pg.put(p, key, 0, key.length);
      pg.put(p + key.length, value, 0, value.length);
    }
    end[head] = off + size;
    live[head] += size;
    liveBytes += size;
    long packed = PRESENT | ((long) tag << TAG_SHIFT) | address(head, off) | (expires ? EXPIRY_BIT : 0);
    if (slot >= 0) {
      long old = table.getLong(slot << 3);
      killEntry(old);
      if ((old & EXPIRY_BIT) != 0) {
        expiring--;
      }
      table.putLong(slot << 3, packed);
      int oldPage = page(old);
      if (live[oldPage] == 0 && oldPage != head) {
        unlink(oldPage);
        freePage(oldPage);
      }
    } else {
      table.putLong((-(slot + 1)) << 3, packed);
      count++;
    }
    if (expires) {
      expiring++;
    }
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
   * Keeps the version (the value did not change).
   */
  void setExpiry(int slot, byte[] key, int tag, long expireAt) {
    long e = table.getLong(slot << 3);
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    int flags = pg.get(off);
    if ((flags & FLAG_EXPIRES) != 0) {
      pg.putLong(off + 9, expireAt);
      boolean had = (e & EXPIRY_BIT) != 0;
      boolean has = expireAt != Store.NO_EXPIRY;
      table.putLong(slot << 3, has ? (e | EXPIRY_BIT) : (e & ~EXPIRY_BIT));
      expiring += (has ? 1 : 0) - (had ? 1 : 0);
      return;
    }
    if (expireAt == Store.NO_EXPIRY) {
      return;
    }
    touch(slot);
    put(key, tag, type(slot), value(slot), version(slot), expireAt);
  }

  /** The ValueType code of the entry at slot. */
  int type(int slot) {
    long e = table.getLong(slot << 3);
    return (pages[page(e)].get(offset(e)) & TYPE_MASK) >>> TYPE_SHIFT;
  }

  void remove(int slot, Cause cause) {
    removeAt(slot, cause, true);
  }

  private void removeAt(int slot, Cause cause, boolean mayFreePage) {
    if (cause != Cause.DELETED) {
      Store.RemovalListener listener = store.removalListener;
      if (listener != null) {
        listener.removed(key(slot), cause == Cause.EXPIRED);
      }
    }
    long e = table.getLong(slot << 3);
    int p = page(e);
    killEntry(e);
    if ((e & EXPIRY_BIT) != 0) {
      expiring--;
    }
    count--;
    deleteSlot(slot);
    if (cause == Cause.EVICTED) {
      store.countEvicted();
    } else if (cause == Cause.EXPIRED) {
      store.countExpired();
    }
    if (mayFreePage && live[p] == 0) {
      unlink(p);
      freePage(p);
    }
    if (mayFreePage && count == 0) {
      dropTable();
    }
  }

  private void dropTable() {
    if (table != NO_TABLE) {
      budget.free(tableMemory);
      tableMemory = null;
      table = NO_TABLE;
      capacityBits = 0;
      sweepCursor = 0;
    }
  }

  /** Marks an entry's bytes dead and gives back its large buffer; the index is the caller's. */
  private void killEntry(long e) {
    int p = page(e);
    ByteBuffer pg = pages[p];
    int off = offset(e);
    int flags = pg.get(off);
    int size = entrySize(pg, off);
    pg.put(off, (byte) (flags | FLAG_DEAD));
    live[p] -= size;
    liveBytes -= size;
    if ((flags & FLAG_LARGE) != 0) {
      int h = pg.getInt(lengthsAt(off, flags));
      liveBytes -= larges[h].capacity();
      freeLarge(h);
    }
  }

  private void deleteSlot(int slot) {
    ByteBuffer t = table;
    int mask = (t.capacity() >>> 3) - 1;
    int i = slot;
    int j = slot;
    while (true) {
      j = (j + 1) & mask;
      long e = t.getLong(j << 3);
      if (e == 0) {
        break;
      }
      int h = home(tagOf(e));
      // e may move back to i unless its home lies cyclically in (i, j]
      boolean stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        t.putLong(i << 3, e);
        i = j;
      }
    }
    t.putLong(i << 3, 0);
  }

  // ---------------------------------------------------------------- room

  private void ensureIndexRoom() {
    if (table == NO_TABLE) {
      reserve(8L * INITIAL_CAPACITY);
      tableMemory = newTable(INITIAL_CAPACITY);
      table = tableMemory.buffer();
      capacityBits = Integer.numberOfTrailingZeros(INITIAL_CAPACITY);
      return;
    }
    int cap = table.capacity() >>> 3;
    if ((long) (count + 1) * 4 <= (long) cap * 3 || capacityBits >= MAX_CAPACITY_BITS) {
      return;
    }
    reserve(16L * cap);
    CleanableDirectBuffer nMemory = newTable(2 * cap);
    ByteBuffer n = nMemory.buffer();
    int bits = capacityBits + 1;
    int mask = 2 * cap - 1;
    // eviction may have run while reserving, but only public removals drop the table, so it is
    // still the one of cap slots
    ByteBuffer t = table;
    for (int j = 0; j < cap; j++) {
      long e = t.getLong(j << 3);
      if (e != 0) {
        int i = (int) (tagOf(e) >>> (TAG_BITS - bits));
        while (n.getLong(i << 3) != 0) {
          i = (i + 1) & mask;
        }
        n.putLong(i << 3, e);
      }
    }
    budget.free(tableMemory);
    table = n;
    tableMemory = nMemory;
    capacityBits = bits;
  }

  /** Takes bytes from the budget, evicting (under allkeys-lru) until they fit. */
  private void reserve(long bytes) {
    if (bytes > budget.max()) {
      throw store.outOfMemory(bytes);
    }
    int failures = 0;
    int drained = 0;
    while (!budget.tryReserve(bytes)) {
      if (!store.config().policy().evicts()) {
        throw store.outOfMemory(bytes);
      }
      if (++drained > MAX_DRAINS_OVER_BOUND && budget.used() > budget.max()) {
        // maxmemory was lowered and the sweeper is still shrinking: one request must not do it all
        throw store.outOfMemory(bytes);
      }
      if (tail >= 0) {
        drainTail();
      } else if (!store.stealPage(this) && ++failures > 16) {
        throw store.outOfMemory(bytes);
      }
    }
  }

  private int storeLarge(byte[] key, byte[] value) {
    int bytes = 4 + key.length + value.length;
    reserve(bytes);
    CleanableDirectBuffer memory = budget.allocate(bytes);
    if (memory == null) {
      throw store.outOfMemory(bytes);
    }
    ByteBuffer lb = memory.buffer().order(ByteOrder.LITTLE_ENDIAN);
    lb.putInt(0, key.length);
    lb.put(4, key, 0, key.length);
    lb.put(4 + key.length, value, 0, value.length);
    int h;
    if (freeLargeCount > 0) {
      h = freeLarges[--freeLargeCount];
    } else {
      if (largeSlots == larges.length) {
        larges = Arrays.copyOf(larges, largeSlots * 2);
        largeMemory = Arrays.copyOf(largeMemory, largeSlots * 2);
        freeLarges = Arrays.copyOf(freeLarges, largeSlots * 2);
      }
      h = largeSlots++;
    }
    larges[h] = lb;
    largeMemory[h] = memory;
    return h;
  }

  private void freeLarge(int h) {
    budget.free(largeMemory[h]);
    larges[h] = null;
    largeMemory[h] = null;
    freeLarges[freeLargeCount++] = h;
  }

  /** Makes the head page able to take size more bytes. */
  private void ensureLogRoom(int size) {
    if (head >= 0 && pageSize - end[head] >= size) {
      return;
    }
    if (reclaimDeadPage(size)) {
      return;
    }
    if (budget.tryReserve(pageSize)) {
      newPage();
      return;
    }
    if (store.config().policy().evicts()) {
      for (int round = 0, limit = 2 * pageCount + 16; round < limit; round++) {
        if (tail < 0) {
          if (store.stealPage(this) && budget.tryReserve(pageSize)) {
            newPage();
            return;
          }
          continue;
        }
        compact(tail, true);
        if (pageSize - end[head] >= size) {
          return;
        }
        if (budget.tryReserve(pageSize)) {
          newPage();
          return;
        }
      }
      throw store.outOfMemory(size);
    }
    int best = leastLivePage();
    if (best < 0 || pageSize - live[best] < size) {
      // expired entries count as live until a walk meets them: try one before refusing
      if (best >= 0) {
        compact(best, false);
        if (pageSize - end[head] >= size) {
          return;
        }
      }
      throw store.outOfMemory(size);
    }
    compact(best, false);
  }

  private void newPage() {
    if (pageCount >= MAX_PAGES) {
      budget.release(pageSize);
      throw store.outOfMemory(pageSize);
    }
    CleanableDirectBuffer memory = store.takeSparePage();
    if (memory == null) {
      memory = budget.allocate(pageSize);
      if (memory == null) {
        throw store.outOfMemory(pageSize);
      }
    }
    int p;
    if (freePageCount > 0) {
      p = freePages[--freePageCount];
    } else {
      if (pageSlots == pages.length) {
        int n = pageSlots * 2;
        pages = Arrays.copyOf(pages, n);
        pageMemory = Arrays.copyOf(pageMemory, n);
        live = Arrays.copyOf(live, n);
        end = Arrays.copyOf(end, n);
        older = Arrays.copyOf(older, n);
        newer = Arrays.copyOf(newer, n);
        freePages = Arrays.copyOf(freePages, n);
      }
      p = pageSlots++;
    }
    pages[p] = memory.buffer().order(ByteOrder.LITTLE_ENDIAN);
    pageMemory[p] = memory;
    live[p] = 0;
    end[p] = 0;
    linkAsHead(p);
    pageCount++;
  }

  private void freePage(int p) {
    budget.release(pageSize);
    store.offerSparePage(pageMemory[p]);
    pages[p] = null;
    pageMemory[p] = null;
    freePages[freePageCount++] = p;
    pageCount--;
  }

  private void linkAsHead(int p) {
    older[p] = head;
    newer[p] = -1;
    if (head >= 0) {
      newer[head] = p;
    } else {
      tail = p;
    }
    head = p;
  }

  private void unlink(int p) {
    if (older[p] >= 0) {
      newer[older[p]] = newer[p];
    } else {
      tail = newer[p];
    }
    if (newer[p] >= 0) {
      older[newer[p]] = older[p];
    } else {
      head = older[p];
    }
  }

  /**
   * Slides page p's surviving entries to its front and makes it the head. With evict, entries
   * not read since the last pass are evicted and the others lose their ACCESSED mark.
   */
  /**
   * Overwrites and deletes leave dead bytes behind, and a page is freed on its own only once every
   * entry in it is dead. Reusing a page that is at least two-thirds dead before taking a new one
   * keeps a segment's pages within about three times its live bytes however keys are rewritten
   * (about 1.5x under uniform random overwrites); without it an overwrite-heavy load grows the log
   * to the memory bound (a million keys rewritten a few times held 1 GB for 150 MB of entries).
   * Compacting moves at most half a byte per byte it frees, plus an index probe per moved entry;
   * at half dead that cost showed as 15-20% fewer SETs per second (docs/BENCHMARKS.md, "Changes").
   * The compacted page becomes the head, so its survivors count as young for the CLOCK hand: a
   * mild reordering, and their ACCESSED bits are kept.
   */
  private boolean reclaimDeadPage(int size) {
    int best = leastLivePage();
    if (best < 0 || live[best] > pageSize / 3 || pageSize - live[best] < size) {
      return false;
    }
    compact(best, false);
    return pageSize - end[head] >= size;
  }

  /** The page with the fewest live bytes (the most to gain by compacting it), or -1 if none. */
  private int leastLivePage() {
    int best = -1;
    for (int p = tail; p >= 0; p = newer[p]) {
      if (best < 0 || live[p] < live[best]) {
        best = p;
      }
    }
    return best;
  }

  private void compact(int p, boolean evict) {
    ByteBuffer pg = pages[p];
    long now = store.now();
    StoreConfig c = store.config();
    boolean lfu = evict && c.policy().lfu();
    int nowMinutes = LfuCounter.minutes(now);
    int cutoff = lfu ? lfuCutoff(p, now) : -1;
    int limit = end[p];
    int r = 0;
    int w = 0;
    while (r < limit) {
      int flags = pg.get(r);
      int size = entrySize(pg, r);
      if ((flags & FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        if (expiredAt(pg, r, flags, now)) {
          removeAt(slot, Cause.EXPIRED, false);
        } else if (evict && (lfu
            ? frequencyAt(pg, r, nowMinutes, c.lfuDecayMinutes()) <= cutoff
            : (flags & FLAG_ACCESSED) == 0)) {
          removeAt(slot, Cause.EVICTED, false);
        } else {
          if (evict) {
            pg.put(r, (byte) (flags & ~FLAG_ACCESSED));
          }
          if (w != r) {
            pg.put(w, pg, r, size);
            table.putLong(slot << 3, (table.getLong(slot << 3) & ~ADDRESS_MASK) | address(p, w));
          }
          w += size;
        }
      }
      r += size;
    }
    end[p] = w;
    live[p] = w;
    if (head != p) {
      unlink(p);
      linkAsHead(p);
    }
  }

  /**
   * Frees the oldest page: entries read since the last pass move to the head while it has room,
   * the others are evicted.
   */
  private void drainTail() {
    int p = tail;
    ByteBuffer pg = pages[p];
    long now = store.now();
    StoreConfig c = store.config();
    boolean lfu = c.policy().lfu();
    int nowMinutes = LfuCounter.minutes(now);
    int cutoff = lfu ? lfuCutoff(p, now) : -1;
    int limit = end[p];
    int r = 0;
    while (r < limit) {
      int flags = pg.get(r);
      int size = entrySize(pg, r);
      if ((flags & FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        if (expiredAt(pg, r, flags, now)) {
          removeAt(slot, Cause.EXPIRED, false);
        } else if ((lfu
                ? frequencyAt(pg, r, nowMinutes, c.lfuDecayMinutes()) > cutoff
                : (flags & FLAG_ACCESSED) != 0)
            && head != p && pageSize - end[head] >= size) {
          ByteBuffer to = pages[head];
          int w = end[head];
          to.put(w, pg, r, size);
          to.put(w, (byte) (flags & ~FLAG_ACCESSED));
          table.putLong(slot << 3, (table.getLong(slot << 3) & ~ADDRESS_MASK) | address(head, w));
          end[head] = w + size;
          live[head] += size;
          live[p] -= size;
        } else {
          removeAt(slot, Cause.EVICTED, false);
        }
      }
      r += size;
    }
    unlink(p);
    freePage(p);
  }

  /**
   * The LFU eviction walk's threshold for page p: the least counter value c such that entries with
   * counters at or below c hold at least a quarter of the bytes in the walks' sample: this page's
   * live, unexpired entries plus, at half weight per walk back, the pages walked before (entries
   * are weighed by their bytes, since bytes are what the walk must free). Sampling past the one page
   * keeps a page that happens to hold only hot keys from losing a quarter of them while colder
   * pages follow: its counters sit above the threshold, it frees nothing and the walk moves on.
   * -1 when the sample is empty.
   */
  private int lfuCutoff(int p, long now) {
    long[] seen = lfuSeen;
    if (seen == null) {
      seen = lfuSeen = new long[LfuCounter.MAX + 1];
    }
    ByteBuffer pg = pages[p];
    int nowMinutes = LfuCounter.minutes(now);
    int decay = store.config().lfuDecayMinutes();
    long[] bytesAt = new long[LfuCounter.MAX + 1];
    long total = 0;
    int limit = end[p];
    for (int r = 0; r < limit; ) {
      int flags = pg.get(r);
      int size = entrySize(pg, r);
      if ((flags & FLAG_DEAD) == 0 && !expiredAt(pg, r, flags, now)) {
        bytesAt[frequencyAt(pg, r, nowMinutes, decay)] += size;
        total += size;
      }
      r += size;
    }
    total = 0;
    for (int counter = 0; counter <= LfuCounter.MAX; counter++) {
      seen[counter] = seen[counter] / 2 + bytesAt[counter];
      total += seen[counter];
    }
    if (total == 0) {
      return -1;
    }
    long sum = 0;
    for (int counter = 0; counter <= LfuCounter.MAX; counter++) {
      sum += seen[counter];
      if (sum * LFU_EVICT_SHARE >= total) {
        return counter;
      }
    }
    return LfuCounter.MAX;
  }

  /**
   * One step towards a lowered memory bound (caller holds the write lock): under an evicting
   * policy drains the oldest page; under noeviction moves the live entries of the page with the
   * fewest into the head's free room and frees it, or compacts that page first so the head gains
   * room. False when this segment can give nothing back.
   */
  boolean shrinkStep() {
    if (tail < 0) {
      return false;
    }
    if (store.config().policy().evicts()) {
      drainTail();
      return true;
    }
    int best = -1;
    for (int p = tail; p >= 0; p = newer[p]) {
      if (p != head && (best < 0 || live[p] < live[best])) {
        best = p;
      }
    }
    if (best < 0) {
      return false;
    }
    if (pageSize - end[head] >= live[best]) {
      moveAllToHead(best);
      return true;
    }
    if (end[best] > live[best]) {
      compact(best, false); // best becomes the head, with its dead bytes as free room
      return true;
    }
    return false;
  }

  /** Moves every live entry of page p (not the head) into the head, which has room for them, and frees p. */
  private void moveAllToHead(int p) {
    ByteBuffer pg = pages[p];
    long now = store.now();
    int limit = end[p];
    for (int r = 0; r < limit; ) {
      int flags = pg.get(r);
      int size = entrySize(pg, r);
      if ((flags & FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        if (expiredAt(pg, r, flags, now)) {
          removeAt(slot, Cause.EXPIRED, false);
        } else {
          ByteBuffer to = pages[head];
          int w = end[head];
          to.put(w, pg, r, size);
          table.putLong(slot << 3, (table.getLong(slot << 3) & ~ADDRESS_MASK) | address(head, w));
          end[head] = w + size;
          live[head] += size;
          live[p] -= size;
        }
      }
      r += size;
    }
    unlink(p);
    freePage(p);
    if (count == 0) {
      dropTable();
    }
  }

  /**
   * Gives one page back to the budget for another segment (caller holds this segment's write
   * lock); false when this segment has nothing to give.
   */
  boolean releaseOnePage() {
    if (tail < 0) {
      return false;
    }
    drainTail();
    return true;
  }

  private static boolean expiredAt(ByteBuffer pg, int off, int flags, long now) {
    if ((flags & FLAG_EXPIRES) == 0) {
      return false;
    }
    long at = pg.getLong(off + 9);
    return at != Store.NO_EXPIRY && at <= now;
  }

  /** The index slot pointing at page p, offset off (the entry must be live). */
  private int slotOf(int p, int off) {
    ByteBuffer pg = pages[p];
    int flags = pg.get(off);
    int kp = lengthsAt(off, flags);
    long hash;
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(kp)];
      hash = KeyHash.hash(lb, 4, lb.getInt(0));
    } else {
      int klen = readVarint(pg, kp);
      kp += varintSize(klen);
      int vlen = readVarint(pg, kp);
      kp += varintSize(vlen);
      hash = KeyHash.hash(pg, kp, klen);
    }
    long addr = address(p, off);
    ByteBuffer t = table;
    int mask = (t.capacity() >>> 3) - 1;
    int i = home(tag(hash));
    while (true) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        throw new IllegalStateException("live entry at page " + p + " offset " + off + " has no index slot");
      }
      if ((e & ADDRESS_MASK) == addr) {
        return i;
      }
      i = (i + 1) & mask;
    }
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
      // read the field each time: removing the last entry drops the table
      if (i >= (table.capacity() >>> 3)) {
        i = 0;
      }
      long e = table.getLong(i << 3);
      if (e != 0 && (e & EXPIRY_BIT) != 0) {
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
    ByteBuffer t = table;
    if (count == 0) {
      return;
    }
    int mask = (t.capacity() >>> 3) - 1;
    int i = home(fromTag);
    int last = home(toTag - 1);
    boolean pastLast = false;
    for (int n = 0; n < (t.capacity() >>> 3); n++) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        if (pastLast || i == last) {
          return;
        }
      } else {
        int tg = tagOf(e);
        if (tg >= fromTag && tg < toTag && !isExpired(i, now)) {
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
    ByteBuffer t = table;
    if (count == 0) {
      return null;
    }
    int mask = (t.capacity() >>> 3) - 1;
    int start = rnd.nextInt((t.capacity() >>> 3));
    for (int n = 0; n < (t.capacity() >>> 3); n++) {
      int i = (start + n) & mask;
      if (t.getLong(i << 3) != 0 && !isExpired(i, now)) {
        return key(i);
      }
    }
    return null;
  }

  /** Frees every page and large buffer and starts again empty (close: stays closed). */
  void clear(boolean close) {
    for (int p = 0; p < pageSlots; p++) {
      if (pages[p] != null) {
        freePage(p);
      }
    }
    for (int h = 0; h < largeSlots; h++) {
      if (larges[h] != null) {
        freeLarge(h);
      }
    }
    freePageCount = 0;
    pageSlots = 0;
    freeLargeCount = 0;
    largeSlots = 0;
    head = -1;
    tail = -1;
    dropTable();
    count = 0;
    expiring = 0;
    liveBytes = 0;
    sweepCursor = 0;
    closed = close;
  }

  /** Checks the bookkeeping against the data; returns a description of the first mismatch or null. */
  String validate() {
    ByteBuffer t = table;
    int n = 0;
    int exp = 0;
    long bytes = 0;
    int[] pageLive = new int[pageSlots];
    for (int i = 0; i < (t.capacity() >>> 3); i++) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        continue;
      }
      n++;
      if ((e & EXPIRY_BIT) != 0) {
        exp++;
      }
      int p = page(e);
      if (pages[p] == null) {
        return "slot " + i + " points at freed page " + p;
      }
      if ((pages[p].get(offset(e)) & FLAG_DEAD) != 0) {
        return "slot " + i + " points at a dead entry";
      }
      pageLive[p] += entrySize(pages[p], offset(e));
      bytes += entryCost(e);
    }
    if (n != count) {
      return "count " + count + " but " + n + " slots are present";
    }
    if (exp != expiring) {
      return "expiring " + expiring + " but " + exp + " slots carry an expiry";
    }
    if (bytes != liveBytes) {
      return "liveBytes " + liveBytes + " but live entries sum to " + bytes;
    }
    int linked = 0;
    for (int p = tail; p >= 0; p = newer[p]) {
      linked++;
      if (live[p] != pageLive[p]) {
        return "page " + p + " live " + live[p] + " but its entries sum to " + pageLive[p];
      }
      if (end[p] > pageSize || live[p] > end[p]) {
        return "page " + p + " end " + end[p] + " live " + live[p];
      }
    }
    if (linked != pageCount) {
      return "pageCount " + pageCount + " but " + linked + " pages are linked";
    }
    return null;
  }

  /** Bytes this segment holds from the budget (pages, large buffers, index). */
  long heldBytes() {
    long b = (long) pageCount * pageSize + (table == NO_TABLE ? 0 : table.capacity());
    for (int h = 0; h < largeSlots; h++) {
      if (larges[h] != null) {
        b += larges[h].capacity();
      }
    }
    return b;
  }

  /** A zeroed table whose bytes the caller has reserved. */
  private CleanableDirectBuffer newTable(int slots) {
    CleanableDirectBuffer memory = budget.allocate(8 * slots);
    if (memory == null) {
      throw store.outOfMemory(8L * slots);
    }
    ByteBuffer t = memory.buffer().order(ByteOrder.nativeOrder());
    // not every allocation path zeroes: an empty slot must read 0
    for (int i = 0; i < slots; i++) {
      t.putLong(i << 3, 0);
    }
    return memory;
  }

  // ---------------------------------------------------------------- encoding

  private boolean keyMatches(long e, byte[] key) {
    ByteBuffer pg = pages[page(e)];
    int off = offset(e);
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(p)];
      return KeyHash.equals(key, lb, 4, lb.getInt(0));
    }
    int klen = readVarint(pg, p);
    if (klen != key.length) {
      return false;
    }
    p += varintSize(klen);
    int vlen = readVarint(pg, p);
    return KeyHash.equals(key, pg, p + varintSize(vlen), klen);
  }

  private static int entrySize(ByteBuffer pg, int off) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      return p + 4 - off;
    }
    int klen = readVarint(pg, p);
    p += varintSize(klen);
    int vlen = readVarint(pg, p);
    p += varintSize(vlen);
    return p + klen + vlen - off;
  }

  private static int lengthsAt(int off, int flags) {
    return lfuAt(off, flags) + ((flags & FLAG_LFU) != 0 ? LFU_BYTES : 0);
  }

  /** Where the LFU counter would be: right after the version and the expiry. */
  private static int lfuAt(int off, int flags) {
    return off + 9 + ((flags & FLAG_EXPIRES) != 0 ? 8 : 0);
  }

  static int varintSize(int v) {
    return v < (1 << 7) ? 1 : v < (1 << 14) ? 2 : 3;
  }

  private static int readVarint(ByteBuffer pg, int p) {
    int b = pg.get(p);
    if (b >= 0) {
      return b;
    }
    int v = b & 0x7F;
    b = pg.get(p + 1);
    if (b >= 0) {
      return v | (b << 7);
    }
    return v | ((b & 0x7F) << 7) | ((pg.get(p + 2) & 0xFF) << 14);
  }

  private static int writeVarint(ByteBuffer pg, int p, int v) {
    if (v < (1 << 7)) {
      pg.put(p, (byte) v);
      return p + 1;
    }
    pg.put(p, (byte) (v | 0x80));
    if (v < (1 << 14)) {
      pg.put(p + 1, (byte) (v >>> 7));
      return p + 2;
    }
    pg.put(p + 1, (byte) ((v >>> 7) | 0x80));
    pg.put(p + 2, (byte) (v >>> 14));
    return p + 3;
  }

  private int home(int tag) {
    return tag >>> (TAG_BITS - capacityBits);
  }

  private static int tagOf(long e) {
    return (int) ((e >>> TAG_SHIFT) & TAG_MASK);
  }

  private static int page(long e) {
    return (int) ((e >>> OFFSET_BITS) & 0xFFFF);
  }

  private static int offset(long e) {
    return (int) (e & (MAX_PAGE_SIZE - 1));
  }

  private static long address(int page, int off) {
    return ((long) page << OFFSET_BITS) | off;
  }
}
