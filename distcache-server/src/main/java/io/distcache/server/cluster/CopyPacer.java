package io.distcache.server.cluster;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/*
 * Design: a full copy (a new replica's slots, or a joining member's share: Replicator.copy) runs
 * while the node serves, on the same cores as the requests. Unpaced, it goes as fast as the
 * receiver acknowledges, and the foreground's p99 rose 2-3x during a join (docs/BENCHMARKS.md,
 * "Rebalancing"). The pacer bounds the copy's share of time instead of its rate: after a page of
 * entries took t (scanned, encoded, appended to the stream, and any wait for the receiver to
 * acknowledge), the next page starts t * (1 - share) / share later, so the copy is active at most
 * `share` of the wall-clock time, and the work it causes downstream (the event loop writing the
 * frames, the receiver applying them) shrinks with it. The wait for the receiver counts: a copy's
 * own thread is mostly idle, waiting for acknowledgements, and pausing only for its busy time
 * changed nothing measurable (join-move.sh: learned in 7.7 s at 50% against 7.1 s unpaced). A share rather than a byte rate, because a share holds the same meaning on a
 * fast machine and a slow one, and a copy on an idle node still uses what it is given (Elastic-
 * search and Cassandra bound recovery streams in bytes a second instead, which an operator must
 * retune for each machine).
 *
 * One pause is capped at MAX_PAUSE_NANOS, so a page slowed by a GC pause or a stalled scheduler
 * does not hold the copy for long. Time comes from the injected clock and pauses from an injected
 * sleeper, so the arithmetic is tested without sleeping.
 */

/** Spaces out the pages of a full copy so it uses at most a given share of the copier's time. */
final class CopyPacer {
  /** The longest single pause between two pages. */
  static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** Sleeps for a number of nanoseconds (interruptibly). */
  interface Sleeper {
    void sleep(long nanos) throws InterruptedException;
  }

  private final int sharePercent;
  private final LongSupplier nanoTime;
  private final Sleeper sleeper;

  /**
   * @param sharePercent the percentage of the time the copy may use, 1..100; 100 leaves it unpaced
   */
  CopyPacer(int sharePercent, LongSupplier nanoTime, Sleeper sleeper) {
    if (sharePercent < 1 || sharePercent > 100) {
      throw new IllegalArgumentException("copy share must be 1..100 percent: " + sharePercent);
    }
    this.sharePercent = sharePercent;
    this.nanoTime = nanoTime;
    this.sleeper = sleeper;
  }

  static CopyPacer system(int sharePercent) {
    return new CopyPacer(sharePercent, System::nanoTime, nanos -> TimeUnit.NANOSECONDS.sleep(nanos));
  }

  int sharePercent() {
    return sharePercent;
  }

  /** Now, to pass to {@link #pageDone} when the page is done. */
  long pageStart() {
    return nanoTime.getAsLong();
  }

  /** A page that began at {@code startNanos} is done: pauses as long as the share asks, within the cap. */
  long pageDone(long startNanos) throws InterruptedException {
    if (sharePercent == 100) {
      return 0;
    }
    long busy = Math.max(0, nanoTime.getAsLong() - startNanos);
    long pause = Math.min(MAX_PAUSE_NANOS, busy / sharePercent * (100 - sharePercent));
    if (pause > 0) {
      sleeper.sleep(pause);
    }
    return pause;
  }
}
