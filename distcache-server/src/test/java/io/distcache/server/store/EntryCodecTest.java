package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The entry layout pinned byte by byte: what an entry costs (the per-entry memory figures in
 * docs/BENCHMARKS.md rest on it) and that every field reads back as written, inline and large.
 */
class EntryCodecTest {
  private static final byte[] KEY = "0123456789abcdef".getBytes(UTF_8);

  private static ByteBuffer page() {
    return ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void inlineSize_16ByteKey100ByteValue_is127BytesPlusOptionalFields() {
    byte[] value = new byte[100];
    assertThat(EntryCodec.inlineSize(EntryCodec.headerSize(false, false), KEY, value)).isEqualTo(127);
    assertThat(EntryCodec.inlineSize(EntryCodec.headerSize(true, false), KEY, value)).isEqualTo(135);
    assertThat(EntryCodec.inlineSize(EntryCodec.headerSize(false, true), KEY, value)).isEqualTo(130);
    assertThat(EntryCodec.inlineSize(EntryCodec.headerSize(true, true), KEY, value)).isEqualTo(138);
  }

  @Test
  void writtenInlineEntry_readsBackEveryField() {
    ByteBuffer pg = page();
    byte[] value = "v".repeat(200).getBytes(UTF_8);
    int off = 17;
    int flags = EntryCodec.FLAG_EXPIRES | EntryCodec.FLAG_LFU | (2 << EntryCodec.TYPE_SHIFT);
    int p = EntryCodec.writeHeader(pg, off, flags, 0x1234_5678_9ABCL, 99_000L, 42, 7, 0);
    EntryCodec.writeInline(pg, p, KEY, value);

    assertThat(EntryCodec.entrySize(pg, off))
        .isEqualTo((int) EntryCodec.inlineSize(EntryCodec.headerSize(true, true), KEY, value));
    assertThat(EntryCodec.version(pg, off)).isEqualTo(0x1234_5678_9ABCL);
    assertThat(EntryCodec.expireAt(pg, off)).isEqualTo(99_000L);
    assertThat(EntryCodec.expiredAt(pg, off, flags, 98_999L)).isFalse();
    assertThat(EntryCodec.expiredAt(pg, off, flags, 99_000L)).isTrue();
    assertThat(EntryCodec.type(EntryCodec.flags(pg, off))).isEqualTo(2);
    assertThat(EntryCodec.frequencyAt(pg, off, 7, 1)).isEqualTo(42);
    assertThat(EntryCodec.frequencyAt(pg, off, 9, 1)).as("two minutes of decay").isEqualTo(40);
    assertThat(EntryCodec.keyMatches(pg, off, new ByteBuffer[0], KEY)).isTrue();
    assertThat(EntryCodec.keyMatches(pg, off, new ByteBuffer[0], "0123456789abcdeX".getBytes(UTF_8))).isFalse();
    assertThat(EntryCodec.keyMatches(pg, off, new ByteBuffer[0], "0123".getBytes(UTF_8))).isFalse();
    assertThat(EntryCodec.copyOut(pg, off, new ByteBuffer[0], true)).isEqualTo(KEY);
    assertThat(EntryCodec.copyOut(pg, off, new ByteBuffer[0], false)).isEqualTo(value);
    assertThat(EntryCodec.valueLength(pg, off, new ByteBuffer[0])).isEqualTo(200);
    assertThat(EntryCodec.keyHash(pg, off, new ByteBuffer[0])).isEqualTo(KeyHash.hash(KEY));
  }

  @Test
  void entryWithoutExpiryOrCounter_hasNoSuchFields() {
    ByteBuffer pg = page();
    int p = EntryCodec.writeHeader(pg, 0, 0, 5L, 123L, 99, 99, 99);
    assertThat(p).as("flags and version only").isEqualTo(9);
    EntryCodec.writeInline(pg, p, KEY, new byte[] {1});
    assertThat(EntryCodec.expireAt(pg, 0)).isEqualTo(Store.NO_EXPIRY);
    assertThat(EntryCodec.expiredAt(pg, 0, 0, Long.MAX_VALUE)).isFalse();
    assertThat(EntryCodec.frequencyAt(pg, 0, 0, 1)).as("no counter, not accessed").isZero();
    EntryCodec.markAccessed(pg, 0, EntryCodec.flags(pg, 0));
    assertThat(EntryCodec.frequencyAt(pg, 0, 0, 1)).as("no counter, accessed").isEqualTo(LfuCounter.INIT);
    assertThat(EntryCodec.copyOut(pg, 0, new ByteBuffer[0], false)).isEqualTo(new byte[] {1});
  }

  @Test
  void accessClockEntry_takesTheSameThreeBytesAsTheCounter_andReadsBackItsIdleTime() {
    ByteBuffer pg = page();
    int flags = EntryCodec.FLAG_EXPIRES | EntryCodec.FLAG_CLOCK | (1 << EntryCodec.TYPE_SHIFT);
    long written = 1_700_000_000_000L;
    int p = EntryCodec.writeHeader(pg, 5, flags, 9L, written + 60_000, 0, 0, EntryCodec.accessClock(written));
    EntryCodec.writeInline(pg, p, KEY, new byte[100]);

    assertThat(EntryCodec.flags(pg, 5)).as("bit 7 reads as a negative byte").isNegative();
    assertThat(EntryCodec.type(EntryCodec.flags(pg, 5))).isEqualTo(1);
    assertThat(EntryCodec.entrySize(pg, 5)).isEqualTo(138);
    assertThat(EntryCodec.expireAt(pg, 5)).isEqualTo(written + 60_000);
    assertThat(EntryCodec.copyOut(pg, 5, new ByteBuffer[0], true)).isEqualTo(KEY);
    assertThat(EntryCodec.idleSeconds(pg, 5, written + 999)).isZero();
    assertThat(EntryCodec.idleSeconds(pg, 5, written + 42_000)).isEqualTo(42);
    EntryCodec.stampClock(pg, 5, EntryCodec.flags(pg, 5), written + 50_000);
    assertThat(EntryCodec.idleSeconds(pg, 5, written + 53_000)).isEqualTo(3);
    assertThat(EntryCodec.frequencyAt(pg, 5, 0, 1)).as("no counter, not accessed").isZero();
  }

  @Test
  void accessClock_wrapsAfter2To24Seconds_asRedisEstimatesIdleTime() {
    int before = EntryCodec.accessClock((1L << 24) * 1000 - 5_000);
    int after = EntryCodec.accessClock((1L << 24) * 1000 + 7_000);
    assertThat(after).isEqualTo(7);
    assertThat(EntryCodec.clockElapsed(before, after)).isEqualTo(12);
  }

  @Test
  void largeEntry_keepsAStubInThePageAndKeyAndValueInItsBuffer() {
    byte[] value = new byte[5000];
    value[4999] = 7;
    ByteBuffer lb = ByteBuffer.allocate(EntryCodec.largeSize(KEY, value)).order(ByteOrder.LITTLE_ENDIAN);
    EntryCodec.writeLarge(lb, KEY, value);
    ByteBuffer[] larges = {null, lb};
    ByteBuffer pg = page();
    int flags = EntryCodec.FLAG_LARGE;
    int p = EntryCodec.writeHeader(pg, 0, flags, 1L, 0L, 0, 0, 0);
    pg.putInt(p, 1);

    assertThat(EntryCodec.entrySize(pg, 0)).isEqualTo(9 + EntryCodec.HANDLE_BYTES);
    assertThat(EntryCodec.largeHandle(pg, 0, flags)).isEqualTo(1);
    assertThat(EntryCodec.keyMatches(pg, 0, larges, KEY)).isTrue();
    assertThat(EntryCodec.copyOut(pg, 0, larges, true)).isEqualTo(KEY);
    assertThat(EntryCodec.copyOut(pg, 0, larges, false)).isEqualTo(value);
    assertThat(EntryCodec.valueLength(pg, 0, larges)).isEqualTo(5000);
    assertThat(EntryCodec.keyHash(pg, 0, larges)).isEqualTo(KeyHash.hash(KEY));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 127, 128, 16_383, 16_384, (1 << 21) - 1})
  void varint_roundTripsAndTakesOneToThreeBytes(int v) {
    ByteBuffer pg = page();
    int end = EntryCodec.writeVarint(pg, 3, v);
    assertThat(end - 3).isEqualTo(EntryCodec.varintSize(v)).isEqualTo(v < 128 ? 1 : v < 16_384 ? 2 : 3);
    assertThat(EntryCodec.readVarint(pg, 3)).isEqualTo(v);
  }
}
