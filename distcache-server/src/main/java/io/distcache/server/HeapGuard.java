package io.distcache.server;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: a breaker over the whole heap, beside the budgets that each bound one kind of client
 * state (MULTI queues, subscriptions, the tracking table, a script). Each budget is a share of the
 * heap's cap, and their sum is above the cap: a tester filled four at once and came within 33 MiB
 * of it (docs/BENCHMARKS.md, "Heap budgets filled together"). Carving them out of one total would
 * make each smaller for every node to guard against the rare one that fills them all; instead, this
 * watches what the heap holds after each collection (the JVM's GC notifications: the heap pools'
 * use after the collection but eden's, so garbage a young collection freed is not counted) and, while that is
 * over TRIP_SHARE of the cap, the budgets refuse what clients would add (a MULTI command, a
 * subscription, a script's large allocations) and the tracking table stops growing, until a
 * collection finds it under CLEAR_SHARE. As Elasticsearch's parent circuit breaker, but on the heap
 * after a collection rather than its current use, which counts garbage and would trip on every
 * busy node. What was already taken is kept: refusing more is what lets the collector catch up.
 *
 * The heap is the process's, so there is one guard per JVM (jvm()); tests build their own and feed
 * it figures (observe).
 */

/** Whether the heap, after its last collection, is too full for clients to add to it. */
public final class HeapGuard {
  private static final Logger log = LoggerFactory.getLogger(HeapGuard.class);

  /** Over this share of the heap's cap after a collection, the guard trips. */
  public static final double TRIP_SHARE = 0.90;
  /** Under this share after a collection, a tripped guard clears. */
  public static final double CLEAR_SHARE = 0.80;

  private static final HeapGuard JVM = watching();

  private final long maxBytes;
  private volatile long afterGcBytes = -1;
  private volatile boolean tripped;

  /** A guard fed by {@link #observe} only. */
  public HeapGuard(long maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("the heap's cap must be positive: " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** The guard of this JVM's heap, fed by its collections. */
  public static HeapGuard jvm() {
    return JVM;
  }

  /** True while the heap held more than TRIP_SHARE of its cap after the last collection (and has not fallen under CLEAR_SHARE). */
  public boolean tripped() {
    return tripped;
  }

  /** The heap's use after the last collection seen, -1 before the first. */
  public long afterGcBytes() {
    return afterGcBytes;
  }

  /** The text of a refusal while tripped: what the heap holds and the limit. */
  public String describe() {
    return "the node's heap held " + afterGcBytes + " bytes after its last collection, over "
        + Math.round(TRIP_SHARE * 100) + "% of its " + maxBytes + " bytes (-Xmx)";
  }

  /** A collection left {@code usedBytes} in the heap. */
  public void observe(long usedBytes) {
    afterGcBytes = usedBytes;
    if (!tripped && usedBytes > TRIP_SHARE * maxBytes) {
      tripped = true;
      log.warn("{}: refusing MULTI commands, subscriptions and large script allocations, and not growing the"
          + " tracking table, until a collection leaves it under {}%", describe(), Math.round(CLEAR_SHARE * 100));
    } else if (tripped && usedBytes < CLEAR_SHARE * maxBytes) {
      tripped = false;
      log.info("the node's heap held {} of {} bytes after its last collection: accepting client state again",
          usedBytes, maxBytes);
    }
  }

  private static HeapGuard watching() {
    HeapGuard guard = new HeapGuard(Runtime.getRuntime().maxMemory());
    try {
      Set<String> heapPools = new HashSet<>();
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        // Eden is left out: empty after a young or full collection, but a concurrent cycle's
        // report includes what was allocated since, which is no sign of what the heap keeps.
        if (p.getType() == MemoryType.HEAP && !p.getName().contains("Eden")) {
          heapPools.add(p.getName());
        }
      }
      for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
        if (gc instanceof NotificationEmitter emitter) {
          emitter.addNotificationListener((n, handback) -> {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
              return;
            }
            GarbageCollectionNotificationInfo info =
                GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            long used = 0;
            for (Map.Entry<String, MemoryUsage> e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
              if (heapPools.contains(e.getKey())) {
                used += e.getValue().getUsed();
              }
            }
            guard.observe(used);
          }, null, null);
        }
      }
    } catch (RuntimeException | LinkageError e) {
      // not a HotSpot JVM: the budgets alone bound the heap, as before this guard
      log.info("no garbage collection notifications ({}): the heap guard stays open", e.toString());
    }
    return guard;
  }
}
