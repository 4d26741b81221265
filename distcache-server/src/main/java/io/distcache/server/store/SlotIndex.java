package io.distcache.server.store;

import io.netty.util.internal.CleanableDirectBuffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/*
 * Design: a segment's hash index, from a key to where its entry lies in the segment's log. An
 * off-heap table of longs (a direct buffer, so a resize frees the old one at once and the heap
 * stays small whatever the entry count) with open addressing, linear probing and backward-shift
 * deletion (no tombstones). A slot packs
 *   bit 63 present | bit 62 has expiry | bits 34..61 a 28-bit tag | bits 18..33 page | bits 0..17 offset.
 * The tag is 28 bits of the key hash; the home slot is the tag's top bits, so a probe skips
 * foreign keys without touching their pages, a resize or a backward shift can recompute any home
 * from the slot alone, and the table is ordered by tag, which gives scan a cursor that survives
 * resizes and deletions (Segment.rangeKeys). The expiry bit lets the sweeper skip immortal entries
 * without dereferencing them. Load stays at most 3/4; an empty index has no table (NO_TABLE, one
 * read-only empty slot), so an empty segment holds no memory.
 *
 * The index knows nothing of the entry layout: a probe asks the log whether the entry at a slot's
 * address holds the key (PageLog.keyMatches). Growing takes memory from the budget, which may
 * evict: the segment reserves the bytes (PageLog.reserve) before calling grow or create, so the
 * index never evicts by itself. Callers hold the segment's lock (see Segment).
 */

/** A segment's open-addressing index of its entries' addresses, ordered by tag. */
final class SlotIndex {
  static final int TAG_BITS = 28;
  private static final int TAG_SHIFT = 34;
  private static final long TAG_MASK = (1L << TAG_BITS) - 1;
  private static final long PRESENT = 1L << 63;
  private static final long EXPIRY_BIT = 1L << 62;
  private static final int OFFSET_BITS = 18;
  /** Offsets have 18 bits: the largest page. */
  static final int MAX_PAGE_SIZE = 1 << OFFSET_BITS;
  /** Page numbers have 16 bits: the most pages a segment may hold. */
  static final int MAX_PAGES = 1 << 16;
  private static final long ADDRESS_MASK = (1L << TAG_SHIFT) - 1;
  /** The table of an index holding nothing: one empty slot. */
  private static final ByteBuffer NO_TABLE = ByteBuffer.allocate(8).asReadOnlyBuffer();
  private static final int INITIAL_CAPACITY = 16;
  // 2^27 slots is the largest table a ByteBuffer can hold
  private static final int MAX_CAPACITY_BITS = 27;

  private final OffHeapStore store;
  private final MemoryBudget budget;

  // ---- guarded by the segment's lock ----
  private ByteBuffer table = NO_TABLE;
  private CleanableDirectBuffer tableMemory;
  private int capacityBits;

  SlotIndex(OffHeapStore store, MemoryBudget budget) {
    this.store = store;
    this.budget = budget;
  }

  // ---------------------------------------------------------------- slot packing

  /** The tag of a key hash (bits 30..57: the segment is taken from the top bits). */
  static int tag(long hash) {
    return (int) ((hash >>> 30) & TAG_MASK);
  }

  /** A present slot for an entry at address (see {@link #address}). */
  static long pack(int tag, long address, boolean expires) {
    return PRESENT | ((long) tag << TAG_SHIFT) | address | (expires ? EXPIRY_BIT : 0);
  }

  static int tagOf(long e) {
    return (int) ((e >>> TAG_SHIFT) & TAG_MASK);
  }

  /** The page of a packed slot or an address. */
  static int page(long e) {
    return (int) ((e >>> OFFSET_BITS) & 0xFFFF);
  }

  /** The offset in its page of a packed slot or an address. */
  static int offset(long e) {
    return (int) (e & (MAX_PAGE_SIZE - 1));
  }

  static boolean expires(long e) {
    return (e & EXPIRY_BIT) != 0;
  }

  static long withExpiry(long e, boolean expires) {
    return expires ? (e | EXPIRY_BIT) : (e & ~EXPIRY_BIT);
  }

  static long address(int page, int off) {
    return ((long) page << OFFSET_BITS) | off;
  }

  // ---------------------------------------------------------------- table

  /** Slots in the table (1 when it has none). */
  int capacity() {
    return table.capacity() >>> 3;
  }

  /** The packed slot, 0 when empty. */
  long get(int slot) {
    return table.getLong(slot << 3);
  }

  void set(int slot, long e) {
    table.putLong(slot << 3, e);
  }

  /** Points the slot at a new address (the entry moved in the log), keeping its other bits. */
  void move(int slot, int page, int off) {
    table.putLong(slot << 3, (table.getLong(slot << 3) & ~ADDRESS_MASK) | address(page, off));
  }

  /** The home slot of a tag: its top capacityBits bits. */
  int home(int tag) {
    return tag >>> (TAG_BITS - capacityBits);
  }

  /** The slot holding key, or -(insertion slot + 1). Expired entries are still found. */
  int find(byte[] key, int tag, PageLog log) {
    ByteBuffer t = table;
    int mask = (t.capacity() >>> 3) - 1;
    int i = home(tag);
    while (true) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        return -(i + 1);
      }
      if (tagOf(e) == tag && log.keyMatches(e, key)) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** The slot pointing at this address, whose key has this tag; the entry must be indexed. */
  int slotOf(int tag, int page, int off) {
    long addr = address(page, off);
    ByteBuffer t = table;
    int mask = (t.capacity() >>> 3) - 1;
    int i = home(tag);
    while (true) {
      long e = t.getLong(i << 3);
      if (e == 0) {
        throw new IllegalStateException("live entry at page " + page + " offset " + off + " has no index slot");
      }
      if ((e & ADDRESS_MASK) == addr) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** Empties the slot, shifting back the entries after it that may move closer to their home. */
  void delete(int slot) {
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

  // ---------------------------------------------------------------- growth

  /**
   * Bytes the caller must reserve from the budget before {@link #grow} so the index can take one
   * more entry beside {@code count}; 0 when it can already (or cannot grow any more).
   */
  long bytesToGrow(int count) {
    if (table == NO_TABLE) {
      return 8L * INITIAL_CAPACITY;
    }
    int cap = table.capacity() >>> 3;
    if ((long) (count + 1) * 4 <= (long) cap * 3 || capacityBits >= MAX_CAPACITY_BITS) {
      return 0;
    }
    return 16L * cap;
  }

  /**
   * Creates the first table, or doubles the table and rehashes into it; the caller has reserved
   * {@link #bytesToGrow} bytes. Eviction may have run while reserving, but only the segment's
   * public removals drop the table, so it is still the one bytesToGrow saw.
   */
  void grow() {
    if (table == NO_TABLE) {
      tableMemory = newTable(INITIAL_CAPACITY);
      table = tableMemory.buffer();
      capacityBits = Integer.numberOfTrailingZeros(INITIAL_CAPACITY);
      return;
    }
    int cap = table.capacity() >>> 3;
    CleanableDirectBuffer nMemory = newTable(2 * cap);
    ByteBuffer n = nMemory.buffer();
    int bits = capacityBits + 1;
    int mask = 2 * cap - 1;
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

  /** Gives the table back to the budget (the index must be empty). True when there was one. */
  boolean drop() {
    if (table == NO_TABLE) {
      return false;
    }
    budget.free(tableMemory);
    tableMemory = null;
    table = NO_TABLE;
    capacityBits = 0;
    return true;
  }

  /** Bytes the table holds from the budget. */
  long heldBytes() {
    return table == NO_TABLE ? 0 : table.capacity();
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
}
