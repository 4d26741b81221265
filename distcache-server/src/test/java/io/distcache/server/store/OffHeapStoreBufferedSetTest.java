package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.BufferedValue;
import io.distcache.server.ManualClock;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SET of a value held in a Netty buffer (BufferedValue: a large RESP SET's bulk) copied straight
 * into the store's page or large buffer, and the reuse of dead large entries' buffers
 * (LargeBufferPool): the bytes stored are the ones given, at every entry size; the limits refuse
 * with nothing stored or held; the store never releases the caller's buffer; pooled memory is
 * counted and never costs a write its room.
 */
class OffHeapStoreBufferedSetTest {
  private static final int MAX_VALUE = 1 << 20;
  private final ManualClock clock = new ManualClock();
  private final List<OffHeapStore> stores = new ArrayList<>();
  private final List<ByteBuf> buffers = new ArrayList<>();

  @AfterEach
  void validateAndClose() {
    for (OffHeapStore s : stores) {
      assertThat(s.validate()).isNull();
      s.close();
    }
    buffers.forEach(b -> assertThat(b.release()).as("still held by the caller, once").isTrue());
  }

  private OffHeapStore store(long maxMemory, EvictionPolicy policy) {
    OffHeapStore s = new OffHeapStore(new StoreConfig(maxMemory, MAX_VALUE, policy, clock));
    stores.add(s);
    return s;
  }

  private static byte[] value(int length, int seed) {
    return StoreTestValues.value(length, seed);
  }

  private static byte[] b(String s) {
    return StoreTestValues.b(s);
  }

  private BufferedValue buffered(byte[] v) {
    return StoreTestValues.buffered(v, buffers);
  }

  @Test
  void set_valuesAroundTheInlineLargeBoundary_readBackExactly() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    int header = EntryCodec.headerSize(false, true);
    int limit = s.pageSize() / 4;
    int atLimit = 0;
    while (EntryCodec.inlineSize(header, key, atLimit + 1) <= limit) {
      atLimit++;
    }
    for (int length : new int[] {atLimit - 1, atLimit, atLimit + 1, atLimit + 2, 3 * s.pageSize()}) {
      byte[] v = value(length, length);
      assertThat(s.set(key, buffered(v), SetArgs.ALWAYS).written()).isTrue();
      assertThat(s.get(key)).as("length %d", length).isEqualTo(v);
      assertThat(s.strlen(key)).isEqualTo(length);
    }
    // the same length from an array takes the same room (the pooled dead buffers aside)
    long used = s.stats().bytesUsed() - s.pooledLargeBytes();
    s.set(key, value(3 * s.pageSize(), 1), SetArgs.ALWAYS);
    assertThat(s.stats().bytesUsed() - s.pooledLargeBytes()).isEqualTo(used);
  }

  @Test
  void set_withOptions_keepsItsConditionsAndExpiry() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] v = value(200_000, 2);
    SetArgs ifAbsentWithExpiry = new SetArgs(SetArgs.Condition.IF_ABSENT, clock.millis() + 60_000, false, false);

    assertThat(s.set(b("k"), buffered(v), ifAbsentWithExpiry).written()).isTrue();
    assertThat(s.set(b("k"), buffered(value(200_000, 3)), ifAbsentWithExpiry).written()).isFalse();
    SetResult replaced = s.set(b("k"), buffered(value(100_000, 4)),
        new SetArgs(SetArgs.Condition.IF_PRESENT, Store.NO_EXPIRY, true, true));

    assertThat(replaced.written()).isTrue();
    assertThat(replaced.previous()).isEqualTo(v);
    assertThat(s.get(b("k"))).isEqualTo(value(100_000, 4));
    assertThat(s.ttlMillis(b("k"))).isEqualTo(60_000);
  }

  @Test
  void set_exactlyTheMaxValue_isStored_andOneByteOver_isRefusedWithNothingStoredOrHeld() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] max = value(MAX_VALUE, 5);
    s.set(b("max"), buffered(max), SetArgs.ALWAYS);
    long used = s.stats().bytesUsed();
    BufferedValue over = buffered(value(MAX_VALUE + 1, 6));

    assertThatThrownBy(() -> s.set(b("over"), over, SetArgs.ALWAYS))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.TOO_LARGE))
        .hasMessageContaining(String.valueOf(MAX_VALUE + 1)).hasMessageContaining(String.valueOf(MAX_VALUE));

    assertThat(s.get(b("max"))).isEqualTo(max);
    assertThat(s.exists(b("over"))).isFalse();
    assertThat(s.stats().bytesUsed()).isEqualTo(used);
    assertThat(over.held()).isTrue();
  }

  @Test
  void set_refusedForMemory_underNoeviction_storesNothing_andTakesNothingFromTheBudget() {
    OffHeapStore s = store(8L << 20, EvictionPolicy.NOEVICTION);
    int stored = 0;
    StoreException refused = null;
    while (refused == null) {
      try {
        s.set(b("k" + stored), buffered(value(700_000, stored)), SetArgs.ALWAYS);
        stored++;
      } catch (StoreException e) {
        refused = e;
      }
    }
    long used = s.stats().bytesUsed();
    BufferedValue again = buffered(value(700_000, 99));
    byte[] refusedKey = b("k" + stored); // the refused key again: its segment's index has grown already

    assertThatThrownBy(() -> s.set(refusedKey, again, SetArgs.ALWAYS)).isInstanceOf(StoreException.class);

    assertThat(refused.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
    assertThat(stored).isPositive();
    assertThat(s.size()).isEqualTo(stored);
    assertThat(s.stats().bytesUsed()).isEqualTo(used);
    assertThat(s.exists(refusedKey)).isFalse();
    assertThat(again.held()).isTrue();
  }

  @Test
  void overwritesOfALargeValue_reuseTheFreedBuffer_soTheMemoryUsedStaysPut() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    s.set(b("k"), buffered(value(500_000, 0)), SetArgs.ALWAYS);
    s.set(b("k"), buffered(value(500_000, 1)), SetArgs.ALWAYS);
    long used = s.stats().bytesUsed();
    long pooled = s.pooledLargeBytes();

    for (int i = 2; i < 20; i++) {
      s.set(b("k"), buffered(value(500_000, i)), SetArgs.ALWAYS);
      assertThat(s.get(b("k"))).isEqualTo(value(500_000, i));
    }

    assertThat(pooled).isBetween(500_000L, 510_000L); // the first buffer, waiting for the next write
    assertThat(s.pooledLargeBytes()).isEqualTo(pooled);
    assertThat(s.stats().bytesUsed()).isEqualTo(used);
  }

  @Test
  void pooledBuffers_areGivenUpBeforeAWriteIsRefused_soTheyCostNoRoom() {
    OffHeapStore fresh = store(16L << 20, EvictionPolicy.NOEVICTION);
    OffHeapStore reused = store(16L << 20, EvictionPolicy.NOEVICTION);
    for (int i = 0; i < 6; i++) {
      reused.set(b("big" + i), buffered(value(300_000, i)), SetArgs.ALWAYS);
    }
    for (int i = 0; i < 6; i++) {
      reused.delete(b("big" + i));
    }
    assertThat(reused.pooledLargeBytes()).isPositive();

    int freshCount = fillWith(fresh, 120_000);
    int reusedCount = fillWith(reused, 120_000); // a size the pooled 300,000-byte buffers do not fit

    assertThat(reusedCount).isEqualTo(freshCount);
    assertThat(reused.pooledLargeBytes()).isZero();
  }

  /** Values of {@code length} until the store refuses one; returns how many it took. */
  private int fillWith(OffHeapStore s, int length) {
    for (int i = 0; ; i++) {
      try {
        s.set(b("v" + i), value(length, i), SetArgs.ALWAYS);
      } catch (StoreException e) {
        assertThat(e.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
        return i;
      }
    }
  }

  @Test
  void flush_andIdleTime_freeThePool() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    s.set(b("a"), value(400_000, 1), SetArgs.ALWAYS);
    s.delete(b("a"));
    assertThat(s.pooledLargeBytes()).isPositive();

    s.flush();

    assertThat(s.pooledLargeBytes()).isZero();
  }

  @Test
  void setAllBuffered_largeAndSmallValues_storedExactly_withoutAHeapCopy() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    s.set(b("b"), value(10, 1), SetArgs.ALWAYS);
    List<byte[]> values = List.of(value(300_000, 2), value(5, 3), value(70_000, 4));
    List<BufferedValue> given = values.stream().map(this::buffered).toList();

    s.setAllBuffered(List.of(b("a"), b("b"), b("c")), given, clock.millis() + 30_000);

    assertThat(s.get(b("a"))).isEqualTo(values.get(0));
    assertThat(s.get(b("b"))).isEqualTo(values.get(1));
    assertThat(s.get(b("c"))).isEqualTo(values.get(2));
    assertThat(s.ttlMillis(b("b"))).isEqualTo(30_000);
    assertThat(given).allSatisfy(v -> {
      assertThat(v.copied()).as("no heap array of the value").isFalse();
      assertThat(v.held()).isTrue();
    });
  }

  @Test
  void setAllIfAbsentBuffered_writesAllOrNothing_withoutAHeapCopy() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    BufferedValue x = buffered(value(100_000, 5));
    BufferedValue y = buffered(value(200_000, 6));
    BufferedValue z = buffered(value(100_000, 7));

    assertThat(s.setAllIfAbsentBuffered(List.of(b("x"), b("y")), List.of(x, y))).isTrue();
    assertThat(s.setAllIfAbsentBuffered(List.of(b("z"), b("y")), List.of(z, x))).isFalse();

    assertThat(s.get(b("x"))).isEqualTo(value(100_000, 5));
    assertThat(s.get(b("y"))).isEqualTo(value(200_000, 6));
    assertThat(s.exists(b("z"))).isFalse();
    assertThat(List.of(x, y, z)).noneMatch(BufferedValue::copied);
  }

  @Test
  void setAllBuffered_oneValueOverTheLimit_refusedWithNothingStored() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    long used = s.stats().bytesUsed();
    List<BufferedValue> given = List.of(buffered(value(1_000, 8)), buffered(value(MAX_VALUE + 1, 9)));

    assertThatThrownBy(() -> s.setAllBuffered(List.of(b("a"), b("b")), given, Store.NO_EXPIRY))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.TOO_LARGE))
        .hasMessageContaining(String.valueOf(MAX_VALUE + 1));

    assertThat(s.exists(b("a"))).isFalse();
    assertThat(s.stats().bytesUsed()).isEqualTo(used);
  }
}
