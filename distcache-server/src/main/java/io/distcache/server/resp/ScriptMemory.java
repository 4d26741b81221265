package io.distcache.server.resp;

import io.distcache.server.HeapBudgets;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import org.luaj.vm2.LuaError;

/*
 * Design: how much heap one script may take (script-memory). LuaJ has no allocation hook, so the
 * bound is built from two measurements the JVM offers cheaply, read at check points the engine
 * reaches often: every 1,024 Lua instructions, before each large allocation a library function
 * makes (string.rep, .., table.concat, string.gsub, redis.call's reply) and after each redis.call.
 *
 * 1. Bytes the script thread allocated since the script started (HotSpot's per-thread counter, a
 *    read of the thread's own TLAB bookkeeping). This counts garbage too, so alone it would stop
 *    an honest script that churns through many short-lived strings; it is only the trigger.
 * 2. Once (1) passes the limit, the verdict: how much the heap outside the young generation's
 *    allocation space and survivor spaces (old generation, humongous arrays) grew since (1) passed half the
 *    limit. Reading the memory pools costs microseconds, too much for every EVALSHA, so the
 *    baseline is taken only by scripts that allocate that much; what such a script kept before it
 *    is not counted, so a script can keep up to one and a half times the limit before it stops.
 *    What a script keeps survives young collections and lands there; its garbage dies in eden and
 *    does not. A large array (a big string or a big table's part) is allocated outside eden at once.
 *
 * A script whose growth passes the limit is stopped, as a killed one is: every later check throws
 * again, so pcall cannot swallow it, and its tables become garbage when the error unwinds. The
 * growth measure is node-wide (another thread's allocations in the same interval count), which
 * errs towards stopping the script: a node short of heap is better off without it.
 *
 * A single allocation larger than the limit is refused before it is made (a plain Lua error, which
 * pcall may catch: nothing was allocated).
 *
 * The node's HeapBudgets (the limit on what its budgets count together) is checked, not charged: a
 * script's heap is measured, and its measure (garbage included until a collection, other threads'
 * promotions too) is no count to hold other clients' budgets to. So a single large allocation
 * (over SMALL_BYTES) is refused too when it would not fit beside what the budgets hold, and a
 * script whose measured growth (once measured, past its trigger) would not fit beside them is
 * stopped as one over its own limit is. The script thus yields to the counted total; the total
 * does not yield to a script, which is why the shared limit leaves room for one (HeapBudgets).
 *
 * A small allocation is not compared with the total by itself: the total's limit leaves the
 * script its room outside it, so a full total says nothing about whether a few more bytes fit,
 * and a string.rep of ten bytes refused while clients fill MULTI queues is a script failing for
 * room it has (a reviewer). Small results are judged as small concatenations always were, by
 * check(): what the script keeps of them counts in its measured growth, which is compared with
 * the total once the script's allocation passes its limit. SMALL_BYTES is the size below which the
 * engine leaves concatenations, table.concat and string.gsub to that check, and string.rep's
 * result is held to the same line. A larger result is still refused by a full total: one array
 * of more than 64 KiB is allocated whole (in G1, from half a region up, as a humongous object in
 * the old generation), and those are what fill a heap fastest.
 */

/** One script run's memory budget. Lane-confined: created, checked and dropped on the script thread. */
final class ScriptMemory {
  /**
   * An allocation up to this size is not compared with the node's heap total by itself, and a
   * concatenation up to it is left to the periodic check (see the design note).
   */
  static final int SMALL_BYTES = 64 * 1024;

  /** Default budget when none is configured: a quarter of the JVM's heap, as a share a node can spare. */
  static long defaultLimit() {
    return Math.max(16L << 20, Runtime.getRuntime().maxMemory() / 4);
  }

  private static final com.sun.management.ThreadMXBean THREADS = threadBean();
  private static final List<MemoryPoolMXBean> KEPT = keptPools();

  private final long limit;
  private final long allocatedAtStart;
  /** Heap outside eden when the script's allocation passed half the limit; -1 before. */
  private long keptAtHalf = -1;
  private boolean exceeded;
  private final HeapBudgets heap;
  /** Why the script was stopped, once it was. */
  private String stopReason;

  ScriptMemory(long limit) {
    this(limit, HeapBudgets.unbounded());
  }

  ScriptMemory(long limit, HeapBudgets heap) {
    if (limit <= 0) {
      throw new IllegalArgumentException("script memory limit must be positive: " + limit);
    }
    this.limit = limit;
    this.heap = heap;
    this.allocatedAtStart = allocated();
  }

  long limit() {
    return limit;
  }

  /** True once the script was stopped for memory: every later check throws. */
  boolean exceeded() {
    return exceeded;
  }

  /**
   * Refuses one allocation of {@code bytes} that alone is over the limit, or, over SMALL_BYTES,
   * would not fit beside the node's heap total (a catchable Lua error); then checks the budget.
   */
  void single(long bytes, String what) {
    if (bytes > limit) {
      throw new LuaEngine.LibraryError(what + " of " + bytes + " bytes exceeds the script memory limit of " + limit
          + " bytes (script-memory)");
    }
    if (bytes > SMALL_BYTES && !heap.fits(bytes)) {
      throw new LuaEngine.LibraryError(what + " of " + bytes + " bytes " + heap.overLimit());
    }
    check(bytes);
  }

  /** Checks the budget with {@code pending} bytes about to be allocated; throws once it is spent. */
  void check(long pending) {
    if (exceeded) {
      throw stopped();
    }
    long allocated = THREADS == null ? Long.MAX_VALUE : allocated() - allocatedAtStart + pending;
    if (allocated <= limit / 2) {
      return;
    }
    if (keptAtHalf < 0) {
      keptAtHalf = kept();
    }
    if (allocated <= limit) {
      return;
    }
    long grown = kept() - keptAtHalf + pending;
    if (grown > limit) {
      exceeded = true;
      throw stopped();
    }
    if (!heap.fits(grown)) {
      exceeded = true;
      stopReason = "script stopped: what it keeps (" + grown + " bytes) " + heap.overLimit();
      throw stopped();
    }
  }

  private LuaError stopped() {
    return new LuaEngine.LibraryError(stopReason != null ? stopReason
        : "script stopped: it used more than the script memory limit of " + limit + " bytes (script-memory)");
  }

  private static long allocated() {
    return THREADS == null ? 0 : THREADS.getCurrentThreadAllocatedBytes();
  }

  /** Heap used outside eden; without the per-thread counter, the whole heap's use. */
  private static long kept() {
    if (KEPT.isEmpty() || THREADS == null) {
      Runtime rt = Runtime.getRuntime();
      return rt.totalMemory() - rt.freeMemory();
    }
    long used = 0;
    for (MemoryPoolMXBean p : KEPT) {
      used += p.getUsage().getUsed();
    }
    return used;
  }

  private static com.sun.management.ThreadMXBean threadBean() {
    try {
      if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
          && t.isThreadAllocatedMemorySupported()) {
        if (!t.isThreadAllocatedMemoryEnabled()) {
          t.setThreadAllocatedMemoryEnabled(true);
        }
        return t;
      }
    } catch (RuntimeException e) {
      // a JVM without the counter: every check compares the heap's use instead
    }
    return null;
  }

  private static List<MemoryPoolMXBean> keptPools() {
    List<MemoryPoolMXBean> pools = new ArrayList<>();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      // Survivor spaces are left out too: every young collection refills them with whatever
      // every thread had live at that moment, so they move by megabytes without this script (an
      // honest churning script was stopped at an 8 MiB limit in CI); what a script keeps for
      // long is promoted to the old generation, where it counts.
      if (p.getType() == MemoryType.HEAP && p.isValid() && !p.getName().contains("Eden")
          && !p.getName().contains("Survivor")) {
        pools.add(p);
      }
    }
    return pools;
  }
}
