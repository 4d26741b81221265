package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * BITCOUNT, BITPOS and BITOP's fold on a ByteBuffer (how BitRequests runs them, on a read-only
 * view of the value where the store holds it) answer what Redis's definition answers, bit by bit,
 * for a heap array and for a direct read-only buffer whose bytes start past its position 0; the
 * buffer's position is left as it was.
 */
class BitOpsBufferTest {

  /** Values with runs of 0x00 and 0xFF long enough for BITPOS's eight-bytes-at-a-time skip. */
  @Provide
  Arbitrary<byte[]> values() {
    Arbitrary<byte[]> run = Combinators.combine(Arbitraries.of((byte) 0, (byte) -1, (byte) 0x10, (byte) 0x7f),
        Arbitraries.integers().between(1, 30)).as((b, n) -> {
          byte[] out = new byte[n];
          java.util.Arrays.fill(out, b);
          return out;
        });
    Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMaxSize(5);
    return Arbitraries.oneOf(run, noise).list().ofMaxSize(6).map(parts -> {
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
      parts.forEach(all::writeBytes);
      return all.toByteArray();
    });
  }

  @Property(tries = 1000)
  void bitCount_asDefined(@ForAll("values") byte[] v, @ForAll boolean whole, @ForAll @LongRange(min = -300, max = 300) long start,
      @ForAll @LongRange(min = -300, max = 300) long end, @ForAll boolean bitUnit) {
    long expected = 0;
    long[] r = whole ? new long[] {0, v.length * 8L - 1} : bitRange(v.length, start, end, bitUnit);
    for (long i = r == null ? 0 : r[0]; r != null && i <= r[1]; i++) {
      expected += BitOps.getBit(v, i);
    }
    for (ByteBuffer b : buffers(v)) {
      int position = b.position();
      assertThat(BitOps.bitCount(b, whole, start, end, bitUnit)).isEqualTo(expected);
      assertThat(b.position()).isEqualTo(position);
    }
  }

  @Property(tries = 1000)
  void bitPos_asDefined(@ForAll("values") byte[] v, @ForAll @IntRange(min = 0, max = 1) int bit,
      @ForAll boolean hasStart, @ForAll @LongRange(min = -300, max = 300) long start, @ForAll boolean hasEnd,
      @ForAll @LongRange(min = -300, max = 300) long end, @ForAll boolean bitUnit) {
    boolean unit = hasStart && bitUnit; // without a range the unit is moot: the whole value
    long[] r = bitRange(v.length, hasStart ? start : 0, hasStart && hasEnd ? end : -1, unit);
    long expected = -1;
    for (long i = r == null ? 0 : r[0]; r != null && i <= r[1] && expected < 0; i++) {
      expected = BitOps.getBit(v, i) == bit ? i : -1;
    }
    if (r != null && expected < 0 && bit == 0 && !(hasStart && hasEnd)) {
      expected = v.length * 8L; // the bits right of the string count as 0
    }
    for (ByteBuffer b : buffers(v)) {
      assertThat(BitOps.bitPos(b, bit, hasStart, start, hasStart && hasEnd, end, bitUnit)).isEqualTo(expected);
    }
  }

  @Example
  void missingKey_isNull() {
    assertThat(BitOps.bitCount(null, true, 0, 0, false)).isZero();
    assertThat(BitOps.bitPos(null, 1, true, 5, true, 9, true)).isEqualTo(-1);
    assertThat(BitOps.bitPos(null, 0, true, 5, true, 9, true)).isZero();
  }

  /** Sources longer than the fold's chunk, read from a direct buffer past its position 0. */
  @Example
  void fold_ofSourcesLongerThanItsChunk() {
    java.util.Random random = new java.util.Random(7);
    byte[] a = new byte[200_003];
    byte[] b = new byte[150_001];
    random.nextBytes(a);
    random.nextBytes(b);
    for (BitOps.Op op : new BitOps.Op[] {BitOps.Op.AND, BitOps.Op.OR, BitOps.Op.XOR}) {
      byte[] out = new byte[a.length];
      BitOps.fold(op, out, buffers(a)[1], true);
      BitOps.fold(op, out, buffers(b)[1], false);
      assertThat(out).as(op.name()).isEqualTo(BitOps.bitOp(op, new byte[][] {a, b}));
    }
    byte[] out = new byte[b.length];
    BitOps.fold(BitOps.Op.NOT, out, buffers(b)[1], true);
    assertThat(out).isEqualTo(BitOps.bitOp(BitOps.Op.NOT, new byte[][] {b}));
  }

  /**
   * Redis's BITCOUNT/BITPOS range as bits [first, last] (negative from the end, clamped to the
   * value), or null when empty.
   */
  private static long[] bitRange(int length, long start, long end, boolean bitUnit) {
    long total = bitUnit ? length * 8L : length;
    long first = Math.max(0, start < 0 ? total + start : start);
    long last = Math.min(total - 1, Math.max(0, end < 0 ? total + end : end));
    if (first > last) {
      return null;
    }
    return bitUnit ? new long[] {first, last} : new long[] {first * 8, last * 8 + 7};
  }

  /** {@code v} as a heap buffer and as a read-only direct buffer whose bytes start at position 3. */
  private static ByteBuffer[] buffers(byte[] v) {
    ByteBuffer direct = ByteBuffer.allocateDirect(v.length + 5);
    direct.position(3);
    direct.put(v);
    direct.position(3).limit(3 + v.length);
    return new ByteBuffer[] {ByteBuffer.wrap(v), direct.asReadOnlyBuffer()};
  }
}
