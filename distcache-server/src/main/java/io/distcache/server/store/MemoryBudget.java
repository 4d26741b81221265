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
 */
final class MemoryBudget {
  /** The bound; CONFIG SET maxmemory may move it while serving (then used may exceed it for a while). */
  private volatile long max;
  private final AtomicLong used = new AtomicLong();

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

  boolean tryReserve(long bytes) {
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
}
