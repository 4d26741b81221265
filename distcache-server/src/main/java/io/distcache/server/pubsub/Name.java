package io.distcache.server.pubsub;

import java.util.Arrays;

/** A channel or pattern name as a map key: binary, compared by content. */
public final class Name {
  final byte[] bytes;
  private final int hash;

  public Name(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  public byte[] bytes() {
    return bytes;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Name n && n.hash == hash && Arrays.equals(n.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
