package io.distcache.protocol.cluster;

import java.nio.charset.StandardCharsets;

/**
 * Where keys and virtual nodes land on the ring. Production uses {@link #XXHASH64}; tests inject
 * a transparent hash so owners can be worked out by hand.
 *
 * <p>An implementation must be a pure function of its arguments: a member's points are computed
 * once per (hash instance, id, virtual node count) and kept (MemberPoints), so a hash whose
 * answers change over time would be read stale.
 */
public interface RingHash {

  /** The position of a key. */
  long hashKey(byte[] key);

  /** The position of virtual node {@code index} of the member with this id. */
  long hashPoint(String memberId, int index);

  /**
   * xxHash64 of the key with seed 0; a virtual node is xxHash64 of the member id's UTF-8 bytes with
   * the index as seed, so that no two (id, index) pairs can spell the same input.
   */
  RingHash XXHASH64 = new RingHash() {
    @Override
    public long hashKey(byte[] key) {
      return XxHash64.hash(key);
    }

    @Override
    public long hashPoint(String memberId, int index) {
      return XxHash64.hash(memberId.getBytes(StandardCharsets.UTF_8), index);
    }

    @Override
    public String toString() {
      return "xxHash64";
    }
  };
}
