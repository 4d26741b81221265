package io.distcache.server.store;

import io.distcache.protocol.BufferedValue;
import io.netty.util.internal.CleanableDirectBuffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/*
 * Design: a segment's log of off-heap pages, where its entries live (layout: EntryCodec), and the
 * walks that give memory back: compaction, the eviction hands of Redis's eight policies, draining.
 *
 * Appending: entries are appended to the head page; a delete or overwrite only sets the DEAD flag
 * and leaves its bytes behind (kill). Large entries (more than a quarter page) keep a stub in the
 * page and their key and value in their own direct buffer, given back the moment the entry dies
 * (or once the last GET reply written from it is released: LargeMemory), so a page never has to
 * hold more than a small entry and big values cost no slack (except the room a large hash or set
 * keeps to grow in place: Segment.editInPlace; the budget counts the whole buffer, the live bytes
 * the entry's part of it). Pages are linked oldest (tail) to newest (head); a page whose live
 * bytes reach 0 is freed.
 *
 * Reclaim: when the head is full and the memory budget has no page to spare, the oldest page is
 * compacted in place: live entries slide to its front, dead bytes vanish and the page becomes the
 * head with free room after them. Under allkeys-lru the same walk is a CLOCK hand: an entry read
 * since its last pass (ACCESSED, set by a read) gets a second chance and the flag cleared, any
 * other is evicted. A budget shortfall (a large value, an index resize, another segment starving)
 * is met by draining the oldest page whole (reserve): accessed entries move to the head while it
 * has room, the rest are evicted and the page is freed. Under noeviction only dead and expired
 * bytes are reclaimed.
 *
 * LFU: under an LFU policy every entry written carries Redis's 24 bits (LfuCounter). The walks that
 * evict (compact with evict, drainTail) treat the oldest page as Redis treats its sample: they
 * evict its least frequently used entries, those at or below the counter value under which lie a
 * quarter of the bytes of a sample made of this page and, fading, the pages walked before
 * (EvictionChoice), and keep the rest, counters untouched. Entries written under another policy
 * carry the access clock instead: they count as INIT when read since the hand's last pass and 0
 * otherwise, until rewritten. After a switch back the counters ride along unused until the entry
 * is rewritten (OBJECT IDLETIME then reads their minute stamp).
 *
 * The other policies (EvictionChoice decides per entry): volatile-* walk the same pages but evict
 * only entries with an expiry. Entries without one are kept: compact leaves them in place; a
 * drain moves them to the head, and when the head cannot take them all it compacts the page
 * instead and frees none (drainTail answers false). A walk may then free little where few entries
 * have an expiry, so one write makes at most MAX_VOLATILE_WALKS of them in its own segment; then,
 * as Redis evicts among every key with an expiry wherever it lies, it asks the other segments for
 * a page (OffHeapStore.stealPage: the richest in keys with an expiry first, with tryWriteLock only,
 * at most MAX_STEALS asks of a few drains each) and is refused only when none comes. When no entry
 * of the store has an expiry (OffHeapStore.canEvict) a write needing room is refused at once, as
 * under noeviction, without walking. volatile-ttl ranks candidates by time left, *-random evicts
 * every candidate of the walked page whatever its use.
 *
 * A walk that moves or removes a live entry finds its index slot from the key's hash (SlotIndex
 * .slotOf) and removes through the segment (Segment.removeAt), which tells the removal listener
 * and keeps the counts; the log itself never touches an entry's key beyond hashing it. Callers
 * hold the segment's write lock, except for keyMatches, page and larges (read lock suffices).
 */

/** A segment's log of off-heap pages and large-entry buffers, with its reclaim and eviction walks. */
final class PageLog {
  /**
   * Page walks one write may make in its own segment under volatile-* before it asks the others:
   * the walks keep the keys without expiry, so where few keys have one a walk may free nothing,
   * and without a cap one write could walk every page of its segment (see walkLimit).
   */
  private static final int MAX_VOLATILE_WALKS = 8;
  /** Pages one reservation may drain while the store is over a just-lowered bound (see reserve). */
  private static final int MAX_DRAINS_OVER_BOUND = 8;
  /**
   * Times one write asks the other segments for a page (OffHeapStore.stealPage) before it is
   * refused; each ask walks at most a few pages of one segment (releaseOnePage), so the bound holds.
   */
  private static final int MAX_STEALS = 16;
  /**
   * Drains one request from another segment may make under volatile-* (see releaseOnePage): a
   * drain that cannot move the keys without expiry compacts instead, and the next one has that room.
   */
  private static final int MAX_RELEASE_DRAINS = 4;

  private final Segment owner;
  private final SlotIndex index;
  private final OffHeapStore store;
  private final MemoryBudget budget;
  private final int pageSize;

  // ---- guarded by the segment's lock ----
  private ByteBuffer[] pages = new ByteBuffer[4];
  private CleanableDirectBuffer[] pageMemory = new CleanableDirectBuffer[4];
  /** Bytes of live entries (stubs for large ones) in each page. */
  private int[] live = new int[4];
  /** Where the next entry of each page would go. */
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
  /** Each large buffer's memory with its reference count (replies may hold it: LargeMemory). */
  private LargeMemory[] largeMemory = new LargeMemory[4];
  private int[] freeLarges = new int[4];
  private int freeLargeCount;
  private int largeSlots;

  /** Bytes of live entries in pages and large buffers (no index, no dead bytes). */
  private long liveBytes;
  /** The eviction walks' verdicts, with the ranked policies' decaying sample. */
  private final EvictionChoice choice = new EvictionChoice();

  PageLog(Segment owner, SlotIndex index, OffHeapStore store, MemoryBudget budget, int pageSize) {
    this.owner = owner;
    this.index = index;
    this.store = store;
    this.budget = budget;
    this.pageSize = pageSize;
  }

  ByteBuffer page(int p) {
    return pages[p];
  }

  /** The large entries' buffers by handle (the array changes as it grows: do not keep it). */
  ByteBuffer[] larges() {
    return larges;
  }

  long liveBytes() {
    return liveBytes;
  }

  /** True when the entry a slot points at holds key (the index's probe). */
  boolean keyMatches(long e, byte[] key) {
    return EntryCodec.keyMatches(pages[SlotIndex.page(e)], SlotIndex.offset(e), larges, key);
  }

  // ---------------------------------------------------------------- appending

  /**
   * Makes room for an entry with this header, key and value: stores a large one's key and value
   * in a buffer of its own, then makes the head page able to take the entry (which may compact,
   * evict or move other entries: slots found before this call are stale after it). Returns the
   * large buffer's handle, or -1 when the entry goes inline.
   */
  int prepare(byte[] key, byte[] value, BufferedValue buffered, int header) {
    long inline = EntryCodec.inlineSize(header, key, buffered != null ? buffered.length() : value.length);
    int handle = -1;
    int size;
    if (!isLarge(inline)) {
      size = (int) inline;
    } else {
      handle = storeLarge(key, value, buffered);
      size = header + EntryCodec.HANDLE_BYTES;
    }
    try {
      ensureRoom(size);
    } catch (RuntimeException e) {
      if (handle >= 0) {
        freeLarge(handle);
      }
      throw e;
    }
    return handle;
  }

  /** True when an entry of {@code inlineBytes} (EntryCodec.inlineSize) is stored in a large buffer of its own. */
  boolean isLarge(long inlineBytes) {
    return inlineBytes > pageSize / 4;
  }

  /**
   * Appends the entry {@link #prepare} made room for (flags without FLAG_LARGE: the handle says);
   * returns its address (SlotIndex.address). The value is {@code buffered}'s when that is not null.
   */
  long append(int flags, long version, long expireAt, int counter, int nowMinutes, int clock, byte[] key,
      byte[] value, BufferedValue buffered, int handle) {
    if (handle >= 0) {
      flags |= EntryCodec.FLAG_LARGE;
    }
    ByteBuffer pg = pages[head];
    int off = end[head];
    int p = EntryCodec.writeHeader(pg, off, flags, version, expireAt, counter, nowMinutes, clock);
    int size;
    if (handle >= 0) {
      pg.putInt(p, handle);
      size = p + EntryCodec.HANDLE_BYTES - off;
      liveBytes += larges[handle].capacity();
    } else {
      EntryCodec.writeInline(pg, p, key, value, buffered);
      int vlen = buffered != null ? buffered.length() : value.length;
      size = p - off + EntryCodec.varintSize(key.length) + EntryCodec.varintSize(vlen) + key.length + vlen;
    }
    end[head] = off + size;
    live[head] += size;
    liveBytes += size;
    return SlotIndex.address(head, off);
  }

  /** Marks the entry a slot points at dead and gives back its large buffer; the index is the caller's. */
  void kill(long e) {
    int p = SlotIndex.page(e);
    ByteBuffer pg = pages[p];
    int off = SlotIndex.offset(e);
    int flags = pg.get(off);
    int size = EntryCodec.entrySize(pg, off);
    pg.put(off, (byte) (flags | EntryCodec.FLAG_DEAD));
    live[p] -= size;
    liveBytes -= size;
    if ((flags & EntryCodec.FLAG_LARGE) != 0) {
      int h = EntryCodec.largeHandle(pg, off, flags);
      liveBytes -= larges[h].capacity();
      freeLarge(h);
    }
  }

  /** Frees page p when no live entry is left in it (the head too, unless keepHead). */
  void freeIfEmpty(int p, boolean keepHead) {
    if (live[p] == 0 && !(keepHead && p == head)) {
      unlink(p);
      freePage(p);
    }
  }

  private int storeLarge(byte[] key, byte[] value, BufferedValue buffered) {
    int h = newLarge(EntryCodec.largeSize(key, buffered != null ? buffered.length() : value.length));
    try {
      EntryCodec.writeLarge(larges[h], key, value, buffered);
    } catch (RuntimeException e) {
      freeLarge(h); // a buffered value released under us (a bug): the buffer goes back, nothing half-written stays
      throw e;
    }
    return h;
  }

  /**
   * Files memory for a large entry of {@code bytes} under a new handle: a pooled buffer when one
   * fits (no fresh mapping to fault in: LargeBufferPool), else a new one reserved from the budget.
   * The view in larges is exactly {@code bytes} long (EntryCodec reads the value's length from its
   * capacity); what it holds is the caller's to write.
   */
  private int newLarge(int bytes) {
    CleanableDirectBuffer memory = budget.reuseLarge(bytes);
    if (memory == null) {
      reserve(bytes);
      memory = budget.allocate(bytes);
      if (memory == null) {
        throw store.outOfMemory(bytes);
      }
    }
    return fileLarge(memory, bytes);
  }

  /** Files {@code memory} under a new handle, its view in larges {@code bytes} long. */
  private int fileLarge(CleanableDirectBuffer memory, int bytes) {
    ByteBuffer whole = memory.buffer();
    ByteBuffer lb = (whole.capacity() == bytes ? whole : whole.slice(0, bytes)).order(ByteOrder.LITTLE_ENDIAN);
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
    largeMemory[h] = new LargeMemory(memory, budget);
    return h;
  }

  /**
   * A large buffer for an entry whose key and value take {@code bytes}, with room for
   * {@code capacity} (at least {@code bytes}): a pooled one that fits, else new memory reserved
   * without evicting, so no entry moves or goes while the caller still reads another entry's
   * value (an edit building its new payload from the old). -1 when the budget has no such room;
   * else the handle, whose view in larges is {@code bytes} long and whose contents are the
   * caller's to write (key first: EntryCodec.writeLargeKey).
   */
  int newLargeWithoutEvicting(int bytes, int capacity) {
    CleanableDirectBuffer memory = budget.reuseLarge(capacity);
    if (memory == null) {
      if (!budget.tryReserve(capacity)) {
        return -1;
      }
      memory = budget.allocate(capacity);
      if (memory == null) {
        return -1;
      }
    }
    return fileLarge(memory, bytes);
  }

  /** Bytes of memory large buffer h holds, of which its entry uses the view's length. */
  int largeRoom(int h) {
    return largeMemory[h].buffer().capacity();
  }

  /**
   * True while a reply holds large buffer h (LargeMemory): it must not be written where it lies
   * (caller holds the write lock, under which no reply can take it).
   */
  boolean largeShared(int h) {
    return largeMemory[h].shared();
  }

  /**
   * The part of large buffer h from {@code at} to its entry's end as a read-only ByteBuf that holds
   * the memory until released (LargeMemory.share); the caller holds the lock (a read lock will do).
   */
  io.netty.buffer.ByteBuf shareLarge(int h, int at) {
    ByteBuffer lb = larges[h];
    return largeMemory[h].share(largeMemory[h].buffer().slice(at, lb.capacity() - at));
  }

  /** Large buffer h's reference count (1: only its entry holds it), for tests. */
  int largeRefCount(int h) {
    return largeMemory[h].refCount();
  }

  /** The whole memory of large buffer h (its entry's key and value at the front), to edit in place. */
  ByteBuffer largeMemory(int h) {
    return largeMemory[h].buffer();
  }

  /**
   * Sets the length large buffer h's entry uses (at most its memory, largeRoom) after an edit in
   * place changed its value's length; the live bytes follow.
   */
  void resizeLarge(int h, int bytes) {
    int old = larges[h].capacity();
    larges[h] = largeMemory[h].buffer().slice(0, bytes).order(ByteOrder.LITTLE_ENDIAN);
    liveBytes += bytes - old;
  }

  /**
   * Makes the head page able to take the stub of a large entry whose buffer (handle h) is filled
   * already (which may compact, evict or move other entries); on failure h is given back.
   */
  void prepareStub(int h, int header) {
    try {
      ensureRoom(header + EntryCodec.HANDLE_BYTES);
    } catch (RuntimeException e) {
      freeLarge(h);
      throw e;
    }
  }

  /**
   * Gives back large buffer h (pooled or freed, now or when the last reply holding it is released):
   * a dead entry's, or one no entry took.
   */
  void freeLarge(int h) {
    largeMemory[h].entryGone();
    larges[h] = null;
    largeMemory[h] = null;
    freeLarges[freeLargeCount++] = h;
  }

  // ---------------------------------------------------------------- room

  /** Takes bytes from the budget, evicting (under an evicting policy) until they fit. */
  void reserve(long bytes) {
    if (bytes > budget.max()) {
      throw store.outOfMemory(bytes);
    }
    int failures = 0;
    int steals = 0;
    int drained = 0;
    while (!budget.tryReserve(bytes)) {
      if (!store.canEvict()) {
        throw store.outOfMemory(bytes);
      }
      if (++drained > MAX_DRAINS_OVER_BOUND && budget.used() > budget.max()) {
        // maxmemory was lowered and the sweeper is still shrinking: one request must not do it all
        throw store.outOfMemory(bytes);
      }
      if (tail >= 0 && hasCandidates() && failures < walkLimit()) {
        // under volatile-* a drain may free no page (its keys without expiry had nowhere to go):
        // it still evicted and packed, and the next drain has the room it made; bounded all the
        // same, and past the bound the keys with an expiry are sought in the other segments
        if (!drainTail()) {
          failures++;
        }
      } else if (!store.stealPage(owner) && ++steals > MAX_STEALS) {
        throw store.outOfMemory(bytes);
      }
    }
  }

  /** Makes the head page able to take size more bytes. */
  private void ensureRoom(int size) {
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
    if (store.canEvict() && !hasCandidates()) {
      // volatile-*, and no entry of this segment has an expiry: reclaim dead bytes, else take a
      // page another segment frees by evicting its own candidates
      if (reclaimLeastLive(size) || newPageFromOthers()) {
        return;
      }
      throw store.outOfMemory(size);
    }
    if (store.canEvict()) {
      for (int round = 0, limit = walkLimit(); round < limit; round++) {
        if (tail < 0) {
          if (store.stealPage(owner) && budget.tryReserve(pageSize)) {
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
      // volatile-*: the walk kept this segment's keys without expiry and met too few with one (they
      // may sit in pages it did not reach); Redis evicts among every key with an expiry, so ask the
      // segments richest in them for a page before refusing
      if (store.config().policy().volatileOnly() && newPageFromOthers()) {
        return;
      }
      throw store.outOfMemory(size);
    }
    if (!reclaimLeastLive(size)) {
      throw store.outOfMemory(size);
    }
  }

  /** Takes a page another segment gives back (bounded: MAX_STEALS asks); false when none came. */
  private boolean newPageFromOthers() {
    for (int i = 0; i < MAX_STEALS; i++) {
      if (store.stealPage(owner) && budget.tryReserve(pageSize)) {
        newPage();
        return true;
      }
    }
    return false;
  }

  /**
   * Page walks one write may make to find room: twice round the log (the CLOCK hand's first pass
   * may only clear marks) under allkeys-*, at most MAX_VOLATILE_WALKS under volatile-*.
   */
  private int walkLimit() {
    int all = 2 * pageCount + 16;
    return store.config().policy().volatileOnly() ? Math.min(all, MAX_VOLATILE_WALKS) : all;
  }

  /** True unless the policy is a volatile-* one and no entry of this segment has an expiry. */
  private boolean hasCandidates() {
    return !store.config().policy().volatileOnly() || owner.expiring() > 0;
  }

  /** Without evicting: compacts the page with the fewest live bytes; true when the head then has room. */
  private boolean reclaimLeastLive(int size) {
    int best = leastLivePage();
    if (best < 0) {
      return false;
    }
    // expired entries count as live until a walk meets them: try one even when the count says no
    compact(best, false);
    return pageSize - end[head] >= size;
  }

  private void newPage() {
    if (pageCount >= SlotIndex.MAX_PAGES) {
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

  // ---------------------------------------------------------------- walks

  /** The index slot of the live entry at page p, offset off. */
  private int slotOf(int p, int off) {
    return index.slotOf(SlotIndex.tag(EntryCodec.keyHash(pages[p], off, larges)), p, off);
  }

  /**
   * Slides page p's surviving entries to its front and makes it the head. With evict, the entries
   * the policy chooses (EvictionChoice: under LRU those not read since the last pass) are evicted
   * and the others lose their ACCESSED mark.
   */
  private void compact(int p, boolean evict) {
    ByteBuffer pg = pages[p];
    long now = store.now();
    int limit = end[p];
    if (evict) {
      choice.begin(pg, limit, store.config(), now);
    }
    int r = 0;
    int w = 0;
    while (r < limit) {
      int flags = pg.get(r);
      int size = EntryCodec.entrySize(pg, r);
      if ((flags & EntryCodec.FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        if (EntryCodec.expiredAt(pg, r, flags, now)) {
          owner.removeAt(slot, Segment.Cause.EXPIRED, false);
        } else if (evict && choice.chosen(pg, r, flags)) {
          owner.removeAt(slot, Segment.Cause.EVICTED, false);
        } else {
          if (evict) {
            pg.put(r, (byte) (flags & ~EntryCodec.FLAG_ACCESSED));
          }
          if (w != r) {
            pg.put(w, pg, r, size);
            index.move(slot, p, w);
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
   * Frees the oldest page: the entries the policy does not choose move to the head while it has
   * room, the others are evicted and the page is freed; true. Entries the policy may not evict at
   * all (under volatile-*: those without expiry) must move: when the head cannot take them all,
   * the page is compacted instead (evicting the chosen, keeping the rest, becoming the head) and no
   * page is freed; false.
   */
  private boolean drainTail() {
    int p = tail;
    ByteBuffer pg = pages[p];
    long now = store.now();
    int limit = end[p];
    choice.begin(pg, limit, store.config(), now);
    long mustMove = 0;
    if (!choice.everyEntryCandidate()) {
      for (int r = 0; r < limit; ) {
        int flags = pg.get(r);
        int size = EntryCodec.entrySize(pg, r);
        if ((flags & EntryCodec.FLAG_DEAD) == 0 && !EntryCodec.expiredAt(pg, r, flags, now)
            && !choice.candidate(pg, r, flags)) {
          mustMove += size;
        }
        r += size;
      }
      if (mustMove > 0 && (head == p || pageSize - end[head] < mustMove)) {
        compact(p, true);
        return false;
      }
    }
    int r = 0;
    while (r < limit) {
      int flags = pg.get(r);
      int size = EntryCodec.entrySize(pg, r);
      if ((flags & EntryCodec.FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        boolean candidate = true;
        if (EntryCodec.expiredAt(pg, r, flags, now)) {
          owner.removeAt(slot, Segment.Cause.EXPIRED, false);
        } else if (!(candidate = choice.candidate(pg, r, flags))
            || (!choice.chosen(pg, r, flags) && head != p && pageSize - end[head] - mustMove >= size)) {
          // room for the entries that must move was counted first: a kept candidate never takes it
          ByteBuffer to = pages[head];
          int w = end[head];
          to.put(w, pg, r, size);
          to.put(w, (byte) (flags & ~EntryCodec.FLAG_ACCESSED));
          index.move(slot, head, w);
          end[head] = w + size;
          live[head] += size;
          live[p] -= size;
          if (!candidate) {
            mustMove -= size;
          }
        } else {
          owner.removeAt(slot, Segment.Cause.EVICTED, false);
        }
      }
      r += size;
    }
    unlink(p);
    freePage(p);
    return true;
  }

  /**
   * One step towards a lowered memory bound (caller holds the write lock): under an evicting
   * policy drains the oldest page; under noeviction moves the live entries of the page with the
   * fewest into the head's free room and frees it, or compacts that page first so the head gains
   * room. False when this log can give nothing back.
   */
  boolean shrinkStep() {
    if (tail < 0) {
      return false;
    }
    if (store.canEvict() && hasCandidates() && drainTail()) {
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
      int size = EntryCodec.entrySize(pg, r);
      if ((flags & EntryCodec.FLAG_DEAD) == 0) {
        int slot = slotOf(p, r);
        if (EntryCodec.expiredAt(pg, r, flags, now)) {
          owner.removeAt(slot, Segment.Cause.EXPIRED, false);
        } else {
          ByteBuffer to = pages[head];
          int w = end[head];
          to.put(w, pg, r, size);
          index.move(slot, head, w);
          end[head] = w + size;
          live[head] += size;
          live[p] -= size;
        }
      }
      r += size;
    }
    unlink(p);
    freePage(p);
    owner.dropIndexIfEmpty();
  }

  /**
   * Gives one page back to the budget for another segment (caller holds the segment's write
   * lock); false when this log has nothing to give. Under volatile-* a drain frees no page when the
   * head cannot take the tail's keys without expiry: it compacts that page instead (evicting its
   * chosen keys with an expiry), which leaves the head room for the next drain, so it tries up to
   * MAX_RELEASE_DRAINS pages, stopping when no key with an expiry is left here.
   */
  boolean releaseOnePage() {
    for (int i = 0; i < MAX_RELEASE_DRAINS && tail >= 0 && hasCandidates(); i++) {
      if (drainTail()) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- whole log

  /** Frees every page and large buffer and starts again empty. */
  void clear() {
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
    liveBytes = 0;
  }

  /** Bytes the entry a slot points at costs in the budget's terms: its log bytes plus its large buffer. */
  int entryCost(long e) {
    ByteBuffer pg = pages[SlotIndex.page(e)];
    int off = SlotIndex.offset(e);
    int size = EntryCodec.entrySize(pg, off);
    int flags = pg.get(off);
    if ((flags & EntryCodec.FLAG_LARGE) != 0) {
      size += larges[EntryCodec.largeHandle(pg, off, flags)].capacity();
    }
    return size;
  }

  /**
   * Checks the page bookkeeping against the entries the index points at ({@code pageLive}: their
   * bytes summed by page) and the freed pages they must not point at; null when it holds.
   */
  String validate(int[] pageLive) {
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

  /** Page numbers in use or free (the length validate's pageLive needs). */
  int pageSlots() {
    return pageSlots;
  }

  /** Bytes the pages and large buffers hold from the budget. */
  long heldBytes() {
    long b = (long) pageCount * pageSize;
    for (int h = 0; h < largeSlots; h++) {
      if (larges[h] != null) {
        b += largeMemory[h].buffer().capacity(); // a reused buffer may be longer than its entry
      }
    }
    return b;
  }
}
