package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A joining member learns before it owns: the placement with learners (ARCHITECTURE.md "Rebalancing"). */
class PlacementLearnersTest {

  private static List<Member> members(int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(String.format("%040x", 0xdef000L + i * 7919L), new Address("127.0.0.1", 7100 + i)));
    }
    return out;
  }

  @Test
  void learner_ownsNothing_replicatesEverySlotItWillHold_andOwnsExactlyThoseItLearnedOnceItJoins() {
    List<Member> four = members(4);
    List<Member> three = four.subList(0, 3);
    Member joiner = four.get(3);
    for (int replicas : new int[] {0, 1, 2}) {
      Placement before = Placement.of(1, three, HashRing.DEFAULT_VIRTUAL_NODES, replicas);
      Placement learning = Placement.of(2, three, List.of(joiner), HashRing.DEFAULT_VIRTUAL_NODES, replicas);
      Placement after = Placement.of(3, four, HashRing.DEFAULT_VIRTUAL_NODES, replicas);

      assertThat(learning.members()).hasSize(4);
      assertThat(learning.ownerCount()).isEqualTo(3);
      assertThat(learning.hasLearners()).isTrue();
      assertThat(learning.isLearner(joiner)).isTrue();
      assertThat(learning.isLearner(three.get(0))).isFalse();
      assertThat(learning.slotCount(joiner)).isZero();
      assertThat(learning.fingerprint()).isNotEqualTo(before.fingerprint()).isNotEqualTo(after.fingerprint());
      int learned = 0;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        // The owners and their replicas do not move while it learns.
        assertThat(learning.owner(s)).isEqualTo(before.owner(s));
        assertThat(learning.replicas(s).subList(0, before.replicas(s).size())).isEqualTo(before.replicas(s));
        boolean holdsAfter = after.owns(joiner, s) || after.isReplica(joiner, s);
        assertThat(learning.isLearner(joiner, s)).as("slot %d, %d replicas", s, replicas).isEqualTo(holdsAfter);
        assertThat(learning.isReplica(joiner, s)).isEqualTo(holdsAfter);
        assertThat(learning.wouldOwn(joiner, s)).isEqualTo(after.owns(joiner, s));
        if (holdsAfter) {
          learned++;
          assertThat(learning.replicas(s)).endsWith(joiner);
        }
        // The old owner of a slot the joiner takes is its first replica afterwards (it keeps its copy).
        if (after.owns(joiner, s) && replicas > 0) {
          assertThat(after.replicas(s).get(0)).isEqualTo(before.owner(s));
        }
      }
      assertThat(learned).isPositive();
    }
  }

  /**
   * Questions about a member are answered by identity first (Placement.indexOf): an equal member
   * that is another instance gets the same answers, and one with the same id at another address
   * (not the same member) gets none.
   */
  @Test
  void memberQuestions_equalInstanceAnswersAlike_sameIdElsewhereIsNotAMember() {
    List<Member> five = members(5);
    Member joiner = five.get(3);
    Placement p = Placement.of(2, five.subList(0, 3), List.of(joiner), List.of(five.get(0)),
        HashRing.DEFAULT_VIRTUAL_NODES, 1);
    for (Member m : five) {
      Member twin = new Member(new String(m.id().toCharArray()), new Address(new String("127.0.0.1"), m.address().port()));
      Member elsewhere = new Member(m.id(), new Address("127.0.0.2", m.address().port()));
      assertThat(twin).isNotSameAs(m).isEqualTo(m).hasSameHashCodeAs(m);
      assertThat(elsewhere).isNotEqualTo(m);
      assertThat(p.contains(twin)).isEqualTo(p.contains(m));
      assertThat(p.isLearner(twin)).isEqualTo(p.isLearner(m));
      assertThat(p.contains(elsewhere)).isFalse();
      assertThat(p.isLearner(elsewhere)).isFalse();
      assertThat(p.slotCount(twin)).isEqualTo(p.slotCount(m));
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        assertThat(p.owns(twin, s)).isEqualTo(p.owns(m, s));
        assertThat(p.isReplica(twin, s)).as("slot %d", s).isEqualTo(p.isReplica(m, s))
            .isEqualTo(p.replicas(s).contains(m));
        assertThat(p.isLearner(twin, s)).isEqualTo(p.isLearner(m, s));
        assertThat(p.isExtra(twin, s)).isEqualTo(p.isExtra(m, s));
        assertThat(p.wouldOwn(twin, s)).isEqualTo(p.wouldOwn(m, s));
        assertThat(p.owns(elsewhere, s) || p.isReplica(elsewhere, s) || p.isLearner(elsewhere, s)
            || p.isExtra(elsewhere, s) || p.wouldOwn(elsewhere, s)).isFalse();
      }
    }
    assertThat(p.hasDeparting()).isTrue();
  }

  @Test
  void everyMemberLearning_theyOwnAsOrdinaryMembers() {
    List<Member> two = members(2);
    Placement allLearning = Placement.of(1, List.of(), two, HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement owning = Placement.of(1, two, HashRing.DEFAULT_VIRTUAL_NODES, 1);

    assertThat(allLearning.hasLearners()).isFalse();
    assertThat(allLearning.fingerprint()).isEqualTo(owning.fingerprint());
    assertThat(allLearning.ownerCount()).isEqualTo(2);
  }

  @Test
  void twoLearners_eachLearnsWhatItsOwnChangeGivesIt() {
    List<Member> five = members(5);
    List<Member> three = five.subList(0, 3);
    Member a = five.get(3);
    Member b = five.get(4);
    Placement learning = Placement.of(2, three, List.of(a, b), HashRing.DEFAULT_VIRTUAL_NODES, 0);
    Placement aAlone = Placement.of(3, List.of(three.get(0), three.get(1), three.get(2), a), List.of(b),
        HashRing.DEFAULT_VIRTUAL_NODES, 0);
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      assertThat(learning.wouldOwn(a, s)).isEqualTo(aAlone.owns(a, s));
      if (aAlone.owns(a, s)) {
        assertThat(learning.isLearner(a, s)).isTrue();
      }
    }
  }
}
