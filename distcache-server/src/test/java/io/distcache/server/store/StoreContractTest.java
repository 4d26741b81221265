package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.server.ManualClock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The semantics every {@link Store} must have, whatever its internals. A new implementation gets
 * the whole suite by extending this class. Time only moves through {@link #clock}; memory tests
 * assert bounds and survival of hot keys, never an exact eviction order (which only an exact LRU
 * has).
 */
public abstract class StoreContractTest {
  protected static final long MEMORY = 16L * 1024 * 1024;
  protected static final int MAX_VALUE = 1024 * 1024;

  protected final ManualClock clock = new ManualClock();
  protected Store store;
  private final List<Store> opened = new ArrayList<>();

  /** A new, empty store enforcing {@code config}. */
  protected abstract Store create(StoreConfig config);

  @BeforeEach
  void openStore() {
    store = open(MEMORY, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
  }

  @AfterEach
  void closeStores() {
    opened.forEach(Store::close);
  }

  protected Store open(long maxMemory, int maxValue, EvictionPolicy policy) {
    Store s = create(new StoreConfig(maxMemory, maxValue, policy, clock));
    opened.add(s);
    return s;
  }

  protected static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  protected static String s(byte[] bytes) {
    return bytes == null ? null : new String(bytes, UTF_8);
  }

  private long now() {
    return clock.millis();
  }

  private static void assertStoreError(StoreException.Reason reason, ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOf(StoreException.class)
        .satisfies(e -> assertThat(((StoreException) e).reason()).isEqualTo(reason));
  }

  // ---- get / set / delete ----

  /**
   * peekValue lends the entry as peekEntry finds it: its type, its whole value and its expiry, a
   * large value too; absent and expired keys are (null, null, NO_EXPIRY); nothing is counted.
   */
  @Test
  void peekValue_lendsTypeValueAndExpiry_countsNothing() {
    byte[] large = new byte[300_000];
    java.util.Arrays.fill(large, (byte) 'x');
    large[299_999] = 'y';
    store.set(b("big"), large, SetArgs.ALWAYS);
    store.set(b("short"), b("12"), SetArgs.expiringAt(clock.millis() + 5_000));
    store.putTyped(b("h"), io.distcache.protocol.ValueType.HASH,
        CollectionCodec.encodeHash(java.util.Map.of(new CollectionCodec.Bytes(b("f")), b("v"))), Store.NO_EXPIRY);
    long hits = store.stats().hits();
    long misses = store.stats().misses();

    Store.PeekReader<String> describe = (type, v, at) -> type == null ? "absent " + v + " " + at
        : type + " " + v.remaining() + " " + (char) v.get(v.position() + v.remaining() - 1) + " " + at;
    assertThat(store.peekValue(b("big"), describe)).isEqualTo("STRING 300000 y 0");
    assertThat(store.peekValue(b("short"), describe)).isEqualTo("STRING 2 2 " + (clock.millis() + 5_000));
    Store.PeekReader<String> length = (type, v, at) -> type + " " + v.remaining();
    assertThat(store.peekValue(b("h"), length))
        .isEqualTo("HASH " + CollectionCodec.encodeHash(java.util.Map.of(new CollectionCodec.Bytes(b("f")), b("v"))).length);
    assertThat(store.peekValue(b("nokey"), describe)).isEqualTo("absent null 0");
    clock.advanceMillis(5_000);
    assertThat(store.peekValue(b("short"), describe)).as("expired").isEqualTo("absent null 0");
    assertThat(store.stats().hits()).isEqualTo(hits);
    assertThat(store.stats().misses()).isEqualTo(misses);
  }

  @Test
  void get_absentKey_returnsNull() {
    assertThat(store.get(b("nope"))).isNull();
    assertThat(store.getEntry(b("nope"))).isNull();
  }

  @Test
  void set_thenGet_returnsValue() {
    SetResult r = store.set(b("k"), b("v"), SetArgs.ALWAYS);

    assertThat(r.written()).isTrue();
    assertThat(r.previous()).isNull();
    assertThat(r.version()).isNotZero();
    assertThat(s(store.get(b("k")))).isEqualTo("v");
  }

  @Test
  void set_existingKey_replacesValueAndVersion() {
    long v1 = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();
    long v2 = store.set(b("k"), b("two"), SetArgs.ALWAYS).version();

    assertThat(v2).isNotEqualTo(v1);
    StoredEntry e = store.getEntry(b("k"));
    assertThat(s(e.value())).isEqualTo("two");
    assertThat(e.version()).isEqualTo(v2);
    assertThat(e.expireAtMillis()).isEqualTo(Store.NO_EXPIRY);
  }

  // ---- readValue: the value lent in place ----

  /** What readValue's consumer saw: the views' properties and bytes, copied during the call. */
  private static final class Lent implements java.util.function.Consumer<java.nio.ByteBuffer> {
    int calls;
    boolean readOnly;
    int position;
    byte[] bytes;

    @Override
    public void accept(java.nio.ByteBuffer view) {
      calls++;
      readOnly = view.isReadOnly();
      position = view.position();
      bytes = new byte[view.remaining()];
      view.get(bytes);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 100, 16 * 1024, 100 * 1024, 300 * 1024, MAX_VALUE})
  void readValue_presentKey_lendsTheWholeValueReadOnly(int length) {
    byte[] value = new byte[length];
    new java.util.Random(length).nextBytes(value);
    store.put(b("k"), value);
    long hitsBefore = store.stats().hits();
    Lent lent = new Lent();

    assertThat(store.readValue(b("k"), lent)).isTrue();

    assertThat(lent.calls).isEqualTo(1);
    assertThat(lent.readOnly).isTrue();
    assertThat(lent.position).isZero();
    assertThat(lent.bytes).isEqualTo(value);
    assertThat(store.stats().hits()).isEqualTo(hitsBefore + 1);
  }

  @Test
  void readValue_absentKey_returnsFalseCallsNothingCountsAMiss() {
    long missesBefore = store.stats().misses();
    Lent lent = new Lent();

    assertThat(store.readValue(b("nope"), lent)).isFalse();

    assertThat(lent.calls).isZero();
    assertThat(store.stats().misses()).isEqualTo(missesBefore + 1);
  }

  @Test
  void readValue_expiredKey_returnsFalseAndTheKeyIsGone() {
    store.set(b("k"), new byte[200 * 1024], SetArgs.expiringAt(now() + 10));
    clock.advanceMillis(10);
    Lent lent = new Lent();

    assertThat(store.readValue(b("k"), lent)).isFalse();

    assertThat(lent.calls).isZero();
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void readValue_collection_refusedWrongTypeBeforeLending() {
    store.putTyped(b("h"), io.distcache.protocol.ValueType.HASH, new byte[] {0}, 0);
    Lent lent = new Lent();

    assertStoreError(StoreException.Reason.WRONG_TYPE, () -> store.readValue(b("h"), lent));

    assertThat(lent.calls).isZero();
  }

  @Test
  void readValue_afterOverwriteAndDelete_lendsTheLatest() {
    store.put(b("k"), new byte[300 * 1024]);
    store.put(b("k"), b("short now"));
    Lent lent = new Lent();
    assertThat(store.readValue(b("k"), lent)).isTrue();
    assertThat(s(lent.bytes)).isEqualTo("short now");

    store.delete(b("k"));

    assertThat(store.readValue(b("k"), new Lent())).isFalse();
  }

  @Test
  void set_differentKeys_getDistinctVersions() {
    long v1 = store.set(b("a"), b("v"), SetArgs.ALWAYS).version();
    long v2 = store.set(b("b"), b("v"), SetArgs.ALWAYS).version();

    assertThat(v1).isNotEqualTo(v2);
  }

  @Test
  void put_plainSet_storesWithoutExpiry() {
    store.put(b("k"), b("v"));

    assertThat(s(store.get(b("k")))).isEqualTo("v");
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void set_binaryKeyAndValueWithNulAndFF_roundTrip() {
    byte[] key = {0, (byte) 0xFF, 0, 'k', (byte) 0x80};
    byte[] value = {(byte) 0xFF, 0, 0, (byte) 0xFE, 0};
    store.put(key, value);

    assertThat(store.get(key)).containsExactly(value);
    assertThat(store.get(new byte[] {0, (byte) 0xFF, 0, 'k'})).isNull();
    assertThat(store.get(new byte[] {0, (byte) 0xFF, 0, 'k', (byte) 0x80, 0})).isNull();
  }

  @Test
  void set_emptyKeyAndEmptyValue_areLegal() {
    store.put(new byte[0], new byte[0]);

    assertThat(store.get(new byte[0])).isEmpty();
    assertThat(store.exists(new byte[0])).isTrue();
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void set_callerChangesArraysAfterwards_storedBytesUnchanged() {
    byte[] key = b("k");
    byte[] value = b("v");
    store.put(key, value);
    value[0] = 'x';
    store.get(b("k"))[0] = 'y';

    assertThat(s(store.get(b("k")))).isEqualTo("v");
  }

  @Test
  void set_ifAbsent_writesOnlyWhenAbsent() {
    SetArgs nx = new SetArgs(SetArgs.Condition.IF_ABSENT, Store.NO_EXPIRY, false, false);

    assertThat(store.set(b("k"), b("first"), nx).written()).isTrue();
    SetResult second = store.set(b("k"), b("second"), nx);

    assertThat(second.written()).isFalse();
    assertThat(second.version()).isZero();
    assertThat(s(store.get(b("k")))).isEqualTo("first");
  }

  @Test
  void set_ifPresent_writesOnlyWhenPresent() {
    SetArgs xx = new SetArgs(SetArgs.Condition.IF_PRESENT, Store.NO_EXPIRY, false, false);

    assertThat(store.set(b("k"), b("v"), xx).written()).isFalse();
    assertThat(store.exists(b("k"))).isFalse();
    store.put(b("k"), b("old"));
    assertThat(store.set(b("k"), b("new"), xx).written()).isTrue();
    assertThat(s(store.get(b("k")))).isEqualTo("new");
  }

  @Test
  void set_returnPrevious_returnsOldValueWhetherWrittenOrNot() {
    SetArgs get = new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, false, true);
    SetArgs nxGet = new SetArgs(SetArgs.Condition.IF_ABSENT, Store.NO_EXPIRY, false, true);

    assertThat(store.set(b("k"), b("one"), get).previous()).isNull();
    assertThat(s(store.set(b("k"), b("two"), get).previous())).isEqualTo("one");
    SetResult refused = store.set(b("k"), b("three"), nxGet);
    assertThat(refused.written()).isFalse();
    assertThat(s(refused.previous())).isEqualTo("two");
  }

  @Test
  void set_withoutReturnPrevious_previousIsNull() {
    store.put(b("k"), b("one"));

    assertThat(store.set(b("k"), b("two"), SetArgs.ALWAYS).previous()).isNull();
  }

  @Test
  void set_ifAbsentOnExpiredKey_writes() {
    store.set(b("k"), b("old"), SetArgs.expiringAt(now() + 10));
    clock.advanceMillis(10);
    SetArgs nx = new SetArgs(SetArgs.Condition.IF_ABSENT, Store.NO_EXPIRY, false, true);

    SetResult r = store.set(b("k"), b("new"), nx);

    assertThat(r.written()).isTrue();
    assertThat(r.previous()).isNull();
    assertThat(s(store.get(b("k")))).isEqualTo("new");
  }

  @Test
  void delete_presentKey_removesAndReturnsTrue() {
    store.put(b("k"), b("v"));

    assertThat(store.delete(b("k"))).isTrue();
    assertThat(store.delete(b("k"))).isFalse();
    assertThat(store.get(b("k"))).isNull();
  }

  @Test
  void getAndDelete_presentKey_returnsValueAndRemoves() {
    store.put(b("k"), b("v"));

    assertThat(s(store.getAndDelete(b("k")))).isEqualTo("v");
    assertThat(store.getAndDelete(b("k"))).isNull();
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void exists_and_strlen_reflectPresence() {
    assertThat(store.exists(b("k"))).isFalse();
    assertThat(store.strlen(b("k"))).isZero();
    store.put(b("k"), b("hello"));

    assertThat(store.exists(b("k"))).isTrue();
    assertThat(store.strlen(b("k"))).isEqualTo(5);
  }

  // ---- multi-key ----

  @Test
  void getAll_valuesPastMaxBytes_isNull_withinItTheValues() {
    store.put(b("a"), new byte[600]);
    store.put(b("b"), new byte[600]);

    assertThat(store.getAll(List.of(b("a"), b("b")), 1199)).as("1,200 bytes of values").isNull();
    assertThat(store.getAll(List.of(b("a"), b("b"), b("absent")), 1200)).hasSize(3);
  }

  @Test
  void getAll_mixedKeys_returnsSameOrderWithNulls() {
    store.put(b("a"), b("1"));
    store.put(b("c"), b("3"));

    List<byte[]> got = store.getAll(List.of(b("a"), b("b"), b("c"), b("a")));

    assertThat(got).hasSize(4);
    assertThat(s(got.get(0))).isEqualTo("1");
    assertThat(got.get(1)).isNull();
    assertThat(s(got.get(2))).isEqualTo("3");
    assertThat(s(got.get(3))).isEqualTo("1");
  }

  @Test
  void setAll_pairs_setsEveryPairWithTheExpiry() {
    long at = now() + 5_000;
    store.setAll(List.of(b("a"), b("b")), List.of(b("1"), b("2")), at);

    assertThat(s(store.get(b("a")))).isEqualTo("1");
    assertThat(s(store.get(b("b")))).isEqualTo("2");
    assertThat(store.expireTimeMillis(b("a"))).isEqualTo(at);
    assertThat(store.expireTimeMillis(b("b"))).isEqualTo(at);
  }

  @Test
  void setAll_noExpiry_clearsExistingTtl() {
    store.set(b("a"), b("old"), SetArgs.expiringAt(now() + 1_000));

    store.setAll(List.of(b("a")), List.of(b("new")), Store.NO_EXPIRY);

    assertThat(store.ttlMillis(b("a"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void setAll_repeatedKey_lastValueWins() {
    store.setAll(List.of(b("a"), b("a")), List.of(b("1"), b("2")), Store.NO_EXPIRY);

    assertThat(s(store.get(b("a")))).isEqualTo("2");
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void setAll_differentSizes_throwsIllegalArgument() {
    assertThatThrownBy(() -> store.setAll(List.of(b("a")), List.of(), Store.NO_EXPIRY))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void setAllIfAbsent_allAbsent_writesAll() {
    assertThat(store.setAllIfAbsent(List.of(b("a"), b("b")), List.of(b("1"), b("2")))).isTrue();

    assertThat(s(store.get(b("a")))).isEqualTo("1");
    assertThat(s(store.get(b("b")))).isEqualTo("2");
  }

  @Test
  void setAllIfAbsent_oneExists_writesNothing() {
    store.put(b("b"), b("old"));

    assertThat(store.setAllIfAbsent(List.of(b("a"), b("b")), List.of(b("1"), b("2")))).isFalse();

    assertThat(store.exists(b("a"))).isFalse();
    assertThat(s(store.get(b("b")))).isEqualTo("old");
  }

  @Test
  void setAllIfAbsent_expiredKeyCountsAsAbsent() {
    store.set(b("a"), b("old"), SetArgs.expiringAt(now() + 1));
    clock.advanceMillis(1);

    assertThat(store.setAllIfAbsent(List.of(b("a")), List.of(b("new")))).isTrue();
    assertThat(s(store.get(b("a")))).isEqualTo("new");
  }

  // ---- TTL ----

  @Test
  void expiry_exactBoundary_aliveBeforeGoneAt() {
    long at = now() + 1_000;
    store.set(b("k"), b("v"), SetArgs.expiringAt(at));

    clock.advanceMillis(999);
    assertThat(s(store.get(b("k")))).isEqualTo("v");
    assertThat(store.ttlMillis(b("k"))).isEqualTo(1);

    clock.advanceMillis(1);
    assertThat(store.get(b("k"))).isNull();
  }

  @Test
  void expiry_expiredEntry_absentToEveryMethod() {
    store.set(b("k"), b("value"), SetArgs.expiringAt(now() + 10));
    clock.advanceMillis(10);

    assertThat(store.exists(b("k"))).isFalse();
    assertThat(store.getEntry(b("k"))).isNull();
    assertThat(store.getAll(List.of(b("k")))).containsExactly((byte[]) null);
    assertThat(store.strlen(b("k"))).isZero();
    assertThat(store.getRange(b("k"), 0, -1)).isEmpty();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.KEY_MISSING);
    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(Store.KEY_MISSING);
    assertThat(store.persist(b("k"))).isFalse();
    assertThat(store.expireAt(b("k"), now() + 1_000, ExpireCondition.ALWAYS)).isFalse();
    assertThat(store.compareAndSet(b("k"), 1, b("x"), Store.NO_EXPIRY).outcome())
        .isEqualTo(CasResult.Outcome.NOT_FOUND);
    assertThat(store.getAndDelete(b("k"))).isNull();
    assertThat(store.delete(b("k"))).isFalse();
    assertThat(scanAll(store, 10)).isEmpty();
    assertThat(store.iterator().hasNext()).isFalse();
    assertThat(store.randomKey()).isNull();
  }

  @Test
  void expiry_expiredEntry_writesStartFromAbsent() {
    store.set(b("n"), b("41"), SetArgs.expiringAt(now() + 10));
    store.set(b("s"), b("abc"), SetArgs.expiringAt(now() + 10));
    clock.advanceMillis(10);

    assertThat(store.incrementBy(b("n"), 1)).isEqualTo(1);
    assertThat(store.append(b("s"), b("x"))).isEqualTo(1);
    assertThat(store.ttlMillis(b("n"))).isEqualTo(Store.NO_TTL);
    assertThat(store.ttlMillis(b("s"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void ttlMillis_states_missingNoTtlAndRemaining() {
    store.put(b("forever"), b("v"));
    store.set(b("short"), b("v"), SetArgs.expiringAt(now() + 2_500));

    assertThat(store.ttlMillis(b("absent"))).isEqualTo(Store.KEY_MISSING);
    assertThat(store.ttlMillis(b("forever"))).isEqualTo(Store.NO_TTL);
    assertThat(store.ttlMillis(b("short"))).isEqualTo(2_500);
    assertThat(store.expireTimeMillis(b("absent"))).isEqualTo(Store.KEY_MISSING);
    assertThat(store.expireTimeMillis(b("forever"))).isEqualTo(Store.NO_TTL);
    assertThat(store.expireTimeMillis(b("short"))).isEqualTo(now() + 2_500);
    assertThat(store.sizeWithExpiry()).isEqualTo(1);
  }

  @Test
  void set_plainSetOnKeyWithTtl_clearsTtl() {
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 1_000));

    store.set(b("k"), b("v2"), SetArgs.ALWAYS);

    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
    assertThat(store.sizeWithExpiry()).isZero();
  }

  @Test
  void set_keepTtl_keepsExistingExpiry() {
    long at = now() + 1_000;
    store.set(b("k"), b("v"), SetArgs.expiringAt(at));

    store.set(b("k"), b("v2"), new SetArgs(SetArgs.Condition.ALWAYS, now() + 99_999, true, false));

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(at);
    assertThat(s(store.get(b("k")))).isEqualTo("v2");
  }

  @Test
  void set_keepTtlOnAbsentKey_storesWithoutExpiry() {
    store.set(b("k"), b("v"), new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, true, false));

    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void set_expiryInThePast_keyIsAbsent() {
    store.put(b("k"), b("old"));

    assertThat(store.set(b("k"), b("v"), SetArgs.expiringAt(now() - 1)).written()).isTrue();

    assertThat(store.get(b("k"))).isNull();
  }

  @Test
  void persist_keyWithTtl_removesTtl() {
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 10));

    assertThat(store.persist(b("k"))).isTrue();
    clock.advanceMillis(100);

    assertThat(s(store.get(b("k")))).isEqualTo("v");
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void persist_keyWithoutTtlOrMissing_returnsFalse() {
    store.put(b("k"), b("v"));

    assertThat(store.persist(b("k"))).isFalse();
    assertThat(store.persist(b("missing"))).isFalse();
  }

  @Test
  void expireAt_always_setsExpiry() {
    store.put(b("k"), b("v"));

    assertThat(store.expireAt(b("k"), now() + 500, ExpireCondition.ALWAYS)).isTrue();

    assertThat(store.ttlMillis(b("k"))).isEqualTo(500);
    clock.advanceMillis(500);
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void expireAt_missingKey_returnsFalse() {
    assertThat(store.expireAt(b("k"), now() + 500, ExpireCondition.ALWAYS)).isFalse();
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void expireAt_timeAtOrBeforeNow_deletesAndReturnsTrue() {
    store.put(b("a"), b("v"));
    store.put(b("b"), b("v"));

    assertThat(store.expireAt(b("a"), now(), ExpireCondition.ALWAYS)).isTrue();
    assertThat(store.expireAt(b("b"), now() - 10_000, ExpireCondition.ALWAYS)).isTrue();

    assertThat(store.exists(b("a"))).isFalse();
    assertThat(store.exists(b("b"))).isFalse();
  }

  @Test
  void expireAt_nx_onlyWhenNoExpiry() {
    store.put(b("k"), b("v"));

    assertThat(store.expireAt(b("k"), now() + 100, ExpireCondition.NX)).isTrue();
    assertThat(store.expireAt(b("k"), now() + 200, ExpireCondition.NX)).isFalse();

    assertThat(store.ttlMillis(b("k"))).isEqualTo(100);
  }

  @Test
  void expireAt_xx_onlyWhenHasExpiry() {
    store.put(b("k"), b("v"));

    assertThat(store.expireAt(b("k"), now() + 100, ExpireCondition.XX)).isFalse();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
    store.expireAt(b("k"), now() + 100, ExpireCondition.ALWAYS);
    assertThat(store.expireAt(b("k"), now() + 200, ExpireCondition.XX)).isTrue();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(200);
  }

  @Test
  void expireAt_gt_onlyWhenLaterAndNeverOnPersistentKey() {
    store.put(b("forever"), b("v"));
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 100));

    assertThat(store.expireAt(b("forever"), now() + 100, ExpireCondition.GT)).isFalse();
    assertThat(store.ttlMillis(b("forever"))).isEqualTo(Store.NO_TTL);
    assertThat(store.expireAt(b("k"), now() + 100, ExpireCondition.GT)).isFalse();
    assertThat(store.expireAt(b("k"), now() + 50, ExpireCondition.GT)).isFalse();
    assertThat(store.expireAt(b("k"), now() + 101, ExpireCondition.GT)).isTrue();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(101);
  }

  @Test
  void expireAt_lt_onlyWhenEarlierAlwaysOnPersistentKey() {
    store.put(b("forever"), b("v"));
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 100));

    assertThat(store.expireAt(b("forever"), now() + 100, ExpireCondition.LT)).isTrue();
    assertThat(store.ttlMillis(b("forever"))).isEqualTo(100);
    assertThat(store.expireAt(b("k"), now() + 100, ExpireCondition.LT)).isFalse();
    assertThat(store.expireAt(b("k"), now() + 150, ExpireCondition.LT)).isFalse();
    assertThat(store.expireAt(b("k"), now() + 99, ExpireCondition.LT)).isTrue();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(99);
  }

  @Test
  void expireAt_pastTimeButConditionFails_keepsKey() {
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 100));

    assertThat(store.expireAt(b("k"), now() - 1, ExpireCondition.NX)).isFalse();
    assertThat(store.expireAt(b("k"), now() - 1, ExpireCondition.GT)).isFalse();

    assertThat(store.exists(b("k"))).isTrue();
  }

  @Test
  void expireAt_pastTimeWithLt_deletes() {
    store.put(b("k"), b("v"));

    assertThat(store.expireAt(b("k"), now() - 1, ExpireCondition.LT)).isTrue();

    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void modifyingWrites_keepTtl() {
    long at = now() + 1_000;
    store.set(b("n"), b("1"), SetArgs.expiringAt(at));
    store.set(b("f"), b("1.5"), SetArgs.expiringAt(at));
    store.set(b("s"), b("abc"), SetArgs.expiringAt(at));
    store.set(b("r"), b("abc"), SetArgs.expiringAt(at));

    store.incrementBy(b("n"), 1);
    store.incrementByFloat(b("f"), 1.0);
    store.append(b("s"), b("def"));
    store.setRange(b("r"), 1, b("X"));

    for (String k : List.of("n", "f", "s", "r")) {
      assertThat(store.expireTimeMillis(b(k))).as(k).isEqualTo(at);
    }
  }

  // ---- compare-and-set ----

  @Test
  void compareAndSet_matchingVersion_writesWithNewVersionAndExpiry() {
    long v1 = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();

    CasResult r = store.compareAndSet(b("k"), v1, b("two"), now() + 300);

    assertThat(r.outcome()).isEqualTo(CasResult.Outcome.WRITTEN);
    assertThat(r.version()).isNotEqualTo(v1);
    StoredEntry e = store.getEntry(b("k"));
    assertThat(s(e.value())).isEqualTo("two");
    assertThat(e.version()).isEqualTo(r.version());
    assertThat(e.expireAtMillis()).isEqualTo(now() + 300);
  }

  @Test
  void compareAndSet_staleVersion_returnsCurrentVersionAndKeepsValue() {
    long v1 = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();
    long v2 = store.set(b("k"), b("two"), SetArgs.ALWAYS).version();

    CasResult r = store.compareAndSet(b("k"), v1, b("three"), Store.NO_EXPIRY);

    assertThat(r).isEqualTo(new CasResult(CasResult.Outcome.VERSION_MISMATCH, v2));
    assertThat(s(store.get(b("k")))).isEqualTo("two");
  }

  @Test
  void compareAndSet_absentKey_notFoundWithVersionZero() {
    CasResult r = store.compareAndSet(b("k"), 0, b("v"), Store.NO_EXPIRY);

    assertThat(r).isEqualTo(new CasResult(CasResult.Outcome.NOT_FOUND, 0));
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void compareAndSet_noExpiry_clearsTtl() {
    long v = store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 100)).version();

    store.compareAndSet(b("k"), v, b("w"), Store.NO_EXPIRY);

    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void writes_everyKind_changeVersion() {
    Set<Long> versions = new HashSet<>();
    versions.add(store.set(b("k"), b("1"), SetArgs.ALWAYS).version());
    store.incrementBy(b("k"), 1);
    versions.add(store.getEntry(b("k")).version());
    store.append(b("k"), b("0"));
    versions.add(store.getEntry(b("k")).version());
    store.setRange(b("k"), 0, b("3"));
    versions.add(store.getEntry(b("k")).version());
    store.incrementByFloat(b("k"), 0.5);
    versions.add(store.getEntry(b("k")).version());

    assertThat(versions).hasSize(5);
  }

  // ---- increment ----

  @Test
  void incrementBy_absentKey_startsFromZero() {
    assertThat(store.incrementBy(b("n"), 5)).isEqualTo(5);
    assertThat(s(store.get(b("n")))).isEqualTo("5");
  }

  @Test
  void incrementBy_existing_addsAndStoresDecimalText() {
    store.put(b("n"), b("10"));

    assertThat(store.incrementBy(b("n"), -15)).isEqualTo(-5);
    assertThat(s(store.get(b("n")))).isEqualTo("-5");
  }

  @Test
  void incrementBy_toTheLimits_succeeds() {
    store.put(b("max"), b(Long.toString(Long.MAX_VALUE - 1)));
    store.put(b("min"), b(Long.toString(Long.MIN_VALUE)));

    assertThat(store.incrementBy(b("max"), 1)).isEqualTo(Long.MAX_VALUE);
    assertThat(store.incrementBy(b("min"), 0)).isEqualTo(Long.MIN_VALUE);
    assertThat(s(store.get(b("min")))).isEqualTo("-9223372036854775808");
  }

  @Test
  void incrementBy_pastLongMax_overflowAndValueUnchanged() {
    store.put(b("n"), b(Long.toString(Long.MAX_VALUE)));

    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementBy(b("n"), 1));
    assertThat(s(store.get(b("n")))).isEqualTo(Long.toString(Long.MAX_VALUE));
  }

  @Test
  void incrementBy_pastLongMin_overflow() {
    store.put(b("n"), b("-1"));

    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementBy(b("n"), Long.MIN_VALUE));
    store.put(b("m"), b(Long.toString(Long.MIN_VALUE)));
    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementBy(b("m"), -1));
  }

  @Test
  void incrementBy_absentWithLongMin_returnsLongMin() {
    assertThat(store.incrementBy(b("n"), Long.MIN_VALUE)).isEqualTo(Long.MIN_VALUE);
  }

  /** Redis' string2ll: only the text Long.toString would print counts as an integer. */
  @ParameterizedTest
  @ValueSource(strings = {"", " 1", "1 ", "01", "00", "+1", "-0", "-", "1.0", "1e3", "abc", "0x10", "９",
      "9223372036854775808", "-9223372036854775809", "99999999999999999999"})
  void incrementBy_nonCanonicalInteger_notANumber(String text) {
    store.put(b("n"), b(text));

    assertStoreError(StoreException.Reason.NOT_A_NUMBER, () -> store.incrementBy(b("n"), 1));
    assertThat(s(store.get(b("n")))).isEqualTo(text);
  }

  @ParameterizedTest
  @CsvSource({"0,1", "-1,0", "9,10", "-10,-9", "9223372036854775806,9223372036854775807"})
  void incrementBy_canonicalInteger_parses(String text, long expected) {
    store.put(b("n"), b(text));

    assertThat(store.incrementBy(b("n"), 1)).isEqualTo(expected);
  }

  @Test
  void incrementBy_binaryValue_notANumber() {
    store.put(b("n"), new byte[] {'1', 0});

    assertStoreError(StoreException.Reason.NOT_A_NUMBER, () -> store.incrementBy(b("n"), 1));
  }

  // ---- increment by float ----

  @ParameterizedTest
  @CsvSource({
      "10.50, 0.1, 10.6",
      "10.6, -5, 5.6",
      "5.0e3, 200, 5200",
      "1, -1.1, -0.1",
      "0.1, 0.2, 0.3",
      "1, 2, 3",
      "3.0, 0, 3",
      "0, -0.0, 0",
      "1.5, -1.5, 0",
      "-7, 0.25, -6.75",
      "1e20, 0, 100000000000000000000",
      "0, 1e-17, 0.00000000000000001",
      "0, 1e-20, 0",
      "+.5, 0, 0.5",
      "5., 0, 5",
      "1E+2, 0, 100",
      "10, 0.3333333333333333, 10.333333333333333",
  })
  void incrementByFloat_values_redisFormatting(String start, double delta, String expected) {
    store.put(b("f"), b(start));

    assertThat(s(store.incrementByFloat(b("f"), delta))).isEqualTo(expected);
    assertThat(s(store.get(b("f")))).isEqualTo(expected);
  }

  @Test
  void incrementByFloat_absentKey_startsFromZero() {
    assertThat(s(store.incrementByFloat(b("f"), 2.5))).isEqualTo("2.5");
    assertThat(s(store.incrementByFloat(b("g"), -3))).isEqualTo("-3");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "abc", " 1", "1 ", "nan", "NaN", "1e", ".", "-", "1.2.3", "0x1p3", "1e400", "1,5"})
  void incrementByFloat_notAFloat_notANumberAndUnchanged(String text) {
    store.put(b("f"), b(text));

    assertStoreError(StoreException.Reason.NOT_A_NUMBER, () -> store.incrementByFloat(b("f"), 1));
    assertThat(s(store.get(b("f")))).isEqualTo(text);
  }

  @Test
  void incrementByFloat_nanOrInfiniteDelta_overflow() {
    store.put(b("f"), b("1"));

    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementByFloat(b("f"), Double.NaN));
    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementByFloat(b("f"), Double.POSITIVE_INFINITY));
    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementByFloat(b("f"), Double.NEGATIVE_INFINITY));
    assertThat(s(store.get(b("f")))).isEqualTo("1");
  }

  @Test
  void incrementByFloat_resultBeyondDoubleRange_overflow() {
    store.put(b("f"), b("1.7e308"));

    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementByFloat(b("f"), 1.7e308));
  }

  @Test
  void incrementByFloat_storedInfinity_overflow() {
    store.put(b("f"), b("inf"));

    assertStoreError(StoreException.Reason.OVERFLOW, () -> store.incrementByFloat(b("f"), 1));
  }

  @Test
  void incrementByFloat_thenIncrementBy_integerResultIsAnInteger() {
    store.put(b("f"), b("1.5"));
    store.incrementByFloat(b("f"), 1.5);

    assertThat(store.incrementBy(b("f"), 1)).isEqualTo(4);
  }

  // ---- append ----

  @Test
  void append_absentKey_createsIt() {
    assertThat(store.append(b("k"), b("abc"))).isEqualTo(3);
    assertThat(s(store.get(b("k")))).isEqualTo("abc");
  }

  @Test
  void append_absentKeyEmptySuffix_createsEmptyValue() {
    assertThat(store.append(b("k"), new byte[0])).isZero();
    assertThat(store.exists(b("k"))).isTrue();
  }

  @Test
  void append_existing_concatenates() {
    store.put(b("k"), new byte[] {1, 0});

    assertThat(store.append(b("k"), new byte[] {0, (byte) 0xFF})).isEqualTo(4);
    assertThat(store.get(b("k"))).containsExactly(1, 0, 0, 0xFF);
  }

  @Test
  void append_pastValueLimit_tooLargeAndUnchanged() {
    Store small = open(MEMORY, 10, EvictionPolicy.ALLKEYS_LRU);
    small.put(b("k"), b("12345"));

    assertThat(small.append(b("k"), b("67890"))).isEqualTo(10);
    assertStoreError(StoreException.Reason.TOO_LARGE, () -> small.append(b("k"), b("x")));
    assertThat(small.strlen(b("k"))).isEqualTo(10);
  }

  // ---- getRange / setRange ----

  @ParameterizedTest
  @CsvSource({
      "0, 3, This",
      "-3, -1, ing",
      "0, -1, This is a string",
      "10, 100, string",
      "5, 3, ''",
      "-1, -5, ''",
      "0, -100, T",
      "-100, 3, This",
      "16, 20, ''",
      "15, 15, g",
      "-9223372036854775808, 9223372036854775807, This is a string",
  })
  void getRange_offsets_redisSemantics(long start, long end, String expected) {
    store.put(b("k"), b("This is a string"));

    assertThat(s(store.getRange(b("k"), start, end))).isEqualTo(expected);
  }

  @Test
  void getRange_absentOrEmpty_returnsEmpty() {
    store.put(b("e"), new byte[0]);

    assertThat(store.getRange(b("absent"), 0, -1)).isEmpty();
    assertThat(store.getRange(b("e"), 0, -1)).isEmpty();
    assertThat(store.getRange(b("e"), -1, 0)).isEmpty();
  }

  @Test
  void setRange_insideValue_overwrites() {
    store.put(b("k"), b("Hello World"));

    assertThat(store.setRange(b("k"), 6, b("Redis"))).isEqualTo(11);
    assertThat(s(store.get(b("k")))).isEqualTo("Hello Redis");
  }

  @Test
  void setRange_pastEnd_zeroPadsAndGrows() {
    store.put(b("k"), b("ab"));

    assertThat(store.setRange(b("k"), 4, b("cd"))).isEqualTo(6);
    assertThat(store.get(b("k"))).containsExactly('a', 'b', 0, 0, 'c', 'd');
  }

  @Test
  void setRange_absentKey_createsZeroPadded() {
    assertThat(store.setRange(b("k"), 3, b("x"))).isEqualTo(4);
    assertThat(store.get(b("k"))).containsExactly(0, 0, 0, 'x');
  }

  @Test
  void setRange_emptyValue_writesNothing() {
    store.put(b("k"), b("abc"));
    long version = store.getEntry(b("k")).version();

    assertThat(store.setRange(b("absent"), 100, new byte[0])).isZero();
    assertThat(store.exists(b("absent"))).isFalse();
    assertThat(store.setRange(b("k"), 100, new byte[0])).isEqualTo(3);
    assertThat(store.getEntry(b("k")).version()).isEqualTo(version);
  }

  @Test
  void setRange_pastValueLimit_tooLarge() {
    Store small = open(MEMORY, 10, EvictionPolicy.ALLKEYS_LRU);

    assertThat(small.setRange(b("k"), 9, b("x"))).isEqualTo(10);
    assertStoreError(StoreException.Reason.TOO_LARGE, () -> small.setRange(b("k"), 9, b("xy")));
    assertStoreError(StoreException.Reason.TOO_LARGE, () -> small.setRange(b("k"), Long.MAX_VALUE, b("x")));
    assertThat(small.strlen(b("k"))).isEqualTo(10);
  }

  @Test
  void setRange_negativeOffset_illegalArgument() {
    assertThatThrownBy(() -> store.setRange(b("k"), -1, b("x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-1");
  }

  // ---- scan, iterator, randomKey ----

  protected static List<byte[]> scanAll(Store s, int count) {
    List<byte[]> keys = new ArrayList<>();
    long cursor = 0;
    int steps = 0;
    do {
      ScanResult r = s.scan(cursor, count);
      keys.addAll(r.keys());
      cursor = r.nextCursor();
      assertThat(++steps).as("scan steps").isLessThan(1_000_000);
    } while (cursor != 0);
    return keys;
  }

  private static Set<String> names(List<byte[]> keys) {
    Set<String> out = new HashSet<>();
    keys.forEach(k -> out.add(s(k)));
    return out;
  }

  @Test
  void scan_emptyStore_doneAtOnce() {
    ScanResult r = store.scan(0, 10);

    assertThat(r.nextCursor()).isZero();
    assertThat(r.keys()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 100, 10_000})
  void scan_fullLoop_returnsEveryKey(int count) {
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      store.put(b("key-" + i), b("v"));
      expected.add("key-" + i);
    }

    assertThat(names(scanAll(store, count))).isEqualTo(expected);
  }

  @Test
  void scan_keysRemovedAndAddedMeanwhile_everySteadyKeyReturned() {
    Set<String> steady = new HashSet<>();
    for (int i = 0; i < 1_000; i++) {
      store.put(b("steady-" + i), b("v"));
      steady.add("steady-" + i);
      store.put(b("gone-" + i), b("v"));
    }
    Set<String> seen = new HashSet<>();
    long cursor = 0;
    int step = 0;
    do {
      ScanResult r = store.scan(cursor, 25);
      seen.addAll(names(r.keys()));
      cursor = r.nextCursor();
      store.delete(b("gone-" + step));
      store.put(b("new-" + step), b("v"));
      step++;
    } while (cursor != 0);

    assertThat(seen).containsAll(steady);
  }

  /** Every key of the chosen slots, exactly, whatever the count; large values and hash tags too. */
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 100, 10_000})
  void scanSlots_fullLoop_returnsExactlyTheKeysOfThoseSlots(int count) {
    long[] slots = new long[KeySlot.SLOTS / 64];
    Set<String> expected = new HashSet<>();
    Set<String> everything = new HashSet<>();
    byte[] large = new byte[70_000]; // kept in a buffer of its own, key included
    for (int i = 0; i < 3_000; i++) {
      String k = i % 3 == 0 ? "{tag" + (i % 40) + "}:" + i : "key-" + i;
      store.put(b(k), i % 500 == 0 ? large : b("v"));
      everything.add(k);
      int slot = KeySlot.of(b(k));
      if (i % 4 == 0) {
        slots[slot >>> 6] |= 1L << slot; // the slots of about a quarter of the keys
      }
    }
    for (String k : everything) {
      int slot = KeySlot.of(b(k));
      if ((slots[slot >>> 6] & (1L << slot)) != 0) {
        expected.add(k);
      }
    }

    List<byte[]> found = new ArrayList<>();
    long cursor = 0;
    int steps = 0;
    do {
      ScanResult r = store.scanSlots(cursor, count, slots);
      found.addAll(r.keys());
      cursor = r.nextCursor();
      assertThat(++steps).as("scan steps").isLessThan(1_000_000);
    } while (cursor != 0);

    assertThat(found).hasSameSizeAs(expected);
    assertThat(names(found)).isEqualTo(expected).hasSizeLessThan(everything.size());
  }

  /** A step returns about count keys, as scan does: a copy sends a page per step before it checks its window. */
  @Test
  void scanSlots_aStepReturnsAboutCountKeys() {
    for (int i = 0; i < 20_000; i++) {
      store.put(b("key-" + i), b("v"));
    }
    long[] all = new long[KeySlot.SLOTS / 64];
    Arrays.fill(all, -1L);
    int most = 0;
    int total = 0;
    long cursor = 0;
    do {
      ScanResult r = store.scanSlots(cursor, 100, all);
      most = Math.max(most, r.keys().size());
      total += r.keys().size();
      cursor = r.nextCursor();
    } while (cursor != 0);

    assertThat(total).isEqualTo(20_000);
    assertThat(most).as("keys in one step of count 100").isBetween(1, 150);
  }

  @Test
  void scanSlots_noKeyInThoseSlots_endsWithNothing() {
    for (int i = 0; i < 2_000; i++) {
      store.put(b("key-" + i), b("v"));
    }
    long[] slots = new long[KeySlot.SLOTS / 64];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      slots[s >>> 6] |= 1L << s;
    }
    for (int i = 0; i < 2_000; i++) {
      int s = KeySlot.of(b("key-" + i));
      slots[s >>> 6] &= ~(1L << s);
    }

    List<byte[]> found = new ArrayList<>();
    long cursor = 0;
    int steps = 0;
    do {
      ScanResult r = store.scanSlots(cursor, 10, slots);
      found.addAll(r.keys());
      cursor = r.nextCursor();
      assertThat(++steps).as("scan steps").isLessThan(1_000_000);
    } while (cursor != 0);

    assertThat(found).isEmpty();
  }

  /** Each slot's count follows new keys, overwrites (no new key), deletes and a flush; large values and hash tags too. */
  @Test
  void keysInSlot_followsWritesDeletesAndFlush() {
    Map<Integer, Integer> expected = new HashMap<>();
    byte[] large = new byte[70_000]; // kept in a buffer of its own, key included
    for (int i = 0; i < 3_000; i++) {
      String k = i % 3 == 0 ? "{tag" + (i % 40) + "}:" + i : "key-" + i;
      store.put(b(k), i % 500 == 0 ? large : b("v"));
      store.put(b(k), i % 700 == 0 ? large : b("again"));
      if (i % 5 == 0) {
        assertThat(store.delete(b(k))).isTrue();
      } else {
        expected.merge(KeySlot.of(b(k)), 1, Integer::sum);
      }
    }
    java.util.Set<Integer> checked = new java.util.TreeSet<>(expected.keySet());
    for (int s = 0; s < 200; s++) {
      checked.add(s * 81); // and slots with no key, most of them
    }

    for (int s : checked) {
      assertThat(store.keysInSlot(s)).as("keys in slot %d", s).isEqualTo((long) expected.getOrDefault(s, 0));
    }
    // Several slots at once (DBSIZE of the slots a node owns): every other slot of those checked.
    long[] some = new long[KeySlot.SLOTS / 64];
    long inSome = 0;
    int i = 0;
    for (int s : checked) {
      if (i++ % 2 == 0) {
        some[s >>> 6] |= 1L << s;
        inSome += expected.getOrDefault(s, 0);
      }
    }
    assertThat(inSome).isPositive();
    assertThat(store.keysInSlots(some)).isEqualTo(inSome);
    store.flush();
    for (int s : checked) {
      assertThat(store.keysInSlot(s)).as("keys in slot %d after a flush", s).isZero();
    }
  }

  @Test
  void keysInSlot_outsideTheSlots_namesIt() {
    assertThatThrownBy(() -> store.keysInSlot(KeySlot.SLOTS)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slot 16384 is outside 0..16383");
    assertThatThrownBy(() -> store.keysInSlot(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slot -1 is outside 0..16383");
  }

  @Test
  void scanSlots_slotSetOfTheWrongSize_namesIt() {
    assertThatThrownBy(() -> store.scanSlots(0, 10, new long[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slot set of 3 words; a bit per slot takes 256");
  }

  @Test
  void iterator_liveEntries_withValuesAndExpiry() {
    store.put(b("a"), b("1"));
    store.set(b("b"), b("2"), SetArgs.expiringAt(now() + 100));
    store.set(b("dead"), b("3"), SetArgs.expiringAt(now() + 1));
    clock.advanceMillis(1);

    List<KeyValue> all = new ArrayList<>();
    Iterator<KeyValue> it = store.iterator();
    it.forEachRemaining(all::add);

    assertThat(all).hasSize(2);
    KeyValue a = all.stream().filter(kv -> s(kv.key()).equals("a")).findFirst().orElseThrow();
    KeyValue bb = all.stream().filter(kv -> s(kv.key()).equals("b")).findFirst().orElseThrow();
    assertThat(s(a.value())).isEqualTo("1");
    assertThat(a.expireAtMillis()).isEqualTo(Store.NO_EXPIRY);
    assertThat(s(bb.value())).isEqualTo("2");
    assertThat(bb.expireAtMillis()).isEqualTo(now() + 99);
  }

  @Test
  void randomKey_states_nullOneOrAnyLive() {
    assertThat(store.randomKey()).isNull();
    store.put(b("only"), b("v"));
    assertThat(s(store.randomKey())).isEqualTo("only");

    for (int i = 0; i < 50; i++) {
      store.put(b("k" + i), b("v"));
    }
    Set<String> all = names(scanAll(store, 100));
    for (int i = 0; i < 20; i++) {
      assertThat(all).contains(s(store.randomKey()));
    }
  }

  @Test
  void randomKey_allExpired_returnsNull() {
    for (int i = 0; i < 20; i++) {
      store.set(b("k" + i), b("v"), SetArgs.expiringAt(now() + 5));
    }
    clock.advanceMillis(5);

    assertThat(store.randomKey()).isNull();
  }

  // ---- whole store ----

  @Test
  void flush_everything_removed() {
    for (int i = 0; i < 100; i++) {
      store.set(b("k" + i), b("v"), i % 2 == 0 ? SetArgs.ALWAYS : SetArgs.expiringAt(now() + 1_000));
    }

    store.flush();

    assertThat(store.size()).isZero();
    assertThat(store.sizeWithExpiry()).isZero();
    assertThat(store.get(b("k1"))).isNull();
    assertThat(store.stats().bytesUsed()).isZero();
    assertThat(scanAll(store, 10)).isEmpty();
  }

  @Test
  void size_countsEntries() {
    store.put(b("a"), b("1"));
    store.put(b("b"), b("1"));
    store.put(b("a"), b("2"));
    store.delete(b("b"));

    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void stats_hitsAndMisses_countOnlyLookups() {
    store.put(b("a"), b("1"));
    store.get(b("a"));
    store.get(b("x"));
    store.getEntry(b("a"));
    store.getEntry(b("x"));
    store.getAll(List.of(b("a"), b("x"), b("y")));
    store.exists(b("a"));
    store.strlen(b("x"));
    store.ttlMillis(b("x"));

    StoreStats st = store.stats();
    assertThat(st.hits()).isEqualTo(3);
    assertThat(st.misses()).isEqualTo(4);
    assertThat(st.entries()).isEqualTo(1);
    assertThat(st.bytesUsed()).isPositive();
    assertThat(st.bytesMax()).isEqualTo(MEMORY);
  }

  @Test
  void stats_expiredEntryFound_countsExpired() {
    store.set(b("a"), b("1"), SetArgs.expiringAt(now() + 1));
    clock.advanceMillis(1);

    assertThat(store.get(b("a"))).isNull();

    assertThat(store.stats().expired()).isEqualTo(1);
    assertThat(store.stats().misses()).isEqualTo(1);
  }

  @Test
  void stats_bytesUsed_growsAndShrinksWithEntries() {
    long empty = store.stats().bytesUsed();
    store.put(b("k"), new byte[1_000]);
    long one = store.stats().bytesUsed();

    assertThat(one - empty).isGreaterThanOrEqualTo(1_001);
    store.delete(b("k"));
    assertThat(store.stats().bytesUsed()).isEqualTo(empty);
  }

  @Test
  void config_returnsTheGivenConfig() {
    StoreConfig config = new StoreConfig(MEMORY, 4_096, EvictionPolicy.NOEVICTION, clock);
    Store s = create(config);
    opened.add(s);

    assertThat(s.config()).isEqualTo(config);
  }

  // ---- limits ----

  @Test
  void key_atLimit_accepted() {
    byte[] key = new byte[StoreConfig.MAX_KEY_BYTES];
    Arrays.fill(key, (byte) 'k');

    store.put(key, b("v"));

    assertThat(s(store.get(key))).isEqualTo("v");
  }

  @Test
  void key_overLimit_tooLargeEverywhereNamingLengthAndLimit() {
    byte[] key = new byte[StoreConfig.MAX_KEY_BYTES + 1];

    List<ThrowingCallable> calls = List.of(
        () -> store.put(key, b("v")),
        () -> store.get(key),
        () -> store.getEntry(key),
        () -> store.exists(key),
        () -> store.delete(key),
        () -> store.incrementBy(key, 1),
        () -> store.append(key, b("v")),
        () -> store.expireAt(key, now() + 10, ExpireCondition.ALWAYS),
        () -> store.getAll(List.of(b("ok"), key)),
        () -> store.setAll(List.of(key), List.of(b("v")), Store.NO_EXPIRY));
    for (ThrowingCallable call : calls) {
      assertThatThrownBy(call)
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("65537")
          .hasMessageContaining("65536")
          .satisfies(e -> assertThat(((StoreException) e).reason()).isEqualTo(StoreException.Reason.TOO_LARGE));
    }
    assertThat(store.size()).isZero();
  }

  @Test
  void value_atLimit_acceptedAndOverLimit_tooLarge() {
    Store small = open(MEMORY, 100, EvictionPolicy.ALLKEYS_LRU);

    small.put(b("k"), new byte[100]);
    assertThat(small.strlen(b("k"))).isEqualTo(100);
    assertThatThrownBy(() -> small.put(b("k2"), new byte[101]))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("101")
        .hasMessageContaining("100");
    assertStoreError(StoreException.Reason.TOO_LARGE,
        () -> small.compareAndSet(b("k"), 1, new byte[101], Store.NO_EXPIRY));
    assertStoreError(StoreException.Reason.TOO_LARGE,
        () -> small.setAll(List.of(b("a"), b("b")), List.of(b("1"), new byte[101]), Store.NO_EXPIRY));
    assertThat(small.exists(b("a"))).isFalse();
    assertThat(small.exists(b("k2"))).isFalse();
  }

  // ---- memory bound ----

  @Test
  void lru_floodFarBeyondBound_bytesStayBoundedAndEvictionsCounted() {
    long bound = 512 * 1024;
    Store s = open(bound, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    byte[] value = new byte[200];
    long oneEntry = 0;

    for (int i = 0; i < 20_000; i++) {
      byte[] key = b("flood-" + i);
      s.put(key, value);
      oneEntry = Math.max(oneEntry, key.length + value.length + 256);
      assertThat(s.stats().bytesUsed()).isLessThanOrEqualTo(bound + oneEntry);
    }

    StoreStats st = s.stats();
    assertThat(st.evicted()).isPositive();
    assertThat(st.entries()).isLessThan(20_000).isPositive();
    assertThat(s(s.get(b("flood-19999")))).isNotNull();
  }

  @Test
  void lru_recentlyReadKeys_surviveFlood() {
    Store s = open(1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    List<byte[]> hot = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      hot.add(b("hot-" + i));
      s.put(hot.get(i), new byte[100]);
    }

    for (int i = 0; i < 40_000; i++) {
      s.put(b("cold-" + i), new byte[200]);
      if (i % 50 == 0) {
        hot.forEach(s::get);
      }
    }

    assertThat(s.stats().evicted()).isPositive();
    for (byte[] k : hot) {
      assertThat(s.exists(k)).as(s(k)).isTrue();
    }
  }

  @Test
  void lru_entryLargerThanBound_outOfMemory() {
    Store s = open(4 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU);
    s.put(b("small"), b("v"));

    assertStoreError(StoreException.Reason.OUT_OF_MEMORY, () -> s.put(b("huge"), new byte[8 * 1024]));
    assertThat(s.exists(b("huge"))).isFalse();
  }

  @Test
  void noEviction_full_writesFailReadsAndDeletesWork() {
    Store s = open(64 * 1024, MAX_VALUE, EvictionPolicy.NOEVICTION);
    int written = 0;
    StoreException oom = null;
    while (oom == null) {
      try {
        s.put(b("k" + written), new byte[500]);
        written++;
      } catch (StoreException e) {
        oom = e;
      }
      assertThat(written).as("writes before OOM").isLessThan(1_000);
    }
    assertThat(oom.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
    assertThat(written).isPositive();

    assertThat(s.get(b("k0"))).hasSize(500);
    assertThat(s.stats().evicted()).isZero();
    assertThat(s.size()).isEqualTo(written);
    // A longer key than any written, so it cannot squeeze into the space the last write lacked.
    assertStoreError(StoreException.Reason.OUT_OF_MEMORY, () -> s.put(b("new-key-x"), new byte[500]));
    assertStoreError(StoreException.Reason.OUT_OF_MEMORY, () -> s.append(b("k1"), new byte[1_000]));
    assertStoreError(StoreException.Reason.OUT_OF_MEMORY,
        () -> s.setAll(List.of(b("x"), b("y")), List.of(new byte[500], new byte[500]), Store.NO_EXPIRY));
    assertThat(s.exists(b("x"))).isFalse();

    assertThat(s.delete(b("k0"))).isTrue();
    assertThat(s.delete(b("k1"))).isTrue();
    s.put(b("new-key-x"), new byte[500]);
    assertThat(s.exists(b("new-key-x"))).isTrue();
  }

  // ---- concurrency ----

  @Test
  void incrementBy_manyThreads_noLostUpdates() throws Exception {
    int threads = 4;
    int perThread = 2_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < perThread; i++) {
            store.incrementBy(b("counter"), 1);
            store.append(b("log"), new byte[] {1});
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(s(store.get(b("counter")))).isEqualTo(Integer.toString(threads * perThread));
    assertThat(store.strlen(b("log"))).isEqualTo(threads * perThread);
  }

  // ---- types ----

  @Test
  void typedEntry_roundTripsWholeAndKeepsItsTypeThroughExpiryChanges() {
    byte[] payload = {1, 2, 3};
    store.putTyped(b("h"), io.distcache.protocol.ValueType.HASH, payload, 0);
    TypedEntry e = store.getTyped(b("h"));
    assertThat(e.type()).isEqualTo(io.distcache.protocol.ValueType.HASH);
    assertThat(e.value()).containsExactly(1, 2, 3);
    assertThat(store.typeOf(b("h"))).isEqualTo(io.distcache.protocol.ValueType.HASH);
    long later = clock.millis() + 10_000;
    assertThat(store.expireAt(b("h"), later, ExpireCondition.ALWAYS)).isTrue();
    assertThat(store.persist(b("h"))).isTrue();
    assertThat(store.expireAt(b("h"), later, ExpireCondition.ALWAYS)).isTrue();
    TypedEntry after = store.getTyped(b("h"));
    assertThat(after.type()).as("an expiry change keeps the type").isEqualTo(io.distcache.protocol.ValueType.HASH);
    assertThat(after.expireAtMillis()).isEqualTo(later);
    assertThat(after.value()).containsExactly(1, 2, 3);
    store.put(b("s"), b("v"));
    assertThat(store.getTyped(b("s")).type()).isEqualTo(io.distcache.protocol.ValueType.STRING);
    assertThat(store.typeOf(b("nokey"))).isNull();
    assertThat(store.getTyped(b("nokey"))).isNull();
  }

  @Test
  void stringMethods_refuseACollection_keyMethodsTakeIt() {
    store.putTyped(b("h"), io.distcache.protocol.ValueType.SET, new byte[] {0}, 0);
    List<ThrowingCallable> refused = List.of(
        () -> store.get(b("h")), () -> store.getEntry(b("h")), () -> store.strlen(b("h")),
        () -> store.getRange(b("h"), 0, 1), () -> store.getAndDelete(b("h")),
        () -> store.compareAndSet(b("h"), 1, b("x"), 0), () -> store.incrementBy(b("h"), 1),
        () -> store.incrementByFloat(b("h"), 1), () -> store.append(b("h"), b("x")),
        () -> store.setRange(b("h"), 0, b("x")),
        () -> store.set(b("h"), b("x"), new SetArgs(SetArgs.Condition.ALWAYS, 0, false, true)));
    for (ThrowingCallable c : refused) {
      assertThatThrownBy(c).isInstanceOf(StoreException.class)
          .satisfies(t -> assertThat(((StoreException) t).reason()).isEqualTo(StoreException.Reason.WRONG_TYPE));
    }
    assertThat(store.getTyped(b("h")).type()).as("untouched").isEqualTo(io.distcache.protocol.ValueType.SET);
    assertThat(store.getAll(List.of(b("h")))).containsExactly((byte[]) null);
    assertThat(store.exists(b("h"))).isTrue();
    store.put(b("h"), b("plain"));
    assertThat(s(store.get(b("h")))).as("a plain set replaces any type").isEqualTo("plain");
    store.putTyped(b("h"), io.distcache.protocol.ValueType.HASH, new byte[] {0}, 0);
    assertThat(store.delete(b("h"))).isTrue();
  }

  @Test
  void putTyped_withAPastExpiry_removesTheKey() {
    store.put(b("k"), b("v"));
    store.putTyped(b("k"), io.distcache.protocol.ValueType.HASH, new byte[] {0}, clock.millis());
    assertThat(store.exists(b("k"))).isFalse();
  }
}
