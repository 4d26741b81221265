package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The contract suite, plus what only the reference promises: exact LRU and exact accounting. */
class ReferenceStoreTest extends StoreContractTest {

  @Override
  protected Store create(StoreConfig config) {
    return new ReferenceStore(config);
  }

  private static long cost(String key, int valueLength) {
    return key.length() + valueLength + ReferenceStore.ENTRY_OVERHEAD_BYTES;
  }

  @Test
  void bytesUsed_isKeyPlusValuePlusOverheadPerEntry() {
    store.put(b("abc"), new byte[10]);
    store.put(b("de"), new byte[0]);

    assertThat(store.stats().bytesUsed()).isEqualTo(cost("abc", 10) + cost("de", 0));
    store.put(b("abc"), new byte[4]);
    assertThat(store.stats().bytesUsed()).isEqualTo(cost("abc", 4) + cost("de", 0));
  }

  @Test
  void lru_full_evictsExactlyTheLeastRecentlyUsed() {
    Store s = open(3 * cost("k1", 10), MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    s.put(b("k1"), new byte[10]);
    s.put(b("k2"), new byte[10]);
    s.put(b("k3"), new byte[10]);
    s.get(b("k1"));

    s.put(b("k4"), new byte[10]);

    assertThat(s.exists(b("k2"))).isFalse();
    assertThat(s.getAll(List.of(b("k1"), b("k3"), b("k4")))).doesNotContainNull();
    assertThat(s.stats().evicted()).isEqualTo(1);
    assertThat(s.stats().bytesUsed()).isEqualTo(3 * cost("k1", 10));
  }

  @Test
  void lru_existsAndTtl_doNotCountAsUse() {
    Store s = open(2 * cost("k1", 10), MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    s.put(b("k1"), new byte[10]);
    s.put(b("k2"), new byte[10]);
    s.exists(b("k1"));
    s.ttlMillis(b("k1"));

    s.put(b("k3"), new byte[10]);

    assertThat(s.exists(b("k1"))).isFalse();
    assertThat(s.exists(b("k2"))).isTrue();
  }

  @Test
  void lru_growingTheWrittenKey_neverEvictsItself() {
    Store s = open(2 * cost("k1", 10), MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    s.put(b("k1"), new byte[10]);
    s.put(b("k2"), new byte[10]);
    s.get(b("k2"));

    s.append(b("k1"), new byte[10]);

    assertThat(s.strlen(b("k1"))).isEqualTo(20);
    assertThat(s.exists(b("k2"))).isFalse();
  }

  @Test
  void lru_expiredVictim_countsAsExpiredNotEvicted() {
    Store s = open(2 * cost("k1", 10), MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    s.set(b("k1"), new byte[10], SetArgs.expiringAt(clock.millis() + 1));
    s.put(b("k2"), new byte[10]);
    clock.advanceMillis(1);

    s.put(b("k3"), new byte[10]);

    assertThat(s.stats().expired()).isEqualTo(1);
    assertThat(s.stats().evicted()).isZero();
  }

  @Test
  void purgeExpired_removesOnlyExpiredAndCountsThem() {
    ReferenceStore s = (ReferenceStore) store;
    s.set(b("a"), b("1"), SetArgs.expiringAt(clock.millis() + 5));
    s.set(b("b"), b("2"), SetArgs.expiringAt(clock.millis() + 10));
    s.put(b("c"), b("3"));
    clock.advanceMillis(5);

    assertThat(s.purgeExpired()).isEqualTo(1);

    assertThat(s.size()).isEqualTo(2);
    assertThat(s.sizeWithExpiry()).isEqualTo(1);
    assertThat(s.stats().expired()).isEqualTo(1);
    assertThat(s.stats().bytesUsed()).isEqualTo(cost("b", 1) + cost("c", 1));
  }

  @Test
  void versions_increaseAcrossKeys() {
    long v1 = store.set(b("a"), b("1"), SetArgs.ALWAYS).version();
    long v2 = store.set(b("b"), b("1"), SetArgs.ALWAYS).version();
    store.persist(b("a"));
    store.expireAt(b("a"), clock.millis() + 10, ExpireCondition.ALWAYS);

    assertThat(v2).isGreaterThan(v1);
    assertThat(store.getEntry(b("a")).version()).isGreaterThan(v2);
  }
}
