package io.distcache.server.placement;

import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: drops the keys of slots this node lost or gained. Until part 2 hands data over, a slot
 * that changes owner starts empty on its new owner, and the old owner's copy must go: served
 * later (when the slot comes back) it would show values older than writes made elsewhere.
 *
 * The store has no per-slot index, so a drop is one pass of the store's scan, deleting the keys
 * whose slot is in the set. It runs on its own thread, never on the membership loop (a long pass
 * would delay heartbeats and get this node suspected) nor on an event loop. Drops run one at a
 * time in the order placements changed; SlotGuard keeps the slots of a queued or running drop
 * unservable, so nobody reads a regained slot before its old keys are gone.
 *
 * close() interrupts a running drop, which then stops between two pages without reporting the
 * drop done (its slots stay unservable; the node is stopping). It used to run on: a node with
 * 200,000 keys that left its cluster (a standalone node leaves itself when it stops) waited the
 * whole 2 s of close() for a pass deleting every key of a store about to be freed anyway.
 */

/** Deletes every key of a set of slots, in the background, one drop at a time. */
public final class SlotCleaner implements SlotGuard.Dropper, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SlotCleaner.class);
  private static final int SCAN_BATCH = 1024;

  private final Store store;
  private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "distcache-slot-cleaner");
    t.setDaemon(true);
    return t;
  });

  public SlotCleaner(Store store) {
    this.store = store;
  }

  /** Deletes the keys of the slots set in {@code slots} (a 16,384-bit map), then runs {@code done}. */
  @Override
  public void drop(long[] slots, Runnable done) {
    long[] copy = slots.clone();
    try {
      executor.execute(() -> {
        // The slots stay unserved until their old keys are gone: a drop that failed part-way is
        // run again, and after three failures they stay unserved (TRYAGAIN) rather than serve
        // what is left of the old copy.
        for (int attempt = 1; attempt <= 3; attempt++) {
          long removed;
          try {
            removed = dropNow(copy);
          } catch (RuntimeException e) {
            log.error("dropping the keys of {} slots that changed owner failed (attempt {} of 3){}", count(copy), attempt,
                attempt == 3 ? ": they stay unserved" : "", e);
            continue;
          }
          if (removed < 0) {
            return; // closed: the node is stopping and serves nothing again
          }
          if (removed > 0) {
            log.info("dropped {} keys of {} slots this node no longer holds (their owners and replicas keep them)",
                removed, count(copy));
          }
          done.run();
          return;
        }
      });
    } catch (RejectedExecutionException closed) {
      done.run(); // the node is stopping: nothing will be served again
    }
  }

  /** One pass over the store; returns the number of keys deleted, or -1 when interrupted (close()). */
  long dropNow(long[] slots) {
    long removed = 0;
    long cursor = 0;
    do {
      if (Thread.currentThread().isInterrupted()) {
        return -1;
      }
      ScanResult page = store.scanSlots(cursor, SCAN_BATCH, slots);
      for (byte[] key : page.keys()) {
        if (store.delete(key)) {
          removed++;
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    return removed;
  }

  private static int count(long[] bits) {
    int n = 0;
    for (long w : bits) {
      n += Long.bitCount(w);
    }
    return n;
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
