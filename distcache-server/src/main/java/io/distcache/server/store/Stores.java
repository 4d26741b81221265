package io.distcache.server.store;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/** Creates stores and works out the default memory bound. */
public final class Stores {
  private static final long MIB = 1024L * 1024;
  private static final long MIN_BOUND = 16 * MIB;

  private Stores() {}

  /** The production store (off-heap, segmented, CLOCK eviction). */
  public static Store create(StoreConfig config) {
    return new OffHeapStore(config);
  }

  /**
   * A memory bound this JVM can hold without OutOfMemoryError: entry data lives in direct memory
   * (MaxDirectMemorySize, which "0" makes equal to the heap's max) and the index in the heap.
   * Leaves a quarter of direct memory (at least 64 MiB) to the network buffers, and keeps the bound
   * at most four times what the heap has left after 128 MiB, since the index takes about 1/8 of the
   * bound and briefly doubles while it grows.
   */
  public static long defaultMaxMemoryBytes() {
    long heap = Runtime.getRuntime().maxMemory();
    long direct = maxDirectMemory(heap);
    long forData = Math.min(direct - Math.max(64 * MIB, direct / 4), 4 * (heap - 128 * MIB));
    return Math.max(MIN_BOUND, forData);
  }

  static long maxDirectMemory(long heapMax) {
    try {
      HotSpotDiagnosticMXBean bean =
          ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      long v = Long.parseLong(bean.getVMOption("MaxDirectMemorySize").getValue());
      return v > 0 ? v : heapMax;
    } catch (RuntimeException e) {
      // not a HotSpot JVM: the JDK's own default is the heap's max
      return heapMax;
    }
  }
}
