package io.distcache.server.store;

import java.nio.ByteBuffer;

/*
 * Design: Redis's bit commands as pure functions on a string's bytes, shared by every caller so
 * their rules exist once. Bit 0 is the most significant bit of byte 0, as in Redis. Ranges follow
 * Redis's BITCOUNT/BITPOS normalisation (negative from the end, clamped); bitfields are big-endian
 * runs of 1..64 bits with WRAP/SAT/FAIL overflow as Redis computes them. Nothing here allocates
 * beyond the result a caller asked for (and BITOP's chunk of a source).
 *
 * BITCOUNT, BITPOS and BITOP's sources read a ByteBuffer with absolute gets (its position kept),
 * so their bytes are a read-only view of the value where the store holds it (Store.readValue),
 * not a heap copy of the whole value (16 MiB a call on a large bitmap); the bit and field
 * functions take the few bytes a caller read or will write (cluster/BitRequests).
 */

/** Redis's SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD arithmetic on bytes. */
public final class BitOps {
  private BitOps() {}

  public enum Overflow { WRAP, SAT, FAIL }

  public enum Op { AND, OR, XOR, NOT }

  public static int getBit(byte[] v, long offset) {
    long index = offset >>> 3;
    if (v == null || index >= v.length) {
      return 0;
    }
    return (v[(int) index] >> (7 - (int) (offset & 7))) & 1;
  }

  /** Sets one bit in place ({@code v} must be long enough). */
  public static void setBit(byte[] v, long offset, int bit) {
    int index = (int) (offset >>> 3);
    int mask = 1 << (7 - (int) (offset & 7));
    v[index] = (byte) (bit != 0 ? v[index] | mask : v[index] & ~mask);
  }

  /** The inclusive bit range [lo, hi] of a BITCOUNT/BITPOS range, or null when empty. */
  private static long[] range(int length, long start, long end, boolean bitUnit) {
    long total = bitUnit ? length * 8L : length;
    if (start < 0) {
      start = total + start;
    }
    if (end < 0) {
      end = total + end;
    }
    if (start < 0) {
      start = 0;
    }
    if (end < 0) {
      end = 0;
    }
    if (end >= total) {
      end = total - 1;
    }
    if (start > end) {
      return null;
    }
    return bitUnit ? new long[] {start, end} : new long[] {start * 8, end * 8 + 7};
  }

  /**
   * BITCOUNT of the bytes from {@code v}'s position to its limit (null: a missing key, 0); {@code
   * whole} counts every bit and ignores the range. {@code v} is read with absolute gets only (its
   * position stays), so a read-only view of a value where it lies (Store.readValue) serves.
   */
  public static long bitCount(ByteBuffer v, boolean whole, long start, long end, boolean bitUnit) {
    if (v == null || !v.hasRemaining()) {
      return 0;
    }
    int length = v.remaining();
    long[] r = whole ? new long[] {0, length * 8L - 1} : range(length, start, end, bitUnit);
    if (r == null) {
      return 0;
    }
    int base = v.position();
    long count = 0;
    long i = r[0];
    while (i <= r[1] && (i & 7) != 0) { // the bits before the first whole byte
      count += bit(v, base, i++);
    }
    int from = (int) (i >>> 3);
    int to = (int) ((r[1] + 1) >>> 3); // whole bytes [from, to)
    int at = from;
    for (; at + 8 <= to; at += 8) {
      count += Long.bitCount(v.getLong(base + at));
    }
    for (; at < to; at++) {
      count += Integer.bitCount(v.get(base + at) & 0xFF);
    }
    for (i = Math.max(i, (long) to << 3); i <= r[1]; i++) { // the bits after the last whole byte
      count += bit(v, base, i);
    }
    return count;
  }

  /**
   * BITPOS in the bytes from {@code v}'s position to its limit (null: a missing key), read as
   * {@link #bitCount(ByteBuffer, boolean, long, long, boolean)} reads: the first bit equal to
   * {@code bit} in the range. Missing key: -1 looking for 1, 0 for 0. Looking for 0 without an
   * explicit end, the bits right of the string count as 0.
   */
  public static long bitPos(ByteBuffer v, int bit, boolean hasStart, long start, boolean hasEnd, long end,
      boolean bitUnit) {
    if (v == null) {
      return bit == 1 ? -1 : 0;
    }
    int length = v.remaining();
    long[] r = hasStart ? range(length, start, hasEnd ? end : -1, bitUnit) : range(length, 0, -1, false);
    if (r == null) {
      return -1;
    }
    int base = v.position();
    int skip = bit == 1 ? 0 : 0xFF; // a byte that cannot hold the bit looked for
    long skipLong = bit == 1 ? 0L : -1L; // eight of them
    long i = r[0];
    while (i <= r[1]) {
      if ((i & 7) == 0 && i + 7 <= r[1]) {
        if (i + 63 <= r[1] && v.getLong(base + (int) (i >>> 3)) == skipLong) {
          i += 64;
          continue;
        }
        if ((v.get(base + (int) (i >>> 3)) & 0xFF) == skip) {
          i += 8;
          continue;
        }
      }
      if (bit(v, base, i) == bit) {
        return i;
      }
      i++;
    }
    if (bit == 1 || hasEnd) {
      return -1;
    }
    return ((r[1] >>> 3) + 1) * 8;
  }

  /** The bit at {@code offset} of the bytes from {@code base} (within them). */
  private static int bit(ByteBuffer v, int base, long offset) {
    return (v.get(base + (int) (offset >>> 3)) >> (7 - (int) (offset & 7))) & 1;
  }

  /**
   * Folds one BITOP source (null for a missing key) into {@code out}, which is as long as the
   * longest source: the first source is copied (inverted for NOT), each later one combined with
   * it; bytes past a source's end count as 0. One source at a time, so a BITOP holds its result
   * and one source on the heap, never every source at once (forty sources of 16 MiB each made
   * 640 MiB and killed a node with a 512 MiB heap).
   */
  public static void fold(Op op, byte[] out, byte[] source, boolean first) {
    fold(op, out, source == null ? null : ByteBuffer.wrap(source), first);
  }

  /**
   * As {@link #fold(Op, byte[], byte[], boolean)} from the bytes between {@code source}'s position
   * and limit (absolute gets only: a read-only view of a value where it lies serves), so a source
   * is never copied whole to the heap: a later one passes through a chunk of at most {@value
   * #FOLD_CHUNK} bytes.
   */
  public static void fold(Op op, byte[] out, ByteBuffer source, boolean first) {
    int n = source == null ? 0 : Math.min(source.remaining(), out.length);
    if (first) {
      if (n > 0) {
        source.get(source.position(), out, 0, n);
      }
      if (op == Op.NOT) {
        for (int i = 0; i < out.length; i++) {
          out[i] = (byte) ~out[i];
        }
      }
      return;
    }
    byte[] chunk = new byte[Math.min(n, FOLD_CHUNK)];
    for (int at = 0; at < n; at += chunk.length) {
      int len = Math.min(chunk.length, n - at);
      source.get(source.position() + at, chunk, 0, len);
      combine(op, out, at, chunk, len);
    }
    if (op == Op.AND) {
      java.util.Arrays.fill(out, n, out.length, (byte) 0);
    }
  }

  /** out[at..at+len) combined with chunk[0..len) by AND, OR or XOR. */
  private static void combine(Op op, byte[] out, int at, byte[] chunk, int len) {
    switch (op) {
      case AND -> {
        for (int i = 0; i < len; i++) {
          out[at + i] &= chunk[i];
        }
      }
      case OR -> {
        for (int i = 0; i < len; i++) {
          out[at + i] |= chunk[i];
        }
      }
      case XOR -> {
        for (int i = 0; i < len; i++) {
          out[at + i] ^= chunk[i];
        }
      }
      case NOT -> throw new IllegalArgumentException("BITOP NOT takes one source");
    }
  }

  /** The heap a later BITOP source passes through ({@link #fold(Op, byte[], ByteBuffer, boolean)}). */
  private static final int FOLD_CHUNK = 64 * 1024;

  /** BITOP over the sources (null for a missing key); the result is as long as the longest. */
  public static byte[] bitOp(Op op, byte[][] sources) {
    int len = 0;
    for (byte[] s : sources) {
      len = Math.max(len, s == null ? 0 : s.length);
    }
    byte[] out = new byte[len];
    for (int k = 0; k < sources.length; k++) {
      fold(op, out, sources[k], k == 0);
    }
    return out;
  }

  /** The {@code bits}-bit field at {@code offset} (bits beyond the value read as 0), unsigned. */
  public static long getField(byte[] v, long offset, int bits) {
    long value = 0;
    for (int i = 0; i < bits; i++) {
      value = (value << 1) | getBit(v, offset + i);
    }
    return value;
  }

  /** The field read as signed (two's complement over {@code bits}) or unsigned. */
  public static long getField(byte[] v, long offset, int bits, boolean signed) {
    long raw = getField(v, offset, bits);
    if (signed && bits < 64 && (raw & (1L << (bits - 1))) != 0) {
      raw |= -1L << bits;
    }
    return raw;
  }

  /** Writes the low {@code bits} bits of {@code value} at {@code offset} in place. */
  public static void setField(byte[] v, long offset, int bits, long value) {
    for (int i = 0; i < bits; i++) {
      setBit(v, offset + i, (int) ((value >>> (bits - 1 - i)) & 1));
    }
  }

  /**
   * value + incr within a field of {@code bits} bits under {@code overflow}; null when FAIL
   * refuses it. Unsigned fields have 1..63 bits, signed 1..64, as in Redis.
   */
  public static Long withOverflow(long value, long incr, int bits, boolean signed, Overflow overflow) {
    if (signed) {
      long max = bits == 64 ? Long.MAX_VALUE : (1L << (bits - 1)) - 1;
      long min = -max - 1;
      long maxIncr = max - value;
      long minIncr = min - value;
      boolean over = value > max || (bits != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr);
      boolean under = !over
          && (value < min || (bits != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr));
      if (!over && !under) {
        return value + incr;
      }
      return switch (overflow) {
        case FAIL -> null;
        case SAT -> over ? max : min;
        case WRAP -> {
          long c = value + incr;
          if (bits < 64) {
            long mask = -1L << bits;
            c = (c & (1L << (bits - 1))) != 0 ? c | mask : c & ~mask;
          }
          yield c;
        }
      };
    }
    long max = (1L << bits) - 1;
    // value is the field's (non-negative) or a SET's argument, read as unsigned 64-bit as Redis does.
    boolean over = Long.compareUnsigned(value, max) > 0 || (incr > 0 && incr > max - value);
    boolean under = !over && incr < 0 && incr < -value;
    if (!over && !under) {
      return value + incr;
    }
    return switch (overflow) {
      case FAIL -> null;
      case SAT -> over ? max : 0L;
      case WRAP -> (value + incr) & max;
    };
  }
}
