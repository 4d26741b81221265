package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.server.ManualClock;
import io.netty.util.internal.PlatformDependent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The off-heap store's own behaviour: layout edge cases, limits and bookkeeping. */
class OffHeapStoreTest {
  private final ManualClock clock = new ManualClock();
  private OffHeapStore store = new OffHeapStore(StoreConfig.of(64L << 20, clock));

  @AfterEach
  void validateAndClose() {
    assertThat(store.validate()).isNull();
    store.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void get_afterPut_returnsValueAndCountsHit() {
    store.put(b("k"), b("v"));
    assertThat(store.get(b("k"))).isEqualTo(b("v"));
    assertThat(store.get(b("missing"))).isNull();
    assertThat(store.stats().hits()).isEqualTo(1);
    assertThat(store.stats().misses()).isEqualTo(1);
  }

  @Test
  void put_emptyKeyAndValue_roundTrips() {
    store.put(new byte[0], new byte[0]);
    assertThat(store.get(new byte[0])).isEmpty();
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void put_overwrite_replacesValueAndChangesVersion() {
    long v1 = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();
    long v2 = store.set(b("k"), b("two"), SetArgs.ALWAYS).version();
    assertThat(v2).isNotEqualTo(v1);
    assertThat(store.getEntry(b("k")).version()).isEqualTo(v2);
    assertThat(store.get(b("k"))).isEqualTo(b("two"));
    assertThat(store.size()).isEqualTo(1);
  }

  /** The version docs/PROTOCOL.md describes: (per-segment write count << 6) | segment. */
  @Test
  void version_perSegmentCounterShiftedBySix_asDocumented() {
    try (OffHeapStore fresh = new OffHeapStore(StoreConfig.of(1L << 30, clock))) {
      assertThat(fresh.segmentCount()).isEqualTo(64);
      long first = fresh.set(b("foo"), b("bar"), SetArgs.ALWAYS).version();
      long appended = fresh.getEntry(b("foo")).version();
      fresh.append(b("foo"), b("!"));
      long afterAppend = fresh.getEntry(b("foo")).version();
      fresh.delete(b("foo"));
      long recreated = fresh.set(b("foo"), b("x"), SetArgs.ALWAYS).version();

      assertThat(first).as("the first write of segment 51 on a fresh store").isEqualTo((1 << 6) | 51).isEqualTo(115);
      assertThat(appended).isEqualTo(first);
      assertThat(afterAppend).isEqualTo((2 << 6) | 51);
      assertThat(recreated).as("a deleted and recreated key still moves forward").isGreaterThan(afterAppend);
    }
  }

  @Test
  void put_valuesOfEverySizeClass_roundTrip() {
    int[] sizes = {0, 1, 7, 8, 127, 128, 16383, 16384, store.pageSize() / 4, store.pageSize(), 3 << 20};
    for (int size : sizes) {
      byte[] v = new byte[size];
      for (int i = 0; i < size; i++) {
        v[i] = (byte) (i * 31 + size);
      }
      store.put(b("k" + size), v);
    }
    for (int size : sizes) {
      assertThat(store.get(b("k" + size))).hasSize(size);
      assertThat(store.strlen(b("k" + size))).isEqualTo(size);
    }
  }

  @Test
  void put_maximumKey_roundTripsAndLargerKeyIsTooLarge() {
    byte[] key = new byte[StoreConfig.MAX_KEY_BYTES];
    key[0] = 1;
    store.put(key, b("v"));
    assertThat(store.get(key)).isEqualTo(b("v"));
    assertThatThrownBy(() -> store.put(new byte[StoreConfig.MAX_KEY_BYTES + 1], b("v")))
        .isInstanceOf(StoreException.class)
        .hasMessage("key length 65537 exceeds the limit 65536")
        .extracting(e -> ((StoreException) e).reason())
        .isEqualTo(StoreException.Reason.TOO_LARGE);
  }

  @Test
  void put_valueOverConfiguredLimit_isTooLarge() {
    store.close();
    store = new OffHeapStore(new StoreConfig(64L << 20, 1000, EvictionPolicy.ALLKEYS_LRU, clock));
    store.put(b("k"), new byte[1000]);
    assertThatThrownBy(() -> store.put(b("k"), new byte[1001]))
        .isInstanceOf(StoreException.class)
        .hasMessage("value length 1001 exceeds the limit 1000");
    assertThatThrownBy(() -> store.append(b("k"), new byte[1]))
        .hasMessage("value length 1001 exceeds the limit 1000");
    assertThatThrownBy(() -> store.setRange(b("k"), 1000, new byte[1]))
        .hasMessage("value length 1001 exceeds the limit 1000");
    assertThat(store.get(b("k"))).hasSize(1000);
  }

  @Test
  void put_valueLargerThanTheBound_isOutOfMemory() {
    store.close();
    store = new OffHeapStore(StoreConfig.of(1 << 20, clock));
    assertThatThrownBy(() -> store.put(b("k"), new byte[2 << 20]))
        .isInstanceOf(StoreException.class)
        .extracting(e -> ((StoreException) e).reason())
        .isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
  }

  @Test
  void set_conditionsAndReturnPrevious_followRedis() {
    SetArgs nx = new SetArgs(SetArgs.Condition.IF_ABSENT, 0, false, true);
    SetArgs xx = new SetArgs(SetArgs.Condition.IF_PRESENT, 0, false, true);
    assertThat(store.set(b("k"), b("a"), xx).written()).isFalse();
    SetResult first = store.set(b("k"), b("a"), nx);
    assertThat(first.written()).isTrue();
    assertThat(first.previous()).isNull();
    SetResult refused = store.set(b("k"), b("b"), nx);
    assertThat(refused.written()).isFalse();
    assertThat(refused.previous()).isEqualTo(b("a"));
    assertThat(refused.version()).isZero();
    SetResult replaced = store.set(b("k"), b("c"), xx);
    assertThat(replaced.written()).isTrue();
    assertThat(replaced.previous()).isEqualTo(b("a"));
    assertThat(store.get(b("k"))).isEqualTo(b("c"));
  }

  @Test
  void set_plainSetClearsTtlButKeepTtlKeepsIt() {
    long at = clock.millis() + 10_000;
    store.set(b("k"), b("a"), SetArgs.expiringAt(at));
    store.set(b("k"), b("b"), new SetArgs(SetArgs.Condition.ALWAYS, 0, true, false));
    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(at);
    store.put(b("k"), b("c"));
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
    assertThat(store.sizeWithExpiry()).isZero();
  }

  @Test
  void get_expiredEntry_returnsNullAndCountsExpiredOnRemoval() {
    store.set(b("k"), b("v"), SetArgs.expiringAt(clock.millis() + 1000));
    clock.advanceMillis(999);
    assertThat(store.get(b("k"))).isEqualTo(b("v"));
    assertThat(store.ttlMillis(b("k"))).isEqualTo(1);
    clock.advanceMillis(1);
    assertThat(store.get(b("k"))).isNull();
    assertThat(store.exists(b("k"))).isFalse();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.KEY_MISSING);
    assertThat(store.delete(b("k"))).isFalse();
    assertThat(store.size()).isZero();
    assertThat(store.stats().expired()).isEqualTo(1);
  }

  @Test
  void expireAt_conditions_followRedis() {
    long now = clock.millis();
    store.put(b("k"), b("v"));
    assertThat(store.expireAt(b("k"), now + 5000, ExpireCondition.XX)).isFalse();
    assertThat(store.expireAt(b("k"), now + 5000, ExpireCondition.GT)).isFalse();
    assertThat(store.expireAt(b("k"), now + 5000, ExpireCondition.LT)).isTrue();
    assertThat(store.expireAt(b("k"), now + 9000, ExpireCondition.NX)).isFalse();
    assertThat(store.expireAt(b("k"), now + 9000, ExpireCondition.GT)).isTrue();
    assertThat(store.expireAt(b("k"), now + 7000, ExpireCondition.GT)).isFalse();
    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now + 9000);
    assertThat(store.persist(b("k"))).isTrue();
    assertThat(store.persist(b("k"))).isFalse();
    assertThat(store.expireAt(b("k"), now, ExpireCondition.ALWAYS)).isTrue();
    assertThat(store.exists(b("k"))).isFalse();
    assertThat(store.expireAt(b("absent"), now + 1, ExpireCondition.ALWAYS)).isFalse();
  }

  @Test
  void expireAt_keepsVersionAndValue() {
    long v = store.set(b("k"), b("v"), SetArgs.ALWAYS).version();
    store.expireAt(b("k"), clock.millis() + 1000, ExpireCondition.ALWAYS);
    StoredEntry e = store.getEntry(b("k"));
    assertThat(e.version()).isEqualTo(v);
    assertThat(e.value()).isEqualTo(b("v"));
    assertThat(e.expireAtMillis()).isEqualTo(clock.millis() + 1000);
  }

  @Test
  void incrementBy_followsRedisIntegerRules() {
    assertThat(store.incrementBy(b("n"), 5)).isEqualTo(5);
    assertThat(store.incrementBy(b("n"), -7)).isEqualTo(-2);
    assertThat(store.get(b("n"))).isEqualTo(b("-2"));
    for (String bad : new String[] {"", " 1", "1 ", "+1", "01", "-0", "1.5", "abc", "99999999999999999999"}) {
      store.put(b("bad"), b(bad));
      assertThatThrownBy(() -> store.incrementBy(b("bad"), 1))
          .as(bad)
          .isInstanceOf(StoreException.class)
          .extracting(e -> ((StoreException) e).reason())
          .isEqualTo(StoreException.Reason.NOT_A_NUMBER);
    }
    store.put(b("max"), b(Long.toString(Long.MAX_VALUE)));
    assertThatThrownBy(() -> store.incrementBy(b("max"), 1))
        .extracting(e -> ((StoreException) e).reason())
        .isEqualTo(StoreException.Reason.OVERFLOW);
    store.put(b("min"), b(Long.toString(Long.MIN_VALUE)));
    assertThat(store.incrementBy(b("min"), 0)).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void incrementBy_keepsTtl() {
    long at = clock.millis() + 1000;
    store.set(b("n"), b("1"), SetArgs.expiringAt(at));
    store.incrementBy(b("n"), 1);
    assertThat(store.expireTimeMillis(b("n"))).isEqualTo(at);
  }

  @Test
  void incrementByFloat_printsLikeRedis() {
    store.put(b("f"), b("10.5"));
    assertThat(store.incrementByFloat(b("f"), 0.1)).isEqualTo(b("10.6"));
    assertThat(store.incrementByFloat(b("g"), 3)).isEqualTo(b("3"));
    store.put(b("e"), b("5.0e3"));
    assertThat(store.incrementByFloat(b("e"), 200)).isEqualTo(b("5200"));
    store.put(b("s"), b("x"));
    assertThatThrownBy(() -> store.incrementByFloat(b("s"), 1))
        .extracting(e -> ((StoreException) e).reason())
        .isEqualTo(StoreException.Reason.NOT_A_NUMBER);
    assertThatThrownBy(() -> store.incrementByFloat(b("f"), Double.POSITIVE_INFINITY))
        .extracting(e -> ((StoreException) e).reason())
        .isEqualTo(StoreException.Reason.OVERFLOW);
  }

  @Test
  void appendAndRanges_followRedis() {
    assertThat(store.append(b("s"), b("Hello "))).isEqualTo(6);
    assertThat(store.append(b("s"), b("World"))).isEqualTo(11);
    assertThat(store.getRange(b("s"), 0, 4)).isEqualTo(b("Hello"));
    assertThat(store.getRange(b("s"), -3, -1)).isEqualTo(b("rld"));
    assertThat(store.getRange(b("s"), 0, -100)).isEqualTo(b("H"));
    assertThat(store.getRange(b("s"), 5, 3)).isEmpty();
    assertThat(store.getRange(b("s"), 0, 1000)).isEqualTo(b("Hello World"));
    assertThat(store.getRange(b("absent"), 0, 10)).isEmpty();
    assertThat(store.setRange(b("s"), 6, b("Redis"))).isEqualTo(11);
    assertThat(store.get(b("s"))).isEqualTo(b("Hello Redis"));
    assertThat(store.setRange(b("p"), 3, b("x"))).isEqualTo(4);
    assertThat(store.get(b("p"))).isEqualTo(new byte[] {0, 0, 0, 'x'});
    assertThat(store.setRange(b("none"), 5, new byte[0])).isZero();
    assertThat(store.exists(b("none"))).isFalse();
  }

  @Test
  void compareAndSet_matchesOnlyTheCurrentVersion() {
    assertThat(store.compareAndSet(b("k"), 1, b("x"), 0).outcome())
        .isEqualTo(CasResult.Outcome.NOT_FOUND);
    long v = store.set(b("k"), b("a"), SetArgs.ALWAYS).version();
    CasResult wrong = store.compareAndSet(b("k"), v + 1, b("x"), 0);
    assertThat(wrong).isEqualTo(new CasResult(CasResult.Outcome.VERSION_MISMATCH, v));
    CasResult ok = store.compareAndSet(b("k"), v, b("b"), 0);
    assertThat(ok.outcome()).isEqualTo(CasResult.Outcome.WRITTEN);
    assertThat(store.getEntry(b("k"))).satisfies(e -> {
      assertThat(e.value()).isEqualTo(b("b"));
      assertThat(e.version()).isEqualTo(ok.version());
    });
  }

  @Test
  void multiKey_getAllSetAllAndMsetnx() {
    store.setAll(List.of(b("a"), b("b")), List.of(b("1"), b("2")), Store.NO_EXPIRY);
    assertThat(store.getAll(List.of(b("a"), b("x"), b("b"))))
        .containsExactly(b("1"), null, b("2"));
    assertThat(store.setAllIfAbsent(List.of(b("c"), b("a")), List.of(b("3"), b("9")))).isFalse();
    assertThat(store.exists(b("c"))).isFalse();
    assertThat(store.setAllIfAbsent(List.of(b("c"), b("d")), List.of(b("3"), b("4")))).isTrue();
    assertThat(store.size()).isEqualTo(4);
  }

  @Test
  void getAndDelete_returnsValueAndRemoves() {
    store.put(b("k"), b("v"));
    assertThat(store.getAndDelete(b("k"))).isEqualTo(b("v"));
    assertThat(store.getAndDelete(b("k"))).isNull();
    assertThat(store.size()).isZero();
  }

  @Test
  void scan_returnsEveryKeyOnceAcrossResizes() {
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 5000; i++) {
      store.put(b("key" + i), b("v"));
      expected.add("key" + i);
    }
    List<String> seen = new ArrayList<>();
    long cursor = 0;
    int step = 0;
    do {
      ScanResult r = store.scan(cursor, 50);
      r.keys().forEach(k -> seen.add(new String(k, UTF_8)));
      cursor = r.nextCursor();
      // keys added meanwhile force index resizes; keys present throughout must all be seen
      store.put(b("extra" + step++), b("v"));
    } while (cursor != 0);
    assertThat(seen.stream().filter(k -> k.startsWith("key"))).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void iterator_and_randomKey_seeLiveEntriesOnly() {
    for (int i = 0; i < 100; i++) {
      store.set(b("k" + i), b("v" + i), i < 50 ? SetArgs.expiringAt(clock.millis() + 10) : SetArgs.ALWAYS);
    }
    clock.advanceMillis(10);
    List<String> keys = new ArrayList<>();
    store.iterator().forEachRemaining(kv -> {
      keys.add(new String(kv.key(), UTF_8));
      assertThat(new String(kv.value(), UTF_8)).isEqualTo("v" + new String(kv.key(), UTF_8).substring(1));
    });
    assertThat(keys).hasSize(50).allSatisfy(k -> assertThat(Integer.parseInt(k.substring(1))).isGreaterThanOrEqualTo(50));
    for (int i = 0; i < 20; i++) {
      assertThat(Integer.parseInt(new String(store.randomKey(), UTF_8).substring(1))).isGreaterThanOrEqualTo(50);
    }
  }

  @Test
  void randomKey_emptyStore_returnsNull() {
    assertThat(store.randomKey()).isNull();
  }

  @Test
  void flush_removesEverythingAndGivesMemoryBack() {
    long empty = store.stats().bytesUsed();
    for (int i = 0; i < 10_000; i++) {
      store.put(b("k" + i), new byte[100]);
    }
    store.put(b("big"), new byte[1 << 20]);
    assertThat(store.stats().bytesUsed()).isGreaterThan(empty + (2 << 20));
    store.flush();
    assertThat(store.size()).isZero();
    assertThat(store.get(b("k1"))).isNull();
    assertThat(store.stats().bytesUsed()).isEqualTo(empty);
    store.put(b("again"), b("v"));
    assertThat(store.get(b("again"))).isEqualTo(b("v"));
  }

  @Test
  void delete_ofEveryEntry_freesTheirPages() {
    long empty = store.stats().bytesUsed();
    for (int i = 0; i < 20_000; i++) {
      store.put(b("k" + i), new byte[200]);
    }
    for (int i = 0; i < 20_000; i++) {
      assertThat(store.delete(b("k" + i))).isTrue();
    }
    assertThat(store.liveBytes()).isZero();
    // only the index (grown) and at most one head page per segment stay
    assertThat(store.stats().bytesUsed())
        .isLessThanOrEqualTo(empty + 8L * 32768 + (long) store.segmentCount() * store.pageSize());
  }


  @Test
  void overwrite_withColdEntriesInEveryPage_reusesDeadPagesInsteadOfGrowing() {
    long empty = store.stats().bytesUsed();
    java.util.Random random = new java.util.Random(42);
    int hot = 2_000;
    int cold = 0;
    byte[] value = new byte[100];
    for (int write = 0; write < 300_000; write++) {
      if (write % 50 == 0) {
        // written once and kept: no page ever becomes wholly dead and free on its own
        store.put(b("cold" + cold++), value);
      } else {
        int k = random.nextInt(hot);
        value[0] = (byte) k;
        store.put(b("hot" + k), value);
      }
    }
    // 300,000 writes of ~110 bytes (33 MB) for under 1 MB of live entries: without reuse the log
    // would hold all of it
    assertThat(store.size()).isEqualTo(hot + cold);
    assertThat(store.stats().evicted()).isZero();
    long pagesPerSegment = 2 * (store.liveBytes() / store.segmentCount() / store.pageSize() + 1) + 2;
    assertThat(store.stats().bytesUsed() - empty)
        .isLessThanOrEqualTo(8L * 65536 + pagesPerSegment * store.segmentCount() * store.pageSize());
    for (int k = 0; k < hot; k++) {
      assertThat(store.get(b("hot" + k))[0]).isEqualTo((byte) k);
    }
    for (int i = 0; i < cold; i++) {
      assertThat(store.get(b("cold" + i))).hasSize(100);
    }
  }

  @Test
  void close_releasesDirectMemoryAndRefusesWrites() {
    java.lang.management.BufferPoolMXBean direct =
        java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
            .stream().filter(p -> p.getName().equals("direct")).findFirst().orElseThrow();
    OffHeapStore other = new OffHeapStore(StoreConfig.of(256L << 20, clock));
    long before = direct.getMemoryUsed() + Math.max(0, PlatformDependent.usedDirectMemory());
    for (int i = 0; i < 50_000; i++) {
      other.put(b("k" + i), new byte[1000]);
    }
    assertThat(other.stats().bytesUsed()).isGreaterThan(40L << 20);
    other.close();
    assertThat(other.stats().bytesUsed()).isZero();
    // freed at once where Netty can free (JDK 17, or 24+ with native access), else by the JDK's
    // cleaner after a GC
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              System.gc();
              return direct.getMemoryUsed() + Math.max(0, PlatformDependent.usedDirectMemory())
                  < before + (1L << 20);
            });
    assertThat(other.get(b("k1"))).isNull();
    assertThatThrownBy(() -> other.put(b("k"), b("v"))).isInstanceOf(IllegalStateException.class);
  }
}
