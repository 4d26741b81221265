package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.CollectionCodec.Bytes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The store keeps its field-expiry index to the hashes it holds: every way a hash leaves (delete,
 * expiry, eviction, an overwrite by another type) takes its entry out, so a full index gets its
 * room back when its hashes go.
 */
class OffHeapStoreFieldExpiryIndexTest {
  private static final long T0 = 1_700_000_000_000L;
  private final ManualClock clock = new ManualClock(T0);
  private OffHeapStore store;

  @AfterEach
  void close() {
    assertThat(store.validate()).isNull();
    store.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  /** A hash of one field {@code a} expiring at {@code at}. */
  private static byte[] hashWithFieldTime(long at) {
    Bytes a = new Bytes(b("a"));
    return CollectionCodec.encodeHash(Map.of(a, b("1")), Map.of(a, at));
  }

  @Test
  void putTypedWithoutFieldTimes_overAnIndexedHash_takesItOutOfTheIndex() {
    store = new OffHeapStore(new StoreConfig(4L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    store.putTyped(b("h"), ValueType.HASH, hashWithFieldTime(T0 + 60_000), Store.NO_EXPIRY);
    assertThat(store.fieldExpiryIndex().size()).isEqualTo(1);

    byte[] plain = CollectionCodec.encodeHash(Map.of(new Bytes(b("a")), b("2")));
    store.putTypedWithoutFieldTimes(b("h"), ValueType.HASH, plain, Store.NO_EXPIRY);

    assertThat(store.fieldExpiryIndex().size()).isZero();
    assertThat(store.getTyped(b("h")).value()).isEqualTo(plain);
  }

  @Test
  void evictedHashes_leaveTheIndex_soAFullIndexTakesNewOnesAgain() {
    long bound = 4L << 20;
    store = new OffHeapStore(new StoreConfig(bound, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    FieldExpiryIndex index = store.fieldExpiryIndex();
    int hashes = 100;
    index.maxBytes(hashes * (FieldExpiryIndex.ENTRY_BYTES + 4));
    for (int i = 0; i < hashes; i++) {
      store.putTyped(b("h" + i), ValueType.HASH, hashWithFieldTime(T0 + 3_600_000), Store.NO_EXPIRY);
    }
    store.putTyped(b("refused"), ValueType.HASH, hashWithFieldTime(T0 + 3_600_000), Store.NO_EXPIRY);
    assertThat(index.size()).isEqualTo(hashes);
    assertThat(index.incomplete()).as("the index is full").isTrue();

    // strings of twice the bound push every hash out
    for (int i = 0; i < 2 * bound / 130; i++) {
      store.put(b("s" + i), new byte[100]);
    }
    int left = 0;
    for (int i = 0; i < hashes; i++) {
      left += store.exists(b("h" + i)) ? 1 : 0;
    }
    assertThat(left).isLessThan(hashes / 2);
    assertThat(index.size()).as("only the hashes still stored").isEqualTo(left);

    store.putTyped(b("later"), ValueType.HASH, hashWithFieldTime(T0 + 7_200_000), Store.NO_EXPIRY);
    assertThat(index.timeOf(b("later"))).isEqualTo(T0 + 7_200_000);
  }

  @Test
  void typedWrites_indexTheDueTime_andNothingForAKeyWhoseExpiryIsPast() {
    store = new OffHeapStore(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    FieldExpiryIndex index = store.fieldExpiryIndex();
    store.applyReplicated(b("replicated"), ValueType.HASH, hashWithFieldTime(T0 + 500), T0 + 300, 7);
    assertThat(index.timeOf(b("replicated"))).as("the key's expiry comes first").isEqualTo(T0 + 300);
    store.applyReplicated(b("plain"), ValueType.HASH, CollectionCodec.encodeHash(Map.of(new Bytes(b("a")), b("1"))),
        Store.NO_EXPIRY, 8);
    assertThat(index.timeOf(b("plain"))).isZero();

    store.applyReplicated(b("past"), ValueType.HASH, hashWithFieldTime(T0 + 500), T0, 9);
    store.putTyped(b("pastToo"), ValueType.HASH, hashWithFieldTime(T0 + 500), T0 - 1);
    assertThat(store.exists(b("past"))).isFalse();
    assertThat(index.timeOf(b("past"))).isZero();
    assertThat(index.timeOf(b("pastToo"))).isZero();
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void everyOtherWayAHashLeaves_takesItsEntryOut() {
    store = new OffHeapStore(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    FieldExpiryIndex index = store.fieldExpiryIndex();
    for (String k : List.of("set", "setAll", "del", "expireNow", "expires", "kept")) {
      long keyExpiry = k.equals("expires") ? T0 + 10 : Store.NO_EXPIRY;
      store.putTyped(b(k), ValueType.HASH, hashWithFieldTime(T0 + 1_000), keyExpiry);
    }
    assertThat(index.size()).isEqualTo(6);

    store.set(b("set"), b("string"), SetArgs.ALWAYS);
    store.setAll(List.of(b("setAll")), List.of(b("string")), Store.NO_EXPIRY);
    store.delete(b("del"));
    store.expireAt(b("expireNow"), T0, ExpireCondition.ALWAYS);
    clock.advanceMillis(10);
    assertThat(store.exists(b("expires"))).isFalse();
    assertThat(index.timeOf(b("expires"))).as("an expired key stays indexed until it is removed").isNotZero();
    store.get(b("expires")); // a counted read removes the expired entry

    assertThat(index.timeOf(b("kept"))).isEqualTo(T0 + 1_000);
    assertThat(index.size()).as("only the hash left untouched").isEqualTo(1);
  }
}
