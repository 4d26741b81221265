package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A large value read by a SharedValueReader (a GET written from the store's memory, LargeMemory):
 * the reader holds the entry's buffer, which no write frees, reuses (pooled) or edits in place
 * until the reader releases it, whatever ends the entry meanwhile; the budget counts the buffer
 * until then (replyHeldBytes), and it is pooled or freed after. The store's bookkeeping holds at
 * every step (validate).
 */
class OffHeapStoreSharedValueTest {
  private static final int LARGE = 256 * 1024;
  private final ManualClock clock = new ManualClock();
  private final List<OffHeapStore> stores = new ArrayList<>();
  /** Every reference handed out, released at the end if a test left it; readers on several threads add to it. */
  private final List<ByteBuf> held = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void releaseValidateAndClose() {
    held.forEach(b -> {
      if (b.refCnt() > 0) {
        b.release();
      }
    });
    for (OffHeapStore s : stores) {
      assertThat(s.replyHeldBytes()).isZero();
      assertThat(s.validate()).isNull();
      s.close();
    }
  }

  private OffHeapStore store(long maxMemory, EvictionPolicy policy) {
    OffHeapStore s = new OffHeapStore(new StoreConfig(maxMemory, 4 << 20, policy, clock));
    stores.add(s);
    return s;
  }

  private static byte[] value(int length, int seed) {
    return StoreTestValues.value(length, seed);
  }

  private static byte[] b(String s) {
    return StoreTestValues.b(s);
  }

  /** A reader that takes values from {@code from} bytes up as references, as RespSession's GET does. */
  private final class Holding implements SharedValueReader {
    final int from;
    ByteBuf shared;
    byte[] copied;

    Holding(int from) {
      this.from = from;
    }

    @Override
    public int sharedFrom() {
      return from;
    }

    @Override
    public void acceptShared(ByteBuf value) {
      shared = value;
      held.add(value);
    }

    @Override
    public void accept(ByteBuffer value) {
      copied = new byte[value.remaining()];
      value.get(copied);
    }
  }

  private ByteBuf share(Store s, byte[] key) {
    Holding h = new Holding(64 * 1024);
    assertThat(s.readValue(key, h)).isTrue();
    assertThat(h.shared).as("handed as a reference").isNotNull();
    return h.shared;
  }

  @Test
  void readValue_ofALargeValue_holdsItsBufferUntilReleased_readOnly() {
    OffHeapStore s = store(64L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] v = value(LARGE, 1);
    s.set(b("k"), v, SetArgs.ALWAYS);
    assertThat(s.largeRefCount(b("k"))).isEqualTo(1);

    ByteBuf first = share(s, b("k"));
    ByteBuf second = share(s, b("k"));
    assertThat(s.largeRefCount(b("k"))).isEqualTo(3);
    assertThat(first.isReadOnly()).isTrue();
    assertThat(ByteBufUtil.getBytes(first)).isEqualTo(v);
    first.release();
    assertThat(s.largeRefCount(b("k"))).isEqualTo(2);
    second.release();
    assertThat(s.largeRefCount(b("k"))).isEqualTo(1);
    assertThat(s.replyHeldBytes()).isZero();
  }

  @Test
  void readValue_belowTheReadersThreshold_orInline_isCopiedAsBefore() {
    OffHeapStore s = store(64L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] large = value(LARGE, 2);
    byte[] small = value(100, 3);
    s.set(b("large"), large, SetArgs.ALWAYS);
    s.set(b("small"), small, SetArgs.ALWAYS);

    Holding above = new Holding(LARGE + 1);
    assertThat(s.readValue(b("large"), above)).isTrue();
    assertThat(above.shared).isNull();
    assertThat(above.copied).isEqualTo(large);

    Holding inline = new Holding(1);
    assertThat(s.readValue(b("small"), inline)).isTrue();
    assertThat(inline.shared).isNull();
    assertThat(inline.copied).isEqualTo(small);
    assertThat(s.largeRefCount(b("large"))).isEqualTo(1);
  }

  /** The ways an entry dies while a reader holds its buffer. */
  enum Death {
    OVERWRITE((s, c) -> s.set(b("k"), value(LARGE, 99), SetArgs.ALWAYS)),
    DELETE((s, c) -> s.delete(b("k"))),
    EXPIRY((s, c) -> {
      s.expireAt(b("k"), c.millis() + 10, ExpireCondition.ALWAYS);
      c.advanceMillis(11);
      assertThat(s.get(b("k"))).isNull(); // the counted read removes it
    }),
    EVICTION((s, c) -> {
      for (int i = 0; i < 64; i++) {
        s.set(b("other" + i), value(LARGE, i), SetArgs.ALWAYS);
      }
      assertThat(s.exists(b("k"))).isFalse();
    }),
    FLUSHALL((s, c) -> s.flush());

    final BiConsumer<OffHeapStore, ManualClock> kill;

    Death(BiConsumer<OffHeapStore, ManualClock> kill) {
      this.kill = kill;
    }
  }

  @ParameterizedTest
  @EnumSource(Death.class)
  void entryDies_whileHeld_bytesStayTheOldValue_countedUntilReleased_thenPooledOrFreed(Death death) {
    OffHeapStore s = store(8L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] v = value(LARGE, 4);
    s.set(b("k"), v, SetArgs.ALWAYS);
    long capacity = s.largeRoom(b("k"));
    ByteBuf reply = share(s, b("k"));

    death.kill.accept(s, clock);
    assertThat(s.replyHeldBytes()).isEqualTo(capacity);
    assertThat(s.validate()).isNull();
    // Large writes of the same size would take the buffer from the pool if it were there.
    for (int i = 0; i < 6; i++) {
      s.set(b("churn"), value(LARGE, 50 + i), SetArgs.ALWAYS);
      s.delete(b("churn"));
    }
    assertThat(ByteBufUtil.getBytes(reply)).isEqualTo(v);
    long usedBefore = s.stats().bytesUsed();
    long pooledBefore = s.pooledBytes();

    reply.release();
    assertThat(s.replyHeldBytes()).isZero();
    assertThat(s.validate()).isNull();
    // given back: pooled for the next large write, or freed when the pool is full
    assertThat(s.pooledBytes() - pooledBefore + (usedBefore - s.stats().bytesUsed())).isEqualTo(capacity);
  }

  @Test
  void appendAndSetRange_onAHeldValue_writeANewBuffer_theReaderKeepsTheOldBytes() {
    OffHeapStore s = store(64L << 20, EvictionPolicy.ALLKEYS_LRU);
    byte[] v = value(LARGE, 5);
    s.set(b("k"), v, SetArgs.ALWAYS);
    s.append(b("k"), value(10, 6)); // now with room to grow in place
    byte[] before = s.get(b("k"));
    ByteBuf reply = share(s, b("k"));

    s.append(b("k"), value(10, 7));
    s.setRange(b("k"), 0, b("changed"));
    assertThat(ByteBufUtil.getBytes(reply)).isEqualTo(before);
    byte[] now = s.get(b("k"));
    assertThat(Arrays.copyOf(now, 7)).isEqualTo(b("changed"));
    assertThat(now).hasSize(before.length + 10);
    assertThat(s.replyHeldBytes()).isPositive();
    reply.release();
    assertThat(s.replyHeldBytes()).isZero();

    // released, the string is edited where it lies again
    long room = s.largeRoom(b("k"));
    s.append(b("k"), value(10, 8));
    assertThat(s.largeRoom(b("k"))).isEqualTo(room);
  }

  @Test
  void closedStore_aValueReleasedAfterwards_isFreedNotPooled() {
    OffHeapStore s = new OffHeapStore(new StoreConfig(64L << 20, 4 << 20, EvictionPolicy.ALLKEYS_LRU, clock));
    s.set(b("k"), value(LARGE, 9), SetArgs.ALWAYS);
    ByteBuf reply = share(s, b("k"));
    s.close();
    assertThat(s.replyHeldBytes()).isPositive();
    reply.release();
    assertThat(s.replyHeldBytes()).isZero();
    assertThat(s.pooledBytes()).isZero();
    assertThat(s.stats().bytesUsed()).isZero();
  }

  @Test
  void manyReaders_whileTheValueIsRewritten_eachHoldsOneWholeValue_andAllIsGivenBack() throws Exception {
    OffHeapStore s = store(64L << 20, EvictionPolicy.ALLKEYS_LRU);
    int versions = 8;
    byte[][] values = new byte[versions][];
    for (int i = 0; i < versions; i++) {
      values[i] = value(LARGE, 100 + i);
    }
    s.set(b("k"), values[0], SetArgs.ALWAYS);
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      List<Future<Integer>> readers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        readers.add(pool.submit(() -> {
          int checked = 0;
          List<ByteBuf> mine = new ArrayList<>();
          while (!stop.get() || checked < 50) {
            Holding h = new Holding(64 * 1024);
            s.readValue(b("k"), h);
            mine.add(h.shared);
            if (mine.size() == 4) { // hold a few while writes go on, then check and let go
              for (ByteBuf r : mine) {
                byte[] got = ByteBufUtil.getBytes(r);
                assertThat(Arrays.stream(values).anyMatch(v -> Arrays.equals(v, got))).isTrue();
                r.release();
                checked++;
              }
              mine.clear();
            }
          }
          mine.forEach(ByteBuf::release);
          return checked;
        }));
      }
      Future<?> writer = pool.submit(() -> {
        for (int i = 1; i < 400; i++) {
          s.set(b("k"), values[i % versions], SetArgs.ALWAYS);
        }
        stop.set(true);
      });
      writer.get();
      for (Future<Integer> r : readers) {
        assertThat(r.get()).isGreaterThanOrEqualTo(50);
      }
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }
    assertThat(s.replyHeldBytes()).isZero();
    assertThat(s.largeRefCount(b("k"))).isEqualTo(1);
  }
}
