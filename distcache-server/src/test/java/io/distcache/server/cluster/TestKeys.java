package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import java.nio.charset.StandardCharsets;

/** Keys for tests of one node's replication. */
final class TestKeys {
  private TestKeys() {}

  /** The first of "k0", "k1", ... that falls in {@code slot}. */
  static byte[] inSlot(int slot) {
    for (int i = 0; ; i++) {
      byte[] k = ("k" + i).getBytes(StandardCharsets.UTF_8);
      if (KeySlot.of(k) == slot) {
        return k;
      }
    }
  }
}
