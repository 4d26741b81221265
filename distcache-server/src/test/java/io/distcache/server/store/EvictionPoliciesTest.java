package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What each of Redis's policies evicts, on the production store and on the reference store (exact
 * LRU, LFU, TTL order or uniform random) alike. The reference store evicts in O(n) per entry, so
 * its runs use a smaller bound; both fill their bound several times over.
 */
class EvictionPoliciesTest {
  private final ManualClock clock = new ManualClock();
  private Store store;

  @AfterEach
  void close() {
    if (store instanceof OffHeapStore off) {
      assertThat(off.validate()).isNull();
    }
    store.close();
  }

  /** A store and the number of 100-byte entries that fill it about once. */
  record Subject(String name, Function<StoreConfig, Store> factory, long bound, int fill) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Subject> stores() {
    return Stream.of(
        new Subject("off-heap", OffHeapStore::new, 4L << 20, 4 * 1024 * 1024 / 130),
        new Subject("reference", ReferenceStore::new, 64L << 10, 64 * 1024 / 170));
  }

  static Stream<Arguments> storesAndVolatilePolicies() {
    return stores().flatMap(s -> Stream.of(EvictionPolicy.values()).filter(EvictionPolicy::volatileOnly)
        .map(p -> Arguments.of(s, p)));
  }

  private Store open(Subject s, EvictionPolicy policy) {
    store = s.factory().apply(new StoreConfig(s.bound(), 1 << 20, policy, clock));
    return store;
  }

  private static byte[] key(String prefix, int i) {
    return (prefix + i).getBytes(UTF_8);
  }

  private static int present(Store s, String prefix, int n) {
    int found = 0;
    for (int i = 0; i < n; i++) {
      if (s.exists(key(prefix, i))) {
        found++;
      }
    }
    return found;
  }

  /** How many keys putUntilRefused wrote, and the refusal that stopped it (null: none). */
  private record Refusal(int written, StoreException error) {}

  /** Writes 100-byte values without expiry to prefix + i, i = 0.., until one is refused or max are written. */
  private static Refusal putUntilRefused(Store s, String prefix, long max) {
    int written = 0;
    for (int i = 0; i < max; i++) {
      try {
        s.put(key(prefix, i), new byte[100]);
        written++;
      } catch (StoreException e) {
        return new Refusal(written, e);
      }
    }
    return new Refusal(written, null);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("storesAndVolatilePolicies")
  void volatilePolicy_keysWithoutTtlSurvive_whileKeysWithTtlAreEvicted(Subject subject, EvictionPolicy policy) {
    Store s = open(subject, policy);
    int persistent = subject.fill() / 3;
    for (int i = 0; i < persistent; i++) {
      s.put(key("p", i), new byte[100]);
    }
    long far = clock.millis() + 3_600_000;
    int flood = subject.fill() * 4;
    for (int i = 0; i < flood; i++) {
      s.set(key("t", i), new byte[100], SetArgs.expiringAt(far + i));
    }
    assertThat(s.stats().evicted()).isPositive();
    assertThat(present(s, "p", persistent)).isEqualTo(persistent);
    assertThat(present(s, "t", flood)).isLessThan(flood);
    assertThat(s.stats().bytesUsed()).isLessThanOrEqualTo(subject.bound());
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("storesAndVolatilePolicies")
  void volatilePolicy_noKeyWithTtl_refusesTheWriteLikeNoeviction(Subject subject, EvictionPolicy policy) {
    Store s = open(subject, policy);
    Refusal r = putUntilRefused(s, "p", subject.fill() * 4L);
    int written = r.written();
    StoreException refused = r.error();
    assertThat(refused).isNotNull();
    assertThat(refused.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
    if (s instanceof OffHeapStore) {
      assertThat(refused.getMessage()).contains("the policy is " + policy.redisName() + " but no key has an expiry");
    }
    assertThat(s.stats().evicted()).isZero();
    assertThat(s.size()).isEqualTo(written);
    assertThat(present(s, "p", written)).isEqualTo(written);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void volatileTtl_evictsTheNearestExpiryFirst(Subject subject) {
    Store s = open(subject, EvictionPolicy.VOLATILE_TTL);
    long now = clock.millis();
    int n = subject.fill() / 2;
    // interleaved, so every page holds both kinds
    for (int i = 0; i < n; i++) {
      s.set(key("soon", i), new byte[100], SetArgs.expiringAt(now + 10_000 + i));
      s.set(key("late", i), new byte[100], SetArgs.expiringAt(now + 86_400_000 + i));
    }
    int flood = subject.fill() / 2;
    for (int i = 0; i < flood; i++) {
      s.set(key("new", i), new byte[100], SetArgs.expiringAt(now + 86_400_000 + i));
    }
    int soon = present(s, "soon", n);
    int late = present(s, "late", n);
    assertThat(s.stats().evicted()).isPositive();
    assertThat(n - soon).as("evicted: the near expiries").isGreaterThan(4 * (n - late));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void volatileLru_keepsReadKeysWithTtl_andEveryKeyWithout(Subject subject) {
    Store s = open(subject, EvictionPolicy.VOLATILE_LRU);
    long far = clock.millis() + 3_600_000;
    int hot = Math.max(10, subject.fill() / 100);
    for (int i = 0; i < hot; i++) {
      s.set(key("hot", i), new byte[100], SetArgs.expiringAt(far));
      s.put(key("p", i), new byte[100]);
    }
    for (int i = 0; i < subject.fill() * 4; i++) {
      s.set(key("t", i), new byte[100], SetArgs.expiringAt(far));
      if (i % 50 == 0) {
        for (int h = 0; h < hot; h++) {
          s.get(key("hot", h));
        }
      }
    }
    assertThat(s.stats().evicted()).isPositive();
    assertThat(present(s, "hot", hot)).isEqualTo(hot);
    assertThat(present(s, "p", hot)).isEqualTo(hot);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void volatileLfu_keepsOftenReadKeysWithTtl(Subject subject) {
    store = subject.factory().apply(new StoreConfig(subject.bound(), 1 << 20, EvictionPolicy.VOLATILE_LFU, clock, 0, 1));
    Store s = store;
    long far = clock.millis() + 3_600_000;
    int hot = Math.max(10, subject.fill() / 100);
    // hot keys written among the first cold ones, as a real load mixes them: a walk's first page
    // made of hot keys alone, with no earlier pages sampled, would lose the least used of them
    for (int i = 0; i < hot; i++) {
      s.set(key("hot", i), new byte[100], SetArgs.expiringAt(far));
      for (int r = 0; r < 20; r++) {
        s.get(key("hot", i));
      }
      for (int c = 0; c < 10; c++) {
        s.set(key("c", i * 10 + c), new byte[100], SetArgs.expiringAt(far));
      }
    }
    for (int i = 0; i < subject.fill() * 4; i++) {
      s.set(key("t", i), new byte[100], SetArgs.expiringAt(far));
    }
    assertThat(s.stats().evicted()).isPositive();
    assertThat(present(s, "hot", hot)).isEqualTo(hot);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void allkeysRandom_evictsReadKeysToo_whereAllkeysLruKeepsThem(Subject subject) {
    int hot = Math.max(10, subject.fill() / 100);
    int[] survivors = new int[2];
    EvictionPolicy[] policies = {EvictionPolicy.ALLKEYS_LRU, EvictionPolicy.ALLKEYS_RANDOM};
    for (int round = 0; round < 2; round++) {
      if (store != null) {
        store.close();
      }
      Store s = open(subject, policies[round]);
      for (int i = 0; i < hot; i++) {
        s.put(key("hot", i), new byte[100]);
      }
      for (int i = 0; i < subject.fill() * 4; i++) {
        s.put(key("t", i), new byte[100]);
        if (i % 50 == 0) {
          for (int h = 0; h < hot; h++) {
            s.get(key("hot", h));
          }
        }
      }
      assertThat(s.stats().evicted()).isPositive();
      survivors[round] = present(s, "hot", hot);
    }
    assertThat(survivors[0]).as("allkeys-lru").isEqualTo(hot);
    assertThat(survivors[1]).as("allkeys-random: blind to reads").isLessThan(hot);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void volatileRandom_evictsOnlyKeysWithTtl_whateverTheirUse(Subject subject) {
    Store s = open(subject, EvictionPolicy.VOLATILE_RANDOM);
    long far = clock.millis() + 3_600_000;
    int hot = Math.max(10, subject.fill() / 100);
    for (int i = 0; i < hot; i++) {
      s.set(key("hot", i), new byte[100], SetArgs.expiringAt(far));
      s.put(key("p", i), new byte[100]);
    }
    for (int i = 0; i < subject.fill() * 4; i++) {
      s.set(key("t", i), new byte[100], SetArgs.expiringAt(far));
      if (i % 50 == 0) {
        for (int h = 0; h < hot; h++) {
          s.get(key("hot", h));
        }
      }
    }
    assertThat(present(s, "hot", hot)).as("read keys with a TTL go too").isLessThan(hot);
    assertThat(present(s, "p", hot)).isEqualTo(hot);
  }

  @ParameterizedTest(name = "to {0}")
  @EnumSource(EvictionPolicy.class)
  void switchingPolicy_entriesWrittenUnderAnotherKeepServingAndEvicting(EvictionPolicy to) {
    for (EvictionPolicy from : new EvictionPolicy[] {EvictionPolicy.ALLKEYS_LRU, EvictionPolicy.ALLKEYS_LFU}) {
      if (store != null) {
        store.close();
      }
      Store s = open(stores().findFirst().orElseThrow(), from);
      long far = clock.millis() + 3_600_000;
      for (int i = 0; i < 5_000; i++) {
        s.set(key("a", i), new byte[100], SetArgs.expiringAt(far + i));
      }
      s.reconfigure(s.config().withPolicy(to));
      for (int i = 0; i < 100_000; i++) {
        try {
          s.set(key("b", i), new byte[100], SetArgs.expiringAt(far + i));
        } catch (StoreException e) {
          assertThat(to).isEqualTo(EvictionPolicy.NOEVICTION);
          break;
        }
      }
      assertThat(s.get(key("b", 0)) != null || s.stats().evicted() > 0 || to == EvictionPolicy.NOEVICTION).isTrue();
      if (to.evicts()) {
        assertThat(s.stats().evicted()).as(from + " -> " + to).isPositive();
      }
      assertThat(s.idleSeconds(key("a", 4_999))).isEqualTo(!s.exists(key("a", 4_999)) ? Store.KEY_MISSING
          : to.lfu() ? Store.IDLE_NOT_TRACKED : 0);
      assertThat(((OffHeapStore) s).validate()).isNull();
    }
  }

  /** n keys named prefix + i that fall in the given segment of s (the top bits of the key hash pick it). */
  private static List<byte[]> keysOfSegment(OffHeapStore s, int segment, String prefix, int n) {
    int bits = Integer.numberOfTrailingZeros(s.segmentCount());
    List<byte[]> keys = new ArrayList<>();
    for (int i = 0; keys.size() < n; i++) {
      byte[] k = key(prefix, i);
      if (segmentOf(k, bits) == segment) {
        keys.add(k);
      }
    }
    return keys;
  }

  private static int segmentOf(byte[] key, int bits) {
    return bits == 0 ? 0 : (int) (KeyHash.hash(key) >>> (64 - bits));
  }

  /*
   * Redis evicts from every key with an expiry, wherever it is; a write must not be refused because
   * the keys with an expiry sit in other segments than its own. Segment 0 holds forty pages of keys
   * without expiry and one key with an expiry in its newest page, out of reach of its own walk
   * (8 pages); every other segment holds only keys with an expiry.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = EvictionPolicy.class, names = {"VOLATILE_LRU", "VOLATILE_LFU", "VOLATILE_RANDOM", "VOLATILE_TTL"})
  void offHeap_volatile_segmentWithFewKeysWithTtl_takesRoomFromTheOtherSegments(EvictionPolicy policy) {
    long bound = 4L << 20;
    OffHeapStore s = new OffHeapStore(new StoreConfig(bound, 1 << 20, policy, clock));
    store = s;
    int perPage = s.pageSize() / 130;
    List<byte[]> persistent = keysOfSegment(s, 0, "p", 60 * perPage);
    int first = 40 * perPage;
    for (int i = 0; i < first; i++) {
      s.put(persistent.get(i), new byte[100]);
    }
    long far = clock.millis() + 3_600_000;
    s.set(keysOfSegment(s, 0, "t", 1).get(0), new byte[100], SetArgs.expiringAt(far));
    int bits = Integer.numberOfTrailingZeros(s.segmentCount());
    for (int i = 0; i < 2 * bound / 130; i++) {
      byte[] k = key("o", i);
      if (segmentOf(k, bits) != 0) {
        s.set(k, new byte[100], SetArgs.expiringAt(far + i));
      }
    }
    long evicted = s.stats().evicted();
    assertThat(evicted).as("the other segments filled the bound").isPositive();

    for (int i = first; i < persistent.size(); i++) {
      s.put(persistent.get(i), new byte[100]);
    }

    assertThat(s.stats().evicted()).isGreaterThan(evicted);
    for (byte[] k : persistent) {
      assertThat(s.exists(k)).as(new String(k, UTF_8)).isTrue();
    }
    assertThat(s.sizeWithExpiry()).isPositive();
    assertThat(s.stats().bytesUsed()).isLessThanOrEqualTo(bound);
  }

  /* Redis answers OOM under volatile-* once no key with an expiry is left, and not before. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = EvictionPolicy.class, names = {"VOLATILE_LRU", "VOLATILE_LFU", "VOLATILE_RANDOM", "VOLATILE_TTL"})
  void offHeap_volatile_refusesOnlyOnceNoKeyWithTtlIsLeft(EvictionPolicy policy) {
    long bound = 4L << 20;
    store = new OffHeapStore(new StoreConfig(bound, 1 << 20, policy, clock));
    int withTtl = 2_000;
    for (int i = 0; i < withTtl; i++) {
      store.set(key("t", i), new byte[100], SetArgs.expiringAt(clock.millis() + 3_600_000 + i));
    }
    Refusal r = putUntilRefused(store, "p", 4 * bound / 130);
    int written = r.written();
    StoreException refused = r.error();
    assertThat(refused).isNotNull();
    assertThat(refused.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
    assertThat(store.sizeWithExpiry()).isZero();
    assertThat(refused.getMessage()).contains("but no key has an expiry");
    assertThat(store.stats().evicted()).isEqualTo(withTtl);
    assertThat(present(store, "p", written)).isEqualTo(written);
  }

  @Test
  void offHeap_volatileLowerBound_shrinksByEvictingKeysWithTtlOnly() {
    Subject subject = stores().findFirst().orElseThrow();
    store = new OffHeapStore(new StoreConfig(16L << 20, 1 << 20, EvictionPolicy.VOLATILE_LRU, clock));
    for (int i = 0; i < 20_000; i++) {
      store.put(key("p", i), new byte[100]);
      store.set(key("t", i), new byte[100], SetArgs.expiringAt(clock.millis() + 3_600_000));
    }
    store.reconfigure(store.config().withMaxMemoryBytes(subject.bound()));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .until(() -> store.stats().bytesUsed() <= subject.bound() || store.sizeWithExpiry() == 0);
    assertThat(present(store, "p", 20_000)).isEqualTo(20_000);
    assertThatThrownBy(() -> {
      for (int i = 0; i < 100_000; i++) {
        store.put(key("q", i), new byte[100]);
      }
    }).isInstanceOf(StoreException.class);
  }
}
