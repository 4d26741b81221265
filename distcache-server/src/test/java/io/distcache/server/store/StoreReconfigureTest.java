package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.server.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** CONFIG SET's store side: the bound moved while serving, in the production store. */
class StoreReconfigureTest {
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

  private int fill(long bytes) {
    int n = 0;
    while (store.stats().bytesUsed() < bytes) {
      store.put(key(n++), new byte[100]);
    }
    return n;
  }

  @Test
  void lowerBound_evictingPolicy_shrinksInTheBackgroundAndWritesGoOn() {
    store = new OffHeapStore(new StoreConfig(32L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LFU, clock));
    int n = fill(24L << 20);
    store.reconfigure(store.config().withMaxMemoryBytes(8L << 20));
    assertThat(store.stats().bytesMax()).isEqualTo(8L << 20);
    await().atMost(Duration.ofSeconds(30)).until(() -> store.stats().bytesUsed() <= 8L << 20);
    assertThat(store.stats().evicted()).isPositive();
    assertThat(store.size()).isLessThan(n);
    for (int i = 0; i < 100_000; i++) {
      store.put(key(n + i), new byte[100]);
      assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(8L << 20);
    }
    assertThat(store.get(key(n + 99_999))).hasSize(100);
  }

  @Test
  void lowerBound_noeviction_refusesWritesUntilDeletesMakeRoom() {
    store = new OffHeapStore(new StoreConfig(32L << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
    int n = fill(16L << 20);
    store.reconfigure(store.config().withMaxMemoryBytes(8L << 20));
    assertThatThrownBy(() -> store.put(b("new"), b("v")))
        .isInstanceOf(StoreException.class)
        .satisfies(e -> assertThat(((StoreException) e).reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY));
    assertThat(store.get(key(0))).hasSize(100);
    assertThat(store.stats().evicted()).isZero();
    // deleting every other key leaves every page half alive: only moving entries gives pages back
    for (int i = 0; i < n; i += 2) {
      assertThat(store.delete(key(i))).isTrue();
    }
    for (int i = 1; i < n / 2; i += 2) {
      assertThat(store.delete(key(i))).isTrue();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> store.stats().bytesUsed() <= 8L << 20);
    store.put(b("new"), b("v"));
    assertThat(store.get(b("new"))).isEqualTo(b("v"));
    int lastOdd = (n - 1) % 2 == 1 ? n - 1 : n - 2; // the even keys were deleted, whatever n is
    assertThat(store.get(key(lastOdd))).hasSize(100);
    assertThat(store.stats().evicted()).isZero();
  }

  @Test
  void raiseBound_letsTheStoreGrowPastTheOldOne() {
    store = new OffHeapStore(new StoreConfig(8L << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
    assertThatThrownBy(() -> fill(9L << 20)).isInstanceOf(StoreException.class);
    store.reconfigure(store.config().withMaxMemoryBytes(16L << 20));
    fill(12L << 20);
    assertThat(store.stats().bytesUsed()).isBetween(12L << 20, 16L << 20);
  }

  @Test
  void bound_belowTwoPagesPerSegment_isRefusedNamingTheLimit() {
    store = new OffHeapStore(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    long min = store.minMaxMemoryBytes();
    assertThat(min).isEqualTo(2L * store.pageSize() * store.segmentCount());
    assertThatThrownBy(() -> store.reconfigure(store.config().withMaxMemoryBytes(min - 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Long.toString(min - 1))
        .hasMessageContaining(Long.toString(min));
    assertThat(store.config().maxMemoryBytes()).isEqualTo(64L << 20);
    store.reconfigure(store.config().withMaxMemoryBytes(min));
    assertThat(store.config().maxMemoryBytes()).isEqualTo(min);
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }
}
