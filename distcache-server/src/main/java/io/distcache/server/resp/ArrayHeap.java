package io.distcache.server.resp;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/*
 * Design: what a heap array of a client's bytes really holds, for the budgets that count them.
 * Under G1 an array of more than half a heap region is "humongous": it takes whole regions of its
 * own, so a 1 MiB argument takes 2 MiB with the launcher's 1 MiB regions (its header pushes it past
 * one). A tester queued 127 MiB of 1 MiB arguments in MULTI, within the 128 MiB budget, and they
 * held 268 MiB of heap; with a full tracking table beside them the node ran out of heap. The
 * budgets count an argument at its length plus their overhead, and this excess on top. Under other
 * collectors the excess is taken as 0 (ZGC rounds large objects to its pages too, which this does
 * not model).
 */

/** The heap a large array holds beyond its length, under the collector this JVM runs. */
final class ArrayHeap {
  private ArrayHeap() {}

  /** An array's header with compressed class pointers. */
  static final int HEADER = 16;

  /** G1's region size, or 0 when the JVM does not run G1 (or does not say). */
  static final long REGION_BYTES = g1RegionBytes();

  /** Bytes an array of {@code length} holds on this JVM's heap: its data, header and excess. */
  static long heap(long length) {
    return length + HEADER + excess(length);
  }

  /** Bytes an array of {@code length} holds beyond {@code length + HEADER} on this JVM. */
  static long excess(long length) {
    return excess(length, REGION_BYTES);
  }

  /** Bytes an array of {@code length} holds beyond {@code length + HEADER} in G1 regions of {@code region} bytes (0: not G1). */
  static long excess(long length, long region) {
    long size = length + HEADER;
    if (region <= 0 || size <= region / 2) {
      return 0; // G1: humongous is strictly more than half a region
    }
    long regions = (size + region - 1) / region;
    return regions * region - size;
  }

  private static long g1RegionBytes() {
    try {
      HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (!"true".equals(vm.getVMOption("UseG1GC").getValue())) {
        return 0;
      }
      return Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
    } catch (RuntimeException e) {
      return 0; // not a HotSpot JVM, or the option is not there: count no excess
    }
  }
}
