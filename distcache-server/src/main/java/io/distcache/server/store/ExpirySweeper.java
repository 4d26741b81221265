package io.distcache.server.store;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: expired entries are already invisible (every access checks the clock), so this task
 * only gives their memory back. Like Redis's active expiry it works in small bites: one lock hold
 * examines CHUNK index slots, and a segment keeps getting bites in the same tick only while at
 * least a quarter of the expiring entries it meets are expired, up to one full pass of its table.
 * So an idle store costs a few thousand slot reads per segment per tick, a mass expiry is cleared
 * at full speed, and no writer or reader waits longer than one bite. The same thread brings the
 * store down to a lowered memory bound (OffHeapStore.shrinkToBound), a page per lock hold.
 */
final class ExpirySweeper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ExpirySweeper.class);
  static final long PERIOD_MILLIS = 100;
  private static final int CHUNK = 1024;

  private final OffHeapStore store;
  private final Segment[] segments;
  private final ScheduledExecutorService executor;

  ExpirySweeper(OffHeapStore store, Segment[] segments) {
    this.store = store;
    this.segments = segments;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "distcache-expiry");
              t.setDaemon(true);
              return t;
            });
    executor.scheduleWithFixedDelay(this::tick, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Runs a tick now (a lowered memory bound should not wait for the next one). */
  void wake() {
    try {
      executor.execute(this::tick);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed: nothing to shrink any more
    }
  }

  private void tick() {
    try {
      for (Segment s : segments) {
        sweep(s);
      }
      store.shrinkToBound();
      store.freeIdleLargeBuffers();
    } catch (RuntimeException e) {
      // never let one failure end the schedule: expired memory would never come back
      log.error("expiry sweep failed", e);
    }
  }

  private void sweep(Segment s) {
    if (s.expiring() == 0) {
      return;
    }
    long now = store.now();
    int examined = 0;
    while (true) {
      long stamp = s.lock.writeLock();
      long r;
      int capacity;
      try {
        r = s.sweep(now, CHUNK);
        capacity = s.capacity();
      } finally {
        s.lock.unlockWrite(stamp);
      }
      examined += CHUNK;
      int withExpiry = (int) (r >>> 32);
      int removed = (int) r;
      if (withExpiry == 0 || removed * 4 < withExpiry || examined >= capacity || s.expiring() == 0) {
        return;
      }
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
