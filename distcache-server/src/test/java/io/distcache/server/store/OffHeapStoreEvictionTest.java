package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The memory bound under both policies, for bounds from tiny to tens of MiB. */
class OffHeapStoreEvictionTest {
  private final ManualClock clock = new ManualClock();
  private OffHeapStore store;

  @AfterEach
  void validateAndClose() {
    assertThat(store.validate()).isNull();
    store.close();
  }

  private static byte[] key(int i) {
    return ("key:" + i).getBytes(UTF_8);
  }

  @ParameterizedTest
  @ValueSource(longs = {4_096, 100_000, 1 << 20, 16 << 20})
  void put_flood_neverPassesTheBoundAndEvicts(long bound) {
    store = new OffHeapStore(StoreConfig.of(bound, clock));
    int n = (int) (bound / 20);
    for (int i = 0; i < n; i++) {
      store.put(key(i), new byte[i % 300]);
      assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(bound);
    }
    assertThat(store.stats().evicted()).isPositive();
    assertThat(store.get(key(n - 1))).hasSize((n - 1) % 300);
    assertThat(store.size()).isEqualTo(n - store.stats().evicted());
  }

  @Test
  void put_flood_keepsRecentlyReadEntries() {
    store = new OffHeapStore(StoreConfig.of(8 << 20, clock));
    int hot = 1000;
    for (int i = 0; i < hot; i++) {
      store.put(key(i), new byte[100]);
    }
    // five times the bound of new entries; the hot ones are read as they would be by clients
    for (int i = hot; i < 400_000; i++) {
      store.put(key(i), new byte[100]);
      if (i % 100 == 0) {
        for (int h = 0; h < hot; h++) {
          store.get(key(h));
        }
      }
    }
    assertThat(store.stats().evicted()).isGreaterThan(200_000);
    int survivors = 0;
    for (int h = 0; h < hot; h++) {
      if (store.exists(key(h))) {
        survivors++;
      }
    }
    assertThat(survivors).isEqualTo(hot);
  }

  @Test
  void put_largeValuesFlood_evictsAndStaysWithinBound() {
    long bound = 8 << 20;
    store = new OffHeapStore(StoreConfig.of(bound, clock));
    for (int i = 0; i < 200; i++) {
      store.put(key(i), new byte[300_000 + i]);
      store.put(key(-i), new byte[50]);
      assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(bound);
    }
    assertThat(store.get(key(199))).hasSize(300_199);
    assertThat(store.stats().evicted()).isPositive();
  }

  @Test
  void put_noEvictionWhenFull_refusesWritesButServesReadsAndDeletes() {
    store = new OffHeapStore(new StoreConfig(1 << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
    int written = 0;
    StoreException refused = null;
    for (int i = 0; i < 100_000 && refused == null; i++) {
      try {
        store.put(key(i), new byte[100]);
        written++;
      } catch (StoreException e) {
        refused = e;
      }
    }
    assertThat(refused).isNotNull();
    assertThat(refused.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
    assertThat(refused.getMessage()).contains("noeviction").contains("1048576");
    assertThat(store.size()).isEqualTo(written);
    assertThat(store.stats().evicted()).isZero();
    assertThat(store.get(key(0))).hasSize(100);
    assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(1 << 20);
    // deleting makes room again: dead bytes are compacted away
    for (int i = 0; i < written / 2; i++) {
      assertThat(store.delete(key(i))).isTrue();
    }
    for (int i = 0; i < written / 4; i++) {
      store.put(key(-i - 1), new byte[100]);
    }
    assertThatThrownBy(() -> store.put(key(-1), new byte[2 << 20]))
        .isInstanceOf(StoreException.class);
  }

  @Test
  void put_noEviction_overwritingOneKeyForeverNeverFails() {
    store = new OffHeapStore(new StoreConfig(256 << 10, 1 << 20, EvictionPolicy.NOEVICTION, clock));
    for (int i = 0; i < 50_000; i++) {
      store.put(key(1), new byte[i % 500]);
    }
    assertThat(store.get(key(1))).hasSize(49_999 % 500);
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void put_evictingPolicy_expiredEntriesGoBeforeLiveOnes() {
    store = new OffHeapStore(StoreConfig.of(2 << 20, clock));
    long soon = clock.millis() + 1;
    for (int i = 0; i < 5_000; i++) {
      store.set(key(i), new byte[100], SetArgs.expiringAt(soon));
    }
    clock.advanceMillis(1);
    for (int i = 5_000; i < 40_000; i++) {
      store.put(key(i), new byte[100]);
    }
    assertThat(store.stats().expired()).isPositive();
    assertThat(store.sizeWithExpiry()).isLessThan(5_000);
  }
}
