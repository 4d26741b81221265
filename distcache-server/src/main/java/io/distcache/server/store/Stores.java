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
   * A memory bound this JVM can hold without OutOfMemoryError. Everything the store keeps (pages,
   * large values, the index) is direct memory, limited by MaxDirectMemorySize, which "0" (the
   * default) makes equal to the heap's max. A quarter of it, at least 64 MiB, is left to the
   * network buffers and the JDK.
   */
  public static long defaultMaxMemoryBytes() {
    long direct = maxDirectMemory(Runtime.getRuntime().maxMemory());
    return Math.max(MIN_BOUND, direct - Math.max(64 * MIB, direct / 4));
  }

  /** The JVM's whole direct memory (MaxDirectMemorySize, or the heap's max when it is 0). */
  public static long directMemoryBytes() {
    return maxDirectMemory(Runtime.getRuntime().maxMemory());
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
