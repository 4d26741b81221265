package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
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

  /**
   * A key named {@code name} in the {@code nth} (from 0) slot that {@code owner} owns and {@code
   * replica} replicates under {@code p}: keys of one nth share their slot (a hash tag).
   */
  static String replicatedBy(Placement p, Member owner, Member replica, int nth, String name) {
    int slot = 0;
    for (int n = 0; ; slot++) {
      if (p.owns(owner, slot) && p.isReplica(replica, slot) && n++ == nth) {
        break;
      }
    }
    return "{" + new String(inSlot(slot), StandardCharsets.UTF_8) + "}" + name;
  }
}
