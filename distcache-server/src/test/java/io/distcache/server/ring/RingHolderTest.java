package io.distcache.server.ring;

import io.distcache.protocol.cluster.HashRing;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

class RingHolderTest {
  private static final Member A = new Member("a", new Address("a", 7000));
  private static final Member B = new Member("b", new Address("b", 7000));
  private static final Member C = new Member("c", new Address("c", 7000));

  @Test
  void membershipChanged_membersThatOwnKeys_buildTheRing() {
    RingHolder holder = new RingHolder();

    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.SUSPECT),
        status(C, MemberState.DEAD)));

    assertThat(holder.current().version()).isEqualTo(3);
    assertThat(holder.current().members()).containsExactly(A, B);
    assertThat(holder.owner(new byte[] {1, 2, 3})).isIn(A, B);
  }

  @Test
  void membershipChanged_onlyStatesChange_keepsTheSameRing() {
    RingHolder holder = new RingHolder();
    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));
    HashRing before = holder.current();

    holder.membershipChanged(snapshot(4, status(A, MemberState.ALIVE), status(B, MemberState.SUSPECT)));

    assertThat(holder.current()).isSameAs(before);
  }

  @Test
  void membershipChanged_memberLeaves_newRingWithNewVersion() {
    RingHolder holder = new RingHolder();
    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));

    holder.membershipChanged(snapshot(5, status(A, MemberState.ALIVE), status(B, MemberState.LEFT)));

    assertThat(holder.current().version()).isEqualTo(5);
    assertThat(holder.current().members()).containsExactly(A);
  }

  @Test
  void membershipChanged_olderSnapshotAfterNewer_isIgnored() {
    RingHolder holder = new RingHolder();
    holder.membershipChanged(snapshot(5, status(A, MemberState.ALIVE)));

    holder.membershipChanged(snapshot(4, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));

    assertThat(holder.current().members()).containsExactly(A);
  }

  private static MemberStatus status(Member m, MemberState s) {
    return new MemberStatus(m, s, 0);
  }

  private static MembershipSnapshot snapshot(long version, MemberStatus... members) {
    return new MembershipSnapshot(version, A, List.of(members));
  }
}
