package io.distcache.server.resp;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A ClusterView with a placement the test sets: every member alive, the first one us. */
final class FixedClusterView implements ClusterView {
  static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  static final Member D = new Member("d".repeat(40), new Address("127.0.0.1", 7004));

  private final Member self;
  volatile Placement placement;
  long forwarded;
  volatile boolean leaseHeld = true;
  /** Members in the table besides the placement's (dead or left ones). */
  final List<MemberStatus> departed = new java.util.concurrent.CopyOnWriteArrayList<>();
  long sent;
  long received;

  FixedClusterView(Member self, Placement placement) {
    this.self = self;
    this.placement = placement;
  }

  @Override
  public Optional<MembershipSnapshot> snapshot() {
    List<MemberStatus> members = new ArrayList<>();
    for (Member m : placement.members()) {
      members.add(new MemberStatus(m, MemberState.ALIVE, 0));
    }
    members.addAll(departed);
    return Optional.of(new MembershipSnapshot(1, self, members));
  }

  @Override
  public Placement placement() {
    return placement;
  }

  @Override
  public Member self() {
    return self;
  }

  @Override
  public Member owner(byte[] key) {
    return placement.isEmpty() ? self : placement.ownerOf(key);
  }

  @Override
  public long forwardedRequests() {
    return forwarded;
  }

  @Override
  public boolean leaseHeld() {
    return leaseHeld;
  }

  @Override
  public long messagesSent() {
    return sent;
  }

  @Override
  public long messagesReceived() {
    return received;
  }

  /** The first {@code n} slots {@code member} owns, or (owned = false) does not own. */
  static List<Integer> slots(Placement p, Member member, boolean owned, int n) {
    List<Integer> out = new ArrayList<>();
    for (int s = 0; s < 16384 && out.size() < n; s++) {
      if (p.owns(member, s) == owned) {
        out.add(s);
      }
    }
    return out;
  }

  /** A key whose slot is {@code slot}: a hash tag picked by search. */
  static byte[] keyIn(int slot) {
    for (int i = 0; ; i++) {
      byte[] k = ("{t" + i + "}k").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      if (io.distcache.protocol.cluster.KeySlot.of(k) == slot) {
        return k;
      }
    }
  }
}
