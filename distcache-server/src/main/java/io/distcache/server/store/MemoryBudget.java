package io.distcache.server.store;

import io.netty.util.internal.CleanableDirectBuffer;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design: one counter shared by every segment holds the bytes the store has taken from the
 * process: log pages, out-of-line large entries and the index arrays. A segment must reserve
 * before it allocates and gives back when it frees, so the counter is exactly what the store holds
 * and can never pass the bound: a reservation that does not fit fails and the segment evicts (or
 * refuses, under noeviction). Direct buffers come from Netty's PlatformDependent.allocateDirect
 * and are freed at once with their handle rather than left to the GC, so memory given back here
 * is really gone from the process. (On JDK 24+ Netty frees deterministically only with
 * --enable-native-access=ALL-UNNAMED; without it the JDK's cleaner frees them at the next GC.)
 *
 * Large entries' buffers are the exception: freed, one waits in the LargeBufferPool for the next
 * large write (still counted here, as the process still holds it). A reservation that does not fit
 * empties the pool first, so pooled memory is given up before any entry is evicted or refused.
 * And a large entry's buffer that a reply still holds when the entry dies (LargeMemory) is lent:
 * counted here until the reply is released, then pooled or freed.
 */
final class MemoryBudget {
  /** The bound; CONFIG SET maxmemory may move it while serving (then used may exceed it for a while). */
  private volatile long max;
  /** The store closed: buffers coming back from replies are freed, not pooled for writes that will not come. */
  private volatile boolean closed;
  private final AtomicLong used = new AtomicLong();
  private final LargeBufferPool pool = new LargeBufferPool();

  MemoryBudget(long max) {
    this.max = max;
  }

  long max() {
    return max;
  }

  void max(long bytes) {
    max = bytes;
  }

  long used() {
    return used.get();
  }

  /** Reserves {@code bytes} when they fit under the bound, freeing the pooled large buffers first if need be. */
  boolean tryReserve(long bytes) {
    return fits(bytes) || freePooled() > 0 && fits(bytes);
  }

  private boolean fits(long bytes) {
    long cur;
    do {
      cur = used.get();
      if (cur + bytes > max) {
        return false;
      }
    } while (!used.compareAndSet(cur, cur + bytes));
    return true;
  }

  /** Takes bytes without checking the bound: only for memory the caller already holds. */
  void forceReserve(long bytes) {
    used.addAndGet(bytes);
  }

  void release(long bytes) {
    used.addAndGet(-bytes);
  }

  /**
   * A little-endian direct buffer (contents unspecified) whose bytes were already reserved; null
   * when the JVM has no direct memory left (then the reservation is given back).
   */
  CleanableDirectBuffer allocate(int bytes) {
    try {
      CleanableDirectBuffer b = PlatformDependent.allocateDirect(bytes);
      b.buffer().order(ByteOrder.LITTLE_ENDIAN);
      return b;
    } catch (OutOfMemoryError e) {
      release(bytes);
      return null;
    }
  }

  void free(CleanableDirectBuffer buffer) {
    release(buffer.buffer().capacity());
    buffer.clean();
  }

  /**
   * A pooled large-entry buffer of {@code bytes} to an eighth more (LargeBufferPool), reserved
   * already; null when none fits (then reserve and {@link #allocate}).
   */
  CleanableDirectBuffer reuseLarge(int bytes) {
    return pool.take(bytes);
  }

  /** Gives back a dead large entry's buffer: pooled while the pool has room, else freed. */
  void freeLarge(CleanableDirectBuffer buffer) {
    if (closed || !pool.offer(buffer, poolLimit(), System.nanoTime())) {
      free(buffer);
    }
  }

  /**
   * See LargeBufferPool.lendIfHeld: true when a reply still holds the dead entry's buffer, whose
   * bytes stay counted until {@link #returnLent}.
   */
  boolean lendIfHeld(java.util.function.BooleanSupplier stillHeld, int capacity) {
    return pool.lendIfHeld(stillHeld, capacity);
  }

  /** The last reply holding a dead entry's buffer let go: pooled while the pool has room, else freed. */
  void returnLent(CleanableDirectBuffer buffer) {
    long limit = closed ? 0 : poolLimit();
    if (!pool.returnLent(buffer, limit, System.nanoTime(), this::release)) {
      buffer.clean();
    }
  }

  /** Bytes of dead entries' buffers that replies still hold (part of {@link #used}). */
  long lent() {
    return pool.lent();
  }

  /** The store is closing: what comes back from now on is freed (call before its last flush). */
  void close() {
    closed = true;
  }

  private long poolLimit() {
    return Math.min(LargeBufferPool.MAX_POOL_BYTES, max / 16);
  }

  /** Bytes of freed large buffers kept for reuse (part of {@link #used}). */
  long pooled() {
    return pool.bytes();
  }

  /** Frees every pooled large buffer; returns the bytes given back. */
  long freePooled() {
    return clean(pool.drain(this::release));
  }

  /** Frees the pooled large buffers nobody took for LargeBufferPool.IDLE_NANOS (the sweeper's tick). */
  long freeIdlePooled(long nowNanos) {
    return clean(pool.drainIdle(nowNanos, this::release));
  }

  /** {@link #used} less the pooled and the lent bytes, read at one instant (a bookkeeping check). */
  long usedBesidesPooled() {
    return pool.besidesPooled(used::get);
  }

  /** Frees buffers whose bytes were already released from the budget; returns their bytes. */
  private static long clean(java.util.List<CleanableDirectBuffer> buffers) {
    long freed = 0;
    for (CleanableDirectBuffer b : buffers) {
      freed += b.buffer().capacity();
      b.clean();
    }
    return freed;
  }
}
