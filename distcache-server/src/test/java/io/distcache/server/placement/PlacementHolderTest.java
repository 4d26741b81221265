package io.distcache.server.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementHolderTest {
  private static final Member A = new Member("a", new Address("a", 7000));
  private static final Member B = new Member("b", new Address("b", 7000));
  private static final Member C = new Member("c", new Address("c", 7000));

  @Test
  void membershipChanged_membersThatOwnKeys_buildThePlacementAtEpochOne() {
    PlacementHolder holder = new PlacementHolder();

    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.SUSPECT),
        status(C, MemberState.DEAD)));

    assertThat(holder.current().epoch()).isEqualTo(1);
    assertThat(holder.current().members()).containsExactly(A, B);
    assertThat(holder.current().ownerOf(new byte[] {1, 2, 3})).isIn(A, B);
  }

  @Test
  void membershipChanged_onlyStatesChange_keepsTheSamePlacement() {
    PlacementHolder holder = new PlacementHolder();
    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));
    Placement before = holder.current();

    holder.membershipChanged(snapshot(4, status(A, MemberState.ALIVE), status(B, MemberState.SUSPECT)));

    assertThat(holder.current()).isSameAs(before);
  }

  @Test
  void membershipChanged_memberLeaves_newPlacementOneEpochLater() {
    PlacementHolder holder = new PlacementHolder();
    holder.membershipChanged(snapshot(3, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));

    holder.membershipChanged(snapshot(5, status(A, MemberState.ALIVE), status(B, MemberState.LEFT)));

    assertThat(holder.current().epoch()).isEqualTo(2);
    assertThat(holder.current().members()).containsExactly(A);
  }

  @Test
  void membershipChanged_olderSnapshotAfterNewer_isIgnored() {
    PlacementHolder holder = new PlacementHolder();
    holder.membershipChanged(snapshot(5, status(A, MemberState.ALIVE)));

    holder.membershipChanged(snapshot(4, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));

    assertThat(holder.current().members()).containsExactly(A);
  }

  @Test
  void observe_higherEpochOfSameOwners_isAdopted_otherwiseOnlyRemembered() {
    PlacementHolder holder = new PlacementHolder();
    List<Placement[]> changes = new ArrayList<>();
    holder.addListener((before, now) -> changes.add(new Placement[] {before, now}));
    holder.membershipChanged(snapshot(1, status(A, MemberState.ALIVE), status(B, MemberState.ALIVE)));
    long fingerprint = holder.current().fingerprint();

    holder.observe(7, fingerprint);
    assertThat(holder.current().epoch()).isEqualTo(7);
    assertThat(holder.current().fingerprint()).isEqualTo(fingerprint);

    holder.observe(9, fingerprint + 1); // someone is ahead with other owners: not adopted
    assertThat(holder.current().epoch()).isEqualTo(7);

    holder.membershipChanged(snapshot(2, status(A, MemberState.ALIVE)));
    assertThat(holder.current().epoch()).as("the next change goes above every epoch seen").isEqualTo(10);
    assertThat(changes).hasSize(3);
  }

  private static MemberStatus status(Member m, MemberState s) {
    return new MemberStatus(m, s, 0);
  }

  private static MembershipSnapshot snapshot(long version, MemberStatus... members) {
    return new MembershipSnapshot(version, A, List.of(members));
  }
}
