package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The heap a large array holds under G1: whole regions past half a region. */
class ArrayHeapTest {
  private static final long MIB = 1 << 20;

  @Test
  void belowHalfARegion_noExcess() {
    assertThat(ArrayHeap.excess(100, MIB)).isZero();
    assertThat(ArrayHeap.excess(MIB / 2 - ArrayHeap.HEADER, MIB)).as("exactly half a region is not humongous").isZero();
  }

  @Test
  void overHalfARegion_wholeRegions() {
    // a byte more than half a region with its header: one whole region
    assertThat(ArrayHeap.excess(MIB / 2 - ArrayHeap.HEADER + 1, MIB)).isEqualTo(MIB / 2 - 1);
    // a 1 MiB array does not fit one region with its header: two
    assertThat(ArrayHeap.excess(MIB, MIB)).isEqualTo(MIB - ArrayHeap.HEADER);
    assertThat(ArrayHeap.excess(MIB - ArrayHeap.HEADER, MIB)).isZero();
    assertThat(ArrayHeap.excess(3 * MIB, 4 * MIB)).isEqualTo(MIB - ArrayHeap.HEADER);
  }

  @Test
  void notG1_noExcess() {
    assertThat(ArrayHeap.excess(64 * MIB, 0)).isZero();
  }
}
