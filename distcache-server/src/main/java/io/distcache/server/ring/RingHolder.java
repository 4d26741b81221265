package io.distcache.server.ring;

import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.RingHash;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.membership.MembershipListener;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.Objects;

/**
 * The current ring, rebuilt from membership snapshots. Listen with it on the membership engine;
 * read {@link #current()} from any thread without locking.
 *
 * <p>A new ring is built only when the set of members that own keys changes. A suspicion, a
 * refutation or a tombstone expiring changes the membership version but not who owns what, so the
 * ring (and its version, which smart clients compare) stays as it is.
 */
public final class RingHolder implements MembershipListener {
  private final int virtualNodes;
  private final RingHash hash;
  private volatile HashRing current = HashRing.empty();

  public RingHolder() {
    this(HashRing.DEFAULT_VIRTUAL_NODES, RingHash.XXHASH64);
  }

  public RingHolder(int virtualNodes, RingHash hash) {
    this.virtualNodes = virtualNodes;
    this.hash = Objects.requireNonNull(hash, "hash");
  }

  public HashRing current() {
    return current;
  }

  @Override
  public void membershipChanged(MembershipSnapshot snapshot) {
    HashRing ring = current;
    // ringMembers() and HashRing.members() are both ordered by id, so equal lists mean equal sets.
    if (ring.version() != 0 && ring.members().equals(snapshot.ringMembers())) {
      return;
    }
    if (snapshot.version() <= ring.version()) {
      return; // an older snapshot delivered late
    }
    current = HashRing.of(snapshot.version(), snapshot.ringMembers(), virtualNodes, hash);
  }

  /** The owner of a key in the current ring. */
  public Member owner(byte[] key) {
    return current.owner(key);
  }
}
