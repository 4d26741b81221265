package io.distcache.protocol.cluster;

/*
 * Design: the ring hashes every key on every request, so the hash must be fast on short inputs
 * (keys are mostly 10-100 bytes), well mixed in all 64 bits (ring points are compared as whole
 * longs), and identical on every node and in every client (a smart client must compute the same
 * owner). xxHash64 meets all three and is specified byte for byte, so a client in any language can
 * reproduce it. Written from the published algorithm description: four 64-bit lanes consume
 * 32-byte stripes, the tail is folded in 8, 4 and 1 byte steps, then an avalanche mixes the result.
 * Inputs are read little-endian as the specification requires.
 */

/** xxHash64 of a byte array. Stateless and thread-safe. */
public final class XxHash64 {
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;
  private static final long P5 = 0x27D4EB2F165667C5L;

  private XxHash64() {}

  public static long hash(byte[] data) {
    return hash(data, 0, data.length, 0L);
  }

  public static long hash(byte[] data, long seed) {
    return hash(data, 0, data.length, seed);
  }

  /** The hash of {@code data[offset, offset + length)}. */
  public static long hash(byte[] data, int offset, int length, long seed) {
    if (offset < 0 || length < 0 || offset > data.length - length) {
      throw new IndexOutOfBoundsException(
          "range [" + offset + ", " + offset + " + " + length + ") is outside an array of " + data.length);
    }
    int p = offset;
    int end = offset + length;
    long acc;
    if (length >= 32) {
      long v1 = seed + P1 + P2;
      long v2 = seed + P2;
      long v3 = seed;
      long v4 = seed - P1;
      int stripesEnd = end - 32;
      while (p <= stripesEnd) {
        v1 = round(v1, readLong(data, p));
        v2 = round(v2, readLong(data, p + 8));
        v3 = round(v3, readLong(data, p + 16));
        v4 = round(v4, readLong(data, p + 24));
        p += 32;
      }
      acc = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
      acc = mergeLane(acc, v1);
      acc = mergeLane(acc, v2);
      acc = mergeLane(acc, v3);
      acc = mergeLane(acc, v4);
    } else {
      acc = seed + P5;
    }
    acc += length;

    while (p <= end - 8) {
      acc ^= round(0, readLong(data, p));
      acc = Long.rotateLeft(acc, 27) * P1 + P4;
      p += 8;
    }
    if (p <= end - 4) {
      acc ^= (readInt(data, p) & 0xFFFF_FFFFL) * P1;
      acc = Long.rotateLeft(acc, 23) * P2 + P3;
      p += 4;
    }
    while (p < end) {
      acc ^= (data[p] & 0xFFL) * P5;
      acc = Long.rotateLeft(acc, 11) * P1;
      p++;
    }

    acc ^= acc >>> 33;
    acc *= P2;
    acc ^= acc >>> 29;
    acc *= P3;
    acc ^= acc >>> 32;
    return acc;
  }

  private static long round(long acc, long lane) {
    acc += lane * P2;
    acc = Long.rotateLeft(acc, 31);
    return acc * P1;
  }

  private static long mergeLane(long acc, long lane) {
    acc ^= round(0, lane);
    return acc * P1 + P4;
  }

  private static long readLong(byte[] b, int i) {
    return (b[i] & 0xFFL)
        | (b[i + 1] & 0xFFL) << 8
        | (b[i + 2] & 0xFFL) << 16
        | (b[i + 3] & 0xFFL) << 24
        | (b[i + 4] & 0xFFL) << 32
        | (b[i + 5] & 0xFFL) << 40
        | (b[i + 6] & 0xFFL) << 48
        | (b[i + 7] & 0xFFL) << 56;
  }

  private static int readInt(byte[] b, int i) {
    return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
  }
}
