package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.BufferedValue;
import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * APPEND and SETRANGE on large strings, and the values SET GET, GETSET and GETDEL give up, without
 * a heap array of the value's size (issue 16): APPEND and SETRANGE write where the value lies when
 * its buffer has room (the memory stays the same) and give room to a string they outgrow; the old
 * value is lent to a reader (a direct view) before the write. The values are Redis's in every case
 * (zero padding, expiry kept, a new version per write), and the store's invariants hold after each test.
 */
class OffHeapStoreLargeStringEditTest {
  private static final int MAX_VALUE = 4 << 20;
  private final ManualClock clock = new ManualClock();
  private final List<OffHeapStore> stores = new ArrayList<>();
  private final List<ByteBuf> buffers = new ArrayList<>();

  @AfterEach
  void validateAndClose() {
    for (OffHeapStore s : stores) {
      assertThat(s.validate()).isNull();
      s.close();
    }
    buffers.forEach(ByteBuf::release);
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

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Where the key's value lies in memory (the address of its lent view). */
  private static long address(Store s, byte[] key) {
    long[] at = new long[1];
    s.readValue(key, view -> at[0] = PlatformDependent.directBufferAddress(view) + view.position());
    return at[0];
  }

  @Test
  void append_growingALargeString_matchesTheConcatenation_keepsItsTtl_andTakesANewVersionEachTime() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] expected = value(100_000, 1);
    s.set(key, expected, new SetArgs(SetArgs.Condition.ALWAYS, clock.millis() + 60_000, false, false));
    long version = s.getEntry(key).version();
    for (int i = 0; i < 30; i++) {
      byte[] suffix = value(1_000 + i * 997, i);
      long length = i % 2 == 0 ? s.append(key, suffix) : s.append(key, buffered(suffix));
      expected = concat(expected, suffix);
      assertThat(length).isEqualTo(expected.length);
      StoredEntry e = s.getEntry(key);
      assertThat(e.value()).as("after append %d", i).isEqualTo(expected);
      assertThat(e.version()).isGreaterThan(version);
      assertThat(e.expireAtMillis()).isEqualTo(clock.millis() + 60_000);
      version = e.version();
    }
  }

  @Test
  void append_toALargeStringItOutgrewOnce_writesWhereTheValueLies() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    s.set(key, value(200_000, 2), SetArgs.ALWAYS);
    s.append(key, value(10, 3)); // outgrows the exact buffer: a new one with room to grow

    long at = address(s, key);
    for (int i = 0; i < 20; i++) {
      s.append(key, value(1_000, i));
      assertThat(address(s, key)).as("append %d in place", i).isEqualTo(at);
    }
    s.setRange(key, 5, value(50_000, 4)); // within the value: in place too

    assertThat(address(s, key)).isEqualTo(at);
    assertThat(s.strlen(key)).isEqualTo(200_010 + 20_000);
  }

  @Test
  void append_bufferedSuffix_isCopiedFromItsBuffer_withoutAnArray() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] first = value(300_000, 5);
    byte[] second = value(120_000, 6);
    BufferedValue a = buffered(first);
    BufferedValue c = buffered(second);

    assertThat(s.append(key, a)).isEqualTo(300_000); // absent: created from the buffer
    assertThat(s.append(key, c)).isEqualTo(420_000);

    assertThat(a.copied()).isFalse();
    assertThat(c.copied()).isFalse();
    assertThat(s.get(key)).isEqualTo(concat(first, second));
  }

  @Test
  void setRange_onLargeStrings_withinPastTheEndAndOnAbsentKeys_zeroPadsAsRedis() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] expected = value(150_000, 7);
    s.set(key, expected, SetArgs.ALWAYS);
    // {offset, length}: inside, across the end, far past the end (a gap of zeros), inside the gap
    int[][] writes = {{10, 40_000}, {140_000, 30_000}, {400_000, 70_000}, {200_000, 5}};
    for (int[] w : writes) {
      byte[] piece = value(w[1], w[0]);
      long length = s.setRange(key, w[0], piece);
      byte[] next = Arrays.copyOf(expected, Math.max(expected.length, w[0] + w[1]));
      System.arraycopy(piece, 0, next, w[0], w[1]);
      expected = next;
      assertThat(length).isEqualTo(expected.length);
      assertThat(s.get(key)).as("after SETRANGE %d", w[0]).isEqualTo(expected);
    }
    byte[] fresh = b("fresh");
    assertThat(s.setRange(fresh, 300_000, b("x"))).isEqualTo(300_001);
    byte[] padded = new byte[300_001];
    padded[300_000] = 'x';
    assertThat(s.get(fresh)).isEqualTo(padded);
  }

  @Test
  void appendAndSetRange_onAHash_areRefused_andLeaveItAsItWas() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("h");
    s.putTyped(key, ValueType.HASH, io.distcache.protocol.ListCodec.encodePairs(List.of(b("f")), List.of(b("v"))), 0);
    TypedEntry before = s.getTyped(key);

    assertThatThrownBy(() -> s.append(key, buffered(value(100_000, 8)))).isInstanceOf(StoreException.class)
        .extracting(e -> ((StoreException) e).reason()).isEqualTo(StoreException.Reason.WRONG_TYPE);
    assertThatThrownBy(() -> s.setRange(key, 0, value(100_000, 8))).isInstanceOf(StoreException.class);

    assertThat(s.getTyped(key).version()).isEqualTo(before.version());
  }

  @Test
  void append_overTheValueLimit_isRefused_andTheValueStays() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] v = value(MAX_VALUE - 10, 9);
    s.set(key, v, SetArgs.ALWAYS);

    assertThatThrownBy(() -> s.append(key, buffered(value(11, 1)))).isInstanceOf(StoreException.class)
        .extracting(e -> ((StoreException) e).reason()).isEqualTo(StoreException.Reason.TOO_LARGE);
    assertThat(s.append(key, value(10, 1))).isEqualTo(MAX_VALUE);
    assertThat(Arrays.copyOf(s.get(key), v.length)).isEqualTo(v);
  }

  @Test
  void appendedRoom_isMemoryTheStoreCounts() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    s.set(key, value(500_000, 1), SetArgs.ALWAYS);
    long exact = s.stats().bytesUsed();

    s.append(key, value(10, 2));

    // the old buffer waits in the pool (counted too); the new one holds half the value again as room
    assertThat(s.stats().bytesUsed()).isGreaterThanOrEqualTo(exact + 500_010 + 250_000);
  }

  @Test
  void setLendingPrevious_lendsTheOldValueInPlace_beforeTheWrite_evenWhenTheConditionFails() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] old = value(600_000, 1);
    byte[] next = value(400_000, 2);
    s.set(key, old, SetArgs.ALWAYS);
    AtomicReference<byte[]> lent = new AtomicReference<>();
    AtomicReference<Boolean> direct = new AtomicReference<>();
    SetArgs get = new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, false, true);

    SetResult r = s.setLendingPrevious(key, null, buffered(next), get, view -> {
      direct.set(view.isDirect());
      byte[] copy = new byte[view.remaining()];
      view.get(copy);
      lent.set(copy);
    });

    assertThat(r.written()).isTrue();
    assertThat(r.previous()).isSameAs(SetResult.LENT);
    assertThat(direct.get()).as("a view of the store's memory, not a heap copy").isTrue();
    assertThat(lent.get()).isEqualTo(old);
    assertThat(s.get(key)).isEqualTo(next);

    SetArgs nxGet = new SetArgs(SetArgs.Condition.IF_ABSENT, Store.NO_EXPIRY, false, true);
    SetResult refused = s.setLendingPrevious(key, old, null, nxGet, view -> lent.set(new byte[view.remaining()]));
    assertThat(refused.written()).isFalse();
    assertThat(refused.previous()).isSameAs(SetResult.LENT);
    assertThat(lent.get()).hasSize(next.length);
    assertThat(s.get(key)).isEqualTo(next);

    lent.set(null);
    SetResult absent = s.setLendingPrevious(b("none"), old, null, get, view -> lent.set(new byte[0]));
    assertThat(absent.previous()).isNull();
    assertThat(lent.get()).as("nothing lent for an absent key").isNull();
  }

  @Test
  void setLendingPrevious_aReaderThatThrows_leavesTheKeyUnwritten() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] old = value(100_000, 3);
    s.set(key, old, SetArgs.ALWAYS);
    SetArgs get = new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, false, true);

    assertThatThrownBy(() -> s.setLendingPrevious(key, value(10, 1), null, get, view -> {
      throw new IllegalStateException("no room for the reply");
    })).isInstanceOf(IllegalStateException.class);

    assertThat(s.get(key)).isEqualTo(old);
  }

  @Test
  void getAndDelete_lendsTheValueInPlace_thenRemovesTheKey() {
    OffHeapStore s = store(256L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] key = b("k");
    byte[] v = value(700_000, 4);
    s.set(key, v, SetArgs.ALWAYS);
    AtomicReference<ByteBuffer> seen = new AtomicReference<>();
    AtomicReference<byte[]> copy = new AtomicReference<>();

    boolean found = s.getAndDelete(key, view -> {
      seen.set(view);
      byte[] c = new byte[view.remaining()];
      view.get(c);
      copy.set(c);
    });

    assertThat(found).isTrue();
    assertThat(seen.get().isDirect()).isTrue();
    assertThat(copy.get()).isEqualTo(v);
    assertThat(s.exists(key)).isFalse();
    assertThat(s.getAndDelete(key, view -> copy.set(null))).isFalse();
    assertThat(copy.get()).isEqualTo(v);

    s.putTyped(key, ValueType.HASH, io.distcache.protocol.ListCodec.encodePairs(List.of(b("f")), List.of(b("v"))), 0);
    assertThatThrownBy(() -> s.getAndDelete(key, view -> { })).isInstanceOf(StoreException.class);
    assertThat(s.exists(key)).as("a hash is not removed by GETDEL").isTrue();
  }
}
