package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementReplicasTest {

  private static List<Member> members(int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(String.format("%040x", 0xabc000L + i * 7919L), new Address("127.0.0.1", 7000 + i)));
    }
    return out;
  }

  @Test
  void replicas_areTheNextDistinctMembersOnTheRing_neverTheOwner() {
    Placement p = Placement.of(1, members(4), HashRing.DEFAULT_VIRTUAL_NODES, 2);
    HashRing ring = HashRing.of(1, members(4));
    for (int s = 0; s < KeySlot.SLOTS; s += 97) {
      List<Member> copies = ring.ownersAt(Placement.position(s), 3);
      assertThat(p.owner(s)).isEqualTo(copies.get(0));
      assertThat(p.replicas(s)).containsExactly(copies.get(1), copies.get(2));
      assertThat(p.isReplica(p.owner(s), s)).isFalse();
      assertThat(p.isReplica(copies.get(2), s)).isTrue();
    }
  }

  @Test
  void ownerLeaves_firstReplicaBecomesOwner_otherReplicasKeepTheirPlace() {
    List<Member> four = members(4);
    Placement before = Placement.of(1, four, HashRing.DEFAULT_VIRTUAL_NODES, 2);
    Member gone = four.get(1);
    List<Member> three = new ArrayList<>(four);
    three.remove(gone);
    Placement after = Placement.of(2, three, HashRing.DEFAULT_VIRTUAL_NODES, 2);
    int taken = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (before.owner(s).equals(gone)) {
        taken++;
        assertThat(after.owner(s)).isEqualTo(before.replicas(s).get(0));
        assertThat(after.replicas(s).get(0)).isEqualTo(before.replicas(s).get(1));
      } else {
        assertThat(after.owner(s)).isEqualTo(before.owner(s));
      }
    }
    assertThat(taken).isEqualTo(before.slotCount(gone));
  }

  @Test
  void fewerMembersThanCopies_keepsAsManyAsThereAre_andSaysSo() {
    Placement two = Placement.of(1, members(2), HashRing.DEFAULT_VIRTUAL_NODES, 2);
    assertThat(two.replicasPerSlot()).isEqualTo(1);
    assertThat(two.underReplicated()).isTrue();
    Placement one = Placement.of(1, members(1), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    assertThat(one.replicasPerSlot()).isZero();
    assertThat(one.replicas(5)).isEmpty();
    assertThat(one.underReplicated()).isTrue();
    Placement three = Placement.of(1, members(3), HashRing.DEFAULT_VIRTUAL_NODES, 2);
    assertThat(three.underReplicated()).isFalse();
  }

  @Test
  void fingerprint_coversTheReplicaCount_andIsUnchangedWithout() {
    List<Member> m = members(3);
    Placement none = Placement.of(1, m, HashRing.DEFAULT_VIRTUAL_NODES, 0);
    Placement one = Placement.of(1, m, HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement two = Placement.of(1, m, HashRing.DEFAULT_VIRTUAL_NODES, 2);
    assertThat(none.fingerprint()).isEqualTo(Placement.fingerprint(m, HashRing.DEFAULT_VIRTUAL_NODES));
    assertThat(Set.of(none.fingerprint(), one.fingerprint(), two.fingerprint())).hasSize(3);
    assertThat(one.fingerprint()).isEqualTo(Placement.fingerprint(m, HashRing.DEFAULT_VIRTUAL_NODES, 1));
    assertThat(one.withEpoch(5).replicas(7)).isEqualTo(one.replicas(7));
  }

  @Test
  void ranges_splitWhereReplicasChange_andCarryThem() {
    Placement p = Placement.of(1, members(3), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    int next = 0;
    Set<Member> seenReplicas = new HashSet<>();
    for (Placement.SlotRange r : p.ranges()) {
      assertThat(r.first()).isEqualTo(next);
      for (int s = r.first(); s <= r.last(); s++) {
        assertThat(p.owner(s)).isEqualTo(r.owner());
        assertThat(p.replicas(s)).isEqualTo(r.replicas());
      }
      seenReplicas.addAll(r.replicas());
      next = r.last() + 1;
    }
    assertThat(next).isEqualTo(KeySlot.SLOTS);
    assertThat(seenReplicas).hasSize(3);
  }

  @Test
  void of_badReplicaCount_namesIt() {
    assertThatThrownBy(() -> Placement.of(1, members(3), 16, -1)).hasMessageContaining("replicas -1 is outside 0..8");
    assertThatThrownBy(() -> Placement.of(1, members(3), 16, 9)).hasMessageContaining("replicas 9");
  }
}
