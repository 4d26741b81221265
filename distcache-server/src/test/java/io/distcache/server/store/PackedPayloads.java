package io.distcache.server.store;

import java.nio.ByteBuffer;

/** What tests outside this package read of an indexed payload's header (PackedIndex's layout). */
public final class PackedPayloads {
  private PackedPayloads() {}

  /** The dead bytes an indexed hash ({@code pairs}) or set payload's header counts. */
  public static int deadBytes(byte[] payload, boolean pairs) {
    return PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(payload), pairs));
  }
}
