package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Store.peekEntry and Store.applyReplicated, the two methods replication needs, on both stores. */
class ReplicatedEntryTest {
  private final ManualClock clock = new ManualClock();

  static Stream<Function<StoreConfig, Store>> stores() {
    return Stream.of(Stores::create, ReferenceStore::new);
  }

  private Store open(Function<StoreConfig, Store> factory) {
    return factory.apply(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @MethodSource("stores")
  void applyReplicated_keepsTheOwnersVersionAndExpiry_andLaterVersionsGoAbove(Function<StoreConfig, Store> f) {
    Store store = open(f);
    try {
      long expireAt = clock.millis() + 60_000;
      store.applyReplicated(b("k"), io.distcache.protocol.ValueType.STRING, b("v"), expireAt, 1_000_000L << 6 | 5);

      io.distcache.server.store.TypedEntry e = store.peekEntry(b("k"));
      assertThat(e.value()).isEqualTo(b("v"));
      assertThat(e.version()).isEqualTo(1_000_000L << 6 | 5);
      assertThat(e.expireAtMillis()).isEqualTo(expireAt);
      store.set(b("k"), b("w"), SetArgs.ALWAYS);
      assertThat(store.peekEntry(b("k")).version()).isGreaterThan(1_000_000L << 6 | 5);
    } finally {
      store.close();
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void applyReplicated_replacesAnEntry_andAnExpiryInThePastRemovesIt(Function<StoreConfig, Store> f) {
    Store store = open(f);
    try {
      store.set(b("k"), b("old"), SetArgs.ALWAYS);
      store.applyReplicated(b("k"), io.distcache.protocol.ValueType.STRING, b("new"), Store.NO_EXPIRY, 7);
      assertThat(store.get(b("k"))).isEqualTo(b("new"));
      assertThat(store.ttlMillis(b("k"))).isEqualTo(-1);

      store.applyReplicated(b("k"), io.distcache.protocol.ValueType.STRING, b("gone"), clock.millis() - 1, 9);
      assertThat(store.peekEntry(b("k"))).isNull();
      assertThat(store.size()).isZero();
    } finally {
      store.close();
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void peekEntry_countsNoHitOrMiss_andHidesExpiredEntries(Function<StoreConfig, Store> f) {
    Store store = open(f);
    try {
      store.set(b("k"), b("v"), SetArgs.ALWAYS);
      store.expireAt(b("k"), clock.millis() + 10, ExpireCondition.ALWAYS);
      long hits = store.stats().hits();
      long misses = store.stats().misses();

      assertThat(store.peekEntry(b("k")).value()).isEqualTo(b("v"));
      assertThat(store.peekEntry(b("absent"))).isNull();
      clock.advanceMillis(11);
      assertThat(store.peekEntry(b("k"))).isNull();
      assertThat(store.stats().hits()).isEqualTo(hits);
      assertThat(store.stats().misses()).isEqualTo(misses);
    } finally {
      store.close();
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void applyReplicated_keepsTheValuesType(Function<StoreConfig, Store> f) {
    Store store = open(f);
    try {
      byte[] payload = store.getTyped(b("absent")) == null ? b("packed") : null;
      store.applyReplicated(b("h"), io.distcache.protocol.ValueType.HASH, payload, Store.NO_EXPIRY, 11);
      assertThat(store.typeOf(b("h"))).isEqualTo(io.distcache.protocol.ValueType.HASH);
      io.distcache.server.store.TypedEntry e = store.peekEntry(b("h"));
      assertThat(e.type()).isEqualTo(io.distcache.protocol.ValueType.HASH);
      assertThat(e.value()).isEqualTo(b("packed"));
      assertThat(e.version()).isEqualTo(11);
    } finally {
      store.close();
    }
  }

  /*
   * Store.applyReplicatedEdit's verdict, one rule (ReplicatedEdit.before) on both stores: the
   * off-heap store's own and the interface's default, which ReferenceStore takes.
   */
  @ParameterizedTest
  @MethodSource("stores")
  void applyReplicatedEdit_appliesOnlyToTheCopyTheOwnerEdited(Function<StoreConfig, Store> f) {
    Store store = open(f);
    io.distcache.protocol.ValueType set = io.distcache.protocol.ValueType.SET;
    java.util.List<PackedEdit.Op> addB = java.util.List.of(new PackedEdit.Op(PackedEdit.Op.ADD, b("b"), null));
    try {
      assertThat(store.applyReplicatedEdit(b("s"), set, 5, 6, Store.NO_EXPIRY, addB))
          .as("absent").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      store.applyReplicated(b("s"), set, CollectionCodec.encodeSet(
          java.util.List.of(new CollectionCodec.Bytes(b("a"))), 1), Store.NO_EXPIRY, 5);
      assertThat(store.applyReplicatedEdit(b("s"), io.distcache.protocol.ValueType.HASH, 5, 6, Store.NO_EXPIRY, addB))
          .as("another type").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      assertThat(store.applyReplicatedEdit(b("s"), set, 5, 6, clock.millis() + 1000, addB))
          .as("another expiry").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      assertThat(store.applyReplicatedEdit(b("s"), set, 4, 6, Store.NO_EXPIRY, addB))
          .as("another base version").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      assertThat(store.applyReplicatedEdit(b("s"), set, 5, 5, Store.NO_EXPIRY, addB))
          .as("a write that changed nothing, at its version").isEqualTo(Store.ReplicatedEdit.ALREADY_APPLIED);
      assertThat(store.applyReplicatedEdit(b("s"), set, 5, 6, Store.NO_EXPIRY, addB)).isEqualTo(Store.ReplicatedEdit.APPLIED);
      TypedEntry e = store.peekEntry(b("s"));
      assertThat(e.version()).isEqualTo(6);
      assertThat(CollectionCodec.decodeSet(e.value())).containsOnlyKeys(new CollectionCodec.Bytes(b("a")),
          new CollectionCodec.Bytes(b("b")));
      assertThat(store.applyReplicatedEdit(b("s"), set, 6, 6, Store.NO_EXPIRY, addB))
          .as("repeated check of the version").isEqualTo(Store.ReplicatedEdit.ALREADY_APPLIED);
      assertThat(store.applyReplicatedEdit(b("s"), set, 5, 6, Store.NO_EXPIRY, addB))
          .as("a real edit finding the copy at its own version").isEqualTo(Store.ReplicatedEdit.DIVERGED);
    } finally {
      store.close();
    }
  }
}
