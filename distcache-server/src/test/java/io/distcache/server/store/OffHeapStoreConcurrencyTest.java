package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Background expiry at scale and multi-threaded stress, with invariants checked afterwards. */
class OffHeapStoreConcurrencyTest {
  private final ManualClock clock = new ManualClock();
  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private OffHeapStore store;

  @AfterEach
  void tearDown() throws Exception {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    if (store != null) {
      assertThat(store.validate()).isNull();
      store.close();
    }
  }

  private static byte[] key(int i) {
    byte[] k = new byte[16];
    for (int b = 0; b < 4; b++) {
      k[b] = (byte) (i >>> (8 * b));
    }
    return k;
  }

  @Test
  void sweeper_millionExpiredEntries_removedWhileTrafficFlows() throws Exception {
    store = new OffHeapStore(StoreConfig.of(1L << 30, clock));
    long at = clock.millis() + 1000;
    byte[] value = new byte[100];
    for (int i = 0; i < 1_000_000; i++) {
      store.set(key(i), value, SetArgs.expiringAt(at));
    }
    assertThat(store.sizeWithExpiry()).isEqualTo(1_000_000);
    clock.advanceMillis(1000);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong ops = new AtomicLong();
    Future<?> traffic =
        pool.submit(
            () -> {
              ThreadLocalRandom rnd = ThreadLocalRandom.current();
              while (!stop.get()) {
                byte[] k = key(2_000_000 + rnd.nextInt(1000));
                store.put(k, value);
                assertThat(store.get(k)).isNotNull();
                assertThat(store.get(key(rnd.nextInt(1_000_000)))).isNull();
                ops.incrementAndGet();
              }
            });
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> store.sizeWithExpiry() == 0);
    long opsDuringSweep = ops.get();
    stop.set(true);
    traffic.get();
    assertThat(opsDuringSweep).isPositive();
    assertThat(store.size()).isLessThanOrEqualTo(1000);
    // the sweeper removed most; the reader's random lookups removed (and counted) the rest
    assertThat(store.stats().expired()).isEqualTo(1_000_000);
    // the expired entries' pages went back to the budget
    assertThat(store.liveBytes()).isLessThan(1000L * 200);
  }

  @ParameterizedTest
  @EnumSource(value = EvictionPolicy.class, names = "NOEVICTION", mode = EnumSource.Mode.EXCLUDE)
  void stress_mixedOperationsUnderEviction_keepInvariants(EvictionPolicy policy) throws Exception {
    store = new OffHeapStore(new StoreConfig(4 << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, policy, clock));
    int threads = 4;
    int perThread = 20_000;
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      futures.add(
          pool.submit(
              () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                for (int i = 0; i < perThread; i++) {
                  byte[] k = key(rnd.nextInt(20_000));
                  try {
                    switch (rnd.nextInt(8)) {
                      case 0:
                        store.put(k, new byte[rnd.nextInt(400)]);
                        break;
                      case 1:
                        store.delete(k);
                        break;
                      case 2:
                        long ttl = rnd.nextInt(policy.volatileOnly() ? 50 : 5);
                        store.set(k, new byte[10], SetArgs.expiringAt(clock.millis() + ttl));
                        break;
                      case 3:
                        store.append(k, new byte[rnd.nextInt(50)]);
                        break;
                      case 4:
                        store.put(k, new byte[rnd.nextInt(3) == 0 ? 100_000 : 20]);
                        break;
                      default:
                        store.get(k);
                    }
                  } catch (StoreException e) {
                    // under volatile-* a write is refused when the walks find no key with an expiry
                    if (!policy.volatileOnly() || e.reason() != StoreException.Reason.OUT_OF_MEMORY) {
                      throw e;
                    }
                  }
                  if (i % 1000 == 0) {
                    clock.advanceMillis(1);
                  }
                }
              }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    assertThat(store.validate()).isNull();
    assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(4 << 20);
    long iterated = 0;
    for (var it = store.iterator(); it.hasNext(); it.next()) {
      iterated++;
    }
    assertThat(iterated).isLessThanOrEqualTo(store.size());
    assertThat(store.stats().evicted()).isPositive();
  }

  @Test
  void stress_concurrentIncrementsAmongOtherWrites_loseNothing() throws Exception {
    store = new OffHeapStore(StoreConfig.of(64 << 20, clock));
    int threads = 4;
    int perThread = 25_000;
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      futures.add(
          pool.submit(
              () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                for (int i = 0; i < perThread; i++) {
                  store.incrementBy(key(i % 8), 1);
                  // other writes in the same segments move entries and grow the index meanwhile
                  byte[] other = key(100 + rnd.nextInt(5000));
                  if (rnd.nextBoolean()) {
                    store.put(other, new byte[rnd.nextInt(200)]);
                  } else {
                    store.delete(other);
                  }
                }
              }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    long total = 0;
    for (int k = 0; k < 8; k++) {
      total += Long.parseLong(new String(store.get(key(k)), UTF_8));
    }
    assertThat(total).isEqualTo((long) threads * perThread);
    assertThat(store.stats().evicted()).isZero();
  }

  @Test
  void readValue_concurrentOverwritesDeletesAndCompaction_alwaysLendsOneWholeValue() throws Exception {
    // A small bound: overwrites of inline entries fill pages with dead bytes, so writes compact
    // and evict, moving entries while readers read; large values come and go in their own buffers.
    store = new OffHeapStore(new StoreConfig(4 << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES,
        EvictionPolicy.ALLKEYS_LRU, clock));
    int[] lengths = {100, 5_000, 70_000, 300_000}; // inline, inline, large, large
    int keys = 4;
    int writes = 3_000;
    int readers = 3;
    AtomicBoolean writing = new AtomicBoolean(true);
    Future<?> writer = pool.submit(() -> {
      try {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int g = 0; g < writes; g++) {
          byte[] k = key(rnd.nextInt(keys));
          if (g % 7 == 0) {
            store.delete(k);
          } else {
            // Generation g: every byte is g, the length picked by g, so a reader can tell a
            // whole value from a torn or moved one.
            byte[] v = new byte[lengths[g % lengths.length]];
            java.util.Arrays.fill(v, (byte) g);
            store.put(k, v);
          }
          // filler in the same store, so pages fill, compact and get evicted
          for (int f = 0; f < 4; f++) {
            store.put(key(1_000 + rnd.nextInt(5_000)), new byte[rnd.nextInt(4_000)]);
          }
        }
      } finally {
        writing.set(false);
      }
    });
    List<Future<Long>> reads = new ArrayList<>();
    for (int r = 0; r < readers; r++) {
      reads.add(pool.submit(() -> {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        long found = 0;
        while (writing.get()) {
          boolean[] whole = {true};
          int[] seen = {-1, -1};
          boolean present = store.readValue(key(rnd.nextInt(keys)), view -> {
            int first = view.get(view.position()) & 0xFF;
            seen[0] = first;
            seen[1] = view.remaining();
            // every 61st byte and the last: a torn or moved value differs somewhere among them
            for (int i = view.position(); i < view.limit(); i += 61) {
              if ((view.get(i) & 0xFF) != first) {
                whole[0] = false;
              }
            }
            if ((view.get(view.limit() - 1) & 0xFF) != first) {
              whole[0] = false;
            }
          });
          if (present) {
            found++;
            assertThat(whole[0]).as("every byte of one generation").isTrue();
            // generations that differ by 256 share the fill byte and the length (256 % 4 == 0)
            assertThat(seen[1]).as("the length of generation %d", seen[0]).isEqualTo(lengths[seen[0] % lengths.length]);
          }
        }
        return found;
      }));
    }
    writer.get();
    long found = 0;
    for (Future<Long> f : reads) {
      found += f.get();
    }
    assertThat(found).as("reads that found a value").isPositive();
    assertThat(store.stats().evicted()).as("entries were moved out while readers read").isPositive();
  }
}
