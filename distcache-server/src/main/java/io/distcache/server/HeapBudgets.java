package io.distcache.server;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: the parent of the node's heap budgets. Each budget (ClientMemory, InputBudget,
 * PubSubHub's subscriptions, TrackingTable, AlgebraSources, ScriptCompiler, UnsentResponses;
 * ScriptMemory checks against it) bounds one kind of thing clients make the node keep, at a share of the heap's cap;
 * the shares add up to well over the cap, so clients filling several at once could still fill the
 * heap (four of them full together peaked at 479 of 512 MiB, docs/BENCHMARKS.md). Every budget also
 * counts here what it counts itself, so their sum has one limit even while each is within its own.
 *
 * It counts what the budgets count, not what the heap measures: a breaker over measured heap was
 * tried and reverted, since collectors report heap after a pause that says nothing of what is live
 * (ZGC and Shenandoah report 0, G1's young pauses leave old garbage). A count is exact, cheap (one
 * atomic add per growth or release, as each budget does already) and gives back exactly what was
 * taken, so it cannot drift as long as each budget mirrors its own changes here: a budget takes
 * from itself first and then from here, and on a refusal from either gives back to both, so a
 * refused growth leaves neither total changed. What a budget admits stays taken until it is used
 * (a SUBSCRIBE's reservation until its subscriptions are added): a check given back before the
 * growth lets two clients each be admitted into room for one. What a budget counts by force
 * (bytes already held that cannot be refused: parked replies, a request that ran and waits for
 * its reply, an HTTP response: a health probe must be answered) is forced here too and may pass
 * the limit; every growth a budget may refuse is then refused until
 * releases bring the sum back, and the tracking table, which refuses no read, invalidates other
 * keys while the sum is over, as it does for its own bounds.
 *
 * The default limit is half the heap's cap (256 MiB with the launcher's 512 MiB). What the budgets
 * count is close to the heap it holds (they count object overhead and G1's humongous regions), but
 * the node needs the other half for itself: connections, requests being run, replies being
 * written, one script's own heap (ScriptMemory measures, it does not count here; up to 1.5
 * times --script-memory, a quarter of the cap), the bounds left out (the script cache, which drops
 * its least recently used scripts rather than refuse one, and the field expiry index, which is
 * part of the store's data), and the collector's headroom.
 *
 * One instance per node, passed to each budget the node builds: several nodes in one JVM (tests)
 * keep separate totals. A budget built alone (unit tests, a context without a node) gets an
 * unbounded one of its own.
 */

/** One node-wide limit on the sum of what the node's heap budgets count. */
public final class HeapBudgets {
  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private final LongAdder refusals = new LongAdder();

  public HeapBudgets(long limitBytes) {
    if (limitBytes < 1) {
      throw new IllegalArgumentException("the heap budgets' shared limit must be positive: " + limitBytes);
    }
    this.limit = limitBytes;
  }

  /** Half the JVM's heap cap (see the design note). */
  public static long defaultLimitBytes() {
    return Runtime.getRuntime().maxMemory() / 2;
  }

  /** A parent that never refuses, for a budget built without a node. */
  public static HeapBudgets unbounded() {
    return new HeapBudgets(Long.MAX_VALUE / 4); // room for forced counts past it without overflow
  }

  /** Takes {@code bytes}; false, taking nothing, when the sum would pass the limit. */
  public boolean take(long bytes) {
    if (bytes <= 0) {
      return true;
    }
    // Compare-and-set, not add then take back: a refused large growth (a 60 MiB set source) must
    // not show for a moment in the sum, where another budget's small growth would be refused for
    // it, a script stopped or tracked keys invalidated (a reviewer).
    long cur;
    do {
      cur = used.get();
      if (cur + bytes > limit) {
        refusals.increment();
        return false;
      }
    } while (!used.compareAndSet(cur, cur + bytes));
    return true;
  }

  /** Counts {@code bytes} already held whatever the limit. */
  public void force(long bytes) {
    if (bytes > 0) {
      used.addAndGet(bytes);
    }
  }

  /** Gives back {@code bytes} that {@link #take} or {@link #force} counted. */
  public void release(long bytes) {
    if (bytes > 0) {
      used.addAndGet(-bytes);
    }
  }

  /** True when {@code bytes} more would fit now (for what is checked but not counted: a script's heap). */
  public boolean fits(long bytes) {
    return used.get() + bytes <= limit;
  }

  /** True when nothing more fits. */
  public boolean full() {
    return used.get() >= limit;
  }

  /** True when forced counts took the sum past the limit. */
  public boolean over() {
    return used.get() > limit;
  }

  public long limitBytes() {
    return limit;
  }

  public long usedBytes() {
    return used.get();
  }

  /** Growths refused because of this limit since start (each budget's own refusals not included). */
  public long refusals() {
    return refusals.sum();
  }

  /**
   * The end of a refusal's message, after what was refused and its size: the limit and what is
   * held, e.g. "would pass 268435456 bytes, the node's limit on what its heap budgets hold
   * together (268000000 held)".
   */
  public String overLimit() {
    return "would pass " + limit + " bytes, the node's limit on what its heap budgets hold together ("
        + used.get() + " held)";
  }
}
