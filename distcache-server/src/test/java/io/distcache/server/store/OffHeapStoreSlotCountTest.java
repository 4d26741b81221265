package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.ValueType;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.server.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The store's count of keys per cluster slot (CLUSTER COUNTKEYSINSLOT) against random mixes of
 * writes, eviction under every policy, expiry, a shrinking bound and concurrent writers:
 * OffHeapStore.validate recounts every slot from the entries, and the counts sum to size().
 */
class OffHeapStoreSlotCountTest {
  private final ManualClock clock = new ManualClock();

  private static byte[] key(Random rnd) {
    int i = rnd.nextInt(3000);
    return (i % 4 == 0 ? "{t" + (i % 7) + "}" + i : "k" + i).getBytes(UTF_8);
  }

  /** Sums keysInSlot over every slot and compares it with size(). */
  private static long sumOfSlots(Store s) {
    long n = 0;
    for (int slot = 0; slot < KeySlot.SLOTS; slot++) {
      n += s.keysInSlot(slot);
    }
    return n;
  }

  private static void step(OffHeapStore s, Random rnd, ManualClock clock) {
    byte[] k = key(rnd);
    int sz = rnd.nextInt(10) == 0 ? 70_000 + rnd.nextInt(10_000) : 1 + rnd.nextInt(300);
    byte[] v = new byte[sz];
    long at = rnd.nextInt(3) == 0 ? Store.NO_EXPIRY : clock.millis() + rnd.nextInt(50);
    switch (rnd.nextInt(14)) {
      case 0 -> s.set(k, v, SetArgs.expiringAt(Math.max(1, at)));
      case 1 -> s.put(k, v);
      case 2 -> s.delete(k);
      case 3 -> s.getAndDelete(k);
      case 4 -> s.append(k, v);
      case 5 -> s.setRange(k, rnd.nextInt(100), v);
      case 6 -> s.expireAt(k, clock.millis() + rnd.nextInt(20), ExpireCondition.ALWAYS);
      case 7 -> s.get(k);
      case 8 -> s.setAllIfAbsent(List.of(k, key(rnd)), List.of(v, v));
      case 9 -> s.putTyped(k, ValueType.SET,
          CollectionCodec.encodeSet(List.of(new CollectionCodec.Bytes(v)), 1), at);
      case 10 -> s.applyReplicated(k, ValueType.STRING, v, at, rnd.nextLong() & Long.MAX_VALUE);
      case 11 -> s.persist(k);
      case 12 -> clock.advanceMillis(rnd.nextInt(30));
      default -> {
        if (rnd.nextInt(50) == 0) {
          s.flush();
        } else {
          s.exists(k);
        }
      }
    }
  }

  @Test
  void randomMix_withEvictionAndExpiry_countsMatch() {
    for (EvictionPolicy policy : EvictionPolicy.values()) {
      // small bound: evicts all the time (large values in buffers of their own too)
      try (OffHeapStore s = new OffHeapStore(new StoreConfig(4L << 20, 1 << 20, policy, clock))) {
        Random rnd = new Random(policy.ordinal() * 31L + 7);
        for (int i = 0; i < 20_000; i++) {
          try {
            step(s, rnd, clock);
          } catch (StoreException | IllegalArgumentException e) {
            // out of memory under noeviction, wrong type: fine
          }
          if (i % 2000 == 0) {
            assertThat(s.validate()).as("%s step %d", policy, i).isNull();
          }
        }
        assertThat(s.validate()).as("%s", policy).isNull();
        // The expiry sweeper (a thread of its own) may still remove keys the clock expired
        // between the sum and size(): compared once nothing is left for it to remove.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(
            () -> assertThat(sumOfSlots(s)).as("%s sum of slots", policy).isEqualTo(s.size()));
        // the shrink path: lower the bound below what the store holds
        s.reconfigure(new StoreConfig(2L << 20, 1 << 20, policy, clock));
        assertThat(s.validate()).as("%s after shrinking", policy).isNull();
      }
    }
  }

  @Test
  void concurrentWritersDeletesAndFlushes_countsMatch() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try (OffHeapStore s = new OffHeapStore(new StoreConfig(8L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock))) {
      AtomicBoolean stop = new AtomicBoolean();
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        long seed = t;
        fs.add(pool.submit(() -> {
          Random rnd = new Random(seed);
          while (!stop.get()) {
            try {
              step(s, rnd, clock);
            } catch (StoreException | IllegalArgumentException e) {
              // fine
            }
          }
        }));
      }
      for (int i = 0; i < 20; i++) {
        assertThat(s.validate()).as("round %d", i).isNull();
      }
      stop.set(true);
      for (Future<?> f : fs) {
        f.get(30, TimeUnit.SECONDS);
      }
      assertThat(s.validate()).isNull();
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(sumOfSlots(s)).isEqualTo(s.size()));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void expirySweeper_removesExpired_countsFollow() {
    try (OffHeapStore s = new OffHeapStore(StoreConfig.of(256L << 20, clock))) {
      long at = clock.millis() + 1000;
      for (int i = 0; i < 50_000; i++) {
        s.set(("{s}" + i).getBytes(UTF_8), new byte[10], SetArgs.expiringAt(at));
      }
      int slot = KeySlot.of("{s}".getBytes(UTF_8));
      assertThat(s.keysInSlot(slot)).isEqualTo(50_000);
      clock.advanceMillis(1000);
      await().atMost(Duration.ofSeconds(30)).until(() -> s.size() == 0);
      assertThat(s.keysInSlot(slot)).isZero();
      assertThat(s.validate()).isNull();
    }
  }
}
