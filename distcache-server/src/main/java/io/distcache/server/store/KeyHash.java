package io.distcache.server.store;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/*
 * Design: one 64-bit hash per key, computed identically over a heap byte[] (a request's key) and
 * over a region of an off-heap page (a stored key, rehashed when compaction must find the entry's
 * index slot). Eight bytes per step, little-endian on both sides, a Murmur3-style chunk mix and its
 * 64-bit finalizer: well spread top bits matter because the store takes the segment from the top
 * bits and the index tag from the next 28.
 */
final class KeyHash {
  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  private KeyHash() {}

  static long hash(byte[] key) {
    int len = key.length;
    long h = 0x9e3779b97f4a7c15L ^ len;
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      h = mix(h, (long) LONG_LE.get(key, i));
    }
    if (i < len) {
      long k = 0;
      for (int s = 0; i < len; i++, s += 8) {
        k |= (key[i] & 0xFFL) << s;
      }
      h = mix(h, k);
    }
    return fmix(h);
  }

  /** The same hash over {@code len} bytes of a little-endian buffer starting at {@code off}. */
  static long hash(ByteBuffer buf, int off, int len) {
    long h = 0x9e3779b97f4a7c15L ^ len;
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      h = mix(h, buf.getLong(off + i));
    }
    if (i < len) {
      long k = 0;
      for (int s = 0; i < len; i++, s += 8) {
        k |= (buf.get(off + i) & 0xFFL) << s;
      }
      h = mix(h, k);
    }
    return fmix(h);
  }

  /** Whether {@code len} bytes of a little-endian buffer at {@code off} equal {@code key}. */
  static boolean equals(byte[] key, ByteBuffer buf, int off, int len) {
    if (key.length != len) {
      return false;
    }
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      if ((long) LONG_LE.get(key, i) != buf.getLong(off + i)) {
        return false;
      }
    }
    for (; i < len; i++) {
      if (key[i] != buf.get(off + i)) {
        return false;
      }
    }
    return true;
  }

  private static long mix(long h, long k) {
    k *= C1;
    k = Long.rotateLeft(k, 31);
    k *= C2;
    h ^= k;
    return Long.rotateLeft(h, 27) * 5 + 0x52dce729;
  }

  private static long fmix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
