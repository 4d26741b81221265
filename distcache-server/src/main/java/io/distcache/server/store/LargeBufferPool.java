package io.distcache.server.store;

import io.netty.util.internal.CleanableDirectBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/*
 * Design: every large entry (EntryCodec "LARGE") has a direct buffer of its own. Allocated fresh
 * per write, a buffer above glibc's mmap threshold (the launcher's 128 KiB) was a new mapping whose
 * every 4 KiB page faulted and was zeroed by the kernel on the first copy into it, and an overwrite
 * unmapped the old one: 66-73% of a 512 KiB SET's CPU (issue 16, JFR in docs/BENCHMARKS.md). So a
 * large entry's buffer, when the entry dies, waits here for the next large write instead of being
 * freed.
 *
 * Fit: a request for n bytes takes the smallest pooled buffer of n to n + n/8 bytes (the entry
 * uses a slice of it), so same-size values, the usual cache workload, reuse exactly and mixed
 * sizes waste at most an eighth; a fresh buffer is allocated at exactly n (no size classes, so a
 * pool miss costs no slack). Newest first within a size, so the oldest are the ones that age out.
 *
 * Bounds: a pooled buffer stays reserved in the MemoryBudget, so INFO's used_memory and the
 * --max-memory bound count it, as the process holds it. The pool keeps at most
 * min(MAX_POOL_BYTES, bound / 16); the budget frees it all before it would refuse or evict for a
 * reservation (MemoryBudget.tryReserve), so pooled memory never displaces a live entry; and a
 * buffer not taken again within IDLE_NANOS is freed by the expiry sweeper's tick, so the RSS of
 * deleted values falls back within seconds once writes stop.
 *
 * Lent: the buffer of an entry that died while a reply still held it (LargeMemory) comes here, or is
 * freed, only once that reply is released; until then its bytes are counted as lent, under this lock
 * as the pooled ones, so that besidesPooled (the store's own memory) stays exact while replies go.
 *
 * Thread-safety: one lock; buffers are freed outside it (an munmap can take a while), by the
 * thread that trims (or releases a lent one).
 */

/** Freed large-entry buffers kept for reuse, by capacity, within a byte bound. */
final class LargeBufferPool {
  /** The most the pool keeps, whatever the bound: a few dozen 1 MiB values in flight at once. */
  static final long MAX_POOL_BYTES = 64L << 20;
  /** A buffer pooled this long without being taken is freed (trimIdle). */
  static final long IDLE_NANOS = 5_000_000_000L;

  private record Pooled(CleanableDirectBuffer buffer, long since) {}

  /** Pooled buffers by capacity, newest first. */
  private final TreeMap<Integer, ArrayDeque<Pooled>> byCapacity = new TreeMap<>();
  private long bytes;
  /** Bytes of dead entries' buffers that replies still hold (reserved in the budget, not pooled yet). */
  private long lent;

  /** Bytes pooled now (all of them reserved in the budget). */
  synchronized long bytes() {
    return bytes;
  }

  /**
   * The smallest pooled buffer of {@code n} to {@code n + n/8} bytes, taken out of the pool; null
   * when none. Its bytes are reserved already: the caller now holds them.
   */
  synchronized CleanableDirectBuffer take(int n) {
    Map.Entry<Integer, ArrayDeque<Pooled>> e = byCapacity.ceilingEntry(n);
    if (e == null || e.getKey() > n + (n >>> 3)) {
      return null;
    }
    ArrayDeque<Pooled> q = e.getValue();
    Pooled p = q.pollFirst();
    if (q.isEmpty()) {
      byCapacity.remove(e.getKey());
    }
    bytes -= p.buffer.buffer().capacity();
    return p.buffer;
  }

  /**
   * Keeps {@code buffer} (still reserved) when the pool has room under {@code limit} bytes; false
   * when it has not, and the caller frees it.
   */
  synchronized boolean offer(CleanableDirectBuffer buffer, long limit, long nowNanos) {
    int capacity = buffer.buffer().capacity();
    if (bytes + capacity > limit) {
      return false;
    }
    byCapacity.computeIfAbsent(capacity, c -> new ArrayDeque<>()).addFirst(new Pooled(buffer, nowNanos));
    bytes += capacity;
    return true;
  }

  /**
   * Takes every pooled buffer out, to be freed by the caller; {@code released} is told their bytes
   * under the pool's lock (see {@link #besidesPooled}). Empty when none.
   */
  synchronized List<CleanableDirectBuffer> drain(LongConsumer released) {
    return removeIf(Long.MAX_VALUE, released);
  }

  /** Like {@link #drain}, for the buffers pooled at or before {@code nowNanos - IDLE_NANOS}. */
  synchronized List<CleanableDirectBuffer> drainIdle(long nowNanos, LongConsumer released) {
    return removeIf(nowNanos - IDLE_NANOS, released);
  }

  /**
   * {@code used} minus the pooled and the lent bytes, read together under the pool's lock, where
   * drains and lent buffers' returns also give their bytes back: a consistent view for a check while
   * another thread trims or a reply is released.
   */
  synchronized long besidesPooled(LongSupplier used) {
    return used.getAsLong() - bytes - lent;
  }

  /** Bytes of dead entries' buffers that replies still hold. */
  synchronized long lent() {
    return lent;
  }

  /**
   * An entry died whose buffer a reply may hold: when {@code stillHeld} (the entry's release, under
   * this lock) says one does, its {@code capacity} bytes are lent until {@link #returnLent}; true.
   */
  synchronized boolean lendIfHeld(BooleanSupplier stillHeld, int capacity) {
    if (!stillHeld.getAsBoolean()) {
      return false;
    }
    lent += capacity;
    return true;
  }

  /**
   * The last reply holding a lent buffer let go: pooled when the pool has room under {@code limit},
   * else {@code released} is told its bytes (under this lock) and false says the caller frees it.
   */
  synchronized boolean returnLent(CleanableDirectBuffer buffer, long limit, long nowNanos, LongConsumer released) {
    int capacity = buffer.buffer().capacity();
    lent -= capacity;
    if (offer(buffer, limit, nowNanos)) {
      return true;
    }
    released.accept(capacity);
    return false;
  }

  private List<CleanableDirectBuffer> removeIf(long pooledAtOrBefore, LongConsumer released) {
    if (bytes == 0) {
      return List.of();
    }
    long before = bytes;
    List<CleanableDirectBuffer> out = new ArrayList<>();
    var it = byCapacity.values().iterator();
    while (it.hasNext()) {
      ArrayDeque<Pooled> q = it.next();
      // newest first: the idle ones are at the end
      while (!q.isEmpty() && (pooledAtOrBefore == Long.MAX_VALUE || q.peekLast().since - pooledAtOrBefore <= 0)) {
        CleanableDirectBuffer b = q.pollLast().buffer;
        bytes -= b.buffer().capacity();
        out.add(b);
      }
      if (q.isEmpty()) {
        it.remove();
      }
    }
    released.accept(before - bytes);
    return out;
  }
}
