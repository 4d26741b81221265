package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Redis's LFU counter (OBJECT FREQ) in both stores, and allkeys-lfu eviction in the production one. */
class LfuStoreTest {
  private static final long MEMORY = 16L << 20;
  private final ManualClock clock = new ManualClock();
  private final List<Store> opened = new ArrayList<>();

  static Stream<Arguments> stores() {
    return Stream.of(
        Arguments.of("offheap", (Function<StoreConfig, Store>) OffHeapStore::new),
        Arguments.of("reference", (Function<StoreConfig, Store>) ReferenceStore::new));
  }

  @AfterEach
  void close() {
    for (Store s : opened) {
      if (s instanceof OffHeapStore o) {
        assertThat(o.validate()).isNull();
      }
      s.close();
    }
  }

  private Store open(Function<StoreConfig, Store> factory, EvictionPolicy policy, int logFactor, int decayMinutes) {
    Store s = factory.apply(
        new StoreConfig(MEMORY, StoreConfig.DEFAULT_MAX_VALUE_BYTES, policy, clock, logFactor, decayMinutes));
    opened.add(s);
    return s;
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void frequency_underLru_isNotTrackedAndMissingKeyIsMissing(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LRU, 10, 1);
    s.put(b("k"), b("v"));
    assertThat(s.frequency(b("k"))).isEqualTo(Store.FREQUENCY_NOT_TRACKED);
    assertThat(s.frequency(b("absent"))).isEqualTo(Store.KEY_MISSING);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void frequency_newKeyStartsAtFive_eachReadStepsOnceWithLogFactorZero(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LFU, 0, 1);
    s.put(b("k"), b("v"));
    assertThat(s.frequency(b("k"))).isEqualTo(LfuCounter.INIT);
    for (int i = 0; i < 10; i++) {
      s.get(b("k"));
    }
    assertThat(s.frequency(b("k"))).isEqualTo(15);
    // looking is not a use
    assertThat(s.frequency(b("k"))).isEqualTo(15);
    assertThat(s.exists(b("k"))).isTrue();
    assertThat(s.frequency(b("k"))).isEqualTo(15);
    for (int i = 0; i < 300; i++) {
      s.get(b("k"));
    }
    assertThat(s.frequency(b("k"))).isEqualTo(255);
    assertThat(s.frequency(b("absent"))).isEqualTo(Store.KEY_MISSING);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void frequency_decaysOneStepPerDecayTime_andOnlyAUseRestampsIt(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LFU, 0, 2);
    s.put(b("k"), b("v"));
    for (int i = 0; i < 15; i++) {
      s.get(b("k"));
    }
    assertThat(s.frequency(b("k"))).isEqualTo(20);
    clock.advance(Duration.ofMinutes(7)); // three whole periods of 2 minutes
    assertThat(s.frequency(b("k"))).isEqualTo(17);
    assertThat(s.frequency(b("k"))).isEqualTo(17);
    s.get(b("k")); // decays, steps, restamps
    assertThat(s.frequency(b("k"))).isEqualTo(18);
    clock.advance(Duration.ofMinutes(1));
    assertThat(s.frequency(b("k"))).isEqualTo(18);
    clock.advance(Duration.ofHours(3));
    assertThat(s.frequency(b("k"))).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void frequency_decayTimeZero_neverDecays(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LFU, 0, 0);
    s.put(b("k"), b("v"));
    s.get(b("k"));
    clock.advance(Duration.ofDays(3));
    assertThat(s.frequency(b("k"))).isEqualTo(6);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void frequency_defaultLogFactor_growsLogarithmically(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LFU, 10, 1);
    s.put(b("k"), b("v"));
    for (int i = 0; i < 1000; i++) {
      s.get(b("k"));
    }
    // Redis's table for factor 10: 100 hits -> 10, 1,000 hits -> 18; a thousand linear steps would be 255
    assertThat(s.frequency(b("k"))).isBetween(10L, 40L);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void overwrite_keepsTheCounter(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LFU, 0, 1);
    s.put(b("k"), b("v"));
    for (int i = 0; i < 10; i++) {
      s.get(b("k"));
    }
    s.put(b("k"), b("other value"));
    assertThat(s.frequency(b("k"))).isBetween(15L, 16L);
    s.delete(b("k"));
    s.put(b("k"), b("v"));
    assertThat(s.frequency(b("k"))).isEqualTo(LfuCounter.INIT);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void reconfigure_switchesPolicyAndTuningWhileServing(String name, Function<StoreConfig, Store> f) {
    Store s = open(f, EvictionPolicy.ALLKEYS_LRU, 10, 1);
    s.put(b("old"), b("v"));
    s.reconfigure(s.config().withPolicy(EvictionPolicy.ALLKEYS_LFU).withLfu(0, 5));
    assertThat(s.config().policy()).isEqualTo(EvictionPolicy.ALLKEYS_LFU);
    assertThat(s.config().lfuLogFactor()).isZero();
    assertThat(s.config().lfuDecayMinutes()).isEqualTo(5);
    assertThat(s.frequency(b("old"))).isBetween(0L, (long) LfuCounter.INIT);
    s.put(b("new"), b("v"));
    s.get(b("new"));
    assertThat(s.frequency(b("new"))).isEqualTo(6);
    s.reconfigure(s.config().withPolicy(EvictionPolicy.NOEVICTION));
    assertThat(s.frequency(b("new"))).isEqualTo(Store.FREQUENCY_NOT_TRACKED);
    assertThat(s.get(b("new"))).isEqualTo(b("v"));
  }

  @Test
  void allkeysLfu_keepsOftenReadKeysThatAFloodOfNewKeysWouldPushOutUnderLru() {
    int hot = 1000;
    for (EvictionPolicy policy : List.of(EvictionPolicy.ALLKEYS_LFU, EvictionPolicy.ALLKEYS_LRU)) {
      Store s = open(OffHeapStore::new, policy, 10, 1);
      s.reconfigure(s.config().withMaxMemoryBytes(8L << 20));
      for (int i = 0; i < hot; i++) {
        s.put(b("hot:" + i), new byte[100]);
      }
      for (int r = 0; r < 50; r++) {
        for (int i = 0; i < hot; i++) {
          s.get(b("hot:" + i));
        }
      }
      // then five times the bound of keys never read again: a scan, a batch import
      for (int i = 0; i < 400_000; i++) {
        s.put(b("cold:" + i), new byte[100]);
      }
      assertThat(s.stats().evicted()).isGreaterThan(200_000);
      int survivors = 0;
      for (int i = 0; i < hot; i++) {
        if (s.exists(b("hot:" + i))) {
          survivors++;
        }
      }
      if (policy == EvictionPolicy.ALLKEYS_LFU) {
        assertThat(survivors).as("hot keys kept under allkeys-lfu").isEqualTo(hot);
      } else {
        assertThat(survivors).as("hot keys kept under allkeys-lru").isLessThan(hot / 10);
      }
    }
  }
}
