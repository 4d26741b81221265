package io.distcache.benchmarks;

import java.util.Arrays;

/** A byte[] with value equality: what an on-heap map needs as its key type. */
final class ByteKey {
  final byte[] bytes;
  private final int hash;

  ByteKey(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ByteKey && Arrays.equals(bytes, ((ByteKey) o).bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
