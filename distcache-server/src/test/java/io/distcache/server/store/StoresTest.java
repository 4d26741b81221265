package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.distcache.server.ManualClock;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class StoresTest {
  private static final long MIB = 1024L * 1024;

  @Test
  void create_returnsTheOffHeapStoreWorking() {
    try (Store s = Stores.create(StoreConfig.of(MIB, new ManualClock()))) {
      assertThat(s).isInstanceOf(OffHeapStore.class);
      s.put("k".getBytes(UTF_8), "v".getBytes(UTF_8));
      assertThat(s.get("k".getBytes(UTF_8))).isEqualTo("v".getBytes(UTF_8));
    }
  }

  @Test
  void defaultMaxMemoryBytes_isDirectMemoryLessAQuarter() {
    long heap = Runtime.getRuntime().maxMemory();
    long option =
        Long.parseLong(
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("MaxDirectMemorySize")
                .getValue());
    long direct = option == 0 ? heap : option;
    assertThat(Stores.maxDirectMemory(heap)).isEqualTo(direct);
    assertThat(Stores.defaultMaxMemoryBytes())
        .isEqualTo(Math.max(16 * MIB, direct - Math.max(64 * MIB, direct / 4)))
        .isLessThan(direct);
  }
}
