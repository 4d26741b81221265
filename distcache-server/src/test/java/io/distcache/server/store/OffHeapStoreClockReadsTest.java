package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.Clock;
import io.distcache.server.ManualClock;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A SET reads the clock once in the store: the write's time serves the expiry check, the replaced
 * entry's use and the new entry's access clock or LFU stamp (a 1 KiB SET's profile, issue 16, had
 * four or five clock reads a request, each a vDSO call).
 */
class OffHeapStoreClockReadsTest {

  /** A manual clock that counts its wall-clock reads. */
  private static final class CountingClock implements Clock {
    private final ManualClock time = new ManualClock();
    int millisReads;

    @Override
    public long millis() {
      millisReads++;
      return time.millis();
    }

    @Override
    public long nanos() {
      return time.nanos();
    }
  }

  @ParameterizedTest
  @EnumSource(value = EvictionPolicy.class, names = {"ALLKEYS_LRU", "ALLKEYS_LFU", "NOEVICTION"})
  void set_readsTheClockOnce_forANewKeyAnOverwriteAndALargeValue(EvictionPolicy policy) {
    CountingClock clock = new CountingClock();
    try (OffHeapStore store = new OffHeapStore(
        new StoreConfig(16L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, policy, clock, 10, 1))) {
      byte[] large = new byte[200_000];
      Arrays.fill(large, (byte) 'x');
      for (byte[] value : new byte[][] {"v".getBytes(UTF_8), "w".getBytes(UTF_8), large, large}) {
        clock.millisReads = 0;
        store.set("k".getBytes(UTF_8), value, SetArgs.ALWAYS);
        assertThat(clock.millisReads).as("clock reads of one SET of %d bytes", value.length).isEqualTo(1);
      }
      assertThat(store.get("k".getBytes(UTF_8))).isEqualTo(large);
      assertThat(store.validate()).isNull();
    }
  }
}
