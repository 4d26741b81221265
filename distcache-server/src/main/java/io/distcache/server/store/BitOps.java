package io.distcache.server.store;

/*
 * Design: Redis's bit commands as pure functions on a string's bytes, shared by every caller so
 * their rules exist once. Bit 0 is the most significant bit of byte 0, as in Redis. Ranges follow
 * Redis's BITCOUNT/BITPOS normalisation (negative from the end, clamped); bitfields are big-endian
 * runs of 1..64 bits with WRAP/SAT/FAIL overflow as Redis computes them. Nothing here allocates
 * beyond the result a caller asked for; writers get the grown copy they will store.
 */

/** Redis's SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD arithmetic on byte arrays. */
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

  /** {@code v} grown with zero bytes to hold {@code bits} bits (a copy when it must grow). */
  public static byte[] grownFor(byte[] v, long bits) {
    long need = (bits + 7) >>> 3;
    byte[] cur = v == null ? new byte[0] : v;
    if (need <= cur.length) {
      return cur;
    }
    byte[] out = new byte[(int) need];
    System.arraycopy(cur, 0, out, 0, cur.length);
    return out;
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

  /** BITCOUNT; {@code whole} counts every bit and ignores the range. */
  public static long bitCount(byte[] v, boolean whole, long start, long end, boolean bitUnit) {
    if (v == null || v.length == 0) {
      return 0;
    }
    long[] r = whole ? new long[] {0, v.length * 8L - 1} : range(v.length, start, end, bitUnit);
    if (r == null) {
      return 0;
    }
    long count = 0;
    long i = r[0];
    while (i <= r[1]) {
      if ((i & 7) == 0 && i + 7 <= r[1]) {
        count += Integer.bitCount(v[(int) (i >>> 3)] & 0xFF);
        i += 8;
      } else {
        count += getBit(v, i);
        i++;
      }
    }
    return count;
  }

  /**
   * BITPOS: the first bit equal to {@code bit} in the range. Missing key: -1 looking for 1, 0 for 0.
   * Looking for 0 without an explicit end, the bits right of the string count as 0.
   */
  public static long bitPos(byte[] v, int bit, boolean hasStart, long start, boolean hasEnd, long end, boolean bitUnit) {
    if (v == null) {
      return bit == 1 ? -1 : 0;
    }
    long[] r = hasStart ? range(v.length, start, hasEnd ? end : -1, bitUnit) : range(v.length, 0, -1, false);
    if (r == null) {
      return -1;
    }
    int skip = bit == 1 ? 0 : 0xFF; // a byte that cannot hold the bit looked for
    long i = r[0];
    while (i <= r[1]) {
      if ((i & 7) == 0 && i + 7 <= r[1] && (v[(int) (i >>> 3)] & 0xFF) == skip) {
        i += 8;
        continue;
      }
      if (getBit(v, i) == bit) {
        return i;
      }
      i++;
    }
    if (bit == 1 || hasEnd) {
      return -1;
    }
    return ((r[1] >>> 3) + 1) * 8;
  }

  /**
   * Folds one BITOP source (null for a missing key) into {@code out}, which is as long as the
   * longest source: the first source is copied (inverted for NOT), each later one combined with
   * it; bytes past a source's end count as 0. One source at a time, so a BITOP holds its result
   * and one source on the heap, never every source at once (forty sources of 16 MiB each made
   * 640 MiB and killed a node with a 512 MiB heap).
   */
  public static void fold(Op op, byte[] out, byte[] source, boolean first) {
    int n = source == null ? 0 : Math.min(source.length, out.length);
    if (first) {
      if (n > 0) {
        System.arraycopy(source, 0, out, 0, n);
      }
      if (op == Op.NOT) {
        for (int i = 0; i < out.length; i++) {
          out[i] = (byte) ~out[i];
        }
      }
      return;
    }
    switch (op) {
      case AND -> {
        for (int i = 0; i < n; i++) {
          out[i] &= source[i];
        }
        java.util.Arrays.fill(out, n, out.length, (byte) 0);
      }
      case OR -> {
        for (int i = 0; i < n; i++) {
          out[i] |= source[i];
        }
      }
      case XOR -> {
        for (int i = 0; i < n; i++) {
          out[i] ^= source[i];
        }
      }
      case NOT -> throw new IllegalArgumentException("BITOP NOT takes one source");
    }
  }

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
